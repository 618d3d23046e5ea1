/* poller.c -- the poll loop: a deadline queue of links served by a bounded worker pool. */
#include "poller.h"
#include "clock.h"
#include "err.h"
#include "link.h"
#include "log.h"
#include "regmap.h"
#include "reqplan.h"
#include "sunspec.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define LATENESS_BUCKETS 1001 /* 10 ms each; the last holds everything >= 10 s */
#define BACKOFF_MAX_MS 60000
#define BLOCK_WORDS 65538
#define BUSY_RETRIES 3     /* extra tries after Modbus exception 6 (busy) */
#define BUSY_PAUSE_MS 200  /* least pause before such a retry */

struct pdev {
    const struct cfg_device *cfg;
    uint32_t index;
    int64_t due_ms;
    int fails;
    int online;
    int discovered;
    struct log_limit complain; /* this device's poll failures, rate limited */
    struct sunspec_plan plan;
    /* register-map devices: the planned reads, remembered across polls (a
     * rejected merged read is replaced by its split for good) */
    struct reqplan_point *points;
    size_t npoints;
    struct reqplan_req *reqs;
    struct regmap_block *blocks;
    size_t nreqs, cap_reqs;
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
    uint16_t block[BLOCK_WORDS];
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
    struct plink **heap; /* min-heap on due_ms of links not being polled */
    size_t heap_len;
    struct worker *workers;
    size_t nworkers;
    int stopping;
    int64_t stall_at_ms; /* test hook (POLLER_TEST_STALL_ENV): 0 off */
    struct poller_stats stats;
    uint32_t lateness[LATENESS_BUCKETS]; /* since the last poller_get_stats() */
    int64_t window_max_ms;
};

/* ---- deadline heap (callers hold p->lock) ---- */

static void heap_swap(struct plink **h, size_t a, size_t b)
{
    struct plink *t = h[a];
    h[a] = h[b];
    h[b] = t;
}

static void heap_push(struct poller *p, struct plink *l)
{
    size_t i = p->heap_len++;
    p->heap[i] = l;
    while (i > 0 && p->heap[(i - 1) / 2]->due_ms > p->heap[i]->due_ms) {
        heap_swap(p->heap, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
}

static struct plink *heap_pop(struct poller *p)
{
    struct plink *top = p->heap[0];
    p->heap[0] = p->heap[--p->heap_len];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < p->heap_len && p->heap[l]->due_ms < p->heap[m]->due_ms)
            m = l;
        if (r < p->heap_len && p->heap[r]->due_ms < p->heap[m]->due_ms)
            m = r;
        if (m == i)
            break;
        heap_swap(p->heap, i, m);
        i = m;
    }
    return top;
}

/* ---- one device ---- */

struct read_ctx {
    struct link *link;
    const struct cfg_device *dev;
    int requests; /* sent in this poll, for the pause between requests */
};

static void pause_ms(int ms)
{
    if (ms > 0)
        clock_sleep_until_ms(clock_mono_ms() + ms);
}

/* One read with the device's retries; exception 6 (busy) gets its own retries after a pause. */
static int read_kind(struct read_ctx *c, enum link_regs kind, uint16_t addr, uint16_t count,
                     uint16_t *dest)
{
    int rc = ENMON_ERR_TIMEOUT;
    int busy = 0;
    for (int attempt = 0; attempt <= c->dev->retries + busy; attempt++) {
        if (c->requests++ > 0)
            pause_ms(c->dev->pause_ms);
        rc = link_read(c->link, c->dev->unit, kind, addr, count, dest, c->dev->timeout_ms);
        if (rc == ENMON_ERR_BUSY && busy < BUSY_RETRIES) {
            busy++;
            if (c->dev->pause_ms < BUSY_PAUSE_MS) /* the retry's own pause covers the rest */
                pause_ms(BUSY_PAUSE_MS - c->dev->pause_ms);
            continue;
        }
        if (rc == ENMON_OK || rc == ENMON_ERR_CONNECT || rc == ENMON_ERR_REJECTED)
            break;
    }
    return rc;
}

static int read_registers(void *vctx, uint16_t addr, uint16_t count, uint16_t *dest)
{
    return read_kind(vctx, LINK_HOLDING, addr, count, dest);
}

/* ---- register-map devices ---- */

static int map_plan(struct pdev *d)
{
    const struct regmap *m = d->cfg->map;
    d->npoints = regmap_plan_size(m);
    d->cap_reqs = d->npoints + 1;
    d->points = calloc(d->npoints + 1, sizeof(*d->points));
    d->reqs = calloc(d->cap_reqs, sizeof(*d->reqs));
    d->blocks = calloc(d->cap_reqs, sizeof(*d->blocks));
    if (!d->points || !d->reqs || !d->blocks || regmap_plan_points(m, d->points, d->npoints) < 0)
        return ENMON_ERR_NOMEM;
    int n = reqplan_build(d->points, d->npoints, d->cfg->max_regs, d->cfg->max_gap, d->reqs,
                          d->cap_reqs);
    if (n < 0)
        return ENMON_ERR_CONFIG;
    d->nreqs = (size_t)n;
    return ENMON_OK;
}

/* The device refused request i: plan it as smaller reads from now on (or drop an
 * unreadable range, whose points then stay invalid). Returns ENMON_OK to go on. */
static int map_split(struct pdev *d, size_t i)
{
    struct reqplan_req parts[64];
    struct reqplan_req failed = d->reqs[i];
    int n = reqplan_split(d->points, d->npoints, &failed, parts, 64);
    if (n < 0)
        return ENMON_ERR_REJECTED;
    int total = reqplan_replace(d->reqs, d->nreqs, d->cap_reqs, i, parts, (size_t)n);
    if (total < 0)
        return ENMON_ERR_REJECTED;
    d->nreqs = (size_t)total;
    log_warn("device %s: registers %u..%u (%s) rejected; %s", d->cfg->id, failed.start,
             failed.start + failed.count - 1, failed.kind == REGMAP_INPUT ? "input" : "holding",
             n ? "reading them in smaller parts from now on" : "their points stay invalid");
    return ENMON_OK;
}

static int map_poll(struct pdev *d, struct read_ctx *rc, uint16_t *block, struct reading *r)
{
    size_t off = 0;
    for (size_t i = 0; i < d->nreqs;) {
        struct reqplan_req *q = &d->reqs[i];
        if (off + q->count > BLOCK_WORDS)
            return ENMON_ERR_RANGE;
        enum link_regs kind = q->kind == REGMAP_INPUT ? LINK_INPUT : LINK_HOLDING;
        int err = read_kind(rc, kind, q->start, q->count, block + off);
        if (err == ENMON_ERR_REJECTED) {
            if (map_split(d, i) != ENMON_OK)
                return err;
            continue; /* request i is now the first part of the split */
        }
        if (err != ENMON_OK)
            return err;
        d->blocks[i] = (struct regmap_block){q->kind, q->start, q->count, block + off};
        off += q->count;
        i++;
    }
    if (d->nreqs == 0)
        return ENMON_ERR_REJECTED;
    int bad = regmap_decode(d->cfg->map, d->blocks, d->nreqs, r);
    r->quality = bad ? READING_PARTIAL : READING_OK;
    return ENMON_OK;
}

static int device_discover(struct poller *p, struct pdev *d, struct read_ctx *rc, uint16_t *block)
{
    struct sunspec_chain chain;
    int err = sunspec_discover(read_registers, rc, d->cfg->sunspec_base, &chain);
    if (err == ENMON_OK)
        err = sunspec_plan_build_nth(&chain, d->cfg->sunspec_device, &d->plan);
    if (err != ENMON_OK)
        return err;
    struct sunspec_common info = {0};
    if (chain.nmodels > 0 && chain.models[0].id == 1 &&
        sunspec_read_model(read_registers, rc, &chain.models[0], block) == ENMON_OK)
        sunspec_common_decode(block, (size_t)chain.models[0].len + 2, &info);
    char models[160] = "";
    size_t n = 0;
    for (int i = 0; i < chain.nmodels && n < sizeof(models) - 8; i++)
        n += (size_t)snprintf(models + n, sizeof(models) - n, " %u", chain.models[i].id);
    log_info("device %s: SunSpec at %u, models%s; %s %s serial %s", d->cfg->id, chain.base, models,
             info.manufacturer, info.model, info.serial);
    if (p->ident && info.manufacturer[0])
        p->ident(p->ctx, d->index, &info);
    d->discovered = 1;
    return ENMON_OK;
}

static int device_poll(struct poller *p, struct pdev *d, struct link *link, uint16_t *block,
                       struct reading *r)
{
    struct read_ctx rc = {.link = link, .dev = d->cfg};
    int err = ENMON_OK;
    if (d->cfg->map)
        return map_poll(d, &rc, block, r);
    if (!d->discovered)
        err = device_discover(p, d, &rc, block);
    if (err == ENMON_OK)
        err = sunspec_read_model(read_registers, &rc, &d->plan.main, block);
    if (err == ENMON_OK)
        sunspec_plan_decode(&d->plan, block, (size_t)d->plan.main.len + 2, r);
    else if (err == ENMON_ERR_REJECTED)
        d->discovered = 0; /* the model moved (device replaced?): walk the chain again */
    return err;
}

static int64_t next_due(const struct pdev *d, int64_t now, int ok)
{
    int64_t interval = d->cfg->interval_ms;
    if (!ok) {
        /* interval x 1, 2, 4 ... up to BACKOFF_MAX_MS (or the interval, if longer) */
        int shift = d->fails - 1 < 6 ? d->fails - 1 : 6;
        int64_t backoff = interval << shift;
        int64_t cap = interval > BACKOFF_MAX_MS ? interval : BACKOFF_MAX_MS;
        return now + (backoff > cap ? cap : backoff);
    }
    int64_t due = d->due_ms + interval; /* no drift: next = previous deadline + interval */
    if (due <= now)
        due = now + interval - (now - due) % interval; /* skip missed slots, keep the phase */
    return due;
}

static void poll_one(struct poller *p, struct plink *pl, struct pdev *d, uint16_t *block)
{
    int64_t start = clock_mono_ms();
    int64_t late = start - d->due_ms;
    struct reading r = {.device = d->index};
    int err = device_poll(p, d, &pl->link, block, &r);
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
                    d->cfg->id, pl->link.cfg->uri, d->cfg->unit, enmon_strerror(err));
    }
    if (online != d->online && (online == 1 || d->online == 1))
        log_msg(online ? LOG_INFO : LOG_WARNING, "device %s is %s%s", d->cfg->id,
                online ? "online" : "offline: ", online ? "" : enmon_strerror(err));
    r.online = (uint8_t)(online == 1);
    r.mono_ms = clock_mono_ms();
    r.wall_ms = clock_wall_ms();
    p->emit(p->ctx, &r);
    d->due_ms = next_due(d, r.mono_ms, ok);

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
/* The test hook: past stall_at_ms the worker hangs (until stopped) holding its link. */
static void test_stall(struct poller *p)
{
    if (!p->stall_at_ms || clock_mono_ms() < p->stall_at_ms)
        return;
    while (!stopping(p))
        pause_ms(100);
}

static void poll_link(struct poller *p, struct plink *pl, uint16_t *block)
{
    test_stall(p);
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
        if (p->heap_len == 0) {
            pthread_cond_wait(&p->wake, &p->lock);
            continue;
        }
        int64_t now = clock_mono_ms();
        if (p->heap[0]->due_ms > now) {
            wait_until(p, p->heap[0]->due_ms);
            continue;
        }
        struct plink *pl = heap_pop(p);
        w->busy_since_ms = now;
        pthread_mutex_unlock(&p->lock);
        poll_link(p, pl, w->block);
        pthread_mutex_lock(&p->lock);
        w->busy_since_ms = 0;
        heap_push(p, pl);
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
    p->heap = calloc(cfg->nlinks ? cfg->nlinks : 1, sizeof(*p->heap));
    if (!count || !p->links || !p->devs || !p->heap) {
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
        *d = (struct pdev){.cfg = &cfg->devices[i], .index = (uint32_t)i, .due_ms = now,
                           .online = -1};
        struct plink *pl = &p->links[cfg->devices[i].link];
        pl->devs[pl->ndevs++] = (uint32_t)i;
        int rc = d->cfg->map ? map_plan(d) : ENMON_OK;
        if (rc != ENMON_OK) {
            log_err("device %s: cannot plan the reads of map %s: %s", d->cfg->id,
                    d->cfg->map->path, enmon_strerror(rc));
            return rc;
        }
    }
    for (size_t i = 0; i < cfg->nlinks; i++) {
        struct plink *pl = &p->links[i];
        /* Spread the first polls of a link's devices over their interval: a
         * concentrator's meters then stay spread (each keeps its phase) instead
         * of all falling due, and being discovered, at the same instant. */
        for (size_t k = 0; k < pl->ndevs; k++) {
            struct pdev *d = &p->devs[pl->devs[k]];
            d->due_ms = now + (int64_t)d->cfg->interval_ms * (int64_t)k / (int64_t)pl->ndevs;
        }
        pl->due_ms = now;
        if (pl->ndevs)
            heap_push(p, pl);
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
    for (size_t i = 0; p->devs && i < p->cfg->ndevices; i++) {
        free(p->devs[i].points);
        free(p->devs[i].reqs);
        free(p->devs[i].blocks);
    }
    free(p->devs);
    free(p->heap);
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
        if (l->fd < 0 && !l->mb)
            continue;
        struct kept_link *kl = &k->v[k->n++];
        snprintf(kl->uri, sizeof(kl->uri), "%s", l->cfg->uri);
        kl->link = *l;
        l->fd = -1; /* now owned by k */
        l->mb = NULL;
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

/* The stall test hook's deadline, or 0. */
static int64_t stall_deadline(void)
{
    const char *v = getenv(POLLER_TEST_STALL_ENV);
    if (!v || !*v)
        return 0;
    long s = strtol(v, NULL, 10);
    log_warn("poller: test hook %s=%ld: polling will stall", POLLER_TEST_STALL_ENV, s);
    return clock_mono_ms() + (s > 0 ? s : 0) * 1000 + 1;
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
    p->stall_at_ms = stall_deadline();
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
    if (p->heap_len && now - p->heap[0]->due_ms > stuck_ms)
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
