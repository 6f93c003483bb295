/*
 * group_lane_ifma256.h - the lane operations of the batch group backend with
 * 256-bit AVX-512VL/IFMA intrinsics: eight 64-bit lanes in two ymm registers.
 *
 * Same names and meaning as group_lane_portable.h.  The same work as the
 * 512-bit build in twice the instructions of half the width: on CPUs that
 * split 512-bit operations (Zen 4) or lower their clock for them (Ice Lake
 * and Skylake servers) it can be the faster one; bench_blind shows both.
 * Included only by group_ifma256.c, after it has switched the compiler's
 * target to avx512f+avx512vl+avx512ifma for the rest of that file.
 */
#ifndef UDC_GROUP_LANE_IFMA256_H
#define UDC_GROUP_LANE_IFMA256_H

#include <stdint.h>
#include <immintrin.h>

#define LV_LANES 8

typedef struct {
	__m256i a, b; /* lanes 0-3, 4-7 */
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
	LV_2(_mm256_setzero_si256(), _mm256_setzero_si256());
}

static inline lv
lv_set1(uint64_t x)
{
	LV_2(_mm256_set1_epi64x((long long)x), _mm256_set1_epi64x((long long)x));
}

static inline lv
lv_load(const uint64_t *p)
{
	LV_2(_mm256_loadu_si256((const __m256i *)p), _mm256_loadu_si256((const __m256i *)(p + 4)));
}

static inline void
lv_store(uint64_t *p, lv x)
{
	_mm256_storeu_si256((__m256i *)p, x.a);
	_mm256_storeu_si256((__m256i *)(p + 4), x.b);
}

static inline lv
lv_add(lv x, lv y)
{
	LV_2(_mm256_add_epi64(x.a, y.a), _mm256_add_epi64(x.b, y.b));
}

static inline lv
lv_sub(lv x, lv y)
{
	LV_2(_mm256_sub_epi64(x.a, y.a), _mm256_sub_epi64(x.b, y.b));
}

static inline lv
lv_and(lv x, lv y)
{
	LV_2(_mm256_and_si256(x.a, y.a), _mm256_and_si256(x.b, y.b));
}

static inline lv
lv_or(lv x, lv y)
{
	LV_2(_mm256_or_si256(x.a, y.a), _mm256_or_si256(x.b, y.b));
}

static inline lv
lv_xor(lv x, lv y)
{
	LV_2(_mm256_xor_si256(x.a, y.a), _mm256_xor_si256(x.b, y.b));
}

/* ~x & y */
static inline lv
lv_andnot(lv x, lv y)
{
	LV_2(_mm256_andnot_si256(x.a, y.a), _mm256_andnot_si256(x.b, y.b));
}

static inline lv
lv_eqmask(lv x, lv y)
{
	LV_2(_mm256_cmpeq_epi64(x.a, y.a), _mm256_cmpeq_epi64(x.b, y.b));
}

/* The shift counts are immediates. */
#define lv_srli(x, n) ((lv){.a = _mm256_srli_epi64((x).a, (n)), .b = _mm256_srli_epi64((x).b, (n))})
#define lv_slli(x, n) ((lv){.a = _mm256_slli_epi64((x).a, (n)), .b = _mm256_slli_epi64((x).b, (n))})

static inline lv
lv_madd52lo(lv acc, lv x, lv y)
{
	LV_2(_mm256_madd52lo_epu64(acc.a, x.a, y.a), _mm256_madd52lo_epu64(acc.b, x.b, y.b));
}

static inline lv
lv_madd52hi(lv acc, lv x, lv y)
{
	LV_2(_mm256_madd52hi_epu64(acc.a, x.a, y.a), _mm256_madd52hi_epu64(acc.b, x.b, y.b));
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
	LV_2(_mm256_ternarylogic_epi64(x.a, y.a, m.a, 0xd8),
	     _mm256_ternarylogic_epi64(x.b, y.b, m.b, 0xd8));
}

#endif
