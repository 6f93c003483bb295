/*
 * count.c - the blinded grouped count (exact mode, and the count phase of
 * fuzzy and combined rounds, where the handle is the only key).
 *
 *   g_chunk   the gemeente's tuples H(k)^a with group labels: raised to b, kept
 *   (thread)  our own list H(k)^b with categories, padded and shuffled
 *   fetch     our list, chunk by chunk, once the upload is complete
 *   r_chunk   our tuples back as H(k)^ba, shuffled by the gemeente, kept
 *
 * Chunks come in order; a resent chunk is acknowledged again and not
 * processed twice.  Every received point is validated; an invalid one
 * fails the round.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "blind.h"
#include "cbs.h"
#include "err.h"
#include "log.h"
#include "rounds.h"
#include "spec.h"


void *
cbs_count_prepare_thread(void *p)
{
	struct cbs_thread_arg *pa = p;
	struct cbs *cb = pa->cb;
	struct session *s = pa->s;
	struct udc_node *n = cb->n;
	const struct udc_spec *spec = s->spec;
	struct udc_input_opts io;
	struct udc_blist c;
	struct udc_input_stats st;
	uint64_t *dummies = NULL, *cats = NULL, *gsum = NULL, *gn = NULL;
	size_t ncats = spec->ncells[UDC_SIDE_CBS];
	uint8_t digest[32];
	char err[512] = "";
	int rv;

	free(pa);
	memset(&st, 0, sizeof(st));
	udc_blist_init(&c, spec->nkeys, n->cfg->max_records);
	/* Every category has a column: the proposal was checked for that. */
	udc_node_peer_input_opts(n, s->np, spec, &io);
	io.digest = digest;
	/* s->b is only freed once prep_done is set, so reading it is safe. */
	if (udc_spec_grouped_attr(spec) >= 0)
		rv = cbs_groups_read(spec, &c, &io, s->rid, s->b, n->wq, &st, &gsum, &gn, err,
		    sizeof(err));
	else
		rv = udc_blist_from_input(&c, &io, s->rid, s->b, n->wq, &st, err, sizeof(err));
	if (rv == 0 && udc_node_input_read(n, s->idhex, &st, 0, err, sizeof(err)) != 0) {
		size_t o = strlen(err);
		snprintf(err + o, sizeof(err) - o, " ([input] reject_limit at the CBS node)");
		rv = UDC_EREFUSED;
	}
	if (rv == 0)
		rv = cbs_check_categories(cb, s, &c, &cats, err, sizeof(err));
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
	if (s->state >= SS_DELIVER) {
		udc_blist_free(&c);
		free(dummies);
		free(cats);
		free(gsum);
		free(gn);
		sess_release_data(s);
	} else if (rv != 0) {
		udc_blist_free(&c);
		free(dummies);
		free(cats);
		free(gsum);
		free(gn);
		sess_fail(cb, s, "CBS input: %s", err[0] ? err : udc_strerror(rv));
	} else {
		memcpy(s->input_digest, digest, 32);
		sess_own_digest(cb, s);
		s->cat_records = cats;
		s->mag_sum = gsum;
		s->mag_n = gn;
		s->c = c;
		s->c_sent = c.n;
		s->dummies = dummies;
		s->cst = st;
		s->c_chunk = udc_wire_chunk_records(n->cfg->chunk_records, n->cfg->max_message,
		    spec->nkeys * 32 + 2);
		s->c_chunks = (uint32_t)(c.n ? (c.n + s->c_chunk - 1) / s->c_chunk : 1);
		sess_maybe_wipe_b(s);
	}
	pthread_mutex_unlock(&s->mtx);
	sess_put(cb, s);
	return NULL;
}


/* The most chunks an upload of up to max_records can have: every chunk but
 * the last holds a record, and a node sends chunk_records (at least 16) at a
 * time; a hostile index cannot make the chunk set large. */
uint32_t
cbs_max_chunks(uint64_t max_records)
{
	uint64_t m = max_records + 1, by16 = max_records / 16 + 1024;

	if (by16 < m)
		m = by16;
	return m > UINT32_MAX ? UINT32_MAX : (uint32_t)m;
}

/* Shared by every upload: shape, then the chunk claimed in its set (it may
 * arrive in any order; a resend is acknowledged again), then the limit on
 * records.  Caller holds s->mtx.  Returns 1 to process (the chunk is
 * claimed: finish it with cbs_chunk_done or cbs_chunk_abandon), 0 when rp
 * already holds the answer. */
int
cbs_claim_chunk(struct session *s, struct cbs_chunks *c, const Udc__Chunk *ch, size_t nkeys,
    size_t nlabels, uint64_t max_records, const char *what_max, struct cbs_reply *rp)
{
	char why[256];

	if (udc_wire_check_chunk(ch, nkeys, UDC_MAX_CHUNK_RECORDS, nlabels, why, sizeof(why))) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "%s", why);
		return 0;
	}
	switch (cbs_chunk_claim(s, c, ch->index, ch->last, cbs_max_chunks(max_records), why,
	    sizeof(why))) {
	case CHUNK_DONE:
		cbs_reply_ack(rp, ch->index, c->records); /* a resend: already done */
		return 0;
	case CHUNK_BAD:
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "%s", why);
		return 0;
	}
	if (s->state == SS_FAILED) { /* while a resend waited */
		cbs_chunk_abandon(s, c, ch->index, ch->last, 0);
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
		return 0;
	}
	/* Memory follows the data that arrived, never what a proposal
	 * announced. */
	if (c->records + ch->n > max_records) {
		cbs_chunk_abandon(s, c, ch->index, ch->last, 0);
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_LIMIT, "more records than the %llu %s",
		    (unsigned long long)max_records, what_max);
		return 0;
	}
	c->records += ch->n;
	return 1;
}

/* A claimed chunk that could not be processed. */
static void
give_up(struct session *s, struct cbs_chunks *c, const Udc__Chunk *ch)
{
	cbs_chunk_abandon(s, c, ch->index, ch->last, ch->n);
}

void
cbs_on_gemeente_tuples(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp)
{
	const Udc__Chunk *ch = req->g_chunk;
	uint16_t lab[UDC_MAX_CHUNK_RECORDS];
	int rv;

	/* the list grows chunk by chunk up to g_max (the smaller of the
	 * proposal's maximum and [input] max_records) */
	if (!cbs_claim_chunk(s, &s->g_chunks, ch, s->cnkeys, s->spec->ncells[0],
	    s->fuzzy ? s->g_expected : s->g_max,
	    s->fuzzy ? "linkage records" : "proposed (or [input] max_records at this node)", rp))
		return;
	/* Raising is the work: other requests of the round go on meanwhile. */
	sess_unlock_busy(s);
	rv = udc_blind_records(ch->points.data, ch->n, ch->nkeys, s->b, cb->n->wq);
	sess_relock_busy(s);
	if (s->state == SS_FAILED) {
		give_up(s, &s->g_chunks, ch);
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
		return;
	}
	if (rv != 0) {
		give_up(s, &s->g_chunks, ch);
		sess_fail(cb, s, "the gemeente sent an invalid group element in chunk %u", ch->index);
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_CRYPTO, "%s", s->error);
		return;
	}
	for (uint32_t i = 0; i < ch->n; i++)
		lab[i] = udc_wire_label(ch, i);
	if ((rv = udc_blist_append(&s->g, ch->points.data, lab, ch->n)) != 0) {
		give_up(s, &s->g_chunks, ch);
		sess_fail(cb, s, "cannot store the gemeente's tuples: %s", udc_strerror(rv));
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "%s", s->error);
		return;
	}
	cbs_chunk_done(s, &s->g_chunks, ch->index);
	if (cbs_chunks_complete(&s->g_chunks)) {
		if (s->fuzzy && s->g.n != s->g_expected) {
			sess_fail(cb, s, "the gemeente sent %zu count records for %llu linkage records",
			    s->g.n, (unsigned long long)s->g_expected);
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
			return;
		}
		if (s->g.n == 0) {
			sess_fail(cb, s, "the gemeente sent no records");
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
			return;
		}
		s->g_done = 1;
		sess_maybe_wipe_b(s);
	}
	if (s->fuzzy)
		udc_rounds_update(cb->n->rounds, s->idhex, NULL, NULL,
		    (unsigned)(s->g.n * 1000 / (s->g_expected ? s->g_expected : 1)), NULL);
	cbs_reply_ack(rp, ch->index, s->g_chunks.records);
}

void
cbs_on_status(struct cbs *cb, struct session *s, const Udc__Envelope *req, struct cbs_reply *rp)
{
	Udc__StatusReply *sr = &rp->status_reply;

	(void)cb;
	(void)req;
	udc__status_reply__init(sr);
	sr->awaiting_consent = s->state == SS_CONSENT;
	sr->linked = !s->fuzzy || s->linked;
	if (s->state == SS_CONSENT) {
		rp->env.body_case = UDC__ENVELOPE__BODY_STATUS_REPLY;
		rp->env.status_reply = sr;
		return;
	}
	if (s->state == SS_LINK) {
		sr->link_ready = s->own_ready && s->l_done;
		sr->own_chunks = sr->link_ready ? s->own_chunks : 0;
		sr->own_records = sr->link_ready ? s->own.n : 0;
		rp->env.body_case = UDC__ENVELOPE__BODY_STATUS_REPLY;
		rp->env.status_reply = sr;
		return;
	}
	/* ready: our list can be fetched (while the gemeente still uploads) */
	sr->ready = s->prep_done;
	sr->c_records = sr->ready ? s->c.n : 0;
	sr->c_chunks = sr->ready ? s->c_chunks : 0;
	rp->env.body_case = UDC__ENVELOPE__BODY_STATUS_REPLY;
	rp->env.status_reply = sr;
}

void
cbs_on_fetch(struct cbs *cb, struct session *s, const Udc__Envelope *req, struct cbs_reply *rp)
{
	const Udc__Fetch *f = req->fetch;
	Udc__Chunk *ch = &rp->chunk;
	uint8_t **labbuf = &rp->buf;
	size_t from, n;

	(void)cb;
	if (!s->prep_done) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "fetch not allowed before our list is ready");
		return;
	}
	if (f->index >= s->c_chunks) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_MALFORMED, "chunk %u of %u", f->index, s->c_chunks);
		return;
	}
	from = (size_t)f->index * s->c_chunk;
	n = s->c.n - from < s->c_chunk ? s->c.n - from : s->c_chunk;
	if ((*labbuf = malloc(2 * n + 1)) == NULL) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "out of memory");
		return;
	}
	udc_wire_labels_pack(s->c.lab + from, n, *labbuf);
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

void
cbs_on_returned_tuples(struct cbs *cb, struct session *s, const Udc__Envelope *req,
    struct cbs_reply *rp)
{
	const Udc__Chunk *ch = req->r_chunk;
	uint16_t lab[UDC_MAX_CHUNK_RECORDS];
	int rv;

	if (s->state == SS_UPLOAD && s->g_done && s->prep_done) {
		sess_enter(cb, s, SS_RETURN);
		udc_rounds_update(cb->n->rounds, s->idhex, NULL, "return", 0, NULL);
	}
	if (s->state != SS_RETURN) {
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_STATE, "r_chunk not allowed in state %s",
		    cbs_state_name(s->state));
		return;
	}
	if (!cbs_claim_chunk(s, &s->r_chunks, ch, s->cnkeys, s->spec->ncells[1], s->c_sent,
	    "sent (more records back than went out)", rp))
		return;
	if (s->r.cap < s->c_sent && udc_blist_reserve(&s->r, s->c_sent) != 0) {
		give_up(s, &s->r_chunks, ch);
		sess_fail(cb, s, "cannot hold the %zu returned tuples", s->c_sent);
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_LIMIT, "%s", s->error);
		return;
	}
	/* Every fetch is answered once the first tuple comes back: our singly
	 * blinded list is not needed any more. */
	udc_blist_free(&s->c);
	sess_unlock_busy(s);
	rv = udc_points_valid(cb->n->wq, ch->points.data, (size_t)ch->n * ch->nkeys, NULL);
	sess_relock_busy(s);
	if (s->state == SS_FAILED) {
		give_up(s, &s->r_chunks, ch);
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
		return;
	}
	if (rv != 0) {
		give_up(s, &s->r_chunks, ch);
		sess_fail(cb, s, "the gemeente returned an invalid group element in chunk %u", ch->index);
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_CRYPTO, "%s", s->error);
		return;
	}
	for (uint32_t i = 0; i < ch->n; i++)
		lab[i] = udc_wire_label(ch, i);
	if ((rv = udc_blist_append(&s->r, ch->points.data, lab, ch->n)) != 0) {
		give_up(s, &s->r_chunks, ch);
		sess_fail(cb, s, "cannot store the returned tuples: %s", udc_strerror(rv));
		cbs_reply_error(rp, UDC__ERROR_CODE__ERR_INTERNAL, "%s", s->error);
		return;
	}
	cbs_chunk_done(s, &s->r_chunks, ch->index);
	if (cbs_chunks_complete(&s->r_chunks)) {
		if (s->r.n != s->c_sent) {
			sess_fail(cb, s, "the gemeente returned %zu records of %zu", s->r.n, s->c_sent);
			cbs_reply_error(rp, UDC__ERROR_CODE__ERR_FAILED, "%s", s->error);
			return;
		}
		s->r_done = 1;
	}
	udc_rounds_update(cb->n->rounds, s->idhex, NULL, NULL,
	    (unsigned)(s->r.n * 1000 / (s->c_sent ? s->c_sent : 1)), NULL);
	cbs_reply_ack(rp, ch->index, s->r_chunks.records);
}

void
cbs_on_abort(struct cbs *cb, struct session *s, const Udc__Envelope *req, struct cbs_reply *rp)
{
	const char *why = req->abort->reason ? req->abort->reason : "no reason given";

	if (s->state == SS_DELIVER)
		/* released and recorded here, but not stored there */
		sess_fail(cb, s, "the gemeente did not store the release: %.200s; the release is "
		    "recorded in this node's history", why);
	else
		sess_fail(cb, s, "aborted by the gemeente: %.200s", why);
	cbs_reply_ack(rp, 0, 0);
}
