/*
 * test_ratelimit.c - the token bucket that bounds refusal entries in the
 * audit log: the burst passes, then the rate; nothing suppressed is lost
 * (every suppressed event is handed over exactly once); a clock that steps
 * back gives no tokens.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "ratelimit.h"

static void
test_burst_then_rate(void **state)
{
	struct udc_ratelimit r;
	uint64_t fl, handed = 0, let = 0, total = 0;
	double t;
	(void)state;

	udc_ratelimit_init(&r, 5, 2, 100.0);
	/* 20 events at once: 5 pass, 15 are counted */
	for (int i = 0; i < 20; i++, total++) {
		if (udc_ratelimit_take(&r, 100.0, &fl)) {
			let++;
			handed += fl;
		}
	}
	assert_int_equal(let, 5);
	assert_int_equal(handed, 0);
	/* half a second later one token (rate 2/s): the next event passes and
	 * hands over the 15 */
	assert_int_equal(udc_ratelimit_take(&r, 100.5, &fl), 1);
	total++;
	let++;
	assert_int_equal(fl, 15);
	handed += fl;
	assert_int_equal(udc_ratelimit_take(&r, 100.5, &fl), 0);
	total++;
	/* a flood of 10 per second for 10 s: 2 per second pass */
	for (t = 101.0; t < 111.0; t += 0.1, total++) {
		if (udc_ratelimit_take(&r, t, &fl)) {
			let++;
			handed += fl;
		}
	}
	assert_true(let >= 6 + 19 && let <= 6 + 21);
	/* the clock steps back: no tokens from it */
	udc_ratelimit_init(&r, 1, 1, 50.0);
	assert_int_equal(udc_ratelimit_take(&r, 50.0, &fl), 1);
	assert_int_equal(udc_ratelimit_take(&r, 40.0, &fl), 0);
	assert_int_equal(udc_ratelimit_take(&r, 50.5, &fl), 0);
	assert_int_equal(udc_ratelimit_take(&r, 51.0, &fl), 1);
	assert_int_equal(fl, 2);
	/* what was never handed over comes out of flush, once */
	udc_ratelimit_init(&r, 1, 1, 0.0);
	assert_int_equal(udc_ratelimit_take(&r, 0.0, &fl), 1);
	assert_int_equal(udc_ratelimit_take(&r, 0.0, &fl), 0);
	assert_int_equal(udc_ratelimit_take(&r, 0.0, &fl), 0);
	assert_int_equal(udc_ratelimit_flush(&r), 2);
	assert_int_equal(udc_ratelimit_flush(&r), 0);
	(void)total;
}

/* Every event is either let through or handed over exactly once. */
static void
test_nothing_lost(void **state)
{
	struct udc_ratelimit r;
	uint64_t fl, let = 0, handed = 0, n = 0, s = 12345;
	double t = 0;
	(void)state;

	udc_ratelimit_init(&r, 10, 3, 0.0);
	for (n = 0; n < 100000; n++) {
		s = s * 6364136223846793005ULL + 1442695040888963407ULL;
		t += (double)(s >> 40) / (double)(1ULL << 24) * 0.05;
		if (udc_ratelimit_take(&r, t, &fl)) {
			let++;
			handed += fl;
		}
	}
	handed += udc_ratelimit_flush(&r);
	assert_int_equal(let + handed, n);
	assert_true(let < n / 2);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_burst_then_rate),
	    cmocka_unit_test(test_nothing_lost),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
