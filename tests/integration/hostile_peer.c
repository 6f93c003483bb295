/*
 * hostile_peer.c - a misbehaving gemeente for cbsd.
 *
 * Dials the CBS node over mutual TLS with the gemeente's certificate (so
 * every message reaches cbs_handle) and sends crafted requests: undecodable
 * bytes, bad envelopes, an oversized message, requests for unknown rounds,
 * proposals with bad approvals, and out-of-state, out-of-order and
 * misshapen chunks in a round it proposed itself; then replays the id of a
 * round that already ran.  Each reply is checked: the right Error code,
 * echoing round id and request id.  Prints "ok: ..." / "FAILED: ..." per
 * check and "N passed, N failed"; exits 1 on any failure.
 *
 *   hostile_peer -c gemeente.conf -s spec.ini [-k signing.key]
 *                [-r ROUND_ID_HEX]... [--only replay]
 *
 * The TLS paths, peer URL, server name, max_message and the signing key
 * come from the gemeente config; -k, --ca, --cert, --key, --connect,
 * --server-name and --max-message override them.  -r names rounds that
 * already finished at the CBS node: a Propose reusing their id must be
 * refused ("already ran").  --only replay runs just that case.
 */
#include <getopt.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <nng/nng.h>
#include <nng/protocol/reqrep0/req.h>

#include "config.h"
#include "err.h"
#include "rounds.h"
#include "sign.h"
#include "spec.h"
#include "transport.h"
#include "wire.h"
#include "roundsig.h"

#define CALL_TIMEOUT_MS 15000
#define OVERSIZE_TIMEOUT_MS 4000
#define MAX_REPLAY 8

struct hp {
	nng_socket s;
	uint64_t reqid;
	int passed, failed;
	size_t max_message;
	struct udc_spec *spec;
	struct udc_sign_key *sk;
	struct udc_sign_pub gpub; /* the gemeente's public key (pinned at CBS) */
	struct udc_sign_pub cpub; /* the CBS node's public key, if known */
	int have_cpub;
	char gfpr[UDC_SIGN_FPR_SIZE];
	uint8_t last_proposal_hash[32]; /* of the last proposal sent */
	int64_t last_created;           /* its creation time */
	int64_t fixed_created;          /* nonzero: the creation time of the next proposal */
	size_t ngroups, ncats, nkeys;
	struct udc_config *cfg;   /* to dial again */
};

static void check(struct hp *h, int cond, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

static void
check(struct hp *h, int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s", cond ? "ok: " : "FAILED: ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	fflush(stdout);
	if (cond)
		h->passed++;
	else
		h->failed++;
}

static void
set_timeout(struct hp *h, int ms)
{
	nng_socket_set_ms(h->s, NNG_OPT_RECVTIMEO, ms);
	nng_socket_set_ms(h->s, NNG_OPT_SENDTIMEO, ms);
}

/* Sends raw bytes; on a reply, decodes it into *rep (NULL if the reply
 * itself is undecodable).  Returns 0 or the transport error. */
static int
call_raw(struct hp *h, const void *buf, size_t len, Udc__Envelope **rep)
{
	nng_msg *m = NULL;
	char why[256];
	int rv;

	*rep = NULL;
	if ((rv = udc_req_call(h->s, buf, len, &m)) != 0)
		return rv;
	if (udc_wire_decode(nng_msg_body(m), nng_msg_len(m), rep, why, sizeof(why)) != 0) {
		printf("   (reply undecodable: %s)\n", why);
		*rep = NULL;
	}
	nng_msg_free(m);
	return 0;
}

static int
call_env(struct hp *h, const Udc__Envelope *req, Udc__Envelope **rep)
{
	uint8_t *buf;
	size_t len;
	int rv;

	*rep = NULL;
	if ((rv = udc_wire_encode(req, &buf, &len)) != 0)
		return rv;
	rv = call_raw(h, buf, len, rep);
	free(buf);
	return rv;
}

static void
env_init(struct hp *h, Udc__Envelope *e, const uint8_t *rid)
{
	udc__envelope__init(e);
	e->version = UDC_PROTO_VERSION;
	e->round_id.data = (uint8_t *)rid;
	e->round_id.len = 16;
	e->request_id = ++h->reqid;
}

static const char *
code_name(uint32_t c)
{
	const ProtobufCEnumValue *v = protobuf_c_enum_descriptor_get_value(&udc__error_code__descriptor, (int)c);
	return v ? v->name : "?";
}

/* Checks that rep is an Error with `code`, echoing `req` (its round id and
 * request id; req NULL: the request was undecodable, nothing to echo), and
 * whose reason contains `want` (if not NULL). */
static void
expect_error(struct hp *h, const char *what, int rv, const Udc__Envelope *req, Udc__Envelope *rep,
    Udc__ErrorCode code, const char *want)
{
	if (rv != 0) {
		check(h, 0, "%s: no reply (%s)", what, udc_strerror(rv));
		return;
	}
	if (rep == NULL) {
		check(h, 0, "%s: undecodable reply", what);
		return;
	}
	if (rep->body_case != UDC__ENVELOPE__BODY_ERROR) {
		check(h, 0, "%s: answered with %s, want an Error %s", what, udc_wire_body_name(rep->body_case),
		    code_name(code));
		return;
	}
	check(h, rep->error->code == (uint32_t)code, "%s: Error %s (want %s): %s", what,
	    code_name(rep->error->code), code_name(code), rep->error->reason ? rep->error->reason : "");
	if (want)
		check(h, rep->error->reason && strstr(rep->error->reason, want) != NULL,
		    "%s: the reason says '%s'", what, want);
	if (req) {
		check(h, rep->request_id == req->request_id, "%s: reply echoes request id %llu (got %llu)",
		    what, (unsigned long long)req->request_id, (unsigned long long)rep->request_id);
		if (req->round_id.len == 16)
			check(h, memcmp(rep->round_id.data, req->round_id.data, 16) == 0,
			    "%s: reply echoes the round id", what);
	}
}

/* One request built by the caller, answered with an Error. */
static void
req_error(struct hp *h, const char *what, const Udc__Envelope *req, Udc__ErrorCode code, const char *want)
{
	Udc__Envelope *rep = NULL;
	int rv = call_env(h, req, &rep);
	expect_error(h, what, rv, req, rep, code, want);
	udc_wire_free(rep);
}

/* The daemon still answers: a Status for an unknown round. */
static void
probe(struct hp *h, const char *after)
{
	Udc__Envelope req, *rep = NULL;
	Udc__Status st = UDC__STATUS__INIT;
	uint8_t rid[16];
	char what[160];
	int rv;

	randombytes_buf(rid, sizeof(rid));
	env_init(h, &req, rid);
	req.body_case = UDC__ENVELOPE__BODY_STATUS;
	req.status = &st;
	rv = call_env(h, &req, &rep);
	snprintf(what, sizeof(what), "cbsd still serving after %s", after);
	check(h, rv == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_ERROR &&
	    rep->error->code == UDC__ERROR_CODE__ERR_UNKNOWN_ROUND && rep->request_id == req.request_id,
	    "%s (%s)", what, rv ? udc_strerror(rv) : rep ? udc_wire_body_name(rep->body_case) : "bad reply");
	udc_wire_free(rep);
}

static void
random_points(uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		crypto_core_ristretto255_random(p + 32 * i);
}

/* A chunk of n records with valid points and labels lab (all the same). */
struct chunkbuf {
	Udc__Chunk ch;
	uint8_t *pts, *labs;
};

static int
chunk_make(struct chunkbuf *cb, uint32_t index, int last, uint32_t n, size_t nkeys, uint16_t lab)
{
	udc__chunk__init(&cb->ch);
	cb->pts = malloc((size_t)n * nkeys * 32 + 1);
	cb->labs = malloc((size_t)n * 2 + 1);
	if (!cb->pts || !cb->labs) {
		free(cb->pts);
		free(cb->labs);
		return -1;
	}
	random_points(cb->pts, (size_t)n * nkeys);
	for (uint32_t i = 0; i < n; i++) {
		cb->labs[2 * i] = (uint8_t)(lab & 0xff);
		cb->labs[2 * i + 1] = (uint8_t)(lab >> 8);
	}
	cb->ch.index = index;
	cb->ch.last = last;
	cb->ch.n = n;
	cb->ch.nkeys = (uint32_t)nkeys;
	cb->ch.points.data = cb->pts;
	cb->ch.points.len = (size_t)n * nkeys * 32;
	cb->ch.labels.data = cb->labs;
	cb->ch.labels.len = (size_t)n * 2;
	return 0;
}

static void
chunk_free(struct chunkbuf *cb)
{
	free(cb->pts);
	free(cb->labs);
}

/* Sends a chunk (g_chunk or r_chunk) and expects an Error. */
static void
chunk_error(struct hp *h, const char *what, const uint8_t *rid, int rchunk, Udc__Chunk *ch,
    Udc__ErrorCode code, const char *want)
{
	Udc__Envelope req;

	env_init(h, &req, rid);
	if (rchunk) {
		req.body_case = UDC__ENVELOPE__BODY_R_CHUNK;
		req.r_chunk = ch;
	} else {
		req.body_case = UDC__ENVELOPE__BODY_G_CHUNK;
		req.g_chunk = ch;
	}
	req_error(h, what, &req, code, want);
}

/* Sends a chunk and expects Ack{index, total}. */
static void
chunk_ack(struct hp *h, const char *what, const uint8_t *rid, int rchunk, Udc__Chunk *ch, uint64_t total)
{
	Udc__Envelope req, *rep = NULL;
	int rv;

	env_init(h, &req, rid);
	if (rchunk) {
		req.body_case = UDC__ENVELOPE__BODY_R_CHUNK;
		req.r_chunk = ch;
	} else {
		req.body_case = UDC__ENVELOPE__BODY_G_CHUNK;
		req.g_chunk = ch;
	}
	rv = call_env(h, &req, &rep);
	if (rv == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_ERROR)
		printf("   (Error %s: %s)\n", code_name(rep->error->code), rep->error->reason);
	check(h, rv == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_ACK && rep->ack->index == ch->index &&
	    rep->ack->total == total && rep->request_id == req.request_id,
	    "%s: Ack{%u, total %llu} (got %s)", what, ch->index, (unsigned long long)total,
	    rv ? udc_strerror(rv) : rep ? udc_wire_body_name(rep->body_case) : "bad reply");
	udc_wire_free(rep);
}

/* A Propose with the real spec hash and a signature given by the caller
 * (NULL: signed with the gemeente's key). */
/* A proposal as the gemeente makes it (party_gemeente/propose.c): signed by
 * `signer` over roundsig.h's layout, for the CBS key h->cpub (or cbs_key),
 * made `age` seconds ago.  sig/siglen: the spec approval (NULL: made with
 * the gemeente key). */
static int reply_verifies(struct hp *h, const Udc__ProposeReply *pr);

/* A Finish with the gemeente's commitment to its input (release.c at the
 * gemeente), signed by `signer`. */
static void
commit_finish(struct hp *h, const uint8_t *rid, uint64_t records, const struct udc_sign_key *signer,
    Udc__Finish *fin, Udc__InputReport *rep, uint8_t digest[32], uint8_t sig[64])
{
	uint8_t sd[UDC_COMMIT_SIGDATA_BYTES], rh[32], packed[256];
	size_t plen;

	udc__finish__init(fin);
	udc__input_report__init(rep);
	rep->rows = records;
	rep->accepted = records;
	plen = udc__input_report__pack(rep, packed);
	crypto_hash_sha256(rh, packed, plen);
	memset(digest, 0x5a, 32);
	udc_commit_sigdata(rid, h->spec->hash, digest, records, rh, sd);
	udc_sign(signer, UDC_SIGN_COMMIT, sd, sizeof(sd), sig);
	fin->gemeente_input = rep;
	fin->input_digest.data = digest;
	fin->input_digest.len = 32;
	fin->g_records = records;
	fin->commit_sig.data = sig;
	fin->commit_sig.len = 64;
}

/* The proposal propose_ex sends, built into req and p (pointing to static
 * buffers: valid until the next call). */
static int
propose_build(struct hp *h, const uint8_t *rid, const uint8_t *hash, size_t hashlen,
    const uint8_t *sig, size_t siglen, uint64_t g_records, const struct udc_sign_key *signer,
    long age, const uint8_t *cbs_key, Udc__Envelope *req, Udc__Propose *p)
{
	static uint8_t mysig[UDC_SIGN_BYTES], psig[UDC_SIGN_BYTES], ckey[32];
	struct udc_proposal prop;
	uint8_t sd[UDC_PROPOSAL_SIGDATA_BYTES];

	udc__propose__init(p);
	if (sig == NULL) {
		if (udc_sign(h->sk, UDC_SIGN_APPROVAL, hash, hashlen, mysig) != 0)
			return UDC_ECRYPTO;
		sig = mysig;
		siglen = sizeof(mysig);
	}
	memcpy(ckey, cbs_key ? cbs_key : h->cpub.pk, 32);
	memset(&prop, 0, sizeof(prop));
	memcpy(prop.round_id, rid, 16);
	if (hashlen == 32)
		memcpy(prop.spec_hash, hash, 32);
	memcpy(prop.cbs_key, ckey, 32);
	memcpy(prop.gemeente_key, h->gpub.pk, 32);
	prop.created = h->fixed_created ? h->fixed_created : (int64_t)time(NULL) - age;
	h->last_created = prop.created;
	prop.max_records = g_records;
	prop.chunk_records = 1024;
	udc_proposal_sigdata(&prop, sd);
	if (udc_sign(signer, UDC_SIGN_PROPOSAL, sd, sizeof(sd), psig) != 0)
		return UDC_ECRYPTO;
	crypto_hash_sha256(h->last_proposal_hash, sd, sizeof(sd));
	p->spec_hash.data = (uint8_t *)hash;
	p->spec_hash.len = hashlen;
	p->gemeente_name = "hostile-peer";
	p->g_records = g_records;
	p->chunk_records = 1024;
	p->approval_sig.data = (uint8_t *)sig;
	p->approval_sig.len = siglen;
	p->cbs_key.data = ckey;
	p->cbs_key.len = 32;
	p->created = prop.created;
	p->proposal_sig.data = psig;
	p->proposal_sig.len = sizeof(psig);
	env_init(h, req, rid);
	req->body_case = UDC__ENVELOPE__BODY_PROPOSE;
	req->propose = p;
	return 0;
}

static int
propose_ex(struct hp *h, const uint8_t *rid, const uint8_t *hash, size_t hashlen, const uint8_t *sig,
    size_t siglen, uint64_t g_records, const struct udc_sign_key *signer, long age,
    const uint8_t *cbs_key, Udc__Envelope *req, Udc__Propose *p, Udc__Envelope **rep)
{
	int rv;

	*rep = NULL;
	if ((rv = propose_build(h, rid, hash, hashlen, sig, siglen, g_records, signer, age, cbs_key,
	    req, p)) != 0)
		return rv;
	return call_env(h, req, rep);
}

static int
propose(struct hp *h, const uint8_t *rid, const uint8_t *hash, size_t hashlen, const uint8_t *sig,
    size_t siglen, uint64_t g_records, Udc__Envelope *req, Udc__Propose *p, Udc__Envelope **rep)
{
	return propose_ex(h, rid, hash, hashlen, sig, siglen, g_records, h->sk, 0, NULL, req, p, rep);
}

/* ---- the cases ---------------------------------------------------------- */

static void
case_decode(struct hp *h)
{
	static const uint8_t junk[] = "\xff\xff\xff\xff this is not protobuf \x07\x07";
	Udc__Envelope req, *rep = NULL;
	Udc__Status st = UDC__STATUS__INIT;
	Udc__Propose p = UDC__PROPOSE__INIT;
	uint8_t rid[16], hash[32], sig[64], *buf;
	size_t len;
	int rv;

	randombytes_buf(rid, sizeof(rid));
	rv = call_raw(h, junk, sizeof(junk) - 1, &rep);
	expect_error(h, "bytes that are not protobuf", rv, NULL, rep, UDC__ERROR_CODE__ERR_MALFORMED,
	    "undecodable");
	check(h, rv == 0 && rep && rep->request_id == 0,
	    "bytes that are not protobuf: reply carries request id 0 (nothing to echo)");
	udc_wire_free(rep);

	/* A valid Propose envelope cut short inside its body. */
	randombytes_buf(hash, sizeof(hash));
	randombytes_buf(sig, sizeof(sig));
	p.spec_hash.data = hash;
	p.spec_hash.len = 32;
	p.approval_sig.data = sig;
	p.approval_sig.len = 64;
	p.g_records = 10;
	env_init(h, &req, rid);
	req.body_case = UDC__ENVELOPE__BODY_PROPOSE;
	req.propose = &p;
	if (udc_wire_encode(&req, &buf, &len) == 0) {
		rv = call_raw(h, buf, len - 20, &rep);
		expect_error(h, "truncated envelope", rv, NULL, rep, UDC__ERROR_CODE__ERR_MALFORMED,
		    "undecodable");
		udc_wire_free(rep);
		free(buf);
	}

	env_init(h, &req, rid);
	req.version = 1; /* the version before UDC_PROTO_VERSION 2 */
	req.body_case = UDC__ENVELOPE__BODY_STATUS;
	req.status = &st;
	req_error(h, "envelope with version 1", &req, UDC__ERROR_CODE__ERR_VERSION, "version 1");

	env_init(h, &req, rid);
	req.round_id.len = 15;
	req.body_case = UDC__ENVELOPE__BODY_STATUS;
	req.status = &st;
	rv = call_env(h, &req, &rep);
	expect_error(h, "round id of 15 bytes", rv, &req, rep, UDC__ERROR_CODE__ERR_MALFORMED, "15 bytes");
	udc_wire_free(rep);

	env_init(h, &req, rid);
	req_error(h, "envelope with no body", &req, UDC__ERROR_CODE__ERR_MALFORMED, "without a body");
	probe(h, "malformed envelopes");
}

static void
case_oversize(struct hp *h)
{
	Udc__Envelope req, *rep = NULL;
	struct chunkbuf cb;
	uint8_t rid[16];
	uint32_t n = (uint32_t)((h->max_message + 64 * 1024) / (32 * h->nkeys + 2)) + 1;
	struct timespec t0, t1;
	int rv;

	if (n > UDC_MAX_CHUNK_RECORDS)
		n = UDC_MAX_CHUNK_RECORDS; /* the limit on records; bytes still exceed max_message */
	randombytes_buf(rid, sizeof(rid));
	if (chunk_make(&cb, 0, 1, n, h->nkeys, 0) != 0) {
		check(h, 0, "oversized message: out of memory");
		return;
	}
	/* Points beyond max_message even if n was capped. */
	free(cb.pts);
	cb.ch.points.len = h->max_message + 64 * 1024;
	cb.pts = calloc(1, cb.ch.points.len);
	cb.ch.points.data = cb.pts;
	env_init(h, &req, rid);
	req.body_case = UDC__ENVELOPE__BODY_G_CHUNK;
	req.g_chunk = &cb.ch;
	printf("   (sending %zu bytes of points, max_message %zu)\n", cb.ch.points.len, h->max_message);
	set_timeout(h, OVERSIZE_TIMEOUT_MS);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	rv = call_env(h, &req, &rep);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	set_timeout(h, CALL_TIMEOUT_MS);
	check(h, rv != 0 && rep == NULL,
	    "message larger than max_message is dropped by NNG: %s after %.1f s%s", rv ? udc_strerror(rv) : "a reply",
	    (double)(t1.tv_sec - t0.tv_sec) + (t1.tv_nsec - t0.tv_nsec) / 1e9,
	    rep ? (rep->body_case == UDC__ENVELOPE__BODY_ERROR ? " (the daemon processed it!)" : "") : "");
	udc_wire_free(rep);
	chunk_free(&cb);
	/* NNG dropped the connection; a new one must be served.  Dial afresh on
	 * a new socket: the old one's pipe may stay wedged on the 4 MiB send the
	 * server refused (nng_close on it can block), so it is left alone and
	 * the program ends with _exit. */
	{
		char err[256];
		if (udc_peer_open(&h->s, h->cfg, err, sizeof(err)) != 0) {
			check(h, 0, "dial again after the oversized message: %s", err);
			return;
		}
	}
	probe(h, "an oversized message");
}

static void
case_unknown_round(struct hp *h)
{
	Udc__Envelope req;
	Udc__Chunk ch = UDC__CHUNK__INIT;
	Udc__Fetch f = UDC__FETCH__INIT;
	Udc__Finish fin = UDC__FINISH__INIT;
	Udc__Seal sl = UDC__SEAL__INIT;
	Udc__Status st = UDC__STATUS__INIT;
	Udc__Abort ab = UDC__ABORT__INIT;
	uint8_t rid[16], pts[32];
	char hex[33], what[96];
	uint8_t lab[2] = { 0, 0 };

	randombytes_buf(rid, sizeof(rid));
	udc_round_id_hex(rid, hex);
	random_points(pts, 1);
	ch.n = 1;
	ch.nkeys = (uint32_t)h->nkeys;
	ch.points.data = pts;
	ch.points.len = 32;
	ch.labels.data = lab;
	ch.labels.len = 2;
	ch.last = 1;
	ab.reason = "hostile";
	for (int k = 0; k < 7; k++) {
		env_init(h, &req, rid);
		switch (k) {
		case 0: req.body_case = UDC__ENVELOPE__BODY_G_CHUNK; req.g_chunk = &ch; break;
		case 1: req.body_case = UDC__ENVELOPE__BODY_FETCH; req.fetch = &f; break;
		case 2: req.body_case = UDC__ENVELOPE__BODY_R_CHUNK; req.r_chunk = &ch; break;
		case 3: req.body_case = UDC__ENVELOPE__BODY_FINISH; req.finish = &fin; break;
		case 4: req.body_case = UDC__ENVELOPE__BODY_SEAL; req.seal = &sl; break;
		case 5: req.body_case = UDC__ENVELOPE__BODY_STATUS; req.status = &st; break;
		case 6: req.body_case = UDC__ENVELOPE__BODY_ABORT; req.abort = &ab; break;
		}
		snprintf(what, sizeof(what), "%s for a round CBS never saw", udc_wire_body_name(req.body_case));
		req_error(h, what, &req, UDC__ERROR_CODE__ERR_UNKNOWN_ROUND, hex);
	}
}

/* Proposals that must be refused.  Signed by the gemeente (a signed
 * refusal): an approval signed by another key, no approval, a spec CBS did
 * not approve.  Not attributable to it (an Error, no state): a short spec
 * hash, a proposal signed by another key, a replayed old one, one for
 * another CBS node, one altered after signing. */
static void
case_bad_propose(struct hp *h)
{
	Udc__Envelope req, *rep = NULL;
	Udc__Propose p;
	uint8_t rid[16], opk[crypto_sign_PUBLICKEYBYTES], osk[crypto_sign_SECRETKEYBYTES];
	uint8_t msg[64], sig[64], hash[32];
	const char *tag = udc_sign_domain_tag(UDC_SIGN_APPROVAL);
	size_t tl = strlen(tag);
	char want[80];
	int rv;

	/* Another Ed25519 key signs the approval, exactly as udc_sign would. */
	crypto_sign_keypair(opk, osk);
	memcpy(msg, tag, tl);
	msg[tl] = 0;
	memcpy(msg + tl + 1, h->spec->hash, 32);
	crypto_sign_detached(sig, NULL, msg, tl + 1 + 32, osk);
	sodium_memzero(osk, sizeof(osk));

	snprintf(want, sizeof(want), "pinned key %s", h->gfpr);
	randombytes_buf(rid, sizeof(rid));
	rv = propose(h, rid, h->spec->hash, 32, sig, sizeof(sig), 10, &req, &p, &rep);
	if (rv != 0 || rep == NULL || rep->body_case != UDC__ENVELOPE__BODY_PROPOSE_REPLY) {
		check(h, 0, "approval signed by another key: want a ProposeReply, got %s",
		    rv ? udc_strerror(rv) : rep ? udc_wire_body_name(rep->body_case) : "bad reply");
	} else {
		check(h, !rep->propose_reply->accepted, "approval signed by another key is refused");
		check(h, rep->propose_reply->reason && strstr(rep->propose_reply->reason, want),
		    "approval signed by another key: the reason names the pinned key %s: %s", h->gfpr,
		    rep->propose_reply->reason ? rep->propose_reply->reason : "(none)");
		check(h, rep->request_id == req.request_id && memcmp(rep->round_id.data, rid, 16) == 0,
		    "approval signed by another key: reply echoes round and request id");
		check(h, reply_verifies(h, rep->propose_reply),
		    "approval signed by another key: the refusal is signed by the CBS key");
	}
	udc_wire_free(rep);
	{
		/* The refusal made no session. */
		Udc__Envelope q;
		Udc__Status st = UDC__STATUS__INIT;
		env_init(h, &q, rid);
		q.body_case = UDC__ENVELOPE__BODY_STATUS;
		q.status = &st;
		req_error(h, "status for the refused round", &q, UDC__ERROR_CODE__ERR_UNKNOWN_ROUND, NULL);
	}

	randombytes_buf(rid, sizeof(rid));
	rv = propose(h, rid, h->spec->hash, 32, sig, 0, 10, &req, &p, &rep);
	check(h, rv == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_PROPOSE_REPLY &&
	    !rep->propose_reply->accepted && rep->propose_reply->reason &&
	    strstr(rep->propose_reply->reason, want),
	    "propose without an approval signature is refused: %s",
	    rv == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_PROPOSE_REPLY && rep->propose_reply->reason
	        ? rep->propose_reply->reason : "(no ProposeReply with a reason)");
	udc_wire_free(rep);

	/* A proper signature, but over a spec CBS never approved. */
	randombytes_buf(rid, sizeof(rid));
	randombytes_buf(hash, sizeof(hash));
	rv = propose(h, rid, hash, 32, NULL, 0, 10, &req, &p, &rep);
	check(h, rv == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_PROPOSE_REPLY &&
	    !rep->propose_reply->accepted && rep->propose_reply->reason &&
	    strstr(rep->propose_reply->reason, "not approved"),
	    "propose of a spec CBS never approved is refused: %s",
	    rv == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_PROPOSE_REPLY && rep->propose_reply->reason
	        ? rep->propose_reply->reason : "(no ProposeReply with a reason)");
	udc_wire_free(rep);

	randombytes_buf(rid, sizeof(rid));
	rv = propose(h, rid, hash, 7, NULL, 0, 10, &req, &p, &rep);
	expect_error(h, "propose with a spec hash of 7 bytes", rv, &req, rep, UDC__ERROR_CODE__ERR_MALFORMED,
	    "7 bytes");
	udc_wire_free(rep);

	/* Proposals CBS cannot attribute to its gemeente: an Error, no session,
	 * no round in the register (what a client with some certificate of
	 * the CA could send). */
	{
		struct udc_sign_key *other = NULL;
		char kp[64], kq[64], err[256];
		Udc__Envelope q;
		Udc__Status st = UDC__STATUS__INIT;
		snprintf(kp, sizeof(kp), "/tmp/hostile-key-%ld.sign", (long)getpid());
		snprintf(kq, sizeof(kq), "/tmp/hostile-key-%ld.pub", (long)getpid());
		if (udc_sign_keygen(kp, kq, err, sizeof(err)) != 0 ||
		    udc_sign_key_load(kp, &other, err, sizeof(err)) != 0) {
			check(h, 0, "another signing key: %s", err);
		} else {
			randombytes_buf(rid, sizeof(rid));
			rv = propose_ex(h, rid, h->spec->hash, 32, NULL, 0, 10, other, 0, NULL, &req, &p,
			    &rep);
			expect_error(h, "a proposal signed by another key", rv, &req, rep,
			    UDC__ERROR_CODE__ERR_REFUSED, want);
			udc_wire_free(rep);
			env_init(h, &q, rid);
			q.body_case = UDC__ENVELOPE__BODY_STATUS;
			q.status = &st;
			req_error(h, "status for the round of the stranger's proposal", &q,
			    UDC__ERROR_CODE__ERR_UNKNOWN_ROUND, NULL);
		}
		udc_sign_key_free(other);
		unlink(kp);
		unlink(kq);
	}
	randombytes_buf(rid, sizeof(rid));
	rv = propose_ex(h, rid, h->spec->hash, 32, NULL, 0, 10, h->sk, 7200, NULL, &req, &p, &rep);
	expect_error(h, "a genuine proposal made two hours ago (a replay)", rv, &req, rep,
	    UDC__ERROR_CODE__ERR_REFUSED, "outside the");
	udc_wire_free(rep);
	{
		uint8_t someone[32];
		randombytes_buf(someone, sizeof(someone));
		randombytes_buf(rid, sizeof(rid));
		rv = propose_ex(h, rid, h->spec->hash, 32, NULL, 0, 10, h->sk, 0, someone, &req, &p, &rep);
		expect_error(h, "a proposal meant for another CBS node", rv, &req, rep,
		    UDC__ERROR_CODE__ERR_REFUSED, "another CBS node");
		udc_wire_free(rep);
	}
	randombytes_buf(rid, sizeof(rid));
	rv = propose(h, rid, h->spec->hash, 32, NULL, 0, 10, &req, &p, &rep);
	if (rv == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_PROPOSE_REPLY) {
		/* ... and one that is fine, but tampered with on the way: the
		 * same bytes with another round-secret key. */
		uint8_t kx[32];
		randombytes_buf(kx, sizeof(kx));
		p.kx_public.data = kx;
		p.kx_public.len = 32;
		randombytes_buf(rid, sizeof(rid));
		udc_wire_free(rep);
		env_init(h, &req, rid);
		req.body_case = UDC__ENVELOPE__BODY_PROPOSE;
		req.propose = &p;
		rv = call_env(h, &req, &rep);
		expect_error(h, "a signed proposal with a field changed after signing", rv, &req, rep,
		    UDC__ERROR_CODE__ERR_REFUSED, "not signed by the gemeente's pinned key");
	} else {
		check(h, 0, "a valid proposal to tamper with: %s",
		    rep && rep->body_case == UDC__ENVELOPE__BODY_ERROR ? rep->error->reason : "no reply");
	}
	udc_wire_free(rep);
}

/* The CBS node's signature over its answer to our last proposal. */
static int
reply_verifies(struct hp *h, const Udc__ProposeReply *pr)
{
	uint8_t rd[UDC_REPLY_SIGDATA_BYTES];

	if (!h->have_cpub || pr->reply_sig.len != UDC_SIGN_BYTES ||
	    (pr->kx_public.len != 0 && pr->kx_public.len != 32))
		return 0;
	udc_propose_reply_sigdata(h->last_proposal_hash, h->cpub.pk,
	    pr->kx_public.len ? pr->kx_public.data : NULL, pr->accepted, pr->awaiting_consent, rd);
	return udc_sign_verify(&h->cpub, UDC_SIGN_PROPOSE_REPLY, rd, sizeof(rd), pr->reply_sig.data) == 0;
}

/* A valid proposal: accepted, CBS's approval verifies. */
static int
good_propose(struct hp *h, const char *what, const uint8_t *rid, uint64_t g_records)
{
	Udc__Envelope req, *rep = NULL;
	Udc__Propose p;
	int rv, ok;

	rv = propose(h, rid, h->spec->hash, 32, NULL, 0, g_records, &req, &p, &rep);
	ok = rv == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_PROPOSE_REPLY &&
	    rep->propose_reply->accepted && rep->request_id == req.request_id;
	check(h, ok, "%s: accepted (%s%s%s)", what,
	    rv ? udc_strerror(rv) : rep ? udc_wire_body_name(rep->body_case) : "bad reply",
	    ok || !rep ? "" : ": ",
	    ok || !rep ? "" : rep->body_case == UDC__ENVELOPE__BODY_ERROR ? rep->error->reason :
	    rep->body_case == UDC__ENVELOPE__BODY_PROPOSE_REPLY && rep->propose_reply->reason ?
	    rep->propose_reply->reason : "");
	if (ok)
		check(h, reply_verifies(h, rep->propose_reply),
		    "%s: the answer is signed by the CBS key over this proposal", what);
	if (ok && h->have_cpub)
		check(h, rep->propose_reply->approval_sig.len == UDC_SIGN_BYTES &&
		    udc_sign_verify(&h->cpub, UDC_SIGN_APPROVAL, h->spec->hash, 32,
		    rep->propose_reply->approval_sig.data) == 0,
		    "%s: the CBS node's approval verifies against its key", what);
	udc_wire_free(rep);
	return ok;
}

/* Out-of-state and misshapen messages in the upload state; ends with an
 * invalid group element, which fails the round. */
static void
case_session(struct hp *h)
{
	Udc__Envelope req;
	Udc__Fetch f = UDC__FETCH__INIT;
	Udc__Finish fin = UDC__FINISH__INIT;
	Udc__Seal sl = UDC__SEAL__INIT;
	Udc__Status st = UDC__STATUS__INIT;
	Udc__Ack ack = UDC__ACK__INIT;
	Udc__Abort ab = UDC__ABORT__INIT;
	struct chunkbuf cb;
	uint8_t rid[16];
	int64_t created_a;

	randombytes_buf(rid, sizeof(rid));
	if (!good_propose(h, "valid propose (round A)", rid, 6))
		return;
	created_a = h->last_created;
	h->fixed_created = created_a;
	good_propose(h, "the same propose resent (round A)", rid, 6);
	h->fixed_created = 0;

	if (chunk_make(&cb, 0, 1, 4, h->nkeys, 0) == 0) {
		chunk_error(h, "r_chunk before the upload", rid, 1, &cb.ch, UDC__ERROR_CODE__ERR_STATE,
		    "not allowed in state upload");
		chunk_free(&cb);
	}
	env_init(h, &req, rid);
	req.body_case = UDC__ENVELOPE__BODY_FETCH;
	req.fetch = &f;
	{
		/* Both nodes compute at once: the CBS list may be fetched as soon as
		 * it is ready, before the gemeente uploaded anything. */
		Udc__Envelope *rep = NULL;
		Udc__Status st2 = UDC__STATUS__INIT;
		int ready = 0;
		for (int i = 0; i < 600 && !ready; i++) {
			env_init(h, &req, rid);
			req.body_case = UDC__ENVELOPE__BODY_STATUS;
			req.status = &st2;
			if (call_env(h, &req, &rep) == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_STATUS_REPLY)
				ready = rep->status_reply->ready;
			udc_wire_free(rep);
			rep = NULL;
			if (!ready)
				usleep(50 * 1000);
		}
		env_init(h, &req, rid);
		req.body_case = UDC__ENVELOPE__BODY_FETCH;
		req.fetch = &f;
		check(h, ready && call_env(h, &req, &rep) == 0 && rep &&
		    rep->body_case == UDC__ENVELOPE__BODY_C_CHUNK && rep->c_chunk->index == 0,
		    "the CBS list is fetched before the upload (%s)",
		    rep ? udc_wire_body_name(rep->body_case) : "no reply");
		udc_wire_free(rep);
	}
	env_init(h, &req, rid);
	req.body_case = UDC__ENVELOPE__BODY_FINISH;
	req.finish = &fin;
	req_error(h, "finish before anything", &req, UDC__ERROR_CODE__ERR_STATE, "finish not allowed");
	env_init(h, &req, rid);
	req.body_case = UDC__ENVELOPE__BODY_SEAL;
	req.seal = &sl;
	req_error(h, "seal before the result", &req, UDC__ERROR_CODE__ERR_STATE, "seal not allowed");

	/* Chunks may come in any order (several are in flight at once). */
	if (chunk_make(&cb, 1, 0, 2, h->nkeys, 0) == 0) {
		chunk_ack(h, "g_chunk 1 before chunk 0 is taken", rid, 0, &cb.ch, 2);
		chunk_free(&cb);
	}
	if (chunk_make(&cb, 0, 0, 2, h->nkeys, 0) == 0) {
		cb.ch.points.len -= 1;
		chunk_error(h, "g_chunk whose points are not n*nkeys*32 bytes", rid, 0, &cb.ch,
		    UDC__ERROR_CODE__ERR_MALFORMED, "bytes of points");
		cb.ch.points.len += 1;
		cb.ch.nkeys = (uint32_t)h->nkeys + 1;
		chunk_error(h, "g_chunk with the wrong number of keys", rid, 0, &cb.ch,
		    UDC__ERROR_CODE__ERR_MALFORMED, "keys");
		cb.ch.nkeys = (uint32_t)h->nkeys;
		cb.ch.labels.len = 3;
		chunk_error(h, "g_chunk whose labels are not n*2 bytes", rid, 0, &cb.ch,
		    UDC__ERROR_CODE__ERR_MALFORMED, "bytes of labels");
		cb.ch.labels.len = 4;
		chunk_free(&cb);
	}
	if (chunk_make(&cb, 0, 0, 2, h->nkeys, (uint16_t)h->ngroups) == 0) {
		chunk_error(h, "g_chunk with a group label out of range", rid, 0, &cb.ch,
		    UDC__ERROR_CODE__ERR_MALFORMED, "out of range");
		chunk_free(&cb);
	}
	if (chunk_make(&cb, 0, 0, 0, h->nkeys, 0) == 0) {
		chunk_error(h, "empty g_chunk that is not the last", rid, 0, &cb.ch,
		    UDC__ERROR_CODE__ERR_MALFORMED, "empty");
		chunk_free(&cb);
	}
	if (chunk_make(&cb, 0, 0, 2, h->nkeys, (uint16_t)(h->ngroups - 1)) == 0) {
		chunk_ack(h, "valid g_chunk 0 after all that", rid, 0, &cb.ch, 4);
		chunk_ack(h, "g_chunk 0 resent", rid, 0, &cb.ch, 4);
		chunk_free(&cb);
	}
	if (chunk_make(&cb, 2, 0, 3, h->nkeys, 0) == 0) {
		chunk_error(h, "g_chunk beyond the proposed record count", rid, 0, &cb.ch,
		    UDC__ERROR_CODE__ERR_LIMIT, "more records than");
		chunk_free(&cb);
	}
	if (chunk_make(&cb, 5, 1, 1, h->nkeys, 0) == 0) {
		chunk_ack(h, "g_chunk 5, the last", rid, 0, &cb.ch, 5);
		chunk_free(&cb);
	}
	if (chunk_make(&cb, 6, 0, 1, h->nkeys, 0) == 0) {
		chunk_error(h, "g_chunk 6 after the last chunk 5", rid, 0, &cb.ch,
		    UDC__ERROR_CODE__ERR_STATE, "out of order");
		chunk_free(&cb);
	}
	if (chunk_make(&cb, 0xfffffff0u, 0, 1, h->nkeys, 0) == 0) {
		chunk_error(h, "g_chunk with an index no round can have", rid, 0, &cb.ch,
		    UDC__ERROR_CODE__ERR_STATE, "more chunks than");
		chunk_free(&cb);
	}
	env_init(h, &req, rid);
	req.body_case = UDC__ENVELOPE__BODY_ACK;
	req.ack = &ack;
	req_error(h, "an Ack sent as a request", &req, UDC__ERROR_CODE__ERR_MALFORMED, "not a request");

	if (chunk_make(&cb, 2, 0, 1, h->nkeys, 0) == 0) {
		memset(cb.pts, 0xff, 32 * h->nkeys);
		chunk_error(h, "g_chunk with an invalid group element (32 x 0xff)", rid, 0, &cb.ch,
		    UDC__ERROR_CODE__ERR_CRYPTO, "invalid group element");
		random_points(cb.pts, h->nkeys);
		chunk_error(h, "valid g_chunk 1 after the round failed", rid, 0, &cb.ch,
		    UDC__ERROR_CODE__ERR_FAILED, "invalid group element");
		chunk_free(&cb);
	}
	env_init(h, &req, rid);
	req.body_case = UDC__ENVELOPE__BODY_STATUS;
	req.status = &st;
	req_error(h, "status after the round failed", &req, UDC__ERROR_CODE__ERR_FAILED, "invalid group element");
	env_init(h, &req, rid);
	req.body_case = UDC__ENVELOPE__BODY_FINISH;
	req.finish = &fin;
	req_error(h, "finish after the round failed", &req, UDC__ERROR_CODE__ERR_FAILED, "invalid group element");
	{
		Udc__Envelope *rep = NULL;
		Udc__Propose p;
		int rv;
		h->fixed_created = created_a; /* byte for byte the first proposal */
		rv = propose(h, rid, h->spec->hash, 32, NULL, 0, 6, &req, &p, &rep);
		h->fixed_created = 0;
		expect_error(h, "propose resent after the round failed", rv, &req, rep,
		    UDC__ERROR_CODE__ERR_FAILED, "invalid group element");
		udc_wire_free(rep);
		rv = propose(h, rid, h->spec->hash, 32, NULL, 0, 5, &req, &p, &rep);
		expect_error(h, "another proposal for the round that failed", rv, &req, rep,
		    UDC__ERROR_CODE__ERR_REFUSED, "already ran on this node (failed)");
		udc_wire_free(rep);
	}
	{
		Udc__Envelope *rep = NULL;
		int rv;
		ab.reason = "hostile peer gives up";
		env_init(h, &req, rid);
		req.body_case = UDC__ENVELOPE__BODY_ABORT;
		req.abort = &ab;
		rv = call_env(h, &req, &rep);
		check(h, rv == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_ACK,
		    "abort of the failed round is acknowledged");
		udc_wire_free(rep);
	}
}

/* "label: what", for the checks that take a plain text. */
static const char *
W(const char *label, const char *what)
{
	static char buf[256];
	snprintf(buf, sizeof(buf), "%s: %s", label, what);
	return buf;
}

/* A whole round driven by the hostile peer with made-up points up to the
 * Finish; with misbehave, misbehaviour in the return step on the way. */
static int
drive_to_finish(struct hp *h, uint8_t rid[16], const char *label, int misbehave)
{
	Udc__Envelope req, *rep = NULL;
	Udc__Status st = UDC__STATUS__INIT;
	Udc__Fetch f = UDC__FETCH__INIT;
	Udc__Finish fin = UDC__FINISH__INIT;
	struct chunkbuf cb;
	uint64_t c_records = 0;
	uint32_t c_chunks = 0, per = 1000;
	int rv, ready = 0;

	if (!good_propose(h, label, rid, 3))
		return 0;
	if (chunk_make(&cb, 0, 1, 3, h->nkeys, 1) != 0)
		return 0;
	chunk_ack(h, W(label, "the whole upload in one g_chunk"), rid, 0, &cb.ch, 3);
	chunk_free(&cb);
	for (int i = 0; i < 600 && !ready; i++) {
		env_init(h, &req, rid);
		req.body_case = UDC__ENVELOPE__BODY_STATUS;
		req.status = &st;
		if ((rv = call_env(h, &req, &rep)) != 0 || !rep || rep->body_case != UDC__ENVELOPE__BODY_STATUS_REPLY) {
			check(h, 0, "%s: status: %s", label, rv ? udc_strerror(rv) : rep ? udc_wire_body_name(rep->body_case) : "bad reply");
			udc_wire_free(rep);
			return 0;
		}
		if (rep->status_reply->ready) {
			ready = 1;
			c_records = rep->status_reply->c_records;
			c_chunks = rep->status_reply->c_chunks;
		}
		udc_wire_free(rep);
		rep = NULL;
		if (!ready)
			usleep(100 * 1000);
	}
	check(h, ready && c_records > 0, "%s: CBS list ready: %llu tuples in %u chunks", label,
	    (unsigned long long)c_records, c_chunks);
	if (!ready || c_records == 0)
		return 0;
	if (misbehave) {
	env_init(h, &req, rid);
	req.body_case = UDC__ENVELOPE__BODY_FETCH;
	f.index = c_chunks;
	req.fetch = &f;
	req_error(h, W(label, "fetch of a chunk beyond the last"), &req, UDC__ERROR_CODE__ERR_MALFORMED, "chunk");
	}
	for (uint32_t i = 0; i < c_chunks; i++) {
		f.index = i;
		env_init(h, &req, rid);
		req.body_case = UDC__ENVELOPE__BODY_FETCH;
		req.fetch = &f;
		rv = call_env(h, &req, &rep);
		if (rv != 0 || !rep || rep->body_case != UDC__ENVELOPE__BODY_C_CHUNK || rep->c_chunk->index != i) {
			check(h, 0, "%s: fetch %u", label, i);
			udc_wire_free(rep);
			return 0;
		}
		udc_wire_free(rep);
		rep = NULL;
	}
	check(h, 1, "%s: fetched all %u CBS chunks", label, c_chunks);

	if (misbehave) {
	if (chunk_make(&cb, 0xfffffff0u, 0, 1, h->nkeys, 0) == 0) {
		chunk_error(h, W(label, "r_chunk with an index no round can have"), rid, 1, &cb.ch,
		    UDC__ERROR_CODE__ERR_STATE, "more chunks than");
		chunk_free(&cb);
	}
	if (chunk_make(&cb, 0, 0, 1, h->nkeys, (uint16_t)h->ncats) == 0) {
		chunk_error(h, W(label, "r_chunk with a category label out of range"), rid, 1, &cb.ch,
		    UDC__ERROR_CODE__ERR_MALFORMED, "out of range");
		cb.ch.labels.data[0] = 0;
		cb.ch.points.len = 33;
		chunk_error(h, W(label, "r_chunk whose points are not n*nkeys*32 bytes"), rid, 1, &cb.ch,
		    UDC__ERROR_CODE__ERR_MALFORMED, "bytes of points");
		chunk_free(&cb);
	}
	if (c_records + 1 <= UDC_MAX_CHUNK_RECORDS &&
	    chunk_make(&cb, 0, 1, (uint32_t)c_records + 1, h->nkeys, 0) == 0) {
		chunk_error(h, W(label, "r_chunk with more records than CBS sent"), rid, 1, &cb.ch,
		    UDC__ERROR_CODE__ERR_LIMIT, "more records back");
		chunk_free(&cb);
	}
	env_init(h, &req, rid);
	req.body_case = UDC__ENVELOPE__BODY_FINISH;
	req.finish = &fin;
	req_error(h, W(label, "finish before the last r_chunk"), &req, UDC__ERROR_CODE__ERR_STATE,
	    "finish not allowed");
	}
	for (uint32_t i = 0; (uint64_t)i * per < c_records; i++) {
		uint64_t from = (uint64_t)i * per;
		uint32_t n = (uint32_t)(c_records - from < per ? c_records - from : per);
		int last = from + n == c_records;
		if (chunk_make(&cb, i, last, n, h->nkeys, 0) != 0)
			return 0;
		env_init(h, &req, rid);
		req.body_case = UDC__ENVELOPE__BODY_R_CHUNK;
		req.r_chunk = &cb.ch;
		rv = call_env(h, &req, &rep);
		chunk_free(&cb);
		if (rv != 0 || !rep || rep->body_case != UDC__ENVELOPE__BODY_ACK) {
			check(h, 0, "%s: r_chunk %u: %s", label, i, rep && rep->body_case == UDC__ENVELOPE__BODY_ERROR
			    ? rep->error->reason : "no Ack");
			udc_wire_free(rep);
			return 0;
		}
		udc_wire_free(rep);
		rep = NULL;
	}
	check(h, 1, "%s: all %llu tuples returned", label, (unsigned long long)c_records);
	return 1;
}

/* Round B: misbehaviour on the way, then a commitment to more tuples than
 * were uploaded, which fails the round. */
static int
case_full_round(struct hp *h, uint8_t rid[16])
{
	Udc__Envelope req, *rep = NULL;
	Udc__Finish fin;
	Udc__InputReport ir;
	uint8_t dg[32], sig[64];
	int rv;

	randombytes_buf(rid, 16);
	if (!drive_to_finish(h, rid, "round B", 1))
		return 0;
	commit_finish(h, rid, 4, h->sk, &fin, &ir, dg, sig);
	env_init(h, &req, rid);
	req.body_case = UDC__ENVELOPE__BODY_FINISH;
	req.finish = &fin;
	rv = call_env(h, &req, &rep);
	check(h, rv == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_ERROR &&
	    strstr(rep->error->reason, "committed to 4 tuples but uploaded 3"),
	    "round B: a commitment to more tuples than were uploaded fails the round (%s)",
	    rep && rep->body_case == UDC__ENVELOPE__BODY_ERROR ? rep->error->reason : "no Error");
	udc_wire_free(rep);
	return 1;
}

/* Round C: a proper Finish (twice) gives Counted; nothing is accepted in
 * the upload any more, and a seal over another transcript fails. */
static int
case_full_round_c(struct hp *h, uint8_t rid[16])
{
	Udc__Envelope req, *rep = NULL;
	Udc__Finish fin;
	Udc__InputReport ir;
	Udc__Seal sl = UDC__SEAL__INIT;
	struct chunkbuf cb;
	uint8_t dg[32], sig[64], junk[32];
	int rv, done = 0;

	randombytes_buf(rid, 16);
	if (!drive_to_finish(h, rid, "round C", 0))
		return 0;
	for (int k = 0; k < 2; k++) {
		commit_finish(h, rid, 3, h->sk, &fin, &ir, dg, sig);
		env_init(h, &req, rid);
		req.body_case = UDC__ENVELOPE__BODY_FINISH;
		req.finish = &fin;
		rv = call_env(h, &req, &rep);
		check(h, rv == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_COUNTED && rep->counted->ready,
		    "round C: finish%s with a signed commitment is counted (%s)", k ? " resent" : "",
		    rv ? udc_strerror(rv) : rep ? (rep->body_case == UDC__ENVELOPE__BODY_ERROR ?
		    rep->error->reason : udc_wire_body_name(rep->body_case)) : "bad reply");
		if (rv == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_COUNTED)
			done = 1;
		udc_wire_free(rep);
		rep = NULL;
	}
	if (chunk_make(&cb, 1, 1, 1, h->nkeys, 0) == 0) {
		chunk_error(h, "round C: g_chunk after the count", rid, 0, &cb.ch,
		    UDC__ERROR_CODE__ERR_STATE, "not allowed in state counted");
		chunk_free(&cb);
	}
	randombytes_buf(junk, sizeof(junk));
	sl.transcript_hash.data = junk;
	sl.transcript_hash.len = 32;
	env_init(h, &req, rid);
	req.body_case = UDC__ENVELOPE__BODY_SEAL;
	req.seal = &sl;
	req_error(h, "round C: seal with a transcript hash CBS did not see", &req, UDC__ERROR_CODE__ERR_FAILED,
	    "transcript mismatch");
	return done;
}

/* Round D: a Finish whose commitment is signed by another key. */
static void
case_forged_commit(struct hp *h)
{
	Udc__Envelope req;
	Udc__Finish fin;
	Udc__InputReport ir;
	struct udc_sign_key *other = NULL;
	uint8_t rid[16], dg[32], sig[64];
	char kp[64], kq[64], err[256];

	randombytes_buf(rid, sizeof(rid));
	if (!drive_to_finish(h, rid, "round D", 0))
		return;
	snprintf(kp, sizeof(kp), "/tmp/hostile-d-%ld.sign", (long)getpid());
	snprintf(kq, sizeof(kq), "/tmp/hostile-d-%ld.pub", (long)getpid());
	if (udc_sign_keygen(kp, kq, err, sizeof(err)) != 0 ||
	    udc_sign_key_load(kp, &other, err, sizeof(err)) != 0) {
		check(h, 0, "round D: another key: %s", err);
		return;
	}
	commit_finish(h, rid, 3, other, &fin, &ir, dg, sig);
	env_init(h, &req, rid);
	req.body_case = UDC__ENVELOPE__BODY_FINISH;
	req.finish = &fin;
	req_error(h, "round D: finish with a commitment signed by another key", &req,
	    UDC__ERROR_CODE__ERR_CRYPTO, "not signed by its pinned key");
	udc_sign_key_free(other);
	unlink(kp);
	unlink(kq);
}

/* A Propose reusing the id of a round that already ran must be refused. */
static void
case_replay(struct hp *h, const uint8_t rid[16], const char *which)
{
	Udc__Envelope req, *rep = NULL;
	Udc__Propose p;
	char what[160];
	int rv;

	snprintf(what, sizeof(what), "replayed propose for %s", which);
	rv = propose(h, rid, h->spec->hash, 32, NULL, 0, 10, &req, &p, &rep);
	if (rv == 0 && rep && rep->body_case == UDC__ENVELOPE__BODY_PROPOSE_REPLY) {
		check(h, 0, "%s: answered with ProposeReply accepted=%d (%s); want Error ERR_REFUSED "
		    "'already ran'", what, rep->propose_reply->accepted,
		    rep->propose_reply->reason ? rep->propose_reply->reason : "no reason");
	} else {
		expect_error(h, what, rv, &req, rep, UDC__ERROR_CODE__ERR_REFUSED, "already ran");
	}
	udc_wire_free(rep);
}

/* A client with a certificate of the CA but not the gemeente's key (-k
 * names some other key): every proposal it can make is refused with an
 * Error, and no session exists afterwards. */
static void
case_stranger(struct hp *h)
{
	Udc__Envelope req, *rep = NULL, q;
	Udc__Propose p;
	Udc__Status st = UDC__STATUS__INIT;
	uint8_t rid[16];
	int rv;

	randombytes_buf(rid, sizeof(rid));
	rv = propose(h, rid, h->spec->hash, 32, NULL, 0, 10, &req, &p, &rep);
	expect_error(h, "stranger: a proposal signed by a key that is not the gemeente's", rv, &req, rep,
	    UDC__ERROR_CODE__ERR_REFUSED, "not signed by the gemeente's pinned key");
	udc_wire_free(rep);
	env_init(h, &q, rid);
	q.body_case = UDC__ENVELOPE__BODY_STATUS;
	q.status = &st;
	req_error(h, "stranger: no session was made", &q, UDC__ERROR_CODE__ERR_UNKNOWN_ROUND, NULL);
}

/* n proposals that cannot be attributed (signed by the -k key): each one
 * refused, none leaves a round behind. */
static void
case_propose_flood(struct hp *h, int n)
{
	int refused = 0;

	for (int i = 0; i < n; i++) {
		Udc__Envelope req, *rep = NULL;
		Udc__Propose p;
		uint8_t rid[16];
		randombytes_buf(rid, sizeof(rid));
		if (propose(h, rid, h->spec->hash, 32, NULL, 0, 10, &req, &p, &rep) == 0 && rep &&
		    rep->body_case == UDC__ENVELOPE__BODY_ERROR &&
		    rep->error->code == UDC__ERROR_CODE__ERR_REFUSED)
			refused++;
		udc_wire_free(rep);
	}
	check(h, refused == n, "propose-flood: %d proposals, %d refused with an Error", n, refused);
}

/* n valid proposals kept open (the gemeente's key): the ones beyond the
 * CBS node's max_sessions are refused with ERR_LIMIT. */
static void
case_sessions(struct hp *h, int n)
{
	int accepted = 0, limited = 0;

	for (int i = 0; i < n; i++) {
		Udc__Envelope req, *rep = NULL;
		Udc__Propose p;
		uint8_t rid[16];
		randombytes_buf(rid, sizeof(rid));
		if (propose(h, rid, h->spec->hash, 32, NULL, 0, 10, &req, &p, &rep) == 0 && rep) {
			if (rep->body_case == UDC__ENVELOPE__BODY_PROPOSE_REPLY && rep->propose_reply->accepted)
				accepted++;
			else if (rep->body_case == UDC__ENVELOPE__BODY_ERROR &&
			    rep->error->code == UDC__ERROR_CODE__ERR_LIMIT &&
			    strstr(rep->error->reason, "max_sessions"))
				limited++;
		}
		udc_wire_free(rep);
	}
	printf("sessions: %d accepted, %d refused at the limit\n", accepted, limited);
	check(h, accepted + limited == n && limited > 0, "sessions: %d proposals: %d accepted, %d "
	    "refused for max_sessions", n, accepted, limited);
}

/* One copy of a proposal sent on a context of its own. */
struct copy {
	nng_socket s;
	const uint8_t *buf;
	size_t len;
	Udc__Envelope *rep;
	int rv;
};

static void *
copy_send(void *arg)
{
	struct copy *c = arg;
	nng_msg *m = NULL;
	char why[256];

	c->rv = udc_req_call_ctx(c->s, CALL_TIMEOUT_MS, 600 * 1000, c->buf, c->len, &m);
	if (c->rv == 0 && udc_wire_decode(nng_msg_body(m), nng_msg_len(m), &c->rep, why,
	    sizeof(why)) != 0)
		c->rep = NULL;
	if (m)
		nng_msg_free(m);
	return NULL;
}

/* Sends c[0..n) at once, each on a thread of its own; returns how many were
 * sent (all joined). */
static int
send_at_once(struct copy *c, int n)
{
	pthread_t t[64];
	int started = 0;

	for (int i = 0; i < n && i < 64; i++) {
		if (pthread_create(&t[i], NULL, copy_send, &c[i]) != 0)
			break;
		started++;
	}
	for (int i = 0; i < started; i++)
		pthread_join(t[i], NULL);
	return started;
}

/* A gemeente (or a replayer) that sends n copies of one signed proposal at
 * once, for three rounds: the CBS node's workers take them side by side,
 * and each round must still get one session.  Every copy is accepted with
 * the same signed answer (a resend); two sessions under one round id would
 * be a second computation under that id, and would use up max_sessions
 * (test_attacks.py counts the sessions in the CBS audit log). */
static void
case_same_round(struct hp *h, int n)
{
	struct copy c[64];

	if (n > 64)
		n = 64;
	for (int r = 0; r < 3; r++) {
		Udc__Envelope req;
		Udc__Propose p;
		uint8_t rid[16], *buf = NULL;
		size_t len = 0;
		int accepted = 0, same = 0, started;
		char hex[33];

		randombytes_buf(rid, sizeof(rid));
		udc_round_id_hex(rid, hex);
		if (propose_build(h, rid, h->spec->hash, 32, NULL, 0, 10, h->sk, 0, NULL, &req, &p) != 0 ||
		    udc_wire_encode(&req, &buf, &len) != 0) {
			check(h, 0, "same-round: cannot build the proposal");
			return;
		}
		for (int i = 0; i < n; i++)
			c[i] = (struct copy){ .s = h->s, .buf = buf, .len = len };
		started = send_at_once(c, n);
		const Udc__ProposeReply *p0 = started && c[0].rep && c[0].rep->body_case ==
		    UDC__ENVELOPE__BODY_PROPOSE_REPLY ? c[0].rep->propose_reply : NULL;
		for (int i = 0; i < started; i++) {
			const Udc__ProposeReply *pr = c[i].rep && c[i].rep->body_case ==
			    UDC__ENVELOPE__BODY_PROPOSE_REPLY ? c[i].rep->propose_reply : NULL;

			if (pr && pr->accepted)
				accepted++;
			else
				printf("   copy %d: %s%s\n", i, c[i].rv ? udc_strerror(c[i].rv) :
				    c[i].rep ? udc_wire_body_name(c[i].rep->body_case) : "undecodable",
				    c[i].rep && c[i].rep->body_case == UDC__ENVELOPE__BODY_ERROR ?
				    c[i].rep->error->reason : "");
			if (pr && p0 && pr->reply_sig.len == p0->reply_sig.len &&
			    memcmp(pr->reply_sig.data, p0->reply_sig.data, pr->reply_sig.len) == 0)
				same++;
		}
		printf("same-round: round %s: %d copies at once, %d accepted, %d with the first's "
		    "signed answer\n", hex, started, accepted, same);
		check(h, started == n && accepted == n && same == n,
		    "same-round: %d copies of one proposal at once: all accepted with one signed "
		    "answer (%d accepted, %d the same)", n, accepted, same);
		for (int i = 0; i < started; i++)
			udc_wire_free(c[i].rep);
		free(buf);
	}
}

/* n proposals of n different rounds at once, each on a context of its own:
 * the CBS node's service threads handle them side by side, and no more
 * than max_sessions may be accepted however they interleave (the count of
 * running sessions and the insertion must be one step). */
static void
case_sessions_at_once(struct hp *h, int n)
{
	struct copy c[64];
	uint8_t *buf[64];
	int started, accepted = 0, limited = 0, built = 0;

	if (n > 64)
		n = 64;
	for (int i = 0; i < n; i++, built++) {
		Udc__Envelope req;
		Udc__Propose p;
		uint8_t rid[16];
		size_t len = 0;

		randombytes_buf(rid, sizeof(rid));
		buf[i] = NULL;
		if (propose_build(h, rid, h->spec->hash, 32, NULL, 0, 10, h->sk, 0, NULL, &req, &p) != 0 ||
		    udc_wire_encode(&req, &buf[i], &len) != 0) {
			check(h, 0, "sessions-at-once: cannot build proposal %d", i);
			break;
		}
		c[i] = (struct copy){ .s = h->s, .buf = buf[i], .len = len };
	}
	started = send_at_once(c, built);
	for (int i = 0; i < started; i++) {
		const Udc__Envelope *rep = c[i].rep;

		if (rep && rep->body_case == UDC__ENVELOPE__BODY_PROPOSE_REPLY && rep->propose_reply->accepted)
			accepted++;
		else if (rep && rep->body_case == UDC__ENVELOPE__BODY_ERROR &&
		    rep->error->code == UDC__ERROR_CODE__ERR_LIMIT && strstr(rep->error->reason, "max_sessions"))
			limited++;
		else
			printf("   proposal %d: %s\n", i, c[i].rv ? udc_strerror(c[i].rv) :
			    rep ? udc_wire_body_name(rep->body_case) : "undecodable");
		udc_wire_free(c[i].rep);
	}
	for (int i = 0; i < built; i++)
		free(buf[i]);
	printf("sessions-at-once: %d proposals at once, %d accepted, %d refused at the limit\n", started,
	    accepted, limited);
	check(h, started == n && accepted + limited == n, "sessions-at-once: %d proposals at once: each "
	    "accepted or refused for max_sessions (%d accepted, %d refused)", n, accepted, limited);
}

/* A proposal announcing 10^8 records, then one chunk of one record: the
 * CBS node must not reserve memory for what was only announced. */
static void
case_huge(struct hp *h)
{
	struct chunkbuf cb;
	uint8_t rid[16];

	randombytes_buf(rid, sizeof(rid));
	if (!good_propose(h, "huge: a proposal announcing 100,000,000 records", rid, 100000000ULL))
		return;
	if (chunk_make(&cb, 0, 0, 1, h->nkeys, 0) == 0) {
		chunk_ack(h, "huge: one chunk of one record", rid, 0, &cb.ch, 1);
		chunk_free(&cb);
	}
	printf("huge: round %02x%02x... holds one record\n", rid[0], rid[1]);
	fflush(stdout);
}

/* A flood of n undecodable messages: every one answered with an Error (the
 * audit log bounds what it records of them; test_hostile.py counts). */
static void
case_flood(struct hp *h, int n)
{
	static const uint8_t junk[] = "\xff\xff\xff\xff flood \x07";
	int errors = 0;

	for (int i = 0; i < n; i++) {
		Udc__Envelope *rep = NULL;

		if (call_raw(h, junk, sizeof(junk) - 1, &rep) == 0 && rep != NULL &&
		    rep->body_case == UDC__ENVELOPE__BODY_ERROR)
			errors++;
		udc_wire_free(rep);
	}
	check(h, errors == n, "flood: %d undecodable messages, %d answered with Error", n, errors);
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: hostile_peer -c GEMEENTE_CONF -s SPEC [-k SIGNING_KEY] [-r ROUND_ID]... [--only replay]\n"
	    "       [--only flood --flood N] [--only stranger] [--only propose-flood --flood N]\n"
	    "       [--only sessions --flood N] [--only huge] [--only same-round --flood N]\n"
	    "       [--only sessions-at-once --flood N]\n"
	    "       [--ca F] [--cert F] [--key F] [--connect URL] [--server-name N] [--max-message BYTES]\n"
	    "       [--cbs-pub F]\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' }, { "spec", required_argument, NULL, 's' },
		{ "signing-key", required_argument, NULL, 'k' }, { "replay", required_argument, NULL, 'r' },
		{ "only", required_argument, NULL, 'o' }, { "ca", required_argument, NULL, 1 },
		{ "cert", required_argument, NULL, 2 }, { "key", required_argument, NULL, 3 },
		{ "connect", required_argument, NULL, 4 }, { "server-name", required_argument, NULL, 5 },
		{ "max-message", required_argument, NULL, 6 }, { "cbs-pub", required_argument, NULL, 7 },
		{ "flood", required_argument, NULL, 8 },
		{ NULL, 0, NULL, 0 }
	};
	struct hp h;
	struct udc_config *cfg = NULL, mine;
	const char *conf = NULL, *specf = NULL, *keyf = NULL, *only = NULL, *cbspub = NULL;
	const char *ca = NULL, *cert = NULL, *key = NULL, *connect = NULL, *sname = NULL;
	uint8_t replay[MAX_REPLAY][16];
	size_t nreplay = 0, maxmsg = 0;
	int flood = 0;
	char err[512];
	int c;

	memset(&h, 0, sizeof(h));
	while ((c = getopt_long(argc, argv, "c:s:k:r:o:", lo, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 's': specf = optarg; break;
		case 'k': keyf = optarg; break;
		case 'o': only = optarg; break;
		case 'r':
			if (nreplay == MAX_REPLAY || udc_round_id_parse(optarg, replay[nreplay]) != 0)
				usage();
			nreplay++;
			break;
		case 1: ca = optarg; break;
		case 2: cert = optarg; break;
		case 3: key = optarg; break;
		case 4: connect = optarg; break;
		case 5: sname = optarg; break;
		case 6: maxmsg = (size_t)strtoull(optarg, NULL, 10); break;
		case 7: cbspub = optarg; break;
		case 8: flood = atoi(optarg); break;
		default: usage();
		}
	}
	if (specf == NULL || (conf == NULL && (!ca || !cert || !key || !connect || !sname || !keyf)))
		usage();
	if (only && strcmp(only, "replay") != 0 && strcmp(only, "flood") != 0 &&
	    strcmp(only, "stranger") != 0 && strcmp(only, "propose-flood") != 0 &&
	    strcmp(only, "sessions") != 0 && strcmp(only, "huge") != 0 &&
	    strcmp(only, "same-round") != 0 && strcmp(only, "sessions-at-once") != 0)
		usage();
	if (only && (strcmp(only, "flood") == 0 || strcmp(only, "propose-flood") == 0 ||
	    strcmp(only, "sessions") == 0 || strcmp(only, "same-round") == 0 ||
	    strcmp(only, "sessions-at-once") == 0) && flood <= 0)
		usage();
	if (sodium_init() < 0) {
		fprintf(stderr, "hostile_peer: sodium_init failed\n");
		return 2;
	}
	if (conf && udc_config_load(conf, &cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "hostile_peer: %s\n", err);
		return 2;
	}
	if (cfg == NULL) {
		(void)mine;
		if ((cfg = calloc(1, sizeof(*cfg))) == NULL)
			return 2;
		cfg->role = UDC_ROLE_GEMEENTE;
		cfg->max_message = 4 * 1024 * 1024;
	}
	/* Command-line paths override the config (copies, so that
	 * udc_config_free can release the struct at the end). */
#define OVERRIDE(field, v) do { if (v) { free(cfg->field); cfg->field = strdup(v); } } while (0)
	OVERRIDE(ca_file, ca);
	OVERRIDE(cert_file, cert);
	OVERRIDE(key_file, key);
	OVERRIDE(peer_connect, connect);
	OVERRIDE(server_name, sname);
#undef OVERRIDE
	if (!keyf) keyf = cfg->signing_key;
	if (!cbspub) cbspub = cfg->peer_public_key;
	cfg->role = UDC_ROLE_GEMEENTE;
	cfg->peer_timeout_ms = CALL_TIMEOUT_MS;
	/* One send per request: a resend would only muddle the oversize case. */
	cfg->resend_ms = 600 * 1000;
	h.max_message = maxmsg ? maxmsg : cfg->max_message;

	if (udc_spec_load_with_schema(specf, &h.spec, err, sizeof(err)) != 0) {
		fprintf(stderr, "hostile_peer: %s\n", err);
		return 2;
	}
	h.nkeys = h.spec->nkeys;
	h.ngroups = h.spec->ncells[UDC_SIDE_GEMEENTE];
	h.ncats = h.spec->ncells[UDC_SIDE_CBS];
	if (udc_spec_fuzzy(h.spec)) {
		fprintf(stderr, "hostile_peer: give an exact-mode spec\n");
		return 2;
	}
	if (udc_sign_key_load(keyf, &h.sk, err, sizeof(err)) != 0) {
		fprintf(stderr, "hostile_peer: %s\n", err);
		return 2;
	}
	udc_sign_key_public(h.sk, &h.gpub);
	udc_sign_fingerprint(&h.gpub, h.gfpr);
	if (cbspub && udc_sign_pub_load(cbspub, &h.cpub, err, sizeof(err)) == 0)
		h.have_cpub = 1;
	h.cfg = cfg;
	if (udc_peer_open(&h.s, cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "hostile_peer: %s\n", err);
		return 2;
	}
	{
		char hex[65];
		udc_spec_hash_hex(h.spec, hex);
		printf("hostile peer -> %s (spec %s, %zu keys, %zu groups, %zu categories, gemeente key %s)\n",
		    cfg->peer_connect, hex, h.nkeys, h.ngroups, h.ncats, h.gfpr);
		fflush(stdout);
	}
	/* Wait for the TLS connection: the dialer started non-blocking. */
	probe(&h, "connecting");

	if (only == NULL) {
		uint8_t ridb[16];
		case_decode(&h);
		case_unknown_round(&h);
		case_bad_propose(&h);
		case_session(&h);
		uint8_t ridc[16];
		if (case_full_round(&h, ridb))
			case_replay(&h, ridb, "round B (failed at its finish just now)");
		if (case_full_round_c(&h, ridc))
			case_replay(&h, ridc, "round C (failed at its seal just now)");
		case_forged_commit(&h);
		case_oversize(&h);
	}
	if (only && strcmp(only, "stranger") == 0)
		case_stranger(&h);
	if (only && strcmp(only, "propose-flood") == 0)
		case_propose_flood(&h, flood);
	if (only && strcmp(only, "sessions") == 0)
		case_sessions(&h, flood);
	if (only && strcmp(only, "huge") == 0)
		case_huge(&h);
	if (only && strcmp(only, "same-round") == 0)
		case_same_round(&h, flood);
	if (only && strcmp(only, "sessions-at-once") == 0)
		case_sessions_at_once(&h, flood);
	if (flood > 0 && strcmp(only ? only : "", "flood") == 0)
		case_flood(&h, flood);
	for (size_t i = 0; i < nreplay; i++) {
		char hex[33], what[96];
		udc_round_id_hex(replay[i], hex);
		snprintf(what, sizeof(what), "finished round %s", hex);
		case_replay(&h, replay[i], what);
	}
	probe(&h, "all cases");

	udc_sign_key_free(h.sk);
	udc_spec_free(h.spec);
	udc_config_free(cfg);
	printf("%d passed, %d failed\n", h.passed, h.failed);
	fflush(stdout);
	/* No NNG teardown: a socket wedged by the oversized send can block it. */
	_exit(h.failed ? 1 : 0);
}
