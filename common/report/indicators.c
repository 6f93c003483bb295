/*
 * indicators.c - shares, their intervals and their changes (indicators.h).
 */
#include "indicators.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "err.h"

#define MAX_PASSES 1000
#define NOISE_ALPHA 0.05

const char *
udc_ind_state_name(enum udc_ind_state s)
{
	switch (s) {
	case UDC_IND_RELEASED: return "released";
	case UDC_IND_SUPPRESSED: return "suppressed";
	case UDC_IND_NOBODY: return "nobody";
	case UDC_IND_UNKNOWN: return "unknown";
	}
	return "unknown";
}

int
udc_indicators_table_bounds(const struct udc_rel_table *t, int may_be_zero, int64_t slack,
                            int64_t *lo, int64_t *hi, int *converged, size_t *bad)
{
	size_t len[UDC_REL_MAX_DIMS];

	for (size_t k = 0; k < t->ncells; k++) {
		if (t->suppressed[k]) {
			lo[k] = may_be_zero ? 0 : 1;
			hi[k] = UDC_BOUND_INF;
		} else {
			int64_t v = (int64_t)t->count[k];

			lo[k] = v > slack ? v - slack : 0;
			hi[k] = v + slack;
		}
	}
	if (t->ndims == 0) {
		if (converged != NULL)
			*converged = 1;
		return 0;
	}
	for (size_t i = 0; i < t->ndims; i++)
		len[i] = t->dims[i].ncats + 1;
	return udc_bounds_propagate(len, t->ndims, lo, hi, MAX_PASSES, NULL, converged, bad);
}

/* Where the indicator's cells are: per dimension the fixed category of the
 * numerator and of the denominator (ncats: the total); the area's varies. */
struct layout {
	int area;
	size_t num[UDC_REL_MAX_DIMS], den[UDC_REL_MAX_DIMS];
};

static int
cfail(char *err, size_t errlen, const struct udc_rconf *c, int line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
cfail(char *err, size_t errlen, const struct udc_rconf *c, int line, const char *fmt, ...)
{
	char why[400];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%d: %s", c->path, line, why);
	return UDC_EINVAL;
}

static int
resolve(const struct udc_rconf *c, const struct udc_rconf_ind *ci, const struct udc_rel_table *t,
        struct layout *ly, char *err, size_t errlen)
{
	int extra = 0;

	ly->area = udc_rel_dim_index(t, c->area);
	if (ly->area < 0)
		return cfail(err, errlen, c, ci->line_table, "indicator %s: table %s has no dimension "
		             "%s (the report's area)", ci->name, t->name, c->area);
	for (size_t i = 0; i < t->ndims; i++)
		ly->num[i] = ly->den[i] = t->dims[i].ncats;
	for (size_t k = 0; k < ci->num.n; k++) {
		int d = udc_rel_dim_index(t, ci->num.dim[k]);
		long v;

		if (d < 0)
			return cfail(err, errlen, c, ci->num.line, "indicator %s: numerator: table %s "
			             "has no dimension %s", ci->name, t->name, ci->num.dim[k]);
		if (d == ly->area)
			return cfail(err, errlen, c, ci->num.line, "indicator %s: numerator: %s is the "
			             "area; the report shows every area", ci->name, c->area);
		if ((v = udc_rel_cat_index(&t->dims[d], ci->num.val[k])) < 0)
			return cfail(err, errlen, c, ci->num.line, "indicator %s: numerator: '%s' is "
			             "not a category of %s in table %s", ci->name, ci->num.val[k],
			             ci->num.dim[k], t->name);
		ly->num[d] = (size_t)v;
	}
	for (size_t k = 0; k < ci->den.n; k++) {
		int d = udc_rel_dim_index(t, ci->den.dim[k]);
		long v;

		if (d < 0 || d == ly->area)
			return cfail(err, errlen, c, ci->den.line, "indicator %s: denominator: %s is "
			             "not a dimension of table %s other than the area", ci->name,
			             ci->den.dim[k], t->name);
		v = udc_rel_cat_index(&t->dims[d], ci->den.val[k]);
		if (v < 0 || (size_t)v != ly->num[d])
			return cfail(err, errlen, c, ci->den.line, "indicator %s: the denominator must "
			             "hold the numerator: %s=%s is not in the numerator", ci->name,
			             ci->den.dim[k], ci->den.val[k]);
		ly->den[d] = (size_t)v;
	}
	for (size_t i = 0; i < t->ndims; i++)
		extra |= ly->num[i] != ly->den[i];
	if (!extra)
		return cfail(err, errlen, c, ci->num.line, "indicator %s: the numerator is the "
		             "denominator itself", ci->name);
	return 0;
}

/* Every cell of the denominator at the numerator's detail: the dimensions
 * the numerator fixes and the denominator does not run over their
 * categories.  The rest of the denominator is all of them but the
 * numerator's cell; its bounds are the sums of theirs. */
static void
rest_bounds(const struct udc_rel_table *t, const struct layout *ly, size_t area,
            const int64_t *lo, const int64_t *hi, int64_t *rlo, int64_t *rhi)
{
	size_t coords[UDC_REL_MAX_DIMS], free_d[UDC_REL_MAX_DIMS], nfree = 0;
	size_t numcell;

	for (size_t i = 0; i < t->ndims; i++) {
		coords[i] = (int)i == ly->area ? area : ly->den[i];
		if ((int)i != ly->area && ly->num[i] != ly->den[i]) {
			free_d[nfree++] = i;
			coords[i] = 0;
		}
	}
	{
		size_t nc[UDC_REL_MAX_DIMS];

		for (size_t i = 0; i < t->ndims; i++)
			nc[i] = (int)i == ly->area ? area : ly->num[i];
		numcell = udc_rel_cell(t, nc);
	}
	*rlo = 0;
	*rhi = 0;
	for (;;) {
		size_t k = udc_rel_cell(t, coords), j;

		if (k != numcell) {
			*rlo += lo[k];
			if (hi[k] == UDC_BOUND_INF || *rhi == UDC_BOUND_INF)
				*rhi = UDC_BOUND_INF;
			else
				*rhi += hi[k];
		}
		/* next combination of the free dimensions' categories */
		for (j = 0; j < nfree; j++) {
			size_t d = free_d[j];

			if (++coords[d] < t->dims[d].ncats)
				break;
			coords[d] = 0;
		}
		if (j == nfree)
			break;
	}
}

/* One round's figures for one area (area == ncats: the total). */
static void
figure(const struct udc_rel_table *t, const struct layout *ly, size_t area, const int64_t *lo,
       const int64_t *hi, struct udc_ind_fig *f)
{
	size_t nc[UDC_REL_MAX_DIMS], dc[UDC_REL_MAX_DIMS], kn, kd;
	int64_t rlo, rhi;

	memset(f, 0, sizeof(*f));
	for (size_t i = 0; i < t->ndims; i++) {
		nc[i] = (int)i == ly->area ? area : ly->num[i];
		dc[i] = (int)i == ly->area ? area : ly->den[i];
	}
	kn = udc_rel_cell(t, nc);
	kd = udc_rel_cell(t, dc);
	f->num_released = !t->suppressed[kn];
	f->den_released = !t->suppressed[kd];
	f->num = t->count[kn];
	f->den = t->count[kd];
	f->num_lo = lo[kn];
	f->num_hi = hi[kn];
	f->den_lo = lo[kd];
	f->den_hi = hi[kd];
	if (f->den_hi == 0) {
		f->state = UDC_IND_NOBODY;
		return;
	}
	rest_bounds(t, ly, area, lo, hi, &rlo, &rhi);
	if (udc_bounds_share(f->num_lo, f->num_hi, f->den_lo, f->den_hi, rlo, rhi, &f->lo,
	                     &f->hi) != 0) {
		f->state = UDC_IND_UNKNOWN;
		return;
	}
	f->has_interval = 1;
	if (f->num_released && f->den_released && f->den == 0) {
		/* rounded or noisy to 0: as released there is nobody, though
		 * the interval allows a few */
		f->state = UDC_IND_NOBODY;
	} else if (f->num_released && f->den_released) {
		f->state = UDC_IND_RELEASED;
		f->share = f->num >= f->den ? 1.0 : (double)f->num / (double)f->den;
	} else {
		f->state = UDC_IND_SUPPRESSED;
	}
}

/* The slack of a released count of t in release r, and the bounds of all
 * of t's cells.  A contradiction is an error unless noise explains it. */
static int
round_bounds(const struct udc_release *r, const struct udc_rel_table *t, struct udc_ind_round *rd,
             int64_t **lo, int64_t **hi, const char *what, char *err, size_t errlen)
{
	size_t bad = 0;
	int rv;

	memset(rd, 0, sizeof(*rd));
	for (size_t k = 0; k < t->ncells; k++)
		rd->released_cells += !t->suppressed[k];
	rd->round_slack = r->round_base > 1 ? (int64_t)r->round_base - 1 : 0;
	rd->noise_bound = udc_bounds_laplace(r->eps_num, r->eps_den, rd->released_cells,
	                                     NOISE_ALPHA);
	*lo = malloc(t->ncells * sizeof(int64_t));
	*hi = malloc(t->ncells * sizeof(int64_t));
	if (*lo == NULL || *hi == NULL) {
		snprintf(err, errlen, "out of memory");
		return UDC_ENOMEM;
	}
	rv = udc_indicators_table_bounds(t, r->may_be_zero, rd->round_slack + rd->noise_bound, *lo,
	                                 *hi, &rd->converged, &bad);
	if (rv == 0) {
		rd->propagated = 1;
		return 0;
	}
	if (rd->noise_bound == 0) {
		snprintf(err, errlen, "%s: table %s: its released cells contradict each other (no "
		         "count fits cell %zu and every line through it)", what, t->name, bad);
		return UDC_EPARSE;
	}
	/* beyond the 95% bound somewhere: each count on its own, unpropagated */
	for (size_t k = 0; k < t->ncells; k++) {
		if (t->suppressed[k]) {
			(*lo)[k] = r->may_be_zero ? 0 : 1;
			(*hi)[k] = UDC_BOUND_INF;
		} else {
			int64_t v = (int64_t)t->count[k], s = rd->round_slack + rd->noise_bound;

			(*lo)[k] = v > s ? v - s : 0;
			(*hi)[k] = v + s;
		}
	}
	return 0;
}

/* Same table in both rounds?  Population, dimensions and their
 * categories, conditions. */
static int
same_table(const struct udc_rel_table *a, const struct udc_rel_table *b, char *why, size_t n)
{
	if (strcmp(a->population, b->population) != 0) {
		snprintf(why, n, "de populatie verschilt (%s, toen %s)", a->population, b->population);
		return 0;
	}
	if (a->ndims != b->ndims) {
		snprintf(why, n, "de tabel heeft andere dimensies");
		return 0;
	}
	for (size_t i = 0; i < a->ndims; i++) {
		if (strcmp(a->dims[i].name, b->dims[i].name) != 0 || a->dims[i].cbs != b->dims[i].cbs) {
			snprintf(why, n, "de tabel heeft andere dimensies (%s, toen %s)", a->dims[i].name,
			         b->dims[i].name);
			return 0;
		}
		if (a->dims[i].ncats != b->dims[i].ncats) {
			snprintf(why, n, "dimensie %s heeft andere categorie\xc3\xabn", a->dims[i].name);
			return 0;
		}
		for (size_t k = 0; k < a->dims[i].ncats; k++)
			if (strcmp(a->dims[i].cats[k], b->dims[i].cats[k]) != 0) {
				snprintf(why, n, "dimensie %s heeft andere categorie\xc3\xabn",
				         a->dims[i].name);
				return 0;
			}
	}
	if (a->nwhere != b->nwhere) {
		snprintf(why, n, "de tabel telt onder andere voorwaarden (where)");
		return 0;
	}
	for (size_t w = 0; w < a->nwhere; w++) {
		size_t v;

		for (v = 0; v < b->nwhere; v++)
			if (strcmp(a->where[w].dim, b->where[v].dim) == 0)
				break;
		if (v == b->nwhere || a->where[w].nvals != b->where[v].nvals) {
			snprintf(why, n, "de tabel telt onder andere voorwaarden (where.%s)",
			         a->where[w].dim);
			return 0;
		}
		for (size_t i = 0; i < a->where[w].nvals; i++) {
			size_t j;

			for (j = 0; j < b->where[v].nvals; j++)
				if (strcmp(a->where[w].vals[i], b->where[v].vals[j]) == 0)
					break;
			if (j == b->where[v].nvals) {
				snprintf(why, n, "de tabel telt onder andere voorwaarden (where.%s)",
				         a->where[w].dim);
				return 0;
			}
		}
	}
	return 1;
}

static int
one(struct udc_indicators *x, size_t i, const struct udc_geomap *map, char *err, size_t errlen)
{
	const struct udc_rconf *c = x->conf;
	const struct udc_rconf_ind *ci = &c->ind[i];
	struct udc_ind *ind = &x->ind[i];
	const struct udc_rel_table *t = udc_release_table(x->rel, ci->table), *ot = NULL;
	int64_t *lo = NULL, *hi = NULL, *olo = NULL, *ohi = NULL;
	struct layout ly;
	size_t na;
	int rv;

	ind->conf = ci;
	if (t == NULL) {
		char names[200] = "";

		for (size_t k = 0; k < x->rel->ntables; k++) {
			size_t n = strlen(names);

			snprintf(names + n, sizeof(names) - n, "%s%s", k ? ", " : "",
			         x->rel->tables[k].name);
		}
		return cfail(err, errlen, c, ci->line_table, "indicator %s: the release has no table "
		             "%s (it has %s)", ci->name, ci->table, names);
	}
	ind->table = t;
	if ((rv = resolve(c, ci, t, &ly, err, errlen)) != 0)
		return rv;
	if ((rv = round_bounds(x->rel, t, &ind->rnow, &lo, &hi, "result.csv", err, errlen)) != 0)
		goto out;
	ind->compare = x->old != NULL;
	if (x->old != NULL) {
		ot = udc_release_table(x->old, ci->table);
		if (ot == NULL)
			snprintf(ind->incomparable, sizeof(ind->incomparable), "de eerdere ronde heeft "
			         "geen tabel %s", ci->table);
		else if (same_table(t, ot, ind->incomparable, sizeof(ind->incomparable)))
			ind->comparable = 1;
		if (ind->comparable &&
		    (rv = round_bounds(x->old, ot, &ind->rold, &olo, &ohi, "the earlier result.csv",
		                       err, errlen)) != 0)
			goto out;
	}
	na = t->dims[ly.area].ncats;
	ind->nrows = na + 1;
	if ((ind->rows = calloc(ind->nrows, sizeof(*ind->rows))) == NULL) {
		snprintf(err, errlen, "out of memory");
		rv = UDC_ENOMEM;
		goto out;
	}
	for (size_t a = 0; a <= na; a++) {
		struct udc_ind_row *row = &ind->rows[a];
		if (a < na) {
			const struct udc_geo_area *g;

			row->code = t->dims[ly.area].cats[a];
			g = udc_geomap_find(map, row->code);
			row->name = g != NULL ? g->name : "";
		} else {
			row->code = NULL;
			row->name = c->total_name;
		}
		figure(t, &ly, a, lo, hi, &row->now);
		if (!ind->comparable)
			continue;
		figure(ot, &ly, a, olo, ohi, &row->old);
		if ((row->now.state == UDC_IND_RELEASED || row->now.state == UDC_IND_SUPPRESSED) &&
		    (row->old.state == UDC_IND_RELEASED || row->old.state == UDC_IND_SUPPRESSED)) {
			row->has_change = 1;
			row->change_lo = row->now.lo - row->old.hi;
			row->change_hi = row->now.hi - row->old.lo;
			if (row->now.state == UDC_IND_RELEASED && row->old.state == UDC_IND_RELEASED) {
				row->change_known = 1;
				row->change = row->now.share - row->old.share;
			}
		}
	}
	rv = 0;
out:
	free(lo);
	free(hi);
	free(olo);
	free(ohi);
	return rv;
}

int
udc_indicators_compute(struct udc_indicators **out, const struct udc_rconf *conf,
                       const struct udc_release *rel, const struct udc_release *old,
                       const struct udc_geomap *map, char *err, size_t errlen)
{
	struct udc_indicators *x;
	int rv = 0;

	*out = NULL;
	if ((x = calloc(1, sizeof(*x))) == NULL ||
	    (x->ind = calloc(conf->nind, sizeof(*x->ind))) == NULL) {
		free(x);
		snprintf(err, errlen, "out of memory");
		return UDC_ENOMEM;
	}
	x->conf = conf;
	x->rel = rel;
	x->old = old;
	x->n = conf->nind;
	for (size_t i = 0; i < conf->nind && rv == 0; i++)
		rv = one(x, i, map, err, errlen);
	if (rv != 0) {
		udc_indicators_free(x);
		return rv;
	}
	*out = x;
	return 0;
}

void
udc_indicators_free(struct udc_indicators *x)
{
	if (x == NULL)
		return;
	for (size_t i = 0; i < x->n; i++)
		free(x->ind[i].rows);
	free(x->ind);
	free(x);
}
