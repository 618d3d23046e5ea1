/* counter.c -- energy counter deltas (wrap, reset, jumps) and 15-minute interval split: pure. */
#include "counter.h"

/* A wrap is plausible when the wrapped delta is within max_delta or, without
 * a limit, when the counter went back by more than half its range (a reset
 * to near zero from low in the range is far more likely than a wrap). */
static int counter_wrap_plausible(double prev, double cur, double modulus, double max_delta,
                                  double *wrapped)
{
    if (modulus <= 0 || prev >= modulus || cur >= modulus || cur < 0)
        return 0;
    *wrapped = modulus - prev + cur;
    if (max_delta > 0)
        return *wrapped <= max_delta;
    return *wrapped < modulus / 2;
}

double counter_delta(double prev, double cur, double modulus, double max_delta,
                     enum counter_event *event)
{
    if (cur >= prev) {
        double d = cur - prev;
        if (max_delta > 0 && d > max_delta) {
            *event = COUNTER_JUMP;
            return 0;
        }
        *event = COUNTER_NORMAL;
        return d;
    }
    double wrapped = 0;
    if (counter_wrap_plausible(prev, cur, modulus, max_delta, &wrapped)) {
        *event = COUNTER_WRAP;
        return wrapped;
    }
    *event = COUNTER_RESET;
    if (cur < 0)
        return 0;
    return (max_delta <= 0 || cur <= max_delta) ? cur : 0;
}

static int64_t counter_floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;
    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

int counter_split_intervals(int64_t t0_ms, int64_t t1_ms, double wh, int64_t *start_s, double *part,
                            int max)
{
    const int64_t len_ms = (int64_t)COUNTER_INTERVAL_S * 1000;
    if (t1_ms <= t0_ms) {
        /* zero-length (or reversed) span: all of it belongs to t1's interval */
        if (max > 0) {
            start_s[0] = counter_floor_div(t1_ms, len_ms) * COUNTER_INTERVAL_S;
            part[0] = wh;
        }
        return 1;
    }
    int64_t first = counter_floor_div(t0_ms, len_ms);
    int64_t last = counter_floor_div(t1_ms - 1, len_ms); /* the span is [t0, t1) */
    int64_t n = last - first + 1;
    double span = (double)(t1_ms - t0_ms);
    double given = 0;
    for (int64_t k = 0; k < n && k < max; k++) {
        int64_t lo = (first + k) * len_ms, hi = lo + len_ms;
        if (lo < t0_ms)
            lo = t0_ms;
        if (hi > t1_ms)
            hi = t1_ms;
        start_s[k] = (first + k) * COUNTER_INTERVAL_S;
        /* the last interval takes the remainder so the parts sum exactly to wh */
        part[k] = (k == n - 1) ? wh - given : wh * (double)(hi - lo) / span;
        given += part[k];
    }
    return n > 0x7fffffff ? 0x7fffffff : (int)n;
}
