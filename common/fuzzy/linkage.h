/*
 * linkage.h - the CBS node's linkage in fuzzy and combined modes: exact keys
 * first (combined), then Dice on the encodings of the records still
 * unlinked, and the linkage report.
 *
 * No threads of its own (the matcher may use the given pool), no sockets, no
 * session: the inputs are the two lists as the CBS node holds them after
 * phase 1, the outputs the pairs, which of the CBS records were linked and
 * the report that goes into the round's metadata.  party_cbs/link.c turns
 * the pairs into the count list.
 */
#ifndef UDC_LINKAGE_H
#define UDC_LINKAGE_H

#include <stddef.h>
#include <stdint.h>

#include "blist.h"
#include "fields.h"
#include "fuzzy.h"

struct udc_spec;
struct udc_workq;

#define UDC_LINKAGE_HANDLE_BYTES 32
/* The estimated curve: thresholds 0.500, 0.525, ..., 0.950 */
#define UDC_LINKAGE_CURVE 19
/* Best-match scores for the model: up to this many pairs compared, and
 * between these many records (all of them below the lower bound). */
#define UDC_LINKAGE_MODEL_PAIRS 500000000ULL
#define UDC_LINKAGE_MODEL_MIN 2000
#define UDC_LINKAGE_MODEL_MAX 5000

struct udc_linkage_in {
	const struct udc_spec *spec; /* mode and [fuzzy] settings */
	/* The gemeente's records: keys H(k)^ab (combined mode; nkeys of the
	 * spec), payload a 32-byte handle followed by the encoding. */
	const struct udc_blist *g;
	/* The CBS node's records: payload the encoding. */
	const struct udc_blist *own;
	/* Combined mode: the CBS records' keys raised to a and b, in own's
	 * order (NULL in fuzzy mode). */
	const struct udc_blist *ownx;
	size_t enc_bytes;                 /* bytes of an encoding */
	size_t enc_bits;                  /* bits compared (udc_clkctx_bits) */
	size_t segments;                  /* filters per encoding: 1, or one per feature */
	uint64_t seed;                    /* the matcher's LSH positions, the model's sample */
	struct udc_workq *wq;             /* may be NULL */
	enum udc_fuzzy_blocking blocking; /* AUTO (0) unless a test forces one */
	enum udc_fuzzy_join_form join_form; /* ANY (0) unless a test forces one */
};

struct udc_linkage_report {
	uint64_t exact[UDC_MAX_KEYS]; /* links per exact key (combined) */
	uint64_t fuzzy_links;
	uint64_t bands[UDC_FUZZY_NBANDS];       /* fuzzy links per similarity band */
	uint32_t band_lo[UDC_FUZZY_NBANDS + 1]; /* band edges, thousandths */
	size_t fuzzy_a, fuzzy_b;                /* records that went to the Dice step */
	struct udc_fuzzy_stats stats;           /* the matcher's (zero if it did not run) */
	uint32_t threshold;                     /* thousandths: what the Dice step used */
	int threshold_auto;                     /* chosen from the model (spec: auto) */
	uint32_t target_precision;              /* thousandths, with auto */
	/* the model of the best-match scores (scoremodel.h); sample 0: none */
	size_t model_sample;
	int model_gumbel;                 /* the better fit has a Gumbel U */
	double model_match_share;         /* estimated share of A with a partner */
	double est_precision, est_recall; /* at the threshold used */
	double secs_model;                /* sampling and fitting */
	size_t ncurve;
	uint32_t curve_t[UDC_LINKAGE_CURVE]; /* thousandths */
	double curve_p[UDC_LINKAGE_CURVE], curve_r[UDC_LINKAGE_CURVE];
	double curve_p_low[UDC_LINKAGE_CURVE]; /* the lower of the two fits (auto uses it) */
};

/*
 * Links in->g to in->own.  pair must hold in->g->n entries and receives the
 * own index linked to each gemeente record, or -1; own_linked (in->own->n
 * entries) is set to 1 for every linked CBS record, 0 otherwise.  Before the
 * Dice step the best-match scores of a sample of the gemeente records are
 * modelled (the curve of the report) and, with threshold = auto, the lowest
 * threshold whose estimated precision reaches the target is used.  Returns
 * 0, or a negative error with a reason in why (never an identifier):
 * UDC_EINVAL for inconsistent inputs or a threshold = auto that cannot be
 * chosen, UDC_ENOMEM, or the matcher's error.
 */
int udc_linkage_run(const struct udc_linkage_in *in, int64_t *pair, uint8_t *own_linked,
                    struct udc_linkage_report *rep, char *why, size_t whylen);

struct udc_scalar;
/*
 * The count list of a fuzzy or combined round at either node: point i of
 * out (an empty list of one key; n records are reserved) becomes s * H(round_id,
 * UDC_KEY_HANDLE, handle), where handle is the 32-byte link handle at
 * handles + idx[i] * stride (idx NULL: i * stride), hashed and blinded in
 * groups of eight on the pool (wq may be NULL).  Sets out->n = n; labels
 * are the caller's.  0, UDC_ENOMEM or UDC_ECRYPTO (an identity result,
 * never in practice).
 */
int udc_linkage_count_points(struct udc_blist *out, const uint8_t *handles, size_t stride,
                             const size_t *idx, size_t n, const struct udc_scalar *s,
                             const uint8_t round_id[16], struct udc_workq *wq);

#endif
