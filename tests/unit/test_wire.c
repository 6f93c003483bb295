/*
 * test_wire.c - decoding of peer messages (common/node/wire.c): what a peer
 * writes in a string field reaches logs, the audit log and JSON only as
 * printable ASCII, while the data fields (bytes) arrive untouched; the
 * envelope checks; the one chunk-sizing rule and the label format both
 * nodes use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "err.h"
#include "wire.h"

static uint8_t rid[16] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16};

static Udc__Envelope *
roundtrip(Udc__Envelope *env, int *rv, char *err, size_t errlen)
{
	uint8_t *buf = NULL;
	size_t len = 0;
	Udc__Envelope *out = NULL;

	assert_int_equal(udc_wire_encode(env, &buf, &len), 0);
	*rv = udc_wire_decode(buf, len, &out, err, errlen);
	free(buf);
	return out;
}

static void
envelope(Udc__Envelope *env)
{
	udc__envelope__init(env);
	env->version = UDC_PROTO_VERSION;
	env->request_id = 7;
	env->round_id.data = rid;
	env->round_id.len = 16;
}

/* A forged log line, a control character, invalid UTF-8 and valid UTF-8
 * all become '?' per byte; printable ASCII stays. */
static void
test_strings_cleaned(void **state)
{
	Udc__Envelope env, *out;
	Udc__Abort ab;
	Udc__Propose pr;
	char reason[] = "disk full\n2026-11-27T00:00:00Z cbsd info: approved\x01 \xff\xc3\xa9!";
	char name[] = "gemeente 's-Gravenhage\r";
	uint8_t hash[32];
	char err[256];
	int rv;
	(void)state;

	envelope(&env);
	udc__abort__init(&ab);
	ab.reason = reason;
	env.body_case = UDC__ENVELOPE__BODY_ABORT;
	env.abort = &ab;
	out = roundtrip(&env, &rv, err, sizeof(err));
	assert_int_equal(rv, 0);
	assert_string_equal(out->abort->reason,
	                    "disk full?2026-11-27T00:00:00Z cbsd info: approved? \?\?\?!");
	assert_int_equal(out->request_id, 7);
	udc_wire_free(out);

	/* a string inside another body; the bytes field beside it untouched */
	memset(hash, 0x0a, sizeof(hash));
	envelope(&env);
	udc__propose__init(&pr);
	pr.gemeente_name = name;
	pr.spec_hash.data = hash;
	pr.spec_hash.len = sizeof(hash);
	env.body_case = UDC__ENVELOPE__BODY_PROPOSE;
	env.propose = &pr;
	out = roundtrip(&env, &rv, err, sizeof(err));
	assert_int_equal(rv, 0);
	assert_string_equal(out->propose->gemeente_name, "gemeente 's-Gravenhage?");
	assert_int_equal(out->propose->spec_hash.len, 32);
	assert_memory_equal(out->propose->spec_hash.data, hash, 32);
	udc_wire_free(out);
}

/* The envelope checks: version, round id, body. */
static void
test_envelope_refused(void **state)
{
	Udc__Envelope env, *out;
	Udc__Abort ab;
	char err[256];
	int rv;
	(void)state;

	envelope(&env);
	udc__abort__init(&ab);
	env.body_case = UDC__ENVELOPE__BODY_ABORT;
	env.abort = &ab;
	env.version = UDC_PROTO_VERSION + 1; /* a newer peer */
	out = roundtrip(&env, &rv, err, sizeof(err));
	assert_null(out);
	assert_int_equal(rv, UDC_EPROTO);
	assert_non_null(strstr(err, "protocol version 3"));
	env.version = UDC_PROTO_VERSION - 1; /* an older one: version 1 balanced filters otherwise */
	out = roundtrip(&env, &rv, err, sizeof(err));
	assert_null(out);
	assert_int_equal(rv, UDC_EPROTO);
	assert_non_null(strstr(err, "protocol version 1"));
	env.version = UDC_PROTO_VERSION;
	env.round_id.len = 15;
	out = roundtrip(&env, &rv, err, sizeof(err));
	assert_null(out);
	assert_non_null(strstr(err, "round id of 15 bytes"));
	env.round_id.len = 16;
	env.body_case = UDC__ENVELOPE__BODY__NOT_SET;
	env.abort = NULL;
	out = roundtrip(&env, &rv, err, sizeof(err));
	assert_null(out);
	assert_non_null(strstr(err, "without a body"));
}

/* Labels: two bytes each, low byte first, read back by udc_wire_label
 * and checked against the label count by udc_wire_check_chunk. */
static void
test_labels(void **state)
{
	uint16_t lab[4] = { 0, 1, 0x1234, 0xffff };
	uint8_t buf[8], points[4 * 32] = { 0 };
	Udc__Chunk ch = UDC__CHUNK__INIT;
	char err[128];

	(void)state;
	udc_wire_labels_pack(lab, 4, buf);
	assert_memory_equal(buf, "\x00\x00\x01\x00\x34\x12\xff\xff", 8);
	ch.n = 4;
	ch.nkeys = 1;
	ch.points.data = points;
	ch.points.len = sizeof(points);
	ch.labels.data = buf;
	ch.labels.len = sizeof(buf);
	for (size_t i = 0; i < 4; i++)
		assert_int_equal(udc_wire_label(&ch, i), lab[i]);
	assert_int_equal(udc_wire_check_chunk(&ch, 1, 4, 0x10000, err, sizeof(err)), 0);
	assert_int_equal(udc_wire_check_chunk(&ch, 1, 4, 0xffff, err, sizeof(err)), UDC_EPROTO);
	assert_non_null(strstr(err, "label 65535 out of range"));
}

/* Chunks: the configured count unless the message cannot hold it (4 KiB
 * kept for the envelope), never above UDC_MAX_CHUNK_RECORDS, at least 1;
 * release pieces: the payload, at most the cap. */
static void
test_chunk_sizing(void **state)
{
	(void)state;
	assert_int_equal(udc_wire_payload_bytes(4096), 0);
	assert_int_equal(udc_wire_payload_bytes(64 * 1024), 60 * 1024);
	assert_int_equal(udc_wire_chunk_records(4096, 4u << 20, 66), 4096);
	assert_int_equal(udc_wire_chunk_records(65536, 64 * 1024, 66), (60 * 1024) / 66);
	assert_int_equal(udc_wire_chunk_records(65536, 4u << 20, 1), UDC_MAX_CHUNK_RECORDS);
	assert_int_equal(udc_wire_chunk_records(16, 5000, 8192), 1);
	assert_int_equal(udc_wire_chunk_records(16, 100, 32), 1);
	assert_int_equal(udc_wire_chunk_records(0, 4u << 20, 32), 1);
	assert_int_equal(udc_wire_chunk_bytes(4u << 20, 1u << 20), 1u << 20);
	assert_int_equal(udc_wire_chunk_bytes(64 * 1024, 1u << 20), 60 * 1024);
	assert_int_equal(udc_wire_chunk_bytes((1u << 20) + 4096, 1u << 20), 1u << 20);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_strings_cleaned),
	    cmocka_unit_test(test_envelope_refused),
	    cmocka_unit_test(test_labels),
	    cmocka_unit_test(test_chunk_sizing),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
