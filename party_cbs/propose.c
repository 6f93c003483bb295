/*
 * propose.c - a round begins: the gemeente proposes a spec.
 *
 * A proposal is accepted only for a round id this node has never seen, a
 * spec both operators approved (this node's approval checked against its
 * own key, the gemeente's against the pinned key), every category of the
 * spec mapped to a column, and for fuzzy and combined modes a key for the
 * round secret.  A resent proposal gets the same answer as the first.
 * Accepting creates the session and starts reading our own list.
 *
 * A CBS node that serves several gemeenten ([gemeente ID] sections) knows
 * the gemeente by the pinned key that signed its proposal: the name the
 * proposal claims must be that gemeente's, and it must arrive on that
 * gemeente's listener.  Approvals, limits, history and ledger are then that
 * gemeente's own.
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
#include "roundsig.h"
#include <sodium.h>

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
	udc_blist_init(&s->gl, s->spec->nkeys, (size_t)s->g_max);
	udc_blist_set_extra(&s->gl, 32 + s->clk_bytes);
	udc_blist_init(&s->own, s->spec->nkeys, (size_t)CBS_MAX_RECORDS);
	udc_blist_set_extra(&s->own, s->clk_bytes);
	udc_blist_init(&s->ownx, s->spec->nkeys, (size_t)CBS_MAX_RECORDS);
	return 0;
}

/* Records a refused proposal in the register and the audit log, so the
 * operator sees it here too.  Only for proposals signed by the gemeente's
 * key: anything else is refused without a trace beyond the rate-limited
 * message_refused entry, so a stranger cannot fill the state directory. */
static void
note_refusal(struct cbs *cb, const struct udc_node_peer *np, const char *idhex, const char *hex,
    const char *reason)
{
	struct udc_audit_field f[] = { UDC_AUDIT_S("round", idhex), UDC_AUDIT_S("spec_hash", hex),
		UDC_AUDIT_S("peer", np->fpr), UDC_AUDIT_S("reason", reason),
		UDC_AUDIT_S("gemeente", np->id) };

	if (udc_rounds_add_peer(cb->n->rounds, idhex, hex, "failed", np->id) == 0)
		udc_rounds_update(cb->n->rounds, idhex, "failed", "propose", 0, reason);
	log_warnx("round %s%s%s refused: %s", idhex, np->id[0] ? " of gemeente " : "", np->id,
	    reason);
	/* the gemeente field only where there are several */
	udc_node_audit(cb->n, UDC_AUDIT_ROUND_REFUSED, f, UDC_AUDIT_NFIELDS(f) - (np->id[0] ? 0 : 1));
}

/* An impersonation: gemeente np's pinned key signed a proposal under
 * another gemeente's name, or sent it through another gemeente's
 * listener.  Logged and audited (np signed it, so it is bounded by what
 * np's key holder sends; the rate limit applies), never recorded as a
 * round. */
static void
note_impersonation(struct cbs *cb, const struct udc_node_peer *np, const char *idhex,
    const char *what)
{
	struct udc_audit_field f[] = { UDC_AUDIT_S("round", idhex), UDC_AUDIT_S("peer", np->fpr),
		UDC_AUDIT_S("gemeente", np->id), UDC_AUDIT_S("reason", what) };

	log_warnx("round %s refused: gemeente %s (key %s) %s", idhex, np->id, np->fpr, what);
	udc_node_audit(cb->n, UDC_AUDIT_ROUND_REFUSED, f, UDC_AUDIT_NFIELDS(f));
}

/* The proposal as the gemeente signed it (roundsig.h). */
static void
proposal_of(const struct udc_node_peer *np, const Udc__Envelope *req, const Udc__Propose *p,
    struct udc_proposal *out)
{
	memset(out, 0, sizeof(*out));
	memcpy(out->round_id, req->round_id.data, 16);
	memcpy(out->spec_hash, p->spec_hash.data, 32);
	memcpy(out->cbs_key, p->cbs_key.data, 32);
	memcpy(out->gemeente_key, np->pub.pk, 32);
	if (p->kx_public.len == 32) {
		memcpy(out->kx_public, p->kx_public.data, 32);
		out->has_kx = 1;
	}
	out->created = p->created;
	out->max_records = p->g_records;
	out->chunk_records = p->chunk_records;
}

/* Signs our answer to the proposal whose hash is ph. */
static int
sign_reply(struct cbs *cb, const uint8_t ph[32], Udc__ProposeReply *pr, uint8_t sig[64])
{
	uint8_t sd[UDC_REPLY_SIGDATA_BYTES];

	udc_propose_reply_sigdata(ph, cb->n->self_pub.pk, pr->kx_public.len ? pr->kx_public.data : NULL,
	    pr->accepted, pr->awaiting_consent, sd);
	if (udc_sign(cb->n->sk, UDC_SIGN_PROPOSE_REPLY, sd, sizeof(sd), sig) != 0)
		return UDC_ECRYPTO;
	pr->reply_sig.data = sig;
	pr->reply_sig.len = UDC_SIGN_BYTES;
	return 0;
}

/* A proposal refused because max_sessions rounds are running: of its own
 * gemeente (full = 2) or of all (full = 1).  Logged apart from the
 * (rate-limited) refusals: the gemeente's own proposals, at most
 * proposals_per_minute of them. */
static void
refuse_full(struct cbs *cb, const struct udc_node_peer *np, const struct cbs_peer *cp, const char *idhex,
    int full, struct cbs_reply *rp)
{
	if (full == 2) {
		log_warnx("round %s of gemeente %s refused: %d of its rounds running, the most "
		    "allowed ([gemeente %s] max_sessions)", idhex, np->id, cp->max_sessions, np->id);
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_LIMIT,
		    "%d rounds of gemeente %s are running, the most this node runs at once for it "
		    "([gemeente %s] max_sessions): try again when one has finished", cp->max_sessions,
		    np->id, np->id);
		return;
	}
	log_warnx("round %s refused: %d rounds running, the most allowed ([peer] max_sessions)", idhex,
	    cb->n->cfg->max_sessions);
	cbs_reply_error(rp, UDC__ERROR_CODE__ERR_LIMIT,
	    "%d rounds are running, the most this node runs at once ([peer] max_sessions): "
	    "try again when one has finished", cb->n->cfg->max_sessions);
}

/*
 * Which gemeente signed this proposal: the one whose name it claims, if
 * that gemeente's pinned key verifies it (its layout names the key, so a
 * signature verifies under one key only).  NULL with an Error in rp if no
 * pinned key does; if another gemeente's key does, that is an impersonation
 * and is logged and audited.  A node without [gemeente ID] sections has
 * one gemeente and takes any name, as before.
 */
static const struct udc_node_peer *
identify(struct cbs *cb, const Udc__Envelope *req, const Udc__Propose *p, const char *idhex,
    uint8_t sd[UDC_PROPOSAL_SIGDATA_BYTES], struct cbs_reply *rp)
{
	struct udc_node *n = cb->n;
	const struct udc_node_peer *claimed = NULL;
	const char *name = p->gemeente_name ? p->gemeente_name : "";
	struct udc_proposal prop;
	char what[200];

	if (!n->multi) {
		proposal_of(&n->peers[0], req, p, &prop);
		udc_proposal_sigdata(&prop, sd);
		if (udc_sign_verify(&n->peers[0].pub, UDC_SIGN_PROPOSAL, sd, UDC_PROPOSAL_SIGDATA_BYTES,
		    p->proposal_sig.data) == 0)
			return &n->peers[0];
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
		    "the proposal is not signed by the gemeente's pinned key %s", n->peer_fpr);
		return NULL;
	}
	for (size_t i = 0; i < n->npeers; i++)
		if (strcmp(n->peers[i].conf->name, name) == 0)
			claimed = &n->peers[i];
	if (claimed != NULL) {
		proposal_of(claimed, req, p, &prop);
		udc_proposal_sigdata(&prop, sd);
		if (udc_sign_verify(&claimed->pub, UDC_SIGN_PROPOSAL, sd, UDC_PROPOSAL_SIGDATA_BYTES,
		    p->proposal_sig.data) == 0)
			return claimed;
	}
	/* Not the claimed gemeente's signature: whose then?  At most one
	 * verification per gemeente served, all before any state is kept, and
	 * at most CBS_KEY_SEARCH_RATE searches a second after a burst: beyond
	 * that the proposal is refused without naming its signer. */
	{
		uint64_t unused;
		int ok;
		pthread_mutex_lock(&cb->refusal_mtx);
		ok = udc_ratelimit_take(&cb->key_searches, cbs_now(), &unused);
		pthread_mutex_unlock(&cb->refusal_mtx);
		if (!ok && claimed) {
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
			    "the proposal is not signed by the pinned key %s of gemeente %s", claimed->fpr,
			    claimed->id);
			return NULL;
		}
		if (!ok) {
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
			    "the proposal claims the name '%.64s', which is no gemeente of this node", name);
			return NULL;
		}
	}
	for (size_t i = 0; i < n->npeers; i++) {
		const struct udc_node_peer *np = &n->peers[i];
		if (np == claimed)
			continue;
		proposal_of(np, req, p, &prop);
		udc_proposal_sigdata(&prop, sd);
		if (udc_sign_verify(&np->pub, UDC_SIGN_PROPOSAL, sd, UDC_PROPOSAL_SIGDATA_BYTES,
		    p->proposal_sig.data) != 0)
			continue;
		snprintf(what, sizeof(what), "signed a proposal under the name '%.64s'%s%s", name,
		    claimed ? ", which is gemeente " : ", which is no gemeente of this node",
		    claimed ? claimed->id : "");
		note_impersonation(cb, np, idhex, what);
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
		    "the proposal claims to come from '%.64s' but is signed by the key of gemeente %s "
		    "(%s): refused", name, np->id, np->fpr);
		return NULL;
	}
	if (claimed)
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
		    "the proposal is not signed by the pinned key %s of gemeente %s", claimed->fpr,
		    claimed->id);
	else
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
		    "the proposal is not signed by the pinned key of any gemeente this node serves "
		    "(it claims the name '%.64s')", name);
	return NULL;
}

/* The answer to a proposal whose round already has session s (held with a
 * reference, which this drops): the same, signed answer as the first time
 * if it is byte for byte the same proposal through the same listener;
 * otherwise a refusal. */
static void
answer_resent(struct cbs *cb, struct session *s, int listener, const Udc__Propose *p,
    const char *idhex, struct cbs_reply *rp)
{
	Udc__ProposeReply *pr = &rp->propose_reply;

	int same = p->proposal_sig.len == UDC_SIGN_BYTES &&
	    memcmp(p->proposal_sig.data, s->proposal_sig, UDC_SIGN_BYTES) == 0;

	pthread_mutex_lock(&s->mtx);
	if (listener != 0 && s->np->listener != 0 && s->np->listener != listener) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
		    "round %s is already running under another proposal", idhex);
	} else if (!same && s->state >= SS_DELIVER) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
		    "round %s already ran on this node (%s)", idhex, cbs_state_name(s->state));
	} else if (!same) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
		    "round %s is already running under another proposal", idhex);
	} else if (s->state == SS_DONE || s->state == SS_DELIVER) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
		    "round %s already ran on this node (%s)", idhex, cbs_state_name(s->state));
	} else if (s->state == SS_FAILED) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
	} else {
		pr->accepted = 1;
		pr->awaiting_consent = s->awaiting_consent_at_proposal;
		pr->approval_sig.data = s->approval_sig;
		pr->approval_sig.len = sizeof(s->approval_sig);
		if (s->fuzzy) {
			pr->kx_public.data = s->kx_pub;
			pr->kx_public.len = sizeof(s->kx_pub);
		}
		pr->reply_sig.data = s->reply_sig;
		pr->reply_sig.len = sizeof(s->reply_sig);
	}
	pthread_mutex_unlock(&s->mtx);
	sess_put(cb, s);
}

/*
 * The order of checks matters: everything a stranger can send (any holder
 * of a certificate of the CA) is refused with an Error and no state before
 * the proposal's signature is checked against the gemeente's pinned key.
 * After that the proposal is the gemeente's own, and refusals are recorded.
 */
void
cbs_handle_propose(struct cbs *cb, int listener, const Udc__Envelope *req, struct cbs_reply *rp)
{
	Udc__ProposeReply *pr = &rp->propose_reply;
	const Udc__Propose *p = req->propose;
	struct udc_node *n = cb->n;
	struct session *s;
	struct udc_spec *spec = NULL;
	const struct udc_node_peer *np;
	struct cbs_peer *cp;
	char idhex[33], hex[65] = "", err[256] = "";
	uint8_t approval[UDC_SIGN_BYTES], sd[UDC_PROPOSAL_SIGDATA_BYTES], ph[32];
	long long now = udc_now();

	udc_round_id_hex(req->round_id.data, idhex);
	udc__propose_reply__init(pr);
	pr->cbs_name = n->cfg->name;
	rp->env.body_case = UDC__ENVELOPE__BODY_PROPOSE_REPLY;
	rp->env.propose_reply = pr;

	if ((s = sess_get(cb, req->round_id.data)) != NULL) {
		answer_resent(cb, s, listener, p, idhex, rp);
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
	if (p->cbs_key.len != 32 || p->proposal_sig.len != UDC_SIGN_BYTES ||
	    (p->kx_public.len != 0 && p->kx_public.len != 32)) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED,
		    "proposal without a CBS key, a signature or a valid round-secret key");
		return;
	}
	if (memcmp(p->cbs_key.data, n->self_pub.pk, 32) != 0) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
		    "the proposal is meant for another CBS node (not key %s)", n->self_fpr);
		return;
	}
	if ((np = identify(cb, req, p, idhex, sd, rp)) == NULL)
		return;
	cp = &cb->peers[np - n->peers];
	/* Its own TLS binding: a gemeente with a listener of its own proposes
	 * through it, and no other gemeente's proposal comes through it. */
	if (listener != 0 && np->listener != 0 && listener != np->listener) {
		const struct udc_node_peer *owner = NULL;
		char what[200];
		for (size_t i = 0; i < n->npeers; i++)
			if (n->peers[i].listener == listener && n->peers[i].conf &&
			    n->peers[i].conf->listen)
				owner = &n->peers[i];
		snprintf(what, sizeof(what), "proposed through %s%s instead of its own",
		    owner ? "the listener of gemeente " : "the shared listener", owner ? owner->id : "");
		note_impersonation(cb, np, idhex, what);
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
		    "gemeente %s proposes through %s%s, not this listener", np->id,
		    np->conf && np->conf->listen ? "its own listener " : "the shared listener",
		    np->conf && np->conf->listen ? np->conf->listen : "");
		return;
	}
	/* A genuine proposal replayed long after, or one made with a clock far
	 * off: the round id is new to us, but the gemeente did not mean it now. */
	if (p->created < now - n->cfg->proposal_max_age_s || p->created > now + 120) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
		    "the proposal was made at %lld, outside the %d s this node accepts (now %lld): "
		    "a replay, or a clock that is off", (long long)p->created,
		    n->cfg->proposal_max_age_s, now);
		return;
	}
	{
		uint64_t unused;
		int ok, mine_ok = 1;
		/* its own limit first, so that one gemeente cannot use up the
		 * node's for the others */
		pthread_mutex_lock(&cb->refusal_mtx);
		if (n->multi)
			mine_ok = udc_ratelimit_take(&cp->proposals, cbs_now(), &unused);
		ok = mine_ok && udc_ratelimit_take(&cb->proposals, cbs_now(), &unused);
		pthread_mutex_unlock(&cb->refusal_mtx);
		if (!mine_ok) {
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_LIMIT,
			    "more than %d proposals per minute from gemeente %s ([gemeente %s] "
			    "proposals_per_minute): try later", np->conf->proposals_per_minute, np->id,
			    np->id);
			return;
		}
		if (!ok) {
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_LIMIT,
			    "more than %d proposals per minute ([peer] proposals_per_minute): try later",
			    n->cfg->proposals_per_minute);
			return;
		}
	}
	{
		/* a first look, before any work; sess_add decides */
		int mine, all = sess_live(cb, np, &mine);
		if ((n->multi && mine >= cp->max_sessions) || all >= n->cfg->max_sessions) {
			refuse_full(cb, np, cp, idhex, n->multi && mine >= cp->max_sessions ? 2 : 1, rp);
			return;
		}
	}
	crypto_hash_sha256(ph, sd, sizeof(sd));

	/* From here on the proposal is the gemeente's own: refusals are signed
	 * answers, recorded in the register and the audit log. */
	udc_round_id_hex(p->spec_hash.data, hex);          /* first 16 bytes */
	udc_round_id_hex(p->spec_hash.data + 16, hex + 32); /* last 16 bytes */
	if (!udc_store_is_approved_in(n->cfg->state_dir, np->prefix, hex)) {
		snprintf(rp->reason, sizeof(rp->reason),
		    "spec %s is not approved at the CBS node %s%s%s (the nodes must approve the same "
		    "spec)", hex, n->cfg->name, n->multi ? " for gemeente " : "", np->id);
		goto refuse;
	}
	if (udc_approval_load_in(n, np->prefix, hex, approval) != 0) {
		snprintf(rp->reason, sizeof(rp->reason),
		    "the CBS node's approval of spec %s is missing or not signed by its key %s", hex,
		    n->self_fpr);
		goto refuse;
	}
	if (p->approval_sig.len != UDC_SIGN_BYTES ||
	    udc_sign_verify(&np->pub, UDC_SIGN_APPROVAL, p->spec_hash.data, 32,
	    p->approval_sig.data) != 0) {
		snprintf(rp->reason, sizeof(rp->reason),
		    "the gemeente's approval of spec %s is not signed by its pinned key %s", hex,
		    np->fpr);
		goto refuse;
	}
	if (udc_spec_load_approved_in(n->cfg->state_dir, np->prefix, hex, &spec, err,
	    sizeof(err)) != 0) {
		snprintf(rp->reason, sizeof(rp->reason), "the approved copy of spec %s cannot be used: %.200s",
		    hex, err);
		goto refuse;
	}
	if (udc_spec_first_sum(spec) != NULL && udc_spec_fuzzy(spec)) {
		snprintf(rp->reason, sizeof(rp->reason), "spec %s sums an attribute; %s", hex,
		    UDC_SPEC_NO_SUMS);
		goto refuse;
	}
	if (udc_spec_fuzzy(spec) != (p->kx_public.len == 32)) {
		snprintf(rp->reason, sizeof(rp->reason), udc_spec_fuzzy(spec) ?
		    "a %s round needs the gemeente's key for the round secret" :
		    "an %s round takes no key for a round secret",
		    spec->mode == UDC_MODE_FUZZY ? "fuzzy" : spec->mode == UDC_MODE_COMBINED ?
		    "combined" : "exact");
		goto refuse;
	}
	{
		struct udc_input_opts io;
		const char *dim = udc_node_peer_input_opts(n, np, spec, &io);
		if (dim != NULL) {
			snprintf(rp->reason, sizeof(rp->reason),
			    "the CBS node maps no column for category or attribute '%s' ([labels]%s%s%s in %s)", dim,
			    n->multi ? " or label.DIM of [gemeente " : "", np->id, n->multi ? "]" : "",
			    n->cfg->path);
			goto refuse;
		}
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(rp->reason, sizeof(rp->reason), "out of memory");
		goto refuse;
	}
	pthread_mutex_init(&s->mtx, NULL);
	pthread_cond_init(&s->cv, NULL);
	memcpy(s->rid, req->round_id.data, 16);
	memcpy(s->idhex, idhex, sizeof(idhex));
	memcpy(s->spec_hex, hex, sizeof(hex));
	snprintf(s->gname, sizeof(s->gname), "%s", p->gemeente_name ? p->gemeente_name : "gemeente");
	s->np = np;
	s->cp = cp;
	s->spec = spec;
	spec = NULL;
	s->started = s->last_seen = now;
	s->g_max = p->g_records && p->g_records < n->cfg->max_records ? p->g_records :
	    n->cfg->max_records;
	s->cnkeys = s->spec->nkeys;
	s->fuzzy = udc_spec_fuzzy(s->spec);
	s->awaiting_consent_at_proposal = n->cfg->round_approval;
	/* a new session's first state: the operator's consent, or the work */
	s->state = n->cfg->round_approval ? SS_CONSENT : s->fuzzy ? SS_LINK : SS_UPLOAD;
	memcpy(s->approval_sig, approval, sizeof(approval));
	memcpy(s->proposal_hash, ph, 32);
	memcpy(s->proposal_sig, p->proposal_sig.data, UDC_SIGN_BYTES);
	udc_transcript_init(&s->tx);
	if (udc_scalar_new(&s->b) != 0 || (s->fuzzy && fuzzy_setup(s, p, err, sizeof(err)) != 0)) {
		sess_free(s);
		snprintf(rp->reason, sizeof(rp->reason), "cannot set up the round: %.200s", err);
		goto refuse;
	}
	if (!s->fuzzy) {
		udc_blist_init(&s->g, s->spec->nkeys, (size_t)s->g_max);
		udc_blist_init(&s->r, s->spec->nkeys, (size_t)CBS_MAX_RECORDS);
	}
	pr->accepted = 1;
	pr->awaiting_consent = s->awaiting_consent_at_proposal;
	pr->approval_sig.data = s->approval_sig;
	pr->approval_sig.len = sizeof(s->approval_sig);
	if (s->fuzzy) {
		pr->kx_public.data = s->kx_pub;
		pr->kx_public.len = sizeof(s->kx_pub);
	}
	if (sign_reply(cb, ph, pr, s->reply_sig) != 0) {
		sess_free(s);
		memset(pr, 0, sizeof(*pr));
		udc__propose_reply__init(pr);
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "cannot sign the answer");
		return;
	}
	pr->reply_sig.data = s->reply_sig;
	{
		/* Another worker made this round's session since the lookup
		 * above (copies of one proposal at once): answer as to a resend.
		 * Or other proposals took the last free sessions meanwhile. */
		int full;
		struct session *o = sess_add(cb, s, n->cfg->max_sessions, n->multi ? cp->max_sessions : 0,
		    &full);

		if (full) {
			sess_free(s);
			memset(pr, 0, sizeof(*pr));
			udc__propose_reply__init(pr);
			refuse_full(cb, np, cp, idhex, full, rp);
			return;
		}
		if (o != NULL) {
			sess_free(s);
			udc__propose_reply__init(pr);
			pr->cbs_name = n->cfg->name;
			answer_resent(cb, o, listener, p, idhex, rp);
			return;
		}
	}
	udc_rounds_add_peer(n->rounds, idhex, hex, "running", np->id);
	udc_rounds_update(n->rounds, idhex, "running", cbs_state_name(s->state), 0, NULL);
	{
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", idhex), UDC_AUDIT_S("spec_hash", hex),
			UDC_AUDIT_S("peer", np->fpr), UDC_AUDIT_S("peer_name", s->gname),
			UDC_AUDIT_I("awaiting_consent", s->awaiting_consent_at_proposal),
			UDC_AUDIT_S("gemeente", np->id) };
		udc_node_audit(n, UDC_AUDIT_ROUND_PROPOSED, f, UDC_AUDIT_NFIELDS(f) - (n->multi ? 0 : 1));
	}
	log_info("round %s%s%s accepted: spec '%s' %s (%s mode)%s", idhex,
	    n->multi ? " of gemeente " : "", np->id, s->spec->name, hex,
	    s->fuzzy ? (s->spec->mode == UDC_MODE_FUZZY ? "fuzzy" : "combined") : "exact",
	    s->state == SS_CONSENT ? "; waiting for the operator: udcctl round approve" : "");
	pthread_mutex_lock(&s->mtx);
	if (s->state != SS_CONSENT)
		cbs_start_preparing(cb, s);
	pthread_mutex_unlock(&s->mtx);
	return;
refuse:
	pr->accepted = 0;
	pr->reason = rp->reason;
	/* not a local buffer: the reply is packed after this handler returns */
	if (sign_reply(cb, ph, pr, rp->reply_sig) != 0)
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "cannot sign the answer");
	note_refusal(cb, np, idhex, hex[0] ? hex : "-", rp->reason);
	udc_spec_free(spec);
}

void
cbs_start_preparing(struct cbs *cb, struct session *s)
{
	s->prep_started = 1;
	if (sess_spawn(cb, s, s->fuzzy ? cbs_link_prepare_thread : cbs_count_prepare_thread) != 0) {
		s->prep_done = 1;
		sess_fail(cb, s, "cannot start the preparation thread");
	}
}

/* The CBS operator's decision on a round waiting in state consent. */
void
cbs_round_decide(struct udc_node *n, const Udcctl__RoundDecision *req, uint64_t uid,
    Udcctl__Reply *rep, char *buf, size_t buflen)
{
	struct cbs *cb = n->party;
	struct session *s;
	uint8_t rid[16];
	char idhex[33];

	if (req->round_id == NULL || udc_round_id_parse(req->round_id, rid) != 0) {
		udc_reply_error(rep, UDC_EINVAL, buf, buflen, "'%s' is not a round id (32 hex digits)",
		    req->round_id ? req->round_id : "");
		return;
	}
	udc_round_id_hex(rid, idhex);
	if ((s = sess_get(cb, rid)) == NULL) {
		udc_reply_error(rep, UDC_ENOTFOUND, buf, buflen,
		    "no round %s is waiting at this node (udcctl round list)", idhex);
		return;
	}
	pthread_mutex_lock(&s->mtx);
	if (s->state != SS_CONSENT) {
		udc_reply_error(rep, UDC_ESTATE, buf, buflen, "round %s is not waiting for approval (%s)",
		    idhex, cbs_state_name(s->state));
	} else {
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", idhex),
			UDC_AUDIT_S("spec_hash", s->spec_hex), UDC_AUDIT_I("uid", (int64_t)uid),
			UDC_AUDIT_S("decision", req->approve ? "approved" : "refused"),
			UDC_AUDIT_S("reason", req->reason ? req->reason : "") };
		udc_node_audit(n, UDC_AUDIT_ROUND_DECIDED, f, UDC_AUDIT_NFIELDS(f));
		if (req->approve) {
			sess_enter(cb, s, s->fuzzy ? SS_LINK : SS_UPLOAD);
			udc_rounds_update(n->rounds, idhex, NULL, cbs_state_name(s->state), 0, NULL);
			cbs_start_preparing(cb, s);
			snprintf(buf, buflen, "round %s approved (spec '%s' %s)", idhex, s->spec->name,
			    s->spec_hex);
		} else {
			sess_fail(cb, s, "refused by the CBS operator%s%.200s",
			    req->reason && req->reason[0] ? ": " : "", req->reason ? req->reason : "");
			snprintf(buf, buflen, "round %s refused", idhex);
		}
		rep->text = buf;
		log_info("round %s %s by the operator (uid %llu)", idhex,
		    req->approve ? "approved" : "refused", (unsigned long long)uid);
	}
	pthread_mutex_unlock(&s->mtx);
	sess_put(cb, s);
}
