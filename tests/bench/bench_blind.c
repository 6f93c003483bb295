/*
 * bench_blind.c - where the time of one blinding goes, on one core.
 *
 * Splits udc_blind (validate + scalar multiplication) and udc_hash_to_group
 * (SHA-512 + ristretto255_from_hash) into their parts, to size proposals:
 * crypto_scalarmult_ristretto255 already refuses a non-canonical encoding
 * and an identity result, so the separate validation in udc_blind is
 * measured on its own here.  Rates are per CPU-second of the calling thread,
 * so they hold on a machine shared with other jobs.
 * Usage: bench_blind [seconds per figure].
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "blind.h"

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
	return 0;
}
