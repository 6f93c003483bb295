/*
 * count.c - the blinded grouped count at the gemeente: upload our tuples
 * H(k)^a with group labels, wait for the CBS list, download it and raise it
 * to a, and return it shuffled.
 */
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "backoff.h"
#include "blind.h"
#include "clkctx.h"
#include "err.h"
#include "log.h"
#include "result.h"
#include "roundkey.h"
#include "round.h"
#include "rounds.h"
#include "secmem.h"
#include "spec.h"
#include "store.h"
#include "table.h"
#include "transport.h"

/* Sends the records [from, from+n) of l as a chunk of the given kind. */
static int
send_chunk(struct gem_round *r, const struct udc_blist *l, size_t from, size_t n, uint32_t index,
    int last, Udc__Envelope__BodyCase kind)
{
	Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
	Udc__Chunk ch = UDC__CHUNK__INIT;
	uint8_t *labels;
	int rv;

	if ((labels = malloc(n * 2 + 1)) == NULL)
		return UDC_ENOMEM;
	udc_wire_labels_pack(l->lab + from, n, labels);
	ch.index = index;
	ch.last = last;
	ch.n = (uint32_t)n;
	ch.nkeys = (uint32_t)l->nkeys;
	ch.points.data = n ? udc_blist_pt(l, from, 0) : labels;
	ch.points.len = n * l->nkeys * 32;
	ch.labels.data = labels;
	ch.labels.len = n * 2;
	req.body_case = kind;
	if (kind == UDC__ENVELOPE__BODY_G_CHUNK)
		req.g_chunk = &ch;
	else
		req.r_chunk = &ch;
	rv = gem_call(r, &req, UDC__ENVELOPE__BODY_ACK, &rep);
	free(labels);
	if (rv == 0 && rep->ack->index != index) {
		gem_fail(r, "the CBS node acknowledged chunk %u instead of %u", rep->ack->index, index);
		rv = UDC_EPROTO;
	}
	udc_wire_free(rep);
	return rv;
}

/* Requests in flight at once in an upload (and the return) or a download:
 * the CBS node works on some chunks while others travel.  On a WAN every
 * lane waits a round trip per chunk, so there must be enough lanes to cover
 * it: the CBS node validates a returned chunk in about a millisecond, and a
 * server's pool raises a downloaded one in tens of milliseconds.  With
 * 40 ms round trips, four upload lanes would spend ~44 s waiting on the
 * return of an 18M list and two download lanes keep an 8-core pool 75 %
 * busy (docs/scaling.md, section 5, which has the measurement).  The CBS
 * node serves sixteen requests at a time (CBS_SERVICE_THREADS), more than
 * both kinds of lanes together: a fetch that waited behind uploads being
 * raised left this node's core idle. */
#define UPLOAD_LANES 8
#define DOWNLOAD_LANES 4

/* Runs fn(arg, i) for i in [0, n) on `width` threads (the caller's among
 * them), each taking the next index; stops at the first error. */
struct lanes {
	struct gem_round *r;
	size_t n, next, done;
	int rv;
	pthread_mutex_t m;
	int (*fn)(void *arg, size_t i);
	void *arg;
	const char *step;
};

static void *
lane(void *p)
{
	struct lanes *l = p;

	for (;;) {
		size_t i;
		int rv;

		pthread_mutex_lock(&l->m);
		if (l->rv != 0 || l->next == l->n) {
			pthread_mutex_unlock(&l->m);
			return NULL;
		}
		i = l->next++;
		pthread_mutex_unlock(&l->m);
		rv = gem_failed(l->r) ? UDC_EPEER : l->fn(l->arg, i);
		pthread_mutex_lock(&l->m);
		if (rv != 0 && l->rv == 0)
			l->rv = rv;
		l->done++;
		if (l->step)
			gem_step(l->r, l->step, (unsigned)(l->done * 1000 / l->n));
		pthread_mutex_unlock(&l->m);
	}
}

static int
run_lanes(struct gem_round *r, size_t n, unsigned width, const char *step,
    int (*fn)(void *, size_t), void *arg)
{
	struct lanes l = { .r = r, .n = n, .fn = fn, .arg = arg, .step = step };
	pthread_t t[8];
	unsigned started = 0;

	pthread_mutex_init(&l.m, NULL);
	for (unsigned k = 1; k < width && k < 8 && k < n; k++)
		if (pthread_create(&t[started], NULL, lane, &l) == 0)
			started++;
	lane(&l);
	for (unsigned k = 0; k < started; k++)
		pthread_join(t[k], NULL);
	pthread_mutex_destroy(&l.m);
	return l.rv;
}

struct upload_job {
	struct gem_round *r;
	const struct udc_blist *l;
	size_t chunk, nchunks;
	Udc__Envelope__BodyCase kind;
	const char *step;
	atomic_size_t sent; /* records acknowledged, for udcctl round wait */
};

static int
upload_one(void *arg, size_t i)
{
	struct upload_job *u = arg;
	size_t from = i * u->chunk, n = u->l->n - from < u->chunk ? u->l->n - from : u->chunk;
	int rv = send_chunk(u->r, u->l, from, n, (uint32_t)i, i + 1 == u->nchunks, u->kind);

	if (rv == 0)
		udc_rounds_records(u->r->n->rounds, u->r->job->idhex, u->step,
		    atomic_fetch_add(&u->sent, n) + n, u->l->n);
	return rv;
}

int
gem_upload(struct gem_round *r, const struct udc_blist *l, Udc__Envelope__BodyCase kind, const char *stepname)
{
	struct upload_job u = { .r = r, .l = l, .kind = kind, .step = stepname };

	u.chunk = udc_wire_chunk_records(r->n->cfg->chunk_records, r->n->cfg->max_message,
	    l->nkeys * 32 + 2);
	u.nchunks = l->n ? (l->n + u.chunk - 1) / u.chunk : 1;
	/* upload_one reports the step with its records */
	return run_lanes(r, u.nchunks, UPLOAD_LANES, NULL, upload_one, &u);
}

/* Polls until the CBS node has its own list ready. */
int
gem_wait_cbs(struct gem_round *r, uint64_t *c_records, uint32_t *c_chunks)
{
	struct udc_backoff b = UDC_BACKOFF_INIT(2, 100);

	for (;;) {
		Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
		Udc__Status st = UDC__STATUS__INIT;
		int rv;

		if (atomic_load(&r->n->stopping)) {
			gem_fail(r, "the gemeente daemon is stopping");
			return UDC_ECLOSED;
		}
		if (gem_failed(r))
			return UDC_EPEER; /* the upload next to us failed */
		req.body_case = UDC__ENVELOPE__BODY_STATUS;
		req.status = &st;
		if ((rv = gem_call(r, &req, UDC__ENVELOPE__BODY_STATUS_REPLY, &rep)) != 0)
			return rv;
		if (rep->status_reply->ready) {
			*c_records = rep->status_reply->c_records;
			*c_chunks = rep->status_reply->c_chunks;
			udc_wire_free(rep);
			return 0;
		}
		gem_step(r, "cbs-preparing", rep->status_reply->progress);
		udc_wire_free(rep);
		udc_backoff_wait(&b);
	}
}

struct download_job {
	struct gem_round *r;
	struct udc_blist *cbs_list;
	const struct udc_scalar *a;
	uint64_t c_records;
	pthread_mutex_t m; /* cbs_list */
};

/* Fetches CBS chunk i and raises it to a (while another lane fetches). */
static int
download_one(void *arg, size_t i)
{
	struct download_job *d = arg;
	struct gem_round *r = d->r;
	Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
	Udc__Fetch f = UDC__FETCH__INIT;
	Udc__Chunk *ch;
	char why[256];
	int rv;

	f.index = (uint32_t)i;
	req.body_case = UDC__ENVELOPE__BODY_FETCH;
	req.fetch = &f;
	if ((rv = gem_call(r, &req, UDC__ENVELOPE__BODY_C_CHUNK, &rep)) != 0)
		return rv;
	ch = rep->c_chunk;
	if ((rv = udc_wire_check_chunk(ch, r->count_nkeys, UDC_MAX_CHUNK_RECORDS,
	    r->spec->ncells[UDC_SIDE_CBS], why, sizeof(why))) != 0 || ch->index != i) {
		gem_fail(r, "bad chunk from the CBS node: %s", rv ? why : "index mismatch");
		udc_wire_free(rep);
		return UDC_EPROTO;
	}
	/* Raise to a: every point is validated first. */
	if ((rv = udc_blind_records(ch->points.data, ch->n, ch->nkeys, d->a, r->n->wq)) != 0) {
		gem_fail(r, "the CBS node sent an invalid group element in chunk %zu", i);
		udc_wire_free(rep);
		return rv;
	}
	pthread_mutex_lock(&d->m);
	if (d->cbs_list->n + ch->n > d->c_records) {
		pthread_mutex_unlock(&d->m);
		gem_fail(r, "the CBS node sent more records than the %llu it announced",
		    (unsigned long long)d->c_records);
		udc_wire_free(rep);
		return UDC_EPROTO;
	}
	for (uint32_t k = 0; k < ch->n; k++)
		d->cbs_list->lab[d->cbs_list->n + k] = udc_wire_label(ch, k);
	memcpy(udc_blist_pt(d->cbs_list, d->cbs_list->n, 0), ch->points.data, ch->points.len);
	d->cbs_list->n += ch->n;
	udc_rounds_records(d->r->n->rounds, d->r->job->idhex, "download", d->cbs_list->n, d->c_records);
	pthread_mutex_unlock(&d->m);
	udc_wire_free(rep);
	return 0;
}

/* The CBS list, fetched and raised to a chunk by chunk, several chunks in
 * flight; its order does not matter (the gemeente shuffles it anyway). */
int
gem_download(struct gem_round *r, struct udc_blist *cbs_list, const struct udc_scalar *a, uint64_t c_records,
    uint32_t c_chunks)
{
	struct download_job d = { .r = r, .cbs_list = cbs_list, .a = a, .c_records = c_records };
	int rv;

	if (c_records > UDC_MAX_CHUNK_RECORDS * (uint64_t)c_chunks || c_records > 100000000ULL) {
		gem_fail(r, "the CBS node announced %llu records in %u chunks", (unsigned long long)c_records,
		    c_chunks);
		return UDC_EPROTO;
	}
	if ((rv = udc_blist_reserve(cbs_list, (size_t)c_records)) != 0) {
		gem_fail(r, "cannot hold %llu CBS records: %s", (unsigned long long)c_records, udc_strerror(rv));
		return rv;
	}
	pthread_mutex_init(&d.m, NULL);
	rv = run_lanes(r, c_chunks, DOWNLOAD_LANES, NULL, download_one, &d); /* download_one reports */
	pthread_mutex_destroy(&d.m);
	if (rv != 0)
		return rv;
	if (cbs_list->n != c_records) {
		gem_fail(r, "the CBS node sent %zu records, announced %llu", cbs_list->n, (unsigned long long)c_records);
		return UDC_EPROTO;
	}
	return 0;
}
