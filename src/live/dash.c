/* dash.c -- enmond's watching side started and stopped as one: the live table, the HTTP server
 * (REST, /metrics, dashboard), MQTT program summaries and Home Assistant discovery. */
#include "dash.h"

#include "caltime.h"
#include "clock.h"
#include "err.h"
#include "ha_discovery.h"
#include "http.h"
#include "http_api.h"
#include "live.h"
#include "log.h"
#include "payload.h"
#include "report.h"
#include "summary.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DASH_FRAME_MS 2000  /* live frames for /api/live */
#define DASH_TODAY_MS 10000 /* today's energy re-read from the database */
#define DASH_TICK_MS 250
#define DASH_HA_PER_TICK 50 /* discovery configs queued per tick */
/* Home Assistant's "online" announcements start a discovery round only when the last
 * round is finished and began DASH_HA_AGAIN_MS ago or more; announcements before that are
 * coalesced into one round then (docs/MQTT.md). */
#define DASH_HA_AGAIN_MS 5000

struct dash {
    const struct enmon_config *cfg;
    struct live *live;
    struct api_env env;
    char savings_path[CFG_PATH_MAX + 16]; /* the file loaded, "" for the built-in defaults */
    struct http_server *http;
    struct ha_watch *ha;
    struct ha_publisher ha_pub;
    int mqtt_was_connected;
    int ha_online_pending; /* "online" seen, its round not started yet */
    int64_t ha_round_ms;   /* monotonic start of the last discovery round */
    /* SunSpec identities read at discovery (poller threads write, the dash thread
     * reads, under ident_lock); ident_dirty: HA configs to publish again */
    pthread_mutex_t ident_lock;
    struct sunspec_common *ident;
    uint8_t *ident_dirty;
    int ident_pending;
    /* per device, the measurements its readings have carried (bits 1u << meas): which Home
     * Assistant sensors a SunSpec device implements; a new bit publishes its configs again */
    _Atomic uint32_t *seen;
    pthread_t thread;
    int running;
    atomic_int stop;
    atomic_uint alerts_changed;
    struct log_limit db_limit;
};

void dash_set_savings(struct dash *d, const struct savings_config *sc, const char *path)
{
    char *abs = path && path[0] ? realpath(path, NULL) : NULL; /* shown by /api/savings */
    snprintf(d->savings_path, sizeof(d->savings_path), "%s", abs ? abs : path ? path : "");
    free(abs);
    d->env.savings = sc;
    d->env.savings_source = d->savings_path[0] ? d->savings_path : NULL; /* /api/savings */
}

int dash_open(const struct enmon_config *cfg, struct dash **out)
{
    struct dash *d = calloc(1, sizeof(*d));
    *out = NULL;
    if (!d)
        return ENMON_ERR_NOMEM;
    d->cfg = cfg;
    pthread_mutex_init(&d->ident_lock, NULL);
    d->ident = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof(*d->ident));
    d->ident_dirty = calloc(cfg->ndevices ? cfg->ndevices : 1, 1);
    d->seen = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof(*d->seen));
    if (!d->ident || !d->ident_dirty || !d->seen || live_open(cfg, &d->live) != ENMON_OK) {
        free(d->ident);
        free(d->ident_dirty);
        free((void *)d->seen);
        pthread_mutex_destroy(&d->ident_lock);
        free(d);
        return ENMON_ERR_NOMEM;
    }
    d->env.cfg = cfg;
    d->env.live = d->live;
    d->env.offset_min = config_utc_offset_min(cfg);
    *out = d;
    return ENMON_OK;
}

void dash_ident(struct dash *d, uint32_t dev, const struct sunspec_common *c)
{
    if (!d || dev >= d->cfg->ndevices)
        return;
    pthread_mutex_lock(&d->ident_lock);
    if (memcmp(&d->ident[dev], c, sizeof(*c)) != 0) {
        d->ident[dev] = *c;
        d->ident_dirty[dev] = 1;
        d->ident_pending = 1;
    }
    pthread_mutex_unlock(&d->ident_lock);
}

/* Publishes the configs of devices whose identity became known since the last tick. */
static void ha_publish_idents(struct dash *d)
{
    pthread_mutex_lock(&d->ident_lock);
    int sent = 0, full = 0;
    uint32_t i = 0;
    for (; d->ident_pending && i < d->cfg->ndevices && sent < DASH_HA_PER_TICK; i++) {
        if (!d->ident_dirty[i])
            continue;
        if (!ha_publish_device(d->cfg, d->env.mqtt, i, &d->ident[i], atomic_load(&d->seen[i]))) {
            full = 1; /* the sink's queue is full: this device again next tick */
            break;
        }
        d->ident_dirty[i] = 0;
        sent++;
    }
    if (!full && i >= d->cfg->ndevices)
        d->ident_pending = 0;
    pthread_mutex_unlock(&d->ident_lock);
}

/* A SunSpec device's reading with a measurement none of its readings had: its Home Assistant
 * configs are published again with that sensor. */
static void note_seen(struct dash *d, const struct reading *r)
{
    if (r->device >= d->cfg->ndevices || d->cfg->devices[r->device].map ||
        (r->quality != READING_OK && r->quality != READING_PARTIAL))
        return;
    uint32_t old = atomic_fetch_or(&d->seen[r->device], r->valid);
    if ((old | r->valid) == old)
        return;
    pthread_mutex_lock(&d->ident_lock);
    d->ident_dirty[r->device] = 1;
    d->ident_pending = 1;
    pthread_mutex_unlock(&d->ident_lock);
}

void dash_reading(struct dash *d, const struct reading *r)
{
    if (!d)
        return;
    note_seen(d, r);
    live_reading(d->live, r);
}

void dash_live_stats(struct dash *d, struct live_stats *out)
{
    live_get_stats(d->live, out);
}

void dash_alert(struct dash *d, const struct alert_event *ev)
{
    if (d)
        atomic_fetch_add(&d->alerts_changed, 1);
}

/* ---- the thread -------------------------------------------------------------------- */

static void refresh_today(struct dash *d)
{
    sqlite3 *db = NULL;
    char msg[256];
    if (report_open(d->cfg->database, &db, msg, sizeof(msg)) != ENMON_OK) {
        log_limited(&d->db_limit, 60, LOG_WARNING, "dash: %s", msg);
        return;
    }
    int64_t day_s = caltime_day_start(clock_wall_ms() / 1000, d->env.offset_min);
    if (live_load_today(d->live, db, day_s) < 0)
        log_limited(&d->db_limit, 60, LOG_WARNING, "dash: cannot read today's energy: %s",
                    sqlite3_errmsg(db));
    sqlite3_close(db);
}

static void publish_summaries(struct dash *d, int64_t now_ms)
{
    struct live_dev *devs = calloc(d->cfg->ndevices ? d->cfg->ndevices : 1, sizeof(*devs));
    struct summary *s = calloc(d->cfg->nprograms + 1, sizeof(*s));
    int *alerts = api_alert_counts(&d->env);
    if (devs && s && alerts) {
        live_snapshot(d->live, devs);
        summary_compute(d->cfg, devs, alerts, s);
        for (size_t i = 0; i <= d->cfg->nprograms; i++) {
            char topic[PAYLOAD_TOPIC_MAX], json[1024];
            snprintf(topic, sizeof(topic), "%s/summary/%s", d->cfg->mqtt.topic_root, s[i].id);
            if (summary_json(&s[i], now_ms, json, sizeof(json)) > 0)
                mqtt_sink_publish(d->env.mqtt, topic, json, 1);
        }
    }
    free(devs);
    free(s);
    free(alerts);
}

/* Discovery again after enmond reconnects to the broker and when Home Assistant says
 * "online" on homeassistant/status: for the latter, one round once the last one is done
 * and DASH_HA_AGAIN_MS old, however many announcements came (coalesced, none dropped). */
static void ha_step(struct dash *d, int64_t now)
{
    struct mqtt_sink_stats ms;
    mqtt_sink_get_stats(d->env.mqtt, &ms);
    if (ha_watch_take(d->ha))
        d->ha_online_pending = 1;
    int again = ms.connected && !d->mqtt_was_connected;
    if (d->ha_online_pending && d->ha_pub.done && now - d->ha_round_ms >= DASH_HA_AGAIN_MS)
        again = 1;
    d->mqtt_was_connected = ms.connected;
    if (again) {
        ha_publisher_restart(&d->ha_pub);
        d->ha_online_pending = 0;
        d->ha_round_ms = now;
    }
    if (!ms.connected)
        return;
    pthread_mutex_lock(&d->ident_lock);
    ha_publish_some(d->cfg, d->env.mqtt, &d->ha_pub, d->ident, d->seen, DASH_HA_PER_TICK);
    pthread_mutex_unlock(&d->ident_lock);
    ha_publish_idents(d);
}

static void *dash_main(void *arg)
{
    struct dash *d = arg;
    int64_t next_frame = 0, next_today = 0, next_summary = clock_mono_ms() + 1000;
    unsigned seen_alerts = 0;
    int was_wanted = 0; /* frames are built only while a stream listens (live.h) */
    struct api_acked acked = {0}; /* acknowledgements republished on MQTT */
    while (!atomic_load(&d->stop)) {
        int64_t now = clock_mono_ms();
        unsigned changed = atomic_load(&d->alerts_changed);
        if (now >= next_today) {
            refresh_today(d);
            next_today = now + DASH_TODAY_MS;
        }
        /* a first listener gets its frame within a tick, not after the rest of a period */
        int wanted = live_frames_wanted(d->live, now);
        if (now >= next_frame || changed != seen_alerts || (wanted && !was_wanted)) {
            char *frame = api_live_frame(&d->env, clock_wall_ms(), &acked);
            if (frame)
                live_set_frame(d->live, frame);
            free(frame);
            next_frame = now + DASH_FRAME_MS;
            seen_alerts = changed;
        }
        was_wanted = wanted;
        if (d->env.mqtt && d->cfg->mqtt.summary_interval_ms > 0 && now >= next_summary) {
            publish_summaries(d, clock_wall_ms());
            next_summary = now + d->cfg->mqtt.summary_interval_ms;
        }
        if (d->env.mqtt && d->cfg->mqtt.ha_discovery)
            ha_step(d, now);
        usleep(DASH_TICK_MS * 1000);
    }
    free(acked.rows);
    return NULL;
}

void dash_start(struct dash *d, struct store *store, struct mqtt_sink *mqtt, struct alerts *alerts,
                struct poller *poller, struct sink_registry *sinks)
{
    char msg[512] = "";
    d->env.store = store;
    d->env.mqtt = mqtt;
    d->env.alerts = alerts;
    d->env.poller = poller;
    d->env.sinks = sinks;
    if (d->cfg->http.port > 0) {
        if (http_start(&d->env, &d->http, msg, sizeof(msg)) != ENMON_OK)
            log_err("http: %s; enmond runs without its HTTP server", msg);
        else
            log_info("http: dashboard and API on http://%s:%d/ (web root %s)", d->cfg->http.listen,
                     http_port(d->http), http_web_root(d->cfg));
    }
    if (mqtt && d->cfg->mqtt.ha_discovery && ha_watch_start(d->cfg, &d->ha) != ENMON_OK)
        log_err("ha discovery: cannot watch %s; configs are still sent on reconnects",
                HA_STATUS_TOPIC);
    d->running = pthread_create(&d->thread, NULL, dash_main, d) == 0;
    if (!d->running)
        log_err("dash: cannot start its thread: no summaries");
}

void dash_stop(struct dash *d)
{
    if (!d)
        return;
    http_stop(d->http);
    d->http = NULL;
    atomic_store(&d->stop, 1);
    if (d->running)
        pthread_join(d->thread, NULL);
    d->running = 0;
    ha_watch_stop(d->ha);
    d->ha = NULL;
    d->env.store = NULL;
    d->env.mqtt = NULL;
    d->env.alerts = NULL;
    d->env.poller = NULL;
    d->env.sinks = NULL;
}

void dash_free(struct dash *d)
{
    if (!d)
        return;
    live_free(d->live);
    free(d->ident);
    free(d->ident_dirty);
    free((void *)d->seen);
    pthread_mutex_destroy(&d->ident_lock);
    free(d);
}
