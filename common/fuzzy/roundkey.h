/*
 * roundkey.h - the per-round CLK secret and filter balancing.
 *
 * Fuzzy and combined rounds need one secret that both nodes hold and nobody
 * else: an ephemeral X25519 exchange (libsodium crypto_kx; the gemeente is
 * the client) inside the mutually authenticated TLS channel, bound to the
 * round id and the spec hash:
 *
 *   secret = BLAKE2b-256(key = client_tx = server_rx,
 *                        "udclink/clk-secret/v1" || round_id || spec_hash)
 *
 * (the tag with its terminating NUL byte, 22 bytes; tests/unit/test_roundkey.c
 * writes the derivation out).
 * It is never written to a file or a log and lives in locked memory; a new
 * round gives a new secret, so encodings of different rounds do not compare.
 */
#ifndef UDC_ROUNDKEY_H
#define UDC_ROUNDKEY_H

#include <stddef.h>
#include <stdint.h>

#define UDC_KX_PUBLIC_BYTES 32
#define UDC_CLK_SECRET_BYTES 32

struct udc_kx; /* an ephemeral key pair in locked memory */

int udc_kx_new(struct udc_kx **out);
void udc_kx_free(struct udc_kx *kx);
const uint8_t *udc_kx_public(const struct udc_kx *kx);
/* Derives the round secret into secret (caller's locked memory).
 * client = 1 at the gemeente.  UDC_ECRYPTO for a bad peer key. */
int udc_kx_secret(const struct udc_kx *kx, int client, const uint8_t peer[UDC_KX_PUBLIC_BYTES],
    const uint8_t round_id[16], const uint8_t spec_hash[32], uint8_t secret[UDC_CLK_SECRET_BYTES]);

/* Balanced filters (Schnell 2016): the filter followed by its complement,
 * then a bit permutation keyed by the round secret, so that every encoding
 * has exactly half its bits set.  perm has 2 * nbits entries. */
int udc_balance_perm(const uint8_t secret[UDC_CLK_SECRET_BYTES], size_t nbits, uint32_t **perm);
/* in: nbits bits (clkhash bit order), out: 2 * nbits bits. */
void udc_balance(const uint8_t *in, size_t nbits, const uint32_t *perm, uint8_t *out);

#endif
