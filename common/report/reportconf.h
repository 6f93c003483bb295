/*
 * reportconf.h - the report configuration (INI, read with inih through
 * common/config/iniread.c): what the report is called, which dimension
 * its areas are, the map, and the indicators.  docs/report.md has the
 * format; docs/examples/denhaag-kinderarmoede.report is the study's.
 *
 *	[report]               title, area, map, map_code, map_name,
 *	                       attribution, area_label, total_name
 *	[indicator NAME]       title, table, numerator, denominator,
 *	                       numerator_label, denominator_label, description
 *
 * Errors name the file, the line and the reason ("x.report:12: reason");
 * what only the release can decide (is there such a table, category) is
 * checked later against it, with the line of the key (indicators.h).
 */
#ifndef UDC_REPORTCONF_H
#define UDC_REPORTCONF_H

#include <stddef.h>

#define UDC_RCONF_MAX_INDICATORS 64
#define UDC_RCONF_MAX_FIX 8 /* dim=value pairs in a numerator or denominator */

/* dim=value, dim=value: one category of each named dimension. */
struct udc_rconf_sel {
	size_t n;
	char *dim[UDC_RCONF_MAX_FIX];
	char *val[UDC_RCONF_MAX_FIX];
	int line; /* 0: not given */
};

struct udc_rconf_ind {
	char *name;              /* [indicator NAME] */
	char *title, *table, *description, *num_label, *den_label;
	struct udc_rconf_sel num, den;
	int line, line_table;    /* of the section header, of table = */
};

struct udc_rconf {
	char *path;
	char *title, *area, *area_label, *total_name;
	char *map;               /* resolved against the config file's directory; NULL: none */
	char *map_code, *map_name, *attribution;
	int line_area, line_map;
	size_t nind;
	struct udc_rconf_ind ind[UDC_RCONF_MAX_INDICATORS];
};

/* Reads path.  *out is the caller's, freed with udc_rconf_free (NULL on
 * failure).  Returns 0, UDC_EIO, UDC_EPARSE ("PATH:LINE: reason" in err),
 * UDC_ENOMEM. */
int udc_rconf_load(struct udc_rconf **out, const char *path, char *err, size_t errlen);
/* The same from text; name is used in errors, dir resolves map = (NULL: "."). */
int udc_rconf_parse(struct udc_rconf **out, const char *text, size_t len, const char *name,
                    const char *dir, char *err, size_t errlen);
void udc_rconf_free(struct udc_rconf *c);

#endif
