/* hist_pass.c -- one forwarding pass: what is new in SQLite, COPY'd and upserted to PostgreSQL. */
#include "hist_pass.h"
#include "caltime.h"
#include "copy_text.h"
#include "err.h"
#include "historian.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_ROW_MAX 4096 /* one COPY row; longer text fields are cut by the encoder's check */
#define HIST_LOCK_KEY "7346001" /* pg_advisory_xact_lock key of schema and partition DDL */
#define INTERVAL_S 900
#define DAY_S 86400
#define HIST_META_OFFSET                                                                           \
    "coalesce((SELECT value::int FROM enmon_meta WHERE key = 'daily_offset_min'), 0)"
/* The local month start (timestamptz) of timestamptz t in a zone off minutes east of UTC. */
#define HIST_LOCAL_MONTH(t, off)                                                                   \
    "((date_trunc('month', (" t " AT TIME ZONE 'UTC') + make_interval(mins => " off "))"           \
    " - make_interval(mins => " off ")) AT TIME ZONE 'UTC')"
#define HIST_MONTH_OF_DAILY HIST_LOCAL_MONTH("start", HIST_META_OFFSET)
#define HIST_MONTH_OF_STAGED HIST_LOCAL_MONTH("h.start", "%s") /* the zone: snprintf */

/* Device identity in PostgreSQL is devices.key, unique across the deployment; the SQLite
 * ids never leave the collector. */
static const char *const schema_sql =
    "CREATE TABLE IF NOT EXISTS enmon_devices("
    "  device text PRIMARY KEY, name text NOT NULL, kind text NOT NULL, program text,"
    "  site text, capacity_w double precision, last_ts timestamptz, online boolean NOT NULL,"
    "  last_error text);"
    "CREATE TABLE IF NOT EXISTS enmon_intervals("
    "  device text NOT NULL, start timestamptz NOT NULL, wh_import double precision NOT NULL,"
    "  wh_export double precision NOT NULL, samples integer NOT NULL,"
    "  PRIMARY KEY (device, start)) PARTITION BY RANGE (start);"
    "CREATE TABLE IF NOT EXISTS enmon_daily("
    "  device text NOT NULL, start timestamptz NOT NULL, wh_import double precision NOT NULL,"
    "  wh_export double precision NOT NULL, samples integer NOT NULL,"
    "  PRIMARY KEY (device, start)) PARTITION BY RANGE (start);"
    "CREATE TABLE IF NOT EXISTS enmon_alerts("
    "  device text NOT NULL, key text NOT NULL, rule text NOT NULL, cause text NOT NULL,"
    "  severity text NOT NULL, value double precision, first_seen timestamptz NOT NULL,"
    "  raised timestamptz NOT NULL, cleared timestamptz, acked_by text, acked timestamptz,"
    "  clear_value double precision, clear_cause text, PRIMARY KEY (device, key, raised));"
    "CREATE TABLE IF NOT EXISTS enmon_meta(key text PRIMARY KEY, value text NOT NULL);"
    "INSERT INTO enmon_meta VALUES ('schema_version', '1') ON CONFLICT (key) DO NOTHING;"
    /* what `enmon report|devices|alerts --db postgresql://` needs besides (report_source.c):
     * programs and sites (a report lists them even without devices), whether a device was
     * ever polled and its last reading's power and counters, the collector's alert ids */
    "CREATE TABLE IF NOT EXISTS enmon_programs(program text PRIMARY KEY, name text NOT NULL,"
    "  kind text NOT NULL);"
    "CREATE TABLE IF NOT EXISTS enmon_sites(site text PRIMARY KEY, name text NOT NULL,"
    "  program text);"
    "ALTER TABLE enmon_devices ADD COLUMN IF NOT EXISTS polled boolean,"
    "  ADD COLUMN IF NOT EXISTS power_w double precision,"
    "  ADD COLUMN IF NOT EXISTS energy_import_wh double precision,"
    "  ADD COLUMN IF NOT EXISTS energy_export_wh double precision;"
    "ALTER TABLE enmon_alerts ADD COLUMN IF NOT EXISTS local_id bigint;"
    /* what `enmon savings --db postgresql://` needs besides (report_source.c): the devices'
     * welfare flag, commissioning and retrofit dates, the hourly weather per KMA station and
     * the demand-response events of `enmon dr add` (with the collector's ids) */
    "ALTER TABLE enmon_devices ADD COLUMN IF NOT EXISTS welfare boolean,"
    "  ADD COLUMN IF NOT EXISTS commissioned timestamptz,"
    "  ADD COLUMN IF NOT EXISTS retrofit timestamptz;"
    "CREATE TABLE IF NOT EXISTS enmon_weather(station integer NOT NULL,"
    "  ts timestamptz NOT NULL, temp_c double precision, PRIMARY KEY (station, ts));"
    "CREATE TABLE IF NOT EXISTS enmon_dr_events(site text NOT NULL, start timestamptz NOT NULL,"
    "  stop timestamptz NOT NULL, local_id bigint, PRIMARY KEY (site, start));"
    /* per device and local month (the daily rows' zone) the sums of its daily rows, kept by
     * every pass from the differences it makes (a replay adds 0): a year report sums 12 rows
     * per device instead of 365; filled from enmon_daily when created on an existing one */
    "DO $$ BEGIN IF to_regclass('enmon_monthly') IS NULL THEN"
    "  CREATE TABLE enmon_monthly(device text NOT NULL, start timestamptz NOT NULL,"
    "    wh_import double precision NOT NULL, wh_export double precision NOT NULL,"
    "    samples bigint NOT NULL, PRIMARY KEY (device, start));"
    "  INSERT INTO enmon_monthly SELECT device, " HIST_MONTH_OF_DAILY ", sum(wh_import),"
    "  sum(wh_export), sum(samples) FROM enmon_daily GROUP BY 1, 2;"
    "END IF; END $$;";

/* Staging tables of one session, emptied at every COMMIT. */
static const char *const temp_sql =
    "CREATE TEMP TABLE IF NOT EXISTS hist_intervals(device text, start timestamptz,"
    "  wh_import float8, wh_export float8, samples int) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS hist_daily(device text, start timestamptz,"
    "  wh_import float8, wh_export float8, samples int) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS hist_alerts(device text, key text, rule text, cause text,"
    "  severity text, value float8, first_seen timestamptz, raised timestamptz,"
    "  cleared timestamptz, acked_by text, acked timestamptz, clear_value float8,"
    "  clear_cause text, local_id bigint) ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS hist_devices(device text, name text, kind text,"
    "  program text, site text, capacity_w float8, last_ts timestamptz, online boolean,"
    "  last_error text, polled boolean, power_w float8, energy_import_wh float8,"
    "  energy_export_wh float8, welfare boolean, commissioned timestamptz, retrofit timestamptz)"
    "  ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS hist_programs(program text, name text, kind text)"
    "  ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS hist_sites(site text, name text, program text)"
    "  ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS hist_weather(station int, ts timestamptz, temp_c float8)"
    "  ON COMMIT DELETE ROWS;"
    "CREATE TEMP TABLE IF NOT EXISTS hist_dr_events(site text, start timestamptz,"
    "  stop timestamptz, local_id bigint) ON COMMIT DELETE ROWS;";

/* A replay rewrites a row only when it differs (no dead tuples for what is already there). */
#define UPSERT_SUM(T)                                                                              \
    "INSERT INTO enmon_" T " SELECT * FROM hist_" T " ON CONFLICT (device, start) DO UPDATE SET"   \
    "  wh_import = EXCLUDED.wh_import, wh_export = EXCLUDED.wh_export,"                            \
    "  samples = EXCLUDED.samples WHERE (enmon_" T ".wh_import, enmon_" T ".wh_export,"            \
    "  enmon_" T ".samples) IS DISTINCT FROM (EXCLUDED.wh_import, EXCLUDED.wh_export,"             \
    "  EXCLUDED.samples)"

static const char *const upsert_alerts =
    "INSERT INTO enmon_alerts SELECT * FROM hist_alerts ON CONFLICT (device, key, raised) DO "
    "UPDATE SET cleared = EXCLUDED.cleared, acked_by = EXCLUDED.acked_by, acked = EXCLUDED.acked,"
    "  value = EXCLUDED.value, clear_value = EXCLUDED.clear_value,"
    "  clear_cause = EXCLUDED.clear_cause, local_id = EXCLUDED.local_id"
    "  WHERE (enmon_alerts.cleared, enmon_alerts.acked_by,"
    "  enmon_alerts.acked, enmon_alerts.clear_value, enmon_alerts.clear_cause) IS DISTINCT FROM"
    "  (EXCLUDED.cleared, EXCLUDED.acked_by, EXCLUDED.acked, EXCLUDED.clear_value,"
    "  EXCLUDED.clear_cause) OR enmon_alerts.local_id IS DISTINCT FROM EXCLUDED.local_id";

static const char *const upsert_devices =
    "INSERT INTO enmon_devices SELECT * FROM hist_devices ON CONFLICT (device) DO UPDATE SET"
    "  name = EXCLUDED.name, kind = EXCLUDED.kind, program = EXCLUDED.program,"
    "  site = EXCLUDED.site, capacity_w = EXCLUDED.capacity_w, last_ts = EXCLUDED.last_ts,"
    "  online = EXCLUDED.online, last_error = EXCLUDED.last_error, polled = EXCLUDED.polled,"
    "  power_w = EXCLUDED.power_w, energy_import_wh = EXCLUDED.energy_import_wh,"
    "  energy_export_wh = EXCLUDED.energy_export_wh, welfare = EXCLUDED.welfare,"
    "  commissioned = EXCLUDED.commissioned, retrofit = EXCLUDED.retrofit"
    "  WHERE (enmon_devices.name,"
    "  enmon_devices.kind, enmon_devices.program, enmon_devices.site, enmon_devices.capacity_w,"
    "  enmon_devices.last_ts, enmon_devices.online, enmon_devices.last_error,"
    "  enmon_devices.polled, enmon_devices.power_w, enmon_devices.energy_import_wh,"
    "  enmon_devices.energy_export_wh, enmon_devices.welfare, enmon_devices.commissioned,"
    "  enmon_devices.retrofit) IS DISTINCT FROM"
    "  (EXCLUDED.name, EXCLUDED.kind, EXCLUDED.program, EXCLUDED.site, EXCLUDED.capacity_w,"
    "  EXCLUDED.last_ts, EXCLUDED.online, EXCLUDED.last_error, EXCLUDED.polled,"
    "  EXCLUDED.power_w, EXCLUDED.energy_import_wh, EXCLUDED.energy_export_wh,"
    "  EXCLUDED.welfare, EXCLUDED.commissioned, EXCLUDED.retrofit)";

static const char *const upsert_weather =
    "INSERT INTO enmon_weather SELECT * FROM hist_weather ON CONFLICT (station, ts) DO UPDATE"
    "  SET temp_c = EXCLUDED.temp_c WHERE enmon_weather.temp_c IS DISTINCT FROM"
    "  EXCLUDED.temp_c";

static const char *const upsert_dr_events =
    "INSERT INTO enmon_dr_events SELECT * FROM hist_dr_events ON CONFLICT (site, start) DO"
    "  UPDATE SET stop = EXCLUDED.stop, local_id = EXCLUDED.local_id WHERE"
    "  (enmon_dr_events.stop, enmon_dr_events.local_id) IS DISTINCT FROM"
    "  (EXCLUDED.stop, EXCLUDED.local_id)";

static const char *const upsert_programs =
    "INSERT INTO enmon_programs SELECT * FROM hist_programs ON CONFLICT (program) DO UPDATE SET"
    "  name = EXCLUDED.name, kind = EXCLUDED.kind WHERE (enmon_programs.name,"
    "  enmon_programs.kind) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.kind)";

static const char *const upsert_sites =
    "INSERT INTO enmon_sites SELECT * FROM hist_sites ON CONFLICT (site) DO UPDATE SET"
    "  name = EXCLUDED.name, program = EXCLUDED.program WHERE (enmon_sites.name,"
    "  enmon_sites.program) IS DISTINCT FROM (EXCLUDED.name, EXCLUDED.program)";

/* A device's intervals (and daily rollups) from its frontier of the previous pass on. */
static const char *const sel_intervals =
    "SELECT ?3, start_s, wh_import, wh_export, samples FROM intervals"
    " WHERE device_id = ?1 AND start_s >= ?2";
static const char *const sel_daily = "SELECT ?3, day_s, wh_import, wh_export, samples FROM daily"
                                     " WHERE device_id = ?1 AND day_s >= ?2";
/* Per device, the earliest time the store can still add to: the last valid counter value
 * of each direction (store.c spreads the next delta over every interval since it) and the
 * last good reading (the next one counts a sample in its own interval). */
static const char *const sel_frontiers =
    "SELECT d.id, d.key, c.import_ts_ms, c.export_ts_ms, st.last_ts_ms FROM devices d"
    " LEFT JOIN counter_state c ON c.device_id = d.id"
    " LEFT JOIN device_status st ON st.device_id = d.id ORDER BY d.id";
static const char *const sel_alerts =
    "SELECT d.key, a.key, a.rule, a.cause, a.severity, a.value, a.first_seen_ms, a.raised_ms,"
    " a.cleared_ms, a.acked_by, a.acked_ms, a.clear_value, a.clear_cause, a.id FROM alerts a"
    " JOIN devices d ON d.id = a.device_id WHERE a.id > ?1";
static const char *const sel_devices =
    "SELECT d.key, d.name, d.kind, p.key, s.key, d.capacity_w, st.last_ts_ms,"
    " coalesce(st.online, 0), st.last_error, st.device_id IS NOT NULL, r.power_w,"
    " r.energy_import_wh, r.energy_export_wh, d.welfare, d.commissioned, d.retrofit"
    " FROM devices d"
    " LEFT JOIN programs p ON p.id = d.program_id LEFT JOIN sites s ON s.id = d.site_id"
    " LEFT JOIN device_status st ON st.device_id = d.id"
    " LEFT JOIN readings r ON r.rowid = (SELECT rowid FROM readings"
    "  WHERE device_id = d.id ORDER BY ts_ms DESC LIMIT 1)";
static const char *const sel_programs = "SELECT key, name, kind FROM programs";
static const char *const sel_weather = "SELECT station, ts_s, temp_c FROM weather";
static const char *const sel_dr_events = "SELECT site, start_s, end_s, id FROM dr_events";
/* What the weather and dr_events tables hold, in a few sums: a pass sends a table again
 * (whole: they are small) when its sums differ from those of the last pass sent. */
static const char *const sum_weather =
    "SELECT count(*), total(ts_s), total(temp_c), total(temp_c * (ts_s % 1000003)) FROM weather";
static const char *const sum_dr_events =
    "SELECT count(*), total(start_s), total(end_s), total(id * (start_s % 1000003) + end_s)"
    " FROM dr_events";
static const char *const sel_sites =
    "SELECT s.key, s.name, p.key FROM sites s LEFT JOIN programs p ON p.id = s.program_id";

static int pg_fail(struct hist_session *s, const char *what, char *msg, size_t msglen)
{
    char *e = PQerrorMessage(s->pg);
    size_t n = strlen(e);
    while (n > 0 && (e[n - 1] == '\n' || e[n - 1] == ' '))
        n--;
    snprintf(msg, msglen, "%s: %.*s", what, (int)n, e);
    return ENMON_ERR_DB;
}

static int sq_fail(struct hist_session *s, const char *what, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "%s: %s", what, sqlite3_errmsg(s->db));
    return ENMON_ERR_DB;
}

/* Runs sql (one or more commands without results); *tuples gets the last one's row count. */
static int pg_exec(struct hist_session *s, const char *sql, const char *what, uint64_t *tuples,
                   char *msg, size_t msglen)
{
    PGresult *r = PQexec(s->pg, sql);
    int ok = PQresultStatus(r) == PGRES_COMMAND_OK || PQresultStatus(r) == PGRES_TUPLES_OK;
    if (ok && tuples)
        *tuples += strtoull(PQcmdTuples(r), NULL, 10);
    PQclear(r);
    return ok ? ENMON_OK : pg_fail(s, what, msg, msglen);
}

int hist_pass_schema(struct hist_session *s, char *msg, size_t msglen)
{
    /* the staging tables live in the session's local buffers: room for a catch-up's COPY
     * (allocated only as used; settable only before the session's first temporary table) */
    if (pg_exec(s, "SET temp_buffers = '256MB'", "temp_buffers", NULL, msg, msglen) != ENMON_OK)
        return ENMON_ERR_DB;
    if (pg_exec(s, "BEGIN; SELECT pg_advisory_xact_lock(" HIST_LOCK_KEY ")", "schema lock", NULL,
                msg, msglen) != ENMON_OK)
        return ENMON_ERR_DB;
    if (pg_exec(s, schema_sql, "schema", NULL, msg, msglen) != ENMON_OK ||
        pg_exec(s, "COMMIT", "schema commit", NULL, msg, msglen) != ENMON_OK) {
        PQclear(PQexec(s->pg, "ROLLBACK"));
        return ENMON_ERR_DB;
    }
    return ENMON_OK;
}

/* ---- SQLite side ---------------------------------------------------------------------- */

/* meta[key] as an integer; -1 when absent. */
static int64_t meta_mark(sqlite3 *db, const char *key)
{
    sqlite3_stmt *st = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) ==
        SQLITE_OK) {
        sqlite3_bind_text(st, 1, key, -1, SQLITE_STATIC);
        if (sqlite3_step(st) == SQLITE_ROW)
            v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

static int64_t query_int(sqlite3 *db, const char *sql, int64_t bind, int64_t dflt)
{
    sqlite3_stmt *st = NULL;
    int64_t v = dflt;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK) {
        if (sqlite3_bind_parameter_count(st) > 0)
            sqlite3_bind_int64(st, 1, bind);
        if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) != SQLITE_NULL)
            v = sqlite3_column_int64(st, 0);
    }
    sqlite3_finalize(st);
    return v;
}

int hist_pass_backlog(sqlite3 *db, int64_t now_ms, int64_t *backlog, double *lag_s)
{
    if (sqlite3_exec(db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    int64_t mark = meta_mark(db, HISTORIAN_MARK_READINGS);
    int64_t last = query_int(db, "SELECT max(rowid) FROM readings", 0, 0);
    int64_t sent_ms = meta_mark(db, HISTORIAN_MARK_TIME);
    if (mark < 0 || mark > last)
        mark = 0;
    *backlog = last - mark;
    if (sent_ms < 0) /* nothing forwarded yet: the oldest reading there is */
        sent_ms = query_int(db, "SELECT min(ts_ms) FROM readings", 0, now_ms);
    *lag_s = *backlog > 0 && now_ms > sent_ms ? (double)(now_ms - sent_ms) / 1000.0 : 0.0;
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    return ENMON_OK;
}

/* ---- COPY ------------------------------------------------------------------------------ */

static int copy_put(struct hist_session *s, struct copy_row *row, char *msg, size_t msglen)
{
    int n = copy_row_end(row);
    if (n < 0) {
        snprintf(msg, msglen, "a row longer than %d bytes", HIST_ROW_MAX);
        return ENMON_ERR_RANGE;
    }
    return PQputCopyData(s->pg, row->buf, n) == 1 ? ENMON_OK : pg_fail(s, "COPY data", msg, msglen);
}

static int copy_end(struct hist_session *s, int rc, char *msg, size_t msglen)
{
    if (PQputCopyEnd(s->pg, rc == ENMON_OK ? NULL : "enmond: forwarding pass failed") != 1 &&
        rc == ENMON_OK)
        rc = pg_fail(s, "COPY end", msg, msglen);
    PGresult *r;
    while ((r = PQgetResult(s->pg)) != NULL) {
        if (rc == ENMON_OK && PQresultStatus(r) != PGRES_COMMAND_OK)
            rc = pg_fail(s, "COPY", msg, msglen);
        PQclear(r);
    }
    return rc;
}

static void col_time_ms(struct copy_row *row, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        copy_row_null(row);
    else
        copy_row_time_ms(row, sqlite3_column_int64(st, col));
}

static void col_time_s(struct copy_row *row, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        copy_row_null(row);
    else
        copy_row_time_ms(row, sqlite3_column_int64(st, col) * 1000);
}

static void col_double(struct copy_row *row, sqlite3_stmt *st, int col)
{
    if (sqlite3_column_type(st, col) == SQLITE_NULL)
        copy_row_null(row);
    else
        copy_row_double(row, sqlite3_column_double(st, col));
}

static void col_text(struct copy_row *row, sqlite3_stmt *st, int col)
{
    copy_row_text(row, (const char *)sqlite3_column_text(st, col));
}

enum hist_table { T_INTERVALS, T_DAILY, T_ALERTS, T_DEVICES, T_PROGRAMS, T_SITES, T_WEATHER, T_DR };

/* One row of table t from st into row; for sums, the start is widened into span. */
static void encode_row(enum hist_table t, sqlite3_stmt *st, struct copy_row *row, int64_t span[2])
{
    if (t == T_INTERVALS || t == T_DAILY) {
        int64_t start = sqlite3_column_int64(st, 1);
        span[0] = start < span[0] ? start : span[0];
        span[1] = start > span[1] ? start : span[1];
        col_text(row, st, 0);
        copy_row_time_ms(row, start * 1000);
        copy_row_double(row, sqlite3_column_double(st, 2));
        copy_row_double(row, sqlite3_column_double(st, 3));
        copy_row_int(row, sqlite3_column_int64(st, 4));
    } else if (t == T_ALERTS) {
        for (int c = 0; c < 5; c++)
            col_text(row, st, c);
        col_double(row, st, 5);
        col_time_ms(row, st, 6);
        col_time_ms(row, st, 7);
        col_time_ms(row, st, 8);
        col_text(row, st, 9);
        col_time_ms(row, st, 10);
        col_double(row, st, 11);
        col_text(row, st, 12);
        copy_row_int(row, sqlite3_column_int64(st, 13));
    } else if (t == T_DEVICES) {
        for (int c = 0; c < 5; c++)
            col_text(row, st, c);
        col_double(row, st, 5);
        col_time_ms(row, st, 6);
        copy_row_text(row, sqlite3_column_int(st, 7) ? "t" : "f");
        col_text(row, st, 8);
        copy_row_text(row, sqlite3_column_int(st, 9) ? "t" : "f");
        for (int c = 10; c < 13; c++)
            col_double(row, st, c);
        copy_row_text(row, sqlite3_column_int(st, 13) ? "t" : "f");
        col_time_s(row, st, 14);
        col_time_s(row, st, 15);
    } else if (t == T_WEATHER) {
        copy_row_int(row, sqlite3_column_int64(st, 0));
        col_time_s(row, st, 1);
        col_double(row, st, 2);
    } else if (t == T_DR) {
        col_text(row, st, 0);
        col_time_s(row, st, 1);
        col_time_s(row, st, 2);
        copy_row_int(row, sqlite3_column_int64(st, 3));
    } else { /* programs, sites: three texts */
        for (int c = 0; c < 3; c++)
            col_text(row, st, c);
    }
}

/* COPY hist_<table> FROM STDIN with the rows of sql bound to a, b. */
static int copy_table(struct hist_session *s, enum hist_table t, const char *sql, int64_t a,
                      int64_t b, int64_t span[2], char *msg, size_t msglen)
{
    static const char *const copy_sql[] = {
        "COPY hist_intervals FROM STDIN", "COPY hist_daily FROM STDIN",
        "COPY hist_alerts FROM STDIN",    "COPY hist_devices FROM STDIN",
        "COPY hist_programs FROM STDIN",  "COPY hist_sites FROM STDIN",
        "COPY hist_weather FROM STDIN",   "COPY hist_dr_events FROM STDIN"};
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK)
        return sq_fail(s, "prepare", msg, msglen);
    if (sqlite3_bind_parameter_count(st) >= 1)
        sqlite3_bind_int64(st, 1, a);
    if (sqlite3_bind_parameter_count(st) >= 2)
        sqlite3_bind_int64(st, 2, b);
    PGresult *r = PQexec(s->pg, copy_sql[t]);
    int ok = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    if (!ok) {
        sqlite3_finalize(st);
        return pg_fail(s, copy_sql[t], msg, msglen);
    }
    char buf[HIST_ROW_MAX];
    struct copy_row row;
    int rc = ENMON_OK, step;
    while (rc == ENMON_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
        copy_row_begin(&row, buf, sizeof(buf));
        encode_row(t, st, &row, span);
        rc = copy_put(s, &row, msg, msglen);
    }
    if (rc == ENMON_OK && step != SQLITE_DONE)
        rc = sq_fail(s, "read", msg, msglen);
    sqlite3_finalize(st);
    return copy_end(s, rc, msg, msglen);
}

/* ---- partitions ------------------------------------------------------------------------ */

static int month_known(const struct hist_session *s, int t, int64_t m)
{
    for (size_t i = 0; i < s->nmonths[t]; i++)
        if (s->months[t][i] == m)
            return 1;
    return 0;
}

/* The monthly (UTC) partitions of enmon_intervals / enmon_daily covering span, created when
 * missing. created[] collects the months to remember once the transaction commits. */
static int ensure_partitions(struct hist_session *s, int t, const int64_t span[2], int64_t *created,
                             size_t *ncreated, char *msg, size_t msglen)
{
    static const char *const parent[] = {"enmon_intervals", "enmon_daily"};
    int locked = 0;
    if (span[0] > span[1])
        return ENMON_OK;
    for (int64_t m = caltime_month_start(span[0], 0); m <= span[1]; m = caltime_month_end(m, 0)) {
        if (month_known(s, t, m))
            continue;
        if (!locked && pg_exec(s, "SELECT pg_advisory_xact_lock(" HIST_LOCK_KEY ")", "lock", NULL,
                               msg, msglen) != ENMON_OK)
            return ENMON_ERR_DB;
        locked = 1;
        int64_t next = caltime_month_end(m, 0);
        struct caltime_tm a, b;
        caltime_split(m, 0, &a);
        caltime_split(next, 0, &b);
        char sql[320];
        snprintf(sql, sizeof(sql),
                 "CREATE TABLE IF NOT EXISTS %s_%04d_%02d PARTITION OF %s FOR VALUES FROM "
                 "('%04d-%02d-01 00:00:00+00') TO ('%04d-%02d-01 00:00:00+00')",
                 parent[t], a.year, a.month, parent[t], a.year, a.month, b.year, b.month);
        if (pg_exec(s, sql, "partition", NULL, msg, msglen) != ENMON_OK)
            return ENMON_ERR_DB;
        if (*ncreated < HIST_MONTHS_KNOWN)
            created[(*ncreated)++] = m;
    }
    return ENMON_OK;
}

static void remember_months(struct hist_session *s, int t, const int64_t *m, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s->nmonths[t] == HIST_MONTHS_KNOWN) { /* forget the oldest half */
            memmove(s->months[t], s->months[t] + HIST_MONTHS_KNOWN / 2,
                    sizeof(int64_t) * (HIST_MONTHS_KNOWN / 2));
            s->nmonths[t] = HIST_MONTHS_KNOWN / 2;
        }
        s->months[t][s->nmonths[t]++] = m[i];
    }
}

/* ---- the pass -------------------------------------------------------------------------- */

struct dev_front {
    int64_t id;
    char *key;
    int64_t from_s; /* intervals from here on are sent (the frontier of the previous pass) */
    int64_t next_s; /* the frontier now, saved for the next pass */
};

struct pass_plan {
    struct dev_front *devs;
    size_t ndevs;
    int full;                       /* no frontier saved yet: every row is sent */
    int64_t mark, last, last_ts_ms; /* readings: rowid forwarded up to, newest rowid, its time */
    int64_t alert_mark, alert_next, alert_max;
    int64_t daily_offset_min;        /* meta daily_offset_min, INT64_MIN when absent */
    double sums[2][HIST_TABLE_SUMS]; /* weather, dr_events: table_sums() now */
    int send[2];                     /* weather, dr_events: changed since the last pass sent */
};

/* The sums of sql's single row into v (zeros when the table cannot be read). */
static void table_sums(sqlite3 *db, const char *sql, double v[HIST_TABLE_SUMS])
{
    sqlite3_stmt *st = NULL;
    memset(v, 0, sizeof(double) * HIST_TABLE_SUMS);
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) == SQLITE_OK && sqlite3_step(st) == SQLITE_ROW)
        for (int c = 0; c < HIST_TABLE_SUMS; c++)
            v[c] = sqlite3_column_double(st, c);
    sqlite3_finalize(st);
}

static void plan_free(struct pass_plan *p)
{
    for (size_t i = 0; i < p->ndevs; i++)
        free(p->devs[i].key);
    free(p->devs);
}

/* The frontier of the previous pass for device id, from the saved (id, start_s) pairs. */
static int64_t saved_front(const int64_t *pairs, size_t n, int64_t id)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = (lo + hi) / 2;
        if (pairs[2 * mid] == id)
            return pairs[2 * mid + 1];
        if (pairs[2 * mid] < id)
            lo = mid + 1;
        else
            hi = mid;
    }
    return 0; /* a device new since: all of its rows */
}

static int64_t min_present(sqlite3_stmt *st, int from, int to)
{
    int64_t m = -1;
    for (int c = from; c <= to; c++)
        if (sqlite3_column_type(st, c) != SQLITE_NULL && (m < 0 || sqlite3_column_int64(st, c) < m))
            m = sqlite3_column_int64(st, c);
    return m;
}

static int plan_devices(struct hist_session *s, struct pass_plan *p, char *msg, size_t msglen)
{
    sqlite3_stmt *st = NULL;
    const int64_t *pairs = NULL;
    size_t npairs = 0;
    if (sqlite3_prepare_v2(s->db, "SELECT value FROM meta WHERE key = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return sq_fail(s, "frontier", msg, msglen);
    sqlite3_bind_text(st, 1, HISTORIAN_MARK_FRONTIER, -1, SQLITE_STATIC);
    int64_t *copy = NULL;
    if (sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_BLOB) {
        npairs = (size_t)sqlite3_column_bytes(st, 0) / (2 * sizeof(int64_t));
        copy = malloc(npairs * 2 * sizeof(int64_t) + 1);
        if (copy)
            memcpy(copy, sqlite3_column_blob(st, 0), npairs * 2 * sizeof(int64_t));
        pairs = copy;
    }
    sqlite3_finalize(st);
    p->full = pairs == NULL;
    if (sqlite3_prepare_v2(s->db, sel_frontiers, -1, &st, NULL) != SQLITE_OK) {
        free(copy);
        return sq_fail(s, "devices", msg, msglen);
    }
    size_t cap = 0;
    int rc = ENMON_OK;
    while (rc == ENMON_OK && sqlite3_step(st) == SQLITE_ROW) {
        if (p->ndevs == cap) {
            cap = cap ? cap * 2 : 256;
            struct dev_front *v = realloc(p->devs, cap * sizeof(*v));
            if (!v) {
                rc = ENMON_ERR_NOMEM;
                break;
            }
            p->devs = v;
        }
        struct dev_front *d = &p->devs[p->ndevs];
        d->id = sqlite3_column_int64(st, 0);
        d->key = strdup((const char *)sqlite3_column_text(st, 1));
        if (!d->key) {
            rc = ENMON_ERR_NOMEM;
            break;
        }
        p->ndevs++;
        int64_t f_ms = min_present(st, 2, 4);
        d->next_s = f_ms < 0 ? 0 : f_ms / 1000 / INTERVAL_S * INTERVAL_S;
        d->from_s = p->full ? 0 : saved_front(pairs, npairs, d->id);
    }
    sqlite3_finalize(st);
    free(copy);
    if (rc != ENMON_OK)
        snprintf(msg, msglen, "out of memory");
    return rc;
}

static int plan_pass(struct hist_session *s, struct pass_plan *p, char *msg, size_t msglen)
{
    memset(p, 0, sizeof(*p));
    p->mark = meta_mark(s->db, HISTORIAN_MARK_READINGS);
    p->last = query_int(s->db, "SELECT max(rowid) FROM readings", 0, 0);
    p->last_ts_ms = query_int(s->db, "SELECT ts_ms FROM readings WHERE rowid = ?1", p->last, 0);
    p->alert_mark = meta_mark(s->db, HISTORIAN_MARK_ALERTS);
    p->daily_offset_min =
        query_int(s->db, "SELECT value FROM meta WHERE key = 'daily_offset_min'", 0, INT64_MIN);
    p->alert_max = query_int(s->db, "SELECT max(id) FROM alerts", 0, 0);
    int64_t active = query_int(s->db, "SELECT min(id) FROM alerts WHERE cleared_ms IS NULL", 0,
                               p->alert_max + 1);
    /* the next pass sends again every alert still active now (its clear is to come) */
    p->alert_next = active - 1 < p->alert_max ? active - 1 : p->alert_max;
    static const char *const sums_sql[2] = {sum_weather, sum_dr_events};
    for (int t = 0; t < 2; t++) {
        table_sums(s->db, sums_sql[t], p->sums[t]);
        p->send[t] = !s->sums_known || memcmp(p->sums[t], s->sums[t], sizeof(p->sums[t])) != 0;
    }
    int rc = plan_devices(s, p, msg, msglen);
    if (p->full || p->alert_mark < 0)
        p->alert_mark = 0;
    return rc;
}

static int save_marks(struct hist_session *s, const struct pass_plan *p, char *msg, size_t msglen)
{
    int64_t *pairs = malloc(2 * sizeof(int64_t) * (p->ndevs ? p->ndevs : 1));
    if (!pairs) {
        snprintf(msg, msglen, "out of memory");
        return ENMON_ERR_NOMEM;
    }
    for (size_t i = 0; i < p->ndevs; i++) {
        pairs[2 * i] = p->devs[i].id;
        pairs[2 * i + 1] = p->devs[i].next_s;
    }
    sqlite3_stmt *st = NULL;
    int rc = ENMON_OK;
    if (sqlite3_prepare_v2(s->db,
                           "INSERT OR REPLACE INTO meta(key, value) VALUES (?1, ?2), (?3, ?4),"
                           " (?5, ?6), (?7, ?8)",
                           -1, &st, NULL) != SQLITE_OK) {
        free(pairs);
        return sq_fail(s, "marks", msg, msglen);
    }
    sqlite3_bind_text(st, 1, HISTORIAN_MARK_READINGS, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, p->last);
    sqlite3_bind_text(st, 3, HISTORIAN_MARK_ALERTS, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, p->alert_next);
    sqlite3_bind_text(st, 5, HISTORIAN_MARK_FRONTIER, -1, SQLITE_STATIC);
    sqlite3_bind_blob(st, 6, pairs, (int)(2 * sizeof(int64_t) * p->ndevs), SQLITE_STATIC);
    sqlite3_bind_text(st, 7, HISTORIAN_MARK_TIME, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 8, p->last_ts_ms);
    if (sqlite3_step(st) != SQLITE_DONE)
        rc = sq_fail(s, "marks", msg, msglen);
    sqlite3_finalize(st);
    free(pairs);
    return rc;
}

/* COPY hist_intervals / hist_daily: each device's rows from its previous frontier on (daily:
 * from the local day holding it, at most a day earlier). */
static int copy_sums(struct hist_session *s, enum hist_table t, const struct pass_plan *p,
                     int64_t span[2], char *msg, size_t msglen)
{
    const char *copy_sql =
        t == T_INTERVALS ? "COPY hist_intervals FROM STDIN" : "COPY hist_daily FROM STDIN";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(s->db, t == T_INTERVALS ? sel_intervals : sel_daily, -1, &st, NULL) !=
        SQLITE_OK)
        return sq_fail(s, "prepare", msg, msglen);
    PGresult *r = PQexec(s->pg, copy_sql);
    int ok = PQresultStatus(r) == PGRES_COPY_IN;
    PQclear(r);
    if (!ok) {
        sqlite3_finalize(st);
        return pg_fail(s, copy_sql, msg, msglen);
    }
    char buf[HIST_ROW_MAX];
    struct copy_row row;
    int rc = ENMON_OK;
    for (size_t i = 0; i < p->ndevs && rc == ENMON_OK; i++) {
        const struct dev_front *d = &p->devs[i];
        int64_t from = d->from_s - (t == T_INTERVALS ? 0 : DAY_S);
        sqlite3_reset(st);
        sqlite3_bind_int64(st, 1, d->id);
        sqlite3_bind_int64(st, 2, d->from_s > 0 ? from : INT64_MIN);
        sqlite3_bind_text(st, 3, d->key, -1, SQLITE_STATIC);
        int step;
        while (rc == ENMON_OK && (step = sqlite3_step(st)) == SQLITE_ROW) {
            copy_row_begin(&row, buf, sizeof(buf));
            encode_row(t, st, &row, span);
            rc = copy_put(s, &row, msg, msglen);
        }
        if (rc == ENMON_OK && step != SQLITE_DONE)
            rc = sq_fail(s, "read", msg, msglen);
    }
    sqlite3_finalize(st);
    return copy_end(s, rc, msg, msglen);
}

/* The PostgreSQL transaction of a pass, reading SQLite's snapshot. */
static int pass_pg(struct hist_session *s, const struct pass_plan *p, struct hist_result *res,
                   char *msg, size_t msglen)
{
    int64_t span[2][2] = {{INT64_MAX, INT64_MIN}, {INT64_MAX, INT64_MIN}}, unused[2];
    int64_t created[2][HIST_MONTHS_KNOWN];
    size_t ncreated[2] = {0, 0};
    int rc = pg_exec(s, "BEGIN", "begin", NULL, msg, msglen);
    if (rc == ENMON_OK && !s->staged)
        rc = pg_exec(s, temp_sql, "staging tables", NULL, msg, msglen);
    if (rc == ENMON_OK)
        rc = copy_sums(s, T_INTERVALS, p, span[0], msg, msglen);
    if (rc == ENMON_OK)
        rc = copy_sums(s, T_DAILY, p, span[1], msg, msglen);
    /* devices (and their status) with every batch of readings, and now and then without
     * (a device going offline writes no reading) */
    int devices = p->full || p->last != p->mark || s->send_devices;
    if (rc == ENMON_OK && devices)
        rc = copy_table(s, T_DEVICES, sel_devices, 0, 0, unused, msg, msglen);
    if (rc == ENMON_OK && devices)
        rc = copy_table(s, T_PROGRAMS, sel_programs, 0, 0, unused, msg, msglen);
    if (rc == ENMON_OK && devices)
        rc = copy_table(s, T_SITES, sel_sites, 0, 0, unused, msg, msglen);
    if (rc == ENMON_OK)
        rc = copy_table(s, T_ALERTS, sel_alerts, p->alert_mark, 0, unused, msg, msglen);
    if (rc == ENMON_OK && p->send[0])
        rc = copy_table(s, T_WEATHER, sel_weather, 0, 0, unused, msg, msglen);
    if (rc == ENMON_OK && p->send[1])
        rc = copy_table(s, T_DR, sel_dr_events, 0, 0, unused, msg, msglen);
    for (int t = 0; t < 2 && rc == ENMON_OK; t++)
        rc = ensure_partitions(s, t, span[t], created[t], &ncreated[t], msg, msglen);
    if (rc == ENMON_OK)
        rc = pg_exec(s, upsert_programs, "programs", &res->rows, msg, msglen);
    if (rc == ENMON_OK)
        rc = pg_exec(s, upsert_sites, "sites", &res->rows, msg, msglen);
    if (rc == ENMON_OK && devices && p->daily_offset_min != INT64_MIN) {
        char sql[200]; /* the zone of the daily rows: `enmon report` picks them by it */
        snprintf(sql, sizeof(sql),
                 "INSERT INTO enmon_meta VALUES ('daily_offset_min', '%lld') ON CONFLICT (key)"
                 " DO UPDATE SET value = EXCLUDED.value",
                 (long long)p->daily_offset_min);
        rc = pg_exec(s, sql, "meta", NULL, msg, msglen);
    }
    if (rc == ENMON_OK)
        rc = pg_exec(s, upsert_devices, "devices", &res->rows, msg, msglen);
    if (rc == ENMON_OK)
        rc = pg_exec(s, UPSERT_SUM("intervals"), "intervals", &res->rows, msg, msglen);
    if (rc == ENMON_OK) { /* before the daily rows change: the differences they will make */
        char sql[1024], off[24];
        snprintf(off, sizeof(off), "%lld",
                 (long long)(p->daily_offset_min == INT64_MIN ? 0 : p->daily_offset_min));
        snprintf(sql, sizeof(sql),
                 "INSERT INTO enmon_monthly AS m SELECT h.device, " HIST_MONTH_OF_STAGED
                 ", sum(h.wh_import - coalesce(d.wh_import, 0)),"
                 " sum(h.wh_export - coalesce(d.wh_export, 0)), sum(h.samples -"
                 " coalesce(d.samples, 0)) FROM hist_daily h LEFT JOIN enmon_daily d ON"
                 " d.device = h.device AND d.start = h.start GROUP BY 1, 2 ON CONFLICT (device,"
                 " start) DO UPDATE SET wh_import = m.wh_import + EXCLUDED.wh_import,"
                 " wh_export = m.wh_export + EXCLUDED.wh_export,"
                 " samples = m.samples + EXCLUDED.samples WHERE (EXCLUDED.wh_import,"
                 " EXCLUDED.wh_export, EXCLUDED.samples) IS DISTINCT FROM (0, 0, 0)",
                 off, off);
        rc = pg_exec(s, sql, "monthly", NULL, msg, msglen);
    }
    if (rc == ENMON_OK)
        rc = pg_exec(s, UPSERT_SUM("daily"), "daily", &res->rows, msg, msglen);
    if (rc == ENMON_OK)
        rc = pg_exec(s, upsert_alerts, "alerts", &res->rows, msg, msglen);
    if (rc == ENMON_OK && p->send[0])
        rc = pg_exec(s, upsert_weather, "weather", &res->rows, msg, msglen);
    if (rc == ENMON_OK && p->send[1])
        rc = pg_exec(s, upsert_dr_events, "dr_events", &res->rows, msg, msglen);
    if (rc == ENMON_OK)
        rc = pg_exec(s, "COMMIT", "commit", NULL, msg, msglen);
    if (rc != ENMON_OK) {
        if (PQstatus(s->pg) == CONNECTION_OK)
            PQclear(PQexec(s->pg, "ROLLBACK"));
        return rc;
    }
    s->staged = 1;
    for (int t = 0; t < 2; t++)
        remember_months(s, t, created[t], ncreated[t]);
    return ENMON_OK;
}

int hist_pass_run(struct hist_session *s, struct hist_result *res, char *msg, size_t msglen)
{
    struct pass_plan p;
    *res = (struct hist_result){0};
    if (sqlite3_exec(s->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return sq_fail(s, "begin", msg, msglen);
    int rc = plan_pass(s, &p, msg, msglen);
    if (rc == ENMON_OK && !p.full && p.last == p.mark && p.alert_max <= p.alert_mark &&
        !s->send_devices && !p.send[0] && !p.send[1]) {
        sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL);
        plan_free(&p);
        res->idle = 1;
        return ENMON_OK;
    }
    if (rc == ENMON_OK)
        rc = pass_pg(s, &p, res, msg, msglen);
    sqlite3_exec(s->db, "COMMIT", NULL, NULL, NULL); /* ends the read snapshot */
    if (rc == ENMON_OK)
        rc = save_marks(s, &p, msg, msglen);
    if (rc == ENMON_OK) {
        s->send_devices = 0;
        memcpy(s->sums, p.sums, sizeof(s->sums)); /* committed: sent up to these */
        s->sums_known = 1;
    }
    plan_free(&p);
    return rc;
}
