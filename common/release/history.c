/*
 * history.c - the releases this CBS node made, per CBS input (history.h).
 *
 * File format (JSON, one object):
 *
 *   {"version": 1, "cbs_input": HEX, "releases": [
 *     {"spec": HEX, "gemeente_input": HEX, "round": ID, "time": UNIX,
 *      "groups": G, "categories": C,
 *      "truth": {KEY: COUNT, ...},
 *      "released": {"values": [...], "suppressed": [0|1, ...]}}, ...]}
 *
 * values/suppressed list every entry in table order (cells row by row, the
 * gemeente margin, the CBS margin).  A file that does not parse is an error,
 * never an empty history: losing it would reopen every differencing attack.
 */
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

static size_t
nentries(const struct udc_table *t)
{
	return t->ngroups * t->ncats + t->ngroups + t->ncats;
}

/* Entry i of t: its value and suppression flag. */
static uint64_t *
entry(const struct udc_table *t, size_t i, uint8_t **supp)
{
	size_t nc = t->ngroups * t->ncats;

	if (i < nc) {
		*supp = &t->cell_supp[i];
		return &t->cells[i];
	}
	if (i < nc + t->ngroups) {
		*supp = &t->g_supp[i - nc];
		return &t->g_unlinked[i - nc];
	}
	*supp = &t->c_supp[i - nc - t->ngroups];
	return &t->c_unlinked[i - nc - t->ngroups];
}

static int
put_labels(const struct udc_spec *spec, int side, size_t cell, char *buf, size_t buflen,
    size_t *off)
{
	size_t idx[UDC_MAX_DIMS];

	udc_spec_cell_split(spec, side, cell, idx);
	for (size_t d = 0; d < spec->ndims[side]; d++) {
		int n = snprintf(buf + *off, buflen - *off, "%s%s=%s", d ? ";" : "",
		    spec->dims[side][d].name, spec->dims[side][d].values[idx[d]]);
		if (n < 0 || (size_t)n >= buflen - *off)
			return UDC_ELIMIT;
		*off += (size_t)n;
	}
	return 0;
}

int
udc_history_key(const struct udc_spec *spec, size_t i, char *buf, size_t buflen)
{
	size_t ng = spec->ncells[UDC_SIDE_GEMEENTE], nk = spec->ncells[UDC_SIDE_CBS], off = 0;
	const char *kind;
	long g = -1, c = -1;
	int n;

	if (i < ng * nk) {
		kind = "cell";
		g = (long)(i / nk);
		c = (long)(i % nk);
	} else if (i < ng * nk + ng) {
		kind = "gemeente_only";
		g = (long)(i - ng * nk);
	} else if (i < ng * nk + ng + nk) {
		kind = "cbs_only";
		c = (long)(i - ng * nk - ng);
	} else {
		return UDC_EINVAL;
	}
	n = snprintf(buf, buflen, "%s|", kind);
	if (n < 0 || (size_t)n >= buflen)
		return UDC_ELIMIT;
	off = (size_t)n;
	if (g >= 0 && put_labels(spec, UDC_SIDE_GEMEENTE, (size_t)g, buf, buflen, &off) != 0)
		return UDC_ELIMIT;
	if (off + 1 >= buflen)
		return UDC_ELIMIT;
	buf[off++] = '|';
	buf[off] = '\0';
	if (c >= 0 && put_labels(spec, UDC_SIDE_CBS, (size_t)c, buf, buflen, &off) != 0)
		return UDC_ELIMIT;
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
    const uint8_t gemeente_input[32], struct udc_table **out)
{
	json_t *root = NULL, *r;
	size_t i;
	int rv;

	*out = NULL;
	pthread_mutex_lock(&h->mtx);
	if ((rv = load(h, cbs_input, &root)) != 0)
		goto out;
	rv = UDC_ENOTFOUND;
	json_array_foreach(json_object_get(root, "releases"), i, r) {
		json_t *rel, *vals, *sup;
		struct udc_table *t = NULL;
		size_t ng, nk;

		if (!same_hex(r, "spec", spec_hash) || !same_hex(r, "gemeente_input", gemeente_input))
			continue;
		ng = (size_t)json_integer_value(json_object_get(r, "groups"));
		nk = (size_t)json_integer_value(json_object_get(r, "categories"));
		rel = json_object_get(r, "released");
		vals = json_object_get(rel, "values");
		sup = json_object_get(rel, "suppressed");
		if (ng == 0 || nk == 0 || !json_is_array(vals) || !json_is_array(sup) ||
		    (rv = udc_table_new(&t, ng, nk)) != 0) {
			rv = rv ? rv : UDC_EPARSE;
			goto out;
		}
		if (json_array_size(vals) != nentries(t) || json_array_size(sup) != nentries(t)) {
			udc_table_free(t);
			rv = UDC_EPARSE;
			goto out;
		}
		for (size_t k = 0; k < nentries(t); k++) {
			uint8_t *sp;
			uint64_t *v = entry(t, k, &sp);
			*v = (uint64_t)json_integer_value(json_array_get(vals, k));
			*sp = json_integer_value(json_array_get(sup, k)) ? 1 : 0;
		}
		*out = t;
		rv = 0;
		break;
	}
out:
	pthread_mutex_unlock(&h->mtx);
	json_decref(root);
	return rv;
}

unsigned
udc_history_count(struct udc_history *h, const uint8_t cbs_input[32], const uint8_t spec_hash[32])
{
	json_t *root = NULL, *r;
	unsigned n = 0;
	size_t i;

	pthread_mutex_lock(&h->mtx);
	if (load(h, cbs_input, &root) == 0)
		json_array_foreach(json_object_get(root, "releases"), i, r)
			n += same_hex(r, "spec", spec_hash);
	pthread_mutex_unlock(&h->mtx);
	json_decref(root);
	return n;
}

int
udc_history_differences(struct udc_history *h, const uint8_t cbs_input[32],
    const struct udc_spec *spec, const struct udc_table *truth, unsigned min_cell, uint8_t *sens)
{
	json_t *root = NULL, *r;
	char key[1024];
	size_t i;
	int rv, marked = 0;

	pthread_mutex_lock(&h->mtx);
	if ((rv = load(h, cbs_input, &root)) != 0)
		goto out;
	for (size_t k = 0; k < nentries(truth); k++) {
		uint8_t *sp;
		uint64_t v = *entry(truth, k, &sp);

		if ((rv = udc_history_key(spec, k, key, sizeof(key))) != 0)
			goto out;
		json_array_foreach(json_object_get(root, "releases"), i, r) {
			json_t *old = json_object_get(json_object_get(r, "truth"), key);
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
udc_history_record(struct udc_history *h, const uint8_t cbs_input[32], const uint8_t spec_hash[32],
    const uint8_t gemeente_input[32], const char *round_id, const struct udc_spec *spec,
    const struct udc_table *truth, const struct udc_table *released)
{
	json_t *root = NULL, *r = NULL, *tr = NULL, *vals = NULL, *sup = NULL;
	char key[1024], sh[65], gh[65];
	int rv;

	hex32(spec_hash, sh);
	hex32(gemeente_input, gh);
	pthread_mutex_lock(&h->mtx);
	if ((rv = load(h, cbs_input, &root)) != 0)
		goto out;
	rv = UDC_ENOMEM;
	if ((tr = json_object()) == NULL || (vals = json_array()) == NULL || (sup = json_array()) == NULL)
		goto out;
	for (size_t k = 0; k < nentries(truth); k++) {
		uint8_t *sp;
		uint64_t v = *entry(truth, k, &sp);
		if ((rv = udc_history_key(spec, k, key, sizeof(key))) != 0)
			goto out;
		rv = UDC_ENOMEM;
		if (json_object_set_new(tr, key, json_integer((json_int_t)v)) != 0)
			goto out;
	}
	for (size_t k = 0; k < nentries(released); k++) {
		uint8_t *sp;
		uint64_t v = *entry(released, k, &sp);
		if (json_array_append_new(vals, json_integer((json_int_t)v)) != 0 ||
		    json_array_append_new(sup, json_integer(*sp)) != 0)
			goto out;
	}
	r = json_pack("{s:s, s:s, s:s, s:I, s:I, s:I, s:o, s:{s:o, s:o}}", "spec", sh,
	    "gemeente_input", gh, "round", round_id, "time", (json_int_t)time(NULL),
	    "groups", (json_int_t)truth->ngroups, "categories", (json_int_t)truth->ncats,
	    "truth", tr, "released", "values", vals, "suppressed", sup);
	tr = vals = sup = NULL; /* stolen by "o", even on failure */
	if (r == NULL || json_array_append_new(json_object_get(root, "releases"), r) != 0)
		goto out;
	rv = save(h, cbs_input, root);
out:
	pthread_mutex_unlock(&h->mtx);
	json_decref(tr);
	json_decref(vals);
	json_decref(sup);
	json_decref(root);
	return rv;
}
