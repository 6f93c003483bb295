/*
 * blind.c - hashing to ristretto255 and blinding with a round scalar.
 *
 * Exact mode compares H(key)^ab on the CBS node.  ristretto255 gives a
 * prime-order group with canonical encodings, so equal points have equal
 * bytes and there is no cofactor to clear; the round scalar lives in locked,
 * read-only memory and every point from the peer is validated before use.
 * Single points go to libsodium; arrays go through group_batch.h in groups
 * of UDC_GROUP_BATCH on the backend chosen for this CPU (the same bytes, faster where
 * AVX-512 IFMA runs).
 */
#include "blind.h"

#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "err.h"
#include "group_batch.h"
#include "secmem.h"
#include "rand.h"
#include "workq.h"

struct udc_scalar {
	unsigned char s[crypto_core_ristretto255_SCALARBYTES];
};

int
udc_scalar_new(struct udc_scalar **out)
{
	/* 64 bytes reduced mod L: off uniform by about 2^-259. */
	unsigned char wide[crypto_core_ristretto255_NONREDUCEDSCALARBYTES];
	struct udc_scalar *s;
	int rv;

	*out = NULL;
	if ((s = udc_secmem_alloc(sizeof(*s))) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	/*
	 * Not crypto_core_ristretto255_scalar_random: that one reads
	 * randombytes directly, and every random draw here goes through
	 * udc_random_buf so that a test can make it predictable.  A 64-byte
	 * reduction is as uniform.  Zero would send every point to the
	 * identity.
	 */
	do {
		udc_random_buf(wide, sizeof(wide));
		crypto_core_ristretto255_scalar_reduce(s->s, wide);
	} while (sodium_is_zero(s->s, sizeof(s->s)));
	if (sodium_mprotect_readonly(s) != 0) {
		udc_secmem_free(s);
		rv = UDC_ENOMEM;
		goto out;
	}
	*out = s;
	rv = 0;
out:
	sodium_memzero(wide, sizeof(wide));
	return rv;
}

void
udc_scalar_free(struct udc_scalar *s)
{
	/* sodium_free makes the pages writable, wipes and unlocks them. */
	udc_secmem_free(s);
}

static void
put_be32(unsigned char b[4], uint32_t v)
{
	b[0] = (unsigned char)(v >> 24);
	b[1] = (unsigned char)(v >> 16);
	b[2] = (unsigned char)(v >> 8);
	b[3] = (unsigned char)v;
}

/* The digest H maps to the group: SHA-512(tag || round_id || key_index ||
 * len || value).  Identifier-derived: the caller wipes it. */
static void
hash_digest(uint8_t h[crypto_hash_sha512_BYTES], const uint8_t round_id[UDC_ROUND_ID_BYTES],
            uint32_t key_index, const char *value, size_t len)
{
	crypto_hash_sha512_state st;
	unsigned char be[4];

	/* A longer value cannot be length-prefixed unambiguously; keys are
	 * short strings, so this is a bug in the caller. */
	if (len > UINT32_MAX)
		abort();
	crypto_hash_sha512_init(&st);
	/* The tag with its NUL, so no tag is a prefix of another. */
	crypto_hash_sha512_update(&st, (const unsigned char *)UDC_HASH_TAG, sizeof(UDC_HASH_TAG));
	crypto_hash_sha512_update(&st, round_id, UDC_ROUND_ID_BYTES);
	put_be32(be, key_index);
	crypto_hash_sha512_update(&st, be, sizeof(be));
	/* The length makes ("ab", "c") and ("a", "bc") differ should values
	 * ever be concatenated by a caller. */
	put_be32(be, (uint32_t)len);
	crypto_hash_sha512_update(&st, be, sizeof(be));
	if (len > 0)
		crypto_hash_sha512_update(&st, (const unsigned char *)value, len);
	crypto_hash_sha512_final(&st, h);
	/* The hash state is identifier-derived: whoever has it can test
	 * guesses without any scalar. */
	sodium_memzero(&st, sizeof(st));
}

void
udc_hash_to_group(uint8_t out[UDC_POINT_BYTES], const uint8_t round_id[UDC_ROUND_ID_BYTES],
                  uint32_t key_index, const char *value, size_t len)
{
	unsigned char h[crypto_hash_sha512_BYTES];

	hash_digest(h, round_id, key_index, value, len);
	crypto_core_ristretto255_from_hash(out, h);
	sodium_memzero(h, sizeof(h));
}

int
udc_hash_blind_items(const struct udc_scalar *s, const uint8_t round_id[UDC_ROUND_ID_BYTES],
                     const struct udc_hash_item *items, size_t n)
{
	unsigned char h[UDC_GROUP_BATCH * crypto_hash_sha512_BYTES];
	uint8_t out[UDC_GROUP_BATCH * UDC_POINT_BYTES], ok[UDC_GROUP_BATCH];
	int b = udc_group_backend(), rv = 0;

	for (size_t i = 0; i < n; i += UDC_GROUP_BATCH) {
		size_t m = n - i < UDC_GROUP_BATCH ? n - i : UDC_GROUP_BATCH;

		for (size_t k = 0; k < m; k++)
			hash_digest(h + k * crypto_hash_sha512_BYTES, round_id, items[i + k].key_index,
			            items[i + k].value, items[i + k].len);
		if (udc_group_hash_mul(b, out, ok, s->s, h, m) != 0)
			rv = UDC_ECRYPTO; /* an identity result: never in practice */
		for (size_t k = 0; k < m; k++)
			memcpy(items[i + k].out, out + k * UDC_POINT_BYTES, UDC_POINT_BYTES);
	}
	sodium_memzero(h, sizeof(h));
	return rv;
}

void
udc_random_point(uint8_t out[UDC_POINT_BYTES])
{
	unsigned char h[crypto_core_ristretto255_HASHBYTES];

	/* What crypto_core_ristretto255_random does, via udc_random_buf. */
	udc_random_buf(h, sizeof(h));
	crypto_core_ristretto255_from_hash(out, h);
	sodium_memzero(h, sizeof(h));
}

void
udc_random_points(uint8_t *out, size_t n)
{
	unsigned char h[UDC_GROUP_BATCH * crypto_core_ristretto255_HASHBYTES];
	int b = udc_group_backend();

	for (size_t i = 0; i < n; i += UDC_GROUP_BATCH) {
		size_t m = n - i < UDC_GROUP_BATCH ? n - i : UDC_GROUP_BATCH;

		udc_random_buf(h, m * crypto_core_ristretto255_HASHBYTES);
		udc_group_from_hash(b, out + i * UDC_POINT_BYTES, h, m);
	}
	sodium_memzero(h, sizeof(h));
}

/* A point that blinding accepts: a canonical encoding, and not the identity
 * (which any scalar maps to itself, and which H never yields in practice). */
static int
point_ok(const uint8_t p[UDC_POINT_BYTES])
{
	return crypto_core_ristretto255_is_valid_point(p) == 1 &&
	       !sodium_is_zero(p, UDC_POINT_BYTES);
}

int
udc_blind(uint8_t out[UDC_POINT_BYTES], const struct udc_scalar *s,
          const uint8_t in[UDC_POINT_BYTES])
{
	unsigned char q[crypto_scalarmult_ristretto255_BYTES];
	int rv;

	/* No separate validation: crypto_scalarmult_ristretto255 decodes the
	 * input with the same canonical-encoding check and refuses an identity
	 * result (so the identity too), and the extra check cost 8.6% of every
	 * blinding (docs/benchmarks.md).  test_blind checks the refusals.
	 * Through q so that out may alias in, and so that nothing is written
	 * to out on failure. */
	if (crypto_scalarmult_ristretto255(q, s->s, in) != 0) {
		rv = UDC_ECRYPTO;
		goto out;
	}
	memcpy(out, q, sizeof(q));
	rv = 0;
out:
	sodium_memzero(q, sizeof(q));
	return rv;
}

struct batch {
	const struct udc_scalar *s;
	uint8_t *points;
	size_t n;
	int backend;
	atomic_size_t bad; /* lowest failing index seen, SIZE_MAX if none */
};

static void
note_bad(atomic_size_t *bad, size_t i)
{
	size_t cur = atomic_load(bad);

	while (i < cur && !atomic_compare_exchange_weak(bad, &cur, i))
		;
}

/* Over groups [begin, end) of UDC_GROUP_BATCH points; the last group of
 * the array may be short. */
static int
batch_range(void *arg, size_t begin, size_t end)
{
	struct batch *b = arg;
	uint8_t out[UDC_GROUP_BATCH * UDC_POINT_BYTES], ok[UDC_GROUP_BATCH];

	for (size_t g = begin; g < end; g++) {
		size_t i0 = g * UDC_GROUP_BATCH;
		size_t m = b->n - i0 < UDC_GROUP_BATCH ? b->n - i0 : UDC_GROUP_BATCH;
		uint8_t *p = b->points + i0 * UDC_POINT_BYTES;

		if (udc_group_mul(b->backend, out, ok, b->s->s, p, m) != 0) {
			/* As one point at a time would leave it: blinded up to
			 * the first bad one, untouched from there. */
			size_t k = 0;

			while (ok[k])
				k++;
			memcpy(p, out, k * UDC_POINT_BYTES);
			note_bad(&b->bad, i0 + k);
			return UDC_ECRYPTO;
		}
		memcpy(p, out, m * UDC_POINT_BYTES);
	}
	return 0;
}

int
udc_blind_batch(struct udc_workq *wq, const struct udc_scalar *s, uint8_t *points, size_t n,
                size_t *bad)
{
	struct batch b;
	size_t first, ngroups;
	int rv;

	b.s = s;
	b.points = points;
	b.n = n;
	b.backend = udc_group_backend();
	atomic_init(&b.bad, SIZE_MAX);
	if (n > SIZE_MAX / UDC_POINT_BYTES) {
		rv = UDC_EINVAL;
		goto out;
	}
	ngroups = n / UDC_GROUP_BATCH + (n % UDC_GROUP_BATCH != 0);
	if (wq == NULL)
		rv = batch_range(&b, 0, ngroups);
	else
		rv = udc_workq_parallel(wq, ngroups, 0, batch_range, &b);
	if (rv == 0)
		goto out;

	/*
	 * The pool stops at the first failing range in time, which need not
	 * be the lowest one: ranges below it may have been skipped.  Those
	 * were not blinded, so a check of their encodings finds the first
	 * bad index (a valid point times a non-zero scalar is never the
	 * identity in a prime-order group).
	 */
	first = atomic_load(&b.bad);
	if (first > n)
		first = n;
	for (size_t i = 0; i < first; i++) {
		if (!point_ok(points + i * UDC_POINT_BYTES)) {
			first = i;
			break;
		}
	}
	if (bad != NULL)
		*bad = first;
	rv = UDC_ECRYPTO;
out:
	return rv;
}

struct valid_job {
	const uint8_t *pts;
	size_t n;
	int backend;
	atomic_size_t bad;
};

/* Over groups, as batch_range. */
static int
valid_range(void *arg, size_t begin, size_t end)
{
	struct valid_job *j = arg;
	uint8_t ok[UDC_GROUP_BATCH];

	for (size_t g = begin; g < end; g++) {
		size_t i0 = g * UDC_GROUP_BATCH;
		size_t m = j->n - i0 < UDC_GROUP_BATCH ? j->n - i0 : UDC_GROUP_BATCH;
		const uint8_t *p = j->pts + i0 * UDC_POINT_BYTES;

		udc_group_valid(j->backend, ok, p, m);
		for (size_t k = 0; k < m; k++) {
			if (!ok[k] || sodium_is_zero(p + k * UDC_POINT_BYTES, UDC_POINT_BYTES)) {
				note_bad(&j->bad, i0 + k);
				return UDC_ECRYPTO;
			}
		}
	}
	return 0;
}

int
udc_points_valid(struct udc_workq *wq, const uint8_t *points, size_t n, size_t *bad)
{
	struct valid_job j = { .pts = points, .n = n, .backend = udc_group_backend() };
	size_t ngroups = n / UDC_GROUP_BATCH + (n % UDC_GROUP_BATCH != 0);
	size_t first;

	atomic_init(&j.bad, SIZE_MAX);
	/* 32 groups (256 points) a range: checking is cheap next to blinding. */
	if (udc_workq_parallel(wq, ngroups, 32, valid_range, &j) == 0)
		return 0;
	if (bad != NULL) {
		/* Ranges below the failing one may have been skipped: the
		 * lowest bad index is at most the one found. */
		first = atomic_load(&j.bad);
		for (size_t i = 0; i < first && i < n; i++) {
			if (!point_ok(points + i * UDC_POINT_BYTES)) {
				first = i;
				break;
			}
		}
		*bad = first;
	}
	return UDC_ECRYPTO;
}
