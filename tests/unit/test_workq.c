/*
 * test_workq.c - the worker pool: coverage of [0, n), errors, shared use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <pthread.h>
#include <time.h>

#include <cmocka.h>

#include "err.h"
#include "workq.h"

struct sum {
	atomic_uint_fast64_t total;
	atomic_uchar *seen; /* how often each index ran */
	atomic_int active;  /* ranges running right now */
	size_t fail_at;     /* index whose range fails, SIZE_MAX = none */
	int slow;           /* sleep in each range, to widen races */
};

static void
nap(long ns)
{
	struct timespec ts = {0, ns};

	nanosleep(&ts, NULL);
}

static int
sum_range(void *arg, size_t begin, size_t end)
{
	struct sum *s = arg;
	uint64_t part = 0;
	int rv = 0;

	atomic_fetch_add(&s->active, 1);
	if (s->slow)
		nap(200000);
	for (size_t i = begin; i < end; i++) {
		part += i + 1;
		if (s->seen != NULL)
			atomic_fetch_add(&s->seen[i], 1);
		if (i == s->fail_at)
			rv = UDC_ECRYPTO;
	}
	atomic_fetch_add(&s->total, part);
	atomic_fetch_sub(&s->active, 1);
	return rv;
}

static struct udc_workq *
pool(unsigned n)
{
	struct udc_workq *wq = NULL;

	assert_int_equal(udc_workq_new(&wq, n), 0);
	assert_non_null(wq);
	assert_int_equal(udc_workq_width(wq), n + 1);
	return wq;
}

static void
check_sum(struct udc_workq *wq, size_t n, size_t grain)
{
	struct sum s = {0};

	s.fail_at = SIZE_MAX;
	s.seen = calloc(n ? n : 1, sizeof(*s.seen));
	assert_non_null(s.seen);
	assert_int_equal(udc_workq_parallel(wq, n, grain, sum_range, &s), 0);
	assert_int_equal(atomic_load(&s.total), (uint64_t)n * (n + 1) / 2);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(s.seen[i], 1);
	assert_int_equal(atomic_load(&s.active), 0);
	free(s.seen);
}

static void
test_sums(void **state)
{
	static const size_t ns[] = {0, 1, 2, 3, 7, 8, 9, 100, 1000, 12345, 1000000};
	static const size_t grains[] = {0, 1, 3, 64, 1000, 2000000};
	struct udc_workq *wq = pool(3);

	for (size_t i = 0; i < sizeof(ns) / sizeof(ns[0]); i++) {
		for (size_t j = 0; j < sizeof(grains) / sizeof(grains[0]); j++) {
			/* Grain 1 over a million indices is slow under
			 * valgrind and proves nothing more than 12345. */
			if (grains[j] == 1 && ns[i] > 20000)
				continue;
			check_sum(wq, ns[i], grains[j]);
		}
	}
	/* No pool: the caller runs everything itself. */
	check_sum(NULL, 1000, 0);
	check_sum(NULL, 0, 0);
	udc_workq_free(wq);
}

static void
test_default_width(void **state)
{
	struct udc_workq *wq = NULL;

	assert_int_equal(udc_workq_new(&wq, 0), 0);
	assert_true(udc_workq_width(wq) >= 2);
	check_sum(wq, 10000, 0);
	udc_workq_free(wq);
	udc_workq_free(NULL);
}

static void
test_error_returned(void **state)
{
	struct udc_workq *wq = pool(2);
	static const size_t at[] = {0, 1, 499, 999};

	for (size_t k = 0; k < sizeof(at) / sizeof(at[0]); k++) {
		struct sum s = {0};

		s.fail_at = at[k];
		s.slow = 1;
		assert_int_equal(udc_workq_parallel(wq, 1000, 10, sum_range, &s), UDC_ECRYPTO);
		/* Returned only after every range it started had finished. */
		assert_int_equal(atomic_load(&s.active), 0);
		/* Ranges after the failure are skipped, not all run. */
		assert_true(atomic_load(&s.total) < (uint64_t)1000 * 1001 / 2 || at[k] == 999);
	}
	/* The pool still works after a failed loop. */
	check_sum(wq, 5000, 0);
	udc_workq_free(wq);
}

struct user {
	struct udc_workq *wq;
	unsigned seed;
	int failures;
};

static void *
user_main(void *arg)
{
	struct user *u = arg;

	for (int round = 0; round < 40; round++) {
		struct sum s = {0};
		size_t n = 1000 + (size_t)(u->seed * 7919u + (unsigned)round * 104729u) % 50000;

		s.fail_at = SIZE_MAX;
		if (udc_workq_parallel(u->wq, n, 0, sum_range, &s) != 0 ||
		    atomic_load(&s.total) != (uint64_t)n * (n + 1) / 2 ||
		    atomic_load(&s.active) != 0)
			u->failures++;
	}
	return NULL;
}

static void
test_concurrent_callers(void **state)
{
	struct udc_workq *wq = pool(2);
	struct user u[3];
	pthread_t t[3];

	for (int i = 0; i < 3; i++) {
		u[i] = (struct user){wq, (unsigned)i + 1, 0};
		assert_int_equal(pthread_create(&t[i], NULL, user_main, &u[i]), 0);
	}
	for (int i = 0; i < 3; i++) {
		assert_int_equal(pthread_join(t[i], NULL), 0);
		assert_int_equal(u[i].failures, 0);
	}
	udc_workq_free(wq);
}

/* One caller's failing loop does not disturb another's. */
static void *
failing_main(void *arg)
{
	struct user *u = arg;

	for (int round = 0; round < 20; round++) {
		struct sum s = {0};

		s.fail_at = 50;
		if (udc_workq_parallel(u->wq, 2000, 5, sum_range, &s) != UDC_ECRYPTO ||
		    atomic_load(&s.active) != 0)
			u->failures++;
	}
	return NULL;
}

static void
test_concurrent_error_isolated(void **state)
{
	struct udc_workq *wq = pool(2);
	struct user ok = {wq, 9, 0}, bad = {wq, 0, 0};
	pthread_t t1, t2;

	assert_int_equal(pthread_create(&t1, NULL, user_main, &ok), 0);
	assert_int_equal(pthread_create(&t2, NULL, failing_main, &bad), 0);
	assert_int_equal(pthread_join(t1, NULL), 0);
	assert_int_equal(pthread_join(t2, NULL), 0);
	assert_int_equal(ok.failures, 0);
	assert_int_equal(bad.failures, 0);
	udc_workq_free(wq);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_sums),
	    cmocka_unit_test(test_default_width),
	    cmocka_unit_test(test_error_returned),
	    cmocka_unit_test(test_concurrent_callers),
	    cmocka_unit_test(test_concurrent_error_isolated),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
