/*
 * report.h - the report of a round's released tables: report.html (one
 * self-contained page: inline CSS and SVG, no scripts, nothing fetched),
 * indicators.csv and indicators.json, written into one directory.
 *
 *	udc_report_write()     reads the configuration, the map, the release
 *	                       (and an earlier one), computes the indicators
 *	                       (indicators.h) and writes the three files
 *
 * The pieces below it are for udcctl and the tests.  What the report shows
 * and how each interval is computed: docs/report.md.
 */
#ifndef UDC_REPORT_H
#define UDC_REPORT_H

#include <stddef.h>
#include <stdio.h>

#include "geomap.h"
#include "indicators.h"

/* Which input an error of udc_report_write is about. */
enum udc_report_stage {
	UDC_REPORT_STAGE_NONE = 0,
	UDC_REPORT_STAGE_CONFIG,  /* the configuration or its map, or they do not fit the release */
	UDC_REPORT_STAGE_RELEASE, /* result.csv / result.json (this round's or the earlier one's) */
	UDC_REPORT_STAGE_OUTPUT,  /* the output directory or a file in it */
};

struct udc_report_opts {
	const char *config;            /* the report configuration */
	const char *csv, *json;        /* this round's result.csv and result.json */
	const char *old_csv, *old_json; /* an earlier round's; both NULL: no comparison */
	const char *outdir;            /* created if missing (its parent must exist) */
	char csv_sep;                  /* ';' with decimal commas (the default), or ',' with points */
	const char *generator;         /* "udc-report 0.1.0": named in the page's footer */
};

/*
 * Writes OUTDIR/report.html, indicators.csv and indicators.json, each
 * through a temporary file renamed into place.  html (may be NULL, htmllen
 * 0) gets the report's path.  Returns 0 or an error with err set ("FILE:LINE:
 * reason" where there is a line) and *stage (may be NULL) saying which
 * input it is about.
 */
int udc_report_write(const struct udc_report_opts *o, char *html, size_t htmllen,
                     enum udc_report_stage *stage, char *err, size_t errlen);

/* The indicators as CSV: sep ';' writes decimal commas, ',' decimal points.
 * Returns 0, UDC_EINVAL (another sep) or UDC_EIO. */
int udc_report_csv(const struct udc_indicators *x, char sep, FILE *f);
/* The indicators as JSON text (malloc'd, the caller frees), or NULL. */
char *udc_report_json(const struct udc_indicators *x);
/* The page.  map may be NULL (no maps).  Returns 0 or UDC_EIO. */
int udc_report_html(const struct udc_indicators *x, const struct udc_geomap *map,
                    const char *generator, FILE *f);

/* How a number is rounded for display: to the nearest, or outwards for the
 * ends of an interval (so that a shown interval still holds the value). */
enum udc_round_how { UDC_ROUND_NEAREST, UDC_ROUND_DOWN, UDC_ROUND_UP };

/* v with the given decimals, a decimal comma if comma, rounded as asked;
 * never "-0". */
void udc_report_fmt(double v, int decimals, int comma, enum udc_round_how how, char *out,
                    size_t outlen);

#endif
