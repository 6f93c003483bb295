/*
 * main.c - gemeented: the gemeente node.
 *
 * Rounds are queued by "udcctl round start" and run one at a time by a
 * runner thread, so two rounds never share a socket or mix data.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "guard.h"
#include "gemeente.h"
#include "log.h"
#include "rand.h"
#include "rounds.h"
#include "secmem.h"
#include "round.h"
#include "transport.h"
#include "spec.h"
#include "store.h"

static void *
closer(void *p)
{
	nng_socket s;
	memcpy(&s, p, sizeof(s));
	free(p);
	nng_close(s);
	return NULL;
}

static void pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg);

/* After the CBS node stopped answering, the connection NNG keeps may be
 * wedged on a send to a peer that is gone (and closing it can block), so
 * the next round gets a fresh socket; the old one is closed on a thread
 * of its own. */
static void
reset_peer(struct udc_node *n)
{
	struct gem *g = n->party;
	nng_socket fresh, *old;
	pthread_t t;
	char err[512];

	nng_pipe_notify(n->peer, NNG_PIPE_EV_ADD_POST, NULL, NULL);
	nng_pipe_notify(n->peer, NNG_PIPE_EV_REM_POST, NULL, NULL);
	udc_guard_stop(g->guard);
	g->guard = NULL;
	atomic_store(&g->pipes, 0);
	if (udc_peer_open_notify(&fresh, n->cfg, pipe_event, g, err, sizeof(err)) != 0) {
		log_warnx("cannot open a new connection to the CBS node: %s", err);
		return;
	}
	if ((old = malloc(sizeof(*old))) != NULL) {
		*old = n->peer;
		if (pthread_create(&t, NULL, closer, old) == 0)
			pthread_detach(t);
		else
			free(old);
	}
	n->peer = fresh;
	if (udc_guard_start(&g->guard, n->peer, n->cfg) != 0)
		log_warnx("cannot watch the new connection to the CBS node");
	log_info("the connection to the CBS node was reset after a timeout");
}

/* Rounds this daemon was running when it stopped (a crash, a kill, a
 * power cut) died with their scalars; the CBS node still holds their
 * sessions, which would count against its max_sessions until its
 * session_idle.  Tell it at once (Abort, best effort: if it cannot be
 * reached within ABORT_WAIT_MS it fails them itself after session_idle). */
#define ABORT_WAIT_MS 10000

static void
abort_interrupted(struct udc_node *n)
{
	struct udc_round x[16];
	size_t k = udc_rounds_take_interrupted(n->rounds, x, sizeof(x) / sizeof(x[0]));

	for (size_t i = 0; i < k; i++) {
		struct gem_job job = { .next = NULL };
		struct gem_round r = { .n = n, .job = &job, .timeout_ms = ABORT_WAIT_MS };
		Udc__Envelope req = UDC__ENVELOPE__INIT, *rep = NULL;
		Udc__Abort ab = UDC__ABORT__INIT;
		char reason[128];

		if (udc_round_id_parse(x[i].id, job.round_id) != 0)
			continue;
		memcpy(job.idhex, x[i].id, sizeof(job.idhex));
		gem_round_open(&r);
		snprintf(reason, sizeof(reason), "the gemeente daemon restarted during the round (step '%s')",
		    x[i].step);
		ab.reason = reason;
		req.body_case = UDC__ENVELOPE__BODY_ABORT;
		req.abort = &ab;
		/* gem_call keeps why it failed in r.err (no answer, no
		 * connection, the CBS node's refusal) */
		if (gem_call(&r, &req, UDC__ENVELOPE__BODY_ACK, &rep) == 0)
			log_info("round %s: interrupted; the CBS node was told and fails it too", job.idhex);
		else
			log_warnx("round %s: interrupted; the CBS node was not told (%s): it fails the round "
			    "after its session_idle", job.idhex, r.err);
		udc_wire_free(rep);
		gem_round_close(&r);
	}
}

static void *
runner(void *p)
{
	struct udc_node *n = p;
	struct gem *g = n->party;

	abort_interrupted(n);
	for (;;) {
		struct gem_job *job;

		pthread_mutex_lock(&g->mtx);
		while (g->head == NULL && !g->stop)
			pthread_cond_wait(&g->cv, &g->mtx);
		if (g->stop) {
			pthread_mutex_unlock(&g->mtx);
			break;
		}
		job = g->head;
		g->head = job->next;
		if (g->head == NULL)
			g->tail = NULL;
		pthread_mutex_unlock(&g->mtx);
		gem_run_round(n, job);
		/* Every round secret (scalar, CLK keys, exchange keys) must be
		 * wiped by now: only the node's own key stays. */
		log_info("round %s: %ld secrets in locked memory after the round", job->idhex,
		    udc_secmem_live());
		if (job->peer_timed_out && !g->stop)
			reset_peer(n);
		free(job->spec_text);
		free(job->schema_text);
		free(job);
	}
	return NULL;
}

/* NNG does not report TLS handshake failures on a REQ socket; counting the
 * pipes that came up lets a timed-out round say which of the two it was. */
static void
pipe_event(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct gem *g = arg;
	(void)p;
	if (ev == NNG_PIPE_EV_ADD_POST) {
		atomic_fetch_add(&g->pipes, 1);
		atomic_fetch_add(&g->pipes_added, 1);
		log_info("TLS connection to the CBS node established");
	} else if (ev == NNG_PIPE_EV_REM_POST) {
		atomic_fetch_sub(&g->pipes, 1);
		log_info("TLS connection to the CBS node closed");
	}
}

static int
gem_start(struct udc_node *n, char *err, size_t errlen)
{
	struct gem *g = calloc(1, sizeof(*g));

	if (g == NULL)
		return UDC_ENOMEM;
	pthread_mutex_init(&g->mtx, NULL);
	pthread_cond_init(&g->cv, NULL);
	n->party = g;
	nng_pipe_notify(n->peer, NNG_PIPE_EV_ADD_POST, pipe_event, g);
	nng_pipe_notify(n->peer, NNG_PIPE_EV_REM_POST, pipe_event, g);
	if (udc_guard_start(&g->guard, n->peer, n->cfg) != 0) {
		snprintf(err, errlen, "cannot start the connection watch");
		free(g);
		n->party = NULL;
		return UDC_ENOMEM;
	}
	if (pthread_create(&g->thr, NULL, runner, n) != 0) {
		udc_guard_stop(g->guard);
		free(g);
		n->party = NULL;
		return UDC_ENOMEM;
	}
	return 0;
}

static void
gem_stop(struct udc_node *n)
{
	struct gem *g = n->party;
	struct gem_job *j;

	pthread_mutex_lock(&g->mtx);
	g->stop = 1;
	pthread_cond_broadcast(&g->cv);
	pthread_mutex_unlock(&g->mtx);
	pthread_join(g->thr, NULL);
	while ((j = g->head) != NULL) {
		g->head = j->next;
		udc_rounds_update(n->rounds, j->idhex, "failed", NULL, 0, "the daemon stopped before the round ran");
		free(j->spec_text);
		free(j->schema_text);
		free(j);
	}
	udc_guard_stop(g->guard);
	free(g);
}

static void
gem_round_start(struct udc_node *n, const Udcctl__RoundStart *req, uint64_t uid,
    Udcctl__Reply *rep, char *buf, size_t buflen)
{
	static Udcctl__RoundInfo ri;
	static struct udc_round x;
	struct gem *g = n->party;
	struct udc_spec *spec = NULL;
	struct gem_job *job = NULL;
	char err[512], hex[65];
	uint8_t sig[UDC_SIGN_BYTES];
	int rv;

	if ((rv = udc_spec_from_texts(req->spec_text.data, req->spec_text.len, req->schema_text.data,
	    req->schema_text.len, "spec", &spec, err, sizeof(err))) != 0) {
		udc_reply_error(rep, rv, buf, buflen, "%s", err);
		return;
	}
	udc_spec_hash_hex(spec, hex);
	if (!udc_store_is_approved(n->cfg->state_dir, hex) || udc_approval_load(n, hex, sig) != 0) {
		udc_unapproved_message(n, spec, err, sizeof(err));
		udc_reply_error(rep, UDC_EREFUSED, buf, buflen, "%s", err);
		goto out;
	}
	if ((job = calloc(1, sizeof(*job))) == NULL ||
	    (job->spec_text = malloc(req->spec_text.len + 1)) == NULL ||
	    (job->schema_text = malloc(req->schema_text.len + 1)) == NULL) {
		udc_reply_error(rep, UDC_ENOMEM, buf, buflen, "out of memory");
		goto out;
	}
	memcpy(job->spec_text, req->spec_text.data, req->spec_text.len);
	job->spec_len = req->spec_text.len;
	if (req->schema_text.len)
		memcpy(job->schema_text, req->schema_text.data, req->schema_text.len);
	job->schema_len = req->schema_text.len;
	job->accept_rejects = req->accept_rejects;
	udc_random_buf(job->round_id, sizeof(job->round_id));
	udc_round_id_hex(job->round_id, job->idhex);
	if ((rv = udc_rounds_add(n->rounds, job->idhex, hex, "queued")) != 0) {
		udc_reply_error(rep, rv, buf, buflen, "cannot record the round: %s", udc_strerror(rv));
		goto out;
	}
	log_info("round %s queued (spec '%s' %s)", job->idhex, spec->name, hex);
	{
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", job->idhex),
			UDC_AUDIT_S("spec_hash", hex), UDC_AUDIT_I("uid", (int64_t)uid),
			UDC_AUDIT_I("accept_rejects", req->accept_rejects ? 1 : 0) };
		udc_node_audit(n, UDC_AUDIT_ROUND_PROPOSED, f, UDC_AUDIT_NFIELDS(f));
	}
	udc_rounds_get(n->rounds, job->idhex, &x);
	udcctl__round_info__init(&ri);
	ri.round_id = x.id;
	ri.state = x.state;
	ri.step = x.step;
	ri.spec_hash = x.spec_hash;
	ri.started = x.started;
	rep->round = &ri;
	pthread_mutex_lock(&g->mtx);
	if (g->tail)
		g->tail->next = job;
	else
		g->head = job;
	g->tail = job;
	pthread_cond_signal(&g->cv);
	pthread_mutex_unlock(&g->mtx);
	job = NULL;
out:
	if (job) {
		free(job->spec_text);
		free(job->schema_text);
		free(job);
	}
	udc_spec_free(spec);
}

static int
gem_peer_connected(struct udc_node *n)
{
	struct gem *g = n->party;
	return g != NULL && atomic_load(&g->pipes) > 0;
}

int
main(int argc, char **argv)
{
	static const struct udc_party_ops ops = {
		.role = UDC_ROLE_GEMEENTE,
		.progname = "gemeented",
		.start = gem_start,
		.stop = gem_stop,
		.round_start = gem_round_start,
		.peer_connected = gem_peer_connected,
	};
	return udc_daemon_main(argc, argv, &ops);
}
