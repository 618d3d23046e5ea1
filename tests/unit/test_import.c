/* test_import.c -- CSV interval import: time and line parsing, errors by line number, nothing
 * partial kept, hourly rows split in four, idempotent re-import. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "caltime.h"
#include "err.h"
#include "import.h"
#include "store_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define KST_MIN 540
#define T_0600_UTC 1717221600 /* 2024-06-01T06:00:00Z = 15:00 KST */

struct fixture {
    char dir[64], path[96];
    sqlite3 *db;
};

static int setup(void **state)
{
    static struct cfg_program prog = {
        .id = "happy-led", .name = "LED", .kind = PROGRAM_LED_RETROFIT};
    static struct cfg_site site = {.id = "led-1", .name = "LED 1", .program = 0};
    static struct cfg_link link = {.uri = "tcp://127.0.0.1:1502", .kind = LINK_TCP};
    static struct cfg_device devs[2] = {
        {.id = "m1", .name = "m1", .kind = DEVICE_METER, .unit = 1},
        {.id = "m2", .name = "m2", .kind = DEVICE_METER, .unit = 2},
    };
    struct enmon_config cfg = {.programs = &prog,
                               .nprograms = 1,
                               .sites = &site,
                               .nsites = 1,
                               .devices = devs,
                               .ndevices = 2,
                               .links = &link,
                               .nlinks = 1};
    struct fixture *f = calloc(1, sizeof(*f));
    char msg[256];
    int64_t ids[2];
    snprintf(f->dir, sizeof(f->dir), "/tmp/enmon-import-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/enmon.db", f->dir);
    sqlite3 *db;
    assert_int_equal(store_schema_open(f->path, &db, msg, sizeof(msg)), ENMON_OK);
    assert_int_equal(store_schema_migrate(db, msg, sizeof(msg)), ENMON_OK);
    assert_int_equal(store_schema_sync_config(db, &cfg, ids, msg, sizeof(msg)), ENMON_OK);
    assert_int_equal(store_schema_sync_daily(db, KST_MIN, msg, sizeof(msg)), ENMON_OK);
    sqlite3_close(db);
    assert_int_equal(import_open(f->path, &f->db, msg, sizeof(msg)), ENMON_OK);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    char p[128];
    sqlite3_close(f->db);
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Imports text; *errs gets what was reported (free it). */
static int run_import(struct fixture *f, const char *text, enum import_step step,
                      struct import_result *res, char **errs)
{
    FILE *in = fmemopen((void *)text, strlen(text), "r");
    size_t len;
    FILE *e = open_memstream(errs, &len);
    char msg[256];
    int rc = import_intervals(f->db, in, "h.csv", KST_MIN, step, e, res, msg, sizeof(msg));
    fclose(in);
    fclose(e);
    return rc;
}

static double sum_sql(struct fixture *f, const char *sql)
{
    sqlite3_stmt *st;
    assert_int_equal(sqlite3_prepare_v2(f->db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    double v = sqlite3_column_double(st, 0);
    sqlite3_finalize(st);
    return v;
}

static void test_parse_time(void **state)
{
    (void)state;
    int64_t t;
    assert_int_equal(caltime_parse_datetime("2024-06-01T15:00:00+09:00", 0, &t), ENMON_OK);
    assert_true(t == T_0600_UTC);
    assert_int_equal(caltime_parse_datetime("2024-06-01 15:00", KST_MIN, &t), ENMON_OK);
    assert_true(t == T_0600_UTC);
    assert_int_equal(caltime_parse_datetime("2024-06-01T06:00:00Z", KST_MIN, &t), ENMON_OK);
    assert_true(t == T_0600_UTC);
    assert_int_equal(caltime_parse_datetime("2024-06-01T10:30-0430", KST_MIN, &t), ENMON_OK);
    assert_true(t == T_0600_UTC + 9 * 3600);
    assert_int_equal(caltime_parse_datetime("2024-04-31T00:00", KST_MIN, &t), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_datetime("2024-06-01T24:00", KST_MIN, &t), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_datetime("2024-06-01T10:00+9", KST_MIN, &t), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_datetime("yesterday", KST_MIN, &t), ENMON_ERR_PARSE);
}

static void test_parse_line(void **state)
{
    (void)state;
    struct import_line l;
    char why[128];
    assert_int_equal(
        import_parse_line("m1, 2024-06-01T15:00+09:00 ,12.5,", KST_MIN, &l, why, sizeof(why)),
        ENMON_OK);
    assert_string_equal(l.device, "m1");
    assert_float_equal(l.wh_import, 12.5, 1e-12);
    assert_float_equal(l.wh_export, 0.0, 1e-12);
    assert_int_equal(import_parse_line("m1,2024-06-01T15:00,abc,0", KST_MIN, &l, why, sizeof(why)),
                     ENMON_ERR_PARSE);
    assert_string_equal(why, "wh_import: 'abc' is not a number");
    assert_int_equal(import_parse_line("m1,2024-06-01T15:00,1,-2", KST_MIN, &l, why, sizeof(why)),
                     ENMON_ERR_PARSE);
    assert_string_equal(why, "wh_export: -2 is negative");
    assert_int_equal(import_parse_line("m1,2024-06-01T15:00,1", KST_MIN, &l, why, sizeof(why)),
                     ENMON_ERR_PARSE);
    assert_non_null(strstr(why, "3 fields"));
    assert_int_equal(import_parse_line(",2024-06-01T15:00,1,1", KST_MIN, &l, why, sizeof(why)),
                     ENMON_ERR_PARSE);
    assert_string_equal(why, "device: empty");
    assert_int_equal(import_parse_line("m1,15:00,1,1", KST_MIN, &l, why, sizeof(why)),
                     ENMON_ERR_PARSE);
    assert_non_null(strstr(why, "start: '15:00'"));
}

/* A start with an offset other than the zone's is an error (not a shift into another day),
 * however exact the instant; the zone's own offset in any spelling, and no offset, are fine. */
static void test_parse_line_other_offset(void **state)
{
    (void)state;
    struct import_line l;
    char why[256];
    /* 00:15 at +09:30 = 2024-05-31T14:45Z = 23:45 of May 31 at +09:00: the day before */
    assert_int_equal(
        import_parse_line("m1,2024-06-01T00:15:00+09:30,10,0", KST_MIN, &l, why, sizeof(why)),
        ENMON_ERR_PARSE);
    assert_string_equal(why, "start: '2024-06-01T00:15:00+09:30' has UTC offset +09:30, not the "
                             "zone's +09:00 (it would count as 2024-05-31T23:45+09:00): write "
                             "the zone's times, or give the file's zone with --tz");
    /* UTC in a Korean city: 06:00Z = 15:00 KST */
    assert_int_equal(
        import_parse_line("m1,2024-06-01T06:00:00Z,1,0", KST_MIN, &l, why, sizeof(why)),
        ENMON_ERR_PARSE);
    assert_non_null(strstr(why, "has UTC offset +00:00, not the zone's +09:00 (it would count as "
                                "2024-06-01T15:00+09:00)"));
    /* -04:30 with a date-like dash inside: 10:30-04:30 = 15:00Z = 2024-06-02T00:00 KST */
    assert_int_equal(
        import_parse_line("m1,2024-06-01T10:30-0430,1,0", KST_MIN, &l, why, sizeof(why)),
        ENMON_ERR_PARSE);
    assert_non_null(strstr(why, "offset -04:30, not the zone's +09:00 (it would count as "
                                "2024-06-02T00:00+09:00)"));
    /* the zone's offset, spelled +0900 or +09, and a local time: all 06:00Z */
    const char *same[] = {"m1,2024-06-01T15:00:00+0900,1,0", "m1,2024-06-01T15:00+09,1,0",
                          "m1,2024-06-01 15:00,1,0"};
    for (size_t i = 0; i < 3; i++) {
        assert_int_equal(import_parse_line(same[i], KST_MIN, &l, why, sizeof(why)), ENMON_OK);
        assert_true(l.start_s == T_0600_UTC);
    }
    /* the file's zone given (--tz +09:30): converted exactly, 2024-05-31T14:45Z =
     * T_0600_UTC - 15 h 15 min = 1717221600 - 54900 = 1717166700 */
    assert_int_equal(
        import_parse_line("m1,2024-06-01T00:15:00+09:30,10,0", 570, &l, why, sizeof(why)),
        ENMON_OK);
    assert_true(l.start_s == 1717166700);
    /* a UTC zone takes Z and +00:00 */
    assert_int_equal(import_parse_line("m1,2024-06-01T06:00:00Z,1,0", 0, &l, why, sizeof(why)),
                     ENMON_OK);
    assert_true(l.start_s == T_0600_UTC);
    assert_int_equal(import_parse_line("m1,2024-06-01T06:00:00+00:00,1,0", 0, &l, why, sizeof(why)),
                     ENMON_OK);
    assert_true(l.start_s == T_0600_UTC);
}

static const char good[] = "device,start,wh_import,wh_export\n"
                           "m1,2024-06-01T15:00:00+09:00,100,0\n"
                           "m1,2024-06-01T15:15:00+09:00,50.5,1\n"
                           "# a comment\n"
                           "\n"
                           "m1,2024-06-01T15:30:00+09:00,25,0\n";

static void test_import_idempotent(void **state)
{
    struct fixture *f = *state;
    struct import_result res;
    char *errs = NULL;
    assert_int_equal(run_import(f, good, IMPORT_STEP_AUTO, &res, &errs), ENMON_OK);
    free(errs);
    assert_int_equal(res.rows, 3);
    assert_int_equal(res.intervals, 3);
    assert_int_equal(res.devices, 1);
    assert_true(res.first_s == T_0600_UTC);
    assert_float_equal(sum_sql(f, "SELECT SUM(wh_import) FROM intervals"), 175.5, 1e-9);
    assert_int_equal(run_import(f, good, IMPORT_STEP_AUTO, &res, &errs), ENMON_OK);
    free(errs);
    assert_float_equal(sum_sql(f, "SELECT SUM(wh_import) FROM intervals"), 175.5, 1e-9);
    assert_float_equal(sum_sql(f, "SELECT COUNT(*) FROM intervals"), 3, 1e-9);
    assert_float_equal(sum_sql(f, "SELECT SUM(wh_export) FROM intervals"), 1, 1e-9);
    /* the daily rollup follows the imported intervals */
    assert_float_equal(sum_sql(f, "SELECT SUM(wh_import) FROM daily"), 175.5, 1e-9);
    assert_float_equal(sum_sql(f, "SELECT COUNT(*) FROM daily"), 1, 0);
}

static void test_import_hourly(void **state)
{
    struct fixture *f = *state;
    struct import_result res;
    char *errs = NULL;
    const char *csv = "device,start,wh_import,wh_export\n"
                      "m2,2024-06-01T15:00:00+09:00,400,0\n"
                      "m2,2024-06-01T16:00:00+09:00,800,40\n";
    assert_int_equal(run_import(f, csv, IMPORT_STEP_AUTO, &res, &errs), ENMON_OK);
    free(errs);
    assert_int_equal(res.intervals, 8);
    assert_int_equal(res.hourly_devices, 1);
    assert_float_equal(sum_sql(f, "SELECT COUNT(*) FROM intervals WHERE wh_import = 100"), 4, 0);
    assert_float_equal(sum_sql(f, "SELECT SUM(wh_import) FROM intervals"), 1200, 1e-9);
    assert_float_equal(sum_sql(f, "SELECT MAX(wh_export) FROM intervals"), 10, 1e-9);
    /* forced 15-minute: the same two rows are two intervals */
    assert_int_equal(run_import(f, csv, IMPORT_STEP_15M, &res, &errs), ENMON_OK);
    free(errs);
    assert_int_equal(res.intervals, 2);
}

static void test_import_bad_lines_keep_nothing(void **state)
{
    struct fixture *f = *state;
    struct import_result res;
    char *errs = NULL;
    const char *csv = "device,start,wh_import,wh_export\n"
                      "m1,2024-06-01T15:00:00+09:00,100,0\n"  /* 2: fine */
                      "m1,2024-06-01T15:15:00+09:00,1O0,0\n"  /* 3: bad number */
                      "m1,2024-06-01T15:07:00+09:00,5,0\n"    /* 4: not aligned */
                      "ghost,2024-06-01T15:00:00+09:00,5,0\n" /* 5: unknown device */
                      "m1,2024-06-01T15:00:00+09:00,7,0\n";   /* 6: duplicate of line 2 */
    assert_int_equal(run_import(f, csv, IMPORT_STEP_AUTO, &res, &errs), ENMON_ERR_PARSE);
    assert_int_equal(res.bad_lines, 4);
    assert_int_equal(res.intervals, 0);
    assert_non_null(strstr(errs, "h.csv:3: wh_import: '1O0' is not a number"));
    assert_non_null(strstr(errs, "h.csv:4: start: not on a 15-minute boundary"));
    assert_non_null(strstr(errs, "h.csv:5: device: unknown device 'ghost'"));
    assert_non_null(strstr(errs, "h.csv:6: start: duplicates line 2"));
    free(errs);
    assert_float_equal(sum_sql(f, "SELECT COUNT(*) FROM intervals"), 0, 0);
    /* a bad header is an error too */
    assert_int_equal(run_import(f, "dev,when,in,out\n", IMPORT_STEP_AUTO, &res, &errs),
                     ENMON_ERR_PARSE);
    assert_non_null(strstr(errs, "h.csv:1: header"));
    free(errs);
}

/* A file line with another offset is reported with its line; nothing is written. */
static void test_import_other_offset_keeps_nothing(void **state)
{
    struct fixture *f = *state;
    struct import_result res;
    char *errs = NULL;
    const char *csv = "device,start,wh_import,wh_export\n"
                      "m1,2024-06-01T00:00:00+09:00,100,0\n"  /* 2: fine */
                      "m1,2024-06-01T00:15:00+09:30,100,0\n"; /* 3: May 31, 23:45 KST */
    assert_int_equal(run_import(f, csv, IMPORT_STEP_AUTO, &res, &errs), ENMON_ERR_PARSE);
    assert_int_equal(res.bad_lines, 1);
    assert_non_null(strstr(errs, "h.csv:3: start: '2024-06-01T00:15:00+09:30' has UTC offset "
                                 "+09:30, not the zone's +09:00"));
    free(errs);
    assert_float_equal(sum_sql(f, "SELECT COUNT(*) FROM intervals"), 0, 0);
}

/* One device with hourly and 15-minute rows: with the auto step each hourly row used to
 * land its hour's energy in one 15-minute interval. */
static void test_import_mixed_steps(void **state)
{
    struct fixture *f = *state;
    struct import_result res;
    char *errs = NULL;
    /* m1: hourly 15:00 16:00 17:00 (lines 2-4), then 17:15 (line 5): 15 minutes after 17:00.
     * m2: 15:00, 15:15 (line 7, 15 minutes), then 16:15 and 17:15 (lines 8, 9): lines 7, 8,
     * 9 are an hour apart, found at line 9. Sorted by time within each device. */
    const char *mixed = "device,start,wh_import,wh_export\n"
                        "m1,2024-06-01T15:00:00+09:00,400,0\n"
                        "m1,2024-06-01T16:00:00+09:00,400,0\n"
                        "m1,2024-06-01T17:00:00+09:00,400,0\n"
                        "m1,2024-06-01T17:15:00+09:00,100,0\n"
                        "m2,2024-06-01T15:00:00+09:00,100,0\n"
                        "m2,2024-06-01T15:15:00+09:00,100,0\n"
                        "m2,2024-06-01T17:15:00+09:00,400,0\n"  /* 8: out of order */
                        "m2,2024-06-01T16:15:00+09:00,400,0\n"; /* 9 */
    assert_int_equal(run_import(f, mixed, IMPORT_STEP_AUTO, &res, &errs), ENMON_ERR_PARSE);
    assert_int_equal(res.bad_lines, 2);
    assert_non_null(strstr(errs, "h.csv:5: start: device m1 mixes hourly rows (lines 2, 3, 4 are "
                                 "an hour apart) and 15-minute rows (line 5 is 15 minutes after "
                                 "line 4): import them as separate files, or force one with "
                                 "--step\n"));
    /* m2 in time order: 15:00 (6), 15:15 (7), 16:15 (9), 17:15 (8): the third row an hour
     * apart is line 8 */
    assert_non_null(strstr(errs, "h.csv:8: start: device m2 mixes hourly rows (lines 7, 9, 8 are "
                                 "an hour apart) and 15-minute rows (line 7 is 15 minutes after "
                                 "line 6)"));
    free(errs);
    assert_float_equal(sum_sql(f, "SELECT COUNT(*) FROM intervals"), 0, 0);
    /* forced 15-minute, the same file imports as 8 intervals (the operator said so) */
    assert_int_equal(run_import(f, mixed, IMPORT_STEP_15M, &res, &errs), ENMON_OK);
    free(errs);
    assert_int_equal(res.intervals, 8);
}

/* 15-minute rows with gaps stay 15-minute: one hour gap (a 45-minute hole) is no hourly run. */
static void test_import_quarter_rows_with_holes(void **state)
{
    struct fixture *f = *state;
    struct import_result res;
    char *errs = NULL;
    /* 15:00 15:15 16:15 16:30: gaps 15 min, 1 h, 15 min -> 4 intervals, 100+100+100+100 */
    const char *csv = "device,start,wh_import,wh_export\n"
                      "m1,2024-06-01T15:00:00+09:00,100,0\n"
                      "m1,2024-06-01T15:15:00+09:00,100,0\n"
                      "m1,2024-06-01T16:15:00+09:00,100,0\n"
                      "m1,2024-06-01T16:30:00+09:00,100,0\n";
    assert_int_equal(run_import(f, csv, IMPORT_STEP_AUTO, &res, &errs), ENMON_OK);
    free(errs);
    assert_int_equal(res.intervals, 4);
    assert_int_equal(res.hourly_devices, 0);
    assert_float_equal(sum_sql(f, "SELECT SUM(wh_import) FROM intervals"), 400, 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_time),
        cmocka_unit_test(test_parse_line),
        cmocka_unit_test(test_parse_line_other_offset),
        cmocka_unit_test_setup_teardown(test_import_idempotent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_hourly, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_bad_lines_keep_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_other_offset_keeps_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_mixed_steps, setup, teardown),
        cmocka_unit_test_setup_teardown(test_import_quarter_rows_with_holes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
