/* metrics.c -- Prometheus text format (0.0.4) from enmond's statistics and the live table: pure. */
#include "metrics.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define LABELS_MAX (3 * 2 * CFG_ID_MAX + 128)

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

static void family(FILE *out, const char *name, const char *type, const char *help)
{
    fprintf(out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A value as Prometheus writes floats: integral ones without exponent, others %.17g. */
static void sample(FILE *out, const char *name, const char *labels, double v)
{
    if (isnan(v))
        fprintf(out, "%s%s NaN\n", name, labels);
    else if (isinf(v))
        fprintf(out, "%s%s %s\n", name, labels, v > 0 ? "+Inf" : "-Inf");
    else if (v == floor(v) && fabs(v) < 1e15)
        fprintf(out, "%s%s %.0f\n", name, labels, v);
    else
        fprintf(out, "%s%s %.17g\n", name, labels, v);
}

static void device_labels(const struct enmon_config *cfg, size_t i, char *buf, size_t len)
{
    const struct cfg_device *d = &cfg->devices[i];
    char dev[2 * CFG_ID_MAX], prog[2 * CFG_ID_MAX], site[2 * CFG_ID_MAX];
    const char *p = d->program < cfg->nprograms ? cfg->programs[d->program].id : "";
    const char *s = d->site < cfg->nsites ? cfg->sites[d->site].id : "";
    if (metrics_escape(d->id, dev, sizeof(dev)) < 0 || metrics_escape(p, prog, sizeof(prog)) < 0 ||
        metrics_escape(s, site, sizeof(site)) < 0) {
        snprintf(buf, len, "{device=\"?\"}");
        return;
    }
    snprintf(buf, len, "{device=\"%s\",program=\"%s\",site=\"%s\",kind=\"%s\"}", dev, prog, site,
             config_device_kind_name(d->kind));
}

/* One device family: every device whose last reading carries m (m < 0: availability). */
static void device_family(FILE *out, const struct metrics_input *in, const char *name,
                          const char *type, const char *help, int m)
{
    char labels[LABELS_MAX];
    family(out, name, type, help);
    for (size_t i = 0; i < in->cfg->ndevices; i++) {
        const struct live_dev *d = &in->devs[i];
        if (m < 0) {
            device_labels(in->cfg, i, labels, sizeof(labels));
            sample(out, name, labels, d->online ? 1 : 0);
            continue;
        }
        if (!d->has_last || !reading_has(&d->last, (enum meas)m) || !isfinite(d->last.value[m]))
            continue;
        device_labels(in->cfg, i, labels, sizeof(labels));
        sample(out, name, labels, d->last.value[m]);
    }
}

static void devices(FILE *out, const struct metrics_input *in)
{
    device_family(out, in, "enmon_device_up", "gauge",
                  "1 when the device answered its latest polls, 0 when offline or never reached",
                  -1);
    device_family(out, in, "enmon_device_power_watts", "gauge",
                  "AC power of the last good reading (inverters produce, meters import)",
                  MEAS_POWER_W);
    device_family(out, in, "enmon_device_energy_import_wh_total", "counter",
                  "lifetime energy imported from the grid, Wh (device register)",
                  MEAS_ENERGY_IMPORT_WH);
    device_family(out, in, "enmon_device_energy_export_wh_total", "counter",
                  "lifetime energy exported or produced, Wh (device register)",
                  MEAS_ENERGY_EXPORT_WH);
}

static void poller(FILE *out, const struct poller_stats *p)
{
    family(out, "enmon_polls_total", "counter", "device polls done since enmond started");
    sample(out, "enmon_polls_total", "", (double)p->polls);
    family(out, "enmon_poll_failures_total", "counter", "device polls that failed");
    sample(out, "enmon_poll_failures_total", "", (double)p->failures);
    family(out, "enmon_devices_online", "gauge", "devices online now");
    sample(out, "enmon_devices_online", "", (double)p->online);
    family(out, "enmon_poll_lateness_p99_seconds", "gauge",
           "99th percentile poll start delay since the previous scrape or stats line");
    sample(out, "enmon_poll_lateness_p99_seconds", "", (double)p->lateness_p99_ms / 1000.0);
    family(out, "enmon_poll_lateness_max_seconds", "gauge",
           "worst poll start delay since enmond started");
    sample(out, "enmon_poll_lateness_max_seconds", "", (double)p->lateness_max_ms / 1000.0);
}

static void sink_label(const struct sink_stats *s, char *buf, size_t len)
{
    char name[2 * CFG_ID_MAX];
    if (metrics_escape(s->name ? s->name : "", name, sizeof(name)) < 0)
        snprintf(buf, len, "{sink=\"?\"}");
    else
        snprintf(buf, len, "{sink=\"%s\"}", name);
}

/* The families every sink shares (labelled by sink), then each sink's own, in registry order. */
static void sinks(FILE *out, const struct metrics_input *in)
{
    char labels[LABELS_MAX];
    family(out, "enmon_queue_depth", "gauge", "readings waiting in a sink's queue");
    for (size_t i = 0; i < in->nsinks; i++) {
        if (!in->sinks[i].has_depth)
            continue;
        sink_label(&in->sinks[i], labels, sizeof(labels));
        sample(out, "enmon_queue_depth", labels, (double)in->sinks[i].depth);
    }
    family(out, "enmon_readings_dropped_total", "counter",
           "readings refused by a sink's full queue");
    for (size_t i = 0; i < in->nsinks; i++) {
        if (!in->sinks[i].has_dropped)
            continue;
        sink_label(&in->sinks[i], labels, sizeof(labels));
        sample(out, "enmon_readings_dropped_total", labels, (double)in->sinks[i].dropped);
    }
    for (size_t i = 0; i < in->nsinks; i++) {
        for (size_t k = 0; k < in->sinks[i].nmetrics && k < SINK_METRICS_MAX; k++) {
            const struct sink_metric *m = &in->sinks[i].metric[k];
            family(out, m->name, m->type, m->help);
            sample(out, m->name, "", m->value);
        }
    }
}

int metrics_write(FILE *out, const struct metrics_input *in)
{
    if (in->devs)
        devices(out, in);
    if (in->poller)
        poller(out, in->poller);
    sinks(out, in);
    return ferror(out) ? -1 : 0;
}
