/*
 * magest.c - quantile groups of a CBS attribute per category, for the
 * group-mean estimates of sums (magest.h, docs/governance.md "Magnitudes").
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "magest.h"

int
udc_mag_dominated(unsigned __int128 sum, uint64_t x1, uint64_t x2, unsigned p_percent)
{
	return p_percent > 0 && (sum - x1 - x2) * 100 < (unsigned __int128)p_percent * x1;
}

int
udc_mag_group_check(const uint64_t *v, size_t n, unsigned min_cell, unsigned min_contrib,
                    unsigned p_percent)
{
	unsigned __int128 sum = 0;
	uint64_t x1, x2;
	size_t nz = 0;

	if (n < min_cell || n == 0)
		return 1;
	for (size_t i = 0; i < n; i++) {
		sum += v[i];
		nz += v[i] != 0;
	}
	if (nz < min_contrib)
		return 2;
	x1 = v[n - 1];
	x2 = n > 1 ? v[n - 2] : 0;
	if (udc_mag_dominated(sum, x1, x2, p_percent))
		return 3;
	return 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

/* A group: the sorted values [lo, hi), its name (a slot) and the size of
 * the slot's values it was named after. */
struct mgroup {
	size_t lo, hi;
	unsigned slot;
	size_t named;
};

int
udc_mag_bounds(const uint64_t *vals, size_t n, unsigned ngroups, uint64_t *bounds)
{
	uint64_t *s;

	if (ngroups == 0 || ngroups > 256)
		return UDC_EINVAL;
	for (unsigned g = 0; g < ngroups; g++)
		bounds[g] = g == 0 ? 0 : UINT64_MAX;
	if (n == 0)
		return 0;
	if ((s = malloc(n * sizeof(*s))) == NULL)
		return UDC_ENOMEM;
	memcpy(s, vals, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u64);
	/* slots by rank; a run of equal values goes where its first one does,
	 * so a slot's lower bound is the first value placed in it */
	for (size_t r = 0; r < n;) {
		size_t e = r;
		unsigned slot = (unsigned)((unsigned __int128)r * ngroups / n);

		while (e < n && s[e] == s[r])
			e++;
		if (slot > 0 && bounds[slot] == UINT64_MAX)
			bounds[slot] = s[r];
		r = e;
	}
	/* a slot no value reached takes the next one's bound, and stays empty */
	for (unsigned g = ngroups - 1; g-- > 1;)
		if (bounds[g] == UINT64_MAX)
			bounds[g] = bounds[g + 1];
	free(s);
	return 0;
}

/* The slot of value v: the last one whose lower bound is at most v. */
static unsigned
slot_of(const uint64_t *bounds, unsigned ngroups, uint64_t v)
{
	unsigned g = 0;

	while (g + 1 < ngroups && bounds[g + 1] <= v)
		g++;
	return g;
}

int
udc_mag_group(const uint64_t *vals, size_t n, unsigned ngroups, const uint64_t *bounds,
              unsigned min_cell, unsigned min_contrib, unsigned p_percent, uint8_t *grp, char *why,
              size_t whylen)
{
	uint64_t own[256];
	static const char *const rule[] = {"", "min_cell", "min_contributors", "the p%-rule"};
	uint64_t *s = NULL;
	struct mgroup *gs = NULL;
	size_t ng = 0;
	int rv = UDC_ENOMEM, bad;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (n == 0)
		return 0;
	if (ngroups == 0 || ngroups > 256)
		return UDC_EINVAL;
	if (bounds == NULL) {
		if ((rv = udc_mag_bounds(vals, n, ngroups, own)) != 0)
			return rv;
		bounds = own;
		rv = UDC_ENOMEM;
	}
	if ((s = malloc(n * sizeof(*s))) == NULL || (gs = calloc(ngroups, sizeof(*gs))) == NULL)
		goto out;
	memcpy(s, vals, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u64);
	/* the values of each slot, in order (equal values share a slot) */
	for (size_t r = 0; r < n;) {
		size_t e = r;
		unsigned slot = slot_of(bounds, ngroups, s[r]);

		while (e < n && s[e] == s[r])
			e++;
		if (ng > 0 && gs[ng - 1].slot == slot)
			gs[ng - 1].hi = e;
		else
			gs[ng++] = (struct mgroup){r, e, slot, 0};
		r = e;
	}
	for (size_t i = 0; i < ng; i++)
		gs[i].named = gs[i].hi - gs[i].lo;
	/* merge the lowest failing group with a neighbour until all pass */
	for (;;) {
		size_t i;

		for (i = 0; i < ng; i++)
			if (udc_mag_group_check(s + gs[i].lo, gs[i].hi - gs[i].lo, min_cell, min_contrib,
			                        p_percent) != 0)
				break;
		if (i == ng || ng == 1)
			break;
		if (i + 1 == ng)
			i--;
		/* the name of the larger part (the lower on a tie): a few values
		 * at the edge of a slot do not carry the rest under their name */
		if (gs[i + 1].named > gs[i].named) {
			gs[i].slot = gs[i + 1].slot;
			gs[i].named = gs[i + 1].named;
		}
		gs[i].hi = gs[i + 1].hi;
		memmove(&gs[i + 1], &gs[i + 2], (ng - i - 2) * sizeof(*gs));
		ng--;
	}
	bad = udc_mag_group_check(s, n, min_cell, min_contrib, p_percent);
	if (ng == 1 && bad > 1) {
		if (why != NULL)
			snprintf(why, whylen, "its values fail %s even as one group", rule[bad]);
		rv = UDC_EREFUSED;
		goto out;
	}
	/* each value's group: by its value's place among the sorted ones */
	for (size_t i = 0; i < n; i++) {
		size_t a = 0, b = ng;

		while (b - a > 1) {
			size_t m = (a + b) / 2;

			if (s[gs[m].lo] <= vals[i])
				a = m;
			else
				b = m;
		}
		grp[i] = (uint8_t)gs[a].slot;
	}
	rv = (int)ng;
out:
	free(s);
	free(gs);
	return rv;
}

int
udc_mag_regroup(const struct udc_spec *spec, uint16_t *lab, const uint64_t *vals, size_t n,
                uint64_t *gsum, uint64_t *gn, char *why, size_t whylen)
{
	int a = udc_spec_grouped_attr(spec);
	size_t G, ncats, *start = NULL, *order = NULL;
	uint64_t bounds[UDC_SPEC_MAX_GROUPS];
	uint64_t *v = NULL;
	uint8_t *grp = NULL;
	int rv = UDC_ENOMEM;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (a < 0 || (size_t)spec->attrs[a].gdim + 1 != spec->ndims[UDC_SIDE_CBS])
		return UDC_EINVAL;
	G = spec->attrs[a].groups;
	ncats = spec->ncells[UDC_SIDE_CBS] / G;
	memset(gsum, 0, spec->ncells[UDC_SIDE_CBS] * sizeof(*gsum));
	memset(gn, 0, spec->ncells[UDC_SIDE_CBS] * sizeof(*gn));
	if ((start = calloc(ncats + 1, sizeof(*start))) == NULL ||
	    (order = malloc((n ? n : 1) * sizeof(*order))) == NULL ||
	    (v = malloc((n ? n : 1) * sizeof(*v))) == NULL ||
	    (grp = malloc(n ? n : 1)) == NULL)
		goto out;
	for (size_t i = 0; i < n; i++) {
		if (lab[i] >= spec->ncells[UDC_SIDE_CBS] || lab[i] % G != 0) {
			rv = UDC_EINVAL;
			goto out;
		}
		start[lab[i] / G + 1]++;
	}
	for (size_t c = 0; c < ncats; c++)
		start[c + 1] += start[c];
	{
		size_t *fill = NULL;

		if ((fill = malloc((ncats ? ncats : 1) * sizeof(*fill))) == NULL)
			goto out;
		memcpy(fill, start, ncats * sizeof(*fill));
		for (size_t i = 0; i < n; i++)
			order[fill[lab[i] / G]++] = i;
		free(fill);
	}
	/* the slots' bounds: quantiles of the whole list, so that a group
	 * means the same range of values in every category */
	if ((rv = udc_mag_bounds(vals, n, (unsigned)G, bounds)) != 0)
		goto out;
	rv = UDC_ENOMEM;
	for (size_t c = 0; c < ncats; c++) {
		size_t lo = start[c], m = start[c + 1] - lo;
		int ng;

		if (m == 0)
			continue;
		for (size_t j = 0; j < m; j++)
			v[j] = vals[order[lo + j]];
		ng = udc_mag_group(v, m, (unsigned)G, bounds, spec->min_cell, spec->min_contributors,
		                   spec->p_percent, grp, NULL, 0);
		if (ng < 0) {
			char name[256] = "";
			size_t idx[UDC_MAX_DIMS], o = 0;

			if (ng != UDC_EREFUSED) {
				rv = ng;
				goto out;
			}
			udc_spec_cell_split(spec, UDC_SIDE_CBS, c * G, idx);
			for (size_t d = 0; d < udc_spec_input_dims(spec, UDC_SIDE_CBS) && o < sizeof(name);
			     d++)
				o += (size_t)snprintf(name + o, sizeof(name) - o, "%s%s=%s", d ? ", " : "",
				                      spec->dims[UDC_SIDE_CBS][d].name,
				                      spec->dims[UDC_SIDE_CBS][d].values[idx[d]]);
			snprintf(why, whylen, "CBS category %s: its %s values fail min_contributors "
			         "(%u) or the p%%-rule (p_percent %u) even as one group, so no mean of "
			         "it can be released", name, spec->attrs[a].name, spec->min_contributors,
			         spec->p_percent);
			rv = UDC_EREFUSED;
			goto out;
		}
		for (size_t j = 0; j < m; j++) {
			size_t i = order[lo + j], cell = c * G + grp[j];

			lab[i] = (uint16_t)cell;
			gsum[cell] += vals[i];
			gn[cell]++;
		}
	}
	rv = 0;
out:
	free(start);
	free(order);
	free(v);
	free(grp);
	return rv;
}
