/*
 * udcctl.c - the control client: talks to a local daemon over its control
 * socket (common/node/ctl.h), and checks specs and released tables offline.
 * Subcommands come from one table, one function each; each declares the
 * options it takes, so "udcctl NOUN VERB --help" and the man page
 * (man/udcctl.1.scd) say the same.
 *
 * Exit codes (docs/operations.md, "Exit codes"; stable for scripts):
 *   0 success            1 usage error
 *   2 daemon unreachable, or configuration or file unreadable
 *   3 the round failed   4 the daemon refused the request (not approved,
 *                          unknown round, round not finished, bad spec)
 *   5 timed out          6 the audit log or a signature does not verify
 *
 * --json: every command prints one JSON document on stdout with the field
 * names documented in docs/operations.md ("udcctl --json"); errors still go
 * to stderr as text, and the exit code says what happened.
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <jansson.h>
#include <sodium.h>

#include "backoff.h"
#include "config.h"
#include "ctl.h"
#include "ctl.pb-c.h"
#include "daemon.h"
#include "store.h"
#include "err.h"
#include "file.h"
#include "report.h"
#include "rounds.h"
#include "sign.h"
#include "spec.h"

enum { EX_OK = 0, EX_USAGE = 1, EX_UNREACHABLE = 2, EX_FAILED = 3, EX_REFUSED = 4, EX_TIMEOUT = 5,
	EX_VERIFY = 6 };

#define SPEC_MAX (1024 * 1024)
#define SIG_MAGIC "udclink-result-signature v1"

/* Per-command options (struct command.opts). */
enum { O_TIMEOUT = 1, O_FORMAT = 2, O_OUTPUT = 4, O_KEY = 8, O_SIG = 16, O_ACCEPT = 32, O_OUTDIR = 64,
	O_COMPARE = 128, O_CSVSEP = 256, O_RCONF = 512, O_PEER = 1024 };

struct ctx {
	const char *cfgpath;
	struct udc_config *cfg;
	const char *socket;
	int timeout_ms;  /* per request (-t) */
	int json;
	/* per-command options */
	int wait_s;      /* round wait --timeout, 0 = none */
	int fmt_json;    /* round result --format json */
	const char *output, *key, *sig;
	int accept_rejects; /* round start --accept-rejects */
	const char *compare, *report_config; /* report --compare, --report-config */
	char csv_sep;       /* report --csv-separator; 0: the default */
	const char *peer;   /* spec approve/revoke --peer: a CBS node's gemeente */
	int fd;
};

static long long
now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void
warnx_(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
warnx_(const char *fmt, ...)
{
	va_list ap;
	fputs("udcctl: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* Prints a JSON document and frees it. */
static void
emit(json_t *j)
{
	char *s = json_dumps(j, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
	if (s) {
		puts(s);
		free(s);
	}
	json_decref(j);
}

static json_t *
json_time(int64_t t)
{
	char buf[32];
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0)
		return json_null();
	gmtime_r(&tt, &tm);
	strftime(buf, sizeof(buf), "%Y-%m-%dT%H:%M:%SZ", &tm);
	return json_string(buf);
}

static void
fmt_time(int64_t t, char *buf, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (t <= 0) {
		snprintf(buf, len, "-");
		return;
	}
	gmtime_r(&tt, &tm);
	strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

/* --- talking to the daemon ---------------------------------------------- */

static int
need_socket(struct ctx *c)
{
	if (c->socket == NULL) {
		warnx_("which node? give -c CONFIG or -s SOCKET");
		return EX_USAGE;
	}
	return 0;
}

static int
connect_daemon(struct ctx *c)
{
	char err[512];
	int rv;

	if (c->fd >= 0)
		return 0;
	if ((rv = need_socket(c)) != 0)
		return rv;
	if (udc_ctl_connect(c->socket, &c->fd, err, sizeof(err)) != 0) {
		warnx_("%s", err);
		return EX_UNREACHABLE;
	}
	return 0;
}

/* Sends req; on success *rep is the daemon's reply (status may be nonzero). */
static int
request(struct ctx *c, Udcctl__Request *req, Udcctl__Reply **rep)
{
	size_t len = udcctl__request__get_packed_size(req), rlen = 0;
	uint8_t *buf, *rbuf = NULL;
	int rv;

	if ((rv = connect_daemon(c)) != 0)
		return rv;
	if ((buf = malloc(len ? len : 1)) == NULL)
		return EX_UNREACHABLE;
	udcctl__request__pack(req, buf);
	rv = udc_ctl_call(c->fd, buf, len, c->timeout_ms, &rbuf, &rlen);
	free(buf);
	if (rv != 0) {
		if (rv == UDC_ETIMEDOUT) {
			warnx_("no answer from the daemon at %s within %d s (-t)", c->socket, c->timeout_ms / 1000);
			return EX_TIMEOUT;
		}
		warnx_("the daemon at %s closed the connection: %s", c->socket, udc_strerror(rv));
		return EX_UNREACHABLE;
	}
	*rep = udcctl__reply__unpack(NULL, rlen, rbuf);
	free(rbuf);
	if (*rep == NULL) {
		warnx_("malformed reply from the daemon");
		return EX_UNREACHABLE;
	}
	return 0;
}

static int
refused(Udcctl__Reply *rep)
{
	warnx_("%s", rep->error && rep->error[0] ? rep->error : udc_strerror(rep->status));
	return EX_REFUSED;
}

/* A request with no arguments; *rep on success with status 0. */
static int
simple(struct ctx *c, Udcctl__Request *req, Udcctl__Reply **rep)
{
	int rv;
	*rep = NULL;
	if ((rv = request(c, req, rep)) != 0)
		return rv;
	if ((*rep)->status) {
		rv = refused(*rep);
		udcctl__reply__free_unpacked(*rep, NULL);
		*rep = NULL;
	}
	return rv;
}

static int
read_file(const char *path, uint8_t **out, size_t *len, size_t max)
{
	char err[4200], *buf = NULL;
	int rv;

	if ((rv = udc_file_read(path, max, 0, &buf, len, err, sizeof(err))) != 0) {
		warnx_("%s", err);
		return rv == UDC_ELIMIT || rv == UDC_EPERM ? EX_USAGE : EX_UNREACHABLE;
	}
	*out = (uint8_t *)buf;
	return 0;
}

/* Reads SPEC into text and, for fuzzy and combined modes, the CLK schema it
 * names (relative to the spec file's directory) into schema, for sending to
 * the daemon.  The caller frees both .data (NULL when not read). */
static int
read_spec(const char *path, ProtobufCBinaryData *text, ProtobufCBinaryData *schema)
{
	struct udc_spec *spec = NULL;
	char err[512], spath[4096];
	int rv;

	text->data = schema->data = NULL;
	text->len = schema->len = 0;
	if ((rv = read_file(path, &text->data, &text->len, SPEC_MAX)) != 0)
		return rv;
	if (udc_spec_parse((const char *)text->data, text->len, path, &spec, err, sizeof(err)) != 0)
		return 0; /* the daemon reports the error with its line */
	if (udc_spec_fuzzy(spec)) {
		udc_spec_schema_path(path, spec, spath, sizeof(spath));
		if ((rv = read_file(spath, &schema->data, &schema->len, SPEC_MAX)) != 0) {
			free(text->data);
			text->data = NULL;
		}
	}
	udc_spec_free(spec);
	return rv;
}

/* --- rounds ---------------------------------------------------------------- */

static json_t *
round_json(const Udcctl__RoundInfo *r)
{
	json_t *o = json_pack("{s:s, s:s, s:s, s:i, s:I, s:I, s:s, s:s, s:o, s:o, s:s, s:s}", "round_id",
	    r->round_id, "state", r->state, "step", r->step, "progress_permille", (json_int_t)r->progress,
	    "records_done", (json_int_t)r->records_done, "records_total", (json_int_t)r->records_total,
	    "spec_hash", r->spec_hash, "spec_name", r->spec_name ? r->spec_name : "", "started",
	    json_time(r->started), "finished", json_time(r->finished), "error", r->error ? r->error : "",
	    "input", r->input ? r->input : "");

	/* only a CBS node serving several gemeenten names one: the fields of
	 * every other node stay as they were */
	if (o != NULL && r->peer && r->peer[0])
		json_object_set_new(o, "peer", json_string(r->peer));
	return o;
}

static void
print_round(const Udcctl__RoundInfo *r)
{
	char ts[32], te[32];
	fmt_time(r->started, ts, sizeof(ts));
	fmt_time(r->finished, te, sizeof(te));
	printf("round:    %s\nstate:    %s\nstep:     %s (%u.%u%%)\n", r->round_id, r->state, r->step,
	    r->progress / 10, r->progress % 10);
	if (r->records_total)
		printf("records:  %llu of %llu\n", (unsigned long long)r->records_done,
		    (unsigned long long)r->records_total);
	printf("spec:     %s\nname:     %s\nstarted:  %s\nfinished: %s\n", r->spec_hash,
	    r->spec_name && r->spec_name[0] ? r->spec_name : "-", ts, te);
	if (r->peer && r->peer[0])
		printf("gemeente: %s\n", r->peer);
	if (r->input && r->input[0])
		printf("input:    %s\n", r->input);
	if (r->error && r->error[0])
		printf("error:    %s\n", r->error);
}

static int
round_exit(const Udcctl__RoundInfo *r)
{
	return strcmp(r->state, "failed") == 0 ? EX_FAILED : EX_OK;
}

static int
status_of(struct ctx *c, const char *id, Udcctl__Reply **rep)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__RoundQuery q = UDCCTL__ROUND_QUERY__INIT;
	int rv;

	q.round_id = (char *)id;
	q.format = "";
	req.cmd_case = UDCCTL__REQUEST__CMD_ROUND_STATUS;
	req.round_status = &q;
	if ((rv = request(c, &req, rep)) != 0)
		return rv;
	if ((*rep)->status || (*rep)->round == NULL) {
		rv = refused(*rep);
		udcctl__reply__free_unpacked(*rep, NULL);
		*rep = NULL;
	}
	return rv;
}

static int
cmd_round_status(struct ctx *c, int argc, char **argv)
{
	Udcctl__Reply *rep = NULL;
	int rv;

	if (argc != 1)
		return EX_USAGE;
	if ((rv = status_of(c, argv[0], &rep)) != 0)
		return rv;
	if (c->json)
		emit(round_json(rep->round));
	else
		print_round(rep->round);
	rv = round_exit(rep->round);
	udcctl__reply__free_unpacked(rep, NULL);
	return rv;
}

/* Progress of round wait: a bar on a terminal, a line per step and per
 * tenth when piped (stderr either way; stdout stays the final status). */
struct progress {
	int tty;
	char step[32];
	unsigned last_tenth;
	long long step_t0;  /* when this step was first seen (ms) */
	unsigned step_p0;   /* its progress then */
	uint64_t step_r0;   /* its records then */
	int drawn;
};

static void
show_progress(struct progress *p, const Udcctl__RoundInfo *r, long long t)
{
	char rate[48] = "", eta[48] = "", recs[64] = "";

	if (strcmp(p->step, r->step) != 0) {
		if (p->tty && p->drawn)
			fputc('\n', stderr);
		snprintf(p->step, sizeof(p->step), "%s", r->step);
		p->step_t0 = t;
		p->step_p0 = r->progress;
		p->step_r0 = r->records_done;
		p->last_tenth = 100;
		p->drawn = 0;
		if (!p->tty)
			fprintf(stderr, "udcctl: round %s: %s\n", r->round_id, r->step);
	}
	if (r->records_total)
		snprintf(recs, sizeof(recs), ", %llu of %llu records", (unsigned long long)r->records_done,
		    (unsigned long long)r->records_total);
	double dt = (double)(t - p->step_t0) / 1000.0;
	if (dt > 0.5 && r->records_total && r->records_done > p->step_r0) {
		/* Where the step counts records, the rate is in records. */
		double per_s = (double)(r->records_done - p->step_r0) / dt;
		double left = (double)(r->records_total - r->records_done) / per_s;
		snprintf(rate, sizeof(rate), ", %.0f records/s", per_s);
		snprintf(eta, sizeof(eta), ", step ETA %d:%02d", (int)left / 60, (int)left % 60);
	} else if (dt > 0.5 && r->progress > p->step_p0) {
		double per_s = (double)(r->progress - p->step_p0) / 10.0 / dt; /* percent per second */
		double left = (1000.0 - r->progress) / 10.0 / per_s;
		snprintf(rate, sizeof(rate), ", %.1f%%/s", per_s);
		snprintf(eta, sizeof(eta), ", step ETA %d:%02d", (int)left / 60, (int)left % 60);
	}
	if (p->tty) {
		int fill = (int)(r->progress * 30 / 1000);
		fprintf(stderr, "\r%-14s [%.*s%*s] %5.1f%%%s%s%s   ", r->step, fill,
		    "##############################", 30 - fill, "", r->progress / 10.0, recs, rate, eta);
		p->drawn = 1;
	} else if (r->progress / 100 != p->last_tenth && r->progress > 0 && r->progress < 1000) {
		p->last_tenth = r->progress / 100;
		fprintf(stderr, "udcctl: round %s: %s %.1f%%%s%s%s\n", r->round_id, r->step,
		    r->progress / 10.0, recs, rate, eta);
	}
	fflush(stderr);
}

static int
cmd_round_wait(struct ctx *c, int argc, char **argv)
{
	struct progress p = { .tty = isatty(STDERR_FILENO), .last_tenth = 100 };
	long long deadline = c->wait_s > 0 ? now_ms() + (long long)c->wait_s * 1000 : 0;
	/* the end of a round of seconds is seen within tens of ms; a round
	 * of hours costs five questions a second */
	struct udc_backoff b = UDC_BACKOFF_INIT(10, 200);
	int rv;

	if (argc != 1)
		return EX_USAGE;
	for (;;) {
		Udcctl__Reply *rep = NULL;
		long long t = now_ms();
		if ((rv = status_of(c, argv[0], &rep)) != 0)
			return rv;
		show_progress(&p, rep->round, t);
		if (!strcmp(rep->round->state, "done") || !strcmp(rep->round->state, "failed")) {
			if (p.tty && p.drawn)
				fputc('\n', stderr);
			if (c->json)
				emit(round_json(rep->round));
			else
				print_round(rep->round);
			rv = round_exit(rep->round);
			udcctl__reply__free_unpacked(rep, NULL);
			return rv;
		}
		udcctl__reply__free_unpacked(rep, NULL);
		if (deadline && now_ms() >= deadline) {
			if (p.tty && p.drawn)
				fputc('\n', stderr);
			warnx_("round %s not finished after %d s (--timeout); it goes on", argv[0], c->wait_s);
			return EX_TIMEOUT;
		}
		udc_backoff_wait(&b);
	}
}

static int
cmd_round_start(struct ctx *c, int argc, char **argv)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__RoundStart st = UDCCTL__ROUND_START__INIT;
	Udcctl__Reply *rep = NULL;
	int rv;

	if (argc != 1)
		return EX_USAGE;
	if ((rv = read_spec(argv[0], &st.spec_text, &st.schema_text)) != 0)
		return rv;
	st.accept_rejects = c->accept_rejects;
	req.cmd_case = UDCCTL__REQUEST__CMD_ROUND_START;
	req.round_start = &st;
	if ((rv = request(c, &req, &rep)) == 0) {
		if (rep->status || rep->round == NULL)
			rv = refused(rep);
		else if (c->json)
			emit(round_json(rep->round));
		else
			printf("%s\n", rep->round->round_id);
	}
	if (rep)
		udcctl__reply__free_unpacked(rep, NULL);
	free(st.spec_text.data);
	free(st.schema_text.data);
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
	if ((rv = simple(c, &req, &rep)) != 0)
		return rv;
	if (c->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < rep->n_rounds; i++)
			json_array_append_new(a, round_json(rep->rounds[i]));
		emit(json_pack("{s:o}", "rounds", a));
	} else {
		printf("%-32s  %-7s  %-13s  %-28s  %-20s  %-20s  %s\n", "ROUND", "STATE", "STEP", "SPEC",
		    "STARTED", "FINISHED", "OUTCOME");
		for (size_t i = 0; i < rep->n_rounds; i++) {
			const Udcctl__RoundInfo *r = rep->rounds[i];
			char ts[32], te[32], spec[29];
			const char *outcome = !strcmp(r->state, "done") ? "released" :
			    !strcmp(r->state, "failed") ? (r->error && r->error[0] ? r->error : "failed") : "-";
			fmt_time(r->started, ts, sizeof(ts));
			fmt_time(r->finished, te, sizeof(te));
			if (r->peer && r->peer[0])
				snprintf(spec, sizeof(spec), "%s/%s", r->peer, r->spec_name && r->spec_name[0] ?
				    r->spec_name : r->spec_hash);
			else
				snprintf(spec, sizeof(spec), "%s", r->spec_name && r->spec_name[0] ? r->spec_name :
				    r->spec_hash);
			printf("%-32s  %-7s  %-13s  %-28s  %-20s  %-20s  %s\n", r->round_id, r->state, r->step,
			    spec, ts, te, outcome);
		}
	}
	udcctl__reply__free_unpacked(rep, NULL);
	return EX_OK;
}

static int
write_out(const char *path, const void *data, size_t len)
{
	char tmp[4200];
	FILE *f;

	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((f = fopen(tmp, "wb")) == NULL || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
		warnx_("%s: %s", tmp, strerror(errno));
		return EX_UNREACHABLE;
	}
	if (rename(tmp, path) != 0) {
		warnx_("%s: %s", path, strerror(errno));
		unlink(tmp);
		return EX_UNREACHABLE;
	}
	return 0;
}

/* RESULT.sig: what the CBS node signed, in text, beside the table (h: the
 * table's SHA-256). */
static int
write_sig(const char *path, const char *round, const char *spec_hash, const uint8_t h[32],
    const uint8_t sig[64])
{
	char hh[65], sh[129], text[512];

	sodium_bin2hex(hh, sizeof(hh), h, 32);
	sodium_bin2hex(sh, sizeof(sh), sig, 64);
	snprintf(text, sizeof(text), "%s\nround %s\nspec_hash %s\nresult_sha256 %s\nsignature %s\n", SIG_MAGIC,
	    round, spec_hash, hh, sh);
	return write_out(path, text, strlen(text));
}

/* What fetch_result learnt besides the document. */
struct fetched {
	uint8_t sha[32];   /* the document's SHA-256 */
	uint8_t sig[64];   /* the CBS node's signature (have_sig) */
	int have_sig;
	char signer[1024]; /* who signed it, a line of text; "" if the node did not say */
	char spec_hash[72];
};

/* Reads round id's released document (json or csv) from the daemon piece by
 * piece (a release may be far larger than one reply) into out, hashing it on
 * the way for the signature file.  name names out in errors.  Returns 0 or an
 * exit code, with the reason printed. */
static int
fetch_result(struct ctx *c, const char *id, int as_json, FILE *out, const char *name,
    struct fetched *fr)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__RoundQuery q = UDCCTL__ROUND_QUERY__INIT;
	Udcctl__Reply *rep = NULL;
	crypto_hash_sha256_state st;
	uint64_t total = 0;
	int rv = 0;

	memset(fr, 0, sizeof(*fr));
	q.round_id = (char *)id;
	q.format = as_json ? "json" : "csv";
	q.max_bytes = 1u << 20;
	req.cmd_case = UDCCTL__REQUEST__CMD_ROUND_RESULT;
	req.round_result = &q;
	crypto_hash_sha256_init(&st);
	do {
		if ((rv = simple(c, &req, &rep)) != 0)
			goto out;
		if (q.offset == 0) {
			total = rep->total_bytes;
			if (rep->signer)
				snprintf(fr->signer, sizeof(fr->signer), "%s", rep->signer);
			if (rep->result_sig.len == 64 && rep->round_spec_hash) {
				memcpy(fr->sig, rep->result_sig.data, 64);
				snprintf(fr->spec_hash, sizeof(fr->spec_hash), "%s", rep->round_spec_hash);
				fr->have_sig = 1;
			}
		} else if (rep->total_bytes != total) {
			warnx_("round %s: the result changed while it was read", id);
			rv = EX_FAILED;
			goto out;
		}
		if (rep->data.len == 0 && q.offset < total) {
			warnx_("round %s: the daemon sent %llu of %llu bytes", id,
			    (unsigned long long)q.offset, (unsigned long long)total);
			rv = EX_FAILED;
			goto out;
		}
		crypto_hash_sha256_update(&st, rep->data.data, rep->data.len);
		if (fwrite(rep->data.data, 1, rep->data.len, out) != rep->data.len) {
			warnx_("%s: %s", name, strerror(errno));
			rv = EX_UNREACHABLE;
			goto out;
		}
		q.offset += rep->data.len;
		udcctl__reply__free_unpacked(rep, NULL);
		rep = NULL;
	} while (q.offset < total);
	crypto_hash_sha256_final(&st, fr->sha);
out:
	if (rep)
		udcctl__reply__free_unpacked(rep, NULL);
	return rv;
}

/* Fetches round id's document into path atomically (path.tmp, renamed);
 * for csv with the node's signature also path.sig (*wrote_sig set).
 * Returns 0 or an exit code, with the reason printed. */
static int
fetch_to_file(struct ctx *c, const char *id, int as_json, const char *path, struct fetched *fr,
    int *wrote_sig)
{
	char tmp[4200], sigpath[4200];
	FILE *out;
	int rv, bad;

	*wrote_sig = 0;
	snprintf(tmp, sizeof(tmp), "%s.tmp", path);
	if ((out = fopen(tmp, "wb")) == NULL) {
		warnx_("%s: %s", tmp, strerror(errno));
		return EX_UNREACHABLE;
	}
	rv = fetch_result(c, id, as_json, out, tmp, fr);
	bad = fclose(out) != 0;
	if (rv == 0 && (bad || rename(tmp, path) != 0)) {
		warnx_("%s: %s", path, strerror(errno));
		rv = EX_UNREACHABLE;
	}
	if (rv != 0) {
		unlink(tmp);
		return rv;
	}
	if (!as_json && fr->have_sig) {
		snprintf(sigpath, sizeof(sigpath), "%s.sig", path);
		if ((rv = write_sig(sigpath, id, fr->spec_hash, fr->sha, fr->sig)) == 0)
			*wrote_sig = 1;
	}
	return rv;
}

/* round result ID: the document to stdout or atomically to -o FILE (and,
 * for csv, the signature to FILE.sig). */
static int
cmd_round_result(struct ctx *c, int argc, char **argv)
{
	struct fetched fr;
	char sigpath[4200];
	int rv, as_json = c->fmt_json, wrote_sig = 0;

	if (argc != 1)
		return EX_USAGE;
	if (c->output == NULL) {
		if ((rv = fetch_result(c, argv[0], as_json, stdout, "stdout", &fr)) == 0 && fflush(stdout) != 0)
			rv = EX_UNREACHABLE;
	} else {
		rv = fetch_to_file(c, argv[0], as_json, c->output, &fr, &wrote_sig);
		snprintf(sigpath, sizeof(sigpath), "%s.sig", c->output);
		if (rv == 0 && wrote_sig && !c->json)
			fprintf(stderr, "udcctl: wrote %s and its signature %s\n", c->output, sigpath);
		else if (rv == 0 && !as_json && !fr.have_sig)
			warnx_("this node holds no signature for round %s (an older round): %s has none "
			    "beside it", argv[0], c->output);
		if (rv == 0 && c->json)
			emit(json_pack("{s:s, s:s, s:s?}", "round_id", argv[0], "output", c->output, "signature",
			    wrote_sig ? sigpath : NULL));
	}
	/* Who signed the table goes to stderr, so stdout stays the table. */
	if (rv == 0 && fr.signer[0] && !c->json)
		fprintf(stderr, "udcctl: released table %s", fr.signer);
	return rv;
}

/* A round id as the daemons print it: 32 hex digits. */
static int
is_round_id(const char *s)
{
	size_t n = strlen(s);
	if (n != 32)
		return 0;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return 0;
	return 1;
}

/* Fetches round id's result.csv (with result.csv.sig) and result.json into
 * dir, made if missing.  Returns 0 or an exit code, with the reason printed. */
static int
fetch_documents(struct ctx *c, const char *id, const char *dir, char *csv, char *json, size_t len)
{
	struct fetched fr;
	int rv, wrote_sig;

	if (mkdir(dir, 0755) != 0 && errno != EEXIST) {
		warnx_("%s: %s", dir, strerror(errno));
		return EX_UNREACHABLE;
	}
	snprintf(csv, len, "%s/result.csv", dir);
	snprintf(json, len, "%s/result.json", dir);
	if ((rv = fetch_to_file(c, id, 0, csv, &fr, &wrote_sig)) != 0)
		return rv;
	if (!wrote_sig)
		warnx_("this node holds no signature for round %s (an older round): %s has none beside it",
		    id, csv);
	if ((rv = fetch_to_file(c, id, 1, json, &fr, &wrote_sig)) != 0)
		return rv;
	if (fr.signer[0] && !c->json)
		fprintf(stderr, "udcctl: round %s: released table %s", id, fr.signer);
	return 0;
}

/* The report configuration to use: --report-config, else the study's as
 * installed, else as in the source tree (a build tree's udcctl). */
static const char *
report_config(const struct ctx *c)
{
	static const char *const tries[] = { UDC_REPORT_CONFIG_INSTALLED, UDC_REPORT_CONFIG_SOURCE };

	if (c->report_config)
		return c->report_config;
	for (size_t i = 0; i < sizeof(tries) / sizeof(tries[0]); i++)
		if (access(tries[i], R_OK) == 0)
			return tries[i];
	return tries[0];
}

/* report ROUND: fetches the round's released documents into the output
 * directory (default ./report-ROUND), an earlier round's too with --compare
 * ID (into DIR/earlier/), and writes report.html, indicators.csv and
 * indicators.json there with the report library (common/report/report.h),
 * as udc-report does. */
static int
cmd_report(struct ctx *c, int argc, char **argv)
{
	struct udc_report_opts o = { .csv_sep = c->csv_sep ? c->csv_sep : ';',
		.generator = "udcctl report " UDC_VERSION };
	enum udc_report_stage stage = UDC_REPORT_STAGE_NONE;
	char dir[4096], csv[4200], json[4200], ocsv[4200], ojson[4200], odir[4200], html[4400];
	char err[1024] = "";
	int rv;

	if (argc != 1)
		return EX_USAGE;
	if (!is_round_id(argv[0])) {
		warnx_("'%s' is not a round id (32 hex digits, as 'round list' shows)", argv[0]);
		return EX_USAGE;
	}
	if (c->output)
		snprintf(dir, sizeof(dir), "%s", c->output);
	else
		snprintf(dir, sizeof(dir), "report-%s", argv[0]);
	if (c->compare && !is_round_id(c->compare)) {
		snprintf(ocsv, sizeof(ocsv), "%s/result.csv", c->compare);
		snprintf(ojson, sizeof(ojson), "%s/result.json", c->compare);
		if (access(ocsv, R_OK) != 0 || access(ojson, R_OK) != 0) {
			warnx_("--compare %s: neither a round id nor a directory with result.csv and "
			    "result.json (%s)", c->compare, strerror(errno));
			return EX_UNREACHABLE;
		}
	}
	if ((rv = fetch_documents(c, argv[0], dir, csv, json, sizeof(csv))) != 0)
		return rv;
	o.csv = csv;
	o.json = json;
	if (c->compare && is_round_id(c->compare)) {
		snprintf(odir, sizeof(odir), "%s/earlier", dir);
		if ((rv = fetch_documents(c, c->compare, odir, ocsv, ojson, sizeof(ocsv))) != 0)
			return rv;
	}
	if (c->compare) {
		o.old_csv = ocsv;
		o.old_json = ojson;
	}
	o.config = report_config(c);
	o.outdir = dir;
	if ((rv = udc_report_write(&o, html, sizeof(html), &stage, err, sizeof(err))) != 0) {
		const char *what = stage == UDC_REPORT_STAGE_CONFIG ? "the report configuration" :
		    stage == UDC_REPORT_STAGE_RELEASE ? "the released documents" :
		    stage == UDC_REPORT_STAGE_OUTPUT ? "the output" : "the report";
		warnx_("report of round %s: %s: %s", argv[0], what, err[0] ? err : udc_strerror(rv));
		return EX_UNREACHABLE;
	}
	if (c->json) {
		char icsv[4200], ijson[4200];
		snprintf(icsv, sizeof(icsv), "%s/indicators.csv", dir);
		snprintf(ijson, sizeof(ijson), "%s/indicators.json", dir);
		emit(json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:s?}", "round_id", argv[0], "report", html,
		    "indicators_csv", icsv, "indicators_json", ijson, "result_csv", csv, "result_json", json,
		    "config", o.config, "earlier", c->compare));
	} else {
		printf("%s\n", html);
	}
	return EX_OK;
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
	if ((rv = simple(c, &req, &rep)) != 0)
		return rv;
	if (c->json)
		emit(json_pack("{s:s, s:s, s:s}", "result", approve ? "approved" : "refused", "round_id", argv[0],
		    "message", rep->text ? rep->text : ""));
	else
		printf("%s\n", rep->text ? rep->text : "");
	udcctl__reply__free_unpacked(rep, NULL);
	return EX_OK;
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

/* --- specs ------------------------------------------------------------------ */

static int
cmd_spec_approve(struct ctx *c, int argc, char **argv)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__SpecApprove a = UDCCTL__SPEC_APPROVE__INIT;
	Udcctl__Reply *rep = NULL;
	int rv;

	if (argc != 1)
		return EX_USAGE;
	if ((rv = read_spec(argv[0], &a.spec_text, &a.schema_text)) != 0)
		return rv;
	a.source = argv[0];
	a.peer = (char *)(c->peer ? c->peer : "");
	req.cmd_case = UDCCTL__REQUEST__CMD_SPEC_APPROVE;
	req.spec_approve = &a;
	if ((rv = simple(c, &req, &rep)) == 0) {
		if (c->json)
			emit(json_pack("{s:s, s:s}", "result", "approved", "message", rep->text));
		else
			printf("%s\n", rep->text);
		udcctl__reply__free_unpacked(rep, NULL);
	}
	free(a.spec_text.data);
	free(a.schema_text.data);
	return rv;
}

/* Offline: the canonical form and hash, as both nodes will compute them. */
static int
cmd_spec_show(struct ctx *c, int argc, char **argv)
{
	struct udc_spec *spec = NULL;
	char err[1024], hex[65];
	static const char *const modes[] = { "exact", "fuzzy", "combined" };

	if (argc != 1)
		return EX_USAGE;
	if (udc_spec_load_with_schema(argv[0], &spec, err, sizeof(err)) != 0) {
		warnx_("%s", err);
		return errno == ENOENT || strstr(err, "No such file") ? EX_UNREACHABLE : EX_REFUSED;
	}
	udc_spec_hash_hex(spec, hex);
	if (c->json)
		emit(json_pack("{s:s, s:s, s:s, s:s, s:s}", "file", argv[0], "name", spec->name, "mode",
		    modes[spec->mode], "spec_hash", hex, "canonical", spec->canonical));
	else
		printf("# spec '%s' (%s), from %s\n# hash %s\n# both operators should see this hash before "
		       "approving\n%s",
		    spec->name, modes[spec->mode], argv[0], hex, spec->canonical);
	udc_spec_free(spec);
	return EX_OK;
}

static int
cmd_spec_list(struct ctx *c, int argc, char **argv)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__SpecList l = UDCCTL__SPEC_LIST__INIT;
	Udcctl__Reply *rep = NULL;
	int rv;

	if (argc != 0)
		return EX_USAGE;
	req.cmd_case = UDCCTL__REQUEST__CMD_SPEC_LIST;
	req.spec_list = &l;
	if ((rv = simple(c, &req, &rep)) != 0)
		return rv;
	if (c->json) {
		json_t *a = json_array();
		for (size_t i = 0; i < rep->n_specs; i++) {
			json_t *o = json_pack("{s:s, s:s, s:o}", "spec_hash", rep->specs[i]->spec_hash, "name",
			    rep->specs[i]->name, "approved", json_time(rep->specs[i]->approved));

			if (o != NULL && rep->specs[i]->peer && rep->specs[i]->peer[0])
				json_object_set_new(o, "peer", json_string(rep->specs[i]->peer));
			json_array_append_new(a, o);
		}
		emit(json_pack("{s:o}", "specs", a));
	} else {
		printf("%-64s  %-20s  %s\n", "SPEC HASH", "APPROVED", "NAME");
		for (size_t i = 0; i < rep->n_specs; i++) {
			char t[32];
			fmt_time(rep->specs[i]->approved, t, sizeof(t));
			if (rep->specs[i]->peer && rep->specs[i]->peer[0])
				printf("%-64s  %-20s  %s (gemeente %s)\n", rep->specs[i]->spec_hash, t,
				    rep->specs[i]->name, rep->specs[i]->peer);
			else
				printf("%-64s  %-20s  %s\n", rep->specs[i]->spec_hash, t, rep->specs[i]->name);
		}
	}
	udcctl__reply__free_unpacked(rep, NULL);
	return EX_OK;
}

static int
cmd_spec_revoke(struct ctx *c, int argc, char **argv)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__SpecRevoke r = UDCCTL__SPEC_REVOKE__INIT;
	Udcctl__Reply *rep = NULL;
	int rv;

	if (argc != 1)
		return EX_USAGE;
	r.spec_hash = argv[0];
	r.peer = (char *)(c->peer ? c->peer : "");
	req.cmd_case = UDCCTL__REQUEST__CMD_SPEC_REVOKE;
	req.spec_revoke = &r;
	if ((rv = simple(c, &req, &rep)) != 0)
		return rv;
	if (c->json)
		emit(json_pack("{s:s, s:s, s:s}", "result", "revoked", "spec_hash", argv[0], "message", rep->text));
	else
		printf("%s\n", rep->text);
	udcctl__reply__free_unpacked(rep, NULL);
	return EX_OK;
}

/* --- node ---------------------------------------------------------------------- */

static int
cmd_node_status(struct ctx *c, int argc, char **argv)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__NodeStatus ns = UDCCTL__NODE_STATUS__INIT;
	Udcctl__Reply *rep = NULL;
	const Udcctl__NodeInfo *n;
	int rv;

	if (argc != 0)
		return EX_USAGE;
	req.cmd_case = UDCCTL__REQUEST__CMD_NODE_STATUS;
	req.node_status = &ns;
	if ((rv = simple(c, &req, &rep)) != 0)
		return rv;
	if ((n = rep->node) == NULL) {
		udcctl__reply__free_unpacked(rep, NULL);
		warnx_("the daemon sent no node status (older daemon?)");
		return EX_REFUSED;
	}
	if (c->json) {
		emit(json_pack("{s:s, s:s, s:s, s:o, s:s, s:s, s:s, s:o, s:s, s:o, s:o, s:I, s:I, s:s, s:s, s:s, "
		               "s:o, s:I, s:I, s:I, s:{s:I, s:I, s:i, s:i}}",
		    "name", n->name, "role", n->role, "version", n->version, "started", json_time(n->started),
		    "key_fingerprint", n->key_fingerprint, "peer_key_fingerprint", n->peer_key_fingerprint,
		    "peer_url", n->peer_url,
		    "peer_reachable", n->peer_reachable < 0 ? json_null() : json_boolean(n->peer_reachable),
		    "peer_error", n->peer_error, "cert_not_after", json_time(n->cert_not_after),
		    "ca_not_after", json_time(n->ca_not_after), "disk_free_bytes", (json_int_t)n->disk_free,
		    "disk_total_bytes", (json_int_t)n->disk_total, "state_dir", n->state_dir,
		    "last_round", n->last_round, "last_round_state", n->last_round_state,
		    "last_round_finished", json_time(n->last_round_finished), "rounds_total",
		    (json_int_t)n->rounds_total, "rounds_running", (json_int_t)n->rounds_running,
		    "approved_specs", (json_int_t)n->approved_specs, "limits", "max_message_bytes",
		    (json_int_t)n->max_message, "chunk_records", (json_int_t)n->chunk_records, "peer_timeout_s",
		    (int)n->peer_timeout_s, "workers", (int)n->workers));
	} else {
		char t1[32], t2[32], t3[32], t4[32];
		fmt_time(n->started, t1, sizeof(t1));
		fmt_time(n->cert_not_after, t2, sizeof(t2));
		fmt_time(n->ca_not_after, t3, sizeof(t3));
		fmt_time(n->last_round_finished, t4, sizeof(t4));
		printf("node:           %s (%s), udclink %s, up since %s\n", n->name, n->role, n->version, t1);
		printf("peer:           %s: %s%s%s\n", n->peer_url,
		    n->peer_reachable < 0 ? "listening (the gemeente connects)" :
		    n->peer_reachable ? "reachable" : "NOT reachable",
		    n->peer_reachable == 0 && n->peer_error[0] ? ": " : "", n->peer_reachable == 0 ? n->peer_error : "");
		printf("keys:           this node %s, pinned peer %s\n", n->key_fingerprint, n->peer_key_fingerprint);
		printf("certificate:    expires %s (CA expires %s)\n", t2, t3);
		printf("state:          %s, %.1f of %.1f GiB free\n", n->state_dir, n->disk_free / 1073741824.0,
		    n->disk_total / 1073741824.0);
		printf("rounds:         %llu known, %llu running; last %s %s (finished %s)\n",
		    (unsigned long long)n->rounds_total, (unsigned long long)n->rounds_running,
		    n->last_round[0] ? n->last_round : "-", n->last_round_state, t4);
		printf("approved specs: %llu\n", (unsigned long long)n->approved_specs);
		printf("limits:         max_message %llu bytes, chunk_records %llu, peer timeout %d s, %d crypto "
		       "threads\n",
		    (unsigned long long)n->max_message, (unsigned long long)n->chunk_records,
		    (int)n->peer_timeout_s, (int)n->workers);
	}
	rv = n->peer_reachable == 0 ? EX_UNREACHABLE : EX_OK;
	udcctl__reply__free_unpacked(rep, NULL);
	return rv;
}

/* Waits until the daemon answers (for scripts that just started it). */
static int
cmd_node_wait(struct ctx *c, int argc, char **argv)
{
	long long deadline = now_ms() + (c->wait_s > 0 ? c->wait_s : c->timeout_ms / 1000) * 1000LL;
	char err[512];
	int rv;

	if (argc != 0)
		return EX_USAGE;
	if ((rv = need_socket(c)) != 0)
		return rv;
	for (;;) {
		int fd;
		if (udc_ctl_connect(c->socket, &fd, err, sizeof(err)) == 0) {
			Udcctl__Request req = UDCCTL__REQUEST__INIT;
			Udcctl__RoundList l = UDCCTL__ROUND_LIST__INIT;
			Udcctl__Reply *rep = NULL;
			c->fd = fd;
			req.cmd_case = UDCCTL__REQUEST__CMD_ROUND_LIST;
			req.round_list = &l;
			if ((rv = simple(c, &req, &rep)) == 0) {
				udcctl__reply__free_unpacked(rep, NULL);
				if (c->json)
					emit(json_pack("{s:s}", "result", "ready"));
				return EX_OK;
			}
			return rv;
		}
		if (now_ms() >= deadline) {
			warnx_("%s", err);
			warnx_("the daemon did not answer within %d s", c->wait_s > 0 ? c->wait_s : c->timeout_ms / 1000);
			return EX_TIMEOUT;
		}
		usleep(100 * 1000);
	}
}

static int
cmd_metrics(struct ctx *c, int argc, char **argv)
{
	Udcctl__Request req = UDCCTL__REQUEST__INIT;
	Udcctl__Metrics m = UDCCTL__METRICS__INIT;
	Udcctl__Reply *rep = NULL;
	int rv;

	if (argc != 0)
		return EX_USAGE;
	req.cmd_case = UDCCTL__REQUEST__CMD_METRICS;
	req.metrics = &m;
	if ((rv = simple(c, &req, &rep)) != 0)
		return rv;
	if (c->output)
		rv = write_out(c->output, rep->text, strlen(rep->text));
	else if (c->json)
		emit(json_pack("{s:s}", "prometheus_text", rep->text));
	else
		fputs(rep->text, stdout);
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
	if ((rv = request(c, &req, &rep)) != 0)
		return rv;
	const char *msg = rep->status ? (rep->error && rep->error[0] ? rep->error : rep->text) : rep->text;
	if (c->json)
		emit(json_pack("{s:b, s:s}", "ok", rep->status == 0, "message", msg ? msg : ""));
	else if (rep->status)
		warnx_("%s", msg ? msg : "audit log does not verify");
	else
		printf("%s\n", rep->text);
	rv = rep->status ? EX_VERIFY : EX_OK;
	udcctl__reply__free_unpacked(rep, NULL);
	return rv;
}

/* --- offline verification of a released table ---------------------------------- */

static int
sig_field(const char *text, const char *name, char *out, size_t outlen)
{
	size_t nl = strlen(name);
	for (const char *p = text; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL) {
		if (strncmp(p, name, nl) == 0 && p[nl] == ' ') {
			const char *v = p + nl + 1, *e = strchr(v, '\n');
			size_t len = e ? (size_t)(e - v) : strlen(v);
			if (len >= outlen)
				return -1;
			memcpy(out, v, len);
			out[len] = '\0';
			return 0;
		}
	}
	return -1;
}

static int
cmd_verify(struct ctx *c, int argc, char **argv)
{
	uint8_t *sigtext = NULL, rid[16], sh[32], sig[64], sd[80], h[32];
	size_t siglen;
	char sigpath[4200], round[40], spec[72], sighex[136], rsha[72], hh[65], fpr[UDC_SIGN_FPR_SIZE];
	const char *keypath = c->key;
	struct udc_sign_pub pub;
	char err[512];
	int rv, ok;

	if (argc != 1)
		return EX_USAGE;
	if (keypath == NULL && c->cfg && c->cfg->role == UDC_ROLE_GEMEENTE)
		keypath = c->cfg->peer_public_key; /* the CBS node's key, pinned here */
	if (keypath == NULL) {
		warnx_("whose key? give --key CBS.pub (or -c the gemeente's configuration, which pins it)");
		return EX_USAGE;
	}
	if (udc_sign_pub_load(keypath, &pub, err, sizeof(err)) != 0) {
		warnx_("%s", err);
		return EX_UNREACHABLE;
	}
	snprintf(sigpath, sizeof(sigpath), "%s.sig", argv[0]);
	if (c->sig)
		snprintf(sigpath, sizeof(sigpath), "%s", c->sig);
	/* the table is hashed as it is read: it may be large */
	if (udc_file_sha256(argv[0], h) != 0) {
		warnx_("%s: %s", argv[0], strerror(errno ? errno : EIO));
		rv = EX_UNREACHABLE;
		goto out;
	}
	if ((rv = read_file(sigpath, &sigtext, &siglen, 4096)) != 0)
		goto out;
	if (strncmp((char *)sigtext, SIG_MAGIC "\n", strlen(SIG_MAGIC) + 1) != 0 ||
	    sig_field((char *)sigtext, "round", round, sizeof(round)) != 0 ||
	    sig_field((char *)sigtext, "spec_hash", spec, sizeof(spec)) != 0 ||
	    sig_field((char *)sigtext, "signature", sighex, sizeof(sighex)) != 0 ||
	    udc_round_id_parse(round, rid) != 0 ||
	    sodium_hex2bin(sh, 32, spec, strlen(spec), NULL, NULL, NULL) != 0 || strlen(spec) != 64 ||
	    sodium_hex2bin(sig, 64, sighex, strlen(sighex), NULL, NULL, NULL) != 0 || strlen(sighex) != 128) {
		warnx_("%s: not a udclink result signature file", sigpath);
		rv = EX_VERIFY;
		goto out;
	}
	sodium_bin2hex(hh, sizeof(hh), h, 32);
	udc_result_sigdata_sha(rid, sh, h, sd);
	ok = udc_sign_verify(&pub, UDC_SIGN_RESULT, sd, sizeof(sd), sig) == 0;
	udc_sign_fingerprint(&pub, fpr);
	if (c->json)
		emit(json_pack("{s:b, s:s, s:s, s:s, s:s, s:s}", "ok", ok, "file", argv[0], "round_id", round,
		    "spec_hash", spec, "result_sha256", hh, "key_fingerprint", fpr));
	if (!ok) {
		if (sig_field((char *)sigtext, "result_sha256", rsha, sizeof(rsha)) == 0 && strcmp(rsha, hh) != 0)
			warnx_("%s does NOT verify: the table was changed after release (SHA-256 %s, signed %s)",
			    argv[0], hh, rsha);
		else
			warnx_("%s does NOT verify with key %s (%s): another signer, or the signature file "
			    "was changed", argv[0], fpr, keypath);
		rv = EX_VERIFY;
	} else {
		if (!c->json)
			printf("%s: OK, signed by the CBS key %s for round %s, spec %s\n", argv[0], fpr, round, spec);
		rv = EX_OK;
	}
out:
	free(sigtext);
	return rv;
}

/* --- the table ------------------------------------------------------------------- */

static const struct command {
	const char *noun, *verb, *args, *summary, *help;
	int (*fn)(struct ctx *, int, char **);
	int opts;    /* O_* this command takes */
	int offline; /* needs no daemon */
} commands[] = {
	{ "spec", "show", "SPEC", "print a spec's canonical form and hash (offline)",
	  "Parses SPEC (and the CLK schema it names) as both nodes will and prints the\n"
	  "canonical form and its SHA-256.  Both operators compare the hash before\n"
	  "approving.  Needs no daemon.", cmd_spec_show, 0, 1 },
	{ "spec", "approve", "SPEC", "approve a round spec on this node",
	  "Sends SPEC (and its CLK schema) to the daemon, which signs its hash with the\n"
	  "node's key and records who approved it in the audit log.  A CBS node that\n"
	  "serves several gemeenten approves for one: --peer ID (its [gemeente ID]).",
	  cmd_spec_approve, O_PEER, 0 },
	{ "spec", "list", "", "list the specs approved on this node",
	  "One line per approved spec: hash, when it was approved, name.", cmd_spec_list, 0, 0 },
	{ "spec", "revoke", "HASH", "withdraw this node's approval of a spec",
	  "Removes the approval (spec, schema, signature) of the spec with hash HASH as\n"
	  "'spec list' shows it; rounds of it can no longer start or be accepted here.\n"
	  "A CBS node that serves several gemeenten revokes one's: --peer ID.",
	  cmd_spec_revoke, O_PEER, 0 },
	{ "round", "start", "SPEC", "start a round (gemeente node); prints its id",
	  "Queues a round of the approved spec SPEC and prints the round id.  With\n"
	  "--accept-rejects the round runs even if more rows are rejected than\n"
	  "[input] reject_limit allows.", cmd_round_start, O_ACCEPT, 0 },
	{ "round", "approve", "ID", "approve a proposed round (CBS node, round_approval = operator)",
	  "With round_approval = operator the CBS node waits for its operator's\n"
	  "decision on each proposed round; this approves round ID.", cmd_round_approve, 0, 0 },
	{ "round", "refuse", "ID [REASON]", "refuse a proposed round (CBS node)",
	  "Refuses round ID; REASON (the rest of the line) goes to the gemeente and\n"
	  "the audit log.", cmd_round_refuse, 0, 0 },
	{ "round", "status", "ID", "state, step and progress of a round",
	  "Exit status 3 if the round failed.", cmd_round_status, 0, 0 },
	{ "round", "wait", "ID", "wait until a round is done or failed, showing progress",
	  "Shows the step, its progress, records done of the total, the rate and the\n"
	  "step's ETA on stderr (a bar on a terminal, lines when piped), then the\n"
	  "round's status on stdout.\n"
	  "Exit status 0 done, 3 failed, 5 if --timeout passed first (the round goes on).",
	  cmd_round_wait, O_TIMEOUT, 0 },
	{ "round", "result", "ID", "print or save the released table",
	  "Prints the released table (--format csv, the default, or json).  With -o FILE\n"
	  "it writes FILE and, for csv, FILE.sig: the CBS node's signature, for\n"
	  "'udcctl verify FILE'.", cmd_round_result, O_FORMAT | O_OUTPUT, 0 },
	{ "report", NULL, "ID", "write a round's report: report.html, indicators.csv, .json",
	  "Fetches round ID's released result.csv (with its signature, result.csv.sig)\n"
	  "and result.json into DIR (-o; default ./report-ID), and writes there\n"
	  "report.html (one self-contained page: charts, maps, intervals, margins,\n"
	  "the release's metadata), indicators.csv and indicators.json, as udc-report\n"
	  "does (docs/report.md); prints the path of report.html.  --compare OLD adds\n"
	  "the change per wijk since an earlier round: OLD is a round id this node\n"
	  "holds (fetched into DIR/earlier/) or a directory with result.csv and\n"
	  "result.json (an earlier report's DIR, or STATE/rounds/ID).  The report\n"
	  "configuration is the Den Haag study's, unless --report-config names another:\n"
	  "  " UDC_REPORT_CONFIG_INSTALLED "\n"
	  "(or the source tree's, for a udcctl run from its build tree).  Exit status 2\n"
	  "also if the configuration, the documents or the output are bad; the message\n"
	  "says which.",
	  cmd_report, O_OUTDIR | O_COMPARE | O_CSVSEP | O_RCONF, 0 },
	{ "round", "list", "", "list the rounds this node knows",
	  "A header, then one line per round: id, state, step, spec name, start and\n"
	  "finish times (UTC), outcome.", cmd_round_list, 0, 0 },
	{ "audit", "verify", "", "check this node's audit log (chain and signed checkpoints)",
	  "Exit status 6 if the audit log does not verify.", cmd_audit_verify, 0, 0 },
	{ "node", "status", "", "peer reachable, certificate expiry, keys, last round, disk, limits",
	  "Exit status 2 if the gemeente node cannot reach the CBS node.", cmd_node_status, 0, 0 },
	{ "node", "wait", "", "wait until the daemon answers (after starting it)",
	  "Retries until the daemon answers on its control socket, for --timeout seconds\n"
	  "(default: -t).  Exit status 5 if it did not.", cmd_node_wait, O_TIMEOUT, 0 },
	{ "metrics", NULL, "", "print the node's metrics (Prometheus text format)",
	  "Prometheus text exposition; -o FILE writes it atomically, for node_exporter's\n"
	  "textfile collector.", cmd_metrics, O_OUTPUT, 0 },
	{ "verify", NULL, "RESULT", "check a released table's signature (offline)",
	  "Checks RESULT against RESULT.sig (or --sig FILE) with the CBS node's public\n"
	  "key (--key FILE, or the key the gemeente configuration given with -c pins).\n"
	  "Exit status 6 if it does not verify.  Needs no daemon.", cmd_verify, O_KEY | O_SIG, 1 },
};
#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static void
cmd_name(const struct command *k, char *buf, size_t len)
{
	snprintf(buf, len, "%s%s%s", k->noun, k->verb ? " " : "", k->verb ? k->verb : "");
}

static void
usage(FILE *f)
{
	char name[32];
	fprintf(f, "usage: udcctl [-c CONFIG | -s SOCKET] [-t SECONDS] [--json] COMMAND [ARGS] [OPTIONS]\n"
	           "       udcctl COMMAND --help\n       udcctl --version\n\n"
	           "  -c, --config FILE    the node's configuration (its control socket, keys)\n"
	           "  -s, --socket PATH    the control socket, instead of -c\n"
	           "  -t, --timeout SEC    how long to wait for each answer (default 60)\n"
	           "  -j, --json           print JSON on stdout (docs/operations.md)\n"
	           "  -V, --version        print the version\n"
	           "  -h, --help           this help\n\ncommands:\n");
	for (size_t i = 0; i < NCOMMANDS; i++) {
		cmd_name(&commands[i], name, sizeof(name));
		fprintf(f, "  %-13s %-6s  %s\n", name, commands[i].args, commands[i].summary);
	}
	fprintf(f, "\nexit codes: 0 ok, 1 usage, 2 daemon unreachable or file unreadable, 3 round failed,\n"
	           "            4 refused by the daemon, 5 timed out, 6 audit log or signature does not verify\n");
}

static void
command_help(FILE *f, const struct command *k)
{
	char name[32];
	cmd_name(k, name, sizeof(name));
	fprintf(f, "usage: udcctl [-c CONFIG | -s SOCKET] [-t SECONDS] [--json] %s%s%s", name,
	    k->args[0] ? " " : "", k->args);
	if (k->opts & O_TIMEOUT)
		fprintf(f, " [--timeout SECONDS]");
	if (k->opts & O_FORMAT)
		fprintf(f, " [--format csv|json]");
	if (k->opts & O_OUTPUT)
		fprintf(f, " [-o FILE]");
	if (k->opts & O_OUTDIR)
		fprintf(f, " [-o DIR]");
	if (k->opts & O_COMPARE)
		fprintf(f, " [--compare OLD]");
	if (k->opts & O_CSVSEP)
		fprintf(f, " [--csv-separator C]");
	if (k->opts & O_RCONF)
		fprintf(f, " [--report-config FILE]");
	if (k->opts & O_KEY)
		fprintf(f, " [--key PUBFILE]");
	if (k->opts & O_SIG)
		fprintf(f, " [--sig SIGFILE]");
	if (k->opts & O_ACCEPT)
		fprintf(f, " [--accept-rejects]");
	if (k->opts & O_PEER)
		fprintf(f, " [--peer ID]");
	fprintf(f, "\n\n%s: %s.\n%s\n", name, k->summary, k->help);
	if (k->opts) {
		fprintf(f, "\noptions:\n");
		if (k->opts & O_TIMEOUT)
			fprintf(f, "  --timeout SECONDS    give up after this long (exit status 5)\n");
		if (k->opts & O_FORMAT)
			fprintf(f, "  -f, --format FMT     csv (default) or json\n");
		if (k->opts & O_OUTPUT)
			fprintf(f, "  -o, --output FILE    write to FILE instead of stdout\n");
		if (k->opts & O_OUTDIR)
			fprintf(f, "  -o, --output DIR     write into DIR, made if missing (default ./report-ID)\n");
		if (k->opts & O_COMPARE)
			fprintf(f, "  --compare OLD        an earlier round: its id, or a directory with its\n"
			           "                       result.csv and result.json\n");
		if (k->opts & O_CSVSEP)
			fprintf(f, "  --csv-separator C    indicators.csv: ; (default, decimal commas, as Dutch\n"
			           "                       spreadsheets read it) or , (decimal points)\n");
		if (k->opts & O_RCONF)
			fprintf(f, "  --report-config FILE the report configuration (docs/report.md)\n");
		if (k->opts & O_KEY)
			fprintf(f, "  -k, --key PUBFILE    the CBS node's public key (udc-keygen)\n");
		if (k->opts & O_SIG)
			fprintf(f, "  --sig SIGFILE        the signature file (default RESULT.sig)\n");
		if (k->opts & O_ACCEPT)
			fprintf(f, "  --accept-rejects     run even if more rows are rejected than reject_limit\n");
		if (k->opts & O_PEER)
			fprintf(f, "  --peer ID            the gemeente ([gemeente ID]) at a CBS node serving several\n");
	}
	fprintf(f, "  -j, --json           print JSON on stdout\n  -h, --help           this help\n");
}

static int
positive(const char *s, int *out)
{
	char *end;
	long v;
	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || *end || v <= 0 || v > 31 * 86400)
		return -1;
	*out = (int)v;
	return 0;
}

/* Options of the command, before or after its operands (GNU getopt
 * permutes); leaves the operands in argv[0..*argc).  Returns 0, EX_USAGE,
 * or -1 after printing --help. */
static int
command_options(struct ctx *c, const struct command *k, int *argc, char **argv)
{
	static const struct option lopts[] = {
		{ "timeout", required_argument, NULL, 'T' },
		{ "format", required_argument, NULL, 'f' },
		{ "output", required_argument, NULL, 'o' },
		{ "key", required_argument, NULL, 'k' },
		{ "sig", required_argument, NULL, 'S' },
		{ "accept-rejects", no_argument, NULL, 'A' },
		{ "compare", required_argument, NULL, 'C' },
		{ "csv-separator", required_argument, NULL, 'E' },
		{ "report-config", required_argument, NULL, 'R' },
		{ "peer", required_argument, NULL, 'P' },
		{ "json", no_argument, NULL, 'j' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	int ch, n = 0, rv = 0;
	char **ops = calloc((size_t)*argc + 2, sizeof(*ops));

	if (ops == NULL)
		return EX_USAGE;
	ops[n++] = "udcctl"; /* getopt wants argv[0] to be the program */
	for (int i = 0; i < *argc; i++)
		ops[n++] = argv[i];
	optind = 0;
	while (rv == 0 && (ch = getopt_long(n, ops, "f:o:k:jh", lopts, NULL)) != -1) {
		int need = ch == 'T' ? O_TIMEOUT : ch == 'f' ? O_FORMAT : ch == 'o' ? O_OUTPUT | O_OUTDIR :
		    ch == 'k' ? O_KEY : ch == 'S' ? O_SIG : ch == 'A' ? O_ACCEPT : ch == 'C' ? O_COMPARE :
		    ch == 'E' ? O_CSVSEP : ch == 'R' ? O_RCONF : ch == 'P' ? O_PEER : 0;
		if (need && !(k->opts & need)) {
			warnx_("this command takes no %s option", ops[optind - 1]);
			rv = EX_USAGE;
			break;
		}
		switch (ch) {
		case 'T':
			if (positive(optarg, &c->wait_s) != 0) {
				warnx_("--timeout takes a number of seconds");
				rv = EX_USAGE;
			}
			break;
		case 'f':
			if (strcmp(optarg, "json") == 0)
				c->fmt_json = 1;
			else if (strcmp(optarg, "csv") != 0) {
				warnx_("--format csv or json");
				rv = EX_USAGE;
			}
			break;
		case 'o': c->output = optarg; break;
		case 'k': c->key = optarg; break;
		case 'S': c->sig = optarg; break;
		case 'A': c->accept_rejects = 1; break;
		case 'C': c->compare = optarg; break;
		case 'R': c->report_config = optarg; break;
		case 'E':
			if (strcmp(optarg, ";") != 0 && strcmp(optarg, ",") != 0) {
				warnx_("--csv-separator must be ; or , (not '%s')", optarg);
				rv = EX_USAGE;
			} else {
				c->csv_sep = optarg[0];
			}
			break;
		case 'P': c->peer = optarg; break;
		case 'j': c->json = 1; break;
		case 'h':
			command_help(stdout, k);
			rv = -1;
			break;
		default:
			rv = EX_USAGE;
			break;
		}
	}
	if (rv == 0) {
		int m = 0;
		for (int i = optind; i < n; i++)
			argv[m++] = ops[i];
		*argc = m;
	}
	free(ops);
	return rv;
}

int
main(int argc, char **argv)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "socket", required_argument, NULL, 's' },
		{ "timeout", required_argument, NULL, 't' },
		{ "json", no_argument, NULL, 'j' },
		{ "version", no_argument, NULL, 'V' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct ctx c = { .timeout_ms = 60000, .fd = -1 };
	const struct command *k = NULL;
	char err[1024];
	int ch, rv = EX_USAGE, secs, used = 0;

	while ((ch = getopt_long(argc, argv, "+c:s:t:jVh", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c': c.cfgpath = optarg; break;
		case 's': c.socket = optarg; break;
		case 't':
			if (positive(optarg, &secs) != 0) {
				warnx_("-t takes a number of seconds");
				return EX_USAGE;
			}
			c.timeout_ms = secs * 1000;
			break;
		case 'j': c.json = 1; break;
		case 'V': printf("udcctl (udclink) %s\n", UDC_VERSION); return EX_OK;
		case 'h': usage(stdout); return EX_OK;
		default: usage(stderr); return EX_USAGE;
		}
	}
	argc -= optind;
	argv += optind;
	if (argc >= 1 && strcmp(argv[0], "help") == 0) { /* udcctl help [NOUN [VERB]] */
		argc--;
		argv++;
		if (argc == 0) {
			usage(stdout);
			return EX_OK;
		}
		for (size_t i = 0; i < NCOMMANDS; i++)
			if (!strcmp(argv[0], commands[i].noun) &&
			    (commands[i].verb == NULL || (argc > 1 && !strcmp(argv[1], commands[i].verb)))) {
				command_help(stdout, &commands[i]);
				return EX_OK;
			}
		warnx_("no command '%s%s%s'", argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
		return EX_USAGE;
	}
	if (argc < 1) {
		usage(stderr);
		return EX_USAGE;
	}
	for (size_t i = 0; i < NCOMMANDS && k == NULL; i++) {
		if (strcmp(argv[0], commands[i].noun) != 0)
			continue;
		if (commands[i].verb == NULL) {
			k = &commands[i];
			used = 1;
		} else if (argc >= 2 && strcmp(argv[1], commands[i].verb) == 0) {
			k = &commands[i];
			used = 2;
		}
	}
	if (k == NULL) {
		warnx_("unknown command '%s%s%s'", argv[0], argc > 1 ? " " : "", argc > 1 ? argv[1] : "");
		usage(stderr);
		return EX_USAGE;
	}
	argc -= used;
	argv += used;
	if ((rv = command_options(&c, k, &argc, argv)) != 0) {
		if (rv < 0)
			return EX_OK; /* --help */
		command_help(stderr, k);
		return rv;
	}
	if (c.cfgpath) {
		if (udc_config_load(c.cfgpath, &c.cfg, err, sizeof(err)) != 0) {
			warnx_("%s", err);
			return EX_UNREACHABLE;
		}
		if (c.socket == NULL)
			c.socket = c.cfg->control_socket;
	}
	if (sodium_init() < 0) {
		warnx_("cannot initialise libsodium");
		rv = EX_UNREACHABLE;
		goto out;
	}
	rv = k->fn(&c, argc, argv);
	if (rv == EX_USAGE)
		command_help(stderr, k);
out:
	if (c.fd >= 0)
		close(c.fd);
	udc_config_free(c.cfg);
	return rv;
}
