/*
 * test_transport.c - the peer link's socket set-up (common/node/transport.c).
 *
 * Without a peer: NNG errors map to udc errors; a key file open to others,
 * a missing certificate, a CA file or certificate file that holds no
 * certificate and an address NNG cannot use are each refused with the file
 * or address named; a request without anyone to answer it times out after
 * the configured time.  Over loopback (a listening CBS socket and a dialing
 * gemeente socket in this process, certificates made by
 * scripts/gen-certs.sh in a temporary directory): a request and its reply
 * on the socket and on a context; a CBS certificate with another name, or
 * a gemeente certificate from another CA, never gets a request through;
 * the pipe callback sees the connection.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>
#include <nng/nng.h>

#include "config.h"
#include "err.h"
#include "secmem.h"
#include "transport.h"

static char dir[64];
static char path_buf[16][256];
static int path_next;

static const char *
path(const char *fmt, const char *arg)
{
	char *p = path_buf[path_next++ % 16];

	snprintf(p, 256, "%s/", dir);
	snprintf(p + strlen(p), 256 - strlen(p), fmt, arg);
	return p;
}

static int
setup(void **state)
{
	const char *src = getenv("UDC_SOURCE_DIR");
	char cmd[1024];

	(void)state;
	strcpy(dir, "/tmp/udc-transport-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "%s/scripts/gen-certs.sh %s/certs >/dev/null && "
	    "%s/scripts/gen-certs.sh %s/other 'another CA' >/dev/null",
	    src ? src : ".", dir, src ? src : ".", dir);
	if (system(cmd) != 0) {
		print_error("cannot make certificates with scripts/gen-certs.sh (UDC_SOURCE_DIR=%s)\n",
		    src ? src : "unset");
		return -1;
	}
	return 0;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* A port nobody listens on now. */
static int
free_port(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	socklen_t l = sizeof(a);
	int fd = socket(AF_INET, SOCK_STREAM, 0);

	assert_true(fd >= 0);
	assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
	assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &l), 0);
	close(fd);
	return ntohs(a.sin_port);
}

struct node_cfg {
	struct udc_config cfg;
	char addr[64];
};

static void
cfg_init(struct node_cfg *n, enum udc_role role, int port, const char *certdir)
{
	memset(n, 0, sizeof(*n));
	n->cfg.role = role;
	snprintf(n->addr, sizeof(n->addr), "tls+tcp://127.0.0.1:%d", port);
	n->cfg.peer_listen = n->addr;
	n->cfg.peer_connect = n->addr;
	n->cfg.server_name = "cbs.udclink.test";
	n->cfg.peer_timeout_ms = 2000;
	n->cfg.resend_ms = 60000;
	n->cfg.max_message = 64 * 1024;
	n->cfg.ca_file = strdup(path("%s/ca.pem", certdir));
	n->cfg.cert_file = strdup(path(role == UDC_ROLE_CBS ? "%s/cbs.pem" : "%s/gemeente.pem",
	    certdir));
	n->cfg.key_file = strdup(path(role == UDC_ROLE_CBS ? "%s/cbs.key" : "%s/gemeente.key",
	    certdir));
}

static void
cfg_free(struct node_cfg *n)
{
	free(n->cfg.ca_file);
	free(n->cfg.cert_file);
	free(n->cfg.key_file);
}

static void
test_nng_err(void **state)
{
	(void)state;
	assert_int_equal(udc_nng_err(0), 0);
	assert_int_equal(udc_nng_err(NNG_ETIMEDOUT), UDC_ETIMEDOUT);
	assert_int_equal(udc_nng_err(NNG_ECLOSED), UDC_ECLOSED);
	assert_int_equal(udc_nng_err(NNG_ENOMEM), UDC_ENOMEM);
	assert_int_equal(udc_nng_err(NNG_EMSGSIZE), UDC_ELIMIT);
	assert_int_equal(udc_nng_err(NNG_EPEERAUTH), UDC_ECRYPTO);
	assert_int_equal(udc_nng_err(NNG_ECRYPTO), UDC_ECRYPTO);
	assert_int_equal(udc_nng_err(NNG_ECONNREFUSED), UDC_EIO);
	assert_int_equal(udc_nng_err(NNG_EADDRINUSE), UDC_EIO);
}

static void
expect_refused(struct node_cfg *n, int want, const char *in_err1, const char *in_err2)
{
	nng_socket s = NNG_SOCKET_INITIALIZER;
	char err[512] = "";
	int rv = udc_peer_open(&s, &n->cfg, err, sizeof(err));

	if (rv != want)
		fail_msg("%s: want %s, got %s (%s)", in_err1, udc_strerror(want), udc_strerror(rv), err);
	assert_int_equal(nng_socket_id(s), -1); /* not set, nothing left open */
	if (strstr(err, in_err1) == NULL || (in_err2 && strstr(err, in_err2) == NULL))
		fail_msg("error '%s' lacks '%s' / '%s'", err, in_err1, in_err2 ? in_err2 : "");
}

static void
test_config_refusals(void **state)
{
	struct node_cfg n;
	int port = free_port();

	(void)state;
	/* A private key others can read. */
	cfg_init(&n, UDC_ROLE_CBS, port, "certs");
	assert_int_equal(chmod(n.cfg.key_file, 0640), 0);
	expect_refused(&n, UDC_EPERM, n.cfg.key_file, "too open");
	assert_int_equal(chmod(n.cfg.key_file, 0600), 0);
	cfg_free(&n);

	/* A certificate that is not there. */
	cfg_init(&n, UDC_ROLE_GEMEENTE, port, "certs");
	free(n.cfg.cert_file);
	n.cfg.cert_file = strdup(path("%s/none.pem", "certs"));
	expect_refused(&n, UDC_EIO, n.cfg.cert_file, "No such file");
	cfg_free(&n);

	/* A CA file that holds no certificate (a key). */
	cfg_init(&n, UDC_ROLE_CBS, port, "certs");
	free(n.cfg.ca_file);
	n.cfg.ca_file = strdup(path("%s/ca.key", "certs"));
	expect_refused(&n, UDC_EIO, n.cfg.ca_file, "cannot load CA certificate");
	cfg_free(&n);

	/* A certificate file that holds no certificate (a key).  (A
	 * certificate with another node's key is not noticed here: NNG 1.5's
	 * TLS layer does not compare them; --check-config does, nodecheck.c.) */
	cfg_init(&n, UDC_ROLE_GEMEENTE, port, "certs");
	free(n.cfg.cert_file);
	n.cfg.cert_file = strdup(path("%s/cbs.key", "certs"));
	expect_refused(&n, UDC_EIO, "cannot load certificate and key", n.cfg.cert_file);
	cfg_free(&n);

	/* Addresses NNG cannot use. */
	cfg_init(&n, UDC_ROLE_CBS, port, "certs");
	n.cfg.peer_listen = "carrier-pigeon://127.0.0.1:1";
	expect_refused(&n, UDC_EIO, "peer socket", NULL);
	n.cfg.peer_listen = n.addr;
	cfg_free(&n);
	cfg_init(&n, UDC_ROLE_GEMEENTE, port, "certs");
	n.cfg.peer_connect = "tls+tcp://";
	expect_refused(&n, UDC_EIO, "peer socket", NULL);
	cfg_free(&n);
}

static void
test_listen_twice(void **state)
{
	struct node_cfg n;
	nng_socket a = NNG_SOCKET_INITIALIZER;
	char err[512] = "";

	(void)state;
	cfg_init(&n, UDC_ROLE_CBS, free_port(), "certs");
	assert_int_equal(udc_peer_open(&a, &n.cfg, err, sizeof(err)), 0);
	expect_refused(&n, UDC_EIO, "listen on", n.addr);
	nng_close(a);
	cfg_free(&n);
}

/* The CBS end: answers each request with "re:" and the request, until
 * stopped. */
struct server {
	nng_socket s;
	pthread_t t;
	atomic_int stop;
	atomic_int served;
	atomic_int pipes;
};

static void *
serve(void *p)
{
	struct server *sv = p;

	while (!atomic_load(&sv->stop)) {
		nng_msg *m;
		if (nng_recvmsg(sv->s, &m, 0) != 0)
			continue; /* receive timeout: look at stop again */
		nng_msg_insert(m, "re:", 3);
		if (nng_sendmsg(sv->s, m, 0) != 0)
			nng_msg_free(m);
		else
			atomic_fetch_add(&sv->served, 1);
	}
	return NULL;
}

static void
on_pipe(nng_pipe p, nng_pipe_ev ev, void *arg)
{
	struct server *sv = arg;

	(void)p;
	if (ev == NNG_PIPE_EV_ADD_POST)
		atomic_fetch_add(&sv->pipes, 1);
}

static void
server_start(struct server *sv, struct node_cfg *n)
{
	char err[512] = "";

	memset(sv, 0, sizeof(*sv));
	if (udc_peer_open_notify(&sv->s, &n->cfg, on_pipe, sv, err, sizeof(err)) != 0)
		fail_msg("server: %s", err);
	assert_int_equal(nng_socket_set_ms(sv->s, NNG_OPT_RECVTIMEO, 100), 0);
	assert_int_equal(pthread_create(&sv->t, NULL, serve, sv), 0);
}

static void
server_stop(struct server *sv)
{
	atomic_store(&sv->stop, 1);
	pthread_join(sv->t, NULL);
	nng_close(sv->s);
}

static void
expect_reply(nng_msg *r, const char *req, size_t len)
{
	assert_non_null(r);
	assert_int_equal(nng_msg_len(r), 3 + len);
	assert_memory_equal(nng_msg_body(r), "re:", 3);
	assert_memory_equal((uint8_t *)nng_msg_body(r) + 3, req, len);
	nng_msg_free(r);
}

static void
test_loopback(void **state)
{
	struct node_cfg cbs, gem;
	static struct server sv; /* outlives a failed test's frame */
	nng_socket g = NNG_SOCKET_INITIALIZER;
	nng_msg *r = NULL;
	char err[512] = "";
	int port = free_port();

	(void)state;
	cfg_init(&cbs, UDC_ROLE_CBS, port, "certs");
	cfg_init(&gem, UDC_ROLE_GEMEENTE, port, "certs");
	/* The gemeente may start first: its dialer keeps trying. */
	if (udc_peer_open(&g, &gem.cfg, err, sizeof(err)) != 0)
		fail_msg("gemeente: %s", err);
	server_start(&sv, &cbs);

	/* The first request may wait for the dialer's next try (100 ms). */
	assert_int_equal(udc_req_call(g, "hello", 5, &r), 0);
	expect_reply(r, "hello", 5);
	assert_true(atomic_load(&sv.pipes) >= 1);
	assert_int_equal(udc_req_call_ctx(g, 2000, 60000, "ctx", 3, &r), 0);
	expect_reply(r, "ctx", 3);

	/* Not tested here: a message over the CBS end's max_message.  NNG
	 * 1.5.2 drops the connection as it should, but in about one run in
	 * eight the gemeente's socket then neither recovers within 15 s nor
	 * closes (nng_close hangs), so the case cannot be a reliable test; the
	 * limit itself is covered end to end by tests/attacks
	 * (attack_10_tls_failures: a frame larger than max_message closes its
	 * connection, and the CBS log says so). */
	nng_close(g);
	server_stop(&sv);
	cfg_free(&cbs);
	cfg_free(&gem);
}

/* The gemeente refuses a CBS whose certificate names another host or comes
 * from another CA: no request reaches it. */
static void
test_wrong_peer(void **state)
{
	struct node_cfg cbs, gem;
	static struct server sv; /* outlives a failed test's frame */
	nng_socket g = NNG_SOCKET_INITIALIZER;
	nng_msg *r = NULL;
	char err[512] = "";
	int port = free_port();

	(void)state;
	cfg_init(&cbs, UDC_ROLE_CBS, port, "certs");
	cfg_init(&gem, UDC_ROLE_GEMEENTE, port, "certs");
	gem.cfg.server_name = "cbs.elsewhere.test";
	gem.cfg.peer_timeout_ms = 800;
	server_start(&sv, &cbs);
	assert_int_equal(udc_peer_open(&g, &gem.cfg, err, sizeof(err)), 0);
	assert_int_equal(udc_req_call(g, "x", 1, &r), UDC_ETIMEDOUT);
	nng_close(g);
	cfg_free(&gem);

	/* A gemeente certified by another CA: the CBS end refuses it. */
	cfg_init(&gem, UDC_ROLE_GEMEENTE, port, "other");
	free(gem.cfg.ca_file);
	gem.cfg.ca_file = strdup(path("%s/ca.pem", "certs")); /* it trusts the right CA */
	gem.cfg.peer_timeout_ms = 800;
	assert_int_equal(udc_peer_open(&g, &gem.cfg, err, sizeof(err)), 0);
	assert_int_equal(udc_req_call(g, "y", 1, &r), UDC_ETIMEDOUT);
	nng_close(g);
	assert_int_equal(atomic_load(&sv.served), 0);
	server_stop(&sv);
	cfg_free(&cbs);
	cfg_free(&gem);
}

/* No peer at all: the configured timeout, not a hang. */
static void
test_no_peer(void **state)
{
	struct node_cfg gem;
	nng_socket g = NNG_SOCKET_INITIALIZER;
	nng_msg *r = NULL;
	char err[512] = "";

	(void)state;
	cfg_init(&gem, UDC_ROLE_GEMEENTE, free_port(), "certs");
	gem.cfg.peer_timeout_ms = 300;
	assert_int_equal(udc_peer_open(&g, &gem.cfg, err, sizeof(err)), 0);
	assert_int_equal(udc_req_call(g, "z", 1, &r), UDC_ETIMEDOUT);
	assert_int_equal(udc_req_call_ctx(g, 300, 100, "z", 1, &r), UDC_ETIMEDOUT);
	assert_null(r);
	nng_close(g);
	/* A closed socket: closed, not an I/O error. */
	assert_int_equal(udc_req_call(g, "z", 1, &r), UDC_ECLOSED);
	cfg_free(&gem);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nng_err),
		cmocka_unit_test(test_config_refusals),
		cmocka_unit_test(test_listen_twice),
		cmocka_unit_test(test_loopback),
		cmocka_unit_test(test_wrong_peer),
		cmocka_unit_test(test_no_peer),
	};

	if (udc_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
