/*
 * lpaudit.h - the linear programs of the disclosure audit, solved by GLPK.
 *
 * Variables x_j >= a lower bound (0 unless set); rows "the sum of some
 * variables = value" (a released cell) or ">= value" (a suppressed one).
 * udc_lp_optimize gives the least or greatest sum of a set of variables over
 * every solution: the attacker's interval for a suppressed cell.  The
 * problem is kept between calls, so a changed objective or a relaxed row
 * starts from the last basis (a few pivots, not a new solve).
 *
 * GLPK aborts the process on a call it finds invalid; every argument is
 * checked here first, so nothing a peer or a file sends can reach such a
 * call.
 */
#ifndef UDC_LPAUDIT_H
#define UDC_LPAUDIT_H

#include <stddef.h>
#include <stdint.h>

enum udc_lp_kind {
	UDC_LP_EQ = 0,   /* sum = value */
	UDC_LP_GE = 1,   /* sum >= value */
	UDC_LP_FREE = 2, /* no constraint (a row kept for later) */
};

struct udc_lp;

/* nvars >= 1 and < 2^31.  *out is the caller's, freed with udc_lp_free. */
int udc_lp_new(struct udc_lp **out, size_t nvars);
void udc_lp_free(struct udc_lp *lp);
size_t udc_lp_nvars(const struct udc_lp *lp);
size_t udc_lp_nrows(const struct udc_lp *lp);
int udc_lp_var_lower(struct udc_lp *lp, size_t j, double lower);
/* A row over n distinct variables (n >= 1); its index in *row (may be NULL). */
int udc_lp_add_row(struct udc_lp *lp, const uint32_t *vars, size_t n, enum udc_lp_kind kind,
                   double value, size_t *row);
int udc_lp_set_row(struct udc_lp *lp, size_t row, enum udc_lp_kind kind, double value);

/*
 * Minimises (maximize 0) or maximises the sum of vars over the feasible set.
 * 0 and *value, or *unbounded = 1 (the sum has no upper bound); UDC_EINVAL
 * when the rows have no solution at all (the true table always is one, so
 * this is a bug or a numerical failure); UDC_ELIMIT if GLPK fails.
 */
int udc_lp_optimize(struct udc_lp *lp, const uint32_t *vars, size_t n, int maximize,
                    double *value, int *unbounded);
/* The dual value of a row in the last optimum: how much the optimum moves
 * per unit of the row's value.  Nonzero: the row bounds the optimum. */
double udc_lp_row_dual(const struct udc_lp *lp, size_t row);
/* Simplex iterations so far (for the benchmark). */
uint64_t udc_lp_iterations(const struct udc_lp *lp);

#endif
