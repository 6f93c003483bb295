/*
 * daemon.c - process wiring common to both nodes.
 *
 * Threads: main (waits for a signal), control (serves udcctl on the ipc
 * socket, one request at a time: every command is quick), the worker pool,
 * and whatever the party starts (protocol threads).
 */
#include "daemon.h"

#include <errno.h>
#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "err.h"
#include "log.h"
#include "rounds.h"
#include "secmem.h"
#include "spec.h"
#include "input.h"
#include "store.h"
#include "transport.h"
#include "workq.h"
#include "wire.pb-c.h"

#define RESULT_MAX (256u * 1024 * 1024)

long long
udc_now(void)
{
	return (long long)time(NULL);
}

void
udc_reply_error(Udcctl__Reply *rep, int status, char *buf, size_t buflen, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(buf, buflen, fmt, ap);
	va_end(ap);
	rep->status = status;
	rep->error = buf;
}

/* Text values become what the audit log takes (printable ASCII, at most
 * UDC_AUDIT_VALUE_MAX bytes): a long or odd reason must not cost the entry. */
static void
audit_text(const char *in, char out[UDC_AUDIT_VALUE_MAX + 1])
{
	size_t i = 0;

	for (; in[i] && i < UDC_AUDIT_VALUE_MAX; i++)
		out[i] = in[i] >= 0x20 && in[i] <= 0x7e ? in[i] : '?';
	out[i] = '\0';
	if (in[i] != '\0')
		memcpy(out + UDC_AUDIT_VALUE_MAX - 3, "...", 3);
}

void
udc_node_audit(struct udc_node *n, const char *type, const struct udc_audit_field *f, size_t nf)
{
	struct udc_audit_field g[UDC_AUDIT_FIELDS_MAX];
	char text[UDC_AUDIT_FIELDS_MAX][UDC_AUDIT_VALUE_MAX + 1];
	int rv;

	if (n->audit == NULL)
		return;
	if (nf > UDC_AUDIT_FIELDS_MAX)
		nf = UDC_AUDIT_FIELDS_MAX;
	for (size_t i = 0; i < nf; i++) {
		g[i] = f[i];
		if (f[i].kind == UDC_AUDIT_STR && f[i].str) {
			audit_text(f[i].str, text[i]);
			g[i].str = text[i];
		}
	}
	if ((rv = udc_audit_append(n->audit, type, g, nf)) != 0)
		log_warnx("audit log %s: cannot append %s: %s", n->cfg->audit_log, type, udc_strerror(rv));
}

int
udc_approval_load(struct udc_node *n, const char *hex, uint8_t sig[UDC_SIGN_BYTES])
{
	char rel[128], *buf = NULL;
	uint8_t hash[32];
	size_t len = 0;
	int rv;

	snprintf(rel, sizeof(rel), "approvals/%s.sig", hex);
	if ((rv = udc_store_read(n->cfg->state_dir, rel, 1024, &buf, &len)) != 0)
		return rv == UDC_ENOTFOUND ? UDC_ENOTFOUND : rv;
	if (len != UDC_SIGN_BYTES || sodium_hex2bin(hash, 32, hex, 64, NULL, NULL, NULL) != 0) {
		free(buf);
		return UDC_ECRYPTO;
	}
	memcpy(sig, buf, UDC_SIGN_BYTES);
	free(buf);
	return udc_sign_verify(&n->self_pub, UDC_SIGN_APPROVAL, hash, 32, sig);
}

void
udc_result_sigdata(const uint8_t round_id[16], const uint8_t spec_hash[32], const char *csv,
    size_t csvlen, uint8_t out[80])
{
	uint8_t sha[32];

	crypto_hash_sha256(sha, (const uint8_t *)csv, csvlen);
	udc_result_sigdata_sha(round_id, spec_hash, sha, out);
}

void
udc_result_sigdata_sha(const uint8_t round_id[16], const uint8_t spec_hash[32],
    const uint8_t sha[32], uint8_t out[80])
{
	memcpy(out, round_id, 16);
	memcpy(out + 16, spec_hash, 32);
	memcpy(out + 48, sha, 32);
}

const char *
udc_node_input_opts(const struct udc_node *n, const struct udc_spec *spec, int side,
    struct udc_input_opts *io)
{
	memset(io, 0, sizeof(*io));
	io->path = n->cfg->input_file;
	io->delimiter = n->cfg->delimiter;
	for (size_t f = 0; f < spec->fields.n; f++) {
		io->columns[f] = udc_config_field_column(n->cfg, spec->fields.f[f].name);
		if (udc_config_invalid_allowed(n->cfg, spec->fields.f[f].name))
			io->allow_invalid |= 1u << f;
	}
	io->check_invalid = 1;
	io->max_invalid = n->cfg->max_invalid;
	io->spec = spec;
	io->side = side;
	io->chunk = n->cfg->chunk_records;
	for (size_t d = 0; d < spec->ndims[side]; d++) {
		io->label_columns[d] = udc_config_label_column(n->cfg, spec->dims[side][d].name);
		if (io->label_columns[d] == NULL)
			return spec->dims[side][d].name;
	}
	return NULL;
}

static void
fill_info(Udcctl__RoundInfo *ri, struct udc_round *x)
{
	udcctl__round_info__init(ri);
	ri->round_id = x->id;
	ri->state = x->state;
	ri->step = x->step;
	ri->progress = x->progress;
	ri->error = x->error;
	ri->spec_hash = x->spec_hash;
	ri->started = x->started;
	ri->finished = x->finished;
}

int
udc_spec_from_texts(const uint8_t *text, size_t len, const uint8_t *schema, size_t slen,
    const char *name, struct udc_spec **out, char *err, size_t errlen)
{
	struct udc_spec *spec = NULL;
	int rv;

	if ((rv = udc_spec_parse((const char *)text, len, name, &spec, err, errlen)) != 0)
		return rv;
	if (udc_spec_fuzzy(spec)) {
		if (schema == NULL || slen == 0) {
			snprintf(err, errlen, "%s: the CLK schema '%s' was not sent with the spec", name,
			    spec->schema_name);
			rv = UDC_EINVAL;
		} else {
			rv = udc_spec_attach_schema(spec, (const char *)schema, slen, err, errlen);
		}
	} else if (slen != 0) {
		snprintf(err, errlen, "%s: mode exact takes no CLK schema", name);
		rv = UDC_EINVAL;
	}
	if (rv != 0) {
		udc_spec_free(spec);
		return rv;
	}
	*out = spec;
	return 0;
}

int
udc_spec_load_approved(const char *state_dir, const char *hex, struct udc_spec **out, char *err,
    size_t errlen)
{
	char rel[128], *text = NULL, *schema = NULL;
	size_t len = 0, slen = 0;
	int rv;

	snprintf(rel, sizeof(rel), "approvals/%s.spec", hex);
	if ((rv = udc_store_read(state_dir, rel, 1024 * 1024, &text, &len)) != 0) {
		snprintf(err, errlen, "%s: %s", rel, udc_strerror(rv));
		return rv;
	}
	snprintf(rel, sizeof(rel), "approvals/%s.schema.json", hex);
	rv = udc_store_read(state_dir, rel, 1024 * 1024, &schema, &slen);
	if (rv != 0 && rv != UDC_ENOTFOUND) {
		snprintf(err, errlen, "%s: %s", rel, udc_strerror(rv));
		goto out;
	}
	snprintf(rel, sizeof(rel), "approvals/%s.spec", hex);
	if ((rv = udc_spec_from_texts((uint8_t *)text, len, (uint8_t *)schema, slen, rel, out, err,
	    errlen)) != 0)
		goto out;
	/* The file is named by the hash it was approved under; it must still
	 * have it (a file edited by hand is not an approval). */
	char got[65];
	udc_spec_hash_hex(*out, got);
	if (strcmp(got, hex) != 0) {
		snprintf(err, errlen, "%s: contents no longer match the approved hash", rel);
		udc_spec_free(*out);
		*out = NULL;
		rv = UDC_EREFUSED;
	}
out:
	free(text);
	free(schema);
	return rv;
}

static void
ctl_approve(struct udc_node *n, const Udcctl__SpecApprove *a, uint64_t uid, Udcctl__Reply *rep,
    char *buf, size_t buflen)
{
	struct udc_spec *spec = NULL;
	char err[512], hex[65];
	const char *src = (a->source && a->source[0]) ? a->source : "spec";
	int rv;

	if ((rv = udc_spec_from_texts(a->spec_text.data, a->spec_text.len, a->schema_text.data,
	    a->schema_text.len, src, &spec, err, sizeof(err))) != 0) {
		udc_reply_error(rep, rv, buf, buflen, "%s", err);
		return;
	}
	udc_spec_hash_hex(spec, hex);
	if (spec->schema_json) {
		char rel[128];
		snprintf(rel, sizeof(rel), "approvals/%s.schema.json", hex);
		rv = udc_store_write(n->cfg->state_dir, rel, spec->schema_json, spec->schema_len);
	}
	if (rv == 0) {
		/* The approval is this node's signature over the spec hash; the
		 * peer checks it against its pinned copy of our key. */
		uint8_t sig[UDC_SIGN_BYTES];
		char rel[128];
		if ((rv = udc_sign(n->sk, UDC_SIGN_APPROVAL, spec->hash, 32, sig)) == 0) {
			snprintf(rel, sizeof(rel), "approvals/%s.sig", hex);
			rv = udc_store_write(n->cfg->state_dir, rel, sig, sizeof(sig));
		}
	}
	if (rv != 0 ||
	    (rv = udc_store_approve(n->cfg->state_dir, hex, a->spec_text.data, a->spec_text.len)) != 0) {
		udc_reply_error(rep, rv, buf, buflen, "cannot store the approval: %s", udc_strerror(rv));
	} else {
		struct udc_audit_field f[] = { UDC_AUDIT_S("spec_hash", hex),
			UDC_AUDIT_S("spec_name", spec->name), UDC_AUDIT_I("uid", (int64_t)uid),
			UDC_AUDIT_S("signer", n->self_fpr) };
		snprintf(buf, buflen, "approved spec '%s' %s on node %s (signed by key %s)", spec->name,
		    hex, n->cfg->name, n->self_fpr);
		rep->text = buf;
		log_info("spec '%s' %s approved (uid %llu)", spec->name, hex, (unsigned long long)uid);
		udc_node_audit(n, UDC_AUDIT_SPEC_APPROVED, f, UDC_AUDIT_NFIELDS(f));
	}
	udc_spec_free(spec);
}

static void
ctl_result(struct udc_node *n, const Udcctl__RoundQuery *q, Udcctl__Reply *rep, char **owned,
    char **signer, char *buf, size_t buflen)
{
	struct udc_round x;
	char rel[96];
	const char *fmt = (q->format && q->format[0]) ? q->format : "csv";
	int rv;

	if (strcmp(fmt, "csv") != 0 && strcmp(fmt, "json") != 0) {
		udc_reply_error(rep, UDC_EINVAL, buf, buflen, "unknown format '%s' (csv or json)", fmt);
		return;
	}
	if (udc_rounds_get(n->rounds, q->round_id, &x) != 0) {
		udc_reply_error(rep, UDC_ENOTFOUND, buf, buflen, "no round %s on this node", q->round_id);
		return;
	}
	if (strcmp(x.state, "done") != 0) {
		udc_reply_error(rep, UDC_ESTATE, buf, buflen, "round %s is %s%s%s", x.id, x.state,
		    x.error[0] ? ": " : "", x.error);
		return;
	}
	snprintf(rel, sizeof(rel), "rounds/%s/result.%s", x.id, fmt);
	if ((rv = udc_store_read(n->cfg->state_dir, rel, RESULT_MAX, owned, NULL)) != 0) {
		udc_reply_error(rep, rv, buf, buflen, "cannot read %s: %s", rel, udc_strerror(rv));
		return;
	}
	rep->text = *owned;
	snprintf(rel, sizeof(rel), "rounds/%s/signer.txt", x.id);
	if (udc_store_read(n->cfg->state_dir, rel, 1024, signer, NULL) == 0)
		rep->signer = *signer;
}

/* One request in, one reply out.  Unknown or malformed requests get an
 * error reply; nothing a local client sends stops the loop. */
static void
ctl_audit_verify(struct udc_node *n, Udcctl__Reply *rep, char *buf, size_t buflen)
{
	struct udc_audit_report r;
	int rv = udc_audit_verify(n->cfg->audit_log, &n->self_pub, &r);

	if (rv != 0 && rv != UDC_EPEER) {
		udc_reply_error(rep, rv, buf, buflen, "audit log BAD: %s:%zu: %s", n->cfg->audit_log,
		    r.line, r.reason);
		return;
	}
	snprintf(buf, buflen,
	    "audit log %s: %llu entries, head %s, %llu of %llu checkpoints verified with key %s, "
	    "%llu peer heads%s",
	    rv == 0 ? "OK" : "intact but the peer's history forked or went back",
	    (unsigned long long)r.entries, r.head, (unsigned long long)r.checkpoints_verified,
	    (unsigned long long)r.checkpoints, n->self_fpr, (unsigned long long)r.peer_heads,
	    r.uncovered ? " (entries after the last checkpoint are not yet signed)" : "");
	rep->text = buf;
	if (rv != 0)
		rep->status = rv;
}

static void
ctl_serve(struct udc_node *n, const struct udc_party_ops *ops, const uint8_t *data, size_t len,
    uint64_t uid, nng_msg **out)
{
	Udcctl__Request *req = udcctl__request__unpack(NULL, len, data);
	Udcctl__Reply rep = UDCCTL__REPLY__INIT;
	Udcctl__RoundInfo one, **list = NULL, *infos = NULL;
	struct udc_round x, *all = NULL;
	size_t nall = 0;
	char buf[1024], *owned = NULL, *signer = NULL;

	if (req == NULL) {
		udc_reply_error(&rep, UDC_EPROTO, buf, sizeof(buf), "malformed control request");
		goto reply;
	}
	switch (req->cmd_case) {
	case UDCCTL__REQUEST__CMD_SPEC_APPROVE:
		ctl_approve(n, req->spec_approve, uid, &rep, buf, sizeof(buf));
		break;
	case UDCCTL__REQUEST__CMD_ROUND_START:
		if (ops->round_start == NULL) {
			udc_reply_error(&rep, UDC_EREFUSED, buf, sizeof(buf),
			    "rounds are started at the gemeente node; this is the %s node", ops->progname);
			break;
		}
		ops->round_start(n, req->round_start, uid, &rep, buf, sizeof(buf));
		break;
	case UDCCTL__REQUEST__CMD_ROUND_DECIDE:
		if (ops->round_decide == NULL) {
			udc_reply_error(&rep, UDC_EREFUSED, buf, sizeof(buf),
			    "rounds are approved one by one at the CBS node; this is the %s node",
			    ops->progname);
			break;
		}
		ops->round_decide(n, req->round_decide, uid, &rep, buf, sizeof(buf));
		break;
	case UDCCTL__REQUEST__CMD_ROUND_STATUS:
		if (udc_rounds_get(n->rounds, req->round_status->round_id, &x) != 0) {
			udc_reply_error(&rep, UDC_ENOTFOUND, buf, sizeof(buf), "no round %s on this node",
			    req->round_status->round_id);
			break;
		}
		fill_info(&one, &x);
		rep.round = &one;
		break;
	case UDCCTL__REQUEST__CMD_ROUND_RESULT:
		ctl_result(n, req->round_result, &rep, &owned, &signer, buf, sizeof(buf));
		break;
	case UDCCTL__REQUEST__CMD_AUDIT_VERIFY:
		ctl_audit_verify(n, &rep, buf, sizeof(buf));
		break;
	case UDCCTL__REQUEST__CMD_ROUND_LIST:
		if (udc_rounds_all(n->rounds, &all, &nall) != 0) {
			udc_reply_error(&rep, UDC_ENOMEM, buf, sizeof(buf), "out of memory");
			break;
		}
		list = calloc(nall ? nall : 1, sizeof(*list));
		infos = calloc(nall ? nall : 1, sizeof(*infos));
		if (!list || !infos) {
			udc_reply_error(&rep, UDC_ENOMEM, buf, sizeof(buf), "out of memory");
			break;
		}
		for (size_t i = 0; i < nall; i++) {
			fill_info(&infos[i], &all[i]);
			list[i] = &infos[i];
		}
		rep.n_rounds = nall;
		rep.rounds = list;
		break;
	default:
		udc_reply_error(&rep, UDC_EINVAL, buf, sizeof(buf), "unknown control command");
		break;
	}
reply: {
	size_t sz = udcctl__reply__get_packed_size(&rep);
	if (nng_msg_alloc(out, sz) == 0)
		udcctl__reply__pack(&rep, nng_msg_body(*out));
	else
		*out = NULL;
}
	free(owned);
	free(signer);
	free(list);
	free(infos);
	free(all);
	if (req)
		udcctl__request__free_unpacked(req, NULL);
}

struct ctl_thread_arg {
	struct udc_node *n;
	const struct udc_party_ops *ops;
};

static void *
ctl_thread(void *p)
{
	struct ctl_thread_arg *a = p;
	struct udc_node *n = a->n;

	while (!atomic_load(&n->stopping)) {
		nng_msg *m, *out = NULL;
		int nrv = nng_recvmsg(n->ctl, &m, 0);
		if (nrv == NNG_ECLOSED)
			break;
		if (nrv != 0) {
			log_warnx("control: receive failed: %s", nng_strerror(nrv));
			continue;
		}
		/* Who asked: the uid of the control client, for the audit log. */
		uint64_t uid = UINT64_MAX;
		nng_pipe pipe = nng_msg_get_pipe(m);
		if (nng_pipe_id(pipe) > 0)
			nng_pipe_get_uint64(pipe, NNG_OPT_IPC_PEER_UID, &uid);
		ctl_serve(n, a->ops, nng_msg_body(m), nng_msg_len(m), uid, &out);
		nng_msg_free(m);
		if (out && (nrv = nng_sendmsg(n->ctl, out, 0)) != 0) {
			nng_msg_free(out);
			if (nrv == NNG_ECLOSED)
				break;
		}
	}
	return NULL;
}

static void
usage(const char *prog)
{
	fprintf(stderr,
	    "usage: %s -c CONFIG [--check-config] [-d]\n"
	    "  -c, --config FILE   node configuration (see docs/operations.md)\n"
	    "  --check-config      validate the configuration and exit\n"
	    "  -d, --debug         log at debug level (overrides log_level)\n"
	    "The daemon always runs in the foreground (for systemd and tests).\n",
	    prog);
}

int
udc_daemon_main(int argc, char **argv, const struct udc_party_ops *ops)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct udc_node node;
	struct ctl_thread_arg cta = { .n = &node, .ops = ops };
	const char *cfgpath = NULL;
	int check = 0, debug = 0, ch, rv, status = 1, sig;
	char err[1024];
	sigset_t set;
	pthread_t ctl_thr;
	int ctl_started = 0, party_started = 0;

	memset(&node, 0, sizeof(node));
	while ((ch = getopt_long(argc, argv, "c:dh", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'C': check = 1; break;
		case 'd': debug = 1; break;
		case 'h': usage(ops->progname); return 0;
		default: usage(ops->progname); return 2;
		}
	}
	if (cfgpath == NULL || optind != argc) {
		usage(ops->progname);
		return 2;
	}
	log_init(ops->progname, UDC_LOG_INFO, 0);
	if ((rv = udc_config_load(cfgpath, &node.cfg, err, sizeof(err))) != 0) {
		fprintf(stderr, "%s: %s\n", ops->progname, err);
		return 2;
	}
	if (node.cfg->role != ops->role) {
		fprintf(stderr, "%s: %s: role is %s, this program is the %s node\n", ops->progname,
		    cfgpath, node.cfg->role == UDC_ROLE_CBS ? "cbs" : "gemeente",
		    ops->role == UDC_ROLE_CBS ? "cbs" : "gemeente");
		udc_config_free(node.cfg);
		return 2;
	}
	if (check) {
		printf("configuration OK\n");
		udc_config_free(node.cfg);
		return 0;
	}
	log_init(ops->progname, debug ? UDC_LOG_DEBUG : node.cfg->log_level, node.cfg->use_syslog);
	if (udc_secmem_init() != 0)
		fatalx("cannot initialise libsodium");
	/* Signals are taken by sigwait in this thread only. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	if ((rv = udc_sign_key_load(node.cfg->signing_key, &node.sk, err, sizeof(err))) != 0 ||
	    (rv = udc_sign_pub_load(node.cfg->peer_public_key, &node.peer_pub, err, sizeof(err))) != 0) {
		log_warnx("%s", err);
		goto out;
	}
	udc_sign_key_public(node.sk, &node.self_pub);
	udc_sign_fingerprint(&node.self_pub, node.self_fpr);
	udc_sign_fingerprint(&node.peer_pub, node.peer_fpr);
	if (memcmp(&node.self_pub, &node.peer_pub, sizeof(node.self_pub)) == 0) {
		log_warnx("%s: [peer] public_key is this node's own key", cfgpath);
		goto out;
	}
	if ((rv = udc_store_init(node.cfg->state_dir, err, sizeof(err))) != 0 ||
	    (rv = udc_rounds_open(&node.rounds, node.cfg->state_dir)) != 0) {
		log_warnx("state directory %s: %s", node.cfg->state_dir, err[0] ? err : udc_strerror(rv));
		goto out;
	}
	{
		struct udc_audit_opts ao = { .key = node.sk,
			.checkpoint_every = (unsigned)node.cfg->audit_checkpoint };
		if ((rv = udc_audit_open(node.cfg->audit_log, &ao, &node.audit, err, sizeof(err))) != 0) {
			log_warnx("audit log %s: %s", node.cfg->audit_log, err);
			goto out;
		}
	}
	if ((rv = udc_workq_new(&node.wq, node.cfg->workers > 0 ? (unsigned)node.cfg->workers - 1 : 0)) != 0) {
		log_warnx("worker pool: %s", udc_strerror(rv));
		goto out;
	}
	if ((rv = udc_peer_open(&node.peer, node.cfg, err, sizeof(err))) != 0) {
		log_warnx("%s", err);
		goto out;
	}
	if (ops->start && (rv = ops->start(&node, err, sizeof(err))) != 0) {
		log_warnx("%s", err);
		goto out;
	}
	party_started = 1;
	if ((rv = udc_ctl_listen(&node.ctl, node.cfg->control_socket, err, sizeof(err))) != 0) {
		log_warnx("%s", err);
		goto out;
	}
	if (pthread_create(&ctl_thr, NULL, ctl_thread, &cta) != 0) {
		log_warn("control thread");
		goto out;
	}
	ctl_started = 1;
	log_info("node %s (%s) ready: peer %s, control %s, %u crypto threads, key %s, peer key %s, "
	    "%ld secrets in locked memory",
	    node.cfg->name, ops->role == UDC_ROLE_CBS ? "cbs" : "gemeente",
	    ops->role == UDC_ROLE_CBS ? node.cfg->peer_listen : node.cfg->peer_connect,
	    node.cfg->control_socket, udc_workq_width(node.wq), node.self_fpr, node.peer_fpr,
	    udc_secmem_live());
	for (;;) {
		if (sigwait(&set, &sig) != 0)
			continue;
		if (sig == SIGHUP) {
			log_info("SIGHUP ignored: restart the daemon to reload its configuration");
			continue;
		}
		break;
	}
	log_info("signal %d: shutting down", sig);
	status = 0;
out:
	atomic_store(&node.stopping, 1);
	if (nng_socket_id(node.ctl) > 0)
		nng_close(node.ctl);
	if (ctl_started)
		pthread_join(ctl_thr, NULL);
	if (nng_socket_id(node.peer) > 0)
		nng_close(node.peer);
	if (party_started && ops->stop)
		ops->stop(&node);
	if (node.wq)
		udc_workq_free(node.wq);
	udc_rounds_close(node.rounds);
	udc_audit_close(node.audit);
	udc_sign_key_free(node.sk);
	if (node.cfg && status == 0)
		unlink(node.cfg->control_socket);
	udc_config_free(node.cfg);
	return status;
}
