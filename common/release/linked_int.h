/*
 * linked_int.h - the model of linked tables, shared by linked.c (building,
 * values, primary suppression, release) and protect.c (secondary
 * suppression, certificates, LP audit).  Not for use elsewhere.
 *
 * Base cube: rows g = 0..G (G: a CBS record not linked), columns c = 0..C
 * (C: a gemeente record not linked); base cell b = g * (C + 1) + c, the
 * corner (G, C) does not exist.  A side set is a set of rows (or columns):
 * "not linked" or not, plus a box, the product over the side's base
 * dimensions of a subset of each.  Every cell is (row set) x (column set).
 */
#ifndef UDC_LINKED_INT_H
#define UDC_LINKED_INT_H

#include <stddef.h>
#include <stdint.h>

#include "linked.h"

/* distinct count cell flags */
#define LC_EMPTY 0x01  /* no base cell */
#define LC_KNOWN 0x02  /* the attacker knows it without any release */
#define LC_PUBLIC 0x04 /* an attacker constraint (its own list, the links) */
#define LC_ZSENS 0x08  /* in a table with zeros = sensitive */
#define LC_SUP 0x10    /* suppressed */
#define LC_TABLE 0x20  /* a cell of some table */
#define LC_FORCE 0x40  /* suppressed by the caller's rule (udc_linked_force) */

#define LSET_NONE UINT32_MAX

/* An interned subset of one base dimension's values; id 0 is "all". */
struct lsubset {
	uint16_t *v;  /* sorted */
	size_t n;
	uint64_t hash;
};

struct lsubsets {
	struct lsubset *s;
	size_t n, cap;
	uint32_t *slot; /* open addressing over ids + 1 (0 empty) */
	size_t nslot;
};

struct lset {
	uint8_t has_box, has_u;
	uint32_t sub[UDC_MAX_DIMS]; /* per base dimension of the side */
	uint32_t *members;          /* rows (or columns), built on demand */
	size_t nmembers;
	int listed;
};

struct lsets {
	struct lset *s;
	size_t n, cap;
	uint32_t *slot;
	size_t nslot;
};

/* 48 bytes: a 65535 x 64 table with its totals has 4.3 million of them. */
struct lcell {
	uint32_t g, c; /* row set, column set */
	uint8_t flags;
	uint8_t reason;
	uint8_t audited;
	uint32_t need;     /* interval width it must keep when suppressed (0: none) */
	uint32_t up, down; /* what checked certificates prove (saturated) */
	uint64_t count;    /* true value */
	uint64_t out;      /* released value */
	float lo, hi;      /* LP audit, for the report (the decision uses doubles) */
};

/* A distinct sum cell: an attribute over the base set of a count cell. */
struct lmcell {
	uint32_t cell;
	uint8_t attr;
	uint8_t flags; /* LC_SUP, LC_EMPTY */
	uint8_t reason;
	uint8_t audited;
	uint64_t sum, n, top1, top2;
	uint64_t need_up;    /* upper protection level (sensitive cells) */
	uint64_t need_width; /* interval width (every suppressed sum: >= 1) */
	double lo, hi;
};

struct ltable {
	const struct udc_tablespec *ts;
	size_t ndims, ncells;
	size_t radix[UDC_MAX_TABLE_DIMS];  /* ncats + 1 */
	size_t stride[UDC_MAX_TABLE_DIMS]; /* in the table's cell index */
	int32_t *gpart, *cpart;            /* per row / column: finest cell part, -1: not in */
	uint32_t *cell;                    /* per table cell: distinct count cell */
	uint32_t *mcell;                   /* per table cell: distinct sum cell (sum tables) */
	/* group-mean estimates (sum tables of a spec with groups), after
	 * udc_linked_estimate: per cell the estimate and whether it is withheld;
	 * per CBS part of a cell (mixed radix over the table's CBS dimensions,
	 * totals included) and group, the group mean and whether it exists */
	uint64_t *est;
	uint8_t *est_sup;
	uint64_t *gmean;
	uint8_t *gdef;
	unsigned ngroups;
};

/* A map from 64-bit keys to 32-bit values, open addressing. */
struct lmap {
	uint64_t *key;
	uint32_t *val;
	size_t cap, n;
};

struct udc_linked {
	const struct udc_spec *spec;
	size_t G, C, nb;     /* nb = (G + 1) * (C + 1) */
	uint64_t *base;      /* true counts, per base cell */
	struct udc_mag_cell *mag[UDC_MAX_ATTRS];
	size_t dstride[2][UDC_MAX_DIMS]; /* mixed radix of each side */
	struct lsubsets subs[2][UDC_MAX_DIMS];
	struct lsets sets[2];
	uint32_t set_all_u[2];  /* the whole side, "not linked" included */
	uint32_t set_all[2];    /* the whole side, "not linked" excluded */
	struct lcell *cells;
	size_t ncells, cellcap;
	struct lmap cellmap;
	struct lmcell *mcells;
	size_t nmcells, mcellcap;
	struct lmap mcellmap;
	struct ltable tables[UDC_MAX_TABLES];
	size_t ntables;
	uint32_t empty_cell;     /* the distinct cell of the empty set */
	uint32_t *pub_row;       /* per g < G: its list cell N_g */
	uint32_t *pub_col;       /* per c < C: N_c (pad_categories none), else NULL */
	uint32_t pub_links;      /* the linked total */
	int lb;                  /* the attacker's bound on a suppressed count */
	int suppressed, disclosed, marked;
	int two_way;
	size_t certificates, lp_solves;
	uint64_t lp_iterations;
};

/* linked.c */
int lmap_get(const struct lmap *m, uint64_t key, uint32_t *val);
/* The rows (or columns) of a set, listed once and kept. */
int lset_members(struct udc_linked *l, int side, uint32_t id, const uint32_t **members,
                 size_t *n);
/* Base cells of count cell id into a new array (the caller frees it). */
int lcell_base(struct udc_linked *l, uint32_t id, uint32_t **out, size_t *n);
/* Every distinct count cell that contains base cell b (tables' cells and
 * the public ones), appended to ids; returns how many or an error. */
int lcells_of_base(const struct udc_linked *l, size_t b, uint32_t *ids, size_t cap, size_t *n);
void lsetf(char *why, size_t whylen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* "table t, wijk=WK01, low_income=total" for messages about cell id. */
void lcell_name(const struct udc_linked *l, uint32_t id, char *buf, size_t len);

/* protect.c */
int linked_secondary(struct udc_linked *l, struct udc_linked_report *rep, char *why,
                     size_t whylen);
int linked_audit(struct udc_linked *l, size_t step, struct udc_linked_report *rep, char *why,
                 size_t whylen);
int linked_audit_local(struct udc_linked *l, size_t step, struct udc_linked_report *rep,
                       char *why, size_t whylen);

#endif
