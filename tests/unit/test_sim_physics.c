/* test_sim_physics.c -- enmon-sim physics: sun, irradiance, PV, household load, seeds, ESS. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* Unit tests link enmon_core only, and the simulator's sources are not in that
 * library (they form the enmon-sim executable). sim_physics.c is pure (no I/O,
 * no globals, only libm), so the test compiles it in directly. */
#include "../../simulators/sim_physics.c"

#include <math.h>
#include <string.h>

#define HOUR 3600.0
#define DAY 86400.0

/* UTC epoch seconds of a local (UTC+9) date and time. */
static double local_time(int y, int mon, int d, int h, int min)
{
    return (double)(caltime_days_from_civil(y, mon, d) * CALTIME_DAY_S + h * 3600 + min * 60) -
           SIM_TZ_S;
}

/* Highest solar elevation over a local day (the elevation at solar noon) and when. */
static double max_elevation(int y, int mon, int d, double *at)
{
    double best = -90.0;
    for (double t = local_time(y, mon, d, 10, 0); t < local_time(y, mon, d, 15, 0); t += 30.0) {
        double el = sim_sun_position(SIM_LAT_DEG, SIM_LON_DEG, t).elevation_deg;
        if (el > best) {
            best = el;
            *at = t;
        }
    }
    return best;
}

static void test_solar_noon_june_solstice(void **state)
{
    (void)state;
    double at = 0;
    double el = max_elevation(2026, 6, 21, &at);
    /* 90 - 36.35 + 23.44 */
    assert_true(fabs(el - 77.09) < 1.0);
    /* solar noon in Daejeon (127.38 E on a 135 E clock) is about 12:31 local */
    double noon = local_time(2026, 6, 21, 12, 31);
    assert_true(fabs(at - noon) < 10 * 60.0);
    struct sim_sun sun = sim_sun_position(SIM_LAT_DEG, SIM_LON_DEG, at);
    assert_true(fabs(sun.azimuth_deg - 180.0) < 5.0);
}

static void test_solar_noon_december_solstice(void **state)
{
    (void)state;
    double at = 0;
    double el = max_elevation(2026, 12, 21, &at);
    /* 90 - 36.35 - 23.44 */
    assert_true(fabs(el - 30.21) < 1.0);
}

static void test_morning_sun_is_in_the_east(void **state)
{
    (void)state;
    struct sim_sun sun = sim_sun_position(SIM_LAT_DEG, SIM_LON_DEG, local_time(2026, 3, 20, 8, 0));
    assert_true(sun.elevation_deg > 5.0);
    assert_true(sun.azimuth_deg > 90.0 && sun.azimuth_deg < 150.0);
}

static void test_no_irradiance_at_night(void **state)
{
    (void)state;
    double midnight = local_time(2026, 6, 21, 0, 0);
    struct sim_sun sun = sim_sun_position(SIM_LAT_DEG, SIM_LON_DEG, midnight);
    assert_true(sun.elevation_deg < 0.0);
    struct sim_irradiance irr = sim_clear_sky(sun.zenith_deg);
    assert_true(irr.ghi == 0.0 && irr.dni == 0.0 && irr.dhi == 0.0);
    assert_true(sim_poa(irr, sun, 30, 180) == 0.0);
    struct sim_pv pv = {3000, 30, 180, 1, 2, 1.0};
    assert_true(sim_pv_output(&pv, midnight).ac_w == 0.0);
    assert_true(sim_pv_output(&pv, local_time(2026, 12, 21, 19, 0)).ac_w == 0.0);
}

static void test_clear_sky_noon_irradiance(void **state)
{
    (void)state;
    struct sim_irradiance irr = sim_clear_sky(90.0 - 77.0);
    assert_true(irr.ghi > 900.0 && irr.ghi < 1100.0);
    assert_true(irr.dni > irr.dhi);
    /* a south-facing 30 degree plane gets more than the horizontal in December */
    double dec = local_time(2026, 12, 21, 12, 30);
    struct sim_sun sun = sim_sun_position(SIM_LAT_DEG, SIM_LON_DEG, dec);
    struct sim_irradiance winter = sim_clear_sky(sun.zenith_deg);
    assert_true(sim_poa(winter, sun, 30, 180) > winter.ghi * 1.2);
    assert_true(sim_poa(winter, sun, 30, 0) < winter.ghi);
}

static void test_inverter_output(void **state)
{
    (void)state;
    assert_true(fabs(sim_inverter_ac_w(3000, 1000, 25) - 3000 * (1 - SIM_PV_LOSSES)) < 1e-6);
    assert_true(sim_inverter_ac_w(3000, 1400, 25) == 3000.0); /* clipped at the rating */
    assert_true(sim_inverter_ac_w(3000, 900, 60) < sim_inverter_ac_w(3000, 900, 25));
    assert_true(sim_inverter_ac_w(3000, 0, 25) == 0.0);
}

static void test_pv_produces_at_noon_and_month_is_plausible(void **state)
{
    (void)state;
    struct sim_pv pv = {3000, 30, 180, sim_hash2(1, 0x5EA7E1), 77, 1.0};
    assert_true(sim_pv_output(&pv, local_time(2026, 6, 21, 12, 0)).ac_w > 0.0);
    double wh = 0.0;
    double t0 = local_time(2026, 6, 1, 0, 0);
    for (double t = t0; t < t0 + 30 * DAY; t += 300.0)
        wh += sim_pv_output(&pv, t + 150.0).ac_w * 300.0 / HOUR;
    /* a 3 kWp roof in Daejeon: roughly 3 to 5 kWh per kWp and day in June */
    assert_true(wh / 1000.0 > 3.0 * 30 * 2.5 && wh / 1000.0 < 3.0 * 30 * 5.5);
}

static double household_kwh(const struct sim_household *h, double from, double days)
{
    double wh = 0.0;
    for (double t = from; t < from + days * DAY; t += 60.0)
        wh += sim_household_w(h, t + 30.0) * 60.0 / HOUR;
    return wh / 1000.0;
}

static void test_household_month_matches_target(void **state)
{
    (void)state;
    struct sim_household h = {.kwh_month = 310.0, .key = sim_hash2(1, 42)};
    double june = household_kwh(&h, local_time(2026, 6, 1, 0, 0), 30);
    double january = household_kwh(&h, local_time(2026, 1, 1, 0, 0), 31);
    assert_true(fabs(june - 310.0) < 310.0 * 0.05);
    assert_true(fabs(january - 310.0) < 310.0 * 0.05);
    h.kwh_month = 330.0;
    h.key = sim_hash2(7, 99);
    double other = household_kwh(&h, local_time(2026, 6, 1, 0, 0), 30);
    assert_true(fabs(other - 330.0) < 330.0 * 0.05);
    struct sim_household hall = {.kwh_month = 60000.0, .building = 1, .key = sim_hash2(1, 3)};
    double office = household_kwh(&hall, local_time(2026, 6, 1, 0, 0), 30);
    assert_true(fabs(office - 60000.0) < 60000.0 * 0.05);
}

static void test_office_building_works_by_day(void **state)
{
    (void)state;
    /* 2026-06-22 is a Monday, 2026-06-21 a Sunday */
    assert_true(sim_load_shape(10.0, 0, 1) > 2.5 * sim_load_shape(3.0, 0, 1));
    assert_true(sim_load_shape(10.0, 0, 1) > 2.0 * sim_load_shape(10.0, 1, 1));
    assert_true(sim_load_shape(20.0, 0, 1) < sim_load_shape(20.0, 0, 0));
}

static void test_household_daily_shape(void **state)
{
    (void)state;
    struct sim_household h = {.kwh_month = 310.0, .key = sim_hash2(3, 5)};
    double night = 0.0, evening = 0.0;
    int n = 0;
    for (int d = 1; d <= 28; d++) {
        night += sim_household_w(&h, local_time(2026, 2, d, 3, 0));
        evening += sim_household_w(&h, local_time(2026, 2, d, 20, 0));
        n++;
    }
    night /= n;
    evening /= n;
    assert_true(night > 120.0 && night < 200.0);
    assert_true(evening > 3.0 * night);
    /* weekends (2026-02-07 Sat) are busier at 10:00 than weekdays (02-09 Mon) */
    assert_true(sim_load_shape(10.0, 1, 0) > sim_load_shape(10.0, 0, 0));
}

/* An office's retrofit acts in working hours (weekdays 08-19 h): 12 % there, nothing in the
 * evening or at weekends. */
static void test_led_retrofit_office_working_hours(void **state)
{
    (void)state;
    struct sim_household before = {.kwh_month = 9000.0, .building = 1, .key = sim_hash2(3, 8)};
    struct sim_household after = before;
    after.led_retrofit = 1;
    double wed10 = local_time(2026, 6, 3, 10, 0), wed20 = local_time(2026, 6, 3, 20, 0);
    double sat10 = local_time(2026, 6, 6, 10, 0);
    assert_true(fabs(sim_household_w(&after, wed10) / sim_household_w(&before, wed10) -
                     SIM_LED_OFFICE_FACTOR) < 1e-9);
    assert_true(sim_household_w(&after, wed20) == sim_household_w(&before, wed20));
    assert_true(sim_household_w(&after, sat10) == sim_household_w(&before, sat10));
}

static void test_led_retrofit_saves_in_the_evening(void **state)
{
    (void)state;
    struct sim_household before = {.kwh_month = 310.0, .key = sim_hash2(1, 8)};
    struct sim_household after = before;
    after.led_retrofit = 1;
    double evening = local_time(2026, 6, 3, 20, 0);
    double ratio = sim_household_w(&after, evening) / sim_household_w(&before, evening);
    assert_true(fabs(ratio - SIM_LED_EVENING_FACTOR) < 1e-9);
    double noon = local_time(2026, 6, 3, 12, 0);
    assert_true(sim_household_w(&after, noon) == sim_household_w(&before, noon));
    double t0 = local_time(2026, 6, 1, 0, 0);
    double saved = 1.0 - household_kwh(&after, t0, 30) / household_kwh(&before, t0, 30);
    assert_true(saved > 0.02 && saved < 0.08);
}

static void test_seeded_determinism(void **state)
{
    (void)state;
    double t = local_time(2026, 6, 21, 13, 17);
    assert_true(sim_cloud_factor(11, 22, t) == sim_cloud_factor(11, 22, t));
    struct sim_household a = {.kwh_month = 310.0, .key = sim_hash2(1, 100)};
    struct sim_household b = {.kwh_month = 310.0, .key = sim_hash2(2, 100)};
    assert_true(sim_household_w(&a, t) == sim_household_w(&a, t));
    assert_true(sim_household_w(&a, t) != sim_household_w(&b, t));
    int differ = 0;
    for (int i = 0; i < 48; i++) {
        double ti = t + i * 1800.0;
        double f = sim_cloud_factor(sim_hash2(1, 0), 5, ti);
        assert_true(f >= 0.1 && f <= 1.0);
        differ += f != sim_cloud_factor(sim_hash2(2, 0), 5, ti);
    }
    assert_true(differ > 0);
    assert_true(sim_hash2(1, 2) != sim_hash2(2, 1));
}

static void test_grid_values_in_band(void **state)
{
    (void)state;
    double t0 = local_time(2026, 6, 1, 0, 0);
    for (double t = t0; t < t0 + 2 * DAY; t += 97.0) {
        double v = sim_grid_voltage(3, 4, t);
        double f = sim_grid_frequency(3, t);
        assert_true(v >= 220.0 && v <= 230.0);
        assert_true(f >= 59.98 && f <= 60.02);
    }
}

/* 500 kWh usable, 100 kW, 90% round trip (each way sqrt(0.9) = 0.948683): the cycle stores
 * min(500, 100 x 8 h x 0.948683 = 758.9, 100 x 10 h / 0.948683 = 1054.1) = 500 kWh.
 * Charge 23:00-07:00: 500 / 0.948683 / 8 = 65.881 kW from the grid (527.05 kWh);
 * discharge 09:00-19:00: 500 x 0.948683 / 10 = 47.434 kW (474.34 kWh = 0.9 x 527.05).
 * 2016-09-05 is a Monday; it serves the weekdays from 2016-09-01 on. */
static void test_ess_schedule_and_soc(void **state)
{
    (void)state;
    struct sim_ess e = {.usable_kwh = 500,
                        .power_kw = 100,
                        .efficiency = 0.9,
                        .from_s = local_time(2016, 9, 1, 0, 0)};
    assert_float_equal(sim_ess_cycle_kwh(&e), 500.0, 1e-9);
    assert_float_equal(sim_ess_w(&e, local_time(2016, 9, 4, 23, 30)), 65881.0, 1.0); /* Sun */
    assert_float_equal(sim_ess_w(&e, local_time(2016, 9, 5, 3, 0)), 65881.0, 1.0);
    assert_float_equal(sim_ess_soc(&e, local_time(2016, 9, 5, 3, 0)), 0.5, 1e-9); /* 4 of 8 h */
    assert_float_equal(sim_ess_w(&e, local_time(2016, 9, 5, 8, 0)), 0.0, 1e-9);
    assert_float_equal(sim_ess_soc(&e, local_time(2016, 9, 5, 8, 0)), 0.9, 1e-9);
    assert_float_equal(sim_ess_w(&e, local_time(2016, 9, 5, 14, 0)), -47434.0, 1.0);
    assert_float_equal(sim_ess_soc(&e, local_time(2016, 9, 5, 14, 0)), 0.5, 1e-9); /* 5 of 10 */
    assert_float_equal(sim_ess_w(&e, local_time(2016, 9, 5, 19, 0)), 0.0, 1e-9);
    assert_float_equal(sim_ess_soc(&e, local_time(2016, 9, 5, 20, 0)), 0.1, 1e-9);
    /* Friday night and the weekend idle; before the start idle */
    assert_float_equal(sim_ess_w(&e, local_time(2016, 9, 9, 23, 30)), 0.0, 1e-9);
    assert_float_equal(sim_ess_w(&e, local_time(2016, 9, 10, 14, 0)), 0.0, 1e-9);
    assert_float_equal(sim_ess_w(&e, local_time(2016, 8, 31, 14, 0)), 0.0, 1e-9);
    /* the first day served, Thursday 2016-09-01, charges from 23:00 the night before */
    assert_float_equal(sim_ess_w(&e, local_time(2016, 8, 31, 22, 30)), 0.0, 1e-9);
    assert_float_equal(sim_ess_w(&e, local_time(2016, 8, 31, 23, 30)), 65881.0, 1.0);
    /* energy over a weekday cycle, 1-minute steps: in 527.05 kWh, out 474.34 kWh */
    double in = 0.0, out = 0.0;
    for (double t = local_time(2016, 9, 4, 23, 0); t < local_time(2016, 9, 5, 23, 0); t += 60) {
        double w = sim_ess_w(&e, t + 30);
        in += w > 0 ? w / 60000.0 : 0.0;
        out += w < 0 ? -w / 60000.0 : 0.0;
    }
    assert_float_equal(in, 527.046, 0.01);
    assert_float_equal(out, 474.342, 0.01);
    assert_float_equal(out / in, 0.9, 1e-6);
    struct sim_ess none = {0};
    assert_float_equal(sim_ess_w(&none, local_time(2016, 9, 5, 14, 0)), 0.0, 1e-9);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_solar_noon_june_solstice),
        cmocka_unit_test(test_solar_noon_december_solstice),
        cmocka_unit_test(test_morning_sun_is_in_the_east),
        cmocka_unit_test(test_no_irradiance_at_night),
        cmocka_unit_test(test_clear_sky_noon_irradiance),
        cmocka_unit_test(test_inverter_output),
        cmocka_unit_test(test_pv_produces_at_noon_and_month_is_plausible),
        cmocka_unit_test(test_household_month_matches_target),
        cmocka_unit_test(test_household_daily_shape),
        cmocka_unit_test(test_office_building_works_by_day),
        cmocka_unit_test(test_led_retrofit_saves_in_the_evening),
        cmocka_unit_test(test_led_retrofit_office_working_hours),
        cmocka_unit_test(test_seeded_determinism),
        cmocka_unit_test(test_grid_values_in_band),
        cmocka_unit_test(test_ess_schedule_and_soc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
