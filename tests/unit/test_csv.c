/*
 * test_csv.c - the streaming CSV reader: RFC 4180 quoting, line numbers that
 * operators can look up, bad records skipped without losing the next one.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "csv.h"
#include "err.h"

static char tmpdir[64];
static char path[128];

static int
setup(void **state)
{
	(void)state;
	snprintf(tmpdir, sizeof(tmpdir), "/tmp/udc_test_csv.XXXXXX");
	if (mkdtemp(tmpdir) == NULL)
		return -1;
	snprintf(path, sizeof(path), "%s/in.csv", tmpdir);
	return 0;
}

static int
teardown(void **state)
{
	(void)state;
	unlink(path);
	return rmdir(tmpdir);
}

static void
write_file(const char *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static struct udc_csv *
open_str(const char *data)
{
	struct udc_csv *c = NULL;
	char err[256];

	write_file(data, strlen(data));
	assert_int_equal(udc_csv_open(&c, path, ',', err, sizeof(err)), 0);
	return c;
}

static void
expect_record(struct udc_csv *c, unsigned long line, size_t n, ...)
{
	char **f;
	va_list ap;

	assert_int_equal(udc_csv_next(c, &f), UDC_CSV_RECORD);
	assert_int_equal(udc_csv_line(c), line);
	va_start(ap, n);
	for (size_t i = 0; i < n; i++)
		assert_string_equal(f[i], va_arg(ap, const char *));
	va_end(ap);
}

static void
expect_bad(struct udc_csv *c, unsigned long line, int kind, const char *reason)
{
	char **f;

	assert_int_equal(udc_csv_next(c, &f), UDC_CSV_BAD);
	assert_int_equal(udc_csv_line(c), line);
	assert_int_equal(udc_csv_error_kind(c), kind);
	assert_non_null(strstr(udc_csv_error(c), reason));
}

static void
expect_eof(struct udc_csv *c)
{
	char **f;

	assert_int_equal(udc_csv_next(c, &f), UDC_CSV_EOF);
	/* EOF is sticky. */
	assert_int_equal(udc_csv_next(c, &f), UDC_CSV_EOF);
}

static void
test_quoting(void **state)
{
	struct udc_csv *c = open_str("id,name,note\n"
	                             "1,\"Berg, van der\",\"say \"\"hi\"\"\"\n"
	                             "2,\"multi\nline\",x\n"
	                             "3,plain,\n"
	                             "4,\"\",\"\"\"\"\n");

	(void)state;
	assert_int_equal(udc_csv_ncols(c), 3);
	assert_string_equal(udc_csv_colname(c, 1), "name");
	assert_int_equal(udc_csv_find_col(c, "note"), 2);
	assert_int_equal(udc_csv_find_col(c, "truth_id"), -1);
	assert_string_equal(udc_csv_path(c), path);
	expect_record(c, 2, 3, "1", "Berg, van der", "say \"hi\"");
	expect_record(c, 3, 3, "2", "multi\nline", "x");
	/* The embedded newline counts: the next record starts on line 5. */
	expect_record(c, 5, 3, "3", "plain", "");
	expect_record(c, 6, 3, "4", "", "\"");
	expect_eof(c);
	udc_csv_close(c);
}

static void
test_crlf_bom(void **state)
{
	struct udc_csv *c = open_str("\xef\xbb\xbf"
	                             "bsn,naam\r\n"
	                             "1,2\r\n"
	                             "3,\"x\r\ny\"\r\n"
	                             "5,6");

	(void)state;
	/* The BOM is not part of the first column's name. */
	assert_string_equal(udc_csv_colname(c, 0), "bsn");
	assert_int_equal(udc_csv_find_col(c, "bsn"), 0);
	expect_record(c, 2, 2, "1", "2");
	expect_record(c, 3, 2, "3", "x\r\ny");
	/* The last record has no line end and is still read. */
	expect_record(c, 5, 2, "5", "6");
	expect_eof(c);
	udc_csv_close(c);
}

static void
test_blank_lines_and_delimiter(void **state)
{
	struct udc_csv *c = NULL;
	char err[256];
	const char *data = "a;b\n\n1;\"x;y\"\n\r\n2;z\n\n";

	(void)state;
	write_file(data, strlen(data));
	assert_int_equal(udc_csv_open(&c, path, ';', err, sizeof(err)), 0);
	expect_record(c, 3, 2, "1", "x;y");
	expect_record(c, 5, 2, "2", "z");
	expect_eof(c);
	udc_csv_close(c);
}

static void
test_field_count(void **state)
{
	struct udc_csv *c = open_str("a,b,c\n1,2,3\n4,5\n6,7,8\n9,10,11,12\n13,14,15\n");

	(void)state;
	expect_record(c, 2, 3, "1", "2", "3");
	expect_bad(c, 3, 0, "expected 3 fields, found 2");
	expect_record(c, 4, 3, "6", "7", "8");
	expect_bad(c, 5, 0, "expected 3 fields, found 4");
	expect_record(c, 6, 3, "13", "14", "15");
	expect_eof(c);
	udc_csv_close(c);
}

static void
test_stray_quotes(void **state)
{
	struct udc_csv *c = open_str("a,b\n"
	                             "ab\"c,d\n"
	                             "\"ab\"c,d\n"
	                             "1,2\n");

	(void)state;
	expect_bad(c, 2, 0, "quote inside an unquoted field 1");
	expect_bad(c, 3, 0, "after the closing quote");
	expect_record(c, 4, 2, "1", "2");
	expect_eof(c);
	udc_csv_close(c);
}

static void
test_unterminated_quote(void **state)
{
	struct udc_csv *c = open_str("a,b\n1,2\n3,\"abc\n4,5\n");

	(void)state;
	expect_record(c, 2, 2, "1", "2");
	expect_bad(c, 3, 0, "unterminated quoted field");
	expect_eof(c);
	udc_csv_close(c);
}

static void
test_invalid_utf8(void **state)
{
	struct udc_csv *c = open_str("a,b\n"
	                             "1,\xff\n"
	                             "2,\xc0\x80\n"         /* overlong NUL */
	                             "3,\xed\xa0\x80\n"     /* surrogate U+D800 */
	                             "4,\xf4\x90\x80\x80\n" /* above U+10FFFF */
	                             "5,caf\xc3\xa9\n"
	                             "6,\xe2\x82\n"           /* truncated sequence */
	                             "7,\xf0\x9f\x98\x80\n"); /* U+1F600 is fine */

	(void)state;
	expect_bad(c, 2, 1, "invalid UTF-8 in field 2");
	expect_bad(c, 3, 1, "invalid UTF-8");
	expect_bad(c, 4, 1, "invalid UTF-8");
	expect_bad(c, 5, 1, "invalid UTF-8");
	expect_record(c, 6, 2, "5", "caf\xc3\xa9");
	expect_bad(c, 7, 1, "invalid UTF-8");
	expect_record(c, 8, 2, "7", "\xf0\x9f\x98\x80");
	expect_eof(c);
	udc_csv_close(c);
}

static void
test_nul_byte(void **state)
{
	const char data[] = "a,b\n1,x\0y\n2,z\n";
	struct udc_csv *c = NULL;
	char err[256];

	(void)state;
	write_file(data, sizeof(data) - 1);
	assert_int_equal(udc_csv_open(&c, path, ',', err, sizeof(err)), 0);
	expect_bad(c, 2, 0, "NUL byte");
	expect_record(c, 3, 2, "2", "z");
	expect_eof(c);
	udc_csv_close(c);
}

static void
test_record_limit(void **state)
{
	size_t cap = 4 * UDC_CSV_MAX_RECORD;
	char *data = malloc(cap);
	struct udc_csv *c = NULL;
	char err[256], **f;
	size_t o = 0;

	(void)state;
	assert_non_null(data);
	o += (size_t)sprintf(data + o, "a,b\n");
	/* Line 2: exactly at the limit ("x...x,1" is MAX bytes): accepted. */
	memset(data + o, 'x', UDC_CSV_MAX_RECORD - 2);
	o += UDC_CSV_MAX_RECORD - 2;
	o += (size_t)sprintf(data + o, ",1\n");
	/* Line 3: one byte over. */
	memset(data + o, 'y', UDC_CSV_MAX_RECORD - 1);
	o += UDC_CSV_MAX_RECORD - 1;
	o += (size_t)sprintf(data + o, ",1\n");
	/* Lines 4..: a long quoted field with embedded newlines; the reader
	 * must follow the quotes to its end, not resume inside it. */
	o += (size_t)sprintf(data + o, "\"");
	for (int i = 0; i < 700; i++) {
		memset(data + o, 'z', 99);
		o += 99;
		data[o++] = '\n';
	}
	o += (size_t)sprintf(data + o, "\",2\nok,3\n");
	write_file(data, o);
	free(data);

	assert_int_equal(udc_csv_open(&c, path, ',', err, sizeof(err)), 0);
	assert_int_equal(udc_csv_next(c, &f), UDC_CSV_RECORD);
	assert_int_equal(udc_csv_line(c), 2);
	assert_int_equal(strlen(f[0]), UDC_CSV_MAX_RECORD - 2);
	assert_string_equal(f[1], "1");
	expect_bad(c, 3, 0, "record longer than 65536 bytes");
	expect_bad(c, 4, 0, "record longer than");
	expect_record(c, 5 + 700, 2, "ok", "3");
	expect_eof(c);
	udc_csv_close(c);
}

/* Many records across many read buffers, each value checked. */
static void
test_many_records(void **state)
{
	const int n = 50000;
	FILE *fp = fopen(path, "w");
	struct udc_csv *c = NULL;
	char err[256], want[32], **f;

	(void)state;
	assert_non_null(fp);
	fprintf(fp, "n,text\n");
	for (int i = 0; i < n; i++)
		fprintf(fp, "%d,\"row %d, \"\"quoted\"\"\"\n", i, i);
	assert_int_equal(fclose(fp), 0);

	assert_int_equal(udc_csv_open(&c, path, ',', err, sizeof(err)), 0);
	for (int i = 0; i < n; i++) {
		assert_int_equal(udc_csv_next(c, &f), UDC_CSV_RECORD);
		assert_int_equal(atoi(f[0]), i);
		snprintf(want, sizeof(want), "row %d, \"quoted\"", i);
		assert_string_equal(f[1], want);
		assert_int_equal(udc_csv_line(c), (unsigned long)i + 2);
	}
	expect_eof(c);
	udc_csv_close(c);
}

/* Errors end up in logs: they must never repeat what the record held. */
static void
test_errors_hide_contents(void **state)
{
	struct udc_csv *c = open_str("bsn,naam\n"
	                             "123456782,Jansen,extra\n"
	                             "123456782,\"Jansen\"x\n"
	                             "123456782,Jan\"sen\n");
	char **f;

	(void)state;
	for (int i = 0; i < 3; i++) {
		assert_int_equal(udc_csv_next(c, &f), UDC_CSV_BAD);
		assert_null(strstr(udc_csv_error(c), "1234"));
		assert_null(strstr(udc_csv_error(c), "Jan"));
	}
	expect_eof(c);
	udc_csv_close(c);
}

static void
test_open_errors(void **state)
{
	struct udc_csv *c = NULL;
	char err[256], want[256];

	(void)state;
	write_file("", 0);
	assert_int_equal(udc_csv_open(&c, path, ',', err, sizeof(err)), UDC_EPARSE);
	assert_null(c);
	snprintf(want, sizeof(want), "%s:1: empty file", path);
	assert_memory_equal(err, want, strlen(want));

	write_file("a,b,a\n1,2,3\n", 12);
	assert_int_equal(udc_csv_open(&c, path, ',', err, sizeof(err)), UDC_EPARSE);
	snprintf(want, sizeof(want), "%s:1: duplicate column 'a'", path);
	assert_string_equal(err, want);

	write_file("a,\"b\n", 5);
	assert_int_equal(udc_csv_open(&c, path, ',', err, sizeof(err)), UDC_EPARSE);
	snprintf(want, sizeof(want), "%s:1: header: unterminated quoted field", path);
	assert_string_equal(err, want);

	/* Header names are trimmed, an empty file body is fine. */
	write_file(" a , b\n", 7);
	assert_int_equal(udc_csv_open(&c, path, ',', err, sizeof(err)), 0);
	assert_int_equal(udc_csv_find_col(c, "b"), 1);
	expect_eof(c);
	udc_csv_close(c);

	snprintf(want, sizeof(want), "%s/missing.csv", tmpdir);
	assert_int_equal(udc_csv_open(&c, want, ',', err, sizeof(err)), UDC_EIO);
	assert_null(c);
	assert_non_null(strstr(err, "missing.csv: No such file or directory"));

	/* A directory opens but cannot be read. */
	assert_int_equal(udc_csv_open(&c, tmpdir, ',', err, sizeof(err)), UDC_EIO);
	assert_null(c);

	assert_int_equal(udc_csv_open(&c, path, '"', err, sizeof(err)), UDC_EINVAL);
	assert_null(c);
}

/* What an operator sees when a file from Excel does not match the
 * configuration: the header found and, for another separator, the option. */
static void
test_header_hint(void **state)
{
	struct udc_csv *c = NULL;
	char err[256], hint[512];

	(void)state;
	/* Semicolons behind a UTF-8 BOM, read with the default comma. */
	write_file("\xef\xbb\xbf" "bsn;naam;wijk\n1;a;b\n", strlen("\xef\xbb\xbf" "bsn;naam;wijk\n1;a;b\n"));
	assert_int_equal(udc_csv_open(&c, path, ',', err, sizeof(err)), 0);
	assert_int_equal(udc_csv_ncols(c), 1);
	udc_csv_header_hint(c, hint, sizeof(hint));
	assert_string_equal(hint, "the file looks separated by ';', not ',': set delimiter = semicolon in "
	    "[input]; the header found is: bsn;naam;wijk");
	udc_csv_close(c);

	/* Read with the right separator: the header, no advice. */
	assert_int_equal(udc_csv_open(&c, path, ';', err, sizeof(err)), 0);
	udc_csv_header_hint(c, hint, sizeof(hint));
	assert_string_equal(hint, "the header found is: bsn, naam, wijk");
	udc_csv_close(c);

	/* Tabs. */
	write_file("bsn\tnaam\n1\ta\n", strlen("bsn\tnaam\n1\ta\n"));
	assert_int_equal(udc_csv_open(&c, path, ',', err, sizeof(err)), 0);
	udc_csv_header_hint(c, hint, sizeof(hint));
	assert_non_null(strstr(hint, "set delimiter = tab in [input]"));
	udc_csv_close(c);

	/* A tiny buffer is still a string. */
	udc_csv_open(&c, path, ',', err, sizeof(err));
	udc_csv_header_hint(c, hint, 8);
	assert_int_equal(strlen(hint), 7);
	udc_csv_close(c);

	/* UTF-16 (Excel's "Unicode text") is named as such. */
	write_file("\xff\xfe" "b\0s\0n\0\n\0", 10);
	assert_int_equal(udc_csv_open(&c, path, ',', err, sizeof(err)), UDC_EPARSE);
	assert_non_null(strstr(err, ":1: the file is UTF-16"));
	assert_non_null(strstr(err, "save it as UTF-8"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quoting),
	    cmocka_unit_test(test_crlf_bom),
	    cmocka_unit_test(test_blank_lines_and_delimiter),
	    cmocka_unit_test(test_field_count),
	    cmocka_unit_test(test_stray_quotes),
	    cmocka_unit_test(test_unterminated_quote),
	    cmocka_unit_test(test_invalid_utf8),
	    cmocka_unit_test(test_nul_byte),
	    cmocka_unit_test(test_record_limit),
	    cmocka_unit_test(test_many_records),
	    cmocka_unit_test(test_errors_hide_contents),
	    cmocka_unit_test(test_open_errors),
	    cmocka_unit_test(test_header_hint),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
