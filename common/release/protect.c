/*
 * protect.c - secondary suppression across linked tables, and the LP audit.
 *
 * Two ways to protect, one standard (docs/governance.md, "Linked tables"):
 *
 * - A single two-way table (one gemeente and one CBS dimension, its totals,
 *   nothing else) is the transportation structure of bipartite.c with the
 *   totals carried negated.  Every suppressed cell is protected by cycles
 *   found there, and every cycle is then checked again here as a move of
 *   base cells against every cell of the model, released and public
 *   (verify_move): the interval a cell gets is what the verified moves
 *   prove, never what the search believed.  This is what makes a
 *   65535 x 64 table take seconds.
 *
 * - Anything else (several tables, recodes, conditions, sums) is protected
 *   by an LP loop: the interval of each suppressed cell over all
 *   nonnegative solutions of every released and known cell is computed by
 *   GLPK; while it is narrower than the cell's protection, the cheapest
 *   released cell whose row bounds the optimum (a nonzero dual) is
 *   suppressed too.  Suppressing only relaxes the LP, so a cell once
 *   protected stays protected and the loop ends.  The LP audit decides.
 *
 * Sums are protected the same way in an LP of their own per attribute
 * (the gemeente knows no incomes); a base cell with no person has sum 0
 * there, which gives the attacker more than they have, never less.
 */
#include "linked_int.h"

#include <inttypes.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "bipartite.h"
#include "err.h"
#include "lpaudit.h"

/* A zero as a complementary suppression costs more than any real count. */
#define ZERO_COST (UINT64_C(1) << 48)
/* The LP loop's limits: base cells (variables) and row entries. */
#define LP_MAX_VARS 400000
#define LP_MAX_NNZ 40000000
#define IDS_CAP 8192

static uint64_t
sat_mul(uint64_t a, uint64_t b)
{
	return b != 0 && a > UINT64_MAX / b ? UINT64_MAX : a * b;
}

/* --- certificates: moves of base cells, checked against every cell --- */

struct netent {
	uint32_t id;
	int64_t net;
};

static int
cmp_net(const void *a, const void *b)
{
	uint32_t x = ((const struct netent *)a)->id, y = ((const struct netent *)b)->id;

	return x < y ? -1 : x > y;
}

/*
 * d moves base cell bases[i] by delta[i] * t.  Checks that no released or
 * known cell changes, finds the t in [-A, B] that keep every base cell >= 0
 * and every suppressed count >= lb, and widens the proven interval of every
 * suppressed cell the move changes.  Returns 0, 1 if the move is not valid
 * (a released cell changes), or an error.
 */
static int
verify_move(struct udc_linked *l, const size_t *bases, const int64_t *delta, size_t n)
{
	struct netent *ne = NULL;
	uint32_t ids[IDS_CAP];
	size_t nne = 0, cap = 0, k;
	uint64_t A = UINT64_MAX, B = UINT64_MAX;
	int rv = 0;

	for (size_t i = 0; i < n; i++) {
		uint64_t x = l->base[bases[i]];
		size_t nid;

		if (delta[i] > 0 && x / (uint64_t)delta[i] < A)
			A = x / (uint64_t)delta[i];
		if (delta[i] < 0 && x / (uint64_t)(-delta[i]) < B)
			B = x / (uint64_t)(-delta[i]);
		if ((rv = lcells_of_base(l, bases[i], ids, IDS_CAP, &nid)) != 0)
			goto out;
		if (nne + nid > cap) {
			size_t ncap = 2 * (nne + nid) + 16;
			struct netent *nn = realloc(ne, ncap * sizeof(*nn));

			if (nn == NULL) {
				rv = UDC_ENOMEM;
				goto out;
			}
			ne = nn;
			cap = ncap;
		}
		/* a cell holding the base cell twice (two tables) counts once */
		for (size_t j = 0; j < nid; j++) {
			size_t m;

			for (m = 0; m < j && ids[m] != ids[j]; m++)
				;
			if (m < j)
				continue;
			ne[nne].id = ids[j];
			ne[nne++].net = delta[i];
		}
	}
	qsort(ne, nne, sizeof(*ne), cmp_net);
	k = 0;
	for (size_t i = 0; i < nne; i++) {
		if (k > 0 && ne[k - 1].id == ne[i].id)
			ne[k - 1].net += ne[i].net;
		else
			ne[k++] = ne[i];
	}
	nne = k;
	for (size_t i = 0; i < nne; i++) {
		const struct lcell *cl = &l->cells[ne[i].id];
		uint64_t slack, mag;

		if (ne[i].net == 0)
			continue;
		if (!(cl->flags & LC_SUP) || (cl->flags & (LC_KNOWN | LC_PUBLIC))) {
			rv = 1;
			goto out;
		}
		slack = cl->count > (uint64_t)l->lb ? cl->count - (uint64_t)l->lb : 0;
		mag = ne[i].net > 0 ? (uint64_t)ne[i].net : (uint64_t)(-ne[i].net);
		if (ne[i].net > 0 && slack / mag < A)
			A = slack / mag;
		if (ne[i].net < 0 && slack / mag < B)
			B = slack / mag;
	}
	for (size_t i = 0; i < nne; i++) {
		struct lcell *cl = &l->cells[ne[i].id];
		uint64_t mag, up, down;

		if (ne[i].net == 0)
			continue;
		mag = ne[i].net > 0 ? (uint64_t)ne[i].net : (uint64_t)(-ne[i].net);
		up = sat_mul(ne[i].net > 0 ? B : A, mag);
		down = sat_mul(ne[i].net > 0 ? A : B, mag);
		up = up > UINT32_MAX ? UINT32_MAX : up;
		down = down > UINT32_MAX ? UINT32_MAX : down;
		if (up > cl->up)
			cl->up = (uint32_t)up;
		if (down > cl->down)
			cl->down = (uint32_t)down;
	}
	l->certificates++;
out:
	free(ne);
	return rv;
}

/* --- a single two-way table --- */

static int
two_way_applies(const struct udc_linked *l)
{
	const struct udc_spec *spec = l->spec;
	const struct udc_tablespec *ts = &spec->tables[0];

	return l->ntables == 1 && ts->sum < 0 && ts->pop == UDC_POP_LINKED && ts->nwhere == 0 &&
	       ts->ndims == 2 && ts->dims[0].ref.side != ts->dims[1].ref.side &&
	       ts->dims[0].ref.recode < 0 && ts->dims[1].ref.recode < 0 &&
	       spec->ndims[0] == 1 && spec->ndims[1] == 1;
}

/*
 * An upper bound on the prior width of entry (r, c) of the two-way view
 * (see prior_need): a cell of row r holds at most the gemeente's list of
 * that row, at most the links, and with unpadded categories at most the
 * CBS list of its column; it is at least lb.  Taking the bound, not the
 * exact prior, can only ask for more protection.
 */
static uint64_t
two_way_prior(const struct udc_linked *l, size_t r, size_t c)
{
	uint64_t hi = l->cells[l->pub_links].count;

	if (r < l->G && l->cells[l->pub_row[r]].count < hi)
		hi = l->cells[l->pub_row[r]].count;
	if (c < l->C && l->pub_col != NULL && l->cells[l->pub_col[c]].count < hi)
		hi = l->cells[l->pub_col[c]].count;
	return hi > (uint64_t)l->lb ? hi - (uint64_t)l->lb : 0;
}

/* Entry (r, c) of the (G + 1) x (C + 1) view -> table cell. */
static size_t
two_way_cell(const struct udc_linked *l, size_t r, size_t c)
{
	const struct ltable *tb = &l->tables[0];
	size_t coords[2];
	int gi = tb->ts->dims[0].ref.side == UDC_SIDE_GEMEENTE ? 0 : 1;

	coords[gi] = r;
	coords[1 - gi] = c;
	return coords[0] * tb->stride[0] + coords[1] * tb->stride[1];
}

static int
two_way_attempt(struct udc_linked *l, int lb, struct udc_bip **bp, struct udc_bip_stats *st,
                size_t *failed)
{
	const struct ltable *tb = &l->tables[0];
	size_t nr = l->G + 1, nc = l->C + 1;
	struct udc_bip_params p;
	struct udc_bip *b;
	int rv;

	if ((rv = udc_bip_new(bp, nr, nc)) != 0)
		return rv;
	b = *bp;
	for (size_t r = 0; r < nr; r++)
		for (size_t c = 0; c < nc; c++) {
			size_t e = r * nc + c;
			const struct lcell *cl = &l->cells[tb->cell[two_way_cell(l, r, c)]];

			if (r == l->G && c == l->C) {
				/* the grand total: the links, known */
				udc_bip_absent(b, e);
				continue;
			}
			if (r < l->G && c < l->C)
				udc_bip_set(b, e, cl->count);
			else if (r < l->G)
				/* a row total goes up only as far as the gemeente's
				 * not-linked records of that row go down */
				rv = udc_bip_negated(b, e, cl->count, l->base[r * nc + l->C]);
			else
				rv = udc_bip_negated(b, e, cl->count,
				                     l->pub_col != NULL ? l->base[l->G * nc + c]
				                                        : UDC_BIP_UNLIMITED);
			if (rv != 0)
				return rv;
			if ((cl->flags & LC_SUP) && cl->need > 0) {
				uint64_t need = two_way_prior(l, r, c);

				if (need > cl->need)
					need = cl->need;
				if (need > 0 && (rv = udc_bip_suppress(b, e, need)) != 0)
					return rv;
			}
		}
	p.lb = (uint64_t)lb;
	p.zero_cost = lb == 0 ? ZERO_COST : UDC_BIP_UNLIMITED;
	p.need = l->spec->protection;
	return udc_bip_protect(b, &p, st, failed);
}

static int
two_way(struct udc_linked *l, struct udc_linked_report *rep, char *why, size_t whylen)
{
	const struct ltable *tb = &l->tables[0];
	size_t nr = l->G + 1, nc = l->C + 1, failed = SIZE_MAX;
	struct udc_bip *b = NULL;
	struct udc_bip_stats st;
	int rv, lb = l->lb;

	l->two_way = 1;
	memset(&st, 0, sizeof(st));
	rv = two_way_attempt(l, lb, &b, &st, &failed);
	if (rv == UDC_EREFUSED && lb == 1) {
		/* only a zero can protect some cell: the attacker's bound is
		 * then 0, and a zero must really be among the suppressed */
		udc_bip_free(b);
		b = NULL;
		lb = l->lb = 0;
		rv = two_way_attempt(l, 0, &b, &st, &failed);
		if (rv == 0 && st.zeros == 0)
			rv = UDC_EREFUSED;
	}
	if (rv == UDC_EREFUSED) {
		char name[256] = "?";

		if (failed != SIZE_MAX)
			lcell_name(l, tb->cell[two_way_cell(l, failed / nc, failed % nc)], name,
			           sizeof(name));
		lsetf(why, whylen, "%s cannot be protected by further suppression", name);
	}
	if (rv != 0)
		goto out;
	l->lb = lb;
	for (size_t e = 0; e < nr * nc; e++) {
		struct lcell *cl;

		if (!udc_bip_is_suppressed(b, e))
			continue;
		cl = &l->cells[tb->cell[two_way_cell(l, e / nc, e % nc)]];
		if (!(cl->flags & LC_SUP)) {
			cl->flags |= LC_SUP;
			cl->reason = UDC_REASON_SECONDARY;
			cl->need = l->spec->protection;
			rep->secondary++;
		}
		if (cl->need > two_way_prior(l, e / nc, e % nc))
			cl->need = (uint32_t)two_way_prior(l, e / nc, e % nc);
	}
	/* Every cycle again, as a move of base cells against every cell. */
	for (size_t i = 0; i < udc_bip_ncycles(b); i++) {
		size_t len, bases[64];
		int64_t delta[64];
		uint64_t a, bm;
		const uint32_t *cy = udc_bip_cycle(b, i, &len, &a, &bm);
		size_t *bs = bases;
		int64_t *dl = delta;

		if (len > 64 && ((bs = malloc(len * sizeof(*bs))) == NULL ||
		                 (dl = malloc(len * sizeof(*dl))) == NULL)) {
			if (bs != bases)
				free(bs);
			rv = UDC_ENOMEM;
			goto out;
		}
		for (size_t j = 0; j < len; j++) {
			size_t r = cy[j] / nc, c = cy[j] % nc;
			int64_t sg = j % 2 == 0 ? 1 : -1;

			/* a plain entry is its base cell; a negated row total moves
			 * the row's not-linked gemeente records the other way, so
			 * that the gemeente's list per row stays what it is */
			if (r < l->G && c < l->C)
				bs[j] = r * nc + c;
			else if (r < l->G)
				bs[j] = r * nc + l->C;
			else
				bs[j] = l->G * nc + c;
			dl[j] = sg;
		}
		/* with padded categories nobody knows the CBS list per column:
		 * its not-linked records need not move */
		{
			size_t m = 0;

			for (size_t j = 0; j < len; j++)
				if (!(cy[j] / nc == l->G && l->pub_col == NULL)) {
					bs[m] = bs[j];
					dl[m++] = dl[j];
				}
			rv = verify_move(l, bs, dl, m);
		}
		if (bs != bases) {
			free(bs);
			free(dl);
		}
		if (rv < 0)
			goto out;
		if (rv == 1) {
			lsetf(why, whylen, "internal: a protecting cycle changes a released cell");
			rv = UDC_EREFUSED;
			goto out;
		}
	}
	for (size_t id = 0; id < l->ncells; id++) {
		const struct lcell *cl = &l->cells[id];
		char name[256];

		if (!(cl->flags & LC_SUP) || cl->need == 0 ||
		    (uint64_t)cl->up + cl->down >= cl->need)
			continue;
		lcell_name(l, (uint32_t)id, name, sizeof(name));
		lsetf(why, whylen, "internal: %s is not proven protected", name);
		rv = UDC_EREFUSED;
		goto out;
	}
	rv = 0;
out:
	udc_bip_free(b);
	return rv;
}

/* --- the LP of counts --- */

struct cntlp {
	struct udc_lp *lp;
	size_t *rowof;   /* per distinct cell: its row, SIZE_MAX: none */
	uint32_t *idof;  /* per row: the distinct cell */
	uint64_t *offset; /* per distinct cell: the fixed part of its value */
	uint32_t **vars; /* per distinct cell with a row: its free variables */
	size_t *nvars;
	size_t nrows;
};

static void
cntlp_free(struct cntlp *c, size_t ncells)
{
	udc_lp_free(c->lp);
	if (c->vars != NULL)
		for (size_t i = 0; i < ncells; i++)
			free(c->vars[i]);
	free(c->vars);
	free(c->nvars);
	free(c->rowof);
	free(c->idof);
	free(c->offset);
	memset(c, 0, sizeof(*c));
}

static int
cell_in_lp(const struct lcell *cl)
{
	return (cl->flags & (LC_TABLE | LC_PUBLIC)) && !(cl->flags & LC_EMPTY);
}

static int
released_eq(const struct lcell *cl)
{
	return !(cl->flags & LC_SUP) || (cl->flags & (LC_KNOWN | LC_PUBLIC));
}

/* What cntlp_build makes. */
enum { LP_LOOP = 0, LP_AUDIT = 1, LP_PRIOR = 2 };

/*
 * Builds the LP of counts.  LP_AUDIT: base cells in a released cell of one
 * base cell, or in a released zero, are fixed and left out (the audit of a
 * final pattern); otherwise every base cell is a variable (the loop, where
 * suppression may free them).  LP_PRIOR: only what the attacker knows
 * before any release (its own list, the links) constrains; the rows of the
 * table cells are there but free, for prior_need.
 */
static int
cntlp_build(struct udc_linked *l, int mode, struct cntlp *c, char *why, size_t whylen)
{
	int reduce = mode == LP_AUDIT;

	size_t nb = l->nb - 1, nv = 0, nnz = 0;
	int64_t *fixed = NULL; /* -1: free, else its value */
	uint32_t *varof = NULL;
	int rv = UDC_ENOMEM;

	memset(c, 0, sizeof(*c));
	if ((c->rowof = malloc(l->ncells * sizeof(*c->rowof))) == NULL ||
	    (c->idof = malloc(l->ncells * sizeof(*c->idof))) == NULL ||
	    (c->offset = calloc(l->ncells, sizeof(*c->offset))) == NULL ||
	    (c->vars = calloc(l->ncells, sizeof(*c->vars))) == NULL ||
	    (c->nvars = calloc(l->ncells, sizeof(*c->nvars))) == NULL ||
	    (fixed = malloc(nb * sizeof(*fixed))) == NULL ||
	    (varof = malloc(nb * sizeof(*varof))) == NULL)
		goto out;
	for (size_t b = 0; b < nb; b++)
		fixed[b] = -1;
	for (size_t id = 0; id < l->ncells; id++)
		c->rowof[id] = SIZE_MAX;
	if (reduce)
		for (size_t id = 0; id < l->ncells; id++) {
			const struct lcell *cl = &l->cells[id];
			uint32_t *bs;
			size_t n;

			if (!cell_in_lp(cl) || !released_eq(cl))
				continue;
			if (cl->count != 0) {
				const struct lset *gs = &l->sets[0].s[cl->g], *cs = &l->sets[1].s[cl->c];
				int single = 1;

				/* one base cell: one row or column and every subset one value */
				if ((gs->has_box && gs->has_u) || (cs->has_box && cs->has_u))
					continue;
				for (size_t d = 0; d < l->spec->ndims[0] && gs->has_box && single; d++)
					single = gs->sub[d] != 0 ? l->subs[0][d].s[gs->sub[d]].n == 1
					                         : l->spec->dims[0][d].nvalues == 1;
				for (size_t d = 0; d < l->spec->ndims[1] && cs->has_box && single; d++)
					single = cs->sub[d] != 0 ? l->subs[1][d].s[cs->sub[d]].n == 1
					                         : l->spec->dims[1][d].nvalues == 1;
				if (!single)
					continue;
			}
			if ((rv = lcell_base(l, (uint32_t)id, &bs, &n)) != 0)
				goto out;
			for (size_t i = 0; i < n; i++)
				fixed[bs[i]] = cl->count == 0 ? 0 : (int64_t)cl->count;
			free(bs);
		}
	for (size_t b = 0; b < nb; b++)
		varof[b] = fixed[b] < 0 ? (uint32_t)nv++ : UINT32_MAX;
	if (nv == 0)
		nv = 1; /* GLPK wants a column; an unused one costs nothing */
	if (nv > LP_MAX_VARS) {
		lsetf(why, whylen,
		      "the tables have %zu base cells to audit, more than the LP takes (%d): "
		      "fewer or coarser dimensions, or a single two-way table",
		      nv, LP_MAX_VARS);
		rv = UDC_ELIMIT;
		goto out;
	}
	if ((rv = udc_lp_new(&c->lp, nv)) != 0)
		goto out;
	for (size_t id = 0; id < l->ncells; id++) {
		const struct lcell *cl = &l->cells[id];
		uint32_t *bs;
		size_t n, m = 0;

		if (!cell_in_lp(cl))
			continue;
		if ((rv = lcell_base(l, (uint32_t)id, &bs, &n)) != 0)
			goto out;
		for (size_t i = 0; i < n; i++) {
			if (fixed[bs[i]] >= 0)
				c->offset[id] += (uint64_t)fixed[bs[i]];
			else
				bs[m++] = varof[bs[i]];
		}
		nnz += m;
		if (nnz > LP_MAX_NNZ) {
			free(bs);
			lsetf(why, whylen, "the tables are too large for the LP audit (more than %d "
			      "entries)", LP_MAX_NNZ);
			rv = UDC_ELIMIT;
			goto out;
		}
		c->vars[id] = bs;
		c->nvars[id] = m;
		if (m == 0)
			continue;
		if (mode == LP_PRIOR && !(cl->flags & LC_PUBLIC)) {
			rv = udc_lp_add_row(c->lp, bs, m, UDC_LP_FREE, 0.0, &c->rowof[id]);
		} else if (released_eq(cl)) {
			if (cl->count < c->offset[id]) {
				lsetf(why, whylen, "internal: a cell is smaller than its fixed part");
				rv = UDC_EINVAL;
				goto out;
			}
			rv = udc_lp_add_row(c->lp, bs, m, UDC_LP_EQ,
			                    (double)(cl->count - c->offset[id]), &c->rowof[id]);
		} else {
			uint64_t lo = (uint64_t)l->lb > c->offset[id] ? (uint64_t)l->lb - c->offset[id]
			                                              : 0;

			rv = udc_lp_add_row(c->lp, bs, m, UDC_LP_GE, (double)lo, &c->rowof[id]);
		}
		if (rv != 0)
			goto out;
		c->idof[c->rowof[id]] = (uint32_t)id;
		c->nrows = c->rowof[id] + 1;
	}
	if (c->nrows == 0) {
		/* nothing constrains anything: one harmless row */
		uint32_t v0 = 0;

		if ((rv = udc_lp_add_row(c->lp, &v0, 1, UDC_LP_GE, 0.0, NULL)) != 0)
			goto out;
	}
	rv = 0;
out:
	free(fixed);
	free(varof);
	if (rv == UDC_ENOMEM)
		lsetf(why, whylen, "out of memory");
	return rv;
}

/* Tolerant integer bounds of a GLPK optimum: never wider than it. */
static double
floor_tol(double x)
{
	return floor(x + 1e-7 * (fabs(x) > 1.0 ? fabs(x) : 1.0));
}

static double
ceil_tol(double x)
{
	return ceil(x - 1e-7 * (fabs(x) > 1.0 ? fabs(x) : 1.0));
}

/* The interval of a cell: lo, hi (hi = -1: unbounded); collects rows with
 * a nonzero dual in bounding into mark when mark is not NULL. */
static int
cell_range(struct udc_linked *l, struct udc_lp *lp, const uint32_t *vars, size_t n,
           uint64_t offset, double *lo, double *hi, uint8_t *mark, size_t nrows)
{
	double v;
	int unb, rv;

	*lo = (double)offset;
	*hi = (double)offset;
	if (n == 0)
		return 0;
	if ((rv = udc_lp_optimize(lp, vars, n, 1, &v, &unb)) != 0)
		return rv;
	l->lp_solves++;
	*hi = unb ? -1.0 : floor_tol(v) + (double)offset;
	if (mark != NULL && !unb)
		for (size_t r = 0; r < nrows; r++)
			if (fabs(udc_lp_row_dual(lp, r)) > 1e-9)
				mark[r] |= 1;
	if ((rv = udc_lp_optimize(lp, vars, n, 0, &v, &unb)) != 0)
		return rv;
	l->lp_solves++;
	*lo = ceil_tol(v) + (double)offset;
	if (mark != NULL)
		for (size_t r = 0; r < nrows; r++)
			if (fabs(udc_lp_row_dual(lp, r)) > 1e-9)
				mark[r] |= 2;
	return 0;
}

static uint64_t
count_cost(const struct lcell *cl, int zeros)
{
	if (cl->count > 0)
		return cl->count;
	return zeros ? ZERO_COST : UINT64_MAX;
}

/* Could this cell be a complementary suppression? */
static int
complement_ok(const struct lcell *cl, int zeros)
{
	return (cl->flags & LC_TABLE) && !(cl->flags & (LC_SUP | LC_EMPTY | LC_KNOWN)) &&
	       (cl->count > 0 || zeros);
}

/* When no row with a nonzero dual can be given up: the cheapest released
 * cell that shares base cells with cell id (*best SIZE_MAX: none). */
static int
overlap_complement(struct udc_linked *l, uint32_t id, int zeros, size_t *best)
{
	uint8_t *in = calloc(l->nb, 1);
	uint64_t bestcost = UINT64_MAX;
	uint32_t *bs = NULL;
	size_t n;
	int rv;

	*best = SIZE_MAX;
	if (in == NULL)
		return UDC_ENOMEM;
	if ((rv = lcell_base(l, id, &bs, &n)) != 0)
		goto out;
	for (size_t i = 0; i < n; i++)
		in[bs[i]] = 1;
	free(bs);
	bs = NULL;
	for (size_t o = 0; o < l->ncells; o++) {
		const struct lcell *cl = &l->cells[o];
		int overlap = 0;

		if (!complement_ok(cl, zeros) || count_cost(cl, zeros) >= bestcost)
			continue;
		if ((rv = lcell_base(l, (uint32_t)o, &bs, &n)) != 0)
			goto out;
		for (size_t i = 0; i < n && !overlap; i++)
			overlap = in[bs[i]];
		free(bs);
		bs = NULL;
		if (overlap) {
			bestcost = count_cost(cl, zeros);
			*best = o;
		}
	}
	rv = 0;
out:
	free(bs);
	free(in);
	return rv;
}

/*
 * The protection a suppressed cell can have at most: the width of its
 * interval from what the gemeente knows before any release (its own list
 * per gemeente cell, the links) and the release's bound on a suppressed
 * cell.  A wijk with 3 children in the gemeente's list has 3 or fewer
 * linked whatever is released; asking for an interval of 4 would refuse
 * every release, and asking for less than the prior would let the release
 * narrow it.  So a cell must keep min(protection, prior width).
 */
static int
prior_need(struct udc_linked *l, struct cntlp *pr, size_t id)
{
	struct lcell *cl = &l->cells[id];
	size_t row = pr->rowof[id];
	double lo, hi;
	int rv;

	if (cl->need == 0 || row == SIZE_MAX)
		return 0;
	if ((rv = udc_lp_set_row(pr->lp, row, UDC_LP_GE, (double)l->lb)) != 0)
		return rv;
	rv = cell_range(l, pr->lp, pr->vars[id], pr->nvars[id], 0, &lo, &hi, NULL, 0);
	if (udc_lp_set_row(pr->lp, row, UDC_LP_FREE, 0.0) != 0 && rv == 0)
		rv = UDC_ELIMIT;
	if (rv != 0)
		return rv;
	if (hi >= 0 && hi - lo < (double)cl->need)
		cl->need = hi - lo > 0 ? (uint32_t)(hi - lo) : 0;
	return 0;
}

/* Marks cell id a complementary suppression. */
static int
suppress_secondary(struct udc_linked *l, struct cntlp *pr, size_t id,
                   struct udc_linked_report *rep)
{
	struct lcell *cl = &l->cells[id];

	cl->flags |= LC_SUP;
	cl->reason = UDC_REASON_SECONDARY;
	cl->need = l->spec->protection;
	rep->secondary++;
	return prior_need(l, pr, id);
}

/*
 * The modular pass (a first guess for the LP loop, which decides): each
 * two-dimensional table is protected on its own as a two-way table with
 * its totals (bipartite.c), each one-dimensional table by a second cell
 * beside a lone suppressed one, over and over until no table adds a
 * suppression (a cell suppressed in one table may sit in another).  Tables
 * of three or more dimensions are left to the LP loop.
 */
static int
modular(struct udc_linked *l, struct cntlp *pr, int zeros, struct udc_linked_report *rep)
{
	int changed = 1, rv = 0;

	for (int round = 0; changed && round < 16; round++) {
		changed = 0;
		for (size_t t = 0; t < l->ntables; t++) {
			const struct ltable *tb = &l->tables[t];

			if (tb->ndims == 1) {
				size_t nsup = 0, best = SIZE_MAX;
				uint64_t bestcost = UINT64_MAX, need = 0;

				for (size_t k = 0; k < tb->ncells; k++) {
					const struct lcell *cl = &l->cells[tb->cell[k]];

					if ((cl->flags & LC_SUP) && cl->need > 0) {
						nsup++;
						need = cl->need;
					}
				}
				if (nsup != 1)
					continue;
				for (size_t k = 0; k + 1 < tb->ncells; k++) {
					const struct lcell *cl = &l->cells[tb->cell[k]];
					uint64_t cost;

					if (!complement_ok(cl, zeros))
						continue;
					cost = count_cost(cl, zeros);
					/* one that leaves room to move comes first */
					if (cl->count < (uint64_t)l->lb + need)
						cost = cost > UINT64_MAX / 2 ? UINT64_MAX - 1 : cost + ZERO_COST;
					if (cost < bestcost) {
						bestcost = cost;
						best = tb->cell[k];
					}
				}
				if (best != SIZE_MAX) {
					if ((rv = suppress_secondary(l, pr, best, rep)) != 0)
						return rv;
					changed = 1;
				}
				continue;
			}
			if (tb->ndims != 2)
				continue;
			{
				size_t nr = tb->radix[0], nc = tb->radix[1];
				struct udc_bip *b = NULL;
				struct udc_bip_params p;
				int any = 0;

				if ((rv = udc_bip_new(&b, nr, nc)) != 0)
					return rv;
				for (size_t e = 0; e < nr * nc && rv == 0; e++) {
					size_t r = e / nc, c = e % nc, k = r * tb->stride[0] + c * tb->stride[1];
					const struct lcell *cl = &l->cells[tb->cell[k]];
					int total_r = r == nr - 1, total_c = c == nc - 1;

					if ((total_r && total_c) || (cl->flags & (LC_EMPTY | LC_KNOWN))) {
						udc_bip_absent(b, e);
						continue;
					}
					if (total_r || total_c)
						rv = udc_bip_negated(b, e, cl->count, UDC_BIP_UNLIMITED);
					else
						udc_bip_set(b, e, cl->count);
					if (rv == 0 && (cl->flags & LC_SUP) && cl->need > 0) {
						rv = udc_bip_suppress(b, e, cl->need);
						any = 1;
					}
				}
				p.lb = (uint64_t)l->lb;
				p.zero_cost = zeros ? ZERO_COST : UDC_BIP_UNLIMITED;
				p.need = l->spec->protection;
				if (rv == 0 && any && udc_bip_protect(b, &p, NULL, NULL) == 0)
					for (size_t e = 0; e < nr * nc; e++) {
						size_t r = e / nc, c = e % nc;
						size_t id = tb->cell[r * tb->stride[0] + c * tb->stride[1]];

						if (udc_bip_is_suppressed(b, e) &&
						    !(l->cells[id].flags & LC_SUP)) {
							if (rv == 0)
								rv = suppress_secondary(l, pr, id,
								                        rep);
							changed = 1;
						}
					}
				udc_bip_free(b);
				if (rv != 0)
					return rv;
			}
		}
	}
	return 0;
}

static int
lp_counts_attempt(struct udc_linked *l, int zeros, struct udc_linked_report *rep, char *why,
                  size_t whylen)
{
	struct cntlp c, pr;
	uint32_t *queue = NULL;
	uint8_t *mark = NULL, *inq = NULL;
	size_t nq = 0;
	int rv;

	memset(&c, 0, sizeof(c));
	memset(&pr, 0, sizeof(pr));
	if ((rv = cntlp_build(l, LP_PRIOR, &pr, why, whylen)) != 0)
		goto out;
	for (size_t id = 0; id < l->ncells; id++)
		if ((l->cells[id].flags & LC_SUP) && (rv = prior_need(l, &pr, id)) != 0)
			goto out;
	if ((rv = modular(l, &pr, zeros, rep)) != 0)
		goto out;
	if ((rv = cntlp_build(l, LP_LOOP, &c, why, whylen)) != 0)
		goto out;
	rv = UDC_ENOMEM;
	if ((queue = malloc(l->ncells * sizeof(*queue))) == NULL ||
	    (inq = calloc(l->ncells, 1)) == NULL ||
	    (mark = calloc(udc_lp_nrows(c.lp) + 1, 1)) == NULL)
		goto out;
	for (size_t id = 0; id < l->ncells; id++)
		if ((l->cells[id].flags & LC_SUP) && l->cells[id].need > 0) {
			queue[nq++] = (uint32_t)id;
			inq[id] = 1;
		}
	for (size_t qi = 0; qi < nq; qi++) {
		struct lcell *s = &l->cells[queue[qi]];

		for (;;) {
			double lo, hi;
			uint64_t best = UINT64_MAX;
			size_t bestid = SIZE_MAX, nrows = udc_lp_nrows(c.lp);

			memset(mark, 0, nrows);
			if ((rv = cell_range(l, c.lp, c.vars[queue[qi]], c.nvars[queue[qi]],
			                     c.offset[queue[qi]], &lo, &hi, mark, nrows)) != 0)
				goto out;
			if (hi < 0 || hi - lo >= (double)s->need) {
				s->lo = (float)lo;
				s->hi = (float)hi;
				s->audited = 1;
				break;
			}
			/* the cheapest released cell whose row bounds the interval */
			for (size_t r = 0; r < c.nrows; r++) {
				const struct lcell *cl = &l->cells[c.idof[r]];
				uint64_t k;

				if (!mark[r] || !complement_ok(cl, zeros))
					continue;
				k = count_cost(cl, zeros);
				if (k < best || (k == best && c.idof[r] < bestid)) {
					best = k;
					bestid = c.idof[r];
				}
			}
			if (bestid == SIZE_MAX &&
			    (rv = overlap_complement(l, queue[qi], zeros, &bestid)) != 0)
				goto out;
			if (bestid == SIZE_MAX) {
				char name[256];

				lcell_name(l, queue[qi], name, sizeof(name));
				lsetf(why, whylen,
				      "%s cannot be protected by further suppression (its interval "
				      "stays %.0f..%.0f, narrower than %" PRIu64 ")",
				      name, lo, hi, (uint64_t)s->need);
				rv = UDC_EREFUSED;
				goto out;
			}
			{
				uint64_t lbv = (uint64_t)l->lb > c.offset[bestid]
				                   ? (uint64_t)l->lb - c.offset[bestid]
				                   : 0;

				if ((rv = suppress_secondary(l, &pr, bestid, rep)) != 0)
					goto out;
				if (c.rowof[bestid] != SIZE_MAX &&
				    (rv = udc_lp_set_row(c.lp, c.rowof[bestid], UDC_LP_GE, (double)lbv)) !=
				        0)
					goto out;
				if (!inq[bestid]) {
					queue[nq++] = (uint32_t)bestid;
					inq[bestid] = 1;
				}
			}
		}
	}
	rv = 0;
out:
	if (c.lp != NULL)
		l->lp_iterations += udc_lp_iterations(c.lp);
	if (rv == UDC_EINVAL && why != NULL && why[0] == '\0')
		lsetf(why, whylen, "internal: the LP of the released cells has no solution");
	if (rv == UDC_ELIMIT && why != NULL && why[0] == '\0')
		lsetf(why, whylen, "the LP solver failed");
	free(queue);
	free(inq);
	free(mark);
	cntlp_free(&c, l->ncells);
	cntlp_free(&pr, l->ncells);
	return rv;
}

static int
lp_counts(struct udc_linked *l, struct udc_linked_report *rep, char *why, size_t whylen)
{
	uint8_t *flags = NULL, *reason = NULL;
	uint64_t *need = NULL;
	size_t secondary = rep->secondary;
	int rv;

	if ((flags = malloc(l->ncells)) == NULL || (reason = malloc(l->ncells)) == NULL ||
	    (need = malloc(l->ncells * sizeof(*need))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	for (size_t id = 0; id < l->ncells; id++) {
		flags[id] = l->cells[id].flags;
		reason[id] = l->cells[id].reason;
		need[id] = l->cells[id].need;
	}
	rv = lp_counts_attempt(l, l->lb == 0, rep, why, whylen);
	if (rv == UDC_EREFUSED && l->lb == 1) {
		size_t zeros = 0;

		/* again from the primary pattern, with zeros as complements
		 * and the attacker's bound 0 */
		for (size_t id = 0; id < l->ncells; id++) {
			l->cells[id].flags = flags[id];
			l->cells[id].reason = reason[id];
			l->cells[id].need = need[id];
			l->cells[id].audited = 0;
		}
		rep->secondary = secondary;
		l->lb = 0;
		if (why != NULL && whylen > 0)
			why[0] = '\0';
		rv = lp_counts_attempt(l, 1, rep, why, whylen);
		for (size_t id = 0; id < l->ncells; id++)
			zeros += (l->cells[id].flags & LC_SUP) && l->cells[id].count == 0;
		if (rv == 0 && zeros == 0) {
			lsetf(why, whylen, "a suppressed cell can be protected only by suppressing "
			      "a zero, and with no zero suppressed the attacker's bound pins it");
			rv = UDC_EREFUSED;
		}
	}
out:
	free(flags);
	free(reason);
	free(need);
	return rv;
}

/* --- the LP of sums, per attribute --- */

struct sumlp {
	struct udc_lp *lp;
	size_t *rowof;  /* per sum cell */
	uint32_t *idof; /* per row */
	uint32_t **vars;
	size_t *nvars;
	size_t nrows;
};

static void
sumlp_free(struct sumlp *s, size_t n)
{
	udc_lp_free(s->lp);
	if (s->vars != NULL)
		for (size_t i = 0; i < n; i++)
			free(s->vars[i]);
	free(s->vars);
	free(s->nvars);
	free(s->rowof);
	free(s->idof);
	memset(s, 0, sizeof(*s));
}

static int
sumlp_build(struct udc_linked *l, int attr, struct sumlp *s, char *why, size_t whylen)
{
	size_t nb = l->nb - 1, nv = 0, nnz = 0;
	uint32_t *varof = NULL;
	int rv = UDC_ENOMEM;

	memset(s, 0, sizeof(*s));
	if ((s->rowof = malloc((l->nmcells + 1) * sizeof(*s->rowof))) == NULL ||
	    (s->idof = malloc((l->nmcells + 1) * sizeof(*s->idof))) == NULL ||
	    (s->vars = calloc(l->nmcells + 1, sizeof(*s->vars))) == NULL ||
	    (s->nvars = calloc(l->nmcells + 1, sizeof(*s->nvars))) == NULL ||
	    (varof = malloc(nb * sizeof(*varof))) == NULL)
		goto out;
	/* a variable per base cell that holds persons of the CBS list */
	for (size_t b = 0; b < nb; b++)
		varof[b] = b % (l->C + 1) != l->C && l->base[b] > 0 ? (uint32_t)nv++ : UINT32_MAX;
	if (nv > LP_MAX_VARS) {
		lsetf(why, whylen, "the sums have %zu base cells, more than the LP takes (%d)", nv,
		      LP_MAX_VARS);
		rv = UDC_ELIMIT;
		goto out;
	}
	if ((rv = udc_lp_new(&s->lp, nv ? nv : 1)) != 0)
		goto out;
	for (size_t id = 0; id < l->nmcells; id++) {
		const struct lmcell *m = &l->mcells[id];
		uint32_t *bs;
		size_t n, k = 0;

		s->rowof[id] = SIZE_MAX;
		if (m->attr != attr || (m->flags & LC_EMPTY))
			continue;
		if ((rv = lcell_base(l, m->cell, &bs, &n)) != 0)
			goto out;
		for (size_t i = 0; i < n; i++)
			if (varof[bs[i]] != UINT32_MAX)
				bs[k++] = varof[bs[i]];
		s->vars[id] = bs;
		s->nvars[id] = k;
		nnz += k;
		if (nnz > LP_MAX_NNZ) {
			lsetf(why, whylen, "the sums are too large for the LP (more than %d entries)",
			      LP_MAX_NNZ);
			rv = UDC_ELIMIT;
			goto out;
		}
		if (k == 0)
			continue;
		rv = udc_lp_add_row(s->lp, bs, k, (m->flags & LC_SUP) ? UDC_LP_GE : UDC_LP_EQ,
		                    (m->flags & LC_SUP) ? 0.0 : (double)m->sum, &s->rowof[id]);
		if (rv != 0)
			goto out;
		s->idof[s->rowof[id]] = (uint32_t)id;
		s->nrows = s->rowof[id] + 1;
	}
	if (s->nrows == 0) {
		uint32_t v0 = 0;

		if ((rv = udc_lp_add_row(s->lp, &v0, 1, UDC_LP_GE, 0.0, NULL)) != 0)
			goto out;
	}
	rv = 0;
out:
	free(varof);
	if (rv == UDC_ENOMEM)
		lsetf(why, whylen, "out of memory");
	return rv;
}

static int
sum_protected(const struct lmcell *m, double lo, double hi)
{
	if (hi < 0)
		return 1;
	return hi - (double)m->sum >= (double)m->need_up && hi - lo >= (double)m->need_width;
}

static int
lp_sums(struct udc_linked *l, int attr, struct udc_linked_report *rep, char *why, size_t whylen)
{
	struct sumlp s;
	uint32_t *queue = NULL;
	uint8_t *mark = NULL, *inq = NULL;
	size_t nq = 0;
	int rv;

	if ((rv = sumlp_build(l, attr, &s, why, whylen)) != 0)
		goto out;
	rv = UDC_ENOMEM;
	if ((queue = malloc((l->nmcells + 1) * sizeof(*queue))) == NULL ||
	    (inq = calloc(l->nmcells + 1, 1)) == NULL ||
	    (mark = calloc(udc_lp_nrows(s.lp) + 1, 1)) == NULL)
		goto out;
	for (size_t id = 0; id < l->nmcells; id++)
		if (l->mcells[id].attr == attr && (l->mcells[id].flags & LC_SUP)) {
			queue[nq++] = (uint32_t)id;
			inq[id] = 1;
		}
	for (size_t qi = 0; qi < nq; qi++) {
		struct lmcell *m = &l->mcells[queue[qi]];

		for (;;) {
			double lo, hi;
			uint64_t best = UINT64_MAX;
			size_t bestid = SIZE_MAX, nrows = udc_lp_nrows(s.lp);

			memset(mark, 0, nrows);
			if ((rv = cell_range(l, s.lp, s.vars[queue[qi]], s.nvars[queue[qi]], 0, &lo,
			                     &hi, mark, nrows)) != 0)
				goto out;
			if (sum_protected(m, lo, hi)) {
				m->lo = lo;
				m->hi = hi;
				m->audited = 1;
				break;
			}
			for (size_t r = 0; r < s.nrows; r++) {
				const struct lmcell *o = &l->mcells[s.idof[r]];

				if (!mark[r] || (o->flags & (LC_SUP | LC_EMPTY)) || o->sum == 0)
					continue;
				if (o->sum < best || (o->sum == best && s.idof[r] < bestid)) {
					best = o->sum;
					bestid = s.idof[r];
				}
			}
			if (bestid == SIZE_MAX) {
				char name[256];

				lcell_name(l, m->cell, name, sizeof(name));
				lsetf(why, whylen,
				      "the sum of %s cannot be protected by further suppression", name);
				rv = UDC_EREFUSED;
				goto out;
			}
			l->mcells[bestid].flags |= LC_SUP;
			l->mcells[bestid].reason = UDC_REASON_SECONDARY;
			l->mcells[bestid].need_width = 1;
			rep->mag_secondary++;
			if ((rv = udc_lp_set_row(s.lp, s.rowof[bestid], UDC_LP_GE, 0.0)) != 0)
				goto out;
			if (!inq[bestid]) {
				queue[nq++] = (uint32_t)bestid;
				inq[bestid] = 1;
			}
		}
	}
	rv = 0;
out:
	if (s.lp != NULL)
		l->lp_iterations += udc_lp_iterations(s.lp);
	if (rv == UDC_EINVAL && why != NULL && why[0] == '\0')
		lsetf(why, whylen, "internal: the LP of the released sums has no solution");
	if (rv == UDC_ELIMIT && why != NULL && why[0] == '\0')
		lsetf(why, whylen, "the LP solver failed");
	free(queue);
	free(inq);
	free(mark);
	sumlp_free(&s, l->nmcells + 1);
	return rv;
}

int
linked_secondary(struct udc_linked *l, struct udc_linked_report *rep, char *why, size_t whylen)
{
	int rv;

	if (two_way_applies(l))
		rv = two_way(l, rep, why, whylen);
	else
		rv = lp_counts(l, rep, why, whylen);
	for (size_t a = 0; rv == 0 && a < l->spec->nattrs; a++)
		rv = lp_sums(l, (int)a, rep, why, whylen);
	return rv;
}

/* --- the audit of a final pattern --- */

int
linked_audit(struct udc_linked *l, size_t step, struct udc_linked_report *rep, char *why,
             size_t whylen)
{
	struct cntlp c;
	size_t k = 0;
	int rv;

	if ((rv = cntlp_build(l, LP_AUDIT, &c, why, whylen)) != 0)
		goto out;
	for (size_t id = 0; id < l->ncells; id++) {
		struct lcell *cl = &l->cells[id];
		double lo, hi;

		if (!(cl->flags & LC_SUP) || cl->need == 0)
			continue;
		if (k++ % step != 0)
			continue;
		if ((rv = cell_range(l, c.lp, c.vars[id], c.nvars[id], c.offset[id], &lo, &hi, NULL,
		                     0)) != 0)
			goto out;
		cl->lo = (float)lo;
		cl->hi = (float)hi;
		cl->audited = 1;
		rep->audited++;
		if (hi >= 0 && hi - lo < (double)cl->need)
			rep->audit_short++;
	}
	for (size_t a = 0; a < l->spec->nattrs; a++) {
		struct sumlp s;

		if ((rv = sumlp_build(l, (int)a, &s, why, whylen)) != 0) {
			sumlp_free(&s, l->nmcells + 1);
			goto out;
		}
		for (size_t id = 0; id < l->nmcells && rv == 0; id++) {
			struct lmcell *m = &l->mcells[id];
			double lo, hi;

			if (m->attr != a || !(m->flags & LC_SUP) || k++ % step != 0)
				continue;
			if ((rv = cell_range(l, s.lp, s.vars[id], s.nvars[id], 0, &lo, &hi, NULL, 0)) !=
			    0)
				break;
			m->lo = lo;
			m->hi = hi;
			m->audited = 1;
			rep->audited++;
			if (!sum_protected(m, lo, hi))
				rep->audit_short++;
		}
		l->lp_iterations += udc_lp_iterations(s.lp);
		sumlp_free(&s, l->nmcells + 1);
		if (rv != 0)
			goto out;
	}
	rv = 0;
out:
	if (c.lp != NULL)
		l->lp_iterations += udc_lp_iterations(c.lp);
	rep->lp_solves = l->lp_solves;
	rep->lp_iterations = l->lp_iterations;
	if (rv == UDC_EINVAL && why != NULL && why[0] == '\0')
		lsetf(why, whylen, "internal: the LP of the released cells has no solution");
	cntlp_free(&c, l->ncells);
	return rv;
}

/* --- the local audit of a sample --- */

struct fment {
	uint32_t id;  /* the cell */
	uint32_t var; /* one of its unknown base cells */
};

static int
cmp_fment(const void *a, const void *b)
{
	const struct fment *x = a, *y = b;

	if (x->id != y->id)
		return x->id < y->id ? -1 : 1;
	return x->var < y->var ? -1 : x->var > y->var;
}

/*
 * One cell's local LP: the unknowns are the base cells (g, c) with g in
 * rows and c in cols; every cell touching them becomes a row over them
 * with its value less the true values of its other base cells.
 */
static int
local_range(struct udc_linked *l, uint32_t sid, const uint32_t *rows, size_t nr,
            const uint32_t *cols, size_t nc, double *lo, double *hi)
{
	size_t nb = l->nb - 1, nf = 0, nfm = 0, cap = 0;
	uint32_t *fb = NULL, *obj = NULL, ids[IDS_CAP];
	struct fment *fm = NULL;
	struct udc_lp *lp = NULL;
	size_t nobj = 0;
	int rv = UDC_ENOMEM;

	if ((fb = malloc((nr * nc + 1) * sizeof(*fb))) == NULL)
		goto out;
	for (size_t i = 0; i < nr; i++)
		for (size_t j = 0; j < nc; j++) {
			size_t b = (size_t)rows[i] * (l->C + 1) + cols[j];

			if (b < nb)
				fb[nf++] = (uint32_t)b;
		}
	if ((rv = udc_lp_new(&lp, nf ? nf : 1)) != 0)
		goto out;
	rv = UDC_ENOMEM;
	if ((obj = malloc((nf + 1) * sizeof(*obj))) == NULL)
		goto out;
	for (size_t v = 0; v < nf; v++) {
		size_t n;

		if ((rv = lcells_of_base(l, fb[v], ids, IDS_CAP, &n)) != 0)
			goto out;
		rv = UDC_ENOMEM;
		if (nfm + n > cap) {
			size_t ncap = 2 * (nfm + n) + 64;
			struct fment *nm = realloc(fm, ncap * sizeof(*nm));

			if (nm == NULL)
				goto out;
			fm = nm;
			cap = ncap;
		}
		for (size_t k = 0; k < n; k++) {
			fm[nfm].id = ids[k];
			fm[nfm++].var = (uint32_t)v;
			if (ids[k] == sid)
				obj[nobj++] = (uint32_t)v;
		}
	}
	qsort(fm, nfm, sizeof(*fm), cmp_fment);
	for (size_t i = 0; i < nfm;) {
		size_t j = i, m = 0;
		uint32_t id = fm[i].id;
		const struct lcell *cl = &l->cells[id];
		uint64_t inside = 0;
		uint32_t *vars;

		while (j < nfm && fm[j].id == id)
			j++;
		if ((vars = malloc((j - i) * sizeof(*vars))) == NULL)
			goto out;
		for (size_t k = i; k < j; k++)
			if (m == 0 || vars[m - 1] != fm[k].var) {
				vars[m++] = fm[k].var;
				inside += l->base[fb[fm[k].var]];
			}
		if (released_eq(cl))
			rv = udc_lp_add_row(lp, vars, m, UDC_LP_EQ, (double)inside, NULL);
		else {
			/* the rest of the cell is known: what is left for the
			 * unknowns of a suppressed cell to reach lb */
			uint64_t rest = cl->count - inside;

			rv = udc_lp_add_row(lp, vars, m, UDC_LP_GE,
			                    (uint64_t)l->lb > rest ? (double)((uint64_t)l->lb - rest)
			                                           : 0.0,
			                    NULL);
		}
		free(vars);
		if (rv != 0)
			goto out;
		i = j;
	}
	{
		const struct lcell *s = &l->cells[sid];
		uint64_t inside = 0;

		for (size_t k = 0; k < nobj; k++)
			inside += l->base[fb[obj[k]]];
		rv = cell_range(l, lp, obj, nobj, s->count - inside, lo, hi, NULL, 0);
	}
out:
	if (lp != NULL)
		l->lp_iterations += udc_lp_iterations(lp);
	udc_lp_free(lp);
	free(fb);
	free(obj);
	free(fm);
	return rv;
}

int
linked_audit_local(struct udc_linked *l, size_t step, struct udc_linked_report *rep, char *why,
                   size_t whylen)
{
	uint8_t *rowin = NULL, *colin = NULL;
	uint32_t *rows = NULL, *cols = NULL;
	/* per base row / column: the suppressed one-base-cell cells in it */
	uint32_t **rsup = NULL, **csup = NULL;
	size_t *nrsup = NULL, *ncsup = NULL, k = 0;
	int rv = UDC_ENOMEM;

	if ((rowin = calloc(l->G + 1, 1)) == NULL || (colin = calloc(l->C + 1, 1)) == NULL ||
	    (rows = malloc((l->G + 1) * sizeof(*rows))) == NULL ||
	    (cols = malloc((l->C + 1) * sizeof(*cols))) == NULL ||
	    (rsup = calloc(l->G + 1, sizeof(*rsup))) == NULL ||
	    (csup = calloc(l->C + 1, sizeof(*csup))) == NULL ||
	    (nrsup = calloc(l->G + 1, sizeof(*nrsup))) == NULL ||
	    (ncsup = calloc(l->C + 1, sizeof(*ncsup))) == NULL)
		goto out;
	for (size_t id = 0; id < l->ncells; id++) {
		const struct lcell *cl = &l->cells[id];
		uint32_t *bs;
		size_t n;

		if (!(cl->flags & LC_SUP) || (cl->flags & LC_EMPTY))
			continue;
		if ((rv = lcell_base(l, (uint32_t)id, &bs, &n)) != 0)
			goto out;
		rv = UDC_ENOMEM;
		if (n == 1) {
			size_t g = bs[0] / (l->C + 1), c = bs[0] % (l->C + 1);
			uint32_t *nr = realloc(rsup[g], (nrsup[g] + 1) * sizeof(*nr)), *nc;

			if (nr == NULL) {
				free(bs);
				goto out;
			}
			rsup[g] = nr;
			rsup[g][nrsup[g]++] = (uint32_t)c;
			if ((nc = realloc(csup[c], (ncsup[c] + 1) * sizeof(*nc))) == NULL) {
				free(bs);
				goto out;
			}
			csup[c] = nc;
			csup[c][ncsup[c]++] = (uint32_t)g;
		}
		free(bs);
	}
	for (size_t id = 0; id < l->ncells; id++) {
		struct lcell *cl = &l->cells[id];
		const uint32_t *gm, *cm;
		size_t ng, ncm, nr = 0, nc = 0;
		double lo, hi;

		if (!(cl->flags & LC_SUP) || cl->need == 0 || (cl->flags & LC_EMPTY))
			continue;
		if (k++ % step != 0)
			continue;
		if ((rv = lset_members(l, 0, cl->g, &gm, &ng)) != 0 ||
		    (rv = lset_members(l, 1, cl->c, &cm, &ncm)) != 0)
			goto out;
		/* the cell's rows and columns, the not-linked row and column,
		 * and the rows (columns) of the suppressed cells in them */
#define ADD_ROW(x)                                                                                 \
	do {                                                                                       \
		if (!rowin[x]) {                                                                   \
			rowin[x] = 1;                                                              \
			rows[nr++] = (uint32_t)(x);                                                \
		}                                                                                  \
	} while (0)
#define ADD_COL(x)                                                                                 \
	do {                                                                                       \
		if (!colin[x]) {                                                                   \
			colin[x] = 1;                                                              \
			cols[nc++] = (uint32_t)(x);                                                \
		}                                                                                  \
	} while (0)
		ADD_ROW(l->G);
		ADD_COL(l->C);
		for (size_t i = 0; i < ng; i++)
			ADD_ROW(gm[i]);
		for (size_t j = 0; j < ncm; j++)
			ADD_COL(cm[j]);
		for (size_t i = 0; i < ng; i++)
			for (size_t q = 0; q < nrsup[gm[i]]; q++)
				ADD_COL(rsup[gm[i]][q]);
		for (size_t j = 0; j < ncm; j++)
			for (size_t q = 0; q < ncsup[cm[j]]; q++)
				ADD_ROW(csup[cm[j]][q]);
#undef ADD_ROW
#undef ADD_COL
		rv = local_range(l, (uint32_t)id, rows, nr, cols, nc, &lo, &hi);
		for (size_t i = 0; i < nr; i++)
			rowin[rows[i]] = 0;
		for (size_t j = 0; j < nc; j++)
			colin[cols[j]] = 0;
		if (rv != 0)
			goto out;
		cl->lo = (float)lo;
		cl->hi = (float)hi;
		cl->audited = 1;
		rep->audited++;
		if (hi >= 0 && hi - lo < (double)cl->need)
			rep->audit_short++;
	}
	rv = 0;
out:
	rep->lp_solves = l->lp_solves;
	rep->lp_iterations = l->lp_iterations;
	if (rv == UDC_ENOMEM)
		lsetf(why, whylen, "out of memory");
	else if (rv == UDC_EINVAL && why != NULL && why[0] == '\0')
		lsetf(why, whylen, "internal: a local LP has no solution");
	if (rsup != NULL)
		for (size_t g = 0; g <= l->G; g++)
			free(rsup[g]);
	if (csup != NULL)
		for (size_t c = 0; c <= l->C; c++)
			free(csup[c]);
	free(rsup);
	free(csup);
	free(nrsup);
	free(ncsup);
	free(rowin);
	free(colin);
	free(rows);
	free(cols);
	return rv;
}
