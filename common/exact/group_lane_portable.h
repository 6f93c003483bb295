/*
 * group_lane_portable.h - the lane operations of the batch group backend in
 * plain C: one loop over eight 64-bit lanes per operation.
 *
 * The same operations as group_lane_ifma.h, with the same meaning bit for
 * bit (madd52lo/hi are AVX-512 IFMA's vpmadd52luq/vpmadd52huq), so that
 * group_core.inc compiled over either header runs the same control flow and
 * touches the same memory.  Every loop has a fixed trip count and no branch
 * on a lane's value: this build is the one valgrind checks for secret-
 * dependent branches and addresses (tests/unit/test_group_ct.c), and the
 * reference the IFMA build is compared with lane by lane.
 * Included only by group_portable.c.
 */
#ifndef UDC_GROUP_LANE_PORTABLE_H
#define UDC_GROUP_LANE_PORTABLE_H

#include <stdint.h>

#define LV_LANES 8

/* Unrolled, the eight lanes of an operation become straight-line code the
 * compiler keeps in registers across operations (gcc -O2 does not unroll
 * them by itself). */
#define LV_PRAGMA(x) _Pragma(#x)
#define LV_UNROLL LV_PRAGMA(GCC unroll 8)

typedef struct {
	uint64_t l[LV_LANES];
} lv;

__extension__ typedef unsigned __int128 lv_u128;

#define LV_M52 0xfffffffffffffULL

static inline lv
lv_zero(void)
{
	lv r;

	LV_UNROLL
	for (int i = 0; i < LV_LANES; i++)
		r.l[i] = 0;
	return r;
}

static inline lv
lv_set1(uint64_t x)
{
	lv r;

	LV_UNROLL
	for (int i = 0; i < LV_LANES; i++)
		r.l[i] = x;
	return r;
}

/* p: LV_LANES words, any alignment. */
static inline lv
lv_load(const uint64_t *p)
{
	lv r;

	LV_UNROLL
	for (int i = 0; i < LV_LANES; i++)
		r.l[i] = p[i];
	return r;
}

static inline void
lv_store(uint64_t *p, lv a)
{
	LV_UNROLL
	for (int i = 0; i < LV_LANES; i++)
		p[i] = a.l[i];
}

#define LV_BINOP(name, expr)                                                                       \
	static inline lv name(lv a, lv b)                                                          \
	{                                                                                          \
		lv r;                                                                              \
		LV_UNROLL                                                                          \
		for (int i = 0; i < LV_LANES; i++)                                                 \
			r.l[i] = (expr);                                                           \
		return r;                                                                          \
	}
LV_BINOP(lv_add, a.l[i] + b.l[i])
LV_BINOP(lv_sub, a.l[i] - b.l[i])
LV_BINOP(lv_and, a.l[i] & b.l[i])
LV_BINOP(lv_or, a.l[i] | b.l[i])
LV_BINOP(lv_xor, a.l[i] ^ b.l[i])
/* ~a & b, as _mm512_andnot_si512. */
LV_BINOP(lv_andnot, ~a.l[i] & b.l[i])
/* All ones in the lanes where a == b, without a branch: z = (x >> 1) | (x & 1)
 * of x = a ^ b is zero only for x == 0 and below 2^63, so (z - 1) >> 63 is
 * 1 exactly when a == b. */
LV_BINOP(lv_eqmask,
         (uint64_t)0 - (((((a.l[i] ^ b.l[i]) >> 1) | ((a.l[i] ^ b.l[i]) & 1)) - 1) >> 63))
#undef LV_BINOP

static inline lv
lv_srli(lv a, int n)
{
	lv r;

	LV_UNROLL
	for (int i = 0; i < LV_LANES; i++)
		r.l[i] = a.l[i] >> n;
	return r;
}

static inline lv
lv_slli(lv a, int n)
{
	lv r;

	LV_UNROLL
	for (int i = 0; i < LV_LANES; i++)
		r.l[i] = a.l[i] << n;
	return r;
}

/* acc + the low 52 bits of the 104-bit product of the low 52 bits of a, b. */
static inline lv
lv_madd52lo(lv acc, lv a, lv b)
{
	lv r;

	LV_UNROLL
	for (int i = 0; i < LV_LANES; i++)
		r.l[i] = acc.l[i] +
		         ((uint64_t)((lv_u128)(a.l[i] & LV_M52) * (b.l[i] & LV_M52)) & LV_M52);
	return r;
}

/* acc + bits 52..103 of the same product. */
static inline lv
lv_madd52hi(lv acc, lv a, lv b)
{
	lv r;

	LV_UNROLL
	for (int i = 0; i < LV_LANES; i++)
		r.l[i] =
		    acc.l[i] + (uint64_t)(((lv_u128)(a.l[i] & LV_M52) * (b.l[i] & LV_M52)) >> 52);
	return r;
}

/* Both at once: *lo += low half, *hi += high half of a b (one product per
 * lane here; two instructions in the IFMA build). */
static inline void
lv_madd52(lv *lo, lv *hi, lv a, lv b)
{
	LV_UNROLL
	for (int i = 0; i < LV_LANES; i++) {
		lv_u128 p = (lv_u128)(a.l[i] & LV_M52) * (b.l[i] & LV_M52);

		lo->l[i] += (uint64_t)p & LV_M52;
		hi->l[i] += (uint64_t)(p >> 52);
	}
}

/* Per lane: b where m is all ones, a where it is zero (m is a mask). */
static inline lv
lv_blend(lv a, lv b, lv m)
{
	lv r;

	LV_UNROLL
	for (int i = 0; i < LV_LANES; i++)
		r.l[i] = (a.l[i] & ~m.l[i]) | (b.l[i] & m.l[i]);
	return r;
}

#endif
