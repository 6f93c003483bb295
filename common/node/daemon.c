/*
 * daemon.c - process wiring common to both nodes: start-up and shutdown,
 * the control handlers (spec approve/list/revoke, round status/list/result,
 * node status, metrics, audit verify; round start and decide go to the
 * party), approvals and their signatures, loading approved specs.
 *
 * Threads: main (waits for a signal), control (serves udcctl on its Unix
 * socket, ctl.c: one request at a time, every command is quick), the worker
 * pool, and whatever the party starts (protocol threads).
 */
#include "daemon.h"

#include <dirent.h>
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
#include <sys/stat.h>
#include <sys/statvfs.h>

#include <sodium.h>

#include "ctl.h"
#include "err.h"
#include "log.h"
#include "nodecheck.h"
#include "rounds.h"
#include "sdaemon.h"
#include "secmem.h"
#include "spec.h"
#include "input.h"
#include "statepath.h"
#include "store.h"
#include "transport.h"
#include "workq.h"
#include "wire.pb-c.h"

#define RESULT_PIECE (8u * 1024 * 1024) /* bytes of a result per control reply */

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
	static const char *const counted[UDC_NC_MAX] = { UDC_AUDIT_ROUND_DONE, UDC_AUDIT_ROUND_FAILED,
		UDC_AUDIT_ROUND_REFUSED, UDC_AUDIT_MESSAGE_REFUSED, UDC_AUDIT_RESULT_RELEASED,
		UDC_AUDIT_SPEC_APPROVED };
	for (int i = 0; i < UDC_NC_MAX; i++)
		if (strcmp(type, counted[i]) == 0)
			atomic_fetch_add(&n->counts[i], 1);
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

void
udc_result_sig_store(struct udc_node *n, const char *idhex, const uint8_t sig[64])
{
	char rel[96];
	int rv;

	udc_state_round(rel, sizeof(rel), idhex, "result.sig");
	if ((rv = udc_store_write(n->cfg->state_dir, rel, sig, 64)) != 0)
		log_warnx("round %s: cannot store the result signature: %s", idhex, udc_strerror(rv));
}

int
udc_approval_load(struct udc_node *n, const char *hex, uint8_t sig[UDC_SIGN_BYTES])
{
	return udc_approval_load_in(n, "", hex, sig);
}

const struct udc_node_peer *
udc_node_peer_find(const struct udc_node *n, const char *id)
{
	for (size_t i = 0; id && i < n->npeers; i++)
		if (strcmp(n->peers[i].id, id) == 0)
			return &n->peers[i];
	return NULL;
}

int
udc_approval_load_in(struct udc_node *n, const char *prefix, const char *hex,
    uint8_t sig[UDC_SIGN_BYTES])
{
	char rel[192], *buf = NULL;
	uint8_t hash[32];
	size_t len = 0;
	int rv;

	if ((rv = udc_state_approval_in(rel, sizeof(rel), prefix, hex, UDC_APPROVAL_SIG)) != 0 ||
	    (rv = udc_store_read(n->cfg->state_dir, rel, 1024, &buf, &len)) != 0)
		return rv == UDC_ENOTFOUND ? UDC_ENOTFOUND : rv;
	if (len != UDC_SIGN_BYTES || sodium_hex2bin(hash, 32, hex, 64, NULL, NULL, NULL) != 0) {
		free(buf);
		return UDC_ECRYPTO;
	}
	memcpy(sig, buf, UDC_SIGN_BYTES);
	free(buf);
	return udc_sign_verify(&n->self_pub, UDC_SIGN_APPROVAL, hash, 32, sig);
}

int
udc_node_input_read(struct udc_node *n, const char *idhex, const struct udc_input_stats *st,
    int accept, char *why, size_t whylen)
{
	char sum[256];

	udc_input_summary(st, sum, sizeof(sum));
	udc_rounds_input(n->rounds, idhex, sum);
	if (accept || udc_input_check_rejects(st, n->cfg->reject_limit, why, whylen) == 0)
		return 0;
	return UDC_EREFUSED;
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
	for (size_t d = 0; d < udc_spec_input_dims(spec, side); d++) {
		io->label_columns[d] = udc_config_label_column(n->cfg, spec->dims[side][d].name);
		if (io->label_columns[d] == NULL)
			return spec->dims[side][d].name;
	}
	/* the summed attribute's column is mapped in [labels] like a dimension */
	if (side == UDC_SIDE_CBS && udc_spec_grouped_attr(spec) >= 0) {
		const char *name = spec->attrs[udc_spec_grouped_attr(spec)].name;

		if ((io->attr_column = udc_config_label_column(n->cfg, name)) == NULL)
			return name;
	}
	return NULL;
}

const char *
udc_node_peer_input_opts(const struct udc_node *n, const struct udc_node_peer *np,
    const struct udc_spec *spec, struct udc_input_opts *io)
{
	const struct udc_peer_conf *p = np ? np->conf : NULL;

	if (p == NULL)
		return udc_node_input_opts(n, spec, UDC_SIDE_CBS, io);
	/* the node's [input] reading, then what the gemeente's section changes */
	(void)udc_node_input_opts(n, spec, UDC_SIDE_CBS, io);
	if (p->input_file)
		io->path = p->input_file;
	if (p->delimiter)
		io->delimiter = p->delimiter;
	for (size_t f = 0; f < spec->fields.n; f++)
		io->columns[f] = udc_config_peer_field_column(n->cfg, p, spec->fields.f[f].name);
	io->filter_column = p->filter_column;
	io->filter_value = p->filter_value;
	for (size_t d = 0; d < udc_spec_input_dims(spec, UDC_SIDE_CBS); d++) {
		io->label_columns[d] = udc_config_peer_label_column(n->cfg, p,
		    spec->dims[UDC_SIDE_CBS][d].name);
		if (io->label_columns[d] == NULL)
			return spec->dims[UDC_SIDE_CBS][d].name;
	}
	if (udc_spec_grouped_attr(spec) >= 0) {
		const char *name = spec->attrs[udc_spec_grouped_attr(spec)].name;

		if ((io->attr_column = udc_config_peer_label_column(n->cfg, p, name)) == NULL)
			return name;
	}
	return NULL;
}

/* The name of an approved spec, from its file in STATE/approvals ("" if it
 * is not approved here any more). */
static void
spec_name_in(const struct udc_node *n, const char *prefix, const char *hex, char *out,
    size_t outlen)
{
	char rel[192], *text = NULL, err[256];
	struct udc_spec *spec = NULL;
	size_t len = 0;

	out[0] = '\0';
	if (udc_state_approval_in(rel, sizeof(rel), prefix, hex, UDC_APPROVAL_SPEC) != 0 ||
	    udc_store_read(n->cfg->state_dir, rel, 1024 * 1024, &text, &len) != 0)
		return;
	if (udc_spec_parse(text, len, rel, &spec, err, sizeof(err)) == 0) {
		snprintf(out, outlen, "%s", spec->name);
		udc_spec_free(spec);
	}
	free(text);
}

static void
spec_name_of(const struct udc_node *n, const char *hex, char *out, size_t outlen)
{
	spec_name_in(n, "", hex, out, outlen);
}

/* The name of the spec of round x: among its gemeente's approvals at a CBS
 * node that serves several. */
static void
round_spec_name(const struct udc_node *n, const struct udc_round *x, char *out, size_t outlen)
{
	const struct udc_node_peer *p = x->peer[0] ? udc_node_peer_find(n, x->peer) : NULL;

	spec_name_in(n, p ? p->prefix : "", x->spec_hash, out, outlen);
}

void
udc_unapproved_message(const struct udc_node *n, const struct udc_spec *spec, char *buf, size_t buflen)
{
	char hex[65], dir[4096], name[256], old[65] = "";
	DIR *d;
	struct dirent *e;

	udc_spec_hash_hex(spec, hex);
	udc_state_dir(dir, sizeof(dir), n->cfg->state_dir, UDC_STATE_APPROVALS);
	if ((d = opendir(dir)) != NULL) {
		while (!old[0] && (e = readdir(d)) != NULL) {
			if (strlen(e->d_name) != 69 || strcmp(e->d_name + 64, ".spec") != 0)
				continue;
			memcpy(old, e->d_name, 64);
			old[64] = '\0';
			if (strcmp(old, hex) == 0 || !udc_store_is_approved(n->cfg->state_dir, old)) {
				old[0] = '\0';
				continue;
			}
			spec_name_of(n, old, name, sizeof(name));
			if (strcmp(name, spec->name) != 0)
				old[0] = '\0';
		}
		closedir(d);
	}
	if (old[0])
		snprintf(buf, buflen,
		    "spec '%s' was approved on this node as %s, but the file now has hash %s: it was "
		    "changed after approval.  Both operators must review the new version (udcctl spec show "
		    "FILE) and approve it (udcctl spec approve FILE) before a round can use it",
		    spec->name, old, hex);
	else
		snprintf(buf, buflen,
		    "spec '%s' (%s) is not approved on this node: both operators review it (udcctl spec "
		    "show FILE) and approve it (udcctl spec approve FILE) first", spec->name, hex);
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
	ri->records_done = x->records_done;
	ri->records_total = x->records_total;
	ri->input = x->input;
	ri->peer = x->peer;
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
	return udc_spec_load_approved_in(state_dir, "", hex, out, err, errlen);
}

int
udc_spec_load_approved_in(const char *state_dir, const char *prefix, const char *hex,
    struct udc_spec **out, char *err, size_t errlen)
{
	char rel[192], *text = NULL, *schema = NULL;
	size_t len = 0, slen = 0;
	int rv;

	if ((rv = udc_state_approval_in(rel, sizeof(rel), prefix, hex, UDC_APPROVAL_SPEC)) != 0 ||
	    (rv = udc_store_read(state_dir, rel, 1024 * 1024, &text, &len)) != 0) {
		snprintf(err, errlen, "%s: %s", rel, udc_strerror(rv));
		return rv;
	}
	udc_state_approval_in(rel, sizeof(rel), prefix, hex, UDC_APPROVAL_SCHEMA);
	rv = udc_store_read(state_dir, rel, 1024 * 1024, &schema, &slen);
	if (rv != 0 && rv != UDC_ENOTFOUND) {
		snprintf(err, errlen, "%s: %s", rel, udc_strerror(rv));
		goto out;
	}
	udc_state_approval_in(rel, sizeof(rel), prefix, hex, UDC_APPROVAL_SPEC);
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

/* The IDs of the gemeenten a CBS node serves, for messages. */
static void
peer_ids(const struct udc_node *n, char *out, size_t outlen)
{
	size_t o = 0;

	out[0] = '\0';
	for (size_t i = 0; i < n->npeers && o < outlen; i++) {
		int w = snprintf(out + o, outlen - o, "%s%s", i ? ", " : "", n->peers[i].id);
		if (w < 0)
			break;
		o += (size_t)w;
	}
}

/* The gemeente an approval is for: a CBS node that serves several needs
 * --peer ID; any other node takes none.  0 with *np (NULL: the node's only
 * peer), or -1 with the error in rep. */
static int
ctl_peer(struct udc_node *n, const char *id, const struct udc_node_peer **np, Udcctl__Reply *rep,
    char *buf, size_t buflen)
{
	char ids[512];

	*np = NULL;
	if (!n->multi) {
		if (id && id[0]) {
			udc_reply_error(rep, UDC_EINVAL, buf, buflen, "--peer %.64s: this node has one peer; "
			    "--peer is for a CBS node with [gemeente ID] sections", id);
			return -1;
		}
		return 0;
	}
	peer_ids(n, ids, sizeof(ids));
	if (id == NULL || id[0] == '\0') {
		udc_reply_error(rep, UDC_EINVAL, buf, buflen, "this CBS node serves several gemeenten "
		    "(%s): say for which with --peer ID", ids);
		return -1;
	}
	if ((*np = udc_node_peer_find(n, id)) == NULL) {
		udc_reply_error(rep, UDC_ENOTFOUND, buf, buflen, "--peer %.64s: no such gemeente on this "
		    "node (its [gemeente ID] sections: %s)", id, ids);
		return -1;
	}
	return 0;
}

static void
ctl_approve(struct udc_node *n, const Udcctl__SpecApprove *a, const struct udc_ctl_peer *who,
    Udcctl__Reply *rep, char *buf, size_t buflen)
{
	struct udc_spec *spec = NULL;
	const struct udc_node_peer *np;
	char err[512], hex[65], forwhom[128] = "";
	const char *src = (a->source && a->source[0]) ? a->source : "spec", *prefix;
	int rv;

	if (ctl_peer(n, a->peer, &np, rep, buf, buflen) != 0)
		return;
	prefix = np ? np->prefix : "";
	if (np)
		snprintf(forwhom, sizeof(forwhom), " for gemeente %s", np->id);
	if ((rv = udc_spec_from_texts(a->spec_text.data, a->spec_text.len, a->schema_text.data,
	    a->schema_text.len, src, &spec, err, sizeof(err))) != 0) {
		udc_reply_error(rep, rv, buf, buflen, "%s", err);
		return;
	}
	if (udc_spec_first_sum(spec) != NULL && udc_spec_fuzzy(spec)) {
		udc_reply_error(rep, UDC_EINVAL, buf, buflen, "%s: table %s sums %s; %s", src,
		    udc_spec_first_sum(spec)->name, spec->attrs[udc_spec_first_sum(spec)->sum].name,
		    UDC_SPEC_NO_SUMS);
		udc_spec_free(spec);
		return;
	}
	udc_spec_hash_hex(spec, hex);
	/* A gemeente's approvals at a CBS node that serves several are its
	 * own (STATE/peers/ID/approvals); the signature is over the spec hash
	 * alone, as the gemeente checks it. */
	if (spec->schema_json) {
		char rel[192];
		if ((rv = udc_state_approval_in(rel, sizeof(rel), prefix, hex, UDC_APPROVAL_SCHEMA)) == 0)
			rv = udc_store_write(n->cfg->state_dir, rel, spec->schema_json, spec->schema_len);
	}
	if (rv == 0) {
		/* The approval is this node's signature over the spec hash; the
		 * peer checks it against its pinned copy of our key. */
		uint8_t sig[UDC_SIGN_BYTES];
		char rel[192];
		if ((rv = udc_sign(n->sk, UDC_SIGN_APPROVAL, spec->hash, 32, sig)) == 0) {
			udc_state_approval_in(rel, sizeof(rel), prefix, hex, UDC_APPROVAL_SIG);
			rv = udc_store_write(n->cfg->state_dir, rel, sig, sizeof(sig));
		}
	}
	if (rv != 0 || (rv = udc_store_approve_in(n->cfg->state_dir, prefix, hex, a->spec_text.data,
	    a->spec_text.len)) != 0) {
		udc_reply_error(rep, rv, buf, buflen, "cannot store the approval: %s", udc_strerror(rv));
	} else {
		struct udc_audit_field f[] = { UDC_AUDIT_S("spec_hash", hex),
			UDC_AUDIT_S("spec_name", spec->name), UDC_AUDIT_I("uid", (int64_t)who->uid),
			UDC_AUDIT_S("user", who->user), UDC_AUDIT_S("signer", n->self_fpr),
			UDC_AUDIT_S("peer", np ? np->id : "") };
		snprintf(buf, buflen, "approved spec '%s' %s on node %s%s (signed by key %s)", spec->name,
		    hex, n->cfg->name, forwhom, n->self_fpr);
		rep->text = buf;
		log_info("spec '%s' %s approved%s by %s (uid %u)", spec->name, hex, forwhom, who->user,
		    (unsigned)who->uid);
		/* the peer field only where there are several */
		udc_node_audit(n, UDC_AUDIT_SPEC_APPROVED, f, UDC_AUDIT_NFIELDS(f) - (np ? 0 : 1));
	}
	udc_spec_free(spec);
}

static void
ctl_result(struct udc_node *n, const Udcctl__RoundQuery *q, Udcctl__Reply *rep, char **owned,
    char **signer, char **sig, char *buf, size_t buflen)
{
	static struct udc_round x; /* the reply points into it; one request at a time */
	size_t siglen = 0;
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
	/* A piece at a time: a release of millions of cells never has to fit
	 * in one reply (udcctl asks until it has total_bytes). */
	udc_state_round(rel, sizeof(rel), x.id, strcmp(fmt, "csv") == 0 ? "result.csv" : "result.json");
	{
		size_t want = q->max_bytes && q->max_bytes < RESULT_PIECE ? q->max_bytes : RESULT_PIECE;
		size_t got = 0;
		uint64_t size = 0;

		if ((*owned = malloc(want)) == NULL) {
			udc_reply_error(rep, UDC_ENOMEM, buf, buflen, "out of memory");
			return;
		}
		if ((rv = udc_store_pread(n->cfg->state_dir, rel, q->offset, *owned, want, &got,
		    &size)) != 0) {
			udc_reply_error(rep, rv, buf, buflen, "cannot read %s: %s", rel, udc_strerror(rv));
			return;
		}
		rep->data.data = (uint8_t *)*owned;
		rep->data.len = got;
		rep->total_bytes = size;
	}
	udc_state_round(rel, sizeof(rel), x.id, "signer.txt");
	if (udc_store_read(n->cfg->state_dir, rel, 1024, signer, NULL) == 0)
		rep->signer = *signer;
	/* The signature covers the CSV form (udc_result_sigdata). */
	udc_state_round(rel, sizeof(rel), x.id, "result.sig");
	if (strcmp(fmt, "csv") == 0 &&
	    udc_store_read(n->cfg->state_dir, rel, 64, sig, &siglen) == 0 && siglen == 64) {
		rep->result_sig.data = (uint8_t *)*sig;
		rep->result_sig.len = 64;
		rep->round_spec_hash = x.spec_hash;
	}
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

static int
has_suffix(const char *s, const char *suf)
{
	size_t a = strlen(s), b = strlen(suf);
	return a > b && strcmp(s + a - b, suf) == 0;
}

static int
is_hash_hex(const char *s)
{
	if (s == NULL || strlen(s) != 64)
		return 0;
	for (; *s; s++)
		if (!((*s >= '0' && *s <= '9') || (*s >= 'a' && *s <= 'f')))
			return 0;
	return 1;
}

/* The specs approved on this node: STATE/approvals/HASH.spec whose
 * signature is there too; on a CBS node that serves several gemeenten,
 * those of each gemeente (STATE/peers/ID/approvals), with its ID. */
static void
ctl_spec_list(struct udc_node *n, Udcctl__Reply *rep, Udcctl__SpecInfo **infos,
    Udcctl__SpecInfo ***list, char **names, char *buf, size_t buflen)
{
	char dir[4400], hex[65];
	DIR *d;
	struct dirent *e;
	size_t cap = 0, k = 0, nlists = n->multi ? n->npeers : 1;

	for (size_t pi = 0; pi < nlists; pi++) {
		const struct udc_node_peer *np = n->multi ? &n->peers[pi] : NULL;
		const char *prefix = np ? np->prefix : "";

		udc_state_dir_in(dir, sizeof(dir), n->cfg->state_dir, prefix, UDC_STATE_APPROVALS);
		if ((d = opendir(dir)) == NULL) {
			if (np && errno == ENOENT)
				continue;
			udc_reply_error(rep, UDC_EIO, buf, buflen, "%s: %s", dir, strerror(errno));
			return;
		}
		while ((e = readdir(d)) != NULL) {
			struct stat st;
			char path[4700], name[256];
			if (!has_suffix(e->d_name, ".spec") || strlen(e->d_name) != 69)
				continue;
			memcpy(hex, e->d_name, 64);
			hex[64] = '\0';
			if (!is_hash_hex(hex) || !udc_store_is_approved_in(n->cfg->state_dir, prefix, hex))
				continue;
			if (k == cap) {
				size_t nc = cap ? 2 * cap : 16;
				Udcctl__SpecInfo *ni = realloc(*infos, nc * sizeof(**infos));
				if (ni)
					*infos = ni;
				char *nn = realloc(*names, nc * (256 + 65 + 16));
				if (nn)
					*names = nn;
				if (!ni || !nn)
					break;
				cap = nc;
			}
			char *slot = *names + k * (256 + 65 + 16);
			Udcctl__SpecInfo *si = &(*infos)[k];
			udcctl__spec_info__init(si);
			spec_name_in(n, prefix, hex, name, sizeof(name));
			memcpy(slot, hex, 65);
			snprintf(slot + 65, 256, "%s", name);
			si->spec_hash = slot;
			si->name = slot + 65;
			si->peer = (char *)(np ? np->id : "");
			snprintf(path, sizeof(path), "%s/%s", dir, e->d_name);
			if (stat(path, &st) == 0)
				si->approved = (int64_t)st.st_mtime;
			k++;
		}
		closedir(d);
	}
	/* names may have moved: point again */
	for (size_t i = 0; i < k; i++) {
		char *slot = *names + i * (256 + 65 + 16);
		(*infos)[i].spec_hash = slot;
		(*infos)[i].name = slot + 65;
	}
	if ((*list = calloc(k ? k : 1, sizeof(**list))) == NULL) {
		udc_reply_error(rep, UDC_ENOMEM, buf, buflen, "out of memory");
		return;
	}
	for (size_t i = 0; i < k; i++)
		(*list)[i] = &(*infos)[i];
	rep->n_specs = k;
	rep->specs = *list;
}

/* Withdraws this node's approval: the spec, its schema and the signature
 * go; a round of it can no longer start (gemeente) or be accepted (cbs). */
static void
ctl_spec_revoke(struct udc_node *n, const Udcctl__SpecRevoke *r, const struct udc_ctl_peer *who,
    Udcctl__Reply *rep, char *buf, size_t buflen)
{
	/* The signature first: without it the approval no longer counts. */
	static const enum udc_approval_file files[] = { UDC_APPROVAL_SIG, UDC_APPROVAL_SPEC,
		UDC_APPROVAL_SCHEMA };
	const struct udc_node_peer *np;
	char path[4400], rel[192], name[256], forwhom[128] = "";
	const char *hex = r->spec_hash, *prefix;

	if (!is_hash_hex(hex)) {
		udc_reply_error(rep, UDC_EINVAL, buf, buflen,
		    "'%s' is not a spec hash (64 lower-case hex digits, as 'udcctl spec list' shows)",
		    hex ? hex : "");
		return;
	}
	if (ctl_peer(n, r->peer, &np, rep, buf, buflen) != 0)
		return;
	prefix = np ? np->prefix : "";
	if (np)
		snprintf(forwhom, sizeof(forwhom), " for gemeente %s", np->id);
	if (!udc_store_is_approved_in(n->cfg->state_dir, prefix, hex)) {
		udc_reply_error(rep, UDC_ENOTFOUND, buf, buflen, "spec %s is not approved on this node%s",
		    hex, forwhom);
		return;
	}
	spec_name_in(n, prefix, hex, name, sizeof(name));
	for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
		udc_state_approval_in(rel, sizeof(rel), prefix, hex, files[i]);
		udc_state_dir(path, sizeof(path), n->cfg->state_dir, rel);
		if (unlink(path) != 0 && errno != ENOENT) {
			udc_reply_error(rep, UDC_EIO, buf, buflen, "cannot remove %s: %s", path, strerror(errno));
			return;
		}
	}
	struct udc_audit_field f[] = { UDC_AUDIT_S("spec_hash", hex), UDC_AUDIT_S("spec_name", name),
		UDC_AUDIT_I("uid", (int64_t)who->uid), UDC_AUDIT_S("user", who->user),
		UDC_AUDIT_S("peer", np ? np->id : "") };
	udc_node_audit(n, "spec_revoked", f, UDC_AUDIT_NFIELDS(f) - (np ? 0 : 1));
	log_info("spec '%s' %s revoked%s by %s (uid %u)", name, hex, forwhom, who->user,
	    (unsigned)who->uid);
	snprintf(buf, buflen, "revoked the approval of spec '%s' %s on node %s%s", name, hex,
	    n->cfg->name, forwhom);
	rep->text = buf;
}

/* Node status of the gemeenten a CBS node serves: *infos, *list and
 * *texts are the caller's to free. */
static void
node_status_peers(struct udc_node *n, const struct udc_round *all, size_t nall,
    Udcctl__NodeInfo *ni, Udcctl__PeerInfo **infos, Udcctl__PeerInfo ***list, char **texts)
{
	const size_t tl = 4200;

	if (!n->multi || (*infos = calloc(n->npeers, sizeof(**infos))) == NULL ||
	    (*list = calloc(n->npeers, sizeof(**list))) == NULL ||
	    (*texts = calloc(n->npeers, tl)) == NULL)
		return;
	for (size_t i = 0; i < n->npeers; i++) {
		const struct udc_node_peer *np = &n->peers[i];
		const struct udc_peer_conf *pc = np->conf;
		Udcctl__PeerInfo *pi = &(*infos)[i];
		char *t = *texts + i * tl;

		udcctl__peer_info__init(pi);
		pi->id = (char *)np->id;
		pi->name = pc->name;
		pi->display_name = pc->display_name;
		pi->key_fingerprint = (char *)np->fpr;
		pi->listen = pc->listen ? pc->listen : "";
		pi->own_ca = pc->ca_file != NULL;
		if (pc->filter_column)
			snprintf(t, tl, "%s, rows where %s = %s", pc->input_file ? pc->input_file :
			    n->cfg->input_file, pc->filter_column, pc->filter_value);
		else
			snprintf(t, tl, "%s", pc->input_file ? pc->input_file : n->cfg->input_file);
		pi->input = t;
		pi->max_sessions = pc->max_sessions;
		pi->proposals_per_minute = pc->proposals_per_minute;
		for (size_t k = 0; k < nall; k++)
			if (strcmp(all[k].peer, np->id) == 0 && (!strcmp(all[k].state, "running") ||
			    !strcmp(all[k].state, "queued")))
				pi->rounds_running++;
		(*list)[i] = pi;
	}
	ni->n_peers = n->npeers;
	ni->peers = *list;
}

static void
ctl_node_status(struct udc_node *n, const struct udc_party_ops *ops, Udcctl__Reply *rep,
    Udcctl__NodeInfo *ni, Udcctl__PeerInfo **pinfos, Udcctl__PeerInfo ***plist, char **ptexts,
    char *strs, size_t strslen)
{
	struct statvfs vfs;
	struct udc_round *all = NULL;
	size_t nall = 0, nspec = 0;
	char dir[4400];
	DIR *d;
	struct dirent *e;
	int64_t na;
	int isca;

	udcctl__node_info__init(ni);
	ni->name = n->cfg->name;
	ni->role = ops->role == UDC_ROLE_CBS ? "cbs" : "gemeente";
	ni->version = UDC_VERSION;
	ni->started = n->started;
	ni->key_fingerprint = n->self_fpr;
	ni->peer_key_fingerprint = n->peer_fpr;
	ni->peer_url = ops->role == UDC_ROLE_CBS ? n->cfg->peer_listen : n->cfg->peer_connect;
	if (ni->peer_url == NULL) /* cbs: every gemeente on a listener of its own */
		ni->peer_url = "";
	ni->peer_error = "";
	ni->peer_reachable = -1;
	if (ops->peer_connected) {
		/* The connection NNG keeps to the peer is the best witness; if it
		 * is down, a TCP connect tells a network problem from a TLS one. */
		ni->peer_reachable = ops->peer_connected(n) == 1;
		if (!ni->peer_reachable) {
			if (udc_peer_probe(n->cfg->peer_connect, 3000, strs, strslen) == 0)
				snprintf(strs, strslen, "%s answers on TCP, but no TLS connection is up: check that "
				    "both certificates come from the same CA, that server_name is the name in the "
				    "CBS certificate, and the CBS node's log", n->cfg->peer_connect);
			ni->peer_error = strs;
		}
	}
	if (udc_cert_info(n->cfg->cert_file, &na, &isca, NULL, 0) == 0)
		ni->cert_not_after = na;
	if (udc_cert_info(n->cfg->ca_file, &na, &isca, NULL, 0) == 0)
		ni->ca_not_after = na;
	if (statvfs(n->cfg->state_dir, &vfs) == 0) {
		ni->disk_free = (uint64_t)vfs.f_bavail * vfs.f_frsize;
		ni->disk_total = (uint64_t)vfs.f_blocks * vfs.f_frsize;
	}
	ni->state_dir = n->cfg->state_dir;
	ni->last_round = "";
	ni->last_round_state = "";
	if (udc_rounds_all(n->rounds, &all, &nall) == 0) {
		static struct udc_round last;
		ni->rounds_total = nall;
		for (size_t i = 0; i < nall; i++)
			if (!strcmp(all[i].state, "running") || !strcmp(all[i].state, "queued"))
				ni->rounds_running++;
		if (nall) {
			last = all[nall - 1];
			ni->last_round = last.id;
			ni->last_round_state = last.state;
			ni->last_round_finished = last.finished;
		}
		node_status_peers(n, all, nall, ni, pinfos, plist, ptexts);
		free(all);
	}
	for (size_t pi = 0; pi < (n->multi ? n->npeers : 1); pi++) {
		udc_state_dir_in(dir, sizeof(dir), n->cfg->state_dir, n->multi ? n->peers[pi].prefix : "",
		    UDC_STATE_APPROVALS);
		if ((d = opendir(dir)) != NULL) {
			while ((e = readdir(d)) != NULL)
				nspec += has_suffix(e->d_name, ".sig");
			closedir(d);
		}
	}
	ni->approved_specs = nspec;
	ni->max_message = n->cfg->max_message;
	ni->chunk_records = n->cfg->chunk_records;
	ni->peer_timeout_s = n->cfg->peer_timeout_ms / 1000;
	ni->workers = (int32_t)udc_workq_width(n->wq);
	rep->node = ni;
}

/* Prometheus text exposition (docs/operations.md, "Metrics"). */
static char *
ctl_metrics(struct udc_node *n, const struct udc_party_ops *ops)
{
	struct udc_round *all = NULL;
	size_t nall = 0, cap = 65536, len = 0; /* room for the lines of 100 gemeenten */
	char *out = malloc(cap);
	uint64_t *bypeer = n->multi ? calloc(4 * n->npeers, sizeof(*bypeer)) : NULL;
	uint64_t by[4] = { 0 }, reqs, dropped, ndone = 0;
	double dsum = 0, dlast = -1;
	static const char *const states[] = { "queued", "running", "done", "failed" };
	struct statvfs vfs;
	int64_t na;
	int isca;

	if (out == NULL || (n->multi && bypeer == NULL)) {
		free(out);
		free(bypeer);
		return NULL;
	}
	out[0] = '\0';
#define M(...)                                                                  \
	do {                                                                    \
		int w_ = snprintf(out + len, cap - len, __VA_ARGS__);           \
		if (w_ > 0)                                                     \
			len += (size_t)w_ < cap - len ? (size_t)w_ : cap - len - 1; \
	} while (0)
	const char *node = n->cfg->name, *role = ops->role == UDC_ROLE_CBS ? "cbs" : "gemeente";
	if (udc_rounds_all(n->rounds, &all, &nall) == 0) {
		for (size_t i = 0; i < nall; i++) {
			for (int s = 0; s < 4; s++) {
				if (strcmp(all[i].state, states[s]) != 0)
					continue;
				by[s]++;
				for (size_t p = 0; bypeer && p < n->npeers; p++)
					if (strcmp(all[i].peer, n->peers[p].id) == 0)
						bypeer[4 * p + (size_t)s]++;
			}
			if (strcmp(all[i].state, "done") == 0 && all[i].finished >= all[i].started) {
				dlast = (double)(all[i].finished - all[i].started);
				dsum += dlast;
				ndone++;
			}
		}
		free(all);
	}
	M("# HELP udclink_info The node: its name, role and version.\n# TYPE udclink_info gauge\n");
	M("udclink_info{node=\"%s\",role=\"%s\",version=\"%s\"} 1\n", node, role, UDC_VERSION);
	M("# HELP udclink_start_time_seconds When the daemon started (unix time).\n"
	  "# TYPE udclink_start_time_seconds gauge\nudclink_start_time_seconds %lld\n", n->started);
	M("# HELP udclink_rounds Rounds this node knows, by state (done and failed are outcomes).\n"
	  "# TYPE udclink_rounds gauge\n");
	for (int s = 0; s < 4; s++)
		M("udclink_rounds{state=\"%s\"} %llu\n", states[s], (unsigned long long)by[s]);
	if (bypeer) {
		M("# HELP udclink_peer_rounds Rounds of each gemeente this CBS node serves, by state.\n"
		  "# TYPE udclink_peer_rounds gauge\n");
		for (size_t p = 0; p < n->npeers; p++)
			for (int s = 0; s < 4; s++)
				M("udclink_peer_rounds{peer=\"%s\",state=\"%s\"} %llu\n", n->peers[p].id,
				    states[s], (unsigned long long)bypeer[4 * p + (size_t)s]);
		free(bypeer);
	}
	M("# HELP udclink_round_duration_seconds Wall time of the rounds that finished done.\n"
	  "# TYPE udclink_round_duration_seconds summary\n"
	  "udclink_round_duration_seconds_sum %.0f\nudclink_round_duration_seconds_count %llu\n", dsum,
	    (unsigned long long)ndone);
	if (dlast >= 0)
		M("# HELP udclink_last_round_duration_seconds Wall time of the newest round done.\n"
		  "# TYPE udclink_last_round_duration_seconds gauge\n"
		  "udclink_last_round_duration_seconds %.0f\n", dlast);
	static const char *const cn[UDC_NC_MAX] = { "round_done", "round_failed", "round_refused",
		"message_refused", "result_released", "spec_approved" };
	M("# HELP udclink_audit_events_total Audit entries written since start, by type "
	  "(round_refused: a limit, an approval or the budget refused a round; message_refused: a peer "
	  "message was refused).\n# TYPE udclink_audit_events_total counter\n");
	for (int i = 0; i < UDC_NC_MAX; i++)
		M("udclink_audit_events_total{type=\"%s\"} %llu\n", cn[i],
		    (unsigned long long)atomic_load(&n->counts[i]));
	udc_ctl_counts(n->ctl, &reqs, &dropped);
	M("# HELP udclink_control_requests_total Control requests served since start.\n"
	  "# TYPE udclink_control_requests_total counter\nudclink_control_requests_total %llu\n",
	    (unsigned long long)reqs);
	M("# HELP udclink_control_dropped_total Control connections dropped (idle, slow, malformed, "
	  "too many).\n# TYPE udclink_control_dropped_total counter\nudclink_control_dropped_total %llu\n",
	    (unsigned long long)dropped);
	M("# HELP udclink_secrets_locked Secrets in locked memory now (the node key, plus round "
	  "secrets while a round runs).\n# TYPE udclink_secrets_locked gauge\nudclink_secrets_locked %ld\n",
	    udc_secmem_live());
	if (statvfs(n->cfg->state_dir, &vfs) == 0)
		M("# HELP udclink_state_free_bytes Free space for the state directory.\n"
		  "# TYPE udclink_state_free_bytes gauge\nudclink_state_free_bytes %llu\n",
		    (unsigned long long)vfs.f_bavail * vfs.f_frsize);
	if (udc_cert_info(n->cfg->cert_file, &na, &isca, NULL, 0) == 0)
		M("# HELP udclink_tls_cert_expiry_seconds When this node's TLS certificate expires (unix "
		  "time).\n# TYPE udclink_tls_cert_expiry_seconds gauge\nudclink_tls_cert_expiry_seconds %lld\n",
		    (long long)na);
#undef M
	return out;
}

/* Requests that change the node or release data are audited with who sent
 * them; the read-only ones (status, lists, metrics) are only logged at debug
 * level, since monitoring polls them. */
static const char *
ctl_audited(int cmd)
{
	switch (cmd) {
	case UDCCTL__REQUEST__CMD_SPEC_APPROVE: return "spec approve";
	case UDCCTL__REQUEST__CMD_SPEC_REVOKE: return "spec revoke";
	case UDCCTL__REQUEST__CMD_ROUND_START: return "round start";
	case UDCCTL__REQUEST__CMD_ROUND_RESULT: return "round result";
	case UDCCTL__REQUEST__CMD_ROUND_CANCEL: return "round cancel";
	case UDCCTL__REQUEST__CMD_ROUND_DECIDE: return "round decide";
	case UDCCTL__REQUEST__CMD_AUDIT_VERIFY: return NULL;
	case UDCCTL__REQUEST__CMD_ROUND_STATUS:
	case UDCCTL__REQUEST__CMD_ROUND_LIST:
	case UDCCTL__REQUEST__CMD_SPEC_LIST:
	case UDCCTL__REQUEST__CMD_NODE_STATUS:
	case UDCCTL__REQUEST__CMD_METRICS:
		return NULL;
	default:
		return "other";
	}
}

static void
ctl_serve(struct udc_node *n, const struct udc_party_ops *ops, const uint8_t *data, size_t len,
    const struct udc_ctl_peer *who, uint8_t **out, size_t *outlen)
{
	Udcctl__Request *req = udcctl__request__unpack(NULL, len, data);
	Udcctl__Reply rep = UDCCTL__REPLY__INIT;
	Udcctl__RoundInfo one, **list = NULL, *infos = NULL;
	Udcctl__SpecInfo *sinfos = NULL, **slist = NULL;
	Udcctl__NodeInfo ni;
	Udcctl__PeerInfo *pinfos = NULL, **plist = NULL;
	char *ptexts = NULL;
	struct udc_round x, *all = NULL;
	size_t nall = 0;
	char buf[1024], *owned = NULL, *signer = NULL, *sig = NULL, *names = NULL;
	char (*rnames)[256] = NULL, oname[256];
	const char *what;

	if (req == NULL) {
		udc_reply_error(&rep, UDC_EPROTO, buf, sizeof(buf), "malformed control request");
		goto reply;
	}
	if ((what = ctl_audited(req->cmd_case)) != NULL) {
		const char *arg = "";
		if (req->cmd_case == UDCCTL__REQUEST__CMD_ROUND_RESULT && req->round_result)
			arg = req->round_result->round_id;
		else if (req->cmd_case == UDCCTL__REQUEST__CMD_SPEC_REVOKE && req->spec_revoke)
			arg = req->spec_revoke->spec_hash;
		else if (req->cmd_case == UDCCTL__REQUEST__CMD_ROUND_DECIDE && req->round_decide) {
			what = req->round_decide->approve ? "round approve" : "round refuse";
			arg = req->round_decide->round_id;
		}
		else if (req->cmd_case == UDCCTL__REQUEST__CMD_SPEC_APPROVE && req->spec_approve &&
		    req->spec_approve->source)
			arg = req->spec_approve->source;
		struct udc_audit_field f[] = { UDC_AUDIT_S("command", what), UDC_AUDIT_S("argument", arg),
			UDC_AUDIT_I("uid", (int64_t)who->uid), UDC_AUDIT_S("user", who->user),
			UDC_AUDIT_I("pid", (int64_t)who->pid) };
		udc_node_audit(n, "control_request", f, UDC_AUDIT_NFIELDS(f));
		log_info("control: %s %s by %s (uid %u, pid %d)", what, arg, who->user, (unsigned)who->uid,
		    (int)who->pid);
	} else {
		log_debug("control: request %d by %s (uid %u)", (int)req->cmd_case, who->user,
		    (unsigned)who->uid);
	}
	switch (req->cmd_case) {
	case UDCCTL__REQUEST__CMD_SPEC_APPROVE:
		ctl_approve(n, req->spec_approve, who, &rep, buf, sizeof(buf));
		break;
	case UDCCTL__REQUEST__CMD_ROUND_START:
		if (ops->round_start == NULL) {
			udc_reply_error(&rep, UDC_EREFUSED, buf, sizeof(buf),
			    "rounds are started at the gemeente node; this is the %s node", ops->progname);
			break;
		}
		ops->round_start(n, req->round_start, (uint64_t)who->uid, &rep, buf, sizeof(buf));
		break;
	case UDCCTL__REQUEST__CMD_ROUND_DECIDE:
		if (ops->round_decide == NULL) {
			udc_reply_error(&rep, UDC_EREFUSED, buf, sizeof(buf),
			    "rounds are approved one by one at the CBS node; this is the %s node",
			    ops->progname);
			break;
		}
		ops->round_decide(n, req->round_decide, (uint64_t)who->uid, &rep, buf, sizeof(buf));
		break;
	case UDCCTL__REQUEST__CMD_ROUND_STATUS:
		if (udc_rounds_get(n->rounds, req->round_status->round_id, &x) != 0) {
			udc_reply_error(&rep, UDC_ENOTFOUND, buf, sizeof(buf), "no round %s on this node",
			    req->round_status->round_id);
			break;
		}
		fill_info(&one, &x);
		round_spec_name(n, &x, oname, sizeof(oname));
		one.spec_name = oname;
		rep.round = &one;
		break;
	case UDCCTL__REQUEST__CMD_ROUND_RESULT:
		ctl_result(n, req->round_result, &rep, &owned, &signer, &sig, buf, sizeof(buf));
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
		rnames = calloc(nall ? nall : 1, sizeof(*rnames));
		if (!list || !infos || !rnames) {
			udc_reply_error(&rep, UDC_ENOMEM, buf, sizeof(buf), "out of memory");
			break;
		}
		for (size_t i = 0; i < nall; i++) {
			fill_info(&infos[i], &all[i]);
			round_spec_name(n, &all[i], rnames[i], sizeof(rnames[i]));
			infos[i].spec_name = rnames[i];
			list[i] = &infos[i];
		}
		rep.n_rounds = nall;
		rep.rounds = list;
		break;
	case UDCCTL__REQUEST__CMD_SPEC_LIST:
		ctl_spec_list(n, &rep, &sinfos, &slist, &names, buf, sizeof(buf));
		break;
	case UDCCTL__REQUEST__CMD_SPEC_REVOKE:
		ctl_spec_revoke(n, req->spec_revoke, who, &rep, buf, sizeof(buf));
		break;
	case UDCCTL__REQUEST__CMD_NODE_STATUS:
		ctl_node_status(n, ops, &rep, &ni, &pinfos, &plist, &ptexts, buf, sizeof(buf));
		break;
	case UDCCTL__REQUEST__CMD_METRICS:
		if ((owned = ctl_metrics(n, ops)) == NULL)
			udc_reply_error(&rep, UDC_ENOMEM, buf, sizeof(buf), "out of memory");
		else
			rep.text = owned;
		break;
	default:
		udc_reply_error(&rep, UDC_EINVAL, buf, sizeof(buf),
		    "unknown control command (udcctl newer than the daemon?)");
		break;
	}
reply:
	*outlen = udcctl__reply__get_packed_size(&rep);
	if ((*out = malloc(*outlen ? *outlen : 1)) != NULL)
		udcctl__reply__pack(&rep, *out);
	free(owned);
	free(signer);
	free(sig);
	free(list);
	free(infos);
	free(rnames);
	free(all);
	free(sinfos);
	free(slist);
	free(names);
	free(pinfos);
	free(plist);
	free(ptexts);
	if (req)
		udcctl__request__free_unpacked(req, NULL);
}

struct ctl_arg {
	struct udc_node *n;
	const struct udc_party_ops *ops;
};

static void
ctl_request(void *p, const uint8_t *req, size_t len, const struct udc_ctl_peer *who, uint8_t **rep,
    size_t *replen)
{
	struct ctl_arg *a = p;
	ctl_serve(a->n, a->ops, req, len, who, rep, replen);
}

static void
usage(FILE *f, const char *prog)
{
	fprintf(f,
	    "usage: %s -c CONFIG [--check-config] [-d]\n"
	    "       %s --version\n"
	    "  -c, --config FILE   node configuration (udclink.conf(5))\n"
	    "  --check-config      check the configuration and everything it names (files, modes,\n"
	    "                      owners, certificate against key and CA, expiry, the input's\n"
	    "                      header) and exit: 0 if usable, 1 if not\n"
	    "  -d, --debug         log at debug level (overrides log_level)\n"
	    "  -V, --version       print the version and exit\n"
	    "  -h, --help          this help\n"
	    "The daemon runs in the foreground; under systemd it logs to journald and\n"
	    "notifies readiness (Type=notify) and the watchdog.\n",
	    prog, prog);
}

/* Errors before the configuration is loaded: at error level, so that
 * journalctl -p err shows why a unit did not start. */
static void
startup_error(const char *prog, const char *msg)
{
	if (udc_sd_journal_stderr())
		fprintf(stderr, "<3>%s: %s\n", prog, msg);
	else
		fprintf(stderr, "%s: %s\n", prog, msg);
}

/* Waits for a signal; pings the watchdog while the control thread is
 * alive.  Returns the signal that ends the daemon. */
static int
wait_for_stop(struct udc_node *n, const sigset_t *set)
{
	uint64_t wd = udc_sd_watchdog_usec();
	long long wd_ms = (long long)(wd / 1000);

	for (;;) {
		int sig;
		if (wd) {
			struct timespec ts = { .tv_sec = (time_t)(wd / 2 / 1000000),
				.tv_nsec = (long)(wd / 2 % 1000000) * 1000 };
			sig = sigtimedwait(set, NULL, &ts);
			if (sig < 0) {
				/* Only a live control loop earns the ping: a stuck one
				 * lets systemd restart the node. */
				long long st = udc_ctl_stalled_ms(n->ctl);
				if (st < wd_ms / 2)
					udc_sd_watchdog_ping();
				else
					log_errorx("control thread stalled for %lld ms: no watchdog ping", st);
				continue;
			}
		} else if (sigwait(set, &sig) != 0) {
			continue;
		}
		if (sig == SIGHUP) {
			log_info("SIGHUP ignored: restart the daemon to reload its configuration");
			continue;
		}
		return sig;
	}
}

/*
 * The gemeenten a CBS node serves: one per [gemeente ID] section (its key
 * loaded, its state directory STATE/peers/ID made), or the implicit one of
 * [peer] public_key.  No two may pin the same key, nor the node's own.
 */
static int
peers_setup(struct udc_node *n, char *err, size_t errlen)
{
	const struct udc_config *cfg = n->cfg;
	static const char *const sub[] = { UDC_STATE_APPROVALS, UDC_STATE_RELEASES };
	int rv;

	n->multi = cfg->npeers > 0;
	n->npeers = n->multi ? cfg->npeers : 1;
	if ((n->peers = calloc(n->npeers, sizeof(*n->peers))) == NULL) {
		snprintf(err, errlen, "out of memory");
		return UDC_ENOMEM;
	}
	if (!n->multi) {
		n->peers[0].id = "";
		n->peers[0].display = "gemeente";
		n->peers[0].pub = n->peer_pub;
		memcpy(n->peers[0].fpr, n->peer_fpr, sizeof(n->peer_fpr));
		return 0;
	}
	for (size_t i = 0; i < n->npeers; i++) {
		struct udc_node_peer *np = &n->peers[i];
		const struct udc_peer_conf *pc = &cfg->peers[i];
		char e2[512], rel[96];

		np->conf = pc;
		np->id = pc->id;
		np->display = pc->display_name;
		if (udc_state_peer_prefix(np->prefix, sizeof(np->prefix), pc->id) != 0) {
			snprintf(err, errlen, "%s:%d: [gemeente %s]: the name is too long", cfg->path,
			    pc->line, pc->id);
			return UDC_ELIMIT;
		}
		if ((rv = udc_sign_pub_load(pc->public_key, &np->pub, e2, sizeof(e2))) != 0) {
			snprintf(err, errlen, "%s:%d: [gemeente %s] public_key: %s", cfg->path, pc->line,
			    pc->id, e2);
			return rv;
		}
		udc_sign_fingerprint(&np->pub, np->fpr);
		if (memcmp(np->pub.pk, n->self_pub.pk, sizeof(np->pub.pk)) == 0) {
			snprintf(err, errlen, "%s:%d: [gemeente %s] public_key is this node's own key",
			    cfg->path, pc->line, pc->id);
			return UDC_EINVAL;
		}
		for (size_t j = 0; j < i; j++)
			if (memcmp(np->pub.pk, n->peers[j].pub.pk, sizeof(np->pub.pk)) == 0) {
				snprintf(err, errlen, "%s:%d: [gemeente %s] and [gemeente %s] pin the same public "
				    "key %s: each gemeente signs with a key of its own", cfg->path, pc->line,
				    n->peers[j].id, pc->id, np->fpr);
				return UDC_EINVAL;
			}
		for (size_t k = 0; k < sizeof(sub) / sizeof(sub[0]); k++) {
			udc_state_rel_in(rel, sizeof(rel), np->prefix, sub[k]);
			if ((rv = udc_store_mkdirs(cfg->state_dir, rel, e2, sizeof(e2))) != 0) {
				snprintf(err, errlen, "state directory: %s", e2);
				return rv;
			}
		}
	}
	return 0;
}

/* The CBS node's socket and listeners; each peer learns its listener. */
static int
peers_listen(struct udc_node *n, char *err, size_t errlen)
{
	int *ids = calloc(n->cfg->npeers + 1, sizeof(*ids));
	int rv;

	if (ids == NULL)
		return UDC_ENOMEM;
	if ((rv = udc_peer_open_cbs(&n->peer, n->cfg, ids, err, errlen)) == 0) {
		n->nlisteners = ids[0] != 0;
		for (size_t i = 0; i < n->npeers; i++) {
			int own = n->multi && ids[1 + i] != 0;
			n->peers[i].listener = own ? ids[1 + i] : ids[0];
			n->nlisteners += own;
		}
	}
	free(ids);
	return rv;
}

int
udc_daemon_main(int argc, char **argv, const struct udc_party_ops *ops)
{
	static const struct option lopts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "debug", no_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	struct udc_node node;
	struct ctl_arg cta = { .n = &node, .ops = ops };
	const char *cfgpath = NULL;
	int check = 0, debug = 0, ch, rv, status = 1, sig;
	char err[1024];
	sigset_t set;
	int party_started = 0;

	memset(&node, 0, sizeof(node));
	while ((ch = getopt_long(argc, argv, "c:dhV", lopts, NULL)) != -1) {
		switch (ch) {
		case 'c': cfgpath = optarg; break;
		case 'C': check = 1; break;
		case 'd': debug = 1; break;
		case 'h': usage(stdout, ops->progname); return 0;
		case 'V': printf("%s (udclink) %s\n", ops->progname, UDC_VERSION); return 0;
		default: usage(stderr, ops->progname); return 2;
		}
	}
	if (cfgpath == NULL || optind != argc) {
		usage(stderr, ops->progname);
		return 2;
	}
	log_init(ops->progname, UDC_LOG_INFO, 0);
	if ((rv = udc_config_load(cfgpath, &node.cfg, err, sizeof(err))) != 0) {
		startup_error(ops->progname, err);
		return 2;
	}
	if (node.cfg->role != ops->role) {
		snprintf(err, sizeof(err), "%s: role is %s, this program is the %s node", cfgpath,
		    node.cfg->role == UDC_ROLE_CBS ? "cbs" : "gemeente",
		    ops->role == UDC_ROLE_CBS ? "cbs" : "gemeente");
		startup_error(ops->progname, err);
		udc_config_free(node.cfg);
		return 2;
	}
	if (check) {
		int nerr = udc_secmem_init() != 0 ? 1 : udc_config_check_deep(node.cfg, stdout);
		udc_config_free(node.cfg);
		return nerr ? 1 : 0;
	}
	log_init(ops->progname, debug ? UDC_LOG_DEBUG : node.cfg->log_level, node.cfg->use_syslog);
	if (!node.cfg->use_syslog && udc_sd_journal_stderr())
		udc_sd_log_to_journal(ops->progname);
	node.started = udc_now();
	if (udc_secmem_init() != 0)
		fatalx("cannot initialise libsodium");
	/* Signals are taken by sigwait in this thread only. */
	sigemptyset(&set);
	sigaddset(&set, SIGTERM);
	sigaddset(&set, SIGINT);
	sigaddset(&set, SIGHUP);
	pthread_sigmask(SIG_BLOCK, &set, NULL);
	signal(SIGPIPE, SIG_IGN);

	/* NNG would start with a certificate and someone else's key and fail
	 * every handshake later with a message that names neither file. */
	if (node.cfg->cert_file && node.cfg->key_file &&
	    (rv = udc_tls_pair_check(node.cfg->cert_file, node.cfg->key_file, err, sizeof(err))) != 0) {
		log_errorx("%s: %s", cfgpath, err);
		goto out;
	}
	if ((rv = udc_sign_key_load(node.cfg->signing_key, &node.sk, err, sizeof(err))) != 0 ||
	    (node.cfg->peer_public_key != NULL &&
	    (rv = udc_sign_pub_load(node.cfg->peer_public_key, &node.peer_pub, err, sizeof(err))) != 0)) {
		log_errorx("%s", err);
		goto out;
	}
	udc_sign_key_public(node.sk, &node.self_pub);
	udc_sign_fingerprint(&node.self_pub, node.self_fpr);
	if (node.cfg->peer_public_key != NULL) {
		udc_sign_fingerprint(&node.peer_pub, node.peer_fpr);
		if (memcmp(&node.self_pub, &node.peer_pub, sizeof(node.self_pub)) == 0) {
			log_errorx("%s: [peer] public_key is this node's own key", cfgpath);
			goto out;
		}
	} else {
		snprintf(node.peer_fpr, sizeof(node.peer_fpr), "(%zu gemeenten)", node.cfg->npeers);
	}
	if ((rv = udc_store_init(node.cfg->state_dir, err, sizeof(err))) != 0 ||
	    (rv = udc_rounds_open(&node.rounds, node.cfg->state_dir)) != 0) {
		log_errorx("state directory %s: %s", node.cfg->state_dir, err[0] ? err : udc_strerror(rv));
		goto out;
	}
	if (ops->role == UDC_ROLE_CBS && (rv = peers_setup(&node, err, sizeof(err))) != 0) {
		log_errorx("%s", err);
		goto out;
	}
	{
		struct udc_audit_opts ao = { .key = node.sk,
			.checkpoint_every = (unsigned)node.cfg->audit_checkpoint };
		if ((rv = udc_audit_open(node.cfg->audit_log, &ao, &node.audit, err, sizeof(err))) != 0) {
			log_errorx("audit log %s: %s", node.cfg->audit_log, err);
			goto out;
		}
	}
	/* workers = N: the calling thread and N - 1 pool threads; workers = 1
	 * means no pool at all (udc_workq_new takes 0 as "one per core"). */
	if (node.cfg->workers != 1 &&
	    (rv = udc_workq_new(&node.wq, node.cfg->workers > 0 ? (unsigned)node.cfg->workers - 1 : 0)) != 0) {
		log_errorx("worker pool: %s", udc_strerror(rv));
		goto out;
	}
	if ((rv = ops->role == UDC_ROLE_CBS ? peers_listen(&node, err, sizeof(err)) :
	    udc_peer_open(&node.peer, node.cfg, err, sizeof(err))) != 0) {
		log_errorx("%s", err);
		goto out;
	}
	if (ops->start && (rv = ops->start(&node, err, sizeof(err))) != 0) {
		log_errorx("%s", err);
		goto out;
	}
	party_started = 1;
	if ((rv = udc_ctl_open(&node.ctl, node.cfg->control_socket, node.cfg->control_group, ctl_request,
	    &cta, err, sizeof(err))) != 0) {
		log_errorx("%s", err);
		goto out;
	}
	for (size_t i = 0; node.multi && i < node.npeers; i++) {
		const struct udc_node_peer *np = &node.peers[i];
		log_info("gemeente %s (%s): key %s, %s%s%s, input %s%s%s%s%s, at most %d rounds at once "
		    "and %d proposals a minute", np->id, np->display, np->fpr,
		    np->conf->listen ? "its own listener " : "the shared listener",
		    np->conf->listen ? np->conf->listen : "",
		    np->conf->ca_file ? " trusting its own CA" : "",
		    np->conf->input_file ? np->conf->input_file : node.cfg->input_file,
		    np->conf->filter_column ? " where " : "",
		    np->conf->filter_column ? np->conf->filter_column : "",
		    np->conf->filter_column ? " = " : "",
		    np->conf->filter_column ? np->conf->filter_value : "", np->conf->max_sessions,
		    np->conf->proposals_per_minute);
	}
	log_info("node %s (%s) ready: peer %s, control %s%s%s, %u crypto threads, key %s, peer key %s, "
	    "%ld secrets in locked memory",
	    node.cfg->name, ops->role == UDC_ROLE_CBS ? "cbs" : "gemeente",
	    ops->role == UDC_ROLE_CBS ? (node.cfg->peer_listen ? node.cfg->peer_listen :
	    "(listeners of the gemeenten)") : node.cfg->peer_connect, node.cfg->control_socket, node.cfg->control_group ? " for group " : "",
	    node.cfg->control_group ? node.cfg->control_group : "", udc_workq_width(node.wq),
	    node.self_fpr, node.peer_fpr, udc_secmem_live());
	snprintf(err, sizeof(err), "%s node %s ready, peer key %s",
	    ops->role == UDC_ROLE_CBS ? "cbs" : "gemeente", node.cfg->name, node.peer_fpr);
	udc_sd_ready(err);
	sig = wait_for_stop(&node, &set);
	log_info("signal %d: shutting down", sig);
	udc_sd_stopping();
	status = 0;
out:
	atomic_store(&node.stopping, 1);
	udc_ctl_close(node.ctl);
	if (nng_socket_id(node.peer) > 0)
		nng_close(node.peer);
	if (party_started && ops->stop)
		ops->stop(&node);
	if (node.wq)
		udc_workq_free(node.wq);
	udc_rounds_close(node.rounds);
	udc_audit_close(node.audit);
	udc_sign_key_free(node.sk);
	free(node.peers);
	udc_config_free(node.cfg);
	return status;
}
