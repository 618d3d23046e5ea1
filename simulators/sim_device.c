/* sim_device.c -- one simulated device: physics or fixed values, counters, register image. */
#include "sim_device.h"

#include "sim_map.h"
#include "sim_pole.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define SIM_VERSION "0.1.0"
#define PV_KWH_PER_KWP_YEAR 1250.0
#define INVERTER_PF 0.995
#define HOUSEHOLD_PF 0.96
#define STEP_S 60.0                /* integration step of the counters */
#define MAX_GAP_S (31.0 * 86400.0) /* longer gaps are integrated over their last month */
#define ST_SLEEPING 2
#define ST_MPPT 4

static double unit_rand(uint64_t key, uint64_t what)
{
    return sim_hash_unit(sim_hash2(key, what));
}

static void make_nameplate(struct sim_device *dev)
{
    const struct sim_device_cfg *c = &dev->cfg;
    struct sim_nameplate *np = &dev->np;
    int inv = c->kind == SIM_INVERTER;
    const char *prefix = inv ? "INV" : c->kind == SIM_SENSOR ? "POLE" : "MTR";
    memset(np, 0, sizeof *np);
    snprintf(np->mn, sizeof np->mn, "enmon-sim");
    if (c->kind == SIM_SENSOR)
        snprintf(np->md, sizeof np->md, "SIM-POLE");
    else if (!inv)
        snprintf(np->md, sizeof np->md, "SIM-MTR-%dP", c->phases);
    else if (c->capacity_w >= 1000.0)
        snprintf(np->md, sizeof np->md, "SIM-INV-%gK", c->capacity_w / 1000.0);
    else
        snprintf(np->md, sizeof np->md, "SIM-INV-%gW", c->capacity_w);
    snprintf(np->vr, sizeof np->vr, SIM_VERSION);
    if (c->serial[0])
        snprintf(np->sn, sizeof np->sn, "%s", c->serial);
    else if (c->rtu >= 0)
        snprintf(np->sn, sizeof np->sn, "%sRTU%d-%03d", prefix, c->rtu + 1, c->unit);
    else
        snprintf(np->sn, sizeof np->sn, "%s%d-%03d", prefix, c->port, c->unit);
    if (c->behind > 1) {
        size_t used = strlen(np->sn);
        size_t room = sizeof np->sn - 1 - used;
        char suffix[8];
        int n = snprintf(suffix, sizeof suffix, "-%d", c->behind);
        if (n > 0 && (size_t)n <= room)
            memcpy(np->sn + used, suffix, (size_t)n + 1);
    }
    np->da = (uint16_t)c->unit;
}

/* Peak magnitude of the device's power, for scale factors. */
static double peak_w(const struct sim_device_cfg *c)
{
    if (c->kind == SIM_INVERTER)
        return c->capacity_w * 1.1;
    double load = c->kwh_month * 1000.0 * 12.0 / 8760.0 * 6.0 + c->ess.power_kw * 1000.0;
    return (load > c->pv_capacity_w ? load : c->pv_capacity_w) * 1.2 + 100.0;
}

static void physics_scales(struct sim_device *dev)
{
    struct sim_scales *sf = &dev->sf;
    double pw = peak_w(&dev->cfg);
    double counters = dev->wh_imp > dev->wh_exp ? dev->wh_imp : dev->wh_exp;
    sf->w = sim_sunspec_fit_sf(pw, dev->cfg.kind == SIM_INVERTER ? -1 : 0, SIM_INT16_LIMIT);
    sf->va = sf->var = sf->dcw = sf->w;
    sf->a = sim_sunspec_fit_sf(pw / 190.0, -2, SIM_INT16_LIMIT);
    sf->dca = sim_sunspec_fit_sf(pw / 25.0, -2, SIM_INT16_LIMIT);
    sf->v = -1;
    sf->dcv = -1;
    sf->hz = -2;
    sf->pf = -1;
    sf->tmp = -1;
    sf->wh = sim_sunspec_fit_sf(counters * 4.0 + 1e6, 0, SIM_ACC32_LIMIT);
    sf->dcwh = sf->wh;
}

/* Scale factors that carry the fixed values exactly. */
static void fixed_scales(struct sim_device *dev)
{
    const struct sim_fixed *fx = &dev->cfg.fx;
    struct sim_scales *sf = &dev->sf;
    struct sim_values v;
    sim_device_values(dev, 0.0, &v);
    double wh[2] = {fx->energy_import_wh, fx->energy_export_wh};
    double pf = fx->power_factor * 100.0;
    sf->w = sim_sunspec_exact_sf(&fx->power_w, 1, SIM_INT16_LIMIT);
    sf->a = sim_sunspec_exact_sf(&fx->current_a, 1, SIM_INT16_LIMIT);
    /* line-to-line voltages (V x sqrt 3) share V_SF: leave them room */
    sf->v = sim_sunspec_exact_sf(&fx->voltage_v, 1, SIM_INT16_LIMIT / sqrt(3.0));
    sf->hz = sim_sunspec_exact_sf(&fx->frequency_hz, 1, SIM_INT16_LIMIT);
    sf->pf = sim_sunspec_exact_sf(&pf, 1, SIM_INT16_LIMIT);
    sf->tmp = sim_sunspec_exact_sf(&fx->temperature_c, 1, SIM_INT16_LIMIT);
    sf->wh = sim_sunspec_exact_sf(wh, 2, SIM_ACC32_LIMIT);
    sf->va = sim_sunspec_fit_sf(v.va, sf->w, SIM_INT16_LIMIT);
    sf->var = sim_sunspec_fit_sf(v.var, sf->w, SIM_INT16_LIMIT);
    sf->dcw = sim_sunspec_fit_sf(v.dc_w[0] * SIM_N_MPPT, sf->w, SIM_INT16_LIMIT);
    sf->dca = sim_sunspec_fit_sf(v.dc_a[0] * SIM_N_MPPT, -2, SIM_INT16_LIMIT);
    sf->dcv = -1;
    sf->dcwh = sim_sunspec_fit_sf(v.dc_wh[0] * 4.0 + 1e6, 0, SIM_ACC32_LIMIT);
}

/* Counters of a device that has been in service for some seeded years. */
static void initial_counters(struct sim_device *dev)
{
    const struct sim_device_cfg *c = &dev->cfg;
    double years = 0.5 + 5.5 * unit_rand(dev->key, 0xA6E);
    double pv_wh = c->capacity_w / 1000.0 * PV_KWH_PER_KWP_YEAR * years * 1000.0;
    if (c->kind == SIM_INVERTER) {
        dev->wh_imp = 0.0;
        dev->wh_exp = floor(pv_wh);
        for (int i = 0; i < SIM_N_MPPT; i++)
            dev->dc_wh[i] = floor(pv_wh / 0.965 / SIM_N_MPPT);
        return;
    }
    if (c->kind == SIM_SENSOR)
        return; /* no energy counters */
    dev->wh_imp = floor(c->kwh_month * 12.0 * (years + 1.0) * 1000.0);
    dev->wh_exp = floor(c->pv_capacity_w / 1000.0 * PV_KWH_PER_KWP_YEAR * years * 400.0);
}

/* Fixed values of logical device k > 1 behind a unit: power, energies and
 * current times k, voltage + (k - 1) V; the rest as configured. */
static void derive_behind(struct sim_device_cfg *c)
{
    int k = c->behind;
    if (k <= 1 || !c->fixed)
        return;
    c->fx.power_w *= k;
    c->fx.energy_import_wh *= k;
    c->fx.energy_export_wh *= k;
    c->fx.current_a *= k;
    c->fx.voltage_v += k - 1;
}

static int alloc_images(struct sim_device *dev)
{
    const struct sim_device_cfg *c = &dev->cfg;
    if (c->behind > 1)
        return 0;
    if (!c->map)
        return sim_image_alloc(&dev->img, SIM_IMAGE_MAX);
    if (sim_image_alloc(&dev->img, sim_map_extent(c->map, REGMAP_HOLDING)) < 0)
        return -1;
    return sim_image_alloc(&dev->input, sim_map_extent(c->map, REGMAP_INPUT));
}

void sim_device_free(struct sim_device *dev)
{
    sim_image_free(&dev->img);
    sim_image_free(&dev->input);
}

int sim_device_init(struct sim_device *dev, const struct sim_device_cfg *cfg, uint64_t seed,
                    uint32_t ordinal, uint32_t site, double now_s)
{
    memset(dev, 0, sizeof *dev);
    dev->cfg = *cfg;
    derive_behind(&dev->cfg);
    cfg = &dev->cfg;
    dev->key = sim_hash2(seed, 0xDE00000000ull + ordinal);
    dev->weather_key = sim_hash2(seed, 0x5EA7E1);
    dev->feeder_key = sim_hash2(dev->weather_key, site);
    int inv = cfg->kind == SIM_INVERTER;
    dev->pv = (struct sim_pv){
        .capacity_w = inv ? cfg->capacity_w : cfg->pv_capacity_w,
        .tilt_deg = cfg->tilt_deg,
        .azimuth_deg = cfg->azimuth_deg,
        .weather_key = dev->weather_key,
        .site_key = dev->feeder_key,
        .soiling = 0.96 + 0.04 * unit_rand(dev->key, 0x5011),
    };
    dev->home = (struct sim_household){
        .kwh_month = cfg->kwh_month,
        .led_retrofit = cfg->led_retrofit,
        .building = cfg->phases == 3,
        .shift_s = (unit_rand(dev->key, 0x5F1F7) - 0.5) * 3600.0,
        .key = dev->key,
    };
    make_nameplate(dev);
    dev->last_s = now_s;
    if (cfg->fixed) {
        dev->wh_imp = cfg->fx.energy_import_wh;
        dev->wh_exp = cfg->fx.energy_export_wh;
        for (int i = 0; i < SIM_N_MPPT; i++)
            dev->dc_wh[i] = floor(cfg->fx.energy_export_wh / 0.965 / SIM_N_MPPT);
        fixed_scales(dev);
    } else {
        initial_counters(dev);
        physics_scales(dev);
    }
    if (alloc_images(dev) < 0) {
        sim_device_free(dev);
        return -1;
    }
    return 0;
}

/* Splits AC/DC quantities derived from power and power factor. */
static void fill_ac(struct sim_values *v, double w, double pf)
{
    v->w = w;
    v->pf = pf;
    v->va = fabs(pf) > 0.01 ? fabs(w / pf) : fabs(w);
    v->var = sqrt(fmax(0.0, v->va * v->va - w * w));
}

static void fill_dc(struct sim_values *v, const struct sim_device *dev, double dc_w, double dc_v)
{
    static const double share[SIM_N_MPPT] = {0.52, 0.48};
    v->n_mppt = SIM_N_MPPT;
    for (int i = 0; i < SIM_N_MPPT; i++) {
        v->dc_w[i] = dc_w * share[i];
        v->dc_v[i] = dc_w > 0.0 ? dc_v : 0.0;
        v->dc_a[i] = dc_w > 0.0 && dc_v > 0.0 ? v->dc_w[i] / dc_v : 0.0;
        v->dc_wh[i] = dev->dc_wh[i];
    }
}

static double nominal_dc_v(const struct sim_device *dev)
{
    return dev->cfg.capacity_w < 1000.0 ? 32.0 : 380.0;
}

/* Share of the PV production delivered under the faults (output, zero, clouds). */
static double pv_factor(const struct sim_device *dev)
{
    return sim_fault_pv_factor(&dev->fault, dev->clouds ? *dev->clouds : 1.0);
}

/* Power of a fixed device under the faults: an inverter's scaled by the PV
 * factor, a meter's (its load) by the household and export faults. */
static double fixed_power_w(const struct sim_device *dev)
{
    double w = dev->cfg.fx.power_w;
    if (dev->cfg.kind == SIM_INVERTER)
        return w * pv_factor(dev);
    return sim_fault_meter_w(&dev->fault, sim_fault_load_w(&dev->fault, w));
}

static void fixed_values(const struct sim_device *dev, struct sim_values *v)
{
    const struct sim_fixed *fx = &dev->cfg.fx;
    double w = fixed_power_w(dev);
    fill_ac(v, w, fx->power_factor);
    v->v = fx->voltage_v;
    v->hz = fx->frequency_hz;
    sim_fault_grid(&dev->fault, v);
    if (w == fx->power_w)
        v->a = fx->current_a;
    else if (fx->power_w != 0.0)
        v->a = fx->current_a * fabs(w / fx->power_w);
    else
        v->a = fabs(w) / (v->v * (fabs(fx->power_factor) > 0.01 ? fabs(fx->power_factor) : 1.0));
    v->tmp_c = fx->temperature_c;
    v->st = fx->state;
    v->evt = fx->events;
    if (v->kind == SIM_INVERTER)
        fill_dc(v, dev, fmax(0.0, w) / 0.965, nominal_dc_v(dev));
}

static void inverter_values(const struct sim_device *dev, double t, struct sim_values *v)
{
    struct sim_pv_out out = sim_pv_output(&dev->pv, t);
    double k = pv_factor(dev);
    double ac_w = out.ac_w * k;
    double pf = ac_w > 0.0 ? INVERTER_PF : 1.0;
    fill_ac(v, ac_w, pf);
    v->a = ac_w / (v->v * pf);
    v->tmp_c = out.t_amb_c + 5.0 + 20.0 * ac_w / dev->cfg.capacity_w;
    v->st = ac_w > 0.0 ? ST_MPPT : ST_SLEEPING;
    double dc_v = nominal_dc_v(dev) * (1.0 - 0.0035 * (out.t_cell_c - 25.0));
    fill_dc(v, dev, out.dc_w * k, dc_v);
}

/* Site power of a meter: household demand minus rooftop production (+ import),
 * under the faults. */
static double meter_power_w(const struct sim_device *dev, double t)
{
    double load = dev->cfg.kwh_month > 0.0 ? sim_household_w(&dev->home, t) : 0.0;
    if (dev->cfg.feedback_saving > 0.0 && t >= (double)dev->cfg.feedback_from_s)
        load *= 1.0 - dev->cfg.feedback_saving; /* AMI feedback, as in the history */
    double pv = dev->pv.capacity_w > 0.0 ? sim_pv_output(&dev->pv, t).ac_w * pv_factor(dev) : 0.0;
    load += sim_ess_w(&dev->cfg.ess, t); /* 0 without a battery; < 0 while it discharges */
    return sim_fault_meter_w(&dev->fault, sim_fault_load_w(&dev->fault, load) - pv);
}

static void meter_values(const struct sim_device *dev, double t, struct sim_values *v)
{
    fill_ac(v, meter_power_w(dev, t), HOUSEHOLD_PF);
    v->a = fabs(v->w) / (v->v * HOUSEHOLD_PF);
}

/* A pole sensor: leakage, phase currents, enclosure temperature, tilt (sim_pole); its
 * status bits (door, tilt ...) come from the events fault. Never fixed. */
static void sensor_values(const struct sim_device *dev, double t, struct sim_values *v)
{
    struct sim_pole p;
    sim_pole_values(dev->key, dev->weather_key, dev->feeder_key, t, &dev->fault, &p);
    v->leak_ma = p.leak_ma;
    for (int i = 0; i < 3; i++)
        v->phase_a[i] = p.phase_a[i];
    v->tmp_c = p.tmp_c;
    v->tilt_deg = p.tilt_deg;
    v->v = sim_grid_voltage(dev->feeder_key, dev->key, t);
    v->hz = sim_grid_frequency(dev->weather_key, t);
    sim_fault_grid(&dev->fault, v);
}

void sim_device_values(const struct sim_device *dev, double t, struct sim_values *v)
{
    memset(v, 0, sizeof *v);
    v->kind = dev->cfg.kind;
    v->phases = dev->cfg.phases;
    v->wh_imp = dev->wh_imp;
    v->wh_exp = dev->wh_exp;
    if (dev->cfg.kind == SIM_SENSOR) {
        sensor_values(dev, t, v);
    } else if (dev->cfg.fixed) {
        fixed_values(dev, v);
    } else {
        v->v = sim_grid_voltage(dev->feeder_key, dev->key, t);
        v->hz = sim_grid_frequency(dev->weather_key, t);
        sim_fault_grid(&dev->fault, v);
        if (dev->cfg.kind == SIM_INVERTER)
            inverter_values(dev, t, v);
        else
            meter_values(dev, t, v);
    }
    int daylight = (dev->fault.active & SIM_FAULT_ZERO) &&
                   sim_sun_position(SIM_LAT_DEG, SIM_LON_DEG, t).elevation_deg > 0.0;
    sim_fault_status(&dev->fault, daylight, v);
}

static void integrate_step(struct sim_device *dev, double t_mid, double h)
{
    double hours = h / 3600.0;
    if (dev->cfg.kind == SIM_SENSOR)
        return;
    if (dev->cfg.kind == SIM_INVERTER) {
        struct sim_pv_out out = sim_pv_output(&dev->pv, t_mid);
        double k = pv_factor(dev);
        dev->wh_exp += out.ac_w * k * hours;
        dev->dc_wh[0] += out.dc_w * k * 0.52 * hours;
        dev->dc_wh[1] += out.dc_w * k * 0.48 * hours;
        return;
    }
    double w = meter_power_w(dev, t_mid);
    if (w >= 0.0)
        dev->wh_imp += w * hours;
    else
        dev->wh_exp -= w * hours;
}

/* Fixed counters stand still, except the export counter of an export fault. */
static void fixed_advance(struct sim_device *dev, double now_s)
{
    if (dev->fault.active & SIM_FAULT_EXPORT)
        dev->wh_exp += dev->fault.export_w * (now_s - dev->last_s) / 3600.0;
    dev->last_s = now_s;
}

void sim_device_advance(struct sim_device *dev, double now_s)
{
    if (now_s <= dev->last_s)
        return;
    if (!sim_fault_counting(&dev->fault)) {
        dev->last_s = now_s;
        return;
    }
    if (dev->cfg.fixed) {
        fixed_advance(dev, now_s);
        return;
    }
    double from = now_s - dev->last_s > MAX_GAP_S ? now_s - MAX_GAP_S : dev->last_s;
    double span = now_s - from;
    int steps = (int)ceil(span / STEP_S);
    double h = span / steps;
    for (int i = 0; i < steps; i++)
        integrate_step(dev, from + (i + 0.5) * h, h);
    dev->last_s = now_s;
}

/* The SunSpec chain of dev and the devices behind it. */
static int build_sunspec(struct sim_device *dev, double now_s)
{
    struct sim_values v[SIM_BEHIND_MAX];
    struct sim_sunspec_part parts[SIM_BEHIND_MAX];
    int n = 0;
    for (struct sim_device *d = dev; d && n < SIM_BEHIND_MAX; d = d->next_behind, n++) {
        sim_device_advance(d, now_s);
        sim_device_values(d, now_s, &v[n]);
        parts[n] = (struct sim_sunspec_part){.np = &d->np,
                                             .val = &v[n],
                                             .sf = &d->sf,
                                             .model = (uint16_t)d->cfg.model,
                                             .legacy_common = d->cfg.legacy_common};
    }
    return sim_sunspec_build(&dev->img, dev->cfg.sunspec_base, parts, n);
}

static void build_map(struct sim_device *dev, double now_s)
{
    struct sim_values v;
    sim_device_advance(dev, now_s);
    sim_device_values(dev, now_s, &v);
    sim_map_build(&dev->img, &dev->input, dev->cfg.map, &v, dev->np.sn);
}

void sim_device_counter(struct sim_device *dev, enum sim_counter_op op, double wh)
{
    struct sim_counters c = {.wh_imp = dev->wh_imp,
                             .wh_exp = dev->wh_exp,
                             .n_mppt = dev->cfg.kind == SIM_INVERTER ? SIM_N_MPPT : 0};
    for (int i = 0; i < c.n_mppt; i++)
        c.dc_wh[i] = dev->dc_wh[i];
    sim_fault_counter(&dev->fault, op, wh, &c);
    dev->wh_imp = c.wh_imp;
    dev->wh_exp = c.wh_exp;
    for (int i = 0; i < c.n_mppt; i++)
        dev->dc_wh[i] = c.dc_wh[i];
    dev->built = 0;
}

/* 1 when the unit's images change with time (physics, or faults of fixed devices). */
static int timed(const struct sim_device *dev)
{
    for (const struct sim_device *d = dev; d; d = d->next_behind) {
        if (!d->cfg.fixed || d->cfg.kind == SIM_SENSOR || sim_fault_timed(&d->fault))
            return 1;
    }
    return 0;
}

static void comm_faults(const struct sim_device *dev, struct sim_unit_view *view)
{
    const struct sim_fault *f = &dev->fault;
    if (f->active & SIM_FAULT_DROP)
        view->silent = 1;
    if (f->active & SIM_FAULT_DELAY)
        view->delay_ms = f->delay_ms;
    if (f->active & SIM_FAULT_EXCEPTION)
        view->exception = f->exception;
    view->garbage = (f->active & SIM_FAULT_GARBAGE) != 0;
}

/* Integrates d's counters up to the refresh instant t one tick at a time, so their
 * values at t do not depend on which refreshes between were read (the steps of
 * sim_device_advance() follow from where each span starts and ends). */
static void advance_ticks(struct sim_device *d, double t)
{
    while (d->last_s < t) {
        double next = sim_tick_next(&d->tick, d->last_s);
        sim_device_advance(d, next < t ? next : t);
    }
}

int sim_device_view(struct sim_device *dev, double now_s, struct sim_unit_view *view)
{
    int ticked = dev->tick.every_s > 0.0;
    if (ticked)
        now_s = sim_tick_floor(&dev->tick, now_s);
    int fresh = dev->built && (!timed(dev) ||
                               (ticked ? now_s == dev->built_s : fabs(now_s - dev->built_s) < 1.0));
    if (!fresh && ticked) {
        for (struct sim_device *d = dev; d; d = d->next_behind)
            advance_ticks(d, now_s);
    }
    if (!fresh) {
        if (dev->cfg.map)
            build_map(dev, now_s);
        else if (build_sunspec(dev, now_s) < 0)
            return -1;
        dev->built = 1;
        dev->built_s = now_s;
    }
    *view = (struct sim_unit_view){.holding = &dev->img,
                                   .input = dev->cfg.map ? &dev->input : &dev->img,
                                   .silent = dev->cfg.silent,
                                   .delay_ms = (unsigned)dev->cfg.delay_ms};
    comm_faults(dev, view);
    return 0;
}
