/*
 * transcript.c - the set of a round's requests and replies both nodes
 * sign (transcript.h).
 */
#include "transcript.h"

#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "err.h"
#include "wire.pb-c.h"

struct udc_transcript_entry {
	uint64_t id;
	uint8_t req[32], rep[32];
};

void
udc_transcript_init(struct udc_transcript *t)
{
	memset(t, 0, sizeof(*t));
	pthread_mutex_init(&t->mtx, NULL);
	t->started = 1;
}

void
udc_transcript_clear(struct udc_transcript *t)
{
	if (!t->started)
		return;
	pthread_mutex_destroy(&t->mtx);
	free(t->e);
	memset(t, 0, sizeof(*t));
}

int
udc_transcript_add(struct udc_transcript *t, uint64_t request_id, const void *req, size_t reqlen,
    const void *rep, size_t replen)
{
	struct udc_transcript_entry *e;
	int rv = 0;

	if (!t->started)
		return 0;
	pthread_mutex_lock(&t->mtx);
	for (size_t i = t->n; i-- > 0;) /* resends are recent: look from the end */
		if (t->e[i].id == request_id)
			goto out;
	if (t->n == t->cap) {
		size_t nc = t->cap ? 2 * t->cap : 256;
		if ((e = realloc(t->e, nc * sizeof(*e))) == NULL) {
			rv = UDC_ENOMEM;
			goto out;
		}
		t->e = e;
		t->cap = nc;
	}
	e = &t->e[t->n++];
	e->id = request_id;
	crypto_hash_sha256(e->req, req, reqlen);
	crypto_hash_sha256(e->rep, rep, replen);
out:
	pthread_mutex_unlock(&t->mtx);
	return rv;
}

static int
by_id(const void *a, const void *b)
{
	uint64_t x = ((const struct udc_transcript_entry *)a)->id;
	uint64_t y = ((const struct udc_transcript_entry *)b)->id;

	return x < y ? -1 : x > y;
}

void
udc_transcript_hash(struct udc_transcript *t, uint8_t out[32])
{
	crypto_hash_sha256_state st;

	crypto_hash_sha256_init(&st);
	if (t->started) {
		pthread_mutex_lock(&t->mtx);
		qsort(t->e, t->n, sizeof(*t->e), by_id);
		for (size_t i = 0; i < t->n; i++) {
			uint8_t id[8];
			for (int k = 0; k < 8; k++)
				id[k] = (uint8_t)(t->e[i].id >> (56 - 8 * k));
			crypto_hash_sha256_update(&st, id, 8);
			crypto_hash_sha256_update(&st, t->e[i].req, 32);
			crypto_hash_sha256_update(&st, t->e[i].rep, 32);
		}
		pthread_mutex_unlock(&t->mtx);
	}
	crypto_hash_sha256_final(&st, out);
}

int
udc_transcript_counts(int body_case)
{
	switch (body_case) {
	case UDC__ENVELOPE__BODY_STATUS:
	case UDC__ENVELOPE__BODY_ABORT:
	case UDC__ENVELOPE__BODY_SEAL:
	case UDC__ENVELOPE__BODY__NOT_SET:
		return 0;
	default:
		return 1;
	}
}
