/* report.c -- read-only queries over the store's database (energy sums, device status) and their
 * date helpers. */
#include "report.h"
#include "err.h"
#include "store_schema.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REPORT_BUSY_TIMEOUT_MS 2000

static int report_fail(sqlite3 *db, const char *what, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return ENMON_ERR_DB;
}

static int report_check_version(sqlite3 *db, const char *path, char *msg, size_t msglen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return report_fail(db, path, msg, msglen);
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version < 0)
        return report_fail(db, path, msg, msglen);
    if (version == 0) {
        snprintf(msg, msglen, "%s: not an enmon database (no schema)", path);
        return ENMON_ERR_DB;
    }
    if (version > STORE_SCHEMA_VERSION) {
        snprintf(msg, msglen, "%s: schema version %d is newer than this build's (%d)", path,
                 version, STORE_SCHEMA_VERSION);
        return ENMON_ERR_DB;
    }
    return ENMON_OK;
}

int report_open(const char *path, sqlite3 **out, char *msg, size_t msglen)
{
    *out = NULL;
    sqlite3 *db = NULL;
    int rc = sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY, NULL);
    if (rc != SQLITE_OK) {
        rc = report_fail(db, path, msg, msglen);
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, REPORT_BUSY_TIMEOUT_MS);
    rc = report_check_version(db, path, msg, msglen);
    if (rc != ENMON_OK) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return ENMON_OK;
}

/* ---- energy ---------------------------------------------------------------- */

#define REPORT_SUMS                                                                                \
    "COUNT(DISTINCT i.device_id), COALESCE(SUM(i.wh_import), 0), COALESCE(SUM(i.wh_export), 0) "
/* The period's energy comes from the daily rollups when it is made of whole
 * local days of the zone they were built for, else from the 15-minute intervals. */
#define REPORT_JOIN(table, col)                                                                    \
    "LEFT JOIN " table " i ON i.device_id = d.id AND i." col " >= ?1 AND i." col " < ?2 "
#define REPORT_ENERGY_SQL(join)                                                                    \
    {                                                                                              \
        [REPORT_BY_PROGRAM] = "SELECT p.key, p.name, p.key, NULL, p.kind, " REPORT_SUMS            \
                              "FROM programs p LEFT JOIN devices d ON d.program_id = p.id " join   \
                              "GROUP BY p.id ORDER BY p.key",                                      \
        [REPORT_BY_SITE] =                                                                         \
            "SELECT s.key, s.name, p.key, s.key, p.kind, " REPORT_SUMS                             \
            "FROM sites s LEFT JOIN programs p ON p.id = s.program_id "                            \
            "LEFT JOIN devices d ON d.site_id = s.id " join "GROUP BY s.id ORDER BY p.key, s.key", \
        [REPORT_BY_DEVICE] = "SELECT d.key, d.name, p.key, s.key, d.kind, " REPORT_SUMS            \
                             "FROM devices d LEFT JOIN programs p ON p.id = d.program_id "         \
                             "LEFT JOIN sites s ON s.id = d.site_id " join                         \
                             "GROUP BY d.id ORDER BY p.key, s.key, d.key",                         \
    }

static const char *const energy_sql[2][3] = {
    REPORT_ENERGY_SQL(REPORT_JOIN("intervals", "start_s")),
    REPORT_ENERGY_SQL(REPORT_JOIN("daily", "day_s")),
};

#define REPORT_DAY_S 86400

/* True when [from_s, to_s) is whole local days of the zone the daily rollups
 * were built for (a schema 1 file has none). */
static int report_use_daily(sqlite3 *db, int64_t from_s, int64_t to_s)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'daily_offset_min'", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;
    int ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER;
    int64_t off_s = ok ? (int64_t)sqlite3_column_int(st, 0) * 60 : 0;
    sqlite3_finalize(st);
    return ok && (from_s + off_s) % REPORT_DAY_S == 0 && (to_s + off_s) % REPORT_DAY_S == 0;
}

static const char *report_text(sqlite3_stmt *st, int col)
{
    return (const char *)sqlite3_column_text(st, col);
}

static void report_energy_row(sqlite3_stmt *st, struct report_energy_row *row)
{
    row->key = report_text(st, 0);
    row->name = report_text(st, 1);
    row->program = report_text(st, 2);
    row->site = report_text(st, 3);
    row->kind = report_text(st, 4);
    row->devices = sqlite3_column_int(st, 5);
    row->wh_import = sqlite3_column_double(st, 6);
    row->wh_export = sqlite3_column_double(st, 7);
}

int report_energy(sqlite3 *db, int64_t from_s, int64_t to_s, enum report_group by,
                  report_energy_fn fn, void *arg, char *msg, size_t msglen)
{
    if ((unsigned)by > REPORT_BY_DEVICE) {
        snprintf(msg, msglen, "unknown grouping");
        return ENMON_ERR_DB;
    }
    sqlite3_stmt *st = NULL;
    int daily = report_use_daily(db, from_s, to_s);
    if (sqlite3_prepare_v2(db, energy_sql[daily][by], -1, &st, NULL) != SQLITE_OK)
        return report_fail(db, "energy query", msg, msglen);
    sqlite3_bind_int64(st, 1, from_s);
    sqlite3_bind_int64(st, 2, to_s);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct report_energy_row row;
        report_energy_row(st, &row);
        if (fn(&row, arg) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    int ret = rc == SQLITE_DONE ? ENMON_OK : report_fail(db, "energy query", msg, msglen);
    sqlite3_finalize(st);
    return ret;
}

/* ---- devices --------------------------------------------------------------- */

static const char devices_sql[] =
    "SELECT d.key, d.name, p.key, s.key, d.kind, st.online, st.last_ts_ms, st.last_error, "
    "r.power_w, r.energy_import_wh, r.energy_export_wh "
    "FROM devices d LEFT JOIN programs p ON p.id = d.program_id "
    "LEFT JOIN sites s ON s.id = d.site_id "
    "LEFT JOIN device_status st ON st.device_id = d.id "
    "LEFT JOIN readings r ON r.rowid = (SELECT rowid FROM readings "
    "  WHERE device_id = d.id ORDER BY ts_ms DESC LIMIT 1) "
    "ORDER BY p.key, s.key, d.key";

static int report_opt_double(sqlite3_stmt *st, int col, double *out)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        return 0;
    *out = sqlite3_column_double(st, col);
    return 1;
}

static void report_device_row(sqlite3_stmt *st, struct report_device_row *row)
{
    *row = (struct report_device_row){0};
    row->key = report_text(st, 0);
    row->name = report_text(st, 1);
    row->program = report_text(st, 2);
    row->site = report_text(st, 3);
    row->kind = report_text(st, 4);
    row->online = sqlite3_column_type(st, 5) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 5);
    row->last_ts_ms = sqlite3_column_int64(st, 6);
    row->last_error = report_text(st, 7);
    row->has_power = report_opt_double(st, 8, &row->power_w);
    row->has_import = report_opt_double(st, 9, &row->energy_import_wh);
    row->has_export = report_opt_double(st, 10, &row->energy_export_wh);
}

int report_devices(sqlite3 *db, report_device_fn fn, void *arg, char *msg, size_t msglen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, devices_sql, -1, &st, NULL) != SQLITE_OK)
        return report_fail(db, "devices query", msg, msglen);
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        struct report_device_row row;
        report_device_row(st, &row);
        if (fn(&row, arg) != 0) {
            rc = SQLITE_DONE;
            break;
        }
    }
    int ret = rc == SQLITE_DONE ? ENMON_OK : report_fail(db, "devices query", msg, msglen);
    sqlite3_finalize(st);
    return ret;
}

/* ---- pure helpers ----------------------------------------------------------- */

int report_parse_group(const char *s, enum report_group *out)
{
    static const char *const names[] = {"program", "site", "device"};
    for (int i = 0; i < 3; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum report_group)i;
            return ENMON_OK;
        }
    }
    return ENMON_ERR_PARSE;
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static int64_t report_days_from_civil(int64_t y, int m, int d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static void report_civil_from_days(int64_t z, int *y, int *m, int *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *d = (int)(doy - (153 * mp + 2) / 5 + 1);
    *m = (int)(mp < 10 ? mp + 3 : mp - 9);
    *y = (int)(yoe + era * 400 + (*m <= 2));
}

static int report_days_in_month(int y, int m)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 && leap ? 29 : days[m - 1];
}

/* Reads exactly n digits. */
static int report_digits(const char *s, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if (!isdigit((unsigned char)s[i]))
            return -1;
        v = v * 10 + (s[i] - '0');
    }
    *out = v;
    return 0;
}

int report_parse_date(const char *s, int offset_min, int64_t *out_s)
{
    int y, m, d;
    if (strlen(s) != 10 || s[4] != '-' || s[7] != '-' || report_digits(s, 4, &y) ||
        report_digits(s + 5, 2, &m) || report_digits(s + 8, 2, &d))
        return ENMON_ERR_PARSE;
    if (y < 1970 || m < 1 || m > 12 || d < 1 || d > report_days_in_month(y, m))
        return ENMON_ERR_PARSE;
    *out_s = report_days_from_civil(y, m, d) * 86400 - (int64_t)offset_min * 60;
    return ENMON_OK;
}

static void report_split_local(int64_t ts_s, int offset_min, int64_t *days, int64_t *sec)
{
    int64_t local = ts_s + (int64_t)offset_min * 60;
    *days = local / 86400;
    *sec = local % 86400;
    if (*sec < 0) {
        *sec += 86400;
        (*days)--;
    }
}

void report_format_date(int64_t ts_s, int offset_min, char *buf, size_t len)
{
    int64_t days, sec;
    int y, m, d;
    report_split_local(ts_s, offset_min, &days, &sec);
    report_civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%04d-%02d-%02d", y, m, d);
}

void report_format_time(int64_t ts_s, int offset_min, char *buf, size_t len)
{
    int64_t days, sec;
    int y, m, d;
    report_split_local(ts_s, offset_min, &days, &sec);
    report_civil_from_days(days, &y, &m, &d);
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d", y, m, d, (int)(sec / 3600),
             (int)(sec / 60 % 60), (int)(sec % 60));
}

void report_format_offset(int offset_min, char *buf, size_t len)
{
    int a = offset_min < 0 ? -offset_min : offset_min;
    snprintf(buf, len, "%c%02d:%02d", offset_min < 0 ? '-' : '+', a / 60, a % 60);
}

/* "+09:00", "+0900", "+09", "+9" (sign required). */
static int report_parse_offset(const char *s, int *offset_min)
{
    int sign = s[0] == '-' ? -1 : 1;
    int h = 0, mi = 0;
    const char *p = s + 1;
    size_t n = strlen(p);
    if (n == 1 || n == 2) {
        if (report_digits(p, (int)n, &h))
            return ENMON_ERR_PARSE;
    } else if ((n == 5 && p[2] == ':') || n == 4) {
        if (report_digits(p, 2, &h) || report_digits(p + n - 2, 2, &mi))
            return ENMON_ERR_PARSE;
    } else {
        return ENMON_ERR_PARSE;
    }
    if (h > 14 || mi > 59)
        return ENMON_ERR_PARSE;
    *offset_min = sign * (h * 60 + mi);
    return ENMON_OK;
}

int report_parse_tz(const char *s, int *offset_min)
{
    static const struct {
        const char *name;
        int offset_min;
    } zones[] = {
        {"UTC", 0},          {"Z", 0},     {"GMT", 0},          {"Etc/UTC", 0},
        {"Asia/Seoul", 540}, {"ROK", 540}, {"Asia/Tokyo", 540}, {"Asia/Shanghai", 480},
    };
    if (s[0] == '+' || s[0] == '-')
        return report_parse_offset(s, offset_min);
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        if (strcmp(s, zones[i].name) == 0) {
            *offset_min = zones[i].offset_min;
            return ENMON_OK;
        }
    }
    return ENMON_ERR_NOT_FOUND;
}
