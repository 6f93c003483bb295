/*
 * table.c - the linked-count table and its margins.
 *
 * The CBS node counts into a udc_table and writes the released table as CSV
 * with the spec's dimension names and values as labels (a suppressed entry
 * as empty).  Disclosure control is disclosure.c's (the full cross) and
 * linked.c's (linked tables); udc_table_disclose here is primary
 * suppression alone (only the tests call it), which zeroes what it
 * suppresses so that no later step can let the true count out by mistake.
 */
#include "table.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "spec.h"

int
udc_table_new(struct udc_table **out, size_t ngroups, size_t ncats)
{
	struct udc_table *t = NULL;
	int rv;

	*out = NULL;
	/* A spec without dimensions still has one cell per side. */
	if (ngroups == 0 || ncats == 0 || ngroups > SIZE_MAX / sizeof(uint64_t) / ncats) {
		rv = UDC_EINVAL;
		goto out;
	}
	if ((t = calloc(1, sizeof(*t))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	t->ngroups = ngroups;
	t->ncats = ncats;
	if ((t->cells = calloc(ngroups * ncats, sizeof(*t->cells))) == NULL ||
	    (t->g_unlinked = calloc(ngroups, sizeof(*t->g_unlinked))) == NULL ||
	    (t->c_unlinked = calloc(ncats, sizeof(*t->c_unlinked))) == NULL ||
	    (t->cell_supp = calloc(ngroups * ncats, sizeof(*t->cell_supp))) == NULL ||
	    (t->g_supp = calloc(ngroups, sizeof(*t->g_supp))) == NULL ||
	    (t->c_supp = calloc(ncats, sizeof(*t->c_supp))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	*out = t;
	t = NULL;
	rv = 0;
out:
	udc_table_free(t);
	return rv;
}

void
udc_table_free(struct udc_table *t)
{
	if (t == NULL)
		return;
	free(t->cells);
	free(t->g_unlinked);
	free(t->c_unlinked);
	free(t->cell_supp);
	free(t->g_supp);
	free(t->c_supp);
	free(t);
}

/* Suppresses one entry if its count is small but not zero. */
static void
suppress_one(uint64_t *count, uint8_t *supp, unsigned min_cell)
{
	/* Zero is released: an empty cell names nobody. */
	if (*count > 0 && *count < min_cell) {
		*supp = 1;
		*count = 0;
	}
}

static size_t
disclose_vec(uint64_t *count, uint8_t *supp, size_t n, unsigned min_cell)
{
	size_t nsupp = 0;

	for (size_t i = 0; i < n; i++) {
		if (min_cell > 1)
			suppress_one(&count[i], &supp[i], min_cell);
		nsupp += supp[i] != 0;
	}
	return nsupp;
}

size_t
udc_table_disclose(struct udc_table *t, unsigned min_cell)
{
	size_t nsupp = 0;

	/* The margins name people too ("in the CBS list, not linked"), so
	 * they follow the same rule as the cells. */
	nsupp += disclose_vec(t->cells, t->cell_supp, t->ngroups * t->ncats, min_cell);
	nsupp += disclose_vec(t->g_unlinked, t->g_supp, t->ngroups, min_cell);
	nsupp += disclose_vec(t->c_unlinked, t->c_supp, t->ncats, min_cell);
	return nsupp;
}

uint64_t
udc_table_linked_total(const struct udc_table *t)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < t->ngroups * t->ncats; i++)
		if (!t->cell_supp[i])
			sum += t->cells[i];
	return sum;
}

size_t
udc_table_suppressed(const struct udc_table *t)
{
	size_t n = 0;

	for (size_t k = 0; k < t->ngroups * t->ncats; k++)
		n += t->cell_supp[k];
	for (size_t k = 0; k < t->ngroups; k++)
		n += t->g_supp[k];
	for (size_t k = 0; k < t->ncats; k++)
		n += t->c_supp[k];
	return n;
}

/* One CSV field, quoted (RFC 4180) only when it has to be. */
static int
put_field(FILE *f, const char *s, int first)
{
	if (!first && fputc(',', f) == EOF)
		return UDC_EIO;
	if (strpbrk(s, ",\"\r\n") == NULL)
		return fputs(s, f) == EOF ? UDC_EIO : 0;
	if (fputc('"', f) == EOF)
		return UDC_EIO;
	for (; *s != '\0'; s++) {
		if (*s == '"' && fputc('"', f) == EOF)
			return UDC_EIO;
		if (fputc(*s, f) == EOF)
			return UDC_EIO;
	}
	return fputc('"', f) == EOF ? UDC_EIO : 0;
}

/* The labels of one side's cell, or empty fields when cell is SIZE_MAX. */
static int
put_labels(FILE *f, const struct udc_spec *spec, int side, size_t cell)
{
	size_t idx[UDC_MAX_DIMS];
	int rv;

	if (cell != SIZE_MAX)
		udc_spec_cell_split(spec, side, cell, idx);
	for (size_t i = 0; i < spec->ndims[side]; i++) {
		const char *v = cell != SIZE_MAX ? spec->dims[side][i].values[idx[i]] : "";

		if ((rv = put_field(f, v, 0)) != 0)
			return rv;
	}
	return 0;
}

static int
put_row(FILE *f, const struct udc_spec *spec, const char *kind, size_t g, size_t c, uint64_t count,
        int supp)
{
	int rv;

	if ((rv = put_field(f, kind, 1)) != 0 ||
	    (rv = put_labels(f, spec, UDC_SIDE_GEMEENTE, g)) != 0 ||
	    (rv = put_labels(f, spec, UDC_SIDE_CBS, c)) != 0)
		return rv;
	/* A suppressed count is left empty, not 0, so nobody reads it as
	 * a real zero. */
	if (supp)
		rv = fprintf(f, ",,1\n");
	else
		rv = fprintf(f, ",%llu,0\n", (unsigned long long)count);
	return rv < 0 ? UDC_EIO : 0;
}

int
udc_table_write_csv(const struct udc_table *t, const struct udc_spec *spec, FILE *f)
{
	int rv;

	if (t->ngroups != spec->ncells[UDC_SIDE_GEMEENTE] ||
	    t->ncats != spec->ncells[UDC_SIDE_CBS] || spec->ndims[0] > UDC_MAX_DIMS ||
	    spec->ndims[1] > UDC_MAX_DIMS) {
		rv = UDC_EINVAL;
		goto out;
	}

	if ((rv = put_field(f, "kind", 1)) != 0)
		goto out;
	for (int side = UDC_SIDE_GEMEENTE; side <= UDC_SIDE_CBS; side++)
		for (size_t i = 0; i < spec->ndims[side]; i++)
			if ((rv = put_field(f, spec->dims[side][i].name, 0)) != 0)
				goto out;
	if (fputs(",count,suppressed\n", f) == EOF) {
		rv = UDC_EIO;
		goto out;
	}

	for (size_t g = 0; g < t->ngroups; g++) {
		for (size_t c = 0; c < t->ncats; c++) {
			size_t k = g * t->ncats + c;

			rv = put_row(f, spec, "linked", g, c, t->cells[k], t->cell_supp[k]);
			if (rv != 0)
				goto out;
		}
	}
	for (size_t g = 0; g < t->ngroups; g++)
		if ((rv = put_row(f, spec, "gemeente_only", g, SIZE_MAX, t->g_unlinked[g],
		                  t->g_supp[g])) != 0)
			goto out;
	for (size_t c = 0; c < t->ncats; c++)
		if ((rv = put_row(f, spec, "cbs_only", SIZE_MAX, c, t->c_unlinked[c],
		                  t->c_supp[c])) != 0)
			goto out;
	/* Flushed here so that a full disk is reported to the caller
	 * instead of being lost in the stdio buffer. */
	rv = fflush(f) != 0 || ferror(f) ? UDC_EIO : 0;
out:
	return rv;
}

int
udc_table_copy(struct udc_table **out, const struct udc_table *t)
{
	struct udc_table *c = NULL;
	size_t n = t->ngroups * t->ncats;
	int rv;

	*out = NULL;
	if ((rv = udc_table_new(&c, t->ngroups, t->ncats)) != 0)
		return rv;
	memcpy(c->cells, t->cells, n * sizeof(*c->cells));
	memcpy(c->g_unlinked, t->g_unlinked, t->ngroups * sizeof(*c->g_unlinked));
	memcpy(c->c_unlinked, t->c_unlinked, t->ncats * sizeof(*c->c_unlinked));
	memcpy(c->cell_supp, t->cell_supp, n);
	memcpy(c->g_supp, t->g_supp, t->ngroups);
	memcpy(c->c_supp, t->c_supp, t->ncats);
	*out = c;
	return 0;
}

size_t
udc_table_entries(const struct udc_table *t)
{
	return t->ngroups * t->ncats + t->ngroups + t->ncats;
}

static void
entry_at(const struct udc_table *t, size_t i, uint64_t **v, uint8_t **supp)
{
	size_t nc = t->ngroups * t->ncats;

	if (i < nc) {
		*v = &t->cells[i];
		*supp = &t->cell_supp[i];
	} else if (i < nc + t->ngroups) {
		*v = &t->g_unlinked[i - nc];
		*supp = &t->g_supp[i - nc];
	} else {
		*v = &t->c_unlinked[i - nc - t->ngroups];
		*supp = &t->c_supp[i - nc - t->ngroups];
	}
}

uint64_t
udc_table_entry(const struct udc_table *t, size_t i, uint8_t *supp)
{
	uint64_t *v;
	uint8_t *sp;

	entry_at(t, i, &v, &sp);
	if (supp != NULL)
		*supp = *sp;
	return *v;
}

void
udc_table_set_entry(struct udc_table *t, size_t i, uint64_t v, int supp)
{
	uint64_t *pv;
	uint8_t *sp;

	entry_at(t, i, &pv, &sp);
	*pv = v;
	*sp = supp ? 1 : 0;
}
