/* fields.c - names of the identifier fields. */
#include "fields.h"

#include <string.h>

static const char *const field_names[UDC_NFIELDS] = {
	"bsn", "given_names", "surname_prefix", "surname",
	"birth_date", "sex", "postcode", "house_number",
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
