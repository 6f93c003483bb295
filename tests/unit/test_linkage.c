/*
 * test_linkage.c - the CBS node's linkage of fuzzy and combined rounds
 * (common/fuzzy/linkage.c) on lists built by hand: exact keys first, the
 * encodings of the records still unlinked after them, and the report.
 *
 * Points are arbitrary 32-byte strings (linkage only compares them);
 * encodings are random 256-bit filters, and a gemeente record meant to link
 * by Dice carries a copy of its partner's filter with a few bits flipped, so
 * the expected pairs are known before the run.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <math.h>
#include <cmocka.h>

#include <stdio.h>

#include "blind.h"
#include "blist.h"
#include "clkctx.h"
#include "err.h"
#include "input.h"
#include "linkage.h"
#include "log.h"
#include "secmem.h"
#include "spec.h"
#include "workq.h"

#define ENC_BYTES 32 /* 256-bit filters */

static uint64_t rng = 0x1234567887654321ULL;

static uint64_t
rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A random filter with about 30% of the bits set. */
static void
random_filter(uint8_t *f)
{
	for (size_t i = 0; i < ENC_BYTES; i++) {
		uint8_t b = 0;

		for (int k = 0; k < 8; k++)
			if (rnd() % 100 < 30)
				b |= (uint8_t)(1u << k);
		f[i] = b;
	}
}

/* dst = src with `flips` distinct bits flipped. */
static void
noisy_copy(uint8_t *dst, const uint8_t *src, int flips)
{
	memcpy(dst, src, ENC_BYTES);
	for (int k = 0; k < flips; k++)
		dst[(k * 37 + 5) % ENC_BYTES] ^= (uint8_t)(1u << (k % 8));
}

static void
pt(uint8_t out[32], uint32_t id)
{
	memset(out, 0, 32);
	memcpy(out, &id, sizeof(id));
	out[31] = 0xa5;
}

/* Appends a record with key ids (0 = a key of its own, never shared) and
 * payload; returns its index. */
static size_t
add(struct udc_blist *l, const uint32_t *ids, const uint8_t *payload)
{
	uint8_t p[UDC_MAX_KEYS * 32];
	uint16_t lab = 0;
	static uint32_t unique = 0x80000000u;

	for (size_t j = 0; j < l->nkeys; j++)
		pt(p + 32 * j, ids[j] ? ids[j] : unique++);
	assert_int_equal(udc_blist_append(l, p, &lab, 1), 0);
	memcpy(udc_blist_ext(l, l->n - 1), payload, l->extra);
	return l->n - 1;
}

static struct udc_spec *
mkspec(enum udc_mode mode, size_t nkeys, unsigned threshold)
{
	struct udc_spec *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->mode = mode;
	s->nkeys = nkeys;
	s->threshold = threshold;
	return s;
}

static void
setup_in(struct udc_linkage_in *in, const struct udc_spec *spec, struct udc_blist *g,
         struct udc_blist *own, struct udc_blist *ownx)
{
	memset(in, 0, sizeof(*in));
	in->spec = spec;
	in->g = g;
	in->own = own;
	in->ownx = ownx;
	in->enc_bytes = ENC_BYTES;
	in->enc_bits = ENC_BYTES * 8;
	in->segments = 1;
	in->seed = 42;
}

/* Fuzzy mode: 100 planted pairs among 120 gemeente and 200 CBS records. */
static void
test_fuzzy_planted(void **st)
{
	struct udc_spec *spec = mkspec(UDC_MODE_FUZZY, 0, 850);
	struct udc_blist g, own;
	struct udc_linkage_in in;
	struct udc_linkage_report rep;
	uint8_t b[200][ENC_BYTES], pay[32 + ENC_BYTES];
	int64_t pair[120], want[120];
	uint8_t linked[200];
	size_t nlinked = 0;
	char why[256];
	(void)st;

	udc_blist_init(&g, 0, 0);
	udc_blist_set_extra(&g, 32 + ENC_BYTES);
	udc_blist_init(&own, 0, 0);
	udc_blist_set_extra(&own, ENC_BYTES);
	for (size_t k = 0; k < 200; k++) {
		random_filter(b[k]);
		add(&own, NULL, b[k]);
	}
	for (size_t i = 0; i < 120; i++) {
		memset(pay, (int)i, 32); /* the handle */
		if (i < 100) {
			/* partner 2i+1: every other CBS record */
			noisy_copy(pay + 32, b[2 * i + 1], 3);
			want[i] = (int64_t)(2 * i + 1);
		} else {
			random_filter(pay + 32);
			want[i] = -1;
		}
		add(&g, NULL, pay);
	}
	setup_in(&in, spec, &g, &own, NULL);
	assert_int_equal(udc_linkage_run(&in, pair, linked, &rep, why, sizeof(why)), 0);
	for (size_t i = 0; i < 120; i++)
		assert_int_equal(pair[i], want[i]);
	for (size_t k = 0; k < 200; k++) {
		assert_int_equal(linked[k], k % 2 == 1);
		nlinked += linked[k];
	}
	assert_int_equal(nlinked, 100);
	assert_int_equal(rep.fuzzy_links, 100);
	assert_int_equal(rep.fuzzy_a, 120);
	assert_int_equal(rep.fuzzy_b, 200);
	assert_int_equal(rep.bands[0] + rep.bands[1] + rep.bands[2] + rep.bands[3], 100);
	assert_int_equal(rep.band_lo[0], 850);
	assert_int_equal(rep.band_lo[UDC_FUZZY_NBANDS], 1000);
	assert_int_equal(rep.exact[0], 0);
	assert_true(rep.stats.pairs_total == 120 * 200);
	udc_blist_free(&g);
	udc_blist_free(&own);
	free(spec);
}

/*
 * Combined mode: a record linked by an exact key leaves the Dice step, even
 * when its encoding is the best match of another CBS record.
 *   g0: key 0 = own0's; its filter is own1's exactly (Dice 1.0)
 *   g1: no key in common; filter a noisy copy of own1 -> links own1 by Dice
 *   g2: key 1 = own2's (key 0 differs)
 *   g3: no key at all; noisy copy of own3
 *   g4: nothing in common with anyone
 */
static void
test_combined_exact_first(void **st)
{
	struct udc_spec *spec = mkspec(UDC_MODE_COMBINED, 2, 850);
	struct udc_blist g, own, ownx;
	struct udc_linkage_in in;
	struct udc_linkage_report rep;
	uint8_t b[5][ENC_BYTES], pay[32 + ENC_BYTES];
	int64_t pair[5];
	uint8_t linked[5];
	char why[256];
	(void)st;

	udc_blist_init(&g, 2, 0);
	udc_blist_set_extra(&g, 32 + ENC_BYTES);
	udc_blist_init(&own, 2, 0);
	udc_blist_set_extra(&own, ENC_BYTES);
	udc_blist_init(&ownx, 2, 0);
	for (size_t k = 0; k < 5; k++) {
		uint32_t ids[2] = {(uint32_t)(100 + k), (uint32_t)(200 + k)};
		uint8_t p[64];

		random_filter(b[k]);
		add(&own, ids, b[k]);
		/* ownx: the same keys raised to a and b: here simply the ids */
		pt(p, ids[0]);
		pt(p + 32, ids[1]);
		assert_int_equal(udc_blist_append(&ownx, p, (uint16_t[]){0}, 1), 0);
	}
	memset(pay, 0, 32);
	memcpy(pay + 32, b[1], ENC_BYTES);
	add(&g, (uint32_t[]){100, 0}, pay);
	noisy_copy(pay + 32, b[1], 4);
	add(&g, (uint32_t[]){0, 0}, pay);
	random_filter(pay + 32);
	add(&g, (uint32_t[]){0, 202}, pay);
	noisy_copy(pay + 32, b[3], 2);
	add(&g, (uint32_t[]){0, 0}, pay);
	random_filter(pay + 32);
	add(&g, (uint32_t[]){0, 0}, pay);

	setup_in(&in, spec, &g, &own, &ownx);
	assert_int_equal(udc_linkage_run(&in, pair, linked, &rep, why, sizeof(why)), 0);
	assert_int_equal(pair[0], 0);
	assert_int_equal(pair[1], 1);
	assert_int_equal(pair[2], 2);
	assert_int_equal(pair[3], 3);
	assert_int_equal(pair[4], -1);
	assert_int_equal(rep.exact[0], 1);
	assert_int_equal(rep.exact[1], 1);
	assert_int_equal(rep.fuzzy_links, 2);
	/* the Dice step saw the three gemeente and three CBS records left */
	assert_int_equal(rep.fuzzy_a, 3);
	assert_int_equal(rep.fuzzy_b, 3);
	assert_int_equal(linked[0] + linked[1] + linked[2] + linked[3] + linked[4], 4);
	assert_int_equal(linked[4], 0);
	udc_blist_free(&g);
	udc_blist_free(&own);
	udc_blist_free(&ownx);
	free(spec);
}

/* Payload sizes that do not match the encoding are refused, not read. */
static void
test_inconsistent(void **st)
{
	struct udc_spec *spec = mkspec(UDC_MODE_COMBINED, 1, 850);
	struct udc_blist g, own;
	struct udc_linkage_in in;
	struct udc_linkage_report rep;
	int64_t pair[1];
	uint8_t linked[1];
	char why[256] = "";
	(void)st;

	udc_blist_init(&g, 1, 0);
	udc_blist_set_extra(&g, 32 + ENC_BYTES);
	udc_blist_init(&own, 1, 0);
	udc_blist_set_extra(&own, ENC_BYTES - 1);
	setup_in(&in, spec, &g, &own, NULL);
	assert_int_equal(udc_linkage_run(&in, pair, linked, &rep, why, sizeof(why)), UDC_EINVAL);
	assert_true(strstr(why, "inconsistent") != NULL);
	/* combined mode without the raised CBS keys */
	udc_blist_set_extra(&own, ENC_BYTES);
	assert_int_equal(udc_linkage_run(&in, pair, linked, &rep, why, sizeof(why)), UDC_EINVAL);
	free(spec);
}

/* threshold = auto on planted pairs: the model separates them from the
 * random records, the chosen threshold links exactly the planted pairs, and
 * the report carries the curve; too few records to model fail the round. */
static void
test_auto_planted(void **st)
{
	struct udc_spec *spec = mkspec(UDC_MODE_FUZZY, 0, 850);
	struct udc_blist g, own;
	struct udc_linkage_in in;
	struct udc_linkage_report rep;
	static uint8_t b[600][ENC_BYTES];
	uint8_t pay[32 + ENC_BYTES], linked[600];
	int64_t pair[400];
	char why[256];
	(void)st;

	spec->threshold_auto = 1;
	spec->target_precision = 990;
	udc_blist_init(&g, 0, 0);
	udc_blist_set_extra(&g, 32 + ENC_BYTES);
	udc_blist_init(&own, 0, 0);
	udc_blist_set_extra(&own, ENC_BYTES);
	for (size_t k = 0; k < 600; k++) {
		random_filter(b[k]);
		add(&own, NULL, b[k]);
	}
	for (size_t i = 0; i < 400; i++) {
		memset(pay, (int)i, 32);
		if (i < 300)
			noisy_copy(pay + 32, b[i], (int)(2 + i % 9));
		else
			random_filter(pay + 32);
		add(&g, NULL, pay);
	}
	setup_in(&in, spec, &g, &own, NULL);
	assert_int_equal(udc_linkage_run(&in, pair, linked, &rep, why, sizeof(why)), 0);
	print_message("auto: threshold %u, estimated precision %.4f recall %.4f, match share "
	              "%.3f from %zu scores\n",
	              rep.threshold, rep.est_precision, rep.est_recall, rep.model_match_share,
	              rep.model_sample);
	assert_true(rep.threshold_auto);
	assert_int_equal(rep.model_sample, 400);
	assert_int_equal(rep.ncurve, UDC_LINKAGE_CURVE);
	assert_true(rep.threshold >= 500 && rep.threshold <= 990);
	assert_true(rep.est_precision >= 0.99);
	/* what the gemeente checks: every figure of the curve is a share */
	for (size_t k = 0; k < rep.ncurve; k++)
		assert_true(rep.curve_p[k] >= 0 && rep.curve_p[k] <= 1 && rep.curve_r[k] >= 0 &&
		            rep.curve_r[k] <= 1 && rep.curve_p_low[k] >= 0 && rep.curve_p_low[k] <= 1);
	for (size_t i = 0; i < 400; i++)
		assert_int_equal(pair[i], i < 300 ? (int64_t)i : -1);
	assert_int_equal(rep.fuzzy_links, 300);
	udc_blist_free(&g);
	udc_blist_free(&own);

	/* 50 records: too few to estimate from */
	udc_blist_init(&g, 0, 0);
	udc_blist_set_extra(&g, 32 + ENC_BYTES);
	udc_blist_init(&own, 0, 0);
	udc_blist_set_extra(&own, ENC_BYTES);
	for (size_t k = 0; k < 50; k++) {
		add(&own, NULL, b[k]);
		memset(pay, 0, 32);
		memcpy(pay + 32, b[k], ENC_BYTES);
		add(&g, NULL, pay);
	}
	setup_in(&in, spec, &g, &own, NULL);
	assert_int_equal(udc_linkage_run(&in, pair, linked, &rep, why, sizeof(why)), UDC_EINVAL);
	assert_non_null(strstr(why, "threshold = auto: 50 best-match scores are too few"));
	udc_blist_free(&g);
	udc_blist_free(&own);
	free(spec);
}

/* ---------- generated data (scripts/gen-population, a ctest fixture) ---------- */

/* Under the sanitizers (an unoptimised build, scripts/sanitize.sh) comparing
 * 20,000 x 20,000 records twice takes longer than the test's time limit, so
 * there the lists keep only the persons whose truth_id is a multiple of
 * GEN_KEEP (the same persons on both sides, so the share with a partner
 * stays), and the test says so. */
#if defined(__SANITIZE_ADDRESS__)
#define GEN_SANITIZED 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define GEN_SANITIZED 1
#endif
#endif
#ifdef GEN_SANITIZED
#define GEN_KEEP 7
#else
#define GEN_KEEP 1
#endif

static const char *const gcols[] = {"bsn",           "voornamen", "voorvoegsel", "geslachtsnaam",
                                    "geboortedatum", "geslacht",  "postcode",    "huisnummer"};
static const char *const ccols[] = {"bsn",           "first_names", "prefix",      "last_name",
                                    "date_of_birth", "sex",         "postal_code", "house_number"};

struct gen_side {
	struct udc_clkctx *clk;
	struct udc_blist *l;
	int gemeente;
	long *id;
	size_t nid, cap;
};

static int
gen_collect(void *ctx, const struct udc_inrec *recs, size_t n)
{
	struct gen_side *s = ctx;
	size_t off = s->gemeente ? 32 : 0;

	for (size_t i = 0; i < n; i++) {
		uint8_t p[1], *e;
		uint16_t lab = 0;

		if (strtol(recs[i].key[0], NULL, 10) % GEN_KEEP != 0)
			continue;
		if (udc_blist_append(s->l, p, &lab, 1) != 0)
			return UDC_ENOMEM;
		e = udc_blist_ext(s->l, s->l->n - 1);
		memset(e, 0, s->l->extra);
		memcpy(e, &s->l->n, sizeof(s->l->n)); /* a handle of its own */
		if (udc_clkctx_fill(s->clk, &recs[i], e + off) != 0)
			return UDC_EINVAL;
		if (s->nid == s->cap) {
			s->cap = s->cap ? 2 * s->cap : 4096;
			if ((s->id = realloc(s->id, s->cap * sizeof(*s->id))) == NULL)
				return UDC_ENOMEM;
		}
		s->id[s->nid++] = strtol(recs[i].key[0], NULL, 10);
	}
	return 0;
}

static char *
read_text(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	if (f == NULL)
		fail_msg("%s: cannot open", path);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

/* A spec for the generated lists: keys = truth (declared, only to read
 * truth_id through the reader) or none, schema attached. */
static struct udc_spec *
gen_spec(const char *mode_keys, const char *schema, const char *fuzzy_extra)
{
	const char *src = getenv("UDC_SOURCE_DIR");
	char text[1024], path[4096], err[512];
	struct udc_spec *spec = NULL;
	size_t len;
	char *json;

	snprintf(text, sizeof(text),
	         "[spec]\nname = gen\n%s\n[fields]\ntruth = code\n"
	         "[gemeente]\nooievaarspas = ja, nee\n"
	         "[cbs]\nincome_band = 0-100, 100-130, 130-200, 200+\n"
	         "[fuzzy]\nschema = %s\n%s",
	         mode_keys, schema, fuzzy_extra);
	if (udc_spec_parse(text, strlen(text), "gen.spec", &spec, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	snprintf(path, sizeof(path), "%s/docs/examples/%s", src ? src : ".", schema);
	json = read_text(path, &len);
	if (udc_spec_attach_schema(spec, json, len, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	free(json);
	return spec;
}

/* Reads one generated list into a blist as the node would encode it. */
static void
gen_read(const char *file, int gemeente, const struct udc_spec *rd, const struct udc_spec *lk,
         struct udc_blist *l, struct gen_side *s)
{
	const char *dir = getenv("UDC_LINKAGE_DATA");
	struct udc_input_opts o;
	struct udc_input_stats st;
	char path[4096], err[512] = "";
	uint8_t secret[32];

	if (dir == NULL)
		fail_msg("UDC_LINKAGE_DATA is not set: the ctest fixture linkage_data makes it");
	snprintf(path, sizeof(path), "%s/%s", dir, file);
	memset(secret, 3, sizeof(secret));
	memset(s, 0, sizeof(*s));
	if (udc_clkctx_new(&s->clk, lk, secret, 0, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	udc_blist_init(l, 0, 0);
	udc_blist_set_extra(l, (gemeente ? 32 : 0) + udc_clkctx_bytes(s->clk));
	s->l = l;
	s->gemeente = gemeente;
	memset(&o, 0, sizeof(o));
	o.path = path;
	o.spec = rd;
	o.side = gemeente ? UDC_SIDE_GEMEENTE : UDC_SIDE_CBS;
	for (int f = 0; f < UDC_NFIELDS; f++)
		o.columns[f] = gemeente ? gcols[f] : ccols[f];
	o.columns[udc_fieldset_find(&rd->fields, "truth")] = "truth_id";
	o.label_columns[0] = gemeente ? "ooievaarspas" : "income_band";
	if (udc_input_read(&o, gen_collect, s, &st, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	if (GEN_KEEP > 1)
		print_message("sanitized build: %s cut to the %zu of its %llu records whose person "
		              "id is a multiple of %d (the whole lists run in the normal build)\n",
		              file, s->nid, (unsigned long long)st.accepted, GEN_KEEP);
}

struct truth {
	size_t tp, fp, pairs;
};

static struct truth
gen_truth(const int64_t *pair, const struct gen_side *a, const struct gen_side *b)
{
	struct truth q = {0, 0, 0};
	long maxid = 0;
	char *ina, *inb;

	for (size_t i = 0; i < a->nid; i++)
		maxid = a->id[i] > maxid ? a->id[i] : maxid;
	for (size_t i = 0; i < b->nid; i++)
		maxid = b->id[i] > maxid ? b->id[i] : maxid;
	assert_non_null(ina = calloc((size_t)maxid + 1, 1));
	assert_non_null(inb = calloc((size_t)maxid + 1, 1));
	for (size_t i = 0; i < a->nid; i++)
		ina[a->id[i]] = 1;
	for (size_t i = 0; i < b->nid; i++)
		inb[b->id[i]] = 1;
	for (long i = 0; i <= maxid; i++)
		q.pairs += ina[i] && inb[i];
	for (size_t i = 0; i < a->nid; i++)
		if (pair[i] >= 0 && a->id[i] == b->id[pair[i]])
			q.tp++;
		else if (pair[i] >= 0)
			q.fp++;
	free(ina);
	free(inb);
	return q;
}

static enum udc_fuzzy_join_form gen_form = UDC_FUZZY_JOIN_ANY;

static void
gen_run(const struct udc_spec *lk, struct udc_blist *g, struct udc_blist *own,
        const struct gen_side *sa, enum udc_fuzzy_blocking bl, int64_t *pair, uint8_t *linked,
        struct udc_linkage_report *rep)
{
	struct udc_linkage_in in;
	char why[256];

	memset(&in, 0, sizeof(in));
	in.spec = lk;
	in.g = g;
	in.own = own;
	in.enc_bytes = udc_clkctx_bytes(sa->clk);
	in.enc_bits = udc_clkctx_bits(sa->clk);
	in.segments = udc_clkctx_segments(sa->clk);
	in.seed = 99;
	in.blocking = bl;
	in.join_form = gen_form;
	if (udc_linkage_run(&in, pair, linked, rep, why, sizeof(why)) != 0)
		fail_msg("%s", why);
}

/*
 * The case: 20,000 generated persons, the study's field-scoring
 * schema, threshold 0.80.  AUTO once lost 785-805 true links here; the
 * feature join (forced) and AUTO give exactly the linkage of comparing
 * every pair.
 */
static void
test_generated_fields_lossless(void **st)
{
	struct udc_spec *rd =
	    gen_spec("mode = combined\nkeys = truth", "denhaag-clk-fields-schema.json",
	             "scoring = fields\nthreshold = 0.80\n");
	struct udc_spec *lk = gen_spec("mode = fuzzy", "denhaag-clk-fields-schema.json",
	                               "scoring = fields\nthreshold = 0.80\n");
	struct udc_blist g, own;
	struct gen_side sa, sb;
	struct udc_linkage_report rj, re, ra, rc, rl;
	int64_t *pj, *pe, *pa, *pc, *pl;
	uint8_t *lj;
	struct truth q;
	size_t diff = 0, lost = 0, lost_l = 0;
	unsigned nwide = 0, nup = 0;
	(void)st;

	gen_read("gemeente.csv", 1, rd, lk, &g, &sa);
	gen_read("cbs.csv", 0, rd, lk, &own, &sb);
	assert_non_null(pj = malloc(g.n * sizeof(*pj)));
	assert_non_null(pe = malloc(g.n * sizeof(*pe)));
	assert_non_null(pa = malloc(g.n * sizeof(*pa)));
	assert_non_null(pc = malloc(g.n * sizeof(*pc)));
	assert_non_null(pl = malloc(g.n * sizeof(*pl)));
	assert_non_null(lj = malloc(own.n));
	gen_run(lk, &g, &own, &sa, UDC_FUZZY_JOIN, pj, lj, &rj);
	gen_run(lk, &g, &own, &sa, UDC_FUZZY_EXHAUSTIVE, pe, lj, &re);
	gen_run(lk, &g, &own, &sa, UDC_FUZZY_AUTO, pa, lj, &ra);
	/* the join with conjunctions of several features (forced) */
	gen_form = UDC_FUZZY_JOIN_PAIRS;
	gen_run(lk, &g, &own, &sa, UDC_FUZZY_JOIN, pc, lj, &rc);
	/* the join with a ladder: a feature at two thresholds or more (forced) */
	gen_form = UDC_FUZZY_JOIN_LADDER;
	gen_run(lk, &g, &own, &sa, UDC_FUZZY_JOIN, pl, lj, &rl);
	gen_form = UDC_FUZZY_JOIN_ANY;
	for (unsigned j = 0; j < rc.stats.join_nconj; j++)
		nwide += __builtin_popcountll(rc.stats.join_conj[j]) > 1;
	for (unsigned j = 0; j < rl.stats.join_nconj; j++)
		nup += rl.stats.join_conj_up[j][0] != 0;
	print_message("join with a ladder (forced): features %llx at two thresholds or more, "
	              "%u conjunctions needing a second level, %u patterns; %llu pairs compared "
	              "(x%.1f), %llu of them directly, %.2f s\n",
	              (unsigned long long)rl.stats.join_ladders, nup, rl.stats.join_patterns,
	              (unsigned long long)rl.stats.compared, rl.stats.reduction,
	              (unsigned long long)rl.stats.join_direct_pairs,
	              rl.stats.secs_index + rl.stats.secs_score + rl.stats.secs_resolve);
	print_message("join with conjunctions (forced): %u of several features, %u patterns; "
	              "%llu pairs compared (x%.1f), %llu of them directly, %.2f s\n",
	              nwide, rc.stats.join_patterns, (unsigned long long)rc.stats.compared,
	              rc.stats.reduction, (unsigned long long)rc.stats.join_direct_pairs,
	              rc.stats.secs_index + rc.stats.secs_score + rc.stats.secs_resolve);
	assert_int_equal(rj.stats.blocking, UDC_FUZZY_JOIN);
	assert_int_equal(rc.stats.blocking, UDC_FUZZY_JOIN);
	assert_int_equal(rl.stats.blocking, UDC_FUZZY_JOIN);
	assert_true(nwide > 0);
	assert_true(rl.stats.join_ladders != 0 && nup > 0);
	for (size_t i = 0; i < g.n; i++) {
		diff += pj[i] != pe[i] || pa[i] != pe[i] || pc[i] != pe[i] || pl[i] != pe[i];
		lost += pe[i] >= 0 && sa.id[i] == sb.id[pe[i]] && pj[i] != pe[i];
		lost_l += pe[i] >= 0 && sa.id[i] == sb.id[pe[i]] && pl[i] != pe[i];
	}
	q = gen_truth(pj, &sa, &sb);
	print_message("generated %zu x %zu, field scoring at 0.80: every pair %llu compared; join "
	              "%llu (x%.1f), %.2f s against %.2f s; AUTO chose %s; links %llu, "
	              "precision %.4f recall %.4f; true links lost by the join %zu\n",
	              g.n, own.n, (unsigned long long)re.stats.compared,
	              (unsigned long long)rj.stats.compared, rj.stats.reduction,
	              rj.stats.secs_index + rj.stats.secs_score + rj.stats.secs_resolve,
	              re.stats.secs_index + re.stats.secs_score + re.stats.secs_resolve,
	              ra.stats.blocking == UDC_FUZZY_JOIN ? "the join" : "every pair",
	              (unsigned long long)rj.fuzzy_links, (double)q.tp / (double)(q.tp + q.fp),
	              (double)q.tp / (double)q.pairs, lost);
	assert_int_equal(diff, 0);
	assert_int_equal(lost, 0);
	assert_int_equal(lost_l, 0);
	print_message("true links lost by the ladder: %zu\n", lost_l);
	assert_true(rj.stats.compared < re.stats.compared);
	assert_true((double)q.tp / (double)q.pairs >= 0.99);
	free(pj);
	free(pe);
	free(pa);
	free(pc);
	free(pl);
	free(lj);
	free(sa.id);
	free(sb.id);
	udc_clkctx_free(sa.clk);
	udc_clkctx_free(sb.clk);
	udc_blist_free(&g);
	udc_blist_free(&own);
	udc_spec_free(rd);
	udc_spec_free(lk);
}

/* threshold = auto on the generated lists, record and field scoring: the
 * target is met and the estimated precision and recall are within a few
 * points of the truth. */
static void
test_generated_auto(void **st)
{
	static const struct {
		const char *schema, *extra;
	} cases[] = {
	    {"denhaag-clk-schema.json", "threshold = auto\n"},
	    {"denhaag-clk-fields-schema.json", "scoring = fields\nthreshold = auto\n"},
	};
	(void)st;

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		struct udc_spec *rd =
		    gen_spec("mode = combined\nkeys = truth", cases[k].schema, cases[k].extra);
		struct udc_spec *lk = gen_spec("mode = fuzzy", cases[k].schema, cases[k].extra);
		struct udc_blist g, own;
		struct gen_side sa, sb;
		struct udc_linkage_report rep;
		int64_t *pair;
		uint8_t *linked;
		struct truth q;
		double p, r;

		gen_read("gemeente.csv", 1, rd, lk, &g, &sa);
		gen_read("cbs.csv", 0, rd, lk, &own, &sb);
		assert_non_null(pair = malloc(g.n * sizeof(*pair)));
		assert_non_null(linked = malloc(own.n));
		gen_run(lk, &g, &own, &sa, UDC_FUZZY_AUTO, pair, linked, &rep);
		q = gen_truth(pair, &sa, &sb);
		p = (double)q.tp / (double)(q.tp + q.fp);
		r = (double)q.tp / (double)q.pairs;
		print_message("%s: auto chose %u.%03u from %zu best-match scores (%s non-matches); "
		              "estimated precision %.4f recall %.4f, true %.4f %.4f\n",
		              cases[k].schema, rep.threshold / 1000, rep.threshold % 1000,
		              rep.model_sample, rep.model_gumbel ? "Gumbel" : "Beta",
		              rep.est_precision, rep.est_recall, p, r);
		assert_true(p >= 0.99);
		assert_true(fabs(rep.est_precision - p) <= 0.03);
		assert_true(fabs(rep.est_recall - r) <= 0.03);
		free(pair);
		free(linked);
		free(sa.id);
		free(sb.id);
		udc_clkctx_free(sa.clk);
		udc_clkctx_free(sb.clk);
		udc_blist_free(&g);
		udc_blist_free(&own);
		udc_spec_free(rd);
		udc_spec_free(lk);
	}
}

/* The count list's points on the pool (udc_linkage_count_points) are what
 * one thread computes one at a time: udc_blind of udc_hash_to_group of the
 * handle, for every index of a sparse selection, strided records, a tail
 * that is not a multiple of the batch, with and without a pool. */
static void
test_count_points(void **state)
{
	enum { NREC = 1237, STRIDE = 32 + 7 };
	uint8_t rid[16], *recs = malloc(NREC * STRIDE), want[32];
	size_t *idx = malloc(NREC * sizeof(*idx)), nidx = 0;
	struct udc_scalar *s = NULL;
	struct udc_workq *wq = NULL;
	struct udc_blist out;

	(void)state;
	assert_non_null(recs);
	assert_non_null(idx);
	for (size_t i = 0; i < sizeof(rid); i++)
		rid[i] = (uint8_t)(i * 7 + 1);
	for (size_t i = 0; i < NREC * STRIDE; i++)
		recs[i] = (uint8_t)(i * 2654435761u >> 13);
	for (size_t i = 0; i < NREC; i++)
		if (i % 3 != 1)
			idx[nidx++] = NREC - 1 - i; /* out of order, every other third left out */
	assert_int_equal(udc_scalar_new(&s), 0);
	assert_int_equal(udc_workq_new(&wq, 3), 0);
	for (int pass = 0; pass < 2; pass++) {
		udc_blist_init(&out, 1, 0);
		assert_int_equal(udc_linkage_count_points(&out, recs, STRIDE, pass ? NULL : idx,
		    pass ? NREC : nidx, s, rid, pass ? NULL : wq), 0);
		assert_int_equal(out.n, pass ? NREC : nidx);
		for (size_t i = 0; i < out.n; i++) {
			size_t at = pass ? i : idx[i];
			udc_hash_to_group(want, rid, UDC_KEY_HANDLE, (const char *)recs + at * STRIDE, 32);
			assert_int_equal(udc_blind(want, s, want), 0);
			assert_memory_equal(udc_blist_pt(&out, i, 0), want, 32);
		}
		/* only an empty list of one key */
		assert_int_equal(udc_linkage_count_points(&out, recs, STRIDE, NULL, 1, s, rid, wq),
		    UDC_EINVAL);
		udc_blist_free(&out);
	}
	udc_blist_init(&out, 2, 0);
	assert_int_equal(udc_linkage_count_points(&out, recs, STRIDE, NULL, 1, s, rid, wq), UDC_EINVAL);
	udc_blist_free(&out);
	udc_workq_free(wq);
	udc_scalar_free(s);
	free(idx);
	free(recs);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_count_points),
	    cmocka_unit_test(test_fuzzy_planted),
	    cmocka_unit_test(test_combined_exact_first),
	    cmocka_unit_test(test_inconsistent),
	    cmocka_unit_test(test_auto_planted),
	    cmocka_unit_test(test_generated_fields_lossless),
	    cmocka_unit_test(test_generated_auto),
	};

	log_init("test_linkage", UDC_LOG_ERR, 0);
	if (udc_secmem_init() != 0) /* round scalars (test_count_points) */
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
