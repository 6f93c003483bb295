/*
 * test_linked.c - linked tables: values, distinct cells, suppression across
 * tables, magnitudes, noise and the ledger.
 *
 * Nothing here trusts the engine's own model.  The test reads the spec a
 * second time in its own way (in_cell: which base cells a table cell
 * holds, by brute force over populations, recodes and conditions), sums
 * the counts itself, and judges every suppression pattern with an LP it
 * builds itself on GLPK from that reading: for each suppressed cell, the
 * least and greatest value over all nonnegative solutions consistent with
 * every released cell, the gemeente's own list per gemeente cell and the
 * number of links.  The same judge must find the leaks of primary
 * suppression alone and of tables protected one by one, or it proves
 * nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <glpk.h>

#include "err.h"
#include "linked.h"
#include "magest.h"
#include "rand.h"
#include "spec.h"

/* --- deterministic data --- */

static uint64_t rng_state;

static uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t
rnd(uint32_t n)
{
	return (uint32_t)(rng() % n);
}

static void
det_source(void *buf, size_t n, void *ctx)
{
	unsigned char *p = buf;

	(void)ctx;
	while (n > 0) {
		uint64_t z = rng();
		size_t k = n < 8 ? n : 8;

		memcpy(p, &z, k);
		p += k;
		n -= k;
	}
}

static struct udc_spec *
spec_of(const char *text)
{
	struct udc_spec *spec = NULL;
	char err[512];

	if (udc_spec_parse(text, strlen(text), "t.spec", &spec, err, sizeof(err)) != 0)
		fail_msg("spec: %s", err);
	return spec;
}

/*
 * The engine's exact-sum path (udc_mag_cube: per base cell sums, the
 * p%-rule and the LP loop for sums) is kept for a protocol that could give
 * the CBS node such sums; a parsed spec with sum now has the hidden group
 * dimension and the generated group tables of group-mean estimates.  This
 * takes them out again, so test_magnitudes judges the exact-sum engine.
 */
static struct udc_spec *
exact_sums(struct udc_spec *spec)
{
	struct udc_dim *d = &spec->dims[UDC_SIDE_CBS][spec->ndims[UDC_SIDE_CBS] - 1];

	assert_int_equal(spec->nhidden, 1);
	spec->ncells[UDC_SIDE_CBS] /= d->nvalues;
	for (size_t v = 0; v < d->nvalues; v++)
		free(d->values[v]);
	free(d->values);
	free(d->name);
	spec->ndims[UDC_SIDE_CBS]--;
	spec->nhidden = 0;
	spec->attrs[0].gdim = -1;
	while (spec->ntables > 0 && spec->tables[spec->ntables - 1].generated_for) {
		struct udc_tablespec *t = &spec->tables[--spec->ntables];

		for (size_t j = 0; j < t->ndims; j++)
			free(t->dims[j].cats);
		for (size_t j = 0; j < t->nwhere; j++)
			free(t->where[j].allowed);
		free(t->name);
	}
	for (size_t t = 0; t < spec->ntables; t++)
		spec->tables[t].gtable = 0;
	return spec;
}

static size_t
tindex(const struct udc_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->ntables; i++)
		if (strcmp(spec->tables[i].name, name) == 0)
			return i;
	fail_msg("no table %s", name);
	return 0;
}

static struct udc_table *
counts_of(const struct udc_spec *spec)
{
	struct udc_table *t = NULL;

	assert_int_equal(udc_table_new(&t, spec->ncells[0], spec->ncells[1]), 0);
	return t;
}

/* Base count (g, c), g == G / c == C the not-linked row / column. */
static uint64_t
base_count(const struct udc_spec *spec, const struct udc_table *t, size_t g, size_t c)
{
	size_t G = spec->ncells[0], C = spec->ncells[1];

	if (g < G && c < C)
		return t->cells[g * C + c];
	if (g < G)
		return t->g_unlinked[g];
	if (c < C)
		return t->c_unlinked[c];
	return 0;
}

/* --- the test's own reading of a table cell --- */

static int
in_cell(const struct udc_spec *spec, size_t ti, const size_t *coords, size_t g, size_t c)
{
	const struct udc_tablespec *ts = &spec->tables[ti];
	size_t G = spec->ncells[0], C = spec->ncells[1];
	size_t gi[UDC_MAX_DIMS], ci[UDC_MAX_DIMS];
	int ok;

	if (g == G && c == C)
		return 0;
	switch (ts->pop) {
	case UDC_POP_LINKED:
		ok = g < G && c < C;
		break;
	case UDC_POP_GEMEENTE_ONLY:
		ok = g < G && c == C;
		break;
	case UDC_POP_CBS_ONLY:
		ok = g == G && c < C;
		break;
	case UDC_POP_GEMEENTE:
		ok = g < G;
		break;
	default:
		ok = c < C;
		break;
	}
	if (!ok)
		return 0;
	if (g < G)
		udc_spec_cell_split(spec, 0, g, gi);
	if (c < C)
		udc_spec_cell_split(spec, 1, c, ci);
	for (size_t i = 0; i < ts->ndims; i++) {
		const struct udc_dimref *r = &ts->dims[i].ref;
		size_t bv, v;

		if (coords[i] == ts->dims[i].ncats)
			continue;
		bv = r->side == 0 ? gi[udc_dimref_base(spec, r)] : ci[udc_dimref_base(spec, r)];
		v = r->recode < 0 ? bv : spec->recodes[r->recode].map[bv];
		if (v != ts->dims[i].cats[coords[i]])
			return 0;
	}
	for (size_t i = 0; i < ts->nwhere; i++) {
		const struct udc_dimref *r = &ts->where[i].dim;
		size_t bv, v;

		bv = r->side == 0 ? gi[udc_dimref_base(spec, r)] : ci[udc_dimref_base(spec, r)];
		v = r->recode < 0 ? bv : spec->recodes[r->recode].map[bv];
		if (!ts->where[i].allowed[v])
			return 0;
	}
	return 1;
}

static uint64_t
cell_truth(const struct udc_spec *spec, const struct udc_table *t, size_t ti, const size_t *co)
{
	uint64_t s = 0;

	for (size_t g = 0; g <= spec->ncells[0]; g++)
		for (size_t c = 0; c <= spec->ncells[1]; c++)
			if (in_cell(spec, ti, co, g, c))
				s += base_count(spec, t, g, c);
	return s;
}

/* The gemeente knows a cell of its whole list (every column), and the
 * number of links (the total of a linked table without conditions). */
static int
cell_known(const struct udc_spec *spec, size_t ti, const size_t *co)
{
	const struct udc_tablespec *ts = &spec->tables[ti];
	int all = ts->pop == UDC_POP_LINKED && ts->nwhere == 0;

	for (size_t i = 0; i < ts->ndims && all; i++)
		all = co[i] == ts->dims[i].ncats;
	return ts->pop == UDC_POP_GEMEENTE || all;
}

/* --- the judge: an LP on GLPK built here --- */

struct verdict {
	size_t checked, narrow, pinned;
};

/* Base cell (g, c) -> column (1-based), the corner left out. */
static int
col_of(const struct udc_spec *spec, size_t g, size_t c)
{
	return (int)(g * (spec->ncells[1] + 1) + c) + 1;
}

static void
add_row(glp_prob *P, const int *ind, int n, int type, double v)
{
	static double ones[100000];
	int i;

	for (int k = 1; k <= n; k++)
		ones[k] = 1.0;
	i = glp_add_rows(P, 1);
	glp_set_mat_row(P, i, n, ind, ones);
	glp_set_row_bnds(P, i, type, v, v);
}

static int
members(const struct udc_spec *spec, size_t ti, const size_t *co, int *ind)
{
	int n = 0;

	for (size_t g = 0; g <= spec->ncells[0]; g++)
		for (size_t c = 0; c <= spec->ncells[1]; c++)
			if (in_cell(spec, ti, co, g, c))
				ind[++n] = col_of(spec, g, c);
	return n;
}

/* The gemeente's own knowledge as rows of P: its list per gemeente cell,
 * with unpadded categories the CBS list per CBS cell, and the links. */
static void
public_rows(const struct udc_spec *spec, const struct udc_table *t, glp_prob *P, int *ind)
{
	size_t G = spec->ncells[0], C = spec->ncells[1];

	for (size_t g = 0; g < G; g++) {
		int m = 0;
		uint64_t s = 0;

		for (size_t c = 0; c <= C; c++) {
			ind[++m] = col_of(spec, g, c);
			s += base_count(spec, t, g, c);
		}
		add_row(P, ind, m, GLP_FX, (double)s);
	}
	if (spec->pad == UDC_PAD_NONE)
		for (size_t c = 0; c < C; c++) {
			int m = 0;
			uint64_t s = 0;

			for (size_t g = 0; g <= G; g++) {
				ind[++m] = col_of(spec, g, c);
				s += base_count(spec, t, g, c);
			}
			add_row(P, ind, m, GLP_FX, (double)s);
		}
	{
		int m = 0;
		uint64_t s = 0;

		for (size_t g = 0; g < G; g++)
			for (size_t c = 0; c < C; c++) {
				ind[++m] = col_of(spec, g, c);
				s += base_count(spec, t, g, c);
			}
		add_row(P, ind, m, GLP_FX, (double)s);
	}
}

static glp_prob *
new_prob(const struct udc_spec *spec)
{
	size_t G = spec->ncells[0], C = spec->ncells[1], ncols = (G + 1) * (C + 1);
	glp_prob *P = glp_create_prob();

	glp_term_out(GLP_OFF);
	glp_add_cols(P, (int)ncols);
	for (size_t j = 1; j <= ncols; j++)
		glp_set_col_bnds(P, (int)j, GLP_LO, 0.0, 0.0);
	/* the corner does not exist */
	glp_set_col_bnds(P, col_of(spec, G, C), GLP_FX, 0.0, 0.0);
	return P;
}

/* Least and greatest sum of ind[1..m] over P (hi < 0: unbounded). */
static void
range(glp_prob *P, size_t ncols, const int *ind, int m, double *lo, double *hi)
{
	glp_smcp parm;

	glp_init_smcp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	for (size_t j = 1; j <= ncols; j++)
		glp_set_obj_coef(P, (int)j, 0.0);
	for (int q = 1; q <= m; q++)
		glp_set_obj_coef(P, ind[q], 1.0);
	glp_set_obj_dir(P, GLP_MAX);
	if (glp_simplex(P, &parm) == GLP_EBADB) {
		/* rows added or deleted since the last solve */
		glp_std_basis(P);
		assert_int_equal(glp_simplex(P, &parm), 0);
	}
	if (glp_get_status(P) == GLP_UNBND)
		*hi = -1.0;
	else {
		assert_int_equal(glp_get_status(P), GLP_OPT);
		*hi = glp_get_obj_val(P);
	}
	glp_set_obj_dir(P, GLP_MIN);
	assert_int_equal(glp_simplex(P, &parm), 0);
	assert_int_equal(glp_get_status(P), GLP_OPT);
	*lo = glp_get_obj_val(P);
}

/*
 * Judges the pattern the engine shows (udc_linked_get): every suppressed
 * count cell that the gemeente does not know must keep an interval of at
 * least need, or, where the gemeente's own list already confines it more,
 * all of what that list leaves (its prior interval given the cell >= lb).
 */
static void
judge(const struct udc_spec *spec, const struct udc_table *t, const struct udc_linked *l, int lb,
      uint64_t need, struct verdict *v)
{
	size_t G = spec->ncells[0], C = spec->ncells[1], ncols = (G + 1) * (C + 1);
	int *ind = malloc((ncols + 1) * sizeof(*ind));
	glp_prob *P = new_prob(spec), *Q = new_prob(spec);

	memset(v, 0, sizeof(*v));
	for (size_t ti = 0; ti < spec->ntables; ti++) {
		size_t n = udc_linked_ncells(l, ti);

		for (size_t k = 0; k < n; k++) {
			size_t co[UDC_MAX_TABLE_DIMS];
			struct udc_linked_cell cl;
			int m;

			udc_linked_coords(l, ti, k, co);
			udc_linked_get(l, ti, k, &cl);
			if ((m = members(spec, ti, co, ind)) == 0)
				continue;
			if (cl.suppressed && !cell_known(spec, ti, co))
				add_row(P, ind, m, GLP_LO, (double)lb);
			else
				add_row(P, ind, m, GLP_FX, (double)cell_truth(spec, t, ti, co));
		}
	}
	public_rows(spec, t, P, ind);
	public_rows(spec, t, Q, ind);
	for (size_t ti = 0; ti < spec->ntables; ti++) {
		size_t n = udc_linked_ncells(l, ti);

		for (size_t k = 0; k < n; k++) {
			size_t co[UDC_MAX_TABLE_DIMS];
			struct udc_linked_cell cl;
			double hi, lo, plo, phi, want = (double)need;
			int m, del[2];

			udc_linked_coords(l, ti, k, co);
			udc_linked_get(l, ti, k, &cl);
			if (!cl.suppressed || cell_known(spec, ti, co) ||
			    (m = members(spec, ti, co, ind)) == 0)
				continue;
			range(P, ncols, ind, m, &lo, &hi);
			/* the prior: the public rows and this cell >= lb */
			add_row(Q, ind, m, GLP_LO, (double)lb);
			range(Q, ncols, ind, m, &plo, &phi);
			del[1] = glp_get_num_rows(Q);
			glp_del_rows(Q, 1, del);
			if (phi >= 0 && phi - plo < want)
				want = phi - plo;
			v->checked++;
			if (hi >= 0 && hi - lo < want - 1e-6)
				v->narrow++;
			if (hi >= 0 && hi - lo < 1e-6)
				v->pinned++;
		}
	}
	glp_delete_prob(P);
	glp_delete_prob(Q);
	free(ind);
}

/* A small study like docs/examples/denhaag-kinderarmoede-tables.spec: every
 * population, a recode, conditions, zeros = sensitive. */
static const char study[] = "[spec]\nname=t\nkeys=bsn\n"
                            "[gemeente]\nw = w1, w2, w3\nage = young, old\npas = ja, nee\n"
                            "[cbs]\ninc = i1, i2, i3, i4\nuitk = ja, nee\n"
                            "[recode low]\nfrom = inc\nja = i1, i2\nnee = i3, i4\n"
                            "[table t_low]\ndims = w, low\n"
                            "[table t_pas]\ndims = w, pas\nwhere.low = ja\n"
                            "[table t_ben]\ndims = w, uitk\nwhere.low = ja\n"
                            "[table t_age]\ndims = age, inc\n"
                            "[table t_reg]\npopulation = gemeente\ndims = w\n"
                            "[table t_gonly]\npopulation = gemeente_only\ndims = w, age\n"
                            "[table t_conly]\npopulation = cbs_only\ndims = low\nzeros = sensitive\n"
                            "[table t_cbs]\npopulation = cbs\ndims = uitk\nwhere.inc = i1, i2, i3\n"
                            "[disclosure]\nmin_cell = %u\nprotection = %u\n";

static struct udc_spec *
study_spec(unsigned min_cell, unsigned protection)
{
	char text[2048];

	snprintf(text, sizeof(text), study, min_cell, protection);
	return spec_of(text);
}

/* Counts: many zeros and small values, some large ones. */
static void
fill(const struct udc_spec *spec, struct udc_table *t, unsigned dense)
{
	size_t G = spec->ncells[0], C = spec->ncells[1];

	for (size_t k = 0; k < G * C; k++)
		t->cells[k] = rnd(10) < dense ? rnd(3) ? 1 + rnd(12) : 15 + rnd(40) : 0;
	for (size_t g = 0; g < G; g++)
		t->g_unlinked[g] = rnd(3) ? rnd(6) : 10 + rnd(20);
	for (size_t c = 0; c < C; c++)
		t->c_unlinked[c] = rnd(3) ? rnd(6) : 10 + rnd(20);
}

static struct udc_linked *
model(const struct udc_spec *spec, const struct udc_table *t)
{
	struct udc_linked *l = NULL;
	char why[256];

	if (udc_linked_new(&l, spec, t, NULL, why, sizeof(why)) != 0)
		fail_msg("udc_linked_new: %s", why);
	return l;
}

/* --- tests --- */

/* Every value the engine releases (no suppression) is the test's own sum;
 * cells share a distinct id exactly when they hold the same base cells. */
static void
test_values(void **state)
{
	struct udc_spec *spec = study_spec(0, 1);
	struct udc_table *t = counts_of(spec);
	struct udc_linked *l;
	struct udc_linked_report rep;
	size_t ncols = (spec->ncells[0] + 1) * (spec->ncells[1] + 1), total = 0, empties = 0;
	uint8_t *sets[512];
	uint32_t ids[512];
	size_t nsets = 0, known = 0;
	char why[256];

	(void)state;
	rng_state = 11;
	fill(spec, t, 6);
	l = model(spec, t);
	assert_int_equal(udc_linked_suppress(l, &rep, why, sizeof(why)), 0);
	assert_int_equal(rep.primary, 0);
	assert_int_equal(rep.secondary, 0);
	for (size_t ti = 0; ti < spec->ntables; ti++) {
		for (size_t k = 0; k < udc_linked_ncells(l, ti); k++) {
			size_t co[UDC_MAX_TABLE_DIMS];
			struct udc_linked_cell c;
			uint8_t *set = calloc(ncols, 1);
			int any = 0;

			udc_linked_coords(l, ti, k, co);
			assert_int_equal(udc_linked_index(l, ti, co), k);
			assert_int_equal(udc_linked_get(l, ti, k, &c), 0);
			assert_false(c.suppressed);
			assert_int_equal(c.count, cell_truth(spec, t, ti, co));
			assert_int_equal(c.known, cell_known(spec, ti, co));
			known += c.known;
			for (size_t g = 0; g <= spec->ncells[0]; g++)
				for (size_t cc = 0; cc <= spec->ncells[1]; cc++)
					if (in_cell(spec, ti, co, g, cc)) {
						set[col_of(spec, g, cc) - 1] = 1;
						any = 1;
					}
			assert_int_equal(c.empty, !any);
			empties += c.empty;
			/* same base cells <=> same distinct cell */
			for (size_t s = 0; s < nsets; s++) {
				int same = memcmp(sets[s], set, ncols) == 0;

				if (same != (ids[s] == c.distinct))
					fail_msg("table %s cell %zu: distinct id %u, same set as id %u: %d",
					         spec->tables[ti].name, k, c.distinct, ids[s], same);
			}
			assert_true(nsets < 512);
			sets[nsets] = set;
			ids[nsets++] = c.distinct;
			total++;
		}
	}
	assert_int_equal(rep.cells, total);
	/* the eligible per wijk is one cell in three tables */
	{
		size_t a[2] = {0, 0}, b[2] = {0, 2}, c2[2] = {0, 2};
		struct udc_linked_cell x, y, z;

		size_t tl = tindex(spec, "t_low"), tp = tindex(spec, "t_pas"),
		       tb = tindex(spec, "t_ben");

		/* t_low (w1, ja); t_pas (w1, total); t_ben (w1, total) */
		udc_linked_get(l, tl, udc_linked_index(l, tl, a), &x);
		udc_linked_get(l, tp, udc_linked_index(l, tp, b), &y);
		udc_linked_get(l, tb, udc_linked_index(l, tb, c2), &z);
		assert_int_equal(x.distinct, y.distinct);
		assert_int_equal(x.distinct, z.distinct);
	}
	/* t_reg: three wijken and the total; the links: t_low's and t_age's
	 * grand totals */
	assert_int_equal(known, 6);
	assert_int_equal(empties, 0);
	for (size_t s = 0; s < nsets; s++)
		free(sets[s]);
	udc_linked_free(l);
	udc_table_free(t);
	udc_spec_free(spec);
}

/* Every cell 0 < count < min_cell is suppressed, zeros of t_conly too. */
static void
check_primary(const struct udc_spec *spec, const struct udc_table *t, const struct udc_linked *l)
{
	for (size_t ti = 0; ti < spec->ntables; ti++)
		for (size_t k = 0; k < udc_linked_ncells(l, ti); k++) {
			size_t co[UDC_MAX_TABLE_DIMS];
			struct udc_linked_cell c;
			uint64_t v;

			udc_linked_coords(l, ti, k, co);
			udc_linked_get(l, ti, k, &c);
			v = cell_truth(spec, t, ti, co);
			if (c.empty)
				continue;
			if (v > 0 && v < spec->min_cell)
				assert_true(c.suppressed);
			if (v == 0 && spec->tables[ti].zeros_sensitive)
				assert_true(c.suppressed);
			if (!c.suppressed)
				assert_int_equal(c.count, v);
		}
}

/* Random studies: the judge finds nothing narrower than the protection in
 * what the engine releases, and finds plenty after primary suppression
 * alone. */
static void
test_study_judged(void **state)
{
	size_t leaky = 0, refused = 0, runs = 0, narrow_primary = 0;

	(void)state;
	rng_state = 12;
	for (int i = 0; i < 40; i++) {
		struct udc_spec *spec = study_spec(5, 1 + (unsigned)(i % 3));
		struct udc_table *t = counts_of(spec);
		struct udc_linked *l, *p;
		struct udc_linked_report rep, arep;
		struct verdict v;
		char why[512];
		int rv;

		fill(spec, t, 3 + (unsigned)(i % 6));
		l = model(spec, t);
		rv = udc_linked_suppress(l, &rep, why, sizeof(why));
		if (rv == UDC_EREFUSED) {
			refused++;
		} else {
			assert_int_equal(rv, 0);
			runs++;
			check_primary(spec, t, l);
			judge(spec, t, l, rep.lb, spec->protection, &v);
			if (v.narrow != 0)
				fail_msg("run %d: %zu of %zu suppressed cells narrower than %u", i,
				         v.narrow, v.checked, spec->protection);
			/* the engine's own audit agrees */
			assert_int_equal(udc_linked_audit(l, 1, &arep, why, sizeof(why)), 0);
			assert_int_equal(arep.audit_short, 0);
			assert_true(arep.audited <= v.checked);
		}
		/* primary alone, marked on a fresh model */
		p = model(spec, t);
		for (size_t ti = 0; ti < spec->ntables; ti++)
			for (size_t k = 0; k < udc_linked_ncells(p, ti); k++) {
				size_t co[UDC_MAX_TABLE_DIMS];
				uint64_t x;

				udc_linked_coords(p, ti, k, co);
				x = cell_truth(spec, t, ti, co);
				if ((x > 0 && x < spec->min_cell) ||
				    (x == 0 && spec->tables[ti].zeros_sensitive))
					assert_int_equal(udc_linked_mark(p, ti, k, 0), 0);
			}
		judge(spec, t, p, 0, spec->protection, &v);
		narrow_primary += v.narrow;
		leaky += v.pinned > 0;
		udc_linked_free(p);
		udc_linked_free(l);
		udc_table_free(t);
		udc_spec_free(spec);
	}
	print_message("studies: %zu protected, %zu refused; primary alone: %zu of 40 leak "
	              "exactly, %zu cells too narrow\n",
	              runs, refused, leaky, narrow_primary);
	assert_true(runs >= 36);
	assert_true(leaky >= 20);
}

/*
 * The shared-margin leak.  Table a is wijk x income (linked), table b the
 * linked children per wijk: b's cells are a's row totals.
 *
 *          a    b |  T          b:  w1   8
 *   w1     3    5 |  8              w2  60
 *   w2    10   50 | 60              w3  50
 *   w3    25   25 | 50              T  118
 *   T     38   80 |118
 *
 * Each table protected alone, as a table-by-table method would: a hides
 * the rows of w1 and w2 whole (3, 5 and 8 are under 10; w1's cells move
 * against w2's), b hides w1 and the cheaper other wijk, w3.  The judge
 * passes each alone.  Released together, a shows w3's total and b shows
 * w2's: w1 = 118 - 60 - 50 = 8 exactly.  Protected together by the
 * engine, no cell is narrower than the protection.
 */
static const char leak_head[] = "[spec]\nname=leak\nkeys=bsn\n[gemeente]\nw = w1, w2, w3\n"
                                "[cbs]\nk = a, b\n[disclosure]\nmin_cell = 10\n";

static void
test_shared_margin_leak(void **state)
{
	static const uint64_t v[6] = {3, 5, 10, 50, 25, 25};
	/* a's cells (w * 3 + k, k = 2 the row total), b's cells (w) */
	static const size_t hide_a[] = {0, 1, 2, 3, 4, 5}, hide_b[] = {0, 2};
	char text[1024], why[512];
	struct udc_spec *sa, *sb, *sab;
	struct udc_table *t;
	struct udc_linked *la, *lb, *lab, *lu;
	struct udc_linked_report rep;
	struct udc_linked_cell c;
	struct verdict vd;
	size_t co[1] = {0};

	(void)state;
	snprintf(text, sizeof(text), "%s[table a]\ndims = w, k\n", leak_head);
	sa = spec_of(text);
	snprintf(text, sizeof(text), "%s[table b]\ndims = w\n", leak_head);
	sb = spec_of(text);
	snprintf(text, sizeof(text), "%s[table a]\ndims = w, k\n[table b]\ndims = w\n", leak_head);
	sab = spec_of(text);
	t = counts_of(sa);
	memcpy(t->cells, v, sizeof(v));
	for (size_t g = 0; g < 3; g++)
		t->g_unlinked[g] = 7;
	t->c_unlinked[0] = t->c_unlinked[1] = 20;

	/* each alone: protected */
	la = model(sa, t);
	for (size_t i = 0; i < sizeof(hide_a) / sizeof(hide_a[0]); i++)
		assert_int_equal(udc_linked_mark(la, 0, hide_a[i], 0), 0);
	judge(sa, t, la, 1, 1, &vd);
	assert_int_equal(vd.checked, 6);
	assert_int_equal(vd.narrow, 0);
	lb = model(sb, t);
	for (size_t i = 0; i < sizeof(hide_b) / sizeof(hide_b[0]); i++)
		assert_int_equal(udc_linked_mark(lb, 0, hide_b[i], 0), 0);
	judge(sb, t, lb, 1, 1, &vd);
	assert_int_equal(vd.checked, 2);
	assert_int_equal(vd.narrow, 0);

	/* released together: hidden only where both hid it */
	lu = model(sab, t);
	for (size_t i = 0; i < 5; i++) /* not 5: b shows w2 */
		assert_int_equal(udc_linked_mark(lu, 0, hide_a[i], 0), 0);
	assert_int_equal(udc_linked_mark(lu, 1, 0, 0), 0); /* not w3: a shows it */
	judge(sab, t, lu, 1, 1, &vd);
	assert_true(vd.pinned >= 1);
	/* the engine's audit sees the same leak, and the value */
	assert_int_equal(udc_linked_audit(lu, 1, &rep, why, sizeof(why)), 0);
	assert_true(rep.audit_short >= 1);
	udc_linked_get(lu, 1, udc_linked_index(lu, 1, co), &c);
	assert_true(c.suppressed && c.audited);
	assert_true(c.lo == 8.0 && c.hi == 8.0);

	/* protected together: nothing narrow; w1 keeps an interval */
	lab = model(sab, t);
	assert_int_equal(udc_linked_suppress(lab, &rep, why, sizeof(why)), 0);
	assert_false(rep.two_way);
	judge(sab, t, lab, rep.lb, 1, &vd);
	assert_int_equal(vd.narrow, 0);
	assert_int_equal(vd.pinned, 0);
	assert_true(vd.checked >= 4);
	assert_int_equal(udc_linked_audit(lab, 1, &rep, why, sizeof(why)), 0);
	assert_int_equal(rep.audit_short, 0);
	udc_linked_get(lab, 1, udc_linked_index(lab, 1, co), &c);
	assert_true(c.suppressed && c.audited && c.hi - c.lo >= 1.0);
	udc_linked_free(la);
	udc_linked_free(lb);
	udc_linked_free(lu);
	udc_linked_free(lab);
	udc_table_free(t);
	udc_spec_free(sa);
	udc_spec_free(sb);
	udc_spec_free(sab);
}

/* One two-way table goes through the certified cycles; the judge agrees,
 * with and without padded categories. */
static void
test_two_way(void **state)
{
	static const char head[] = "[spec]\nname=tw\nkeys=bsn\n[gemeente]\ng = %s\n"
	                           "[cbs]\nk = k1, k2, k3, k4, k5, k6\n"
	                           "[table x]\ndims = k, g\n"
	                           "[disclosure]\nmin_cell = 10\nprotection = %u\n"
	                           "pad_categories = %s\n";
	size_t done = 0, leaky = 0;

	(void)state;
	rng_state = 13;
	for (int i = 0; i < 30; i++) {
		char text[1024], vals[512] = "";
		struct udc_spec *spec;
		struct udc_table *t;
		struct udc_linked *l, *p;
		struct udc_linked_report rep;
		struct verdict v;
		size_t ng = 6 + (size_t)(i % 10);
		char why[512];
		int rv;

		for (size_t g = 0; g < ng; g++) {
			char one[16];

			snprintf(one, sizeof(one), "%sg%zu", g ? ", " : "", g);
			strcat(vals, one);
		}
		snprintf(text, sizeof(text), head, vals, 1 + (unsigned)(i % 4),
		         i % 2 ? "none" : "max");
		spec = spec_of(text);
		t = counts_of(spec);
		fill(spec, t, 4 + (unsigned)(i % 5));
		l = model(spec, t);
		rv = udc_linked_suppress(l, &rep, why, sizeof(why));
		if (rv == 0) {
			assert_true(rep.two_way);
			assert_true(rep.primary == 0 || rep.certificates > 0);
			check_primary(spec, t, l);
			judge(spec, t, l, rep.lb, spec->protection, &v);
			if (v.narrow != 0)
				fail_msg("two-way %d: %zu narrow of %zu", i, v.narrow, v.checked);
			done++;
		} else {
			assert_int_equal(rv, UDC_EREFUSED);
		}
		p = model(spec, t);
		for (size_t k = 0; k < udc_linked_ncells(p, 0); k++) {
			size_t co[2];
			uint64_t x;

			udc_linked_coords(p, 0, k, co);
			x = cell_truth(spec, t, 0, co);
			if (x > 0 && x < 10)
				udc_linked_mark(p, 0, k, 0);
		}
		judge(spec, t, p, 1, 1, &v);
		leaky += v.pinned > 0;
		udc_linked_free(p);
		udc_linked_free(l);
		udc_table_free(t);
		udc_spec_free(spec);
	}
	print_message("two-way: %zu of 30 protected; primary alone leaks in %zu\n", done, leaky);
	assert_true(done >= 27);
	assert_true(leaky >= 10);
}

/*
 * Magnitudes by hand: income per wijk (linked), p = 15, at least 3
 * contributors, min_cell 3.
 *   w1: 3 persons, contributions 100, 10, 5: sum 115, the rest after the
 *       two largest is 5 < 15% of 100: dominance, upper protection
 *       15 - 5 = 10.
 *   w2: (a) 30, 30, 30, 30 and (b) 40, 20: sum 180, safe.
 *   w3: (a) 10, 20, 30, 40, 50 and (b) 100: sum 250, safe.
 *   total: sum 545, largest 100 and 100, safe.
 * w1 alone would be the total minus w2 and w3; the cheaper of the two,
 * w2, is hidden too.  w1 can then be anything in 0..295: 180 above 115.
 */
static void
test_magnitudes(void **state)
{
	static const char text[] = "[spec]\nname=m\nkeys=bsn\n[gemeente]\nw = w1, w2, w3\n"
	                           "[cbs]\nk = a, b\n[attributes]\ninkomen = cbs\n"
	                           "[table inc]\ndims = w\nsum = inkomen\nmean = yes\n"
	                           "[table cnt]\ndims = w, k\n"
	                           "[disclosure]\nmin_cell = 3\np_percent = 15\n"
	                           "min_contributors = 3\n";
	struct udc_spec *spec = exact_sums(spec_of(text));
	struct udc_table *t = counts_of(spec);
	struct udc_mag_cell cells[6], cun[2];
	struct udc_mag_cube cube;
	struct udc_linked *l;
	struct udc_linked_report rep;
	struct udc_linked_cell c;
	char why[512], *buf = NULL;
	size_t len = 0;
	FILE *f;

	(void)state;
	memset(cells, 0, sizeof(cells));
	memset(cun, 0, sizeof(cun));
	/* (w, k) = w * 2 + k */
	t->cells[0] = 3;
	cells[0] = (struct udc_mag_cell){115, 3, 100, 10};
	t->cells[2] = 4;
	cells[2] = (struct udc_mag_cell){120, 4, 30, 30};
	t->cells[3] = 2;
	cells[3] = (struct udc_mag_cell){60, 2, 40, 20};
	t->cells[4] = 5;
	cells[4] = (struct udc_mag_cell){150, 5, 50, 40};
	t->cells[5] = 1;
	cells[5] = (struct udc_mag_cell){100, 1, 100, 0};
	t->c_unlinked[0] = 4;
	cun[0] = (struct udc_mag_cell){4000, 4, 1000, 1000};
	cube.cells = cells;
	cube.c_unlinked = cun;
	assert_int_equal(udc_linked_new(&l, spec, t, &cube, why, sizeof(why)), 0);
	if (udc_linked_suppress(l, &rep, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_string_equal(spec->tables[1].name, "inc");
	/* w1 */
	udc_linked_get(l, 1, 0, &c);
	assert_true(c.has_sum && c.sum_suppressed);
	assert_int_equal(c.sum_reason, UDC_REASON_DOMINANCE);
	assert_false(c.suppressed); /* the count 3 is released */
	assert_int_equal(c.count, 3);
	assert_false(c.mean);
	/* w2: the complement */
	udc_linked_get(l, 1, 1, &c);
	assert_true(c.sum_suppressed);
	assert_int_equal(c.sum_reason, UDC_REASON_SECONDARY);
	assert_false(c.mean);
	/* w3 and the total: released with their means */
	udc_linked_get(l, 1, 2, &c);
	assert_false(c.sum_suppressed);
	assert_int_equal(c.sum, 250);
	assert_true(c.mean);
	udc_linked_get(l, 1, 3, &c);
	assert_int_equal(c.sum, 545);
	assert_int_equal(rep.mag_primary, 1);
	assert_int_equal(rep.mag_secondary, 1);
	/* the audit: w1 can reach 295, 180 above its 115 */
	assert_int_equal(udc_linked_audit(l, 1, &rep, why, sizeof(why)), 0);
	assert_int_equal(rep.audit_short, 0);
	udc_linked_get(l, 1, 0, &c);
	assert_true(c.audited);
	assert_true(c.lo == 0.0 && c.hi == 295.0);
	/* the CSV: empty sum and mean where suppressed, two decimals; no
	 * reasons (why a cell is suppressed would tell more than the
	 * protection allows for: "zero", "small" or "dominance") */
	assert_non_null(f = open_memstream(&buf, &len));
	assert_int_equal(udc_linked_write_csv(l, 1, f), 0);
	fclose(f);
	assert_string_equal(buf, "w,count,suppressed,sum,sum_suppressed,mean\n"
	                         "w1,3,0,,1,\n"
	                         "w2,6,0,,1,\n"
	                         "w3,6,0,250,0,41.67\n"
	                         ",15,0,545,0,36.33\n");
	free(buf);
	udc_linked_free(l);

	/* The count and contributor rules: one cell of 1 person (count and
	 * sum suppressed), one of 2 contributions out of 4 persons. */
	{
		static const char text2[] = "[spec]\nname=m2\nkeys=bsn\n[gemeente]\nw = w1, w2, w3\n"
		                            "[cbs]\nk = a\n[attributes]\ninkomen = cbs\n"
		                            "[table inc]\ndims = w\nsum = inkomen\n"
		                            "[disclosure]\nmin_cell = 2\n";
		struct udc_spec *s2 = exact_sums(spec_of(text2));
		struct udc_table *t2 = counts_of(s2);
		struct udc_mag_cell c2[3] = {{500, 1, 500, 0}, {90, 2, 50, 40}, {300, 6, 60, 60}};
		struct udc_mag_cell u2[1] = {{0, 0, 0, 0}};

		t2->cells[0] = 1;
		t2->cells[1] = 4;
		t2->cells[2] = 6;
		/* without them the gemeente's own list (1 child in w1) would
		 * pin the suppressed 1: the engine would rightly refuse */
		for (size_t g = 0; g < 3; g++)
			t2->g_unlinked[g] = 5;
		cube.cells = c2;
		cube.c_unlinked = u2;
		assert_int_equal(udc_linked_new(&l, s2, t2, &cube, why, sizeof(why)), 0);
		if (udc_linked_suppress(l, &rep, why, sizeof(why)) != 0)
			fail_msg("%s", why);
		udc_linked_get(l, 0, 0, &c);
		assert_true(c.suppressed && c.reason == UDC_REASON_SMALL);
		assert_true(c.sum_suppressed && c.sum_reason == UDC_REASON_COUNT);
		udc_linked_get(l, 0, 1, &c);
		assert_true(c.sum_suppressed && c.sum_reason == UDC_REASON_CONTRIBUTORS);
		assert_int_equal(udc_linked_audit(l, 1, &rep, why, sizeof(why)), 0);
		assert_int_equal(rep.audit_short, 0);
		udc_linked_free(l);
		/* inconsistent magnitudes are refused with a reason */
		c2[1].top1 = 95;
		assert_int_equal(udc_linked_new(&l, s2, t2, &cube, why, sizeof(why)), UDC_EINVAL);
		assert_non_null(strstr(why, "inconsistent"));
		assert_int_equal(udc_linked_new(&l, s2, t2, NULL, why, sizeof(why)), UDC_EINVAL);
		assert_non_null(strstr(why, "sums inkomen"));
		udc_table_free(t2);
		udc_spec_free(s2);
	}
	udc_table_free(t);
	udc_spec_free(spec);
}

/*
 * Noise and rounding per distinct cell.  Tables: a = w x k (linked),
 * r = w (the gemeente's list), kk = k (linked, the same cells as a's
 * column totals).  One person changes at most: a's cell, its row total,
 * its column total and the grand total, and r's wijk and total: 6 cells.
 * So a release at epsilon 1/10 costs 6/10 = 3/5.
 */
/* --- group-mean estimates (magest.h, udc_linked_estimate) --- */

/* The grouping against expectations worked out by hand. */
static void
test_grouping(void **state)
{
	uint64_t b[4];
	uint8_t grp[16];
	char why[256];

	(void)state;
	/* the p%-rule on its own: 10 + 10 + 80: 10 >= 10% of 80; 5 + 10 + 85 fails */
	assert_int_equal(udc_mag_group_check((const uint64_t[]){10, 10, 80}, 3, 3, 3, 10), 0);
	assert_int_equal(udc_mag_group_check((const uint64_t[]){5, 10, 85}, 3, 3, 3, 10), 3);
	assert_int_equal(udc_mag_group_check((const uint64_t[]){0, 0, 5, 6}, 4, 3, 3, 0), 2);
	assert_int_equal(udc_mag_group_check((const uint64_t[]){5, 6}, 2, 3, 1, 0), 1);

	/* ties: ranks 0..7, slot r * 4 / 8; the run 3,3,3 starts at rank 2 and
	 * stays in slot 1, so slot 2 holds only the 6 */
	{
		const uint64_t v[8] = {7, 3, 1, 3, 8, 2, 6, 3};
		const uint8_t want[8] = {3, 1, 0, 1, 3, 0, 2, 1};

		assert_int_equal(udc_mag_bounds(v, 8, 4, b), 0);
		assert_true(b[0] == 0 && b[1] == 3 && b[2] == 6 && b[3] == 7);
		assert_int_equal(udc_mag_group(v, 8, 4, NULL, 1, 1, 0, grp, why, sizeof(why)), 4);
		assert_memory_equal(grp, want, 8);
		/* min_cell 2: the lone 6 is merged with the next group, whose name
		 * (slot 3, two values) the larger part gives */
		const uint8_t want2[8] = {3, 1, 0, 1, 3, 0, 3, 1};
		assert_int_equal(udc_mag_group(v, 8, 4, NULL, 2, 1, 0, grp, why, sizeof(why)), 3);
		assert_memory_equal(grp, want2, 8);
	}
	/* naming by the larger part: {1} {2,3,4} with min_cell 2 is one group
	 * named 1 (slot 1 brought three values), not 0 */
	{
		const uint64_t bb[2] = {0, 2};
		const uint64_t v[4] = {4, 1, 3, 2};

		assert_int_equal(udc_mag_group(v, 4, 2, bb, 2, 1, 0, grp, why, sizeof(why)), 1);
		for (size_t i = 0; i < 4; i++)
			assert_int_equal(grp[i], 1);
	}
	/* min_cell 3: slots r * 4 / 9 give {1,2,3} {4,5} {6,7} {8,9}; {4,5} is
	 * merged with the next one (parts of two: the lower name, 1), then the
	 * last, {8,9}, with the one before (two against two: 1 again) */
	{
		const uint64_t v[9] = {9, 1, 2, 3, 4, 5, 6, 7, 8};
		const uint8_t want[9] = {1, 0, 0, 0, 1, 1, 1, 1, 1};

		assert_int_equal(udc_mag_group(v, 9, 4, NULL, 3, 1, 0, grp, why, sizeof(why)), 2);
		assert_memory_equal(grp, want, 9);
	}
	/* the p%-rule on a group: a group of two always fails it (nothing is
	 * left beside the two largest); {1,2,3,4}: 3 >= 10% of 4 passes;
	 * {5,6,7,100}: 11 >= 10% of 100 passes */
	{
		const uint64_t v[8] = {1, 2, 3, 4, 5, 6, 7, 100};
		const uint8_t want[8] = {0, 0, 0, 0, 2, 2, 2, 2};

		assert_int_equal(udc_mag_group(v, 8, 4, NULL, 1, 1, 10, grp, why, sizeof(why)), 2);
		assert_memory_equal(grp, want, 8);
		/* with p 15, {5,6,7,100} fails (11 < 15) and is merged with the one
		 * before: everything in one group, 21 >= 15 */
		assert_int_equal(udc_mag_group(v, 8, 4, NULL, 1, 1, 15, grp, why, sizeof(why)), 1);
	}
	/* min_contributors: four zeros are no group of 3 contributors; all
	 * eight together are */
	{
		const uint64_t v[8] = {0, 0, 0, 0, 5, 6, 7, 8};

		assert_int_equal(udc_mag_group(v, 8, 2, NULL, 2, 3, 0, grp, why, sizeof(why)), 1);
		for (size_t i = 0; i < 8; i++)
			assert_int_equal(grp[i], 0);
	}
	/* one contributor among zeros: not even the whole can be released */
	{
		const uint64_t v[8] = {0, 0, 0, 0, 0, 0, 0, 1000};

		assert_int_equal(udc_mag_group(v, 8, 2, NULL, 2, 3, 0, grp, why, sizeof(why)),
		                 UDC_EREFUSED);
		assert_non_null(strstr(why, "min_contributors"));
		assert_null(strstr(why, "1000"));
	}
	/* fewer than min_cell in all: one group, left to the category rule */
	assert_int_equal(udc_mag_group((const uint64_t[]){1, 2, 3}, 3, 4, NULL, 10, 1, 0, grp, why,
	                               sizeof(why)), 1);
	/* bounds from elsewhere (the whole list): 1, 2 below 10, 11, 12 above */
	{
		const uint64_t bb[2] = {0, 10};
		const uint64_t v[4] = {12, 1, 11, 2};
		const uint8_t want[4] = {1, 0, 1, 0};

		assert_int_equal(udc_mag_group(v, 4, 2, bb, 2, 1, 0, grp, why, sizeof(why)), 2);
		assert_memory_equal(grp, want, 4);
	}
	/* an empty last slot (every value tied): bound UINT64_MAX, one group */
	{
		const uint64_t v[4] = {5, 5, 5, 5};

		assert_int_equal(udc_mag_bounds(v, 4, 3, b), 0);
		assert_true(b[1] == UINT64_MAX && b[2] == UINT64_MAX);
		assert_int_equal(udc_mag_group(v, 4, 3, NULL, 1, 1, 0, grp, why, sizeof(why)), 1);
	}
}

/* The CBS list relabelled: category x group, with the groups' sums. */
static void
test_regroup(void **state)
{
	static const char text[] = "[spec]\nname=r\nkeys=bsn\n[gemeente]\nw = w1\n"
	                           "[cbs]\nk = a, b\n[attributes]\ninkomen = cbs\ninkomen.groups = 2\n"
	                           "[table inc]\ndims = w\nsum = inkomen\n"
	                           "[disclosure]\nmin_cell = 2\nmin_contributors = 1\np_percent = 0\n";
	struct udc_spec *spec = spec_of(text);
	/* the whole list's bounds: 8 values, slot r * 2 / 8: {1,2,3,4} | {10,20,30,40} */
	uint16_t lab[8] = {0, 0, 0, 0, 2, 2, 2, 2};  /* category a: 0, b: 1 (x 2 groups) */
	const uint64_t v[8] = {1, 2, 10, 20, 3, 4, 30, 40};
	const uint16_t want[8] = {0, 0, 1, 1, 2, 2, 3, 3};
	uint64_t gsum[4], gn[4];
	char why[256];

	(void)state;
	assert_int_equal(spec->ncells[UDC_SIDE_CBS], 4);
	assert_int_equal(udc_mag_regroup(spec, lab, v, 8, gsum, gn, why, sizeof(why)), 0);
	assert_memory_equal(lab, want, sizeof(want));
	assert_true(gsum[0] == 3 && gsum[1] == 30 && gsum[2] == 7 && gsum[3] == 70);
	assert_true(gn[0] == 2 && gn[1] == 2 && gn[2] == 2 && gn[3] == 2);
	/* a label with a group already set is refused */
	lab[0] = 1;
	assert_int_equal(udc_mag_regroup(spec, lab, v, 8, gsum, gn, why, sizeof(why)), UDC_EINVAL);
	udc_spec_free(spec);
}

/*
 * The attack the group table's protection stops.  Wijk w1 has 7 linked
 * children, 5 in the low group and 2 in the high one (a count below
 * min_cell 3).  Released without protection, the estimate of w1 and its
 * count give the 2 back: n_high = (sum - count * mean_low) / (mean_high -
 * mean_low).  The release suppresses (w1, high), protects it, withholds
 * w1's estimate, and releases the others as count x mean.
 */
static void
test_estimate_attack(void **state)
{
	static const char text[] = "[spec]\nname=e\nkeys=bsn\n[gemeente]\nw = w1, w2, w3\n"
	                           "[cbs]\nk = a\n[attributes]\ninkomen = cbs\ninkomen.groups = 2\n"
	                           "[table inc]\ndims = w\nsum = inkomen\nmean = yes\n"
	                           "[disclosure]\nmin_cell = 3\n";
	struct udc_spec *spec = spec_of(text);
	struct udc_table *t = counts_of(spec);
	/* per CBS cell (a, group): the whole CBS list's sums and sizes: means
	 * 1000 and 3000.5, rounded half up to 3001 */
	const uint64_t gsum[2] = {30 * 1000, 30 * 3000 + 15}, gn[2] = {30, 30};
	const uint64_t n[3][2] = {{5, 2}, {4, 6}, {7, 8}};
	size_t ti = tindex(spec, "inc"), fi = tindex(spec, "inc_groups");
	struct udc_linked *l;
	struct udc_linked_report rep;
	struct udc_linked_cell c;
	uint64_t means[2];
	uint8_t def[2];
	char why[512];

	(void)state;
	for (size_t w = 0; w < 3; w++) {
		t->cells[w * 2 + 0] = n[w][0];
		t->cells[w * 2 + 1] = n[w][1];
		t->g_unlinked[w] = 4;
	}
	t->c_unlinked[0] = 30 - 16;
	t->c_unlinked[1] = 30 - 16;
	/* without protection: the estimate and the count name the small group */
	{
		uint64_t est = n[0][0] * 1000 + n[0][1] * 3001, cnt = n[0][0] + n[0][1];
		assert_int_equal((est - cnt * 1000) / (3001 - 1000), 2);
	}
	assert_int_equal(udc_linked_new(&l, spec, t, NULL, why, sizeof(why)), 0);
	if (udc_linked_suppress(l, &rep, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(udc_linked_estimate(l, gsum, gn, why, sizeof(why)), 0);
	assert_true(udc_linked_estimated(l, ti));
	assert_false(udc_linked_estimated(l, fi));
	/* (w1, high) = 2 is suppressed, and so is w1's estimate */
	udc_linked_get(l, fi, udc_linked_index(l, fi, (const size_t[]){0, 1}), &c);
	assert_true(c.suppressed);
	udc_linked_get(l, ti, 0, &c);
	assert_true(c.has_sum && c.sum_suppressed);
	assert_false(c.mean);
	/* every released estimate is count(w, g) x mean(g) over released counts */
	for (size_t w = 0; w < 4; w++) {
		struct udc_linked_cell g0, g1;

		udc_linked_get(l, ti, w, &c);
		udc_linked_get(l, fi, udc_linked_index(l, fi, (const size_t[]){w, 0}), &g0);
		udc_linked_get(l, fi, udc_linked_index(l, fi, (const size_t[]){w, 1}), &g1);
		assert_int_equal(c.sum_suppressed, c.suppressed || g0.suppressed || g1.suppressed);
		if (!c.sum_suppressed)
			assert_int_equal(c.sum, g0.count * 1000 + g1.count * 3001);
	}
	/* w3 with its 7 and 8 is released: 7 * 1000 + 8 * 3001 */
	udc_linked_get(l, ti, 2, &c);
	assert_false(c.sum_suppressed);
	assert_int_equal(c.sum, 7 * 1000 + 8 * 3001);
	assert_true(c.mean);
	assert_int_equal(udc_linked_group_means(l, ti, 2, means, def), 0);
	assert_true(means[0] == 1000 && means[1] == 3001 && def[0] && def[1]);
	/* and the LP: no suppressed count, (w1, high) included, is narrowed
	 * below the protection by everything released */
	if (udc_linked_audit(l, 1, &rep, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_true(rep.audited > 0);
	assert_int_equal(rep.audit_short, 0);
	/* the CSV says estimate */
	{
		char *buf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&buf, &len);

		assert_int_equal(udc_linked_write_csv(l, ti, f), 0);
		fclose(f);
		assert_non_null(strstr(buf, "w,count,suppressed,sum_estimate,sum_suppressed,"
		                            "mean_estimate\n"));
		if (strstr(buf, "w3,15,0,31008,0,2067.20\n") == NULL)
			fail_msg("%s", buf);
		free(buf);
	}
	udc_linked_free(l);
	udc_table_free(t);
	udc_spec_free(spec);
}

static void
test_noise(void **state)
{
	static const char text[] = "[spec]\nname=n\nkeys=bsn\n[gemeente]\nw = w1, w2, w3\n"
	                           "[cbs]\nk = a, b\n"
	                           "[table a]\ndims = w, k\n"
	                           "[table r]\npopulation = gemeente\ndims = w\n"
	                           "[table kk]\ndims = k\n"
	                           "[disclosure]\nmin_cell = 0\n";
	struct udc_spec *spec = spec_of(text);
	struct udc_table *t = counts_of(spec);
	struct udc_disclosure_params p;
	struct udc_linked_report rep;
	struct udc_linked *l;
	struct udc_ledger *lg;
	struct udc_rational spent;
	char dir[] = "/tmp/udc-linked-XXXXXX", path[128], why[256];
	int moved = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/ledger", dir);
	for (size_t k = 0; k < 6; k++)
		t->cells[k] = 100 + 10 * k;
	for (size_t g = 0; g < 3; g++)
		t->g_unlinked[g] = 30;
	memset(&p, 0, sizeof(p));
	p.eps_num = 1;
	p.eps_den = 10;
	p.round_base = 5;
	p.ledger_path = path;
	p.budget.num = 1;
	p.budget.den = 1;
	memset(p.population, 7, 32);
	memcpy(p.spec_hash, spec->hash, 32);
	rng_state = 14;
	udc_random_set_source(det_source, NULL);
	l = model(spec, t);
	assert_int_equal(udc_linked_disclose(l, &p, &rep, why, sizeof(why)), 0);
	assert_int_equal(rep.sensitivity, 6);
	assert_true(rep.charged.num == 3 && rep.charged.den == 5);
	assert_int_equal(udc_ledger_open(&lg, path), 0);
	udc_ledger_spent(lg, p.population, p.spec_hash, &spent);
	assert_true(spent.num == 3 && spent.den == 5);
	udc_ledger_close(lg);
	/* a's column totals are kk's cells: one draw each, the same value */
	assert_string_equal(spec->tables[1].name, "kk");
	for (size_t k = 0; k < 3; k++) {
		size_t ca[2] = {3, k}, ck[1] = {k};
		struct udc_linked_cell x, y;

		udc_linked_get(l, 0, udc_linked_index(l, 0, ca), &x);
		udc_linked_get(l, 1, udc_linked_index(l, 1, ck), &y);
		assert_int_equal(x.distinct, y.distinct);
		assert_int_equal(x.count, y.count);
		assert_int_equal(x.count % 5, 0);
	}
	for (size_t k = 0; k < udc_linked_ncells(l, 0); k++) {
		size_t co[2];
		struct udc_linked_cell x;

		udc_linked_coords(l, 0, k, co);
		udc_linked_get(l, 0, k, &x);
		assert_int_equal(x.count % 5, 0);
		moved += x.count != cell_truth(spec, t, 0, co);
	}
	assert_true(moved > 0);
	udc_linked_free(l);
	/* a second release fits (6/5 > 1 does not) */
	l = model(spec, t);
	assert_int_equal(udc_linked_disclose(l, &p, &rep, why, sizeof(why)), UDC_EREFUSED);
	assert_int_equal(rep.charged.num, 0);
	assert_non_null(strstr(why, "budget"));
	udc_linked_free(l);
	udc_random_set_source(NULL, NULL);
	unlink(path);
	rmdir(dir);
	udc_table_free(t);
	udc_spec_free(spec);
}

/* zeros = sensitive: zeros are suppressed as small cells are, and the
 * attacker's bound on a suppressed cell falls to 0. */
static void
test_sensitive_zeros(void **state)
{
	static const char text[] = "[spec]\nname=z\nkeys=bsn\n[gemeente]\nw = w1, w2\n"
	                           "[cbs]\nk = a, b, c\n"
	                           "[table reach]\npopulation = cbs_only\ndims = k\nzeros = sensitive\n"
	                           "[table all]\ndims = w, k\n"
	                           "[disclosure]\nmin_cell = 5\n";
	struct udc_spec *spec = spec_of(text);
	struct udc_table *t = counts_of(spec);
	struct udc_linked *l;
	struct udc_linked_report rep;
	struct udc_linked_cell c;
	struct verdict v;
	char why[512];

	(void)state;
	for (size_t k = 0; k < 6; k++)
		t->cells[k] = 20 + k;
	t->c_unlinked[0] = 0;
	t->c_unlinked[1] = 30;
	t->c_unlinked[2] = 40;
	l = model(spec, t);
	assert_int_equal(udc_linked_suppress(l, &rep, why, sizeof(why)), 0);
	assert_int_equal(rep.lb, 0);
	assert_true(rep.zeros >= 1);
	assert_string_equal(spec->tables[1].name, "reach");
	udc_linked_get(l, 1, 0, &c);
	assert_true(c.suppressed);
	assert_int_equal(c.reason, UDC_REASON_ZERO);
	judge(spec, t, l, 0, 1, &v);
	assert_int_equal(v.narrow, 0);
	assert_true(v.checked >= 2);
	udc_linked_free(l);
	udc_table_free(t);
	udc_spec_free(spec);
}

/* The caller's own rule (the release history): forced cells are
 * suppressed with its reason, and protected like the others. */
static void
test_force(void **state)
{
	struct udc_spec *spec = study_spec(5, 2);
	struct udc_table *t = counts_of(spec);
	struct udc_linked *l;
	struct udc_linked_report rep;
	struct udc_linked_cell c, d;
	struct verdict v;
	size_t ti, tr, co[2] = {1, 0}, k;
	char why[512];

	(void)state;
	rng_state = 16;
	fill(spec, t, 8);
	l = model(spec, t);
	ti = tindex(spec, "t_low");
	tr = tindex(spec, "t_pas");
	k = udc_linked_index(l, ti, co); /* (w2, low = ja): t_pas's w2 total too */
	assert_int_equal(udc_linked_force(l, ti, k, UDC_REASON_DIFFERENCE), 0);
	assert_int_equal(udc_linked_force(l, ti, k, UDC_REASON_SECONDARY), UDC_EINVAL);
	if (udc_linked_suppress(l, &rep, why, sizeof(why)) != 0)
		fail_msg("%s", why);
	assert_int_equal(udc_linked_force(l, ti, k, UDC_REASON_DIFFERENCE), UDC_EINVAL);
	udc_linked_get(l, ti, k, &c);
	assert_true(c.suppressed);
	assert_int_equal(c.reason, UDC_REASON_DIFFERENCE);
	co[1] = spec->tables[tr].dims[1].ncats;
	udc_linked_get(l, tr, udc_linked_index(l, tr, co), &d);
	assert_int_equal(d.distinct, c.distinct);
	assert_true(d.suppressed);
	assert_string_equal(udc_reason_name(UDC_REASON_DIFFERENCE), "difference");
	judge(spec, t, l, rep.lb, spec->protection, &v);
	assert_int_equal(v.narrow, 0);
	assert_true(v.checked >= 2);
	udc_linked_free(l);
	udc_table_free(t);
	udc_spec_free(spec);
}

static void
test_errors(void **state)
{
	struct udc_spec *spec = study_spec(5, 1);
	struct udc_table *t = NULL;
	struct udc_linked *l = NULL;
	struct udc_linked_report rep;
	char why[256];

	(void)state;
	assert_int_equal(udc_table_new(&t, spec->ncells[0] + 1, spec->ncells[1]), 0);
	assert_int_equal(udc_linked_new(&l, spec, t, NULL, why, sizeof(why)), UDC_EINVAL);
	assert_null(l);
	assert_non_null(strstr(why, "shape"));
	udc_table_free(t);
	t = counts_of(spec);
	rng_state = 15;
	fill(spec, t, 9);
	l = model(spec, t);
	assert_int_equal(udc_linked_audit(l, 1, &rep, why, sizeof(why)), UDC_EINVAL);
	assert_int_equal(udc_linked_suppress(l, &rep, why, sizeof(why)), 0);
	assert_int_equal(udc_linked_suppress(l, &rep, why, sizeof(why)), UDC_EINVAL);
	assert_int_equal(udc_linked_mark(l, 0, 0, 0), UDC_EINVAL);
	assert_int_equal(udc_linked_mark(l, 99, 0, 0), UDC_EINVAL);
	udc_linked_free(l);
	udc_table_free(t);
	udc_spec_free(spec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_values),      cmocka_unit_test(test_study_judged),
	    cmocka_unit_test(test_shared_margin_leak),
	    cmocka_unit_test(test_two_way),     cmocka_unit_test(test_magnitudes),
	    cmocka_unit_test(test_noise),       cmocka_unit_test(test_sensitive_zeros),
	    cmocka_unit_test(test_force),       cmocka_unit_test(test_errors),
	    cmocka_unit_test(test_grouping),    cmocka_unit_test(test_regroup),
	    cmocka_unit_test(test_estimate_attack),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
