/*
 * rand.c - the one source of randomness, and the shuffle built on it.
 *
 * libsodium's randombytes by default; a unit test may install a deterministic
 * source with udc_random_set_source so that scalars, filler points and
 * shuffles become reproducible.
 */
#include "rand.h"

#include <string.h>

#include <sodium.h>

static udc_random_fn rand_fn;
static void *rand_ctx;

void
udc_random_set_source(udc_random_fn fn, void *ctx)
{
	rand_fn = fn;
	rand_ctx = ctx;
}

void
udc_random_buf(void *buf, size_t n)
{
	if (n == 0)
		return;
	if (rand_fn != NULL)
		rand_fn(buf, n, rand_ctx);
	else
		randombytes_buf(buf, n);
}

uint32_t
udc_random_uniform(uint32_t upper)
{
	uint32_t min, r;

	if (upper < 2)
		return 0;
	if (rand_fn == NULL)
		return randombytes_uniform(upper);

	/*
	 * Rejection sampling: 2^32 mod upper values at the bottom of the range
	 * would make r % upper favour small results, so draw again instead.
	 * (-upper) % upper is 2^32 mod upper in 32-bit arithmetic.
	 */
	min = (uint32_t)(-upper) % upper;
	do {
		udc_random_buf(&r, sizeof(r));
	} while (r < min);
	return r % upper;
}

/* Same as udc_random_uniform for shuffles longer than 2^32 elements. */
static uint64_t
random_uniform64(uint64_t upper)
{
	uint64_t min, r;

	if (upper <= UINT32_MAX)
		return udc_random_uniform((uint32_t)upper);
	min = (uint64_t)(-upper) % upper;
	do {
		udc_random_buf(&r, sizeof(r));
	} while (r < min);
	return r % upper;
}

#define SWAP_CHUNK 64

static void
swap_elems(unsigned char *a, unsigned char *b, size_t size, unsigned char tmp[SWAP_CHUNK])
{
	while (size > 0) {
		size_t k = size < SWAP_CHUNK ? size : SWAP_CHUNK;

		memcpy(tmp, a, k);
		memcpy(a, b, k);
		memcpy(b, tmp, k);
		a += k;
		b += k;
		size -= k;
	}
}

void
udc_shuffle(void *base, size_t n, size_t size)
{
	/* A small stack buffer, used in chunks: elements may be of any size
	 * and a shuffle must never fail for want of memory. */
	unsigned char tmp[SWAP_CHUNK];
	unsigned char *p = base;

	if (n < 2 || size == 0)
		return;
	/* Fisher-Yates, from the top: element i trades places with a uniform
	 * j in [0, i], which gives each of the n! orders the same chance. */
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)random_uniform64((uint64_t)i + 1);

		if (j != i)
			swap_elems(p + i * size, p + j * size, size, tmp);
	}
	/* Shuffled elements may be blinded keys or labels; leave no copy. */
	sodium_memzero(tmp, sizeof(tmp));
}
