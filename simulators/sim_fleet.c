/* sim_fleet.c -- every simulated device, grouped by listening port and unit id. */
#include "sim_fleet.h"

#include "clock.h"
#include "err.h"
#include "log.h"

#include <stdlib.h>
#include <string.h>

/* The bus entry (TCP port, or RTU bus when rtu >= 0), added when new; NULL when
 * out of memory. The ports array may move while the fleet is built (nothing
 * points into it yet). */
static struct sim_port *port_of(struct sim_fleet *f, const struct sim_config *cfg, int port,
                                int rtu)
{
    for (size_t i = 0; i < f->nports; i++) {
        if (rtu >= 0 ? f->ports[i].rtu == rtu : f->ports[i].port == port)
            return &f->ports[i];
    }
    struct sim_port *grown = realloc(f->ports, (f->nports + 1) * sizeof *f->ports);
    if (!grown)
        return NULL;
    f->ports = grown;
    struct sim_port *p = &f->ports[f->nports++];
    memset(p, 0, sizeof *p);
    p->port = rtu >= 0 ? 0 : port;
    p->rtu = rtu;
    p->path = rtu >= 0 ? cfg->rtus[rtu].path : NULL;
    return p;
}

static size_t logical_devices(const struct sim_config *cfg)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->ndevs; i++)
        n += cfg->devs[i].devices_behind > 1 ? (size_t)cfg->devs[i].devices_behind : 1;
    return n;
}

/* The devices of one configured unit: k = 1..devices_behind, chained. Logical
 * device k > 1 is keyed as ordinal + (k - 1) << 24, so the first keeps the
 * randomness it has without devices behind it. */
static int init_unit(struct sim_fleet *f, const struct sim_device_cfg *dc, uint64_t seed,
                     uint32_t ordinal, uint32_t site, double start_s)
{
    int n = dc->devices_behind > 1 ? dc->devices_behind : 1;
    for (int k = 1; k <= n; k++) {
        struct sim_device_cfg c = *dc;
        c.behind = k;
        struct sim_device *dev = &f->devs[f->ndevs];
        if (sim_device_init(dev, &c, seed, ordinal + ((uint32_t)(k - 1) << 24), site, start_s) < 0)
            return -1;
        f->ndevs++;
        if (k > 1)
            dev[-1].next_behind = dev;
    }
    return 0;
}

int sim_fleet_init(struct sim_fleet *f, const struct sim_config *cfg, uint64_t seed, double start_s)
{
    memset(f, 0, sizeof *f);
    size_t total = logical_devices(cfg);
    f->devs = calloc(total ? total : 1, sizeof *f->devs);
    if (!f->devs)
        return ENMON_ERR_NOMEM;
    for (size_t i = 0; i < cfg->ndevs; i++) {
        const struct sim_device_cfg *dc = &cfg->devs[i];
        struct sim_port *p = port_of(f, cfg, dc->port, dc->rtu);
        struct sim_device *first = &f->devs[f->ndevs];
        if (!p || init_unit(f, dc, seed, (uint32_t)i, (uint32_t)(p - f->ports), start_s) < 0) {
            sim_fleet_free(f);
            return ENMON_ERR_NOMEM;
        }
        p->units[dc->unit] = first;
        p->nunits++;
    }
    for (size_t r = 0; r < cfg->nrtus; r++) { /* buses without devices too (after the others) */
        if (!port_of(f, cfg, 0, (int)r)) {
            sim_fleet_free(f);
            return ENMON_ERR_NOMEM;
        }
    }
    f->nunits = cfg->ndevs;
    f->clouds = 1.0;
    for (size_t i = 0; i < f->ndevs; i++)
        f->devs[i].clouds = &f->clouds;
    return ENMON_OK;
}

void sim_fleet_free(struct sim_fleet *f)
{
    for (size_t i = 0; f->devs && i < f->ndevs; i++)
        sim_device_free(&f->devs[i]);
    free(f->devs);
    free(f->ports);
    f->devs = NULL;
    f->ports = NULL;
    f->ndevs = f->nports = f->nunits = 0;
}

void sim_fleet_set_tick(struct sim_fleet *f, const struct sim_tick *tick)
{
    for (size_t i = 0; i < f->ndevs; i++) {
        f->devs[i].tick = *tick;
        f->devs[i].built = 0;
    }
}

double sim_fleet_now(void)
{
    return (double)clock_wall_ms() / 1000.0;
}

int sim_fleet_lookup(void *ctx, uint8_t unit, struct sim_unit_view *view)
{
    static struct log_limit limit;
    struct sim_port *p = ctx;
    if (unit > SIM_UNIT_MAX || !p->units[unit])
        return -1;
    if (sim_device_view(p->units[unit], sim_fleet_now(), view) == 0)
        return 0;
    log_limited(&limit, 10, LOG_ERR, "%s %d unit %u: cannot build the register image",
                p->rtu >= 0 ? "rtu bus" : "port", p->rtu >= 0 ? p->rtu + 1 : p->port, unit);
    return -1;
}
