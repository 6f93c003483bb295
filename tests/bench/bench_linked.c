/*
 * bench_linked.c - disclosure control of large and linked tables, timed.
 *
 * 1. The legacy release of a spec without tables: a sparse 65535 x 64
 *    udc_table with both margins, udc_disclose_suppress.
 * 2. The same shape as one linked two-way table with its totals
 *    (udc_linked_*): suppression by certified cycles, then the LP audit
 *    (GLPK) of a sample of the suppressed cells.
 * 3. The Den Haag study of docs/examples/denhaag-kinderarmoede-tables.spec
 *    on a synthetic city of N children (default 10,000 and 100,000):
 *    suppression across its six tables and the full LP audit, and how many
 *    wijken get each indicator released.
 *
 * Built with the tests, never run by ctest (figures depend on the machine).
 * Run from the source tree: bench_linked [children...] (environment
 * UDC_SOURCE_DIR, else the current directory, locates the spec and
 * scripts/popdata/wijken.csv).  Times are CPU seconds of this process.
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "disclosure.h"
#include "err.h"
#include "linked.h"
#include "spec.h"
#include "table.h"

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			v = atol(line + 6);
	fclose(f);
	return v;
}

static uint64_t rng_state = 3;

static uint64_t
rng(void)
{
	uint64_t z = (rng_state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint32_t
rnd(uint32_t n)
{
	return (uint32_t)(rng() % n);
}

static double
unif(void)
{
	return (double)(rng() >> 11) / 9007199254740992.0;
}

/* As tests/unit/test_disclosure.c: one cell in 8 nonzero, of those 3 in
 * 10 under 10. */
static uint64_t
rand_count(void)
{
	uint32_t k = rnd(10);

	if (k < 3)
		return 0;
	if (k < 7)
		return 1 + rnd(9);
	return 10 + rnd(40);
}

static void
fill_sparse(struct udc_table *t)
{
	for (size_t k = 0; k < t->ngroups * t->ncats; k++)
		t->cells[k] = rnd(8) ? 0 : rand_count();
	for (size_t k = 0; k < t->ngroups; k++)
		t->g_unlinked[k] = 20 + rnd(100);
	for (size_t k = 0; k < t->ncats; k++)
		t->c_unlinked[k] = 1000 + rnd(100);
}

/* A spec in memory with one dimension a side and one two-way table. */
static struct udc_spec *
two_way_spec(size_t ng, size_t nc)
{
	struct udc_spec *s = calloc(1, sizeof(*s));
	size_t n[2] = {ng, nc};
	const char *names[2] = {"g", "k"};

	s->name = strdup("bench");
	for (int side = 0; side < 2; side++) {
		struct udc_dim *d = &s->dims[side][0];

		d->name = strdup(names[side]);
		d->nvalues = n[side];
		d->values = calloc(n[side], sizeof(*d->values));
		for (size_t v = 0; v < n[side]; v++) {
			char buf[32];

			snprintf(buf, sizeof(buf), "%c%zu", names[side][0], v);
			d->values[v] = strdup(buf);
		}
		s->ndims[side] = 1;
		s->ncells[side] = n[side];
	}
	s->min_cell = 10;
	s->pad = UDC_PAD_MAX;
	s->protection = 1;
	s->min_contributors = 3;
	s->p_percent = 10;
	s->tables[0].name = strdup("big");
	s->tables[0].pop = UDC_POP_LINKED;
	s->tables[0].sum = -1;
	s->tables[0].ndims = 2;
	for (int side = 0; side < 2; side++) {
		struct udc_tdim *td = &s->tables[0].dims[side];

		td->ref.side = side;
		td->ref.recode = -1;
		td->ref.index = 0;
		td->ncats = n[side];
		td->cats = calloc(n[side], sizeof(*td->cats));
		for (size_t v = 0; v < n[side]; v++)
			td->cats[v] = (uint16_t)v;
	}
	s->tables[0].ncells = (ng + 1) * (nc + 1);
	s->ntables = 1;
	return s;
}

static void
bench_legacy(size_t ng, size_t nc)
{
	struct udc_table *t = NULL;
	struct udc_disclosure_report rep;
	double t0;
	int rv;

	if (udc_table_new(&t, ng, nc) != 0)
		return;
	rng_state = 3;
	fill_sparse(t);
	t0 = cpu_now();
	rv = udc_disclose_suppress(t, 10, &rep);
	printf("legacy %zu x %zu with margins: %s in %.2f s: %zu primary, %zu secondary "
	       "(%zu zeros)\n",
	       ng, nc, rv == 0 ? "protected" : udc_strerror(rv), cpu_now() - t0, rep.primary,
	       rep.secondary, rep.zeros);
	udc_table_free(t);
}

static void
bench_two_way(size_t ng, size_t nc, size_t sample, int full)
{
	struct udc_spec *spec = two_way_spec(ng, nc);
	struct udc_table *t = NULL;
	struct udc_linked *l = NULL;
	struct udc_linked_report rep, arep;
	char why[512];
	double t0, t1;
	int rv;

	if (udc_table_new(&t, ng, nc) != 0)
		return;
	rng_state = 3;
	fill_sparse(t);
	t0 = cpu_now();
	if ((rv = udc_linked_new(&l, spec, t, NULL, why, sizeof(why))) != 0) {
		printf("two-way: %s\n", why);
		goto out;
	}
	t1 = cpu_now();
	rv = udc_linked_suppress(l, &rep, why, sizeof(why));
	printf("linked two-way %zu x %zu with totals: model %.2f s, suppression %s in %.2f s: "
	       "%zu cells, %zu primary, %zu secondary, %zu certificates checked\n",
	       ng, nc, t1 - t0, rv == 0 ? "protected" : why, cpu_now() - t1, rep.cells,
	       rep.primary, rep.secondary, rep.certificates);
	if (rv != 0)
		goto out;
	if (sample > 0) {
		size_t nsup = rep.primary + rep.secondary, step = nsup / sample + 1;

		memset(&arep, 0, sizeof(arep));
		t0 = cpu_now();
		rv = udc_linked_audit_local(l, step, &arep, why, sizeof(why));
		printf("  local LP audit of every %zu-th suppressed cell (the attacker told every "
		       "base cell outside its rows and columns): %s in %.2f s: %zu audited, %zu "
		       "narrower than the protection\n",
		       step, rv == 0 ? "done" : why, cpu_now() - t0, arep.audited, arep.audit_short);
		if (full) {
			memset(&arep, 0, sizeof(arep));
			t0 = cpu_now();
			rv = udc_linked_audit(l, step, &arep, why, sizeof(why));
			printf("  full LP audit of the same cells: %s in %.2f s: %zu audited, %zu "
			       "narrower than the protection, %zu LPs, %" PRIu64
			       " simplex iterations\n",
			       rv == 0 ? "done" : why, cpu_now() - t0, arep.audited, arep.audit_short,
			       arep.lp_solves, arep.lp_iterations);
		}
	}
out:
	printf("  peak memory so far %ld MB\n", hwm_kb() / 1024);
	udc_linked_free(l);
	udc_table_free(t);
	udc_spec_free(spec);
}

/* --- a synthetic Den Haag, after scripts/gen-population's model --- */

struct wijk {
	double kids, low, welfare, p100, p130, p200;
};

static int
read_wijken(const char *src, struct wijk *w, size_t *n)
{
	char path[4096], line[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/scripts/popdata/wijken.csv", src);
	if ((f = fopen(path, "r")) == NULL)
		return -1;
	*n = 0;
	if (fgets(line, sizeof(line), f) == NULL) {
		fclose(f);
		return -1;
	}
	while (fgets(line, sizeof(line), f) != NULL && *n < 64) {
		char *p = line, *fld[6];
		int k = 0;

		while (k < 6 && (fld[k] = strsep(&p, ",")) != NULL)
			k++;
		if (k < 6)
			continue;
		w[*n].kids = atof(fld[2]) * atof(fld[3]);
		w[*n].low = atof(fld[4]);
		w[*n].welfare = atof(fld[5]);
		(*n)++;
	}
	fclose(f);
	return 0;
}

/* Children per wijk by weight; under 130% of the social minimum at a
 * city share of 25% (13% under 100%), capped at 65% a wijk; a benefit at
 * 72%, 35%, 8%, 2% by band; the Ooievaarspas for 65% of the eligible and
 * 3% (0.6%) of the two bands above; 96% of the children on both lists,
 * 3% on the gemeente's only, 1% on the CBS's only. */
static void
denhaag_counts(const struct wijk *w, size_t nw, long children, struct udc_table *t)
{
	static const double uitk[4] = {0.72, 0.35, 0.08, 0.02};
	double tot = 0, lowsum = 0, k = 1, cum[64];

	for (size_t i = 0; i < nw; i++) {
		tot += w[i].kids;
		lowsum += w[i].kids * w[i].low;
	}
	k = 0.25 / (lowsum / tot);
	for (int it = 0; it < 50; it++) {
		double m = 0;

		for (size_t i = 0; i < nw; i++)
			m += w[i].kids * (k * w[i].low < 0.65 ? k * w[i].low : 0.65);
		k *= 0.25 / (m / tot);
	}
	for (size_t i = 0; i < nw; i++)
		cum[i] = (i ? cum[i - 1] : 0) + w[i].kids / tot;
	for (long n = 0; n < children; n++) {
		double u = unif(), p130, p100, p200;
		size_t wi = 0, age, band, g, c;
		int pas, ben, r;

		while (wi + 1 < nw && u > cum[wi])
			wi++;
		p130 = k * w[wi].low < 0.65 ? k * w[wi].low : 0.65;
		p100 = p130 * 0.13 / 0.25;
		p200 = p130 + (1 - p130) * (0.25 + 1.2 * p130 < 0.6 ? 0.25 + 1.2 * p130 : 0.6);
		u = unif();
		band = u < p100 ? 0 : u < p130 ? 1 : u < p200 ? 2 : 3;
		ben = unif() < uitk[band];
		u = unif();
		age = u < 4.0 / 18 ? 0 : u < 12.0 / 18 ? 1 : 2;
		pas = band < 2 ? unif() < 0.65 : unif() < (band == 2 ? 0.03 : 0.006);
		/* gemeente cell: wijk, age_band, ooievaarspas (ja first) */
		g = (wi * 3 + age) * 2 + (pas ? 0 : 1);
		/* CBS cell: income_band, uitkering (ja first) */
		c = band * 2 + (ben ? 0 : 1);
		r = (int)rnd(100);
		if (r < 96)
			t->cells[g * t->ncats + c]++;
		else if (r < 99)
			t->g_unlinked[g]++;
		else
			t->c_unlinked[c]++;
	}
}

static size_t
tindex(const struct udc_spec *spec, const char *name)
{
	for (size_t i = 0; i < spec->ntables; i++)
		if (strcmp(spec->tables[i].name, name) == 0)
			return i;
	return SIZE_MAX;
}

/* Wijken whose cell (w, cat) and total (w, total) are both released. */
static size_t
wijk_indicator(const struct udc_linked *l, const struct udc_spec *spec, const char *table,
               size_t cat, size_t nw)
{
	size_t ti = tindex(spec, table), n = 0;

	if (ti == SIZE_MAX)
		return 0;
	for (size_t wi = 0; wi < nw; wi++) {
		size_t a[2] = {wi, cat}, b[2] = {wi, spec->tables[ti].dims[1].ncats};
		struct udc_linked_cell x, y;

		udc_linked_get(l, ti, udc_linked_index(l, ti, a), &x);
		udc_linked_get(l, ti, udc_linked_index(l, ti, b), &y);
		n += !x.suppressed && !y.suppressed && y.count > 0;
	}
	return n;
}

static void
bench_denhaag(const char *src, long children)
{
	struct udc_spec *spec = NULL;
	struct udc_table *t = NULL;
	struct udc_linked *l = NULL;
	struct udc_linked_report rep, arep;
	struct wijk w[64];
	size_t nw = 0;
	char path[4096], err[512];
	double t0, t1;
	int rv;

	snprintf(path, sizeof(path), "%s/docs/examples/denhaag-kinderarmoede-tables.spec", src);
	if (udc_spec_load(path, &spec, err, sizeof(err)) != 0) {
		printf("den haag: %s\n", err);
		return;
	}
	if (read_wijken(src, w, &nw) != 0 || nw != spec->dims[0][0].nvalues) {
		printf("den haag: cannot read %s/scripts/popdata/wijken.csv\n", src);
		goto out;
	}
	if (udc_table_new(&t, spec->ncells[0], spec->ncells[1]) != 0)
		goto out;
	rng_state = 5;
	denhaag_counts(w, nw, children, t);
	t0 = cpu_now();
	if ((rv = udc_linked_new(&l, spec, t, NULL, err, sizeof(err))) != 0) {
		printf("den haag: %s\n", err);
		goto out;
	}
	t1 = cpu_now();
	rv = udc_linked_suppress(l, &rep, err, sizeof(err));
	printf("den haag study, %ld children: model %.3f s, suppression %s in %.2f s: %zu cells "
	       "(%zu distinct), %zu primary, %zu secondary, %zu LPs\n",
	       children, t1 - t0, rv == 0 ? "protected" : err, cpu_now() - t1, rep.cells,
	       rep.distinct, rep.primary, rep.secondary, rep.lp_solves);
	if (rv != 0)
		goto out;
	memset(&arep, 0, sizeof(arep));
	t0 = cpu_now();
	rv = udc_linked_audit(l, 1, &arep, err, sizeof(err));
	printf("  full LP audit: %s in %.2f s: %zu suppressed cells, %zu narrower than the "
	       "protection (%u)\n",
	       rv == 0 ? "done" : err, cpu_now() - t0, arep.audited, arep.audit_short,
	       spec->protection);
	printf("  wijken (of %zu, %zu with children) with the indicator released: low income "
	       "%zu, pas among eligible %zu, low income without benefit %zu\n",
	       nw, nw - 2, wijk_indicator(l, spec, "wijk_low_income", 0, nw),
	       wijk_indicator(l, spec, "wijk_pas_eligible", 0, nw),
	       wijk_indicator(l, spec, "wijk_benefit_low", 1, nw));
out:
	udc_linked_free(l);
	udc_table_free(t);
	udc_spec_free(spec);
}

int
main(int argc, char **argv)
{
	const char *src = getenv("UDC_SOURCE_DIR") ? getenv("UDC_SOURCE_DIR") : ".";

	setvbuf(stdout, NULL, _IOLBF, 0);
	printf("bench_linked: CPU seconds of one process\n");
	bench_legacy(2048, 64);
	bench_legacy(65535, 64);
	bench_two_way(2048, 64, 50, 1);
	/* the full LP of this one ran for more than 15 minutes of CPU without
	 * finishing its first solve (GLPK 5.0 primal simplex, 285,000
	 * unknowns); the local audit is the sample */
	bench_two_way(65535, 64, 100, 0);
	if (argc > 1) {
		for (int i = 1; i < argc; i++)
			bench_denhaag(src, atol(argv[i]));
	} else {
		bench_denhaag(src, 10000);
		bench_denhaag(src, 100000);
	}
	return 0;
}
