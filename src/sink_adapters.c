/* sink_adapters.c -- enmond's sinks as registry entries: store, MQTT, alert engine, live table. */
#include "sink_adapters.h"

#include "err.h"
#include "live.h"

#include <stdio.h>

/* ---- store ------------------------------------------------------------------------- */

void sink_adapter_store_stats(const struct store_stats *s, struct sink_stats *out)
{
    out->has_depth = 1;
    out->depth = s->depth;
    out->has_dropped = 1;
    out->dropped = s->dropped;
    out->metric[0] = (struct sink_metric){"enmon_readings_written_total", "counter",
                                          "readings committed to SQLite", (double)s->written};
    out->metric[1] = (struct sink_metric){"enmon_store_errors_total", "counter",
                                          "failed SQLite statements or commits", (double)s->errors};
    out->metric[2] = (struct sink_metric){"enmon_store_retry_depth", "gauge",
                                          "readings held in memory until SQLite commits again",
                                          (double)s->retry_depth};
    out->metric[3] = (struct sink_metric){"enmon_store_retry_dropped_total", "counter",
                                          "readings dropped beyond storage.retry_buffer_readings",
                                          (double)s->retry_dropped};
    out->metric[4] = (struct sink_metric){"enmon_store_pruned_total", "counter",
                                          "readings deleted by retention (storage.readings_days)",
                                          (double)s->pruned};
    out->metric[5] = (struct sink_metric){"enmon_store_prune_max_ms", "gauge",
                                          "longest writer stall caused by retention, ms",
                                          s->prune_max_ms};
    out->nmetrics = 6;
    snprintf(out->line, sizeof(out->line), "db written=%llu dropped=%llu",
             (unsigned long long)s->written, (unsigned long long)s->dropped);
    snprintf(out->json, sizeof(out->json), "\"db_written\":%llu,\"db_dropped\":%llu",
             (unsigned long long)s->written, (unsigned long long)s->dropped);
}

static int store_submit_cb(void *self, const struct reading *r)
{
    return store_submit(self, r);
}

static void store_stats_cb(void *self, struct sink_stats *out)
{
    struct store_stats s;
    store_get_stats(self, &s);
    sink_adapter_store_stats(&s, out);
}

static void store_stop_cb(void *self)
{
    store_close(self);
}

void sink_adapter_store(struct store *st, struct sink *out)
{
    *out =
        (struct sink){"store", st, store_submit_cb, store_stats_cb, store_stop_cb, SINK_RANK_STORE};
}

/* ---- MQTT -------------------------------------------------------------------------- */

void sink_adapter_mqtt_stats(const struct mqtt_sink_stats *s, struct sink_stats *out)
{
    out->has_depth = 1;
    out->depth = s->depth;
    out->has_dropped = 1;
    out->dropped = s->dropped;
    out->metric[0] =
        (struct sink_metric){"enmon_mqtt_published_total", "counter",
                             "MQTT messages handed to the broker", (double)s->published};
    out->metric[1] =
        (struct sink_metric){"enmon_mqtt_connected", "gauge",
                             "1 while connected to the MQTT broker", s->connected ? 1 : 0};
    out->nmetrics = 2;
    snprintf(out->line, sizeof(out->line),
             "mqtt published=%llu dropped=%llu connected=%d outbox=%lld shed=%llu",
             (unsigned long long)s->published, (unsigned long long)s->dropped, s->connected,
             (long long)s->outbox_depth, (unsigned long long)s->outbox_shed);
    snprintf(out->json, sizeof(out->json),
             "\"mqtt_published\":%llu,\"mqtt_connected\":%d,\"outbox_depth\":%lld,"
             "\"outbox_shed\":%llu",
             (unsigned long long)s->published, s->connected, (long long)s->outbox_depth,
             (unsigned long long)s->outbox_shed);
}

static int mqtt_submit_cb(void *self, const struct reading *r)
{
    return mqtt_sink_submit(self, r);
}

static void mqtt_stats_cb(void *self, struct sink_stats *out)
{
    struct mqtt_sink_stats s;
    mqtt_sink_get_stats(self, &s);
    sink_adapter_mqtt_stats(&s, out);
}

static void mqtt_stop_cb(void *self)
{
    mqtt_sink_stop(self);
}

void sink_adapter_mqtt(struct mqtt_sink *m, struct sink *out)
{
    *out = (struct sink){"mqtt", m, mqtt_submit_cb, mqtt_stats_cb, mqtt_stop_cb, SINK_RANK_MQTT};
}

/* ---- alerts ------------------------------------------------------------------------ */

void sink_adapter_alerts_stats(const struct alerts_stats *s, struct sink_stats *out)
{
    out->has_dropped = 1;
    out->dropped = s->dropped;
    out->metric[0] = (struct sink_metric){"enmon_alerts_active", "gauge", "alerts active now",
                                          (double)s->active};
    out->metric[1] = (struct sink_metric){"enmon_alerts_raised_total", "counter",
                                          "alerts raised since enmond started", (double)s->raised};
    out->nmetrics = 2;
}

void sink_adapter_webhook_stats(const struct webhook_stats *s, struct sink_stats *out)
{
    const struct sink_metric m[] = {
        {"enmon_webhook_backlog", "gauge", "webhook notices waiting in the outbox",
         (double)s->backlog},
        {"enmon_webhook_delivered_total", "counter", "webhook notices delivered since start",
         (double)s->delivered},
        {"enmon_webhook_failed_total", "counter", "failed webhook attempts since start",
         (double)s->failed},
        {"enmon_webhook_dropped_total", "counter", "webhook notices lost before the outbox",
         (double)s->dropped},
    };
    for (size_t i = 0; i < sizeof(m) / sizeof(m[0]) && out->nmetrics < SINK_METRICS_MAX; i++)
        out->metric[out->nmetrics++] = m[i];
}

static int alerts_submit_cb(void *self, const struct reading *r)
{
    struct sink_adapter_alerts *a = self;
    return alerts_submit(a->alerts, r);
}

static void alerts_stats_cb(void *self, struct sink_stats *out)
{
    struct sink_adapter_alerts *a = self;
    struct alerts_stats s;
    alerts_get_stats(a->alerts, &s);
    sink_adapter_alerts_stats(&s, out);
    if (a->webhook) {
        struct webhook_stats w;
        webhook_get_stats(a->webhook, &w);
        sink_adapter_webhook_stats(&w, out);
    }
}

static void alerts_stop_cb(void *self)
{
    struct sink_adapter_alerts *a = self;
    alerts_stop(a->alerts);
    alert_hook_stop(a->hook);
    webhook_stop(a->webhook);
    a->alerts = NULL;
    a->hook = NULL;
    a->webhook = NULL;
}

void sink_adapter_alerts(struct sink_adapter_alerts *a, struct sink *out)
{
    *out = (struct sink){"alerts",        a, alerts_submit_cb, alerts_stats_cb, alerts_stop_cb,
                         SINK_RANK_ALERTS};
}

/* ---- live -------------------------------------------------------------------------- */

static int live_submit_cb(void *self, const struct reading *r)
{
    dash_reading(self, r);
    return ENMON_OK;
}

void sink_adapter_live_stats(const struct live_stats *s, struct sink_stats *out)
{
    out->has_dropped = 1;
    out->dropped = s->dropped;
    out->metric[0] = (struct sink_metric){"enmon_live_deferred_total", "counter",
                                          "polls parked while a reader held the live table",
                                          (double)s->deferred};
    out->nmetrics = 1;
}

static void live_stats_cb(void *self, struct sink_stats *out)
{
    struct live_stats s;
    dash_live_stats(self, &s);
    sink_adapter_live_stats(&s, out);
}

void sink_adapter_live(struct dash *d, struct sink *out)
{
    *out = (struct sink){"live", d, live_submit_cb, live_stats_cb, NULL, SINK_RANK_LIVE};
}
