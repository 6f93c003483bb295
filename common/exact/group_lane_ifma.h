/*
 * group_lane_ifma.h - the lane operations of the batch group backend with
 * AVX-512F/IFMA intrinsics: sixteen 64-bit lanes in two zmm registers.
 *
 * Same names and meaning as group_lane_portable.h.  Included only by
 * group_ifma.c, after it has switched the compiler's target to
 * avx512f+avx512ifma for the rest of that file.
 *
 * Why two registers: the field arithmetic is a chain of dependent
 * multiply-adds and carries, so one register's eight lanes wait on the
 * latency of IFMA, not on its throughput.  A chain of squarings took 20 ns
 * per squaring of eight lanes, two chains side by side 10.5 ns, four 9.0 ns
 * (Zen 5, 2026-12-04); fe_pow22523, 250 squarings in a row, is a fifth of a
 * multiplication's work.  Every operation here does the same to both
 * halves, so each step of group_core.inc is two independent chains that
 * the CPU overlaps.  Measured per CPU-second on 4,096 points against the
 * same code on one register: mul 1.10-1.18x, valid 1.45-1.5x, hash_mul
 * 1.13-1.20x, outputs identical.
 */
#ifndef UDC_GROUP_LANE_IFMA_H
#define UDC_GROUP_LANE_IFMA_H

#include <stdint.h>
#include <immintrin.h>

#define LV_LANES 16

typedef struct {
	__m512i a, b; /* lanes 0-7, 8-15 */
} lv;

#define LV_2(expr_a, expr_b)                                                                       \
	do {                                                                                       \
		lv r_;                                                                             \
		r_.a = (expr_a);                                                                   \
		r_.b = (expr_b);                                                                   \
		return r_;                                                                         \
	} while (0)

static inline lv
lv_zero(void)
{
	LV_2(_mm512_setzero_si512(), _mm512_setzero_si512());
}

static inline lv
lv_set1(uint64_t x)
{
	LV_2(_mm512_set1_epi64((long long)x), _mm512_set1_epi64((long long)x));
}

static inline lv
lv_load(const uint64_t *p)
{
	LV_2(_mm512_loadu_si512((const void *)p), _mm512_loadu_si512((const void *)(p + 8)));
}

static inline void
lv_store(uint64_t *p, lv x)
{
	_mm512_storeu_si512((void *)p, x.a);
	_mm512_storeu_si512((void *)(p + 8), x.b);
}

static inline lv
lv_add(lv x, lv y)
{
	LV_2(_mm512_add_epi64(x.a, y.a), _mm512_add_epi64(x.b, y.b));
}

static inline lv
lv_sub(lv x, lv y)
{
	LV_2(_mm512_sub_epi64(x.a, y.a), _mm512_sub_epi64(x.b, y.b));
}

static inline lv
lv_and(lv x, lv y)
{
	LV_2(_mm512_and_si512(x.a, y.a), _mm512_and_si512(x.b, y.b));
}

static inline lv
lv_or(lv x, lv y)
{
	LV_2(_mm512_or_si512(x.a, y.a), _mm512_or_si512(x.b, y.b));
}

static inline lv
lv_xor(lv x, lv y)
{
	LV_2(_mm512_xor_si512(x.a, y.a), _mm512_xor_si512(x.b, y.b));
}

/* ~x & y */
static inline lv
lv_andnot(lv x, lv y)
{
	LV_2(_mm512_andnot_si512(x.a, y.a), _mm512_andnot_si512(x.b, y.b));
}

static inline lv
lv_eqmask(lv x, lv y)
{
	LV_2(_mm512_maskz_mov_epi64(_mm512_cmpeq_epi64_mask(x.a, y.a), _mm512_set1_epi64(-1)),
	     _mm512_maskz_mov_epi64(_mm512_cmpeq_epi64_mask(x.b, y.b), _mm512_set1_epi64(-1)));
}

/* The shift counts are immediates. */
#define lv_srli(x, n) ((lv){.a = _mm512_srli_epi64((x).a, (n)), .b = _mm512_srli_epi64((x).b, (n))})
#define lv_slli(x, n) ((lv){.a = _mm512_slli_epi64((x).a, (n)), .b = _mm512_slli_epi64((x).b, (n))})

static inline lv
lv_madd52lo(lv acc, lv x, lv y)
{
	LV_2(_mm512_madd52lo_epu64(acc.a, x.a, y.a), _mm512_madd52lo_epu64(acc.b, x.b, y.b));
}

static inline lv
lv_madd52hi(lv acc, lv x, lv y)
{
	LV_2(_mm512_madd52hi_epu64(acc.a, x.a, y.a), _mm512_madd52hi_epu64(acc.b, x.b, y.b));
}

static inline void
lv_madd52(lv *lo, lv *hi, lv x, lv y)
{
	*lo = lv_madd52lo(*lo, x, y);
	*hi = lv_madd52hi(*hi, x, y);
}

/* (x & ~m) | (y & m): vpternlogq, truth table 0xd8 = m ? y : x. */
static inline lv
lv_blend(lv x, lv y, lv m)
{
	LV_2(_mm512_ternarylogic_epi64(x.a, y.a, m.a, 0xd8),
	     _mm512_ternarylogic_epi64(x.b, y.b, m.b, 0xd8));
}

/*
 * The test hooks (group_core.inc, struct udc_group_lanes) pass arrays of
 * UDC_GROUP_LANES = 8 values: both halves get the same eight, and the
 * first half's results are returned, so that every operation above runs
 * as the backend runs it.
 */
#define LV_HOOK_LANES 8

static inline lv
lv_hook_load(const uint64_t *p)
{
	LV_2(_mm512_loadu_si512((const void *)p), _mm512_loadu_si512((const void *)p));
}

static inline void
lv_hook_store(uint64_t *p, lv x)
{
	_mm512_storeu_si512((void *)p, x.a);
}

#endif
