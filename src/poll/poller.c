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

#define TRUST_PASSES 3        /* clean passes in a row that clear a suspect link or device */

/* A device and its place in the schedule. */
struct pdev {
    struct poll_device dev;
    int64_t due_ms;
    int fails;   /* failed polls in a row */
    int strikes; /* polls with a failed request since the last TRUST_PASSES clean ones */
    int clean;   /* clean polls in a row */
    int online;
    struct log_limit complain; /* this device's poll failures, rate limited */
};

struct pgen;

struct plink {
    struct link link;
    struct pgen *gen;
    uint32_t *devs;
    size_t ndevs;
    int64_t due_ms;
    int64_t budget_ms; /* a pass stops starting polls after this long */
    int suspect;       /* failed recently (or new): served by the suspect share of the workers */
    int failed_once;   /* had a failed request since it was configured */
    int clean_passes;  /* passes in a row without a failed request */
    int busy;          /* a worker holds it (poller.lock) */
    int waiting;       /* new configuration: waits for its busy predecessor's connection */
    struct plink *successor; /* old configuration: the link of the new one with its URI */
};

/* One configuration's links and devices; a reload replaces it while the workers run. */
struct pgen {
    const struct enmon_config *cfg;
    poller_emit_fn emit;
    poller_ident_fn ident; /* may be NULL */
    void *ctx;
    struct plink *links;
    struct pdev *devs;
    size_t busy; /* workers polling one of its links (poller.lock) */
};

struct worker {
    struct poller *p;
    pthread_t thread;
    int64_t busy_since_ms; /* 0 when idle; guarded by poller.lock */
    uint16_t block[POLL_DEVICE_BLOCK_WORDS];
};

struct poller {
    struct pgen *gen; /* the current configuration */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    struct schedule sched;            /* trusted links not being polled, by due_ms */
    struct schedule suspect;          /* suspect links not being polled, by due_ms */
    size_t suspect_busy, suspect_cap; /* workers on suspect links, and their most */
    struct worker *workers;
    size_t nworkers;
    int stopping;
    struct poller_stats stats;
    struct poll_lateness lateness; /* the last minute's */
};

/* ---- one link ---- */

/* Polls d once, started at start (CLOCK_MONOTONIC ms, read by the caller); *done is set
 * to the instant it completed (the next poll's start: one clock read per poll). Returns
 * 1 when the poll was clean (no request failed, not even a retried one). */
static int poll_one(struct poller *p, struct plink *pl, struct pdev *d, uint16_t *block,
                    int64_t start, int64_t *done)
{
    const struct pgen *g = pl->gen;
    int64_t late = start - d->due_ms;
    struct reading r = {.device = d->dev.index};
    int err = poll_device_read(&d->dev, &pl->link, block, &r, g->ident, g->ctx);
    int ok = err == ENMON_OK;
    int clean = ok && d->dev.failed_requests == 0;
    int online = d->online;
    if (ok) {
        d->fails = 0;
        online = 1;
    } else {
        d->fails++;
        if (d->fails >= g->cfg->offline_after || online != 1)
            online = 0;
        r.quality = READING_FAILED;
        r.err = (int16_t)err;
        log_limited(&d->complain, 60, LOG_NOTICE, "device %s (%s unit %d): poll failed: %s",
                    d->dev.cfg->id, pl->link.cfg->uri, d->dev.cfg->unit, enmon_strerror(err));
    }
    if (clean) {
        if (++d->clean >= TRUST_PASSES)
            d->strikes = 0;
    } else {
        d->clean = 0;
        d->strikes++;
    }
    if (online != d->online && (online == 1 || d->online == 1))
        log_msg(online ? LOG_INFO : LOG_WARNING, "device %s is %s%s", d->dev.cfg->id,
                online ? "online" : "offline: ", online ? "" : enmon_strerror(err));
    r.online = (uint8_t)(online == 1);
    r.mono_ms = clock_mono_ms();
    r.wall_ms = clock_wall_ms();
    *done = r.mono_ms;
    g->emit(g->ctx, &r);
    /* a failed request, even one a retry made good, backs off like a failed poll */
    d->due_ms = clean ? schedule_next_due(d->due_ms, d->dev.cfg->interval_ms, r.mono_ms)
                      : schedule_retry_due(d->dev.cfg->interval_ms, d->strikes, r.mono_ms);

    pthread_mutex_lock(&p->lock);
    d->online = online;
    p->stats.polls++;
    p->stats.failures += !ok;
    if (late > p->stats.lateness_max_ms)
        p->stats.lateness_max_ms = late;
    poll_lateness_add(&p->lateness, r.mono_ms, late);
    pthread_mutex_unlock(&p->lock);
    return clean;
}

static int stopping(struct poller *p)
{
    return __atomic_load_n(&p->stopping, __ATOMIC_RELAXED);
}

/* Polls the due devices of a link: every trusted one, then at most one with strikes.
 * Probing dead units behind a gateway thus delays the healthy ones by at most one
 * timeout per pass, instead of one timeout per dead unit. No poll starts once the
 * pass has used its time budget (the rest stay due for the next pass). A failed
 * request makes the link suspect; TRUST_PASSES clean passes in a row clear it (one
 * for a new link that never failed: it was only on probation). */
static void poll_link(struct poller *p, struct plink *pl, uint16_t *block)
{
    struct pdev *devs = pl->gen->devs;
    int64_t start = clock_mono_ms();
    int64_t now = start; /* advanced by each poll's completion time: no clock read per device */
    int polled = 0, clean = 1;
    int open = 1;              /* polls may still start: not stopping, budget left */
    struct pdev *probe = NULL; /* the first due device with strikes: after the trusted ones */
    int64_t earliest = INT64_MAX;
    /* one scan: polls the due trusted devices, picks the probe, and finds the link's
     * next deadline (a pass usually polls one device of many: the scan is its cost) */
    for (size_t i = 0; i < pl->ndevs; i++) {
        struct pdev *d = &devs[pl->devs[i]];
        if (open && (stopping(p) || (polled && now - start >= pl->budget_ms)))
            open = 0;
        if (d->due_ms <= now) {
            if (open && d->strikes == 0) {
                clean &= poll_one(p, pl, d, block, now, &now);
                polled++;
            } else if (!probe && d->strikes > 0) {
                probe = d; /* its deadline counts once it is settled below */
                continue;
            }
        }
        if (d->due_ms < earliest)
            earliest = d->due_ms;
    }
    if (probe) {
        if (open && !stopping(p) && !(polled && now - start >= pl->budget_ms)) {
            clean &= poll_one(p, pl, probe, block, now, &now);
            polled++;
        }
        if (probe->due_ms < earliest)
            earliest = probe->due_ms;
    }
    if (!clean) {
        pl->suspect = 1;
        pl->failed_once = 1;
        pl->clean_passes = 0;
    } else if (polled && (++pl->clean_passes >= TRUST_PASSES || !pl->failed_once)) {
        pl->suspect = 0; /* a new link is trusted after one clean pass, a failed one after 3 */
    }
    pl->due_ms = earliest;
}

static void wait_until(struct poller *p, int64_t due_ms)
{
    struct timespec ts = {.tv_sec = due_ms / 1000, .tv_nsec = (due_ms % 1000) * 1000000};
    pthread_cond_timedwait(&p->wake, &p->lock, &ts);
}

/* Puts an idle link of the current configuration back in its heap. Under p->lock.
 * Returns 1 when it is now the first of its heap (a sleeping worker may have to wake
 * earlier than it planned). */
static int requeue(struct poller *p, struct plink *pl)
{
    if (!pl->ndevs)
        return 0;
    struct schedule *h = pl->suspect ? &p->suspect : &p->sched;
    int first = pl->due_ms < schedule_peek_due(h);
    schedule_push(h, pl->due_ms, pl);
    return first;
}

/* What a device of the old configuration knew, for its unchanged successor. */
static int same_polling(const struct cfg_device *a, const struct cfg_device *b)
{
    return strcmp(a->id, b->id) == 0 && a->kind == b->kind && a->unit == b->unit &&
           a->interval_ms == b->interval_ms && a->timeout_ms == b->timeout_ms &&
           a->retries == b->retries && a->sunspec_base == b->sunspec_base &&
           a->sunspec_device == b->sunspec_device && a->pf_percent == b->pf_percent &&
           a->max_regs == b->max_regs && a->max_gap == b->max_gap && a->pause_ms == b->pause_ms &&
           !a->map == !b->map && (!a->map || strcmp(a->map->path, b->map->path) == 0);
}

/* Hands an old link's connection, class and unchanged devices' schedules to its
 * successor (or closes it), and queues the successor. Under p->lock, link idle. */
static void hand_over(struct poller *p, struct plink *old)
{
    struct plink *nl = old->successor;
    if (!nl) {
        link_close(&old->link);
        return;
    }
    const struct cfg_link *cfg = nl->link.cfg;
    nl->link = old->link;
    nl->link.cfg = cfg;
    old->link.conn = NULL;
    nl->suspect = old->suspect;
    nl->failed_once = old->failed_once;
    nl->clean_passes = old->clean_passes;
    for (size_t i = 0; i < nl->ndevs; i++) {
        struct pdev *nd = &nl->gen->devs[nl->devs[i]];
        for (size_t k = 0; k < old->ndevs; k++) {
            struct pdev *od = &old->gen->devs[old->devs[k]];
            if (!same_polling(od->dev.cfg, nd->dev.cfg))
                continue;
            nd->due_ms = od->due_ms;
            nd->fails = od->fails;
            nd->strikes = od->strikes;
            nd->clean = od->clean;
            nd->online = od->online;
            nd->complain = od->complain; /* SunSpec devices are discovered again (and
                                            identified to the new sinks) on their next poll */
            break;
        }
    }
    int64_t earliest = INT64_MAX;
    for (size_t i = 0; i < nl->ndevs; i++)
        if (nl->gen->devs[nl->devs[i]].due_ms < earliest)
            earliest = nl->gen->devs[nl->devs[i]].due_ms;
    nl->due_ms = earliest;
    if (nl->waiting) {
        nl->waiting = 0;
        requeue(p, nl);
    }
}

static void *worker_main(void *arg)
{
    struct worker *w = arg;
    struct poller *p = w->p;
    pthread_mutex_lock(&p->lock);
    while (!p->stopping) {
        int64_t now = clock_mono_ms();
        int64_t trusted = schedule_peek_due(&p->sched);
        int64_t suspect =
            p->suspect_busy < p->suspect_cap ? schedule_peek_due(&p->suspect) : INT64_MAX;
        struct schedule *from = trusted <= now ? &p->sched : suspect <= now ? &p->suspect : NULL;
        if (!from) {
            int64_t next = trusted < suspect ? trusted : suspect;
            if (next == INT64_MAX)
                pthread_cond_wait(&p->wake, &p->lock);
            else
                wait_until(p, next);
            continue;
        }
        struct plink *pl = schedule_pop(from);
        int on_suspect = from == &p->suspect;
        struct pgen *g = pl->gen;
        p->suspect_busy += (size_t)on_suspect;
        pl->busy = 1;
        g->busy++;
        w->busy_since_ms = now;
        pthread_mutex_unlock(&p->lock);
        poll_link(p, pl, w->block);
        pthread_mutex_lock(&p->lock);
        w->busy_since_ms = 0;
        p->suspect_busy -= (size_t)on_suspect;
        pl->busy = 0;
        g->busy--;
        /* Sleeping workers wait for the first deadline of the heaps (or for no
         * deadline when the suspect share is used up). Wake one only when that
         * changed: this link is now first in its heap, or a suspect slot came free
         * while suspect links wait. A reload's waiter is woken by broadcast. */
        if (g != p->gen) {
            hand_over(p, pl); /* reloaded meanwhile */
            pthread_cond_broadcast(&p->wake);
        } else if (requeue(p, pl) || (on_suspect && p->suspect.len)) {
            pthread_cond_signal(&p->wake);
        }
    }
    pthread_mutex_unlock(&p->lock);
    return NULL;
}

/* ---- setup ---- */

static void gen_free(struct pgen *g)
{
    if (!g)
        return;
    if (g->links)
        for (size_t i = 0; i < g->cfg->nlinks; i++) {
            link_close(&g->links[i].link);
            free(g->links[i].devs);
        }
    free(g->links);
    for (size_t i = 0; g->devs && i < g->cfg->ndevices; i++)
        poll_device_free(&g->devs[i].dev);
    free(g->devs);
    free(g);
}

/* The links and devices of cfg, every device spread over its interval from now;
 * every link new (suspect until it proved itself). */
static int gen_build(const struct enmon_config *cfg, struct pgen **out)
{
    struct pgen *g = calloc(1, sizeof(*g));
    size_t *count = calloc(cfg->nlinks ? cfg->nlinks : 1, sizeof(*count));
    if (g) {
        g->cfg = cfg;
        g->links = calloc(cfg->nlinks ? cfg->nlinks : 1, sizeof(*g->links));
        g->devs = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof(*g->devs));
    }
    int rc = g && count && g->links && g->devs ? ENMON_OK : ENMON_ERR_NOMEM;
    for (size_t i = 0; rc == ENMON_OK && i < cfg->ndevices; i++)
        count[cfg->devices[i].link]++;
    int64_t now = clock_mono_ms();
    for (size_t i = 0; rc == ENMON_OK && i < cfg->nlinks; i++) {
        struct plink *pl = &g->links[i];
        *pl = (struct plink){.gen = g, .due_ms = now, .suspect = 1};
        link_init(&pl->link, &cfg->links[i]);
        pl->devs = calloc(count[i] ? count[i] : 1, sizeof(uint32_t));
        if (!pl->devs)
            rc = ENMON_ERR_NOMEM;
    }
    free(count);
    for (size_t i = 0; rc == ENMON_OK && i < cfg->ndevices; i++) {
        struct pdev *d = &g->devs[i];
        *d = (struct pdev){.due_ms = now, .online = -1};
        struct plink *pl = &g->links[cfg->devices[i].link];
        pl->devs[pl->ndevs++] = (uint32_t)i;
        const struct cfg_device *c = &cfg->devices[i];
        int64_t worst =
            (int64_t)c->timeout_ms * (c->retries + 1) + (int64_t)c->pause_ms * c->retries;
        if (worst > pl->budget_ms)
            pl->budget_ms = worst;
        rc = poll_device_init(&d->dev, c, (uint32_t)i);
        if (rc != ENMON_OK)
            log_err("device %s: cannot plan the reads of map %s: %s", c->id, c->map->path,
                    enmon_strerror(rc));
    }
    for (size_t i = 0; rc == ENMON_OK && i < cfg->nlinks; i++) {
        struct plink *pl = &g->links[i];
        for (size_t k = 0; k < pl->ndevs; k++) { /* spread over the interval */
            struct pdev *d = &g->devs[pl->devs[k]];
            d->due_ms = schedule_first_due(now, d->dev.cfg->interval_ms, k, pl->ndevs);
        }
    }
    if (rc != ENMON_OK) {
        gen_free(g);
        return rc;
    }
    *out = g;
    return ENMON_OK;
}

static void poller_free(struct poller *p)
{
    gen_free(p->gen);
    schedule_free(&p->sched);
    schedule_free(&p->suspect);
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
    const struct enmon_config *cfg = p->gen->cfg;
    struct poller_links *k = calloc(1, sizeof(*k));
    if (k)
        k->v = calloc(cfg->nlinks ? cfg->nlinks : 1, sizeof(*k->v));
    if (!k || !k->v) {
        free(k);
        return NULL;
    }
    for (size_t i = 0; i < cfg->nlinks; i++) {
        struct link *l = &p->gen->links[i].link;
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
static void adopt_links(struct pgen *g, struct poller_links *kept)
{
    size_t adopted = 0;
    for (size_t i = 0; kept && i < g->cfg->nlinks; i++) {
        for (size_t k = 0; k < kept->n; k++) {
            struct kept_link *kl = &kept->v[k];
            if (kl->taken || strcmp(kl->uri, g->cfg->links[i].uri) != 0)
                continue;
            g->links[i].link = kl->link;
            g->links[i].link.cfg = &g->cfg->links[i];
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

/* Empty heaps with room for every link of cfg. */
static int heaps_new(const struct enmon_config *cfg, struct schedule *sched,
                     struct schedule *suspect)
{
    if (schedule_init(sched, cfg->nlinks) != ENMON_OK)
        return ENMON_ERR_NOMEM;
    if (schedule_init(suspect, cfg->nlinks) != ENMON_OK) {
        schedule_free(sched);
        return ENMON_ERR_NOMEM;
    }
    return ENMON_OK;
}

/* Makes g current on the given heaps, queueing its links that wait for nobody.
 * Under p->lock (or before the workers start). */
static void install_gen(struct poller *p, struct pgen *g, struct schedule *sched,
                        struct schedule *suspect)
{
    schedule_free(&p->sched);
    schedule_free(&p->suspect);
    p->sched = *sched;
    p->suspect = *suspect;
    p->gen = g;
    for (size_t i = 0; i < g->cfg->nlinks; i++)
        if (!g->links[i].waiting)
            requeue(p, &g->links[i]);
}

int poller_start_keep(const struct enmon_config *cfg, poller_emit_fn emit, poller_ident_fn ident,
                      void *ctx, struct poller_links *kept, struct poller **out)
{
    struct poller *p = calloc(1, sizeof(*p));
    if (!p) {
        poller_links_free(kept);
        return ENMON_ERR_NOMEM;
    }
    poll_lateness_init(&p->lateness);
    pthread_mutex_init(&p->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&p->wake, &attr);
    pthread_condattr_destroy(&attr);
    size_t n = (size_t)(cfg->workers > 0 ? cfg->workers : 1);
    p->suspect_cap = n > 1 ? n / 2 : 1; /* the other half is kept for trusted links */
    p->workers = calloc(n, sizeof(*p->workers));
    struct pgen *g = NULL;
    struct schedule sched, suspect;
    int rc = p->workers ? gen_build(cfg, &g) : ENMON_ERR_NOMEM;
    if (rc == ENMON_OK && (rc = heaps_new(cfg, &sched, &suspect)) != ENMON_OK)
        gen_free(g);
    if (rc != ENMON_OK) {
        poller_links_free(kept);
        poller_free(p);
        return rc;
    }
    g->emit = emit;
    g->ident = ident;
    g->ctx = ctx;
    adopt_links(g, kept);
    install_gen(p, g, &sched, &suspect);
    for (size_t i = 0; i < n; i++) {
        p->workers[i].p = p;
        if (pthread_create(&p->workers[i].thread, NULL, worker_main, &p->workers[i]) != 0)
            break;
        p->nworkers++;
    }
    *out = p;
    return ENMON_OK;
}

int poller_reload(struct poller *p, const struct enmon_config *cfg, poller_emit_fn emit,
                  poller_ident_fn ident, void *ctx)
{
    struct pgen *g;
    struct schedule sched, suspect;
    int rc = gen_build(cfg, &g);
    if (rc != ENMON_OK)
        return rc;
    if ((rc = heaps_new(cfg, &sched, &suspect)) != ENMON_OK) {
        gen_free(g);
        return rc;
    }
    g->emit = emit;
    g->ident = ident;
    g->ctx = ctx;
    if ((size_t)(cfg->workers > 0 ? cfg->workers : 1) != p->nworkers)
        log_msg(LOG_NOTICE, "poller: polling.workers changes at the next start (%zu workers now)",
                p->nworkers);
    size_t kept = 0, waited = 0;
    pthread_mutex_lock(&p->lock);
    struct pgen *old = p->gen;
    for (size_t i = 0; i < old->cfg->nlinks; i++) {
        struct plink *ol = &old->links[i];
        ol->successor = NULL;
        for (size_t k = 0; k < cfg->nlinks; k++)
            if (strcmp(ol->link.cfg->uri, cfg->links[k].uri) == 0) {
                ol->successor = &g->links[k];
                g->links[k].waiting = ol->busy;
                waited += (size_t)ol->busy;
                kept += ol->busy || ol->link.conn;
                break;
            }
    }
    for (size_t i = 0; i < old->cfg->nlinks; i++) /* idle links now, busy ones when done */
        if (!old->links[i].busy)
            hand_over(p, &old->links[i]);
    install_gen(p, g, &sched, &suspect);
    pthread_cond_broadcast(&p->wake);
    while (old->busy)
        pthread_cond_wait(&p->wake, &p->lock);
    pthread_mutex_unlock(&p->lock);
    log_info("poller: reloaded while polling: %zu links, %zu kept, %zu finished their pass first",
             cfg->nlinks, kept, waited);
    gen_free(old);
    return ENMON_OK;
}

void poll_lateness_init(struct poll_lateness *w)
{
    memset(w, 0, sizeof(*w));
    for (int s = 0; s < POLL_LATE_SLOTS; s++)
        w->slot[s] = -1;
}

void poll_lateness_add(struct poll_lateness *w, int64_t now_ms, int64_t late_ms)
{
    int64_t slot = (now_ms < 0 ? 0 : now_ms) / POLL_LATE_SLOT_MS;
    int s = (int)(slot % POLL_LATE_SLOTS);
    if (w->slot[s] != slot) { /* a slot older than the window: start it afresh */
        memset(w->hist[s], 0, sizeof(w->hist[s]));
        w->max_ms[s] = 0;
        w->slot[s] = slot;
    }
    if (late_ms > w->max_ms[s])
        w->max_ms[s] = late_ms;
    int64_t b = late_ms < 0 ? 0 : late_ms / 10;
    w->hist[s][b >= POLL_LATE_BUCKETS ? POLL_LATE_BUCKETS - 1 : b]++;
}

void poll_lateness_get(const struct poll_lateness *w, int64_t now_ms, int64_t *p99_ms,
                       int64_t *max_ms)
{
    int64_t cur = (now_ms < 0 ? 0 : now_ms) / POLL_LATE_SLOT_MS;
    int in[POLL_LATE_SLOTS];
    uint64_t total = 0, seen = 0;
    *p99_ms = *max_ms = 0;
    for (int s = 0; s < POLL_LATE_SLOTS; s++) {
        in[s] = w->slot[s] >= 0 && w->slot[s] <= cur && cur - w->slot[s] < POLL_LATE_SLOTS;
        if (!in[s])
            continue;
        if (w->max_ms[s] > *max_ms)
            *max_ms = w->max_ms[s];
        for (int i = 0; i < POLL_LATE_BUCKETS; i++)
            total += w->hist[s][i];
    }
    for (int i = 0; total && i < POLL_LATE_BUCKETS; i++) {
        for (int s = 0; s < POLL_LATE_SLOTS; s++)
            seen += in[s] ? w->hist[s][i] : 0;
        if (seen * 100 >= total * 99) {
            *p99_ms = (int64_t)i * 10;
            return;
        }
    }
}

void poller_get_stats(struct poller *p, struct poller_stats *out)
{
    pthread_mutex_lock(&p->lock);
    *out = p->stats;
    poll_lateness_get(&p->lateness, clock_mono_ms(), &out->lateness_p99_ms,
                      &out->lateness_window_max_ms);
    size_t online = 0;
    for (size_t i = 0; i < p->gen->cfg->ndevices; i++)
        online += p->gen->devs[i].online == 1;
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
