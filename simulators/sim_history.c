/* sim_history.c -- `enmon-sim history`: months of realistic 15-minute interval data (CSV) for the
 * devices of a simulated city, from the simulator's physics. */
#include "sim_history.h"
#include "sim_physics.h"

#include "caltime.h"
#include "ess_bill.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_STEP_S CALTIME_INTERVAL_S
#define HIST_SAMPLES 5 /* power samples per interval, at the midpoints of 3-minute slices */

static uint64_t hist_key(uint64_t seed, const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return sim_hash2(seed, h);
}

double sim_history_season(double utc_s)
{
    double doy = (double)sim_local_doy(utc_s);
    return 1.0 + 0.15 * cos(4.0 * M_PI * (doy - 20.0) / 365.0);
}

static int hist_in_event(const struct sim_history_device *d, const struct sim_history_spec *s,
                         double t)
{
    for (size_t i = 0; i < s->nevents; i++)
        if (strcmp(s->events[i].site, d->site) == 0 && t >= (double)s->events[i].start_s &&
            t < (double)s->events[i].end_s)
            return 1;
    return 0;
}

/* Local hour (0..24) and day type of an instant. */
static double hist_local_hour(double t, int *weekend)
{
    double local = t + SIM_TZ_S;
    int64_t day = (int64_t)floor(local / CALTIME_DAY_S);
    int dow = (int)(((day + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
    *weekend = dow == 0 || dow == 6;
    return (local - (double)day * CALTIME_DAY_S) / 3600.0;
}

static double hist_load_w(const struct sim_history_device *d, const struct sim_history_spec *s,
                          double t, int programs)
{
    uint64_t key = hist_key(s->seed, d->key);
    struct sim_household h = {
        .kwh_month = d->kwh_month,
        .led_retrofit = programs && d->retrofit_s && t >= (double)d->retrofit_s,
        .building = d->building,
        .shift_s = (sim_hash_unit(sim_hash2(key, 0x5F1F7)) - 0.5) * 3600.0,
        .key = key,
    };
    double w;
    if (s->weather) {
        int weekend;
        double hour = hist_local_hour(t, &weekend);
        w = sim_household_w(&h, t) + sim_hvac_w(sim_household_mean_w(d->kwh_month), d->building,
                                                sim_weather_temp_c(s->weather, t), hour, weekend);
    } else {
        w = sim_household_w(&h, t) * sim_history_season(t);
    }
    if (programs && d->feedback_saving > 0.0 && t >= (double)d->feedback_s)
        w *= 1.0 - d->feedback_saving; /* AMI feedback: the participant's autonomous saving */
    return programs && hist_in_event(d, s, t) ? w * (1.0 - s->dr_drop) : w;
}

static double hist_pv_w(const struct sim_history_device *d, const struct sim_history_spec *s,
                        double capacity_w, double t)
{
    uint64_t key = hist_key(s->seed, d->key);
    struct sim_pv pv = {
        .capacity_w = capacity_w,
        .tilt_deg = d->tilt_deg,
        .azimuth_deg = d->azimuth_deg,
        .weather_key = sim_hash2(s->seed, 0x5EA7E1),
        .site_key = sim_hash2(key, 0x517E),
        .soiling = 0.96 + 0.04 * sim_hash_unit(sim_hash2(key, 0x5011)),
    };
    return sim_pv_output(&pv, t).ac_w;
}

void sim_history_interval_ex(const struct sim_history_device *d, const struct sim_history_spec *s,
                             int64_t start_s, int flags, struct sim_history_wh *out)
{
    int programs = flags & SIM_HISTORY_PROGRAMS;
    double imp = 0.0, exp_w = 0.0, pv_w = 0.0;
    for (int k = 0; k < HIST_SAMPLES; k++) {
        double t = (double)start_s + HIST_STEP_S * (k + 0.5) / HIST_SAMPLES;
        if (d->inverter) {
            double p = hist_pv_w(d, s, d->capacity_w, t);
            exp_w += p;
            pv_w += p;
            continue;
        }
        double net = hist_load_w(d, s, t, programs);
        if (!(flags & SIM_HISTORY_NO_ESS))
            net += sim_ess_w(&d->ess, t);
        if (d->pv_capacity_w > 0.0) {
            double p = hist_pv_w(d, s, d->pv_capacity_w, t);
            net -= p;
            pv_w += p;
        }
        if (net >= 0.0)
            imp += net;
        else
            exp_w -= net;
    }
    double hours = HIST_STEP_S / 3600.0 / HIST_SAMPLES;
    out->wh_import = round(imp * hours * 10.0) / 10.0;
    out->wh_export = round(exp_w * hours * 10.0) / 10.0;
    out->wh_pv = round(pv_w * hours * 10.0) / 10.0;
}

void sim_history_interval(const struct sim_history_device *d, const struct sim_history_spec *s,
                          int64_t start_s, double *wh_import, double *wh_export)
{
    struct sim_history_wh r;
    sim_history_interval_ex(d, s, start_s, SIM_HISTORY_PROGRAMS, &r);
    *wh_import = r.wh_import;
    *wh_export = r.wh_export;
}

static void hist_time(int64_t t, char *buf, size_t len)
{
    struct caltime_tm tm;
    caltime_split(t, SIM_TZ_S / CALTIME_MINUTE_S, &tm);
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d+09:00", tm.year, tm.month, tm.mday, tm.hour,
             tm.min, tm.sec);
}

int sim_history_write(FILE *out, const struct sim_history_device *devs, size_t n,
                      const struct sim_history_spec *s)
{
    char when[40];
    if (fputs("device,start,wh_import,wh_export\n", out) == EOF)
        return -1;
    for (size_t i = 0; i < n; i++) {
        for (int64_t t = s->from_s; t < s->to_s; t += HIST_STEP_S) {
            double imp, exp_wh;
            sim_history_interval(&devs[i], s, t, &imp, &exp_wh);
            hist_time(t, when, sizeof(when));
            if (fprintf(out, "%s,%s,%.1f,%.1f\n", devs[i].key, when, imp, exp_wh) < 0)
                return -1;
        }
    }
    return fflush(out) == 0 ? 0 : -1;
}

static int hist_has_ess(const struct sim_history_device *d)
{
    return !d->inverter && d->ess.usable_kwh > 0.0;
}

/* One device's local day: actual and counterfactual energy (what the meter counts: import for
 * a meter, export for an inverter), the PV production and the import without the battery, in
 * Wh. */
static void hist_truth_day(const struct sim_history_device *d, const struct sim_history_spec *s,
                           int64_t day0, int64_t day1, double wh[4])
{
    wh[0] = wh[1] = wh[2] = wh[3] = 0.0;
    for (int64_t t = day0; t < day1; t += HIST_STEP_S) {
        struct sim_history_wh a, c, x = {0.0, 0.0, 0.0};
        sim_history_interval_ex(d, s, t, SIM_HISTORY_PROGRAMS, &a);
        sim_history_interval_ex(d, s, t, 0, &c);
        wh[0] += d->inverter ? a.wh_export : a.wh_import;
        wh[1] += d->inverter ? c.wh_export : c.wh_import;
        wh[2] += a.wh_pv;
        if (hist_has_ess(d))
            sim_history_interval_ex(d, s, t, SIM_HISTORY_PROGRAMS | SIM_HISTORY_NO_ESS, &x);
        wh[3] += hist_has_ess(d) ? x.wh_import : d->inverter ? 0.0 : a.wh_import;
    }
}

int sim_history_write_truth(FILE *out, const struct sim_history_device *devs, size_t n,
                            const struct sim_history_spec *s)
{
    char date[16];
    if (fputs("device,date,kind,actual_kwh,counterfactual_kwh,avoided_kwh,solar_kwh,no_ess_kwh\n",
              out) == EOF)
        return -1;
    for (size_t i = 0; i < n; i++) {
        for (int64_t day = s->from_s; day < s->to_s; day += CALTIME_DAY_S) {
            int64_t end = day + CALTIME_DAY_S < s->to_s ? day + CALTIME_DAY_S : s->to_s;
            double wh[4];
            hist_truth_day(&devs[i], s, day, end, wh);
            caltime_format_date(day, SIM_TZ_S / CALTIME_MINUTE_S, date, sizeof(date));
            if (fprintf(out, "%s,%s,%s,%.4f,%.4f,%.4f,%.4f,%.4f\n", devs[i].key, date,
                        devs[i].inverter ? "inverter" : "meter", wh[0] / 1000.0, wh[1] / 1000.0,
                        (wh[1] - wh[0]) / 1000.0, wh[2] / 1000.0, wh[3] / 1000.0) < 0)
                return -1;
        }
    }
    return fflush(out) == 0 ? 0 : -1;
}

static int hist_is_holiday(const struct sim_history_spec *s, int64_t day_s)
{
    for (size_t i = 0; i < s->nholidays; i++)
        if (s->holidays[i] == day_s)
            return 1;
    return 0;
}

/* The intervals of one local month [m0, m1) of the spec: grid import with and without the
 * battery. Returns the number of intervals and the days. */
static size_t hist_bill_ivs(const struct sim_history_device *d, const struct sim_history_spec *s,
                            int64_t m0, int64_t m1, struct ess_interval *with,
                            struct ess_interval *without, int *days)
{
    const int off = SIM_TZ_S / CALTIME_MINUTE_S;
    size_t k = 0;
    *days = 0;
    for (int64_t day = m0; day < m1; day += CALTIME_DAY_S) {
        int wd = caltime_weekday(day, off);
        enum tariff_day type = wd == 0 || hist_is_holiday(s, day) ? TARIFF_HOLIDAY
                               : wd == 6                          ? TARIFF_SATURDAY
                                                                  : TARIFF_WEEKDAY;
        (*days)++;
        for (int64_t t = day; t < day + CALTIME_DAY_S; t += HIST_STEP_S, k++) {
            struct sim_history_wh a, x;
            struct caltime_tm tm;
            caltime_split(t, off, &tm);
            sim_history_interval_ex(d, s, t, SIM_HISTORY_PROGRAMS, &a);
            sim_history_interval_ex(d, s, t, SIM_HISTORY_PROGRAMS | SIM_HISTORY_NO_ESS, &x);
            with[k] = (struct ess_interval){tm.month, tm.hour, type, a.wh_import / 1000.0};
            without[k] = (struct ess_interval){tm.month, tm.hour, type, x.wh_import / 1000.0};
        }
    }
    return k;
}

/* One device's months: bills with and without the battery, the ratchet over the months before. */
static int hist_write_device_bills(FILE *out, const struct sim_history_device *d,
                                   const struct sim_history_spec *s, struct ess_interval *with,
                                   struct ess_interval *without)
{
    enum { HIST_MONTHS_MAX = 1200 };
    int months[HIST_MONTHS_MAX];
    double kw[2][HIST_MONTHS_MAX];
    const int off = SIM_TZ_S / CALTIME_MINUTE_S;
    size_t h = 0;
    for (int64_t m0 = s->from_s; m0 < s->to_s && h < HIST_MONTHS_MAX; h++) {
        struct caltime_tm tm;
        caltime_split(m0, off, &tm);
        int dim = caltime_days_in_month(tm.year, tm.month);
        int64_t m1 = m0 + (int64_t)(dim - tm.mday + 1) * CALTIME_DAY_S;
        if (m1 > s->to_s)
            m1 = s->to_s;
        int days;
        size_t k = hist_bill_ivs(d, s, m0, m1, with, without, &days);
        struct ess_bill b[2];
        months[h] = tm.month;
        for (int w = 0; w < 2; w++) {
            ess_bill_month(d->tariff, w ? without : with, k, 0.0, (double)days / dim, &b[w]);
            kw[w][h] = b[w].demand_kw;
            ess_bill_month(d->tariff, w ? without : with, k, ess_ratchet_kw(months, kw[w], h),
                           (double)days / dim, &b[w]);
        }
        if (fprintf(out, "%s,%04d-%02d,%d,%.4f,%.4f,%.4f,%.4f,%.2f,%.2f\n", d->key, tm.year,
                    tm.month, days, b[0].kwh, b[1].kwh, b[0].demand_kw, b[1].demand_kw,
                    b[0].total_krw, b[1].total_krw) < 0)
            return -1;
        m0 = m1;
    }
    return 0;
}

int sim_history_write_bills(FILE *out, const struct sim_history_device *devs, size_t n,
                            const struct sim_history_spec *s)
{
    struct ess_interval *with = calloc(31 * 96, sizeof(*with));
    struct ess_interval *without = calloc(31 * 96, sizeof(*without));
    int rc = with && without ? 0 : -1;
    if (rc == 0 && fputs("device,month,days,kwh,no_ess_kwh,demand_kw,no_ess_demand_kw,bill_krw,"
                         "no_ess_bill_krw\n",
                         out) == EOF)
        rc = -1;
    for (size_t i = 0; rc == 0 && i < n; i++)
        if (hist_has_ess(&devs[i]) && devs[i].kwh_month > 0.0 && devs[i].tariff &&
            devs[i].tariff->tou.set)
            rc = hist_write_device_bills(out, &devs[i], s, with, without);
    free(with);
    free(without);
    return rc == 0 && fflush(out) == 0 ? 0 : -1;
}
