/* baseline_model.h -- weather-normalized daily baseline (CalTRACK 2.0 daily models, ASHRAE
 * Guideline 14 fit statistics and fractional savings uncertainty): pure functions. */
#ifndef ENMON_BASELINE_MODEL_H
#define ENMON_BASELINE_MODEL_H

#include <stddef.h>

#include "err.h"

#define BM_HOURS 24
#define BM_HEAT_MIN 10 /* heating balance points searched: 10..20 C in 1 C steps */
#define BM_HEAT_MAX 20
#define BM_COOL_MIN 18 /* cooling balance points searched: 18..28 C in 1 C steps */
#define BM_COOL_MAX 28
#define BM_P_MAX 0.1       /* a degree-day coefficient is significant when p < 0.1 */
#define BM_G14_CVRMSE 0.30 /* daily models: CV(RMSE) at most 30 % (G14 hourly criterion) */
#define BM_G14_NMBE 0.10   /* daily models: |NMBE| at most 10 % (G14 hourly criterion) */
#define BM_FSU_FACTOR 1.26 /* G14-2014 Annex B empirical coefficient */
#define BM_REASON_MAX 160
/* regressors of a day for the interval: 1, W, HDD, CDD and the two balance points */
#define BM_NX 6

/* One local day of one device. */
struct bm_day {
    int weekend;            /* Saturday, Sunday or a holiday */
    double kwh;             /* energy of the day; NAN when missing */
    double temp_c;          /* mean outdoor temperature of the day; NAN: from hourly_c */
    const double *hourly_c; /* NULL, or BM_HOURS hourly temperatures (NAN for a missing hour) */
};

enum bm_kind {
    BM_INTERCEPT, /* kWh = a + w*weekend */
    BM_HDD,       /* + bh * HDD(Th) */
    BM_CDD,       /* + bc * CDD(Tc) */
    BM_HDD_CDD,   /* + bh * HDD(Th) + bc * CDD(Tc) */
};

/* Data sufficiency (defaults from bm_opts_default: 365, 0.9, 10, 20). */
struct bm_opts {
    int min_period_days; /* the baseline period has at least this many days (CalTRACK 2.2.1.1) */
    double
        min_coverage; /* share of the period's days with kWh and temperature (CalTRACK 2.2.1.2) */
    int min_dd_days;  /* a balance point needs this many days with non-zero degree days */
    double min_dd_total; /* ... and this many degree days (C-days) in total */
};

/* A fitted baseline model and its fit statistics (ASHRAE Guideline 14 definitions). */
struct bm_model {
    int sufficient;             /* 0: insufficient, see reason (only period_days, n set) */
    char reason[BM_REASON_MAX]; /* why not sufficient; "" when sufficient */
    enum bm_kind kind;
    double heat_bp, cool_bp;   /* balance points (C); NAN when the model has no such term */
    double intercept;          /* kWh per weekday at zero degree days */
    double weekend;            /* kWh added on weekend days (0 when no weekend term) */
    double beta_hdd, beta_cdd; /* kWh per degree day (0 when not in the model) */
    double p_hdd, p_cdd;       /* two-sided p-values of those coefficients (NAN when absent) */
    int has_weekend;           /* the weekend term is in the model (both day types present) */
    int period_days;           /* days in the baseline period */
    int n;                     /* days used: kWh and temperature known */
    int p;                     /* parameters of the model */
    double mean_kwh;           /* mean of the used days' kWh */
    double r2, adj_r2;
    double rmse;   /* sqrt(SSE / (n - p)) */
    double cvrmse; /* rmse / mean_kwh (a fraction; x100 for %) */
    double nmbe;   /* sum(y - yhat) / ((n - p) * mean_kwh) (fraction) */
    double rho;    /* lag-1 autocorrelation of the residuals (consecutive days) */
    int g14_ok;    /* cvrmse <= BM_G14_CVRMSE and |nmbe| <= BM_G14_NMBE */
    /* (J'J)^-1, J the Jacobian of the daily prediction in (a, w, bh, bc, Th, Tc) over the used
     * days (bm_day_x; the balance points are parameters of the fit); rows and columns of the
     * terms not in the model are 0 */
    double xtx_inv[BM_NX][BM_NX];
    /* 1: the balance-point columns are in xtx_inv (0: J'J singular with them) */
    int bp_terms;
};

/* Savings of a reporting period against a model, with the G14 90 % interval. */
struct bm_savings {
    int days;                  /* reporting days counted: kWh and temperature known */
    int missing;               /* reporting days left out */
    double counterfactual_kwh; /* sum of the model's predictions over the counted days */
    double actual_kwh;         /* sum of the metered kWh over the counted days */
    double savings_kwh;        /* counterfactual - actual */
    double n_eff;              /* n' = n (1 - rho) / (1 + rho), rho clamped at 0 */
    double t90;                /* t(0.95, n' - p): the two-sided 90 % Student t value */
    double lev;                /* s' (X'X)^-1 s, s the sums of the reporting days' regressors */
    double half_kwh; /* half-width of the 90 % interval of savings_kwh; NAN if undefined */
    double fsu;      /* half_kwh / |savings_kwh| (fractional savings uncertainty); NAN if 0 */
};

void bm_opts_default(struct bm_opts *o);
const char *bm_kind_name(enum bm_kind k); /* "intercept", "hdd", "cdd", "hdd+cdd" */

/* The day's mean temperature: temp_c, else the mean of its known hourly temperatures when at
 * least 12 of 24 are known (CalTRACK 2.2.2.3), else NAN. Degree days: bm_day_hdd/bm_day_cdd. */
double bm_day_temp(const struct bm_day *d);
double bm_hdd(double temp_c, double bp); /* max(0, bp - temp) */
double bm_cdd(double temp_c, double bp); /* max(0, temp - bp) */
/* A day's degree days (C-days) at balance point bp: with hourly_c holding at least 12 known
 * hours, the mean over those hours of bm_hdd/bm_cdd of each hour (degree-hours / 24: a day
 * that is 30 C in the afternoon and 18 C at night has cooling degree days at 24 C although
 * its mean is 24 C or less); else bm_hdd/bm_cdd of the day's mean; NAN without temperature.
 * Every fit and prediction uses these. */
double bm_day_hdd(const struct bm_day *d, double bp);
double bm_day_cdd(const struct bm_day *d, double bp);

/* Regularized incomplete beta I_x(a, b) (continued fraction); NAN for bad arguments. */
double bm_betai(double a, double b, double x);
/* Student t cumulative distribution P(T <= t) with df > 0 degrees of freedom (real df). */
double bm_t_cdf(double t, double df);
/* The t with P(T <= t) = prob (0 < prob < 1), by bisection on bm_t_cdf. */
double bm_t_quantile(double prob, double df);

/* Fits one candidate model on the baseline days: kind and balance points given (ignored when not
 * used). Sets every statistic; *eligible = degree-day coefficients > 0 with p < BM_P_MAX and
 * degree-day sufficiency met. Data sufficiency of the period is not checked here.
 * ENMON_ERR_INVALID for bad arguments, ENMON_ERR_RANGE when the fit is impossible (too few days,
 * singular design). */
enum enmon_err bm_fit_candidate(const struct bm_day *days, size_t n, const struct bm_opts *o,
                                enum bm_kind kind, double heat_bp, double cool_bp,
                                struct bm_model *out, int *eligible);

/* Fits the baseline: checks data sufficiency (out->sufficient, out->reason), then searches
 * intercept-only, HDD-only (10..20 C), CDD-only (18..28 C) and HDD+CDD (heating <= cooling),
 * each with a weekend term when both day types are present, keeps the eligible ones and chooses
 * the highest adjusted R-squared (a more complex model must beat a simpler one by > 1e-9).
 * o NULL: defaults. ENMON_OK also when the data are insufficient; ENMON_ERR_INVALID for bad
 * arguments. Sufficient statistics per balance point: no allocation. */
enum enmon_err bm_fit(const struct bm_day *days, size_t n, const struct bm_opts *o,
                      struct bm_model *out);

/* The model's kWh for a day of the given type and mean temperature (NAN when temp is NAN). */
double bm_predict(const struct bm_model *m, int weekend, double temp_c);
/* The model's kWh for a day, its degree days from bm_day_hdd/bm_day_cdd (NAN: no temperature).
 * Equal to bm_predict(m, d->weekend, mean) for a day without hourly temperatures. */
double bm_predict_day(const struct bm_model *m, const struct bm_day *d);

/* The G14-2014 fractional savings uncertainty at 90 % confidence:
 *   FSU = 1.26 * t(0.95, n' - p) * (cv / f) * sqrt((n / n') * (1 + 2 / n') * (1 / m)),
 *   n' = n (1 - rho) / (1 + rho), rho clamped at 0.
 * cv: CV(RMSE) of the baseline fit (fraction), f: savings / counterfactual of the reporting period,
 * n: baseline days used, p: parameters, m: reporting days. NAN when n' - p < 1, m < 1 or f == 0.
 * t_out, n_eff_out (may be NULL): the t value and n'. */
double bm_fsu(double cv, double f, int n, int p, double rho, int m, double *t_out,
              double *n_eff_out);

/* The Jacobian row of a day's prediction under the model: x = (1, W, HDD(Th), CDD(Tc),
 * bh dHDD/dTh, bc dCDD/dTc) (the derivatives: bh x the share of the day's hours below Th, -bc x
 * the share above Tc), 0 for a term the model does not have. 0, or -1 (x all 0) when the day
 * has no temperature. */
int bm_day_x(const struct bm_model *m, const struct bm_day *d, double x[BM_NX]);

/* The 90 % half-width of a sum of m reporting days' savings, from the sums s[BM_NX] of their
 * Jacobian rows (bm_day_x): the least-squares prediction variance of a sum of m new
 * observations (linearized in the balance points), with the autocorrelation correction n/n' on
 * the residual variance,
 *   half = t(0.95, n' - p) * RMSE * sqrt((n / n') * (m + s' (J'J)^-1 s)),
 *   n' = n (1 - rho) / (1 + rho), rho clamped at 0
 * (docs/SAVINGS.md "Uncertainty"). NAN when n' - p < 1 or m < 1. t_out, n_eff_out, lev_out
 * (may be NULL): t, n' and s' (X'X)^-1 s. */
double bm_sum_half(const struct bm_model *m, const double s[BM_NX], int days, double *t_out,
                   double *n_eff_out, double *lev_out);

/* Counterfactual (the model on each reporting day's weather), savings = sum(counterfactual -
 * actual) over the reporting days with kWh and temperature, and the 90 % interval.
 * ENMON_ERR_INVALID for bad arguments or an insufficient model, ENMON_ERR_RANGE when no reporting
 * day can be counted. */
enum enmon_err bm_savings(const struct bm_model *m, const struct bm_day *days, size_t n,
                          struct bm_savings *out);

#endif
