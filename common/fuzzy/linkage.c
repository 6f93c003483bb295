/*
 * linkage.c - exact keys first (combined mode), then Dice on the encodings
 * of the records still unlinked; the linkage report.
 *
 * Moved out of the CBS session so that it can be tested on lists built by
 * hand: the session only hands over its lists and turns the pairs into the
 * count list.
 */
#include "linkage.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dice.h"
#include "err.h"
#include "link.h"
#include "spec.h"

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
	udc_fuzzy_params_default(&fp);
	fp.threshold = spec->threshold / 1000.0;
	fp.segments = (unsigned)in->segments;
	fp.seed = in->seed;
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
