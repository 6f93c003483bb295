/*
 * rounds.c - the round register, persisted as one small JSON file per round.
 */
#include "rounds.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <jansson.h>

#include "err.h"
#include "log.h"
#include "statepath.h"
#include "store.h"

struct udc_rounds {
	pthread_mutex_t mtx;
	char *state_dir;
	struct udc_round *v;
	size_t n, cap;
};

void
udc_round_id_hex(const uint8_t id[16], char out[33])
{
	static const char hx[] = "0123456789abcdef";
	for (int i = 0; i < 16; i++) {
		out[2 * i] = hx[id[i] >> 4];
		out[2 * i + 1] = hx[id[i] & 15];
	}
	out[32] = '\0';
}

int
udc_round_id_parse(const char *hex, uint8_t id[16])
{
	if (hex == NULL || strlen(hex) != 32)
		return UDC_EINVAL;
	for (int i = 0; i < 32; i++) {
		char c = hex[i];
		int v = (c >= '0' && c <= '9') ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : -1;
		if (v < 0)
			return UDC_EINVAL;
		if (i % 2 == 0)
			id[i / 2] = (uint8_t)(v << 4);
		else
			id[i / 2] |= (uint8_t)v;
	}
	return 0;
}

static int
persist(struct udc_rounds *r, const struct udc_round *x)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:s, s:s, s:I, s:I, s:s}", "round_id", x->id,
	    "state", x->state, "step", x->step, "progress", (int)x->progress, "error", x->error,
	    "spec_hash", x->spec_hash, "started", (json_int_t)x->started, "finished",
	    (json_int_t)x->finished, "input", x->input);
	char rel[96], *txt;
	int rv;

	/* a CBS node serving several gemeenten: whose round it is */
	if (o != NULL && x->peer[0] && json_object_set_new(o, "peer", json_string(x->peer)) != 0) {
		json_decref(o);
		o = NULL;
	}
	if (o == NULL)
		return UDC_ENOMEM;
	txt = json_dumps(o, JSON_INDENT(2) | JSON_SORT_KEYS);
	json_decref(o);
	if (txt == NULL)
		return UDC_ENOMEM;
	udc_state_round(rel, sizeof(rel), x->id, "status.json");
	rv = udc_store_write(r->state_dir, rel, txt, strlen(txt));
	free(txt);
	if (rv != 0)
		log_warnx("round %s: cannot write status: %s", x->id, udc_strerror(rv));
	return rv;
}

static struct udc_round *
find(struct udc_rounds *r, const char *id)
{
	for (size_t i = 0; i < r->n; i++)
		if (strcmp(r->v[i].id, id) == 0)
			return &r->v[i];
	return NULL;
}

static struct udc_round *
push(struct udc_rounds *r)
{
	if (r->n == r->cap) {
		size_t ncap = r->cap ? 2 * r->cap : 32;
		struct udc_round *nv = realloc(r->v, ncap * sizeof(*nv));
		if (nv == NULL)
			return NULL;
		r->v = nv;
		r->cap = ncap;
	}
	memset(&r->v[r->n], 0, sizeof(r->v[0]));
	return &r->v[r->n++];
}

static void
copystr(char *dst, size_t cap, const char *src)
{
	snprintf(dst, cap, "%s", src ? src : "");
}

static int
cmp_started(const void *a, const void *b)
{
	const struct udc_round *x = a, *y = b;
	if (x->started != y->started)
		return x->started < y->started ? -1 : 1;
	return strcmp(x->id, y->id);
}

int
udc_rounds_open(struct udc_rounds **out, const char *state_dir)
{
	struct udc_rounds *r;
	char **ids = NULL;
	size_t nids = 0;
	int rv;

	if ((r = calloc(1, sizeof(*r))) == NULL)
		return UDC_ENOMEM;
	pthread_mutex_init(&r->mtx, NULL);
	if ((r->state_dir = strdup(state_dir)) == NULL) {
		udc_rounds_close(r);
		return UDC_ENOMEM;
	}
	if ((rv = udc_store_rounds(state_dir, &ids, &nids)) != 0) {
		udc_rounds_close(r);
		return rv;
	}
	for (size_t i = 0; i < nids; i++) {
		char rel[96], *txt = NULL;
		json_t *o;
		json_error_t je;
		struct udc_round *x;

		udc_state_round(rel, sizeof(rel), ids[i], "status.json");
		if (udc_store_read(state_dir, rel, 64 * 1024, &txt, NULL) != 0)
			continue;
		o = json_loads(txt, 0, &je);
		free(txt);
		if (o == NULL || (x = push(r)) == NULL) {
			log_warnx("%s/%s: unreadable round status, ignored", state_dir, rel);
			json_decref(o);
			continue;
		}
		copystr(x->id, sizeof(x->id), ids[i]);
		copystr(x->state, sizeof(x->state), json_string_value(json_object_get(o, "state")));
		copystr(x->step, sizeof(x->step), json_string_value(json_object_get(o, "step")));
		copystr(x->error, sizeof(x->error), json_string_value(json_object_get(o, "error")));
		copystr(x->input, sizeof(x->input), json_string_value(json_object_get(o, "input")));
		copystr(x->peer, sizeof(x->peer), json_string_value(json_object_get(o, "peer")));
		copystr(x->spec_hash, sizeof(x->spec_hash),
		    json_string_value(json_object_get(o, "spec_hash")));
		x->progress = (unsigned)json_integer_value(json_object_get(o, "progress"));
		x->started = json_integer_value(json_object_get(o, "started"));
		x->finished = json_integer_value(json_object_get(o, "finished"));
		json_decref(o);
		if (strcmp(x->state, "queued") == 0 || strcmp(x->state, "running") == 0) {
			copystr(x->state, sizeof(x->state), "failed");
			snprintf(x->error, sizeof(x->error),
			    "interrupted: the daemon stopped during step '%s'", x->step);
			x->finished = (int64_t)time(NULL);
			x->interrupted = 1;
			persist(r, x);
		}
	}
	udc_store_list_free(ids, nids);
	if (r->n)
		qsort(r->v, r->n, sizeof(r->v[0]), cmp_started);
	*out = r;
	return 0;
}

size_t
udc_rounds_take_interrupted(struct udc_rounds *r, struct udc_round *out, size_t max)
{
	size_t k = 0;

	pthread_mutex_lock(&r->mtx);
	for (size_t i = 0; i < r->n && k < max; i++)
		if (r->v[i].interrupted) {
			r->v[i].interrupted = 0;
			out[k++] = r->v[i];
		}
	pthread_mutex_unlock(&r->mtx);
	return k;
}

void
udc_rounds_close(struct udc_rounds *r)
{
	if (r == NULL)
		return;
	pthread_mutex_destroy(&r->mtx);
	free(r->state_dir);
	free(r->v);
	free(r);
}

int
udc_rounds_add(struct udc_rounds *r, const char *id, const char *spec_hash, const char *state)
{
	return udc_rounds_add_peer(r, id, spec_hash, state, NULL);
}

int
udc_rounds_add_peer(struct udc_rounds *r, const char *id, const char *spec_hash,
    const char *state, const char *peer)
{
	struct udc_round *x, copy;

	pthread_mutex_lock(&r->mtx);
	if (find(r, id) != NULL) {
		pthread_mutex_unlock(&r->mtx);
		return UDC_EEXIST;
	}
	if ((x = push(r)) == NULL) {
		pthread_mutex_unlock(&r->mtx);
		return UDC_ENOMEM;
	}
	copystr(x->id, sizeof(x->id), id);
	copystr(x->spec_hash, sizeof(x->spec_hash), spec_hash);
	copystr(x->state, sizeof(x->state), state);
	copystr(x->step, sizeof(x->step), state);
	copystr(x->peer, sizeof(x->peer), peer);
	x->started = (int64_t)time(NULL);
	copy = *x;
	pthread_mutex_unlock(&r->mtx);
	return persist(r, &copy);
}

int
udc_rounds_update(struct udc_rounds *r, const char *id, const char *state, const char *step,
    unsigned progress, const char *error)
{
	struct udc_round *x, copy;
	int changed = 0;

	pthread_mutex_lock(&r->mtx);
	if ((x = find(r, id)) == NULL) {
		pthread_mutex_unlock(&r->mtx);
		return UDC_ENOTFOUND;
	}
	if (state && strcmp(state, x->state) != 0) {
		copystr(x->state, sizeof(x->state), state);
		if (!strcmp(state, "done") || !strcmp(state, "failed"))
			x->finished = (int64_t)time(NULL);
		changed = 1;
	}
	if (step && strcmp(step, x->step) != 0) {
		copystr(x->step, sizeof(x->step), step);
		x->records_done = x->records_total = 0;
		changed = 1;
	}
	if (error) {
		copystr(x->error, sizeof(x->error), error);
		changed = 1;
	}
	x->progress = progress;
	copy = *x;
	pthread_mutex_unlock(&r->mtx);
	return changed ? persist(r, &copy) : 0;
}

int
udc_rounds_input(struct udc_rounds *r, const char *id, const char *summary)
{
	struct udc_round *x, copy;

	pthread_mutex_lock(&r->mtx);
	if ((x = find(r, id)) == NULL) {
		pthread_mutex_unlock(&r->mtx);
		return UDC_ENOTFOUND;
	}
	copystr(x->input, sizeof(x->input), summary);
	copy = *x;
	pthread_mutex_unlock(&r->mtx);
	return persist(r, &copy);
}

int
udc_rounds_records(struct udc_rounds *r, const char *id, const char *step, uint64_t done,
    uint64_t total)
{
	struct udc_round *x, copy;
	int changed = 0;

	pthread_mutex_lock(&r->mtx);
	if ((x = find(r, id)) == NULL) {
		pthread_mutex_unlock(&r->mtx);
		return UDC_ENOTFOUND;
	}
	if (strcmp(step, x->step) != 0) {
		copystr(x->step, sizeof(x->step), step);
		changed = 1;
	}
	x->records_done = done;
	x->records_total = total;
	x->progress = total ? (unsigned)(done * 1000 / total) : 0;
	copy = *x;
	pthread_mutex_unlock(&r->mtx);
	return changed ? persist(r, &copy) : 0;
}

int
udc_rounds_get(struct udc_rounds *r, const char *id, struct udc_round *out)
{
	struct udc_round *x;
	int rv = UDC_ENOTFOUND;

	pthread_mutex_lock(&r->mtx);
	if ((x = find(r, id)) != NULL) {
		*out = *x;
		rv = 0;
	}
	pthread_mutex_unlock(&r->mtx);
	return rv;
}

int
udc_rounds_all(struct udc_rounds *r, struct udc_round **out, size_t *n)
{
	pthread_mutex_lock(&r->mtx);
	*out = malloc((r->n ? r->n : 1) * sizeof(**out));
	if (*out == NULL) {
		pthread_mutex_unlock(&r->mtx);
		return UDC_ENOMEM;
	}
	if (r->n > 0)
		memcpy(*out, r->v, r->n * sizeof(**out));
	*n = r->n;
	pthread_mutex_unlock(&r->mtx);
	return 0;
}
