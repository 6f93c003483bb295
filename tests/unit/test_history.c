/*
 * test_history.c - the release history (common/release/history.c), the
 * guard against differencing.
 *
 * Keys are checked against strings written out by hand: the same records
 * get the same key whatever the order of dimensions and values in the spec
 * and whether a full cross or a linked table counts them; the characters
 * that give a key its structure are escaped.  Differences of 1..min_cell-1
 * against any earlier release are marked, others not; a release recorded
 * is found again for the same spec and inputs only; a damaged file is an
 * error, never an empty history.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "history.h"
#include "spec.h"

static struct udc_spec *
parse(const char *text)
{
	struct udc_spec *s = NULL;
	char err[512];

	if (udc_spec_parse(text, strlen(text), "test.spec", &s, err, sizeof(err)) != 0)
		fail_msg("spec: %s", err);
	return s;
}

static const char *spec_a =
    "[spec]\nname = a\nmode = exact\nkeys = bsn\n"
    "[gemeente]\nwijk = W1, W2\nage = 0-3, 4-11\n"
    "[cbs]\nincome = low, mid, high\n"
    "[disclosure]\nmin_cell = 10\n";

/* The same dimensions written in another order, values too. */
static const char *spec_b =
    "[spec]\nname = b\nmode = exact\nkeys = bsn\n"
    "[gemeente]\nage = 4-11, 0-3\nwijk = W2, W1\n"
    "[cbs]\nincome = high, low, mid\n"
    "[disclosure]\nmin_cell = 10\n";

static void
key_of(const struct udc_spec *spec, size_t i, char *buf)
{
	assert_int_equal(udc_history_key(spec, i, buf, 256), 0);
}

static void
test_keys_by_hand(void **state)
{
	struct udc_spec *a = parse(spec_a);
	char k[256];

	(void)state;
	/* cell 0: wijk W1, age 0-3 x income low */
	key_of(a, 0, k);
	assert_string_equal(k, "[age=0-3;wijk=W1]|[income=low]");
	/* last cell: W2, 4-11 x high */
	key_of(a, 4 * 3 - 1, k);
	assert_string_equal(k, "[age=4-11;wijk=W2]|[income=high]");
	/* the gemeente margin of group 1 (W1, 4-11), then the CBS margin of mid */
	key_of(a, 12 + 1, k);
	assert_string_equal(k, "[age=4-11;wijk=W1]|+u");
	key_of(a, 12 + 4 + 1, k);
	assert_string_equal(k, "+u|[income=mid]");
	assert_int_equal(udc_history_key(a, 12 + 4 + 3, k, sizeof(k)), UDC_EINVAL);
	assert_int_equal(udc_history_key(a, 0, k, 8), UDC_ELIMIT);
	udc_spec_free(a);
}

/* Entry i of spec a counts the same records as some entry of spec b: the
 * keys must match one to one. */
static void
test_keys_independent_of_order(void **state)
{
	struct udc_spec *a = parse(spec_a), *b = parse(spec_b);
	size_t n = 12 + 4 + 3;
	char **ka, **kb;

	(void)state;
	assert_int_equal(udc_history_table_keys(a, n, &ka), 0);
	assert_int_equal(udc_history_table_keys(b, n, &kb), 0);
	for (size_t i = 0; i < n; i++) {
		size_t hits = 0;
		for (size_t j = 0; j < n; j++)
			hits += strcmp(ka[i], kb[j]) == 0;
		if (hits != 1)
			fail_msg("key %s of spec a matches %zu keys of spec b", ka[i], hits);
	}
	udc_history_keys_free(ka, n);
	udc_history_keys_free(kb, n);
	udc_spec_free(a);
	udc_spec_free(b);
}

/* A linked-table cell names sets of values; all values of a dimension is
 * no restriction, so a one-valued set equals the full cross's key. */
static void
test_entry_keys_sets(void **state)
{
	struct udc_spec *a = parse(spec_a);
	struct udc_entry_side e[2];
	uint16_t lowmid[2] = { 1, 0 }, w2[1] = { 1 }, ages[2] = { 0, 1 }, low[1] = { 0 };
	char k[256], full[256];

	(void)state;
	memset(e, 0, sizeof(e));
	e[0].box = 1;
	e[0].vals[0] = w2;      /* wijk W2 */
	e[0].nvals[0] = 1;
	e[0].vals[1] = ages;    /* age: both values, i.e. not restricted */
	e[0].nvals[1] = 2;
	e[1].box = 1;
	e[1].vals[0] = lowmid;  /* income mid, low: sorted in the key */
	e[1].nvals[0] = 2;
	assert_int_equal(udc_history_entry_key(a, e, k, sizeof(k)), 0);
	assert_string_equal(k, "[wijk=W2]|[income=low,mid]");
	/* everyone of W2 on the gemeente list, linked or not, and the CBS-only
	 * records of low income */
	e[0].unlinked = 1;
	e[1].vals[0] = low;
	e[1].nvals[0] = 1;
	e[1].unlinked = 1;
	assert_int_equal(udc_history_entry_key(a, e, k, sizeof(k)), 0);
	assert_string_equal(k, "[wijk=W2]+u|[income=low]+u");
	/* the linked W2 x 0-3 x low written as sets equals the full cross's key */
	memset(e, 0, sizeof(e));
	e[0].box = e[1].box = 1;
	e[0].vals[0] = w2;
	e[0].nvals[0] = 1;
	e[0].vals[1] = &ages[0];
	e[0].nvals[1] = 1;
	e[1].vals[0] = low;
	e[1].nvals[0] = 1;
	assert_int_equal(udc_history_entry_key(a, e, k, sizeof(k)), 0);
	key_of(a, (1 * 2 + 0) * 3 + 0, full); /* group (W2, 0-3), category low */
	assert_string_equal(k, full);
	udc_spec_free(a);
}

static void
test_keys_escaped(void **state)
{
	struct udc_spec *s = parse("[spec]\nname = e\nmode = exact\nkeys = bsn\n"
	                           "[gemeente]\nwijk = a=b, c;d|e, [f]+g%\n"
	                           "[cbs]\nincome = x\n");
	char k[256];

	(void)state;
	key_of(s, 0, k);
	assert_string_equal(k, "[wijk=a%3Db]|[]");
	key_of(s, 1, k);
	assert_string_equal(k, "[wijk=c%3Bd%7Ce]|[]");
	key_of(s, 2, k);
	assert_string_equal(k, "[wijk=%5Bf%5D%2Bg%25]|[]");
	udc_spec_free(s);
}

static char dir[] = "/tmp/udc-history-XXXXXX";

static void
test_differences_and_same(void **state)
{
	struct udc_history *h;
	uint8_t cbs[32], spec1[32], spec2[32], gin[32], gin2[32], sens[4], *flags;
	char *keys[4] = { "k0", "k1", NULL, "k3" };
	uint64_t truth[4] = { 100, 50, 7, 20 }, out[3] = { 100, 0, 20 }, *got;
	uint8_t fl[3] = { 0, 1, 0 };
	unsigned cnt;
	size_t n;

	(void)state;
	memset(cbs, 1, 32);
	memset(spec1, 2, 32);
	memset(spec2, 3, 32);
	memset(gin, 4, 32);
	memset(gin2, 5, 32);
	assert_non_null(mkdtemp(dir));
	assert_int_equal(udc_history_open(&h, dir), 0);
	assert_int_equal(udc_history_count(h, cbs, spec1, &cnt), 0);
	assert_int_equal(cnt, 0);
	assert_int_equal(udc_history_same(h, cbs, spec1, gin, &got, &flags, &n), UDC_ENOTFOUND);
	memset(sens, 0, sizeof(sens));
	assert_int_equal(udc_history_differences(h, cbs, 4, keys, truth, 10, sens), 0);
	{
		struct udc_history_release r = { spec1, gin, "round-1", 4, keys, truth, 3, out, fl };
		assert_int_equal(udc_history_record(h, cbs, &r), 0);
	}
	assert_int_equal(udc_history_count(h, cbs, spec1, &cnt), 0);
	assert_int_equal(cnt, 1);
	assert_int_equal(udc_history_count(h, cbs, spec2, &cnt), 0);
	assert_int_equal(cnt, 0);
	/* the same spec on the same inputs: the stored decisions */
	assert_int_equal(udc_history_same(h, cbs, spec1, gin, &got, &flags, &n), 0);
	assert_int_equal(n, 3);
	assert_memory_equal(got, out, sizeof(out));
	assert_memory_equal(flags, fl, sizeof(fl));
	free(got);
	free(flags);
	/* another gemeente input or another spec: not the same question */
	assert_int_equal(udc_history_same(h, cbs, spec1, gin2, &got, &flags, &n), UDC_ENOTFOUND);
	assert_int_equal(udc_history_same(h, cbs, spec2, gin, &got, &flags, &n), UDC_ENOTFOUND);
	/* a new release: k0 moved by 1 (sensitive), k1 by 10 (not), k3 by 9
	 * (sensitive), the unnamed entry is never compared */
	{
		uint64_t now[4] = { 101, 60, 8, 11 };
		memset(sens, 0, sizeof(sens));
		assert_int_equal(udc_history_differences(h, cbs, 4, keys, now, 10, sens), 2);
		assert_int_equal(sens[0], 1);
		assert_int_equal(sens[1], 0);
		assert_int_equal(sens[2], 0);
		assert_int_equal(sens[3], 1);
		/* unchanged values are not differences */
		memset(sens, 0, sizeof(sens));
		assert_int_equal(udc_history_differences(h, cbs, 4, keys, truth, 10, sens), 0);
	}
	/* another CBS input has its own history */
	{
		uint8_t other[32];
		uint64_t now[4] = { 101, 51, 8, 21 };
		memset(other, 9, 32);
		memset(sens, 0, sizeof(sens));
		assert_int_equal(udc_history_differences(h, other, 4, keys, now, 10, sens), 0);
	}
	udc_history_close(h);
}

/* A history that does not parse must stop the release, not start afresh. */
static void
test_damaged_history(void **state)
{
	struct udc_history *h;
	uint8_t cbs[32], sens[1] = { 0 };
	char path[256], hex[65], *keys[1] = { "k0" };
	uint64_t truth[1] = { 5 };
	FILE *f;

	(void)state;
	memset(cbs, 1, 32);
	sodium_bin2hex(hex, sizeof(hex), cbs, 32);
	snprintf(path, sizeof(path), "%s/%s.json", dir, hex);
	assert_non_null(f = fopen(path, "w"));
	fputs("{\"version\": 1, \"releases\": [", f);
	fclose(f);
	assert_int_equal(udc_history_open(&h, dir), 0);
	assert_int_equal(udc_history_differences(h, cbs, 1, keys, truth, 10, sens), UDC_EPARSE);
	{
		unsigned cnt;
		assert_int_equal(udc_history_count(h, cbs, cbs, &cnt), UDC_EPARSE);
	}
	udc_history_close(h);
	unlink(path);
	rmdir(dir);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_keys_by_hand),
	    cmocka_unit_test(test_keys_independent_of_order),
	    cmocka_unit_test(test_entry_keys_sets),
	    cmocka_unit_test(test_keys_escaped),
	    cmocka_unit_test(test_differences_and_same),
	    cmocka_unit_test(test_damaged_history),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
