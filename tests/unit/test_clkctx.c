/*
 * test_clkctx.c - a round's CLK encoding context (common/fuzzy/clkctx.c):
 * schema features fed from the spec's fields by name, the gemeente's random
 * handle in front, balanced filters, one filter per feature for field
 * scoring, and the refusals.
 *
 * Independent expectation: the clkhash known-answer vectors
 * (tests/vectors/clkhash, a copy of the shared store's).  The round secret
 * is 32 bytes while the vectors were made with short secrets, so each row
 * is checked in two steps in one program: the CLK encoder reproduces the
 * row's clk_base64 under the vector's secret (clkhash itself, byte for
 * byte), and the context, fed a record whose fields hold the row's values
 * under their names (built-in or declared, in any index order, missing
 * ones as NULL), gives the bytes that same encoder gives for those values
 * in schema order under the round secret.  Balancing and field scoring are
 * checked against their definitions (roundkey.h, clk.h).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clk.h"
#include "clkctx.h"
#include "err.h"
#include "fields.h"
#include "input.h"
#include "rand.h"
#include "roundkey.h"
#include "secmem.h"
#include "spec.h"

#define MAXCOLS 32

static const uint8_t round_secret[32] = "0123456789abcdef0123456789abcde";

static char *
vector_path(const char *name)
{
	const char *dir = getenv("UDC_SOURCE_DIR");
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/tests/vectors/clkhash/%s", dir != NULL ? dir : ".", name);
	return buf;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
	assert_int_equal(fseek(fp, 0, SEEK_END), 0);
	n = ftell(fp);
	rewind(fp);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static size_t
split(char *line, char **cols)
{
	size_t n = 0;
	char *p = line;

	line[strcspn(line, "\r\n")] = '\0';
	cols[n++] = p;
	while ((p = strchr(p, ',')) != NULL && n < MAXCOLS) {
		*p++ = '\0';
		cols[n++] = p;
	}
	return n;
}

/* A spec holding just what a CLK context reads: the schema and the field
 * set.  The vector's features that are not built-in fields are declared,
 * in reverse order, so that field indices differ from schema positions. */
static struct udc_spec *
spec_for(const char *schema_file, char **names, size_t nnames)
{
	struct udc_spec *s = calloc(1, sizeof(*s));
	char err[256];

	assert_non_null(s);
	s->name = strdup("test spec");
	s->schema_name = strdup(schema_file);
	s->schema_json = slurp(vector_path(schema_file), &s->schema_len);
	udc_fieldset_init(&s->fields);
	for (size_t i = nnames; i-- > 0;) {
		if (udc_fieldset_find(&s->fields, names[i]) >= 0)
			continue;
		if (udc_fieldset_declare(&s->fields, names[i], "freetext", err, sizeof(err)) != 0)
			fail_msg("declare %s: %s", names[i], err);
	}
	return s;
}

static void
spec_free(struct udc_spec *s)
{
	free(s->name);
	free(s->schema_name);
	free(s->schema_json);
	free(s);
}

static struct udc_clk_encoder *
encoder(const struct udc_clk_schema *sch, const uint8_t *secret, size_t len)
{
	struct udc_clk_encoder *e = NULL;
	char err[256] = "";

	if (udc_clk_encoder_new(&e, sch, secret, len, err, sizeof(err)) != 0)
		fail_msg("encoder: %s", err);
	return e;
}

/* Every row of a vector file through both steps; returns the rows. */
static size_t
run_vectors(const char *schema_file, const char *csv_file, const char *kat_secret)
{
	FILE *fp = fopen(vector_path(csv_file), "r");
	char hdr[8192], line[8192], *names[MAXCOLS], *cols[MAXCOLS], err[256], b64[512];
	struct udc_clk_schema *sch = NULL;
	struct udc_clk_encoder *kat, *ours;
	struct udc_clkctx *ctx = NULL;
	struct udc_spec *spec;
	size_t nf, rows = 0;
	uint8_t want[1024], got[1024];

	assert_non_null(fp);
	assert_non_null(fgets(hdr, sizeof(hdr), fp));
	nf = split(hdr, names) - 1; /* the last column is clk_base64 */
	for (size_t i = 0; i < nf; i++)
		names[i] += strspn(names[i], " ");
	assert_int_equal(udc_clk_schema_load(&sch, vector_path(schema_file), err, sizeof(err)), 0);
	assert_int_equal(udc_clk_schema_nfields(sch), nf);
	kat = encoder(sch, (const uint8_t *)kat_secret, strlen(kat_secret));
	ours = encoder(sch, round_secret, sizeof(round_secret));
	spec = spec_for(schema_file, names, nf);
	if (udc_clkctx_new(&ctx, spec, round_secret, 0, err, sizeof(err)) != 0)
		fail_msg("clkctx: %s", err);
	size_t nb = udc_clk_schema_bytes(sch);
	assert_int_equal(udc_clkctx_bytes(ctx), nb);
	assert_int_equal(udc_clkctx_bits(ctx), udc_clk_schema_bits(sch));
	assert_int_equal(udc_clkctx_ext_bytes(ctx), nb);
	assert_int_equal(udc_clkctx_segments(ctx), 1);
	while (fgets(line, sizeof(line), fp) != NULL) {
		struct udc_inrec rec;
		assert_int_equal(split(line, cols), nf + 1);
		/* step 1: clkhash's own answer */
		if (udc_clk_encode(kat, (const char *const *)cols, nf, want, nb, NULL, err,
		    sizeof(err)) != 0)
			fail_msg("%s row %zu: %s", csv_file, rows + 1, err);
		udc_clk_base64(b64, want, nb);
		assert_string_equal(b64, cols[nf]);
		/* step 2: the context under the round secret */
		memset(&rec, 0, sizeof(rec));
		for (size_t i = 0; i < nf; i++) {
			int f = udc_fieldset_find(&spec->fields, names[i]);
			assert_true(f >= 0);
			rec.field[f] = cols[i][0] ? cols[i] : NULL; /* missing: "" */
		}
		assert_int_equal(udc_clk_encode(ours, (const char *const *)cols, nf, want, nb, NULL, err,
		    sizeof(err)), 0);
		memset(got, 0xee, sizeof(got));
		assert_int_equal(udc_clkctx_fill(ctx, &rec, got), 0);
		if (memcmp(got, want, nb) != 0)
			fail_msg("%s row %zu: the context's encoding differs", csv_file, rows + 1);
		rows++;
	}
	fclose(fp);
	udc_clkctx_free(ctx);
	udc_clk_encoder_free(kat);
	udc_clk_encoder_free(ours);
	udc_clk_schema_free(sch);
	spec_free(spec);
	return rows;
}

static void
test_kat_tutorial(void **state)
{
	(void)state;
	assert_int_equal(run_vectors("tutorial_schema.json", "kat_tutorial.csv", "secret"), 1);
}

static void
test_kat_mixed(void **state)
{
	(void)state;
	assert_int_equal(run_vectors("mixed_schema.json", "kat_mixed.csv", "udc test secret"), 200);
}

/* A small schema over built-in fields only, written here. */
static const char small_schema[] =
    "{\"version\": 3, \"clkConfig\": {\"l\": 256, \"kdf\": {\"type\": \"HKDF\", \"hash\": "
    "\"SHA256\", \"keySize\": 64}}, \"features\": ["
    "{\"identifier\": \"surname\", \"format\": {\"type\": \"string\", \"encoding\": \"utf-8\"}, "
    "\"hashing\": {\"comparison\": {\"type\": \"ngram\", \"n\": 2}, \"strategy\": "
    "{\"bitsPerToken\": 20}}},"
    "{\"identifier\": \"note\", \"ignored\": true},"
    "{\"identifier\": \"given_names\", \"format\": {\"type\": \"string\", \"encoding\": "
    "\"utf-8\"}, \"hashing\": {\"comparison\": {\"type\": \"ngram\", \"n\": 2}, \"strategy\": "
    "{\"bitsPerToken\": 20}, \"missingValue\": {\"sentinel\": \"\"}}}]}";

static struct udc_spec *
small_spec(void)
{
	struct udc_spec *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->name = strdup("small");
	s->schema_name = strdup("small.json");
	s->schema_json = strdup(small_schema);
	s->schema_len = strlen(small_schema);
	udc_fieldset_init(&s->fields);
	return s;
}

/* The reference: the encoder under the round secret, values in schema order. */
static void
reference(const char *surname, const char *given, uint8_t out[32], int feature)
{
	struct udc_clk_schema *sch = NULL;
	struct udc_clk_encoder *e;
	const char *vals[3] = { surname, "ignored", given };
	char err[256];

	assert_int_equal(udc_clk_schema_parse(&sch, small_schema, strlen(small_schema), "small.json",
	    err, sizeof(err)), 0);
	e = encoder(sch, round_secret, 32);
	if (feature < 0)
		assert_int_equal(udc_clk_encode(e, vals, 3, out, 32, NULL, err, sizeof(err)), 0);
	else
		assert_int_equal(udc_clk_encode_feature(e, vals, 3, (size_t)feature, out, 32, NULL, err,
		    sizeof(err)), 0);
	udc_clk_encoder_free(e);
	udc_clk_schema_free(sch);
}

static void
counting_source(void *buf, size_t n, void *arg)
{
	unsigned *next = arg;

	for (size_t i = 0; i < n; i++)
		((uint8_t *)buf)[i] = (uint8_t)(*next)++;
}

static void
test_handle(void **state)
{
	struct udc_spec *s = small_spec();
	struct udc_clkctx *c = NULL;
	struct udc_inrec rec;
	uint8_t ext[64], want[32], handle[32];
	unsigned next = 100;
	char err[256];

	(void)state;
	assert_int_equal(udc_clkctx_new(&c, s, round_secret, 1, err, sizeof(err)), 0);
	assert_int_equal(udc_clkctx_ext_bytes(c), 32 + 32);
	memset(&rec, 0, sizeof(rec));
	rec.field[UDC_F_SURNAME] = "jansen";
	rec.field[UDC_F_GIVEN] = NULL; /* missing: passed as "" */
	udc_random_set_source(counting_source, &next);
	assert_int_equal(udc_clkctx_fill(c, &rec, ext), 0);
	udc_random_set_source(NULL, NULL);
	for (size_t i = 0; i < 32; i++)
		handle[i] = (uint8_t)(100 + i);
	assert_memory_equal(ext, handle, 32); /* the handle comes from the random source */
	reference("jansen", "", want, -1);
	assert_memory_equal(ext + 32, want, 32);
	/* Two records of the same person get different handles. */
	uint8_t ext2[64];
	assert_int_equal(udc_clkctx_fill(c, &rec, ext2), 0);
	assert_memory_not_equal(ext, ext2, 32);
	assert_memory_equal(ext + 32, ext2 + 32, 32);
	udc_clkctx_free(c);
	spec_free(s);
}

static int
bit(const uint8_t *b, size_t i)
{
	return (b[i / 8] >> (7 - i % 8)) & 1;
}

static void
test_balanced(void **state)
{
	struct udc_spec *s = small_spec();
	struct udc_clkctx *c = NULL;
	struct udc_inrec rec;
	uint8_t got[64], raw[32];
	uint32_t *perm = NULL;
	char err[256];

	(void)state;
	s->balance = 1;
	assert_int_equal(udc_clkctx_new(&c, s, round_secret, 0, err, sizeof(err)), 0);
	assert_int_equal(udc_clkctx_bits(c), 512);
	assert_int_equal(udc_clkctx_bytes(c), 64);
	memset(&rec, 0, sizeof(rec));
	rec.field[UDC_F_SURNAME] = "de vries";
	rec.field[UDC_F_GIVEN] = "anna";
	assert_int_equal(udc_clkctx_fill(c, &rec, got), 0);
	reference("de vries", "anna", raw, -1);
	assert_int_equal(udc_balance_perm(round_secret, 256, &perm), 0);
	size_t set = 0;
	for (size_t i = 0; i < 512; i++)
		set += (size_t)bit(got, i);
	assert_int_equal(set, 256);
	for (size_t i = 0; i < 256; i++) {
		assert_int_equal(bit(got, perm[i]), bit(raw, i));
		assert_int_equal(bit(got, perm[256 + i]), !bit(raw, i));
	}
	free(perm);
	udc_clkctx_free(c);
	spec_free(s);
}

static void
test_field_scoring(void **state)
{
	struct udc_spec *s = small_spec();
	struct udc_clkctx *c = NULL;
	struct udc_inrec rec;
	uint8_t got[64], want[32];
	char err[256];

	(void)state;
	s->scoring = UDC_SCORING_FIELDS;
	assert_int_equal(udc_clkctx_new(&c, s, round_secret, 0, err, sizeof(err)), 0);
	/* two encoded features (the ignored one gets no filter) */
	assert_int_equal(udc_clkctx_segments(c), 2);
	assert_int_equal(udc_clkctx_bits(c), 512);
	memset(&rec, 0, sizeof(rec));
	rec.field[UDC_F_SURNAME] = "bakker";
	rec.field[UDC_F_GIVEN] = "piet";
	assert_int_equal(udc_clkctx_fill(c, &rec, got), 0);
	reference("bakker", "piet", want, 0);
	assert_memory_equal(got, want, 32);
	reference("bakker", "piet", want, 2);
	assert_memory_equal(got + 32, want, 32);
	udc_clkctx_free(c);

	/* balancing and field scoring do not go together */
	s->balance = 1;
	c = NULL;
	assert_int_equal(udc_clkctx_new(&c, s, round_secret, 0, err, sizeof(err)), UDC_EINVAL);
	assert_null(c);
	assert_non_null(strstr(err, "small.json"));
	assert_non_null(strstr(err, "balancing"));
	spec_free(s);
}

static void
test_refusals(void **state)
{
	struct udc_spec *s = small_spec();
	struct udc_clkctx *c = NULL;
	char err[256] = "";

	(void)state;
	/* no schema attached */
	free(s->schema_json);
	s->schema_json = NULL;
	assert_int_equal(udc_clkctx_new(&c, s, round_secret, 0, err, sizeof(err)), UDC_EINVAL);
	assert_null(c);
	assert_non_null(strstr(err, "'small'"));
	assert_non_null(strstr(err, "no CLK schema"));
	spec_free(s);

	/* a feature that is no field of the spec: named in the error */
	s = small_spec();
	char *p = strstr(s->schema_json, "given_names");
	memcpy(p, "given_nomes", 11);
	err[0] = '\0';
	assert_int_equal(udc_clkctx_new(&c, s, round_secret, 0, err, sizeof(err)), UDC_EINVAL);
	assert_null(c);
	assert_non_null(strstr(err, "'given_nomes'"));
	assert_non_null(strstr(err, "small.json"));
	spec_free(s);

	/* a schema that does not parse: the parser's reason */
	s = small_spec();
	s->schema_json[10] = '\0';
	s->schema_len = 10;
	err[0] = '\0';
	assert_true(udc_clkctx_new(&c, s, round_secret, 0, err, sizeof(err)) < 0);
	assert_null(c);
	assert_true(err[0] != '\0');
	spec_free(s);
	udc_clkctx_free(NULL); /* a no-op */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kat_tutorial),
		cmocka_unit_test(test_kat_mixed),
		cmocka_unit_test(test_handle),
		cmocka_unit_test(test_balanced),
		cmocka_unit_test(test_field_scoring),
		cmocka_unit_test(test_refusals),
	};

	if (udc_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
