/*
 * main.c - cbsd: the CBS node.
 *
 * Service threads each own an NNG context on the REP socket and answer one
 * request at a time with blocking calls (never inside an aio callback);
 * the crypto inside a request runs on the shared worker pool.  A reaper
 * fails rounds whose gemeente went silent.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <sys/stat.h>

#include "guard.h"
#include "history.h"

#include "cbs.h"
#include "err.h"
#include "log.h"
#include "statepath.h"

static void *
service(void *p)
{
	struct cbs *cb = p;
	nng_ctx ctx;
	nng_aio *aio;
	int nrv;

	if ((nrv = nng_ctx_open(&ctx, cb->n->peer)) != 0 || (nrv = nng_aio_alloc(&aio, NULL, NULL)) != 0) {
		log_warnx("service thread: %s", nng_strerror(nrv));
		return NULL;
	}
	for (;;) {
		nng_msg *m, *out = NULL;
		nng_pipe from;

		nng_aio_set_timeout(aio, NNG_DURATION_INFINITE);
		nng_ctx_recv(ctx, aio);
		nng_aio_wait(aio);
		if ((nrv = nng_aio_result(aio)) != 0) {
			if (nrv == NNG_ECLOSED || atomic_load(&cb->n->stopping))
				break;
			log_warnx("peer receive: %s", nng_strerror(nrv));
			continue;
		}
		m = nng_aio_get_msg(aio);
		from = nng_msg_get_pipe(m);
		udc_guard_touch(cb->guard, from);
		/* the listener says which gemeente's TLS binding the message came
		 * through (a [gemeente ID] listen with its own CA) */
		cbs_handle(cb, nng_listener_id(nng_pipe_listener(from)), nng_msg_body(m),
		    nng_msg_len(m), &out);
		nng_msg_free(m);
		if (out == NULL)
			continue;
		/* A peer that sends and never reads must not hold this thread:
		 * the reply waits send_timeout at most, then its connection goes. */
		nng_aio_set_msg(aio, out);
		nng_aio_set_timeout(aio, cb->n->cfg->send_timeout_ms);
		nng_ctx_send(ctx, aio);
		nng_aio_wait(aio);
		if ((nrv = nng_aio_result(aio)) != 0) {
			nng_msg_free(out);
			if (nrv == NNG_ECLOSED)
				break;
			if (nrv == NNG_ETIMEDOUT) {
				log_warnx("peer connections: a reply was not taken within %d s ([peer] "
				    "send_timeout): closing that connection",
				    cb->n->cfg->send_timeout_ms / 1000);
				nng_pipe_close(from);
			}
		}
	}
	nng_aio_free(aio);
	nng_ctx_close(ctx);
	return NULL;
}

static void *
reaper(void *p)
{
	struct cbs *cb = p;
	struct timespec ts;

	pthread_mutex_lock(&cb->mtx);
	while (!cb->stop) {
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += 1;
		pthread_cond_timedwait(&cb->cv, &cb->mtx, &ts);
		if (cb->stop)
			break;
		pthread_mutex_unlock(&cb->mtx);
		cbs_reap(cb, 0);
		pthread_mutex_lock(&cb->mtx);
	}
	pthread_mutex_unlock(&cb->mtx);
	return NULL;
}

static int
cbs_start(struct udc_node *n, char *err, size_t errlen)
{
	struct cbs *cb = calloc(1, sizeof(*cb));

	if (cb == NULL)
		return UDC_ENOMEM;
	cb->n = n;
	pthread_mutex_init(&cb->mtx, NULL);
	pthread_cond_init(&cb->cv, NULL);
	pthread_mutex_init(&cb->refusal_mtx, NULL);
	udc_ratelimit_init(&cb->refusals, CBS_REFUSAL_BURST, CBS_REFUSAL_RATE, cbs_now());
	udc_ratelimit_init(&cb->proposals, (unsigned)n->cfg->proposals_per_minute,
	    n->cfg->proposals_per_minute / 60.0, cbs_now());
	udc_ratelimit_init(&cb->key_searches, CBS_KEY_SEARCH_BURST, CBS_KEY_SEARCH_RATE, cbs_now());
	n->party = cb;
	/* Per gemeente: its release history and privacy ledger (STATE/releases
	 * and STATE/privacy-ledger for the one gemeente of a node without
	 * [gemeente ID] sections, STATE/peers/ID/ for each of several) and its
	 * limits. */
	if ((cb->peers = calloc(n->npeers, sizeof(*cb->peers))) == NULL)
		return UDC_ENOMEM;
	for (size_t i = 0; i < n->npeers; i++) {
		const struct udc_peer_conf *pc = n->peers[i].conf;
		struct cbs_peer *cp = &cb->peers[i];
		int ppm = pc ? pc->proposals_per_minute : n->cfg->proposals_per_minute;
		char dir[4200];

		cp->max_sessions = pc ? pc->max_sessions : n->cfg->max_sessions;
		udc_ratelimit_init(&cp->proposals, (unsigned)ppm, ppm / 60.0, cbs_now());
		if (udc_state_dir_in(cp->ledger, sizeof(cp->ledger), n->cfg->state_dir, n->peers[i].prefix,
		    UDC_STATE_LEDGER) != 0 ||
		    udc_state_dir_in(dir, sizeof(dir), n->cfg->state_dir, n->peers[i].prefix,
		    UDC_STATE_RELEASES) != 0) {
			snprintf(err, errlen, "%s: the state directory's path is too long", n->cfg->state_dir);
			return UDC_ELIMIT;
		}
		if (udc_history_open(&cp->history, dir) != 0) {
			snprintf(err, errlen, "%s: cannot open the release history", dir);
			return UDC_ENOMEM;
		}
	}
	if (udc_guard_start(&cb->guard, n->peer, n->cfg) != 0) {
		snprintf(err, errlen, "cannot start the connection guard");
		return UDC_ENOMEM;
	}
	for (size_t i = 0; i < n->npeers; i++) {
		const struct udc_peer_conf *pc = n->peers[i].conf;
		char what[48];
		if (pc == NULL || pc->listen == NULL)
			continue;
		snprintf(what, sizeof(what), "gemeente %s", pc->id);
		if (udc_guard_listener_limit(cb->guard, n->peers[i].listener, pc->max_connections,
		    what) != 0) {
			snprintf(err, errlen, "more than %d gemeenten with a listener of their own",
			    UDC_GUARD_LIMITS);
			return UDC_ELIMIT;
		}
	}
	for (int i = 0; i < CBS_SERVICE_THREADS; i++) {
		if (pthread_create(&cb->svc[i], NULL, service, cb) != 0)
			break;
		cb->nsvc++;
	}
	if (cb->nsvc == 0 || pthread_create(&cb->reaper, NULL, reaper, cb) != 0) {
		snprintf(err, errlen, "cannot start threads: %s", strerror(errno));
		return UDC_ENOMEM;
	}
	return 0;
}

static void
cbs_stop(struct udc_node *n)
{
	struct cbs *cb = n->party;

	/* The peer socket is closed: service threads are leaving. */
	for (int i = 0; i < cb->nsvc; i++)
		pthread_join(cb->svc[i], NULL);
	pthread_mutex_lock(&cb->mtx);
	cb->stop = 1;
	pthread_cond_broadcast(&cb->cv);
	pthread_mutex_unlock(&cb->mtx);
	pthread_join(cb->reaper, NULL);
	/* A preparer thread may still be reading its list: wait for it, since
	 * it holds a reference to its session and to us. */
	for (;;) {
		int busy = 0;
		cbs_reap(cb, 1);
		pthread_mutex_lock(&cb->mtx);
		busy = cb->sessions != NULL;
		pthread_mutex_unlock(&cb->mtx);
		if (!busy)
			break;
		usleep(50 * 1000);
	}
	/* refusals counted since the last entry: recorded before leaving */
	cbs_note_unrecorded_refusals(cb, udc_ratelimit_flush(&cb->refusals));
	for (size_t i = 0; cb->peers && i < n->npeers; i++)
		udc_history_close(cb->peers[i].history);
	free(cb->peers);
	udc_guard_stop(cb->guard);
	free(cb);
}

int
main(int argc, char **argv)
{
	static const struct udc_party_ops ops = {
		.role = UDC_ROLE_CBS,
		.progname = "cbsd",
		.start = cbs_start,
		.stop = cbs_stop,
		.round_start = NULL,
		.round_decide = cbs_round_decide,
	};
	return udc_daemon_main(argc, argv, &ops);
}
