/* test_sim_tick.c -- enmon-sim register refresh ticks: floor, next refresh, duration parsing. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* The simulator's sources are not in enmon_core; sim_tick.c is pure (libc and libm only). */
#include "../../simulators/sim_tick.c"

/* 2025-12-31T00:00+09:00 = 2025-12-30T15:00Z = 1767106800 s since the epoch. */
#define KST_DEC31 1767106800.0

static void test_continuous(void **state)
{
    (void)state;
    struct sim_tick k = {0};
    /* no tick: an image shows the instant it is read */
    assert_true(sim_tick_floor(&k, KST_DEC31 + 0.25) == KST_DEC31 + 0.25);
}

static void test_daily_at_kst_noon(void **state)
{
    (void)state;
    /* every day at 03:00 UTC = 12:00 KST (the year run's tick) */
    struct sim_tick k = {.every_s = 86400, .offset_s = 3 * 3600};
    /* 2025-12-31 00:00 KST is 15:00 UTC on the 30th: the last refresh is 2025-12-30
       12:00 KST = 03:00 UTC, 12 h earlier: 1767106800 - 43200 = 1767063600 */
    assert_true(sim_tick_floor(&k, KST_DEC31) == 1767063600.0);
    /* 4.8 h either side of 2026-01-01 00:00 KST (KST_DEC31 + 86400) both show the
       refresh of 2025-12-31 12:00 KST = KST_DEC31 + 43200 */
    assert_true(sim_tick_floor(&k, KST_DEC31 + 86400 - 17280) == KST_DEC31 + 43200);
    assert_true(sim_tick_floor(&k, KST_DEC31 + 86400 + 17280) == KST_DEC31 + 43200);
    /* exactly at a refresh: that refresh; just before: the previous one */
    assert_true(sim_tick_floor(&k, KST_DEC31 + 43200) == KST_DEC31 + 43200);
    assert_true(sim_tick_floor(&k, KST_DEC31 + 43199.999) == KST_DEC31 - 43200);
    /* next: strictly after, also from a refresh instant */
    assert_true(sim_tick_next(&k, KST_DEC31) == KST_DEC31 + 43200);
    assert_true(sim_tick_next(&k, KST_DEC31 + 43200) == KST_DEC31 + 43200 + 86400);
}

static void test_before_epoch(void **state)
{
    (void)state;
    /* floor, not truncation: -1 s with 15-minute ticks shows -900 s */
    struct sim_tick k = {.every_s = 900};
    assert_true(sim_tick_floor(&k, -1.0) == -900.0);
    assert_true(sim_tick_floor(&k, 899.0) == 0.0);
}

static void test_parse(void **state)
{
    (void)state;
    double s = -1;
    assert_int_equal(sim_tick_parse("900", &s), 0);
    assert_true(s == 900.0);
    assert_int_equal(sim_tick_parse("15m", &s), 0);
    assert_true(s == 900.0);
    assert_int_equal(sim_tick_parse("24h", &s), 0);
    assert_true(s == 86400.0);
    assert_int_equal(sim_tick_parse("3h", &s), 0);
    assert_true(s == 10800.0);
    assert_int_equal(sim_tick_parse("2d", &s), 0);
    assert_true(s == 172800.0);
    assert_int_equal(sim_tick_parse("30s", &s), 0);
    assert_true(s == 30.0);
    assert_int_equal(sim_tick_parse("0", &s), 0);
    assert_true(s == 0.0);
    assert_int_equal(sim_tick_parse("366d", &s), 0); /* the most: 31,622,400 s */
    assert_true(s == 31622400.0);
    s = 7;
    assert_int_equal(sim_tick_parse("367d", &s), -1);
    assert_int_equal(sim_tick_parse("-5", &s), -1);
    assert_int_equal(sim_tick_parse("+5", &s), -1);
    assert_int_equal(sim_tick_parse(" 5", &s), -1);
    assert_int_equal(sim_tick_parse("", &s), -1);
    assert_int_equal(sim_tick_parse("h", &s), -1);
    assert_int_equal(sim_tick_parse("5x", &s), -1);
    assert_int_equal(sim_tick_parse("5hh", &s), -1);
    assert_int_equal(sim_tick_parse("1.5h", &s), -1);
    assert_int_equal(sim_tick_parse("99999999999999999999", &s), -1);
    assert_true(s == 7.0); /* untouched on error */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_continuous),
        cmocka_unit_test(test_daily_at_kst_noon),
        cmocka_unit_test(test_before_epoch),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
