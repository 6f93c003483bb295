/*
 * fuzz_wire.c - the peer protocol as a hostile peer sees it.
 *
 * Any bytes go through udc_wire_decode (the envelope checks).  A message that
 * passes is re-encoded and decoded again, and then given the checks the
 * receiving daemon applies to its type, in the same order and with the same
 * functions (party_cbs/session.c for requests, party_gemeente/round.c for
 * replies): spec hash and record count of a proposal, udc_wire_check_chunk
 * and point validation/blinding for g/r/c chunks with the labels copied out
 * as the daemon does, input reports (udc_report_from_proto), and the
 * release a Seal announces (udc_release_check: sizes, chunking, hash and
 * signature lengths).  The spec is fixed (fuzz_wire_spec.h).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "blind.h"
#include "blist.h"
#include "err.h"
#include "fuzz.h"
#include "fuzz_wire_spec.h"
#include "result.h"
#include "spec.h"
#include "table.h"
#include "wire.h"

#define CBS_MAX_RECORDS 100000000ULL /* party_cbs/cbs.h */

static struct udc_spec *spec;
static struct udc_scalar *scalar;
static uint16_t lab[UDC_MAX_CHUNK_RECORDS];

static void
setup(void)
{
	char err[256];

	if (spec != NULL)
		return;
	if (sodium_init() < 0)
		fuzz_fail("sodium_init failed");
	if (udc_spec_parse(FUZZ_WIRE_SPEC, strlen(FUZZ_WIRE_SPEC), "fuzz-wire", &spec, err,
	    sizeof(err)) != 0)
		fuzz_fail(err);
	if (udc_scalar_new(&scalar) != 0)
		fuzz_fail("udc_scalar_new failed");
}

/* session.c handle_propose, after the round lookup. */
static void
check_propose(const Udc__Propose *p)
{
	char name[64];

	if (p->spec_hash.len != 32)
		return;
	if (p->g_records == 0 || p->g_records > CBS_MAX_RECORDS)
		return;
	snprintf(name, sizeof(name), "%s", p->gemeente_name ? p->gemeente_name : "gemeente");
	(void)(memcmp(spec->hash, p->spec_hash.data, 32) == 0); /* approved-spec lookup */
}

/* session.c chunk_gate + handle_g_chunk / handle_r_chunk, and round.c
 * download for c chunks: shape, labels, every point, then the copy. */
static void
check_chunk(Udc__Chunk *ch, size_t nlabels, int blind)
{
	struct udc_blist l;
	char why[256];

	if (udc_wire_check_chunk(ch, spec->nkeys, UDC_MAX_CHUNK_RECORDS, nlabels, why, sizeof(why))) {
		FUZZ_CHECK(why[0] != '\0');
		return;
	}
	FUZZ_CHECK(ch->n <= UDC_MAX_CHUNK_RECORDS);
	FUZZ_CHECK(ch->points.len == (size_t)ch->n * spec->nkeys * 32);
	if ((uint64_t)ch->n > FUZZ_WIRE_G_EXPECTED)
		return; /* ERR_LIMIT: more records than proposed */
	if (blind) {
		if (udc_blind_records(ch->points.data, ch->n, ch->nkeys, scalar, NULL) != 0)
			return; /* ERR_CRYPTO */
	} else {
		for (size_t i = 0; i < (size_t)ch->n * ch->nkeys; i++)
			if (crypto_core_ristretto255_is_valid_point(ch->points.data + 32 * i) != 1)
				return;
	}
	for (uint32_t i = 0; i < ch->n; i++) {
		lab[i] = udc_wire_label(ch, i);
		FUZZ_CHECK(lab[i] < nlabels);
	}
	udc_blist_init(&l, spec->nkeys, FUZZ_WIRE_G_EXPECTED);
	/* Found by this target: udc_blist_append() of 0 records to a list that
	 * had none yet computed NULL + 0 and called memcpy(NULL, NULL, 0), both
	 * undefined (UBSan aborted cbsd on an empty first g_chunk or r_chunk).
	 * Fixed in common/exact/blist.c; seed g_chunk_empty_last keeps it fixed. */
	if (udc_blist_append(&l, ch->points.data, lab, ch->n) == 0)
		FUZZ_CHECK(l.n == ch->n);
	udc_blist_free(&l);
}

/* session.c compute_result: the gemeente's input report. */
static void
check_finish(const Udc__Finish *fin)
{
	struct udc_input_stats st;
	char why[256];

	if (udc_report_from_proto(fin->gemeente_input, spec, &st, why, sizeof(why)) != 0)
		FUZZ_CHECK(why[0] != '\0');
}

/* release.c check_release: what the CBS node says it released. */
static void
check_seal(const Udc__Seal *sl)
{
	char why[256] = "";

	if (sl->release != NULL && udc_release_check(sl->release, 4u << 20, why, sizeof(why)) != 0)
		FUZZ_CHECK(why[0] != '\0');
}

/* round.c wait_cbs/download: what the gemeente accepts as an announcement. */
static void
check_status_reply(const Udc__StatusReply *sr)
{
	if (!sr->ready)
		return;
	if (sr->c_records > UDC_MAX_CHUNK_RECORDS * (uint64_t)sr->c_chunks ||
	    sr->c_records > CBS_MAX_RECORDS)
		return;
	FUZZ_CHECK(sr->c_chunks > 0 || sr->c_records == 0);
}

static void
check_text(const char *s)
{
	char buf[256];

	snprintf(buf, sizeof(buf), "%.200s", s ? s : "no reason given");
}

/* 1 if m or a message inside it carries fields protobuf-c did not know. */
static int
has_unknown(const ProtobufCMessage *m)
{
	const ProtobufCMessageDescriptor *d;

	if (m == NULL)
		return 0;
	if (m->n_unknown_fields > 0)
		return 1;
	d = m->descriptor;
	for (unsigned i = 0; i < d->n_fields; i++) {
		const ProtobufCFieldDescriptor *f = &d->fields[i];
		const char *base = (const char *)m + f->offset;

		if (f->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (f->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(const size_t *)(const void *)((const char *)m + f->quantifier_offset);
			ProtobufCMessage *const *v = *(ProtobufCMessage *const *const *)(const void *)base;
			for (size_t k = 0; k < n; k++)
				if (has_unknown(v[k]))
					return 1;
			continue;
		}
		if ((f->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(const uint32_t *)(const void *)((const char *)m + f->quantifier_offset) !=
		    f->id)
			continue;
		if (has_unknown(*(ProtobufCMessage *const *)(const void *)base))
			return 1;
	}
	return 0;
}

/* Whatever we accepted must encode, and decode again to the same kind.
 * Not asked of messages with unknown fields: protobuf-c keeps them and
 * packs them back as they came, and a field number 0 written as an
 * overlong varint (80 00) is accepted on the way in but its repacked form
 * (00) is refused; the daemons never re-send what they received. */
static void
roundtrip(const Udc__Envelope *env)
{
	Udc__Envelope *again = NULL;
	uint8_t *buf = NULL;
	size_t len = 0;
	char err[256];

	FUZZ_CHECK(udc_wire_encode(env, &buf, &len) == 0);
	if (has_unknown(&env->base)) {
		free(buf);
		return;
	}
	FUZZ_CHECK(udc_wire_decode(buf, len, &again, err, sizeof(err)) == 0);
	FUZZ_CHECK(again->body_case == env->body_case);
	FUZZ_CHECK(again->request_id == env->request_id);
	FUZZ_CHECK(memcmp(again->round_id.data, env->round_id.data, 16) == 0);
	udc_wire_free(again);
	free(buf);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Udc__Envelope *env = NULL;
	char err[256] = "";

	setup();
	if (udc_wire_decode(data, size, &env, err, sizeof(err)) != 0) {
		FUZZ_CHECK(err[0] != '\0');
		return 0;
	}
	FUZZ_CHECK(env->version == UDC_PROTO_VERSION && env->round_id.len == 16);
	roundtrip(env);
	(void)udc_wire_body_name(env->body_case);
	switch (env->body_case) {
	case UDC__ENVELOPE__BODY_PROPOSE: check_propose(env->propose); break;
	case UDC__ENVELOPE__BODY_G_CHUNK: check_chunk(env->g_chunk, spec->ncells[0], 1); break;
	case UDC__ENVELOPE__BODY_R_CHUNK: check_chunk(env->r_chunk, spec->ncells[1], 0); break;
	case UDC__ENVELOPE__BODY_C_CHUNK: check_chunk(env->c_chunk, spec->ncells[1], 1); break;
	case UDC__ENVELOPE__BODY_FINISH: check_finish(env->finish); break;
	case UDC__ENVELOPE__BODY_SEAL: check_seal(env->seal); break;
	case UDC__ENVELOPE__BODY_STATUS_REPLY: check_status_reply(env->status_reply); break;
	case UDC__ENVELOPE__BODY_ABORT: check_text(env->abort->reason); break;
	case UDC__ENVELOPE__BODY_ERROR: check_text(env->error->reason); break;
	case UDC__ENVELOPE__BODY_PROPOSE_REPLY:
		check_text(env->propose_reply->reason);
		check_text(env->propose_reply->cbs_name);
		break;
	default: break;
	}
	udc_wire_free(env);
	return 0;
}
