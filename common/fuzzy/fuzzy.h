/*
 * fuzzy.h - 1:1 linkage of two sets of CLKs (Bloom filters) by Dice score.
 *
 * The CBS node's step in fuzzy mode: given the gemeente's CLKs (set A) and
 * its own (set B), all of one bit length and packed as dice.h words, find for
 * each A record the B record it links to.  A pair can link only if its Dice
 * coefficient is >= the threshold; the links are 1:1 and chosen greedily,
 * best score first, ties broken by lower A index, then lower B index.
 *
 * Blocking (which pairs are compared at all):
 *   - a popcount bound that is exact: Dice >= t needs
 *     |A| t / (2 - t) <= |B| <= |A| (2 - t) / t, so other pairs cannot pass;
 *   - Hamming LSH: L tables, each keyed by k bit positions sampled from the
 *     filter; a pair is a candidate if it agrees on all k bits in any table.
 *     k and L are derived from the threshold and the popcounts so that a pair
 *     at the threshold is a candidate with probability >= lsh_recall (0.999);
 *     docs/fuzzy.md has the arithmetic.  Records with unusually many bits set
 *     (above the design popcount) are compared exhaustively instead.
 *   - or no blocking at all (exhaustive), the reference.
 *
 * Field scoring (segments n > 1): each record is n filters of nbits / n bits
 * (a multiple of 64), one per feature, and a pair scores the Dice over the
 * features that are non-empty on both sides:
 *     2 sum_s |A_s & B_s| / sum_s (|A_s| + |B_s|),  s with |A_s|, |B_s| > 0,
 * so a field missing on one side neither counts for nor against the pair
 * (with no field missing this is the Dice of the concatenated filters).  The
 * popcount bound does not hold for it and is off.  Its blocking is the
 * feature join (fjoin.c): a pair at or above the threshold either passes
 * one of the plan's conjunctions of features (each feature's own Dice at
 * or above a bound derived from the threshold), which are searched
 * exactly, value against value, or its margins show it may not, and then
 * it is compared directly; so no such pair is lost.  AUTO uses it where it
 * is estimated cheaper than comparing every pair.
 *
 * Memory is bounded by the inputs, never by the number of pairs above the
 * threshold: each A record keeps only its topk best candidates; the greedy
 * resolution asks the index again for a record whose topk were all taken, so
 * the result equals the greedy 1:1 linkage over every blocked candidate pair.
 */
#ifndef UDC_FUZZY_H
#define UDC_FUZZY_H

#include <stddef.h>
#include <stdint.h>

struct udc_workq;

/* Default thresholds, in thousandths and as scores, measured (docs/fuzzy.md,
 * "Thresholds"): record scoring keeps precision and recall >= 0.99 on FEBRL
 * from 0.80 to 0.925 and on the generated Den Haag data from 0.70 to 0.85;
 * field scoring keeps both >= 0.95 on the anonlink tutorial data from 0.65
 * to 0.75, on FEBRL from 0.60 to 0.925 and on the generated data from 0.65
 * to 0.80.  Each default sits inside the range of every data set. */
#define UDC_FUZZY_DEFAULT_THRESHOLD_MILLI 850
#define UDC_FUZZY_DEFAULT_THRESHOLD_FIELDS_MILLI 700
#define UDC_FUZZY_DEFAULT_THRESHOLD (UDC_FUZZY_DEFAULT_THRESHOLD_MILLI / 1000.0)
#define UDC_FUZZY_DEFAULT_THRESHOLD_FIELDS (UDC_FUZZY_DEFAULT_THRESHOLD_FIELDS_MILLI / 1000.0)
/* threshold = auto without a target_precision */
#define UDC_FUZZY_DEFAULT_TARGET_PRECISION_MILLI 990
#define UDC_FUZZY_DEFAULT_TOPK 8
#define UDC_FUZZY_MAX_TOPK 64
#define UDC_FUZZY_DEFAULT_LSH_RECALL 0.999
/* Similarity bands of the linkage report: [t, .85) [.85, .90) [.90, .95)
 * [.95, 1]; a band below the threshold is empty. */
#define UDC_FUZZY_NBANDS 4
#define UDC_FUZZY_MAX_SEGMENTS 64
#define UDC_FUZZY_MAX_CONJ 64 /* conjunctions of the feature join's plan */
#define UDC_FUZZY_JOIN_LEVELS 3 /* thresholds of one feature in the join (a ladder), at most */
/* Field scoring: the features present on both sides must hold at least this
 * share of each record's bits, or the pair scores 0 (two records that share
 * only a field with few values, such as sex, are no evidence). */
#define UDC_FUZZY_COVERAGE_NUM 1
#define UDC_FUZZY_COVERAGE_DEN 3

enum udc_fuzzy_blocking {
	UDC_FUZZY_AUTO = 0,       /* record scoring: LSH, field scoring: the feature
	                           * join; exhaustive where that is cheaper */
	UDC_FUZZY_LSH = 1,        /* Hamming LSH plus the popcount bound (field
	                           * scoring: tables per feature, not lossless) */
	UDC_FUZZY_EXHAUSTIVE = 2, /* every pair within the popcount bound */
	UDC_FUZZY_JOIN = 3,       /* field scoring: the feature join (fjoin.c), exact */
};

/* Field scoring, the feature join: what it may look up. */
enum udc_fuzzy_join_form {
	UDC_FUZZY_JOIN_ANY = 0,    /* the cheapest plan (default) */
	UDC_FUZZY_JOIN_SINGLE = 1, /* single features only (a disjunction) */
	UDC_FUZZY_JOIN_PAIRS = 2,  /* at least one conjunction of two features or
	                            * more (tests) */
	UDC_FUZZY_JOIN_LADDER = 3, /* a ladder: at least one conjunction that needs
	                            * a feature above its lowest threshold (tests) */
};

struct udc_fuzzy_params {
	double threshold;                 /* link only if the score >= threshold, (0, 1] */
	enum udc_fuzzy_blocking blocking; /* default AUTO */
	double lsh_recall;                /* P(pair at threshold is a candidate), (0, 1) */
	unsigned lsh_bits;                /* k, 1..64; 0 = chosen by the cost model */
	unsigned lsh_tables;              /* L; 0 = from k and lsh_recall */
	unsigned topk;                    /* candidates kept per A record, 1..MAX_TOPK */
	int size_filter;                  /* 1 = popcount bound (default); 0 for reference runs */
	uint64_t seed;                    /* choice of the LSH bit positions */
	unsigned segments;                /* 0 or 1: record scoring; n > 1: field scoring */
	enum udc_fuzzy_join_form join_form; /* default ANY */
};

struct udc_fuzzy_stats {
	uint64_t pairs_total;     /* n_a * n_b */
	uint64_t candidates;      /* distinct pairs the blocking proposed */
	uint64_t size_pruned;     /* of those, dropped by the popcount bound */
	uint64_t compared;        /* pairs whose Dice was computed */
	uint64_t above_threshold; /* compared pairs with Dice >= threshold */
	uint64_t requeries;       /* A records asked again in the 1:1 resolution */
	double reduction;         /* pairs_total / compared (1 = no reduction) */
	int blocking;             /* enum udc_fuzzy_blocking actually used */
	unsigned lsh_bits, lsh_tables;
	uint64_t lsh_lookups;          /* table lookups: each A record probes the tables its popcount needs */
	unsigned design_popcount;      /* the LSH guarantee covers pairs up to this popcount */
	unsigned hamming_design;       /* largest Hamming distance at the threshold */
	double lsh_pair_recall;        /* P(candidate) for a pair at the threshold */
	size_t outliers_a, outliers_b; /* records above the design popcount */
	/* the feature join: features looked up (bit s) and their thresholds,
	 * those looked up alone, the conjunctions (feature masks) and the
	 * feature that drives each, the patterns (sets of features passing no
	 * conjunction) the bound covers, the pairs of a driver checked against
	 * a conjunction's other features, pairs compared directly, estimated
	 * costs (ns) */
	uint64_t join_features;
	uint64_t join_alone;
	unsigned join_nconj;
	uint64_t join_conj[UDC_FUZZY_MAX_CONJ];
	unsigned join_conj_driver[UDC_FUZZY_MAX_CONJ];
	unsigned join_patterns;
	uint64_t join_checked;
	double join_tau;                /* the lowest of the features' thresholds */
	double join_feature_tau[UDC_FUZZY_MAX_SEGMENTS]; /* per feature joined (its lowest) */
	/* ladders: each feature's thresholds (ascending, join_levels of them),
	 * the features with more than one, and per conjunction the features it
	 * needs at the second level or higher ([0]) and at the third ([1]) */
	unsigned join_levels[UDC_FUZZY_MAX_SEGMENTS];
	double join_ladder[UDC_FUZZY_MAX_SEGMENTS][UDC_FUZZY_JOIN_LEVELS];
	uint64_t join_ladders;
	uint64_t join_conj_up[UDC_FUZZY_MAX_CONJ][UDC_FUZZY_JOIN_LEVELS - 1];
	uint64_t join_direct_pairs;
	double join_estimate, exhaustive_estimate;
	double secs_index, secs_score, secs_resolve;
};

struct udc_fuzzy_result {
	size_t n_a;
	int64_t *link; /* link[i]: B index linked to A record i, or -1 */
	double *score; /* score[i]: its Dice, 0 if unlinked */
	size_t nlinks;
	double
	    band_lo[UDC_FUZZY_NBANDS + 1]; /* band i is [band_lo[i], band_lo[i+1]), last closed */
	size_t band[UDC_FUZZY_NBANDS];     /* links per band */
	struct udc_fuzzy_stats stats;
};

/* Fills p with the defaults above (AUTO blocking, topk 8, size filter on). */
void udc_fuzzy_params_default(struct udc_fuzzy_params *p);

/*
 * Links a (n_a filters) against b (n_b filters), each filter nwords =
 * udc_dice_nwords(nbits) words with unused bits zero.  The inputs are only
 * read and may be freed after the call.  wq may be NULL (calling thread
 * only); otherwise the work is spread over the pool.
 *
 * On success returns 0 and *out is a new result owned by the caller
 * (udc_fuzzy_result_free).  On failure *out is NULL and the return value is
 * UDC_EINVAL (bad parameters, nbits 0 or > 65535), UDC_ELIMIT (a set of
 * 2^32 - 1 or more filters) or UDC_ENOMEM.  The result is the same for any
 * pool size and for the same seed.
 */
int udc_fuzzy_link(struct udc_fuzzy_result **out, const struct udc_fuzzy_params *p,
                   struct udc_workq *wq, const uint64_t *a, size_t n_a, const uint64_t *b,
                   size_t n_b, size_t nbits);
/* NULL is fine. */
void udc_fuzzy_result_free(struct udc_fuzzy_result *r);

/*
 * Best-match scores: for a sample of A records (all of A if n_a <= nsample,
 * else nsample chosen from seed), the highest score against any B record,
 * by comparing it with every one (the scores udc_fuzzy_link computes, with
 * segments > 1 for field scoring).  out must hold min(n_a, nsample)
 * scores.  Returns 0, UDC_EINVAL (bad sizes), UDC_ENOMEM.
 */
int udc_fuzzy_best_scores(const uint64_t *a, size_t n_a, const uint64_t *b, size_t n_b,
                          size_t nbits, unsigned segments, size_t nsample, uint64_t seed,
                          struct udc_workq *wq, double *out);

/* Band of a score >= threshold (0 .. NBANDS - 1) for the report. */
int udc_fuzzy_band(const struct udc_fuzzy_result *r, double score);

#endif
