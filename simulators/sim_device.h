/* sim_device.h -- one simulated device: physics or fixed values, counters, register image. */
#ifndef ENMON_SIM_DEVICE_H
#define ENMON_SIM_DEVICE_H

#include "sim_config.h"
#include "sim_fault.h"
#include "sim_modbus.h"
#include "sim_physics.h"
#include "sim_sunspec.h"
#include "sim_tick.h"

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
    double last_s;        /* simulated instant the counters were advanced to */
    double built_s;       /* simulated instant of img */
    struct sim_tick tick; /* when img refreshes (--tick; every_s 0: continuously) */
    int built;
    struct sim_image img;   /* SunSpec chain (both function codes), or a map's holding registers */
    struct sim_image input; /* a map's input registers */
    struct sim_device *next_behind; /* the next logical device behind the same unit id */
    struct sim_fault fault;         /* injected faults (sim_ctl) */
    const double *clouds;           /* global PV factor (1: none), or NULL */
};

/* Sets up dev from cfg for a seed: nameplate, scale factors, initial counters
 * at simulated instant now_s. Its randomness is keyed by the seed, its ordinal
 * in the configuration and the ordinal of its port (site), not by port numbers:
 * the same file on other ports behaves the same. A logical device behind
 * another (cfg->behind > 1) gets the serial "SERIAL-k" and, when fixed,
 * values derived from the configured ones (docs/SIMULATOR.md); only the first
 * device of a unit (cfg->behind 1) holds the register images. Returns 0, or -1
 * when out of memory. */
int sim_device_init(struct sim_device *dev, const struct sim_device_cfg *cfg, uint64_t seed,
                    uint32_t ordinal, uint32_t site, double now_s);
void sim_device_free(struct sim_device *dev);

/* Instantaneous values at simulated instant t, with the current counters and
 * the injected faults. */
void sim_device_values(const struct sim_device *dev, double t, struct sim_values *val);

/* Integrates power into the counters up to now_s (no-op when time did not
 * advance or the counters are frozen; in fixed mode only an export fault moves
 * the export counter). */
void sim_device_advance(struct sim_device *dev, double now_s);

/* A one-shot counter change (reset, jump, backwards) of dev, recorded in its
 * faults; the caller advances the counters to now first. Marks the image stale. */
void sim_device_counter(struct sim_device *dev, enum sim_counter_op op, double wh);

/* Advances the unit's devices (dev and those behind it) to now_s and fills view
 * with its register images (rebuilt at most once per simulated second), and how
 * it answers. With a tick (dev->tick.every_s > 0) the images show the last
 * refresh at or before now_s instead, and the counters are integrated from one
 * refresh to the next, so an image depends on its refresh instant alone, not on
 * when it was read. Returns 0, or -1 when the images cannot be built. */
int sim_device_view(struct sim_device *dev, double now_s, struct sim_unit_view *view);

#endif
