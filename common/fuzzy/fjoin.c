/*
 * fjoin.c - exact blocking for field scoring: the feature join.
 *
 * A pair's field score is S = sum_f 2|A_f & B_f| / sum_f (|A_f| + |B_f|)
 * over the features F present on both sides (D_f = |A_f| + |B_f|).  Some
 * features are indexed, each with a threshold tau_f; the others are not.
 * If no indexed feature of the pair reached its threshold, then
 *     S < (sum_indexed tau_f D_f + sum_other D_f) / sum_F D_f,
 * which is at most t when
 *     margin(A) + margin(B) >= 0,   margin(X) = sum_{f in F} c_f |X_f|,
 * with c_f = t - tau_f for an indexed feature and c_f = t - 1 for the
 * others.  So every pair with S >= t and margin(A) + margin(B) >= 0 has an
 * indexed feature whose own Dice reaches its threshold, and is found by
 * looking each indexed feature up at its threshold.  A pair whose margins do
 * not add up is compared directly, as exhaustive comparison would.  No pair
 * at or above the threshold is lost: that is a proof, not a probability
 * (docs/fuzzy.md).  F depends on the pair only through which features each
 * side has, so records are grouped by that mask (classes) and margins are
 * computed per record and class of the other side.
 *
 * A feature whose similarity is all or nothing (an exact encoding of a
 * date) may take a low threshold at no cost, and its c_f = t - tau_f then
 * pays for the features left out (sex, a house number) and for higher
 * thresholds on the costly ones (names, postcodes).
 *
 * Looking a feature up is done on values, not records: equal filters are
 * one value, and the values of a feature are far fewer than the records
 * (birth dates, surnames, postcodes).  Each value of A is compared with
 * every B value in its popcount window; the B records of the values at or
 * above the threshold are candidates.  A pair found through an earlier
 * feature is not compared again.
 *
 * The planner picks the features and thresholds from the number of values,
 * a sample of each feature's similarity mass and a sample of the records'
 * margins; if comparing every pair is cheaper it says so.
 */
#include "fuzzy_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "dice.h"
#include "err.h"
#include "workq.h"

#define FJ_EPS 1e-9          /* comparisons lean towards keeping a pair */
#define FJ_MAX_CLASSES 64    /* feature masks per side (more: every pair) */
#define FJ_SAMPLE 256        /* A records per feature to estimate its mass */
#define FJ_PLAN_RECORDS 8000 /* records per side to estimate the bound */
#define FJ_HBINS 1000        /* similarity histogram of the estimate */
#define FJ_CHUNK 256         /* B values compared together */
#define FJ_NONE UINT32_MAX

/* Costs in CPU nanoseconds, measured on the machine of docs/fuzzy.md (20,000
 * generated persons): one value compared with one value (four words), one
 * candidate found through a value (its B record fetched, checked against
 * the earlier features, scored), one pair compared exhaustively (streamed,
 * six features). */
#define FJ_C_SCAN 1.5
#define FJ_C_CAND 150.0
#define FJ_C_EXH 17.0

struct fvals {
	uint32_t nv;               /* distinct non-empty filters in A and B */
	uint32_t *pop;             /* per value */
	const uint64_t **vf;       /* per value: its filter (in a or b) */
	uint32_t *a_off, *a_rec;   /* A records per value */
	uint32_t *b_off, *b_rec;   /* B records per value */
	uint32_t nav, nbv;         /* values that occur in A, in B */
	uint32_t *av;              /* the A values */
	uint32_t *bv, *bv_pop;     /* the B values, by popcount */
	uint64_t *bv_f;            /* their filters in that order, segw words each */
	double hist[FJ_HBINS + 1]; /* plan: sampled B records per similarity bin */
	size_t sampled;            /* plan: A records sampled */
	size_t a_with;             /* A records with the feature */
};

struct fjoin {
	size_t nseg, segw;
	double t;
	uint64_t strong;                     /* features looked up */
	double tau[UDC_FUZZY_MAX_SEGMENTS];  /* their thresholds */
	double coef[UDC_FUZZY_MAX_SEGMENTS]; /* t - tau_f, or t - 1 for the others */
	struct fvals *fv;                    /* per feature */
	uint32_t *va, *vb;                   /* value per record and feature, FJ_NONE if empty */
	unsigned ncls_a, ncls_b;
	uint64_t cls_mask_a[FJ_MAX_CLASSES], cls_mask_b[FJ_MAX_CLASSES];
	uint16_t *cls_a, *cls_b;
	double *mbmin;                 /* [cb * ncls_a + ca]: smallest margin of a B of class cb
	                                * against class ca, among those looked up */
	uint32_t *bcls_off, *bcls_rec; /* B records by class */
	uint8_t *bdir;                 /* B records compared directly with some A class */
	uint32_t *dl_off, *dl_rec;     /* per A class: the B records compared directly with it */
	uint8_t *adir; /* [i * ncls_b + cb]: A record i compared directly with class cb */
	unsigned order[UDC_FUZZY_MAX_SEGMENTS]; /* looked-up features, pass order */
	unsigned norder;
	unsigned pass;         /* the pass being scored */
	uint64_t direct_pairs; /* pairs compared directly */
};

static const uint64_t *
seg_a(const struct ctx *c, size_t i, size_t s)
{
	return c->a + i * c->nwords + s * c->segw;
}

static const uint64_t *
seg_b(const struct ctx *c, size_t j, size_t s)
{
	return c->b + j * c->nwords + s * c->segw;
}

static uint64_t
hash_words(const uint64_t *w, size_t n)
{
	uint64_t h = 0x243f6a8885a308d3ULL;

	for (size_t i = 0; i < n; i++) {
		h ^= w[i];
		h *= 0x9e3779b97f4a7c15ULL;
		h ^= h >> 29;
	}
	return h;
}

/* Dice of two filters of one feature, >= tau, computed as a score is. */
static int
reaches(uint32_t and, uint32_t pa, uint32_t pb, double tau)
{
	return udc_dice_from_counts(and, pa, pb) >= tau - FJ_EPS;
}

/* ---------- values ---------- */

static int
cmp_pop_id(const void *x, const void *y)
{
	const uint64_t *p = x, *q = y;

	return *p < *q ? -1 : *p > *q;
}

/* The values of feature s: one id per distinct non-empty filter, the
 * records of each value on both sides, the B values by popcount. */
static int
build_values(struct ctx *c, struct fjoin *fj, size_t s)
{
	struct fvals *fv = &fj->fv[s];
	size_t n = c->n_a + c->n_b, cap = 16, mask, i;
	uint32_t *slot = NULL, *cnt_a = NULL, *cnt_b = NULL;
	uint64_t *tmp = NULL;
	int rv = UDC_ENOMEM;

	while (cap < 2 * n)
		cap *= 2;
	mask = cap - 1;
	if ((slot = malloc(cap * sizeof(*slot))) == NULL ||
	    (fv->pop = malloc((n ? n : 1) * sizeof(*fv->pop))) == NULL ||
	    (fv->vf = malloc((n ? n : 1) * sizeof(*fv->vf))) == NULL)
		goto out;
	memset(slot, 0xff, cap * sizeof(*slot));
	fv->nv = 0;
	for (i = 0; i < n; i++) {
		int is_a = i < c->n_a;
		size_t r = is_a ? i : i - c->n_a;
		const uint64_t *f = is_a ? seg_a(c, r, s) : seg_b(c, r, s);
		uint32_t pop = is_a ? c->pas[r * c->nseg + s] : c->pbs[r * c->nseg + s];
		uint32_t *dst = is_a ? &fj->va[r * c->nseg + s] : &fj->vb[r * c->nseg + s];
		size_t h;

		*dst = FJ_NONE;
		if (pop == 0)
			continue;
		for (h = hash_words(f, c->segw) & mask; slot[h] != FJ_NONE; h = (h + 1) & mask)
			if (fv->pop[slot[h]] == pop &&
			    memcmp(fv->vf[slot[h]], f, c->segw * sizeof(*f)) == 0)
				break;
		if (slot[h] == FJ_NONE) {
			slot[h] = fv->nv;
			fv->pop[fv->nv] = pop;
			fv->vf[fv->nv] = f;
			fv->nv++;
		}
		*dst = slot[h];
	}
	free(slot);
	slot = NULL;
	/* records per value, both sides (CSR) */
	if ((cnt_a = calloc(fv->nv + 1, sizeof(*cnt_a))) == NULL ||
	    (cnt_b = calloc(fv->nv + 1, sizeof(*cnt_b))) == NULL ||
	    (fv->a_off = calloc(fv->nv + 1, sizeof(*fv->a_off))) == NULL ||
	    (fv->b_off = calloc(fv->nv + 1, sizeof(*fv->b_off))) == NULL)
		goto out;
	fv->a_with = 0;
	for (i = 0; i < c->n_a; i++)
		if (fj->va[i * c->nseg + s] != FJ_NONE) {
			cnt_a[fj->va[i * c->nseg + s]]++;
			fv->a_with++;
		}
	for (i = 0; i < c->n_b; i++)
		if (fj->vb[i * c->nseg + s] != FJ_NONE)
			cnt_b[fj->vb[i * c->nseg + s]]++;
	fv->nav = fv->nbv = 0;
	for (i = 0; i < fv->nv; i++) {
		fv->a_off[i + 1] = fv->a_off[i] + cnt_a[i];
		fv->b_off[i + 1] = fv->b_off[i] + cnt_b[i];
		fv->nav += cnt_a[i] > 0;
		fv->nbv += cnt_b[i] > 0;
	}
	if ((fv->a_rec = malloc((fv->a_off[fv->nv] ? fv->a_off[fv->nv] : 1) * sizeof(uint32_t))) ==
	        NULL ||
	    (fv->b_rec = malloc((fv->b_off[fv->nv] ? fv->b_off[fv->nv] : 1) * sizeof(uint32_t))) ==
	        NULL ||
	    (fv->av = malloc((fv->nav ? fv->nav : 1) * sizeof(uint32_t))) == NULL ||
	    (fv->bv = malloc((fv->nbv ? fv->nbv : 1) * sizeof(uint32_t))) == NULL ||
	    (fv->bv_pop = malloc((fv->nbv ? fv->nbv : 1) * sizeof(uint32_t))) == NULL ||
	    (fv->bv_f = malloc((fv->nbv ? fv->nbv : 1) * c->segw * sizeof(uint64_t))) == NULL ||
	    (tmp = malloc((fv->nbv ? fv->nbv : 1) * sizeof(*tmp))) == NULL)
		goto out;
	memset(cnt_a, 0, (fv->nv + 1) * sizeof(*cnt_a));
	memset(cnt_b, 0, (fv->nv + 1) * sizeof(*cnt_b));
	for (i = 0; i < c->n_a; i++) {
		uint32_t v = fj->va[i * c->nseg + s];

		if (v != FJ_NONE)
			fv->a_rec[fv->a_off[v] + cnt_a[v]++] = (uint32_t)i;
	}
	for (i = 0; i < c->n_b; i++) {
		uint32_t v = fj->vb[i * c->nseg + s];

		if (v != FJ_NONE)
			fv->b_rec[fv->b_off[v] + cnt_b[v]++] = (uint32_t)i;
	}
	{
		uint32_t na = 0, nb = 0;

		for (i = 0; i < fv->nv; i++) {
			if (cnt_a[i])
				fv->av[na++] = (uint32_t)i;
			if (cnt_b[i])
				tmp[nb++] = (uint64_t)fv->pop[i] << 32 | i;
		}
	}
	qsort(tmp, fv->nbv, sizeof(*tmp), cmp_pop_id);
	for (i = 0; i < fv->nbv; i++) {
		fv->bv[i] = (uint32_t)tmp[i];
		fv->bv_pop[i] = (uint32_t)(tmp[i] >> 32);
		memcpy(fv->bv_f + i * c->segw, fv->vf[fv->bv[i]], c->segw * sizeof(uint64_t));
	}
	rv = 0;
out:
	free(slot);
	free(cnt_a);
	free(cnt_b);
	free(tmp);
	return rv;
}

/* Range [lo, hi) of the B values of feature s whose popcount allows a Dice
 * of tau with a filter of popcount p: 2 min / (p + q) >= tau. */
static void
value_window(const struct fvals *fv, uint32_t p, double tau, size_t *lo, size_t *hi)
{
	size_t l = 0, h = fv->nbv;

	if (tau <= 0) {
		*lo = 0;
		*hi = fv->nbv;
		return;
	}
	/* smallest q with 2q / (p + q) >= tau, q <= p */
	while (l < h) {
		size_t m = l + (h - l) / 2;
		uint32_t q = fv->bv_pop[m];

		if (q < p && !reaches(q, p, q, tau))
			l = m + 1;
		else
			h = m;
	}
	*lo = l;
	h = fv->nbv;
	while (l < h) {
		size_t m = l + (h - l) / 2;
		uint32_t q = fv->bv_pop[m];

		if (q <= p || reaches(p, p, q, tau))
			l = m + 1;
		else
			h = m;
	}
	*hi = l;
}

/* ---------- margins per record and class ---------- */

/* A record's margin (popcounts pops, own mask m) against a class of mask o:
 * sum over the features both have of c_f |X_f|. */
static double
margin_of(const struct fjoin *fj, const uint32_t *pops, uint64_t m, uint64_t o)
{
	double r = 0;

	for (uint64_t x = m & o; x != 0; x &= x - 1) {
		size_t k = (size_t)__builtin_ctzll(x);

		r += fj->coef[k] * pops[k];
	}
	return r;
}

static int
class_of(uint64_t *masks, unsigned *n, uint64_t m)
{
	for (unsigned i = 0; i < *n; i++)
		if (masks[i] == m)
			return (int)i;
	if (*n == FJ_MAX_CLASSES)
		return -1;
	masks[*n] = m;
	return (int)(*n)++;
}

/* 1 if B record b is compared directly with A records of class ca: its
 * margin against that class is negative. */
static int
b_direct(const struct ctx *c, const struct fjoin *fj, uint32_t b, unsigned ca)
{
	return fj->bdir[b] &&
	       margin_of(fj, c->pbs + (size_t)b * c->nseg, c->mb[b], fj->cls_mask_a[ca]) < 0;
}

/* Classes of both sides, the B records compared directly with each A
 * class, the smallest margin of the others, B by class, and which classes
 * each A record is compared with directly.  UDC_ELIMIT if there are too
 * many classes. */
static int
build_bounds(struct ctx *c, struct fjoin *fj)
{
	size_t i, nc;
	uint32_t *cnt = NULL, *acnt = NULL, *dcnt = NULL;
	int rv = UDC_ENOMEM;

	fj->ncls_a = fj->ncls_b = 0;
	for (i = 0; i < c->n_a; i++) {
		int k = class_of(fj->cls_mask_a, &fj->ncls_a, c->ma[i]);
		if (k < 0)
			return UDC_ELIMIT;
		fj->cls_a[i] = (uint16_t)k;
	}
	for (i = 0; i < c->n_b; i++) {
		int k = class_of(fj->cls_mask_b, &fj->ncls_b, c->mb[i]);
		if (k < 0)
			return UDC_ELIMIT;
		fj->cls_b[i] = (uint16_t)k;
	}
	nc = (size_t)fj->ncls_a * fj->ncls_b;
	if ((fj->mbmin = malloc((nc ? nc : 1) * sizeof(*fj->mbmin))) == NULL ||
	    (fj->bdir = calloc(c->n_b ? c->n_b : 1, 1)) == NULL ||
	    (fj->bcls_off = calloc(fj->ncls_b + 1, sizeof(*fj->bcls_off))) == NULL ||
	    (fj->bcls_rec = malloc((c->n_b ? c->n_b : 1) * sizeof(*fj->bcls_rec))) == NULL ||
	    (fj->dl_off = calloc(fj->ncls_a + 1, sizeof(*fj->dl_off))) == NULL ||
	    (cnt = calloc(fj->ncls_b + 1, sizeof(*cnt))) == NULL ||
	    (acnt = calloc(fj->ncls_a + 1, sizeof(*acnt))) == NULL ||
	    (dcnt = calloc(fj->ncls_a + 1, sizeof(*dcnt))) == NULL ||
	    (fj->adir = malloc((c->n_a ? c->n_a : 1) * fj->ncls_b)) == NULL)
		goto out;
	for (i = 0; i < nc; i++)
		fj->mbmin[i] = INFINITY;
	for (i = 0; i < c->n_a; i++)
		acnt[fj->cls_a[i]]++;
	for (i = 0; i < c->n_b; i++) {
		const uint32_t *pops = c->pbs + i * c->nseg;
		unsigned cb = fj->cls_b[i];

		for (unsigned ca = 0; ca < fj->ncls_a; ca++) {
			double m = margin_of(fj, pops, c->mb[i], fj->cls_mask_a[ca]);
			double *slot = &fj->mbmin[(size_t)cb * fj->ncls_a + ca];

			if (m < 0) {
				fj->bdir[i] = 1;
				dcnt[ca]++;
			} else if (m < *slot) {
				*slot = m;
			}
		}
		cnt[cb]++;
	}
	for (unsigned k = 0; k < fj->ncls_b; k++)
		fj->bcls_off[k + 1] = fj->bcls_off[k] + cnt[k];
	for (unsigned k = 0; k < fj->ncls_a; k++)
		fj->dl_off[k + 1] = fj->dl_off[k] + dcnt[k];
	if ((fj->dl_rec = malloc((fj->dl_off[fj->ncls_a] ? fj->dl_off[fj->ncls_a] : 1) *
	                         sizeof(*fj->dl_rec))) == NULL)
		goto out;
	memset(cnt, 0, (fj->ncls_b + 1) * sizeof(*cnt));
	memset(dcnt, 0, (fj->ncls_a + 1) * sizeof(*dcnt));
	fj->direct_pairs = 0;
	for (i = 0; i < c->n_b; i++) {
		unsigned cb = fj->cls_b[i];

		fj->bcls_rec[fj->bcls_off[cb] + cnt[cb]++] = (uint32_t)i;
		if (!fj->bdir[i])
			continue;
		for (unsigned ca = 0; ca < fj->ncls_a; ca++)
			if (b_direct(c, fj, (uint32_t)i, ca)) {
				fj->dl_rec[fj->dl_off[ca] + dcnt[ca]++] = (uint32_t)i;
				fj->direct_pairs += acnt[ca];
			}
	}
	/* A record i is looked up against class cb when its margin and the
	 * smallest margin of the B records looked up there add up */
	for (i = 0; i < c->n_a; i++) {
		const uint32_t *pops = c->pas + i * c->nseg;
		unsigned ca = fj->cls_a[i];

		for (unsigned cb = 0; cb < fj->ncls_b; cb++) {
			double mb = fj->mbmin[(size_t)cb * fj->ncls_a + ca];
			int d = mb != INFINITY &&
			        margin_of(fj, pops, c->ma[i], fj->cls_mask_b[cb]) + mb < 0;

			fj->adir[i * fj->ncls_b + cb] = (uint8_t)d;
			if (d)
				fj->direct_pairs += fj->bcls_off[cb + 1] - fj->bcls_off[cb];
		}
	}
	rv = 0;
out:
	free(cnt);
	free(acnt);
	free(dcnt);
	return rv;
}

/* ---------- planning ---------- */

/* Sampled similarity mass of feature s: for FJ_SAMPLE A records with the
 * feature, the B records at each similarity (every B value compared). */
static int
sample_mass(struct ctx *c, struct fjoin *fj, size_t s, uint64_t seed)
{
	struct fvals *fv = &fj->fv[s];
	uint32_t cnt[FJ_CHUNK];
	size_t tries;

	memset(fv->hist, 0, sizeof(fv->hist));
	fv->sampled = 0;
	if (fv->a_with == 0 || fv->nbv == 0)
		return 0;
	for (tries = 0; fv->sampled < FJ_SAMPLE && tries < 8 * FJ_SAMPLE; tries++) {
		size_t i = fz_splitmix64(&seed) % c->n_a;
		uint32_t pa = c->pas[i * c->nseg + s];
		const uint64_t *q = seg_a(c, i, s);

		if (pa == 0)
			continue;
		for (size_t j = 0; j < fv->nbv; j += FJ_CHUNK) {
			size_t m = fv->nbv - j < FJ_CHUNK ? fv->nbv - j : FJ_CHUNK;

			udc_dice_and_counts(q, fv->bv_f + j * c->segw, m, c->segw, cnt);
			for (size_t k = 0; k < m; k++) {
				uint32_t v = fv->bv[j + k];
				double d = udc_dice_from_counts(cnt[k], pa, fv->bv_pop[j + k]);

				fv->hist[(size_t)(d * FJ_HBINS)] += fv->b_off[v + 1] - fv->b_off[v];
			}
		}
		fv->sampled++;
	}
	return 0;
}

/* Estimated candidates of feature s at tau (A records with the feature x
 * the mean B records at or above tau per sampled record). */
static double
mass_at(const struct fvals *fv, double tau)
{
	double m = 0;
	size_t b = tau <= 0 ? 0 : (size_t)floor(tau * FJ_HBINS);

	if (fv->sampled == 0)
		return 0;
	for (; b <= FJ_HBINS; b++)
		m += fv->hist[b];
	return m / (double)fv->sampled * (double)fv->a_with;
}

/* The records the plan's margins are estimated on. */
struct plan_sample {
	size_t n, na;   /* records; the first na are A's */
	uint32_t *pops; /* n * nseg */
	uint64_t *mask;
};

/* A plan: each feature looked up at a threshold, or left out (tau 2). */
struct plan {
	double tau[UDC_FUZZY_MAX_SEGMENTS];
	double cost;
};

#define FJ_OUT 2.0 /* a feature left out */

/* Estimated cost (ns) of a plan: the value comparisons and candidates of
 * each feature looked up, and the pairs of the records whose margin is
 * negative, compared directly. */
static double
plan_cost(const struct ctx *c, const struct fjoin *fj, const struct plan_sample *ps,
          const double *tau)
{
	double coef[UDC_FUZZY_MAX_SEGMENTS], cost = 0;
	size_t da = 0, db = 0, i, s, nlook = 0;

	for (s = 0; s < c->nseg; s++) {
		const struct fvals *fv = &fj->fv[s];

		if (tau[s] > 1.0) {
			coef[s] = c->t - 1.0;
			continue;
		}
		coef[s] = c->t - tau[s];
		nlook++;
		cost += (double)fv->nav * (double)fv->nbv * FJ_C_SCAN * (double)c->segw / 4.0 +
		        mass_at(fv, tau[s]) * FJ_C_CAND;
	}
	if (nlook == 0)
		return INFINITY;
	for (i = 0; i < ps->n; i++) {
		double m = 0;

		for (uint64_t x = ps->mask[i]; x != 0; x &= x - 1) {
			s = (size_t)__builtin_ctzll(x);
			m += coef[s] * ps->pops[i * c->nseg + s];
		}
		if (m < 0) {
			if (i < ps->na)
				da++;
			else
				db++;
		}
	}
	cost += ((ps->na ? (double)da / (double)ps->na : 0) +
	         (ps->n > ps->na ? (double)db / (double)(ps->n - ps->na) : 0)) *
	        (double)c->n_a * (double)c->n_b * FJ_C_EXH;
	return cost;
}

static int
cmp_double(const void *x, const void *y)
{
	double p = *(const double *)x, q = *(const double *)y;

	return (p > q) - (p < q);
}

/* The best plan that looks up the features of strong, all at one
 * threshold: t - (1 - t) rho for a quantile of the records' rho (weak bits
 * over looked-up bits), rounded down to the 0.05 grid. */
static void
plan_uniform(const struct ctx *c, const struct fjoin *fj, const struct plan_sample *ps,
             uint64_t strong, double *rho, struct plan *best)
{
	static const double q[] = {0.99, 0.999, 0.9999, 1.0};
	double tau[UDC_FUZZY_MAX_SEGMENTS];

	for (size_t i = 0; i < ps->n; i++) {
		double w = 0, st = 0;

		for (uint64_t x = ps->mask[i]; x != 0; x &= x - 1) {
			size_t s = (size_t)__builtin_ctzll(x);

			if (strong & (1ULL << s))
				st += ps->pops[i * c->nseg + s];
			else
				w += ps->pops[i * c->nseg + s];
		}
		rho[i] = st > 0 ? w / st : INFINITY;
	}
	qsort(rho, ps->n, sizeof(*rho), cmp_double);
	for (size_t k = 0; k < sizeof(q) / sizeof(q[0]); k++) {
		size_t at = (size_t)ceil(q[k] * (double)ps->n);
		double t1, cost;

		at = at == 0 ? 0 : at - 1;
		if (at >= ps->n || !isfinite(rho[at]))
			continue;
		t1 = floor((c->t - (1.0 - c->t) * rho[at]) * 20.0 + 1e-9) / 20.0;
		if (t1 < 0.05)
			continue;
		for (size_t s = 0; s < c->nseg; s++)
			tau[s] = (strong & (1ULL << s)) ? t1 : FJ_OUT;
		cost = plan_cost(c, fj, ps, tau);
		if (cost < best->cost) {
			best->cost = cost;
			memcpy(best->tau, tau, sizeof(tau));
		}
	}
}

/* Starting from the best uniform plan (every choice of features while
 * there are few, else leaving out one at a time), a coordinate descent over
 * each feature's threshold (0.05 to 1 in steps of 0.05, or left out). */
static int
plan_search(const struct ctx *c, const struct fjoin *fj, const struct plan_sample *ps,
            struct plan *best)
{
	uint64_t all = c->nseg >= 64 ? ~0ULL : (1ULL << c->nseg) - 1;
	struct plan cur;
	double *rho;
	int improved = 1, sweeps = 0;

	if ((rho = malloc((ps->n ? ps->n : 1) * sizeof(*rho))) == NULL)
		return UDC_ENOMEM;
	for (size_t s = 0; s < c->nseg; s++)
		cur.tau[s] = floor(c->t * 20.0 + 1e-9) / 20.0;
	cur.cost = plan_cost(c, fj, ps, cur.tau);
	if (c->nseg <= 8) {
		for (uint64_t strong = 1; strong <= all; strong++)
			plan_uniform(c, fj, ps, strong, rho, &cur);
	} else {
		uint64_t strong = all;

		plan_uniform(c, fj, ps, strong, rho, &cur);
		while (__builtin_popcountll(strong) > 1) {
			struct plan step = cur;
			uint64_t pick = 0;

			for (size_t s = 0; s < c->nseg; s++) {
				struct plan try = {{0}, INFINITY};

				if (!(strong & (1ULL << s)))
					continue;
				plan_uniform(c, fj, ps, strong & ~(1ULL << s), rho, &try);
				if (try.cost < step.cost) {
					step = try;
					pick = 1ULL << s;
				}
			}
			if (pick == 0)
				break;
			cur = step;
			strong &= ~pick;
		}
	}
	free(rho);
	while (improved && sweeps++ < 30) {
		improved = 0;
		for (size_t s = 0; s < c->nseg; s++) {
			double keep = cur.tau[s];

			for (int k = 1; k <= 21; k++) {
				double v = k == 21 ? FJ_OUT : k * 0.05, cost;

				if (v == keep)
					continue;
				cur.tau[s] = v;
				cost = plan_cost(c, fj, ps, cur.tau);
				if (cost < cur.cost - 1e-9 * cur.cost) {
					cur.cost = cost;
					keep = v;
					improved = 1;
				}
			}
			cur.tau[s] = keep;
		}
	}
	*best = cur;
	return 0;
}

static void
free_values(struct fvals *fv)
{
	free(fv->pop);
	free(fv->vf);
	free(fv->a_off);
	free(fv->a_rec);
	free(fv->b_off);
	free(fv->b_rec);
	free(fv->av);
	free(fv->bv);
	free(fv->bv_pop);
	free(fv->bv_f);
	memset(fv, 0, sizeof(*fv));
}

void
udc_fjoin_free(struct fjoin *fj)
{
	if (fj == NULL)
		return;
	if (fj->fv != NULL)
		for (size_t s = 0; s < fj->nseg; s++)
			free_values(&fj->fv[s]);
	free(fj->fv);
	free(fj->va);
	free(fj->vb);
	free(fj->cls_a);
	free(fj->cls_b);
	free(fj->mbmin);
	free(fj->bcls_off);
	free(fj->bcls_rec);
	free(fj->bdir);
	free(fj->dl_off);
	free(fj->dl_rec);
	free(fj->adir);
	free(fj);
}

int
udc_fjoin_plan(struct ctx *c, const struct udc_fuzzy_params *p, struct udc_fuzzy_stats *st,
               struct udc_workq *wq, int *use)
{
	struct fjoin *fj;
	struct plan best;
	struct plan_sample ps = {0, 0, NULL, NULL};
	size_t nra = c->n_a < FJ_PLAN_RECORDS ? c->n_a : FJ_PLAN_RECORDS;
	size_t nrb = c->n_b < FJ_PLAN_RECORDS ? c->n_b : FJ_PLAN_RECORDS;
	double exhaustive = (double)c->n_a * (double)c->n_b * FJ_C_EXH, tmin = 1.0;
	double order_mass[UDC_FUZZY_MAX_SEGMENTS];
	uint64_t seed = p->seed ^ 0xf301;
	int rv;

	(void)wq;
	*use = 0;
	if (c->nseg < 2 || c->n_a == 0 || c->n_b == 0)
		return 0;
	if ((fj = calloc(1, sizeof(*fj))) == NULL)
		return UDC_ENOMEM;
	fj->nseg = c->nseg;
	fj->segw = c->segw;
	fj->t = c->t;
	rv = UDC_ENOMEM;
	if ((fj->fv = calloc(c->nseg, sizeof(*fj->fv))) == NULL ||
	    (fj->va = malloc(c->n_a * c->nseg * sizeof(*fj->va))) == NULL ||
	    (fj->vb = malloc(c->n_b * c->nseg * sizeof(*fj->vb))) == NULL ||
	    (fj->cls_a = malloc(c->n_a * sizeof(*fj->cls_a))) == NULL ||
	    (fj->cls_b = malloc(c->n_b * sizeof(*fj->cls_b))) == NULL ||
	    (ps.pops = malloc((nra + nrb) * c->nseg * sizeof(*ps.pops))) == NULL ||
	    (ps.mask = malloc((nra + nrb) * sizeof(*ps.mask))) == NULL)
		goto fail;
	for (size_t s = 0; s < c->nseg; s++)
		if ((rv = build_values(c, fj, s)) != 0 ||
		    (rv = sample_mass(c, fj, s, seed + s)) != 0)
			goto fail;
	/* records spread evenly over both sides, for the margins */
	ps.na = nra;
	ps.n = nra + nrb;
	for (size_t i = 0; i < ps.n; i++) {
		int is_a = i < nra;
		size_t r = is_a ? (i * c->n_a) / nra : ((i - nra) * c->n_b) / nrb;

		memcpy(ps.pops + i * c->nseg, (is_a ? c->pas : c->pbs) + r * c->nseg,
		       c->nseg * sizeof(*ps.pops));
		ps.mask[i] = is_a ? c->ma[r] : c->mb[r];
	}
	if ((rv = plan_search(c, fj, &ps, &best)) != 0)
		goto fail;
	free(ps.pops);
	free(ps.mask);
	ps.pops = NULL;
	ps.mask = NULL;
	if (!isfinite(best.cost) || (p->blocking == UDC_FUZZY_AUTO && !(best.cost < exhaustive))) {
		udc_fjoin_free(fj);
		return 0;
	}
	fj->strong = 0;
	for (size_t s = 0; s < c->nseg; s++) {
		if (best.tau[s] <= 1.0) {
			fj->strong |= 1ULL << s;
			fj->tau[s] = best.tau[s];
			fj->coef[s] = c->t - best.tau[s];
			if (best.tau[s] < tmin)
				tmin = best.tau[s];
		} else {
			fj->coef[s] = c->t - 1.0;
			free_values(&fj->fv[s]);
		}
	}
	if ((rv = build_bounds(c, fj)) != 0) {
		udc_fjoin_free(fj);
		/* too many feature masks: compare every pair (still exact) */
		return rv == UDC_ELIMIT ? 0 : rv;
	}
	/* the most selective feature first: later ones skip what it found */
	fj->norder = 0;
	for (size_t s = 0; s < c->nseg; s++)
		if (fj->strong & (1ULL << s)) {
			unsigned k = fj->norder++;

			order_mass[s] = mass_at(&fj->fv[s], fj->tau[s]);
			while (k > 0 && order_mass[fj->order[k - 1]] > order_mass[s]) {
				fj->order[k] = fj->order[k - 1];
				k--;
			}
			fj->order[k] = (unsigned)s;
		}
	c->fj = fj;
	*use = 1;
	st->join_features = fj->strong;
	st->join_tau = tmin;
	for (size_t s = 0; s < c->nseg && s < UDC_FUZZY_MAX_SEGMENTS; s++)
		st->join_feature_tau[s] = (fj->strong & (1ULL << s)) ? fj->tau[s] : 0;
	st->join_direct_pairs = fj->direct_pairs;
	st->join_estimate = best.cost;
	st->exhaustive_estimate = exhaustive;
	return 0;
fail:
	free(ps.pops);
	free(ps.mask);
	udc_fjoin_free(fj);
	return rv;
}

/* ---------- scoring ---------- */

/* 1 if an earlier pass (features order[0..pass)) found A record i and B
 * record b: a looked-up feature both have reaches its threshold. */
static int
found_before(const struct ctx *c, const struct fjoin *fj, unsigned pass, size_t i, uint32_t b)
{
	uint64_t both = c->ma[i] & c->mb[b];

	for (unsigned k = 0; k < pass; k++) {
		size_t s = fj->order[k];

		if (!(both & (1ULL << s)))
			continue;
		if (reaches(udc_dice_and_count(seg_a(c, i, s), seg_b(c, b, s), c->segw),
		            c->pas[i * c->nseg + s], c->pbs[(size_t)b * c->nseg + s], fj->tau[s]))
			return 1;
	}
	return 0;
}

/* Scores a batch of candidates of A record i after prefetching their
 * filters; in a pass, those an earlier pass found are left out. */
static void
flush(struct ctx *c, const struct fjoin *fj, unsigned pass, int check_before, size_t i,
      struct cand *h, unsigned *nh, struct counters *k, uint32_t *batch, size_t n)
{
	const uint64_t *qa = c->a + i * c->nwords;
	size_t bytes = c->nwords * sizeof(uint64_t), j, m = 0;

	for (j = 0; j < n; j++) {
		const char *f = (const char *)(c->b + (size_t)batch[j] * c->nwords);

		for (size_t o = 0; o < bytes; o += 64)
			__builtin_prefetch(f + o);
	}
	for (j = 0; j < n; j++) {
		if (check_before && pass > 0 && found_before(c, fj, pass, i, batch[j]))
			continue;
		batch[m++] = batch[j];
	}
	k->candidates += m;
	for (j = 0; j < m; j++)
		fz_consider(c, h, nh, k, batch[j], qa, c->pa[i], i);
}

/* The candidates of A record i through B value v of the pass's feature:
 * its B records, but for those compared directly. */
static void
value_candidates(struct ctx *c, const struct fjoin *fj, unsigned pass, size_t i, uint32_t v,
                 struct cand *h, unsigned *nh, struct counters *k, uint32_t *batch, size_t *nb,
                 struct scratch *sc, uint32_t epoch)
{
	const struct fvals *fv = &fj->fv[fj->order[pass]];
	const uint8_t *adir = fj->adir + i * fj->ncls_b;
	unsigned ca = fj->cls_a[i];

	for (uint32_t x = fv->b_off[v]; x < fv->b_off[v + 1]; x++) {
		uint32_t b = fv->b_rec[x];

		if (adir[fj->cls_b[b]] || b_direct(c, fj, b, ca))
			continue;
		if (sc != NULL) {
			if (sc->stamp[b] == epoch)
				continue;
			sc->stamp[b] = epoch;
		}
		batch[(*nb)++] = b;
		if (*nb == BATCH) {
			flush(c, fj, pass, sc == NULL, i, h, nh, k, batch, *nb);
			*nb = 0;
		}
	}
}

/* The B records A record i is compared with directly: every B of the
 * classes its margin sends there, and those whose margin sends them there
 * (each once). */
static void
direct_candidates(struct ctx *c, const struct fjoin *fj, size_t i, struct cand *h, unsigned *nh,
                  struct counters *k, uint32_t *batch, size_t *nb)
{
	const uint8_t *adir = fj->adir + i * fj->ncls_b;
	unsigned ca = fj->cls_a[i];

	for (unsigned cb = 0; cb < fj->ncls_b; cb++) {
		if (!adir[cb])
			continue;
		for (uint32_t x = fj->bcls_off[cb]; x < fj->bcls_off[cb + 1]; x++) {
			uint32_t b = fj->bcls_rec[x];

			if (b_direct(c, fj, b, ca))
				continue; /* in the list below */
			batch[(*nb)++] = b;
			if (*nb == BATCH) {
				flush(c, fj, 0, 0, i, h, nh, k, batch, *nb);
				*nb = 0;
			}
		}
	}
	for (uint32_t x = fj->dl_off[ca]; x < fj->dl_off[ca + 1]; x++) {
		batch[(*nb)++] = fj->dl_rec[x];
		if (*nb == BATCH) {
			flush(c, fj, 0, 0, i, h, nh, k, batch, *nb);
			*nb = 0;
		}
	}
}

/* The B values of a feature at or above tau from a filter (popcount pa),
 * into *buf; SIZE_MAX when out of memory. */
static size_t
neighbours(const struct ctx *c, const struct fvals *fv, const uint64_t *q, uint32_t pa, double tau,
           uint32_t **buf, size_t *cap)
{
	uint32_t cnt[FJ_CHUNK];
	size_t lo, hi, n = 0;
	double lim = tau - 2 * FJ_EPS;

	value_window(fv, pa, tau, &lo, &hi);
	for (size_t j = lo; j < hi; j += FJ_CHUNK) {
		size_t m = hi - j < FJ_CHUNK ? hi - j : FJ_CHUNK;

		udc_dice_and_counts(q, fv->bv_f + j * c->segw, m, c->segw, cnt);
		for (size_t x = 0; x < m; x++) {
			/* a multiplication rejects most; the score decides */
			if (2.0 * cnt[x] < lim * (double)(pa + fv->bv_pop[j + x]) ||
			    !reaches(cnt[x], pa, fv->bv_pop[j + x], tau))
				continue;
			if (n == *cap) {
				size_t nc = *cap ? 2 * *cap : 256;
				uint32_t *p = realloc(*buf, nc * sizeof(**buf));

				if (p == NULL)
					return SIZE_MAX;
				*buf = p;
				*cap = nc;
			}
			(*buf)[n++] = fv->bv[j + x];
		}
	}
	return n;
}

/* One pass over a range of the A values of the pass's feature. */
static int
pass_range(void *arg, size_t begin, size_t end)
{
	struct ctx *c = arg;
	struct fjoin *fj = c->fj;
	unsigned pass = fj->pass;
	size_t s = fj->order[pass];
	const struct fvals *fv = &fj->fv[s];
	struct counters k = {0, 0, 0, 0};
	uint32_t *buf = NULL;
	size_t cap = 0;
	uint32_t batch[BATCH];

	for (size_t x = begin; x < end; x++) {
		uint32_t u = fv->av[x], first = fv->a_rec[fv->a_off[u]];
		size_t nn =
		    neighbours(c, fv, seg_a(c, first, s), fv->pop[u], fj->tau[s], &buf, &cap);

		if (nn == SIZE_MAX) {
			free(buf);
			return UDC_ENOMEM;
		}
		for (uint32_t y = fv->a_off[u]; y < fv->a_off[u + 1]; y++) {
			size_t i = fv->a_rec[y], nb = 0;
			struct cand *h = c->cands + i * c->topk;
			unsigned nh = c->ncand[i];

			for (size_t z = 0; z < nn; z++)
				value_candidates(c, fj, pass, i, buf[z], h, &nh, &k, batch, &nb,
				                 NULL, 0);
			flush(c, fj, pass, 1, i, h, &nh, &k, batch, nb);
			c->ncand[i] = (uint8_t)nh;
		}
	}
	free(buf);
	fz_counters_flush(c, &k);
	return 0;
}

/* The last pass: direct comparisons, then each A record's list in order. */
static int
direct_range(void *arg, size_t begin, size_t end)
{
	struct ctx *c = arg;
	struct counters k = {0, 0, 0, 0};
	uint32_t batch[BATCH];

	for (size_t i = begin; i < end; i++) {
		struct cand *h = c->cands + i * c->topk;
		unsigned nh = c->ncand[i];
		size_t nb = 0;

		direct_candidates(c, c->fj, i, h, &nh, &k, batch, &nb);
		flush(c, c->fj, 0, 0, i, h, &nh, &k, batch, nb);
		fz_sort_best_first(h, nh);
		c->ncand[i] = (uint8_t)nh;
	}
	fz_counters_flush(c, &k);
	return 0;
}

int
udc_fjoin_score(struct ctx *c, struct udc_workq *wq)
{
	struct fjoin *fj = c->fj;
	int rv;

	memset(c->ncand, 0, c->n_a ? c->n_a : 1);
	for (fj->pass = 0; fj->pass < fj->norder; fj->pass++) {
		size_t nav = fj->fv[fj->order[fj->pass]].nav;

		if (wq != NULL)
			rv = udc_workq_parallel(wq, nav, 16, pass_range, c);
		else
			rv = pass_range(c, 0, nav);
		if (rv != 0)
			return rv;
	}
	if (wq != NULL)
		return udc_workq_parallel(wq, c->n_a, 64, direct_range, c);
	return direct_range(c, 0, c->n_a);
}

void
udc_fjoin_query(struct ctx *c, struct scratch *sc, size_t i, struct counters *k)
{
	struct fjoin *fj = c->fj;
	struct cand *h = c->cands + i * c->topk;
	uint32_t epoch = fz_scratch_epoch(c, sc), batch[BATCH];
	uint32_t *buf = NULL;
	size_t cap = 0, nb = 0;
	unsigned nh = 0;

	for (unsigned pass = 0; pass < fj->norder; pass++) {
		size_t s = fj->order[pass], nn;
		uint32_t pa = c->pas[i * c->nseg + s];

		if (pa == 0)
			continue;
		nn = neighbours(c, &fj->fv[s], seg_a(c, i, s), pa, fj->tau[s], &buf, &cap);
		if (nn == SIZE_MAX)
			goto all;
		for (size_t z = 0; z < nn; z++)
			value_candidates(c, fj, pass, i, buf[z], h, &nh, k, batch, &nb, sc, epoch);
	}
	free(buf);
	direct_candidates(c, fj, i, h, &nh, k, batch, &nb);
	goto done;
all:
	/* out of memory for a list: every B record not seen yet, which is
	 * exact too (the direct ones are among them) */
	free(buf);
	for (size_t b = 0; b < c->n_b; b++) {
		if (sc->stamp[b] == epoch)
			continue;
		sc->stamp[b] = epoch;
		batch[nb++] = (uint32_t)b;
		if (nb == BATCH) {
			flush(c, fj, 0, 0, i, h, &nh, k, batch, nb);
			nb = 0;
		}
	}
done:
	flush(c, fj, 0, 0, i, h, &nh, k, batch, nb);
	fz_sort_best_first(h, nh);
	c->ncand[i] = (uint8_t)nh;
}
