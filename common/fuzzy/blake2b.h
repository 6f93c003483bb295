/*
 * blake2b.h - keyed BLAKE2b (RFC 7693) from a state that has already
 * absorbed the key block.
 *
 * clkhash's blakeHash hashes every token of a feature with the same key and
 * salt: blake2b(token, key, salt).  A keyed BLAKE2b compresses the key
 * (padded to a block) first, so half of the work for a short token is the
 * same for every token.  udc_blake2b_keyed_init does that block once;
 * udc_blake2b_keyed_final hashes one message from it.  The output equals
 * libsodium's crypto_generichash_blake2b_salt_personal (tests/unit/test_clk.c
 * checks it on random keys, salts and lengths).
 */
#ifndef UDC_BLAKE2B_H
#define UDC_BLAKE2B_H

#include <stddef.h>
#include <stdint.h>

/* The chaining value after the key block.  Secret: keep it where the key
 * is kept (locked memory) and wipe it with the key. */
struct udc_blake2b_keyed {
	uint64_t h[8];
	uint8_t outlen;
};

/* keylen 1..64, outlen 1..64; salt and personal 16 bytes or NULL (zeros).
 * Returns 0, or -1 on a length out of range. */
int udc_blake2b_keyed_init(struct udc_blake2b_keyed *st, const uint8_t *key, size_t keylen,
                           size_t outlen, const uint8_t *salt, const uint8_t *personal);

/* BLAKE2b of in (inlen >= 1: an empty message makes the key block the last
 * one, which this state has already passed) into out (st->outlen bytes). */
int udc_blake2b_keyed_final(const struct udc_blake2b_keyed *st, const uint8_t *in, size_t inlen,
                            uint8_t *out);

#endif
