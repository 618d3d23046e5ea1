/* did.h -- difference-in-differences on matched comparison households: behavioural (AMI feedback)
 * program savings with a household-clustered 90 % interval. */
#ifndef ENMON_DID_H
#define ENMON_DID_H

#include <stddef.h>

#define DID_MONTHS 12
#define DID_K_MAX 3         /* nearest neighbours per participant (with replacement) */
#define DID_MIN_PRE_DAYS 28 /* complete pre-period days a household needs */
#define DID_MIN_POST_DAYS 7 /* complete post-period days a household needs */
#define DID_LEVEL 0.90      /* two-sided interval */

/* One household: sums of its complete days before and after the program start, and its
 * pre-period usage by calendar month (the matching profile). */
struct did_household {
    double pre_kwh, post_kwh;
    int pre_days, post_days;
    double month_kwh[DID_MONTHS];
    int month_days[DID_MONTHS];
};

struct did_result {
    int ok; /* 0: insufficient data, reason says why */
    char reason[160];
    int k;             /* neighbours used per participant */
    int n_part, n_cmp; /* usable participants; distinct comparison households matched */
    int n_part_skipped, n_cmp_usable;
    double participant_days;             /* W = sum of the participants' post days */
    double per_day_kwh;                  /* s = sum(w_i d_i) / W, kWh per participant-day */
    double se_per_day;                   /* household-clustered standard error of s */
    double t;                            /* Student t(0.95, n - 1) */
    double slope;                        /* b: comparison change per kWh/day of pre-period level */
    double saved_kwh, low_kwh, high_kwh; /* s W, (s -/+ t se) W */
};

/* Adds one complete day (kWh) to a household: post 0 = pre-period, month 1..12. */
void did_household_add(struct did_household *h, int post, int month, double kwh);

/* 1 when the household has DID_MIN_PRE_DAYS and DID_MIN_POST_DAYS complete days. */
int did_household_usable(const struct did_household *h);

/* Matching distance: root mean square of the differences of the monthly mean kWh/day over the
 * calendar months both households have in their pre-period; INFINITY when none is shared. */
double did_distance(const struct did_household *a, const struct did_household *b);

/* The k (1..DID_K_MAX) nearest usable comparison households of a participant (with replacement:
 * a comparison household may serve several participants; ties go to the lower index).
 * idx[k]; returns how many were found (< k when fewer are usable). */
int did_match(const struct did_household *p, const struct did_household *cmp, size_t nc, int k,
              size_t *idx);

/* Bias correction (Abadie and Imbens 2011): b, the least-squares slope of the change
 * (post - pre, kWh/day) on the pre-period level (kWh/day) over the usable comparison households;
 * 0 with fewer than 2 or no spread. */
double did_slope(const struct did_household *cmp, size_t nc);

/* The estimate. Per usable participant i with matches m(i), changes c = post - pre and
 * pre-period levels x (means per day, kWh/day):
 *   d_i = mean_{j in m(i)} [c_j + b (x_i - x_j)] - c_i   (the matches moved to i's level)
 * w_i = its post days, W = sum w_i, s = sum w_i d_i / W, saved = s W,
 *   se(s) = sqrt( n / (n - 1) * sum_i w_i^2 (d_i - s)^2            (clustered by household)
 *                 + sum_j (L_j^2 - Q_j) sigma2_j ) / W               (comparison reuse)
 * where, per comparison household j, L_j = sum of w_i / k and Q_j = sum of (w_i / k)^2 over the
 * participants it serves, and sigma2_j = (c_j - c_j' - b (x_j - x_j'))^2 / 2 with j' its nearest
 * other comparison household (Abadie and Imbens 2006, matching with replacement);
 *   interval = (s -/+ t(0.95, n - 1) se) W.
 * d[np] (may be NULL) gets each participant's d_i, NAN when not usable. Returns out->ok. */
int did_estimate(const struct did_household *part, size_t np, const struct did_household *cmp,
                 size_t nc, int k, double *d, struct did_result *out);

#endif
