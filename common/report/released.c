/*
 * released.c - result.csv and result.json read back and checked
 * (released.h).
 */
#define _GNU_SOURCE /* qsort_r */
#include "released.h"

#include <errno.h>
#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "csv.h"
#include "err.h"
#include "file.h"

#define JSON_MAX_FILE (64u << 20) /* metadata and table descriptions only */
#define NAME_MAX_LEN 256          /* table, dimension and category names */

struct jctx {
	const char *file;
	char *err;
	size_t errlen;
};

static int
jfail(struct jctx *j, const char *path, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static int
jfail(struct jctx *j, const char *path, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(j->err, j->errlen, "%s: %s: %s", j->file, path, why);
	return UDC_EPARSE;
}

/* A printable excerpt of text from a file, for an error message. */
static void
excerpt(const char *s, char out[48])
{
	size_t i;

	for (i = 0; i < 40 && s[i] != '\0'; i++)
		out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
	out[i] = '\0';
	if (s[i] != '\0')
		snprintf(out + i, 48 - i, "...");
}

/* A name: 1 .. NAME_MAX_LEN bytes, no control characters. */
static int
valid_name(const char *s)
{
	size_t n = strlen(s);

	if (n == 0 || n > NAME_MAX_LEN)
		return 0;
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return 0;
	return 1;
}

/* key of obj as a new string; absent: "" unless required. */
static int
get_str(struct jctx *j, json_t *obj, const char *path, const char *key, int required, char **out)
{
	json_t *v = json_object_get(obj, key);
	const char *s = "";

	*out = NULL;
	if (v == NULL && required)
		return jfail(j, path, "'%s' is missing", key);
	if (v != NULL && !json_is_string(v))
		return jfail(j, path, "'%s' must be a string", key);
	if (v != NULL)
		s = json_string_value(v);
	if (strlen(s) > 4096 || memchr(s, '\0', v ? json_string_length(v) : 0) != NULL)
		return jfail(j, path, "'%s' is too long or holds a NUL byte", key);
	if ((*out = strdup(s)) == NULL) {
		snprintf(j->err, j->errlen, "%s: out of memory", j->file);
		return UDC_ENOMEM;
	}
	return 0;
}

/* key of obj as an integer in [0, max]; *present 0 when absent (then
 * required decides). */
static int
get_uint(struct jctx *j, json_t *obj, const char *path, const char *key, int required,
         uint64_t max, uint64_t *out, int *present)
{
	json_t *v = json_object_get(obj, key);

	*out = 0;
	if (present != NULL)
		*present = v != NULL;
	if (v == NULL)
		return required ? jfail(j, path, "'%s' is missing", key) : 0;
	if (!json_is_integer(v) || json_integer_value(v) < 0 ||
	    (uint64_t)json_integer_value(v) > max)
		return jfail(j, path, "'%s' must be a whole number from 0 to %llu", key,
		             (unsigned long long)max);
	*out = (uint64_t)json_integer_value(v);
	return 0;
}

static int
cmp_cat(const void *a, const void *b, void *cats)
{
	char *const *c = cats;

	return strcmp(c[*(const size_t *)a], c[*(const size_t *)b]);
}

long
udc_rel_cat_index(const struct udc_rel_dim *d, const char *text)
{
	size_t lo = 0, hi = d->ncats;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(text, d->cats[d->order[mid]]);

		if (c == 0)
			return (long)d->order[mid];
		if (c < 0)
			hi = mid;
		else
			lo = mid + 1;
	}
	return -1;
}

int
udc_rel_dim_index(const struct udc_rel_table *t, const char *name)
{
	for (size_t i = 0; i < t->ndims; i++)
		if (strcmp(t->dims[i].name, name) == 0)
			return (int)i;
	return -1;
}

size_t
udc_rel_cell(const struct udc_rel_table *t, const size_t *coords)
{
	size_t k = 0;

	for (size_t i = 0; i < t->ndims; i++)
		k = k * (t->dims[i].ncats + 1) + coords[i];
	return k;
}

const struct udc_rel_table *
udc_release_table(const struct udc_release *r, const char *name)
{
	for (size_t t = 0; t < r->ntables; t++)
		if (strcmp(r->tables[t].name, name) == 0)
			return &r->tables[t];
	return NULL;
}

static int
strings(struct jctx *j, json_t *arr, const char *path, char ***out, size_t *n)
{
	size_t len;

	*out = NULL;
	*n = 0;
	if (!json_is_array(arr))
		return jfail(j, path, "must be an array of strings");
	len = json_array_size(arr);
	if (len == 0 || len > 65535)
		return jfail(j, path, "must have 1 to 65535 entries, not %zu", len);
	if ((*out = calloc(len, sizeof(char *))) == NULL) {
		snprintf(j->err, j->errlen, "%s: out of memory", j->file);
		return UDC_ENOMEM;
	}
	*n = len;
	for (size_t i = 0; i < len; i++) {
		json_t *v = json_array_get(arr, i);

		if (!json_is_string(v) || !valid_name(json_string_value(v)) ||
		    strlen(json_string_value(v)) != json_string_length(v))
			return jfail(j, path, "entry %zu must be a name of 1 to %d characters", i,
			             NAME_MAX_LEN);
		if (((*out)[i] = strdup(json_string_value(v))) == NULL) {
			snprintf(j->err, j->errlen, "%s: out of memory", j->file);
			return UDC_ENOMEM;
		}
	}
	return 0;
}

static int
parse_dim(struct jctx *j, json_t *o, const char *path, struct udc_rel_dim *d)
{
	char p[192], *side = NULL;
	int rv;

	if (!json_is_object(o))
		return jfail(j, path, "must be an object");
	if ((rv = get_str(j, o, path, "name", 1, &d->name)) != 0 ||
	    (rv = get_str(j, o, path, "side", 1, &side)) != 0)
		goto out;
	if (!valid_name(d->name)) {
		rv = jfail(j, path, "'name' must be 1 to %d characters", NAME_MAX_LEN);
		goto out;
	}
	if (strcmp(side, "gemeente") != 0 && strcmp(side, "cbs") != 0) {
		rv = jfail(j, path, "'side' must be gemeente or cbs");
		goto out;
	}
	d->cbs = strcmp(side, "cbs") == 0;
	snprintf(p, sizeof(p), "%s.categories", path);
	if ((rv = strings(j, json_object_get(o, "categories"), p, &d->cats, &d->ncats)) != 0)
		goto out;
	if ((d->order = malloc(d->ncats * sizeof(size_t))) == NULL) {
		snprintf(j->err, j->errlen, "%s: out of memory", j->file);
		rv = UDC_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < d->ncats; i++)
		d->order[i] = i;
	qsort_r(d->order, d->ncats, sizeof(size_t), cmp_cat, d->cats);
	for (size_t i = 1; i < d->ncats; i++)
		if (strcmp(d->cats[d->order[i - 1]], d->cats[d->order[i]]) == 0) {
			char ex[48];

			excerpt(d->cats[d->order[i]], ex);
			rv = jfail(j, p, "category '%s' appears twice", ex);
			goto out;
		}
out:
	free(side);
	return rv;
}

static int
parse_table(struct jctx *j, json_t *o, size_t idx, struct udc_rel_table *t, size_t *total)
{
	char path[64], p[128];
	json_t *dims, *where;
	uint64_t cells, supp;
	const char *key;
	json_t *v;
	int rv;

	snprintf(path, sizeof(path), "tables[%zu]", idx);
	if (!json_is_object(o))
		return jfail(j, path, "must be an object");
	if ((rv = get_str(j, o, path, "name", 1, &t->name)) != 0 ||
	    (rv = get_str(j, o, path, "population", 1, &t->population)) != 0)
		return rv;
	if (!valid_name(t->name))
		return jfail(j, path, "'name' must be 1 to %d characters", NAME_MAX_LEN);
	dims = json_object_get(o, "dimensions");
	if (!json_is_array(dims) || json_array_size(dims) > UDC_REL_MAX_DIMS)
		return jfail(j, path, "'dimensions' must be an array of at most %d dimensions",
		             UDC_REL_MAX_DIMS);
	t->ndims = json_array_size(dims);
	t->ncells = 1;
	for (size_t i = 0; i < t->ndims; i++) {
		snprintf(p, sizeof(p), "%s.dimensions[%zu]", path, i);
		if ((rv = parse_dim(j, json_array_get(dims, i), p, &t->dims[i])) != 0)
			return rv;
		for (size_t k = 0; k < i; k++)
			if (strcmp(t->dims[k].name, t->dims[i].name) == 0)
				return jfail(j, p, "dimension %s appears twice", t->dims[i].name);
		if (t->ncells > UDC_REL_MAX_CELLS / (t->dims[i].ncats + 1))
			return jfail(j, path, "more than %d cells", UDC_REL_MAX_CELLS);
		t->ncells *= t->dims[i].ncats + 1;
	}
	if (*total + t->ncells > UDC_REL_MAX_CELLS) {
		snprintf(j->err, j->errlen, "%s: the tables have more than %d cells together", j->file,
		         UDC_REL_MAX_CELLS);
		return UDC_ELIMIT;
	}
	*total += t->ncells;
	where = json_object_get(o, "where");
	if (where != NULL && !json_is_object(where))
		return jfail(j, path, "'where' must be an object");
	if (where != NULL && json_object_size(where) > 0) {
		if (json_object_size(where) > 64)
			return jfail(j, path, "'where' has more than 64 conditions");
		if ((t->where = calloc(json_object_size(where), sizeof(*t->where))) == NULL) {
			snprintf(j->err, j->errlen, "%s: out of memory", j->file);
			return UDC_ENOMEM;
		}
		json_object_foreach(where, key, v) {
			struct udc_rel_where *w = &t->where[t->nwhere];

			snprintf(p, sizeof(p), "%s.where.%.40s", path, key);
			if (!valid_name(key))
				return jfail(j, p, "a condition on a dimension without a valid name");
			if ((w->dim = strdup(key)) == NULL) {
				snprintf(j->err, j->errlen, "%s: out of memory", j->file);
				return UDC_ENOMEM;
			}
			t->nwhere++;
			if ((rv = strings(j, v, p, &w->vals, &w->nvals)) != 0)
				return rv;
		}
	}
	if ((rv = get_uint(j, o, path, "cells", 1, UDC_REL_MAX_CELLS, &cells, NULL)) != 0 ||
	    (rv = get_uint(j, o, path, "suppressed", 1, UDC_REL_MAX_CELLS, &supp, NULL)) != 0)
		return rv;
	if (cells != t->ncells)
		return jfail(j, path, "'cells' is %llu but its dimensions make %zu cells",
		             (unsigned long long)cells, t->ncells);
	if (supp > cells)
		return jfail(j, path, "more cells suppressed than it has");
	t->nsuppressed = (size_t)supp;
	t->count = calloc(t->ncells, sizeof(uint64_t));
	t->suppressed = calloc(t->ncells, 1);
	if (t->count == NULL || t->suppressed == NULL) {
		snprintf(j->err, j->errlen, "%s: out of memory", j->file);
		return UDC_ENOMEM;
	}
	return 0;
}

static int
parse_input(struct jctx *j, json_t *o, const char *path, struct udc_rel_input *in)
{
	json_t *rej;
	const char *key;
	json_t *v;
	char p[96];
	int rv;

	if (o == NULL)
		return 0;
	if (!json_is_object(o))
		return jfail(j, path, "must be an object");
	in->present = 1;
	if ((rv = get_str(j, o, path, "node", 0, &in->node)) != 0 ||
	    (rv = get_uint(j, o, path, "rows_read", 0, UINT64_MAX >> 1, &in->rows_read, NULL)) != 0 ||
	    (rv = get_uint(j, o, path, "records_used", 0, UINT64_MAX >> 1, &in->records_used,
	                   NULL)) != 0 ||
	    (rv = get_uint(j, o, path, "rows_rejected", 0, UINT64_MAX >> 1, &in->rows_rejected,
	                   NULL)) != 0)
		return rv;
	rej = json_object_get(o, "rejected_by_reason");
	if (rej == NULL)
		return 0;
	snprintf(p, sizeof(p), "%s.rejected_by_reason", path);
	if (!json_is_object(rej) || json_object_size(rej) > 64)
		return jfail(j, p, "must be an object of at most 64 counts");
	in->reason = calloc(json_object_size(rej) + 1, sizeof(char *));
	in->rejected = calloc(json_object_size(rej) + 1, sizeof(uint64_t));
	if (in->reason == NULL || in->rejected == NULL) {
		snprintf(j->err, j->errlen, "%s: out of memory", j->file);
		return UDC_ENOMEM;
	}
	json_object_foreach(rej, key, v) {
		if (!valid_name(key) || !json_is_integer(v) || json_integer_value(v) < 0)
			return jfail(j, p, "each reason must have a whole number of rows");
		if ((in->reason[in->nreasons] = strdup(key)) == NULL) {
			snprintf(j->err, j->errlen, "%s: out of memory", j->file);
			return UDC_ENOMEM;
		}
		in->rejected[in->nreasons++] = (uint64_t)json_integer_value(v);
	}
	return 0;
}

/* "a/b" with a, b < 2^32, b > 0. */
static int
parse_eps(const char *s, uint32_t *num, uint32_t *den)
{
	unsigned long long a, b;
	char *e;

	if (*s < '0' || *s > '9')
		return -1;
	errno = 0;
	a = strtoull(s, &e, 10);
	if (*e != '/' || e[1] < '0' || e[1] > '9')
		return -1;
	b = strtoull(e + 1, &e, 10);
	if (*e != '\0' || errno != 0 || a > UINT32_MAX || b == 0 || b > UINT32_MAX)
		return -1;
	*num = (uint32_t)a;
	*den = (uint32_t)b;
	return 0;
}

static int
parse_meta(struct jctx *j, json_t *root, struct udc_release *r)
{
	json_t *meta = json_object_get(root, "metadata"), *dc = json_object_get(root, "disclosure");
	json_t *v, *mg;
	uint64_t x;
	int rv, present;

	if (!json_is_object(meta))
		return jfail(j, "metadata", "missing or not an object");
	if ((rv = get_str(j, meta, "metadata", "round_id", 1, &r->round_id)) != 0 ||
	    (rv = get_str(j, meta, "metadata", "spec_name", 1, &r->spec_name)) != 0 ||
	    (rv = get_str(j, meta, "metadata", "spec_hash", 1, &r->spec_hash)) != 0 ||
	    (rv = get_str(j, meta, "metadata", "mode", 0, &r->mode)) != 0 ||
	    (rv = get_str(j, meta, "metadata", "started", 0, &r->started)) != 0 ||
	    (rv = get_str(j, meta, "metadata", "finished", 0, &r->finished)) != 0 ||
	    (rv = get_str(j, meta, "metadata", "signer", 0, &r->signer)) != 0 ||
	    (rv = get_str(j, meta, "metadata", "disclosure_control", 0, &r->note)) != 0)
		return rv;
	if ((rv = get_uint(j, meta, "metadata", "round_base", 0, 1000000, &x, NULL)) != 0)
		return rv;
	r->round_base = (unsigned)x;
	if ((rv = get_uint(j, meta, "metadata", "links_total", 0, UINT64_MAX >> 1, &r->links_total,
	                   &r->has_links)) != 0)
		return rv;
	v = json_object_get(meta, "noise_epsilon_per_entry");
	if (v != NULL && (!json_is_string(v) ||
	                  parse_eps(json_string_value(v), &r->eps_num, &r->eps_den) != 0))
		return jfail(j, "metadata", "'noise_epsilon_per_entry' must be a fraction a/b");
	if ((rv = parse_input(j, json_object_get(meta, "gemeente_input"), "metadata.gemeente_input",
	                      &r->input[0])) != 0 ||
	    (rv = parse_input(j, json_object_get(meta, "cbs_input"), "metadata.cbs_input",
	                      &r->input[1])) != 0)
		return rv;
	mg = json_object_get(meta, "margins");
	if (mg != NULL) {
		static const char *const side[2] = {"gemeente_only", "cbs_only"};

		if (!json_is_object(mg))
			return jfail(j, "metadata.margins", "must be an object");
		r->has_margins = 1;
		for (int s = 0; s < 2; s++) {
			json_t *m = json_object_get(mg, side[s]);
			char p[64];

			snprintf(p, sizeof(p), "metadata.margins.%s", side[s]);
			if (!json_is_object(m))
				return jfail(j, p, "missing or not an object");
			if ((rv = get_uint(j, m, p, "rows_rejected_not_counted", 1, UINT64_MAX >> 1,
			                   &r->margin_rejected[s], NULL)) != 0)
				return rv;
		}
	}
	if (!json_is_object(dc))
		return jfail(j, "disclosure", "missing: the report reads releases of specs with "
		             "[table] sections");
	if ((rv = get_uint(j, dc, "disclosure", "min_cell", 1, 1000000, &x, NULL)) != 0)
		return rv;
	r->min_cell = (int)x;
	if ((rv = get_uint(j, dc, "disclosure", "protection", 0, 1000000, &x, &present)) != 0)
		return rv;
	r->protection = present ? (int)x : 1;
	v = json_object_get(dc, "suppressed_may_be_zero");
	if (!json_is_boolean(v))
		return jfail(j, "disclosure", "'suppressed_may_be_zero' must be true or false");
	r->may_be_zero = json_is_true(v);
	return 0;
}

static int
read_json(struct udc_release *r, const char *path, char *err, size_t errlen)
{
	struct jctx j = {path, err, errlen};
	json_error_t je;
	json_t *root = NULL, *tables;
	size_t total = 0;
	char *buf = NULL;
	size_t n;
	int rv;

	if ((rv = udc_file_read(path, JSON_MAX_FILE, 0, &buf, &n, err, errlen)) != 0)
		return rv;
	if ((root = json_loadb(buf, n, JSON_REJECT_DUPLICATES, &je)) == NULL) {
		snprintf(err, errlen, "%s:%d: %s", path, je.line > 0 ? je.line : 1, je.text);
		rv = UDC_EPARSE;
		goto out;
	}
	if (!json_is_object(root)) {
		rv = jfail(&j, "(top)", "must be an object");
		goto out;
	}
	if ((rv = parse_meta(&j, root, r)) != 0)
		goto out;
	tables = json_object_get(root, "tables");
	if (!json_is_array(tables) || json_array_size(tables) == 0 ||
	    json_array_size(tables) > 256) {
		rv = jfail(&j, "tables", "missing, empty or longer than 256: the report reads "
		           "releases of specs with [table] sections");
		goto out;
	}
	if ((r->tables = calloc(json_array_size(tables), sizeof(*r->tables))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		rv = UDC_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < json_array_size(tables); i++) {
		r->ntables++;
		if ((rv = parse_table(&j, json_array_get(tables, i), i, &r->tables[i], &total)) != 0)
			goto out;
		for (size_t k = 0; k < i; k++)
			if (strcmp(r->tables[k].name, r->tables[i].name) == 0) {
				char p[32];

				snprintf(p, sizeof(p), "tables[%zu]", i);
				rv = jfail(&j, p, "table %s appears twice", r->tables[i].name);
				goto out;
			}
	}
	rv = 0;
out:
	json_decref(root);
	free(buf);
	return rv;
}

/* Where each table's dimensions are in the CSV header. */
struct csvmap {
	size_t count_col, supp_col;
	size_t ndimcols;               /* columns 1 .. ndimcols */
	int *col;                      /* per table, per dimension: column (ntables * MAX_DIMS) */
};

static int
csv_fail(char *err, size_t errlen, const char *path, unsigned long line, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static int
csv_fail(char *err, size_t errlen, const char *path, unsigned long line, const char *fmt, ...)
{
	char why[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	snprintf(err, errlen, "%s:%lu: %s", path, line, why);
	return UDC_EPARSE;
}

static int
csv_header(struct udc_release *r, struct udc_csv *c, struct csvmap *m, const char *path,
           char *err, size_t errlen)
{
	size_t nc = udc_csv_ncols(c);
	int cc = udc_csv_find_col(c, "count"), sc = udc_csv_find_col(c, "suppressed");

	if (nc < 3 || strcmp(udc_csv_colname(c, 0), "table") != 0)
		return csv_fail(err, errlen, path, 1, "the header must start with 'table'");
	if (cc < 1 || sc != cc + 1)
		return csv_fail(err, errlen, path, 1, "the header must have 'count' followed by "
		                "'suppressed'");
	m->count_col = (size_t)cc;
	m->supp_col = (size_t)sc;
	m->ndimcols = (size_t)cc - 1;
	if ((m->col = calloc(r->ntables * UDC_REL_MAX_DIMS, sizeof(int))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return UDC_ENOMEM;
	}
	for (size_t t = 0; t < r->ntables; t++)
		for (size_t i = 0; i < r->tables[t].ndims; i++) {
			int k = udc_csv_find_col(c, r->tables[t].dims[i].name);

			if (k < 1 || (size_t)k > m->ndimcols)
				return csv_fail(err, errlen, path, 1, "no column for dimension %s of "
				                "table %s (result.json)", r->tables[t].dims[i].name,
				                r->tables[t].name);
			m->col[t * UDC_REL_MAX_DIMS + i] = k;
		}
	return 0;
}

static int
parse_count(const char *s, uint64_t *out)
{
	uint64_t v = 0;

	if (*s == '\0')
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > UDC_REL_MAX_COUNT)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	if (v > UDC_REL_MAX_COUNT)
		return -1;
	*out = v;
	return 0;
}

static int
csv_row(struct udc_release *r, const struct csvmap *m, char **f, const char *path,
        unsigned long line, uint8_t **seen, char *err, size_t errlen)
{
	struct udc_rel_table *t = NULL;
	size_t ti, coords[UDC_REL_MAX_DIMS], k;
	char ex[48];

	for (ti = 0; ti < r->ntables; ti++)
		if (strcmp(r->tables[ti].name, f[0]) == 0)
			break;
	if (ti == r->ntables) {
		excerpt(f[0], ex);
		return csv_fail(err, errlen, path, line, "table '%s' is not described in "
		                "result.json", ex);
	}
	t = &r->tables[ti];
	for (size_t j = 1; j <= m->ndimcols; j++) {
		int mine = 0;

		for (size_t i = 0; i < t->ndims; i++)
			mine |= m->col[ti * UDC_REL_MAX_DIMS + i] == (int)j;
		if (!mine && f[j][0] != '\0') {
			excerpt(f[j], ex);
			return csv_fail(err, errlen, path, line, "table %s has no dimension in column "
			                "%zu but the row reads '%s' there", t->name, j + 1, ex);
		}
	}
	for (size_t i = 0; i < t->ndims; i++) {
		const char *lab = f[m->col[ti * UDC_REL_MAX_DIMS + i]];
		long c;

		if (lab[0] == '\0') {
			coords[i] = t->dims[i].ncats;
			continue;
		}
		if ((c = udc_rel_cat_index(&t->dims[i], lab)) < 0) {
			excerpt(lab, ex);
			return csv_fail(err, errlen, path, line, "'%s' is not a category of %s in "
			                "table %s", ex, t->dims[i].name, t->name);
		}
		coords[i] = (size_t)c;
	}
	k = udc_rel_cell(t, coords);
	if (seen[ti][k])
		return csv_fail(err, errlen, path, line, "a second row for the same cell of table %s",
		                t->name);
	seen[ti][k] = 1;
	if (strcmp(f[m->supp_col], "1") == 0) {
		if (f[m->count_col][0] != '\0')
			return csv_fail(err, errlen, path, line, "a suppressed cell with a count");
		t->suppressed[k] = 1;
		t->count[k] = 0;
	} else if (strcmp(f[m->supp_col], "0") == 0) {
		if (parse_count(f[m->count_col], &t->count[k]) != 0)
			return csv_fail(err, errlen, path, line, "count must be a whole number from 0 "
			                "to %llu", (unsigned long long)UDC_REL_MAX_COUNT);
	} else {
		return csv_fail(err, errlen, path, line, "suppressed must be 0 or 1");
	}
	return 0;
}

static int
read_csv(struct udc_release *r, const char *path, char *err, size_t errlen)
{
	struct udc_csv *c = NULL;
	struct csvmap m = {0};
	uint8_t **seen = NULL;
	char **f;
	int rv;

	if ((seen = calloc(r->ntables, sizeof(*seen))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", path);
		return UDC_ENOMEM;
	}
	for (size_t t = 0; t < r->ntables; t++)
		if ((seen[t] = calloc(r->tables[t].ncells, 1)) == NULL) {
			snprintf(err, errlen, "%s: out of memory", path);
			rv = UDC_ENOMEM;
			goto out;
		}
	if ((rv = udc_csv_open(&c, path, ',', err, errlen)) != 0 ||
	    (rv = csv_header(r, c, &m, path, err, errlen)) != 0)
		goto out;
	while ((rv = udc_csv_next(c, &f)) == UDC_CSV_RECORD)
		if ((rv = csv_row(r, &m, f, path, udc_csv_line(c), seen, err, errlen)) != 0)
			goto out;
	if (rv == UDC_CSV_BAD) {
		rv = csv_fail(err, errlen, path, udc_csv_line(c), "%s", udc_csv_error(c));
		goto out;
	}
	if (rv != UDC_CSV_EOF) {
		snprintf(err, errlen, "%s: read error", path);
		rv = UDC_EIO;
		goto out;
	}
	for (size_t t = 0; t < r->ntables; t++) {
		struct udc_rel_table *tb = &r->tables[t];
		size_t supp = 0;

		for (size_t k = 0; k < tb->ncells; k++) {
			if (!seen[t][k]) {
				size_t miss = 0;

				for (size_t q = 0; q < tb->ncells; q++)
					miss += !seen[t][q];
				snprintf(err, errlen, "%s: table %s: %zu of its %zu cells have no row",
				         path, tb->name, miss, tb->ncells);
				rv = UDC_EPARSE;
				goto out;
			}
			supp += tb->suppressed[k];
		}
		if (supp != tb->nsuppressed) {
			snprintf(err, errlen, "%s: table %s has %zu suppressed cells, but result.json "
			         "says %zu: the two documents are not of the same release", path,
			         tb->name, supp, tb->nsuppressed);
			rv = UDC_EPARSE;
			goto out;
		}
	}
	rv = 0;
out:
	udc_csv_close(c);
	free(m.col);
	if (seen != NULL)
		for (size_t t = 0; t < r->ntables; t++)
			free(seen[t]);
	free(seen);
	return rv;
}

int
udc_release_read(struct udc_release **out, const char *csv_path, const char *json_path,
                 char *err, size_t errlen)
{
	struct udc_release *r;
	int rv;

	*out = NULL;
	if (errlen > 0)
		err[0] = '\0';
	if ((r = calloc(1, sizeof(*r))) == NULL) {
		snprintf(err, errlen, "%s: out of memory", json_path);
		return UDC_ENOMEM;
	}
	if ((rv = read_json(r, json_path, err, errlen)) != 0 ||
	    (rv = read_csv(r, csv_path, err, errlen)) != 0) {
		udc_release_free(r);
		return rv;
	}
	*out = r;
	return 0;
}

static void
free_strings(char **s, size_t n)
{
	if (s == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(s[i]);
	free(s);
}

void
udc_release_free(struct udc_release *r)
{
	if (r == NULL)
		return;
	free(r->round_id);
	free(r->spec_name);
	free(r->spec_hash);
	free(r->mode);
	free(r->started);
	free(r->finished);
	free(r->signer);
	free(r->note);
	for (int s = 0; s < 2; s++) {
		free(r->input[s].node);
		free_strings(r->input[s].reason, r->input[s].nreasons);
		free(r->input[s].rejected);
	}
	for (size_t t = 0; t < r->ntables; t++) {
		struct udc_rel_table *tb = &r->tables[t];

		free(tb->name);
		free(tb->population);
		for (size_t i = 0; i < UDC_REL_MAX_DIMS; i++) {
			free(tb->dims[i].name);
			free_strings(tb->dims[i].cats, tb->dims[i].ncats);
			free(tb->dims[i].order);
		}
		for (size_t w = 0; w < tb->nwhere; w++) {
			free(tb->where[w].dim);
			free_strings(tb->where[w].vals, tb->where[w].nvals);
		}
		free(tb->where);
		free(tb->count);
		free(tb->suppressed);
	}
	free(r->tables);
	free(r);
}
