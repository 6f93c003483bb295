/*
 * test_fuzzy.c - the fuzzy-mode matcher (common/fuzzy/fuzzy.c).
 *
 * Checks that blocking loses nothing against exhaustive comparison (random
 * and clustered filters), that links are 1:1, best first and above the
 * threshold (against a brute-force greedy over every pair), that the topk
 * bound changes nothing, field scoring against a bit-by-bit reference, and
 * linkage quality on FEBRL data and on the anonlink tutorial data (alice/bob,
 * 1458 true matches by id) with record and field scoring: precision and
 * recall over a range of thresholds, at the default threshold, and the share
 * of true links lost by blocking.
 * UDC_FUZZY_TEST_SCALE (default 1) divides the synthetic set sizes, for
 * valgrind runs.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "clk.h"
#include "csv.h"
#include "dice.h"
#include "err.h"
#include "fuzzy.h"
#include "scoremodel.h"
#include "workq.h"

static struct udc_workq *wq;
static size_t scale = 1;
/* filters per record: 1 = record scoring, n > 1 = field scoring (run(),
 * the brute-force reference and check_links() follow it) */
static unsigned segs = 1;
/* the feature join's plan (field scoring): any, single features, pairs */
static enum udc_fuzzy_join_form jform = UDC_FUZZY_JOIN_ANY;

static uint64_t
rnd(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static void
random_filter(uint64_t *f, size_t nbits, double density, uint64_t *s)
{
	size_t i;

	memset(f, 0, udc_dice_nwords(nbits) * 8);
	for (i = 0; i < nbits; i++)
		if ((double)(rnd(s) >> 11) / 9007199254740992.0 < density)
			f[i / 64] |= 1ULL << (i % 64);
}

/* dst = src with each bit flipped with probability rate. */
static void
noisy_copy(uint64_t *dst, const uint64_t *src, size_t nbits, double rate, uint64_t *s)
{
	size_t i;

	memcpy(dst, src, udc_dice_nwords(nbits) * 8);
	for (i = 0; i < nbits; i++)
		if ((double)(rnd(s) >> 11) / 9007199254740992.0 < rate)
			dst[i / 64] ^= 1ULL << (i % 64);
}

struct pair {
	double score;
	uint32_t a, b;
};

static int
pair_cmp(const void *x, const void *y)
{
	const struct pair *p = x, *q = y;

	if (p->score != q->score)
		return p->score > q->score ? -1 : 1;
	if (p->a != q->a)
		return p->a < q->a ? -1 : 1;
	return (p->b > q->b) - (p->b < q->b);
}

/* A pair's score by definition.  Field scoring, computed bit by bit: Dice
 * over the segments that have a bit set in both filters, 0 unless those
 * segments hold at least a third of the bits of each filter. */
static double
ref_score(const uint64_t *x, const uint64_t *y, size_t nbits)
{
	size_t nw = udc_dice_nwords(nbits), sb = nbits / (segs ? segs : 1), s, i;
	unsigned and = 0, px = 0, py = 0, tx = 0, ty = 0;

	if (segs <= 1)
		return udc_dice(x, y, nw);
	for (i = 0; i < nbits; i++) {
		tx += (unsigned)(x[i / 64] >> (i % 64)) & 1;
		ty += (unsigned)(y[i / 64] >> (i % 64)) & 1;
	}
	for (s = 0; s < segs; s++) {
		unsigned a1 = 0, b1 = 0, ab = 0;

		for (i = s * sb; i < (s + 1) * sb; i++) {
			int bx = (int)(x[i / 64] >> (i % 64)) & 1, by = (int)(y[i / 64] >> (i % 64)) & 1;

			a1 += (unsigned)bx;
			b1 += (unsigned)by;
			ab += (unsigned)(bx & by);
		}
		if (a1 == 0 || b1 == 0)
			continue;
		and += ab;
		px += a1;
		py += b1;
	}
	/* coverage: the shared segments hold at least a third of each filter */
	if (px == 0 || 3 * px < tx || 3 * py < ty)
		return 0.0;
	return 2.0 * and / (double)(px + py);
}

/* Greedy 1:1 over every pair, the definition the matcher must meet. */
static int64_t *
brute_greedy(const uint64_t *a, size_t n_a, const uint64_t *b, size_t n_b, size_t nbits, double t)
{
	size_t nw = udc_dice_nwords(nbits), i, j, np = 0, cap = 1024;
	struct pair *ps = malloc(cap * sizeof(*ps));
	int64_t *link = malloc(n_a * sizeof(*link));
	uint8_t *taken = calloc(n_b, 1);

	assert_non_null(ps);
	assert_non_null(link);
	assert_non_null(taken);
	for (i = 0; i < n_a; i++) {
		link[i] = -1;
		for (j = 0; j < n_b; j++) {
			double s = ref_score(a + i * nw, b + j * nw, nbits);

			if (s < t)
				continue;
			if (np == cap) {
				cap *= 2;
				ps = realloc(ps, cap * sizeof(*ps));
				assert_non_null(ps);
			}
			ps[np++] = (struct pair){s, (uint32_t)i, (uint32_t)j};
		}
	}
	qsort(ps, np, sizeof(*ps), pair_cmp);
	for (i = 0; i < np; i++)
		if (link[ps[i].a] < 0 && !taken[ps[i].b]) {
			link[ps[i].a] = ps[i].b;
			taken[ps[i].b] = 1;
		}
	free(ps);
	free(taken);
	return link;
}

static struct udc_fuzzy_result *
run(const uint64_t *a, size_t n_a, const uint64_t *b, size_t n_b, size_t nbits, double t,
    enum udc_fuzzy_blocking blocking, unsigned topk, int size_filter, struct udc_workq *q)
{
	struct udc_fuzzy_params p;
	struct udc_fuzzy_result *r = NULL;

	udc_fuzzy_params_default(&p);
	p.threshold = t;
	p.blocking = blocking;
	p.topk = topk;
	p.size_filter = size_filter;
	p.segments = segs;
	p.join_form = jform;
	assert_int_equal(udc_fuzzy_link(&r, &p, q, a, n_a, b, n_b, nbits), 0);
	assert_non_null(r);
	return r;
}

/* 1:1, threshold respected, scores true, bands add up. */
static void
check_links(const struct udc_fuzzy_result *r, const uint64_t *a, const uint64_t *b, size_t n_b,
            size_t nbits, double t)
{
	size_t nw = udc_dice_nwords(nbits), i, n = 0, bands = 0;
	uint8_t *seen = calloc(n_b ? n_b : 1, 1);

	assert_non_null(seen);
	for (i = 0; i < r->n_a; i++) {
		if (r->link[i] < 0)
			continue;
		assert_true(r->link[i] < (int64_t)n_b);
		assert_false(seen[r->link[i]]);
		seen[r->link[i]] = 1;
		assert_true(r->score[i] >= t);
		assert_true(r->score[i] == ref_score(a + i * nw, b + (size_t)r->link[i] * nw, nbits));
		n++;
	}
	assert_int_equal(n, r->nlinks);
	for (i = 0; i < UDC_FUZZY_NBANDS; i++)
		bands += r->band[i];
	assert_int_equal(bands, n);
	free(seen);
}

static void
assert_same_links(const struct udc_fuzzy_result *x, const struct udc_fuzzy_result *y)
{
	size_t i, diff = 0;

	assert_int_equal(x->n_a, y->n_a);
	for (i = 0; i < x->n_a; i++)
		if (x->link[i] != y->link[i] || x->score[i] != y->score[i])
			diff++;
	if (diff != 0)
		print_message("%zu of %zu links differ\n", diff, x->n_a);
	assert_int_equal(diff, 0);
}

static void
print_stats(const char *what, const struct udc_fuzzy_result *r)
{
	const struct udc_fuzzy_stats *s = &r->stats;

	print_message("%s: %zu links; blocking %s k=%u L=%u design popcount %u (h<=%u, "
	              "P(found)=%.5f, outliers %zu/%zu); compared %llu of %llu (x%.1f), "
	              "requeries %llu\n",
	              what, r->nlinks, s->blocking == UDC_FUZZY_LSH ? "lsh" : "exhaustive",
	              s->lsh_bits, s->lsh_tables, s->design_popcount, s->hamming_design,
	              s->lsh_pair_recall, s->outliers_a, s->outliers_b,
	              (unsigned long long)s->compared, (unsigned long long)s->pairs_total,
	              s->reduction, (unsigned long long)s->requeries);
}

/*
 * Clustered data: nfam base filters; B holds several near variants of each
 * base (so one A record has many candidates above the threshold and the topk
 * overflow), A holds one more variant of every base, a second one of some
 * (two A records compete for a family) and unrelated filters.
 */
static void
make_clustered(uint64_t **a, size_t *n_a, uint64_t **b, size_t *n_b, size_t nbits, size_t nfam,
               unsigned per_fam, uint64_t seed)
{
	size_t nw = udc_dice_nwords(nbits), i, j;
	uint64_t s = seed, *base = malloc(nfam * nw * 8);

	*n_b = nfam * per_fam;
	*n_a = nfam + nfam / 2;
	*a = malloc(*n_a * nw * 8);
	*b = malloc(*n_b * nw * 8);
	assert_non_null(base);
	assert_non_null(*a);
	assert_non_null(*b);
	for (i = 0; i < nfam; i++) {
		random_filter(base + i * nw, nbits, 0.2 + 0.2 * (double)(i % 7) / 6.0, &s);
		for (j = 0; j < per_fam; j++)
			noisy_copy(*b + (i * per_fam + j) * nw, base + i * nw, nbits,
			           0.01 + 0.02 * (double)j, &s);
	}
	for (i = 0; i < *n_a; i++) {
		if (i < nfam)
			noisy_copy(*a + i * nw, base + i * nw, nbits, 0.02 + 0.01 * (double)(i % 5),
			           &s);
		else if (i % 2 == 0) /* a second A record competing for the family */
			noisy_copy(*a + i * nw, base + (i * 7 % nfam) * nw, nbits, 0.03, &s);
		else
			random_filter(*a + i * nw, nbits, 0.3, &s);
	}
	free(base);
}

/* Planted pairs: B random, A = noisy copies of some B plus unrelated. */
static void
make_random(uint64_t **a, size_t n_a, uint64_t **b, size_t n_b, size_t nbits, double flip,
            uint64_t seed)
{
	size_t nw = udc_dice_nwords(nbits), i;
	uint64_t s = seed;

	*a = malloc(n_a * nw * 8);
	*b = malloc(n_b * nw * 8);
	assert_non_null(*a);
	assert_non_null(*b);
	for (i = 0; i < n_b; i++)
		random_filter(*b + i * nw, nbits, 0.3, &s);
	for (i = 0; i < n_a; i++) {
		if (i % 5 < 3)
			noisy_copy(*a + i * nw, *b + (rnd(&s) % n_b) * nw, nbits,
			           flip * (double)(rnd(&s) % 100) / 50.0, &s);
		else
			random_filter(*a + i * nw, nbits, 0.3, &s);
	}
}

static void
test_matches_brute_force(void **state)
{
	static const unsigned topks[] = {1, 2, 8, UDC_FUZZY_MAX_TOPK};
	size_t nbits = 256, n_a, n_b, i, k;
	uint64_t *a, *b;
	int64_t *ref;
	double t = 0.8;

	(void)state;
	make_clustered(&a, &n_a, &b, &n_b, nbits, 120 / scale + 8, 5, 42);
	ref = brute_greedy(a, n_a, b, n_b, nbits, t);
	for (k = 0; k < sizeof(topks) / sizeof(topks[0]); k++) {
		struct udc_fuzzy_result *rl, *re, *rn;

		rl = run(a, n_a, b, n_b, nbits, t, UDC_FUZZY_LSH, topks[k], 1, wq);
		re = run(a, n_a, b, n_b, nbits, t, UDC_FUZZY_EXHAUSTIVE, topks[k], 1, NULL);
		rn = run(a, n_a, b, n_b, nbits, t, UDC_FUZZY_EXHAUSTIVE, topks[k], 0, wq);
		for (i = 0; i < n_a; i++) {
			assert_int_equal(re->link[i], ref[i]);
			assert_int_equal(rn->link[i], ref[i]);
		}
		assert_same_links(rl, re);
		check_links(rl, a, b, n_b, nbits, t);
		if (topks[k] == 1)
			assert_true(rl->stats.requeries > 0);
		udc_fuzzy_result_free(rl);
		udc_fuzzy_result_free(re);
		udc_fuzzy_result_free(rn);
	}
	free(ref);
	free(a);
	free(b);
}

static void
test_blocked_equals_exhaustive_random(void **state)
{
	size_t nbits = 1024, n_a = 4000 / scale, n_b = 4000 / scale;
	static const double ts[] = {0.7, 0.8, 0.9};
	uint64_t *a, *b;
	size_t i;

	(void)state;
	make_random(&a, n_a, &b, n_b, nbits, 0.04, 7);
	for (i = 0; i < 3; i++) {
		struct udc_fuzzy_result *rl, *re, *r1;

		rl = run(a, n_a, b, n_b, nbits, ts[i], UDC_FUZZY_LSH, 8, 1, wq);
		r1 = run(a, n_a, b, n_b, nbits, ts[i], UDC_FUZZY_LSH, 8, 1, NULL);
		re = run(a, n_a, b, n_b, nbits, ts[i], UDC_FUZZY_EXHAUSTIVE, 8, 1, wq);
		print_stats("random lsh", rl);
		assert_int_equal(rl->stats.blocking, UDC_FUZZY_LSH);
		assert_true(rl->stats.lsh_pair_recall >= 0.999);
		assert_true(rl->stats.compared < rl->stats.pairs_total / (ts[i] < 0.75 ? 2 : 10));
		assert_same_links(rl, re);
		assert_same_links(rl, r1); /* one thread or two: the same result */
		check_links(rl, a, b, n_b, nbits, ts[i]);
		udc_fuzzy_result_free(rl);
		udc_fuzzy_result_free(r1);
		udc_fuzzy_result_free(re);
	}
	free(a);
	free(b);
}

/*
 * Records of widely spread popcounts (150 to 560 of 1024 bits), each A record
 * an edit of its B record just at the threshold: bits swapped (same
 * popcount), bits removed (A smaller) or bits added (A larger), as many as
 * the threshold allows.  A record probes (and a B record is put in) only the
 * tables its popcount needs, so this is where too few tables would lose
 * pairs: every planted pair must be found as often as the recall promises
 * (0.999 a pair; 0.995 asked of 3,000 pairs), and the small records must
 * probe fewer tables than the design's.
 */
static void
test_lsh_popcount_spread(void **state)
{
	size_t nbits = 1024, nw = udc_dice_nwords(nbits), n = 3000 / scale, i, found = 0, planted;
	double t = 0.8;
	uint64_t s = 41, *a = malloc(n * nw * 8), *b = malloc(n * nw * 8);
	struct udc_fuzzy_result *rl, *re;

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	for (i = 0; i < n; i++) {
		uint64_t *x = a + i * nw, *y = b + i * nw;
		uint32_t p, e = 0, kind = (uint32_t)(i % 3), px, py, and;
		size_t pos;

		random_filter(y, nbits, 0.15 + 0.4 * (double)(i % 41) / 40.0, &s);
		memcpy(x, y, nw * 8);
		p = (uint32_t)udc_dice_popcount(y, nw);
		/* the most edits that keep the pair at or above t */
		for (;;) {
			uint32_t k = e + 1;

			px = kind == 1 ? p - k : kind == 2 ? p + k : p;
			and = kind == 2 ? p : p - k;
			if (k >= p || udc_dice_from_counts(and, px, p) < t)
				break;
			e = k;
		}
		/* remove e set bits (kinds 0 and 1), add e clear ones (0 and 2) */
		for (uint32_t r = 0; kind != 2 && r < e;) {
			pos = rnd(&s) % nbits;
			if (x[pos / 64] >> (pos % 64) & 1 && y[pos / 64] >> (pos % 64) & 1) {
				x[pos / 64] &= ~(1ULL << (pos % 64));
				r++;
			}
		}
		for (uint32_t r = 0; kind != 1 && r < e;) {
			pos = rnd(&s) % nbits;
			if (!(y[pos / 64] >> (pos % 64) & 1) && !(x[pos / 64] >> (pos % 64) & 1)) {
				x[pos / 64] |= 1ULL << (pos % 64);
				r++;
			}
		}
		px = (uint32_t)udc_dice_popcount(x, nw);
		py = (uint32_t)udc_dice_popcount(y, nw);
		assert_true(udc_dice(x, y, nw) >= t);
		/* one more edit would have fallen below t: at the threshold */
		assert_true(udc_dice_from_counts(kind == 2 ? py : py - e - 1,
		                                 kind == 1 ? px - 1 : kind == 2 ? px + 1 : px, py) < t);
	}
	rl = run(a, n, b, n, nbits, t, UDC_FUZZY_LSH, 8, 1, wq);
	re = run(a, n, b, n, nbits, t, UDC_FUZZY_EXHAUSTIVE, 8, 1, wq);
	print_stats("popcount spread lsh", rl);
	print_message("  %.1f tables probed per A record of %u\n",
	              (double)rl->stats.lsh_lookups / (double)n, rl->stats.lsh_tables);
	check_links(rl, a, b, n, nbits, t);
	for (i = 0, planted = 0; i < n; i++) {
		planted += re->link[i] == (int64_t)i;
		found += re->link[i] == (int64_t)i && rl->link[i] == (int64_t)i;
	}
	print_message("  %zu of %zu planted pairs found\n", found, planted);
	assert_true(planted >= n * 99 / 100);
	assert_true((double)found >= 0.995 * (double)planted);
	assert_true(rl->stats.compared < rl->stats.pairs_total / 4);
	/* the smallest records need far fewer tables than the design's */
	assert_true(rl->stats.lsh_lookups < (uint64_t)n * rl->stats.lsh_tables * 3 / 4);
	udc_fuzzy_result_free(rl);
	udc_fuzzy_result_free(re);
	free(a);
	free(b);
}

/* The best-match scores the model of threshold = auto is fitted to: the
 * largest Dice of each A record over all of B, as a pair by pair scan finds
 * it, empty filters and ties included. */
static void
test_best_scores(void **state)
{
	size_t nbits = 1024, nw = udc_dice_nwords(nbits), n_a = 300, n_b = 1000, i, j;
	uint64_t s = 5, *a = malloc(n_a * nw * 8), *b = malloc(n_b * nw * 8);
	double *best = malloc(n_a * sizeof(*best));

	(void)state;
	assert_non_null(a);
	assert_non_null(b);
	assert_non_null(best);
	for (i = 0; i < n_b; i++)
		random_filter(b + i * nw, nbits, i % 97 == 0 ? 0.0 : 0.05 + 0.4 * (double)(i % 13) / 12,
		              &s);
	for (i = 0; i < n_a; i++)
		if (i % 3 == 0)
			noisy_copy(a + i * nw, b + (rnd(&s) % n_b) * nw, nbits, 0.05, &s);
		else if (i % 3 == 1) /* an exact copy: a tie at 1.0 with duplicates */
			memcpy(a + i * nw, b + (i % n_b) * nw, nw * 8);
		else
			random_filter(a + i * nw, nbits, i % 50 == 2 ? 0.0 : 0.3, &s);
	memcpy(b + 7 * nw, b + 1 * nw, nw * 8);
	assert_int_equal(udc_fuzzy_best_scores(a, n_a, b, n_b, nbits, 1, n_a, 3, wq, best), 0);
	for (i = 0; i < n_a; i++) {
		double m = 0;

		for (j = 0; j < n_b; j++) {
			double d = udc_dice(a + i * nw, b + j * nw, nw);

			m = d > m ? d : m;
		}
		assert_true(best[i] == m);
	}
	free(a);
	free(b);
	free(best);
}

static void
test_blocked_equals_exhaustive_clustered(void **state)
{
	size_t nbits = 1024, n_a, n_b;
	uint64_t *a, *b;
	struct udc_fuzzy_result *rl, *re, *rk;

	(void)state;
	make_clustered(&a, &n_a, &b, &n_b, nbits, 1500 / scale, 6, 99);
	rl = run(a, n_a, b, n_b, nbits, 0.8, UDC_FUZZY_LSH, 8, 1, wq);
	re = run(a, n_a, b, n_b, nbits, 0.8, UDC_FUZZY_EXHAUSTIVE, 8, 1, wq);
	rk = run(a, n_a, b, n_b, nbits, 0.8, UDC_FUZZY_EXHAUSTIVE, 1, 1, wq);
	print_stats("clustered lsh", rl);
	assert_same_links(rl, re);
	assert_same_links(rk, re);
	check_links(rl, a, b, n_b, nbits, 0.8);
	udc_fuzzy_result_free(rl);
	udc_fuzzy_result_free(re);
	udc_fuzzy_result_free(rk);
	free(a);
	free(b);
}

/* Empties each filter segment with probability p: a field missing from the
 * record. */
static void
drop_segments(uint64_t *f, size_t n, size_t nbits, unsigned nseg, double p, uint64_t *s)
{
	size_t nw = udc_dice_nwords(nbits), sw = nbits / nseg / 64, i, k;

	for (i = 0; i < n; i++)
		for (k = 0; k < nseg; k++)
			if ((double)(rnd(s) >> 11) / 9007199254740992.0 < p)
				memset(f + i * nw + k * sw, 0, sw * 8);
}

/* Field scoring: equals record scoring when no field is missing; with
 * missing fields, LSH and exhaustive runs give the greedy 1:1 linkage over
 * the field scores of every pair (computed bit by bit). */
static void
test_fields_matches_brute_force(void **state)
{
	size_t nbits = 4 * 256, n_a, n_b, i;
	uint64_t *a, *b, s = 5;
	int64_t *ref;
	double t = 0.8;
	struct udc_fuzzy_result *rl, *re, *rk, *rr;

	(void)state;
	make_clustered(&a, &n_a, &b, &n_b, nbits, 300 / scale + 8, 5, 43);
	segs = 4;
	re = run(a, n_a, b, n_b, nbits, t, UDC_FUZZY_EXHAUSTIVE, 8, 1, wq);
	segs = 1;
	rr = run(a, n_a, b, n_b, nbits, t, UDC_FUZZY_EXHAUSTIVE, 8, 1, wq);
	assert_true(re->nlinks > 100 / scale);
	assert_same_links(re, rr);
	udc_fuzzy_result_free(re);
	udc_fuzzy_result_free(rr);

	drop_segments(a, n_a, nbits, 4, 0.25, &s);
	drop_segments(b, n_b, nbits, 4, 0.25, &s);
	segs = 4;
	ref = brute_greedy(a, n_a, b, n_b, nbits, t);
	rl = run(a, n_a, b, n_b, nbits, t, UDC_FUZZY_LSH, 8, 1, wq);
	re = run(a, n_a, b, n_b, nbits, t, UDC_FUZZY_EXHAUSTIVE, 8, 1, NULL);
	rk = run(a, n_a, b, n_b, nbits, t, UDC_FUZZY_EXHAUSTIVE, 1, 1, wq);
	print_stats("fields lsh", rl);
	assert_int_equal(rl->stats.blocking, UDC_FUZZY_LSH);
	for (i = 0; i < n_a; i++)
		assert_int_equal(re->link[i], ref[i]);
	assert_same_links(rl, re);
	assert_same_links(rk, re);
	check_links(rl, a, b, n_b, nbits, t);
	/* the same filters scored as one CLK: a missing field counts against
	 * the pair, so fewer links */
	segs = 1;
	rr = run(a, n_a, b, n_b, nbits, t, UDC_FUZZY_EXHAUSTIVE, 8, 1, wq);
	print_message("fields: %zu links, record scoring of the same filters: %zu\n", re->nlinks,
	              rr->nlinks);
	assert_true(rr->nlinks < re->nlinks);
	udc_fuzzy_result_free(rl);
	udc_fuzzy_result_free(re);
	udc_fuzzy_result_free(rk);
	udc_fuzzy_result_free(rr);
	free(ref);
	free(a);
	free(b);
}

/* Field scoring on planted pairs: per-segment LSH cuts the comparisons and
 * loses no link of the exhaustive run, on one thread or two. */
static void
test_fields_blocked_random(void **state)
{
	size_t nbits = 4 * 256, n_a = 4000 / scale, n_b = 4000 / scale;
	uint64_t *a, *b, s = 11;
	struct udc_fuzzy_result *rl, *re, *r1;

	(void)state;
	make_random(&a, n_a, &b, n_b, nbits, 0.04, 8);
	drop_segments(a, n_a, nbits, 4, 0.2, &s);
	drop_segments(b, n_b, nbits, 4, 0.2, &s);
	segs = 4;
	rl = run(a, n_a, b, n_b, nbits, 0.8, UDC_FUZZY_LSH, 8, 1, wq);
	r1 = run(a, n_a, b, n_b, nbits, 0.8, UDC_FUZZY_LSH, 8, 1, NULL);
	re = run(a, n_a, b, n_b, nbits, 0.8, UDC_FUZZY_EXHAUSTIVE, 8, 1, wq);
	print_stats("fields random lsh", rl);
	assert_int_equal(rl->stats.blocking, UDC_FUZZY_LSH);
	assert_true(rl->stats.lsh_pair_recall >= 0.999);
	assert_true(rl->stats.compared < rl->stats.pairs_total / 4);
	assert_same_links(rl, re);
	assert_same_links(rl, r1);
	check_links(rl, a, b, n_b, nbits, 0.8);
	segs = 1;
	udc_fuzzy_result_free(rl);
	udc_fuzzy_result_free(r1);
	udc_fuzzy_result_free(re);
	free(a);
	free(b);
}

/*
 * Records made of features drawn from pools of values, as a register's
 * fields are: nseg features of 256 bits; feature k has pool[k] values of
 * density dens[k] (the last feature is "sex": two values of a few bits, the
 * kind no blocking can index).  B: n_b records; A: copies of B records with
 * a feature now and then replaced by a variant (bits flipped) or dropped,
 * and records of their own.  Values repeat, so the feature join has real
 * value lists to work with.
 */
#define JOIN_SEGS 4
static void
make_records(uint64_t **a, size_t n_a, uint64_t **b, size_t n_b, uint64_t seed)
{
	static const size_t pool[JOIN_SEGS] = {300, 600, 2000, 2};
	static const double dens[JOIN_SEGS] = {0.30, 0.25, 0.10, 0.04};
	size_t nbits = JOIN_SEGS * 256, nw = udc_dice_nwords(nbits), sw = 4, i, k;
	uint64_t s = seed, *vals[JOIN_SEGS];

	*a = calloc(n_a, nw * 8);
	*b = calloc(n_b, nw * 8);
	assert_non_null(*a);
	assert_non_null(*b);
	for (k = 0; k < JOIN_SEGS; k++) {
		assert_non_null(vals[k] = malloc(pool[k] * sw * 8));
		for (i = 0; i < pool[k]; i++)
			random_filter(vals[k] + i * sw, 256, dens[k], &s);
	}
	for (i = 0; i < n_b; i++)
		for (k = 0; k < JOIN_SEGS; k++) {
			/* skewed: a few values are common */
			double u = (double)(rnd(&s) >> 11) / 9007199254740992.0;
			size_t v = (size_t)(u * u * (double)pool[k]);

			if (rnd(&s) % 100 < 4)
				continue; /* missing */
			memcpy(*b + i * nw + k * sw, vals[k] + v * sw, sw * 8);
		}
	for (i = 0; i < n_a; i++) {
		if (i % 5 < 3) {
			memcpy(*a + i * nw, *b + (rnd(&s) % n_b) * nw, nw * 8);
			for (k = 0; k < JOIN_SEGS; k++) {
				unsigned r = (unsigned)(rnd(&s) % 100);

				if (r < 15)
					noisy_copy(*a + i * nw + k * sw, *a + i * nw + k * sw, 256, 0.03, &s);
				else if (r < 20)
					memset(*a + i * nw + k * sw, 0, sw * 8);
			}
		} else {
			for (k = 0; k < JOIN_SEGS; k++) {
				size_t v = rnd(&s) % pool[k];

				memcpy(*a + i * nw + k * sw, vals[k] + v * sw, sw * 8);
			}
		}
	}
	for (k = 0; k < JOIN_SEGS; k++)
		free(vals[k]);
}

/* The feature join is exact: it gives the exhaustive linkage at every
 * threshold, on one thread or two, with and without a feature it cannot
 * index; and on a small set the greedy 1:1 over every pair. */
static void
test_join_equals_exhaustive(void **state)
{
	static const double ts[] = {0.6, 0.7, 0.8, 0.9};
	size_t nbits = JOIN_SEGS * 256, n_a = 6000 / scale, n_b = 5000 / scale, i, k;
	uint64_t *a, *b;
	int64_t *ref;

	(void)state;
	make_records(&a, n_a, &b, n_b, 21);
	segs = JOIN_SEGS;
	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		struct udc_fuzzy_result *rj, *re, *r1, *ra;

		rj = run(a, n_a, b, n_b, nbits, ts[i], UDC_FUZZY_JOIN, 8, 1, wq);
		r1 = run(a, n_a, b, n_b, nbits, ts[i], UDC_FUZZY_JOIN, 1, 1, NULL);
		re = run(a, n_a, b, n_b, nbits, ts[i], UDC_FUZZY_EXHAUSTIVE, 8, 1, wq);
		ra = run(a, n_a, b, n_b, nbits, ts[i], UDC_FUZZY_AUTO, 8, 1, wq);
		print_message("join at %.2f: %zu links; features %llx, lists down to %.3f, %llu "
		              "direct pairs; compared %llu of %llu (x%.1f)\n",
		              ts[i], rj->nlinks, (unsigned long long)rj->stats.join_features,
		              rj->stats.join_tau, (unsigned long long)rj->stats.join_direct_pairs,
		              (unsigned long long)rj->stats.compared,
		              (unsigned long long)rj->stats.pairs_total, rj->stats.reduction);
		assert_int_equal(rj->stats.blocking, UDC_FUZZY_JOIN);
		/* the feature of two values is never worth indexing */
		assert_false(rj->stats.join_features & (1ULL << (JOIN_SEGS - 1)));
		assert_true(rj->stats.compared < rj->stats.pairs_total);
		assert_same_links(rj, re);
		assert_same_links(r1, re); /* topk 1: many queried again */
		assert_same_links(ra, re);
		check_links(rj, a, b, n_b, nbits, ts[i]);
		udc_fuzzy_result_free(rj);
		udc_fuzzy_result_free(r1);
		udc_fuzzy_result_free(re);
		udc_fuzzy_result_free(ra);
	}
	free(a);
	free(b);
	/* against the definition, on a set small enough for it */
	make_records(&a, 900 / scale + 20, &b, 700 / scale + 20, 22);
	for (k = 0; k < 2; k++) {
		double t = k ? 0.65 : 0.75;
		struct udc_fuzzy_result *rj;

		ref = brute_greedy(a, 900 / scale + 20, b, 700 / scale + 20, nbits, t);
		rj = run(a, 900 / scale + 20, b, 700 / scale + 20, nbits, t, UDC_FUZZY_JOIN, 2, 1, wq);
		for (i = 0; i < rj->n_a; i++)
			assert_int_equal(rj->link[i], ref[i]);
		udc_fuzzy_result_free(rj);
		free(ref);
	}
	segs = 1;
	free(a);
	free(b);
}

/*
 * Records of SPREAD_SEGS features whose scores spread over the whole range
 * around every threshold: B draws each feature from a pool of values (one
 * feature of few values, one all-or-nothing like a date: sparse and
 * random); A copies a B record and then, per feature independently, keeps
 * it, flips each bit with a probability up to 0.5, replaces it by another
 * value of the pool, or drops it, or is unrelated.  Pairs at every score
 * and every combination of features above and below their thresholds.
 */
#define SPREAD_SEGS 6
static void
make_spread(uint64_t **a, size_t n_a, uint64_t **b, size_t n_b, uint64_t seed)
{
	static const size_t pool[SPREAD_SEGS] = {900, 400, 1500, 2, 700, 60};
	static const double dens[SPREAD_SEGS] = {0.30, 0.25, 0.10, 0.04, 0.15, 0.06};
	size_t nbits = SPREAD_SEGS * 256, nw = udc_dice_nwords(nbits), sw = 4, i, k;
	uint64_t s = seed, *vals[SPREAD_SEGS];

	*a = calloc(n_a, nw * 8);
	*b = calloc(n_b, nw * 8);
	assert_non_null(*a);
	assert_non_null(*b);
	for (k = 0; k < SPREAD_SEGS; k++) {
		assert_non_null(vals[k] = malloc(pool[k] * sw * 8));
		for (i = 0; i < pool[k]; i++)
			random_filter(vals[k] + i * sw, 256, dens[k], &s);
	}
	for (i = 0; i < n_b; i++)
		for (k = 0; k < SPREAD_SEGS; k++) {
			double u = (double)(rnd(&s) >> 11) / 9007199254740992.0;

			if (rnd(&s) % 100 < 3)
				continue;
			memcpy(*b + i * nw + k * sw, vals[k] + (size_t)(u * u * (double)pool[k]) * sw,
			       sw * 8);
		}
	for (i = 0; i < n_a; i++) {
		int unrelated = rnd(&s) % 4 == 0;

		memcpy(*a + i * nw, *b + (rnd(&s) % n_b) * nw, nw * 8);
		for (k = 0; k < SPREAD_SEGS; k++) {
			uint64_t *f = *a + i * nw + k * sw;
			unsigned r = (unsigned)(rnd(&s) % 100);

			if (unrelated || (r >= 50 && r < 65))
				memcpy(f, vals[k] + rnd(&s) % pool[k] * sw, sw * 8);
			else if (r >= 65 && r < 70)
				memset(f, 0, sw * 8);
			else if (r >= 70)
				noisy_copy(f, f, 256, (double)(rnd(&s) % 500) / 1000.0, &s);
		}
	}
	for (k = 0; k < SPREAD_SEGS; k++)
		free(vals[k]);
}

/* The feature join with conjunctions of two features (forced), as the
 * planner chooses, with single features and with a ladder (a feature at two
 * thresholds or more, forced), on the spread records: every pair at or above the
 * threshold is compared (the count of compared pairs at or above it equals
 * that of comparing every pair, with no record queried again and no pair
 * compared twice), and the links are those of comparing every pair, bit for
 * bit, on one thread and two. */
static void
test_join_pairs_lossless(void **state)
{
	static const double ts[] = {0.6, 0.75, 0.9};
	size_t nbits = SPREAD_SEGS * 256, n_a = 2000 / scale, n_b = 1600 / scale, i, f;
	uint64_t *a, *b;

	(void)state;
	make_spread(&a, n_a, &b, n_b, 31);
	segs = SPREAD_SEGS;
	for (i = 0; i < sizeof(ts) / sizeof(ts[0]); i++) {
		struct udc_fuzzy_result *re;

		jform = UDC_FUZZY_JOIN_ANY;
		re = run(a, n_a, b, n_b, nbits, ts[i], UDC_FUZZY_EXHAUSTIVE, UDC_FUZZY_MAX_TOPK, 1,
		         wq);
		for (f = 0; f < 4; f++) {
			static const enum udc_fuzzy_join_form forms[] = {
			    UDC_FUZZY_JOIN_PAIRS, UDC_FUZZY_JOIN_ANY, UDC_FUZZY_JOIN_SINGLE,
			    UDC_FUZZY_JOIN_LADDER};
			static const char *names[] = {"pairs", "any", "single", "ladder"};
			struct udc_fuzzy_result *rj, *r1;
			unsigned npairs = 0, nup = 0;

			jform = forms[f];
			rj = run(a, n_a, b, n_b, nbits, ts[i], UDC_FUZZY_JOIN, UDC_FUZZY_MAX_TOPK, 1, wq);
			r1 = run(a, n_a, b, n_b, nbits, ts[i], UDC_FUZZY_JOIN, 1, 1, NULL);
			for (unsigned j = 0; j < rj->stats.join_nconj; j++) {
				npairs += __builtin_popcountll(rj->stats.join_conj[j]) > 1;
				nup += rj->stats.join_conj_up[j][0] != 0;
			}
			print_message("t %.2f, plan %s: %zu links (every pair: %zu); features %llx, "
			              "ladders %llx, alone %llx, %u conjunctions of two or more, %u "
			              "needing a second level, %u patterns; %llu driver "
			              "pairs checked, %llu candidates, %llu direct; compared %llu of "
			              "%llu (x%.1f), %llu at or above the threshold\n",
			              ts[i], names[f], rj->nlinks, re->nlinks,
			              (unsigned long long)rj->stats.join_features,
			              (unsigned long long)rj->stats.join_ladders,
			              (unsigned long long)rj->stats.join_alone, npairs, nup,
			              rj->stats.join_patterns,
			              (unsigned long long)rj->stats.join_checked,
			              (unsigned long long)rj->stats.candidates,
			              (unsigned long long)rj->stats.join_direct_pairs,
			              (unsigned long long)rj->stats.compared,
			              (unsigned long long)rj->stats.pairs_total, rj->stats.reduction,
			              (unsigned long long)rj->stats.above_threshold);
			assert_int_equal(rj->stats.blocking, UDC_FUZZY_JOIN);
			if (f == 0)
				assert_true(npairs > 0 && rj->stats.join_patterns > 0);
			if (f == 2)
				assert_int_equal(npairs, 0);
			if (f == 2 || f == 0)
				assert_int_equal(rj->stats.join_ladders, 0);
			if (f == 3) {
				/* a feature at two thresholds or more, and a
				 * conjunction that needs the second */
				assert_true(rj->stats.join_ladders != 0 && nup > 0);
				assert_true(rj->stats.join_patterns > 0);
			}
			assert_true(rj->stats.compared < rj->stats.pairs_total);
			/* every pair at or above the threshold was compared, once */
			assert_int_equal(rj->stats.requeries, 0);
			assert_int_equal(re->stats.requeries, 0);
			assert_int_equal(rj->stats.above_threshold, re->stats.above_threshold);
			assert_same_links(rj, re);
			assert_same_links(r1, re); /* topk 1: many queried again */
			check_links(rj, a, b, n_b, nbits, ts[i]);
			udc_fuzzy_result_free(rj);
			udc_fuzzy_result_free(r1);
		}
		udc_fuzzy_result_free(re);
	}
	jform = UDC_FUZZY_JOIN_ANY;
	segs = 1;
	free(a);
	free(b);
}

static void
test_params(void **state)
{
	struct udc_fuzzy_params p;
	struct udc_fuzzy_result *r = (void *)1;
	uint64_t f[2] = {0xff, 0};
	uint64_t z[2] = {0, 0};

	(void)state;
	udc_fuzzy_params_default(&p);
	p.threshold = 0;
	assert_int_equal(udc_fuzzy_link(&r, &p, NULL, f, 1, f, 1, 128), UDC_EINVAL);
	assert_null(r);
	p.threshold = 1.5;
	assert_int_equal(udc_fuzzy_link(&r, &p, NULL, f, 1, f, 1, 128), UDC_EINVAL);
	udc_fuzzy_params_default(&p);
	p.topk = 0;
	assert_int_equal(udc_fuzzy_link(&r, &p, NULL, f, 1, f, 1, 128), UDC_EINVAL);
	udc_fuzzy_params_default(&p);
	assert_int_equal(udc_fuzzy_link(&r, &p, NULL, f, 1, f, 1, 0), UDC_EINVAL);
	p.lsh_recall = 1.0;
	assert_int_equal(udc_fuzzy_link(&r, &p, NULL, f, 1, f, 1, 128), UDC_EINVAL);

	/* empty sets, empty filters (Dice 0), threshold 1 */
	udc_fuzzy_params_default(&p);
	assert_int_equal(udc_fuzzy_link(&r, &p, wq, f, 0, f, 1, 128), 0);
	assert_int_equal(r->nlinks, 0);
	udc_fuzzy_result_free(r);
	assert_int_equal(udc_fuzzy_link(&r, &p, wq, f, 1, f, 0, 128), 0);
	assert_int_equal(r->link[0], -1);
	udc_fuzzy_result_free(r);
	assert_int_equal(udc_fuzzy_link(&r, &p, wq, z, 1, z, 1, 128), 0);
	assert_int_equal(r->link[0], -1);
	udc_fuzzy_result_free(r);
	/* field scoring: segments must divide nbits into multiples of 64 */
	udc_fuzzy_params_default(&p);
	p.segments = 3;
	assert_int_equal(udc_fuzzy_link(&r, &p, NULL, f, 1, f, 1, 128), UDC_EINVAL);
	p.segments = 2;
	assert_int_equal(udc_fuzzy_link(&r, &p, NULL, f, 1, f, 1, 192), UDC_EINVAL);
	p.segments = UDC_FUZZY_MAX_SEGMENTS + 1;
	assert_int_equal(udc_fuzzy_link(&r, &p, NULL, f, 1, f, 1, 128), UDC_EINVAL);
	/* two fields, only the first present on both sides: Dice of that one */
	p.segments = 2;
	assert_int_equal(udc_fuzzy_link(&r, &p, wq, f, 1, f, 1, 128), 0);
	assert_int_equal(r->link[0], 0);
	assert_true(r->score[0] == 1.0);
	udc_fuzzy_result_free(r);
	udc_fuzzy_params_default(&p);
	p.threshold = 1.0;
	p.blocking = UDC_FUZZY_LSH;
	assert_int_equal(udc_fuzzy_link(&r, &p, wq, f, 1, f, 1, 128), 0);
	assert_int_equal(r->link[0], 0);
	assert_true(r->score[0] == 1.0);
	assert_int_equal(r->band[UDC_FUZZY_NBANDS - 1], 1);
	udc_fuzzy_result_free(r);
}

/* ---------- linkage quality on real test data ---------- */

struct dataset {
	size_t n;
	uint64_t *filters;
	long *id;
};

static char *
vector_path(const char *dir, const char *name)
{
	const char *src = getenv("UDC_SOURCE_DIR");
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/tests/vectors/%s/%s", src != NULL ? src : ".", dir, name);
	return buf;
}

/* Strips surrounding white space in place (the FEBRL files pad values). */
static char *
trim(char *s)
{
	size_t n;

	while (*s == ' ' || *s == '\t')
		s++;
	n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t'))
		s[--n] = '\0';
	return s;
}

/* Encodes every record of a file: each schema feature takes the column of
 * the same name; the id column is ground truth only and never encoded. */
/* Field scoring: one filter per encoded feature, in schema order. */
static size_t
filters_per_record(const struct udc_clk_schema *schema, int fields)
{
	return fields ? udc_clk_schema_nencoded(schema) : 1;
}

static void
encode_file(struct dataset *d, const char *dir, const char *file, const char *idcol,
            const struct udc_clk_schema *schema, const struct udc_clk_encoder *enc,
            void (*prep)(const char *field, char *value), int by_field)
{
	struct udc_csv *csv = NULL;
	char err[512] = "", **fields;
	size_t nseg = filters_per_record(schema, by_field);
	size_t nbits = nseg * udc_clk_schema_bits(schema), nw = udc_dice_nwords(nbits), cap = 4096;
	size_t nf = udc_clk_schema_nfields(schema), i, k, sb = udc_clk_schema_bytes(schema);
	int col[32], idc, rv;
	const char *vals[32];
	uint8_t bytes[8192];

	assert_true(nf <= 32);
	assert_int_equal(udc_csv_open(&csv, vector_path(dir, file), ',', err, sizeof(err)), 0);
	assert_true((idc = udc_csv_find_col(csv, idcol)) >= 0);
	for (i = 0; i < nf; i++) {
		col[i] = -1;
		if (udc_clk_schema_field_ignored(schema, i))
			continue;
		col[i] = udc_csv_find_col(csv, udc_clk_schema_field_name(schema, i));
		if (col[i] < 0)
			fail_msg("%s has no column %s", file, udc_clk_schema_field_name(schema, i));
		assert_int_not_equal(col[i], idc);
	}
	d->n = 0;
	d->filters = malloc(cap * nw * 8);
	d->id = malloc(cap * sizeof(*d->id));
	assert_non_null(d->filters);
	assert_non_null(d->id);
	while ((rv = udc_csv_next(csv, &fields)) == UDC_CSV_RECORD) {
		assert_true(d->n < cap);
		for (i = 0; i < nf; i++) {
			vals[i] = col[i] < 0 ? NULL : trim(fields[col[i]]);
			if (vals[i] != NULL && prep != NULL)
				prep(udc_clk_schema_field_name(schema, i), (char *)vals[i]);
		}
		assert_true(nseg * sb <= sizeof(bytes));
		if (!by_field) {
			if (udc_clk_encode(enc, vals, nf, bytes, sb, NULL, err, sizeof(err)) != 0)
				fail_msg("%s line %lu: %s", file, udc_csv_line(csv), err);
		} else {
			for (i = k = 0; i < nf; i++)
				if (!udc_clk_schema_field_ignored(schema, i) &&
				    udc_clk_encode_feature(enc, vals, nf, i, bytes + sb * k++, sb, NULL,
				                           err, sizeof(err)) != 0)
					fail_msg("%s line %lu: %s", file, udc_csv_line(csv), err);
		}
		udc_dice_words_from_bytes(bytes, nseg * sb, d->filters + d->n * nw, nw);
		d->id[d->n++] = strtol(trim(fields[idc]), NULL, 10);
	}
	assert_int_equal(rv, UDC_CSV_EOF);
	udc_csv_close(csv);
}

struct quality {
	size_t tp, fp, truth;
	double precision, recall;
};

static struct quality
measure(const struct udc_fuzzy_result *r, const struct dataset *A, const struct dataset *B)
{
	struct quality q = {0, 0, 0, 0, 0};
	size_t i, j;

	for (i = 0; i < A->n; i++) {
		if (r->link[i] >= 0) {
			if (A->id[i] == B->id[r->link[i]])
				q.tp++;
			else
				q.fp++;
		}
	}
	/* ids are unique within each file */
	for (i = 0; i < A->n; i++)
		for (j = 0; j < B->n; j++)
			q.truth += A->id[i] == B->id[j];
	q.precision = q.tp + q.fp ? (double)q.tp / (double)(q.tp + q.fp) : 1.0;
	q.recall = q.truth ? (double)q.tp / (double)q.truth : 1.0;
	return q;
}

struct quality_case {
	const char *dir, *file_a, *file_b, *idcol;
	size_t n_a, n_b, truth;
	double min_precision, min_recall; /* at the case's threshold */
	double threshold;                 /* 0: the default of the scoring */
	void (*prep)(const char *field, char *value); /* NULL: values only trimmed */
	const char *schema;                           /* file in dir */
	int fields;                                   /* field scoring */
};

static void
quality(const struct quality_case *qc)
{
	struct udc_clk_schema *schema = NULL;
	struct udc_clk_encoder *enc = NULL;
	struct dataset A, B;
	char err[512] = "";
	const char *secret = getenv("UDC_FUZZY_TEST_SECRET"); /* for measuring only */
	size_t nbits, i, lost = 0;
	double t;
	struct udc_fuzzy_result *rl, *re, *r64, *rp;
	struct quality q;
	unsigned npairs = 0;

	if (secret == NULL)
		secret = "udclink fuzzy test secret";
	if (udc_clk_schema_load(&schema, vector_path(qc->dir, qc->schema), err, sizeof(err)) != 0)
		fail_msg("%s", err);
	segs = (unsigned)filters_per_record(schema, qc->fields);
	nbits = segs * udc_clk_schema_bits(schema);
	assert_int_equal(udc_clk_encoder_new(&enc, schema, (const uint8_t *)secret, strlen(secret),
	                                     err, sizeof(err)),
	                 0);
	encode_file(&A, qc->dir, qc->file_a, qc->idcol, schema, enc, qc->prep, qc->fields);
	encode_file(&B, qc->dir, qc->file_b, qc->idcol, schema, enc, qc->prep, qc->fields);
	assert_int_equal(A.n, qc->n_a);
	assert_int_equal(B.n, qc->n_b);

	print_message("%s: %s x %s, %s, %s scoring\nthreshold  links  precision  recall   "
	              "(exhaustive)\n",
	              qc->dir, qc->file_a, qc->file_b, qc->schema, qc->fields ? "field" : "record");
	for (t = 0.60; t < 0.976; t += 0.025) {
		re = run(A.filters, A.n, B.filters, B.n, nbits, t, UDC_FUZZY_EXHAUSTIVE, 8, 1, wq);
		q = measure(re, &A, &B);
		print_message("  %.3f    %5zu   %.4f    %.4f\n", t, re->nlinks, q.precision,
		              q.recall);
		udc_fuzzy_result_free(re);
	}

	t = qc->threshold > 0        ? qc->threshold
	    : qc->fields              ? UDC_FUZZY_DEFAULT_THRESHOLD_FIELDS
	                              : UDC_FUZZY_DEFAULT_THRESHOLD;
	/* record scoring: LSH; field scoring: the feature join (exact) */
	rl = run(A.filters, A.n, B.filters, B.n, nbits, t,
	         qc->fields ? UDC_FUZZY_JOIN : UDC_FUZZY_LSH, 8, 1, wq);
	re = run(A.filters, A.n, B.filters, B.n, nbits, t, UDC_FUZZY_EXHAUSTIVE, 8, 1, wq);
	r64 = run(A.filters, A.n, B.filters, B.n, nbits, t, UDC_FUZZY_EXHAUSTIVE,
	          UDC_FUZZY_MAX_TOPK, 1, wq);
	print_stats("blocked", rl);
	check_links(rl, A.filters, B.filters, B.n, nbits, t);
	q = measure(rl, &A, &B);
	assert_int_equal(q.truth, qc->truth);
	/* true links of the exhaustive run that blocking lost */
	for (i = 0; i < A.n; i++)
		if (re->link[i] >= 0 && A.id[i] == B.id[re->link[i]] && rl->link[i] != re->link[i])
			lost++;
	print_message("threshold %.3f: precision %.4f recall %.4f (tp %zu fp %zu of "
	              "%zu); true links lost by blocking %zu (%.3f%%); bands",
	              t, q.precision, q.recall, q.tp, q.fp, q.truth, lost,
	              100.0 * (double)lost / (double)q.truth);
	for (i = 0; i < UDC_FUZZY_NBANDS; i++)
		print_message(" [%.2f,%.2f%c %zu", rl->band_lo[i], rl->band_lo[i + 1],
		              i + 1 == UDC_FUZZY_NBANDS ? ']' : ')', rl->band[i]);
	print_message("\n");
	assert_true(q.precision >= qc->min_precision);
	assert_true(q.recall >= qc->min_recall);
	assert_true((double)lost <= 0.005 * (double)q.truth);
	if (qc->fields) {
		/* the join is exact: nothing lost, the same linkage */
		print_message("join: features %llx, lists down to %.3f, compared %llu of %llu "
		              "(x%.1f)\n",
		              (unsigned long long)rl->stats.join_features, rl->stats.join_tau,
		              (unsigned long long)rl->stats.compared,
		              (unsigned long long)rl->stats.pairs_total, rl->stats.reduction);
		assert_int_equal(lost, 0);
		assert_same_links(rl, re);
		/* and with conjunctions of two features (forced) */
		jform = UDC_FUZZY_JOIN_PAIRS;
		rp = run(A.filters, A.n, B.filters, B.n, nbits, t, UDC_FUZZY_JOIN, 8, 1, wq);
		jform = UDC_FUZZY_JOIN_ANY;
		for (i = 0; i < rp->stats.join_nconj; i++)
			npairs += __builtin_popcountll(rp->stats.join_conj[i]) > 1;
		print_message("join with conjunctions: %u of two or more, %u patterns, compared %llu "
		              "(x%.1f), %llu direct\n",
		              npairs, rp->stats.join_patterns, (unsigned long long)rp->stats.compared,
		              rp->stats.reduction, (unsigned long long)rp->stats.join_direct_pairs);
		if (rp->stats.blocking == UDC_FUZZY_JOIN) {
			assert_true(npairs > 0);
		} else {
			/* more features than a plan with conjunctions takes
			 * (FEBRL: nine), or none needed: every pair compared */
			print_message("no plan with conjunctions for %zu features: not checked "
			              "here\n",
			              (size_t)segs);
			assert_int_equal(rp->stats.blocking, UDC_FUZZY_EXHAUSTIVE);
		}
		assert_same_links(rp, re);
		udc_fuzzy_result_free(rp);
	}
	/* topk 8 against 64: the bounded lists lose nothing here */
	assert_same_links(re, r64);

	udc_fuzzy_result_free(rl);
	udc_fuzzy_result_free(re);
	udc_fuzzy_result_free(r64);
	free(A.filters);
	free(A.id);
	free(B.filters);
	free(B.id);
	udc_clk_encoder_free(enc);
	udc_clk_schema_free(schema);
	segs = 1;
}

/* FEBRL-style records (clkhash's test data, its tutorial schema). */
static void
test_quality_febrl(void **state)
{
	static const struct quality_case qc = {
	    "febrl", "dirty_1000_50_1.csv", "dirty_1000_50_2.csv", "rec_id", 1000, 1000, 500, 0.95,
	    0.95, 0, NULL, "schema.json", 0};

	(void)state;
	quality(&qc);
}

/* The anonlink tutorial's alice and bob (docs/fuzzy.md, "anonlink tutorial"):
 * far dirtier than FEBRL (typos in most fields, a third of the true pairs
 * miss dob or phone on one side).  Values are prepared as a deployment's
 * normalisation would: lower case; dob dd-mm-yyyy rewritten to yyyymmdd and
 * the phone number to its characters without blanks (the separators are the
 * same in every record and only add shared bits).  The shape test does not
 * validate the digits, so a date with a typo keeps its other digits. */
static void
prep_anonlink(const char *field, char *v)
{
	char *p, *q;

	for (p = v; *p != '\0'; p++)
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p - 'A' + 'a');
	if (strcmp(field, "dob") == 0 && strlen(v) == 10 && v[2] == '-' && v[5] == '-') {
		char d[9];

		memcpy(d, v + 6, 4);
		memcpy(d + 4, v + 3, 2);
		memcpy(d + 6, v, 2);
		d[8] = '\0';
		memcpy(v, d, 9);
	}
	if (strcmp(field, "dob") == 0 || strcmp(field, "phone number") == 0) {
		for (p = q = v; *p != '\0'; p++)
			if (*p != ' ' && *p != '-')
				*q++ = *p;
		*q = '\0';
	}
}

/* Record scoring (tests/vectors/anonlink/schema.json): unigrams of the
 * names, positional bigrams of dob and phone, bitsPerFeature 30/30/40/50 in
 * 1024 bits.  One Dice over the record cannot skip a field missing on one
 * side (49 of the 1458 true pairs keep only their misspelt names), so record
 * scoring peaks at recall 0.93 (threshold 0.60): kept as a regression check
 * of encoder and matcher on dirty data; docs/fuzzy.md has the table. */
static void
test_quality_anonlink(void **state)
{
	static const struct quality_case qc = {"anonlink", "dataset-alice.csv", "dataset-bob.csv",
	                                       "id",       3228,                3242,
	                                       1458,       0.95,                0.93,
	                                       0.60,       prep_anonlink,
	                                       "schema.json", 0};

	(void)state;
	quality(&qc);
}

/* Field scoring (tests/vectors/anonlink/schema-fields.json: the same
 * features, positional unigrams of dob and phone, 512 bits per feature) at
 * the default threshold: precision and recall >= 0.95, the target. */
static void
test_quality_anonlink_fields(void **state)
{
	static const struct quality_case qc = {"anonlink", "dataset-alice.csv", "dataset-bob.csv",
	                                       "id",       3228,                3242,
	                                       1458,       0.95,                0.95,
	                                       0,          prep_anonlink,
	                                       "schema-fields.json", 1};

	(void)state;
	quality(&qc);
}

/* FEBRL with field scoring at its default threshold. */
static void
test_quality_febrl_fields(void **state)
{
	static const struct quality_case qc = {
	    "febrl", "dirty_1000_50_1.csv", "dirty_1000_50_2.csv", "rec_id", 1000, 1000, 500, 0.95,
	    0.95, 0, NULL, "schema.json", 1};

	(void)state;
	quality(&qc);
}

/*
 * threshold = auto: the model fitted to the best-match scores of A (every
 * record of these small sets) against the true precision and recall of the
 * linkage at each threshold.  Returns the largest differences over
 * [lo, hi]; prints the table.
 */
static void
model_check(const struct quality_case *qc, double lo, double hi, double *errp, double *errr,
            double target, double *true_p_at_auto)
{
	struct udc_clk_schema *schema = NULL;
	struct udc_clk_encoder *enc = NULL;
	struct udc_score_model m;
	struct dataset A, B;
	char err[512] = "";
	const char *secret = "udclink fuzzy test secret";
	double *best, t;
	size_t nbits;
	unsigned ta = 0;

	if (udc_clk_schema_load(&schema, vector_path(qc->dir, qc->schema), err, sizeof(err)) != 0)
		fail_msg("%s", err);
	segs = (unsigned)filters_per_record(schema, qc->fields);
	nbits = segs * udc_clk_schema_bits(schema);
	assert_int_equal(udc_clk_encoder_new(&enc, schema, (const uint8_t *)secret, strlen(secret),
	                                     err, sizeof(err)),
	                 0);
	encode_file(&A, qc->dir, qc->file_a, qc->idcol, schema, enc, qc->prep, qc->fields);
	encode_file(&B, qc->dir, qc->file_b, qc->idcol, schema, enc, qc->prep, qc->fields);
	assert_non_null(best = malloc(A.n * sizeof(*best)));
	assert_int_equal(udc_fuzzy_best_scores(A.filters, A.n, B.filters, B.n, nbits, segs,
	                                       A.n, 1, wq, best),
	                 0);
	assert_int_equal(udc_score_model_fit(best, A.n, &m), 0);
	print_message("%s %s, %s scoring: model of %zu best-match scores (U %s): match share "
	              "%.3f (true %.3f)\nthreshold  est P   true P   est R   true R\n",
	              qc->dir, qc->schema, qc->fields ? "field" : "record", m.n,
	              m.best ? "Gumbel" : "Beta", udc_score_model_match_share(&m),
	              (double)qc->truth / (double)A.n);
	*errp = *errr = 0;
	for (t = lo; t <= hi + 1e-9; t += 0.025) {
		struct udc_fuzzy_result *re;
		struct quality q;
		double ep, er;

		re = run(A.filters, A.n, B.filters, B.n, nbits, t, UDC_FUZZY_EXHAUSTIVE, 8, 1, wq);
		q = measure(re, &A, &B);
		udc_score_model_at(&m, t, &ep, &er);
		print_message("  %.3f    %.3f   %.3f    %.3f   %.3f\n", t, ep, q.precision, er,
		              q.recall);
		if (fabs(ep - q.precision) > *errp)
			*errp = fabs(ep - q.precision);
		if (fabs(er - q.recall) > *errr)
			*errr = fabs(er - q.recall);
		udc_fuzzy_result_free(re);
	}
	if (udc_score_model_threshold(&m, target, 500, 990, 5, &ta) == 0) {
		struct udc_fuzzy_result *re;
		struct quality q;

		re = run(A.filters, A.n, B.filters, B.n, nbits, ta / 1000.0, UDC_FUZZY_EXHAUSTIVE, 8,
		         1, wq);
		q = measure(re, &A, &B);
		*true_p_at_auto = q.precision;
		print_message("auto for precision %.3f: threshold %.3f, true precision %.4f "
		              "recall %.4f\n",
		              target, ta / 1000.0, q.precision, q.recall);
		udc_fuzzy_result_free(re);
	} else {
		*true_p_at_auto = -1;
	}
	print_message("largest differences over %.3f-%.3f: precision %.3f, recall %.3f\n", lo, hi,
	              *errp, *errr);
	free(best);
	free(A.filters);
	free(A.id);
	free(B.filters);
	free(B.id);
	udc_clk_encoder_free(enc);
	udc_clk_schema_free(schema);
	segs = 1;
}

/* The anonlink tutorial's alice x bob with record scoring: the estimated
 * curve is within a few points of the truth, and threshold = auto at
 * precision 0.99 meets it. */
static void
test_model_anonlink(void **state)
{
	static const struct quality_case qc = {"anonlink", "dataset-alice.csv", "dataset-bob.csv",
	                                       "id",       3228,                3242,
	                                       1458,       0,                   0,
	                                       0,          prep_anonlink,
	                                       "schema.json", 0};
	double ep, er, tp;

	(void)state;
	model_check(&qc, 0.55, 0.95, &ep, &er, 0.99, &tp);
	assert_true(ep <= 0.06);
	assert_true(er <= 0.05);
	assert_true(tp >= 0.99);
}

/* The same data with field scoring, and FEBRL: the model's limits there are
 * asserted as limits, not hidden (a third of alice x bob's true pairs miss
 * a field, and their scores overlap the non-matches'); threshold = auto
 * meets its target on both. */
static void
test_model_others(void **state)
{
	static const struct quality_case fields = {"anonlink", "dataset-alice.csv",
	                                           "dataset-bob.csv", "id", 3228, 3242, 1458, 0, 0,
	                                           0, prep_anonlink, "schema-fields.json", 1};
	static const struct quality_case febrl = {"febrl", "dirty_1000_50_1.csv",
	                                          "dirty_1000_50_2.csv", "rec_id", 1000, 1000, 500,
	                                          0, 0, 0, NULL, "schema.json", 0};
	double ep, er, tp;

	(void)state;
	model_check(&fields, 0.60, 0.95, &ep, &er, 0.99, &tp);
	/* the Gumbel fit wins here: recall close, precision low by up to 0.21
	 * where it is below 0.95 (conservative: auto still meets its target) */
	assert_true(ep <= 0.25 && er <= 0.05);
	assert_true(tp >= 0.99);
	model_check(&febrl, 0.60, 0.95, &ep, &er, 0.99, &tp);
	assert_true(ep <= 0.10 && er <= 0.05);
	assert_true(tp >= 0.99);
}

static int
setup(void **state)
{
	const char *s = getenv("UDC_FUZZY_TEST_SCALE");

	(void)state;
	if (s != NULL && atoi(s) > 0)
		scale = (size_t)atoi(s);
	return udc_workq_new(&wq, 1);
}

static int
teardown(void **state)
{
	(void)state;
	udc_workq_free(wq);
	return 0;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_params),
	    cmocka_unit_test(test_matches_brute_force),
	    cmocka_unit_test(test_blocked_equals_exhaustive_random),
	    cmocka_unit_test(test_blocked_equals_exhaustive_clustered),
	    cmocka_unit_test(test_lsh_popcount_spread),
	    cmocka_unit_test(test_best_scores),
	    cmocka_unit_test(test_fields_matches_brute_force),
	    cmocka_unit_test(test_fields_blocked_random),
	    cmocka_unit_test(test_join_equals_exhaustive),
	    cmocka_unit_test(test_join_pairs_lossless),
	    cmocka_unit_test(test_quality_febrl),
	    cmocka_unit_test(test_quality_anonlink),
	    cmocka_unit_test(test_quality_febrl_fields),
	    cmocka_unit_test(test_quality_anonlink_fields),
	    cmocka_unit_test(test_model_anonlink),
	    cmocka_unit_test(test_model_others),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
