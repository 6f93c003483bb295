/*
 * lpaudit.c - the audit's linear programs on GLPK (see lpaudit.h).
 *
 * One glp_prob lives as long as the udc_lp.  Columns are the variables with
 * lower bounds, rows the cells.  The primal simplex is used throughout: a
 * new objective keeps the last basis primal feasible, and so does relaxing
 * a row from "= v" to ">= lb" (v >= lb), which is all suppression does.
 */
#include "lpaudit.h"

#include <glpk.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

struct udc_lp {
	glp_prob *P;
	size_t nvars, nrows;
	uint32_t *obj; /* the variables with a coefficient in the last objective */
	size_t nobj, objcap;
	int *ind;      /* 1-based scratch for glp_set_mat_row */
	double *ones;  /* its coefficients: all 1 */
	uint8_t *mark; /* per variable: seen in the row being added */
	int solved;    /* a basis from an earlier solve exists */
	uint64_t iters;
};

int
udc_lp_new(struct udc_lp **out, size_t nvars)
{
	struct udc_lp *lp;

	*out = NULL;
	if (nvars == 0 || nvars >= (size_t)INT_MAX)
		return UDC_EINVAL;
	if ((lp = calloc(1, sizeof(*lp))) == NULL)
		return UDC_ENOMEM;
	if ((lp->ind = malloc((nvars + 1) * sizeof(*lp->ind))) == NULL ||
	    (lp->ones = malloc((nvars + 1) * sizeof(*lp->ones))) == NULL ||
	    (lp->mark = calloc(nvars, 1)) == NULL) {
		udc_lp_free(lp);
		return UDC_ENOMEM;
	}
	glp_term_out(GLP_OFF);
	lp->P = glp_create_prob();
	lp->nvars = nvars;
	glp_add_cols(lp->P, (int)nvars);
	for (size_t j = 0; j <= nvars; j++)
		lp->ones[j] = 1.0;
	for (size_t j = 1; j <= nvars; j++)
		glp_set_col_bnds(lp->P, (int)j, GLP_LO, 0.0, 0.0);
	*out = lp;
	return 0;
}

void
udc_lp_free(struct udc_lp *lp)
{
	if (lp == NULL)
		return;
	if (lp->P != NULL)
		glp_delete_prob(lp->P);
	free(lp->obj);
	free(lp->ind);
	free(lp->ones);
	free(lp->mark);
	free(lp);
}

size_t
udc_lp_nvars(const struct udc_lp *lp)
{
	return lp->nvars;
}

size_t
udc_lp_nrows(const struct udc_lp *lp)
{
	return lp->nrows;
}

uint64_t
udc_lp_iterations(const struct udc_lp *lp)
{
	return lp->iters;
}

int
udc_lp_var_lower(struct udc_lp *lp, size_t j, double lower)
{
	if (j >= lp->nvars || !(lower >= 0.0))
		return UDC_EINVAL;
	glp_set_col_bnds(lp->P, (int)j + 1, GLP_LO, lower, 0.0);
	return 0;
}

static void
row_bounds(struct udc_lp *lp, size_t row, enum udc_lp_kind kind, double value)
{
	if (kind == UDC_LP_EQ)
		glp_set_row_bnds(lp->P, (int)row + 1, GLP_FX, value, value);
	else if (kind == UDC_LP_GE)
		glp_set_row_bnds(lp->P, (int)row + 1, GLP_LO, value, 0.0);
	else
		glp_set_row_bnds(lp->P, (int)row + 1, GLP_FR, 0.0, 0.0);
}

int
udc_lp_add_row(struct udc_lp *lp, const uint32_t *vars, size_t n, enum udc_lp_kind kind,
               double value, size_t *row)
{
	int i;

	if (n == 0 || n > lp->nvars || lp->nrows >= (size_t)INT_MAX - 1 ||
	    (kind != UDC_LP_EQ && kind != UDC_LP_GE && kind != UDC_LP_FREE) || !(value >= 0.0))
		return UDC_EINVAL;
	/* glp_set_mat_row aborts on a repeated or out-of-range column */
	for (size_t k = 0; k < n; k++) {
		if (vars[k] >= lp->nvars || lp->mark[vars[k]]) {
			for (size_t m = 0; m < k; m++)
				lp->mark[vars[m]] = 0;
			return UDC_EINVAL;
		}
		lp->mark[vars[k]] = 1;
		lp->ind[k + 1] = (int)vars[k] + 1;
	}
	for (size_t k = 0; k < n; k++)
		lp->mark[vars[k]] = 0;
	i = glp_add_rows(lp->P, 1);
	glp_set_mat_row(lp->P, i, (int)n, lp->ind, lp->ones);
	if (row != NULL)
		*row = lp->nrows;
	row_bounds(lp, lp->nrows, kind, value);
	lp->nrows++;
	return 0;
}

int
udc_lp_set_row(struct udc_lp *lp, size_t row, enum udc_lp_kind kind, double value)
{
	if (row >= lp->nrows || (kind != UDC_LP_EQ && kind != UDC_LP_GE && kind != UDC_LP_FREE) ||
	    !(value >= 0.0))
		return UDC_EINVAL;
	row_bounds(lp, row, kind, value);
	return 0;
}

int
udc_lp_optimize(struct udc_lp *lp, const uint32_t *vars, size_t n, int maximize, double *value,
                int *unbounded)
{
	glp_smcp parm;
	int rc, st;

	*unbounded = 0;
	*value = 0.0;
	if (n == 0 || n > lp->nvars)
		return UDC_EINVAL;
	for (size_t k = 0; k < n; k++)
		if (vars[k] >= lp->nvars)
			return UDC_EINVAL;
	if (lp->nrows == 0)
		return UDC_EINVAL;
	for (size_t k = 0; k < lp->nobj; k++)
		glp_set_obj_coef(lp->P, (int)lp->obj[k] + 1, 0.0);
	lp->nobj = 0;
	if (n > lp->objcap) {
		uint32_t *no = realloc(lp->obj, n * sizeof(*no));

		if (no == NULL)
			return UDC_ENOMEM;
		lp->obj = no;
		lp->objcap = n;
	}
	for (size_t k = 0; k < n; k++) {
		glp_set_obj_coef(lp->P, (int)vars[k] + 1, 1.0);
		lp->obj[lp->nobj++] = vars[k];
	}
	glp_set_obj_dir(lp->P, maximize ? GLP_MAX : GLP_MIN);
	glp_init_smcp(&parm);
	parm.msg_lev = GLP_MSG_OFF;
	parm.presolve = GLP_OFF;
	if (!lp->solved)
		glp_adv_basis(lp->P, 0);
	glp_set_it_cnt(lp->P, 0);
	rc = glp_simplex(lp->P, &parm);
	if (rc == GLP_EBADB || rc == GLP_ESING || rc == GLP_ECOND) {
		/* the kept basis went bad: start again from a fresh one */
		glp_adv_basis(lp->P, 0);
		rc = glp_simplex(lp->P, &parm);
	}
	lp->iters += (uint64_t)glp_get_it_cnt(lp->P);
	if (rc != 0)
		return UDC_ELIMIT;
	lp->solved = 1;
	st = glp_get_status(lp->P);
	if (st == GLP_UNBND) {
		*unbounded = 1;
		return 0;
	}
	if (st != GLP_OPT)
		return st == GLP_NOFEAS ? UDC_EINVAL : UDC_ELIMIT;
	*value = glp_get_obj_val(lp->P);
	return 0;
}

double
udc_lp_row_dual(const struct udc_lp *lp, size_t row)
{
	if (row >= lp->nrows || !lp->solved)
		return 0.0;
	return glp_get_row_dual(lp->P, (int)row + 1);
}
