/*
 * fuzzy_impl.h - what fuzzy.c (the matcher) and fjoin.c (its exact
 * blocking for field scoring) share.  Private to common/fuzzy.
 */
#ifndef UDC_FUZZY_IMPL_H
#define UDC_FUZZY_IMPL_H

#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

#include "fuzzy.h"

struct fjoin;

struct cand {
	double score;
	uint32_t b;
};

struct entry {
	uint32_t h; /* 32-bit hash of the k-bit key */
	uint32_t b;
};

struct table {
	uint32_t *off; /* (1 << rbits) + 1 bucket starts */
	struct entry *ent;
	unsigned rbits; /* bucket bits: about two entries per bucket of this table */
};

#define BATCH 64 /* candidates compared together */
#define MAXK 64  /* bits per LSH key, at most */

struct scratch {
	atomic_int busy;
	uint32_t *stamp; /* stamp[b] == epoch: b already seen for this query */
	uint32_t epoch;
	uint32_t *hv, *lo, *hi; /* per LSH table: key hash, bucket bounds */
	uint32_t batch[BATCH];
};

struct ctx {
	double t;
	unsigned topk;
	int size_filter;
	int mode; /* UDC_FUZZY_LSH, UDC_FUZZY_EXHAUSTIVE or UDC_FUZZY_JOIN */
	const uint64_t *a, *b;
	size_t n_a, n_b, nwords, nbits;
	uint32_t *pa, *pb;
	/* field scoring: nseg filters of segw words (segbits bits) per record;
	 * record scoring: nseg 1 and the segment is the whole filter */
	size_t nseg, segw, segbits;
	uint32_t *pas, *pbs; /* popcount of filter s of record i at [i * nseg + s] */
	uint64_t *ma, *mb;   /* field scoring: bit s set if filter s of the record is not empty */

	/* B ordered by popcount: windows of the popcount bound are ranges */
	uint32_t *order;  /* order[j] = B index */
	uint32_t *spop;   /* spop[j] = pb[order[j]] */
	uint64_t *sorted; /* exhaustive mode: the filters in that order */

	/* LSH: each table samples the bits of one segment */
	unsigned L;
	uint16_t *pos;  /* L * MAXK bit positions (of the whole filter) */
	uint8_t *tk;    /* tk[l]: bits per key of table l */
	uint16_t *tseg; /* tseg[l]: its segment */
	struct table *tables;
	/* every table's offsets and entries, one mapping each (big_alloc) */
	uint32_t *off_all;
	struct entry *ent_all;
	size_t off_bytes, ent_bytes;
	uint32_t *dpop;   /* per segment: the design popcount */
	/* record scoring: lpop[p] tables hold (and are probed by) a record of
	 * popcount p, the tables its worst pair at the threshold needs; NULL:
	 * all L */
	uint16_t *lpop;
	uint8_t *indexed; /* per segment: has LSH tables */
	uint32_t *bout;   /* B records above a design popcount, by popcount */
	size_t nbout;

	struct cand *cands; /* n_a * topk, best first */
	uint8_t *ncand;
	const uint8_t *taken; /* resolution phase: B already linked */

	struct scratch *slots;
	size_t nslots;

	struct fjoin *fj; /* UDC_FUZZY_JOIN: the feature join (fjoin.c) */

	atomic_uint_fast64_t candidates, size_pruned, compared, above, lookups;
};

struct counters {
	uint64_t candidates, size_pruned, compared, above, lookups;
};

double fz_now(void);
uint64_t fz_splitmix64(uint64_t *s);
struct scratch *fz_scratch_get(struct ctx *c);
void fz_scratch_put(struct scratch *s);
uint32_t fz_scratch_epoch(struct ctx *c, struct scratch *s);
void fz_counters_flush(struct ctx *c, const struct counters *k);
/* Compares B record b with A record ia (filter qa, popcount pa) and keeps
 * it in the heap h (nh entries, at most topk) if it reaches the threshold. */
void fz_consider(struct ctx *c, struct cand *h, unsigned *nh, struct counters *k, uint32_t b,
                 const uint64_t *qa, uint32_t pa, size_t ia);
/* The same for n candidates, their filters prefetched first. */
void fz_consider_batch(struct ctx *c, struct cand *h, unsigned *nh, struct counters *k,
                       const uint32_t *bs, size_t n, const uint64_t *qa, uint32_t pa, size_t ia);
void fz_sort_best_first(struct cand *h, unsigned n);

/* fjoin.c: plan the feature join (0 and *use set to 1 if it is cheaper
 * than comparing every pair, or forced), build it, score every A record,
 * query one again (resolution), free it. */
int udc_fjoin_plan(struct ctx *c, const struct udc_fuzzy_params *p, struct udc_fuzzy_stats *st,
                   struct udc_workq *wq, int *use);
int udc_fjoin_score(struct ctx *c, struct udc_workq *wq);
void udc_fjoin_query(struct ctx *c, struct scratch *sc, size_t i, struct counters *k);
void udc_fjoin_free(struct fjoin *fj);
/* Pairs of a driving feature checked against a conjunction's other one,
 * pairs compared directly (the scoring pass). */
void udc_fjoin_counts(struct fjoin *fj, uint64_t *checked, uint64_t *direct);

#endif
