/*
 * disclosure.h - disclosure control of a released table: secondary
 * suppression, rounding, integer noise and the privacy-budget ledger.
 * (Earlier releases, the guard against differencing: history.h.)
 *
 * The attacker model (docs/governance.md, "Disclosure control"): the
 * attacker knows every row total (a gemeente group's size), every column
 * total (a CBS category's size), the linked total (result.json publishes
 * links_total), every released entry, that counts are nonnegative and that
 * zeros are never suppressed for being small (so a suppressed entry is >= 1).
 *
 * The CBS daemon, after counting, does:
 *
 *	udc_history_same()         same question, same data: reuse, stop here
 *	udc_history_differences()  entries that moved by less than min_cell
 *	udc_disclose()             suppression, ledger charge, noise, rounding
 *	udc_history_record()       remember what left the node
 */
#ifndef UDC_DISCLOSURE_H
#define UDC_DISCLOSURE_H

#include <stddef.h>
#include <stdint.h>

#include "table.h"

/* A nonnegative rational; den > 0.  Epsilon is kept exact so that a budget
 * of 1 is spent by ten releases of 1/10, not by nine and a rounding error. */
struct udc_rational {
	uint64_t num, den;
};

struct udc_disclosure_params {
	unsigned min_cell;          /* 0 or 1: no suppression */
	unsigned round_base;        /* 0 or 1: no rounding */
	uint32_t eps_num, eps_den;  /* per-entry epsilon; eps_num == 0: no noise */
	const char *ledger_path;    /* required when noise is on */
	struct udc_rational budget; /* total epsilon allowed per (population, spec) */
	uint8_t population[32];     /* caller's digest of both input populations */
	uint8_t spec_hash[32];
	/* Entries to suppress whatever their count (NULL: none), one byte per
	 * entry: the cells row by row, then the gemeente margin, then the CBS
	 * margin.  A sensitive zero stays zero: suppressed entries are then
	 * only known to be >= 0 (rep->zeros says so). */
	const uint8_t *sensitive;
};

struct udc_disclosure_report {
	size_t primary;              /* entries with 0 < count < min_cell */
	size_t secondary;            /* complementary suppressions added */
	size_t zeros;                /* of which zero counts (last resort) */
	struct udc_rational charged; /* epsilon charged to the ledger (2 * eps) */
	int budget_spent;            /* UDC_EREFUSED because the budget would be exceeded */
};

/*
 * The whole release, in place: primary and secondary suppression on the
 * true counts, then (if eps_num > 0) charge 2 * eps to the ledger and add
 * discrete Laplace noise to every released entry, then (if round_base > 1)
 * unbiased random rounding.  t must hold true counts (suppression flags that
 * are already set are kept; their zeroed counts are treated as 1).
 * Returns 0, UDC_EREFUSED (a suppressed entry cannot be protected, or the
 * budget would be exceeded; the ledger is then not charged), UDC_EINVAL,
 * UDC_ENOMEM, UDC_EIO, UDC_EPARSE (corrupted ledger).  On any error the
 * table must not be released; it may be half processed.  rep may be NULL.
 */
int udc_disclose(struct udc_table *t, const struct udc_disclosure_params *p,
                 struct udc_disclosure_report *rep);

/*
 * Primary and secondary suppression only.  Afterwards no suppressed entry is
 * determined by the released entries and the row, column and linked totals,
 * even with the bounds "suppressed entry >= 1, released zeros stay zero":
 * each suppressed entry has at least two feasible values.  Suppressed counts
 * are zeroed.  Returns 0, UDC_EREFUSED (some entry cannot be protected; the
 * flags show how far it got), UDC_ENOMEM.  rep may be NULL.
 */
int udc_disclose_suppress(struct udc_table *t, unsigned min_cell,
                          struct udc_disclosure_report *rep);
/* The same, with entries marked sensitive (layout as in params->sensitive). */
int udc_disclose_suppress_sensitive(struct udc_table *t, unsigned min_cell, const uint8_t *sens,
                                    struct udc_disclosure_report *rep);

/* Unbiased random rounding of every released entry to a multiple of base
 * (base 0 or 1: nothing).  Suppressed entries stay 0. */
void udc_disclose_round(struct udc_table *t, unsigned base);

/* Adds discrete Laplace noise with per-entry epsilon num/den to every
 * released entry and clamps at 0.  Charges no ledger: use udc_disclose.
 * Returns 0 or UDC_EINVAL. */
int udc_disclose_noise(struct udc_table *t, uint32_t num, uint32_t den);

/* One draw with P(z) proportional to exp(-|z| * num / den), num, den > 0,
 * from udc_random_buf/udc_random_uniform only (no floating point).
 * Returns 0 or UDC_EINVAL. */
int udc_discrete_laplace(uint32_t num, uint32_t den, int64_t *z);

/*
 * The privacy-budget ledger: one file, epsilon spent per (population digest,
 * spec hash).  A missing file is an empty ledger; a damaged one is
 * UDC_EPARSE, never a reset.  One writer at a time (the CBS daemon).
 */
struct udc_ledger;

/* *out is the caller's, freed with udc_ledger_close (NULL on failure). */
int udc_ledger_open(struct udc_ledger **out, const char *path);
void udc_ledger_close(struct udc_ledger *l);
/* Spent so far (0/1 for an unknown key). */
void udc_ledger_spent(const struct udc_ledger *l, const uint8_t population[32],
                      const uint8_t spec_hash[32], struct udc_rational *spent);
/* Adds cost if spent + cost <= budget and writes the file atomically before
 * returning 0; otherwise UDC_EREFUSED and nothing changes.  UDC_ELIMIT if
 * the sum no longer fits in 64-bit terms, UDC_EIO if the write failed (the
 * in-memory ledger is then unchanged too). */
int udc_ledger_spend(struct udc_ledger *l, const uint8_t population[32],
                     const uint8_t spec_hash[32], struct udc_rational cost,
                     struct udc_rational budget);
/*
 * The one budget check of a noisy release: charges sensitivity * eps
 * (p->eps_num / p->eps_den, reduced) to the ledger at p->ledger_path for
 * (p->population, p->spec_hash) against p->budget, before any noise is
 * drawn.  0 with the charge in *charged; UDC_EREFUSED if the budget would
 * be exceeded (nothing charged); UDC_ELIMIT for a sensitivity above 2^32;
 * otherwise the ledger's error (UDC_EPARSE, UDC_EIO).
 */
int udc_ledger_charge(const struct udc_disclosure_params *p, uint64_t sensitivity,
                      struct udc_rational *charged);

#endif
