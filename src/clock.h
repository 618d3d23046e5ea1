/* clock.h -- monotonic time for scheduling, wall time for timestamps. */
#ifndef ENMON_CLOCK_H
#define ENMON_CLOCK_H

#include <stdint.h>

/* Milliseconds of CLOCK_MONOTONIC: for scheduling and timeouts only. */
int64_t clock_mono_ms(void);

/* Milliseconds since the UNIX epoch (UTC, CLOCK_REALTIME): for timestamps. */
int64_t clock_wall_ms(void);

/* Sleeps until the given CLOCK_MONOTONIC millisecond (returns early on signals). */
void clock_sleep_until_ms(int64_t mono_ms);

#endif
