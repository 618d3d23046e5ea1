/* sim_device.h -- one simulated device: physics or fixed values, counters, register image. */
#ifndef ENMON_SIM_DEVICE_H
#define ENMON_SIM_DEVICE_H

#include "sim_config.h"
#include "sim_physics.h"
#include "sim_sunspec.h"

#include <stdint.h>

#define SIM_N_MPPT 2

struct sim_device {
    struct sim_device_cfg cfg;
    uint64_t key;         /* this device's seeded randomness */
    uint64_t weather_key; /* the city's weather (same for every device of a seed) */
    uint64_t feeder_key;  /* grid voltage and local clouds shared by a port's devices */
    struct sim_nameplate np;
    struct sim_scales sf;
    struct sim_pv pv;          /* inverter array, or rooftop PV behind a meter */
    struct sim_household home; /* meters */
    double wh_imp;             /* counters in Wh */
    double wh_exp;
    double dc_wh[SIM_N_MPPT];
    double last_s;  /* simulated instant the counters were advanced to */
    double built_s; /* simulated instant of img */
    int built;
    struct sim_image img;
};

/* Sets up dev from cfg for a seed: nameplate, scale factors, initial counters
 * at simulated instant now_s. Its randomness is keyed by the seed, its ordinal
 * in the configuration and the ordinal of its port (site), not by port numbers:
 * the same file on other ports behaves the same. */
void sim_device_init(struct sim_device *dev, const struct sim_device_cfg *cfg, uint64_t seed,
                     uint32_t ordinal, uint32_t site, double now_s);

/* Instantaneous values at simulated instant t, with the current counters. */
void sim_device_values(const struct sim_device *dev, double t, struct sim_values *val);

/* Integrates power into the counters up to now_s (no-op in fixed mode or when
 * time did not advance). */
void sim_device_advance(struct sim_device *dev, double now_s);

/* Advances to now_s and returns the register image (rebuilt at most once per
 * simulated second); NULL when the image cannot be built. */
const struct sim_image *sim_device_image(struct sim_device *dev, double now_s);

#endif
