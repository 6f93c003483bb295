/*
 * link.h - the CBS node's 1:1 hierarchical linkage of two doubly blinded
 * lists, and the count that turns links into the table.
 */
#ifndef UDC_LINK_H
#define UDC_LINK_H

#include <stdint.h>
#include "blist.h"
#include "table.h"

/* Links g (gemeente tuples, labels = groups) with c (CBS tuples, labels =
 * categories) key by key in order: for key j, among records still unlinked,
 * equal points link.  A point that occurs twice on one side links nothing at
 * that key.  Fills t (cells and margins; c_unlinked excludes c_dummies[c]
 * padding records, which never match) and links_per_key[j].
 * Labels out of range are an error (UDC_EPROTO). */
/* The same linkage, reporting pairs: pair[i] = index in c linked to g record
 * i, or -1.  Records with gdone[i] / cdone[k] set (may be NULL) take no
 * part.  Labels are not looked at. */
int udc_link_pairs(const struct udc_blist *g, const struct udc_blist *c, const uint8_t *gdone,
    const uint8_t *cdone, int64_t *pair, uint64_t *links_per_key);

int udc_link_count(const struct udc_blist *g, const struct udc_blist *c,
    const uint64_t *c_dummies, struct udc_table *t, uint64_t *links_per_key);

#endif
