/*
 * peer.c - the gemeente's requests to the CBS node: one request, one reply.
 *
 * Every request carries the round id and a fresh request id; the CBS node
 * answers a resent request with the same reply, so NNG's resend is harmless.
 * A reply for another round or request, or of an unexpected type, is a
 * protocol error; an Error reply carries the CBS node's reason.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "blind.h"
#include "clkctx.h"
#include "err.h"
#include "guard.h"
#include "log.h"
#include "result.h"
#include "roundkey.h"
#include "round.h"
#include "rounds.h"
#include "secmem.h"
#include "spec.h"
#include "store.h"
#include "table.h"
#include "transport.h"

void
gem_fail(struct gem_round *r, const char *fmt, ...)
{
	va_list ap;

	pthread_mutex_lock(&r->mtx);
	if (r->err[0] == '\0') { /* keep the first reason */
		va_start(ap, fmt);
		vsnprintf(r->err, sizeof(r->err), fmt, ap);
		va_end(ap);
	}
	pthread_mutex_unlock(&r->mtx);
}

int
gem_failed(struct gem_round *r)
{
	int f;

	pthread_mutex_lock(&r->mtx);
	f = r->err[0] != '\0';
	pthread_mutex_unlock(&r->mtx);
	return f;
}

void
gem_step(struct gem_round *r, const char *name, unsigned permille)
{
	udc_rounds_update(r->n->rounds, r->job->idhex, "running", name, permille, NULL);
}

void
gem_round_open(struct gem_round *r)
{
	struct gem *g = r->n->party;

	pthread_mutex_init(&r->mtx, NULL);
	udc_transcript_init(&r->tx);
	r->conn_mark = atomic_load(&g->pipes_added);
	r->conn_up = atomic_load(&g->pipes) > 0;
}

void
gem_round_close(struct gem_round *r)
{
	udc_transcript_clear(&r->tx);
	pthread_mutex_destroy(&r->mtx);
}

/* One request, one reply, on a context of its own: several threads of a
 * round may have requests in flight at once.  An Error reply from the CBS
 * node becomes UDC_EPEER with its reason; a reply for another round or
 * request, or of an unexpected type, is a protocol error. */
int
gem_call(struct gem_round *r, Udc__Envelope *req, Udc__Envelope__BodyCase want, Udc__Envelope **out)
{
	uint8_t *buf = NULL;
	size_t len;
	nng_msg *m = NULL;
	Udc__Envelope *rep = NULL;
	char why[256];
	int rv, timeout_ms;

	req->version = UDC_PROTO_VERSION;
	req->round_id.data = r->job->round_id;
	req->round_id.len = 16;
	pthread_mutex_lock(&r->mtx);
	req->request_id = ++r->reqid;
	pthread_mutex_unlock(&r->mtx);
	if ((rv = udc_wire_encode(req, &buf, &len)) != 0)
		return rv;
	timeout_ms = r->timeout_ms ? r->timeout_ms : r->n->cfg->peer_timeout_ms;
	rv = udc_req_call_ctx(r->n->peer, timeout_ms, r->n->cfg->resend_ms, buf, len, &m);
	if (rv != 0)
		free(buf);
	if (rv == UDC_ETIMEDOUT) {
		struct gem *g = r->n->party;
		r->job->peer_timed_out = 1;
		/* NNG reports no TLS handshake failure on a REQ socket: tell a
		 * peer that never connected from one that went away. */
		if (r->peer_answered || r->conn_up || atomic_load(&g->pipes) > 0 ||
		    atomic_load(&g->pipes_added) != r->conn_mark)
			gem_fail(r, "lost the CBS node during %s: no answer within %d s",
			    udc_wire_body_name(req->body_case), timeout_ms / 1000);
		else {
			char last[320];
			unsigned long nf = udc_guard_last_failure(g->guard, last, sizeof(last));
			if (nf)
				gem_fail(r, "no TLS connection to the CBS node at %s within %d s: %s "
				    "(%lu failed attempts; check both nodes' CA, certificates and "
				    "server_name)", r->n->cfg->peer_connect, timeout_ms / 1000, last, nf);
			else
				gem_fail(r, "no TLS connection to the CBS node at %s within %d s "
				    "(unreachable, or a certificate was refused: check both nodes' CA "
				    "and certificates)", r->n->cfg->peer_connect, timeout_ms / 1000);
		}
		return rv;
	}
	if (rv != 0) {
		gem_fail(r, "sending %s to the CBS node: %s", udc_wire_body_name(req->body_case), udc_strerror(rv));
		return rv;
	}
	pthread_mutex_lock(&r->mtx);
	r->peer_answered = 1;
	r->last_call = udc_now();
	pthread_mutex_unlock(&r->mtx);
	rv = udc_wire_decode(nng_msg_body(m), nng_msg_len(m), &rep, why, sizeof(why));
	if (rv == 0 && rep->body_case == want && udc_transcript_counts(req->body_case))
		udc_transcript_add(&r->tx, req->request_id, buf, len, nng_msg_body(m), nng_msg_len(m));
	free(buf);
	buf = NULL;
	nng_msg_free(m);
	if (rv != 0) {
		gem_fail(r, "bad reply from the CBS node: %s", why);
		return rv;
	}
	if (memcmp(rep->round_id.data, r->job->round_id, 16) != 0 || rep->request_id != req->request_id) {
		gem_fail(r, "reply from the CBS node for another round or request");
		rv = UDC_EPROTO;
		goto out;
	}
	if (rep->body_case == UDC__ENVELOPE__BODY_ERROR) {
		gem_fail(r, "the CBS node refused %s: %s", udc_wire_body_name(req->body_case),
		    rep->error->reason ? rep->error->reason : "no reason given");
		pthread_mutex_lock(&r->mtx);
		r->peer_aborted = 1;
		pthread_mutex_unlock(&r->mtx);
		rv = UDC_EPEER;
		goto out;
	}
	if (rep->body_case != want) {
		gem_fail(r, "the CBS node answered %s with %s", udc_wire_body_name(req->body_case),
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


/* Status poll; *out holds the reply (caller frees). */
int
gem_status(struct gem_round *r, Udc__Envelope **out)
{
	Udc__Envelope req = UDC__ENVELOPE__INIT;
	Udc__Status st = UDC__STATUS__INIT;

	if (atomic_load(&r->n->stopping)) {
		gem_fail(r, "the gemeente daemon is stopping");
		return UDC_ECLOSED;
	}
	req.body_case = UDC__ENVELOPE__BODY_STATUS;
	req.status = &st;
	return gem_call(r, &req, UDC__ENVELOPE__BODY_STATUS_REPLY, out);
}


void
gem_abort_peer(struct gem_round *r)
{
	Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
	Udc__Abort ab = UDC__ABORT__INIT;
	char saved[sizeof(r->err)];

	/* Best effort: the reason may be that the CBS node is gone. */
	memcpy(saved, r->err, sizeof(saved));
	ab.reason = r->err;
	req.body_case = UDC__ENVELOPE__BODY_ABORT;
	req.abort = &ab;
	if (gem_call(r, &req, UDC__ENVELOPE__BODY_ACK, &rep) == 0)
		udc_wire_free(rep);
	memcpy(r->err, saved, sizeof(saved));
}

/* Keep the session at the CBS node alive at least this often while reading
 * (its session_idle is 10 s at the least). */
#define KEEPALIVE_S 5

void
gem_read_progress(void *arg, uint64_t done, uint64_t total)
{
	struct gem_round *r = arg;
	Udc__Envelope *rep = NULL;

	long long last;

	gem_step(r, "reading", total ? (unsigned)(done * 1000 / total) : 0);
	pthread_mutex_lock(&r->mtx);
	last = r->last_call;
	pthread_mutex_unlock(&r->mtx);
	if (gem_failed(r) || udc_now() - last < KEEPALIVE_S)
		return;
	/* A failure is kept in r->err and ends the round once the read is done. */
	if (gem_status(r, &rep) == 0)
		udc_wire_free(rep);
}
