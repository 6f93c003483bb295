/*
 * wire.h - protobuf-c glue for the peer protocol (proto/wire.proto).
 *
 * Decoding is the first line of defence against a buggy or hostile peer:
 * protobuf-c runs under an allocator with a budget, the envelope's version,
 * round id and body are checked, and chunks are checked against the round's
 * shape before any point is touched.
 */
#ifndef UDC_WIRE_H
#define UDC_WIRE_H

#include <stddef.h>
#include <stdint.h>
#include "wire.pb-c.h"

#define UDC_PROTO_VERSION 2
#define UDC_MAX_CHUNK_RECORDS 65536
/* The most bytes a node accepts for either document of a release. */
#define UDC_RELEASE_MAX_BYTES (4ull << 30)

/* Decodes buf into *out (free with udc_wire_free).  UDC_EPROTO with a reason
 * in err for anything malformed: not protobuf, over the allocation budget,
 * wrong version, round id not 16 bytes, no body.  Every string field of the
 * decoded message holds printable ASCII only (other bytes become '?'). */
int udc_wire_decode(const void *buf, size_t len, Udc__Envelope **out, char *err, size_t errlen);
void udc_wire_free(Udc__Envelope *env);
/* After udc_wire_decode failed: the request id and (if 16 bytes) round id
 * of a message that protobuf could unpack, so that the Error can echo them,
 * and the code to answer with (ERR_VERSION for a wrong version, otherwise
 * ERR_MALFORMED).  Returns 1 if the ids were recovered, 0 if not protobuf. */
int udc_wire_decode_ids(const void *buf, size_t len, uint64_t *request_id, uint8_t round_id[16],
    int *have_round, uint32_t *code);
/* Serialises env into a fresh malloc'd buffer. */
int udc_wire_encode(const Udc__Envelope *env, uint8_t **buf, size_t *len);
/* Checks a chunk: n <= max_n, nkeys as expected, points n*nkeys*32 bytes,
 * labels n*2 bytes each < nlabels.  UDC_EPROTO with a reason otherwise. */
int udc_wire_check_chunk(const Udc__Chunk *ch, size_t nkeys, size_t max_n, size_t nlabels,
    char *err, size_t errlen);
/* Bytes of a message of max_message bytes left for its payload: what is
 * not kept for the envelope (UDC_WIRE_ENVELOPE_BYTES); 0 if nothing is. */
#define UDC_WIRE_ENVELOPE_BYTES 4096
size_t udc_wire_payload_bytes(size_t max_message);
/* Records per chunk of a list whose records take per_record bytes on the
 * wire: the configured chunk_records, but never more than fit in the
 * payload of a message of max_message bytes nor more than
 * UDC_MAX_CHUNK_RECORDS; at least 1.  The one rule both nodes chunk by. */
size_t udc_wire_chunk_records(size_t configured, size_t max_message, size_t per_record);
/* Bytes per piece of a release sent in pieces: the payload of a message of
 * max_message bytes, at most cap. */
size_t udc_wire_chunk_bytes(size_t max_message, size_t cap);
/* Labels on the wire: uint16 each, little-endian, 2 bytes per record.
 * udc_wire_labels_pack writes n labels into out (2 * n bytes, the
 * caller's); udc_wire_label reads label i of a chunk. */
void udc_wire_labels_pack(const uint16_t *lab, size_t n, uint8_t *out);
static inline uint16_t
udc_wire_label(const Udc__Chunk *ch, size_t i)
{
	return (uint16_t)(ch->labels.data[2 * i] | (ch->labels.data[2 * i + 1] << 8));
}
/* Name of a body case, for logs and errors. */
const char *udc_wire_body_name(Udc__Envelope__BodyCase c);

/* The shape of a Release as a node receives it: hashes and signatures of
 * the right size, documents within UDC_RELEASE_MAX_BYTES, chunks that fit
 * in max_message.  0, or UDC_EPROTO / UDC_ELIMIT with the reason in why.
 * (The signatures are the receiver's to check.) */
int udc_release_check(const Udc__Release *rl, size_t max_message, char *why, size_t whylen);

#endif
