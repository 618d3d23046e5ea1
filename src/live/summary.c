/* summary.c -- program summaries (power now, energy today, devices online, alerts): pure. */
#include "summary.h"

#include "payload.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

static void add_device(struct summary *s, const struct cfg_device *c, const struct live_dev *d,
                       int alerts)
{
    s->devices++;
    if (d->online)
        s->online++;
    else
        s->offline++;
    s->alerts_active += alerts;
    if (c->kind == DEVICE_SENSOR)
        return; /* a pole sensor measures no power or energy */
    int inverter = c->kind == DEVICE_INVERTER;
    if (inverter)
        s->produced_today_wh += d->today_export_wh;
    else
        s->consumed_today_wh += d->today_import_wh;
    if (!d->online || !d->has_last || !reading_has(&d->last, MEAS_POWER_W) ||
        !isfinite(d->last.value[MEAS_POWER_W]))
        return;
    if (inverter)
        s->produced_w += d->last.value[MEAS_POWER_W];
    else
        s->consumed_w += d->last.value[MEAS_POWER_W];
}

void summary_compute(const struct enmon_config *cfg, const struct live_dev *devs, const int *alerts,
                     struct summary *out)
{
    struct summary *city = &out[cfg->nprograms];
    memset(out, 0, (cfg->nprograms + 1) * sizeof(*out));
    for (size_t p = 0; p < cfg->nprograms; p++) {
        out[p].id = cfg->programs[p].id;
        out[p].name = cfg->programs[p].name[0] ? cfg->programs[p].name : cfg->programs[p].id;
        out[p].kind = config_program_kind_name(cfg->programs[p].kind);
    }
    city->id = city->name = city->kind = "city";
    for (size_t i = 0; i < cfg->ndevices; i++) {
        const struct cfg_device *c = &cfg->devices[i];
        int a = alerts ? alerts[i] : 0;
        if (c->program < cfg->nprograms)
            add_device(&out[c->program], c, &devs[i], a);
        add_device(city, c, &devs[i], a);
    }
    for (size_t p = 0; p <= cfg->nprograms; p++) {
        out[p].power_w = out[p].produced_w + out[p].consumed_w;
        out[p].energy_today_wh = out[p].produced_today_wh + out[p].consumed_today_wh;
    }
}

/* Appends ,"key":number (rounded to 0.1) to buf at *pos; -1 when it does not fit. */
static int put_num(char *buf, size_t len, size_t *pos, const char *key, double v)
{
    char num[64];
    if (payload_number(round(v * 10.0) / 10.0, num, sizeof(num)) < 0)
        snprintf(num, sizeof(num), "0");
    int n = snprintf(buf + *pos, len - *pos, ",\"%s\":%s", key, num);
    if (n < 0 || (size_t)n >= len - *pos)
        return -1;
    *pos += (size_t)n;
    return 0;
}

static int put_head(const struct summary *s, char *buf, size_t len, size_t *pos)
{
    char id[4 * CFG_ID_MAX], name[8 * CFG_NAME_MAX], kind[64];
    if (payload_json_string(s->id, id, sizeof(id)) < 0 ||
        payload_json_string(s->name, name, sizeof(name)) < 0 ||
        payload_json_string(s->kind, kind, sizeof(kind)) < 0)
        return -1;
    int n = snprintf(buf, len, "{\"program\":%s,\"name\":%s,\"kind\":%s", id, name, kind);
    if (n < 0 || (size_t)n >= len)
        return -1;
    *pos = (size_t)n;
    return 0;
}

int summary_json(const struct summary *s, int64_t ts_ms, char *buf, size_t len)
{
    size_t pos = 0;
    char ts[40];
    if (put_head(s, buf, len, &pos) < 0 || put_num(buf, len, &pos, "power_w", s->power_w) < 0 ||
        put_num(buf, len, &pos, "produced_w", s->produced_w) < 0 ||
        put_num(buf, len, &pos, "consumed_w", s->consumed_w) < 0 ||
        put_num(buf, len, &pos, "energy_today_wh", s->energy_today_wh) < 0 ||
        put_num(buf, len, &pos, "produced_today_wh", s->produced_today_wh) < 0 ||
        put_num(buf, len, &pos, "consumed_today_wh", s->consumed_today_wh) < 0 ||
        payload_utc_time(ts_ms, ts, sizeof(ts)) < 0)
        return -1;
    int n = snprintf(buf + pos, len - pos,
                     ",\"devices\":%d,\"online\":%d,\"offline\":%d,\"alerts_active\":%d,"
                     "\"ts\":\"%s\",\"ts_ms\":%lld}",
                     s->devices, s->online, s->offline, s->alerts_active, ts, (long long)ts_ms);
    if (n < 0 || (size_t)n >= len - pos)
        return -1;
    return (int)(pos + (size_t)n);
}
