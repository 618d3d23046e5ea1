/* test_weather_store.c -- `enmon import weather` into the weather table (CP949 through iconv,
 * missing hours as NULL, re-import replaces, a bad file writes nothing, a version 7 file migrated)
 * and sr_weather_daily's daily means with the 20-valid-hours rule. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "caltime.h"
#include "err.h"
#include "import.h"
#include "savings_report.h"
#include "store_schema.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* 2024-01-01 00:00 KST = 2023-12-31 15:00 UTC */
#define T0 1704034800LL
#define H 3600LL

struct fixture {
    char dir[64], path[96];
    sqlite3 *db;
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    char msg[256];
    snprintf(f->dir, sizeof(f->dir), "/tmp/enmon-weather-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof(f->path), "%s/enmon.db", f->dir);
    sqlite3 *db;
    assert_int_equal(store_schema_open(f->path, &db, msg, sizeof(msg)), ENMON_OK);
    assert_int_equal(store_schema_migrate(db, msg, sizeof(msg)), ENMON_OK);
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

static int import_text(struct fixture *f, const char *text, size_t len,
                       struct import_weather_result *res, char *msg, size_t msglen)
{
    FILE *in = fmemopen((void *)text, len, "r");
    assert_non_null(in);
    FILE *errs = fopen("/dev/null", "w");
    int rc = import_weather(f->db, in, "w.csv", errs, res, msg, msglen);
    fclose(errs);
    fclose(in);
    return rc;
}

static int q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *st = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(st), SQLITE_ROW);
    int v = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return v;
}

/* CP949 header 지점,지점명,일시,기온(°C) and station 133 대전, from bytes. */
#define CP949_HEADER                                                                               \
    "\xC1\xF6\xC1\xA1,\xC1\xF6\xC1\xA1\xB8\xED,\xC0\xCF\xBD\xC3,\xB1\xE2\xBF\xC2(\xA1\xC6"         \
    "C)\r\n"
#define CP949_DAEJEON "\xB4\xEB\xC0\xFC"

/* Day 1 (2024-01-01 KST): 24 hours 0.0, 1.0, ..., 23.0 except hour 5 empty and hours 10..12
 * absent (a gap): 20 valid hours, mean = (276 - 5 - 10 - 11 - 12) / 20 = 238 / 20 = 11.9.
 * Day 2: hours 00..18 at 2.0 (19 valid hours): NAN by the 20-hour rule. */
static char *day_file(size_t *len)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    n += (size_t)snprintf(buf + n, cap - n, "%s", CP949_HEADER);
    for (int h = 0; h < 24; h++) {
        if (h >= 10 && h <= 12)
            continue;
        char v[16] = "";
        if (h != 5)
            snprintf(v, sizeof(v), "%d.0", h);
        n += (size_t)snprintf(buf + n, cap - n, "133," CP949_DAEJEON ",2024-01-01 %02d:00,%s\r\n",
                              h, v);
    }
    for (int h = 0; h <= 18; h++)
        n += (size_t)snprintf(buf + n, cap - n, "133," CP949_DAEJEON ",2024-01-02 %02d:00,2.0\r\n",
                              h);
    *len = n;
    return buf;
}

static void test_cp949_import_and_daily_means(void **state)
{
    struct fixture *f = *state;
    struct import_weather_result res;
    char msg[256];
    size_t len;
    char *text = day_file(&len);
    assert_int_equal(import_text(f, text, len, &res, msg, sizeof(msg)), ENMON_OK);
    assert_string_equal(res.encoding, "CP949");
    assert_int_equal(res.lines, 21 + 19);
    assert_int_equal(res.hours, 24 + 19); /* 00:00 day 1 .. 18:00 day 2 */
    assert_int_equal(res.missing, 1 + 3);
    assert_int_equal(res.nstations, 1);
    assert_int_equal(res.stations[0].station, 133);
    assert_int_equal(res.stations[0].empty, 1);
    assert_int_equal(res.stations[0].gaps, 3);
    assert_int_equal(res.stations[0].first_s, T0);
    assert_int_equal(res.stations[0].last_s, T0 + 42 * H);
    import_weather_free(&res);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM weather"), 43);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM weather WHERE temp_c IS NULL"), 4);
    assert_int_equal(q_int(f->db, "SELECT temp_c IS NULL FROM weather WHERE ts_s = 1704034800 + "
                                  "11 * 3600"),
                     1);

    double out[4], hourly[4 * 24];
    /* from any instant of day 1; day 0 (2023-12-31) and day 3 have no rows */
    assert_int_equal(sr_weather_daily(f->db, 133, T0 - CALTIME_DAY_S + 7 * H, 4, CALTIME_KST_MIN,
                                      out, hourly, msg, sizeof(msg)),
                     ENMON_OK);
    /* the hours of day 1 (index 1) in place: h at 24 + h, 05:00 empty (NULL), 11:00 missing;
     * day 2 has 19 hours, fewer than 20: none of its hours is given */
    assert_true(fabs(hourly[24 + 4] - 4.0) < 1e-12);
    assert_true(fabs(hourly[24 + 23] - 23.0) < 1e-12);
    assert_true(isnan(hourly[24 + 5]));
    assert_true(isnan(hourly[24 + 11]));
    assert_true(isnan(hourly[48 + 3]));
    assert_true(isnan(hourly[0]));
    assert_true(isnan(out[0]));
    assert_true(fabs(out[1] - 11.9) < 1e-12);
    assert_true(isnan(out[2])); /* 19 valid hours */
    assert_true(isnan(out[3]));
    /* another station has nothing */
    assert_int_equal(sr_weather_daily(f->db, 108, T0, 1, CALTIME_KST_MIN, out, NULL, msg, sizeof(msg)),
                     ENMON_OK);
    assert_true(isnan(out[0]));
    free(text);
}

static void test_reimport_replaces_and_gaps_keep_values(void **state)
{
    struct fixture *f = *state;
    struct import_weather_result res;
    char msg[256];
    size_t len;
    char *text = day_file(&len);
    assert_int_equal(import_text(f, text, len, &res, msg, sizeof(msg)), ENMON_OK);
    import_weather_free(&res);
    /* a UTF-8 file (with a BOM) with hours 09, 11 and 13 of day 1: 11 fills a stored gap,
     * 13 replaces 13.0; its own gaps (10, 12) change nothing stored (a gap never erases) */
    const char utf8[] = "\xEF\xBB\xBF\xEC\xA7\x80\xEC\xA0\x90,\xEC\x9D\xBC\xEC\x8B\x9C,"
                        "\xEA\xB8\xB0\xEC\x98\xA8(\xC2\xB0"
                        "C)\n"
                        "133,2024-01-01 09:00,9.5\n"
                        "133,2024-01-01 11:00,11.5\n"
                        "133,2024-01-01 13:00,-13.0\n";
    assert_int_equal(import_text(f, utf8, strlen(utf8), &res, msg, sizeof(msg)), ENMON_OK);
    assert_string_equal(res.encoding, "UTF-8 with BOM");
    assert_int_equal(res.hours, 5);
    assert_int_equal(res.missing, 2);
    import_weather_free(&res);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM weather"), 43);
    assert_int_equal(q_int(f->db, "SELECT temp_c * 10 FROM weather WHERE ts_s = 1704034800 + "
                                  "9 * 3600"),
                     95);
    assert_int_equal(q_int(f->db, "SELECT temp_c * 10 FROM weather WHERE ts_s = 1704034800 + "
                                  "11 * 3600"),
                     115);
    assert_int_equal(q_int(f->db, "SELECT temp_c FROM weather WHERE ts_s = 1704034800 + "
                                  "13 * 3600"),
                     -13);
    assert_int_equal(q_int(f->db, "SELECT temp_c IS NULL FROM weather WHERE ts_s = 1704034800 + "
                                  "10 * 3600"),
                     1);
    free(text);
}

static void test_bad_file_writes_nothing(void **state)
{
    struct fixture *f = *state;
    struct import_weather_result res;
    char msg[256];
    const char bad[] = "\xEC\xA7\x80\xEC\xA0\x90,\xEC\x9D\xBC\xEC\x8B\x9C,"
                       "\xEA\xB8\xB0\xEC\x98\xA8(\xC2\xB0"
                       "C)\n"
                       "133,2024-01-01 09:00,9.5\n"
                       "133,2024-01-01 10:00,x\n";
    assert_int_equal(import_text(f, bad, strlen(bad), &res, msg, sizeof(msg)), ENMON_ERR_PARSE);
    assert_non_null(strstr(msg, "1 bad lines; nothing imported"));
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM weather"), 0);
    /* bytes that are neither UTF-8 nor CP949 (0xFF): the line is named */
    const char junk[] = "a,b\n\xC1\xF6\xFF\xFF\n";
    assert_int_equal(import_text(f, junk, strlen(junk), &res, msg, sizeof(msg)), ENMON_ERR_PARSE);
    assert_non_null(strstr(msg, "w.csv:2: encoding"));
}

static void test_version_7_file_is_migrated(void **state)
{
    struct fixture *f = *state;
    struct import_weather_result res;
    char msg[256];
    assert_int_equal(
        sqlite3_exec(f->db, "DROP TABLE weather; DROP TABLE reading_blocks; DROP TABLE webhook_outbox;"
                     " DROP TABLE program_intervals; DROP TABLE program_daily;"
                     " DROP TABLE program_rollup_map;"
                     " ALTER TABLE readings DROP COLUMN leakage_ma;"
                     " ALTER TABLE readings DROP COLUMN current_l1_a;"
                     " ALTER TABLE readings DROP COLUMN current_l2_a;"
                     " ALTER TABLE readings DROP COLUMN current_l3_a;"
                     " ALTER TABLE readings DROP COLUMN tilt_deg;"
                     " PRAGMA user_version=7",
                     NULL, NULL, NULL),
        SQLITE_OK);
    const char ok[] = "\xEC\xA7\x80\xEC\xA0\x90,\xEC\x9D\xBC\xEC\x8B\x9C,"
                      "\xEA\xB8\xB0\xEC\x98\xA8(\xC2\xB0"
                      "C)\n"
                      "133,2024-01-01 09:00,9.5\n";
    assert_int_equal(import_text(f, ok, strlen(ok), &res, msg, sizeof(msg)), ENMON_OK);
    import_weather_free(&res);
    assert_int_equal(q_int(f->db, "PRAGMA user_version"), STORE_SCHEMA_VERSION);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM weather"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_cp949_import_and_daily_means, setup, teardown),
        cmocka_unit_test_setup_teardown(test_reimport_replaces_and_gaps_keep_values, setup,
                                        teardown),
        cmocka_unit_test_setup_teardown(test_bad_file_writes_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_version_7_file_is_migrated, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
