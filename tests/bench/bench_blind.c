/*
 * bench_blind.c - where the time of one blinding goes, on one core.
 *
 * Splits udc_blind (validate + scalar multiplication) and udc_hash_to_group
 * (SHA-512 + ristretto255_from_hash) into their parts, to size proposals:
 * crypto_scalarmult_ristretto255 already refuses a non-canonical encoding
 * and an identity result, so the separate validation in udc_blind is
 * measured on its own here.  Rates are per CPU-second of the calling thread,
 * so they hold on a machine shared with other jobs.
 *
 * Then one block per group backend this CPU runs (group_batch.h: libsodium,
 * the portable lanes, AVX-512 IFMA), side by side in the same run: each
 * operation over arrays, and the two paths a round runs, blinding a
 * received chunk (udc_blind_batch, one thread) and hashing and blinding a
 * list's keys (udc_hash_blind_items), with the ratio to libsodium.
 * Usage: bench_blind [seconds per figure].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "blind.h"
#if __has_include("group_batch.h") /* BENCH_REF builds of trees without it */
#include "group_batch.h"
#define HAVE_GROUP_BATCH 1
#endif

static const uint8_t round_id[UDC_ROUND_ID_BYTES] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12};

enum { N = 4096 };
static uint8_t pts[N][32];
static uint8_t scalar[32];
static volatile unsigned sink;

static double
now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* CPU time: the figures hold on a shared machine */
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

typedef void (*op_fn)(size_t i);

static void
op_valid(size_t i)
{
	sink += (unsigned)crypto_core_ristretto255_is_valid_point(pts[i]);
}

static void
op_iszero(size_t i)
{
	sink += (unsigned)sodium_is_zero(pts[i], 32);
}

static void
op_mult(size_t i)
{
	uint8_t q[32];

	if (crypto_scalarmult_ristretto255(q, scalar, pts[i]) == 0)
		sink += q[0];
}

static void
op_sha(size_t i)
{
	uint8_t h[64];
	char v[16];
	int len = snprintf(v, sizeof(v), "%09zu", 100000000 + i);

	crypto_hash_sha512(h, (const uint8_t *)v, (unsigned long long)len);
	sink += h[0];
}

static void
op_fromhash(size_t i)
{
	uint8_t h[64], q[32];

	memcpy(h, pts[i], 32);
	memcpy(h + 32, pts[(i + 1) % N], 32);
	crypto_core_ristretto255_from_hash(q, h);
	sink += q[0];
}

static void
op_hash_to_group(size_t i)
{
	uint8_t q[32];
	char v[16];
	int len = snprintf(v, sizeof(v), "%09zu", 100000000 + i);

	udc_hash_to_group(q, round_id, 0, v, (size_t)len);
	sink += q[0];
}

#ifdef HAVE_GROUP_BATCH
/* The batch operations, 64 points (eight groups) per call. */
enum { G = 64 };
static int gb;
static uint8_t gout[G * 32], gok[G], gh[G * 64];
static struct udc_scalar *uscalar;
static uint8_t chunk[N * 32];
static char keys[N][16];
static struct udc_hash_item items[N];
static uint8_t item_out[N][32];

static void
op_g_mul(size_t i)
{
	udc_group_mul(gb, gout, gok, scalar, pts[(i * G) % N], G);
	sink += gout[0];
}

static void
op_g_valid(size_t i)
{
	udc_group_valid(gb, gok, pts[(i * G) % N], G);
	sink += gok[0];
}

static void
op_g_from_hash(size_t i)
{
	udc_group_from_hash(gb, gout, gh, G);
	sink += gout[0];
}

static void
op_g_hash_mul(size_t i)
{
	udc_group_hash_mul(gb, gout, gok, scalar, gh, G);
	sink += gout[0];
}

/* A received chunk of N points, blinded in place on this thread. */
static void
op_chunk(size_t i)
{
	if (udc_blind_batch(NULL, uscalar, chunk, N, NULL) != 0)
		abort();
	sink += chunk[0];
}

/* N keys of a list: SHA-512, map, blind. */
static void
op_items(size_t i)
{
	if (udc_hash_blind_items(uscalar, round_id, items, N) != 0)
		abort();
	sink += item_out[0][0];
}
#endif

static double
rate(op_fn f, double secs)
{
	double t0 = now(), t;
	size_t n = 0;

	do {
		for (size_t i = 0; i < 256; i++, n++)
			f(n % N);
		t = now() - t0;
	} while (t < secs);
	return (double)n / t;
}

#ifdef HAVE_GROUP_BATCH
/* Per-point rates of one call; calls of G points (or N for the paths). */
static double
rate_per(op_fn f, double secs, size_t per_call)
{
	double t0 = now(), t;
	size_t n = 0;

	do {
		f(n++);
		t = now() - t0;
	} while (t < secs);
	return (double)n * (double)per_call / t;
}

static void
batch_rows(double secs)
{
	static const struct {
		const char *name;
		op_fn f;
		size_t per;
	} ops[] = {
	    {"mul (scalar multiplication)", op_g_mul, G},
	    {"valid (decode)", op_g_valid, G},
	    {"from_hash (ristretto map)", op_g_from_hash, G},
	    {"hash_mul (map + multiplication)", op_g_hash_mul, G},
	    {"path: blind a chunk (udc_blind_batch)", op_chunk, N},
	    {"path: hash+blind keys (udc_hash_blind_items)", op_items, N},
	};
	enum { NOPS = sizeof(ops) / sizeof(ops[0]) };
	double base[NOPS];
	int rv, chosen;

	if ((rv = udc_scalar_new(&uscalar)) != 0)
		abort();
	randombytes_buf(gh, sizeof(gh));
	memcpy(chunk, pts, sizeof(chunk));
	for (size_t i = 0; i < N; i++) {
		int len = snprintf(keys[i], sizeof(keys[i]), "%09zu", 100000000 + i);

		items[i] = (struct udc_hash_item){.key_index = 0, .value = keys[i],
		                                  .len = (size_t)len, .out = item_out[i]};
	}
	/* The choice logs a line on stderr: before this block's output. */
	fflush(stdout);
	chosen = udc_group_backend();
	printf("\nbatch backends (group_batch.h): rates per CPU-second of one thread, "
	       "x = ratio to libsodium in this run; backend chosen here: %s\n",
	       udc_group_backend_name(chosen));
	printf("%-10s %-46s %12s %9s %8s\n", "backend", "operation", "per s", "us each",
	       "x");
	for (int b = 0; b < UDC_GROUP_NBACKENDS; b++) {
		if (!udc_group_backend_runs(b)) {
			printf("%-10s (not run: this CPU does not execute it)\n",
			       udc_group_backend_name(b));
			continue;
		}
		if (udc_group_backend_set(b) != 0) {
			printf("%-10s (not run: its self-test against libsodium failed)\n",
			       udc_group_backend_name(b));
			continue;
		}
		gb = b;
		for (size_t k = 0; k < NOPS; k++) {
			double r = rate_per(ops[k].f, secs, ops[k].per);

			if (b == UDC_GROUP_LIBSODIUM)
				base[k] = r;
			printf("%-10s %-46s %12.0f %9.2f %7.2fx\n", udc_group_backend_name(b),
			       ops[k].name, r, 1e6 / r, r / base[k]);
		}
	}
	udc_scalar_free(uscalar);
}
#endif

int
main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 1.0;
	double valid, zero, mult, sha, fh, h2g;

	if (sodium_init() < 0 || secs <= 0)
		return 1;
	crypto_core_ristretto255_scalar_random(scalar);
	for (size_t i = 0; i < N; i++)
		crypto_core_ristretto255_random(pts[i]);
	valid = rate(op_valid, secs);
	zero = rate(op_iszero, secs);
	mult = rate(op_mult, secs);
	sha = rate(op_sha, secs);
	fh = rate(op_fromhash, secs);
	h2g = rate(op_hash_to_group, secs);
	printf("bench_blind: libsodium %s, one core, rates per CPU-second (thread CPU time), "
	       "%.1f s per figure\n", sodium_version_string(), secs);
	printf("%-44s %12s %10s\n", "part", "ops/s", "us/op");
	printf("%-44s %12.0f %10.2f\n", "is_valid_point (decode)", valid, 1e6 / valid);
	printf("%-44s %12.0f %10.2f\n", "sodium_is_zero(32)", zero, 1e6 / zero);
	printf("%-44s %12.0f %10.2f\n", "crypto_scalarmult_ristretto255", mult, 1e6 / mult);
	printf("%-44s %12.0f %10.2f\n", "udc_blind = the three above", 1 / (1 / valid + 1 / zero + 1 / mult),
	       1e6 / valid + 1e6 / zero + 1e6 / mult);
	printf("%-44s %12.1f %%\n", "validation share of udc_blind", 100.0 * (1 / valid + 1 / zero) /
	       (1 / valid + 1 / zero + 1 / mult));
	printf("%-44s %12.0f %10.2f\n", "SHA-512 of a 9-digit key", sha, 1e6 / sha);
	printf("%-44s %12.0f %10.2f\n", "ristretto255_from_hash", fh, 1e6 / fh);
	printf("%-44s %12.0f %10.2f\n", "udc_hash_to_group", h2g, 1e6 / h2g);
#ifdef HAVE_GROUP_BATCH
	batch_rows(secs);
#endif
	return 0;
}
