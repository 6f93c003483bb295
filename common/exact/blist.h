/*
 * blist.h - a list of blinded match-key tuples with one label each.
 *
 * Both nodes build their own list the same way (read, normalise, hash to the
 * group, blind with the round scalar, drop duplicates, pad, shuffle) and hold
 * the peer's list in the same shape.  Points are packed: record i, key j is
 * at pts + (i * nkeys + j) * 32.  This is the only copy of a list a node keeps.
 */
#ifndef UDC_BLIST_H
#define UDC_BLIST_H

#include <stddef.h>
#include <stdint.h>
#include "input.h"

struct udc_scalar;
struct udc_workq;

struct udc_blist {
	size_t n, cap, nkeys;
	size_t max;      /* refuse to grow beyond this many records (0 = no limit) */
	uint8_t *pts;    /* n * nkeys * 32 */
	uint16_t *lab;   /* n labels (cell index on the owning side) */
	size_t extra;    /* bytes of per-record payload (handle, CLK), 0 = none */
	uint8_t *ext;    /* n * extra, moves with its record */
};

/* Fills a record's payload while the list is read (runs on worker threads).
 * UDC_EINVAL rejects the record (counted as UDC_REJ_ENCODE); any other
 * error stops the read. */
typedef int (*udc_blist_extra_fn)(void *arg, const struct udc_inrec *rec, uint8_t *ext);

void udc_blist_init(struct udc_blist *l, size_t nkeys, size_t max);
/* Sets the payload size; only on an empty list. */
void udc_blist_set_extra(struct udc_blist *l, size_t extra);
static inline uint8_t *
udc_blist_ext(const struct udc_blist *l, size_t i)
{
	return l->ext + i * l->extra;
}
void udc_blist_free(struct udc_blist *l);
/* Makes room for n more records; UDC_ELIMIT beyond max, UDC_ENOMEM. */
int udc_blist_reserve(struct udc_blist *l, size_t more);
/* Appends n records (points packed as above).  Copies. */
int udc_blist_append(struct udc_blist *l, const uint8_t *pts, const uint16_t *lab, size_t n);
static inline uint8_t *
udc_blist_pt(const struct udc_blist *l, size_t i, size_t j)
{
	return l->pts + (i * l->nkeys + j) * 32;
}

/* Reads the node's own list: every record's keys hashed to the group with
 * round_id (a missing key becomes a random point) and blinded with s, in
 * parallel on wq.  Then a key value shared by several records is replaced by
 * random points in all of them (st->key_duplicate[j]), and records that had
 * a key but are left with none are dropped (st->rejected[UDC_REJ_DUPLICATE]);
 * a record that came without any key (combined mode, kept by the reader for
 * its encoding) stays. */
int udc_blist_from_input(struct udc_blist *l, const struct udc_input_opts *opts,
    const uint8_t round_id[16], const struct udc_scalar *s, struct udc_workq *wq,
    struct udc_input_stats *st, char *err, size_t errlen);
/* The same, with a payload filler (l->extra bytes per record). */
int udc_blist_from_input_ext(struct udc_blist *l, const struct udc_input_opts *opts,
    const uint8_t round_id[16], const struct udc_scalar *s, struct udc_workq *wq,
    udc_blist_extra_fn fill, void *fill_arg, struct udc_input_stats *st, char *err, size_t errlen);

/* Adds random-point records so that every label in [0, nlabels) has as many
 * records as the most frequent one; dummies[c] receives the count added. */
int udc_blist_pad(struct udc_blist *l, size_t nlabels, uint64_t *dummies);
/* Fisher-Yates over records (points and label move together). */
void udc_blist_shuffle(struct udc_blist *l);
/* Blinds every point in place with s; UDC_ECRYPTO if any point is invalid. */
int udc_blist_blind(struct udc_blist *l, const struct udc_scalar *s, struct udc_workq *wq);
/* Validates and blinds n packed records (a received chunk) in place. */
int udc_blind_records(uint8_t *pts, size_t n, size_t nkeys, const struct udc_scalar *s,
    struct udc_workq *wq);

#endif
