/* test_counter.c -- counter deltas (wrap, reset, jump) and 15-minute interval split. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "counter.h"

#define MOD_SF0 4294967296.0  /* 2^32 */
#define MOD_SF1 42949672960.0 /* 2^32 * 10 */
#define T0 1717200000000LL    /* 2024-06-01 00:00:00 UTC, an interval boundary */
#define MIN_MS 60000LL

static void test_normal_increase(void **state)
{
    enum counter_event ev = COUNTER_JUMP;
    assert_true(counter_delta(1000, 1250, MOD_SF0, 500, &ev) == 250);
    assert_int_equal(ev, COUNTER_NORMAL);
    assert_true(counter_delta(1000, 1000, MOD_SF0, 500, &ev) == 0);
    assert_int_equal(ev, COUNTER_NORMAL);
    /* no limit: any increase counts */
    assert_true(counter_delta(0, 1e9, 0, 0, &ev) == 1e9);
    assert_int_equal(ev, COUNTER_NORMAL);
}

static void test_wrap_sf0(void **state)
{
    enum counter_event ev = COUNTER_NORMAL;
    /* 4294967000 -> 100: 296 Wh to the top, 100 after: 396 Wh */
    assert_true(counter_delta(4294967000.0, 100, MOD_SF0, 1000, &ev) == 396);
    assert_int_equal(ev, COUNTER_WRAP);
    /* without a limit the wrap is taken because the counter fell by more than half */
    assert_true(counter_delta(4294967000.0, 100, MOD_SF0, 0, &ev) == 396);
    assert_int_equal(ev, COUNTER_WRAP);
}

static void test_wrap_sf1(void **state)
{
    enum counter_event ev = COUNTER_NORMAL;
    /* SF 1: the counter counts 10 Wh steps, modulus 42949672960 Wh */
    assert_true(counter_delta(42949672900.0, 50, MOD_SF1, 1000, &ev) == 110);
    assert_int_equal(ev, COUNTER_WRAP);
    /* the same values with the SF 0 modulus cannot be a wrap: prev is past it */
    assert_true(counter_delta(42949672900.0, 50, MOD_SF0, 1000, &ev) == 50);
    assert_int_equal(ev, COUNTER_RESET);
}

static void test_reset(void **state)
{
    enum counter_event ev = COUNTER_NORMAL;
    /* a replaced meter restarts at 120 Wh: wrap would be ~4.29e9, implausible */
    assert_true(counter_delta(5000000, 120, MOD_SF0, 1000, &ev) == 120);
    assert_int_equal(ev, COUNTER_RESET);
    /* a reset to a value larger than max_delta counts nothing */
    assert_true(counter_delta(5000000, 4000, MOD_SF0, 1000, &ev) == 0);
    assert_int_equal(ev, COUNTER_RESET);
    /* no limit, fell by less than half the range: reset, counts cur */
    assert_true(counter_delta(5000000, 4000, MOD_SF0, 0, &ev) == 4000);
    assert_int_equal(ev, COUNTER_RESET);
}

static void test_no_wrap_counter_backwards_is_reset(void **state)
{
    enum counter_event ev = COUNTER_NORMAL;
    /* modulus 0 (64-bit or float counter): going backwards is always a reset */
    assert_true(counter_delta(4294967000.0, 100, 0, 1000, &ev) == 100);
    assert_int_equal(ev, COUNTER_RESET);
    assert_true(counter_delta(4294967000.0, 100, 0, 0, &ev) == 100);
    assert_int_equal(ev, COUNTER_RESET);
}

static void test_jump(void **state)
{
    enum counter_event ev = COUNTER_NORMAL;
    assert_true(counter_delta(1000, 1000 + 1501, MOD_SF0, 1500, &ev) == 0);
    assert_int_equal(ev, COUNTER_JUMP);
    /* exactly max_delta is still plausible */
    assert_true(counter_delta(1000, 2500, MOD_SF0, 1500, &ev) == 1500);
    assert_int_equal(ev, COUNTER_NORMAL);
}

static void test_split_within_one_interval(void **state)
{
    int64_t start[4];
    double part[4];
    int n = counter_split_intervals(T0 + 1 * MIN_MS, T0 + 6 * MIN_MS, 42, start, part, 4);
    assert_int_equal(n, 1);
    assert_int_equal(start[0], T0 / 1000);
    assert_true(part[0] == 42);
    /* a span ending exactly on a boundary does not touch the next interval */
    n = counter_split_intervals(T0, T0 + 15 * MIN_MS, 30, start, part, 4);
    assert_int_equal(n, 1);
    assert_true(part[0] == 30);
}

static void test_split_one_boundary(void **state)
{
    int64_t start[4];
    double part[4];
    /* 00:10 -> 00:20: 5 minutes on each side of 00:15 */
    int n = counter_split_intervals(T0 + 10 * MIN_MS, T0 + 20 * MIN_MS, 100, start, part, 4);
    assert_int_equal(n, 2);
    assert_int_equal(start[0], T0 / 1000);
    assert_int_equal(start[1], T0 / 1000 + 900);
    assert_true(part[0] == 50);
    assert_true(part[1] == 50);
}

static void test_split_two_boundaries(void **state)
{
    int64_t start[4];
    double part[4];
    /* 00:10 -> 00:40: 5 + 15 + 10 minutes */
    int n = counter_split_intervals(T0 + 10 * MIN_MS, T0 + 40 * MIN_MS, 300, start, part, 4);
    assert_int_equal(n, 3);
    assert_int_equal(start[2], T0 / 1000 + 1800);
    assert_true(part[0] == 50);
    assert_true(part[1] == 150);
    assert_true(part[2] == 100);
}

static void test_split_three_boundaries(void **state)
{
    int64_t start[4];
    double part[4];
    /* 00:14 -> 00:46: 1 + 15 + 15 + 1 minutes of 32, 1000 Wh */
    double wh = 1000;
    int n = counter_split_intervals(T0 + 14 * MIN_MS, T0 + 46 * MIN_MS, wh, start, part, 4);
    assert_int_equal(n, 4);
    assert_int_equal(start[0], T0 / 1000);
    assert_int_equal(start[3], T0 / 1000 + 2700);
    assert_float_equal(part[0], 31.25, 1e-9);
    assert_float_equal(part[1], 468.75, 1e-9);
    assert_float_equal(part[2], 468.75, 1e-9);
    assert_float_equal(part[3], 31.25, 1e-9);
    assert_true(part[0] + part[1] + part[2] + part[3] == wh);
}

static void test_split_uneven_sums_exactly(void **state)
{
    int64_t start[8];
    double part[8];
    double wh = 123.456;
    int n = counter_split_intervals(T0 + 7777, T0 + 3 * 900000 + 12345, wh, start, part, 8);
    assert_int_equal(n, 4);
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += part[i];
    assert_float_equal(sum, wh, 1e-12);
}

static void test_split_zero_length(void **state)
{
    int64_t start[2] = {0, 0};
    double part[2] = {0, 0};
    int n = counter_split_intervals(T0 + 20 * MIN_MS, T0 + 20 * MIN_MS, 7, start, part, 2);
    assert_int_equal(n, 1);
    assert_int_equal(start[0], T0 / 1000 + 900);
    assert_true(part[0] == 7);
}

static void test_split_reports_more_than_max(void **state)
{
    int64_t start[2];
    double part[2];
    /* a 2-hour gap touches 8 intervals; only 2 are written */
    int n = counter_split_intervals(T0, T0 + 120 * MIN_MS, 800, start, part, 2);
    assert_int_equal(n, 8);
    assert_true(part[0] == 100);
    assert_true(part[1] == 100);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_normal_increase),
        cmocka_unit_test(test_wrap_sf0),
        cmocka_unit_test(test_wrap_sf1),
        cmocka_unit_test(test_reset),
        cmocka_unit_test(test_no_wrap_counter_backwards_is_reset),
        cmocka_unit_test(test_jump),
        cmocka_unit_test(test_split_within_one_interval),
        cmocka_unit_test(test_split_one_boundary),
        cmocka_unit_test(test_split_two_boundaries),
        cmocka_unit_test(test_split_three_boundaries),
        cmocka_unit_test(test_split_uneven_sums_exactly),
        cmocka_unit_test(test_split_zero_length),
        cmocka_unit_test(test_split_reports_more_than_max),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
