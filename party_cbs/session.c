/*
 * session.c - the CBS node's register of sessions (one per round id), the
 * one function through which a session changes state, failure, background
 * threads and reaping.
 *
 * A session lives in cb->sessions from an accepted proposal until the
 * reaper frees it.  Whoever uses it holds a reference (sess_get/sess_put:
 * request handlers, the preparer and linkage threads); the reaper frees only
 * sessions nobody holds.  Its fields are guarded by s->mtx.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "blind.h"
#include "cbs.h"
#include "clkctx.h"
#include "err.h"
#include "log.h"
#include "rounds.h"
#include "spec.h"
#include "store.h"
#include "table.h"

#define DONE_LINGER_S 120 /* keep a finished session to answer a resent Finish */

const char *
cbs_state_name(enum sess_state s)
{
	switch (s) {
	case SS_CONSENT: return "consent";
	case SS_LINK: return "link";
	case SS_UPLOAD: return "upload";
	case SS_RETURN: return "return";
	case SS_COUNTED: return "counted";
	case SS_DELIVER: return "deliver";
	case SS_DONE: return "done";
	case SS_FAILED: return "failed";
	case SS_NSTATES: break;
	}
	return "?";
}

double
cbs_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

void
sess_release_data(struct session *s)
{
	/* a handler works on them without the lock: it releases them when it
	 * is done (sess_relock_busy) */
	if (s->busy > 0)
		return;
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

void
sess_free(struct session *s)
{
	sess_release_data(s);
	free(s->dummies);
	free(s->cat_records);
	free(s->mag_sum);
	free(s->mag_n);
	free(s->grp_records);
	free(s->own_unlinked);
	udc_table_free(s->counted);
	udc_spec_free(s->spec);
	udc_transcript_clear(&s->tx);
	cbs_chunks_free(&s->g_chunks);
	cbs_chunks_free(&s->r_chunks);
	cbs_chunks_free(&s->l_chunks);
	cbs_chunks_free(&s->x_chunks);
	pthread_cond_destroy(&s->cv);
	pthread_mutex_destroy(&s->mtx);
	free(s);
}

void
sess_enter(struct cbs *cb, struct session *s, enum sess_state to)
{
	(void)cb;
	if (s->state == to)
		return;
	log_info("round %s: %s -> %s", s->idhex, cbs_state_name(s->state), cbs_state_name(to));
	s->state = to;
}

void
sess_fail(struct cbs *cb, struct session *s, const char *fmt, ...)
{
	va_list ap;
	if (s->state == SS_FAILED || s->state == SS_DONE)
		return;
	va_start(ap, fmt);
	vsnprintf(s->error, sizeof(s->error), fmt, ap);
	va_end(ap);
	sess_enter(cb, s, SS_FAILED);
	/* A background thread may still be reading: it notices the state and
	 * frees nothing of ours; the lists go when the last user leaves. */
	if ((s->prep_done || !s->prep_started) && !s->link_busy && s->busy == 0)
		sess_release_data(s);
	pthread_cond_broadcast(&s->cv);
	log_warnx("round %s failed: %s", s->idhex, s->error);
	udc_rounds_update(cb->n->rounds, s->idhex, "failed", NULL, 0, s->error);
}

/* The session of round rid, or NULL (caller holds cb->mtx). */
static struct session *
sess_find_locked(struct cbs *cb, const uint8_t rid[16])
{
	struct session *s;

	for (s = cb->sessions; s; s = s->next)
		if (memcmp(s->rid, rid, 16) == 0)
			break;
	return s;
}

struct session *
sess_get(struct cbs *cb, const uint8_t rid[16])
{
	struct session *s;

	pthread_mutex_lock(&cb->mtx);
	s = sess_find_locked(cb, rid);
	if (s)
		s->refs++;
	pthread_mutex_unlock(&cb->mtx);
	return s;
}

void
sess_put(struct cbs *cb, struct session *s)
{
	pthread_mutex_lock(&cb->mtx);
	s->refs--;
	pthread_mutex_unlock(&cb->mtx);
}

static int
sess_live_locked(struct cbs *cb, const struct udc_node_peer *np, int *mine)
{
	int n = 0;

	*mine = 0;
	for (struct session *s = cb->sessions; s; s = s->next) {
		n += s->state < SS_DELIVER;
		*mine += s->state < SS_DELIVER && s->np == np;
	}
	return n;
}

int
sess_live(struct cbs *cb, const struct udc_node_peer *np, int *mine)
{
	int n;

	pthread_mutex_lock(&cb->mtx);
	n = sess_live_locked(cb, np, mine);
	pthread_mutex_unlock(&cb->mtx);
	return n;
}

struct session *
sess_add(struct cbs *cb, struct session *s, int max_all, int max_mine, int *full)
{
	struct session *o;
	int all, mine;

	/* The lookup and the insertion under one lock: copies of one proposal
	 * handled at once by several workers make one session, not several;
	 * and the limits hold however many proposals arrive at once. */
	*full = 0;
	pthread_mutex_lock(&cb->mtx);
	if ((o = sess_find_locked(cb, s->rid)) != NULL) {
		o->refs++;
	} else {
		all = sess_live_locked(cb, s->np, &mine);
		if (max_mine > 0 && mine >= max_mine)
			*full = 2;
		else if (all >= max_all)
			*full = 1;
		else {
			s->next = cb->sessions;
			cb->sessions = s;
		}
	}
	pthread_mutex_unlock(&cb->mtx);
	return o;
}

int
sess_spawn(struct cbs *cb, struct session *s, void *(*fn)(void *))
{
	struct cbs_thread_arg *pa = malloc(sizeof(*pa));
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

void
sess_maybe_wipe_b(struct session *s)
{
	if (s->b && s->g_done && s->prep_done) {
		udc_scalar_free(s->b);
		s->b = NULL;
	}
}

void
sess_own_digest(struct cbs *cb, struct session *s)
{
	char hex[65];

	udc_hex(s->input_digest, 32, hex);
	struct udc_audit_field f[] = { UDC_AUDIT_S("round", s->idhex), UDC_AUDIT_S("file_sha256", hex) };
	udc_node_audit(cb->n, UDC_AUDIT_INPUT_DIGEST, f, UDC_AUDIT_NFIELDS(f));
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
			} else if (s->state == SS_DELIVER && (all || idle > cb->n->cfg->session_idle_s)) {
				/* Released and recorded here, but not known to have
				 * arrived: both nodes must record a failure. */
				sess_fail(cb, s, "the gemeente did not confirm that it stored the release "
				    "(%s); the release is recorded in this node's history",
				    all ? "the CBS daemon stopped" : "it went silent");
				drop = all;
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

int
cbs_check_categories(struct cbs *cb, struct session *s, const struct udc_blist *own,
    uint64_t **counts, char *err, size_t errlen)
{
	const struct udc_spec *spec = s->spec;
	size_t ncats = spec->ncells[UDC_SIDE_CBS], small = 0;
	uint64_t *n = calloc(ncats ? ncats : 1, sizeof(*n));

	(void)cb;
	if (n == NULL)
		return UDC_ENOMEM;
	for (size_t i = 0; i < own->n; i++)
		n[own->lab[i]]++;
	for (size_t c = 0; spec->min_cell > 1 && c < ncats; c++) {
		if (n[c] == 0 || n[c] >= spec->min_cell)
			continue;
		if (small++ < 8) {
			size_t idx[UDC_MAX_DIMS];
			char name[256] = "";
			udc_spec_cell_split(spec, UDC_SIDE_CBS, c, idx);
			for (size_t d = 0; d < spec->ndims[UDC_SIDE_CBS]; d++) {
				size_t o = strlen(name);
				snprintf(name + o, sizeof(name) - o, "%s%s=%s", d ? "," : "",
				    spec->dims[UDC_SIDE_CBS][d].name,
				    spec->dims[UDC_SIDE_CBS][d].values[idx[d]]);
			}
			log_warnx("round %s: CBS category %s holds %llu records, fewer than min_cell %u",
			    s->idhex, name, (unsigned long long)n[c], spec->min_cell);
		}
	}
	if (small) {
		/* The count stays in our log: it is a small count itself. */
		snprintf(err, errlen, "%zu CBS categor%s fewer than min_cell %u records; a category "
		    "that small would single out its members whatever is released (merge it in the "
		    "spec or fix the CBS input; the CBS log names it)", small,
		    small == 1 ? "y holds" : "ies hold", spec->min_cell);
		free(n);
		return UDC_EREFUSED;
	}
	*counts = n;
	return 0;
}

void
sess_unlock_busy(struct session *s)
{
	s->busy++;
	pthread_mutex_unlock(&s->mtx);
}

void
sess_relock_busy(struct session *s)
{
	pthread_mutex_lock(&s->mtx);
	/* the round failed meanwhile: the last one out releases the data */
	if (--s->busy == 0 && s->state == SS_FAILED && (s->prep_done || !s->prep_started) &&
	    !s->link_busy)
		sess_release_data(s);
}

int
cbs_chunk_claim(struct session *s, struct cbs_chunks *c, uint32_t index, int last,
    uint32_t max_chunks, char *why, size_t whylen)
{
	if (index >= max_chunks) {
		snprintf(why, whylen, "chunk %u: more chunks than this round can have (%u)", index,
		    max_chunks);
		return CHUNK_BAD;
	}
	if (c->total && (index >= c->total || (last && index + 1 != c->total))) {
		snprintf(why, whylen, "chunk %u out of order: the last chunk was %u", index, c->total - 1);
		return CHUNK_BAD;
	}
	if (index >= c->cap) {
		size_t nc = c->cap ? c->cap : 64;
		uint8_t *p;
		while (nc <= index)
			nc *= 2;
		if ((p = realloc(c->st, nc)) == NULL) {
			snprintf(why, whylen, "out of memory");
			return CHUNK_BAD;
		}
		memset(p + c->cap, 0, nc - c->cap);
		c->st = p;
		c->cap = nc;
	}
	if (last)
		for (size_t i = index + 1; i < c->cap; i++)
			if (c->st[i]) {
				snprintf(why, whylen, "chunk %u out of order: chunk %zu came before the last "
				    "chunk %u", index, i, index);
				return CHUNK_BAD;
			}
	/* a resend of a chunk being processed waits for it */
	while (c->st[index] == 1 && s->state != SS_FAILED)
		pthread_cond_wait(&s->cv, &s->mtx);
	if (c->st[index] == 2)
		return CHUNK_DONE;
	c->st[index] = 1;
	if (last)
		c->total = index + 1;
	return CHUNK_NEW;
}

void
cbs_chunk_done(struct session *s, struct cbs_chunks *c, uint32_t index)
{
	c->st[index] = 2;
	c->ndone++;
	pthread_cond_broadcast(&s->cv);
}

void
cbs_chunk_abandon(struct session *s, struct cbs_chunks *c, uint32_t index, int last, uint64_t n)
{
	c->st[index] = 0;
	c->records -= n;
	if (last)
		c->total = 0;
	pthread_cond_broadcast(&s->cv);
}

int
cbs_chunks_complete(const struct cbs_chunks *c)
{
	return c->total && c->ndone == c->total;
}

void
cbs_chunks_free(struct cbs_chunks *c)
{
	free(c->st);
	memset(c, 0, sizeof(*c));
}
