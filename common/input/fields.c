/*
 * fields.c - the built-in identifier fields, declarations of new ones, and
 * the normalisation each declaration stands for.
 *
 * A declaration is "TYPE [OPTION=VALUE ...]"; its canonical text (type, then
 * only the options that differ from the type's defaults, in one fixed order)
 * is what the spec hash covers, so "name case=fold" and "name" are the same
 * declaration and give the same hash.
 */
#include "fields.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "normalize.h"

#define YEAR_MIN_DEFAULT 1880
#define YEAR_MAX_DEFAULT 2100
#define NUM_MIN_DEFAULT (-LLONG_MAX)
#define NUM_MAX_DEFAULT LLONG_MAX

static const char *const field_names[UDC_NFIELDS] = {
    "bsn",        "given_names", "surname_prefix", "surname",
    "birth_date", "sex",         "postcode",       "house_number",
};

static const char *const type_names[UDC_FT_NTYPES] = {
    [UDC_FT_NAME] = "name", [UDC_FT_TEXT] = "text",         [UDC_FT_FREETEXT] = "freetext",
    [UDC_FT_DATE] = "date", [UDC_FT_POSTCODE] = "postcode", [UDC_FT_NUMBER] = "number",
    [UDC_FT_CODE] = "code", [UDC_FT_SEX] = "sex",           [UDC_FT_HOUSENO] = "house_number",
};

/* The ready-made declarations, in UDC_F_* order. */
static const struct {
	enum udc_ftype type;
	unsigned opts;
} builtin[UDC_NFIELDS] = {
    [UDC_F_BSN] = {UDC_FT_CODE, UDC_FO_BSN_CHECK},
    [UDC_F_GIVEN] = {UDC_FT_NAME, 0},
    [UDC_F_PREFIX] = {UDC_FT_NAME, 0},
    [UDC_F_SURNAME] = {UDC_FT_NAME, UDC_FO_PREFIX_SPLIT},
    [UDC_F_BIRTH] = {UDC_FT_DATE, 0},
    [UDC_F_SEX] = {UDC_FT_SEX, 0},
    [UDC_F_POSTCODE] = {UDC_FT_POSTCODE, 0},
    [UDC_F_HOUSENO] = {UDC_FT_HOUSENO, 0},
};

const char *
udc_field_name(enum udc_field f)
{
	return (f >= 0 && f < UDC_NFIELDS) ? field_names[f] : "?";
}

int
udc_field_parse(const char *name)
{
	for (int i = 0; i < UDC_NFIELDS; i++)
		if (strcmp(name, field_names[i]) == 0)
			return i;
	return -1;
}

int
udc_field_name_valid(const char *name)
{
	size_t n = strlen(name);

	if (n == 0 || n > UDC_FIELD_NAME_MAX || !(name[0] >= 'a' && name[0] <= 'z'))
		return 0;
	for (; *name; name++)
		if (!((*name >= 'a' && *name <= 'z') || (*name >= '0' && *name <= '9') ||
		      *name == '_'))
			return 0;
	return 1;
}

const char *
udc_ftype_name(enum udc_ftype t)
{
	return (t >= 0 && t < UDC_FT_NTYPES) ? type_names[t] : "?";
}

static void
def_defaults(struct udc_fielddef *d, enum udc_ftype type)
{
	d->type = type;
	d->opts = 0;
	if (type == UDC_FT_DATE) {
		d->lo = YEAR_MIN_DEFAULT;
		d->hi = YEAR_MAX_DEFAULT;
	} else if (type == UDC_FT_NUMBER) {
		d->lo = NUM_MIN_DEFAULT;
		d->hi = NUM_MAX_DEFAULT;
	} else {
		d->lo = d->hi = 0;
	}
}

void
udc_fieldset_init(struct udc_fieldset *fs)
{
	memset(fs, 0, sizeof(*fs));
	for (int i = 0; i < UDC_NFIELDS; i++) {
		snprintf(fs->f[i].name, sizeof(fs->f[i].name), "%s", field_names[i]);
		def_defaults(&fs->f[i], builtin[i].type);
		fs->f[i].opts = builtin[i].opts;
	}
	fs->n = UDC_NFIELDS;
}

int
udc_fieldset_find(const struct udc_fieldset *fs, const char *name)
{
	for (size_t i = 0; i < fs->n; i++)
		if (strcmp(fs->f[i].name, name) == 0)
			return (int)i;
	return -1;
}

int
udc_fielddef_is_builtin(const struct udc_fielddef *d)
{
	int b = udc_field_parse(d->name);
	struct udc_fielddef ref;

	if (b < 0)
		return 0;
	def_defaults(&ref, builtin[b].type);
	ref.opts = builtin[b].opts;
	return d->type == ref.type && d->opts == ref.opts && d->lo == ref.lo && d->hi == ref.hi;
}

/* Strict base-10 integer. */
static int
parse_ll(const char *s, long long *v)
{
	char *end;

	if (*s == '\0' || isspace((unsigned char)*s))
		return -1;
	errno = 0;
	*v = strtoll(s, &end, 10);
	return (*end != '\0' || errno == ERANGE) ? -1 : 0;
}

/* One OPTION=VALUE of a declaration of type d->type. */
static int
set_option(struct udc_fielddef *d, const char *key, const char *val, char *err, size_t errlen)
{
	enum udc_ftype t = d->type;
	int texty = t == UDC_FT_NAME || t == UDC_FT_TEXT;

	if (strcmp(key, "case") == 0 && (texty || t == UDC_FT_CODE || t == UDC_FT_FREETEXT)) {
		if (strcmp(val, "keep") == 0) {
			d->opts = (d->opts | UDC_FO_KEEP_CASE) & ~(unsigned)UDC_FO_FOLD_CASE;
		} else if (strcmp(val, "fold") == 0) {
			d->opts &= ~(unsigned)UDC_FO_KEEP_CASE;
			if (t == UDC_FT_FREETEXT)
				d->opts |= UDC_FO_FOLD_CASE;
		} else {
			snprintf(err, errlen, "case must be keep or fold, not '%s'", val);
			return UDC_EPARSE;
		}
		return 0;
	}
	if (strcmp(key, "diacritics") == 0 && texty) {
		if (strcmp(val, "keep") == 0)
			d->opts |= UDC_FO_KEEP_MARKS;
		else if (strcmp(val, "strip") == 0)
			d->opts &= ~(unsigned)UDC_FO_KEEP_MARKS;
		else {
			snprintf(err, errlen, "diacritics must be keep or strip, not '%s'", val);
			return UDC_EPARSE;
		}
		return 0;
	}
	if (strcmp(key, "prefix") == 0 && t == UDC_FT_NAME) {
		if (strcmp(val, "split") == 0)
			d->opts |= UDC_FO_PREFIX_SPLIT;
		else if (strcmp(val, "keep") == 0)
			d->opts &= ~(unsigned)UDC_FO_PREFIX_SPLIT;
		else {
			snprintf(err, errlen, "prefix must be split or keep, not '%s'", val);
			return UDC_EPARSE;
		}
		return 0;
	}
	if (strcmp(key, "normalise") == 0 && (texty || t == UDC_FT_FREETEXT || t == UDC_FT_CODE)) {
		if (strcmp(val, "none") == 0)
			d->opts |= UDC_FO_RAW;
		else if (strcmp(val, "default") == 0)
			d->opts &= ~(unsigned)UDC_FO_RAW;
		else {
			snprintf(err, errlen, "normalise must be none or default, not '%s'", val);
			return UDC_EPARSE;
		}
		return 0;
	}
	if (strcmp(key, "order") == 0 && t == UDC_FT_DATE) {
		if (strcmp(val, "mdy") == 0)
			d->opts |= UDC_FO_MDY;
		else if (strcmp(val, "dmy") == 0)
			d->opts &= ~(unsigned)UDC_FO_MDY;
		else {
			snprintf(err, errlen, "order must be dmy or mdy, not '%s'", val);
			return UDC_EPARSE;
		}
		return 0;
	}
	if (strcmp(key, "years") == 0 && t == UDC_FT_DATE) {
		char buf[32], *dash;
		long long lo, hi;

		snprintf(buf, sizeof(buf), "%s", val);
		if ((dash = strchr(buf, '-')) == NULL)
			goto years_bad;
		*dash = '\0';
		if (parse_ll(buf, &lo) != 0 || parse_ll(dash + 1, &hi) != 0 || lo < 1 ||
		    hi > 9999 || lo > hi)
			goto years_bad;
		d->lo = lo;
		d->hi = hi;
		return 0;
	years_bad:
		snprintf(err, errlen, "years must be FROM-TO within 1-9999, not '%s'", val);
		return UDC_EPARSE;
	}
	if (strcmp(key, "form") == 0 && t == UDC_FT_POSTCODE) {
		if (strcmp(val, "any") == 0)
			d->opts |= UDC_FO_ANY_FORM;
		else if (strcmp(val, "nl") == 0)
			d->opts &= ~(unsigned)UDC_FO_ANY_FORM;
		else {
			snprintf(err, errlen, "form must be nl or any, not '%s'", val);
			return UDC_EPARSE;
		}
		return 0;
	}
	if ((strcmp(key, "min") == 0 || strcmp(key, "max") == 0) && t == UDC_FT_NUMBER) {
		long long v;

		if (parse_ll(val, &v) != 0 || v == LLONG_MIN) {
			snprintf(err, errlen, "%s must be an integer, not '%s'", key, val);
			return UDC_EPARSE;
		}
		if (key[1] == 'i')
			d->lo = v;
		else
			d->hi = v;
		return 0;
	}
	if (strcmp(key, "check") == 0 && t == UDC_FT_CODE) {
		if (strcmp(val, "bsn") == 0)
			d->opts |= UDC_FO_BSN_CHECK;
		else if (strcmp(val, "none") == 0)
			d->opts &= ~(unsigned)UDC_FO_BSN_CHECK;
		else {
			snprintf(err, errlen, "check must be bsn or none, not '%s'", val);
			return UDC_EPARSE;
		}
		return 0;
	}
	snprintf(err, errlen, "type %s has no option '%s'", udc_ftype_name(t), key);
	return UDC_EPARSE;
}

int
udc_fieldset_declare(struct udc_fieldset *fs, const char *name, const char *text, char *err,
                     size_t errlen)
{
	struct udc_fielddef d;
	char buf[256], *tok, *save = NULL;
	int idx, rv, t;

	if (!udc_field_name_valid(name)) {
		snprintf(err, errlen,
		         "field name '%s' must start with a-z and hold only a-z, 0-9 and _ (at "
		         "most %d)",
		         name, UDC_FIELD_NAME_MAX);
		return UDC_EPARSE;
	}
	if (strlen(text) >= sizeof(buf)) {
		snprintf(err, errlen, "declaration of field %s is too long", name);
		return UDC_EPARSE;
	}
	snprintf(buf, sizeof(buf), "%s", text);
	memset(&d, 0, sizeof(d));
	snprintf(d.name, sizeof(d.name), "%s", name);
	if ((tok = strtok_r(buf, " \t", &save)) == NULL) {
		snprintf(err, errlen,
		         "field %s: no type (name, text, freetext, date, postcode, "
		         "number, code, sex or house_number)",
		         name);
		return UDC_EPARSE;
	}
	for (t = 0; t < UDC_FT_NTYPES; t++)
		if (strcmp(tok, type_names[t]) == 0)
			break;
	if (t == UDC_FT_NTYPES) {
		snprintf(err, errlen,
		         "field %s: unknown type '%s' (name, text, freetext, date, postcode, "
		         "number, code, sex or house_number)",
		         name, tok);
		return UDC_EPARSE;
	}
	def_defaults(&d, (enum udc_ftype)t);
	while ((tok = strtok_r(NULL, " \t", &save)) != NULL) {
		char *eq = strchr(tok, '=');

		if (eq == NULL || eq == tok || eq[1] == '\0') {
			snprintf(err, errlen, "field %s: option '%s' is not OPTION=VALUE", name,
			         tok);
			return UDC_EPARSE;
		}
		*eq = '\0';
		if ((rv = set_option(&d, tok, eq + 1, err, errlen)) != 0)
			return rv;
	}
	if ((d.opts & UDC_FO_PREFIX_SPLIT) &&
	    (d.opts & (UDC_FO_KEEP_CASE | UDC_FO_KEEP_MARKS | UDC_FO_RAW))) {
		snprintf(err, errlen,
		         "field %s: prefix=split works on the default name "
		         "normalisation only (no case=keep, diacritics=keep or "
		         "normalise=none)",
		         name);
		return UDC_EPARSE;
	}
	if ((d.opts & UDC_FO_RAW) && (d.opts & UDC_FO_BSN_CHECK)) {
		snprintf(err, errlen, "field %s: check=bsn cannot go with normalise=none", name);
		return UDC_EPARSE;
	}
	if (d.type == UDC_FT_NUMBER && d.lo > d.hi) {
		snprintf(err, errlen, "field %s: min is larger than max", name);
		return UDC_EPARSE;
	}
	if ((idx = udc_fieldset_find(fs, name)) >= 0) {
		if (fs->declared & (1u << idx)) {
			snprintf(err, errlen, "field %s is declared twice", name);
			return UDC_EPARSE;
		}
	} else {
		if (fs->n == UDC_MAX_FIELDS) {
			snprintf(err, errlen, "more than %d fields", UDC_MAX_FIELDS);
			return UDC_ELIMIT;
		}
		idx = (int)fs->n++;
	}
	fs->f[idx] = d;
	fs->declared |= 1u << idx;
	return 0;
}

/* Appends " key=value" to out at *o; -1 if it does not fit. */
static int
add_opt(char *out, size_t outlen, size_t *o, const char *key, const char *val)
{
	int n = snprintf(out + *o, outlen - *o, " %s=%s", key, val);

	if (n < 0 || (size_t)n >= outlen - *o)
		return -1;
	*o += (size_t)n;
	return 0;
}

int
udc_fielddef_format(const struct udc_fielddef *d, char *out, size_t outlen)
{
	size_t o = 0;
	int n, bad = 0;
	char num[48];

	if ((n = snprintf(out, outlen, "%s", udc_ftype_name(d->type))) < 0 || (size_t)n >= outlen)
		return UDC_ELIMIT;
	o = (size_t)n;
	if (d->opts & UDC_FO_KEEP_CASE)
		bad |= add_opt(out, outlen, &o, "case", "keep");
	if (d->opts & UDC_FO_FOLD_CASE)
		bad |= add_opt(out, outlen, &o, "case", "fold");
	if (d->opts & UDC_FO_KEEP_MARKS)
		bad |= add_opt(out, outlen, &o, "diacritics", "keep");
	if (d->opts & UDC_FO_PREFIX_SPLIT)
		bad |= add_opt(out, outlen, &o, "prefix", "split");
	if (d->opts & UDC_FO_RAW)
		bad |= add_opt(out, outlen, &o, "normalise", "none");
	if (d->opts & UDC_FO_MDY)
		bad |= add_opt(out, outlen, &o, "order", "mdy");
	if (d->type == UDC_FT_DATE && (d->lo != YEAR_MIN_DEFAULT || d->hi != YEAR_MAX_DEFAULT)) {
		snprintf(num, sizeof(num), "%lld-%lld", d->lo, d->hi);
		bad |= add_opt(out, outlen, &o, "years", num);
	}
	if (d->opts & UDC_FO_ANY_FORM)
		bad |= add_opt(out, outlen, &o, "form", "any");
	if (d->type == UDC_FT_NUMBER && d->lo != NUM_MIN_DEFAULT) {
		snprintf(num, sizeof(num), "%lld", d->lo);
		bad |= add_opt(out, outlen, &o, "min", num);
	}
	if (d->type == UDC_FT_NUMBER && d->hi != NUM_MAX_DEFAULT) {
		snprintf(num, sizeof(num), "%lld", d->hi);
		bad |= add_opt(out, outlen, &o, "max", num);
	}
	if (d->opts & UDC_FO_BSN_CHECK)
		bad |= add_opt(out, outlen, &o, "check", "bsn");
	return bad ? UDC_ELIMIT : 0;
}

int
udc_field_normalise(const struct udc_fielddef *d, const char *in, char *out, size_t outlen)
{
	unsigned o = d->opts, wf = 0;
	char pfx[UDC_NORM_MAX];

	if (o & UDC_FO_KEEP_CASE)
		wf |= UDC_NORM_KEEP_CASE;
	if (o & UDC_FO_KEEP_MARKS)
		wf |= UDC_NORM_KEEP_MARKS;
	switch (d->type) {
	case UDC_FT_NAME:
		if (o & UDC_FO_RAW)
			return udc_norm_freetext(in, out, outlen, 0);
		if (o & UDC_FO_PREFIX_SPLIT)
			return udc_norm_surname(NULL, in, out, outlen, pfx, sizeof(pfx));
		return udc_norm_words(in, out, outlen, wf, 1);
	case UDC_FT_TEXT:
		if (o & UDC_FO_RAW)
			return udc_norm_freetext(in, out, outlen, 0);
		return udc_norm_words(in, out, outlen, wf, 0);
	case UDC_FT_FREETEXT:
		return udc_norm_freetext(in, out, outlen,
		                         (o & UDC_FO_FOLD_CASE) ? UDC_NORM_FOLD_CASE : 0);
	case UDC_FT_DATE:
		return udc_norm_date_opts(in, out, outlen, (o & UDC_FO_MDY) != 0, (int)d->lo,
		                          (int)d->hi);
	case UDC_FT_POSTCODE:
		return (o & UDC_FO_ANY_FORM) ? udc_norm_postcode_any(in, out, outlen)
		                             : udc_norm_postcode(in, out, outlen);
	case UDC_FT_NUMBER:
		return udc_norm_number(in, out, outlen, d->lo, d->hi);
	case UDC_FT_CODE:
		if (o & UDC_FO_BSN_CHECK)
			return udc_norm_bsn(in, out, outlen);
		if (o & UDC_FO_RAW)
			return udc_norm_freetext(in, out, outlen, 0);
		return udc_norm_code(in, out, outlen, wf);
	case UDC_FT_SEX:
		return udc_norm_sex(in, out, outlen);
	case UDC_FT_HOUSENO:
		return udc_norm_houseno(in, out, outlen);
	default:
		break;
	}
	if (outlen > 0)
		out[0] = '\0';
	return UDC_NORM_BAD_TEXT;
}
