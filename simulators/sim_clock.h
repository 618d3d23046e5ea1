/* sim_clock.h -- simulated time: a start instant advancing with CLOCK_MONOTONIC. */
#ifndef ENMON_SIM_CLOCK_H
#define ENMON_SIM_CLOCK_H

#include <stdint.h>

struct sim_clock {
    double start_s;        /* simulated UTC epoch seconds at start_mono_ms */
    int64_t start_mono_ms; /* CLOCK_MONOTONIC at start */
    double speed;          /* simulated seconds per real second (0 freezes time) */
};

/* Starts simulated time at start_s (UTC epoch seconds) now. */
void sim_clock_init(struct sim_clock *c, double start_s, double speed);

/* Current simulated instant (UTC epoch seconds). */
double sim_clock_now(const struct sim_clock *c);

/* Parses "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM|-HH:MM]" (no zone: Korea time, UTC+9)
 * into UTC epoch seconds. Returns 0, or -1 when s is not such a time. */
int sim_clock_parse(const char *s, long long *out);

#endif
