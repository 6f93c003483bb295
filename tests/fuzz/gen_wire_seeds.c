/*
 * gen_wire_seeds.c - writes the seed corpus of the wire fuzz target.
 *
 *   fuzz_wire_seeds OUTDIR
 *
 * One file per message the protocol exchanges, built with the protobuf-c API
 * the daemons use, in the shape of fuzz_wire_spec.h: valid requests and
 * replies of every type (chunks with real ristretto255 points), plus the
 * near misses the checks must refuse (wrong version, short round id, no
 * body, bad chunk lengths, a label out of range, an invalid point, a result
 * of the wrong shape, an input report with an unknown reason).  The output
 * is committed as tests/fuzz/corpus/wire/; rerun only when the protocol
 * changes.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "err.h"
#include "fuzz_wire_spec.h"
#include "input.h"
#include "result.h"
#include "spec.h"
#include "table.h"
#include "wire.h"

static const char *outdir;
static struct udc_spec *spec;
static uint8_t rid[16] = { 0x5e, 0xed, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14 };

static void
die(const char *what)
{
	fprintf(stderr, "fuzz_wire_seeds: %s\n", what);
	exit(1);
}

static void
put(const char *name, const uint8_t *buf, size_t len)
{
	char path[4096];
	FILE *fp;

	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	if ((fp = fopen(path, "wb")) == NULL || fwrite(buf, 1, len, fp) != len || fclose(fp) != 0)
		die(path);
}

static void
emit(const char *name, Udc__Envelope *env)
{
	uint8_t *buf;
	size_t len;

	if (udc_wire_encode(env, &buf, &len) != 0)
		die("encode");
	put(name, buf, len);
	free(buf);
}

static void
envelope(Udc__Envelope *env, uint64_t request_id)
{
	udc__envelope__init(env);
	env->version = UDC_PROTO_VERSION;
	env->round_id.data = rid;
	env->round_id.len = 16;
	env->request_id = request_id;
}

/* A chunk of n records with valid points and labels i % nlabels. */
static void
chunk(Udc__Chunk *ch, uint8_t **pts, uint8_t **labs, uint32_t index, uint32_t n, size_t nlabels,
    int last)
{
	udc__chunk__init(ch);
	*pts = malloc(n * spec->nkeys * 32 + 1);
	*labs = malloc(2 * n + 1);
	if (*pts == NULL || *labs == NULL)
		die("out of memory");
	for (size_t i = 0; i < n * spec->nkeys; i++)
		crypto_core_ristretto255_random(*pts + 32 * i);
	for (uint32_t i = 0; i < n; i++) {
		(*labs)[2 * i] = (uint8_t)(i % nlabels);
		(*labs)[2 * i + 1] = 0;
	}
	ch->index = index;
	ch->last = last;
	ch->n = n;
	ch->nkeys = (uint32_t)spec->nkeys;
	ch->points.data = *pts;
	ch->points.len = n * spec->nkeys * 32;
	ch->labels.data = *labs;
	ch->labels.len = 2 * n;
}

static void
chunks(void)
{
	struct {
		const char *name;
		Udc__Envelope__BodyCase body;
		uint32_t n;
		size_t nlabels;
		int last, mangle;
	} cases[] = {
		{ "g_chunk_3", UDC__ENVELOPE__BODY_G_CHUNK, 3, 6, 0, 0 },
		{ "g_chunk_last_1", UDC__ENVELOPE__BODY_G_CHUNK, 1, 6, 1, 0 },
		{ "g_chunk_empty_last", UDC__ENVELOPE__BODY_G_CHUNK, 0, 6, 1, 0 },
		{ "g_chunk_empty_not_last", UDC__ENVELOPE__BODY_G_CHUNK, 0, 6, 0, 0 },
		{ "g_chunk_label_range", UDC__ENVELOPE__BODY_G_CHUNK, 2, 6, 0, 1 },
		{ "g_chunk_bad_point", UDC__ENVELOPE__BODY_G_CHUNK, 2, 6, 0, 2 },
		{ "g_chunk_short_points", UDC__ENVELOPE__BODY_G_CHUNK, 2, 6, 0, 3 },
		{ "g_chunk_wrong_nkeys", UDC__ENVELOPE__BODY_G_CHUNK, 2, 6, 0, 4 },
		{ "g_chunk_huge_n", UDC__ENVELOPE__BODY_G_CHUNK, 2, 6, 0, 5 },
		{ "r_chunk_4", UDC__ENVELOPE__BODY_R_CHUNK, 4, 8, 1, 0 },
		{ "r_chunk_bad_point", UDC__ENVELOPE__BODY_R_CHUNK, 2, 8, 0, 2 },
		{ "c_chunk_8", UDC__ENVELOPE__BODY_C_CHUNK, 8, 8, 1, 0 },
		{ "c_chunk_label_range", UDC__ENVELOPE__BODY_C_CHUNK, 2, 8, 0, 1 },
	};

	for (size_t k = 0; k < sizeof(cases) / sizeof(cases[0]); k++) {
		Udc__Envelope env;
		Udc__Chunk ch;
		uint8_t *pts, *labs;

		envelope(&env, 10 + k);
		chunk(&ch, &pts, &labs, 0, cases[k].n, cases[k].nlabels, cases[k].last);
		switch (cases[k].mangle) {
		case 1: labs[2] = (uint8_t)cases[k].nlabels; break;
		case 2: memset(pts + 32, 0xff, 32); break;
		case 3: ch.points.len -= 32; break;
		case 4: ch.nkeys = 3; break;
		case 5: ch.n = UDC_MAX_CHUNK_RECORDS + 1; break;
		}
		env.body_case = cases[k].body;
		if (env.body_case == UDC__ENVELOPE__BODY_G_CHUNK)
			env.g_chunk = &ch;
		else if (env.body_case == UDC__ENVELOPE__BODY_R_CHUNK)
			env.r_chunk = &ch;
		else
			env.c_chunk = &ch;
		emit(cases[k].name, &env);
		free(pts);
		free(labs);
	}
}

static void
simple(void)
{
	Udc__Envelope env;
	Udc__Propose p = UDC__PROPOSE__INIT;
	Udc__ProposeReply pr = UDC__PROPOSE_REPLY__INIT;
	Udc__Ack a = UDC__ACK__INIT;
	Udc__Status st = UDC__STATUS__INIT;
	Udc__StatusReply sr = UDC__STATUS_REPLY__INIT;
	Udc__Fetch f = UDC__FETCH__INIT;
	Udc__Abort ab = UDC__ABORT__INIT;
	Udc__Error er = UDC__ERROR__INIT;
	uint8_t shortid[8] = { 0 };
	uint8_t *buf;
	size_t len;

	envelope(&env, 1);
	p.spec_hash.data = spec->hash;
	p.spec_hash.len = 32;
	p.gemeente_name = "gemeente-denhaag";
	p.g_records = 1000;
	p.chunk_records = 4096;
	env.body_case = UDC__ENVELOPE__BODY_PROPOSE;
	env.propose = &p;
	emit("propose", &env);
	p.spec_hash.len = 31;
	emit("propose_short_hash", &env);
	p.spec_hash.len = 32;
	p.g_records = 0;
	emit("propose_zero_records", &env);
	p.g_records = (100000000ULL + 1);
	emit("propose_too_many", &env);
	p.g_records = 1000;

	/* envelope-level near misses */
	env.version = UDC_PROTO_VERSION + 1;
	emit("bad_version", &env);
	env.version = UDC_PROTO_VERSION;
	env.round_id.data = shortid;
	env.round_id.len = sizeof(shortid);
	emit("short_round_id", &env);
	env.round_id.data = rid;
	env.round_id.len = 16;
	env.body_case = UDC__ENVELOPE__BODY__NOT_SET;
	emit("no_body", &env);
	env.body_case = UDC__ENVELOPE__BODY_PROPOSE;
	if (udc_wire_encode(&env, &buf, &len) != 0)
		die("encode");
	put("truncated", buf, len / 2);
	free(buf);
	put("empty", (const uint8_t *)"", 0);

	envelope(&env, 2);
	pr.accepted = 1;
	pr.cbs_name = "cbs-test";
	env.body_case = UDC__ENVELOPE__BODY_PROPOSE_REPLY;
	env.propose_reply = &pr;
	emit("propose_reply", &env);
	pr.accepted = 0;
	pr.reason = "spec is not approved at the CBS node";
	emit("propose_reply_refused", &env);

	envelope(&env, 3);
	a.index = 4;
	a.total = 5000;
	env.body_case = UDC__ENVELOPE__BODY_ACK;
	env.ack = &a;
	emit("ack", &env);

	envelope(&env, 4);
	st.step = 2;
	env.body_case = UDC__ENVELOPE__BODY_STATUS;
	env.status = &st;
	emit("status", &env);

	envelope(&env, 5);
	sr.ready = 1;
	sr.c_records = 8;
	sr.c_chunks = 1;
	sr.progress = 1000;
	env.body_case = UDC__ENVELOPE__BODY_STATUS_REPLY;
	env.status_reply = &sr;
	emit("status_reply", &env);
	sr.c_records = 200000;
	emit("status_reply_overflow", &env);

	envelope(&env, 6);
	f.index = 0;
	env.body_case = UDC__ENVELOPE__BODY_FETCH;
	env.fetch = &f;
	emit("fetch", &env);

	envelope(&env, 7);
	ab.reason = "operator aborted the round";
	env.body_case = UDC__ENVELOPE__BODY_ABORT;
	env.abort = &ab;
	emit("abort", &env);

	envelope(&env, 8);
	er.code = UDC__ERROR_CODE__ERR_STATE;
	er.reason = "g_chunk not allowed in state return";
	env.body_case = UDC__ENVELOPE__BODY_ERROR;
	env.error = &er;
	emit("error", &env);
}

static void
reports(void)
{
	Udc__Envelope env;
	Udc__Finish fin = UDC__FINISH__INIT;
	Udc__InputReport rep;
	struct udc_input_stats st;
	char *bogus[1] = { "no_such_reason" };

	memset(&st, 0, sizeof(st));
	st.rows = 1100;
	st.accepted = 1000;
	st.rejected[UDC_REJ_CSV] = 60;
	st.rejected[UDC_REJ_LABEL] = 40;
	st.key_missing[1] = 12;
	if (udc_report_to_proto(&st, spec, &rep) != 0)
		die("report");

	envelope(&env, 20);
	fin.gemeente_input = &rep;
	env.body_case = UDC__ENVELOPE__BODY_FINISH;
	env.finish = &fin;
	emit("finish", &env);
	fin.gemeente_input = NULL;
	emit("finish_no_report", &env);
	fin.gemeente_input = &rep;
	rep.n_key_missing = 3;
	emit("finish_report_too_many_keys", &env);
	rep.n_key_missing = spec->nkeys;
	{
		char **saved = rep.reject_reason;
		size_t n = rep.n_reject_reason;
		rep.reject_reason = bogus;
		rep.n_reject_reason = rep.n_reject_count = 1;
		emit("finish_report_unknown_reason", &env);
		rep.reject_reason = saved;
		rep.n_reject_reason = rep.n_reject_count = n;
	}

	{
		Udc__Seal sl = UDC__SEAL__INIT;
		Udc__Release rl = UDC__RELEASE__INIT;
		Udc__ReleaseChunk rc = UDC__RELEASE_CHUNK__INIT;
		Udc__Delivered dl = UDC__DELIVERED__INIT;
		uint8_t h[32], sig[64], data[100];

		memset(h, 0x5a, sizeof(h));
		memset(sig, 0xa5, sizeof(sig));
		memset(data, 'x', sizeof(data));
		rl.csv_bytes = 5000;
		rl.json_bytes = 3000;
		rl.csv_sha256.data = rl.json_sha256.data = h;
		rl.csv_sha256.len = rl.json_sha256.len = 32;
		rl.csv_sig.data = rl.json_sig.data = sig;
		rl.csv_sig.len = rl.json_sig.len = 64;
		rl.chunk_bytes = 4096;
		sl.transcript_hash.data = h;
		sl.transcript_hash.len = 32;
		sl.release = &rl;
		envelope(&env, 21);
		env.body_case = UDC__ENVELOPE__BODY_SEAL;
		env.seal = &sl;
		emit("seal_release", &env);
		rl.chunk_bytes = 64;
		emit("seal_release_tiny_chunks", &env);
		rl.chunk_bytes = 4096;
		rl.csv_bytes = ~0ull;
		emit("seal_release_huge", &env);
		rl.csv_bytes = 5000;
		rl.json_sig.len = 10;
		emit("seal_release_short_sig", &env);
		rc.index = 1;
		rc.data.data = data;
		rc.data.len = sizeof(data);
		envelope(&env, 22);
		env.body_case = UDC__ENVELOPE__BODY_RELEASE_CHUNK;
		env.release_chunk = &rc;
		emit("release_chunk", &env);
		dl.csv_sha256.data = dl.json_sha256.data = h;
		dl.csv_sha256.len = dl.json_sha256.len = 32;
		envelope(&env, 23);
		env.body_case = UDC__ENVELOPE__BODY_DELIVERED;
		env.delivered = &dl;
		emit("delivered", &env);
	}
	udc_report_proto_free(&rep);
}

int
main(int argc, char **argv)
{
	char err[256];

	if (argc != 2) {
		fprintf(stderr, "usage: fuzz_wire_seeds OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	if (sodium_init() < 0)
		die("sodium_init");
	if (udc_spec_parse(FUZZ_WIRE_SPEC, strlen(FUZZ_WIRE_SPEC), "fuzz-wire", &spec, err,
	    sizeof(err)) != 0)
		die(err);
	simple();
	chunks();
	reports();
	udc_spec_free(spec);
	return 0;
}
