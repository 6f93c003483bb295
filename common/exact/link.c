/*
 * link.c - hierarchical 1:1 linkage on equal doubly blinded points.
 *
 * For each key an open-addressing hash table over the still-unlinked gemeente
 * records is probed with every still-unlinked CBS record.  The points are
 * uniformly random to anyone without both scalars, so their first 8 bytes are
 * a good hash.  Memory: one table of indices at load <= 0.5 per key pass.
 */
#include "link.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

#define EMPTY UINT64_MAX
#define AMBIG_BIT (1ULL << 63) /* slot keeps the index, flagged: value seen twice */

static uint64_t
pt_hash(const uint8_t *p)
{
	uint64_t h;
	memcpy(&h, p, sizeof(h));
	return h;
}

int
udc_link_pairs(const struct udc_blist *g, const struct udc_blist *c, const uint8_t *gdone,
    const uint8_t *cdone, int64_t *pair, uint64_t *links_per_key)
{
	uint8_t *clinked = NULL;
	uint64_t *slot = NULL;
	size_t cap = 16, mask;
	int rv = 0;

	if (g->nkeys != c->nkeys)
		return UDC_EINVAL;
	while (cap < 2 * g->n)
		cap *= 2;
	mask = cap - 1;
	clinked = calloc(c->n ? c->n : 1, 1);
	slot = malloc(cap * sizeof(*slot));
	if (!clinked || !slot) {
		rv = UDC_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < g->n; i++)
		pair[i] = -1;
	if (cdone)
		memcpy(clinked, cdone, c->n);
	for (size_t j = 0; j < g->nkeys; j++) {
		links_per_key[j] = 0;
		memset(slot, 0xff, cap * sizeof(*slot));
		for (size_t i = 0; i < g->n; i++) {
			if (pair[i] >= 0 || (gdone && gdone[i]))
				continue;
			const uint8_t *p = udc_blist_pt(g, i, j);
			size_t h = (size_t)pt_hash(p) & mask;
			for (;;) {
				if (slot[h] == EMPTY) {
					slot[h] = i;
					break;
				}
				if (memcmp(udc_blist_pt(g, (size_t)(slot[h] & ~AMBIG_BIT), j), p, 32) == 0) {
					/* The same value twice on the gemeente side:
					 * none of them can be linked 1:1 on this key. */
					slot[h] |= AMBIG_BIT;
					break;
				}
				h = (h + 1) & mask;
			}
		}
		for (size_t i = 0; i < c->n; i++) {
			if (clinked[i])
				continue;
			const uint8_t *p = udc_blist_pt(c, i, j);
			size_t h = (size_t)pt_hash(p) & mask;
			while (slot[h] != EMPTY) {
				size_t gi = (size_t)(slot[h] & ~AMBIG_BIT);
				if (memcmp(udc_blist_pt(g, gi, j), p, 32) == 0) {
					if (!(slot[h] & AMBIG_BIT) && pair[gi] < 0) {
						pair[gi] = (int64_t)i;
						clinked[i] = 1;
						links_per_key[j]++;
					}
					break;
				}
				h = (h + 1) & mask;
			}
		}
	}
out:
	free(clinked);
	free(slot);
	return rv;
}

int
udc_link_count(const struct udc_blist *g, const struct udc_blist *c,
    const uint64_t *c_dummies, struct udc_table *t, uint64_t *links_per_key)
{
	int64_t *pair = NULL;
	uint8_t *clinked = NULL;
	int rv;

	for (size_t i = 0; i < g->n; i++)
		if (g->lab[i] >= t->ngroups)
			return UDC_EPROTO;
	for (size_t i = 0; i < c->n; i++)
		if (c->lab[i] >= t->ncats)
			return UDC_EPROTO;
	pair = malloc((g->n ? g->n : 1) * sizeof(*pair));
	clinked = calloc(c->n ? c->n : 1, 1);
	if (!pair || !clinked) {
		rv = UDC_ENOMEM;
		goto out;
	}
	if ((rv = udc_link_pairs(g, c, NULL, NULL, pair, links_per_key)) != 0)
		goto out;
	for (size_t i = 0; i < g->n; i++) {
		if (pair[i] < 0) {
			t->g_unlinked[g->lab[i]]++;
			continue;
		}
		clinked[pair[i]] = 1;
		t->cells[(size_t)g->lab[i] * t->ncats + c->lab[pair[i]]]++;
	}
	for (size_t i = 0; i < c->n; i++)
		if (!clinked[i])
			t->c_unlinked[c->lab[i]]++;
	for (size_t k = 0; k < t->ncats; k++) {
		uint64_t d = c_dummies ? c_dummies[k] : 0;
		t->c_unlinked[k] = t->c_unlinked[k] >= d ? t->c_unlinked[k] - d : 0;
	}
out:
	free(pair);
	free(clinked);
	return rv;
}
