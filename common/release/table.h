/*
 * table.h - the linked-count table and its margins.
 *
 * cells[g * ncats + c] counts linked persons with gemeente group g and CBS
 * category c; g_unlinked[g] counts gemeente records not linked, c_unlinked[c]
 * CBS records not linked.  A released table carries 0 in suppressed entries
 * so the true value never leaves the CBS node.  Disclosure control:
 * disclosure.h (the full cross), linked.h (linked tables).
 */
#ifndef UDC_TABLE_H
#define UDC_TABLE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

struct udc_spec;

struct udc_table {
	size_t ngroups, ncats;
	uint64_t *cells;       /* ngroups * ncats */
	uint64_t *g_unlinked;  /* ngroups */
	uint64_t *c_unlinked;  /* ncats */
	uint8_t *cell_supp;    /* 1 = suppressed */
	uint8_t *g_supp;
	uint8_t *c_supp;
};

int udc_table_new(struct udc_table **out, size_t ngroups, size_t ncats);
void udc_table_free(struct udc_table *t);
/* A new table with t's counts and flags (*out NULL on failure). */
int udc_table_copy(struct udc_table **out, const struct udc_table *t);
/* Primary suppression: every cell and margin with 0 < count < min_cell is
 * suppressed and its count zeroed (min_cell 0 or 1: nothing suppressed).
 * Returns the number of suppressed entries. */
size_t udc_table_disclose(struct udc_table *t, unsigned min_cell);
/* Totals over released entries. */
uint64_t udc_table_linked_total(const struct udc_table *t);
/* Suppressed entries: cells and both margins (the release metadata). */
size_t udc_table_suppressed(const struct udc_table *t);

/* The entries one by one: cells row by row, the gemeente margin, the CBS
 * margin (udc_table_entries of them).  entry: its value and, if supp is
 * not NULL, its suppression flag; set_entry sets both. */
size_t udc_table_entries(const struct udc_table *t);
uint64_t udc_table_entry(const struct udc_table *t, size_t i, uint8_t *supp);
void udc_table_set_entry(struct udc_table *t, size_t i, uint64_t v, int supp);

/* CSV: header "kind,<gemeente dims...>,<cbs dims...>,count,suppressed";
 * rows: kind "linked" (one per group x category), "gemeente_only" (per group,
 * cbs dims empty), "cbs_only" (per category, gemeente dims empty); count empty
 * when suppressed.  Returns 0 or UDC_EIO. */
int udc_table_write_csv(const struct udc_table *t, const struct udc_spec *spec, FILE *f);

#endif
