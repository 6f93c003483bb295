/*
 * fuzz_spec.c - the round spec parser.
 *
 * udc_spec_parse gets the bytes as they are, with their exact length and no
 * terminating NUL (the parser must not read past len).  A spec that parses
 * is checked for its invariants: every cell index splits into label indices
 * within range and back, every allowed value is found by udc_dim_lookup, and
 * the canonical text (what both nodes hash) cannot be ambiguous: no name
 * holds '=' or a newline, no value a ',' or a newline.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "fuzz.h"
#include "spec.h"

static void
check_side(const struct udc_spec *s, int side)
{
	size_t idx[UDC_MAX_DIMS], cells = 1;

	FUZZ_CHECK(s->ndims[side] <= UDC_MAX_DIMS);
	for (size_t d = 0; d < s->ndims[side]; d++) {
		const struct udc_dim *dim = &s->dims[side][d];
		FUZZ_CHECK(dim->name != NULL && dim->nvalues > 0);
		for (size_t v = 0; v < dim->nvalues; v++)
			FUZZ_CHECK(udc_dim_lookup(dim, dim->values[v]) == (int)v);
		cells *= dim->nvalues;
	}
	FUZZ_CHECK(cells == s->ncells[side]);
	/* Walk a bounded sample of cells: the first, the last and a stride. */
	for (size_t c = 0; c < s->ncells[side]; c += 1 + s->ncells[side] / 64) {
		udc_spec_cell_split(s, side, c, idx);
		for (size_t d = 0; d < s->ndims[side]; d++)
			FUZZ_CHECK(idx[d] < s->dims[side][d].nvalues);
		FUZZ_CHECK(udc_spec_cell_index(s, side, idx) == c);
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct udc_spec *s = NULL;
	char err[512] = "", hex[65];
	int rv;

	rv = udc_spec_parse((const char *)data, size, "fuzz.spec", &s, err, sizeof(err));
	if (rv != 0) {
		FUZZ_CHECK(err[0] != '\0' || rv == UDC_ENOMEM);
		return 0;
	}
	FUZZ_CHECK(s->nkeys >= 1 && s->nkeys <= UDC_MAX_KEYS);
	for (size_t j = 0; j < s->nkeys; j++)
		FUZZ_CHECK(s->keys[j].name != NULL && s->keys[j].nfields >= 1 &&
		    s->keys[j].nfields <= UDC_NFIELDS);
	check_side(s, 0);
	check_side(s, 1);
	udc_spec_hash_hex(s, hex);
	FUZZ_CHECK(strlen(hex) == 64);
	FUZZ_CHECK(s->canonical != NULL);
	/* The canonical form must be unambiguous: a different spec must not
	 * write the same text (a name with '=' or a value with ',' would). */
	FUZZ_CHECK(strncmp(s->canonical, s->ntables ? "udclink-spec 2\n" : "udclink-spec 1\n",
	    15) == 0);
	FUZZ_CHECK(s->canonical[strlen(s->canonical) - 1] == '\n');
	FUZZ_CHECK(strchr(s->name, '\n') == NULL);
	for (int side = 0; side < 2; side++)
		for (size_t d = 0; d < s->ndims[side]; d++) {
			const struct udc_dim *dim = &s->dims[side][d];
			FUZZ_CHECK(strpbrk(dim->name, "=\n") == NULL && dim->name[0] != '\0');
			for (size_t v = 0; v < dim->nvalues; v++)
				FUZZ_CHECK(strpbrk(dim->values[v], ",\n") == NULL);
		}
	/* Tables: names cannot end a canonical key early, a recode's values
	 * (INI keys) hold no '=', every category is a value of its dimension. */
	FUZZ_CHECK(s->ntables <= UDC_MAX_TABLES && s->nrecodes <= UDC_MAX_RECODES);
	for (size_t r = 0; r < s->nrecodes; r++) {
		FUZZ_CHECK(strpbrk(s->recodes[r].name, "=.\n") == NULL);
		for (size_t v = 0; v < s->recodes[r].nvalues; v++)
			FUZZ_CHECK(strpbrk(s->recodes[r].values[v], "=,\n") == NULL);
		for (size_t v = 0; v < s->dims[s->recodes[r].side][s->recodes[r].src].nvalues; v++)
			FUZZ_CHECK(s->recodes[r].map[v] < s->recodes[r].nvalues);
	}
	for (size_t t = 0; t < s->ntables; t++) {
		const struct udc_tablespec *ts = &s->tables[t];
		size_t cells = 1;

		FUZZ_CHECK(strpbrk(ts->name, "=.\n") == NULL);
		FUZZ_CHECK(ts->ndims <= UDC_MAX_TABLE_DIMS && ts->nwhere <= UDC_MAX_WHERE);
		for (size_t i = 0; i < ts->ndims; i++) {
			FUZZ_CHECK(ts->dims[i].ncats >= 1);
			for (size_t k = 0; k < ts->dims[i].ncats; k++)
				FUZZ_CHECK(ts->dims[i].cats[k] <
				    udc_dimref_nvalues(s, &ts->dims[i].ref));
			cells *= ts->dims[i].ncats + 1;
		}
		FUZZ_CHECK(cells == ts->ncells);
		FUZZ_CHECK(ts->sum < (int)s->nattrs && (!ts->mean || ts->sum >= 0));
	}
	udc_spec_free(s);
	return 0;
}
