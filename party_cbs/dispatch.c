/*
 * dispatch.c - every message from the gemeente enters here.
 *
 * The order of checks: decodable, our protocol version, a proposal (which
 * creates a session) or a known round, a body that is a request, allowed in
 * the session's state and the round's mode by the rule table below; then
 * the handler checks what depends on the request itself.  Anything refused
 * gets an Error reply with the request's ids, a log line and an audit entry
 * (rate-limited); the daemon carries on.  Requests are idempotent: a resent
 * chunk, fetch or finish gets the same answer and is never computed twice.
 *
 * The table is the specification of the CBS side of the protocol: one row
 * per request, the states and modes it is allowed in, and its handler
 * (after OpenSSH's mon_dispatch_proto20[]).  docs/protocol.md's state table
 * is checked against it by tests/unit/test_cbs_rules.c.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cbs.h"
#include "err.h"
#include "log.h"
#include "rounds.h"
#include "spec.h"

#define EXACT CBS_MODE_BIT(UDC_MODE_EXACT)
#define FUZZY CBS_MODE_BIT(UDC_MODE_FUZZY)
#define COMBINED CBS_MODE_BIT(UDC_MODE_COMBINED)
#define LIVE (SS_ANY & ~SS_BIT(SS_FAILED))

const struct cbs_rule cbs_rules[] = {
	{ UDC__ENVELOPE__BODY_L_CHUNK, -1, SS_BIT(SS_LINK), FUZZY | COMBINED, cbs_on_link_records,
	    "phase 1: handles and CLKs (combined: H(k)^a, raised to b) of the gemeente's records" },
	{ UDC__ENVELOPE__BODY_FETCH, 1, SS_BIT(SS_LINK), COMBINED, cbs_on_fetch_own,
	    "phase 1: a chunk of our own records' H(k)^b, in our order, for the gemeente to raise" },
	{ UDC__ENVELOPE__BODY_X_CHUNK, -1, SS_BIT(SS_LINK), COMBINED, cbs_on_raised_keys,
	    "phase 1: our own records' keys raised to a, in our order; the last starts the linkage" },
	{ UDC__ENVELOPE__BODY_G_CHUNK, -1, SS_BIT(SS_UPLOAD), CBS_ALL_MODES, cbs_on_gemeente_tuples,
	    "count: the gemeente's tuples H(k)^a with group labels, raised to b" },
	{ UDC__ENVELOPE__BODY_STATUS, -1, LIVE, CBS_ALL_MODES, cbs_on_status,
	    "progress: linked? own list ready? how many chunks" },
	{ UDC__ENVELOPE__BODY_FETCH, 0, SS_BIT(SS_UPLOAD), CBS_ALL_MODES, cbs_on_fetch,
	    "count: a chunk of our tuples H(k)^b with categories, once ready (also during the upload)" },
	{ UDC__ENVELOPE__BODY_R_CHUNK, -1, SS_BIT(SS_UPLOAD) | SS_BIT(SS_RETURN), CBS_ALL_MODES,
	    cbs_on_returned_tuples,
	    "count: our tuples back, raised to a and shuffled; the first moves the session to return" },
	{ UDC__ENVELOPE__BODY_FINISH, -1, SS_BIT(SS_RETURN) | SS_BIT(SS_COUNTED), CBS_ALL_MODES,
	    cbs_on_finish,
	    "the gemeente commits to its input (signed); link and count (once); nothing is released" },
	{ UDC__ENVELOPE__BODY_SEAL, -1, SS_BIT(SS_COUNTED) | SS_BIT(SS_DELIVER) | SS_BIT(SS_DONE),
	    CBS_ALL_MODES, cbs_on_seal,
	    "both sign the transcript; then disclosure control, the release recorded and signed; "
	    "the answer says how to fetch it" },
	{ UDC__ENVELOPE__BODY_FETCH, 2, SS_BIT(SS_DELIVER) | SS_BIT(SS_DONE), CBS_ALL_MODES,
	    cbs_on_fetch_release, "a chunk of the stored release (result.csv, then result.json)" },
	{ UDC__ENVELOPE__BODY_DELIVERED, -1, SS_BIT(SS_DELIVER) | SS_BIT(SS_DONE), CBS_ALL_MODES,
	    cbs_on_delivered, "the gemeente stored the release with the signed hashes: done" },
	{ UDC__ENVELOPE__BODY_ABORT, -1, SS_ANY, CBS_ALL_MODES, cbs_on_abort,
	    "the gemeente gave up (in deliver: it could not store the release); the round fails" },
};
const size_t cbs_nrules = sizeof(cbs_rules) / sizeof(cbs_rules[0]);

static const char *
a_mode_round(int mode)
{
	switch (mode) {
	case UDC_MODE_EXACT: return "an exact round";
	case UDC_MODE_FUZZY: return "a fuzzy round";
	case UDC_MODE_COMBINED: return "a combined round";
	}
	return "a round of an unknown mode";
}

const struct cbs_rule *
cbs_rule_find(Udc__Envelope__BodyCase body, uint32_t phase)
{
	for (size_t i = 0; i < cbs_nrules; i++) {
		const struct cbs_rule *r = &cbs_rules[i];
		if (r->body == body && (r->phase < 0 || (uint32_t)r->phase == phase))
			return r;
	}
	return NULL;
}

Udc__ErrorCode
cbs_rule_check(const struct cbs_rule *r, enum sess_state st, int mode, char *why, size_t whylen)
{
	const char *name = udc_wire_body_name(r->body);
	const char *suffix = r->body != UDC__ENVELOPE__BODY_FETCH ? ""
	    : r->phase == 1 ? " of phase 1" : r->phase == 2 ? " of the release" : "";

	if (!(r->modes & CBS_MODE_BIT(mode))) {
		snprintf(why, whylen, "%s%s not allowed in %s", name, suffix, a_mode_round(mode));
		return UDC__ERROR_CODE__ERR_STATE;
	}
	if (!(r->states & SS_BIT(st))) {
		snprintf(why, whylen, "%s%s not allowed in state %s", name, suffix, cbs_state_name(st));
		return UDC__ERROR_CODE__ERR_STATE;
	}
	return UDC__ERROR_CODE__ERR_NONE;
}

void
cbs_reply_init(struct cbs_reply *rp, const Udc__Envelope *req)
{
	static uint8_t zero_id[16];

	memset(rp, 0, sizeof(*rp));
	udc__envelope__init(&rp->env);
	rp->env.version = UDC_PROTO_VERSION;
	rp->env.round_id.data = req ? req->round_id.data : zero_id;
	rp->env.round_id.len = 16;
	rp->env.request_id = req ? req->request_id : 0;
}

void
cbs_reply_error(struct cbs_reply *rp, Udc__ErrorCode code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rp->reason, sizeof(rp->reason), fmt, ap);
	va_end(ap);
	udc__error__init(&rp->error);
	rp->error.code = code;
	rp->error.reason = rp->reason;
	rp->env.body_case = UDC__ENVELOPE__BODY_ERROR;
	rp->env.error = &rp->error;
}

void
cbs_reply_ack(struct cbs_reply *rp, uint32_t index, uint64_t total)
{
	udc__ack__init(&rp->ack);
	rp->ack.index = index;
	rp->ack.total = total;
	rp->env.body_case = UDC__ENVELOPE__BODY_ACK;
	rp->env.ack = &rp->ack;
}

void
cbs_note_unrecorded_refusals(struct cbs *cb, uint64_t n)
{
	struct udc_audit_field f[] = { UDC_AUDIT_I("count", n) };

	if (n == 0)
		return;
	log_warnx("%llu more peer messages refused, beyond %d at once and %.0f per second: "
	    "counted, not recorded one by one", (unsigned long long)n, CBS_REFUSAL_BURST,
	    CBS_REFUSAL_RATE);
	udc_node_audit(cb->n, UDC_AUDIT_MESSAGES_REFUSED_UNRECORDED, f, UDC_AUDIT_NFIELDS(f));
}

/* A refused message: a log line and an audit entry, within the rate limit,
 * so that a flood of junk cannot grow the audit log without bound. */
static void
note_refused(struct cbs *cb, const char *idhex, const char *type, const char *reason)
{
	struct udc_audit_field f[] = { UDC_AUDIT_S("round", idhex), UDC_AUDIT_S("type", type),
		UDC_AUDIT_S("reason", reason) };
	uint64_t before = 0;
	int record;

	pthread_mutex_lock(&cb->refusal_mtx);
	record = udc_ratelimit_take(&cb->refusals, cbs_now(), &before);
	pthread_mutex_unlock(&cb->refusal_mtx);
	cbs_note_unrecorded_refusals(cb, before);
	if (record) {
		log_warnx("round %s: %s refused: %s", idhex, type, reason);
		udc_node_audit(cb->n, UDC_AUDIT_MESSAGE_REFUSED, f, UDC_AUDIT_NFIELDS(f));
	}
}

const struct cbs_rule *
cbs_gate(const struct session *s, const Udc__Envelope *req, struct cbs_reply *rp)
{
	uint32_t phase = req->body_case == UDC__ENVELOPE__BODY_FETCH ? req->fetch->phase : 0;
	const struct cbs_rule *r = cbs_rule_find(req->body_case, phase);
	char why[200];
	Udc__ErrorCode code;

	/* A failed round answers everything but an abort with its reason. */
	if (s->state == SS_FAILED && req->body_case != UDC__ENVELOPE__BODY_ABORT) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
		return NULL;
	}
	if (r == NULL && req->body_case == UDC__ENVELOPE__BODY_FETCH) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "fetch of phase %u: no such phase",
		    phase);
		return NULL;
	}
	if (r == NULL) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "%s is not a request",
		    udc_wire_body_name(req->body_case));
		return NULL;
	}
	if ((code = cbs_rule_check(r, s->state, s->spec->mode, why, sizeof(why))) !=
	    UDC__ERROR_CODE__ERR_NONE) {
		cbs_reply_error(rp, code, "%s", why);
		return NULL;
	}
	return r;
}

void
cbs_handle(struct cbs *cb, int listener, const uint8_t *data, size_t len, nng_msg **out)
{
	Udc__Envelope *req = NULL;
	struct cbs_reply rp;
	struct session *s = NULL;
	uint8_t *buf = NULL;
	size_t blen;
	char why[256], idhex[33] = "-";
	uint8_t bad_rid[16];

	*out = NULL;
	if (udc_wire_decode(data, len, &req, why, sizeof(why)) != 0) {
		uint64_t bad_reqid;
		uint32_t code;
		int have_rid;
		cbs_reply_init(&rp, NULL);
		if (udc_wire_decode_ids(data, len, &bad_reqid, bad_rid, &have_rid, &code)) {
			rp.env.request_id = bad_reqid;
			if (have_rid) {
				rp.env.round_id.data = bad_rid;
				udc_round_id_hex(bad_rid, idhex);
			}
		}
		cbs_reply_error(&rp, code, "%s", why);
		goto send;
	}
	cbs_reply_init(&rp, req);
	udc_round_id_hex(req->round_id.data, idhex);
	if (req->body_case == UDC__ENVELOPE__BODY_PROPOSE) {
		cbs_handle_propose(cb, listener, req, &rp);
		goto send;
	}
	/* A round is known only through its gemeente's listener: another
	 * gemeente's connection learns nothing of it, not even that it exists. */
	if ((s = sess_get(cb, req->round_id.data)) != NULL && listener != 0 &&
	    s->np->listener != 0 && s->np->listener != listener) {
		sess_put(cb, s);
		s = NULL;
	}
	if (s == NULL) {
		cbs_reply_error(&rp, UDC__ERROR_CODE__ERR_UNKNOWN_ROUND,
		    "round %s is not known at the CBS node", idhex);
		goto send;
	}
	pthread_mutex_lock(&s->mtx);
	s->last_seen = udc_now();
	{
		const struct cbs_rule *r = cbs_gate(s, req, &rp);
		if (r != NULL)
			r->fn(cb, s, req, &rp);
	}
	pthread_mutex_unlock(&s->mtx);
send:
	if (rp.env.body_case == UDC__ENVELOPE__BODY_ERROR)
		note_refused(cb, idhex, req ? udc_wire_body_name(req->body_case) : "undecodable",
		    rp.reason);
	if (udc_wire_encode(&rp.env, &buf, &blen) == 0 && nng_msg_alloc(out, blen) == 0) {
		memcpy(nng_msg_body(*out), buf, blen);
		/* The transcript: what this node received and answered, once per
		 * request id, exactly as the gemeente hashes what it sent and got. */
		if (req && rp.env.body_case != UDC__ENVELOPE__BODY_ERROR &&
		    udc_transcript_counts(req->body_case)) {
			if (s == NULL)
				s = sess_get(cb, req->round_id.data);
			if (s) {
				pthread_mutex_lock(&s->mtx);
				udc_transcript_add(&s->tx, req->request_id, data, len, buf, blen);
				pthread_mutex_unlock(&s->mtx);
			}
		}
	}
	if (s)
		sess_put(cb, s);
	free(buf);
	free(rp.buf);
	udc_wire_free(req);
}
