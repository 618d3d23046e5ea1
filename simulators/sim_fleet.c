/* sim_fleet.c -- every simulated device, grouped by listening port and unit id. */
#include "sim_fleet.h"

#include "err.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* The port's entry, added when new; NULL when out of memory. The ports array
 * may move while the fleet is built (nothing points into it yet). */
static struct sim_port *port_of(struct sim_fleet *f, int port)
{
    for (size_t i = 0; i < f->nports; i++) {
        if (f->ports[i].port == port)
            return &f->ports[i];
    }
    struct sim_port *grown = realloc(f->ports, (f->nports + 1) * sizeof *f->ports);
    if (!grown)
        return NULL;
    f->ports = grown;
    struct sim_port *p = &f->ports[f->nports++];
    memset(p, 0, sizeof *p);
    p->port = port;
    p->clock = &f->clock;
    return p;
}

int sim_fleet_init(struct sim_fleet *f, const struct sim_config *cfg, uint64_t seed, double start_s,
                   double speed)
{
    memset(f, 0, sizeof *f);
    sim_clock_init(&f->clock, start_s, speed);
    f->devs = calloc(cfg->ndevs ? cfg->ndevs : 1, sizeof *f->devs);
    if (!f->devs)
        return ENMON_ERR_NOMEM;
    for (size_t i = 0; i < cfg->ndevs; i++) {
        const struct sim_device_cfg *dc = &cfg->devs[i];
        struct sim_port *p = port_of(f, dc->port);
        if (!p) {
            sim_fleet_free(f);
            return ENMON_ERR_NOMEM;
        }
        sim_device_init(&f->devs[i], dc, seed, (uint32_t)i, (uint32_t)(p - f->ports), start_s);
        p->units[dc->unit] = &f->devs[i];
        p->nunits++;
    }
    f->ndevs = cfg->ndevs;
    return ENMON_OK;
}

void sim_fleet_free(struct sim_fleet *f)
{
    free(f->devs);
    free(f->ports);
    f->devs = NULL;
    f->ports = NULL;
    f->ndevs = f->nports = 0;
}

const struct sim_image *sim_fleet_lookup(void *ctx, uint8_t unit)
{
    static struct log_limit limit;
    struct sim_port *p = ctx;
    if (unit > SIM_UNIT_MAX || !p->units[unit])
        return NULL;
    const struct sim_image *img = sim_device_image(p->units[unit], sim_clock_now(p->clock));
    if (!img)
        log_limited(&limit, 10, LOG_ERR, "port %d unit %u: cannot build the SunSpec image", p->port,
                    unit);
    return img;
}
