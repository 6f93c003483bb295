/*
 * fjoin.c - exact blocking for field scoring: the feature join.
 *
 * A pair's field score is S = sum_f 2|A_f & B_f| / sum_f (|A_f| + |B_f|)
 * over the features F present on both sides (D_f = |A_f| + |B_f|).  Some
 * features are looked up, each at a ladder of thresholds tau_f^1 < ... <
 * tau_f^{L_f} (L_f at most FJ_MAX_LEV; one in a plain plan).  A pair's
 * state on f is the highest level it passes: the largest l with its own
 * Dice on f at or above tau_f^l, 0 if none or if one side lacks f.  The
 * join finds the pairs that pass one of a family of conjunctions, each a
 * vector of required levels ("surname at level 1 and birth date at level
 * 1", "given names at level 2"): a pair passes it if its state is at least
 * that on every feature named.  A pair it does not find has a state vector
 * s that dominates no conjunction, so s lies below one of the maximal such
 * vectors u_1..u_m (the patterns, found by enumeration): s_f <= u_f for
 * every f.  For a pattern u, a looked-up feature with u_f < L_f is below
 * its next threshold up, tau_f^{u_f + 1} (as s_f <= u_f), and every
 * feature is at most 1, so
 *     S < (sum_{f at the top or left out} D_f
 *          + sum_{f below the top} tau_f^{u_f + 1} D_f) / sum_F D_f,
 * which is at most t when
 *     margin_u(A) + margin_u(B) >= 0,   margin_u(X) = sum_{f in F} c_uf |X_f|,
 * with c_uf = t - tau_f^{u_f + 1} for a looked-up feature below its top
 * level in u and t - 1 for the others.  So every pair with S >= t whose
 * margins add up for every pattern is found by the conjunctions; a pair
 * whose margins do not add up is compared directly, as exhaustive
 * comparison would.  No pair at or above the threshold is lost: that is a
 * proof, not a probability (docs/fuzzy.md).  With one threshold per feature
 * a state vector is a set of features (those passed), a pattern U the
 * maximal set containing no conjunction and c_Uf = t - tau_f outside U;
 * with single features only there is one pattern (nothing passed) and
 * this is the plain disjunction.  F depends on the pair only through which
 * features each side has, so records are grouped by that mask (classes)
 * and margins are computed per record and class of the other side.
 *
 * A ladder is what lets a family be selective at every size: given names
 * at a low threshold together with surname and postcode, at a high one
 * with surname alone; with one threshold per feature the same margins
 * would need the low threshold everywhere.
 *
 * A feature whose similarity is all or nothing (an exact encoding of a
 * date) may take a low threshold at no cost, and its c_f = t - tau_f then
 * pays for the features left out (sex, a house number) and for higher
 * thresholds on the costly ones (names, postcodes).  Conjunctions are what
 * keeps the candidates growing with n rather than n^2: pairs that share a
 * surname are a fixed share of all pairs, pairs that share a surname and a
 * birth date are not.
 *
 * Looking a feature up is done on values, not records: equal filters are
 * one value, and the values of a feature are far fewer than the records
 * (birth dates, surnames, postcodes).  Each value of A is compared with
 * every B value in its popcount window; the B records of the values at or
 * above the threshold pass that feature.  A conjunction of two features is
 * driven by one of them (the cheaper): the pairs that pass the driver are
 * checked against the other feature, whose B filters are copied in the
 * driver's value order so that the check streams.  There is one pass per
 * driving feature: its values are compared at the lowest level it drives
 * at, each B value found noted with the highest level it reaches, and the
 * pairs of a value are candidates if the driver is looked up alone at that
 * level, else checked against the conjunctions that level allows, each at
 * the levels it requires.  A pair found through an earlier pass is not
 * compared again.
 *
 * The planner picks the features, thresholds (ladders among them) and
 * conjunctions from the number of values, a sample of each feature's
 * similarity mass (and of the pairs that pass a feature, for the
 * conjunctions) and a sample of the records' margins; if comparing every
 * pair is cheaper it says so.
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
#define FJ_MAX_CONJ 64       /* conjunctions of a plan */
#define FJ_MAX_PAT 64        /* patterns (maximal sets passing no conjunction) */
#define FJ_CONJ_SEGS 8       /* conjunctions are planned for up to this many features (FJ_MAX_FAM) */
#define FJ_GRID 20           /* thresholds 0.05 apart */
#define FJ_JOINT_PAIRS 65536 /* sampled pairs per feature for the conjunctions */
#define FJ_MAX_BOUND_BYTES (4ULL << 30) /* margin tables, at most */
#define FJ_MAX_LEV UDC_FUZZY_JOIN_LEVELS /* thresholds of one feature (a ladder) */
#define FJ_MAX_STATES 4096   /* plan: state vectors of a family, at most */

/* Costs in CPU nanoseconds, measured on the machine of docs/fuzzy.md (20,000
 * generated persons): one value compared with one value (four words), one
 * candidate found through a value (its B record fetched, checked against
 * the earlier features, scored), one pair compared exhaustively (streamed,
 * six features), one pair of a driver checked against a conjunction's
 * other feature (streamed), one pair compared directly (fetched). */
#define FJ_C_SCAN 1.5
#define FJ_C_CAND 150.0
#define FJ_C_EXH 17.0
#define FJ_C_CHECK 4.0
#define FJ_C_DIRECT 60.0 /* one pair compared directly (B record fetched) */

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
	/* plan: a sample of the pairs at or above jmin on this
	 * feature, each standing for jw pairs: the grid step each reaches on
	 * every feature (jbin[r * nseg + g], 255 if one side lacks it) */
	uint8_t *jbin;
	size_t jn;
	double jw, jmin; /* jmin: the threshold of that sample */
	/* a pass driven by this feature: the B filters of the other features of
	 * its conjunctions, in b_rec order (jf[g]: segw words each, jp[g]: the
	 * popcounts), NULL for the features not checked */
	uint64_t *jf[UDC_FUZZY_MAX_SEGMENTS];
	uint32_t *jp[UDC_FUZZY_MAX_SEGMENTS];
};

/* The levels a conjunction requires: m[l] holds the features it needs at
 * level l + 1 or higher (m[l] within m[l - 1]; m[0]: the features named). */
struct lreq {
	uint64_t m[FJ_MAX_LEV];
};

/* What a plan looks up: the features and their ladders of thresholds
 * (lad[s][0] < lad[s][1] < ..., nlev[s] of them; one for a plain plan), the
 * conjunctions (the features named, the levels required) and the feature
 * that drives each, the patterns (state vectors: per feature the highest
 * level a pair below every conjunction may reach) and their coefficients. */
struct shape {
	uint64_t strong;
	unsigned nlev[UDC_FUZZY_MAX_SEGMENTS];
	double lad[UDC_FUZZY_MAX_SEGMENTS][FJ_MAX_LEV];
	unsigned nconj;
	uint64_t conj[FJ_MAX_CONJ];
	struct lreq req[FJ_MAX_CONJ];
	uint8_t driver[FJ_MAX_CONJ];
	unsigned npat;
	uint64_t pfail[FJ_MAX_PAT]; /* looked-up features below their top level */
	uint8_t pu[FJ_MAX_PAT][UDC_FUZZY_MAX_SEGMENTS]; /* the state vector */
	double pshare[FJ_MAX_PAT]; /* plan: estimated share of pairs compared directly */
	double coef[FJ_MAX_PAT][UDC_FUZZY_MAX_SEGMENTS]; /* c_uf per pattern */
};

struct fjoin {
	size_t nseg, segw;
	double t;
	struct shape sh;  /* what is looked up, and the patterns */
	struct fvals *fv; /* per feature */
	uint32_t *va, *vb; /* value per record and feature, FJ_NONE if empty */
	unsigned ncls_a, ncls_b;
	uint64_t cls_mask_a[FJ_MAX_CLASSES], cls_mask_b[FJ_MAX_CLASSES];
	uint16_t *cls_a, *cls_b;
	double *mam; /* [(i * ncls_b + cb) * npat + k]: margin of A record i against
	              * class cb for pattern k */
	double *mbm; /* [(b * ncls_a + ca) * npat + k]: the same for B record b */
	uint32_t *bcls_off, *bcls_rec; /* B records by class */
	uint32_t *bsort; /* [(ca * npat + k) * n_b + bcls_off[cb] ...]: the B records
	                  * of class cb, ascending margin against ca for pattern k */
	/* passes, one per driving feature, in order: the driver and the lowest
	 * level it drives at (1 = its lowest threshold; its values are scanned
	 * once, at that level's threshold, and each value's level noted), the
	 * lowest level at which it is looked up alone (every pair passing it
	 * there is a candidate; 0 if none), the other conjunctions it drives
	 * (the driver's level each needs, its other features and their levels)
	 * and the features they check */
	unsigned norder;
	unsigned order[UDC_FUZZY_MAX_SEGMENTS];
	uint8_t plev[UDC_FUZZY_MAX_SEGMENTS];
	uint8_t alone[UDC_FUZZY_MAX_SEGMENTS];
	uint8_t pnl[UDC_FUZZY_MAX_SEGMENTS]; /* levels its conjunctions check (1 to FJ_MAX_LEV) */
	uint64_t checks[UDC_FUZZY_MAX_SEGMENTS];
	unsigned pconj_off[UDC_FUZZY_MAX_SEGMENTS + 1];
	struct lreq pconj[FJ_MAX_CONJ]; /* per pass: each conjunction's other features */
	uint8_t pdl[FJ_MAX_CONJ];       /* and the driver's level it needs */
	unsigned pass;         /* the pass being scored */
	atomic_uint_fast64_t direct_pairs; /* pairs compared directly */
	atomic_uint_fast64_t checked; /* pairs of a driver checked against a conjunction */
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

/* The level of feature g a conjunction requires (0: not named). */
static unsigned
req_level(const struct lreq *r, size_t g)
{
	unsigned l = 0;

	while (l < FJ_MAX_LEV && (r->m[l] & (1ULL << g)))
		l++;
	return l;
}

/* The threshold of feature g a conjunction requires (it names g). */
static double
req_tau(const struct shape *sh, const struct lreq *r, size_t g)
{
	return sh->lad[g][req_level(r, g) - 1];
}

/* ---------- margins per record, class and pattern ---------- */

/* A record's margin for pattern k (popcounts pops, own mask m) against a
 * class of mask o: sum over the features both have of c_kf |X_f|.  If the
 * two share a feature but none that must stay below a threshold under the
 * pattern, the bound is not strict (it is S <= 1), so the pair is compared
 * directly: -1. */
static double
margin_of(const struct shape *sh, unsigned k, const uint32_t *pops, uint64_t m, uint64_t o)
{
	uint64_t both = m & o;
	double r = 0;

	if (both != 0 && (both & sh->pfail[k]) == 0)
		return -1.0;
	for (uint64_t x = both; x != 0; x &= x - 1) {
		size_t s = (size_t)__builtin_ctzll(x);

		r += sh->coef[k][s] * pops[s];
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

/* Margins of A record i against class cb, one per pattern. */
static const double *
a_margins(const struct fjoin *fj, size_t i, unsigned cb)
{
	return fj->mam + ((size_t)i * fj->ncls_b + cb) * fj->sh.npat;
}

/* Margins of B record b against class ca, one per pattern. */
static const double *
b_margins(const struct fjoin *fj, size_t b, unsigned ca)
{
	return fj->mbm + ((size_t)b * fj->ncls_a + ca) * fj->sh.npat;
}

/* 1 if the pair (A record i, B record b) is compared directly: for some
 * pattern its margins do not add up. */
static int
is_direct(const struct fjoin *fj, size_t i, uint32_t b)
{
	const double *x = a_margins(fj, i, fj->cls_b[b]), *y = b_margins(fj, b, fj->cls_a[i]);

	for (unsigned k = 0; k < fj->sh.npat; k++)
		if (x[k] + y[k] < 0)
			return 1;
	return 0;
}

struct keyed {
	double m;
	uint32_t b;
};

static int
cmp_keyed(const void *x, const void *y)
{
	const struct keyed *p = x, *q = y;

	if (p->m != q->m)
		return (p->m > q->m) - (p->m < q->m);
	return (p->b > q->b) - (p->b < q->b);
}

/* Classes of both sides, the margins of every record against every class
 * of the other side for every pattern, B by class, and for each A class
 * and pattern the B records of each class in ascending order of their
 * margin (so that the direct pairs of an A record are a prefix).
 * UDC_ELIMIT if there are too many classes or the tables would be too
 * large (the caller then compares every pair, which is exact too). */
static int
build_bounds(struct ctx *c, struct fjoin *fj)
{
	size_t i, np = fj->sh.npat, nsort;
	uint32_t *cnt = NULL;
	struct keyed *tmp = NULL;
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
	nsort = (size_t)fj->ncls_a * np;
	/* 8 bytes per margin, 4 per sorted entry */
	if (((double)c->n_a * fj->ncls_b + (double)c->n_b * fj->ncls_a * 1.5) * (double)np * 8.0 >
	    (double)FJ_MAX_BOUND_BYTES)
		return UDC_ELIMIT;
	if ((fj->mam = malloc((c->n_a ? c->n_a : 1) * fj->ncls_b * np * sizeof(double))) == NULL ||
	    (fj->mbm = malloc((c->n_b ? c->n_b : 1) * fj->ncls_a * np * sizeof(double))) == NULL ||
	    (fj->bsort = malloc((c->n_b ? c->n_b : 1) * nsort * sizeof(uint32_t))) == NULL ||
	    (fj->bcls_off = calloc(fj->ncls_b + 1, sizeof(*fj->bcls_off))) == NULL ||
	    (fj->bcls_rec = malloc((c->n_b ? c->n_b : 1) * sizeof(*fj->bcls_rec))) == NULL ||
	    (cnt = calloc(fj->ncls_b + 1, sizeof(*cnt))) == NULL ||
	    (tmp = malloc((c->n_b ? c->n_b : 1) * sizeof(*tmp))) == NULL)
		goto out;
	for (i = 0; i < c->n_a; i++)
		for (unsigned cb = 0; cb < fj->ncls_b; cb++)
			for (unsigned k = 0; k < np; k++)
				fj->mam[(i * fj->ncls_b + cb) * np + k] =
				    margin_of(&fj->sh, k, c->pas + i * c->nseg, c->ma[i],
				              fj->cls_mask_b[cb]);
	for (i = 0; i < c->n_b; i++) {
		for (unsigned ca = 0; ca < fj->ncls_a; ca++)
			for (unsigned k = 0; k < np; k++)
				fj->mbm[(i * fj->ncls_a + ca) * np + k] =
				    margin_of(&fj->sh, k, c->pbs + i * c->nseg, c->mb[i],
				              fj->cls_mask_a[ca]);
		cnt[fj->cls_b[i]]++;
	}
	for (unsigned k = 0; k < fj->ncls_b; k++)
		fj->bcls_off[k + 1] = fj->bcls_off[k] + cnt[k];
	memset(cnt, 0, (fj->ncls_b + 1) * sizeof(*cnt));
	for (i = 0; i < c->n_b; i++) {
		unsigned cb = fj->cls_b[i];

		fj->bcls_rec[fj->bcls_off[cb] + cnt[cb]++] = (uint32_t)i;
	}
	for (size_t x = 0; x < nsort; x++) {
		uint32_t *list = fj->bsort + x * c->n_b;

		/* class ca = x / np, pattern k = x % np */
		for (i = 0; i < c->n_b; i++) {
			tmp[i].b = fj->bcls_rec[i];
			tmp[i].m = fj->mbm[(size_t)tmp[i].b * fj->ncls_a * np + x];
		}
		for (unsigned cb = 0; cb < fj->ncls_b; cb++)
			qsort(tmp + fj->bcls_off[cb], fj->bcls_off[cb + 1] - fj->bcls_off[cb],
			      sizeof(*tmp), cmp_keyed);
		for (i = 0; i < c->n_b; i++)
			list[i] = tmp[i].b;
	}
	rv = 0;
out:
	free(cnt);
	free(tmp);
	return rv;
}

/* ---------- planning ---------- */

/* The grid step a similarity reaches: the largest i with d >= i / FJ_GRID
 * (as reaches() decides it, leaning up). */
static unsigned
grid_of(double d)
{
	double x = floor((d + FJ_EPS) * FJ_GRID);

	return x < 0 ? 0 : x > FJ_GRID ? FJ_GRID : (unsigned)x;
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

/* Sampled similarity mass of feature s: for FJ_SAMPLE A records with the
 * feature, the B records at each similarity (every B value compared).
 * With joint set (conjunctions planned), a second round over the same A
 * records samples the B records at or above the lowest threshold at which at most a tenth of the pairs pass s, at most
 * about FJ_JOINT_PAIRS of them, and counts how far each pair gets on every
 * other feature. */
static int
sample_mass(struct ctx *c, struct fjoin *fj, size_t s, uint64_t seed, int joint)
{
	struct fvals *fv = &fj->fv[s];
	uint32_t cnt[FJ_CHUNK];
	size_t tries, g, nseg = c->nseg;
	uint64_t seed0 = seed, pick = 0x51ed;
	double above = 0, rate;

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
	if (!joint || fv->sampled == 0)
		return 0;
	/* the lowest step at which at most a tenth of the pairs pass */
	for (fv->jmin = 2 * 1.0 / FJ_GRID; fv->jmin < 1.0; fv->jmin += 1.0 / FJ_GRID)
		if (mass_at(fv, fv->jmin) <= 0.1 * (double)fv->a_with * (double)c->n_b)
			break;
	fv->jmin = floor(fv->jmin * FJ_GRID + 0.5) / FJ_GRID;
	for (size_t b = (size_t)floor(fv->jmin * FJ_HBINS); b <= FJ_HBINS; b++)
		above += fv->hist[b];
	if (above <= 0)
		return 0;
	rate = above > FJ_JOINT_PAIRS ? FJ_JOINT_PAIRS / above : 1.0;
	if ((fv->jbin = malloc((FJ_JOINT_PAIRS + FJ_JOINT_PAIRS / 4 + 64) * nseg)) == NULL)
		return UDC_ENOMEM;
	/* each sampled pair stands for this many pairs of A x B */
	fv->jw = (double)fv->a_with / (double)fv->sampled / rate;
	fv->jn = 0;
	seed = seed0;
	for (size_t done = 0, t2 = 0; done < fv->sampled && t2 < 8 * FJ_SAMPLE; t2++) {
		size_t i = fz_splitmix64(&seed) % c->n_a;
		uint32_t pa = c->pas[i * c->nseg + s];
		const uint64_t *q = seg_a(c, i, s);

		if (pa == 0)
			continue;
		done++;
		for (size_t j = 0; j < fv->nbv; j += FJ_CHUNK) {
			size_t m = fv->nbv - j < FJ_CHUNK ? fv->nbv - j : FJ_CHUNK;

			udc_dice_and_counts(q, fv->bv_f + j * c->segw, m, c->segw, cnt);
			for (size_t k = 0; k < m; k++) {
				uint32_t v = fv->bv[j + k];
				double d = udc_dice_from_counts(cnt[k], pa, fv->bv_pop[j + k]);

				if (d < fv->jmin - FJ_EPS)
					continue;
				for (uint32_t x = fv->b_off[v]; x < fv->b_off[v + 1]; x++) {
					uint32_t b = fv->b_rec[x];
					uint8_t *row;

					if (rate < 1.0 &&
					    (double)(fz_splitmix64(&pick) >> 11) * 0x1p-53 >= rate)
						continue;
					if (fv->jn == FJ_JOINT_PAIRS + FJ_JOINT_PAIRS / 4 + 64)
						goto full; /* more than expected: the rest is left out */
					row = fv->jbin + fv->jn++ * nseg;
					for (g = 0; g < nseg; g++) {
						uint32_t p1 = c->pas[i * nseg + g];
						uint32_t p2 = c->pbs[(size_t)b * nseg + g];

						row[g] = p1 == 0 || p2 == 0
						             ? 255
						             : (uint8_t)grid_of(udc_dice_from_counts(
						                   udc_dice_and_count(seg_a(c, i, g),
						                                      seg_b(c, b, g), c->segw),
						                   p1, p2));
					}
				}
			}
		}
	}
full:
	return 0;
}

/* Estimated pairs passing every feature of conjunction j of sh (each at
 * the level it requires) among those passing feature s: from the sample of
 * the pairs passing s when s was sampled at that threshold, else (unknown)
 * every pair passing s. */
static double
conj_at(const struct fvals *fv, size_t nseg, const struct shape *sh, unsigned j, size_t s)
{
	unsigned need[UDC_FUZZY_MAX_SEGMENTS];
	size_t n = 0, hit = 0;
	size_t idx[UDC_FUZZY_MAX_SEGMENTS];
	double ts = req_tau(sh, &sh->req[j], s);

	if (fv->jbin == NULL || ts < fv->jmin - FJ_EPS)
		return mass_at(fv, ts);
	for (uint64_t x = sh->conj[j]; x != 0; x &= x - 1) {
		size_t g = (size_t)__builtin_ctzll(x);

		idx[n] = g;
		need[n++] = grid_of(req_tau(sh, &sh->req[j], g));
	}
	for (size_t r = 0; r < fv->jn; r++) {
		const uint8_t *row = fv->jbin + r * nseg;
		size_t k;

		for (k = 0; k < n && row[idx[k]] != 255 && row[idx[k]] >= need[k]; k++)
			;
		hit += k == n;
	}
	return (double)hit * fv->jw;
}

#define FJ_PLAN_CLASSES 6 /* plan: the most common feature masks of each side */
#define FJ_SHARE_RECORDS 2500 /* plan: records per side a pattern's share is estimated on */

/* The records the plan's margins are estimated on, grouped by the most
 * common feature masks of each side (the rest are left out). */
struct plan_sample {
	size_t n, na;   /* records; the first na are A's */
	uint32_t *pops; /* n * nseg */
	uint64_t *mask;
	unsigned ncls[2];                        /* classes of A, of B */
	uint64_t cmask[2][FJ_PLAN_CLASSES];      /* their masks */
	size_t coff[2][FJ_PLAN_CLASSES + 1];     /* their records in rec[] */
	size_t *rec;                             /* sample indices by class */
	size_t nin[2];                           /* records of each side in a class */
	/* the records a pattern's share is estimated on (at most
	 * FJ_SHARE_RECORDS a side, evenly spaced in each class): their
	 * popcounts by class, soff[side][class] the first */
	double *sp;
	size_t soff[2][FJ_PLAN_CLASSES + 1];
	/* the planner's work so far: margins binned (margin_hist) */
	uint64_t *work;
};

/* A plan: each feature looked up at a threshold, or left out (tau 2);
 * with fam 0 each looked-up feature is a conjunction of its own (a
 * disjunction), with fam 1 the conjunctions are those the margins need:
 * the smallest state vectors whose passing alone leaves more than a
 * small share of the pairs' margins short (plan_shape).  With fam 1 a
 * feature may have higher thresholds too (up, ascending above tau; 0:
 * none), a ladder. */
struct plan {
	double tau[UDC_FUZZY_MAX_SEGMENTS];
	double up[UDC_FUZZY_MAX_SEGMENTS][FJ_MAX_LEV - 1];
	int fam;
	double cost;
};

#define FJ_NEED_CONJ 1   /* plan_cost: a conjunction of two features or more */
#define FJ_NEED_LADDER 2 /* plan_cost: a conjunction needing a second level */

#define FJ_OUT 2.0     /* a feature left out */
#define FJ_C_PLAN 20.0 /* plan: one sampled margin binned (ns) */
#define FJ_MAX_FAM 8   /* looked-up features of a plan with conjunctions, at most */
#define FJ_MBINS 256   /* plan: margins binned by halves, -64 to 64 */

/* Estimated cost (ns) of comparing every value of feature s of A with
 * the B values (the popcount window ignored). */
static double
scan_cost(const struct ctx *c, const struct fvals *fv)
{
	return (double)fv->nav * (double)fv->nbv * FJ_C_SCAN * (double)c->segw / 4.0;
}

/* Cost of driving conjunctions with feature s at tau: its values compared,
 * and every pair passing it checked. */
static double
drive_cost(const struct ctx *c, const struct fjoin *fj, size_t s, double tau)
{
	return scan_cost(c, &fj->fv[s]) + mass_at(&fj->fv[s], tau) * FJ_C_CHECK;
}

/* The histogram of the margins for pattern k of the sampled records
 * [lo, hi) of ps->sp against a class: bins of halves, -64 to 64.  Returns
 * whether a margin is below 0. */
static int
margin_hist(const struct ctx *c, const struct plan_sample *ps, const double *co,
            const size_t *ix, size_t ns, size_t lo, size_t hi, double *h)
{
	int any = 0;

	*ps->work += hi - lo;
	memset(h, 0, FJ_MBINS * sizeof(*h));
	for (size_t x = lo; x < hi; x++) {
		const double *pp = ps->sp + x * c->nseg;
		double m = 0, y;
		size_t bin;

		for (size_t j = 0; j < ns; j++)
			m += co[j] * pp[ix[j]];
		y = floor(m * 2.0) + FJ_MBINS / 2;
		bin = y < 0 ? 0 : y >= FJ_MBINS ? FJ_MBINS - 1 : (size_t)y;
		h[bin]++;
		any |= bin < FJ_MBINS / 2;
	}
	return any;
}

/* Estimated share of all pairs whose margins for pattern k of sh do not
 * add up (so they are compared directly): per pair of the sample's feature
 * masks, the margins of each side binned down to halves, and the pairs of
 * bins whose sum may be below 0.  (margin_of's sums, over the sampled
 * records laid out by class in ps->sp: the planner's inner loop.) */
static double
pattern_share(const struct ctx *c, const struct plan_sample *ps, const struct shape *sh,
              unsigned k)
{
	double pairs = 0, na = (double)(ps->soff[0][ps->ncls[0]] - ps->soff[0][0]),
	       nb = (double)(ps->soff[1][ps->ncls[1]] - ps->soff[1][0]);

	if (na == 0 || nb == 0)
		return 0;
	for (unsigned ca = 0; ca < ps->ncls[0]; ca++)
		for (unsigned cb = 0; cb < ps->ncls[1]; cb++) {
			double ha[FJ_MBINS], hb[FJ_MBINS], co[UDC_FUZZY_MAX_SEGMENTS];
			size_t ix[UDC_FUZZY_MAX_SEGMENTS], ns = 0;
			uint64_t both = ps->cmask[0][ca] & ps->cmask[1][cb];
			int any;

			if (both == 0)
				continue; /* margins 0: never short */
			if ((both & sh->pfail[k]) == 0) {
				/* margin_of's -1: every pair of the two classes */
				pairs += (double)(ps->soff[0][ca + 1] - ps->soff[0][ca]) *
				         (double)(ps->soff[1][cb + 1] - ps->soff[1][cb]);
				continue;
			}
			for (uint64_t x = both; x != 0; x &= x - 1) {
				size_t s = (size_t)__builtin_ctzll(x);

				ix[ns] = s;
				co[ns++] = sh->coef[k][s];
			}
			any = margin_hist(c, ps, co, ix, ns, ps->soff[0][ca], ps->soff[0][ca + 1], ha);
			any |= margin_hist(c, ps, co, ix, ns, ps->soff[1][cb], ps->soff[1][cb + 1], hb);
			if (!any)
				continue; /* no margin below 0 on either side */
			for (size_t y = 1; y < FJ_MBINS; y++)
				hb[y] += hb[y - 1];
			for (size_t x = 0; x < FJ_MBINS; x++)
				pairs += ha[x] * hb[FJ_MBINS - x - 1];
		}
	return pairs / (na * nb);
}

/* Pattern k of sh is the state vector u (per feature, the highest level a
 * pair it covers may reach; 0 for a feature not looked up): the features
 * below their top level, and the coefficients c_kf = t - tau_f^{u_f + 1}
 * (the next threshold up, which the pair stays below) for those, t - 1 for
 * the others. */
static void
pattern_set(const struct ctx *c, struct shape *sh, unsigned k, const uint8_t *u)
{
	sh->pfail[k] = 0;
	for (size_t s = 0; s < c->nseg; s++) {
		int below = (sh->strong & (1ULL << s)) && u[s] < sh->nlev[s];

		sh->pu[k][s] = u[s];
		if (below)
			sh->pfail[k] |= 1ULL << s;
		sh->coef[k][s] = below ? c->t - sh->lad[s][u[s]] : c->t - 1.0;
	}
}

/* The share of pairs that may be compared directly for one pattern before
 * the plan would rather find them: a million pairs, but at least 10^-7 and
 * at most 1% of all. */
static double
share_limit(const struct ctx *c)
{
	double n = (double)c->n_a * (double)c->n_b, lim = 1e6 / (n > 0 ? n : 1);

	return lim < 1e-7 ? 1e-7 : lim > 0.01 ? 0.01 : lim;
}

/* The shape of plan pl: conjunctions, drivers, patterns, coefficients and
 * the patterns' estimated shares of direct pairs.  A state vector gives
 * each looked-up feature a level (0 to its number of thresholds); the
 * vectors are taken by their sum of levels, a vector above an unsafe one
 * is unsafe, and a vector whose share of short margins (the pairs at or
 * below it everywhere bounded as pattern) exceeds the limit is a smallest
 * one that must be found: a conjunction.  The unsafe vectors are thus the
 * upward closure of the conjunctions, the patterns the largest safe ones,
 * and a pair that passes no conjunction has a safe state, below one of
 * them.  With one threshold per feature a vector is a set of features,
 * taken in the order of the plain plan.  Returns 0, or -1 if the plan is
 * not possible (nothing looked up, too many conjunctions, patterns,
 * features or states, or every pair would be compared directly). */
static int
plan_shape(const struct ctx *c, const struct fjoin *fj, const struct plan_sample *ps,
           const struct plan *pl, struct shape *sh)
{
	size_t s, nseg = c->nseg;
	unsigned idx[FJ_MAX_FAM], n = 0;
	uint8_t u[UDC_FUZZY_MAX_SEGMENTS];

	memset(sh, 0, offsetof(struct shape, pshare));
	memset(u, 0, sizeof(u));
	for (s = 0; s < nseg; s++)
		if (pl->tau[s] <= 1.0) {
			sh->strong |= 1ULL << s;
			sh->lad[s][0] = pl->tau[s];
			sh->nlev[s] = 1;
			for (unsigned l = 0; pl->fam && l + 1 < FJ_MAX_LEV; l++)
				if (pl->up[s][l] > sh->lad[s][sh->nlev[s] - 1] + FJ_EPS &&
				    pl->up[s][l] <= 1.0)
					sh->lad[s][sh->nlev[s]++] = pl->up[s][l];
			if (n < FJ_MAX_FAM)
				idx[n] = (unsigned)s;
			n++;
		}
	if (sh->strong == 0)
		return -1;
	if (!pl->fam) {
		for (s = 0; s < nseg; s++) {
			if (!(sh->strong & (1ULL << s)))
				continue;
			if (sh->nconj == FJ_MAX_CONJ)
				return -1;
			sh->driver[sh->nconj] = (uint8_t)s;
			sh->req[sh->nconj].m[0] = 1ULL << s;
			sh->conj[sh->nconj++] = 1ULL << s;
		}
		sh->npat = 1;
		pattern_set(c, sh, 0, u);
		sh->pshare[0] = pattern_share(c, ps, sh, 0);
		return 0;
	}
	if (n > FJ_MAX_FAM)
		return -1;
	{
		/* state of each vector (mixed radix: digit x is the level of
		 * feature idx[x], stride[x] apart): 1 safe (its share of short
		 * margins within the limit), 2 not */
		uint8_t st[FJ_MAX_STATES];
		double share[FJ_MAX_STATES], lim = share_limit(c);
		uint32_t stride[FJ_MAX_FAM], nst = 1;
		unsigned top = 0;
		struct shape one;

		for (unsigned x = 0; x < n; x++) {
			stride[x] = nst;
			nst *= sh->nlev[idx[x]] + 1;
			top += sh->nlev[idx[x]];
			if (nst > FJ_MAX_STATES)
				return -1;
		}
		one = *sh;
		one.npat = 1;
		for (unsigned level = 0; level <= top; level++)
			for (uint32_t v = 0; v < nst; v++) {
				unsigned d[FJ_MAX_FAM], sum = 0;
				int bad = 0;

				for (unsigned x = 0; x < n; x++) {
					d[x] = (v / stride[x]) % (sh->nlev[idx[x]] + 1);
					sum += d[x];
				}
				if (sum != level)
					continue;
				for (unsigned x = 0; x < n; x++) {
					u[idx[x]] = (uint8_t)d[x];
					if (d[x] > 0)
						bad |= st[v - stride[x]] == 2;
				}
				if (bad) {
					st[v] = 2; /* above a conjunction */
					continue;
				}
				pattern_set(c, &one, 0, u);
				share[v] = pattern_share(c, ps, &one, 0);
				if (share[v] <= lim) {
					st[v] = 1;
					continue;
				}
				/* a smallest vector that must be found: a conjunction */
				st[v] = 2;
				if (v == 0 || sh->nconj == FJ_MAX_CONJ)
					return -1;
				for (unsigned x = 0; x < n; x++)
					for (unsigned l = 0; l < d[x]; l++)
						sh->req[sh->nconj].m[l] |= 1ULL << idx[x];
				sh->conj[sh->nconj] = sh->req[sh->nconj].m[0];
				sh->nconj++;
			}
		for (uint32_t v = 0; v < nst; v++) {
			int maximal = st[v] == 1;

			for (unsigned x = 0; x < n; x++) {
				unsigned dx = (v / stride[x]) % (sh->nlev[idx[x]] + 1);

				u[idx[x]] = (uint8_t)dx;
				if (maximal && dx < sh->nlev[idx[x]])
					maximal = st[v + stride[x]] == 2;
			}
			if (!maximal)
				continue;
			if (sh->npat == FJ_MAX_PAT)
				return -1;
			sh->pshare[sh->npat] = share[v];
			pattern_set(c, sh, sh->npat++, u);
		}
		if (sh->nconj == 0)
			return -1;
		/* each conjunction driven by its cheapest feature (at the
		 * level it requires) */
		for (unsigned j = 0; j < sh->nconj; j++) {
			double best = INFINITY;

			for (uint64_t x = sh->conj[j]; x != 0; x &= x - 1) {
				size_t g = (size_t)__builtin_ctzll(x);
				double dc = drive_cost(c, fj, g, req_tau(sh, &sh->req[j], g));

				if (dc < best) {
					best = dc;
					sh->driver[j] = (uint8_t)g;
				}
			}
		}
	}
	return 0;
}

/* Estimated cost (ns) of a plan: the value comparisons of each driving
 * feature and level, the pairs it checks, the candidates, and the pairs
 * compared directly (the patterns' shares, summed: an upper bound).  need
 * (FJ_NEED_*): what the plan must have, else its cost is infinite. */
static double
plan_cost(const struct ctx *c, const struct fjoin *fj, const struct plan_sample *ps,
          const struct plan *pl, int need)
{
	struct shape sh;
	double cost = 0, direct = 0;
	/* per driver: the lowest level it drives at, the lowest it is alone at */
	unsigned lo[UDC_FUZZY_MAX_SEGMENTS] = {0}, al[UDC_FUZZY_MAX_SEGMENTS] = {0};
	int wide = 0, ladder = 0;

	if (plan_shape(c, fj, ps, pl, &sh) != 0)
		return INFINITY;
	for (unsigned j = 0; j < sh.nconj; j++) {
		size_t d = sh.driver[j];
		unsigned L = req_level(&sh.req[j], d);

		if (lo[d] == 0 || L < lo[d])
			lo[d] = L;
		if (__builtin_popcountll(sh.conj[j]) == 1) {
			if (al[d] == 0 || L < al[d])
				al[d] = L;
		} else {
			wide = 1;
		}
		ladder |= sh.req[j].m[1] != 0;
	}
	if ((need & FJ_NEED_CONJ) && !wide)
		return INFINITY;
	if ((need & FJ_NEED_LADDER) && !ladder)
		return INFINITY;
	/* each driver's values once; the pairs passing it at its lowest level
	 * checked, or candidates from the level it is alone at */
	for (size_t d = 0; d < c->nseg; d++) {
		const struct fvals *fv = &fj->fv[d];
		double mlo, mal;

		if (lo[d] == 0)
			continue;
		mlo = mass_at(fv, sh.lad[d][lo[d] - 1]);
		mal = al[d] ? mass_at(fv, sh.lad[d][al[d] - 1]) : 0;
		cost += scan_cost(c, fv) + mal * FJ_C_CAND + (mlo - mal) * FJ_C_CHECK;
	}
	for (unsigned j = 0; j < sh.nconj; j++) {
		size_t d = sh.driver[j];

		if (al[d] == 0 || req_level(&sh.req[j], d) < al[d])
			cost += conj_at(&fj->fv[d], c->nseg, &sh, j, d) * FJ_C_CAND;
	}
	for (unsigned k = 0; k < sh.npat; k++)
		direct += sh.pshare[k];
	cost += (direct < 1 ? direct : 1) * (double)c->n_a * (double)c->n_b * FJ_C_DIRECT;
	return cost;
}

static int
cmp_double(const void *x, const void *y)
{
	double p = *(const double *)x, q = *(const double *)y;

	return (p > q) - (p < q);
}

/* The best plan that looks up the features of strong alone, all at one
 * threshold: t - (1 - t) rho for a quantile of the records' rho (weak bits
 * over looked-up bits), rounded down to the 0.05 grid. */
static void
plan_uniform(const struct ctx *c, const struct fjoin *fj, const struct plan_sample *ps,
             uint64_t strong, double *rho, struct plan *best)
{
	static const double q[] = {0.99, 0.999, 0.9999, 1.0};
	struct plan pl;

	memset(&pl, 0, sizeof(pl));
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
		double t1;

		at = at == 0 ? 0 : at - 1;
		if (at >= ps->n || !isfinite(rho[at]))
			continue;
		t1 = floor((c->t - (1.0 - c->t) * rho[at]) * 20.0 + 1e-9) / 20.0;
		if (t1 < 0.05)
			continue;
		for (size_t s = 0; s < c->nseg; s++)
			pl.tau[s] = (strong & (1ULL << s)) ? t1 : FJ_OUT;
		pl.cost = plan_cost(c, fj, ps, &pl, 0);
		if (pl.cost < best->cost)
			*best = pl;
	}
}

/* Whether planning has cost more than the plan at cost would take to run:
 * searching further cannot pay (counted in work, not time, so that the plan
 * does not depend on the machine's load). */
static int
plan_spent(const struct plan_sample *ps, double cost)
{
	return isfinite(cost) && (double)*ps->work * FJ_C_PLAN > cost;
}

/* A coordinate descent from cur over each feature's threshold (0.05 to 1
 * in steps of 0.05, or left out), and with ladder set over its higher
 * thresholds too (each 0.05 to 1, or none; the third only with a second),
 * while planning costs less than the plan found. */
static void
plan_descend(const struct ctx *c, const struct fjoin *fj, const struct plan_sample *ps,
             struct plan *cur, int need, int ladder)
{
	int improved = 1, sweeps = 0, nl = ladder ? FJ_MAX_LEV : 1;

	/* a plan with conjunctions costs more to evaluate: fewer sweeps */
	while (improved && sweeps++ < (cur->fam ? 4 : 30)) {
		improved = 0;
		for (size_t s = 0; s < c->nseg; s++)
			for (int l = 0; l < nl; l++)
				for (int k = 1; k <= 21; k++) {
					struct plan try = *cur;
					double *x = l == 0 ? &try.tau[s] : &try.up[s][l - 1];

					if (plan_spent(ps, cur->cost))
						return;
					if (l > 0 && (cur->tau[s] > 1.0 ||
					              (l > 1 && cur->up[s][l - 2] == 0)))
						break;
					*x = k == 21 ? (l == 0 ? FJ_OUT : 0) : k * 0.05;
					if (l > 0 && *x != 0 && *x <= (l == 1 ? try.tau[s] : try.up[s][l - 2]))
						continue; /* not above the level below */
					if (*x == (l == 0 ? cur->tau[s] : cur->up[s][l - 1]))
						continue;
					try.cost = plan_cost(c, fj, ps, &try, need);
					if (try.cost < cur->cost - 1e-9 * cur->cost) {
						*cur = try;
						improved = 1;
					}
				}
	}
}

/* Ladders (form ANY, or LADDER: one is needed): from the best plan with
 * conjunctions, each looked-up feature given a second threshold, from
 * its own (lowered by up to 0.2) to 1, the best of them then improved by
 * a coordinate descent over every level; taken if it is cheaper than best
 * (LADDER: if it exists).  Within the planning budget of the cheaper of
 * best and the ladder found. */
static void
plan_ladder(const struct ctx *c, const struct fjoin *fj, const struct plan_sample *ps, int need,
            const struct plan *from, struct plan *best)
{
	struct plan lp, base = *from;
	int nd = need ? FJ_NEED_CONJ | FJ_NEED_LADDER : 0;

	/* from a disjunction: its thresholds, as a family */
	base.fam = 1;
	lp.cost = INFINITY;
	for (size_t s = 0; s < c->nseg; s++) {
		if (base.tau[s] > 1.0)
			continue;
		for (int lo = 0; lo <= 4; lo++)
			for (int k = 1; k <= 20; k++) {
				struct plan try = base;

				if (plan_spent(ps, best->cost < lp.cost ? best->cost : lp.cost) &&
				    (!need || isfinite(lp.cost)))
					goto found;
				try.tau[s] = base.tau[s] - lo * 0.05;
				if (try.tau[s] < 0.05 - FJ_EPS || k * 0.05 <= try.tau[s] + FJ_EPS)
					continue;
				try.up[s][0] = k * 0.05;
				try.cost = plan_cost(c, fj, ps, &try, nd);
				if (try.cost < lp.cost)
					lp = try;
			}
	}
found:
	if (!isfinite(lp.cost))
		return;
	plan_descend(c, fj, ps, &lp, nd, 1);
	if (need || lp.cost < best->cost)
		*best = lp;
}

/* The best plan of single features (form ANY or SINGLE): from the best
 * uniform plan (every choice of features while there are few, else leaving
 * out one at a time), a coordinate descent.  With conjunctions (form ANY
 * or CONJ, and few features): from every uniform threshold for all
 * features and for all but one, a coordinate descent over the thresholds,
 * the conjunctions following from them; the cheaper plan wins (PAIRS: the
 * best plan with a conjunction of two features or more).  Then (ANY or
 * LADDER) ladders from the best plan with conjunctions (plan_ladder). */
static int
plan_search(const struct ctx *c, const struct fjoin *fj, const struct plan_sample *ps, int form,
            struct plan *best)
{
	uint64_t all = c->nseg >= 64 ? ~0ULL : (1ULL << c->nseg) - 1;
	int need = form == UDC_FUZZY_JOIN_PAIRS || form == UDC_FUZZY_JOIN_LADDER;
	struct plan cur;
	double *rho;

	if ((rho = malloc((ps->n ? ps->n : 1) * sizeof(*rho))) == NULL)
		return UDC_ENOMEM;
	memset(&cur, 0, sizeof(cur));
	for (size_t s = 0; s < c->nseg; s++)
		cur.tau[s] = floor(c->t * 20.0 + 1e-9) / 20.0;
	cur.cost = plan_cost(c, fj, ps, &cur, 0);
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
				struct plan try;

				if (!(strong & (1ULL << s)))
					continue;
				try.cost = INFINITY;
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
	plan_descend(c, fj, ps, &cur, 0, 0);
	*best = cur;
	if (need)
		best->cost = INFINITY;
	if (form == UDC_FUZZY_JOIN_SINGLE || c->nseg > FJ_CONJ_SEGS)
		return 0;
	{
		struct plan start;

		memset(&start, 0, sizeof(start));
		start.cost = INFINITY;
		for (size_t out = 0; out <= c->nseg; out++)
			for (int k = 4; k <= 14; k += 2) {
				struct plan pl;

				/* not worth more planning (form PAIRS: once one
				 * start with a conjunction is found) */
				if (plan_spent(ps, best->cost) ||
				    (need && plan_spent(ps, start.cost)))
					goto searched;

				memset(&pl, 0, sizeof(pl));
				pl.fam = 1;
				for (size_t s = 0; s < c->nseg; s++)
					pl.tau[s] = s == out ? FJ_OUT : k * 0.05;
				pl.cost = plan_cost(c, fj, ps, &pl, need ? FJ_NEED_CONJ : 0);
				if (pl.cost < start.cost)
					start = pl;
			}
	searched:
		if (isfinite(start.cost)) {
			plan_descend(c, fj, ps, &start, need ? FJ_NEED_CONJ : 0, 0);
			if (form != UDC_FUZZY_JOIN_LADDER && start.cost < best->cost)
				*best = start;
		}
		if (form == UDC_FUZZY_JOIN_ANY || form == UDC_FUZZY_JOIN_LADDER)
			plan_ladder(c, fj, ps, form == UDC_FUZZY_JOIN_LADDER,
			            isfinite(start.cost) ? &start : best, best);
	}
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
	free(fv->jbin);
	for (size_t g = 0; g < UDC_FUZZY_MAX_SEGMENTS; g++) {
		free(fv->jf[g]);
		free(fv->jp[g]);
	}
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
	free(fj->mam);
	free(fj->mbm);
	free(fj->bsort);
	free(fj->bcls_off);
	free(fj->bcls_rec);
	free(fj);
}

/* The passes of the plan: one per driving feature, the most selective
 * first (later ones skip what it found), and the B filters each checks,
 * copied in its value order.  A conjunction that needs the driver at or
 * above the level at which it is looked up alone is left out (that finds
 * its pairs). */
static int
build_passes(struct ctx *c, struct fjoin *fj)
{
	const struct shape *sh = &fj->sh;
	double mass[UDC_FUZZY_MAX_SEGMENTS];
	unsigned lo[UDC_FUZZY_MAX_SEGMENTS] = {0}, al[UDC_FUZZY_MAX_SEGMENTS] = {0};

	for (unsigned j = 0; j < sh->nconj; j++) {
		size_t d = sh->driver[j];
		unsigned L = req_level(&sh->req[j], d);

		if (lo[d] == 0 || L < lo[d])
			lo[d] = L;
		if (sh->conj[j] == 1ULL << d && (al[d] == 0 || L < al[d]))
			al[d] = L;
	}
	fj->norder = 0;
	for (size_t s = 0; s < c->nseg; s++) {
		unsigned k;
		double m;

		if (lo[s] == 0)
			continue;
		k = fj->norder++;
		m = mass_at(&fj->fv[s], sh->lad[s][lo[s] - 1]);
		while (k > 0 && mass[k - 1] > m) {
			fj->order[k] = fj->order[k - 1];
			mass[k] = mass[k - 1];
			k--;
		}
		fj->order[k] = (unsigned)s;
		mass[k] = m;
	}
	fj->pconj_off[0] = 0;
	for (unsigned k = 0; k < fj->norder; k++) {
		size_t d = fj->order[k];
		struct fvals *fv = &fj->fv[d];
		size_t n = fv->b_off[fv->nv];
		unsigned o = fj->pconj_off[k];

		fj->plev[k] = (uint8_t)lo[d];
		fj->alone[k] = (uint8_t)al[d];
		fj->checks[k] = 0;
		fj->pnl[k] = 1;
		for (unsigned j = 0; j < sh->nconj; j++) {
			struct lreq other = sh->req[j];
			unsigned L = req_level(&other, d);

			if (sh->driver[j] != d || (al[d] != 0 && L >= al[d]))
				continue;
			for (unsigned l = 0; l < FJ_MAX_LEV; l++) {
				other.m[l] &= ~(1ULL << d);
				if (other.m[l] != 0 && fj->pnl[k] < l + 1)
					fj->pnl[k] = (uint8_t)(l + 1);
			}
			fj->pdl[o] = (uint8_t)L;
			fj->pconj[o++] = other;
			fj->checks[k] |= other.m[0];
		}
		fj->pconj_off[k + 1] = o;
		for (uint64_t x = fj->checks[k]; x != 0; x &= x - 1) {
			size_t g = (size_t)__builtin_ctzll(x);

			if ((fv->jf[g] = malloc((n ? n : 1) * c->segw * sizeof(uint64_t))) == NULL ||
			    (fv->jp[g] = malloc((n ? n : 1) * sizeof(uint32_t))) == NULL)
				return UDC_ENOMEM;
			for (size_t y = 0; y < n; y++) {
				uint32_t b = fv->b_rec[y];

				memcpy(fv->jf[g] + y * c->segw, seg_b(c, b, g),
				       c->segw * sizeof(uint64_t));
				fv->jp[g][y] = c->pbs[(size_t)b * c->nseg + g];
			}
		}
	}
	return 0;
}

/* Groups the sampled records of each side by the most common masks. */
static void
plan_classes(struct plan_sample *ps, size_t nseg)
{
	for (int side = 0; side < 2; side++) {
		size_t lo = side ? ps->na : 0, hi = side ? ps->n : ps->na, cnt[64] = {0};
		uint64_t masks[64];
		unsigned nm = 0, keep;

		for (size_t i = lo; i < hi; i++) {
			unsigned k;

			for (k = 0; k < nm && masks[k] != ps->mask[i]; k++)
				;
			if (k == nm && nm < 64)
				masks[nm++] = ps->mask[i];
			if (k < nm)
				cnt[k]++;
		}
		/* the most common first */
		for (unsigned x = 1; x < nm; x++)
			for (unsigned y = x; y > 0 && cnt[y] > cnt[y - 1]; y--) {
				size_t tc = cnt[y];
				uint64_t tm = masks[y];

				cnt[y] = cnt[y - 1];
				masks[y] = masks[y - 1];
				cnt[y - 1] = tc;
				masks[y - 1] = tm;
			}
		keep = nm < FJ_PLAN_CLASSES ? nm : FJ_PLAN_CLASSES;
		ps->ncls[side] = keep;
		ps->coff[side][0] = side ? ps->coff[0][ps->ncls[0]] : 0;
		for (unsigned k = 0; k < keep; k++) {
			size_t o = ps->coff[side][k];

			ps->cmask[side][k] = masks[k];
			for (size_t i = lo; i < hi; i++)
				if (ps->mask[i] == masks[k])
					ps->rec[o++] = i;
			ps->coff[side][k + 1] = o;
		}
		ps->nin[side] = ps->coff[side][keep] - ps->coff[side][0];
	}
	for (int side = 0, o = 0; side < 2; side++) {
		size_t step = ps->nin[side] > FJ_SHARE_RECORDS ? ps->nin[side] / FJ_SHARE_RECORDS : 1;

		for (unsigned k = 0; k < ps->ncls[side]; k++) {
			ps->soff[side][k] = (size_t)o;
			for (size_t x = ps->coff[side][k]; x < ps->coff[side][k + 1]; x += step, o++)
				for (size_t s = 0; s < nseg; s++)
					ps->sp[(size_t)o * nseg + s] = ps->pops[ps->rec[x] * nseg + s];
		}
		ps->soff[side][ps->ncls[side]] = (size_t)o;
	}
}

int
udc_fjoin_plan(struct ctx *c, const struct udc_fuzzy_params *p, struct udc_fuzzy_stats *st,
               struct udc_workq *wq, int *use)
{
	struct fjoin *fj;
	struct plan best;
	struct plan_sample ps;
	size_t nra = c->n_a < FJ_PLAN_RECORDS ? c->n_a : FJ_PLAN_RECORDS;
	size_t nrb = c->n_b < FJ_PLAN_RECORDS ? c->n_b : FJ_PLAN_RECORDS;
	double exhaustive = (double)c->n_a * (double)c->n_b * FJ_C_EXH, tmin = 1.0;
	uint64_t seed = p->seed ^ 0xf301, drivers = 0, work = 0;
	int joint = c->nseg <= FJ_CONJ_SEGS && p->join_form != UDC_FUZZY_JOIN_SINGLE;
	int rv, shaped;

	(void)wq;
	*use = 0;
	memset(&ps, 0, sizeof(ps));
	ps.work = &work;
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
	    (ps.mask = malloc((nra + nrb) * sizeof(*ps.mask))) == NULL ||
	    (ps.rec = malloc((nra + nrb) * sizeof(*ps.rec))) == NULL ||
	    (ps.sp = malloc((nra + nrb) * c->nseg * sizeof(*ps.sp))) == NULL)
		goto fail;
	for (size_t s = 0; s < c->nseg; s++)
		if ((rv = build_values(c, fj, s)) != 0 ||
		    (rv = sample_mass(c, fj, s, seed + s, joint)) != 0)
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
	plan_classes(&ps, c->nseg);
	if ((rv = plan_search(c, fj, &ps, (int)p->join_form, &best)) != 0)
		goto fail;
	shaped = isfinite(best.cost) && plan_shape(c, fj, &ps, &best, &fj->sh) == 0;
	free(ps.pops);
	free(ps.mask);
	free(ps.rec);
	free(ps.sp);
	ps.sp = NULL;
	ps.pops = NULL;
	ps.mask = NULL;
	ps.rec = NULL;
	if (!shaped || (p->blocking == UDC_FUZZY_AUTO && !(best.cost < exhaustive))) {
		udc_fjoin_free(fj);
		return 0;
	}
	for (unsigned j = 0; j < fj->sh.nconj; j++)
		drivers |= 1ULL << fj->sh.driver[j];
	for (size_t s = 0; s < c->nseg; s++) {
		free(fj->fv[s].jbin);
		fj->fv[s].jbin = NULL;
		if (fj->sh.strong & (1ULL << s) && fj->sh.lad[s][0] < tmin)
			tmin = fj->sh.lad[s][0];
		/* a feature only checked needs no values */
		if (!(drivers & (1ULL << s)))
			free_values(&fj->fv[s]);
	}
	if ((rv = build_bounds(c, fj)) != 0) {
		udc_fjoin_free(fj);
		/* too many feature masks: compare every pair (still exact) */
		return rv == UDC_ELIMIT ? 0 : rv;
	}
	if ((rv = build_passes(c, fj)) != 0) {
		udc_fjoin_free(fj);
		return rv;
	}
	c->fj = fj;
	*use = 1;
	st->join_features = fj->sh.strong;
	st->join_tau = tmin;
	for (size_t s = 0; s < c->nseg && s < UDC_FUZZY_MAX_SEGMENTS; s++)
	{
		st->join_feature_tau[s] = (fj->sh.strong & (1ULL << s)) ? fj->sh.lad[s][0] : 0;
		st->join_levels[s] = fj->sh.nlev[s];
		for (unsigned l = 0; l < fj->sh.nlev[s]; l++)
			st->join_ladder[s][l] = fj->sh.lad[s][l];
		if (fj->sh.nlev[s] > 1)
			st->join_ladders |= 1ULL << s;
	}
	for (unsigned k = 0; k < fj->norder; k++)
		st->join_alone |= (uint64_t)(fj->alone[k] != 0) << fj->order[k];
	st->join_nconj = 0;
	for (unsigned j = 0; j < fj->sh.nconj && j < UDC_FUZZY_MAX_CONJ; j++) {
		st->join_conj[j] = fj->sh.conj[j];
		st->join_conj_driver[j] = fj->sh.driver[j];
		for (unsigned l = 1; l < FJ_MAX_LEV; l++)
			st->join_conj_up[j][l - 1] = fj->sh.req[j].m[l];
		st->join_nconj++;
	}
	st->join_patterns = fj->sh.npat;
	st->join_estimate = best.cost;
	st->exhaustive_estimate = exhaustive;
	return 0;
fail:
	free(ps.pops);
	free(ps.mask);
	free(ps.rec);
	free(ps.sp);
	udc_fjoin_free(fj);
	return rv;
}

/* ---------- scoring ---------- */

/* 1 if A record i and B record b pass feature s at threshold tau. */
static int
passes(const struct ctx *c, size_t s, double tau, size_t i, uint32_t b)
{
	uint32_t pa = c->pas[i * c->nseg + s], pb = c->pbs[(size_t)b * c->nseg + s];

	return pa != 0 && pb != 0 &&
	       reaches(udc_dice_and_count(seg_a(c, i, s), seg_b(c, b, s), c->segw), pa, pb, tau);
}

/* The level feature s of A record i and B record b reaches (0: none, or
 * one side lacks it). */
static unsigned
level_of(const struct ctx *c, const struct fjoin *fj, size_t s, size_t i, uint32_t b)
{
	uint32_t pa = c->pas[i * c->nseg + s], pb = c->pbs[(size_t)b * c->nseg + s], and;
	unsigned l = 0;

	if (pa == 0 || pb == 0)
		return 0;
	and = udc_dice_and_count(seg_a(c, i, s), seg_b(c, b, s), c->segw);
	while (l < fj->sh.nlev[s] && reaches(and, pa, pb, fj->sh.lad[s][l]))
		l++;
	return l;
}

/* 1 if an earlier pass (order[0..pass)) found A record i and B record b:
 * they pass its driver at the level it is looked up alone at, or at the
 * level one of its conjunctions needs and every other feature of that
 * conjunction at the level it needs. */
static int
found_before(const struct ctx *c, const struct fjoin *fj, unsigned pass, size_t i, uint32_t b)
{
	for (unsigned k = 0; k < pass; k++) {
		size_t d = fj->order[k];
		unsigned lv = level_of(c, fj, d, i, b);

		if (lv < fj->plev[k])
			continue;
		if (fj->alone[k] != 0 && lv >= fj->alone[k])
			return 1;
		for (unsigned j = fj->pconj_off[k]; j < fj->pconj_off[k + 1]; j++) {
			uint64_t x = fj->pconj[j].m[0];

			if (fj->pdl[j] > lv)
				continue;
			for (; x != 0; x &= x - 1) {
				size_t g = (size_t)__builtin_ctzll(x);

				if (!passes(c, g, req_tau(&fj->sh, &fj->pconj[j], g), i, b))
					break;
			}
			if (x == 0)
				return 1; /* every feature of the conjunction passes */
		}
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

/* What a pass collects for one A record: its heap, counters, the batch. */
struct collect {
	struct cand *h;
	unsigned nh;
	struct counters *k;
	uint32_t batch[BATCH];
	size_t nb;
	struct scratch *sc; /* a query: stamps instead of earlier passes */
	uint32_t epoch;
	uint64_t checked, direct;
};

/* B record b is a candidate of A record i in pass: unless compared
 * directly or (a query) seen already. */
static void
take(struct ctx *c, const struct fjoin *fj, unsigned pass, size_t i, uint32_t b,
     struct collect *co)
{
	if (is_direct(fj, i, b))
		return;
	if (co->sc != NULL) {
		if (co->sc->stamp[b] == co->epoch)
			return;
		co->sc->stamp[b] = co->epoch;
	}
	co->batch[co->nb++] = b;
	if (co->nb == BATCH) {
		flush(c, fj, pass, co->sc == NULL, i, co->h, &co->nh, co->k, co->batch, co->nb);
		co->nb = 0;
	}
}

/* The candidates of A record i through B value v of the pass's driver (at
 * level lv): its B records if the driver is looked up alone at that level,
 * else those that pass one of the conjunctions the value's level allows
 * (the other features' filters stream from the copies). */
static void
value_candidates(struct ctx *c, const struct fjoin *fj, unsigned pass, size_t i, uint32_t v,
                 unsigned lv, struct collect *co)
{
	size_t d = fj->order[pass];
	const struct fvals *fv = &fj->fv[d];
	uint32_t lo = fv->b_off[v], hi = fv->b_off[v + 1];
	uint32_t cnt[FJ_CHUNK];
	uint64_t gp[FJ_MAX_LEV][FJ_CHUNK];
	unsigned nl = fj->pnl[pass];

	if (fj->alone[pass] != 0 && lv >= fj->alone[pass]) {
		for (uint32_t x = lo; x < hi; x++)
			take(c, fj, pass, i, fv->b_rec[x], co);
		return;
	}
	{
		unsigned j;

		for (j = fj->pconj_off[pass]; j < fj->pconj_off[pass + 1] && fj->pdl[j] > lv; j++)
			;
		if (j == fj->pconj_off[pass + 1])
			return; /* no conjunction at this level */
	}
	co->checked += hi - lo;
	for (uint32_t x0 = lo; x0 < hi; x0 += FJ_CHUNK) {
		size_t m = hi - x0 < FJ_CHUNK ? hi - x0 : FJ_CHUNK;
		uint64_t seen = 0;

		/* gp[l][y]: the features checked that the pair passes at
		 * level l + 1 or higher */
		for (unsigned l = 0; l < nl; l++)
			memset(gp[l], 0, m * sizeof(gp[l][0]));
		for (uint64_t x = fj->checks[pass]; x != 0; x &= x - 1) {
			size_t g = (size_t)__builtin_ctzll(x);
			uint32_t pa = c->pas[i * c->nseg + g];
			const uint32_t *pb = fv->jp[g] + x0;
			const double *lad = fj->sh.lad[g];
			double lim = lad[0] - 2 * FJ_EPS;
			unsigned ng = fj->sh.nlev[g] < nl ? fj->sh.nlev[g] : nl;

			if (pa == 0)
				continue;
			udc_dice_and_counts(seg_a(c, i, g), fv->jf[g] + (size_t)x0 * c->segw, m,
			                    c->segw, cnt);
			for (size_t y = 0; y < m; y++) {
				/* a multiplication rejects most; the score decides */
				if (pb[y] == 0 || 2.0 * cnt[y] < lim * (double)(pa + pb[y]) ||
				    !reaches(cnt[y], pa, pb[y], lad[0]))
					continue;
				gp[0][y] |= 1ULL << g;
				seen |= 1ULL << g;
				for (unsigned l = 1; l < ng && reaches(cnt[y], pa, pb[y], lad[l]); l++)
					gp[l][y] |= 1ULL << g;
			}
		}
		if (seen == 0)
			continue;
		for (size_t y = 0; y < m; y++) {
			if (gp[0][y] == 0)
				continue;
			for (unsigned j = fj->pconj_off[pass]; j < fj->pconj_off[pass + 1]; j++) {
				const struct lreq *r = &fj->pconj[j];
				unsigned l;

				if (fj->pdl[j] > lv)
					continue;
				for (l = 0; l < nl && (gp[l][y] & r->m[l]) == r->m[l]; l++)
					;
				if (l == nl) {
					take(c, fj, pass, i, fv->b_rec[x0 + y], co);
					break;
				}
			}
		}
	}
}

/* The B records A record i is compared with directly: for each class of
 * B and each pattern, the prefix of the B records (ascending margin) whose
 * margin does not make up for the record's, but for those an earlier
 * pattern took already. */
static void
direct_candidates(struct ctx *c, const struct fjoin *fj, size_t i, struct collect *co)
{
	unsigned ca = fj->cls_a[i], np = fj->sh.npat;
	uint64_t n = 0;

	for (unsigned cb = 0; cb < fj->ncls_b; cb++) {
		const double *ma = a_margins(fj, i, cb);

		for (unsigned k = 0; k < np; k++) {
			const uint32_t *list = fj->bsort + ((size_t)ca * np + k) * c->n_b;

			for (uint32_t x = fj->bcls_off[cb]; x < fj->bcls_off[cb + 1]; x++) {
				uint32_t b = list[x];
				const double *mb = b_margins(fj, b, ca);
				unsigned e;

				if (ma[k] + mb[k] >= 0)
					break;
				for (e = 0; e < k && ma[e] + mb[e] >= 0; e++)
					;
				if (e < k)
					continue; /* taken for pattern e */
				n++;
				co->batch[co->nb++] = b;
				if (co->nb == BATCH) {
					flush(c, fj, 0, 0, i, co->h, &co->nh, co->k, co->batch,
					      co->nb);
					co->nb = 0;
				}
			}
		}
	}
	co->direct += n;
}

/* The B values of feature s at or above level lv0 of its ladder from a
 * filter (popcount pa), into *buf, each with the level it reaches (level
 * << 32 | value); SIZE_MAX when out of memory. */
static size_t
neighbours(const struct ctx *c, const struct fjoin *fj, size_t s, unsigned lv0, const uint64_t *q,
           uint32_t pa, uint64_t **buf, size_t *cap)
{
	const struct fvals *fv = &fj->fv[s];
	const double *lad = fj->sh.lad[s];
	double tau = lad[lv0 - 1];
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
			unsigned lv = lv0;

			if (n == *cap) {
				size_t nc = *cap ? 2 * *cap : 256;
				uint64_t *p = realloc(*buf, nc * sizeof(**buf));

				if (p == NULL)
					return SIZE_MAX;
				*buf = p;
				*cap = nc;
			}
			while (lv < fj->sh.nlev[s] &&
			       reaches(cnt[x], pa, fv->bv_pop[j + x], lad[lv]))
				lv++;
			(*buf)[n++] = (uint64_t)lv << 32 | fv->bv[j + x];
		}
	}
	return n;
}

/* One pass over a range of the A values of the pass's driver. */
static int
pass_range(void *arg, size_t begin, size_t end)
{
	struct ctx *c = arg;
	struct fjoin *fj = c->fj;
	unsigned pass = fj->pass;
	size_t s = fj->order[pass];
	const struct fvals *fv = &fj->fv[s];
	struct counters k = {0, 0, 0, 0, 0};
	struct collect co;
	uint64_t *buf = NULL;
	size_t cap = 0;
	uint64_t checked = 0;

	memset(&co, 0, sizeof(co));
	co.k = &k;
	for (size_t x = begin; x < end; x++) {
		uint32_t u = fv->av[x], first = fv->a_rec[fv->a_off[u]];
		size_t nn =
		    neighbours(c, fj, s, fj->plev[pass], seg_a(c, first, s), fv->pop[u], &buf, &cap);

		if (nn == SIZE_MAX) {
			free(buf);
			return UDC_ENOMEM;
		}
		for (uint32_t y = fv->a_off[u]; y < fv->a_off[u + 1]; y++) {
			size_t i = fv->a_rec[y];

			co.h = c->cands + i * c->topk;
			co.nh = c->ncand[i];
			co.nb = 0;
			for (size_t z = 0; z < nn; z++)
				value_candidates(c, fj, pass, i, (uint32_t)buf[z],
				                 (unsigned)(buf[z] >> 32), &co);
			flush(c, fj, pass, 1, i, co.h, &co.nh, &k, co.batch, co.nb);
			c->ncand[i] = (uint8_t)co.nh;
		}
	}
	checked = co.checked;
	free(buf);
	fz_counters_flush(c, &k);
	atomic_fetch_add(&fj->checked, checked);
	return 0;
}

/* The last pass: direct comparisons, then each A record's list in order. */
static int
direct_range(void *arg, size_t begin, size_t end)
{
	struct ctx *c = arg;
	struct counters k = {0, 0, 0, 0, 0};
	struct collect co;

	memset(&co, 0, sizeof(co));
	co.k = &k;
	for (size_t i = begin; i < end; i++) {
		co.h = c->cands + i * c->topk;
		co.nh = c->ncand[i];
		co.nb = 0;
		direct_candidates(c, c->fj, i, &co);
		flush(c, c->fj, 0, 0, i, co.h, &co.nh, &k, co.batch, co.nb);
		fz_sort_best_first(co.h, co.nh);
		c->ncand[i] = (uint8_t)co.nh;
	}
	fz_counters_flush(c, &k);
	atomic_fetch_add(&c->fj->direct_pairs, co.direct);
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
udc_fjoin_counts(struct fjoin *fj, uint64_t *checked, uint64_t *direct)
{
	*checked = atomic_load(&fj->checked);
	*direct = atomic_load(&fj->direct_pairs);
}

void
udc_fjoin_query(struct ctx *c, struct scratch *sc, size_t i, struct counters *k)
{
	struct fjoin *fj = c->fj;
	struct collect co;
	uint64_t *buf = NULL;
	size_t cap = 0;

	memset(&co, 0, sizeof(co));
	co.h = c->cands + i * c->topk;
	co.k = k;
	co.sc = sc;
	co.epoch = fz_scratch_epoch(c, sc);
	for (unsigned pass = 0; pass < fj->norder; pass++) {
		size_t s = fj->order[pass], nn;
		uint32_t pa = c->pas[i * c->nseg + s];

		if (pa == 0)
			continue;
		nn = neighbours(c, fj, s, fj->plev[pass], seg_a(c, i, s), pa, &buf, &cap);
		if (nn == SIZE_MAX)
			goto all;
		for (size_t z = 0; z < nn; z++)
			value_candidates(c, fj, pass, i, (uint32_t)buf[z], (unsigned)(buf[z] >> 32),
			                 &co);
	}
	free(buf);
	direct_candidates(c, fj, i, &co);
	goto done;
all:
	/* out of memory for a list: every B record not seen yet, which is
	 * exact too (the direct ones are among them) */
	free(buf);
	for (size_t b = 0; b < c->n_b; b++) {
		if (sc->stamp[b] == co.epoch)
			continue;
		sc->stamp[b] = co.epoch;
		co.batch[co.nb++] = (uint32_t)b;
		if (co.nb == BATCH) {
			flush(c, fj, 0, 0, i, co.h, &co.nh, k, co.batch, co.nb);
			co.nb = 0;
		}
	}
done:
	flush(c, fj, 0, 0, i, co.h, &co.nh, k, co.batch, co.nb);
	fz_sort_best_first(co.h, co.nh);
	c->ncand[i] = (uint8_t)co.nh;
}
