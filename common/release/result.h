/*
 * result.h - the released table with its metadata (CSV and JSON), and the
 * conversions between tables / input reports and their wire form.
 */
#ifndef UDC_RESULT_H
#define UDC_RESULT_H

#include <stddef.h>
#include <stdint.h>
#include "input.h"
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
	char release_note[320];             /* what disclosure control did */
};

/* JSON document: metadata plus every released entry.  malloc'd text. */
char *udc_result_json(const struct udc_result_meta *m, const struct udc_table *t);
/* CSV text of the table (udc_table_write_csv).  malloc'd. */
int udc_result_csv(const struct udc_table *t, const struct udc_spec *spec, char **out, size_t *len);

/* InputReport <-> stats.  to_proto allocates arrays freed by udc_report_proto_free. */
int udc_report_to_proto(const struct udc_input_stats *st, size_t nkeys, Udc__InputReport *out);
void udc_report_proto_free(Udc__InputReport *r);
/* UDC_EPROTO with a reason for unknown reasons or oversized arrays. */
int udc_report_from_proto(const Udc__InputReport *r, size_t nkeys, struct udc_input_stats *st,
    char *err, size_t errlen);

/* Released table -> Result fields (arrays point into t; do not free them). */
void udc_table_to_result(const struct udc_table *t, Udc__Result *r);
/* Result -> table, every size checked against the spec. */
int udc_table_from_result(const Udc__Result *r, const struct udc_spec *spec, struct udc_table **out,
    char *err, size_t errlen);

#endif
