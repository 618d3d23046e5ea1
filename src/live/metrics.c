/* metrics.c -- Prometheus text format (0.0.4) from enmond's statistics and the live table: pure. */
#include "metrics.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#ifndef ENMON_VERSION
#define ENMON_VERSION "unknown"
#endif
#ifndef ENMON_COMMIT
#define ENMON_COMMIT "unknown"
#endif

#define METRICS_BUF_MIN (64 * 1024)
#define J_PER_WH 3600.0 /* energy is exposed in joules, the base unit (docs/HTTP.md) */
#define DEVICE_KINDS 3  /* enum device_kind: inverter, meter, sensor */

int metrics_escape(const char *s, char *buf, size_t len)
{
    size_t o = 0;
    for (; *s; s++) {
        const char *rep = *s == '\\' ? "\\\\" : *s == '"' ? "\\\"" : *s == '\n' ? "\\n" : NULL;
        size_t n = rep ? 2 : 1;
        if (o + n >= len)
            return -1;
        if (rep)
            memcpy(buf + o, rep, 2);
        else
            buf[o] = *s;
        o += n;
    }
    if (o >= len)
        return -1;
    buf[o] = '\0';
    return (int)o;
}

/* ---- the buffer ---------------------------------------------------------------------- */

/* Room for n more bytes; 0, or -1 (b->failed) when memory ran out. */
static int reserve(struct metrics_buf *b, size_t n)
{
    if (b->failed)
        return -1;
    if (b->len + n <= b->cap)
        return 0;
    size_t cap = b->cap < METRICS_BUF_MIN ? METRICS_BUF_MIN : b->cap;
    while (cap < b->len + n)
        cap *= 2;
    char *p = realloc(b->data, cap);
    if (!p) {
        b->failed = 1;
        return -1;
    }
    b->data = p;
    b->cap = cap;
    return 0;
}

static void put(struct metrics_buf *b, const char *s, size_t n)
{
    if (reserve(b, n) == 0) {
        memcpy(b->data + b->len, s, n);
        b->len += n;
    }
}

static void put_str(struct metrics_buf *b, const char *s)
{
    put(b, s, strlen(s));
}

/* A label value, escaped as metrics_escape does. */
static void put_escaped(struct metrics_buf *b, const char *s)
{
    size_t n = strlen(s);
    if (reserve(b, 2 * n) != 0)
        return;
    char *o = b->data + b->len;
    for (size_t i = 0; i < n; i++) {
        char c = s[i];
        if (c == '\\' || c == '"' || c == '\n') {
            *o++ = '\\';
            *o++ = c == '\n' ? 'n' : c;
        } else {
            *o++ = c;
        }
    }
    b->len = (size_t)(o - b->data);
}

/* An integer in decimal, without snprintf. */
static void put_int(struct metrics_buf *b, int64_t v)
{
    char tmp[24];
    size_t i = sizeof(tmp);
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    do {
        tmp[--i] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        tmp[--i] = '-';
    put(b, tmp + i, sizeof(tmp) - i);
}

/* A value as Prometheus writes floats: integral ones without exponent, others in the fewest
 * digits (15 to 17) that read back exactly. */
static void put_value(struct metrics_buf *b, double v)
{
    char tmp[40];
    if (isnan(v))
        put_str(b, "NaN");
    else if (isinf(v))
        put_str(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        put_int(b, (int64_t)v);
    else { /* the shortest of 15..17 digits that reads back as v: 1781974800.123, not ...1229999 */
        int n = 0;
        for (int digits = 15; digits <= 17; digits++) {
            n = snprintf(tmp, sizeof(tmp), "%.*g", digits, v);
            if (strtod(tmp, NULL) == v)
                break;
        }
        put(b, tmp, (size_t)n);
    }
}

static void family(struct metrics_buf *b, const char *name, const char *type, const char *help)
{
    put_str(b, "# HELP ");
    put_str(b, name);
    put(b, " ", 1);
    put_str(b, help);
    put_str(b, "\n# TYPE ");
    put_str(b, name);
    put(b, " ", 1);
    put_str(b, type);
    put(b, "\n", 1);
}

/* name[labels] value: labels is "" or "{...}" already escaped. */
static void sample(struct metrics_buf *b, const char *name, const char *labels, double v)
{
    put_str(b, name);
    put_str(b, labels);
    put(b, " ", 1);
    put_value(b, v);
    put(b, "\n", 1);
}

/* ---- device series ------------------------------------------------------------------- */

static void device_sample(struct metrics_buf *b, const struct enmon_config *cfg, size_t i,
                          const char *name, double v)
{
    const struct cfg_device *d = &cfg->devices[i];
    put_str(b, name);
    put_str(b, "{device=\"");
    put_escaped(b, d->id);
    put_str(b, "\",program=\"");
    put_escaped(b, d->program < cfg->nprograms ? cfg->programs[d->program].id : "");
    put_str(b, "\",site=\"");
    put_escaped(b, d->site < cfg->nsites ? cfg->sites[d->site].id : "");
    put_str(b, "\",kind=\"");
    put_str(b, config_device_kind_name(d->kind));
    put_str(b, "\"} ");
    put_value(b, v);
    put(b, "\n", 1);
}

/* The value of measurement m in device d's last reading, if it has a finite one. */
static int last_value(const struct live_dev *d, int m, double *v)
{
    if (!d->has_last || !reading_has(&d->last, (enum meas)m) || !isfinite(d->last.value[m]))
        return 0;
    *v = d->last.value[m];
    return 1;
}

/* A gauge of the last reading is only shown while its device is online: an offline device's
 * power is not known now, and a stale value would read as current. */
static int gauge_value(const struct live_dev *d, int m, double *v)
{
    return d->online && last_value(d, m, v);
}

/* One device family: every device whose last reading carries m (m < 0: availability);
 * gauges only for devices online; counters (the lifetime registers) times scale. */
static void device_family(struct metrics_buf *b, const struct metrics_input *in, const char *name,
                          const char *type, const char *help, int m, double scale)
{
    int gauge = strcmp(type, "gauge") == 0;
    family(b, name, type, help);
    for (size_t i = 0; i < in->cfg->ndevices && !b->failed; i++) {
        double v = in->devs[i].online ? 1 : 0;
        if (m < 0 || (gauge ? gauge_value(&in->devs[i], m, &v) : last_value(&in->devs[i], m, &v)))
            device_sample(b, in->cfg, i, name, v * scale);
    }
}

static void devices(struct metrics_buf *b, const struct metrics_input *in)
{
    device_family(b, in, "enmon_device_up", "gauge",
                  "1 when the device answered its latest polls, 0 when offline or never reached",
                  -1, 1);
    device_family(b, in, "enmon_device_power_watts", "gauge",
                  "AC power of the last good reading of an online device (inverters produce, "
                  "meters import)",
                  MEAS_POWER_W, 1);
    device_family(b, in, "enmon_device_energy_import_joules_total", "counter",
                  "lifetime energy imported from the grid, J (device register, 3600 J = 1 Wh)",
                  MEAS_ENERGY_IMPORT_WH, J_PER_WH);
    device_family(b, in, "enmon_device_energy_export_joules_total", "counter",
                  "lifetime energy exported or produced, J (device register, 3600 J = 1 Wh)",
                  MEAS_ENERGY_EXPORT_WH, J_PER_WH);
    device_family(b, in, "enmon_device_leakage_milliamperes", "gauge",
                  "residual (leakage) current of the last good reading of an online device, mA "
                  "(pole sensors)",
                  MEAS_LEAKAGE_MA, 1);
    family(b, "enmon_device_last_seen_timestamp_seconds", "gauge",
           "time of the device's last successful poll, Unix seconds (none before the first)");
    for (size_t i = 0; i < in->cfg->ndevices && !b->failed; i++)
        if (in->devs[i].last_seen_ms > 0)
            device_sample(b, in->cfg, i, "enmon_device_last_seen_timestamp_seconds",
                          (double)in->devs[i].last_seen_ms / 1000.0);
}

/* ---- per-program aggregates ---------------------------------------------------------- */

/* One (program, device kind) group. */
struct group {
    double devices, online, failing, reporting, power_w, import_j, export_j, polls, failures;
    int has_import, has_export; /* some device's last reading had the counter */
};

enum agg_field {
    AGG_DEVICES,
    AGG_ONLINE,
    AGG_FAILING,
    AGG_REPORTING,
    AGG_POWER,
    AGG_IMPORT,
    AGG_EXPORT,
    AGG_POLLS,
    AGG_FAILURES
};

/* Field f of g into *v; 0 for a sum no device contributed to (no series, never a 0). */
static int group_field(const struct group *g, enum agg_field f, double *v)
{
    switch (f) {
    case AGG_DEVICES:
        *v = g->devices;
        return 1;
    case AGG_ONLINE:
        *v = g->online;
        return 1;
    case AGG_FAILING:
        *v = g->failing;
        return 1;
    case AGG_REPORTING:
        *v = g->reporting;
        return 1;
    case AGG_POWER:
        *v = g->power_w;
        return g->reporting > 0;
    case AGG_IMPORT:
        *v = g->import_j;
        return g->has_import;
    case AGG_EXPORT:
        *v = g->export_j;
        return g->has_export;
    case AGG_POLLS:
        *v = g->polls;
        return 1;
    case AGG_FAILURES:
        *v = g->failures;
        return 1;
    }
    return 0;
}

static void group_add(struct group *g, const struct live_dev *d)
{
    double v;
    g->devices += 1;
    g->online += d->online ? 1 : 0;
    g->failing += d->polled && !d->online ? 1 : 0;
    g->polls += (double)d->polls;
    g->failures += (double)d->failures;
    if (gauge_value(d, MEAS_POWER_W, &v)) {
        g->reporting += 1;
        g->power_w += v;
    }
    if (last_value(d, MEAS_ENERGY_IMPORT_WH, &v)) {
        g->import_j += v * J_PER_WH;
        g->has_import = 1;
    }
    if (last_value(d, MEAS_ENERGY_EXPORT_WH, &v)) {
        g->export_j += v * J_PER_WH;
        g->has_export = 1;
    }
}

static void program_family(struct metrics_buf *b, const struct metrics_input *in,
                           const struct group *g, const char *name, const char *type,
                           const char *help, enum agg_field f)
{
    family(b, name, type, help);
    for (size_t p = 0; p < in->cfg->nprograms; p++)
        for (int k = 0; k < DEVICE_KINDS; k++) {
            const struct group *x = &g[p * DEVICE_KINDS + (size_t)k];
            double v;
            if (x->devices == 0 || !group_field(x, f, &v))
                continue;
            put_str(b, name);
            put_str(b, "{program=\"");
            put_escaped(b, in->cfg->programs[p].id);
            put_str(b, "\",kind=\"");
            put_str(b, config_device_kind_name((enum device_kind)k));
            put_str(b, "\"} ");
            put_value(b, v);
            put(b, "\n", 1);
        }
}

static void programs(struct metrics_buf *b, const struct metrics_input *in)
{
    const struct enmon_config *cfg = in->cfg;
    struct group *g = calloc(cfg->nprograms ? cfg->nprograms * DEVICE_KINDS : 1, sizeof(*g));
    if (!g) {
        b->failed = 1;
        return;
    }
    for (size_t i = 0; i < cfg->ndevices; i++) {
        const struct cfg_device *d = &cfg->devices[i];
        if (d->program < cfg->nprograms && (int)d->kind >= 0 && (int)d->kind < DEVICE_KINDS)
            group_add(&g[d->program * DEVICE_KINDS + (size_t)d->kind], &in->devs[i]);
    }
    program_family(b, in, g, "enmon_program_devices", "gauge",
                   "devices of the program and kind in the configuration", AGG_DEVICES);
    program_family(b, in, g, "enmon_program_devices_up", "gauge",
                   "devices that answered their latest polls", AGG_ONLINE);
    program_family(b, in, g, "enmon_program_devices_failing", "gauge",
                   "devices polled whose latest polls failed (offline)", AGG_FAILING);
    program_family(b, in, g, "enmon_program_devices_reporting", "gauge",
                   "devices online whose last good reading has a power value (the terms of "
                   "the sum)",
                   AGG_REPORTING);
    program_family(b, in, g, "enmon_program_power_watts", "gauge",
                   "sum of the devices' enmon_device_power_watts", AGG_POWER);
    program_family(b, in, g, "enmon_program_energy_import_joules_total", "counter",
                   "sum of the devices' enmon_device_energy_import_joules_total", AGG_IMPORT);
    program_family(b, in, g, "enmon_program_energy_export_joules_total", "counter",
                   "sum of the devices' enmon_device_energy_export_joules_total", AGG_EXPORT);
    program_family(b, in, g, "enmon_program_polls_total", "counter",
                   "polls of the program's devices since enmond started, good or failed",
                   AGG_POLLS);
    program_family(b, in, g, "enmon_program_poll_failures_total", "counter",
                   "polls of the program's devices that failed", AGG_FAILURES);
    free(g);
}

/* ---- statistics ---------------------------------------------------------------------- */

static void poller(struct metrics_buf *b, const struct poller_stats *p)
{
    family(b, "enmon_polls_total", "counter", "device polls done since enmond started");
    sample(b, "enmon_polls_total", "", (double)p->polls);
    family(b, "enmon_poll_failures_total", "counter", "device polls that failed");
    sample(b, "enmon_poll_failures_total", "", (double)p->failures);
    family(b, "enmon_devices_online", "gauge", "devices online now");
    sample(b, "enmon_devices_online", "", (double)p->online);
    family(b, "enmon_poll_lateness_p99_seconds", "gauge",
           "99th percentile poll start delay since the previous scrape or stats line");
    sample(b, "enmon_poll_lateness_p99_seconds", "", (double)p->lateness_p99_ms / 1000.0);
    family(b, "enmon_poll_lateness_max_seconds", "gauge",
           "worst poll start delay since enmond started");
    sample(b, "enmon_poll_lateness_max_seconds", "", (double)p->lateness_max_ms / 1000.0);
}

static void sink_sample(struct metrics_buf *b, const char *name, const struct sink_stats *s,
                        double v)
{
    put_str(b, name);
    put_str(b, "{sink=\"");
    put_escaped(b, s->name ? s->name : "");
    put_str(b, "\"} ");
    put_value(b, v);
    put(b, "\n", 1);
}

/* The families every sink shares (labelled by sink), then each sink's own, in registry order. */
static void sinks(struct metrics_buf *b, const struct metrics_input *in)
{
    family(b, "enmon_queue_depth", "gauge", "readings waiting in a sink's queue");
    for (size_t i = 0; i < in->nsinks; i++)
        if (in->sinks[i].has_depth)
            sink_sample(b, "enmon_queue_depth", &in->sinks[i], (double)in->sinks[i].depth);
    family(b, "enmon_readings_dropped_total", "counter", "readings refused by a sink's full queue");
    for (size_t i = 0; i < in->nsinks; i++)
        if (in->sinks[i].has_dropped)
            sink_sample(b, "enmon_readings_dropped_total", &in->sinks[i],
                        (double)in->sinks[i].dropped);
    for (size_t i = 0; i < in->nsinks; i++) {
        for (size_t k = 0; k < in->sinks[i].nmetrics && k < SINK_METRICS_MAX; k++) {
            const struct sink_metric *m = &in->sinks[i].metric[k];
            family(b, m->name, m->type, m->help);
            sample(b, m->name, "", m->value);
        }
    }
}

int metrics_render(struct metrics_buf *b, const struct metrics_input *in)
{
    family(b, "enmon_build_info", "gauge",
           "always 1: the version and commit enmond was built from");
    put_str(b, "enmon_build_info{version=\"");
    put_escaped(b, ENMON_VERSION);
    put_str(b, "\",commit=\"");
    put_escaped(b, ENMON_COMMIT);
    put_str(b, "\"} 1\n");
    if (in->devs && in->per_program)
        programs(b, in);
    else if (in->devs)
        devices(b, in);
    if (in->poller)
        poller(b, in->poller);
    sinks(b, in);
    return b->failed ? -1 : 0;
}

int metrics_write(FILE *out, const struct metrics_input *in)
{
    struct metrics_buf b = {0};
    int rc = metrics_render(&b, in);
    if (rc == 0 && b.len && fwrite(b.data, 1, b.len, out) != b.len)
        rc = -1;
    free(b.data);
    return rc != 0 || ferror(out) ? -1 : 0;
}
