/* http_api.c -- enmond's REST API and /metrics: JSON from the database (read-only, one
 * connection per request) and from the live state. */
#include "http_api.h"

#include "alert_json.h"
#include "alert_store.h"
#include "caltime.h"
#include "clock.h"
#include "db_open.h"
#include "err.h"
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

static int reply_json(struct api_reply *out, int status, cJSON *doc)
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

static int reply_error(struct api_reply *out, int status, const char *msg)
{
    cJSON *doc = cJSON_CreateObject();
    cJSON_AddStringToObject(doc, "error", msg);
    return reply_json(out, status, doc);
}

static sqlite3 *open_db(const struct api_env *e, struct api_reply *out)
{
    sqlite3 *db = NULL;
    char msg[256] = "";
    if (report_open(e->cfg->database, &db, msg, sizeof(msg)) != ENMON_OK) {
        reply_error(out, 503, msg);
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

struct energy_acc {
    cJSON *arr;
    const struct summary *sums; /* programs, NULL for sites */
    const struct enmon_config *cfg;
};

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
    const struct summary *s = find_summary(a, row->key);
    cJSON *o = s ? summary_obj(s) : cJSON_CreateObject();
    if (!s) {
        cJSON_AddStringToObject(o, "id", row->key);
        cJSON_AddStringToObject(o, "name", row->name ? row->name : row->key);
        cJSON_AddStringToObject(o, "kind", row->kind ? row->kind : "");
    }
    if (row->site)
        cJSON_AddStringToObject(o, "program", row->program);
    cJSON_AddNumberToObject(o, "energy_today_import_kwh", row->wh_import / 1000.0);
    cJSON_AddNumberToObject(o, "energy_today_export_kwh", row->wh_export / 1000.0);
    cJSON_AddItemToArray(a->arr, o);
    return 0;
}

/* /api/programs and /api/sites: today's energy from the database, power now (programs). */
static int get_energy(const struct api_env *e, enum report_group by, struct api_reply *out)
{
    char msg[256] = "";
    int64_t from_s, to_s;
    sqlite3 *db = open_db(e, out);
    if (!db)
        return 1;
    struct summary *sums = by == REPORT_BY_PROGRAM ? summaries(e, NULL) : NULL;
    struct energy_acc a = {cJSON_CreateArray(), sums, e->cfg};
    today(e, &from_s, &to_s);
    int rc = report_energy(db, from_s, to_s, by, energy_row, &a, msg, sizeof(msg));
    sqlite3_close(db);
    free(sums);
    if (rc != ENMON_OK) {
        cJSON_Delete(a.arr);
        return reply_error(out, 500, msg);
    }
    return reply_json(out, 200, a.arr);
}

struct device_acc {
    cJSON *arr;
    const char *only; /* one device id, or NULL */
};

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

static int get_devices(const struct api_env *e, const char *only, struct api_reply *out)
{
    char msg[256] = "";
    sqlite3 *db = open_db(e, out);
    if (!db)
        return 1;
    struct device_acc a = {cJSON_CreateArray(), only};
    int rc = report_devices(db, device_row, &a, msg, sizeof(msg));
    sqlite3_close(db);
    if (rc != ENMON_OK) {
        cJSON_Delete(a.arr);
        return reply_error(out, 500, msg);
    }
    if (!only)
        return reply_json(out, 200, a.arr);
    cJSON *one = cJSON_DetachItemFromArray(a.arr, 0);
    cJSON_Delete(a.arr);
    return one ? reply_json(out, 200, one) : reply_error(out, 404, "no such device");
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
        return reply_error(out, 500, "cannot read the alerts");
    }
    return reply_json(out, 200, arr);
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
    return reply_json(out, 200, doc);
}

static int get_savings(const struct api_env *e, api_arg_fn arg, void *ctx, struct api_reply *out)
{
    char msg[256] = "";
    struct sr_query q = {.offset_min = e->offset_min};
    if (!e->savings)
        return reply_error(out, 503, "no savings parameters");
    int period = savings_period(e, arg, ctx, &q.from_s, &q.to_s);
    if (period == -1)
        return reply_error(out, 400, "from and to must be dates YYYY-MM-DD, from <= to");
    if (period != 0) {
        char why[64];
        snprintf(why, sizeof(why), "from..to spans more than %d days", SAVINGS_PERIOD_MAX_DAYS);
        return reply_error(out, 400, why);
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
        return reply_error(out, 500, msg[0] ? msg : "savings failed");
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
    return reply_json(out, 200, doc);
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
        return reply_error(out, 500, "out of memory");
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
        return reply_error(out, 500, "metrics failed");
    }
    metrics_size_hint = b.len;
    out->body = b.data;
    out->len = b.len;
    out->status = 200;
    out->type = "text/plain; version=0.0.4; charset=utf-8";
    return 1;
}

/* ---- the live frame ---------------------------------------------------------------- */

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
        cJSON_AddStringToObject(o, "id", e->cfg->devices[i].id);
        cJSON_AddStringToObject(o, "program", e->cfg->programs[e->cfg->devices[i].program].id);
        cJSON_AddStringToObject(o, "kind", config_device_kind_name(e->cfg->devices[i].kind));
        cJSON_AddStringToObject(o, "availability",
                                !d->polled  ? "unknown"
                                : d->online ? "online"
                                            : "offline");
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

char *api_live_frame(const struct api_env *e, int64_t now_ms, struct api_acked *acked)
{
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
        return reply_error(out, 400, "by=NAME (1 to 63 bytes) is needed");
    if (db_open(e->cfg->database, DB_READWRITE, DB_BUSY_MS, &db, msg, sizeof(msg)) != ENMON_OK)
        return reply_error(out, 503, msg);
    memset(&first, 0, sizeof(first));
    int rc = alert_store_ack(db, which, by, clock_wall_ms(), &first);
    if (rc == ENMON_OK)
        rc = alert_store_find(db, which, &row);
    sqlite3_close(db);
    if (rc == ENMON_ERR_NOT_FOUND)
        return reply_error(out, 404, "no such alert");
    if (rc == ENMON_ERR_INVALID) { /* the first acknowledgement stands */
        struct alert_json a;
        alert_json_from_row(&first, e->cfg, &a);
        cJSON *doc = cJSON_CreateObject();
        cJSON_AddStringToObject(doc, "error", "already acknowledged");
        cJSON *o = alert_json_object(&a);
        if (o)
            cJSON_AddItemToObject(doc, "alert", o);
        return reply_json(out, 409, doc);
    }
    if (rc != ENMON_OK)
        return reply_error(out, 500, "acknowledging failed");
    republish(e, &row);
    struct alert_json a;
    alert_json_from_row(&row, e->cfg, &a);
    return reply_json(out, 200, alert_json_object(&a));
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
        return get_energy(e, REPORT_BY_PROGRAM, out);
    if (strcmp(path, "/api/sites") == 0)
        return get_energy(e, REPORT_BY_SITE, out);
    if (strcmp(path, "/api/devices") == 0)
        return get_devices(e, NULL, out);
    if (strncmp(path, dev_prefix, sizeof(dev_prefix) - 1) == 0 && path[sizeof(dev_prefix) - 1])
        return get_devices(e, path + sizeof(dev_prefix) - 1, out);
    if (strcmp(path, "/api/alerts") == 0)
        return get_alerts(e, arg, ctx, out);
    if (strcmp(path, "/api/savings") == 0)
        return get_savings(e, arg, ctx, out);
    if (strcmp(path, "/api/status") == 0)
        return get_status(e, out);
    return reply_error(out, 404, "no such endpoint");
}
