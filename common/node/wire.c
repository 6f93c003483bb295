/*
 * wire.c - decoding and checking peer messages.
 */
#include "wire.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "sign.h"

/* protobuf-c allocates while it unpacks; a budget per message keeps a
 * crafted message (huge repeated counts, deep nesting) from costing more
 * than a small multiple of its own size. */
struct budget {
	size_t left;
};

static void *
budget_alloc(void *data, size_t size)
{
	struct budget *b = data;
	size_t *p;

	if (size > b->left || size > SIZE_MAX - sizeof(size_t))
		return NULL;
	if ((p = malloc(size + sizeof(size_t))) == NULL)
		return NULL;
	b->left -= size;
	*p = size;
	return p + 1;
}

static void
budget_free(void *data, void *ptr)
{
	(void)data;
	if (ptr)
		free((size_t *)ptr - 1);
}

/* Freeing needs no budget: every block carries its own header. */
static ProtobufCAllocator free_allocator = { .alloc = budget_alloc, .free = budget_free };

/* Every byte of s outside printable ASCII becomes '?'. */
static void
clean_string(char *s)
{
	for (; s != NULL && *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			*s = '?';
}

/* Peer strings (names, reasons, notes) go into logs, the audit log and JSON:
 * in every string field of the message, recursively, a byte outside
 * printable ASCII becomes '?', so that a peer can neither forge a log line
 * nor bring invalid UTF-8 into JSON.  The fields that carry data (spec,
 * points, filters) are bytes, not strings, and are not touched. */
static void
clean_strings(ProtobufCMessage *m, int depth)
{
	const ProtobufCMessageDescriptor *d;

	if (m == NULL || depth > 8)
		return;
	d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		char *member = (char *)m + f->offset;

		if (f->type != PROTOBUF_C_TYPE_STRING && f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(size_t *)(void *)((char *)m + f->quantifier_offset);
			void **v = *(void ***)(void *)member;

			for (size_t j = 0; j < n && v != NULL; j++) {
				if (f->type == PROTOBUF_C_TYPE_STRING)
					clean_string(v[j]);
				else
					clean_strings(v[j], depth + 1);
			}
			continue;
		}
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(uint32_t *)(void *)((char *)m + f->quantifier_offset) != f->id)
			continue;
		if (f->type == PROTOBUF_C_TYPE_STRING)
			clean_string(*(char **)(void *)member);
		else
			clean_strings(*(ProtobufCMessage **)(void *)member, depth + 1);
	}
}

int
udc_wire_decode(const void *buf, size_t len, Udc__Envelope **out, char *err, size_t errlen)
{
	struct budget b = { .left = 2 * len + 64 * 1024 };
	ProtobufCAllocator a = { .alloc = budget_alloc, .free = budget_free, .allocator_data = &b };
	Udc__Envelope *env;

	env = udc__envelope__unpack(&a, len, buf);
	if (env == NULL) {
		snprintf(err, errlen, "undecodable message of %zu bytes", len);
		return UDC_EPROTO;
	}
	if (env->version != UDC_PROTO_VERSION) {
		snprintf(err, errlen, "protocol version %u not supported (want %u)", env->version,
		    UDC_PROTO_VERSION);
		goto bad;
	}
	if (env->round_id.len != 16) {
		snprintf(err, errlen, "round id of %zu bytes (want 16)", env->round_id.len);
		goto bad;
	}
	if (env->body_case == UDC__ENVELOPE__BODY__NOT_SET) {
		snprintf(err, errlen, "message without a body");
		goto bad;
	}
	clean_strings(&env->base, 0);
	*out = env;
	return 0;
bad:
	udc__envelope__free_unpacked(env, &free_allocator);
	return UDC_EPROTO;
}

int
udc_wire_decode_ids(const void *buf, size_t len, uint64_t *request_id, uint8_t round_id[16],
    int *have_round, uint32_t *code)
{
	struct budget b = { .left = 2 * len + 64 * 1024 };
	ProtobufCAllocator a = { .alloc = budget_alloc, .free = budget_free, .allocator_data = &b };
	Udc__Envelope *env = udc__envelope__unpack(&a, len, buf);

	*request_id = 0;
	*have_round = 0;
	*code = UDC__ERROR_CODE__ERR_MALFORMED;
	if (env == NULL)
		return 0;
	*request_id = env->request_id;
	if (env->round_id.len == 16) {
		memcpy(round_id, env->round_id.data, 16);
		*have_round = 1;
	}
	if (env->version != UDC_PROTO_VERSION)
		*code = UDC__ERROR_CODE__ERR_VERSION;
	udc__envelope__free_unpacked(env, &free_allocator);
	return 1;
}

void
udc_wire_free(Udc__Envelope *env)
{
	if (env)
		udc__envelope__free_unpacked(env, &free_allocator);
}

int
udc_wire_encode(const Udc__Envelope *env, uint8_t **buf, size_t *len)
{
	size_t n = udc__envelope__get_packed_size(env);
	uint8_t *p = malloc(n ? n : 1);

	if (p == NULL)
		return UDC_ENOMEM;
	*len = udc__envelope__pack(env, p);
	*buf = p;
	return 0;
}

int
udc_wire_check_chunk(const Udc__Chunk *ch, size_t nkeys, size_t max_n, size_t nlabels,
    char *err, size_t errlen)
{
	if (ch->n == 0 && !ch->last) {
		snprintf(err, errlen, "chunk %u: empty but not last", ch->index);
		return UDC_EPROTO;
	}
	if (ch->n > max_n) {
		snprintf(err, errlen, "chunk %u: %u records, limit %zu", ch->index, ch->n, max_n);
		return UDC_EPROTO;
	}
	if (ch->nkeys != nkeys) {
		snprintf(err, errlen, "chunk %u: %u keys, the round uses %zu", ch->index, ch->nkeys, nkeys);
		return UDC_EPROTO;
	}
	if (ch->points.len != (size_t)ch->n * nkeys * 32) {
		snprintf(err, errlen, "chunk %u: %zu bytes of points for %u records", ch->index,
		    ch->points.len, ch->n);
		return UDC_EPROTO;
	}
	if (ch->labels.len != (size_t)ch->n * 2) {
		snprintf(err, errlen, "chunk %u: %zu bytes of labels for %u records", ch->index,
		    ch->labels.len, ch->n);
		return UDC_EPROTO;
	}
	for (size_t i = 0; i < ch->n; i++) {
		if (udc_wire_label(ch, i) >= nlabels) {
			snprintf(err, errlen, "chunk %u: label %u out of range (%zu labels)", ch->index,
			    udc_wire_label(ch, i), nlabels);
			return UDC_EPROTO;
		}
	}
	return 0;
}

const char *
udc_wire_body_name(Udc__Envelope__BodyCase c)
{
	switch (c) {
	case UDC__ENVELOPE__BODY_PROPOSE: return "propose";
	case UDC__ENVELOPE__BODY_PROPOSE_REPLY: return "propose_reply";
	case UDC__ENVELOPE__BODY_G_CHUNK: return "g_chunk";
	case UDC__ENVELOPE__BODY_ACK: return "ack";
	case UDC__ENVELOPE__BODY_STATUS: return "status";
	case UDC__ENVELOPE__BODY_STATUS_REPLY: return "status_reply";
	case UDC__ENVELOPE__BODY_FETCH: return "fetch";
	case UDC__ENVELOPE__BODY_C_CHUNK: return "c_chunk";
	case UDC__ENVELOPE__BODY_R_CHUNK: return "r_chunk";
	case UDC__ENVELOPE__BODY_FINISH: return "finish";
	case UDC__ENVELOPE__BODY_ABORT: return "abort";
	case UDC__ENVELOPE__BODY_ERROR: return "error";
	case UDC__ENVELOPE__BODY_L_CHUNK: return "l_chunk";
	case UDC__ENVELOPE__BODY_X_CHUNK: return "x_chunk";
	case UDC__ENVELOPE__BODY_SEAL: return "seal";
	case UDC__ENVELOPE__BODY_COUNTED: return "counted";
	case UDC__ENVELOPE__BODY_RELEASE_CHUNK: return "release_chunk";
	case UDC__ENVELOPE__BODY_DELIVERED: return "delivered";
	default: return "unknown";
	}
}

size_t
udc_wire_payload_bytes(size_t max_message)
{
	return max_message > UDC_WIRE_ENVELOPE_BYTES ? max_message - UDC_WIRE_ENVELOPE_BYTES : 0;
}

size_t
udc_wire_chunk_records(size_t configured, size_t max_message, size_t per_record)
{
	size_t payload = udc_wire_payload_bytes(max_message);
	size_t fit = payload && per_record ? payload / per_record : 1;
	size_t n = configured < fit ? configured : fit;

	if (n > UDC_MAX_CHUNK_RECORDS)
		n = UDC_MAX_CHUNK_RECORDS;
	return n ? n : 1;
}

size_t
udc_wire_chunk_bytes(size_t max_message, size_t cap)
{
	size_t payload = udc_wire_payload_bytes(max_message);

	return payload < cap ? payload : cap;
}

void
udc_wire_labels_pack(const uint16_t *lab, size_t n, uint8_t *out)
{
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = (uint8_t)(lab[i] & 0xff);
		out[2 * i + 1] = (uint8_t)(lab[i] >> 8);
	}
}

int
udc_release_check(const Udc__Release *rl, size_t max_message, char *why, size_t whylen)
{
	if (rl == NULL) {
		snprintf(why, whylen, "no release");
		return UDC_EPROTO;
	}
	if (rl->csv_sha256.len != 32 || rl->json_sha256.len != 32 ||
	    rl->csv_sig.len != UDC_SIGN_BYTES || rl->json_sig.len != UDC_SIGN_BYTES) {
		snprintf(why, whylen, "a release without hashes and signatures");
		return UDC_EPROTO;
	}
	if (rl->csv_bytes > UDC_RELEASE_MAX_BYTES || rl->json_bytes > UDC_RELEASE_MAX_BYTES) {
		snprintf(why, whylen, "a release of %llu + %llu bytes, more than the %llu a node accepts",
		    (unsigned long long)rl->csv_bytes, (unsigned long long)rl->json_bytes,
		    (unsigned long long)UDC_RELEASE_MAX_BYTES);
		return UDC_ELIMIT;
	}
	if (rl->chunk_bytes < 1024 || (size_t)rl->chunk_bytes + 1024 > max_message) {
		snprintf(why, whylen, "release chunks of %u bytes; this node's [peer] max_message (%zu) "
		    "must exceed them by 1 KiB (give both nodes the same value)", rl->chunk_bytes,
		    max_message);
		return UDC_ELIMIT;
	}
	return 0;
}
