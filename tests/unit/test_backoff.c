/*
 * test_backoff.c - the pause between "done yet?" questions to the peer:
 * a step that takes T is noticed within T/8 (at least `first`, at most
 * `cap` late), a long wait asks few questions, and a wait really sleeps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cmocka.h>

#include "backoff.h"

/* Questions asked until a step of t ms is seen; *late = how long after. */
static unsigned
simulate(const struct udc_backoff *b, unsigned long long t, unsigned long long *late)
{
	unsigned long long waited = 0;
	unsigned asked = 1;

	while (waited < t) {
		waited += udc_backoff_pause(b, waited);
		asked++;
	}
	*late = waited - t;
	return asked;
}

static void
test_late_by_an_eighth(void **state)
{
	const struct udc_backoff b = UDC_BACKOFF_INIT(2, 200);
	unsigned long long late;
	(void)state;

	for (unsigned long long t = 1; t <= 20000; t = t * 3 / 2 + 1) {
		unsigned long long bound = t / 8 + 1;

		simulate(&b, t, &late);
		if (bound < 2)
			bound = 2;
		if (bound > 200)
			bound = 200;
		assert_true(late <= bound);
	}
	/* the old fixed 200 ms: a 10 ms release was seen 190 ms late */
	simulate(&b, 10, &late);
	assert_true(late <= 2);
}

static void
test_few_questions(void **state)
{
	const struct udc_backoff b = UDC_BACKOFF_INIT(2, 200);
	unsigned long long late;
	(void)state;

	/* an hour: five questions a second once at the cap, plus the ramp */
	unsigned asked = simulate(&b, 3600ULL * 1000, &late);
	assert_true(asked <= 3600 * 5 + 100);
	assert_true(asked >= 3600 * 5);
	/* a second: 8 questions at `first`, then the ramp is geometric
	 * (each pause 1/8 of the time waited: x1.125 a question), 43 in all */
	asked = simulate(&b, 1000, &late);
	assert_true(asked <= 50);
	assert_int_equal(udc_backoff_pause(&b, 0), 2);
	assert_int_equal(udc_backoff_pause(&b, 800), 100);
	assert_int_equal(udc_backoff_pause(&b, 1u << 30), 200);
}

static double
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static void
test_wait_sleeps(void **state)
{
	struct udc_backoff b = UDC_BACKOFF_INIT(3, 50);
	double t0 = now_ms();
	(void)state;

	/* the first waits sleep `first` each, then waited / 8: at least
	 * 3 + 3 + ... ms; sleeping never returns early */
	for (int i = 0; i < 5; i++)
		udc_backoff_wait(&b);
	assert_true(now_ms() - t0 >= 15.0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_late_by_an_eighth),
		cmocka_unit_test(test_few_questions),
		cmocka_unit_test(test_wait_sleeps),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
