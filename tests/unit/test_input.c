/*
 * test_input.c - reading a person list into match-key records: column
 * mapping by name, keys built exactly, bad rows counted by reason and
 * described without their contents, chunks of the configured size.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>
#include <sodium.h>
#include <sys/stat.h>
#include <time.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "err.h"
#include "input.h"
#include "log.h"

static char tmpdir[64];
static char path[128];
static char logpath[128];

static char *wijk_values[] = {"centrum", "escamp", "loosduinen"};
static char *age_values[] = {"0-17", "18-64", "65+"};
static char *edu_values[] = {"laag", "midden", "hoog"};

/* The spec parser is not used here: a two-key spec built by hand. */
static struct udc_spec spec;

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/udc_test_input.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/people.csv", tmpdir);
	snprintf(logpath, sizeof(logpath), "%s/log.txt", tmpdir);
	log_init("test_input", UDC_LOG_WARN, 0);

	memset(&spec, 0, sizeof(spec));
	spec.name = "test";
	spec.keys[0].name = "bsn";
	spec.keys[0].nfields = 1;
	spec.keys[0].fields[0] = UDC_F_BSN;
	spec.keys[1].name = "surname+birth_date+postcode";
	spec.keys[1].nfields = 3;
	spec.keys[1].fields[0] = UDC_F_SURNAME;
	spec.keys[1].fields[1] = UDC_F_BIRTH;
	spec.keys[1].fields[2] = UDC_F_POSTCODE;
	spec.nkeys = 2;
	spec.dims[UDC_SIDE_GEMEENTE][0] = (struct udc_dim){"wijk", wijk_values, 3};
	spec.dims[UDC_SIDE_GEMEENTE][1] = (struct udc_dim){"leeftijd", age_values, 3};
	spec.ndims[UDC_SIDE_GEMEENTE] = 2;
	spec.ncells[UDC_SIDE_GEMEENTE] = 9;
	spec.dims[UDC_SIDE_CBS][0] = (struct udc_dim){"opleiding", edu_values, 3};
	spec.ndims[UDC_SIDE_CBS] = 1;
	spec.ncells[UDC_SIDE_CBS] = 3;
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	unlink(logpath);
	return rmdir(tmpdir);
}

static void
write_file(const char *data)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, strlen(data), f), strlen(data));
	assert_int_equal(fclose(f), 0);
}

static struct udc_input_opts
gemeente_opts(void)
{
	struct udc_input_opts o;

	memset(&o, 0, sizeof(o));
	o.path = path;
	o.spec = &spec;
	o.side = UDC_SIDE_GEMEENTE;
	o.columns[UDC_F_BSN] = "bsn";
	o.columns[UDC_F_SURNAME] = "achternaam";
	o.columns[UDC_F_PREFIX] = "voorvoegsel";
	o.columns[UDC_F_BIRTH] = "geboortedatum";
	o.columns[UDC_F_POSTCODE] = "postcode";
	o.label_columns[0] = "wijk";
	o.label_columns[1] = "leeftijd";
	return o;
}

/* What the callback saw, copied out (its pointers die after the call). */
struct seen {
	size_t nchunks;
	size_t chunk_sizes[64];
	size_t nrecs;
	uint32_t label[64];
	char key[64][UDC_MAX_KEYS][128]; /* "" = missing */
	char prefix[64][64];
	int prefix_present[64];
	int stop_after; /* return 42 after this many chunks, 0 = never */
};

static int
collect(void *ctx, const struct udc_inrec *recs, size_t n)
{
	struct seen *s = ctx;

	/* no cmocka assertion here: the callback runs on a thread of its own,
	 * and a failed assertion would jump across threads */
	if (s->nchunks >= 64)
		return 99;
	s->chunk_sizes[s->nchunks++] = n;
	for (size_t i = 0; i < n; i++) {
		if (s->nrecs < 64) {
			s->label[s->nrecs] = recs[i].label;
			for (int j = 0; j < UDC_MAX_KEYS; j++)
				snprintf(s->key[s->nrecs][j], sizeof(s->key[0][0]), "%s",
				         recs[i].key[j] ? recs[i].key[j] : "");
			s->prefix_present[s->nrecs] = recs[i].field[UDC_F_PREFIX] != NULL;
			snprintf(s->prefix[s->nrecs], sizeof(s->prefix[0]), "%s",
			         recs[i].field[UDC_F_PREFIX] ? recs[i].field[UDC_F_PREFIX] : "");
		}
		s->nrecs++;
	}
	if (s->stop_after && s->nchunks == (size_t)s->stop_after)
		return 42;
	return 0;
}

static void
expect_example(const struct udc_input_stats *st, size_t i, unsigned line, const char *reason)
{
	char want[256];

	assert_true(i < st->nexamples);
	snprintf(want, sizeof(want), "%s:%u: %s", path, line, reason);
	assert_string_equal(st->examples[i], want);
}

static void
test_mapping_keys_stats(void **state)
{
	struct udc_input_opts o = gemeente_opts();
	struct udc_input_stats st;
	struct seen s;
	char err[256];

	(void)state;
	/* Columns in an order of their own, plus truth_id that is not mapped. */
	write_file("truth_id,geboortedatum,achternaam,voorvoegsel,wijk,bsn,postcode,leeftijd\n"
	           "t1,1980-02-29,Berg,van der,escamp,123456782,2511 ab,18-64\n"
	           "t2,29-02-2023,Jansen,,centrum,111222333,2511AB,65+\n"
	           "t3,01-01-1990,de Vries,,loosduinen,123456789,3000 aa,0-17\n"
	           "t4,01-01-1990,Smit,,noord,111222333,2511AB,0-17\n"
	           "t5,,,,centrum,,,18-64\n"
	           "t6,1990-01-01,Smit,,centrum,111222333,2511AB,\n"
	           "t7,1,2\n"
	           "t8,1990-01-01,Sm\xffit,,centrum,111222333,2511AB,65+\n"
	           "t9,1990-01-01,\"Ĳsselmeer\",,\" centrum \",,2511AB,65+\n");
	memset(&s, 0, sizeof(s));
	assert_int_equal(udc_input_read(&o, collect, &s, &st, err, sizeof(err)), 0);
	assert_string_equal(err, "");

	assert_int_equal(s.nrecs, 4);
	/* t1: cell = escamp(1) * 3 + 18-64(1). */
	assert_int_equal(s.label[0], 4);
	assert_string_equal(s.key[0][0], "123456782");
	assert_string_equal(s.key[0][1], "berg\x1f"
	                                 "1980-02-29\x1f"
	                                 "2511AB");
	assert_string_equal(s.prefix[0], "van der");
	/* t2: invalid date, so only the BSN key. */
	assert_int_equal(s.label[1], 2);
	assert_string_equal(s.key[1][0], "111222333");
	assert_string_equal(s.key[1][1], "");
	assert_true(s.prefix_present[1]);
	assert_string_equal(s.prefix[1], "");
	/* t3: BSN fails the 11-test, the prefix was split off the surname. */
	assert_int_equal(s.label[2], 6);
	assert_string_equal(s.key[2][0], "");
	assert_string_equal(s.key[2][1], "vries\x1f"
	                                 "1990-01-01\x1f"
	                                 "3000AA");
	assert_string_equal(s.prefix[2], "de");
	/* t9: no BSN; label trimmed; Ĳ folded. */
	assert_int_equal(s.label[3], 2);
	assert_string_equal(s.key[3][0], "");
	assert_string_equal(s.key[3][1], "ijsselmeer\x1f"
	                                 "1990-01-01\x1f"
	                                 "2511AB");
	for (size_t i = 0; i < 4; i++)
		for (int j = 2; j < UDC_MAX_KEYS; j++)
			assert_string_equal(s.key[i][j], "");

	assert_int_equal(st.rows, 9);
	assert_int_equal(st.accepted, 4);
	assert_int_equal(st.rejected[UDC_REJ_CSV], 1);
	assert_int_equal(st.rejected[UDC_REJ_UTF8], 1);
	assert_int_equal(st.rejected[UDC_REJ_LABEL], 2);
	assert_int_equal(st.rejected[UDC_REJ_NO_KEY], 1);
	assert_int_equal(st.rejected[UDC_REJ_DUPLICATE], 0);
	assert_int_equal(st.invalid[UDC_F_BSN], 1);
	assert_int_equal(st.invalid[UDC_F_BIRTH], 1);
	assert_int_equal(st.invalid[UDC_F_SURNAME], 0);
	assert_int_equal(st.invalid[UDC_F_POSTCODE], 0);
	assert_int_equal(st.key_missing[0], 2);
	assert_int_equal(st.key_missing[1], 1);
	assert_int_equal(st.label_rejected[0], 1);
	assert_int_equal(st.label_rejected[1], 1);

	assert_int_equal(st.nexamples, 5);
	expect_example(&st, 0, 5, "label 'wijk' has a value outside the spec's allowed set");
	expect_example(&st, 1, 6, "no match key could be formed");
	expect_example(&st, 2, 7, "label 'leeftijd' is empty");
	expect_example(&st, 3, 8, "expected 8 fields, found 3");
	expect_example(&st, 4, 9, "invalid UTF-8 in field 3");
}

/* Rows whose values are all invalid name the fields, never the values. */
static void
test_bad_rows_never_logged_with_contents(void **state)
{
	struct udc_input_opts o = gemeente_opts();
	struct udc_input_stats st;
	struct seen s;
	char err[256], logbuf[4096];
	int saved, fd;
	ssize_t n;

	(void)state;
	write_file("bsn,achternaam,voorvoegsel,geboortedatum,postcode,wijk,leeftijd\n"
	           "123456789,Pietersen,,31-02-1980,0511AB,centrum,0-17\n"
	           "123456782,Pietersen,,1980-01-01,2511AB,zuid,0-17\n"
	           "123456782,Pietersen,,1980-01-01,2511AB,\"centrum\",\"0-17\",x\n");
	memset(&s, 0, sizeof(s));

	fflush(stderr);
	saved = dup(2);
	fd = open(logpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	int rv = udc_input_read(&o, collect, &s, &st, err, sizeof(err));
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	assert_int_equal(rv, 0);

	assert_int_equal(st.rejected[UDC_REJ_NO_KEY], 1);
	assert_int_equal(st.invalid[UDC_F_BSN], 1);
	assert_int_equal(st.invalid[UDC_F_BIRTH], 1);
	assert_int_equal(st.invalid[UDC_F_POSTCODE], 1);
	expect_example(&st, 0, 2,
	               "no match key could be formed (invalid: bsn, birth_date, "
	               "postcode)");
	expect_example(&st, 1, 3, "label 'wijk' has a value outside the spec's allowed set");
	expect_example(&st, 2, 4, "expected 7 fields, found 8");

	fd = open(logpath, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, logbuf, sizeof(logbuf) - 1);
	close(fd);
	assert_true(n > 0);
	logbuf[n] = '\0';
	/* One warning per example, and no identifier anywhere. */
	assert_non_null(strstr(logbuf, st.examples[0]));
	assert_non_null(strstr(logbuf, st.examples[2]));
	for (size_t i = 0; i < st.nexamples; i++) {
		assert_null(strstr(st.examples[i], "1234"));
		assert_null(strstr(st.examples[i], "ieters"));
	}
	assert_null(strstr(logbuf, "1234"));
	assert_null(strstr(logbuf, "ieters"));
	assert_null(strstr(logbuf, "1980"));
	assert_null(strstr(logbuf, "zuid"));
}

static void
test_examples_capped(void **state)
{
	struct udc_input_opts o = gemeente_opts();
	struct udc_input_stats st;
	struct seen s;
	char err[256], data[4096];
	size_t off;

	(void)state;
	off = (size_t)snprintf(data, sizeof(data),
	                       "bsn,achternaam,voorvoegsel,geboortedatum,postcode,wijk,leeftijd\n");
	for (int i = 0; i < 20; i++)
		off += (size_t)snprintf(data + off, sizeof(data) - off, "1,2\n");
	off += (size_t)snprintf(data + off, sizeof(data) - off, "111222333,,,,,centrum,65+\n");
	write_file(data);
	memset(&s, 0, sizeof(s));
	log_setlevel(UDC_LOG_ERR);
	assert_int_equal(udc_input_read(&o, collect, &s, &st, err, sizeof(err)), 0);
	log_setlevel(UDC_LOG_WARN);
	assert_int_equal(st.rows, 21);
	assert_int_equal(st.rejected[UDC_REJ_CSV], 20);
	assert_int_equal(st.nexamples, UDC_INPUT_EXAMPLES);
	expect_example(&st, UDC_INPUT_EXAMPLES - 1, UDC_INPUT_EXAMPLES + 1,
	               "expected 7 fields, found 2");
	assert_int_equal(st.accepted, 1);
	assert_int_equal(s.nrecs, 1);
	assert_string_equal(s.key[0][0], "111222333");
	assert_int_equal(s.label[0], 2);
}

static void
write_ten(void)
{
	char data[2048];
	size_t off;

	off = (size_t)snprintf(data, sizeof(data),
	                       "bsn,achternaam,voorvoegsel,geboortedatum,postcode,wijk,leeftijd\n");
	for (int i = 1; i <= 10; i++)
		off += (size_t)snprintf(data + off, sizeof(data) - off,
		                        ",Jansen,,%02d-01-1990,2511AB,%s,65+\n", i,
		                        wijk_values[i % 3]);
	write_file(data);
}

static void
test_chunks(void **state)
{
	struct udc_input_opts o = gemeente_opts();
	struct udc_input_stats st;
	struct seen s;
	char err[256], want[64];

	(void)state;
	write_ten();
	o.chunk = 3;
	memset(&s, 0, sizeof(s));
	assert_int_equal(udc_input_read(&o, collect, &s, &st, err, sizeof(err)), 0);
	assert_int_equal(s.nchunks, 4);
	assert_int_equal(s.chunk_sizes[0], 3);
	assert_int_equal(s.chunk_sizes[1], 3);
	assert_int_equal(s.chunk_sizes[2], 3);
	assert_int_equal(s.chunk_sizes[3], 1);
	assert_int_equal(s.nrecs, 10);
	/* In file order, each with its own strings (storage is reused). */
	for (int i = 1; i <= 10; i++) {
		snprintf(want, sizeof(want),
		         "jansen\x1f"
		         "1990-01-%02d\x1f"
		         "2511AB",
		         i);
		assert_string_equal(s.key[i - 1][1], want);
		assert_string_equal(s.key[i - 1][0], "");
		assert_int_equal(s.label[i - 1], (uint32_t)((i % 3) * 3 + 2));
	}
	assert_int_equal(st.rows, 10);
	assert_int_equal(st.accepted, 10);
	assert_int_equal(st.key_missing[0], 10);
	assert_int_equal(st.key_missing[1], 0);
	assert_int_equal(st.nexamples, 0);
}

static void
test_callback_stops(void **state)
{
	struct udc_input_opts o = gemeente_opts();
	struct udc_input_stats st;
	struct seen s;
	char err[256];

	(void)state;
	write_ten();
	o.chunk = 4;
	memset(&s, 0, sizeof(s));
	s.stop_after = 1;
	assert_int_equal(udc_input_read(&o, collect, &s, &st, err, sizeof(err)), 42);
	assert_int_equal(s.nchunks, 1);
	assert_int_equal(s.nrecs, 4);
}

/* Many rows through small chunks: every chunk within bounds, nothing lost. */
static size_t big_total, big_max, big_nokey;

static int
count_only(void *ctx, const struct udc_inrec *recs, size_t n)
{
	(void)ctx;
	for (size_t i = 0; i < n; i++)
		big_nokey += recs[i].key[1] == NULL;
	big_total += n;
	if (n > big_max)
		big_max = n;
	return 0;
}

static void
test_many_rows(void **state)
{
	struct udc_input_opts o = gemeente_opts();
	struct udc_input_stats st;
	char err[256];
	FILE *f;

	(void)state;
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "bsn,achternaam,voorvoegsel,geboortedatum,postcode,wijk,leeftijd\n");
	for (int i = 0; i < 30000; i++)
		fprintf(f, ",\"Van der Achternaam-Lang\",,%02d-%02d-%d,%d AB,escamp,0-17\n",
		        i % 28 + 1, i % 12 + 1, 1900 + i % 100, 1000 + i % 9000);
	assert_int_equal(fclose(f), 0);
	o.chunk = 100;
	big_total = big_max = big_nokey = 0;
	assert_int_equal(udc_input_read(&o, count_only, NULL, &st, err, sizeof(err)), 0);
	assert_int_equal(big_nokey, 0);
	assert_int_equal(big_total, 30000);
	assert_int_equal(big_max, 100);
	assert_int_equal(st.accepted, 30000);
}

/* The callback gets the chunks one at a time, in file order, each record
 * once and whole, while the reader fills the next chunk (common/input
 * input.c hands chunks to a thread of its own); an error stops the calls. */
struct order {
	unsigned long next, calls, bad, overlap;
	int busy;        /* a call in progress */
	unsigned long stop_at; /* return 7 from this call (1-based), 0 = never */
};

static int
in_order(void *ctx, const struct udc_inrec *recs, size_t n)
{
	struct order *o = ctx;
	char want[64];

	o->overlap += __atomic_exchange_n(&o->busy, 1, __ATOMIC_SEQ_CST);
	o->calls++;
	for (size_t i = 0; i < n; i++, o->next++) {
		snprintf(want, sizeof(want), "naam%lu\x1f" "1980-01-%02lu\x1f" "1000AB", o->next,
		    o->next % 28 + 1);
		o->bad += recs[i].key[1] == NULL || strcmp(recs[i].key[1], want) != 0;
	}
	__atomic_store_n(&o->busy, 0, __ATOMIC_SEQ_CST);
	return o->calls == o->stop_at ? 7 : 0;
}

static void
test_chunks_in_order(void **state)
{
	struct udc_input_opts o = gemeente_opts();
	struct udc_input_stats st;
	struct order ord;
	char err[256];
	FILE *f;

	(void)state;
	f = fopen(path, "w");
	assert_non_null(f);
	fprintf(f, "bsn,achternaam,voorvoegsel,geboortedatum,postcode,wijk,leeftijd\n");
	for (unsigned long i = 0; i < 20000; i++)
		fprintf(f, ",naam%lu,,1980-01-%02lu,1000 AB,escamp,0-17\n", i, i % 28 + 1);
	assert_int_equal(fclose(f), 0);
	o.chunk = 37;
	memset(&ord, 0, sizeof(ord));
	assert_int_equal(udc_input_read(&o, in_order, &ord, &st, err, sizeof(err)), 0);
	assert_int_equal(ord.next, 20000);
	assert_int_equal(ord.bad, 0);
	assert_int_equal(ord.overlap, 0);
	assert_int_equal(ord.calls, (20000 + 36) / 37);
	/* an error from call 5 is returned, and no call follows it */
	memset(&ord, 0, sizeof(ord));
	ord.stop_at = 5;
	assert_int_equal(udc_input_read(&o, in_order, &ord, &st, err, sizeof(err)), 7);
	assert_int_equal(ord.calls, 5);
	assert_int_equal(ord.next, 5 * 37);
	assert_int_equal(ord.bad, 0);
}

static void
test_cbs_side_and_derived_prefix(void **state)
{
	struct udc_input_opts o;
	struct udc_input_stats st;
	struct udc_spec cbs = spec;
	struct seen s;
	char err[256];

	(void)state;
	/* A key over prefix and surname, the prefix column not mapped: the
	 * prefix comes out of the surname. */
	cbs.keys[0].name = "surname_prefix+surname+sex";
	cbs.keys[0].nfields = 3;
	cbs.keys[0].fields[0] = UDC_F_PREFIX;
	cbs.keys[0].fields[1] = UDC_F_SURNAME;
	cbs.keys[0].fields[2] = UDC_F_SEX;
	cbs.nkeys = 1;
	write_file("sex;naam;opleiding\n"
	           "V;Van der Berg;hoog\n"
	           "m;Jansen;laag\n"
	           "q;Jansen;laag\n"
	           "m;Jansen;Hoog\n");
	memset(&o, 0, sizeof(o));
	o.path = path;
	o.delimiter = ';';
	o.spec = &cbs;
	o.side = UDC_SIDE_CBS;
	o.columns[UDC_F_SURNAME] = "naam";
	o.columns[UDC_F_SEX] = "sex";
	o.label_columns[0] = "opleiding";
	memset(&s, 0, sizeof(s));
	assert_int_equal(udc_input_read(&o, collect, &s, &st, err, sizeof(err)), 0);
	assert_int_equal(s.nrecs, 2);
	assert_string_equal(s.key[0][0], "van der\x1f"
	                                 "berg\x1f"
	                                 "f");
	assert_int_equal(s.label[0], 2);
	/* No prefix is an empty component, not a missing one. */
	assert_string_equal(s.key[1][0], "\x1f"
	                                 "jansen\x1f"
	                                 "m");
	assert_int_equal(s.label[1], 0);
	assert_int_equal(st.invalid[UDC_F_SEX], 1);
	assert_int_equal(st.rejected[UDC_REJ_NO_KEY], 1);
	/* Label values are matched with their case. */
	assert_int_equal(st.rejected[UDC_REJ_LABEL], 1);
	assert_int_equal(st.label_rejected[0], 1);
}

/*
 * A field the spec declares (a street name and a foreign postcode) is read
 * by its declaration, its failures are counted per reason, a mapped field
 * the round does not use is not read at all, and a field failing for more
 * than max_invalid of the rows fails the read unless it is exempt.
 */
static void
test_declared_fields(void **state)
{
	struct udc_input_opts o;
	struct udc_input_stats st;
	struct udc_spec d = spec;
	struct seen s;
	char err[512], want[512];
	int straat;

	(void)state;
	udc_fieldset_init(&d.fields);
	assert_int_equal(udc_fieldset_declare(&d.fields, "straat", "text", err, sizeof(err)), 0);
	assert_int_equal(udc_fieldset_declare(&d.fields, "postcode", "postcode form=any", err,
	                                      sizeof(err)), 0);
	straat = udc_fieldset_find(&d.fields, "straat");
	d.keys[0].name = "straat+postcode";
	d.keys[0].nfields = 2;
	d.keys[0].fields[0] = straat;
	d.keys[0].fields[1] = UDC_F_POSTCODE;
	d.nkeys = 1;
	write_file("straat,pc,dob,opleiding\n"
	           "Laan van Meerdervoort,SW1A 1AA,2012-01-01,hoog\n"  /* both valid */
	           "--,2511AB,not a date,laag\n"                       /* straat invalid */
	           "Spui,2#5,2012-01-01,laag\n"                        /* postcode invalid */
	           "Spui,2511 ab,2012-01-01,laag\n");
	memset(&o, 0, sizeof(o));
	o.path = path;
	o.spec = &d;
	o.side = UDC_SIDE_CBS;
	o.columns[straat] = "straat";
	o.columns[UDC_F_POSTCODE] = "pc";
	o.columns[UDC_F_BIRTH] = "dob"; /* mapped, not used by the spec */
	o.label_columns[0] = "opleiding";
	memset(&s, 0, sizeof(s));
	assert_int_equal(udc_input_read(&o, collect, &s, &st, err, sizeof(err)), 0);
	assert_int_equal(s.nrecs, 2);
	assert_string_equal(s.key[0][0], "laan van meerdervoort\x1f"
	                                 "SW1A1AA");
	assert_string_equal(s.key[1][0], "spui\x1f"
	                                 "2511AB");
	assert_int_equal(st.invalid[straat], 1);
	assert_int_equal(st.invalid_why[straat][UDC_NORM_BAD_TEXT], 1);
	assert_int_equal(st.invalid[UDC_F_POSTCODE], 1);
	assert_int_equal(st.invalid_why[UDC_F_POSTCODE][UDC_NORM_BAD_POSTCODE], 1);
	assert_int_equal(st.invalid[UDC_F_BIRTH], 0); /* not read */

	/* one row in four fails each field: over a limit of 20% */
	o.check_invalid = 1;
	o.max_invalid = 0.20;
	assert_int_equal((memset(&s, 0, sizeof(s)), udc_input_read(&o, collect, &s, &st, err, sizeof(err))), UDC_EINVAL);
	/* the first field in the spec's order is named */
	snprintf(want, sizeof(want), "%s: field postcode: 1 of 4 rows (25.0%%) fail its check "
	         "(invalid postcode 1), more than [input] max_invalid (20.0%%)", path);
	if (strncmp(err, want, strlen(want)) != 0)
		fail_msg("got \"%s\"", err);
	/* exempt both: the read goes through and says so */
	o.allow_invalid = (1u << straat) | (1u << UDC_F_POSTCODE);
	assert_int_equal((memset(&s, 0, sizeof(s)), udc_input_read(&o, collect, &s, &st, err, sizeof(err))), 0);
	assert_int_equal(st.over_limit, o.allow_invalid);
	/* at the limit is not over it */
	o.allow_invalid = 0;
	o.max_invalid = 0.25;
	assert_int_equal((memset(&s, 0, sizeof(s)), udc_input_read(&o, collect, &s, &st, err, sizeof(err))), 0);
	assert_int_equal(st.over_limit, 0);
}

/* Combined mode: a record without any exact key goes on to the Dice step
 * when it has a field the CLK encodes; exact mode rejects it. */
static void
test_combined_keyless(void **state)
{
	struct udc_input_opts o = gemeente_opts();
	struct udc_input_stats st;
	struct udc_spec c = spec;
	struct seen s;
	char err[256];

	(void)state;
	write_file("bsn,achternaam,voorvoegsel,geboortedatum,postcode,wijk,leeftijd\n"
	           "111222333,Jansen,,2012-01-01,2511AB,centrum,0-17\n" /* both keys */
	           ",Jansen,,2012-01-01,,centrum,0-17\n"                /* no key, names */
	           ",,,,,centrum,0-17\n");                              /* nothing */
	c.mode = UDC_MODE_COMBINED;
	c.schema_json = "{}"; /* attached: only schema_fields is looked at */
	c.schema_fields = (1u << UDC_F_SURNAME) | (1u << UDC_F_BIRTH);
	o.spec = &c;
	memset(&s, 0, sizeof(s));
	assert_int_equal(udc_input_read(&o, collect, &s, &st, err, sizeof(err)), 0);
	assert_int_equal(s.nrecs, 2);
	assert_string_equal(s.key[1][0], "");
	assert_string_equal(s.key[1][1], "");
	assert_int_equal(st.accepted, 2);
	assert_int_equal(st.rejected[UDC_REJ_NO_KEY], 1);
	expect_example(&st, 0, 4, "no match key and no field to encode");

	/* exact mode: the keyless record is of no use */
	o.spec = &spec;
	memset(&s, 0, sizeof(s));
	assert_int_equal(udc_input_read(&o, collect, &s, &st, err, sizeof(err)), 0);
	assert_int_equal(s.nrecs, 1);
	assert_int_equal(st.rejected[UDC_REJ_NO_KEY], 2);
}

/* A national file read for one city: only the rows of its filter value
 * are its list; the others are counted as skipped, never as rows or
 * rejects, and a row that cannot be split is attributed to nobody. */
static void
test_filter(void **state)
{
	struct udc_input_opts o;
	struct udc_input_stats st;
	struct udc_spec cbs = spec;
	struct seen s;
	char err[1024], sum[256];

	(void)state;
	cbs.keys[0].name = "bsn";
	cbs.nkeys = 1;
	write_file("bsn,gemeente,opleiding\n"
	           "111222333,0518,hoog\n"     /* Den Haag */
	           "123456782,0772,laag\n"     /* Eindhoven */
	           "111222333, 0518 ,midden\n" /* blanks around the value: Den Haag */
	           "123456782,05180,laag\n"    /* not 0518 */
	           "1,2\n"                      /* cannot be split: nobody's */
	           "111222333,0518,onbekend\n"); /* Den Haag, a label outside the spec */
	memset(&o, 0, sizeof(o));
	o.path = path;
	o.spec = &cbs;
	o.side = UDC_SIDE_CBS;
	o.columns[UDC_F_BSN] = "bsn";
	o.label_columns[0] = "opleiding";
	o.filter_column = "gemeente";
	o.filter_value = "0518";
	memset(&s, 0, sizeof(s));
	assert_int_equal(udc_input_read(&o, collect, &s, &st, err, sizeof(err)), 0);
	assert_int_equal(s.nrecs, 2);
	assert_int_equal(s.label[0], 2);
	assert_int_equal(s.label[1], 1);
	assert_int_equal(st.rows, 3);
	assert_int_equal(st.accepted, 2);
	assert_int_equal(st.rejected[UDC_REJ_LABEL], 1);
	assert_int_equal(st.rejected[UDC_REJ_CSV], 0);
	assert_int_equal(st.filtered_out, 2);
	assert_int_equal(st.unattributed, 1);
	udc_input_summary(&st, sum, sizeof(sum));
	assert_string_equal(sum, "3 rows read, 2 used, 1 rejected (label_not_allowed 1); 2 rows of "
	    "other populations skipped, 1 malformed rows not attributable");
	/* the other city's rows */
	o.filter_value = "0772";
	memset(&s, 0, sizeof(s));
	assert_int_equal(udc_input_read(&o, collect, &s, &st, err, sizeof(err)), 0);
	assert_int_equal(s.nrecs, 1);
	assert_int_equal(s.label[0], 0);
	assert_int_equal(st.rows, 1);
	assert_int_equal(st.filtered_out, 4);
	/* without a filter every row counts */
	o.filter_column = o.filter_value = NULL;
	memset(&s, 0, sizeof(s));
	assert_int_equal(udc_input_read(&o, collect, &s, &st, err, sizeof(err)), 0);
	assert_int_equal(st.rows, 6);
	assert_int_equal(st.rejected[UDC_REJ_CSV], 1);
	assert_int_equal(st.filtered_out + st.unattributed, 0);
	/* a filter column the file does not have */
	o.filter_column = "gemeentecode";
	o.filter_value = "0518";
	assert_int_equal(udc_input_read(&o, collect, NULL, &st, err, sizeof(err)), UDC_EPARSE);
	assert_non_null(strstr(err, "column 'gemeentecode' (filter_column in the node's configuration) "
	    "not in header; the header found is: bsn, gemeente, opleiding"));
}

static void
test_missing_columns(void **state)
{
	struct udc_input_opts o = gemeente_opts();
	struct udc_input_stats st;
	char err[1024], want[512];

	(void)state;
	write_ten();
	o.columns[UDC_F_BSN] = "burgerservicenummer";
	assert_int_equal(udc_input_read(&o, collect, NULL, &st, err, sizeof(err)), UDC_EPARSE);
	snprintf(want, sizeof(want), "%s: column 'burgerservicenummer' (field bsn, [fields] in the "
	         "node's configuration) not in header; the header found is: bsn, ", path);
	assert_memory_equal(err, want, strlen(want));

	o = gemeente_opts();
	o.label_columns[0] = "wijkcode";
	assert_int_equal(udc_input_read(&o, collect, NULL, &st, err, sizeof(err)), UDC_EPARSE);
	snprintf(want, sizeof(want), "%s: column 'wijkcode' (label wijk, [labels] in the node's "
	         "configuration) not in header; the header found is: bsn, ", path);
	assert_memory_equal(err, want, strlen(want));
	/* A comma-separated file read as such: no separator advice. */
	assert_null(strstr(err, "delimiter ="));

	o = gemeente_opts();
	o.label_columns[1] = NULL;
	assert_int_equal(udc_input_read(&o, collect, NULL, &st, err, sizeof(err)), UDC_EINVAL);
	assert_non_null(strstr(err, "label 'leeftijd'"));
}

static void
test_unreadable(void **state)
{
	struct udc_input_opts o = gemeente_opts();
	struct udc_input_stats st;
	char err[256], missing[160], want[256];

	(void)state;
	snprintf(missing, sizeof(missing), "%s/nope.csv", tmpdir);
	o.path = missing;
	assert_int_equal(udc_input_read(&o, collect, NULL, &st, err, sizeof(err)), UDC_EIO);
	snprintf(want, sizeof(want), "%s: No such file or directory", missing);
	assert_string_equal(err, want);

	o.path = tmpdir;
	assert_int_equal(udc_input_read(&o, collect, NULL, &st, err, sizeof(err)), UDC_EIO);
	snprintf(want, sizeof(want), "%s: not a regular file (a device, FIFO, socket or directory "
	    "cannot be an input)", tmpdir);
	assert_string_equal(err, want);

	write_file("");
	o.path = path;
	assert_int_equal(udc_input_read(&o, collect, NULL, &st, err, sizeof(err)), UDC_EPARSE);
	assert_non_null(strstr(err, "empty file"));
}

/* A device or FIFO would be read forever (or block the open): refused at
 * once, before any byte is read. */
static void
test_not_a_regular_file(void **state)
{
	struct udc_input_opts o = gemeente_opts();
	struct udc_input_stats st;
	char err[256], fifo[160];
	time_t t0 = time(NULL);

	(void)state;
	o.path = "/dev/zero";
	assert_int_equal(udc_input_read(&o, collect, NULL, &st, err, sizeof(err)), UDC_EIO);
	assert_non_null(strstr(err, "/dev/zero: not a regular file"));
	snprintf(fifo, sizeof(fifo), "%s/fifo.csv", tmpdir);
	assert_int_equal(mkfifo(fifo, 0600), 0);
	o.path = fifo; /* no writer: a blocking open would hang here */
	assert_int_equal(udc_input_read(&o, collect, NULL, &st, err, sizeof(err)), UDC_EIO);
	assert_non_null(strstr(err, "not a regular file"));
	unlink(fifo);
	assert_true(time(NULL) - t0 < 5);
}

static uint64_t progress_done, progress_total;
static int progress_calls;

static void
on_progress(void *arg, uint64_t done, uint64_t total)
{
	(void)arg;
	assert_true(done >= progress_done); /* never backwards */
	progress_done = done;
	progress_total = total;
	progress_calls++;
}

/* The digest is the SHA-256 of the file as read (computed here apart),
 * the size limit refuses a larger file, progress ends at the file size. */
static void
test_digest_limit_progress(void **state)
{
	struct udc_input_opts o = gemeente_opts();
	struct udc_input_stats st;
	uint8_t dig[32], want[32];
	char err[256], *text;
	FILE *f;
	long len;

	(void)state;
	write_file("bsn,achternaam,voorvoegsel,geboortedatum,postcode,wijk,leeftijd\n"
	           "123456782,Pietersen,,1980-01-01,2511AB,zuid,0-17\n");
	assert_non_null(f = fopen(path, "rb"));
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	fseek(f, 0, SEEK_SET);
	assert_non_null(text = malloc((size_t)len));
	assert_int_equal(fread(text, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	crypto_hash_sha256(want, (const uint8_t *)text, (unsigned long long)len);
	free(text);

	o.path = path;
	o.digest = dig;
	o.progress = on_progress;
	progress_calls = 0;
	progress_done = 0;
	assert_int_equal(udc_input_read(&o, collect, NULL, &st, err, sizeof(err)), 0);
	assert_memory_equal(dig, want, 32);
	assert_true(progress_calls >= 1);
	assert_int_equal(progress_done, (uint64_t)len);
	assert_int_equal(progress_total, (uint64_t)len);

	o.max_bytes = (uint64_t)len - 1;
	assert_int_equal(udc_input_read(&o, collect, NULL, &st, err, sizeof(err)), UDC_ELIMIT);
	assert_non_null(strstr(err, "max_size"));
	o.max_bytes = (uint64_t)len;
	assert_int_equal(udc_input_read(&o, collect, NULL, &st, err, sizeof(err)), 0);
}

/* The reject share: counted over every reason, compared exactly. */
static void
test_check_rejects(void **state)
{
	struct udc_input_stats st;
	char why[400];

	(void)state;
	memset(&st, 0, sizeof(st));
	st.rows = 1000;
	st.rejected[UDC_REJ_UTF8] = 7;
	st.rejected[UDC_REJ_DUPLICATE] = 3;
	assert_int_equal(udc_input_check_rejects(&st, 100, why, sizeof(why)), 0);  /* 1.00% */
	st.rejected[UDC_REJ_NO_KEY] = 1;                                           /* 1.1% */
	assert_int_equal(udc_input_check_rejects(&st, 100, why, sizeof(why)), UDC_EREFUSED);
	assert_non_null(strstr(why, "rejected 11 of 1000 rows"));
	assert_non_null(strstr(why, "invalid_utf8 7"));
	assert_non_null(strstr(why, "no_match_key 1"));
	assert_non_null(strstr(why, "duplicate 3"));
	assert_int_equal(udc_input_check_rejects(&st, 110, why, sizeof(why)), 0);
	assert_int_equal(udc_input_check_rejects(&st, 10000, why, sizeof(why)), 0);
	st.rows = 0;
	assert_int_equal(udc_input_check_rejects(&st, 0, why, sizeof(why)), 0);
}

static void
test_reject_names(void **state)
{
	(void)state;
	assert_string_equal(udc_reject_name(UDC_REJ_CSV), "malformed_csv");
	assert_string_equal(udc_reject_name(UDC_REJ_UTF8), "invalid_utf8");
	assert_string_equal(udc_reject_name(UDC_REJ_LABEL), "label_not_allowed");
	assert_string_equal(udc_reject_name(UDC_REJ_NO_KEY), "no_match_key");
	assert_string_equal(udc_reject_name(UDC_REJ_DUPLICATE), "duplicate");
	assert_string_equal(udc_reject_name(UDC_REJ_MAX), "unknown");
	assert_string_equal(udc_reject_name(-1), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_mapping_keys_stats),
	    cmocka_unit_test(test_not_a_regular_file),
	    cmocka_unit_test(test_digest_limit_progress),
	    cmocka_unit_test(test_check_rejects),
	    cmocka_unit_test(test_bad_rows_never_logged_with_contents),
	    cmocka_unit_test(test_examples_capped),
	    cmocka_unit_test(test_chunks),
	    cmocka_unit_test(test_callback_stops),
	    cmocka_unit_test(test_many_rows),
	    cmocka_unit_test(test_chunks_in_order),
	    cmocka_unit_test(test_cbs_side_and_derived_prefix),
	    cmocka_unit_test(test_declared_fields),
	    cmocka_unit_test(test_combined_keyless),
	    cmocka_unit_test(test_filter),
	    cmocka_unit_test(test_missing_columns),
	    cmocka_unit_test(test_unreadable),
	    cmocka_unit_test(test_reject_names),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
