/*
 * transport.c - NNG socket set-up for the peer link (TLS); the control channel is ctl.c.
 */
#include "transport.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <nng/protocol/reqrep0/rep.h>
#include <nng/protocol/reqrep0/req.h>
#include <nng/supplemental/tls/tls.h>

#include "config.h"
#include "err.h"
#include "file.h"
#include "secmem.h"

#define PEM_MAX (64 * 1024)

int
udc_nng_err(int nngrv)
{
	switch (nngrv) {
	case 0: return 0;
	case NNG_ETIMEDOUT: return UDC_ETIMEDOUT;
	case NNG_ECLOSED: return UDC_ECLOSED;
	case NNG_ENOMEM: return UDC_ENOMEM;
	case NNG_EMSGSIZE: return UDC_ELIMIT;
	case NNG_EPEERAUTH:
	case NNG_ECRYPTO: return UDC_ECRYPTO;
	default: return UDC_EIO;
	}
}

/* ca_file: the CA trusted for the peer's certificate (NULL: [tls] ca_file). */
static int
tls_config(nng_tls_config **out, const struct udc_config *cfg, const char *ca_file, char *err,
    size_t errlen)
{
	nng_tls_config *tls = NULL;
	char *cert = NULL, *key = NULL;
	int server = cfg->role == UDC_ROLE_CBS;
	int rv, nrv;

	if ((rv = udc_keyfile_check(cfg->key_file, err, errlen)) != 0)
		return rv;
	if ((nrv = nng_tls_config_alloc(&tls, server ? NNG_TLS_MODE_SERVER : NNG_TLS_MODE_CLIENT)) != 0) {
		snprintf(err, errlen, "TLS: %s", nng_strerror(nrv));
		return udc_nng_err(nrv);
	}
	if ((nrv = nng_tls_config_auth_mode(tls, NNG_TLS_AUTH_MODE_REQUIRED)) != 0 ||
	    (nrv = nng_tls_config_version(tls, NNG_TLS_1_2, NNG_TLS_1_3)) != 0) {
		snprintf(err, errlen, "TLS: %s", nng_strerror(nrv));
		rv = udc_nng_err(nrv);
		goto out;
	}
	if (ca_file == NULL)
		ca_file = cfg->ca_file;
	if ((nrv = nng_tls_config_ca_file(tls, ca_file)) != 0) {
		snprintf(err, errlen, "%s: cannot load CA certificate: %s", ca_file, nng_strerror(nrv));
		rv = UDC_EIO;
		goto out;
	}
	/* The key in locked memory, read from the descriptor checked. */
	if ((rv = udc_file_read(cfg->cert_file, PEM_MAX, 0, &cert, NULL, err, errlen)) != 0 ||
	    (rv = udc_file_read(cfg->key_file, PEM_MAX, UDC_FILE_SECRET | UDC_FILE_PRIVATE, &key,
	    NULL, err, errlen)) != 0)
		goto out;
	if ((nrv = nng_tls_config_own_cert(tls, cert, key, NULL)) != 0) {
		snprintf(err, errlen, "%s, %s: cannot load certificate and key: %s", cfg->cert_file,
		    cfg->key_file, nng_strerror(nrv));
		rv = UDC_EIO;
		goto out;
	}
	if (!server && (nrv = nng_tls_config_server_name(tls, cfg->server_name)) != 0) {
		snprintf(err, errlen, "TLS server name: %s", nng_strerror(nrv));
		rv = UDC_EIO;
		goto out;
	}
out:
	free(cert);
	udc_secmem_free(key);
	if (rv != 0) {
		nng_tls_config_free(tls);
		return rv;
	}
	*out = tls;
	return 0;
}

int
udc_peer_open(nng_socket *out, const struct udc_config *cfg, char *err, size_t errlen)
{
	return udc_peer_open_notify(out, cfg, NULL, NULL, err, errlen);
}

int
udc_peer_open_notify(nng_socket *out, const struct udc_config *cfg, nng_pipe_cb cb, void *arg,
    char *err, size_t errlen)
{
	nng_socket s = NNG_SOCKET_INITIALIZER;
	nng_tls_config *tls = NULL;
	nng_listener l;
	nng_dialer d;
	int server = cfg->role == UDC_ROLE_CBS;
	int rv, nrv;

	if ((rv = tls_config(&tls, cfg, NULL, err, errlen)) != 0)
		return rv;
	nrv = server ? nng_rep0_open(&s) : nng_req0_open(&s);
	if (nrv != 0)
		goto nngfail;
	if ((nrv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, cfg->max_message)) != 0)
		goto nngfail;
	if (cb && ((nrv = nng_pipe_notify(s, NNG_PIPE_EV_ADD_POST, cb, arg)) != 0 ||
	    (nrv = nng_pipe_notify(s, NNG_PIPE_EV_REM_POST, cb, arg)) != 0))
		goto nngfail;
	if (server) {
		if ((nrv = nng_listener_create(&l, s, cfg->peer_listen)) != 0 ||
		    (nrv = nng_listener_set_size(l, NNG_OPT_RECVMAXSZ, cfg->max_message)) != 0 ||
		    (nrv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, tls)) != 0)
			goto nngfail;
		if ((nrv = nng_listener_start(l, 0)) != 0) {
			snprintf(err, errlen, "listen on %s: %s", cfg->peer_listen, nng_strerror(nrv));
			rv = udc_nng_err(nrv);
			goto out;
		}
	} else {
		if ((nrv = nng_socket_set_ms(s, NNG_OPT_REQ_RESENDTIME, cfg->resend_ms)) != 0 ||
		    (nrv = nng_socket_set_ms(s, NNG_OPT_RECVTIMEO, cfg->peer_timeout_ms)) != 0 ||
		    (nrv = nng_socket_set_ms(s, NNG_OPT_SENDTIMEO, cfg->peer_timeout_ms)) != 0 ||
		    (nrv = nng_dialer_create(&d, s, cfg->peer_connect)) != 0 ||
		    (nrv = nng_dialer_set_size(d, NNG_OPT_RECVMAXSZ, cfg->max_message)) != 0 ||
		    /* Reconnect every 100 ms after the CBS node restarts or drops
		     * the connection, without backoff (max 0), so that a restarted
		     * node is found at once. */
		    (nrv = nng_dialer_set_ms(d, NNG_OPT_RECONNMINT, 100)) != 0 ||
		    (nrv = nng_dialer_set_ms(d, NNG_OPT_RECONNMAXT, 0)) != 0 ||
		    (nrv = nng_dialer_set_ptr(d, NNG_OPT_TLS_CONFIG, tls)) != 0)
			goto nngfail;
		/* Non-blocking: the dialer keeps retrying in the background, so
		 * the gemeente may start before the CBS node. */
		if ((nrv = nng_dialer_start(d, NNG_FLAG_NONBLOCK)) != 0)
			goto nngfail;
	}
	*out = s;
	rv = 0;
	goto out;
nngfail:
	snprintf(err, errlen, "peer socket: %s", nng_strerror(nrv));
	rv = udc_nng_err(nrv);
out:
	/* The socket holds its own reference to the TLS configuration. */
	nng_tls_config_free(tls);
	if (rv != 0 && nng_socket_id(s) > 0)
		nng_close(s);
	return rv;
}

/* One more TLS listener on the CBS node's socket: its own URL and CA. */
static int
add_listener(nng_socket s, const struct udc_config *cfg, const char *url, const char *ca_file,
    int *id, char *err, size_t errlen)
{
	nng_tls_config *tls = NULL;
	nng_listener l;
	int rv, nrv;

	if ((rv = tls_config(&tls, cfg, ca_file, err, errlen)) != 0)
		return rv;
	if ((nrv = nng_listener_create(&l, s, url)) != 0 ||
	    (nrv = nng_listener_set_size(l, NNG_OPT_RECVMAXSZ, cfg->max_message)) != 0 ||
	    (nrv = nng_listener_set_ptr(l, NNG_OPT_TLS_CONFIG, tls)) != 0 ||
	    (nrv = nng_listener_start(l, 0)) != 0) {
		snprintf(err, errlen, "listen on %s: %s", url, nng_strerror(nrv));
		rv = udc_nng_err(nrv);
	} else {
		*id = nng_listener_id(l);
	}
	nng_tls_config_free(tls); /* the listener holds its own reference */
	return rv;
}

int
udc_peer_open_cbs(nng_socket *out, const struct udc_config *cfg, int *listeners, char *err,
    size_t errlen)
{
	nng_socket s = NNG_SOCKET_INITIALIZER;
	int rv, nrv;

	for (size_t i = 0; i <= cfg->npeers; i++)
		listeners[i] = 0;
	if ((nrv = nng_rep0_open(&s)) != 0 ||
	    (nrv = nng_socket_set_size(s, NNG_OPT_RECVMAXSZ, cfg->max_message)) != 0) {
		snprintf(err, errlen, "peer socket: %s", nng_strerror(nrv));
		rv = udc_nng_err(nrv);
		goto out;
	}
	if (cfg->peer_listen &&
	    (rv = add_listener(s, cfg, cfg->peer_listen, NULL, &listeners[0], err, errlen)) != 0)
		goto out;
	for (size_t i = 0; i < cfg->npeers; i++) {
		const struct udc_peer_conf *p = &cfg->peers[i];
		if (p->listen && (rv = add_listener(s, cfg, p->listen, p->ca_file, &listeners[1 + i],
		    err, errlen)) != 0) {
			size_t o = strlen(err);
			snprintf(err + o, errlen - o, " ([gemeente %s] listen)", p->id);
			goto out;
		}
	}
	*out = s;
	return 0;
out:
	if (nng_socket_id(s) > 0)
		nng_close(s);
	return rv;
}

int
udc_req_call(nng_socket s, const void *buf, size_t len, nng_msg **reply)
{
	nng_msg *m;
	int nrv;

	if ((nrv = nng_msg_alloc(&m, len)) != 0)
		return udc_nng_err(nrv);
	memcpy(nng_msg_body(m), buf, len);
	if ((nrv = nng_sendmsg(s, m, 0)) != 0) {
		nng_msg_free(m);
		return udc_nng_err(nrv);
	}
	if ((nrv = nng_recvmsg(s, reply, 0)) != 0)
		return udc_nng_err(nrv);
	return 0;
}

/*
 * A simulated network latency for the benchmark (scripts/bench.sh, docs/
 * benchmarks.md): UDC_BENCH_PEER_DELAY_MS=D holds every request made with
 * udc_req_call_ctx D ms before it is sent and its reply D ms after it
 * arrived, i.e. D ms one way and 2D ms per round trip, as `tc qdisc ...
 * netem delay D` on the link would (bandwidth is not limited).  Each request
 * waits on its own thread, so requests in flight at once overlap their
 * delays as they would on a real link.  Read once; unset, empty or 0: no
 * delay; anything but 0..10000 is ignored.  Only for measuring: it changes
 * no message and no check.
 */
static pthread_once_t delay_once = PTHREAD_ONCE_INIT;
static int delay_ms;

static void
delay_read(void)
{
	const char *e = getenv("UDC_BENCH_PEER_DELAY_MS");
	char *end;
	long v;

	if (e == NULL || *e == '\0')
		return;
	errno = 0;
	v = strtol(e, &end, 10);
	if (errno == 0 && *end == '\0' && v >= 0 && v <= 10000)
		delay_ms = (int)v;
}

static void
delay_wait(void)
{
	pthread_once(&delay_once, delay_read);
	if (delay_ms > 0) {
		struct timespec ts = { delay_ms / 1000, (long)(delay_ms % 1000) * 1000000L };
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
}

int
udc_req_call_ctx(nng_socket s, int timeout_ms, int resend_ms, const void *buf, size_t len,
    nng_msg **reply)
{
	nng_ctx ctx;
	nng_aio *aio = NULL;
	nng_msg *m = NULL;
	int nrv;

	*reply = NULL;
	if ((nrv = nng_ctx_open(&ctx, s)) != 0)
		return udc_nng_err(nrv);
	if ((nrv = nng_ctx_set_ms(ctx, NNG_OPT_REQ_RESENDTIME, resend_ms)) != 0 ||
	    (nrv = nng_aio_alloc(&aio, NULL, NULL)) != 0 || (nrv = nng_msg_alloc(&m, len)) != 0)
		goto out;
	memcpy(nng_msg_body(m), buf, len);
	delay_wait(); /* the request on its way (benchmark only, see above) */
	nng_aio_set_timeout(aio, timeout_ms);
	nng_aio_set_msg(aio, m);
	nng_ctx_send(ctx, aio);
	nng_aio_wait(aio);
	if ((nrv = nng_aio_result(aio)) != 0) {
		nng_msg_free(m); /* not sent: still ours */
		goto out;
	}
	nng_aio_set_timeout(aio, timeout_ms);
	nng_ctx_recv(ctx, aio);
	nng_aio_wait(aio);
	if ((nrv = nng_aio_result(aio)) == 0) {
		*reply = nng_aio_get_msg(aio);
		delay_wait(); /* the reply on its way back */
	}
out:
	if (aio)
		nng_aio_free(aio);
	nng_ctx_close(ctx);
	return nrv ? udc_nng_err(nrv) : 0;
}
