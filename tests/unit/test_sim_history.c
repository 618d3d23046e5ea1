/* test_sim_history.c -- enmon-sim history: deterministic intervals, LED retrofit effect, solar
 * seasons and nights, demand-response load drop, the CSV writer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* The simulator's sources are not in enmon_core; both files are pure (libm only). */
#include "../../simulators/sim_history.c"
#include "../../simulators/sim_physics.c"

#include <stdlib.h>

static int64_t kst(int y, int m, int d, int h)
{
    return caltime_days_from_civil(y, m, d) * CALTIME_DAY_S + h * CALTIME_HOUR_S - 9 * 3600;
}

static const struct sim_history_device home = {
    .key = "led-1-meter", .site = "led-1", .kwh_month = 315};
static const struct sim_history_device pv = {.key = "pv-1",
                                             .site = "pv",
                                             .inverter = 1,
                                             .capacity_w = 3000,
                                             .tilt_deg = 30,
                                             .azimuth_deg = 180};

/* Energy of a device over local days [d0, d0 + days) in the hours [h0, h1). */
static double energy(const struct sim_history_device *d, const struct sim_history_spec *s,
                     int64_t day0, int days, int h0, int h1, int exported)
{
    double sum = 0.0;
    for (int k = 0; k < days; k++)
        for (int64_t t = day0 + k * 86400 + h0 * 3600; t < day0 + k * 86400 + h1 * 3600; t += 900) {
            double imp, exp_wh;
            sim_history_interval(d, s, t, &imp, &exp_wh);
            sum += exported ? exp_wh : imp;
        }
    return sum;
}

static void test_deterministic_and_plausible(void **state)
{
    (void)state;
    struct sim_history_spec s = {.seed = 7};
    double a, b, c, e;
    sim_history_interval(&home, &s, kst(2016, 5, 2, 19), &a, &e);
    sim_history_interval(&home, &s, kst(2016, 5, 2, 19), &b, &e);
    assert_true(a == b);
    s.seed = 8;
    sim_history_interval(&home, &s, kst(2016, 5, 2, 19), &c, &e);
    assert_true(a != c);
    /* a 315 kWh/month home uses roughly 10 kWh a day */
    double day = energy(&home, &s, kst(2016, 5, 2, 0), 7, 0, 24, 0) / 7 / 1000;
    assert_true(day > 7.0 && day < 14.0);
}

static void test_led_retrofit_effect(void **state)
{
    (void)state;
    struct sim_history_spec s = {.seed = 1};
    struct sim_history_device led = home;
    int64_t day0 = kst(2016, 10, 3, 0);
    double before = energy(&home, &s, day0, 14, 18, 23, 0);
    led.retrofit_s = kst(2016, 9, 1, 0);
    double after = energy(&led, &s, day0, 14, 18, 23, 0);
    /* 9% less in the lighting hours 18-23 (habits shift them by up to 30 minutes) */
    assert_true(after / before > 0.90 && after / before < 0.93);
    /* no effect before the retrofit date or outside the evening */
    assert_float_equal(energy(&led, &s, kst(2016, 8, 1, 0), 7, 18, 23, 0),
                       energy(&home, &s, kst(2016, 8, 1, 0), 7, 18, 23, 0), 1e-6);
    assert_float_equal(energy(&led, &s, day0, 7, 8, 17, 0), energy(&home, &s, day0, 7, 8, 17, 0),
                       1e-6);
}

static void test_solar_seasons_and_night(void **state)
{
    (void)state;
    struct sim_history_spec s = {.seed = 3};
    assert_float_equal(energy(&pv, &s, kst(2016, 6, 1, 0), 30, 0, 4, 1), 0.0, 1e-9);
    double june = energy(&pv, &s, kst(2016, 6, 1, 0), 30, 0, 24, 1) / 30 / 1000;
    double dec = energy(&pv, &s, kst(2016, 12, 1, 0), 30, 0, 24, 1) / 30 / 1000;
    assert_true(june > 4.0 && june < 20.0); /* 3 kWp */
    assert_true(dec > 1.0 && dec < june);
}

static void test_dr_event_drop(void **state)
{
    (void)state;
    struct sim_history_event ev = {
        .site = "led-1", .start_s = kst(2016, 8, 3, 14), .end_s = kst(2016, 8, 3, 16)};
    struct sim_history_spec plain = {.seed = 2};
    struct sim_history_spec dr = {.seed = 2, .dr_drop = 0.3, .events = &ev, .nevents = 1};
    int64_t day = kst(2016, 8, 3, 0);
    assert_float_equal(energy(&home, &dr, day, 1, 14, 16, 0),
                       0.7 * energy(&home, &plain, day, 1, 14, 16, 0), 0.5);
    assert_float_equal(energy(&home, &dr, day, 1, 16, 20, 0),
                       energy(&home, &plain, day, 1, 16, 20, 0), 1e-9);
}

static void test_csv(void **state)
{
    (void)state;
    struct sim_history_device devs[2] = {home, pv};
    struct sim_history_spec s = {
        .seed = 1, .from_s = kst(2016, 6, 1, 0), .to_s = kst(2016, 6, 2, 0)};
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(sim_history_write(out, devs, 2, &s), 0);
    fclose(out);
    const char *head = "device,start,wh_import,wh_export\nled-1-meter,2016-06-01T00:00:00+09:00,";
    assert_true(strncmp(buf, head, strlen(head)) == 0);
    int lines = 0;
    for (char *p = buf; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 2 * 96);
    assert_non_null(strstr(buf, "pv-1,2016-06-01T23:45:00+09:00,0.0,0.0\n"));
    free(buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_deterministic_and_plausible),
        cmocka_unit_test(test_led_retrofit_effect),
        cmocka_unit_test(test_solar_seasons_and_night),
        cmocka_unit_test(test_dr_event_drop),
        cmocka_unit_test(test_csv),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
