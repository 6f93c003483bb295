/*
 * scoremodel.h - precision and recall of a fuzzy linkage at each threshold,
 * estimated without ground truth.
 *
 * The input is each record's best-match score (its highest score against
 * the other list), which the CBS node sees anyway.  Records with a partner
 * in the other list have high best scores, records without one the highest
 * of many chance scores.  A two-component mixture is fitted to the
 * histogram of those scores by EM (Fellegi-Sunter style: matches M, a Beta
 * distribution plus a point mass of exact agreement at 1, and non-matches
 * U), twice: with U a Beta distribution and with U a Gumbel distribution
 * (the law of a maximum, with a heavier right tail).  The fit with the
 * higher likelihood gives the estimated curve; at a threshold t
 *     precision(t) = M above t / (M + U above t),
 *     recall(t)    = M above t / M,
 * the share of the records whose best match is a true one among those
 * linked, and the share of the records with a partner that link.  These are
 * best-match figures: the 1:1 resolution can only raise precision.
 * threshold = auto takes the lower of the two fits' precision, so that a
 * tail one of them makes too light does not pick too low a threshold.
 * docs/fuzzy.md has the validation against truth.
 */
#ifndef UDC_SCOREMODEL_H
#define UDC_SCOREMODEL_H

#include <stddef.h>

#define UDC_SCORE_NBINS 200      /* histogram bins over [0, 1] */
#define UDC_SCORE_MIN_SAMPLE 100 /* fewer scores: no model */

enum udc_score_ufamily { UDC_SCORE_U_BETA = 0, UDC_SCORE_U_GUMBEL = 1 };

struct udc_score_fit {
	double pi_m, pi_u, pi_top; /* weights: matches (Beta), non-matches, exact agreement */
	double m_a, m_b;           /* the matches' Beta */
	double u_p1, u_p2;         /* the non-matches': Beta a, b or Gumbel location, scale */
	double loglik;
	double pm[UDC_SCORE_NBINS]; /* bin masses of the match component */
	double pu[UDC_SCORE_NBINS]; /* ... and of the non-match component */
};

struct udc_score_model {
	size_t n;                    /* scores fitted */
	struct udc_score_fit fit[2]; /* by enum udc_score_ufamily */
	int best;                    /* the fit with the higher likelihood */
};

/*
 * Fits the model to n scores in [0, 1] (values outside are clamped).
 * Returns 0, UDC_EINVAL for fewer than UDC_SCORE_MIN_SAMPLE scores or no
 * spread at all, UDC_ENOMEM.
 */
int udc_score_model_fit(const double *scores, size_t n, struct udc_score_model *m);
/* Estimated precision and recall at threshold t (the better fit). */
void udc_score_model_at(const struct udc_score_model *m, double t, double *precision,
                        double *recall);
/* The lower of the two fits' precision at t. */
double udc_score_model_precision_low(const struct udc_score_model *m, double t);
/* The share of records with a partner (matches of either kind). */
double udc_score_model_match_share(const struct udc_score_model *m);
/*
 * The lowest threshold in [lo, hi] on a grid of step thousandths at which
 * both fits' precision reaches target.  Returns 0 and *t (thousandths), or
 * UDC_ENOTFOUND when none does.
 */
int udc_score_model_threshold(const struct udc_score_model *m, double target, unsigned lo,
                              unsigned hi, unsigned step, unsigned *t);

#endif
