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

/* kx_pub/peer_pub: fuzzy and combined modes (NULL in exact mode). */
int
gem_propose(struct gem_round *r, uint64_t nrec, const uint8_t *kx_pub, uint8_t *peer_pub)
{
	Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
	Udc__Propose p = UDC__PROPOSE__INIT;
	int rv;

	p.spec_hash.data = r->spec->hash;
	p.spec_hash.len = 32;
	p.gemeente_name = r->n->cfg->name;
	p.g_records = nrec;
	p.chunk_records = (uint32_t)r->n->cfg->chunk_records;
	uint8_t sig[UDC_SIGN_BYTES];
	if (udc_approval_load(r->n, r->spec_hex, sig) != 0) {
		gem_fail(r, "spec %s is no longer approved on this node", r->spec_hex);
		return UDC_EREFUSED;
	}
	p.approval_sig.data = sig;
	p.approval_sig.len = sizeof(sig);
	p.input_digest.data = r->input_digest;
	p.input_digest.len = sizeof(r->input_digest);
	if (kx_pub) {
		p.kx_public.data = (uint8_t *)kx_pub;
		p.kx_public.len = UDC_KX_PUBLIC_BYTES;
	}
	req.body_case = UDC__ENVELOPE__BODY_PROPOSE;
	req.propose = &p;
	if ((rv = gem_call(r, &req, UDC__ENVELOPE__BODY_PROPOSE_REPLY, &rep)) != 0)
		return rv;
	if (!rep->propose_reply->accepted) {
		gem_fail(r, "refused by the CBS node: %s",
		    rep->propose_reply->reason ? rep->propose_reply->reason : "no reason given");
		r->peer_aborted = 1;
		rv = UDC_EREFUSED;
	} else if (rep->propose_reply->approval_sig.len != UDC_SIGN_BYTES ||
	    udc_sign_verify(&r->n->peer_pub, UDC_SIGN_APPROVAL, r->spec->hash, 32,
	    rep->propose_reply->approval_sig.data) != 0) {
		gem_fail(r, "the CBS node's approval of spec %s does not verify against its pinned key %s",
		    r->spec_hex, r->n->peer_fpr);
		rv = UDC_EREFUSED;
	} else if (kx_pub) {
		if (rep->propose_reply->kx_public.len != UDC_KX_PUBLIC_BYTES) {
			gem_fail(r, "the CBS node sent no key for the round secret");
			rv = UDC_EPROTO;
		} else {
			memcpy(peer_pub, rep->propose_reply->kx_public.data, UDC_KX_PUBLIC_BYTES);
		}
	}
	udc_wire_free(rep);
	return rv;
}
