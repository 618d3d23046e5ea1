/* test_savings_rows.c -- grouping of savings results into report rows: kWh_ACTUAL over exactly
 * the counted days, devices with insufficient data adding no figure (docs/SAVINGS.md). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "caltime.h"
#include "savings_report.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400
#define D0 (17045 * (int64_t)DAY - 9 * 3600) /* 2016-09-01 00:00 KST */

static void mk_dev(struct sr_result *r, int64_t id, const char *key, enum sr_status status)
{
    memset(r, 0, sizeof(*r));
    r->dev.id = id;
    snprintf(r->dev.key, sizeof(r->dev.key), "%s", key);
    snprintf(r->dev.program, sizeof(r->dev.program), "happy-led");
    snprintf(r->dev.site, sizeof(r->dev.site), "site-%s", key);
    r->dev.program_kind = PROGRAM_LED_RETROFIT;
    r->status = status;
    r->deemed_kwh = -1.0;
    r->base_from = D0 - 365 * (int64_t)DAY; /* 2015-09-02: the 365 days before the retrofit */
    r->base_to = D0;
}

static struct sr_dayval day(int i, int counted, double ref, double actual, double krw)
{
    struct sr_dayval v = {.day_s = D0 + (int64_t)i * DAY,
                          .counted = counted,
                          .ref_kwh = counted ? ref : 0.0,
                          .actual_kwh = actual,
                          .saved_kwh = counted ? ref - actual : 0.0,
                          .krw = krw,
                          .co2_kg = counted ? (ref - actual) * 0.4173 : 0.0};
    return v;
}

/* Device "a" (ok): 2016-09-01 counted (ref 10, actual 9), 2016-09-02 with 90 of 96
 * intervals (not counted: its partial 8.5 kWh must not reach ACTUAL), 2016-09-03
 * counted (ref 12, actual 10). Device "b" (insufficient baseline): 11 kWh a day, none
 * counted. */
static void example(struct sr_result r[2], struct sr_dayval va[3], struct sr_dayval vb[3])
{
    mk_dev(&r[0], 1, "a", SR_OK);
    va[0] = day(0, 1, 10.0, 9.0, 120.0);
    va[1] = day(1, 0, 0.0, 8.5, 0.0);
    va[2] = day(2, 1, 12.0, 10.0, 240.0);
    r[0].vals = va;
    r[0].nvals = 3;
    r[0].tot.days_counted = 2;
    mk_dev(&r[1], 2, "b", SR_INSUFFICIENT);
    for (int i = 0; i < 3; i++)
        vb[i] = day(i, 0, 0.0, 11.0, 0.0);
    r[1].vals = vb;
    r[1].nvals = 3;
    r[1].base_from = D0 - 300 * (int64_t)DAY; /* a later retrofit: still a whole window */
    r[1].base_to = D0 + 65 * (int64_t)DAY;
}

static void test_actual_over_counted_days(void **state)
{
    (void)state;
    struct sr_result r[2];
    struct sr_dayval va[3], vb[3];
    struct sr_row *rows = NULL;
    size_t n = 0;
    example(r, va, vb);
    assert_int_equal(sr_rows(r, 2, SR_BY_PROGRAM, SR_GROUP_NONE, 540, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_int_equal(rows[0].devices, 2);
    assert_int_equal(rows[0].insufficient, 1);
    assert_true(sr_row_has_figures(&rows[0])); /* device a has figures */
    /* REF = 10 + 12 = 22; ACTUAL = 9 + 10 = 19 (not + 8.5 of the 90-interval day, not
     * + 3 x 11 of the insufficient device: 60.5 before); SAVED = 1 + 2 = 3 = REF - ACTUAL */
    assert_float_equal(rows[0].ref_kwh, 22.0, 1e-9);
    assert_float_equal(rows[0].actual_kwh, 19.0, 1e-9);
    assert_float_equal(rows[0].saved_kwh, 3.0, 1e-9);
    assert_float_equal(rows[0].ref_kwh - rows[0].actual_kwh, rows[0].saved_kwh, 1e-9);
    assert_float_equal(rows[0].krw, 360.0, 1e-9);         /* 120 + 240 */
    assert_float_equal(rows[0].co2_kg, 3 * 0.4173, 1e-9); /* 3 kWh x 0.4173 */
    /* BASELINE spans both devices: 2015-09-02 .. 2016-11-04 (to exclusive 2016-11-05) */
    assert_true(rows[0].base_from == D0 - 365 * (int64_t)DAY);
    assert_true(rows[0].base_to == D0 + 65 * (int64_t)DAY);
    free(rows);
}

static void test_insufficient_has_no_figures(void **state)
{
    (void)state;
    struct sr_result r[2];
    struct sr_dayval va[3], vb[3];
    struct sr_row *rows = NULL;
    size_t n = 0;
    char data[48];
    example(r, va, vb);
    assert_int_equal(sr_rows(r, 2, SR_BY_DEVICE, SR_GROUP_NONE, 540, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].key, "a");
    assert_true(sr_row_has_figures(&rows[0]));
    assert_float_equal(rows[0].actual_kwh, 19.0, 1e-9);
    assert_string_equal(rows[1].key, "b");
    assert_false(sr_row_has_figures(&rows[1])); /* "-", empty CSV field, JSON null */
    sr_row_data(&rows[1], data, sizeof(data));
    assert_string_equal(data, "insufficient (1 of 1)");
    assert_float_equal(rows[1].actual_kwh, 0.0, 1e-9); /* no counted day: nothing summed */
    assert_float_equal(rows[1].saved_kwh, 0.0, 1e-9);
    free(rows);
    /* by program with only device b (--device b): the program row has no figure either */
    assert_int_equal(sr_rows(&r[1], 1, SR_BY_PROGRAM, SR_GROUP_MONTH, 540, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(rows[0].period, "2016-09");
    assert_false(sr_row_has_figures(&rows[0]));
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_actual_over_counted_days),
        cmocka_unit_test(test_insufficient_has_no_figures),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
