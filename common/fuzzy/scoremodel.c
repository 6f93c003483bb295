/*
 * scoremodel.c - a two-component mixture of best-match scores, fitted by
 * EM on their histogram, and the precision and recall it implies.
 *
 * The components are put on the histogram by their mass per bin (a Beta's
 * density at the bin's middle, normalised; a Gumbel's distribution
 * function at the bin's edges), so that a score of exactly 1 (records that
 * agree on everything) does not make a density infinite: the top bin also
 * has a mass of its own, counted as matches, which the matches' Beta does
 * not have to stretch to.  The M step sets each component by the moments of
 * its weighted histogram (method of moments, as is usual for Beta
 * mixtures; a Gumbel's scale is sqrt(6 var) / pi, its location the mean
 * less Euler's constant times the scale).  EM starts from several splits of
 * the sorted scores and keeps the fit with the highest likelihood; the
 * component with the lower mean is the non-matches.
 */
#include "scoremodel.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "err.h"

#define NB UDC_SCORE_NBINS
#define EM_ITERATIONS 500
#define EM_TOL 1e-9
#define EULER_GAMMA 0.5772156649015329

static void
beta_bins(double a, double b, double *p)
{
	double lb = lgamma(a) + lgamma(b) - lgamma(a + b), sum = 0;

	for (int i = 0; i < NB; i++) {
		double x = (i + 0.5) / NB;

		p[i] = exp((a - 1) * log(x) + (b - 1) * log1p(-x) - lb);
		sum += p[i];
	}
	for (int i = 0; i < NB; i++)
		p[i] = sum > 0 ? p[i] / sum : 1.0 / NB;
}

/* Gumbel (maximum) of location mu, scale beta: F(x) = exp(-exp(-(x - mu) / beta)). */
static void
gumbel_bins(double mu, double beta, double *p)
{
	double sum = 0, prev = 0;

	for (int i = 0; i <= NB; i++) {
		double z = -((double)i / NB - mu) / beta;
		double f = z > 700 ? 0.0 : exp(-exp(z));

		if (i == 0) {
			/* the mass below 0 goes to the first bin */
			prev = 0;
		} else {
			p[i - 1] = f - prev > 1e-300 ? f - prev : 1e-300;
			sum += p[i - 1];
		}
		if (i == 0)
			prev = 0;
		else
			prev = f;
	}
	/* the mass above 1 goes to the last bin */
	p[NB - 1] += 1.0 - prev > 0 ? 1.0 - prev : 0;
	sum += 1.0 - prev > 0 ? 1.0 - prev : 0;
	for (int i = 0; i < NB; i++)
		p[i] /= sum;
}

/* Beta parameters with mean mu and variance var (method of moments),
 * kept away from the degenerate ends. */
static void
moments(double mu, double var, double *a, double *b)
{
	double k;

	if (mu < 1e-4)
		mu = 1e-4;
	if (mu > 1 - 1e-4)
		mu = 1 - 1e-4;
	if (var < 1e-6)
		var = 1e-6;
	k = mu * (1 - mu) / var - 1;
	if (k < 0.2)
		k = 0.2;
	*a = mu * k > 0.1 ? mu * k : 0.1;
	*b = (1 - mu) * k > 0.1 ? (1 - mu) * k : 0.1;
}

static void
weighted_moments(const double *h, const double *w, double *mu, double *var, double *tot)
{
	double s = 0, s1 = 0, s2 = 0;

	for (int i = 0; i < NB; i++) {
		double x = (i + 0.5) / NB, c = h[i] * w[i];

		s += c;
		s1 += c * x;
	}
	*tot = s;
	*mu = s > 0 ? s1 / s : 0.5;
	for (int i = 0; i < NB; i++) {
		double x = (i + 0.5) / NB, d = x - *mu;

		s2 += h[i] * w[i] * d * d;
	}
	*var = s > 0 ? s2 / s : 0.01;
}

/* One EM run from a split: scores in bins below `cut` start as U. */
static double
em_run(const double *h, double n, int cut, int family, struct udc_score_fit *m)
{
	double wm[NB], wu[NB], wt[NB], mu, var, ll = -INFINITY;

	for (int i = 0; i < NB; i++) {
		wu[i] = i < cut ? 1.0 : 0.0;
		wm[i] = 1.0 - wu[i];
		wt[i] = 0;
	}
	/* half of the top bin starts as exact agreement */
	wt[NB - 1] = 0.5;
	wm[NB - 1] *= 0.5;
	wu[NB - 1] *= 0.5;
	for (int it = 0; it < EM_ITERATIONS; it++) {
		double tm, tu, tt = h[NB - 1] * wt[NB - 1], nll = 0;

		/* M step */
		weighted_moments(h, wm, &mu, &var, &tm);
		moments(mu, var, &m->m_a, &m->m_b);
		weighted_moments(h, wu, &mu, &var, &tu);
		if (family == UDC_SCORE_U_GUMBEL) {
			m->u_p2 = sqrt(6.0 * (var > 1e-8 ? var : 1e-8)) / 3.14159265358979323846;
			m->u_p1 = mu - EULER_GAMMA * m->u_p2;
		} else {
			moments(mu, var, &m->u_p1, &m->u_p2);
		}
		m->pi_m = tm / n;
		m->pi_u = tu / n;
		m->pi_top = tt / n;
		beta_bins(m->m_a, m->m_b, m->pm);
		if (family == UDC_SCORE_U_GUMBEL)
			gumbel_bins(m->u_p1, m->u_p2, m->pu);
		else
			beta_bins(m->u_p1, m->u_p2, m->pu);
		/* E step */
		for (int i = 0; i < NB; i++) {
			double a = m->pi_m * m->pm[i], b = m->pi_u * m->pu[i];
			double c = i == NB - 1 ? m->pi_top : 0.0, s = a + b + c;

			if (h[i] == 0) {
				wm[i] = wu[i] = wt[i] = 0;
				continue;
			}
			if (s <= 0) {
				s = 1e-300;
				b = s;
			}
			wm[i] = a / s;
			wu[i] = b / s;
			wt[i] = c / s;
			nll += h[i] * log(s);
		}
		if (fabs(nll - ll) < EM_TOL * fabs(nll)) {
			ll = nll;
			break;
		}
		ll = nll;
	}
	return ll;
}

static double
clamp01(double x)
{
	if (!(x >= 0.0))
		return 0.0; /* also NaN */
	return x > 1.0 ? 1.0 : x;
}

/* A fit whose numbers are not all finite is of no use. */
static int
fit_finite(const struct udc_score_fit *f)
{
	if (!isfinite(f->pi_m) || !isfinite(f->pi_u) || !isfinite(f->pi_top) || !isfinite(f->m_a) ||
	    !isfinite(f->m_b) || !isfinite(f->u_p1) || !isfinite(f->u_p2))
		return 0;
	for (int i = 0; i < NB; i++)
		if (!isfinite(f->pm[i]) || !isfinite(f->pu[i]))
			return 0;
	return 1;
}

static double
mean_of(const double *p)
{
	double mu = 0;

	for (int i = 0; i < NB; i++)
		mu += p[i] * (i + 0.5) / NB;
	return mu;
}

/* The best of the EM runs for one family of U. */
static int
fit_family(const double *h, double n, size_t lo, size_t hi, int family, struct udc_score_fit *best)
{
	static const double splits[] = {0.1, 0.25, 0.4, 0.5, 0.6, 0.75, 0.9};
	struct udc_score_fit cur;

	memset(best, 0, sizeof(*best));
	best->loglik = -INFINITY;
	for (size_t k = 0; k < sizeof(splits) / sizeof(splits[0]); k++) {
		double want = splits[k] * n, cum = 0;
		int cut = 0;

		for (; cut < NB && cum + h[cut] <= want; cut++)
			cum += h[cut];
		if (cut <= (int)lo)
			cut = (int)lo + 1;
		if (cut > (int)hi)
			cut = (int)hi;
		memset(&cur, 0, sizeof(cur));
		cur.loglik = em_run(h, n, cut, family, &cur);
		if (!isfinite(cur.loglik) || !fit_finite(&cur))
			continue;
		/* the non-matches must be the component with the lower mean: a
		 * run that swapped them fits something else */
		if (mean_of(cur.pu) > mean_of(cur.pm))
			continue;
		if (cur.loglik > best->loglik)
			*best = cur;
	}
	return isfinite(best->loglik) ? 0 : UDC_EINVAL;
}

int
udc_score_model_fit(const double *scores, size_t n, struct udc_score_model *m)
{
	double h[NB];
	size_t lo = NB, hi = 0;
	int ok = 0;

	memset(m, 0, sizeof(*m));
	if (n < UDC_SCORE_MIN_SAMPLE)
		return UDC_EINVAL;
	memset(h, 0, sizeof(h));
	for (size_t i = 0; i < n; i++) {
		double s = scores[i];
		int b;

		if (!(s >= 0))
			s = 0;
		if (s > 1)
			s = 1;
		b = (int)(s * NB);
		if (b >= NB)
			b = NB - 1;
		h[b]++;
		if ((size_t)b < lo)
			lo = (size_t)b;
		if ((size_t)b > hi)
			hi = (size_t)b;
	}
	if (lo == hi)
		return UDC_EINVAL;
	for (int f = 0; f < 2; f++)
		if (fit_family(h, (double)n, lo, hi, f, &m->fit[f]) == 0)
			ok |= 1 << f;
	if (ok == 0)
		return UDC_EINVAL;
	/* a family that did not fit copies the other, so both curves exist */
	if (!(ok & 1))
		m->fit[0] = m->fit[1];
	if (!(ok & 2))
		m->fit[1] = m->fit[0];
	m->best = m->fit[1].loglik > m->fit[0].loglik;
	m->n = n;
	return 0;
}

static void
fit_at(const struct udc_score_fit *f, double t, double *precision, double *recall)
{
	int b = (int)floor(t * NB + 0.5);
	double sm = 0, su = 0, all = f->pi_m + f->pi_top;

	if (b < 0)
		b = 0;
	for (int i = b; i < NB; i++) {
		sm += f->pi_m * f->pm[i];
		su += f->pi_u * f->pu[i];
	}
	if (b < NB)
		sm += f->pi_top;
	*precision = sm + su > 0 ? sm / (sm + su) : 1.0;
	*recall = all > 0 ? sm / all : 0.0;
	/* sums of bin masses can pass 1 by a rounding error */
	*precision = clamp01(*precision);
	*recall = clamp01(*recall);
}

void
udc_score_model_at(const struct udc_score_model *m, double t, double *precision, double *recall)
{
	fit_at(&m->fit[m->best], t, precision, recall);
}

double
udc_score_model_precision_low(const struct udc_score_model *m, double t)
{
	double p0, p1, r;

	fit_at(&m->fit[0], t, &p0, &r);
	fit_at(&m->fit[1], t, &p1, &r);
	return p0 < p1 ? p0 : p1;
}

double
udc_score_model_match_share(const struct udc_score_model *m)
{
	return m->fit[m->best].pi_m + m->fit[m->best].pi_top;
}

int
udc_score_model_threshold(const struct udc_score_model *m, double target, unsigned lo, unsigned hi,
                          unsigned step, unsigned *t)
{
	if (step == 0)
		step = 1;
	for (unsigned x = lo; x <= hi; x += step) {
		if (udc_score_model_precision_low(m, x / 1000.0) >= target) {
			*t = x;
			return 0;
		}
	}
	return UDC_ENOTFOUND;
}
