/*
 * test_dice.c - every Dice code path against a bit-by-bit reference.
 *
 * Each path (portable, popcnt, avx2, avx512-vpopcntdq) is one test, run on
 * random filters of many lengths (including lengths that are not multiples
 * of 64, 256 or 512 bits, so every tail loop and mask is exercised) and on
 * the empty and full filters.  A path this CPU cannot run is reported as
 * skipped with the reason, never passed.  Filters are allocated at their
 * exact size so that a kernel reading past the end shows up under
 * valgrind or ASan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dice.h"
#include "err.h"

static const size_t lengths[] = {1,   7,   63,  64,   65,   127,  200,  256,  300,  511, 512,
                                 513, 777, 960, 1000, 1024, 1030, 1536, 2048, 2100, 4133};

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

/* xorshift64*: reproducible filters without touching the project's RNG */
static uint64_t
rnd(void)
{
	rng_state ^= rng_state >> 12;
	rng_state ^= rng_state << 25;
	rng_state ^= rng_state >> 27;
	return rng_state * 0x2545f4914f6cdd1dull;
}

/* density: 0 = empty, 1..7 = bits set with probability about d/8, 8 = full */
static void
fill(uint64_t *w, size_t nbits, int density)
{
	size_t nw = udc_dice_nwords(nbits), i;

	for (i = 0; i < nw; i++) {
		uint64_t v = 0;
		int k;
		if (density >= 8)
			v = ~0ull;
		else
			for (k = 0; k < density; k++)
				v |= rnd() & rnd() & rnd() ? rnd() : rnd() & rnd();
		w[i] = v;
	}
	if (nbits % 64)
		w[nw - 1] &= (1ull << (nbits % 64)) - 1;
}

static uint32_t
ref_pop(const uint64_t *a, size_t nbits)
{
	uint32_t c = 0;
	size_t i;

	for (i = 0; i < nbits; i++)
		c += (a[i / 64] >> (i % 64)) & 1;
	return c;
}

static uint32_t
ref_and(const uint64_t *a, const uint64_t *b, size_t nbits)
{
	uint32_t c = 0;
	size_t i;

	for (i = 0; i < nbits; i++)
		c += (a[i / 64] >> (i % 64)) & (b[i / 64] >> (i % 64)) & 1;
	return c;
}

static double
ref_dice(const uint64_t *a, const uint64_t *b, size_t nbits)
{
	uint32_t pa = ref_pop(a, nbits), pb = ref_pop(b, nbits);

	return pa + pb == 0 ? 0.0 : 2.0 * ref_and(a, b, nbits) / (double)(pa + pb);
}

static void
check_path(enum udc_dice_impl impl)
{
	size_t li, n = 37, i;
	int d;

	if (!udc_dice_supported(impl)) {
		print_message("[  SKIP    ] path %s: not supported by this CPU/OS "
		              "(__builtin_cpu_supports)\n",
		              udc_dice_impl_name(impl));
		skip();
	}
	assert_int_equal(udc_dice_select(impl), 0);
	assert_int_equal(udc_dice_selected(), impl);

	for (li = 0; li < sizeof(lengths) / sizeof(lengths[0]); li++) {
		size_t nbits = lengths[li], nw = udc_dice_nwords(nbits);
		uint64_t *q = malloc(nw * sizeof(*q));
		uint64_t *f = malloc(n * nw * sizeof(*f));
		uint32_t *pops = malloc(n * sizeof(*pops)), *cnt = malloc(n * sizeof(*cnt));
		double *sc = malloc(n * sizeof(*sc));

		assert_non_null(q);
		assert_non_null(f);
		assert_non_null(pops);
		assert_non_null(cnt);
		assert_non_null(sc);
		for (d = 0; d <= 8; d++) {
			uint32_t qpop;
			fill(q, nbits, d);
			for (i = 0; i < n; i++)
				fill(f + i * nw, nbits, (int)((i + (size_t)d) % 9));
			qpop = udc_dice_popcount(q, nw);
			assert_int_equal(qpop, ref_pop(q, nbits));
			udc_dice_popcounts(f, n, nw, pops);
			udc_dice_and_counts(q, f, n, nw, cnt);
			udc_dice_scores(q, qpop, f, pops, n, nw, sc);
			for (i = 0; i < n; i++) {
				const uint64_t *fi = f + i * nw;
				if (pops[i] != ref_pop(fi, nbits) ||
				    cnt[i] != ref_and(q, fi, nbits) ||
				    sc[i] != ref_dice(q, fi, nbits) ||
				    udc_dice_and_count(q, fi, nw) != cnt[i] ||
				    udc_dice(q, fi, nw) != sc[i])
					fail_msg("%s: %zu bits, density %d, filter %zu: pop %u/%u "
					         "and %u/%u",
					         udc_dice_impl_name(impl), nbits, d, i, pops[i],
					         ref_pop(fi, nbits), cnt[i], ref_and(q, fi, nbits));
			}
		}
		free(q);
		free(f);
		free(pops);
		free(cnt);
		free(sc);
	}
	/* edge cases: nothing to compare, both empty, identical */
	{
		uint64_t z[16] = {0}, o[16];
		double s;
		memset(o, 0xff, sizeof(o));
		udc_dice_and_counts(z, z, 0, 16, NULL);
		assert_true(udc_dice(z, z, 16) == 0.0);
		assert_true(udc_dice(o, o, 16) == 1.0);
		assert_true(udc_dice(z, o, 16) == 0.0);
		udc_dice_scores(o, 1024, o, (const uint32_t[]){1024}, 1, 16, &s);
		assert_true(s == 1.0);
	}
	assert_int_equal(udc_dice_select(UDC_DICE_AUTO), 0);
}

static void
test_portable(void **state)
{
	(void)state;
	check_path(UDC_DICE_PORTABLE);
}

static void
test_popcnt(void **state)
{
	(void)state;
	check_path(UDC_DICE_POPCNT);
}

static void
test_avx2(void **state)
{
	(void)state;
	check_path(UDC_DICE_AVX2);
}

static void
test_avx512(void **state)
{
	(void)state;
	check_path(UDC_DICE_AVX512);
}

static void
test_dispatch(void **state)
{
	int i, best = UDC_DICE_PORTABLE;
	(void)state;

	for (i = UDC_DICE_PORTABLE; i < UDC_DICE_NIMPL; i++) {
		print_message("path %-17s %s\n", udc_dice_impl_name((enum udc_dice_impl)i),
		              udc_dice_supported((enum udc_dice_impl)i) ? "supported"
		                                                        : "not supported");
		if (udc_dice_supported((enum udc_dice_impl)i))
			best = i;
	}
	assert_int_equal(udc_dice_select(UDC_DICE_AUTO), 0);
	assert_int_equal(udc_dice_selected(), best);
	assert_int_equal(udc_dice_select((enum udc_dice_impl)99), UDC_EINVAL);
	assert_int_equal(udc_dice_selected(), best);
}

static void
test_words_from_bytes(void **state)
{
	/* a 1024-bit CLK as bytes and as words have the same popcounts and
	 * Dice; bytes beyond the buffer are zero */
	uint8_t a[128], b[128];
	uint64_t wa[17], wb[17];
	size_t i;
	uint32_t pa = 0, pb = 0, ab = 0;
	(void)state;

	for (i = 0; i < sizeof(a); i++) {
		a[i] = (uint8_t)rnd();
		b[i] = (uint8_t)rnd();
		pa += (uint32_t)__builtin_popcount(a[i]);
		pb += (uint32_t)__builtin_popcount(b[i]);
		ab += (uint32_t)__builtin_popcount(a[i] & b[i]);
	}
	memset(wa, 0xaa, sizeof(wa));
	udc_dice_words_from_bytes(a, sizeof(a), wa, 17);
	udc_dice_words_from_bytes(b, sizeof(b), wb, 17);
	assert_int_equal(wa[16], 0);
	assert_int_equal(udc_dice_popcount(wa, 17), pa);
	assert_int_equal(udc_dice_popcount(wb, 17), pb);
	assert_int_equal(udc_dice_and_count(wa, wb, 17), ab);
	assert_true(udc_dice(wa, wb, 16) == udc_dice_from_counts(ab, pa, pb));
	/* bit 0 of the CLK is the top bit of byte 0 */
	udc_dice_words_from_bytes((const uint8_t[]){0x80, 0x01}, 2, wa, 1);
	assert_int_equal(wa[0], 0x0180);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_dispatch), cmocka_unit_test(test_portable),
	    cmocka_unit_test(test_popcnt),   cmocka_unit_test(test_avx2),
	    cmocka_unit_test(test_avx512),   cmocka_unit_test(test_words_from_bytes),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
