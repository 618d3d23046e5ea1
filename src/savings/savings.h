/* savings.h -- measurement-and-verification methods on daily energy series: metered baselines,
 * avoided energy, deemed savings, peak reduction, solar subsidy bands: pure functions. */
#ifndef ENMON_SAVINGS_H
#define ENMON_SAVINGS_H

#include <stddef.h>
#include <stdint.h>

#define SAVINGS_BANDS_MAX 8

/* One local day of one device. */
struct savings_day {
    int64_t day_s;  /* UTC epoch s of the local midnight starting the day */
    int month;      /* local month 1..12 */
    int weekend;    /* Saturday or Sunday */
    int valid;      /* the day's data are complete */
    double kwh;     /* energy of the day (imported, or exported for producers) */
    double peak_kw; /* highest 15-minute demand of the day: Wh x 4 / 1000 */
};

/* Baseline data requirements (defaults: 365, 90, 0.10, 4). */
struct savings_opts {
    int max_days;       /* baseline window: at most this many days before the end date */
    int min_days;       /* at least this many days with complete data */
    double max_missing; /* at most this share of the period's days missing */
    int min_month_days; /* fewer same-type days in a month: fall back to all months */
};

void savings_opts_default(struct savings_opts *o);

/* A metered baseline: mean daily kWh by day type (weekday/weekend) and month. */
struct savings_baseline {
    int64_t from_s, to_s; /* the period: [end date - max_days days, end date) */
    int days;             /* days in [from_s, to_s): max_days, whatever the data */
    int days_with_data;
    double sum[2][13]; /* [weekend][month]; month 0: all months */
    int n[2][13];
    double peak_kw[13]; /* highest 15-minute demand per month; 0: over the period */
    int min_month_days;
    int sufficient;
    char reason[160]; /* why not sufficient ("" when sufficient) */
};

/* Fits the baseline from the valid days in [end_s - opts->max_days days, end_s)
 * (other days are ignored). Completeness is judged over all max_days days of that
 * window, including those before the first day with data. Never fails: an
 * unusable baseline has sufficient = 0 and the reason. */
void savings_baseline_fit(const struct savings_day *days, size_t n, int64_t end_s,
                          const struct savings_opts *opts, struct savings_baseline *b);

struct savings_prediction {
    double kwh;   /* mean daily kWh of the baseline days used */
    int n;        /* how many baseline days it averages */
    int fallback; /* 1: the month had too few days; all months of the day type used */
};

/* Baseline prediction for a day of month (1..12) and type. 0, or -1 when the
 * baseline has no day of this type at all. */
int savings_predict(const struct savings_baseline *b, int month, int weekend,
                    struct savings_prediction *p);

/* One reporting day's computation. */
struct savings_day_result {
    int64_t day_s;
    int counted;  /* 1: in the totals; 0: missing data or no prediction */
    int fallback; /* prediction from all months of the day type */
    double baseline_kwh, actual_kwh, avoided_kwh;
};

struct savings_total {
    double baseline_kwh, actual_kwh, avoided_kwh; /* over the counted days */
    int days, days_counted, days_missing, days_fallback, days_unpredicted;
};

/* Avoided energy over reporting days: sum of (prediction - actual) over the
 * days with valid data. out (n entries) may be NULL. */
void savings_avoided(const struct savings_baseline *b, const struct savings_day *days, size_t n,
                     struct savings_day_result *out, struct savings_total *t);

/* Deemed savings (kWh): fixtures x (old_w - new_w) x hours_per_day x days / 1000. */
double savings_deemed_kwh(double fixtures, double old_w, double new_w, double hours_per_day,
                          int days);

/* Peak demand: *base_kw is the baseline's highest 15-minute demand in the
 * calendar months of the valid reporting days (the whole baseline's when it has
 * none of them), *actual_kw the highest of the valid reporting days. */
void savings_peak(const struct savings_baseline *b, const struct savings_day *days, size_t n,
                  double *base_kw, double *actual_kw);

/* Solar producer subsidy: rate by the plant's (site's) capacity band for `years` from
 * commissioning. A band holds min_kw <= capacity <= max_kw. */
struct savings_band {
    double min_kw;   /* lower bound, inclusive (0: none) */
    double max_kw;   /* capacity up to and including this; <= 0: no upper bound */
    double rate_krw; /* per kWh */
};

struct savings_subsidy {
    struct savings_band bands[SAVINGS_BANDS_MAX]; /* ascending max_kw, unbounded last */
    size_t nbands;
    int years;
};

/* The city's 2017 plan: 50 KRW/kWh for every capacity, 5 years. */
void savings_subsidy_default(struct savings_subsidy *s);

/* Rate of the first band holding capacity_kw (the site's, the sum of its inverters), or -1
 * when none does (below the lowest min_kw, above the highest max_kw, or in a gap). */
double savings_subsidy_rate(const struct savings_subsidy *s, double capacity_kw);

/* End of the subsidy: the same local date and time `years` later (29 February
 * becomes 1 March). offset_min: local time east of UTC. */
int64_t savings_subsidy_end(int64_t commissioned_s, int years, int offset_min);

#endif
