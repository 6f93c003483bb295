/*
 * transcript.h - what both nodes sign at the end of a round: every request
 * and its reply, as each node saw them.
 *
 * Requests of a round may be in flight at the same time (several chunks,
 * an upload next to a download), so their replies arrive in any order.
 * The transcript is therefore a set: one entry per request id, holding
 * SHA-256 of the request and of the reply (the first reply a node saw for
 * that id; a resent request is not entered again), and its hash is the
 * SHA-256 over the entries sorted by request id:
 *
 *   for each entry, by id:  id (8, BE) || SHA-256(request) || SHA-256(reply)
 *
 * Status polls, aborts and seals are not in it (udc_transcript_counts).
 * Thread safe.
 */
#ifndef UDC_TRANSCRIPT_H
#define UDC_TRANSCRIPT_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct udc_transcript_entry;

struct udc_transcript {
	pthread_mutex_t mtx;
	struct udc_transcript_entry *e;
	size_t n, cap;
	int started;
};

void udc_transcript_init(struct udc_transcript *t);
/* Frees the entries; the transcript may be initialised again. */
void udc_transcript_clear(struct udc_transcript *t);
/* Enters one request and its reply if request_id is new.  0, or UDC_ENOMEM. */
int udc_transcript_add(struct udc_transcript *t, uint64_t request_id, const void *req,
    size_t reqlen, const void *rep, size_t replen);
/* The hash of the entries so far. */
void udc_transcript_hash(struct udc_transcript *t, uint8_t out[32]);
/* 1 if a message of this body type belongs in the transcript. */
int udc_transcript_counts(int body_case);

#endif
