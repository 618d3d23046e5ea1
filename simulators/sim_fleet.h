/* sim_fleet.h -- every simulated device, grouped by listening port and unit id. */
#ifndef ENMON_SIM_FLEET_H
#define ENMON_SIM_FLEET_H

#include "sim_clock.h"
#include "sim_config.h"
#include "sim_device.h"

#include <stddef.h>
#include <stdint.h>

/* The devices answering on one TCP port (like an AMI data concentrator). */
struct sim_port {
    int port;
    int nunits;
    struct sim_device *units[SIM_UNIT_MAX + 1]; /* by unit id; NULL when absent */
    const struct sim_clock *clock;
};

struct sim_fleet {
    struct sim_clock clock;
    struct sim_device *devs;
    size_t ndevs;
    struct sim_port *ports; /* in order of first appearance in the configuration */
    size_t nports;
};

/* Builds the fleet of cfg; simulated time starts at start_s and runs at speed.
 * The fleet must not move in memory afterwards (ports point to its clock).
 * Returns ENMON_OK or ENMON_ERR_NOMEM. */
int sim_fleet_init(struct sim_fleet *f, const struct sim_config *cfg, uint64_t seed, double start_s,
                   double speed);
void sim_fleet_free(struct sim_fleet *f);

/* sim_mb_lookup for a struct sim_port: the current image of the unit's device. */
const struct sim_image *sim_fleet_lookup(void *port, uint8_t unit);

#endif
