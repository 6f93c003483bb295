/*
 * reportconf.c - the report configuration (reportconf.h).
 *
 * Shaped like common/config/config.c: inih feeds the handler one key at a
 * time through the shared line reader (which counts lines and refuses
 * over-long ones), one table says which keys exist, and a finish step
 * checks what involves more than one key.  The first error wins.
 */
#include "reportconf.h"
#include "iniread.h"

#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define RCONF_MAX_FILE (256 * 1024)

enum rkey {
	RK_TITLE, RK_AREA, RK_AREA_LABEL, RK_TOTAL_NAME, RK_MAP, RK_MAP_CODE, RK_MAP_NAME,
	RK_ATTRIBUTION,
	RK_I_TITLE, RK_I_TABLE, RK_I_NUMERATOR, RK_I_DENOMINATOR, RK_I_NUM_LABEL, RK_I_DEN_LABEL,
	RK_I_DESCRIPTION,
	RK_MAX
};

static const struct {
	const char *section; /* "report" or "indicator" */
	const char *key;
} rkeys[RK_MAX] = {
    [RK_TITLE] = {"report", "title"},
    [RK_AREA] = {"report", "area"},
    [RK_AREA_LABEL] = {"report", "area_label"},
    [RK_TOTAL_NAME] = {"report", "total_name"},
    [RK_MAP] = {"report", "map"},
    [RK_MAP_CODE] = {"report", "map_code"},
    [RK_MAP_NAME] = {"report", "map_name"},
    [RK_ATTRIBUTION] = {"report", "attribution"},
    [RK_I_TITLE] = {"indicator", "title"},
    [RK_I_TABLE] = {"indicator", "table"},
    [RK_I_NUMERATOR] = {"indicator", "numerator"},
    [RK_I_DENOMINATOR] = {"indicator", "denominator"},
    [RK_I_NUM_LABEL] = {"indicator", "numerator_label"},
    [RK_I_DEN_LABEL] = {"indicator", "denominator_label"},
    [RK_I_DESCRIPTION] = {"indicator", "description"},
};

static const char *const rsections[] = {"report", "indicator "};

struct header {
	int line;
	int report;              /* [report], else [indicator NAME] */
	char name[UDC_INI_MAX_SECTION];
};

struct rctx {
	struct udc_rconf *c;
	const char *dir;
	struct udc_ini_lines ln;
	char cur[64];            /* the current [section] as inih gives it */
	struct udc_rconf_ind *ind; /* the current [indicator], or NULL */
	int seen_report[RK_MAX]; /* line of each [report] key */
	int seen_ind[RK_MAX];    /* line of each key of the current indicator */
	int report_line;         /* of the [report] header */
	int last_key;            /* what an indented line continues, or -1 */
	struct header *headers;  /* every [section] line of the text */
	size_t nheaders;
};

#define fail(x, ...) udc_ini_fail(&(x)->ln, __VA_ARGS__)
#define oom(x) udc_ini_oom(&(x)->ln)


/* "dim=value, dim=value" into sel; 1, or 0 after fail(). */
static int
parse_sel(struct rctx *x, const char *key, const char *value, struct udc_rconf_sel *sel)
{
	char *copy = strdup(value), *save = NULL, *item;
	int rv = 1;

	if (copy == NULL)
		return oom(x);
	sel->line = x->ln.lineno;
	for (item = strtok_r(copy, ",", &save); item != NULL; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '='), *d, *v;

		if (eq == NULL) {
			rv = fail(x, "%s: '%s' is not dim=value", key, udc_ini_trim(item));
			goto out;
		}
		*eq = '\0';
		d = udc_ini_trim(item);
		v = udc_ini_trim(eq + 1);
		if (!udc_ini_is_name(d, 32)) {
			rv = fail(x, "%s: dimension '%s' must be 1 to 32 of a-z, 0-9 and _", key, d);
			goto out;
		}
		if (*v == '\0') {
			rv = fail(x, "%s: no value for %s", key, d);
			goto out;
		}
		for (size_t i = 0; i < sel->n; i++)
			if (strcmp(sel->dim[i], d) == 0) {
				rv = fail(x, "%s: dimension %s given twice", key, d);
				goto out;
			}
		if (sel->n == UDC_RCONF_MAX_FIX) {
			rv = fail(x, "%s: more than %d dimensions", key, UDC_RCONF_MAX_FIX);
			goto out;
		}
		sel->dim[sel->n] = strdup(d);
		sel->val[sel->n] = strdup(v);
		sel->n++;
		if (sel->dim[sel->n - 1] == NULL || sel->val[sel->n - 1] == NULL) {
			rv = oom(x);
			goto out;
		}
	}
	if (sel->n == 0)
		rv = fail(x, "%s: expected dim=value[, dim=value ...]", key);
out:
	free(copy);
	return rv;
}

static int
set_str(struct rctx *x, char **dst, const char *value)
{
	if ((*dst = strdup(value)) == NULL)
		return oom(x);
	return 1;
}

static int
set_key(struct rctx *x, enum rkey k, const char *key, const char *value)
{
	struct udc_rconf *c = x->c;
	struct udc_rconf_ind *ind = x->ind;

	switch (k) {
	case RK_TITLE:
		return set_str(x, &c->title, value);
	case RK_AREA:
		if (!udc_ini_is_name(value, 32))
			return fail(x, "area: '%s' is not a dimension name (1 to 32 of a-z, 0-9 and "
			            "_)", value);
		c->line_area = x->ln.lineno;
		return set_str(x, &c->area, value);
	case RK_AREA_LABEL:
		return set_str(x, &c->area_label, value);
	case RK_TOTAL_NAME:
		return set_str(x, &c->total_name, value);
	case RK_MAP:
		c->line_map = x->ln.lineno;
		if (value[0] == '/')
			return set_str(x, &c->map, value);
		{
			size_t n = strlen(x->dir) + 1 + strlen(value) + 1;

			if ((c->map = malloc(n)) == NULL)
				return oom(x);
			snprintf(c->map, n, "%s/%s", x->dir, value);
		}
		return 1;
	case RK_MAP_CODE:
		return set_str(x, &c->map_code, value);
	case RK_MAP_NAME:
		return set_str(x, &c->map_name, value);
	case RK_ATTRIBUTION:
		return set_str(x, &c->attribution, value);
	case RK_I_TITLE:
		return set_str(x, &ind->title, value);
	case RK_I_TABLE:
		if (!udc_ini_is_name(value, 32))
			return fail(x, "table: '%s' is not a table name (1 to 32 of a-z, 0-9 and _)",
			            value);
		ind->line_table = x->ln.lineno;
		return set_str(x, &ind->table, value);
	case RK_I_NUMERATOR:
		return parse_sel(x, key, value, &ind->num);
	case RK_I_DENOMINATOR:
		return parse_sel(x, key, value, &ind->den);
	case RK_I_NUM_LABEL:
		return set_str(x, &ind->num_label, value);
	case RK_I_DEN_LABEL:
		return set_str(x, &ind->den_label, value);
	case RK_I_DESCRIPTION:
		return set_str(x, &ind->description, value);
	case RK_MAX:
		break;
	}
	return fail(x, "internal error: key %d", (int)k);
}

/* An indented line goes on with the description; nothing else is that long. */
static int
continue_value(struct rctx *x, const char *key, const char *value)
{
	char *d, *n;
	size_t len;

	if (x->last_key != RK_I_DESCRIPTION || x->ind == NULL || x->ind->description == NULL)
		return fail(x, "indented line would continue the value of '%s'; only a "
		            "description may go on over several lines", key);
	d = x->ind->description;
	len = strlen(d) + 1 + strlen(value) + 1;
	if (len > 8192)
		return fail(x, "description longer than 8192 characters");
	if ((n = realloc(d, len)) == NULL)
		return oom(x);
	strcat(n, " ");
	strcat(n, value);
	x->ind->description = n;
	return 1;
}

static int header_line(const struct rctx *x, const char *name, int report);

static int
new_section(struct rctx *x, const char *section)
{
	snprintf(x->cur, sizeof(x->cur), "%s", section);
	x->last_key = -1;
	if (strcmp(section, "report") == 0) {
		if (x->report_line)
			return fail(x, "a second [report] section (the first on line %d)",
			            x->report_line);
		x->report_line = header_line(x, "report", 1);
		x->ind = NULL;
		return 1;
	}
	/* [indicator NAME]: the line reader admitted only these two */
	{
		const char *name = section + strlen("indicator ");
		struct udc_rconf *c = x->c;

		while (*name == ' ')
			name++;
		if (!udc_ini_is_name(name, 32)) {
			x->ln.lineno = header_line(x, name, 0);
			return fail(x, "indicator name '%s' must be 1 to 32 of a-z, 0-9 and _", name);
		}
		for (size_t i = 0; i < c->nind; i++)
			if (strcmp(c->ind[i].name, name) == 0)
				return fail(x, "a second [indicator %s] (the first on line %d)", name,
				            c->ind[i].line);
		if (c->nind == UDC_RCONF_MAX_INDICATORS)
			return fail(x, "more than %d indicators", UDC_RCONF_MAX_INDICATORS);
		x->ind = &c->ind[c->nind++];
		x->ind->line = header_line(x, name, 0);
		memset(x->seen_ind, 0, sizeof(x->seen_ind));
		if ((x->ind->name = strdup(name)) == NULL)
			return oom(x);
	}
	return 1;
}

static int
handler(void *user, const char *section, const char *key, const char *value)
{
	struct rctx *x = user;
	int is_report;
	int *seen;
	size_t k;

	if (x->ln.err_line)
		return 0;
	if (x->ln.indented && x->ln.key_in_section)
		return continue_value(x, key, value);
	x->ln.key_in_section = 1;
	if (*section == '\0')
		return fail(x, "key '%s' is outside any [section]", key);
	if (strcmp(section, x->cur) != 0 && !new_section(x, section))
		return 0;
	if (*value == '\0')
		return fail(x, "empty value for '%s'", key);
	is_report = strcmp(section, "report") == 0;
	for (k = 0; k < RK_MAX; k++)
		if (strcmp(rkeys[k].section, is_report ? "report" : "indicator") == 0 &&
		    strcmp(rkeys[k].key, key) == 0)
			break;
	if (k == RK_MAX)
		return fail(x, "unknown key '%s' in [%s]", key, section);
	seen = is_report ? x->seen_report : x->seen_ind;
	if (seen[k])
		return fail(x, "duplicate key '%s' in [%s] (first on line %d)", key, section,
		            seen[k]);
	seen[k] = x->ln.lineno;
	x->last_key = (int)k;
	return set_key(x, (enum rkey)k, key, value);
}

/*
 * inih only calls the handler for keys, and only then with the section's
 * name: so the [section] lines are found in the text first, for their line
 * numbers, and a section without keys is an error afterwards.
 */
static int
scan_headers(const char *text, size_t len, struct header **out, size_t *n)
{
	const char *p = text, *end = text + len;
	int lineno = 0;

	*out = NULL;
	*n = 0;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *e = nl ? nl : end;
		const char *close = p < e && *p == '[' ? memchr(p, ']', (size_t)(e - p)) : NULL;
		size_t k = close ? (size_t)(close - p - 1) : 0;

		lineno++;
		if (close != NULL && k < UDC_INI_MAX_SECTION &&
		    ((k == 6 && memcmp(p + 1, "report", 6) == 0) ||
		     (k > 10 && memcmp(p + 1, "indicator ", 10) == 0))) {
			struct header *h = realloc(*out, (*n + 1) * sizeof(**out));
			const char *nm = p + 1 + (k == 6 ? 0 : 10);
			size_t nn = k == 6 ? 6 : k - 10;

			if (h == NULL)
				return UDC_ENOMEM;
			*out = h;
			h = &h[(*n)++];
			while (k != 6 && nn > 0 && *nm == ' ') {
				nm++;
				nn--;
			}
			h->line = lineno;
			h->report = k == 6;
			memcpy(h->name, nm, nn);
			h->name[nn] = '\0';
		}
		p = nl ? nl + 1 : end;
	}
	return 0;
}

static int
header_line(const struct rctx *x, const char *name, int report)
{
	for (size_t i = 0; i < x->nheaders; i++)
		if (x->headers[i].report == report && (report || strcmp(x->headers[i].name, name) == 0))
			return x->headers[i].line;
	return x->ln.lineno;
}

static int
empty_sections(const struct rctx *x, const char *name, char *err, size_t errlen)
{
	for (size_t i = 0; i < x->nheaders; i++) {
		const struct header *h = &x->headers[i];
		int found = h->report ? x->report_line != 0 : 0;

		for (size_t k = 0; !h->report && k < x->c->nind; k++)
			found |= strcmp(x->c->ind[k].name, h->name) == 0;
		if (!found) {
			snprintf(err, errlen, "%s:%d: [%s%s] has no keys", name, h->line,
			         h->report ? "" : "indicator ", h->name);
			return UDC_EPARSE;
		}
	}
	return 0;
}

static int
finish(struct rctx *x, const char *name, char *err, size_t errlen)
{
	struct udc_rconf *c = x->c;

	if (!x->report_line) {
		snprintf(err, errlen, "%s: no [report] section", name);
		return UDC_EPARSE;
	}
	if (c->title == NULL || c->area == NULL) {
		snprintf(err, errlen, "%s:%d: [report] needs title and area", name, x->report_line);
		return UDC_EPARSE;
	}
	if (c->map != NULL && (c->map_code == NULL || c->map_name == NULL ||
	                       c->attribution == NULL)) {
		snprintf(err, errlen, "%s:%d: a map needs map_code, map_name (the properties that hold "
		         "each area's code and name) and attribution (the line its licence asks for)",
		         name, c->line_map);
		return UDC_EPARSE;
	}
	if (c->nind == 0) {
		snprintf(err, errlen, "%s: no [indicator NAME] section", name);
		return UDC_EPARSE;
	}
	for (size_t i = 0; i < c->nind; i++) {
		struct udc_rconf_ind *ind = &c->ind[i];

		if (ind->title == NULL || ind->table == NULL || ind->num.n == 0) {
			snprintf(err, errlen, "%s:%d: [indicator %s] needs title, table and numerator",
			         name, ind->line, ind->name);
			return UDC_EPARSE;
		}
	}
	if ((c->area_label == NULL && (c->area_label = strdup("Gebied")) == NULL) ||
	    (c->total_name == NULL && (c->total_name = strdup("Totaal")) == NULL)) {
		snprintf(err, errlen, "%s: out of memory", name);
		return UDC_ENOMEM;
	}
	return 0;
}

int
udc_rconf_parse(struct udc_rconf **out, const char *text, size_t len, const char *name,
                const char *dir, char *err, size_t errlen)
{
	struct rctx x;
	int rv;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	memset(&x, 0, sizeof(x));
	x.dir = dir != NULL ? dir : ".";
	x.last_key = -1;
	if ((x.c = calloc(1, sizeof(*x.c))) == NULL || (x.c->path = strdup(name)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", name);
		udc_rconf_free(x.c);
		return UDC_ENOMEM;
	}
	x.ln.p = text;
	x.ln.end = text + len;
	x.ln.sections = rsections;
	x.ln.nsections = sizeof(rsections) / sizeof(rsections[0]);
	x.ln.long_hint = "; continue a long description on an indented next line";
	if ((rv = scan_headers(text, len, &x.headers, &x.nheaders)) != 0) {
		snprintf(err, errlen, "%s: out of memory", name);
		goto out;
	}
	if ((rv = udc_ini_parse(&x.ln, handler, &x, name, err, errlen)) != 0 ||
	    (rv = empty_sections(&x, name, err, errlen)) != 0 ||
	    (rv = finish(&x, name, err, errlen)) != 0)
		goto out;
	*out = x.c;
	x.c = NULL;
out:
	udc_rconf_free(x.c);
	free(x.headers);
	return rv;
}

int
udc_rconf_load(struct udc_rconf **out, const char *path, char *err, size_t errlen)
{
	char *text = NULL, *dir = NULL, *slash;
	FILE *f;
	size_t n;
	int rv;

	*out = NULL;
	if ((f = fopen(path, "r")) == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return UDC_EIO;
	}
	if ((text = malloc(RCONF_MAX_FILE + 1)) == NULL || (dir = strdup(path)) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		rv = UDC_ENOMEM;
		goto out;
	}
	n = fread(text, 1, RCONF_MAX_FILE + 1, f);
	if (ferror(f)) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		rv = UDC_EIO;
		goto out;
	}
	if (n > RCONF_MAX_FILE) {
		snprintf(err, errlen, "%s: larger than %d bytes", path, RCONF_MAX_FILE);
		rv = UDC_EPARSE;
		goto out;
	}
	if ((slash = strrchr(dir, '/')) == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	rv = udc_rconf_parse(out, text, n, path, dir, err, errlen);
out:
	fclose(f);
	free(text);
	free(dir);
	return rv;
}

static void
free_sel(struct udc_rconf_sel *s)
{
	for (size_t i = 0; i < s->n; i++) {
		free(s->dim[i]);
		free(s->val[i]);
	}
}

void
udc_rconf_free(struct udc_rconf *c)
{
	if (c == NULL)
		return;
	free(c->path);
	free(c->title);
	free(c->area);
	free(c->area_label);
	free(c->total_name);
	free(c->map);
	free(c->map_code);
	free(c->map_name);
	free(c->attribution);
	for (size_t i = 0; i < c->nind; i++) {
		struct udc_rconf_ind *ind = &c->ind[i];

		free(ind->name);
		free(ind->title);
		free(ind->table);
		free(ind->description);
		free(ind->num_label);
		free(ind->den_label);
		free_sel(&ind->num);
		free_sel(&ind->den);
	}
	free(c);
}
