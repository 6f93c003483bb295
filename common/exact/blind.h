/*
 * blind.h - hashing to ristretto255 and blinding with a round scalar.
 *
 * H(value) = ristretto255_from_hash(SHA-512(tag || round_id || key_index ||
 * len || value)) with tag "udclink/exact/v1" (NUL included), round_id 16
 * bytes, key_index and len big-endian 32 bit.  Blinding is scalar
 * multiplication; every point received from the peer is validated first.
 * The functions over arrays run on the batch group backend (group_batch.h):
 * the same bytes as one libsodium call per point.
 */
#ifndef UDC_BLIND_H
#define UDC_BLIND_H

#include <stddef.h>
#include <stdint.h>

#define UDC_POINT_BYTES 32
#define UDC_ROUND_ID_BYTES 16
#define UDC_HASH_TAG "udclink/exact/v1"
/* Key index of the handles counted in fuzzy and combined modes: apart from
 * every match key's domain. */
#define UDC_KEY_HANDLE 0xffffffffu

struct udc_workq;
struct udc_scalar; /* a round scalar in locked memory */

/* Fresh random non-zero scalar in sodium_malloc'd memory. */
int udc_scalar_new(struct udc_scalar **out);
/* Wipes and frees; NULL is fine. */
void udc_scalar_free(struct udc_scalar *s);

void udc_hash_to_group(uint8_t out[UDC_POINT_BYTES], const uint8_t round_id[UDC_ROUND_ID_BYTES],
    uint32_t key_index, const char *value, size_t len);
/* A uniformly random group element (fills missing keys, pads categories). */
void udc_random_point(uint8_t out[UDC_POINT_BYTES]);
/* n of them, packed (64 bytes of udc_random_buf each, as udc_random_point). */
void udc_random_points(uint8_t *out, size_t n);

/* One value to hash and blind: the caller owns value and out. */
struct udc_hash_item {
	uint32_t key_index;
	const char *value;
	size_t len; /* at most UINT32_MAX */
	uint8_t *out; /* receives s * H(round_id, key_index, value) */
};
/* For each item, out = udc_blind of udc_hash_to_group (the same bytes),
 * in groups of UDC_GROUP_BATCH on the calling thread.  UDC_ECRYPTO if a result is
 * the identity (that out is then zero; never happens in practice). */
int udc_hash_blind_items(const struct udc_scalar *s, const uint8_t round_id[UDC_ROUND_ID_BYTES],
    const struct udc_hash_item *items, size_t n);
/* out = s * in.  Returns UDC_ECRYPTO if in is not a valid encoding of a
 * group element or the result is the identity. out may equal in. */
int udc_blind(uint8_t out[UDC_POINT_BYTES], const struct udc_scalar *s,
    const uint8_t in[UDC_POINT_BYTES]);
/* In place over n packed points, in parallel on wq (may be NULL).  Returns
 * UDC_ECRYPTO (and the index of the first bad point in *bad if non-NULL) if
 * any input is invalid. */
int udc_blind_batch(struct udc_workq *wq, const struct udc_scalar *s, uint8_t *points,
    size_t n, size_t *bad);

/* Checks n packed points (valid encodings of group elements, not the
 * identity) in parallel on wq (may be NULL): 0, or UDC_ECRYPTO and the
 * lowest bad index in *bad (if not NULL). */
int udc_points_valid(struct udc_workq *wq, const uint8_t *points, size_t n, size_t *bad);

#endif
