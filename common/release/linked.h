/*
 * linked.h - the release of several linked tables from one linkage.
 *
 * The model (docs/governance.md, "Linked tables"): the base cube is
 * (gemeente cell or "not linked") x (CBS cell or "not linked"), exactly what
 * the linkage counts into a udc_table (cells, g_unlinked, c_unlinked); every
 * released cell of every [table ...] of the spec, totals and subtotals
 * included, is the sum of a set of base cells.  Cells of different tables
 * with the same set of base cells are one distinct cell: one true value,
 * one suppression decision, one noisy value, one charge to the ledger.
 *
 * The attacker (the gemeente, the strongest party that is not the CBS)
 * knows its own list per gemeente cell, the number of links, with
 * pad_categories = none also the CBS list per CBS cell, and every released
 * cell of every table; counts are nonnegative and, unless the release says
 * that suppressed cells may be zero, every suppressed count is at least 1.
 *
 * The CBS node, after counting:
 *
 *	udc_linked_new()        model and true values of every cell
 *	udc_linked_disclose()   primary and secondary suppression across all
 *	                        tables, ledger charge, noise, rounding
 *	udc_linked_get() ...    the released tables, cell by cell
 *
 * udc_linked_suppress() and udc_linked_audit() are the steps of the first
 * half on their own (tests, benchmark, and the report's intervals).
 */
#ifndef UDC_LINKED_H
#define UDC_LINKED_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "disclosure.h"
#include "spec.h"
#include "table.h"

/* One base cell of a numeric attribute (whole euros, each contribution
 * >= 0): the sum, the number of nonzero contributions, and the two largest
 * contributions (0 where there are fewer).  Contributions are taken to come
 * from distinct contributors; merge a household's records before if the
 * contributor is the household. */
struct udc_mag_cell {
	uint64_t sum, n, top1, top2;
};

/* Per attribute, in the layout of udc_table: cells[g * ncats + c] for the
 * linked, c_unlinked[c] for the CBS records not linked (gemeente records
 * have no CBS attribute). */
struct udc_mag_cube {
	const struct udc_mag_cell *cells;
	const struct udc_mag_cell *c_unlinked;
};

/* Why a cell is suppressed. */
enum udc_reason {
	UDC_REASON_NONE = 0,     /* released */
	UDC_REASON_SMALL,        /* 0 < count < min_cell */
	UDC_REASON_ZERO,         /* a zero in a table with zeros = sensitive */
	UDC_REASON_CONTRIBUTORS, /* sum: fewer than min_contributors contributors */
	UDC_REASON_DOMINANCE,    /* sum: the p%-rule */
	UDC_REASON_COUNT,        /* sum: its count is suppressed as small */
	UDC_REASON_SECONDARY,    /* complementary: protects other cells */
	UDC_REASON_MEAN,         /* mean: its sum or its count is suppressed */
	UDC_REASON_DIFFERENCE,   /* the caller's: e.g. it differs from an earlier release by
	                          * fewer than min_cell (docs/governance.md, differencing) */
};

/* "small", "zero", ... (never NULL). */
const char *udc_reason_name(enum udc_reason r);

struct udc_linked;

/*
 * The model of spec's tables over the counted base cube.  counts is only
 * read (ngroups and ncats must be the spec's cell counts); mags has
 * spec->nattrs entries or is NULL when no table sums an attribute.  *out is
 * the caller's, freed with udc_linked_free; spec and counts must outlive
 * it, mags need not.  Returns 0, UDC_EINVAL (with the reason in why),
 * UDC_ENOMEM.
 */
int udc_linked_new(struct udc_linked **out, const struct udc_spec *spec,
                   const struct udc_table *counts, const struct udc_mag_cube *mags, char *why,
                   size_t whylen);
void udc_linked_free(struct udc_linked *l);

struct udc_linked_report {
	size_t cells;        /* cells of all tables, totals included */
	size_t distinct;     /* distinct underlying count cells among them */
	size_t primary;      /* distinct count cells suppressed by a primary rule */
	size_t secondary;    /* distinct count cells suppressed to protect others */
	size_t zeros;        /* suppressed count cells whose true value is 0 */
	size_t mag_primary;  /* distinct sum cells suppressed by a primary rule */
	size_t mag_secondary;
	int lb;              /* the attacker's bound on a suppressed count: 1, or 0 */
	int two_way;         /* 1: protected by certified cycles of a two-way table */
	size_t certificates; /* cycles checked against every released cell */
	size_t lp_solves;    /* linear programs solved (GLPK) */
	uint64_t lp_iterations;
	size_t audited;      /* suppressed cells whose interval the LP audit computed */
	size_t audit_short;  /* of those, narrower than their protection: must be 0 */
	uint64_t sensitivity; /* released cells one person changes, at most */
	struct udc_rational charged; /* epsilon charged to the ledger */
};

/*
 * Primary suppression of every distinct cell, then secondary suppression
 * until no suppressed cell of any table can be narrowed, by all released
 * cells together, below its protection: a count cell to an interval
 * narrower than spec->protection, a sum cell sensitive by the p%-rule (or
 * by min_cell, min_contributors) to an upper bound closer than its upper
 * protection level, any other suppressed sum to a single value.  How it is
 * decided: docs/governance.md, "Linked tables".  Returns 0; UDC_EREFUSED
 * when some cell cannot be protected (why says which); UDC_ELIMIT when the
 * tables are too large for the LP (why says how large); UDC_ENOMEM.  May be
 * called once.
 */
int udc_linked_suppress(struct udc_linked *l, struct udc_linked_report *rep, char *why,
                        size_t whylen);

/*
 * The LP audit (GLPK) of the suppression: for every suppressed cell, or
 * every step-th one (step > 1, a sample), the least and greatest value it
 * can have over all nonnegative solutions consistent with every released
 * cell and everything the attacker knows.  rep->audited and
 * rep->audit_short say how many were computed and how many are narrower
 * than their protection.  Returns 0, UDC_ELIMIT (too large), UDC_ENOMEM.
 */
int udc_linked_audit(struct udc_linked *l, size_t step, struct udc_linked_report *rep,
                     char *why, size_t whylen);

/*
 * Before udc_linked_suppress (or _disclose): cell k of table t, and every
 * cell of any table with the same base cells, is suppressed whatever its
 * count (a zero too: suppressed cells may then be zero), with reason why
 * (UDC_REASON_DIFFERENCE, UDC_REASON_ZERO or UDC_REASON_SMALL), and
 * protected like any other.  For the caller's own rules, such as the
 * release history's differencing check.  Returns 0 or UDC_EINVAL.
 */
int udc_linked_force(struct udc_linked *l, size_t t, size_t k, enum udc_reason why);

/*
 * The same audit of a sample, where the full LP is too large (a 65535 x 64
 * table): for every step-th suppressed count cell, an LP in which only the
 * base cells in the rows and columns of the cell and of the suppressed
 * one-base-cell cells sharing a row or column with it are unknown; every
 * other base cell is given to the attacker at its true value.  That
 * attacker knows more than the real one, so a cell it cannot narrow below
 * the protection is protected (the converse need not hold).  Fills
 * audited and audit_short as udc_linked_audit does.  Returns 0, UDC_ENOMEM,
 * UDC_ELIMIT (GLPK failed).
 */
int udc_linked_audit_local(struct udc_linked *l, size_t step, struct udc_linked_report *rep,
                           char *why, size_t whylen);

/*
 * A suppression pattern decided elsewhere (another tool, an earlier
 * release, each table protected alone), to be judged by udc_linked_audit:
 * marks the count (sum: 0) or the sum (sum: 1) of cell k of table t
 * suppressed.  Not together with udc_linked_suppress.  Returns 0 or
 * UDC_EINVAL.
 */
int udc_linked_mark(struct udc_linked *l, size_t t, size_t k, int sum);

/*
 * The whole release: suppression (udc_linked_suppress), then with noise
 * the charge of eps times the sensitivity to the ledger (before any draw)
 * and one discrete Laplace draw per distinct released count cell, then
 * unbiased random rounding per distinct released count cell.  p->min_cell
 * and p->sensitive are ignored (the spec's min_cell applies; cells the
 * caller wants suppressed go through udc_linked_force).  Sums are neither
 * noised nor rounded.
 * Returns as udc_linked_suppress, or UDC_EREFUSED when the budget would be
 * exceeded (nothing charged), UDC_EIO, UDC_EPARSE (damaged ledger).
 */
int udc_linked_disclose(struct udc_linked *l, const struct udc_disclosure_params *p,
                        struct udc_linked_report *rep, char *why, size_t whylen);

/* The released tables, in the spec's order (sorted by name). */
size_t udc_linked_ntables(const struct udc_linked *l);
size_t udc_linked_ncells(const struct udc_linked *l, size_t t);
/* Cell k's coordinates: per table dimension the category (an index into
 * the dimension's cats), or its ncats for the total.  coords has the
 * table's ndims entries.  udc_linked_index is the inverse. */
void udc_linked_coords(const struct udc_linked *l, size_t t, size_t k, size_t *coords);
size_t udc_linked_index(const struct udc_linked *l, size_t t, const size_t *coords);

struct udc_linked_cell {
	uint64_t count;         /* released (0 when suppressed) */
	int suppressed;
	enum udc_reason reason;
	int known;              /* the gemeente knows it from its own list */
	int empty;              /* no record can be in it: always 0 */
	uint32_t distinct;      /* underlying cell: equal ids, equal base cells */
	int has_sum;            /* the table sums an attribute */
	uint64_t sum;           /* released (0 when suppressed) */
	int sum_suppressed;
	enum udc_reason sum_reason;
	int mean;               /* the table releases means and this one is */
	/* after udc_linked_audit, for suppressed cells it computed: */
	int audited;
	double lo, hi;          /* count (or sum) interval; hi < 0: unbounded */
};

/* 0, or UDC_EINVAL for t or k out of range. */
int udc_linked_get(const struct udc_linked *l, size_t t, size_t k, struct udc_linked_cell *out);

/*
 * Group-mean estimates (docs/governance.md, "Magnitudes"), for a spec whose
 * summed attribute has groups (a hidden CBS dimension, udc_attr.gdim):
 * after the release (udc_linked_disclose or udc_linked_replay), the sum of
 * every cell of a table with sum is estimated as the sum over groups g of
 * the released count of (cell, g) in the table's generated group table
 * times the mean of the attribute over every CBS record of group g in the
 * cell's CBS categories (the whole CBS input, rounded to whole euros).  An
 * estimate is withheld when its count or any count it is made of is
 * suppressed.  gsum and gn hold per CBS cell (spec->ncells[UDC_SIDE_CBS],
 * category x group) the sum and the number of the attribute's values over
 * the whole CBS input; only read.  Returns 0, UDC_EINVAL (why says why),
 * UDC_ENOMEM.
 */
int udc_linked_estimate(struct udc_linked *l, const uint64_t *gsum, const uint64_t *gn, char *why,
                        size_t whylen);
/* The group means behind the estimate of cell k of sum table t: means[g]
 * and defined[g] (0: no CBS record of the cell's categories is in group g)
 * for g below the attribute's groups.  Returns 0, or UDC_EINVAL (no
 * estimates for t). */
int udc_linked_group_means(const struct udc_linked *l, size_t t, size_t k, uint64_t *means,
                           uint8_t *defined);
/* 1 if table t's sums are group-mean estimates. */
int udc_linked_estimated(const struct udc_linked *l, size_t t);

/*
 * Table t as CSV: a header with the table's dimension names, then "count",
 * "suppressed" (and "sum", "sum_suppressed", "mean" for tables with sums);
 * one row per cell, an empty label for a total, an empty count (sum, mean)
 * when suppressed.  The mean is released sum / released count with two
 * decimals.  No reasons: they would tell the reader more than the
 * protection allows for (a "zero" is a value).  Returns 0 or UDC_EIO.
 */
int udc_linked_write_csv(const struct udc_linked *l, size_t t, FILE *f);

/*
 * The distinct count cells behind the tables, for the release history
 * (history.h): ids 0 .. udc_linked_ndistinct() - 1.  udc_linked_distinct
 * returns 1 for a cell of some table that the gemeente does not know
 * beforehand and that is not always empty, with its true count and the
 * history key of the records it counts; 0 for any other id; or an error
 * (UDC_ELIMIT: the key does not fit in keylen).
 */
size_t udc_linked_ndistinct(const struct udc_linked *l);
int udc_linked_distinct(const struct udc_linked *l, size_t id, uint64_t *truth, char *key,
                        size_t keylen);
/* udc_linked_force for every table cell with distinct count cell id. */
int udc_linked_force_distinct(struct udc_linked *l, size_t id, enum udc_reason why);

/*
 * What a release decided, to answer the same question on the same data
 * again without a new draw: per distinct count cell then per distinct sum
 * cell, the released value and (suppressed | reason << 1).  export
 * allocates both arrays (the caller frees them); replay, on a model built
 * from the same spec and counts instead of udc_linked_disclose, takes them
 * back (UDC_EINVAL if they do not fit this model).
 */
int udc_linked_export(const struct udc_linked *l, uint64_t **out, uint8_t **flags, size_t *n);
int udc_linked_replay(struct udc_linked *l, const uint64_t *out, const uint8_t *flags, size_t n);

/*
 * Zeros that would name the category of a few people, suppressed whatever
 * the spec says (before udc_linked_disclose): a cell with count 0 whose
 * gemeente records (g_records per gemeente cell, from its list) number
 * 1 .. min_cell-1, for a gemeente can make such a group on purpose and
 * read its members' category off the zeros; and a cell of CBS-only
 * records with count 0 where the CBS holds records (c_records per CBS
 * cell), which would say that every one of them is on the gemeente's list.
 * Returns how many distinct cells it forced, or an error.
 */
int udc_linked_force_small_zeros(struct udc_linked *l, const uint64_t *g_records,
                                 const uint64_t *c_records, unsigned min_cell);

/*
 * Every table in one CSV: "table", then one column per dimension of any
 * table (in the order they first appear), then the columns of
 * udc_linked_write_csv ("sum" ... only if some table has sums).  A
 * dimension left empty is not split in that row: a total, or not a
 * dimension of the table.  Returns 0 or UDC_EIO.
 */
int udc_linked_write_long_csv(const struct udc_linked *l, FILE *f);

#endif
