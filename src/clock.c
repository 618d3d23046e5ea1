/* clock.c -- monotonic time for scheduling, wall time (real or simulated) for timestamps. */
#include "clock.h"

#include <errno.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* The process's simulated clock: written once by clock_sim_start() before
 * other threads exist, published through sim_active. */
static struct clock_sim sim;
static atomic_int sim_active;

static int64_t clock_ns(clockid_t id)
{
    struct timespec ts;
    clock_gettime(id, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t clock_mono_ms(void)
{
    return clock_ns(CLOCK_MONOTONIC) / 1000000;
}

int64_t clock_wall_ms(void)
{
    if (atomic_load_explicit(&sim_active, memory_order_acquire))
        return clock_sim_at(&sim, clock_ns(CLOCK_MONOTONIC));
    return clock_ns(CLOCK_REALTIME) / 1000000;
}

void clock_sleep_until_ms(int64_t mono_ms)
{
    struct timespec ts = {.tv_sec = mono_ms / 1000, .tv_nsec = (mono_ms % 1000) * 1000000};
    clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);
}

/* ---- the simulated clock ------------------------------------------------------------- */

int64_t clock_sim_at(const struct clock_sim *c, int64_t mono_ns)
{
    double elapsed_s = (double)(mono_ns - c->start_mono_ns) / 1e9;
    /* floor: a frozen or slow clock never shows an instant before its start */
    double ms = c->start_s * 1000.0 + elapsed_s * c->speed * 1000.0;
    int64_t whole = (int64_t)ms;
    return (double)whole > ms ? whole - 1 : whole;
}

void clock_sim_start(double start_s, double speed)
{
    sim = (struct clock_sim){
        .start_s = start_s, .start_mono_ns = clock_ns(CLOCK_MONOTONIC), .speed = speed};
    atomic_store_explicit(&sim_active, 1, memory_order_release);
}

int clock_sim_active(void)
{
    return atomic_load_explicit(&sim_active, memory_order_acquire);
}

/* ---- parsing ----------------------------------------------------------------------------- */

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's algorithm). */
static long long days_from_civil(long long y, int m, int day)
{
    y -= m <= 2;
    long long era = (y >= 0 ? y : y - 399) / 400;
    long long yoe = y - era * 400;
    long long doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + day - 1;
    long long doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + doe - 719468;
}

static int days_in_month(int y, int m)
{
    static const int days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    int leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    return m == 2 ? 28 + leap : days[m - 1];
}

/* Reads exactly n digits at *p; -1 when they are not there. */
static int digits(const char **p, int n)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        char c = (*p)[i];
        if (c < '0' || c > '9')
            return -1;
        v = v * 10 + (c - '0');
    }
    *p += n;
    return v;
}

/* "THH:MM[:SS]" into seconds of the day; -1 on error. */
static long parse_clock(const char **p)
{
    if (**p != 'T' && **p != 't' && **p != ' ')
        return -1;
    (*p)++;
    int hh = digits(p, 2);
    if (hh < 0 || hh > 23 || *(*p)++ != ':')
        return -1;
    int mm = digits(p, 2);
    if (mm < 0 || mm > 59)
        return -1;
    int ss = 0;
    if (**p == ':') {
        (*p)++;
        ss = digits(p, 2);
        if (ss < 0 || ss > 59)
            return -1;
    }
    return hh * 3600L + mm * 60L + ss;
}

/* "Z", "+HH:MM" or "-HH:MM" into seconds east of UTC; *p must then be at the end. */
static int parse_offset(const char *p, long *off)
{
    if ((*p == 'Z' || *p == 'z') && p[1] == '\0') {
        *off = 0;
        return 0;
    }
    if (*p != '+' && *p != '-')
        return -1;
    int sign = *p == '-' ? -1 : 1;
    p++;
    int hh = digits(&p, 2);
    if (hh < 0 || hh > 23 || *p++ != ':')
        return -1;
    int mm = digits(&p, 2);
    if (mm < 0 || mm > 59 || *p != '\0')
        return -1;
    *off = sign * (hh * 3600L + mm * 60L);
    return 0;
}

int clock_parse_date(const char *s, long tz_offset_s, long long *out)
{
    const char *p = s;
    int y = digits(&p, 4);
    if (y < 0 || *p++ != '-')
        return -1;
    int m = digits(&p, 2);
    if (m < 1 || m > 12 || *p++ != '-')
        return -1;
    int day = digits(&p, 2);
    if (day < 1 || day > days_in_month(y, m))
        return -1;
    long secs = 0, off = tz_offset_s;
    if (*p != '\0') {
        secs = parse_clock(&p);
        if (secs < 0)
            return -1;
        if (*p != '\0' && parse_offset(p, &off) != 0)
            return -1;
    }
    *out = days_from_civil(y, m, day) * 86400LL + secs - off;
    return 0;
}

int clock_parse_time_arg(const char *s, long long *out)
{
    if (strlen(s) <= 10) /* a date alone */
        return -1;
    return clock_parse_date(s, CLOCK_KST_S, out);
}

int clock_parse_speed_arg(const char *s, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !(v >= 0 && v <= 1e6))
        return -1;
    *out = v;
    return 0;
}
