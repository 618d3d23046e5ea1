/* caltime.c -- calendar arithmetic at a fixed UTC offset: zones, strict dates, days, intervals. */
#include "caltime.h"

#include "err.h"

#include <stdio.h>
#include <string.h>

/* ---- civil days ----------------------------------------------------------------- */

int caltime_is_leap(int year)
{
    return (year % 4 == 0 && year % 100 != 0) || year % 400 == 0;
}

int caltime_days_in_month(int year, int month)
{
    static const int days[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    if (month < 1 || month > 12)
        return 0;
    return month == 2 ? 28 + caltime_is_leap(year) : days[month - 1];
}

int64_t caltime_days_from_civil(int year, int month, int mday)
{
    int64_t y = (int64_t)year - (month <= 2);
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    int64_t yoe = y - era * 400;
    int64_t doy = (153 * (month + (month > 2 ? -3 : 9)) + 2) / 5 + mday - 1;
    int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

void caltime_civil_from_days(int64_t days, int *year, int *month, int *mday)
{
    int64_t z = days + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    int64_t doe = z - era * 146097;
    int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    int64_t mp = (5 * doy + 2) / 153;
    *mday = (int)(doy - (153 * mp + 2) / 5 + 1);
    *month = (int)(mp < 10 ? mp + 3 : mp - 9);
    *year = (int)(yoe + era * 400 + (*month <= 2));
}

/* floor(a / b) for b > 0. */
static int64_t floor_div(int64_t a, int64_t b)
{
    return a / b - (a % b < 0);
}

/* ---- parsing -------------------------------------------------------------------- */

/* Reads exactly n digits at *p and moves past them; -1 when they are not there. */
static int digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/* "+09:00", "+0900", "+09", "+9" (sign required). */
static int parse_offset(const char *s, int *offset_min)
{
    int sign = s[0] == '-' ? -1 : 1, h = 0, mi = 0;
    const char *p = s + 1;
    size_t n = strlen(p);
    if (n == 1 || n == 2) {
        if (digits(&p, (int)n, &h))
            return ENMON_ERR_PARSE;
    } else if ((n == 5 && p[2] == ':') || n == 4) {
        const char *q = p + n - 2;
        if (digits(&p, 2, &h) || digits(&q, 2, &mi))
            return ENMON_ERR_PARSE;
    } else {
        return ENMON_ERR_PARSE;
    }
    if (h > CALTIME_OFFSET_MAX_H || mi > 59)
        return ENMON_ERR_PARSE;
    *offset_min = sign * (h * 60 + mi);
    return ENMON_OK;
}

int caltime_zone_offset(const char *s, int *offset_min)
{
    static const struct {
        const char *name;
        int offset_min;
    } zones[] = {
        {"UTC", 0},          {"Z", 0},     {"GMT", 0},          {"Etc/UTC", 0},
        {"Asia/Seoul", 540}, {"ROK", 540}, {"Asia/Tokyo", 540}, {"Asia/Shanghai", 480},
    };
    if (s[0] == '+' || s[0] == '-')
        return parse_offset(s, offset_min);
    for (size_t i = 0; i < sizeof(zones) / sizeof(zones[0]); i++) {
        if (strcmp(s, zones[i].name) == 0) {
            *offset_min = zones[i].offset_min;
            return ENMON_OK;
        }
    }
    return ENMON_ERR_NOT_FOUND;
}

/* "YYYY-MM-DD" at *p (a real day) into days since 1970-01-01. */
static int parse_day(const char **p, int64_t *days)
{
    int y, m, d;
    if (digits(p, 4, &y) || *(*p)++ != '-' || digits(p, 2, &m) || *(*p)++ != '-' ||
        digits(p, 2, &d))
        return -1;
    if (y < 1970 || d < 1 || d > caltime_days_in_month(y, m))
        return -1;
    *days = caltime_days_from_civil(y, m, d);
    return 0;
}

int caltime_parse_date(const char *s, int offset_min, int64_t *out_s)
{
    const char *p = s;
    int64_t days;
    if (parse_day(&p, &days) != 0 || *p != '\0')
        return ENMON_ERR_PARSE;
    *out_s = days * CALTIME_DAY_S - (int64_t)offset_min * CALTIME_MINUTE_S;
    return ENMON_OK;
}

/* "HH:MM[:SS]" at *p into seconds of the day; -1 on error. */
static int64_t parse_clock(const char **p)
{
    int h, mi, s = 0;
    if (digits(p, 2, &h) || *(*p)++ != ':' || digits(p, 2, &mi))
        return -1;
    if (**p == ':') {
        (*p)++;
        if (digits(p, 2, &s))
            return -1;
    }
    if (h > 23 || mi > 59 || s > 59)
        return -1;
    return (int64_t)h * CALTIME_HOUR_S + mi * CALTIME_MINUTE_S + s;
}

int caltime_parse_datetime(const char *s, int offset_min, int64_t *out_s)
{
    const char *p = s;
    int64_t days, secs = 0;
    int off = offset_min;
    if (parse_day(&p, &days) != 0)
        return ENMON_ERR_PARSE;
    if (*p == 'T' || *p == 't' || *p == ' ') {
        p++;
        if ((secs = parse_clock(&p)) < 0)
            return ENMON_ERR_PARSE;
    }
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0')
        off = 0;
    else if (*p && ((*p != '+' && *p != '-') || strlen(p) < 3 || /* two hour digits */
                    parse_offset(p, &off) != ENMON_OK))
        return ENMON_ERR_PARSE;
    *out_s = days * CALTIME_DAY_S + secs - (int64_t)off * CALTIME_MINUTE_S;
    return ENMON_OK;
}

/* ---- local calendar --------------------------------------------------------------- */

void caltime_split(int64_t ts_s, int offset_min, struct caltime_tm *out)
{
    int64_t local = ts_s + (int64_t)offset_min * CALTIME_MINUTE_S;
    int64_t days = floor_div(local, CALTIME_DAY_S);
    int sec = (int)(local - days * CALTIME_DAY_S);
    caltime_civil_from_days(days, &out->year, &out->month, &out->mday);
    out->wday = (int)((days % 7 + 11) % 7); /* 1970-01-01 was a Thursday */
    out->yday = (int)(days - caltime_days_from_civil(out->year, 1, 1));
    out->hour = sec / CALTIME_HOUR_S;
    out->min = sec / CALTIME_MINUTE_S % 60;
    out->sec = sec % 60;
}

void caltime_format_date(int64_t ts_s, int offset_min, char *buf, size_t len)
{
    struct caltime_tm t;
    caltime_split(ts_s, offset_min, &t);
    snprintf(buf, len, "%04d-%02d-%02d", t.year, t.month, t.mday);
}

void caltime_format_minute(int64_t ts_s, int offset_min, char *buf, size_t len)
{
    struct caltime_tm t;
    caltime_split(ts_s, offset_min, &t);
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d", t.year, t.month, t.mday, t.hour, t.min);
}

void caltime_format_time(int64_t ts_s, int offset_min, char *buf, size_t len)
{
    struct caltime_tm t;
    caltime_split(ts_s, offset_min, &t);
    snprintf(buf, len, "%04d-%02d-%02d %02d:%02d:%02d", t.year, t.month, t.mday, t.hour, t.min,
             t.sec);
}

void caltime_format_offset(int offset_min, char *buf, size_t len)
{
    int a = offset_min < 0 ? -offset_min : offset_min;
    snprintf(buf, len, "%c%02d:%02d", offset_min < 0 ? '-' : '+', a / 60, a % 60);
}

/* ts_s floored to a multiple of step seconds of local time. */
static int64_t local_floor(int64_t ts_s, int offset_min, int64_t step)
{
    int64_t off = (int64_t)offset_min * CALTIME_MINUTE_S;
    return floor_div(ts_s + off, step) * step - off;
}

int64_t caltime_day_start(int64_t ts_s, int offset_min)
{
    return local_floor(ts_s, offset_min, CALTIME_DAY_S);
}

int64_t caltime_day_end(int64_t ts_s, int offset_min)
{
    return caltime_day_start(ts_s, offset_min) + CALTIME_DAY_S;
}

int64_t caltime_day_ceil(int64_t ts_s, int offset_min)
{
    int64_t f = caltime_day_start(ts_s, offset_min);
    return f == ts_s ? f : f + CALTIME_DAY_S;
}

int64_t caltime_interval_start(int64_t ts_s, int offset_min)
{
    return local_floor(ts_s, offset_min, CALTIME_INTERVAL_S);
}

int caltime_weekday(int64_t ts_s, int offset_min)
{
    struct caltime_tm t;
    caltime_split(ts_s, offset_min, &t);
    return t.wday;
}

/* Local midnight of year-month-01 (month may run past 12). */
static int64_t month_first(int year, int month, int offset_min)
{
    year += (month - 1) / 12;
    month = (month - 1) % 12 + 1;
    return caltime_days_from_civil(year, month, 1) * CALTIME_DAY_S -
           (int64_t)offset_min * CALTIME_MINUTE_S;
}

int64_t caltime_month_start(int64_t ts_s, int offset_min)
{
    struct caltime_tm t;
    caltime_split(ts_s, offset_min, &t);
    return month_first(t.year, t.month, offset_min);
}

int64_t caltime_month_end(int64_t ts_s, int offset_min)
{
    struct caltime_tm t;
    caltime_split(ts_s, offset_min, &t);
    return month_first(t.year, t.month + 1, offset_min);
}

int64_t caltime_add_years(int64_t ts_s, int years, int offset_min)
{
    struct caltime_tm t;
    caltime_split(ts_s, offset_min, &t);
    /* Day 1 of the month plus mday - 1 days: 29 February rolls into March. */
    int64_t days = caltime_days_from_civil(t.year + years, t.month, 1) + t.mday - 1;
    return days * CALTIME_DAY_S + (int64_t)t.hour * CALTIME_HOUR_S + t.min * CALTIME_MINUTE_S +
           t.sec - (int64_t)offset_min * CALTIME_MINUTE_S;
}
