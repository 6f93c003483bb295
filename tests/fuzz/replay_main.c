/*
 * replay_main.c - runs a fuzz target over files without libFuzzer.
 *
 *   fuzz_X_replay PATH...   (a PATH that is a directory: each regular file
 *                            in it, in name order)
 *
 * Each input is read into a buffer of exactly its size (so that a read past
 * the end is caught by ASan/valgrind as in libFuzzer) and handed to
 * LLVMFuzzerTestOneInput once.  Exits 1 if no input was found: an empty or
 * missing corpus must not pass as a test.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fuzz.h"

static int
run_file(const char *path)
{
	FILE *fp = fopen(path, "rb");
	uint8_t *buf;
	long n;

	if (fp == NULL || fseek(fp, 0, SEEK_END) != 0 || (n = ftell(fp)) < 0 ||
	    fseek(fp, 0, SEEK_SET) != 0) {
		fprintf(stderr, "%s: cannot read\n", path);
		if (fp)
			fclose(fp);
		return -1;
	}
	/* malloc(0) may return NULL; keep a real, zero-length-usable block. */
	if ((buf = malloc(n ? (size_t)n : 1)) == NULL ||
	    (n > 0 && fread(buf, 1, (size_t)n, fp) != (size_t)n)) {
		fprintf(stderr, "%s: cannot read\n", path);
		free(buf);
		fclose(fp);
		return -1;
	}
	fclose(fp);
	LLVMFuzzerTestOneInput(buf, (size_t)n);
	free(buf);
	return 0;
}

static int
name_cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

static int
run_dir(const char *dir, unsigned long *count)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	char **names = NULL;
	size_t n = 0, cap = 0;
	int rv = 0;

	if (d == NULL) {
		fprintf(stderr, "%s: cannot open\n", dir);
		return -1;
	}
	while ((e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		if (n == cap) {
			char **nn = realloc(names, (cap = cap ? 2 * cap : 64) * sizeof(*names));
			if (nn == NULL) {
				rv = -1;
				break;
			}
			names = nn;
		}
		if ((names[n] = strdup(e->d_name)) == NULL) {
			rv = -1;
			break;
		}
		n++;
	}
	closedir(d);
	if (n > 0)
		qsort(names, n, sizeof(*names), name_cmp);
	for (size_t i = 0; i < n; i++) {
		char path[4096];
		struct stat st;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		if (rv == 0 && stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			if (run_file(path) != 0)
				rv = -1;
			else
				(*count)++;
		}
		free(names[i]);
	}
	free(names);
	return rv;
}

int
main(int argc, char **argv)
{
	unsigned long count = 0;
	int rv = 0;

	for (int i = 1; i < argc; i++) {
		struct stat st;

		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "%s: not found\n", argv[i]);
			rv = 1;
		} else if (S_ISDIR(st.st_mode)) {
			if (run_dir(argv[i], &count) != 0)
				rv = 1;
		} else if (run_file(argv[i]) == 0) {
			count++;
		} else {
			rv = 1;
		}
	}
	printf("%s: replayed %lu inputs\n", argc > 0 ? argv[0] : "replay", count);
	if (count == 0) {
		fprintf(stderr, "no inputs: is the corpus missing?\n");
		rv = 1;
	}
	return rv;
}
