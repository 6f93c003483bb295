/*
 * magest.h - the quantile groups behind group-mean estimates of sums
 * (docs/governance.md, "Magnitudes").
 *
 * The CBS node never learns which of its records linked, so it cannot sum
 * an attribute per cell.  Instead it splits the records of each CBS
 * category into groups by the attribute (the quantiles of the whole list,
 * ties kept together), and the group becomes a hidden CBS dimension of the blinded
 * count: the count then tells how many linked persons of each group are in
 * each cell, and a cell's sum is estimated from the groups' means over the
 * whole CBS input (udc_linked_estimate).  Every group must hold min_cell
 * records and pass min_contributors and the p%-rule on its own; a group
 * that does not is merged with a neighbour.
 */
#ifndef UDC_MAGEST_H
#define UDC_MAGEST_H

#include <stddef.h>
#include <stdint.h>

#include "spec.h"

/* The p%-rule: 1 if a sum whose two largest contributions are x1 >= x2 is
 * dominated, sum - x1 - x2 < p/100 * x1 (p 0: never).  In 128 bits: a sum
 * of millions of incomes, times 100, does not fit 64. */
int udc_mag_dominated(unsigned __int128 sum, uint64_t x1, uint64_t x2, unsigned p_percent);

/* Whether a set of values passes as a group: at least min_cell values, at
 * least min_contrib of them nonzero, and the p%-rule (sum - x1 - x2 >=
 * p/100 * x1 for the two largest x1 >= x2; p 0: off).  Returns 0 when it
 * passes, else the first rule it fails: 1 min_cell, 2 min_contributors,
 * 3 the p%-rule.  vals sorted ascending. */
int udc_mag_group_check(const uint64_t *sorted, size_t n, unsigned min_cell, unsigned min_contrib,
                        unsigned p_percent);

/*
 * The lower bounds of ngroups slots over n values (any order): sorted by
 * value, the value of rank r (from 0) falls in slot floor(r * ngroups / n),
 * and a run of equal values where its first one does; bounds[s] is the
 * first value placed in slot s (bounds[0] = 0).  A slot no value reached
 * gets the next one's bound (UINT64_MAX for the last), so it stays empty.
 * Returns 0, UDC_EINVAL (ngroups 0 or above 256), UDC_ENOMEM.
 */
int udc_mag_bounds(const uint64_t *vals, size_t n, unsigned ngroups, uint64_t *bounds);

/*
 * Groups n values (any order) into at most ngroups groups, deterministically:
 * value v goes to the last slot whose bound is at most v (bounds: ngroups
 * lower bounds from udc_mag_bounds, or NULL for the bounds of these values
 * themselves); then, while some group fails udc_mag_group_check, the lowest
 * failing one is merged with the next group (the last one with the one
 * before).  A merged group keeps the name (slot) of the larger of the two
 * parts' names, by the number of values that slot brought (the lower on a
 * tie), so a few values at a slot's edge do not rename the rest.  grp[i]
 * receives the
 * slot of value i.  Returns the number of groups, or UDC_EREFUSED when the
 * values fail min_contributors or the p%-rule even as one group (why says
 * which rule; no value is named), UDC_ENOMEM, UDC_EINVAL.  Values that are
 * fewer than min_cell in all form one group (the caller's rule on small
 * categories applies).
 */
int udc_mag_group(const uint64_t *vals, size_t n, unsigned ngroups, const uint64_t *bounds,
                  unsigned min_cell, unsigned min_contrib, unsigned p_percent, uint8_t *grp,
                  char *why, size_t whylen);

/*
 * The CBS list of a spec with groups (spec->attrs[a].gdim, the last CBS
 * dimension): lab[i] is record i's CBS cell with group index 0, vals[i] its
 * attribute.  Takes the slots' bounds over the whole list (udc_mag_bounds:
 * a group is one range of values in every category, so group means pooled
 * over categories stay meaningful), groups every category with them
 * (udc_mag_group with the spec's min_cell, min_contributors, p_percent), sets lab[i] to the cell of its
 * group, and fills gsum and gn (spec->ncells[UDC_SIDE_CBS] entries each,
 * the caller's) with the sum and number of values per cell.  Returns 0,
 * UDC_EREFUSED (why names the category), UDC_EINVAL (a label out of range),
 * UDC_ENOMEM.
 */
int udc_mag_regroup(const struct udc_spec *spec, uint16_t *lab, const uint64_t *vals, size_t n,
                    uint64_t *gsum, uint64_t *gn, char *why, size_t whylen);

#endif
