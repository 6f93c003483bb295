/*
 * test_daemonctl.c - the daemon's control handlers (common/node/daemon.c)
 * behind the control channel (common/node/ctl.c).
 *
 * The shared daemon start-up runs in a thread of this program with a test
 * party (role gemeente, so the peer socket only dials and needs no peer):
 * real configuration, signing keys, certificates (scripts/gen-certs.sh),
 * state directory, audit log and control socket, all in a temporary
 * directory.  Requests go over the socket as udcctl sends them, and each
 * reply's status, error and fields are checked: a malformed frame and an
 * unknown command get errors and the channel stays up; spec approve writes
 * a signature that verifies with the node's public key over the hash
 * computed here from the spec text, spec list shows it, revoke withdraws it
 * (and a second revoke, or a hash that is not one, is refused); round start
 * reaches the party, round status/list/result read the register, results
 * come in pieces; round decide is refused at a node without it; node
 * status and metrics answer; the audit log holds who asked for what and
 * verifies.  SIGTERM (sent to the daemon's thread) stops it cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ctl.h"
#include "ctl.pb-c.h"
#include "daemon.h"
#include "err.h"
#include "rounds.h"
#include "secmem.h"
#include "sign.h"
#include "spec.h"
#include "store.h"

static char dir[64], conf[128], sock[128], state_dir[128];
static pthread_t daemon_thread;
static int daemon_status = -1;
static int starts;

/* The party: "round start" adds a round to the register; the first one
 * stays running, the second is done with a result of 100 bytes. */
static void
test_round_start(struct udc_node *n, const Udcctl__RoundStart *req, uint64_t uid,
    Udcctl__Reply *rep, char *buf, size_t buflen)
{
	static Udcctl__RoundInfo ri;
	static char id[33];
	char rel[96], result[101];

	if (uid != (uint64_t)getuid() || req->spec_text.len == 0) {
		udc_reply_error(rep, UDC_EINVAL, buf, buflen, "party saw uid %llu", (unsigned long long)uid);
		return;
	}
	snprintf(id, sizeof(id), "%032x", ++starts);
	udc_rounds_add(n->rounds, id, "00", "running");
	if (starts == 2) {
		memset(result, 'r', 100);
		memcpy(result, "a,b\n", 4);
		snprintf(rel, sizeof(rel), "rounds/%s/result.csv", id);
		udc_store_write(n->cfg->state_dir, rel, result, 100);
		udc_rounds_update(n->rounds, id, "done", "released", 1000, NULL);
	}
	udcctl__round_info__init(&ri);
	ri.round_id = id;
	rep->round = &ri;
}

/* The peer is never up here (nobody listens on port 9). */
static int
test_peer_connected(struct udc_node *n)
{
	(void)n;
	return 0;
}

static const struct udc_party_ops ops = {
	.role = UDC_ROLE_GEMEENTE,
	.progname = "testd",
	.round_start = test_round_start,
	.peer_connected = test_peer_connected,
};

static void *
run_daemon(void *p)
{
	char *argv[] = { "testd", "-c", conf, NULL };

	(void)p;
	daemon_status = udc_daemon_main(3, argv, &ops);
	return NULL;
}

static int
setup(void **state)
{
	const char *src = getenv("UDC_SOURCE_DIR");
	char cmd[1024], err[256], path[256], path2[256];
	FILE *fp;
	sigset_t set;

	(void)state;
	if (src == NULL)
		src = ".";
	strcpy(dir, "/tmp/udc-ctl-XXXXXX");
	if (mkdtemp(dir) == NULL)
		return -1;
	snprintf(cmd, sizeof(cmd), "%s/scripts/gen-certs.sh %s/certs >/dev/null", src, dir);
	if (system(cmd) != 0) {
		print_error("cannot make certificates with scripts/gen-certs.sh\n");
		return -1;
	}
	snprintf(path, sizeof(path), "%s/gemeente.sign", dir);
	snprintf(path2, sizeof(path2), "%s/gemeente.pub", dir);
	if (udc_sign_keygen(path, path2, err, sizeof(err)) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/cbs.sign", dir);
	snprintf(path2, sizeof(path2), "%s/cbs.pub", dir);
	if (udc_sign_keygen(path, path2, err, sizeof(err)) != 0)
		return -1;
	snprintf(conf, sizeof(conf), "%s/gemeente.conf", dir);
	snprintf(sock, sizeof(sock), "%s/ctl.sock", dir);
	snprintf(state_dir, sizeof(state_dir), "%s/state", dir);
	if ((fp = fopen(conf, "w")) == NULL)
		return -1;
	fprintf(fp,
	    "[node]\nrole = gemeente\nname = test-gemeente\nstate_dir = %s\ncontrol_socket = %s\n"
	    "log_level = error\nsigning_key = %s/gemeente.sign\n"
	    "[peer]\npublic_key = %s/cbs.pub\nconnect = tls+tcp://127.0.0.1:9\n"
	    "server_name = cbs.udclink.test\n"
	    "[tls]\nca_file = %s/certs/ca.pem\ncert_file = %s/certs/gemeente.pem\n"
	    "key_file = %s/certs/gemeente.key\n"
	    "[input]\nfile = %s/none.csv\n[fields]\nbsn = bsn\n",
	    state_dir, sock, dir, dir, dir, dir, dir, dir);
	fclose(fp);
	/* Signals for the daemon go to its thread alone (pthread_kill). */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	if (pthread_create(&daemon_thread, NULL, run_daemon, NULL) != 0)
		return -1;
	/* Ready when the control socket answers (at most 30 s). */
	for (int i = 0; i < 3000; i++) {
		int fd;
		if (udc_ctl_connect(sock, &fd, err, sizeof(err)) == 0) {
			close(fd);
			return 0;
		}
		if (daemon_status != -1)
			break;
		usleep(10000);
	}
	print_error("the daemon did not start (status %d); its log is on stderr\n", daemon_status);
	return -1;
}

static int
teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Sends raw bytes, returns the unpacked reply (the caller frees). */
static Udcctl__Reply *
call_raw(const void *req, size_t len)
{
	int fd;
	uint8_t *rep = NULL;
	size_t replen = 0;
	char err[256];
	Udcctl__Reply *r;

	assert_int_equal(udc_ctl_connect(sock, &fd, err, sizeof(err)), 0);
	assert_int_equal(udc_ctl_call(fd, req, len, 10000, &rep, &replen), 0);
	close(fd);
	r = udcctl__reply__unpack(NULL, replen, rep);
	free(rep);
	assert_non_null(r);
	return r;
}

static Udcctl__Reply *
call(const Udcctl__Request *req)
{
	size_t len = udcctl__request__get_packed_size(req);
	uint8_t *buf = malloc(len ? len : 1);
	Udcctl__Reply *r;

	assert_non_null(buf);
	udcctl__request__pack(req, buf);
	r = call_raw(buf, len);
	free(buf);
	return r;
}

static void
expect_error(Udcctl__Reply *r, int status, const char *text)
{
	if (r->status != status || r->error == NULL || strstr(r->error, text) == NULL)
		fail_msg("want status %d with '%s', got %d '%s'", status, text, r->status,
		    r->error ? r->error : "");
	udcctl__reply__free_unpacked(r, NULL);
}

static void
expect_ok(Udcctl__Reply *r)
{
	if (r->status != 0)
		fail_msg("want status 0, got %d '%s'", r->status, r->error ? r->error : "");
}

static void
test_malformed_and_unknown(void **state)
{
	/* field 1 (round_start) as a length-delimited value running past the end */
	static const uint8_t cut[] = { 0x0a, 0x7f, 0x01 };
	/* field 99, a varint: a command this daemon does not know */
	static const uint8_t unknown[] = { 0x98, 0x06, 0x01 };

	(void)state;
	expect_error(call_raw(cut, sizeof(cut)), UDC_EPROTO, "malformed control request");
	expect_error(call_raw(unknown, sizeof(unknown)), UDC_EINVAL, "unknown control command");
	expect_error(call_raw("", 0), UDC_EINVAL, "unknown control command");
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *fp = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(fp);
	fseek(fp, 0, SEEK_END);
	n = ftell(fp);
	rewind(fp);
	assert_non_null(buf = malloc((size_t)n + 1));
	assert_int_equal(fread(buf, 1, (size_t)n, fp), (size_t)n);
	buf[n] = '\0';
	fclose(fp);
	*len = (size_t)n;
	return buf;
}

static char spec_hex[65];

static void
test_spec_approve_list_revoke(void **state)
{
	const char *src = getenv("UDC_SOURCE_DIR");
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__SpecApprove ap = UDCCTL__SPEC_APPROVE__INIT;
	Udcctl__SpecList sl = UDCCTL__SPEC_LIST__INIT;
	Udcctl__SpecRevoke rv = UDCCTL__SPEC_REVOKE__INIT;
	Udcctl__Reply *r;
	struct udc_spec *spec = NULL;
	struct udc_sign_pub pub;
	char path[512], err[512], *text, *sig;
	size_t len, siglen;

	(void)state;
	snprintf(path, sizeof(path), "%s/docs/examples/denhaag-kinderarmoede.spec", src ? src : ".");
	text = slurp(path, &len);
	/* The expected hash, from the spec module directly. */
	assert_int_equal(udc_spec_from_texts((uint8_t *)text, len, NULL, 0, "x", &spec, err,
	    sizeof(err)), 0);
	udc_spec_hash_hex(spec, spec_hex);

	/* Nothing approved yet. */
	req.cmd_case = UDCCTL__REQUEST__CMD_SPEC_LIST;
	req.spec_list = &sl;
	r = call(&req);
	expect_ok(r);
	assert_int_equal(r->n_specs, 0);
	udcctl__reply__free_unpacked(r, NULL);

	/* A spec that does not parse: the parser's reason, nothing stored. */
	req.cmd_case = UDCCTL__REQUEST__CMD_SPEC_APPROVE;
	req.spec_approve = &ap;
	ap.spec_text.data = (uint8_t *)"[spec]\nname = broken\nmode = sideways\n";
	ap.spec_text.len = strlen((char *)ap.spec_text.data);
	ap.source = "broken.spec";
	r = call(&req);
	assert_true(r->status < 0);
	assert_non_null(strstr(r->error, "broken.spec"));
	udcctl__reply__free_unpacked(r, NULL);

	ap.spec_text.data = (uint8_t *)text;
	ap.spec_text.len = len;
	ap.source = "denhaag-kinderarmoede.spec";
	r = call(&req);
	expect_ok(r);
	assert_non_null(strstr(r->text, spec_hex));
	assert_non_null(strstr(r->text, "approved spec"));
	udcctl__reply__free_unpacked(r, NULL);

	/* The approval is this node's signature over the spec hash. */
	snprintf(path, sizeof(path), "%s/gemeente.pub", dir);
	assert_int_equal(udc_sign_pub_load(path, &pub, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/approvals/%s.sig", state_dir, spec_hex);
	sig = slurp(path, &siglen);
	assert_int_equal(siglen, UDC_SIGN_BYTES);
	assert_int_equal(udc_sign_verify(&pub, UDC_SIGN_APPROVAL, spec->hash, 32, (uint8_t *)sig), 0);
	free(sig);

	req.cmd_case = UDCCTL__REQUEST__CMD_SPEC_LIST;
	r = call(&req);
	expect_ok(r);
	assert_int_equal(r->n_specs, 1);
	assert_string_equal(r->specs[0]->spec_hash, spec_hex);
	assert_string_equal(r->specs[0]->name, spec->name);
	assert_true(r->specs[0]->approved > 0);
	udcctl__reply__free_unpacked(r, NULL);

	/* Revoke: a hash that is not one, then the right one, then again. */
	req.cmd_case = UDCCTL__REQUEST__CMD_SPEC_REVOKE;
	req.spec_revoke = &rv;
	rv.spec_hash = "ABC";
	expect_error(call(&req), UDC_EINVAL, "'ABC' is not a spec hash");
	rv.spec_hash = spec_hex;
	r = call(&req);
	expect_ok(r);
	assert_non_null(strstr(r->text, "revoked"));
	udcctl__reply__free_unpacked(r, NULL);
	assert_int_equal(access(path, F_OK), -1); /* the signature is gone */
	expect_error(call(&req), UDC_ENOTFOUND, "is not approved on this node");

	req.cmd_case = UDCCTL__REQUEST__CMD_SPEC_LIST;
	r = call(&req);
	expect_ok(r);
	assert_int_equal(r->n_specs, 0);
	udcctl__reply__free_unpacked(r, NULL);
	udc_spec_free(spec);
	free(text);
}

static void
test_rounds(void **state)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__RoundStart rs = UDCCTL__ROUND_START__INIT;
	Udcctl__RoundQuery q = UDCCTL__ROUND_QUERY__INIT;
	Udcctl__RoundList rl = UDCCTL__ROUND_LIST__INIT;
	Udcctl__RoundDecision rd = UDCCTL__ROUND_DECISION__INIT;
	Udcctl__Reply *r;
	char running[33], done[33];

	(void)state;
	req.cmd_case = UDCCTL__REQUEST__CMD_ROUND_LIST;
	req.round_list = &rl;
	r = call(&req);
	expect_ok(r);
	assert_int_equal(r->n_rounds, 0);
	udcctl__reply__free_unpacked(r, NULL);

	/* round start reaches the party, with the caller's uid */
	req.cmd_case = UDCCTL__REQUEST__CMD_ROUND_START;
	req.round_start = &rs;
	rs.spec_text.data = (uint8_t *)"x";
	rs.spec_text.len = 1;
	r = call(&req);
	expect_ok(r);
	assert_non_null(r->round);
	snprintf(running, sizeof(running), "%s", r->round->round_id);
	udcctl__reply__free_unpacked(r, NULL);
	r = call(&req);
	expect_ok(r);
	snprintf(done, sizeof(done), "%s", r->round->round_id);
	udcctl__reply__free_unpacked(r, NULL);

	req.cmd_case = UDCCTL__REQUEST__CMD_ROUND_STATUS;
	req.round_status = &q;
	q.round_id = running;
	r = call(&req);
	expect_ok(r);
	assert_string_equal(r->round->round_id, running);
	assert_string_equal(r->round->state, "running");
	assert_string_equal(r->round->spec_name, ""); /* not approved here */
	udcctl__reply__free_unpacked(r, NULL);
	q.round_id = "0123";
	expect_error(call(&req), UDC_ENOTFOUND, "no round 0123 on this node");

	req.cmd_case = UDCCTL__REQUEST__CMD_ROUND_LIST;
	r = call(&req);
	expect_ok(r);
	assert_int_equal(r->n_rounds, 2);
	udcctl__reply__free_unpacked(r, NULL);

	/* results: only of a round that is done, in a known format, in pieces */
	req.cmd_case = UDCCTL__REQUEST__CMD_ROUND_RESULT;
	req.round_result = &q;
	q.round_id = running;
	expect_error(call(&req), UDC_ESTATE, "is running");
	q.round_id = done;
	q.format = "xml";
	expect_error(call(&req), UDC_EINVAL, "unknown format 'xml'");
	q.format = "csv";
	q.max_bytes = 64;
	r = call(&req);
	expect_ok(r);
	assert_int_equal(r->total_bytes, 100);
	assert_int_equal(r->data.len, 64);
	assert_memory_equal(r->data.data, "a,b\nrrrr", 8);
	assert_int_equal(r->result_sig.len, 0); /* none stored */
	udcctl__reply__free_unpacked(r, NULL);
	q.offset = 64;
	r = call(&req);
	expect_ok(r);
	assert_int_equal(r->data.len, 36);
	udcctl__reply__free_unpacked(r, NULL);
	q.format = "json";
	q.offset = 0;
	r = call(&req);
	assert_int_equal(r->status, UDC_ENOTFOUND); /* no JSON form stored */
	udcctl__reply__free_unpacked(r, NULL);

	/* a node that does not decide rounds says where they are decided */
	req.cmd_case = UDCCTL__REQUEST__CMD_ROUND_DECIDE;
	req.round_decide = &rd;
	rd.round_id = running;
	rd.approve = 1;
	expect_error(call(&req), UDC_EREFUSED, "approved one by one at the CBS node; this is the "
	    "testd node");
}

static void
test_status_metrics_audit(void **state)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__NodeStatus ns = UDCCTL__NODE_STATUS__INIT;
	Udcctl__Metrics me = UDCCTL__METRICS__INIT;
	Udcctl__AuditVerify av = UDCCTL__AUDIT_VERIFY__INIT;
	Udcctl__Reply *r;
	char path[256], *log;
	size_t len;

	(void)state;
	req.cmd_case = UDCCTL__REQUEST__CMD_NODE_STATUS;
	req.node_status = &ns;
	r = call(&req);
	expect_ok(r);
	assert_non_null(r->node);
	assert_string_equal(r->node->name, "test-gemeente");
	assert_string_equal(r->node->role, "gemeente");
	assert_string_equal(r->node->peer_url, "tls+tcp://127.0.0.1:9");
	assert_int_equal(r->node->peer_reachable, 0); /* nobody there, and why */
	assert_non_null(strstr(r->node->peer_error, "127.0.0.1:9"));
	assert_int_equal(r->node->rounds_total, 2);
	assert_true(r->node->cert_not_after > (int64_t)time(NULL));
	udcctl__reply__free_unpacked(r, NULL);

	req.cmd_case = UDCCTL__REQUEST__CMD_METRICS;
	req.metrics = &me;
	r = call(&req);
	expect_ok(r);
	assert_non_null(strstr(r->text, "udclink_tls_cert_expiry_seconds"));
	udcctl__reply__free_unpacked(r, NULL);

	req.cmd_case = UDCCTL__REQUEST__CMD_AUDIT_VERIFY;
	req.audit_verify = &av;
	r = call(&req);
	expect_ok(r);
	assert_non_null(strstr(r->text, "audit log OK"));
	udcctl__reply__free_unpacked(r, NULL);

	/* who asked for what, for the changing requests */
	snprintf(path, sizeof(path), "%s/audit.log", state_dir);
	log = slurp(path, &len);
	assert_non_null(strstr(log, "\"spec approve\""));
	assert_non_null(strstr(log, "\"spec revoke\""));
	assert_non_null(strstr(log, spec_hex));
	assert_non_null(strstr(log, "\"round start\""));
	free(log);
}

static void
test_stop(void **state)
{
	(void)state;
	assert_int_equal(pthread_kill(daemon_thread, SIGTERM), 0);
	assert_int_equal(pthread_join(daemon_thread, NULL), 0);
	assert_int_equal(daemon_status, 0);
	assert_int_equal(access(sock, F_OK), -1); /* the socket file is removed */
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_malformed_and_unknown),
		cmocka_unit_test(test_spec_approve_list_revoke),
		cmocka_unit_test(test_rounds),
		cmocka_unit_test(test_status_metrics_audit),
		cmocka_unit_test(test_stop),
	};

	if (udc_crypto_init() != 0)
		return 1;
	return cmocka_run_group_tests(tests, setup, teardown);
}
