/* test_caltime.c -- calendar arithmetic: zones, strict dates, local days, intervals, worked out. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "caltime.h"
#include "err.h"

#include <string.h>

#define KST CALTIME_KST_MIN
#define NEW_YEAR_KST 1767193200LL /* 2026-01-01 00:00 KST = 2025-12-31 15:00 UTC */

static void test_leap_years(void **state)
{
    (void)state;
    assert_true(caltime_is_leap(2024)); /* divisible by 4 */
    assert_false(caltime_is_leap(2026));
    assert_false(caltime_is_leap(2100)); /* by 100, not by 400 */
    assert_true(caltime_is_leap(2000));  /* by 400 */
    assert_int_equal(caltime_days_in_month(2024, 2), 29);
    assert_int_equal(caltime_days_in_month(2026, 2), 28);
    assert_int_equal(caltime_days_in_month(2026, 4), 30);
    assert_int_equal(caltime_days_in_month(2026, 12), 31);
    assert_int_equal(caltime_days_in_month(2026, 13), 0);
    /* 2024-02-29: 54 years of days (13 leap years 1972..2020) = 19723, + 59 = 19782. */
    assert_int_equal(caltime_days_from_civil(2024, 2, 29), 19782);
    int y, m, d;
    caltime_civil_from_days(19782, &y, &m, &d);
    assert_int_equal(y * 10000 + m * 100 + d, 20240229);
    caltime_civil_from_days(-1, &y, &m, &d);
    assert_int_equal(y * 10000 + m * 100 + d, 19691231);
}

static void test_parse_date_strict(void **state)
{
    (void)state;
    int64_t s = 0;
    /* 2026-03-01 00:00 KST = 2026-02-28 15:00 UTC */
    assert_int_equal(caltime_parse_date("2026-03-01", KST, &s), ENMON_OK);
    assert_int_equal(s, 1772290800LL);
    assert_int_equal(caltime_parse_date("2024-02-29", 0, &s), ENMON_OK);
    assert_int_equal(s, 19782LL * 86400);
    assert_int_equal(caltime_parse_date("2026-02-31", KST, &s), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_date("2026-02-29", KST, &s), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_date("2026-04-31", KST, &s), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_date("2026-13-01", KST, &s), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_date("2026-00-10", KST, &s), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_date("2026-01-00", KST, &s), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_date("2026-1-1", KST, &s), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_date("2026-01-01x", KST, &s), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_date("1969-12-31", KST, &s), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_date("", KST, &s), ENMON_ERR_PARSE);
}

static void test_parse_datetime(void **state)
{
    (void)state;
    int64_t s = 0;
    assert_int_equal(caltime_parse_datetime("2026-01-01", KST, &s), ENMON_OK);
    assert_int_equal(s, NEW_YEAR_KST);
    assert_int_equal(caltime_parse_datetime("2026-01-01T00:07", KST, &s), ENMON_OK);
    assert_int_equal(s, NEW_YEAR_KST + 7 * 60);
    assert_int_equal(caltime_parse_datetime("2025-12-31 15:00:00Z", KST, &s), ENMON_OK);
    assert_int_equal(s, NEW_YEAR_KST);
    assert_int_equal(caltime_parse_datetime("2025-12-31T10:00-05:00", KST, &s), ENMON_OK);
    assert_int_equal(s, NEW_YEAR_KST);
    assert_int_equal(caltime_parse_datetime("2026-01-01T00:00+0900", 0, &s), ENMON_OK);
    assert_int_equal(s, NEW_YEAR_KST);
    assert_int_equal(caltime_parse_datetime("2026-02-31T00:00", KST, &s), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_datetime("2026-01-01T24:00", KST, &s), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_datetime("2026-01-01T00:00+15:00", KST, &s), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_datetime("2026-01-01T00:00x", KST, &s), ENMON_ERR_PARSE);
    assert_int_equal(caltime_parse_datetime("2026-01-01T00:00+9", KST, &s), ENMON_ERR_PARSE);
}

static void test_zone_offsets(void **state)
{
    (void)state;
    int off = 0;
    assert_int_equal(caltime_zone_offset("Asia/Seoul", &off), ENMON_OK);
    assert_int_equal(off, 540);
    assert_int_equal(caltime_zone_offset("Asia/Shanghai", &off), ENMON_OK);
    assert_int_equal(off, 480);
    assert_int_equal(caltime_zone_offset("UTC", &off), ENMON_OK);
    assert_int_equal(off, 0);
    assert_int_equal(caltime_zone_offset("+09:00", &off), ENMON_OK);
    assert_int_equal(off, 540);
    assert_int_equal(caltime_zone_offset("-05:30", &off), ENMON_OK);
    assert_int_equal(off, -330);
    assert_int_equal(caltime_zone_offset("+0545", &off), ENMON_OK);
    assert_int_equal(off, 345);
    assert_int_equal(caltime_zone_offset("+9", &off), ENMON_OK);
    assert_int_equal(off, 540);
    assert_int_equal(caltime_zone_offset("-3", &off), ENMON_OK);
    assert_int_equal(off, -180);
    assert_int_equal(caltime_zone_offset("Mars/Olympus", &off), ENMON_ERR_NOT_FOUND);
    assert_int_equal(caltime_zone_offset("+25:00", &off), ENMON_ERR_PARSE);
    assert_int_equal(caltime_zone_offset("+09:60", &off), ENMON_ERR_PARSE);
    assert_int_equal(caltime_zone_offset("+9x", &off), ENMON_ERR_PARSE);
    char buf[16];
    caltime_format_offset(-330, buf, sizeof(buf));
    assert_string_equal(buf, "-05:30");
    caltime_format_offset(540, buf, sizeof(buf));
    assert_string_equal(buf, "+09:00");
}

static void test_format(void **state)
{
    (void)state;
    char buf[32];
    caltime_format_time(NEW_YEAR_KST, KST, buf, sizeof(buf));
    assert_string_equal(buf, "2026-01-01 00:00:00");
    caltime_format_time(NEW_YEAR_KST - 1, KST, buf, sizeof(buf));
    assert_string_equal(buf, "2025-12-31 23:59:59");
    caltime_format_date(NEW_YEAR_KST - 1, KST, buf, sizeof(buf));
    assert_string_equal(buf, "2025-12-31");
    caltime_format_minute(NEW_YEAR_KST + 7 * 60 + 59, KST, buf, sizeof(buf));
    assert_string_equal(buf, "2026-01-01 00:07");
    /* The epoch at -05:00 is still 31 December 1969, 19:00. */
    caltime_format_time(0, -300, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31 19:00:00");
}

static void test_days_around_midnight(void **state)
{
    (void)state;
    /* 23:59:59 KST belongs to the old day; 00:00 KST starts the new one. */
    assert_int_equal(caltime_day_start(NEW_YEAR_KST - 1, KST), NEW_YEAR_KST - 86400);
    assert_int_equal(caltime_day_start(NEW_YEAR_KST, KST), NEW_YEAR_KST);
    assert_int_equal(caltime_day_end(NEW_YEAR_KST - 1, KST), NEW_YEAR_KST);
    assert_int_equal(caltime_day_end(NEW_YEAR_KST, KST), NEW_YEAR_KST + 86400);
    assert_int_equal(caltime_day_ceil(NEW_YEAR_KST, KST), NEW_YEAR_KST);
    assert_int_equal(caltime_day_ceil(NEW_YEAR_KST + 1, KST), NEW_YEAR_KST + 86400);
    /* A negative offset: 2026-03-10 00:00 -05:00 = 05:00 UTC (1773118800). */
    assert_int_equal(caltime_day_start(1773118800LL + 3600, -300), 1773118800LL);
    assert_int_equal(caltime_day_start(1773118800LL - 1, -300), 1773118800LL - 86400);
    /* Before the epoch: 1969-12-31 at UTC starts at -86400. */
    assert_int_equal(caltime_day_start(-1, 0), -86400);
}

static void test_interval_starts(void **state)
{
    (void)state;
    /* 2025-12-31 23:52 KST is in the 23:45 interval; 00:07 KST in the 00:00 one. */
    assert_int_equal(caltime_interval_start(1767192720LL, KST), 1767192300LL);
    assert_int_equal(caltime_interval_start(NEW_YEAR_KST + 7 * 60, KST), NEW_YEAR_KST);
    assert_int_equal(caltime_interval_start(NEW_YEAR_KST - 1, KST), NEW_YEAR_KST - 900);
    assert_int_equal(caltime_interval_start(NEW_YEAR_KST, KST), NEW_YEAR_KST);
    /* +05:45 (Nepal): 00:10 local is in the 00:00 interval (1767204900). */
    assert_int_equal(caltime_interval_start(1767205500LL, 345), 1767204900LL);
    /* -03:30: the local quarter-hours are still UTC quarter-hours. */
    assert_int_equal(caltime_interval_start(1734233400LL + 899, -210), 1734233400LL);
}

static void test_weekdays(void **state)
{
    (void)state;
    assert_int_equal(caltime_weekday(0, 0), 4);              /* 1970-01-01: Thursday */
    assert_int_equal(caltime_weekday(0, -300), 3);           /* 1969-12-31 at -05:00 */
    assert_int_equal(caltime_weekday(NEW_YEAR_KST, KST), 4); /* 2026-01-01: Thursday */
    assert_int_equal(caltime_weekday(NEW_YEAR_KST - 1, KST), 3);
    assert_int_equal(caltime_weekday(NEW_YEAR_KST, 0), 3); /* 15:00 UTC the day before */
    struct caltime_tm t;
    caltime_split(1709164800LL, 0, &t); /* 2024-02-29 */
    assert_int_equal(t.wday, 4);
    assert_int_equal(t.yday, 59);
}

static void test_months_and_years(void **state)
{
    (void)state;
    /* 2026-02-15 12:00 KST: February runs from 1769871600 to 1772290800. */
    assert_int_equal(caltime_month_start(1771124400LL, KST), 1769871600LL);
    assert_int_equal(caltime_month_end(1771124400LL, KST), 1772290800LL);
    /* December at -03:30 ends on 1 January of the next year. */
    assert_int_equal(caltime_month_start(1734233400LL, -210), 1733023800LL);
    assert_int_equal(caltime_month_end(1734233400LL, -210), 1735702200LL);
    /* 2024-02-29 10:00 KST: one year on is 1 March 2025, four years on 29 February 2028. */
    assert_int_equal(caltime_add_years(1709168400LL, 1, KST), 1740790800LL);
    assert_int_equal(caltime_add_years(1709168400LL, 4, KST), 1835398800LL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_leap_years),       cmocka_unit_test(test_parse_date_strict),
        cmocka_unit_test(test_parse_datetime),   cmocka_unit_test(test_zone_offsets),
        cmocka_unit_test(test_format),           cmocka_unit_test(test_days_around_midnight),
        cmocka_unit_test(test_interval_starts),  cmocka_unit_test(test_weekdays),
        cmocka_unit_test(test_months_and_years),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
