/* test_cbl.c -- KPX customer baseline load Mid(6/10) and Max(4/5): reference days, abnormal days,
 * hourly and whole-day selection, event-day exclusion, reduction. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "cbl.h"

#include <string.h>

#define DAY 86400
#define EVENT_DAY (1000 * DAY)

/* The worked example of docs/SAVINGS.md: the days before the event day, latest first.
 * W: a weekday at 10 kWh in every hour except hours 14 and 15 (h14, h15);
 * A: a weekday at 2 kWh in every hour (48 kWh: abnormal); E: weekend, H: holiday (50 kWh/h);
 * X: an event day of the site (1 kWh/h). */
static const struct {
    char type;
    double h14, h15;
} prior[] = {
    {'W', 12, 16}, {'W', 16, 14}, {'E', 0, 0},  {'E', 0, 0},  {'X', 0, 0},   {'W', 4, 24},
    {'A', 0, 0},   {'W', 20, 20}, {'H', 0, 0},  {'W', 8, 14}, {'W', 14, 9},  {'W', 12, 12},
    {'E', 0, 0},   {'E', 0, 0},   {'W', 18, 8}, {'W', 6, 6},  {'W', 11, 13}, {'W', 30, 30},
};
#define NPRIOR (sizeof(prior) / sizeof(prior[0]))
#define D(k) (EVENT_DAY - (int64_t)(k)*DAY) /* day E-k, k = 1 the day before */

static size_t make_days(struct cbl_day *days)
{
    for (size_t i = 0; i < NPRIOR; i++) {
        struct cbl_day *d = &days[NPRIOR - 1 - i]; /* ascending order */
        memset(d, 0, sizeof(*d));
        d->day_s = D(i + 1);
        d->weekday = prior[i].type == 'W' || prior[i].type == 'A' || prior[i].type == 'X';
        d->event = prior[i].type == 'X';
        d->complete = 1;
        double v = prior[i].type == 'W'   ? 10.0
                   : prior[i].type == 'A' ? 2.0
                   : prior[i].type == 'X' ? 1.0
                                          : 50.0;
        for (int h = 0; h < CBL_HOURS; h++)
            d->kwh[h] = v;
        if (prior[i].type == 'W') {
            d->kwh[14] = prior[i].h14;
            d->kwh[15] = prior[i].h15;
        }
    }
    return NPRIOR;
}

static void test_mid_hourly_abnormal(void **state)
{
    (void)state;
    struct cbl_day days[NPRIOR];
    struct cbl_result r;
    size_t n = make_days(days);
    assert_int_equal(cbl_compute(CBL_MID_6_10, CBL_SEL_HOURLY, days, n, EVENT_DAY, 14, 16, &r), 0);
    /* the 10 latest eligible weekdays: E-1 E-2 E-6 E-7 E-8 E-10 E-11 E-12 E-15 E-16 (E-3, E-4,
     * E-13, E-14 weekend, E-5 event day, E-9 holiday). Daily kWh: a W day 22 x 10 + h14 + h15,
     * the A day E-7 48: 248 + 250 + 248 + 48 + 260 + 242 + 243 + 244 + 246 + 232 = 2261,
     * average 226.1, 75 % = 169.575: E-7 (48) is abnormal, replaced by E-17 (244). */
    assert_float_equal(r.avg_kwh, 226.1, 1e-9);
    assert_int_equal(r.nabnormal, 1);
    assert_true(r.abnormal[0] == D(7));
    assert_int_equal(r.ndays, 10);
    assert_true(r.days[0] == D(1) && r.days[3] == D(8) && r.days[9] == D(17));
    /* hour 14: 4 6 | 8 11 12 12 14 16 | 18 20 -> 73 / 6; hour 15: 6 8 | 9 12 13 14 14 16 | 20 24
     * -> 78 / 6 = 13; every other hour 10 */
    assert_float_equal(r.kwh[14], 73.0 / 6.0, 1e-9);
    assert_float_equal(r.kwh[15], 13.0, 1e-9);
    assert_float_equal(r.kwh[0], 10.0, 1e-9);
    for (int i = 0; i < r.ndays; i++) /* E-18 (21st day back, 11th normal one) is not used */
        assert_true(r.days[i] != D(18) && r.days[i] != D(5) && r.days[i] != D(9));
    double metered[CBL_HOURS] = {0}, c, m;
    metered[14] = metered[15] = 10.0;
    /* 73 / 6 + 13 - 20 = 5.1667 */
    assert_float_equal(cbl_reduction(&r, metered, 14, 16, &c, &m), 73.0 / 6.0 + 13.0 - 20.0, 1e-9);
    assert_float_equal(c, 151.0 / 6.0, 1e-9);
    assert_float_equal(m, 20.0, 1e-9);
}

static void test_mid_whole_day(void **state)
{
    (void)state;
    struct cbl_day days[NPRIOR];
    struct cbl_result r;
    size_t n = make_days(days);
    assert_int_equal(cbl_compute(CBL_MID_6_10, CBL_SEL_WHOLE_DAY, days, n, EVENT_DAY, 14, 16, &r),
                     0);
    /* the same 10 days ranked by kWh in hours 14-15: E-16 12, E-10 22 | E-11 23, E-12 24,
     * E-17 24, E-15 26, E-1 28, E-6 28 | E-2 30, E-8 40. Kept: hour 14: 14 12 11 18 12 4 = 71,
     * hour 15: 9 12 13 8 16 24 = 82 */
    assert_float_equal(r.kwh[14], 71.0 / 6.0, 1e-9);
    assert_float_equal(r.kwh[15], 82.0 / 6.0, 1e-9);
    assert_float_equal(r.kwh[3], 10.0, 1e-9);
}

static void test_max_4_5(void **state)
{
    (void)state;
    struct cbl_day days[NPRIOR];
    struct cbl_result r;
    size_t n = make_days(days);
    /* 5 latest eligible: E-1 E-2 E-6 E-7 E-8: 248 + 250 + 248 + 48 + 260 = 1054, average 210.8,
     * 75 % = 158.1: E-7 abnormal, replaced by E-10 */
    assert_int_equal(cbl_compute(CBL_MAX_4_5, CBL_SEL_HOURLY, days, n, EVENT_DAY, 14, 16, &r), 0);
    assert_float_equal(r.avg_kwh, 210.8, 1e-9);
    assert_int_equal(r.nabnormal, 1);
    assert_int_equal(r.ndays, 5);
    assert_true(r.days[4] == D(10));
    /* hour 14: 12 16 4 20 8, drop 4 -> 56 / 4 = 14; hour 15: 16 14 24 20 14, drop 14 -> 18.5 */
    assert_float_equal(r.kwh[14], 14.0, 1e-9);
    assert_float_equal(r.kwh[15], 18.5, 1e-9);
    /* whole days by hours 14-15: E-10 22 dropped; E-1 E-2 E-6 E-8: hour 14 (12 + 16 + 4 + 20)
     * / 4 = 13, hour 15 (16 + 14 + 24 + 20) / 4 = 18.5 */
    assert_int_equal(cbl_compute(CBL_MAX_4_5, CBL_SEL_WHOLE_DAY, days, n, EVENT_DAY, 14, 16, &r),
                     0);
    assert_float_equal(r.kwh[14], 13.0, 1e-9);
    assert_float_equal(r.kwh[15], 18.5, 1e-9);
}

static void test_event_day_and_gaps_excluded(void **state)
{
    (void)state;
    struct cbl_day days[NPRIOR];
    struct cbl_result r;
    size_t n = make_days(days);
    days[NPRIOR - 5].event = 0; /* E-5 (1 kWh/h, 24 kWh) becomes an ordinary weekday */
    /* Max: E-1 E-2 E-5 E-6 E-7: 248 + 250 + 24 + 248 + 48 = 818, average 163.6, 75 % = 122.7:
     * E-5 and E-7 abnormal, replaced by E-8 and E-10 */
    assert_int_equal(cbl_compute(CBL_MAX_4_5, CBL_SEL_HOURLY, days, n, EVENT_DAY, 14, 16, &r), 0);
    assert_int_equal(r.nabnormal, 2);
    assert_true(r.abnormal[0] == D(5) && r.abnormal[1] == D(7));
    assert_true(r.days[3] == D(8) && r.days[4] == D(10));
    days[NPRIOR - 5].event = 1;
    days[NPRIOR - 1].complete = 0; /* E-1 has a gap: skipped */
    assert_int_equal(cbl_compute(CBL_MAX_4_5, CBL_SEL_HOURLY, days, n, EVENT_DAY, 14, 16, &r), 0);
    assert_true(r.days[0] == D(2));
}

static void test_insufficient(void **state)
{
    (void)state;
    struct cbl_day days[NPRIOR];
    struct cbl_result r;
    size_t n = make_days(days);
    /* only the last 5 days exist: 2 eligible weekdays (E-5 is an event day) */
    assert_int_equal(
        cbl_compute(CBL_MAX_4_5, CBL_SEL_HOURLY, days + NPRIOR - 5, 5, EVENT_DAY, 14, 16, &r), -1);
    assert_int_equal(r.ndays, 2);
    /* days after the event day never count: before E-3 there are 10 eligible weekdays (E-6 ..
     * E-18), E-7 is abnormal (48 < 0.75 x 228.7) and there is no 11th: 9 reference days */
    assert_int_equal(cbl_compute(CBL_MID_6_10, CBL_SEL_HOURLY, days, n, D(3), 14, 16, &r), -1);
    assert_int_equal(r.ndays, 9);

    /* 25 weekdays, latest first: 5 at 100 kWh/h, 5 at 10, 10 at 10, then 5 at 100. The first 10
     * average (5 x 2400 + 5 x 240) / 10 = 1320, 75 % = 990: every 10 kWh/h day (240) is
     * abnormal, and the search stops at the 20th day: 5 reference days of 10, -1. */
    struct cbl_day many[25];
    for (int i = 0; i < 25; i++) {
        memset(&many[i], 0, sizeof(many[i]));
        many[i].day_s = D(i + 1);
        many[i].weekday = many[i].complete = 1;
        for (int h = 0; h < CBL_HOURS; h++)
            many[i].kwh[h] = i < 5 || i >= 20 ? 100.0 : 10.0;
    }
    assert_int_equal(cbl_compute(CBL_MID_6_10, CBL_SEL_HOURLY, many, 25, EVENT_DAY, 0, 1, &r), -1);
    assert_int_equal(r.candidates, 20);
    assert_int_equal(r.ndays, 5);
    assert_int_equal(r.nabnormal, 15);
    assert_float_equal(r.avg_kwh, 1320.0, 1e-9);
}

static void test_names(void **state)
{
    (void)state;
    enum cbl_method meth;
    enum cbl_selection sel;
    assert_int_equal(cbl_parse_method("max-4-5", &meth), 0);
    assert_int_equal(meth, CBL_MAX_4_5);
    assert_int_equal(cbl_parse_method("avg", &meth), -1);
    assert_int_equal(cbl_parse_selection("whole_day", &sel), 0);
    assert_int_equal(sel, CBL_SEL_WHOLE_DAY);
    assert_string_equal(cbl_selection_name(CBL_SEL_HOURLY), "hourly");
    assert_int_equal(cbl_parse_selection("daily", &sel), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_mid_hourly_abnormal),
        cmocka_unit_test(test_mid_whole_day),
        cmocka_unit_test(test_max_4_5),
        cmocka_unit_test(test_event_day_and_gaps_excluded),
        cmocka_unit_test(test_insufficient),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
