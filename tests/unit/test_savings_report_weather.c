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

/* A weather device: CV(RMSE) cv of a mean of cf kWh (RMSE = cv x cf), 365 baseline days, a CDD
 * model (2 parameters, no balance-point columns) whose baseline had CDD sums 365 (sum CDD^2 730),
 * no autocorrelation; every reporting day has CDD 1, counterfactual cf and actual act kWh.
 * X'X = [[365, 365], [365, 730]], det 365^2, (X'X)^-1 = [[2, -1], [-1, 1]] / 365; m days:
 * s = (m, m), s' (X'X)^-1 s = m^2 (2 - 2 + 1) / 365 = m^2 / 365. */
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
    r->model.mean_kwh = cf;
    r->model.rmse = cv * cf;
    r->model.xtx_inv[0][0] = 2.0 / 365.0;
    r->model.xtx_inv[0][3] = r->model.xtx_inv[3][0] = -1.0 / 365.0;
    r->model.xtx_inv[3][3] = 1.0 / 365.0;
    r->model.r2 = 0.9;
    r->model.g14_ok = cv <= BM_G14_CVRMSE;
    r->has_interval = 1;
    for (int i = 0; i < NDAYS; i++)
        v[i] = (struct sr_dayval){.day_s = D0 + (int64_t)(FIRST + i) * DAY,
                                  .counted = 1,
                                  .ref_kwh = cf,
                                  .actual_kwh = act,
                                  .saved_kwh = cf - act,
                                  .x = {1.0, 0.0, 0.0, 1.0, 0.0, 0.0}};
    r->vals = v;
    r->nvals = NDAYS;
    r->tot.days_counted = NDAYS;
}

/* The worked example of docs/SAVINGS.md. t(0.95, 365 - 2 = 363) = 1.64906 (n' = n: rho 0),
 * half = t RMSE sqrt(m + m^2 / 365); m = 30: sqrt(30 + 900 / 365) = sqrt(32.465753) = 5.697873.
 * a: CV 10 % of 10 kWh (RMSE 1), 30 days of 10 kWh counterfactual (300), 9 actual: saved 30,
 *    half = 1.64906 x 1 x 5.697873 = 9.3961 kWh.
 * b: CV 20 % of 20 kWh (RMSE 4), 30 days of 20 (600), 18 actual: saved 60,
 *    half = 1.64906 x 4 x 5.697873 = 37.5845 kWh.
 * Program: saved 90, half sqrt(9.3961^2 + 37.5845^2) = 9.3961 x sqrt(17) = 38.7413:
 * 51.2587 .. 128.7413 kWh. */
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
    assert_float_equal(rows[0].saved_low_kwh, 30.0 - 9.3961, 1e-3);
    assert_float_equal(rows[0].saved_high_kwh, 30.0 + 9.3961, 1e-3);
    assert_float_equal(rows[1].saved_high_kwh - rows[1].saved_kwh, 37.5845, 1e-3);
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
    assert_float_equal(rows[0].saved_low_kwh, 51.2587, 1e-3);
    assert_float_equal(rows[0].saved_high_kwh, 128.7413, 1e-3);
    free(rows);
}

/* By month, device a: 15 days in each month: half = 1.64906 x 1 x sqrt(15 + 225 / 365)
 * = 1.64906 x 3.951764 = 6.5167 kWh each. The two months' halves in quadrature, 6.5167 x sqrt(2)
 * = 9.2160, are less than the whole period's 9.3961: the error of the fitted parameters is the
 * same in both months (its m^2 / 365 term adds linearly), only the days' own scatter is
 * independent. */
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
        assert_float_equal(rows[i].saved_high_kwh - rows[i].saved_kwh, 6.5167, 1e-3);
    }
    assert_float_equal(hypot(rows[0].saved_high_kwh - 15.0, rows[1].saved_high_kwh - 15.0), 9.2160,
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
