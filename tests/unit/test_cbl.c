/* test_cbl.c -- KPX customer baseline load Mid(6/10) and Max(4/5), event-day exclusion, reduction.
 */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cbl.h"

#include <string.h>

#define DAY 86400
#define EVENT_DAY (1000 * DAY)

/* The worked example of docs/SAVINGS.md: days before the event, latest first:
 * value (kWh in hour 0; hour h adds h x 0.1), type W weekday / E weekend / X event day. */
static const struct {
    double v;
    char type;
} prior[] = {{10, 'W'}, {12, 'W'}, {50, 'E'}, {50, 'E'}, {1, 'X'}, {8, 'W'},  {20, 'W'}, {11, 'W'},
             {9, 'W'},  {50, 'E'}, {50, 'E'}, {13, 'W'}, {7, 'W'}, {15, 'W'}, {14, 'W'}, {30, 'W'}};
#define NPRIOR (sizeof(prior) / sizeof(prior[0]))

static size_t make_days(struct cbl_day *days)
{
    for (size_t i = 0; i < NPRIOR; i++) {
        struct cbl_day *d = &days[NPRIOR - 1 - i]; /* ascending order */
        memset(d, 0, sizeof(*d));
        d->day_s = EVENT_DAY - (int64_t)(i + 1) * DAY;
        d->weekday = prior[i].type != 'E';
        d->event = prior[i].type == 'X';
        d->complete = 1;
        for (int h = 0; h < CBL_HOURS; h++)
            d->kwh[h] = prior[i].v + 0.1 * h;
    }
    return NPRIOR;
}

static void test_mid_6_10(void **state)
{
    (void)state;
    struct cbl_day days[NPRIOR];
    struct cbl_result r;
    size_t n = make_days(days);
    assert_int_equal(cbl_compute(CBL_MID_6_10, days, n, EVENT_DAY, &r), 0);
    assert_int_equal(r.ndays, 10);
    assert_true(r.days[0] == EVENT_DAY - DAY);
    /* 7 8 | 9 10 11 12 13 14 | 15 20: mean 11.5 */
    assert_float_equal(r.kwh[0], 11.5, 1e-9);
    assert_float_equal(r.kwh[14], 12.9, 1e-9);
    for (int i = 0; i < r.ndays; i++) /* the event day (E-5) and day E-16 (11th) are not used */
        assert_true(r.days[i] != EVENT_DAY - 5 * DAY && r.days[i] != EVENT_DAY - 16 * DAY);
}

static void test_max_4_5(void **state)
{
    (void)state;
    struct cbl_day days[NPRIOR];
    struct cbl_result r;
    size_t n = make_days(days);
    assert_int_equal(cbl_compute(CBL_MAX_4_5, days, n, EVENT_DAY, &r), 0);
    assert_int_equal(r.ndays, 5);
    /* 10 12 8 20 11, drop 8: (10 + 12 + 20 + 11) / 4 */
    assert_float_equal(r.kwh[0], 13.25, 1e-9);
    assert_float_equal(r.kwh[14], 14.65, 1e-9);
}

static void test_event_day_excluded(void **state)
{
    (void)state;
    struct cbl_day days[NPRIOR];
    struct cbl_result r;
    size_t n = make_days(days);
    days[NPRIOR - 5].event = 0; /* E-5 (1 kWh) becomes an ordinary weekday */
    assert_int_equal(cbl_compute(CBL_MAX_4_5, days, n, EVENT_DAY, &r), 0);
    /* 10 12 1 8 20, drop 1 */
    assert_float_equal(r.kwh[0], 12.5, 1e-9);
    days[NPRIOR - 1].complete = 0; /* E-1 has a gap: skipped */
    assert_int_equal(cbl_compute(CBL_MAX_4_5, days, n, EVENT_DAY, &r), 0);
    assert_true(r.days[0] == EVENT_DAY - 2 * DAY);
}

static void test_insufficient_and_reduction(void **state)
{
    (void)state;
    struct cbl_day days[NPRIOR];
    struct cbl_result r;
    size_t n = make_days(days);
    /* only the last 5 days exist: 2 eligible weekdays (E-5 is an event day) */
    assert_int_equal(cbl_compute(CBL_MAX_4_5, days + NPRIOR - 5, 5, EVENT_DAY, &r), -1);
    assert_int_equal(r.ndays, 2);
    /* days after the event day never count */
    assert_int_equal(cbl_compute(CBL_MID_6_10, days, n, EVENT_DAY - 3 * DAY, &r), -1);
    assert_int_equal(cbl_compute(CBL_MID_6_10, days, n, EVENT_DAY, &r), 0);
    double metered[CBL_HOURS] = {0}, c, m;
    metered[14] = 10.0;
    metered[15] = 10.0;
    assert_float_equal(cbl_reduction(&r, metered, 14, 16, &c, &m), 5.9, 1e-9);
    assert_float_equal(c, 25.9, 1e-9);
    assert_float_equal(m, 20.0, 1e-9);
    enum cbl_method meth;
    assert_int_equal(cbl_parse_method("max-4-5", &meth), 0);
    assert_int_equal(meth, CBL_MAX_4_5);
    assert_int_equal(cbl_parse_method("avg", &meth), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mid_6_10),
        cmocka_unit_test(test_max_4_5),
        cmocka_unit_test(test_event_day_excluded),
        cmocka_unit_test(test_insufficient_and_reduction),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
