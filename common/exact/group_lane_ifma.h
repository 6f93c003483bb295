/*
 * group_lane_ifma.h - the lane operations of the batch group backend with
 * AVX-512F/IFMA intrinsics: one zmm register holds eight 64-bit lanes.
 *
 * Same names and meaning as group_lane_portable.h.  Included only by
 * group_ifma.c, after it has switched the compiler's target to
 * avx512f+avx512ifma for the rest of that file.
 */
#ifndef UDC_GROUP_LANE_IFMA_H
#define UDC_GROUP_LANE_IFMA_H

#include <stdint.h>
#include <immintrin.h>

#define LV_LANES 8

typedef __m512i lv;

static inline lv
lv_zero(void)
{
	return _mm512_setzero_si512();
}

static inline lv
lv_set1(uint64_t x)
{
	return _mm512_set1_epi64((long long)x);
}

/* Unaligned forms: the test hooks pass arrays of any alignment, and on
 * aligned addresses they cost the same. */
static inline lv
lv_load(const uint64_t *p)
{
	return _mm512_loadu_si512((const void *)p);
}

static inline void
lv_store(uint64_t *p, lv a)
{
	_mm512_storeu_si512((void *)p, a);
}

static inline lv
lv_add(lv a, lv b)
{
	return _mm512_add_epi64(a, b);
}

static inline lv
lv_sub(lv a, lv b)
{
	return _mm512_sub_epi64(a, b);
}

static inline lv
lv_and(lv a, lv b)
{
	return _mm512_and_si512(a, b);
}

static inline lv
lv_or(lv a, lv b)
{
	return _mm512_or_si512(a, b);
}

static inline lv
lv_xor(lv a, lv b)
{
	return _mm512_xor_si512(a, b);
}

static inline lv
lv_andnot(lv a, lv b)
{
	return _mm512_andnot_si512(a, b);
}

static inline lv
lv_eqmask(lv a, lv b)
{
	return _mm512_maskz_mov_epi64(_mm512_cmpeq_epi64_mask(a, b), _mm512_set1_epi64(-1));
}

/* The shift counts are immediates. */
#define lv_srli(a, n) _mm512_srli_epi64((a), (n))
#define lv_slli(a, n) _mm512_slli_epi64((a), (n))

static inline lv
lv_madd52lo(lv acc, lv a, lv b)
{
	return _mm512_madd52lo_epu64(acc, a, b);
}

static inline lv
lv_madd52hi(lv acc, lv a, lv b)
{
	return _mm512_madd52hi_epu64(acc, a, b);
}

static inline void
lv_madd52(lv *lo, lv *hi, lv a, lv b)
{
	*lo = _mm512_madd52lo_epu64(*lo, a, b);
	*hi = _mm512_madd52hi_epu64(*hi, a, b);
}

/* (a & ~m) | (b & m) in one vpternlogq: truth table 0xd8 = m ? b : a. */
static inline lv
lv_blend(lv a, lv b, lv m)
{
	return _mm512_ternarylogic_epi64(a, b, m, 0xd8);
}

#endif
