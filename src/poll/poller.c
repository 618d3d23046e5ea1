/* poller.c -- the poll loop: a deadline queue of links served by a bounded worker pool. */
#include "poller.h"
#include "clock.h"
#include "err.h"
#include "link.h"
#include "log.h"
#include "poll_device.h"
#include "schedule.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LATENESS_BUCKETS 1001 /* 10 ms each; the last holds everything >= 10 s */

/* A device and its place in the schedule. */
struct pdev {
    struct poll_device dev;
    int64_t due_ms;
    int fails;
    int online;
    struct log_limit complain; /* this device's poll failures, rate limited */
};

struct plink {
    struct link link;
    uint32_t *devs;
    size_t ndevs;
    int64_t due_ms;
};

struct worker {
    struct poller *p;
    pthread_t thread;
    int64_t busy_since_ms; /* 0 when idle; guarded by poller.lock */
    uint16_t block[POLL_DEVICE_BLOCK_WORDS];
};

struct poller {
    const struct enmon_config *cfg;
    poller_emit_fn emit;
    poller_ident_fn ident; /* may be NULL */
    void *ctx;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct plink *links;
    struct pdev *devs;
    struct schedule sched; /* the links not being polled, by due_ms */
    struct worker *workers;
    size_t nworkers;
    int stopping;
    struct poller_stats stats;
    uint32_t lateness[LATENESS_BUCKETS]; /* since the last poller_get_stats() */
    int64_t window_max_ms;
};

/* ---- one link ---- */

static void poll_one(struct poller *p, struct plink *pl, struct pdev *d, uint16_t *block)
{
    int64_t start = clock_mono_ms();
    int64_t late = start - d->due_ms;
    struct reading r = {.device = d->dev.index};
    int err = poll_device_read(&d->dev, &pl->link, block, &r, p->ident, p->ctx);
    int ok = err == ENMON_OK;
    int online = d->online;
    if (ok) {
        d->fails = 0;
        online = 1;
    } else {
        d->fails++;
        if (d->fails >= p->cfg->offline_after || online != 1)
            online = 0;
        r.quality = READING_FAILED;
        r.err = (int16_t)err;
        log_limited(&d->complain, 60, LOG_NOTICE, "device %s (%s unit %d): poll failed: %s",
                    d->dev.cfg->id, pl->link.cfg->uri, d->dev.cfg->unit, enmon_strerror(err));
    }
    if (online != d->online && (online == 1 || d->online == 1))
        log_msg(online ? LOG_INFO : LOG_WARNING, "device %s is %s%s", d->dev.cfg->id,
                online ? "online" : "offline: ", online ? "" : enmon_strerror(err));
    r.online = (uint8_t)(online == 1);
    r.mono_ms = clock_mono_ms();
    r.wall_ms = clock_wall_ms();
    p->emit(p->ctx, &r);
    d->due_ms = ok ? schedule_next_due(d->due_ms, d->dev.cfg->interval_ms, r.mono_ms)
                   : schedule_retry_due(d->dev.cfg->interval_ms, d->fails, r.mono_ms);

    pthread_mutex_lock(&p->lock);
    d->online = online;
    p->stats.polls++;
    p->stats.failures += !ok;
    if (late > p->stats.lateness_max_ms)
        p->stats.lateness_max_ms = late;
    if (late > p->window_max_ms)
        p->window_max_ms = late;
    p->lateness[late < 0 ? 0 : (late / 10 >= LATENESS_BUCKETS ? LATENESS_BUCKETS - 1 : late / 10)]++;
    pthread_mutex_unlock(&p->lock);
}

static int stopping(struct poller *p)
{
    return __atomic_load_n(&p->stopping, __ATOMIC_RELAXED);
}

/* Polls the due devices of a link: every healthy one, then at most one that is
 * failing. Probing dead units behind a gateway thus delays the healthy ones by
 * at most one timeout per pass, instead of one timeout per dead unit. */
static void poll_link(struct poller *p, struct plink *pl, uint16_t *block)
{
    for (size_t i = 0; i < pl->ndevs && !stopping(p); i++) {
        struct pdev *d = &p->devs[pl->devs[i]];
        if (d->fails == 0 && d->due_ms <= clock_mono_ms())
            poll_one(p, pl, d, block);
    }
    for (size_t i = 0; i < pl->ndevs && !stopping(p); i++) {
        struct pdev *d = &p->devs[pl->devs[i]];
        if (d->fails > 0 && d->due_ms <= clock_mono_ms()) {
            poll_one(p, pl, d, block);
            break;
        }
    }
    int64_t earliest = INT64_MAX;
    for (size_t i = 0; i < pl->ndevs; i++)
        if (p->devs[pl->devs[i]].due_ms < earliest)
            earliest = p->devs[pl->devs[i]].due_ms;
    pl->due_ms = earliest;
}

static void wait_until(struct poller *p, int64_t due_ms)
{
    struct timespec ts = {.tv_sec = due_ms / 1000, .tv_nsec = (due_ms % 1000) * 1000000};
    pthread_cond_timedwait(&p->wake, &p->lock, &ts);
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct poller *p = w->p;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        if (p->sched.len == 0) {
            pthread_cond_wait(&p->wake, &p->lock);
            continue;
        }
        int64_t now = clock_mono_ms();
        if (schedule_peek_due(&p->sched) > now) {
            wait_until(p, schedule_peek_due(&p->sched));
            continue;
        }
        struct plink *pl = schedule_pop(&p->sched);
        w->busy_since_ms = now;
        pthread_mutex_unlock(&p->lock);
        poll_link(p, pl, w->block);
        pthread_mutex_lock(&p->lock);
        w->busy_since_ms = 0;
        schedule_push(&p->sched, pl->due_ms, pl);
        pthread_cond_signal(&p->wake);
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- setup ---- */

static int build_links(struct poller *p)
{
    const struct enmon_config *cfg = p->cfg;
    size_t *count = calloc(cfg->nlinks ? cfg->nlinks : 1, sizeof(*count));
    p->links = calloc(cfg->nlinks ? cfg->nlinks : 1, sizeof(*p->links));
    p->devs = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof(*p->devs));
    int sched = schedule_init(&p->sched, cfg->nlinks);
    if (!count || !p->links || !p->devs || sched != ENMON_OK) {
        free(count);
        return ENMON_ERR_NOMEM;
    }
    for (size_t i = 0; i < cfg->ndevices; i++)
        count[cfg->devices[i].link]++;
    int64_t now = clock_mono_ms();
    for (size_t i = 0; i < cfg->nlinks; i++) {
        link_init(&p->links[i].link, &cfg->links[i]);
        p->links[i].devs = calloc(count[i] ? count[i] : 1, sizeof(uint32_t));
        if (!p->links[i].devs) {
            free(count);
            return ENMON_ERR_NOMEM;
        }
        p->links[i].due_ms = now;
    }
    free(count);
    for (size_t i = 0; i < cfg->ndevices; i++) {
        struct pdev *d = &p->devs[i];
        *d = (struct pdev){.due_ms = now, .online = -1};
        struct plink *pl = &p->links[cfg->devices[i].link];
        pl->devs[pl->ndevs++] = (uint32_t)i;
        int rc = poll_device_init(&d->dev, &cfg->devices[i], (uint32_t)i);
        if (rc != ENMON_OK) {
            log_err("device %s: cannot plan the reads of map %s: %s", d->dev.cfg->id,
                    d->dev.cfg->map->path, enmon_strerror(rc));
            return rc;
        }
    }
    for (size_t i = 0; i < cfg->nlinks; i++) {
        struct plink *pl = &p->links[i];
        for (size_t k = 0; k < pl->ndevs; k++) { /* spread over the interval */
            struct pdev *d = &p->devs[pl->devs[k]];
            d->due_ms = schedule_first_due(now, d->dev.cfg->interval_ms, k, pl->ndevs);
        }
        pl->due_ms = now;
        if (pl->ndevs)
            schedule_push(&p->sched, pl->due_ms, pl);
    }
    return ENMON_OK;
}

static void poller_free(struct poller *p)
{
    if (p->links)
        for (size_t i = 0; i < p->cfg->nlinks; i++) {
            link_close(&p->links[i].link);
            free(p->links[i].devs);
        }
    free(p->links);
    for (size_t i = 0; p->devs && i < p->cfg->ndevices; i++)
        poll_device_free(&p->devs[i].dev);
    free(p->devs);
    schedule_free(&p->sched);
    free(p->workers);
    pthread_mutex_destroy(&p->lock);
    pthread_cond_destroy(&p->wake);
    free(p);
}

struct kept_link {
    char uri[sizeof(((struct cfg_link *)0)->uri)];
    struct link link;
    int taken;
};

struct poller_links {
    struct kept_link *v;
    size_t n;
};

void poller_links_free(struct poller_links *kept)
{
    if (!kept)
        return;
    for (size_t i = 0; i < kept->n; i++)
        if (!kept->v[i].taken)
            link_close(&kept->v[i].link);
    free(kept->v);
    free(kept);
}

/* Moves the open connections of a stopped poller into a new poller_links. */
static struct poller_links *detach_links(struct poller *p)
{
    struct poller_links *k = calloc(1, sizeof(*k));
    if (k)
        k->v = calloc(p->cfg->nlinks ? p->cfg->nlinks : 1, sizeof(*k->v));
    if (!k || !k->v) {
        free(k);
        return NULL;
    }
    for (size_t i = 0; i < p->cfg->nlinks; i++) {
        struct link *l = &p->links[i].link;
        if (!l->conn)
            continue;
        struct kept_link *kl = &k->v[k->n++];
        snprintf(kl->uri, sizeof(kl->uri), "%s", l->cfg->uri);
        kl->link = *l;
        l->conn = NULL; /* now owned by k */
    }
    return k;
}

/* Links of the new configuration take over kept connections with the same URI. */
static void adopt_links(struct poller *p, struct poller_links *kept)
{
    size_t adopted = 0;
    for (size_t i = 0; kept && i < p->cfg->nlinks; i++) {
        for (size_t k = 0; k < kept->n; k++) {
            struct kept_link *kl = &kept->v[k];
            if (kl->taken || strcmp(kl->uri, p->cfg->links[i].uri) != 0)
                continue;
            p->links[i].link = kl->link;
            p->links[i].link.cfg = &p->cfg->links[i];
            kl->taken = 1;
            adopted++;
            break;
        }
    }
    if (kept && kept->n)
        log_info("poller: %zu of %zu open links kept", adopted, kept->n);
    poller_links_free(kept);
}

int poller_start(const struct enmon_config *cfg, poller_emit_fn emit, void *ctx,
                 struct poller **out)
{
    return poller_start_keep(cfg, emit, NULL, ctx, NULL, out);
}

int poller_start_keep(const struct enmon_config *cfg, poller_emit_fn emit, poller_ident_fn ident,
                      void *ctx, struct poller_links *kept, struct poller **out)
{
    struct poller *p = calloc(1, sizeof(*p));
    if (!p)
        return ENMON_ERR_NOMEM;
    p->cfg = cfg;
    p->emit = emit;
    p->ident = ident;
    p->ctx = ctx;
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->wake, &attr);
    pthread_condattr_destroy(&attr);
    size_t n = (size_t)(cfg->workers > 0 ? cfg->workers : 1);
    if (n > cfg->nlinks)
        n = cfg->nlinks ? cfg->nlinks : 1;
    p->workers = calloc(n, sizeof(*p->workers));
    int rc = p->workers ? build_links(p) : ENMON_ERR_NOMEM;
    if (rc != ENMON_OK) {
        poller_links_free(kept);
        poller_free(p);
        return rc;
    }
    adopt_links(p, kept);
    for (size_t i = 0; i < n; i++) {
        p->workers[i].p = p;
        if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0)
            break;
        p->nworkers++;
    }
    *out = p;
    return ENMON_OK;
}

static int64_t lateness_p99(const struct poller *p)
{
    uint64_t total = 0, seen = 0;
    for (int i = 0; i < LATENESS_BUCKETS; i++)
        total += p->lateness[i];
    for (int i = 0; i < LATENESS_BUCKETS; i++) {
        seen += p->lateness[i];
        if (total && seen * 100 >= total * 99)
            return (int64_t)i * 10;
    }
    return 0;
}

void poller_get_stats(struct poller *p, struct poller_stats *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->stats;
    out->lateness_p99_ms = lateness_p99(p);
    out->lateness_window_max_ms = p->window_max_ms;
    memset(p->lateness, 0, sizeof(p->lateness)); /* the next call reports a fresh window */
    p->window_max_ms = 0;
    size_t online = 0;
    for (size_t i = 0; i < p->cfg->ndevices; i++)
        online += p->devs[i].online == 1;
    out->online = online;
    pthread_mutex_unlock(&p->lock);
}

int poller_healthy(struct poller *p, int64_t stuck_ms)
{
    int64_t now = clock_mono_ms();
    int ok = 1;
    pthread_mutex_lock(&p->lock);
    for (size_t i = 0; i < p->nworkers; i++)
        if (p->workers[i].busy_since_ms && now - p->workers[i].busy_since_ms > stuck_ms)
            ok = 0;
    if (p->sched.len && now - schedule_peek_due(&p->sched) > stuck_ms)
        ok = 0;
    pthread_mutex_unlock(&p->lock);
    return ok;
}

void poller_stop(struct poller *p, struct poller_stats *final)
{
    poller_stop_keep(p, final, NULL);
}

void poller_stop_keep(struct poller *p, struct poller_stats *final, struct poller_links **kept)
{
    if (kept)
        *kept = NULL;
    if (!p)
        return;
    pthread_mutex_lock(&p->lock);
    __atomic_store_n(&p->stopping, 1, __ATOMIC_RELAXED);
    pthread_cond_broadcast(&p->wake);
    pthread_mutex_unlock(&p->lock);
    for (size_t i = 0; i < p->nworkers; i++)
        pthread_join(p->workers[i].thread, NULL);
    if (final)
        poller_get_stats(p, final);
    if (kept)
        *kept = detach_links(p);
    poller_free(p);
}
