/* clock.h -- monotonic time for scheduling, wall time (real or simulated) for timestamps. */
#ifndef ENMON_CLOCK_H
#define ENMON_CLOCK_H

#include <stdint.h>

/* Korea time, UTC+9: the zone of a date or time written without one. */
#define CLOCK_KST_S (9 * 3600)

/* Milliseconds of CLOCK_MONOTONIC: for scheduling and timeouts only. */
int64_t clock_mono_ms(void);

/* Milliseconds since the UNIX epoch (UTC): for timestamps. CLOCK_REALTIME,
 * or the simulated clock once clock_sim_start() ran. */
int64_t clock_wall_ms(void);

/* Sleeps until the given CLOCK_MONOTONIC millisecond (returns early on signals). */
void clock_sleep_until_ms(int64_t mono_ms);

/* A simulated wall clock: start_s at start_mono_ns, advancing speed simulated
 * seconds per second of CLOCK_MONOTONIC (0 freezes it). */
struct clock_sim {
    double start_s;        /* simulated UTC epoch seconds at start_mono_ns */
    int64_t start_mono_ns; /* CLOCK_MONOTONIC at the start */
    double speed;
};

/* The simulated instant of c (UTC epoch milliseconds) when CLOCK_MONOTONIC
 * reads mono_ns. Pure. */
int64_t clock_sim_at(const struct clock_sim *c, int64_t mono_ns);

/* Makes clock_wall_ms() return simulated time for the rest of the process,
 * starting at start_s (UTC epoch seconds) now and running at speed. Call it
 * once, before any other thread starts; clock_wall_ms() then reads it without
 * locks. */
void clock_sim_start(double start_s, double speed);

/* 1 when clock_sim_start() ran. */
int clock_sim_active(void);

/* Parses "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM|-HH:MM]" ('t' or a
 * space may stand for 'T') into UTC epoch seconds; without a zone the date
 * (time) is at tz_offset_s east of UTC. Pure: the process TZ plays no part
 * (caltime_parse_datetime() does the parsing: one date parser in enmon).
 * Returns 0, or -1 when s is not such a date. */
int clock_parse_date(const char *s, long tz_offset_s, long long *out);

/* The command lines' --time T: like clock_parse_date() but a time of day is
 * required, and no zone means Korea time. Returns 0 or -1. */
int clock_parse_time_arg(const char *s, long long *out);

/* Parses a --speed X argument: a number 0..1000000. Returns 0 or -1. */
int clock_parse_speed_arg(const char *s, double *out);

#endif
