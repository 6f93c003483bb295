/*
 * history.h - what this CBS node released, per CBS input: the guard
 * against differencing.
 *
 * Two releases on nearly the same population are linked tables: their
 * difference is a table of the records that differ, and a gemeente that
 * controls which records differ (drop one child, add a few records that
 * cannot link) can read that child's CBS category off the one entry that
 * moved by one.  So every entry a release would show is compared with the
 * same entry of every earlier release on the same CBS input, whatever spec
 * produced it: an entry that moved by 1 .. min_cell-1 is sensitive and is
 * suppressed (and protected by secondary suppression) like a small count.
 *
 * An entry is named by what it counts, not by its place in a table:
 *
 *   cell|wijk=WK051801;age_band=0-3|income_band=0-100;uitkering=ja
 *   gemeente_only|wijk=WK051801;age_band=0-3|
 *   cbs_only||income_band=0-100;uitkering=ja
 *
 * so specs with the same dimensions and values compare entry by entry.
 * Entries that are sums of another spec's entries (a coarser spec) are not
 * compared; docs/protocol.md says what that leaves.
 *
 * One file per CBS input digest, STATE/releases/<hex>.json (mode 0600),
 * rewritten atomically: the true counts (they never leave this node) and
 * the released table of every release.
 */
#ifndef UDC_HISTORY_H
#define UDC_HISTORY_H

#include <stddef.h>
#include <stdint.h>

#include "spec.h"

struct udc_table;
struct udc_history;


/* dir must exist.  *out is the caller's, freed with udc_history_close. */
int udc_history_open(struct udc_history **out, const char *dir);
void udc_history_close(struct udc_history *h);

/* Releases of spec_hash on cbs_input so far into *n: 0, or an error (a
 * history that cannot be read is never taken for an empty one). */
int udc_history_count(struct udc_history *h, const uint8_t cbs_input[32],
    const uint8_t spec_hash[32], unsigned *n);

/* Which records one side of an entry counts (the base cube of linked.h):
 * box, those with a label of this side in the product of vals (a
 * dimension with nvals 0, or with every value, is not restricted);
 * unlinked, the other side's records that are not linked.  The gemeente
 * side's unlinked are the CBS-only records, the CBS side's the
 * gemeente-only ones. */
struct udc_entry_side {
	int box, unlinked;
	const uint16_t *vals[UDC_MAX_DIMS]; /* value indices into the spec's dimension */
	size_t nvals[UDC_MAX_DIMS];
};

/*
 * The name of what an entry counts, the same for every spec that counts
 * the same records: per side "[dim=v,v;dim=v]" for the box (dimensions and
 * values in byte order, unrestricted dimensions left out, ",;|=[]+%"
 * percent-encoded) and "+u" for the unlinked, the sides joined by "|":
 *
 *   [age_band=0-3;wijk=WK051801]|[income_band=0-100]      linked
 *   [wijk=WK051801]|+u                                    gemeente only
 *   [wijk=WK051801]+u|[income_band=0-100,100-130]+u       everyone of the wijk
 *                                                         or of low income ...
 *
 * UDC_ELIMIT if it does not fit in buf.
 */
int udc_history_entry_key(const struct udc_spec *spec, const struct udc_entry_side side[2],
    char *buf, size_t buflen);

/* The key of entry i of a full-cross table of spec (cells row by row, then
 * the gemeente margin, then the CBS margin). */
int udc_history_key(const struct udc_spec *spec, size_t i, char *buf, size_t buflen);

/* Sets sens[i] for every entry i (key keys[i], true count truth[i]) that
 * differs from the true count of the same entry in an earlier release on
 * cbs_input by 1 .. min_cell-1.  Returns how many it set, or a negative
 * error. */
int udc_history_differences(struct udc_history *h, const uint8_t cbs_input[32], size_t n,
    char *const *keys, const uint64_t *truth, unsigned min_cell, uint8_t *sens);

/* One release: the true count of every entry it showed, and what it
 * released, as the caller needs it to answer the same question again
 * (values and flags, the caller's layout). */
struct udc_history_release {
	const uint8_t *spec_hash, *gemeente_input;
	const char *round_id;
	size_t n;
	char *const *keys;
	const uint64_t *truth;
	size_t nout;
	const uint64_t *out;
	const uint8_t *flags;
};

int udc_history_record(struct udc_history *h, const uint8_t cbs_input[32],
    const struct udc_history_release *r);

/* The release of the same spec on the same two inputs, if there is one:
 * 0 with its values and flags (malloc'd, the caller frees them), or
 * UDC_ENOTFOUND.  The same question on the same data is answered from
 * here, never computed (and noised) again. */
int udc_history_same(struct udc_history *h, const uint8_t cbs_input[32],
    const uint8_t spec_hash[32], const uint8_t gemeente_input[32], uint64_t **out,
    uint8_t **flags, size_t *nout);

/* The keys of every entry of a full-cross table of spec (n entries,
 * malloc'd; udc_history_keys_free). */
int udc_history_table_keys(const struct udc_spec *spec, size_t n, char ***keys);
void udc_history_keys_free(char **keys, size_t n);

#endif
