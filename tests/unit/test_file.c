/*
 * test_file.c - the whole-file reader (regular files only, bounded, links
 * and open modes refused on request, secrets in locked memory) and the
 * atomic writer (the target is the old file or the new one, never half).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "err.h"
#include "file.h"
#include "secmem.h"

static char dir[64];

static const char *
at(const char *name)
{
	static char p[4][256];
	static int k;
	k = (k + 1) % 4;
	snprintf(p[k], sizeof(p[k]), "%s/%s", dir, name);
	return p[k];
}

static void
put(const char *name, const char *text, mode_t mode)
{
	FILE *f = fopen(at(name), "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(chmod(at(name), mode), 0);
}

static int
setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/udc-file-XXXXXX");
	return mkdtemp(dir) == NULL || udc_crypto_init() != 0;
}

static int
teardown(void **state)
{
	char cmd[128];
	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) != 0;
}

/* Files in dir whose names start with a dot: leftover temporary files. */
static int
leftovers(void)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	int n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (e->d_name[0] == '.' && strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void
test_read(void **state)
{
	char err[512], *data = NULL;
	size_t len = 0;

	(void)state;
	put("a.txt", "hello\n", 0644);
	assert_int_equal(udc_file_read(at("a.txt"), 6, 0, &data, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 6);
	assert_string_equal(data, "hello\n"); /* NUL-terminated */
	udc_file_free(data, 0);
	/* one byte over the limit is refused, not cut */
	assert_int_equal(udc_file_read(at("a.txt"), 5, 0, &data, &len, err, sizeof(err)),
	    UDC_ELIMIT);
	assert_null(data);
	assert_non_null(strstr(err, "a.txt: larger than 5 bytes"));
	/* missing: an I/O error naming the file */
	assert_int_equal(udc_file_read(at("none"), 100, 0, &data, &len, err, sizeof(err)), UDC_EIO);
	assert_non_null(strstr(err, "none: No such file or directory"));
	/* an empty file reads as an empty string */
	put("empty", "", 0644);
	assert_int_equal(udc_file_read(at("empty"), 100, 0, &data, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 0);
	assert_string_equal(data, "");
	udc_file_free(data, 0);
}

static void
test_refusals(void **state)
{
	char err[512], *data = NULL;
	size_t len;

	(void)state;
	/* A FIFO with no writer: refused at once (a plain open would block). */
	assert_int_equal(mkfifo(at("fifo"), 0600), 0);
	assert_int_equal(udc_file_read(at("fifo"), 100, 0, &data, &len, err, sizeof(err)),
	    UDC_EPERM);
	assert_non_null(strstr(err, "fifo: not a regular file"));
	/* a directory, a device */
	assert_int_equal(udc_file_read(dir, 100, 0, &data, &len, err, sizeof(err)), UDC_EPERM);
	assert_int_equal(udc_file_read("/dev/zero", 100, 0, &data, &len, err, sizeof(err)),
	    UDC_EPERM);
	/* a link: followed by default, refused with NOFOLLOW */
	put("target", "x", 0600);
	assert_int_equal(symlink(at("target"), at("link")), 0);
	assert_int_equal(udc_file_read(at("link"), 100, 0, &data, &len, err, sizeof(err)), 0);
	udc_file_free(data, 0);
	assert_int_equal(udc_file_read(at("link"), 100, UDC_FILE_NOFOLLOW, &data, &len, err,
	    sizeof(err)), UDC_EPERM);
	assert_non_null(strstr(err, "symbolic link"));
	/* PRIVATE: any access by group or others is refused */
	put("open.key", "secret", 0640);
	assert_int_equal(udc_file_read(at("open.key"), 100, UDC_FILE_PRIVATE, &data, &len, err,
	    sizeof(err)), UDC_EPERM);
	assert_non_null(strstr(err, "mode 0640 is too open"));
	assert_null(strstr(err, "secret")); /* never the contents */
}

static void
test_secret(void **state)
{
	char err[512], *data = NULL;
	size_t len;
	long live = udc_secmem_live();

	(void)state;
	put("s.key", "k3y\n", 0600);
	assert_int_equal(udc_file_read(at("s.key"), 64, UDC_FILE_SECRET | UDC_FILE_PRIVATE |
	    UDC_FILE_NOFOLLOW, &data, &len, err, sizeof(err)), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(data, "k3y\n", 4);
	/* in locked memory, counted as a live secret until freed */
	assert_int_equal(udc_secmem_live(), live + 1);
	udc_file_free(data, UDC_FILE_SECRET);
	assert_int_equal(udc_secmem_live(), live);
	/* a refused secret leaves no allocation behind */
	put("big.key", "0123456789", 0600);
	assert_int_equal(udc_file_read(at("big.key"), 4, UDC_FILE_SECRET, &data, &len, err,
	    sizeof(err)), UDC_ELIMIT);
	assert_int_equal(udc_secmem_live(), live);
}

static void
test_write(void **state)
{
	struct udc_afile w;
	char err[512], *data = NULL;
	size_t len;
	struct stat sb;
	FILE *f;

	(void)state;
	put("out.txt", "old", 0644);
	/* nothing is visible before the commit */
	assert_int_equal(udc_afile_begin(&w, AT_FDCWD, at("out.txt"), NULL, 0600, 0, err,
	    sizeof(err)), 0);
	assert_int_equal(udc_afile_write(&w, "new ", 4), 0);
	assert_non_null(f = udc_afile_stream(&w));
	fprintf(f, "contents %d", 42);
	assert_int_equal(udc_file_read(at("out.txt"), 100, 0, &data, &len, err, sizeof(err)), 0);
	assert_string_equal(data, "old");
	udc_file_free(data, 0);
	assert_int_equal(leftovers(), 1);
	assert_int_equal(udc_afile_commit(&w, err, sizeof(err)), 0);
	assert_int_equal(udc_file_read(at("out.txt"), 100, 0, &data, &len, err, sizeof(err)), 0);
	assert_string_equal(data, "new contents 42");
	udc_file_free(data, 0);
	assert_int_equal(stat(at("out.txt"), &sb), 0);
	assert_int_equal(sb.st_mode & 0777, 0600);
	assert_int_equal(leftovers(), 0);
	udc_afile_discard(&w); /* harmless after a commit */
	assert_int_equal(stat(at("out.txt"), &sb), 0);

	/* a discarded file leaves the target as it was, and no temporary */
	assert_int_equal(udc_afile_begin(&w, AT_FDCWD, at("out.txt"), NULL, 0600, 0, err,
	    sizeof(err)), 0);
	assert_int_equal(udc_afile_write(&w, "half", 4), 0);
	udc_afile_discard(&w);
	assert_int_equal(udc_file_read(at("out.txt"), 100, 0, &data, &len, err, sizeof(err)), 0);
	assert_string_equal(data, "new contents 42");
	udc_file_free(data, 0);
	assert_int_equal(leftovers(), 0);

	/* a link at the target is replaced, never written through */
	put("victim", "keep", 0644);
	assert_int_equal(symlink(at("victim"), at("linked")), 0);
	assert_int_equal(udc_afile_begin(&w, AT_FDCWD, at("linked"), NULL, 0644, 0, err,
	    sizeof(err)), 0);
	assert_int_equal(udc_afile_write(&w, "mine", 4), 0);
	assert_int_equal(udc_afile_commit(&w, err, sizeof(err)), 0);
	assert_int_equal(lstat(at("linked"), &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(udc_file_read(at("victim"), 100, 0, &data, &len, err, sizeof(err)), 0);
	assert_string_equal(data, "keep");
	udc_file_free(data, 0);

	/* NOREPLACE: an existing target is kept, with a clear error */
	assert_int_equal(udc_afile_begin(&w, AT_FDCWD, at("out.txt"), NULL, 0600,
	    UDC_AFILE_NOREPLACE, err, sizeof(err)), 0);
	assert_int_equal(udc_afile_write(&w, "other", 5), 0);
	assert_int_equal(udc_afile_commit(&w, err, sizeof(err)), UDC_EEXIST);
	assert_non_null(strstr(err, "out.txt: exists, refusing to overwrite"));
	assert_int_equal(udc_file_read(at("out.txt"), 100, 0, &data, &len, err, sizeof(err)), 0);
	assert_string_equal(data, "new contents 42");
	udc_file_free(data, 0);
	assert_int_equal(leftovers(), 0);
	/* and a new one is created */
	assert_int_equal(udc_afile_begin(&w, AT_FDCWD, at("fresh"), NULL, 0600,
	    UDC_AFILE_NOREPLACE, err, sizeof(err)), 0);
	assert_int_equal(udc_afile_write(&w, "f", 1), 0);
	assert_int_equal(udc_afile_commit(&w, err, sizeof(err)), 0);
	assert_int_equal(leftovers(), 0);

	/* a directory that does not exist: a clear error at begin */
	assert_int_equal(udc_afile_begin(&w, AT_FDCWD, at("no/such/file"), NULL, 0600, 0, err,
	    sizeof(err)), UDC_EIO);
	assert_non_null(strstr(err, "no/such/file: No such file or directory"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_read),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_secret),
		cmocka_unit_test(test_write),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
