/*
 * bounds.c - intervals of a released table's counts (bounds.h).
 */
#include "bounds.h"

#include <math.h>

#include "err.h"

/* One line: cells at base + k * stride, k < n, and its total at k == n. */
static int
line(int64_t *lo, int64_t *hi, size_t base, size_t stride, size_t n, int *changed, size_t *bad)
{
	size_t t = base + n * stride;
	int64_t slo = 0, shi = 0;
	size_t ninf = 0;

	for (size_t k = 0; k < n; k++) {
		size_t i = base + k * stride;

		slo += lo[i];
		if (hi[i] == UDC_BOUND_INF)
			ninf++;
		else
			shi += hi[i];
	}
	/* the total from its cells */
	if (slo > lo[t]) {
		lo[t] = slo;
		*changed = 1;
	}
	if (ninf == 0 && shi < hi[t]) {
		hi[t] = shi;
		*changed = 1;
	}
	if (lo[t] > hi[t]) {
		*bad = t;
		return UDC_EINVAL;
	}
	/* each cell from the total and the other cells */
	for (size_t k = 0; k < n; k++) {
		size_t i = base + k * stride;
		int64_t others_lo = slo - lo[i], v;

		if (ninf == 0 || (ninf == 1 && hi[i] == UDC_BOUND_INF)) {
			int64_t others_hi = hi[i] == UDC_BOUND_INF ? shi : shi - hi[i];

			v = lo[t] - others_hi;
			if (v > lo[i]) {
				lo[i] = v;
				*changed = 1;
			}
		}
		if (hi[t] != UDC_BOUND_INF) {
			v = hi[t] - others_lo;
			if (v < hi[i]) {
				hi[i] = v;
				*changed = 1;
			}
		}
		if (lo[i] > hi[i]) {
			*bad = i;
			return UDC_EINVAL;
		}
	}
	return 0;
}

int
udc_bounds_propagate(const size_t *len, size_t ndims, int64_t *lo, int64_t *hi,
                     size_t maxpass, size_t *passes, int *converged, size_t *bad)
{
	size_t ncells = 1, pass, dummy;
	int changed = 1;

	if (passes != NULL)
		*passes = 0;
	if (converged != NULL)
		*converged = 0;
	if (bad == NULL)
		bad = &dummy;
	if (ndims > UDC_BOUNDS_MAX_DIMS)
		return UDC_EINVAL;
	for (size_t d = 0; d < ndims; d++) {
		if (len[d] < 2 || ncells > SIZE_MAX / len[d])
			return UDC_EINVAL;
		ncells *= len[d];
	}
	for (size_t i = 0; i < ncells; i++) {
		if (lo[i] < 0 || lo[i] > UDC_BOUNDS_MAX_VALUE ||
		    (hi[i] != UDC_BOUND_INF && (hi[i] < lo[i] || hi[i] > UDC_BOUNDS_MAX_VALUE))) {
			*bad = i;
			return UDC_EINVAL;
		}
	}
	for (pass = 0; pass < maxpass && changed; pass++) {
		size_t stride = ncells;

		changed = 0;
		for (size_t d = 0; d < ndims; d++) {
			size_t n = len[d] - 1;

			stride /= len[d];
			/* every cell whose coordinate d is 0 starts a line */
			for (size_t i = 0; i < ncells; i++) {
				int rv;

				if ((i / stride) % len[d] != 0)
					continue;
				if ((rv = line(lo, hi, i, stride, n, &changed, bad)) != 0)
					return rv;
			}
		}
	}
	if (passes != NULL)
		*passes = pass;
	if (converged != NULL)
		*converged = !changed;
	return 0;
}

static int64_t
sub_inf(int64_t a, int64_t b)
{
	/* a - b with a possibly infinite, b finite */
	return a == UDC_BOUND_INF ? UDC_BOUND_INF : a - b;
}

static int64_t
max64(int64_t a, int64_t b)
{
	return a > b ? a : b;
}

static int64_t
min64(int64_t a, int64_t b)
{
	return a < b ? a : b;
}

/*
 * With r = d - n, the share is n / (n + r): rising in n, falling in r.
 * For a given n the least share takes the greatest r, min(rhi, dhi - n),
 * and n / min(n + rhi, dhi) rises with n: so the least share is at the
 * least feasible n.  Likewise the greatest share is n / max(n + rlo, dlo)
 * at the greatest feasible n.
 */
int
udc_bounds_share(int64_t nlo, int64_t nhi, int64_t dlo, int64_t dhi, int64_t rlo, int64_t rhi,
                 double *slo, double *shi)
{
	int64_t a, b, e, f;

	dlo = max64(dlo, 1);
	if (nlo < 0 || rlo < 0 || dhi < dlo || (nhi != UDC_BOUND_INF && nhi < nlo) ||
	    (rhi != UDC_BOUND_INF && rhi < rlo))
		return UDC_EINVAL;
	/* n in [a, b], r in [e, f], narrowed by dlo <= n + r <= dhi */
	a = rhi == UDC_BOUND_INF ? nlo : max64(nlo, dlo - rhi);
	b = dhi == UDC_BOUND_INF ? nhi : min64(nhi, dhi - rlo);
	e = nhi == UDC_BOUND_INF ? rlo : max64(rlo, dlo - nhi);
	f = dhi == UDC_BOUND_INF ? rhi : min64(rhi, dhi - nlo);
	if ((b != UDC_BOUND_INF && b < a) || (f != UDC_BOUND_INF && f < e))
		return UDC_EINVAL;
	if (dhi != UDC_BOUND_INF && a + e > dhi)
		return UDC_EINVAL;
	if (b != UDC_BOUND_INF && f != UDC_BOUND_INF && b + f < dlo)
		return UDC_EINVAL;
	{
		int64_t r = min64(f, sub_inf(dhi, a));

		*slo = r == UDC_BOUND_INF ? 0.0 : (double)a / (double)(a + r);
	}
	if (b == UDC_BOUND_INF) {
		*shi = 1.0;
	} else {
		int64_t r = max64(e, dlo - b);

		*shi = (double)b / (double)(b + r);
	}
	if (*slo < 0.0)
		*slo = 0.0;
	if (*shi > 1.0)
		*shi = 1.0;
	return 0;
}

int64_t
udc_bounds_laplace(uint32_t num, uint32_t den, size_t ncells, double alpha)
{
	double eps, p, k;

	if (num == 0 || den == 0)
		return 0;
	if (ncells == 0)
		ncells = 1;
	eps = (double)num / (double)den;
	p = exp(-eps);
	/* P(|Z| > B) = 2 p^(B+1) / (1 + p) <= alpha / ncells */
	k = ceil(log(2.0 * (double)ncells / ((1.0 + p) * alpha)) / eps) - 1.0;
	if (k < 0.0)
		k = 0.0;
	if (k > (double)UDC_BOUNDS_MAX_VALUE)
		k = (double)UDC_BOUNDS_MAX_VALUE;
	return (int64_t)k;
}
