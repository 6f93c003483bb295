/*
 * ratelimit.c - token bucket (see ratelimit.h).
 */
#include "ratelimit.h"

void
udc_ratelimit_init(struct udc_ratelimit *r, double burst, double rate, double now)
{
	r->burst = burst;
	r->rate = rate;
	r->tokens = burst;
	r->last = now;
	r->suppressed = 0;
}

int
udc_ratelimit_take(struct udc_ratelimit *r, double now, uint64_t *flushed)
{
	if (now > r->last) {
		r->tokens += (now - r->last) * r->rate;
		if (r->tokens > r->burst)
			r->tokens = r->burst;
		r->last = now;
	}
	*flushed = 0;
	if (r->tokens < 1.0) {
		r->suppressed++;
		return 0;
	}
	r->tokens -= 1.0;
	*flushed = udc_ratelimit_flush(r);
	return 1;
}

uint64_t
udc_ratelimit_flush(struct udc_ratelimit *r)
{
	uint64_t n = r->suppressed;

	r->suppressed = 0;
	return n;
}
