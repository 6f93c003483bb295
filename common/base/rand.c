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

void
udc_random_stream_init(struct udc_random_stream *r)
{
	r->pos = sizeof(r->buf);
}

static void
stream_take(struct udc_random_stream *r, void *out, size_t n)
{
	if (r->pos + n > sizeof(r->buf)) {
		udc_random_buf(r->buf, sizeof(r->buf));
		r->pos = 0;
	}
	memcpy(out, r->buf + r->pos, n);
	r->pos += n;
}

uint64_t
udc_random_stream_uniform(struct udc_random_stream *r, uint64_t upper)
{
	if (upper < 2)
		return 0;
	/* 32-bit draws where they suffice; (-upper) % upper is 2^w mod upper */
	if (upper <= UINT32_MAX) {
		uint32_t u = (uint32_t)upper, min = (uint32_t)(-u) % u, x;

		do {
			stream_take(r, &x, sizeof(x));
		} while (x < min);
		return x % u;
	} else {
		uint64_t min = (uint64_t)(-upper) % upper, x;

		do {
			stream_take(r, &x, sizeof(x));
		} while (x < min);
		return x % upper;
	}
}

void
udc_random_stream_wipe(struct udc_random_stream *r)
{
	sodium_memzero(r->buf, sizeof(r->buf));
	r->pos = sizeof(r->buf);
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
	struct udc_random_stream rs;

	if (n < 2 || size == 0)
		return;
	udc_random_stream_init(&rs);
	/* Fisher-Yates, from the top: element i trades places with a uniform
	 * j in [0, i], which gives each of the n! orders the same chance. */
	for (size_t i = n - 1; i > 0; i--) {
		size_t j = (size_t)udc_random_stream_uniform(&rs, (uint64_t)i + 1);

		if (j != i)
			swap_elems(p + i * size, p + j * size, size, tmp);
	}
	/* Shuffled elements may be blinded keys or labels; leave no copy, nor
	 * the randomness that says where they went. */
	sodium_memzero(tmp, sizeof(tmp));
	udc_random_stream_wipe(&rs);
}
