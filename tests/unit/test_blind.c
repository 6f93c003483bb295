/*
 * test_blind.c - hash to ristretto255, blinding, point validation.
 *
 * Known answers: the RFC 9496 appendix A.3 vectors for the one-way map that
 * udc_hash_to_group ends in, and the documented hash layout assembled by
 * hand.  Properties: commutativity of blinding (the whole protocol rests on
 * it), domain separation, rejection of bad points in single and batch use,
 * and the array functions against the single ones.  ctest runs it once per
 * group backend this CPU executes (tests/unit/batch.cmake).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "blind.h"
#include "err.h"
#include "group_batch.h"
#include "group_emu/rfc9496.h"
#include "rand.h"
#include "workq.h"

static const uint8_t round1[UDC_ROUND_ID_BYTES] = {
    0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb, 0xcc, 0xdd, 0xee, 0xff,
};

static void
hex(uint8_t *out, size_t n, const char *h)
{
	size_t got = 0;

	assert_int_equal(sodium_hex2bin(out, n, h, strlen(h), NULL, &got, NULL), 0);
	assert_int_equal(got, n);
}

static void
hash_str(uint8_t out[UDC_POINT_BYTES], const uint8_t *rid, uint32_t key, const char *v)
{
	udc_hash_to_group(out, rid, key, v, strlen(v));
}

static void
test_commutative(void **state)
{
	struct udc_scalar *a = NULL, *b = NULL;
	uint8_t h[32], ha[32], hb[32], hab[32], hba[32];
	char v[32];

	assert_int_equal(udc_scalar_new(&a), 0);
	assert_int_equal(udc_scalar_new(&b), 0);
	for (int i = 0; i < 200; i++) {
		snprintf(v, sizeof(v), "%09d", 100000000 + i * 7919);
		hash_str(h, round1, (uint32_t)(i % 3), v);
		assert_int_equal(udc_blind(ha, a, h), 0);
		assert_int_equal(udc_blind(hb, b, h), 0);
		assert_int_equal(udc_blind(hab, b, ha), 0);
		assert_int_equal(udc_blind(hba, a, hb), 0);
		assert_memory_equal(hab, hba, 32);
		/* Blinding changes the point: H^a is not H. */
		assert_memory_not_equal(ha, h, 32);
		assert_memory_not_equal(ha, hb, 32);
	}
	udc_scalar_free(a);
	udc_scalar_free(b);
	udc_scalar_free(NULL);
}

static void
test_blind_in_place(void **state)
{
	struct udc_scalar *a = NULL;
	uint8_t h[32], out[32];

	assert_int_equal(udc_scalar_new(&a), 0);
	hash_str(h, round1, 0, "999999990");
	assert_int_equal(udc_blind(out, a, h), 0);
	assert_int_equal(udc_blind(h, a, h), 0);
	assert_memory_equal(out, h, 32);
	udc_scalar_free(a);
}

static void
test_domain_separation(void **state)
{
	uint8_t round2[UDC_ROUND_ID_BYTES];
	uint8_t p[32], q[32];

	memcpy(round2, round1, sizeof(round2));
	round2[15] ^= 1;

	hash_str(p, round1, 0, "123456782");
	hash_str(q, round1, 0, "123456782");
	assert_memory_equal(p, q, 32);
	assert_int_equal(crypto_core_ristretto255_is_valid_point(p), 1);

	hash_str(q, round2, 0, "123456782");
	assert_memory_not_equal(p, q, 32);
	hash_str(q, round1, 1, "123456782");
	assert_memory_not_equal(p, q, 32);
	hash_str(q, round1, 0x01000000, "123456782");
	assert_memory_not_equal(p, q, 32);
	hash_str(q, round1, 0, "123456783");
	assert_memory_not_equal(p, q, 32);

	/* The empty value is a value too, different from "\0". */
	udc_hash_to_group(p, round1, 0, "", 0);
	udc_hash_to_group(q, round1, 0, "\0", 1);
	assert_memory_not_equal(p, q, 32);
	udc_hash_to_group(q, round1, 0, NULL, 0);
	assert_memory_equal(p, q, 32);
}

/*
 * The length prefix: only the first len bytes count, and the bytes hashed
 * are not those of a layout without the length field.  Splitting a string
 * differently over two keys ("ab" + "c" against "a" + "bc") gives different
 * points for both keys.
 */
static void
test_length_prefix(void **state)
{
	uint8_t p[32], q[32];
	crypto_hash_sha512_state st;
	uint8_t h[64], r[32];
	static const uint8_t zero_len[4] = {0, 0, 0, 0};

	hash_str(p, round1, 0, "abc");
	udc_hash_to_group(q, round1, 0, "abcd", 3);
	assert_memory_equal(p, q, 32);
	udc_hash_to_group(q, round1, 0, "abcd", 2);
	assert_memory_not_equal(p, q, 32);

	/* tag || round || key || len 0 || "abc": what a careless caller
	 * passing the wrong length (or a layout without one) would hash. */
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, (const uint8_t *)UDC_HASH_TAG, sizeof(UDC_HASH_TAG));
	crypto_hash_sha512_update(&st, round1, sizeof(round1));
	crypto_hash_sha512_update(&st, zero_len, 4);
	crypto_hash_sha512_update(&st, zero_len, 4);
	crypto_hash_sha512_update(&st, (const uint8_t *)"abc", 3);
	crypto_hash_sha512_final(&st, h);
	crypto_core_ristretto255_from_hash(r, h);
	assert_memory_not_equal(p, r, 32);

	/* "ab" + "c" against "a" + "bc". */
	{
		uint8_t ab_c[2][32], a_bc[2][32];

		hash_str(ab_c[0], round1, 0, "ab");
		hash_str(ab_c[1], round1, 1, "c");
		hash_str(a_bc[0], round1, 0, "a");
		hash_str(a_bc[1], round1, 1, "bc");
		assert_memory_not_equal(ab_c[0], a_bc[0], 32);
		assert_memory_not_equal(ab_c[1], a_bc[1], 32);
	}
}

static void
be32(uint8_t b[4], uint32_t v)
{
	b[0] = (uint8_t)(v >> 24);
	b[1] = (uint8_t)(v >> 16);
	b[2] = (uint8_t)(v >> 8);
	b[3] = (uint8_t)v;
}

/* The documented layout, assembled independently of blind.c. */
static void
test_layout_by_hand(void **state)
{
	static const char *values[] = {"", "a", "123456782", "Jansen|2012-03-04|2511CV",
	                               "\xc3\xa9\xc3\xa9n waarde met UTF-8"};
	static const uint8_t tag[17] = {'u', 'd', 'c', 'l', 'i', 'n', 'k', '/', 'e',
	                                'x', 'a', 'c', 't', '/', 'v', '1', 0};
	static const uint32_t keys[] = {0, 1, 7, 0xdeadbeef};

	for (size_t vi = 0; vi < sizeof(values) / sizeof(values[0]); vi++) {
		for (size_t ki = 0; ki < sizeof(keys) / sizeof(keys[0]); ki++) {
			crypto_hash_sha512_state st;
			uint8_t h[64], want[32], got[32], b[4];
			size_t len = strlen(values[vi]);

			crypto_hash_sha512_init(&st);
			crypto_hash_sha512_update(&st, tag, sizeof(tag));
			crypto_hash_sha512_update(&st, round1, sizeof(round1));
			be32(b, keys[ki]);
			crypto_hash_sha512_update(&st, b, 4);
			be32(b, (uint32_t)len);
			crypto_hash_sha512_update(&st, b, 4);
			crypto_hash_sha512_update(&st, (const uint8_t *)values[vi], len);
			crypto_hash_sha512_final(&st, h);
			assert_int_equal(crypto_core_ristretto255_from_hash(want, h), 0);

			udc_hash_to_group(got, round1, keys[ki], values[vi], len);
			assert_memory_equal(got, want, 32);
		}
	}
	assert_int_equal(sizeof(UDC_HASH_TAG), 17);
}

/* RFC 9496 appendix A.3: 64 uniform bytes -> encoded element. */
static void
test_rfc9496_vectors(void **state)
{
	for (size_t i = 0; i < RFC9496_NMAP; i++) {
		uint8_t in[64], want[32], got[32];

		hex(in, sizeof(in), rfc9496_map[i][0]);
		hex(want, sizeof(want), rfc9496_map[i][1]);
		assert_int_equal(crypto_core_ristretto255_from_hash(got, in), 0);
		assert_memory_equal(got, want, 32);
	}
}

/* Encodings a peer could send that are not group elements. */
static const char *const bad_hex[] = {
    "ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
    /* p itself and p + 6: non-canonical field encodings */
    "edffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    "f3ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    /* negative field element */
    "0100000000000000000000000000000000000000000000000000000000000000",
    /* non-square x^2 */
    "26948d35ca62e643e26a83177332e6b6afeb9d08e4268b650f1f5bbd8d81d371",
    /* s = -1 */
    "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
    /* the identity: valid encoding, but blinding it gives nothing */
    "0000000000000000000000000000000000000000000000000000000000000000",
};
#define NBAD (sizeof(bad_hex) / sizeof(bad_hex[0]))

static void
test_blind_rejects_bad_points(void **state)
{
	struct udc_scalar *a = NULL;
	uint8_t in[32], out[32];

	assert_int_equal(udc_scalar_new(&a), 0);
	for (size_t i = 0; i < NBAD; i++) {
		hex(in, sizeof(in), bad_hex[i]);
		memset(out, 0x5a, sizeof(out));
		assert_int_equal(udc_blind(out, a, in), UDC_ECRYPTO);
		/* Nothing is written on failure. */
		for (int k = 0; k < 32; k++)
			assert_int_equal(out[k], 0x5a);
	}
	udc_scalar_free(a);
}

static void
fill_hashed(uint8_t *pts, size_t n)
{
	char v[24];

	for (size_t i = 0; i < n; i++) {
		snprintf(v, sizeof(v), "%zu", i * 31 + 5);
		hash_str(pts + i * 32, round1, 0, v);
	}
}

static void
test_batch_rejects_bad_points(void **state)
{
	enum { N = 1000 };
	struct udc_workq *wq = NULL;
	struct udc_scalar *a = NULL;
	uint8_t *pts = malloc(N * 32);
	static const size_t at[][2] = {
	    {700, 700}, {0, 0}, {999, 999}, {5, 900}, {300, 301}, {998, 999},
	};

	assert_non_null(pts);
	assert_int_equal(udc_scalar_new(&a), 0);
	assert_int_equal(udc_workq_new(&wq, 2), 0);
	for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
		for (int par = 0; par < 2; par++) {
			size_t bad = SIZE_MAX;

			fill_hashed(pts, N);
			hex(pts + at[k][0] * 32, 32, bad_hex[k % NBAD]);
			hex(pts + at[k][1] * 32, 32, bad_hex[(k + 1) % NBAD]);
			assert_int_equal(udc_blind_batch(par ? wq : NULL, a, pts, N, &bad),
			                 UDC_ECRYPTO);
			/* The lowest bad index, whichever range failed first. */
			assert_int_equal(bad, at[k][0]);
			fill_hashed(pts, N);
			hex(pts + at[k][1] * 32, 32, bad_hex[k % NBAD]);
			assert_int_equal(udc_blind_batch(par ? wq : NULL, a, pts, N, NULL),
			                 UDC_ECRYPTO);
		}
	}
	/* Every bad encoding, alone in a batch. */
	for (size_t i = 0; i < NBAD; i++) {
		size_t bad = SIZE_MAX;

		fill_hashed(pts, 64);
		hex(pts + 17 * 32, 32, bad_hex[i]);
		assert_int_equal(udc_blind_batch(wq, a, pts, 64, &bad), UDC_ECRYPTO);
		assert_int_equal(bad, 17);
	}
	udc_workq_free(wq);
	udc_scalar_free(a);
	free(pts);
}

static void
test_batch_equals_serial(void **state)
{
	enum { N = 3001 };
	struct udc_workq *wq = NULL;
	struct udc_scalar *a = NULL;
	uint8_t *batch = malloc(N * 32), *serial = malloc(N * 32), *plain = malloc(N * 32);
	size_t bad = 12345;

	assert_non_null(batch);
	assert_non_null(serial);
	assert_non_null(plain);
	assert_int_equal(udc_scalar_new(&a), 0);
	assert_int_equal(udc_workq_new(&wq, 3), 0);
	fill_hashed(plain, N);
	memcpy(batch, plain, N * 32);
	for (size_t i = 0; i < N; i++)
		assert_int_equal(udc_blind(serial + i * 32, a, plain + i * 32), 0);
	assert_int_equal(udc_blind_batch(wq, a, batch, N, &bad), 0);
	assert_int_equal(bad, 12345);
	assert_memory_equal(batch, serial, N * 32);
	memcpy(batch, plain, N * 32);
	assert_int_equal(udc_blind_batch(NULL, a, batch, N, NULL), 0);
	assert_memory_equal(batch, serial, N * 32);
	assert_int_equal(udc_blind_batch(wq, a, batch, 0, NULL), 0);
	udc_workq_free(wq);
	udc_scalar_free(a);
	free(batch);
	free(serial);
	free(plain);
}

static int
cmp32(const void *x, const void *y)
{
	return memcmp(x, y, 32);
}

static void
test_random_points(void **state)
{
	enum { N = 2000 };
	uint8_t *p = malloc(N * 32);

	assert_non_null(p);
	for (size_t i = 0; i < N; i++) {
		udc_random_point(p + i * 32);
		assert_int_equal(crypto_core_ristretto255_is_valid_point(p + i * 32), 1);
	}
	qsort(p, N, 32, cmp32);
	for (size_t i = 1; i < N; i++)
		assert_memory_not_equal(p + (i - 1) * 32, p + i * 32, 32);
	free(p);
}

/* A source that first yields zeros (a zero scalar), then a counter. */
struct zsrc {
	size_t calls;
};

static void
zero_then_count(void *buf, size_t n, void *ctx)
{
	struct zsrc *z = ctx;
	uint8_t *b = buf;

	for (size_t i = 0; i < n; i++)
		b[i] = z->calls == 0 ? 0 : (uint8_t)(i + z->calls);
	z->calls++;
}

static void
test_scalar_never_zero(void **state)
{
	struct zsrc z = {0};
	struct udc_scalar *a = NULL;
	uint8_t wide[64], s[32], h[32], got[32], want[32];

	udc_random_set_source(zero_then_count, &z);
	assert_int_equal(udc_scalar_new(&a), 0);
	udc_random_set_source(NULL, NULL);
	/* The zero draw was refused and a second one taken. */
	assert_int_equal(z.calls, 2);
	for (size_t i = 0; i < 64; i++)
		wide[i] = (uint8_t)(i + 1);
	crypto_core_ristretto255_scalar_reduce(s, wide);
	hash_str(h, round1, 0, "x");
	assert_int_equal(udc_blind(got, a, h), 0);
	assert_int_equal(crypto_scalarmult_ristretto255(want, s, h), 0);
	assert_memory_equal(got, want, 32);
	udc_scalar_free(a);
}

static void
test_scalars_differ(void **state)
{
	struct udc_scalar *a = NULL, *b = NULL;
	uint8_t h[32], ha[32], hb[32];

	assert_int_equal(udc_scalar_new(&a), 0);
	assert_int_equal(udc_scalar_new(&b), 0);
	hash_str(h, round1, 0, "y");
	assert_int_equal(udc_blind(ha, a, h), 0);
	assert_int_equal(udc_blind(hb, b, h), 0);
	assert_memory_not_equal(ha, hb, 32);
	udc_scalar_free(a);
	udc_scalar_free(b);
}

/* udc_points_valid, in groups of eight with a tail: the lowest bad index,
 * whichever group or range fails first. */
static void
test_points_valid(void **state)
{
	enum { N = 1003 };
	struct udc_workq *wq = NULL;
	uint8_t *pts = malloc(N * 32), *good = malloc(N * 32);
	static const size_t at[] = {0, 1, 7, 8, 9, 15, 16, 500, 999, 1000, 1001, 1002};

	assert_non_null(pts);
	assert_non_null(good);
	assert_int_equal(udc_workq_new(&wq, 2), 0);
	fill_hashed(good, N);
	for (int par = 0; par < 2; par++) {
		struct udc_workq *q = par ? wq : NULL;
		size_t bad = 12345;

		memcpy(pts, good, N * 32);
		assert_int_equal(udc_points_valid(q, pts, N, &bad), 0);
		assert_int_equal(bad, 12345);
		assert_int_equal(udc_points_valid(q, pts, 0, &bad), 0);
		for (size_t n = 1; n <= 17; n++)
			assert_int_equal(udc_points_valid(q, pts, n, NULL), 0);
		/* Every bad encoding at several positions (12 > NBAD). */
		for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
			size_t e = k % NBAD;

			memcpy(pts, good, N * 32);
			hex(pts + at[k] * 32, 32, bad_hex[e]);
			/* a second bad one further on must not win */
			if (at[k] + 3 < N)
				hex(pts + (at[k] + 3) * 32, 32, bad_hex[(e + 1) % NBAD]);
			bad = SIZE_MAX;
			assert_int_equal(udc_points_valid(q, pts, N, &bad), UDC_ECRYPTO);
			assert_int_equal(bad, at[k]);
			assert_int_equal(udc_points_valid(q, pts, N, NULL), UDC_ECRYPTO);
		}
	}
	udc_workq_free(wq);
	free(pts);
	free(good);
}

/* udc_hash_blind_items gives the bytes of udc_blind(udc_hash_to_group()). */
static void
test_hash_blind_items(void **state)
{
	enum { N = 45 };
	struct udc_scalar *a = NULL;
	struct udc_hash_item it[N];
	uint8_t got[N][32], want[32];
	char vals[N][40];

	assert_int_equal(udc_scalar_new(&a), 0);
	for (size_t i = 0; i < N; i++) {
		/* lengths 0..39, key indices spread, the handle key too */
		memset(vals[i], 'a' + (int)(i % 26), sizeof(vals[i]));
		snprintf(vals[i], sizeof(vals[i]), "%09zu", 100000000 + i * 7919);
		it[i].key_index = i == 3 ? UDC_KEY_HANDLE : (uint32_t)(i % 5);
		it[i].value = vals[i];
		it[i].len = i % 40;
		it[i].out = got[i];
	}
	for (size_t n = 0; n <= N; n += (n < 17 ? 1 : 7)) {
		memset(got, 0, sizeof(got));
		assert_int_equal(udc_hash_blind_items(a, round1, it, n), 0);
		for (size_t i = 0; i < n; i++) {
			udc_hash_to_group(want, round1, it[i].key_index, it[i].value, it[i].len);
			assert_int_equal(udc_blind(want, a, want), 0);
			assert_memory_equal(got[i], want, 32);
		}
	}
	udc_scalar_free(a);
}

/* A counter as the random source, so that two runs draw the same bytes. */
static void
count_source(void *buf, size_t n, void *ctx)
{
	uint64_t *c = ctx;
	uint8_t *b = buf;

	for (size_t i = 0; i < n; i++)
		b[i] = (uint8_t)((*c)++ * 131 + 7);
}

/* udc_random_points draws as n calls of udc_random_point do. */
static void
test_random_points_batch(void **state)
{
	enum { N = 37 };
	uint8_t got[N * 32], want[N * 32];
	uint64_t c;

	for (size_t n = 0; n <= N; n++) {
		c = 0;
		udc_random_set_source(count_source, &c);
		for (size_t i = 0; i < n; i++)
			udc_random_point(want + i * 32);
		c = 0;
		udc_random_points(got, n);
		udc_random_set_source(NULL, NULL);
		assert_memory_equal(got, want, n * 32);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(crypto_core_ristretto255_is_valid_point(got + i * 32), 1);
	}
}

static int
setup(void **state)
{
	return sodium_init() < 0 ? -1 : 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_commutative),
	    cmocka_unit_test(test_blind_in_place),
	    cmocka_unit_test(test_domain_separation),
	    cmocka_unit_test(test_length_prefix),
	    cmocka_unit_test(test_layout_by_hand),
	    cmocka_unit_test(test_rfc9496_vectors),
	    cmocka_unit_test(test_blind_rejects_bad_points),
	    cmocka_unit_test(test_batch_rejects_bad_points),
	    cmocka_unit_test(test_batch_equals_serial),
	    cmocka_unit_test(test_random_points),
	    cmocka_unit_test(test_scalar_never_zero),
	    cmocka_unit_test(test_scalars_differ),
	    cmocka_unit_test(test_points_valid),
	    cmocka_unit_test(test_hash_blind_items),
	    cmocka_unit_test(test_random_points_batch),
	};

	printf("test_blind: group backend %s\n", udc_group_backend_name(udc_group_backend()));
	return cmocka_run_group_tests(tests, setup, NULL);
}
