/* savings_report.c -- savings figures from the database (read-only): per-device baselines,
 * avoided energy, solar production and subsidy, demand-response events, and their grouping. */
#include "savings_report.h"
#include "caltime.h"
#include "did.h"
#include "err.h"
#include "ess_bill.h"
#include "solar.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int sr_fail(sqlite3 *db, const char *what, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return ENMON_ERR_DB;
}

static void sr_copy(char *dst, size_t len, const unsigned char *src)
{
    snprintf(dst, len, "%s", src ? (const char *)src : "");
}

/* ---- devices --------------------------------------------------------------------- */

static const char devices_sql[] =
    "SELECT d.id, d.key, d.name, COALESCE(s.key, ''), COALESCE(p.key, ''), COALESCE(p.kind, ''),"
    " d.kind, COALESCE(d.capacity_w, 0), COALESCE(d.commissioned, 0), COALESCE(d.retrofit, 0) "
    "FROM devices d LEFT JOIN sites s ON s.id = d.site_id "
    "LEFT JOIN programs p ON p.id = d.program_id "
    "WHERE (?1 IS NULL OR p.key = ?1) AND (?2 IS NULL OR s.key = ?2) AND (?3 IS NULL OR d.key = ?3)"
    " AND p.kind IN ('led-retrofit', 'efficiency', 'solar') ORDER BY p.key, s.key, d.key";

/* -1 when the program kind is not one this build knows. */
static int sr_read_device(sqlite3_stmt *st, struct sr_device *d)
{
    d->id = sqlite3_column_int64(st, 0);
    sr_copy(d->key, sizeof(d->key), sqlite3_column_text(st, 1));
    sr_copy(d->name, sizeof(d->name), sqlite3_column_text(st, 2));
    sr_copy(d->site, sizeof(d->site), sqlite3_column_text(st, 3));
    sr_copy(d->program, sizeof(d->program), sqlite3_column_text(st, 4));
    sr_copy(d->kind, sizeof(d->kind), sqlite3_column_text(st, 6));
    d->capacity_w = sqlite3_column_double(st, 7);
    d->commissioned = sqlite3_column_int64(st, 8);
    d->retrofit = sqlite3_column_int64(st, 9);
    const char *kind = (const char *)sqlite3_column_text(st, 5);
    return kind && config_program_kind_parse(kind, &d->program_kind) == ENMON_OK ? 0 : -1;
}

static void sr_bind_opt(sqlite3_stmt *st, int col, const char *s)
{
    if (s)
        sqlite3_bind_text(st, col, s, -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(st, col);
}

static int sr_list_devices(sqlite3 *db, const struct sr_query *q, struct sr_result **out, size_t *n,
                           char *msg, size_t msglen)
{
    sqlite3_stmt *st = NULL;
    size_t cap = 0;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db, devices_sql, -1, &st, NULL) != SQLITE_OK)
        return sr_fail(db, "devices", msg, msglen);
    sr_bind_opt(st, 1, q->program);
    sr_bind_opt(st, 2, q->site);
    sr_bind_opt(st, 3, q->device);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 64;
            struct sr_result *r = realloc(*out, cap * sizeof(*r));
            if (!r) {
                sqlite3_finalize(st);
                snprintf(msg, msglen, "out of memory");
                return ENMON_ERR_NOMEM;
            }
            *out = r;
        }
        memset(&(*out)[*n], 0, sizeof(**out));
        if (sr_read_device(st, &(*out)[*n].dev) == 0)
            (*n)++;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? ENMON_OK : sr_fail(db, "devices", msg, msglen);
}

/* ---- daily series ------------------------------------------------------------------- */

static const char daily_sql[] =
    "SELECT (start_s + ?4) / 86400 AS d, COUNT(*), SUM(wh_import), SUM(wh_export), "
    "MAX(wh_import) FROM intervals WHERE device_id = ?1 AND start_s >= ?2 AND start_s < ?3 "
    "GROUP BY d ORDER BY d";

/* Days [from_s, to_s) (local midnights) of a device: every day present, valid
 * when complete; kWh of import, or of export when `produced`. *counts gets the
 * number of intervals per day (may be NULL). */
static int sr_daily(sqlite3 *db, int64_t dev, int64_t from_s, int64_t to_s, int offset_min,
                    int produced, struct savings_day **out, int **counts, size_t *n)
{
    int64_t off = (int64_t)offset_min * 60;
    size_t days = to_s > from_s ? (size_t)((to_s - from_s) / CALTIME_DAY_S) : 0;
    *out = calloc(days ? days : 1, sizeof(**out));
    int *cnt = calloc(days ? days : 1, sizeof(*cnt));
    *n = days;
    if (!*out || !cnt) {
        free(cnt);
        return ENMON_ERR_NOMEM;
    }
    for (size_t i = 0; i < days; i++) {
        struct savings_day *d = &(*out)[i];
        struct caltime_tm t;
        d->day_s = from_s + (int64_t)i * CALTIME_DAY_S;
        caltime_split(d->day_s, offset_min, &t);
        d->month = t.month;
        d->weekend = t.wday == 0 || t.wday == 6;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, daily_sql, -1, &st, NULL) != SQLITE_OK) {
        free(cnt);
        return ENMON_ERR_DB;
    }
    sqlite3_bind_int64(st, 1, dev);
    sqlite3_bind_int64(st, 2, from_s);
    sqlite3_bind_int64(st, 3, to_s);
    sqlite3_bind_int64(st, 4, off);
    int rc;
    int64_t first = (from_s + off) / CALTIME_DAY_S;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t i = sqlite3_column_int64(st, 0) - first;
        if (i < 0 || (size_t)i >= days)
            continue;
        struct savings_day *d = &(*out)[i];
        cnt[i] = sqlite3_column_int(st, 1);
        d->valid = cnt[i] >= SR_DAY_INTERVALS;
        d->kwh = sqlite3_column_double(st, produced ? 3 : 2) / 1000.0;
        d->peak_kw = sqlite3_column_double(st, 4) * 4.0 / 1000.0;
    }
    sqlite3_finalize(st);
    if (counts)
        *counts = cnt;
    else
        free(cnt);
    return rc == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
}

/* ---- metered baseline methods (LED retrofit, ESS efficiency) ------------------------- */

static void sr_method_baseline(struct sr_result *r, const struct savings_config *sc,
                               const char *tariff_name, const struct tariff *t)
{
    const struct savings_opts *o = &sc->baseline;
    char tariff[96];
    if (t->flat_krw > 0.0)
        snprintf(tariff, sizeof(tariff), "KRW at flat %.1f/kWh (%s)", t->flat_krw,
                 tariff_name[0] ? tariff_name : "residential");
    else
        snprintf(tariff, sizeof(tariff), "KRW by progressive tiers (%s)",
                 tariff_name[0] ? tariff_name : "residential");
    snprintf(r->method, sizeof(r->method),
             "day-type-month: avoided = baseline - actual per day; baseline = mean daily kWh of "
             "the same day type "
             "and month over the %d days before %s (>= %d complete days, <= %.0f%% missing; "
             "< %d days in a month: all months of the day type%s); %s",
             o->max_days,
             r->dev.program_kind == PROGRAM_EFFICIENCY ? "the contract start" : "the retrofit",
             o->min_days, o->max_missing * 100.0, o->min_month_days,
             r->tot.days_fallback ? ", used this period" : "", tariff);
}

/* KRW of each counted day: the month's saving billed at the margin, shared out by kWh. */
static void sr_krw(struct sr_result *r, const struct tariff *tariff, int offset_min)
{
    for (size_t a = 0, b; a < r->nvals; a = b) {
        struct caltime_tm t, t2;
        caltime_split(r->vals[a].day_s, offset_min, &t);
        double actual = 0.0, saved = 0.0;
        int counted = 0;
        for (b = a; b < r->nvals; b++) {
            caltime_split(r->vals[b].day_s, offset_min, &t2);
            if (t2.year != t.year || t2.month != t.month)
                break;
            if (!r->vals[b].counted)
                continue;
            actual += r->vals[b].actual_kwh;
            saved += r->vals[b].saved_kwh;
            counted++;
        }
        if (!counted || saved == 0.0)
            continue;
        double share = (double)counted / caltime_days_in_month(t.year, t.month);
        double krw = tariff_saved_krw(tariff, t.month, actual, saved, share);
        for (size_t i = a; i < b; i++)
            if (r->vals[i].counted)
                r->vals[i].krw = krw * r->vals[i].saved_kwh / saved;
    }
}

static int64_t sr_baseline_end(const struct sr_result *r, const struct svc_program *p)
{
    if (p && p->start_s)
        return p->start_s;
    if (r->dev.retrofit)
        return r->dev.retrofit;
    return r->dev.program_kind == PROGRAM_EFFICIENCY ? r->dev.commissioned : 0;
}

static int sr_is_holiday(const struct savings_config *sc, int64_t day_s);

static void sr_method_weather(struct sr_result *r, const struct savings_config *sc,
                              const char *tariff_name, const struct tariff *t)
{
    char tariff[96], station[16] = "(none)";
    if (r->station)
        snprintf(station, sizeof(station), "%d", r->station);
    if (t->flat_krw > 0.0)
        snprintf(tariff, sizeof(tariff), "KRW at flat %.1f/kWh (%s)", t->flat_krw,
                 tariff_name[0] ? tariff_name : "residential");
    else
        snprintf(tariff, sizeof(tariff), "KRW by progressive tiers (%s)",
                 tariff_name[0] ? tariff_name : "residential");
    snprintf(r->method, sizeof(r->method),
             "weather: avoided = counterfactual - actual per day; counterfactual = kWh/day = a + "
             "w W + bh HDD(Th) + bc CDD(Tc) fitted on the %d days before %s, degree-hours / 24 of "
             "KMA station %s (CalTRACK 2.0 daily, Th %d..%d C, Tc %d..%d C, p < %.1f, best "
             "adjusted R2); G14 fit: CV(RMSE) <= %.0f%%, |NMBE| <= %.0f%%; 90%% interval: "
             "least-squares prediction of the sum, G14 n' for autocorrelation; %s",
             sc->baseline.max_days,
             r->dev.program_kind == PROGRAM_EFFICIENCY ? "the contract start" : "the retrofit",
             station, BM_HEAT_MIN, BM_HEAT_MAX, BM_COOL_MIN, BM_COOL_MAX, BM_P_MAX,
             BM_G14_CVRMSE * 100.0, BM_G14_NMBE * 100.0, tariff);
}

/* bm_days of days with the station's daily mean and hourly temperatures (NAN: none); the hours
 * live in the same allocation, after the n days (one free). */
static int sr_bm_days(sqlite3 *db, const struct savings_config *sc, int station,
                      const struct savings_day *days, size_t n, int offset_min, struct bm_day **out,
                      char *why, size_t whylen)
{
    double *temp = calloc(n ? n : 1, sizeof(*temp));
    *out = calloc(1, (n ? n : 1) * (sizeof(**out) + BM_HOURS * sizeof(double)));
    double *hourly = *out ? (double *)(void *)(*out + (n ? n : 1)) : NULL;
    char msg[256];
    int rc = temp && *out ? ENMON_OK : ENMON_ERR_NOMEM;
    if (rc == ENMON_OK && n > 0 &&
        sr_weather_daily(db, station, days[0].day_s, n, offset_min, temp, hourly, msg,
                         sizeof(msg)) != ENMON_OK) {
        /* a file without the weather table (schema < 8): no weather, not a failure */
        snprintf(why, whylen, "no weather data (%.120s)", msg);
        rc = ENMON_ERR_RANGE;
    }
    for (size_t i = 0; rc == ENMON_OK && i < n; i++)
        (*out)[i] = (struct bm_day){
            .weekend = days[i].weekend || sr_is_holiday(sc, days[i].day_s),
            .kwh = days[i].valid ? days[i].kwh : NAN,
            .temp_c = temp[i],
            .hourly_c = isnan(temp[i]) ? NULL : hourly + i * BM_HOURS, /* degree-hours */
        };
    free(temp);
    return rc;
}

/* The weather method of a device: ENMON_OK with r->model and r->bms set, ENMON_ERR_RANGE with
 * why (no station, no data, an insufficient model, no reporting day with temperature), or
 * ENMON_ERR_NOMEM. bdays/rdays: the baseline and reporting days. */
static int sr_weather_model(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
                            const struct svc_program *p, struct sr_result *r,
                            const struct savings_day *bdays, size_t nb,
                            const struct savings_day *rdays, size_t nr, struct bm_day **rbm,
                            char *why, size_t whylen)
{
    struct bm_day *bbm = NULL;
    *rbm = NULL;
    r->station = savings_config_weather_station(p, r->dev.site);
    if (!r->station) {
        snprintf(why, whylen, "no weather_station for site %.40s or program %.40s (savings.yaml)",
                 r->dev.site, r->dev.program);
        return ENMON_ERR_RANGE;
    }
    int rc = sr_bm_days(db, sc, r->station, bdays, nb, q->offset_min, &bbm, why, whylen);
    if (rc == ENMON_OK)
        rc = sr_bm_days(db, sc, r->station, rdays, nr, q->offset_min, rbm, why, whylen);
    if (rc == ENMON_OK && bm_fit(bbm, nb, NULL, &r->model) != ENMON_OK) {
        snprintf(why, whylen, "weather model: no baseline day");
        rc = ENMON_ERR_RANGE;
    }
    if (rc == ENMON_OK && !r->model.sufficient) {
        snprintf(why, whylen, "weather model (station %d): %.100s", r->station, r->model.reason);
        rc = ENMON_ERR_RANGE;
    }
    if (rc == ENMON_OK && nr > 0 && bm_savings(&r->model, *rbm, nr, &r->bms) != ENMON_OK) {
        snprintf(why, whylen, "no reporting day with kWh and temperature at station %d",
                 r->station);
        rc = ENMON_ERR_RANGE;
    }
    r->has_interval = rc == ENMON_OK && nr > 0 && isfinite(r->bms.half_kwh);
    free(bbm);
    if (rc != ENMON_OK) {
        free(*rbm);
        *rbm = NULL;
    }
    return rc;
}

/* Per-day figures of the weather method: counterfactual on each day's temperature. */
static void sr_weather_days(struct sr_result *r, const struct savings_config *sc,
                            const struct savings_day *rdays, const struct bm_day *rbm, size_t nr)
{
    memset(&r->tot, 0, sizeof(r->tot));
    for (size_t i = 0; i < nr; i++) {
        struct sr_dayval *v = &r->vals[i];
        double t = bm_day_temp(&rbm[i]);
        v->day_s = rdays[i].day_s;
        v->actual_kwh = rdays[i].kwh;
        v->temp_c = t;
        v->counted = rdays[i].valid && !isnan(t);
        v->ref_kwh = v->counted ? bm_predict_day(&r->model, &rbm[i]) : 0.0;
        if (v->counted)
            bm_day_x(&r->model, &rbm[i], v->x);
        v->saved_kwh = v->counted ? v->ref_kwh - v->actual_kwh : 0.0;
        v->co2_kg = tariff_co2_kg(&sc->co2, v->day_s, v->saved_kwh);
        r->tot.days++;
        r->tot.days_counted += v->counted;
        r->tot.days_missing += !v->counted;
        if (v->counted) {
            r->tot.baseline_kwh += v->ref_kwh;
            r->tot.actual_kwh += v->actual_kwh;
            r->tot.avoided_kwh += v->saved_kwh;
        }
    }
}

/* Per-day figures of the day-type x month method. */
static int sr_daytype_days(struct sr_result *r, const struct savings_config *sc,
                           const struct savings_day *rdays, size_t nr)
{
    struct savings_day_result *dr = calloc(nr ? nr : 1, sizeof(*dr));
    if (!dr)
        return ENMON_ERR_NOMEM;
    savings_avoided(&r->base, rdays, nr, dr, &r->tot);
    for (size_t i = 0; i < nr; i++) {
        struct sr_dayval *v = &r->vals[i];
        v->day_s = rdays[i].day_s;
        v->actual_kwh = rdays[i].kwh;
        v->counted = dr[i].counted && r->base.sufficient;
        v->fallback = dr[i].fallback;
        v->ref_kwh = v->counted ? dr[i].baseline_kwh : 0.0;
        v->saved_kwh = v->counted ? dr[i].avoided_kwh : 0.0;
        v->co2_kg = tariff_co2_kg(&sc->co2, v->day_s, v->saved_kwh);
    }
    free(dr);
    return ENMON_OK;
}

/* Chooses the method (sc->method), fills r->vals; *sufficient: the chosen baseline is usable
 * (else r->reason says why). */
static int sr_metered_days(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
                           const struct svc_program *p, struct sr_result *r,
                           const struct savings_day *bdays, size_t nb,
                           const struct savings_day *rdays, size_t nr, int *sufficient)
{
    char why[160] = "";
    struct bm_day *rbm = NULL;
    int rc = ENMON_ERR_RANGE;
    r->method_used = SVC_METHOD_DAYTYPE;
    if (sc->method != SVC_METHOD_DAYTYPE)
        rc = sr_weather_model(db, sc, q, p, r, bdays, nb, rdays, nr, &rbm, why, sizeof(why));
    if (rc == ENMON_ERR_NOMEM)
        return rc;
    if (rc == ENMON_OK) {
        r->method_used = SVC_METHOD_WEATHER;
        sr_weather_days(r, sc, rdays, rbm, nr);
        free(rbm);
        *sufficient = 1;
        return ENMON_OK;
    }
    if (sc->method == SVC_METHOD_WEATHER) { /* asked for: no fallback */
        r->method_used = SVC_METHOD_WEATHER;
        snprintf(r->reason, sizeof(r->reason), "%s", why);
        *sufficient = 0;
        return ENMON_OK;
    }
    if (sc->method == SVC_METHOD_AUTO)
        snprintf(r->method_reason, sizeof(r->method_reason), "%s", why);
    *sufficient = r->base.sufficient;
    if (!*sufficient)
        snprintf(r->reason, sizeof(r->reason), "%s", r->base.reason);
    return sr_daytype_days(r, sc, rdays, nr);
}

static int sr_metered(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
                      struct sr_result *r)
{
    const struct svc_program *p = savings_config_program(sc, r->dev.program);
    const char *tname = p ? p->tariff : "";
    const struct tariff *t = savings_config_tariff(sc, tname);
    int led = r->dev.program_kind == PROGRAM_LED_RETROFIT, sufficient = 0;
    r->start_s = sr_baseline_end(r, p);
    r->deemed_kwh = -1.0;
    r->operator_share = p ? p->operator_share : 0.7;
    r->method_used = sc->method == SVC_METHOD_WEATHER ? SVC_METHOD_WEATHER : SVC_METHOD_DAYTYPE;
    if (!r->start_s) {
        r->status = SR_INSUFFICIENT;
        snprintf(r->reason, sizeof(r->reason), "no %s date (device or savings config)",
                 led ? "retrofit" : "contract start");
        sr_method_baseline(r, sc, tname, t);
        return ENMON_OK;
    }
    int64_t end = caltime_day_start(r->start_s, q->offset_min);
    int64_t rep_from = caltime_day_ceil(r->start_s, q->offset_min);
    rep_from = rep_from > q->from_s ? rep_from : q->from_s;
    struct savings_day *bdays = NULL, *rdays = NULL;
    size_t nb = 0, nr = 0;
    int rc = sr_daily(db, r->dev.id, end - (int64_t)sc->baseline.max_days * CALTIME_DAY_S, end,
                      q->offset_min, 0, &bdays, NULL, &nb);
    if (rc == ENMON_OK)
        rc = sr_daily(db, r->dev.id, rep_from, q->to_s, q->offset_min, 0, &rdays, NULL, &nr);
    if (rc == ENMON_OK) {
        savings_baseline_fit(bdays, nb, end, &sc->baseline, &r->base);
        r->base_from = r->base.from_s;
        r->base_to = r->base.to_s;
        r->vals = calloc(nr ? nr : 1, sizeof(*r->vals));
        rc = r->vals ? ENMON_OK : ENMON_ERR_NOMEM;
    }
    if (rc == ENMON_OK) {
        r->nvals = nr;
        rc = sr_metered_days(db, sc, q, p, r, bdays, nb, rdays, nr, &sufficient);
    }
    if (rc == ENMON_OK) {
        for (size_t i = 0; i < nr && !sufficient; i++) {
            r->vals[i].counted = 0;
            r->vals[i].ref_kwh = r->vals[i].saved_kwh = r->vals[i].co2_kg = 0.0;
        }
        if (sufficient)
            sr_krw(r, t, q->offset_min);
        savings_peak(&r->base, rdays, nr, &r->peak_base_kw, &r->peak_actual_kw);
        const struct svc_fixtures *fx = led ? savings_config_fixtures(p, r->dev.site) : NULL;
        if (fx)
            r->deemed_kwh = savings_deemed_kwh(fx->count, fx->old_w, fx->new_w, fx->hours_per_day,
                                               r->tot.days_counted);
        if (nr == 0) {
            r->status = SR_NONE;
            snprintf(r->reason, sizeof(r->reason), "no reporting day after the %s",
                     led ? "retrofit" : "contract start");
        } else if (!sufficient) {
            r->status = SR_INSUFFICIENT;
        }
        if (r->method_used == SVC_METHOD_WEATHER)
            sr_method_weather(r, sc, tname, t);
        else
            sr_method_baseline(r, sc, tname, t);
    }
    free(bdays);
    free(rdays);
    return rc;
}

/* ---- solar ----------------------------------------------------------------------------- */

/* Clear-sky AC energy (kWh) of a day: 15-minute steps at their midpoints. */
static double sr_clear_sky_kwh(double capacity_w, int64_t day_s)
{
    double wh = 0.0;
    for (int k = 0; k < SR_DAY_INTERVALS; k++) {
        double t = (double)day_s + 900.0 * k + 450.0;
        struct solar_pos pos = solar_position(SR_LAT_DEG, SR_LON_DEG, t);
        wh += solar_clear_sky_ac_w(capacity_w, pos.zenith_deg) * 0.25;
    }
    return wh / 1000.0;
}

/* The plant's capacity in kW: the sum of the inverters of the device's site (its own
 * capacity when it has no site). */
static double sr_site_kw(sqlite3 *db, const struct sr_result *r)
{
    static const char sql[] =
        "SELECT COALESCE(SUM(d.capacity_w), 0) FROM devices d JOIN devices me ON me.id = ?1 "
        "WHERE d.site_id = me.site_id AND d.kind = 'inverter'";
    sqlite3_stmt *st = NULL;
    double w = 0.0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_int64(st, 1, r->dev.id);
        if (sqlite3_step(st) == SQLITE_ROW)
            w = sqlite3_column_double(st, 0);
    }
    sqlite3_finalize(st);
    return (w > r->dev.capacity_w ? w : r->dev.capacity_w) / 1000.0;
}

static int sr_solar(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
                    struct sr_result *r)
{
    const struct svc_program *p = savings_config_program(sc, r->dev.program);
    const struct savings_subsidy *sub = p && p->has_subsidy ? &p->subsidy : &sc->subsidy;
    struct savings_day *days = NULL;
    int *cnt = NULL;
    size_t n = 0;
    r->site_kw = sr_site_kw(db, r);
    r->subsidy_rate = savings_subsidy_rate(sub, r->site_kw);
    r->start_s = r->dev.commissioned;
    r->subsidy_end = r->start_s ? savings_subsidy_end(r->start_s, sub->years, q->offset_min) : 0;
    snprintf(r->method, sizeof(r->method),
             "produced = exported kWh; reference = clear-sky AC energy of %.1f kWp (Haurwitz, "
             "%.0f%% losses) on days with data; subsidy = %.1f KRW/kWh for %d years from "
             "commissioning (band of the %.1f kW plant: the site's inverters); CO2 = produced x "
             "grid factor",
             r->dev.capacity_w / 1000.0, SOLAR_PV_LOSSES * 100.0,
             r->subsidy_rate > 0 ? r->subsidy_rate : 0.0, sub->years, r->site_kw);
    int rc = sr_daily(db, r->dev.id, q->from_s, q->to_s, q->offset_min, 1, &days, &cnt, &n);
    if (rc == ENMON_OK && !(r->vals = calloc(n ? n : 1, sizeof(*r->vals))))
        rc = ENMON_ERR_NOMEM;
    int with_data = 0;
    for (size_t i = 0; rc == ENMON_OK && i < n; i++) {
        struct sr_dayval *v = &r->vals[i];
        v->day_s = days[i].day_s;
        v->intervals = cnt[i];
        v->counted = cnt[i] > 0;
        with_data += v->counted;
        v->actual_kwh = v->saved_kwh = days[i].kwh;
        v->ref_kwh = v->counted ? sr_clear_sky_kwh(r->dev.capacity_w, v->day_s) : 0.0;
        v->co2_kg = tariff_co2_kg(&sc->co2, v->day_s, v->saved_kwh);
        int eligible = r->start_s && v->day_s >= caltime_day_start(r->start_s, q->offset_min) &&
                       v->day_s < r->subsidy_end && r->subsidy_rate > 0;
        v->eligible_kwh = eligible ? v->saved_kwh : 0.0;
        v->krw = v->eligible_kwh * (r->subsidy_rate > 0 ? r->subsidy_rate : 0.0);
    }
    r->nvals = rc == ENMON_OK ? n : 0;
    if (rc == ENMON_OK && n > 0 && with_data == 0) {
        r->status = SR_INSUFFICIENT;
        snprintf(r->reason, sizeof(r->reason), "no data in the period");
    } else if (rc == ENMON_OK && !r->start_s) {
        snprintf(r->reason, sizeof(r->reason), "no commissioning date: no subsidy computed");
    } else if (rc == ENMON_OK && r->subsidy_rate < 0) {
        snprintf(r->reason, sizeof(r->reason), "no subsidy band for a %.1f kW plant", r->site_kw);
    }
    free(days);
    free(cnt);
    return rc;
}

/* ---- ESS shared savings ------------------------------------------------------------------- */

#define SR_ESS_MONTHS_MAX 128 /* billing months remembered for the ratchet (3660 days: 121) */

static int sr_is_ess_meter(const struct svc_program *p, const char *key)
{
    for (size_t i = 0; p && i < p->ness_meters; i++)
        if (strcmp(p->ess_meters[i], key) == 0)
            return 1;
    return 0;
}

/* The ESS meter of the device's site (the first by key), or 0; its key into key. */
static int64_t sr_ess_meter_of(sqlite3 *db, const struct svc_program *p, const struct sr_result *r,
                               char *key, size_t len)
{
    static const char sql[] = "SELECT d.id, d.key FROM devices d JOIN devices me ON me.id = ?1 "
                              "WHERE d.site_id = me.site_id AND d.id != me.id ORDER BY d.key";
    sqlite3_stmt *st = NULL;
    int64_t id = 0;
    if (!p || !p->ness_meters || sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_int64(st, 1, r->dev.id);
    while (!id && sqlite3_step(st) == SQLITE_ROW) {
        const char *k = (const char *)sqlite3_column_text(st, 1);
        if (k && sr_is_ess_meter(p, k)) {
            id = sqlite3_column_int64(st, 0);
            snprintf(key, len, "%s", k);
        }
    }
    sqlite3_finalize(st);
    return id;
}

/* One 15-minute interval of the site: grid import and the ESS's charge and discharge, kWh. */
struct sr_ess_iv {
    int64_t start_s;
    double grid, charge, discharge;
};

static const char ess_sql[] =
    "SELECT g.start_s, g.wh_import, e.wh_import, e.wh_export FROM intervals g "
    "JOIN intervals e ON e.device_id = ?2 AND e.start_s = g.start_s "
    "WHERE g.device_id = ?1 AND g.start_s >= ?3 AND g.start_s < ?4 ORDER BY g.start_s";

/* The intervals in [from_s, to_s) where both meters have data. */
static int sr_ess_read(sqlite3 *db, int64_t grid, int64_t ess, int64_t from_s, int64_t to_s,
                       struct sr_ess_iv **out, size_t *n)
{
    size_t cap = 0;
    sqlite3_stmt *st = NULL;
    *out = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(db, ess_sql, -1, &st, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    sqlite3_bind_int64(st, 1, grid);
    sqlite3_bind_int64(st, 2, ess);
    sqlite3_bind_int64(st, 3, from_s);
    sqlite3_bind_int64(st, 4, to_s);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? 2 * cap : 4096;
            struct sr_ess_iv *v = realloc(*out, cap * sizeof(*v));
            if (!v) {
                sqlite3_finalize(st);
                return ENMON_ERR_NOMEM;
            }
            *out = v;
        }
        (*out)[(*n)++] = (struct sr_ess_iv){
            sqlite3_column_int64(st, 0), sqlite3_column_double(st, 1) / 1000.0,
            sqlite3_column_double(st, 2) / 1000.0, sqlite3_column_double(st, 3) / 1000.0};
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
}

/* Fills the month's intervals of the counted days: building load and grid import. */
static size_t sr_ess_month_ivs(const struct savings_config *sc, const struct sr_result *r,
                               const struct sr_ess_iv *iv, size_t niv, size_t *k, size_t a,
                               size_t b, int offset_min, struct ess_interval *bld,
                               struct ess_interval *grid)
{
    size_t m = 0;
    for (; *k < niv && iv[*k].start_s < r->vals[b - 1].day_s + CALTIME_DAY_S; (*k)++) {
        size_t d = (size_t)((iv[*k].start_s - r->vals[0].day_s) / CALTIME_DAY_S);
        if (d < a || d >= b || !r->vals[d].counted)
            continue;
        struct caltime_tm t;
        caltime_split(iv[*k].start_s, offset_min, &t);
        int wd = caltime_weekday(r->vals[d].day_s, offset_min);
        enum tariff_day day = wd == 0 || sr_is_holiday(sc, r->vals[d].day_s) ? TARIFF_HOLIDAY
                              : wd == 6                                      ? TARIFF_SATURDAY
                                                                             : TARIFF_WEEKDAY;
        double load = iv[*k].grid - iv[*k].charge + iv[*k].discharge;
        bld[m] = (struct ess_interval){t.month, t.hour, day, load > 0.0 ? load : 0.0};
        grid[m] = (struct ess_interval){t.month, t.hour, day, iv[*k].grid};
        m++;
    }
    return m;
}

struct sr_ess_months {
    int month[SR_ESS_MONTHS_MAX];
    double bld_kw[SR_ESS_MONTHS_MAX], grid_kw[SR_ESS_MONTHS_MAX];
    size_t n;
};

/* Bills a month of counted days [a, b) both ways; spreads the difference over its days. */
static void sr_ess_month(const struct savings_config *sc, const struct tariff *t,
                         struct sr_result *r, const struct sr_ess_iv *iv, size_t niv, size_t *k,
                         size_t a, size_t b, int offset_min, struct ess_interval *bld,
                         struct ess_interval *grid, struct sr_ess_months *hist)
{
    struct caltime_tm tm;
    caltime_split(r->vals[a].day_s, offset_min, &tm);
    size_t m = sr_ess_month_ivs(sc, r, iv, niv, k, a, b, offset_min, bld, grid);
    int counted = 0;
    for (size_t d = a; d < b; d++)
        counted += r->vals[d].counted;
    struct ess_bill bb, gb;
    size_t h = hist->n < SR_ESS_MONTHS_MAX ? hist->n++ : SR_ESS_MONTHS_MAX - 1;
    hist->month[h] = tm.month;
    double share = (double)counted / caltime_days_in_month(tm.year, tm.month);
    ess_bill_month(t, bld, m, 0.0, share, &bb);
    ess_bill_month(t, grid, m, 0.0, share, &gb);
    hist->bld_kw[h] = bb.demand_kw;
    hist->grid_kw[h] = gb.demand_kw;
    /* peaks shown: the highest 15-minute demand in mid/peak hours (what the bill charges) */
    r->peak_base_kw = bb.demand_kw > r->peak_base_kw ? bb.demand_kw : r->peak_base_kw;
    r->peak_actual_kw = gb.demand_kw > r->peak_actual_kw ? gb.demand_kw : r->peak_actual_kw;
    ess_bill_month(t, bld, m, ess_ratchet_kw(hist->month, hist->bld_kw, h), share, &bb);
    ess_bill_month(t, grid, m, ess_ratchet_kw(hist->month, hist->grid_kw, h), share, &gb);
    if (!counted)
        return;
    double basic = (bb.basic_krw - gb.basic_krw) / counted;
    size_t i = 0;
    for (size_t d = a; d < b; d++) {
        if (!r->vals[d].counted)
            continue;
        r->vals[d].krw = basic;
        for (int j = 0; j < SR_DAY_INTERVALS && i < m; j++, i++)
            r->vals[d].krw += ess_energy_krw(t, &bld[i]) - ess_energy_krw(t, &grid[i]);
    }
}

static void sr_ess_method(struct sr_result *r, const char *tname, const struct tariff *t,
                          const char *ess_key)
{
    snprintf(r->method, sizeof(r->method),
             "ESS: KRW = bill(building) - bill(grid import) per month, building = grid - ESS "
             "charge + ESS discharge (meter %.40s); tariff %.40s (TOU, rates from %s): kWh x "
             "rate(season, load period) + %.0f KRW/kW x billing demand (max 15-min demand in "
             "mid/peak hours of the month%s), pro-rated by days; kWh_SAVED = discharge - charge",
             ess_key, tname[0] ? tname : "residential",
             t->tou.effective[0] ? t->tou.effective : "?", t->tou.basic_krw_kw,
             t->tou.ratchet ? ", or the 12-month ratchet" : "");
}

/* Per-day figures of the ESS site: building load, grid import, losses; counted days. */
static int sr_ess_days(const struct savings_config *sc, struct sr_result *r,
                       const struct sr_ess_iv *iv, size_t niv, int64_t from, size_t ndays, int *cnt)
{
    int with_data = 0;
    for (size_t i = 0; i < ndays; i++)
        r->vals[i].day_s = from + (int64_t)i * CALTIME_DAY_S;
    for (size_t i = 0; i < niv; i++) {
        size_t d = (size_t)((iv[i].start_s - from) / CALTIME_DAY_S);
        struct sr_dayval *v = &r->vals[d];
        double load = iv[i].grid - iv[i].charge + iv[i].discharge;
        cnt[d]++;
        v->intervals = cnt[d];
        v->actual_kwh += iv[i].grid;
        v->ref_kwh += load > 0.0 ? load : 0.0;
        v->eligible_kwh += iv[i].discharge; /* scratch: the day's discharge */
        v->saved_kwh += iv[i].charge;       /* scratch: the day's charge */
    }
    for (size_t d = 0; d < ndays; d++) {
        struct sr_dayval *v = &r->vals[d];
        v->counted = cnt[d] >= SR_DAY_INTERVALS;
        with_data += v->counted;
        double charge = v->saved_kwh, discharge = v->eligible_kwh;
        v->eligible_kwh = 0.0;
        v->saved_kwh = v->ref_kwh - v->actual_kwh;
        v->co2_kg = tariff_co2_kg(&sc->co2, v->day_s, v->saved_kwh);
        r->tot.days++;
        if (v->counted) {
            r->ess_charge_kwh += charge;
            r->ess_discharge_kwh += discharge;
            r->tot.days_counted++;
            r->tot.baseline_kwh += v->ref_kwh;
            r->tot.actual_kwh += v->actual_kwh;
            r->tot.avoided_kwh += v->saved_kwh;
        } else {
            r->tot.days_missing++;
        }
    }
    return with_data;
}

static int sr_ess(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
                  struct sr_result *r, int64_t ess_id, const char *ess_key)
{
    const struct svc_program *p = savings_config_program(sc, r->dev.program);
    const struct tariff *t = savings_config_tariff(sc, p->tariff);
    r->deemed_kwh = -1.0;
    r->operator_share = p->operator_share;
    r->start_s = p->start_s ? p->start_s : r->dev.commissioned;
    int64_t from = r->start_s ? caltime_day_ceil(r->start_s, q->offset_min) : q->from_s;
    from = from > q->from_s ? from : q->from_s;
    sr_ess_method(r, p->tariff, t, ess_key);
    r->ess = 1;
    if (from >= q->to_s) {
        r->status = SR_NONE;
        snprintf(r->reason, sizeof(r->reason), "no reporting day after the contract start");
        return ENMON_OK;
    }
    size_t ndays = (size_t)((q->to_s - from) / CALTIME_DAY_S), niv = 0, k = 0;
    struct sr_ess_iv *iv = NULL;
    int with_data = 0;
    int *cnt = calloc(ndays ? ndays : 1, sizeof(*cnt));
    struct ess_interval *bld = calloc(31 * SR_DAY_INTERVALS, sizeof(*bld));
    struct ess_interval *grid = calloc(31 * SR_DAY_INTERVALS, sizeof(*grid));
    struct sr_ess_months *hist = calloc(1, sizeof(*hist));
    r->vals = calloc(ndays ? ndays : 1, sizeof(*r->vals));
    int rc = cnt && bld && grid && hist && r->vals ? ENMON_OK : ENMON_ERR_NOMEM;
    if (rc == ENMON_OK)
        rc = sr_ess_read(db, r->dev.id, ess_id, from, from + (int64_t)ndays * CALTIME_DAY_S, &iv,
                         &niv);
    if (rc == ENMON_OK)
        with_data = sr_ess_days(sc, r, iv, niv, from, ndays, cnt);
    for (size_t a = 0, b; rc == ENMON_OK && a < ndays; a = b) {
        struct caltime_tm ta, tb;
        caltime_split(r->vals[a].day_s, q->offset_min, &ta);
        for (b = a + 1; b < ndays; b++) {
            caltime_split(r->vals[b].day_s, q->offset_min, &tb);
            if (tb.month != ta.month || tb.year != ta.year)
                break;
        }
        sr_ess_month(sc, t, r, iv, niv, &k, a, b, q->offset_min, bld, grid, hist);
    }
    if (rc == ENMON_OK) {
        r->nvals = ndays;
        if (with_data == 0) {
            r->status = SR_INSUFFICIENT;
            snprintf(r->reason, sizeof(r->reason),
                     "no complete day with both the grid and the ESS meter");
        }
    }
    free(iv);
    free(cnt);
    free(bld);
    free(grid);
    free(hist);
    return rc;
}

/* An efficiency device: the ESS meter itself (no row), a grid meter with an ESS meter on its
 * site (bill difference), or a building without one (metered baseline). */
static int sr_efficiency(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
                         struct sr_result *r)
{
    const struct svc_program *p = savings_config_program(sc, r->dev.program);
    if (sr_is_ess_meter(p, r->dev.key)) {
        r->ess_meter = 1;
        return ENMON_OK;
    }
    char key[CFG_ID_MAX];
    int64_t ess = sr_ess_meter_of(db, p, r, key, sizeof(key));
    if (ess)
        return sr_ess(db, sc, q, r, ess, key);
    int rc = sr_metered(db, sc, q, r);
    if (rc == ENMON_OK && !r->reason[0] && savings_config_tariff(sc, p ? p->tariff : "")->tou.set)
        snprintf(r->reason, sizeof(r->reason),
                 "no ESS meter (ess_meters) in site %s: no KRW (a time-of-use bill needs it)",
                 r->dev.site);
    return rc;
}

/* Drops the ESS meters' own entries: their energy is in their grid meter's figures. */
static void sr_drop_ess_meters(struct sr_result *r, size_t *n)
{
    size_t k = 0;
    for (size_t i = 0; i < *n; i++) {
        if (r[i].ess_meter) {
            free(r[i].vals);
            continue;
        }
        r[k++] = r[i];
    }
    *n = k;
}

int sr_compute(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
               struct sr_result **out, size_t *n, char *msg, size_t msglen)
{
    int rc = sr_list_devices(db, q, out, n, msg, msglen);
    for (size_t i = 0; rc == ENMON_OK && i < *n; i++) {
        struct sr_result *r = &(*out)[i];
        rc = r->dev.program_kind == PROGRAM_SOLAR        ? sr_solar(db, sc, q, r)
             : r->dev.program_kind == PROGRAM_EFFICIENCY ? sr_efficiency(db, sc, q, r)
                                                         : sr_metered(db, sc, q, r);
        if (rc == ENMON_ERR_DB)
            sr_fail(db, r->dev.key, msg, msglen);
        else if (rc != ENMON_OK)
            snprintf(msg, msglen, "out of memory");
    }
    if (rc == ENMON_OK)
        sr_drop_ess_meters(*out, n);
    if (rc != ENMON_OK) {
        sr_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

void sr_free(struct sr_result *r, size_t n)
{
    for (size_t i = 0; r && i < n; i++)
        free(r[i].vals);
    free(r);
}

/* ---- grouping ------------------------------------------------------------------------------ */

struct sr_table {
    struct sr_row *rows;
    size_t n, cap;
};

static void sr_period(int64_t day_s, enum sr_group g, int offset_min, char *buf, size_t len)
{
    struct caltime_tm t;
    caltime_split(day_s, offset_min, &t);
    int y = t.year, m = t.month, d = t.mday;
    if (g == SR_GROUP_DAY)
        snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
    else if (g == SR_GROUP_MONTH)
        snprintf(buf, len, "%04d-%02d", y, m);
    else if (g == SR_GROUP_YEAR)
        snprintf(buf, len, "%04d", y);
    else
        buf[0] = '\0';
}

static const char *sr_entity(const struct sr_result *r, enum sr_by by)
{
    return by == SR_BY_PROGRAM ? r->dev.program : by == SR_BY_SITE ? r->dev.site : r->dev.key;
}

/* The row of (entity, period), created when new. Results come ordered by
 * entity, so only the rows since the entity's first row are searched. */
static struct sr_row *sr_row_get(struct sr_table *t, size_t from, const struct sr_result *r,
                                 enum sr_by by, const char *period)
{
    for (size_t i = t->n; i > from; i--)
        if (strcmp(t->rows[i - 1].period, period) == 0)
            return &t->rows[i - 1];
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 64;
        struct sr_row *rows = realloc(t->rows, cap * sizeof(*rows));
        if (!rows)
            return NULL;
        t->rows = rows;
        t->cap = cap;
    }
    struct sr_row *row = &t->rows[t->n++];
    memset(row, 0, sizeof(*row));
    snprintf(row->period, sizeof(row->period), "%s", period);
    snprintf(row->key, sizeof(row->key), "%s", sr_entity(r, by));
    snprintf(row->program, sizeof(row->program), "%s", r->dev.program);
    snprintf(row->site, sizeof(row->site), "%s", by == SR_BY_PROGRAM ? "" : r->dev.site);
    row->kind = r->dev.program_kind;
    snprintf(row->method, sizeof(row->method), "%s", r->method);
    row->operator_share = r->operator_share;
    row->last_device = -1;
    return row;
}

static void sr_row_device(struct sr_row *row, const struct sr_result *r)
{
    if (row->last_device == r->dev.id)
        return;
    row->last_device = r->dev.id;
    row->devices++;
    row->insufficient += r->status == SR_INSUFFICIENT;
    row->none += r->status == SR_NONE;
    row->capacity_kw += r->dev.capacity_w / 1000.0;
    if (r->base_from && (!row->base_from || r->base_from < row->base_from))
        row->base_from = r->base_from;
    if (r->base_to > row->base_to)
        row->base_to = r->base_to;
    row->peak_base_kw += r->peak_base_kw;
    row->peak_actual_kw += r->peak_actual_kw;
    if (r->method_used == SVC_METHOD_AUTO)
        return; /* not a metered baseline (solar, ESS) */
    const char *name = savings_config_method_name(r->method_used);
    if (!row->method_name[0])
        snprintf(row->method_name, sizeof(row->method_name), "%s", name);
    else if (strcmp(row->method_name, name) != 0)
        snprintf(row->method_name, sizeof(row->method_name), "mixed");
    if (!row->method_reason[0] && r->method_reason[0])
        snprintf(row->method_reason, sizeof(row->method_reason), "%s", r->method_reason);
    if (r->method_used != SVC_METHOD_WEATHER || !r->model.sufficient)
        return;
    row->weather_devices++;
    row->g14_fail += !r->model.g14_ok;
    row->interval_devices += r->status == SR_OK && r->has_interval;
    row->has_fit = row->devices == 1;
    row->g14_ok = r->model.g14_ok;
    row->model = r->model.kind;
    row->cvrmse = r->model.cvrmse;
    row->nmbe = r->model.nmbe;
    row->r2 = r->model.r2;
    row->heat_bp = r->model.heat_bp;
    row->cool_bp = r->model.cool_bp;
}

static void sr_row_add(struct sr_row *row, const struct sr_result *r, const struct sr_dayval *v)
{
    int solar = r->dev.program_kind == PROGRAM_SOLAR;
    if (!v->counted) /* actual over the counted days only: ref - actual = saved */
        return;
    row->actual_kwh += v->actual_kwh;
    row->ref_kwh += v->ref_kwh;
    row->saved_kwh += v->saved_kwh;
    if (r->ess)
        row->ess_kwh += v->saved_kwh;
    row->krw += v->krw;
    row->co2_kg += v->co2_kg;
    row->eligible_kwh += v->eligible_kwh;
    if (solar)
        row->clear_kwh += v->ref_kwh;
    if (r->deemed_kwh >= 0.0 && r->tot.days_counted > 0)
        row->deemed_kwh += r->deemed_kwh / r->tot.days_counted;
}

/* Weather devices: the 90 % half-width of each period bucket (bm_sum_half of the sums of its
 * counted days' regressors), squared into the bucket's row. */
static int sr_add_interval(struct sr_table *t, size_t entity_from, const struct sr_result *r,
                           enum sr_by by, enum sr_group g, int offset_min)
{
    char period[16], next[16];
    if (r->status != SR_OK || !r->has_interval)
        return ENMON_OK;
    for (size_t a = 0, b; a < r->nvals; a = b) {
        double sx[BM_NX] = {0};
        int m = 0;
        sr_period(r->vals[a].day_s, g, offset_min, period, sizeof(period));
        for (b = a; b < r->nvals; b++) {
            sr_period(r->vals[b].day_s, g, offset_min, next, sizeof(next));
            if (strcmp(next, period) != 0)
                break;
            if (r->vals[b].counted) {
                for (int k = 0; k < BM_NX; k++)
                    sx[k] += r->vals[b].x[k];
                m++;
            }
        }
        if (!m)
            continue;
        double h = bm_sum_half(&r->model, sx, m, NULL, NULL, NULL);
        struct sr_row *row = sr_row_get(t, entity_from, r, by, period);
        if (!row)
            return ENMON_ERR_NOMEM;
        row->half2 += isfinite(h) ? h * h : 0.0;
    }
    return ENMON_OK;
}

static int sr_add_result(struct sr_table *t, size_t *entity_from, const struct sr_result *r,
                         enum sr_by by, enum sr_group g, int offset_min)
{
    char period[16];
    if (t->n > 0 && strcmp(t->rows[*entity_from].key, sr_entity(r, by)) != 0)
        *entity_from = t->n;
    if (r->nvals == 0) { /* still listed, with its status */
        struct sr_row *row = sr_row_get(t, *entity_from, r, by, "");
        if (!row)
            return ENMON_ERR_NOMEM;
        sr_row_device(row, r);
        return ENMON_OK;
    }
    for (size_t i = 0; i < r->nvals; i++) {
        sr_period(r->vals[i].day_s, g, offset_min, period, sizeof(period));
        struct sr_row *row = sr_row_get(t, *entity_from, r, by, period);
        if (!row)
            return ENMON_ERR_NOMEM;
        sr_row_device(row, r);
        sr_row_add(row, r, &r->vals[i]);
    }
    return sr_add_interval(t, *entity_from, r, by, g, offset_min);
}

/* The row's 90 % interval: when every device with figures has one (devices independent). */
static void sr_row_interval(struct sr_row *row)
{
    row->has_fit = row->has_fit && row->devices == 1;
    if (row->kind == PROGRAM_AMI || !sr_row_has_figures(row) ||
        row->interval_devices != row->devices - row->insufficient - row->none)
        return;
    double h = sqrt(row->half2);
    row->has_interval = 1;
    row->saved_low_kwh = row->saved_kwh - h;
    row->saved_high_kwh = row->saved_kwh + h;
}

int sr_rows(const struct sr_result *r, size_t n, enum sr_by by, enum sr_group g, int offset_min,
            struct sr_row **rows, size_t *nrows)
{
    struct sr_table t = {0};
    size_t entity_from = 0;
    for (size_t i = 0; i < n; i++) {
        if (sr_add_result(&t, &entity_from, &r[i], by, g, offset_min) != ENMON_OK) {
            free(t.rows);
            return ENMON_ERR_NOMEM;
        }
    }
    for (size_t i = 0; i < t.n; i++)
        sr_row_interval(&t.rows[i]);
    *rows = t.rows;
    *nrows = t.n;
    return ENMON_OK;
}

const char *sr_row_method_name(const struct sr_row *row)
{
    if (row->method_name[0])
        return row->method_name;
    return row->kind == PROGRAM_AMI     ? "difference-in-differences"
           : row->kind == PROGRAM_SOLAR ? "production"
                                        : "ess-bill";
}

int sr_row_has_figures(const struct sr_row *row)
{
    return row->devices > row->insufficient + row->none;
}

void sr_row_data(const struct sr_row *row, char *buf, size_t len)
{
    if (row->insufficient)
        snprintf(buf, len, "insufficient (%d of %d)", row->insufficient, row->devices);
    else if (row->none == row->devices)
        snprintf(buf, len, "none");
    else
        snprintf(buf, len, "ok");
}

/* ---- demand response -------------------------------------------------------------------- */

struct sr_evlist {
    struct sr_event *ev;
    size_t n, cap;
};

static int sr_ev_push(struct sr_evlist *l, const struct svc_event *e, int64_t id)
{
    if (l->n == l->cap) {
        size_t cap = l->cap ? 2 * l->cap : 16;
        struct sr_event *ev = realloc(l->ev, cap * sizeof(*ev));
        if (!ev)
            return ENMON_ERR_NOMEM;
        l->ev = ev;
        l->cap = cap;
    }
    struct sr_event *x = &l->ev[l->n++];
    memset(x, 0, sizeof(*x));
    x->ev = *e;
    x->id = id;
    return ENMON_OK;
}

/* Every event known (config and table), whatever the period: earlier events exclude CBL days. */
static int sr_all_events(sqlite3 *db, const struct savings_config *sc, struct sr_evlist *l)
{
    for (size_t i = 0; i < sc->nevents; i++)
        if (sr_ev_push(l, &sc->events[i], 0) != ENMON_OK)
            return ENMON_ERR_NOMEM;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT id, site, start_s, end_s FROM dr_events ORDER BY start_s",
                           -1, &st, NULL) != SQLITE_OK)
        return ENMON_OK; /* no table: a file before schema 6 (read-only: not migrated) */
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct svc_event e = {0};
        sr_copy(e.site, sizeof(e.site), sqlite3_column_text(st, 1));
        e.start_s = sqlite3_column_int64(st, 2);
        e.end_s = sqlite3_column_int64(st, 3);
        if (sr_ev_push(l, &e, sqlite3_column_int64(st, 0)) != ENMON_OK) {
            sqlite3_finalize(st);
            return ENMON_ERR_NOMEM;
        }
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
}

static int sr_site_info(sqlite3 *db, const char *site, char *program, size_t len, int *devices)
{
    sqlite3_stmt *st = NULL;
    static const char sql[] = "SELECT COALESCE(p.key, ''), COUNT(d.id) FROM sites s "
                              "LEFT JOIN programs p ON p.id = s.program_id "
                              "LEFT JOIN devices d ON d.site_id = s.id WHERE s.key = ?1";
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
    *devices = 0;
    program[0] = '\0';
    if (sqlite3_step(st) == SQLITE_ROW) {
        sr_copy(program, len, sqlite3_column_text(st, 0));
        *devices = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    return ENMON_OK;
}

static const char hourly_sql[] =
    "SELECT (i.start_s + ?4) / 3600, COUNT(*), SUM(i.wh_import) FROM intervals i "
    "JOIN devices d ON d.id = i.device_id JOIN sites s ON s.id = d.site_id "
    "WHERE s.key = ?1 AND i.start_s >= ?2 AND i.start_s < ?3 GROUP BY 1";

/* Hourly kWh of a site over days [from_s, from_s + ndays). */
static int sr_site_hours(sqlite3 *db, const char *site, int64_t from_s, size_t ndays, int devices,
                         int offset_min, struct cbl_day *days)
{
    int64_t off = (int64_t)offset_min * 60;
    int count[CBL_LOOKBACK_DAYS + 1][CBL_HOURS];
    memset(count, 0, sizeof(count));
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, hourly_sql, -1, &st, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    sqlite3_bind_text(st, 1, site, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from_s);
    sqlite3_bind_int64(st, 3, from_s + (int64_t)ndays * CALTIME_DAY_S);
    sqlite3_bind_int64(st, 4, off);
    int rc;
    int64_t first_h = (from_s + off) / 3600;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t h = sqlite3_column_int64(st, 0) - first_h;
        if (h < 0 || (size_t)(h / CBL_HOURS) >= ndays)
            continue;
        days[h / CBL_HOURS].kwh[h % CBL_HOURS] = sqlite3_column_double(st, 2) / 1000.0;
        count[h / CBL_HOURS][h % CBL_HOURS] = sqlite3_column_int(st, 1);
    }
    sqlite3_finalize(st);
    for (size_t d = 0; d < ndays; d++) {
        days[d].complete = devices > 0;
        for (int h = 0; h < CBL_HOURS; h++)
            days[d].complete &= count[d][h] >= 4 * devices;
    }
    return rc == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
}

static int sr_is_holiday(const struct savings_config *sc, int64_t day_s)
{
    for (size_t i = 0; i < sc->nholidays; i++)
        if (sc->holidays[i] == day_s)
            return 1;
    return 0;
}

static int sr_event_day(const struct sr_evlist *all, const char *site, int64_t day_s,
                        int offset_min)
{
    for (size_t i = 0; i < all->n; i++)
        if (strcmp(all->ev[i].ev.site, site) == 0 &&
            caltime_day_start(all->ev[i].ev.start_s, offset_min) == day_s)
            return 1;
    return 0;
}

static int sr_event_compute(sqlite3 *db, const struct savings_config *sc,
                            const struct sr_evlist *all, int offset_min, struct sr_event *e)
{
    enum { NDAYS = CBL_LOOKBACK_DAYS + 1 };
    struct cbl_day days[NDAYS];
    int64_t event_day = caltime_day_start(e->ev.start_s, offset_min);
    int64_t from = event_day - (int64_t)CBL_LOOKBACK_DAYS * CALTIME_DAY_S;
    memset(days, 0, sizeof(days));
    for (int d = 0; d < NDAYS; d++) {
        days[d].day_s = from + (int64_t)d * CALTIME_DAY_S;
        int wd = caltime_weekday(days[d].day_s, offset_min);
        days[d].weekday = wd >= 1 && wd <= 5 && !sr_is_holiday(sc, days[d].day_s);
        days[d].event = sr_event_day(all, e->ev.site, days[d].day_s, offset_min);
    }
    if (sr_site_info(db, e->ev.site, e->program, sizeof(e->program), &e->devices) != ENMON_OK ||
        sr_site_hours(db, e->ev.site, from, NDAYS, e->devices, offset_min, days) != ENMON_OK)
        return ENMON_ERR_DB;
    memcpy(e->metered, days[NDAYS - 1].kwh, sizeof(e->metered));
    e->from_hour = (int)((e->ev.start_s - event_day) / 3600);
    e->to_hour = (int)((e->ev.end_s - event_day) / 3600);
    e->hours = e->to_hour - e->from_hour;
    e->selection = sc->dr_selection;
    for (int m = 0; m < 2; m++) {
        enum cbl_method method = m ? CBL_MAX_4_5 : CBL_MID_6_10;
        const struct cbl_result *c = &e->cbl[m];
        e->ok[m] = cbl_compute(method, sc->dr_selection, days, NDAYS - 1, event_day, e->from_hour,
                               e->to_hour, &e->cbl[m]) == 0;
        if (!e->ok[m] && c->nabnormal)
            snprintf(e->reason[m], sizeof(e->reason[m]),
                     "%d normal weekdays (%d abnormal) in the %d latest eligible, need %d",
                     c->ndays, c->nabnormal, c->candidates, cbl_method_days(method));
        else if (!e->ok[m])
            snprintf(e->reason[m], sizeof(e->reason[m]),
                     "%d eligible weekdays in the %d days before, need %d", c->ndays,
                     CBL_LOOKBACK_DAYS, cbl_method_days(method));
        e->reduced_kwh[m] = cbl_reduction(&e->cbl[m], e->metered, e->from_hour, e->to_hour,
                                          &e->cbl_kwh[m], &e->metered_kwh);
    }
    if (e->devices == 0)
        snprintf(e->reason[0], sizeof(e->reason[0]), "site %s has no device", e->ev.site);
    return ENMON_OK;
}

static int sr_event_wanted(sqlite3 *db, const struct sr_query *q, struct sr_event *e)
{
    if (e->ev.start_s < q->from_s || e->ev.start_s >= q->to_s)
        return 0;
    if (q->site && strcmp(q->site, e->ev.site) != 0)
        return 0;
    if (q->device)
        return 0;
    if (q->program) {
        int devices;
        if (sr_site_info(db, e->ev.site, e->program, sizeof(e->program), &devices) != ENMON_OK)
            return 0;
        return strcmp(q->program, e->program) == 0;
    }
    return 1;
}

/* Events by start time, then site. */
static int sr_event_cmp(const void *a, const void *b)
{
    const struct sr_event *x = a, *y = b;
    if (x->ev.start_s != y->ev.start_s)
        return x->ev.start_s < y->ev.start_s ? -1 : 1;
    return strcmp(x->ev.site, y->ev.site);
}

int sr_events(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
              struct sr_event **out, size_t *n, char *msg, size_t msglen)
{
    struct sr_evlist all = {0}, want = {0};
    int rc = sr_all_events(db, sc, &all);
    for (size_t i = 0; rc == ENMON_OK && i < all.n; i++) {
        if (!sr_event_wanted(db, q, &all.ev[i]))
            continue;
        rc = sr_ev_push(&want, &all.ev[i].ev, all.ev[i].id);
        if (rc == ENMON_OK)
            rc = sr_event_compute(db, sc, &all, q->offset_min, &want.ev[want.n - 1]);
    }
    free(all.ev);
    if (rc != ENMON_OK) {
        free(want.ev);
        if (rc == ENMON_ERR_DB)
            return sr_fail(db, "demand-response events", msg, msglen);
        snprintf(msg, msglen, "out of memory");
        return rc;
    }
    if (want.n > 1)
        qsort(want.ev, want.n, sizeof(*want.ev), sr_event_cmp);
    *out = want.ev;
    *n = want.n;
    return ENMON_OK;
}

/* ---- weather ---------------------------------------------------------------------------- */

int sr_weather_daily(sqlite3 *db, int station, int64_t from_s, size_t ndays, int offset_min,
                     double *out, double *hourly, char *msg, size_t msglen)
{
    static const char sql[] = "SELECT ts_s, temp_c FROM weather WHERE station = ?1 AND "
                              "ts_s >= ?2 AND ts_s < ?3 AND temp_c IS NOT NULL ORDER BY ts_s";
    int64_t day0 = caltime_day_start(from_s, offset_min);
    double *sum = calloc(ndays ? ndays : 1, sizeof(*sum));
    int *hours = calloc(ndays ? ndays : 1, sizeof(*hours));
    sqlite3_stmt *st = NULL;
    int rc = ENMON_OK;
    if (!sum || !hours) {
        snprintf(msg, msglen, "weather: out of memory");
        rc = ENMON_ERR_NOMEM;
    } else if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        snprintf(msg, msglen, "weather: %s", sqlite3_errmsg(db));
        rc = ENMON_ERR_DB;
    } else {
        sqlite3_bind_int(st, 1, station);
        sqlite3_bind_int64(st, 2, day0);
        sqlite3_bind_int64(st, 3, day0 + (int64_t)ndays * CALTIME_DAY_S);
        for (size_t i = 0; hourly && i < ndays * 24; i++)
            hourly[i] = NAN;
        int step;
        while ((step = sqlite3_step(st)) == SQLITE_ROW) {
            /* days are 24 h long at a fixed offset: the index is plain division */
            int64_t off = sqlite3_column_int64(st, 0) - day0;
            size_t k = (size_t)(off / CALTIME_DAY_S);
            double t = sqlite3_column_double(st, 1);
            sum[k] += t;
            hours[k]++;
            if (hourly)
                hourly[k * 24 + (size_t)(off % CALTIME_DAY_S) / 3600] = t;
        }
        if (step != SQLITE_DONE) {
            snprintf(msg, msglen, "weather: %s", sqlite3_errmsg(db));
            rc = ENMON_ERR_DB;
        }
    }
    for (size_t k = 0; rc == ENMON_OK && k < ndays; k++) {
        out[k] = hours[k] >= SR_WEATHER_MIN_HOURS ? sum[k] / hours[k] : NAN;
        for (size_t h = 0; hourly && isnan(out[k]) && h < 24; h++)
            hourly[k * 24 + h] = NAN;
    }
    sqlite3_finalize(st);
    free(sum);
    free(hours);
    return rc;
}

/* ---- AMI feedback programs: difference-in-differences (did.h) -------------------------------- */

static const char ami_part_sql[] =
    "SELECT d.id FROM devices d JOIN programs p ON p.id = d.program_id "
    "WHERE p.key = ?1 AND p.kind = 'ami' ORDER BY d.key";
static const char ami_cmp_sql[] =
    "SELECT d.id FROM devices d LEFT JOIN sites s ON s.id = d.site_id "
    "LEFT JOIN programs p ON p.id = d.program_id "
    "WHERE (?1 IS NOT NULL AND p.key = ?1) OR d.key = ?2 OR s.key = ?2 ORDER BY d.key";

struct sr_ids {
    int64_t *id;
    size_t n, cap;
};

static int sr_ids_has(const struct sr_ids *l, int64_t id)
{
    for (size_t i = 0; i < l->n; i++)
        if (l->id[i] == id)
            return 1;
    return 0;
}

/* Appends the devices selected by sql (?1 = a, ?2 = b) that are in neither l nor skip. */
static int sr_ids_query(sqlite3 *db, const char *sql, const char *a, const char *b,
                        const struct sr_ids *skip, struct sr_ids *l)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    sr_bind_opt(st, 1, a);
    sr_bind_opt(st, 2, b);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t id = sqlite3_column_int64(st, 0);
        if (sr_ids_has(l, id) || (skip && sr_ids_has(skip, id)))
            continue;
        if (l->n == l->cap) {
            size_t cap = l->cap ? 2 * l->cap : 64;
            int64_t *p = realloc(l->id, cap * sizeof(*p));
            if (!p) {
                sqlite3_finalize(st);
                return ENMON_ERR_NOMEM;
            }
            l->id = p;
            l->cap = cap;
        }
        l->id[l->n++] = id;
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
}

/* The pre-period [pre_from, start_day) and the post-period [post_from, to) of an AMI program. */
struct sr_ami_span {
    int64_t pre_from, start_day, post_from, to;
};

static int sr_ami_household(sqlite3 *db, int64_t dev, const struct sr_ami_span *sp, int offset_min,
                            struct did_household *h)
{
    memset(h, 0, sizeof(*h));
    for (int post = 0; post < 2; post++) {
        struct savings_day *days = NULL;
        size_t n = 0;
        int rc = sr_daily(db, dev, post ? sp->post_from : sp->pre_from,
                          post ? sp->to : sp->start_day, offset_min, 0, &days, NULL, &n);
        for (size_t i = 0; rc == ENMON_OK && i < n; i++)
            if (days[i].valid)
                did_household_add(h, post, days[i].month, days[i].kwh);
        free(days);
        if (rc != ENMON_OK)
            return rc;
    }
    return ENMON_OK;
}

/* A participant's post-period figures at d kWh/day saved: actual kWh, KRW (each month's saving
 * billed at the margin, as sr_krw) and CO2 over its complete days. */
static int sr_ami_value(sqlite3 *db, const struct savings_config *sc, const struct tariff *t,
                        int64_t dev, double d, const struct sr_ami_span *sp, int offset_min,
                        struct sr_row *row)
{
    struct savings_day *days = NULL;
    size_t n = 0;
    int rc = sr_daily(db, dev, sp->post_from, sp->to, offset_min, 0, &days, NULL, &n);
    for (size_t a = 0, b; rc == ENMON_OK && a < n; a = b) {
        struct caltime_tm ta, tb;
        caltime_split(days[a].day_s, offset_min, &ta);
        double actual = 0.0;
        int counted = 0;
        for (b = a; b < n; b++) {
            caltime_split(days[b].day_s, offset_min, &tb);
            if (tb.year != ta.year || tb.month != ta.month)
                break;
            if (!days[b].valid)
                continue;
            actual += days[b].kwh;
            counted++;
            row->co2_kg += tariff_co2_kg(&sc->co2, days[b].day_s, d);
        }
        if (!counted)
            continue;
        double share = (double)counted / caltime_days_in_month(ta.year, ta.month);
        row->actual_kwh += actual;
        row->krw += tariff_saved_krw(t, ta.month, actual, d * counted, share);
    }
    free(days);
    return rc;
}

static void sr_ami_method(struct sr_row *row, const struct svc_program *p,
                          const struct did_result *r, int max_days, const struct tariff *t)
{
    char tariff[96];
    if (t->flat_krw > 0.0)
        snprintf(tariff, sizeof(tariff), "KRW at flat %.1f/kWh (%s)", t->flat_krw,
                 p->tariff[0] ? p->tariff : "residential");
    else
        snprintf(tariff, sizeof(tariff), "KRW by progressive tiers (%s)",
                 p->tariff[0] ? p->tariff : "residential");
    snprintf(row->method, sizeof(row->method),
             "difference-in-differences vs %d matched comparison households (%d nearest of %d on "
             "the pre-period monthly kWh/day profile, with replacement; bias-corrected, slope "
             "%.4f); saved = participant post days x [(match post - pre) - (participant post - "
             "pre)] kWh/day; 90%% interval: household-clustered standard error with the reuse "
             "term, t(n - 1); pre-period: %d days before program_start; >= %d/%d complete days "
             "before/after; %s",
             r->n_cmp, r->k, r->n_cmp_usable, r->slope, max_days, DID_MIN_PRE_DAYS,
             DID_MIN_POST_DAYS, tariff);
}

/* The program's households, its estimate and its row figures. */
static int sr_ami_compute(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
                          const struct svc_program *p, const struct sr_ami_span *sp,
                          const struct sr_ids *part, const struct sr_ids *cmp, struct sr_row *row)
{
    struct did_household *hp = calloc(part->n ? part->n : 1, sizeof(*hp));
    struct did_household *hc = calloc(cmp->n ? cmp->n : 1, sizeof(*hc));
    double *d = calloc(part->n ? part->n : 1, sizeof(*d));
    int rc = hp && hc && d ? ENMON_OK : ENMON_ERR_NOMEM;
    for (size_t i = 0; rc == ENMON_OK && i < part->n; i++)
        rc = sr_ami_household(db, part->id[i], sp, q->offset_min, &hp[i]);
    for (size_t i = 0; rc == ENMON_OK && i < cmp->n; i++)
        rc = sr_ami_household(db, cmp->id[i], sp, q->offset_min, &hc[i]);
    struct did_result r;
    const struct tariff *t = savings_config_tariff(sc, p->tariff);
    if (rc == ENMON_OK) {
        did_estimate(hp, part->n, hc, cmp->n, p->match_k, d, &r);
        sr_ami_method(row, p, &r, sc->baseline.max_days, t);
        row->comparison = r.n_cmp;
        row->comparison_usable = r.n_cmp_usable;
        row->insufficient = r.ok ? r.n_part_skipped : row->devices;
        if (!r.ok)
            snprintf(row->note, sizeof(row->note), "%s", r.reason);
        else if (r.n_part_skipped)
            snprintf(row->note, sizeof(row->note),
                     "%d of %d participants without enough complete days before and after the "
                     "program start: left out",
                     r.n_part_skipped, row->devices);
    }
    for (size_t i = 0; rc == ENMON_OK && r.ok && i < part->n; i++)
        if (!isnan(d[i]))
            rc = sr_ami_value(db, sc, t, part->id[i], d[i], sp, q->offset_min, row);
    if (rc == ENMON_OK && r.ok) {
        row->saved_kwh = r.saved_kwh;
        row->ref_kwh = row->actual_kwh + r.saved_kwh;
        row->has_interval = 1;
        row->saved_low_kwh = r.low_kwh;
        row->saved_high_kwh = r.high_kwh;
        row->kwh_per_day = r.per_day_kwh;
    }
    free(hp);
    free(hc);
    free(d);
    return rc;
}

static int sr_ami_program(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
                          const struct svc_program *p, struct sr_row *row)
{
    struct sr_ids part = {0}, cmp = {0};
    int rc = sr_ids_query(db, ami_part_sql, p->id, NULL, NULL, &part);
    if (rc == ENMON_OK && p->comparison_program[0])
        rc = sr_ids_query(db, ami_cmp_sql, p->comparison_program, NULL, &part, &cmp);
    for (size_t i = 0; rc == ENMON_OK && i < p->ncomparison; i++)
        rc = sr_ids_query(db, ami_cmp_sql, NULL, p->comparison[i], &part, &cmp);
    struct sr_ami_span sp = {.start_day = caltime_day_start(p->program_start_s, q->offset_min),
                             .post_from = caltime_day_ceil(p->program_start_s, q->offset_min),
                             .to = q->to_s};
    sp.pre_from = sp.start_day - (int64_t)sc->baseline.max_days * CALTIME_DAY_S;
    sp.post_from = sp.post_from > q->from_s ? sp.post_from : q->from_s;
    memset(row, 0, sizeof(*row));
    snprintf(row->key, sizeof(row->key), "%s", p->id);
    snprintf(row->program, sizeof(row->program), "%s", p->id);
    row->kind = PROGRAM_AMI;
    row->devices = (int)part.n;
    row->base_from = sp.pre_from;
    row->base_to = sp.start_day;
    row->last_device = -1;
    if (rc == ENMON_OK && part.n == 0) {
        row->insufficient = 0;
        row->none = 0;
        snprintf(row->note, sizeof(row->note), "no device of an ami program '%s' in the database",
                 p->id);
        snprintf(row->method, sizeof(row->method), "difference-in-differences (no participants)");
    } else if (rc == ENMON_OK && sp.post_from >= sp.to) {
        row->none = row->devices;
        snprintf(row->note, sizeof(row->note), "no reporting day after program_start");
        snprintf(row->method, sizeof(row->method), "difference-in-differences");
    } else if (rc == ENMON_OK) {
        rc = sr_ami_compute(db, sc, q, p, &sp, &part, &cmp, row);
    }
    free(part.id);
    free(cmp.id);
    return rc;
}

int sr_ami_rows(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
                struct sr_row **rows, size_t *nrows, char *msg, size_t msglen)
{
    if (q->site || q->device)
        return ENMON_OK;
    for (size_t i = 0; i < sc->nprograms; i++) {
        const struct svc_program *p = &sc->programs[i];
        if (!p->program_start_s || (q->program && strcmp(q->program, p->id) != 0))
            continue;
        struct sr_row *r = realloc(*rows, (*nrows + 1) * sizeof(*r));
        if (!r) {
            snprintf(msg, msglen, "out of memory");
            return ENMON_ERR_NOMEM;
        }
        *rows = r;
        int rc = sr_ami_program(db, sc, q, p, &r[*nrows]);
        if (rc != ENMON_OK) {
            if (rc == ENMON_ERR_DB)
                sr_fail(db, p->id, msg, msglen);
            else
                snprintf(msg, msglen, "out of memory");
            return rc;
        }
        (*nrows)++;
    }
    return ENMON_OK;
}
