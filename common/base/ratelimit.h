/*
 * ratelimit.h - a token bucket for records a peer can cause.
 *
 * Every message the peer sends that is refused gets an audit entry; a peer
 * that floods junk would grow the audit log without bound.  The bucket lets
 * `burst` events through at once and `rate` per second after that; events
 * beyond it are counted, not dropped: the next event let through (or
 * udc_ratelimit_flush at shutdown) hands the count over, so that the caller
 * records "N more" and the total stays exact.  Not thread safe: the caller
 * holds a lock.
 */
#ifndef UDC_RATELIMIT_H
#define UDC_RATELIMIT_H

#include <stdint.h>

struct udc_ratelimit {
	double burst, rate; /* tokens at most; tokens added per second */
	double tokens, last;
	uint64_t suppressed; /* events counted since the last one let through */
};

/* A full bucket; now is a monotonic time in seconds. */
void udc_ratelimit_init(struct udc_ratelimit *r, double burst, double rate, double now);
/* 1 if the event at time now may be recorded, with *flushed = the events
 * suppressed before it (to record first); 0 if it is suppressed (counted),
 * *flushed = 0. */
int udc_ratelimit_take(struct udc_ratelimit *r, double now, uint64_t *flushed);
/* The events suppressed and not yet handed over; resets the count. */
uint64_t udc_ratelimit_flush(struct udc_ratelimit *r);

#endif
