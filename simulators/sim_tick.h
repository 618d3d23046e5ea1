/* sim_tick.h -- register images refresh continuously or on simulated-time ticks (pure). */
#ifndef ENMON_SIM_TICK_H
#define ENMON_SIM_TICK_H

/* Register images refresh at offset_s + k x every_s (k integer, UTC epoch seconds of
 * simulated time), as a meter that updates its registers on a fixed cadence does;
 * every_s 0 (the default) refreshes them continuously (at most once per simulated second). */
struct sim_tick {
    double every_s;
    double offset_s;
};

/* The instant the image read at t shows: the last refresh at or before t, or t
 * itself when every_s is 0. */
double sim_tick_floor(const struct sim_tick *k, double t);

/* The first refresh strictly after t (every_s > 0). */
double sim_tick_next(const struct sim_tick *k, double t);

/* Parses a --tick or --tick-offset value: a whole number of seconds, or with a unit
 * "s", "m", "h" or "d" ("15m", "24h"), 0 .. 366 days. Returns 0, or -1 when s is not
 * such a duration. */
int sim_tick_parse(const char *s, double *out_s);

#endif
