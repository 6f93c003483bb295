/*
 * bounds.h - what the released cells of one table say about each of its
 * counts: an interval that surely holds the count.
 *
 * A released table has a cell for every combination of its dimensions'
 * categories and totals.  Every line of it (one dimension runs over its
 * categories, the others stay fixed, a total included) is a linear
 * equality: the line's total is the sum of its cells.  Starting from what
 * is known of each cell (a released count exactly, or within the slack of
 * rounding and noise; a suppressed count at least 0 or 1), every line
 * narrows its cells in turn, until nothing changes:
 *
 *	total in [sum of the cells' lows, sum of the cells' highs]
 *	cell  in [total low - sum of the other cells' highs,
 *	          total high - sum of the other cells' lows]
 *
 * Every step keeps every value the true table can have, so the result is a
 * sound outer bound (docs/report.md, "Intervals").  It can be wider than
 * what a linear program over the table would find, never narrower.
 */
#ifndef UDC_BOUNDS_H
#define UDC_BOUNDS_H

#include <stddef.h>
#include <stdint.h>

#define UDC_BOUND_INF INT64_MAX /* no upper bound known */
#define UDC_BOUNDS_MAX_DIMS 8
/* Bounds stay below this, so that the sum of 4,000,000 of them fits. */
#define UDC_BOUNDS_MAX_VALUE ((int64_t)1 << 40)

/*
 * Narrows lo[] and hi[] in place.  len[i] is the number of categories of
 * dimension i plus one, the last coordinate being its total; cells are
 * numbered in mixed radix, the first dimension varying slowest.  On entry
 * 0 <= lo <= hi <= UDC_BOUNDS_MAX_VALUE or hi == UDC_BOUND_INF, for every
 * cell.  Stops when a pass over every line changes nothing, or after
 * maxpass passes (what it has is sound at any pass).  *passes (may be
 * NULL) gets the number of passes made, *converged (may be NULL) 1 if the
 * last changed nothing.
 *
 * Returns 0; UDC_EINVAL for bad arguments, or when the bounds contradict
 * each other (some cell would need lo > hi: the released cells cannot all
 * be what they say), *bad (may be NULL) then being that cell.
 */
int udc_bounds_propagate(const size_t *len, size_t ndims, int64_t *lo, int64_t *hi,
                         size_t maxpass, size_t *passes, int *converged, size_t *bad);

/*
 * The share n / d where n and d are counts with n in [nlo, nhi],
 * d in [dlo, dhi] and d - n in [rlo, rhi] (the rest of the denominator;
 * pass 0 and UDC_BOUND_INF when nothing more is known), over every
 * d >= 1: *slo and *shi get its least and greatest value, within [0, 1].
 * Returns 0, or UDC_EINVAL when no d >= 1 fits (dhi == 0: nobody in the
 * denominator) or the bounds do not meet.
 */
int udc_bounds_share(int64_t nlo, int64_t nhi, int64_t dlo, int64_t dhi, int64_t rlo,
                     int64_t rhi, double *slo, double *shi);

/*
 * The 95% bound of the released noise: the least B such that each of ncells
 * draws of discrete Laplace noise with P(z) proportional to
 * exp(-eps |z|), eps = num / den, lies within [-B, B] together with
 * probability at least 1 - alpha (a union bound over the cells).  0 when
 * num is 0 (no noise).
 */
int64_t udc_bounds_laplace(uint32_t num, uint32_t den, size_t ncells, double alpha);

#endif
