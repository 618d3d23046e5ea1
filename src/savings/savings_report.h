/* savings_report.h -- savings figures from the database (read-only): per-device baselines,
 * avoided energy, solar production and subsidy, demand-response events, and their grouping. */
#ifndef ENMON_SAVINGS_REPORT_H
#define ENMON_SAVINGS_REPORT_H

#include "baseline_model.h"
#include "cbl.h"
#include "config.h"
#include "savings.h"
#include "savings_config.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* Where the clear-sky expectation is computed: Daejeon. */
#define SR_LAT_DEG 36.35
#define SR_LON_DEG 127.38
#define SR_DAY_INTERVALS 96 /* a day is complete with 96 15-minute intervals */

enum sr_by { SR_BY_PROGRAM, SR_BY_SITE, SR_BY_DEVICE };
enum sr_group { SR_GROUP_NONE, SR_GROUP_DAY, SR_GROUP_MONTH, SR_GROUP_YEAR };
enum sr_status {
    SR_OK,           /* figures computed */
    SR_INSUFFICIENT, /* not enough data: no savings figure, reason given */
    SR_NONE,         /* no reporting day in the period (before retrofit/commissioning) */
};

struct sr_query {
    const char *program, *site, *device; /* filters (NULL: all) */
    int64_t from_s, to_s;                /* reporting period [from_s, to_s), local midnights */
    int offset_min;
};

struct sr_device {
    int64_t id;
    char key[64], name[128], site[64], program[64], kind[16];
    enum program_kind program_kind; /* led-retrofit, efficiency or solar */
    double capacity_w;
    int64_t commissioned, retrofit; /* 0 unknown */
};

/* One reporting day of one device. For solar, ref is the clear-sky expectation,
 * actual and saved the production, krw the subsidy. */
struct sr_dayval {
    int64_t day_s;
    int counted, fallback, intervals;
    double ref_kwh, actual_kwh, saved_kwh, krw, co2_kg, eligible_kwh;
    double temp_c; /* weather method: the day's mean temperature (NAN: none) */
    /* weather method: the day's Jacobian row (bm_day_x), for the interval */
    double x[BM_NX];
};

struct sr_result {
    struct sr_device dev;
    enum sr_status status;
    char method[512];
    char reason[160];
    int64_t base_from, base_to; /* baseline period (0, 0: none) */
    int64_t start_s;            /* retrofit / contract start / commissioning used */
    struct savings_baseline base;
    struct savings_total tot;
    struct sr_dayval *vals; /* one per reporting day */
    size_t nvals;
    double deemed_kwh; /* LED: deemed savings over the counted days (< 0: no fixtures) */
    double peak_base_kw, peak_actual_kw, operator_share; /* efficiency */
    double subsidy_rate;                                 /* solar: KRW/kWh (< 0: no band) */
    double site_kw; /* solar: the plant's capacity (its site's inverters), the band's key */
    int ess_meter;  /* 1: the ESS's own meter of an efficiency site: no row of its own */
    double ess_charge_kwh, ess_discharge_kwh; /* ESS: over the counted days */
    int ess; /* 1: an ESS site's building meter: KRW are bill savings, kWh its losses */
    int64_t subsidy_end; /* solar: end of the subsidy (0: unknown commissioning) */
    /* metered baselines (led-retrofit, efficiency without an ESS meter): the method used
     * (SVC_METHOD_WEATHER or SVC_METHOD_DAYTYPE; SVC_METHOD_AUTO: not a metered baseline), why
     * auto chose day-type-month, and for weather the station, the fit and the period's savings
     * with its 90 % interval (has_interval 0: none, e.g. n' - p < 1) */
    enum svc_method method_used;
    char method_reason[160];
    int station;
    struct bm_model model;
    struct bm_savings bms;
    int has_interval;
};

/* Computes every led-retrofit, efficiency and solar device matching q. Metered baselines use
 * sc->method (auto: weather when savings_config_weather_station names a station whose data give
 * a sufficient model, else day-type-month with the reason in method_reason).
 * ENMON_OK, ENMON_ERR_DB or ENMON_ERR_NOMEM (msg). Free with sr_free. */
int sr_compute(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
               struct sr_result **out, size_t *n, char *msg, size_t msglen);
void sr_free(struct sr_result *r, size_t n);

/* One row of the report: an entity (program, site or device) in a period bucket. */
struct sr_row {
    char period[16]; /* "" (whole period), YYYY-MM-DD, YYYY-MM or YYYY */
    char key[64], program[64], site[64];
    enum program_kind kind;
    char method[512];
    int devices, insufficient, none;
    int64_t base_from, base_to;
    double ref_kwh, actual_kwh, saved_kwh, krw, co2_kg;
    double deemed_kwh, peak_base_kw, peak_actual_kw, operator_share;
    double capacity_kw, eligible_kwh, clear_kwh;
    double ess_kwh; /* the part of saved_kwh that is ESS losses (negative), not avoided use */
    int64_t last_device; /* internal: the last device counted */
    /* ami (difference-in-differences): the 90 % interval of saved_kwh (has_interval 0: none),
     * kWh per participant-day, comparison households matched and usable, why no figure */
    int has_interval, comparison, comparison_usable;
    double saved_low_kwh, saved_high_kwh, kwh_per_day;
    char note[160];
    /* metered baselines: "weather", "day-type-month", "mixed" ("" for other rows); devices by
     * method, weather devices failing G14, devices with an interval, the sum of their squared
     * half-widths (the interval of a sum of independent estimates); a row of one weather device
     * carries its fit (has_fit) */
    char method_name[16];
    char method_reason[160]; /* auto chose day-type-month: why (the first such device's) */
    int weather_devices, g14_fail, interval_devices;
    double half2;
    int has_fit, g14_ok;
    enum bm_kind model;
    double cvrmse, nmbe, r2, heat_bp, cool_bp;
};

/* Groups results into rows, ordered by entity then period. Weather rows get their 90 %
 * interval: per device and period bucket the G14 half-width of the bucket's counterfactual and
 * days; a row's half-width is sqrt(sum of the squared half-widths) (devices independent), set
 * (has_interval) when every device with figures has one. ENMON_OK or ENMON_ERR_NOMEM. */
int sr_rows(const struct sr_result *r, size_t n, enum sr_by by, enum sr_group g, int offset_min,
            struct sr_row **rows, size_t *nrows);

/* Appends one row per AMI program of sc evaluated by difference-in-differences (program_start
 * with comparison or comparison_program; did.h): participants = the program's devices, the whole
 * period [q->from_s, q->to_s) after program_start (period ""), pre-period = the
 * sc->baseline.max_days days before program_start. Skipped when q names a site or device, or
 * another program. ENMON_OK, ENMON_ERR_DB or ENMON_ERR_NOMEM (msg). */
int sr_ami_rows(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
                struct sr_row **rows, size_t *nrows, char *msg, size_t msglen);

/* The row's method in one word: "weather", "day-type-month", "mixed" (metered baselines of both
 * kinds), "ess-bill", "production" (solar) or "difference-in-differences" (ami). */
const char *sr_row_method_name(const struct sr_row *row);

/* 1 when some device of the row has figures (status ok); 0 when every device is
 * insufficient or none: the row's REF, ACTUAL, SAVED, KRW and CO2 are then no
 * figure at all ("-", an empty CSV field, JSON null), never zero. */
int sr_row_has_figures(const struct sr_row *row);

/* "ok", "insufficient (2 of 20)", "none" for a row. */
void sr_row_data(const struct sr_row *row, char *buf, size_t len);

/* A demand-response event with its CBL under both methods. */
struct sr_event {
    struct svc_event ev;
    int64_t id;       /* dr_events rowid, 0 when from the savings config */
    char program[64]; /* the site's program */
    int devices;      /* meters of the site */
    int hours;
    int ok[2]; /* [CBL_MID_6_10], [CBL_MAX_4_5] */
    /* how the highest and lowest CBL days were chosen */
    enum cbl_selection selection;
    char reason[2][128];
    double cbl_kwh[2], metered_kwh, reduced_kwh[2];
    struct cbl_result cbl[2];
    double metered[CBL_HOURS];
    int from_hour, to_hour;
};

/* The events in [q->from_s, q->to_s) of the sites matching q (config events
 * and the dr_events table), with CBL and reductions. ENMON_OK or ENMON_ERR_DB/NOMEM. */
int sr_events(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
              struct sr_event **out, size_t *n, char *msg, size_t msglen);

/* Weather for the baseline model: the mean air temperature of each of ndays local days (at
 * offset_min) from the day holding from_s, at KMA station `station` (the weather table of
 * `enmon import weather`). A day's mean is the mean of its valid hours (temp_c not NULL)
 * when it has at least SR_WEATHER_MIN_HOURS of them, else NAN (also for days with no rows).
 * out[ndays]. hourly (NULL: not wanted): ndays x 24 hourly temperatures, hour h of day k at
 * hourly[24 k + h], NAN for a missing hour and for every hour of a day whose mean is NAN.
 * ENMON_OK or ENMON_ERR_DB (msg; a database without the weather table: schema 8). */
#define SR_WEATHER_MIN_HOURS 20
int sr_weather_daily(sqlite3 *db, int station, int64_t from_s, size_t ndays, int offset_min,
                     double *out, double *hourly, char *msg, size_t msglen);

#endif
