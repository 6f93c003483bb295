/*
 * bipartite.h - secondary suppression of a two-way table whose row and
 * column sums the attacker knows, with a certificate for every suppressed
 * entry.
 *
 * The table is nr x nc entries, entry e = r * nc + c, some of them absent.
 * Every row and every column has a known sum; the attacker knows the
 * released entries and solves for the suppressed ones.  Moving the entries
 * of an alternating cycle (+t on the entries traversed row to column, -t on
 * those traversed column to row) keeps every sum, so it changes no released
 * entry when all entries on the cycle are suppressed.  Each entry says how
 * far it may go up and down (its caps); an entry on a cycle with feasible
 * amplitudes t in [-A, B] can take every value in an interval of width
 * A + B, and that cycle is the certificate: anyone can check it.
 *
 * Two kinds of entries:
 * - plain: a count x.  Up: unlimited.  Down: x - lb, where lb is what the
 *   attacker knows of a suppressed entry from below (1 when zeros are never
 *   suppressed, else 0).
 * - negated: a total T of its row or column carried as -T, so that the row
 *   (or column) of a table with its totals sums to zero.  Up (T down):
 *   T - lb.  Down (T up): the spare, what the attacker's other knowledge
 *   leaves room for (UINT64_MAX: unlimited).
 *
 * udc_bip_protect makes every suppressed entry reach its protection need
 * (the interval width it must have): for an entry that does not, it picks
 * the cheapest rectangle (a cycle of four entries) through it whose width is
 * enough, suppressing the rectangle's released entries; when no rectangle
 * will do, the cheapest longer cycle (Dijkstra over the entries, suppressed
 * ones free).  Released entries cost their count; a zero costs zero_cost
 * (UINT64_MAX: a zero is never suppressed).  Adding suppressions never
 * invalidates a cycle found earlier, so one pass over the entries suffices.
 */
#ifndef UDC_BIPARTITE_H
#define UDC_BIPARTITE_H

#include <stddef.h>
#include <stdint.h>

#define UDC_BIP_UNLIMITED UINT64_MAX

struct udc_bip;

/* An nr x nc table of present plain entries with count 0 (nr, nc >= 1,
 * nr * nc < 2^32).  *out is the caller's, freed with udc_bip_free.
 * Returns 0, UDC_EINVAL or UDC_ENOMEM. */
int udc_bip_new(struct udc_bip **out, size_t nr, size_t nc);
void udc_bip_free(struct udc_bip *b);

/* Setup, before udc_bip_protect.  e < nr * nc. */
void udc_bip_set(struct udc_bip *b, size_t e, uint64_t count);
void udc_bip_absent(struct udc_bip *b, size_t e);
/* Marks e a negated total with value total and the given spare.  The
 * entries must be given in increasing order of e.  Returns 0, UDC_EINVAL
 * (out of order) or UDC_ENOMEM. */
int udc_bip_negated(struct udc_bip *b, size_t e, uint64_t total, uint64_t spare);
/* Primary suppression of e with its protection need (>= 1). */
int udc_bip_suppress(struct udc_bip *b, size_t e, uint64_t need);

struct udc_bip_params {
	uint64_t lb;        /* the attacker's lower bound on a suppressed count */
	uint64_t zero_cost; /* cost of suppressing a zero; UDC_BIP_UNLIMITED: never */
	uint64_t need;      /* protection need of complementary suppressions (>= 1) */
};

struct udc_bip_stats {
	size_t primary, secondary, zeros; /* zeros among the secondary */
	size_t rectangles, longer;        /* certificates found of each kind */
};

/*
 * Secondary suppression until every suppressed entry is protected.  Returns
 * 0; UDC_EREFUSED when some entry cannot be (the entries suppressed so far
 * stay marked; *failed, if not NULL, is that entry); UDC_ENOMEM.  st may be
 * NULL.  May be called once.
 */
int udc_bip_protect(struct udc_bip *b, const struct udc_bip_params *p, struct udc_bip_stats *st,
                    size_t *failed);

int udc_bip_is_suppressed(const struct udc_bip *b, size_t e);
/* The interval the certificates give a suppressed entry: its (plain) value
 * can go up by *up and down by *down (UDC_BIP_UNLIMITED: no limit). */
void udc_bip_interval(const struct udc_bip *b, size_t e, uint64_t *up, uint64_t *down);

/* The certificates: cycles of entries, each listed in order with signs
 * +, -, +, ... (the first traversed row to column), feasible for every t in
 * [-a, b].  The array belongs to b. */
size_t udc_bip_ncycles(const struct udc_bip *b);
const uint32_t *udc_bip_cycle(const struct udc_bip *b, size_t i, size_t *len, uint64_t *a,
                              uint64_t *bmax);

#endif
