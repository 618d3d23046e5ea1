/* live.c -- the live state of enmond for its consumers: latest reading per device, today's
 * energy, and the frames streamed to dashboards. Thread-safe; fed like a sink. */
#include "live.h"

#include "clock.h"
#include "err.h"

#include <errno.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

/* A device's polls parked while the table is locked by a reader: the latest poll's
 * availability and the latest good reading, applied by whoever takes the lock next. */
enum { SLOT_EMPTY, SLOT_BUSY, SLOT_FULL };
#define LIVE_PARK_TRIES 1000
struct live_slot {
    atomic_int state; /* SLOT_*: the writer or merger holding it BUSY owns the fields */
    int online, has_good;
    int64_t poll_ms;
    struct reading good;
    atomic_uint_fast64_t polls, failures; /* every poll counted, parked, dropped or not */
};

struct live {
    const struct enmon_config *cfg;
    pthread_mutex_t lock; /* held only for copies, never across a query or I/O */
    struct live_slot *slots;
    atomic_uint_fast64_t deferred, dropped;
    pthread_cond_t frame_cond; /* CLOCK_MONOTONIC */
    struct live_dev *devs;
    size_t *by_key; /* device indexes sorted by id, for the database's keys */
    char *frame;
    uint64_t frame_gen;
    atomic_int_fast64_t listen_ms; /* a stream's last poll (clock_mono_ms), 0: none yet */
    int closed;
};

static const struct enmon_config *sort_cfg;

static int cmp_key(const void *a, const void *b)
{
    return strcmp(sort_cfg->devices[*(const size_t *)a].id,
                  sort_cfg->devices[*(const size_t *)b].id);
}

static int init_sync(struct live *l)
{
    pthread_condattr_t ca;
    if (pthread_condattr_init(&ca) != 0)
        return -1;
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&l->frame_cond, &ca);
    pthread_condattr_destroy(&ca);
    if (rc != 0)
        return -1;
    pthread_mutex_init(&l->lock, NULL);
    return 0;
}

int live_open(const struct enmon_config *cfg, struct live **out)
{
    static pthread_mutex_t sort_lock = PTHREAD_MUTEX_INITIALIZER;
    struct live *l = calloc(1, sizeof(*l));
    size_t n = cfg->ndevices ? cfg->ndevices : 1;
    *out = NULL;
    if (!l)
        return ENMON_ERR_NOMEM;
    l->cfg = cfg;
    l->devs = calloc(n, sizeof(*l->devs));
    l->by_key = calloc(n, sizeof(*l->by_key));
    l->slots = calloc(n, sizeof(*l->slots));
    if (!l->devs || !l->by_key || !l->slots || init_sync(l) != 0) {
        free(l->slots);
        free(l->devs);
        free(l->by_key);
        free(l);
        return ENMON_ERR_NOMEM;
    }
    for (size_t i = 0; i < cfg->ndevices; i++)
        l->by_key[i] = i;
    pthread_mutex_lock(&sort_lock);
    sort_cfg = cfg;
    qsort(l->by_key, cfg->ndevices, sizeof(*l->by_key), cmp_key);
    pthread_mutex_unlock(&sort_lock);
    *out = l;
    return ENMON_OK;
}

void live_free(struct live *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->lock);
    pthread_cond_destroy(&l->frame_cond);
    free(l->slots);
    free(l->devs);
    free(l->by_key);
    free(l->frame);
    free(l);
}

/* Under l->lock: a poll into the table. */
static void apply_poll(struct live_dev *d, int online, int64_t poll_ms, const struct reading *good)
{
    d->polled = 1;
    d->online = online;
    d->last_poll_ms = poll_ms;
    if (good) {
        d->last = *good;
        d->has_last = 1;
        d->last_seen_ms = good->wall_ms;
    }
}

/* Under l->lock: applies device i's parked polls, unless a writer is filling its slot
 * right now (then the next merge takes them). */
static void merge_slot(struct live *l, size_t i)
{
    struct live_slot *s = &l->slots[i];
    int full = SLOT_FULL;
    if (!atomic_compare_exchange_strong(&s->state, &full, SLOT_BUSY))
        return;
    apply_poll(&l->devs[i], s->online, s->poll_ms, s->has_good ? &s->good : NULL);
    s->has_good = 0;
    atomic_store(&s->state, SLOT_EMPTY);
}

static void merge_all(struct live *l)
{
    for (size_t i = 0; i < l->cfg->ndevices; i++)
        if (atomic_load_explicit(&l->slots[i].state, memory_order_relaxed) == SLOT_FULL)
            merge_slot(l, i);
}

/* Parks r in its device's slot without waiting: on top of polls parked before it (the
 * latest availability, the latest good reading). A merger holds a slot for one struct copy:
 * a bounded number of tries (no sleep, no lock) outlasts that. 0, or -1 when still busy. */
static int park(struct live *l, const struct reading *r)
{
    struct live_slot *s = &l->slots[r->device];
    int was = SLOT_BUSY;
    for (int i = 0; i < LIVE_PARK_TRIES && was == SLOT_BUSY; i++) {
        was = atomic_load(&s->state);
        if (was != SLOT_BUSY && !atomic_compare_exchange_strong(&s->state, &was, SLOT_BUSY))
            was = SLOT_BUSY;
    }
    if (was == SLOT_BUSY)
        return -1;
    if (was == SLOT_EMPTY)
        s->has_good = 0;
    s->online = r->online;
    s->poll_ms = r->wall_ms;
    if (r->quality != READING_FAILED) {
        s->good = *r;
        s->has_good = 1;
    }
    atomic_store(&s->state, SLOT_FULL);
    return 0;
}

void live_reading(struct live *l, const struct reading *r)
{
    if (!l || r->device >= l->cfg->ndevices)
        return;
    atomic_fetch_add_explicit(&l->slots[r->device].polls, 1, memory_order_relaxed);
    if (r->quality == READING_FAILED)
        atomic_fetch_add_explicit(&l->slots[r->device].failures, 1, memory_order_relaxed);
    if (pthread_mutex_trylock(&l->lock) != 0) {
        if (park(l, r) == 0)
            atomic_fetch_add(&l->deferred, 1);
        else
            atomic_fetch_add(&l->dropped, 1);
        return;
    }
    merge_slot(l, r->device); /* polls parked before this one go first */
    apply_poll(&l->devs[r->device], r->online, r->wall_ms, r->quality != READING_FAILED ? r : NULL);
    pthread_mutex_unlock(&l->lock);
}

void live_snapshot(struct live *l, struct live_dev *out)
{
    pthread_mutex_lock(&l->lock);
    merge_all(l);
    memcpy(out, l->devs, l->cfg->ndevices * sizeof(*out));
    pthread_mutex_unlock(&l->lock);
    for (size_t i = 0; i < l->cfg->ndevices; i++) {
        out[i].polls = atomic_load_explicit(&l->slots[i].polls, memory_order_relaxed);
        out[i].failures = atomic_load_explicit(&l->slots[i].failures, memory_order_relaxed);
    }
}

void live_get_stats(struct live *l, struct live_stats *out)
{
    out->deferred = atomic_load(&l->deferred);
    out->dropped = atomic_load(&l->dropped);
}

static long find_key(const struct live *l, const char *key)
{
    size_t lo = 0, hi = l->cfg->ndevices;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        int c = strcmp(key, l->cfg->devices[l->by_key[mid]].id);
        if (c == 0)
            return (long)l->by_key[mid];
        if (c < 0)
            hi = mid;
        else
            lo = mid + 1;
    }
    return -1;
}

int live_load_today(struct live *l, sqlite3 *db, int64_t day_s)
{
    static const char *sql = "SELECT d.key, y.wh_import, y.wh_export FROM daily y "
                             "JOIN devices d ON d.id = y.device_id WHERE y.day_s = ?";
    size_t n = l->cfg->ndevices;
    double *wh = calloc(n ? 2 * n : 2, sizeof(*wh)); /* import, export per device */
    sqlite3_stmt *st;
    int found = 0;
    if (!wh)
        return -1;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK) {
        free(wh);
        return -1;
    }
    sqlite3_bind_int64(st, 1, day_s);
    int rc; /* the query runs without the lock: polls never wait for the database */
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        long i = key ? find_key(l, key) : -1;
        if (i < 0)
            continue;
        wh[2 * i] = sqlite3_column_double(st, 1);
        wh[2 * i + 1] = sqlite3_column_double(st, 2);
        found++;
    }
    sqlite3_finalize(st);
    if (rc == SQLITE_DONE) {
        pthread_mutex_lock(&l->lock);
        for (size_t i = 0; i < n; i++) {
            l->devs[i].today_import_wh = wh[2 * i];
            l->devs[i].today_export_wh = wh[2 * i + 1];
        }
        pthread_mutex_unlock(&l->lock);
    }
    free(wh);
    return rc == SQLITE_DONE ? found : -1;
}

void live_set_frame(struct live *l, const char *json)
{
    char *copy = strdup(json);
    if (!copy)
        return;
    pthread_mutex_lock(&l->lock);
    free(l->frame);
    l->frame = copy;
    l->frame_gen++;
    pthread_cond_broadcast(&l->frame_cond);
    pthread_mutex_unlock(&l->lock);
}

int live_frames_wanted(struct live *l, int64_t now_mono_ms)
{
    int64_t ms = atomic_load(&l->listen_ms);
    return ms != 0 && now_mono_ms - ms < LIVE_LISTEN_MS;
}

void live_drop_frame(struct live *l)
{
    pthread_mutex_lock(&l->lock);
    free(l->frame);
    l->frame = NULL;
    pthread_mutex_unlock(&l->lock);
}

char *live_wait_frame(struct live *l, uint64_t *gen, int timeout_ms)
{
    if (timeout_ms == 0) /* a stream's poll: someone listens */
        atomic_store(&l->listen_ms, clock_mono_ms());
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    ts.tv_sec += timeout_ms / 1000;
    ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (ts.tv_nsec >= 1000000000L) {
        ts.tv_sec++;
        ts.tv_nsec -= 1000000000L;
    }
    char *out = NULL;
    pthread_mutex_lock(&l->lock);
    int rc = 0;
    while (!l->closed && (l->frame_gen == *gen || !l->frame) && rc != ETIMEDOUT)
        rc = pthread_cond_timedwait(&l->frame_cond, &l->lock, &ts);
    if (!l->closed && l->frame && l->frame_gen != *gen) {
        out = strdup(l->frame);
        *gen = l->frame_gen;
    }
    pthread_mutex_unlock(&l->lock);
    return out;
}

void live_close_frames(struct live *l)
{
    pthread_mutex_lock(&l->lock);
    l->closed = 1;
    pthread_cond_broadcast(&l->frame_cond);
    pthread_mutex_unlock(&l->lock);
}

int live_closed(struct live *l)
{
    pthread_mutex_lock(&l->lock);
    int c = l->closed;
    pthread_mutex_unlock(&l->lock);
    return c;
}
