/*
 * propose.c - a round begins: the gemeente proposes a spec.
 *
 * A proposal is accepted only for a round id this node has never seen, a
 * spec both operators approved (this node's approval checked against its
 * own key, the gemeente's against the pinned key), every category of the
 * spec mapped to a column, and for fuzzy and combined modes a key for the
 * round secret.  A resent proposal gets the same answer as the first.
 * Accepting creates the session and starts reading our own list.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blind.h"
#include "cbs.h"
#include "clkctx.h"
#include "err.h"
#include "log.h"
#include "roundkey.h"
#include "rounds.h"
#include "secmem.h"
#include "spec.h"
#include "store.h"

/* Fuzzy and combined: our half of the round secret and our encoder. */
static int
fuzzy_setup(struct session *s, const Udc__Propose *p, char *err, size_t errlen)
{
	struct udc_kx *kx = NULL;
	uint8_t *secret = udc_secmem_alloc(UDC_CLK_SECRET_BYTES);
	int rv;

	if (secret == NULL || (rv = udc_kx_new(&kx)) != 0) {
		udc_secmem_free(secret);
		snprintf(err, errlen, "out of memory");
		return UDC_ENOMEM;
	}
	memcpy(s->kx_pub, udc_kx_public(kx), sizeof(s->kx_pub));
	if ((rv = udc_kx_secret(kx, 0, p->kx_public.data, s->rid, s->spec->hash, secret)) != 0)
		snprintf(err, errlen, "the gemeente's key for the round secret is invalid");
	else
		rv = udc_clkctx_new(&s->clk, s->spec, secret, 0, err, errlen);
	udc_kx_free(kx);
	udc_secmem_free(secret);
	if (rv != 0)
		return rv;
	s->clk_bytes = udc_clkctx_bytes(s->clk);
	s->clk_bits = udc_clkctx_bits(s->clk);
	s->clk_segs = udc_clkctx_segments(s->clk);
	s->cnkeys = 1; /* the count runs on handles */
	udc_blist_init(&s->gl, s->spec->nkeys, (size_t)CBS_MAX_RECORDS);
	udc_blist_set_extra(&s->gl, 32 + s->clk_bytes);
	udc_blist_init(&s->own, s->spec->nkeys, (size_t)CBS_MAX_RECORDS);
	udc_blist_set_extra(&s->own, s->clk_bytes);
	udc_blist_init(&s->ownx, s->spec->nkeys, (size_t)CBS_MAX_RECORDS);
	return 0;
}

/* Records a refused proposal in the register so the operator sees it here too. */
static void
note_refusal(struct cbs *cb, const char *idhex, const char *hex, const char *reason)
{
	struct udc_audit_field f[] = { UDC_AUDIT_S("round", idhex), UDC_AUDIT_S("spec_hash", hex),
		UDC_AUDIT_S("peer", cb->n->peer_fpr), UDC_AUDIT_S("reason", reason) };

	if (udc_rounds_add(cb->n->rounds, idhex, hex, "failed") == 0)
		udc_rounds_update(cb->n->rounds, idhex, "failed", "propose", 0, reason);
	log_warnx("round %s refused: %s", idhex, reason);
	udc_node_audit(cb->n, UDC_AUDIT_ROUND_REFUSED, f, UDC_AUDIT_NFIELDS(f));
}


void
cbs_handle_propose(struct cbs *cb, const Udc__Envelope *req, struct cbs_reply *rp)
{
	Udc__ProposeReply *pr = &rp->propose_reply;
	const Udc__Propose *p = req->propose;
	struct udc_node *n = cb->n;
	struct session *s;
	struct udc_spec *spec = NULL;
	char idhex[33], hex[65] = "", err[256] = "", *text = NULL;
	uint8_t approval[UDC_SIGN_BYTES];

	udc_round_id_hex(req->round_id.data, idhex);
	udc__propose_reply__init(pr);
	pr->cbs_name = n->cfg->name;
	rp->env.body_case = UDC__ENVELOPE__BODY_PROPOSE_REPLY;
	rp->env.propose_reply = pr;

	if ((s = sess_get(cb, req->round_id.data)) != NULL) {
		/* A resent proposal: same answer as the first time. */
		pthread_mutex_lock(&s->mtx);
		if (s->state == SS_DONE) {
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
			    "round %s already ran on this node (done)", idhex);
		} else if (s->state == SS_FAILED) {
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
		} else if (p->spec_hash.len != 32 || memcmp(p->spec_hash.data, s->spec->hash, 32) != 0 ||
		    p->approval_sig.len != UDC_SIGN_BYTES ||
		    udc_sign_verify(&n->peer_pub, UDC_SIGN_APPROVAL, p->spec_hash.data, 32,
		    p->approval_sig.data) != 0) {
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
			    "round %s is already running under another proposal", idhex);
		} else {
			pr->accepted = 1;
			pr->approval_sig.data = s->approval_sig;
			pr->approval_sig.len = sizeof(s->approval_sig);
			if (s->fuzzy) {
				pr->kx_public.data = s->kx_pub;
				pr->kx_public.len = sizeof(s->kx_pub);
			}
		}
		pthread_mutex_unlock(&s->mtx);
		sess_put(cb, s);
		return;
	}
	{
		/* A round id this node has seen before (its session is gone, its
		 * record is not): a replay, or a confused gemeente.  Never a
		 * second computation under the same id. */
		struct udc_round old;
		if (udc_rounds_get(n->rounds, idhex, &old) == 0) {
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
			    "round %s already ran on this node (%s)", idhex, old.state);
			return;
		}
	}
	if (p->spec_hash.len != 32) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "spec hash of %zu bytes", p->spec_hash.len);
		return;
	}
	udc_round_id_hex(p->spec_hash.data, hex);          /* first 16 bytes */
	udc_round_id_hex(p->spec_hash.data + 16, hex + 32); /* last 16 bytes */
	if (!udc_store_is_approved(n->cfg->state_dir, hex)) {
		snprintf(rp->reason, sizeof(rp->reason),
		    "spec %s is not approved at the CBS node %s (the nodes must approve the same spec)",
		    hex, n->cfg->name);
		goto refuse;
	}
	if (udc_approval_load(n, hex, approval) != 0) {
		snprintf(rp->reason, sizeof(rp->reason),
		    "the CBS node's approval of spec %s is missing or not signed by its key %s", hex,
		    n->self_fpr);
		goto refuse;
	}
	if (p->approval_sig.len != UDC_SIGN_BYTES ||
	    udc_sign_verify(&n->peer_pub, UDC_SIGN_APPROVAL, p->spec_hash.data, 32,
	    p->approval_sig.data) != 0) {
		snprintf(rp->reason, sizeof(rp->reason),
		    "the gemeente's approval of spec %s is not signed by its pinned key %s", hex,
		    n->peer_fpr);
		goto refuse;
	}
	if (udc_spec_load_approved(n->cfg->state_dir, hex, &spec, err, sizeof(err)) != 0) {
		snprintf(rp->reason, sizeof(rp->reason), "the approved copy of spec %s cannot be used: %.200s",
		    hex, err);
		goto refuse;
	}
	if (udc_spec_fuzzy(spec) && p->kx_public.len != 32) {
		snprintf(rp->reason, sizeof(rp->reason), "a %s round needs the gemeente's key for the "
		    "round secret", spec->mode == UDC_MODE_FUZZY ? "fuzzy" : "combined");
		goto refuse;
	}
	if (!udc_spec_fuzzy(spec) && (p->g_records == 0 || p->g_records > CBS_MAX_RECORDS)) {
		snprintf(rp->reason, sizeof(rp->reason), "%llu gemeente records: outside 1..%llu",
		    (unsigned long long)p->g_records, (unsigned long long)CBS_MAX_RECORDS);
		goto refuse;
	}
	{
		struct udc_input_opts io;
		const char *dim = udc_node_input_opts(n, spec, UDC_SIDE_CBS, &io);
		if (dim != NULL) {
			snprintf(rp->reason, sizeof(rp->reason),
			    "the CBS node maps no column for category '%s' ([labels] in %s)", dim,
			    n->cfg->path);
			goto refuse;
		}
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(rp->reason, sizeof(rp->reason), "out of memory");
		goto refuse;
	}
	pthread_mutex_init(&s->mtx, NULL);
	memcpy(s->rid, req->round_id.data, 16);
	memcpy(s->idhex, idhex, sizeof(idhex));
	memcpy(s->spec_hex, hex, sizeof(hex));
	snprintf(s->gname, sizeof(s->gname), "%s", p->gemeente_name ? p->gemeente_name : "gemeente");
	s->spec = spec;
	spec = NULL;
	s->started = s->last_seen = udc_now();
	s->g_expected = p->g_records;
	s->cnkeys = s->spec->nkeys;
	s->fuzzy = udc_spec_fuzzy(s->spec);
	/* a new session's first state: phase 1 for fuzzy and combined rounds */
	s->state = s->fuzzy ? SS_LINK : SS_UPLOAD;
	memcpy(s->approval_sig, approval, sizeof(approval));
	if (p->input_digest.len == 32)
		memcpy(s->g_digest, p->input_digest.data, 32);
	udc_transcript_init(&s->tx);
	if (udc_scalar_new(&s->b) != 0 || (s->fuzzy && fuzzy_setup(s, p, err, sizeof(err)) != 0)) {
		sess_free(s);
		snprintf(rp->reason, sizeof(rp->reason), "cannot set up the round: %.200s", err);
		goto refuse;
	}
	if (!s->fuzzy) {
		udc_blist_init(&s->g, s->spec->nkeys, (size_t)p->g_records);
		udc_blist_init(&s->r, s->spec->nkeys, (size_t)CBS_MAX_RECORDS);
	}
	sess_add(cb, s);
	udc_rounds_add(n->rounds, idhex, hex, "running");
	udc_rounds_update(n->rounds, idhex, "running", s->fuzzy ? "link" : "upload", 0, NULL);
	s->prep_started = 1;
	if (sess_spawn(cb, s, s->fuzzy ? cbs_link_prepare_thread : cbs_count_prepare_thread) != 0) {
		pthread_mutex_lock(&s->mtx);
		s->prep_done = 1;
		sess_fail(cb, s, "cannot start the preparation thread");
		pthread_mutex_unlock(&s->mtx);
	}
	log_info("round %s accepted: spec '%s' %s (%s mode)", idhex, s->spec->name, hex,
	    s->fuzzy ? (s->spec->mode == UDC_MODE_FUZZY ? "fuzzy" : "combined") : "exact");
	pr->accepted = 1;
	pr->approval_sig.data = s->approval_sig;
	pr->approval_sig.len = sizeof(s->approval_sig);
	if (s->fuzzy) {
		pr->kx_public.data = s->kx_pub;
		pr->kx_public.len = sizeof(s->kx_pub);
	}
	{
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", idhex), UDC_AUDIT_S("spec_hash", hex),
			UDC_AUDIT_S("peer", n->peer_fpr), UDC_AUDIT_S("peer_name", s->gname) };
		udc_node_audit(n, UDC_AUDIT_ROUND_PROPOSED, f, UDC_AUDIT_NFIELDS(f));
	}
	free(text);
	return;
refuse:
	pr->accepted = 0;
	pr->reason = rp->reason;
	note_refusal(cb, idhex, hex[0] ? hex : "-", rp->reason);
	udc_spec_free(spec);
	free(text);
}
