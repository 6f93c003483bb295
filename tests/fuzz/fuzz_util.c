/*
 * fuzz_util.c - helpers shared by the fuzz targets: in-memory files for the
 * parsers that read from a path, and a loud failure for broken invariants.
 */
#define _GNU_SOURCE
#include "fuzz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static int
write_all(int fd, const uint8_t *data, size_t size)
{
	while (size > 0) {
		ssize_t w = write(fd, data, size);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			return -1;
		data += w;
		size -= (size_t)w;
	}
	return 0;
}

int
fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t pathlen)
{
	int fd = memfd_create("udc-fuzz", MFD_CLOEXEC);

	if (fd < 0) {
		const char *dir = getenv("TMPDIR");
		char tmpl[4096];

		snprintf(tmpl, sizeof(tmpl), "%s/udc-fuzz.XXXXXX", dir && *dir ? dir : "/tmp");
		if ((fd = mkstemp(tmpl)) < 0)
			return -1;
		unlink(tmpl);
	}
	if (write_all(fd, data, size) != 0) {
		close(fd);
		return -1;
	}
	snprintf(path, pathlen, "/proc/self/fd/%d", fd);
	return fd;
}

void
fuzz_fail(const char *what)
{
	fprintf(stderr, "%s\n", what);
	abort();
}
