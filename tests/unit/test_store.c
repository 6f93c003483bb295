/*
 * test_store.c - the state directory (common/node/store.c) and the round
 * register on top of it (common/node/rounds.c).
 *
 * Store: a write is all or nothing (a streamed write that is discarded, or
 * never committed, leaves no file and no temporary behind); a link planted
 * where a file will be written is replaced, never written through; reads
 * refuse links and anything that is not a regular file; pread reads
 * pieces and reports the size.  Register: states and steps persist, a
 * round still running when the daemon stopped comes back failed with the
 * step it was in, the input summary survives a restart.  Layout: the
 * state directory's paths as docs/operations.md and cbsd.conf(5) name
 * them, one gemeente's files under peers/GID/, and a name too long for
 * its buffer refused rather than cut.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "rounds.h"
#include "statepath.h"
#include "store.h"

static char dir[64];

static int
setup(void **state)
{
	char err[256];

	(void)state;
	strcpy(dir, "/tmp/udc-store-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	return udc_store_init(dir, err, sizeof(err)) == 0 ? 0 : -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Files in dir/sub whose name starts with a dot (temporaries). */
static int
temporaries(const char *sub)
{
	char path[256];
	struct dirent *e;
	DIR *d;
	int n = 0;

	snprintf(path, sizeof(path), "%s/%s", dir, sub);
	if ((d = opendir(path)) == NULL)
		return -1;
	while ((e = readdir(d)) != NULL)
		n += e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, "..");
	closedir(d);
	return n;
}

static void
test_write_read(void **state)
{
	char *data = NULL;
	size_t len = 0;
	struct stat sb;
	char path[256];

	(void)state;
	assert_int_equal(udc_store_write(dir, "rounds/r1/a.txt", "hello", 5), 0);
	assert_int_equal(udc_store_read(dir, "rounds/r1/a.txt", 100, &data, &len), 0);
	assert_int_equal(len, 5);
	assert_string_equal(data, "hello");
	free(data);
	/* a file larger than the caller's limit is refused, not cut */
	assert_int_equal(udc_store_read(dir, "rounds/r1/a.txt", 4, &data, &len), UDC_ELIMIT);
	assert_int_equal(udc_store_read(dir, "rounds/r1/none", 100, &data, &len), UDC_ENOTFOUND);
	/* no way out of the state directory */
	assert_int_equal(udc_store_write(dir, "../x", "x", 1), UDC_EINVAL);
	assert_int_equal(udc_store_write(dir, "rounds/../../x", "x", 1), UDC_EINVAL);
	snprintf(path, sizeof(path), "%s/rounds/r1/a.txt", dir);
	assert_int_equal(stat(path, &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(temporaries("rounds/r1"), 0);
}

static void
test_links(void **state)
{
	char path[256], target[256], *data = NULL, buf[16];
	size_t len, got;
	FILE *f;

	(void)state;
	snprintf(target, sizeof(target), "%s/outside", dir);
	assert_non_null(f = fopen(target, "w"));
	fputs("secret", f);
	fclose(f);
	assert_int_equal(udc_store_write(dir, "rounds/r2/x", "1", 1), 0);
	snprintf(path, sizeof(path), "%s/rounds/r2/link", dir);
	assert_int_equal(symlink(target, path), 0);
	/* reads do not follow it */
	assert_int_not_equal(udc_store_read(dir, "rounds/r2/link", 100, &data, &len), 0);
	assert_int_not_equal(udc_store_pread(dir, "rounds/r2/link", 0, buf, sizeof(buf), &got, NULL), 0);
	/* a write replaces the link and leaves its target alone */
	assert_int_equal(udc_store_write(dir, "rounds/r2/link", "mine", 4), 0);
	assert_int_equal(udc_store_read(dir, "rounds/r2/link", 100, &data, &len), 0);
	assert_string_equal(data, "mine");
	free(data);
	assert_non_null(f = fopen(target, "r"));
	assert_non_null(fgets(buf, sizeof(buf), f));
	fclose(f);
	assert_string_equal(buf, "secret");
	/* a directory on the way that is a link is refused */
	snprintf(path, sizeof(path), "%s/rounds/r3", dir);
	assert_int_equal(symlink("/tmp", path), 0);
	assert_int_not_equal(udc_store_write(dir, "rounds/r3/y", "1", 1), 0);
}

static void
test_stream(void **state)
{
	struct udc_store_writer w;
	uint8_t sha[32], want[32];
	char buf[8], *data = NULL;
	size_t got, len;
	uint64_t size;
	FILE *f;

	(void)state;
	/* discarded: nothing at the name, no temporary left */
	assert_int_equal(udc_store_begin(dir, "rounds/r4/doc", &w), 0);
	assert_int_equal(udc_store_append(&w, "abc", 3), 0);
	udc_store_discard(&w);
	assert_int_equal(udc_store_read(dir, "rounds/r4/doc", 100, &data, &len), UDC_ENOTFOUND);
	assert_int_equal(temporaries("rounds/r4"), 0);
	/* streamed through stdio, hashed on the way, visible only at the commit */
	assert_int_equal(udc_store_begin(dir, "rounds/r4/doc", &w), 0);
	assert_non_null(f = udc_store_stream(&w));
	fprintf(f, "%s,%d\n", "table", 42);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(udc_store_append(&w, "tail", 4), 0);
	assert_int_equal(udc_store_read(dir, "rounds/r4/doc", 100, &data, &len), UDC_ENOTFOUND);
	assert_int_equal(w.bytes, 13);
	udc_store_digest(&w, sha);
	assert_int_equal(udc_store_commit(&w), 0);
	crypto_hash_sha256(want, (const uint8_t *)"table,42\ntail", 13);
	assert_memory_equal(sha, want, 32);
	assert_int_equal(temporaries("rounds/r4"), 0);
	/* read back in pieces */
	assert_int_equal(udc_store_pread(dir, "rounds/r4/doc", 6, buf, 5, &got, &size), 0);
	assert_int_equal(got, 5);
	assert_int_equal(size, 13);
	assert_memory_equal(buf, "42\ntai", 5);
	assert_int_equal(udc_store_pread(dir, "rounds/r4/doc", 11, buf, 8, &got, NULL), 0);
	assert_int_equal(got, 2);
	assert_memory_equal(buf, "il", 2);
	assert_int_equal(udc_store_pread(dir, "rounds/r4/doc", 100, buf, 8, &got, NULL), 0);
	assert_int_equal(got, 0);
}

#define A "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
#define B "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"
#define C "cccccccccccccccccccccccccccccccc"

static void
test_rounds_persist(void **state)
{
	struct udc_rounds *r;
	struct udc_round x, *all = NULL;
	size_t n = 0;

	(void)state;
	assert_int_equal(udc_rounds_open(&r, dir), 0);
	assert_int_equal(udc_rounds_add(r, A, "spec1", "running"), 0);
	assert_int_equal(udc_rounds_add(r, A, "spec1", "running"), UDC_EEXIST);
	assert_int_equal(udc_rounds_add(r, B, "spec2", "running"), 0);
	assert_int_equal(udc_rounds_update(r, A, NULL, "upload", 500, NULL), 0);
	assert_int_equal(udc_rounds_records(r, A, "upload", 10, 20), 0);
	assert_int_equal(udc_rounds_input(r, A, "48 rows read, 39 used, 9 rejected"), 0);
	assert_int_equal(udc_rounds_update(r, B, "done", "done", 1000, NULL), 0);
	assert_int_equal(udc_rounds_get(r, A, &x), 0);
	assert_string_equal(x.step, "upload");
	assert_int_equal(x.records_done, 10);
	assert_int_equal(x.records_total, 20);
	assert_int_equal(x.progress, 500);
	/* records of another step set that step with its own percentage, at once */
	assert_int_equal(udc_rounds_records(r, A, "download", 3, 12), 0);
	assert_int_equal(udc_rounds_get(r, A, &x), 0);
	assert_string_equal(x.step, "download");
	assert_int_equal(x.progress, 250);
	assert_int_equal(x.records_done, 3);
	/* a new step starts its record count afresh */
	assert_int_equal(udc_rounds_update(r, A, NULL, "upload", 0, NULL), 0);
	assert_int_equal(udc_rounds_get(r, A, &x), 0);
	assert_int_equal(x.records_done, 0);
	assert_int_equal(udc_rounds_get(r, C, &x), UDC_ENOTFOUND);
	udc_rounds_close(r);

	/* a restart: the running round failed with the step it was in; the
	 * finished one is as it was; the input summary is still there */
	assert_int_equal(udc_rounds_open(&r, dir), 0);
	assert_int_equal(udc_rounds_get(r, A, &x), 0);
	assert_string_equal(x.state, "failed");
	assert_non_null(strstr(x.error, "interrupted"));
	assert_non_null(strstr(x.error, "upload"));
	assert_string_equal(x.input, "48 rows read, 39 used, 9 rejected");
	assert_true(x.finished > 0);
	assert_int_equal(udc_rounds_get(r, B, &x), 0);
	assert_string_equal(x.state, "done");
	assert_string_equal(x.spec_hash, "spec2");
	assert_int_equal(udc_rounds_all(r, &all, &n), 0);
	assert_int_equal(n, 2);
	free(all);
	udc_rounds_close(r);
}

static void
test_round_ids(void **state)
{
	uint8_t id[16], back[16];
	char hex[33];

	(void)state;
	randombytes_buf(id, sizeof(id));
	udc_round_id_hex(id, hex);
	assert_int_equal(strlen(hex), 32);
	assert_int_equal(udc_round_id_parse(hex, back), 0);
	assert_memory_equal(id, back, 16);
	assert_int_equal(udc_round_id_parse("abc", back), UDC_EINVAL);
	assert_int_equal(udc_round_id_parse("zz000000000000000000000000000000", back), UDC_EINVAL);
	assert_int_equal(udc_round_id_parse("../../../../../../etc/passwd/xxxx", back), UDC_EINVAL);
}

static void
test_layout(void **state)
{
	char p[64], pre[32], big[4096];
	const char *h = "00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff";

	(void)state;
	assert_int_equal(udc_state_approval(p, sizeof(p), h, UDC_APPROVAL_SIG), UDC_ELIMIT);
	assert_int_equal(udc_state_approval(big, sizeof(big), h, UDC_APPROVAL_SPEC), 0);
	assert_string_equal(big, "approvals/00112233445566778899aabbccddeeff00112233445566778899aabbccddeeff.spec");
	assert_int_equal(udc_state_peer_prefix(pre, sizeof(pre), "rotterdam"), 0);
	assert_string_equal(pre, "peers/rotterdam/");
	assert_int_equal(udc_state_approval_in(big, sizeof(big), pre, h, UDC_APPROVAL_SCHEMA), 0);
	assert_string_equal(big, "peers/rotterdam/approvals/00112233445566778899aabbccddeeff"
	    "00112233445566778899aabbccddeeff.schema.json");
	assert_int_equal(udc_state_dir_in(big, sizeof(big), "/var/lib/udclink", pre, UDC_STATE_LEDGER), 0);
	assert_string_equal(big, "/var/lib/udclink/peers/rotterdam/privacy-ledger");
	assert_int_equal(udc_state_dir(big, sizeof(big), "/var/lib/udclink", UDC_STATE_RELEASES), 0);
	assert_string_equal(big, "/var/lib/udclink/releases");
	assert_int_equal(udc_state_rel_in(big, sizeof(big), pre, UDC_STATE_APPROVALS), 0);
	assert_string_equal(big, "peers/rotterdam/approvals");
	assert_int_equal(udc_state_round(big, sizeof(big), "0123456789abcdef0123456789abcdef", "result.csv"), 0);
	assert_string_equal(big, "rounds/0123456789abcdef0123456789abcdef/result.csv");
	/* too long: refused, never a shorter path that names another file */
	assert_int_equal(udc_state_peer_prefix(pre, sizeof(pre), "a-gemeente-with-a-very-long-name"), UDC_ELIMIT);
	assert_int_equal(udc_state_dir_in(p, sizeof(p), "/var/lib/udclink/with/a/long/path", pre, "releases-x"), UDC_ELIMIT);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_write_read),
	    cmocka_unit_test(test_links),
	    cmocka_unit_test(test_stream),
	    cmocka_unit_test(test_rounds_persist),
	    cmocka_unit_test(test_round_ids),
	    cmocka_unit_test(test_layout),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
