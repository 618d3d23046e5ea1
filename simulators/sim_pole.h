/* sim_pole.h -- a feeder of distribution poles: leakage current with rain and faults, phase
 * currents, enclosure temperature and tilt of each pole sensor (pure). */
#ifndef ENMON_SIM_POLE_H
#define ENMON_SIM_POLE_H

#include "sim_fault.h"

#include <stdint.h>

/* A dry, sound pole leaks SIM_POLE_BASE_MIN_MA..+SIM_POLE_BASE_SPAN_MA (seeded per pole):
 * insulators and cable terminations on a 220/380 V low-voltage feeder pass a few mA. */
#define SIM_POLE_BASE_MIN_MA 1.0
#define SIM_POLE_BASE_SPAN_MA 3.0
#define SIM_POLE_RAIN_GAIN 3.0  /* in full rain the leakage is (1 + 3) times the dry value */
#define SIM_POLE_DEW_GAIN 0.3   /* night dew (00-06 local): up to 1.3 times */
#define SIM_POLE_FEEDER_A 40.0  /* mean phase current of the feeder at its load shape's mean */
#define SIM_POLE_ARC_SLOT_S 5.0 /* intermittent arcing: bursts decided per 5 s slot ... */
#define SIM_POLE_ARC_SHARE 0.3  /* ... 30% of the slots carry a burst */

struct sim_pole {
    double leak_ma; /* residual current through the pole's insulation, mA */
    double phase_a[3];
    double tmp_c;    /* enclosure temperature */
    double tilt_deg; /* from vertical */
    double wet;      /* rain wetness 0..1 (for tests and documentation) */
};

/* Rain wetness 0..1 shared by the city (weather_key): seeded rain spells of hours, more
 * frequent in the monsoon months (June to August). */
double sim_pole_rain(uint64_t weather_key, double t);

/* The leakage an injected leakage fault adds at t (0 without one): step: ma; ramp: ma +
 * rate_ma_h x hours since it began; arc: bursts of 0.5..1.5 x ma in SIM_POLE_ARC_SHARE of
 * the SIM_POLE_ARC_SLOT_S slots (seeded by key). */
double sim_pole_fault_ma(const struct sim_fault *f, uint64_t key, double t);

/* The values of pole `key` on feeder `feeder_key` at t, with its faults. */
void sim_pole_values(uint64_t key, uint64_t weather_key, uint64_t feeder_key, double t,
                     const struct sim_fault *f, struct sim_pole *out);

#endif
