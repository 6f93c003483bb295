/*
 * session.c - the CBS node's side of a round: one session per round id.
 *
 * Every request is checked before it is used: decodable, our protocol
 * version, a known round (or a proposal), a message type allowed in the
 * session's state, chunk shape and label ranges, every group element valid.
 * Anything else gets an Error reply and a log line; the daemon carries on.
 * Requests are idempotent: a resent chunk, fetch or finish gets the same
 * answer and is never computed twice.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sodium.h>

#include "blind.h"
#include "clkctx.h"
#include "dice.h"
#include "fuzzy.h"
#include "rand.h"
#include "roundkey.h"
#include "secmem.h"
#include "cbs.h"
#include "err.h"
#include "link.h"
#include "disclosure.h"
#include "log.h"
#include "result.h"
#include "rounds.h"
#include "spec.h"
#include "store.h"
#include "table.h"

#define DONE_LINGER_S 120 /* keep a finished session to answer a resent Finish */

static const char *
state_name(enum sess_state s)
{
	switch (s) {
	case SS_LINK: return "link";
	case SS_UPLOAD: return "upload";
	case SS_RETURN: return "return";
	case SS_DONE: return "done";
	case SS_FAILED: return "failed";
	}
	return "?";
}

/* Reply construction: one envelope with the request's round and request id. */
struct reply {
	Udc__Envelope env;
	Udc__Error error;
	char reason[400];
};

static void
reply_init(struct reply *rp, const Udc__Envelope *req)
{
	static uint8_t zero_id[16];
	udc__envelope__init(&rp->env);
	rp->env.version = UDC_PROTO_VERSION;
	rp->env.round_id.data = req ? req->round_id.data : zero_id;
	rp->env.round_id.len = 16;
	rp->env.request_id = req ? req->request_id : 0;
}

static void
reply_error(struct reply *rp, Udc__ErrorCode code, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
reply_error(struct reply *rp, Udc__ErrorCode code, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(rp->reason, sizeof(rp->reason), fmt, ap);
	va_end(ap);
	udc__error__init(&rp->error);
	rp->error.code = code;
	rp->error.reason = rp->reason;
	rp->env.body_case = UDC__ENVELOPE__BODY_ERROR;
	rp->env.error = &rp->error;
}

static void
sess_release_data(struct session *s)
{
	udc_scalar_free(s->b);
	s->b = NULL;
	udc_clkctx_free(s->clk);
	s->clk = NULL;
	udc_blist_free(&s->g);
	udc_blist_free(&s->c);
	udc_blist_free(&s->r);
	udc_blist_free(&s->gl);
	udc_blist_free(&s->own);
	udc_blist_free(&s->ownx);
}

static void
sess_free(struct session *s)
{
	sess_release_data(s);
	free(s->dummies);
	free(s->own_unlinked);
	free(s->result);
	udc_spec_free(s->spec);
	pthread_mutex_destroy(&s->mtx);
	free(s);
}

/* Marks the session failed (caller holds s->mtx). */
static void
sess_fail(struct cbs *cb, struct session *s, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
sess_fail(struct cbs *cb, struct session *s, const char *fmt, ...)
{
	va_list ap;
	if (s->state == SS_FAILED || s->state == SS_DONE)
		return;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	s->state = SS_FAILED;
	/* The preparer may still be reading: it notices the state and frees
	 * nothing of ours; the lists go when the last user leaves. */
	if ((s->prep_done || !s->prep_started) && !s->link_busy)
		sess_release_data(s);
	log_warnx("round %s failed: %s", s->idhex, s->error);
	udc_rounds_update(cb->n->rounds, s->idhex, "failed", NULL, 0, s->error);
}

static struct session *
sess_get(struct cbs *cb, const uint8_t rid[16])
{
	struct session *s;

	pthread_mutex_lock(&cb->mtx);
	for (s = cb->sessions; s; s = s->next)
		if (memcmp(s->rid, rid, 16) == 0)
			break;
	if (s)
		s->refs++;
	pthread_mutex_unlock(&cb->mtx);
	return s;
}

static void
sess_put(struct cbs *cb, struct session *s)
{
	pthread_mutex_lock(&cb->mtx);
	s->refs--;
	pthread_mutex_unlock(&cb->mtx);
}

/* The scalar b serves two uses: raising the gemeente's tuples and building
 * our own list.  Wipe it as soon as both are over. */
static void
maybe_wipe_b(struct session *s)
{
	if (s->b && s->g_done && s->prep_done) {
		udc_scalar_free(s->b);
		s->b = NULL;
	}
}

struct prep_arg {
	struct cbs *cb;
	struct session *s;
};

/* The digest of our input file, for the audit log and differencing control. */
static int
own_digest(struct cbs *cb, struct session *s, const char *path, char *err, size_t errlen)
{
	char hex[65];

	if (udc_file_sha256(path, s->input_digest) != 0) {
		snprintf(err, errlen, "%s: cannot read the input file", path);
		return UDC_EIO;
	}
	udc_hex(s->input_digest, 32, hex);
	struct udc_audit_field f[] = { UDC_AUDIT_S("round", s->idhex), UDC_AUDIT_S("file_sha256", hex) };
	udc_node_audit(cb->n, UDC_AUDIT_INPUT_DIGEST, f, UDC_AUDIT_NFIELDS(f));
	return 0;
}

static void *
prep_thread(void *p)
{
	struct prep_arg *pa = p;
	struct cbs *cb = pa->cb;
	struct session *s = pa->s;
	struct udc_node *n = cb->n;
	const struct udc_spec *spec = s->spec;
	struct udc_input_opts io;
	struct udc_blist c;
	struct udc_input_stats st;
	uint64_t *dummies = NULL;
	size_t ncats = spec->ncells[UDC_SIDE_CBS];
	char err[512] = "";
	int rv;

	free(pa);
	memset(&st, 0, sizeof(st));
	udc_blist_init(&c, spec->nkeys, CBS_MAX_RECORDS);
	/* Every category has a column: the proposal was checked for that. */
	udc_node_input_opts(n, spec, UDC_SIDE_CBS, &io);
	/* s->b is only freed once prep_done is set, so reading it is safe. */
	rv = own_digest(cb, s, io.path, err, sizeof(err));
	if (rv == 0)
		rv = udc_blist_from_input(&c, &io, s->rid, s->b, n->wq, &st, err, sizeof(err));
	if (rv == 0 && (dummies = calloc(ncats, sizeof(*dummies))) == NULL)
		rv = UDC_ENOMEM;
	if (rv == 0 && spec->pad == UDC_PAD_MAX)
		rv = udc_blist_pad(&c, ncats, dummies);
	if (rv == 0)
		udc_blist_shuffle(&c);
	if (rv == 0)
		log_info("round %s: %s: %llu rows, %llu used, %zu tuples after padding", s->idhex, io.path,
		    (unsigned long long)st.rows, (unsigned long long)st.accepted, c.n);

	pthread_mutex_lock(&s->mtx);
	s->prep_done = 1;
	if (s->state == SS_FAILED || s->state == SS_DONE) {
		udc_blist_free(&c);
		free(dummies);
		sess_release_data(s);
	} else if (rv != 0) {
		udc_blist_free(&c);
		free(dummies);
		sess_fail(cb, s, "CBS input: %s", err[0] ? err : udc_strerror(rv));
	} else {
		size_t per = (n->cfg->max_message - 4096) / (spec->nkeys * 32 + 2);
		s->c = c;
		s->c_sent = c.n;
		s->dummies = dummies;
		s->cst = st;
		s->c_chunk = n->cfg->chunk_records < per ? n->cfg->chunk_records : per;
		if (s->c_chunk > UDC_MAX_CHUNK_RECORDS)
			s->c_chunk = UDC_MAX_CHUNK_RECORDS;
		s->c_chunks = (uint32_t)(c.n ? (c.n + s->c_chunk - 1) / s->c_chunk : 1);
		maybe_wipe_b(s);
	}
	pthread_mutex_unlock(&s->mtx);
	sess_put(cb, s);
	return NULL;
}

/* Starts fn on a detached thread that holds a reference to s. */
static int
spawn(struct cbs *cb, struct session *s, void *(*fn)(void *))
{
	struct prep_arg *pa = malloc(sizeof(*pa));
	pthread_t t;
	pthread_attr_t at;
	int rv = 0;

	if (pa == NULL)
		return UDC_ENOMEM;
	pa->cb = cb;
	pa->s = s;
	pthread_mutex_lock(&cb->mtx);
	s->refs++;
	pthread_mutex_unlock(&cb->mtx);
	pthread_attr_init(&at);
	pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &at, fn, pa) != 0) {
		free(pa);
		sess_put(cb, s);
		rv = UDC_ENOMEM;
	}
	pthread_attr_destroy(&at);
	return rv;
}

/* Fuzzy and combined: our half of the round secret and our encoder. */
static int
fuzzy_setup(struct session *s, const Udc__Propose *p, char *err, size_t errlen)
{
	struct udc_kx *kx = NULL;
	uint8_t *secret = udc_secmem_alloc(UDC_CLK_SECRET_BYTES);
	int rv;

	if (secret == NULL || (rv = udc_kx_new(&kx)) != 0) {
		udc_secmem_free(secret);
		snprintf(err, errlen, "out of memory");
		return UDC_ENOMEM;
	}
	memcpy(s->kx_pub, udc_kx_public(kx), sizeof(s->kx_pub));
	if ((rv = udc_kx_secret(kx, 0, p->kx_public.data, s->rid, s->spec->hash, secret)) != 0)
		snprintf(err, errlen, "the gemeente's key for the round secret is invalid");
	else
		rv = udc_clkctx_new(&s->clk, s->spec, secret, 0, err, errlen);
	udc_kx_free(kx);
	udc_secmem_free(secret);
	if (rv != 0)
		return rv;
	s->clk_bytes = udc_clkctx_bytes(s->clk);
	s->clk_bits = udc_clkctx_bits(s->clk);
	s->clk_segs = udc_clkctx_segments(s->clk);
	s->cnkeys = 1; /* the count runs on handles */
	s->state = SS_LINK;
	udc_blist_init(&s->gl, s->spec->nkeys, (size_t)CBS_MAX_RECORDS);
	udc_blist_set_extra(&s->gl, 32 + s->clk_bytes);
	udc_blist_init(&s->own, s->spec->nkeys, (size_t)CBS_MAX_RECORDS);
	udc_blist_set_extra(&s->own, s->clk_bytes);
	udc_blist_init(&s->ownx, s->spec->nkeys, (size_t)CBS_MAX_RECORDS);
	return 0;
}

static void *link_thread(void *p);

/* Phase 1 can link once the gemeente's records are in, ours are encoded
 * and (combined) our keys came back raised to a.  Caller holds s->mtx. */
static void
maybe_link(struct cbs *cb, struct session *s)
{
	if (s->link_started || !s->l_done || !s->own_ready || s->state != SS_LINK)
		return;
	if (s->spec->mode == UDC_MODE_COMBINED && !s->x_done)
		return;
	s->link_started = 1;
	s->link_busy = 1;
	udc_rounds_update(cb->n->rounds, s->idhex, NULL, "linking", 0, NULL);
	if (spawn(cb, s, link_thread) != 0) {
		s->link_busy = 0;
		sess_fail(cb, s, "cannot start the linkage thread");
	}
}

/* Reads and encodes our list: CLKs (and H(k)^b in combined mode). */
static void *
lprep_thread(void *p)
{
	struct prep_arg *pa = p;
	struct cbs *cb = pa->cb;
	struct session *s = pa->s;
	struct udc_node *n = cb->n;
	const struct udc_spec *spec = s->spec;
	struct udc_input_opts io;
	struct udc_blist own;
	struct udc_input_stats st;
	char err[512] = "";
	int rv;

	free(pa);
	memset(&st, 0, sizeof(st));
	own = s->own; /* empty; filled here, handed over under the lock */
	/* Every category has a column: the proposal was checked for that. */
	udc_node_input_opts(n, spec, UDC_SIDE_CBS, &io);
	rv = own_digest(cb, s, io.path, err, sizeof(err));
	if (rv == 0)
		rv = udc_blist_from_input_ext(&own, &io, s->rid, s->b, n->wq, udc_clkctx_fill, s->clk,
		    &st, err, sizeof(err));
	if (rv == 0)
		udc_blist_shuffle(&own);
	if (rv == 0)
		log_info("round %s: %s: %llu rows, %zu encoded", s->idhex, io.path,
		    (unsigned long long)st.rows, own.n);

	pthread_mutex_lock(&s->mtx);
	s->prep_done = 1; /* the preparer is finished with s->b */
	udc_clkctx_free(s->clk); /* our encoding keys are not needed any more */
	s->clk = NULL;
	if (s->state == SS_FAILED || s->state == SS_DONE) {
		udc_blist_free(&own);
		if (!s->link_busy)
			sess_release_data(s);
	} else if (rv != 0) {
		udc_blist_free(&own);
		sess_fail(cb, s, "CBS input: %s", err[0] ? err : udc_strerror(rv));
	} else {
		size_t per = (n->cfg->max_message - 4096) / (spec->nkeys * 32 + 2 + 1);
		s->own = own;
		s->cst = st;
		s->own_chunk = n->cfg->chunk_records < per ? n->cfg->chunk_records : per;
		if (s->own_chunk > UDC_MAX_CHUNK_RECORDS)
			s->own_chunk = UDC_MAX_CHUNK_RECORDS;
		s->own_chunks = (uint32_t)(own.n ? (own.n + s->own_chunk - 1) / s->own_chunk : 1);
		if ((rv = udc_blist_reserve(&s->ownx, own.n)) != 0)
			sess_fail(cb, s, "cannot hold the returned keys: %s", udc_strerror(rv));
		s->ownx.n = own.n;
		s->own_ready = 1;
		maybe_link(cb, s);
	}
	pthread_mutex_unlock(&s->mtx);
	sess_put(cb, s);
	return NULL;
}

/* Exact keys first (combined), then Dice on the records still unlinked;
 * then the count list: H(handle)^b with our category for every link. */
static void *
link_thread(void *p)
{
	struct prep_arg *pa = p;
	struct cbs *cb = pa->cb;
	struct session *s = pa->s;
	const struct udc_spec *spec = s->spec;
	size_t ng = s->gl.n, nown = s->own.n, ncats = spec->ncells[UDC_SIDE_CBS];
	size_t nwords = udc_dice_nwords(s->clk_bits), na = 0, nb = 0;
	int64_t *pair = NULL;
	uint8_t *own_done = NULL;
	size_t *ia = NULL, *ib = NULL;
	uint64_t *wa = NULL, *wb = NULL, *dummies = NULL, *unl = NULL;
	uint64_t exact[UDC_MAX_KEYS] = { 0 }, bands[UDC_FUZZY_NBANDS] = { 0 }, fz = 0;
	uint32_t lo[UDC_FUZZY_NBANDS + 1] = { 0 };
	struct udc_fuzzy_result *res = NULL;
	struct udc_fuzzy_params fp;
	struct udc_blist c;
	char why[256] = "";
	int rv = UDC_ENOMEM;

	free(pa);
	udc_blist_init(&c, 1, 0);
	pair = malloc((ng ? ng : 1) * sizeof(*pair));
	own_done = calloc(nown ? nown : 1, 1);
	ia = malloc((ng ? ng : 1) * sizeof(*ia));
	ib = malloc((nown ? nown : 1) * sizeof(*ib));
	dummies = calloc(ncats, sizeof(*dummies));
	unl = calloc(ncats, sizeof(*unl));
	if (!pair || !own_done || !ia || !ib || !dummies || !unl)
		goto out;
	for (size_t i = 0; i < ng; i++)
		pair[i] = -1;
	if (spec->mode == UDC_MODE_COMBINED) {
		if ((rv = udc_link_pairs(&s->gl, &s->ownx, NULL, NULL, pair, exact)) != 0)
			goto out;
		for (size_t i = 0; i < ng; i++)
			if (pair[i] >= 0)
				own_done[pair[i]] = 1;
	}
	for (size_t i = 0; i < ng; i++)
		if (pair[i] < 0)
			ia[na++] = i;
	for (size_t k = 0; k < nown; k++)
		if (!own_done[k])
			ib[nb++] = k;
	rv = UDC_ENOMEM;
	wa = malloc((na ? na : 1) * nwords * sizeof(*wa));
	wb = malloc((nb ? nb : 1) * nwords * sizeof(*wb));
	if (!wa || !wb)
		goto out;
	for (size_t k = 0; k < na; k++)
		udc_dice_words_from_bytes(udc_blist_ext(&s->gl, ia[k]) + 32, s->clk_bytes, wa + k * nwords,
		    nwords);
	for (size_t k = 0; k < nb; k++)
		udc_dice_words_from_bytes(udc_blist_ext(&s->own, ib[k]), s->clk_bytes, wb + k * nwords,
		    nwords);
	udc_fuzzy_params_default(&fp);
	fp.threshold = spec->threshold / 1000.0;
	fp.segments = (unsigned)s->clk_segs;
	udc_random_buf(&fp.seed, sizeof(fp.seed));
	if (na && nb) {
		if ((rv = udc_fuzzy_link(&res, &fp, cb->n->wq, wa, na, wb, nb, s->clk_bits)) != 0) {
			snprintf(why, sizeof(why), "fuzzy linkage failed: %s", udc_strerror(rv));
			goto out;
		}
		for (size_t k = 0; k < na; k++) {
			if (res->link[k] < 0)
				continue;
			pair[ia[k]] = (int64_t)ib[res->link[k]];
			own_done[ib[res->link[k]]] = 1;
			fz++;
		}
		for (int b = 0; b < UDC_FUZZY_NBANDS; b++)
			bands[b] = res->band[b];
		for (int b = 0; b <= UDC_FUZZY_NBANDS; b++)
			lo[b] = (uint32_t)(res->band_lo[b] * 1000.0 + 0.5);
		log_info("round %s: %llu fuzzy links; %llu pairs compared of %llu (blocking %.0fx)",
		    s->idhex, (unsigned long long)fz, (unsigned long long)res->stats.compared,
		    (unsigned long long)res->stats.pairs_total, res->stats.reduction);
	}
	for (size_t k = 0; k < nown; k++)
		if (!own_done[k])
			unl[s->own.lab[k]]++;
	/* The count list: one tuple per link, with our category. */
	if ((rv = udc_blist_reserve(&c, ng)) != 0)
		goto out;
	for (size_t i = 0; i < ng; i++) {
		if (pair[i] < 0)
			continue;
		udc_hash_to_group(udc_blist_pt(&c, c.n, 0), s->rid, UDC_KEY_HANDLE,
		    (const char *)udc_blist_ext(&s->gl, i), 32);
		c.lab[c.n++] = s->own.lab[pair[i]];
	}
	if ((rv = udc_blist_blind(&c, s->b, cb->n->wq)) != 0)
		goto out;
	if (spec->pad == UDC_PAD_MAX && (rv = udc_blist_pad(&c, ncats, dummies)) != 0)
		goto out;
	udc_blist_shuffle(&c);
	rv = 0;
out:
	pthread_mutex_lock(&s->mtx);
	s->link_busy = 0;
	if (s->state != SS_LINK) {
		/* failed meanwhile */
		udc_blist_free(&c);
		sess_release_data(s);
	} else if (rv != 0) {
		udc_blist_free(&c);
		sess_fail(cb, s, "%s", why[0] ? why : udc_strerror(rv));
		sess_release_data(s);
	} else {
		size_t per = (cb->n->cfg->max_message - 4096) / (32 + 2);
		memcpy(s->exact_links, exact, sizeof(exact));
		memcpy(s->fuzzy_bands, bands, sizeof(bands));
		memcpy(s->band_lo, lo, sizeof(lo));
		s->fuzzy_links = fz;
		s->own_unlinked = unl;
		unl = NULL;
		s->dummies = dummies;
		dummies = NULL;
		s->c = c;
		s->c_sent = c.n;
		s->c_chunk = cb->n->cfg->chunk_records < per ? cb->n->cfg->chunk_records : per;
		if (s->c_chunk > UDC_MAX_CHUNK_RECORDS)
			s->c_chunk = UDC_MAX_CHUNK_RECORDS;
		s->c_chunks = (uint32_t)(c.n ? (c.n + s->c_chunk - 1) / s->c_chunk : 1);
		/* The count phase runs as in exact mode, on one key: the handle. */
		s->g_expected = ng;
		udc_blist_init(&s->g, 1, ng);
		udc_blist_init(&s->r, 1, (size_t)CBS_MAX_RECORDS);
		udc_blist_free(&s->gl);
		udc_blist_free(&s->own);
		udc_blist_free(&s->ownx);
		s->linked = 1;
		s->state = SS_UPLOAD;
		udc_rounds_update(cb->n->rounds, s->idhex, NULL, "upload", 0, NULL);
	}
	pthread_mutex_unlock(&s->mtx);
	udc_fuzzy_result_free(res);
	free(pair);
	free(own_done);
	free(ia);
	free(ib);
	free(wa);
	free(wb);
	free(dummies);
	free(unl);
	sess_put(cb, s);
	return NULL;
}

static void ack(struct reply *rp, Udc__Ack *a, uint32_t index, uint64_t total);

static void
handle_l_chunk(struct cbs *cb, struct session *s, const Udc__LinkChunk *lc, struct reply *rp,
    Udc__Ack *a)
{
	size_t n = lc->n, nk = s->spec->nkeys;
	int rv;

	if (s->state != SS_LINK) {
		reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "l_chunk not allowed in state %s",
		    state_name(s->state));
		return;
	}
	if (lc->index < s->l_next) {
		ack(rp, a, lc->index, s->gl.n);
		return;
	}
	if (s->l_done || lc->index > s->l_next) {
		reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "chunk %u out of order (expected %u)",
		    lc->index, s->l_next);
		return;
	}
	if (n > UDC_MAX_CHUNK_RECORDS || lc->nkeys != nk || lc->clk_bytes != s->clk_bytes ||
	    lc->handles.len != 32 * n || lc->clks.len != s->clk_bytes * n ||
	    lc->points.len != n * nk * 32 || (n == 0 && !lc->last)) {
		reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED,
		    "chunk %u: shape does not match the spec (%zu records, %zu keys, %zu-byte CLKs)",
		    lc->index, n, nk, s->clk_bytes);
		return;
	}
	if (nk && (rv = udc_blind_records(lc->points.data, n, nk, s->b, cb->n->wq)) != 0) {
		sess_fail(cb, s, "the gemeente sent an invalid group element in chunk %u", lc->index);
		reply_error(rp, UDC__ERROR_CODE__ERR_CRYPTO, "%s", s->error);
		return;
	}
	if ((rv = udc_blist_reserve(&s->gl, n)) != 0) {
		sess_fail(cb, s, "cannot store the gemeente's records: %s", udc_strerror(rv));
		reply_error(rp, UDC__ERROR_CODE__ERR_LIMIT, "%s", s->error);
		return;
	}
	for (size_t i = 0; i < n; i++) {
		uint8_t *e = udc_blist_ext(&s->gl, s->gl.n + i);
		memcpy(e, lc->handles.data + 32 * i, 32);
		memcpy(e + 32, lc->clks.data + s->clk_bytes * i, s->clk_bytes);
		s->gl.lab[s->gl.n + i] = 0;
	}
	if (nk)
		memcpy(udc_blist_pt(&s->gl, s->gl.n, 0), lc->points.data, n * nk * 32);
	s->gl.n += n;
	s->l_next++;
	if (lc->last) {
		if (s->gl.n == 0) {
			sess_fail(cb, s, "the gemeente sent no records");
			reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
			return;
		}
		s->l_done = 1;
		maybe_link(cb, s);
	}
	ack(rp, a, lc->index, s->gl.n);
}

/* Combined: our keys H(k)^b, in our order, for the gemeente to raise. */
static void
handle_fetch_own(struct session *s, const Udc__Fetch *f, struct reply *rp, Udc__Chunk *ch,
    uint8_t **labbuf)
{
	size_t from, n;

	if (s->state != SS_LINK || s->spec->mode != UDC_MODE_COMBINED || !s->own_ready || !s->l_done) {
		reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "fetch of phase 1 not allowed now");
		return;
	}
	if (f->index >= s->own_chunks) {
		reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "chunk %u of %u", f->index, s->own_chunks);
		return;
	}
	from = (size_t)f->index * s->own_chunk;
	n = s->own.n - from < s->own_chunk ? s->own.n - from : s->own_chunk;
	if ((*labbuf = calloc(2 * n + 1, 1)) == NULL) {
		reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "out of memory");
		return;
	}
	udc__chunk__init(ch);
	ch->index = f->index;
	ch->last = f->index + 1 == s->own_chunks;
	ch->n = (uint32_t)n;
	ch->nkeys = (uint32_t)s->own.nkeys;
	ch->points.data = n ? udc_blist_pt(&s->own, from, 0) : *labbuf;
	ch->points.len = n * s->own.nkeys * 32;
	ch->labels.data = *labbuf; /* no labels in phase 1: all zero */
	ch->labels.len = 2 * n;
	rp->env.body_case = UDC__ENVELOPE__BODY_C_CHUNK;
	rp->env.c_chunk = ch;
}

static void
handle_x_chunk(struct cbs *cb, struct session *s, const Udc__Chunk *ch, struct reply *rp, Udc__Ack *a)
{
	char why[256];
	size_t from, n;

	if (s->state != SS_LINK || s->spec->mode != UDC_MODE_COMBINED || !s->own_ready || !s->l_done) {
		reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "x_chunk not allowed now");
		return;
	}
	if (ch->index < s->x_next) {
		ack(rp, a, ch->index, 0);
		return;
	}
	if (s->x_done || ch->index != s->x_next) {
		reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "chunk %u out of order (expected %u)",
		    ch->index, s->x_next);
		return;
	}
	from = (size_t)ch->index * s->own_chunk;
	n = s->own.n - from < s->own_chunk ? s->own.n - from : s->own_chunk;
	if (udc_wire_check_chunk(ch, s->spec->nkeys, UDC_MAX_CHUNK_RECORDS, 1, why, sizeof(why)) != 0 ||
	    ch->n != n) {
		reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "chunk %u: %s", ch->index,
		    ch->n != n ? "wrong number of records" : why);
		return;
	}
	if (udc_points_valid(cb->n->wq, ch->points.data, n * s->spec->nkeys, NULL) != 0) {
		sess_fail(cb, s, "the gemeente returned an invalid group element in chunk %u", ch->index);
		reply_error(rp, UDC__ERROR_CODE__ERR_CRYPTO, "%s", s->error);
		return;
	}
	if (n)
		memcpy(udc_blist_pt(&s->ownx, from, 0), ch->points.data, n * s->spec->nkeys * 32);
	s->x_next++;
	if (s->x_next == s->own_chunks) {
		s->x_done = 1;
		maybe_link(cb, s);
	}
	ack(rp, a, ch->index, 0);
}

/* Records a refused proposal in the register so the operator sees it here too. */
static void
note_refusal(struct cbs *cb, const char *idhex, const char *hex, const char *reason)
{
	struct udc_audit_field f[] = { UDC_AUDIT_S("round", idhex), UDC_AUDIT_S("spec_hash", hex),
		UDC_AUDIT_S("peer", cb->n->peer_fpr), UDC_AUDIT_S("reason", reason) };

	if (udc_rounds_add(cb->n->rounds, idhex, hex, "failed") == 0)
		udc_rounds_update(cb->n->rounds, idhex, "failed", "propose", 0, reason);
	log_warnx("round %s refused: %s", idhex, reason);
	udc_node_audit(cb->n, UDC_AUDIT_ROUND_REFUSED, f, UDC_AUDIT_NFIELDS(f));
}

double
cbs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
cbs_note_unrecorded_refusals(struct cbs *cb, uint64_t n)
{
	struct udc_audit_field f[] = { UDC_AUDIT_I("count", n) };

	if (n == 0)
		return;
	log_warnx("%llu more peer messages refused, beyond %d at once and %.0f per second: "
	    "counted, not recorded one by one", (unsigned long long)n, CBS_REFUSAL_BURST,
	    CBS_REFUSAL_RATE);
	udc_node_audit(cb->n, UDC_AUDIT_MESSAGES_REFUSED_UNRECORDED, f, UDC_AUDIT_NFIELDS(f));
}

static void
handle_propose(struct cbs *cb, const Udc__Envelope *req, struct reply *rp, Udc__ProposeReply *pr)
{
	const Udc__Propose *p = req->propose;
	struct udc_node *n = cb->n;
	struct session *s;
	struct udc_spec *spec = NULL;
	char idhex[33], hex[65] = "", err[256] = "", *text = NULL;
	uint8_t approval[UDC_SIGN_BYTES];

	udc_round_id_hex(req->round_id.data, idhex);
	udc__propose_reply__init(pr);
	pr->cbs_name = n->cfg->name;
	rp->env.body_case = UDC__ENVELOPE__BODY_PROPOSE_REPLY;
	rp->env.propose_reply = pr;

	if ((s = sess_get(cb, req->round_id.data)) != NULL) {
		/* A resent proposal: same answer as the first time. */
		pthread_mutex_lock(&s->mtx);
		if (s->state == SS_DONE) {
			reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
			    "round %s already ran on this node (done)", idhex);
		} else if (s->state == SS_FAILED) {
			reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
		} else if (p->spec_hash.len != 32 || memcmp(p->spec_hash.data, s->spec->hash, 32) != 0 ||
		    p->approval_sig.len != UDC_SIGN_BYTES ||
		    udc_sign_verify(&n->peer_pub, UDC_SIGN_APPROVAL, p->spec_hash.data, 32,
		    p->approval_sig.data) != 0) {
			reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
			    "round %s is already running under another proposal", idhex);
		} else {
			pr->accepted = 1;
			pr->approval_sig.data = s->approval_sig;
			pr->approval_sig.len = sizeof(s->approval_sig);
			if (s->fuzzy) {
				pr->kx_public.data = s->kx_pub;
				pr->kx_public.len = sizeof(s->kx_pub);
			}
		}
		pthread_mutex_unlock(&s->mtx);
		sess_put(cb, s);
		return;
	}
	{
		/* A round id this node has seen before (its session is gone, its
		 * record is not): a replay, or a confused gemeente.  Never a
		 * second computation under the same id. */
		struct udc_round old;
		if (udc_rounds_get(n->rounds, idhex, &old) == 0) {
			reply_error(rp, UDC__ERROR_CODE__ERR_REFUSED,
			    "round %s already ran on this node (%s)", idhex, old.state);
			return;
		}
	}
	if (p->spec_hash.len != 32) {
		reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "spec hash of %zu bytes", p->spec_hash.len);
		return;
	}
	udc_round_id_hex(p->spec_hash.data, hex);          /* first 16 bytes */
	udc_round_id_hex(p->spec_hash.data + 16, hex + 32); /* last 16 bytes */
	if (!udc_store_is_approved(n->cfg->state_dir, hex)) {
		snprintf(rp->reason, sizeof(rp->reason),
		    "spec %s is not approved at the CBS node %s (the nodes must approve the same spec)",
		    hex, n->cfg->name);
		goto refuse;
	}
	if (udc_approval_load(n, hex, approval) != 0) {
		snprintf(rp->reason, sizeof(rp->reason),
		    "the CBS node's approval of spec %s is missing or not signed by its key %s", hex,
		    n->self_fpr);
		goto refuse;
	}
	if (p->approval_sig.len != UDC_SIGN_BYTES ||
	    udc_sign_verify(&n->peer_pub, UDC_SIGN_APPROVAL, p->spec_hash.data, 32,
	    p->approval_sig.data) != 0) {
		snprintf(rp->reason, sizeof(rp->reason),
		    "the gemeente's approval of spec %s is not signed by its pinned key %s", hex,
		    n->peer_fpr);
		goto refuse;
	}
	if (udc_spec_load_approved(n->cfg->state_dir, hex, &spec, err, sizeof(err)) != 0) {
		snprintf(rp->reason, sizeof(rp->reason), "the approved copy of spec %s cannot be used: %.200s",
		    hex, err);
		goto refuse;
	}
	if (udc_spec_fuzzy(spec) && p->kx_public.len != 32) {
		snprintf(rp->reason, sizeof(rp->reason), "a %s round needs the gemeente's key for the "
		    "round secret", spec->mode == UDC_MODE_FUZZY ? "fuzzy" : "combined");
		goto refuse;
	}
	if (!udc_spec_fuzzy(spec) && (p->g_records == 0 || p->g_records > CBS_MAX_RECORDS)) {
		snprintf(rp->reason, sizeof(rp->reason), "%llu gemeente records: outside 1..%llu",
		    (unsigned long long)p->g_records, (unsigned long long)CBS_MAX_RECORDS);
		goto refuse;
	}
	{
		struct udc_input_opts io;
		const char *dim = udc_node_input_opts(n, spec, UDC_SIDE_CBS, &io);
		if (dim != NULL) {
			snprintf(rp->reason, sizeof(rp->reason),
			    "the CBS node maps no column for category '%s' ([labels] in %s)", dim,
			    n->cfg->path);
			goto refuse;
		}
	}
	if ((s = calloc(1, sizeof(*s))) == NULL) {
		snprintf(rp->reason, sizeof(rp->reason), "out of memory");
		goto refuse;
	}
	pthread_mutex_init(&s->mtx, NULL);
	memcpy(s->rid, req->round_id.data, 16);
	memcpy(s->idhex, idhex, sizeof(idhex));
	memcpy(s->spec_hex, hex, sizeof(hex));
	snprintf(s->gname, sizeof(s->gname), "%s", p->gemeente_name ? p->gemeente_name : "gemeente");
	s->spec = spec;
	spec = NULL;
	s->state = SS_UPLOAD;
	s->started = s->last_seen = udc_now();
	s->g_expected = p->g_records;
	s->cnkeys = s->spec->nkeys;
	s->fuzzy = udc_spec_fuzzy(s->spec);
	memcpy(s->approval_sig, approval, sizeof(approval));
	if (p->input_digest.len == 32)
		memcpy(s->g_digest, p->input_digest.data, 32);
	udc_transcript_init(&s->tx);
	if (udc_scalar_new(&s->b) != 0 || (s->fuzzy && fuzzy_setup(s, p, err, sizeof(err)) != 0)) {
		sess_free(s);
		snprintf(rp->reason, sizeof(rp->reason), "cannot set up the round: %.200s", err);
		goto refuse;
	}
	if (!s->fuzzy) {
		udc_blist_init(&s->g, s->spec->nkeys, (size_t)p->g_records);
		udc_blist_init(&s->r, s->spec->nkeys, (size_t)CBS_MAX_RECORDS);
	}
	pthread_mutex_lock(&cb->mtx);
	s->next = cb->sessions;
	cb->sessions = s;
	pthread_mutex_unlock(&cb->mtx);
	udc_rounds_add(n->rounds, idhex, hex, "running");
	udc_rounds_update(n->rounds, idhex, "running", s->fuzzy ? "link" : "upload", 0, NULL);
	s->prep_started = 1;
	if (spawn(cb, s, s->fuzzy ? lprep_thread : prep_thread) != 0) {
		pthread_mutex_lock(&s->mtx);
		s->prep_done = 1;
		sess_fail(cb, s, "cannot start the preparation thread");
		pthread_mutex_unlock(&s->mtx);
	}
	log_info("round %s accepted: spec '%s' %s (%s mode)", idhex, s->spec->name, hex,
	    s->fuzzy ? (s->spec->mode == UDC_MODE_FUZZY ? "fuzzy" : "combined") : "exact");
	pr->accepted = 1;
	pr->approval_sig.data = s->approval_sig;
	pr->approval_sig.len = sizeof(s->approval_sig);
	if (s->fuzzy) {
		pr->kx_public.data = s->kx_pub;
		pr->kx_public.len = sizeof(s->kx_pub);
	}
	{
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", idhex), UDC_AUDIT_S("spec_hash", hex),
			UDC_AUDIT_S("peer", n->peer_fpr), UDC_AUDIT_S("peer_name", s->gname) };
		udc_node_audit(n, UDC_AUDIT_ROUND_PROPOSED, f, UDC_AUDIT_NFIELDS(f));
	}
	free(text);
	return;
refuse:
	pr->accepted = 0;
	pr->reason = rp->reason;
	note_refusal(cb, idhex, hex[0] ? hex : "-", rp->reason);
	udc_spec_free(spec);
	free(text);
}

static void
ack(struct reply *rp, Udc__Ack *a, uint32_t index, uint64_t total)
{
	udc__ack__init(a);
	a->index = index;
	a->total = total;
	rp->env.body_case = UDC__ENVELOPE__BODY_ACK;
	rp->env.ack = a;
}

/* Shared by both uploads: sequence, shape, labels. Caller holds s->mtx.
 * Returns 1 to process, 0 when rp already holds the answer. */
static int
chunk_gate(struct session *s, const Udc__Chunk *ch, uint32_t next, int done, size_t nlabels,
    struct reply *rp, Udc__Ack *a, uint64_t total)
{
	char why[256];

	if (ch->index < next) {
		ack(rp, a, ch->index, total); /* a resend: already done */
		return 0;
	}
	if (done || ch->index > next) {
		reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "chunk %u out of order (expected %u)",
		    ch->index, next);
		return 0;
	}
	if (udc_wire_check_chunk(ch, s->cnkeys, UDC_MAX_CHUNK_RECORDS, nlabels, why, sizeof(why))) {
		reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "%s", why);
		return 0;
	}
	return 1;
}

static void
handle_g_chunk(struct cbs *cb, struct session *s, const Udc__Chunk *ch, struct reply *rp, Udc__Ack *a)
{
	uint16_t lab[UDC_MAX_CHUNK_RECORDS];
	int rv;

	if (s->state != SS_UPLOAD) {
		reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "g_chunk not allowed in state %s",
		    state_name(s->state));
		return;
	}
	if (!chunk_gate(s, ch, s->g_next, s->g_done, s->spec->ncells[0], rp, a, s->g.n))
		return;
	/* The whole list at once, exactly: growing by doubling would hold
	 * up to twice the memory at the moment of a reallocation. */
	if (s->g.cap < s->g_expected && udc_blist_reserve(&s->g, (size_t)s->g_expected) != 0) {
		sess_fail(cb, s, "cannot hold %llu gemeente records", (unsigned long long)s->g_expected);
		reply_error(rp, UDC__ERROR_CODE__ERR_LIMIT, "%s", s->error);
		return;
	}
	if (s->g.n + ch->n > s->g_expected) {
		reply_error(rp, UDC__ERROR_CODE__ERR_LIMIT, "more records than the %llu proposed",
		    (unsigned long long)s->g_expected);
		return;
	}
	if ((rv = udc_blind_records(ch->points.data, ch->n, ch->nkeys, s->b, cb->n->wq)) != 0) {
		sess_fail(cb, s, "the gemeente sent an invalid group element in chunk %u", ch->index);
		reply_error(rp, UDC__ERROR_CODE__ERR_CRYPTO, "%s", s->error);
		return;
	}
	for (uint32_t i = 0; i < ch->n; i++)
		lab[i] = udc_wire_label(ch, i);
	if ((rv = udc_blist_append(&s->g, ch->points.data, lab, ch->n)) != 0) {
		sess_fail(cb, s, "cannot store the gemeente's tuples: %s", udc_strerror(rv));
		reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "%s", s->error);
		return;
	}
	s->g_next++;
	if (ch->last) {
		if (s->g.n != s->g_expected) {
			sess_fail(cb, s, "the gemeente sent %zu records, proposed %llu", s->g.n,
			    (unsigned long long)s->g_expected);
			reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
			return;
		}
		s->g_done = 1;
		maybe_wipe_b(s);
	}
	udc_rounds_update(cb->n->rounds, s->idhex, NULL, NULL,
	    (unsigned)(s->g.n * 1000 / (s->g_expected ? s->g_expected : 1)), NULL);
	ack(rp, a, ch->index, s->g.n);
}

static void
handle_status(struct session *s, struct reply *rp, Udc__StatusReply *sr)
{
	udc__status_reply__init(sr);
	sr->linked = !s->fuzzy || s->linked;
	if (s->state == SS_LINK) {
		sr->link_ready = s->own_ready && s->l_done;
		sr->own_chunks = sr->link_ready ? s->own_chunks : 0;
		sr->own_records = sr->link_ready ? s->own.n : 0;
		rp->env.body_case = UDC__ENVELOPE__BODY_STATUS_REPLY;
		rp->env.status_reply = sr;
		return;
	}
	sr->ready = s->prep_done && s->g_done;
	sr->c_records = sr->ready ? s->c.n : 0;
	sr->c_chunks = sr->ready ? s->c_chunks : 0;
	sr->progress = s->prep_progress;
	rp->env.body_case = UDC__ENVELOPE__BODY_STATUS_REPLY;
	rp->env.status_reply = sr;
}

static void
handle_fetch(struct session *s, const Udc__Fetch *f, struct reply *rp, Udc__Chunk *ch,
    uint8_t **labbuf)
{
	size_t from, n;

	if (s->state != SS_UPLOAD || !s->g_done || !s->prep_done) {
		reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "fetch not allowed before the upload is complete");
		return;
	}
	if (f->index >= s->c_chunks) {
		reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "chunk %u of %u", f->index, s->c_chunks);
		return;
	}
	from = (size_t)f->index * s->c_chunk;
	n = s->c.n - from < s->c_chunk ? s->c.n - from : s->c_chunk;
	if ((*labbuf = malloc(2 * n + 1)) == NULL) {
		reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "out of memory");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		(*labbuf)[2 * i] = (uint8_t)(s->c.lab[from + i] & 0xff);
		(*labbuf)[2 * i + 1] = (uint8_t)(s->c.lab[from + i] >> 8);
	}
	udc__chunk__init(ch);
	ch->index = f->index;
	ch->last = f->index + 1 == s->c_chunks;
	ch->n = (uint32_t)n;
	ch->nkeys = (uint32_t)s->c.nkeys;
	ch->points.data = n ? udc_blist_pt(&s->c, from, 0) : *labbuf;
	ch->points.len = n * s->c.nkeys * 32;
	ch->labels.data = *labbuf;
	ch->labels.len = 2 * n;
	rp->env.body_case = UDC__ENVELOPE__BODY_C_CHUNK;
	rp->env.c_chunk = ch;
}

static void
handle_r_chunk(struct cbs *cb, struct session *s, const Udc__Chunk *ch, struct reply *rp, Udc__Ack *a)
{
	uint16_t lab[UDC_MAX_CHUNK_RECORDS];
	int rv;

	if (s->state == SS_UPLOAD && s->g_done && s->prep_done) {
		s->state = SS_RETURN;
		udc_rounds_update(cb->n->rounds, s->idhex, NULL, "return", 0, NULL);
	}
	if (s->state != SS_RETURN) {
		reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "r_chunk not allowed in state %s",
		    state_name(s->state));
		return;
	}
	if (!chunk_gate(s, ch, s->r_next, s->r_done, s->spec->ncells[1], rp, a, s->r.n))
		return;
	if (s->r.n + ch->n > s->c_sent) {
		reply_error(rp, UDC__ERROR_CODE__ERR_LIMIT, "more records back than the %zu sent", s->c_sent);
		return;
	}
	if (s->r.cap < s->c_sent && udc_blist_reserve(&s->r, s->c_sent) != 0) {
		sess_fail(cb, s, "cannot hold the %zu returned tuples", s->c_sent);
		reply_error(rp, UDC__ERROR_CODE__ERR_LIMIT, "%s", s->error);
		return;
	}
	if (udc_points_valid(cb->n->wq, ch->points.data, (size_t)ch->n * ch->nkeys, NULL) != 0) {
		sess_fail(cb, s, "the gemeente returned an invalid group element in chunk %u", ch->index);
		reply_error(rp, UDC__ERROR_CODE__ERR_CRYPTO, "%s", s->error);
		return;
	}
	/* Every fetch is answered once the first tuple comes back: our singly
	 * blinded list is not needed any more. */
	udc_blist_free(&s->c);
	for (uint32_t i = 0; i < ch->n; i++)
		lab[i] = udc_wire_label(ch, i);
	if ((rv = udc_blist_append(&s->r, ch->points.data, lab, ch->n)) != 0) {
		sess_fail(cb, s, "cannot store the returned tuples: %s", udc_strerror(rv));
		reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "%s", s->error);
		return;
	}
	s->r_next++;
	if (ch->last) {
		if (s->r.n != s->c_sent) {
			sess_fail(cb, s, "the gemeente returned %zu records of %zu", s->r.n, s->c_sent);
			reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
			return;
		}
		s->r_done = 1;
		udc_blist_free(&s->c); /* the singly blinded list is not needed any more */
	}
	udc_rounds_update(cb->n->rounds, s->idhex, NULL, NULL,
	    (unsigned)(s->r.n * 1000 / (s->c_sent ? s->c_sent : 1)), NULL);
	ack(rp, a, ch->index, s->r.n);
}

/* Disclosure control of the counted table, in place: the same question on
 * the same data gets the stored release (never a fresh noisy draw); a
 * population within min_cell persons of an earlier release of this spec is
 * refused (differencing); otherwise suppression (primary and secondary),
 * noise charged to the privacy budget, and rounding, and the release is
 * remembered. */
static int
release_control(struct cbs *cb, struct session *s, struct udc_table **tp, char *note, size_t notelen,
    char *why, size_t whylen)
{
	const struct udc_spec *spec = s->spec;
	struct udc_disclosure_params dp;
	struct udc_disclosure_report rep;
	struct udc_table *stored = NULL;
	crypto_hash_sha256_state st;
	uint8_t pop[32];
	uint64_t size = s->g_expected + s->cst.accepted;
	char ledger[4096], reason[256];
	int rv;

	/* The population: both input files, by digest. */
	crypto_hash_sha256_init(&st);
	crypto_hash_sha256_update(&st, s->g_digest, 32);
	crypto_hash_sha256_update(&st, s->input_digest, 32);
	crypto_hash_sha256_final(&st, pop);
	if (udc_releases_lookup(cb->releases, spec->hash, pop, &stored) == 0) {
		if (stored->ngroups != (*tp)->ngroups || stored->ncats != (*tp)->ncats) {
			udc_table_free(stored);
			snprintf(why, whylen, "the stored release of this spec has another shape");
			return UDC_EPARSE;
		}
		udc_table_free(*tp);
		*tp = stored;
		snprintf(note, notelen, "the same spec on the same data was released before: the stored "
		    "release is returned, no new computation is released");
		return 0;
	}
	if ((rv = udc_releases_check(cb->releases, spec->hash, pop, size, UDC_SYMDIFF_UNKNOWN,
	    spec->min_cell, reason, sizeof(reason))) != 0) {
		snprintf(why, whylen, "differencing control: %.200s", reason);
		return rv;
	}
	memset(&dp, 0, sizeof(dp));
	dp.min_cell = spec->min_cell;
	dp.round_base = spec->round_base;
	dp.eps_num = spec->eps_num;
	dp.eps_den = spec->eps_den ? spec->eps_den : 1;
	snprintf(ledger, sizeof(ledger), "%s/privacy-ledger", cb->n->cfg->state_dir);
	dp.ledger_path = ledger;
	dp.budget.num = spec->budget_num;
	dp.budget.den = spec->budget_den;
	/* The budget protects CBS's microdata: it is charged per CBS input
	 * (and spec), so rounds with ever other gemeente lists against the
	 * same CBS data spend one budget.  The release store, above, keys on
	 * both inputs: the same question on the same data is answered from it. */
	memcpy(dp.population, s->input_digest, 32);
	memcpy(dp.spec_hash, spec->hash, 32);
	if ((rv = udc_disclose(*tp, &dp, &rep)) != 0) {
		const char *what = udc_strerror(rv);
		struct udc_ledger *lg = NULL;
		if (rv == UDC_EREFUSED) {
			what = "a suppressed entry cannot be protected by further suppression";
			if (spec->eps_num && udc_ledger_open(&lg, ledger) == 0) {
				struct udc_rational spent;
				udc_ledger_spent(lg, s->input_digest, spec->hash, &spent);
				/* spent + 2 eps > budget, in integers */
				unsigned __int128 lhs = (unsigned __int128)spent.num * dp.eps_den * dp.budget.den +
				    (unsigned __int128)2 * dp.eps_num * spent.den * dp.budget.den;
				unsigned __int128 rhs = (unsigned __int128)dp.budget.num * spent.den * dp.eps_den;
				if (lhs > rhs)
					what = "the privacy budget of this spec on this CBS data is spent";
				udc_ledger_close(lg);
			}
		}
		snprintf(why, whylen, "disclosure control refused the release: %s", what);
		return rv;
	}
	if ((rv = udc_releases_record(cb->releases, spec->hash, pop, size, *tp)) != 0) {
		snprintf(why, whylen, "cannot record the release: %s", udc_strerror(rv));
		return rv;
	}
	snprintf(note, notelen, "%zu suppressed under min_cell %u, %zu more to protect them%s%s",
	    rep.primary, spec->min_cell, rep.secondary,
	    spec->round_base ? ", counts rounded at random to a multiple of the base" : "",
	    spec->eps_num ? ", discrete Laplace noise charged to the privacy budget" : "");
	return 0;
}

/* Links, counts, applies disclosure control, stores the release.  The
 * result is kept packed so that a resent Finish gets the same table. */
static int
compute_result(struct cbs *cb, struct session *s, const Udc__Finish *fin, char *why, size_t whylen)
{
	struct udc_table *t = NULL;
	struct udc_result_meta m;
	Udc__Result res = UDC__RESULT__INIT;
	Udc__InputReport crep = UDC__INPUT_REPORT__INIT;
	char *json = NULL, *csv = NULL, rel[96];
	size_t csvlen;
	int rv;

	memset(&m, 0, sizeof(m));
	if ((rv = udc_report_from_proto(fin->gemeente_input, s->spec->nkeys, &m.g, why, whylen)) != 0)
		return rv;
	if ((rv = udc_table_new(&t, s->spec->ncells[0], s->spec->ncells[1])) != 0)
		goto out;
	if ((rv = udc_link_count(&s->g, &s->r, s->dummies, t, m.links_per_key)) != 0) {
		snprintf(why, whylen, "linkage failed: %s", udc_strerror(rv));
		goto out;
	}
	if (s->fuzzy) {
		/* The count ran on handles: links come from phase 1, and our
		 * records that phase 1 left unlinked are counted here. */
		for (size_t c = 0; c < t->ncats; c++)
			t->c_unlinked[c] += s->own_unlinked[c];
		memcpy(m.links_per_key, s->exact_links, sizeof(m.links_per_key));
		m.fuzzy_links = s->fuzzy_links;
		memcpy(m.fuzzy_bands, s->fuzzy_bands, sizeof(m.fuzzy_bands));
		memcpy(m.band_lo, s->band_lo, sizeof(m.band_lo));
	}
	if ((rv = release_control(cb, s, &t, m.release_note, sizeof(m.release_note), why, whylen)) != 0)
		goto out;
	m.suppressed = udc_table_suppressed(t);
	snprintf(m.round_id, sizeof(m.round_id), "%s", s->idhex);
	snprintf(m.spec_hash, sizeof(m.spec_hash), "%s", s->spec_hex);
	m.spec = s->spec;
	m.started = s->started;
	m.finished = udc_now();
	snprintf(m.gemeente_name, sizeof(m.gemeente_name), "%s", s->gname);
	snprintf(m.cbs_name, sizeof(m.cbs_name), "%s", cb->n->cfg->name);
	m.c = s->cst;
	if ((json = udc_result_json(&m, t)) == NULL || udc_result_csv(t, s->spec, &csv, &csvlen) != 0) {
		rv = UDC_ENOMEM;
		snprintf(why, whylen, "cannot format the result");
		goto out;
	}
	snprintf(rel, sizeof(rel), "rounds/%s/result.csv", s->idhex);
	if ((rv = udc_store_write(cb->n->cfg->state_dir, rel, csv, csvlen)) == 0) {
		snprintf(rel, sizeof(rel), "rounds/%s/result.json", s->idhex);
		rv = udc_store_write(cb->n->cfg->state_dir, rel, json, strlen(json));
	}
	if (rv != 0) {
		snprintf(why, whylen, "cannot store the result: %s", udc_strerror(rv));
		goto out;
	}
	{
		uint8_t sd[80];
		char line[160], hex[65];
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", s->idhex),
			UDC_AUDIT_S("result_sha256", hex), UDC_AUDIT_S("signer", cb->n->self_fpr),
			UDC_AUDIT_I("suppressed", (int64_t)m.suppressed),
			UDC_AUDIT_I("min_cell", s->spec->min_cell) };
		udc_result_sigdata(s->rid, s->spec->hash, csv, csvlen, sd);
		if ((rv = udc_sign(cb->n->sk, UDC_SIGN_RESULT, sd, sizeof(sd), s->result_sig)) != 0) {
			snprintf(why, whylen, "cannot sign the result");
			goto out;
		}
		udc_hex(sd + 48, 32, hex);
		snprintf(line, sizeof(line), "signed by this node (CBS), key %s\n", cb->n->self_fpr);
		snprintf(rel, sizeof(rel), "rounds/%s/signer.txt", s->idhex);
		udc_store_write(cb->n->cfg->state_dir, rel, line, strlen(line));
		udc_node_audit(cb->n, UDC_AUDIT_RESULT_RELEASED, f, UDC_AUDIT_NFIELDS(f));
	}
	udc_table_to_result(t, &res);
	res.result_sig.data = s->result_sig;
	res.result_sig.len = sizeof(s->result_sig);
	res.release_note = m.release_note;
	res.min_cell = s->spec->min_cell;
	res.n_links_per_key = s->spec->nkeys;
	res.links_per_key = m.links_per_key;
	res.fuzzy_links = m.fuzzy_links;
	if (s->fuzzy) {
		res.n_fuzzy_bands = 4;
		res.fuzzy_bands = m.fuzzy_bands;
		res.n_fuzzy_band_lo = 5;
		res.fuzzy_band_lo = m.band_lo;
	}
	if ((rv = udc_report_to_proto(&s->cst, s->spec->nkeys, &crep)) != 0)
		goto out;
	res.cbs_input = &crep;
	s->result_len = udc__result__get_packed_size(&res);
	if ((s->result = malloc(s->result_len ? s->result_len : 1)) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	udc__result__pack(&res, s->result);
	{
		unsigned long long links = 0;
		for (size_t j = 0; j < s->spec->nkeys; j++)
			links += m.links_per_key[j];
		log_info("round %s: %llu links, %zu entries suppressed (min_cell %u)", s->idhex, links,
		    m.suppressed, s->spec->min_cell);
	}
out:
	udc_report_proto_free(&crep);
	free(json);
	free(csv);
	udc_table_free(t);
	return rv;
}

static void
handle_finish(struct cbs *cb, struct session *s, const Udc__Finish *fin, struct reply *rp,
    Udc__Result **resp)
{
	char why[256] = "";

	if (s->state == SS_RETURN && s->r_done && s->result == NULL) {
		udc_rounds_update(cb->n->rounds, s->idhex, NULL, "counting", 0, NULL);
		if (compute_result(cb, s, fin, why, sizeof(why)) != 0) {
			sess_fail(cb, s, "%s", why[0] ? why : "counting failed");
			reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
			return;
		}
		s->state = SS_DONE;
		sess_release_data(s);
		udc_rounds_update(cb->n->rounds, s->idhex, "done", "done", 1000, NULL);
	}
	if (s->state != SS_DONE || s->result == NULL) {
		reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "finish not allowed in state %s",
		    state_name(s->state));
		return;
	}
	*resp = udc__result__unpack(NULL, s->result_len, s->result);
	if (*resp == NULL) {
		reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "stored result unreadable");
		return;
	}
	rp->env.body_case = UDC__ENVELOPE__BODY_RESULT;
	rp->env.result = *resp;
}

/* Both nodes sign the transcript hash; each records the other's signed
 * audit head.  A resent Seal gets the same answer. */
static void
handle_seal(struct cbs *cb, struct session *s, const Udc__Seal *sl, struct reply *rp, Udc__Seal *out)
{
	struct udc_node *n = cb->n;
	struct udc_audit_signed_head peer;
	uint8_t th[32], sd[48];
	char hex[65], json[512], rel[96];
	int rv;

	if (s->state != SS_DONE) {
		reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "seal not allowed in state %s",
		    state_name(s->state));
		return;
	}
	if (!s->sealed) {
		udc_transcript_hash(&s->tx, th);
		memcpy(sd, s->rid, 16);
		memcpy(sd + 16, th, 32);
		udc_hex(th, 32, hex);
		if (sl->transcript_hash.len != 32 || memcmp(sl->transcript_hash.data, th, 32) != 0) {
			struct udc_audit_field f[] = { UDC_AUDIT_S("round", s->idhex),
				UDC_AUDIT_S("transcript_sha256", hex), UDC_AUDIT_S("problem", "mismatch") };
			udc_node_audit(n, "transcript", f, UDC_AUDIT_NFIELDS(f));
			udc_rounds_update(n->rounds, s->idhex, NULL, NULL, 1000,
			    "transcript mismatch: the gemeente saw other messages than this node");
			reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "transcript mismatch");
			return;
		}
		if (sl->transcript_sig.len != UDC_SIGN_BYTES ||
		    udc_sign_verify(&n->peer_pub, UDC_SIGN_TRANSCRIPT, sd, sizeof(sd),
		    sl->transcript_sig.data) != 0) {
			reply_error(rp, UDC__ERROR_CODE__ERR_CRYPTO,
			    "the transcript signature does not verify against the gemeente's key %s",
			    n->peer_fpr);
			return;
		}
		if (sl->audit_hash.len != 32 || sl->audit_sig.len != UDC_SIGN_BYTES) {
			reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "seal without a signed audit head");
			return;
		}
		peer.seq = sl->audit_seq;
		memcpy(peer.hash, sl->audit_hash.data, 32);
		memcpy(peer.sig, sl->audit_sig.data, UDC_SIGN_BYTES);
		if ((rv = udc_audit_peer_head(n->audit, "gemeente", &n->peer_pub, &peer)) != 0) {
			reply_error(rp, UDC__ERROR_CODE__ERR_CRYPTO, "the gemeente's audit head is %s",
			    rv == UDC_EPEER ? "behind or forked from one it signed before"
			                    : "not validly signed");
			return;
		}
		if (udc_sign(n->sk, UDC_SIGN_TRANSCRIPT, sd, sizeof(sd), s->seal_sig) != 0 ||
		    udc_audit_checkpoint(n->audit, &s->seal_head) != 0) {
			reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "cannot sign the transcript");
			return;
		}
		memcpy(s->seal_hash, th, 32);
		s->sealed = 1;
		/* The round is over: its scalar and encoding keys must be gone.
		 * (Counts all rounds; the tests run one at a time.) */
		log_info("round %s sealed: %ld secrets in locked memory after the round", s->idhex,
		    udc_secmem_live());
		snprintf(json, sizeof(json), "{\"transcript_sha256\": \"%s\", \"gemeente_key\": \"%s\", "
		    "\"cbs_key\": \"%s\", \"both_signed\": true}\n", hex, n->peer_fpr, n->self_fpr);
		snprintf(rel, sizeof(rel), "rounds/%s/transcript.json", s->idhex);
		udc_store_write(n->cfg->state_dir, rel, json, strlen(json));
	}
	udc__seal__init(out);
	out->transcript_hash.data = s->seal_hash;
	out->transcript_hash.len = 32;
	out->transcript_sig.data = s->seal_sig;
	out->transcript_sig.len = UDC_SIGN_BYTES;
	out->audit_seq = s->seal_head.seq;
	out->audit_hash.data = s->seal_head.hash;
	out->audit_hash.len = 32;
	out->audit_sig.data = s->seal_head.sig;
	out->audit_sig.len = UDC_SIGN_BYTES;
	rp->env.body_case = UDC__ENVELOPE__BODY_SEAL;
	rp->env.seal = out;
}

void
cbs_handle(struct cbs *cb, const uint8_t *data, size_t len, nng_msg **out)
{
	Udc__Envelope *req = NULL;
	struct reply rp;
	struct session *s = NULL;
	Udc__ProposeReply pr;
	Udc__Ack a;
	Udc__StatusReply sr;
	Udc__Chunk ch;
	Udc__Result *res = NULL;
	Udc__Seal seal;
	uint8_t *labbuf = NULL, *buf = NULL;
	size_t blen;
	char why[256], idhex[33] = "-";
	uint8_t bad_rid[16];

	*out = NULL;
	if (udc_wire_decode(data, len, &req, why, sizeof(why)) != 0) {
		uint64_t bad_reqid;
		uint32_t code;
		int have_rid;
		reply_init(&rp, NULL);
		if (udc_wire_decode_ids(data, len, &bad_reqid, bad_rid, &have_rid, &code)) {
			rp.env.request_id = bad_reqid;
			if (have_rid) {
				rp.env.round_id.data = bad_rid;
				udc_round_id_hex(bad_rid, idhex);
			}
		}
		reply_error(&rp, code, "%s", why);
		goto send; /* logged and audited there, within the rate limit */
	}
	reply_init(&rp, req);
	udc_round_id_hex(req->round_id.data, idhex);
	if (req->body_case == UDC__ENVELOPE__BODY_PROPOSE) {
		handle_propose(cb, req, &rp, &pr);
		goto send;
	}
	if ((s = sess_get(cb, req->round_id.data)) == NULL) {
		reply_error(&rp, UDC__ERROR_CODE__ERR_UNKNOWN_ROUND, "round %s is not known at the CBS node",
		    idhex);
		goto send;
	}
	pthread_mutex_lock(&s->mtx);
	s->last_seen = udc_now();
	if (s->state == SS_FAILED && req->body_case != UDC__ENVELOPE__BODY_ABORT) {
		reply_error(&rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
	} else {
		switch (req->body_case) {
		case UDC__ENVELOPE__BODY_G_CHUNK: handle_g_chunk(cb, s, req->g_chunk, &rp, &a); break;
		case UDC__ENVELOPE__BODY_STATUS: handle_status(s, &rp, &sr); break;
		case UDC__ENVELOPE__BODY_FETCH:
			if (req->fetch->phase == 1)
				handle_fetch_own(s, req->fetch, &rp, &ch, &labbuf);
			else
				handle_fetch(s, req->fetch, &rp, &ch, &labbuf);
			break;
		case UDC__ENVELOPE__BODY_L_CHUNK: handle_l_chunk(cb, s, req->l_chunk, &rp, &a); break;
		case UDC__ENVELOPE__BODY_X_CHUNK: handle_x_chunk(cb, s, req->x_chunk, &rp, &a); break;
		case UDC__ENVELOPE__BODY_R_CHUNK: handle_r_chunk(cb, s, req->r_chunk, &rp, &a); break;
		case UDC__ENVELOPE__BODY_FINISH: handle_finish(cb, s, req->finish, &rp, &res); break;
		case UDC__ENVELOPE__BODY_SEAL: handle_seal(cb, s, req->seal, &rp, &seal); break;
		case UDC__ENVELOPE__BODY_ABORT:
			sess_fail(cb, s, "aborted by the gemeente: %.200s",
			    req->abort->reason ? req->abort->reason : "no reason given");
			ack(&rp, &a, 0, 0);
			break;
		default:
			reply_error(&rp, UDC__ERROR_CODE__ERR_MALFORMED, "%s is not a request",
			    udc_wire_body_name(req->body_case));
			break;
		}
	}
	pthread_mutex_unlock(&s->mtx);
send:
	if (rp.env.body_case == UDC__ENVELOPE__BODY_ERROR) {
		const char *type = req ? udc_wire_body_name(req->body_case) : "undecodable";
		struct udc_audit_field f[] = { UDC_AUDIT_S("round", idhex), UDC_AUDIT_S("type", type),
			UDC_AUDIT_S("reason", rp.reason) };
		uint64_t before = 0;
		int record;

		/* a flood of junk must not grow the audit log without bound */
		pthread_mutex_lock(&cb->refusal_mtx);
		record = udc_ratelimit_take(&cb->refusals, cbs_now(), &before);
		pthread_mutex_unlock(&cb->refusal_mtx);
		cbs_note_unrecorded_refusals(cb, before);
		if (record) {
			log_warnx("round %s: %s refused: %s", idhex, type, rp.reason);
			udc_node_audit(cb->n, UDC_AUDIT_MESSAGE_REFUSED, f, UDC_AUDIT_NFIELDS(f));
		}
	}
	if (udc_wire_encode(&rp.env, &buf, &blen) == 0 && nng_msg_alloc(out, blen) == 0) {
		memcpy(nng_msg_body(*out), buf, blen);
		/* The transcript: what this node received and answered, once per
		 * request id, exactly as the gemeente hashes what it sent and got. */
		if (req && rp.env.body_case != UDC__ENVELOPE__BODY_ERROR &&
		    udc_transcript_counts(req->body_case)) {
			if (s == NULL)
				s = sess_get(cb, req->round_id.data);
			if (s) {
				pthread_mutex_lock(&s->mtx);
				udc_transcript_add(&s->tx, req->request_id, data, len, buf, blen);
				pthread_mutex_unlock(&s->mtx);
			}
		}
	}
	if (s)
		sess_put(cb, s);
	free(buf);
	free(labbuf);
	if (res)
		udc__result__free_unpacked(res, NULL);
	udc_wire_free(req);
}

void
cbs_reap(struct cbs *cb, int all)
{
	struct session **pp, *s, *dead = NULL;
	long long now = udc_now();

	pthread_mutex_lock(&cb->mtx);
	for (pp = &cb->sessions; (s = *pp) != NULL;) {
		int drop = 0;
		if (s->refs == 0) {
			pthread_mutex_lock(&s->mtx);
			long long idle = now - s->last_seen;
			if (s->state == SS_DONE || s->state == SS_FAILED) {
				drop = all || idle > DONE_LINGER_S;
			} else if (all) {
				sess_fail(cb, s, "the CBS daemon stopped during the round");
				drop = 1;
			} else if (idle > cb->n->cfg->session_idle_s) {
				sess_fail(cb, s, "the gemeente went silent for %lld s", idle);
			}
			pthread_mutex_unlock(&s->mtx);
		}
		if (drop) {
			*pp = s->next;
			s->next = dead;
			dead = s;
		} else {
			pp = &s->next;
		}
	}
	pthread_mutex_unlock(&cb->mtx);
	while ((s = dead) != NULL) {
		dead = s->next;
		sess_free(s);
	}
}
