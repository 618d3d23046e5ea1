/* history.c -- /api/history and /api/intervals: energy per time bucket and the 15-minute
 * interval export, read from the store's intervals, daily and per-program rollups. */
#include "history.h"

#include "caltime.h"
#include "clock.h"
#include "err.h"
#include "report.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum history_level { HL_CITY, HL_PROGRAM, HL_SITE, HL_DEVICE };

static const char *const level_names[] = {"city", "program", "site", "device"};
static const char *const view_names[] = {"day", "week", "month", "year"};
static const char *const bucket_names[] = {"interval", "hour", "day", "month"};

static int name_index(const char *const *names, int n, const char *s)
{
    for (int i = 0; s && i < n; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

int64_t history_bucket_start(enum history_bucket b, int64_t t_s, int64_t from_s, int offset_min)
{
    switch (b) {
    case HB_INTERVAL:
        return t_s;
    case HB_HOUR: /* from_s is a local midnight: hours of the local clock */
        return t_s >= from_s ? from_s + (t_s - from_s) / CALTIME_HOUR_S * CALTIME_HOUR_S
                             : caltime_interval_start(t_s, offset_min);
    case HB_DAY:
        return caltime_day_start(t_s, offset_min);
    case HB_MONTH:
        return caltime_month_start(t_s, offset_min);
    }
    return t_s;
}

/* Is id a program, site or device of the configuration (the city has no id)? */
static int known_id(const struct enmon_config *cfg, enum history_level lv, const char *id)
{
    switch (lv) {
    case HL_CITY:
        return 1;
    case HL_PROGRAM:
        for (size_t i = 0; i < cfg->nprograms; i++)
            if (strcmp(cfg->programs[i].id, id) == 0)
                return 1;
        return 0;
    case HL_SITE:
        for (size_t i = 0; i < cfg->nsites; i++)
            if (strcmp(cfg->sites[i].id, id) == 0)
                return 1;
        return 0;
    case HL_DEVICE:
        for (size_t i = 0; i < cfg->ndevices; i++)
            if (strcmp(cfg->devices[i].id, id) == 0)
                return 1;
        return 0;
    }
    return 0;
}

/* The daily rollups are local days of this zone (meta daily_offset_min, set by the store). */
static int daily_usable(sqlite3 *db, int offset_min)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'daily_offset_min'", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;
    int ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER &&
             sqlite3_column_int(st, 0) == offset_min;
    sqlite3_finalize(st);
    return ok;
}

/* The query of (level, source): rows (t, wh_import, wh_export) ordered by t; ?1 from, ?2 to,
 * ?3 the id. */
static void history_sql(enum history_level lv, int daily, int rollup, char *sql, size_t len)
{
    const char *col = daily ? "day_s" : "start_s";
    const char *tbl = daily ? "daily" : "intervals";
    const char *ptbl = daily ? "program_daily" : "program_intervals";
    if ((lv == HL_PROGRAM || lv == HL_CITY) && rollup) {
        snprintf(sql, len,
                 "SELECT r.%s, sum(r.wh_import), sum(r.wh_export) FROM programs p JOIN %s r "
                 "ON r.program_id = p.id AND r.%s >= ?1 AND r.%s < ?2 %s GROUP BY 1 ORDER BY 1",
                 col, ptbl, col, col, lv == HL_PROGRAM ? "WHERE p.key = ?3" : "");
    } else if (lv == HL_CITY) {
        snprintf(sql, len,
                 "SELECT %s, sum(wh_import), sum(wh_export) FROM %s WHERE %s >= ?1 AND %s < ?2 "
                 "GROUP BY 1 ORDER BY 1",
                 col, tbl, col, col);
    } else if (lv == HL_DEVICE) {
        snprintf(sql, len,
                 "SELECT %s, wh_import, wh_export FROM %s WHERE device_id = (SELECT id FROM "
                 "devices WHERE key = ?3) AND %s >= ?1 AND %s < ?2 ORDER BY 1",
                 col, tbl, col, col);
    } else {
        snprintf(sql, len,
                 "SELECT i.%s, sum(i.wh_import), sum(i.wh_export) FROM %s g JOIN devices d ON "
                 "d.%s = g.id JOIN %s i ON i.device_id = d.id AND i.%s >= ?1 AND i.%s < ?2 "
                 "WHERE g.key = ?3 GROUP BY 1 ORDER BY 1",
                 col, lv == HL_SITE ? "sites" : "programs",
                 lv == HL_SITE ? "site_id" : "program_id", tbl, col, col);
    }
}

struct history_range {
    int64_t from_s, to_s; /* [from, to) */
    enum history_bucket bucket;
    int daily; /* read the daily rollups (day and month buckets) */
};

static void view_range(int view, int64_t end_day, int offset_min, int daily_ok,
                       struct history_range *r)
{
    r->to_s = end_day + CALTIME_DAY_S;
    r->daily = 0;
    switch (view) {
    case 0: /* day: 96 intervals */
        r->from_s = end_day;
        r->bucket = HB_INTERVAL;
        break;
    case 1: /* week: 7 days of hours */
        r->from_s = end_day - 6 * (int64_t)CALTIME_DAY_S;
        r->bucket = HB_HOUR;
        break;
    case 2: /* month: 30 days */
        r->from_s = end_day - 29 * (int64_t)CALTIME_DAY_S;
        r->bucket = HB_DAY;
        r->daily = daily_ok;
        break;
    default: { /* year: 12 months ending with end's month */
        struct caltime_tm tm;
        caltime_split(end_day, offset_min, &tm);
        int y = tm.year, m = tm.month - 11;
        if (m < 1) {
            m += 12;
            y--;
        }
        r->from_s = caltime_days_from_civil(y, m, 1) * CALTIME_DAY_S -
                    (int64_t)offset_min * CALTIME_MINUTE_S;
        r->to_s = caltime_month_end(end_day, offset_min);
        r->bucket = HB_MONTH;
        r->daily = daily_ok;
        break;
    }
    }
}

static void add_point(cJSON *arr, int64_t t_s, double wh_in, double wh_out)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddNumberToObject(p, "t_ms", (double)t_s * 1000.0);
    cJSON_AddNumberToObject(p, "import_kwh", wh_in / 1000.0);
    cJSON_AddNumberToObject(p, "export_kwh", wh_out / 1000.0);
    cJSON_AddNumberToObject(p, "net_kwh", (wh_in - wh_out) / 1000.0);
    cJSON_AddItemToArray(arr, p);
}

/* Reads the rows into buckets of arr (a bucket without rows has no point); the totals. */
static int history_points(sqlite3 *db, const char *sql, const char *id,
                          const struct history_range *r, int offset_min, cJSON *arr, double tot[2])
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    sqlite3_bind_int64(st, 1, r->from_s);
    sqlite3_bind_int64(st, 2, r->to_s);
    if (id && sqlite3_bind_parameter_count(st) >= 3)
        sqlite3_bind_text(st, 3, id, -1, SQLITE_STATIC);
    int64_t cur = INT64_MIN;
    double wh[2] = {0, 0};
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t b =
            history_bucket_start(r->bucket, sqlite3_column_int64(st, 0), r->from_s, offset_min);
        if (b != cur && cur != INT64_MIN)
            add_point(arr, cur, wh[0], wh[1]);
        if (b != cur)
            wh[0] = wh[1] = 0;
        cur = b;
        double in = sqlite3_column_double(st, 1), out = sqlite3_column_double(st, 2);
        wh[0] += in;
        wh[1] += out;
        tot[0] += in;
        tot[1] += out;
    }
    if (cur != INT64_MIN)
        add_point(arr, cur, wh[0], wh[1]);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
}

/* end=YYYY-MM-DD (local midnight into *day), default today on the daemon's clock. */
static int end_day(const struct api_env *e, const char *end, int64_t *day)
{
    if (!end) {
        *day = caltime_day_start(clock_wall_ms() / 1000, e->offset_min);
        return 0;
    }
    return caltime_parse_date(end, e->offset_min, day) == ENMON_OK ? 0 : -1;
}

int history_get(const struct api_env *e, api_arg_fn arg, void *ctx, struct api_reply *out)
{
    const char *level = arg(ctx, "level"), *id = arg(ctx, "id"), *view = arg(ctx, "view");
    int lv = level ? name_index(level_names, 4, level) : HL_CITY;
    int vw = view ? name_index(view_names, 4, view) : 0;
    int64_t day;
    if (lv < 0)
        return api_reply_error(out, 400, "level must be city, program, site or device");
    if (vw < 0)
        return api_reply_error(out, 400, "view must be day, week, month or year");
    if (end_day(e, arg(ctx, "end"), &day) != 0)
        return api_reply_error(out, 400, "end must be a date YYYY-MM-DD");
    if (lv != HL_CITY && (!id || !id[0]))
        return api_reply_error(out, 400, "id is required for level program, site and device");
    if (!known_id(e->cfg, (enum history_level)lv, id))
        return api_reply_error(out, 404, "no such id");
    sqlite3 *db = NULL;
    char msg[256] = "";
    if (report_open(e->cfg->database, &db, msg, sizeof(msg)) != ENMON_OK)
        return api_reply_error(out, 503, msg);
    struct history_range r;
    view_range(vw, day, e->offset_min, daily_usable(db, e->offset_min), &r);
    char sql[512];
    history_sql((enum history_level)lv, r.daily, report_use_rollup(db, r.daily, r.from_s), sql,
                sizeof(sql));
    cJSON *doc = cJSON_CreateObject();
    char d[16];
    cJSON_AddStringToObject(doc, "level", level_names[lv]);
    cJSON_AddStringToObject(doc, "id", lv == HL_CITY ? "city" : id);
    cJSON_AddStringToObject(doc, "view", view_names[vw]);
    caltime_format_date(r.from_s, e->offset_min, d, sizeof(d));
    cJSON_AddStringToObject(doc, "from", d);
    caltime_format_date(r.to_s - 1, e->offset_min, d, sizeof(d));
    cJSON_AddStringToObject(doc, "to", d);
    cJSON_AddNumberToObject(doc, "from_ms", (double)r.from_s * 1000.0);
    cJSON_AddNumberToObject(doc, "to_ms", (double)r.to_s * 1000.0);
    cJSON_AddStringToObject(doc, "bucket", bucket_names[r.bucket]);
    cJSON_AddStringToObject(doc, "unit", "kWh");
    cJSON *arr = cJSON_AddArrayToObject(doc, "points");
    double tot[2] = {0, 0};
    int rc = history_points(db, sql, lv == HL_CITY ? NULL : id, &r, e->offset_min, arr, tot);
    if (rc != ENMON_OK)
        snprintf(msg, sizeof(msg), "history query: %s", sqlite3_errmsg(db));
    sqlite3_close(db);
    if (rc != ENMON_OK) {
        cJSON_Delete(doc);
        return api_reply_error(out, 500, msg);
    }
    cJSON *t = cJSON_AddObjectToObject(doc, "total");
    cJSON_AddNumberToObject(t, "import_kwh", tot[0] / 1000.0);
    cJSON_AddNumberToObject(t, "export_kwh", tot[1] / 1000.0);
    cJSON_AddNumberToObject(t, "net_kwh", (tot[0] - tot[1]) / 1000.0);
    return api_reply_json(out, 200, doc);
}

/* ---- the interval export ------------------------------------------------------------- */

/* "2026-06-21T00:00:00+09:00" */
static void iso_local(int64_t t_s, int offset_min, char *buf, size_t len)
{
    struct caltime_tm tm;
    char off[8];
    caltime_split(t_s, offset_min, &tm);
    caltime_format_offset(offset_min, off, sizeof(off));
    snprintf(buf, len, "%04d-%02d-%02dT%02d:%02d:%02d%s", tm.year, tm.month, tm.mday, tm.hour,
             tm.min, tm.sec, off);
}

struct text {
    char *p;
    size_t len, cap;
    int failed;
};

static void text_add(struct text *t, const char *s, size_t n)
{
    if (t->failed)
        return;
    if (t->len + n + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 4096;
        while (cap < t->len + n + 1)
            cap *= 2;
        char *p = realloc(t->p, cap);
        if (!p) {
            t->failed = 1;
            return;
        }
        t->p = p;
        t->cap = cap;
    }
    memcpy(t->p + t->len, s, n);
    t->len += n;
    t->p[t->len] = '\0';
}

/* The device id as it may appear in a file name: letters, digits, '-', '_' and '.'. */
static void file_safe(const char *s, char *buf, size_t len)
{
    size_t o = 0;
    for (; *s && o + 1 < len; s++)
        buf[o++] = (char)(((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
                           (*s >= '0' && *s <= '9') || *s == '-' || *s == '_' || *s == '.')
                              ? *s
                              : '_');
    buf[o] = '\0';
}

int history_intervals(const struct api_env *e, api_arg_fn arg, void *ctx, struct api_reply *out)
{
    const char *dev = arg(ctx, "device"), *from = arg(ctx, "from"), *to = arg(ctx, "to");
    const char *format = arg(ctx, "format");
    int csv = !format || strcmp(format, "csv") == 0;
    int64_t from_s, to_s;
    if (format && !csv && strcmp(format, "json") != 0)
        return api_reply_error(out, 400, "format must be csv or json");
    if (!dev || !dev[0])
        return api_reply_error(out, 400, "device=ID is required");
    if (end_day(e, to, &to_s) != 0 ||
        (from && caltime_parse_date(from, e->offset_min, &from_s) != ENMON_OK))
        return api_reply_error(out, 400, "from and to must be dates YYYY-MM-DD");
    if (!from)
        from_s = to_s;
    to_s += CALTIME_DAY_S;
    if (from_s >= to_s)
        return api_reply_error(out, 400, "from must not be after to");
    if ((to_s - from_s) / CALTIME_DAY_S > HISTORY_EXPORT_MAX_DAYS) {
        char why[64];
        snprintf(why, sizeof(why), "from..to spans more than %d days", HISTORY_EXPORT_MAX_DAYS);
        return api_reply_error(out, 400, why);
    }
    if (!known_id(e->cfg, HL_DEVICE, dev))
        return api_reply_error(out, 404, "no such device");
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char msg[256] = "";
    if (report_open(e->cfg->database, &db, msg, sizeof(msg)) != ENMON_OK)
        return api_reply_error(out, 503, msg);
    if (sqlite3_prepare_v2(db,
                           "SELECT start_s, wh_import, wh_export, samples FROM intervals WHERE "
                           "device_id = (SELECT id FROM devices WHERE key = ?3) AND start_s >= ?1 "
                           "AND start_s < ?2 ORDER BY start_s",
                           -1, &st, NULL) != SQLITE_OK) {
        snprintf(msg, sizeof(msg), "interval query: %s", sqlite3_errmsg(db));
        sqlite3_close(db);
        return api_reply_error(out, 500, msg);
    }
    sqlite3_bind_int64(st, 1, from_s);
    sqlite3_bind_int64(st, 2, to_s);
    sqlite3_bind_text(st, 3, dev, -1, SQLITE_STATIC);
    struct text t = {0};
    char line[512], a[40], b[40], dq[CFG_ID_MAX * 2 + 8];
    cJSON *s = cJSON_CreateString(dev);
    char *quoted = s ? cJSON_PrintUnformatted(s) : NULL; /* the id as a JSON string */
    cJSON_Delete(s);
    snprintf(dq, sizeof(dq), "%s", quoted ? quoted : "\"\"");
    free(quoted);
    if (csv)
        text_add(&t, "device,start,end,import_kwh,export_kwh,quality\r\n", 48);
    else
        text_add(&t, "[", 1);
    int rc, n = 0;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t start = sqlite3_column_int64(st, 0);
        double in = sqlite3_column_double(st, 1) / 1000.0,
               ex = sqlite3_column_double(st, 2) / 1000.0;
        /* an interval no reading fell in holds only energy spread over a gap: estimated */
        const char *q = sqlite3_column_int(st, 3) > 0 ? "actual" : "estimated";
        iso_local(start, e->offset_min, a, sizeof(a));
        iso_local(start + CALTIME_INTERVAL_S, e->offset_min, b, sizeof(b));
        int len =
            csv ? snprintf(line, sizeof(line), "%s,%s,%s,%.6f,%.6f,%s\r\n", dev, a, b, in, ex, q)
                : snprintf(line, sizeof(line),
                           "%s{\"device\":%s,\"start\":\"%s\",\"end\":\"%s\",\"start_ms\":"
                           "%lld,\"import_kwh\":%.6f,\"export_kwh\":%.6f,\"quality\":\"%s\"}",
                           n ? "," : "", dq, a, b, (long long)start * 1000, in, ex, q);
        if (len > 0 && (size_t)len < sizeof(line))
            text_add(&t, line, (size_t)len);
        n++;
    }
    sqlite3_finalize(st);
    sqlite3_close(db);
    if (!csv)
        text_add(&t, "]", 1);
    if (rc != SQLITE_DONE || t.failed) {
        free(t.p);
        return api_reply_error(out, 500, rc != SQLITE_DONE ? "interval query failed" : "out of memory");
    }
    out->status = 200;
    out->body = t.p;
    out->len = t.len;
    out->type = csv ? "text/csv; charset=utf-8" : "application/json";
    if (csv) {
        char safe[CFG_ID_MAX], d0[16], d1[16];
        file_safe(dev, safe, sizeof(safe));
        caltime_format_date(from_s, e->offset_min, d0, sizeof(d0));
        caltime_format_date(to_s - 1, e->offset_min, d1, sizeof(d1));
        snprintf(out->disposition, sizeof(out->disposition),
                 "attachment; filename=\"%s_%s_%s.csv\"", safe, d0, d1);
    }
    return 1;
}
