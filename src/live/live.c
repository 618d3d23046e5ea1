/* live.c -- the live state of enmond for its consumers: latest reading per device, today's
 * energy, and the frames streamed to dashboards. Thread-safe; fed like a sink. */
#include "live.h"

#include "clock.h"
#include "err.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

struct live {
    const struct enmon_config *cfg;
    pthread_mutex_t lock;
    pthread_cond_t frame_cond; /* CLOCK_MONOTONIC */
    struct live_dev *devs;
    size_t *by_key; /* device indexes sorted by id, for the database's keys */
    char *frame;
    uint64_t frame_gen;
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
    if (!l->devs || !l->by_key || init_sync(l) != 0) {
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
    free(l->devs);
    free(l->by_key);
    free(l->frame);
    free(l);
}

void live_reading(struct live *l, const struct reading *r)
{
    if (!l || r->device >= l->cfg->ndevices)
        return;
    pthread_mutex_lock(&l->lock);
    struct live_dev *d = &l->devs[r->device];
    d->polled = 1;
    d->online = r->online;
    d->last_poll_ms = r->wall_ms;
    if (r->quality != READING_FAILED) {
        d->last = *r;
        d->has_last = 1;
        d->last_seen_ms = r->wall_ms;
    }
    pthread_mutex_unlock(&l->lock);
}

void live_snapshot(struct live *l, struct live_dev *out)
{
    pthread_mutex_lock(&l->lock);
    memcpy(out, l->devs, l->cfg->ndevices * sizeof(*out));
    pthread_mutex_unlock(&l->lock);
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
    sqlite3_stmt *st;
    int found = 0;
    if (sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        return -1;
    sqlite3_bind_int64(st, 1, day_s);
    pthread_mutex_lock(&l->lock);
    for (size_t i = 0; i < l->cfg->ndevices; i++)
        l->devs[i].today_import_wh = l->devs[i].today_export_wh = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 0);
        long i = key ? find_key(l, key) : -1;
        if (i < 0)
            continue;
        l->devs[i].today_import_wh = sqlite3_column_double(st, 1);
        l->devs[i].today_export_wh = sqlite3_column_double(st, 2);
        found++;
    }
    pthread_mutex_unlock(&l->lock);
    sqlite3_finalize(st);
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

char *live_wait_frame(struct live *l, uint64_t *gen, int timeout_ms)
{
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
