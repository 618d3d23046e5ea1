/* http_api.c -- enmond's REST API and /metrics: JSON from the database (read-only, one
 * connection per request) and from the live state. */
#include "http_api.h"

#include "alert_json.h"
#include "alert_rules.h"
#include "alert_store.h"
#include "caltime.h"
#include "clock.h"
#include "db_open.h"
#include "err.h"
#include "history.h"
#include "metrics.h"
#include "payload.h"
#include "report.h"
#include "savings_report.h"
#include "summary.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIVE_DEVICES_MAX 2000 /* above this, a live frame lists only offline devices */
#define LIVE_ALERTS_MAX 200
#define SAVINGS_PERIOD_MAX_DAYS 400 /* /api/savings: daily values per device, bounded */
#define DEVICES_LIMIT_DEFAULT 50    /* /api/devices: a page */
#define DEVICES_LIMIT_MAX 500
#define DEVICE_ALERTS_RECENT 20 /* /api/devices/{id}: the active alerts and this many more */
#define AVAILABILITY_DAYS 30    /* /api/devices/{id}: availability_history */

int api_reply_json(struct api_reply *out, int status, cJSON *doc)
{
    out->status = status;
    out->type = "application/json";
    out->body = doc ? cJSON_PrintUnformatted(doc) : NULL;
    cJSON_Delete(doc);
    if (!out->body) {
        out->status = 500;
        out->body = strdup("{\"error\":\"out of memory\"}");
    }
    out->len = out->body ? strlen(out->body) : 0;
    return 1;
}

int api_reply_error(struct api_reply *out, int status, const char *msg)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "error", msg);
    return api_reply_json(out, status, doc);
}

static sqlite3 *open_db(const struct api_env *e, struct api_reply *out)
{
    sqlite3 *db = NULL;
    char msg[256] = "";
    if (report_open(e->cfg->database, &db, msg, sizeof(msg)) != ENMON_OK) {
        api_reply_error(out, 503, msg);
        return NULL;
    }
    return db;
}

static void today(const struct api_env *e, int64_t *from_s, int64_t *to_s)
{
    *from_s = caltime_day_start(clock_wall_ms() / 1000, e->offset_min);
    *to_s = *from_s + CALTIME_DAY_S;
}

int *api_alert_counts(const struct api_env *e)
{
    int *counts = calloc(e->cfg->ndevices ? e->cfg->ndevices : 1, sizeof(*counts));
    if (!counts || !e->alerts)
        return counts;
    size_t n = alerts_active(e->alerts, NULL, 0);
    struct alert_event *ev = calloc(n ? n : 1, sizeof(*ev));
    if (ev) {
        n = alerts_active(e->alerts, ev, n);
        for (size_t i = 0; i < n; i++)
            if (ev[i].device < e->cfg->ndevices)
                counts[ev[i].device]++;
    }
    free(ev);
    return counts;
}

/* The summaries of every program and the city from the live table; NULL without memory. */
static struct summary *summaries(const struct api_env *e, struct live_dev **devs_out)
{
    struct live_dev *devs = calloc(e->cfg->ndevices ? e->cfg->ndevices : 1, sizeof(*devs));
    struct summary *s = calloc(e->cfg->nprograms + 1, sizeof(*s));
    int *alerts = api_alert_counts(e);
    if (devs && s && alerts) {
        live_snapshot(e->live, devs);
        summary_compute(e->cfg, devs, alerts, s);
    } else {
        free(s);
        s = NULL;
    }
    free(alerts);
    if (s && devs_out)
        *devs_out = devs;
    else
        free(devs);
    return s;
}

static cJSON *summary_obj(const struct summary *s)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", s->id);
    cJSON_AddStringToObject(o, "name", s->name);
    cJSON_AddStringToObject(o, "kind", s->kind);
    cJSON_AddNumberToObject(o, "devices", s->devices);
    cJSON_AddNumberToObject(o, "online", s->online);
    cJSON_AddNumberToObject(o, "offline", s->offline);
    cJSON_AddNumberToObject(o, "power_w", round(s->power_w * 10) / 10);
    cJSON_AddNumberToObject(o, "produced_w", round(s->produced_w * 10) / 10);
    cJSON_AddNumberToObject(o, "consumed_w", round(s->consumed_w * 10) / 10);
    cJSON_AddNumberToObject(o, "alerts_active", s->alerts_active);
    return o;
}

/* A site's devices in the configuration and how many are online and offline now, counted in
 * one pass over the devices and found by id with bsearch (10,000 sites of 11,433 devices:
 * a scan per site was 114 M comparisons, seconds per request). */
struct site_count {
    const char *id;
    int n, online, offline;
};

struct energy_acc {
    cJSON *arr;
    const struct summary *sums; /* programs, NULL for sites */
    const struct enmon_config *cfg;
    const char *program;            /* sites: only this program's, or NULL */
    const struct site_count *sites; /* sites: sorted by id, cfg->nsites of them */
};

static int site_count_cmp(const void *a, const void *b)
{
    return strcmp(((const struct site_count *)a)->id, ((const struct site_count *)b)->id);
}

/* The counts of every site, sorted by id, or NULL when out of memory. */
static struct site_count *site_counts_new(const struct enmon_config *cfg, const struct live_dev *devs)
{
    struct site_count *c = calloc(cfg->nsites ? cfg->nsites : 1, sizeof(*c));
    if (!c)
        return NULL;
    for (size_t i = 0; i < cfg->nsites; i++)
        c[i].id = cfg->sites[i].id;
    for (size_t i = 0; i < cfg->ndevices; i++) {
        uint32_t s = cfg->devices[i].site;
        if (s >= cfg->nsites)
            continue;
        c[s].n++;
        c[s].online += devs && devs[i].online;
        c[s].offline += devs && devs[i].polled && !devs[i].online;
    }
    qsort(c, cfg->nsites, sizeof(*c), site_count_cmp);
    return c;
}

static void site_counts(const struct energy_acc *a, const char *site, cJSON *o)
{
    struct site_count key = {site, 0, 0, 0};
    const struct site_count *c =
        a->sites ? bsearch(&key, a->sites, a->cfg->nsites, sizeof(key), site_count_cmp) : NULL;
    cJSON_AddNumberToObject(o, "devices", c ? c->n : 0);
    cJSON_AddNumberToObject(o, "online", c ? c->online : 0);
    cJSON_AddNumberToObject(o, "offline", c ? c->offline : 0);
}

static const struct summary *find_summary(const struct energy_acc *a, const char *id)
{
    for (size_t i = 0; a->sums && i < a->cfg->nprograms; i++)
        if (strcmp(a->sums[i].id, id) == 0)
            return &a->sums[i];
    return NULL;
}

static int energy_row(const struct report_energy_row *row, void *arg)
{
    struct energy_acc *a = arg;
    if (row->site && a->program && strcmp(a->program, row->program ? row->program : "") != 0)
        return 0;
    const struct summary *s = find_summary(a, row->key);
    cJSON *o = s ? summary_obj(s) : cJSON_CreateObject();
    if (!s) {
        cJSON_AddStringToObject(o, "id", row->key);
        cJSON_AddStringToObject(o, "name", row->name ? row->name : row->key);
        cJSON_AddStringToObject(o, "kind", row->kind ? row->kind : "");
    }
    if (row->site) {
        cJSON_AddStringToObject(o, "program", row->program);
        site_counts(a, row->key, o);
    }
    cJSON_AddNumberToObject(o, "energy_today_import_kwh", row->wh_import / 1000.0);
    cJSON_AddNumberToObject(o, "energy_today_export_kwh", row->wh_export / 1000.0);
    cJSON_AddItemToArray(a->arr, o);
    return 0;
}

/* /api/programs and /api/sites: today's energy from the database, power now (programs). */
static int get_energy(const struct api_env *e, enum report_group by, api_arg_fn arg, void *ctx,
                      struct api_reply *out)
{
    char msg[256] = "";
    int64_t from_s, to_s;
    const char *program = by == REPORT_BY_SITE ? arg(ctx, "program") : NULL;
    int known = !program;
    for (size_t i = 0; program && i < e->cfg->nprograms; i++)
        known |= strcmp(e->cfg->programs[i].id, program) == 0;
    if (!known)
        return api_reply_error(out, 404, "no such program");
    sqlite3 *db = open_db(e, out);
    if (!db)
        return 1;
    struct summary *sums = by == REPORT_BY_PROGRAM ? summaries(e, NULL) : NULL;
    struct live_dev *devs = by == REPORT_BY_SITE
                                ? calloc(e->cfg->ndevices ? e->cfg->ndevices : 1, sizeof(*devs))
                                : NULL;
    if (devs)
        live_snapshot(e->live, devs);
    struct site_count *counts = devs ? site_counts_new(e->cfg, devs) : NULL;
    struct energy_acc a = {cJSON_CreateArray(), sums, e->cfg, program, counts};
    today(e, &from_s, &to_s);
    int rc = report_energy(db, from_s, to_s, by, energy_row, &a, msg, sizeof(msg));
    sqlite3_close(db);
    free(sums);
    free(devs);
    free(counts);
    if (rc != ENMON_OK) {
        cJSON_Delete(a.arr);
        return api_reply_error(out, 500, msg);
    }
    return api_reply_json(out, 200, a.arr);
}

struct device_acc {
    cJSON *arr;
    const char *only; /* one device id, or NULL */
    /* the list's filters (NULL: any; availability -2 any, else 1, 0, -1) and page */
    const char *q, *program, *site;
    int availability;
    long offset, limit, total;
};

/* Does row pass the list's filters? q: a substring of the id or name, any case. */
static int device_match(const struct device_acc *a, const struct report_device_row *row)
{
    if (a->program && strcmp(a->program, row->program ? row->program : "") != 0)
        return 0;
    if (a->site && strcmp(a->site, row->site ? row->site : "") != 0)
        return 0;
    if (a->availability != -2 && a->availability != row->online)
        return 0;
    return !a->q || strcasestr(row->key, a->q) || (row->name && strcasestr(row->name, a->q));
}

static void add_opt(cJSON *o, const char *key, int has, double v)
{
    if (has && isfinite(v))
        cJSON_AddNumberToObject(o, key, v);
}

static int device_row(const struct report_device_row *row, void *arg)
{
    struct device_acc *a = arg;
    char ts[40];
    if (a->only && strcmp(a->only, row->key) != 0)
        return 0;
    if (!a->only) { /* counted whether on the page or not */
        if (!device_match(a, row))
            return 0;
        long at = a->total++;
        if (at < a->offset || at >= a->offset + a->limit)
            return 0;
    }
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "id", row->key);
    cJSON_AddStringToObject(o, "name", row->name ? row->name : row->key);
    cJSON_AddStringToObject(o, "program", row->program);
    cJSON_AddStringToObject(o, "site", row->site);
    cJSON_AddStringToObject(o, "kind", row->kind);
    cJSON_AddStringToObject(o, "availability",
                            row->online == 1   ? "online"
                            : row->online == 0 ? "offline"
                                               : "unknown");
    if (row->last_ts_ms > 0 && payload_utc_time(row->last_ts_ms, ts, sizeof(ts)) > 0) {
        cJSON_AddStringToObject(o, "last_seen", ts);
        cJSON_AddNumberToObject(o, "last_seen_ms", (double)row->last_ts_ms);
    }
    if (row->last_error)
        cJSON_AddStringToObject(o, "last_error", row->last_error);
    cJSON *last = cJSON_AddObjectToObject(o, "last_reading");
    add_opt(last, "power_w", row->has_power, row->power_w);
    add_opt(last, "energy_import_wh", row->has_import, row->energy_import_wh);
    add_opt(last, "energy_export_wh", row->has_export, row->energy_export_wh);
    cJSON_AddItemToArray(a->arr, o);
    return a->only ? 1 : 0;
}

/* A query parameter as a whole number in [lo, hi] into *v (def when absent); -1 when not. */
static int arg_long(api_arg_fn arg, void *ctx, const char *name, long lo, long hi, long def,
                    long *v)
{
    const char *s = arg(ctx, name);
    char *end;
    *v = def;
    if (!s)
        return 0;
    *v = strtol(s, &end, 10);
    return s[0] && !*end && *v >= lo && *v <= hi ? 0 : -1;
}

static int list_devices(const struct api_env *e, api_arg_fn arg, void *ctx, struct api_reply *out)
{
    char msg[256] = "";
    struct device_acc a = {.only = NULL, .availability = -2};
    const char *av = arg(ctx, "availability");
    a.q = arg(ctx, "q");
    a.program = arg(ctx, "program");
    a.site = arg(ctx, "site");
    if (a.q && !a.q[0])
        a.q = NULL;
    if (av)
        a.availability = strcmp(av, "online") == 0    ? 1
                         : strcmp(av, "offline") == 0 ? 0
                         : strcmp(av, "unknown") == 0 ? -1
                                                      : -3;
    if (a.availability == -3)
        return api_reply_error(out, 400, "availability must be online, offline or unknown");
    if (arg_long(arg, ctx, "offset", 0, 1L << 30, 0, &a.offset) != 0 ||
        arg_long(arg, ctx, "limit", 1, DEVICES_LIMIT_MAX, DEVICES_LIMIT_DEFAULT, &a.limit) != 0)
        return api_reply_error(out, 400, "offset must be 0 or more, limit 1 to 500");
    sqlite3 *db = open_db(e, out);
    if (!db)
        return 1;
    a.arr = cJSON_CreateArray();
    int rc = report_devices(db, device_row, &a, msg, sizeof(msg));
    sqlite3_close(db);
    if (rc != ENMON_OK) {
        cJSON_Delete(a.arr);
        return api_reply_error(out, 500, msg);
    }
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "total", (double)a.total);
    cJSON_AddNumberToObject(doc, "offset", (double)a.offset);
    cJSON_AddNumberToObject(doc, "limit", (double)a.limit);
    cJSON_AddItemToObject(doc, "devices", a.arr);
    return api_reply_json(out, 200, doc);
}

/* The names of the event bits set in a reading's events value (the device kind's event rule). */
static void event_names(const struct cfg_device *d, double v, cJSON *o)
{
    enum alert_rule_id rule = d->kind == DEVICE_INVERTER ? ALERT_RULE_INVERTER_EVENT
                              : d->kind == DEVICE_METER  ? ALERT_RULE_METER_EVENT
                                                         : ALERT_RULE_SENSOR_EVENT;
    const char *const *names = alert_rule_infos[rule].bit_names;
    uint32_t bits = v >= 0 && v < 4294967296.0 ? (uint32_t)v : 0;
    cJSON *arr = cJSON_AddArrayToObject(o, "event_names");
    for (int b = 0; b < ALERT_EVENT_BITS && b < 32; b++) {
        if (!((bits >> b) & 1u))
            continue;
        char unnamed[16];
        snprintf(unnamed, sizeof(unnamed), "bit%d", b);
        cJSON_AddItemToArray(arr, cJSON_CreateString(names && names[b] ? names[b] : unnamed));
    }
}

/* The device's last good reading stored (readings: its columns are the measurement names),
 * or NULL: after a restart, until the device answers again. */
static cJSON *stored_reading(const struct api_env *e, sqlite3 *db, size_t idx)
{
    char sql[1024];
    size_t n = (size_t)snprintf(sql, sizeof(sql), "SELECT ts_ms, quality");
    for (int m = 0; m < MEAS__ALL && n < sizeof(sql); m++)
        n += (size_t)snprintf(sql + n, sizeof(sql) - n, ", %s", reading_meas_name((enum meas)m));
    if (n >= sizeof(sql) ||
        (size_t)snprintf(sql + n, sizeof(sql) - n,
                         " FROM readings WHERE device_id = (SELECT id FROM devices WHERE key = "
                         "?1) AND quality IN (%d, %d) ORDER BY ts_ms DESC LIMIT 1",
                         READING_OK, READING_PARTIAL) >= sizeof(sql) - n)
        return NULL;
    sqlite3_stmt *st = NULL;
    cJSON *o = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return NULL;
    sqlite3_bind_text(st, 1, e->cfg->devices[idx].id, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW) {
        const struct cfg_device *d = &e->cfg->devices[idx];
        char ts[48];
        int64_t ts_ms = sqlite3_column_int64(st, 0);
        o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "device", d->id);
        cJSON_AddStringToObject(o, "program", e->cfg->programs[d->program].id);
        cJSON_AddStringToObject(o, "site", e->cfg->sites[d->site].id);
        cJSON_AddStringToObject(o, "kind", config_device_kind_name(d->kind));
        if (payload_utc_time(ts_ms, ts, sizeof(ts)) > 0)
            cJSON_AddStringToObject(o, "ts", ts);
        cJSON_AddNumberToObject(o, "ts_ms", (double)ts_ms);
        cJSON_AddStringToObject(o, "quality",
                                sqlite3_column_int(st, 1) == READING_OK ? "ok" : "partial");
        for (int m = 0; m < MEAS__ALL; m++)
            if (sqlite3_column_type(st, 2 + m) != SQLITE_NULL)
                add_opt(o, reading_meas_name((enum meas)m), 1, sqlite3_column_double(st, 2 + m));
        cJSON *ev = cJSON_GetObjectItem(o, "events");
        if (ev)
            event_names(d, ev->valuedouble, o);
        cJSON_AddStringToObject(o, "source", "database");
    }
    sqlite3_finalize(st);
    return o;
}

/* The device's last good reading, every value it delivered (the MQTT state message's
 * fields), with its events decoded: from the live table, else the database; null when
 * there is none. */
static cJSON *latest_reading(const struct api_env *e, sqlite3 *db, size_t idx)
{
    struct live_dev *devs = calloc(e->cfg->ndevices ? e->cfg->ndevices : 1, sizeof(*devs));
    char buf[4096];
    cJSON *o = NULL;
    if (devs) {
        live_snapshot(e->live, devs);
        const struct live_dev *d = &devs[idx];
        if (d->has_last && payload_state_json(e->cfg, &d->last, buf, sizeof(buf)) >= 0)
            o = cJSON_Parse(buf);
        if (o && reading_has(&d->last, MEAS_EVENTS) && isfinite(d->last.value[MEAS_EVENTS]))
            event_names(&e->cfg->devices[idx], d->last.value[MEAS_EVENTS], o);
        if (o)
            cJSON_AddStringToObject(o, "source", "live");
    }
    free(devs);
    if (!o)
        o = stored_reading(e, db, idx);
    return o ? o : cJSON_CreateNull();
}

/* The last AVAILABILITY_DAYS local days: per day the readings stored (daily.samples) against
 * the polls scheduled (a day over the poll interval), and the comm_loss outages. */
static cJSON *availability_history(const struct api_env *e, sqlite3 *db, size_t idx)
{
    const struct cfg_device *d = &e->cfg->devices[idx];
    int64_t from_s, to_s;
    today(e, &from_s, &to_s);
    from_s = to_s - AVAILABILITY_DAYS * (int64_t)CALTIME_DAY_S;
    double expected = d->interval_ms > 0 ? 86400000.0 / d->interval_ms : 0;
    cJSON *o = cJSON_CreateObject();
    cJSON_AddNumberToObject(o, "polls_per_day", expected);
    cJSON *days = cJSON_AddArrayToObject(o, "days");
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT day_s, samples FROM daily WHERE device_id = (SELECT id FROM "
                           "devices WHERE key = ?1) AND day_s >= ?2 AND day_s < ?3 ORDER BY day_s",
                           -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, d->id, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, from_s);
        sqlite3_bind_int64(st, 3, to_s);
        while (sqlite3_step(st) == SQLITE_ROW) {
            char date[16];
            int64_t day = sqlite3_column_int64(st, 0);
            double n = sqlite3_column_double(st, 1);
            cJSON *x = cJSON_CreateObject();
            caltime_format_date(day, e->offset_min, date, sizeof(date));
            cJSON_AddStringToObject(x, "date", date);
            cJSON_AddNumberToObject(x, "t_ms", (double)day * 1000.0);
            cJSON_AddNumberToObject(x, "readings", n);
            cJSON_AddNumberToObject(x, "online_fraction",
                                    expected > 0 ? round(fmin(1.0, n / expected) * 1e4) / 1e4 : 0);
            cJSON_AddItemToArray(days, x);
        }
    }
    sqlite3_finalize(st);
    return o;
}

struct device_alerts {
    cJSON *alerts, *outages;
    const struct enmon_config *cfg;
    int n;
    int64_t outages_from_ms;
};

/* Newest first: every active alert and the DEVICE_ALERTS_RECENT newest; comm_loss spans. */
static void device_alert_row(void *ctx, const struct alert_row *row)
{
    struct device_alerts *a = ctx;
    if (strcmp(row->rule, "comm_loss") == 0 &&
        (!row->cleared_ms || row->cleared_ms >= a->outages_from_ms)) {
        cJSON *x = cJSON_CreateObject();
        cJSON_AddNumberToObject(x, "from_ms", (double)row->raised_ms);
        if (row->cleared_ms)
            cJSON_AddNumberToObject(x, "to_ms", (double)row->cleared_ms);
        else
            cJSON_AddNullToObject(x, "to_ms");
        cJSON_AddItemToArray(a->outages, x);
    }
    if (row->cleared_ms && a->n >= DEVICE_ALERTS_RECENT)
        return;
    a->n++;
    struct alert_json j;
    alert_json_from_row(row, a->cfg, &j);
    cJSON *o = alert_json_object(&j);
    if (o)
        cJSON_AddItemToArray(a->alerts, o);
}

static int get_device(const struct api_env *e, const char *id, struct api_reply *out)
{
    char msg[256] = "";
    size_t idx = e->cfg->ndevices;
    for (size_t i = 0; i < e->cfg->ndevices && idx == e->cfg->ndevices; i++)
        if (strcmp(e->cfg->devices[i].id, id) == 0)
            idx = i;
    sqlite3 *db = open_db(e, out);
    if (!db)
        return 1;
    struct device_acc a = {.arr = cJSON_CreateArray(), .only = id};
    int rc = report_devices(db, device_row, &a, msg, sizeof(msg));
    cJSON *one = rc == ENMON_OK ? cJSON_DetachItemFromArray(a.arr, 0) : NULL;
    cJSON_Delete(a.arr);
    if (rc != ENMON_OK || !one || idx == e->cfg->ndevices) {
        sqlite3_close(db);
        cJSON_Delete(one);
        return rc != ENMON_OK ? api_reply_error(out, 500, msg)
                              : api_reply_error(out, 404, "no such device");
    }
    cJSON_AddItemToObject(one, "latest", latest_reading(e, db, idx));
    cJSON *avail = availability_history(e, db, idx);
    int64_t from_s, to_s;
    today(e, &from_s, &to_s);
    struct device_alerts da = {cJSON_CreateArray(), cJSON_AddArrayToObject(avail, "outages"),
                               e->cfg, 0,
                               (to_s - AVAILABILITY_DAYS * (int64_t)CALTIME_DAY_S) * 1000};
    struct alert_filter f = {.device = id};
    alert_store_list(db, &f, device_alert_row, &da);
    sqlite3_close(db);
    cJSON_AddItemToObject(one, "availability_history", avail);
    cJSON_AddItemToObject(one, "alerts", da.alerts);
    return api_reply_json(out, 200, one);
}

struct alert_rows {
    cJSON *arr;
    const struct enmon_config *cfg;
};

static void alert_row(void *ctx, const struct alert_row *row)
{
    struct alert_rows *rows = ctx;
    struct alert_json a;
    alert_json_from_row(row, rows->cfg, &a);
    cJSON *o = alert_json_object(&a);
    if (o)
        cJSON_AddItemToArray(rows->arr, o);
}

static int get_alerts(const struct api_env *e, api_arg_fn arg, void *ctx, struct api_reply *out)
{
    const char *all = arg(ctx, "all");
    struct alert_filter f = {.active_only = !(all && strcmp(all, "0") != 0)};
    sqlite3 *db = open_db(e, out);
    if (!db)
        return 1;
    cJSON *arr = cJSON_CreateArray();
    struct alert_rows rows = {arr, e->cfg};
    int rc = alert_store_list(db, &f, alert_row, &rows);
    sqlite3_close(db);
    if (rc != ENMON_OK) {
        cJSON_Delete(arr);
        return api_reply_error(out, 500, "cannot read the alerts");
    }
    return api_reply_json(out, 200, arr);
}

/* ---- savings ----------------------------------------------------------------------- */

static int savings_period(const struct api_env *e, api_arg_fn arg, void *ctx, int64_t *from_s,
                          int64_t *to_s)
{
    const char *from = arg(ctx, "from"), *to = arg(ctx, "to");
    today(e, from_s, to_s);
    if (to && caltime_parse_date(to, e->offset_min, to_s) != ENMON_OK)
        return -1;
    if (to)
        *to_s += CALTIME_DAY_S;
    if (from && caltime_parse_date(from, e->offset_min, from_s) != ENMON_OK)
        return -1;
    if (!from)
        *from_s = *to_s - CALTIME_DAY_S;
    if (*from_s >= *to_s)
        return -1;
    return (*to_s - *from_s) / CALTIME_DAY_S > SAVINGS_PERIOD_MAX_DAYS ? -2 : 0;
}

static cJSON *savings_row(const struct sr_row *r)
{
    cJSON *o = cJSON_CreateObject();
    char data[64];
    sr_row_data(r, data, sizeof(data));
    cJSON_AddStringToObject(o, "program", r->key);
    cJSON_AddStringToObject(o, "kind", config_program_kind_name(r->kind));
    cJSON_AddNumberToObject(o, "devices", r->devices);
    cJSON_AddStringToObject(o, "data", data);
    /* a program whose devices are all insufficient (or none) has no figure: null, not 0 */
    double v[4] = {r->actual_kwh, r->saved_kwh, r->krw, r->co2_kg};
    const char *keys[4] = {"actual_kwh", "saved_kwh", "krw", "co2_kg"};
    int has = sr_row_has_figures(r);
    for (int i = 0; i < 4; i++) {
        if (has)
            cJSON_AddNumberToObject(o, keys[i], v[i]);
        else
            cJSON_AddNullToObject(o, keys[i]);
    }
    /* the same method and 90 % interval as `enmon savings` (sr_rows): null when none */
    cJSON_AddStringToObject(o, "method", sr_row_method_name(r));
    cJSON_AddBoolToObject(o, "has_interval", r->has_interval);
    if (r->has_interval) {
        cJSON_AddNumberToObject(o, "saved_low_kwh", r->saved_low_kwh);
        cJSON_AddNumberToObject(o, "saved_high_kwh", r->saved_high_kwh);
    } else {
        cJSON_AddNullToObject(o, "saved_low_kwh");
        cJSON_AddNullToObject(o, "saved_high_kwh");
    }
    if (r->weather_devices)
        cJSON_AddNumberToObject(o, "g14_fail_devices", r->g14_fail);
    return o;
}

static int savings_doc(const struct sr_row *rows, size_t n, int64_t from_s, int64_t to_s,
                       const struct api_env *e, struct api_reply *out)
{
    char d[16];
    double kwh = 0, krw = 0, co2 = 0, half2 = 0;
    int intervals = 0, figures = 0;
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "config_source",
                            e->savings_source ? e->savings_source : "defaults");
    cJSON_AddBoolToObject(doc, "defaults_in_use", !e->savings_source);
    caltime_format_date(from_s, e->offset_min, d, sizeof(d));
    cJSON_AddStringToObject(doc, "from", d);
    caltime_format_date(to_s - CALTIME_DAY_S, e->offset_min, d, sizeof(d));
    cJSON_AddStringToObject(doc, "to", d);
    cJSON *arr = cJSON_AddArrayToObject(doc, "programs");
    for (size_t i = 0; i < n; i++) {
        cJSON_AddItemToArray(arr, savings_row(&rows[i]));
        kwh += rows[i].saved_kwh;
        krw += rows[i].krw;
        co2 += rows[i].co2_kg;
        figures += sr_row_has_figures(&rows[i]);
        if (rows[i].has_interval) { /* programs independent: half-widths add in quadrature */
            double h = (rows[i].saved_high_kwh - rows[i].saved_low_kwh) / 2;
            half2 += h * h;
            intervals++;
        }
    }
    cJSON *tot = cJSON_AddObjectToObject(doc, "total");
    cJSON_AddNumberToObject(tot, "saved_kwh", kwh);
    cJSON_AddBoolToObject(tot, "has_interval", figures > 0 && intervals == figures);
    if (figures > 0 && intervals == figures) {
        cJSON_AddNumberToObject(tot, "saved_low_kwh", kwh - sqrt(half2));
        cJSON_AddNumberToObject(tot, "saved_high_kwh", kwh + sqrt(half2));
    } else {
        cJSON_AddNullToObject(tot, "saved_low_kwh");
        cJSON_AddNullToObject(tot, "saved_high_kwh");
    }
    cJSON_AddNumberToObject(tot, "krw", krw);
    cJSON_AddNumberToObject(tot, "co2_kg", co2);
    return api_reply_json(out, 200, doc);
}

static int get_savings(const struct api_env *e, api_arg_fn arg, void *ctx, struct api_reply *out)
{
    char msg[256] = "";
    struct sr_query q = {.offset_min = e->offset_min};
    if (!e->savings)
        return api_reply_error(out, 503, "no savings parameters");
    int period = savings_period(e, arg, ctx, &q.from_s, &q.to_s);
    if (period == -1)
        return api_reply_error(out, 400, "from and to must be dates YYYY-MM-DD, from <= to");
    if (period != 0) {
        char why[64];
        snprintf(why, sizeof(why), "from..to spans more than %d days", SAVINGS_PERIOD_MAX_DAYS);
        return api_reply_error(out, 400, why);
    }
    sqlite3 *db = open_db(e, out);
    if (!db)
        return 1;
    struct sr_result *res = NULL;
    struct sr_row *rows = NULL;
    size_t n = 0, nrows = 0;
    int rc = sr_compute(db, e->savings, &q, &res, &n, msg, sizeof(msg));
    sqlite3_close(db);
    if (rc == ENMON_OK)
        rc = sr_rows(res, n, SR_BY_PROGRAM, SR_GROUP_NONE, e->offset_min, &rows, &nrows);
    sr_free(res, n);
    if (rc != ENMON_OK)
        return api_reply_error(out, 500, msg[0] ? msg : "savings failed");
    savings_doc(rows, nrows, q.from_s, q.to_s, e, out);
    free(rows);
    return 1;
}

/* ---- status and metrics ------------------------------------------------------------- */

struct stats {
    struct poller_stats poller;
    struct store_stats store;
    struct mqtt_sink_stats mqtt;
    struct alerts_stats alerts;
};

static void get_stats(const struct api_env *e, struct stats *s)
{
    memset(s, 0, sizeof(*s));
    if (e->poller)
        poller_get_stats(e->poller, &s->poller);
    if (e->store)
        store_get_stats(e->store, &s->store);
    if (e->mqtt)
        mqtt_sink_get_stats(e->mqtt, &s->mqtt);
    if (e->alerts)
        alerts_get_stats(e->alerts, &s->alerts);
}

static int get_status(const struct api_env *e, struct api_reply *out)
{
    struct stats s;
    get_stats(e, &s);
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "devices", (double)e->cfg->ndevices);
    cJSON_AddNumberToObject(doc, "online", (double)s.poller.online);
    cJSON *p = cJSON_AddObjectToObject(doc, "poller");
    cJSON_AddNumberToObject(p, "polls", (double)s.poller.polls);
    cJSON_AddNumberToObject(p, "failures", (double)s.poller.failures);
    cJSON_AddNumberToObject(p, "lateness_p99_ms", (double)s.poller.lateness_p99_ms);
    cJSON_AddNumberToObject(p, "lateness_max_ms", (double)s.poller.lateness_max_ms);
    cJSON *st = cJSON_AddObjectToObject(doc, "store");
    cJSON_AddNumberToObject(st, "written", (double)s.store.written);
    cJSON_AddNumberToObject(st, "dropped", (double)s.store.dropped);
    cJSON_AddNumberToObject(st, "errors", (double)s.store.errors);
    cJSON_AddNumberToObject(st, "queue_depth", (double)s.store.depth);
    cJSON *m = cJSON_AddObjectToObject(doc, "mqtt");
    cJSON_AddBoolToObject(m, "connected", s.mqtt.connected);
    cJSON_AddNumberToObject(m, "published", (double)s.mqtt.published);
    cJSON_AddNumberToObject(m, "dropped", (double)s.mqtt.dropped);
    cJSON_AddNumberToObject(m, "queue_depth", (double)s.mqtt.depth);
    cJSON *a = cJSON_AddObjectToObject(doc, "alerts");
    cJSON_AddNumberToObject(a, "active", (double)s.alerts.active);
    cJSON_AddNumberToObject(a, "raised", (double)s.alerts.raised);
    cJSON_AddNumberToObject(a, "dropped", (double)s.alerts.dropped);
    return api_reply_json(out, 200, doc);
}

/* The size of the previous exposition: the next one starts in a buffer that fits it. */
static _Atomic size_t metrics_size_hint;

static int get_metrics(const struct api_env *e, struct api_reply *out)
{
    struct stats s;
    struct live_dev *devs = calloc(e->cfg->ndevices ? e->cfg->ndevices : 1, sizeof(*devs));
    struct metrics_buf b = {.cap = metrics_size_hint + metrics_size_hint / 8};
    b.data = devs && b.cap ? malloc(b.cap) : NULL;
    if (!devs || (b.cap && !b.data)) {
        free(devs);
        return api_reply_error(out, 500, "out of memory");
    }
    get_stats(e, &s);
    live_snapshot(e->live, devs);
    struct sink_stats sinks[SINK_MAX];
    size_t nsinks = sink_count(e->sinks);
    for (size_t i = 0; i < nsinks; i++)
        sink_get_stats(e->sinks, i, &sinks[i]);
    struct metrics_input in = {.cfg = e->cfg,
                               .devs = devs,
                               .poller = e->poller ? &s.poller : NULL,
                               .sinks = sinks,
                               .nsinks = nsinks,
                               .per_program = !e->cfg->http.metrics_per_device};
    int rc = metrics_render(&b, &in);
    free(devs);
    if (rc != 0) {
        free(b.data);
        return api_reply_error(out, 500, "metrics failed");
    }
    metrics_size_hint = b.len;
    out->body = b.data;
    out->len = b.len;
    out->status = 200;
    out->type = "text/plain; version=0.0.4; charset=utf-8";
    return 1;
}

/* ---- the live frame ---------------------------------------------------------------- */

/* A string member by reference: key and value outlive the document (constants, the
 * configuration), so neither is copied (two allocations and copies fewer per member). */
static void add_ref(cJSON *o, const char *key, const char *value)
{
    cJSON_AddItemToObjectCS(o, key, cJSON_CreateStringReference(value));
}

static void frame_devices(const struct api_env *e, const struct live_dev *devs, cJSON *doc)
{
    int all = e->cfg->ndevices <= LIVE_DEVICES_MAX;
    cJSON *arr = cJSON_AddArrayToObject(doc, "devices");
    cJSON_AddBoolToObject(doc, "devices_complete", all);
    for (size_t i = 0; i < e->cfg->ndevices; i++) {
        const struct live_dev *d = &devs[i];
        if (!all && d->online)
            continue;
        cJSON *o = cJSON_CreateObject();
        add_ref(o, "id", e->cfg->devices[i].id);
        add_ref(o, "program", e->cfg->programs[e->cfg->devices[i].program].id);
        add_ref(o, "kind", config_device_kind_name(e->cfg->devices[i].kind));
        add_ref(o, "availability", !d->polled ? "unknown" : d->online ? "online" : "offline");
        if (d->last_seen_ms)
            cJSON_AddNumberToObject(o, "last_seen_ms", (double)d->last_seen_ms);
        if (d->has_last && reading_has(&d->last, MEAS_POWER_W))
            add_opt(o, "power_w", 1, d->last.value[MEAS_POWER_W]);
        if (d->has_last && reading_has(&d->last, MEAS_LEAKAGE_MA)) /* pole sensors */
            add_opt(o, "leakage_ma", 1, d->last.value[MEAS_LEAKAGE_MA]);
        cJSON_AddItemToArray(arr, o);
    }
}

/* The alert JSON of row (names from cfg), published retained on its topic while it is active,
 * so that subscribers see the acknowledgement. Should the engine have cleared it meanwhile,
 * its clear (the empty retained message) may have been queued before this one: cleared
 * again, the broker keeps no message for it. */
static void republish(const struct api_env *e, const struct alert_row *row)
{
    char topic[PAYLOAD_TOPIC_MAX + 64], json[4096];
    struct alert_json a;
    if (!e->mqtt || row->cleared_ms)
        return;
    alert_json_from_row(row, e->cfg, &a);
    if (alert_json_write(&a, json, sizeof(json)) < 0 ||
        snprintf(topic, sizeof(topic), "%s/alert/%s/%s/%s", e->cfg->mqtt.topic_root, row->program,
                 row->site, row->key) >= (int)sizeof(topic))
        return;
    mqtt_sink_publish(e->mqtt, topic, json, 1);
    if (e->alerts && !alerts_is_active(e->alerts, row->key))
        mqtt_sink_publish(e->mqtt, topic, "", 1);
}

/* The stored rows of the active alerts (row number, acknowledgement), by key. */
struct active_rows {
    struct alert_row *v;
    size_t n, cap;
};

static void active_row(void *ctx, const struct alert_row *row)
{
    struct active_rows *r = ctx;
    if (r->n == r->cap) {
        size_t cap = r->cap ? 2 * r->cap : 64;
        struct alert_row *v = realloc(r->v, cap * sizeof(*v));
        if (!v)
            return;
        r->v = v;
        r->cap = cap;
    }
    r->v[r->n++] = *row;
}

static int row_by_key(const void *a, const void *b)
{
    return strcmp(((const struct alert_row *)a)->key, ((const struct alert_row *)b)->key);
}

static int has_row(const struct api_acked *acked, int64_t id)
{
    for (size_t i = 0; i < acked->n; i++)
        if (acked->rows[i] == id)
            return 1;
    return 0;
}

/* Republishes the active alerts acknowledged since the last frame (also by `enmon alerts ack`,
 * another process) and remembers which are. */
static void republish_acked(const struct api_env *e, const struct active_rows *rows,
                            struct api_acked *acked)
{
    size_t n = 0;
    int64_t *now = rows->n ? malloc(rows->n * sizeof(*now)) : NULL;
    for (size_t i = 0; now && i < rows->n; i++) {
        const struct alert_row *r = &rows->v[i];
        if (!r->acked_by[0])
            continue;
        if (!has_row(acked, r->id))
            republish(e, r);
        now[n++] = r->id;
    }
    free(acked->rows);
    acked->rows = now;
    acked->n = n;
}

/* The engine's active alerts, with the row number and acknowledgement of each once stored. */
static void frame_alerts(const struct api_env *e, cJSON *doc, struct api_acked *acked)
{
    cJSON *arr = cJSON_AddArrayToObject(doc, "alerts");
    if (!e->alerts)
        return;
    struct alert_event *ev = calloc(LIVE_ALERTS_MAX, sizeof(*ev));
    size_t n = ev ? alerts_active(e->alerts, ev, LIVE_ALERTS_MAX) : 0;
    cJSON_AddNumberToObject(doc, "alerts_active", (double)n);
    struct active_rows rows = {0};
    sqlite3 *db = NULL;
    struct alert_filter f = {.active_only = 1};
    char msg[256];
    if (n && report_open(e->cfg->database, &db, msg, sizeof(msg)) == ENMON_OK) {
        alert_store_list(db, &f, active_row, &rows);
        sqlite3_close(db);
        if (rows.n)
            qsort(rows.v, rows.n, sizeof(*rows.v), row_by_key);
        if (acked)
            republish_acked(e, &rows, acked);
    }
    for (size_t i = 0; i < n && i < LIVE_ALERTS_MAX; i++) {
        struct alert_json a;
        if (alert_json_from_event(&ev[i], e->cfg, &a) != 0)
            continue;
        struct alert_row want;
        snprintf(want.key, sizeof(want.key), "%s", ev[i].id);
        const struct alert_row *row =
            rows.n ? bsearch(&want, rows.v, rows.n, sizeof(*rows.v), row_by_key) : NULL;
        if (row) {
            a.row_id = row->id;
            a.acked_by = row->acked_by;
            a.acked_ms = row->acked_ms;
        }
        cJSON *o = alert_json_object(&a);
        if (o)
            cJSON_AddItemToArray(arr, o);
    }
    free(rows.v);
    free(ev);
}

/* Without a frame: only the acknowledgements to republish (as frame_alerts does). */
static void republish_acked_only(const struct api_env *e, struct api_acked *acked)
{
    if (!acked || !e->alerts || !e->mqtt || alerts_active(e->alerts, NULL, 0) == 0)
        return;
    struct active_rows rows = {0};
    sqlite3 *db = NULL;
    struct alert_filter f = {.active_only = 1};
    char msg[256];
    if (report_open(e->cfg->database, &db, msg, sizeof(msg)) != ENMON_OK)
        return;
    alert_store_list(db, &f, active_row, &rows);
    sqlite3_close(db);
    republish_acked(e, &rows, acked);
    free(rows.v);
}

char *api_live_frame(const struct api_env *e, int64_t now_ms, struct api_acked *acked)
{
    if (!live_frames_wanted(e->live, clock_mono_ms())) {
        live_drop_frame(e->live);
        republish_acked_only(e, acked);
        return NULL;
    }
    struct live_dev *devs = NULL;
    struct summary *s = summaries(e, &devs);
    if (!s)
        return NULL;
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddNumberToObject(doc, "ts_ms", (double)now_ms);
    cJSON *arr = cJSON_AddArrayToObject(doc, "programs");
    for (size_t i = 0; i < e->cfg->nprograms; i++) {
        cJSON *o = summary_obj(&s[i]);
        cJSON_AddNumberToObject(o, "energy_today_wh", round(s[i].energy_today_wh));
        cJSON_AddItemToArray(arr, o);
    }
    cJSON *city = summary_obj(&s[e->cfg->nprograms]);
    cJSON_AddNumberToObject(city, "energy_today_wh", round(s[e->cfg->nprograms].energy_today_wh));
    cJSON_AddItemToObject(doc, "city", city);
    frame_devices(e, devs, doc);
    frame_alerts(e, doc, acked);
    char *json = cJSON_PrintUnformatted(doc);
    cJSON_Delete(doc);
    free(s);
    free(devs);
    return json;
}

/* ---- acknowledging ------------------------------------------------------------------ */

int api_alert_ack(const struct api_env *e, const char *which, const char *by, struct api_reply *out)
{
    struct alert_row row, first;
    char msg[768] = "";
    sqlite3 *db = NULL;
    memset(out, 0, sizeof(*out));
    if (!by || !by[0] || strlen(by) >= sizeof(row.acked_by))
        return api_reply_error(out, 400, "by=NAME (1 to 63 bytes) is needed");
    if (db_open(e->cfg->database, DB_READWRITE, DB_BUSY_MS, &db, msg, sizeof(msg)) != ENMON_OK)
        return api_reply_error(out, 503, msg);
    memset(&first, 0, sizeof(first));
    int rc = alert_store_ack(db, which, by, clock_wall_ms(), &first);
    if (rc == ENMON_OK)
        rc = alert_store_find(db, which, &row);
    sqlite3_close(db);
    if (rc == ENMON_ERR_NOT_FOUND)
        return api_reply_error(out, 404, "no such alert");
    if (rc == ENMON_ERR_INVALID) { /* the first acknowledgement stands */
        struct alert_json a;
        alert_json_from_row(&first, e->cfg, &a);
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "error", "already acknowledged");
        cJSON *o = alert_json_object(&a);
        if (o)
            cJSON_AddItemToObject(doc, "alert", o);
        return api_reply_json(out, 409, doc);
    }
    if (rc != ENMON_OK)
        return api_reply_error(out, 500, "acknowledging failed");
    republish(e, &row);
    struct alert_json a;
    alert_json_from_row(&row, e->cfg, &a);
    return api_reply_json(out, 200, alert_json_object(&a));
}

/* ---- routing ----------------------------------------------------------------------- */

int api_handle(const struct api_env *e, const char *path, api_arg_fn arg, void *ctx,
               struct api_reply *out)
{
    static const char dev_prefix[] = "/api/devices/";
    memset(out, 0, sizeof(*out));
    if (strcmp(path, "/metrics") == 0)
        return get_metrics(e, out);
    if (strncmp(path, "/api/", 5) != 0)
        return 0;
    if (strcmp(path, "/api/programs") == 0)
        return get_energy(e, REPORT_BY_PROGRAM, arg, ctx, out);
    if (strcmp(path, "/api/sites") == 0)
        return get_energy(e, REPORT_BY_SITE, arg, ctx, out);
    if (strcmp(path, "/api/devices") == 0)
        return list_devices(e, arg, ctx, out);
    if (strncmp(path, dev_prefix, sizeof(dev_prefix) - 1) == 0 && path[sizeof(dev_prefix) - 1])
        return get_device(e, path + sizeof(dev_prefix) - 1, out);
    if (strcmp(path, "/api/history") == 0)
        return history_get(e, arg, ctx, out);
    if (strcmp(path, "/api/intervals") == 0)
        return history_intervals(e, arg, ctx, out);
    if (strcmp(path, "/api/alerts") == 0)
        return get_alerts(e, arg, ctx, out);
    if (strcmp(path, "/api/savings") == 0)
        return get_savings(e, arg, ctx, out);
    if (strcmp(path, "/api/status") == 0)
        return get_status(e, out);
    return api_reply_error(out, 404, "no such endpoint");
}
