/*
 * test_clk.c - the clkhash-compatible CLK encoder.
 *
 * Known answers: every row of tests/vectors/clkhash (produced by clkhash
 * 0.18.3 itself) must come out byte for byte.  Beyond the vectors: schema
 * refusals name the field and the problem, missing values and replaceWith,
 * XOR folding (both spellings), value validation that never echoes the value,
 * and properties of the tokenisers that follow from clkhash's definitions
 * (numeric neighbourhoods, date normalisation).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "blake2b.h"
#include "clk.h"
#include "err.h"

#define MAXCOLS 32

static char *
vector_path(const char *name)
{
	const char *dir = getenv("UDC_SOURCE_DIR");
	static char buf[4096];

	snprintf(buf, sizeof(buf), "%s/tests/vectors/clkhash/%s", dir != NULL ? dir : ".", name);
	return buf;
}

/* Splits a line of the vector files (no quoting in them) in place. */
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

static struct udc_clk_schema *
load_schema(const char *name)
{
	struct udc_clk_schema *s = NULL;
	char err[512] = "";
	int rv = udc_clk_schema_load(&s, vector_path(name), err, sizeof(err));

	if (rv != 0)
		print_error("%s\n", err);
	assert_int_equal(rv, 0);
	assert_non_null(s);
	return s;
}

static struct udc_clk_encoder *
new_encoder(const struct udc_clk_schema *s, const char *secret)
{
	struct udc_clk_encoder *e = NULL;
	char err[256] = "";
	int rv =
	    udc_clk_encoder_new(&e, s, (const uint8_t *)secret, strlen(secret), err, sizeof(err));

	if (rv != 0)
		print_error("%s\n", err);
	assert_int_equal(rv, 0);
	return e;
}

/* Encodes every row of a vector file and compares with its clk_base64. */
static size_t
run_vectors(const char *schema_name, const char *csv_name, const char *secret)
{
	struct udc_clk_schema *s = load_schema(schema_name);
	struct udc_clk_encoder *e = new_encoder(s, secret);
	size_t nf = udc_clk_schema_nfields(s), nb = udc_clk_schema_bytes(s), rows = 0, n;
	char line[8192], *cols[MAXCOLS], err[256], *b64;
	uint8_t *out;
	FILE *fp = fopen(vector_path(csv_name), "r");

	assert_non_null(fp);
	assert_non_null(out = malloc(nb));
	assert_non_null(b64 = malloc(udc_clk_base64_len(nb)));
	assert_non_null(fgets(line, sizeof(line), fp)); /* header */
	assert_int_equal(split(line, cols), nf + 1);
	while (fgets(line, sizeof(line), fp) != NULL) {
		unsigned pop = 0;
		n = split(line, cols);
		assert_int_equal(n, nf + 1);
		err[0] = '\0';
		if (udc_clk_encode(e, (const char *const *)cols, nf, out, nb, &pop, err,
		                   sizeof(err)) != 0)
			fail_msg("%s row %zu: %s", csv_name, rows + 1, err);
		udc_clk_base64(b64, out, nb);
		if (strcmp(b64, cols[nf]) != 0)
			fail_msg("%s row %zu (%s): got %s want %s", csv_name, rows + 1, cols[0],
			         b64, cols[nf]);
		rows++;
	}
	fclose(fp);
	free(out);
	free(b64);
	udc_clk_encoder_free(e);
	udc_clk_schema_free(s);
	return rows;
}

/* The keyed BLAKE2b that starts from the key block (clk.c's blakeHash for
 * salt "0") against libsodium: random keys of 1-64 bytes, salts, personal
 * strings or none, digests of 1-64 bytes, messages of 1-384 bytes (one
 * block, exactly one and two blocks, several). */
static void
test_blake2b_keyed(void **state)
{
	uint8_t key[64], salt[16], pers[16], msg[384], want[64], got[64];
	struct udc_blake2b_keyed st;

	(void)state;
	for (unsigned i = 0; i < 3000; i++) {
		size_t keylen = 1 + randombytes_uniform(64), outlen = 1 + randombytes_uniform(64);
		size_t len = i % 7 == 0 ? 128 * (1 + i % 3) : 1 + randombytes_uniform(300);
		int np = (int)randombytes_uniform(2);

		randombytes_buf(key, keylen);
		randombytes_buf(salt, sizeof(salt));
		randombytes_buf(pers, sizeof(pers));
		randombytes_buf(msg, len);
		assert_int_equal(crypto_generichash_blake2b_salt_personal(
		                     want, outlen, msg, len, key, keylen, salt, np ? pers : NULL),
		                 0);
		assert_int_equal(
		    udc_blake2b_keyed_init(&st, key, keylen, outlen, salt, np ? pers : NULL), 0);
		assert_int_equal(udc_blake2b_keyed_final(&st, msg, len, got), 0);
		assert_memory_equal(got, want, outlen);
	}
	/* what it cannot do: no key, a key or digest over 64 bytes, no message */
	assert_int_equal(udc_blake2b_keyed_init(&st, key, 0, 64, NULL, NULL), -1);
	assert_int_equal(udc_blake2b_keyed_init(&st, key, 65, 64, NULL, NULL), -1);
	assert_int_equal(udc_blake2b_keyed_init(&st, key, 64, 65, NULL, NULL), -1);
	assert_int_equal(udc_blake2b_keyed_init(&st, key, 64, 64, NULL, NULL), 0);
	assert_int_equal(udc_blake2b_keyed_final(&st, msg, 0, got), -1);
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

/* ---------- helpers for small inline schemas ---------- */

static struct udc_clk_schema *
parse(const char *json, char *err, size_t errlen, int *rv)
{
	struct udc_clk_schema *s = NULL;

	err[0] = '\0';
	*rv = udc_clk_schema_parse(&s, json, strlen(json), "schema.json", err, errlen);
	return s;
}

static struct udc_clk_schema *
parse_ok(const char *json)
{
	char err[512];
	int rv;
	struct udc_clk_schema *s = parse(json, err, sizeof(err), &rv);

	if (rv != 0)
		print_error("%s\n", err);
	assert_int_equal(rv, 0);
	return s;
}

/* A one- or two-feature schema around the given clkConfig and features. */
static char *
schema_json(const char *clkconfig, const char *features)
{
	static char buf[4096];

	snprintf(buf, sizeof(buf), "{\"version\": 3, \"clkConfig\": %s, \"features\": [%s]}",
	         clkconfig, features);
	return buf;
}

#define CFG1024 "{\"l\": 1024, \"kdf\": {\"type\": \"HKDF\"}}"

static void
expect_refused(const char *clkconfig, const char *features, const char *msg)
{
	char err[512];
	int rv;
	struct udc_clk_schema *s = parse(schema_json(clkconfig, features), err, sizeof(err), &rv);

	assert_null(s);
	assert_int_equal(rv, UDC_EINVAL);
	if (strstr(err, msg) == NULL)
		fail_msg("expected \"%s\" in \"%s\"", msg, err);
}

static void
test_schema_refusals(void **state)
{
	(void)state;
	expect_refused(CFG1024,
	               "{\"identifier\": \"dob\", \"format\": {\"type\": \"string\"}, \"hashing\": "
	               "{\"comparison\": {\"type\": \"ngram\", \"n\": 2}, \"strategy\": "
	               "{\"bitsPerToken\": 10}, \"hash\": {\"type\": \"foo\"}}}",
	               "schema.json: field 'dob': hash strategy 'foo' not supported");
	expect_refused(
	    CFG1024,
	    "{\"identifier\": \"name\", \"format\": {\"type\": \"string\", \"pattern\": "
	    "\"[a-z]+\"}, \"hashing\": {\"comparison\": {\"type\": \"ngram\", \"n\": 2}, "
	    "\"strategy\": {\"bitsPerToken\": 10}}}",
	    "field 'name': string pattern");
	expect_refused(
	    CFG1024,
	    "{\"identifier\": \"name\", \"format\": {\"type\": \"string\"}, \"hashing\": "
	    "{\"comparison\": {\"type\": \"soundex\"}, \"strategy\": {\"bitsPerToken\": 10}}}",
	    "field 'name': comparison type 'soundex' not supported");
	expect_refused(
	    CFG1024,
	    "{\"identifier\": \"name\", \"format\": {\"type\": \"string\"}, \"hashing\": "
	    "{\"comparison\": {\"type\": \"ngram\", \"n\": 2}, \"strategy\": {\"k\": 10}}}",
	    "field 'name': strategy: key 'k' not supported");
	expect_refused(
	    CFG1024,
	    "{\"identifier\": \"name\", \"format\": {\"type\": \"string\"}, \"hashing\": "
	    "{\"comparison\": {\"type\": \"ngram\", \"n\": 2}, \"strategy\": {}}}",
	    "field 'name': strategy needs bitsPerToken or bitsPerFeature");
	expect_refused(
	    CFG1024,
	    "{\"identifier\": \"dob\", \"format\": {\"type\": \"date\", \"format\": "
	    "\"%Y-%m-%d %H\"}, \"hashing\": {\"comparison\": {\"type\": \"ngram\", \"n\": 1}, "
	    "\"strategy\": {\"bitsPerToken\": 10}}}",
	    "field 'dob': date directive '%H' not supported");
	expect_refused(
	    CFG1024,
	    "{\"identifier\": \"sex\", \"format\": {\"type\": \"boolean\"}, \"hashing\": "
	    "{\"comparison\": {\"type\": \"exact\"}, \"strategy\": {\"bitsPerToken\": 10}}}",
	    "field 'sex': format type 'boolean' not supported");
	expect_refused(
	    CFG1024,
	    "{\"identifier\": \"a\", \"format\": {\"type\": \"string\"}, \"hashing\": "
	    "{\"comparison\": {\"type\": \"exact\"}, \"strategy\": {\"bitsPerToken\": 10}, "
	    "\"hash\": {\"type\": \"blakeHash\", \"prevent_singularity\": true}}}",
	    "field 'a': prevent_singularity is only for doubleHash");
	expect_refused(CFG1024,
	               "{\"identifier\": \"a\", \"format\": {\"type\": \"string\", \"encoding\": "
	               "\"latin-1\"}, \"hashing\": {\"comparison\": {\"type\": \"exact\"}, "
	               "\"strategy\": {\"bitsPerToken\": 10}}}",
	               "field 'a': encoding 'latin-1' not supported");
	/* blakeHash needs a power-of-two filter, doubleHash does not */
	expect_refused(
	    "{\"l\": 1000, \"kdf\": {\"type\": \"HKDF\"}}",
	    "{\"identifier\": \"a\", \"format\": {\"type\": \"string\"}, \"hashing\": "
	    "{\"comparison\": {\"type\": \"exact\"}, \"strategy\": {\"bitsPerToken\": 10}}}",
	    "field 'a': blakeHash needs l * 2^xor_folds to be a power of two");
	expect_refused("{\"l\": 1024, \"kdf\": {\"type\": \"PBKDF2\"}}",
	               "{\"identifier\": \"a\", \"ignored\": true}",
	               "schema.json: kdf type 'PBKDF2' not supported");
	expect_refused("{\"l\": 1024, \"xor_folds\": 1, \"xorFolds\": 2, \"kdf\": {\"type\": "
	               "\"HKDF\"}}",
	               "{\"identifier\": \"a\", \"ignored\": true}",
	               "xor_folds and xorFolds disagree");
	expect_refused("{\"l\": 1024, \"kdf\": {\"type\": \"HKDF\", \"hash\": \"MD5\"}}",
	               "{\"identifier\": \"a\", \"ignored\": true}",
	               "kdf hash 'MD5' not supported");

	{
		char err[512];
		int rv;
		assert_null(parse("{\"version\": 2, \"clkConfig\": {}, \"features\": []}", err,
		                  sizeof(err), &rv));
		assert_int_equal(rv, UDC_EINVAL);
		assert_non_null(strstr(err, "version 3"));
		assert_null(parse("{\"version\": 3,", err, sizeof(err), &rv));
		assert_int_equal(rv, UDC_EPARSE);
		assert_int_equal(udc_clk_schema_load(&(struct udc_clk_schema *){NULL},
		                                     "/nonexistent/schema.json", err, sizeof(err)),
		                 UDC_EIO);
	}
}

/* ---------- encoding helpers ---------- */

struct one {
	struct udc_clk_schema *s;
	struct udc_clk_encoder *e;
	size_t nb;
};

static void
one_open(struct one *o, const char *json)
{
	o->s = parse_ok(json);
	o->e = new_encoder(o->s, "test secret");
	o->nb = udc_clk_schema_bytes(o->s);
}

static void
one_close(struct one *o)
{
	udc_clk_encoder_free(o->e);
	udc_clk_schema_free(o->s);
}

static int
enc(struct one *o, const char *const *vals, size_t n, uint8_t *out, char *err, size_t errlen)
{
	return udc_clk_encode(o->e, vals, n, out, o->nb, NULL, err, errlen);
}

static void
enc_ok(struct one *o, const char *const *vals, size_t n, uint8_t *out)
{
	char err[256] = "";
	int rv = enc(o, vals, n, out, err, sizeof(err));

	if (rv != 0)
		print_error("%s\n", err);
	assert_int_equal(rv, 0);
}

static unsigned
popcount(const uint8_t *b, size_t n)
{
	unsigned c = 0;
	size_t i;

	for (i = 0; i < n; i++)
		c += (unsigned)__builtin_popcount(b[i]);
	return c;
}

#define STR_FEATURE(id, extra)                                                                     \
	"{\"identifier\": \"" id "\", \"format\": {\"type\": \"string\"}, \"hashing\": "           \
	"{\"comparison\": {\"type\": \"ngram\", \"n\": 2}, \"strategy\": {\"bitsPerToken\": "      \
	"20}" extra "}}"

static void
test_missing_value(void **state)
{
	struct one o;
	uint8_t a[128], b[128], c[128];
	char err[256];
	(void)state;

	one_open(&o,
	         schema_json(CFG1024, "{\"identifier\": \"id\", \"ignored\": true}, " STR_FEATURE(
	                                  "phone", ", \"missingValue\": {\"sentinel\": \"N/A\", "
	                                           "\"replaceWith\": \"none\"}")));
	/* the sentinel is hashed as the replacement, exactly like the value */
	enc_ok(&o, (const char *const[]){"1", "N/A"}, 2, a);
	enc_ok(&o, (const char *const[]){"2", "none"}, 2, b);
	assert_memory_equal(a, b, o.nb);
	/* the ignored column is never looked at, not even for NULL */
	enc_ok(&o, (const char *const[]){NULL, "none"}, 2, c);
	assert_memory_equal(a, c, o.nb);
	enc_ok(&o, (const char *const[]){"3", "n/a"}, 2, c);
	assert_memory_not_equal(a, c, o.nb);
	/* the wrong number of values is refused */
	assert_int_equal(enc(&o, (const char *const[]){"3"}, 1, c, err, sizeof(err)), UDC_EINVAL);
	one_close(&o);

	/* sentinel without replaceWith: an empty value sets no bits at all */
	one_open(&o, schema_json(CFG1024,
	                         "{\"identifier\": \"n\", \"format\": {\"type\": \"integer\"}, "
	                         "\"hashing\": {\"comparison\": {\"type\": \"ngram\", \"n\": 1, "
	                         "\"positional\": true}, \"strategy\": {\"bitsPerFeature\": 100}, "
	                         "\"missingValue\": {\"sentinel\": \"\"}}}"));
	enc_ok(&o, (const char *const[]){""}, 1, a);
	assert_int_equal(popcount(a, o.nb), 0);
	/* integers are normalised: ' +007' is hashed as '7' */
	enc_ok(&o, (const char *const[]){" +007"}, 1, a);
	enc_ok(&o, (const char *const[]){"7"}, 1, b);
	assert_memory_equal(a, b, o.nb);
	assert_true(popcount(a, o.nb) > 0);
	enc_ok(&o, (const char *const[]){"1_000"}, 1, a);
	enc_ok(&o, (const char *const[]){"1000"}, 1, b);
	assert_memory_equal(a, b, o.nb);
	one_close(&o);

	/* no missingValue: an empty integer is invalid, and the message names
	 * the field but never the value */
	one_open(&o, schema_json(CFG1024,
	                         "{\"identifier\": \"postcode\", \"format\": {\"type\": "
	                         "\"integer\", \"minimum\": 1000, \"maximum\": 9999}, \"hashing\": "
	                         "{\"comparison\": {\"type\": \"ngram\", \"n\": 1}, \"strategy\": "
	                         "{\"bitsPerToken\": 20}}}"));
	assert_int_equal(enc(&o, (const char *const[]){""}, 1, a, err, sizeof(err)), UDC_EINVAL);
	assert_non_null(strstr(err, "field 'postcode'"));
	assert_int_equal(enc(&o, (const char *const[]){"12x4"}, 1, a, err, sizeof(err)),
	                 UDC_EINVAL);
	assert_null(strstr(err, "12x4"));
	assert_int_equal(enc(&o, (const char *const[]){"99999"}, 1, a, err, sizeof(err)),
	                 UDC_EINVAL);
	assert_non_null(strstr(err, "out of range"));
	assert_null(strstr(err, "99999"));
	enc_ok(&o, (const char *const[]){"9999"}, 1, a);
	one_close(&o);
}

static void
test_xor_folding(void **state)
{
	const char *feat = STR_FEATURE("name", "");
	struct one full, f1, f2;
	uint8_t a[256], b[128], c[128], folded[128];
	const char *vals[] = {"jan de vries"};
	size_t i;
	(void)state;

	/* the keys do not depend on l, so folding the 2048-bit filter by hand
	 * must give what the encoder folds itself */
	one_open(&full, schema_json("{\"l\": 2048, \"kdf\": {\"type\": \"HKDF\"}}", feat));
	one_open(&f1, schema_json("{\"l\": 1024, \"xor_folds\": 1, \"kdf\": {\"type\": \"HKDF\"}}",
	                          feat));
	one_open(&f2, schema_json("{\"l\": 1024, \"xorFolds\": 1, \"kdf\": {\"type\": \"HKDF\"}}",
	                          feat));
	assert_int_equal(full.nb, 256);
	assert_int_equal(f1.nb, 128);
	enc_ok(&full, vals, 1, a);
	enc_ok(&f1, vals, 1, b);
	enc_ok(&f2, vals, 1, c);
	for (i = 0; i < 128; i++)
		folded[i] = a[i] ^ a[128 + i];
	assert_memory_equal(folded, b, 128);
	assert_memory_equal(b, c, 128);
	one_close(&full);
	one_close(&f1);
	one_close(&f2);

	/* doubleHash works for lengths that are not powers of two; the unused
	 * bits of the last byte stay zero */
	one_open(&full, schema_json("{\"l\": 1001, \"kdf\": {\"type\": \"HKDF\"}}",
	                            STR_FEATURE("name", ", \"hash\": {\"type\": \"doubleHash\"}")));
	assert_int_equal(full.nb, 126);
	enc_ok(&full, vals, 1, a);
	assert_int_equal(a[125] & 0x7f, 0);
	assert_true(popcount(a, full.nb) > 20);
	one_close(&full);
}

/* One feature alone (field scoring) is the filter of the same schema with
 * every other feature ignored: same per-feature keys, same l and folding;
 * and the OR of the features' filters is the record's CLK (no folding). */
static void
test_encode_feature(void **state)
{
#define FEATS(x, y, z) x ", " y ", " z
#define G STR_FEATURE("given", "")
#define S STR_FEATURE("sur", ", \"hash\": {\"type\": \"doubleHash\"}")
#define D                                                                                          \
	"{\"identifier\": \"dob\", \"format\": {\"type\": \"string\"}, \"hashing\": "              \
	"{\"comparison\": {\"type\": \"ngram\", \"n\": 1, \"positional\": true}, \"strategy\": "   \
	"{\"bitsPerFeature\": 40}}}"
#define IGN(n) "{\"identifier\": \"" n "\", \"ignored\": true}"
	static const char *const cfgs[] = {
	    "{\"l\": 512, \"kdf\": {\"type\": \"HKDF\"}}",
	    "{\"l\": 256, \"xor_folds\": 1, \"kdf\": {\"type\": \"HKDF\"}}"};
	const char *vals[] = {"anika", "chou", "19160129"};
	struct one full, alone[3];
	uint8_t rec[64], f[3][64], ref[64];
	char err[256];
	size_t c, i, k;
	(void)state;

	for (c = 0; c < 2; c++) {
		one_open(&full, schema_json(cfgs[c], FEATS(G, S, D)));
		one_open(&alone[0], schema_json(cfgs[c], FEATS(G, IGN("sur"), IGN("dob"))));
		one_open(&alone[1], schema_json(cfgs[c], FEATS(IGN("given"), S, IGN("dob"))));
		one_open(&alone[2], schema_json(cfgs[c], FEATS(IGN("given"), IGN("sur"), D)));
		enc_ok(&full, vals, 3, rec);
		for (k = 0; k < 3; k++) {
			assert_int_equal(udc_clk_encode_feature(full.e, vals, 3, k, f[k], full.nb,
			                                        NULL, err, sizeof(err)),
			                 0);
			enc_ok(&alone[k], vals, 3, ref);
			assert_memory_equal(f[k], ref, full.nb);
			assert_true(popcount(f[k], full.nb) > 10);
		}
		if (c == 0) {
			for (i = 0; i < full.nb; i++)
				assert_int_equal(f[0][i] | f[1][i] | f[2][i], rec[i]);
		}
		for (k = 0; k < 3; k++)
			one_close(&alone[k]);
		one_close(&full);
	}
	/* an ignored or absent feature is refused */
	one_open(&full, schema_json(CFG1024, FEATS(G, IGN("sur"), D)));
	assert_int_equal(udc_clk_schema_nencoded(full.s), 2);
	assert_int_equal(
	    udc_clk_encode_feature(full.e, vals, 3, 1, rec, full.nb, NULL, err, sizeof(err)),
	    UDC_EINVAL);
	assert_int_equal(
	    udc_clk_encode_feature(full.e, vals, 3, 3, rec, full.nb, NULL, err, sizeof(err)),
	    UDC_EINVAL);
	one_close(&full);
#undef FEATS
#undef G
#undef S
#undef D
#undef IGN
}

static void
test_value_validation(void **state)
{
	struct one o;
	uint8_t a[128], b[128];
	char err[256];
	(void)state;

	one_open(&o,
	         schema_json(CFG1024,
	                     "{\"identifier\": \"dob\", \"format\": {\"type\": \"date\", "
	                     "\"format\": \"%d/%m/%Y\"}, \"hashing\": {\"comparison\": {\"type\": "
	                     "\"ngram\", \"n\": 1, \"positional\": true}, \"strategy\": "
	                     "{\"bitsPerFeature\": 200}}}"));
	enc_ok(&o, (const char *const[]){"27/02/1901"}, 1, a);
	enc_ok(&o, (const char *const[]){"27/2/1901"}, 1, b);
	assert_memory_equal(a, b, o.nb);
	assert_int_equal(enc(&o, (const char *const[]){"30/02/1901"}, 1, a, err, sizeof(err)),
	                 UDC_EINVAL);
	assert_non_null(strstr(err, "field 'dob'"));
	assert_null(strstr(err, "1901"));
	assert_int_equal(enc(&o, (const char *const[]){"27/02/1901x"}, 1, a, err, sizeof(err)),
	                 UDC_EINVAL);
	assert_int_equal(enc(&o, (const char *const[]){"29/02/1900"}, 1, a, err, sizeof(err)),
	                 UDC_EINVAL);
	enc_ok(&o, (const char *const[]){"29/02/2000"}, 1, a);
	one_close(&o);

	/* the same date in two formats hashes the same (both become %Y%m%d),
	 * given the same feature position and so the same key */
	{
		struct one o2;
		one_open(&o,
		         schema_json(CFG1024,
		                     "{\"identifier\": \"dob\", \"format\": {\"type\": \"date\", "
		                     "\"format\": \"%d %B %Y\"}, \"hashing\": {\"comparison\": "
		                     "{\"type\": \"ngram\", \"n\": 1, \"positional\": true}, "
		                     "\"strategy\": {\"bitsPerFeature\": 200}}}"));
		one_open(&o2,
		         schema_json(CFG1024,
		                     "{\"identifier\": \"dob\", \"format\": {\"type\": \"date\", "
		                     "\"format\": \"%Y%m%d\"}, \"hashing\": {\"comparison\": "
		                     "{\"type\": \"ngram\", \"n\": 1, \"positional\": true}, "
		                     "\"strategy\": {\"bitsPerFeature\": 200}}}"));
		enc_ok(&o, (const char *const[]){"7  February 1985"}, 1, a);
		enc_ok(&o2, (const char *const[]){"19850207"}, 1, b);
		assert_memory_equal(a, b, o.nb);
		one_close(&o);
		one_close(&o2);
	}

	one_open(&o, schema_json(
	                 CFG1024,
	                 "{\"identifier\": \"sex\", \"format\": {\"type\": \"enum\", "
	                 "\"values\": [\"m\", \"f\", \"x\"]}, \"hashing\": {\"comparison\": "
	                 "{\"type\": \"exact\"}, \"strategy\": {\"bitsPerToken\": 30}}}, "
	                 "{\"identifier\": \"name\", \"format\": {\"type\": \"string\", "
	                 "\"case\": \"lower\", \"minLength\": 2, \"maxLength\": 5}, \"hashing\": "
	                 "{\"comparison\": {\"type\": \"ngram\", \"n\": 2}, \"strategy\": "
	                 "{\"bitsPerToken\": 10}}}"));
	enc_ok(&o, (const char *const[]){"f", "\xc3\xa9va"}, 2, a);
	assert_int_equal(enc(&o, (const char *const[]){"F", "eva"}, 2, a, err, sizeof(err)),
	                 UDC_EINVAL);
	assert_non_null(strstr(err, "field 'sex'"));
	assert_int_equal(enc(&o, (const char *const[]){"f", "Eva"}, 2, a, err, sizeof(err)),
	                 UDC_EINVAL);
	assert_non_null(strstr(err, "field 'name': not lower case"));
	assert_int_equal(enc(&o, (const char *const[]){"f", "e"}, 2, a, err, sizeof(err)),
	                 UDC_EINVAL);
	/* length counts characters, not bytes: 5 characters, 6 bytes */
	enc_ok(&o, (const char *const[]){"f", "\xc3\xa9vaaa"}, 2, a);
	assert_int_equal(enc(&o, (const char *const[]){"f", "evaaaa"}, 2, a, err, sizeof(err)),
	                 UDC_EINVAL);
	assert_int_equal(enc(&o, (const char *const[]){"f", "ev\xff"}, 2, a, err, sizeof(err)),
	                 UDC_EINVAL);
	assert_non_null(strstr(err, "invalid UTF-8"));
	one_close(&o);
}

static void
test_numeric(void **state)
{
	struct one o;
	uint8_t a[128], b[128];
	(void)state;

	/* clkhash's documented example: threshold 8, resolution 2 quantises
	 * 25 and 26 to the same grid point (tokens 88 .. 120), 24 not */
	one_open(&o, schema_json(CFG1024,
	                         "{\"identifier\": \"age\", \"format\": {\"type\": \"integer\"}, "
	                         "\"hashing\": {\"comparison\": {\"type\": \"numeric\", "
	                         "\"thresholdDistance\": 8, \"resolution\": 2}, \"strategy\": "
	                         "{\"bitsPerToken\": 10}}}"));
	enc_ok(&o, (const char *const[]){"25"}, 1, a);
	enc_ok(&o, (const char *const[]){"26"}, 1, b);
	assert_memory_equal(a, b, o.nb);
	enc_ok(&o, (const char *const[]){"24"}, 1, b);
	assert_memory_not_equal(a, b, o.nb);
	one_close(&o);

	/* strings go through int() first and float() second */
	one_open(
	    &o, schema_json(CFG1024,
	                    "{\"identifier\": \"w\", \"format\": {\"type\": \"string\"}, "
	                    "\"hashing\": {\"comparison\": {\"type\": \"numeric\", "
	                    "\"thresholdDistance\": 0.5, \"resolution\": 3, "
	                    "\"fractional_precision\": 1}, \"strategy\": {\"bitsPerToken\": 5}}}"));
	enc_ok(&o, (const char *const[]){"70"}, 1, a);
	enc_ok(&o, (const char *const[]){"70.0"}, 1, b);
	assert_memory_equal(a, b, o.nb);
	enc_ok(&o, (const char *const[]){" 7e1 "}, 1, b);
	assert_memory_equal(a, b, o.nb);
	{
		char err[256];
		assert_int_equal(enc(&o, (const char *const[]){"seventy"}, 1, a, err, sizeof(err)),
		                 UDC_EINVAL);
		assert_int_equal(enc(&o, (const char *const[]){"inf"}, 1, a, err, sizeof(err)),
		                 UDC_EINVAL);
	}
	enc_ok(&o, (const char *const[]){""}, 1, a); /* no tokens */
	assert_int_equal(popcount(a, o.nb), 0);
	one_close(&o);
}

static void
test_keys_and_secret(void **state)
{
	struct udc_clk_schema *s = load_schema("tutorial_schema.json");
	struct udc_clk_encoder *e = NULL, *e2;
	const char *rec[11] = {"x",     "michaela",      "neumann", "8",   "stanley street",
	                       "miami", "winston hills", "4223",    "nsw", "19151111",
	                       "y"};
	uint8_t a[128], b[128];
	char err[256];
	unsigned pop = 0;
	(void)state;

	assert_int_equal(udc_clk_encoder_new(&e, s, (const uint8_t *)"", 0, err, sizeof(err)),
	                 UDC_EINVAL);
	assert_null(e);
	e = new_encoder(s, "secret");
	e2 = new_encoder(s, "secreT");
	assert_int_equal(udc_clk_encode(e, rec, 11, a, sizeof(a), &pop, err, sizeof(err)), 0);
	assert_int_equal(pop, popcount(a, sizeof(a)));
	assert_int_equal(udc_clk_encode(e2, rec, 11, b, sizeof(b), NULL, err, sizeof(err)), 0);
	assert_memory_not_equal(a, b, sizeof(a));
	assert_int_equal(udc_clk_encode(e, rec, 11, b, 64, NULL, err, sizeof(err)), UDC_EINVAL);
	assert_int_equal(udc_clk_schema_nfields(s), 11);
	assert_string_equal(udc_clk_schema_field_name(s, 1), "given_name");
	assert_true(udc_clk_schema_field_ignored(s, 0));
	assert_false(udc_clk_schema_field_ignored(s, 1));
	assert_int_equal(udc_clk_schema_bits(s), 1024);
	udc_clk_encoder_free(e);
	udc_clk_encoder_free(e2);
	udc_clk_encoder_free(NULL);
	udc_clk_schema_free(s);
	udc_clk_schema_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_blake2b_keyed),
	    cmocka_unit_test(test_kat_tutorial),    cmocka_unit_test(test_kat_mixed),
	    cmocka_unit_test(test_schema_refusals), cmocka_unit_test(test_missing_value),
	    cmocka_unit_test(test_xor_folding),     cmocka_unit_test(test_value_validation),
	    cmocka_unit_test(test_encode_feature),  cmocka_unit_test(test_numeric),
	    cmocka_unit_test(test_keys_and_secret),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
