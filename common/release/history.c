/*
 * history.c - the releases this CBS node made, per CBS input (history.h).
 *
 * File format (JSON, one object):
 *
 *   {"version": 1, "cbs_input": HEX, "releases": [
 *     {"spec": HEX, "gemeente_input": HEX, "round": ID, "time": UNIX,
 *      "groups": G, "categories": C,
 *      "truth": {KEY: COUNT, ...},
 *      "released": {"values": [...], "flags": [...]}}, ...]}
 *
 * values/flags are what the release showed, in the caller's layout (the
 * full cross: every entry in table order and 1 for suppressed; linked
 * tables: udc_linked_export).  A file that does not parse is an error,
 * never an empty history: losing it would reopen every differencing attack.
 */
#define _GNU_SOURCE /* qsort_r */
#include "history.h"

#include <errno.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "err.h"
#include "spec.h"
#include "store.h"
#include "table.h"

#define HISTORY_MAX_FILE (1024u * 1024 * 1024)

struct udc_history {
	char *dir;
	pthread_mutex_t mtx;
};

int
udc_history_open(struct udc_history **out, const char *dir)
{
	struct udc_history *h = calloc(1, sizeof(*h));

	*out = NULL;
	if (h == NULL || (h->dir = strdup(dir)) == NULL) {
		free(h);
		return UDC_ENOMEM;
	}
	pthread_mutex_init(&h->mtx, NULL);
	*out = h;
	return 0;
}

void
udc_history_close(struct udc_history *h)
{
	if (h == NULL)
		return;
	pthread_mutex_destroy(&h->mtx);
	free(h->dir);
	free(h);
}

static void
hex32(const uint8_t b[32], char out[65])
{
	sodium_bin2hex(out, 65, b, 32);
}

/* Appends s with the characters that structure a key percent-encoded. */
static int
put_text(char *buf, size_t buflen, size_t *off, const char *s)
{
	for (; *s != '\0'; s++) {
		if (strchr(",;|=[]+%", *s) != NULL) {
			if (*off + 4 > buflen)
				return UDC_ELIMIT;
			snprintf(buf + *off, 4, "%%%02X", (unsigned char)*s);
			*off += 3;
		} else {
			if (*off + 2 > buflen)
				return UDC_ELIMIT;
			buf[(*off)++] = *s;
		}
	}
	buf[*off] = '\0';
	return 0;
}

static int
put_char(char *buf, size_t buflen, size_t *off, char c)
{
	if (*off + 2 > buflen)
		return UDC_ELIMIT;
	buf[(*off)++] = c;
	buf[*off] = '\0';
	return 0;
}

static int
cmp_dim(const void *a, const void *b, void *arg)
{
	const struct udc_dim *dims = arg;

	return strcmp(dims[*(const size_t *)a].name, dims[*(const size_t *)b].name);
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static int
put_side(const struct udc_spec *spec, int side, const struct udc_entry_side *e, char *buf,
    size_t buflen, size_t *off)
{
	const struct udc_dim *dims = spec->dims[side];
	size_t nd = spec->ndims[side], order[UDC_MAX_DIMS];
	int rv = 0, first = 1;

	if (e->box) {
		for (size_t d = 0; d < nd; d++)
			order[d] = d;
		qsort_r(order, nd, sizeof(order[0]), cmp_dim, (void *)dims);
		if ((rv = put_char(buf, buflen, off, '[')) != 0)
			return rv;
		for (size_t i = 0; i < nd && rv == 0; i++) {
			size_t d = order[i], n = e->nvals[d];
			const char **v;

			if (n == 0 || n >= dims[d].nvalues)
				continue;
			if ((v = malloc(n * sizeof(*v))) == NULL)
				return UDC_ENOMEM;
			for (size_t k = 0; k < n; k++) {
				if (e->vals[d][k] >= dims[d].nvalues) {
					free(v);
					return UDC_EINVAL;
				}
				v[k] = dims[d].values[e->vals[d][k]];
			}
			qsort(v, n, sizeof(*v), cmp_str);
			if (!first)
				rv = put_char(buf, buflen, off, ';');
			first = 0;
			if (rv == 0)
				rv = put_text(buf, buflen, off, dims[d].name);
			if (rv == 0)
				rv = put_char(buf, buflen, off, '=');
			for (size_t k = 0; k < n && rv == 0; k++) {
				if (k > 0)
					rv = put_char(buf, buflen, off, ',');
				if (rv == 0)
					rv = put_text(buf, buflen, off, v[k]);
			}
			free(v);
		}
		if (rv == 0)
			rv = put_char(buf, buflen, off, ']');
	}
	if (rv == 0 && e->unlinked) {
		if ((rv = put_char(buf, buflen, off, '+')) == 0)
			rv = put_char(buf, buflen, off, 'u');
	}
	return rv;
}

int
udc_history_entry_key(const struct udc_spec *spec, const struct udc_entry_side side[2],
    char *buf, size_t buflen)
{
	size_t off = 0;
	int rv;

	if (buflen == 0)
		return UDC_ELIMIT;
	buf[0] = '\0';
	if ((rv = put_side(spec, UDC_SIDE_GEMEENTE, &side[0], buf, buflen, &off)) != 0 ||
	    (rv = put_char(buf, buflen, &off, '|')) != 0)
		return rv;
	return put_side(spec, UDC_SIDE_CBS, &side[1], buf, buflen, &off);
}

/* A box of one cell of a side: every dimension a single value. */
static void
single_side(const struct udc_spec *spec, int side, size_t cell, uint16_t *v,
    struct udc_entry_side *e)
{
	size_t idx[UDC_MAX_DIMS];

	udc_spec_cell_split(spec, side, cell, idx);
	e->box = 1;
	for (size_t d = 0; d < spec->ndims[side]; d++) {
		v[d] = (uint16_t)idx[d];
		e->vals[d] = &v[d];
		e->nvals[d] = 1;
	}
}

int
udc_history_key(const struct udc_spec *spec, size_t i, char *buf, size_t buflen)
{
	size_t ng = spec->ncells[UDC_SIDE_GEMEENTE], nk = spec->ncells[UDC_SIDE_CBS];
	struct udc_entry_side e[2];
	uint16_t gv[UDC_MAX_DIMS], cv[UDC_MAX_DIMS];

	memset(e, 0, sizeof(e));
	if (i < ng * nk) {
		single_side(spec, UDC_SIDE_GEMEENTE, i / nk, gv, &e[0]);
		single_side(spec, UDC_SIDE_CBS, i % nk, cv, &e[1]);
	} else if (i < ng * nk + ng) {
		single_side(spec, UDC_SIDE_GEMEENTE, i - ng * nk, gv, &e[0]);
		e[1].unlinked = 1; /* the gemeente's records not linked */
	} else if (i < ng * nk + ng + nk) {
		e[0].unlinked = 1; /* the CBS records not linked */
		single_side(spec, UDC_SIDE_CBS, i - ng * nk - ng, cv, &e[1]);
	} else {
		return UDC_EINVAL;
	}
	return udc_history_entry_key(spec, e, buf, buflen);
}

void
udc_history_keys_free(char **keys, size_t n)
{
	if (keys == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(keys[i]);
	free(keys);
}

int
udc_history_table_keys(const struct udc_spec *spec, size_t n, char ***out)
{
	char **keys = calloc(n ? n : 1, sizeof(*keys)), buf[1024];
	int rv;

	*out = NULL;
	if (keys == NULL)
		return UDC_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		if ((rv = udc_history_key(spec, i, buf, sizeof(buf))) != 0 ||
		    (keys[i] = strdup(buf)) == NULL) {
			udc_history_keys_free(keys, n);
			return rv ? rv : UDC_ENOMEM;
		}
	}
	*out = keys;
	return 0;
}

/* Loads the history of one CBS input: a new empty one if there is none. */
static int
load(struct udc_history *h, const uint8_t cbs_input[32], json_t **out)
{
	char name[80], hex[65], *text = NULL;
	size_t len = 0;
	json_error_t je;
	json_t *root, *rel;
	int rv;

	hex32(cbs_input, hex);
	snprintf(name, sizeof(name), "%s.json", hex);
	rv = udc_store_read(h->dir, name, HISTORY_MAX_FILE, &text, &len);
	if (rv == UDC_ENOTFOUND) {
		*out = json_pack("{s:i, s:s, s:[]}", "version", 1, "cbs_input", hex, "releases");
		return *out ? 0 : UDC_ENOMEM;
	}
	if (rv != 0)
		return rv;
	root = json_loadb(text, len, 0, &je);
	free(text);
	if (root == NULL || !json_is_object(root) ||
	    json_integer_value(json_object_get(root, "version")) != 1 ||
	    !json_is_array(rel = json_object_get(root, "releases"))) {
		json_decref(root);
		return UDC_EPARSE;
	}
	*out = root;
	return 0;
}

static int
save(struct udc_history *h, const uint8_t cbs_input[32], json_t *root)
{
	char name[80], hex[65], *text;
	int rv;

	hex32(cbs_input, hex);
	snprintf(name, sizeof(name), "%s.json", hex);
	if ((text = json_dumps(root, JSON_COMPACT)) == NULL)
		return UDC_ENOMEM;
	rv = udc_store_write(h->dir, name, text, strlen(text));
	free(text);
	return rv;
}

static int
same_hex(json_t *o, const char *key, const uint8_t want[32])
{
	char hex[65];
	const char *s = json_string_value(json_object_get(o, key));

	hex32(want, hex);
	return s != NULL && strcmp(s, hex) == 0;
}

int
udc_history_same(struct udc_history *h, const uint8_t cbs_input[32], const uint8_t spec_hash[32],
    const uint8_t gemeente_input[32], uint64_t **out, uint8_t **flags, size_t *nout)
{
	json_t *root = NULL, *r;
	size_t i;
	int rv;

	*out = NULL;
	*flags = NULL;
	*nout = 0;
	pthread_mutex_lock(&h->mtx);
	if ((rv = load(h, cbs_input, &root)) != 0)
		goto out;
	rv = UDC_ENOTFOUND;
	json_array_foreach(json_object_get(root, "releases"), i, r) {
		json_t *rel = json_object_get(r, "released");
		json_t *vals = json_object_get(rel, "values"), *fl = json_object_get(rel, "flags");
		size_t n;

		if (!same_hex(r, "spec", spec_hash) || !same_hex(r, "gemeente_input", gemeente_input))
			continue;
		if (!json_is_array(vals) || !json_is_array(fl) ||
		    (n = json_array_size(vals)) != json_array_size(fl)) {
			rv = UDC_EPARSE;
			goto out;
		}
		*out = malloc((n ? n : 1) * sizeof(**out));
		*flags = malloc(n ? n : 1);
		if (*out == NULL || *flags == NULL) {
			free(*out);
			free(*flags);
			*out = NULL;
			*flags = NULL;
			rv = UDC_ENOMEM;
			goto out;
		}
		for (size_t k = 0; k < n; k++) {
			(*out)[k] = (uint64_t)json_integer_value(json_array_get(vals, k));
			(*flags)[k] = (uint8_t)json_integer_value(json_array_get(fl, k));
		}
		*nout = n;
		rv = 0;
		break;
	}
out:
	pthread_mutex_unlock(&h->mtx);
	json_decref(root);
	return rv;
}

int
udc_history_count(struct udc_history *h, const uint8_t cbs_input[32], const uint8_t spec_hash[32],
    unsigned *n)
{
	json_t *root = NULL, *r;
	size_t i;
	int rv;

	*n = 0;
	pthread_mutex_lock(&h->mtx);
	if ((rv = load(h, cbs_input, &root)) == 0)
		json_array_foreach(json_object_get(root, "releases"), i, r)
			*n += same_hex(r, "spec", spec_hash);
	pthread_mutex_unlock(&h->mtx);
	json_decref(root);
	return rv;
}

int
udc_history_differences(struct udc_history *h, const uint8_t cbs_input[32], size_t n,
    char *const *keys, const uint64_t *truth, unsigned min_cell, uint8_t *sens)
{
	json_t *root = NULL, *r;
	size_t i;
	int rv, marked = 0;

	pthread_mutex_lock(&h->mtx);
	if ((rv = load(h, cbs_input, &root)) != 0)
		goto out;
	for (size_t k = 0; k < n; k++) {
		uint64_t v = truth[k];

		if (keys[k] == NULL)
			continue;
		json_array_foreach(json_object_get(root, "releases"), i, r) {
			json_t *old = json_object_get(json_object_get(r, "truth"), keys[k]);
			uint64_t u, d;

			if (!json_is_integer(old))
				continue;
			u = (uint64_t)json_integer_value(old);
			d = u > v ? u - v : v - u;
			if (d > 0 && d < min_cell) {
				if (!sens[k])
					marked++;
				sens[k] = 1;
				break;
			}
		}
	}
	rv = marked;
out:
	pthread_mutex_unlock(&h->mtx);
	json_decref(root);
	return rv;
}

int
udc_history_record(struct udc_history *h, const uint8_t cbs_input[32],
    const struct udc_history_release *rel)
{
	json_t *root = NULL, *r = NULL, *tr = NULL, *vals = NULL, *fl = NULL;
	char sh[65], gh[65];
	int rv;

	hex32(rel->spec_hash, sh);
	hex32(rel->gemeente_input, gh);
	pthread_mutex_lock(&h->mtx);
	if ((rv = load(h, cbs_input, &root)) != 0)
		goto out;
	rv = UDC_ENOMEM;
	if ((tr = json_object()) == NULL || (vals = json_array()) == NULL || (fl = json_array()) == NULL)
		goto out;
	for (size_t k = 0; k < rel->n; k++)
		if (rel->keys[k] != NULL &&
		    json_object_set_new(tr, rel->keys[k], json_integer((json_int_t)rel->truth[k])) != 0)
			goto out;
	for (size_t k = 0; k < rel->nout; k++)
		if (json_array_append_new(vals, json_integer((json_int_t)rel->out[k])) != 0 ||
		    json_array_append_new(fl, json_integer(rel->flags[k])) != 0)
			goto out;
	r = json_pack("{s:s, s:s, s:s, s:I, s:o, s:{s:o, s:o}}", "spec", sh,
	    "gemeente_input", gh, "round", rel->round_id, "time", (json_int_t)time(NULL),
	    "truth", tr, "released", "values", vals, "flags", fl);
	tr = vals = fl = NULL; /* stolen by "o", even on failure */
	if (r == NULL || json_array_append_new(json_object_get(root, "releases"), r) != 0)
		goto out;
	rv = save(h, cbs_input, root);
out:
	pthread_mutex_unlock(&h->mtx);
	json_decref(tr);
	json_decref(vals);
	json_decref(fl);
	json_decref(root);
	return rv;
}
