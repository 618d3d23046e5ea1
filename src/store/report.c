/* report.c -- read-only queries over the store's database: energy sums and device status. */
#include "report.h"
#include "caltime.h"
#include "db_open.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int report_fail(sqlite3 *db, const char *what, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return ENMON_ERR_DB;
}

int report_open(const char *path, sqlite3 **out, char *msg, size_t msglen)
{
    return db_open_readonly(path, out, msg, msglen);
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

/* True when [from_s, to_s) is whole local days of the zone the daily rollups
 * were built for (a schema 1 file has none). */
static int report_use_daily(sqlite3 *db, int64_t from_s, int64_t to_s)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'daily_offset_min'", -1, &st,
                           NULL) != SQLITE_OK)
        return 0;
    int ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER;
    int64_t off_s = ok ? (int64_t)sqlite3_column_int(st, 0) * CALTIME_MINUTE_S : 0;
    sqlite3_finalize(st);
    return ok && (from_s + off_s) % CALTIME_DAY_S == 0 && (to_s + off_s) % CALTIME_DAY_S == 0;
}

/* --by program from the per-program rollups (program_intervals, program_daily; schema 12):
 * the sums of a program's rows instead of its devices' rows, the devices with rows in the
 * period counted by one index probe per device. */
#define REPORT_ROLLUP_SQL(rollup, col, table, dcol)                                                \
    "SELECT p.key, p.name, p.key, NULL, p.kind, "                                                  \
    "(SELECT count(*) FROM devices d WHERE d.program_id = p.id AND EXISTS (SELECT 1 FROM " table   \
    " i WHERE i.device_id = d.id AND i." dcol " >= ?1 AND i." dcol " < ?2)), "                     \
    "COALESCE(r.wh_in, 0), COALESCE(r.wh_out, 0) FROM programs p LEFT JOIN ("                      \
    "SELECT program_id, SUM(wh_import) AS wh_in, SUM(wh_export) AS wh_out FROM " rollup            \
    " WHERE " col " >= ?1 AND " col " < ?2 GROUP BY program_id) r ON r.program_id = p.id "         \
    "ORDER BY p.key"

static const char *const rollup_sql[2] = {
    REPORT_ROLLUP_SQL("program_intervals", "start_s", "intervals", "start_s"),
    REPORT_ROLLUP_SQL("program_daily", "day_s", "daily", "day_s"),
};

/* True when the program rollups hold the period exactly: the file has them (schema 12),
 * every device is summed into its current program (program_rollup_map, which enmond brings
 * up to date at start), and retention took nothing from them at or after from_s (meta
 * rollup_*_from_s). ENMON_REPORT_ROLLUP=0 in the environment turns them off (tests compare
 * both paths). */
int report_use_rollup(sqlite3 *db, int daily, int64_t from_s)
{
    const char *env = getenv("ENMON_REPORT_ROLLUP");
    if (env && strcmp(env, "0") == 0)
        return 0;
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT NOT EXISTS (SELECT 1 FROM devices d LEFT JOIN "
                           "program_rollup_map m ON m.device_id = d.id WHERE m.device_id IS NULL "
                           "OR m.program_id IS NOT d.program_id) AND coalesce((SELECT value FROM "
                           "meta WHERE key = ?1), 0) <= ?2",
                           -1, &st, NULL) != SQLITE_OK)
        return 0;
    sqlite3_bind_text(st, 1, daily ? "rollup_daily_from_s" : "rollup_intervals_from_s", -1,
                      SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, from_s);
    int ok = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
    sqlite3_finalize(st);
    return ok;
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
    const char *sql = by == REPORT_BY_PROGRAM && report_use_rollup(db, daily, from_s)
                          ? rollup_sql[daily]
                          : energy_sql[daily][by];
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
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
