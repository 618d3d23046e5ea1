/* test_did.c -- difference-in-differences on matched comparison households: matching, the
 * estimate, its household-clustered 90 % interval and the insufficient-data reasons. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "did.h"

#include <math.h>
#include <string.h>

#define EPS 1e-9

/* A household with pre_days complete June days at pre kWh/day and post_days at post kWh/day. */
static struct did_household hh(double pre, int pre_days, double post, int post_days)
{
    struct did_household h;
    memset(&h, 0, sizeof(h));
    for (int i = 0; i < pre_days; i++)
        did_household_add(&h, 0, 6, pre);
    for (int i = 0; i < post_days; i++)
        did_household_add(&h, 1, 7, post);
    return h;
}

/* The worked example of docs/SAVINGS.md ("AMI autonomous saving"):
 *   P1 pre 11 post 10.8 (10 post days)   C1 pre 10 post 10.2   (change +0.2)
 *   P2 pre 19 post 18.5 (20 post days)   C2 pre 20 post 20.4   (+0.4)   C3 pre 30 post 30.6 (+0.6)
 * Slope of change on level over C1..C3: the points lie on a line, b = 0.2 / 10 = 0.02.
 * k = 1: P1's nearest is C1 (|11 - 10| = 1), P2's is C2 (1); C3 is nobody's.
 *   d1 = [0.2 + 0.02 x (11 - 10)] - (10.8 - 11) = 0.22 + 0.2 = 0.42 kWh/day
 *   d2 = [0.4 + 0.02 x (19 - 20)] - (18.5 - 19) = 0.38 + 0.5 = 0.88 kWh/day
 *   W = 30, s = (10 x 0.42 + 20 x 0.88) / 30 = 21.8 / 30 = 0.72667 kWh per participant-day,
 *   saved = 21.8 kWh.
 *   w (d - s): 10 x -0.30667 = -3.0667, 20 x 0.15333 = 3.0667; sum of squares 18.809;
 *   no comparison household serves two participants: no reuse term;
 *   se = sqrt(2 / 1 x 18.809) / 30 = 6.1333 / 30 = 0.20444 kWh/day;
 *   t(0.95, 1) = 6.3138; half-width = 6.3138 x 6.1333 = 38.724 kWh:
 *   interval -16.924 .. 60.524 kWh. */
static void test_worked_example(void **state)
{
    (void)state;
    struct did_household p[2] = {hh(11.0, 30, 10.8, 10), hh(19.0, 30, 18.5, 20)};
    struct did_household c[3] = {hh(10.0, 30, 10.2, 30), hh(20.0, 30, 20.4, 30),
                                 hh(30.0, 30, 30.6, 30)};
    double d[2];
    struct did_result r;
    assert_int_equal(did_estimate(p, 2, c, 3, 1, d, &r), 1);
    assert_true(r.ok);
    assert_int_equal(r.k, 1);
    assert_int_equal(r.n_part, 2);
    assert_int_equal(r.n_cmp, 2); /* C3 is nobody's nearest */
    assert_int_equal(r.n_cmp_usable, 3);
    assert_float_equal(r.slope, 0.02, EPS);
    assert_float_equal(d[0], 0.42, EPS);
    assert_float_equal(d[1], 0.88, EPS);
    assert_float_equal(r.participant_days, 30.0, EPS);
    assert_float_equal(r.per_day_kwh, 21.8 / 30.0, EPS);
    assert_float_equal(r.saved_kwh, 21.8, EPS);
    assert_float_equal(r.se_per_day, 92.0 / 450.0, EPS);
    assert_float_equal(r.t, 6.3138, 1e-4);
    assert_float_equal(r.low_kwh, -16.924, 2e-3);
    assert_float_equal(r.high_kwh, 60.524, 2e-3);
}

/* k = 2: P1 also takes C2 (9 away), moved to its level: 0.4 + 0.02 x (11 - 20) = 0.22, the same
 * as C1's 0.22: d1 = 0.42; P2 also takes C1: 0.2 + 0.02 x (19 - 10) = 0.38: d2 = 0.88. On a
 * line the correction makes every match agree; without it d1 would be (0.2 + 0.4) / 2 + 0.2. */
static void test_k2_bias_corrected(void **state)
{
    (void)state;
    struct did_household p[2] = {hh(11.0, 30, 10.8, 10), hh(19.0, 30, 18.5, 20)};
    struct did_household c[3] = {hh(10.0, 30, 10.2, 30), hh(20.0, 30, 20.4, 30),
                                 hh(30.0, 30, 30.6, 30)};
    double d[2];
    struct did_result r;
    assert_int_equal(did_estimate(p, 2, c, 3, 2, d, &r), 1);
    assert_float_equal(d[0], 0.42, EPS);
    assert_float_equal(d[1], 0.88, EPS);
    assert_float_equal(r.saved_kwh, 21.8, EPS);
}

/* A comparison household serving two participants: the reuse term.
 *   C1 pre 10 post 10.2 (+0.2), C2 pre 20 post 20.4 (+0.4), C3 pre 12 post 12.1 (+0.1);
 *   levels mean 14, changes mean 0.23333: Sxy = -4 x -0.03333 + 6 x 0.16667 + -2 x -0.13333
 *   = 1.4, Sxx = 16 + 36 + 4 = 56, b = 0.025.
 *   P1 pre 10.5 post 10.3 (-0.2), P2 pre 10.8 post 10.4 (-0.4), 10 post days each; k = 1: both
 *   take C1 (0.5 and 0.8 away; C3 1.5 and 1.2).
 *   d1 = 0.2 + 0.025 x 0.5 + 0.2 = 0.4125, d2 = 0.2 + 0.025 x 0.8 + 0.4 = 0.62; W = 20,
 *   s = 0.51625, saved = 10.325 kWh.
 *   Participants: 2 / 1 x (100 x 0.10375^2 x 2) = 4.305625.
 *   Reuse: C1 serves both: L = 10 + 10 = 20, Q = 100 + 100 = 200, L^2 - Q = 200; C1's nearest
 *   other comparison is C3 (2 away): sigma2 = (0.2 - 0.1 - 0.025 x (10 - 12))^2 / 2 =
 *   0.15^2 / 2 = 0.01125; 200 x 0.01125 = 2.25.
 *   se = sqrt(4.305625 + 2.25) / 20 = 0.128020 kWh/day (0.10375 without the reuse term);
 *   interval 10.325 -/+ 6.3138 x 0.128020 x 20 = -5.841 .. 26.491 kWh. */
static void test_reused_comparison_widens(void **state)
{
    (void)state;
    struct did_household p[2] = {hh(10.5, 30, 10.3, 10), hh(10.8, 30, 10.4, 10)};
    struct did_household c[3] = {hh(10.0, 30, 10.2, 30), hh(20.0, 30, 20.4, 30),
                                 hh(12.0, 30, 12.1, 30)};
    double d[2];
    struct did_result r;
    assert_int_equal(did_estimate(p, 2, c, 3, 1, d, &r), 1);
    assert_int_equal(r.n_cmp, 1);
    assert_float_equal(r.slope, 0.025, EPS);
    assert_float_equal(d[0], 0.4125, EPS);
    assert_float_equal(d[1], 0.62, EPS);
    assert_float_equal(r.saved_kwh, 10.325, EPS);
    assert_float_equal(r.se_per_day, sqrt(4.305625 + 2.25) / 20.0, EPS);
    assert_float_equal(r.low_kwh, -5.841, 2e-3);
    assert_float_equal(r.high_kwh, 26.491, 2e-3);
}

/* The matching profile: RMS of the monthly means over shared months only; ties go to the lower
 * index; a household with too few pre days is never a match. */
static void test_distance_and_match(void **state)
{
    (void)state;
    struct did_household a, b;
    memset(&a, 0, sizeof(a));
    memset(&b, 0, sizeof(b));
    did_household_add(&a, 0, 1, 10.0); /* January 10 */
    did_household_add(&a, 0, 2, 8.0);  /* February 8 */
    did_household_add(&b, 0, 2, 5.0);  /* February 5, March 7 */
    did_household_add(&b, 0, 3, 7.0);
    assert_float_equal(did_distance(&a, &b), 3.0, EPS); /* only February is shared */
    struct did_household c;
    memset(&c, 0, sizeof(c));
    did_household_add(&c, 0, 3, 7.0);
    assert_true(isinf(did_distance(&a, &c)));
    /* sqrt(((10 - 12)^2 + (8 - 8)^2) / 2) = sqrt(2) */
    did_household_add(&c, 0, 1, 12.0);
    did_household_add(&c, 0, 2, 8.0);
    assert_float_equal(did_distance(&a, &c), sqrt(2.0), EPS);

    struct did_household p = hh(10.0, 30, 10.0, 10);
    struct did_household pool[4] = {hh(11.0, 30, 11.0, 10), hh(9.0, 30, 9.0, 10),
                                    hh(10.0, 20, 10.0, 10), hh(10.5, 30, 10.0, 10)};
    size_t idx[3];
    assert_int_equal(did_match(&p, pool, 4, 3, idx), 3);
    assert_int_equal(idx[0], 3); /* 0.5 */
    assert_int_equal(idx[1], 0); /* 1.0, tied with [1]: the lower index first */
    assert_int_equal(idx[2], 1);
    assert_int_equal(did_match(&p, pool, 4, 0, idx), 0);
}

/* Households without enough complete days are left out and counted; fewer than 2 participants or
 * no usable comparison household give no figure and a reason. */
static void test_insufficient(void **state)
{
    (void)state;
    struct did_household p[3] = {hh(10.0, 30, 9.8, 10), hh(20.0, 27, 19.4, 20),
                                 hh(20.0, 30, 19.4, 6)};
    struct did_household c[1] = {hh(10.2, 30, 10.4, 30)};
    double d[3];
    struct did_result r;
    assert_int_equal(did_estimate(p, 3, c, 1, 3, d, &r), 0);
    assert_false(r.ok);
    assert_int_equal(r.k, 1); /* only one comparison household: k falls to 1 */
    assert_int_equal(r.n_part, 1);
    assert_int_equal(r.n_part_skipped, 2);
    assert_true(isnan(d[1]) && isnan(d[2]));
    assert_float_equal(d[0], 0.4, EPS); /* one comparison household: b = 0 */
    assert_non_null(strstr(r.reason, "fewer than 2 participants"));
    assert_true(isnan(r.saved_kwh));

    struct did_household none[1] = {hh(10.2, 10, 10.4, 30)};
    assert_int_equal(did_estimate(p, 3, none, 1, 1, NULL, &r), 0);
    assert_int_equal(r.k, 0);
    assert_non_null(strstr(r.reason, "no comparison household"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_worked_example),
        cmocka_unit_test(test_k2_bias_corrected),
        cmocka_unit_test(test_reused_comparison_widens),
        cmocka_unit_test(test_distance_and_match),
        cmocka_unit_test(test_insufficient),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
