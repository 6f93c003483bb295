/*
 * input.h - read a node's person list into normalised match-key records.
 *
 * Streams the CSV in chunks: maps the configured columns, normalises every
 * identifier field the round uses (by the spec's declaration of the field),
 * builds each match key of the spec (fields joined by 0x1f; a key with a
 * missing component is missing), looks the record's labels up in the spec's
 * allowed values, and hands chunks of records to a callback.  Bad rows are
 * counted by reason (and the first few reported with file and line, never
 * with their contents); they never stop the read.  Values that fail their
 * field's check are counted per field and reason and logged as counts; a
 * field failing for more than a set share of the rows fails the read unless
 * it is exempt.
 */
#ifndef UDC_INPUT_H
#define UDC_INPUT_H

#include <stddef.h>
#include <stdint.h>
#include "fields.h"
#include "normalize.h"
#include "spec.h"

enum udc_reject {
	UDC_REJ_CSV = 0,   /* malformed CSV record */
	UDC_REJ_UTF8,      /* invalid UTF-8 */
	UDC_REJ_LABEL,     /* a label value outside the spec's allowed set, or empty */
	UDC_REJ_NO_KEY,    /* no match key could be formed */
	UDC_REJ_DUPLICATE, /* every key of the record is shared with another record (set by the node) */
	UDC_REJ_ENCODE,    /* the CLK schema refused the record's values (set by the node) */
	UDC_REJ_ATTR,      /* the summed attribute is not a whole number of euros >= 0 */
	UDC_REJ_MAX
};
const char *udc_reject_name(int reason);
/* "9921 rows read, 9885 used, 36 rejected (duplicate 26, no_match_key 10)" into buf. */
struct udc_input_stats;
void udc_input_summary(const struct udc_input_stats *st, char *buf, size_t len); /* "malformed_csv", "invalid_utf8", "label_not_allowed", "no_match_key", "duplicate", "clk_encoding" */

#define UDC_INPUT_EXAMPLES 8

struct udc_input_stats {
	uint64_t rows;                       /* data rows seen (good and bad) */
	uint64_t accepted;                   /* rows handed to the callback */
	uint64_t rejected[UDC_REJ_MAX];
	/* Field values present but invalid (the field is then treated as missing),
	 * per field of the spec's field set, and by reason (normalize.h). */
	uint64_t invalid[UDC_MAX_FIELDS];
	uint64_t invalid_why[UDC_MAX_FIELDS][UDC_NORM_NREASONS];
	/* Fields whose failing share passed the limit but are exempt from it. */
	uint32_t over_limit;
	uint64_t key_missing[UDC_MAX_KEYS];  /* accepted records lacking key j */
	uint64_t key_duplicate[UDC_MAX_KEYS];/* set by the node after blinding */
	/* Labels out of set per dimension of this side. */
	uint64_t label_rejected[UDC_MAX_DIMS];
	/* The first few problems as "PATH:LINE: reason" (no field contents). */
	char examples[UDC_INPUT_EXAMPLES][192];
	size_t nexamples;
	/* With a filter (udc_input_opts): rows of other populations, skipped and
	 * counted nowhere else; and rows the CSV reader could not split, whose
	 * population is unknown (not counted in rows or rejected either). */
	uint64_t filtered_out;
	uint64_t unattributed;
};

struct udc_inrec {
	uint32_t label;                 /* cell index on this side (udc_spec_cell_index; a
	                                 * hidden group dimension at 0) */
	uint64_t attr;                  /* the value of opts->attr_column, 0 without */
	char *key[UDC_MAX_KEYS];        /* normalised key, NULL if missing */
	char *field[UDC_MAX_FIELDS];    /* normalised fields (spec's field set), NULL if missing */
};

/* Called with up to chunk records; pointers valid only during the call.
 * A nonzero return stops the read (at the next chunk) and is returned by
 * udc_input_read.  The calls come one at a time and in file order, but on
 * a thread of their own while the next chunk is read: the callback must not
 * touch the stats or anything else the reader uses. */
typedef int (*udc_input_cb)(void *ctx, const struct udc_inrec *recs, size_t n);

struct udc_input_opts {
	const char *path;
	char delimiter;                        /* ',' if 0 */
	const char *columns[UDC_MAX_FIELDS];   /* CSV column per field of the spec's field set; NULL = unmapped */
	const struct udc_spec *spec;
	enum udc_side side;
	const char *label_columns[UDC_MAX_DIMS]; /* CSV column per input dim of this side */
	/* if set: the column of the spec's summed attribute (whole euros, >= 0;
	 * any other value rejects the row as UDC_REJ_ATTR) */
	const char *attr_column;
	size_t chunk;                          /* records per callback (default 4096) */
	int check_invalid;                     /* 1: enforce max_invalid */
	double max_invalid;                    /* share of rows a used field may fail */
	uint32_t allow_invalid;                /* fields exempt from max_invalid */
	uint64_t max_bytes;                    /* refuse a file larger than this (0: no limit) */
	uint8_t *digest;                       /* if set: SHA-256 of the file as read (32 bytes) */
	/* if filter_column is set: only the rows whose filter_column holds
	 * filter_value (blanks around it ignored) are this list; the others are
	 * skipped (a national file read for one city, docs/operations.md) */
	const char *filter_column;
	const char *filter_value;
	/* if set: called after every chunk with the bytes read and the file size */
	void (*progress)(void *arg, uint64_t done, uint64_t total);
	void *progress_arg;
};

/* Whether the rows rejected (by reason, duplicates included) stay within
 * limit, in hundredths of a percent of the rows read: 0, or UDC_EREFUSED
 * with "rejected N of M rows (P%), more than the L% allowed: reason n, ..."
 * in why. */
int udc_input_check_rejects(const struct udc_input_stats *st, int limit, char *why, size_t whylen);

/* The fields a round on spec reads: those of its match keys and those its
 * attached CLK schema encodes; every field if a fuzzy spec has no schema
 * attached.  A spec built by hand without a field set has the built-ins. */
uint32_t udc_input_fields_used(const struct udc_spec *spec);
/* The spec's field set, or the built-in one for a spec built by hand. */
const struct udc_fieldset *udc_input_fieldset(const struct udc_spec *spec);

/* Returns 0 when the whole file was read (bad rows only counted), UDC_EIO /
 * UDC_EPARSE with "PATH: reason" in err when the file cannot be read or a
 * mapped column is missing from the header, UDC_EINVAL with "PATH: field F:
 * ..." when a used field fails its check for more than max_invalid of the
 * rows (check_invalid set, field not exempt), or the callback's return
 * value. */
int udc_input_read(const struct udc_input_opts *opts, udc_input_cb cb, void *ctx,
    struct udc_input_stats *st, char *err, size_t errlen);

#endif
