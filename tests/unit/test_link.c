/*
 * test_link.c - hierarchical 1:1 linkage and counting (common/exact/link.c) and
 * the blinded-list helpers it relies on (common/exact/blist.c: padding, shuffle).
 *
 * Points here are arbitrary 32-byte strings: linkage only compares them.
 * The random case checks against a plain quadratic reference written here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "blist.h"
#include "err.h"
#include "link.h"
#include "rand.h"
#include "table.h"

/* A point derived from a small id (distinct ids give distinct points). */
static void
pt(uint8_t out[32], uint32_t id)
{
	memset(out, 0, 32);
	memcpy(out, &id, sizeof(id));
	out[31] = 0x5a;
}

/* Appends a record whose key j has id ids[j]. */
static void
add(struct udc_blist *l, uint16_t label, const uint32_t *ids)
{
	uint8_t p[UDC_MAX_KEYS * 32];
	for (size_t j = 0; j < l->nkeys; j++)
		pt(p + 32 * j, ids[j]);
	assert_int_equal(udc_blist_append(l, p, &label, 1), 0);
}

static void
test_one_key(void **st)
{
	struct udc_blist g, c;
	struct udc_table *t;
	uint64_t links[1];
	(void)st;

	udc_blist_init(&g, 1, 0);
	udc_blist_init(&c, 1, 0);
	add(&g, 0, (uint32_t[]){ 1 });
	add(&g, 1, (uint32_t[]){ 2 });
	add(&g, 1, (uint32_t[]){ 3 });
	add(&c, 0, (uint32_t[]){ 1 });
	add(&c, 1, (uint32_t[]){ 2 });
	add(&c, 0, (uint32_t[]){ 4 });
	assert_int_equal(udc_table_new(&t, 2, 2), 0);
	assert_int_equal(udc_link_count(&g, &c, NULL, t, links), 0);
	assert_int_equal(links[0], 2);
	assert_int_equal(t->cells[0 * 2 + 0], 1);
	assert_int_equal(t->cells[0 * 2 + 1], 0);
	assert_int_equal(t->cells[1 * 2 + 0], 0);
	assert_int_equal(t->cells[1 * 2 + 1], 1);
	assert_int_equal(t->g_unlinked[0], 0);
	assert_int_equal(t->g_unlinked[1], 1);
	assert_int_equal(t->c_unlinked[0], 1);
	assert_int_equal(t->c_unlinked[1], 0);
	udc_table_free(t);
	udc_blist_free(&g);
	udc_blist_free(&c);
}

static void
test_hierarchy_and_ambiguity(void **st)
{
	struct udc_blist g, c;
	struct udc_table *t;
	uint64_t links[2];
	(void)st;

	udc_blist_init(&g, 2, 0);
	udc_blist_init(&c, 2, 0);
	/* g0 links c0 on key 0; key 1 of both also equals c1's: not reused. */
	add(&g, 0, (uint32_t[]){ 10, 100 });
	add(&c, 0, (uint32_t[]){ 10, 100 });
	add(&c, 0, (uint32_t[]){ 11, 100 });
	/* g1 and g2 share key 0 value 20 (ambiguous): neither links on key 0,
	 * though c2 carries 20; g1 links c2 on key 1 instead. */
	add(&g, 1, (uint32_t[]){ 20, 200 });
	add(&g, 1, (uint32_t[]){ 20, 201 });
	add(&c, 1, (uint32_t[]){ 20, 200 });
	/* Three gemeente records share 30: none links on key 0. */
	add(&g, 0, (uint32_t[]){ 30, 300 });
	add(&g, 0, (uint32_t[]){ 30, 301 });
	add(&g, 0, (uint32_t[]){ 30, 302 });
	add(&c, 1, (uint32_t[]){ 30, 999 });
	assert_int_equal(udc_table_new(&t, 2, 2), 0);
	assert_int_equal(udc_link_count(&g, &c, NULL, t, links), 0);
	assert_int_equal(links[0], 1);             /* g0-c0 */
	assert_int_equal(links[1], 1);             /* g1-c2 */
	assert_int_equal(t->cells[0 * 2 + 0], 1);
	assert_int_equal(t->cells[1 * 2 + 1], 1);
	assert_int_equal(t->cells[0 * 2 + 1] + t->cells[1 * 2 + 0], 0);
	assert_int_equal(t->g_unlinked[0], 3);    /* the three 30s */
	assert_int_equal(t->g_unlinked[1], 1);    /* g2 */
	assert_int_equal(t->c_unlinked[0], 1);    /* c1 */
	assert_int_equal(t->c_unlinked[1], 1);    /* c3 */
	udc_table_free(t);
	udc_blist_free(&g);
	udc_blist_free(&c);
}

static void
test_dummies_and_labels(void **st)
{
	struct udc_blist g, c;
	struct udc_table *t;
	uint64_t links[1], dummies[3];
	(void)st;

	udc_blist_init(&g, 1, 0);
	udc_blist_init(&c, 1, 0);
	add(&g, 0, (uint32_t[]){ 1 });
	add(&c, 0, (uint32_t[]){ 1 });
	add(&c, 0, (uint32_t[]){ 2 });
	add(&c, 0, (uint32_t[]){ 3 });
	add(&c, 2, (uint32_t[]){ 4 });
	/* Padding brings every category up to the largest (3). */
	assert_int_equal(udc_blist_pad(&c, 3, dummies), 0);
	assert_int_equal(c.n, 9);
	assert_int_equal(dummies[0], 0);
	assert_int_equal(dummies[1], 3);
	assert_int_equal(dummies[2], 2);
	udc_blist_shuffle(&c);
	assert_int_equal(udc_table_new(&t, 1, 3), 0);
	assert_int_equal(udc_link_count(&g, &c, dummies, t, links), 0);
	assert_int_equal(links[0], 1);
	assert_int_equal(t->cells[0], 1);
	assert_int_equal(t->c_unlinked[0], 2);
	assert_int_equal(t->c_unlinked[1], 0);
	assert_int_equal(t->c_unlinked[2], 1);
	udc_table_free(t);
	/* A label outside the table is a protocol error, not a crash. */
	add(&g, 7, (uint32_t[]){ 5 });
	assert_int_equal(udc_table_new(&t, 1, 3), 0);
	assert_int_equal(udc_link_count(&g, &c, dummies, t, links), UDC_EPROTO);
	udc_table_free(t);
	udc_blist_free(&g);
	udc_blist_free(&c);
}

/* Reference: the same rules, written the slow and obvious way. */
static void
reference(const struct udc_blist *g, const struct udc_blist *c, struct udc_table *t, uint64_t *links)
{
	char *gl = calloc(g->n + 1, 1), *cl = calloc(c->n + 1, 1);
	for (size_t j = 0; j < g->nkeys; j++) {
		links[j] = 0;
		for (size_t i = 0; i < c->n; i++) {
			if (cl[i])
				continue;
			size_t hit = SIZE_MAX, nsame = 0;
			for (size_t k = 0; k < g->n; k++) {
				if (gl[k])
					continue;
				if (memcmp(udc_blist_pt(g, k, j), udc_blist_pt(c, i, j), 32) == 0)
					hit = k;
			}
			if (hit == SIZE_MAX)
				continue;
			/* ambiguous if the value occurs twice among unlinked gemeente records */
			for (size_t k = 0; k < g->n; k++)
				if (!gl[k] && memcmp(udc_blist_pt(g, k, j), udc_blist_pt(g, hit, j), 32) == 0)
					nsame++;
			if (nsame != 1)
				continue;
			gl[hit] = cl[i] = 1;
			t->cells[g->lab[hit] * t->ncats + c->lab[i]]++;
			links[j]++;
		}
	}
	for (size_t k = 0; k < g->n; k++)
		if (!gl[k])
			t->g_unlinked[g->lab[k]]++;
	for (size_t i = 0; i < c->n; i++)
		if (!cl[i])
			t->c_unlinked[c->lab[i]]++;
	free(gl);
	free(cl);
}

static void
test_random_against_reference(void **st)
{
	(void)st;
	for (int round = 0; round < 30; round++) {
		struct udc_blist g, c;
		struct udc_table *t1, *t2;
		uint64_t l1[3], l2[3];
		size_t ng = 50 + udc_random_uniform(300), nc = 50 + udc_random_uniform(300);

		udc_blist_init(&g, 3, 0);
		udc_blist_init(&c, 3, 0);
		/* Small id ranges per key make collisions, shared values and
		 * partial matches frequent; CBS values are unique per key, as
		 * the CBS node's own deduplication guarantees. */
		for (size_t i = 0; i < ng; i++) {
			uint32_t ids[3] = { udc_random_uniform(400), 1000 + udc_random_uniform(400),
				2000 + udc_random_uniform(400) };
			add(&g, (uint16_t)udc_random_uniform(4), ids);
		}
		for (size_t i = 0; i < nc; i++) {
			uint32_t ids[3] = { (uint32_t)(i * 7919 % 400 + (i >= 400 ? 5000 : 0)),
				1000 + (uint32_t)(i * 104729 % 400), 2000 + (uint32_t)(i * 1299709 % 400) };
			add(&c, (uint16_t)udc_random_uniform(3), ids);
		}
		assert_int_equal(udc_table_new(&t1, 4, 3), 0);
		assert_int_equal(udc_table_new(&t2, 4, 3), 0);
		assert_int_equal(udc_link_count(&g, &c, NULL, t1, l1), 0);
		reference(&g, &c, t2, l2);
		assert_memory_equal(l1, l2, sizeof(l1));
		assert_memory_equal(t1->cells, t2->cells, 12 * sizeof(uint64_t));
		assert_memory_equal(t1->g_unlinked, t2->g_unlinked, 4 * sizeof(uint64_t));
		assert_memory_equal(t1->c_unlinked, t2->c_unlinked, 3 * sizeof(uint64_t));
		udc_table_free(t1);
		udc_table_free(t2);
		udc_blist_free(&g);
		udc_blist_free(&c);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_one_key),
		cmocka_unit_test(test_hierarchy_and_ambiguity),
		cmocka_unit_test(test_dummies_and_labels),
		cmocka_unit_test(test_random_against_reference),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
