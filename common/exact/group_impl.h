/*
 * group_impl.h - what each backend of the batch group operations provides.
 *
 * Internal to group_batch.c, the backends (group_portable.c, group_ifma.c,
 * the libsodium loop in group_batch.c) and their tests.  A backend works on
 * up to its `lanes` points per call (UDC_GROUP_LANES if it leaves that 0;
 * sixteen for ifma); group_batch.c cuts longer arrays into such groups,
 * prepares the scalar and picks the backend.
 */
#ifndef UDC_GROUP_IMPL_H
#define UDC_GROUP_IMPL_H

#include <stddef.h>
#include <stdint.h>

#define UDC_GROUP_LANES 8

/*
 * A scalar prepared for one call.  Secret: lives on the caller's stack for
 * the call and is wiped by the caller (sodium_memzero) right after.
 */
struct udc_group_key {
	uint8_t s[32]; /* the scalar with bit 255 cleared, as crypto_scalarmult_ristretto255 */
	int8_t e[64];  /* s in signed radix 16: s = sum e[i] 16^i, each e[i] in [-8, 8] */
};

/*
 * Fills k from the 32-byte scalar s: bit 255 cleared, then signed radix-16
 * digits.  Arithmetic only, no branch or index on the scalar.  Here rather
 * than in group_batch.c so that the freestanding payload of the emulated
 * IFMA test (tests/unit/group_emu/) recodes exactly as udclink does.
 */
static inline void
udc_group_key_prepare(struct udc_group_key *k, const uint8_t s[32])
{
	int carry = 0;

	for (int i = 0; i < 32; i++)
		k->s[i] = s[i];
	k->s[31] &= 0x7f;
	for (int i = 0; i < 32; i++) {
		k->e[2 * i] = (int8_t)(k->s[i] & 15);
		k->e[2 * i + 1] = (int8_t)(k->s[i] >> 4);
	}
	/* Digits 0..15 to -8..7 with a carry into the next; the top digit is
	 * at most 7 + 1 since bit 255 is clear.  No branch on the digits. */
	for (int i = 0; i < 63; i++) {
		int x = k->e[i] + carry;

		carry = (x + 8) >> 4;
		k->e[i] = (int8_t)(x - carry * 16);
	}
	k->e[63] = (int8_t)(k->e[63] + carry);
}

/*
 * Whether this CPU and OS run the IFMA builds, from the raw registers:
 * CPUID leaf 7 present (max_leaf), OSXSAVE (CPUID.1:ECX bit 27), XCR0 bits
 * 1, 2, 5, 6, 7 (the OS saves the SSE, AVX, opmask and zmm state; without
 * that the instructions fault on a CPU that has them), AVX-512F and IFMA
 * (CPUID.7.0:EBX bits 16 and 21) and, if vl, AVX-512VL (bit 31).  A pure
 * function so that the tests can check it on given registers and on the
 * emulated Ice Lake's (tests/unit/group_emu/).
 */
static inline int
udc_group_cpu_ifma(uint32_t max_leaf, uint32_t ecx1, uint32_t xcr0, uint32_t ebx7, int vl)
{
	return max_leaf >= 7 && (ecx1 & (UINT32_C(1) << 27)) != 0 && (xcr0 & 0xe6) == 0xe6 &&
	       (ebx7 & (UINT32_C(1) << 16)) != 0 && (ebx7 & (UINT32_C(1) << 21)) != 0 &&
	       (!vl || (ebx7 & (UINT32_C(1) << 31)) != 0);
}

/*
 * n <= lanes everywhere; points are packed 32-byte encodings,
 * digests 64 bytes each.  ok[i] is 1 or 0.  Outputs of failed lanes are
 * zero.  No function reads or writes beyond lane n - 1, and out may equal
 * in (every input is read before any output is written).
 */
struct udc_group_impl {
	const char *name;
	/* points per call, at most UDC_GROUP_BATCH; 0 = UDC_GROUP_LANES */
	unsigned lanes;
	/* ok[i]: crypto_core_ristretto255_is_valid_point(in[i]). */
	void (*valid)(uint8_t *ok, const uint8_t *in, size_t n);
	/* out[i] = s * in[i]; ok[i] as crypto_scalarmult_ristretto255 == 0
	 * (refuses an invalid encoding and an identity result). */
	void (*mul)(uint8_t *out, uint8_t *ok, const struct udc_group_key *k, const uint8_t *in,
	            size_t n);
	/* out[i] = crypto_core_ristretto255_from_hash(h[i]). */
	void (*from_hash)(uint8_t *out, const uint8_t *h, size_t n);
	/* out[i] = s * from_hash(h[i]) without the encode/decode in between;
	 * ok[i] = 0 only for an identity result. */
	void (*hash_mul)(uint8_t *out, uint8_t *ok, const struct udc_group_key *k, const uint8_t *h,
	                 size_t n);
};

/*
 * 1 if the libsodium linked in accepts an encoding with bit 255 set (and
 * ignores that bit), as 1.0.18 does although RFC 9496 refuses it; 0 if it
 * refuses it.  Probed once by group_batch.c before any backend runs, so that
 * the vector backends refuse exactly what this libsodium refuses.
 */
extern int udc_group_sodium_bit255_ok;

/* Points impl takes per call: its lanes, UDC_GROUP_LANES if it leaves them 0. */
static inline size_t
udc_group_impl_lanes(const struct udc_group_impl *im)
{
	return im->lanes != 0 ? im->lanes : UDC_GROUP_LANES;
}

extern const struct udc_group_impl udc_group_libsodium_impl;
extern const struct udc_group_impl udc_group_portable_impl;
extern const struct udc_group_impl udc_group_ifma_impl;
extern const struct udc_group_impl udc_group_ifma256_impl;

/*
 * Test hooks: a vector build's lane operations and field operations over
 * plain arrays, so that a test can compare the IFMA build with the portable
 * one operation by operation and check the field arithmetic against a
 * reference at the edges of its bounds.  A lane vector is uint64_t[8]; a
 * field element is uint64_t[5][8], limb-major (radix 2^52; "tight" means
 * every limb below 2^52, which every field operation needs and returns).
 * Calling the IFMA table on a CPU without IFMA faults.
 */
typedef uint64_t udc_lv[UDC_GROUP_LANES];
typedef uint64_t udc_fe[5][UDC_GROUP_LANES];

enum {
	UDC_LOP_ADD,
	UDC_LOP_SUB,
	UDC_LOP_AND,
	UDC_LOP_OR,
	UDC_LOP_XOR,
	UDC_LOP_ANDNOT,
	UDC_LOP_EQMASK,
	UDC_LOP_N
};
enum { UDC_FOP_ADD, UDC_FOP_SUB, UDC_FOP_MUL, UDC_FOP_N };
enum { UDC_FOP1_SQ, UDC_FOP1_SQ2, UDC_FOP1_NEG, UDC_FOP1_CANON, UDC_FOP1_POW22523, UDC_FOP1_N };
/* The shift counts the code uses, and the edges. */
#define UDC_LSHIFTS                                                                                \
	{                                                                                          \
		1, 5, 12, 16, 24, 28, 36, 40, 47, 52, 63                                           \
	}

struct udc_group_lanes {
	const char *name;
	void (*op2[UDC_LOP_N])(udc_lv r, const udc_lv a, const udc_lv b);
	void (*madd52lo)(udc_lv r, const udc_lv acc, const udc_lv a, const udc_lv b);
	void (*madd52hi)(udc_lv r, const udc_lv acc, const udc_lv a, const udc_lv b);
	void (*blend)(udc_lv r, const udc_lv a, const udc_lv b, const udc_lv m);
	void (*set1)(udc_lv r, uint64_t x);
	/* count from UDC_LSHIFTS; left != 0 for a left shift */
	void (*shift)(udc_lv r, const udc_lv a, int left, int count);
	void (*fe2[UDC_FOP_N])(udc_fe r, const udc_fe a, const udc_fe b);
	void (*fe1[UDC_FOP1_N])(udc_fe r, const udc_fe a);
	/* x = SQRT_RATIO_M1(u, v) of RFC 9496; was_square[i] all ones or zero */
	void (*sqrt_ratio)(udc_fe x, udc_lv was_square, const udc_fe u, const udc_fe v);
};

extern const struct udc_group_lanes udc_group_portable_lanes;
extern const struct udc_group_lanes udc_group_ifma_lanes;
extern const struct udc_group_lanes udc_group_ifma256_lanes;

#endif
