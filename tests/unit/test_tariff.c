/* test_tariff.c -- progressive KRW tiers (summer separate), pro-rating, flat rate, dated CO2,
 * time-of-use periods and the ESS bill (ess_bill.c). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ess_bill.h"
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

static void test_tou_periods(void **state)
{
    (void)state;
    /* KEPCO general service (B): light 23-09; summer and spring-autumn peak 10-12, 13-17;
     * winter peak 10-12, 17-20, 22-23; mid the rest */
    static const char summer[] = "LLLLLLLLLMPPMPPPPMMMMMML";
    static const char winter[] = "LLLLLLLLLMPPMMMMMPPPMMPL";
    for (int h = 0; h < 24; h++) {
        char s = "LMP"[tariff_load_of(7, h, TARIFF_WEEKDAY)];
        char w = "LMP"[tariff_load_of(1, h, TARIFF_WEEKDAY)];
        assert_int_equal(s, summer[h]);
        assert_int_equal(w, winter[h]);
    }
    assert_int_equal(tariff_season_of(6), TARIFF_SUMMER);
    assert_int_equal(tariff_season_of(8), TARIFF_SUMMER);
    assert_int_equal(tariff_season_of(5), TARIFF_SPRING_AUTUMN);
    assert_int_equal(tariff_season_of(9), TARIFF_SPRING_AUTUMN);
    assert_int_equal(tariff_season_of(10), TARIFF_SPRING_AUTUMN);
    assert_int_equal(tariff_season_of(11), TARIFF_WINTER);
    assert_int_equal(tariff_season_of(2), TARIFF_WINTER);
    /* Saturday: peak billed as mid; Sunday/holiday: light all day */
    assert_int_equal(tariff_load_of(7, 11, TARIFF_SATURDAY), TARIFF_MID);
    assert_int_equal(tariff_load_of(7, 9, TARIFF_SATURDAY), TARIFF_MID);
    assert_int_equal(tariff_load_of(7, 11, TARIFF_HOLIDAY), TARIFF_LIGHT);
    struct tariff t;
    tariff_default_general_tou(&t);
    assert_float_equal(tariff_tou_rate(&t, 7, 11, TARIFF_WEEKDAY), 191.1, 1e-9);
    assert_float_equal(tariff_tou_rate(&t, 7, 11, TARIFF_SATURDAY), 109.0, 1e-9);
    assert_float_equal(tariff_tou_rate(&t, 7, 11, TARIFF_HOLIDAY), 56.1, 1e-9);
    assert_float_equal(tariff_tou_rate(&t, 4, 14, TARIFF_WEEKDAY), 109.3, 1e-9);
    assert_float_equal(tariff_tou_rate(&t, 4, 12, TARIFF_WEEKDAY), 78.6, 1e-9);
    assert_float_equal(tariff_tou_rate(&t, 12, 18, TARIFF_WEEKDAY), 166.7, 1e-9);
    assert_float_equal(tariff_tou_rate(&t, 12, 3, TARIFF_WEEKDAY), 63.1, 1e-9);
    assert_float_equal(t.tou.basic_krw_kw, 8320.0, 1e-9);
}

/* docs/SAVINGS.md "ESS worked example": a July weekday, four 15-minute intervals.
 *   02:00 light  building 15 kWh, ESS charges 10    -> grid 25
 *   11:00 peak   building 40 kWh (160 kW), discharges 9 -> grid 31 (124 kW)
 *   12:00 mid    building 35 kWh (140 kW)          -> grid 35
 *   18:00 mid    building 30 kWh (120 kW)          -> grid 30
 * Building: energy 15 x 56.1 + 40 x 191.1 + 35 x 109.0 + 30 x 109.0 = 841.5 + 7644 + 3815 +
 * 3270 = 15,570.5; demand 160 kW (the light-load hour does not count); basic 160 x 8320 =
 * 1,331,200; total 1,346,770.5.
 * Grid: 25 x 56.1 + 31 x 191.1 + 3815 + 3270 = 1402.5 + 5924.1 + 7085 = 14,411.6; demand
 * max(124, 140, 120) = 140 kW; basic 1,164,800; total 1,179,211.6.
 * Savings 167,558.9 KRW = energy 1,158.9 + basic 20 kW x 8320 = 166,400. */
static void test_ess_bill_month(void **state)
{
    (void)state;
    struct tariff t;
    tariff_default_general_tou(&t);
    struct ess_interval bld[] = {{7, 2, TARIFF_WEEKDAY, 15},
                                 {7, 11, TARIFF_WEEKDAY, 40},
                                 {7, 12, TARIFF_WEEKDAY, 35},
                                 {7, 18, TARIFF_WEEKDAY, 30}};
    struct ess_interval grid[] = {{7, 2, TARIFF_WEEKDAY, 25},
                                  {7, 11, TARIFF_WEEKDAY, 31},
                                  {7, 12, TARIFF_WEEKDAY, 35},
                                  {7, 18, TARIFF_WEEKDAY, 30}};
    struct ess_bill b, g;
    ess_bill_month(&t, bld, 4, 0.0, 1.0, &b);
    ess_bill_month(&t, grid, 4, 0.0, 1.0, &g);
    assert_float_equal(b.kwh, 120.0, 1e-9);
    assert_float_equal(b.energy_krw, 15570.5, 1e-6);
    assert_float_equal(b.demand_kw, 160.0, 1e-9);
    assert_float_equal(b.basic_krw, 1331200.0, 1e-6);
    assert_float_equal(b.total_krw, 1346770.5, 1e-6);
    assert_float_equal(g.kwh, 121.0, 1e-9); /* 1 kWh more: the ESS's losses */
    assert_float_equal(g.energy_krw, 14411.6, 1e-6);
    assert_float_equal(g.demand_kw, 140.0, 1e-9);
    assert_float_equal(g.total_krw, 1179211.6, 1e-6);
    assert_float_equal(ess_savings_krw(&b, &g), 167558.9, 1e-6);
    /* half a month covered: the basic charges halve, 1,158.9 + 83,200 = 84,358.9 */
    ess_bill_month(&t, bld, 4, 0.0, 0.5, &b);
    ess_bill_month(&t, grid, 4, 0.0, 0.5, &g);
    assert_float_equal(ess_savings_krw(&b, &g), 84358.9, 1e-6);
    /* a 200 kW light-load interval (50 kWh at 03:00) sets no demand */
    struct ess_interval night[] = {{7, 3, TARIFF_WEEKDAY, 50}, {7, 12, TARIFF_WEEKDAY, 10}};
    ess_bill_month(&t, night, 2, 0.0, 1.0, &b);
    assert_float_equal(b.demand_kw, 40.0, 1e-9);
    /* Sunday: all light, no demand */
    struct ess_interval sunday[] = {{7, 11, TARIFF_HOLIDAY, 40}};
    ess_bill_month(&t, sunday, 1, 0.0, 1.0, &b);
    assert_float_equal(b.demand_kw, 0.0, 1e-9);
    assert_float_equal(b.energy_krw, 40 * 56.1, 1e-9);
}

/* Months Jul..Jan with demands 200 210 190 150 160 170 180: January's ratchet looks at the
 * previous 11 months' Jul, Aug, Sep, Dec (not Oct, Nov): max(200, 210, 190, 170) = 210. With
 * the ratchet on, January bills 210 kW instead of its own 180. */
static void test_ess_ratchet(void **state)
{
    (void)state;
    int months[] = {7, 8, 9, 10, 11, 12, 1};
    double kw[] = {200, 210, 190, 150, 160, 170, 180};
    assert_float_equal(ess_ratchet_kw(months, kw, 6), 210.0, 1e-9);
    assert_float_equal(ess_ratchet_kw(months, kw, 0), 0.0, 1e-9);
    int m2[] = {10, 11};
    double k2[] = {300, 100};
    assert_float_equal(ess_ratchet_kw(m2, k2, 1), 0.0, 1e-9); /* October does not count */
    struct tariff t;
    tariff_default_general_tou(&t);
    struct ess_interval jan[] = {{1, 10, TARIFF_WEEKDAY, 45}}; /* 180 kW */
    struct ess_bill b;
    ess_bill_month(&t, jan, 1, 210.0, 1.0, &b);
    assert_float_equal(b.billing_kw, 180.0, 1e-9); /* ratchet off by default */
    t.tou.ratchet = 1;
    ess_bill_month(&t, jan, 1, 210.0, 1.0, &b);
    assert_float_equal(b.demand_kw, 180.0, 1e-9);
    assert_float_equal(b.billing_kw, 210.0, 1e-9);
    assert_float_equal(b.basic_krw, 210.0 * 8320.0, 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tiers_non_summer),
        cmocka_unit_test(test_tiers_summer),
        cmocka_unit_test(test_prorated_and_flat),
        cmocka_unit_test(test_co2_dated),
        cmocka_unit_test(test_tou_periods),
        cmocka_unit_test(test_ess_bill_month),
        cmocka_unit_test(test_ess_ratchet),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
