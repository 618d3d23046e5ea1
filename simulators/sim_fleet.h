/* sim_fleet.h -- every simulated device, grouped by listening port and unit id. */
#ifndef ENMON_SIM_FLEET_H
#define ENMON_SIM_FLEET_H

#include "sim_config.h"
#include "sim_device.h"

#include <stddef.h>
#include <stdint.h>

/* The devices answering on one TCP port (like an AMI data concentrator) or
 * on one RTU bus. */
struct sim_port {
    int port;         /* TCP port, or 0 for an RTU bus */
    int rtu;          /* index in sim_config.rtus, or -1 */
    const char *path; /* the RTU bus's path (in the configuration), or NULL */
    int nunits;
    struct sim_device *units[SIM_UNIT_MAX + 1]; /* by unit id; NULL when absent */
};

struct sim_fleet {
    struct sim_device *devs; /* every logical device (devices behind a unit included) */
    size_t ndevs;
    size_t nunits;          /* configured devices (unit ids served) */
    struct sim_port *ports; /* in order of first appearance in the configuration */
    size_t nports;
    double clouds; /* global PV factor (ctl "clouds"; 1: clear) */
};

/* Builds the fleet of cfg, its devices starting at start_s (UTC epoch seconds;
 * the process's clock_wall_ms(), simulated or not, tells the time after).
 * The fleet must not move in memory afterwards (devices point to its clouds),
 * and cfg must outlive it (RTU paths). Returns ENMON_OK or ENMON_ERR_NOMEM. */
int sim_fleet_init(struct sim_fleet *f, const struct sim_config *cfg, uint64_t seed,
                   double start_s);

/* Every device's register images refresh on tick (--tick, --tick-offset) from now on. */
void sim_fleet_set_tick(struct sim_fleet *f, const struct sim_tick *tick);

/* The simulated instant now (UTC epoch seconds): clock_wall_ms(). */
double sim_fleet_now(void);
void sim_fleet_free(struct sim_fleet *f);

/* sim_mb_lookup for a struct sim_port: the current images of the unit's device. */
int sim_fleet_lookup(void *port, uint8_t unit, struct sim_unit_view *view);

#endif
