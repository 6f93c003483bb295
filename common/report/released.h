/*
 * released.h - a round's released documents read back: result.csv (every
 * cell of every table) and result.json (the metadata and each table's
 * description), as the nodes store them under STATE/rounds/<id>/.
 *
 * Both documents come from outside this program (a file someone hands the
 * report tool), so everything is checked: every cell of every table that
 * result.json describes must be in result.csv exactly once, with labels
 * that are categories of its dimensions, and the two must agree on how many
 * cells each table suppressed.  Errors name the file and, in the CSV, the
 * line ("result.csv:12: reason"); in the JSON the line of a syntax error or
 * the path of a field ("result.json: tables[2].dimensions: reason").
 */
#ifndef UDC_RELEASED_H
#define UDC_RELEASED_H

#include <stddef.h>
#include <stdint.h>

#define UDC_REL_MAX_DIMS 8
#define UDC_REL_MAX_CELLS 4000000 /* all tables together, as a spec allows */
#define UDC_REL_MAX_COUNT ((uint64_t)1 << 40)

struct udc_rel_dim {
	char *name;
	int cbs;                 /* 0 gemeente side, 1 CBS side */
	size_t ncats;
	char **cats;
	size_t *order;           /* cats indices sorted by text, for lookups */
};

struct udc_rel_where {
	char *dim;
	size_t nvals;
	char **vals;
};

struct udc_rel_table {
	char *name;
	char *population;        /* linked, gemeente, gemeente_only, cbs, cbs_only */
	size_t ndims;
	struct udc_rel_dim dims[UDC_REL_MAX_DIMS];
	size_t nwhere;
	struct udc_rel_where *where;
	size_t ncells;           /* product of (ncats + 1): totals included */
	size_t nsuppressed;
	/* per cell, in mixed radix with the first dimension slowest and
	 * coordinate ncats for a dimension's total: */
	uint64_t *count;         /* released count, 0 where suppressed */
	uint8_t *suppressed;
};

/* One node's input report (metadata gemeente_input / cbs_input). */
struct udc_rel_input {
	int present;
	char *node;
	uint64_t rows_read, records_used, rows_rejected;
	size_t nreasons;
	char **reason;           /* rejected_by_reason, in the document's order */
	uint64_t *rejected;
};

struct udc_release {
	char *round_id, *spec_name, *spec_hash, *mode;
	char *started, *finished, *signer, *note; /* "" when absent */
	int min_cell, protection;
	int may_be_zero;         /* disclosure.suppressed_may_be_zero */
	unsigned round_base;     /* 0: counts not rounded */
	uint32_t eps_num, eps_den; /* noise per released count; eps_num 0: none */
	int has_links;
	uint64_t links_total;
	struct udc_rel_input input[2];          /* gemeente, cbs */
	int has_margins;
	uint64_t margin_rejected[2];            /* rows the gemeente_only / cbs_only margins leave out */
	size_t ntables;
	struct udc_rel_table *tables;
};

/*
 * Reads both documents.  *out is the caller's, freed with udc_release_free
 * (NULL on failure).  Returns 0, UDC_EIO (cannot read a file), UDC_EPARSE
 * (malformed; err says where and why), UDC_ELIMIT (too large), UDC_ENOMEM.
 */
int udc_release_read(struct udc_release **out, const char *csv_path, const char *json_path,
                     char *err, size_t errlen);
void udc_release_free(struct udc_release *r);

/* The table called name, or NULL. */
const struct udc_rel_table *udc_release_table(const struct udc_release *r, const char *name);
/* Index of dimension name in t, or -1. */
int udc_rel_dim_index(const struct udc_rel_table *t, const char *name);
/* Index of category text in d, or -1. */
long udc_rel_cat_index(const struct udc_rel_dim *d, const char *text);
/* Cell number of coords (one per dimension, ncats for the total). */
size_t udc_rel_cell(const struct udc_rel_table *t, const size_t *coords);

#endif
