/*
 * link.c - fuzzy and combined modes, phase 1: the linkage before the count.
 *
 * The gemeente sends its records as random handles with CLKs (combined:
 * and H(k)^a, which we raise to b).  A thread reads and encodes our own
 * list meanwhile (cbs_link_prepare_thread).  In combined mode the gemeente
 * then raises our keys H(k)^b to a and returns them in our order.  Once
 * everything is in, a linkage thread links (exact keys first in combined
 * mode, then Dice on the rest) and builds the count list: H(handle)^b
 * with our category, one per link, padded and shuffled; the session then
 * moves on to the blinded count (count.c) with the handle as the only key.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blind.h"
#include "cbs.h"
#include "clkctx.h"
#include "dice.h"
#include "err.h"
#include "fuzzy.h"
#include "link.h"
#include "linkage.h"
#include "log.h"
#include "result.h"
#include "rand.h"
#include "rounds.h"
#include "spec.h"

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
	if (sess_spawn(cb, s, link_thread) != 0) {
		s->link_busy = 0;
		sess_fail(cb, s, "cannot start the linkage thread");
	}
}

/* Reads and encodes our list: CLKs (and H(k)^b in combined mode). */
void *
cbs_link_prepare_thread(void *p)
{
	struct cbs_thread_arg *pa = p;
	struct cbs *cb = pa->cb;
	struct session *s = pa->s;
	struct udc_node *n = cb->n;
	const struct udc_spec *spec = s->spec;
	struct udc_input_opts io;
	struct udc_blist own;
	struct udc_input_stats st;
	uint64_t *cats = NULL;
	uint8_t digest[32];
	char err[512] = "";
	int rv;

	free(pa);
	memset(&st, 0, sizeof(st));
	own = s->own; /* empty; filled here, handed over under the lock */
	own.max = n->cfg->max_records;
	/* Every category has a column: the proposal was checked for that. */
	udc_node_peer_input_opts(n, s->np, spec, &io);
	io.digest = digest;
	rv = udc_blist_from_input_ext(&own, &io, s->rid, s->b, n->wq, udc_clkctx_fill, s->clk,
	    &st, err, sizeof(err));
	if (rv == 0 && udc_node_input_read(n, s->idhex, &st, 0, err, sizeof(err)) != 0) {
		size_t o = strlen(err);
		snprintf(err + o, sizeof(err) - o, " ([input] reject_limit at the CBS node)");
		rv = UDC_EREFUSED;
	}
	if (rv == 0)
		rv = cbs_check_categories(cb, s, &own, &cats, err, sizeof(err));
	if (rv == 0)
		udc_blist_shuffle(&own);
	if (rv == 0)
		log_info("round %s: %s: %llu rows, %zu encoded", s->idhex, io.path,
		    (unsigned long long)st.rows, own.n);

	pthread_mutex_lock(&s->mtx);
	s->prep_done = 1; /* the preparer is finished with s->b */
	udc_clkctx_free(s->clk); /* our encoding keys are not needed any more */
	s->clk = NULL;
	if (s->state >= SS_DELIVER) {
		udc_blist_free(&own);
		free(cats);
		if (!s->link_busy)
			sess_release_data(s);
	} else if (rv != 0) {
		udc_blist_free(&own);
		free(cats);
		sess_fail(cb, s, "CBS input: %s", err[0] ? err : udc_strerror(rv));
	} else {
		memcpy(s->input_digest, digest, 32);
		sess_own_digest(cb, s);
		s->cat_records = cats;
		s->own = own;
		s->cst = st;
		s->own_chunk = udc_wire_chunk_records(n->cfg->chunk_records, n->cfg->max_message,
		    spec->nkeys * 32 + 2 + 1);
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

/* Exact keys first (combined), then Dice on the records still unlinked
 * (common/fuzzy/linkage.c); then the count list: H(handle)^b with our
 * category for every link. */
static void *
link_thread(void *p)
{
	struct cbs_thread_arg *pa = p;
	struct cbs *cb = pa->cb;
	struct session *s = pa->s;
	const struct udc_spec *spec = s->spec;
	size_t ng = s->gl.n, nown = s->own.n, ncats = spec->ncells[UDC_SIDE_CBS];
	int64_t *pair = NULL;
	size_t *linked = NULL;
	uint8_t *own_done = NULL;
	uint64_t *dummies = NULL, *unl = NULL;
	struct udc_linkage_in li;
	struct udc_linkage_report rep;
	struct udc_blist c;
	char why[256] = "";
	int rv = UDC_ENOMEM;

	free(pa);
	memset(&rep, 0, sizeof(rep));
	udc_blist_init(&c, 1, 0);
	pair = malloc((ng ? ng : 1) * sizeof(*pair));
	linked = malloc((ng ? ng : 1) * sizeof(*linked));
	own_done = calloc(nown ? nown : 1, 1);
	dummies = calloc(ncats, sizeof(*dummies));
	unl = calloc(ncats, sizeof(*unl));
	if (!pair || !linked || !own_done || !dummies || !unl)
		goto out;
	memset(&li, 0, sizeof(li));
	li.spec = spec;
	li.g = &s->gl;
	li.own = &s->own;
	li.ownx = spec->mode == UDC_MODE_COMBINED ? &s->ownx : NULL;
	li.enc_bytes = s->clk_bytes;
	li.enc_bits = s->clk_bits;
	li.segments = s->clk_segs;
	li.wq = cb->n->wq;
	udc_random_buf(&li.seed, sizeof(li.seed));
	if ((rv = udc_linkage_run(&li, pair, own_done, &rep, why, sizeof(why))) != 0)
		goto out;
	{
		char line[768];

		udc_linkage_log_line(&rep, line, sizeof(line));
		log_info("round %s: %s", s->idhex, line);
	}
	for (size_t k = 0; k < nown; k++)
		if (!own_done[k])
			unl[s->own.lab[k]]++;
	/* The count list: one tuple per link, H(handle)^b with our category,
	 * hashed and blinded on the pool. */
	{
		size_t nl = 0;

		for (size_t i = 0; i < ng; i++)
			if (pair[i] >= 0)
				linked[nl++] = i;
		if ((rv = udc_linkage_count_points(&c, nl ? udc_blist_ext(&s->gl, 0) : NULL,
		    s->gl.extra, linked, nl, s->b, s->rid, cb->n->wq)) != 0)
			goto out;
		for (size_t k = 0; k < nl; k++)
			c.lab[k] = s->own.lab[pair[linked[k]]];
	}
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
		memcpy(s->exact_links, rep.exact, sizeof(rep.exact));
		memcpy(s->fuzzy_bands, rep.bands, sizeof(rep.bands));
		memcpy(s->band_lo, rep.band_lo, sizeof(rep.band_lo));
		s->fuzzy_links = rep.fuzzy_links;
		s->lrep = rep;
		s->own_unlinked = unl;
		unl = NULL;
		s->dummies = dummies;
		dummies = NULL;
		s->c = c;
		s->c_sent = c.n;
		s->c_chunk = udc_wire_chunk_records(cb->n->cfg->chunk_records, cb->n->cfg->max_message,
		    32 + 2);
		s->c_chunks = (uint32_t)(c.n ? (c.n + s->c_chunk - 1) / s->c_chunk : 1);
		/* The count phase runs as in exact mode, on one key: the handle. */
		s->g_expected = ng;
		udc_blist_init(&s->g, 1, ng);
		udc_blist_init(&s->r, 1, (size_t)CBS_MAX_RECORDS);
		udc_blist_free(&s->gl);
		udc_blist_free(&s->own);
		udc_blist_free(&s->ownx);
		s->linked = 1;
		sess_enter(cb, s, SS_UPLOAD);
		udc_rounds_update(cb->n->rounds, s->idhex, NULL, "upload", 0, NULL);
	}
	pthread_mutex_unlock(&s->mtx);
	free(pair);
	free(linked);
	free(own_done);
	free(dummies);
	free(unl);
	sess_put(cb, s);
	return NULL;
}

void
cbs_on_link_records(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp)
{
	const Udc__LinkChunk *lc = req->l_chunk;
	size_t n = lc->n, nk = s->spec->nkeys;
	int rv;

	char why[256];

	if (n > UDC_MAX_CHUNK_RECORDS || lc->nkeys != nk || lc->clk_bytes != s->clk_bytes ||
	    lc->handles.len != 32 * n || lc->clks.len != s->clk_bytes * n ||
	    lc->points.len != n * nk * 32 || (n == 0 && !lc->last)) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED,
		    "chunk %u: shape does not match the spec (%zu records, %zu keys, %zu-byte CLKs)",
		    lc->index, n, nk, s->clk_bytes);
		return;
	}
	switch (cbs_chunk_claim(s, &s->l_chunks, lc->index, lc->last,
	    cbs_max_chunks(s->g_max), why,
	    sizeof(why))) {
	case CHUNK_DONE:
		cbs_reply_ack(rp, lc->index, s->l_chunks.records);
		return;
	case CHUNK_BAD:
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "%s", why);
		return;
	}
	if (s->state == SS_FAILED || s->l_chunks.records + n > s->g_max) {
		cbs_chunk_abandon(s, &s->l_chunks, lc->index, lc->last, 0);
		if (s->state == SS_FAILED)
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
		else
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_LIMIT, "more records than the %llu "
			    "proposed (or [input] max_records at this node)", (unsigned long long)s->g_max);
		return;
	}
	s->l_chunks.records += n;
	if (nk) {
		sess_unlock_busy(s);
		rv = udc_blind_records(lc->points.data, n, nk, s->b, cb->n->wq);
		sess_relock_busy(s);
		if (s->state == SS_FAILED || rv != 0) {
			cbs_chunk_abandon(s, &s->l_chunks, lc->index, lc->last, n);
			if (s->state != SS_FAILED)
				sess_fail(cb, s, "the gemeente sent an invalid group element in chunk %u",
				    lc->index);
			cbs_reply_error(rp, rv ? UDC__ERROR_CODE__ERR_CRYPTO : UDC__ERROR_CODE__ERR_FAILED,
			    "%s", s->error);
			return;
		}
	}
	if ((rv = udc_blist_reserve(&s->gl, n)) != 0) {
		cbs_chunk_abandon(s, &s->l_chunks, lc->index, lc->last, n);
		sess_fail(cb, s, "cannot store the gemeente's records: %s", udc_strerror(rv));
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_LIMIT, "%s", s->error);
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
	cbs_chunk_done(s, &s->l_chunks, lc->index);
	if (cbs_chunks_complete(&s->l_chunks)) {
		if (s->gl.n == 0) {
			sess_fail(cb, s, "the gemeente sent no records");
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
			return;
		}
		s->l_done = 1;
		maybe_link(cb, s);
	}
	cbs_reply_ack(rp, lc->index, s->l_chunks.records);
}

/* Combined: our keys H(k)^b, in our order, for the gemeente to raise. */
void
cbs_on_fetch_own(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp)
{
	const Udc__Fetch *f = req->fetch;
	Udc__Chunk *ch = &rp->chunk;
	uint8_t **labbuf = &rp->buf;
	size_t from, n;

	(void)cb;
	if (!s->own_ready || !s->l_done) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_STATE,
		    "fetch of phase 1 not allowed before our records are encoded and the gemeente's are in");
		return;
	}
	if (f->index >= s->own_chunks) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "chunk %u of %u", f->index, s->own_chunks);
		return;
	}
	from = (size_t)f->index * s->own_chunk;
	n = s->own.n - from < s->own_chunk ? s->own.n - from : s->own_chunk;
	if ((*labbuf = calloc(2 * n + 1, 1)) == NULL) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "out of memory");
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

void
cbs_on_raised_keys(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp)
{
	const Udc__Chunk *ch = req->x_chunk;
	char why[256];
	size_t from, n;
	int rv;

	if (!s->own_ready || !s->l_done) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_STATE,
		    "x_chunk not allowed before our records are encoded and the gemeente's are in");
		return;
	}
	if (udc_wire_check_chunk(ch, s->spec->nkeys, UDC_MAX_CHUNK_RECORDS, 1, why, sizeof(why)) != 0) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "chunk %u: %s", ch->index, why);
		return;
	}
	if (ch->index >= s->own_chunks || ch->last != (ch->index + 1 == s->own_chunks)) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "chunk %u out of order: we sent %u",
		    ch->index, s->own_chunks);
		return;
	}
	from = (size_t)ch->index * s->own_chunk;
	n = s->own.n - from < s->own_chunk ? s->own.n - from : s->own_chunk;
	if (ch->n != n) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "chunk %u: wrong number of records",
		    ch->index);
		return;
	}
	switch (cbs_chunk_claim(s, &s->x_chunks, ch->index, ch->last, s->own_chunks, why,
	    sizeof(why))) {
	case CHUNK_DONE:
		cbs_reply_ack(rp, ch->index, 0);
		return;
	case CHUNK_BAD:
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "%s", why);
		return;
	}
	sess_unlock_busy(s);
	rv = udc_points_valid(cb->n->wq, ch->points.data, n * s->spec->nkeys, NULL);
	sess_relock_busy(s);
	if (s->state == SS_FAILED || rv != 0) {
		cbs_chunk_abandon(s, &s->x_chunks, ch->index, ch->last, 0);
		if (s->state != SS_FAILED)
			sess_fail(cb, s, "the gemeente returned an invalid group element in chunk %u",
			    ch->index);
		cbs_reply_error(rp, rv ? UDC__ERROR_CODE__ERR_CRYPTO : UDC__ERROR_CODE__ERR_FAILED, "%s",
		    s->error);
		return;
	}
	if (n)
		memcpy(udc_blist_pt(&s->ownx, from, 0), ch->points.data, n * s->spec->nkeys * 32);
	cbs_chunk_done(s, &s->x_chunks, ch->index);
	if (cbs_chunks_complete(&s->x_chunks)) {
		s->x_done = 1;
		maybe_link(cb, s);
	}
	cbs_reply_ack(rp, ch->index, 0);
}

/* Records a refused proposal in the register so the operator sees it here too. */
