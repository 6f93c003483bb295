/*
 * bench_group_timing.c - a dudect-style timing comparison of the scalar
 * multiplication: a fixed scalar against random ones, Welch's t.
 *
 * Second line of evidence for constant time, after valgrind on the portable
 * build (test_group_ct): here the build that runs, for every vector backend
 * this CPU executes (ifma and ifma256 on an AVX-512 IFMA machine, portable
 * always), with libsodium measured the same way as a yardstick for the
 * machine's noise.  The fixed scalar is 2^252: 63 of its 64 radix-16 digits
 * are zero, the case a shortcut on zero digits would make fast.  Classes
 * are interleaved at random over the same eight points, every input drawn
 * before the clock starts.  |t| above 4.5 is the usual dudect threshold for
 * "a difference"; on a shared machine noise alone crosses it at times, so
 * this is a tool that reports t, not a test that gates on it.
 *
 *   bench_group_timing [SECONDS] [BACKEND...]   default 10 s per backend,
 *                                               every backend this CPU runs
 *   bench_group_timing --smoke                  0.3 s each (ctest: the tool
 *                                               works, and says what it did
 *                                               not measure and why)
 *
 * A backend this CPU cannot execute is named with the reason, never
 * silently left out.  Exit status: 0, or 1 if a timed multiplication's
 * output differs from libsodium's (checked outside the timed region) or
 * the arguments are wrong; never the t statistic.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "group_batch.h"

static double
now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Welch's t over the samples of both classes below limit. */
static double
welch(const double *t, const unsigned char *cls, size_t n, double limit, size_t *used)
{
	double sum[2] = {0, 0}, sq[2] = {0, 0}, cnt[2] = {0, 0}, mean[2], var[2];

	for (size_t i = 0; i < n; i++) {
		if (t[i] > limit)
			continue;
		sum[cls[i]] += t[i];
		cnt[cls[i]] += 1;
	}
	for (int c = 0; c < 2; c++)
		mean[c] = cnt[c] > 0 ? sum[c] / cnt[c] : 0;
	for (size_t i = 0; i < n; i++) {
		if (t[i] > limit)
			continue;
		sq[cls[i]] += (t[i] - mean[cls[i]]) * (t[i] - mean[cls[i]]);
	}
	for (int c = 0; c < 2; c++)
		var[c] = cnt[c] > 1 ? sq[c] / (cnt[c] - 1) : 0;
	*used = (size_t)(cnt[0] + cnt[1]);
	if (cnt[0] < 2 || cnt[1] < 2 || var[0] + var[1] == 0)
		return 0;
	return (mean[0] - mean[1]) / sqrt(var[0] / cnt[0] + var[1] / cnt[1]);
}

/* The timed calls' outputs for the first samples, against libsodium. */
static int
outputs_agree(int b, size_t lanes, uint8_t (*scal)[32], size_t n, const uint8_t *pts)
{
	uint8_t out[UDC_GROUP_BATCH * 32], ok[UDC_GROUP_BATCH], want[32];

	for (size_t i = 0; i < n && i < 32; i++) {
		udc_group_mul(b, out, ok, scal[i], pts, lanes);
		for (size_t l = 0; l < lanes; l++) {
			int wok = crypto_scalarmult_ristretto255(want, scal[i], pts + l * 32) == 0;

			if (ok[l] != wok || (wok && memcmp(out + l * 32, want, 32) != 0)) {
				printf("%-10s FAIL: sample %zu lane %zu differs from libsodium\n",
				       udc_group_backend_name(b), i, l);
				return 0;
			}
		}
	}
	return 1;
}

static int
measure(int b, size_t lanes, double seconds)
{
	enum { MAX = 100000 };
	static double t[MAX], sorted[MAX];
	static unsigned char cls[MAX];
	static uint8_t scal[MAX][32];
	uint8_t pts[UDC_GROUP_BATCH * 32], out[UDC_GROUP_BATCH * 32], ok[UDC_GROUP_BATCH];
	uint8_t h[UDC_GROUP_BATCH * 64], fixed[32] = {0};
	double start, m[2] = {0, 0}, c[2] = {0, 0}, t_all, t_90, t_50;
	size_t n = 0, u_all, u_90, u_50;
	int rv;

	/* Every input drawn before the clock starts, as dudect does: drawing
	 * a random scalar just before a measurement would warm the caches for
	 * one class only. */
	fixed[31] = 0x10; /* 2^252 */
	randombytes_buf(h, sizeof(h));
	for (size_t i = 0; i < UDC_GROUP_BATCH; i++)
		crypto_core_ristretto255_from_hash(pts + i * 32, h + i * 64);
	randombytes_buf(cls, sizeof(cls));
	randombytes_buf(scal, sizeof(scal));
	for (size_t i = 0; i < MAX; i++) {
		cls[i] &= 1;
		if (cls[i] == 0)
			memcpy(scal[i], fixed, 32);
	}
	udc_group_mul(b, out, ok, fixed, pts, lanes); /* warm up */
	start = now_ns();
	while (n < MAX && (now_ns() - start) < seconds * 1e9) {
		double t0, t1;

		t0 = now_ns();
		udc_group_mul(b, out, ok, scal[n], pts, lanes);
		t1 = now_ns();
		t[n] = t1 - t0;
		m[cls[n]] += t[n];
		c[cls[n]] += 1;
		n++;
	}
	memcpy(sorted, t, n * sizeof(double));
	qsort(sorted, n, sizeof(double), cmp_double);
	t_all = welch(t, cls, n, sorted[n - 1], &u_all);
	t_90 = welch(t, cls, n, sorted[n * 9 / 10], &u_90);
	t_50 = welch(t, cls, n, sorted[n / 2], &u_50);
	printf("%-10s %zu lane(s): %zu samples, mean %.1f us fixed / %.1f us random; "
	       "t = %.2f (all), %.2f (below 90th pct), %.2f (below median)  %s\n",
	       udc_group_backend_name(b), lanes, n, c[0] ? m[0] / c[0] / 1e3 : 0,
	       c[1] ? m[1] / c[1] / 1e3 : 0, t_all, t_90, t_50,
	       fabs(t_all) < 4.5 && fabs(t_90) < 4.5 && fabs(t_50) < 4.5
	           ? "no evidence of a difference"
	           : "|t| >= 4.5: a difference (noise or leak)");
	rv = outputs_agree(b, lanes, scal, n, pts);
	sodium_memzero(scal, sizeof(scal));
	return rv;
}

int
main(int argc, char **argv)
{
	double seconds = 10.0;
	int chosen[UDC_GROUP_NBACKENDS], nchosen = 0, rc = 0, argi = 1;

	if (sodium_init() < 0)
		return 1;
	if (argc > 1 && strcmp(argv[1], "--smoke") == 0) {
		seconds = 0.3;
		argi = 2;
	} else if (argc > 1 && atof(argv[1]) > 0) {
		seconds = atof(argv[1]);
		argi = 2;
	}
	for (; argi < argc; argi++) {
		int b;

		if (udc_group_backend_parse(argv[argi], &b) != 0 || b == UDC_GROUP_AUTO) {
			fprintf(stderr,
			        "bench_group_timing: %s: not a backend (libsodium, portable, ifma, "
			        "ifma256)\n",
			        argv[argi]);
			return 1;
		}
		chosen[nchosen++] = b;
	}
	if (nchosen == 0) {
		chosen[nchosen++] = UDC_GROUP_IFMA;
		chosen[nchosen++] = UDC_GROUP_IFMA256;
		chosen[nchosen++] = UDC_GROUP_PORTABLE;
		chosen[nchosen++] = UDC_GROUP_LIBSODIUM;
	}
	printf("bench_group_timing: dudect-style, fixed scalar 2^252 against random scalars, "
	       "Welch's t, %.1f s per backend; INFORMATIONAL: t is reported, never gated on\n",
	       seconds);
	for (int i = 0; i < nchosen; i++) {
		int b = chosen[i];

		if (!udc_group_backend_runs(b)) {
			printf("%-10s NOT MEASURED: this CPU does not execute it (needs AVX-512F + "
			       "IFMA%s, with the OS saving the zmm state); run bench_group_timing "
			       "on an IFMA machine (Ice Lake or later Xeon, Zen 4 or later EPYC)\n",
			       udc_group_backend_name(b), b == UDC_GROUP_IFMA256 ? " + VL" : "");
			continue;
		}
		if (!measure(b, b == UDC_GROUP_LIBSODIUM ? 1 : udc_group_backend_lanes(b), seconds))
			rc = 1;
	}
	return rc;
}
