/*
 * test_group_diff.c - one backend of the batch group operations against
 * libsodium, byte for byte.
 *
 * Usage: test_group_diff BACKEND (libsodium, portable, ifma, ifma256).  The RFC 9496
 * vectors, edge encodings (identity, p and its neighbours, bit 255, negative
 * and non-square field elements), edge scalars (0, 1, L - 1, L, 2^255 - 1,
 * bit 255), short groups and in-place use, then pseudo-random inputs:
 * 1,000,000 in all for a vector backend (a tenth for the libsodium backend,
 * which is the reference itself behind the batching code).  Every output
 * and every refusal must equal libsodium's.  UDC_GROUP_DIFF_SCALE=k
 * multiplies the random counts; UDC_GROUP_DIFF_SEED=n changes the inputs
 * (the seed is printed, so a failure reproduces).  A backend this CPU cannot
 * run exits 77 (ctest: skipped) after saying why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <sodium.h>

#include "group_batch.h"
#include "group_emu/rfc9496.h"

static int backend;
static double scale = 1.0;
static uint64_t seed = 20240514;
static uint64_t counted[4]; /* inputs checked: valid, from_hash, mul, hash_mul */

/* A deterministic stream: ChaCha20 keyed by the seed and a call counter. */
static void
prng(void *buf, size_t n)
{
	static uint64_t calls;
	uint8_t key[randombytes_SEEDBYTES] = {0};

	memcpy(key, &seed, sizeof(seed));
	memcpy(key + 8, &calls, sizeof(calls));
	calls++;
	randombytes_buf_deterministic(buf, n, key);
}

static void
hex(uint8_t *out, size_t n, const char *h)
{
	size_t got = 0;

	assert_int_equal(sodium_hex2bin(out, n, h, strlen(h), NULL, &got, NULL), 0);
	assert_int_equal(got, n);
}

static void
dump(const char *what, const uint8_t *b, size_t n)
{
	char h[129 + 1];

	sodium_bin2hex(h, sizeof(h), b, n < 64 ? n : 64);
	fprintf(stderr, "  %s %s\n", what, h);
}

/*
 * The four checks, each over n inputs at once (the backend cuts them into
 * groups of its lanes, eight or sixteen, with a short tail), against one libsodium
 * call per input.
 */
static void
check_valid(const uint8_t *in, size_t n)
{
	uint8_t *ok = malloc(n + 1);

	assert_non_null(ok);
	udc_group_valid(backend, ok, in, n);
	for (size_t i = 0; i < n; i++) {
		int want = crypto_core_ristretto255_is_valid_point(in + i * 32) == 1;

		if (ok[i] != want) {
			fprintf(stderr, "valid: lane %zu of %zu: libsodium %d, %s %d\n", i, n, want,
			        udc_group_backend_name(backend), ok[i]);
			dump("in", in + i * 32, 32);
			fail();
		}
	}
	counted[0] += n;
	free(ok);
}

static void
check_from_hash(const uint8_t *h, size_t n)
{
	uint8_t *got = malloc(n * 32 + 1), want[32];

	assert_non_null(got);
	udc_group_from_hash(backend, got, h, n);
	for (size_t i = 0; i < n; i++) {
		crypto_core_ristretto255_from_hash(want, h + i * 64);
		if (memcmp(want, got + i * 32, 32) != 0) {
			fprintf(stderr, "from_hash: lane %zu of %zu differs\n", i, n);
			dump("h", h + i * 64, 64);
			dump("want", want, 32);
			dump("got", got + i * 32, 32);
			fail();
		}
	}
	counted[1] += n;
	free(got);
}

/* in_place: out is the input array itself, as udc_blind_batch uses it. */
static void
check_mul(const uint8_t s[32], const uint8_t *in, size_t n, int in_place)
{
	uint8_t *got = malloc(n * 32 + 1), *ok = malloc(n + 1), want[32];
	size_t bad, nbad = 0;

	assert_non_null(got);
	assert_non_null(ok);
	memcpy(got, in, n * 32);
	bad = udc_group_mul(backend, got, ok, s, in_place ? got : in, n);
	for (size_t i = 0; i < n; i++) {
		int wok = crypto_scalarmult_ristretto255(want, s, in + i * 32) == 0;

		if (!wok)
			memset(want, 0, 32);
		nbad += !wok;
		if (ok[i] != wok || memcmp(want, got + i * 32, 32) != 0) {
			fprintf(stderr, "mul: lane %zu of %zu: libsodium %s, %s %s\n", i, n,
			        wok ? "ok" : "refuses", udc_group_backend_name(backend),
			        ok[i] ? "ok" : "refuses");
			dump("s", s, 32);
			dump("in", in + i * 32, 32);
			dump("want", want, 32);
			dump("got", got + i * 32, 32);
			fail();
		}
	}
	assert_int_equal(bad, nbad);
	counted[2] += n;
	free(got);
	free(ok);
}

static void
check_hash_mul(const uint8_t s[32], const uint8_t *h, size_t n)
{
	uint8_t *got = malloc(n * 32 + 1), *ok = malloc(n + 1), want[32];
	size_t bad, nbad = 0;

	assert_non_null(got);
	assert_non_null(ok);
	bad = udc_group_hash_mul(backend, got, ok, s, h, n);
	for (size_t i = 0; i < n; i++) {
		int wok;

		crypto_core_ristretto255_from_hash(want, h + i * 64);
		wok = crypto_scalarmult_ristretto255(want, s, want) == 0;
		if (!wok)
			memset(want, 0, 32);
		nbad += !wok;
		if (ok[i] != wok || memcmp(want, got + i * 32, 32) != 0) {
			fprintf(stderr, "hash_mul: lane %zu of %zu differs\n", i, n);
			dump("s", s, 32);
			dump("h", h + i * 64, 64);
			dump("want", want, 32);
			dump("got", got + i * 32, 32);
			fail();
		}
	}
	assert_int_equal(bad, nbad);
	counted[3] += n;
	free(got);
	free(ok);
}

/*
 * Known answers and edges.
 */

static void
test_rfc9496(void **state)
{
	uint8_t pts[16 * 32], bad[RFC9496_NBAD * 32], h[64 * 11], want[32 * 11], got[32 * 11], ok[16];
	uint8_t s[32];

	/* A.1: decodes, and k B computed as k times B. */
	for (size_t k = 0; k < 16; k++)
		hex(pts + k * 32, 32, rfc9496_multiples[k]);
	udc_group_valid(backend, ok, pts, 16);
	for (size_t k = 0; k < 16; k++)
		assert_int_equal(ok[k], 1);
	for (size_t k = 0; k < 16; k++) {
		uint8_t kb[32];

		memset(s, 0, sizeof(s));
		s[0] = (uint8_t)k;
		assert_int_equal(udc_group_mul(backend, kb, ok, s, pts + 32, 1), k == 0 ? 1 : 0);
		assert_int_equal(ok[0], k != 0);
		assert_memory_equal(kb, pts + k * 32, 32); /* 0B: refused, zero */
		check_mul(s, pts, 16, 0);
	}
	/* A.2: refused by valid and by mul. */
	for (size_t i = 0; i < RFC9496_NBAD; i++)
		hex(bad + i * 32, 32, rfc9496_bad[i]);
	udc_group_valid(backend, ok, bad, 16);
	for (size_t i = 0; i < 16; i++)
		assert_int_equal(ok[i], 0);
	check_valid(bad, RFC9496_NBAD);
	memset(s, 0, sizeof(s));
	s[0] = 7;
	check_mul(s, bad, RFC9496_NBAD, 1);
	assert_int_equal(udc_group_mul(backend, got, ok, s, bad, 8), 8);
	/* A.3 */
	for (size_t i = 0; i < 11; i++) {
		hex(h + i * 64, 64, rfc9496_map[i][0]);
		hex(want + i * 32, 32, rfc9496_map[i][1]);
	}
	udc_group_from_hash(backend, got, h, 11);
	assert_memory_equal(got, want, 11 * 32);
	check_from_hash(h, 11);
}

/* Encodings around the edges of the canonical check and the decoder. */
static void
test_edge_encodings(void **state)
{
	enum { N = 64 };
	uint8_t in[N * 32], s[32];
	size_t n = 0;

	memset(in, 0, sizeof(in));
	n++; /* the identity */
	/* p - 1 .. p + 18 and 2^255 - 1: the canonical check's boundary */
	for (int k = -1; k <= 18; k++, n++) {
		uint8_t *e = in + n * 32;

		memset(e, 0xff, 32);
		e[31] = 0x7f;
		e[0] = (uint8_t)(0xed + k);
	}
	/* small values, even and odd */
	for (int k = 1; k <= 6; k++, n++)
		in[n * 32] = (uint8_t)k;
	/* valid points with one bit changed: the sign bit (bit 0) and bit 255 */
	for (int k = 1; k <= 8; k++) {
		hex(in + n * 32, 32, rfc9496_multiples[k]);
		in[n * 32] ^= 1;
		n++;
		hex(in + n * 32, 32, rfc9496_multiples[k]);
		in[n * 32 + 31] ^= 0x80;
		n++;
	}
	/* the identity with bit 255, all ones, alternating */
	in[n * 32 + 31] = 0x80;
	n++;
	memset(in + n * 32, 0xff, 32);
	n++;
	memset(in + n * 32, 0xaa, 32);
	n++;
	memset(in + n * 32, 0x54, 32);
	n++;
	assert_true(n <= N);
	check_valid(in, n);
	memset(s, 0, sizeof(s));
	s[0] = 3;
	check_mul(s, in, n, 0);
	check_mul(s, in, n, 1);
}

/* Scalars at the edges, over valid points and a few refused lanes. */
static void
test_edge_scalars(void **state)
{
	enum { N = 19 };
	uint8_t pts[N * 32], h[N * 64], s[32];
	uint8_t scal[14][32];
	size_t ns = 0;

	prng(h, sizeof(h));
	udc_group_from_hash(UDC_GROUP_LIBSODIUM, pts, h, N);
	hex(pts + 5 * 32, 32, rfc9496_bad[3]);
	memset(pts + 11 * 32, 0, 32); /* the identity */
	hex(pts + 17 * 32, 32, rfc9496_bad[12]);

	memset(scal, 0, sizeof(scal));
	ns++;              /* 0 */
	scal[ns++][0] = 1; /* 1 */
	scal[ns++][0] = 2;
	memcpy(scal[ns], rfc9496_L, 32);
	scal[ns++][0] -= 1; /* L - 1 */
	memcpy(scal[ns++], rfc9496_L, 32);
	memcpy(scal[ns], rfc9496_L, 32);
	scal[ns++][0] += 1;    /* L + 1 */
	scal[ns++][31] = 0x10; /* 2^252 */
	memset(scal[ns], 0xff, 32);
	scal[ns++][31] = 0x7f;        /* 2^255 - 1 */
	memset(scal[ns++], 0xff, 32); /* bit 255 set: ignored */
	scal[ns][0] = 1;
	scal[ns++][31] = 0x80; /* 1 + 2^255: as 1 */
	for (int k = 0; k < 32; k++)
		scal[ns][k] = 0x88; /* every radix-16 digit 8: every carry */
	ns++;
	for (int k = 0; k < 32; k++)
		scal[ns][k] = 0x77; /* every digit 7: no carry */
	ns++;
	for (int k = 0; k < 32; k++)
		scal[ns][k] = 0x99; /* every digit -7 after recoding */
	scal[ns++][31] = 0x09;
	prng(scal[ns], 32); /* and a random one with bit 255 */
	scal[ns++][31] |= 0x80;
	assert_int_equal(ns, 14);
	for (size_t i = 0; i < ns; i++) {
		memcpy(s, scal[i], 32);
		check_mul(s, pts, N, 0);
		check_mul(s, pts, N, 1);
		check_hash_mul(s, h, N);
	}
}

/* Digests at the edges of the map: halves p, p + 1, 2^255 - 1, zero, bit 255. */
static void
test_edge_digests(void **state)
{
	static const int lows[] = {0x00, 0x01, 0xec, 0xed, 0xee, 0xff};
	enum { N = 6 * 6 * 2 };
	uint8_t h[N * 64], s[32] = {5};
	size_t n = 0;

	for (size_t a = 0; a < 6; a++) {
		for (size_t b = 0; b < 6; b++) {
			for (int top = 0; top < 2; top++, n++) {
				uint8_t *d = h + n * 64;

				memset(d, lows[a] >= 0xec ? 0xff : 0, 32);
				d[0] = (uint8_t)lows[a];
				d[31] = (uint8_t)((lows[a] >= 0xec ? 0x7f : 0) | (top ? 0x80 : 0));
				memset(d + 32, lows[b] >= 0xec ? 0xff : 0, 32);
				d[32] = (uint8_t)lows[b];
				d[63] = (uint8_t)((lows[b] >= 0xec ? 0x7f : 0) | (top ? 0 : 0x80));
			}
		}
	}
	check_from_hash(h, n);
	check_hash_mul(s, h, n);
}

/* Every length from 0 to 40: full groups, tails, nothing. */
static void
test_lengths(void **state)
{
	uint8_t h[40 * 64], pts[40 * 32], s[32];

	prng(h, sizeof(h));
	prng(s, sizeof(s));
	udc_group_from_hash(UDC_GROUP_LIBSODIUM, pts, h, 40);
	pts[13 * 32] ^= 1; /* one refused lane */
	for (size_t n = 0; n <= 40; n++) {
		check_valid(pts, n);
		check_from_hash(h, n);
		check_mul(s, pts, n, 0);
		check_mul(s, pts, n, 1);
		check_hash_mul(s, h, n);
	}
}

/*
 * Pseudo-random inputs.  Calls of 1..64 inputs, so that tails of every
 * length occur; a new scalar for every call.
 */
static size_t
count(size_t full)
{
	double c = (double)full * scale;

	if (backend == UDC_GROUP_LIBSODIUM)
		c /= 10;
	return c < 1 ? 1 : (size_t)c;
}

static size_t
call_len(void)
{
	uint8_t r;

	prng(&r, 1);
	return (size_t)(r % 64) + 1;
}

static void
test_random_valid(void **state)
{
	size_t total = count(600000);
	uint8_t h[64 * 64], in[64 * 32], r[64];

	for (size_t done = 0; done < total;) {
		size_t n = call_len();

		if (n > total - done)
			n = total - done;
		/* Half valid points, a quarter of them with one bit flipped,
		 * half random strings. */
		prng(h, n * 64);
		prng(in, n * 32);
		prng(r, n);
		for (size_t i = 0; i < n; i++) {
			if (r[i] & 1) {
				crypto_core_ristretto255_from_hash(in + i * 32, h + i * 64);
				if ((r[i] & 6) == 0)
					in[i * 32 + (r[i] >> 3)] ^= (uint8_t)(1u << (r[i] & 7));
			}
		}
		check_valid(in, n);
		done += n;
	}
}

static void
test_random_from_hash(void **state)
{
	size_t total = count(300000);
	uint8_t h[64 * 64];

	for (size_t done = 0; done < total;) {
		size_t n = call_len();

		if (n > total - done)
			n = total - done;
		prng(h, n * 64);
		check_from_hash(h, n);
		done += n;
	}
}

static void
test_random_mul(void **state)
{
	size_t total = count(60000);
	uint8_t h[64 * 64], in[64 * 32], s[32], r[64];

	for (size_t done = 0; done < total;) {
		size_t n = call_len();

		if (n > total - done)
			n = total - done;
		prng(h, n * 64);
		prng(s, sizeof(s));
		prng(r, n);
		udc_group_from_hash(UDC_GROUP_LIBSODIUM, in, h, n);
		/* One lane in 16 refused: random bytes or a flipped sign. */
		for (size_t i = 0; i < n; i++) {
			if ((r[i] & 15) == 0)
				prng(in + i * 32, 32);
			else if ((r[i] & 15) == 1)
				in[i * 32] ^= 1;
		}
		check_mul(s, in, n, r[0] & 1);
		done += n;
	}
}

static void
test_random_hash_mul(void **state)
{
	size_t total = count(40000);
	uint8_t h[64 * 64], s[32];

	for (size_t done = 0; done < total;) {
		size_t n = call_len();

		if (n > total - done)
			n = total - done;
		prng(h, n * 64);
		prng(s, sizeof(s));
		check_hash_mul(s, h, n);
		done += n;
	}
}

static int
setup(void **state)
{
	return sodium_init() < 0 ? -1 : 0;
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_rfc9496),          cmocka_unit_test(test_edge_encodings),
	    cmocka_unit_test(test_edge_scalars),     cmocka_unit_test(test_edge_digests),
	    cmocka_unit_test(test_lengths),          cmocka_unit_test(test_random_valid),
	    cmocka_unit_test(test_random_from_hash), cmocka_unit_test(test_random_mul),
	    cmocka_unit_test(test_random_hash_mul),
	};
	const char *e;
	time_t t0 = time(NULL);
	int rv;

	if (argc != 2 || udc_group_backend_parse(argv[1], &backend) != 0 ||
	    backend == UDC_GROUP_AUTO) {
		fprintf(stderr, "usage: test_group_diff libsodium|portable|ifma|ifma256\n");
		return 2;
	}
	if (!udc_group_backend_runs(backend)) {
		printf("test_group_diff: backend %s NOT RUN: this CPU (or its OS) does not execute "
		       "AVX-512F + AVX-512 IFMA%s, so its results cannot be compared here; it runs "
		       "where it can (and is never selected where it cannot)\n",
		       argv[1], backend == UDC_GROUP_IFMA256 ? " + AVX-512VL" : "");
		return 77;
	}
	if ((e = getenv("UDC_GROUP_DIFF_SCALE")) != NULL && atof(e) > 0)
		scale = atof(e);
	if ((e = getenv("UDC_GROUP_DIFF_SEED")) != NULL)
		seed = strtoull(e, NULL, 10);
	printf("test_group_diff: backend %s against libsodium %s, seed %llu, scale %g\n", argv[1],
	       sodium_version_string(), (unsigned long long)seed, scale);
	rv = cmocka_run_group_tests(tests, setup, NULL);
	printf("test_group_diff: %s: %llu valid, %llu from_hash, %llu mul, %llu hash_mul inputs "
	       "(%llu in all) checked in %lld s%s\n",
	       argv[1], (unsigned long long)counted[0], (unsigned long long)counted[1],
	       (unsigned long long)counted[2], (unsigned long long)counted[3],
	       (unsigned long long)(counted[0] + counted[1] + counted[2] + counted[3]),
	       (long long)(time(NULL) - t0), rv == 0 ? ", all equal to libsodium" : "");
	return rv;
}
