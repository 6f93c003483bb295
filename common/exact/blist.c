/*
 * blist.c - building, deduplicating, padding and shuffling blinded lists.
 */
#include "blist.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sodium.h>

#include "blind.h"
#include "err.h"
#include "rand.h"
#include "workq.h"

void
udc_blist_init(struct udc_blist *l, size_t nkeys, size_t max)
{
	memset(l, 0, sizeof(*l));
	l->nkeys = nkeys;
	l->max = max;
}

void
udc_blist_set_extra(struct udc_blist *l, size_t extra)
{
	l->extra = extra;
}

void
udc_blist_free(struct udc_blist *l)
{
	free(l->pts);
	free(l->lab);
	free(l->ext);
	l->pts = NULL;
	l->lab = NULL;
	l->ext = NULL;
	l->n = l->cap = 0;
}

int
udc_blist_reserve(struct udc_blist *l, size_t more)
{
	size_t want, ncap;
	uint8_t *p;
	uint16_t *q;

	if (more > SIZE_MAX / 2 - l->n)
		return UDC_ELIMIT;
	want = l->n + more;
	if (l->max && want > l->max)
		return UDC_ELIMIT;
	if (want <= l->cap)
		return 0;
	ncap = l->cap ? l->cap : 1024;
	while (ncap < want)
		ncap *= 2;
	if (l->max && ncap > l->max)
		ncap = l->max;
	if ((p = realloc(l->pts, ncap * l->nkeys * 32 + 1)) == NULL)
		return UDC_ENOMEM;
	l->pts = p;
	if ((q = realloc(l->lab, ncap * sizeof(*q))) == NULL)
		return UDC_ENOMEM;
	l->lab = q;
	if (l->extra) {
		if ((p = realloc(l->ext, ncap * l->extra)) == NULL)
			return UDC_ENOMEM;
		l->ext = p;
	}
	l->cap = ncap;
	return 0;
}

int
udc_blist_append(struct udc_blist *l, const uint8_t *pts, const uint16_t *lab, size_t n)
{
	int rv;

	if ((rv = udc_blist_reserve(l, n)) != 0)
		return rv;
	if (n == 0)
		return 0; /* an empty chunk: nothing to copy, and the list may be unallocated */
	memcpy(l->pts + l->n * l->nkeys * 32, pts, n * l->nkeys * 32);
	memcpy(l->lab + l->n, lab, n * sizeof(*lab));
	l->n += n;
	return 0;
}

/* Reading: the input callback hashes and blinds each chunk in parallel. */
struct build_ctx {
	struct udc_blist *l;
	const uint8_t *round_id;
	const struct udc_scalar *s;
	struct udc_workq *wq;
	const struct udc_inrec *recs; /* current chunk */
	size_t base;                  /* index of recs[0] in l */
	uint8_t *present;             /* bit j set: key j is real */
	uint8_t *bad;                 /* the payload filler refused the record */
	size_t present_cap;
	udc_blist_extra_fn fill;
	void *fill_arg;
};

/* Keys of a range waiting to be hashed and blinded, or filled with random
 * points, in groups that keep the batch backend's lanes full. */
enum { PENDING = 64 };

struct pending {
	struct udc_hash_item item[PENDING];
	size_t nitem;
	uint8_t *rnd[PENDING];
	size_t nrnd;
};

static int
flush_items(struct build_ctx *b, struct pending *q)
{
	int rv = udc_hash_blind_items(b->s, b->round_id, q->item, q->nitem);

	q->nitem = 0;
	return rv;
}

static void
flush_random(struct pending *q)
{
	uint8_t pts[PENDING * 32];

	udc_random_points(pts, q->nrnd);
	for (size_t k = 0; k < q->nrnd; k++)
		memcpy(q->rnd[k], pts + k * 32, 32);
	q->nrnd = 0;
}

static int
build_range(void *arg, size_t begin, size_t end)
{
	struct build_ctx *b = arg;
	struct udc_blist *l = b->l;
	struct pending q;
	int rv;

	q.nitem = q.nrnd = 0;
	for (size_t i = begin; i < end; i++) {
		const struct udc_inrec *r = &b->recs[i];
		if (b->fill) {
			rv = b->fill(b->fill_arg, r, udc_blist_ext(l, b->base + i));
			if (rv == UDC_EINVAL)
				b->bad[b->base + i] = 1;
			else if (rv != 0)
				return rv;
		}
		for (size_t j = 0; j < l->nkeys; j++) {
			uint8_t *p = udc_blist_pt(l, b->base + i, j);
			if (r->key[j] == NULL) {
				/* A fresh random element: same shape, never matches. */
				q.rnd[q.nrnd++] = p;
				if (q.nrnd == PENDING)
					flush_random(&q);
				continue;
			}
			q.item[q.nitem++] = (struct udc_hash_item){
				.key_index = (uint32_t)j,
				.value = r->key[j],
				.len = strlen(r->key[j]),
				.out = p,
			};
			if (q.nitem == PENDING && (rv = flush_items(b, &q)) != 0)
				return rv;
		}
	}
	flush_random(&q);
	return flush_items(b, &q);
}

static int
build_chunk(void *ctx, const struct udc_inrec *recs, size_t n)
{
	struct build_ctx *b = ctx;
	struct udc_blist *l = b->l;
	int rv;

	if ((rv = udc_blist_reserve(l, n)) != 0)
		return rv;
	if (l->n + n > b->present_cap) {
		size_t ncap = l->cap;
		uint8_t *p = realloc(b->present, ncap), *q;
		if (p == NULL)
			return UDC_ENOMEM;
		b->present = p;
		if ((q = realloc(b->bad, ncap)) == NULL)
			return UDC_ENOMEM;
		b->bad = q;
		b->present_cap = ncap;
	}
	b->recs = recs;
	b->base = l->n;
	for (size_t i = 0; i < n; i++) {
		uint8_t m = 0;
		for (size_t j = 0; j < l->nkeys; j++)
			if (recs[i].key[j] != NULL)
				m |= (uint8_t)(1u << j);
		b->present[l->n + i] = m;
		b->bad[l->n + i] = 0;
		l->lab[l->n + i] = (uint16_t)recs[i].label;
	}
	if ((rv = udc_workq_parallel(b->wq, n, 64, build_range, b)) != 0)
		return rv;
	l->n += n;
	return 0;
}

/* Replaces every point of key j that occurs more than once by random points;
 * returns the number of records affected, or a negative error.  An
 * open-addressing table of 32-bit record indices (the points are uniformly
 * random, so their first bytes are a good hash): about 9 bytes per record
 * at the peak, where sorting copies of the points took 40. */
static long long
dedupe_key(struct udc_blist *l, size_t j, uint8_t *present)
{
	uint32_t *slot;
	uint8_t *dup;
	size_t cap = 16, mask;
	long long hit = 0;

	if (l->n > UINT32_MAX - 1)
		return UDC_ELIMIT;
	while (cap < 2 * l->n)
		cap *= 2;
	mask = cap - 1;
	slot = malloc(cap * sizeof(*slot));
	dup = calloc(l->n ? l->n : 1, 1);
	if (slot == NULL || dup == NULL) {
		free(slot);
		free(dup);
		return UDC_ENOMEM;
	}
	memset(slot, 0xff, cap * sizeof(*slot));
	for (size_t i = 0; i < l->n; i++) {
		const uint8_t *p = udc_blist_pt(l, i, j);
		uint64_t hv;
		size_t h;

		if (!(present[i] & (1u << j)))
			continue;
		memcpy(&hv, p, sizeof(hv));
		for (h = (size_t)hv & mask; slot[h] != UINT32_MAX; h = (h + 1) & mask) {
			if (memcmp(udc_blist_pt(l, slot[h], j), p, 32) == 0) {
				dup[slot[h]] = 1;
				dup[i] = 1;
				break;
			}
		}
		if (slot[h] == UINT32_MAX)
			slot[h] = (uint32_t)i;
	}
	free(slot);
	for (size_t i = 0; i < l->n; i++) {
		if (!dup[i])
			continue;
		udc_random_point(udc_blist_pt(l, i, j));
		present[i] &= (uint8_t)~(1u << j);
		hit++;
	}
	free(dup);
	return hit;
}

int
udc_blist_from_input(struct udc_blist *l, const struct udc_input_opts *opts,
    const uint8_t round_id[16], const struct udc_scalar *s, struct udc_workq *wq,
    struct udc_input_stats *st, char *err, size_t errlen)
{
	return udc_blist_from_input_ext(l, opts, round_id, s, wq, NULL, NULL, st, err, errlen);
}

int
udc_blist_from_input_ext(struct udc_blist *l, const struct udc_input_opts *opts,
    const uint8_t round_id[16], const struct udc_scalar *s, struct udc_workq *wq,
    udc_blist_extra_fn fill, void *fill_arg, struct udc_input_stats *st, char *err, size_t errlen)
{
	struct build_ctx b = { .l = l, .round_id = round_id, .s = s, .wq = wq, .fill = fill,
		.fill_arg = fill_arg };
	uint8_t *had = NULL;
	size_t w = 0;
	int rv;

	if ((rv = udc_input_read(opts, build_chunk, &b, st, err, errlen)) != 0) {
		if (err[0] == '\0')
			snprintf(err, errlen, "%s: %s", opts->path, udc_strerror(rv));
		goto out;
	}
	/* which records had a key before duplicates were taken out */
	if ((had = malloc(l->n ? l->n : 1)) == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	if (l->n > 0)
		memcpy(had, b.present, l->n);
	for (size_t j = 0; j < l->nkeys; j++) {
		long long hit = dedupe_key(l, j, b.present);
		if (hit < 0) {
			rv = (int)hit;
			goto out;
		}
		st->key_duplicate[j] += (uint64_t)hit;
	}
	/* Records whose every real key was shared are dropped: they cannot be
	 * linked 1:1 and would only inflate the margins. */
	for (size_t i = 0; i < l->n; i++) {
		if (b.bad[i]) {
			st->rejected[UDC_REJ_ENCODE]++;
			st->accepted--;
			continue;
		}
		/* Without exact keys (fuzzy mode) there is nothing to share; a
		 * record that never had one (combined mode) goes to the Dice
		 * step. */
		if (b.present[i] == 0 && had[i] != 0) {
			st->rejected[UDC_REJ_DUPLICATE]++;
			st->accepted--;
			continue;
		}
		if (w != i) {
			memmove(udc_blist_pt(l, w, 0), udc_blist_pt(l, i, 0), l->nkeys * 32);
			l->lab[w] = l->lab[i];
			if (l->extra)
				memmove(udc_blist_ext(l, w), udc_blist_ext(l, i), l->extra);
		}
		w++;
	}
	l->n = w;
out:
	free(had);
	free(b.present);
	free(b.bad);
	return rv;
}

int
udc_blist_pad(struct udc_blist *l, size_t nlabels, uint64_t *dummies)
{
	uint64_t *cnt, max = 0, add = 0;
	int rv = 0;

	if ((cnt = calloc(nlabels ? nlabels : 1, sizeof(*cnt))) == NULL)
		return UDC_ENOMEM;
	for (size_t i = 0; i < l->n; i++)
		if (l->lab[i] < nlabels)
			cnt[l->lab[i]]++;
	for (size_t c = 0; c < nlabels; c++)
		if (cnt[c] > max)
			max = cnt[c];
	for (size_t c = 0; c < nlabels; c++)
		add += max - cnt[c];
	if ((rv = udc_blist_reserve(l, (size_t)add)) != 0)
		goto out;
	/* The dummies' points in one run, in groups of UDC_GROUP_BATCH on the batch
	 * backend: they are contiguous at the end of the list. */
	if (add > 0 && l->nkeys > 0)
		udc_random_points(udc_blist_pt(l, l->n, 0), (size_t)add * l->nkeys);
	for (size_t c = 0; c < nlabels; c++) {
		dummies[c] = max - cnt[c];
		for (uint64_t k = 0; k < dummies[c]; k++) {
			if (l->extra)
				udc_random_buf(udc_blist_ext(l, l->n), l->extra);
			l->lab[l->n] = (uint16_t)c;
			l->n++;
		}
	}
out:
	free(cnt);
	return rv;
}

static void
swap_bytes(uint8_t *a, uint8_t *b, size_t n)
{
	uint8_t t[256];
	while (n) {
		size_t k = n < sizeof(t) ? n : sizeof(t);
		memcpy(t, a, k);
		memcpy(a, b, k);
		memcpy(b, t, k);
		a += k;
		b += k;
		n -= k;
	}
}

void
udc_blist_shuffle(struct udc_blist *l)
{
	uint8_t tmp[UDC_MAX_KEYS * 32];
	size_t rec = l->nkeys * 32;
	struct udc_random_stream rs;

	udc_random_stream_init(&rs);
	for (size_t i = l->n; i > 1; i--) {
		size_t k = (size_t)udc_random_stream_uniform(&rs, i);
		size_t a = i - 1;
		if (k == a)
			continue;
		if (rec == 0)
			goto labels;
		memcpy(tmp, udc_blist_pt(l, a, 0), rec);
		memcpy(udc_blist_pt(l, a, 0), udc_blist_pt(l, k, 0), rec);
		memcpy(udc_blist_pt(l, k, 0), tmp, rec);
	labels:;
		uint16_t t = l->lab[a];
		l->lab[a] = l->lab[k];
		l->lab[k] = t;
		if (l->extra)
			swap_bytes(udc_blist_ext(l, a), udc_blist_ext(l, k), l->extra);
	}
	sodium_memzero(tmp, sizeof(tmp));
	udc_random_stream_wipe(&rs);
}

int
udc_blind_records(uint8_t *pts, size_t n, size_t nkeys, const struct udc_scalar *s,
    struct udc_workq *wq)
{
	return udc_blind_batch(wq, s, pts, n * nkeys, NULL);
}

int
udc_blist_blind(struct udc_blist *l, const struct udc_scalar *s, struct udc_workq *wq)
{
	return udc_blind_records(l->pts, l->n, l->nkeys, s, wq);
}
