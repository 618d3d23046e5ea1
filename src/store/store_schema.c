/* store_schema.c -- the store's SQLite file: creation, pragmas, schema migrations, config sync. */
#include "store_schema.h"
#include "caltime.h"
#include "db_open.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define STORE_BUSY_TIMEOUT_MS 5000
#define STORE_CACHE_KIB 65536 /* page cache: one hot index page per device of a big city */
#define STORE_WAL_CHECKPOINT_PAGES 8192 /* checkpoint every 32 MB of WAL, not every 4 MB */

/* migrations[v] brings a file from user_version v to v + 1. Append only. */
/* Rebuilds the per-program rollups from intervals and daily and records which program each
 * device's rows were summed into (program_rollup_map; compared at start and by report.c). */
#define SCHEMA_ROLLUP_FILL                                                                         \
    "DELETE FROM program_intervals; DELETE FROM program_daily; DELETE FROM program_rollup_map;"    \
    "INSERT INTO program_intervals(program_id, start_s, wh_import, wh_export) "                    \
    "SELECT d.program_id, i.start_s, sum(i.wh_import), sum(i.wh_export) FROM intervals i "         \
    "JOIN devices d ON d.id = i.device_id WHERE d.program_id IS NOT NULL GROUP BY 1, 2;"           \
    "INSERT INTO program_daily(program_id, day_s, wh_import, wh_export) "                          \
    "SELECT d.program_id, i.day_s, sum(i.wh_import), sum(i.wh_export) FROM daily i "               \
    "JOIN devices d ON d.id = i.device_id WHERE d.program_id IS NOT NULL GROUP BY 1, 2;"           \
    "INSERT INTO program_rollup_map(device_id, program_id) SELECT id, program_id FROM devices;"

static const char *const migrations[STORE_SCHEMA_VERSION] = {
    "CREATE TABLE programs("
    "  id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL, kind TEXT NOT NULL);"
    "CREATE TABLE sites("
    "  id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    "  program_id INTEGER NOT NULL REFERENCES programs(id));"
    "CREATE TABLE devices("
    "  id INTEGER PRIMARY KEY, key TEXT NOT NULL UNIQUE, name TEXT NOT NULL,"
    "  site_id INTEGER REFERENCES sites(id), program_id INTEGER REFERENCES programs(id),"
    "  kind TEXT NOT NULL, capacity_w REAL, unit INTEGER, link TEXT,"
    "  welfare INTEGER NOT NULL DEFAULT 0, commissioned INTEGER, retrofit INTEGER);"
    "CREATE TABLE readings("
    "  device_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL, quality INTEGER NOT NULL,"
    "  power_w REAL, energy_import_wh REAL, energy_export_wh REAL, voltage_v REAL,"
    "  current_a REAL, frequency_hz REAL, power_factor REAL, dc_power_w REAL,"
    "  temperature_c REAL, state INTEGER, events INTEGER);"
    "CREATE INDEX readings_device_ts ON readings(device_id, ts_ms);"
    "CREATE TABLE intervals("
    "  device_id INTEGER NOT NULL, start_s INTEGER NOT NULL,"
    "  wh_import REAL NOT NULL DEFAULT 0, wh_export REAL NOT NULL DEFAULT 0,"
    "  samples INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (device_id, start_s)) WITHOUT ROWID;"
    "CREATE TABLE counter_state("
    "  device_id INTEGER PRIMARY KEY, ts_ms INTEGER NOT NULL,"
    "  import_wh REAL, export_wh REAL, import_ts_ms INTEGER, export_ts_ms INTEGER);"
    "CREATE TABLE device_status("
    "  device_id INTEGER PRIMARY KEY, last_ts_ms INTEGER, online INTEGER NOT NULL,"
    "  last_error TEXT);",
    /* 1 -> 2: daily rollups (filled by store_schema_sync_daily) and a key/value meta table */
    "CREATE TABLE daily("
    "  device_id INTEGER NOT NULL, day_s INTEGER NOT NULL,"
    "  wh_import REAL NOT NULL DEFAULT 0, wh_export REAL NOT NULL DEFAULT 0,"
    "  samples INTEGER NOT NULL DEFAULT 0, PRIMARY KEY (device_id, day_s)) WITHOUT ROWID;"
    "CREATE TABLE meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;",
    /* 2 -> 3: alerts, one row per raise with its clear (the full history); at most
     * one active (cleared_ms IS NULL) row per alert key */
    "CREATE TABLE alerts("
    "  id INTEGER PRIMARY KEY, key TEXT NOT NULL,"
    "  device_id INTEGER NOT NULL REFERENCES devices(id), rule TEXT NOT NULL,"
    "  cause TEXT NOT NULL, severity TEXT NOT NULL, value REAL,"
    "  first_seen_ms INTEGER NOT NULL, raised_ms INTEGER NOT NULL, cleared_ms INTEGER,"
    "  acked_by TEXT, acked_ms INTEGER);"
    "CREATE UNIQUE INDEX alerts_active ON alerts(key) WHERE cleared_ms IS NULL;"
    "CREATE INDEX alerts_time ON alerts(raised_ms);",
    /* 3 -> 4: the MQTT outbox is the tail of readings above the published mark
     * (outbox.c); an existing file starts with its history marked published */
    "INSERT OR REPLACE INTO meta(key, value) "
    "  SELECT 'mqtt_published_rowid', coalesce(max(rowid), 0) FROM readings;"
    "CREATE VIEW outbox AS SELECT r.rowid AS seq, r.* FROM readings r"
    "  WHERE r.rowid > (SELECT value FROM meta WHERE key = 'mqtt_published_rowid');",
    /* 4 -> 5: DC inputs of inverters with SunSpec model 160, modules 1..4
     * (READING_MODULES_MAX): current, voltage and power of module N */
    "ALTER TABLE readings ADD COLUMN m1_dc_current_a REAL;"
    "ALTER TABLE readings ADD COLUMN m1_dc_voltage_v REAL;"
    "ALTER TABLE readings ADD COLUMN m1_dc_power_w REAL;"
    "ALTER TABLE readings ADD COLUMN m2_dc_current_a REAL;"
    "ALTER TABLE readings ADD COLUMN m2_dc_voltage_v REAL;"
    "ALTER TABLE readings ADD COLUMN m2_dc_power_w REAL;"
    "ALTER TABLE readings ADD COLUMN m3_dc_current_a REAL;"
    "ALTER TABLE readings ADD COLUMN m3_dc_voltage_v REAL;"
    "ALTER TABLE readings ADD COLUMN m3_dc_power_w REAL;"
    "ALTER TABLE readings ADD COLUMN m4_dc_current_a REAL;"
    "ALTER TABLE readings ADD COLUMN m4_dc_voltage_v REAL;"
    "ALTER TABLE readings ADD COLUMN m4_dc_power_w REAL;",
    /* 5 -> 6: what the welfare_inactivity and abnormal_load rules learned, per device
     * and rule (alert_learned.h), saved so a restart does not relearn it; and the
     * demand-response events of `enmon dr add` (older CLIs created that table on
     * first use, hence IF NOT EXISTS) */
    "CREATE TABLE alert_learned("
    "  device_id INTEGER NOT NULL REFERENCES devices(id), rule TEXT NOT NULL,"
    "  learn_ms INTEGER NOT NULL, learned_ms INTEGER NOT NULL, mean_w REAL,"
    "  slots TEXT NOT NULL DEFAULT '', saved_ms INTEGER NOT NULL,"
    "  PRIMARY KEY (device_id, rule)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS dr_events(id INTEGER PRIMARY KEY, site TEXT NOT NULL,"
    "  start_s INTEGER NOT NULL, end_s INTEGER NOT NULL, UNIQUE(site, start_s));",
    /* 6 -> 7: a clear keeps the raise's value in alerts.value and records the value
     * that cleared it apart, and why when no rule did ("device removed from
     * configuration"); older clears had overwritten value: it stays as it was */
    "ALTER TABLE alerts ADD COLUMN clear_value REAL;"
    "ALTER TABLE alerts ADD COLUMN clear_cause TEXT;",
    /* 7 -> 8: hourly air temperature per KMA station (`enmon import weather`): ts_s is the
     * UTC instant of the hour's observation, temp_c NULL for a missing hour */
    "CREATE TABLE weather("
    "  station INTEGER NOT NULL, ts_s INTEGER NOT NULL, temp_c REAL,"
    "  PRIMARY KEY (station, ts_s)) WITHOUT ROWID;",
    /* 8 -> 9: the webhook outbox (src/alerts/webhook_outbox.c): one notice per raise or clear
     * and endpoint, idem_key "<alert id>/raise|clear/<first_seen_ms>" unique per endpoint,
     * delivered in id order per endpoint; delivered_ms set on a 2xx reply */
    "CREATE TABLE webhook_outbox("
    "  id INTEGER PRIMARY KEY, endpoint TEXT NOT NULL, idem_key TEXT NOT NULL,"
    "  body TEXT NOT NULL, created_ms INTEGER NOT NULL, attempts INTEGER NOT NULL DEFAULT 0,"
    "  next_try_ms INTEGER NOT NULL DEFAULT 0, delivered_ms INTEGER, last_error TEXT,"
    "  UNIQUE(endpoint, idem_key));"
    "CREATE INDEX webhook_outbox_pending ON webhook_outbox(endpoint, id)"
    "  WHERE delivered_ms IS NULL;",
    /* 9 -> 10: the raw readings archive (archive.c): one row per block of a device's
     * readings from t0_ms to t1_ms (n of them) packed by block_codec.c. Nothing is
     * rewritten here: the store moves old readings into it online, in short steps. */
    "CREATE TABLE reading_blocks("
    "  device_id INTEGER NOT NULL, t0_ms INTEGER NOT NULL, t1_ms INTEGER NOT NULL,"
    "  n INTEGER NOT NULL, data BLOB NOT NULL, PRIMARY KEY (device_id, t0_ms)) WITHOUT ROWID;",
    /* 10 -> 11: pole sensors (device kind sensor): leakage current (mA), phase currents L1..L3
     * (A) and tilt (degrees) of enum meas's stored tail (MEAS__COUNT .. MEAS__ALL) */
    "ALTER TABLE readings ADD COLUMN leakage_ma REAL;"
    "ALTER TABLE readings ADD COLUMN current_l1_a REAL;"
    "ALTER TABLE readings ADD COLUMN current_l2_a REAL;"
    "ALTER TABLE readings ADD COLUMN current_l3_a REAL;"
    "ALTER TABLE readings ADD COLUMN tilt_deg REAL;",
    /* 11 -> 12: per-program rollups of the intervals and of the daily rows, kept by the store's
     * writer in the same transaction (report.c reads them for --by program); filled here from
     * what the file holds, with the program each device was summed into (program_rollup_map). */
    "CREATE TABLE program_intervals("
    "  program_id INTEGER NOT NULL, start_s INTEGER NOT NULL, wh_import REAL NOT NULL,"
    "  wh_export REAL NOT NULL, PRIMARY KEY (program_id, start_s)) WITHOUT ROWID;"
    "CREATE TABLE program_daily("
    "  program_id INTEGER NOT NULL, day_s INTEGER NOT NULL, wh_import REAL NOT NULL,"
    "  wh_export REAL NOT NULL, PRIMARY KEY (program_id, day_s)) WITHOUT ROWID;"
    "CREATE TABLE program_rollup_map(device_id INTEGER PRIMARY KEY, program_id INTEGER);"
    /* SCHEMA_ROLLUP_FILL spelled out: make_fixtures.py reads this array's literals */
    "INSERT INTO program_intervals(program_id, start_s, wh_import, wh_export) "
    "SELECT d.program_id, i.start_s, sum(i.wh_import), sum(i.wh_export) FROM intervals i "
    "JOIN devices d ON d.id = i.device_id WHERE d.program_id IS NOT NULL GROUP BY 1, 2;"
    "INSERT INTO program_daily(program_id, day_s, wh_import, wh_export) "
    "SELECT d.program_id, i.day_s, sum(i.wh_import), sum(i.wh_export) FROM daily i "
    "JOIN devices d ON d.id = i.device_id WHERE d.program_id IS NOT NULL GROUP BY 1, 2;"
    "INSERT INTO program_rollup_map(device_id, program_id) SELECT id, program_id FROM devices;",
};

static int schema_fail(sqlite3 *db, const char *what, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return ENMON_ERR_DB;
}

/* Creates the file with mode 0640 regardless of the umask, if it does not exist. */
static int schema_create_file(const char *path, char *msg, size_t msglen)
{
    int fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0) {
        if (errno == EEXIST)
            return ENMON_OK;
        snprintf(msg, msglen, "cannot create %s: %s", path, strerror(errno));
        return ENMON_ERR_DB;
    }
    int rc = fchmod(fd, 0640);
    close(fd);
    if (rc != 0) {
        snprintf(msg, msglen, "cannot chmod %s: %s", path, strerror(errno));
        return ENMON_ERR_DB;
    }
    return ENMON_OK;
}

static int schema_pragmas(sqlite3 *db, char *msg, size_t msglen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &st, NULL) != SQLITE_OK)
        return schema_fail(db, "journal_mode", msg, msglen);
    int wal = sqlite3_step(st) == SQLITE_ROW &&
              strcmp((const char *)sqlite3_column_text(st, 0), "wal") == 0;
    sqlite3_finalize(st);
    if (!wal) {
        snprintf(msg, msglen, "cannot switch the database to WAL mode");
        return ENMON_ERR_DB;
    }
    if (sqlite3_exec(db, "PRAGMA synchronous=NORMAL", NULL, NULL, NULL) != SQLITE_OK)
        return schema_fail(db, "synchronous", msg, msglen);
    char sql[160];
    snprintf(sql, sizeof(sql),
             "PRAGMA cache_size=-%d; PRAGMA wal_autocheckpoint=%d; PRAGMA temp_store=MEMORY",
             STORE_CACHE_KIB, STORE_WAL_CHECKPOINT_PAGES);
    if (sqlite3_exec(db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return schema_fail(db, "cache_size", msg, msglen);
    return ENMON_OK;
}

int store_schema_open(const char *path, sqlite3 **out, char *msg, size_t msglen)
{
    *out = NULL;
    int rc = schema_create_file(path, msg, msglen);
    if (rc != ENMON_OK)
        return rc;
    sqlite3 *db = NULL;
    rc = db_open(path, DB_STORE, STORE_BUSY_TIMEOUT_MS, &db, msg, msglen);
    if (rc != ENMON_OK)
        return rc;
    rc = schema_pragmas(db, msg, msglen);
    if (rc != ENMON_OK) {
        sqlite3_close(db);
        return rc;
    }
    *out = db;
    return ENMON_OK;
}

static int schema_user_version(sqlite3 *db, int *version)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    int ok = sqlite3_step(st) == SQLITE_ROW;
    if (ok)
        *version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return ok ? ENMON_OK : ENMON_ERR_DB;
}

static int schema_apply(sqlite3 *db, int from, char *msg, size_t msglen)
{
    char setver[64];
    snprintf(setver, sizeof(setver), "PRAGMA user_version=%d", from + 1);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return schema_fail(db, "begin migration", msg, msglen);
    if (sqlite3_exec(db, migrations[from], NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, setver, NULL, NULL, NULL) != SQLITE_OK ||
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        char what[64];
        snprintf(what, sizeof(what), "schema migration to version %d", from + 1);
        int rc = schema_fail(db, what, msg, msglen);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return rc;
    }
    return ENMON_OK;
}

int store_schema_migrate(sqlite3 *db, char *msg, size_t msglen)
{
    int version = 0;
    if (schema_user_version(db, &version) != ENMON_OK)
        return schema_fail(db, "user_version", msg, msglen);
    if (version > STORE_SCHEMA_VERSION) {
        snprintf(msg, msglen, "database schema version %d is newer than this build's (%d)", version,
                 STORE_SCHEMA_VERSION);
        return ENMON_ERR_DB;
    }
    /* A new file gets incremental auto-vacuum before its first table (retention gives
     * pages back with it); an older file is converted once by the store at open. */
    if (version == 0 && sqlite3_exec(db, "PRAGMA auto_vacuum=INCREMENTAL", NULL, NULL, NULL) !=
                            SQLITE_OK)
        return schema_fail(db, "auto_vacuum", msg, msglen);
    for (int v = version; v < STORE_SCHEMA_VERSION; v++) {
        int rc = schema_apply(db, v, msg, msglen);
        if (rc != ENMON_OK)
            return rc;
    }
    return ENMON_OK;
}

/* Steps an "INSERT ... RETURNING id" upsert and resets it. */
static int schema_upsert_id(sqlite3_stmt *st, int64_t *id)
{
    int ok = sqlite3_step(st) == SQLITE_ROW;
    if (ok)
        *id = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return ok ? ENMON_OK : ENMON_ERR_DB;
}

static void schema_bind_text(sqlite3_stmt *st, int col, const char *s)
{
    sqlite3_bind_text(st, col, s, -1, SQLITE_TRANSIENT);
}

static void schema_bind_epoch(sqlite3_stmt *st, int col, int64_t t)
{
    if (t)
        sqlite3_bind_int64(st, col, t);
    else
        sqlite3_bind_null(st, col);
}

static int schema_sync_programs(sqlite3 *db, const struct enmon_config *cfg, int64_t *ids)
{
    static const char sql[] = "INSERT INTO programs(key, name, kind) VALUES(?1, ?2, ?3) "
                              "ON CONFLICT(key) DO UPDATE SET name = excluded.name, "
                              "kind = excluded.kind RETURNING id";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    int rc = ENMON_OK;
    for (size_t i = 0; i < cfg->nprograms && rc == ENMON_OK; i++) {
        const struct cfg_program *p = &cfg->programs[i];
        schema_bind_text(st, 1, p->id);
        schema_bind_text(st, 2, p->name);
        schema_bind_text(st, 3, config_program_kind_name(p->kind));
        rc = schema_upsert_id(st, &ids[i]);
    }
    sqlite3_finalize(st);
    return rc;
}

static int schema_sync_sites(sqlite3 *db, const struct enmon_config *cfg, const int64_t *prog_ids,
                             int64_t *ids)
{
    static const char sql[] = "INSERT INTO sites(key, name, program_id) VALUES(?1, ?2, ?3) "
                              "ON CONFLICT(key) DO UPDATE SET name = excluded.name, "
                              "program_id = excluded.program_id RETURNING id";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    int rc = ENMON_OK;
    for (size_t i = 0; i < cfg->nsites && rc == ENMON_OK; i++) {
        const struct cfg_site *s = &cfg->sites[i];
        if (s->program >= cfg->nprograms) {
            rc = ENMON_ERR_CONFIG;
            break;
        }
        schema_bind_text(st, 1, s->id);
        schema_bind_text(st, 2, s->name);
        sqlite3_bind_int64(st, 3, prog_ids[s->program]);
        rc = schema_upsert_id(st, &ids[i]);
    }
    sqlite3_finalize(st);
    return rc;
}

static void schema_bind_device(sqlite3_stmt *st, const struct enmon_config *cfg,
                               const struct cfg_device *d, const int64_t *prog_ids,
                               const int64_t *site_ids)
{
    schema_bind_text(st, 1, d->id);
    schema_bind_text(st, 2, d->name);
    sqlite3_bind_int64(st, 3, site_ids[d->site]);
    sqlite3_bind_int64(st, 4, prog_ids[d->program]);
    schema_bind_text(st, 5, config_device_kind_name(d->kind));
    sqlite3_bind_double(st, 6, d->capacity_w);
    sqlite3_bind_int(st, 7, d->unit);
    if (d->link < cfg->nlinks)
        schema_bind_text(st, 8, cfg->links[d->link].uri);
    sqlite3_bind_int(st, 9, d->welfare ? 1 : 0);
    schema_bind_epoch(st, 10, d->commissioned);
    schema_bind_epoch(st, 11, d->retrofit);
}

static int schema_sync_devices(sqlite3 *db, const struct enmon_config *cfg, const int64_t *prog_ids,
                               const int64_t *site_ids, int64_t *ids)
{
    static const char sql[] =
        "INSERT INTO devices(key, name, site_id, program_id, kind, capacity_w, unit, link, "
        "welfare, commissioned, retrofit) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11) "
        "ON CONFLICT(key) DO UPDATE SET name = excluded.name, site_id = excluded.site_id, "
        "program_id = excluded.program_id, kind = excluded.kind, capacity_w = excluded.capacity_w, "
        "unit = excluded.unit, link = excluded.link, welfare = excluded.welfare, "
        "commissioned = excluded.commissioned, retrofit = excluded.retrofit RETURNING id";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    int rc = ENMON_OK;
    for (size_t i = 0; i < cfg->ndevices && rc == ENMON_OK; i++) {
        const struct cfg_device *d = &cfg->devices[i];
        if (d->site >= cfg->nsites || d->program >= cfg->nprograms) {
            rc = ENMON_ERR_CONFIG;
            break;
        }
        schema_bind_device(st, cfg, d, prog_ids, site_ids);
        rc = schema_upsert_id(st, &ids[i]);
    }
    sqlite3_finalize(st);
    return rc;
}

static int schema_sync_all(sqlite3 *db, const struct enmon_config *cfg, int64_t *device_ids)
{
    int64_t *prog_ids = calloc(cfg->nprograms + 1, sizeof(*prog_ids));
    int64_t *site_ids = calloc(cfg->nsites + 1, sizeof(*site_ids));
    int rc = ENMON_ERR_NOMEM;
    if (prog_ids && site_ids) {
        rc = schema_sync_programs(db, cfg, prog_ids);
        if (rc == ENMON_OK)
            rc = schema_sync_sites(db, cfg, prog_ids, site_ids);
        if (rc == ENMON_OK)
            rc = schema_sync_devices(db, cfg, prog_ids, site_ids, device_ids);
    }
    free(prog_ids);
    free(site_ids);
    return rc;
}

int store_schema_sync_config(sqlite3 *db, const struct enmon_config *cfg, int64_t *device_ids,
                             char *msg, size_t msglen)
{
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return schema_fail(db, "begin config sync", msg, msglen);
    int rc = schema_sync_all(db, cfg, device_ids);
    if (rc == ENMON_OK && sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return ENMON_OK;
    if (rc == ENMON_ERR_CONFIG)
        snprintf(msg, msglen, "config sync: a site or device refers to a missing program or site");
    else if (rc == ENMON_ERR_NOMEM)
        snprintf(msg, msglen, "config sync: out of memory");
    else
        schema_fail(db, "config sync", msg, msglen);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return ENMON_ERR_DB;
}

/* ---- daily rollups ------------------------------------------------------------ */

/* The offset the daily table was built for, or INT_MIN when none. */
static int schema_daily_offset(sqlite3 *db, int *offset_min)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "SELECT value FROM meta WHERE key = 'daily_offset_min'", -1, &st,
                           NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    int rc = sqlite3_step(st);
    *offset_min = rc == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER
                      ? sqlite3_column_int(st, 0)
                      : INT_MIN;
    sqlite3_finalize(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
}

static int schema_rebuild_daily(sqlite3 *db, int offset_min)
{
    char sql[640];
    long off = (long)offset_min * 60;
    /* day_s = local midnight: floor((start_s + off) / 86400) * 86400 - off (start_s >= 0) */
    snprintf(sql, sizeof(sql),
             "DELETE FROM daily;"
             "INSERT INTO daily(device_id, day_s, wh_import, wh_export, samples) "
             "SELECT device_id, ((start_s + %ld) / %d) * %d - %ld AS day, sum(wh_import), "
             "sum(wh_export), sum(samples) FROM intervals WHERE start_s + %ld >= 0 "
             "GROUP BY device_id, day;"
             "INSERT OR REPLACE INTO meta(key, value) VALUES('daily_offset_min', %d);",
             off, CALTIME_DAY_S, CALTIME_DAY_S, off, off, offset_min);
    /* the per-program rollups follow (program_daily from the new daily rows) */
    return sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK &&
                   sqlite3_exec(db, SCHEMA_ROLLUP_FILL, NULL, NULL, NULL) == SQLITE_OK
               ? ENMON_OK
               : ENMON_ERR_DB;
}

int store_schema_sync_daily(sqlite3 *db, int offset_min, char *msg, size_t msglen)
{
    int have = INT_MIN;
    if (schema_daily_offset(db, &have) != ENMON_OK)
        return schema_fail(db, "daily rollup", msg, msglen);
    if (have == offset_min)
        return ENMON_OK;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return schema_fail(db, "begin daily rollup", msg, msglen);
    if (schema_rebuild_daily(db, offset_min) == ENMON_OK &&
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return ENMON_OK;
    int rc = schema_fail(db, "daily rollup", msg, msglen);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int store_schema_sync_rollups(sqlite3 *db, char *msg, size_t msglen)
{
    sqlite3_stmt *st = NULL;
    /* a device moved to another program since: its history moves with it, rebuild */
    if (sqlite3_prepare_v2(db,
                           "SELECT EXISTS (SELECT 1 FROM devices d JOIN program_rollup_map m "
                           "ON m.device_id = d.id WHERE m.program_id IS NOT d.program_id)",
                           -1, &st, NULL) != SQLITE_OK)
        return schema_fail(db, "program rollups", msg, msglen);
    int moved = sqlite3_step(st) == SQLITE_ROW && sqlite3_column_int(st, 0) == 1;
    sqlite3_finalize(st);
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return schema_fail(db, "begin program rollups", msg, msglen);
    /* devices new since (no rows yet) are only added to the map */
    if (sqlite3_exec(db,
                     moved ? SCHEMA_ROLLUP_FILL
                           : "INSERT OR IGNORE INTO program_rollup_map(device_id, program_id) "
                             "SELECT id, program_id FROM devices",
                     NULL, NULL, NULL) == SQLITE_OK &&
        sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return ENMON_OK;
    int rc = schema_fail(db, "program rollups", msg, msglen);
    sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}
