/*
 * dice.h - Dice coefficient of Bloom filters (CLKs), the matching kernel.
 *
 * Filters are packed into uint64_t words; any packing works as long as both
 * sides use the same one (udc_dice_words_from_bytes gives one).  Unused bits
 * of the last word must be zero.
 *
 *   dice(A, B) = 2 |A & B| / (|A| + |B|),   0 when both are empty
 *                                           (anonlink's convention).
 *
 * Matching compares one query filter with a contiguous array of filters
 * (filters[i * nwords ...]) whose popcounts were computed once.  Several
 * code paths compute the same numbers; the fastest one this CPU supports is
 * chosen at run time, and tests and benchmarks may force one.
 */
#ifndef UDC_DICE_H
#define UDC_DICE_H

#include <stddef.h>
#include <stdint.h>

enum udc_dice_impl {
	UDC_DICE_AUTO = 0,     /* the best supported path */
	UDC_DICE_PORTABLE = 1, /* plain C, __builtin_popcountll, any x86-64 */
	UDC_DICE_POPCNT = 2,   /* the same, compiled for the POPCNT instruction */
	UDC_DICE_AVX2 = 3,     /* nibble-table popcount in 256-bit registers */
	UDC_DICE_AVX512 = 4,   /* AVX-512 VPOPCNTDQ */
};
#define UDC_DICE_NIMPL 5

/* Name of a path ("portable", "popcnt", "avx2", "avx512-vpopcntdq", "auto"). */
const char *udc_dice_impl_name(enum udc_dice_impl impl);
/* 1 if this CPU (and OS) can run the path, else 0. AUTO is always 1. */
int udc_dice_supported(enum udc_dice_impl impl);
/* Forces a path for every following call in this process (for tests and
 * benchmarks; not meant to be called while other threads compare).  AUTO
 * picks the best.  Returns 0 or UDC_EINVAL if the CPU cannot run it. */
int udc_dice_select(enum udc_dice_impl impl);
/* The path in use (never AUTO). */
enum udc_dice_impl udc_dice_selected(void);

/* Bits set in one filter. */
uint32_t udc_dice_popcount(const uint64_t *a, size_t nwords);
/* out[i] = popcount of filters[i]; computed once per side. */
void udc_dice_popcounts(const uint64_t *filters, size_t nfilters, size_t nwords, uint32_t *out);
/* |a & b|. */
uint32_t udc_dice_and_count(const uint64_t *a, const uint64_t *b, size_t nwords);
/* Dice from an intersection count and the two popcounts. */
double udc_dice_from_counts(uint32_t and_count, uint32_t pop_a, uint32_t pop_b);
/* Dice of two filters. */
double udc_dice(const uint64_t *a, const uint64_t *b, size_t nwords);

/* One against many: out[i] = |q & filters[i]| for i < n. */
void udc_dice_and_counts(const uint64_t *q, const uint64_t *filters, size_t n, size_t nwords,
                         uint32_t *out);
/* One against many: out[i] = dice(q, filters[i]) given qpop = |q| and
 * pops[i] = |filters[i]|. */
void udc_dice_scores(const uint64_t *q, uint32_t qpop, const uint64_t *filters,
                     const uint32_t *pops, size_t n, size_t nwords, double *out);

/* Words needed for nbits. */
static inline size_t
udc_dice_nwords(size_t nbits)
{
	return (nbits + 63) / 64;
}
/* Packs a clk.h byte encoding (bit i in bit 7 - i % 8 of byte i / 8) into
 * words, zero-filling words past nbytes.  Popcounts and Dice do not depend
 * on the order of bits, only on both sides using this function. */
void udc_dice_words_from_bytes(const uint8_t *bytes, size_t nbytes, uint64_t *words, size_t nwords);

#endif
