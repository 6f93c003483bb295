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

const struct udc_tablespec *
udc_spec_first_sum(const struct udc_spec *spec)
{
	for (size_t t = 0; t < spec->ntables; t++)
		if (spec->tables[t].sum >= 0)
			return &spec->tables[t];
	return NULL;
}

int
udc_spec_has_tables(const struct udc_spec *spec)
{
	return spec->ntables > 0;
}

const char *
udc_dimref_name(const struct udc_spec *spec, const struct udc_dimref *r)
{
	return r->recode < 0 ? spec->dims[r->side][r->index].name : spec->recodes[r->recode].name;
}

size_t
udc_dimref_nvalues(const struct udc_spec *spec, const struct udc_dimref *r)
{
	return r->recode < 0 ? spec->dims[r->side][r->index].nvalues
	                     : spec->recodes[r->recode].nvalues;
}

const char *
udc_dimref_value(const struct udc_spec *spec, const struct udc_dimref *r, size_t v)
{
	return r->recode < 0 ? spec->dims[r->side][r->index].values[v]
	                     : spec->recodes[r->recode].values[v];
}

size_t
udc_dimref_base(const struct udc_spec *spec, const struct udc_dimref *r)
{
	return r->recode < 0 ? r->index : spec->recodes[r->recode].src;
}

size_t
udc_dimref_of_base(const struct udc_spec *spec, const struct udc_dimref *r, size_t bv)
{
	return r->recode < 0 ? bv : spec->recodes[r->recode].map[bv];
}

const char *
udc_population_name(enum udc_population p)
{
	static const char *const names[] = {"linked", "gemeente_only", "cbs_only", "gemeente",
	                                    "cbs"};

	return (unsigned)p < sizeof(names) / sizeof(names[0]) ? names[p] : "?";
}

size_t
udc_spec_input_dims(const struct udc_spec *spec, int side)
{
	return side == UDC_SIDE_CBS ? spec->ndims[side] - spec->nhidden : spec->ndims[side];
}

int
udc_spec_grouped_attr(const struct udc_spec *spec)
{
	for (size_t i = 0; i < spec->nattrs; i++)
		if (spec->attrs[i].gdim >= 0)
			return (int)i;
	return -1;
}
