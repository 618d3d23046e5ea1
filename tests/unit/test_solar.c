/* test_solar.c -- sun position and clear-sky irradiance in Daejeon against known values. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "solar.h"

#include <math.h>
#include <string.h>
#include <time.h>

#define LAT 36.35
#define LON 127.38

/* UTC epoch seconds of a local (UTC+9) date and time. */
static double kst(int y, int mon, int d, int h, int min)
{
    struct tm tm;
    memset(&tm, 0, sizeof tm);
    tm.tm_year = y - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = min;
    return (double)timegm(&tm) - 9 * 3600;
}

static void test_noon_elevation_at_solstices(void **state)
{
    (void)state;
    /* solar noon in Daejeon is about 12:31 local; 90 - lat +- 23.44 */
    assert_true(fabs(solar_position(LAT, LON, kst(2026, 6, 21, 12, 31)).elevation_deg - 77.09) < 1);
    assert_true(fabs(solar_position(LAT, LON, kst(2026, 12, 21, 12, 31)).elevation_deg - 30.21) <
                1);
    struct solar_pos p = solar_position(LAT, LON, kst(2026, 6, 21, 12, 31));
    assert_true(fabs(p.azimuth_deg - 180) < 5);
    assert_true(fabs(p.zenith_deg + p.elevation_deg - 90) < 1e-9);
}

static void test_sunrise_east_and_night(void **state)
{
    (void)state;
    struct solar_pos am = solar_position(LAT, LON, kst(2026, 3, 20, 8, 0));
    assert_true(am.elevation_deg > 5 && am.azimuth_deg > 90 && am.azimuth_deg < 150);
    struct solar_pos pm = solar_position(LAT, LON, kst(2026, 3, 20, 17, 0));
    assert_true(pm.azimuth_deg > 210 && pm.azimuth_deg < 270);
    struct solar_pos night = solar_position(LAT, LON, kst(2026, 3, 20, 0, 0));
    assert_true(night.elevation_deg < -30);
    assert_true(solar_clear_sky(night.zenith_deg).ghi == 0.0);
    assert_true(solar_clear_sky_ac_w(3000, night.zenith_deg) == 0.0);
}

static void test_clear_sky_magnitudes(void **state)
{
    (void)state;
    struct solar_irradiance high = solar_clear_sky(13.0);
    assert_true(high.ghi > 950 && high.ghi < 1100);
    assert_true(fabs(high.dhi - 0.15 * high.ghi) < 1e-9);
    assert_true(solar_clear_sky(60.0).ghi < high.ghi);
    /* capacity x GHI/1000 x 0.86, capped at capacity */
    double ac = solar_clear_sky_ac_w(3000, 13.0);
    assert_true(fabs(ac - 3000 * high.ghi / 1000 * 0.86) < 1e-6);
    assert_true(solar_clear_sky_ac_w(0, 13.0) == 0.0);
    assert_true(fabs(solar_declination_rad(172) - 0.4093) < 0.01); /* +23.45 deg */
    assert_true(fabs(solar_equation_of_time_min(306)) > 15);       /* early November: ~16 min */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_noon_elevation_at_solstices),
        cmocka_unit_test(test_sunrise_east_and_night),
        cmocka_unit_test(test_clear_sky_magnitudes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
