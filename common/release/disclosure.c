/*
 * disclosure.c - disclosure control of the full cross: primary and
 * secondary suppression, rounding, integer noise, and the privacy-budget
 * ledger with the one budget check (udc_ledger_charge) linked.c uses too.
 *
 * Secondary suppression works on the table as a bipartite graph.  Rows are
 * the gemeente groups plus one row U for the CBS-only margin; columns are
 * the CBS categories plus one column V for the gemeente-only margin; entry
 * (g, c) is a cell, (g, V) is g_unlinked[g], (U, c) is c_unlinked[c], and
 * (U, V) does not exist.  Every vertex has a known sum: a group's size, a
 * category's size, and for U and V the number of unlinked CBS and gemeente
 * records, which follow from the sizes and the published linked total.
 *
 * Why a bridge is exactly what leaks: put x for the suppressed entries; the
 * attacker's equations are "at each vertex, the suppressed entries on it sum
 * to the vertex total minus the released ones", i.e. A x = b with A the
 * incidence matrix of the graph H of suppressed entries.  x_e is determined
 * iff the unit vector of e lies in the row space of A, iff z_e = 0 for every
 * z in the kernel of A.  Negating the column vertices' rows (which keeps the
 * row space) turns A into the oriented incidence matrix of H, whose kernel
 * is the cycle space: the alternating +1/-1 vectors around the (even)
 * cycles of the bipartite H span it.  So x_e is free iff e lies on a cycle,
 * and determined iff e is a bridge of H.  Were the linked total not known,
 * (U, V) would be one more unknown edge: more cycles, less disclosure, so
 * protecting against the stronger attacker covers both.
 *
 * Bounds (the attacker also knows suppressed entries are >= 1, since zeros
 * are released, see below): moving x along a cycle by +1 on the edges traversed row to
 * column and -1 on the others keeps every sum; an edge can go down only if
 * it is >= 2.  In the digraph D with an arc row->col for every suppressed
 * entry and col->row for those >= 2, x_e can take another integer value iff
 * a simple directed cycle of D passes through one of e's arcs (take y - x
 * for another feasible integer y and decompose it into conformal cycles).
 * The incidence matrix is totally unimodular, so the feasible values of x_e
 * are then an integer interval of at least two values; we protect exactly
 * that and nothing wider (no protection interval as a percentage).
 *
 * Zeros: a zero names nobody and is released, which is what gives the
 * attacker the bound >= 1.  Where that bound pins an entry whatever else is
 * suppressed (a row whose other entries are all zero), the table is done
 * again with zeros allowed as complementary suppressions at a cost above
 * any real count; the attacker's bound is then only >= 0, and the caller
 * must say with the release that suppressed entries may be zero.  If that
 * second attempt needs no zero after all, ">= 1" would still hold, so the
 * table is refused rather than released.  Tables where even that fails (a
 * nearly empty table whose totals already say everything) are refused.
 *
 * The algorithm (common/release/bipartite.c): every suppressed entry is
 * given a cycle of suppressed entries through it along which it can move,
 * the cheapest rectangle when one will do and the cheapest longer cycle
 * (Dijkstra; suppressed entries cost 0, released ones their count)
 * otherwise.  Adding suppressions only adds arcs, so an entry once safe
 * stays safe and one pass suffices.  A sparse 65535 x 64 table takes
 * seconds (tests/bench/bench_linked.c prints the figure).
 */
#include "disclosure.h"

#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "bipartite.h"
#include "err.h"
#include "rand.h"
#include "store.h"

/* A zero's weight as a complementary suppression: above any sum of real
 * counts, so a zero is chosen only when no cycle of nonzero entries exists. */
#define ZERO_COST (UINT64_C(1) << 48)

/* Entry e of the (ngroups + 1) x (ncats + 1) view, corner excluded. */
static uint64_t *
entry_count(struct udc_table *t, size_t e, uint8_t **supp)
{
	size_t nc = t->ncats + 1, r = e / nc, c = e % nc;

	if (r < t->ngroups && c < t->ncats) {
		*supp = &t->cell_supp[r * t->ncats + c];
		return &t->cells[r * t->ncats + c];
	}
	if (r < t->ngroups) {
		*supp = &t->g_supp[r];
		return &t->g_unlinked[r];
	}
	*supp = &t->c_supp[c];
	return &t->c_unlinked[c];
}

/* The entry's index in the caller's layout of params->sensitive: the
 * cells row by row, then the gemeente margin, then the CBS margin. */
static size_t
entry_index(const struct udc_table *t, size_t e)
{
	size_t nc = t->ncats + 1, r = e / nc, c = e % nc;

	if (r < t->ngroups && c < t->ncats)
		return r * t->ncats + c;
	if (r < t->ngroups)
		return t->ngroups * t->ncats + r;
	return t->ngroups * t->ncats + t->ngroups + c;
}

/* One attempt with the attacker's bound lb; zeros may be complements only
 * when lb is 0.  Entries the caller marks sensitive (sens, may be NULL) are
 * suppressed with their true count, zero included.  *bp is the caller's,
 * also on failure. */
static int
suppress_attempt(struct udc_table *t, unsigned min_cell, const uint8_t *sens, uint64_t lb,
                 struct udc_bip **bp, struct udc_bip_stats *st)
{
	size_t nr = t->ngroups + 1, nc = t->ncats + 1, corner = nr * nc - 1;
	struct udc_bip_params p;
	struct udc_bip *b;
	int rv;

	if ((rv = udc_bip_new(bp, nr, nc)) != 0)
		return rv;
	b = *bp;
	udc_bip_absent(b, corner);
	for (size_t e = 0; e < corner; e++) {
		uint8_t *s;
		uint64_t v = *entry_count(t, e, &s);
		int sensitive = sens != NULL && sens[entry_index(t, e)];

		/* A flag set by the caller came with a zeroed count: all we know
		 * is that it was small and not zero, so assume the tightest case. */
		if (*s && v == 0)
			v = 1;
		udc_bip_set(b, e, v);
		if ((*s || sensitive || (min_cell > 1 && v > 0 && v < min_cell)) &&
		    (rv = udc_bip_suppress(b, e, 1)) != 0)
			return rv;
	}
	p.lb = lb;
	p.zero_cost = lb == 0 ? ZERO_COST : UDC_BIP_UNLIMITED;
	p.need = 1;
	return udc_bip_protect(b, &p, st, NULL);
}

int
udc_disclose_suppress(struct udc_table *t, unsigned min_cell, struct udc_disclosure_report *rep)
{
	return udc_disclose_suppress_sensitive(t, min_cell, NULL, rep);
}

int
udc_disclose_suppress_sensitive(struct udc_table *t, unsigned min_cell, const uint8_t *sens,
                                struct udc_disclosure_report *rep)
{
	struct udc_bip *b = NULL;
	struct udc_bip_stats st = {0};
	size_t corner, zero_sensitive = 0;
	int rv;

	if (t->ngroups >= SIZE_MAX / 2 || t->ncats >= SIZE_MAX / 2)
		return UDC_EINVAL;
	corner = (t->ngroups + 1) * (t->ncats + 1) - 1;
	for (size_t e = 0; sens != NULL && e < corner; e++) {
		uint8_t *s;

		zero_sensitive += sens[entry_index(t, e)] && *entry_count(t, e, &s) == 0;
	}
	/* First without touching a zero, so the attacker's bound stays "a
	 * suppressed entry is >= 1" and is protected against.  Where that
	 * cannot protect some entry (a row or column whose other entries are
	 * all zero), start again allowing zeros: the bound is then only >= 0,
	 * which the caller must state with the release (rep->zeros > 0).  A
	 * zero suppressed for being sensitive makes ">= 1" false from the
	 * start. */
	rv = suppress_attempt(t, min_cell, sens, zero_sensitive ? 0 : 1, &b, &st);
	if (rv == UDC_EREFUSED && !zero_sensitive) {
		udc_bip_free(b);
		b = NULL;
		memset(&st, 0, sizeof(st));
		rv = suppress_attempt(t, min_cell, sens, 0, &b, &st);
		/* The bound >= 0 is the attacker's only if a zero really is
		 * among the suppressed; without one, >= 1 holds and pins what
		 * the first attempt could not protect.  Fail closed. */
		if (rv == 0 && st.zeros == 0)
			rv = UDC_EREFUSED;
	}
	if (b == NULL)
		goto out;
	/* Stored even on failure so that the caller can see the pattern; the
	 * header says such a table must not be released. */
	for (size_t e = 0; e < corner; e++) {
		uint8_t *s;
		uint64_t *cnt = entry_count(t, e, &s);

		if (udc_bip_is_suppressed(b, e)) {
			*s = 1;
			*cnt = 0;
		}
	}
	if (rep != NULL) {
		rep->primary = st.primary;
		rep->secondary = st.secondary;
		rep->zeros = st.zeros + zero_sensitive;
	}
out:
	udc_bip_free(b);
	return rv;
}

/* Uniform in [0, n), n > 0, by rejection from 64-bit draws. */
static uint64_t
uniform64(uint64_t n)
{
	uint64_t min, x;

	if (n <= UINT32_MAX)
		return udc_random_uniform((uint32_t)n);
	min = (uint64_t)(-n) % n;
	do {
		udc_random_buf(&x, sizeof(x));
	} while (x < min);
	return x % n;
}

/*
 * Unbiased random rounding: x = q * base + m goes up with probability
 * m / base and down otherwise, so E[rounded] = x.  Conventional rounding
 * would be biased on small counts and map each released value to a fixed
 * interval of true ones; its sums would drift by up to base / 2 per entry in
 * one direction.  With random rounding the sum of k rounded entries differs
 * from the true sum by less than k * base and is unbiased.  Repeating a
 * release to average the rounding away is stopped by the release history
 * (history.h).
 */
void
udc_disclose_round(struct udc_table *t, unsigned base)
{
	size_t ncells = t->ngroups * t->ncats;

	if (base < 2)
		return;
	for (size_t k = 0; k < ncells + t->ngroups + t->ncats; k++) {
		uint64_t *x;
		uint64_t m;

		if (k < ncells) {
			if (t->cell_supp[k])
				continue;
			x = &t->cells[k];
		} else if (k < ncells + t->ngroups) {
			if (t->g_supp[k - ncells])
				continue;
			x = &t->g_unlinked[k - ncells];
		} else {
			if (t->c_supp[k - ncells - t->ngroups])
				continue;
			x = &t->c_unlinked[k - ncells - t->ngroups];
		}
		m = *x % base;
		*x -= m;
		if (m > 0 && udc_random_uniform(base) < m)
			*x += base;
	}
}

/* BEGIN integer-only sampler.  The test greps this region: Mironov (2012)
 * showed that sampling with rounded reals leaks through the low bits of
 * the result, so nothing between here and the END marker may use a real
 * type. */

/* 1 with probability p / q (p <= q, q > 0). */
static int
bern_ratio(uint64_t p, uint64_t q)
{
	return uniform64(q) < p;
}

/* 1 with probability exp(-x / y), 0 <= x <= y (Canonne, Kamath, Steinke
 * 2020, Algorithm 1: K is the first index where Bernoulli(x / (y K)) fails,
 * and P(K odd) = exp(-x / y)). */
static int
bern_exp_small(uint64_t x, uint64_t y)
{
	uint64_t k = 1;

	/* y * k stays far below 2^64: y < 2^32 and P(k > 20) < 1 / 20!. */
	while (k < UINT32_MAX && bern_ratio(x, y * k))
		k++;
	return (int)(k & 1);
}

/* 1 with probability exp(-x / y), any x >= 0, y > 0. */
static int
bern_exp(uint64_t x, uint64_t y)
{
	for (uint64_t i = 0; i < x / y; i++)
		if (!bern_exp_small(1, 1))
			return 0;
	return bern_exp_small(x % y, y);
}

int
udc_discrete_laplace(uint32_t num, uint32_t den, int64_t *z)
{
	/* CKS Algorithm 2 with scale den / num: X = U + den * V is geometric
	 * with parameter exp(-1 / den), Y = X / num then geometric with
	 * exp(-num / den), and the sign B with the "-0" case rejected makes
	 * P(Y = y) proportional to exp(-|y| num / den). */
	if (num == 0 || den == 0)
		return UDC_EINVAL;
	for (;;) {
		uint64_t u = udc_random_uniform(den), v = 0, x, y;
		int b;

		if (!bern_exp(u, den))
			continue;
		while (bern_exp(1, 1))
			v++;
		x = u + (uint64_t)den * v;
		y = x / num;
		b = (int)udc_random_uniform(2);
		if (b && y == 0)
			continue;
		*z = b ? -(int64_t)y : (int64_t)y;
		return 0;
	}
}

/* END integer-only sampler. */

static void
add_noise(uint64_t *x, int64_t n)
{
	/* Clamping is post-processing: it costs no privacy and keeps counts
	 * counts. */
	if (n < 0 && (uint64_t)(-n) > *x)
		*x = 0;
	else
		*x += (uint64_t)n;
}

int
udc_disclose_noise(struct udc_table *t, uint32_t num, uint32_t den)
{
	size_t ncells = t->ngroups * t->ncats;
	int64_t n;
	int rv;

	if (num == 0 || den == 0)
		return UDC_EINVAL;
	/* Every released entry, zeros included: a zero left exact would tell
	 * the reader which entries are empty. */
	for (size_t k = 0; k < ncells; k++) {
		if (t->cell_supp[k])
			continue;
		if ((rv = udc_discrete_laplace(num, den, &n)) != 0)
			return rv;
		add_noise(&t->cells[k], n);
	}
	for (size_t k = 0; k < t->ngroups; k++) {
		if (t->g_supp[k])
			continue;
		if ((rv = udc_discrete_laplace(num, den, &n)) != 0)
			return rv;
		add_noise(&t->g_unlinked[k], n);
	}
	for (size_t k = 0; k < t->ncats; k++) {
		if (t->c_supp[k])
			continue;
		if ((rv = udc_discrete_laplace(num, den, &n)) != 0)
			return rv;
		add_noise(&t->c_unlinked[k], n);
	}
	return 0;
}

static uint64_t
gcd64(uint64_t a, uint64_t b)
{
	while (b != 0) {
		uint64_t r = a % b;

		a = b;
		b = r;
	}
	return a;
}

/* a + b reduced; UDC_ELIMIT if it does not fit. */
static int
rat_add(struct udc_rational a, struct udc_rational b, struct udc_rational *sum)
{
	unsigned __int128 n = (unsigned __int128)a.num * b.den + (unsigned __int128)b.num * a.den;
	unsigned __int128 d = (unsigned __int128)a.den * b.den;
	unsigned __int128 x = n, y = d;

	while (y != 0) {
		unsigned __int128 r = x % y;

		x = y;
		y = r;
	}
	if (x > 1) {
		n /= x;
		d /= x;
	}
	if (n > UINT64_MAX || d > UINT64_MAX)
		return UDC_ELIMIT;
	sum->num = (uint64_t)n;
	sum->den = (uint64_t)d;
	return 0;
}

static int
rat_le(struct udc_rational a, struct udc_rational b)
{
	return (unsigned __int128)a.num * b.den <= (unsigned __int128)b.num * a.den;
}

int
udc_ledger_charge(const struct udc_disclosure_params *p, uint64_t sensitivity,
                  struct udc_rational *charged)
{
	struct udc_ledger *l = NULL;
	struct udc_rational cost;
	uint64_t d;
	int rv;

	if (sensitivity > UINT32_MAX)
		return UDC_ELIMIT; /* times a 32-bit epsilon numerator: fits in 64 bits */
	cost.num = sensitivity * p->eps_num;
	cost.den = p->eps_den;
	d = gcd64(cost.num, cost.den);
	if (d > 1) {
		cost.num /= d;
		cost.den /= d;
	}
	if ((rv = udc_ledger_open(&l, p->ledger_path)) == 0 &&
	    (rv = udc_ledger_spend(l, p->population, p->spec_hash, cost, p->budget)) == 0)
		*charged = cost;
	udc_ledger_close(l);
	return rv;
}

int
udc_disclose(struct udc_table *t, const struct udc_disclosure_params *p,
             struct udc_disclosure_report *rep)
{
	struct udc_disclosure_report r = {0};
	int rv;

	r.charged.den = 1;
	if (p->eps_num > 0 && (p->eps_den == 0 || p->ledger_path == NULL || p->budget.den == 0)) {
		rv = UDC_EINVAL;
		goto out;
	}
	/* Suppression decides on the true counts: the CBS rule is about how
	 * many persons a cell holds, not about a noisy figure. */
	if ((rv = udc_disclose_suppress_sensitive(t, p->min_cell, p->sensitive, &r)) != 0)
		goto out;
	if (p->eps_num > 0) {
		/* One person sits in one cell or margin per list; dropping a
		 * linked person from one list moves them from a cell to a margin:
		 * L1 sensitivity 2, so the release costs 2 * eps.  The charge is
		 * written before any noise is drawn: a crash then wastes budget
		 * but never spends it unrecorded. */
		if ((rv = udc_ledger_charge(p, 2, &r.charged)) != 0) {
			r.budget_spent = rv == UDC_EREFUSED;
			goto out;
		}
		if ((rv = udc_disclose_noise(t, p->eps_num, p->eps_den)) != 0)
			goto out;
	}
	udc_disclose_round(t, p->round_base);
	rv = 0;
out:
	if (rep != NULL)
		*rep = r;
	return rv;
}

/* Files: text, a version line, records, and "end <sha256 of everything
 * before>" so that a torn or edited file is detected, not read as less. */

static void
hex32(const uint8_t b[32], char out[65])
{
	sodium_bin2hex(out, 65, b, 32);
}

static int
unhex32(const char *s, uint8_t b[32])
{
	size_t n = 0;

	if (strlen(s) != 64 || sodium_hex2bin(b, 32, s, 64, NULL, &n, NULL) != 0 || n != 32)
		return UDC_EPARSE;
	return 0;
}

struct sbuf {
	char *p;
	size_t n, cap;
	int err;
};

static void sb_printf(struct sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
sb_printf(struct sbuf *b, const char *fmt, ...)
{
	va_list ap;
	int k;

	if (b->err)
		return;
	for (;;) {
		size_t room = b->cap - b->n;

		va_start(ap, fmt);
		k = vsnprintf(b->p ? b->p + b->n : NULL, room, fmt, ap);
		va_end(ap);
		if (k < 0) {
			b->err = UDC_EINVAL;
			return;
		}
		if ((size_t)k < room) {
			b->n += (size_t)k;
			return;
		}
		size_t ncap = b->cap ? 2 * b->cap : 4096;
		while (ncap - b->n <= (size_t)k)
			ncap *= 2;
		char *np = realloc(b->p, ncap);
		if (np == NULL) {
			b->err = UDC_ENOMEM;
			return;
		}
		b->p = np;
		b->cap = ncap;
	}
}

/* Appends the trailer line. */
static void
sb_seal(struct sbuf *b)
{
	uint8_t h[32];
	char hex[65];

	if (b->err)
		return;
	crypto_hash_sha256(h, (const unsigned char *)b->p, b->n);
	hex32(h, hex);
	sb_printf(b, "end %s\n", hex);
}

/* Checks the trailer and cuts it off (text becomes the body). */
static int
check_seal(char *text, size_t len)
{
	uint8_t h[32], want[32];
	char *last;

	if (len < 70 || text[len - 1] != '\n' || memchr(text, '\0', len) != NULL)
		return UDC_EPARSE;
	text[len - 1] = '\0';
	if ((last = strrchr(text, '\n')) == NULL)
		return UDC_EPARSE;
	last++;
	if (strncmp(last, "end ", 4) != 0 || unhex32(last + 4, want) != 0)
		return UDC_EPARSE;
	crypto_hash_sha256(h, (const unsigned char *)text, (size_t)(last - text));
	if (sodium_memcmp(h, want, 32) != 0)
		return UDC_EPARSE;
	*last = '\0';
	return 0;
}

/* Splits path into directory and base name for udc_store_write. */
static int
write_atomic(const char *path, const char *data, size_t len)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return udc_store_write(".", path, data, len);
	if ((size_t)(slash - path) >= sizeof(dir))
		return UDC_EINVAL;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return udc_store_write(slash == path ? "/" : dir, slash + 1, data, len);
}

static int
read_file(const char *path, char **data, size_t *len)
{
	char dir[4096];
	const char *slash = strrchr(path, '/');

	if (slash == NULL)
		return udc_store_read(".", path, (size_t)1 << 30, data, len);
	if ((size_t)(slash - path) >= sizeof(dir))
		return UDC_EINVAL;
	memcpy(dir, path, (size_t)(slash - path));
	dir[slash - path] = '\0';
	return udc_store_read(slash == path ? "" : dir, slash + 1, (size_t)1 << 30, data, len);
}

/* A decimal uint64 token; UDC_EPARSE unless the whole token is digits. */
static int
parse_u64(const char *s, uint64_t *v)
{
	char *end;

	if (*s < '0' || *s > '9')
		return UDC_EPARSE;
	errno = 0;
	*v = strtoull(s, &end, 10);
	if (errno != 0 || *end != '\0')
		return UDC_EPARSE;
	return 0;
}

struct ledger_ent {
	uint8_t pop[32], spec[32];
	struct udc_rational spent;
};

struct udc_ledger {
	char *path;
	struct ledger_ent *e;
	size_t n;
};

void
udc_ledger_close(struct udc_ledger *l)
{
	if (l == NULL)
		return;
	free(l->path);
	free(l->e);
	free(l);
}

int
udc_ledger_open(struct udc_ledger **out, const char *path)
{
	struct udc_ledger *l = NULL;
	char *text = NULL, *line, *save = NULL;
	size_t len = 0;
	int rv;

	*out = NULL;
	if ((l = calloc(1, sizeof(*l))) == NULL || (l->path = strdup(path)) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	rv = read_file(path, &text, &len);
	if (rv == UDC_ENOTFOUND) {
		/* Only a missing file is a fresh ledger. */
		*out = l;
		l = NULL;
		rv = 0;
		goto out;
	}
	if (rv != 0 || (rv = check_seal(text, len)) != 0)
		goto out;
	rv = UDC_EPARSE;
	line = strtok_r(text, "\n", &save);
	if (line == NULL || strcmp(line, "udc-ledger 1") != 0)
		goto out;
	while ((line = strtok_r(NULL, "\n", &save)) != NULL) {
		char a[80], b[80], c[32], d[32], extra;
		struct ledger_ent ent;
		struct ledger_ent *ne;

		if (sscanf(line, "%79s %79s %31s %31s %c", a, b, c, d, &extra) != 4 ||
		    unhex32(a, ent.pop) != 0 || unhex32(b, ent.spec) != 0 ||
		    parse_u64(c, &ent.spent.num) != 0 || parse_u64(d, &ent.spent.den) != 0 ||
		    ent.spent.den == 0)
			goto out;
		if ((ne = realloc(l->e, (l->n + 1) * sizeof(*ne))) == NULL) {
			rv = UDC_ENOMEM;
			goto out;
		}
		l->e = ne;
		l->e[l->n++] = ent;
	}
	*out = l;
	l = NULL;
	rv = 0;
out:
	free(text);
	udc_ledger_close(l);
	return rv;
}

static struct ledger_ent *
ledger_find(const struct udc_ledger *l, const uint8_t pop[32], const uint8_t spec[32])
{
	for (size_t i = 0; i < l->n; i++)
		if (memcmp(l->e[i].pop, pop, 32) == 0 && memcmp(l->e[i].spec, spec, 32) == 0)
			return &l->e[i];
	return NULL;
}

void
udc_ledger_spent(const struct udc_ledger *l, const uint8_t population[32],
                 const uint8_t spec_hash[32], struct udc_rational *spent)
{
	const struct ledger_ent *e = ledger_find(l, population, spec_hash);

	spent->num = e ? e->spent.num : 0;
	spent->den = e ? e->spent.den : 1;
}

static int
ledger_write(const struct udc_ledger *l)
{
	struct sbuf b = {0};
	char h1[65], h2[65];
	int rv;

	sb_printf(&b, "udc-ledger 1\n");
	for (size_t i = 0; i < l->n; i++) {
		hex32(l->e[i].pop, h1);
		hex32(l->e[i].spec, h2);
		sb_printf(&b, "%s %s %" PRIu64 " %" PRIu64 "\n", h1, h2, l->e[i].spent.num,
		          l->e[i].spent.den);
	}
	sb_seal(&b);
	rv = b.err ? b.err : write_atomic(l->path, b.p, b.n);
	free(b.p);
	return rv;
}

int
udc_ledger_spend(struct udc_ledger *l, const uint8_t population[32], const uint8_t spec_hash[32],
                 struct udc_rational cost, struct udc_rational budget)
{
	struct ledger_ent *e, *ne;
	struct udc_rational sum, old;
	int added = 0, rv;

	if (cost.den == 0 || budget.den == 0)
		return UDC_EINVAL;
	if ((e = ledger_find(l, population, spec_hash)) == NULL) {
		if ((ne = realloc(l->e, (l->n + 1) * sizeof(*ne))) == NULL)
			return UDC_ENOMEM;
		l->e = ne;
		e = &l->e[l->n++];
		memcpy(e->pop, population, 32);
		memcpy(e->spec, spec_hash, 32);
		e->spent.num = 0;
		e->spent.den = 1;
		added = 1;
	}
	old = e->spent;
	if ((rv = rat_add(old, cost, &sum)) != 0)
		goto out;
	if (!rat_le(sum, budget)) {
		rv = UDC_EREFUSED;
		goto out;
	}
	e->spent = sum;
	if ((rv = ledger_write(l)) != 0)
		e->spent = old;
out:
	if (rv != 0 && added)
		l->n--;
	return rv;
}
