/* test_tariff.c -- progressive KRW tiers (summer separate), pro-rating, flat rate, dated CO2. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "tariff.h"

#define KST(y, m, d) kst_midnight(y, m, d)

#include <string.h>
#include <time.h>

static int64_t kst_midnight(int y, int m, int d)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    return (int64_t)timegm(&tm) - 9 * 3600;
}

static void test_tiers_non_summer(void **state)
{
    (void)state;
    struct tariff t;
    tariff_default_residential(&t);
    /* docs/SAVINGS.md: 200 x 120.0 + 200 x 214.6 + 10 x 307.3 */
    assert_float_equal(tariff_energy_charge(&t, 3, 410), 69993.0, 1e-6);
    assert_float_equal(tariff_energy_charge(&t, 3, 350), 56190.0, 1e-6);
    assert_float_equal(tariff_energy_charge(&t, 3, 200), 24000.0, 1e-6);
    assert_float_equal(tariff_energy_charge(&t, 3, 0), 0.0, 1e-9);
    assert_float_equal(tariff_saved_krw(&t, 3, 350, 60, 1.0), 13803.0, 1e-6);
}

static void test_tiers_summer(void **state)
{
    (void)state;
    struct tariff t;
    tariff_default_residential(&t);
    assert_float_equal(tariff_energy_charge(&t, 8, 410), 59606.0, 1e-6);
    assert_float_equal(tariff_energy_charge(&t, 7, 350), 46730.0, 1e-6);
    assert_float_equal(tariff_energy_charge(&t, 8, 450), 68190.0, 1e-6);
    assert_float_equal(tariff_saved_krw(&t, 8, 350, 60, 1.0), 12876.0, 1e-6);
    /* June is not summer */
    assert_float_equal(tariff_energy_charge(&t, 6, 410), 69993.0, 1e-6);
}

static void test_prorated_and_flat(void **state)
{
    (void)state;
    struct tariff t;
    tariff_default_residential(&t);
    /* half a month: 175 + 30 kWh billed as 350 + 60, halved */
    assert_float_equal(tariff_saved_krw(&t, 3, 175, 30, 0.5), 6901.5, 1e-6);
    /* more consumption than baseline: a negative saving */
    assert_float_equal(tariff_saved_krw(&t, 3, 410, -60, 1.0), -13803.0, 1e-6);
    struct tariff flat = {.flat_krw = 130.0};
    assert_float_equal(tariff_saved_krw(&flat, 3, 1000, 10, 0.3), 1300.0, 1e-9);
    assert_float_equal(tariff_energy_charge(&flat, 8, 2), 260.0, 1e-9);
}

static void test_co2_dated(void **state)
{
    (void)state;
    struct co2_table c;
    tariff_co2_default(&c);
    assert_float_equal(tariff_co2_kg(&c, KST(2023, 5, 1), 100), 41.73, 1e-9);
    c.n = 0;
    assert_int_equal(tariff_co2_add(&c, KST(2023, 1, 1), 0.4173), 0);
    assert_int_equal(tariff_co2_add(&c, KST(2021, 1, 1), 0.4567), 0);
    assert_float_equal(tariff_co2_factor(&c, KST(2022, 12, 31)), 0.4567, 1e-12);
    assert_float_equal(tariff_co2_factor(&c, KST(2023, 1, 1)), 0.4173, 1e-12);
    assert_float_equal(tariff_co2_factor(&c, KST(2023, 1, 1) - 1), 0.4567, 1e-12);
    assert_float_equal(tariff_co2_factor(&c, KST(2019, 1, 1)), 0.4567, 1e-12);
    assert_float_equal(tariff_co2_kg(&c, KST(2022, 6, 1), 1000), 456.7, 1e-9);
    struct co2_table empty = {0};
    assert_float_equal(tariff_co2_factor(&empty, 0), 0.0, 1e-12);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiers_non_summer),
        cmocka_unit_test(test_tiers_summer),
        cmocka_unit_test(test_prorated_and_flat),
        cmocka_unit_test(test_co2_dated),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
