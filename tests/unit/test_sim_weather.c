/* test_sim_weather.c -- enmon-sim's Daejeon temperature series (normals, daily cycle, offsets,
 * KMA CSV) and the heating and cooling term of the loads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* The simulator's sources are not in enmon_core; both files are pure (libm only). */
#include "../../simulators/sim_physics.c"
#include "../../simulators/sim_weather.c"

#include <stdlib.h>
#include <string.h>

static int64_t kst(int y, int m, int d, int h)
{
    return caltime_days_from_civil(y, m, d) * CALTIME_DAY_S + h * CALTIME_HOUR_S - 9 * 3600;
}

/* Mean of the hourly temperatures of month m (1..12) over the years y0..y1. */
static double month_mean(const struct sim_weather *w, int y0, int y1, int m)
{
    double sum = 0.0;
    long n = 0;
    for (int y = y0; y <= y1; y++)
        for (int64_t t = kst(y, m, 1, 0); t < kst(y, m, caltime_days_in_month(y, m), 24);
             t += 3600, n++)
            sum += sim_weather_temp_c(w, (double)t);
    return sum / (double)n;
}

static void test_normal_curve_keeps_monthly_means(void **state)
{
    (void)state;
    /* the seasonal curve alone: each month's hourly mean is its normal (piecewise linear nodes
     * solved for it; hourly sampling leaves < 0.02 C) */
    for (int m = 1; m <= 12; m++) {
        double sum = 0.0;
        int n = 0;
        for (int64_t t = kst(2019, m, 1, 0); t < kst(2019, m, caltime_days_in_month(2019, m), 24);
             t += 3600, n++)
            sum += sim_weather_normal_at((double)t);
        assert_float_equal(sum / n, SIM_WEATHER_NORMAL_C[m - 1], 0.02);
    }
}

static void test_ten_years_match_normals(void **state)
{
    (void)state;
    struct sim_weather w = {.seed = 11};
    assert_int_equal(sim_weather_tabulate(&w, kst(2011, 1, 1, 0), kst(2021, 1, 1, 0)), 0);
    double mean[13];
    for (int m = 1; m <= 12; m++) {
        mean[m] = month_mean(&w, 2011, 2020, m);
        print_message("month %2d: %6.2f C (normal %5.1f)\n", m, mean[m],
                      SIM_WEATHER_NORMAL_C[m - 1]);
        assert_true(fabs(mean[m] - SIM_WEATHER_NORMAL_C[m - 1]) <= 1.5);
    }
    assert_true(mean[1] < mean[8] - 20.0); /* January about -1 C, August about 26 C */
    /* Against published figures, not the generator's own table (docs/SIMULATOR.md "Normals
     * used": the only station-133 monthly figures found with a source are the City of
     * Daejeon's climate page, KMA data 1981-2010: January -1.0 C, August 25.6 C, the year
     * 13.0 C; 1991-2020 is about 0.2 C warmer, KMA Daejeon office 2021-03-25). Within 1.5 C a
     * month; the hour-weighted year within 0.5 C. */
    assert_true(fabs(mean[1] - -1.0) <= 1.5);
    assert_true(fabs(mean[8] - 25.6) <= 1.5);
    double year = 0.0;
    for (int m = 1; m <= 12; m++)
        year += mean[m] * caltime_days_in_month(2015, m) / 365.0;
    print_message("year: %6.2f C (published 1981-2010: 13.0)\n", year);
    assert_true(fabs(year - 13.0) <= 0.5);
    /* the tabulated anomalies are the direct ones, bit for bit */
    struct sim_weather direct = {.seed = 11};
    for (int64_t t = kst(2015, 3, 1, 0); t < kst(2015, 3, 3, 0); t += 1800)
        assert_true(sim_weather_temp_c(&w, (double)t) == sim_weather_temp_c(&direct, (double)t));
    sim_weather_free(&w);
}

static void test_daily_max_after_min(void **state)
{
    (void)state;
    struct sim_weather w = {.seed = 5};
    double by_hour[24] = {0};
    int later = 0, days = 365;
    for (int d = 0; d < days; d++) {
        int64_t day0 = kst(2018, 1, 1, 0) + (int64_t)d * CALTIME_DAY_S;
        int hmin = 0, hmax = 0;
        double vmin = 1e9, vmax = -1e9;
        for (int h = 0; h < 24; h++) {
            double c = sim_weather_temp_c(&w, (double)(day0 + h * 3600));
            by_hour[h] += c / days;
            if (c < vmin) {
                vmin = c;
                hmin = h;
            }
            if (c > vmax) {
                vmax = c;
                hmax = h;
            }
        }
        later += hmax > hmin;
    }
    int amin = 0, amax = 0;
    for (int h = 1; h < 24; h++) {
        amin = by_hour[h] < by_hour[amin] ? h : amin;
        amax = by_hour[h] > by_hour[amax] ? h : amax;
    }
    assert_int_equal(amin, 6); /* the mean day: coldest at 06:00, warmest at 15:00 */
    assert_int_equal(amax, 15);
    assert_true(later >= days * 8 / 10); /* most single days too, despite the swings */
}

static void assert_near(double a, double b, double eps)
{
    if (fabs(a - b) > eps)
        fail_msg("%.12f != %.12f (within %g)", a, b, eps);
}

static void test_offsets_shift_seasons(void **state)
{
    (void)state;
    struct sim_weather base = {.seed = 3};
    struct sim_weather hot = {.seed = 3,
                              .summer_offset_c = 2.5,
                              .winter_offset_c = -2.0,
                              .offset_from_s = kst(2017, 1, 1, 0)};
    /* same draws: the summer mean moves by exactly the offset, winter by its own, spring not */
    assert_near(month_mean(&hot, 2017, 2017, 7) - month_mean(&base, 2017, 2017, 7), 2.5, 1e-9);
    assert_near(month_mean(&hot, 2017, 2017, 8) - month_mean(&base, 2017, 2017, 8), 2.5, 1e-9);
    assert_near(month_mean(&hot, 2017, 2017, 1) - month_mean(&base, 2017, 2017, 1), -2.0, 1e-9);
    assert_near(month_mean(&hot, 2017, 2017, 4), month_mean(&base, 2017, 2017, 4), 1e-12);
    /* nothing before offset_from */
    assert_near(month_mean(&hot, 2016, 2016, 7), month_mean(&base, 2016, 2016, 7), 1e-12);
}

static void test_kma_csv(void **state)
{
    (void)state;
    struct sim_weather w = {.seed = 1};
    char *buf = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&buf, &len);
    assert_int_equal(sim_weather_write_kma(out, &w, 133, kst(2024, 2, 28, 0), kst(2024, 3, 1, 0)),
                     0);
    fclose(out);
    const char *head = "지점,지점명,일시,기온(°C)\n133,대전,2024-02-28 00:00,";
    assert_true(strncmp(buf, head, strlen(head)) == 0);
    int lines = 0;
    for (char *p = buf; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 2 * 24); /* 2024-02-28 and the leap day */
    assert_non_null(strstr(buf, "\n133,대전,2024-02-29 23:00,"));
    free(buf);
}

static void test_hvac_term(void **state)
{
    (void)state;
    /* 310 kWh/month: 310000 * 12 / 8760 = 424.6575 W mean */
    double mean = sim_household_mean_w(310);
    assert_float_equal(mean, 424.6575, 1e-4);
    /* heating 0.015 * 424.6575 = 6.36986 W/K below 15 C: 5 C -> 63.70 W, 10 C -> 31.85 W, so
     * the colder day's load is 31.85 W higher */
    assert_float_equal(sim_hvac_w(mean, 0, 5.0, 3.0, 0), 63.6986, 1e-3);
    assert_float_equal(sim_hvac_w(mean, 0, 5.0, 3.0, 0) - sim_hvac_w(mean, 0, 10.0, 3.0, 0),
                       31.8493, 1e-3);
    /* between the balance points nothing; cooling 0.09 * 424.6575 * (30 - 22) = 305.75 W */
    assert_float_equal(sim_hvac_w(mean, 0, 18.0, 12.0, 1), 0.0, 1e-12);
    assert_float_equal(sim_hvac_w(mean, 0, 30.0, 12.0, 1), 305.7534, 1e-3);
    /* office: weekdays 08-19 only; 10 C is 4 K below 14 C: 0.04 * 4 * 1000 = 160 W */
    assert_float_equal(sim_hvac_w(1000.0, 1, 10.0, 10.0, 0), 160.0, 1e-9);
    assert_float_equal(sim_hvac_w(1000.0, 1, 10.0, 10.0, 1), 0.0, 1e-12);
    assert_float_equal(sim_hvac_w(1000.0, 1, 10.0, 20.0, 0), 0.0, 1e-12);
    /* 30 C is 10 K above 20 C: 0.06 * 10 * 1000 = 600 W */
    assert_float_equal(sim_hvac_w(1000.0, 1, 30.0, 14.0, 0), 600.0, 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_curve_keeps_monthly_means),
        cmocka_unit_test(test_ten_years_match_normals),
        cmocka_unit_test(test_daily_max_after_min),
        cmocka_unit_test(test_offsets_shift_seasons),
        cmocka_unit_test(test_kma_csv),
        cmocka_unit_test(test_hvac_term),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
