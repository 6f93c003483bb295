/*
 * count.c - the blinded grouped count at the gemeente: upload our tuples
 * H(k)^a with group labels, wait for the CBS list, download it and raise it
 * to a, and return it shuffled.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

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
	for (size_t i = 0; i < n; i++) {
		labels[2 * i] = (uint8_t)(l->lab[from + i] & 0xff);
		labels[2 * i + 1] = (uint8_t)(l->lab[from + i] >> 8);
	}
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

int
gem_upload(struct gem_round *r, const struct udc_blist *l, Udc__Envelope__BodyCase kind, const char *stepname)
{
	size_t chunk = udc_wire_chunk_records(r->n->cfg->chunk_records, r->n->cfg->max_message,
	    l->nkeys * 32 + 2);
	size_t nchunks;
	int rv;

	nchunks = l->n ? (l->n + chunk - 1) / chunk : 1;
	for (size_t i = 0; i < nchunks; i++) {
		size_t from = i * chunk, n = l->n - from < chunk ? l->n - from : chunk;
		if ((rv = send_chunk(r, l, from, n, (uint32_t)i, i + 1 == nchunks, kind)) != 0)
			return rv;
		gem_step(r, stepname, (unsigned)((i + 1) * 1000 / nchunks));
	}
	return 0;
}

/* Polls until the CBS node has its own list ready. */
int
gem_wait_cbs(struct gem_round *r, uint64_t *c_records, uint32_t *c_chunks)
{
	for (;;) {
		Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
		Udc__Status st = UDC__STATUS__INIT;
		int rv;

		if (atomic_load(&r->n->stopping)) {
			gem_fail(r, "the gemeente daemon is stopping");
			return UDC_ECLOSED;
		}
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
		usleep(100 * 1000);
	}
}

int
gem_download(struct gem_round *r, struct udc_blist *c, const struct udc_scalar *a, uint64_t c_records,
    uint32_t c_chunks)
{
	size_t ncats = r->spec->ncells[UDC_SIDE_CBS];
	char why[256];
	int rv;

	if (c_records > UDC_MAX_CHUNK_RECORDS * (uint64_t)c_chunks || c_records > 100000000ULL) {
		gem_fail(r, "the CBS node announced %llu records in %u chunks", (unsigned long long)c_records,
		    c_chunks);
		return UDC_EPROTO;
	}
	if ((rv = udc_blist_reserve(c, (size_t)c_records)) != 0) {
		gem_fail(r, "cannot hold %llu CBS records: %s", (unsigned long long)c_records, udc_strerror(rv));
		return rv;
	}
	for (uint32_t i = 0; i < c_chunks; i++) {
		Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
		Udc__Fetch f = UDC__FETCH__INIT;
		Udc__Chunk *ch;

		f.index = i;
		req.body_case = UDC__ENVELOPE__BODY_FETCH;
		req.fetch = &f;
		if ((rv = gem_call(r, &req, UDC__ENVELOPE__BODY_C_CHUNK, &rep)) != 0)
			return rv;
		ch = rep->c_chunk;
		if ((rv = udc_wire_check_chunk(ch, r->cnkeys, UDC_MAX_CHUNK_RECORDS, ncats, why,
		    sizeof(why))) != 0 || ch->index != i || c->n + ch->n > c_records) {
			gem_fail(r, "bad chunk from the CBS node: %s", rv ? why : "index or count mismatch");
			udc_wire_free(rep);
			return UDC_EPROTO;
		}
		/* Raise to a: every point is validated first. */
		if ((rv = udc_blind_records(ch->points.data, ch->n, ch->nkeys, a, r->n->wq)) != 0) {
			gem_fail(r, "the CBS node sent an invalid group element in chunk %u", i);
			udc_wire_free(rep);
			return rv;
		}
		for (uint32_t k = 0; k < ch->n; k++)
			c->lab[c->n + k] = udc_wire_label(ch, k);
		memcpy(udc_blist_pt(c, c->n, 0), ch->points.data, ch->points.len);
		c->n += ch->n;
		udc_wire_free(rep);
		gem_step(r, "download", (unsigned)((i + 1) * 1000ULL / c_chunks));
	}
	if (c->n != c_records) {
		gem_fail(r, "the CBS node sent %zu records, announced %llu", c->n, (unsigned long long)c_records);
		return UDC_EPROTO;
	}
	return 0;
}
