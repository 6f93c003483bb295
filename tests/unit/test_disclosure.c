/*
 * test_disclosure.c - secondary suppression, rounding, noise, ledger and
 * release store.
 *
 * The suppression tests do not trust the bridge logic: they write down the
 * attacker's linear system (row, column and linked totals known, released
 * entries known) and row-reduce it over the rationals; an entry is
 * recovered iff its unit vector lies in the row space.  The same checker
 * must find a recovered entry after primary suppression alone, so a broken
 * secondary step cannot pass unnoticed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <unistd.h>

#include <cmocka.h>

#include "disclosure.h"
#include "err.h"
#include "rand.h"
#include "table.h"

/* A deterministic source: splitmix64. */
static void
det_source(void *buf, size_t n, void *ctx)
{
	uint64_t *st = ctx;
	unsigned char *p = buf;

	while (n > 0) {
		uint64_t z = (*st += 0x9e3779b97f4a7c15ULL);
		size_t k = n < 8 ? n : 8;

		z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
		z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
		z ^= z >> 31;
		memcpy(p, &z, k);
		p += k;
		n -= k;
	}
}

static uint64_t det_state;

static void
use_det(uint64_t seed)
{
	det_state = seed;
	udc_random_set_source(det_source, &det_state);
}

static struct udc_table *
table(size_t ng, size_t nc)
{
	struct udc_table *t = NULL;

	assert_int_equal(udc_table_new(&t, ng, nc), 0);
	return t;
}

/* The (ng+1) x (nc+1) view: entry (r, c), corner excluded. */
static uint8_t *
supp_at(struct udc_table *t, size_t r, size_t c)
{
	if (r < t->ngroups && c < t->ncats)
		return &t->cell_supp[r * t->ncats + c];
	if (r < t->ngroups)
		return &t->g_supp[r];
	return &t->c_supp[c];
}

static uint64_t *
val_at(struct udc_table *t, size_t r, size_t c)
{
	if (r < t->ngroups && c < t->ncats)
		return &t->cells[r * t->ncats + c];
	if (r < t->ngroups)
		return &t->g_unlinked[r];
	return &t->c_unlinked[c];
}

/* Exact rationals in int64, reduced.  The attacker's matrix is an
 * incidence matrix, totally unimodular, so the numbers stay tiny; an
 * overflow would fail the test rather than pass it. */
struct q {
	int64_t n, d;
};

static int64_t
gcd(int64_t a, int64_t b)
{
	if (a < 0)
		a = -a;
	if (b < 0)
		b = -b;
	while (b != 0) {
		int64_t r = a % b;
		a = b;
		b = r;
	}
	return a;
}

static struct q
qnorm(int64_t n, int64_t d)
{
	int64_t g = gcd(n, d);
	struct q r;

	if (d < 0) {
		n = -n;
		d = -d;
	}
	if (g == 0)
		g = 1;
	r.n = n / g;
	r.d = d / g;
	if (r.n == 0)
		r.d = 1;
	return r;
}

static struct q
qsub_mul(struct q a, struct q b, struct q c)
{
	/* a - b * c */
	int64_t bn, bd, n1, n2, d;

	assert_false(__builtin_mul_overflow(b.n, c.n, &bn));
	assert_false(__builtin_mul_overflow(b.d, c.d, &bd));
	assert_false(__builtin_mul_overflow(a.n, bd, &n1));
	assert_false(__builtin_mul_overflow(bn, a.d, &n2));
	assert_false(__builtin_mul_overflow(a.d, bd, &d));
	return qnorm(n1 - n2, d);
}

static struct q
qdiv(struct q a, struct q b)
{
	int64_t n, d;

	assert_false(__builtin_mul_overflow(a.n, b.d, &n));
	assert_false(__builtin_mul_overflow(a.d, b.n, &d));
	return qnorm(n, d);
}

/*
 * Number of suppressed entries the attacker recovers exactly.  Equations:
 * one per row and column of the (ng+1) x (nc+1) table, over the suppressed
 * entries only (released ones move to the right-hand side, which does not
 * matter for determinacy).
 */
static size_t
recovered(struct udc_table *t)
{
	size_t nr = t->ngroups + 1, nc = t->ncats + 1, nu = 0, neq = nr + nc, rank = 0, nrec = 0;
	size_t *ur, *uc, *pivcol;
	struct q *m;

	ur = calloc(nr * nc, sizeof(*ur));
	uc = calloc(nr * nc, sizeof(*uc));
	for (size_t r = 0; r < nr; r++)
		for (size_t c = 0; c < nc; c++) {
			if (r == nr - 1 && c == nc - 1)
				continue;
			if (*supp_at(t, r, c)) {
				ur[nu] = r;
				uc[nu] = c;
				nu++;
			}
		}
	if (nu == 0) {
		free(ur);
		free(uc);
		return 0;
	}
	m = calloc(neq * nu, sizeof(*m));
	pivcol = calloc(neq, sizeof(*pivcol));
	for (size_t i = 0; i < neq * nu; i++)
		m[i] = qnorm(0, 1);
	for (size_t j = 0; j < nu; j++) {
		m[ur[j] * nu + j] = qnorm(1, 1);
		m[(nr + uc[j]) * nu + j] = qnorm(1, 1);
	}
	/* Reduced row echelon form. */
	for (size_t col = 0; col < nu && rank < neq; col++) {
		size_t p = rank;

		while (p < neq && m[p * nu + col].n == 0)
			p++;
		if (p == neq)
			continue;
		for (size_t k = 0; k < nu; k++) {
			struct q tmp = m[p * nu + k];
			m[p * nu + k] = m[rank * nu + k];
			m[rank * nu + k] = tmp;
		}
		struct q piv = m[rank * nu + col];
		for (size_t k = 0; k < nu; k++)
			m[rank * nu + k] = qdiv(m[rank * nu + k], piv);
		for (size_t i = 0; i < neq; i++) {
			struct q f = m[i * nu + col];

			if (i == rank || f.n == 0)
				continue;
			for (size_t k = 0; k < nu; k++)
				m[i * nu + k] = qsub_mul(m[i * nu + k], f, m[rank * nu + k]);
		}
		pivcol[rank++] = col;
	}
	/* e_j is in the row space iff j is a pivot column whose row is e_j. */
	for (size_t i = 0; i < rank; i++) {
		size_t nz = 0;

		for (size_t k = 0; k < nu; k++)
			nz += m[i * nu + k].n != 0;
		if (nz == 1)
			nrec++;
		(void)pivcol;
	}
	free(m);
	free(pivcol);
	free(ur);
	free(uc);
	return nrec;
}

/*
 * Bounds check by enumeration for small tables: every integer solution of
 * the attacker's system with suppressed entries >= lb (1 when no zero is
 * suppressed, else 0); returns the number of suppressed entries that take a
 * single value over all solutions.
 */
struct enumr {
	size_t nr, nc, nu;
	size_t ur[64], uc[64];
	int64_t lb[64], need_r[16], need_c[16], left_r[16], left_c[16];
	int64_t x[64], lo[64], hi[64];
	long budget;
};

static void
enum_rec(struct enumr *e, size_t j)
{
	if (e->budget-- <= 0)
		return;
	if (j == e->nu) {
		for (size_t r = 0; r < e->nr; r++)
			if (e->need_r[r] != 0)
				return;
		for (size_t c = 0; c < e->nc; c++)
			if (e->need_c[c] != 0)
				return;
		for (size_t k = 0; k < e->nu; k++) {
			if (e->x[k] < e->lo[k])
				e->lo[k] = e->x[k];
			if (e->x[k] > e->hi[k])
				e->hi[k] = e->x[k];
		}
		return;
	}
	size_t r = e->ur[j], c = e->uc[j];
	int64_t max = e->need_r[r] < e->need_c[c] ? e->need_r[r] : e->need_c[c];

	e->left_r[r]--;
	e->left_c[c]--;
	for (int64_t v = e->lb[j]; v <= max; v++) {
		/* The last unknown of a row or column is forced. */
		if (e->left_r[r] == 0 && v != e->need_r[r])
			continue;
		if (e->left_c[c] == 0 && v != e->need_c[c])
			continue;
		e->x[j] = v;
		e->need_r[r] -= v;
		e->need_c[c] -= v;
		enum_rec(e, j + 1);
		e->need_r[r] += v;
		e->need_c[c] += v;
	}
	e->left_r[r]++;
	e->left_c[c]++;
}

static size_t
pinned(struct udc_table *t, const struct udc_table *truth, int64_t lb)
{
	struct enumr e;
	size_t npin = 0;

	memset(&e, 0, sizeof(e));
	e.nr = t->ngroups + 1;
	e.nc = t->ncats + 1;
	e.budget = 20000000;
	for (size_t r = 0; r < e.nr; r++)
		for (size_t c = 0; c < e.nc; c++) {
			uint64_t tv;

			if (r == e.nr - 1 && c == e.nc - 1)
				continue;
			tv = *val_at((struct udc_table *)truth, r, c);
			e.need_r[r] += (int64_t)tv;
			e.need_c[c] += (int64_t)tv;
			if (*supp_at(t, r, c)) {
				assert_true(e.nu < 64);
				e.ur[e.nu] = r;
				e.uc[e.nu] = c;
				e.lb[e.nu] = lb;
				e.lo[e.nu] = INT64_MAX;
				e.hi[e.nu] = INT64_MIN;
				e.left_r[r]++;
				e.left_c[c]++;
				e.nu++;
			} else {
				e.need_r[r] -= (int64_t)tv;
				e.need_c[c] -= (int64_t)tv;
			}
		}
	enum_rec(&e, 0);
	assert_true(e.budget > 0);
	for (size_t k = 0; k < e.nu; k++) {
		assert_true(e.lo[k] <= e.hi[k]); /* the truth is a solution */
		npin += e.lo[k] == e.hi[k];
	}
	return npin;
}

static struct udc_table *
copy_table(const struct udc_table *s)
{
	struct udc_table *t = table(s->ngroups, s->ncats);
	size_t n = s->ngroups * s->ncats;

	memcpy(t->cells, s->cells, n * 8);
	memcpy(t->cell_supp, s->cell_supp, n);
	memcpy(t->g_unlinked, s->g_unlinked, s->ngroups * 8);
	memcpy(t->g_supp, s->g_supp, s->ngroups);
	memcpy(t->c_unlinked, s->c_unlinked, s->ncats * 8);
	memcpy(t->c_supp, s->c_supp, s->ncats);
	return t;
}

/* Checks one table both ways; returns what primary suppression alone
 * leaked. */
static size_t nrefused;

static void
dump(const struct udc_table *t)
{
	for (size_t r = 0; r <= t->ngroups; r++) {
		for (size_t c = 0; c <= t->ncats; c++) {
			if (r == t->ngroups && c == t->ncats)
				continue;
			print_message(" %3llu%c",
			              (unsigned long long)*val_at((struct udc_table *)t, r, c),
			              *supp_at((struct udc_table *)t, r, c) ? '*' : ' ');
		}
		print_message("\n");
	}
	print_message("\n");
}

static size_t
check_table(const struct udc_table *truth, unsigned min_cell, int enumerate)
{
	struct udc_table *prim = copy_table(truth), *full = copy_table(truth);
	struct udc_disclosure_report rep;
	size_t leaked;
	int rv;

	udc_table_disclose(prim, min_cell);
	leaked = recovered(prim);
	rv = udc_disclose_suppress(full, min_cell, &rep);
	if (rv == 0) {
		assert_int_equal(recovered(full), 0);
		if (enumerate && pinned(full, truth, rep.zeros > 0 ? 0 : 1) != 0) {
			dump(truth);
			dump(full);
			fail_msg("a suppressed entry is pinned by its bounds");
		}
		/* Suppressed counts are zeroed; released ones untouched. */
		for (size_t r = 0; r <= truth->ngroups; r++)
			for (size_t c = 0; c <= truth->ncats; c++) {
				if (r == truth->ngroups && c == truth->ncats)
					continue;
				if (*supp_at(full, r, c))
					assert_int_equal(*val_at(full, r, c), 0);
				else
					assert_int_equal(*val_at(full, r, c),
					                 *val_at((struct udc_table *)truth, r, c));
				/* Primary ones are all there. */
				uint64_t tv = *val_at((struct udc_table *)truth, r, c);
				if (tv > 0 && tv < min_cell)
					assert_true(*supp_at(full, r, c));
			}
	} else {
		/* Only when no cycle can exist (nearly empty tables). */
		assert_int_equal(rv, UDC_EREFUSED);
		nrefused++;
	}
	udc_table_free(prim);
	udc_table_free(full);
	return leaked;
}

static void
test_suppress_handmade(void **state)
{
	struct udc_table *t = table(3, 3);
	uint64_t cells[9] = {20, 3, 15, 12, 30, 18, 25, 11, 40};

	(void)state;
	memcpy(t->cells, cells, sizeof(cells));
	t->g_unlinked[0] = 50;
	t->g_unlinked[1] = 60;
	t->g_unlinked[2] = 70;
	t->c_unlinked[0] = 80;
	t->c_unlinked[1] = 90;
	t->c_unlinked[2] = 100;
	/* One small cell: primary alone gives it away by its row total. */
	assert_true(check_table(t, 10, 1) > 0);

	/* A 2x2 block of ones: bridge-free after primary suppression, yet
	 * each is pinned to 1 once the attacker knows suppressed >= 1. */
	uint64_t ones[9] = {1, 1, 30, 1, 1, 40, 25, 35, 45};
	memcpy(t->cells, ones, sizeof(ones));
	struct udc_table *p = copy_table(t);
	udc_table_disclose(p, 10);
	assert_int_equal(recovered(p), 0);
	assert_true(pinned(p, t, 1) > 0);
	udc_table_free(p);
	check_table(t, 10, 1);

	/* Margins small: the unlinked counts are entries like any other. */
	memcpy(t->cells, cells, sizeof(cells));
	t->g_unlinked[1] = 2;
	t->c_unlinked[2] = 4;
	assert_true(check_table(t, 10, 1) > 0);
	udc_table_free(t);
}

/* Counts: many zeros and small values, some large ones. */
static uint64_t
rand_count(void)
{
	uint32_t k = udc_random_uniform(10);

	if (k < 3)
		return 0;
	if (k < 7)
		return 1 + udc_random_uniform(9);
	return 10 + udc_random_uniform(40);
}

static void
fill_random(struct udc_table *t)
{
	for (size_t k = 0; k < t->ngroups * t->ncats; k++)
		t->cells[k] = rand_count();
	for (size_t k = 0; k < t->ngroups; k++)
		t->g_unlinked[k] = rand_count();
	for (size_t k = 0; k < t->ncats; k++)
		t->c_unlinked[k] = rand_count();
}

static void
test_suppress_random(void **state)
{
	size_t leaky = 0;

	(void)state;
	use_det(1);
	for (int i = 0; i < 1500; i++) {
		size_t ng = 2 + udc_random_uniform(6), nc = 2 + udc_random_uniform(5);
		struct udc_table *t = table(ng, nc);

		fill_random(t);
		leaky += check_table(t, 10, 0) > 0;
		udc_table_free(t);
	}
	/* The checker has teeth: primary suppression alone leaks often. */
	assert_true(leaky > 300);
	print_message("refused as unprotectable: %zu of 1500\n", nrefused);
	assert_true(nrefused < 75);
	udc_random_set_source(NULL, NULL);
}

static void
test_suppress_random_bounds(void **state)
{
	(void)state;
	use_det(2);
	/* Small enough to enumerate every solution. */
	for (int i = 0; i < 300; i++) {
		size_t ng = 2 + udc_random_uniform(2), nc = 2 + udc_random_uniform(2);
		struct udc_table *t = table(ng, nc);

		for (size_t k = 0; k < ng * nc; k++)
			t->cells[k] = udc_random_uniform(3) ? 1 + udc_random_uniform(4) : 12;
		for (size_t k = 0; k < ng; k++)
			t->g_unlinked[k] = udc_random_uniform(2) ? 1 + udc_random_uniform(3) : 0;
		for (size_t k = 0; k < nc; k++)
			t->c_unlinked[k] = udc_random_uniform(2) ? 1 + udc_random_uniform(3) : 11;
		check_table(t, 10, 1);
		udc_table_free(t);
	}
	udc_random_set_source(NULL, NULL);
}

static void
test_suppress_large(void **state)
{
	struct udc_table *t = table(264, 8);
	struct udc_disclosure_report rep;

	(void)state;
	use_det(3);
	fill_random(t);
	assert_int_equal(udc_disclose_suppress(t, 10, &rep), 0);
	assert_true(rep.primary > 0);
	udc_table_free(t);

	/* Sparse and wide, like postcode areas by 64 categories. */
	t = table(2048, 64);
	for (size_t k = 0; k < 2048 * 64; k++)
		t->cells[k] = udc_random_uniform(8) ? 0 : rand_count();
	for (size_t k = 0; k < 2048; k++)
		t->g_unlinked[k] = 20 + udc_random_uniform(100);
	for (size_t k = 0; k < 64; k++)
		t->c_unlinked[k] = 1000 + udc_random_uniform(100);
	assert_int_equal(udc_disclose_suppress(t, 10, &rep), 0);
	assert_true(rep.secondary > 0);
	udc_table_free(t);
	udc_random_set_source(NULL, NULL);
}

static void
test_round(void **state)
{
	struct udc_table *t = table(3, 4);
	uint64_t sum = 0;

	(void)state;
	use_det(4);
	for (size_t k = 0; k < 12; k++)
		t->cells[k] = 10 + k * 7;
	t->cell_supp[5] = 1;
	t->cells[5] = 0;
	udc_disclose_round(t, 5);
	for (size_t k = 0; k < 12; k++) {
		assert_int_equal(t->cells[k] % 5, 0);
		if (k != 5) {
			uint64_t x = 10 + k * 7, y = t->cells[k];
			assert_true(y + 5 > x && y < x + 5);
		}
	}
	assert_int_equal(t->cells[5], 0);
	/* Unbiased: 7 rounds to 10 with probability 2/5, mean 7. */
	for (int i = 0; i < 20000; i++) {
		t->cells[0] = 7;
		udc_disclose_round(t, 5);
		assert_true(t->cells[0] == 5 || t->cells[0] == 10);
		sum += t->cells[0];
	}
	assert_true(sum > 20000 * 7 - 4000 && sum < 20000 * 7 + 4000);
	udc_table_free(t);
	udc_random_set_source(NULL, NULL);
}

static void
test_noise_reproducible(void **state)
{
	int64_t a[64], b[64];

	(void)state;
	use_det(5);
	for (int i = 0; i < 64; i++)
		assert_int_equal(udc_discrete_laplace(1, 3, &a[i]), 0);
	use_det(5);
	for (int i = 0; i < 64; i++) {
		assert_int_equal(udc_discrete_laplace(1, 3, &b[i]), 0);
		assert_true(a[i] == b[i]);
	}
	assert_int_equal(udc_discrete_laplace(0, 3, &a[0]), UDC_EINVAL);
	udc_random_set_source(NULL, NULL);
}

/* x with P(chi2_k > x) <= 1e-9 by the Chernoff bound
 * (x/k * e^(1 - x/k))^(k/2), found by bisection. */
static double
chi2_threshold(int k)
{
	double lo = k, hi = 100.0 * k + 1000;

	for (int i = 0; i < 200; i++) {
		double x = (lo + hi) / 2, z = x / k;
		double logp = (k / 2.0) * (log(z) + 1 - z);

		if (logp > log(1e-9))
			lo = x;
		else
			hi = x;
	}
	return hi;
}

/* Chi-square of counts over [-K, K] plus two tails against eps = e. */
static double
chi2(const long *cnt, int K, long n, double e)
{
	double q = exp(-e), c = (1 - q) / (1 + q), s = 0, tail = 0;

	for (int z = -K; z <= K; z++) {
		double p = c * pow(q, abs(z)), ex = p * n;
		s += (cnt[z + K + 1] - ex) * (cnt[z + K + 1] - ex) / ex;
	}
	/* P(Z > K) = c * q^(K+1) / (1 - q), same below -K. */
	tail = c * pow(q, K + 1) / (1 - q) * n;
	s += (cnt[0] - tail) * (cnt[0] - tail) / tail;
	s += (cnt[2 * K + 2] - tail) * (cnt[2 * K + 2] - tail) / tail;
	return s;
}

static void
noise_dist(uint32_t num, uint32_t den)
{
	const long n = 200000;
	double e = (double)num / den, q = exp(-e);
	int K = 0;
	long *cnt;

	/* Bins down to an expected count of 20; the rest go to the tails. */
	while ((1 - q) / (1 + q) * pow(q, K + 1) * n > 20 && K < 200)
		K++;
	cnt = calloc((size_t)(2 * K + 3), sizeof(*cnt));
	for (long i = 0; i < n; i++) {
		int64_t z;

		assert_int_equal(udc_discrete_laplace(num, den, &z), 0);
		if (z < -K)
			cnt[0]++;
		else if (z > K)
			cnt[2 * K + 2]++;
		else
			cnt[z + K + 1]++;
	}
	double thr = chi2_threshold(2 * K + 2);
	assert_true(chi2(cnt, K, n, e) < thr);
	/* And the test has power: a 15% wrong epsilon fails it. */
	assert_true(chi2(cnt, K, n, e * 1.15) > thr);
	free(cnt);
}

static void
test_noise_distribution(void **state)
{
	(void)state;
	udc_random_set_source(NULL, NULL);
	noise_dist(1, 2);
	noise_dist(3, 2);
}

static void
test_noise_no_reals(void **state)
{
	char path[4096], *text, *a, *b;
	const char *src = getenv("UDC_SOURCE_DIR") ? getenv("UDC_SOURCE_DIR") : UDC_SOURCE_DIR_DEF;
	FILE *f;
	long len;

	(void)state;
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/common/release/disclosure.c", src);
	assert_non_null(f = fopen(path, "rb"));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	text = calloc(1, (size_t)len + 1);
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	assert_non_null(a = strstr(text, "BEGIN integer-only sampler"));
	assert_non_null(b = strstr(text, "END integer-only sampler"));
	assert_true(a < b);
	*b = '\0';
	assert_non_null(strstr(a, "udc_discrete_laplace"));
	assert_null(strstr(a, "double"));
	assert_null(strstr(a, "float"));
	assert_null(strstr(text, "<math.h>"));
	free(text);
}

static char tmpdir[64];

static int
setup_dir(void **state)
{
	(void)state;
	strcpy(tmpdir, "/tmp/udc-disc-XXXXXX");
	return mkdtemp(tmpdir) == NULL ? -1 : 0;
}

static int
teardown_dir(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static const uint8_t pop1[32] = {1}, pop2[32] = {2}, spec1[32] = {0xaa}, spec2[32] = {0xbb};

static void
test_ledger(void **state)
{
	char path[128];
	struct udc_ledger *l = NULL;
	struct udc_rational tenth = {1, 10}, one = {1, 1}, spent;
	FILE *f;

	(void)state;
	snprintf(path, sizeof(path), "%s/ledger", tmpdir);
	assert_int_equal(udc_ledger_open(&l, path), 0);
	/* Ten tenths fit exactly in a budget of 1; the eleventh does not. */
	for (int i = 0; i < 10; i++)
		assert_int_equal(udc_ledger_spend(l, pop1, spec1, tenth, one), 0);
	assert_int_equal(udc_ledger_spend(l, pop1, spec1, tenth, one), UDC_EREFUSED);
	/* Another key has its own budget. */
	assert_int_equal(udc_ledger_spend(l, pop2, spec1, tenth, one), 0);
	udc_ledger_close(l);

	assert_int_equal(udc_ledger_open(&l, path), 0);
	udc_ledger_spent(l, pop1, spec1, &spent);
	assert_true(spent.num == 1 && spent.den == 1);
	udc_ledger_spent(l, pop2, spec1, &spent);
	assert_true(spent.num == 1 && spent.den == 10);
	udc_ledger_spent(l, pop1, spec2, &spent);
	assert_true(spent.num == 0);
	assert_int_equal(udc_ledger_spend(l, pop1, spec1, tenth, one), UDC_EREFUSED);
	udc_ledger_close(l);

	/* Damage: one digit changed.  An error, not a fresh ledger. */
	assert_non_null(f = fopen(path, "r+b"));
	fseek(f, 13, SEEK_SET);
	fputc('f', f);
	fclose(f);
	l = (struct udc_ledger *)1;
	assert_int_equal(udc_ledger_open(&l, path), UDC_EPARSE);
	assert_null(l);
	/* Truncated. */
	assert_int_equal(truncate(path, 40), 0);
	assert_int_equal(udc_ledger_open(&l, path), UDC_EPARSE);
	/* Empty. */
	assert_int_equal(truncate(path, 0), 0);
	assert_int_equal(udc_ledger_open(&l, path), UDC_EPARSE);
}

static void
test_disclose_budget(void **state)
{
	struct udc_disclosure_params p;
	struct udc_disclosure_report rep;
	char path[128];
	int ok = 0, rv;

	(void)state;
	snprintf(path, sizeof(path), "%s/ledger2", tmpdir);
	memset(&p, 0, sizeof(p));
	p.min_cell = 10;
	p.round_base = 5;
	p.eps_num = 1;
	p.eps_den = 4;
	p.ledger_path = path;
	p.budget.num = 2;
	p.budget.den = 1;
	memcpy(p.population, pop1, 32);
	memcpy(p.spec_hash, spec1, 32);
	/* Each release costs 2 * 1/4 = 1/2: four fit in a budget of 2. */
	for (int i = 0; i < 6; i++) {
		struct udc_table *t = table(5, 3);

		for (size_t k = 0; k < 15; k++)
			t->cells[k] = k == 4 ? 3 : 20 + k;
		for (size_t k = 0; k < 5; k++)
			t->g_unlinked[k] = 30 + k;
		for (size_t k = 0; k < 3; k++)
			t->c_unlinked[k] = 40 + k;
		rv = udc_disclose(t, &p, &rep);
		if (rv == 0) {
			ok++;
			assert_true(rep.charged.num == 1 && rep.charged.den == 2);
			for (size_t k = 0; k < 15; k++)
				assert_int_equal(t->cells[k] % 5, 0);
		} else {
			assert_int_equal(rv, UDC_EREFUSED);
			assert_int_equal(rep.charged.num, 0);
		}
		udc_table_free(t);
	}
	assert_int_equal(ok, 4);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_suppress_handmade),
	    cmocka_unit_test(test_suppress_random),
	    cmocka_unit_test(test_suppress_random_bounds),
	    cmocka_unit_test(test_suppress_large),
	    cmocka_unit_test(test_round),
	    cmocka_unit_test(test_noise_reproducible),
	    cmocka_unit_test(test_noise_distribution),
	    cmocka_unit_test(test_noise_no_reals),
	    cmocka_unit_test(test_ledger),
	    cmocka_unit_test(test_disclose_budget),
	};

	return cmocka_run_group_tests(tests, setup_dir, teardown_dir);
}
