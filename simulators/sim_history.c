/* sim_history.c -- `enmon-sim history`: months of realistic 15-minute interval data (CSV) for the
 * devices of a simulated city, from the simulator's physics. */
#include "sim_history.h"
#include "sim_physics.h"

#include "caltime.h"

#include <inttypes.h>
#include <math.h>
#include <stdio.h>
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
                             int64_t start_s, int programs, struct sim_history_wh *out)
{
    double imp = 0.0, exp_w = 0.0, pv_w = 0.0;
    for (int k = 0; k < HIST_SAMPLES; k++) {
        double t = (double)start_s + HIST_STEP_S * (k + 0.5) / HIST_SAMPLES;
        if (d->inverter) {
            double p = hist_pv_w(d, s, d->capacity_w, t);
            exp_w += p;
            pv_w += p;
            continue;
        }
        double net = hist_load_w(d, s, t, programs) + sim_ess_w(&d->ess, t);
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
    sim_history_interval_ex(d, s, start_s, 1, &r);
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

/* One device's local day: actual and counterfactual energy (what the meter counts: import for
 * a meter, export for an inverter) and the PV production, in Wh. */
static void hist_truth_day(const struct sim_history_device *d, const struct sim_history_spec *s,
                           int64_t day0, int64_t day1, double *actual, double *cf, double *pv)
{
    *actual = *cf = *pv = 0.0;
    for (int64_t t = day0; t < day1; t += HIST_STEP_S) {
        struct sim_history_wh a, c;
        sim_history_interval_ex(d, s, t, 1, &a);
        sim_history_interval_ex(d, s, t, 0, &c);
        *actual += d->inverter ? a.wh_export : a.wh_import;
        *cf += d->inverter ? c.wh_export : c.wh_import;
        *pv += a.wh_pv;
    }
}

int sim_history_write_truth(FILE *out, const struct sim_history_device *devs, size_t n,
                            const struct sim_history_spec *s)
{
    char date[16];
    if (fputs("device,date,kind,actual_kwh,counterfactual_kwh,avoided_kwh,solar_kwh\n", out) == EOF)
        return -1;
    for (size_t i = 0; i < n; i++) {
        for (int64_t day = s->from_s; day < s->to_s; day += CALTIME_DAY_S) {
            int64_t end = day + CALTIME_DAY_S < s->to_s ? day + CALTIME_DAY_S : s->to_s;
            double actual, cf, pv;
            hist_truth_day(&devs[i], s, day, end, &actual, &cf, &pv);
            caltime_format_date(day, SIM_TZ_S / CALTIME_MINUTE_S, date, sizeof(date));
            if (fprintf(out, "%s,%s,%s,%.4f,%.4f,%.4f,%.4f\n", devs[i].key, date,
                        devs[i].inverter ? "inverter" : "meter", actual / 1000.0, cf / 1000.0,
                        (cf - actual) / 1000.0, pv / 1000.0) < 0)
                return -1;
        }
    }
    return fflush(out) == 0 ? 0 : -1;
}
