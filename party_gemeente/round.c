/*
 * round.c - the gemeente's side of an exact-mode round.
 *
 *   read + blind own list (H(k)^a)  -> propose -> upload chunks
 *   -> wait for the CBS list -> fetch chunks, raise to a (H(k)^ba)
 *   -> shuffle, return chunks -> finish -> store the released table
 *
 * Every request carries the round id and a fresh request id; the CBS node
 * answers a resent request with the same reply, so NNG's resend is harmless.
 * On any failure the CBS node is told (Abort) and the round is marked failed
 * with the reason; the daemon carries on.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blind.h"
#include "blist.h"
#include "clkctx.h"
#include "roundkey.h"
#include "secmem.h"
#include "err.h"
#include "gemeente.h"
#include "log.h"
#include "result.h"
#include "rounds.h"
#include "spec.h"
#include "store.h"
#include "table.h"
#include "transport.h"
#include "wire.h"

struct rctx {
	struct udc_node *n;
	struct gem_job *job;
	struct udc_spec *spec;
	char spec_hex[65];
	uint64_t reqid;
	char err[512];
	int peer_aborted; /* the CBS side already knows the round failed */
	size_t cnkeys;    /* keys per tuple in the count: the spec's, or 1 (handles) */
	int peer_answered; /* the CBS node answered at least once in this round */
	unsigned conn_mark; /* pipes_added when the round began */
	int conn_up;        /* a connection was up when the round began */
	struct udc_transcript tx;
	uint8_t input_digest[32];
};

static void
fail(struct rctx *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
fail(struct rctx *r, const char *fmt, ...)
{
	va_list ap;
	if (r->err[0])
		return; /* keep the first reason */
	va_start(ap, fmt);
	vsnprintf(r->err, sizeof(r->err), fmt, ap);
	va_end(ap);
}

static void
step(struct rctx *r, const char *name, unsigned permille)
{
	udc_rounds_update(r->n->rounds, r->job->idhex, "running", name, permille, NULL);
}

/* One request, one reply.  An Error reply from the CBS node becomes
 * UDC_EPEER with its reason; a reply for another round or request, or of an
 * unexpected type, is a protocol error. */
static int
call(struct rctx *r, Udc__Envelope *req, Udc__Envelope__BodyCase want, Udc__Envelope **out)
{
	uint8_t *buf = NULL;
	size_t len;
	nng_msg *m = NULL;
	Udc__Envelope *rep = NULL;
	char why[256];
	int rv;

	req->version = UDC_PROTO_VERSION;
	req->round_id.data = r->job->round_id;
	req->round_id.len = 16;
	req->request_id = ++r->reqid;
	if ((rv = udc_wire_encode(req, &buf, &len)) != 0)
		return rv;
	rv = udc_req_call(r->n->peer, buf, len, &m);
	if (rv != 0)
		free(buf);
	if (rv == UDC_ETIMEDOUT) {
		struct gem *g = r->n->party;
		r->job->peer_timed_out = 1;
		/* NNG reports no TLS handshake failure on a REQ socket: tell a
		 * peer that never connected from one that went away. */
		if (r->peer_answered || r->conn_up || atomic_load(&g->pipes) > 0 ||
		    atomic_load(&g->pipes_added) != r->conn_mark)
			fail(r, "lost the CBS node during %s: no answer within %d s",
			    udc_wire_body_name(req->body_case), r->n->cfg->peer_timeout_ms / 1000);
		else
			fail(r, "no TLS connection to the CBS node at %s within %d s (unreachable, or "
			    "a certificate was refused: check both nodes' CA and certificates)",
			    r->n->cfg->peer_connect, r->n->cfg->peer_timeout_ms / 1000);
		return rv;
	}
	if (rv != 0) {
		fail(r, "sending %s to the CBS node: %s", udc_wire_body_name(req->body_case), udc_strerror(rv));
		return rv;
	}
	r->peer_answered = 1;
	rv = udc_wire_decode(nng_msg_body(m), nng_msg_len(m), &rep, why, sizeof(why));
	if (rv == 0 && rep->body_case == want && udc_transcript_counts(req->body_case))
		udc_transcript_add(&r->tx, req->request_id, buf, len, nng_msg_body(m), nng_msg_len(m));
	free(buf);
	buf = NULL;
	nng_msg_free(m);
	if (rv != 0) {
		fail(r, "bad reply from the CBS node: %s", why);
		return rv;
	}
	if (memcmp(rep->round_id.data, r->job->round_id, 16) != 0 || rep->request_id != req->request_id) {
		fail(r, "reply from the CBS node for another round or request");
		rv = UDC_EPROTO;
		goto out;
	}
	if (rep->body_case == UDC__ENVELOPE__BODY_ERROR) {
		fail(r, "the CBS node refused %s: %s", udc_wire_body_name(req->body_case),
		    rep->error->reason ? rep->error->reason : "no reason given");
		r->peer_aborted = 1;
		rv = UDC_EPEER;
		goto out;
	}
	if (rep->body_case != want) {
		fail(r, "the CBS node answered %s with %s", udc_wire_body_name(req->body_case),
		    udc_wire_body_name(rep->body_case));
		rv = UDC_EPROTO;
		goto out;
	}
	*out = rep;
	return 0;
out:
	udc_wire_free(rep);
	return rv;
}

/* Sends the records [from, from+n) of l as a chunk of the given kind. */
static int
send_chunk(struct rctx *r, const struct udc_blist *l, size_t from, size_t n, uint32_t index,
    int last, Udc__Envelope__BodyCase kind)
{
	Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
	Udc__Chunk ch = UDC__CHUNK__INIT;
	uint8_t *labels;
	int rv;

	if ((labels = malloc(n * 2 + 1)) == NULL)
		return UDC_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		labels[2 * i] = (uint8_t)(l->lab[from + i] & 0xff);
		labels[2 * i + 1] = (uint8_t)(l->lab[from + i] >> 8);
	}
	ch.index = index;
	ch.last = last;
	ch.n = (uint32_t)n;
	ch.nkeys = (uint32_t)l->nkeys;
	ch.points.data = n ? udc_blist_pt(l, from, 0) : labels;
	ch.points.len = n * l->nkeys * 32;
	ch.labels.data = labels;
	ch.labels.len = n * 2;
	req.body_case = kind;
	if (kind == UDC__ENVELOPE__BODY_G_CHUNK)
		req.g_chunk = &ch;
	else
		req.r_chunk = &ch;
	rv = call(r, &req, UDC__ENVELOPE__BODY_ACK, &rep);
	free(labels);
	if (rv == 0 && rep->ack->index != index) {
		fail(r, "the CBS node acknowledged chunk %u instead of %u", rep->ack->index, index);
		rv = UDC_EPROTO;
	}
	udc_wire_free(rep);
	return rv;
}

static int
upload(struct rctx *r, const struct udc_blist *l, Udc__Envelope__BodyCase kind, const char *stepname)
{
	size_t chunk = r->n->cfg->chunk_records;
	size_t per = (r->n->cfg->max_message - 4096) / (l->nkeys * 32 + 2);
	size_t nchunks;
	int rv;

	if (chunk > per)
		chunk = per;
	if (chunk > UDC_MAX_CHUNK_RECORDS)
		chunk = UDC_MAX_CHUNK_RECORDS;
	nchunks = l->n ? (l->n + chunk - 1) / chunk : 1;
	for (size_t i = 0; i < nchunks; i++) {
		size_t from = i * chunk, n = l->n - from < chunk ? l->n - from : chunk;
		if ((rv = send_chunk(r, l, from, n, (uint32_t)i, i + 1 == nchunks, kind)) != 0)
			return rv;
		step(r, stepname, (unsigned)((i + 1) * 1000 / nchunks));
	}
	return 0;
}

/* kx_pub/peer_pub: fuzzy and combined modes (NULL in exact mode). */
static int
propose(struct rctx *r, uint64_t nrec, const uint8_t *kx_pub, uint8_t *peer_pub)
{
	Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
	Udc__Propose p = UDC__PROPOSE__INIT;
	int rv;

	p.spec_hash.data = r->spec->hash;
	p.spec_hash.len = 32;
	p.gemeente_name = r->n->cfg->name;
	p.g_records = nrec;
	p.chunk_records = (uint32_t)r->n->cfg->chunk_records;
	uint8_t sig[UDC_SIGN_BYTES];
	if (udc_approval_load(r->n, r->spec_hex, sig) != 0) {
		fail(r, "spec %s is no longer approved on this node", r->spec_hex);
		return UDC_EREFUSED;
	}
	p.approval_sig.data = sig;
	p.approval_sig.len = sizeof(sig);
	p.input_digest.data = r->input_digest;
	p.input_digest.len = sizeof(r->input_digest);
	if (kx_pub) {
		p.kx_public.data = (uint8_t *)kx_pub;
		p.kx_public.len = UDC_KX_PUBLIC_BYTES;
	}
	req.body_case = UDC__ENVELOPE__BODY_PROPOSE;
	req.propose = &p;
	if ((rv = call(r, &req, UDC__ENVELOPE__BODY_PROPOSE_REPLY, &rep)) != 0)
		return rv;
	if (!rep->propose_reply->accepted) {
		fail(r, "refused by the CBS node: %s",
		    rep->propose_reply->reason ? rep->propose_reply->reason : "no reason given");
		r->peer_aborted = 1;
		rv = UDC_EREFUSED;
	} else if (rep->propose_reply->approval_sig.len != UDC_SIGN_BYTES ||
	    udc_sign_verify(&r->n->peer_pub, UDC_SIGN_APPROVAL, r->spec->hash, 32,
	    rep->propose_reply->approval_sig.data) != 0) {
		fail(r, "the CBS node's approval of spec %s does not verify against its pinned key %s",
		    r->spec_hex, r->n->peer_fpr);
		rv = UDC_EREFUSED;
	} else if (kx_pub) {
		if (rep->propose_reply->kx_public.len != UDC_KX_PUBLIC_BYTES) {
			fail(r, "the CBS node sent no key for the round secret");
			rv = UDC_EPROTO;
		} else {
			memcpy(peer_pub, rep->propose_reply->kx_public.data, UDC_KX_PUBLIC_BYTES);
		}
	}
	udc_wire_free(rep);
	return rv;
}

/* Status poll; *out holds the reply (caller frees). */
static int
status(struct rctx *r, Udc__Envelope **out)
{
	Udc__Envelope req = UDC__ENVELOPE__INIT;
	Udc__Status st = UDC__STATUS__INIT;

	if (atomic_load(&r->n->stopping)) {
		fail(r, "the gemeente daemon is stopping");
		return UDC_ECLOSED;
	}
	req.body_case = UDC__ENVELOPE__BODY_STATUS;
	req.status = &st;
	return call(r, &req, UDC__ENVELOPE__BODY_STATUS_REPLY, out);
}

/* Sends the linkage records: handle, CLK and (combined) H(k)^a, no labels. */
static int
upload_link(struct rctx *r, const struct udc_blist *l, size_t clk_bytes)
{
	size_t per_rec = 32 + clk_bytes + l->nkeys * 32;
	size_t chunk = r->n->cfg->chunk_records, per = (r->n->cfg->max_message - 4096) / per_rec;
	size_t nchunks;
	uint8_t *handles = NULL, *clks = NULL;
	int rv = 0;

	if (chunk > per)
		chunk = per;
	if (chunk > UDC_MAX_CHUNK_RECORDS)
		chunk = UDC_MAX_CHUNK_RECORDS;
	nchunks = (l->n + chunk - 1) / chunk;
	handles = malloc(chunk * 32);
	clks = malloc(chunk * clk_bytes + 1);
	if (!handles || !clks) {
		rv = UDC_ENOMEM;
		goto out;
	}
	for (size_t i = 0; i < nchunks; i++) {
		Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
		Udc__LinkChunk lc = UDC__LINK_CHUNK__INIT;
		size_t from = i * chunk, n = l->n - from < chunk ? l->n - from : chunk;

		for (size_t k = 0; k < n; k++) {
			memcpy(handles + 32 * k, udc_blist_ext(l, from + k), 32);
			memcpy(clks + clk_bytes * k, udc_blist_ext(l, from + k) + 32, clk_bytes);
		}
		lc.index = (uint32_t)i;
		lc.last = i + 1 == nchunks;
		lc.n = (uint32_t)n;
		lc.nkeys = (uint32_t)l->nkeys;
		lc.clk_bytes = (uint32_t)clk_bytes;
		lc.handles.data = handles;
		lc.handles.len = 32 * n;
		lc.clks.data = clks;
		lc.clks.len = clk_bytes * n;
		lc.points.data = l->nkeys ? udc_blist_pt(l, from, 0) : handles;
		lc.points.len = n * l->nkeys * 32;
		req.body_case = UDC__ENVELOPE__BODY_L_CHUNK;
		req.l_chunk = &lc;
		if ((rv = call(r, &req, UDC__ENVELOPE__BODY_ACK, &rep)) != 0)
			goto out;
		udc_wire_free(rep);
		step(r, "link-upload", (unsigned)((i + 1) * 1000 / nchunks));
	}
out:
	free(handles);
	free(clks);
	return rv;
}

/* Combined mode: raise the CBS records' exact keys to a and send them back
 * in the CBS node's order (they carry no labels; CBS needs to know its own). */
static int
return_own(struct rctx *r, const struct udc_scalar *a, uint32_t own_chunks, uint64_t own_records)
{
	uint64_t seen = 0;
	char why[256];
	int rv;

	for (uint32_t i = 0; i < own_chunks; i++) {
		Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL, *ack = NULL;
		Udc__Fetch f = UDC__FETCH__INIT;
		Udc__Chunk *ch;

		f.index = i;
		f.phase = 1;
		req.body_case = UDC__ENVELOPE__BODY_FETCH;
		req.fetch = &f;
		if ((rv = call(r, &req, UDC__ENVELOPE__BODY_C_CHUNK, &rep)) != 0)
			return rv;
		ch = rep->c_chunk;
		if ((rv = udc_wire_check_chunk(ch, r->spec->nkeys, UDC_MAX_CHUNK_RECORDS, 1, why,
		    sizeof(why))) != 0 || ch->index != i || seen + ch->n > own_records) {
			fail(r, "bad chunk from the CBS node: %s", rv ? why : "index or count mismatch");
			udc_wire_free(rep);
			return UDC_EPROTO;
		}
		if ((rv = udc_blind_records(ch->points.data, ch->n, ch->nkeys, a, r->n->wq)) != 0) {
			fail(r, "the CBS node sent an invalid group element in chunk %u", i);
			udc_wire_free(rep);
			return rv;
		}
		seen += ch->n;
		Udc__Envelope back = UDC__ENVELOPE__INIT;
		back.body_case = UDC__ENVELOPE__BODY_X_CHUNK;
		back.x_chunk = ch;
		rv = call(r, &back, UDC__ENVELOPE__BODY_ACK, &ack);
		udc_wire_free(rep);
		udc_wire_free(ack);
		if (rv != 0)
			return rv;
		step(r, "link-return", (unsigned)((i + 1) * 1000ULL / own_chunks));
	}
	if (seen != own_records) {
		fail(r, "the CBS node sent %llu records, announced %llu", (unsigned long long)seen,
		    (unsigned long long)own_records);
		return UDC_EPROTO;
	}
	return 0;
}

/* Fuzzy and combined modes, phase 1: agree the round secret, encode and
 * upload the records with random handles, help CBS raise its exact keys,
 * and wait for CBS to link.  Leaves in *count the list for the blinded
 * count: H(handle)^a with the gemeente's group labels. */
static int
linkage_phase(struct rctx *r, const struct udc_scalar *a, const struct udc_input_opts *io,
    struct udc_blist *count, struct udc_input_stats *gst)
{
	struct udc_kx *kx = NULL;
	struct udc_clkctx *clk = NULL;
	struct udc_blist g;
	uint8_t peer[UDC_KX_PUBLIC_BYTES], *secret = NULL;
	size_t clk_bytes;
	int rv;

	udc_blist_init(&g, r->spec->nkeys, 0);
	step(r, "propose", 0);
	if ((rv = udc_kx_new(&kx)) != 0 || (secret = udc_secmem_alloc(UDC_CLK_SECRET_BYTES)) == NULL) {
		fail(r, "cannot set up the round secret");
		rv = rv ? rv : UDC_ENOMEM;
		goto out;
	}
	if ((rv = propose(r, 0, udc_kx_public(kx), peer)) != 0)
		goto out;
	if ((rv = udc_kx_secret(kx, 1, peer, r->job->round_id, r->spec->hash, secret)) != 0) {
		fail(r, "the CBS node's key for the round secret is invalid");
		goto out;
	}
	udc_kx_free(kx);
	kx = NULL;
	rv = udc_clkctx_new(&clk, r->spec, secret, 1, r->err, sizeof(r->err));
	udc_secmem_free(secret);
	secret = NULL;
	if (rv != 0)
		goto out;
	clk_bytes = udc_clkctx_bytes(clk);
	udc_blist_set_extra(&g, udc_clkctx_ext_bytes(clk));
	step(r, "reading", 0);
	if ((rv = udc_blist_from_input_ext(&g, io, r->job->round_id, a, r->n->wq, udc_clkctx_fill, clk,
	    gst, r->err, sizeof(r->err))) != 0)
		goto out;
	udc_clkctx_free(clk);
	clk = NULL;
	log_info("round %s: %s: %llu rows, %llu encoded", r->job->idhex, io->path,
	    (unsigned long long)gst->rows, (unsigned long long)g.n);
	if (g.n == 0) {
		fail(r, "%s: no usable records (%llu rows read)", io->path, (unsigned long long)gst->rows);
		rv = UDC_EINVAL;
		goto out;
	}
	udc_blist_shuffle(&g);
	if ((rv = upload_link(r, &g, clk_bytes)) != 0)
		goto out;
	/* Wait for CBS: its own list (combined), then its linkage. */
	for (int returned = r->spec->mode != UDC_MODE_COMBINED;;) {
		Udc__Envelope *rep = NULL;
		if ((rv = status(r, &rep)) != 0)
			goto out;
		Udc__StatusReply *sr = rep->status_reply;
		if (!returned && sr->link_ready) {
			uint32_t oc = sr->own_chunks;
			uint64_t orec = sr->own_records;
			udc_wire_free(rep);
			if ((rv = return_own(r, a, oc, orec)) != 0)
				goto out;
			returned = 1;
			continue;
		}
		int linked = sr->linked;
		udc_wire_free(rep);
		if (linked && returned)
			break;
		step(r, "linking", 0);
		usleep(100 * 1000);
	}
	/* The count list: H(handle)^a with the group label, nothing else. */
	udc_blist_init(count, 1, 0);
	if ((rv = udc_blist_reserve(count, g.n)) != 0)
		goto out;
	for (size_t i = 0; i < g.n; i++) {
		udc_hash_to_group(udc_blist_pt(count, i, 0), r->job->round_id, UDC_KEY_HANDLE,
		    (const char *)udc_blist_ext(&g, i), 32);
		count->lab[i] = g.lab[i];
	}
	count->n = g.n;
	if ((rv = udc_blist_blind(count, a, r->n->wq)) != 0)
		fail(r, "cannot blind the handles");
out:
	udc_kx_free(kx);
	udc_secmem_free(secret);
	udc_clkctx_free(clk);
	udc_blist_free(&g);
	return rv;
}

/* Polls until the CBS node has its own list ready. */
static int
wait_cbs(struct rctx *r, uint64_t *c_records, uint32_t *c_chunks)
{
	for (;;) {
		Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
		Udc__Status st = UDC__STATUS__INIT;
		int rv;

		if (atomic_load(&r->n->stopping)) {
			fail(r, "the gemeente daemon is stopping");
			return UDC_ECLOSED;
		}
		req.body_case = UDC__ENVELOPE__BODY_STATUS;
		req.status = &st;
		if ((rv = call(r, &req, UDC__ENVELOPE__BODY_STATUS_REPLY, &rep)) != 0)
			return rv;
		if (rep->status_reply->ready) {
			*c_records = rep->status_reply->c_records;
			*c_chunks = rep->status_reply->c_chunks;
			udc_wire_free(rep);
			return 0;
		}
		step(r, "cbs-preparing", rep->status_reply->progress);
		udc_wire_free(rep);
		usleep(100 * 1000);
	}
}

static int
download(struct rctx *r, struct udc_blist *c, const struct udc_scalar *a, uint64_t c_records,
    uint32_t c_chunks)
{
	size_t ncats = r->spec->ncells[UDC_SIDE_CBS];
	char why[256];
	int rv;

	if (c_records > UDC_MAX_CHUNK_RECORDS * (uint64_t)c_chunks || c_records > 100000000ULL) {
		fail(r, "the CBS node announced %llu records in %u chunks", (unsigned long long)c_records,
		    c_chunks);
		return UDC_EPROTO;
	}
	if ((rv = udc_blist_reserve(c, (size_t)c_records)) != 0) {
		fail(r, "cannot hold %llu CBS records: %s", (unsigned long long)c_records, udc_strerror(rv));
		return rv;
	}
	for (uint32_t i = 0; i < c_chunks; i++) {
		Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
		Udc__Fetch f = UDC__FETCH__INIT;
		Udc__Chunk *ch;

		f.index = i;
		req.body_case = UDC__ENVELOPE__BODY_FETCH;
		req.fetch = &f;
		if ((rv = call(r, &req, UDC__ENVELOPE__BODY_C_CHUNK, &rep)) != 0)
			return rv;
		ch = rep->c_chunk;
		if ((rv = udc_wire_check_chunk(ch, r->cnkeys, UDC_MAX_CHUNK_RECORDS, ncats, why,
		    sizeof(why))) != 0 || ch->index != i || c->n + ch->n > c_records) {
			fail(r, "bad chunk from the CBS node: %s", rv ? why : "index or count mismatch");
			udc_wire_free(rep);
			return UDC_EPROTO;
		}
		/* Raise to a: every point is validated first. */
		if ((rv = udc_blind_records(ch->points.data, ch->n, ch->nkeys, a, r->n->wq)) != 0) {
			fail(r, "the CBS node sent an invalid group element in chunk %u", i);
			udc_wire_free(rep);
			return rv;
		}
		for (uint32_t k = 0; k < ch->n; k++)
			c->lab[c->n + k] = udc_wire_label(ch, k);
		memcpy(udc_blist_pt(c, c->n, 0), ch->points.data, ch->points.len);
		c->n += ch->n;
		udc_wire_free(rep);
		step(r, "download", (unsigned)((i + 1) * 1000ULL / c_chunks));
	}
	if (c->n != c_records) {
		fail(r, "the CBS node sent %zu records, announced %llu", c->n, (unsigned long long)c_records);
		return UDC_EPROTO;
	}
	return 0;
}

static int
finish(struct rctx *r, const struct udc_input_stats *gst, Udc__Envelope **out)
{
	Udc__Finish fin = UDC__FINISH__INIT;
	Udc__InputReport rep = UDC__INPUT_REPORT__INIT;
	int rv;

	if ((rv = udc_report_to_proto(gst, r->spec->nkeys, &rep)) != 0)
		return rv;
	fin.gemeente_input = &rep;
	for (;;) {
		Udc__Envelope req = UDC__ENVELOPE__INIT;
		req.body_case = UDC__ENVELOPE__BODY_FINISH;
		req.finish = &fin;
		if ((rv = call(r, &req, UDC__ENVELOPE__BODY_RESULT, out)) != 0)
			break;
		if ((*out)->result->ready)
			break;
		udc_wire_free(*out);
		*out = NULL;
		usleep(100 * 1000);
	}
	udc_report_proto_free(&rep);
	return rv;
}

static void
abort_peer(struct rctx *r)
{
	Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
	Udc__Abort ab = UDC__ABORT__INIT;
	char saved[sizeof(r->err)];

	/* Best effort: the reason may be that the CBS node is gone. */
	memcpy(saved, r->err, sizeof(saved));
	ab.reason = r->err;
	req.body_case = UDC__ENVELOPE__BODY_ABORT;
	req.abort = &ab;
	if (call(r, &req, UDC__ENVELOPE__BODY_ACK, &rep) == 0)
		udc_wire_free(rep);
	memcpy(r->err, saved, sizeof(saved));
}

static int
store_result(struct rctx *r, const Udc__Result *res, const struct udc_input_stats *gst,
    int64_t started)
{
	struct udc_result_meta m;
	struct udc_table *t = NULL;
	char *json = NULL, *csv = NULL, rel[96], why[256];
	size_t csvlen;
	int rv;

	if ((rv = udc_table_from_result(res, r->spec, &t, why, sizeof(why))) != 0) {
		fail(r, "bad result from the CBS node: %s", why);
		return rv;
	}
	memset(&m, 0, sizeof(m));
	snprintf(m.round_id, sizeof(m.round_id), "%s", r->job->idhex);
	snprintf(m.spec_hash, sizeof(m.spec_hash), "%s", r->spec_hex);
	m.spec = r->spec;
	m.started = started;
	m.finished = (int64_t)time(NULL);
	snprintf(m.gemeente_name, sizeof(m.gemeente_name), "%s", r->n->cfg->name);
	snprintf(m.cbs_name, sizeof(m.cbs_name), "%s", "cbs");
	m.g = *gst;
	snprintf(m.release_note, sizeof(m.release_note), "%s", res->release_note ? res->release_note : "");
	if ((rv = udc_report_from_proto(res->cbs_input, r->spec->nkeys, &m.c, why, sizeof(why))) != 0) {
		fail(r, "bad result from the CBS node: %s", why);
		goto out;
	}
	if (res->n_links_per_key != r->spec->nkeys) {
		fail(r, "bad result from the CBS node: %zu link counts for %zu keys", res->n_links_per_key,
		    r->spec->nkeys);
		rv = UDC_EPROTO;
		goto out;
	}
	for (size_t j = 0; j < r->spec->nkeys; j++)
		m.links_per_key[j] = res->links_per_key[j];
	if (udc_spec_fuzzy(r->spec)) {
		if (res->n_fuzzy_bands != 4 || res->n_fuzzy_band_lo != 5) {
			fail(r, "bad result from the CBS node: no linkage report");
			rv = UDC_EPROTO;
			goto out;
		}
		m.fuzzy_links = res->fuzzy_links;
		memcpy(m.fuzzy_bands, res->fuzzy_bands, sizeof(m.fuzzy_bands));
		memcpy(m.band_lo, res->fuzzy_band_lo, sizeof(m.band_lo));
	}
	m.suppressed = udc_table_suppressed(t);
	if ((json = udc_result_json(&m, t)) == NULL || (rv = udc_result_csv(t, r->spec, &csv, &csvlen)) != 0) {
		fail(r, "cannot format the result");
		rv = UDC_ENOMEM;
		goto out;
	}
	/* The CBS node signed the table it released: check before storing. */
	{
		uint8_t sd[80];
		char line[160], hex[65];
		udc_result_sigdata(r->job->round_id, r->spec->hash, csv, csvlen, sd);
		if (res->result_sig.len != UDC_SIGN_BYTES ||
		    udc_sign_verify(&r->n->peer_pub, UDC_SIGN_RESULT, sd, sizeof(sd),
		    res->result_sig.data) != 0) {
			fail(r, "the released table is not signed by the CBS node's pinned key %s",
			    r->n->peer_fpr);
			rv = UDC_ECRYPTO;
			goto out;
		}
		snprintf(line, sizeof(line), "signed by the CBS node's key %s (verified)\n",
		    r->n->peer_fpr);
		snprintf(rel, sizeof(rel), "rounds/%s/signer.txt", r->job->idhex);
		if ((rv = udc_store_write(r->n->cfg->state_dir, rel, line, strlen(line))) != 0)
			goto io;
		udc_hex(sd + 48, 32, hex);
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", r->job->idhex),
			UDC_AUDIT_S("result_sha256", hex), UDC_AUDIT_S("signer", r->n->peer_fpr) };
		udc_node_audit(r->n, UDC_AUDIT_RESULT_RELEASED, f, UDC_AUDIT_NFIELDS(f));
	}
	snprintf(rel, sizeof(rel), "rounds/%s/result.csv", r->job->idhex);
	if ((rv = udc_store_write(r->n->cfg->state_dir, rel, csv, csvlen)) != 0)
		goto io;
	snprintf(rel, sizeof(rel), "rounds/%s/result.json", r->job->idhex);
	if ((rv = udc_store_write(r->n->cfg->state_dir, rel, json, strlen(json))) != 0)
		goto io;
	goto out;
io:
	fail(r, "cannot store the result in %s: %s", r->n->cfg->state_dir, udc_strerror(rv));
out:
	free(json);
	free(csv);
	udc_table_free(t);
	return rv;
}

/* Both nodes sign the transcript hash and exchange signed audit heads. */
static int
seal(struct rctx *r)
{
	Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
	Udc__Seal sl = UDC__SEAL__INIT;
	struct udc_audit_signed_head head, peer;
	uint8_t th[32], sd[48], sig[UDC_SIGN_BYTES];
	char hex[65], json[512], rel[96];
	int rv;

	udc_transcript_hash(&r->tx, th);
	memcpy(sd, r->job->round_id, 16);
	memcpy(sd + 16, th, 32);
	if ((rv = udc_sign(r->n->sk, UDC_SIGN_TRANSCRIPT, sd, sizeof(sd), sig)) != 0 ||
	    (rv = udc_audit_checkpoint(r->n->audit, &head)) != 0) {
		fail(r, "cannot sign the transcript: %s", udc_strerror(rv));
		return rv;
	}
	sl.transcript_hash.data = th;
	sl.transcript_hash.len = 32;
	sl.transcript_sig.data = sig;
	sl.transcript_sig.len = sizeof(sig);
	sl.audit_seq = head.seq;
	sl.audit_hash.data = head.hash;
	sl.audit_hash.len = 32;
	sl.audit_sig.data = head.sig;
	sl.audit_sig.len = sizeof(head.sig);
	req.body_case = UDC__ENVELOPE__BODY_SEAL;
	req.seal = &sl;
	if ((rv = call(r, &req, UDC__ENVELOPE__BODY_SEAL, &rep)) != 0)
		return rv;
	const Udc__Seal *ps = rep->seal;
	if (ps->transcript_hash.len != 32 || memcmp(ps->transcript_hash.data, th, 32) != 0) {
		fail(r, "transcript mismatch: the CBS node saw other messages than this node");
		rv = UDC_EPEER;
		goto out;
	}
	if (ps->transcript_sig.len != UDC_SIGN_BYTES ||
	    udc_sign_verify(&r->n->peer_pub, UDC_SIGN_TRANSCRIPT, sd, sizeof(sd),
	    ps->transcript_sig.data) != 0) {
		fail(r, "the CBS node's transcript signature does not verify against key %s",
		    r->n->peer_fpr);
		rv = UDC_ECRYPTO;
		goto out;
	}
	if (ps->audit_hash.len != 32 || ps->audit_sig.len != UDC_SIGN_BYTES) {
		fail(r, "the CBS node sent no signed audit head");
		rv = UDC_EPROTO;
		goto out;
	}
	peer.seq = ps->audit_seq;
	memcpy(peer.hash, ps->audit_hash.data, 32);
	memcpy(peer.sig, ps->audit_sig.data, UDC_SIGN_BYTES);
	if ((rv = udc_audit_peer_head(r->n->audit, "cbs", &r->n->peer_pub, &peer)) != 0) {
		fail(r, "the CBS node's audit head is %s",
		    rv == UDC_EPEER ? "behind or forked from the one it signed before" : "not validly signed");
		goto out;
	}
	udc_hex(th, 32, hex);
	snprintf(json, sizeof(json), "{\"transcript_sha256\": \"%s\", \"gemeente_key\": \"%s\", "
	    "\"cbs_key\": \"%s\", \"both_signed\": true}\n", hex, r->n->self_fpr, r->n->peer_fpr);
	snprintf(rel, sizeof(rel), "rounds/%s/transcript.json", r->job->idhex);
	rv = udc_store_write(r->n->cfg->state_dir, rel, json, strlen(json));
out:
	udc_wire_free(rep);
	return rv;
}

void
gem_run_round(struct udc_node *n, struct gem_job *job)
{
	struct rctx r = { .n = n, .job = job };
	struct udc_scalar *a = NULL;
	struct udc_blist g, c;
	struct udc_input_stats gst;
	struct udc_input_opts io;
	Udc__Envelope *res = NULL;
	uint64_t c_records = 0;
	uint32_t c_chunks = 0;
	int64_t started = (int64_t)time(NULL);
	int rv;

	memset(&gst, 0, sizeof(gst));
	udc_blist_init(&g, 1, 0);
	udc_blist_init(&c, 1, 0);
	if ((rv = udc_spec_from_texts(job->spec_text, job->spec_len, job->schema_text, job->schema_len,
	    "spec", &r.spec, r.err, sizeof(r.err))) != 0)
		goto done;
	udc_spec_hash_hex(r.spec, r.spec_hex);
	r.cnkeys = udc_spec_fuzzy(r.spec) ? 1 : r.spec->nkeys;
	udc_blist_init(&g, r.spec->nkeys, 0);
	udc_blist_init(&c, r.cnkeys, 0);
	log_info("round %s: started (spec '%s')", job->idhex, r.spec->name);
	udc_transcript_init(&r.tx);
	{
		struct gem *gm = n->party;
		r.conn_mark = atomic_load(&gm->pipes_added);
		r.conn_up = atomic_load(&gm->pipes) > 0;
	}
	step(&r, "reading", 0);
	if (udc_file_sha256(n->cfg->input_file, r.input_digest) != 0) {
		fail(&r, "%s: cannot read the input file", n->cfg->input_file);
		rv = UDC_EIO;
		goto done;
	}
	if ((rv = udc_scalar_new(&a)) != 0) {
		fail(&r, "cannot create the round scalar");
		goto done;
	}
	{
		const char *dim = udc_node_input_opts(n, r.spec, UDC_SIDE_GEMEENTE, &io);
		if (dim != NULL) {
			fail(&r, "%s: no column mapped for the spec's gemeente label '%s' ([labels] section)",
			    n->cfg->path, dim);
			goto done;
		}
	}
	if (udc_spec_fuzzy(r.spec)) {
		if ((rv = linkage_phase(&r, a, &io, &g, &gst)) != 0)
			goto done;
	} else {
		if ((rv = udc_blist_from_input(&g, &io, job->round_id, a, n->wq, &gst, r.err,
		    sizeof(r.err))) != 0)
			goto done;
		log_info("round %s: %s: %llu rows, %llu used, %zu blinded", job->idhex, io.path,
		    (unsigned long long)gst.rows, (unsigned long long)gst.accepted, g.n);
		if (g.n == 0) {
			fail(&r, "%s: no usable records (%llu rows read)", io.path,
			    (unsigned long long)gst.rows);
			goto done;
		}
		udc_blist_shuffle(&g);
		step(&r, "propose", 0);
		if ((rv = propose(&r, g.n, NULL, NULL)) != 0)
			goto done;
	}
	if ((rv = upload(&r, &g, UDC__ENVELOPE__BODY_G_CHUNK, "upload")) != 0)
		goto done;
	udc_blist_free(&g);
	if ((rv = wait_cbs(&r, &c_records, &c_chunks)) != 0)
		goto done;
	step(&r, "download", 0);
	if ((rv = download(&r, &c, a, c_records, c_chunks)) != 0)
		goto done;
	/* a is no longer needed: wipe it before the long tail of the round. */
	udc_scalar_free(a);
	a = NULL;
	/* A fresh shuffle: CBS must not tell which of its records came back where. */
	udc_blist_shuffle(&c);
	if ((rv = upload(&r, &c, UDC__ENVELOPE__BODY_R_CHUNK, "return")) != 0)
		goto done;
	udc_blist_free(&c);
	step(&r, "counting", 0);
	if ((rv = finish(&r, &gst, &res)) != 0)
		goto done;
	if ((rv = store_result(&r, res->result, &gst, started)) != 0)
		goto done;
	step(&r, "seal", 0);
	rv = seal(&r);
done:
	udc_wire_free(res);
	udc_scalar_free(a);
	udc_blist_free(&g);
	udc_blist_free(&c);
	if (gst.rows) {
		char hex[65];
		udc_hex(r.input_digest, 32, hex);
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", job->idhex),
			UDC_AUDIT_S("file_sha256", hex), UDC_AUDIT_I("rows", gst.rows),
			UDC_AUDIT_I("used", gst.accepted) };
		udc_node_audit(n, UDC_AUDIT_INPUT_DIGEST, f, UDC_AUDIT_NFIELDS(f));
	}
	if (r.err[0] || rv != 0) {
		if (!r.err[0])
			fail(&r, "%s", udc_strerror(rv));
		if (r.spec && !r.peer_aborted && rv != UDC_ETIMEDOUT)
			abort_peer(&r);
		log_warnx("round %s failed: %s", job->idhex, r.err);
		udc_rounds_update(n->rounds, job->idhex, "failed", NULL, 0, r.err);
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", job->idhex),
			UDC_AUDIT_S("reason", r.err) };
		udc_node_audit(n, UDC_AUDIT_ROUND_FAILED, f, UDC_AUDIT_NFIELDS(f));
	} else {
		log_info("round %s: done", job->idhex);
		udc_rounds_update(n->rounds, job->idhex, "done", "done", 1000, NULL);
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", job->idhex),
			UDC_AUDIT_S("spec_hash", r.spec_hex) };
		udc_node_audit(n, UDC_AUDIT_ROUND_DONE, f, UDC_AUDIT_NFIELDS(f));
	}
	udc_spec_free(r.spec);
}
