/*
 * test_secmem.c - key-file permission checks and locked allocation.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "secmem.h"

struct fixture {
	char dir[64];
	char path[128];
};

static int
setup_dir(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	if (fx == NULL)
		return -1;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/udc-secmem-XXXXXX");
	if (mkdtemp(fx->dir) == NULL) {
		free(fx);
		return -1;
	}
	snprintf(fx->path, sizeof(fx->path), "%s/key", fx->dir);
	*state = fx;
	return 0;
}

static int
teardown_dir(void **state)
{
	struct fixture *fx = *state;

	unlink(fx->path);
	rmdir(fx->dir);
	free(fx);
	return 0;
}

/* A key file with exactly this mode, whatever the umask. */
static void
make_key(const char *path, mode_t mode)
{
	FILE *f = fopen(path, "w");

	assert_non_null(f);
	assert_true(fputs("secret\n", f) >= 0);
	assert_int_equal(fclose(f), 0);
	assert_int_equal(chmod(path, mode), 0);
}

static void
test_keyfile_strict_modes_ok(void **state)
{
	struct fixture *fx = *state;
	static const mode_t ok[] = {0600, 0400, 0200, 0000};
	char err[256];

	for (size_t i = 0; i < sizeof(ok) / sizeof(ok[0]); i++) {
		make_key(fx->path, ok[i]);
		assert_int_equal(udc_keyfile_check(fx->path, err, sizeof(err)), 0);
		assert_string_equal(err, "");
		unlink(fx->path);
	}
}

static void
test_keyfile_open_modes_refused(void **state)
{
	struct fixture *fx = *state;
	static const mode_t bad[] = {0640, 0644, 0604, 0660, 0601, 0610, 0666, 0777};
	char err[256], want[256];

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		make_key(fx->path, bad[i]);
		assert_int_equal(udc_keyfile_check(fx->path, err, sizeof(err)), UDC_EPERM);
		snprintf(want, sizeof(want), "%s: mode %04o is too open, need 0600 or stricter",
		         fx->path, (unsigned)bad[i]);
		assert_string_equal(err, want);
		unlink(fx->path);
	}
}

static void
test_keyfile_directory_refused(void **state)
{
	struct fixture *fx = *state;
	char err[256], want[256];

	/* 0700: a directory is refused for what it is, not for its mode. */
	assert_int_equal(chmod(fx->dir, 0700), 0);
	assert_int_equal(udc_keyfile_check(fx->dir, err, sizeof(err)), UDC_EPERM);
	snprintf(want, sizeof(want), "%s: not a regular file", fx->dir);
	assert_string_equal(err, want);
	assert_int_equal(udc_keyfile_check("/dev/null", err, sizeof(err)), UDC_EPERM);
}

static void
test_keyfile_missing(void **state)
{
	struct fixture *fx = *state;
	char err[256], want[256];

	assert_int_equal(udc_keyfile_check(fx->path, err, sizeof(err)), UDC_EIO);
	snprintf(want, sizeof(want), "%s: No such file or directory", fx->path);
	assert_string_equal(err, want);
	/* No room for a message is fine too. */
	assert_int_equal(udc_keyfile_check(fx->path, NULL, 0), UDC_EIO);
}

static void
test_keyfile_short_buffer(void **state)
{
	struct fixture *fx = *state;
	char err[8];

	make_key(fx->path, 0644);
	assert_int_equal(udc_keyfile_check(fx->path, err, sizeof(err)), UDC_EPERM);
	assert_int_equal(strlen(err), sizeof(err) - 1);
}

static void
test_secmem_alloc(void **state)
{
	unsigned char *p;

	assert_int_equal(udc_crypto_init(), 0);
	assert_int_equal(udc_secmem_init(), 0);
	/* Again: both must be safe to repeat. */
	assert_int_equal(udc_secmem_init(), 0);
	p = udc_secmem_alloc(100);
	assert_non_null(p);
	memset(p, 0xa5, 100);
	assert_int_equal(p[99], 0xa5);
	udc_secmem_free(p);
	udc_secmem_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_keyfile_strict_modes_ok, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_keyfile_open_modes_refused, setup_dir,
	                                    teardown_dir),
	    cmocka_unit_test_setup_teardown(test_keyfile_directory_refused, setup_dir,
	                                    teardown_dir),
	    cmocka_unit_test_setup_teardown(test_keyfile_missing, setup_dir, teardown_dir),
	    cmocka_unit_test_setup_teardown(test_keyfile_short_buffer, setup_dir, teardown_dir),
	    cmocka_unit_test(test_secmem_alloc),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
