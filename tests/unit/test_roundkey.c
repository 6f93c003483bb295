/*
 * test_roundkey.c - the round's CLK secret and balanced filters
 * (common/fuzzy/roundkey.c).
 *
 * The secret is checked against the derivation written out here with
 * libsodium's own calls (crypto_kx session keys, then keyed BLAKE2b over
 * the tag, the round id and the spec hash), both ends agree, and a bad peer
 * key is refused.  The balancing permutation is checked against a
 * Fisher-Yates shuffle written out here from its definition (ChaCha20
 * keystream under a key derived from the secret, unbiased draws by
 * rejection), and balanced filters against their definition: bit i of the
 * filter, then its complement, each moved to perm[i], so exactly half the
 * bits are set.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "err.h"
#include "roundkey.h"
#include "secmem.h"

static const uint8_t round_id[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };

static void
fill(uint8_t *b, size_t n, uint8_t seed)
{
	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)(seed + 31 * i);
}

/* The secret as docs/security.md and roundkey.h define it; the tag is
 * hashed with its terminating NUL (sizeof of the string literal), as both
 * nodes have always done. */
static void
expected_secret(const uint8_t client_tx[32], const uint8_t spec_hash[32], uint8_t out[32])
{
	static const char tag[] = "udclink/clk-secret/v1";
	uint8_t msg[sizeof(tag) + 16 + 32];

	memcpy(msg, tag, sizeof(tag));
	memcpy(msg + sizeof(tag), round_id, 16);
	memcpy(msg + sizeof(tag) + 16, spec_hash, 32);
	assert_int_equal(crypto_generichash(out, 32, msg, sizeof(msg), client_tx, 32), 0);
}

static void
test_secret_agreement(void **state)
{
	struct udc_kx *g = NULL, *c = NULL;
	uint8_t spec_hash[32], sg[32], sc[32], want[32], rx[32], tx[32], other[32];
	uint8_t gsk_pk[32];

	(void)state;
	fill(spec_hash, sizeof(spec_hash), 7);
	assert_int_equal(udc_kx_new(&g), 0);
	assert_int_equal(udc_kx_new(&c), 0);
	assert_memory_not_equal(udc_kx_public(g), udc_kx_public(c), UDC_KX_PUBLIC_BYTES);
	assert_int_equal(udc_kx_secret(g, 1, udc_kx_public(c), round_id, spec_hash, sg), 0);
	assert_int_equal(udc_kx_secret(c, 0, udc_kx_public(g), round_id, spec_hash, sc), 0);
	assert_memory_equal(sg, sc, 32);

	/* Written out: the server's rx equals the client's tx; the server's
	 * secret key is not reachable, so derive the server's view from a key
	 * pair made here with the same calls. */
	uint8_t pk[32], sk[32];
	crypto_kx_keypair(pk, sk);
	memcpy(gsk_pk, udc_kx_public(g), 32);
	assert_int_equal(crypto_kx_server_session_keys(rx, tx, pk, sk, gsk_pk), 0);
	assert_int_equal(udc_kx_secret(g, 1, pk, round_id, spec_hash, sg), 0);
	expected_secret(rx, spec_hash, want);
	assert_memory_equal(sg, want, 32);

	/* Another spec hash or round id: another secret. */
	spec_hash[0] ^= 1;
	assert_int_equal(udc_kx_secret(g, 1, pk, round_id, spec_hash, other), 0);
	assert_memory_not_equal(other, sg, 32);
	sodium_memzero(sk, sizeof(sk));
	udc_kx_free(g);
	udc_kx_free(c);
}

static void
test_bad_peer_key(void **state)
{
	struct udc_kx *g = NULL;
	uint8_t zero[32] = { 0 }, spec_hash[32] = { 0 }, s[32];

	(void)state;
	assert_int_equal(udc_kx_new(&g), 0);
	/* The identity point: the shared point is all zeros, which libsodium
	 * refuses; so must we, on both ends. */
	assert_int_equal(udc_kx_secret(g, 1, zero, round_id, spec_hash, s), UDC_ECRYPTO);
	assert_int_equal(udc_kx_secret(g, 0, zero, round_id, spec_hash, s), UDC_ECRYPTO);
	udc_kx_free(g);
	udc_kx_free(NULL); /* a no-op */
}

/* The permutation from its definition: a Fisher-Yates shuffle drawing
 * 32-bit words, little endian, from one ChaCha20 keystream (key from the
 * secret, nonce "balance"), each below 2^32 mod i rejected. */
static void
expected_perm(const uint8_t secret[32], size_t nbits, uint32_t *p)
{
	static uint8_t ks[65536];
	uint8_t key[32], nonce[8] = { 'b', 'a', 'l', 'a', 'n', 'c', 'e', 0 };
	size_t n = 2 * nbits, used = 0;

	crypto_generichash(key, 32, (const uint8_t *)"udclink/balance/v1", 18, secret, 32);
	crypto_stream_chacha20(ks, sizeof(ks), nonce, key);
	for (size_t i = 0; i < n; i++)
		p[i] = (uint32_t)i;
	for (size_t i = n; i > 1; i--) {
		uint32_t r, lim = (uint32_t)((UINT64_C(1) << 32) % i);
		do {
			assert_true(used + 4 <= sizeof(ks));
			r = (uint32_t)ks[used] | (uint32_t)ks[used + 1] << 8 |
			    (uint32_t)ks[used + 2] << 16 | (uint32_t)ks[used + 3] << 24;
			used += 4;
		} while (r < lim);
		size_t k = r % i;
		uint32_t t = p[i - 1];
		p[i - 1] = p[k];
		p[k] = t;
	}
}

static int
bit(const uint8_t *b, size_t i)
{
	return (b[i / 8] >> (7 - i % 8)) & 1;
}

static void
test_balance_perm(void **state)
{
	uint8_t secret[32], secret2[32];
	uint32_t *p = NULL, *p2 = NULL, want[512];
	const size_t nbits = 256;

	(void)state;
	fill(secret, 32, 3);
	assert_int_equal(udc_balance_perm(secret, nbits, &p), 0);
	expected_perm(secret, nbits, want);
	assert_memory_equal(p, want, sizeof(want));
	/* A permutation: every position once. */
	uint8_t seen[512] = { 0 };
	for (size_t i = 0; i < 2 * nbits; i++) {
		assert_true(p[i] < 2 * nbits);
		assert_int_equal(seen[p[i]]++, 0);
	}
	/* Another secret, another permutation. */
	memcpy(secret2, secret, 32);
	secret2[31] ^= 0x80;
	assert_int_equal(udc_balance_perm(secret2, nbits, &p2), 0);
	assert_memory_not_equal(p, p2, 2 * nbits * sizeof(*p));
	free(p);
	free(p2);

	/* Filters as long as clkhash's (1024 bits) need more keystream than
	 * the first buffer: the refills continue the keystream (the definition
	 * above reads it in one piece), still a permutation, the same twice. */
	static uint32_t want_long[2 * 4096];
	assert_int_equal(udc_balance_perm(secret, 1024, &p), 0);
	expected_perm(secret, 1024, want_long);
	assert_memory_equal(p, want_long, 2048 * sizeof(*p));
	assert_int_equal(udc_balance_perm(secret, 1024, &p2), 0);
	assert_memory_equal(p, p2, 2048 * sizeof(*p));
	free(p2);
	assert_int_equal(udc_balance_perm(secret, 4096, &p2), 0);
	expected_perm(secret, 4096, want_long);
	assert_memory_equal(p2, want_long, 8192 * sizeof(*p2));
	uint8_t seen2[2048] = { 0 };
	for (size_t i = 0; i < 2048; i++) {
		assert_true(p[i] < 2048);
		assert_int_equal(seen2[p[i]]++, 0);
	}
	free(p);
	free(p2);

	p = NULL;
	assert_int_equal(udc_balance_perm(secret, 0, &p), UDC_EINVAL);
	assert_null(p);
}

static void
test_balance(void **state)
{
	uint8_t secret[32], in[128], out[256];
	uint32_t *p = NULL;
	const size_t nbits = 1024;

	(void)state;
	fill(secret, 32, 9);
	assert_int_equal(udc_balance_perm(secret, nbits, &p), 0);
	for (int pattern = 0; pattern < 3; pattern++) {
		if (pattern == 0)
			memset(in, 0, sizeof(in));
		else if (pattern == 1)
			memset(in, 0xff, sizeof(in));
		else
			fill(in, sizeof(in), 0x5a);
		memset(out, 0xaa, sizeof(out));
		udc_balance(in, nbits, p, out);
		size_t set = 0;
		for (size_t i = 0; i < 2 * nbits; i++)
			set += (size_t)bit(out, i);
		assert_int_equal(set, nbits);
		for (size_t i = 0; i < nbits; i++) {
			assert_int_equal(bit(out, p[i]), bit(in, i));
			assert_int_equal(bit(out, p[nbits + i]), !bit(in, i));
		}
	}
	free(p);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_secret_agreement),
		cmocka_unit_test(test_bad_peer_key),
		cmocka_unit_test(test_balance_perm),
		cmocka_unit_test(test_balance),
	};

	if (udc_secmem_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
