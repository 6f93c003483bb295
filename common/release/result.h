/*
 * result.h - the released table with its metadata (CSV and JSON), and the
 * conversions between tables / input reports and their wire form.
 */
#ifndef UDC_RESULT_H
#define UDC_RESULT_H

#include <stddef.h>
#include <stdint.h>
#include "input.h"
#include "linked.h"
#include "linkage.h"
#include "spec.h"
#include "table.h"
#include "wire.pb-c.h"

struct udc_result_meta {
	char round_id[33];
	char spec_hash[65];
	const struct udc_spec *spec;
	int64_t started, finished;
	char gemeente_name[64], cbs_name[64];
	struct udc_input_stats g, c;        /* per side: rows read, rejected by reason */
	uint64_t links_per_key[UDC_MAX_KEYS]; /* exact links per match key */
	size_t suppressed;                  /* entries suppressed by disclosure control */
	/* fuzzy and combined modes */
	uint64_t fuzzy_links;
	uint64_t fuzzy_bands[4];            /* links per similarity band */
	uint32_t band_lo[5];                /* band edges in thousandths */
	int has_linkage;                    /* the matcher's report and the estimated curve */
	struct udc_linkage_report linkage;
	char release_note[640];             /* what disclosure control did */
	char signer[128];                   /* "CBS key <fingerprint>" */
};

/* result.json of a full cross: metadata plus every released entry, written
 * to f entry by entry.  0 or UDC_EIO. */
int udc_result_write_json(const struct udc_result_meta *m, const struct udc_table *t, FILE *f);
/* The same for linked tables: metadata, what disclosure control did, and
 * each table's description; the cells are in result.csv
 * (udc_linked_write_long_csv). */
int udc_result_write_json_linked(const struct udc_result_meta *m, const struct udc_linked *l,
    const struct udc_linked_report *rep, FILE *f);

/* InputReport <-> stats of a read on spec (its keys and field set).
 * to_proto allocates arrays freed by udc_report_proto_free. */
int udc_report_to_proto(const struct udc_input_stats *st, const struct udc_spec *spec,
    Udc__InputReport *out);
void udc_report_proto_free(Udc__InputReport *r);
/* UDC_EPROTO with a reason for unknown reasons or fields, or oversized
 * arrays. */
int udc_report_from_proto(const Udc__InputReport *r, const struct udc_spec *spec,
    struct udc_input_stats *st, char *err, size_t errlen);

/* One log line of the matcher: records, links, threshold, blocking, pairs,
 * times, the estimate at the threshold. */
void udc_linkage_log_line(const struct udc_linkage_report *rep, char *buf, size_t len);
/* The same line from released metadata (result.json), for the gemeente
 * node, which has the report only in the CBS node's signed JSON; -1 when
 * the metadata carries no matcher report. */
int udc_linkage_log_line_json(const char *json, size_t len, char *buf, size_t buflen);

#endif
