/* spec_index.c - label tuples <-> table cell indices (mixed radix). */
#include "spec.h"

#include <string.h>

int
udc_dim_lookup(const struct udc_dim *dim, const char *value)
{
	for (size_t i = 0; i < dim->nvalues; i++)
		if (strcmp(dim->values[i], value) == 0)
			return (int)i;
	return -1;
}

size_t
udc_spec_cell_index(const struct udc_spec *spec, int side, const size_t *idx)
{
	size_t cell = 0;

	for (size_t i = 0; i < spec->ndims[side]; i++)
		cell = cell * spec->dims[side][i].nvalues + idx[i];
	return cell;
}

void
udc_spec_cell_split(const struct udc_spec *spec, int side, size_t cell, size_t *idx)
{
	for (size_t i = spec->ndims[side]; i-- > 0;) {
		size_t nv = spec->dims[side][i].nvalues;
		idx[i] = cell % nv;
		cell /= nv;
	}
}
