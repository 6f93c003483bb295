/*
 * test_report.c - the report of released tables (common/report/).
 *
 * Intervals (bounds.c): random tables of two and three dimensions with
 * random suppression patterns, released exactly, rounded at random, or
 * with bounded noise: the true count of every cell must lie in its
 * interval; a cell that is the only unknown of some line must come out
 * exact; a hand-worked 2 x 2 table gives the intervals worked out on
 * paper; contradicting cells are refused.  Shares: the interval equals
 * the least and greatest n / d over every whole-number solution, found by
 * brute force.  The noise bound: the defining inequality on both sides.
 *
 * Documents (released.c), configuration (reportconf.c), indicators
 * (indicators.c) and the CSV (report.c): valid input read right, and
 * malformed input refused with the file, the line (or field) and the
 * reason.  Dutch CSV: decimal commas with ';', points with ','.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "err.h"
#include "geomap.h"
#include "indicators.h"
#include "released.h"
#include "report.h"
#include "reportconf.h"

/* --- a small deterministic generator (the test's own) --- */

static uint64_t rng_state = 0x9e3779b97f4a7c15ull;

static uint32_t
rnd(uint32_t n)
{
	rng_state ^= rng_state << 13;
	rng_state ^= rng_state >> 7;
	rng_state ^= rng_state << 17;
	return (uint32_t)(rng_state % n);
}

/* --- intervals --- */

/* Fills every total of a table whose inner cells are set: dimension by
 * dimension, each line's last cell is the sum of the others. */
static void
fill_totals(const size_t *len, size_t nd, int64_t *v)
{
	size_t ncells = 1, stride;

	for (size_t d = 0; d < nd; d++)
		ncells *= len[d];
	stride = ncells;
	for (size_t d = 0; d < nd; d++) {
		stride /= len[d];
		for (size_t i = 0; i < ncells; i++) {
			int64_t s = 0;

			if ((i / stride) % len[d] != 0)
				continue;
			for (size_t k = 0; k + 1 < len[d]; k++)
				s += v[i + k * stride];
			v[i + (len[d] - 1) * stride] = s;
		}
	}
}

/* Is cell i an inner cell (no coordinate at a total)? */
static int
inner(const size_t *len, size_t nd, size_t i)
{
	for (size_t d = nd; d-- > 0;) {
		if (i % len[d] == len[d] - 1)
			return 0;
		i /= len[d];
	}
	return 1;
}

/* The only unknown of some line whose other cells are released exactly:
 * then the cell itself is determined. */
static int
determined(const size_t *len, size_t nd, const uint8_t *supp, size_t i)
{
	size_t ncells = 1, stride;

	for (size_t d = 0; d < nd; d++)
		ncells *= len[d];
	stride = ncells;
	for (size_t d = 0; d < nd; d++) {
		size_t start, nsupp = 0;

		stride /= len[d];
		start = i - ((i / stride) % len[d]) * stride;
		for (size_t k = 0; k < len[d]; k++)
			nsupp += supp[start + k * stride];
		if (nsupp == 1)
			return 1;
	}
	return 0;
}

enum release_kind { REL_EXACT, REL_ROUNDED, REL_NOISY };

static void
random_tables(enum release_kind kind)
{
	size_t trials = 400, exact_checked = 0, suppressed_seen = 0, narrowed = 0;

	for (size_t trial = 0; trial < trials; trial++) {
		size_t nd = 2 + rnd(2), len[3], ncells = 1;
		int lb = rnd(2), base = 5;
		int64_t slack = kind == REL_EXACT ? 0 : kind == REL_ROUNDED ? base - 1 : 3;
		int64_t *truth, *lo, *hi;
		uint8_t *supp;
		int density = 1 + (int)rnd(6); /* of 10: how many cells are suppressed */

		for (size_t d = 0; d < nd; d++) {
			len[d] = 2 + rnd(nd == 2 ? 5 : 3);
			ncells *= len[d];
		}
		truth = calloc(ncells, sizeof(int64_t));
		lo = calloc(ncells, sizeof(int64_t));
		hi = calloc(ncells, sizeof(int64_t));
		supp = calloc(ncells, 1);
		assert_non_null(truth);
		assert_non_null(lo);
		assert_non_null(hi);
		assert_non_null(supp);
		for (size_t i = 0; i < ncells; i++)
			if (inner(len, nd, i))
				truth[i] = rnd(4) == 0 ? 0 : (int64_t)rnd(rnd(2) ? 12 : 60);
		fill_totals(len, nd, truth);
		for (size_t i = 0; i < ncells; i++) {
			/* with lb 1 a suppressed count is never 0, as the release promises */
			supp[i] = (int)rnd(10) < density && (lb == 0 || truth[i] >= 1);
			if (supp[i]) {
				lo[i] = lb;
				hi[i] = UDC_BOUND_INF;
				continue;
			}
			{
				int64_t r = truth[i];

				if (kind == REL_ROUNDED && r % base != 0)
					r = r - r % base + (rnd(base) < (uint32_t)(r % base) ? base : 0);
				else if (kind == REL_NOISY) {
					r += (int64_t)rnd(7) - 3;
					if (r < 0)
						r = 0;
				}
				lo[i] = r > slack ? r - slack : 0;
				hi[i] = r + slack;
			}
		}
		{
			size_t passes;
			int conv, rv = udc_bounds_propagate(len, nd, lo, hi, 10000, &passes, &conv,
			                                    NULL);

			assert_int_equal(rv, 0);
			assert_true(conv);
		}
		for (size_t i = 0; i < ncells; i++) {
			if (truth[i] < lo[i] || (hi[i] != UDC_BOUND_INF && truth[i] > hi[i]))
				fail_msg("trial %zu (%s), cell %zu: true %lld outside [%lld, %lld]", trial,
				         kind == REL_EXACT ? "exact" : kind == REL_ROUNDED ? "rounded"
				                                                         : "noisy",
				         i, (long long)truth[i], (long long)lo[i], (long long)hi[i]);
			if (!supp[i])
				continue;
			suppressed_seen++;
			narrowed += hi[i] != UDC_BOUND_INF || lo[i] > lb;
			if (kind == REL_EXACT && determined(len, nd, supp, i)) {
				exact_checked++;
				if (lo[i] != truth[i] || hi[i] != truth[i])
					fail_msg("trial %zu: cell %zu, the only unknown of a line, is %lld but "
					         "got [%lld, %lld]", trial, i, (long long)truth[i],
					         (long long)lo[i], (long long)hi[i]);
			}
		}
		free(truth);
		free(lo);
		free(hi);
		free(supp);
	}
	/* the test has teeth: many suppressed cells, most of them narrowed */
	assert_true(suppressed_seen > 1000);
	assert_true(narrowed > suppressed_seen / 2);
	if (kind == REL_EXACT)
		assert_true(exact_checked > 100);
	print_message("%zu suppressed cells, %zu narrowed, %zu determined by one line\n",
	              suppressed_seen, narrowed, exact_checked);
}

static void
test_bounds_random_exact(void **state)
{
	(void)state;
	random_tables(REL_EXACT);
}

static void
test_bounds_random_rounded(void **state)
{
	(void)state;
	random_tables(REL_ROUNDED);
}

static void
test_bounds_random_noisy(void **state)
{
	(void)state;
	random_tables(REL_NOISY);
}

/*
 * By hand: rows a, b; columns x, y.  Inner cells suppressed, margins
 * released: a = 10, b = 20, x = 12, y = 18, total 30.  With every
 * suppressed count at least 1: ax in [1, 9] (ax <= a - ay <= 10 - 1),
 * ay in [1, 9], bx = x - ax in [3, 11], by = y - ay in [9, 17]; and
 * bx <= b - by... all consistent.  With the bound 0: ax in [0, 10],
 * ay [0, 10], bx [2, 12], by [8, 18].
 */
static void
test_bounds_by_hand(void **state)
{
	size_t len[2] = {3, 3};
	/* cells: ax ay a | bx by b | x y T */
	int64_t lo[9], hi[9];
	const int64_t rel[9] = {-1, -1, 10, -1, -1, 20, 12, 18, 30};
	const int64_t want[2][8] = {{1, 9, 1, 9, 3, 11, 9, 17}, {0, 10, 0, 10, 2, 12, 8, 18}};
	const size_t cell[4] = {0, 1, 3, 4};

	(void)state;
	for (int lb = 1; lb >= 0; lb--) {
		for (size_t i = 0; i < 9; i++) {
			lo[i] = rel[i] < 0 ? lb : rel[i];
			hi[i] = rel[i] < 0 ? UDC_BOUND_INF : rel[i];
		}
		assert_int_equal(udc_bounds_propagate(len, 2, lo, hi, 100, NULL, NULL, NULL), 0);
		for (size_t k = 0; k < 4; k++) {
			assert_int_equal(lo[cell[k]], want[1 - lb][2 * k]);
			assert_int_equal(hi[cell[k]], want[1 - lb][2 * k + 1]);
		}
	}
	/* one suppressed cell in a row: exact by subtraction */
	{
		int64_t l2[9] = {5, 5, 10, 0, 20, 20, 5, 25, 30}, h2[9];

		memcpy(h2, l2, sizeof(h2));
		l2[1] = 1;
		h2[1] = UDC_BOUND_INF;
		assert_int_equal(udc_bounds_propagate(len, 2, l2, h2, 100, NULL, NULL, NULL), 0);
		assert_int_equal(l2[1], 5);
		assert_int_equal(h2[1], 5);
	}
}

/* Cells that cannot all be true are refused, with the cell. */
static void
test_bounds_contradiction(void **state)
{
	/* two rows a, b of one column and its total: a = 3, b = 4, but the
	 * column's total says 4 */
	size_t len[2] = {3, 2}, bad = 99;
	int64_t lo[6] = {3, 3, 4, 4, 4, 4}, hi[6] = {3, 3, 4, 4, 4, 4};

	(void)state;
	assert_int_equal(udc_bounds_propagate(len, 2, lo, hi, 100, NULL, NULL, &bad), UDC_EINVAL);
	assert_true(bad < 6);
	/* bad arguments: a dimension without a category */
	{
		size_t l1[1] = {1};
		int64_t a = 0, b = 0;

		assert_int_equal(udc_bounds_propagate(l1, 1, &a, &b, 1, NULL, NULL, NULL), UDC_EINVAL);
	}
}

/* The share interval against brute force over whole numbers. */
static void
test_share_brute_force(void **state)
{
	(void)state;
	for (int trial = 0; trial < 3000; trial++) {
		int64_t nlo = rnd(8), nhi = nlo + rnd(8), rlo = rnd(8), rhi = rlo + rnd(8);
		int64_t dlo = rnd(20), dhi = dlo + rnd(12);
		double slo, shi, blo = 2.0, bhi = -1.0;
		int rv, any = 0;
		int inf_n = rnd(6) == 0, inf_r = rnd(6) == 0, inf_d = rnd(6) == 0;

		for (int64_t n = nlo; n <= nhi + (inf_n ? 60 : 0); n++)
			for (int64_t r = rlo; r <= rhi + (inf_r ? 60 : 0); r++) {
				int64_t d = n + r;

				if (d < dlo || d < 1 || (!inf_d && d > dhi))
					continue;
				any = 1;
				blo = fmin(blo, (double)n / (double)d);
				bhi = fmax(bhi, (double)n / (double)d);
			}
		rv = udc_bounds_share(nlo, inf_n ? UDC_BOUND_INF : nhi, dlo, inf_d ? UDC_BOUND_INF : dhi,
		                      rlo, inf_r ? UDC_BOUND_INF : rhi, &slo, &shi);
		if (!any) {
			/* no solution in the searched box; with an unbounded side
			 * there may be one beyond it */
			if (!inf_n && !inf_r && !inf_d)
				assert_int_equal(rv, UDC_EINVAL);
			continue;
		}
		assert_int_equal(rv, 0);
		/* sound: the interval holds every solution */
		assert_true(slo <= blo + 1e-12);
		assert_true(shi >= bhi - 1e-12);
		/* and exact where everything is bounded */
		if (!inf_n && !inf_r && !inf_d) {
			assert_true(fabs(slo - blo) < 1e-12);
			assert_true(fabs(shi - bhi) < 1e-12);
		}
	}
	/* nobody in the denominator */
	{
		double a, b;

		assert_int_equal(udc_bounds_share(0, 0, 0, 0, 0, 0, &a, &b), UDC_EINVAL);
		assert_int_equal(udc_bounds_share(21, 21, 165, 165, 144, 144, &a, &b), 0);
		assert_true(a == 21.0 / 165.0 && b == 21.0 / 165.0);
	}
}

/* B is the least bound with 2 p^(B+1) / (1 + p) <= alpha / n. */
static void
test_laplace_bound(void **state)
{
	const uint32_t nums[] = {1, 1, 1, 3};
	const uint32_t dens[] = {10, 2, 1, 1};
	const size_t ns[] = {1, 20, 150, 1000};

	(void)state;
	assert_int_equal(udc_bounds_laplace(0, 1, 10, 0.05), 0);
	for (size_t i = 0; i < 4; i++)
		for (size_t j = 0; j < 4; j++) {
			double eps = (double)nums[i] / dens[i], p = exp(-eps), a = 0.05 / (double)ns[j];
			int64_t b = udc_bounds_laplace(nums[i], dens[i], ns[j], 0.05);

			assert_true(2 * pow(p, (double)b + 1) / (1 + p) <= a * (1 + 1e-9));
			if (b > 0)
				assert_true(2 * pow(p, (double)b) / (1 + p) > a);
		}
	/* a worked value: eps 1/2, one cell: p = 0.6065; 2p^(B+1)/(1+p) <= 0.05
	 * needs B + 1 >= 6.43, so B = 6 */
	assert_int_equal(udc_bounds_laplace(1, 2, 1, 0.05), 6);
}

/* --- documents --- */

static char tmpdir[64];

static void
put(const char *name, const char *text)
{
	char p[256];
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", tmpdir, name);
	f = fopen(p, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
}

static const char *
path(const char *name)
{
	static char p[4][256];
	static int k;

	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", tmpdir, name);
	return p[k];
}

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/udc-test-report-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A small release: wijk (W1, W2, W3) x low (ja, nee), and a register per
 * wijk.  W3's cells are suppressed; W2 has nobody. */
static const char *json_ok =
    "{\"metadata\": {\"round_id\": \"r1\", \"spec_name\": \"s\", \"spec_hash\": \"abc\",\n"
    " \"started\": \"2026-01-01T00:00:00Z\", \"finished\": \"2026-01-01T00:01:00Z\",\n"
    " \"signer\": \"CBS key 1234\", \"disclosure_control\": \"note\", \"links_total\": 80,\n"
    " \"gemeente_input\": {\"rows_read\": 100, \"records_used\": 97, \"rows_rejected\": 3,\n"
    "   \"rejected_by_reason\": {\"duplicate\": 2, \"no_match_key\": 1}},\n"
    " \"margins\": {\"gemeente_only\": {\"rows_rejected_not_counted\": 3},\n"
    "   \"cbs_only\": {\"rows_rejected_not_counted\": 0}}},\n"
    " \"disclosure\": {\"min_cell\": 10, \"protection\": 1, \"suppressed_may_be_zero\": false},\n"
    " \"tables\": [\n"
    "  {\"name\": \"wl\", \"population\": \"linked\", \"dimensions\": [\n"
    "    {\"name\": \"wijk\", \"side\": \"gemeente\", \"categories\": [\"W1\", \"W2\", \"W3\"]},\n"
    "    {\"name\": \"low\", \"side\": \"cbs\", \"categories\": [\"ja\", \"nee\"]}],\n"
    "   \"where\": {}, \"cells\": 12, \"suppressed\": 3},\n"
    "  {\"name\": \"reg\", \"population\": \"gemeente\", \"dimensions\": [\n"
    "    {\"name\": \"wijk\", \"side\": \"gemeente\", \"categories\": [\"W1\", \"W2\", \"W3\"]}],\n"
    "   \"where\": {}, \"cells\": 4, \"suppressed\": 0}]}\n";

/* W1: 20 ja + 40 nee = 60; W2: 0; W3: 5 + 15 = 20 (ja and the W3 total
 * suppressed, nee = 15 released? no: nee suppressed too); totals 25 / 55
 * / 80.  Line W3: 3 suppressed; column ja: W3 = 25 - 20 - 0 = 5 exactly. */
static const char *csv_ok =
    "table,wijk,low,count,suppressed\n"
    "wl,W1,ja,20,0\n"
    "wl,W1,nee,40,0\n"
    "wl,W1,,60,0\n"
    "wl,W2,ja,0,0\n"
    "wl,W2,nee,0,0\n"
    "wl,W2,,0,0\n"
    "wl,W3,ja,,1\n"
    "wl,W3,nee,,1\n"
    "wl,W3,,,1\n"
    "wl,,ja,25,0\n"
    "wl,,nee,55,0\n"
    "wl,,,80,0\n"
    "reg,W1,,70,0\n"
    "reg,W2,,0,0\n"
    "reg,W3,,25,0\n"
    "reg,,,95,0\n";

static struct udc_release *
read_ok(void)
{
	struct udc_release *r = NULL;
	char err[512];

	put("ok.csv", csv_ok);
	put("ok.json", json_ok);
	if (udc_release_read(&r, path("ok.csv"), path("ok.json"), err, sizeof(err)) != 0)
		fail_msg("%s", err);
	return r;
}

static void
test_release_read(void **state)
{
	struct udc_release *r = read_ok();
	const struct udc_rel_table *t;
	size_t c[2];

	(void)state;
	assert_string_equal(r->round_id, "r1");
	assert_int_equal(r->ntables, 2);
	assert_int_equal(r->may_be_zero, 0);
	assert_int_equal(r->input[0].rows_rejected, 3);
	assert_int_equal(r->input[0].nreasons, 2);
	assert_int_equal(r->margin_rejected[0], 3);
	assert_int_equal(r->input[1].present, 0);
	t = udc_release_table(r, "wl");
	assert_non_null(t);
	assert_int_equal(t->ncells, 12);
	c[0] = 0;
	c[1] = 1;
	assert_int_equal(t->count[udc_rel_cell(t, c)], 40);
	c[0] = 2;
	c[1] = 2;
	assert_true(t->suppressed[udc_rel_cell(t, c)]);
	c[0] = 3;
	assert_int_equal(t->count[udc_rel_cell(t, c)], 80);
	assert_int_equal(udc_rel_cat_index(&t->dims[0], "W3"), 2);
	assert_int_equal(udc_rel_cat_index(&t->dims[0], "W4"), -1);
	udc_release_free(r);
}

/* Replaces the first occurrence of from in text. */
static char *
edit(const char *text, const char *from, const char *to)
{
	const char *p = strstr(text, from);
	char *out;

	assert_non_null(p);
	out = malloc(strlen(text) + strlen(to) + 1);
	assert_non_null(out);
	memcpy(out, text, (size_t)(p - text));
	strcpy(out + (p - text), to);
	strcat(out, p + strlen(from));
	return out;
}

static void
expect_bad(const char *csv, const char *json, int want, const char *msg)
{
	struct udc_release *r = NULL;
	char err[512];
	int rv;

	put("bad.csv", csv);
	put("bad.json", json);
	rv = udc_release_read(&r, path("bad.csv"), path("bad.json"), err, sizeof(err));
	if (rv != want || strstr(err, msg) == NULL)
		fail_msg("want %d with \"%s\", got %d: %s", want, msg, rv, err);
	assert_null(r);
}

static void
test_release_malformed(void **state)
{
	char *c, *j, want[128];

	(void)state;
	/* CSV: file:line: reason */
	c = edit(csv_ok, "wl,W1,nee,40,0", "wl,W1,nee,x40,0");
	snprintf(want, sizeof(want), "bad.csv:3: count must be a whole number");
	expect_bad(c, json_ok, UDC_EPARSE, want);
	free(c);
	c = edit(csv_ok, "wl,W1,nee,40,0", "wl,W9,nee,40,0");
	expect_bad(c, json_ok, UDC_EPARSE, "bad.csv:3: 'W9' is not a category of wijk in table wl");
	free(c);
	c = edit(csv_ok, "wl,W1,nee,40,0", "wl,W1,ja,40,0");
	expect_bad(c, json_ok, UDC_EPARSE, "bad.csv:3: a second row for the same cell");
	free(c);
	c = edit(csv_ok, "wl,W3,ja,,1", "wl,W3,ja,4,1");
	expect_bad(c, json_ok, UDC_EPARSE, "bad.csv:8: a suppressed cell with a count");
	free(c);
	c = edit(csv_ok, "reg,W1,,70,0", "reg,W1,ja,70,0");
	expect_bad(c, json_ok, UDC_EPARSE, "bad.csv:14: table reg has no dimension in column 3");
	free(c);
	c = edit(csv_ok, "reg,W1,,70,0\n", "");
	expect_bad(c, json_ok, UDC_EPARSE, "bad.csv: table reg: 1 of its 4 cells have no row");
	free(c);
	c = edit(csv_ok, "reg,W2,,0,0", "regx,W2,,0,0");
	expect_bad(c, json_ok, UDC_EPARSE, "bad.csv:15: table 'regx' is not described");
	free(c);
	c = edit(csv_ok, "wl,W1,,60,0", "wl,W1,,60");
	expect_bad(c, json_ok, UDC_EPARSE, "bad.csv:4: expected 5 fields, found 4");
	free(c);
	c = edit(csv_ok, "wl,W1,,60,0", "wl,W1,,60,2");
	expect_bad(c, json_ok, UDC_EPARSE, "bad.csv:4: suppressed must be 0 or 1");
	free(c);
	c = edit(csv_ok, "wl,W1,,60,0", "wl,W1,,,1");
	expect_bad(c, json_ok, UDC_EPARSE, "table wl has 4 suppressed cells, but result.json says 3");
	free(c);
	c = edit(csv_ok, "table,wijk,low,count", "table,wijk,lowx,count");
	expect_bad(c, json_ok, UDC_EPARSE, "bad.csv:1: no column for dimension low of table wl");
	free(c);
	/* JSON: a syntax error has its line, a field its path */
	j = edit(json_ok, "\"links_total\": 80,", "\"links_total\": 80,,");
	expect_bad(csv_ok, j, UDC_EPARSE, "bad.json:3: string or '}' expected");
	free(j);
	j = edit(json_ok, "\"suppressed_may_be_zero\": false", "\"suppressed_may_be_zero\": 0");
	expect_bad(csv_ok, j, UDC_EPARSE, "bad.json: disclosure: 'suppressed_may_be_zero' must be");
	free(j);
	j = edit(json_ok, "\"cells\": 12", "\"cells\": 13");
	expect_bad(csv_ok, j, UDC_EPARSE, "bad.json: tables[0]: 'cells' is 13 but its dimensions "
	           "make 12 cells");
	free(j);
	j = edit(json_ok, "[\"ja\", \"nee\"]", "[\"ja\", \"ja\"]");
	expect_bad(csv_ok, j, UDC_EPARSE, "bad.json: tables[0].dimensions[1].categories: category "
	           "'ja' appears twice");
	free(j);
	j = edit(json_ok, "\"side\": \"cbs\"", "\"side\": \"both\"");
	expect_bad(csv_ok, j, UDC_EPARSE, "bad.json: tables[0].dimensions[1]: 'side' must be");
	free(j);
	j = edit(json_ok, "\"round_id\": \"r1\", ", "");
	expect_bad(csv_ok, j, UDC_EPARSE, "bad.json: metadata: 'round_id' is missing");
	free(j);
	j = edit(json_ok, " \"disclosure\": {\"min_cell\": 10, \"protection\": 1, "
	         "\"suppressed_may_be_zero\": false},\n", "");
	expect_bad(csv_ok, j, UDC_EPARSE, "bad.json: disclosure: missing");
	free(j);
	{
		struct udc_release *r = NULL;
		char err[256];

		assert_int_equal(udc_release_read(&r, path("none.csv"), path("none.json"), err,
		                                  sizeof(err)), UDC_EIO);
		assert_non_null(strstr(err, "none.json: No such file"));
	}
}

/* --- configuration --- */

static const char *conf_ok =
    "# a report\n"
    "[report]\n"
    "title = Test\n"
    "area = wijk\n"
    "\n"
    "[indicator low]\n"
    "title = Laag inkomen\n"
    "table = wl\n"
    "numerator = low=ja\n"
    "description = first part\n"
    "    second part\n";

static struct udc_rconf *
conf_parse(const char *text, int want, const char *msg)
{
	struct udc_rconf *c = NULL;
	char err[512] = "";
	int rv = udc_rconf_parse(&c, text, strlen(text), "t.report", "/d", err, sizeof(err));

	if (rv != want || (msg != NULL && strstr(err, msg) == NULL))
		fail_msg("want %d with \"%s\", got %d: %s", want, msg ? msg : "", rv, err);
	return c;
}

static void
test_config(void **state)
{
	struct udc_rconf *c = conf_parse(conf_ok, 0, NULL);
	char *t;

	(void)state;
	assert_string_equal(c->title, "Test");
	assert_string_equal(c->area_label, "Gebied");
	assert_string_equal(c->total_name, "Totaal");
	assert_null(c->map);
	assert_int_equal(c->nind, 1);
	assert_string_equal(c->ind[0].name, "low");
	assert_string_equal(c->ind[0].description, "first part second part");
	assert_int_equal(c->ind[0].num.n, 1);
	assert_string_equal(c->ind[0].num.dim[0], "low");
	assert_string_equal(c->ind[0].num.val[0], "ja");
	assert_int_equal(c->ind[0].line, 6);
	udc_rconf_free(c);

	t = edit(conf_ok, "area = wijk\n", "area = wijk\nmap = m.geojson\nmap_code = c\n"
	         "map_name = n\nattribution = A\n");
	c = conf_parse(t, 0, NULL);
	assert_string_equal(c->map, "/d/m.geojson");
	udc_rconf_free(c);
	free(t);

	t = edit(conf_ok, "table = wl", "tabel = wl");
	udc_rconf_free(conf_parse(t, UDC_EPARSE, "t.report:8: unknown key 'tabel' in [indicator low]"));
	free(t);
	t = edit(conf_ok, "table = wl", "table = wl\ntable = x");
	udc_rconf_free(conf_parse(t, UDC_EPARSE, "t.report:9: duplicate key 'table' in [indicator "
	                          "low] (first on line 8)"));
	free(t);
	t = edit(conf_ok, "numerator = low=ja", "numerator = low");
	udc_rconf_free(conf_parse(t, UDC_EPARSE, "t.report:9: numerator: 'low' is not dim=value"));
	free(t);
	t = edit(conf_ok, "numerator = low=ja", "numerator = low=ja, low=nee");
	udc_rconf_free(conf_parse(t, UDC_EPARSE, "t.report:9: numerator: dimension low given twice"));
	free(t);
	t = edit(conf_ok, "title = Laag inkomen\n", "");
	udc_rconf_free(conf_parse(t, UDC_EPARSE, "t.report:6: [indicator low] needs title, table "
	                          "and numerator"));
	free(t);
	t = edit(conf_ok, "area = wijk\n", "area = wijk\nmap = m.geojson\n");
	udc_rconf_free(conf_parse(t, UDC_EPARSE, "t.report:5: a map needs map_code"));
	free(t);
	t = edit(conf_ok, "[report]", "[rapport]");
	udc_rconf_free(conf_parse(t, UDC_EPARSE, "t.report:2: unknown section [rapport]"));
	free(t);
	t = edit(conf_ok, "table = wl\n", "table = wl\n  more\n");
	udc_rconf_free(conf_parse(t, UDC_EPARSE, "t.report:9: indented line would continue the "
	                          "value of 'table'"));
	free(t);
	t = edit(conf_ok, "[indicator low]", "[indicator Low!]");
	udc_rconf_free(conf_parse(t, UDC_EPARSE, "t.report:6: indicator name 'Low!' must be"));
	free(t);
	udc_rconf_free(conf_parse("[report]\ntitle = T\narea = wijk\n[indicator x]\n", UDC_EPARSE,
	                          "t.report:4: [indicator x] has no keys"));
	udc_rconf_free(conf_parse("[report]\ntitle = T\narea = wijk\n", UDC_EPARSE,
	                          "t.report: no [indicator NAME] section"));
	udc_rconf_free(conf_parse("title = T\n", UDC_EPARSE, "t.report:1: key 'title' is outside"));
}

/* --- indicators --- */

static void
test_indicators(void **state)
{
	struct udc_release *r = read_ok();
	struct udc_rconf *c = conf_parse(conf_ok, 0, NULL);
	struct udc_indicators *x = NULL;
	const struct udc_ind *ind;
	char err[512];

	(void)state;
	if (udc_indicators_compute(&x, c, r, NULL, NULL, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	ind = &x->ind[0];
	assert_int_equal(ind->nrows, 4);
	/* W1: 20 / 60 released */
	assert_int_equal(ind->rows[0].now.state, UDC_IND_RELEASED);
	assert_true(ind->rows[0].now.share == 20.0 / 60.0);
	assert_true(ind->rows[0].now.lo == 20.0 / 60.0 && ind->rows[0].now.hi == 20.0 / 60.0);
	/* W2: nobody */
	assert_int_equal(ind->rows[1].now.state, UDC_IND_NOBODY);
	/* W3: ja = 25 - 20 - 0 = 5 exactly from the column; nee = 55 - 40 - 0
	 * = 15; the total 20: a suppressed share whose interval is exact */
	assert_int_equal(ind->rows[2].now.state, UDC_IND_SUPPRESSED);
	assert_int_equal(ind->rows[2].now.num_lo, 5);
	assert_int_equal(ind->rows[2].now.num_hi, 5);
	assert_int_equal(ind->rows[2].now.den_lo, 20);
	assert_int_equal(ind->rows[2].now.den_hi, 20);
	assert_true(ind->rows[2].now.lo == 0.25 && ind->rows[2].now.hi == 0.25);
	/* the total */
	assert_null(ind->rows[3].code);
	assert_true(ind->rows[3].now.share == 25.0 / 80.0);
	udc_indicators_free(x);
	udc_rconf_free(c);

	/* what does not fit the release: the line of the key */
	{
		static const struct {
			const char *from, *to, *msg;
		} bad[] = {
		    {"table = wl", "table = wx", "t.report:8: indicator low: the release has no table "
		     "wx (it has wl, reg)"},
		    {"numerator = low=ja", "numerator = low=maybe", "t.report:9: indicator low: "
		     "numerator: 'maybe' is not a category of low in table wl"},
		    {"numerator = low=ja", "numerator = wijk=W1", "t.report:9: indicator low: "
		     "numerator: wijk is the area"},
		    {"numerator = low=ja", "numerator = low=ja\ndenominator = low=nee",
		     "t.report:10: indicator low: the denominator must hold the numerator"},
		    {"table = wl", "table = reg", "t.report:9: indicator low: numerator: table reg "
		     "has no dimension low"},
		    {"area = wijk", "area = buurt", "t.report:8: indicator low: table wl has no "
		     "dimension buurt"},
		};

		for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
			char *t = edit(conf_ok, bad[i].from, bad[i].to);
			int rv;

			c = conf_parse(t, 0, NULL);
			rv = udc_indicators_compute(&x, c, r, NULL, NULL, err, sizeof(err));
			if (rv != UDC_EINVAL || strstr(err, bad[i].msg) == NULL)
				fail_msg("case %zu: got %d: %s", i, rv, err);
			assert_null(x);
			udc_rconf_free(c);
			free(t);
		}
	}
	udc_release_free(r);
}

/* The earlier round: the same table compares; another population does not. */
static void
test_compare(void **state)
{
	struct udc_release *r = read_ok(), *old = NULL;
	struct udc_rconf *c = conf_parse(conf_ok, 0, NULL);
	struct udc_indicators *x = NULL;
	char err[512], *oc, *oj;

	(void)state;
	/* then: W1 15 / 60 */
	oj = edit(csv_ok, "wl,W1,ja,20,0\nwl,W1,nee,40,0", "wl,W1,ja,15,0\nwl,W1,nee,45,0");
	oc = edit(oj, "wl,,ja,25,0\nwl,,nee,55,0", "wl,,ja,20,0\nwl,,nee,60,0");
	free(oj);
	put("old.csv", oc);
	put("old.json", json_ok);
	if (udc_release_read(&old, path("old.csv"), path("old.json"), err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(udc_indicators_compute(&x, c, r, old, NULL, err, sizeof(err)), 0);
	assert_true(x->ind[0].comparable);
	assert_true(x->ind[0].rows[0].change_known);
	assert_true(fabs(x->ind[0].rows[0].change - (20.0 / 60 - 15.0 / 60)) < 1e-12);
	/* W3 then: ja = 20 - 15 = 5 of 20: no change, known only as an interval */
	assert_false(x->ind[0].rows[2].change_known);
	assert_true(x->ind[0].rows[2].has_change);
	assert_true(fabs(x->ind[0].rows[2].change_lo) < 1e-12);
	assert_true(fabs(x->ind[0].rows[2].change_hi) < 1e-12);
	udc_indicators_free(x);
	udc_release_free(old);
	free(oc);

	oj = edit(json_ok, "\"name\": \"wl\", \"population\": \"linked\"",
	          "\"name\": \"wl\", \"population\": \"cbs\"");
	put("old.json", oj);
	put("old.csv", csv_ok);
	if (udc_release_read(&old, path("old.csv"), path("old.json"), err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(udc_indicators_compute(&x, c, r, old, NULL, err, sizeof(err)), 0);
	assert_false(x->ind[0].comparable);
	assert_non_null(strstr(x->ind[0].incomparable, "populatie"));
	assert_false(x->ind[0].rows[0].has_change);
	udc_indicators_free(x);
	udc_release_free(old);
	free(oj);
	udc_rconf_free(c);
	udc_release_free(r);
}

/* --- output --- */

static char *
csv_text(const struct udc_indicators *x, char sep)
{
	char *buf = NULL;
	size_t n = 0;
	FILE *f = open_memstream(&buf, &n);

	assert_non_null(f);
	assert_int_equal(udc_report_csv(x, sep, f), 0);
	fclose(f);
	return buf;
}

static void
test_csv_dutch(void **state)
{
	struct udc_release *r = read_ok();
	struct udc_rconf *c;
	struct udc_indicators *x = NULL;
	char err[512], *t, *out;

	(void)state;
	/* a name with the separator in it */
	t = edit(conf_ok, "area = wijk", "area = wijk\ntotal_name = Stad; totaal");
	c = conf_parse(t, 0, NULL);
	assert_int_equal(udc_indicators_compute(&x, c, r, NULL, NULL, err, sizeof(err)), 0);
	out = csv_text(x, ';');
	assert_non_null(strstr(out, "indicator;code;name;numerator;numerator_low;numerator_high;"
	                       "denominator;denominator_low;denominator_high;share;share_low;"
	                       "share_high;suppressed;state\r\n"));
	/* 20 / 60 = 0,3333 (the interval rounded outwards) */
	assert_non_null(strstr(out, "low;W1;;20;20;20;60;60;60;0,3333;0,3333;0,3334;0;released\r\n"));
	assert_non_null(strstr(out, "low;W2;;0;0;0;0;0;0;;;;0;nobody\r\n"));
	assert_non_null(strstr(out, "low;W3;;;5;5;;20;20;;0,2500;0,2500;1;suppressed\r\n"));
	assert_non_null(strstr(out, "low;;\"Stad; totaal\";25;25;25;80;80;80;0,3125;0,3125;0,3125;0;"
	                       "released\r\n"));
	free(out);
	out = csv_text(x, ',');
	assert_non_null(strstr(out, "low,W1,,20,20,20,60,60,60,0.3333,0.3333,0.3334,0,released\r\n"));
	assert_non_null(strstr(out, "low,,Stad; totaal,25,"));
	free(out);
	{
		FILE *f = fopen("/dev/null", "w");

		assert_int_equal(udc_report_csv(x, '\t', f), UDC_EINVAL);
		fclose(f);
	}
	udc_indicators_free(x);
	udc_rconf_free(c);
	free(t);
	udc_release_free(r);
	{
		char b[32];

		udc_report_fmt(-0.00001, 1, 1, UDC_ROUND_NEAREST, b, sizeof(b));
		assert_string_equal(b, "0,0");
		udc_report_fmt(0.12345, 3, 0, UDC_ROUND_DOWN, b, sizeof(b));
		assert_string_equal(b, "0.123");
		udc_report_fmt(0.12345, 3, 1, UDC_ROUND_UP, b, sizeof(b));
		assert_string_equal(b, "0,124");
		udc_report_fmt(0.25, 2, 1, UDC_ROUND_UP, b, sizeof(b));
		assert_string_equal(b, "0,25");
	}
}

/* The map: a square and a bad file. */
static void
test_geomap(void **state)
{
	struct udc_geomap *m = NULL;
	char err[512];
	double x, y, h;

	(void)state;
	put("m.geojson", "{\"type\": \"FeatureCollection\", \"features\": [\n"
	    "{\"type\": \"Feature\", \"properties\": {\"c\": \"W1\", \"n\": \"Een\"},\n"
	    " \"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[4.0, 52.0], [4.1, 52.0],\n"
	    "  [4.1, 52.1], [4.0, 52.1], [4.0, 52.0]]]}}]}\n");
	if (udc_geomap_read(&m, path("m.geojson"), "c", "n", err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_string_equal(udc_geomap_find(m, "W1")->name, "Een");
	assert_null(udc_geomap_find(m, "W2"));
	/* 0.1 degree of longitude at 52.05 N is cos(52.05) = 0.6149 of a degree of latitude */
	udc_geomap_size(m, 100.0, &h);
	assert_true(fabs(h - 100.0 / cos(52.05 * M_PI / 180.0)) < 1e-9);
	udc_geomap_project(m, 100.0, 4.1, 52.0, &x, &y);
	assert_true(fabs(x - 100.0) < 1e-9 && fabs(y - h) < 1e-9);
	udc_geomap_free(m);

	put("m.geojson", "{\"type\": \"FeatureCollection\", \"features\": [\n"
	    "{\"type\": \"Feature\", \"properties\": {\"c\": \"W1\", \"n\": \"Een\"},\n"
	    " \"geometry\": {\"type\": \"Polygon\", \"coordinates\": [[[4.0, 52.0], [4.1, 52.0],\n"
	    "  [4.1, 52.1], [4.0, 52.2]]]}}]}\n");
	assert_int_equal(udc_geomap_read(&m, path("m.geojson"), "c", "n", err, sizeof(err)),
	                 UDC_EPARSE);
	assert_non_null(strstr(err, "m.geojson: features[0].geometry: a ring that is not closed"));
	put("m.geojson", "{\"type\": \"FeatureCollection\", \"features\": [\n"
	    "{\"type\": \"Feature\", \"properties\": {\"n\": \"Een\"}, \"geometry\": null}]}\n");
	assert_int_equal(udc_geomap_read(&m, path("m.geojson"), "c", "n", err, sizeof(err)),
	                 UDC_EPARSE);
	assert_non_null(strstr(err, "features[0].properties: 'c' is missing"));
	put("m.geojson", "{\"type\": \"FeatureCollection\",\n \"features\": [}\n");
	assert_int_equal(udc_geomap_read(&m, path("m.geojson"), "c", "n", err, sizeof(err)),
	                 UDC_EPARSE);
	assert_non_null(strstr(err, "m.geojson:2:"));
}

/* The whole run into a directory, and its errors by stage. */
static void
test_write(void **state)
{
	struct udc_report_opts o = {.csv_sep = ';', .generator = "test"};
	enum udc_report_stage st;
	char err[512], html[512], out[256], conf[256], conf2[256], csv[256], json[256], none[256];
	struct stat sb;
	int rv;

	(void)state;
	udc_release_free(read_ok()); /* writes ok.csv, ok.json */
	put("t.report", conf_ok);
	snprintf(out, sizeof(out), "%s/out", tmpdir);
	snprintf(conf, sizeof(conf), "%s", path("t.report"));
	snprintf(conf2, sizeof(conf2), "%s", path("t2.report"));
	snprintf(csv, sizeof(csv), "%s", path("ok.csv"));
	snprintf(json, sizeof(json), "%s", path("ok.json"));
	snprintf(none, sizeof(none), "%s", path("none.json"));
	o.config = conf;
	o.csv = csv;
	o.json = json;
	o.outdir = out;
	rv = udc_report_write(&o, html, sizeof(html), &st, err, sizeof(err));
	if (rv != 0)
		fail_msg("%s", err);
	assert_non_null(strstr(html, "/out/report.html"));
	assert_int_equal(stat(html, &sb), 0);
	assert_true(sb.st_size > 1000);
	assert_int_equal(stat(path("out/indicators.csv"), &sb), 0);
	assert_int_equal(stat(path("out/indicators.json"), &sb), 0);
	/* errors say which input they are about */
	o.json = none;
	assert_int_equal(udc_report_write(&o, NULL, 0, &st, err, sizeof(err)), UDC_EIO);
	assert_int_equal(st, UDC_REPORT_STAGE_RELEASE);
	o.json = json;
	put("t2.report", "[report]\ntitle = T\n");
	o.config = conf2;
	assert_int_equal(udc_report_write(&o, NULL, 0, &st, err, sizeof(err)), UDC_EPARSE);
	assert_int_equal(st, UDC_REPORT_STAGE_CONFIG);
	o.config = conf;
	o.outdir = "/nonexistent/dir/out";
	assert_int_equal(udc_report_write(&o, NULL, 0, &st, err, sizeof(err)), UDC_EIO);
	assert_int_equal(st, UDC_REPORT_STAGE_OUTPUT);
	unlink(path("out/report.html"));
	unlink(path("out/indicators.csv"));
	unlink(path("out/indicators.json"));
	rmdir(path("out"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bounds_random_exact),
	    cmocka_unit_test(test_bounds_random_rounded),
	    cmocka_unit_test(test_bounds_random_noisy),
	    cmocka_unit_test(test_bounds_by_hand),
	    cmocka_unit_test(test_bounds_contradiction),
	    cmocka_unit_test(test_share_brute_force),
	    cmocka_unit_test(test_laplace_bound),
	    cmocka_unit_test(test_release_read),
	    cmocka_unit_test(test_release_malformed),
	    cmocka_unit_test(test_config),
	    cmocka_unit_test(test_indicators),
	    cmocka_unit_test(test_compare),
	    cmocka_unit_test(test_csv_dutch),
	    cmocka_unit_test(test_geomap),
	    cmocka_unit_test(test_write),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
