/*
 * test_normalize.c - identifier normalisation on real Dutch spellings.
 *
 * Two records link only when both nodes produce the same bytes, so every
 * case here is a pair of spellings that must (or must not) meet.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fields.h"
#include "normalize.h"

typedef int (*normfn)(const char *, char *, size_t);

static void
check(normfn fn, const char *in, int want_rc, const char *want)
{
	char out[UDC_NORM_MAX];

	memset(out, 'Z', sizeof(out));
	int rc = fn(in, out, sizeof(out));
	if (rc != want_rc)
		fail_msg("'%s': got %s, want %s", in, udc_norm_reason(rc),
		         udc_norm_reason(want_rc));
	/* A failed value never leaves a partial result behind. */
	assert_string_equal(out, want_rc == UDC_NORM_OK ? want : "");
}

static void
check_surname(const char *prefix, const char *surname, int want_rc, const char *want,
              const char *want_prefix)
{
	char out[UDC_NORM_MAX], pout[UDC_NORM_MAX];

	int rc = udc_norm_surname(prefix, surname, out, sizeof(out), pout, sizeof(pout));
	if (rc != want_rc)
		fail_msg("surname '%s' + '%s': got %s, want %s", prefix ? prefix : "(null)",
		         surname, udc_norm_reason(rc), udc_norm_reason(want_rc));
	assert_string_equal(out, want);
	assert_string_equal(pout, want_prefix);
}

static void
test_name(void **state)
{
	(void)state;
	check(udc_norm_name, "Müller", UDC_NORM_OK, "muller");
	check(udc_norm_name, "Mu\xcc\x88ller", UDC_NORM_OK, "muller"); /* decomposed ü */
	check(udc_norm_name, "  Jan-Willem  ", UDC_NORM_OK, "jan willem");
	check(udc_norm_name, "Jan \t - Willem", UDC_NORM_OK, "jan willem");
	check(udc_norm_name, "O'Brien", UDC_NORM_OK, "obrien");
	check(udc_norm_name,
	      "O\xe2\x80\x99"
	      "Brien",
	      UDC_NORM_OK, "obrien"); /* ’ */
	check(udc_norm_name, "IJsbrand", UDC_NORM_OK, "ijsbrand");
	check(udc_norm_name, "\xc4\xb2sbrand", UDC_NORM_OK, "ijsbrand"); /* Ĳ */
	check(udc_norm_name, "\xc4\xb3sbrand", UDC_NORM_OK, "ijsbrand"); /* ĳ */
	check(udc_norm_name, "\xc4\xb2sselmeer", UDC_NORM_OK, "ijsselmeer");
	check(udc_norm_name,
	      "\xc3\x87"
	      "elik",
	      UDC_NORM_OK, "celik"); /* Çelik */
	check(udc_norm_name,
	      "Stra\xc3\x9f"
	      "e",
	      UDC_NORM_OK, "strasse"); /* ß */
	check(udc_norm_name,
	      "Jos\xc3\xa9  Mar\xc3\xad"
	      "a",
	      UDC_NORM_OK, "jose maria");
	check(udc_norm_name, "J.P.", UDC_NORM_OK, "j p");
	check(udc_norm_name, "J. P.", UDC_NORM_OK, "j p");
	check(udc_norm_name, "\xef\xbc\xa1\xef\xbc\xa2", UDC_NORM_OK, "ab"); /* fullwidth */
	check(udc_norm_name,
	      "Jan\xc2\xad"
	      "sen",
	      UDC_NORM_OK, "jansen");                                         /* soft hyphen */
	check(udc_norm_name, "Anna\xc2\xa0Maria", UDC_NORM_OK, "anna maria"); /* NBSP */
	check(udc_norm_name, "", UDC_NORM_MISSING, "");
	check(udc_norm_name, " \t ", UDC_NORM_MISSING, "");
	check(udc_norm_name, "---", UDC_NORM_BAD_NAME, "");
	check(udc_norm_name, "1234", UDC_NORM_BAD_NAME, "");
	check(udc_norm_name, "Jan\xff", UDC_NORM_BAD_UTF8, "");

	char longname[400];
	memset(longname, 'a', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	check(udc_norm_name, longname, UDC_NORM_BAD_NAME, "");

	/* A small output buffer is a failure, not a truncation. */
	char small[4];
	assert_int_equal(udc_norm_name("Jansen", small, sizeof(small)), UDC_NORM_BAD_NAME);
	assert_string_equal(small, "");
}

static void
test_surname(void **state)
{
	(void)state;
	check_surname(NULL, "Van der Berg", UDC_NORM_OK, "berg", "van der");
	check_surname("van der", "Berg", UDC_NORM_OK, "berg", "van der");
	check_surname("Van Der", "BERG", UDC_NORM_OK, "berg", "van der");
	check_surname("", "Berg, van der", UDC_NORM_OK, "berg", "van der");
	check_surname(NULL, "Berg,van der", UDC_NORM_OK, "berg", "van der");
	/* Prefix repeated in the surname column. */
	check_surname("van der", "van der Berg", UDC_NORM_OK, "berg", "van der");
	check_surname(NULL, "de Vries", UDC_NORM_OK, "vries", "de");
	check_surname(NULL, "ter Horst", UDC_NORM_OK, "horst", "ter");
	check_surname(NULL, "Ten Cate", UDC_NORM_OK, "cate", "ten");
	check_surname(NULL, "van den Heuvel-Smit", UDC_NORM_OK, "heuvel smit", "van den");
	check_surname(NULL, "van de Kamp", UDC_NORM_OK, "kamp", "van de");
	check_surname(NULL, "van 't Hof", UDC_NORM_OK, "hof", "van t");
	check_surname(NULL, "van't Hof", UDC_NORM_OK, "hof", "van t");
	check_surname("van 't", "Hof", UDC_NORM_OK, "hof", "van t");
	check_surname(NULL, "in 't Veld", UDC_NORM_OK, "veld", "in t");
	check_surname(NULL, "'t Hooft", UDC_NORM_OK, "hooft", "t");
	check_surname(NULL, "op de Beek", UDC_NORM_OK, "beek", "op de");
	check_surname(NULL, "uit den Bogaard", UDC_NORM_OK, "bogaard", "uit den");
	check_surname(NULL, "d'Ancona", UDC_NORM_OK, "ancona", "d");
	check_surname(NULL,
	              "d\xe2\x80\x99"
	              "Ancona",
	              UDC_NORM_OK, "ancona", "d");
	check_surname(NULL, "D Ancona", UDC_NORM_OK, "ancona", "d");
	check_surname(NULL, "le Clercq", UDC_NORM_OK, "clercq", "le");
	check_surname(NULL, "du Pont", UDC_NORM_OK, "pont", "du");
	check_surname(NULL, "di Stefano", UDC_NORM_OK, "stefano", "di");
	check_surname(NULL, "von der Heide", UDC_NORM_OK, "heide", "von der");
	/* Prefix column and surname column split again as one name. */
	check_surname("de", "l'Ecluse", UDC_NORM_OK, "ecluse", "de l");
	check_surname(NULL, "de l'Ecluse", UDC_NORM_OK, "ecluse", "de l");
	check_surname("van de", "l'Isle", UDC_NORM_OK, "isle", "van de l");
	/* A prefix outside the table is kept as given. */
	check_surname("v.d.", "Berg", UDC_NORM_OK, "berg", "v d");
	/* Not prefixes. */
	check_surname(NULL, "O'Brien", UDC_NORM_OK, "obrien", "");
	check_surname(NULL, "Jansen", UDC_NORM_OK, "jansen", "");
	check_surname(NULL, "Vandenberg", UDC_NORM_OK, "vandenberg", "");
	check_surname(NULL, "Müller-Lüdenscheidt", UDC_NORM_OK, "muller ludenscheidt", "");
	check_surname(NULL, "Jansen, Piet", UDC_NORM_OK, "jansen piet", "");
	/* A name that is only a prefix word keeps it as the surname. */
	check_surname(NULL, "De", UDC_NORM_OK, "de", "");
	/* A prefix column of punctuation counts as empty. */
	check_surname("-", "van Dijk", UDC_NORM_OK, "dijk", "van");
	check_surname(NULL, "", UDC_NORM_MISSING, "", "");
	check_surname("van", "  ", UDC_NORM_MISSING, "", "");
	check_surname(NULL, "1234", UDC_NORM_BAD_NAME, "", "");
	check_surname(NULL, "Ber\xff", UDC_NORM_BAD_UTF8, "", "");
}

/* The same person written by two sources reaches the same core surname. */
static void
test_surname_sources_agree(void **state)
{
	static const struct {
		const char *prefix, *surname;
	} forms[] = {
	    {NULL, "Van der Berg"}, {"van der", "Berg"},    {"", "Berg, van der"},
	    {"Van Der", "berg"},    {NULL, "VAN DER BERG"}, {"van der", "van der Berg"},
	};
	char out[UDC_NORM_MAX], pout[UDC_NORM_MAX];

	(void)state;
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		assert_int_equal(udc_norm_surname(forms[i].prefix, forms[i].surname, out,
		                                  sizeof(out), pout, sizeof(pout)),
		                 UDC_NORM_OK);
		assert_string_equal(out, "berg");
		assert_string_equal(pout, "van der");
	}
}

static void
test_date(void **state)
{
	(void)state;
	check(udc_norm_date, "1980-02-29", UDC_NORM_OK, "1980-02-29");
	check(udc_norm_date, "29-02-2024", UDC_NORM_OK, "2024-02-29");
	check(udc_norm_date, "29-02-2023", UDC_NORM_BAD_DATE, "");
	check(udc_norm_date, "2000-02-29", UDC_NORM_OK, "2000-02-29"); /* 400-year rule */
	check(udc_norm_date, "1900-02-29", UDC_NORM_BAD_DATE, "");     /* 100-year rule */
	check(udc_norm_date, "31/12/1999", UDC_NORM_OK, "1999-12-31");
	check(udc_norm_date, "01.02.1990", UDC_NORM_OK, "1990-02-01");
	check(udc_norm_date, "19900201", UDC_NORM_OK, "1990-02-01");
	check(udc_norm_date, "1-2-1990", UDC_NORM_OK, "1990-02-01");
	check(udc_norm_date, " 1990-2-1 ", UDC_NORM_OK, "1990-02-01");
	check(udc_norm_date, "1880-01-01", UDC_NORM_OK, "1880-01-01");
	check(udc_norm_date, "2100-12-31", UDC_NORM_OK, "2100-12-31");
	check(udc_norm_date, "1879-12-31", UDC_NORM_BAD_DATE, "");
	check(udc_norm_date, "2101-01-01", UDC_NORM_BAD_DATE, "");
	check(udc_norm_date, "1990-13-01", UDC_NORM_BAD_DATE, "");
	check(udc_norm_date, "1990-00-10", UDC_NORM_BAD_DATE, "");
	check(udc_norm_date, "1990-04-31", UDC_NORM_BAD_DATE, "");
	check(udc_norm_date, "31-4-1990", UDC_NORM_BAD_DATE, "");
	check(udc_norm_date, "00-01-1990", UDC_NORM_BAD_DATE, "");
	check(udc_norm_date, "1990-02-01x", UDC_NORM_BAD_DATE, "");
	check(udc_norm_date, "1990/02-01", UDC_NORM_BAD_DATE, "");
	check(udc_norm_date, "02-01-90", UDC_NORM_BAD_DATE, "");
	check(udc_norm_date, "19900230", UDC_NORM_BAD_DATE, "");
	check(udc_norm_date, "1990-02-01T00:00", UDC_NORM_BAD_DATE, "");
	check(udc_norm_date, "", UDC_NORM_MISSING, "");
}

static void
test_postcode(void **state)
{
	(void)state;
	check(udc_norm_postcode, "2511 ab", UDC_NORM_OK, "2511AB");
	check(udc_norm_postcode, "2511AB", UDC_NORM_OK, "2511AB");
	check(udc_norm_postcode, " 2511  Ab ", UDC_NORM_OK, "2511AB");
	check(udc_norm_postcode, "9999ZZ", UDC_NORM_OK, "9999ZZ");
	check(udc_norm_postcode, "2511 Sa", UDC_NORM_BAD_POSTCODE, "");
	check(udc_norm_postcode, "2511sd", UDC_NORM_BAD_POSTCODE, "");
	check(udc_norm_postcode, "2511 SS", UDC_NORM_BAD_POSTCODE, "");
	check(udc_norm_postcode, "0511AB", UDC_NORM_BAD_POSTCODE, "");
	check(udc_norm_postcode, "2511", UDC_NORM_BAD_POSTCODE, "");
	check(udc_norm_postcode, "25111AB", UDC_NORM_BAD_POSTCODE, "");
	check(udc_norm_postcode, "2511 A1", UDC_NORM_BAD_POSTCODE, "");
	check(udc_norm_postcode, "2511-AB", UDC_NORM_BAD_POSTCODE, "");
	check(udc_norm_postcode,
	      "2511 \xc3\x84"
	      "B",
	      UDC_NORM_BAD_POSTCODE, "");
	check(udc_norm_postcode, "", UDC_NORM_MISSING, "");
}

static void
test_bsn(void **state)
{
	(void)state;
	check(udc_norm_bsn, "111222333", UDC_NORM_OK, "111222333");
	check(udc_norm_bsn, "123456782", UDC_NORM_OK, "123456782");
	check(udc_norm_bsn, "123456789", UDC_NORM_BAD_BSN, "");
	check(udc_norm_bsn, "1234.56.782", UDC_NORM_OK, "123456782");
	check(udc_norm_bsn, " 123 456 782 ", UDC_NORM_OK, "123456782");
	/* Eight digits: a spreadsheet dropped the leading zero. */
	check(udc_norm_bsn, "10000008", UDC_NORM_OK, "010000008");
	check(udc_norm_bsn, "12345678", UDC_NORM_BAD_BSN, "");
	/* Passes the 11-test but is no number. */
	check(udc_norm_bsn, "000000000", UDC_NORM_BAD_BSN, "");
	check(udc_norm_bsn, "1234567820", UDC_NORM_BAD_BSN, "");
	check(udc_norm_bsn, "1234567", UDC_NORM_BAD_BSN, "");
	check(udc_norm_bsn, "12345678a", UDC_NORM_BAD_BSN, "");
	check(udc_norm_bsn, "-123456782", UDC_NORM_BAD_BSN, "");
	check(udc_norm_bsn, "", UDC_NORM_MISSING, "");
	assert_string_equal(udc_norm_reason(UDC_NORM_BAD_BSN), "invalid BSN (11-test)");
}

static void
test_sex(void **state)
{
	(void)state;
	check(udc_norm_sex, "M", UDC_NORM_OK, "m");
	check(udc_norm_sex, "Man", UDC_NORM_OK, "m");
	check(udc_norm_sex, "male", UDC_NORM_OK, "m");
	check(udc_norm_sex, "Mannelijk", UDC_NORM_OK, "m");
	check(udc_norm_sex, "V", UDC_NORM_OK, "f");
	check(udc_norm_sex, " vrouw ", UDC_NORM_OK, "f");
	check(udc_norm_sex, "F", UDC_NORM_OK, "f");
	check(udc_norm_sex, "Female", UDC_NORM_OK, "f");
	check(udc_norm_sex, "VROUWELIJK", UDC_NORM_OK, "f");
	check(udc_norm_sex, "X", UDC_NORM_OK, "x");
	check(udc_norm_sex, "o", UDC_NORM_OK, "x");
	check(udc_norm_sex, "Onbekend", UDC_NORM_OK, "x");
	check(udc_norm_sex, "q", UDC_NORM_BAD_SEX, "");
	check(udc_norm_sex, "mannen", UDC_NORM_BAD_SEX, "");
	check(udc_norm_sex, "", UDC_NORM_MISSING, "");
}

static void
test_houseno(void **state)
{
	(void)state;
	check(udc_norm_houseno, "12", UDC_NORM_OK, "12");
	check(udc_norm_houseno, "12a", UDC_NORM_OK, "12a");
	check(udc_norm_houseno, "12 A", UDC_NORM_OK, "12a");
	check(udc_norm_houseno, "12-A", UDC_NORM_OK, "12a");
	check(udc_norm_houseno, "12-3", UDC_NORM_OK, "12-3");
	check(udc_norm_houseno, "12/3", UDC_NORM_OK, "12-3");
	check(udc_norm_houseno, "12 3", UDC_NORM_OK, "12-3");
	check(udc_norm_houseno, "12 bis", UDC_NORM_OK, "12bis");
	check(udc_norm_houseno, "012", UDC_NORM_OK, "12");
	check(udc_norm_houseno, "99999", UDC_NORM_OK, "99999");
	check(udc_norm_houseno, "100000", UDC_NORM_BAD_HOUSENO, "");
	check(udc_norm_houseno, "0", UDC_NORM_BAD_HOUSENO, "");
	check(udc_norm_houseno, "a12", UDC_NORM_BAD_HOUSENO, "");
	check(udc_norm_houseno, "12-", UDC_NORM_OK, "12");
	check(udc_norm_houseno, "12-3-", UDC_NORM_OK, "12-3");
	check(udc_norm_houseno, "12 !", UDC_NORM_BAD_HOUSENO, "");
	check(udc_norm_houseno, "12 abcdefghij", UDC_NORM_BAD_HOUSENO, "");
	check(udc_norm_houseno, "", UDC_NORM_MISSING, "");
}

static void
test_label(void **state)
{
	(void)state;
	check(udc_norm_label, " Centrum ", UDC_NORM_OK, "Centrum");
	check(udc_norm_label, "centrum", UDC_NORM_OK, "centrum"); /* case is kept */
	/* Decomposed é becomes the composed form the spec file most likely holds. */
	check(udc_norm_label,
	      "Caf"
	      "e\xcc\x81",
	      UDC_NORM_OK, "Caf\xc3\xa9");
	check(udc_norm_label, "Caf\xc3\xa9", UDC_NORM_OK, "Caf\xc3\xa9");
	check(udc_norm_label, "", UDC_NORM_MISSING, "");
	check(udc_norm_label, "\xc3", UDC_NORM_BAD_UTF8, "");
}

/* A declared field normalises by its declaration (fields.c). */
static void
checkd(const char *decl, const char *in, int want_rc, const char *want)
{
	struct udc_fieldset fs;
	char out[UDC_NORM_MAX], err[256];
	int rc;

	udc_fieldset_init(&fs);
	if (udc_fieldset_declare(&fs, "f", decl, err, sizeof(err)) != 0)
		fail_msg("declaration '%s': %s", decl, err);
	memset(out, 'Z', sizeof(out));
	rc = udc_field_normalise(&fs.f[UDC_NFIELDS], in, out, sizeof(out));
	if (rc != want_rc)
		fail_msg("%s '%s': got %s, want %s", decl, in, udc_norm_reason(rc),
		         udc_norm_reason(want_rc));
	assert_string_equal(out, want_rc == UDC_NORM_OK ? want : "");
}

static void
test_declared_types(void **state)
{
	(void)state;
	/* name: as the built-in given_names, or with options */
	checkd("name", "  Jos\xc3\xa9-Mar\xc3\xad" "a ", UDC_NORM_OK, "jose maria");
	checkd("name case=keep", "Jos\xc3\xa9", UDC_NORM_OK, "Jose");
	checkd("name diacritics=keep", "Jos\xc3\xa9", UDC_NORM_OK, "jos\xc3\xa9");
	/* composed and decomposed é meet when diacritics are kept */
	checkd("name diacritics=keep", "Jose\xcc\x81", UDC_NORM_OK, "jos\xc3\xa9");
	checkd("name prefix=split", "van der Berg", UDC_NORM_OK, "berg");
	checkd("name normalise=none", "  Van  der Berg ", UDC_NORM_OK, "Van der Berg");
	checkd("name", "1234", UDC_NORM_BAD_NAME, "");
	/* text: digits alone are fine */
	checkd("text", "Laan van Meerdervoort 12-A", UDC_NORM_OK, "laan van meerdervoort 12 a");
	checkd("text", "1234", UDC_NORM_OK, "1234");
	checkd("text", "--", UDC_NORM_BAD_TEXT, "");
	checkd("text", "", UDC_NORM_MISSING, "");
	/* free text: blanks collapsed, control characters refused */
	checkd("freetext", " a \t b ", UDC_NORM_OK, "a b");
	checkd("freetext case=fold", "ABC d", UDC_NORM_OK, "abc d");
	checkd("freetext", "a\x01b", UDC_NORM_BAD_TEXT, "");
	checkd("freetext", "a\xff" "b", UDC_NORM_BAD_UTF8, "");
	/* dates: day-month order and the year range */
	checkd("date", "03-04-2012", UDC_NORM_OK, "2012-04-03");
	checkd("date order=mdy", "03-04-2012", UDC_NORM_OK, "2012-03-04");
	checkd("date order=mdy", "13-04-2012", UDC_NORM_BAD_DATE, "");
	checkd("date years=1900-1999", "1950-01-01", UDC_NORM_OK, "1950-01-01");
	checkd("date years=1900-1999", "2001-01-01", UDC_NORM_BAD_DATE, "");
	/* postcodes of any country */
	checkd("postcode", "SW1A 1AA", UDC_NORM_BAD_POSTCODE, "");
	checkd("postcode form=any", "sw1a 1aa", UDC_NORM_OK, "SW1A1AA");
	checkd("postcode form=any", "2600", UDC_NORM_OK, "2600");
	checkd("postcode form=any", "D-10115", UDC_NORM_OK, "D10115");
	checkd("postcode form=any", "2", UDC_NORM_BAD_POSTCODE, "");
	checkd("postcode form=any", "12#45", UDC_NORM_BAD_POSTCODE, "");
	/* numbers */
	checkd("number", " 0042 ", UDC_NORM_OK, "42");
	checkd("number", "-7", UDC_NORM_OK, "-7");
	checkd("number", "1 000", UDC_NORM_OK, "1000");
	checkd("number min=1 max=99", "100", UDC_NORM_BAD_NUMBER, "");
	checkd("number", "12a", UDC_NORM_BAD_NUMBER, "");
	checkd("number", "99999999999999999999", UDC_NORM_BAD_NUMBER, "");
	/* codes: separators dropped, upper case; the BSN check on request */
	checkd("code", "ab-12.34/x", UDC_NORM_OK, "AB1234X");
	checkd("code case=keep", "ab-12", UDC_NORM_OK, "ab12");
	checkd("code", "\xc3\xa9", UDC_NORM_BAD_CODE, "");
	checkd("code check=bsn", "11122.2333", UDC_NORM_OK, "111222333");
	checkd("code check=bsn", "111222334", UDC_NORM_BAD_BSN, "");
	checkd("code", "111222334", UDC_NORM_OK, "111222334");
	checkd("sex", "Vrouw", UDC_NORM_OK, "f");
	checkd("house_number", "12 A", UDC_NORM_OK, "12a");
}

/* The canonical text of a declaration does not depend on how it was written. */
static void
test_declaration_text(void **state)
{
	static const struct {
		const char *in, *want;
	} cases[] = {
	    {"name", "name"},
	    {"name case=fold diacritics=strip prefix=keep", "name"},
	    {"name  diacritics=keep\tcase=keep", "name case=keep diacritics=keep"},
	    {"date years=1880-2100 order=dmy", "date"},
	    {"date order=mdy years=1900-2030", "date order=mdy years=1900-2030"},
	    {"number max=10 min=-3", "number min=-3 max=10"},
	    {"code check=bsn", "code check=bsn"},
	    {"freetext case=fold", "freetext case=fold"},
	    {"postcode form=nl", "postcode"},
	};
	struct udc_fieldset fs;
	char out[256], err[256];

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		udc_fieldset_init(&fs);
		assert_int_equal(udc_fieldset_declare(&fs, "x", cases[i].in, err, sizeof(err)), 0);
		assert_int_equal(udc_fielddef_format(&fs.f[UDC_NFIELDS], out, sizeof(out)), 0);
		assert_string_equal(out, cases[i].want);
	}
	/* the built-ins are ready-made declarations */
	udc_fieldset_init(&fs);
	for (int f = 0; f < UDC_NFIELDS; f++)
		assert_true(udc_fielddef_is_builtin(&fs.f[f]));
	assert_int_equal(udc_fielddef_format(&fs.f[UDC_F_BSN], out, sizeof(out)), 0);
	assert_string_equal(out, "code check=bsn");
	assert_int_equal(udc_fieldset_declare(&fs, "postcode", "postcode form=any", err,
	                                      sizeof(err)), 0);
	assert_false(udc_fielddef_is_builtin(&fs.f[UDC_F_POSTCODE]));
	assert_int_equal(fs.n, UDC_NFIELDS);
}

static void
test_reasons(void **state)
{
	(void)state;
	for (int r = 0; r < UDC_NORM_NREASONS; r++) {
		assert_non_null(udc_norm_reason(r));
		assert_int_equal(udc_norm_reason_parse(udc_norm_reason_key(r)), r);
	}
	assert_string_equal(udc_norm_reason_key(UDC_NORM_BAD_POSTCODE), "invalid_postcode");
	assert_int_equal(udc_norm_reason_parse("nonsense"), -1);
	assert_string_equal(udc_norm_reason(UDC_NORM_BAD_DATE), "invalid date");
	assert_string_equal(udc_norm_reason(UDC_NORM_NREASONS), "unknown");
	assert_string_equal(udc_norm_reason(-1), "unknown");
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_name),
	    cmocka_unit_test(test_surname),
	    cmocka_unit_test(test_surname_sources_agree),
	    cmocka_unit_test(test_date),
	    cmocka_unit_test(test_postcode),
	    cmocka_unit_test(test_bsn),
	    cmocka_unit_test(test_sex),
	    cmocka_unit_test(test_houseno),
	    cmocka_unit_test(test_label),
	    cmocka_unit_test(test_declared_types),
	    cmocka_unit_test(test_declaration_text),
	    cmocka_unit_test(test_reasons),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
