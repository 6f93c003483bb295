/*
 * test_linkage.c - the CBS node's linkage of fuzzy and combined rounds
 * (common/fuzzy/linkage.c) on lists built by hand: exact keys first, the
 * encodings of the records still unlinked after them, and the report.
 *
 * Points are arbitrary 32-byte strings (linkage only compares them);
 * encodings are random 256-bit filters, and a gemeente record meant to link
 * by Dice carries a copy of its partner's filter with a few bits flipped, so
 * the expected pairs are known before the run.
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
#include "linkage.h"
#include "spec.h"

#define ENC_BYTES 32 /* 256-bit filters */

static uint64_t rng = 0x1234567887654321ULL;

static uint64_t
rnd(void)
{
	uint64_t z = (rng += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

/* A random filter with about 30% of the bits set. */
static void
random_filter(uint8_t *f)
{
	for (size_t i = 0; i < ENC_BYTES; i++) {
		uint8_t b = 0;

		for (int k = 0; k < 8; k++)
			if (rnd() % 100 < 30)
				b |= (uint8_t)(1u << k);
		f[i] = b;
	}
}

/* dst = src with `flips` distinct bits flipped. */
static void
noisy_copy(uint8_t *dst, const uint8_t *src, int flips)
{
	memcpy(dst, src, ENC_BYTES);
	for (int k = 0; k < flips; k++)
		dst[(k * 37 + 5) % ENC_BYTES] ^= (uint8_t)(1u << (k % 8));
}

static void
pt(uint8_t out[32], uint32_t id)
{
	memset(out, 0, 32);
	memcpy(out, &id, sizeof(id));
	out[31] = 0xa5;
}

/* Appends a record with key ids (0 = a key of its own, never shared) and
 * payload; returns its index. */
static size_t
add(struct udc_blist *l, const uint32_t *ids, const uint8_t *payload)
{
	uint8_t p[UDC_MAX_KEYS * 32];
	uint16_t lab = 0;
	static uint32_t unique = 0x80000000u;

	for (size_t j = 0; j < l->nkeys; j++)
		pt(p + 32 * j, ids[j] ? ids[j] : unique++);
	assert_int_equal(udc_blist_append(l, p, &lab, 1), 0);
	memcpy(udc_blist_ext(l, l->n - 1), payload, l->extra);
	return l->n - 1;
}

static struct udc_spec *
mkspec(enum udc_mode mode, size_t nkeys, unsigned threshold)
{
	struct udc_spec *s = calloc(1, sizeof(*s));

	assert_non_null(s);
	s->mode = mode;
	s->nkeys = nkeys;
	s->threshold = threshold;
	return s;
}

static void
setup_in(struct udc_linkage_in *in, const struct udc_spec *spec, struct udc_blist *g,
         struct udc_blist *own, struct udc_blist *ownx)
{
	memset(in, 0, sizeof(*in));
	in->spec = spec;
	in->g = g;
	in->own = own;
	in->ownx = ownx;
	in->enc_bytes = ENC_BYTES;
	in->enc_bits = ENC_BYTES * 8;
	in->segments = 1;
	in->seed = 42;
}

/* Fuzzy mode: 100 planted pairs among 120 gemeente and 200 CBS records. */
static void
test_fuzzy_planted(void **st)
{
	struct udc_spec *spec = mkspec(UDC_MODE_FUZZY, 0, 850);
	struct udc_blist g, own;
	struct udc_linkage_in in;
	struct udc_linkage_report rep;
	uint8_t b[200][ENC_BYTES], pay[32 + ENC_BYTES];
	int64_t pair[120], want[120];
	uint8_t linked[200];
	size_t nlinked = 0;
	char why[256];
	(void)st;

	udc_blist_init(&g, 0, 0);
	udc_blist_set_extra(&g, 32 + ENC_BYTES);
	udc_blist_init(&own, 0, 0);
	udc_blist_set_extra(&own, ENC_BYTES);
	for (size_t k = 0; k < 200; k++) {
		random_filter(b[k]);
		add(&own, NULL, b[k]);
	}
	for (size_t i = 0; i < 120; i++) {
		memset(pay, (int)i, 32); /* the handle */
		if (i < 100) {
			/* partner 2i+1: every other CBS record */
			noisy_copy(pay + 32, b[2 * i + 1], 3);
			want[i] = (int64_t)(2 * i + 1);
		} else {
			random_filter(pay + 32);
			want[i] = -1;
		}
		add(&g, NULL, pay);
	}
	setup_in(&in, spec, &g, &own, NULL);
	assert_int_equal(udc_linkage_run(&in, pair, linked, &rep, why, sizeof(why)), 0);
	for (size_t i = 0; i < 120; i++)
		assert_int_equal(pair[i], want[i]);
	for (size_t k = 0; k < 200; k++) {
		assert_int_equal(linked[k], k % 2 == 1);
		nlinked += linked[k];
	}
	assert_int_equal(nlinked, 100);
	assert_int_equal(rep.fuzzy_links, 100);
	assert_int_equal(rep.fuzzy_a, 120);
	assert_int_equal(rep.fuzzy_b, 200);
	assert_int_equal(rep.bands[0] + rep.bands[1] + rep.bands[2] + rep.bands[3], 100);
	assert_int_equal(rep.band_lo[0], 850);
	assert_int_equal(rep.band_lo[UDC_FUZZY_NBANDS], 1000);
	assert_int_equal(rep.exact[0], 0);
	assert_true(rep.stats.pairs_total == 120 * 200);
	udc_blist_free(&g);
	udc_blist_free(&own);
	free(spec);
}

/*
 * Combined mode: a record linked by an exact key leaves the Dice step, even
 * when its encoding is the best match of another CBS record.
 *   g0: key 0 = own0's; its filter is own1's exactly (Dice 1.0)
 *   g1: no key in common; filter a noisy copy of own1 -> links own1 by Dice
 *   g2: key 1 = own2's (key 0 differs)
 *   g3: no key at all; noisy copy of own3
 *   g4: nothing in common with anyone
 */
static void
test_combined_exact_first(void **st)
{
	struct udc_spec *spec = mkspec(UDC_MODE_COMBINED, 2, 850);
	struct udc_blist g, own, ownx;
	struct udc_linkage_in in;
	struct udc_linkage_report rep;
	uint8_t b[5][ENC_BYTES], pay[32 + ENC_BYTES];
	int64_t pair[5];
	uint8_t linked[5];
	char why[256];
	(void)st;

	udc_blist_init(&g, 2, 0);
	udc_blist_set_extra(&g, 32 + ENC_BYTES);
	udc_blist_init(&own, 2, 0);
	udc_blist_set_extra(&own, ENC_BYTES);
	udc_blist_init(&ownx, 2, 0);
	for (size_t k = 0; k < 5; k++) {
		uint32_t ids[2] = {(uint32_t)(100 + k), (uint32_t)(200 + k)};
		uint8_t p[64];

		random_filter(b[k]);
		add(&own, ids, b[k]);
		/* ownx: the same keys raised to a and b: here simply the ids */
		pt(p, ids[0]);
		pt(p + 32, ids[1]);
		assert_int_equal(udc_blist_append(&ownx, p, (uint16_t[]){0}, 1), 0);
	}
	memset(pay, 0, 32);
	memcpy(pay + 32, b[1], ENC_BYTES);
	add(&g, (uint32_t[]){100, 0}, pay);
	noisy_copy(pay + 32, b[1], 4);
	add(&g, (uint32_t[]){0, 0}, pay);
	random_filter(pay + 32);
	add(&g, (uint32_t[]){0, 202}, pay);
	noisy_copy(pay + 32, b[3], 2);
	add(&g, (uint32_t[]){0, 0}, pay);
	random_filter(pay + 32);
	add(&g, (uint32_t[]){0, 0}, pay);

	setup_in(&in, spec, &g, &own, &ownx);
	assert_int_equal(udc_linkage_run(&in, pair, linked, &rep, why, sizeof(why)), 0);
	assert_int_equal(pair[0], 0);
	assert_int_equal(pair[1], 1);
	assert_int_equal(pair[2], 2);
	assert_int_equal(pair[3], 3);
	assert_int_equal(pair[4], -1);
	assert_int_equal(rep.exact[0], 1);
	assert_int_equal(rep.exact[1], 1);
	assert_int_equal(rep.fuzzy_links, 2);
	/* the Dice step saw the three gemeente and three CBS records left */
	assert_int_equal(rep.fuzzy_a, 3);
	assert_int_equal(rep.fuzzy_b, 3);
	assert_int_equal(linked[0] + linked[1] + linked[2] + linked[3] + linked[4], 4);
	assert_int_equal(linked[4], 0);
	udc_blist_free(&g);
	udc_blist_free(&own);
	udc_blist_free(&ownx);
	free(spec);
}

/* Payload sizes that do not match the encoding are refused, not read. */
static void
test_inconsistent(void **st)
{
	struct udc_spec *spec = mkspec(UDC_MODE_COMBINED, 1, 850);
	struct udc_blist g, own;
	struct udc_linkage_in in;
	struct udc_linkage_report rep;
	int64_t pair[1];
	uint8_t linked[1];
	char why[256] = "";
	(void)st;

	udc_blist_init(&g, 1, 0);
	udc_blist_set_extra(&g, 32 + ENC_BYTES);
	udc_blist_init(&own, 1, 0);
	udc_blist_set_extra(&own, ENC_BYTES - 1);
	setup_in(&in, spec, &g, &own, NULL);
	assert_int_equal(udc_linkage_run(&in, pair, linked, &rep, why, sizeof(why)), UDC_EINVAL);
	assert_true(strstr(why, "inconsistent") != NULL);
	/* combined mode without the raised CBS keys */
	udc_blist_set_extra(&own, ENC_BYTES);
	assert_int_equal(udc_linkage_run(&in, pair, linked, &rep, why, sizeof(why)), UDC_EINVAL);
	free(spec);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fuzzy_planted),
	    cmocka_unit_test(test_combined_exact_first),
	    cmocka_unit_test(test_inconsistent),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
