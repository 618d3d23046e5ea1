/* report_source.c -- where the CLI's reports read from: the SQLite file, or a PostgreSQL
 * historian's rows loaded into an in-memory database of the same schema. */
#include "report_source.h"
#include "caltime.h"
#include "db_open.h"
#include "err.h"
#include "store_schema.h"

#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int report_source_is_pg(const char *path)
{
    return path &&
           (strncmp(path, "postgresql://", 13) == 0 || strncmp(path, "postgres://", 11) == 0);
}

/* Staging tables of the in-memory database, filled from PostgreSQL, then spread into the
 * store's tables by key (the SQLite ids are made here; the reports order by key). */
static const char stage_sql[] =
    "CREATE TEMP TABLE pg_programs(key TEXT, name TEXT, kind TEXT);"
    "CREATE TEMP TABLE pg_sites(key TEXT, name TEXT, program TEXT);"
    "CREATE TEMP TABLE pg_devices(key TEXT, name TEXT, kind TEXT, program TEXT, site TEXT,"
    "  capacity_w REAL, last_ts_ms INTEGER, online INTEGER, last_error TEXT, polled INTEGER,"
    "  power_w REAL, energy_import_wh REAL, energy_export_wh REAL, welfare INTEGER,"
    "  commissioned INTEGER, retrofit INTEGER);"
    "CREATE TEMP TABLE pg_intervals(key TEXT, start_s INTEGER, wh_import REAL, wh_export REAL,"
    "  samples INTEGER);"
    "CREATE TEMP TABLE pg_sums(key TEXT, wh_import REAL, wh_export REAL);"
    "CREATE TEMP TABLE pg_alerts(id INTEGER, key TEXT, device TEXT, rule TEXT, cause TEXT,"
    "  severity TEXT, value REAL, first_seen_ms INTEGER, raised_ms INTEGER, cleared_ms INTEGER,"
    "  acked_by TEXT, acked_ms INTEGER, clear_value REAL, clear_cause TEXT);";

static const char spread_sql[] =
    "INSERT INTO programs(key, name, kind) SELECT key, name, kind FROM pg_programs ORDER BY key;"
    "INSERT INTO sites(key, name, program_id) SELECT s.key, s.name, p.id FROM pg_sites s"
    "  JOIN programs p ON p.key = s.program ORDER BY s.key;"
    "INSERT INTO devices(key, name, kind, capacity_w, program_id, site_id, welfare,"
    "  commissioned, retrofit) SELECT d.key, d.name, d.kind, d.capacity_w, p.id, s.id,"
    "  coalesce(d.welfare, 0), d.commissioned, d.retrofit FROM pg_devices d"
    "  LEFT JOIN programs p ON p.key = d.program LEFT JOIN sites s ON s.key = d.site"
    "  ORDER BY d.key;";

/* for `devices` only */
static const char spread_status_sql[] =
    /* a device never polled has no status row (online -1, 'unknown') */
    "INSERT INTO device_status(device_id, last_ts_ms, online, last_error)"
    "  SELECT d.id, g.last_ts_ms, g.online, g.last_error FROM pg_devices g"
    "  JOIN devices d ON d.key = g.key WHERE coalesce(g.polled, 1);"
    /* the last reading's power and counters (the historian keeps no other reading) */
    "INSERT INTO readings(device_id, ts_ms, quality, power_w, energy_import_wh,"
    "  energy_export_wh) SELECT d.id, coalesce(g.last_ts_ms, 0), 0, g.power_w,"
    "  g.energy_import_wh, g.energy_export_wh FROM pg_devices g JOIN devices d ON d.key = g.key"
    "  WHERE g.power_w IS NOT NULL OR g.energy_import_wh IS NOT NULL"
    "  OR g.energy_export_wh IS NOT NULL;";

/* for `alerts` only */
static const char spread_alerts_sql[] =
    "INSERT INTO alerts(id, key, device_id, rule, cause, severity, value, first_seen_ms,"
    "  raised_ms, cleared_ms, acked_by, acked_ms, clear_value, clear_cause)"
    "  SELECT a.id, a.key, d.id, a.rule, a.cause, a.severity, a.value, a.first_seen_ms,"
    "  a.raised_ms, a.cleared_ms, a.acked_by, a.acked_ms, a.clear_value, a.clear_cause"
    "  FROM pg_alerts a JOIN devices d ON d.key = a.device ORDER BY a.id;";

/* for `savings` only: the intervals savings may read */
static const char spread_intervals_sql[] =
    "INSERT INTO intervals(device_id, start_s, wh_import, wh_export, samples)"
    "  SELECT d.id, g.start_s, g.wh_import, g.wh_export, g.samples FROM pg_intervals g"
    "  JOIN devices d ON d.key = g.key;";

/* Column types of a staging table, in order: t text, i integer, d double. */
static const char programs_types[] = "ttt";
static const char devices_types[] = "tttttdiitidddiii";
static const char intervals_types[] = "tiddi";
static const char weather_types[] = "iid";
static const char dr_types[] = "itii";
static const char sums_types[] = "tdd";
static const char alerts_types[] = "itttttdiiitidt";

static const char devices_pg_sql[] =
    "SELECT device, name, kind, program, site, capacity_w,"
    " (extract(epoch FROM last_ts) * 1000)::bigint, online::int, last_error, polled::int,"
    " power_w, energy_import_wh, energy_export_wh, %s FROM enmon_devices";
/* the savings columns (an older historian, before enmond added them, lacks them: the other
 * commands do not read them) */
static const char devices_savings_cols[] =
    "welfare::int, extract(epoch FROM commissioned)::bigint, extract(epoch FROM retrofit)::bigint";

/* the collector's event ids while they are unique (one collector), else numbered by start */
static const char dr_pg_sql[] =
    "SELECT CASE WHEN (SELECT count(DISTINCT local_id) = count(*) FROM enmon_dr_events)"
    " THEN local_id ELSE row_number() OVER (ORDER BY start, site) END, site,"
    " extract(epoch FROM start)::bigint, extract(epoch FROM stop)::bigint FROM enmon_dr_events";

/* the collector's alert ids while they are unique (one collector), else numbered in the
 * order raised; times as epoch ms */
static const char alerts_pg_sql[] =
    "SELECT CASE WHEN (SELECT count(DISTINCT local_id) = count(*) FROM enmon_alerts)"
    " THEN local_id ELSE row_number() OVER (ORDER BY raised, device, key) END, key, device,"
    " rule, cause, severity, value, (extract(epoch FROM first_seen) * 1000)::bigint,"
    " (extract(epoch FROM raised) * 1000)::bigint, (extract(epoch FROM cleared) * 1000)::bigint,"
    " acked_by, (extract(epoch FROM acked) * 1000)::bigint, clear_value, clear_cause"
    " FROM enmon_alerts";

static int pg_fail(PGconn *pg, const char *what, char *msg, size_t msglen)
{
    const char *e = pg ? PQerrorMessage(pg) : "out of memory";
    size_t n = strlen(e);
    while (n > 0 && (e[n - 1] == '\n' || e[n - 1] == ' '))
        n--;
    snprintf(msg, msglen, "%s: %.*s", what, (int)n, e);
    return ENMON_ERR_DB;
}

static int sq_fail(sqlite3 *db, const char *what, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return ENMON_ERR_DB;
}

/* Runs pgsql (params as text) and inserts every row into the staging table `table` of db,
 * column c as types[c]. */
static int pg_stage(PGconn *pg, const char *pgsql, int nparams, const char *const *params,
                    sqlite3 *db, const char *table, const char *types, char *msg, size_t msglen)
{
    int ncols = (int)strlen(types);
    char ins[256];
    int n = snprintf(ins, sizeof(ins), "INSERT INTO %s VALUES (", table);
    for (int c = 0; c < ncols; c++)
        n += snprintf(ins + n, sizeof(ins) - (size_t)n, c ? ", ?" : "?");
    snprintf(ins + n, sizeof(ins) - (size_t)n, ")");
    PGresult *r = PQexecParams(pg, pgsql, nparams, NULL, params, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQnfields(r) != ncols) {
        PQclear(r);
        return pg_fail(pg, table, msg, msglen);
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, ins, -1, &st, NULL) != SQLITE_OK) {
        PQclear(r);
        return sq_fail(db, table, msg, msglen);
    }
    int rc = ENMON_OK;
    for (int row = 0; row < PQntuples(r) && rc == ENMON_OK; row++) {
        for (int c = 0; c < ncols; c++) {
            const char *v = PQgetvalue(r, row, c);
            if (PQgetisnull(r, row, c))
                sqlite3_bind_null(st, c + 1);
            else if (types[c] == 'i')
                sqlite3_bind_int64(st, c + 1, strtoll(v, NULL, 10));
            else if (types[c] == 'd') /* PostgreSQL prints the shortest exact form */
                sqlite3_bind_double(st, c + 1, strtod(v, NULL));
            else
                sqlite3_bind_text(st, c + 1, v, -1, SQLITE_STATIC);
        }
        if (sqlite3_step(st) != SQLITE_DONE)
            rc = sq_fail(db, table, msg, msglen);
        sqlite3_reset(st);
    }
    sqlite3_finalize(st);
    PQclear(r);
    return rc;
}

/* "YYYY-MM-DD HH:MM:SS+00": a constant the planner prunes partitions with. */
static void pg_time(int64_t ts_s, char *buf, size_t len)
{
    char date[16];
    caltime_format_date(ts_s, 0, date, sizeof(date));
    int64_t sod = ts_s - caltime_day_start(ts_s, 0);
    snprintf(buf, len, "%s %02d:%02d:%02d+00", date, (int)(sod / 3600), (int)(sod / 60 % 60),
             (int)(sod % 60));
}

/* The period's sums per device, and the zone of the daily rows into meta. */
static int pg_energy(PGconn *pg, sqlite3 *db, int64_t from_s, int64_t to_s, char *msg,
                     size_t msglen)
{
    PGresult *r = PQexec(pg, "SELECT value::int FROM enmon_meta WHERE key = 'daily_offset_min'");
    if (PQresultStatus(r) != PGRES_TUPLES_OK) {
        PQclear(r);
        return pg_fail(pg, "enmon_meta", msg, msglen);
    }
    int has_off = PQntuples(r) == 1 && !PQgetisnull(r, 0, 0);
    int64_t off_min = has_off ? strtoll(PQgetvalue(r, 0, 0), NULL, 10) : 0;
    PQclear(r);
    int daily = 0;
    if (has_off) {
        char sql[96];
        snprintf(sql, sizeof(sql), "INSERT INTO meta(key, value) VALUES ('daily_offset_min', %lld)",
                 (long long)off_min);
        if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
            return sq_fail(db, "meta", msg, msglen);
        int64_t off_s = off_min * CALTIME_MINUTE_S; /* report.c's choice, made the same way */
        daily = (from_s + off_s) % CALTIME_DAY_S == 0 && (to_s + off_s) % CALTIME_DAY_S == 0;
    }
    /* whole local months inside the period from the monthly rollups, the days at its ends
     * from the daily rows */
    int64_t m0 = caltime_month_start(from_s, (int)off_min),
            m1 = caltime_month_start(to_s, (int)off_min);
    if (m0 < from_s)
        m0 = caltime_month_end(from_s, (int)off_min);
    int monthly = daily && m0 < m1;
    if (monthly) {
        r = PQexec(pg, "SELECT to_regclass('enmon_monthly') IS NOT NULL");
        monthly = PQresultStatus(r) == PGRES_TUPLES_OK && PQntuples(r) == 1 &&
                  strcmp(PQgetvalue(r, 0, 0), "t") == 0;
        PQclear(r);
    }
    char a[40], b[40], c[40], d[40];
    pg_time(from_s, a, sizeof(a));
    pg_time(to_s, b, sizeof(b));
    pg_time(monthly ? m0 : from_s, c, sizeof(c));
    pg_time(monthly ? m1 : from_s, d, sizeof(d));
    const char *params[4] = {a, b, c, d};
    int rc = pg_stage(pg,
                      monthly ? "SELECT device, sum(i), sum(e) FROM (SELECT device, wh_import i,"
                                " wh_export e FROM enmon_monthly WHERE start >= $3::timestamptz"
                                " AND start < $4::timestamptz UNION ALL SELECT device, wh_import,"
                                " wh_export FROM enmon_daily WHERE start >= $1::timestamptz AND"
                                " start < $3::timestamptz UNION ALL SELECT device, wh_import,"
                                " wh_export FROM enmon_daily WHERE start >= $4::timestamptz AND"
                                " start < $2::timestamptz) x GROUP BY device"
                      : daily ? "SELECT device, sum(wh_import), sum(wh_export) FROM enmon_daily"
                                " WHERE start >= $1::timestamptz AND start < $2::timestamptz"
                                " GROUP BY device"
                              : "SELECT device, sum(wh_import), sum(wh_export) FROM"
                                " enmon_intervals WHERE start >= $1::timestamptz AND start <"
                                " $2::timestamptz GROUP BY device",
                      monthly ? 4 : 2, params, db, "pg_sums", sums_types, msg, msglen);
    if (rc != ENMON_OK)
        return rc;
    char sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO %s(device_id, %s, wh_import, wh_export, samples) SELECT d.id, %lld,"
             " s.wh_import, s.wh_export, 0 FROM pg_sums s JOIN devices d ON d.key = s.key",
             daily ? "daily" : "intervals", daily ? "day_s" : "start_s", (long long)from_s);
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? ENMON_OK
                                                                : sq_fail(db, "sums", msg, msglen);
}

/* What savings reads: every interval of [lo, to_s + 2 days), lo the earlier of from_s and the
 * earliest commissioning or retrofit date less lookback_s (on the partitioning column:
 * pruned), the weather of that span and every demand-response event. A superset of the rows
 * savings_report.c's queries read (each is bounded in time), so they read the same rows. */
static int pg_savings(PGconn *pg, sqlite3 *db, int64_t from_s, int64_t to_s, int64_t lookback_s,
                      char *msg, size_t msglen)
{
    PGresult *r = PQexec(pg, "SELECT extract(epoch FROM min(least(commissioned, retrofit)))"
                             "::bigint FROM enmon_devices");
    if (PQresultStatus(r) != PGRES_TUPLES_OK || PQntuples(r) != 1) {
        PQclear(r);
        return pg_fail(pg, "enmon_devices", msg, msglen);
    }
    int64_t lo = from_s;
    if (!PQgetisnull(r, 0, 0)) {
        int64_t first = strtoll(PQgetvalue(r, 0, 0), NULL, 10) - lookback_s;
        lo = first < lo ? first : lo;
    }
    PQclear(r);
    lo = lo > 0 ? lo : 0;
    char a[40], b[40];
    pg_time(lo, a, sizeof(a));
    pg_time(to_s + 2 * CALTIME_DAY_S, b, sizeof(b));
    const char *params[2] = {a, b};
    int rc = pg_stage(pg,
                      "SELECT device, extract(epoch FROM start)::bigint, wh_import, wh_export,"
                      " samples FROM enmon_intervals WHERE start >= $1::timestamptz AND start <"
                      " $2::timestamptz",
                      2, params, db, "pg_intervals", intervals_types, msg, msglen);
    if (rc == ENMON_OK && sqlite3_exec(db, spread_intervals_sql, NULL, NULL, NULL) != SQLITE_OK)
        rc = sq_fail(db, "intervals", msg, msglen);
    if (rc == ENMON_OK)
        rc = pg_stage(pg,
                      "SELECT station, extract(epoch FROM ts)::bigint, temp_c FROM enmon_weather"
                      " WHERE ts >= $1::timestamptz AND ts < $2::timestamptz",
                      2, params, db, "weather", weather_types, msg, msglen);
    if (rc == ENMON_OK)
        rc = pg_stage(pg, dr_pg_sql, 0, NULL, db, "dr_events", dr_types, msg, msglen);
    return rc;
}

static int pg_load(PGconn *pg, sqlite3 *db, enum report_need need, int64_t from_s, int64_t to_s,
                   int64_t lookback_s, char *msg, size_t msglen)
{
    if (sqlite3_exec(db, stage_sql, NULL, NULL, NULL) != SQLITE_OK)
        return sq_fail(db, "staging", msg, msglen);
    /* one snapshot of the historian for all of it */
    PGresult *r = PQexec(pg, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK;
    PQclear(r);
    if (!ok)
        return pg_fail(pg, "begin", msg, msglen);
    int rc = pg_stage(pg, "SELECT program, name, kind FROM enmon_programs", 0, NULL, db,
                      "pg_programs", programs_types, msg, msglen);
    if (rc == ENMON_OK)
        rc = pg_stage(pg, "SELECT site, name, program FROM enmon_sites", 0, NULL, db, "pg_sites",
                      programs_types, msg, msglen);
    char devices_sql[512];
    snprintf(devices_sql, sizeof(devices_sql), devices_pg_sql,
             need == REPORT_NEED_SAVINGS ? devices_savings_cols : "NULL, NULL, NULL");
    if (rc == ENMON_OK)
        rc = pg_stage(pg, devices_sql, 0, NULL, db, "pg_devices", devices_types, msg, msglen);
    if (rc == ENMON_OK && need == REPORT_NEED_ALERTS)
        rc = pg_stage(pg, alerts_pg_sql, 0, NULL, db, "pg_alerts", alerts_types, msg, msglen);
    const char *spread[3] = {spread_sql,
                             need == REPORT_NEED_DEVICES  ? spread_status_sql
                             : need == REPORT_NEED_ALERTS ? spread_alerts_sql
                                                          : NULL,
                             NULL};
    for (int i = 0; rc == ENMON_OK && spread[i]; i++)
        if (sqlite3_exec(db, spread[i], NULL, NULL, NULL) != SQLITE_OK)
            rc = sq_fail(db, "load", msg, msglen);
    if (rc == ENMON_OK && need == REPORT_NEED_ENERGY)
        rc = pg_energy(pg, db, from_s, to_s, msg, msglen);
    if (rc == ENMON_OK && need == REPORT_NEED_SAVINGS)
        rc = pg_savings(pg, db, from_s, to_s, lookback_s, msg, msglen);
    PQclear(PQexec(pg, "COMMIT"));
    return rc;
}

static int pg_open(const char *url, enum report_need need, int64_t from_s, int64_t to_s,
                   int64_t lookback_s, sqlite3 **out, char *msg, size_t msglen)
{
    *out = NULL;
    PGconn *pg = PQconnectdb(url);
    if (!pg || PQstatus(pg) != CONNECTION_OK) {
        int rc = pg_fail(pg, "historian", msg, msglen);
        PQfinish(pg);
        return rc;
    }
    sqlite3 *db = NULL;
    int rc = ENMON_OK;
    if (sqlite3_open(":memory:", &db) != SQLITE_OK)
        rc = sq_fail(db, "in-memory database", msg, msglen);
    if (rc == ENMON_OK)
        rc = store_schema_migrate(db, msg, msglen);
    if (rc == ENMON_OK && sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        rc = sq_fail(db, "begin", msg, msglen);
    if (rc == ENMON_OK)
        rc = pg_load(pg, db, need, from_s, to_s, lookback_s, msg, msglen);
    if (rc == ENMON_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = sq_fail(db, "commit", msg, msglen);
    PQfinish(pg);
    if (rc != ENMON_OK) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return ENMON_OK;
}

int report_source_open(const char *path, enum report_need need, int64_t from_s, int64_t to_s,
                       sqlite3 **out, char *msg, size_t msglen)
{
    if (report_source_is_pg(path))
        return pg_open(path, need, from_s, to_s, 0, out, msg, msglen);
    return db_open_readonly(path, out, msg, msglen);
}

int report_source_open_savings(const char *url, int64_t from_s, int64_t to_s, int64_t lookback_s,
                               sqlite3 **out, char *msg, size_t msglen)
{
    return pg_open(url, REPORT_NEED_SAVINGS, from_s, to_s, lookback_s, out, msg, msglen);
}
