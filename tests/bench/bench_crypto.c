/*
 * bench_crypto.c - how many records per second the exact mode can blind.
 *
 * Prints per-core and all-core rates for udc_hash_to_group, udc_blind and
 * udc_blind_batch over a udc_workq, to size rounds and compare with the
 * figures in the design notes.  Usage: bench_crypto [seconds per figure].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "blind.h"
#include "err.h"
#include "workq.h"

static const uint8_t round_id[UDC_ROUND_ID_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct work {
	const struct udc_scalar *s;
	uint8_t *points;
};

static int
hash_range(void *arg, size_t begin, size_t end)
{
	struct work *w = arg;
	char v[16];

	for (size_t i = begin; i < end; i++) {
		int len = snprintf(v, sizeof(v), "%09zu", 100000000 + i);

		udc_hash_to_group(w->points + i * UDC_POINT_BYTES, round_id, 0, v, (size_t)len);
	}
	return 0;
}

static int
blind_range(void *arg, size_t begin, size_t end)
{
	struct work *w = arg;

	for (size_t i = begin; i < end; i++) {
		uint8_t *p = w->points + i * UDC_POINT_BYTES;
		int rv;

		if ((rv = udc_blind(p, w->s, p)) != 0)
			return rv;
	}
	return 0;
}

/* Runs fn over n items until at least secs have passed; items per second. */
static double
rate(struct udc_workq *wq, udc_range_fn fn, struct work *w, size_t n, double secs)
{
	double t0 = now(), t;
	size_t done = 0;

	do {
		if (udc_workq_parallel(wq, n, 0, fn, w) != 0) {
			fprintf(stderr, "bench_crypto: range failed\n");
			exit(1);
		}
		done += n;
		t = now() - t0;
	} while (t < secs);
	return (double)done / t;
}

static double
batch_rate(struct udc_workq *wq, struct work *w, size_t n, double secs)
{
	double t0 = now(), t;
	size_t done = 0, bad;

	do {
		if (udc_blind_batch(wq, w->s, w->points, n, &bad) != 0) {
			fprintf(stderr, "bench_crypto: bad point at %zu\n", bad);
			exit(1);
		}
		done += n;
		t = now() - t0;
	} while (t < secs);
	return (double)done / t;
}

int
main(int argc, char **argv)
{
	enum { N = 20000 };
	struct udc_workq *wq = NULL;
	struct udc_scalar *s = NULL;
	struct work w = {0};
	double secs = argc > 1 ? atof(argv[1]) : 2.0;
	double h1, hn, b1, bn, bb1, bbn;
	unsigned width;
	int rv = 1;

	if (secs <= 0)
		secs = 2.0;
	if (sodium_init() < 0 || udc_scalar_new(&s) != 0 || udc_workq_new(&wq, 0) != 0) {
		fprintf(stderr, "bench_crypto: setup failed\n");
		goto out;
	}
	if ((w.points = malloc((size_t)N * UDC_POINT_BYTES)) == NULL)
		goto out;
	w.s = s;
	width = udc_workq_width(wq);

	h1 = rate(NULL, hash_range, &w, N, secs);
	hn = rate(wq, hash_range, &w, N, secs);
	hash_range(&w, 0, N);
	b1 = rate(NULL, blind_range, &w, N, secs);
	bn = rate(wq, blind_range, &w, N, secs);
	bb1 = batch_rate(NULL, &w, N, secs);
	bbn = batch_rate(wq, &w, N, secs);

	printf("bench_crypto: libsodium %s, %u threads (workq width), %.1f s per figure\n",
	       sodium_version_string(), width, secs);
	printf("%-34s %12s %12s %8s\n", "operation", "1 core/s", "all cores/s", "speedup");
	printf("%-34s %12.0f %12.0f %8.2f\n", "hash-to-group (SHA-512+from_hash)", h1, hn, hn / h1);
	printf("%-34s %12.0f %12.0f %8.2f\n", "udc_blind (validate+scalarmult)", b1, bn, bn / b1);
	printf("%-34s %12.0f %12.0f %8.2f\n", "udc_blind_batch over workq", bb1, bbn, bbn / bb1);
	rv = 0;
out:
	free(w.points);
	udc_workq_free(wq);
	udc_scalar_free(s);
	return rv;
}
