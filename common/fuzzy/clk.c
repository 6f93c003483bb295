/*
 * clk.c - clkhash-compatible CLK encoder (linkage-schema v3).
 *
 * Mirrors clkhash 0.18 step by step so that the bytes agree:
 *   schema.py       -> schema_parse_*      (which keys, which defaults)
 *   key_derivation  -> derive_keys         (HKDF, 2 keys per feature)
 *   field_formats   -> validate_format     (validation and normalisation)
 *   comparators     -> tokenize_*          (n-grams on code points, exact,
 *                                           numeric)
 *   bloomfilter.py  -> hash_blake, hash_double, fold
 * Comments name the clkhash behaviour being copied where it is surprising.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/kdf.h>
#include <sodium.h>
#include <utf8proc.h>

#include "blake2b.h"
#include "clk.h"
#include "err.h"
#include "file.h"
#include "secmem.h"

#define CLK_MAX_L (1u << 24) /* bits before folding */
#define CLK_MAX_NGRAM 64
#define CLK_MAX_RESOLUTION 4096
#define CLK_MAX_FP 15          /* 10^15 still exact in a double */
#define CLK_DEFAULT_KEYSIZE 64 /* clkhash DEFAULT_KEY_SIZE */
#define CLK_KEYS_PER_FIELD 2   /* clkhash DEFAULT_NUM_HASHING_METHODS */

enum fmt_type { FMT_STRING, FMT_INTEGER, FMT_DATE, FMT_ENUM };
enum cmp_type { CMP_NGRAM, CMP_EXACT, CMP_NUMERIC };
enum hash_type { HASH_BLAKE, HASH_DOUBLE };
enum enc_type { ENC_UTF8, ENC_ASCII, ENC_UTF16, ENC_UTF32 };
enum case_type { CASE_MIXED, CASE_LOWER, CASE_UPPER };

/* One element of a parsed strptime format. */
enum date_item { DI_LIT, DI_SPACE, DI_Y, DI_y, DI_m, DI_d, DI_b, DI_B };
struct date_tok {
	enum date_item kind;
	uint32_t cp; /* DI_LIT */
};

struct clk_field {
	char *name;
	int ignored;

	enum fmt_type fmt;
	enum enc_type enc;
	enum case_type casing;
	long long min_len, max_len; /* -1: none */
	int has_min, has_max;
	json_int_t min, max;
	struct date_tok *date;
	size_t ndate;
	char **enum_vals;
	size_t nenum;

	enum cmp_type cmp;
	unsigned n;
	int positional;
	long long num_interval;
	unsigned num_resolution, num_fp;

	int per_feature; /* bitsPerFeature (else bitsPerToken) */
	unsigned bits;

	enum hash_type hash;
	int prevent_singularity;

	int has_missing;
	char *sentinel, *replace_with;
};

struct udc_clk_schema {
	size_t nfields;
	struct clk_field *fields;
	size_t l, hash_l;
	unsigned folds;
	int kdf_sha512;
	uint8_t *salt, *info;
	size_t saltlen, infolen;
	size_t keysize;
};

struct udc_clk_encoder {
	const struct udc_clk_schema *schema;
	uint8_t *keys; /* sodium_malloc: nfields * 2 * keysize */
	size_t keyslen;
	/* per feature: blakeHash's state after its key block with salt "0"
	 * (locked memory, like the keys); NULL if the key is over 64 bytes */
	struct udc_blake2b_keyed *blake0;
};

static void seterr(char *err, size_t errlen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* ---------- UTF-8 and Python string semantics ---------- */

/* Decodes strict UTF-8 (no surrogates, no overlongs) into code points.
 * *out is malloc'ed (at least one element).  Returns 0, UDC_EINVAL, UDC_ENOMEM. */
static int
utf8_decode(const char *s, uint32_t **out, size_t *n)
{
	size_t len = strlen(s), i = 0, k = 0;
	uint32_t *cps;

	if ((cps = malloc((len + 1) * sizeof(*cps))) == NULL)
		return UDC_ENOMEM;
	while (i < len) {
		utf8proc_int32_t cp;
		utf8proc_ssize_t r = utf8proc_iterate((const utf8proc_uint8_t *)s + i,
		                                      (utf8proc_ssize_t)(len - i), &cp);
		if (r <= 0 || cp < 0) {
			free(cps);
			return UDC_EINVAL;
		}
		cps[k++] = (uint32_t)cp;
		i += (size_t)r;
	}
	*out = cps;
	*n = k;
	return 0;
}

/* Python str.isspace() (the characters \s and str.strip() treat as space). */
static int
py_isspace(uint32_t c)
{
	if ((c >= 0x09 && c <= 0x0d) || (c >= 0x1c && c <= 0x20))
		return 1;
	switch (c) {
	case 0x85:
	case 0xa0:
	case 0x1680:
	case 0x2028:
	case 0x2029:
	case 0x202f:
	case 0x205f:
	case 0x3000:
		return 1;
	}
	return c >= 0x2000 && c <= 0x200a;
}

/* Characters whose Python full upper/lower case mapping differs from the
 * simple one utf8proc knows (so str.upper() != s although toupper(c) == c). */
static int
special_upper(uint32_t c)
{
	return c == 0xdf || c == 0x149 || c == 0x1f0 || c == 0x390 || c == 0x3b0 || c == 0x587 ||
	       (c >= 0x1e96 && c <= 0x1e9a) || (c >= 0xfb00 && c <= 0xfb06) ||
	       (c >= 0xfb13 && c <= 0xfb17);
}

static int
is_digit(uint32_t c)
{
	return c >= '0' && c <= '9';
}

static uint32_t
lower(uint32_t c)
{
	return (uint32_t)utf8proc_tolower((utf8proc_int32_t)c);
}

/* Python's round() of a float (half to even) without libm, for |x| < 2^62;
 * larger doubles are integers already. */
static double
round_even(double x)
{
	long long t;
	double fr;

	if (!(x < 4611686018427387904.0 && x > -4611686018427387904.0))
		return x;
	t = (long long)x;
	fr = x - (double)t; /* exact */
	if (fr > 0.5 || (fr == 0.5 && (t & 1)))
		t++;
	else if (fr < -0.5 || (fr == -0.5 && (t & 1)))
		t--;
	return (double)t;
}

/* float(10 ** fp): exact for fp <= 22, as Python's int-to-float is. */
static double
pow10_exact(unsigned fp)
{
	double r = 1;

	while (fp-- > 0)
		r *= 10;
	return r;
}

/* ---------- growable byte buffer for encoded tokens ---------- */

struct tokbuf {
	uint8_t *b;
	size_t len, cap;
	size_t *off; /* token i is b[off[i] .. off[i+1]) */
	size_t ntok, tokcap;
};

static int
tb_reserve(struct tokbuf *t, size_t more)
{
	if (t->len + more > t->cap) {
		size_t cap = t->cap ? t->cap : 256;
		uint8_t *nb;
		while (cap < t->len + more)
			cap *= 2;
		if ((nb = realloc(t->b, cap)) == NULL)
			return UDC_ENOMEM;
		t->b = nb;
		t->cap = cap;
	}
	return 0;
}

static int
tb_begin(struct tokbuf *t)
{
	if (t->ntok + 2 > t->tokcap) {
		size_t cap = t->tokcap ? t->tokcap * 2 : 64;
		size_t *no;
		if ((no = realloc(t->off, cap * sizeof(*no))) == NULL)
			return UDC_ENOMEM;
		t->off = no;
		t->tokcap = cap;
	}
	t->off[t->ntok] = t->len;
	return 0;
}

static void
tb_end(struct tokbuf *t)
{
	t->ntok++;
	t->off[t->ntok] = t->len;
}

static void
tb_reset(struct tokbuf *t)
{
	t->len = 0;
	t->ntok = 0;
}

static void
tb_free(struct tokbuf *t)
{
	free(t->b);
	free(t->off);
}

/* Appends code points in the field's encoding, as Python's str.encode()
 * does for a whole token (utf-16/utf-32 start each token with a BOM). */
static int
tb_put(struct tokbuf *t, enum enc_type enc, const uint32_t *cps, size_t n, int bom)
{
	size_t i;
	int rv;

	if ((rv = tb_reserve(t, n * 4 + 4)) != 0)
		return rv;
	if (bom && enc == ENC_UTF16) {
		t->b[t->len++] = 0xff;
		t->b[t->len++] = 0xfe;
	} else if (bom && enc == ENC_UTF32) {
		t->b[t->len++] = 0xff;
		t->b[t->len++] = 0xfe;
		t->b[t->len++] = 0;
		t->b[t->len++] = 0;
	}
	for (i = 0; i < n; i++) {
		uint32_t c = cps[i];
		switch (enc) {
		case ENC_ASCII:
			if (c > 0x7f)
				return UDC_EINVAL;
			t->b[t->len++] = (uint8_t)c;
			break;
		case ENC_UTF8:
			t->len += (size_t)utf8proc_encode_char((utf8proc_int32_t)c, t->b + t->len);
			break;
		case ENC_UTF16:
			if (c >= 0x10000) {
				uint32_t v = c - 0x10000;
				uint32_t hi = 0xd800 | (v >> 10), lo = 0xdc00 | (v & 0x3ff);
				t->b[t->len++] = hi & 0xff;
				t->b[t->len++] = (uint8_t)(hi >> 8);
				t->b[t->len++] = lo & 0xff;
				t->b[t->len++] = (uint8_t)(lo >> 8);
			} else {
				t->b[t->len++] = c & 0xff;
				t->b[t->len++] = (uint8_t)(c >> 8);
			}
			break;
		case ENC_UTF32:
			t->b[t->len++] = c & 0xff;
			t->b[t->len++] = (c >> 8) & 0xff;
			t->b[t->len++] = (c >> 16) & 0xff;
			t->b[t->len++] = (uint8_t)(c >> 24);
			break;
		}
	}
	return 0;
}

/* ---------- schema parsing ---------- */

struct pctx {
	const char *name; /* file name for messages */
	char *err;
	size_t errlen;
};

#define FIELD_ERR(p, f, ...) field_err((p), (f), __VA_ARGS__)

static int field_err(struct pctx *p, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int
field_err(struct pctx *p, const char *field, const char *fmt, ...)
{
	char msg[256];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (field != NULL)
		seterr(p->err, p->errlen, "%s: field '%s': %s", p->name, field, msg);
	else
		seterr(p->err, p->errlen, "%s: %s", p->name, msg);
	return UDC_EINVAL;
}

/* Refuses keys the encoder does not know, so that nothing in a schema is
 * silently ignored.  allowed is a NULL-terminated list. */
static int
check_keys(struct pctx *p, const char *field, const char *where, json_t *obj,
           const char *const *allowed)
{
	const char *key;
	json_t *v;

	json_object_foreach(obj, key, v)
	{
		const char *const *a;
		for (a = allowed; *a != NULL; a++)
			if (strcmp(*a, key) == 0)
				break;
		if (*a == NULL)
			return FIELD_ERR(p, field, "%s: key '%s' not supported", where, key);
	}
	return 0;
}

static int
get_uint(struct pctx *p, const char *field, const char *what, json_t *v, json_int_t lo,
         json_int_t hi, json_int_t *out)
{
	if (!json_is_integer(v))
		return FIELD_ERR(p, field, "%s must be an integer", what);
	*out = json_integer_value(v);
	if (*out < lo || *out > hi)
		return FIELD_ERR(p, field, "%s must be between %lld and %lld", what, (long long)lo,
		                 (long long)hi);
	return 0;
}

static int
get_b64(struct pctx *p, const char *what, json_t *v, uint8_t **out, size_t *outlen)
{
	const char *s;
	size_t len, binlen;

	if (!json_is_string(v))
		return FIELD_ERR(p, NULL, "kdf %s must be a base64 string", what);
	s = json_string_value(v);
	len = json_string_length(v);
	if ((*out = malloc(len + 1)) == NULL)
		return UDC_ENOMEM;
	if (sodium_base642bin(*out, len + 1, s, len, "\n\r ", &binlen, NULL,
	                      sodium_base64_VARIANT_ORIGINAL) != 0)
		return FIELD_ERR(p, NULL, "kdf %s is not valid base64", what);
	*outlen = binlen;
	return 0;
}

static char *
dupstr(json_t *v)
{
	return strdup(json_string_value(v));
}

/* Parses a strptime format into tokens; only the directives whose Python
 * regular expressions we reproduce exactly are accepted. */
static int
parse_date_format(struct pctx *p, struct clk_field *f, const char *fmt)
{
	uint32_t *cps = NULL;
	size_t n, i;
	unsigned seen = 0;
	int rv;

	if ((rv = utf8_decode(fmt, &cps, &n)) != 0)
		return rv == UDC_ENOMEM ? rv : FIELD_ERR(p, f->name, "date format is not UTF-8");
	if ((f->date = calloc(n + 1, sizeof(*f->date))) == NULL) {
		free(cps);
		return UDC_ENOMEM;
	}
	for (i = 0; i < n; i++) {
		struct date_tok *t = &f->date[f->ndate];
		if (py_isspace(cps[i])) {
			/* Python turns each run of white space into \s+ */
			while (i + 1 < n && py_isspace(cps[i + 1]))
				i++;
			t->kind = DI_SPACE;
		} else if (cps[i] != '%') {
			t->kind = DI_LIT;
			t->cp = cps[i];
		} else if (i + 1 == n) {
			free(cps);
			return FIELD_ERR(p, f->name, "date format ends in '%%'");
		} else {
			uint32_t d = cps[++i];
			unsigned bit;
			switch (d) {
			case '%':
				t->kind = DI_LIT;
				t->cp = '%';
				break;
			case 'Y':
				t->kind = DI_Y;
				break;
			case 'y':
				t->kind = DI_y;
				break;
			case 'm':
				t->kind = DI_m;
				break;
			case 'd':
				t->kind = DI_d;
				break;
			case 'b':
				t->kind = DI_b;
				break;
			case 'B':
				t->kind = DI_B;
				break;
			default:
				free(cps);
				if (d < 0x80)
					return FIELD_ERR(p, f->name,
					                 "date directive '%%%c' not supported",
					                 (char)d);
				return FIELD_ERR(p, f->name, "date format directive not supported");
			}
			bit = t->kind == DI_LIT ? 0 : 1u << t->kind;
			if (seen & bit) {
				free(cps);
				return FIELD_ERR(p, f->name, "date directive '%%%c' appears twice",
				                 (char)d);
			}
			seen |= bit;
		}
		f->ndate++;
	}
	free(cps);
	return 0;
}

static const char *const k_feature[] = {"identifier", "format", "hashing", "description", NULL};
/* clkhash ignores everything else in an ignored feature */
static const char *const k_ignored[] = {"identifier", "ignored", "description",
                                        "format",     "hashing", NULL};
static const char *const k_string[] = {"type",      "encoding",    "case", "minLength",
                                       "maxLength", "description", NULL};
static const char *const k_integer[] = {"type", "minimum", "maximum", "description", NULL};
static const char *const k_date[] = {"type", "format", "description", NULL};
static const char *const k_enum[] = {"type", "values", "description", NULL};
static const char *const k_hashing[] = {"comparison", "strategy", "hash", "missingValue", NULL};
static const char *const k_ngram[] = {"type", "n", "positional", NULL};
static const char *const k_exact[] = {"type", NULL};
static const char *const k_numeric[] = {
    "type", "thresholdDistance", "resolution", "fractional_precision", "fractionalPrecision", NULL};
static const char *const k_strategy[] = {"bitsPerToken", "bitsPerFeature", NULL};
static const char *const k_hash[] = {"type", "prevent_singularity", NULL};
static const char *const k_missing[] = {"sentinel", "replaceWith", NULL};
static const char *const k_clkconfig[] = {"l", "kdf", "xor_folds", "xorFolds", NULL};
static const char *const k_kdf[] = {"type", "hash", "salt", "info", "keySize", NULL};
static const char *const k_top[] = {"version", "clkConfig", "features", "$schema",
                                    "id",      "$id",       NULL};

static int
parse_format(struct pctx *p, struct clk_field *f, json_t *fmt)
{
	const char *type;
	json_t *v;
	json_int_t iv = 0;
	int rv;

	if (!json_is_object(fmt))
		return FIELD_ERR(p, f->name, "format must be an object");
	v = json_object_get(fmt, "type");
	if (!json_is_string(v))
		return FIELD_ERR(p, f->name, "format has no type");
	type = json_string_value(v);
	f->enc = ENC_UTF8;
	f->min_len = f->max_len = -1;
	if (strcmp(type, "string") == 0) {
		f->fmt = FMT_STRING;
		if (json_object_get(fmt, "pattern") != NULL)
			return FIELD_ERR(
			    p, f->name, "string pattern (Python regular expression) not supported");
		if ((rv = check_keys(p, f->name, "format", fmt, k_string)) != 0)
			return rv;
		if ((v = json_object_get(fmt, "encoding")) != NULL) {
			const char *e = json_is_string(v) ? json_string_value(v) : "";
			if (strcmp(e, "utf-8") == 0)
				f->enc = ENC_UTF8;
			else if (strcmp(e, "ascii") == 0)
				f->enc = ENC_ASCII;
			else if (strcmp(e, "utf-16") == 0)
				f->enc = ENC_UTF16;
			else if (strcmp(e, "utf-32") == 0)
				f->enc = ENC_UTF32;
			else
				return FIELD_ERR(p, f->name, "encoding '%s' not supported", e);
		}
		if ((v = json_object_get(fmt, "case")) != NULL) {
			const char *c = json_is_string(v) ? json_string_value(v) : "";
			if (strcmp(c, "mixed") == 0)
				f->casing = CASE_MIXED;
			else if (strcmp(c, "lower") == 0)
				f->casing = CASE_LOWER;
			else if (strcmp(c, "upper") == 0)
				f->casing = CASE_UPPER;
			else
				return FIELD_ERR(p, f->name, "case '%s' not supported", c);
		}
		if ((v = json_object_get(fmt, "minLength")) != NULL) {
			if ((rv = get_uint(p, f->name, "minLength", v, 0, INT32_MAX, &iv)) != 0)
				return rv;
			f->min_len = iv;
		}
		if ((v = json_object_get(fmt, "maxLength")) != NULL) {
			if ((rv = get_uint(p, f->name, "maxLength", v, 1, INT32_MAX, &iv)) != 0)
				return rv;
			f->max_len = iv;
		}
	} else if (strcmp(type, "integer") == 0) {
		f->fmt = FMT_INTEGER;
		if ((rv = check_keys(p, f->name, "format", fmt, k_integer)) != 0)
			return rv;
		if ((v = json_object_get(fmt, "minimum")) != NULL) {
			if (!json_is_integer(v))
				return FIELD_ERR(p, f->name, "minimum must be an integer");
			f->has_min = 1;
			f->min = json_integer_value(v);
		}
		if ((v = json_object_get(fmt, "maximum")) != NULL) {
			if (!json_is_integer(v))
				return FIELD_ERR(p, f->name, "maximum must be an integer");
			f->has_max = 1;
			f->max = json_integer_value(v);
		}
	} else if (strcmp(type, "date") == 0) {
		f->fmt = FMT_DATE;
		if ((rv = check_keys(p, f->name, "format", fmt, k_date)) != 0)
			return rv;
		v = json_object_get(fmt, "format");
		if (!json_is_string(v))
			return FIELD_ERR(p, f->name, "date format needs a 'format' string");
		if ((rv = parse_date_format(p, f, json_string_value(v))) != 0)
			return rv;
	} else if (strcmp(type, "enum") == 0) {
		size_t i;
		f->fmt = FMT_ENUM;
		if ((rv = check_keys(p, f->name, "format", fmt, k_enum)) != 0)
			return rv;
		v = json_object_get(fmt, "values");
		if (!json_is_array(v))
			return FIELD_ERR(p, f->name, "enum format needs a 'values' array");
		if ((f->enum_vals = calloc(json_array_size(v) + 1, sizeof(char *))) == NULL)
			return UDC_ENOMEM;
		for (i = 0; i < json_array_size(v); i++) {
			json_t *e = json_array_get(v, i);
			if (!json_is_string(e))
				return FIELD_ERR(p, f->name, "enum values must be strings");
			if ((f->enum_vals[f->nenum] = dupstr(e)) == NULL)
				return UDC_ENOMEM;
			f->nenum++;
		}
	} else {
		return FIELD_ERR(p, f->name, "format type '%s' not supported", type);
	}
	return 0;
}

static int
parse_comparison(struct pctx *p, struct clk_field *f, json_t *c)
{
	const char *type;
	json_t *v;
	json_int_t iv = 0;
	int rv;

	if (!json_is_object(c))
		return FIELD_ERR(p, f->name, "hashing needs a 'comparison' object");
	v = json_object_get(c, "type");
	type = json_is_string(v) ? json_string_value(v) : "";
	if (strcmp(type, "ngram") == 0) {
		f->cmp = CMP_NGRAM;
		if ((rv = check_keys(p, f->name, "comparison", c, k_ngram)) != 0)
			return rv;
		if ((rv = get_uint(p, f->name, "n-gram n", json_object_get(c, "n"), 1,
		                   CLK_MAX_NGRAM, &iv)) != 0)
			return rv;
		f->n = (unsigned)iv;
		if ((v = json_object_get(c, "positional")) != NULL) {
			if (!json_is_boolean(v))
				return FIELD_ERR(p, f->name, "positional must be true or false");
			f->positional = json_is_true(v);
		}
	} else if (strcmp(type, "exact") == 0) {
		f->cmp = CMP_EXACT;
		if ((rv = check_keys(p, f->name, "comparison", c, k_exact)) != 0)
			return rv;
	} else if (strcmp(type, "numeric") == 0) {
		double td, scaled;
		json_int_t fp = 0, res = 0;
		f->cmp = CMP_NUMERIC;
		if ((rv = check_keys(p, f->name, "comparison", c, k_numeric)) != 0)
			return rv;
		v = json_object_get(c, "thresholdDistance");
		if (!json_is_number(v) || !(json_number_value(v) > 0))
			return FIELD_ERR(p, f->name, "thresholdDistance must be a positive number");
		td = json_number_value(v);
		if ((rv = get_uint(p, f->name, "resolution", json_object_get(c, "resolution"), 1,
		                   CLK_MAX_RESOLUTION, &res)) != 0)
			return rv;
		if ((v = json_object_get(c, "fractional_precision")) == NULL)
			v = json_object_get(c, "fractionalPrecision");
		if (v != NULL &&
		    (rv = get_uint(p, f->name, "fractional_precision", v, 0, CLK_MAX_FP, &fp)) != 0)
			return rv;
		/* int(round(threshold_distance * pow(10, fp))): round half to even */
		scaled = td * pow10_exact((unsigned)fp);
		if (scaled < 1e18)
			scaled = round_even(scaled);
		if (!(scaled >= 1) || scaled > 1e15)
			return FIELD_ERR(p, f->name,
			                 "thresholdDistance does not fit the fractional precision");
		f->num_interval = (long long)scaled;
		f->num_resolution = (unsigned)res;
		f->num_fp = (unsigned)fp;
	} else {
		return FIELD_ERR(p, f->name, "comparison type '%s' not supported", type);
	}
	return 0;
}

static int
parse_hashing(struct pctx *p, struct clk_field *f, json_t *h)
{
	json_t *v, *s;
	json_int_t iv = 0;
	int rv;

	if (!json_is_object(h))
		return FIELD_ERR(p, f->name, "hashing must be an object");
	if ((rv = check_keys(p, f->name, "hashing", h, k_hashing)) != 0)
		return rv;
	if ((rv = parse_comparison(p, f, json_object_get(h, "comparison"))) != 0)
		return rv;

	s = json_object_get(h, "strategy");
	if (!json_is_object(s))
		return FIELD_ERR(p, f->name, "hashing needs a 'strategy' object");
	if ((rv = check_keys(p, f->name, "strategy", s, k_strategy)) != 0)
		return rv;
	if ((v = json_object_get(s, "bitsPerToken")) != NULL) {
		f->per_feature = 0;
		if (json_object_get(s, "bitsPerFeature") != NULL)
			return FIELD_ERR(p, f->name,
			                 "strategy has both bitsPerToken and bitsPerFeature");
		if ((rv = get_uint(p, f->name, "bitsPerToken", v, 1, 1 << 20, &iv)) != 0)
			return rv;
	} else if ((v = json_object_get(s, "bitsPerFeature")) != NULL) {
		f->per_feature = 1;
		if ((rv = get_uint(p, f->name, "bitsPerFeature", v, 1, 1 << 20, &iv)) != 0)
			return rv;
	} else {
		return FIELD_ERR(p, f->name, "strategy needs bitsPerToken or bitsPerFeature");
	}
	f->bits = (unsigned)iv;

	f->hash = HASH_BLAKE; /* clkhash default {"type": "blakeHash"} */
	if ((v = json_object_get(h, "hash")) != NULL) {
		const char *t;
		json_t *ps;
		if (!json_is_object(v))
			return FIELD_ERR(p, f->name, "hash must be an object");
		if ((rv = check_keys(p, f->name, "hash", v, k_hash)) != 0)
			return rv;
		t = json_is_string(json_object_get(v, "type"))
		        ? json_string_value(json_object_get(v, "type"))
		        : "";
		if (strcmp(t, "blakeHash") == 0)
			f->hash = HASH_BLAKE;
		else if (strcmp(t, "doubleHash") == 0)
			f->hash = HASH_DOUBLE;
		else
			return FIELD_ERR(p, f->name, "hash strategy '%s' not supported", t);
		if ((ps = json_object_get(v, "prevent_singularity")) != NULL) {
			if (f->hash != HASH_DOUBLE)
				return FIELD_ERR(p, f->name,
				                 "prevent_singularity is only for doubleHash");
			if (!json_is_boolean(ps))
				return FIELD_ERR(p, f->name,
				                 "prevent_singularity must be true or false");
			f->prevent_singularity = json_is_true(ps);
		}
	}

	if ((v = json_object_get(h, "missingValue")) != NULL) {
		json_t *sv, *rw;
		if (!json_is_object(v))
			return FIELD_ERR(p, f->name, "missingValue must be an object");
		if ((rv = check_keys(p, f->name, "missingValue", v, k_missing)) != 0)
			return rv;
		sv = json_object_get(v, "sentinel");
		rw = json_object_get(v, "replaceWith");
		if (!json_is_string(sv))
			return FIELD_ERR(p, f->name, "missingValue needs a sentinel string");
		if (rw != NULL && !json_is_string(rw))
			return FIELD_ERR(p, f->name, "replaceWith must be a string");
		f->has_missing = 1;
		if ((f->sentinel = dupstr(sv)) == NULL ||
		    (f->replace_with = dupstr(rw != NULL ? rw : sv)) == NULL)
			return UDC_ENOMEM;
	}
	return 0;
}

static int
parse_feature(struct pctx *p, struct clk_field *f, json_t *j, size_t idx)
{
	json_t *id, *ign;
	int rv;

	if (!json_is_object(j))
		return FIELD_ERR(p, NULL, "feature %zu is not an object", idx);
	id = json_object_get(j, "identifier");
	if (!json_is_string(id))
		return FIELD_ERR(p, NULL, "feature %zu has no identifier", idx);
	if ((f->name = dupstr(id)) == NULL)
		return UDC_ENOMEM;
	if ((ign = json_object_get(j, "ignored")) != NULL) {
		if (!json_is_true(ign))
			return FIELD_ERR(p, f->name, "'ignored' must be true");
		f->ignored = 1;
		return check_keys(p, f->name, "feature", j, k_ignored);
	}
	if ((rv = check_keys(p, f->name, "feature", j, k_feature)) != 0)
		return rv;
	if (json_object_get(j, "format") == NULL)
		return FIELD_ERR(p, f->name, "no format");
	if (json_object_get(j, "hashing") == NULL)
		return FIELD_ERR(p, f->name, "no hashing");
	if ((rv = parse_format(p, f, json_object_get(j, "format"))) != 0)
		return rv;
	return parse_hashing(p, f, json_object_get(j, "hashing"));
}

static int
parse_clkconfig(struct pctx *p, struct udc_clk_schema *s, json_t *c)
{
	json_t *v, *kdf, *x1, *x2;
	json_int_t iv = 0;
	int rv;

	if (!json_is_object(c))
		return FIELD_ERR(p, NULL, "clkConfig missing or not an object");
	if ((rv = check_keys(p, NULL, "clkConfig", c, k_clkconfig)) != 0)
		return rv;
	if ((rv = get_uint(p, NULL, "clkConfig.l", json_object_get(c, "l"), 1, CLK_MAX_L, &iv)) !=
	    0)
		return rv;
	s->l = (size_t)iv;
	/* clkhash 0.18 reads "xor_folds"; the v3 JSON schema documents "xorFolds" */
	x1 = json_object_get(c, "xor_folds");
	x2 = json_object_get(c, "xorFolds");
	if (x1 != NULL && x2 != NULL && !json_equal(x1, x2))
		return FIELD_ERR(p, NULL, "xor_folds and xorFolds disagree");
	if ((v = x1 != NULL ? x1 : x2) != NULL) {
		if ((rv = get_uint(p, NULL, "xor_folds", v, 0, 16, &iv)) != 0)
			return rv;
		s->folds = (unsigned)iv;
	}
	s->hash_l = s->l << s->folds;
	if (s->hash_l > CLK_MAX_L)
		return FIELD_ERR(p, NULL, "l * 2^xor_folds is too large");

	kdf = json_object_get(c, "kdf");
	if (!json_is_object(kdf))
		return FIELD_ERR(p, NULL, "clkConfig.kdf missing or not an object");
	if ((rv = check_keys(p, NULL, "kdf", kdf, k_kdf)) != 0)
		return rv;
	v = json_object_get(kdf, "type");
	if (!json_is_string(v) || strcmp(json_string_value(v), "HKDF") != 0)
		return FIELD_ERR(p, NULL, "kdf type '%s' not supported",
		                 json_is_string(v) ? json_string_value(v) : "");
	if ((v = json_object_get(kdf, "hash")) != NULL) {
		const char *h = json_is_string(v) ? json_string_value(v) : "";
		if (strcmp(h, "SHA256") == 0)
			s->kdf_sha512 = 0;
		else if (strcmp(h, "SHA512") == 0)
			s->kdf_sha512 = 1;
		else
			return FIELD_ERR(p, NULL, "kdf hash '%s' not supported", h);
	}
	if ((v = json_object_get(kdf, "salt")) != NULL &&
	    (rv = get_b64(p, "salt", v, &s->salt, &s->saltlen)) != 0)
		return rv;
	if ((v = json_object_get(kdf, "info")) != NULL &&
	    (rv = get_b64(p, "info", v, &s->info, &s->infolen)) != 0)
		return rv;
	s->keysize = CLK_DEFAULT_KEYSIZE;
	if ((v = json_object_get(kdf, "keySize")) != NULL) {
		if ((rv = get_uint(p, NULL, "kdf keySize", v, 1, 1024, &iv)) != 0)
			return rv;
		s->keysize = (size_t)iv;
	}
	return 0;
}

int
udc_clk_schema_parse(struct udc_clk_schema **out, const char *json, size_t len, const char *name,
                     char *err, size_t errlen)
{
	struct pctx p = {name != NULL ? name : "schema", err, errlen};
	struct udc_clk_schema *s = NULL;
	json_t *root = NULL, *v, *feats;
	json_error_t jerr;
	size_t i;
	int rv = 0;

	*out = NULL;
	root = json_loadb(json, len, JSON_REJECT_DUPLICATES, &jerr);
	if (root == NULL) {
		seterr(err, errlen, "%s:%d: %s", p.name, jerr.line, jerr.text);
		rv = UDC_EPARSE;
		goto out;
	}
	if (!json_is_object(root)) {
		rv = FIELD_ERR(&p, NULL, "top level is not an object");
		goto out;
	}
	if ((rv = check_keys(&p, NULL, "schema", root, k_top)) != 0)
		goto out;
	v = json_object_get(root, "version");
	if (!json_is_number(v) || json_number_value(v) != 3) {
		rv = FIELD_ERR(&p, NULL, "only linkage-schema version 3 is supported");
		goto out;
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	if ((rv = parse_clkconfig(&p, s, json_object_get(root, "clkConfig"))) != 0)
		goto out;
	feats = json_object_get(root, "features");
	if (!json_is_array(feats) || json_array_size(feats) == 0) {
		rv = FIELD_ERR(&p, NULL, "features missing or empty");
		goto out;
	}
	if ((s->fields = calloc(json_array_size(feats), sizeof(*s->fields))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	for (i = 0; i < json_array_size(feats); i++) {
		struct clk_field *f = &s->fields[i];
		s->nfields++;
		if ((rv = parse_feature(&p, f, json_array_get(feats, i), i)) != 0)
			goto out;
		if (f->ignored)
			continue;
		/* bloomfilter.py: blake indices are hash mod l, l a power of two */
		if (f->hash == HASH_BLAKE && (s->hash_l & (s->hash_l - 1)) != 0) {
			rv = FIELD_ERR(&p, f->name,
			               "blakeHash needs l * 2^xor_folds to be a power of two");
			goto out;
		}
		if (f->hash == HASH_BLAKE &&
		    (s->keysize < crypto_generichash_blake2b_KEYBYTES_MIN ||
		     s->keysize > crypto_generichash_blake2b_KEYBYTES_MAX)) {
			rv = FIELD_ERR(&p, f->name, "blakeHash needs a kdf keySize of 16 to 64");
			goto out;
		}
	}
	*out = s;
	s = NULL;
out:
	udc_clk_schema_free(s);
	json_decref(root);
	return rv;
}

int
udc_clk_schema_load(struct udc_clk_schema **out, const char *path, char *err, size_t errlen)
{
	char *buf = NULL;
	size_t len = 0;
	int rv;

	*out = NULL;
	if ((rv = udc_file_read(path, 16u << 20, 0, &buf, &len, err, errlen)) != 0)
		return rv;
	rv = udc_clk_schema_parse(out, buf, len, path, err, errlen);
	free(buf);
	return rv;
}

void
udc_clk_schema_free(struct udc_clk_schema *s)
{
	size_t i, j;

	if (s == NULL)
		return;
	for (i = 0; i < s->nfields; i++) {
		struct clk_field *f = &s->fields[i];
		free(f->name);
		free(f->date);
		for (j = 0; j < f->nenum; j++)
			free(f->enum_vals[j]);
		free(f->enum_vals);
		free(f->sentinel);
		free(f->replace_with);
	}
	free(s->fields);
	free(s->salt);
	free(s->info);
	free(s);
}

size_t
udc_clk_schema_nfields(const struct udc_clk_schema *s)
{
	return s->nfields;
}

const char *
udc_clk_schema_field_name(const struct udc_clk_schema *s, size_t i)
{
	return i < s->nfields ? s->fields[i].name : NULL;
}

int
udc_clk_schema_field_ignored(const struct udc_clk_schema *s, size_t i)
{
	return i < s->nfields ? s->fields[i].ignored : 1;
}

size_t
udc_clk_schema_nencoded(const struct udc_clk_schema *s)
{
	size_t n = 0;

	for (size_t i = 0; i < s->nfields; i++)
		n += !s->fields[i].ignored;
	return n;
}

size_t
udc_clk_schema_bits(const struct udc_clk_schema *s)
{
	return s->l;
}

size_t
udc_clk_schema_bytes(const struct udc_clk_schema *s)
{
	return (s->l + 7) / 8;
}

/* ---------- keys ---------- */

int
udc_clk_encoder_new(struct udc_clk_encoder **out, const struct udc_clk_schema *schema,
                    const uint8_t *secret, size_t secretlen, char *err, size_t errlen)
{
	struct udc_clk_encoder *e = NULL;
	EVP_KDF *kdf = NULL;
	EVP_KDF_CTX *kctx = NULL;
	OSSL_PARAM params[5], *pp = params;
	size_t hashlen = schema->kdf_sha512 ? 64 : 32;
	int rv = 0;

	*out = NULL;
	if (secret == NULL || secretlen == 0) {
		seterr(err, errlen, "empty secret");
		return UDC_EINVAL;
	}
	if (sodium_init() < 0) {
		seterr(err, errlen, "libsodium initialisation failed");
		return UDC_ECRYPTO;
	}
	if ((e = calloc(1, sizeof(*e))) == NULL)
		return UDC_ENOMEM;
	e->schema = schema;
	e->keyslen = schema->nfields * CLK_KEYS_PER_FIELD * schema->keysize;
	/* RFC 5869: at most 255 blocks of output (clkhash fails the same way) */
	if (e->keyslen > 255 * hashlen) {
		seterr(err, errlen,
		       "HKDF cannot derive %zu key bytes (%zu features x %d keys x %zu)",
		       e->keyslen, schema->nfields, CLK_KEYS_PER_FIELD, schema->keysize);
		rv = UDC_EINVAL;
		goto out;
	}
	if ((e->keys = udc_secmem_alloc(e->keyslen)) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	if ((kdf = EVP_KDF_fetch(NULL, "HKDF", NULL)) == NULL ||
	    (kctx = EVP_KDF_CTX_new(kdf)) == NULL) {
		seterr(err, errlen, "HKDF not available");
		rv = UDC_ECRYPTO;
		goto out;
	}
	*pp++ = OSSL_PARAM_construct_utf8_string(OSSL_KDF_PARAM_DIGEST,
	                                         schema->kdf_sha512 ? "SHA512" : "SHA256", 0);
	*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_KEY, (void *)secret, secretlen);
	/* no salt and an empty salt are the same in HKDF: HashLen zero bytes */
	if (schema->saltlen > 0)
		*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, schema->salt,
		                                          schema->saltlen);
	if (schema->infolen > 0)
		*pp++ = OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_INFO, schema->info,
		                                          schema->infolen);
	*pp = OSSL_PARAM_construct_end();
	if (EVP_KDF_derive(kctx, e->keys, e->keyslen, params) != 1) {
		seterr(err, errlen, "HKDF derivation failed");
		rv = UDC_ECRYPTO;
		goto out;
	}
	/* the first key of a feature keys its blakeHash; its first block is
	 * the same for every token */
	if (schema->keysize <= 64) {
		uint8_t salt[crypto_generichash_blake2b_SALTBYTES] = {'0'};

		if ((e->blake0 = udc_secmem_alloc(schema->nfields * sizeof(*e->blake0))) == NULL) {
			rv = UDC_ENOMEM;
			goto out;
		}
		for (size_t fi = 0; fi < schema->nfields; fi++)
			udc_blake2b_keyed_init(&e->blake0[fi],
			                       e->keys + fi * CLK_KEYS_PER_FIELD * schema->keysize,
			                       schema->keysize, 64, salt, NULL);
		sodium_mprotect_readonly(e->blake0);
	}
	sodium_mprotect_readonly(e->keys);
	*out = e;
	e = NULL;
out:
	EVP_KDF_CTX_free(kctx);
	EVP_KDF_free(kdf);
	udc_clk_encoder_free(e);
	return rv;
}

void
udc_clk_encoder_free(struct udc_clk_encoder *e)
{
	if (e == NULL)
		return;
	udc_secmem_free(e->keys); /* wipes */
	udc_secmem_free(e->blake0);
	free(e);
}

/* ---------- validation and normalisation (field_formats.py) ---------- */

/* Python int(s, 10) for ASCII digits: surrounding white space, a sign,
 * single underscores between digits, leading zeros.  Writes str(int(s)) into
 * out (which holds n + 3 bytes). */
static int
py_int(const uint32_t *c, size_t n, char *out)
{
	size_t i = 0, j = 0, k, z = 0;
	int neg = 0;

	while (n > 0 && py_isspace(c[n - 1]))
		n--;
	while (i < n && py_isspace(c[i]))
		i++;
	if (i < n && (c[i] == '+' || c[i] == '-'))
		neg = c[i++] == '-';
	if (i == n)
		return UDC_EINVAL;
	for (k = i; k < n; k++) {
		if (is_digit(c[k]))
			out[1 + j++] = (char)c[k];
		else if (!(c[k] == '_' && k > i && k + 1 < n && is_digit(c[k - 1]) &&
		           is_digit(c[k + 1])))
			return UDC_EINVAL;
	}
	while (z + 1 < j && out[1 + z] == '0')
		z++;
	memmove(out + 1, out + 1 + z, j - z);
	j -= z;
	out[1 + j] = '\0';
	if (j == 1 && out[1] == '0')
		neg = 0; /* str(int('-0')) == '0' */
	if (neg)
		out[0] = '-';
	else
		memmove(out, out + 1, j + 1);
	return 0;
}

/* Compares a normalised decimal string with an integer: <0, 0, >0. */
static int
dec_cmp(const char *d, json_int_t v)
{
	char vb[32];
	int dneg = d[0] == '-', vneg = v < 0, r;
	size_t dl, vl;

	snprintf(vb, sizeof(vb), "%lld", (long long)v);
	if (dneg != vneg)
		return dneg ? -1 : 1;
	dl = strlen(d + dneg);
	vl = strlen(vb + vneg);
	if (dl != vl)
		r = dl < vl ? -1 : 1;
	else
		r = strcmp(d + dneg, vb + vneg);
	return dneg ? -r : r;
}

static const char *const month_abbr[12] = {"jan", "feb", "mar", "apr", "may", "jun",
                                           "jul", "aug", "sep", "oct", "nov", "dec"};
static const char *const month_full[12] = {"january",   "february", "march",    "april",
                                           "may",       "june",     "july",     "august",
                                           "september", "october",  "november", "december"};

struct date_val {
	int year, month, day, have_year;
};

/* Length of month name m matched case-insensitively at s[pos], or 0. */
static size_t
match_name(const uint32_t *s, size_t n, size_t pos, const char *m)
{
	size_t k = strlen(m), i;

	if (pos + k > n)
		return 0;
	for (i = 0; i < k; i++)
		if (lower(s[pos + i]) != (uint32_t)m[i])
			return 0;
	return k;
}

/*
 * Backtracking match of the strptime tokens, in the order Python's regular
 * expression engine tries alternatives (_strptime.TimeRE), stopping at the
 * first match of the whole pattern (which need not consume the whole
 * string: strptime then reports "unconverted data remains").
 * Returns the end position or -1.
 */
static long
date_match(const struct date_tok *t, size_t nt, const uint32_t *s, size_t n, size_t pos,
           struct date_val *dv)
{
	long r;

	if (nt == 0)
		return (long)pos;
	switch (t->kind) {
	case DI_LIT:
		if (pos < n && (s[pos] == t->cp || lower(s[pos]) == lower(t->cp)))
			return date_match(t + 1, nt - 1, s, n, pos + 1, dv);
		return -1;
	case DI_SPACE: {
		size_t e = pos;
		while (e < n && py_isspace(s[e]))
			e++;
		for (; e > pos; e--) /* greedy \s+ */
			if ((r = date_match(t + 1, nt - 1, s, n, e, dv)) >= 0)
				return r;
		return -1;
	}
	case DI_Y:
		if (pos + 4 > n || !is_digit(s[pos]) || !is_digit(s[pos + 1]) ||
		    !is_digit(s[pos + 2]) || !is_digit(s[pos + 3]))
			return -1;
		dv->year = (int)((s[pos] - '0') * 1000 + (s[pos + 1] - '0') * 100 +
		                 (s[pos + 2] - '0') * 10 + (s[pos + 3] - '0'));
		dv->have_year = 1;
		return date_match(t + 1, nt - 1, s, n, pos + 4, dv);
	case DI_y: {
		int y;
		if (pos + 2 > n || !is_digit(s[pos]) || !is_digit(s[pos + 1]))
			return -1;
		y = (int)((s[pos] - '0') * 10 + (s[pos + 1] - '0'));
		dv->year = y <= 68 ? 2000 + y : 1900 + y;
		dv->have_year = 1;
		return date_match(t + 1, nt - 1, s, n, pos + 2, dv);
	}
	case DI_m: {
		/* (?P<m>1[0-2]|0[1-9]|[1-9]) */
		if (pos + 1 < n && s[pos] == '1' && s[pos + 1] >= '0' && s[pos + 1] <= '2') {
			dv->month = 10 + (int)(s[pos + 1] - '0');
			if ((r = date_match(t + 1, nt - 1, s, n, pos + 2, dv)) >= 0)
				return r;
		}
		if (pos + 1 < n && s[pos] == '0' && s[pos + 1] >= '1' && s[pos + 1] <= '9') {
			dv->month = (int)(s[pos + 1] - '0');
			if ((r = date_match(t + 1, nt - 1, s, n, pos + 2, dv)) >= 0)
				return r;
		}
		if (pos < n && s[pos] >= '1' && s[pos] <= '9') {
			dv->month = (int)(s[pos] - '0');
			if ((r = date_match(t + 1, nt - 1, s, n, pos + 1, dv)) >= 0)
				return r;
		}
		return -1;
	}
	case DI_d: {
		/* (?P<d>3[0-1]|[1-2]\d|0[1-9]|[1-9]| [1-9]) */
		if (pos + 1 < n && s[pos] == '3' && (s[pos + 1] == '0' || s[pos + 1] == '1')) {
			dv->day = 30 + (int)(s[pos + 1] - '0');
			if ((r = date_match(t + 1, nt - 1, s, n, pos + 2, dv)) >= 0)
				return r;
		}
		if (pos + 1 < n && (s[pos] == '1' || s[pos] == '2') && is_digit(s[pos + 1])) {
			dv->day = (int)((s[pos] - '0') * 10 + (s[pos + 1] - '0'));
			if ((r = date_match(t + 1, nt - 1, s, n, pos + 2, dv)) >= 0)
				return r;
		}
		if (pos + 1 < n && s[pos] == '0' && s[pos + 1] >= '1' && s[pos + 1] <= '9') {
			dv->day = (int)(s[pos + 1] - '0');
			if ((r = date_match(t + 1, nt - 1, s, n, pos + 2, dv)) >= 0)
				return r;
		}
		if (pos < n && s[pos] >= '1' && s[pos] <= '9') {
			dv->day = (int)(s[pos] - '0');
			if ((r = date_match(t + 1, nt - 1, s, n, pos + 1, dv)) >= 0)
				return r;
		}
		if (pos + 1 < n && s[pos] == ' ' && s[pos + 1] >= '1' && s[pos + 1] <= '9') {
			dv->day = (int)(s[pos + 1] - '0');
			if ((r = date_match(t + 1, nt - 1, s, n, pos + 2, dv)) >= 0)
				return r;
		}
		return -1;
	}
	case DI_b:
	case DI_B: {
		/* Python sorts the names longest first; none is a prefix of another */
		const char *const *names = t->kind == DI_b ? month_abbr : month_full;
		int m;
		for (m = 0; m < 12; m++) {
			size_t k = match_name(s, n, pos, names[m]);
			if (k == 0)
				continue;
			dv->month = m + 1;
			if ((r = date_match(t + 1, nt - 1, s, n, pos + k, dv)) >= 0)
				return r;
		}
		return -1;
	}
	}
	return -1;
}

static int
days_in_month(int y, int m)
{
	static const int d[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;

	return m == 2 ? 28 + leap : d[m - 1];
}

/* Validates value against the feature's format and writes the normalised
 * string (format_value) into *norm (malloc'ed).  Messages never contain
 * the value itself. */
static int
validate_format(const struct clk_field *f, const char *value, const uint32_t *cps, size_t n,
                char **norm, char *err, size_t errlen)
{
	size_t i;

	*norm = NULL;
	if (f->enc == ENC_ASCII)
		for (i = 0; i < n; i++)
			if (cps[i] > 0x7f) {
				seterr(err, errlen, "field '%s': value cannot be encoded in ascii",
				       f->name);
				return UDC_EINVAL;
			}
	switch (f->fmt) {
	case FMT_STRING:
		if (f->min_len >= 0 && (long long)n < f->min_len) {
			seterr(err, errlen, "field '%s': shorter than minLength %lld", f->name,
			       f->min_len);
			return UDC_EINVAL;
		}
		if (f->max_len >= 0 && (long long)n > f->max_len) {
			seterr(err, errlen, "field '%s': longer than maxLength %lld", f->name,
			       f->max_len);
			return UDC_EINVAL;
		}
		for (i = 0; i < n && f->casing != CASE_MIXED; i++) {
			uint32_t c = cps[i];
			int bad;
			if (f->casing == CASE_UPPER)
				bad = special_upper(c) ||
				      (uint32_t)utf8proc_toupper((utf8proc_int32_t)c) != c;
			else
				bad = c == 0x130 || lower(c) != c;
			if (bad) {
				seterr(err, errlen, "field '%s': not %s case", f->name,
				       f->casing == CASE_UPPER ? "upper" : "lower");
				return UDC_EINVAL;
			}
		}
		*norm = strdup(value);
		break;
	case FMT_INTEGER: {
		char *buf;
		if ((buf = malloc(n + 3)) == NULL)
			return UDC_ENOMEM;
		if (py_int(cps, n, buf) != 0) {
			free(buf);
			seterr(err, errlen, "field '%s': not an integer", f->name);
			return UDC_EINVAL;
		}
		if ((f->has_min && dec_cmp(buf, f->min) < 0) ||
		    (f->has_max && dec_cmp(buf, f->max) > 0)) {
			free(buf);
			seterr(err, errlen, "field '%s': integer out of range", f->name);
			return UDC_EINVAL;
		}
		*norm = buf;
		return 0;
	}
	case FMT_DATE: {
		struct date_val dv = {1900, 1, 1, 0};
		long end = date_match(f->date, f->ndate, cps, n, 0, &dv);
		if (end < 0 || (size_t)end != n || dv.year < 1 || dv.month < 1 || dv.month > 12 ||
		    dv.day < 1 || dv.day > days_in_month(dv.year, dv.month)) {
			seterr(err, errlen, "field '%s': not a valid date in the schema's format",
			       f->name);
			return UDC_EINVAL;
		}
		if ((*norm = malloc(40)) == NULL)
			return UDC_ENOMEM;
		/* strftime('%Y%m%d') */
		snprintf(*norm, 40, "%04d%02d%02d", dv.year, dv.month, dv.day);
		return 0;
	}
	case FMT_ENUM:
		for (i = 0; i < f->nenum; i++)
			if (strcmp(f->enum_vals[i], value) == 0)
				break;
		if (i == f->nenum) {
			seterr(err, errlen, "field '%s': not one of the enum values", f->name);
			return UDC_EINVAL;
		}
		*norm = strdup(value);
		break;
	}
	return *norm == NULL ? UDC_ENOMEM : 0;
}

/* ---------- tokenisation (comparators.py) ---------- */

static int
tokenize_ngram(const struct clk_field *f, const uint32_t *cps, size_t n, struct tokbuf *tb)
{
	uint32_t *pad = NULL;
	size_t plen, i, q = f->n;
	int rv = 0;

	if (n == 0)
		return 0;
	plen = n + 2 * (q - 1);
	if ((pad = malloc(plen * sizeof(*pad))) == NULL)
		return UDC_ENOMEM;
	for (i = 0; i < q - 1; i++)
		pad[i] = pad[plen - 1 - i] = ' ';
	memcpy(pad + q - 1, cps, n * sizeof(*cps));
	for (i = 0; i + q <= plen; i++) {
		if ((rv = tb_begin(tb)) != 0)
			goto out;
		if (f->positional) {
			/* '{i+1} {gram}', encoded as one string */
			char num[24];
			uint32_t pre[24];
			int k, len = snprintf(num, sizeof(num), "%zu ", i + 1);
			for (k = 0; k < len; k++)
				pre[k] = (uint8_t)num[k];
			if ((rv = tb_put(tb, f->enc, pre, (size_t)len, 1)) != 0 ||
			    (rv = tb_put(tb, f->enc, pad + i, q, 0)) != 0)
				goto out;
		} else if ((rv = tb_put(tb, f->enc, pad + i, q, 1)) != 0) {
			goto out;
		}
		tb_end(tb);
	}
out:
	free(pad);
	return rv;
}

static int
put_ascii_token(struct tokbuf *tb, enum enc_type enc, const char *s)
{
	uint32_t cps[64];
	size_t i, n = strlen(s);
	int rv;

	for (i = 0; i < n && i < 64; i++)
		cps[i] = (uint8_t)s[i];
	if ((rv = tb_begin(tb)) != 0 || (rv = tb_put(tb, enc, cps, i, 1)) != 0)
		return rv;
	tb_end(tb);
	return 0;
}

/* NumericComparison.tokenize: int first, then float; quantise to the grid
 * of distance_interval and emit 2 * resolution + 1 neighbours. */
static int
tokenize_numeric(const struct clk_field *f, const uint32_t *cps, size_t n, struct tokbuf *tb,
                 char *err, size_t errlen)
{
	__int128 v, iv = f->num_interval, residue, p10 = 1, lim = (__int128)1 << 100;
	char *ibuf = NULL;
	long long r;
	unsigned i;
	int rv = 0;

	if (n == 0)
		return 0;
	for (i = 0; i < f->num_fp; i++)
		p10 *= 10;
	if ((ibuf = malloc(n + 3)) == NULL)
		return UDC_ENOMEM;
	if (py_int(cps, n, ibuf) == 0) {
		const char *d = ibuf + (ibuf[0] == '-');
		if (strlen(d) > 25)
			goto range;
		v = 0;
		for (; *d; d++)
			v = v * 10 + (*d - '0');
		if (ibuf[0] == '-')
			v = -v;
		v *= p10;
	} else {
		/* float(): digits, one point, exponent, sign, white space; no
		 * inf/nan (int() of those fails in clkhash too) */
		size_t s = 0, e = n, k, j = 0;
		char *end;
		double dv;
		while (e > 0 && py_isspace(cps[e - 1]))
			e--;
		while (s < e && py_isspace(cps[s]))
			s++;
		for (k = s; k < e; k++) {
			uint32_t c = cps[k];
			if (c == '_' && k > s && k + 1 < e && is_digit(cps[k - 1]) &&
			    is_digit(cps[k + 1]))
				continue;
			if (!is_digit(c) && c != '.' && c != 'e' && c != 'E' && c != '+' &&
			    c != '-')
				goto notnum;
			ibuf[j++] = (char)c;
		}
		ibuf[j] = '\0';
		if (j == 0)
			goto notnum;
		errno = 0;
		dv = strtod(ibuf, &end);
		if (*end != '\0' || dv != dv)
			goto notnum;
		if (dv >= 1e18 || dv <= -1e18)
			goto range; /* also inf, which int() refuses in clkhash */
		if (f->num_fp > 0)
			dv = round_even(dv * (double)p10); /* round(): half to even */
		else
			dv = (double)(long long)dv; /* int() truncates */
		if (dv >= 1e30 || dv <= -1e30)
			goto range;
		v = (__int128)dv;
	}
	if (v >= lim || v <= -lim)
		goto range;
	v = v * 2 * f->num_resolution;
	residue = v % iv;
	if (residue < 0)
		residue += iv; /* Python's % has the sign of the divisor */
	if (residue != 0 && 2 * residue < iv)
		v -= residue;
	else if (residue != 0)
		v += iv - residue;
	for (r = -(long long)f->num_resolution; r <= (long long)f->num_resolution; r++) {
		__int128 t = v + r * iv;
		char buf[64], *p = buf + sizeof(buf) - 1;
		int neg = t < 0;
		*p = '\0';
		if (neg)
			t = -t;
		do {
			*--p = (char)('0' + (int)(t % 10));
			t /= 10;
		} while (t > 0);
		if (neg)
			*--p = '-';
		if ((rv = put_ascii_token(tb, f->enc, p)) != 0)
			goto out;
	}
	goto out;
notnum:
	seterr(err, errlen, "field '%s': not a number", f->name);
	rv = UDC_EINVAL;
	goto out;
range:
	seterr(err, errlen, "field '%s': number out of the supported range", f->name);
	rv = UDC_EINVAL;
out:
	free(ibuf);
	return rv;
}

/* ---------- hashing (bloomfilter.py) ---------- */

static inline void
set_bit(uint8_t *bf, size_t i)
{
	bf[i >> 3] |= (uint8_t)(0x80u >> (i & 7));
}

static void
hash_blake(const uint8_t *key, size_t keylen, const struct udc_blake2b_keyed *st0,
           const uint8_t *tok, size_t toklen, unsigned k, size_t l, uint8_t *bf)
{
	uint8_t h[64], salt[crypto_generichash_blake2b_SALTBYTES];
	unsigned mac, i, done = 0;

	/* blake2b(token, key=key, salt=str(i).encode()) with the default
	 * 64-byte digest, read as 32 native (little-endian) uint16; salt "0"
	 * (up to 32 bits a token, every schema we know) from the state that
	 * has the key block already */
	for (mac = 0; done < k; mac++) {
		if (mac == 0 && st0 != NULL && toklen > 0) {
			udc_blake2b_keyed_final(st0, tok, toklen, h);
		} else {
			memset(salt, 0, sizeof(salt));
			snprintf((char *)salt, sizeof(salt), "%u", mac);
			if (salt[sizeof(salt) - 1] != 0) /* unreachable: k < 2^20 */
				return;
			crypto_generichash_blake2b_salt_personal(h, sizeof(h), tok, toklen, key,
			                                         keylen, salt, NULL);
		}
		for (i = 0; i < 32 && done < k; i++, done++)
			set_bit(bf, (size_t)(h[2 * i] | (h[2 * i + 1] << 8)) & (l - 1));
	}
	sodium_memzero(h, sizeof(h));
}

/* int.from_bytes(digest, 'big') % l */
static uint64_t
mod_be(const uint8_t *d, unsigned len, uint64_t l)
{
	uint64_t r = 0;
	unsigned i;

	for (i = 0; i < len; i++)
		r = ((r << 8) | d[i]) % l;
	return r;
}

static int
hash_double(const struct clk_field *f, const uint8_t *key_sha1, const uint8_t *key_md5,
            size_t keylen, const uint8_t *tok, size_t toklen, unsigned k, size_t l, uint8_t *bf,
            uint8_t *scratch)
{
	uint8_t d1[EVP_MAX_MD_SIZE], d2[EVP_MAX_MD_SIZE];
	unsigned len1 = 0, len2 = 0, i;
	uint64_t h1, h2, g;
	int rv = 0;

	if (HMAC(EVP_sha1(), key_sha1, (int)keylen, tok, toklen, d1, &len1) == NULL ||
	    HMAC(EVP_md5(), key_md5, (int)keylen, tok, toklen, d2, &len2) == NULL) {
		rv = UDC_ECRYPTO;
		goto out;
	}
	h1 = mod_be(d1, len1, l);
	h2 = mod_be(d2, len2, l);
	if (f->prevent_singularity) {
		/* md5 of token + chr(i).encode() (UTF-8), i = 0, 1, ... until the
		 * step is not a multiple of l */
		uint32_t c;
		for (c = 0; h2 == 0; c++) {
			size_t cl;
			if (c > 0x10ffff) {
				rv = UDC_ECRYPTO;
				goto out;
			}
			memcpy(scratch, tok, toklen);
			cl = (size_t)utf8proc_encode_char((utf8proc_int32_t)c, scratch + toklen);
			if (c >= 0xd800 && c <= 0xdfff) /* Python cannot encode these */
				continue;
			if (HMAC(EVP_md5(), key_md5, (int)keylen, scratch, toklen + cl, d2,
			         &len2) == NULL) {
				rv = UDC_ECRYPTO;
				goto out;
			}
			h2 = mod_be(d2, len2, l);
		}
	}
	for (i = 0, g = h1; i < k; i++) {
		set_bit(bf, g);
		g = (g + h2) % l;
	}
out:
	sodium_memzero(d1, sizeof(d1));
	sodium_memzero(d2, sizeof(d2));
	return rv;
}

/* Code points of identifiers are wiped before they are freed. */
static void
drop_cps(uint32_t **cps, size_t *n)
{
	if (*cps != NULL)
		sodium_memzero(*cps, *n * sizeof(**cps));
	free(*cps);
	*cps = NULL;
	*n = 0;
}

static int
get_bit(const uint8_t *bf, size_t i)
{
	return (bf[i >> 3] >> (7 - (i & 7))) & 1;
}

/* Encodes every feature (only < 0) or feature only alone. */
static int
encode(const struct udc_clk_encoder *enc, const char *const *values, size_t nvalues, long only,
       uint8_t *out, size_t outlen, unsigned *popcount, char *err, size_t errlen)
{
	const struct udc_clk_schema *s = enc->schema;
	size_t hbytes = (s->hash_l + 7) / 8, obytes = (s->l + 7) / 8, fi, i, len;
	struct tokbuf tb = {0};
	uint8_t *bf = NULL, *scratch = NULL;
	uint32_t *cps = NULL;
	size_t ncps = 0, scratchlen = 0;
	char *norm = NULL;
	unsigned cnt = 0;
	int rv = 0;

	if (nvalues != s->nfields) {
		seterr(err, errlen, "record has %zu values, the schema %zu features", nvalues,
		       s->nfields);
		return UDC_EINVAL;
	}
	if (outlen < obytes) {
		seterr(err, errlen, "output buffer too small");
		return UDC_EINVAL;
	}
	if ((bf = calloc(1, hbytes)) == NULL)
		return UDC_ENOMEM;

	for (fi = 0; fi < s->nfields; fi++) {
		const struct clk_field *f = &s->fields[fi];
		const uint8_t *k0 = enc->keys + (fi * CLK_KEYS_PER_FIELD) * s->keysize;
		const uint8_t *k1 = k0 + s->keysize;
		const char *v;
		unsigned per, extra;

		if (f->ignored || (only >= 0 && fi != (size_t)only))
			continue;
		if ((v = values[fi]) == NULL) {
			seterr(err, errlen, "field '%s': no value", f->name);
			rv = UDC_EINVAL;
			goto out;
		}
		drop_cps(&cps, &ncps);
		free(norm);
		norm = NULL;
		tb_reset(&tb);
		if (f->has_missing && strcmp(v, f->sentinel) == 0) {
			/* format_value: a missing value is replaced, not validated */
			v = f->replace_with;
		} else {
			if ((rv = utf8_decode(v, &cps, &ncps)) != 0) {
				if (rv == UDC_EINVAL)
					seterr(err, errlen, "field '%s': invalid UTF-8", f->name);
				goto out;
			}
			if ((rv = validate_format(f, v, cps, ncps, &norm, err, errlen)) != 0)
				goto out;
			v = norm;
			drop_cps(&cps, &ncps);
		}
		if ((rv = utf8_decode(v, &cps, &ncps)) != 0) {
			if (rv == UDC_EINVAL)
				seterr(err, errlen, "field '%s': invalid UTF-8", f->name);
			goto out;
		}
		switch (f->cmp) {
		case CMP_NGRAM:
			rv = tokenize_ngram(f, cps, ncps, &tb);
			break;
		case CMP_EXACT:
			if (ncps > 0 && (rv = tb_begin(&tb)) == 0 &&
			    (rv = tb_put(&tb, f->enc, cps, ncps, 1)) == 0)
				tb_end(&tb);
			break;
		case CMP_NUMERIC:
			rv = tokenize_numeric(f, cps, ncps, &tb, err, errlen);
			if (rv != 0)
				goto out;
			break;
		}
		if (rv == UDC_EINVAL) {
			seterr(err, errlen, "field '%s': value cannot be encoded in ascii",
			       f->name);
			goto out;
		}
		if (rv != 0)
			goto out;
		if (tb.ntok == 0)
			continue;
		/* BitsPerFeatureStrategy: bits // n each, the first bits % n get one more */
		per = f->per_feature ? f->bits / (unsigned)tb.ntok : f->bits;
		extra = f->per_feature ? f->bits % (unsigned)tb.ntok : 0;
		for (i = 0; i < tb.ntok; i++) {
			const uint8_t *t = tb.b + tb.off[i];
			size_t tl = tb.off[i + 1] - tb.off[i];
			unsigned k = per + (i < extra);
			if (f->hash == HASH_BLAKE) {
				hash_blake(k0, s->keysize, enc->blake0 ? &enc->blake0[fi] : NULL, t, tl,
				           k, s->hash_l, bf);
				continue;
			}
			if (tl + 8 > scratchlen) {
				free(scratch);
				scratchlen = tl + 8;
				if ((scratch = malloc(scratchlen)) == NULL) {
					rv = UDC_ENOMEM;
					goto out;
				}
			}
			if ((rv = hash_double(f, k0, k1, s->keysize, t, tl, k, s->hash_l, bf,
			                      scratch)) != 0) {
				seterr(err, errlen, "field '%s': HMAC failed", f->name);
				goto out;
			}
		}
	}

	/* fold_xor: first half ^ second half, folds times */
	for (len = s->hash_l; len > s->l; len /= 2) {
		size_t half = len / 2;
		for (i = 0; i < half; i++) {
			int b = get_bit(bf, i) ^ get_bit(bf, i + half);
			bf[i >> 3] = (uint8_t)((bf[i >> 3] & ~(0x80u >> (i & 7))) |
			                       (b ? 0x80u >> (i & 7) : 0));
		}
	}
	memcpy(out, bf, obytes);
	if (s->l % 8)
		out[obytes - 1] &= (uint8_t)(0xff00u >> (s->l % 8));
	for (i = 0; i < obytes; i++)
		cnt += (unsigned)__builtin_popcount(out[i]);
	if (popcount != NULL)
		*popcount = cnt;
out:
	/* the filter and tokens are derived from identifiers: wipe them */
	if (bf != NULL)
		sodium_memzero(bf, hbytes);
	if (tb.b != NULL)
		sodium_memzero(tb.b, tb.cap);
	drop_cps(&cps, &ncps);
	if (scratch != NULL)
		sodium_memzero(scratch, scratchlen);
	free(bf);
	free(norm);
	free(scratch);
	tb_free(&tb);
	return rv;
}

int
udc_clk_encode(const struct udc_clk_encoder *enc, const char *const *values, size_t nvalues,
               uint8_t *out, size_t outlen, unsigned *popcount, char *err, size_t errlen)
{
	return encode(enc, values, nvalues, -1, out, outlen, popcount, err, errlen);
}

int
udc_clk_encode_feature(const struct udc_clk_encoder *enc, const char *const *values, size_t nvalues,
                       size_t feature, uint8_t *out, size_t outlen, unsigned *popcount, char *err,
                       size_t errlen)
{
	if (feature >= enc->schema->nfields || enc->schema->fields[feature].ignored) {
		seterr(err, errlen, "feature %zu is not encoded by the schema", feature);
		return UDC_EINVAL;
	}
	return encode(enc, values, nvalues, (long)feature, out, outlen, popcount, err, errlen);
}

size_t
udc_clk_base64_len(size_t n)
{
	return sodium_base64_ENCODED_LEN(n, sodium_base64_VARIANT_ORIGINAL);
}

void
udc_clk_base64(char *dst, const uint8_t *src, size_t n)
{
	sodium_bin2base64(dst, udc_clk_base64_len(n), src, n, sodium_base64_VARIANT_ORIGINAL);
}
