/*
 * bench_fuzzy.c - how fast the fuzzy-mode matcher links, on every core.
 *
 * Synthetic CLKs that look like real ones: B holds random 1024-bit filters
 * with about 30% of bits set; 60% of A are noisy copies of distinct B records
 * (each bit flipped with a probability of 0-4%, the planted pairs) and 40%
 * are unrelated filters.  Prints the wall time of udc_fuzzy_link (index,
 * scoring, 1:1 resolution), comparisons per second per core, the blocking
 * reduction and the recall of the planted pairs; then the raw Dice kernel
 * speed (one query against an array) for comparison.
 * Usage: bench_fuzzy [n_a [n_b [threshold [lsh|exhaustive]]]].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "dice.h"
#include "err.h"
#include "fuzzy.h"
#include "workq.h"

#define NBITS 1024

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* Each bit set with probability p (to 1/65536). */
static void
random_filter(uint64_t *f, double p, uint64_t *s)
{
	uint32_t lim = (uint32_t)(p * 65536.0);
	size_t i, j;

	for (i = 0; i < NBITS / 64; i++) {
		uint64_t w = 0;

		for (j = 0; j < 64; j += 4) {
			uint64_t r = rnd(s);
			unsigned m;

			for (m = 0; m < 4; m++)
				if (((r >> (16 * m)) & 0xffff) < lim)
					w |= 1ULL << (j + m);
		}
		f[i] = w;
	}
}

static void
print_cpu(void)
{
	FILE *f = fopen("/proc/cpuinfo", "r");
	char line[512];

	if (f == NULL)
		return;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "model name", 10) == 0) {
			printf("cpu: %s", strchr(line, ':') != NULL ? strchr(line, ':') + 2 : line);
			break;
		}
	fclose(f);
}

int
main(int argc, char **argv)
{
	size_t n_a = argc > 1 ? strtoul(argv[1], NULL, 10) : 100000;
	size_t n_b = argc > 2 ? strtoul(argv[2], NULL, 10) : 100000;
	double t = argc > 3 ? atof(argv[3]) : UDC_FUZZY_DEFAULT_THRESHOLD;
	int exhaustive = argc > 4 && strcmp(argv[4], "exhaustive") == 0;
	size_t nw = NBITS / 64, i, j, planted = 0, found = 0, wrong = 0;
	uint64_t *a = NULL, *b = NULL, s = 2024;
	int64_t *truth = NULL;
	uint32_t *perm = NULL, *cnt = NULL;
	struct udc_workq *wq = NULL;
	struct udc_fuzzy_params p;
	struct udc_fuzzy_result *r = NULL;
	unsigned width;
	double t0, secs, k0, ksecs;
	int rv = 1;

	if (n_a == 0 || n_b == 0 || n_a > n_b) {
		fprintf(stderr, "usage: bench_fuzzy [n_a [n_b [threshold [lsh|exhaustive]]]], "
		                "0 < n_a <= n_b\n");
		return 2;
	}
	if ((a = malloc(n_a * nw * 8)) == NULL || (b = malloc(n_b * nw * 8)) == NULL ||
	    (truth = malloc(n_a * sizeof(*truth))) == NULL ||
	    (perm = malloc(n_b * sizeof(*perm))) == NULL ||
	    (cnt = malloc(n_b * sizeof(*cnt))) == NULL) {
		fprintf(stderr, "out of memory\n");
		goto out;
	}
	for (i = 0; i < n_b; i++) {
		random_filter(b + i * nw, 0.3, &s);
		perm[i] = (uint32_t)i;
	}
	for (i = n_b; i > 1; i--) {
		uint32_t x;

		j = rnd(&s) % i;
		x = perm[i - 1];
		perm[i - 1] = perm[j];
		perm[j] = x;
	}
	for (i = 0; i < n_a; i++) {
		if (rnd(&s) % 100 < 60) {
			double flip = (double)(rnd(&s) % 401) / 10000.0; /* 0 .. 4% */
			uint64_t mask[NBITS / 64];

			random_filter(mask, flip, &s);
			for (j = 0; j < nw; j++)
				a[i * nw + j] = b[(size_t)perm[i] * nw + j] ^ mask[j];
			truth[i] = perm[i];
			planted++;
		} else {
			random_filter(a + i * nw, 0.3, &s);
			truth[i] = -1;
		}
	}

	if ((rv = udc_workq_new(&wq, 0)) != 0) {
		fprintf(stderr, "workq: %s\n", udc_strerror(rv));
		goto out;
	}
	width = udc_workq_width(wq);
	print_cpu();
	printf("dice path: %s; threads: %u\n", udc_dice_impl_name(udc_dice_selected()), width);

	udc_fuzzy_params_default(&p);
	p.threshold = t;
	p.blocking = exhaustive ? UDC_FUZZY_EXHAUSTIVE : UDC_FUZZY_AUTO;
	t0 = now();
	if ((rv = udc_fuzzy_link(&r, &p, wq, a, n_a, b, n_b, NBITS)) != 0) {
		fprintf(stderr, "udc_fuzzy_link: %s\n", udc_strerror(rv));
		goto out;
	}
	secs = now() - t0;
	for (i = 0; i < n_a; i++) {
		if (truth[i] >= 0 && r->link[i] == truth[i])
			found++;
		else if (r->link[i] >= 0)
			wrong++;
	}
	printf("%zu x %zu, threshold %.2f, %u-bit filters\n", n_a, n_b, t, NBITS);
	printf("wall time        %.2f s (index %.2f, score %.2f, resolve %.2f)\n", secs,
	       r->stats.secs_index, r->stats.secs_score, r->stats.secs_resolve);
	printf("blocking         %s k=%u L=%u design popcount %u (Hamming <= %u, "
	       "P(found at threshold) %.5f, outliers %zu + %zu)\n",
	       r->stats.blocking == UDC_FUZZY_LSH ? "lsh" : "exhaustive", r->stats.lsh_bits,
	       r->stats.lsh_tables, r->stats.design_popcount, r->stats.hamming_design,
	       r->stats.lsh_pair_recall, r->stats.outliers_a, r->stats.outliers_b);
	printf("pairs            %llu total, %llu candidates, %llu pruned by popcount, "
	       "%llu compared, %llu >= threshold\n",
	       (unsigned long long)r->stats.pairs_total, (unsigned long long)r->stats.candidates,
	       (unsigned long long)r->stats.size_pruned, (unsigned long long)r->stats.compared,
	       (unsigned long long)r->stats.above_threshold);
	printf("reduction        %.0fx fewer comparisons than all pairs\n", r->stats.reduction);
	printf("throughput       %.1f M compared pairs/s/core; %.1f M pairs covered/s/core\n",
	       (double)r->stats.compared / secs / width / 1e6,
	       (double)r->stats.pairs_total / secs / width / 1e6);
	printf("links            %zu (planted %zu, recovered %zu, recall %.4f, other links %zu, "
	       "requeries %llu)\n",
	       r->nlinks, planted, found, planted ? (double)found / (double)planted : 1.0, wrong,
	       (unsigned long long)r->stats.requeries);
	printf("bands           ");
	for (i = 0; i < UDC_FUZZY_NBANDS; i++)
		printf(" [%.2f,%.2f%c %zu", r->band_lo[i], r->band_lo[i + 1],
		       i + 1 == UDC_FUZZY_NBANDS ? ']' : ')', r->band[i]);
	printf("\n");

	/* the raw kernel, one core: one query against all of B, repeatedly */
	k0 = now();
	for (i = 0; i < 50 || now() - k0 < 1.0; i++)
		udc_dice_and_counts(a + (i % n_a) * nw, b, n_b, nw, cnt);
	ksecs = now() - k0;
	printf("dice kernel      %.0f M comparisons/s on one core (1 x %zu, streaming B)\n",
	       (double)i * (double)n_b / ksecs / 1e6, n_b);
	rv = 0;
out:
	udc_fuzzy_result_free(r);
	udc_workq_free(wq);
	free(a);
	free(b);
	free(truth);
	free(perm);
	free(cnt);
	return rv == 0 ? 0 : 1;
}
