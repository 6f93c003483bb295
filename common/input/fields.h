/*
 * fields.h - the identifier fields a node can map from its CSV.
 */
#ifndef UDC_FIELDS_H
#define UDC_FIELDS_H

enum udc_field {
	UDC_F_BSN = 0,
	UDC_F_GIVEN,     /* given_names */
	UDC_F_PREFIX,    /* surname_prefix ("van der") */
	UDC_F_SURNAME,   /* surname (without prefix) */
	UDC_F_BIRTH,     /* birth_date, normalised YYYY-MM-DD */
	UDC_F_SEX,       /* sex, normalised "m", "f" or "x" */
	UDC_F_POSTCODE,  /* postcode, normalised "2511AB" */
	UDC_F_HOUSENO,   /* house_number, normalised "12" or "12a" */
	UDC_NFIELDS
};

#define UDC_MAX_KEYS 8       /* match keys per spec */
#define UDC_MAX_DIMS 8       /* label dimensions per side */

/* "bsn", "given_names", "surname_prefix", "surname", "birth_date", "sex",
 * "postcode", "house_number". */
const char *udc_field_name(enum udc_field f);
/* Field for a name, or -1. */
int udc_field_parse(const char *name);

#endif
