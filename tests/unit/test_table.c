/*
 * test_table.c - counting table, primary suppression, CSV output.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "spec.h"
#include "table.h"

static struct udc_table *
table(size_t ng, size_t nc)
{
	struct udc_table *t = NULL;

	assert_int_equal(udc_table_new(&t, ng, nc), 0);
	assert_non_null(t);
	return t;
}

static void
test_new_zeroed(void **state)
{
	struct udc_table *t = table(3, 4), *u = NULL;

	for (size_t i = 0; i < 12; i++)
		assert_true(t->cells[i] == 0 && t->cell_supp[i] == 0);
	for (size_t i = 0; i < 3; i++)
		assert_true(t->g_unlinked[i] == 0 && t->g_supp[i] == 0);
	for (size_t i = 0; i < 4; i++)
		assert_true(t->c_unlinked[i] == 0 && t->c_supp[i] == 0);
	assert_int_equal(udc_table_new(&u, 0, 4), UDC_EINVAL);
	assert_null(u);
	assert_int_equal(udc_table_new(&u, SIZE_MAX / 2, 4), UDC_EINVAL);
	udc_table_free(t);
	udc_table_free(NULL);
}

static void
test_suppression_boundary(void **state)
{
	struct udc_table *t = table(1, 4);

	t->cells[0] = 9;
	t->cells[1] = 10;
	t->cells[2] = 0;
	t->cells[3] = 1;
	assert_int_equal(udc_table_disclose(t, 10), 2);
	assert_int_equal(t->cell_supp[0], 1);
	assert_int_equal(t->cells[0], 0); /* the true 9 is gone */
	assert_int_equal(t->cell_supp[1], 0);
	assert_int_equal(t->cells[1], 10);
	assert_int_equal(t->cell_supp[2], 0); /* zero is released */
	assert_int_equal(t->cells[2], 0);
	assert_int_equal(t->cell_supp[3], 1);
	assert_int_equal(udc_table_linked_total(t), 10);
	/* Again: the same entries stay suppressed. */
	assert_int_equal(udc_table_disclose(t, 10), 2);
	udc_table_free(t);
}

static void
test_min_zero_or_one_suppresses_nothing(void **state)
{
	for (unsigned min = 0; min < 2; min++) {
		struct udc_table *t = table(2, 2);

		for (size_t i = 0; i < 4; i++)
			t->cells[i] = i + 1;
		t->g_unlinked[0] = 1;
		t->c_unlinked[1] = 2;
		assert_int_equal(udc_table_disclose(t, min), 0);
		for (size_t i = 0; i < 4; i++) {
			assert_int_equal(t->cells[i], i + 1);
			assert_int_equal(t->cell_supp[i], 0);
		}
		assert_int_equal(t->g_unlinked[0], 1);
		assert_int_equal(t->c_unlinked[1], 2);
		assert_int_equal(udc_table_linked_total(t), 10);
		udc_table_free(t);
	}
}

static void
test_margins_suppressed(void **state)
{
	struct udc_table *t = table(2, 3);

	t->g_unlinked[0] = 4;
	t->g_unlinked[1] = 40;
	t->c_unlinked[0] = 0;
	t->c_unlinked[1] = 9;
	t->c_unlinked[2] = 10;
	assert_int_equal(udc_table_disclose(t, 10), 2);
	assert_int_equal(udc_table_suppressed(t), 2); /* one margin on each side */
	assert_int_equal(t->g_supp[0], 1);
	assert_int_equal(t->g_unlinked[0], 0);
	assert_int_equal(t->g_supp[1], 0);
	assert_int_equal(t->c_supp[0], 0);
	assert_int_equal(t->c_supp[1], 1);
	assert_int_equal(t->c_unlinked[1], 0);
	assert_int_equal(t->c_supp[2], 0);
	udc_table_free(t);
}

/* A 2 x 2 spec by hand, with labels that need quoting. */
static char *wijk_vals[] = {"Centrum", "Laak, Zuid"};
static char *hh_vals[] = {"alleenstaand", "paar met \"kinderen\""};

static void
spec_2x2(struct udc_spec *sp)
{
	memset(sp, 0, sizeof(*sp));
	sp->name = "test";
	sp->dims[UDC_SIDE_GEMEENTE][0] = (struct udc_dim){"wijk", wijk_vals, 2};
	sp->dims[UDC_SIDE_CBS][0] = (struct udc_dim){"huishouden", hh_vals, 2};
	sp->ndims[UDC_SIDE_GEMEENTE] = 1;
	sp->ndims[UDC_SIDE_CBS] = 1;
	sp->ncells[UDC_SIDE_GEMEENTE] = 2;
	sp->ncells[UDC_SIDE_CBS] = 2;
	sp->min_cell = 10;
}

static char *
csv_of(const struct udc_table *t, const struct udc_spec *sp, int *rv)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	*rv = udc_table_write_csv(t, sp, f);
	assert_int_equal(fclose(f), 0);
	return buf;
}

static void
test_csv_2x2(void **state)
{
	struct udc_spec sp;
	struct udc_table *t = table(2, 2);
	char *out;
	int rv;

	spec_2x2(&sp);
	t->cells[0] = 12; /* Centrum x alleenstaand */
	t->cells[1] = 9;
	t->cells[2] = 0;
	t->cells[3] = 10;
	t->g_unlinked[0] = 3;
	t->g_unlinked[1] = 25;
	t->c_unlinked[0] = 10;
	t->c_unlinked[1] = 1;
	assert_int_equal(udc_table_disclose(t, sp.min_cell), 3);
	assert_int_equal(udc_table_suppressed(t), 3);
	assert_int_equal(udc_table_linked_total(t), 22);

	out = csv_of(t, &sp, &rv);
	assert_int_equal(rv, 0);
	assert_string_equal(out, "kind,wijk,huishouden,count,suppressed\n"
	                         "linked,Centrum,alleenstaand,12,0\n"
	                         "linked,Centrum,\"paar met \"\"kinderen\"\"\",,1\n"
	                         "linked,\"Laak, Zuid\",alleenstaand,0,0\n"
	                         "linked,\"Laak, Zuid\",\"paar met \"\"kinderen\"\"\",10,0\n"
	                         "gemeente_only,Centrum,,,1\n"
	                         "gemeente_only,\"Laak, Zuid\",,25,0\n"
	                         "cbs_only,,alleenstaand,10,0\n"
	                         "cbs_only,,\"paar met \"\"kinderen\"\"\",,1\n");
	free(out);
	udc_table_free(t);
}

/* Two gemeente dimensions: the first varies slowest, as in spec_index.c. */
static void
test_csv_two_dims(void **state)
{
	static char *ja_nee[] = {"ja", "nee"};
	static char *leeftijd[] = {"0-11", "12-17", "18+\n(volwassen)"};
	static char *uitkering[] = {"geen"};
	struct udc_spec sp;
	struct udc_table *t = table(6, 1);
	char *out;
	int rv;

	memset(&sp, 0, sizeof(sp));
	sp.dims[0][0] = (struct udc_dim){"ooievaarspas", ja_nee, 2};
	sp.dims[0][1] = (struct udc_dim){"leeftijd", leeftijd, 3};
	sp.dims[1][0] = (struct udc_dim){"uitkering", uitkering, 1};
	sp.ndims[0] = 2;
	sp.ndims[1] = 1;
	sp.ncells[0] = 6;
	sp.ncells[1] = 1;
	for (size_t g = 0; g < 6; g++) {
		t->cells[g] = 100 + g;
		t->g_unlinked[g] = g;
	}
	t->c_unlinked[0] = 77;

	out = csv_of(t, &sp, &rv);
	assert_int_equal(rv, 0);
	assert_string_equal(out, "kind,ooievaarspas,leeftijd,uitkering,count,suppressed\n"
	                         "linked,ja,0-11,geen,100,0\n"
	                         "linked,ja,12-17,geen,101,0\n"
	                         "linked,ja,\"18+\n(volwassen)\",geen,102,0\n"
	                         "linked,nee,0-11,geen,103,0\n"
	                         "linked,nee,12-17,geen,104,0\n"
	                         "linked,nee,\"18+\n(volwassen)\",geen,105,0\n"
	                         "gemeente_only,ja,0-11,,0,0\n"
	                         "gemeente_only,ja,12-17,,1,0\n"
	                         "gemeente_only,ja,\"18+\n(volwassen)\",,2,0\n"
	                         "gemeente_only,nee,0-11,,3,0\n"
	                         "gemeente_only,nee,12-17,,4,0\n"
	                         "gemeente_only,nee,\"18+\n(volwassen)\",,5,0\n"
	                         "cbs_only,,,geen,77,0\n");
	free(out);
	udc_table_free(t);
}

static void
test_csv_errors(void **state)
{
	struct udc_spec sp;
	struct udc_table *t = table(2, 3);
	FILE *f;
	char *out;
	int rv;

	spec_2x2(&sp);
	/* The table does not fit the spec. */
	out = csv_of(t, &sp, &rv);
	assert_int_equal(rv, UDC_EINVAL);
	free(out);
	udc_table_free(t);

	/* A full disk is reported, not lost in the stdio buffer. */
	t = table(2, 2);
	f = fopen("/dev/full", "w");
	if (f != NULL) {
		assert_int_equal(udc_table_write_csv(t, &sp, f), UDC_EIO);
		fclose(f);
	}
	udc_table_free(t);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_new_zeroed),
	    cmocka_unit_test(test_suppression_boundary),
	    cmocka_unit_test(test_min_zero_or_one_suppresses_nothing),
	    cmocka_unit_test(test_margins_suppressed),
	    cmocka_unit_test(test_csv_2x2),
	    cmocka_unit_test(test_csv_two_dims),
	    cmocka_unit_test(test_csv_errors),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
