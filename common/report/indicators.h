/*
 * indicators.h - the report's numbers: per indicator and area (and for the
 * whole city) the numerator and denominator as released, the interval
 * that surely holds each count (bounds.h), the share with its interval,
 * and the change since an earlier round.
 *
 * An indicator is a share within one released table: the numerator is one
 * cell per area (the area dimension at that area, the numerator's
 * dimensions at their values, every other dimension at its total), the
 * denominator the cell with only the denominator's dimensions fixed (by
 * default none but the area: the area's total over the table's other
 * dimensions).  A share is never computed from the unsuppressed cells
 * alone: where a count is suppressed, its interval is what every released
 * cell of the table allows, and the share's interval follows from those.
 */
#ifndef UDC_INDICATORS_H
#define UDC_INDICATORS_H

#include <stddef.h>
#include <stdint.h>

#include "geomap.h"
#include "released.h"
#include "reportconf.h"

enum udc_ind_state {
	UDC_IND_RELEASED = 0, /* numerator and denominator released: the share is known */
	UDC_IND_SUPPRESSED,   /* one of them suppressed: only the interval is known */
	UDC_IND_NOBODY,       /* the denominator is (released as) 0: there is no share */
	UDC_IND_UNKNOWN,      /* noise beyond its stated bound made the intervals meet nothing */
};

/* "released", "suppressed", "nobody", "unknown". */
const char *udc_ind_state_name(enum udc_ind_state s);

/* One area's (or the total's) figures in one round. */
struct udc_ind_fig {
	enum udc_ind_state state;
	int num_released, den_released;
	uint64_t num, den;             /* as released (0 where suppressed) */
	int64_t num_lo, num_hi;        /* hi UDC_BOUND_INF: no upper bound */
	int64_t den_lo, den_hi;
	double share;                  /* state RELEASED: num / den (at most 1) */
	int has_interval;              /* lo, hi hold the share's interval */
	double lo, hi;
};

struct udc_ind_row {
	const char *code;              /* the area's category; NULL: the whole city */
	const char *name;              /* from the map ("" if not on it); the total's name */
	struct udc_ind_fig now, old;   /* old: with a comparable earlier round */
	int has_change;                /* both rounds have an interval */
	int change_known;              /* both rounds released the share */
	double change, change_lo, change_hi; /* share now - share then */
};

/* What a released count's interval allows for, per round. */
struct udc_ind_round {
	int64_t round_slack;           /* rounding: base - 1 */
	int64_t noise_bound;           /* noise: the 95% bound (0: no noise) */
	int propagated;                /* 0: noise beyond its bound somewhere; not propagated */
	int converged;                 /* the propagation reached its fixpoint */
	size_t released_cells;         /* of the table */
};

struct udc_ind {
	const struct udc_rconf_ind *conf;
	const struct udc_rel_table *table;
	struct udc_ind_round rnow, rold;
	int compare;                   /* an earlier round was given */
	int comparable;                /* ... and its table is the same */
	char incomparable[320];        /* why not (compare && !comparable) */
	size_t nrows;                  /* the area's categories, then the total */
	struct udc_ind_row *rows;
};

struct udc_indicators {
	const struct udc_rconf *conf;
	const struct udc_release *rel, *old;
	size_t n;
	struct udc_ind *ind;
};

/*
 * Everything the report shows, from the release (and the earlier one, old
 * may be NULL), the configuration and the map (may be NULL: no names).
 * *out is the caller's, freed with udc_indicators_free; it points into
 * conf, rel, old and map, which must outlive it.  Returns 0; UDC_EINVAL
 * when the configuration does not fit the release ("CONF:LINE: reason");
 * UDC_EPARSE when the released cells of a table contradict each other
 * (not the work of noise); UDC_ENOMEM.
 */
int udc_indicators_compute(struct udc_indicators **out, const struct udc_rconf *conf,
                           const struct udc_release *rel, const struct udc_release *old,
                           const struct udc_geomap *map, char *err, size_t errlen);
void udc_indicators_free(struct udc_indicators *x);

/* The count intervals of every cell of table t: lo[] and hi[] (ncells
 * each, the caller's).  slack is what rounding and noise add on each side
 * of a released count.  Returns as udc_bounds_propagate. */
int udc_indicators_table_bounds(const struct udc_rel_table *t, int may_be_zero, int64_t slack,
                                int64_t *lo, int64_t *hi, int *converged, size_t *bad);

#endif
