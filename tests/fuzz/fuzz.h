/*
 * fuzz.h - shared declarations of the fuzz targets.
 *
 * Every target defines LLVMFuzzerTestOneInput.  Built with clang and
 * -fsanitize=fuzzer it is a libFuzzer binary; linked with replay_main.c (any
 * compiler) it is a replay program that runs each file of its committed
 * corpus once, which ctest runs as a test (label fuzz-replay).
 */
#ifndef UDC_FUZZ_H
#define UDC_FUZZ_H

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Writes data to an anonymous in-memory file (memfd, else an unlinked file
 * in $TMPDIR) and puts a path that opens it into path ("/proc/self/fd/N").
 * Returns the descriptor (close it when done) or -1. */
int fuzz_memfile(const uint8_t *data, size_t size, char *path, size_t pathlen);

/* Aborts with a message: a broken invariant the sanitizers cannot see. */
void fuzz_fail(const char *what) __attribute__((noreturn));

#define FUZZ_CHECK(cond)                                                                      \
	do {                                                                                  \
		if (!(cond))                                                                  \
			fuzz_fail(__FILE__ ": check failed: " #cond);                         \
	} while (0)

#endif
