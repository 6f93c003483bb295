/*
 * roundkey.c - X25519 agreement of the round's CLK secret; balanced filters.
 */
#include "roundkey.h"

#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "err.h"
#include "secmem.h"

struct udc_kx {
	uint8_t pk[crypto_kx_PUBLICKEYBYTES];
	uint8_t sk[crypto_kx_SECRETKEYBYTES];
};

int
udc_kx_new(struct udc_kx **out)
{
	struct udc_kx *kx = udc_secmem_alloc(sizeof(*kx));

	if (kx == NULL)
		return UDC_ENOMEM;
	if (crypto_kx_keypair(kx->pk, kx->sk) != 0) {
		udc_secmem_free(kx);
		return UDC_ECRYPTO;
	}
	*out = kx;
	return 0;
}

void
udc_kx_free(struct udc_kx *kx)
{
	if (kx)
		udc_secmem_free(kx); /* wipes */
}

const uint8_t *
udc_kx_public(const struct udc_kx *kx)
{
	return kx->pk;
}

int
udc_kx_secret(const struct udc_kx *kx, int client, const uint8_t peer[UDC_KX_PUBLIC_BYTES],
    const uint8_t round_id[16], const uint8_t spec_hash[32], uint8_t secret[UDC_CLK_SECRET_BYTES])
{
	static const char tag[] = "udclink/clk-secret/v1";
	uint8_t *keys, *shared;
	crypto_generichash_state st;
	int rv = 0;

	if ((keys = udc_secmem_alloc(2 * crypto_kx_SESSIONKEYBYTES)) == NULL)
		return UDC_ENOMEM;
	if (client) {
		/* rx, tx: the client's tx is the server's rx. */
		if (crypto_kx_client_session_keys(keys, keys + crypto_kx_SESSIONKEYBYTES, kx->pk, kx->sk,
		    peer) != 0)
			rv = UDC_ECRYPTO;
		shared = keys + crypto_kx_SESSIONKEYBYTES;
	} else {
		if (crypto_kx_server_session_keys(keys, keys + crypto_kx_SESSIONKEYBYTES, kx->pk, kx->sk,
		    peer) != 0)
			rv = UDC_ECRYPTO;
		shared = keys;
	}
	if (rv == 0) {
		crypto_generichash_init(&st, shared, crypto_kx_SESSIONKEYBYTES, UDC_CLK_SECRET_BYTES);
		crypto_generichash_update(&st, (const uint8_t *)tag, sizeof(tag));
		crypto_generichash_update(&st, round_id, 16);
		crypto_generichash_update(&st, spec_hash, 32);
		crypto_generichash_final(&st, secret, UDC_CLK_SECRET_BYTES);
		sodium_memzero(&st, sizeof(st));
	}
	udc_secmem_free(keys);
	return rv;
}

int
udc_balance_perm(const uint8_t secret[UDC_CLK_SECRET_BYTES], size_t nbits, uint32_t **perm)
{
	static const uint8_t nonce[crypto_stream_chacha20_NONCEBYTES] = "balance";
	size_t n = 2 * nbits, used = 0;
	uint32_t *p;
	uint8_t key[crypto_stream_chacha20_KEYBYTES], buf[4096];

	if (n == 0 || n > UINT32_MAX)
		return UDC_EINVAL;
	if ((p = malloc(n * sizeof(*p))) == NULL)
		return UDC_ENOMEM;
	/* A key of its own, so the permutation says nothing about the secret. */
	crypto_generichash(key, sizeof(key), (const uint8_t *)"udclink/balance/v1", 18, secret,
	    UDC_CLK_SECRET_BYTES);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint32_t)i;
	/* One keystream: the first buffer holds blocks 0 .. 63, each refill
	 * the next 64 blocks (protocol version 1 restarted at block 1, so
	 * filters of more than 512 bits drew from blocks 1 .. 63 twice). */
	crypto_stream_chacha20(buf, sizeof(buf), nonce, key);
	uint64_t ctr = sizeof(buf) / 64;
	for (size_t i = n; i > 1; i--) {
		/* Unbiased draw in [0, i) by rejection from the keystream. */
		uint32_t lim = (uint32_t)(-(uint32_t)i % (uint32_t)i), r;
		do {
			if (used + 4 > sizeof(buf)) {
				memset(buf, 0, sizeof(buf));
				crypto_stream_chacha20_xor_ic(buf, buf, sizeof(buf), nonce, ctr, key);
				ctr += sizeof(buf) / 64;
				used = 0;
			}
			memcpy(&r, buf + used, 4);
			used += 4;
		} while (r < lim);
		size_t k = r % i;
		uint32_t t = p[i - 1];
		p[i - 1] = p[k];
		p[k] = t;
	}
	sodium_memzero(key, sizeof(key));
	sodium_memzero(buf, sizeof(buf));
	*perm = p;
	return 0;
}

static int
getbit(const uint8_t *b, size_t i)
{
	return (b[i / 8] >> (7 - i % 8)) & 1;
}

void
udc_balance(const uint8_t *in, size_t nbits, const uint32_t *perm, uint8_t *out)
{
	size_t n = 2 * nbits;

	memset(out, 0, (n + 7) / 8);
	for (size_t i = 0; i < n; i++) {
		int v = i < nbits ? getbit(in, i) : !getbit(in, i - nbits);
		if (v)
			out[perm[i] / 8] |= (uint8_t)(0x80 >> (perm[i] % 8));
	}
}
