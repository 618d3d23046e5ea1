/* summary.h -- program summaries (power now, energy today, devices online, alerts): pure. */
#ifndef ENMON_SUMMARY_H
#define ENMON_SUMMARY_H

#include "config.h"
#include "live.h"

#include <stddef.h>
#include <stdint.h>

/* One program, or the whole city. Inverters count as production (power_w, and the
 * energy_export_wh of the day), meters as consumption (net import power, and the
 * energy_import_wh of the day); power_w and energy_today_wh are the sums of both. */
struct summary {
    const char *id;   /* program id, or "city" */
    const char *name; /* program name, or "city" */
    const char *kind; /* program kind, or "city" */
    double produced_w, consumed_w, power_w;
    double produced_today_wh, consumed_today_wh, energy_today_wh;
    int devices, online, offline, alerts_active;
};

/* Fills out[0 .. cfg->nprograms - 1] with the programs and out[cfg->nprograms] with the
 * city, from devs (cfg->ndevices entries) and alerts (active alerts per device, may be
 * NULL). Only online devices with a valid power value count towards power. */
void summary_compute(const struct enmon_config *cfg, const struct live_dev *devs, const int *alerts,
                     struct summary *out);

/* {"program":...,"name":...,"kind":...,"power_w":...,"produced_w":...,"consumed_w":...,
 * "energy_today_wh":...,"produced_today_wh":...,"consumed_today_wh":...,"devices":N,
 * "online":N,"offline":N,"alerts_active":N,"ts":"...","ts_ms":N}. Returns the length, or
 * -1 when buf is too small. */
int summary_json(const struct summary *s, int64_t ts_ms, char *buf, size_t len);

#endif
