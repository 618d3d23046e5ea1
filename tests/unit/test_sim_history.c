/* test_sim_history.c -- enmon-sim history: deterministic intervals, LED retrofit effect, solar
 * seasons and nights, demand-response load drop, the CSV writer, weather loads, the truth file
 * and the ESS bills without the battery. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* The simulator's sources are not in enmon_core; these files are pure (libm only). */
#include "../../simulators/sim_history.c"
#include "../../simulators/sim_physics.c"
#include "../../simulators/sim_weather.c"

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

static void test_colder_weather_heats(void **state)
{
    (void)state;
    struct sim_weather mild = {.seed = 5};
    struct sim_weather cold = {.seed = 5, .winter_offset_c = -5.0};
    struct sim_history_spec a = {.seed = 5, .weather = &mild};
    struct sim_history_spec b = {.seed = 5, .weather = &cold};
    int64_t t = kst(2016, 1, 15, 3);
    for (int k = 0; k < 5; k++) /* below the 15 C heating balance point on both days */
        assert_true(sim_weather_temp_c(&mild, (double)t + 90 + 180 * k) < 15.0);
    double wa, wb, e;
    sim_history_interval(&home, &a, t, &wa, &e);
    sim_history_interval(&home, &b, t, &wb, &e);
    /* 315 kWh/month: mean 315000 * 12 / 8760 = 431.507 W; heating 0.015 * 431.507 = 6.4726 W/K;
     * 5 K colder for 0.25 h: 6.4726 * 5 * 0.25 = 8.09 Wh more (each value rounded to 0.1 Wh) */
    assert_float_equal(wb - wa, 8.0908, 0.1);
    /* no weather option: the old seasonal factor, unchanged */
    struct sim_history_spec plain = {.seed = 5};
    double w0;
    sim_history_interval(&home, &plain, t, &w0, &e);
    struct sim_household h = {
        .kwh_month = 315,
        .key = hist_key(5, home.key),
        .shift_s = (sim_hash_unit(sim_hash2(hist_key(5, home.key), 0x5F1F7)) - 0.5) * 3600.0};
    double expect = 0.0;
    for (int k = 0; k < 5; k++) {
        double u = (double)t + 90 + 180 * k;
        expect += sim_household_w(&h, u) * sim_history_season(u) * 0.05;
    }
    assert_float_equal(w0, round(expect * 10) / 10, 1e-9);
}

/* Finds "key,date," in a truth CSV and reads the numbers after the kind. */
static void truth_row(const char *buf, const char *key, const char *date, double v[4])
{
    char pat[128];
    snprintf(pat, sizeof(pat), "\n%s,%s,", key, date);
    const char *p = strstr(buf, pat);
    assert_non_null(p);
    p = strchr(p + strlen(pat), ',');
    assert_non_null(p);
    assert_int_equal(sscanf(p + 1, "%lf,%lf,%lf,%lf", &v[0], &v[1], &v[2], &v[3]), 4);
}

static void test_truth_file(void **state)
{
    (void)state;
    struct sim_weather wx = {.seed = 9};
    struct sim_history_device led = home;
    led.retrofit_s = kst(2016, 9, 1, 0);
    snprintf(led.key, sizeof(led.key), "led-2-meter");
    struct sim_history_device devs[3] = {home, led, pv};
    struct sim_history_spec s = {
        .seed = 9, .from_s = kst(2016, 10, 3, 0), .to_s = kst(2016, 10, 5, 0), .weather = &wx};
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(sim_history_write_truth(out, devs, 3, &s), 0);
    fclose(out);
    const char *head =
        "device,date,kind,actual_kwh,counterfactual_kwh,avoided_kwh,solar_kwh,no_ess_kwh\n";
    assert_true(strncmp(buf, head, strlen(head)) == 0);
    int lines = 0;
    for (char *p = buf; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 3 * 2);
    double v[4];
    /* no program: the counterfactual is the actual */
    truth_row(buf, "led-1-meter", "2016-10-03", v);
    assert_float_equal(v[0], v[1], 1e-9);
    assert_float_equal(v[2], 0.0, 1e-9);
    /* the actual is what the interval CSV records that day */
    assert_float_equal(v[0], energy(&home, &s, kst(2016, 10, 3, 0), 1, 0, 24, 0) / 1000, 1e-6);
    /* the retrofit: the avoided energy is 9% of the lighting-hours load (18-23 on the home's
     * shifted clock), the weather term untouched, worked out from the physics directly */
    truth_row(buf, "led-2-meter", "2016-10-04", v);
    uint64_t key = hist_key(9, led.key);
    struct sim_household h = {.kwh_month = 315,
                              .key = key,
                              .shift_s = (sim_hash_unit(sim_hash2(key, 0x5F1F7)) - 0.5) * 3600.0};
    double effect = 0.0;
    for (int64_t t = kst(2016, 10, 4, 0); t < kst(2016, 10, 5, 0); t += 900)
        for (int k = 0; k < 5; k++) {
            double u = (double)t + 90 + 180 * k;
            double hour = fmod(u + 9 * 3600 - h.shift_s, 86400.0) / 3600.0;
            if (hour >= 18.0 && hour < 23.0)
                effect += (1.0 - SIM_LED_EVENING_FACTOR) * sim_household_w(&h, u) * 0.05;
        }
    print_message("LED effect 2016-10-04: truth %.4f kWh, hand %.4f kWh\n", v[2], effect / 1000);
    assert_float_equal(v[1] - v[0], v[2], 1e-4);
    assert_float_equal(v[2], effect / 1000, 0.005); /* per-interval 0.1 Wh rounding */
    assert_true(v[2] > 0.1);
    /* solar: the production, no program */
    truth_row(buf, "pv-1", "2016-10-03", v);
    assert_true(v[3] > 1.0);
    assert_float_equal(v[0], v[3], 1e-9);
    assert_float_equal(v[2], 0.0, 1e-9);
    free(buf);
}

/* A building with the demo's battery (500 kWh usable, 100 kW, 90 %): on the weekday 2016-10-04
 * it charges 00:00-07:00 and 23:00-24:00 (8 h at 500 / sqrt(0.9) / 8 = 65.881 kW: 527.0464 kWh)
 * and discharges 09:00-19:00 (10 h at 500 x sqrt(0.9) / 10 = 47.434 kW: 474.3416 kWh), so its
 * meter imports 52.7048 kWh more than without it (the load, 200,000 kWh a month, never falls
 * below the discharge: no export); each side's 96 intervals round to 0.1 Wh (<= 0.0048 kWh).
 * The month's bills: the same kWh as the days, the peak and the bill fall with the battery. */
static void test_truth_without_battery(void **state)
{
    (void)state;
    struct sim_history_device hall = {
        .key = "hall-meter", .site = "hall", .kwh_month = 200000, .building = 1};
    hall.ess = (struct sim_ess){.usable_kwh = 500, .power_kw = 100, .efficiency = 0.9};
    struct tariff tou;
    tariff_default_general_tou(&tou);
    hall.tariff = &tou;
    struct sim_history_spec s = {
        .seed = 3, .from_s = kst(2016, 10, 1, 0), .to_s = kst(2016, 11, 1, 0)};
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(sim_history_write_truth(out, &hall, 1, &s), 0);
    fclose(out);
    double month[2] = {0.0, 0.0};
    for (char *p = strchr(buf, '\n'); p && p[1]; p = strchr(p + 1, '\n')) {
        char date[16];
        double v[5];
        assert_int_equal(sscanf(p + 1, "hall-meter,%10[0-9-],meter,%lf,%lf,%lf,%lf,%lf", date,
                                &v[0], &v[1], &v[2], &v[3], &v[4]),
                         6);
        assert_float_equal(v[0], v[1], 1e-9); /* no program: the battery is no counterfactual */
        month[0] += v[0];
        month[1] += v[4];
        if (strcmp(date, "2016-10-04") == 0)
            assert_float_equal(v[0] - v[4], 527.0464 - 474.3416, 0.0096);
        if (strcmp(date, "2016-10-08") == 0) /* a Saturday: idle (Sunday charges from 23:00) */
            assert_float_equal(v[0], v[4], 1e-9);
    }
    free(buf);
    buf = NULL;
    out = open_memstream(&buf, &len);
    assert_int_equal(sim_history_write_bills(out, &hall, 1, &s), 0);
    fclose(out);
    double kwh, no_kwh, kw, no_kw, bill, no_bill;
    int days;
    const char *line = strchr(buf, '\n');
    assert_non_null(line);
    assert_int_equal(sscanf(line + 1, "hall-meter,2016-10,%d,%lf,%lf,%lf,%lf,%lf,%lf", &days, &kwh,
                            &no_kwh, &kw, &no_kw, &bill, &no_bill),
                     7);
    assert_int_equal(days, 31);
    assert_float_equal(kwh, month[0], 0.01); /* the days' 4-decimal sums */
    assert_float_equal(no_kwh, month[1], 0.01);
    assert_true(no_kw - kw > 40.0 && no_kw - kw <= 47.434 + 0.01);
    assert_true(no_bill > bill);
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
        cmocka_unit_test(test_colder_weather_heats),
        cmocka_unit_test(test_truth_file),
        cmocka_unit_test(test_truth_without_battery),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
