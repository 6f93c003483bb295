/*
 * bench_dedupe.c - a proposal for common/exact/blist.c dedupe_key, measured.
 *
 * dedupe_key (called once per key after a node has blinded its list) copies
 * every point with its index into a 40-byte struct and sorts the copy with
 * qsort; glibc 2.36's qsort is a merge sort that allocates a second array of
 * the same size.  That is 80 bytes per record on top of the list, and it is
 * the peak of both daemons in exact rounds (measured by scripts/bench.sh:
 * the RSS samples stay far below VmHWM, which is reached at the end of
 * reading).  The proposal: find the repeated points with an open-addressing
 * table of 32-bit record indices (load <= 0.5, the first 8 bytes of the
 * blinded point as hash, as common/exact/link.c already does): 8 bytes per record
 * at most, no copy of the points, O(n).  Both versions run here on the same
 * points (32 bytes, 1% of the values repeated) and must mark the same
 * records.  Prints time (CPU) and the extra memory each needs.
 * Usage: bench_dedupe [records].
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

static double
cpu_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static long
hwm_kb(void)
{
	FILE *f = fopen("/proc/self/status", "r");
	char line[256];
	long v = -1;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f) != NULL)
		if (strncmp(line, "VmHWM:", 6) == 0)
			v = atol(line + 6);
	fclose(f);
	return v;
}

/* --- current: blist.c dedupe_key, same data layout --- */
struct sortent {
	uint8_t pt[32];
	size_t idx;
};

static int
cmp_sortent(const void *a, const void *b)
{
	return memcmp(a, b, 32);
}

static size_t
dedupe_sort(const uint8_t *pts, size_t n, uint8_t *dup)
{
	struct sortent *e = malloc(n * sizeof(*e));
	size_t hit = 0;

	if (e == NULL)
		exit(1);
	for (size_t i = 0; i < n; i++) {
		memcpy(e[i].pt, pts + 32 * i, 32);
		e[i].idx = i;
	}
	qsort(e, n, sizeof(*e), cmp_sortent);
	for (size_t a = 0; a < n;) {
		size_t b = a + 1;
		while (b < n && memcmp(e[a].pt, e[b].pt, 32) == 0)
			b++;
		if (b - a > 1)
			for (size_t k = a; k < b; k++, hit++)
				dup[e[k].idx] = 1;
		a = b;
	}
	free(e);
	return hit;
}

/* --- proposal: table of 32-bit indices, first occurrence kept, flag bit on repeat --- */
#define EMPTY UINT32_MAX

static size_t
dedupe_hash(const uint8_t *pts, size_t n, uint8_t *dup)
{
	size_t cap = 16, mask, hit = 0;
	uint32_t *slot;

	while (cap < 2 * n)
		cap *= 2;
	mask = cap - 1;
	if ((slot = malloc(cap * sizeof(*slot))) == NULL)
		exit(1);
	memset(slot, 0xff, cap * sizeof(*slot));
	for (size_t i = 0; i < n; i++) {
		const uint8_t *p = pts + 32 * i;
		uint64_t h;

		memcpy(&h, p, 8);
		for (h &= mask;; h = (h + 1) & mask) {
			if (slot[h] == EMPTY) {
				slot[h] = (uint32_t)i;
				break;
			}
			if (memcmp(pts + 32 * (size_t)slot[h], p, 32) == 0) {
				if (!dup[slot[h]]) {
					dup[slot[h]] = 1; /* the first occurrence */
					hit++;
				}
				dup[i] = 1;
				hit++;
				break;
			}
		}
	}
	free(slot);
	return hit;
}

/* Peak memory of one version alone: in a child, whose VmHWM starts at the
 * RSS it inherits (the kernel resets the high-water mark at fork). */
static double
extra_mb(size_t (*fn)(const uint8_t *, size_t, uint8_t *), const uint8_t *pts, size_t n)
{
	int fd[2];
	double mbv = -1;
	pid_t pid;

	if (pipe(fd) != 0)
		return -1;
	if ((pid = fork()) == 0) {
		uint8_t *d = calloc(n, 1);
		long a = hwm_kb(), b;

		fn(pts, n, d);
		b = hwm_kb();
		mbv = (double)(b - a) / 1024.0;
		if (write(fd[1], &mbv, sizeof(mbv)) != (ssize_t)sizeof(mbv))
			_exit(1);
		_exit(0);
	}
	if (pid < 0 || read(fd[0], &mbv, sizeof(mbv)) != (ssize_t)sizeof(mbv))
		mbv = -1;
	waitpid(pid, NULL, 0);
	close(fd[0]);
	close(fd[1]);
	return mbv;
}

int
main(int argc, char **argv)
{
	size_t n = argc > 1 ? strtoul(argv[1], NULL, 10) : 1000000;
	uint8_t *pts = malloc(n * 32), *d1 = calloc(n, 1), *d2 = calloc(n, 1);
	uint64_t s = 0x9e3779b97f4a7c15ULL;
	size_t h1, h2;
	double t0, th, ts;

	if (pts == NULL || d1 == NULL || d2 == NULL || n == 0 || n >= UINT32_MAX)
		return 1;
	for (size_t i = 0; i < n * 4; i++) {
		s ^= s << 13;
		s ^= s >> 7;
		s ^= s << 17;
		memcpy(pts + 8 * i, &s, 8);
	}
	for (size_t i = 0; i < n / 100; i++) /* 1% repeats */
		memcpy(pts + 32 * ((i * 7919 + 13) % n), pts + 32 * ((i * 104729 + 1) % n), 32);
	t0 = cpu_now();
	h2 = dedupe_hash(pts, n, d2);
	th = cpu_now() - t0;
	t0 = cpu_now();
	h1 = dedupe_sort(pts, n, d1);
	ts = cpu_now() - t0;
	if (h1 != h2 || memcmp(d1, d2, n) != 0) {
		fprintf(stderr, "bench_dedupe: the two versions disagree (%zu vs %zu)\n", h1, h2);
		return 1;
	}
	printf("bench_dedupe: %zu records of one key, %zu marked as repeated (both versions agree)\n", n, h1);
	{
		double mh = extra_mb(dedupe_hash, pts, n), ms = extra_mb(dedupe_sort, pts, n);

		printf("%-42s %8s %10s %12s\n", "version", "CPU s", "peak +MB", "peak +B/rec");
		printf("%-42s %8.3f %10.1f %12.1f\n", "hash table of uint32 indices (proposal)", th, mh,
		       mh * 1048576.0 / (double)n);
		printf("%-42s %8.3f %10.1f %12.1f\n", "copy + qsort (blist.c dedupe_key)", ts, ms,
		       ms * 1048576.0 / (double)n);
		printf("(peak: VmHWM growth while one version runs alone, incl. its 1 B/record of flags)\n");
	}
	free(pts);
	free(d1);
	free(d2);
	return 0;
}
