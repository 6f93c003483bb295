/*
 * linked.c - the model of several linked tables over one base cube: the
 * cells of every table as sets of base cells, their true values, primary
 * suppression, and the release (noise, rounding, the ledger, CSV).
 * Secondary suppression and the LP audit are in protect.c.
 *
 * A cell of a table is a set of base cells of the form (rows) x (columns):
 * the gemeente-side coordinates and conditions pick the rows, the CBS-side
 * ones the columns, and the population says whether the "not linked" row
 * and column belong to it.  Each side's set is a product over that side's
 * base dimensions of one subset each (what the table's categories, recodes
 * and where conditions allow), so two cells have the same base cells
 * exactly when their two side sets are equal as such products: that is
 * the key under which cells of all tables are merged into distinct cells.
 */
#include "history.h"
#include "linked_int.h"
#include "magest.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"
#include "rand.h"

/* The sum columns where the sums are group-mean estimates (a spec with
 * groups has no exact sums). */
#define SUM_EST_COLS ",sum_estimate,sum_suppressed,mean_estimate"

/* --- small helpers --- */

void
lsetf(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (whylen == 0)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

static uint64_t
mix64(uint64_t x)
{
	x ^= x >> 33;
	x *= 0xff51afd7ed558ccdULL;
	x ^= x >> 33;
	x *= 0xc4ceb9fe1a85ec53ULL;
	x ^= x >> 33;
	return x;
}

/* At most three quarters full: linear probing stays short, and a map of
 * 4.3 million cells takes 100 MB, not 200. */
static int
lmap_init(struct lmap *m, size_t expect)
{
	size_t cap = 64;

	while (cap < expect + expect / 3 + 1)
		cap *= 2;
	m->cap = cap;
	m->n = 0;
	if ((m->key = malloc(cap * sizeof(*m->key))) == NULL ||
	    (m->val = malloc(cap * sizeof(*m->val))) == NULL)
		return UDC_ENOMEM;
	memset(m->val, 0xff, cap * sizeof(*m->val));
	return 0;
}

static void
lmap_free(struct lmap *m)
{
	free(m->key);
	free(m->val);
	memset(m, 0, sizeof(*m));
}

int
lmap_get(const struct lmap *m, uint64_t key, uint32_t *val)
{
	for (size_t i = mix64(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1)) {
		if (m->val[i] == UINT32_MAX)
			return -1;
		if (m->key[i] == key) {
			*val = m->val[i];
			return 0;
		}
	}
}

static int
lmap_put(struct lmap *m, uint64_t key, uint32_t val)
{
	if (4 * (m->n + 1) > 3 * m->cap) {
		struct lmap bigger;
		int rv;

		if ((rv = lmap_init(&bigger, m->cap)) != 0) {
			lmap_free(&bigger);
			return rv;
		}
		for (size_t i = 0; i < m->cap; i++)
			if (m->val[i] != UINT32_MAX && (rv = lmap_put(&bigger, m->key[i], m->val[i])) != 0) {
				lmap_free(&bigger);
				return rv;
			}
		lmap_free(m);
		*m = bigger;
	}
	for (size_t i = mix64(key) & (m->cap - 1);; i = (i + 1) & (m->cap - 1))
		if (m->val[i] == UINT32_MAX) {
			m->key[i] = key;
			m->val[i] = val;
			m->n++;
			return 0;
		}
}

/* --- interned subsets of one base dimension's values (id 0: all) --- */

static uint64_t
hash_u16(const uint16_t *v, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n;

	for (size_t i = 0; i < n; i++)
		h = mix64(h ^ v[i]) + i;
	return h;
}

static int
subsets_grow_slots(struct lsubsets *ss)
{
	size_t nslot = ss->nslot ? 2 * ss->nslot : 64;
	uint32_t *slot = calloc(nslot, sizeof(*slot));

	if (slot == NULL)
		return UDC_ENOMEM;
	for (size_t id = 1; id < ss->n; id++)
		for (size_t i = ss->s[id].hash & (nslot - 1);; i = (i + 1) & (nslot - 1))
			if (slot[i] == 0) {
				slot[i] = (uint32_t)id + 1;
				break;
			}
	free(ss->slot);
	ss->slot = slot;
	ss->nslot = nslot;
	return 0;
}

/* The id of a subset given sorted (n < nvalues; n == nvalues is "all"). */
static int
subset_intern(struct lsubsets *ss, const uint16_t *v, size_t n, size_t nvalues, uint32_t *id)
{
	uint64_t h;
	int rv;

	if (n == nvalues) {
		*id = 0;
		return 0;
	}
	if (ss->n == 0) {
		/* id 0 is "all" and never stored */
		if ((ss->s = calloc(16, sizeof(*ss->s))) == NULL)
			return UDC_ENOMEM;
		ss->cap = 16;
		ss->n = 1;
	}
	h = hash_u16(v, n);
	if (2 * (ss->n + 1) > ss->nslot && (rv = subsets_grow_slots(ss)) != 0)
		return rv;
	for (size_t i = h & (ss->nslot - 1);; i = (i + 1) & (ss->nslot - 1)) {
		uint32_t k = ss->slot[i];

		if (k == 0) {
			struct lsubset *s;

			if (ss->n == ss->cap) {
				struct lsubset *ns = realloc(ss->s, 2 * ss->cap * sizeof(*ns));

				if (ns == NULL)
					return UDC_ENOMEM;
				ss->s = ns;
				ss->cap *= 2;
			}
			s = &ss->s[ss->n];
			if ((s->v = malloc((n ? n : 1) * sizeof(*s->v))) == NULL)
				return UDC_ENOMEM;
			memcpy(s->v, v, n * sizeof(*v));
			s->n = n;
			s->hash = h;
			ss->slot[i] = (uint32_t)ss->n + 1;
			*id = (uint32_t)ss->n++;
			return 0;
		}
		if (ss->s[k - 1].hash == h && ss->s[k - 1].n == n &&
		    memcmp(ss->s[k - 1].v, v, n * sizeof(*v)) == 0) {
			*id = k - 1;
			return 0;
		}
	}
}

/* --- interned side sets --- */

static uint64_t
set_hash(const struct lset *s, size_t nd)
{
	uint64_t h = mix64((uint64_t)s->has_box << 1 | s->has_u);

	for (size_t d = 0; d < nd; d++)
		h = mix64(h ^ s->sub[d]) + d;
	return h;
}

static int
set_equal(const struct lset *a, const struct lset *b, size_t nd)
{
	if (a->has_box != b->has_box || a->has_u != b->has_u)
		return 0;
	for (size_t d = 0; d < nd; d++)
		if (a->sub[d] != b->sub[d])
			return 0;
	return 1;
}

/* *id of the set; LSET_NONE for the empty set. */
static int
set_intern(struct udc_linked *l, int side, struct lset *key, uint32_t *id)
{
	struct lsets *ss = &l->sets[side];
	size_t nd = l->spec->ndims[side];
	uint64_t h;

	if (!key->has_box)
		memset(key->sub, 0, sizeof(key->sub));
	if (!key->has_box && !key->has_u) {
		*id = LSET_NONE;
		return 0;
	}
	if (2 * (ss->n + 1) > ss->nslot) {
		size_t nslot = ss->nslot ? 2 * ss->nslot : 64;
		uint32_t *slot = calloc(nslot, sizeof(*slot));

		if (slot == NULL)
			return UDC_ENOMEM;
		for (size_t k = 0; k < ss->n; k++)
			for (size_t i = set_hash(&ss->s[k], nd) & (nslot - 1);; i = (i + 1) & (nslot - 1))
				if (slot[i] == 0) {
					slot[i] = (uint32_t)k + 1;
					break;
				}
		free(ss->slot);
		ss->slot = slot;
		ss->nslot = nslot;
	}
	h = set_hash(key, nd);
	for (size_t i = h & (ss->nslot - 1);; i = (i + 1) & (ss->nslot - 1)) {
		uint32_t k = ss->slot[i];

		if (k == 0) {
			if (ss->n == ss->cap) {
				size_t cap = ss->cap ? 2 * ss->cap : 64;
				struct lset *ns = realloc(ss->s, cap * sizeof(*ns));

				if (ns == NULL)
					return UDC_ENOMEM;
				ss->s = ns;
				ss->cap = cap;
			}
			ss->s[ss->n] = *key;
			ss->s[ss->n].members = NULL;
			ss->s[ss->n].nmembers = 0;
			ss->s[ss->n].listed = 0;
			ss->slot[i] = (uint32_t)ss->n + 1;
			*id = (uint32_t)ss->n++;
			return 0;
		}
		if (set_equal(&ss->s[k - 1], key, nd)) {
			*id = k - 1;
			return 0;
		}
	}
}

int
lset_members(struct udc_linked *l, int side, uint32_t id, const uint32_t **members, size_t *n)
{
	struct lset *s = &l->sets[side].s[id];
	size_t nd = l->spec->ndims[side], total = 1, k = 0;
	size_t end = side == UDC_SIDE_GEMEENTE ? l->G : l->C;
	size_t idx[UDC_MAX_DIMS] = {0};

	if (s->listed) {
		*members = s->members;
		*n = s->nmembers;
		return 0;
	}
	if (s->has_box)
		for (size_t d = 0; d < nd; d++)
			total *= s->sub[d] ? l->subs[side][d].s[s->sub[d]].n
			                   : l->spec->dims[side][d].nvalues;
	else
		total = 0;
	if ((s->members = malloc((total + 1) * sizeof(*s->members))) == NULL)
		return UDC_ENOMEM;
	/* the product of the subsets, as mixed-radix indices, in order */
	for (size_t m = 0; m < total; m++) {
		size_t cell = 0;

		for (size_t d = 0; d < nd; d++) {
			size_t v = s->sub[d] ? l->subs[side][d].s[s->sub[d]].v[idx[d]] : idx[d];

			cell += v * l->dstride[side][d];
		}
		s->members[k++] = (uint32_t)cell;
		for (size_t d = nd; d-- > 0;) {
			size_t lim = s->sub[d] ? l->subs[side][d].s[s->sub[d]].n
			                       : l->spec->dims[side][d].nvalues;

			if (++idx[d] < lim)
				break;
			idx[d] = 0;
		}
	}
	if (s->has_u)
		s->members[k++] = (uint32_t)end;
	s->nmembers = k;
	s->listed = 1;
	*members = s->members;
	*n = k;
	return 0;
}

/* --- distinct cells --- */

static int
cell_intern(struct udc_linked *l, uint32_t g, uint32_t c, uint32_t *id)
{
	uint64_t key;
	int rv;

	if (g == LSET_NONE || c == LSET_NONE) {
		*id = l->empty_cell;
		return 0;
	}
	key = (uint64_t)g << 32 | c;
	if (lmap_get(&l->cellmap, key, id) == 0)
		return 0;
	if (l->ncells == l->cellcap) {
		size_t cap = l->cellcap ? 2 * l->cellcap : 1024;
		struct lcell *nc = realloc(l->cells, cap * sizeof(*nc));

		if (nc == NULL)
			return UDC_ENOMEM;
		l->cells = nc;
		l->cellcap = cap;
	}
	if (l->ncells >= UINT32_MAX - 1)
		return UDC_ELIMIT;
	memset(&l->cells[l->ncells], 0, sizeof(l->cells[0]));
	l->cells[l->ncells].g = g;
	l->cells[l->ncells].c = c;
	if ((rv = lmap_put(&l->cellmap, key, (uint32_t)l->ncells)) != 0)
		return rv;
	*id = (uint32_t)l->ncells++;
	return 0;
}

int
lcell_base(struct udc_linked *l, uint32_t id, uint32_t **out, size_t *n)
{
	const struct lcell *cl = &l->cells[id];
	const uint32_t *gm, *cm;
	size_t ng, nc, k = 0;
	uint32_t *b;
	int rv;

	*out = NULL;
	*n = 0;
	if (cl->flags & LC_EMPTY)
		return 0;
	if ((rv = lset_members(l, 0, cl->g, &gm, &ng)) != 0 ||
	    (rv = lset_members(l, 1, cl->c, &cm, &nc)) != 0)
		return rv;
	if ((b = malloc((ng * nc + 1) * sizeof(*b))) == NULL)
		return UDC_ENOMEM;
	for (size_t i = 0; i < ng; i++)
		for (size_t j = 0; j < nc; j++) {
			if (gm[i] == l->G && cm[j] == l->C)
				continue; /* the corner does not exist */
			b[k++] = (uint32_t)(gm[i] * (l->C + 1) + cm[j]);
		}
	*out = b;
	*n = k;
	return 0;
}

int
lcells_of_base(const struct udc_linked *l, size_t b, uint32_t *ids, size_t cap, size_t *n)
{
	size_t g = b / (l->C + 1), c = b % (l->C + 1);

	*n = 0;
	for (size_t t = 0; t < l->ntables; t++) {
		const struct ltable *tb = &l->tables[t];
		size_t k0;

		if (tb->gpart[g] < 0 || tb->cpart[c] < 0)
			continue;
		k0 = (size_t)tb->gpart[g] + (size_t)tb->cpart[c];
		/* the finest cell and every total above it */
		for (size_t mask = 0; mask < ((size_t)1 << tb->ndims); mask++) {
			size_t k = k0;

			for (size_t i = 0; i < tb->ndims; i++)
				if (mask & ((size_t)1 << i)) {
					size_t digit = (k0 / tb->stride[i]) % tb->radix[i];

					k += (tb->radix[i] - 1 - digit) * tb->stride[i];
				}
			if (*n == cap)
				return UDC_ELIMIT;
			ids[(*n)++] = tb->cell[k];
		}
	}
	if (g < l->G && c <= l->C) {
		if (*n + 2 > cap)
			return UDC_ELIMIT;
		ids[(*n)++] = l->pub_row[g];
		if (c < l->C)
			ids[(*n)++] = l->pub_links;
	}
	if (l->pub_col != NULL && c < l->C) {
		if (*n == cap)
			return UDC_ELIMIT;
		ids[(*n)++] = l->pub_col[c];
	}
	return 0;
}

void
lcell_name(const struct udc_linked *l, uint32_t id, char *buf, size_t len)
{
	const struct udc_spec *spec = l->spec;

	for (size_t t = 0; t < l->ntables; t++) {
		const struct ltable *tb = &l->tables[t];

		for (size_t k = 0; k < tb->ncells; k++) {
			size_t off;

			if (tb->cell[k] != id)
				continue;
			off = (size_t)snprintf(buf, len, "table %s", tb->ts->name);
			for (size_t i = 0; i < tb->ndims && off < len; i++) {
				const struct udc_tdim *d = &tb->ts->dims[i];
				size_t digit = (k / tb->stride[i]) % tb->radix[i];

				off += (size_t)snprintf(
				    buf + off, len - off, ", %s=%s", udc_dimref_name(spec, &d->ref),
				    digit == d->ncats ? "total"
				                      : udc_dimref_value(spec, &d->ref, d->cats[digit]));
			}
			return;
		}
	}
	if (l->cells[id].flags & LC_PUBLIC)
		snprintf(buf, len, "a count the gemeente knows from its own list");
	else
		snprintf(buf, len, "cell %u", id);
}

/* --- building the tables --- */

/* Sorted intersection of a (NULL: all) and b into out; returns its size. */
static size_t
intersect(const uint16_t *a, size_t na, const uint16_t *b, size_t nb, uint16_t *out)
{
	size_t i = 0, j = 0, n = 0;

	if (a == NULL) {
		memcpy(out, b, nb * sizeof(*b));
		return nb;
	}
	while (i < na && j < nb) {
		if (a[i] < b[j])
			i++;
		else if (a[i] > b[j])
			j++;
		else {
			out[n++] = a[i];
			i++;
			j++;
		}
	}
	return n;
}

struct tbuild {
	/* per table dim: per category, the base values it covers (where applied) */
	uint16_t **catv[UDC_MAX_TABLE_DIMS];
	size_t *catn[UDC_MAX_TABLE_DIMS];
	/* per table dim: base value -> category, -1 if none */
	int32_t *cat_of[UDC_MAX_TABLE_DIMS];
	size_t base[UDC_MAX_TABLE_DIMS];
	/* per side and base dim: the values the conditions allow (NULL: all) */
	uint16_t *allowed[2][UDC_MAX_DIMS];
	size_t nallowed[2][UDC_MAX_DIMS];
};

static void
tbuild_free(struct tbuild *tb, const struct udc_tablespec *ts)
{
	for (size_t i = 0; i < ts->ndims; i++) {
		if (tb->catv[i] != NULL)
			for (size_t k = 0; k < ts->dims[i].ncats; k++)
				free(tb->catv[i][k]);
		free(tb->catv[i]);
		free(tb->catn[i]);
		free(tb->cat_of[i]);
	}
	for (int s = 0; s < 2; s++)
		for (size_t d = 0; d < UDC_MAX_DIMS; d++)
			free(tb->allowed[s][d]);
}

/* Does base value bv of (side, d) pass the table's conditions? */
static int
where_ok(const struct udc_spec *spec, const struct udc_tablespec *ts, int side, size_t d,
         size_t bv)
{
	for (size_t i = 0; i < ts->nwhere; i++) {
		const struct udc_dimref *r = &ts->where[i].dim;

		if (r->side == side && udc_dimref_base(spec, r) == d &&
		    !ts->where[i].allowed[udc_dimref_of_base(spec, r, bv)])
			return 0;
	}
	return 1;
}

static int
tbuild_init(struct udc_linked *l, const struct udc_tablespec *ts, struct tbuild *tb)
{
	const struct udc_spec *spec = l->spec;

	memset(tb, 0, sizeof(*tb));
	for (int s = 0; s < 2; s++)
		for (size_t d = 0; d < spec->ndims[s]; d++) {
			size_t nv = spec->dims[s][d].nvalues, n = 0;
			int restricted = 0;

			for (size_t i = 0; i < ts->nwhere; i++)
				restricted |= ts->where[i].dim.side == s &&
				              udc_dimref_base(spec, &ts->where[i].dim) == d;
			if (!restricted)
				continue;
			if ((tb->allowed[s][d] = malloc(nv * sizeof(uint16_t))) == NULL)
				return UDC_ENOMEM;
			for (size_t bv = 0; bv < nv; bv++)
				if (where_ok(spec, ts, s, d, bv))
					tb->allowed[s][d][n++] = (uint16_t)bv;
			tb->nallowed[s][d] = n;
		}
	for (size_t i = 0; i < ts->ndims; i++) {
		const struct udc_tdim *td = &ts->dims[i];
		size_t b = udc_dimref_base(spec, &td->ref), nv = spec->dims[td->ref.side][b].nvalues;
		size_t nref = udc_dimref_nvalues(spec, &td->ref);
		int32_t *pos;

		tb->base[i] = b;
		if ((tb->catv[i] = calloc(td->ncats, sizeof(*tb->catv[i]))) == NULL ||
		    (tb->catn[i] = calloc(td->ncats, sizeof(*tb->catn[i]))) == NULL ||
		    (tb->cat_of[i] = malloc(nv * sizeof(*tb->cat_of[i]))) == NULL)
			return UDC_ENOMEM;
		if ((pos = malloc(nref * sizeof(*pos))) == NULL)
			return UDC_ENOMEM;
		for (size_t v = 0; v < nref; v++)
			pos[v] = -1;
		for (size_t k = 0; k < td->ncats; k++)
			pos[td->cats[k]] = (int32_t)k;
		for (size_t k = 0; k < td->ncats; k++)
			if ((tb->catv[i][k] = malloc(nv * sizeof(uint16_t))) == NULL) {
				free(pos);
				return UDC_ENOMEM;
			}
		for (size_t bv = 0; bv < nv; bv++) {
			int32_t k = pos[udc_dimref_of_base(spec, &td->ref, bv)];

			if (k >= 0 && !where_ok(spec, ts, td->ref.side, b, bv))
				k = -1;
			tb->cat_of[i][bv] = k;
			if (k >= 0)
				tb->catv[i][k][tb->catn[i][k]++] = (uint16_t)bv;
		}
		free(pos);
	}
	return 0;
}

static int
pop_has(enum udc_population pop, int side, int *has_box, int *has_u)
{
	switch (pop) {
	case UDC_POP_LINKED:
		*has_box = 1;
		*has_u = 0;
		break;
	case UDC_POP_GEMEENTE_ONLY:
		*has_box = side == UDC_SIDE_GEMEENTE;
		*has_u = side == UDC_SIDE_CBS;
		break;
	case UDC_POP_CBS_ONLY:
		*has_box = side == UDC_SIDE_CBS;
		*has_u = side == UDC_SIDE_GEMEENTE;
		break;
	case UDC_POP_GEMEENTE:
		*has_box = 1;
		*has_u = side == UDC_SIDE_CBS;
		break;
	case UDC_POP_CBS:
		*has_box = 1;
		*has_u = side == UDC_SIDE_GEMEENTE;
		break;
	default:
		*has_box = *has_u = 0;
		return UDC_EINVAL;
	}
	return 0;
}

/* The side set of one cell: digit[i] for the table dims (radix - 1: total). */
static int
side_set(struct udc_linked *l, const struct udc_tablespec *ts, struct tbuild *tb, int side,
         const size_t *digit, uint32_t *id)
{
	const struct udc_spec *spec = l->spec;
	struct lset key;
	int has_box, has_u, rv;
	uint16_t *buf = NULL, *buf2 = NULL;

	memset(&key, 0, sizeof(key));
	if ((rv = pop_has(ts->pop, side, &has_box, &has_u)) != 0)
		return rv;
	key.has_box = (uint8_t)has_box;
	key.has_u = (uint8_t)has_u;
	for (size_t d = 0; d < spec->ndims[side] && key.has_box; d++) {
		size_t nv = spec->dims[side][d].nvalues, n;
		const uint16_t *cur = tb->allowed[side][d];

		n = cur ? tb->nallowed[side][d] : nv;
		for (size_t i = 0; i < ts->ndims; i++) {
			if (ts->dims[i].ref.side != side || tb->base[i] != d ||
			    digit[i] == ts->dims[i].ncats)
				continue;
			if (buf == NULL && ((buf = malloc(nv * sizeof(*buf))) == NULL ||
			                    (buf2 = malloc(nv * sizeof(*buf2))) == NULL)) {
				rv = UDC_ENOMEM;
				goto out;
			}
			n = intersect(cur, n, tb->catv[i][digit[i]], tb->catn[i][digit[i]], buf2);
			memcpy(buf, buf2, n * sizeof(*buf));
			cur = buf;
		}
		if (n == 0) {
			key.has_box = 0;
			break;
		}
		if (cur == NULL)
			key.sub[d] = 0;
		else if ((rv = subset_intern(&l->subs[side][d], cur, n, nv, &key.sub[d])) != 0)
			goto out;
	}
	rv = set_intern(l, side, &key, id);
out:
	free(buf);
	free(buf2);
	return rv;
}

static int
build_table(struct udc_linked *l, size_t t)
{
	const struct udc_spec *spec = l->spec;
	const struct udc_tablespec *ts = &spec->tables[t];
	struct ltable *tb = &l->tables[t];
	struct tbuild bld;
	size_t nside[2] = {1, 1}, sstride[UDC_MAX_TABLE_DIMS];
	uint32_t *sid[2] = {NULL, NULL};
	size_t digit[UDC_MAX_TABLE_DIMS];
	int rv;

	tb->ts = ts;
	tb->ndims = ts->ndims;
	tb->ncells = ts->ncells;
	for (size_t i = ts->ndims; i-- > 0;) {
		tb->radix[i] = ts->dims[i].ncats + 1;
		tb->stride[i] = i + 1 < ts->ndims ? tb->stride[i + 1] * tb->radix[i + 1] : 1;
	}
	/* combos of each side's table dims, first dim slowest */
	for (size_t i = ts->ndims; i-- > 0;) {
		int s = ts->dims[i].ref.side;

		sstride[i] = nside[s];
		nside[s] *= tb->radix[i];
	}
	if ((rv = tbuild_init(l, ts, &bld)) != 0)
		goto out;
	rv = UDC_ENOMEM;
	if ((sid[0] = malloc(nside[0] * sizeof(*sid[0]))) == NULL ||
	    (sid[1] = malloc(nside[1] * sizeof(*sid[1]))) == NULL ||
	    (tb->cell = malloc(tb->ncells * sizeof(*tb->cell))) == NULL ||
	    (tb->gpart = malloc((l->G + 1) * sizeof(*tb->gpart))) == NULL ||
	    (tb->cpart = malloc((l->C + 1) * sizeof(*tb->cpart))) == NULL)
		goto out;
	for (int s = 0; s < 2; s++)
		for (size_t k = 0; k < nside[s]; k++) {
			for (size_t i = 0; i < ts->ndims; i++)
				digit[i] = ts->dims[i].ref.side == s ? (k / sstride[i]) % tb->radix[i]
				                                     : 0;
			if ((rv = side_set(l, ts, &bld, s, digit, &sid[s][k])) != 0)
				goto out;
		}
	for (size_t k = 0; k < tb->ncells; k++) {
		size_t gk = 0, ck = 0;

		for (size_t i = 0; i < ts->ndims; i++) {
			size_t dg = (k / tb->stride[i]) % tb->radix[i];

			if (ts->dims[i].ref.side == UDC_SIDE_GEMEENTE)
				gk += dg * sstride[i];
			else
				ck += dg * sstride[i];
		}
		if ((rv = cell_intern(l, sid[0][gk], sid[1][ck], &tb->cell[k])) != 0)
			goto out;
		l->cells[tb->cell[k]].flags |= LC_TABLE;
		if (ts->zeros_sensitive)
			l->cells[tb->cell[k]].flags |= LC_ZSENS;
	}
	/* Where each base row and column goes (the finest cell), as the part
	 * of the table index that side contributes. */
	for (int s = 0; s < 2; s++) {
		size_t end = s == UDC_SIDE_GEMEENTE ? l->G : l->C;
		int32_t *part = s == UDC_SIDE_GEMEENTE ? tb->gpart : tb->cpart;
		int has_box, has_u;

		pop_has(ts->pop, s, &has_box, &has_u);
		for (size_t x = 0; x <= end; x++) {
			size_t idx[UDC_MAX_DIMS], p = 0;
			int in = 1;

			if (x == end) {
				part[x] = has_u ? 0 : -1;
				continue;
			}
			if (!has_box) {
				part[x] = -1;
				continue;
			}
			udc_spec_cell_split(spec, s, x, idx);
			for (size_t d = 0; d < spec->ndims[s] && in; d++)
				in = where_ok(spec, ts, s, d, idx[d]);
			for (size_t i = 0; i < ts->ndims && in; i++) {
				int32_t k;

				if (ts->dims[i].ref.side != s)
					continue;
				k = bld.cat_of[i][idx[bld.base[i]]];
				if (k < 0)
					in = 0;
				else
					p += (size_t)k * tb->stride[i];
			}
			part[x] = in ? (int32_t)p : -1;
		}
	}
	rv = 0;
out:
	tbuild_free(&bld, ts);
	free(sid[0]);
	free(sid[1]);
	return rv;
}

/* Totals: along each dimension in turn, a total is the sum of its
 * categories (later dimensions see the totals of earlier ones). */
static void
marginalize(const struct ltable *tb, uint64_t *v)
{
	for (size_t i = 0; i < tb->ndims; i++) {
		size_t n = tb->radix[i] - 1, st = tb->stride[i];

		for (size_t k = 0; k < tb->ncells; k++) {
			uint64_t sum = 0;

			if ((k / st) % tb->radix[i] != n)
				continue;
			for (size_t j = 0; j < n; j++)
				sum += v[k - (n - j) * st];
			v[k] = sum;
		}
	}
}

static void
mag_merge(struct udc_mag_cell *a, const struct udc_mag_cell *b)
{
	uint64_t x[4] = {a->top1, a->top2, b->top1, b->top2}, t1 = 0, t2 = 0;

	for (int i = 0; i < 4; i++) {
		if (x[i] > t1) {
			t2 = t1;
			t1 = x[i];
		} else if (x[i] > t2) {
			t2 = x[i];
		}
	}
	a->sum += b->sum;
	a->n += b->n;
	a->top1 = t1;
	a->top2 = t2;
}

static void
marginalize_mag(const struct ltable *tb, struct udc_mag_cell *v)
{
	for (size_t i = 0; i < tb->ndims; i++) {
		size_t n = tb->radix[i] - 1, st = tb->stride[i];

		for (size_t k = 0; k < tb->ncells; k++) {
			struct udc_mag_cell m = {0, 0, 0, 0};

			if ((k / st) % tb->radix[i] != n)
				continue;
			for (size_t j = 0; j < n; j++)
				mag_merge(&m, &v[k - (n - j) * st]);
			v[k] = m;
		}
	}
}

static int
table_values(struct udc_linked *l, size_t t, uint8_t *valued, char *why, size_t whylen)
{
	struct ltable *tb = &l->tables[t];
	uint64_t *v = calloc(tb->ncells, sizeof(*v));

	if (v == NULL)
		return UDC_ENOMEM;
	for (size_t g = 0; g <= l->G; g++) {
		if (tb->gpart[g] < 0)
			continue;
		for (size_t c = 0; c <= l->C; c++) {
			uint64_t x = l->base[g * (l->C + 1) + c];

			if (x > 0 && tb->cpart[c] >= 0)
				v[(size_t)tb->gpart[g] + (size_t)tb->cpart[c]] += x;
		}
	}
	marginalize(tb, v);
	for (size_t k = 0; k < tb->ncells; k++) {
		struct lcell *cl = &l->cells[tb->cell[k]];

		if (valued[tb->cell[k]] && cl->count != v[k]) {
			/* the same base cells summed twice cannot differ */
			lsetf(why, whylen, "internal: table %s cell %zu disagrees with another table",
			      tb->ts->name, k);
			free(v);
			return UDC_EINVAL;
		}
		cl->count = v[k];
		valued[tb->cell[k]] = 1;
	}
	free(v);
	return 0;
}

static int
mcell_intern(struct udc_linked *l, uint32_t cell, int attr, uint32_t *id)
{
	uint64_t key = (uint64_t)cell << 8 | (unsigned)attr;
	int rv;

	if (lmap_get(&l->mcellmap, key, id) == 0)
		return 0;
	if (l->nmcells == l->mcellcap) {
		size_t cap = l->mcellcap ? 2 * l->mcellcap : 256;
		struct lmcell *nm = realloc(l->mcells, cap * sizeof(*nm));

		if (nm == NULL)
			return UDC_ENOMEM;
		l->mcells = nm;
		l->mcellcap = cap;
	}
	memset(&l->mcells[l->nmcells], 0, sizeof(l->mcells[0]));
	l->mcells[l->nmcells].cell = cell;
	l->mcells[l->nmcells].attr = (uint8_t)attr;
	if (l->cells[cell].flags & LC_EMPTY)
		l->mcells[l->nmcells].flags |= LC_EMPTY;
	if ((rv = lmap_put(&l->mcellmap, key, (uint32_t)l->nmcells)) != 0)
		return rv;
	*id = (uint32_t)l->nmcells++;
	return 0;
}

static int
table_mags(struct udc_linked *l, size_t t)
{
	struct ltable *tb = &l->tables[t];
	int attr = tb->ts->sum;
	const struct udc_mag_cell *m = l->mag[attr];
	struct udc_mag_cell *v;
	int rv = 0;

	if ((v = calloc(tb->ncells, sizeof(*v))) == NULL ||
	    (tb->mcell = malloc(tb->ncells * sizeof(*tb->mcell))) == NULL) {
		free(v);
		return UDC_ENOMEM;
	}
	for (size_t g = 0; g <= l->G; g++) {
		if (tb->gpart[g] < 0)
			continue;
		for (size_t c = 0; c < l->C; c++)
			if (tb->cpart[c] >= 0)
				mag_merge(&v[(size_t)tb->gpart[g] + (size_t)tb->cpart[c]],
				          &m[g * (l->C + 1) + c]);
	}
	marginalize_mag(tb, v);
	for (size_t k = 0; k < tb->ncells && rv == 0; k++) {
		struct lmcell *mc;

		if ((rv = mcell_intern(l, tb->cell[k], attr, &tb->mcell[k])) != 0)
			break;
		mc = &l->mcells[tb->mcell[k]];
		mc->sum = v[k].sum;
		mc->n = v[k].n;
		mc->top1 = v[k].top1;
		mc->top2 = v[k].top2;
	}
	free(v);
	return rv;
}

/* The attacker's own knowledge as cells: its list per gemeente cell, the
 * CBS list per CBS cell when categories are not padded, the links. */
static int
public_cells(struct udc_linked *l)
{
	const struct udc_spec *spec = l->spec;
	struct lset key;
	uint32_t gs, cs;
	int rv;

	memset(&key, 0, sizeof(key));
	key.has_box = 1;
	key.has_u = 1;
	if ((rv = set_intern(l, 0, &key, &l->set_all_u[0])) != 0 ||
	    (rv = set_intern(l, 1, &key, &l->set_all_u[1])) != 0)
		return rv;
	key.has_u = 0;
	if ((rv = set_intern(l, 0, &key, &l->set_all[0])) != 0 ||
	    (rv = set_intern(l, 1, &key, &l->set_all[1])) != 0)
		return rv;
	if ((l->pub_row = malloc((l->G ? l->G : 1) * sizeof(*l->pub_row))) == NULL)
		return UDC_ENOMEM;
	if (spec->pad == UDC_PAD_NONE &&
	    (l->pub_col = malloc((l->C ? l->C : 1) * sizeof(*l->pub_col))) == NULL)
		return UDC_ENOMEM;
	for (int s = 0; s < 2; s++) {
		size_t end = s == 0 ? l->G : l->C;

		if (s == 1 && l->pub_col == NULL)
			break;
		for (size_t x = 0; x < end; x++) {
			size_t idx[UDC_MAX_DIMS];
			uint64_t sum = 0;
			uint32_t id;

			udc_spec_cell_split(spec, s, x, idx);
			memset(&key, 0, sizeof(key));
			key.has_box = 1;
			for (size_t d = 0; d < spec->ndims[s]; d++) {
				uint16_t v = (uint16_t)idx[d];

				if ((rv = subset_intern(&l->subs[s][d], &v, 1,
				                        spec->dims[s][d].nvalues, &key.sub[d])) != 0)
					return rv;
			}
			if ((rv = set_intern(l, s, &key, s == 0 ? &gs : &cs)) != 0)
				return rv;
			if (s == 0)
				rv = cell_intern(l, gs, l->set_all_u[1], &id);
			else
				rv = cell_intern(l, l->set_all_u[0], cs, &id);
			if (rv != 0)
				return rv;
			if (s == 0)
				for (size_t c = 0; c <= l->C; c++)
					sum += l->base[x * (l->C + 1) + c];
			else
				for (size_t g = 0; g <= l->G; g++)
					sum += l->base[g * (l->C + 1) + x];
			l->cells[id].flags |= LC_PUBLIC;
			l->cells[id].count = sum;
			(s == 0 ? l->pub_row : l->pub_col)[x] = id;
		}
	}
	if ((rv = cell_intern(l, l->set_all[0], l->set_all[1], &l->pub_links)) != 0)
		return rv;
	l->cells[l->pub_links].flags |= LC_PUBLIC;
	{
		uint64_t sum = 0;

		for (size_t g = 0; g < l->G; g++)
			for (size_t c = 0; c < l->C; c++)
				sum += l->base[g * (l->C + 1) + c];
		l->cells[l->pub_links].count = sum;
	}
	return 0;
}

int
udc_linked_new(struct udc_linked **out, const struct udc_spec *spec, const struct udc_table *counts,
               const struct udc_mag_cube *mags, char *why, size_t whylen)
{
	struct udc_linked *l = NULL;
	uint8_t *valued = NULL;
	size_t expect = 0;
	int rv = UDC_ENOMEM;

	*out = NULL;
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (spec->ntables == 0 || counts->ngroups != spec->ncells[0] ||
	    counts->ncats != spec->ncells[1] || spec->ncells[0] >= UINT32_MAX / 2 ||
	    spec->ncells[1] >= UINT32_MAX / 2 ||
	    (spec->ncells[0] + 1) > (UINT32_MAX - 1) / (spec->ncells[1] + 1)) {
		lsetf(why, whylen, "the counts do not have the spec's shape, or the spec has no table");
		return UDC_EINVAL;
	}
	for (size_t t = 0; t < spec->ntables; t++)
		if (spec->tables[t].sum >= 0 && !spec->tables[t].gtable &&
		    (mags == NULL || mags[spec->tables[t].sum].cells == NULL ||
		     mags[spec->tables[t].sum].c_unlinked == NULL)) {
			lsetf(why, whylen, "table %s sums %s, and no values of it were given",
			      spec->tables[t].name, spec->attrs[spec->tables[t].sum].name);
			return UDC_EINVAL;
		}
	if ((l = calloc(1, sizeof(*l))) == NULL)
		goto out;
	l->spec = spec;
	l->G = spec->ncells[0];
	l->C = spec->ncells[1];
	l->nb = (l->G + 1) * (l->C + 1);
	l->lb = 1;
	for (int s = 0; s < 2; s++)
		for (size_t d = spec->ndims[s]; d-- > 0;)
			l->dstride[s][d] = d + 1 < spec->ndims[s]
			                       ? l->dstride[s][d + 1] * spec->dims[s][d + 1].nvalues
			                       : 1;
	if ((l->base = calloc(l->nb, sizeof(*l->base))) == NULL)
		goto out;
	for (size_t g = 0; g < l->G; g++) {
		memcpy(l->base + g * (l->C + 1), counts->cells + g * l->C, l->C * sizeof(*l->base));
		l->base[g * (l->C + 1) + l->C] = counts->g_unlinked[g];
	}
	memcpy(l->base + l->G * (l->C + 1), counts->c_unlinked, l->C * sizeof(*l->base));
	for (size_t a = 0; a < spec->nattrs; a++) {
		if (mags == NULL || mags[a].cells == NULL)
			continue;
		if ((l->mag[a] = calloc(l->nb, sizeof(*l->mag[a]))) == NULL)
			goto out;
		for (size_t g = 0; g < l->G; g++)
			memcpy(l->mag[a] + g * (l->C + 1), mags[a].cells + g * l->C,
			       l->C * sizeof(*l->mag[a]));
		memcpy(l->mag[a] + l->G * (l->C + 1), mags[a].c_unlinked, l->C * sizeof(*l->mag[a]));
		for (size_t b = 0; b < l->nb; b++) {
			const struct udc_mag_cell *m = &l->mag[a][b];

			if (m->top2 > m->top1 || m->top1 > m->sum || m->sum - m->top1 < m->top2 ||
			    m->n > l->base[b] ||
			    (m->n == 0 && m->sum != 0) || (m->n == 1 && m->top2 != 0) ||
			    (m->n > 0 && m->top1 == 0)) {
				lsetf(why, whylen,
				      "attribute %s: base cell %zu has sum %" PRIu64 ", %" PRIu64
				      " contributions, largest %" PRIu64 " and %" PRIu64
				      " with %" PRIu64 " persons: inconsistent",
				      spec->attrs[a].name, b, m->sum, m->n, m->top1, m->top2, l->base[b]);
				rv = UDC_EINVAL;
				goto out;
			}
		}
	}
	for (size_t t = 0; t < spec->ntables; t++)
		expect += spec->tables[t].ncells;
	if ((rv = lmap_init(&l->cellmap, expect + l->G + l->C + 2)) != 0 ||
	    (rv = lmap_init(&l->mcellmap, 64)) != 0)
		goto out;
	/* cell 0 is the empty set */
	rv = UDC_ENOMEM;
	if ((l->cells = calloc(1024, sizeof(*l->cells))) == NULL)
		goto out;
	l->cellcap = 1024;
	l->ncells = 1;
	l->empty_cell = 0;
	l->cells[0].flags = LC_EMPTY;
	l->cells[0].g = l->cells[0].c = LSET_NONE;
	l->ntables = spec->ntables;
	for (size_t t = 0; t < spec->ntables; t++)
		if ((rv = build_table(l, t)) != 0)
			goto out;
	if ((rv = public_cells(l)) != 0)
		goto out;
	rv = UDC_ENOMEM;
	if ((valued = calloc(l->ncells, 1)) == NULL)
		goto out;
	for (size_t id = 0; id < l->ncells; id++)
		valued[id] = (l->cells[id].flags & (LC_PUBLIC | LC_EMPTY)) != 0;
	for (size_t t = 0; t < spec->ntables; t++) {
		if ((rv = table_values(l, t, valued, why, whylen)) != 0)
			goto out;
		if (spec->tables[t].sum >= 0 && !spec->tables[t].gtable && (rv = table_mags(l, t)) != 0)
			goto out;
	}
	/* What the gemeente derives from its own list: any cell of its whole
	 * list (every column), the links, and with unpadded categories any
	 * cell of the whole CBS list. */
	for (size_t id = 1; id < l->ncells; id++) {
		struct lcell *cl = &l->cells[id];

		if (cl->c == l->set_all_u[1] || id == l->pub_links ||
		    (l->pub_col != NULL && cl->g == l->set_all_u[0]))
			cl->flags |= LC_KNOWN;
	}
	*out = l;
	l = NULL;
	rv = 0;
out:
	if (rv == UDC_ENOMEM)
		lsetf(why, whylen, "out of memory");
	else if (rv == UDC_ELIMIT)
		lsetf(why, whylen, "more distinct cells than the model can hold");
	free(valued);
	udc_linked_free(l);
	return rv;
}

void
udc_linked_free(struct udc_linked *l)
{
	if (l == NULL)
		return;
	free(l->base);
	for (size_t a = 0; a < UDC_MAX_ATTRS; a++)
		free(l->mag[a]);
	for (int s = 0; s < 2; s++) {
		for (size_t d = 0; d < UDC_MAX_DIMS; d++) {
			struct lsubsets *ss = &l->subs[s][d];

			for (size_t i = 1; i < ss->n; i++)
				free(ss->s[i].v);
			free(ss->s);
			free(ss->slot);
		}
		for (size_t i = 0; i < l->sets[s].n; i++)
			free(l->sets[s].s[i].members);
		free(l->sets[s].s);
		free(l->sets[s].slot);
	}
	for (size_t t = 0; t < UDC_MAX_TABLES; t++) {
		free(l->tables[t].gpart);
		free(l->tables[t].cpart);
		free(l->tables[t].cell);
		free(l->tables[t].mcell);
		free(l->tables[t].est);
		free(l->tables[t].est_sup);
		free(l->tables[t].gmean);
		free(l->tables[t].gdef);
	}
	free(l->cells);
	lmap_free(&l->cellmap);
	free(l->mcells);
	lmap_free(&l->mcellmap);
	free(l->pub_row);
	free(l->pub_col);
	free(l);
}

/* --- primary suppression --- */

static void
primary(struct udc_linked *l, struct udc_linked_report *rep)
{
	const struct udc_spec *spec = l->spec;

	for (size_t id = 0; id < l->ncells; id++) {
		struct lcell *cl = &l->cells[id];
		enum udc_reason r = UDC_REASON_NONE;

		if (!(cl->flags & LC_TABLE) || (cl->flags & LC_EMPTY))
			continue;
		if (cl->flags & LC_FORCE)
			r = (enum udc_reason)cl->reason;
		else if (cl->count == 0 && (cl->flags & LC_ZSENS))
			r = UDC_REASON_ZERO;
		else if (spec->min_cell > 1 && cl->count > 0 && cl->count < spec->min_cell)
			r = UDC_REASON_SMALL;
		if (r == UDC_REASON_NONE)
			continue;
		cl->flags |= LC_SUP;
		cl->reason = (uint8_t)r;
		/* What the gemeente knows is shown to no one else, and needs no
		 * protection from the gemeente. */
		cl->need = (cl->flags & LC_KNOWN) ? 0 : spec->protection;
		rep->primary++;
		if (cl->count == 0)
			l->lb = 0;
	}
	for (size_t id = 0; id < l->nmcells; id++) {
		struct lmcell *m = &l->mcells[id];
		const struct lcell *cl = &l->cells[m->cell];
		uint64_t p = spec->p_percent, rest = m->sum - m->top1 - m->top2, upl;
		enum udc_reason r = UDC_REASON_NONE;

		if ((m->flags & LC_EMPTY) || cl->count == 0)
			continue;
		if ((cl->flags & LC_SUP) && cl->reason != UDC_REASON_SECONDARY)
			r = UDC_REASON_COUNT;
		else if (m->n < spec->min_contributors)
			r = UDC_REASON_CONTRIBUTORS;
		else if (udc_mag_dominated(m->sum, m->top1, m->top2, spec->p_percent))
			r = UDC_REASON_DOMINANCE;
		if (r == UDC_REASON_NONE)
			continue;
		/* Upper protection from the p%-rule: the second contributor must
		 * not bound the largest within p% from above.  A cell sensitive
		 * for another reason is protected as if the rest were 0. */
		upl = (p * m->top1 + 99) / 100;
		if (r == UDC_REASON_DOMINANCE)
			upl = (p * m->top1 - 100 * rest + 99) / 100;
		m->flags |= LC_SUP;
		m->reason = (uint8_t)r;
		m->need_up = upl;
		m->need_width = 1;
		rep->mag_primary++;
	}
}

int
udc_linked_suppress(struct udc_linked *l, struct udc_linked_report *rep, char *why, size_t whylen)
{
	struct udc_linked_report r;
	int rv;

	memset(&r, 0, sizeof(r));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (l->suppressed || l->marked)
		return UDC_EINVAL;
	l->suppressed = 1;
	for (size_t t = 0; t < l->ntables; t++)
		r.cells += l->tables[t].ncells;
	for (size_t id = 0; id < l->ncells; id++)
		r.distinct += (l->cells[id].flags & LC_TABLE) != 0;
	primary(l, &r);
	rv = linked_secondary(l, &r, why, whylen);
	r.lb = l->lb;
	r.two_way = l->two_way;
	r.certificates = l->certificates;
	r.lp_solves = l->lp_solves;
	r.lp_iterations = l->lp_iterations;
	for (size_t id = 0; id < l->ncells; id++) {
		const struct lcell *cl = &l->cells[id];

		if ((cl->flags & LC_SUP) && cl->count == 0)
			r.zeros++;
		l->cells[id].out = (cl->flags & LC_SUP) ? 0 : cl->count;
	}
	if (rep != NULL)
		*rep = r;
	return rv;
}

int
udc_linked_force(struct udc_linked *l, size_t t, size_t k, enum udc_reason why)
{
	if (t >= l->ntables || k >= l->tables[t].ncells)
		return UDC_EINVAL;
	return udc_linked_force_distinct(l, l->tables[t].cell[k], why);
}

int
udc_linked_mark(struct udc_linked *l, size_t t, size_t k, int sum)
{
	if (l->suppressed || t >= l->ntables || k >= l->tables[t].ncells ||
	    (sum && l->tables[t].mcell == NULL))
		return UDC_EINVAL;
	l->marked = 1;
	if (sum) {
		struct lmcell *m = &l->mcells[l->tables[t].mcell[k]];

		m->flags |= LC_SUP;
		m->reason = UDC_REASON_SECONDARY;
		m->need_width = 1;
	} else {
		struct lcell *cl = &l->cells[l->tables[t].cell[k]];

		if (cl->flags & LC_EMPTY)
			return 0;
		cl->flags |= LC_SUP;
		cl->reason = UDC_REASON_SECONDARY;
		cl->need = (cl->flags & LC_KNOWN) ? 0 : l->spec->protection;
		if (cl->count == 0)
			l->lb = 0;
	}
	return 0;
}

int
udc_linked_audit_local(struct udc_linked *l, size_t step, struct udc_linked_report *rep,
                       char *why, size_t whylen)
{
	struct udc_linked_report r;
	size_t solves;
	uint64_t iters;
	int rv;

	memset(&r, 0, sizeof(r));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (!l->suppressed && !l->marked)
		return UDC_EINVAL;
	solves = l->lp_solves;
	iters = l->lp_iterations;
	rv = linked_audit_local(l, step ? step : 1, &r, why, whylen);
	if (rep != NULL) {
		/* this audit's own work */
		rep->audited = r.audited;
		rep->audit_short = r.audit_short;
		rep->lp_solves = l->lp_solves - solves;
		rep->lp_iterations = l->lp_iterations - iters;
	}
	return rv;
}

int
udc_linked_audit(struct udc_linked *l, size_t step, struct udc_linked_report *rep, char *why,
                 size_t whylen)
{
	struct udc_linked_report r;
	size_t solves;
	uint64_t iters;
	int rv;

	memset(&r, 0, sizeof(r));
	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (!l->suppressed && !l->marked)
		return UDC_EINVAL;
	solves = l->lp_solves;
	iters = l->lp_iterations;
	rv = linked_audit(l, step ? step : 1, &r, why, whylen);
	if (rep != NULL) {
		/* this audit's own work */
		rep->audited = r.audited;
		rep->audit_short = r.audit_short;
		rep->lp_solves = l->lp_solves - solves;
		rep->lp_iterations = l->lp_iterations - iters;
	}
	return rv;
}

/* --- the release --- */

/*
 * The most released cells one person can change: a record added or
 * dropped changes the cells of one base cell, and a linked person losing
 * one of their records moves from (g, c) to (G, c) or (g, C), changing the
 * cells that hold one of the two but not both.  Each such cell moves by 1.
 */
static int
sensitivity(const struct udc_linked *l, uint64_t *out)
{
	enum { CAP = 4096 };
	uint32_t *a = malloc(CAP * sizeof(*a)), *b = malloc(CAP * sizeof(*b));
	uint64_t best = 0;
	int rv = 0;

	if (a == NULL || b == NULL) {
		rv = UDC_ENOMEM;
		goto out;
	}
	for (size_t base = 0; base < l->nb; base++) {
		size_t g = base / (l->C + 1), c = base % (l->C + 1), na, nbb, k;
		size_t others[2];
		int nothers = 0;

		if (g == l->G && c == l->C)
			continue; /* the corner does not exist */
		if ((rv = lcells_of_base(l, base, a, CAP, &na)) != 0)
			goto out;
		/* released table cells only, each once */
		k = 0;
		for (size_t i = 0; i < na; i++) {
			const struct lcell *cl = &l->cells[a[i]];
			size_t j;

			if (!(cl->flags & LC_TABLE) || (cl->flags & (LC_SUP | LC_EMPTY)))
				continue;
			for (j = 0; j < k && a[j] != a[i]; j++)
				;
			if (j == k)
				a[k++] = a[i];
		}
		na = k;
		if (na > best)
			best = na;
		if (g < l->G && c < l->C) {
			others[nothers++] = l->G * (l->C + 1) + c;
			others[nothers++] = g * (l->C + 1) + l->C;
		}
		for (int o = 0; o < nothers; o++) {
			size_t diff = 0;

			if ((rv = lcells_of_base(l, others[o], b, CAP, &nbb)) != 0)
				goto out;
			k = 0;
			for (size_t i = 0; i < nbb; i++) {
				const struct lcell *cl = &l->cells[b[i]];
				size_t j;

				if (!(cl->flags & LC_TABLE) || (cl->flags & (LC_SUP | LC_EMPTY)))
					continue;
				for (j = 0; j < k && b[j] != b[i]; j++)
					;
				if (j == k)
					b[k++] = b[i];
			}
			nbb = k;
			/* |A xor B| */
			for (size_t i = 0; i < na; i++) {
				size_t j;

				for (j = 0; j < nbb && b[j] != a[i]; j++)
					;
				diff += j == nbb;
			}
			for (size_t i = 0; i < nbb; i++) {
				size_t j;

				for (j = 0; j < na && a[j] != b[i]; j++)
					;
				diff += j == na;
			}
			if (diff > best)
				best = diff;
		}
	}
	*out = best;
out:
	free(a);
	free(b);
	return rv;
}

int
udc_linked_disclose(struct udc_linked *l, const struct udc_disclosure_params *p,
                    struct udc_linked_report *rep, char *why, size_t whylen)
{
	struct udc_linked_report r;
	int rv;

	memset(&r, 0, sizeof(r));
	r.charged.den = 1;
	if (l->disclosed || (p->eps_num > 0 && (p->eps_den == 0 || p->ledger_path == NULL ||
	                                        p->budget.den == 0))) {
		rv = UDC_EINVAL;
		goto out;
	}
	l->disclosed = 1;
	if ((rv = udc_linked_suppress(l, &r, why, whylen)) != 0)
		goto out;
	if ((rv = sensitivity(l, &r.sensitivity)) != 0)
		goto out;
	if (p->eps_num > 0) {
		/* Written before any draw: a crash wastes budget, never spends
		 * it unrecorded. */
		if ((rv = udc_ledger_charge(p, r.sensitivity, &r.charged)) != 0) {
			if (rv == UDC_EREFUSED)
				lsetf(why, whylen, "the privacy budget of this spec on this CBS data is spent");
			goto out;
		}
	}
	for (size_t id = 0; id < l->ncells; id++) {
		struct lcell *cl = &l->cells[id];
		uint64_t x = cl->count;

		if (!(cl->flags & LC_TABLE) || (cl->flags & (LC_SUP | LC_EMPTY))) {
			cl->out = 0;
			continue;
		}
		if (p->eps_num > 0) {
			int64_t z;

			if ((rv = udc_discrete_laplace(p->eps_num, p->eps_den, &z)) != 0)
				goto out;
			/* clamping at 0 is post-processing */
			x = z < 0 && (uint64_t)(-z) > x ? 0 : x + (uint64_t)z;
		}
		if (p->round_base > 1) {
			uint64_t m = x % p->round_base;

			x -= m;
			if (m > 0 && udc_random_uniform(p->round_base) < m)
				x += p->round_base;
		}
		cl->out = x;
	}
	rv = 0;
out:
	if (rep != NULL)
		*rep = r;
	return rv;
}

/* --- the release history's view --- */

size_t
udc_linked_ndistinct(const struct udc_linked *l)
{
	return l->ncells;
}

static void
key_side(const struct udc_linked *l, int side, uint32_t id, struct udc_entry_side *e)
{
	const struct lset *s;

	memset(e, 0, sizeof(*e));
	if (id == LSET_NONE)
		return;
	s = &l->sets[side].s[id];
	e->box = s->has_box;
	e->unlinked = s->has_u;
	for (size_t d = 0; s->has_box && d < l->spec->ndims[side]; d++) {
		if (s->sub[d] == 0)
			continue; /* every value */
		e->vals[d] = l->subs[side][d].s[s->sub[d]].v;
		e->nvals[d] = l->subs[side][d].s[s->sub[d]].n;
	}
}

int
udc_linked_distinct(const struct udc_linked *l, size_t id, uint64_t *truth, char *key,
                    size_t keylen)
{
	const struct lcell *cl;
	struct udc_entry_side e[2];

	if (id >= l->ncells)
		return UDC_EINVAL;
	cl = &l->cells[id];
	if (!(cl->flags & LC_TABLE) || (cl->flags & (LC_EMPTY | LC_KNOWN)))
		return 0;
	key_side(l, UDC_SIDE_GEMEENTE, cl->g, &e[0]);
	key_side(l, UDC_SIDE_CBS, cl->c, &e[1]);
	*truth = cl->count;
	if (udc_history_entry_key(l->spec, e, key, keylen) != 0)
		return UDC_ELIMIT;
	return 1;
}

int
udc_linked_force_distinct(struct udc_linked *l, size_t id, enum udc_reason why)
{
	struct lcell *cl;

	if (l->suppressed || l->marked || id >= l->ncells ||
	    (why != UDC_REASON_DIFFERENCE && why != UDC_REASON_ZERO && why != UDC_REASON_SMALL))
		return UDC_EINVAL;
	cl = &l->cells[id];
	if (cl->flags & LC_EMPTY)
		return 0;
	cl->flags |= LC_FORCE;
	cl->reason = (uint8_t)why;
	return 0;
}

int
udc_linked_force_small_zeros(struct udc_linked *l, const uint64_t *g_records,
                             const uint64_t *c_records, unsigned min_cell)
{
	size_t forced = 0;
	int rv;

	if (l->suppressed || l->marked)
		return UDC_EINVAL;
	if (min_cell <= 1)
		return 0;
	for (size_t id = 0; id < l->ncells; id++) {
		struct lcell *cl = &l->cells[id];
		const struct lset *gs, *cs;
		const uint32_t *m;
		size_t n;
		uint64_t held = 0;
		int hit = 0;

		if (!(cl->flags & LC_TABLE) || (cl->flags & (LC_EMPTY | LC_FORCE)) || cl->count != 0)
			continue;
		gs = &l->sets[0].s[cl->g];
		cs = &l->sets[1].s[cl->c];
		if (gs->has_box) {
			/* the gemeente records of the cell's rows (linked or not) */
			if ((rv = lset_members(l, 0, cl->g, &m, &n)) != 0)
				return rv;
			for (size_t i = 0; i < n; i++)
				if (m[i] < l->G)
					held += g_records[m[i]];
			hit = held > 0 && held < min_cell;
		}
		if (!hit && gs->has_u && !gs->has_box && cs->has_box) {
			held = 0;
			if ((rv = lset_members(l, 1, cl->c, &m, &n)) != 0)
				return rv;
			for (size_t i = 0; i < n; i++)
				if (m[i] < l->C)
					held += c_records[m[i]];
			hit = held > 0;
		}
		if (hit) {
			cl->flags |= LC_FORCE;
			cl->reason = UDC_REASON_ZERO;
			forced++;
		}
	}
	return (int)forced;
}

int
udc_linked_export(const struct udc_linked *l, uint64_t **out, uint8_t **flags, size_t *n)
{
	size_t total = l->ncells + l->nmcells;

	*out = malloc((total ? total : 1) * sizeof(**out));
	*flags = malloc(total ? total : 1);
	if (*out == NULL || *flags == NULL) {
		free(*out);
		free(*flags);
		*out = NULL;
		*flags = NULL;
		return UDC_ENOMEM;
	}
	for (size_t id = 0; id < l->ncells; id++) {
		const struct lcell *cl = &l->cells[id];

		(*out)[id] = (cl->flags & LC_SUP) ? 0 : cl->out;
		(*flags)[id] = (uint8_t)(((cl->flags & LC_SUP) != 0) | cl->reason << 1);
	}
	for (size_t id = 0; id < l->nmcells; id++) {
		const struct lmcell *m = &l->mcells[id];

		(*out)[l->ncells + id] = (m->flags & LC_SUP) ? 0 : m->sum;
		(*flags)[l->ncells + id] = (uint8_t)(((m->flags & LC_SUP) != 0) | m->reason << 1);
	}
	*n = total;
	return 0;
}

int
udc_linked_replay(struct udc_linked *l, const uint64_t *out, const uint8_t *flags, size_t n)
{
	if (l->suppressed || l->marked || n != l->ncells + l->nmcells)
		return UDC_EINVAL;
	/* The same data gives the same model: a released sum is its true sum. */
	for (size_t id = 0; id < l->nmcells; id++)
		if (!(flags[l->ncells + id] & 1) && out[l->ncells + id] != l->mcells[id].sum)
			return UDC_EINVAL;
	for (size_t id = 0; id < l->ncells; id++) {
		struct lcell *cl = &l->cells[id];

		if (flags[id] & 1) {
			cl->flags |= LC_SUP;
			cl->out = 0;
		} else {
			cl->flags &= (uint8_t)~LC_SUP;
			cl->out = out[id];
		}
		cl->reason = flags[id] >> 1;
	}
	for (size_t id = 0; id < l->nmcells; id++) {
		struct lmcell *m = &l->mcells[id];

		if (flags[l->ncells + id] & 1)
			m->flags |= LC_SUP;
		else
			m->flags &= (uint8_t)~LC_SUP;
		m->reason = flags[l->ncells + id] >> 1;
	}
	l->suppressed = l->disclosed = 1;
	return 0;
}

/* --- the released tables --- */

size_t
udc_linked_ntables(const struct udc_linked *l)
{
	return l->ntables;
}

size_t
udc_linked_ncells(const struct udc_linked *l, size_t t)
{
	return t < l->ntables ? l->tables[t].ncells : 0;
}

void
udc_linked_coords(const struct udc_linked *l, size_t t, size_t k, size_t *coords)
{
	const struct ltable *tb = &l->tables[t];

	for (size_t i = 0; i < tb->ndims; i++)
		coords[i] = (k / tb->stride[i]) % tb->radix[i];
}

size_t
udc_linked_index(const struct udc_linked *l, size_t t, const size_t *coords)
{
	const struct ltable *tb = &l->tables[t];
	size_t k = 0;

	for (size_t i = 0; i < tb->ndims; i++)
		k += coords[i] * tb->stride[i];
	return k;
}

int
udc_linked_get(const struct udc_linked *l, size_t t, size_t k, struct udc_linked_cell *out)
{
	const struct ltable *tb;
	const struct lcell *cl;

	if (t >= l->ntables || k >= l->tables[t].ncells)
		return UDC_EINVAL;
	tb = &l->tables[t];
	cl = &l->cells[tb->cell[k]];
	memset(out, 0, sizeof(*out));
	out->distinct = tb->cell[k];
	out->suppressed = (cl->flags & LC_SUP) != 0;
	out->reason = (enum udc_reason)cl->reason;
	out->count = out->suppressed ? 0 : cl->out;
	out->known = (cl->flags & LC_KNOWN) != 0;
	out->empty = (cl->flags & LC_EMPTY) != 0;
	out->audited = cl->audited;
	out->lo = cl->lo;
	out->hi = cl->hi;
	if (tb->mcell != NULL) {
		const struct lmcell *m = &l->mcells[tb->mcell[k]];

		out->has_sum = 1;
		out->sum_suppressed = (m->flags & LC_SUP) != 0;
		out->sum_reason = (enum udc_reason)m->reason;
		out->sum = out->sum_suppressed ? 0 : m->sum;
		out->mean = tb->ts->mean && !out->suppressed && !out->sum_suppressed;
		if (m->audited && !cl->audited) {
			out->audited = 1;
			out->lo = m->lo;
			out->hi = m->hi;
		}
	}
	if (tb->est != NULL) {
		out->has_sum = 1;
		out->sum_suppressed = tb->est_sup[k] != 0;
		out->sum_reason = out->sum_suppressed ? UDC_REASON_COUNT : UDC_REASON_NONE;
		out->sum = out->sum_suppressed ? 0 : tb->est[k];
		out->mean = tb->ts->mean && !out->suppressed && !out->sum_suppressed;
	}
	return 0;
}

/* --- group-mean estimates (docs/governance.md, "Magnitudes") --- */

/* The CBS part of cell k of table tb: its coordinates on the table's CBS
 * dimensions in mixed radix (ncats + 1 each, the total included). */
static size_t
est_part(const struct ltable *tb, size_t k)
{
	size_t p = 0;

	for (size_t i = 0; i < tb->ndims; i++)
		if (tb->ts->dims[i].ref.side == UDC_SIDE_CBS)
			p = p * tb->radix[i] + (k / tb->stride[i]) % tb->radix[i];
	return p;
}

/* Whether CBS cell c (base value idx per CBS dimension) is in CBS part p of
 * table ts: every CBS condition allows it and on every CBS dimension of the
 * table its value is the part's category (or the part is the total). */
static int
est_in_part(const struct udc_spec *spec, const struct ltable *tb, const size_t *idx, size_t p)
{
	const struct udc_tablespec *ts = tb->ts;

	for (size_t i = 0; i < ts->nwhere; i++) {
		const struct udc_where *w = &ts->where[i];

		if (w->dim.side == UDC_SIDE_CBS &&
		    !w->allowed[udc_dimref_of_base(spec, &w->dim, idx[udc_dimref_base(spec, &w->dim)])])
			return 0;
	}
	for (size_t i = tb->ndims; i-- > 0;) {
		const struct udc_tdim *d = &ts->dims[i];
		size_t coord, v;

		if (d->ref.side != UDC_SIDE_CBS)
			continue;
		coord = p % tb->radix[i];
		p /= tb->radix[i];
		v = udc_dimref_of_base(spec, &d->ref, idx[udc_dimref_base(spec, &d->ref)]);
		if (coord < d->ncats && d->cats[coord] != v)
			return 0;
	}
	return 1;
}

int
udc_linked_estimated(const struct udc_linked *l, size_t t)
{
	return t < l->ntables && l->tables[t].est != NULL;
}

int
udc_linked_group_means(const struct udc_linked *l, size_t t, size_t k, uint64_t *means,
                       uint8_t *defined)
{
	const struct ltable *tb;
	size_t p;

	if (t >= l->ntables || l->tables[t].est == NULL || k >= l->tables[t].ncells)
		return UDC_EINVAL;
	tb = &l->tables[t];
	p = est_part(tb, k);
	memcpy(means, tb->gmean + p * tb->ngroups, tb->ngroups * sizeof(*means));
	memcpy(defined, tb->gdef + p * tb->ngroups, tb->ngroups);
	return 0;
}

/* The estimates of sum table t from the released counts of its group
 * table f. */
static int
estimate_table(struct udc_linked *l, size_t t, const uint64_t *gsum, const uint64_t *gn)
{
	const struct udc_spec *spec = l->spec;
	struct ltable *tb = &l->tables[t], *fb = &l->tables[tb->ts->gtable - 1];
	const struct udc_attr *at = &spec->attrs[tb->ts->sum];
	size_t G = at->groups, nparts = 1, idx[UDC_MAX_DIMS], fc[UDC_MAX_TABLE_DIMS];
	unsigned __int128 *ps = NULL;
	uint64_t *pn = NULL;
	int rv = UDC_ENOMEM;

	for (size_t i = 0; i < tb->ndims; i++)
		if (tb->ts->dims[i].ref.side == UDC_SIDE_CBS)
			nparts *= tb->radix[i];
	tb->ngroups = (unsigned)G;
	if ((tb->est = calloc(tb->ncells, sizeof(*tb->est))) == NULL ||
	    (tb->est_sup = calloc(tb->ncells, 1)) == NULL ||
	    (tb->gmean = calloc(nparts * G, sizeof(*tb->gmean))) == NULL ||
	    (tb->gdef = calloc(nparts * G, 1)) == NULL ||
	    (ps = calloc(nparts * G, sizeof(*ps))) == NULL ||
	    (pn = calloc(nparts * G, sizeof(*pn))) == NULL)
		goto out;
	/* the means: over every CBS record of the part's categories in group g */
	for (size_t c = 0; c < l->C; c++) {
		size_t g;

		if (gn[c] == 0)
			continue;
		udc_spec_cell_split(spec, UDC_SIDE_CBS, c, idx);
		g = idx[at->gdim];
		for (size_t p = 0; p < nparts; p++)
			if (est_in_part(spec, tb, idx, p)) {
				ps[p * G + g] += gsum[c];
				pn[p * G + g] += gn[c];
			}
	}
	for (size_t i = 0; i < nparts * G; i++)
		if (pn[i] > 0) {
			tb->gdef[i] = 1;
			tb->gmean[i] = (uint64_t)((ps[i] * 2 + pn[i]) / (2 * (unsigned __int128)pn[i]));
		}
	/* per cell: the group table's cells (k, g), the group dimension last */
	for (size_t k = 0; k < tb->ncells; k++) {
		const struct lcell *cl = &l->cells[tb->cell[k]];
		size_t p = est_part(tb, k);
		unsigned __int128 e = 0;
		int sup = (cl->flags & LC_SUP) != 0;

		udc_linked_coords(l, t, k, fc);
		for (size_t g = 0; g < G && !sup; g++) {
			const struct lcell *fcl;

			fc[tb->ndims] = g;
			fcl = &l->cells[fb->cell[udc_linked_index(l, tb->ts->gtable - 1, fc)]];
			if (fcl->flags & LC_SUP)
				sup = 1;
			else if (tb->gdef[p * G + g])
				e += (unsigned __int128)fcl->out * tb->gmean[p * G + g];
			else if (fcl->out != 0)
				sup = 1; /* noise on a cell no record can be in: no mean to use */
		}
		tb->est_sup[k] = (uint8_t)sup;
		tb->est[k] = sup || e > UINT64_MAX ? 0 : (uint64_t)e;
		tb->est_sup[k] |= e > UINT64_MAX;
	}
	rv = 0;
out:
	if (rv != 0) {
		free(tb->est);
		free(tb->est_sup);
		free(tb->gmean);
		free(tb->gdef);
		tb->est = tb->gmean = NULL;
		tb->est_sup = tb->gdef = NULL;
	}
	free(ps);
	free(pn);
	return rv;
}

int
udc_linked_estimate(struct udc_linked *l, const uint64_t *gsum, const uint64_t *gn, char *why,
                    size_t whylen)
{
	int rv;

	if (why != NULL && whylen > 0)
		why[0] = '\0';
	if (!l->suppressed && !l->disclosed && !l->marked) {
		lsetf(why, whylen, "estimates come after the release");
		return UDC_EINVAL;
	}
	for (size_t t = 0; t < l->ntables; t++) {
		const struct udc_tablespec *ts = l->tables[t].ts;

		if (ts->sum < 0 || !ts->gtable)
			continue;
		if (gsum == NULL || gn == NULL || (size_t)(ts->gtable - 1) >= l->ntables) {
			lsetf(why, whylen, "table %s: no group sums were given", ts->name);
			return UDC_EINVAL;
		}
		if (l->tables[t].est != NULL)
			continue;
		if ((rv = estimate_table(l, t, gsum, gn)) != 0)
			return rv;
	}
	return 0;
}

const char *
udc_reason_name(enum udc_reason r)
{
	static const char *const names[] = {"",          "small",        "zero",
	                                    "contributors", "dominance", "count",
	                                    "secondary", "mean",      "difference"};

	return (unsigned)r < sizeof(names) / sizeof(names[0]) ? names[r] : "?";
}

static int
csv_field(FILE *f, const char *s, int first)
{
	if (!first && fputc(',', f) == EOF)
		return UDC_EIO;
	if (strpbrk(s, ",\"\r\n") == NULL)
		return fputs(s, f) == EOF ? UDC_EIO : 0;
	if (fputc('"', f) == EOF)
		return UDC_EIO;
	for (; *s != '\0'; s++)
		if ((*s == '"' && fputc('"', f) == EOF) || fputc(*s, f) == EOF)
			return UDC_EIO;
	return fputc('"', f) == EOF ? UDC_EIO : 0;
}

/* The columns after the dimensions: count, suppressed and, with sums, sum,
 * sum_suppressed, mean (blank for a table without).  No reason: why a cell
 * is suppressed ("zero", "small", "dominance" or "secondary") tells the
 * reader more than the protection allows for. */
static int
write_values(const struct udc_linked_cell *c, int sums, FILE *f)
{
	char num[32] = "";

	if (!c->suppressed)
		snprintf(num, sizeof(num), "%" PRIu64, c->count);
	if (fprintf(f, "%s,%d", num, c->suppressed) < 0)
		return UDC_EIO;
	if (sums && !c->has_sum)
		return fputs(",,,", f) == EOF ? UDC_EIO : 0;
	if (sums) {
		char sm[32] = "", mean[48] = "";

		if (!c->sum_suppressed)
			snprintf(sm, sizeof(sm), "%" PRIu64, c->sum);
		if (c->mean && c->count > 0) {
			/* two decimals, rounded half up, in integers */
			unsigned __int128 q = ((unsigned __int128)c->sum * 200 + c->count) /
			                      (2 * (unsigned __int128)c->count);

			snprintf(mean, sizeof(mean), "%" PRIu64 ".%02u", (uint64_t)(q / 100),
			         (unsigned)(q % 100));
		}
		if (fprintf(f, ",%s,%d,%s", sm, c->sum_suppressed, mean) < 0)
			return UDC_EIO;
	}
	return 0;
}

static const char *
coord_label(const struct udc_spec *spec, const struct udc_tdim *d, size_t coord)
{
	/* a total has no label: values are never empty */
	return coord == d->ncats ? "" : udc_dimref_value(spec, &d->ref, d->cats[coord]);
}

int
udc_linked_write_csv(const struct udc_linked *l, size_t t, FILE *f)
{
	const struct udc_spec *spec = l->spec;
	const struct ltable *tb;
	size_t coords[UDC_MAX_TABLE_DIMS];
	int rv = 0, sums;

	if (t >= l->ntables)
		return UDC_EINVAL;
	tb = &l->tables[t];
	sums = tb->mcell != NULL || tb->est != NULL;
	for (size_t i = 0; i < tb->ndims && rv == 0; i++)
		rv = csv_field(f, udc_dimref_name(spec, &tb->ts->dims[i].ref), i == 0);
	if (rv != 0 || fprintf(f, "%scount,suppressed%s\n", tb->ndims ? "," : "",
	                       !sums ? "" : tb->est ? SUM_EST_COLS : ",sum,sum_suppressed,mean") < 0)
		return UDC_EIO;
	for (size_t k = 0; k < tb->ncells; k++) {
		struct udc_linked_cell c;

		udc_linked_get(l, t, k, &c);
		udc_linked_coords(l, t, k, coords);
		for (size_t i = 0; i < tb->ndims; i++)
			if ((rv = csv_field(f, coord_label(spec, &tb->ts->dims[i], coords[i]), i == 0)) != 0)
				return rv;
		if ((tb->ndims && fputc(',', f) == EOF) || (rv = write_values(&c, sums, f)) != 0 ||
		    fputc('\n', f) == EOF)
			return rv ? rv : UDC_EIO;
	}
	return fflush(f) != 0 || ferror(f) ? UDC_EIO : 0;
}

static int
same_ref(const struct udc_dimref *a, const struct udc_dimref *b)
{
	return a->side == b->side && a->recode == b->recode && a->index == b->index;
}

int
udc_linked_write_long_csv(const struct udc_linked *l, FILE *f)
{
	const struct udc_spec *spec = l->spec;
	struct udc_dimref cols[UDC_MAX_TABLES * UDC_MAX_TABLE_DIMS];
	size_t ncols = 0, coords[UDC_MAX_TABLE_DIMS];
	int rv, sums = 0, est = 0;

	for (size_t t = 0; t < l->ntables; t++) {
		const struct ltable *tb = &l->tables[t];

		sums |= tb->mcell != NULL || tb->est != NULL;
		est |= tb->est != NULL;
		for (size_t i = 0; i < tb->ndims; i++) {
			size_t j;

			for (j = 0; j < ncols && !same_ref(&cols[j], &tb->ts->dims[i].ref); j++)
				;
			if (j == ncols)
				cols[ncols++] = tb->ts->dims[i].ref;
		}
	}
	if ((rv = csv_field(f, "table", 1)) != 0)
		return rv;
	for (size_t j = 0; j < ncols; j++)
		if ((rv = csv_field(f, udc_dimref_name(spec, &cols[j]), 0)) != 0)
			return rv;
	if (fprintf(f, ",count,suppressed%s\n",
	            !sums ? "" : est ? SUM_EST_COLS : ",sum,sum_suppressed,mean") < 0)
		return UDC_EIO;
	for (size_t t = 0; t < l->ntables; t++) {
		const struct ltable *tb = &l->tables[t];

		for (size_t k = 0; k < tb->ncells; k++) {
			struct udc_linked_cell c;

			udc_linked_get(l, t, k, &c);
			udc_linked_coords(l, t, k, coords);
			if ((rv = csv_field(f, tb->ts->name, 1)) != 0)
				return rv;
			for (size_t j = 0; j < ncols; j++) {
				const char *label = "";

				for (size_t i = 0; i < tb->ndims; i++)
					if (same_ref(&cols[j], &tb->ts->dims[i].ref))
						label = coord_label(spec, &tb->ts->dims[i], coords[i]);
				if ((rv = csv_field(f, label, 0)) != 0)
					return rv;
			}
			if (fputc(',', f) == EOF || (rv = write_values(&c, sums, f)) != 0 ||
			    fputc('\n', f) == EOF)
				return rv ? rv : UDC_EIO;
		}
	}
	return fflush(f) != 0 || ferror(f) ? UDC_EIO : 0;
}
