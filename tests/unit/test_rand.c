/*
 * test_rand.c - udc_random_uniform and udc_shuffle.
 *
 * Scripted sources check the rejection bounds exactly; a seeded generator
 * makes the permutation checks reproducible; a chi-square test over
 * libsodium's source checks that the shuffle is uniform in practice.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "rand.h"

/* A scripted source: hands out 32-bit words in order. */
struct script {
	const uint32_t *w;
	size_t n, pos;
};

static void
script_fn(void *buf, size_t n, void *ctx)
{
	struct script *s = ctx;

	assert_int_equal(n, sizeof(uint32_t));
	assert_true(s->pos < s->n);
	memcpy(buf, &s->w[s->pos++], sizeof(uint32_t));
}

/* splitmix64: a seeded stream for reproducible tests. */
static void
splitmix_fn(void *buf, size_t n, void *ctx)
{
	uint64_t *state = ctx;
	unsigned char *p = buf;

	while (n > 0) {
		uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);
		size_t k = n < 8 ? n : 8;

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		memcpy(p, &z, k);
		p += k;
		n -= k;
	}
}

static int
teardown_source(void **state)
{
	udc_random_set_source(NULL, NULL);
	return 0;
}

static void
test_uniform_rejects_low_values(void **state)
{
	/* 2^32 mod 3 = 1: only 0 is rejected. */
	static const uint32_t w3[] = {0, 5};
	/* 2^32 mod (2^31 + 1) = 2^31 - 1: everything below is rejected. */
	static const uint32_t wbig[] = {0, 0x7ffffffe, 0x7fffffff};
	struct script s = {w3, 2, 0};

	udc_random_set_source(script_fn, &s);
	assert_int_equal(udc_random_uniform(3), 2);
	assert_int_equal(s.pos, 2);

	s = (struct script){wbig, 3, 0};
	assert_int_equal(udc_random_uniform(0x80000001u), 0x7fffffffu);
	assert_int_equal(s.pos, 3);

	/* Powers of two reject nothing. */
	s = (struct script){w3, 1, 0};
	assert_int_equal(udc_random_uniform(16), 0);
	assert_int_equal(s.pos, 1);

	/* Bound 1 (and 0, out of contract) need no randomness at all. */
	s = (struct script){w3, 0, 0};
	assert_int_equal(udc_random_uniform(1), 0);
	assert_int_equal(udc_random_uniform(0), 0);
}

/* A source that fills whole buffers from a script of 32-bit words (the
 * stream asks for 1024 bytes at a time), zeros after the script; once the
 * script is used up, all ones. */
static void
script_buf_fn(void *buf, size_t n, void *ctx)
{
	struct script *s = ctx;
	uint32_t *w = buf;

	assert_int_equal(n % sizeof(uint32_t), 0);
	memset(buf, s->pos < s->n ? 0 : 0xff, n);
	for (size_t i = 0; i < n / sizeof(uint32_t) && s->pos < s->n; i++)
		w[i] = s->w[s->pos++];
}

static void
test_stream_rejects_low_values(void **state)
{
	/* as test_uniform_rejects_low_values, through one buffer */
	static const uint32_t w[] = {0, 5, 0, 0x7ffffffe, 0x7fffffff, 7};
	struct script s = {w, 6, 0};
	struct udc_random_stream rs;
	uint64_t big = (1ULL << 33) + 1, x;

	(void)state;
	udc_random_set_source(script_buf_fn, &s);
	udc_random_stream_init(&rs);
	assert_int_equal(udc_random_stream_uniform(&rs, 3), 2);
	assert_int_equal(udc_random_stream_uniform(&rs, 0x80000001u), 0x7fffffffu);
	assert_int_equal(udc_random_stream_uniform(&rs, 16), 7);
	assert_int_equal(udc_random_stream_uniform(&rs, 1), 0);
	assert_int_equal(s.pos, 6); /* one buffer for all of it */
	/* 64-bit bounds: 2^64 mod (2^33 + 1) values at the bottom are refused;
	 * the rest of the buffer is zeros, so it takes a fresh one (all ones) */
	x = udc_random_stream_uniform(&rs, big);
	assert_true(x == UINT64_MAX % big);
	udc_random_stream_wipe(&rs);
	assert_int_equal(rs.buf[0], 0);
	udc_random_set_source(NULL, NULL);
}

static void
test_uniform_range_seeded(void **state)
{
	uint64_t seed = 42;
	unsigned counts[10] = {0};

	udc_random_set_source(splitmix_fn, &seed);
	for (int i = 0; i < 100000; i++) {
		uint32_t r = udc_random_uniform(10);

		assert_true(r < 10);
		counts[r]++;
	}
	/* Seeded, so this cannot flake; a broken reduction would be far off. */
	for (int i = 0; i < 10; i++) {
		assert_true(counts[i] > 9500);
		assert_true(counts[i] < 10500);
	}
	for (int i = 0; i < 1000; i++)
		assert_true(udc_random_uniform(0xfffffffbu) < 0xfffffffbu);
}

static void
test_uniform_default_source(void **state)
{
	for (int i = 0; i < 1000; i++)
		assert_true(udc_random_uniform(7) < 7);
}

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static void
check_permutation_u32(void)
{
	enum { N = 1000 };
	uint32_t a[N];
	int moved = 0;

	for (uint32_t i = 0; i < N; i++)
		a[i] = i;
	udc_shuffle(a, N, sizeof(a[0]));
	for (uint32_t i = 0; i < N; i++)
		moved += a[i] != i;
	/* A shuffle that leaves most of 1000 elements in place is broken. */
	assert_true(moved > N / 2);
	qsort(a, N, sizeof(a[0]), cmp_u32);
	for (uint32_t i = 0; i < N; i++)
		assert_int_equal(a[i], i);
}

static void
test_shuffle_is_permutation(void **state)
{
	uint64_t seed = 7;

	check_permutation_u32();
	udc_random_set_source(splitmix_fn, &seed);
	check_permutation_u32();
}

static void
test_shuffle_reproducible(void **state)
{
	uint32_t a[100], b[100];
	uint64_t seed;

	for (uint32_t i = 0; i < 100; i++)
		a[i] = b[i] = i;
	seed = 1;
	udc_random_set_source(splitmix_fn, &seed);
	udc_shuffle(a, 100, sizeof(a[0]));
	seed = 1;
	udc_shuffle(b, 100, sizeof(b[0]));
	assert_memory_equal(a, b, sizeof(a));
}

/* Elements bigger than the swap buffer, and of an odd size. */
static void
test_shuffle_big_elements(void **state)
{
	enum { N = 50, SZ = 203 };
	unsigned char *a = malloc(N * SZ);
	int seen[N] = {0};

	assert_non_null(a);
	for (int i = 0; i < N; i++)
		memset(a + i * SZ, i, SZ);
	udc_shuffle(a, N, SZ);
	for (int i = 0; i < N; i++) {
		unsigned char v = a[i * SZ];

		assert_true(v < N);
		for (int k = 1; k < SZ; k++)
			assert_int_equal(a[i * SZ + k], v);
		seen[v]++;
	}
	for (int i = 0; i < N; i++)
		assert_int_equal(seen[i], 1);
	free(a);
}

static void
test_shuffle_trivial(void **state)
{
	uint32_t one = 17;
	static const uint32_t w[] = {0};
	struct script s = {w, 0, 0};

	/* No randomness is drawn for n < 2: the script would assert. */
	udc_random_set_source(script_fn, &s);
	udc_shuffle(NULL, 0, 4);
	udc_shuffle(&one, 1, sizeof(one));
	assert_int_equal(one, 17);
}

/*
 * Positions chi-square.  counts[e][p] = how often element e landed in
 * position p.  With both margins fixed by construction the covariance of a
 * random permutation matrix is (I - J/n) (x) (I - J/n) / (n - 1), so the
 * plain Pearson sum is (n / (n - 1)) * chi2 with (n - 1)^2 degrees of
 * freedom; the factor is undone below.
 */
enum { NE = 4, NSHUF = 60000 };
/* chi2 with 9 degrees of freedom exceeds 45 with probability 9.2e-7. */
#define CHI2_LIMIT 45.0

static double
position_chi2(unsigned counts[NE][NE], unsigned nshuf)
{
	double e = (double)nshuf / NE, x = 0;

	for (int i = 0; i < NE; i++)
		for (int j = 0; j < NE; j++)
			x += ((double)counts[i][j] - e) * ((double)counts[i][j] - e) / e;
	return x * (NE - 1) / NE;
}

/* The textbook mistake: swap with a position drawn from the whole array.
 * n^n outcomes cannot spread evenly over n! orders. */
static void
biased_shuffle(unsigned char *a, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		size_t j = randombytes_uniform((uint32_t)n);
		unsigned char t = a[i];

		a[i] = a[j];
		a[j] = t;
	}
}

static void
test_shuffle_chi_square(void **state)
{
	unsigned good[NE][NE] = {{0}}, bad[NE][NE] = {{0}};
	double xg, xb;

	for (unsigned s = 0; s < NSHUF; s++) {
		unsigned char a[NE] = {0, 1, 2, 3}, b[NE] = {0, 1, 2, 3};

		udc_shuffle(a, NE, 1);
		biased_shuffle(b, NE);
		for (int p = 0; p < NE; p++) {
			good[a[p]][p]++;
			bad[b[p]][p]++;
		}
	}
	xg = position_chi2(good, NSHUF);
	xb = position_chi2(bad, NSHUF);
	print_message("chi2 (9 df): udc_shuffle %.2f, biased shuffle %.2f, limit %.1f\n", xg, xb,
	              CHI2_LIMIT);
	assert_true(xg < CHI2_LIMIT);
	/* Expected about 0.75 * 0.0319 * NSHUF = 1430 for the biased one. */
	assert_true(xb > CHI2_LIMIT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_teardown(test_uniform_rejects_low_values, teardown_source),
	    cmocka_unit_test_teardown(test_stream_rejects_low_values, teardown_source),
	    cmocka_unit_test_teardown(test_uniform_range_seeded, teardown_source),
	    cmocka_unit_test_teardown(test_uniform_default_source, teardown_source),
	    cmocka_unit_test_teardown(test_shuffle_is_permutation, teardown_source),
	    cmocka_unit_test_teardown(test_shuffle_reproducible, teardown_source),
	    cmocka_unit_test_teardown(test_shuffle_big_elements, teardown_source),
	    cmocka_unit_test_teardown(test_shuffle_trivial, teardown_source),
	    cmocka_unit_test_teardown(test_shuffle_chi_square, teardown_source),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
