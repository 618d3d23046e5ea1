/* test_clock.c -- the ISO-8601 parser and the simulated clock shared by enmond and enmon-sim. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"

#include <stdlib.h>

#define NOON_KST 1782010800LL /* 2026-06-21T12:00:00+09:00 = 03:00:00Z */
#define NS_PER_S 1000000000LL

static void test_parse_with_zone(void **state)
{
    long long t = 0;
    assert_int_equal(clock_parse_time_arg("2026-06-21T12:00:00+09:00", &t), 0);
    assert_true(t == NOON_KST);
    assert_int_equal(clock_parse_time_arg("2026-06-21T03:00:00Z", &t), 0);
    assert_true(t == NOON_KST);
    assert_int_equal(clock_parse_time_arg("2026-06-20T23:00-04:00", &t), 0);
    assert_true(t == NOON_KST);
    assert_int_equal(clock_parse_time_arg("2026-06-21t03:00z", &t), 0);
    assert_true(t == NOON_KST);
}

static void test_parse_without_zone_is_korea_time(void **state)
{
    long long t = 0;
    assert_int_equal(clock_parse_time_arg("2026-06-21T12:00:00", &t), 0);
    assert_true(t == NOON_KST);
    assert_int_equal(clock_parse_time_arg("2026-06-21T12:00", &t), 0);
    assert_true(t == NOON_KST);
    /* 00:30 KST on New Year's day is still the previous year in UTC */
    assert_int_equal(clock_parse_time_arg("2026-01-01T00:30", &t), 0);
    assert_true(t == 1767227400LL - 9 * 3600);
}

static void test_parse_ignores_process_tz(void **state)
{
    long long t = 0;
    setenv("TZ", "America/New_York", 1);
    assert_int_equal(clock_parse_time_arg("2026-06-21T12:00", &t), 0);
    assert_true(t == NOON_KST);
    unsetenv("TZ");
}

static void test_parse_dates(void **state)
{
    long long t = 0;
    /* a date alone is midnight in the given zone (config files), not a --time */
    assert_int_equal(clock_parse_date("2024-02-29", 0, &t), 0);
    assert_true(t == 1709164800LL);
    assert_int_equal(clock_parse_date("2024-02-29", CLOCK_KST_S, &t), 0);
    assert_true(t == 1709164800LL - 9 * 3600);
    assert_int_equal(clock_parse_time_arg("2024-02-29", &t), -1);
    /* ISO 8601's short offset forms: +HH and +HHMM */
    assert_int_equal(clock_parse_time_arg("2026-06-21T12:00+09", &t), 0);
    assert_true(t == 1782010800LL);
    assert_int_equal(clock_parse_time_arg("2026-06-21T12:00+0900", &t), 0);
    assert_true(t == 1782010800LL);
}

static void test_parse_rejects(void **state)
{
    static const char *const bad[] = {
        "noon",
        "",
        "2026-06-21T",
        "2026-06-21T12",
        "2026-6-21T12:00",
        "2026-06-21T24:00",
        "2026-06-21T12:60",
        "2026-06-21T12:00:60",
        "2025-02-29T12:00",
        "2026-13-01T12:00",
        "2026-06-31T12:00",
        "2026-06-21T12:00+9:00",
        "2026-06-21T12:00Zx",
        "2026-06-21T12:00:00 ",
        "2026-06-21X12:00",
    };
    long long t = 42;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        if (clock_parse_time_arg(bad[i], &t) != -1)
            fail_msg("accepted '%s'", bad[i]);
    }
    assert_true(t == 42);
}

static void test_parse_speed(void **state)
{
    double v = -1;
    assert_int_equal(clock_parse_speed_arg("0", &v), 0);
    assert_true(v == 0.0);
    assert_int_equal(clock_parse_speed_arg("2.5", &v), 0);
    assert_true(v == 2.5);
    assert_int_equal(clock_parse_speed_arg("1000000", &v), 0);
    assert_int_equal(clock_parse_speed_arg("1000001", &v), -1);
    assert_int_equal(clock_parse_speed_arg("-1", &v), -1);
    assert_int_equal(clock_parse_speed_arg("fast", &v), -1);
    assert_int_equal(clock_parse_speed_arg("1x", &v), -1);
    assert_int_equal(clock_parse_speed_arg("", &v), -1);
    assert_int_equal(clock_parse_speed_arg("nan", &v), -1);
}

static void test_sim_speed_zero_freezes(void **state)
{
    struct clock_sim c = {.start_s = (double)NOON_KST, .start_mono_ns = 5 * NS_PER_S, .speed = 0};
    assert_true(clock_sim_at(&c, 5 * NS_PER_S) == NOON_KST * 1000);
    assert_true(clock_sim_at(&c, 3600 * NS_PER_S) == NOON_KST * 1000);
}

static void test_sim_speed_advances(void **state)
{
    struct clock_sim c = {.start_s = (double)NOON_KST, .start_mono_ns = 5 * NS_PER_S, .speed = 1};
    assert_true(clock_sim_at(&c, 5 * NS_PER_S) == NOON_KST * 1000);
    assert_true(clock_sim_at(&c, 5 * NS_PER_S + 1500000) == NOON_KST * 1000 + 1);
    assert_true(clock_sim_at(&c, 7 * NS_PER_S) == NOON_KST * 1000 + 2000);
    c.speed = 3600; /* an hour a second */
    assert_true(clock_sim_at(&c, 6 * NS_PER_S) == (NOON_KST + 3600) * 1000);
    assert_true(clock_sim_at(&c, 5 * NS_PER_S + NS_PER_S / 4) == (NOON_KST + 900) * 1000);
    c.speed = 0.5;
    assert_true(clock_sim_at(&c, 9 * NS_PER_S) == (NOON_KST + 2) * 1000);
}

static void test_sim_fractional_start(void **state)
{
    /* a start taken from the real clock has milliseconds; never rounded up */
    struct clock_sim c = {.start_s = 1000.2506, .start_mono_ns = 0, .speed = 0};
    assert_true(clock_sim_at(&c, 123) == 1000250);
}

static void test_process_clock(void **state)
{
    /* last: switches this process to simulated time for good */
    assert_int_equal(clock_sim_active(), 0);
    clock_sim_start((double)NOON_KST, 0);
    assert_int_equal(clock_sim_active(), 1);
    assert_true(clock_wall_ms() == NOON_KST * 1000);
    assert_true(clock_wall_ms() == NOON_KST * 1000);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_with_zone),
        cmocka_unit_test(test_parse_without_zone_is_korea_time),
        cmocka_unit_test(test_parse_ignores_process_tz),
        cmocka_unit_test(test_parse_dates),
        cmocka_unit_test(test_parse_rejects),
        cmocka_unit_test(test_parse_speed),
        cmocka_unit_test(test_sim_speed_zero_freezes),
        cmocka_unit_test(test_sim_speed_advances),
        cmocka_unit_test(test_sim_fractional_start),
        cmocka_unit_test(test_process_clock),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
