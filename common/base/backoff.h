/*
 * backoff.h - polling with a pause that grows with the time waited.
 *
 * A node that asks its peer "done yet?" in a loop (the CBS list ready, the
 * links, the release) used to sleep a fixed 100-200 ms between questions,
 * so a step that took 10 ms cost 100-200 ms.  Here the pause is an eighth
 * of the time waited so far, at least `first` and at most `cap` ms: a step
 * that takes T is noticed within about T/8 (never more than cap late), and
 * a long step still costs few questions.
 */
#ifndef UDC_BACKOFF_H
#define UDC_BACKOFF_H

#include <errno.h>
#include <time.h>

struct udc_backoff {
	unsigned first, cap; /* ms */
	struct timespec t0;  /* set by the first wait */
};

#define UDC_BACKOFF_INIT(first_ms, cap_ms) { (first_ms), (cap_ms), { 0, 0 } }

/* The pause before the next question, in ms (0 <= waited). */
static inline unsigned
udc_backoff_pause(const struct udc_backoff *b, unsigned long long waited_ms)
{
	unsigned long long p = waited_ms / 8;

	return p < b->first ? b->first : p > b->cap ? b->cap : (unsigned)p;
}

static inline void
udc_backoff_wait(struct udc_backoff *b)
{
	struct timespec now, ts;
	long long waited_ns;
	unsigned ms;

	clock_gettime(CLOCK_MONOTONIC, &now);
	if (b->t0.tv_sec == 0 && b->t0.tv_nsec == 0)
		b->t0 = now;
	waited_ns = (long long)(now.tv_sec - b->t0.tv_sec) * 1000000000LL + (now.tv_nsec - b->t0.tv_nsec);
	ms = udc_backoff_pause(b, waited_ns > 0 ? (unsigned long long)waited_ns / 1000000 : 0);
	ts.tv_sec = (time_t)(ms / 1000);
	ts.tv_nsec = (long)(ms % 1000) * 1000000L;
	while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
		;
}

#endif
