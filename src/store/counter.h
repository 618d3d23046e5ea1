/* counter.h -- energy counter deltas (wrap, reset, jumps) and 15-minute interval split: pure. */
#ifndef ENMON_COUNTER_H
#define ENMON_COUNTER_H

#include <stdint.h>

enum counter_event {
    COUNTER_NORMAL, /* cur >= prev, plausible */
    COUNTER_WRAP,   /* wrapped past the modulus */
    COUNTER_RESET,  /* went backwards without a plausible wrap: meter reset or replaced */
    COUNTER_JUMP,   /* increase larger than max_delta: implausible, not counted */
};

/* Energy between two counter values prev and cur (Wh).
 * modulus: the counter's wrap value (2^32 * 10^sf for acc32), 0 if it never wraps.
 * max_delta: the largest plausible increase (e.g. 2 x capacity x elapsed hours),
 *            <= 0 for no limit.
 * Returns the delta (>= 0) and sets *event. A reset counts cur (the counter
 * restarted from zero) when cur itself is plausible, else 0. A jump counts 0. */
double counter_delta(double prev, double cur, double modulus, double max_delta,
                     enum counter_event *event);

#define COUNTER_INTERVAL_S 900 /* 15 minutes */

/* Splits energy wh accrued between UTC epoch milliseconds t0 < t1 evenly over
 * time into 15-minute intervals. Writes up to max (start_s, wh) pairs and
 * returns how many intervals the span touches (may exceed max: caller checks). */
int counter_split_intervals(int64_t t0_ms, int64_t t1_ms, double wh, int64_t *start_s, double *part,
                            int max);

#endif
