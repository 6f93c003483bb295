/*
 * normalize.c - identifier normalisation (Unicode-aware, Dutch conventions).
 *
 * Both nodes run these functions on their own lists, and two records only
 * link when their normalised values are byte-identical, so every rule here
 * is about making spelling variants of the same person collide (case,
 * diacritics, "IJ" vs "ĳ", "Van der Berg" vs "Berg, van der", "2511 ab" vs
 * "2511AB") without making different people collide.  No allocation: the
 * work happens in fixed buffers sized from UDC_NORM_MAX.
 */
#include "normalize.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <utf8proc.h>

#define NAME_MAXCP 1024 /* code points after decomposition */
#define NAME_MAXIN 1024 /* input bytes after trimming */
#define NAME_MAXTOK 64  /* words in a surname */

static const char *const reasons[UDC_NORM_NREASONS] = {
    [UDC_NORM_OK] = "ok",
    [UDC_NORM_MISSING] = "missing",
    [UDC_NORM_BAD_UTF8] = "invalid UTF-8",
    [UDC_NORM_BAD_NAME] = "invalid name",
    [UDC_NORM_BAD_DATE] = "invalid date",
    [UDC_NORM_BAD_POSTCODE] = "invalid postcode",
    [UDC_NORM_BAD_BSN] = "invalid BSN (11-test)",
    [UDC_NORM_BAD_SEX] = "invalid sex",
    [UDC_NORM_BAD_HOUSENO] = "invalid house number",
    [UDC_NORM_BAD_TEXT] = "invalid text",
    [UDC_NORM_BAD_NUMBER] = "invalid number",
    [UDC_NORM_BAD_CODE] = "invalid code",
};

static const char *const reason_keys[UDC_NORM_NREASONS] = {
    [UDC_NORM_OK] = "ok",
    [UDC_NORM_MISSING] = "missing",
    [UDC_NORM_BAD_UTF8] = "invalid_utf8",
    [UDC_NORM_BAD_NAME] = "invalid_name",
    [UDC_NORM_BAD_DATE] = "invalid_date",
    [UDC_NORM_BAD_POSTCODE] = "invalid_postcode",
    [UDC_NORM_BAD_BSN] = "invalid_bsn",
    [UDC_NORM_BAD_SEX] = "invalid_sex",
    [UDC_NORM_BAD_HOUSENO] = "invalid_house_number",
    [UDC_NORM_BAD_TEXT] = "invalid_text",
    [UDC_NORM_BAD_NUMBER] = "invalid_number",
    [UDC_NORM_BAD_CODE] = "invalid_code",
};

const char *
udc_norm_reason_key(int r)
{
	if (r < 0 || r >= UDC_NORM_NREASONS)
		return "unknown";
	return reason_keys[r];
}

int
udc_norm_reason_parse(const char *key)
{
	for (int r = 0; r < UDC_NORM_NREASONS; r++)
		if (strcmp(key, reason_keys[r]) == 0)
			return r;
	return -1;
}

const char *
udc_norm_reason(int r)
{
	if (r < 0 || r >= UDC_NORM_NREASONS)
		return "unknown";
	return reasons[r];
}

static int
is_blank(int ch)
{
	return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\n' || ch == '\v' || ch == '\f';
}

/* Trims ASCII blanks; returns the start and sets *len. */
static const char *
trim(const char *in, size_t *len)
{
	size_t n;

	while (is_blank((unsigned char)*in))
		in++;
	n = strlen(in);
	while (n > 0 && is_blank((unsigned char)in[n - 1]))
		n--;
	*len = n;
	return in;
}

static int
fail(char *out, size_t outlen, int r)
{
	if (outlen > 0)
		out[0] = '\0';
	return r;
}

static int
put(char *out, size_t outlen, const char *s, size_t len)
{
	if (len >= outlen)
		return -1;
	memcpy(out, s, len);
	out[len] = '\0';
	return 0;
}

/* ------------------------------------------------------------------ names */

/* Apostrophe look-alikes typed in names (d`Ancona, d´Ancona, d’Ancona):
 * folded before decomposition, since NFKD turns the acute accent into a
 * space plus a combining mark. */
static utf8proc_int32_t
fold_apostrophe(utf8proc_int32_t cp, void *data)
{
	(void)data;
	switch (cp) {
	case 0x0060: /* grave accent */
	case 0x00b4: /* acute accent */
	case 0x02b9: /* modifier letter prime */
	case 0x02bb: /* modifier letter turned comma */
	case 0x02bc: /* modifier letter apostrophe */
	case 0x2018: /* left single quotation mark */
	case 0x2019: /* right single quotation mark */
	case 0x201b: /* single high-reversed-9 quotation mark */
	case 0x2032: /* prime */
		return '\'';
	}
	return cp;
}

/*
 * Decomposes, case-folds and strips marks, then rewrites the name as words of
 * letters and digits separated by one space.  Apostrophes are dropped unless
 * keep_apos (the surname code needs them to find "d'" and "'t"); every other
 * non-letter (hyphen, dot, comma, blank) separates words.
 */
static int
words_opts(const char *in, size_t inlen, int keep_apos, unsigned flags, int need_letter, char *out,
           size_t outlen)
{
	utf8proc_int32_t cps[NAME_MAXCP];
	utf8proc_ssize_t n;
	size_t o = 0, letters = 0, digits_seen = 0;
	int sep = 0, bad = need_letter ? UDC_NORM_BAD_NAME : UDC_NORM_BAD_TEXT;
	utf8proc_option_t opt = UTF8PROC_DECOMPOSE | UTF8PROC_COMPAT | UTF8PROC_LUMP |
	                        UTF8PROC_IGNORE | UTF8PROC_STABLE;

	if (inlen == 0)
		return UDC_NORM_MISSING;
	if (inlen > NAME_MAXIN)
		return bad;
	if (!(flags & UDC_NORM_KEEP_CASE))
		opt |= UTF8PROC_CASEFOLD;
	if (!(flags & UDC_NORM_KEEP_MARKS))
		opt |= UTF8PROC_STRIPMARK;
	n = utf8proc_decompose_custom((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)inlen, cps,
	                              NAME_MAXCP, opt, fold_apostrophe, NULL);
	if (n == UTF8PROC_ERROR_INVALIDUTF8)
		return UDC_NORM_BAD_UTF8;
	if (n < 0 || n > NAME_MAXCP)
		return bad;
	/* kept marks are put back on their letters, so that both spellings
	 * of an accented letter give the same bytes */
	if ((flags & UDC_NORM_KEEP_MARKS) &&
	    (n = utf8proc_normalize_utf32(cps, n, UTF8PROC_COMPOSE | UTF8PROC_STABLE)) < 0)
		return bad;

	for (utf8proc_ssize_t i = 0; i < n; i++) {
		utf8proc_int32_t cp = cps[i];
		utf8proc_category_t cat = utf8proc_category(cp);
		utf8proc_uint8_t enc[4];
		utf8proc_ssize_t elen;

		if (cp == '\'') {
			if (!keep_apos)
				continue;
		} else if (cat == UTF8PROC_CATEGORY_MN || cat == UTF8PROC_CATEGORY_MC ||
		           cat == UTF8PROC_CATEGORY_ME) {
			if (!(flags & UDC_NORM_KEEP_MARKS))
				continue;
		} else if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO) {
			letters++;
		} else if (cat >= UTF8PROC_CATEGORY_ND && cat <= UTF8PROC_CATEGORY_NO) {
			digits_seen++;
		} else {
			sep = 1;
			continue;
		}
		if (sep && o > 0) {
			if (o + 1 >= outlen)
				return bad;
			out[o++] = ' ';
		}
		sep = 0;
		elen = utf8proc_encode_char(cp, enc);
		if (o + (size_t)elen >= outlen)
			return bad;
		memcpy(out + o, enc, (size_t)elen);
		o += (size_t)elen;
	}
	out[o] = '\0';
	if (letters == 0 && (need_letter || digits_seen == 0))
		return bad;
	return UDC_NORM_OK;
}

static int
name_words(const char *in, size_t inlen, int keep_apos, char *out, size_t outlen)
{
	return words_opts(in, inlen, keep_apos, 0, 1, out, outlen);
}

int
udc_norm_name(const char *in, char *out, size_t outlen)
{
	size_t len;
	int r;

	in = trim(in, &len);
	if ((r = name_words(in, len, 0, out, outlen)) != UDC_NORM_OK)
		return fail(out, outlen, r);
	return UDC_NORM_OK;
}

/*
 * Surname prefixes (voorvoegsels), after the BRP table of prefixes, written
 * as normalised words without apostrophes ("van 't" is "van t").  Single
 * letters other than d, l, s and t are left out: "A" or "I" before a surname
 * is more often an initial typed into the wrong column.
 */
static const char *const prefixes[] = {
    "aan",        "aan de",     "aan den",  "aan der",  "aan het",   "aan t",      "af",
    "al",         "am",         "am de",    "auf",      "auf dem",   "auf den",    "auf der",
    "auf ter",    "aus",        "aus dem",  "aus den",  "aus der",   "aus m",      "ben",
    "bij",        "bij de",     "bij den",  "bij het",  "bij t",     "bin",        "boven d",
    "d",          "da",         "dal",      "dalla",    "das",       "de",         "de die",
    "de die le",  "de l",       "de la",    "de las",   "de le",     "de van der", "deca",
    "degli",      "dei",        "del",      "della",    "den",       "der",        "des",
    "di",         "die le",     "do",       "don",      "dos",       "du",         "el",
    "het",        "im",         "in",       "in de",    "in den",    "in der",     "in het",
    "in t",       "l",          "la",       "las",      "le",        "les",        "lo",
    "los",        "op",         "op de",    "op den",   "op der",    "op gen",     "op het",
    "op t",       "op ten",     "over",     "over de",  "over den",  "over het",   "over t",
    "s",          "t",          "te",       "ten",      "ter",       "tho",        "thoe",
    "thor",       "to",         "toe",      "tot",      "uijt",      "uijt de",    "uijt den",
    "uijt t",     "uijt te de", "uijt ten", "uit",      "uit de",    "uit den",    "uit het",
    "uit t",      "uit te de",  "uit ten",  "unter",    "van",       "van de",     "van de l",
    "van den",    "van der",    "van gen",  "van het",  "van la",    "van t",      "van ter",
    "van van de", "ver",        "vom",      "von",      "von dem",   "von den",    "von der",
    "von t",      "voor",       "voor de",  "voor den", "voor in t", "voor t",     "vor",
    "vor der",    "zu",         "zum",      "zur",
};

struct words {
	char buf[UDC_NORM_MAX * 2]; /* the words, NUL-separated, apostrophes removed */
	const char *w[NAME_MAXTOK];
	int glued[NAME_MAXTOK]; /* written without a space before it */
	size_t n;
};

/* Appends s without apostrophes; returns 1 if a word was added, 0 if nothing
 * was left, -1 when full. */
static int
words_add(struct words *ws, size_t *o, const char *s, size_t len, int glued)
{
	char *dst = ws->buf + *o;
	size_t k = 0;

	if (ws->n == NAME_MAXTOK || *o + len + 1 > sizeof(ws->buf))
		return -1;
	for (size_t i = 0; i < len; i++)
		if (s[i] != '\'')
			dst[k++] = s[i];
	if (k == 0)
		return 0;
	dst[k] = '\0';
	ws->w[ws->n] = dst;
	ws->glued[ws->n] = glued;
	ws->n++;
	*o += k + 1;
	return 1;
}

/* Appends the words of src from `from` on; the first one starts a new word. */
static int
words_append(struct words *dst, size_t *o, const struct words *src, size_t from)
{
	for (size_t i = from; i < src->n; i++) {
		const char *w = src->w[i];

		if (words_add(dst, o, w, strlen(w), i > from && src->glued[i]) < 0)
			return -1;
	}
	return 0;
}

/*
 * Splits a name (UTF-8, read through name_words with apostrophes kept) into
 * words.  An apostrophe inside a word splits it: "d'ancona" -> "d" "ancona",
 * "van't" -> "van" "t", so that the prefix table sees the same words however
 * the apostrophe was spaced; "o'brien" -> "o" "brien" glued, which joins back
 * to "obrien" when it is not a prefix.
 */
static int
words_split(const char *in, size_t inlen, struct words *ws)
{
	char tmp[UDC_NORM_MAX * 2];
	size_t o = 0;
	const char *p;
	int r;

	ws->n = 0;
	if ((r = name_words(in, inlen, 1, tmp, sizeof(tmp))) != UDC_NORM_OK)
		return r;
	p = tmp;
	while (*p != '\0') {
		size_t wlen = strcspn(p, " ");
		size_t start = 0;
		int first = 1;

		for (size_t i = 0; i <= wlen; i++) {
			if (i < wlen && p[i] != '\'')
				continue;
			if ((r = words_add(ws, &o, p + start, i - start, !first)) < 0)
				return UDC_NORM_BAD_NAME;
			if (r > 0)
				first = 0;
			start = i + 1;
		}
		p += wlen;
		while (*p == ' ')
			p++;
	}
	if (ws->n == 0)
		return UDC_NORM_BAD_NAME;
	return UDC_NORM_OK;
}

/* Number of words of ws, from word `from`, that prefix entry p covers. */
static size_t
prefix_match(const struct words *ws, size_t from, const char *p)
{
	size_t k = from;

	while (*p != '\0') {
		size_t plen = strcspn(p, " ");

		if (k >= ws->n || strlen(ws->w[k]) != plen || memcmp(ws->w[k], p, plen) != 0)
			return 0;
		k++;
		p += plen;
		if (*p == ' ')
			p++;
	}
	return k - from;
}

/* Longest prefix entry covering words from `from`, leaving at least one word. */
static size_t
prefix_longest(const struct words *ws, size_t from)
{
	size_t best = 0;

	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++) {
		size_t m = prefix_match(ws, from, prefixes[i]);

		if (m > best && from + m < ws->n)
			best = m;
	}
	return best;
}

/* True when all words of ws are exactly one prefix entry. */
static int
prefix_whole(const struct words *ws)
{
	for (size_t i = 0; i < sizeof(prefixes) / sizeof(prefixes[0]); i++)
		if (prefix_match(ws, 0, prefixes[i]) == ws->n)
			return 1;
	return 0;
}

/* Joins words [from, to); glued words join without a space unless all_spaced. */
static int
words_join(const struct words *ws, size_t from, size_t to, int all_spaced, char *out, size_t outlen)
{
	size_t o = 0;

	for (size_t i = from; i < to; i++) {
		size_t len = strlen(ws->w[i]);

		if (i > from && (all_spaced || !ws->glued[i])) {
			if (o + 1 >= outlen)
				return -1;
			out[o++] = ' ';
		}
		if (o + len >= outlen)
			return -1;
		memcpy(out + o, ws->w[i], len);
		o += len;
	}
	if (outlen > 0)
		out[o] = '\0';
	return 0;
}

static int
has_letter(const char *s)
{
	const utf8proc_uint8_t *p = (const utf8proc_uint8_t *)s;
	utf8proc_int32_t cp;
	utf8proc_ssize_t n;

	while (*p != '\0') {
		if ((n = utf8proc_iterate(p, -1, &cp)) <= 0)
			return 0;
		utf8proc_category_t cat = utf8proc_category(cp);
		if (cat >= UTF8PROC_CATEGORY_LU && cat <= UTF8PROC_CATEGORY_LO)
			return 1;
		p += n;
	}
	return 0;
}

int
udc_norm_surname(const char *prefix, const char *surname, char *out, size_t outlen,
                 char *prefix_out, size_t prefix_outlen)
{
	struct words sw, pw, both;
	const struct words *cw;
	const char *s, *comma;
	size_t slen, plen, skip = 0, m;
	int r, have_prefix = 0;

	if (prefix_outlen > 0)
		prefix_out[0] = '\0';
	s = trim(surname, &slen);
	if (slen == 0)
		return fail(out, outlen, UDC_NORM_MISSING);

	if (prefix != NULL) {
		const char *p = trim(prefix, &plen);

		/* A prefix column holding only punctuation counts as empty. */
		r = words_split(p, plen, &pw);
		if (r == UDC_NORM_BAD_UTF8)
			return fail(out, outlen, r);
		have_prefix = (r == UDC_NORM_OK);
	}

	/* "Berg, van der": the prefix written after the name. */
	if (!have_prefix && (comma = memchr(s, ',', slen)) != NULL) {
		const char *last = comma;
		const char *tail;
		size_t tlen;

		while ((comma = memchr(last + 1, ',', slen - (size_t)(last + 1 - s))) != NULL)
			last = comma;
		tail = trim(last + 1, &tlen);
		/* tail stays inside s: only blanks follow s + slen. */
		if (words_split(tail, tlen, &pw) == UDC_NORM_OK && prefix_whole(&pw)) {
			have_prefix = 1;
			slen = (size_t)(last - s);
			while (slen > 0 && is_blank((unsigned char)s[slen - 1]))
				slen--;
		}
	}

	if ((r = words_split(s, slen, &sw)) != UDC_NORM_OK)
		return fail(out, outlen, r);

	cw = &sw;
	if (have_prefix) {
		/* Some sources repeat the prefix in the surname column. */
		if (pw.n < sw.n) {
			size_t k = 0;

			while (k < pw.n && strcmp(sw.w[k], pw.w[k]) == 0)
				k++;
			if (k == pw.n)
				skip = k;
		}
		/* Split prefix and surname again as one name, so that "de" +
		 * "l'Ecluse" and "de l'Ecluse" agree; a prefix not in the table
		 * is kept as given. */
		size_t o = 0;
		both.n = 0;
		if (words_append(&both, &o, &pw, 0) != 0 || words_append(&both, &o, &sw, skip) != 0)
			return fail(out, outlen, UDC_NORM_BAD_NAME);
		cw = &both;
		m = prefix_longest(cw, 0);
		if (m < pw.n)
			m = pw.n;
	} else {
		m = prefix_longest(cw, 0);
	}

	if (words_join(cw, m, cw->n, 0, out, outlen) != 0)
		return fail(out, outlen, UDC_NORM_BAD_NAME);
	if (!has_letter(out))
		return fail(out, outlen, UDC_NORM_BAD_NAME);
	if (words_join(cw, 0, m, 1, prefix_out, prefix_outlen) != 0) {
		if (prefix_outlen > 0)
			prefix_out[0] = '\0';
		return fail(out, outlen, UDC_NORM_BAD_NAME);
	}
	return UDC_NORM_OK;
}

int
udc_norm_words(const char *in, char *out, size_t outlen, unsigned flags, int need_letter)
{
	size_t len;
	int r;

	in = trim(in, &len);
	if ((r = words_opts(in, len, 0, flags, need_letter, out, outlen)) != UDC_NORM_OK)
		return fail(out, outlen, r);
	return UDC_NORM_OK;
}

int
udc_norm_freetext(const char *in, char *out, size_t outlen, unsigned flags)
{
	utf8proc_int32_t cps[NAME_MAXCP];
	utf8proc_option_t opt = UTF8PROC_DECOMPOSE | UTF8PROC_STABLE;
	utf8proc_ssize_t n;
	size_t len, o = 0;
	int sep = 0;

	in = trim(in, &len);
	if (len == 0)
		return fail(out, outlen, UDC_NORM_MISSING);
	if (len > NAME_MAXIN)
		return fail(out, outlen, UDC_NORM_BAD_TEXT);
	if (flags & UDC_NORM_FOLD_CASE)
		opt |= UTF8PROC_CASEFOLD;
	n = utf8proc_decompose((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)len, cps,
	                       NAME_MAXCP, opt);
	if (n == UTF8PROC_ERROR_INVALIDUTF8)
		return fail(out, outlen, UDC_NORM_BAD_UTF8);
	if (n < 0 || n > NAME_MAXCP ||
	    (n = utf8proc_normalize_utf32(cps, n, UTF8PROC_COMPOSE | UTF8PROC_STABLE)) < 0)
		return fail(out, outlen, UDC_NORM_BAD_TEXT);
	for (utf8proc_ssize_t i = 0; i < n; i++) {
		utf8proc_category_t cat = utf8proc_category(cps[i]);
		utf8proc_uint8_t enc[4];
		utf8proc_ssize_t elen;

		if (cat == UTF8PROC_CATEGORY_ZS || cps[i] == '\t' || cps[i] == '\n' ||
		    cps[i] == '\r' || cps[i] == '\v' || cps[i] == '\f') {
			sep = 1;
			continue;
		}
		if (cat == UTF8PROC_CATEGORY_CC)
			return fail(out, outlen, UDC_NORM_BAD_TEXT);
		if (sep && o > 0) {
			if (o + 1 >= outlen)
				return fail(out, outlen, UDC_NORM_BAD_TEXT);
			out[o++] = ' ';
		}
		sep = 0;
		elen = utf8proc_encode_char(cps[i], enc);
		if (o + (size_t)elen >= outlen)
			return fail(out, outlen, UDC_NORM_BAD_TEXT);
		memcpy(out + o, enc, (size_t)elen);
		o += (size_t)elen;
	}
	if (o == 0)
		return fail(out, outlen, UDC_NORM_MISSING);
	out[o] = '\0';
	return UDC_NORM_OK;
}

/* ------------------------------------------------------------------ dates */

static int
leap(int y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static int
days_in_month(int y, int m)
{
	static const int dim[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};

	return m == 2 && leap(y) ? 29 : dim[m - 1];
}

/* Reads 1..maxd digits; returns the count, 0 if none. */
static size_t
digits(const char *s, size_t len, size_t maxd, int *val)
{
	size_t i = 0;

	*val = 0;
	while (i < len && i < maxd && s[i] >= '0' && s[i] <= '9')
		*val = *val * 10 + (s[i++] - '0');
	return i;
}

int
udc_norm_date(const char *in, char *out, size_t outlen)
{
	return udc_norm_date_opts(in, out, outlen, 0, 1880, 2100);
}

int
udc_norm_date_opts(const char *in, char *out, size_t outlen, int mdy, int ylo, int yhi)
{
	char buf[32];
	size_t len, i, k;
	int y, m, d, a, b, c;

	in = trim(in, &len);
	if (len == 0)
		return fail(out, outlen, UDC_NORM_MISSING);
	if (len > 10)
		return fail(out, outlen, UDC_NORM_BAD_DATE);

	if (len == 8 && digits(in, len, 8, &a) == 8) {
		y = a / 10000;
		m = a / 100 % 100;
		d = a % 100;
	} else {
		/* a SEP b SEP c, one separator kind throughout. */
		char sep;

		if ((i = digits(in, len, 4, &a)) == 0 || i == len)
			return fail(out, outlen, UDC_NORM_BAD_DATE);
		sep = in[i];
		if (sep != '-' && sep != '/' && sep != '.')
			return fail(out, outlen, UDC_NORM_BAD_DATE);
		size_t na = i;
		if ((k = digits(in + i + 1, len - i - 1, 2, &b)) == 0)
			return fail(out, outlen, UDC_NORM_BAD_DATE);
		i += 1 + k;
		if (i >= len || in[i] != sep)
			return fail(out, outlen, UDC_NORM_BAD_DATE);
		i++;
		size_t nc = digits(in + i, len - i, 4, &c);
		if (nc == 0 || i + nc != len)
			return fail(out, outlen, UDC_NORM_BAD_DATE);
		if (na == 4 && nc <= 2) {
			y = a, m = b, d = c;
		} else if (na <= 2 && nc == 4) {
			if (mdy)
				m = a, d = b, y = c;
			else
				d = a, m = b, y = c;
		} else {
			return fail(out, outlen, UDC_NORM_BAD_DATE);
		}
	}
	if (y < ylo || y > yhi || m < 1 || m > 12 || d < 1 || d > days_in_month(y, m))
		return fail(out, outlen, UDC_NORM_BAD_DATE);
	snprintf(buf, sizeof(buf), "%04d-%02d-%02d", y, m, d);
	if (put(out, outlen, buf, 10) != 0)
		return fail(out, outlen, UDC_NORM_BAD_DATE);
	return UDC_NORM_OK;
}

/* -------------------------------------------------------------- postcode */

int
udc_norm_postcode(const char *in, char *out, size_t outlen)
{
	char pc[7];
	size_t len, k = 0;

	in = trim(in, &len);
	if (len == 0)
		return fail(out, outlen, UDC_NORM_MISSING);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (is_blank(ch))
			continue;
		if (k == 6)
			return fail(out, outlen, UDC_NORM_BAD_POSTCODE);
		if (ch >= 'a' && ch <= 'z')
			ch = (unsigned char)(ch - 'a' + 'A');
		pc[k++] = (char)ch;
	}
	pc[k] = '\0';
	if (k != 6)
		return fail(out, outlen, UDC_NORM_BAD_POSTCODE);
	for (size_t i = 0; i < 4; i++)
		if (pc[i] < '0' || pc[i] > '9')
			return fail(out, outlen, UDC_NORM_BAD_POSTCODE);
	if (pc[0] == '0')
		return fail(out, outlen, UDC_NORM_BAD_POSTCODE);
	for (size_t i = 4; i < 6; i++)
		if (pc[i] < 'A' || pc[i] > 'Z')
			return fail(out, outlen, UDC_NORM_BAD_POSTCODE);
	/* PostNL never issues these letter pairs. */
	if (strcmp(pc + 4, "SA") == 0 || strcmp(pc + 4, "SD") == 0 || strcmp(pc + 4, "SS") == 0)
		return fail(out, outlen, UDC_NORM_BAD_POSTCODE);
	if (put(out, outlen, pc, 6) != 0)
		return fail(out, outlen, UDC_NORM_BAD_POSTCODE);
	return UDC_NORM_OK;
}

int
udc_norm_postcode_any(const char *in, char *out, size_t outlen)
{
	char pc[11];
	size_t len, k = 0;

	in = trim(in, &len);
	if (len == 0)
		return fail(out, outlen, UDC_NORM_MISSING);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)in[i];

		if (is_blank(ch) || ch == '-')
			continue;
		if (ch >= 'a' && ch <= 'z')
			ch = (unsigned char)(ch - 'a' + 'A');
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9')) || k == 10)
			return fail(out, outlen, UDC_NORM_BAD_POSTCODE);
		pc[k++] = (char)ch;
	}
	if (k < 2 || put(out, outlen, pc, k) != 0)
		return fail(out, outlen, UDC_NORM_BAD_POSTCODE);
	return UDC_NORM_OK;
}

/* ---------------------------------------------------------------- numbers */

int
udc_norm_number(const char *in, char *out, size_t outlen, long long lo, long long hi)
{
	char buf[32];
	size_t len, i = 0;
	unsigned long long v = 0;
	int neg = 0, nd = 0;

	in = trim(in, &len);
	if (len == 0)
		return fail(out, outlen, UDC_NORM_MISSING);
	if (in[0] == '+' || in[0] == '-') {
		neg = in[0] == '-';
		i++;
	}
	for (; i < len; i++) {
		if (is_blank((unsigned char)in[i]))
			continue;
		if (in[i] < '0' || in[i] > '9')
			return fail(out, outlen, UDC_NORM_BAD_NUMBER);
		if (v > (unsigned long long)LLONG_MAX / 10)
			return fail(out, outlen, UDC_NORM_BAD_NUMBER);
		v = v * 10 + (unsigned long long)(in[i] - '0');
		if (v > (unsigned long long)LLONG_MAX)
			return fail(out, outlen, UDC_NORM_BAD_NUMBER);
		nd++;
	}
	if (nd == 0)
		return fail(out, outlen, UDC_NORM_BAD_NUMBER);
	{
		long long x = neg ? -(long long)v : (long long)v;
		int n;

		if (x < lo || x > hi)
			return fail(out, outlen, UDC_NORM_BAD_NUMBER);
		n = snprintf(buf, sizeof(buf), "%lld", x);
		if (n < 0 || put(out, outlen, buf, (size_t)n) != 0)
			return fail(out, outlen, UDC_NORM_BAD_NUMBER);
	}
	return UDC_NORM_OK;
}

/* ------------------------------------------------------------------ codes */

#define CODE_MAX 64

int
udc_norm_code(const char *in, char *out, size_t outlen, unsigned flags)
{
	char buf[CODE_MAX];
	size_t len, k = 0;

	in = trim(in, &len);
	if (len == 0)
		return fail(out, outlen, UDC_NORM_MISSING);
	for (size_t i = 0; i < len; i++) {
		char ch = in[i];

		if (is_blank((unsigned char)ch) || ch == '-' || ch == '.' || ch == '/')
			continue;
		if (ch >= 'a' && ch <= 'z' && !(flags & UDC_NORM_KEEP_CASE))
			ch = (char)(ch - 'a' + 'A');
		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) ||
		    k == CODE_MAX)
			return fail(out, outlen, UDC_NORM_BAD_CODE);
		buf[k++] = ch;
	}
	if (k == 0)
		return fail(out, outlen, UDC_NORM_BAD_CODE);
	if (put(out, outlen, buf, k) != 0)
		return fail(out, outlen, UDC_NORM_BAD_CODE);
	return UDC_NORM_OK;
}

/* ------------------------------------------------------------------- BSN */

int
udc_norm_bsn(const char *in, char *out, size_t outlen)
{
	char d[10];
	size_t len, k = 0;
	int sum = 0, nonzero = 0;

	in = trim(in, &len);
	if (len == 0)
		return fail(out, outlen, UDC_NORM_MISSING);
	for (size_t i = 0; i < len; i++) {
		char ch = in[i];

		if (ch == '.' || is_blank((unsigned char)ch))
			continue;
		if (ch < '0' || ch > '9' || k == 9)
			return fail(out, outlen, UDC_NORM_BAD_BSN);
		d[k++] = ch;
	}
	if (k < 8)
		return fail(out, outlen, UDC_NORM_BAD_BSN);
	if (k == 8) {
		/* Spreadsheets drop the leading zero. */
		memmove(d + 1, d, 8);
		d[0] = '0';
	}
	d[9] = '\0';
	for (int i = 0; i < 8; i++)
		sum += (9 - i) * (d[i] - '0');
	sum -= d[8] - '0';
	for (int i = 0; i < 9; i++)
		nonzero |= d[i] != '0';
	if (!nonzero || sum % 11 != 0)
		return fail(out, outlen, UDC_NORM_BAD_BSN);
	if (put(out, outlen, d, 9) != 0)
		return fail(out, outlen, UDC_NORM_BAD_BSN);
	return UDC_NORM_OK;
}

/* ------------------------------------------------------------------- sex */

int
udc_norm_sex(const char *in, char *out, size_t outlen)
{
	static const struct {
		const char *in, *out;
	} map[] = {
	    {"m", "m"},          {"man", "m"},   {"male", "m"}, {"mannelijk", "m"},
	    {"v", "f"},          {"vrouw", "f"}, {"f", "f"},    {"female", "f"},
	    {"vrouwelijk", "f"}, {"x", "x"},     {"o", "x"},    {"onbekend", "x"},
	};
	char low[16];
	size_t len;

	in = trim(in, &len);
	if (len == 0)
		return fail(out, outlen, UDC_NORM_MISSING);
	if (len >= sizeof(low))
		return fail(out, outlen, UDC_NORM_BAD_SEX);
	for (size_t i = 0; i < len; i++)
		low[i] = (in[i] >= 'A' && in[i] <= 'Z') ? (char)(in[i] - 'A' + 'a') : in[i];
	low[len] = '\0';
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++)
		if (strcmp(low, map[i].in) == 0) {
			if (put(out, outlen, map[i].out, 1) != 0)
				break;
			return UDC_NORM_OK;
		}
	return fail(out, outlen, UDC_NORM_BAD_SEX);
}

/* ---------------------------------------------------------- house number */

#define HOUSENO_MAXADD 8 /* letters and digits after the number */

/*
 * The number, then an optional addition: a letter follows directly ("12a",
 * from "12a", "12 A" or "12-A"); a numeric addition keeps a hyphen ("12-3",
 * from "12-3", "12 3" or "12/3").  Inside the addition blanks are dropped
 * and '/' becomes '-'.
 */
int
udc_norm_houseno(const char *in, char *out, size_t outlen)
{
	char buf[32];
	size_t len, i = 0, o, nadd = 0;
	int num = 0;

	in = trim(in, &len);
	if (len == 0)
		return fail(out, outlen, UDC_NORM_MISSING);
	while (i < len && in[i] >= '0' && in[i] <= '9') {
		num = num * 10 + (in[i] - '0');
		if (num > 99999)
			return fail(out, outlen, UDC_NORM_BAD_HOUSENO);
		i++;
	}
	if (i == 0 || num < 1)
		return fail(out, outlen, UDC_NORM_BAD_HOUSENO);
	o = (size_t)snprintf(buf, sizeof(buf), "%d", num);

	while (i < len && (is_blank((unsigned char)in[i]) || in[i] == '-' || in[i] == '/'))
		i++;
	if (i < len && in[i] >= '0' && in[i] <= '9')
		buf[o++] = '-';
	for (; i < len; i++) {
		char ch = in[i];

		if (is_blank((unsigned char)ch))
			continue;
		if (ch == '-' || ch == '/') {
			if (buf[o - 1] != '-')
				buf[o++] = '-';
			continue;
		}
		if (ch >= 'A' && ch <= 'Z')
			ch = (char)(ch - 'A' + 'a');
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9')) ||
		    ++nadd > HOUSENO_MAXADD)
			return fail(out, outlen, UDC_NORM_BAD_HOUSENO);
		buf[o++] = ch;
	}
	/* "12-" comes from exports that join an empty addition. */
	if (buf[o - 1] == '-')
		o--;
	if (put(out, outlen, buf, o) != 0)
		return fail(out, outlen, UDC_NORM_BAD_HOUSENO);
	return UDC_NORM_OK;
}

/* ----------------------------------------------------------------- labels */

int
udc_norm_label(const char *in, char *out, size_t outlen)
{
	utf8proc_int32_t cps[UDC_NORM_MAX];
	utf8proc_ssize_t n;
	size_t len, o = 0;

	in = trim(in, &len);
	if (len == 0)
		return fail(out, outlen, UDC_NORM_MISSING);
	if (len > UDC_NORM_MAX * 4)
		return fail(out, outlen, UDC_NORM_BAD_NAME);
	n = utf8proc_decompose((const utf8proc_uint8_t *)in, (utf8proc_ssize_t)len, cps,
	                       UDC_NORM_MAX, UTF8PROC_DECOMPOSE | UTF8PROC_STABLE);
	if (n == UTF8PROC_ERROR_INVALIDUTF8)
		return fail(out, outlen, UDC_NORM_BAD_UTF8);
	if (n < 0 || n > UDC_NORM_MAX)
		return fail(out, outlen, UDC_NORM_BAD_NAME);
	n = utf8proc_normalize_utf32(cps, n, UTF8PROC_COMPOSE | UTF8PROC_STABLE);
	if (n < 0)
		return fail(out, outlen, UDC_NORM_BAD_NAME);
	for (utf8proc_ssize_t i = 0; i < n; i++) {
		utf8proc_uint8_t enc[4];
		utf8proc_ssize_t elen = utf8proc_encode_char(cps[i], enc);

		if (o + (size_t)elen >= outlen)
			return fail(out, outlen, UDC_NORM_BAD_NAME);
		memcpy(out + o, enc, (size_t)elen);
		o += (size_t)elen;
	}
	out[o] = '\0';
	return UDC_NORM_OK;
}
