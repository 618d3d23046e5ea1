/* test_store.c -- the SQLite store end to end: readings, intervals, counter events, restart. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "alert_learned.h"
#include "alert_store.h"
#include "caltime.h"
#include "clock.h"
#include "config.h"
#include "err.h"
#include "reading.h"
#include "retention.h"
#include "store.h"
#include "store_schema.h"

#include <pthread.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define T0 1717200000000LL /* 2024-06-01 00:00:00 UTC, an interval boundary */
#define T0S (T0 / 1000)
#define MIN_MS 60000LL
#define WRAP32 4294967296.0

struct fixture {
    char dir[64];
    struct enmon_config cfg;
    struct cfg_program programs[2];
    struct cfg_site sites[2];
    struct cfg_device devices[3];
    struct cfg_link links[1];
};

static void fixture_config(struct fixture *f)
{
    struct enmon_config *c = &f->cfg;
    snprintf(c->database, sizeof(c->database), "%s/enmon.db", f->dir);
    f->programs[0] =
        (struct cfg_program){.id = "solar-homes", .name = "Solar homes", .kind = PROGRAM_SOLAR};
    f->programs[1] =
        (struct cfg_program){.id = "ami", .name = "AMI households", .kind = PROGRAM_AMI};
    f->sites[0] = (struct cfg_site){.id = "home-1", .name = "Home 1", .program = 0};
    f->sites[1] = (struct cfg_site){.id = "apt-101", .name = "Apartment 101", .program = 1};
    f->links[0] =
        (struct cfg_link){.uri = "tcp://127.0.0.1:1502", .host = "127.0.0.1", .port = 1502};
    f->devices[0] = (struct cfg_device){.id = "inv-1",
                                        .name = "Inverter 1",
                                        .site = 0,
                                        .program = 0,
                                        .kind = DEVICE_INVERTER,
                                        .unit = 1,
                                        .capacity_w = 3000,
                                        .commissioned = 1700000000};
    f->devices[1] = (struct cfg_device){.id = "meter-1",
                                        .name = "Meter 1",
                                        .site = 1,
                                        .program = 1,
                                        .kind = DEVICE_METER,
                                        .unit = 2,
                                        .capacity_w = 10000};
    f->devices[2] = (struct cfg_device){.id = "meter-2",
                                        .name = "Meter 2",
                                        .site = 1,
                                        .program = 1,
                                        .kind = DEVICE_METER,
                                        .unit = 3,
                                        .capacity_w = 5000,
                                        .welfare = 1};
    c->programs = f->programs;
    c->nprograms = 2;
    c->sites = f->sites;
    c->nsites = 2;
    c->devices = f->devices;
    c->ndevices = 3;
    c->links = f->links;
    c->nlinks = 1;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/enmon-test-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    fixture_config(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[CFG_PATH_MAX + 8];
        snprintf(p, sizeof(p), "%s%s", f->cfg.database, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct reading rd(uint32_t dev, int64_t t_ms)
{
    struct reading r = {.device = dev, .wall_ms = t_ms, .mono_ms = t_ms, .online = 1};
    return r;
}

static void submit(struct store *st, const struct reading *r)
{
    assert_int_equal(store_submit(st, r), ENMON_OK);
}

/* inv-1: export counter near the 32-bit top, then a wrap. */
static void submit_inverter(struct store *st)
{
    struct reading r = rd(0, T0 + 10 * MIN_MS);
    r.wrap_wh[1] = WRAP32;
    reading_set(&r, MEAS_POWER_W, 1200);
    reading_set(&r, MEAS_VOLTAGE_V, 229.5);
    reading_set(&r, MEAS_ENERGY_EXPORT_WH, 4294967000.0);
    submit(st, &r);
    r.wall_ms = T0 + 20 * MIN_MS; /* +196 Wh, partial: no voltage */
    r.quality = READING_PARTIAL;
    r.valid &= ~(1u << MEAS_VOLTAGE_V);
    reading_set(&r, MEAS_ENERGY_EXPORT_WH, 4294967196.0);
    submit(st, &r);
    r.wall_ms = T0 + 30 * MIN_MS; /* wrapped: 100 + 104 = 204 Wh */
    r.quality = READING_OK;
    reading_set(&r, MEAS_VOLTAGE_V, 230);
    reading_set(&r, MEAS_ENERGY_EXPORT_WH, 104);
    submit(st, &r);
}

/* meter-1: import increases, then the meter is replaced (reset to 120 Wh). */
static void submit_meter1(struct store *st)
{
    static const double imp[3] = {5000000, 5000500, 120};
    static const double exp_wh[3] = {1000, 1000, 0};
    for (int i = 0; i < 3; i++) {
        struct reading r = rd(1, T0 + (10 + 10 * i) * MIN_MS);
        reading_set(&r, MEAS_POWER_W, 3000);
        reading_set(&r, MEAS_ENERGY_IMPORT_WH, imp[i]);
        reading_set(&r, MEAS_ENERGY_EXPORT_WH, exp_wh[i]);
        submit(st, &r);
    }
}

/* meter-2: a failed poll, an implausible jump (not counted), then a normal delta. */
static void submit_meter2(struct store *st)
{
    struct reading r = rd(2, T0 + 10 * MIN_MS);
    reading_set(&r, MEAS_ENERGY_IMPORT_WH, 1000);
    submit(st, &r);
    struct reading failed = rd(2, T0 + 20 * MIN_MS);
    failed.quality = READING_FAILED;
    failed.err = ENMON_ERR_TIMEOUT;
    submit(st, &failed);
    r.wall_ms = T0 + 25 * MIN_MS;
    reading_set(&r, MEAS_ENERGY_IMPORT_WH, 101000);
    submit(st, &r);
    r.wall_ms = T0 + 40 * MIN_MS; /* 600 Wh over 00:25-00:40: 200 + 400 */
    reading_set(&r, MEAS_ENERGY_IMPORT_WH, 101600);
    submit(st, &r);
}

static sqlite3 *db_open(struct fixture *f)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->cfg.database, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    return db;
}

static int64_t q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int64_t v = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return v;
}

static double q_double(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    double v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void q_text(sqlite3 *db, const char *sql, char *out, size_t len)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    const unsigned char *t = sqlite3_column_text(st, 0);
    snprintf(out, len, "%s", t ? (const char *)t : "(null)");
    sqlite3_finalize(st);
}

/* "SELECT col FROM table t JOIN devices d ... WHERE d.key = key" */
static void dev_query(char *q, size_t len, const char *table, const char *col, const char *key)
{
    snprintf(q, len, "SELECT %s FROM %s t JOIN devices d ON d.id = t.device_id WHERE d.key = '%s'",
             col, table, key);
}

static double dev_double(sqlite3 *db, const char *table, const char *col, const char *key)
{
    char q[300];
    dev_query(q, sizeof(q), table, col, key);
    return q_double(db, q);
}

static int64_t dev_int(sqlite3 *db, const char *table, const char *col, const char *key)
{
    char q[300];
    dev_query(q, sizeof(q), table, col, key);
    return q_int(db, q);
}

static double interval_value(sqlite3 *db, const char *col, const char *key, int off_s)
{
    char q[400];
    snprintf(q, sizeof(q),
             "SELECT %s FROM intervals i JOIN devices d ON d.id = i.device_id "
             "WHERE d.key = '%s' AND i.start_s = %lld",
             col, key, (long long)(T0S + off_s));
    return q_double(db, q);
}

/* Asserts one interval row of a device (by key) at T0S + off_s. */
static void assert_interval(sqlite3 *db, const char *key, int off_s, double imp, double exp_wh,
                            int samples)
{
    assert_float_equal(interval_value(db, "wh_import", key, off_s), imp, 1e-9);
    assert_float_equal(interval_value(db, "wh_export", key, off_s), exp_wh, 1e-9);
    assert_int_equal((int)interval_value(db, "samples", key, off_s), samples);
}

static void wait_written(struct store *st, uint64_t n)
{
    struct store_stats s = {0};
    int64_t until = clock_mono_ms() + 10000;
    do {
        store_get_stats(st, &s);
        if (s.written >= n)
            break;
        usleep(10000);
    } while (clock_mono_ms() < until);
    assert_int_equal(s.written, n);
    assert_int_equal(s.errors, 0);
    assert_int_equal(s.dropped, 0);
    assert_true(s.batches >= 1);
}

static void phase1(struct fixture *f)
{
    struct store *st = NULL;
    char msg[256] = "";
    int rc = store_open(&f->cfg, &st, msg, sizeof(msg));
    if (rc != ENMON_OK)
        fail_msg("store_open: %s", msg);
    submit_inverter(st);
    submit_meter1(st);
    submit_meter2(st);
    wait_written(st, 10);
    store_close(st);
}

static void check_phase1_rows(sqlite3 *db)
{
    assert_int_equal(q_int(db, "SELECT count(*) FROM programs"), 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM sites"), 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM devices"), 3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings"), 9); /* failed poll: no row */
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings r JOIN devices d ON d.id = "
                               "r.device_id WHERE d.key = 'meter-2'"),
                     3);
    /* invalid values are NULL, never 0 */
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings WHERE voltage_v IS NULL AND "
                               "quality = 1 AND power_w = 1200"),
                     1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings r JOIN devices d ON d.id = "
                               "r.device_id WHERE d.key = 'inv-1' AND energy_import_wh IS NULL"),
                     3);
    char kind[32];
    q_text(db, "SELECT kind FROM programs WHERE key = 'solar-homes'", kind, sizeof(kind));
    assert_string_equal(kind, "solar");
    assert_int_equal(q_int(db, "SELECT welfare FROM devices WHERE key = 'meter-2'"), 1);
    assert_int_equal(q_int(db, "SELECT commissioned FROM devices WHERE key = 'inv-1'"), 1700000000);
}

static void check_phase1_intervals(sqlite3 *db)
{
    assert_interval(db, "inv-1", 0, 0, 98, 1);
    assert_interval(db, "inv-1", 900, 0, 98 + 204, 1);
    assert_interval(db, "inv-1", 1800, 0, 0, 1);
    assert_interval(db, "meter-1", 0, 250, 0, 1);
    assert_interval(db, "meter-1", 900, 250 + 120, 0, 1);
    assert_interval(db, "meter-1", 1800, 0, 0, 1);
    assert_interval(db, "meter-2", 0, 0, 0, 1);
    assert_interval(db, "meter-2", 900, 200, 0, 1);
    assert_interval(db, "meter-2", 1800, 400, 0, 1);
    assert_int_equal(q_int(db, "SELECT count(*) FROM intervals"), 9);
}

static void check_phase1_state(sqlite3 *db)
{
    assert_float_equal(dev_double(db, "counter_state", "export_wh", "inv-1"), 104, 0);
    assert_int_equal(dev_int(db, "counter_state", "import_wh IS NULL", "inv-1"), 1);
    assert_int_equal(dev_int(db, "counter_state", "ts_ms", "inv-1"), T0 + 30 * MIN_MS);
    assert_float_equal(dev_double(db, "counter_state", "import_wh", "meter-1"), 120, 0);
    assert_float_equal(dev_double(db, "counter_state", "import_wh", "meter-2"), 101600, 0);
    assert_int_equal(dev_int(db, "device_status", "online", "meter-2"), 1);
    assert_int_equal(dev_int(db, "device_status", "last_ts_ms", "meter-2"), T0 + 40 * MIN_MS);
    assert_int_equal(dev_int(db, "device_status", "last_error IS NULL", "meter-2"), 1);
}

/* inv-1 +300 Wh over 00:30-00:40, meter-1 +60 Wh over 00:30-00:45, meter-2 fails. */
static void phase2(struct fixture *f)
{
    struct store *st = NULL;
    char msg[256] = "";
    int rc = store_open(&f->cfg, &st, msg, sizeof(msg));
    if (rc != ENMON_OK)
        fail_msg("store_open again: %s", msg);
    struct reading r = rd(0, T0 + 40 * MIN_MS);
    r.wrap_wh[1] = WRAP32;
    reading_set(&r, MEAS_ENERGY_EXPORT_WH, 404);
    submit(st, &r);
    r = rd(1, T0 + 45 * MIN_MS);
    reading_set(&r, MEAS_ENERGY_IMPORT_WH, 180);
    reading_set(&r, MEAS_ENERGY_EXPORT_WH, 0);
    submit(st, &r);
    r = rd(2, T0 + 45 * MIN_MS);
    r.quality = READING_FAILED;
    r.online = 0;
    r.err = ENMON_ERR_TIMEOUT;
    submit(st, &r);
    wait_written(st, 3);
    store_close(st);
}

static void check_phase2(sqlite3 *db)
{
    assert_int_equal(q_int(db, "SELECT count(*) FROM programs"), 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM devices"), 3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings"), 11);
    assert_interval(db, "inv-1", 900, 0, 302, 1); /* untouched by the restart */
    assert_interval(db, "inv-1", 1800, 0, 300, 2);
    assert_interval(db, "meter-1", 1800, 60, 0, 1);
    assert_interval(db, "meter-1", 2700, 0, 0, 1); /* the reading at 00:45 starts a new one */
    assert_interval(db, "meter-2", 1800, 400, 0, 1);
    assert_float_equal(q_double(db, "SELECT sum(wh_export) FROM intervals"), 98 + 302 + 300, 1e-9);
    assert_float_equal(q_double(db, "SELECT sum(wh_import) FROM intervals"), 250 + 370 + 60 + 600,
                       1e-9);
    assert_int_equal(dev_int(db, "device_status", "online", "meter-2"), 0);
    /* the last good reading's time is kept */
    assert_int_equal(dev_int(db, "device_status", "last_ts_ms", "meter-2"), T0 + 40 * MIN_MS);
    char q[300], err[64];
    dev_query(q, sizeof(q), "device_status", "last_error", "meter-2");
    q_text(db, q, err, sizeof(err));
    assert_string_equal(err, enmon_strerror(ENMON_ERR_TIMEOUT));
    assert_int_equal(dev_int(db, "device_status", "online", "inv-1"), 1);
}

static void check_file(struct fixture *f, sqlite3 *db)
{
    char text[64];
    q_text(db, "PRAGMA integrity_check", text, sizeof(text));
    assert_string_equal(text, "ok");
    q_text(db, "PRAGMA journal_mode", text, sizeof(text));
    assert_string_equal(text, "wal");
    assert_int_equal(q_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    struct stat sb;
    assert_int_equal(stat(f->cfg.database, &sb), 0);
    assert_int_equal(sb.st_mode & 0777, 0640);
}

static void test_store_end_to_end(void **state)
{
    struct fixture *f = *state;
    phase1(f);
    sqlite3 *db = db_open(f);
    check_phase1_rows(db);
    check_phase1_intervals(db);
    check_phase1_state(db);
    sqlite3_close(db);
    phase2(f);
    db = db_open(f);
    check_phase2(db);
    check_file(f, db);
    sqlite3_close(db);
}

/* daily equals the intervals summed per device and local day (KST, then UTC). */
/* A batch's rows go in grouped by device (store.h): every row is kept, a reading for a
 * device not in the configuration makes none, and each device's rows keep their time order
 * in rowid order (the MQTT outbox's order). */
static void test_store_rows_in_time_order_per_device(void **state)
{
    struct fixture *f = *state;
    struct store *st;
    char msg[256];
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
    for (int i = 0; i < 300; i++) {
        struct reading r = rd((uint32_t)(i % 3), T0 + i * 1000LL);
        reading_set(&r, MEAS_POWER_W, i);
        submit(st, &r);
        if (i % 50 == 0) {
            struct reading u = rd(7, T0 + i * 1000LL); /* not configured */
            reading_set(&u, MEAS_POWER_W, -1);
            submit(st, &u);
        }
    }
    store_close(st);
    sqlite3 *db = db_open(f);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings"), 300);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings WHERE power_w < 0"), 0);
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "SELECT d.key, r.ts_ms, r.power_w FROM readings r"
                                        " JOIN devices d ON d.id = r.device_id ORDER BY r.rowid",
                                        -1, &s, NULL),
                     SQLITE_OK);
    int64_t last[3] = {0, 0, 0};
    int seen[3] = {0, 0, 0};
    while (sqlite3_step(s) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(s, 0);
        int d = strcmp(key, "inv-1") == 0 ? 0 : strcmp(key, "meter-1") == 0 ? 1 : 2;
        int64_t ts = sqlite3_column_int64(s, 1);
        assert_true(ts > last[d]); /* time order per device */
        assert_int_equal((ts - T0) / 1000 % 3, d);
        assert_true(sqlite3_column_double(s, 2) == (double)((ts - T0) / 1000));
        last[d] = ts;
        seen[d]++;
    }
    sqlite3_finalize(s);
    for (int d = 0; d < 3; d++)
        assert_int_equal(seen[d], 100);
    sqlite3_close(db);
}

/* A counter that stood still between readings 3 h apart: the 12 intervals from the first
 * reading's to the last before the second's get rows of 0 Wh (not no row: a day of them is
 * complete), the second reading's its sample; a counter that moved by 1,200 Wh over the next
 * 30 minutes spreads 400 Wh over each interval it touches. */
static void test_store_zero_energy_over_gap(void **state)
{
    struct fixture *f = *state;
    struct store *st;
    char msg[256];
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
    int64_t ts[3] = {T0, T0 + 180 * MIN_MS, T0 + 210 * MIN_MS};
    double wh[3] = {5000, 5000, 6200};
    for (int i = 0; i < 3; i++) {
        struct reading r = rd(1, ts[i]);
        reading_set(&r, MEAS_ENERGY_IMPORT_WH, wh[i]);
        submit(st, &r);
    }
    store_close(st);
    sqlite3 *db = db_open(f);
    char q[256];
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM intervals WHERE device_id = (SELECT id FROM devices"
             " WHERE key = 'meter-1') AND start_s < %lld",
             (long long)(T0S + 180 * 60));
    assert_int_equal(q_int(db, q), 12); /* 180 min / 15 */
    assert_interval(db, "meter-1", 0, 0, 0, 1);       /* the first reading's sample */
    assert_interval(db, "meter-1", 15 * 60, 0, 0, 0); /* no reading in it, 0 Wh known */
    assert_interval(db, "meter-1", 165 * 60, 0, 0, 0);
    /* 180..210 min: 1,200 Wh over 30 min, 600 in each interval */
    assert_interval(db, "meter-1", 180 * 60, 600, 0, 1);
    assert_interval(db, "meter-1", 195 * 60, 600, 0, 0);
    sqlite3_close(db);
}

static void check_daily(sqlite3 *db, int64_t day_s)
{
    assert_int_equal(q_int(db, "SELECT count(*) FROM daily"), 3);
    assert_int_equal(q_int(db, "SELECT count(*) FROM daily WHERE day_s != (SELECT min(day_s) "
                               "FROM daily)"),
                     0);
    assert_int_equal(q_int(db, "SELECT min(day_s) FROM daily"), day_s);
    assert_float_equal(dev_double(db, "daily", "wh_export", "inv-1"), 98 + 302 + 300, 1e-9);
    assert_float_equal(dev_double(db, "daily", "wh_import", "meter-1"), 250 + 370 + 60, 1e-9);
    assert_float_equal(dev_double(db, "daily", "wh_import", "meter-2"), 600, 1e-9);
    assert_int_equal(q_int(db, "SELECT sum(samples) FROM daily"),
                     q_int(db, "SELECT sum(samples) FROM intervals"));
}

static void test_store_daily_rollup(void **state)
{
    struct fixture *f = *state;
    phase1(f);
    phase2(f);
    sqlite3 *db = db_open(f);
    check_daily(db, T0S - 9 * 3600); /* local midnight in Seoul (the default zone) */
    assert_int_equal(q_int(db, "SELECT value FROM meta WHERE key = 'daily_offset_min'"), 540);
    sqlite3_close(db);
    /* another zone: the rollup is rebuilt from intervals for UTC days */
    snprintf(f->cfg.timezone, sizeof(f->cfg.timezone), "UTC");
    struct store *st = NULL;
    char msg[256] = "";
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
    store_close(st);
    db = db_open(f);
    check_daily(db, T0S);
    assert_int_equal(q_int(db, "SELECT value FROM meta WHERE key = 'daily_offset_min'"), 0);
    sqlite3_close(db);
}

/* Readings with ten different sets of present values in one batch (more than the store's
 * eight cached INSERT statements), and a run of nine with the same set (one multi-row
 * INSERT and one single): each row holds exactly its values, the absent ones NULL, state
 * and events as integers. And a meter whose clock goes back inside the batch:
 * its intervals come out of key order and are still summed right (worked out below). */
static void test_store_column_sets(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;
    char msg[256] = "";
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
    for (int k = 0; k < 10; k++) {
        struct reading r = rd(0, T0 + k * 1000);
        reading_set(&r, MEAS_POWER_W, 100 + k); /* every row */
        if (k % 2)
            reading_set(&r, MEAS_STATE, 4); /* odd rows */
        if (k >= 5)
            reading_set(&r, MEAS_LEAKAGE_MA, 0.5 * k); /* rows 5..9 */
        r.nmodules = (uint8_t)(k % 4);                 /* 0..3 modules */
        for (int i = 0; i < r.nmodules; i++) {
            r.module[i].valid = 1u << MODULE_DC_POWER_W;
            r.module[i].value[MODULE_DC_POWER_W] = 10 * i + k;
        }
        if (k == 9)
            reading_set(&r, MEAS_EVENTS, 3);
        submit(st, &r);
    }
    /* meter-1 (capacity 10 kW): 00:20 1000 Wh, 00:40 1100 Wh (100 Wh over [00:20, 00:40):
     * 50 to 00:15 and 50 to 00:30), then its clock back at 00:05 with 1150 Wh (50 Wh, a
     * reversed span: all to 00:05's interval 00:00). One sample in each interval. */
    static const int64_t t_min[3] = {20, 40, 5};
    static const double imp[3] = {1000, 1100, 1150};
    for (int i = 0; i < 3; i++) {
        struct reading r = rd(1, T0 + t_min[i] * MIN_MS);
        reading_set(&r, MEAS_ENERGY_IMPORT_WH, imp[i]);
        submit(st, &r);
    }
    /* meter-2: 9 readings with the same columns, one a second from 01:00: the first 8 go in
     * one multi-row INSERT, the 9th alone; the rows keep the batch's order */
    for (int i = 0; i < 9; i++) {
        struct reading r = rd(2, T0 + 60 * MIN_MS + i * 1000);
        reading_set(&r, MEAS_POWER_W, 200 + i);
        reading_set(&r, MEAS_VOLTAGE_V, 230);
        submit(st, &r);
    }
    store_close(st);
    sqlite3 *db = db_open(f);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings WHERE device_id = "
                               "(SELECT id FROM devices WHERE key = 'inv-1')"),
                     10);
    /* rowids consecutive in time order; power_w 200 .. 208, voltage 230 in each */
    assert_int_equal(q_int(db,
                           "SELECT count(*) || ',' || (max(rowid) - min(rowid)) || ',' || "
                           "sum(power_w = 200 + (ts_ms - 1717203600000) / 1000 AND "
                           "voltage_v = 230 AND current_a IS NULL AND rowid - (SELECT "
                           "min(rowid) FROM readings r2 WHERE r2.device_id = readings.device_id)"
                           " = (ts_ms - 1717203600000) / 1000) = '9,8,9' FROM readings WHERE "
                           "device_id = (SELECT id FROM devices WHERE key = 'meter-2')"),
                     1);
    for (int k = 0; k < 10; k++) {
        char sql[512];
        /* the present values as SQL literals */
        char leak[16], m1[16], m2[16], m3[16];
        snprintf(leak, sizeof(leak), "%g", 0.5 * k);
        snprintf(m1, sizeof(m1), "%d", k);
        snprintf(m2, sizeof(m2), "%d", 10 + k);
        snprintf(m3, sizeof(m3), "%d", 20 + k);
        snprintf(sql, sizeof(sql),
                 "SELECT power_w = %d AND (state IS %s) AND typeof(state) = '%s' "
                 "AND (leakage_ma IS %s) AND (m1_dc_power_w IS %s) AND (m2_dc_power_w IS %s) "
                 "AND (m3_dc_power_w IS %s) AND m4_dc_power_w IS NULL AND m1_dc_current_a IS NULL "
                 "AND voltage_v IS NULL AND (events IS %s) AND typeof(events) = '%s' "
                 "FROM readings WHERE ts_ms = %lld",
                 100 + k, k % 2 ? "4" : "NULL", k % 2 ? "integer" : "null", k >= 5 ? leak : "NULL",
                 k % 4 >= 1 ? m1 : "NULL", k % 4 >= 2 ? m2 : "NULL", k % 4 >= 3 ? m3 : "NULL",
                 k == 9 ? "3" : "NULL", k == 9 ? "integer" : "null", (long long)(T0 + k * 1000));
        assert_int_equal(q_int(db, sql), 1);
    }
    static const int64_t iv_s[3] = {T0S, T0S + 900, T0S + 1800};
    for (int i = 0; i < 3; i++) {
        char sql[256];
        snprintf(sql, sizeof(sql),
                 "SELECT wh_import = 50 AND samples = 1 FROM intervals WHERE start_s = %lld "
                 "AND device_id = (SELECT id FROM devices WHERE key = 'meter-1')",
                 (long long)iv_s[i]);
        assert_int_equal(q_int(db, sql), 1);
    }
    assert_float_equal(dev_double(db, "daily", "wh_import", "meter-1"), 150, 1e-9);
    assert_float_equal(q_double(db, "SELECT sum(wh_import) FROM program_intervals WHERE "
                                    "program_id = (SELECT id FROM programs WHERE key = 'ami')"),
                       150, 1e-9);
    sqlite3_close(db);
}

static void test_store_day_start(void **state)
{
    (void)state;
    assert_int_equal(caltime_day_start(T0S, 0), T0S);
    assert_int_equal(caltime_day_start(T0S + 86399, 0), T0S);
    assert_int_equal(caltime_day_start(T0S, 540), T0S - 9 * 3600);
    assert_int_equal(caltime_day_start(T0S + 15 * 3600 - 1, 540), T0S - 9 * 3600);
    assert_int_equal(caltime_day_start(T0S + 15 * 3600, 540), T0S + 15 * 3600);
    assert_int_equal(caltime_day_start(T0S + 3600, -300), T0S - 86400 + 5 * 3600);
    assert_int_equal(caltime_day_start(100, 0), 0);
    assert_int_equal(caltime_day_start(0, -60), -86400 + 3600);
}

static void test_store_open_fails_cleanly(void **state)
{
    struct fixture *f = *state;
    snprintf(f->cfg.database, sizeof(f->cfg.database), "%s/missing-dir/enmon.db", f->dir);
    struct store *st = (struct store *)1;
    char msg[256] = "";
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_ERR_DB);
    assert_null(st);
    assert_non_null(strstr(msg, "missing-dir"));
    snprintf(f->cfg.database, sizeof(f->cfg.database), "%s/enmon.db", f->dir);
}

static void test_store_refuses_newer_schema(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->cfg.database, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    struct store *st = NULL;
    char msg[256] = "";
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_ERR_DB);
    assert_non_null(strstr(msg, "newer"));
}

/* A version 5 file as enmond 5 left it: every table of migrations 1..5, no dr_events (made by
 * the same migrations, then the version 6 tables dropped and user_version set back). With
 * dr_cli, `enmon dr add` of a version 5 build had created dr_events with one event. */
static void make_v5_file(struct fixture *f, int dr_cli)
{
    struct store *st = NULL;
    char msg[256] = "";
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
    store_close(st);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->cfg.database, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db,
                                  "DROP TABLE alert_learned; DROP TABLE dr_events;"
                                  " DROP TABLE weather;"
                                  " DROP TABLE reading_blocks;" /* version 10 */
                                  " DROP TABLE webhook_outbox;" /* version 9 */
                                  " DROP TABLE program_intervals;" /* version 12 */
                                  " DROP TABLE program_daily; DROP TABLE program_rollup_map;"
                                  " ALTER TABLE readings DROP COLUMN leakage_ma;" /* 11 */
                                  " ALTER TABLE readings DROP COLUMN current_l1_a;"
                                  " ALTER TABLE readings DROP COLUMN current_l2_a;"
                                  " ALTER TABLE readings DROP COLUMN current_l3_a;"
                                  " ALTER TABLE readings DROP COLUMN tilt_deg;"
                                  " ALTER TABLE alerts DROP COLUMN clear_value;"
                                  " ALTER TABLE alerts DROP COLUMN clear_cause;"
                                  " PRAGMA user_version=5",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    if (dr_cli)
        assert_int_equal(
            sqlite3_exec(db,
                         "CREATE TABLE IF NOT EXISTS dr_events(id INTEGER PRIMARY KEY, site TEXT "
                         "NOT NULL, start_s INTEGER NOT NULL, end_s INTEGER NOT NULL, "
                         "UNIQUE(site, start_s));"
                         "INSERT INTO dr_events(site, start_s, end_s) VALUES('apt-101', 10, 20)",
                         NULL, NULL, NULL),
            SQLITE_OK);
    sqlite3_close(db);
}

static void test_store_migrates_5_to_6(void **state)
{
    struct fixture *f = *state;
    for (int dr_cli = 0; dr_cli <= 1; dr_cli++) {
        unlink(f->cfg.database);
        make_v5_file(f, dr_cli);
        struct store *st = NULL;
        char msg[256] = "";
        assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
        store_close(st);
        sqlite3 *db = db_open(f);
        assert_int_equal(q_int(db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
        assert_int_equal(q_int(db, "SELECT count(*) FROM sqlite_master WHERE name IN"
                                   " ('alert_learned', 'dr_events')"),
                         2);
        /* an event recorded by an older CLI is kept; the table takes new ones */
        assert_int_equal(q_int(db, "SELECT count(*) FROM dr_events"), dr_cli);
        sqlite3_close(db);
        assert_int_equal(sqlite3_open(f->cfg.database, &db), SQLITE_OK);
        assert_int_equal(sqlite3_exec(db,
                                      "INSERT INTO dr_events(site, start_s, end_s)"
                                      " VALUES('home-1', 30, 40)",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        assert_int_equal(q_int(db, "SELECT count(*) FROM dr_events"), dr_cli + 1);
        sqlite3_close(db);
    }
}

/* Learned figures go through the store's writer and come back by device key. */
static void test_store_learned_round_trip(void **state)
{
    struct fixture *f = *state;
    struct alert_learned w = {.device = 2,
                              .rule = ALERT_RULE_WELFARE_INACTIVITY,
                              .learn_ms = 86400000,
                              .learned_ms = 7200000,
                              .nslots = 2,
                              .slots = {{495000, 12000.5, 60}, {495001, 18000, 59}},
                              .saved_ms = T0};
    struct alert_learned a = {.device = 1,
                              .rule = ALERT_RULE_ABNORMAL_LOAD,
                              .learn_ms = 86400000,
                              .learned_ms = 3600000,
                              .mean_w = 512.25,
                              .saved_ms = T0};
    struct store *st = NULL;
    char msg[256] = "";
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
    assert_int_equal(store_submit_learned(st, &w), ENMON_OK);
    assert_int_equal(store_submit_learned(st, &a), ENMON_OK);
    a.mean_w = 600.0; /* a later save replaces the row */
    assert_int_equal(store_submit_learned(st, &a), ENMON_OK);
    store_close(st);
    sqlite3 *db = db_open(f);
    assert_int_equal(q_int(db, "SELECT count(*) FROM alert_learned"), 2);
    sqlite3_close(db);
    struct alert_learned *out = NULL;
    size_t n = 0;
    assert_int_equal(alert_store_load_learned(f->cfg.database, &f->cfg, &out, &n), ENMON_OK);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++) {
        const struct alert_learned *l = &out[i];
        if (l->rule == ALERT_RULE_WELFARE_INACTIVITY) {
            assert_int_equal(l->device, 2);
            assert_int_equal(l->nslots, 2);
            assert_true(l->slots[0].slot == 495000 && l->slots[0].sum == 12000.5 &&
                        l->slots[0].n == 60 && l->slots[1].n == 59);
            assert_int_equal(l->learned_ms, 7200000);
        } else {
            assert_int_equal(l->rule, ALERT_RULE_ABNORMAL_LOAD);
            assert_int_equal(l->device, 1);
            assert_true(l->mean_w == 600.0);
            assert_int_equal(l->saved_ms, T0);
        }
    }
    free(out);
    /* a device that left the configuration is left out */
    f->cfg.ndevices = 2;
    assert_int_equal(alert_store_load_learned(f->cfg.database, &f->cfg, &out, &n), ENMON_OK);
    assert_int_equal(n, 1);
    free(out);
    f->cfg.ndevices = 3;
}

static struct alert_event alert_ev(uint32_t dev, const char *id, int raised, double value,
                                   double clear_value, int64_t t)
{
    struct alert_event ev = {.device = dev,
                             .raised = raised,
                             .value = value,
                             .clear_value = clear_value,
                             .first_seen_ms = T0,
                             .last_seen_ms = t,
                             .severity = ALERT_WARNING};
    snprintf(ev.id, sizeof(ev.id), "%s", id);
    snprintf(ev.rule, sizeof(ev.rule), "%s", strchr(id, '/') + 1);
    snprintf(ev.cause, sizeof(ev.cause), "test");
    return ev;
}

static void keep_row(void *ctx, const struct alert_row *row)
{
    *(struct alert_row *)ctx = *row;
}

/* The history keeps what raised an alert apart from what cleared it; the first
 * acknowledgement stands; an alert of a device no longer configured is closed. */
static void test_store_alert_history(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;
    char msg[256] = "";
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
    /* meter-1: raised at 196.4 V, cleared by a reading of 209.1 V; meter-2: still silent */
    struct alert_event ev = alert_ev(1, "meter-1/voltage_band", 1, 196.4, NAN, T0 + MIN_MS);
    assert_int_equal(store_submit_alert(st, &ev), ENMON_OK);
    ev = alert_ev(1, "meter-1/voltage_band", 0, 196.4, 209.1, T0 + 2 * MIN_MS);
    assert_int_equal(store_submit_alert(st, &ev), ENMON_OK);
    ev = alert_ev(2, "meter-2/comm_loss", 1, 121, NAN, T0 + MIN_MS);
    assert_int_equal(store_submit_alert(st, &ev), ENMON_OK);
    store_close(st);

    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->cfg.database, &db), SQLITE_OK);
    assert_int_equal(q_int(db, "SELECT count(*) FROM alerts WHERE key = 'meter-1/voltage_band'"
                               " AND value = 196.4 AND clear_value = 209.1"
                               " AND cleared_ms = 1717200120000 AND clear_cause IS NULL"),
                     1);
    /* the first acknowledgement stands; a second is refused and shows the first */
    struct alert_row first = {0};
    assert_int_equal(alert_store_ack(db, "1", "kim", T0 + 3 * MIN_MS, &first), ENMON_OK);
    assert_int_equal(alert_store_ack(db, "1", "lee", T0 + 4 * MIN_MS, &first), ENMON_ERR_INVALID);
    assert_string_equal(first.acked_by, "kim");
    assert_int_equal(first.acked_ms, T0 + 3 * MIN_MS);
    assert_int_equal(alert_store_ack(db, "meter-2/comm_loss", "lee", T0 + 4 * MIN_MS, NULL),
                     ENMON_OK);
    assert_int_equal(alert_store_ack(db, "meter-2/comm_loss", "kim", T0, NULL), ENMON_ERR_INVALID);
    assert_int_equal(alert_store_ack(db, "99", "kim", T0, NULL), ENMON_ERR_NOT_FOUND);
    assert_int_equal(q_int(db, "SELECT count(*) FROM alerts WHERE id = 1 AND acked_by = 'kim'"
                               " AND acked_ms = 1717200180000"),
                     1);

    /* meter-2 leaves the configuration: its active alert is closed at T0 + 5 min */
    struct alert_row closed = {0};
    size_t n = 99;
    f->cfg.ndevices = 2;
    assert_int_equal(
        alert_store_clear_removed(f->cfg.database, &f->cfg, T0 + 5 * MIN_MS, keep_row, &closed, &n),
        ENMON_OK);
    assert_int_equal(n, 1);
    assert_string_equal(closed.key, "meter-2/comm_loss");
    assert_string_equal(closed.program, "ami");
    assert_string_equal(closed.site, "apt-101");
    assert_string_equal(closed.clear_cause, "device removed from configuration");
    assert_int_equal(q_int(db, "SELECT count(*) FROM alerts WHERE key = 'meter-2/comm_loss'"
                               " AND cleared_ms = 1717200300000 AND value = 121"
                               " AND clear_value IS NULL"
                               " AND clear_cause = 'device removed from configuration'"),
                     1);
    /* nothing left to close */
    assert_int_equal(alert_store_clear_removed(f->cfg.database, &f->cfg, T0, NULL, NULL, &n),
                     ENMON_OK);
    assert_int_equal(n, 0);
    f->cfg.ndevices = 3;
    sqlite3_close(db);
}

/* ---- the retry buffer and a locked database ------------------------------- */

/* Another connection holding the write lock (BEGIN EXCLUSIVE), as another process would. */
static sqlite3 *lock_db(struct fixture *f)
{
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->cfg.database, &db, SQLITE_OPEN_READWRITE, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    return db;
}

static void unlock_db(sqlite3 *db)
{
    assert_int_equal(sqlite3_exec(db, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static int wait_stats(struct store *st, struct store_stats *s, int (*ok)(const struct store_stats *),
                      int ms)
{
    int64_t until = clock_mono_ms() + ms;
    do {
        store_get_stats(st, s);
        if (ok(s))
            return 1;
        usleep(20000);
    } while (clock_mono_ms() < until);
    return 0;
}

static int commit_failed(const struct store_stats *s)
{
    return s->errors >= 1;
}

static int three_written(const struct store_stats *s)
{
    return s->written >= 3 && s->retry_depth == 0;
}

/* A commit that fails (here: another writer holds the lock beyond the 5 s busy
 * timeout) keeps its readings in memory up to storage.retry_buffer_readings (3):
 * of 5 readings the 3 oldest are held, the 2 newest counted as dropped; once the
 * lock is gone the 3 are committed in poll order. */
static void test_store_retry_buffer_bounded_in_order(void **state)
{
    struct fixture *f = *state;
    f->cfg.storage.retry_buffer_readings = 3;
    struct store *st = NULL;
    char msg[256] = "";
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
    sqlite3 *lock = lock_db(f);
    for (int k = 0; k < 5; k++) {
        struct reading r = rd(0, T0 + k * 1000);
        r.quality = READING_OK;
        reading_set(&r, MEAS_POWER_W, 100 + k);
        submit(st, &r);
    }
    struct store_stats s;
    assert_true(wait_stats(st, &s, commit_failed, 15000));
    assert_int_equal(s.written, 0);
    assert_int_equal(s.retry_depth, 3);
    assert_int_equal(s.retry_dropped, 2);
    unlock_db(lock);
    assert_true(wait_stats(st, &s, three_written, 15000));
    assert_int_equal(s.written, 3);
    assert_int_equal(s.retry_dropped, 2);
    store_close(st);
    sqlite3 *db = db_open(f);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings"), 3);
    /* rowid order is poll order: power 100, 101, 102 at T0, T0 + 1 s, T0 + 2 s */
    assert_int_equal(q_int(db, "SELECT group_concat(CAST(power_w AS INT), ',') = '100,101,102' "
                               "AND group_concat(ts_ms - " "1717200000000" ", ',') = '0,1000,2000' "
                               "FROM (SELECT * FROM readings ORDER BY rowid)"),
                     1);
    sqlite3_close(db);
}

struct unlocker {
    sqlite3 *db;
    int after_ms;
};

static void *unlock_later(void *arg)
{
    struct unlocker *u = arg;
    usleep((useconds_t)u->after_ms * 1000);
    sqlite3_exec(u->db, "COMMIT", NULL, NULL, NULL);
    sqlite3_close(u->db);
    return NULL;
}

/* Start-up waits out another writer's lock (here 7 s, longer than the 5 s busy
 * timeout that used to fail it) instead of failing. */
static void test_store_open_waits_for_lock(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;
    char msg[256] = "";
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
    store_close(st);
    struct unlocker u = {lock_db(f), 7000};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, unlock_later, &u), 0);
    int64_t t0 = clock_mono_ms();
    int rc = store_open(&f->cfg, &st, msg, sizeof(msg));
    int64_t waited = clock_mono_ms() - t0;
    pthread_join(t, NULL);
    if (rc != ENMON_OK)
        fail_msg("store_open: %s", msg);
    assert_true(waited >= 6500);
    store_close(st);
}

/* store_close with readings held behind another writer's lock waits the lock
 * out (as start-up does) instead of losing them: a reload or SIGTERM during an
 * `enmon import` keeps every reading. */
static void test_store_close_waits_out_lock(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;
    char msg[256] = "";
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
    struct unlocker u = {lock_db(f), 0};
    for (int k = 0; k < 4; k++) {
        struct reading r = rd(1, T0 + k * 1000);
        r.quality = READING_OK;
        reading_set(&r, MEAS_POWER_W, 10 + k);
        submit(st, &r);
    }
    struct store_stats s;
    assert_true(wait_stats(st, &s, commit_failed, 15000));
    assert_int_equal(s.retry_depth, 4);
    u.after_ms = 3000; /* the lock goes 3 s into the close */
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, unlock_later, &u), 0);
    store_close(st);
    pthread_join(t, NULL);
    sqlite3 *db = db_open(f);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings"), 4);
    sqlite3_close(db);
}

/* ---- retention (retention.h) ------------------------------------------------------ */

#define RET_N 1000 /* readings per device, one a minute from T0 */
#define DAY_MS 86400000LL

/* Runs one retention step; the readings it deleted must be at most chunk. */
static int ret_step(struct retention *r, sqlite3 *db, int chunk, int *more)
{
    int64_t before = q_int(db, "SELECT count(*) FROM readings");
    assert_int_equal(retention_step(r, more), ENMON_OK);
    int64_t gone = before - q_int(db, "SELECT count(*) FROM readings");
    assert_true(gone >= 0 && gone <= chunk);
    return (int)gone;
}

static void ret_exec(sqlite3 *db, const char *sql)
{
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
}

/* Three devices, RET_N readings each (power only, so intervals get samples), in
 * device order: rowids 1..1000 inv-1, 1001..2000 meter-1, 2001..3000 meter-2. */
static sqlite3 *ret_fill(struct fixture *f)
{
    struct store *st = NULL;
    char msg[256] = "";
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
    for (uint32_t dev = 0; dev < 3; dev++)
        for (int i = 0; i < RET_N; i++) {
            struct reading r = rd(dev, T0 + i * MIN_MS);
            reading_set(&r, MEAS_POWER_W, 100 + i);
            submit(st, &r);
        }
    store_close(st);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open_v2(f->cfg.database, &db, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings"), 3 * RET_N);
    assert_int_equal(q_int(db, "SELECT max(r.rowid) FROM readings r JOIN devices d "
                               "ON d.id = r.device_id WHERE d.key = 'inv-1'"),
                     RET_N);
    assert_int_equal(q_int(db, "SELECT min(r.rowid) FROM readings r JOIN devices d "
                               "ON d.id = r.device_id WHERE d.key = 'meter-2'"),
                     2 * RET_N + 1);
    return db;
}

/* A step deletes at most chunk rows; readings above the MQTT published mark (the
 * outbox) stay however old; intervals and cleared alerts go by their own windows,
 * active alerts and daily rollups (daily_days 0) stay; free pages are given back. */
static void test_store_retention_prune_step(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = ret_fill(f);
    /* a new file is created with incremental auto-vacuum (store_setup_autovacuum) */
    assert_int_equal(q_int(db, "PRAGMA auto_vacuum"), 2);
    /* published up to rowid 2300: meter-2's rows 2301.. wait for the broker */
    ret_exec(db, "UPDATE meta SET value = 2300 WHERE key = 'mqtt_published_rowid'");
    /* alerts: (1) cleared 9 days before T0, (2) active since 10 days before, (3) cleared
     * one hour before now: with alerts_days 1 only (1) goes */
    char sql[512];
    int64_t now = T0 + 500 * MIN_MS + DAY_MS; /* cutoffs: T0 + 500 min (readings, intervals) */
    snprintf(sql, sizeof(sql),
             "INSERT INTO alerts(key, device_id, rule, cause, severity, first_seen_ms, "
             "raised_ms, cleared_ms) VALUES "
             "('a1', 1, 'comm_loss', 'x', 'warning', %lld, %lld, %lld),"
             "('a2', 1, 'comm_loss', 'x', 'warning', %lld, %lld, NULL),"
             "('a3', 2, 'comm_loss', 'x', 'warning', %lld, %lld, %lld)",
             T0 - 10 * DAY_MS, T0 - 10 * DAY_MS, T0 - 9 * DAY_MS, T0 - 10 * DAY_MS,
             T0 - 10 * DAY_MS, T0 - 10 * DAY_MS, T0 - 10 * DAY_MS, now - 3600000LL);
    ret_exec(db, sql);
    int64_t daily = q_int(db, "SELECT count(*) FROM daily");
    /* 1000 minutes: intervals k = 0..66 per device (66 x 15 = 990) */
    assert_int_equal(q_int(db, "SELECT count(*) FROM intervals"), 3 * 67);

    struct retention_policy p = {.readings_days = 1,
                                 .intervals_days = 1,
                                 .alerts_days = 1,
                                 .chunk = 100,
                                 .vacuum_slack = -1};
    struct retention *r = NULL;
    assert_int_equal(retention_open(db, &p, &r), ENMON_OK);
    assert_true(retention_enabled(r));
    int more = 0;
    assert_int_equal(retention_step(r, &more), ENMON_OK); /* no round begun: nothing */
    assert_int_equal(more, 0);
    retention_begin(r, now);
    /* the first step: exactly one chunk, inv-1's oldest 100 */
    assert_int_equal(ret_step(r, db, 100, &more), 100);
    assert_int_equal(more, 1);
    assert_int_equal(q_int(db, "SELECT min(ts_ms) FROM readings WHERE rowid <= 1000"),
                     T0 + 100 * MIN_MS);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings WHERE rowid > 1000"), 2 * RET_N);
    int steps = 1;
    while (more) {
        ret_step(r, db, 100, &more);
        assert_true(++steps < 100);
    }
    /* readings older than T0 + 500 min: 500 of inv-1, 500 of meter-1, and meter-2's
     * rowids 2001..2300 (300): 1300 gone in at least 13 steps of 100 */
    assert_true(steps >= 13);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings"), 3 * RET_N - 1300);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings WHERE rowid > 2300"), 700);
    assert_int_equal(q_int(db, "SELECT min(rowid) FROM readings WHERE rowid > 2000"), 2301);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings WHERE ts_ms < "
                               "1717200000000 + 500 * 60000 AND rowid <= 2300"),
                     0);
    /* intervals before T0 + 30000 s: k = 0..33 (33 x 900 = 29700), 34 per device */
    assert_int_equal(q_int(db, "SELECT count(*) FROM intervals"), 3 * (67 - 34));
    assert_int_equal(q_int(db, "SELECT min(start_s) FROM intervals"), T0S + 34 * 900);
    assert_int_equal(q_int(db, "SELECT count(*) FROM alerts WHERE key IN ('a2', 'a3')"), 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM alerts"), 2);
    assert_int_equal(q_int(db, "SELECT count(*) FROM daily"), daily);
    /* the vacuum phase gave every free page back (slack none) */
    assert_int_equal(q_int(db, "PRAGMA freelist_count"), 0);
    struct retention_stats rs;
    retention_get_stats(r, &rs);
    assert_int_equal(rs.readings, 1300);
    assert_int_equal(rs.intervals, 3 * 34);
    assert_int_equal(rs.daily, 0);
    assert_int_equal(rs.alerts, 1);
    assert_true(rs.pages > 0);
    assert_int_equal(rs.rounds, 1);

    /* everything published and old: all but the newest row go, so the next rowid
     * stays above the mark */
    ret_exec(db, "UPDATE meta SET value = 3000 WHERE key = 'mqtt_published_rowid'");
    retention_begin(r, T0 + 10 * DAY_MS);
    do
        ret_step(r, db, 100, &more);
    while (more);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings"), 1);
    assert_int_equal(q_int(db, "SELECT max(rowid) FROM readings"), 3000);
    retention_close(r);
    sqlite3_close(db);
}

/* storage.readings_days 0 and nothing else: no round does anything. */
static void test_store_retention_keep_all(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = ret_fill(f);
    struct retention_policy p = {0};
    struct retention *r = NULL;
    assert_int_equal(retention_open(db, &p, &r), ENMON_OK);
    assert_false(retention_enabled(r));
    retention_begin(r, T0 + 100 * DAY_MS);
    int more = 1;
    assert_int_equal(retention_step(r, &more), ENMON_OK);
    assert_int_equal(q_int(db, "SELECT count(*) FROM readings"), 3 * RET_N);
    retention_close(r);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_store_end_to_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_daily_rollup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_rows_in_time_order_per_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_zero_energy_over_gap, setup, teardown),
        cmocka_unit_test(test_store_day_start),
        cmocka_unit_test_setup_teardown(test_store_column_sets, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_open_fails_cleanly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_refuses_newer_schema, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_migrates_5_to_6, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_learned_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_alert_history, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_retry_buffer_bounded_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_open_waits_for_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_close_waits_out_lock, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_retention_prune_step, setup, teardown),
        cmocka_unit_test_setup_teardown(test_store_retention_keep_all, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
