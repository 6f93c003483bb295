/*
 * roundsig.c - the byte layouts the nodes sign to bind a round (roundsig.h).
 */
#include "roundsig.h"

#include <string.h>

static uint8_t *
put_be(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * (n - 1 - i)));
	return p + n;
}

static uint8_t *
put(uint8_t *p, const void *src, size_t n)
{
	if (src)
		memcpy(p, src, n);
	else
		memset(p, 0, n);
	return p + n;
}

void
udc_proposal_sigdata(const struct udc_proposal *pr, uint8_t out[UDC_PROPOSAL_SIGDATA_BYTES])
{
	uint8_t *p = out;

	memset(out, 0, UDC_PROPOSAL_SIGDATA_BYTES);
	p = put(p, pr->round_id, 16);
	p = put(p, pr->spec_hash, 32);
	p = put(p, pr->cbs_key, 32);
	p = put(p, pr->gemeente_key, 32);
	p = put(p, pr->has_kx ? pr->kx_public : NULL, 32);
	p = put_be(p, (uint64_t)pr->created, 8);
	p = put_be(p, pr->max_records, 8);
	p = put_be(p, pr->chunk_records, 4);
	*p = pr->has_kx ? 1 : 0;
	/* seven zero bytes of padding remain */
}

void
udc_propose_reply_sigdata(const uint8_t proposal_hash[32], const uint8_t cbs_key[32],
    const uint8_t *kx_public, int accepted, int awaiting_consent,
    uint8_t out[UDC_REPLY_SIGDATA_BYTES])
{
	uint8_t *p = out;

	p = put(p, proposal_hash, 32);
	p = put(p, cbs_key, 32);
	p = put(p, kx_public, 32);
	*p++ = accepted ? 1 : 0;
	*p++ = awaiting_consent ? 1 : 0;
	*p++ = kx_public ? 1 : 0;
	*p = 0;
}

void
udc_commit_sigdata(const uint8_t round_id[16], const uint8_t spec_hash[32],
    const uint8_t input_digest[32], uint64_t records, const uint8_t report_hash[32],
    uint8_t out[UDC_COMMIT_SIGDATA_BYTES])
{
	uint8_t *p = out;

	p = put(p, round_id, 16);
	p = put(p, spec_hash, 32);
	p = put(p, input_digest, 32);
	p = put_be(p, records, 8);
	p = put(p, report_hash, 32);
	memset(p, 0, 8);
}
