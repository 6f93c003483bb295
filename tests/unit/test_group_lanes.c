/*
 * test_group_lanes.c - the vector builds of the batch group backend below
 * the level of points: lane operations and field arithmetic.
 *
 * Usage: test_group_lanes portable|ifma|ifma256.
 *  - Field arithmetic of that build (add, sub, mul, square, doubled square,
 *    negation, full reduction, the (p-5)/8 power, SQRT_RATIO_M1) against a
 *    plain bignum reference written here, on random tight inputs and on the
 *    edges of the bounds the code relies on (limbs of 2^52 - 1, multiples of
 *    p up to 2^260): every output must be tight, and equal mod p.
 *  - ifma, ifma256: every lane operation of the IFMA build against the portable
 *    build on random 64-bit inputs (madd52 inputs above 52 bits included),
 *    and every field operation bit for bit.  Where the CPU has no AVX-512
 *    IFMA this exits 77 (ctest: skipped) after saying so.
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

#include "group_batch.h"
#include "group_impl.h"

__extension__ typedef unsigned __int128 u128;

#define M52 0xfffffffffffffULL
#define LANES UDC_GROUP_LANES

static const struct udc_group_lanes *T; /* the build under test */

static uint64_t
rnd64(void)
{
	uint64_t x;

	randombytes_buf(&x, sizeof(x));
	return x;
}

/*
 * The reference: numbers as little-endian 64-bit words, reduced mod
 * p = 2^255 - 19 by folding 2^255 = 19 until below 2^255, then subtracting p.
 */
typedef uint64_t ref[4];

static const ref P = {0xffffffffffffffedULL, 0xffffffffffffffffULL, 0xffffffffffffffffULL,
                      0x7fffffffffffffffULL};

/* w: nw words (nw <= 9), reduced mod p into r. */
static void
ref_reduce(ref r, const uint64_t *w, size_t nw)
{
	uint64_t t[9] = {0};

	memcpy(t, w, nw * 8);
	for (;;) {
		uint64_t hi[9] = {0}, carry = 0;
		int any = 0;

		/* hi = t >> 255, t = t mod 2^255 */
		for (size_t i = 3; i < 9; i++) {
			hi[i - 3] = (t[i] >> 63) | (i + 1 < 9 ? t[i + 1] << 1 : 0);
			any |= hi[i - 3] != 0;
		}
		t[3] &= 0x7fffffffffffffffULL;
		for (size_t i = 4; i < 9; i++)
			t[i] = 0;
		if (!any)
			break;
		/* t += 19 hi */
		for (size_t i = 0; i < 9; i++) {
			u128 x = (u128)t[i] + (u128)hi[i] * 19 + carry;

			t[i] = (uint64_t)x;
			carry = (uint64_t)(x >> 64);
		}
	}
	/* below 2^255 = p + 19: at most one p to subtract */
	{
		uint64_t d[4], borrow = 0;

		for (int i = 0; i < 4; i++) {
			u128 x = (u128)t[i] - P[i] - borrow;

			d[i] = (uint64_t)x;
			borrow = (uint64_t)(x >> 64) & 1;
		}
		memcpy(r, borrow ? t : d, sizeof(ref));
	}
}

static void
ref_mul(ref r, const ref a, const ref b)
{
	uint64_t w[9] = {0};

	for (int i = 0; i < 4; i++) {
		uint64_t carry = 0;

		for (int j = 0; j < 4; j++) {
			u128 x = (u128)a[i] * b[j] + w[i + j] + carry;

			w[i + j] = (uint64_t)x;
			carry = (uint64_t)(x >> 64);
		}
		w[i + 4] = carry;
	}
	ref_reduce(r, w, 8);
}

static void
ref_add(ref r, const ref a, const ref b)
{
	uint64_t w[5], carry = 0;

	for (int i = 0; i < 4; i++) {
		u128 x = (u128)a[i] + b[i] + carry;

		w[i] = (uint64_t)x;
		carry = (uint64_t)(x >> 64);
	}
	w[4] = carry;
	ref_reduce(r, w, 5);
}

/* a - b for reduced a, b: a + p - b. */
static void
ref_sub(ref r, const ref a, const ref b)
{
	uint64_t w[5], carry = 0, borrow = 0;

	for (int i = 0; i < 4; i++) {
		u128 x = (u128)a[i] + P[i] + carry;

		w[i] = (uint64_t)x;
		carry = (uint64_t)(x >> 64);
	}
	w[4] = carry;
	for (int i = 0; i < 5; i++) {
		u128 x = (u128)w[i] - (i < 4 ? b[i] : 0) - borrow;

		w[i] = (uint64_t)x;
		borrow = (uint64_t)(x >> 64) & 1;
	}
	ref_reduce(r, w, 5);
}

/* a^e, e given as four words, by square and multiply (variable time: fine
 * for a test). */
static void
ref_pow(ref r, const ref a, const ref e)
{
	ref acc = {1, 0, 0, 0};

	for (int bit = 255; bit >= 0; bit--) {
		ref_mul(acc, acc, acc);
		if ((e[bit / 64] >> (bit % 64)) & 1)
			ref_mul(acc, acc, a);
	}
	memcpy(r, acc, sizeof(ref));
}

static int
ref_eq(const ref a, const ref b)
{
	return memcmp(a, b, sizeof(ref)) == 0;
}

/* Lane i of a radix-2^52 element, reduced. */
static void
ref_from_fe(ref r, const udc_fe a, int lane)
{
	uint64_t w[5] = {0};

	for (int k = 0; k < 5; k++) {
		unsigned bit = 52u * (unsigned)k;
		uint64_t v = a[k][lane];

		w[bit / 64] |= v << (bit % 64);
		if (bit % 64 != 0 && bit / 64 + 1 < 5)
			w[bit / 64 + 1] |= v >> (64 - bit % 64);
	}
	ref_reduce(r, w, 5);
}

static void
assert_tight(const udc_fe a, const char *what)
{
	for (int k = 0; k < 5; k++) {
		for (int i = 0; i < LANES; i++) {
			if (a[k][i] > M52) {
				fprintf(stderr, "%s: limb %d lane %d = %#llx is not below 2^52\n",
				        what, k, i, (unsigned long long)a[k][i]);
				fail();
			}
		}
	}
}

/* 52 bits of the 5-word number w from bit start on. */
static uint64_t
bits52(const uint64_t w[5], unsigned start)
{
	uint64_t v = w[start / 64] >> (start % 64);

	if (start % 64 > 12 && start / 64 + 1 < 5)
		v |= w[start / 64 + 1] << (64 - start % 64);
	return v & M52;
}

/*
 * Inputs: tight elements whose limbs come from the edges of the bounds or
 * at random, and multiples of p (up to 2^260, kp +- a little).
 */
static uint64_t
edge_limb(int k)
{
	static const uint64_t edges[] = {0,
	                                 1,
	                                 2,
	                                 19,
	                                 M52,
	                                 M52 - 1,
	                                 M52 - 18,
	                                 1ULL << 51,
	                                 (1ULL << 51) - 1,
	                                 (1ULL << 47) - 1,
	                                 1ULL << 47,
	                                 (1ULL << 48) - 1};
	uint64_t r = rnd64();

	(void)k;
	switch (r & 3) {
	case 0:
		return edges[(r >> 2) % (sizeof(edges) / sizeof(edges[0]))];
	case 1:
		return (r >> 8) & 0xff; /* small */
	default:
		return (r >> 12) & M52;
	}
}

static void
fill_fe(udc_fe a, int kind)
{
	for (int i = 0; i < LANES; i++) {
		if (kind == 0) {
			for (int k = 0; k < 5; k++)
				a[k][i] = edge_limb(k);
		} else if (kind == 1) {
			for (int k = 0; k < 5; k++)
				a[k][i] = rnd64() & M52;
		} else {
			/* m p + d, m in [0, 32], d in [-2, 2]: below 2^260 */
			uint64_t r = rnd64(), m = r % 33, w[5], carry = 0;
			int64_t d = (int64_t)((r >> 8) % 5) - 2;

			if (m == 0 && d < 0)
				d = -d;
			for (int j = 0; j < 4; j++) {
				u128 x = (u128)P[j] * m + carry;

				w[j] = (uint64_t)x;
				carry = (uint64_t)(x >> 64);
			}
			w[4] = carry;
			for (int j = 0; j < 5 && d != 0; j++) {
				/* add or subtract |d|, with carry or borrow */
				u128 x =
				    d > 0 ? (u128)w[j] + (uint64_t)d : (u128)w[j] - (uint64_t)-d;

				w[j] = (uint64_t)x;
				d = (x >> 64) == 0 ? 0 : (d > 0 ? 1 : -1);
			}
			for (int k = 0; k < 5; k++)
				a[k][i] = bits52(w, 52u * (unsigned)k);
		}
	}
}

static const char *const fop2_names[UDC_FOP_N] = {"add", "sub", "mul"};
static const char *const fop1_names[UDC_FOP1_N] = {"sq", "sq2", "neg", "canon", "pow22523"};

static void
ref_fop2(ref r, const ref a, const ref b, int op)
{
	switch (op) {
	case UDC_FOP_ADD:
		ref_add(r, a, b);
		break;
	case UDC_FOP_SUB:
		ref_sub(r, a, b);
		break;
	default:
		ref_mul(r, a, b);
		break;
	}
}

static void
ref_fop1(ref r, const ref a, int op)
{
	static const ref zero = {0};
	ref e, t;

	switch (op) {
	case UDC_FOP1_SQ:
		ref_mul(r, a, a);
		break;
	case UDC_FOP1_SQ2:
		ref_mul(t, a, a);
		ref_add(r, t, t);
		break;
	case UDC_FOP1_NEG:
		ref_sub(r, zero, a);
		break;
	case UDC_FOP1_CANON:
		memcpy(r, a, sizeof(ref));
		break;
	default:
		/* (p - 5) / 8 = 2^252 - 3 */
		e[0] = 0xfffffffffffffffdULL;
		e[1] = e[2] = ~0ULL;
		e[3] = 0x0fffffffffffffffULL;
		ref_pow(r, a, e);
		break;
	}
}

static void
test_field(void **state)
{
	enum { ROUNDS = 3000 };
	udc_fe a, b, r;
	ref x, y, want, got;

	for (int round = 0; round < ROUNDS; round++) {
		fill_fe(a, round % 3);
		fill_fe(b, (round / 3) % 3);
		for (int op = 0; op < UDC_FOP_N; op++) {
			T->fe2[op](r, (const uint64_t(*)[LANES])a, (const uint64_t(*)[LANES])b);
			assert_tight((const uint64_t(*)[LANES])r, fop2_names[op]);
			for (int i = 0; i < LANES; i++) {
				ref_from_fe(x, (const uint64_t(*)[LANES])a, i);
				ref_from_fe(y, (const uint64_t(*)[LANES])b, i);
				ref_fop2(want, x, y, op);
				ref_from_fe(got, (const uint64_t(*)[LANES])r, i);
				if (!ref_eq(want, got)) {
					fprintf(stderr, "fe %s: lane %d wrong (round %d)\n",
					        fop2_names[op], i, round);
					fail();
				}
			}
		}
		/* pow22523 is 260 operations deep: every tenth round */
		for (int op = 0; op < (round % 10 == 0 ? UDC_FOP1_N : UDC_FOP1_POW22523); op++) {
			T->fe1[op](r, (const uint64_t(*)[LANES])a);
			assert_tight((const uint64_t(*)[LANES])r, fop1_names[op]);
			for (int i = 0; i < LANES; i++) {
				ref_from_fe(x, (const uint64_t(*)[LANES])a, i);
				ref_fop1(want, x, op);
				ref_from_fe(got, (const uint64_t(*)[LANES])r, i);
				if (!ref_eq(want, got)) {
					fprintf(stderr, "fe %s: lane %d wrong (round %d)\n",
					        fop1_names[op], i, round);
					fail();
				}
				if (op == UDC_FOP1_CANON) {
					/* fully reduced: limbs of the value below p */
					uint64_t w[5] = {0};

					assert_true(r[4][i] < (1ULL << 47));
					for (int k = 0; k < 5; k++) {
						unsigned bit = 52u * (unsigned)k;

						w[bit / 64] |= r[k][i] << (bit % 64);
						if (bit % 64 != 0 && bit / 64 + 1 < 5)
							w[bit / 64 + 1] |=
							    r[k][i] >> (64 - bit % 64);
					}
					assert_true(w[4] == 0);
					assert_memory_equal(w, want, sizeof(ref));
				}
			}
		}
	}
}

/* SQRT_RATIO_M1 (RFC 9496 4.2) by its defining properties, with the
 * reference: was_square iff u = 0 or (v != 0 and u/v is a square); x even;
 * v x^2 = u when square, = i u when not (and v != 0); x = 0 when v = 0. */
static void
test_sqrt_ratio(void **state)
{
	static const ref zero = {0};
	ref euler = {0}, i_ref = {0};
	udc_fe u, v, x;
	udc_lv was;
	ref ur, vr, xr, t, q, vinv, pm2;

	/* (p - 1) / 2 = 2^254 - 10; p - 2; sqrt(-1) = 2^((p-1)/4) */
	euler[0] = 0xfffffffffffffff6ULL;
	euler[1] = euler[2] = ~0ULL;
	euler[3] = 0x3fffffffffffffffULL;
	memcpy(pm2, P, sizeof(ref));
	pm2[0] -= 2;
	{
		ref two = {2, 0, 0, 0}, e = {0};

		/* (p - 1) / 4 = 2^253 - 5 */
		e[0] = 0xfffffffffffffffbULL;
		e[1] = e[2] = ~0ULL;
		e[3] = 0x1fffffffffffffffULL;
		ref_pow(i_ref, two, e);
	}
	for (int round = 0; round < 120; round++) {
		fill_fe(u, round % 3);
		fill_fe(v, (round + 1) % 3);
		if (round % 7 == 0)
			memset(u, 0, sizeof(u));
		if (round % 11 == 0)
			for (int k = 0; k < 5; k++)
				v[k][round % LANES] = 0;
		T->sqrt_ratio(x, was, (const uint64_t(*)[LANES])u, (const uint64_t(*)[LANES])v);
		assert_tight((const uint64_t(*)[LANES])x, "sqrt_ratio");
		for (int i = 0; i < LANES; i++) {
			int square;

			ref_from_fe(ur, (const uint64_t(*)[LANES])u, i);
			ref_from_fe(vr, (const uint64_t(*)[LANES])v, i);
			ref_from_fe(xr, (const uint64_t(*)[LANES])x, i);
			assert_true(was[i] == 0 || was[i] == ~0ULL);
			assert_int_equal(xr[0] & 1, 0); /* non-negative */
			if (ref_eq(ur, zero)) {
				assert_true(was[i] == ~0ULL);
				assert_true(ref_eq(xr, zero));
				continue;
			}
			if (ref_eq(vr, zero)) {
				assert_true(was[i] == 0);
				assert_true(ref_eq(xr, zero));
				continue;
			}
			ref_pow(vinv, vr, pm2);
			ref_mul(q, ur, vinv);
			ref_pow(t, q, euler);
			square = t[0] == 1 && t[1] == 0 && t[2] == 0 && t[3] == 0;
			assert_int_equal(was[i] != 0, square);
			ref_mul(t, xr, xr);
			ref_mul(t, t, vr); /* v x^2 */
			if (square) {
				assert_true(ref_eq(t, ur));
			} else {
				ref_mul(q, ur, i_ref);
				assert_true(ref_eq(t, q));
			}
		}
	}
}

/*
 * IFMA against portable.
 */
static void
fill_lv(udc_lv a)
{
	for (int i = 0; i < LANES; i++) {
		uint64_t r = rnd64();

		switch (rnd64() & 7) {
		case 0:
			a[i] = 0;
			break;
		case 1:
			a[i] = ~0ULL;
			break;
		case 2:
			a[i] = r & M52;
			break;
		case 3:
			a[i] = M52;
			break;
		default:
			a[i] = r;
			break;
		}
	}
}

static void
test_lanes_vs_portable(void **state)
{
	static const int counts[] = UDC_LSHIFTS;
	const struct udc_group_lanes *P8 = &udc_group_portable_lanes;
	udc_lv a, b, c, m, r1, r2;

	for (int round = 0; round < 20000; round++) {
		fill_lv(a);
		fill_lv(b);
		fill_lv(c);
		if (round & 1)
			memcpy(b, a, 4 * sizeof(uint64_t)); /* equal lanes for eqmask */
		for (int i = 0; i < LANES; i++)
			m[i] = (round & 2) ? rnd64() : ((rnd64() & 1) ? ~0ULL : 0);
		for (int op = 0; op < UDC_LOP_N; op++) {
			P8->op2[op](r1, a, b);
			T->op2[op](r2, a, b);
			assert_memory_equal(r1, r2, sizeof(udc_lv));
		}
		P8->madd52lo(r1, c, a, b);
		T->madd52lo(r2, c, a, b);
		assert_memory_equal(r1, r2, sizeof(udc_lv));
		P8->madd52hi(r1, c, a, b);
		T->madd52hi(r2, c, a, b);
		assert_memory_equal(r1, r2, sizeof(udc_lv));
		P8->blend(r1, a, b, m);
		T->blend(r2, a, b, m);
		assert_memory_equal(r1, r2, sizeof(udc_lv));
		P8->set1(r1, a[0]);
		T->set1(r2, a[0]);
		assert_memory_equal(r1, r2, sizeof(udc_lv));
		for (size_t k = 0; k < sizeof(counts) / sizeof(counts[0]); k++) {
			for (int left = 0; left < 2; left++) {
				P8->shift(r1, a, left, counts[k]);
				T->shift(r2, a, left, counts[k]);
				assert_memory_equal(r1, r2, sizeof(udc_lv));
			}
		}
	}
}

static void
test_field_vs_portable(void **state)
{
	const struct udc_group_lanes *P8 = &udc_group_portable_lanes;
	udc_fe a, b, r1, r2;
	udc_lv w1, w2;

	for (int round = 0; round < 3000; round++) {
		fill_fe(a, round % 3);
		fill_fe(b, (round / 3) % 3);
		for (int op = 0; op < UDC_FOP_N; op++) {
			P8->fe2[op](r1, (const uint64_t(*)[LANES])a, (const uint64_t(*)[LANES])b);
			T->fe2[op](r2, (const uint64_t(*)[LANES])a, (const uint64_t(*)[LANES])b);
			assert_memory_equal(r1, r2, sizeof(udc_fe));
		}
		for (int op = 0; op < (round % 10 == 0 ? UDC_FOP1_N : UDC_FOP1_POW22523); op++) {
			P8->fe1[op](r1, (const uint64_t(*)[LANES])a);
			T->fe1[op](r2, (const uint64_t(*)[LANES])a);
			assert_memory_equal(r1, r2, sizeof(udc_fe));
		}
		if (round % 10 == 0) {
			P8->sqrt_ratio(r1, w1, (const uint64_t(*)[LANES])a,
			               (const uint64_t(*)[LANES])b);
			T->sqrt_ratio(r2, w2, (const uint64_t(*)[LANES])a,
			              (const uint64_t(*)[LANES])b);
			assert_memory_equal(r1, r2, sizeof(udc_fe));
			assert_memory_equal(w1, w2, sizeof(udc_lv));
		}
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
	const struct CMUnitTest field_tests[] = {
	    cmocka_unit_test(test_field),
	    cmocka_unit_test(test_sqrt_ratio),
	};
	const struct CMUnitTest ifma_tests[] = {
	    cmocka_unit_test(test_lanes_vs_portable),
	    cmocka_unit_test(test_field_vs_portable),
	};
	int b, rv;

	if (argc != 2 || udc_group_backend_parse(argv[1], &b) != 0 ||
	    (b != UDC_GROUP_PORTABLE && b != UDC_GROUP_IFMA && b != UDC_GROUP_IFMA256)) {
		fprintf(stderr, "usage: test_group_lanes portable|ifma|ifma256\n");
		return 2;
	}
	if (!udc_group_backend_runs(b)) {
		printf("test_group_lanes: %s NOT RUN: this CPU (or its OS) does not execute "
		       "AVX-512F + AVX-512 IFMA%s, so the IFMA lane operations cannot be compared "
		       "with the portable ones here\n",
		       argv[1], b == UDC_GROUP_IFMA256 ? " + AVX-512VL" : "");
		return 77;
	}
	if (b == UDC_GROUP_IFMA)
		T = &udc_group_ifma_lanes;
	else if (b == UDC_GROUP_IFMA256)
		T = &udc_group_ifma256_lanes;
	else
		T = &udc_group_portable_lanes;
	printf("test_group_lanes: %s build, field arithmetic against a bignum reference%s\n",
	       T->name,
	       b != UDC_GROUP_PORTABLE ? ", lanes and field against the portable build" : "");
	rv = cmocka_run_group_tests_name("field", field_tests, setup, NULL);
	if (b != UDC_GROUP_PORTABLE)
		rv |= cmocka_run_group_tests_name("ifma-vs-portable", ifma_tests, setup, NULL);
	return rv;
}
