/* clock.c -- monotonic time for scheduling, wall time (real or simulated) for timestamps. */
#include "clock.h"

#include "caltime.h"
#include "err.h"

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

int clock_parse_date(const char *s, long tz_offset_s, long long *out)
{
    int64_t t;
    if (caltime_parse_datetime(s, (int)(tz_offset_s / 60), &t) != ENMON_OK)
        return -1;
    *out = (long long)t;
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
