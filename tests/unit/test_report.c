/* test_report.c -- energy sums and device status read back from a database filled by the store. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "caltime.h"
#include "clock.h"
#include "config.h"
#include "err.h"
#include "reading.h"
#include "report.h"
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KST 540
#define JUN1 1717167600LL /* 2024-06-01 00:00 KST in UTC epoch seconds */
#define DAY 86400LL

struct fixture {
    char dir[64];
    struct enmon_config cfg;
    struct cfg_program programs[2];
    struct cfg_site sites[3];
    struct cfg_device devices[4];
};

static void add_device(struct fixture *f, int i, const char *id, int site, enum device_kind kind)
{
    struct cfg_device *d = &f->devices[i];
    *d = (struct cfg_device){.site = (uint32_t)site, .kind = kind, .unit = i + 1};
    snprintf(d->id, sizeof(d->id), "%s", id);
    snprintf(d->name, sizeof(d->name), "Device %s", id);
    d->program = f->sites[site].program;
}

static void fixture_config(struct fixture *f)
{
    snprintf(f->cfg.database, sizeof(f->cfg.database), "%s/enmon.db", f->dir);
    f->programs[0] =
        (struct cfg_program){.id = "solar-homes", .name = "Solar homes", .kind = PROGRAM_SOLAR};
    f->programs[1] = (struct cfg_program){.id = "ami", .name = "AMI", .kind = PROGRAM_AMI};
    f->sites[0] = (struct cfg_site){.id = "home-1", .name = "Home 1", .program = 0};
    f->sites[1] = (struct cfg_site){.id = "apt-101", .name = "Apt 101", .program = 1};
    f->sites[2] = (struct cfg_site){.id = "apt-102", .name = "Apt 102", .program = 1};
    add_device(f, 0, "inv-1", 0, DEVICE_INVERTER);
    add_device(f, 1, "meter-1", 1, DEVICE_METER);
    add_device(f, 2, "meter-2", 2, DEVICE_METER);
    add_device(f, 3, "meter-3", 2, DEVICE_METER); /* never polled */
    f->cfg.programs = f->programs;
    f->cfg.nprograms = 2;
    f->cfg.sites = f->sites;
    f->cfg.nsites = 3;
    f->cfg.devices = f->devices;
    f->cfg.ndevices = 4;
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/enmon-test-report-XXXXXX");
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

/* UTC epoch ms of a local (KST) date and time. */
static int64_t local_ms(const char *date, int h, int m)
{
    int64_t s = 0;
    assert_int_equal(caltime_parse_date(date, KST, &s), ENMON_OK);
    return (s + h * 3600 + m * 60) * 1000;
}

static void put(struct store *st, uint32_t dev, int64_t t_ms, double imp, double exp_wh)
{
    struct reading r = {.device = dev, .wall_ms = t_ms, .mono_ms = t_ms, .online = 1};
    reading_set(&r, MEAS_POWER_W, 100.0 * (dev + 1));
    if (imp >= 0)
        reading_set(&r, MEAS_ENERGY_IMPORT_WH, imp);
    if (exp_wh >= 0)
        reading_set(&r, MEAS_ENERGY_EXPORT_WH, exp_wh);
    assert_int_equal(store_submit(st, &r), ENMON_OK);
}

/* In [06-01, 06-03): inv-1 exports 1000 + 3000 + 500 Wh (100 before, 700 after),
 * meter-1 imports 200 + 100 Wh (20 before, 1000 after), meter-2 50 in, 5 out. */
static void fill(struct store *st)
{
    put(st, 0, local_ms("2024-05-31", 23, 45), -1, 0);
    put(st, 0, local_ms("2024-06-01", 0, 0), -1, 100);
    put(st, 0, local_ms("2024-06-01", 12, 0), -1, 1100);
    put(st, 0, local_ms("2024-06-02", 23, 45), -1, 4100); /* a 35.75 h gap, spread evenly */
    put(st, 0, local_ms("2024-06-03", 0, 0), -1, 4600);
    put(st, 0, local_ms("2024-06-03", 0, 15), -1, 5300);
    put(st, 1, local_ms("2024-05-31", 23, 45), 10, -1);
    put(st, 1, local_ms("2024-06-01", 0, 0), 30, -1);
    put(st, 1, local_ms("2024-06-02", 10, 0), 230, -1);
    put(st, 1, local_ms("2024-06-03", 0, 0), 330, -1);
    put(st, 1, local_ms("2024-06-03", 1, 0), 1330, -1);
    put(st, 2, local_ms("2024-06-01", 6, 0), 0, 0);
    put(st, 2, local_ms("2024-06-01", 7, 0), 50, 5);
}

struct rows {
    int n;
    char key[8][64];
    int devices[8];
    double in[8], out[8];
};

static int collect(const struct report_energy_row *row, void *arg)
{
    struct rows *r = arg;
    assert_true(r->n < 8);
    snprintf(r->key[r->n], sizeof(r->key[0]), "%s", row->key);
    r->devices[r->n] = row->devices;
    r->in[r->n] = row->wh_import;
    r->out[r->n] = row->wh_export;
    r->n++;
    return 0;
}

static void energy(sqlite3 *db, int64_t from, int64_t to, enum report_group by, struct rows *r)
{
    char msg[256];
    memset(r, 0, sizeof(*r));
    assert_int_equal(report_energy(db, from, to, by, collect, r, msg, sizeof(msg)), ENMON_OK);
}

static void check_by_program(sqlite3 *db)
{
    struct rows r;
    energy(db, JUN1, JUN1 + 2 * DAY, REPORT_BY_PROGRAM, &r);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.key[0], "ami"); /* ordered by key */
    assert_float_equal(r.in[0], 200 + 100 + 50, 1e-6);
    assert_float_equal(r.out[0], 5, 1e-6);
    assert_int_equal(r.devices[0], 2);
    assert_string_equal(r.key[1], "solar-homes");
    assert_float_equal(r.in[1], 0, 0);
    assert_float_equal(r.out[1], 1000 + 3000 + 500, 1e-6);
    assert_int_equal(r.devices[1], 1);
    /* the day before only: what the range above excluded */
    energy(db, JUN1 - DAY, JUN1, REPORT_BY_PROGRAM, &r);
    assert_float_equal(r.in[0], 20, 1e-6);
    assert_float_equal(r.out[1], 100, 1e-6);
    /* June 1 alone: 12 of the gap's 35.75 hours */
    energy(db, JUN1, JUN1 + DAY, REPORT_BY_PROGRAM, &r);
    assert_float_equal(r.out[1], 1000 + 3000 * 12 / 35.75, 1e-6);
    assert_float_equal(r.in[0], 50 + 200 * 24 / 34.0, 1e-6); /* meter-1: 24 of 34 hours */
}

static void check_by_site(sqlite3 *db)
{
    struct rows r;
    energy(db, JUN1, JUN1 + 2 * DAY, REPORT_BY_SITE, &r);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.key[0], "apt-101");
    assert_float_equal(r.in[0], 300, 1e-6);
    assert_string_equal(r.key[1], "apt-102");
    assert_float_equal(r.in[1], 50, 1e-6);
    assert_float_equal(r.out[1], 5, 1e-6);
    assert_int_equal(r.devices[1], 1); /* meter-3 has no data */
    assert_string_equal(r.key[2], "home-1");
    assert_float_equal(r.out[2], 4500, 1e-6);
    /* a period without data still lists every site, at zero */
    energy(db, JUN1 + 30 * DAY, JUN1 + 31 * DAY, REPORT_BY_SITE, &r);
    assert_int_equal(r.n, 3);
    assert_float_equal(r.in[0] + r.out[0] + r.in[1] + r.out[1] + r.in[2] + r.out[2], 0, 0);
    assert_int_equal(r.devices[2], 0);
}

static void check_by_device(sqlite3 *db)
{
    struct rows r;
    energy(db, JUN1, JUN1 + 2 * DAY, REPORT_BY_DEVICE, &r);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.key[0], "meter-1");
    assert_string_equal(r.key[3], "inv-1");
    assert_float_equal(r.out[3], 4500, 1e-6);
}

struct devrows {
    int n, online[4], has_power[4];
    int64_t last[4];
    double power[4];
    char key[4][64];
};

static int collect_dev(const struct report_device_row *row, void *arg)
{
    struct devrows *d = arg;
    assert_true(d->n < 4);
    snprintf(d->key[d->n], sizeof(d->key[0]), "%s", row->key);
    d->online[d->n] = row->online;
    d->last[d->n] = row->last_ts_ms;
    d->has_power[d->n] = row->has_power;
    d->power[d->n] = row->power_w;
    d->n++;
    return 0;
}

static void check_devices(sqlite3 *db)
{
    struct devrows d = {0};
    char msg[256];
    assert_int_equal(report_devices(db, collect_dev, &d, msg, sizeof(msg)), ENMON_OK);
    assert_int_equal(d.n, 4);
    /* ordered by program, site, key: ami/apt-101, ami/apt-102 x2, solar-homes/home-1 */
    assert_string_equal(d.key[0], "meter-1");
    assert_int_equal(d.online[0], 1);
    assert_int_equal(d.last[0], local_ms("2024-06-03", 1, 0));
    assert_true(d.has_power[0]);
    assert_float_equal(d.power[0], 200, 0);
    assert_string_equal(d.key[2], "meter-3");
    assert_int_equal(d.online[2], -1);
    assert_int_equal(d.last[2], 0);
    assert_false(d.has_power[2]);
    assert_string_equal(d.key[3], "inv-1");
    assert_int_equal(d.last[3], local_ms("2024-06-03", 0, 15));
}

static void check_all(struct fixture *f)
{
    sqlite3 *db = NULL;
    char msg[256];
    assert_int_equal(report_open(f->cfg.database, &db, msg, sizeof(msg)), ENMON_OK);
    check_by_program(db);
    check_by_site(db);
    check_by_device(db);
    check_devices(db);
    sqlite3_close(db);
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
}

static void test_report_sums(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;
    char msg[256];
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
    fill(st);
    wait_written(st, 13);
    check_all(f); /* read-only, while the writer still holds the database */
    store_close(st);
    check_all(f); /* and after it closed */
}

static void energy_path(struct fixture *f, int64_t from, int64_t to, struct rows *r)
{
    sqlite3 *db = NULL;
    char msg[256];
    assert_int_equal(report_open(f->cfg.database, &db, msg, sizeof(msg)), ENMON_OK);
    energy(db, from, to, REPORT_BY_DEVICE, r);
    sqlite3_close(db);
}

static void assert_rows_equal(const struct rows *a, const struct rows *b)
{
    assert_int_equal(a->n, b->n);
    for (int i = 0; i < a->n; i++) {
        assert_string_equal(a->key[i], b->key[i]);
        assert_int_equal(a->devices[i], b->devices[i]);
        assert_float_equal(a->in[i], b->in[i], 1e-6);
        assert_float_equal(a->out[i], b->out[i], 1e-6);
    }
}

/* Whole local days come from the daily rollups; without them (a schema 1 file,
 * another zone) the same sums come from the intervals. */
static void test_report_daily_matches_intervals(void **state)
{
    struct fixture *f = *state;
    struct store *st = NULL;
    char msg[256];
    assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
    fill(st);
    wait_written(st, 13);
    store_close(st);
    struct rows daily[3], intervals[3];
    const int64_t from[3] = {JUN1 - DAY, JUN1, JUN1 + DAY};
    for (int i = 0; i < 3; i++)
        energy_path(f, from[i], from[i] + (i + 1) * DAY, &daily[i]);
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(f->cfg.database, &raw), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(raw, "UPDATE daily SET wh_import = wh_import + 1e6", NULL, NULL, NULL),
        SQLITE_OK);
    struct rows poisoned;
    energy_path(f, from[0], from[0] + DAY, &poisoned); /* proves the daily table is read */
    assert_float_equal(poisoned.in[0], daily[0].in[0] + 1e6, 1e-6);
    assert_int_equal(sqlite3_exec(raw, "DELETE FROM meta", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    for (int i = 0; i < 3; i++) {
        energy_path(f, from[i], from[i] + (i + 1) * DAY, &intervals[i]);
        assert_rows_equal(&daily[i], &intervals[i]);
    }
}

static void test_report_open_errors(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = (sqlite3 *)1;
    char msg[256] = "";
    assert_int_equal(report_open(f->cfg.database, &db, msg, sizeof(msg)), ENMON_ERR_DB);
    assert_null(db);
    assert_non_null(strstr(msg, "enmon.db"));
    sqlite3 *raw = NULL; /* an SQLite file without the enmon schema */
    assert_int_equal(sqlite3_open(f->cfg.database, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, "CREATE TABLE t(x)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);
    assert_int_equal(report_open(f->cfg.database, &db, msg, sizeof(msg)), ENMON_ERR_DB);
    assert_non_null(strstr(msg, "not an enmon database"));
}

static void test_parse_group(void **state)
{
    (void)state;
    enum report_group g = REPORT_BY_PROGRAM;
    assert_int_equal(report_parse_group("site", &g), ENMON_OK);
    assert_int_equal(g, REPORT_BY_SITE);
    assert_int_equal(report_parse_group("building", &g), ENMON_ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_report_sums, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_daily_matches_intervals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_report_open_errors, setup, teardown),
        cmocka_unit_test(test_parse_group),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
