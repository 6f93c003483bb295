/*
 * bench_fields.c - field scoring on generated city lists, read and encoded
 * as the nodes do, linked with the feature join and (optionally) by
 * comparing every pair.
 *
 * Reads the gemeente and CBS lists of scripts/gen-population through the
 * input reader (the node's normalisation), encodes each record one filter
 * per feature with SCHEMA (udc_clkctx_fill), and links at THRESHOLD on
 * every core.  Prints the matcher's times (plan and index, score, resolve),
 * what the join looked up, the pairs compared, precision and recall against
 * truth_id; with "both" also the exhaustive run and the true links the join
 * lost (it must be 0).  With "record" (or "lsh", forced) one filter per
 * record, as the fuzzy-small benchmark round scores: the popcount spread,
 * the LSH plan, and the time of the best-match scores that the model of
 * threshold = auto fits (5,000 A records against all of B, the first 100
 * checked pair by pair).  BENCH_LSH_BITS=k in the environment fixes the
 * LSH key length, to explore the cost model's choice.
 * Usage: bench_fields GEMEENTE.csv CBS.csv SCHEMA.json THRESHOLD
 *                     [join|exhaustive|auto|both|record|lsh [any|single|pairs|ladder]]
 * The last word restricts the join's plan (udc_fuzzy_join_form): single
 * features only, at least one conjunction of two, or a ladder (a
 * conjunction that needs a feature above its lowest threshold).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clkctx.h"
#include "dice.h"
#include "err.h"
#include "fuzzy.h"
#include "input.h"
#include "spec.h"
#include "workq.h"

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct side {
	struct udc_clkctx *clk;
	size_t nwords, n, cap;
	uint64_t *f;
	long *id;
};

static int
collect(void *ctx, const struct udc_inrec *recs, size_t n)
{
	struct side *s = ctx;
	uint8_t buf[8192];

	for (size_t i = 0; i < n; i++) {
		if (s->n == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 65536;
			if ((s->f = realloc(s->f, s->cap * s->nwords * 8)) == NULL ||
			    (s->id = realloc(s->id, s->cap * sizeof(long))) == NULL)
				return UDC_ENOMEM;
		}
		if (udc_clkctx_fill(s->clk, &recs[i], buf) != 0)
			continue;
		udc_dice_words_from_bytes(buf, udc_clkctx_bytes(s->clk), s->f + s->n * s->nwords,
		                          s->nwords);
		s->id[s->n++] = recs[i].key[0] ? strtol(recs[i].key[0], NULL, 10) : -1;
	}
	return 0;
}

static const char *const gcols[] = {"bsn",           "voornamen", "voorvoegsel", "geslachtsnaam",
                                    "geboortedatum", "geslacht",  "postcode",    "huisnummer"};
static const char *const ccols[] = {"bsn",           "first_names", "prefix",      "last_name",
                                    "date_of_birth", "sex",         "postal_code", "house_number"};

static void
read_side(const char *path, int cbs, const struct udc_spec *spec, struct side *s)
{
	struct udc_input_opts o;
	struct udc_input_stats st;
	char err[512] = "";
	int truth = udc_fieldset_find(&spec->fields, "truth");

	memset(&o, 0, sizeof(o));
	o.path = path;
	o.spec = spec;
	o.side = cbs ? UDC_SIDE_CBS : UDC_SIDE_GEMEENTE;
	for (int f = 0; f < UDC_NFIELDS; f++)
		o.columns[f] = cbs ? ccols[f] : gcols[f];
	o.columns[truth] = "truth_id";
	o.label_columns[0] = cbs ? "income_band" : "ooievaarspas";
	if (udc_input_read(&o, collect, s, &st, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_fields: %s\n", err);
		exit(1);
	}
}

static void
quality(const struct udc_fuzzy_result *r, const struct side *a, const struct side *b)
{
	long maxid = 0;
	size_t tp = 0, fp = 0, truth = 0;
	char *ina, *inb;

	for (size_t i = 0; i < a->n; i++)
		maxid = a->id[i] > maxid ? a->id[i] : maxid;
	for (size_t i = 0; i < b->n; i++)
		maxid = b->id[i] > maxid ? b->id[i] : maxid;
	ina = calloc((size_t)maxid + 1, 1);
	inb = calloc((size_t)maxid + 1, 1);
	for (size_t i = 0; i < a->n; i++)
		ina[a->id[i]] = 1;
	for (size_t i = 0; i < b->n; i++)
		inb[b->id[i]] = 1;
	for (long i = 0; i <= maxid; i++)
		truth += ina[i] && inb[i];
	for (size_t i = 0; i < a->n; i++)
		if (r->link[i] >= 0 && a->id[i] == b->id[r->link[i]])
			tp++;
		else if (r->link[i] >= 0)
			fp++;
	printf("  links %zu: precision %.4f recall %.4f (tp %zu, fp %zu, %zu true pairs)\n",
	       r->nlinks, tp + fp ? (double)tp / (double)(tp + fp) : 1.0,
	       truth ? (double)tp / (double)truth : 1.0, tp, fp, truth);
	free(ina);
	free(inb);
}

static enum udc_fuzzy_join_form form = UDC_FUZZY_JOIN_ANY;

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct udc_fuzzy_result *
link_run(const char *what, enum udc_fuzzy_blocking bl, double t, unsigned segs,
         struct udc_workq *wq, const struct side *a, const struct side *b, size_t nbits)
{
	struct udc_fuzzy_params p;
	struct udc_fuzzy_result *r = NULL;
	const struct udc_fuzzy_stats *st;
	double t0 = now(), c0 = cpu_now();
	int rv;

	udc_fuzzy_params_default(&p);
	p.threshold = t;
	p.segments = segs;
	p.blocking = bl;
	p.join_form = form;
	if (getenv("BENCH_LSH_BITS") != NULL) /* to explore the cost model's choice */
		p.lsh_bits = (unsigned)atoi(getenv("BENCH_LSH_BITS"));
	if (getenv("BENCH_SEED") != NULL) /* the daemons draw a seed per round */
		p.seed = strtoull(getenv("BENCH_SEED"), NULL, 0);
	if ((rv = udc_fuzzy_link(&r, &p, wq, a->f, a->n, b->f, b->n, nbits)) != 0) {
		fprintf(stderr, "bench_fields: %s\n", udc_strerror(rv));
		exit(1);
	}
	st = &r->stats;
	printf("%s: %.1f s wall, %.1f CPU-s (plan and index %.1f, score %.1f, resolve %.1f); "
	       "blocking %s; compared %llu of %llu pairs (x%.1f), %zu links\n",
	       what, now() - t0, cpu_now() - c0, st->secs_index, st->secs_score, st->secs_resolve,
	       st->blocking == UDC_FUZZY_JOIN  ? "feature join"
	       : st->blocking == UDC_FUZZY_LSH ? "lsh"
	                                       : "exhaustive",
	       (unsigned long long)st->compared, (unsigned long long)st->pairs_total,
	       st->reduction, r->nlinks);
	if (st->blocking == UDC_FUZZY_LSH)
		printf("  lsh %u bits x %u tables (%.1f probed per record), design popcount %u, "
		       "outliers %zu + %zu, %llu candidates, %llu pruned by size\n",
		       st->lsh_bits, st->lsh_tables,
		       a->n ? (double)st->lsh_lookups / (double)a->n : 0.0, st->design_popcount,
		       st->outliers_a,
		       st->outliers_b, (unsigned long long)st->candidates,
		       (unsigned long long)st->size_pruned);
	if (st->blocking == UDC_FUZZY_JOIN) {
		printf("  thresholds per feature:");
		for (unsigned s = 0; s < segs; s++)
			if (st->join_features & (1ULL << s)) {
				printf(" %u:%.2f", s, st->join_feature_tau[s]);
				for (unsigned l = 1; l < st->join_levels[s]; l++)
					printf("/%.2f", st->join_ladder[s][l]);
				printf("%s", (st->join_alone & (1ULL << s)) ? " alone" : "");
			} else {
				printf(" %u:-", s);
			}
		/* a feature needed above its lowest threshold: ' (level 2), '' (3) */
		printf("\n  conjunctions (driver: features):");
		for (unsigned j = 0; j < st->join_nconj; j++) {
			printf(" %u:", st->join_conj_driver[j]);
			for (unsigned s = 0; s < segs; s++)
				if (st->join_conj[j] & (1ULL << s))
					printf("%s%u%s%s", (st->join_conj[j] & ((1ULL << s) - 1)) ? "+" : "", s,
					       (st->join_conj_up[j][0] & (1ULL << s)) ? "'" : "",
					       (st->join_conj_up[j][1] & (1ULL << s)) ? "'" : "");
		}
		printf("; %u patterns; %llu driver pairs checked, %llu candidates, %llu pairs "
		       "compared directly; estimated %.1f s against %.1f s for every pair\n",
		       st->join_patterns, (unsigned long long)st->join_checked,
		       (unsigned long long)st->candidates,
		       (unsigned long long)st->join_direct_pairs, st->join_estimate / 1e9,
		       st->exhaustive_estimate / 1e9);
	}
	return r;
}

/* The popcount spread of one side: it decides how many tables the LSH
 * needs (docs/fuzzy.md, "Tables per popcount"). */
static void
popcount_spread(const char *name, const struct side *x, size_t nbits)
{
	static const double qs[] = {0.01, 0.1, 0.5, 0.9, 0.99};
	uint32_t *pc = malloc((x->n ? x->n : 1) * sizeof(*pc));
	size_t *hist = calloc(nbits + 1, sizeof(*hist)), acc = 0, qi = 0;

	if (pc == NULL || hist == NULL) {
		fprintf(stderr, "bench_fields: out of memory\n");
		exit(1);
	}
	udc_dice_popcounts(x->f, x->n, x->nwords, pc);
	for (size_t i = 0; i < x->n; i++)
		hist[pc[i]]++;
	printf("  popcount %s:", name);
	for (size_t v = 0; v <= nbits && qi < 5; v++)
		for (acc += hist[v]; qi < 5 && (double)acc >= qs[qi] * (double)x->n; qi++)
			printf(" %g%% %zu", qs[qi] * 100, v);
	printf("\n");
	free(pc);
	free(hist);
}

/* The best-match scores threshold = auto fits: 5,000 A records against all
 * of B, timed; the first 100 (a whole list is taken in order) against a
 * pair by pair scan. */
static void
best_scores_check(const struct side *a, const struct side *b, size_t nbits, struct udc_workq *wq)
{
	size_t ns = a->n < 5000 ? a->n : 5000, nc = a->n < 100 ? a->n : 100, bad = 0;
	double *best = malloc((ns ? ns : 1) * sizeof(*best)), t1 = now();

	if (best == NULL ||
	    udc_fuzzy_best_scores(a->f, a->n, b->f, b->n, nbits, 1, ns, 1, wq, best) != 0) {
		fprintf(stderr, "bench_fields: best-match scores failed\n");
		exit(1);
	}
	printf("best-match scores of %zu A records: %.2f s", ns, now() - t1);
	if (udc_fuzzy_best_scores(a->f, nc, b->f, b->n, nbits, 1, nc, 1, wq, best) != 0) {
		fprintf(stderr, "bench_fields: best-match scores failed\n");
		exit(1);
	}
	for (size_t i = 0; i < nc; i++) {
		double m = 0;

		for (size_t j = 0; j < b->n; j++) {
			double d = udc_dice(a->f + i * a->nwords, b->f + j * b->nwords, a->nwords);

			m = d > m ? d : m;
		}
		bad += m != best[i];
	}
	printf(", %zu of the first %zu differ from a pair by pair scan\n", bad, nc);
	free(best);
}

int
main(int argc, char **argv)
{
	static const char spec_fmt[] = "[spec]\nname = bench\nmode = combined\nkeys = truth\n"
	                               "[fields]\ntruth = code\n"
	                               "[gemeente]\nooievaarspas = ja, nee\n"
	                               "[cbs]\nincome_band = 0-100, 100-130, 130-200, 200+\n"
	                               "[fuzzy]\nschema = %s\nscoring = %s\nthreshold = %s\n";
	const char *mode = argc > 5 ? argv[5] : "join";
	const char *fm = argc > 6 ? argv[6] : "any";
	struct udc_spec *spec = NULL;
	struct side a, b;
	struct udc_workq *wq = NULL;
	struct udc_fuzzy_result *rj = NULL, *re = NULL;
	char text[1024], err[512], *json;
	uint8_t secret[32];
	FILE *f;
	long len;
	double t0;
	unsigned segs;
	size_t nbits;
	int record;

	if (argc < 5) {
		fprintf(stderr, "usage: bench_fields GEMEENTE.csv CBS.csv SCHEMA.json THRESHOLD "
		                "[join|exhaustive|auto|both|record|lsh [any|single|pairs|ladder]]\n");
		return 2;
	}
	if (strcmp(fm, "single") == 0)
		form = UDC_FUZZY_JOIN_SINGLE;
	else if (strcmp(fm, "pairs") == 0)
		form = UDC_FUZZY_JOIN_PAIRS;
	else if (strcmp(fm, "ladder") == 0)
		form = UDC_FUZZY_JOIN_LADDER;
	else if (strcmp(fm, "any") != 0) {
		fprintf(stderr, "bench_fields: plan %s is not any, single, pairs or ladder\n", fm);
		return 2;
	}
	/* "record" and "lsh" score one filter per record (the fuzzy-small
	 * benchmark round's matcher on the same lists) */
	record = strcmp(mode, "record") == 0 || strcmp(mode, "lsh") == 0;
	snprintf(text, sizeof(text), spec_fmt, argv[3], record ? "record" : "fields", argv[4]);
	if (udc_spec_parse(text, strlen(text), "bench", &spec, err, sizeof(err)) != 0 ||
	    (f = fopen(argv[3], "rb")) == NULL) {
		fprintf(stderr, "bench_fields: %s\n", err[0] ? err : argv[3]);
		return 1;
	}
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	json = malloc((size_t)len + 1);
	if (json == NULL || fread(json, 1, (size_t)len, f) != (size_t)len) {
		fprintf(stderr, "bench_fields: cannot read %s\n", argv[3]);
		return 1;
	}
	fclose(f);
	if (udc_spec_attach_schema(spec, json, (size_t)len, err, sizeof(err)) != 0) {
		fprintf(stderr, "bench_fields: %s\n", err);
		return 1;
	}
	memset(secret, 7, sizeof(secret));
	memset(&a, 0, sizeof(a));
	memset(&b, 0, sizeof(b));
	if (udc_clkctx_new(&a.clk, spec, secret, 0, err, sizeof(err)) != 0 ||
	    udc_clkctx_new(&b.clk, spec, secret, 0, err, sizeof(err)) != 0 ||
	    udc_workq_new(&wq, 0) != 0) {
		fprintf(stderr, "bench_fields: %s\n", err);
		return 1;
	}
	nbits = udc_clkctx_bits(a.clk);
	segs = (unsigned)udc_clkctx_segments(a.clk);
	a.nwords = b.nwords = udc_dice_nwords(nbits);
	t0 = now();
	read_side(argv[1], 0, spec, &a);
	read_side(argv[2], 1, spec, &b);
	printf("read and encoded %zu x %zu records (%u features of %zu bits) in %.1f s on %u "
	       "threads, threshold %s\n",
	       a.n, b.n, segs, nbits / segs, now() - t0, udc_workq_width(wq), argv[4]);
	if (record) {
		popcount_spread("A", &a, nbits);
		popcount_spread("B", &b, nbits);
		best_scores_check(&a, &b, nbits, wq);
		rj = link_run(mode, strcmp(mode, "lsh") == 0 ? UDC_FUZZY_LSH : UDC_FUZZY_AUTO,
		              atof(argv[4]), segs, wq, &a, &b, nbits);
		quality(rj, &a, &b);
	} else if (strcmp(mode, "exhaustive") != 0) {
		rj = link_run(strcmp(mode, "auto") == 0 ? "auto" : "feature join",
		              strcmp(mode, "auto") == 0 ? UDC_FUZZY_AUTO : UDC_FUZZY_JOIN,
		              atof(argv[4]), segs, wq, &a, &b, nbits);
		quality(rj, &a, &b);
	}
	if (strcmp(mode, "exhaustive") == 0 || strcmp(mode, "both") == 0) {
		re = link_run("every pair", UDC_FUZZY_EXHAUSTIVE, atof(argv[4]), segs, wq, &a, &b,
		              nbits);
		quality(re, &a, &b);
	}
	if (rj != NULL && re != NULL) {
		size_t diff = 0, lost = 0;

		for (size_t i = 0; i < a.n; i++) {
			diff += rj->link[i] != re->link[i] || rj->score[i] != re->score[i];
			lost += re->link[i] >= 0 && a.id[i] == b.id[re->link[i]] &&
			        rj->link[i] != re->link[i];
		}
		printf("links that differ %zu; true links of every-pair comparison lost by the "
		       "join %zu\n",
		       diff, lost);
	}
	udc_fuzzy_result_free(rj);
	udc_fuzzy_result_free(re);
	udc_clkctx_free(a.clk);
	udc_clkctx_free(b.clk);
	udc_workq_free(wq);
	udc_spec_free(spec);
	free(json);
	free(a.f);
	free(a.id);
	free(b.f);
	free(b.id);
	return 0;
}
