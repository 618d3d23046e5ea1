/* poll_device.c -- polls one device over its link into a reading: SunSpec or a register map. */
#include "poll_device.h"
#include "clock.h"
#include "err.h"
#include "log.h"

#include <stdio.h>
#include <stdlib.h>

#define BUSY_RETRIES 3    /* extra tries after Modbus exception 6 (busy) */
#define BUSY_PAUSE_MS 200 /* least pause before such a retry */

/* One poll of one device: the read callback's context. */
struct read_ctx {
    struct link *link;
    const struct cfg_device *dev;
    int requests; /* sent in this poll, for the pause between requests */
    int failed;   /* of them, how many got no proper answer */
};

static void pause_ms(int ms)
{
    if (ms > 0)
        clock_sleep_until_ms(clock_mono_ms() + ms);
}

/* One read with the device's retries; exception 6 (busy) gets its own retries after a pause. */
static int read_kind(struct read_ctx *c, enum link_regs kind, uint16_t addr, uint16_t count,
                     uint16_t *dest)
{
    int rc = ENMON_ERR_TIMEOUT;
    int busy = 0;
    for (int attempt = 0; attempt <= c->dev->retries + busy; attempt++) {
        if (c->requests++ > 0)
            pause_ms(c->dev->pause_ms);
        rc = link_read(c->link, c->dev->unit, kind, addr, count, dest, c->dev->timeout_ms);
        c->failed += rc != ENMON_OK && rc != ENMON_ERR_BUSY && rc != ENMON_ERR_REJECTED;
        if (rc == ENMON_ERR_BUSY && busy < BUSY_RETRIES) {
            busy++;
            if (c->dev->pause_ms < BUSY_PAUSE_MS) /* the retry's own pause covers the rest */
                pause_ms(BUSY_PAUSE_MS - c->dev->pause_ms);
            continue;
        }
        if (rc == ENMON_OK || rc == ENMON_ERR_CONNECT || rc == ENMON_ERR_REJECTED)
            break;
    }
    return rc;
}

static int read_registers(void *vctx, uint16_t addr, uint16_t count, uint16_t *dest)
{
    return read_kind(vctx, LINK_HOLDING, addr, count, dest);
}

/* ---- register-map devices ---- */

static int map_plan(struct poll_device *d)
{
    const struct regmap *m = d->cfg->map;
    d->npoints = regmap_plan_size(m);
    d->cap_reqs = d->npoints + 1;
    d->points = calloc(d->npoints + 1, sizeof(*d->points));
    d->reqs = calloc(d->cap_reqs, sizeof(*d->reqs));
    d->blocks = calloc(d->cap_reqs, sizeof(*d->blocks));
    if (!d->points || !d->reqs || !d->blocks || regmap_plan_points(m, d->points, d->npoints) < 0)
        return ENMON_ERR_NOMEM;
    int n = reqplan_build(d->points, d->npoints, d->cfg->max_regs, d->cfg->max_gap, d->reqs,
                          d->cap_reqs);
    if (n < 0)
        return ENMON_ERR_CONFIG;
    d->nreqs = (size_t)n;
    return ENMON_OK;
}

/* The device refused request i: plan it as smaller reads from now on (or drop an
 * unreadable range, whose points then stay invalid). Returns ENMON_OK to go on. */
static int map_split(struct poll_device *d, size_t i)
{
    struct reqplan_req parts[64];
    struct reqplan_req failed = d->reqs[i];
    int n = reqplan_split(d->points, d->npoints, &failed, parts, 64);
    if (n < 0)
        return ENMON_ERR_REJECTED;
    int total = reqplan_replace(d->reqs, d->nreqs, d->cap_reqs, i, parts, (size_t)n);
    if (total < 0)
        return ENMON_ERR_REJECTED;
    d->nreqs = (size_t)total;
    log_warn("device %s: registers %u..%u (%s) rejected; %s", d->cfg->id, failed.start,
             failed.start + failed.count - 1, failed.kind == REGMAP_INPUT ? "input" : "holding",
             n ? "reading them in smaller parts from now on" : "their points stay invalid");
    return ENMON_OK;
}

static int map_poll(struct poll_device *d, struct read_ctx *rc, uint16_t *block,
                    struct reading *r)
{
    size_t off = 0;
    for (size_t i = 0; i < d->nreqs;) {
        struct reqplan_req *q = &d->reqs[i];
        if (off + q->count > POLL_DEVICE_BLOCK_WORDS)
            return ENMON_ERR_RANGE;
        enum link_regs kind = q->kind == REGMAP_INPUT ? LINK_INPUT : LINK_HOLDING;
        int err = read_kind(rc, kind, q->start, q->count, block + off);
        if (err == ENMON_ERR_REJECTED) {
            if (map_split(d, i) != ENMON_OK)
                return err;
            continue; /* request i is now the first part of the split */
        }
        if (err != ENMON_OK)
            return err;
        d->blocks[i] = (struct regmap_block){q->kind, q->start, q->count, block + off};
        off += q->count;
        i++;
    }
    if (d->nreqs == 0)
        return ENMON_ERR_REJECTED;
    int bad = regmap_decode(d->cfg->map, d->blocks, d->nreqs, r);
    r->quality = bad ? READING_PARTIAL : READING_OK;
    return ENMON_OK;
}

/* ---- SunSpec devices ---- */

static int sunspec_device_discover(struct poll_device *d, struct read_ctx *rc, uint16_t *block,
                                   poll_device_ident_fn ident, void *ctx)
{
    struct sunspec_chain chain;
    int err = sunspec_discover(read_registers, rc, d->cfg->sunspec_base, &chain);
    if (err == ENMON_OK)
        err = sunspec_plan_build_nth(&chain, d->cfg->sunspec_device, &d->plan);
    if (err != ENMON_OK)
        return err;
    if (d->cfg->pf_percent)
        sunspec_plan_pf_percent(&d->plan);
    struct sunspec_common info = {0};
    if (d->plan.common.id == 1 &&
        sunspec_read_model(read_registers, rc, &d->plan.common, block) == ENMON_OK)
        sunspec_common_decode(block, (size_t)d->plan.common.len + 2, &info);
    char models[160] = "";
    size_t n = 0;
    for (int i = 0; i < chain.nmodels && n < sizeof(models) - 8; i++)
        n += (size_t)snprintf(models + n, sizeof(models) - n, " %u", chain.models[i].id);
    log_info("device %s: SunSpec at %u, models%s; %s %s serial %s", d->cfg->id, chain.base, models,
             info.manufacturer, info.model, info.serial);
    if (ident && info.manufacturer[0])
        ident(ctx, d->index, &info);
    d->discovered = 1;
    return ENMON_OK;
}

static int sunspec_device_poll(struct poll_device *d, struct read_ctx *rc, uint16_t *block,
                               struct reading *r, poll_device_ident_fn ident, void *ctx)
{
    int err = ENMON_OK;
    if (!d->discovered)
        err = sunspec_device_discover(d, rc, block, ident, ctx);
    if (err == ENMON_OK)
        err = sunspec_read_model(read_registers, rc, &d->plan.main, block);
    if (err == ENMON_OK)
        sunspec_plan_decode(&d->plan, block, (size_t)d->plan.main.len + 2, r);
    if (err == ENMON_OK && d->plan.mppt.id == 160) {
        /* DC inputs: their block follows the main one in the caller's buffer */
        uint16_t *dc = block + d->plan.main.len + 2;
        err = sunspec_read_model(read_registers, rc, &d->plan.mppt, dc);
        if (err == ENMON_OK)
            sunspec_mppt_decode(dc, (size_t)d->plan.mppt.len + 2, r);
    }
    if (err == ENMON_ERR_REJECTED)
        d->discovered = 0; /* the model moved (device replaced?): walk the chain again */
    return err;
}

/* ---- one device ---- */

int poll_device_init(struct poll_device *d, const struct cfg_device *cfg, uint32_t index)
{
    *d = (struct poll_device){.cfg = cfg, .index = index};
    return cfg->map ? map_plan(d) : ENMON_OK;
}

void poll_device_free(struct poll_device *d)
{
    free(d->points);
    free(d->reqs);
    free(d->blocks);
    d->points = NULL;
    d->reqs = NULL;
    d->blocks = NULL;
}

int poll_device_read(struct poll_device *d, struct link *link, uint16_t *block,
                     struct reading *r, poll_device_ident_fn ident, void *ctx)
{
    struct read_ctx rc = {.link = link, .dev = d->cfg};
    int err = d->cfg->map ? map_poll(d, &rc, block, r)
                          : sunspec_device_poll(d, &rc, block, r, ident, ctx);
    d->failed_requests = rc.failed;
    return err;
}
