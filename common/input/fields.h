/*
 * fields.h - the identifier fields of a round: the eight built-in ones and
 * the ones a spec declares.
 *
 * A field has a name, a type and a normalisation.  Both nodes must turn the
 * same person's value into the same bytes for a match key or an encoding to
 * agree, so types and normalisations are part of the spec (its [fields]
 * section, covered by the spec hash); which CSV column holds a field is each
 * node's own business (its config's [fields] section, by name).
 *
 * The built-in fields are ready-made declarations and always sit at indices
 * 0..7 of a round's field set (UDC_F_*); a spec may declare a built-in name
 * again to change its type (a foreign postcode, an identifier that is not a
 * BSN) and adds its own fields after them.
 */
#ifndef UDC_FIELDS_H
#define UDC_FIELDS_H

#include <stddef.h>
#include <stdint.h>

enum udc_field {
	UDC_F_BSN = 0,
	UDC_F_GIVEN,    /* given_names */
	UDC_F_PREFIX,   /* surname_prefix ("van der") */
	UDC_F_SURNAME,  /* surname (without prefix) */
	UDC_F_BIRTH,    /* birth_date, normalised YYYY-MM-DD */
	UDC_F_SEX,      /* sex, normalised "m", "f" or "x" */
	UDC_F_POSTCODE, /* postcode, normalised "2511AB" */
	UDC_F_HOUSENO,  /* house_number, normalised "12" or "12a" */
	UDC_NFIELDS     /* the built-in ones */
};

#define UDC_MAX_FIELDS 32     /* built-in and declared, per round */
#define UDC_MAX_KEY_FIELDS 8  /* fields in one match key */
#define UDC_FIELD_NAME_MAX 32 /* bytes of a field name */
#define UDC_MAX_KEYS 8        /* match keys per spec */
#define UDC_MAX_DIMS 8        /* label dimensions per side */

enum udc_ftype {
	UDC_FT_NAME = 0, /* a person's or place name: a letter required */
	UDC_FT_TEXT,     /* words: a letter or digit required */
	UDC_FT_FREETEXT, /* anything printable, blanks collapsed */
	UDC_FT_DATE,     /* a calendar date, written YYYY-MM-DD */
	UDC_FT_POSTCODE, /* Dutch (form nl) or any country's (form any) */
	UDC_FT_NUMBER,   /* an integer, optionally within a range */
	UDC_FT_CODE,     /* an identifier of letters and digits; check bsn: the 11-test */
	UDC_FT_SEX,      /* m / f / x from the usual Dutch and English words */
	UDC_FT_HOUSENO,  /* a Dutch house number with its addition */
	UDC_FT_NTYPES
};

/* Declaration options (struct udc_fielddef.opts). */
#define UDC_FO_KEEP_CASE 0x01    /* name, text, code: no case folding */
#define UDC_FO_KEEP_MARKS 0x02   /* name, text: diacritics kept */
#define UDC_FO_PREFIX_SPLIT 0x04 /* name: a leading Dutch surname prefix is dropped */
#define UDC_FO_RAW 0x08          /* name, text, freetext, code: only trimmed (normalisation none) */
#define UDC_FO_FOLD_CASE 0x10    /* freetext: fold case */
#define UDC_FO_MDY 0x20          /* date: NN-NN-YYYY is month-day-year */
#define UDC_FO_ANY_FORM 0x40     /* postcode: any country's form */
#define UDC_FO_BSN_CHECK 0x80    /* code: a BSN (11-test, 8 digits get a leading zero) */

struct udc_fielddef {
	char name[UDC_FIELD_NAME_MAX + 1];
	enum udc_ftype type;
	unsigned opts;    /* UDC_FO_* */
	long long lo, hi; /* date: years; number: range */
};

struct udc_fieldset {
	size_t n; /* >= UDC_NFIELDS once initialised */
	struct udc_fielddef f[UDC_MAX_FIELDS];
	uint32_t declared; /* bit i: field i was declared by the spec (not built-in) */
};

/* Name of built-in field f ("bsn", "given_names", ...), "?" otherwise. */
const char *udc_field_name(enum udc_field f);
/* Built-in field for a name, or -1. */
int udc_field_parse(const char *name);
/* 1 if name can name a field: a-z first, then a-z, 0-9 and _, at most
 * UDC_FIELD_NAME_MAX bytes. */
int udc_field_name_valid(const char *name);
/* Type name ("name", "date", ...). */
const char *udc_ftype_name(enum udc_ftype t);

/* The eight built-in fields, nothing declared. */
void udc_fieldset_init(struct udc_fieldset *fs);
/* Index of a field by name, or -1. */
int udc_fieldset_find(const struct udc_fieldset *fs, const char *name);
/*
 * Parses the declaration text of field name ("postcode form=any",
 * "date order=mdy years=1900-2030") and puts it into fs: a built-in name is
 * replaced in place, a new name is appended.  Returns 0, or UDC_EPARSE with
 * the reason in err (the caller adds file and line), UDC_ELIMIT when fs is
 * full.
 */
int udc_fieldset_declare(struct udc_fieldset *fs, const char *name, const char *text, char *err,
                         size_t errlen);
/* The canonical text of a declaration (type, then the options that differ
 * from the type's defaults, in a fixed order); 0 or UDC_ELIMIT. */
int udc_fielddef_format(const struct udc_fielddef *d, char *out, size_t outlen);
/* 1 if d is the built-in declaration of its name. */
int udc_fielddef_is_builtin(const struct udc_fielddef *d);

/*
 * Normalises a value of field d into out (UDC_NORM_MAX bytes): returns
 * UDC_NORM_OK, UDC_NORM_MISSING for an empty value or a UDC_NORM_BAD_*
 * reason (normalize.h).  The built-in surname's pairing with
 * surname_prefix is done by the input reader, not here.
 */
int udc_field_normalise(const struct udc_fielddef *d, const char *in, char *out, size_t outlen);

#endif
