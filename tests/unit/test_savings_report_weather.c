/* test_savings_report_weather.c -- weather-method rows of the savings report: the G14 90 %
 * interval per device and period bucket, the interval of a sum (docs/SAVINGS.md "Intervals of
 * sums", the worked example), mixed rows and the one-device fit. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "savings_report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DAY 86400
#define D0 (17045 * (int64_t)DAY - 9 * 3600) /* 2016-09-01 00:00 KST */
#define NDAYS 30
#define FIRST 15 /* reporting days 2016-09-16 .. 2016-10-15: 15 in September, 15 in October */

/* A weather device: CV(RMSE) cv, 365 baseline days, 2 parameters, no autocorrelation; every
 * reporting day counterfactual cf and actual act kWh. */
static void mk_weather(struct sr_result *r, struct sr_dayval *v, int64_t id, const char *key,
                       double cv, double cf, double act)
{
    memset(r, 0, sizeof(*r));
    r->dev.id = id;
    snprintf(r->dev.key, sizeof(r->dev.key), "%s", key);
    snprintf(r->dev.program, sizeof(r->dev.program), "led");
    snprintf(r->dev.site, sizeof(r->dev.site), "%s", key);
    r->dev.program_kind = PROGRAM_LED_RETROFIT;
    r->status = SR_OK;
    r->deemed_kwh = -1.0;
    r->method_used = SVC_METHOD_WEATHER;
    r->station = 133;
    r->model.sufficient = 1;
    r->model.kind = BM_CDD;
    r->model.heat_bp = NAN;
    r->model.cool_bp = 22.0;
    r->model.n = 365;
    r->model.p = 2;
    r->model.rho = 0.0;
    r->model.cvrmse = cv;
    r->model.r2 = 0.9;
    r->model.g14_ok = cv <= BM_G14_CVRMSE;
    r->has_interval = 1;
    for (int i = 0; i < NDAYS; i++)
        v[i] = (struct sr_dayval){.day_s = D0 + (int64_t)(FIRST + i) * DAY,
                                  .counted = 1,
                                  .ref_kwh = cf,
                                  .actual_kwh = act,
                                  .saved_kwh = cf - act};
    r->vals = v;
    r->nvals = NDAYS;
    r->tot.days_counted = NDAYS;
}

/* The worked example of docs/SAVINGS.md. t(0.95, 365 - 2 = 363) = 1.64906 (n' = n: rho 0).
 * a: CV 10 %, 30 days of 10 kWh counterfactual (300), 9 actual: saved 30,
 *    half = 1.26 x 1.64906 x 0.10 x 300 x sqrt((365/365)(1 + 2/365) / 30) = 11.412 kWh.
 * b: CV 20 %, 30 days of 20 (600), 18 actual: saved 60,
 *    half = 1.26 x 1.64906 x 0.20 x 600 x 0.183074 = 45.647 kWh.
 * Program: saved 90, half sqrt(11.412^2 + 45.647^2) = 47.052: 42.948 .. 137.052 kWh. */
static void test_interval_of_a_sum(void **state)
{
    (void)state;
    struct sr_result r[2];
    struct sr_dayval va[NDAYS], vb[NDAYS];
    struct sr_row *rows = NULL;
    size_t n = 0;
    mk_weather(&r[0], va, 1, "a", 0.10, 10.0, 9.0);
    mk_weather(&r[1], vb, 2, "b", 0.20, 20.0, 18.0);
    assert_int_equal(sr_rows(r, 2, SR_BY_DEVICE, SR_GROUP_NONE, 540, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_true(rows[0].has_interval && rows[0].has_fit);
    assert_float_equal(rows[0].saved_kwh, 30.0, 1e-9);
    assert_float_equal(rows[0].saved_low_kwh, 30.0 - 11.412, 1e-3);
    assert_float_equal(rows[0].saved_high_kwh, 30.0 + 11.412, 1e-3);
    assert_float_equal(rows[1].saved_high_kwh - rows[1].saved_kwh, 45.647, 1e-3);
    assert_string_equal(sr_row_method_name(&rows[0]), "weather");
    assert_float_equal(rows[0].cvrmse, 0.10, 1e-12);
    assert_true(rows[0].model == BM_CDD && rows[0].g14_ok);
    free(rows);
    assert_int_equal(sr_rows(r, 2, SR_BY_PROGRAM, SR_GROUP_NONE, 540, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_true(rows[0].has_interval);
    assert_false(rows[0].has_fit); /* a fit is one device's */
    assert_int_equal(rows[0].weather_devices, 2);
    assert_int_equal(rows[0].g14_fail, 0);
    assert_float_equal(rows[0].saved_kwh, 90.0, 1e-9);
    assert_float_equal(rows[0].saved_low_kwh, 42.948, 1e-3);
    assert_float_equal(rows[0].saved_high_kwh, 137.052, 1e-3);
    free(rows);
}

/* By month, device a: 15 days in each month, counterfactual 150: half = 1.26 x 1.64906 x 0.10
 * x 150 x sqrt(1.005479 / 15) = 8.069 kWh each; the two months' halves in quadrature give the
 * whole period's: 8.069 x sqrt(2) = 11.412. */
static void test_interval_per_month(void **state)
{
    (void)state;
    struct sr_result r;
    struct sr_dayval va[NDAYS];
    struct sr_row *rows = NULL;
    size_t n = 0;
    mk_weather(&r, va, 1, "a", 0.10, 10.0, 9.0);
    assert_int_equal(sr_rows(&r, 1, SR_BY_DEVICE, SR_GROUP_MONTH, 540, &rows, &n), 0);
    assert_int_equal(n, 2);
    assert_string_equal(rows[0].period, "2016-09");
    assert_string_equal(rows[1].period, "2016-10");
    for (int i = 0; i < 2; i++) {
        assert_true(rows[i].has_interval);
        assert_float_equal(rows[i].saved_kwh, 15.0, 1e-9);
        assert_float_equal(rows[i].saved_high_kwh - rows[i].saved_kwh, 8.069, 1e-3);
    }
    assert_float_equal(hypot(rows[0].saved_high_kwh - 15.0, rows[1].saved_high_kwh - 15.0), 11.412,
                       1e-3);
    free(rows);
}

/* A program with a weather device and a day-type-month device: "mixed", no interval (the
 * interval of a part is not the interval of the whole); a G14 failure is counted. */
static void test_mixed_row_has_no_interval(void **state)
{
    (void)state;
    struct sr_result r[2];
    struct sr_dayval va[NDAYS], vb[NDAYS];
    struct sr_row *rows = NULL;
    size_t n = 0;
    mk_weather(&r[0], va, 1, "a", 0.35, 10.0, 9.0); /* CV 35 % > 30 %: fails G14 */
    mk_weather(&r[1], vb, 2, "b", 0.10, 20.0, 18.0);
    r[1].method_used = SVC_METHOD_DAYTYPE;
    r[1].has_interval = 0;
    snprintf(r[1].method_reason, sizeof(r[1].method_reason), "no weather_station");
    assert_int_equal(sr_rows(r, 2, SR_BY_PROGRAM, SR_GROUP_NONE, 540, &rows, &n), 0);
    assert_int_equal(n, 1);
    assert_string_equal(sr_row_method_name(&rows[0]), "mixed");
    assert_false(rows[0].has_interval);
    assert_int_equal(rows[0].weather_devices, 1);
    assert_int_equal(rows[0].g14_fail, 1);
    assert_string_equal(rows[0].method_reason, "no weather_station");
    assert_float_equal(rows[0].saved_kwh, 90.0, 1e-9);
    free(rows);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interval_of_a_sum),
        cmocka_unit_test(test_interval_per_month),
        cmocka_unit_test(test_mixed_row_has_no_interval),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
