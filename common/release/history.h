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

struct udc_spec;
struct udc_table;
struct udc_history;

/* dir must exist.  *out is the caller's, freed with udc_history_close. */
int udc_history_open(struct udc_history **out, const char *dir);
void udc_history_close(struct udc_history *h);

/* The release of the same spec on the same two inputs, if there is one:
 * 0 and a copy of the released table in *out (the caller frees it), or
 * UDC_ENOTFOUND.  The same question on the same data is answered from
 * here, never computed (and noised) again. */
int udc_history_same(struct udc_history *h, const uint8_t cbs_input[32],
    const uint8_t spec_hash[32], const uint8_t gemeente_input[32], struct udc_table **out);

/* Releases of spec_hash on cbs_input so far (0 on any error). */
unsigned udc_history_count(struct udc_history *h, const uint8_t cbs_input[32],
    const uint8_t spec_hash[32]);

/* The entry key of entry i of a table of spec (cells row by row, then the
 * gemeente margin, then the CBS margin) into buf; UDC_ELIMIT if it does
 * not fit. */
int udc_history_key(const struct udc_spec *spec, size_t i, char *buf, size_t buflen);

/* Sets sens[i] for every entry i of truth (true counts) that differs from
 * the true count of the same entry in an earlier release on cbs_input by
 * 1 .. min_cell-1.  Returns how many it set, or a negative error. */
int udc_history_differences(struct udc_history *h, const uint8_t cbs_input[32],
    const struct udc_spec *spec, const struct udc_table *truth, unsigned min_cell, uint8_t *sens);

/* Records a release: its true counts and the table that was released. */
int udc_history_record(struct udc_history *h, const uint8_t cbs_input[32],
    const uint8_t spec_hash[32], const uint8_t gemeente_input[32], const char *round_id,
    const struct udc_spec *spec, const struct udc_table *truth, const struct udc_table *released);

#endif
