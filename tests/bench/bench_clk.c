/*
 * bench_clk.c - how fast fuzzy mode encodes and compares, on one core.
 *
 * Prints CLK encodings per second (clkhash tutorial schema: blakeHash; and
 * the mixed schema: doubleHash) and Dice comparisons per second for every
 * Dice code path this CPU can run, one query against an array of 1024-bit
 * filters (counts only, and counts turned into scores).  Figures are per
 * core: matching splits the array over cores.
 * Usage: bench_clk [seconds per figure].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "clk.h"
#include "dice.h"
#include "err.h"

#ifndef UDC_BENCH_VECTORS
#define UDC_BENCH_VECTORS "tests/vectors/clkhash"
#endif

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static volatile uint32_t sink;

static int
bench_encode(const char *schema_file, const char *secret, const char *const *rec, size_t nrec,
             double secs)
{
	char path[4096], err[512];
	struct udc_clk_schema *s = NULL;
	struct udc_clk_encoder *e = NULL;
	const char *vals[32];
	char name[64];
	uint8_t out[512];
	size_t n = 0, i;
	double t0, t;
	int rv;

	snprintf(path, sizeof(path), "%s/%s", UDC_BENCH_VECTORS, schema_file);
	if ((rv = udc_clk_schema_load(&s, path, err, sizeof(err))) != 0 ||
	    (rv = udc_clk_encoder_new(&e, s, (const uint8_t *)secret, strlen(secret), err,
	                              sizeof(err))) != 0) {
		fprintf(stderr, "bench_clk: %s\n", err);
		udc_clk_schema_free(s);
		return rv;
	}
	for (i = 0; i < nrec && i < 32; i++)
		vals[i] = rec[i];
	t0 = now();
	do {
		/* a different given name each time: no caching anywhere helps */
		for (i = 0; i < 1000; i++, n++) {
			snprintf(name, sizeof(name), "michaela%zu", n % 100000);
			vals[1] = name;
			if ((rv = udc_clk_encode(e, vals, nrec, out, sizeof(out), NULL, err,
			                         sizeof(err))) != 0) {
				fprintf(stderr, "bench_clk: %s\n", err);
				goto out;
			}
			sink += out[0];
		}
		t = now() - t0;
	} while (t < secs);
	printf("encode %-22s %10.0f records/s (one core)\n", schema_file, (double)n / t);
out:
	udc_clk_encoder_free(e);
	udc_clk_schema_free(s);
	return rv;
}

static void
bench_dice(double secs)
{
	enum { NF = 8192, NW = 16 }; /* 1024-bit filters, 1 MiB: fits in L2 */
	uint64_t *f = malloc((size_t)NF * NW * sizeof(*f));
	uint32_t *pops = malloc(NF * sizeof(*pops)), *cnt = malloc(NF * sizeof(*cnt));
	double *sc = malloc(NF * sizeof(*sc));
	int impl;
	size_t i;

	if (f == NULL || pops == NULL || cnt == NULL || sc == NULL) {
		fprintf(stderr, "bench_clk: out of memory\n");
		goto out;
	}
	randombytes_buf(f, (size_t)NF * NW * sizeof(*f));
	for (impl = UDC_DICE_PORTABLE; impl < UDC_DICE_NIMPL; impl++) {
		double t0, t, nc = 0, ns = 0;
		size_t q = 0;
		if (!udc_dice_supported((enum udc_dice_impl)impl)) {
			printf("dice   %-22s not supported by this CPU\n",
			       udc_dice_impl_name((enum udc_dice_impl)impl));
			continue;
		}
		udc_dice_select((enum udc_dice_impl)impl);
		udc_dice_popcounts(f, NF, NW, pops);
		t0 = now();
		do {
			for (i = 0; i < 16; i++, q = (q + 1) % NF) {
				udc_dice_and_counts(f + q * NW, f, NF, NW, cnt);
				sink += cnt[q];
			}
			nc += 16.0 * NF;
			t = now() - t0;
		} while (t < secs);
		t0 = now();
		do {
			for (i = 0; i < 16; i++, q = (q + 1) % NF) {
				udc_dice_scores(f + q * NW, pops[q], f, pops, NF, NW, sc);
				sink += (uint32_t)sc[q];
			}
			ns += 16.0 * NF;
		} while (now() - t0 < secs);
		printf(
		    "dice   %-22s %7.1f M and-counts/s, %7.1f M scores/s (1024 bits, one core)\n",
		    udc_dice_impl_name((enum udc_dice_impl)impl), nc / t / 1e6,
		    ns / (now() - t0) / 1e6);
	}
	udc_dice_select(UDC_DICE_AUTO);
out:
	free(f);
	free(pops);
	free(cnt);
	free(sc);
}

int
main(int argc, char **argv)
{
	/* FEBRL row of the tutorial vector; the mixed schema's first row */
	static const char *const tut[] = {
	    "rec-1070-org",  "michaela", "neumann", "8",        "stanley street", "miami",
	    "winston hills", "4223",     "nsw",     "19151111", "5304218"};
	static const char *const mixed[] = {
	    "58345", "naomi", "robson",   "5", "bendigo street", "",        "avalon",
	    "4680",  "tas",   "19010227", "",  "03 68182862",    "8241986", "7"};
	double secs = argc > 1 ? atof(argv[1]) : 1.0;

	if (sodium_init() < 0 || secs <= 0) {
		fprintf(stderr, "usage: bench_clk [seconds per figure]\n");
		return 1;
	}
	if (bench_encode("tutorial_schema.json", "secret", tut, 11, secs) != 0 ||
	    bench_encode("mixed_schema.json", "udc test secret", mixed, 14, secs) != 0)
		return 1;
	bench_dice(secs);
	return 0;
}
