/* enmond.c -- the enmon daemon: config, poller, sinks, signals and systemd notification. */
#include "clock.h"
#include "config.h"
#include "err.h"
#include "log.h"
#include "mqtt_sink.h"
#include "poller.h"
#include "store.h"

#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <systemd/sd-daemon.h>
#include <time.h>

#define EX_USAGE_CODE 64
#define EX_CONFIG_CODE 78
#define EX_SOFTWARE_CODE 70
#define DEFAULT_CONFIG "/etc/enmon/enmond.yaml"
#define STATS_EVERY_MS 60000
#define STUCK_MIN_MS 30000

struct pipeline {
    struct enmon_config *cfg;
    struct store *store;
    struct mqtt_sink *mqtt;
    struct poller *poller;
};

static void pipeline_emit(void *ctx, const struct reading *r)
{
    struct pipeline *pl = ctx;
    store_submit(pl->store, r);
    mqtt_sink_submit(pl->mqtt, r);
}

static int pipeline_start(struct pipeline *pl)
{
    char msg[256] = "";
    if (store_open(pl->cfg, &pl->store, msg, sizeof(msg)) != ENMON_OK) {
        log_err("database %s: %s", pl->cfg->database, msg);
        return -1;
    }
    if (mqtt_sink_start(pl->cfg, &pl->mqtt, msg, sizeof(msg)) != ENMON_OK) {
        log_err("mqtt %s:%d: %s", pl->cfg->mqtt.host, pl->cfg->mqtt.port, msg);
        store_close(pl->store);
        pl->store = NULL;
        return -1;
    }
    int rc = poller_start(pl->cfg, pipeline_emit, pl, &pl->poller);
    if (rc != ENMON_OK) {
        log_err("poller: %s", enmon_strerror(rc));
        mqtt_sink_stop(pl->mqtt);
        store_close(pl->store);
        pl->mqtt = NULL;
        pl->store = NULL;
        return -1;
    }
    return 0;
}

static void log_stats(struct pipeline *pl, const struct poller_stats *final);

/* Stops polling first, then lets each sink drain what it holds: nothing queued is
 * lost. With log_final, logs the statistics once polling has stopped. */
static void pipeline_stop(struct pipeline *pl, int log_final)
{
    struct poller_stats final;
    poller_stop(pl->poller, &final);
    if (log_final)
        log_stats(pl, &final);
    mqtt_sink_stop(pl->mqtt);
    store_close(pl->store);
    pl->poller = NULL;
    pl->mqtt = NULL;
    pl->store = NULL;
}

static int load_config(const char *path, struct enmon_config **out)
{
    struct cfg_error err;
    int rc = config_load(path, out, &err);
    if (rc != ENMON_OK) {
        char buf[1024];
        config_format_error(&err, buf, sizeof(buf));
        log_err("%s", buf);
    }
    return rc;
}

/* One line of counters; lateness covers the window since the previous line. */
static void log_stats(struct pipeline *pl, const struct poller_stats *final)
{
    struct poller_stats ps;
    struct store_stats ss;
    struct mqtt_sink_stats ms;
    if (final)
        ps = *final;
    else
        poller_get_stats(pl->poller, &ps);
    store_get_stats(pl->store, &ss);
    mqtt_sink_get_stats(pl->mqtt, &ms);
    log_info("polls=%llu failed=%llu online=%zu/%zu lateness p99=%lldms max=%lldms "
             "db written=%llu dropped=%llu mqtt published=%llu dropped=%llu connected=%d "
             "lateness_max_since_start=%lldms",
             (unsigned long long)ps.polls, (unsigned long long)ps.failures, ps.online,
             pl->cfg->ndevices, (long long)ps.lateness_p99_ms,
             (long long)ps.lateness_window_max_ms, (unsigned long long)ss.written,
             (unsigned long long)ss.dropped, (unsigned long long)ms.published,
             (unsigned long long)ms.dropped, ms.connected, (long long)ps.lateness_max_ms);
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

/* SIGHUP: load the new file; on error keep running the old configuration. */
static void reload(struct pipeline *pl, const char *path)
{
    struct enmon_config *next;
    sd_notify(0, "RELOADING=1");
    if (load_config(path, &next) != ENMON_OK) {
        log_err("reload rejected; keeping the running configuration");
        sd_notify(0, "READY=1");
        return;
    }
    pipeline_stop(pl, 0);
    struct enmon_config *prev = pl->cfg;
    pl->cfg = next;
    if (pipeline_start(pl) != 0) {
        log_err("reload failed; restoring the previous configuration");
        config_free(next);
        pl->cfg = prev;
        if (pipeline_start(pl) != 0) {
            log_err("cannot restart the previous configuration");
            return;
        }
    } else {
        config_free(prev);
    }
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
    int64_t next_stats = clock_mono_ms() + STATS_EVERY_MS;
    sd_notifyf(0, "READY=1\nSTATUS=polling %zu devices", pl->cfg->ndevices);
    log_info("enmond running: %zu devices on %zu links, database %s, mqtt %s:%d",
             pl->cfg->ndevices, pl->cfg->nlinks, pl->cfg->database, pl->cfg->mqtt.host,
             pl->cfg->mqtt.port);
    for (;;) {
        int64_t wait = wd_every < 1000 ? wd_every : 1000;
        struct timespec ts = {.tv_sec = wait / 1000, .tv_nsec = (wait % 1000) * 1000000};
        int sig = sigtimedwait(&set, NULL, &ts);
        if (sig == SIGTERM || sig == SIGINT)
            break;
        if (sig == SIGHUP) {
            reload(pl, path);
            if (!pl->poller)
                return EX_SOFTWARE_CODE;
        }
        if (watchdog && poller_healthy(pl->poller, stuck_limit_ms(pl->cfg)))
            sd_notify(0, "WATCHDOG=1");
        if (clock_mono_ms() >= next_stats) {
            log_stats(pl, NULL);
            next_stats += STATS_EVERY_MS;
        }
    }
    sd_notify(0, "STOPPING=1");
    log_info("stopping: flushing queues");
    pipeline_stop(pl, 1);
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: enmond [-c CONFIG] [--check-config] [-v] [--version]\n"
                 "  -c, --config FILE   configuration (default " DEFAULT_CONFIG ")\n"
                 "  --check-config      validate the configuration and exit (78 on errors)\n"
                 "  -v, --verbose       log debug messages\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'}, {"check-config", no_argument, NULL, 'C'},
        {"verbose", no_argument, NULL, 'v'},      {"version", no_argument, NULL, 'V'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    const char *path = DEFAULT_CONFIG;
    int check = 0, c;
    while ((c = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
        switch (c) {
        case 'c':
            path = optarg;
            break;
        case 'C':
            check = 1;
            break;
        case 'v':
            log_set_level(LOG_DEBUG);
            break;
        case 'V':
            printf("enmond 0.1.0\n");
            return 0;
        case 'h':
            usage(stdout);
            return 0;
        default:
            usage(stderr);
            return EX_USAGE_CODE;
        }
    }
    if (optind != argc) {
        usage(stderr);
        return EX_USAGE_CODE;
    }
    struct pipeline pl = {0};
    if (load_config(path, &pl.cfg) != ENMON_OK)
        return EX_CONFIG_CODE;
    if (check) {
        printf("%s: OK: %zu programs, %zu sites, %zu devices on %zu links\n", path,
               pl.cfg->nprograms, pl.cfg->nsites, pl.cfg->ndevices, pl.cfg->nlinks);
        config_free(pl.cfg);
        return 0;
    }
    /* Signals are taken synchronously by the main loop: block them in every thread. */
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGTERM);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGHUP);
    pthread_sigmask(SIG_BLOCK, &set, NULL);
    signal(SIGPIPE, SIG_IGN);
    int rc = EX_SOFTWARE_CODE;
    if (pipeline_start(&pl) == 0)
        rc = run(&pl, path);
    config_free(pl.cfg);
    return rc;
}
