/*
 * linkage.c - exact keys first (combined mode), then Dice on the encodings
 * of the records still unlinked; the linkage report.
 *
 * Kept out of the CBS party so that it can be tested on lists built by
 * hand: party_cbs/link.c only hands over its lists and turns the pairs into
 * the count list.
 */
#include "linkage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <time.h>

#include "blind.h"
#include "dice.h"
#include "err.h"
#include "link.h"
#include "scoremodel.h"
#include "spec.h"
#include "workq.h"

static double
mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The model of the best-match scores of a sample of A, the curve, and with
 * threshold = auto the threshold. */
static int
model_and_threshold(const struct udc_linkage_in *in, const uint64_t *wa, size_t na,
                    const uint64_t *wb, size_t nb, struct udc_linkage_report *rep, char *why,
                    size_t whylen)
{
	const struct udc_spec *spec = in->spec;
	struct udc_score_model m;
	size_t ns = (size_t)(UDC_LINKAGE_MODEL_PAIRS / (nb ? nb : 1));
	double *scores, t0 = mono();
	int rv, ok;

	if (ns < UDC_LINKAGE_MODEL_MIN)
		ns = UDC_LINKAGE_MODEL_MIN;
	if (ns > UDC_LINKAGE_MODEL_MAX)
		ns = UDC_LINKAGE_MODEL_MAX;
	if (ns > na)
		ns = na;
	if ((scores = malloc((ns ? ns : 1) * sizeof(*scores))) == NULL)
		return UDC_ENOMEM;
	rv = udc_fuzzy_best_scores(wa, na, wb, nb, in->enc_bits, (unsigned)in->segments, ns,
	                           in->seed ^ 0x6d6f64656cULL, in->wq, scores);
	if (rv != 0) {
		free(scores);
		snprintf(why, whylen, "best-match scores: %s", udc_strerror(rv));
		return rv;
	}
	ok = udc_score_model_fit(scores, ns, &m) == 0;
	free(scores);
	if (ok) {
		rep->model_sample = ns;
		rep->model_gumbel = m.best == UDC_SCORE_U_GUMBEL;
		rep->model_match_share = udc_score_model_match_share(&m);
		rep->ncurve = UDC_LINKAGE_CURVE;
		for (size_t k = 0; k < UDC_LINKAGE_CURVE; k++) {
			rep->curve_t[k] = (uint32_t)(500 + 25 * k);
			udc_score_model_at(&m, rep->curve_t[k] / 1000.0, &rep->curve_p[k],
			                   &rep->curve_r[k]);
			rep->curve_p_low[k] =
			    udc_score_model_precision_low(&m, rep->curve_t[k] / 1000.0);
		}
	}
	if (spec->threshold_auto) {
		unsigned t;

		if (!ok) {
			snprintf(why, whylen,
			         "threshold = auto: %zu best-match scores are too few or "
			         "too alike to estimate a threshold from (at least %d needed)",
			         ns, UDC_SCORE_MIN_SAMPLE);
			return UDC_EINVAL;
		}
		if (udc_score_model_threshold(&m, rep->target_precision / 1000.0, 500, 990, 5,
		                              &t) != 0) {
			snprintf(why, whylen,
			         "threshold = auto: no threshold up to 0.990 reaches the "
			         "estimated precision 0.%03u (at 0.990: %.3f)",
			         rep->target_precision, udc_score_model_precision_low(&m, 0.990));
			return UDC_EINVAL;
		}
		rep->threshold = t;
	}
	if (ok)
		udc_score_model_at(&m, rep->threshold / 1000.0, &rep->est_precision,
		                   &rep->est_recall);
	rep->secs_model = mono() - t0;
	return 0;
}

int
udc_linkage_run(const struct udc_linkage_in *in, int64_t *pair, uint8_t *own_linked,
                struct udc_linkage_report *rep, char *why, size_t whylen)
{
	const struct udc_spec *spec = in->spec;
	const struct udc_blist *g = in->g, *own = in->own;
	size_t ng = g->n, nown = own->n, na = 0, nb = 0;
	size_t nwords = udc_dice_nwords(in->enc_bits);
	size_t *ia = NULL, *ib = NULL;
	uint64_t *wa = NULL, *wb = NULL;
	struct udc_fuzzy_result *res = NULL;
	struct udc_fuzzy_params fp;
	int rv = UDC_ENOMEM;

	memset(rep, 0, sizeof(*rep));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (g->extra != UDC_LINKAGE_HANDLE_BYTES + in->enc_bytes || own->extra != in->enc_bytes ||
	    in->enc_bits == 0 || in->enc_bits > in->enc_bytes * 8 ||
	    (spec->mode == UDC_MODE_COMBINED && (in->ownx == NULL || in->ownx->n != nown))) {
		snprintf(why, whylen, "linkage: inconsistent lists");
		return UDC_EINVAL;
	}
	for (size_t i = 0; i < ng; i++)
		pair[i] = -1;
	memset(own_linked, 0, nown);
	if (spec->mode == UDC_MODE_COMBINED) {
		if ((rv = udc_link_pairs(g, in->ownx, NULL, NULL, pair, rep->exact)) != 0) {
			snprintf(why, whylen, "exact linkage failed: %s", udc_strerror(rv));
			return rv;
		}
		for (size_t i = 0; i < ng; i++)
			if (pair[i] >= 0)
				own_linked[pair[i]] = 1;
	}
	rv = UDC_ENOMEM;
	if ((ia = malloc((ng ? ng : 1) * sizeof(*ia))) == NULL ||
	    (ib = malloc((nown ? nown : 1) * sizeof(*ib))) == NULL)
		goto out;
	for (size_t i = 0; i < ng; i++)
		if (pair[i] < 0)
			ia[na++] = i;
	for (size_t k = 0; k < nown; k++)
		if (!own_linked[k])
			ib[nb++] = k;
	if ((wa = malloc((na ? na : 1) * nwords * sizeof(*wa))) == NULL ||
	    (wb = malloc((nb ? nb : 1) * nwords * sizeof(*wb))) == NULL)
		goto out;
	for (size_t k = 0; k < na; k++)
		udc_dice_words_from_bytes(udc_blist_ext(g, ia[k]) + UDC_LINKAGE_HANDLE_BYTES,
		                          in->enc_bytes, wa + k * nwords, nwords);
	for (size_t k = 0; k < nb; k++)
		udc_dice_words_from_bytes(udc_blist_ext(own, ib[k]), in->enc_bytes, wb + k * nwords,
		                          nwords);
	rep->fuzzy_a = na;
	rep->fuzzy_b = nb;
	rep->threshold = spec->threshold;
	rep->threshold_auto = spec->threshold_auto;
	rep->target_precision = spec->threshold_auto ? spec->target_precision : 0;
	udc_fuzzy_params_default(&fp);
	fp.segments = (unsigned)in->segments;
	fp.seed = in->seed;
	fp.blocking = in->blocking;
	fp.join_form = in->join_form;
	if (na && nb && (rv = model_and_threshold(in, wa, na, wb, nb, rep, why, whylen)) != 0)
		goto out;
	fp.threshold = rep->threshold / 1000.0;
	if (na && nb) {
		if ((rv = udc_fuzzy_link(&res, &fp, in->wq, wa, na, wb, nb, in->enc_bits)) != 0) {
			snprintf(why, whylen, "fuzzy linkage failed: %s", udc_strerror(rv));
			goto out;
		}
		for (size_t k = 0; k < na; k++) {
			if (res->link[k] < 0)
				continue;
			pair[ia[k]] = (int64_t)ib[res->link[k]];
			own_linked[ib[res->link[k]]] = 1;
			rep->fuzzy_links++;
		}
		for (int b = 0; b < UDC_FUZZY_NBANDS; b++)
			rep->bands[b] = res->band[b];
		for (int b = 0; b <= UDC_FUZZY_NBANDS; b++)
			rep->band_lo[b] = (uint32_t)(res->band_lo[b] * 1000.0 + 0.5);
		rep->stats = res->stats;
	}
	rv = 0;
out:
	if (rv == UDC_ENOMEM && why != NULL && whylen > 0 && why[0] == '\0')
		snprintf(why, whylen, "linkage: %s", udc_strerror(rv));
	udc_fuzzy_result_free(res);
	free(ia);
	free(ib);
	free(wa);
	free(wb);
	return rv;
}

/* The count list's points, a range at a time on the pool. */
struct count_ctx {
	struct udc_blist *out;
	const uint8_t *handles;
	size_t stride;
	const size_t *idx;
	const struct udc_scalar *s;
	const uint8_t *round_id;
};

static int
count_range(void *arg, size_t begin, size_t end)
{
	struct count_ctx *c = arg;
	struct udc_hash_item item[64];
	int rv = 0;

	while (begin < end) {
		size_t m = end - begin < 64 ? end - begin : 64;

		for (size_t k = 0; k < m; k++) {
			size_t i = begin + k, at = c->idx ? c->idx[i] : i;
			item[k] = (struct udc_hash_item){
				.key_index = UDC_KEY_HANDLE,
				.value = (const char *)c->handles + at * c->stride,
				.len = UDC_LINKAGE_HANDLE_BYTES,
				.out = udc_blist_pt(c->out, i, 0),
			};
		}
		if (udc_hash_blind_items(c->s, c->round_id, item, m) != 0)
			rv = UDC_ECRYPTO;
		begin += m;
	}
	return rv;
}

int
udc_linkage_count_points(struct udc_blist *out, const uint8_t *handles, size_t stride,
                         const size_t *idx, size_t n, const struct udc_scalar *s,
                         const uint8_t round_id[16], struct udc_workq *wq)
{
	struct count_ctx c = { out, handles, stride, idx, s, round_id };
	int rv;

	if (out->nkeys != 1 || out->n != 0)
		return UDC_EINVAL;
	if ((rv = udc_blist_reserve(out, n)) != 0)
		return rv;
	if ((rv = udc_workq_parallel(wq, n, 64, count_range, &c)) != 0)
		return rv;
	out->n = n;
	return 0;
}
