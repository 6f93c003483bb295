/*
 * test_spec.c - the round spec: canonical form and hash, what changes the
 * hash and what does not, every rule with the line it is reported on, and
 * the cell index.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "spec.h"

/* The canonical text of SMALL, written out by hand. */
static const char small_canonical[] = "udclink-spec 1\n"
                                      "name=test-1\n"
                                      "mode=exact\n"
                                      "key=bsn\n"
                                      "key=surname+birth_date+postcode\n"
                                      "gemeente.wijk=WK01,WK02\n"
                                      "gemeente.age_band=0-3,4-11,12-17\n"
                                      "cbs.income_band=laag,hoog\n"
                                      "min_cell=5\n"
                                      "pad_categories=none\n";
/* printf '<small_canonical>' | sha256sum */
static const char small_hash[] = "fdc05c150e19d27ce9f4a087c051a71381e4506d2fcf5ad613b5085dae46868f";

static const char small[] = "[spec]\n"
                            "name = test-1\n"
                            "mode = exact\n"
                            "keys = bsn, surname+birth_date+postcode\n"
                            "[gemeente]\n"
                            "wijk = WK01, WK02\n"
                            "age_band = 0-3, 4-11, 12-17\n"
                            "[cbs]\n"
                            "income_band = laag, hoog\n"
                            "[disclosure]\n"
                            "min_cell = 5\n"
                            "pad_categories = none\n";

static struct udc_spec *
parse_ok(const char *text)
{
	struct udc_spec *spec = NULL;
	char err[512];
	int rv = udc_spec_parse(text, strlen(text), "t.spec", &spec, err, sizeof(err));

	if (rv != 0)
		fail_msg("unexpected error %d: %s", rv, err);
	assert_non_null(spec);
	return spec;
}

static void
hash_of(const char *text, char hex[65])
{
	struct udc_spec *spec = parse_ok(text);

	udc_spec_hash_hex(spec, hex);
	udc_spec_free(spec);
}

/* The error text must be exactly want (names the file and the line). */
static void
expect_err(const char *text, const char *want)
{
	struct udc_spec *spec = NULL;
	char err[512];
	int rv = udc_spec_parse(text, strlen(text), "t.spec", &spec, err, sizeof(err));

	if (rv == 0)
		fail_msg("accepted, wanted \"%s\"", want);
	assert_int_equal(rv, UDC_EPARSE);
	assert_null(spec);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got \"%s\", wanted \"%s...\"", err, want);
}

static void
test_small_canonical_and_hash(void **state)
{
	struct udc_spec *spec = parse_ok(small);
	char hex[65];

	(void)state;
	assert_string_equal(spec->canonical, small_canonical);
	udc_spec_hash_hex(spec, hex);
	assert_string_equal(hex, small_hash);
	assert_int_equal(strlen(hex), 64);
	assert_string_equal(spec->name, "test-1");
	assert_int_equal(spec->mode, UDC_MODE_EXACT);
	assert_int_equal(spec->nkeys, 2);
	assert_string_equal(spec->keys[0].name, "bsn");
	assert_int_equal(spec->keys[0].nfields, 1);
	assert_int_equal(spec->keys[0].fields[0], UDC_F_BSN);
	assert_string_equal(spec->keys[1].name, "surname+birth_date+postcode");
	assert_int_equal(spec->keys[1].nfields, 3);
	assert_int_equal(spec->keys[1].fields[0], UDC_F_SURNAME);
	assert_int_equal(spec->keys[1].fields[1], UDC_F_BIRTH);
	assert_int_equal(spec->keys[1].fields[2], UDC_F_POSTCODE);
	assert_int_equal(spec->ndims[UDC_SIDE_GEMEENTE], 2);
	assert_int_equal(spec->ndims[UDC_SIDE_CBS], 1);
	assert_string_equal(spec->dims[0][0].name, "wijk");
	assert_string_equal(spec->dims[0][1].name, "age_band");
	assert_int_equal(spec->dims[0][1].nvalues, 3);
	assert_string_equal(spec->dims[0][1].values[2], "12-17");
	assert_string_equal(spec->dims[1][0].values[1], "hoog");
	assert_int_equal(spec->ncells[0], 6);
	assert_int_equal(spec->ncells[1], 2);
	assert_int_equal(spec->min_cell, 5);
	assert_int_equal(spec->pad, UDC_PAD_NONE);
	udc_spec_free(spec);
}

static void
test_defaults(void **state)
{
	struct udc_spec *spec = parse_ok("[spec]\nname=d\nkeys=bsn\n[gemeente]\na=x\n[cbs]\nb=y\n");

	(void)state;
	assert_int_equal(spec->mode, UDC_MODE_EXACT);
	assert_int_equal(spec->min_cell, 10);
	assert_int_equal(spec->pad, UDC_PAD_MAX);
	assert_string_equal(spec->canonical, "udclink-spec 1\nname=d\nmode=exact\nkey=bsn\n"
	                                     "gemeente.a=x\ncbs.b=y\nmin_cell=10\n"
	                                     "pad_categories=max\n");
	udc_spec_free(spec);
}

/* Layout that means the same thing must give the same hash. */
static void
test_layout_keeps_hash(void **state)
{
	static const char *const same[] = {
	    /* comments, blank lines, spacing, CRLF */
	    "; round spec\r\n"
	    "# owner: team\r\n"
	    "[spec]\r\n"
	    "  name=test-1   ; inline comment\r\n"
	    "\r\n"
	    "mode   =   exact\r\n"
	    "keys=bsn ,surname + birth_date + postcode\r\n"
	    "[gemeente]\r\n"
	    "wijk=WK01,WK02\r\n"
	    "age_band=0-3,4-11,12-17\r\n"
	    "[cbs]\r\n"
	    "income_band =laag,  hoog\r\n"
	    "[disclosure]\r\n"
	    "min_cell = 5\r\n"
	    "pad_categories = none",
	    /* sections in another order; lists broken over lines */
	    "[disclosure]\n"
	    "pad_categories = none\n"
	    "min_cell = 5\n"
	    "[cbs]\n"
	    "income_band = laag,\n"
	    "    hoog\n"
	    "[gemeente]\n"
	    "wijk = WK01\n"
	    "\tWK02\n"
	    "age_band = 0-3, 4-11,\n"
	    "  ; a comment between continuation lines\n"
	    "  12-17\n"
	    "[spec]\n"
	    "keys = bsn,\n"
	    "       surname+birth_date+postcode\n"
	    "mode = exact\n"
	    "name = test-1\n",
	    /* a UTF-8 byte order mark */
	    "\xef\xbb\xbf[spec]\nname = test-1\nkeys = bsn, surname+birth_date+postcode\n"
	    "[gemeente]\nwijk = WK01, WK02\nage_band = 0-3, 4-11, 12-17\n"
	    "[cbs]\nincome_band = laag, hoog\n"
	    "[disclosure]\nmin_cell = 5\npad_categories = none\n",
	};
	char hex[65];

	(void)state;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		hash_of(same[i], hex);
		if (strcmp(hex, small_hash) != 0)
			fail_msg("variant %zu: hash %s", i, hex);
	}
}

/* Replaces the first occurrence of from in small by to. */
static char *
small_with(const char *from, const char *to)
{
	const char *p = strstr(small, from);
	char *s;

	assert_non_null(p);
	s = malloc(sizeof(small) + strlen(to));
	assert_non_null(s);
	memcpy(s, small, (size_t)(p - small));
	strcpy(s + (p - small), to);
	strcat(s, p + strlen(from));
	return s;
}

/* Anything that changes the meaning must change the hash. */
static void
test_meaning_changes_hash(void **state)
{
	static const char *const edits[][2] = {
	    {"WK02", "WK03"},             /* a value */
	    {"WK01, WK02", "WK02, WK01"}, /* value order */
	    {"bsn, surname+birth_date+postcode",
	     "surname+birth_date+postcode, bsn"},                           /* key order */
	    {"surname+birth_date+postcode", "birth_date+surname+postcode"}, /* field order */
	    {"min_cell = 5", "min_cell = 6"},
	    {"min_cell = 5", "min_cell = 05000"},
	    {"pad_categories = none", "pad_categories = max"},
	    {"name = test-1", "name = test-2"},
	    {"wijk = WK01, WK02\nage_band = 0-3, 4-11, 12-17",
	     "age_band = 0-3, 4-11, 12-17\nwijk = WK01, WK02"}, /* dimension order */
	    {"income_band", "inkomen"},                         /* dimension name */
	};
	char hex[65];

	(void)state;
	for (size_t i = 0; i < sizeof(edits) / sizeof(edits[0]); i++) {
		char *t = small_with(edits[i][0], edits[i][1]);
		hash_of(t, hex);
		free(t);
		if (strcmp(hex, small_hash) == 0)
			fail_msg("edit %zu kept the hash", i);
	}
	/* moving a dimension to the other side */
	hash_of(
	    "[spec]\nname=test-1\nkeys=bsn, surname+birth_date+postcode\n"
	    "[gemeente]\nwijk=WK01,WK02\n[cbs]\nage_band=0-3,4-11,12-17\nincome_band=laag,hoog\n"
	    "[disclosure]\nmin_cell=5\npad_categories=none\n",
	    hex);
	assert_string_not_equal(hex, small_hash);
}

static void
test_utf8_values(void **state)
{
	struct udc_spec *spec = parse_ok("[spec]\nname=stad \xe2\x80\x93 2026\nkeys=bsn\n"
	                                 "[gemeente]\nstadsdeel='s-Gravenhage, Scheveningen, "
	                                 "Loosduinen \xc3\xa9\n[cbs]\nb=y\n");

	(void)state;
	assert_string_equal(spec->dims[0][0].values[0], "'s-Gravenhage");
	assert_string_equal(spec->dims[0][0].values[2], "Loosduinen \xc3\xa9");
	assert_non_null(strstr(spec->canonical, "name=stad \xe2\x80\x93 2026\n"));
	udc_spec_free(spec);
}

#define HEAD "[spec]\nname=x\nkeys=bsn\n"     /* lines 1-3 */
#define SIDES "[gemeente]\na=1\n[cbs]\nb=2\n" /* 4 lines */

static void
test_line_errors(void **state)
{
	(void)state;
	expect_err(HEAD "colour=red\n" SIDES, "t.spec:4: unknown key 'colour' in [spec]");
	expect_err(HEAD SIDES "[extra]\nx=1\n", "t.spec:8: unknown section [extra]");
	expect_err(HEAD SIDES "[disclosure]\nmin_cell=3\nmax_cell=4\n",
	           "t.spec:10: unknown key 'max_cell' in [disclosure]");
	expect_err("name=x\n", "t.spec:1: key 'name' is outside any [section]");
	expect_err("[spec]\nname=x\nkeys=bsn, surname+birthdate\n" SIDES,
	           "t.spec:3: unknown field 'birthdate' in match key");
	expect_err("[spec]\nname=x\nkeys=bsn+\n" SIDES, "t.spec:3: empty field name in match key");
	expect_err("[spec]\nname=x\nkeys=bsn,,surname\n" SIDES,
	           "t.spec:3: empty match key in list");
	expect_err("[spec]\nname=x\nkeys=\n" SIDES, "t.spec:3: keys names no match key");
	expect_err("[spec]\nname=x\nkeys=surname+birth_date+surname\n" SIDES,
	           "t.spec:3: field 'surname' appears twice in one match key");
	expect_err("[spec]\nname=x\nkeys=bsn,\n  surname+sex,\n  sex+surname\n" SIDES,
	           "t.spec:5: match key repeats key 2 (surname+sex)");
	expect_err("[spec]\nname=x\nkeys=bsn,sex,surname,postcode,birth_date,given_names,"
	           "house_number,surname_prefix,bsn+sex\n" SIDES,
	           "t.spec:3: more than 8 match keys");
	expect_err(HEAD "[gemeente]\nwijk=a,b\nleeftijd=1,2\n\n  3, 2\n",
	           "t.spec:8: duplicate value '2' in leeftijd");
	expect_err(HEAD "[gemeente]\nwijk=a,,b\n", "t.spec:5: empty value in list");
	expect_err(HEAD "[gemeente]\nwijk=\n", "t.spec:5: dimension 'wijk' has no values");
	expect_err(HEAD "[gemeente]\nWijk=a\n", "t.spec:5: dimension name 'Wijk' must be");
	expect_err(HEAD "[gemeente]\nwijk-code=a\n", "t.spec:5: dimension name 'wijk-code' must");
	expect_err(HEAD "[gemeente]\nwijk=a\n[cbs]\nwijk=b\n",
	           "t.spec:7: dimension 'wijk' is already defined in [gemeente] on line 5");
	expect_err(HEAD "[gemeente]\nwijk=a\nwijk=b\n",
	           "t.spec:6: dimension 'wijk' is already defined in [gemeente] on line 5");
	expect_err(HEAD "[gemeente]\nd1=a\nd2=a\nd3=a\nd4=a\nd5=a\nd6=a\nd7=a\nd8=a\nd9=a\n",
	           "t.spec:13: more than 8 dimensions in [gemeente]");
	expect_err(HEAD "[gemeente]\nwijk=a\xff\n", "t.spec:5: value in wijk is not UTF-8");
	expect_err(HEAD "[gemeente]\nwijk=a\xc0\xaf\n", "t.spec:5: value in wijk is not UTF-8");
	expect_err(HEAD "[gemeente]\nwijk=a\x01z\n", "t.spec:5: value in wijk is not UTF-8");
	expect_err(HEAD SIDES "[disclosure]\nmin_cell=ten\n",
	           "t.spec:9: min_cell: 'ten' is not a number");
	expect_err(HEAD SIDES "[disclosure]\nmin_cell=-1\n",
	           "t.spec:9: min_cell: '-1' is not a number");
	expect_err(HEAD SIDES "[disclosure]\nmin_cell=1000001\n",
	           "t.spec:9: min_cell: 1000001 is out of range (0..1000000)");
	expect_err(HEAD SIDES "[disclosure]\nmin_cell=99999999999999999999999\n",
	           "t.spec:9: min_cell: 99999999999999999999999 is out of range");
	expect_err(HEAD SIDES "[disclosure]\npad_categories=some\n",
	           "t.spec:9: pad_categories must be max or none, not 'some'");
	expect_err("[spec]\nname=x\nmode=approximate\n", "t.spec:3: unknown mode 'approximate'");
	expect_err("[spec]\nname=x\nname=y\n",
	           "t.spec:3: duplicate key 'name' in [spec] (first on line 2)");
	expect_err(HEAD SIDES "[disclosure]\nmin_cell=1\n[disclosure]\nmin_cell=2\n",
	           "t.spec:11: duplicate key 'min_cell' in [disclosure] (first on line 9)");
	expect_err(HEAD "[gemeente]\nwijk=a\n  [cbs]\nb=1\n",
	           "t.spec:6: indented line would continue the value of 'wijk'; write a [section]");
	expect_err("[spec]\nname=x\n  y\n",
	           "t.spec:3: indented line would continue the value of 'name'");
	expect_err("[spec]\nname=x\nthis line has no equals sign\nkeys=bsn\n",
	           "t.spec:3: syntax error");
	expect_err("[spec\nname=x\n", "t.spec:1: syntax error");
	expect_err("[spec]\nname=\n", "t.spec:2: name must be");
	expect_err("[spec]\nname=a\x7f\n", "t.spec:2: name must be");
}

static void
test_long_lines(void **state)
{
	char text[4096], *p;
	struct udc_spec *spec;
	int i;

	(void)state;
	/* one long line is refused with its line number ... */
	p = text + sprintf(text, HEAD "[gemeente]\nwijk = ");
	for (i = 0; i < 40; i++)
		p += sprintf(p, "%sWK05180%d", i ? ", " : "", 10 + i);
	strcpy(p, "\n[cbs]\nb=y\n");
	expect_err(text, "t.spec:5: line longer than");

	/* ... and the same list over continuation lines is fine */
	p = text + sprintf(text, HEAD "[gemeente]\nwijk = ");
	for (i = 0; i < 40; i++)
		p += sprintf(p, "%sWK05180%d", i == 0 ? "" : i % 10 ? ", " : ",\n  ", 10 + i);
	strcpy(p, "\n[cbs]\nb=y\n");
	spec = parse_ok(text);
	assert_int_equal(spec->dims[0][0].nvalues, 40);
	assert_string_equal(spec->dims[0][0].values[39], "WK0518049");
	udc_spec_free(spec);
}

static void
test_value_limits(void **state)
{
	size_t cap = 200000, n;
	char *text = malloc(cap);
	struct udc_spec *spec;

	(void)state;
	assert_non_null(text);
	/* 1024 values per dimension, ten to a continuation line */
	n = (size_t)sprintf(text, HEAD "[gemeente]\nwijk = v0");
	for (int i = 1; i < 1024; i++)
		n += (size_t)sprintf(text + n, "%sv%d", i % 10 ? "," : "\n ", i);
	strcpy(text + n, "\n[cbs]\nb=y\n");
	spec = parse_ok(text);
	assert_int_equal(spec->dims[0][0].nvalues, 1024);
	assert_int_equal(spec->ncells[0], 1024);
	udc_spec_free(spec);
	/* the 1025th is on line 5 + 1024 / 10 */
	sprintf(text + n, ",v1024\n[cbs]\nb=y\n");
	expect_err(text, "t.spec:107: wijk has more than 1024 values");

	/* 64 x 1024 = 65536 groups: one too many for a uint16 label */
	n = (size_t)sprintf(text, HEAD "[gemeente]\na = 0");
	for (int i = 1; i < 64; i++)
		n += (size_t)sprintf(text + n, ",%d", i);
	n += (size_t)sprintf(text + n, "\nb = v0");
	for (int i = 1; i < 1024; i++)
		n += (size_t)sprintf(text + n, "%sv%d", i % 10 ? "," : "\n ", i);
	strcpy(text + n, "\n[cbs]\nc=y\n");
	expect_err(text, "t.spec: the dimensions of [gemeente] give more than 65535 combinations");
	/* 63 x 1024 = 64512 groups is allowed; with 63 categories the table
	 * has 4064256 cells, more than 4000000 */
	n = (size_t)sprintf(text, HEAD "[gemeente]\na = 0");
	for (int i = 1; i < 63; i++)
		n += (size_t)sprintf(text + n, ",%d", i);
	n += (size_t)sprintf(text + n, "\nb = v0");
	for (int i = 1; i < 1024; i++)
		n += (size_t)sprintf(text + n, "%sv%d", i % 10 ? "," : "\n ", i);
	n += (size_t)sprintf(text + n, "\n[cbs]\nc = 0");
	for (int i = 1; i < 62; i++)
		n += (size_t)sprintf(text + n, ",%d", i);
	strcpy(text + n, "\n");
	spec = parse_ok(text); /* 64512 x 62 = 3999744 */
	assert_int_equal(spec->ncells[0], 64512);
	assert_int_equal(spec->ncells[1], 62);
	udc_spec_free(spec);
	strcpy(text + n, ",62\n");
	expect_err(text, "t.spec: 64512 groups x 63 categories is more than 4000000 cells");
	free(text);
}

static void
test_whole_spec_errors(void **state)
{
	(void)state;
	expect_err("[spec]\nkeys=bsn\n" SIDES, "t.spec: [spec] name is missing");
	expect_err("[spec]\nname=x\n" SIDES, "t.spec: [spec] keys is missing");
	expect_err(HEAD "[cbs]\nb=2\n", "t.spec: [gemeente] defines no dimension");
	expect_err(HEAD "[gemeente]\na=1\n", "t.spec: [cbs] defines no dimension");
	expect_err("", "t.spec: [spec] name is missing");
}

static void
test_nul_byte(void **state)
{
	static const char text[] = HEAD SIDES "[disclosure]\nmin_cell=1\0 0\n";
	struct udc_spec *spec = NULL;
	char err[256];

	(void)state;
	assert_int_equal(udc_spec_parse(text, sizeof(text) - 1, "t.spec", &spec, err, sizeof(err)),
	                 UDC_EPARSE);
	assert_null(spec);
	assert_string_equal(err, "t.spec:9: NUL byte in line");
}

static void
test_cell_index(void **state)
{
	struct udc_spec *spec = parse_ok("[spec]\nname=c\nkeys=bsn\n"
	                                 "[gemeente]\na=a0,a1\nb=b0,b1,b2\nc=c0,c1,c2,c3,c4\n"
	                                 "[cbs]\nd=d0,d1,d2,d3\n");
	size_t idx[UDC_MAX_DIMS], back[UDC_MAX_DIMS];

	(void)state;
	assert_int_equal(spec->ncells[0], 30);
	assert_int_equal(spec->ncells[1], 4);
	/* first dimension slowest: (1, 2, 3) -> 1*15 + 2*5 + 3 */
	idx[0] = 1;
	idx[1] = 2;
	idx[2] = 3;
	assert_int_equal(udc_spec_cell_index(spec, UDC_SIDE_GEMEENTE, idx), 28);
	for (size_t cell = 0; cell < spec->ncells[0]; cell++) {
		udc_spec_cell_split(spec, UDC_SIDE_GEMEENTE, cell, back);
		for (size_t i = 0; i < spec->ndims[0]; i++)
			assert_true(back[i] < spec->dims[0][i].nvalues);
		assert_int_equal(udc_spec_cell_index(spec, UDC_SIDE_GEMEENTE, back), cell);
	}
	udc_spec_cell_split(spec, UDC_SIDE_CBS, 3, back);
	assert_int_equal(back[0], 3);
	assert_int_equal(udc_dim_lookup(&spec->dims[0][2], "c4"), 4);
	assert_int_equal(udc_dim_lookup(&spec->dims[0][2], "c5"), -1);
	udc_spec_free(spec);
}

static void
test_load(void **state)
{
	char dir[] = "/tmp/test_spec.XXXXXX", path[256], big[300], err[512];
	struct udc_spec *spec = NULL;
	char hex[65];
	FILE *fp;

	(void)state;
	assert_non_null(mkdtemp(dir));
	snprintf(path, sizeof(path), "%s/round.spec", dir);
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(small, fp);
	fclose(fp);
	assert_int_equal(udc_spec_load(path, &spec, err, sizeof(err)), 0);
	udc_spec_hash_hex(spec, hex);
	assert_string_equal(hex, small_hash);
	udc_spec_free(spec);
	spec = NULL;

	/* errors name the file */
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs("[spec]\nname=x\nkeys=bsn,bogus\n", fp);
	fclose(fp);
	assert_int_equal(udc_spec_load(path, &spec, err, sizeof(err)), UDC_EPARSE);
	snprintf(big, sizeof(big), "%s:3: unknown field 'bogus'", path);
	assert_memory_equal(err, big, strlen(big));

	/* over 1 MiB is refused before parsing */
	fp = fopen(path, "w");
	assert_non_null(fp);
	fputs(small, fp);
	for (int i = 0; i < 1024 * 1024 / 16; i++)
		fputs("; padding .....\n", fp);
	fclose(fp);
	assert_int_equal(udc_spec_load(path, &spec, err, sizeof(err)), UDC_EPARSE);
	assert_null(spec);
	assert_non_null(strstr(err, "larger than 1048576 bytes"));
	unlink(path);

	assert_int_equal(udc_spec_load(path, &spec, err, sizeof(err)), UDC_EIO);
	assert_null(spec);
	snprintf(big, sizeof(big), "%s: No such file or directory", path);
	assert_string_equal(err, big);
	rmdir(dir);
}

/* Fuzzy and combined modes: the schema's contents are part of the hash. */
static void
test_fuzzy_spec(void **state)
{
	static const char fz[] = "[spec]\nname=f\nmode=fuzzy\n[gemeente]\nw=a,b\n[cbs]\nc=x\n"
	                         "[fuzzy]\nschema=s.json\nthreshold=0.9\n";
	static const char schema1[] =
	    "{\"version\":3,\"clkConfig\":{\"l\":1024,\"kdf\":{\"type\":\"HKDF\",\"hash\":\"SHA256\","
	    "\"keySize\":64},\"xor_folds\":0},\"features\":[{\"identifier\":\"surname\","
	    "\"format\":{\"type\":\"string\",\"encoding\":\"utf-8\"},\"hashing\":{\"comparison\":"
	    "{\"type\":\"ngram\",\"n\":2},\"strategy\":{\"bitsPerFeature\":200},\"hash\":{\"type\":"
	    "\"doubleHash\"}}}]}";
	struct udc_spec *a = NULL, *b = NULL;
	char err[256], schema2[sizeof(schema1)];
	uint8_t h0[32];
	(void)state;

	assert_int_equal(udc_spec_parse(fz, strlen(fz), "t.spec", &a, err, sizeof(err)), 0);
	assert_int_equal(a->mode, UDC_MODE_FUZZY);
	assert_int_equal(a->threshold, 900);
	assert_int_equal(a->nkeys, 0);
	assert_non_null(strstr(a->canonical, "fuzzy.schema_sha256=unattached\n"));
	memcpy(h0, a->hash, 32);
	assert_int_equal(udc_spec_attach_schema(a, schema1, strlen(schema1), err, sizeof(err)), 0);
	assert_memory_not_equal(h0, a->hash, 32);
	assert_non_null(strstr(a->canonical, "fuzzy.threshold=0.900\nfuzzy.balance=no\n"));
	/* One byte of the schema changed: another hash. */
	memcpy(schema2, schema1, sizeof(schema1));
	*strstr(schema2, "200") = '3';
	assert_int_equal(udc_spec_parse(fz, strlen(fz), "t.spec", &b, err, sizeof(err)), 0);
	assert_int_equal(udc_spec_attach_schema(b, schema2, strlen(schema2), err, sizeof(err)), 0);
	assert_memory_not_equal(a->hash, b->hash, 32);
	/* A schema the encoder cannot honour is refused with its field. */
	assert_int_not_equal(udc_spec_attach_schema(b, "{\"version\":3}", 13, err, sizeof(err)), 0);
	udc_spec_free(a);
	udc_spec_free(b);

	expect_err("[spec]\nname=f\nmode=fuzzy\n[gemeente]\nw=a\n[cbs]\nc=x\n",
	           "t.spec: mode fuzzy needs [fuzzy] schema");
	expect_err("[spec]\nname=f\nmode=fuzzy\nkeys=bsn\n[gemeente]\nw=a\n[cbs]\nc=x\n"
	           "[fuzzy]\nschema=s.json\n",
	           "t.spec: mode fuzzy uses no exact keys");
	expect_err("[spec]\nname=f\nkeys=bsn\n[gemeente]\nw=a\n[cbs]\nc=x\n[fuzzy]\nthreshold=0.8\n",
	           "t.spec: [fuzzy] settings need mode fuzzy or combined");
	expect_err("[spec]\nname=f\nmode=combined\nkeys=bsn\n[fuzzy]\nthreshold=1.5\n",
	           "t.spec:6: threshold must be a decimal from 0.5 to 1.0");
	expect_err("[spec]\nname=f\nmode=combined\nkeys=bsn\n[fuzzy]\nthreshold=0.85x\n",
	           "t.spec:6: threshold must be");
	expect_err("[spec]\nname=f\nmode=combined\nkeys=bsn\n[fuzzy]\nbalance=maybe\n",
	           "t.spec:6: balance must be yes or no");
}

/* Scoring: record by default (no line in the canonical form, so older specs
 * keep their hash), fields on request; the default threshold follows the
 * scoring; field scoring refuses balancing and an l that is not a multiple
 * of 64. */
static void
test_fuzzy_scoring(void **state)
{
	static const char base[] = "[spec]\nname=f\nmode=fuzzy\n[gemeente]\nw=a,b\n[cbs]\nc=x\n"
	                           "[fuzzy]\nschema=s.json\n";
	static const char schema[] =
	    "{\"version\":3,\"clkConfig\":{\"l\":%d,\"kdf\":{\"type\":\"HKDF\"}},\"features\":"
	    "[{\"identifier\":\"surname\",\"format\":{\"type\":\"string\"},\"hashing\":{"
	    "\"comparison\":{\"type\":\"ngram\",\"n\":2},\"strategy\":{\"bitsPerToken\":20},"
	    "\"hash\":{\"type\":\"doubleHash\"}}}]}";
	struct udc_spec *r = NULL, *f = NULL, *f8 = NULL;
	char text[512], js[512], err[256];
	(void)state;

	assert_int_equal(udc_spec_parse(base, strlen(base), "t.spec", &r, err, sizeof(err)), 0);
	assert_int_equal(r->scoring, UDC_SCORING_RECORD);
	assert_int_equal(r->threshold, 850);
	assert_null(strstr(r->canonical, "scoring"));
	snprintf(text, sizeof(text), "%sscoring = fields\n", base);
	assert_int_equal(udc_spec_parse(text, strlen(text), "t.spec", &f, err, sizeof(err)), 0);
	assert_int_equal(f->scoring, UDC_SCORING_FIELDS);
	assert_int_equal(f->threshold, 700);
	assert_non_null(strstr(f->canonical, "fuzzy.threshold=0.700\nfuzzy.balance=no\n"
	                                     "fuzzy.scoring=fields\n"));
	assert_memory_not_equal(r->hash, f->hash, 32);
	snprintf(text, sizeof(text), "%sscoring = fields\nthreshold = 0.8\n", base);
	assert_int_equal(udc_spec_parse(text, strlen(text), "t.spec", &f8, err, sizeof(err)), 0);
	assert_int_equal(f8->threshold, 800);
	/* a schema whose l is no multiple of 64: record scoring takes it,
	 * field scoring refuses it */
	snprintf(js, sizeof(js), schema, 1000);
	assert_int_equal(udc_spec_attach_schema(r, js, strlen(js), err, sizeof(err)), 0);
	assert_int_equal(udc_spec_attach_schema(f, js, strlen(js), err, sizeof(err)), UDC_EINVAL);
	assert_non_null(strstr(err, "s.json: scoring = fields needs l (after xor folding) to be a "
	                            "multiple of 64, not 1000"));
	snprintf(js, sizeof(js), schema, 256);
	assert_int_equal(udc_spec_attach_schema(f, js, strlen(js), err, sizeof(err)), 0);
	/* more bits per record than the matcher takes */
	snprintf(js, sizeof(js), schema, 65600);
	assert_int_equal(udc_spec_attach_schema(f, js, strlen(js), err, sizeof(err)), UDC_EINVAL);
	assert_non_null(strstr(err, "an encoding of 65600 bits per record (l x features, field "
	                            "scoring) is more than the 65535 the matcher compares"));
	udc_spec_free(r);
	udc_spec_free(f);
	udc_spec_free(f8);

	snprintf(text, sizeof(text), "%sscoring = best\n", base);
	expect_err(text, "t.spec:10: scoring must be record or fields, not 'best'");
	snprintf(text, sizeof(text), "%sbalance = yes\nscoring = fields\n", base);
	expect_err(text, "t.spec:10: [fuzzy] balance = yes cannot be used with scoring = fields");
	expect_err("[spec]\nname=f\nkeys=bsn\n[gemeente]\nw=a\n[cbs]\nc=x\n[fuzzy]\nscoring=fields\n",
	           "t.spec: [fuzzy] settings need mode fuzzy or combined");
}

/*
 * [fields]: declared fields are written into the canonical form (sorted by
 * name, only where they differ from a built-in declaration), keys may use
 * them whichever section comes first, and a CLK schema may encode them.
 */
static void
test_declared_fields(void **state)
{
	static const char base[] = "[spec]\nname=d\nmode=combined\n"
	                           "keys=bsn, surname+straat+birth_date\n"
	                           "[gemeente]\nw=a\n[cbs]\nc=x\n[fuzzy]\nschema=s.json\n"
	                           "[fields]\nstraat = text\n"
	                           "geboorteplaats = name diacritics=keep case=fold\n"
	                           "postcode = postcode form=any\n"
	                           "birth_date = date\n";
	static const char reordered[] = "[fields]\nbirth_date = date\npostcode = postcode form=any\n"
	                                "geboorteplaats = name diacritics=keep\n"
	                                "straat = text   \n"
	                                "[spec]\nname=d\nmode=combined\n"
	                                "keys=bsn, surname+straat+birth_date\n"
	                                "[fuzzy]\nschema=s.json\n[gemeente]\nw=a\n[cbs]\nc=x\n";
	static const char schema[] =
	    "{\"version\":3,\"clkConfig\":{\"l\":1024,\"kdf\":{\"type\":\"HKDF\"}},\"features\":"
	    "[{\"identifier\":\"%s\",\"format\":{\"type\":\"string\"},\"hashing\":{"
	    "\"comparison\":{\"type\":\"ngram\",\"n\":2},\"strategy\":{\"bitsPerToken\":20},"
	    "\"hash\":{\"type\":\"doubleHash\"}}}]}";
	struct udc_spec *a, *b;
	char js[512], err[512];
	int f;

	(void)state;
	a = parse_ok(base);
	b = parse_ok(reordered);
	/* the built-ins keep their places; new fields follow */
	assert_int_equal(a->fields.n, UDC_NFIELDS + 2);
	assert_int_equal(udc_fieldset_find(&a->fields, "bsn"), UDC_F_BSN);
	f = udc_fieldset_find(&a->fields, "straat");
	assert_true(f >= UDC_NFIELDS);
	assert_int_equal(a->fields.f[f].type, UDC_FT_TEXT);
	assert_int_equal(a->keys[1].fields[1], f);
	assert_string_equal(a->keys[1].name, "surname+straat+birth_date");
	assert_true(a->fields.f[UDC_F_POSTCODE].opts & UDC_FO_ANY_FORM);
	/* sorted by name; birth_date as declared is the built-in: no line */
	assert_non_null(strstr(a->canonical, "mode=combined\n"
	                                     "field.geboorteplaats=name diacritics=keep\n"
	                                     "field.postcode=postcode form=any\n"
	                                     "field.straat=text\n"
	                                     "key=bsn\n"));
	assert_null(strstr(a->canonical, "field.birth_date"));
	/* layout, order and default options do not change the hash */
	assert_string_equal(a->canonical, b->canonical);
	assert_memory_equal(a->hash, b->hash, 32);
	/* the schema may encode a declared field; not an unknown one */
	snprintf(js, sizeof(js), schema, "straat");
	assert_int_equal(udc_spec_attach_schema(a, js, strlen(js), err, sizeof(err)), 0);
	assert_int_equal(a->schema_fields, 1u << f);
	snprintf(js, sizeof(js), schema, "street");
	assert_int_equal(udc_spec_attach_schema(b, js, strlen(js), err, sizeof(err)), UDC_EINVAL);
	assert_non_null(strstr(err, "s.json: feature 'street' is not a field of the spec"));
	udc_spec_free(a);
	udc_spec_free(b);

	expect_err("[spec]\nname=d\nkeys=bsn+straat\n[gemeente]\nw=a\n[cbs]\nc=x\n",
	           "t.spec:3: unknown field 'straat' in match key (known: bsn, given_names,");
	expect_err("[spec]\nname=d\nkeys=bsn\n[fields]\nstraat = street\n",
	           "t.spec:5: field straat: unknown type 'street'");
	expect_err("[spec]\nname=d\nkeys=bsn\n[fields]\nstraat = text form=any\n",
	           "t.spec:5: type text has no option 'form'");
	expect_err("[spec]\nname=d\nkeys=bsn\n[fields]\nstraat = text\nstraat = name\n",
	           "t.spec:6: duplicate key 'straat' in [fields] (first on line 5)");
	expect_err("[spec]\nname=d\nkeys=bsn\n[fields]\nStraat = text\n",
	           "t.spec:5: field name 'Straat' must start with a-z");
	expect_err("[spec]\nname=d\nkeys=bsn\n[fields]\nd = date years=2000-1990\n",
	           "t.spec:5: years must be FROM-TO");
	expect_err("[spec]\nname=d\nkeys=bsn\n[fields]\nn = number min=5 max=1\n",
	           "t.spec:5: field n: min is larger than max");
	expect_err("[spec]\nname=d\nkeys=bsn\n[fields]\nn = name prefix=split case=keep\n",
	           "t.spec:5: field n: prefix=split works on the default name");
}

/* threshold = auto: a line of its own in the canonical form with the
 * target (default 0.99); a target without auto is refused. */
static void
test_threshold_auto(void **state)
{
	static const char base[] = "[spec]\nname=f\nmode=fuzzy\n[gemeente]\nw=a\n[cbs]\nc=x\n"
	                           "[fuzzy]\nschema=s.json\n";
	struct udc_spec *a, *b, *n;
	char text[512];

	(void)state;
	snprintf(text, sizeof(text), "%sthreshold = auto\n", base);
	a = parse_ok(text);
	assert_true(a->threshold_auto);
	assert_int_equal(a->target_precision, 990);
	assert_non_null(strstr(a->canonical, "fuzzy.threshold=auto\nfuzzy.target_precision=0.990\n"
	                                     "fuzzy.balance=no\n"));
	snprintf(text, sizeof(text), "%sthreshold = auto\ntarget_precision = 0.99\n", base);
	b = parse_ok(text);
	assert_memory_equal(a->hash, b->hash, 32);
	udc_spec_free(b);
	snprintf(text, sizeof(text), "%sthreshold = auto\ntarget_precision = 0.95\n", base);
	b = parse_ok(text);
	assert_int_equal(b->target_precision, 950);
	assert_memory_not_equal(a->hash, b->hash, 32);
	n = parse_ok(base);
	assert_false(n->threshold_auto);
	assert_null(strstr(n->canonical, "target_precision"));
	assert_memory_not_equal(a->hash, n->hash, 32);
	udc_spec_free(a);
	udc_spec_free(b);
	udc_spec_free(n);
	snprintf(text, sizeof(text), "%starget_precision = 0.9\n", base);
	expect_err(text, "t.spec:10: [fuzzy] target_precision needs threshold = auto");
	snprintf(text, sizeof(text), "%sthreshold = auto\ntarget_precision = 1.0\n", base);
	expect_err(text, "t.spec:11: target_precision must be a decimal from 0.5 to 0.999");
	snprintf(text, sizeof(text), "%sthreshold = automatic\n", base);
	expect_err(text, "t.spec:10: threshold must be a decimal");
}

/* Rounding and noise: parsed exactly, in the canonical form only when used. */
static void
test_disclosure_keys(void **state)
{
	static const char base[] = "[spec]\nname=d\nkeys=bsn\n[gemeente]\nw=a\n[cbs]\nc=x\n"
	                           "[disclosure]\n";
	char text[512], err[256];
	struct udc_spec *a = NULL, *b = NULL;
	(void)state;

	snprintf(text, sizeof(text), "%sround_base = 5\nnoise_epsilon = 0.25\nnoise_budget = 3/2\n", base);
	assert_int_equal(udc_spec_parse(text, strlen(text), "t.spec", &a, err, sizeof(err)), 0);
	assert_int_equal(a->round_base, 5);
	assert_int_equal(a->eps_num, 1);
	assert_int_equal(a->eps_den, 4);
	assert_int_equal(a->budget_num, 3);
	assert_int_equal(a->budget_den, 2);
	assert_non_null(strstr(a->canonical, "round_base=5\nnoise_epsilon=1/4\nnoise_budget=3/2\n"));
	snprintf(text, sizeof(text), "%s", base);
	assert_int_equal(udc_spec_parse(text, strlen(text), "t.spec", &b, err, sizeof(err)), 0);
	assert_null(strstr(b->canonical, "round_base"));
	assert_null(strstr(b->canonical, "noise"));
	assert_memory_not_equal(a->hash, b->hash, 32);
	udc_spec_free(a);
	udc_spec_free(b);
	snprintf(text, sizeof(text), "%snoise_epsilon = 1/0\n", base);
	expect_err(text, "t.spec:9: noise_epsilon must be a fraction");
	snprintf(text, sizeof(text), "%sround_base = -5\n", base);
	expect_err(text, "t.spec:9: round_base must be a whole number");
	snprintf(text, sizeof(text), "%snoise_budget = 0\n", base);
	expect_err(text, "t.spec:9: noise_budget must be more than 0");
}

/* Linked tables: the spec of test_tables_canonical, and its canonical text
 * written out by hand.  Sections in a scrambled order on purpose. */
static const char tables_spec[] = "[table wijk_inc]\n"
                                  "dims = wijk\n"
                                  "sum = inkomen\n"
                                  "mean = yes\n"
                                  "[spec]\n"
                                  "name = t-2\n"
                                  "keys = bsn\n"
                                  "[recode laag]\n"
                                  "from = income\n"
                                  "ja = b, a\n"
                                  "nee = c\n"
                                  "[gemeente]\n"
                                  "wijk = W1, W2, W3\n"
                                  "pas = ja, nee\n"
                                  "[cbs]\n"
                                  "income = a, b, c\n"
                                  "[attributes]\n"
                                  "inkomen = cbs\n"
                                  "[table reach]\n"
                                  "population = cbs_only\n"
                                  "dims = income\n"
                                  "zeros = sensitive\n"
                                  "[table pas_elig]\n"
                                  "population = linked\n"
                                  "dims = wijk,\n"
                                  "   pas\n"
                                  "where.laag = ja\n"
                                  "[disclosure]\n"
                                  "protection = 3\n"
                                  "p_percent = 15\n";

static const char tables_canonical[] = "udclink-spec 2\n"
                                       "name=t-2\n"
                                       "mode=exact\n"
                                       "key=bsn\n"
                                       "gemeente.wijk=W1,W2,W3\n"
                                       "gemeente.pas=ja,nee\n"
                                       "cbs.income=a,b,c\n"
                                       "attribute.inkomen=cbs\n"
                                       "attribute.inkomen.groups=4\n"
                                       "recode.laag=cbs.income\n"
                                       "recode.laag.ja=a,b\n"
                                       "recode.laag.nee=c\n"
                                       "table.pas_elig.population=linked\n"
                                       "table.pas_elig.dims=wijk,pas\n"
                                       "table.pas_elig.where.laag=ja\n"
                                       "table.reach.population=cbs_only\n"
                                       "table.reach.dims=income\n"
                                       "table.reach.zeros=sensitive\n"
                                       "table.wijk_inc.population=linked\n"
                                       "table.wijk_inc.dims=wijk\n"
                                       "table.wijk_inc.sum=inkomen\n"
                                       "table.wijk_inc.mean=yes\n"
                                       "min_cell=10\n"
                                       "pad_categories=max\n"
                                       "protection=3\n"
                                       "min_contributors=3\n"
                                       "p_percent=15\n";
/* printf '<tables_canonical>' | sha256sum */
static const char tables_hash[] =
    "97e6ba596c6e6e5b950db2b25c54cd5d644796d5740607f10cfeb2cb21496a32";

static void
test_tables_canonical(void **state)
{
	struct udc_spec *spec = parse_ok(tables_spec);
	const struct udc_tablespec *t;
	char hex[65];

	(void)state;
	assert_string_equal(spec->canonical, tables_canonical);
	udc_spec_hash_hex(spec, hex);
	assert_string_equal(hex, tables_hash);
	assert_true(udc_spec_has_tables(spec));
	/* the three tables, then the group table generated for wijk_inc */
	assert_int_equal(spec->ntables, 4);
	assert_string_equal(spec->tables[3].name, "wijk_inc_groups");
	assert_int_equal(spec->tables[3].generated_for, 3);
	assert_int_equal(spec->tables[2].gtable, 4);
	assert_int_equal(spec->tables[3].ndims, 2);
	assert_int_equal(spec->tables[3].dims[1].ref.side, UDC_SIDE_CBS);
	assert_int_equal(spec->tables[3].dims[1].ref.index, 1);
	assert_int_equal(spec->tables[3].dims[1].ncats, 4);
	assert_int_equal(spec->tables[3].ncells, 4 * 5);
	/* the hidden group dimension: last on the CBS side, no input column */
	assert_int_equal(spec->ndims[UDC_SIDE_CBS], 2);
	assert_int_equal(spec->nhidden, 1);
	assert_int_equal(udc_spec_input_dims(spec, UDC_SIDE_CBS), 1);
	assert_string_equal(spec->dims[UDC_SIDE_CBS][1].name, "inkomen_group");
	assert_string_equal(spec->dims[UDC_SIDE_CBS][1].values[3], "4");
	assert_int_equal(spec->ncells[UDC_SIDE_CBS], 3 * 4);
	assert_int_equal(spec->attrs[0].groups, 4);
	assert_int_equal(spec->attrs[0].gdim, 1);
	assert_int_equal(udc_spec_grouped_attr(spec), 0);
	/* sorted by name */
	assert_string_equal(spec->tables[0].name, "pas_elig");
	assert_string_equal(spec->tables[1].name, "reach");
	assert_string_equal(spec->tables[2].name, "wijk_inc");
	t = &spec->tables[0];
	assert_int_equal(t->pop, UDC_POP_LINKED);
	assert_int_equal(t->ndims, 2);
	assert_int_equal(t->dims[0].ref.side, UDC_SIDE_GEMEENTE);
	assert_int_equal(t->dims[0].ref.recode, -1);
	assert_int_equal(t->dims[0].ncats, 3);
	assert_int_equal(t->ncells, 4 * 3);
	assert_int_equal(t->nwhere, 1);
	assert_int_equal(t->where[0].dim.side, UDC_SIDE_CBS);
	assert_int_equal(t->where[0].dim.recode, 0);
	assert_true(t->where[0].allowed[0] && !t->where[0].allowed[1]);
	assert_int_equal(spec->recodes[0].map[0], 0);
	assert_int_equal(spec->recodes[0].map[1], 0);
	assert_int_equal(spec->recodes[0].map[2], 1);
	assert_int_equal(spec->tables[1].pop, UDC_POP_CBS_ONLY);
	assert_true(spec->tables[1].zeros_sensitive);
	assert_int_equal(spec->tables[2].sum, 0);
	assert_true(spec->tables[2].mean);
	assert_int_equal(spec->protection, 3);
	assert_int_equal(spec->min_contributors, 3);
	assert_int_equal(spec->p_percent, 15);
	udc_spec_free(spec);
}

/* Replaces the first occurrence of from in base by to. */
static char *
text_with(const char *base, const char *from, const char *to)
{
	const char *p = strstr(base, from);
	char *s;

	if (p == NULL)
		fail_msg("'%s' not in the text", from);
	s = malloc(strlen(base) + strlen(to) + 1);
	assert_non_null(s);
	memcpy(s, base, (size_t)(p - base));
	strcpy(s + (p - base), to);
	strcat(s, p + strlen(from));
	return s;
}

static void
test_tables_hash(void **state)
{
	/* The same meaning written otherwise. */
	static const char *const same[][2] = {
	    {"ja = b, a", "ja = a,\n  b"},
	    {"where.laag = ja", "where.laag = ja ; eligible"},
	    {"[disclosure]\n", "[disclosure]\nmin_contributors = 3\n"},
	    {"population = linked\n", ""},
	    {"inkomen = cbs\n", "inkomen = cbs\ninkomen.groups = 4\n"}, /* the default */
	};
	static const char *const other[][2] = {
	    {"dims = wijk,\n   pas", "dims = pas, wijk"},
	    {"where.laag = ja", "where.laag = nee"},
	    {"where.laag = ja", "where.laag = ja\nwhere.income = a"},
	    {"population = cbs_only", "population = cbs"},
	    {"zeros = sensitive", "zeros = released"},
	    {"mean = yes", "mean = no"},
	    {"protection = 3", "protection = 4"},
	    {"p_percent = 15", "p_percent = 20"},
	    {"ja = b, a", "ja = a"},
	    {"[table reach]", "[table reached]"},
	    {"ja = b, a\nnee = c", "nee = c\nja = b, a"}, /* a recode's value order */
	    {"inkomen = cbs\n", "inkomen = cbs\ninkomen.groups = 3\n"},
	};
	char hex[65];

	(void)state;
	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		char *t = text_with(tables_spec, same[i][0], same[i][1]);

		hash_of(t, hex);
		free(t);
		if (strcmp(hex, tables_hash) != 0)
			fail_msg("variant %zu changed the hash", i);
	}
	for (size_t i = 0; i < sizeof(other) / sizeof(other[0]); i++) {
		char *t = text_with(tables_spec, other[i][0], other[i][1]);

		if (i == 8) {
			/* b moves to nee */
			char *u = text_with(t, "nee = c", "nee = b, c");
			free(t);
			t = u;
		}
		hash_of(t, hex);
		free(t);
		if (strcmp(hex, tables_hash) == 0)
			fail_msg("edit %zu kept the hash", i);
	}
	/* A spec without tables keeps version 1 and its hash (see
	 * test_small_canonical_and_hash); with one table it is version 2. */
	{
		struct udc_spec *spec = parse_ok(
		    "[spec]\nname=d\nkeys=bsn\n[gemeente]\na=x\n[cbs]\nb=y\n[table t]\ndims=a\n");

		assert_string_equal(spec->canonical,
		                    "udclink-spec 2\nname=d\nmode=exact\nkey=bsn\ngemeente.a=x\n"
		                    "cbs.b=y\ntable.t.population=linked\ntable.t.dims=a\n"
		                    "min_cell=10\npad_categories=max\nprotection=1\n");
		udc_spec_free(spec);
	}
}

/* Conditions decide which categories a table shows. */
static void
test_tables_categories(void **state)
{
	struct udc_spec *spec =
	    parse_ok("[spec]\nname=d\nkeys=bsn\n[gemeente]\nw=1,2\n[cbs]\ninc=a,b,c,d\n"
	             "[recode low]\nfrom=inc\nja=a,b\nnee=c,d\n"
	             "[table t1]\ndims=inc, w\nwhere.low=ja\n"
	             "[table t2]\ndims=low\nwhere.inc=a,c\n"
	             "[table t3]\ndims=low\nwhere.inc=a,b\n"
	             "[table t4]\n"
	             "population=gemeente\n");
	const struct udc_tablespec *t;

	(void)state;
	t = &spec->tables[0];
	assert_int_equal(t->dims[0].ncats, 2); /* a, b */
	assert_int_equal(t->dims[0].cats[0], 0);
	assert_int_equal(t->dims[0].cats[1], 1);
	assert_int_equal(t->ncells, 3 * 3);
	t = &spec->tables[1];
	assert_int_equal(t->dims[0].ncats, 2); /* ja (a), nee (c) */
	t = &spec->tables[2];
	assert_int_equal(t->dims[0].ncats, 1); /* ja only */
	assert_int_equal(t->dims[0].cats[0], 0);
	assert_int_equal(t->ncells, 2);
	t = &spec->tables[3];
	assert_int_equal(t->ndims, 0);
	assert_int_equal(t->ncells, 1);
	assert_int_equal(t->pop, UDC_POP_GEMEENTE);
	udc_spec_free(spec);
}

static void
test_tables_errors(void **state)
{
#define TH "[spec]\nname=x\nkeys=bsn\n[gemeente]\nw=1,2\n[cbs]\ninc=a,b\n" /* 7 lines */
	(void)state;
	expect_err(TH "[table t]\ndims=w,nope\n",
	           "t.spec:9: table t: 'nope' names no dimension or recode");
	expect_err(TH "[table t]\ndims=w,w\n", "t.spec:9: table t names w twice");
	expect_err(TH "[table t]\npopulation=gemeente\ndims=inc\n",
	           "t.spec:10: table t: population gemeente has no cbs dimension inc");
	expect_err(TH "[table t]\npopulation=cbs_only\nwhere.w=1\n",
	           "t.spec:10: table t: population cbs_only has no gemeente dimension w");
	expect_err(TH "[table t]\npopulation=everyone\n", "t.spec:9: population must be linked");
	expect_err(TH "[table t]\ndims=w\ncolour=red\n", "t.spec:10: unknown key 'colour' in [table t]");
	expect_err(TH "[table t]\ndims=w\ndims=inc\n",
	           "t.spec:10: duplicate key 'dims' in [table t] (first on line 9)");
	expect_err(TH "[table t]\nwhere.inc=a\nwhere.inc=b\n",
	           "t.spec:10: duplicate key 'where.inc' in [table t]");
	expect_err(TH "[table t]\nwhere.inc=z\n", "t.spec:9: table t: 'z' is not a value of inc");
	expect_err(TH "[table t]\nwhere.inc=a,a\n",
	           "t.spec:9: table t: duplicate value 'a' in where.inc");
	expect_err(TH "[table t]\nwhere.inc=\n", "t.spec:9: where.inc keeps no value");
	expect_err(TH "[recode r]\nfrom=inc\nx=a\ny=b\n[table t]\nwhere.inc=a\nwhere.r=y\n",
	           "t.spec:13: table t: the conditions on inc leave no value");
	expect_err(TH "[table T]\ndims=w\n", "t.spec:9: table name 'T' must be 1 to 32");
	expect_err(TH "[table t]\ndims=w\n[gemeente]\nv=1\n[table t]\ndims=inc\n",
	           "t.spec:13: [table t] appears twice");
	expect_err(TH "[table t]\nsum=inkomen\n",
	           "t.spec:9: table t: sum = inkomen names no attribute");
	expect_err(TH "[attributes]\ninkomen=cbs\n[table t]\npopulation=gemeente\nsum=inkomen\n",
	           "t.spec:12: table t: population gemeente has no CBS record to sum inkomen");
	expect_err(TH "[table t]\nmean=yes\n", "t.spec:9: table t: mean = yes needs sum");
	expect_err(TH "[table t]\nmean=maybe\n", "t.spec:9: mean must be yes or no");
	expect_err(TH "[table t]\nzeros=hidden\n", "t.spec:9: zeros must be sensitive or released");
	expect_err(TH "[attributes]\ninkomen=gemeente\n",
	           "t.spec:9: attribute inkomen: only a numeric column of the CBS input");
	expect_err(TH "[attributes]\ninc=cbs\n[table t]\nsum=inc\n",
	           "t.spec:9: attribute inc has the name of a dimension of [cbs]");
	expect_err(TH "[attributes]\nx=cbs\n[table t]\ndims=w\n",
	           "t.spec:9: attribute x is summed by no table");
	expect_err(TH "[attributes]\nx=cbs\nx.groups=0\n[table t]\nsum=x\n",
	           "t.spec:10: x.groups must be a whole number from 1 to 16, not '0'");
	expect_err(TH "[attributes]\nx=cbs\nx.groups=17\n[table t]\nsum=x\n",
	           "t.spec:10: x.groups must be a whole number from 1 to 16");
	expect_err(TH "[attributes]\ny.groups=2\n",
	           "t.spec:9: 'y.groups': declare the attribute (y = cbs) before its groups");
	expect_err(TH "[attributes]\nx=cbs\ny=cbs\n[table t]\nsum=x\n[table u]\nsum=y\n",
	           "t.spec:10: more than one attribute is summed");
	expect_err(TH "[attributes]\nx=cbs\n[table t]\nsum=x\n[table t_groups]\ndims=w\n",
	           "t.spec:13: table t_groups has the name of the group table of t");
	expect_err(TH "[recode r]\nfrom=inc\nx=a\ny=b\n[table t]\ndims=w\n",
	           "t.spec:9: recode r is used by no table");
	expect_err(TH "[recode r]\nfrom=nope\nx=a\n[table t]\ndims=r\n",
	           "t.spec:9: recode r: from = nope names no dimension");
	expect_err(TH "[recode r]\nx=a\n[table t]\ndims=r\n", "t.spec:9: [recode r] has no from");
	expect_err(TH "[recode r]\nfrom=inc\nx=a\n[table t]\ndims=r\n",
	           "t.spec:9: recode r: inc value 'b' is not mapped");
	expect_err(TH "[recode r]\nfrom=inc\nx=a,b\ny=b\n[table t]\ndims=r\n",
	           "t.spec:11: recode r: inc value 'b' is mapped twice");
	expect_err(TH "[recode r]\nfrom=inc\nx,y=a,b\n[table t]\ndims=r\n",
	           "t.spec:10: value 'x,y' of recode r contains ','");
	expect_err(TH "[recode r]\nfrom=inc\nx=a,q\n[table t]\ndims=r\n",
	           "t.spec:10: recode r: 'q' is not a value of inc");
	expect_err(TH "[recode r]\nfrom=inc\nx=a\nx=b\n", "t.spec:11: duplicate value 'x' in recode r");
	expect_err(TH "[recode w]\nfrom=inc\nx=a,b\n[table t]\ndims=w\n",
	           "t.spec:9: recode w has the name of a dimension of [gemeente]");
	expect_err(TH "[recode r]\nfrom=inc\nx=a,b\n",
	           "t.spec:9: [recode] is for [table ...] sections, and the spec has none");
	expect_err(TH "[disclosure]\nprotection=2\n",
	           "t.spec:9: protection is for [table ...] sections");
	expect_err(TH "[table t]\ndims=w\n[disclosure]\np_percent=20\n",
	           "t.spec:11: p_percent is for tables with sum, and the spec has none");
	expect_err(TH "[table t]\ndims=w\n[disclosure]\nprotection=0\n",
	           "t.spec:11: protection must be a whole number from 1 to 1000000, not '0'");
	expect_err(TH "[table t]\ndims=w\n[disclosure]\np_percent=101\n",
	           "t.spec:11: p_percent must be a whole number from 0 to 100");
	expect_err(TH "[table a_table_name_of_more_than_49_bytes_in_the_brackets]\ndims=w\n",
	           "t.spec:8: section name longer than 49 characters");
	expect_err(TH "[tablet]\ndims=w\n", "t.spec:8: unknown section [tablet]");
	expect_err(TH "[table ]\ndims=w\n", "t.spec:8: unknown section [table ]");
#undef TH
}

/* The shipped example of docs/operations.md parses, and the existing
 * example's hash is the one the documentation prints. */
static void
test_tables_example(void **state)
{
	const char *src = getenv("UDC_SOURCE_DIR");
	struct udc_spec *spec = NULL;
	char path[4096], err[512], hex[65];

	(void)state;
	assert_non_null(src);
	snprintf(path, sizeof(path), "%s/docs/examples/denhaag-kinderarmoede-tables.spec", src);
	if (udc_spec_load(path, &spec, err, sizeof(err)) != 0)
		fail_msg("%s", err);
	assert_int_equal(spec->ntables, 6);
	assert_int_equal(spec->protection, 4);
	/* the hash docs/operations.md prints */
	udc_spec_hash_hex(spec, hex);
	assert_string_equal(hex, "4db657525f4f11bf88c2d72d29b129376daf672f7b7771d491895720ec084e19");
	udc_spec_free(spec);
	snprintf(path, sizeof(path), "%s/docs/examples/denhaag-kinderarmoede.spec", src);
	assert_int_equal(udc_spec_load(path, &spec, err, sizeof(err)), 0);
	assert_int_equal(spec->ntables, 0);
	udc_spec_hash_hex(spec, hex);
	assert_non_null(strstr(spec->canonical, "udclink-spec 1\n"));
	udc_spec_free(spec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_small_canonical_and_hash),
	    cmocka_unit_test(test_defaults),
	    cmocka_unit_test(test_layout_keeps_hash),
	    cmocka_unit_test(test_meaning_changes_hash),
	    cmocka_unit_test(test_utf8_values),
	    cmocka_unit_test(test_line_errors),
	    cmocka_unit_test(test_long_lines),
	    cmocka_unit_test(test_value_limits),
	    cmocka_unit_test(test_whole_spec_errors),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_fuzzy_spec),
	    cmocka_unit_test(test_fuzzy_scoring),
	    cmocka_unit_test(test_declared_fields),
	    cmocka_unit_test(test_threshold_auto),
	    cmocka_unit_test(test_disclosure_keys),
	    cmocka_unit_test(test_cell_index),
	    cmocka_unit_test(test_load),
	    cmocka_unit_test(test_tables_canonical),
	    cmocka_unit_test(test_tables_hash),
	    cmocka_unit_test(test_tables_categories),
	    cmocka_unit_test(test_tables_errors),
	    cmocka_unit_test(test_tables_example),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
