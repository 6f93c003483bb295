/*
 * propose.c - the gemeente proposes a round on an approved spec and checks
 * the CBS node's answer: accepted, its approval signed by the pinned key,
 * and (fuzzy, combined) its half of the round secret.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blind.h"
#include "clkctx.h"
#include "err.h"
#include "log.h"
#include "result.h"
#include "roundkey.h"
#include "round.h"
#include "rounds.h"
#include "secmem.h"
#include "spec.h"
#include "store.h"
#include "table.h"
#include "transport.h"
#include "roundsig.h"
#include "roundkey.h"
#include <sodium.h>

/*
 * Proposes the round, signed with this node's key over the round id, the
 * spec, both nodes' keys and (fuzzy, combined) our X25519 key; then checks
 * the answer before anything else leaves this node: signed by the pinned
 * CBS key over this very proposal, accepted, the CBS approval of the spec,
 * and its X25519 key.  kx_pub/peer_pub: fuzzy and combined modes (NULL in
 * exact mode).
 */
int
gem_propose(struct gem_round *r, const uint8_t *kx_pub, uint8_t *peer_pub)
{
	Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
	Udc__Propose p = UDC__PROPOSE__INIT;
	const Udc__ProposeReply *pr;
	struct udc_proposal prop;
	uint8_t sd[UDC_PROPOSAL_SIGDATA_BYTES], psig[UDC_SIGN_BYTES], asig[UDC_SIGN_BYTES];
	uint8_t rd[UDC_REPLY_SIGDATA_BYTES];
	int rv;

	if (udc_approval_load(r->n, r->spec_hex, asig) != 0) {
		gem_fail(r, "spec %s is no longer approved on this node", r->spec_hex);
		return UDC_EREFUSED;
	}
	memset(&prop, 0, sizeof(prop));
	memcpy(prop.round_id, r->job->round_id, 16);
	memcpy(prop.spec_hash, r->spec->hash, 32);
	memcpy(prop.cbs_key, r->n->peer_pub.pk, 32);
	memcpy(prop.gemeente_key, r->n->self_pub.pk, 32);
	if (kx_pub) {
		memcpy(prop.kx_public, kx_pub, 32);
		prop.has_kx = 1;
	}
	prop.created = (int64_t)time(NULL);
	prop.max_records = r->n->cfg->max_records;
	prop.chunk_records = (uint32_t)r->n->cfg->chunk_records;
	udc_proposal_sigdata(&prop, sd);
	crypto_hash_sha256(r->proposal_hash, sd, sizeof(sd));
	if ((rv = udc_sign(r->n->sk, UDC_SIGN_PROPOSAL, sd, sizeof(sd), psig)) != 0) {
		gem_fail(r, "cannot sign the proposal: %s", udc_strerror(rv));
		return rv;
	}

	p.spec_hash.data = r->spec->hash;
	p.spec_hash.len = 32;
	p.gemeente_name = r->n->cfg->name;
	p.g_records = prop.max_records;
	p.chunk_records = prop.chunk_records;
	p.approval_sig.data = asig;
	p.approval_sig.len = sizeof(asig);
	p.cbs_key.data = prop.cbs_key;
	p.cbs_key.len = 32;
	p.created = prop.created;
	p.proposal_sig.data = psig;
	p.proposal_sig.len = sizeof(psig);
	if (kx_pub) {
		p.kx_public.data = (uint8_t *)kx_pub;
		p.kx_public.len = UDC_KX_PUBLIC_BYTES;
	}
	req.body_case = UDC__ENVELOPE__BODY_PROPOSE;
	req.propose = &p;
	if ((rv = gem_call(r, &req, UDC__ENVELOPE__BODY_PROPOSE_REPLY, &rep)) != 0)
		return rv;
	pr = rep->propose_reply;
	/* First the signature: nothing in an unsigned answer is believed, not
	 * even a refusal's reason. */
	if (pr->kx_public.len != 0 && pr->kx_public.len != UDC_KX_PUBLIC_BYTES) {
		gem_fail(r, "the CBS node's answer to the proposal is malformed (a key of %zu bytes)",
		    pr->kx_public.len);
		rv = UDC_EPROTO;
		goto out;
	}
	udc_propose_reply_sigdata(r->proposal_hash, r->n->peer_pub.pk,
	    pr->kx_public.len ? pr->kx_public.data : NULL, pr->accepted, pr->awaiting_consent, rd);
	if (pr->reply_sig.len != UDC_SIGN_BYTES ||
	    udc_sign_verify(&r->n->peer_pub, UDC_SIGN_PROPOSE_REPLY, rd, sizeof(rd),
	    pr->reply_sig.data) != 0) {
		gem_fail(r, "the answer to the proposal is not signed by the CBS node's pinned key %s "
		    "(a node with a certificate of the CA that is not that CBS node, or a CBS node "
		    "with another key); nothing was sent", r->n->peer_fpr);
		rv = UDC_ECRYPTO;
		goto out;
	}
	if (!pr->accepted) {
		gem_fail(r, "refused by the CBS node: %s", pr->reason ? pr->reason : "no reason given");
		r->peer_aborted = 1;
		rv = UDC_EREFUSED;
	} else if (pr->approval_sig.len != UDC_SIGN_BYTES ||
	    udc_sign_verify(&r->n->peer_pub, UDC_SIGN_APPROVAL, r->spec->hash, 32,
	    pr->approval_sig.data) != 0) {
		gem_fail(r, "the CBS node's approval of spec %s does not verify against its pinned key %s",
		    r->spec_hex, r->n->peer_fpr);
		rv = UDC_EREFUSED;
	} else if (kx_pub && pr->kx_public.len != UDC_KX_PUBLIC_BYTES) {
		gem_fail(r, "the CBS node sent no key for the round secret");
		rv = UDC_EPROTO;
	} else if (!kx_pub && pr->kx_public.len != 0) {
		gem_fail(r, "the CBS node sent a key for a round secret an exact round does not have");
		rv = UDC_EPROTO;
	} else {
		if (kx_pub)
			memcpy(peer_pub, pr->kx_public.data, UDC_KX_PUBLIC_BYTES);
		r->awaiting_consent = pr->awaiting_consent;
	}
out:
	udc_wire_free(rep);
	return rv;
}

/* The CBS operator approves each round there (round_approval = operator):
 * poll until they did, refused, or consent_wait ran out. */
int
gem_wait_consent(struct gem_round *r)
{
	time_t until = time(NULL) + r->n->cfg->consent_wait_s;
	int logged = 0;

	while (r->awaiting_consent) {
		Udc__Envelope *rep = NULL;
		int rv;

		if (!logged) {
			log_info("round %s: waiting for the CBS operator to approve it "
			    "(udcctl round approve %s at the CBS node)", r->job->idhex, r->job->idhex);
			logged = 1;
		}
		gem_step(r, "cbs-consent", 0);
		if ((rv = gem_status(r, &rep)) != 0)
			return rv;
		r->awaiting_consent = rep->status_reply->awaiting_consent;
		udc_wire_free(rep);
		if (!r->awaiting_consent)
			break;
		if (time(NULL) > until) {
			gem_fail(r, "the CBS operator did not approve the round within %d s "
			    "([peer] consent_wait)", r->n->cfg->consent_wait_s);
			return UDC_ETIMEDOUT;
		}
		sleep(1);
	}
	return 0;
}
