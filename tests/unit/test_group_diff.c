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
 * groups of eight with a short tail), against one libsodium call per input.
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

/* RFC 9496 A.1: the encodings of 0B..15B. */
static const char *const multiples[16] = {
    "0000000000000000000000000000000000000000000000000000000000000000",
    "e2f2ae0a6abc4e71a884a961c500515f58e30b6aa582dd8db6a65945e08d2d76",
    "6a493210f7499cd17fecb510ae0cea23a110e8d5b901f8acadd3095c73a3b919",
    "94741f5d5d52755ece4f23f044ee27d5d1ea1e2bd196b462166b16152a9d0259",
    "da80862773358b466ffadfe0b3293ab3d9fd53c5ea6c955358f568322daf6a57",
    "e882b131016b52c1d3337080187cf768423efccbb517bb495ab812c4160ff44e",
    "f64746d3c92b13050ed8d80236a7f0007c3b3f962f5ba793d19a601ebb1df403",
    "44f53520926ec81fbd5a387845beb7df85a96a24ece18738bdcfa6a7822a176d",
    "903293d8f2287ebe10e2374dc1a53e0bc887e592699f02d077d5263cdd55601c",
    "02622ace8f7303a31cafc63f8fc48fdc16e1c8c8d234b2f0d6685282a9076031",
    "20706fd788b2720a1ed2a5dad4952b01f413bcf0e7564de8cdc816689e2db95f",
    "bce83f8ba5dd2fa572864c24ba1810f9522bc6004afe95877ac73241cafdab42",
    "e4549ee16b9aa03099ca208c67adafcafa4c3f3e4e5303de6026e3ca8ff84460",
    "aa52e000df2e16f55fb1032fc33bc42742dad6bd5a8fc0be0167436c5948501f",
    "46376b80f409b29dc2b5f6f0c52591990896e5716f41477cd30085ab7f10301e",
    "e0c418f7c8d9c4cdd7395b93ea124f3ad99021bb681dfc3302a9d99a2e53e64e",
};

/* RFC 9496 A.2: encodings every decoder refuses. */
static const char *const bad_encodings[] = {
    /* non-canonical field encodings */
    "00ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    /* negative field elements */
    "0100000000000000000000000000000000000000000000000000000000000000",
    "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "ed57ffd8c914fb201471d1c3d245ce3c746fcbe63a3679d51b6a516ebebe0e20",
    "c34c4e1826e5d403b78e246e88aa051c36ccf0aafebffe137d148a2bf9104562",
    "c940e5a4404157cfb1628b108db051a8d439e1a421394ec4ebccb9ec92a8ac78",
    "47cfc5497c53dc8e61c91d17fd626ffb1c49e2bca94eed052281b510b1117a24",
    "f1c6165d33367351b0da8f6e4511010c68174a03b6581212c71c0e1d026c3c72",
    "87260f7a2f12495118360f02c26a470f450dadf34a413d21042b43b9d93e1309",
    /* non-square x^2 */
    "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
    "4eac077a713c57b4f4397629a4145982c661f48044dd3f96427d40b147d9742f",
    "de6a7b00deadc788eb6b6c8d20c0ae96c2f2019078fa604fee5b87d6e989ad7b",
    "bcab477be20861e01e4a0e295284146a510150d9817763caf1a6f4b422d67042",
    "2a292df7e32cababbd9de088d1d1abec9fc0440f637ed2fba145094dc14bea08",
    "f4a9e534fc0d216c44b218fa0c42d99635a0127ee2e53c712f70609649fdff22",
    "8268436f8c4126196cf64b3c7ddbda90746a378625f9813dd9b8457077256731",
    "2810e5cbc2cc4d4eece54f61c6f69758e289aa7ab440b3cbeaa21995c2f4232b",
    /* negative xy value */
    "3eb858e78f5a7254d8c9731174a94f76755fd3941c0ac93735c07ba14579630e",
    "a45fdc55c76448c049a1ab33f17023edfb2be3581e9c7aade8a6125215e04220",
    "d483fe813c6ba647ebbfd3ec41adca1c6130c2beeee9d9bf065c8d151c5f396e",
    "8a2e1d30050198c65a54483123960ccc38aef6848e1ec8f5f780e8523769ba32",
    "32888462f8b486c68ad7dd9610be5192bbeaf3b443951ac1a8118419d9fa097b",
    "227142501b9d4355ccba290404bde41575b037693cef1f438c47f8fbf35d1165",
    "5c37cc491da847cfeb9281d407efc41e15144c876e0170b499a96a22ed31e01e",
    "445425117cb8c90edcbc7c1cc0e74f747f2c1efa5630a967c64f287792a48a4b",
    /* s = -1: y = 0 */
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
};
#define NBAD (sizeof(bad_encodings) / sizeof(bad_encodings[0]))

/* RFC 9496 A.3: 64 uniform bytes -> element. */
static const char *const map_vectors[][2] = {
    {"5d1be09e3d0c82fc538112490e35701979d99e06ca3e2b5b54bffe8b4dc772c1"
     "4d98b696a1bbfb5ca32c436cc61c16563790306c79eaca7705668b47dffe5bb6",
     "3066f82a1a747d45120d1740f14358531a8f04bbffe6a819f86dfe50f44a0a46"},
    {"f116b34b8f17ceb56e8732a60d913dd10cce47a6d53bee9204be8b44f6678b27"
     "0102a56902e2488c46120e9276cfe54638286b9e4b3cdb470b542d46c2068d38",
     "f26e5b6f7d362d2d2a94c5d0e7602cb4773c95a2e5c31a64f133189fa76ed61b"},
    {"8422e1bbdaab52938b81fd602effb6f89110e1e57208ad12d9ad767e2e25510c"
     "27140775f9337088b982d83d7fcf0b2fa1edffe51952cbe7365e95c86eaf325c",
     "006ccd2a9e6867e6a2c5cea83d3302cc9de128dd2a9a57dd8ee7b9d7ffe02826"},
    {"ac22415129b61427bf464e17baee8db65940c233b98afce8d17c57beeb7876c2"
     "150d15af1cb1fb824bbd14955f2b57d08d388aab431a391cfc33d5bafb5dbbaf",
     "f8f0c87cf237953c5890aec3998169005dae3eca1fbb04548c635953c817f92a"},
    {"165d697a1ef3d5cf3c38565beefcf88c0f282b8e7dbd28544c483432f1cec767"
     "5debea8ebb4e5fe7d6f6e5db15f15587ac4d4d4a1de7191e0c1ca6664abcc413",
     "ae81e7dedf20a497e10c304a765c1767a42d6e06029758d2d7e8ef7cc4c41179"},
    {"a836e6c9a9ca9f1e8d486273ad56a78c70cf18f0ce10abb1c7172ddd605d7fd2"
     "979854f47ae1ccf204a33102095b4200e5befc0465accc263175485f0e17ea5c",
     "e2705652ff9f5e44d3e841bf1c251cf7dddb77d140870d1ab2ed64f1a9ce8628"},
    {"2cdc11eaeb95daf01189417cdddbf95952993aa9cb9c640eb5058d09702c7462"
     "2c9965a697a3b345ec24ee56335b556e677b30e6f90ac77d781064f866a3c982",
     "80bd07262511cdde4863f8a7434cef696750681cb9510eea557088f76d9e5065"},
    {"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff"
     "1200000000000000000000000000000000000000000000000000000000000000",
     "304282791023b73128d277bdcb5c7746ef2eac08dde9f2983379cb8e5ef0517f"},
    {"edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f"
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
     "304282791023b73128d277bdcb5c7746ef2eac08dde9f2983379cb8e5ef0517f"},
    {"0000000000000000000000000000000000000000000000000000000000000080"
     "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
     "304282791023b73128d277bdcb5c7746ef2eac08dde9f2983379cb8e5ef0517f"},
    {"0000000000000000000000000000000000000000000000000000000000000000"
     "1200000000000000000000000000000000000000000000000000000000000080",
     "304282791023b73128d277bdcb5c7746ef2eac08dde9f2983379cb8e5ef0517f"},
};

/* L, the group order, little endian. */
static const uint8_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58, 0xd6, 0x9c, 0xf7,
                              0xa2, 0xde, 0xf9, 0xde, 0x14, 0,    0,    0,    0,    0,    0,
                              0,    0,    0,    0,    0,    0,    0,    0,    0,    0x10};

static void
test_rfc9496(void **state)
{
	uint8_t pts[16 * 32], bad[NBAD * 32], h[64 * 11], want[32 * 11], got[32 * 11], ok[16];
	uint8_t s[32];

	/* A.1: decodes, and k B computed as k times B. */
	for (size_t k = 0; k < 16; k++)
		hex(pts + k * 32, 32, multiples[k]);
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
	for (size_t i = 0; i < NBAD; i++)
		hex(bad + i * 32, 32, bad_encodings[i]);
	udc_group_valid(backend, ok, bad, 16);
	for (size_t i = 0; i < 16; i++)
		assert_int_equal(ok[i], 0);
	check_valid(bad, NBAD);
	memset(s, 0, sizeof(s));
	s[0] = 7;
	check_mul(s, bad, NBAD, 1);
	assert_int_equal(udc_group_mul(backend, got, ok, s, bad, 8), 8);
	/* A.3 */
	for (size_t i = 0; i < 11; i++) {
		hex(h + i * 64, 64, map_vectors[i][0]);
		hex(want + i * 32, 32, map_vectors[i][1]);
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
		hex(in + n * 32, 32, multiples[k]);
		in[n * 32] ^= 1;
		n++;
		hex(in + n * 32, 32, multiples[k]);
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
	hex(pts + 5 * 32, 32, bad_encodings[3]);
	memset(pts + 11 * 32, 0, 32); /* the identity */
	hex(pts + 17 * 32, 32, bad_encodings[12]);

	memset(scal, 0, sizeof(scal));
	ns++;              /* 0 */
	scal[ns++][0] = 1; /* 1 */
	scal[ns++][0] = 2;
	memcpy(scal[ns], L, 32);
	scal[ns++][0] -= 1; /* L - 1 */
	memcpy(scal[ns++], L, 32);
	memcpy(scal[ns], L, 32);
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
