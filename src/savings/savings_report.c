/* savings_report.c -- savings figures from the database (read-only): per-device baselines,
 * avoided energy, solar production and subsidy, demand-response events, and their grouping. */
#include "savings_report.h"
#include "caltime.h"
#include "err.h"
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
             "avoided = baseline - actual per day; baseline = mean daily kWh of the same day type "
             "and month over up to %d days before %s (>= %d days with data, <= %.0f%% missing; "
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

static int sr_metered(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
                      struct sr_result *r)
{
    const struct svc_program *p = savings_config_program(sc, r->dev.program);
    const char *tname = p ? p->tariff : "";
    const struct tariff *t = savings_config_tariff(sc, tname);
    int led = r->dev.program_kind == PROGRAM_LED_RETROFIT;
    r->start_s = sr_baseline_end(r, p);
    r->deemed_kwh = -1.0;
    r->operator_share = p ? p->operator_share : 0.7;
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
        struct savings_day_result *dr = calloc(nr ? nr : 1, sizeof(*dr));
        if (!dr) {
            rc = ENMON_ERR_NOMEM;
        } else {
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
            if (r->base.sufficient)
                sr_krw(r, t, q->offset_min);
            savings_peak(&r->base, rdays, nr, &r->peak_base_kw, &r->peak_actual_kw);
            const struct svc_fixtures *fx = led ? savings_config_fixtures(p, r->dev.site) : NULL;
            if (fx)
                r->deemed_kwh = savings_deemed_kwh(fx->count, fx->old_w, fx->new_w,
                                                   fx->hours_per_day, r->tot.days_counted);
        }
    }
    if (rc == ENMON_OK) {
        if (nr == 0) {
            r->status = SR_NONE;
            snprintf(r->reason, sizeof(r->reason), "no reporting day after the %s",
                     led ? "retrofit" : "contract start");
        } else if (!r->base.sufficient) {
            r->status = SR_INSUFFICIENT;
            snprintf(r->reason, sizeof(r->reason), "%s", r->base.reason);
        }
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

static int sr_solar(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
                    struct sr_result *r)
{
    const struct svc_program *p = savings_config_program(sc, r->dev.program);
    const struct savings_subsidy *sub = p && p->has_subsidy ? &p->subsidy : &sc->subsidy;
    struct savings_day *days = NULL;
    int *cnt = NULL;
    size_t n = 0;
    r->subsidy_rate = savings_subsidy_rate(sub, r->dev.capacity_w / 1000.0);
    r->start_s = r->dev.commissioned;
    r->subsidy_end = r->start_s ? savings_subsidy_end(r->start_s, sub->years, q->offset_min) : 0;
    snprintf(r->method, sizeof(r->method),
             "produced = exported kWh; reference = clear-sky AC energy of %.1f kWp (Haurwitz, "
             "%.0f%% losses) on days with data; subsidy = %.1f KRW/kWh for %d years from "
             "commissioning (capacity band); CO2 = produced x grid factor",
             r->dev.capacity_w / 1000.0, SOLAR_PV_LOSSES * 100.0,
             r->subsidy_rate > 0 ? r->subsidy_rate : 0.0, sub->years);
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
        snprintf(r->reason, sizeof(r->reason), "no subsidy band for %.1f kW",
                 r->dev.capacity_w / 1000.0);
    }
    free(days);
    free(cnt);
    return rc;
}

int sr_compute(sqlite3 *db, const struct savings_config *sc, const struct sr_query *q,
               struct sr_result **out, size_t *n, char *msg, size_t msglen)
{
    int rc = sr_list_devices(db, q, out, n, msg, msglen);
    for (size_t i = 0; rc == ENMON_OK && i < *n; i++) {
        struct sr_result *r = &(*out)[i];
        rc = r->dev.program_kind == PROGRAM_SOLAR ? sr_solar(db, sc, q, r)
                                                  : sr_metered(db, sc, q, r);
        if (rc == ENMON_ERR_DB)
            sr_fail(db, r->dev.key, msg, msglen);
        else if (rc != ENMON_OK)
            snprintf(msg, msglen, "out of memory");
    }
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
}

static void sr_row_add(struct sr_row *row, const struct sr_result *r, const struct sr_dayval *v)
{
    int solar = r->dev.program_kind == PROGRAM_SOLAR;
    row->actual_kwh += v->actual_kwh;
    if (!v->counted)
        return;
    row->ref_kwh += v->ref_kwh;
    row->saved_kwh += v->saved_kwh;
    row->krw += v->krw;
    row->co2_kg += v->co2_kg;
    row->eligible_kwh += v->eligible_kwh;
    if (solar)
        row->clear_kwh += v->ref_kwh;
    if (r->deemed_kwh >= 0.0 && r->tot.days_counted > 0)
        row->deemed_kwh += r->deemed_kwh / r->tot.days_counted;
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
    return ENMON_OK;
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
    *rows = t.rows;
    *nrows = t.n;
    return ENMON_OK;
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
    for (int m = 0; m < 2; m++) {
        enum cbl_method method = m ? CBL_MAX_4_5 : CBL_MID_6_10;
        e->ok[m] = cbl_compute(method, days, NDAYS - 1, event_day, &e->cbl[m]) == 0;
        if (!e->ok[m])
            snprintf(e->reason[m], sizeof(e->reason[m]),
                     "%d eligible weekdays in the %d days before, need %d", e->cbl[m].ndays,
                     CBL_LOOKBACK_DAYS, m ? 5 : 10);
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
    *out = want.ev;
    *n = want.n;
    return ENMON_OK;
}
