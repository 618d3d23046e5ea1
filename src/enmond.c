/* enmond.c -- the enmon daemon: config, poller, sinks, signals and systemd notification. */
#include "alert_hook.h"
#include "alert_learned.h"
#include "alert_store.h"
#include "alerts.h"
#include "webhook.h"
#include "clock.h"
#include "config.h"
#include "collectors.h"
#include "dash.h" /* dash: live table, HTTP, summaries */
#include "err.h"
#include "exitcode.h"
#include "historian.h"
#include "log.h"
#include "mqtt_sink.h"
#include "payload.h"
#include "poller.h"
#include "savings_config.h"
#include "sink.h"
#include "sink_adapters.h"
#include "store.h"

#include <getopt.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>
#include <unistd.h>

#define DEFAULT_CONFIG "/etc/enmon/enmond.yaml"
#define STATS_EVERY_MS 60000
#define STUCK_MIN_MS 30000
#define LEARNED_SAVE_EVERY_MS 60000 /* learned alert figures are saved this often */

#define ALERT_JSON_MAX 4096

#define HOLD_MAX 65536 /* readings kept while a reload replaces the sinks: what the store queues */

struct pipeline;

/* The poller's emit and ident context: the configuration whose device indices
 * its readings carry (the previous one for polls that ran across a reload). */
struct feed {
    struct pipeline *pl;
    const struct enmon_config *cfg;
};

/* Readings polled while a reload stops the old sinks and starts the new ones
 * (this may wait on a locked database): polling goes on, and they are handed
 * to the new sinks, in order, once those run. */
struct hold {
    pthread_mutex_t lock; /* also orders every submit against the sinks' replacement */
    int holding;
    const struct enmon_config *sinks_cfg; /* the configuration the running sinks know */
    struct held {
        struct reading r;
        const struct enmon_config *cfg;
    } *v;
    size_t n, cap, dropped;
};

/* The sinks are in the registry (stopped, counted and reported through it); the handles
 * here serve what is not a reading: alert events, stats messages and the dash. */
struct pipeline {
    struct enmon_config *cfg;
    struct sink_registry *sinks; /* store, mqtt, alerts, live: every reading goes to each */
    struct store *store;
    struct mqtt_sink *mqtt;
    struct sink_adapter_alerts engine; /* the alert engine and its hook */
    struct poller *poller;
    struct dash *dash; /* dash */
    /* savings.yaml as loaded once with the configuration (check_savings): the dashboard's
     * /api/savings borrows it; savings_path "" = the built-in defaults */
    struct savings_config savings;
    char savings_path[CFG_PATH_MAX + 16];
    struct hold hold;  /* readings waiting while a reload replaces the sinks */
    struct feed feed[2]; /* the emit context of the poller's configuration, and the next */
    int reloading;     /* pipeline_start/stop leave the poller alone */
    const char *collector; /* --collector NAME, or NULL: the file's collector: */
    int watchdog;      /* systemd's watchdog is on: WATCHDOG=1 every wd_every_ms */
    int64_t wd_every_ms;
};

/* While a reload waits (a sink stopping on a locked database may wait minutes), polling goes
 * on; this thread keeps telling systemd so, on the same condition as run(): the poller's
 * progress. Without it the main thread, blocked in reload(), would miss its pings and
 * systemd would kill a daemon that is polling fine. */
struct wd_keeper {
    struct poller *poller;
    int64_t every_ms, stuck_ms;
    pthread_mutex_t lock;
    pthread_cond_t cond;
    int stop;
    pthread_t thread;
};

static void *wd_keeper_main(void *arg)
{
    struct wd_keeper *k = arg;
    pthread_mutex_lock(&k->lock);
    while (!k->stop) {
        struct timespec until;
        clock_gettime(CLOCK_MONOTONIC, &until);
        int64_t ns = until.tv_nsec + (k->every_ms % 1000) * 1000000;
        until.tv_sec += k->every_ms / 1000 + ns / 1000000000;
        until.tv_nsec = ns % 1000000000;
        pthread_cond_timedwait(&k->cond, &k->lock, &until);
        if (!k->stop && poller_healthy(k->poller, k->stuck_ms))
            sd_notify(0, "WATCHDOG=1");
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

/* Starts the keeper when systemd's watchdog is on; 1 when it runs. */
static int wd_keeper_start(struct wd_keeper *k, const struct pipeline *pl, int64_t stuck_ms)
{
    if (!pl->watchdog)
        return 0;
    *k = (struct wd_keeper){.poller = pl->poller, .every_ms = pl->wd_every_ms,
                            .stuck_ms = stuck_ms};
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&k->thread, NULL, wd_keeper_main, k) != 0) {
        log_warn("reload: cannot start the watchdog keeper; pings pause during the reload");
        pthread_cond_destroy(&k->cond);
        pthread_mutex_destroy(&k->lock);
        return 0;
    }
    return 1;
}

static void wd_keeper_stop(struct wd_keeper *k)
{
    pthread_mutex_lock(&k->lock);
    k->stop = 1;
    pthread_cond_signal(&k->cond);
    pthread_mutex_unlock(&k->lock);
    pthread_join(k->thread, NULL);
    pthread_cond_destroy(&k->cond);
    pthread_mutex_destroy(&k->lock);
}

static void pipeline_ident(void *ctx, uint32_t device, const struct sunspec_common *c)
{
    struct feed *f = ctx;
    struct pipeline *pl = f->pl;
    pthread_mutex_lock(&pl->hold.lock);
    if (f->cfg == pl->hold.sinks_cfg) /* else the dash it was meant for is being replaced */
        dash_ident(pl->dash, device, c); /* dash: Home Assistant device info */
    pthread_mutex_unlock(&pl->hold.lock);
}

/* Keeps a reading while the sinks are replaced. Under hold.lock. */
static void hold_push(struct hold *h, const struct reading *r, const struct enmon_config *cfg)
{
    if (h->n == h->cap) {
        size_t cap = h->cap ? 2 * h->cap : 256;
        struct held *v = cap <= HOLD_MAX ? realloc(h->v, cap * sizeof(*v)) : NULL;
        if (!v) {
            h->dropped++;
            return;
        }
        h->v = v;
        h->cap = cap;
    }
    h->v[h->n++] = (struct held){*r, cfg};
}

static void pipeline_emit(void *ctx, const struct reading *r)
{
    struct feed *f = ctx;
    struct pipeline *pl = f->pl;
    pthread_mutex_lock(&pl->hold.lock);
    if (pl->hold.holding)
        hold_push(&pl->hold, r, f->cfg);
    else
        sink_submit_all(pl->sinks, r);
    pthread_mutex_unlock(&pl->hold.lock);
}

/* A reload begins: readings wait until hold_release. */
static void hold_begin(struct pipeline *pl)
{
    pthread_mutex_lock(&pl->hold.lock);
    pl->hold.holding = 1;
    pl->hold.sinks_cfg = NULL;
    pthread_mutex_unlock(&pl->hold.lock);
}

/* The sinks of pl->cfg run: the held readings go to them in order, each under
 * its device's index in pl->cfg (readings of devices it no longer has are dropped). */
static void hold_release(struct pipeline *pl)
{
    struct hold *h = &pl->hold;
    const struct enmon_config *cfg = pl->cfg;
    size_t moved = 0, gone = 0;
    pthread_mutex_lock(&h->lock);
    for (size_t i = 0; i < h->n; i++) {
        struct reading r = h->v[i].r;
        const struct enmon_config *from = h->v[i].cfg;
        if (from != cfg) {
            const char *id = from->devices[r.device].id;
            size_t k = 0;
            while (k < cfg->ndevices && strcmp(cfg->devices[k].id, id) != 0)
                k++;
            if (k == cfg->ndevices) {
                gone++;
                continue;
            }
            r.device = (uint32_t)k;
        }
        sink_submit_all(pl->sinks, &r);
        moved++;
    }
    if (h->n || h->dropped)
        log_info("reload: %zu readings polled meanwhile handed to the new sinks (%zu of removed "
                 "devices, %zu over the hold limit dropped)", moved, gone, h->dropped);
    free(h->v);
    h->v = NULL;
    h->n = h->cap = h->dropped = 0;
    h->holding = 0;
    h->sinks_cfg = cfg;
    pthread_mutex_unlock(&h->lock);
}

/* The engine's raises and clears: recorded, published retained while active
 * (cleared by an empty retained message) and handed to the hook. Runs on the
 * engine thread: it only queues. */
static void pipeline_alert(void *ctx, const struct alert_event *ev)
{
    struct pipeline *pl = ctx;
    char json[ALERT_JSON_MAX], topic[PAYLOAD_TOPIC_MAX + 64];
    const char *slash = strchr(ev->id, '/');
    const char *event = slash ? strchr(slash + 1, '/') : NULL;
    log_msg(ev->raised ? LOG_WARNING : LOG_NOTICE, "alert %s: %s (%s)",
            ev->raised ? "raised" : "cleared", ev->id, ev->cause);
    store_submit_alert(pl->store, ev);
    dash_alert(pl->dash, ev); /* dash */
    if (alert_event_json(ev, pl->cfg, json, sizeof(json)) < 0)
        return;
    if (payload_alert_topic(pl->cfg, ev->device, ev->rule, event ? event + 1 : NULL, topic,
                            sizeof(topic)) >= 0)
        mqtt_sink_publish(pl->mqtt, topic, ev->raised ? json : "", 1);
    alert_hook_submit(pl->engine.hook, json);
    webhook_submit(pl->engine.webhook, ev); /* queued: stored, then POSTed by its thread */
}

/* An active alert of a device the configuration no longer has: its row was
 * closed (alert_store_clear_removed); its retained MQTT message goes too. */
static void pipeline_alert_removed(void *ctx, const struct alert_row *row)
{
    struct pipeline *pl = ctx;
    char topic[PAYLOAD_TOPIC_MAX + 64];
    log_msg(LOG_NOTICE, "alert cleared: %s (%s)", row->key, row->clear_cause);
    if (pl->mqtt && snprintf(topic, sizeof(topic), "%s/alert/%s/%s/%s", pl->cfg->mqtt.topic_root,
                             row->program, row->site, row->key) < (int)sizeof(topic))
        mqtt_sink_publish(pl->mqtt, topic, "", 1);
}

/* Alerts active when enmond last stopped are active again, without firing twice. */
static void pipeline_restore_alerts(struct pipeline *pl)
{
    alert_store_clear_removed(pl->cfg->database, pl->cfg, clock_wall_ms(), pipeline_alert_removed,
                              pl, NULL);
    struct alert_event *active = NULL;
    size_t n = 0;
    if (alert_store_load_active(pl->cfg->database, pl->cfg, &active, &n) != ENMON_OK) {
        log_err("alerts: cannot read the active alerts of %s", pl->cfg->database);
        return;
    }
    size_t restored = alerts_restore(pl->engine.alerts, active, n);
    if (n)
        log_info("alerts: %zu active alerts restored", restored);
    free(active);
}

/* What the welfare and abnormal-load rules learned before the last stop is known again. */
static void pipeline_restore_learned(struct pipeline *pl)
{
    struct alert_learned *learned = NULL;
    size_t n = 0;
    if (alert_store_load_learned(pl->cfg->database, pl->cfg, &learned, &n) != ENMON_OK) {
        log_err("alerts: cannot read the learned state of %s", pl->cfg->database);
        return;
    }
    size_t restored = alerts_restore_learned(pl->engine.alerts, learned, n);
    if (n)
        log_info("alerts: learned state of %zu rules restored (%zu saved)", restored, n);
    free(learned);
}

/* Hands what the rules learned to the store's writer (the one writer) to save. */
static void pipeline_save_learned(struct pipeline *pl)
{
    if (!pl->engine.alerts || !pl->store)
        return;
    enum { CHUNK = 16 * ALERT_RULE__COUNT }; /* a chunk at a time: ~160 KB, not the city's */
    size_t dropped = 0;
    struct alert_learned *l = malloc(CHUNK * sizeof(*l));
    if (!l) {
        log_err("alerts: learned state not saved: %s", enmon_strerror(ENMON_ERR_NOMEM));
        return;
    }
    for (uint32_t next = 0; next < pl->cfg->ndevices;) {
        size_t n = alerts_learned(pl->engine.alerts, &next, l, CHUNK);
        for (size_t i = 0; i < n; i++)
            dropped += store_submit_learned(pl->store, &l[i]) != ENMON_OK;
    }
    if (dropped)
        log_err("alerts: learned state of %zu rules not saved: store queue full", dropped);
    free(l);
}

static int pipeline_start_alerts(struct pipeline *pl)
{
    static struct alert_hook_cfg no_hook;
    const struct alert_hook_cfg *h = pl->cfg->alerts ? &pl->cfg->alerts->hook : &no_hook;
    struct sink s;
    char msg[256] = "";
    int rc = alert_hook_start(h, &pl->engine.hook);
    if (rc == ENMON_OK &&
        webhook_start(pl->cfg, &pl->engine.webhook, msg, sizeof(msg)) != ENMON_OK) {
        log_err("alerts: webhooks: %s", msg);
        alert_hook_stop(pl->engine.hook);
        pl->engine.hook = NULL;
        return -1;
    }
    if (rc == ENMON_OK)
        rc = alerts_start(pl->cfg, pipeline_alert, pl, &pl->engine.alerts);
    if (rc != ENMON_OK) {
        log_err("alerts: %s", enmon_strerror(rc));
        alert_hook_stop(pl->engine.hook);
        webhook_stop(pl->engine.webhook);
        pl->engine.hook = NULL;
        pl->engine.webhook = NULL;
        return -1;
    }
    sink_adapter_alerts(&pl->engine, &s);
    sink_register(pl->sinks, &s);
    pipeline_restore_alerts(pl);
    pipeline_restore_learned(pl);
    return 0;
}

static void log_stats(struct pipeline *pl, const struct poller_stats *final);

/* Stops polling first (keeping its open links in *kept for a reload, when
 * kept is not NULL), then the sinks by their stop rank (sink_adapters.h): the
 * alert engine (its last events still reach the sinks) and its hook, then the
 * store, which commits everything queued, and last the MQTT sink, which
 * publishes the outbox up to the last committed reading (bounded; what is left
 * stays in the outbox for the next start): nothing is lost. With log_final,
 * logs the statistics once polling has stopped. Works on a pipeline that only
 * partly started. */
static void pipeline_stop(struct pipeline *pl, int log_final, struct poller_links **kept)
{
    dash_stop(pl->dash); /* dash: before the handles it reads go away */
    struct poller_stats final;
    if (kept)
        *kept = NULL;
    if (pl->poller) {
        poller_stop_keep(pl->poller, &final, kept);
        if (log_final)
            log_stats(pl, &final);
    }
    pipeline_save_learned(pl); /* before the engine and the store stop */
    sink_stop_all(pl->sinks);
    sink_registry_free(pl->sinks);
    pl->sinks = NULL;
    pl->poller = NULL;
    pl->mqtt = NULL;
    pl->store = NULL;
    dash_free(pl->dash); /* dash */
    pl->dash = NULL;     /* dash */
}

/* Starts store, MQTT sink (store and forward from the store's outbox), alerts
 * and poller; the poller takes over the kept links of a reload (consumed). */
static int pipeline_start(struct pipeline *pl, struct poller_links *kept)
{
    char msg[256] = "";
    struct sink s;
    if (sink_registry_new(&pl->sinks) != ENMON_OK) {
        log_err("sinks: %s", enmon_strerror(ENMON_ERR_NOMEM));
        poller_links_free(kept);
        return -1;
    }
    if (store_open(pl->cfg, &pl->store, msg, sizeof(msg)) != ENMON_OK) {
        log_err("database %s: %s", pl->cfg->database, msg);
        poller_links_free(kept);
        pipeline_stop(pl, 0, NULL);
        return -1;
    }
    sink_adapter_store(pl->store, &s);
    sink_register(pl->sinks, &s);
    struct historian *hist = NULL; /* historian: forwards the committed file, off the poll path */
    if (historian_start(pl->cfg, &hist, msg, sizeof(msg)) != ENMON_OK) {
        log_err("historian: %s", msg);
        poller_links_free(kept);
        pipeline_stop(pl, 0, NULL);
        return -1;
    }
    if (hist) {
        historian_sink(hist, &s);
        sink_register(pl->sinks, &s);
    }
    if (mqtt_sink_start_durable(pl->cfg, &pl->mqtt, msg, sizeof(msg)) != ENMON_OK) {
        log_err("mqtt %s:%d: %s", pl->cfg->mqtt.host, pl->cfg->mqtt.port, msg);
        poller_links_free(kept);
        pipeline_stop(pl, 0, NULL);
        return -1;
    }
    sink_adapter_mqtt(pl->mqtt, &s);
    sink_register(pl->sinks, &s);
    if (pipeline_start_alerts(pl) != 0) {
        poller_links_free(kept);
        pipeline_stop(pl, 0, NULL);
        return -1;
    }
    if (dash_open(pl->cfg, &pl->dash) != ENMON_OK) { /* dash */
        poller_links_free(kept);
        pipeline_stop(pl, 0, NULL);
        return -1;
    }
    dash_set_savings(pl->dash, &pl->savings, pl->savings_path);
    sink_adapter_live(pl->dash, &s);
    sink_register(pl->sinks, &s);
    if (pl->reloading) /* reload() keeps the running poller and starts the dash */
        return 0;
    pthread_mutex_init(&pl->hold.lock, NULL);
    pl->hold.sinks_cfg = pl->cfg;
    pl->feed[0] = (struct feed){pl, pl->cfg};
    int rc = poller_start_keep(pl->cfg, pipeline_emit, pipeline_ident, &pl->feed[0], kept,
                               &pl->poller);
    if (rc != ENMON_OK) {
        log_err("poller: %s", enmon_strerror(rc));
        pipeline_stop(pl, 0, NULL);
        return -1;
    }
    dash_start(pl->dash, pl->store, pl->mqtt, pl->engine.alerts, pl->poller, pl->sinks); /* dash */
    return 0;
}

/* Loads path and keeps what collector (NULL: the file's collector:) polls (collectors.h); the
 * links each collector owns are printed to owners first when given (--check-config). */
static int load_config(const char *path, const char *collector, struct enmon_config **out,
                       FILE *owners)
{
    struct cfg_error err;
    int rc = config_load(path, out, &err);
    if (rc == ENMON_OK && owners)
        collectors_describe(*out, owners);
    if (rc == ENMON_OK && (rc = collectors_select(*out, collector, &err)) != ENMON_OK) {
        config_free(*out);
        *out = NULL;
    }
    if (rc != ENMON_OK) {
        char buf[1024];
        config_format_error(&err, buf, sizeof(buf));
        log_err("%s", buf);
    }
    return rc;
}

/* Loads the savings file found by the one lookup rule (savings_config_find: savings.yaml next
 * to the configuration, else /etc/enmon/savings.yaml) into *sc, its path into path ("" and the
 * built-in defaults when there is none), as `enmon savings` loads it: a file that is there
 * fails closed like the configuration. ENMON_OK, else the error is logged as
 * FILE:LINE: field: reason and *sc holds nothing to free. */
static int load_savings(const struct enmon_config *cfg, char *path, size_t len,
                        struct savings_config *sc)
{
    struct cfg_error err;
    savings_config_find(cfg->path, path, len);
    if (!path[0]) {
        savings_config_defaults(sc);
        return ENMON_OK;
    }
    int rc = savings_config_load(path, config_utc_offset_min(cfg), sc, &err);
    if (rc != ENMON_OK) {
        char buf[1024];
        config_format_error(&err, buf, sizeof(buf));
        log_err("%s", buf);
    }
    return rc;
}

/* What every sink of the registry reports, joined: " db written=.. mqtt published=.."
 * for the stats line, ",\"db_written\":..,\"mqtt_published\":.." for the JSON. */
static void sinks_text(struct pipeline *pl, char *line, size_t line_len, char *json,
                       size_t json_len)
{
    size_t lo = 0, jo = 0;
    line[0] = json[0] = '\0';
    for (size_t i = 0; i < sink_count(pl->sinks); i++) {
        struct sink_stats s;
        sink_get_stats(pl->sinks, i, &s);
        if (s.line[0] && lo < line_len)
            lo += (size_t)snprintf(line + lo, line_len - lo, " %s", s.line);
        if (s.json[0] && jo < json_len)
            jo += (size_t)snprintf(json + jo, json_len - jo, ",%s", s.json);
    }
}

/* <root>/daemon/stats, retained: the counters of the log line as JSON. */
static void publish_stats(struct pipeline *pl, const struct poller_stats *ps,
                          const char *sinks_json)
{
    char topic[PAYLOAD_TOPIC_MAX + 16], json[1024];
    snprintf(topic, sizeof(topic), "%s/daemon/stats", pl->cfg->mqtt.topic_root);
    snprintf(json, sizeof(json),
             "{\"ts_ms\":%lld,\"polls\":%llu,\"failed\":%llu,\"online\":%zu,\"devices\":%zu%s}",
             (long long)clock_wall_ms(), (unsigned long long)ps->polls,
             (unsigned long long)ps->failures, ps->online, pl->cfg->ndevices, sinks_json);
    mqtt_sink_publish(pl->mqtt, topic, json, 1);
}

/* One line of counters; lateness covers the window since the previous line. */
static void log_stats(struct pipeline *pl, const struct poller_stats *final)
{
    struct poller_stats ps;
    char line[SINK_MAX * SINK_TEXT_MAX], json[SINK_MAX * SINK_TEXT_MAX];
    if (final)
        ps = *final;
    else
        poller_get_stats(pl->poller, &ps);
    sinks_text(pl, line, sizeof(line), json, sizeof(json));
    log_info("polls=%llu failed=%llu online=%zu/%zu lateness p99=%lldms max=%lldms%s "
             "lateness_max_since_start=%lldms",
             (unsigned long long)ps.polls, (unsigned long long)ps.failures, ps.online,
             pl->cfg->ndevices, (long long)ps.lateness_p99_ms, (long long)ps.lateness_window_max_ms,
             line, (long long)ps.lateness_max_ms);
    if (!final)
        publish_stats(pl, &ps, json);
    sd_notifyf(0, "STATUS=%zu/%zu devices online, %llu polls", ps.online, pl->cfg->ndevices,
               (unsigned long long)ps.polls);
}

static int64_t stuck_limit_ms(const struct enmon_config *cfg)
{
    int64_t worst = 0;
    for (size_t i = 0; i < cfg->ndevices; i++) {
        int64_t t = (int64_t)cfg->devices[i].timeout_ms * (cfg->devices[i].retries + 1) * 4;
        if (t > worst)
            worst = t;
    }
    return worst > STUCK_MIN_MS ? worst : STUCK_MIN_MS;
}

/* Exchanges the pipeline's savings parameters and their path with *sc and path (of
 * CFG_PATH_MAX + 16 bytes): only while the dash is stopped, as nothing then reads them. */
static void swap_savings(struct pipeline *pl, struct savings_config *sc, char *path)
{
    struct savings_config t = pl->savings;
    char p[sizeof(pl->savings_path)];
    pl->savings = *sc;
    *sc = t;
    memcpy(p, pl->savings_path, sizeof(p));
    memcpy(pl->savings_path, path, sizeof(p));
    memcpy(path, p, sizeof(p));
}

/* SIGHUP: load the new file and the savings file beside it; on an error in either keep
 * running the old configuration (and the dashboard its old savings parameters). */
static void reload(struct pipeline *pl, const char *path)
{
    struct enmon_config *next;
    struct savings_config sc; /* the new file's, swapped with the running one while it serves */
    char savings[CFG_PATH_MAX + 16];
    sd_notify(0, "RELOADING=1");
    int rc = load_config(path, pl->collector, &next, NULL);
    if (rc == ENMON_OK && (rc = load_savings(next, savings, sizeof(savings), &sc)) != ENMON_OK)
        config_free(next);
    if (rc != ENMON_OK) {
        log_err("reload rejected; keeping the running configuration");
        sd_notify(0, "READY=1");
        return;
    }
    /* The poller keeps polling through the reload (readings wait in pl->hold while
     * the sinks are replaced, which may wait on a locked database); then it switches
     * to the new configuration without stopping (poller_reload). */
    struct poller *poller = pl->poller;
    struct enmon_config *prev = pl->cfg;
    struct wd_keeper keeper;
    int keeping = wd_keeper_start(&keeper, pl, stuck_limit_ms(prev));
    struct feed *feed = pl->feed[0].cfg == prev ? &pl->feed[1] : &pl->feed[0];
    *feed = (struct feed){pl, next};
    hold_begin(pl);
    pl->reloading = 1;
    pl->poller = NULL; /* pipeline_stop and pipeline_start: the sinks only */
    pipeline_stop(pl, 0, NULL);
    pl->cfg = next;
    swap_savings(pl, &sc, savings);
    int ok = pipeline_start(pl, NULL) == 0;
    if (ok) { /* SunSpec identities of the new configuration reach its dash */
        pthread_mutex_lock(&pl->hold.lock);
        pl->hold.sinks_cfg = next;
        pthread_mutex_unlock(&pl->hold.lock);
    }
    int rc_poll = ok ? poller_reload(poller, next, pipeline_emit, pipeline_ident, feed) : ENMON_OK;
    if (rc_poll != ENMON_OK) {
        log_err("poller: %s", enmon_strerror(rc_poll));
        pipeline_stop(pl, 0, NULL);
        ok = 0;
    }
    if (!ok) {
        log_err("reload failed; restoring the previous configuration");
        pl->cfg = prev;
        swap_savings(pl, &sc, savings);
        if (pipeline_start(pl, NULL) != 0) {
            log_err("cannot restart the previous configuration");
            pl->reloading = 0;
            if (keeping)
                wd_keeper_stop(&keeper);
            poller_stop(poller, NULL); /* nothing to hand readings to: run() exits */
            config_free(next);
            return;
        }
    }
    hold_release(pl);
    if (keeping)
        wd_keeper_stop(&keeper);
    pl->reloading = 0;
    pl->poller = poller;
    dash_start(pl->dash, pl->store, pl->mqtt, pl->engine.alerts, pl->poller, pl->sinks); /* dash */
    config_free(ok ? prev : next);
    savings_config_free(&sc); /* the parameters not in use */
    log_info("configuration reloaded: %zu devices", pl->cfg->ndevices);
    sd_notify(0, "READY=1");
}

static int run(struct pipeline *pl, const char *path)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    uint64_t wd_usec = 0;
    int watchdog = sd_watchdog_enabled(0, &wd_usec) > 0;
    int64_t wd_every = watchdog ? (int64_t)(wd_usec / 2000) : 1000;
    pl->watchdog = watchdog;
    pl->wd_every_ms = wd_every > 0 ? wd_every : 1;
    int64_t next_stats = clock_mono_ms() + STATS_EVERY_MS;
    int64_t next_learned = clock_mono_ms() + LEARNED_SAVE_EVERY_MS;
    sd_notifyf(0, "READY=1\nSTATUS=polling %zu devices", pl->cfg->ndevices);
    log_info("enmond running: %zu devices on %zu links, database %s, mqtt %s:%d", pl->cfg->ndevices,
             pl->cfg->nlinks, pl->cfg->database, pl->cfg->mqtt.host, pl->cfg->mqtt.port);
    for (;;) {
        int64_t wait = wd_every < 1000 ? wd_every : 1000;
        struct timespec ts = {.tv_sec = wait / 1000, .tv_nsec = (wait % 1000) * 1000000};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGHUP) {
            reload(pl, path);
            if (!pl->poller)
                return EX_SOFTWARE;
        }
        if (watchdog && poller_healthy(pl->poller, stuck_limit_ms(pl->cfg)))
            sd_notify(0, "WATCHDOG=1");
        if (clock_mono_ms() >= next_stats) {
            log_stats(pl, NULL);
            next_stats += STATS_EVERY_MS;
        }
        if (clock_mono_ms() >= next_learned) {
            pipeline_save_learned(pl);
            next_learned = clock_mono_ms() + LEARNED_SAVE_EVERY_MS;
        }
    }
    sd_notify(0, "STOPPING=1");
    log_info("stopping: flushing queues");
    pipeline_stop(pl, 1, NULL);
    return EX_OK;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: enmond [-c CONFIG] [--check-config] [--time T] [--speed X] [-v]\n"
                 "              [--collector NAME] [--version]\n"
                 "  -c, --config FILE   configuration (default " DEFAULT_CONFIG ")\n"
                 "  --collector NAME    poll only the links of this collector (docs/SCALING.md)\n"
                 "  --check-config      validate the configuration and its savings.yaml, exit\n"
                 "                      (78 on errors)\n"
                 "  --time T            simulated start instant, e.g. 2026-06-21T12:00:00+09:00\n"
                 "                      (default: now; no zone: Korea time)\n"
                 "  --speed X           simulated seconds per real second (default 1, 0 freezes)\n"
                 "  -v, --verbose       log debug messages\n"
                 "  --version           print the version and exit\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 'C'},
        {"verbose", no_argument, NULL, 'v'},      {"version", no_argument, NULL, 'V'},
        {"time", required_argument, NULL, 't'},   {"speed", required_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},         {"collector", required_argument, NULL, 'k'},
        {NULL, 0, NULL, 0},
    };
    const char *path = DEFAULT_CONFIG, *collector = NULL;
    int check = 0, has_start = 0, c;
    long long start_s = 0;
    double speed = 1.0;
    while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 't':
            if (clock_parse_time_arg(optarg, &start_s) < 0) {
                fprintf(stderr, "enmond: --time: expected YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]\n");
                return EX_USAGE;
            }
            has_start = 1;
            break;
        case 'x':
            if (clock_parse_speed_arg(optarg, &speed) < 0) {
                fprintf(stderr, "enmond: --speed: expected a number 0..1000000\n");
                return EX_USAGE;
            }
            break;
        case 'C':
            check = 1;
            break;
        case 'k':
            collector = optarg;
            break;
        case 'v':
            log_set_level(LOG_DEBUG);
            break;
        case 'V':
            printf("enmond " ENMON_VERSION "\n");
            return EX_OK;
        case 'h':
            usage(stdout);
            return EX_OK;
        default:
            usage(stderr);
            return EX_USAGE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return EX_USAGE;
    }
    struct pipeline pl = {0};
    pl.collector = collector;
    if (load_config(path, collector, &pl.cfg, check ? stdout : NULL) != ENMON_OK)
        return EX_CONFIG;
    if (load_savings(pl.cfg, pl.savings_path, sizeof(pl.savings_path), &pl.savings) != ENMON_OK) {
        config_free(pl.cfg);
        return EX_CONFIG;
    }
    if (check) {
        printf("%s: OK: %zu programs, %zu sites, %zu devices on %zu links; savings %s\n", path,
               pl.cfg->nprograms, pl.cfg->nsites, pl.cfg->ndevices, pl.cfg->nlinks,
               pl.savings_path[0] ? pl.savings_path : "defaults");
        savings_config_free(&pl.savings);
        config_free(pl.cfg);
        return EX_OK;
    }
    /* Simulated time (--time, --speed) for the whole process, before any thread. */
    if (has_start || speed != 1.0) {
        clock_sim_start(has_start ? (double)start_s : (double)clock_wall_ms() / 1000.0, speed);
        log_info("simulated clock: %lld ms since the epoch, %g simulated seconds per second",
                 (long long)clock_wall_ms(), speed);
    }
    /* Signals are taken synchronously by the main loop: block them in every thread. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = EX_SOFTWARE;
    if (pipeline_start(&pl, NULL) == 0)
        rc = run(&pl, path);
    savings_config_free(&pl.savings);
    config_free(pl.cfg);
    return rc;
}
