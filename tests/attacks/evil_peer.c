/*
 * evil_peer.c - a dishonest CBS node, or a relay, against a real gemeented.
 *
 * It holds what a dishonest party holds: the CBS node's TLS certificate
 * and signing key (the CBS node turned bad), or any certificate of the CA
 * (a stranger).  Modes:
 *
 *   order        plays CBS in a fuzzy round and tests whether the order of
 *                the lists the gemeente sends gives labels away: it encodes
 *                the gemeente's own list with the round secret (standing in
 *                for CBS's register of the population, which a dishonest
 *                CBS would use), learns which record each phase-1 CLK is,
 *                and compares the group label at each position of the count
 *                upload with that record's true label; and whether the
 *                returned tuples come back in the order it sent them.
 *   unsigned-kx  answers the proposal with its X25519 key but without a
 *                valid signature (or signed by another key with --sign-with);
 *                counts the encodings the gemeente sends afterwards.
 *   relay        sits between gemeented (as the CBS node) and cbsd (as the
 *                gemeente), forwards everything and saves every request.
 *   send FILE    sends a saved request to cbsd and prints the answer.
 *
 * Writes its findings as JSON (--out).  Exit 0 when it ran as planned;
 * the verdict is the test's (tests/attacks/test_attacks.py).
 *
 *   evil_peer order -c cbs.conf -s spec.ini -g gemeente.conf --out F [--seconds N]
 *   evil_peer unsigned-kx -c cbs.conf -s spec.ini --out F [--sign-with KEY]
 *   evil_peer relay -c cbs.conf --upstream gemeente.conf --dir DIR [--seconds N]
 *   evil_peer send FILE --upstream gemeente.conf --out F
 */
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <sodium.h>
#include <nng/nng.h>

#include "blind.h"
#include "blist.h"
#include "clkctx.h"
#include "config.h"
#include "daemon.h"
#include "err.h"
#include "input.h"
#include "roundkey.h"
#include "roundsig.h"
#include "secmem.h"
#include "sign.h"
#include "spec.h"
#include "transport.h"
#include "wire.h"
#include "workq.h"

struct evil {
	struct udc_config *cfg;      /* the CBS side: TLS, listen, signing key */
	struct udc_sign_key *sk;
	struct udc_sign_pub pub;
	struct udc_sign_key *other;  /* unsigned-kx --sign-with */
	struct udc_spec *spec;
	nng_socket s;
	double deadline;
	/* the round */
	uint8_t rid[16];
	int have_round;
	uint8_t kx_pub[32];
	uint8_t secret[UDC_CLK_SECRET_BYTES];
	int have_secret;
	size_t clk_bytes;
	/* phase 1: CLKs in the order received */
	uint8_t *clks;
	size_t nclk, capclk;
	int l_done;
	/* count: group labels in the order received */
	uint16_t *glab;
	size_t ng, capg;
	int g_done;
	/* our list sent, and returned */
	uint16_t *clab, *rlab;
	size_t nc, nr;
	int r_done;
	size_t encodings;            /* link or count records received at all */
	char abort_reason[256];
	int finished;
};

static double
now_s(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void
die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "evil_peer: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static void
env_reply(const Udc__Envelope *req, Udc__Envelope *rep)
{
	udc__envelope__init(rep);
	rep->version = UDC_PROTO_VERSION;
	rep->round_id = req->round_id;
	rep->request_id = req->request_id;
}

static void
send_env(struct evil *e, const Udc__Envelope *rep)
{
	uint8_t *buf;
	size_t len;
	nng_msg *m = NULL;

	if (udc_wire_encode(rep, &buf, &len) != 0)
		die("cannot encode a reply");
	if (nng_msg_alloc(&m, len) != 0)
		die("cannot encode a reply");
	memcpy(nng_msg_body(m), buf, len);
	free(buf);
	if (nng_sendmsg(e->s, m, 0) != 0)
		nng_msg_free(m);
}

static void
send_error(struct evil *e, const Udc__Envelope *req, const char *why)
{
	Udc__Envelope rep;
	Udc__Error er = UDC__ERROR__INIT;

	env_reply(req, &rep);
	er.code = UDC__ERROR_CODE__ERR_REFUSED;
	er.reason = (char *)why;
	rep.body_case = UDC__ENVELOPE__BODY_ERROR;
	rep.error = &er;
	send_env(e, &rep);
}

static void
send_ack(struct evil *e, const Udc__Envelope *req, uint32_t index, uint64_t total)
{
	Udc__Envelope rep;
	Udc__Ack a = UDC__ACK__INIT;

	env_reply(req, &rep);
	a.index = index;
	a.total = total;
	rep.body_case = UDC__ENVELOPE__BODY_ACK;
	rep.ack = &a;
	send_env(e, &rep);
}

/* The answer to the proposal: accepted, our approval, our X25519 key; the
 * reply signature made right (order), or wrong (unsigned-kx). */
static void
on_propose(struct evil *e, const Udc__Envelope *req, int sign_right)
{
	const Udc__Propose *p = req->propose;
	Udc__Envelope rep;
	Udc__ProposeReply pr = UDC__PROPOSE_REPLY__INIT;
	struct udc_proposal prop;
	struct udc_kx *kx = NULL;
	uint8_t sd[UDC_PROPOSAL_SIGDATA_BYTES], ph[32], rd[UDC_REPLY_SIGDATA_BYTES];
	uint8_t asig[64], rsig[64];

	if (p->kx_public.len != 32 || p->cbs_key.len != 32)
		die("the proposal has no round-secret key: give a fuzzy spec");
	memcpy(e->rid, req->round_id.data, 16);
	e->have_round = 1;
	memset(&prop, 0, sizeof(prop));
	memcpy(prop.round_id, req->round_id.data, 16);
	memcpy(prop.spec_hash, p->spec_hash.data, 32);
	memcpy(prop.cbs_key, p->cbs_key.data, 32);
	{
		struct udc_sign_pub gp;
		char err[256];
		if (udc_sign_pub_load(e->cfg->peer_public_key, &gp, err, sizeof(err)) != 0)
			die("%s", err);
		memcpy(prop.gemeente_key, gp.pk, 32);
	}
	memcpy(prop.kx_public, p->kx_public.data, 32);
	prop.has_kx = 1;
	prop.created = p->created;
	prop.max_records = p->g_records;
	prop.chunk_records = p->chunk_records;
	udc_proposal_sigdata(&prop, sd);
	crypto_hash_sha256(ph, sd, sizeof(sd));

	if (udc_kx_new(&kx) != 0)
		die("kx");
	memcpy(e->kx_pub, udc_kx_public(kx), 32);
	if (udc_kx_secret(kx, 0, p->kx_public.data, e->rid, p->spec_hash.data, e->secret) != 0)
		die("kx secret");
	e->have_secret = 1;
	udc_kx_free(kx);

	udc_sign(e->sk, UDC_SIGN_APPROVAL, p->spec_hash.data, 32, asig);
	pr.accepted = 1;
	pr.cbs_name = "evil-cbs";
	pr.kx_public.data = e->kx_pub;
	pr.kx_public.len = 32;
	pr.approval_sig.data = asig;
	pr.approval_sig.len = 64;
	udc_propose_reply_sigdata(ph, e->pub.pk, e->kx_pub, 1, 0, rd);
	if (sign_right || e->other) {
		udc_sign(sign_right ? e->sk : e->other, UDC_SIGN_PROPOSE_REPLY, rd, sizeof(rd), rsig);
		pr.reply_sig.data = rsig;
		pr.reply_sig.len = 64;
	}
	env_reply(req, &rep);
	rep.body_case = UDC__ENVELOPE__BODY_PROPOSE_REPLY;
	rep.propose_reply = &pr;
	send_env(e, &rep);
}

static void
on_link(struct evil *e, const Udc__Envelope *req)
{
	const Udc__LinkChunk *lc = req->l_chunk;

	if (lc->n && lc->clks.len == (size_t)lc->n * lc->clk_bytes) {
		if (e->clk_bytes == 0)
			e->clk_bytes = lc->clk_bytes;
		if (e->nclk + lc->n > e->capclk) {
			e->capclk = 2 * (e->nclk + lc->n);
			e->clks = realloc(e->clks, e->capclk * e->clk_bytes);
		}
		memcpy(e->clks + e->nclk * e->clk_bytes, lc->clks.data, lc->clks.len);
		e->nclk += lc->n;
		e->encodings += lc->n;
	}
	if (lc->last)
		e->l_done = 1;
	send_ack(e, req, lc->index, e->nclk);
}

static void
on_gchunk(struct evil *e, const Udc__Envelope *req)
{
	const Udc__Chunk *ch = req->g_chunk;

	if (e->ng + ch->n > e->capg) {
		e->capg = 2 * (e->ng + ch->n) + 16;
		e->glab = realloc(e->glab, e->capg * sizeof(*e->glab));
	}
	for (uint32_t i = 0; i < ch->n && ch->labels.len >= 2 * (size_t)ch->n; i++)
		e->glab[e->ng++] = udc_wire_label(ch, i);
	e->encodings += ch->n;
	if (ch->last)
		e->g_done = 1;
	send_ack(e, req, ch->index, e->ng);
}

static void
on_status(struct evil *e, const Udc__Envelope *req)
{
	Udc__Envelope rep;
	Udc__StatusReply sr = UDC__STATUS_REPLY__INIT;

	env_reply(req, &rep);
	sr.linked = e->l_done;
	/* As a real CBS node: the count list is ready once linked, whether or
	 * not the gemeente has uploaded yet (the gemeente waits for it before
	 * it uploads). */
	if (e->l_done || e->g_done) {
		/* our "list": as many tuples as the gemeente sends (one count
		 * record per phase-1 record), categories in a known order */
		if (e->nc == 0) {
			e->nc = e->ng ? e->ng : e->nclk ? e->nclk : 1;
			e->clab = calloc(e->nc, sizeof(*e->clab));
			for (size_t i = 0; i < e->nc; i++)
				e->clab[i] = (uint16_t)randombytes_uniform((uint32_t)e->spec->ncells[UDC_SIDE_CBS]);
		}
		sr.ready = 1;
		sr.c_records = e->nc;
		sr.c_chunks = 1;
	}
	rep.body_case = UDC__ENVELOPE__BODY_STATUS_REPLY;
	rep.status_reply = &sr;
	send_env(e, &rep);
}

static void
on_fetch(struct evil *e, const Udc__Envelope *req)
{
	Udc__Envelope rep;
	Udc__Chunk ch = UDC__CHUNK__INIT;
	uint8_t *pts = malloc(e->nc * 32), *lab = malloc(e->nc * 2);

	for (size_t i = 0; i < e->nc; i++) {
		crypto_core_ristretto255_random(pts + 32 * i);
		lab[2 * i] = (uint8_t)(e->clab[i] & 0xff);
		lab[2 * i + 1] = (uint8_t)(e->clab[i] >> 8);
	}
	ch.index = 0;
	ch.last = 1;
	ch.n = (uint32_t)e->nc;
	ch.nkeys = 1;
	ch.points.data = pts;
	ch.points.len = e->nc * 32;
	ch.labels.data = lab;
	ch.labels.len = e->nc * 2;
	env_reply(req, &rep);
	rep.body_case = UDC__ENVELOPE__BODY_C_CHUNK;
	rep.c_chunk = &ch;
	send_env(e, &rep);
	free(pts);
	free(lab);
}

static void
on_rchunk(struct evil *e, const Udc__Envelope *req)
{
	const Udc__Chunk *ch = req->r_chunk;

	if (e->rlab == NULL)
		e->rlab = calloc(e->nc + 1, sizeof(*e->rlab));
	for (uint32_t i = 0; i < ch->n && e->nr < e->nc && ch->labels.len >= 2 * (size_t)ch->n; i++)
		e->rlab[e->nr++] = udc_wire_label(ch, i);
	if (ch->last)
		e->r_done = 1;
	send_ack(e, req, ch->index, e->nr);
}

/* Serves the gemeente until it finishes or aborts (or time runs out). */
static void
serve(struct evil *e, int sign_right)
{
	while (!e->finished && now_s() < e->deadline) {
		nng_msg *m;
		Udc__Envelope *req = NULL;
		char why[256];

		if (nng_recvmsg(e->s, &m, 0) != 0)
			continue; /* receive timeout: look at the clock */
		if (udc_wire_decode(nng_msg_body(m), nng_msg_len(m), &req, why, sizeof(why)) != 0) {
			nng_msg_free(m);
			continue;
		}
		nng_msg_free(m);
		switch (req->body_case) {
		case UDC__ENVELOPE__BODY_PROPOSE: on_propose(e, req, sign_right); break;
		case UDC__ENVELOPE__BODY_L_CHUNK: on_link(e, req); break;
		case UDC__ENVELOPE__BODY_G_CHUNK: on_gchunk(e, req); break;
		case UDC__ENVELOPE__BODY_STATUS: on_status(e, req); break;
		case UDC__ENVELOPE__BODY_FETCH: on_fetch(e, req); break;
		case UDC__ENVELOPE__BODY_R_CHUNK: on_rchunk(e, req); break;
		case UDC__ENVELOPE__BODY_ABORT:
			snprintf(e->abort_reason, sizeof(e->abort_reason), "%s",
			    req->abort->reason ? req->abort->reason : "");
			send_ack(e, req, 0, 0);
			e->finished = 1;
			break;
		case UDC__ENVELOPE__BODY_FINISH:
			send_error(e, req, "the evil CBS node has what it came for");
			e->finished = 1;
			break;
		default:
			send_error(e, req, "not served by the evil CBS node");
			break;
		}
		udc_wire_free(req);
	}
}

/* The gemeente's CLKs, encoded here with the round secret from its own
 * CSV, and each record's group label: what a dishonest CBS would know of
 * every person from its own register. */
struct known {
	uint8_t *clk;
	uint16_t lab;
};

static size_t known_len; /* CLK bytes, for cmp_known */

static int
cmp_known(const void *a, const void *b)
{
	return memcmp(((const struct known *)a)->clk, ((const struct known *)b)->clk, known_len);
}

static size_t
encode_gemeente(struct evil *e, const char *gconf, struct known **out)
{
	struct udc_config *gcfg = NULL;
	struct udc_node fake;
	struct udc_input_opts io;
	struct udc_clkctx *clk = NULL;
	struct udc_blist l;
	struct udc_input_stats st;
	struct udc_workq *wq = NULL;
	struct udc_scalar *a = NULL;
	struct known *k;
	char err[512];

	if (udc_config_load(gconf, &gcfg, err, sizeof(err)) != 0)
		die("%s", err);
	memset(&fake, 0, sizeof(fake));
	fake.cfg = gcfg;
	if (udc_node_input_opts(&fake, e->spec, UDC_SIDE_GEMEENTE, &io) != NULL)
		die("%s: the spec's gemeente labels are not mapped", gconf);
	if (udc_clkctx_new(&clk, e->spec, e->secret, 0, err, sizeof(err)) != 0)
		die("%s", err);
	udc_blist_init(&l, e->spec->nkeys, 0);
	udc_blist_set_extra(&l, udc_clkctx_ext_bytes(clk));
	if (udc_workq_new(&wq, 1) != 0 || udc_scalar_new(&a) != 0)
		die("workq");
	if (udc_blist_from_input_ext(&l, &io, e->rid, a, wq, udc_clkctx_fill, clk, &st, err,
	    sizeof(err)) != 0)
		die("%s", err);
	k = calloc(l.n + 1, sizeof(*k));
	for (size_t i = 0; i < l.n; i++) {
		k[i].clk = malloc(e->clk_bytes);
		memcpy(k[i].clk, udc_blist_ext(&l, i), e->clk_bytes);
		k[i].lab = l.lab[i];
	}
	known_len = e->clk_bytes;
	qsort(k, l.n, sizeof(*k), cmp_known);
	*out = k;
	{
		size_t n = l.n;
		udc_blist_free(&l);
		udc_clkctx_free(clk);
		udc_scalar_free(a);
		udc_workq_free(wq);
		udc_config_free(gcfg);
		return n;
	}
}

/* Agreement of two label sequences position by position, and what chance
 * alone would give (the sum of squared label shares of the second). */
static void
agreement(const uint16_t *a, const uint16_t *b, size_t n, size_t nlabels, double *agree,
    double *chance)
{
	double *share = calloc(nlabels + 1, sizeof(*share));
	size_t same = 0, m = 0;

	for (size_t i = 0; i < n; i++) {
		if (a[i] == UINT16_MAX)
			continue; /* position not identified */
		same += a[i] == b[i];
		m++;
		if (b[i] < nlabels)
			share[b[i]] += 1;
	}
	*chance = 0;
	for (size_t c = 0; c < nlabels; c++)
		*chance += (share[c] / (m ? m : 1)) * (share[c] / (m ? m : 1));
	*agree = m ? (double)same / (double)m : 0;
	free(share);
}

static void
mode_order(struct evil *e, const char *gconf, const char *out)
{
	struct known *k = NULL, key;
	size_t nk, identified = 0;
	uint16_t *truth;
	double a1, c1, a2 = 0, c2 = 0;
	FILE *f;

	serve(e, 1);
	if (!e->have_secret || e->nclk == 0 || e->ng == 0)
		die("the round did not get as far as the count upload (%zu CLKs, %zu count records)",
		    e->nclk, e->ng);
	nk = encode_gemeente(e, gconf, &k);
	truth = calloc(e->nclk, sizeof(*truth));
	for (size_t i = 0; i < e->nclk; i++) {
		struct known *hit;
		key.clk = e->clks + i * e->clk_bytes;
		hit = NULL;
		{
			size_t lo = 0, hi = nk;
			while (lo < hi) {
				size_t mid = (lo + hi) / 2;
				int c = memcmp(k[mid].clk, key.clk, e->clk_bytes);
				if (c == 0) {
					hit = &k[mid];
					break;
				}
				if (c < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
		}
		truth[i] = hit ? hit->lab : UINT16_MAX;
		identified += hit != NULL;
	}
	agreement(truth, e->glab, e->nclk < e->ng ? e->nclk : e->ng, e->spec->ncells[UDC_SIDE_GEMEENTE],
	    &a1, &c1);
	if (e->nr && e->nc)
		agreement(e->clab, e->rlab, e->nr < e->nc ? e->nr : e->nc, e->spec->ncells[UDC_SIDE_CBS],
		    &a2, &c2);
	if ((f = fopen(out, "w")) == NULL)
		die("%s", out);
	fprintf(f, "{\"phase1_records\": %zu, \"identified\": %zu, \"count_records\": %zu,\n"
	    " \"phase1_vs_count\": {\"agreement\": %.6f, \"chance\": %.6f},\n"
	    " \"returned\": %zu, \"returned_vs_sent\": {\"agreement\": %.6f, \"chance\": %.6f}}\n",
	    e->nclk, identified, e->ng, a1, c1, e->nr, a2, c2);
	fclose(f);
	for (size_t i = 0; i < nk; i++)
		free(k[i].clk);
	free(k);
	free(truth);
}

static void
mode_unsigned(struct evil *e, const char *out)
{
	FILE *f;
	char reason[600];

	serve(e, 0);
	if ((f = fopen(out, "w")) == NULL)
		die("%s", out);
	/* a JSON string: the reason is printable ASCII (the wire guarantees it);
	 * quotes and backslashes are dropped */
	size_t o = 0;
	for (const char *p = e->abort_reason; *p && o + 1 < sizeof(reason); p++)
		if (*p != '"' && *p != '\\')
			reason[o++] = *p;
	reason[o] = '\0';
	fprintf(f, "{\"proposed\": %d, \"encodings_received\": %zu, \"aborted\": %d, "
	    "\"abort_reason\": \"%s\"}\n", e->have_round, e->encodings, e->abort_reason[0] != 0, reason);
	fclose(f);
}

/* relay: every request from the gemeente is saved, forwarded, answered. */
static void
mode_relay(struct evil *e, const char *upconf, const char *dir)
{
	struct udc_config *ucfg = NULL;
	nng_socket up;
	char err[512], path[4096];
	unsigned seq = 0;

	if (udc_config_load(upconf, &ucfg, err, sizeof(err)) != 0 ||
	    udc_peer_open(&up, ucfg, err, sizeof(err)) != 0)
		die("%s", err);
	mkdir(dir, 0700);
	while (now_s() < e->deadline) {
		nng_msg *m, *r = NULL;
		Udc__Envelope *req = NULL;
		FILE *f;

		if (nng_recvmsg(e->s, &m, 0) != 0)
			continue;
		if (udc_wire_decode(nng_msg_body(m), nng_msg_len(m), &req, err, sizeof(err)) == 0) {
			snprintf(path, sizeof(path), "%s/%04u-%s.bin", dir, seq++,
			    udc_wire_body_name(req->body_case));
			if ((f = fopen(path, "wb")) != NULL) {
				fwrite(nng_msg_body(m), 1, nng_msg_len(m), f);
				fclose(f);
			}
			udc_wire_free(req);
		}
		if (udc_req_call(up, nng_msg_body(m), nng_msg_len(m), &r) == 0) {
			if (nng_sendmsg(e->s, r, 0) != 0)
				nng_msg_free(r);
		}
		nng_msg_free(m);
	}
	nng_close(up);
	udc_config_free(ucfg);
}

static void
mode_send(const char *file, const char *upconf, const char *out)
{
	struct udc_config *ucfg = NULL;
	nng_socket up;
	nng_msg *r = NULL;
	Udc__Envelope *rep = NULL;
	char err[512];
	uint8_t buf[1 << 16];
	size_t n;
	FILE *f;
	int rv;

	if ((f = fopen(file, "rb")) == NULL)
		die("%s", file);
	n = fread(buf, 1, sizeof(buf), f);
	fclose(f);
	if (udc_config_load(upconf, &ucfg, err, sizeof(err)) != 0 ||
	    udc_peer_open(&up, ucfg, err, sizeof(err)) != 0)
		die("%s", err);
	/* the dialer is non-blocking: wait for the connection */
	for (int i = 0; i < 100; i++) {
		rv = udc_req_call(up, buf, n, &r);
		if (rv == 0)
			break;
		usleep(100 * 1000);
	}
	if ((f = fopen(out, "w")) == NULL)
		die("%s", out);
	if (r && udc_wire_decode(nng_msg_body(r), nng_msg_len(r), &rep, err, sizeof(err)) == 0) {
		const char *reason = rep->body_case == UDC__ENVELOPE__BODY_ERROR && rep->error->reason ?
		    rep->error->reason : "";
		fprintf(f, "{\"reply\": \"%s\", \"accepted\": %d, \"reason\": \"", 
		    udc_wire_body_name(rep->body_case),
		    rep->body_case == UDC__ENVELOPE__BODY_PROPOSE_REPLY && rep->propose_reply->accepted);
		for (const char *p = reason; *p; p++)
			if (*p != '"' && *p != '\\')
				fputc(*p, f);
		fprintf(f, "\"}\n");
		udc_wire_free(rep);
	} else {
		fprintf(f, "{\"reply\": null}\n");
	}
	fclose(f);
	if (r)
		nng_msg_free(r);
	udc_config_free(ucfg);
	_exit(0); /* no NNG teardown */
}

static void
usage(void)
{
	fprintf(stderr,
	    "usage: evil_peer order -c CBS_CONF -s SPEC -g GEMEENTE_CONF --out FILE [--seconds N]\n"
	    "       evil_peer unsigned-kx -c CBS_CONF -s SPEC --out FILE [--sign-with KEY] [--seconds N]\n"
	    "       evil_peer relay -c CBS_CONF --upstream GEMEENTE_CONF --dir DIR [--seconds N]\n"
	    "       evil_peer send FILE --upstream GEMEENTE_CONF --out FILE\n");
	exit(2);
}

int
main(int argc, char **argv)
{
	static const struct option lo[] = {
		{ "config", required_argument, NULL, 'c' }, { "spec", required_argument, NULL, 's' },
		{ "gemeente", required_argument, NULL, 'g' }, { "out", required_argument, NULL, 'o' },
		{ "seconds", required_argument, NULL, 't' }, { "sign-with", required_argument, NULL, 'w' },
		{ "upstream", required_argument, NULL, 'u' }, { "dir", required_argument, NULL, 'd' },
		{ NULL, 0, NULL, 0 }
	};
	struct evil e;
	const char *mode, *conf = NULL, *specf = NULL, *gconf = NULL, *out = NULL, *with = NULL;
	const char *up = NULL, *dir = NULL, *file = NULL;
	double seconds = 120;
	char err[512];
	int c;

	if (argc < 2)
		usage();
	mode = argv[1];
	optind = 2;
	if (strcmp(mode, "send") == 0) {
		if (argc < 3)
			usage();
		file = argv[2];
		optind = 3;
	}
	while ((c = getopt_long(argc, argv, "c:s:g:o:t:w:u:d:", lo, NULL)) != -1) {
		switch (c) {
		case 'c': conf = optarg; break;
		case 's': specf = optarg; break;
		case 'g': gconf = optarg; break;
		case 'o': out = optarg; break;
		case 't': seconds = atof(optarg); break;
		case 'w': with = optarg; break;
		case 'u': up = optarg; break;
		case 'd': dir = optarg; break;
		default: usage();
		}
	}
	if (sodium_init() < 0 || udc_secmem_init() != 0)
		die("libsodium");
	if (strcmp(mode, "send") == 0) {
		if (!up || !out)
			usage();
		mode_send(file, up, out);
		return 0;
	}
	memset(&e, 0, sizeof(e));
	e.deadline = now_s() + seconds;
	if (!conf || udc_config_load(conf, &e.cfg, err, sizeof(err)) != 0)
		die("%s", conf ? err : "-c CBS_CONF is required");
	if (udc_sign_key_load(e.cfg->signing_key, &e.sk, err, sizeof(err)) != 0)
		die("%s", err);
	udc_sign_key_public(e.sk, &e.pub);
	if (with && udc_sign_key_load(with, &e.other, err, sizeof(err)) != 0)
		die("%s", err);
	if (strcmp(mode, "relay") != 0 &&
	    (!specf || udc_spec_load_with_schema(specf, &e.spec, err, sizeof(err)) != 0))
		die("%s", specf ? err : "-s SPEC is required");
	if (udc_peer_open(&e.s, e.cfg, err, sizeof(err)) != 0)
		die("%s", err);
	nng_socket_set_ms(e.s, NNG_OPT_RECVTIMEO, 500);
	printf("evil_peer %s listening on %s\n", mode, e.cfg->peer_listen);
	fflush(stdout);
	if (strcmp(mode, "order") == 0 && gconf && out)
		mode_order(&e, gconf, out);
	else if (strcmp(mode, "unsigned-kx") == 0 && out)
		mode_unsigned(&e, out);
	else if (strcmp(mode, "relay") == 0 && up && dir)
		mode_relay(&e, up, dir);
	else
		usage();
	fflush(NULL);
	_exit(0); /* no NNG teardown: a pending send may block it */
}
