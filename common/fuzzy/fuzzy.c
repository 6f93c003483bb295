/*
 * fuzzy.c - 1:1 linkage of CLKs: blocking, Dice scoring, greedy resolution.
 *
 * Three phases:
 *   1. plan and index: popcounts, the design popcount and LSH parameters
 *      (a small cost model fed by a sample of random pairs), then one
 *      bucket index of B per LSH table;
 *   2. score, in parallel over A: every candidate of an A record (LSH
 *      buckets, plus the B records above the design popcount) that passes
 *      the popcount bound is compared; the best topk at or above the
 *      threshold stay in a bounded heap;
 *   3. resolve, on the calling thread: a priority queue holds each A
 *      record's best remaining candidate; the best pair overall links if its
 *      B is still free.  A record whose topk were all taken is queried again
 *      without the taken B records, which gives exactly the greedy result
 *      over all blocked candidates (see docs/fuzzy.md).
 */
#include "fuzzy.h"

#include <math.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sys/mman.h>

#include "dice.h"
#include "err.h"
#include "workq.h"

#include "fuzzy_impl.h"

double
fz_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

uint64_t
fz_splitmix64(uint64_t *s)
{
	uint64_t z = (*s += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t
key_hash(uint64_t key, unsigned table)
{
	uint64_t s =
	    key ^ ((uint64_t)(table + 1) << 56) ^ ((uint64_t)table * 0x632be59bd9b4e019ULL);

	return (uint32_t)(fz_splitmix64(&s) >> 32);
}

/* Bits pos[0..k) of filter f as a k-bit key. */
static uint64_t
extract(const uint64_t *f, const uint16_t *pos, unsigned k)
{
	uint64_t key = 0;
	unsigned j;

	for (j = 0; j < k; j++)
		key |= ((f[pos[j] >> 6] >> (pos[j] & 63)) & 1) << j;
	return key;
}

/* The popcount bound, computed exactly as a score would be, so that it never
 * drops a pair whose score would reach the threshold. */
static int
size_ok(const struct ctx *c, uint32_t pa, uint32_t pb)
{
	if (!c->size_filter)
		return 1;
	return udc_dice_from_counts(pa < pb ? pa : pb, pa, pb) >= c->t;
}

/* P(k positions drawn without replacement from m all avoid h differing
 * bits): the chance that a pair at Hamming distance h shares a bucket. */
static double
hit_prob(size_t m, double h, unsigned k)
{
	double p = 1.0;
	unsigned j;

	for (j = 0; j < k; j++) {
		if ((double)m - h - j <= 0)
			return 0.0;
		p *= ((double)m - h - j) / ((double)m - j);
	}
	return p;
}

/* Tables needed so that 1 - (1 - q)^L >= recall. */
static unsigned
tables_for(double q, double recall)
{
	double l;

	if (q >= 1.0)
		return 1;
	if (q <= 0.0)
		return 0;
	l = ceil(log1p(-recall) / log1p(-q));
	return l > 1e6 ? 0 : (unsigned)l;
}

/* ---------- candidate heap of one A record ---------- */

/* x ranks before y: higher score, then lower B index. */
static int
better(const struct cand *x, const struct cand *y)
{
	return x->score > y->score || (x->score == y->score && x->b < y->b);
}

/* Min-heap (worst at the root) of at most cap candidates. */
static void
heap_push(struct cand *h, unsigned *n, unsigned cap, double score, uint32_t b)
{
	struct cand x = {score, b};
	unsigned i, l, r, m;

	if (*n < cap) {
		i = (*n)++;
		while (i > 0 && better(&h[(i - 1) / 2], &x)) {
			h[i] = h[(i - 1) / 2];
			i = (i - 1) / 2;
		}
		h[i] = x;
		return;
	}
	if (!better(&x, &h[0]))
		return;
	i = 0;
	for (;;) {
		l = 2 * i + 1;
		r = l + 1;
		m = i;
		if (l < *n && better(&x, &h[l]))
			m = l;
		if (r < *n && better(m == i ? &x : &h[l], &h[r]))
			m = r;
		if (m == i)
			break;
		h[i] = h[m];
		i = m;
	}
	h[i] = x;
}

void
fz_sort_best_first(struct cand *h, unsigned n)
{
	unsigned i, j;

	for (i = 1; i < n; i++) {
		struct cand x = h[i];

		for (j = i; j > 0 && better(&x, &h[j - 1]); j--)
			h[j] = h[j - 1];
		h[j] = x;
	}
}

/* ---------- scratch (dedup stamps), one per running thread ---------- */

struct scratch *
fz_scratch_get(struct ctx *c)
{
	size_t i;

	for (;;) {
		for (i = 0; i < c->nslots; i++) {
			int zero = 0;

			if (atomic_compare_exchange_strong(&c->slots[i].busy, &zero, 1))
				return &c->slots[i];
		}
	}
}

void
fz_scratch_put(struct scratch *s)
{
	atomic_store(&s->busy, 0);
}

uint32_t
fz_scratch_epoch(struct ctx *c, struct scratch *s)
{
	if (++s->epoch == 0) {
		memset(s->stamp, 0, c->n_b * sizeof(*s->stamp));
		s->epoch = 1;
	}
	return s->epoch;
}

/* ---------- one query: the topk candidates of A record i ---------- */

/* First j in [lo, hi) of the popcount order with pop >= v (or with pop > v
 * when upper is set). */
static size_t
pop_bound(const uint32_t *spop, size_t lo, size_t hi, uint32_t v, int upper)
{
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (upper ? spop[mid] <= v : spop[mid] < v)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

/* Range [*lo, *hi) of the popcount order that the popcount bound allows. */
static void
window(const struct ctx *c, const uint32_t *spop, size_t n, uint32_t pa, size_t *lo, size_t *hi)
{
	size_t mid, l, h, m;

	if (!c->size_filter) {
		*lo = 0;
		*hi = n;
		return;
	}
	/* pb <= pa: the bound rises with pb; pb >= pa: it falls */
	mid = pop_bound(spop, 0, n, pa, 0);
	l = 0;
	h = mid;
	while (l < h) {
		m = l + (h - l) / 2;
		if (size_ok(c, pa, spop[m]))
			h = m;
		else
			l = m + 1;
	}
	*lo = l;
	l = mid;
	h = n;
	while (l < h) {
		m = l + (h - l) / 2;
		if (size_ok(c, pa, spop[m]))
			l = m + 1;
		else
			h = m;
	}
	*hi = l;
}

/* Field scoring: the popcounts of A record ia and B record b over the
 * features non-empty in both.  Filters empty on one side add nothing to the
 * intersection, so |A & B| over the whole filter is already the sum over the
 * shared features; only the popcounts need the features one side lacks
 * taken out.  Returns 0 if the pair fails the coverage rule (the shared
 * features hold less than UDC_FUZZY_COVERAGE of either record's bits). */
static int
shared_pops(const struct ctx *c, size_t ia, uint32_t b, uint32_t *pa, uint32_t *pb)
{
	uint64_t ma = c->ma[ia], mb = c->mb[b], x;
	uint32_t a0 = c->pa[ia], b0 = c->pb[b];

	*pa = a0;
	*pb = b0;
	if (ma == mb)
		return *pa > 0;
	for (x = ma & ~mb; x != 0; x &= x - 1)
		*pa -= c->pas[ia * c->nseg + (size_t)__builtin_ctzll(x)];
	for (x = mb & ~ma; x != 0; x &= x - 1)
		*pb -= c->pbs[(size_t)b * c->nseg + (size_t)__builtin_ctzll(x)];
	return *pa > 0 &&
	       (uint64_t)*pa * UDC_FUZZY_COVERAGE_DEN >= (uint64_t)a0 * UDC_FUZZY_COVERAGE_NUM &&
	       (uint64_t)*pb * UDC_FUZZY_COVERAGE_DEN >= (uint64_t)b0 * UDC_FUZZY_COVERAGE_NUM;
}

/* Field score of A record ia (filter qa) and B record b: Dice over the
 * features non-empty in both, 2 sum |A_s & B_s| / sum (|A_s| + |B_s|); 0 if
 * the pair fails the coverage rule or the popcount bound over the shared
 * features shows it cannot reach the threshold (only scores >= the
 * threshold are used). */
static double
fields_score(const struct ctx *c, const uint64_t *qa, size_t ia, uint32_t b)
{
	uint32_t pa, pb;

	if (!shared_pops(c, ia, b, &pa, &pb) ||
	    udc_dice_from_counts(pa < pb ? pa : pb, pa, pb) < c->t)
		return 0.0;
	return udc_dice_from_counts(udc_dice_and_count(qa, c->b + (size_t)b * c->nwords, c->nwords),
	                            pa, pb);
}

void
fz_consider(struct ctx *c, struct cand *h, unsigned *nh, struct counters *k, uint32_t b,
         const uint64_t *qa, uint32_t pa, size_t ia)
{
	uint32_t cnt;
	double s;

	if (c->taken != NULL && c->taken[b])
		return;
	if (!size_ok(c, pa, c->pb[b])) {
		k->size_pruned++;
		return;
	}
	k->compared++;
	if (c->nseg > 1) {
		s = fields_score(c, qa, ia, b);
	} else {
		cnt = udc_dice_and_count(qa, c->b + (size_t)b * c->nwords, c->nwords);
		s = udc_dice_from_counts(cnt, pa, c->pb[b]);
	}
	if (s >= c->t) {
		k->above++;
		heap_push(h, nh, c->topk, s, b);
	}
}

/* Every B record in the popcount window, from the contiguous sorted copy
 * when there is one (exhaustive mode: the kernel streams it). */
static void
query_exhaustive(struct ctx *c, struct cand *h, unsigned *nh, struct counters *k,
                 const uint64_t *qa, uint32_t pa, size_t ia)
{
	uint32_t cnt[256];
	size_t lo, hi, j, m, i;
	double lim = c->t * (1.0 - 1e-9);

	window(c, c->spop, c->n_b, pa, &lo, &hi);
	k->candidates += c->n_b;
	k->size_pruned += c->n_b - (hi - lo);
	if (c->sorted == NULL) {
		for (j = lo; j < hi; j++) {
			fz_consider(c, h, nh, k, c->order[j], qa, pa, ia);
		}
		return;
	}
	for (j = lo; j < hi; j += m) {
		m = hi - j < 256 ? hi - j : 256;
		udc_dice_and_counts(qa, c->sorted + j * c->nwords, m, c->nwords, cnt);
		k->compared += m;
		for (i = 0; i < m; i++) {
			uint32_t b = c->order[j + i], pa_s = pa, pb_s = c->spop[j + i];
			double s;

			/* field scoring: the popcounts over the shared features */
			if (c->nseg > 1 && !shared_pops(c, ia, b, &pa_s, &pb_s))
				continue;
			/* a multiplication rejects most pairs; the exact score
			 * decides the ones near the threshold */
			if (2.0 * cnt[i] < lim * (double)(pa_s + pb_s))
				continue;
			s = udc_dice_from_counts(cnt[i], pa_s, pb_s);
			if (s >= c->t && (c->taken == NULL || !c->taken[b])) {
				k->above++;
				heap_push(h, nh, c->topk, s, b);
			}
		}
	}
}

/* Compares a batch of candidates after prefetching all their filters, so
 * that the cache misses overlap instead of following one another. */
void
fz_consider_batch(struct ctx *c, struct cand *h, unsigned *nh, struct counters *k, const uint32_t *bs,
               size_t n, const uint64_t *qa, uint32_t pa, size_t ia)
{
	size_t j;

	for (j = 0; j < n; j++) {
		const char *f = (const char *)(c->b + (size_t)bs[j] * c->nwords);

		/* every line of the record: field scoring's are longer */
		for (size_t o = 0; o < c->nwords * sizeof(uint64_t); o += 64)
			__builtin_prefetch(f + o);
	}
	for (j = 0; j < n; j++)
		fz_consider(c, h, nh, k, bs[j], qa, pa, ia);
}

static void
query_lsh(struct ctx *c, struct scratch *sc, struct cand *h, unsigned *nh, struct counters *k,
          const uint64_t *qa, uint32_t pa, size_t ia)
{
	const uint32_t *pas = c->pas + ia * c->nseg;
	uint32_t epoch = fz_scratch_epoch(c, sc), *hv = sc->hv, *lo = sc->lo, *hi = sc->hi;
	uint32_t *batch = sc->batch;
	size_t j, nb = 0;
	unsigned l, L = c->lpop != NULL ? c->lpop[pa] : c->L;

	k->lookups += L;

	/* Three passes over the tables: bucket numbers, bucket bounds, bucket
	 * entries (a lookup is two dependent cache misses, L lookups are
	 * independent).  The second pass prefetches the entries the third
	 * reads.  The bucket bounds are not prefetched: a prefetch per table
	 * in the first pass made the lookups 1.3-1.6x slower (bench_fields
	 * record, 100k real CLKs, 256 tables per record, Zen 5), the loads of
	 * the second pass overlap on their own. */
	for (l = 0; l < L; l++) {
		hv[l] = key_hash(extract(qa, c->pos + (size_t)l * MAXK, c->tk[l]), l);
		lo[l] = c->tables[l].rbits == 0 ? 0 : hv[l] >> (32 - c->tables[l].rbits);
	}
	for (l = 0; l < L; l++) {
		const uint32_t *off = c->tables[l].off + lo[l];

		/* an empty filter has no bits to agree on: it shares the
		 * all-zero key with every other empty one and is not indexed */
		if (pas[c->tseg[l]] == 0) {
			lo[l] = hi[l] = 0;
			continue;
		}
		lo[l] = off[0];
		hi[l] = off[1];
		if (lo[l] < hi[l])
			__builtin_prefetch(&c->tables[l].ent[lo[l]]);
	}
	for (l = 0; l < L; l++) {
		const struct entry *ent = c->tables[l].ent;

		for (j = lo[l]; j < hi[l]; j++) {
			uint32_t b = ent[j].b;

			if (ent[j].h != hv[l] || sc->stamp[b] == epoch)
				continue;
			sc->stamp[b] = epoch;
			k->candidates++;
			/* the popcount bound before the filter is fetched */
			if (!size_ok(c, pa, c->pb[b])) {
				k->size_pruned++;
				continue;
			}
			batch[nb++] = b;
			if (nb == BATCH) {
				fz_consider_batch(c, h, nh, k, batch, nb, qa, pa, ia);
				nb = 0;
			}
		}
	}
	/* B records the LSH guarantee does not cover are compared directly */
	for (j = 0; j < c->nbout; j++) {
		uint32_t b = c->bout[j];

		if (sc->stamp[b] == epoch)
			continue;
		sc->stamp[b] = epoch;
		k->candidates++;
		batch[nb++] = b;
		if (nb == BATCH) {
			fz_consider_batch(c, h, nh, k, batch, nb, qa, pa, ia);
			nb = 0;
		}
	}
	fz_consider_batch(c, h, nh, k, batch, nb, qa, pa, ia);
}

/* 1 if a filter of the record is above its segment's design popcount: the
 * LSH guarantee does not cover it, so it is compared directly. */
static int
outlier(const struct ctx *c, const uint32_t *pops)
{
	size_t s;
	int any = 0;

	for (s = 0; s < c->nseg; s++) {
		if (pops[s] > c->dpop[s])
			return 1;
		any |= c->indexed[s] && pops[s] > 0;
	}
	/* field scoring: a record with no indexed feature is in no table */
	return !any && c->nseg > 1;
}

static void
query(struct ctx *c, struct scratch *sc, size_t i, struct counters *k)
{
	struct cand *h = c->cands + i * c->topk;
	const uint64_t *qa = c->a + i * c->nwords;
	const uint32_t *pas = c->pas + i * c->nseg;
	uint32_t pa = c->pa[i];
	unsigned nh = 0;

	if (c->mode == UDC_FUZZY_JOIN) {
		udc_fjoin_query(c, sc, i, k);
		return;
	}
	if (c->mode == UDC_FUZZY_EXHAUSTIVE || outlier(c, pas))
		query_exhaustive(c, h, &nh, k, qa, pa, i);
	else
		query_lsh(c, sc, h, &nh, k, qa, pa, i);
	fz_sort_best_first(h, nh);
	c->ncand[i] = (uint8_t)nh;
}

void
fz_counters_flush(struct ctx *c, const struct counters *k)
{
	atomic_fetch_add(&c->candidates, k->candidates);
	atomic_fetch_add(&c->size_pruned, k->size_pruned);
	atomic_fetch_add(&c->compared, k->compared);
	atomic_fetch_add(&c->above, k->above);
	atomic_fetch_add(&c->lookups, k->lookups);
}

static int
score_range(void *arg, size_t begin, size_t end)
{
	struct ctx *c = arg;
	struct scratch *sc = fz_scratch_get(c);
	struct counters k = {0, 0, 0, 0, 0};
	size_t i;

	for (i = begin; i < end; i++)
		query(c, sc, i, &k);
	fz_scratch_put(sc);
	fz_counters_flush(c, &k);
	return 0;
}

/* ---------- planning and the LSH index ---------- */

static int
cmp_u64(const void *x, const void *y)
{
	const uint64_t *p = x, *q = y;

	return *p < *q ? -1 : *p > *q;
}

/* B in popcount order (ties by index, so the order is deterministic). */
static int
build_order(struct ctx *c)
{
	uint64_t *tmp;
	size_t i;

	if ((tmp = malloc((c->n_b ? c->n_b : 1) * sizeof(*tmp))) == NULL)
		return UDC_ENOMEM;
	for (i = 0; i < c->n_b; i++)
		tmp[i] = (uint64_t)c->pb[i] << 32 | i;
	qsort(tmp, c->n_b, sizeof(*tmp), cmp_u64);
	for (i = 0; i < c->n_b; i++) {
		c->order[i] = (uint32_t)tmp[i];
		c->spop[i] = (uint32_t)(tmp[i] >> 32);
	}
	free(tmp);
	return 0;
}

/* The filters of B copied in popcount order (after build_order), for scans
 * that stream them: exhaustive mode, the best-match scores. */
static int
sorted_copy(struct ctx *c)
{
	if ((c->sorted = malloc((c->n_b ? c->n_b : 1) * c->nwords * sizeof(uint64_t))) == NULL)
		return UDC_ENOMEM;
	for (size_t i = 0; i < c->n_b; i++)
		memcpy(c->sorted + i * c->nwords, c->b + (size_t)c->order[i] * c->nwords,
		       c->nwords * sizeof(uint64_t));
	return 0;
}

/* Record scoring: the largest popcount <= P that the popcount bound lets
 * pair with x (P without the bound). */
static uint32_t
partner_max(const struct ctx *c, uint32_t x, uint32_t P)
{
	uint32_t y;

	for (y = P; y > x && !size_ok(c, x, y); y--)
		;
	return y;
}

/* The tables a record of popcount x needs when its partners are at most y:
 * at the threshold the pair is at most (x + y)(1 - t) apart.  At most L, the
 * design's count (also where no sane number reaches the recall). */
static unsigned
tables_at(const struct ctx *c, uint32_t x, uint32_t y, unsigned k, double recall, unsigned L)
{
	double h = floor((double)(x + y) * (1.0 - c->t) + 1e-9);
	unsigned l = tables_for(hit_prob(c->segbits, h, k), recall);

	return l == 0 || l > L ? L : l;
}

/* One segment's LSH design. */
struct seg_plan {
	unsigned k, L;
	uint32_t dpop;
	double cost, hdesign, recall;
};

/* Chooses segment s's design popcount, k and L by a cost model: LSH work
 * grows with the tables and with the random pairs that share a bucket
 * (estimated from a sample of random pairs, so it reflects how clustered the
 * data are); the records above the design popcount cost a direct comparison
 * each.  Records whose filter s is empty are not indexed in its tables.
 * sp->cost is INFINITY if no k reaches the recall with a sane number of
 * tables; sp->L is 0 if one side has no non-empty filter s. */
static int
plan_seg(struct ctx *c, const struct udc_fuzzy_params *p, size_t s, struct seg_plan *sp)
{
	/* Random pairs sampled: the share that collides at k bits is set by
	 * the few close pairs among them, so 2,048 pairs left it to chance:
	 * three rounds on the same 100k lists (each with its own seed and
	 * CLK secret) chose 20, 21 and 25 bits, and the matcher took 7.3, 6.9
	 * and 4.6 s (benchmark run of 2026-12-04).  With 16,384 and the cost
	 * of a candidate below, eight rounds chose 25 or 26 bits; 262,144
	 * were no steadier and cost 0.3 s of planning. */
	enum { NSAMPLE = 16384 };
	static const double quantiles[] = {0.9, 0.95, 0.99, 0.995, 0.999, 1.0};
	double *hs = NULL, *prod = NULL;
	uint32_t *spx = NULL, *spy = NULL, *ymax = NULL;
	size_t *hist = NULL, *ha = NULL, *hb = NULL, ns = 0, i, nea = 0, neb = 0;
	unsigned *lx = NULL;
	/* record scoring, tables chosen: a record looks in the tables its
	 * popcount needs (plan_lpop), and the cost counts them so */
	int perpop = c->nseg == 1 && p->lsh_tables == 0;
	int rv = 0;
	uint64_t seed = p->seed ^ 0x5eed ^ ((uint64_t)s << 40);
	double na = (double)c->n_a, nb = (double)c->n_b, m = (double)c->segbits;
	unsigned qi, kk;

	sp->k = sp->L = 0;
	sp->dpop = (uint32_t)c->segbits;
	sp->cost = INFINITY;
	sp->hdesign = 0;
	sp->recall = 1.0;
	for (i = 0; i < c->n_a; i++)
		nea += c->pas[i * c->nseg + s] > 0;
	for (i = 0; i < c->n_b; i++)
		neb += c->pbs[i * c->nseg + s] > 0;
	if (nea == 0 || neb == 0) {
		/* no pair can score on this segment */
		sp->cost = 0;
		return 0;
	}
	ns = c->n_a * c->n_b < NSAMPLE ? c->n_a * c->n_b : NSAMPLE;
	if ((hs = malloc(ns * sizeof(*hs))) == NULL || (prod = malloc(ns * sizeof(*prod))) == NULL ||
	    (spx = malloc(ns * sizeof(*spx))) == NULL || (spy = malloc(ns * sizeof(*spy))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	for (i = 0; i < ns; i++) {
		size_t x = fz_splitmix64(&seed) % c->n_a, y = fz_splitmix64(&seed) % c->n_b;
		uint32_t px = c->pas[x * c->nseg + s], py = c->pbs[y * c->nseg + s];
		uint32_t and = udc_dice_and_count(c->a + x * c->nwords + s * c->segw,
		                                  c->b + y * c->nwords + s * c->segw, c->segw);

		/* a pair with an empty filter never shares a bucket here */
		hs[i] = px == 0 || py == 0 ? m : (double)px + py - 2.0 * and;
		spx[i] = px;
		spy[i] = py;
	}
	if ((hist = calloc(c->segbits + 1, sizeof(*hist))) == NULL ||
	    (ha = calloc(c->segbits + 1, sizeof(*ha))) == NULL ||
	    (hb = calloc(c->segbits + 1, sizeof(*hb))) == NULL ||
	    (ymax = calloc(c->segbits + 1, sizeof(*ymax))) == NULL ||
	    (lx = calloc(c->segbits + 1, sizeof(*lx))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	for (i = 0; i < c->n_a; i++)
		ha[c->pas[i * c->nseg + s]]++;
	for (i = 0; i < c->n_b; i++)
		hb[c->pbs[i * c->nseg + s]]++;
	for (i = 1; i <= c->segbits; i++)
		hist[i] = ha[i] + hb[i];

	for (qi = 0; qi < sizeof(quantiles) / sizeof(quantiles[0]); qi++) {
		size_t want = (size_t)ceil(quantiles[qi] * (double)(nea + neb)), acc = 0;
		uint32_t P = 0;
		double hdesign, oa = 0, ob = 0;
		unsigned kmin, kmax;

		for (P = 0; P < c->segbits && acc + hist[P] < want; P++)
			acc += hist[P];
		for (i = P + 1; i <= c->segbits; i++) {
			oa += (double)ha[i];
			ob += (double)hb[i];
		}
		for (i = 1; perpop && i <= P; i++)
			ymax[i] = partner_max(c, (uint32_t)i, P);
		/* h = (|A| + |B|)(1 - Dice) <= 2 P (1 - t) */
		hdesign = floor(2.0 * P * (1.0 - c->t) + 1e-9);
		for (i = 0; i < ns; i++)
			prod[i] = 1.0;
		kmin = p->lsh_bits ? p->lsh_bits : 1;
		kmax = p->lsh_bits ? p->lsh_bits : MAXK;
		if (kmax > c->segbits)
			kmax = (unsigned)c->segbits;
		for (kk = 1; kk <= kmax; kk++) {
			double q, pc = 0, cost;
			unsigned L;

			for (i = 0; i < ns; i++) {
				double d = m - hs[i] - (kk - 1);

				prod[i] *= d > 0 ? d / (m - (kk - 1)) : 0.0;
				pc += prod[i];
			}
			if (kk < kmin)
				continue;
			pc = ns ? pc / (double)ns : 0.0;
			q = hit_prob(c->segbits, hdesign, kk);
			L = p->lsh_tables ? p->lsh_tables : tables_for(q, p->lsh_recall);
			if (L == 0 || L > 4096)
				continue;
			/* ns (measured roughly, prefetched): per A record and
			 * table (key, two cache misses), per B record and table
			 * (key, bucket fill), per candidate (a filter fetched
			 * from memory), per direct comparison of an outlier */
			if (perpop) {
				/* the same per table a record is in, and a pair
				 * shares the tables of the smaller count */
				double la = 0, lb = 0, pcl = 0;
				uint32_t x;

				for (x = 1; x <= P; x++) {
					lx[x] = tables_at(c, x, ymax[x], kk, p->lsh_recall, L);
					la += (double)ha[x] * lx[x];
					lb += (double)hb[x] * lx[x];
				}
				for (i = 0; i < ns; i++)
					if (spx[i] > 0 && spx[i] <= P && spy[i] > 0 && spy[i] <= P)
						pcl += prod[i] * (lx[spx[i]] < lx[spy[i]] ? lx[spx[i]]
						                                          : lx[spy[i]]);
				pcl = ns ? pcl / (double)ns : 0.0;
				/* a candidate at 17, not 12: bench_fields with
				 * forced k on the 100k benchmark lists (record,
				 * t = 0.85; 20 to 28 bits) fits 114 ns per probe
				 * and its index entry against 62 ns per candidate,
				 * 0.54 where 12 made it 0.39 and the model chose
				 * 24 bits (8.7 CPU-s) over 25 to 27 (7.6-8.0) */
				cost = la * (12.0 + 0.3 * kk) + lb * (4.0 + 0.3 * kk) +
				       na * nb * pcl * 17.0 + (oa * nb + na * ob) * 3.0;
			} else {
				cost = L * na * (12.0 + 0.3 * kk) + L * nb * (4.0 + 0.3 * kk) +
				       L * na * nb * pc * 12.0 + (oa * nb + na * ob) * 3.0;
			}
			if (cost < sp->cost) {
				sp->cost = cost;
				sp->k = kk;
				sp->L = L;
				sp->dpop = P;
				sp->hdesign = hdesign;
				sp->recall = 1.0 - pow(1.0 - q, L);
			}
		}
	}
out:
	free(hs);
	free(prod);
	free(spx);
	free(spy);
	free(hist);
	free(ha);
	free(hb);
	free(ymax);
	free(lx);
	return rv;
}

/* The blocking of the whole run: LSH tables for every segment (a pair whose
 * field score reaches the threshold has a feature, present on both sides,
 * whose own Dice does: that feature's tables find it), or exhaustive. */
static int
plan(struct ctx *c, const struct udc_fuzzy_params *p, struct udc_fuzzy_stats *st,
     struct udc_workq *wq)
{
	struct seg_plan sp;
	double total = 0,
	       exhaustive_cost = (double)c->n_a * (double)c->n_b * (c->nseg > 1 ? 2.0 : 1.0);
	size_t s, L = 0;
	int rv;

	c->mode = p->blocking == UDC_FUZZY_EXHAUSTIVE ? UDC_FUZZY_EXHAUSTIVE : UDC_FUZZY_LSH;
	for (s = 0; s < c->nseg; s++)
		c->dpop[s] = (uint32_t)c->segbits;
	if (c->mode == UDC_FUZZY_EXHAUSTIVE || c->n_a == 0 || c->n_b == 0) {
		c->mode = UDC_FUZZY_EXHAUSTIVE;
		return 0;
	}
	if (c->nseg > 1 && p->blocking != UDC_FUZZY_LSH) {
		/* field scoring: the feature join, exact; or every pair */
		int use = 0;

		if ((rv = udc_fjoin_plan(c, p, st, wq, &use)) != 0)
			return rv;
		c->mode = use ? UDC_FUZZY_JOIN : UDC_FUZZY_EXHAUSTIVE;
		return 0;
	}
	if ((c->tk = malloc(4096 * c->nseg)) == NULL ||
	    (c->tseg = malloc(4096 * c->nseg * sizeof(*c->tseg))) == NULL)
		return UDC_ENOMEM;
	st->lsh_pair_recall = 1.0;
	for (s = 0; s < c->nseg; s++) {
		if ((rv = plan_seg(c, p, s, &sp)) != 0)
			return rv;
		if (c->nseg > 1 && sp.cost != INFINITY && p->blocking == UDC_FUZZY_AUTO &&
		    !(sp.cost < (double)c->n_a * (double)c->n_b)) {
			/* field scoring: a feature whose tables would cost more
			 * than comparing every pair (few distinct values, such
			 * as sex, or values shared by many records) is not
			 * indexed; a record is found through its other features,
			 * or compared directly if it has none.  Forced LSH
			 * indexes every feature. */
			continue;
		}
		if (sp.cost == INFINITY) {
			/* no k reaches the recall with a sane number of tables */
			c->mode = UDC_FUZZY_EXHAUSTIVE;
			break;
		}
		total += sp.cost;
		c->dpop[s] = sp.dpop;
		c->indexed[s] = sp.L > 0;
		for (size_t l = 0; l < sp.L; l++) {
			c->tk[L] = (uint8_t)sp.k;
			c->tseg[L++] = (uint16_t)s;
		}
		if (sp.L == 0)
			continue;
		if (sp.k > st->lsh_bits)
			st->lsh_bits = sp.k;
		if (sp.dpop > st->design_popcount)
			st->design_popcount = sp.dpop;
		if (sp.hdesign > st->hamming_design)
			st->hamming_design = (unsigned)sp.hdesign;
		if (sp.recall < st->lsh_pair_recall)
			st->lsh_pair_recall = sp.recall;
	}
	c->L = (unsigned)L;
	if (c->mode == UDC_FUZZY_LSH && c->L == 0 && c->nseg > 1)
		c->mode = UDC_FUZZY_EXHAUSTIVE; /* no feature worth indexing */
	if (c->mode == UDC_FUZZY_LSH && p->blocking == UDC_FUZZY_AUTO && exhaustive_cost <= total)
		c->mode = UDC_FUZZY_EXHAUSTIVE;
	if (c->mode == UDC_FUZZY_EXHAUSTIVE) {
		for (s = 0; s < c->nseg; s++) {
			c->dpop[s] = (uint32_t)c->segbits;
			c->indexed[s] = 0;
		}
		c->L = 0;
		st->lsh_bits = 0;
		st->design_popcount = 0;
		st->hamming_design = 0;
		st->lsh_pair_recall = 1.0;
	}
	return 0;
}

/*
 * Record scoring: the tables a record of popcount x needs.  The design covers
 * a pair of two records at the design popcount P, Hamming distance up to
 * 2 P (1 - t); a pair with x at the threshold is at most (x + y)(1 - t)
 * apart, y the largest popcount <= P that the popcount bound lets pair with
 * x, and fewer tables reach the recall at that distance.  A record is put in
 * and looks in the first lpop[x] tables only: a pair at the threshold shares
 * the first min(lpop[x], lpop[y]) tables, and both cover its distance.  On
 * real CLKs most records are well below P (popcount 350 needs a third of the
 * tables of popcount 508).  Not with forced tables or field scoring.
 */
static int
plan_lpop(struct ctx *c, const struct udc_fuzzy_params *p)
{
	uint32_t P = c->dpop[0], x;
	unsigned k;

	if (c->mode != UDC_FUZZY_LSH || c->nseg != 1 || p->lsh_tables != 0 || c->L == 0)
		return 0;
	k = c->tk[0];
	if ((c->lpop = malloc((c->segbits + 1) * sizeof(*c->lpop))) == NULL)
		return UDC_ENOMEM;
	for (x = 0; x <= c->segbits; x++)
		c->lpop[x] = (uint16_t)(x > 0 && x <= P
		                            ? tables_at(c, x, partner_max(c, x, P), k, p->lsh_recall, c->L)
		                            : c->L);
	return 0;
}

/*
 * The LSH tables are the matcher's largest and most randomly read memory
 * (100,000 CBS records on real CLKs: 523 tables, about 360 MB): one lookup
 * per table and A record, each a TLB miss on 4 KB pages.  They are kept in two
 * anonymous mappings (zero-filled, so the offsets need no clearing) with
 * transparent huge pages asked for, where the kernel gives them (THP
 * "madvise" or "always"); otherwise they work as before.
 */
static void *
big_alloc(size_t bytes)
{
	void *p;

	if (bytes == 0)
		bytes = 1;
	p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (p == MAP_FAILED)
		return NULL;
#ifdef MADV_HUGEPAGE
	if (bytes >= ((size_t)2 << 20))
		(void)madvise(p, bytes, MADV_HUGEPAGE); /* advice: fine if refused */
#endif
	return p;
}

static void
big_free(void *p, size_t bytes)
{
	if (p != NULL)
		munmap(p, bytes ? bytes : 1);
}

/* B record i has an entry in table l (of segment sg): not above a design
 * popcount (compared directly), its filter sg not empty, and, with tables
 * per popcount, l among the tables its popcount needs. */
static int
in_table(const struct ctx *c, size_t i, size_t l, size_t sg)
{
	return c->pbs[i * c->nseg + sg] > 0 && !outlier(c, c->pbs + i * c->nseg) &&
	       (c->lpop == NULL || l < c->lpop[c->pbs[i]]);
}

static int
build_table(void *arg, size_t begin, size_t end)
{
	struct ctx *c = arg;
	size_t l, i, nbk;
	uint32_t *hv = NULL;

	if ((hv = malloc((c->n_b ? c->n_b : 1) * sizeof(*hv))) == NULL)
		return UDC_ENOMEM;
	for (l = begin; l < end; l++) {
		struct table *tb = &c->tables[l];
		const uint16_t *pos = c->pos + l * MAXK;
		size_t sg = c->tseg[l];

		/* zero-filled mappings (build_lsh placed tb->off, tb->ent) */
		nbk = (size_t)1 << tb->rbits;
		for (i = 0; i < c->n_b; i++) {
			hv[i] = 0;
			if (!in_table(c, i, l, sg))
				continue;
			hv[i] = key_hash(extract(c->b + i * c->nwords, pos, c->tk[l]), (unsigned)l);
			tb->off[(tb->rbits == 0 ? 0 : hv[i] >> (32 - tb->rbits)) + 1]++;
		}
		for (i = 0; i < nbk; i++)
			tb->off[i + 1] += tb->off[i];
		/* off[bucket] is used as the fill cursor, then shifted back */
		for (i = 0; i < c->n_b; i++) {
			uint32_t bk;

			if (!in_table(c, i, l, sg))
				continue;
			bk = tb->rbits == 0 ? 0 : hv[i] >> (32 - tb->rbits);
			tb->ent[tb->off[bk]].h = hv[i];
			tb->ent[tb->off[bk]].b = (uint32_t)i;
			tb->off[bk]++;
		}
		for (i = nbk; i > 0; i--)
			tb->off[i] = tb->off[i - 1];
		tb->off[0] = 0;
	}
	free(hv);
	return 0;
}

static int
cmp_u16(const void *x, const void *y)
{
	uint16_t p = *(const uint16_t *)x, q = *(const uint16_t *)y;

	return (p > q) - (p < q);
}

static int
build_lsh(struct ctx *c, struct udc_workq *wq, uint64_t seed)
{
	uint16_t *perm = NULL;
	size_t i, j, l, total, offs, *nent = NULL, *cnt = NULL;
	int rv;

	if ((perm = malloc(c->segbits * sizeof(*perm))) == NULL ||
	    (c->pos = malloc(((size_t)c->L * MAXK + 1) * sizeof(*c->pos))) == NULL ||
	    (c->tables = calloc(c->L, sizeof(*c->tables))) == NULL ||
	    (c->bout = malloc((c->n_b ? c->n_b : 1) * sizeof(*c->bout))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	/* k distinct positions of the table's segment per table (partial
	 * Fisher-Yates), sorted so that a key reads the filter front to back */
	for (l = 0; l < c->L; l++) {
		unsigned k = c->tk[l];

		for (i = 0; i < c->segbits; i++)
			perm[i] = (uint16_t)(c->tseg[l] * c->segbits + i);
		for (i = 0; i < k; i++) {
			uint16_t x;

			j = i + fz_splitmix64(&seed) % (c->segbits - i);
			x = perm[i];
			perm[i] = perm[j];
			perm[j] = x;
		}
		qsort(perm, k, sizeof(*perm), cmp_u16);
		memcpy(c->pos + l * MAXK, perm, k * sizeof(*perm));
	}
	for (i = 0; i < c->nslots; i++)
		if ((c->slots[i].hv = malloc(3 * (size_t)c->L * sizeof(uint32_t))) == NULL) {
			rv = UDC_ENOMEM;
			goto out;
		} else {
			c->slots[i].lo = c->slots[i].hv + c->L;
			c->slots[i].hi = c->slots[i].lo + c->L;
		}
	c->nbout = 0;
	for (j = 0; j < c->n_b; j++)
		if (outlier(c, c->pbs + (size_t)c->order[j] * c->nseg))
			c->bout[c->nbout++] = c->order[j];
	/* the entries of each table (in_table, counted per popcount or per
	 * segment rather than per record and table), packed table after
	 * table */
	if ((nent = calloc(c->L, sizeof(*nent))) == NULL ||
	    (cnt = calloc(c->lpop != NULL ? c->segbits + 1 : c->nseg, sizeof(*cnt))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	/* per popcount (lpop), else per segment: the records indexed */
	for (j = 0; j < c->n_b; j++) {
		const uint32_t *pbs = c->pbs + j * c->nseg;

		for (i = 0; !outlier(c, pbs) && i < c->nseg; i++)
			if (pbs[i] > 0)
				cnt[c->lpop != NULL ? pbs[i] : i]++;
	}
	for (l = 0; l < c->L; l++)
		if (c->lpop == NULL)
			nent[l] = cnt[c->tseg[l]];
		else
			for (i = 1; i <= c->segbits; i++)
				nent[l] += l < c->lpop[i] ? cnt[i] : 0;
	/* about two entries per bucket (one to two; later tables hold fewer
	 * records).  A lookup reads a bucket's bounds, then its entries, two
	 * cache misses whatever the bucket size; half as many buckets as
	 * entries halves the bounds (measured, bench_fields record on the 100k
	 * benchmark lists, 2026-12-04: peak RSS 421 -> 347 MB, index 1.0 ->
	 * 0.7 s, scoring unchanged at 2.8-3.1 s; four per bucket saved another
	 * 37 MB but scored 0.1-0.3 s slower, the longer buckets scanned). */
	for (l = 0, total = 0, offs = 0; l < c->L; l++) {
		unsigned rb = 0;

		while (rb < 30 && ((size_t)2 << rb) < nent[l])
			rb++;
		c->tables[l].rbits = rb;
		offs += ((size_t)1 << rb) + 1;
		total += nent[l];
	}
	c->off_bytes = offs * sizeof(*c->off_all);
	c->ent_bytes = (total ? total : 1) * sizeof(*c->ent_all);
	if ((c->off_all = big_alloc(c->off_bytes)) == NULL ||
	    (c->ent_all = big_alloc(c->ent_bytes)) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	for (l = 0, total = 0, offs = 0; l < c->L; l++) {
		c->tables[l].ent = c->ent_all + total;
		c->tables[l].off = c->off_all + offs;
		total += nent[l];
		offs += ((size_t)1 << c->tables[l].rbits) + 1;
	}
	if (wq != NULL)
		rv = udc_workq_parallel(wq, c->L, 1, build_table, c);
	else
		rv = build_table(c, 0, c->L);
out:
	free(perm);
	free(nent);
	free(cnt);
	return rv;
}

/* ---------- 1:1 resolution ---------- */

/* Pair of A record x's current candidate ranks before y's: higher score,
 * lower A index, lower B index. */
static int
pq_before(const struct ctx *c, const uint8_t *cur, uint32_t x, uint32_t y)
{
	const struct cand *p = &c->cands[(size_t)x * c->topk + cur[x]];
	const struct cand *q = &c->cands[(size_t)y * c->topk + cur[y]];

	if (p->score != q->score)
		return p->score > q->score;
	return x < y;
}

static void
pq_down(const struct ctx *c, const uint8_t *cur, uint32_t *pq, size_t n, size_t i)
{
	uint32_t x = pq[i];

	for (;;) {
		size_t l = 2 * i + 1, m = i;
		uint32_t best = x;

		if (l < n && pq_before(c, cur, pq[l], best)) {
			m = l;
			best = pq[l];
		}
		if (l + 1 < n && pq_before(c, cur, pq[l + 1], best))
			m = l + 1;
		if (m == i)
			break;
		pq[i] = pq[m];
		i = m;
	}
	pq[i] = x;
}

static int
resolve(struct ctx *c, struct udc_fuzzy_result *r)
{
	uint8_t *cur = NULL, *taken = NULL;
	uint32_t *pq = NULL;
	size_t n = 0, i;
	struct counters k = {0, 0, 0, 0, 0};
	struct scratch *sc;
	int rv = 0;

	if ((cur = calloc(c->n_a ? c->n_a : 1, 1)) == NULL ||
	    (taken = calloc(c->n_b ? c->n_b : 1, 1)) == NULL ||
	    (pq = malloc((c->n_a ? c->n_a : 1) * sizeof(*pq))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	for (i = 0; i < c->n_a; i++)
		if (c->ncand[i] > 0)
			pq[n++] = (uint32_t)i;
	for (i = n / 2; i-- > 0;)
		pq_down(c, cur, pq, n, i);

	c->taken = taken;
	sc = fz_scratch_get(c);
	while (n > 0) {
		uint32_t x = pq[0];
		const struct cand *p = &c->cands[(size_t)x * c->topk + cur[x]];

		if (!taken[p->b]) {
			taken[p->b] = 1;
			r->link[x] = p->b;
			r->score[x] = p->score;
			r->nlinks++;
			r->band[udc_fuzzy_band(r, p->score)]++;
			pq[0] = pq[--n];
		} else if (++cur[x] < c->ncand[x]) {
			/* its next candidate ranks after this one: sift down */
		} else if (c->ncand[x] == c->topk) {
			/* the list was full, so there may be more candidates:
			 * all better-ranked B are taken, the next ones rank
			 * after the pair just popped */
			r->stats.requeries++;
			query(c, sc, x, &k);
			cur[x] = 0;
			if (c->ncand[x] == 0)
				pq[0] = pq[--n];
		} else {
			pq[0] = pq[--n];
		}
		if (n > 0)
			pq_down(c, cur, pq, n, 0);
	}
	fz_scratch_put(sc);
	c->taken = NULL;
	fz_counters_flush(c, &k);
out:
	free(cur);
	free(taken);
	free(pq);
	return rv;
}

/* ---------- API ---------- */

void
udc_fuzzy_params_default(struct udc_fuzzy_params *p)
{
	memset(p, 0, sizeof(*p));
	p->threshold = UDC_FUZZY_DEFAULT_THRESHOLD;
	p->blocking = UDC_FUZZY_AUTO;
	p->lsh_recall = UDC_FUZZY_DEFAULT_LSH_RECALL;
	p->topk = UDC_FUZZY_DEFAULT_TOPK;
	p->size_filter = 1;
	p->seed = 0x75646326636273ULL;
}

int
udc_fuzzy_band(const struct udc_fuzzy_result *r, double score)
{
	int i;

	for (i = UDC_FUZZY_NBANDS - 1; i > 0; i--)
		if (score >= r->band_lo[i])
			break;
	return i;
}

void
udc_fuzzy_result_free(struct udc_fuzzy_result *r)
{
	if (r == NULL)
		return;
	free(r->link);
	free(r->score);
	free(r);
}

static void
ctx_free(struct ctx *c)
{
	size_t i;

	if (c->pas != c->pa)
		free(c->pas);
	if (c->pbs != c->pb)
		free(c->pbs);
	free(c->ma);
	free(c->mb);
	free(c->pa);
	free(c->pb);
	free(c->order);
	free(c->spop);
	free(c->sorted);
	free(c->pos);
	free(c->tk);
	free(c->tseg);
	free(c->dpop);
	free(c->lpop);
	free(c->indexed);
	big_free(c->off_all, c->off_bytes);
	big_free(c->ent_all, c->ent_bytes);
	free(c->tables);
	free(c->bout);
	free(c->cands);
	free(c->ncand);
	if (c->slots != NULL)
		for (i = 0; i < c->nslots; i++) {
			free(c->slots[i].stamp);
			free(c->slots[i].hv);
		}
	free(c->slots);
	udc_fjoin_free(c->fj);
}

int
udc_fuzzy_link(struct udc_fuzzy_result **out, const struct udc_fuzzy_params *p,
               struct udc_workq *wq, const uint64_t *a, size_t n_a, const uint64_t *b, size_t n_b,
               size_t nbits)
{
	static const double edges[UDC_FUZZY_NBANDS - 1] = {0.85, 0.90, 0.95};
	struct udc_fuzzy_result *r = NULL;
	struct ctx c;
	double t0, t1, t2;
	size_t i, one = 1;
	int rv;

	*out = NULL;
	memset(&c, 0, sizeof(c));
	if (p == NULL || !(p->threshold > 0.0 && p->threshold <= 1.0) || nbits == 0 ||
	    nbits > 65535 || p->topk < 1 || p->topk > UDC_FUZZY_MAX_TOPK ||
	    !(p->lsh_recall > 0.0 && p->lsh_recall < 1.0) || p->lsh_bits > 64 ||
	    (p->lsh_bits > nbits) || (int)p->blocking < 0 || p->blocking > UDC_FUZZY_JOIN ||
	    (p->blocking == UDC_FUZZY_JOIN && p->segments < 2) ||
	    (int)p->join_form < 0 || p->join_form > UDC_FUZZY_JOIN_LADDER ||
	    (n_a > 0 && a == NULL) || (n_b > 0 && b == NULL) ||
	    p->segments > UDC_FUZZY_MAX_SEGMENTS ||
	    (p->segments > 1 && (nbits % p->segments != 0 || (nbits / p->segments) % 64 != 0)))
		return UDC_EINVAL;
	if (n_a >= UINT32_MAX || n_b >= UINT32_MAX)
		return UDC_ELIMIT;

	t0 = fz_now();
	c.t = p->threshold;
	c.topk = p->topk;
	c.size_filter = p->size_filter;
	c.a = a;
	c.b = b;
	c.n_a = n_a;
	c.n_b = n_b;
	c.nbits = nbits;
	c.nwords = udc_dice_nwords(nbits);
	c.nseg = p->segments > 1 ? p->segments : 1;
	c.segbits = nbits / c.nseg;
	c.segw = c.nseg > 1 ? c.segbits / 64 : c.nwords;
	/* the popcount bound holds for the Dice of whole filters only */
	if (c.nseg > 1)
		c.size_filter = 0;
	c.nslots = wq != NULL ? udc_workq_width(wq) + 1 : 1;
	if ((r = calloc(1, sizeof(*r))) == NULL ||
	    (r->link = malloc((n_a ? n_a : one) * sizeof(*r->link))) == NULL ||
	    (r->score = calloc(n_a ? n_a : one, sizeof(*r->score))) == NULL ||
	    (c.pa = malloc((n_a ? n_a : one) * sizeof(*c.pa))) == NULL ||
	    (c.pb = malloc((n_b ? n_b : one) * sizeof(*c.pb))) == NULL ||
	    (c.order = malloc((n_b ? n_b : one) * sizeof(*c.order))) == NULL ||
	    (c.spop = malloc((n_b ? n_b : one) * sizeof(*c.spop))) == NULL ||
	    (c.cands = malloc((n_a ? n_a : one) * p->topk * sizeof(*c.cands))) == NULL ||
	    (c.ncand = calloc(n_a ? n_a : one, 1)) == NULL ||
	    (c.dpop = malloc(c.nseg * sizeof(*c.dpop))) == NULL ||
	    (c.indexed = calloc(c.nseg, 1)) == NULL ||
	    (c.slots = calloc(c.nslots, sizeof(*c.slots))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	for (i = 0; i < c.nslots; i++)
		if ((c.slots[i].stamp = calloc(n_b ? n_b : one, sizeof(uint32_t))) == NULL) {
			rv = UDC_ENOMEM;
			goto out;
		}
	for (i = 0; i < n_a; i++)
		r->link[i] = -1;
	r->n_a = n_a;
	r->band_lo[0] = c.t;
	for (i = 0; i < UDC_FUZZY_NBANDS - 1; i++)
		r->band_lo[i + 1] = edges[i] > c.t ? edges[i] : c.t;
	r->band_lo[UDC_FUZZY_NBANDS] = 1.0;

	udc_dice_popcounts(a, n_a, c.nwords, c.pa);
	udc_dice_popcounts(b, n_b, c.nwords, c.pb);
	if (c.nseg == 1) {
		c.pas = c.pa;
		c.pbs = c.pb;
	} else if ((c.pas = malloc((n_a ? n_a : one) * c.nseg * sizeof(*c.pas))) == NULL ||
	           (c.pbs = malloc((n_b ? n_b : one) * c.nseg * sizeof(*c.pbs))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	} else {
		/* filter s of record i is words [i nwords + s segw, + segw) */
		udc_dice_popcounts(a, n_a * c.nseg, c.segw, c.pas);
		udc_dice_popcounts(b, n_b * c.nseg, c.segw, c.pbs);
		if ((c.ma = calloc(n_a ? n_a : one, sizeof(*c.ma))) == NULL ||
		    (c.mb = calloc(n_b ? n_b : one, sizeof(*c.mb))) == NULL) {
			rv = UDC_ENOMEM;
			goto out;
		}
		for (i = 0; i < n_a * c.nseg; i++)
			c.ma[i / c.nseg] |= (uint64_t)(c.pas[i] > 0) << (i % c.nseg);
		for (i = 0; i < n_b * c.nseg; i++)
			c.mb[i / c.nseg] |= (uint64_t)(c.pbs[i] > 0) << (i % c.nseg);
	}
	if ((rv = build_order(&c)) != 0 || (rv = plan(&c, p, &r->stats, wq)) != 0 ||
	    (rv = plan_lpop(&c, p)) != 0)
		goto out;
	if (c.mode == UDC_FUZZY_EXHAUSTIVE) {
		if ((rv = sorted_copy(&c)) != 0)
			goto out;
	} else if (c.mode == UDC_FUZZY_LSH && (rv = build_lsh(&c, wq, p->seed)) != 0) {
		goto out;
	}
	t1 = fz_now();
	if (c.mode == UDC_FUZZY_JOIN)
		rv = udc_fjoin_score(&c, wq);
	else if (wq != NULL)
		rv = udc_workq_parallel(wq, n_a, 64, score_range, &c);
	else
		rv = score_range(&c, 0, n_a);
	if (rv != 0)
		goto out;
	t2 = fz_now();
	if ((rv = resolve(&c, r)) != 0)
		goto out;

	r->stats.pairs_total = (uint64_t)n_a * n_b;
	r->stats.candidates = atomic_load(&c.candidates);
	r->stats.size_pruned = atomic_load(&c.size_pruned);
	r->stats.compared = atomic_load(&c.compared);
	r->stats.above_threshold = atomic_load(&c.above);
	r->stats.reduction = r->stats.compared
	                         ? (double)r->stats.pairs_total / (double)r->stats.compared
	                         : (double)r->stats.pairs_total;
	r->stats.blocking = c.mode;
	if (c.mode == UDC_FUZZY_LSH) {
		r->stats.lsh_tables = c.L;
		r->stats.lsh_lookups = atomic_load(&c.lookups);
		r->stats.outliers_b = c.nbout;
		for (i = 0; i < n_a; i++)
			r->stats.outliers_a += (size_t)outlier(&c, c.pas + i * c.nseg);
	} else {
		r->stats.design_popcount = (uint32_t)c.segbits;
		r->stats.hamming_design = 0;
		r->stats.lsh_pair_recall = 1.0;
	}
	r->stats.secs_index = t1 - t0;
	r->stats.secs_score = t2 - t1;
	r->stats.secs_resolve = fz_now() - t2;
	if (c.fj != NULL)
		udc_fjoin_counts(c.fj, &r->stats.join_checked, &r->stats.join_direct_pairs);
	*out = r;
	r = NULL;
	rv = 0;
out:
	ctx_free(&c);
	udc_fuzzy_result_free(r);
	return rv;
}

/* ---------- best-match scores of a sample ---------- */

struct best_arg {
	struct ctx *c;
	const size_t *idx;
	double *out;
};

/* 1 if the fraction num / den is above bn / bd (all small: no overflow). */
static int
beats(uint64_t num, uint64_t den, uint64_t bn, uint64_t bd)
{
	return num * bd > bn * den;
}

/*
 * Record scoring: the best score of A record i.  B in popcount order (sorted,
 * spop), scanned outwards from the record's own popcount in blocks of 256,
 * each side until the popcount bound 2 min(pa, pb) / (pa + pb) of its nearest
 * remaining record cannot beat the best (a record with a true match stops
 * after a narrow window).  The best is kept as the fraction bn / bd; a block
 * is checked for a better score by multiplications, no division per pair.
 */
static double
best_record(const struct ctx *c, size_t i, uint32_t cnt[256])
{
	const uint64_t *q = c->a + i * c->nwords;
	uint64_t bn = 0, bd = 1, pa = c->pa[i];
	size_t lo, hi;

	lo = hi = pop_bound(c->spop, 0, c->n_b, (uint32_t)pa, 0);
	while (pa > 0) {
		int down = lo > 0 && beats(2 * (uint64_t)c->spop[lo - 1], pa + c->spop[lo - 1], bn, bd);
		int up = hi < c->n_b && beats(2 * pa, pa + c->spop[hi], bn, bd);
		size_t j, m;
		int hit = 0;

		if (!down && !up)
			break;
		/* the side whose nearest popcount is closer to pa */
		if (down && (!up || pa - c->spop[lo - 1] <= c->spop[hi] - pa)) {
			m = lo < 256 ? lo : 256;
			j = lo - m;
			lo = j;
		} else {
			m = c->n_b - hi < 256 ? c->n_b - hi : 256;
			j = hi;
			hi += m;
		}
		udc_dice_and_counts(q, c->sorted + j * c->nwords, m, c->nwords, cnt);
		for (size_t x = 0; x < m; x++)
			hit |= beats(2 * (uint64_t)cnt[x], pa + c->spop[j + x], bn, bd);
		for (size_t x = 0; hit && x < m; x++)
			if (beats(2 * (uint64_t)cnt[x], pa + c->spop[j + x], bn, bd)) {
				bn = 2 * (uint64_t)cnt[x];
				bd = pa + c->spop[j + x];
			}
	}
	return (double)bn / (double)bd;
}

/* Field scoring: the best score of A record i over every B record. */
static double
best_fields(const struct ctx *c, size_t i, uint32_t cnt[256])
{
	const uint64_t *q = c->a + i * c->nwords;
	double best = 0;

	for (size_t j = 0; j < c->n_b; j += 256) {
		size_t m = c->n_b - j < 256 ? c->n_b - j : 256;

		udc_dice_and_counts(q, c->b + j * c->nwords, m, c->nwords, cnt);
		for (size_t x = 0; x < m; x++) {
			uint32_t pa = c->pa[i], pb = c->pb[j + x];
			double sc;

			if (!shared_pops(c, i, (uint32_t)(j + x), &pa, &pb))
				continue;
			sc = udc_dice_from_counts(cnt[x], pa, pb);
			if (sc > best)
				best = sc;
		}
	}
	return best;
}

static int
best_range(void *arg, size_t begin, size_t end)
{
	struct best_arg *ba = arg;
	uint32_t cnt[256];

	for (size_t k = begin; k < end; k++)
		ba->out[k] = ba->c->nseg == 1 ? best_record(ba->c, ba->idx[k], cnt)
		                              : best_fields(ba->c, ba->idx[k], cnt);
	return 0;
}

int
udc_fuzzy_best_scores(const uint64_t *a, size_t n_a, const uint64_t *b, size_t n_b,
                      size_t nbits, unsigned segments, size_t nsample, uint64_t seed,
                      struct udc_workq *wq, double *out)
{
	struct ctx c;
	struct best_arg ba;
	size_t ns = n_a < nsample ? n_a : nsample, *idx = NULL, i, one = 1;
	int rv = UDC_ENOMEM;

	memset(&c, 0, sizeof(c));
	if (nbits == 0 || nbits > 65535 || segments > UDC_FUZZY_MAX_SEGMENTS ||
	    (segments > 1 && (nbits % segments != 0 || (nbits / segments) % 64 != 0)) ||
	    (n_a > 0 && a == NULL) || (n_b > 0 && b == NULL) || n_a >= UINT32_MAX ||
	    n_b >= UINT32_MAX)
		return UDC_EINVAL;
	c.a = a;
	c.b = b;
	c.n_a = n_a;
	c.n_b = n_b;
	c.nwords = udc_dice_nwords(nbits);
	c.nseg = segments > 1 ? segments : 1;
	c.segw = c.nseg > 1 ? nbits / c.nseg / 64 : c.nwords;
	if ((idx = malloc((ns ? ns : one) * sizeof(*idx))) == NULL ||
	    (c.pa = malloc((n_a ? n_a : one) * sizeof(*c.pa))) == NULL ||
	    (c.pb = malloc((n_b ? n_b : one) * sizeof(*c.pb))) == NULL)
		goto out;
	udc_dice_popcounts(a, n_a, c.nwords, c.pa);
	udc_dice_popcounts(b, n_b, c.nwords, c.pb);
	if (c.nseg > 1) {
		if ((c.pas = malloc((n_a ? n_a : one) * c.nseg * sizeof(*c.pas))) == NULL ||
		    (c.pbs = malloc((n_b ? n_b : one) * c.nseg * sizeof(*c.pbs))) == NULL ||
		    (c.ma = calloc(n_a ? n_a : one, sizeof(*c.ma))) == NULL ||
		    (c.mb = calloc(n_b ? n_b : one, sizeof(*c.mb))) == NULL)
			goto out;
		udc_dice_popcounts(a, n_a * c.nseg, c.segw, c.pas);
		udc_dice_popcounts(b, n_b * c.nseg, c.segw, c.pbs);
		for (i = 0; i < n_a * c.nseg; i++)
			c.ma[i / c.nseg] |= (uint64_t)(c.pas[i] > 0) << (i % c.nseg);
		for (i = 0; i < n_b * c.nseg; i++)
			c.mb[i / c.nseg] |= (uint64_t)(c.pbs[i] > 0) << (i % c.nseg);
	} else {
		c.pas = c.pa;
		c.pbs = c.pb;
		/* B in popcount order, the filters copied so (best_record) */
		if ((c.order = malloc((n_b ? n_b : one) * sizeof(*c.order))) == NULL ||
		    (c.spop = malloc((n_b ? n_b : one) * sizeof(*c.spop))) == NULL ||
		    build_order(&c) != 0 || sorted_copy(&c) != 0)
			goto out;
	}
	/* the sample: every record, or a partial Fisher-Yates over A */
	if (ns == n_a) {
		for (i = 0; i < ns; i++)
			idx[i] = i;
	} else {
		size_t *perm = malloc(n_a * sizeof(*perm));

		if (perm == NULL)
			goto out;
		for (i = 0; i < n_a; i++)
			perm[i] = i;
		for (i = 0; i < ns; i++) {
			size_t j = i + fz_splitmix64(&seed) % (n_a - i), t = perm[i];

			perm[i] = perm[j];
			perm[j] = t;
			idx[i] = perm[i];
		}
		free(perm);
	}
	ba.c = &c;
	ba.idx = idx;
	ba.out = out;
	if (wq != NULL)
		rv = udc_workq_parallel(wq, ns, 4, best_range, &ba);
	else
		rv = best_range(&ba, 0, ns);
out:
	if (c.pas != c.pa)
		free(c.pas);
	if (c.pbs != c.pb)
		free(c.pbs);
	free(c.pa);
	free(c.pb);
	free(c.ma);
	free(c.mb);
	free(c.order);
	free(c.spop);
	free(c.sorted);
	free(idx);
	return rv;
}
