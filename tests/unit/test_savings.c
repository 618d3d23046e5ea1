/* test_savings.c -- metered baseline (day type x month, fallback, sufficiency), avoided energy,
 * deemed savings, peak demand, solar subsidy bands and end dates: docs/SAVINGS.md's example. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "caltime.h"
#include "savings.h"

#include <string.h>
#include <time.h>

#define DAY 86400
#define END (1000 * DAY) /* the retrofit date of the example */

static struct savings_day mk(int rel, int month, int weekend, double kwh, int valid)
{
    struct savings_day d = {.day_s = END + (int64_t)rel * DAY,
                            .month = month,
                            .weekend = weekend,
                            .kwh = kwh,
                            .valid = valid,
                            .peak_kw = kwh / 4};
    return d;
}

/* Baseline of docs/SAVINGS.md: 20 days before the retrofit, one missing. */
static size_t example_baseline(struct savings_day *b)
{
    static const double may[] = {12, 12, 12, 12, 18, 18}; /* W W W W E E */
    static const double june_w[] = {10, 11, 12, 9, 8, 10, 11, 12, 7};
    static const double june_e[] = {14, 16, 15, 15};
    size_t n = 0;
    for (int i = 0; i < 6; i++)
        b[n++] = mk(-20 + i, 5, i >= 4, may[i], 1);
    for (int i = 0; i < 9; i++)
        b[n++] = mk(-14 + i, 6, 0, june_w[i], 1);
    b[n++] = mk(-5, 6, 0, 99, 0); /* missing weekday */
    for (int i = 0; i < 4; i++)
        b[n++] = mk(-4 + i, 6, 1, june_e[i], 1);
    return n;
}

static void example_opts(struct savings_opts *o)
{
    savings_opts_default(o);
    o->max_days = 20;
    o->min_days = 8;
}

static void test_baseline_fit(void **state)
{
    (void)state;
    struct savings_day b[32];
    struct savings_opts o;
    struct savings_baseline bl;
    struct savings_prediction p;
    example_opts(&o);
    savings_baseline_fit(b, example_baseline(b), END, &o, &bl);
    assert_true(bl.sufficient);
    assert_int_equal(bl.days, 20);
    assert_int_equal(bl.days_with_data, 19);
    assert_true(bl.from_s == END - 20 * DAY);
    assert_int_equal(savings_predict(&bl, 6, 0, &p), 0);
    assert_float_equal(p.kwh, 10.0, 1e-9);
    assert_int_equal(p.n, 9);
    assert_false(p.fallback);
    assert_int_equal(savings_predict(&bl, 6, 1, &p), 0);
    assert_float_equal(p.kwh, 15.0, 1e-9);
    assert_int_equal(savings_predict(&bl, 5, 0, &p), 0);
    assert_float_equal(p.kwh, 12.0, 1e-9);
    /* May has 2 weekend days (< 4): all weekend days */
    assert_int_equal(savings_predict(&bl, 5, 1, &p), 0);
    assert_true(p.fallback);
    assert_float_equal(p.kwh, 16.0, 1e-9);
    assert_int_equal(savings_predict(&bl, 7, 0, &p), 0);
    assert_true(p.fallback);
    assert_float_equal(p.kwh, 138.0 / 13.0, 1e-9);
}

static void test_avoided(void **state)
{
    (void)state;
    struct savings_day b[32], r[6];
    struct savings_opts o;
    struct savings_baseline bl;
    struct savings_day_result out[6];
    struct savings_total t;
    example_opts(&o);
    savings_baseline_fit(b, example_baseline(b), END, &o, &bl);
    r[0] = mk(0, 6, 0, 9.0, 1);
    r[1] = mk(1, 6, 1, 13.5, 1);
    r[2] = mk(2, 5, 0, 11.0, 1);
    r[3] = mk(3, 5, 1, 15.0, 1);
    r[4] = mk(4, 6, 0, 3.0, 0); /* missing: not counted, never as zero */
    r[5] = mk(5, 7, 0, 10.0, 1);
    savings_avoided(&bl, r, 6, out, &t);
    assert_int_equal(t.days, 6);
    assert_int_equal(t.days_counted, 5);
    assert_int_equal(t.days_missing, 1);
    assert_int_equal(t.days_fallback, 2);
    assert_float_equal(out[0].avoided_kwh, 1.0, 1e-9);
    assert_float_equal(out[1].avoided_kwh, 1.5, 1e-9);
    assert_float_equal(out[3].baseline_kwh, 16.0, 1e-9);
    assert_false(out[4].counted);
    assert_float_equal(t.baseline_kwh, 53.0 + 138.0 / 13.0, 1e-9);
    assert_float_equal(t.actual_kwh, 58.5, 1e-9);
    assert_float_equal(t.avoided_kwh, 4.5 + 138.0 / 13.0 - 10.0 + 1.0 - 1.0, 1e-9);
    assert_float_equal(t.avoided_kwh, 5.1153846153846, 1e-9);
}

static void test_insufficient(void **state)
{
    (void)state;
    struct savings_day b[32];
    struct savings_opts o;
    struct savings_baseline bl;
    size_t n = example_baseline(b);
    savings_opts_default(&o); /* needs 90 days */
    savings_baseline_fit(b, n, END, &o, &bl);
    assert_false(bl.sufficient);
    assert_string_equal(bl.reason, "19 days with data in the baseline, need 90");
    example_opts(&o);
    o.max_missing = 0.04; /* 1 of 20 missing is 5% */
    savings_baseline_fit(b, n, END, &o, &bl);
    assert_false(bl.sufficient);
    assert_non_null(strstr(bl.reason, "1 of 20 baseline days missing"));
    example_opts(&o);
    savings_baseline_fit(b, n, END - 30 * DAY, &o, &bl); /* nothing before that date */
    assert_false(bl.sufficient);
    assert_non_null(strstr(bl.reason, "no complete day"));
    struct savings_prediction p;
    assert_int_equal(savings_predict(&bl, 6, 0, &p), -1);
}

/* The baseline is the whole window before the retrofit, whatever the data: days before
 * the first day with data, and days with an interval missing, are missing days. */
static void test_baseline_whole_window(void **state)
{
    (void)state;
    struct savings_day b[32];
    struct savings_opts o;
    struct savings_baseline bl;
    size_t n = 0;
    example_opts(&o); /* 20 days, >= 8 complete, <= 10% missing */
    /* days -20..-15 each miss one interval (not valid), -14..-1 complete at 10 kWh */
    for (int i = -20; i < -14; i++)
        b[n++] = mk(i, 6, 0, 9.9, 0);
    for (int i = -14; i < 0; i++)
        b[n++] = mk(i, 6, 0, 10.0, 1);
    savings_baseline_fit(b, n, END, &o, &bl);
    /* before: period -14..-1 (14 days, none missing): "ok". Now 20 days, 14 complete,
     * 6 missing = 30% > 10%: insufficient */
    assert_true(bl.from_s == END - 20 * DAY);
    assert_true(bl.to_s == END);
    assert_int_equal(bl.days, 20);
    assert_int_equal(bl.days_with_data, 14);
    assert_false(bl.sufficient);
    assert_string_equal(bl.reason, "6 of 20 baseline days missing (30.0%, max 10.0%)");
    /* the same with no row at all for days -20..-15 */
    savings_baseline_fit(b + 6, n - 6, END, &o, &bl);
    assert_true(bl.from_s == END - 20 * DAY);
    assert_false(bl.sufficient);
    /* 2 of 20 missing (10.0% <= 10%): sufficient; 3 of 20 (15%): not */
    savings_baseline_fit(b + 4, n - 4, END, &o, &bl);
    assert_int_equal(bl.days_with_data, 14);
    for (int i = 2; i < 6; i++)
        b[i].valid = 1; /* days -18..-15 complete: 18 of 20 */
    savings_baseline_fit(b, n, END, &o, &bl);
    assert_int_equal(bl.days_with_data, 18);
    assert_true(bl.sufficient);
    b[2].valid = 0; /* 17 of 20 */
    savings_baseline_fit(b, n, END, &o, &bl);
    assert_false(bl.sufficient);
    assert_string_equal(bl.reason, "3 of 20 baseline days missing (15.0%, max 10.0%)");
    /* no data at all: the period is still the window, never inverted */
    savings_baseline_fit(b, 0, END, &o, &bl);
    assert_true(bl.from_s == END - 20 * DAY && bl.to_s == END);
    assert_string_equal(bl.reason, "no complete day of data in the 20 days before");
    /* the defaults: 365 days, at most 36 missing (36.5 = 10%): >= 329 complete days */
    savings_opts_default(&o);
    assert_int_equal(o.max_days, 365);
    assert_float_equal(o.max_missing * o.max_days, 36.5, 1e-9);
}

static void test_deemed_and_peak(void **state)
{
    (void)state;
    /* 10 fixtures x (32 - 16) W x 5 h x 30 days */
    assert_float_equal(savings_deemed_kwh(10, 32, 16, 5, 30), 24.0, 1e-9);
    struct savings_day b[32], r[2];
    struct savings_opts o;
    struct savings_baseline bl;
    example_opts(&o);
    savings_baseline_fit(b, example_baseline(b), END, &o, &bl);
    r[0] = mk(0, 6, 0, 9.0, 1);
    r[1] = mk(1, 6, 0, 10.0, 1);
    double base, act;
    savings_peak(&bl, r, 2, &base, &act);
    assert_float_equal(base, 16.0 / 4, 1e-9); /* June's highest: 16 kWh day, peak_kw = kwh/4 */
    assert_float_equal(act, 10.0 / 4, 1e-9);
    r[0] = mk(0, 9, 0, 9.0, 1); /* no September in the baseline: the whole baseline */
    savings_peak(&bl, r, 1, &base, &act);
    assert_float_equal(base, 18.0 / 4, 1e-9);
}

static int64_t kst(int y, int m, int d)
{
    struct tm tm;
    memset(&tm, 0, sizeof(tm));
    tm.tm_year = y - 1900;
    tm.tm_mon = m - 1;
    tm.tm_mday = d;
    return (int64_t)timegm(&tm) - 9 * 3600;
}

static void test_subsidy(void **state)
{
    (void)state;
    struct savings_subsidy s;
    savings_subsidy_default(&s);
    assert_int_equal(s.years, 5);
    assert_float_equal(savings_subsidy_rate(&s, 450), 50.0, 1e-9);
    s.bands[0] = (struct savings_band){.max_kw = 10, .rate_krw = 50};
    s.bands[1] = (struct savings_band){.max_kw = 100, .rate_krw = 40};
    s.bands[2] = (struct savings_band){.rate_krw = 30};
    s.nbands = 3;
    assert_float_equal(savings_subsidy_rate(&s, 3), 50.0, 1e-9);
    assert_float_equal(savings_subsidy_rate(&s, 10), 50.0, 1e-9);
    assert_float_equal(savings_subsidy_rate(&s, 10.5), 40.0, 1e-9);
    assert_float_equal(savings_subsidy_rate(&s, 450), 30.0, 1e-9);
    s.nbands = 1;
    assert_true(savings_subsidy_rate(&s, 20) < 0);
    /* bounded bands (docs/SAVINGS.md): 3-50 kW at 50, 50-1000 kW at 40. The rate is the
     * site's: a 60 kW site of two 30 kW inverters is in the second band (40), each 30 kW
     * inverter alone would be in the first (50); a 2 kW site is below every band; 50 kW is in
     * both and the first band listed wins. */
    s.bands[0] = (struct savings_band){.min_kw = 3, .max_kw = 50, .rate_krw = 50};
    s.bands[1] = (struct savings_band){.min_kw = 50, .max_kw = 1000, .rate_krw = 40};
    s.nbands = 2;
    assert_float_equal(savings_subsidy_rate(&s, 30 + 30), 40.0, 1e-9);
    assert_float_equal(savings_subsidy_rate(&s, 30), 50.0, 1e-9);
    assert_float_equal(savings_subsidy_rate(&s, 3), 50.0, 1e-9);
    assert_float_equal(savings_subsidy_rate(&s, 50), 50.0, 1e-9);
    assert_true(savings_subsidy_rate(&s, 2) < 0);
    assert_true(savings_subsidy_rate(&s, 1000.5) < 0);
    /* 2017-06-01 KST + 5 years = 2022-06-01 KST */
    assert_true(kst(2017, 6, 1) == 1496242800);
    assert_true(savings_subsidy_end(kst(2017, 6, 1), 5, 540) == kst(2022, 6, 1));
    assert_true(savings_subsidy_end(kst(2016, 2, 29), 1, 540) == kst(2017, 3, 1));
    struct caltime_tm t;
    caltime_split(kst(2017, 6, 1), 540, &t);
    assert_int_equal(t.year * 10000 + t.month * 100 + t.mday, 20170601);
    assert_int_equal(t.wday, 4); /* a Thursday */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_baseline_fit),    cmocka_unit_test(test_avoided),
        cmocka_unit_test(test_insufficient),    cmocka_unit_test(test_baseline_whole_window),
        cmocka_unit_test(test_deemed_and_peak), cmocka_unit_test(test_subsidy),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
