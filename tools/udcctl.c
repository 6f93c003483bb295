/*
 * udcctl.c - the control client: talks to a local daemon over its ipc
 * socket.  Subcommands come from one table, one function each.
 *
 * Exit codes (docs/operations.md):
 *   0 success            1 usage error
 *   2 daemon unreachable or configuration unreadable
 *   3 the round failed   4 the daemon refused the request (not approved,
 *                          unknown round, round not finished, bad spec)
 *   5 timed out waiting  6 the audit log does not verify
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "config.h"
#include "ctl.pb-c.h"
#include "err.h"
#include "spec.h"
#include "transport.h"

enum { EX_OK = 0, EX_USAGE = 1, EX_UNREACHABLE = 2, EX_FAILED = 3, EX_REFUSED = 4, EX_TIMEOUT = 5,
	EX_AUDIT = 6 };

#define SPEC_MAX (1024 * 1024)

struct ctx {
	const char *socket;
	int timeout_ms;
	nng_socket s;
	int json;
};

static int
connect_daemon(struct ctx *c)
{
	char err[512];
	if (udc_ctl_dial(&c->s, c->socket, c->timeout_ms, err, sizeof(err)) != 0) {
		fprintf(stderr, "udcctl: %s\n", err);
		return EX_UNREACHABLE;
	}
	return 0;
}

/* Sends req; on success *rep is the daemon's reply (status may be nonzero). */
static int
request(struct ctx *c, Udcctl__Request *req, Udcctl__Reply **rep)
{
	size_t len = udcctl__request__get_packed_size(req);
	uint8_t *buf = malloc(len ? len : 1);
	nng_msg *m = NULL;
	int rv;

	if (buf == NULL)
		return EX_UNREACHABLE;
	udcctl__request__pack(req, buf);
	rv = udc_req_call(c->s, buf, len, &m);
	free(buf);
	if (rv != 0) {
		fprintf(stderr, "udcctl: no answer from the daemon at %s: %s\n", c->socket, udc_strerror(rv));
		return rv == UDC_ETIMEDOUT ? EX_TIMEOUT : EX_UNREACHABLE;
	}
	*rep = udcctl__reply__unpack(NULL, nng_msg_len(m), nng_msg_body(m));
	nng_msg_free(m);
	if (*rep == NULL) {
		fprintf(stderr, "udcctl: malformed reply from the daemon\n");
		return EX_UNREACHABLE;
	}
	return 0;
}

static int
refused(Udcctl__Reply *rep)
{
	fprintf(stderr, "udcctl: %s\n", rep->error && rep->error[0] ? rep->error : udc_strerror(rep->status));
	return EX_REFUSED;
}

static int
read_file(const char *path, uint8_t **out, size_t *len)
{
	FILE *f = fopen(path, "rb");
	uint8_t *buf;
	size_t n;

	if (f == NULL) {
		perror(path);
		return EX_USAGE;
	}
	buf = malloc(SPEC_MAX + 1);
	n = buf ? fread(buf, 1, SPEC_MAX + 1, f) : 0;
	fclose(f);
	if (buf == NULL || n > SPEC_MAX) {
		fprintf(stderr, "udcctl: %s: larger than %d bytes\n", path, SPEC_MAX);
		free(buf);
		return EX_USAGE;
	}
	*out = buf;
	*len = n;
	return 0;
}

/* Reads SPEC and, for fuzzy and combined modes, the CLK schema it names
 * (relative to the spec file's directory), for sending to the daemon. */
static int
read_spec(const char *path, uint8_t **text, size_t *len, uint8_t **schema, size_t *slen)
{
	struct udc_spec *spec = NULL;
	char err[512], spath[4096];
	int rv;

	*schema = NULL;
	*slen = 0;
	if ((rv = read_file(path, text, len)) != 0)
		return rv;
	if (udc_spec_parse((const char *)*text, *len, path, &spec, err, sizeof(err)) != 0)
		return 0; /* the daemon reports the error with its line */
	if (udc_spec_fuzzy(spec)) {
		udc_spec_schema_path(path, spec, spath, sizeof(spath));
		rv = read_file(spath, schema, slen);
	}
	udc_spec_free(spec);
	return rv;
}

static void
print_round(const Udcctl__RoundInfo *r, int verbose)
{
	char ts[32] = "-", te[32] = "-";
	struct tm tm;
	time_t t;

	if (r->started) {
		t = (time_t)r->started;
		gmtime_r(&t, &tm);
		strftime(ts, sizeof(ts), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (r->finished) {
		t = (time_t)r->finished;
		gmtime_r(&t, &tm);
		strftime(te, sizeof(te), "%Y-%m-%dT%H:%M:%SZ", &tm);
	}
	if (!verbose) {
		printf("%s  %-8s %-14s %s\n", r->round_id, r->state, r->step, ts);
		return;
	}
	printf("round:    %s\nstate:    %s\nstep:     %s (%u.%u%%)\nspec:     %s\nstarted:  %s\nfinished: %s\n",
	    r->round_id, r->state, r->step, r->progress / 10, r->progress % 10, r->spec_hash, ts, te);
	if (r->error && r->error[0])
		printf("error:    %s\n", r->error);
}

static int
cmd_spec_approve(struct ctx *c, int argc, char **argv)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__SpecApprove a = UDCCTL__SPEC_APPROVE__INIT;
	Udcctl__Reply *rep = NULL;
	uint8_t *text, *schema;
	size_t len, slen;
	int rv;

	if (argc != 1)
		return EX_USAGE;
	if ((rv = read_spec(argv[0], &text, &len, &schema, &slen)) != 0)
		return rv;
	a.spec_text.data = text;
	a.spec_text.len = len;
	a.schema_text.data = schema;
	a.schema_text.len = slen;
	a.source = argv[0];
	req.cmd_case = UDCCTL__REQUEST__CMD_SPEC_APPROVE;
	req.spec_approve = &a;
	if ((rv = connect_daemon(c)) == 0 && (rv = request(c, &req, &rep)) == 0)
		rv = rep->status ? refused(rep) : (printf("%s\n", rep->text), EX_OK);
	if (rep)
		udcctl__reply__free_unpacked(rep, NULL);
	free(text);
	free(schema);
	return rv;
}

static int
cmd_round_start(struct ctx *c, int argc, char **argv)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__RoundStart st = UDCCTL__ROUND_START__INIT;
	Udcctl__Reply *rep = NULL;
	uint8_t *text, *schema;
	size_t len, slen;
	int rv;

	if (argc == 2 && strcmp(argv[1], "--accept-rejects") == 0) {
		st.accept_rejects = 1;
		argc--;
	} else if (argc == 2 && strcmp(argv[0], "--accept-rejects") == 0) {
		st.accept_rejects = 1;
		argc--;
		argv++;
	}
	if (argc != 1)
		return EX_USAGE;
	if ((rv = read_spec(argv[0], &text, &len, &schema, &slen)) != 0)
		return rv;
	st.spec_text.data = text;
	st.spec_text.len = len;
	st.schema_text.data = schema;
	st.schema_text.len = slen;
	req.cmd_case = UDCCTL__REQUEST__CMD_ROUND_START;
	req.round_start = &st;
	if ((rv = connect_daemon(c)) == 0 && (rv = request(c, &req, &rep)) == 0) {
		if (rep->status || rep->round == NULL)
			rv = refused(rep);
		else
			printf("%s\n", rep->round->round_id);
	}
	if (rep)
		udcctl__reply__free_unpacked(rep, NULL);
	free(text);
	free(schema);
	return rv;
}

static int
query(struct ctx *c, Udcctl__Request__CmdCase cmd, const char *id, const char *fmt, Udcctl__Reply **rep)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__RoundQuery q = UDCCTL__ROUND_QUERY__INIT;

	q.round_id = (char *)id;
	q.format = (char *)(fmt ? fmt : "");
	req.cmd_case = cmd;
	if (cmd == UDCCTL__REQUEST__CMD_ROUND_STATUS)
		req.round_status = &q;
	else
		req.round_result = &q;
	return request(c, &req, rep);
}

static int
cmd_round_status(struct ctx *c, int argc, char **argv)
{
	Udcctl__Reply *rep = NULL;
	int rv;

	if (argc != 1)
		return EX_USAGE;
	if ((rv = connect_daemon(c)) != 0 || (rv = query(c, UDCCTL__REQUEST__CMD_ROUND_STATUS, argv[0], NULL, &rep)) != 0)
		return rv;
	if (rep->status || rep->round == NULL)
		rv = refused(rep);
	else {
		print_round(rep->round, 1);
		rv = strcmp(rep->round->state, "failed") == 0 ? EX_FAILED : EX_OK;
	}
	udcctl__reply__free_unpacked(rep, NULL);
	return rv;
}

static int
cmd_round_wait(struct ctx *c, int argc, char **argv)
{
	char last[64] = "";
	int rv;

	if (argc != 1)
		return EX_USAGE;
	if ((rv = connect_daemon(c)) != 0)
		return rv;
	for (;;) {
		Udcctl__Reply *rep = NULL;
		if ((rv = query(c, UDCCTL__REQUEST__CMD_ROUND_STATUS, argv[0], NULL, &rep)) != 0)
			return rv;
		if (rep->status || rep->round == NULL) {
			rv = refused(rep);
			udcctl__reply__free_unpacked(rep, NULL);
			return rv;
		}
		if (strcmp(last, rep->round->step) != 0) {
			snprintf(last, sizeof(last), "%s", rep->round->step);
			fprintf(stderr, "udcctl: round %s: %s\n", rep->round->round_id, last);
		}
		if (!strcmp(rep->round->state, "done") || !strcmp(rep->round->state, "failed")) {
			print_round(rep->round, 1);
			rv = strcmp(rep->round->state, "done") == 0 ? EX_OK : EX_FAILED;
			udcctl__reply__free_unpacked(rep, NULL);
			return rv;
		}
		udcctl__reply__free_unpacked(rep, NULL);
		usleep(200 * 1000);
	}
}

static int
cmd_round_result(struct ctx *c, int argc, char **argv)
{
	Udcctl__Reply *rep = NULL;
	const char *fmt = c->json ? "json" : "csv";
	int rv;

	if (argc != 1)
		return EX_USAGE;
	if ((rv = connect_daemon(c)) != 0 || (rv = query(c, UDCCTL__REQUEST__CMD_ROUND_RESULT, argv[0], fmt, &rep)) != 0)
		return rv;
	if (rep->status) {
		rv = refused(rep);
	} else {
		fputs(rep->text, stdout);
		/* Who signed the table goes to stderr, so stdout stays the table. */
		if (rep->signer && rep->signer[0])
			fprintf(stderr, "udcctl: released table %s", rep->signer);
	}
	udcctl__reply__free_unpacked(rep, NULL);
	return rv;
}

static int
cmd_audit_verify(struct ctx *c, int argc, char **argv)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__AuditVerify av = UDCCTL__AUDIT_VERIFY__INIT;
	Udcctl__Reply *rep = NULL;
	int rv;

	if (argc != 0)
		return EX_USAGE;
	req.cmd_case = UDCCTL__REQUEST__CMD_AUDIT_VERIFY;
	req.audit_verify = &av;
	if ((rv = connect_daemon(c)) != 0 || (rv = request(c, &req, &rep)) != 0)
		return rv;
	if (rep->status) {
		fprintf(stderr, "udcctl: %s\n", rep->error && rep->error[0] ? rep->error : rep->text);
		rv = EX_AUDIT;
	} else {
		printf("%s\n", rep->text);
	}
	udcctl__reply__free_unpacked(rep, NULL);
	return rv;
}

static int
cmd_round_list(struct ctx *c, int argc, char **argv)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__RoundList l = UDCCTL__ROUND_LIST__INIT;
	Udcctl__Reply *rep = NULL;
	int rv;

	if (argc != 0)
		return EX_USAGE;
	req.cmd_case = UDCCTL__REQUEST__CMD_ROUND_LIST;
	req.round_list = &l;
	if ((rv = connect_daemon(c)) != 0 || (rv = request(c, &req, &rep)) != 0)
		return rv;
	if (rep->status)
		rv = refused(rep);
	else
		for (size_t i = 0; i < rep->n_rounds; i++)
			print_round(rep->rounds[i], 0);
	udcctl__reply__free_unpacked(rep, NULL);
	return rv;
}

/* round approve ID / round refuse ID [REASON...]: the CBS operator's
 * decision on a proposed round (round_approval = operator). */
static int
round_decide(struct ctx *c, int argc, char **argv, int approve)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__RoundDecision d = UDCCTL__ROUND_DECISION__INIT;
	Udcctl__Reply *rep = NULL;
	char reason[512] = "";
	int rv;

	if (argc < 1 || (approve && argc != 1))
		return EX_USAGE;
	for (int i = 1; i < argc; i++) {
		size_t o = strlen(reason);
		snprintf(reason + o, sizeof(reason) - o, "%s%s", i > 1 ? " " : "", argv[i]);
	}
	d.round_id = argv[0];
	d.approve = approve;
	d.reason = reason;
	req.cmd_case = UDCCTL__REQUEST__CMD_ROUND_DECIDE;
	req.round_decide = &d;
	if ((rv = connect_daemon(c)) == 0 && (rv = request(c, &req, &rep)) == 0)
		rv = rep->status ? refused(rep) : (printf("%s\n", rep->text), EX_OK);
	if (rep)
		udcctl__reply__free_unpacked(rep, NULL);
	return rv;
}

static int
cmd_round_approve(struct ctx *c, int argc, char **argv)
{
	return round_decide(c, argc, argv, 1);
}

static int
cmd_round_refuse(struct ctx *c, int argc, char **argv)
{
	return round_decide(c, argc, argv, 0);
}

static const struct command {
	const char *noun, *verb, *args, *help;
	int (*fn)(struct ctx *, int, char **);
} commands[] = {
	{ "spec", "approve", "SPEC", "approve a round spec on this node", cmd_spec_approve },
	{ "round", "start", "SPEC", "start a round (gemeente node); prints its id "
	    "(--accept-rejects: even if more rows are rejected than reject_limit)", cmd_round_start },
	{ "round", "approve", "ID", "approve a proposed round (CBS node, round_approval = operator)",
	    cmd_round_approve },
	{ "round", "refuse", "ID [REASON]", "refuse a proposed round (CBS node)", cmd_round_refuse },
	{ "round", "status", "ID", "state, step and progress of a round", cmd_round_status },
	{ "round", "wait", "ID", "wait until a round is done or failed", cmd_round_wait },
	{ "round", "result", "ID", "print the released table (--format csv|json)", cmd_round_result },
	{ "round", "list", "", "list the rounds this node knows", cmd_round_list },
	{ "audit", "verify", "", "check this node's audit log (chain and signed checkpoints)", cmd_audit_verify },
};

static void
usage(void)
{
	fprintf(stderr, "usage: udcctl (-c CONFIG | -s SOCKET) [-t SECONDS] COMMAND\n\ncommands:\n");
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		fprintf(stderr, "  %s %s %-6s %s\n", commands[i].noun, commands[i].verb, commands[i].args,
		    commands[i].help);
	fprintf(stderr, "\nexit codes: 0 ok, 1 usage, 2 daemon unreachable, 3 round failed,\n"
	                "            4 refused by the daemon, 5 timed out, 6 audit log does not verify\n");
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "format", required_argument, NULL, 'f' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx c = { .timeout_ms = 60000 };
	struct udc_config *cfg = NULL;
	const char *cfgpath = NULL;
	char err[1024];
	int ch, rv = EX_USAGE;

	while ((ch = getopt_long(argc, argv, "+c:s:t:f:h", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 's': c.socket = optarg; break;
		case 't': c.timeout_ms = atoi(optarg) * 1000; break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				c.json = 1;
			else if (strcmp(optarg, "csv") != 0) {
				fprintf(stderr, "udcctl: --format csv or json\n");
				return EX_USAGE;
			}
			break;
		case 'h': usage(); return EX_OK;
		default: usage(); return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	/* Options may also follow the command (udcctl round result ID --format json). */
	for (int i = 0; i < argc; i++) {
		if ((strcmp(argv[i], "--format") == 0 || strcmp(argv[i], "-f") == 0) && i + 1 < argc) {
			c.json = strcmp(argv[i + 1], "json") == 0;
			if (!c.json && strcmp(argv[i + 1], "csv") != 0) {
				fprintf(stderr, "udcctl: --format csv or json\n");
				return EX_USAGE;
			}
			memmove(&argv[i], &argv[i + 2], (size_t)(argc - i - 2) * sizeof(*argv));
			argc -= 2;
			i--;
		}
	}
	if (argc < 2 || (cfgpath == NULL && c.socket == NULL) || c.timeout_ms <= 0) {
		usage();
		return EX_USAGE;
	}
	if (cfgpath) {
		if (udc_config_load(cfgpath, &cfg, err, sizeof(err)) != 0) {
			fprintf(stderr, "udcctl: %s\n", err);
			return EX_UNREACHABLE;
		}
		if (c.socket == NULL)
			c.socket = cfg->control_socket;
	}
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++) {
		if (strcmp(argv[0], commands[i].noun) == 0 && strcmp(argv[1], commands[i].verb) == 0) {
			rv = commands[i].fn(&c, argc - 2, argv + 2);
			if (rv == EX_USAGE)
				usage();
			goto out;
		}
	}
	fprintf(stderr, "udcctl: unknown command '%s %s'\n", argv[0], argv[1]);
	usage();
out:
	if (nng_socket_id(c.s) > 0)
		nng_close(c.s);
	udc_config_free(cfg);
	return rv;
}
