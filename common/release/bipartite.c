/*
 * bipartite.c - secondary suppression of a two-way table by certified
 * cycles (see bipartite.h for the model).
 *
 * Why a cycle is a proof: every row and column sum stays the same when the
 * entries of an alternating cycle move by +t, -t, +t, ...; if all of them
 * are suppressed, no released number changes either, so each value reached
 * for t in [-A, B] is consistent with everything the attacker knows.  The
 * attacker's system is an incidence matrix (totally unimodular), so the LP
 * interval of an entry is exactly what cycles reach, and an entry no cycle
 * passes through is determined.
 *
 * Speed: the old search (disclosure.c before this file) closed every cycle
 * with a Dijkstra over the whole table; suppressed entries cost nothing, so
 * each search explored the whole suppressed component, and a sparse
 * 65535 x 64 table took hours.  Here a rectangle through the entry is tried
 * first among a bounded set of candidates (the suppressed entries of its
 * row and column and the cheapest released ones), which almost always
 * exists in a real table; the Dijkstra remains for the few entries no
 * rectangle protects.
 */
#include "bipartite.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

#define F_ABSENT 1
#define F_NEG 2
#define F_SUP 4
#define NONE32 UINT32_MAX
#define NONE SIZE_MAX
/* Candidates per side in the rectangle search: suppressed, then released. */
#define K_SUP 48
#define K_REL 48
/* Heap pops a search for a cheaper longer cycle may take when a rectangle
 * was found: enough to search a small table completely, bounded on a large
 * one whose suppressed entries, all free, form one giant component. */
#define SEARCH_BUDGET 20000
/* All such searches together: on a large sparse table they would take
 * minutes and save about one complementary suppression in a hundred
 * (measured on 65535 x 64), so past this allowance rectangles are used as
 * they are found.  A count, not a clock: the result must not depend on the
 * machine's speed. */
#define TOTAL_BUDGET 2000000

struct supinfo {
	uint32_t e;
	uint64_t need, up, down; /* y-space: up and down of the entry as carried */
};

struct vec32 {
	uint32_t *v;
	size_t n, cap;
};

struct cycle {
	size_t off, len;
	uint64_t a, b;
};

struct hnode {
	uint64_t d;
	uint32_t v;
	uint32_t i; /* NONE32: vertex v at distance d; else cursor into its list */
};

struct udc_bip {
	size_t nr, nc, ne;
	uint64_t *val;
	uint8_t *flag;
	uint32_t *neg_e;
	uint64_t *neg_spare;
	size_t nneg, negcap;
	uint32_t *sidx;
	struct supinfo *sup;
	size_t nsup, supcap;
	struct vec32 *radj, *cadj; /* suppressed entries per row, per column */
	/* released usable entries per row (columns) and per column (rows), by cost */
	uint32_t *rstart, *rlist, *cstart, *clist;
	uint32_t *cyc;
	size_t ncyc, cyccap;
	struct cycle *cycles;
	size_t ncycles, cyclescap;
	uint64_t lb, zero_cost, need2;
	size_t nsecondary, nzeros, nrect, nlonger;
	size_t allowance; /* heap pops left for searches that compete with a rectangle */
	int done;
	/* Dijkstra scratch */
	uint64_t *dist;
	uint32_t *prev;
	uint8_t *vdone;
	uint32_t *touched;
	size_t ntouched;
	struct hnode *heap;
	size_t nheap, heapcap;
};

static uint64_t
sat_add(uint64_t a, uint64_t b)
{
	return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

static uint64_t
min64(uint64_t a, uint64_t b)
{
	return a < b ? a : b;
}

static uint64_t
max64(uint64_t a, uint64_t b)
{
	return a > b ? a : b;
}

int
udc_bip_new(struct udc_bip **out, size_t nr, size_t nc)
{
	struct udc_bip *b;

	*out = NULL;
	if (nr == 0 || nc == 0 || nr > UINT32_MAX / nc || nr * nc >= UINT32_MAX ||
	    nr + nc >= UINT32_MAX)
		return UDC_EINVAL;
	if ((b = calloc(1, sizeof(*b))) == NULL)
		return UDC_ENOMEM;
	b->nr = nr;
	b->nc = nc;
	b->ne = nr * nc;
	if ((b->val = calloc(b->ne, sizeof(*b->val))) == NULL ||
	    (b->flag = calloc(b->ne, 1)) == NULL ||
	    (b->sidx = malloc(b->ne * sizeof(*b->sidx))) == NULL ||
	    (b->radj = calloc(nr, sizeof(*b->radj))) == NULL ||
	    (b->cadj = calloc(nc, sizeof(*b->cadj))) == NULL) {
		udc_bip_free(b);
		return UDC_ENOMEM;
	}
	memset(b->sidx, 0xff, b->ne * sizeof(*b->sidx));
	*out = b;
	return 0;
}

void
udc_bip_free(struct udc_bip *b)
{
	if (b == NULL)
		return;
	if (b->radj != NULL)
		for (size_t r = 0; r < b->nr; r++)
			free(b->radj[r].v);
	if (b->cadj != NULL)
		for (size_t c = 0; c < b->nc; c++)
			free(b->cadj[c].v);
	free(b->radj);
	free(b->cadj);
	free(b->val);
	free(b->flag);
	free(b->neg_e);
	free(b->neg_spare);
	free(b->sidx);
	free(b->sup);
	free(b->rstart);
	free(b->rlist);
	free(b->cstart);
	free(b->clist);
	free(b->cyc);
	free(b->cycles);
	free(b->dist);
	free(b->prev);
	free(b->vdone);
	free(b->touched);
	free(b->heap);
	free(b);
}

void
udc_bip_set(struct udc_bip *b, size_t e, uint64_t count)
{
	b->val[e] = count;
}

void
udc_bip_absent(struct udc_bip *b, size_t e)
{
	b->flag[e] |= F_ABSENT;
}

int
udc_bip_negated(struct udc_bip *b, size_t e, uint64_t total, uint64_t spare)
{
	if (b->nneg > 0 && b->neg_e[b->nneg - 1] >= e)
		return UDC_EINVAL;
	if (b->nneg == b->negcap) {
		size_t cap = b->negcap ? 2 * b->negcap : 64;
		uint32_t *ne = realloc(b->neg_e, cap * sizeof(*ne));
		uint64_t *ns;

		if (ne == NULL)
			return UDC_ENOMEM;
		b->neg_e = ne;
		if ((ns = realloc(b->neg_spare, cap * sizeof(*ns))) == NULL)
			return UDC_ENOMEM;
		b->neg_spare = ns;
		b->negcap = cap;
	}
	b->neg_e[b->nneg] = (uint32_t)e;
	b->neg_spare[b->nneg++] = spare;
	b->val[e] = total;
	b->flag[e] |= F_NEG;
	return 0;
}

static uint64_t
spare_of(const struct udc_bip *b, size_t e)
{
	size_t lo = 0, hi = b->nneg;

	while (lo < hi) {
		size_t mid = (lo + hi) / 2;

		if (b->neg_e[mid] < e)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < b->nneg && b->neg_e[lo] == e ? b->neg_spare[lo] : UDC_BIP_UNLIMITED;
}

/* How far the entry as carried (y) may go up and down once suppressed. */
static void
caps(const struct udc_bip *b, size_t e, uint64_t *inc, uint64_t *dec)
{
	uint64_t slack = b->val[e] > b->lb ? b->val[e] - b->lb : 0;

	if (b->flag[e] & F_NEG) {
		*inc = slack;
		*dec = spare_of(b, e);
	} else {
		*inc = UDC_BIP_UNLIMITED;
		*dec = slack;
	}
}

static uint64_t
cost(const struct udc_bip *b, size_t e)
{
	if (b->flag[e] & F_ABSENT)
		return UDC_BIP_UNLIMITED;
	if (b->flag[e] & F_SUP)
		return 0;
	if (b->val[e] > 0)
		return b->val[e];
	return b->zero_cost;
}

static int
vec_push(struct vec32 *v, uint32_t x)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? 2 * v->cap : 4;
		uint32_t *nv = realloc(v->v, cap * sizeof(*nv));

		if (nv == NULL)
			return UDC_ENOMEM;
		v->v = nv;
		v->cap = cap;
	}
	v->v[v->n++] = x;
	return 0;
}

static int
mark_suppressed(struct udc_bip *b, size_t e, uint64_t need)
{
	struct supinfo *s;
	int rv;

	if (b->flag[e] & F_SUP) {
		s = &b->sup[b->sidx[e]];
		s->need = max64(s->need, need);
		return 0;
	}
	if (b->nsup == b->supcap) {
		size_t cap = b->supcap ? 2 * b->supcap : 256;
		struct supinfo *ns = realloc(b->sup, cap * sizeof(*ns));

		if (ns == NULL)
			return UDC_ENOMEM;
		b->sup = ns;
		b->supcap = cap;
	}
	if ((rv = vec_push(&b->radj[e / b->nc], (uint32_t)e)) != 0 ||
	    (rv = vec_push(&b->cadj[e % b->nc], (uint32_t)e)) != 0)
		return rv;
	s = &b->sup[b->nsup];
	s->e = (uint32_t)e;
	s->need = need;
	s->up = s->down = 0;
	b->sidx[e] = (uint32_t)b->nsup++;
	b->flag[e] |= F_SUP;
	return 0;
}

int
udc_bip_suppress(struct udc_bip *b, size_t e, uint64_t need)
{
	if (e >= b->ne || (b->flag[e] & F_ABSENT) || need == 0 || b->done)
		return UDC_EINVAL;
	return mark_suppressed(b, e, need);
}

int
udc_bip_is_suppressed(const struct udc_bip *b, size_t e)
{
	return (b->flag[e] & F_SUP) != 0;
}

void
udc_bip_interval(const struct udc_bip *b, size_t e, uint64_t *up, uint64_t *down)
{
	const struct supinfo *s;

	*up = *down = 0;
	if (!(b->flag[e] & F_SUP))
		return;
	s = &b->sup[b->sidx[e]];
	/* a negated total goes up when its carried value goes down */
	*up = b->flag[e] & F_NEG ? s->down : s->up;
	*down = b->flag[e] & F_NEG ? s->up : s->down;
}

size_t
udc_bip_ncycles(const struct udc_bip *b)
{
	return b->ncycles;
}

const uint32_t *
udc_bip_cycle(const struct udc_bip *b, size_t i, size_t *len, uint64_t *a, uint64_t *bmax)
{
	*len = b->cycles[i].len;
	*a = b->cycles[i].a;
	*bmax = b->cycles[i].b;
	return b->cyc + b->cycles[i].off;
}

/* --- the released entries per row and column, cheapest first --- */

static int
build_lists(struct udc_bip *b)
{
	uint32_t *order = NULL, *tmp = NULL;
	size_t n = 0;
	uint64_t maxc = 0;
	int rv = UDC_ENOMEM;

	if ((b->rstart = calloc(b->nr + 1, sizeof(*b->rstart))) == NULL ||
	    (b->cstart = calloc(b->nc + 1, sizeof(*b->cstart))) == NULL)
		goto out;
	for (size_t e = 0; e < b->ne; e++)
		if (!(b->flag[e] & F_SUP) && cost(b, e) != UDC_BIP_UNLIMITED)
			n++;
	if ((order = malloc((n ? n : 1) * sizeof(*order))) == NULL ||
	    (tmp = malloc((n ? n : 1) * sizeof(*tmp))) == NULL ||
	    (b->rlist = malloc((n ? n : 1) * sizeof(*b->rlist))) == NULL ||
	    (b->clist = malloc((n ? n : 1) * sizeof(*b->clist))) == NULL)
		goto out;
	n = 0;
	for (size_t e = 0; e < b->ne; e++)
		if (!(b->flag[e] & F_SUP) && cost(b, e) != UDC_BIP_UNLIMITED) {
			order[n++] = (uint32_t)e;
			maxc = max64(maxc, cost(b, e));
		}
	/* LSD radix sort by cost, 16 bits a pass, only as many passes as the
	 * largest cost needs: stable, so ties keep the order of e. */
	for (unsigned shift = 0; shift < 64 && (maxc >> shift) != 0; shift += 16) {
		size_t *cnt = calloc(65537, sizeof(*cnt));

		if (cnt == NULL)
			goto out;
		for (size_t i = 0; i < n; i++)
			cnt[((cost(b, order[i]) >> shift) & 0xffff) + 1]++;
		for (size_t k = 1; k <= 65536; k++)
			cnt[k] += cnt[k - 1];
		for (size_t i = 0; i < n; i++)
			tmp[cnt[(cost(b, order[i]) >> shift) & 0xffff]++] = order[i];
		free(cnt);
		memcpy(order, tmp, n * sizeof(*order));
	}
	for (size_t i = 0; i < n; i++) {
		b->rstart[order[i] / b->nc + 1]++;
		b->cstart[order[i] % b->nc + 1]++;
	}
	for (size_t r = 0; r < b->nr; r++)
		b->rstart[r + 1] += b->rstart[r];
	for (size_t c = 0; c < b->nc; c++)
		b->cstart[c + 1] += b->cstart[c];
	{
		uint32_t *rpos = malloc(b->nr * sizeof(*rpos)), *cpos = malloc(b->nc * sizeof(*cpos));

		if (rpos == NULL || cpos == NULL) {
			free(rpos);
			free(cpos);
			goto out;
		}
		memcpy(rpos, b->rstart, b->nr * sizeof(*rpos));
		memcpy(cpos, b->cstart, b->nc * sizeof(*cpos));
		for (size_t i = 0; i < n; i++) {
			uint32_t e = order[i];

			b->rlist[rpos[e / b->nc]++] = e;
			b->clist[cpos[e % b->nc]++] = e;
		}
		free(rpos);
		free(cpos);
	}
	rv = 0;
out:
	free(order);
	free(tmp);
	return rv;
}

/* --- certificates --- */

/* A and B of a cycle listed with signs +, -, +, ... */
static void
amplitude(const struct udc_bip *b, const uint32_t *ed, size_t len, uint64_t *a, uint64_t *bm)
{
	uint64_t A = UDC_BIP_UNLIMITED, B = UDC_BIP_UNLIMITED;

	for (size_t i = 0; i < len; i++) {
		uint64_t inc, dec;

		caps(b, ed[i], &inc, &dec);
		if (i % 2 == 0) {
			B = min64(B, inc);
			A = min64(A, dec);
		} else {
			B = min64(B, dec);
			A = min64(A, inc);
		}
	}
	*a = A;
	*bm = B;
}

/* Suppresses what the cycle needs, records it and widens its entries. */
static int
apply_cycle(struct udc_bip *b, const uint32_t *ed, size_t len)
{
	struct cycle *cy;
	uint64_t A, B;
	int rv;

	for (size_t i = 0; i < len; i++)
		if (!(b->flag[ed[i]] & F_SUP)) {
			if ((rv = mark_suppressed(b, ed[i], b->need2)) != 0)
				return rv;
			b->nsecondary++;
			b->nzeros += b->val[ed[i]] == 0;
		}
	amplitude(b, ed, len, &A, &B);
	if (b->ncyc + len > b->cyccap) {
		size_t cap = b->cyccap ? 2 * b->cyccap : 1024;
		uint32_t *nc;

		while (cap < b->ncyc + len)
			cap *= 2;
		if ((nc = realloc(b->cyc, cap * sizeof(*nc))) == NULL)
			return UDC_ENOMEM;
		b->cyc = nc;
		b->cyccap = cap;
	}
	if (b->ncycles == b->cyclescap) {
		size_t cap = b->cyclescap ? 2 * b->cyclescap : 256;
		struct cycle *nc = realloc(b->cycles, cap * sizeof(*nc));

		if (nc == NULL)
			return UDC_ENOMEM;
		b->cycles = nc;
		b->cyclescap = cap;
	}
	memcpy(b->cyc + b->ncyc, ed, len * sizeof(*ed));
	cy = &b->cycles[b->ncycles++];
	cy->off = b->ncyc;
	cy->len = len;
	cy->a = A;
	cy->b = B;
	b->ncyc += len;
	for (size_t i = 0; i < len; i++) {
		struct supinfo *s = &b->sup[b->sidx[ed[i]]];

		s->up = max64(s->up, i % 2 == 0 ? B : A);
		s->down = max64(s->down, i % 2 == 0 ? A : B);
	}
	return 0;
}

static int
is_protected(const struct supinfo *s)
{
	return sat_add(s->up, s->down) >= s->need;
}

/* --- rectangles --- */

/* Candidates along one row (cols) or column (rows): suppressed first, then
 * the cheapest released, each entry once; returns how many. */
static size_t
candidates(const struct udc_bip *b, const struct vec32 *sup, const uint32_t *list, size_t nlist,
           size_t self, uint32_t *out)
{
	size_t n = 0, k = 0;

	for (size_t i = 0; i < sup->n && k < K_SUP; i++)
		if (sup->v[i] != self) {
			out[n++] = sup->v[i];
			k++;
		}
	k = 0;
	for (size_t i = 0; i < nlist && k < K_REL; i++)
		if (!(b->flag[list[i]] & F_SUP) && list[i] != self) {
			out[n++] = list[i];
			k++;
		}
	return n;
}

/* The cheapest rectangle through e that protects it: 0 if found, else 1. */
static int
best_rectangle(struct udc_bip *b, size_t e, uint32_t out[4], uint64_t *bestcost)
{
	uint32_t rc[K_SUP + K_REL], cc[K_SUP + K_REL];
	size_t r = e / b->nc, c = e % b->nc, nrc, ncc;
	const struct supinfo *s = &b->sup[b->sidx[e]];
	uint64_t best = UDC_BIP_UNLIMITED, inc0, dec0;
	int found = 0;

	caps(b, e, &inc0, &dec0);
	/* rc: entries (r', c) of e's column; cc: entries (r, c') of its row */
	nrc = candidates(b, &b->cadj[c], b->clist + b->cstart[c], b->cstart[c + 1] - b->cstart[c],
	                 e, rc);
	ncc = candidates(b, &b->radj[r], b->rlist + b->rstart[r], b->rstart[r + 1] - b->rstart[r],
	                 e, cc);
	for (size_t i = 0; i < nrc; i++) {
		size_t e2 = rc[i], r2 = e2 / b->nc;
		uint64_t c2 = cost(b, e2), inc2, dec2;

		if (c2 >= best)
			break; /* rc is sorted by cost */
		caps(b, e2, &inc2, &dec2);
		for (size_t j = 0; j < ncc; j++) {
			size_t e1 = cc[j], c1 = e1 % b->nc, e3 = r2 * b->nc + c1;
			uint64_t k1 = cost(b, e1), k3, inc1, dec1, inc3, dec3, A, B, tot;

			if (c2 + k1 >= best)
				break;
			if ((k3 = cost(b, e3)) == UDC_BIP_UNLIMITED)
				continue;
			tot = sat_add(sat_add(c2, k1), k3);
			if (tot >= best)
				continue;
			caps(b, e1, &inc1, &dec1);
			caps(b, e3, &inc3, &dec3);
			/* order e +, e2 -, e3 +, e1 - */
			B = min64(min64(inc0, dec2), min64(inc3, dec1));
			A = min64(min64(dec0, inc2), min64(dec3, inc1));
			if (sat_add(max64(s->up, B), max64(s->down, A)) < s->need)
				continue;
			best = tot;
			out[0] = (uint32_t)e;
			out[1] = (uint32_t)e2;
			out[2] = (uint32_t)e3;
			out[3] = (uint32_t)e1;
			found = 1;
		}
	}
	*bestcost = best;
	return found ? 0 : 1;
}

/* --- longer cycles: Dijkstra with lazy cursors over the sorted lists --- */

static int
heap_push(struct udc_bip *b, uint64_t d, uint32_t v, uint32_t i)
{
	size_t k;

	if (b->nheap == b->heapcap) {
		size_t cap = b->heapcap ? 2 * b->heapcap : 1024;
		struct hnode *nh = realloc(b->heap, cap * sizeof(*nh));

		if (nh == NULL)
			return UDC_ENOMEM;
		b->heap = nh;
		b->heapcap = cap;
	}
	for (k = b->nheap++; k > 0 && b->heap[(k - 1) / 2].d > d; k = (k - 1) / 2)
		b->heap[k] = b->heap[(k - 1) / 2];
	b->heap[k].d = d;
	b->heap[k].v = v;
	b->heap[k].i = i;
	return 0;
}

static struct hnode
heap_pop(struct udc_bip *b)
{
	struct hnode top = b->heap[0], last = b->heap[--b->nheap];
	size_t k = 0;

	for (;;) {
		size_t c = 2 * k + 1;

		if (c >= b->nheap)
			break;
		if (c + 1 < b->nheap && b->heap[c + 1].d < b->heap[c].d)
			c++;
		if (b->heap[c].d >= last.d)
			break;
		b->heap[k] = b->heap[c];
		k = c;
	}
	if (b->nheap > 0)
		b->heap[k] = last;
	return top;
}

static void
touch(struct udc_bip *b, uint32_t v)
{
	if (b->dist[v] == UDC_BIP_UNLIMITED && !b->vdone[v])
		b->touched[b->ntouched++] = v;
}

/* May the path go from vertex v along entry e, with amplitude k left? */
static int
arc_ok(const struct udc_bip *b, size_t e, uint32_t v, uint64_t k)
{
	uint64_t inc, dec;

	caps(b, e, &inc, &dec);
	/* row to column is the + direction, column to row the - one */
	return v < b->nr ? inc >= k : dec >= k;
}

static uint32_t
other_end(const struct udc_bip *b, size_t e, uint32_t v)
{
	uint32_t r = (uint32_t)(e / b->nc), c = (uint32_t)(b->nr + e % b->nc);

	return v == r ? c : r;
}

static int
relax(struct udc_bip *b, uint32_t w, uint64_t d, size_t e)
{
	if (b->vdone[w] || d >= b->dist[w])
		return 0;
	touch(b, w);
	b->dist[w] = d;
	b->prev[w] = (uint32_t)e;
	return heap_push(b, d, w, NONE32);
}

/* Cheapest path src -> dst avoiding entry ex, every arc with amplitude >= k,
 * cheaper than limit, within *budget heap pops (NULL: no bound; the pops
 * are subtracted); *found 1 with the path in prev. */
static int
cheapest(struct udc_bip *b, uint32_t src, uint32_t dst, size_t ex, uint64_t k, uint64_t limit,
         size_t *budget, int *found)
{
	int rv;

	*found = 0;
	for (size_t i = 0; i < b->ntouched; i++) {
		b->dist[b->touched[i]] = UDC_BIP_UNLIMITED;
		b->vdone[b->touched[i]] = 0;
	}
	b->ntouched = 0;
	b->nheap = 0;
	touch(b, src);
	b->dist[src] = 0;
	b->prev[src] = NONE32;
	if ((rv = heap_push(b, 0, src, NONE32)) != 0)
		return rv;
	while (b->nheap > 0 && (budget == NULL || *budget > 0)) {
		struct hnode h = heap_pop(b);

		if (budget != NULL)
			(*budget)--;
		uint32_t v = h.v;

		if (h.d >= limit)
			break;
		const uint32_t *list = v < b->nr ? b->rlist + b->rstart[v]
		                                 : b->clist + b->cstart[v - b->nr];
		size_t nlist = v < b->nr ? b->rstart[v + 1] - b->rstart[v]
		                         : b->cstart[v - b->nr + 1] - b->cstart[v - b->nr];

		if (h.i != NONE32) {
			/* a cursor: one released entry of v, then the next */
			size_t e = list[h.i];

			if (h.i + 1 < nlist &&
			    (rv = heap_push(b, sat_add(b->dist[v], cost(b, list[h.i + 1])), v,
			                    h.i + 1)) != 0)
				return rv;
			if (e == ex || (b->flag[e] & F_SUP) || !arc_ok(b, e, v, k))
				continue;
			if ((rv = relax(b, other_end(b, e, v), h.d, e)) != 0)
				return rv;
			continue;
		}
		if (b->vdone[v])
			continue;
		b->vdone[v] = 1;
		if (v == dst) {
			*found = 1;
			return 0;
		}
		{
			const struct vec32 *adj = v < b->nr ? &b->radj[v] : &b->cadj[v - b->nr];

			for (size_t i = 0; i < adj->n; i++) {
				size_t e = adj->v[i];

				if (e == ex || !arc_ok(b, e, v, k))
					continue;
				if ((rv = relax(b, other_end(b, e, v), h.d, e)) != 0)
					return rv;
			}
		}
		if (nlist > 0 && (rv = heap_push(b, sat_add(h.d, cost(b, list[0])), v, 0)) != 0)
			return rv;
	}
	return 0;
}

/* The path dst <- src from prev, as entries in order from src. */
static size_t
path_edges(struct udc_bip *b, uint32_t src, uint32_t dst, uint32_t *out)
{
	size_t n = 0;

	for (uint32_t v = dst; v != src;) {
		uint32_t e = b->prev[v];

		out[n++] = e;
		v = other_end(b, e, v);
	}
	for (size_t i = 0; i < n / 2; i++) {
		uint32_t t = out[i];

		out[i] = out[n - 1 - i];
		out[n - 1 - i] = t;
	}
	return n;
}

static uint64_t
path_cost(const struct udc_bip *b, const uint32_t *ed, size_t n)
{
	uint64_t s = 0;

	for (size_t i = 0; i < n; i++)
		s = sat_add(s, cost(b, ed[i]));
	return s;
}

/* A cycle through e cheaper than limit that brings it to its need: 0 if
 * found, 1 if there is none (within budget), or an error. */
static int
longer_cycle(struct udc_bip *b, size_t e, uint32_t **buf, size_t *len, uint64_t limit,
             size_t *budget)
{
	const struct supinfo *s = &b->sup[b->sidx[e]];
	uint32_t r = (uint32_t)(e / b->nc), c = (uint32_t)(b->nr + e % b->nc);
	uint64_t inc, dec, kup, kdown, cu = UDC_BIP_UNLIMITED, cd = UDC_BIP_UNLIMITED;
	uint32_t *up = *buf, *down = *buf + (b->nr + b->nc + 1);
	size_t nup = 0, ndown = 0;
	int found, rv;

	caps(b, e, &inc, &dec);
	/* Up: e is +, path from its column back to its row raises it by B;
	 * down: e is -, path from its row to its column lowers it by B. */
	kup = s->need > s->down ? s->need - s->down : 1;
	kdown = s->need > s->up ? s->need - s->up : 1;
	if (inc >= kup) {
		if ((rv = cheapest(b, c, r, e, kup, limit, budget, &found)) != 0)
			return rv;
		if (found) {
			up[0] = (uint32_t)e;
			nup = 1 + path_edges(b, c, r, up + 1);
			cu = path_cost(b, up, nup);
		}
	}
	if (dec >= kdown) {
		if ((rv = cheapest(b, r, c, e, kdown, limit, budget, &found)) != 0)
			return rv;
		if (found) {
			ndown = path_edges(b, r, c, down);
			down[ndown++] = (uint32_t)e;
			cd = path_cost(b, down, ndown);
		}
	}
	if (nup == 0 && ndown == 0)
		return 1;
	if (nup > 0 && (ndown == 0 || cu <= cd)) {
		*len = nup;
	} else {
		memmove(up, down, ndown * sizeof(*up));
		*len = ndown;
	}
	return 0;
}

int
udc_bip_protect(struct udc_bip *b, const struct udc_bip_params *p, struct udc_bip_stats *st,
                size_t *failed)
{
	uint32_t *buf = NULL;
	size_t nv = b->nr + b->nc, nprimary = b->nsup;
	int rv;

	if (b->done || p->need == 0)
		return UDC_EINVAL;
	b->done = 1;
	b->lb = p->lb;
	b->zero_cost = p->zero_cost;
	b->need2 = p->need;
	b->allowance = TOTAL_BUDGET;
	if ((rv = build_lists(b)) != 0)
		goto out;
	rv = UDC_ENOMEM;
	if ((b->dist = malloc(nv * sizeof(*b->dist))) == NULL ||
	    (b->prev = malloc(nv * sizeof(*b->prev))) == NULL ||
	    (b->vdone = calloc(nv, 1)) == NULL ||
	    (b->touched = malloc(nv * sizeof(*b->touched))) == NULL ||
	    (buf = malloc(2 * (nv + 1) * sizeof(*buf))) == NULL)
		goto out;
	for (size_t v = 0; v < nv; v++)
		b->dist[v] = UDC_BIP_UNLIMITED;
	rv = 0;
	/* b->nsup grows as complements are suppressed; they are protected in
	 * their turn. */
	for (size_t i = 0; i < b->nsup; i++) {
		size_t e = b->sup[i].e, len;
		uint32_t rect[4];
		uint64_t rcost = 0;

		if (is_protected(&b->sup[i]))
			continue;
		/* The cheapest rectangle; then a longer cycle if one is cheaper
		 * (found within the search budget) or no rectangle will do. */
		if (best_rectangle(b, e, rect, &rcost) == 0) {
			size_t budget = b->allowance < SEARCH_BUDGET ? b->allowance : SEARCH_BUDGET,
			       given = budget;

			rv = 1;
			if (rcost > 0 && budget > 0)
				rv = longer_cycle(b, e, &buf, &len, rcost, &budget);
			b->allowance -= given - budget;
			if (rv == 0) {
				if ((rv = apply_cycle(b, buf, len)) != 0)
					goto out;
				b->nlonger++;
				continue;
			}
			if (rv < 0)
				goto out;
			if ((rv = apply_cycle(b, rect, 4)) != 0)
				goto out;
			b->nrect++;
		} else if ((rv = longer_cycle(b, e, &buf, &len, UDC_BIP_UNLIMITED, NULL)) == 0) {
			if ((rv = apply_cycle(b, buf, len)) != 0)
				goto out;
			b->nlonger++;
		} else if (rv < 0) {
			goto out;
		} else {
			if (failed != NULL)
				*failed = e;
			rv = UDC_EREFUSED;
			goto out;
		}
		/* A cycle that brings e to its need brings it there for good. */
	}
	rv = 0;
out:
	if (st != NULL) {
		st->primary = nprimary;
		st->secondary = b->nsecondary;
		st->zeros = b->nzeros;
		st->rectangles = b->nrect;
		st->longer = b->nlonger;
	}
	free(buf);
	return rv;
}
