/*
 * normalize.h - identifier normalisation (Unicode-aware, Dutch conventions).
 *
 * Each function writes a canonical NUL-terminated string into out (outlen
 * bytes) and returns UDC_NORM_OK, UDC_NORM_MISSING for an empty value, or a
 * UDC_NORM_BAD_* reason.  Inputs are UTF-8.
 */
#ifndef UDC_NORMALIZE_H
#define UDC_NORMALIZE_H

#include <stddef.h>

enum udc_norm {
	UDC_NORM_OK = 0,
	UDC_NORM_MISSING,      /* empty or only blanks */
	UDC_NORM_BAD_UTF8,
	UDC_NORM_BAD_NAME,     /* no letters left, or too long */
	UDC_NORM_BAD_DATE,
	UDC_NORM_BAD_POSTCODE,
	UDC_NORM_BAD_BSN,      /* not 8-9 digits or fails the 11-test */
	UDC_NORM_BAD_SEX,
	UDC_NORM_BAD_HOUSENO,
	UDC_NORM_BAD_TEXT,     /* no letter or digit, a control character, or too long */
	UDC_NORM_BAD_NUMBER,   /* not an integer, or outside the declared range */
	UDC_NORM_BAD_CODE,     /* a character other than ASCII letters, digits, - . / blank */
	UDC_NORM_NREASONS
};

#define UDC_NORM_MAX 256 /* out buffers of this size are always enough */

const char *udc_norm_reason(int r); /* "invalid BSN (11-test)", ... */
/* The same as a key for counts in reports: "invalid_bsn", "invalid_date", ... */
const char *udc_norm_reason_key(int r);
/* Reason for a key, or -1. */
int udc_norm_reason_parse(const char *key);

/* Options of the declarable normalisations (fields.h). */
#define UDC_NORM_KEEP_CASE 0x1        /* no case folding */
#define UDC_NORM_KEEP_MARKS 0x2       /* diacritics kept */
#define UDC_NORM_FOLD_CASE 0x4        /* free text: fold case */

/* Names: NFKD, case folding, diacritics removed, IJ/ĳ -> "ij", apostrophes
 * dropped, hyphens and runs of blanks -> one space, trimmed. */
int udc_norm_name(const char *in, char *out, size_t outlen);
/* Surname with Dutch prefix handling.  prefix may be NULL or empty; when it
 * is, a leading prefix ("van der", "de", "van 't", "ter", ...) is split off
 * surname, and a trailing ", van der" form is recognised too.  Writes the
 * core surname to out and the normalised prefix (or "") to prefix_out. */
int udc_norm_surname(const char *prefix, const char *surname, char *out, size_t outlen,
    char *prefix_out, size_t prefix_outlen);
/* Dates: YYYY-MM-DD, DD-MM-YYYY, DD/MM/YYYY, DD.MM.YYYY, YYYYMMDD -> YYYY-MM-DD;
 * a real calendar date with year 1880..2100. */
int udc_norm_date(const char *in, char *out, size_t outlen);
/* Dutch postcode: "2511 ab" -> "2511AB"; 4 digits not starting with 0, two
 * letters, not SA, SD or SS. */
int udc_norm_postcode(const char *in, char *out, size_t outlen);
/* BSN: 9 digits (8 digits get a leading zero; dots, spaces removed), passing
 * the 11-test, not all zero. */
int udc_norm_bsn(const char *in, char *out, size_t outlen);
/* Sex: m/man/male/mannelijk -> "m"; v/vrouw/f/female/vrouwelijk -> "f";
 * x/o/onbekend -> "x". */
int udc_norm_sex(const char *in, char *out, size_t outlen);
/* House number: "12", "12a", "12 A", "12-3" -> "12", "12a", "12a", "12-3";
 * number 1..99999. */
int udc_norm_houseno(const char *in, char *out, size_t outlen);
/* Names and texts with options (UDC_NORM_KEEP_CASE, UDC_NORM_KEEP_MARKS): the
 * rules of udc_norm_name; need_letter 1 for a name (a letter somewhere),
 * 0 for a text (a letter or a digit). */
int udc_norm_words(const char *in, char *out, size_t outlen, unsigned flags, int need_letter);
/* Free text: trimmed, runs of white space -> one blank, NFC, no control
 * characters; UDC_NORM_FOLD_CASE folds case. */
int udc_norm_freetext(const char *in, char *out, size_t outlen, unsigned flags);
/* Dates as udc_norm_date with the day and month of the NN-NN-YYYY forms in
 * the given order (mdy 0: DD-MM-YYYY, 1: MM-DD-YYYY) and years ylo..yhi. */
int udc_norm_date_opts(const char *in, char *out, size_t outlen, int mdy, int ylo, int yhi);
/* Any country's postcode: ASCII letters and digits, blanks and hyphens
 * dropped, upper case, 2 to 10 characters. */
int udc_norm_postcode_any(const char *in, char *out, size_t outlen);
/* An integer within [lo, hi]: optional sign, digits (blanks inside dropped),
 * written without leading zeros. */
int udc_norm_number(const char *in, char *out, size_t outlen, long long lo, long long hi);
/* A code (identifier, licence number): ASCII letters and digits, with
 * blanks, '-', '.' and '/' dropped, upper case unless UDC_NORM_KEEP_CASE; at
 * most 64 characters. */
int udc_norm_code(const char *in, char *out, size_t outlen, unsigned flags);
/* Label values: trimmed, NFC; no case change (spec values are matched as is). */
int udc_norm_label(const char *in, char *out, size_t outlen);

#endif
