/* store.c -- the SQLite store: one writer thread, batched transactions, 15-minute intervals. */
#include "store.h"
#include "alert_store.h"
#include "alert_learned.h"
#include "archive.h"
#include "caltime.h"
#include "clock.h"
#include "counter.h"
#include "err.h"
#include "log.h"
#include "queue.h"
#include "retention.h"
#include "store_schema.h"

#include <math.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define STORE_QUEUE_CAP 65536
#define STORE_ALERTS_CAP 4096
#define STORE_LOCKED_MAX_S 600   /* how long start-up waits for another writer's lock */
#define STORE_RETRY_MIN_MS 250   /* first retry of a failed commit; doubling ... */
#define STORE_RETRY_MAX_MS 5000  /* ... up to this */
#define STORE_RETRY_GROW 4096    /* first allocation of the retry buffer, in readings */
#define STORE_STOP_RETRY_MS 5000 /* store_close: retries of other failures than a lock */
/* Readings in one batch (one transaction) at most: a backlog (a city's readings arriving
 * faster than one batch a quarter second) goes in batches of this size, so each device's
 * interval, daily, counter_state and device_status rows (and the index pages of readings)
 * are written once per 13 readings of a 10,000-meter city instead of once per 3. */
#define STORE_BATCH_MAX 131072
#define STORE_BATCH_MS 250
#define STORE_SPLIT_STACK 96            /* one day of intervals */
#define STORE_SPLIT_MAX (4 * 366 * 96)  /* longest gap attributed: about 4 years */
#define STORE_MIN_WINDOW_H (5.0 / 60.0) /* max_delta never assumes less than 5 minutes */
#define STORE_LOG_EVERY_S 300
#define STORE_AGG_MIN 1024         /* initial slots of the per-batch interval table */
#define STORE_PRUNE_EVERY_MS 1000  /* a retention round starts at most once a second ... */
#define STORE_PRUNE_WALL_MS 60000  /* ... and once the (simulated) clock moved a minute */
#define STORE_PRUNE_GAP_MS 20      /* retention steps between two batches stop after this */
#define STORE_PRUNE_MAX_DEPTH 8192 /* no retention while more readings than this wait */
/* retention and archive steps go on (within their gap) while fewer readings than this wait,
 * so that at high rates (a backlog, a fast simulated clock) they keep up */
#define STORE_STEP_MAX_WAITING 4096
#define STORE_ARCHIVE_GAP_MS 10    /* archive steps between two batches stop after this */

struct store_counter {
    int have;      /* a previous valid value is known */
    double wh;     /* last valid counter value */
    int64_t ts_ms; /* when it was read */
};

struct store_dev {
    int64_t id;      /* devices.id */
    int64_t prog_id; /* devices.program_id, 0 none: its energy also goes to program_intervals */
    double capacity_w;
    char key[CFG_ID_MAX];
    struct store_counter c[2]; /* [0] import, [1] export */
    int dirty;                 /* counter_state / device_status need writing this batch */
    int64_t ok_ts_ms;          /* last successful reading in this batch, 0 none */
    int online;
    int err;
    struct log_limit lim;
};

/* Energy and samples of one device in one 15-minute interval, summed over a
 * batch in memory and written with one upsert (and one daily upsert per day). */
struct store_agg_entry {
    uint32_t dev; /* index into store.devs */
    int64_t start_s;
    double wh[2]; /* [0] import, [1] export */
    int samples;
};

/* A batch's energy per program and interval (from the device entries): one upsert each. */
struct store_prog_entry {
    int64_t prog_id;
    int64_t start_s;
    double wh[2];
};

struct store_agg {
    struct store_agg_entry *e;
    struct store_agg_entry *tmp; /* cap entries: scratch of store_agg_sort */
    size_t n, cap;               /* entries used / allocated */
    uint32_t *slot;              /* open addressing: entry index + 1, 0 empty */
    size_t nslots;               /* a power of two, at least 2 x cap */
};

enum store_stmt {
    SQL_INTERVAL,
    SQL_DAILY,
    SQL_PROG_INTERVAL,
    SQL_PROG_DAILY,
    SQL_COUNTER,
    SQL_STATUS,
    SQL_LOAD_COUNTER,
    SQL__COUNT
};

/* The value columns of readings after device_id, ts_ms, quality, in table order: the
 * measurements power_w .. events (enum meas), the DC modules m1..m4 (current, voltage,
 * power), the pole sensors leakage_ma .. tilt_deg. */
#define STORE_VALUE_COLS (MEAS__ALL + READING_MODULES_MAX * MODULE__COUNT)
static const char *const store_value_col[STORE_VALUE_COLS] = {
    "power_w",         "energy_import_wh", "energy_export_wh", "voltage_v",       "current_a",
    "frequency_hz",    "power_factor",     "dc_power_w",       "temperature_c",   "state",
    "events",          "m1_dc_current_a",  "m1_dc_voltage_v",  "m1_dc_power_w",   "m2_dc_current_a",
    "m2_dc_voltage_v", "m2_dc_power_w",    "m3_dc_current_a",  "m3_dc_voltage_v", "m3_dc_power_w",
    "m4_dc_current_a", "m4_dc_voltage_v",  "m4_dc_power_w",    "leakage_ma",      "current_l1_a",
    "current_l2_a",    "current_l3_a",     "tilt_deg",
};
_Static_assert(STORE_VALUE_COLS == 28 && STORE_VALUE_COLS <= 32, "one mask bit per value column");

/* INSERT statements of readings per set of present value columns (a city has a few:
 * meters, inverters with or without DC modules, pole sensors), so that absent values are
 * left to the columns' NULL default instead of being bound one by one. */
#define STORE_INSERT_CACHE 8
/* A run of this many consecutive readings with the same columns goes in one INSERT of as
 * many rows (in order: consecutive rowids, as one by one), sparing the per-statement work. */
#define STORE_INSERT_ROWS 8

static const char *const store_sql[SQL__COUNT] = {
    [SQL_INTERVAL] = "INSERT INTO intervals(device_id, start_s, wh_import, wh_export, samples) "
                     "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(device_id, start_s) DO UPDATE SET "
                     "wh_import = wh_import + excluded.wh_import, "
                     "wh_export = wh_export + excluded.wh_export, "
                     "samples = samples + excluded.samples",
    [SQL_DAILY] = "INSERT INTO daily(device_id, day_s, wh_import, wh_export, samples) "
                  "VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(device_id, day_s) DO UPDATE SET "
                  "wh_import = wh_import + excluded.wh_import, "
                  "wh_export = wh_export + excluded.wh_export, "
                  "samples = samples + excluded.samples",
    [SQL_PROG_INTERVAL] = "INSERT INTO program_intervals(program_id, start_s, wh_import, "
                          "wh_export) VALUES(?1, ?2, ?3, ?4) ON CONFLICT(program_id, start_s) "
                          "DO UPDATE SET wh_import = wh_import + excluded.wh_import, "
                          "wh_export = wh_export + excluded.wh_export",
    [SQL_PROG_DAILY] = "INSERT INTO program_daily(program_id, day_s, wh_import, wh_export) "
                       "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(program_id, day_s) DO UPDATE SET "
                       "wh_import = wh_import + excluded.wh_import, "
                       "wh_export = wh_export + excluded.wh_export",
    [SQL_COUNTER] = "INSERT OR REPLACE INTO counter_state(device_id, ts_ms, import_wh, export_wh, "
                    "import_ts_ms, export_ts_ms) VALUES(?1, ?2, ?3, ?4, ?5, ?6)",
    [SQL_STATUS] = "INSERT INTO device_status(device_id, last_ts_ms, online, last_error) "
                   "VALUES(?1, ?2, ?3, ?4) ON CONFLICT(device_id) DO UPDATE SET "
                   "last_ts_ms = COALESCE(excluded.last_ts_ms, last_ts_ms), "
                   "online = excluded.online, last_error = excluded.last_error",
    [SQL_LOAD_COUNTER] = "SELECT import_wh, import_ts_ms, export_wh, export_ts_ms "
                         "FROM counter_state WHERE device_id = ?1",
};

_Static_assert(MEAS__COUNT == 11 && MEAS__ALL == 16, "readings columns follow enum meas");
_Static_assert(READING_MODULES_MAX == 4 && MODULE__COUNT == 3, "m1..m4 dc columns follow modules");

struct store_insert {
    uint32_t mask; /* bit j: store_value_col[j] is in the statement */
    int rows;      /* rows it inserts: 1 or STORE_INSERT_ROWS */
    sqlite3_stmt *s;
};

struct store {
    sqlite3 *db;
    sqlite3_stmt *stmt[SQL__COUNT];
    struct store_insert ins[STORE_INSERT_CACHE]; /* readings INSERTs, by value columns */
    size_t nins, ins_next;                       /* used; the next to replace when all are */
    uint32_t *agg_count;                         /* ndevs + 1: store_agg_sort's counts */
    uint32_t *order_count;                       /* ndevs + 2: store_order's counts */
    const struct reading **order;                /* STORE_BATCH_MAX: a batch by device */
    struct queue *q;                             /* struct reading */
    struct queue *alerts; /* struct alert_event: raises and clears to record */
    /* struct alert_learned: what the alert rules learned, to save */
    struct queue *learned;
    pthread_t thread;
    int thread_started;
    struct store_dev *devs;
    size_t ndevs;
    uint32_t *dirty; /* indexes of devs with dirty set */
    size_t ndirty;
    struct reading *batch;
    struct store_agg agg;
    struct store_prog_entry *prog; /* scratch for the program rollups, prog_cap entries */
    size_t prog_cap;
    int intervals_days, daily_days; /* retention of intervals and daily (0 kept): and rollups */
    int day_offset_min;             /* daily rollups are local days at this offset east of UTC */
    struct log_limit lim;
    uint64_t written, batches, errors; /* __atomic */
    /* Readings whose commit failed (disk full, lock held beyond the busy timeout, I/O
     * error), oldest first: retried with backoff before anything newer is written.
     * Beyond retry_max the newest are refused, counted in retry_dropped and logged. */
    struct reading *retry;
    size_t retry_len, retry_cap, retry_max;
    int64_t retry_at_ms;
    int retry_delay_ms;
    int failed_locked; /* the last failed commit met another writer's lock */
    struct log_limit retry_lim, drop_lim;
    uint64_t retry_depth, retry_dropped, retry_committed; /* __atomic, for the stats */
    /* Retention (retention.h): rounds of short steps between batches, timed. */
    struct retention *ret;
    int prune_running;
    int64_t prune_next_ms; /* CLOCK_MONOTONIC: no round starts before */
    int64_t prune_wall_ms; /* wall (simulated) time of the last round's start */
    uint64_t prune_max_us; /* __atomic: longest time retention held the writer between batches */
    uint64_t pruned;       /* __atomic: readings deleted by retention */
    struct log_limit prune_lim;
    /* The raw readings archive (archive.h): rounds of short steps when no retention
     * round runs, timed with retention's stalls. */
    struct archive *arc;
    int arc_running;
    int64_t arc_next_ms; /* CLOCK_MONOTONIC: no round starts before */
    uint64_t archived;   /* __atomic: readings moved into reading_blocks */
};

/* Every statement binds all its parameters each time, so none is cleared. */
static int store_step(struct store *st, enum store_stmt which)
{
    sqlite3_stmt *s = st->stmt[which];
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return (rc == SQLITE_DONE || rc == SQLITE_ROW) ? ENMON_OK : ENMON_ERR_DB;
}

static void store_bind_opt(sqlite3_stmt *s, int col, int has, double v)
{
    if (has)
        sqlite3_bind_double(s, col, v);
    else
        sqlite3_bind_null(s, col);
}

/* ---- counters and intervals ------------------------------------------- */

/* The largest plausible counter increase over elapsed_ms: twice the device's
 * capacity over the elapsed time (at least 5 minutes, since many devices
 * update their energy registers in steps), plus one count of the counter's
 * resolution. 0 (no limit) when the capacity is unknown. */
static double store_max_delta(double capacity_w, int64_t elapsed_ms, double wrap_wh)
{
    if (capacity_w <= 0)
        return 0;
    double hours = (double)elapsed_ms / 3600000.0;
    if (hours < STORE_MIN_WINDOW_H)
        hours = STORE_MIN_WINDOW_H;
    double resolution = wrap_wh > 0 ? wrap_wh / 4294967296.0 : 0;
    return 2.0 * capacity_w * hours + resolution;
}

/* ---- per-batch interval sums ---------------------------------------------- */

static size_t store_agg_hash(uint32_t dev, int64_t start_s, size_t nslots)
{
    uint64_t h = ((uint64_t)dev << 32) ^ (uint64_t)(start_s / COUNTER_INTERVAL_S);
    h ^= h >> 29;
    h *= 0xBF58476D1CE4E5B9ull; /* splitmix64 finaliser */
    h ^= h >> 32;
    return (size_t)h & (nslots - 1);
}

static void store_agg_index(struct store_agg *a)
{
    memset(a->slot, 0, a->nslots * sizeof(*a->slot));
    for (size_t i = 0; i < a->n; i++) {
        size_t h = store_agg_hash(a->e[i].dev, a->e[i].start_s, a->nslots);
        while (a->slot[h])
            h = (h + 1) & (a->nslots - 1);
        a->slot[h] = (uint32_t)i + 1;
    }
}

static int store_agg_grow(struct store_agg *a)
{
    size_t cap = a->cap ? 2 * a->cap : STORE_AGG_MIN;
    if (cap > UINT32_MAX / 4)
        return ENMON_ERR_NOMEM;
    struct store_agg_entry *e = realloc(a->e, cap * sizeof(*e));
    if (!e)
        return ENMON_ERR_NOMEM;
    a->e = e;
    e = realloc(a->tmp, cap * sizeof(*e));
    if (!e)
        return ENMON_ERR_NOMEM;
    a->tmp = e;
    uint32_t *slot = malloc(2 * cap * sizeof(*slot));
    if (!slot)
        return ENMON_ERR_NOMEM;
    free(a->slot);
    a->slot = slot;
    a->nslots = 2 * cap;
    a->cap = cap;
    store_agg_index(a);
    return ENMON_OK;
}

/* Adds energy (which: 0 import, 1 export) and samples to a device's interval. */
static int store_agg_add(struct store_agg *a, uint32_t dev, int64_t start_s, int which, double wh,
                         int samples)
{
    if (a->n == a->cap && store_agg_grow(a) != ENMON_OK)
        return ENMON_ERR_NOMEM;
    size_t h = store_agg_hash(dev, start_s, a->nslots);
    while (a->slot[h]) {
        struct store_agg_entry *e = &a->e[a->slot[h] - 1];
        if (e->dev == dev && e->start_s == start_s) {
            e->wh[which] += wh;
            e->samples += samples;
            return ENMON_OK;
        }
        h = (h + 1) & (a->nslots - 1);
    }
    struct store_agg_entry *e = &a->e[a->n];
    *e = (struct store_agg_entry){.dev = dev, .start_s = start_s, .samples = samples};
    e->wh[which] = wh;
    a->slot[h] = (uint32_t)++a->n;
    return ENMON_OK;
}

static void store_agg_clear(struct store_agg *a)
{
    if (a->n)
        memset(a->slot, 0, a->nslots * sizeof(*a->slot));
    a->n = 0;
}

static void store_agg_free(struct store_agg *a)
{
    free(a->e);
    free(a->tmp);
    free(a->slot);
}

static int store_agg_cmp(const void *pa, const void *pb)
{
    const struct store_agg_entry *a = pa, *b = pb;
    if (a->dev != b->dev)
        return a->dev < b->dev ? -1 : 1;
    return (a->start_s > b->start_s) - (a->start_s < b->start_s);
}

/* Sorts the entries by (device, interval), as qsort with store_agg_cmp would, in linear
 * time: a counting sort by device (count: ndevs + 1 slots), then each device's entries,
 * already in time order unless its clock went back, by interval. The hash index is
 * stale afterwards (store_agg_clear follows). */
static void store_agg_sort(struct store_agg *a, uint32_t *count, size_t ndevs)
{
    memset(count, 0, (ndevs + 1) * sizeof(*count));
    for (size_t i = 0; i < a->n; i++)
        count[a->e[i].dev + 1]++;
    for (size_t d = 0; d < ndevs; d++)
        count[d + 1] += count[d];
    for (size_t i = 0; i < a->n; i++)
        a->tmp[count[a->e[i].dev]++] = a->e[i];
    struct store_agg_entry *t = a->e;
    a->e = a->tmp;
    a->tmp = t;
    for (size_t lo = 0, hi; lo < a->n; lo = hi) {
        int sorted = 1;
        for (hi = lo + 1; hi < a->n && a->e[hi].dev == a->e[lo].dev; hi++)
            sorted &= a->e[hi - 1].start_s < a->e[hi].start_s;
        if (!sorted)
            qsort(a->e + lo, hi - lo, sizeof(*a->e), store_agg_cmp);
    }
}

static int store_upsert_sum(struct store *st, enum store_stmt which, int64_t dev_id, int64_t t_s,
                            const double wh[2], int samples)
{
    sqlite3_stmt *s = st->stmt[which];
    sqlite3_bind_int64(s, 1, dev_id);
    sqlite3_bind_int64(s, 2, t_s);
    sqlite3_bind_double(s, 3, wh[0]);
    sqlite3_bind_double(s, 4, wh[1]);
    sqlite3_bind_int(s, 5, samples);
    return store_step(st, which);
}

static int store_prog_cmp(const void *pa, const void *pb)
{
    const struct store_prog_entry *a = pa, *b = pb;
    if (a->prog_id != b->prog_id)
        return a->prog_id < b->prog_id ? -1 : 1;
    return (a->start_s > b->start_s) - (a->start_s < b->start_s);
}

static int store_prog_upsert(struct store *st, enum store_stmt which, int64_t prog_id, int64_t t_s,
                             const double wh[2])
{
    sqlite3_stmt *s = st->stmt[which];
    sqlite3_bind_int64(s, 1, prog_id);
    sqlite3_bind_int64(s, 2, t_s);
    sqlite3_bind_double(s, 3, wh[0]);
    sqlite3_bind_double(s, 4, wh[1]);
    return store_step(st, which);
}

/* The batch's device entries summed per program and interval (program_intervals) and per
 * program and local day (program_daily): the same deltas as the devices' rows. */
static int store_prog_write(struct store *st)
{
    const struct store_agg *a = &st->agg;
    if (a->n > st->prog_cap) {
        size_t cap = a->n * 2;
        struct store_prog_entry *p = realloc(st->prog, cap * sizeof(*p));
        if (!p)
            return ENMON_ERR_NOMEM;
        st->prog = p;
        st->prog_cap = cap;
    }
    size_t n = 0;
    for (size_t i = 0; i < a->n; i++) {
        const struct store_agg_entry *e = &a->e[i];
        int64_t prog_id = st->devs[e->dev].prog_id;
        if (prog_id != 0 && (e->wh[0] != 0 || e->wh[1] != 0))
            st->prog[n++] = (struct store_prog_entry){prog_id, e->start_s, {e->wh[0], e->wh[1]}};
    }
    if (n > 1)
        qsort(st->prog, n, sizeof(*st->prog), store_prog_cmp);
    int rc = ENMON_OK;
    double iv_wh[2] = {0, 0}, day_wh[2] = {0, 0};
    for (size_t i = 0; i < n && rc == ENMON_OK; i++) {
        const struct store_prog_entry *e = &st->prog[i];
        const struct store_prog_entry *next = i + 1 < n ? &st->prog[i + 1] : NULL;
        iv_wh[0] += e->wh[0];
        iv_wh[1] += e->wh[1];
        if (next && next->prog_id == e->prog_id && next->start_s == e->start_s)
            continue;
        rc = store_prog_upsert(st, SQL_PROG_INTERVAL, e->prog_id, e->start_s, iv_wh);
        day_wh[0] += iv_wh[0];
        day_wh[1] += iv_wh[1];
        iv_wh[0] = iv_wh[1] = 0;
        int64_t day = caltime_day_start(e->start_s, st->day_offset_min);
        if (rc == ENMON_OK && (!next || next->prog_id != e->prog_id ||
                               caltime_day_start(next->start_s, st->day_offset_min) != day)) {
            rc = store_prog_upsert(st, SQL_PROG_DAILY, e->prog_id, day, day_wh);
            day_wh[0] = day_wh[1] = 0;
        }
    }
    return rc;
}

/* Writes the batch's interval sums in key order, and per device and local day
 * one daily upsert with the sum of that day's entries; then the program rollups. */
static int store_agg_write(struct store *st)
{
    struct store_agg *a = &st->agg;
    if (a->n > 1) /* a->e is NULL while the batch has no entries */
        store_agg_sort(a, st->agg_count, st->ndevs);
    int rc = ENMON_OK;
    double day_wh[2] = {0, 0};
    int day_samples = 0;
    for (size_t i = 0; i < a->n && rc == ENMON_OK; i++) {
        const struct store_agg_entry *e = &a->e[i];
        int64_t dev_id = st->devs[e->dev].id;
        int64_t day = caltime_day_start(e->start_s, st->day_offset_min);
        rc = store_upsert_sum(st, SQL_INTERVAL, dev_id, e->start_s, e->wh, e->samples);
        day_wh[0] += e->wh[0];
        day_wh[1] += e->wh[1];
        day_samples += e->samples;
        const struct store_agg_entry *next = i + 1 < a->n ? &a->e[i + 1] : NULL;
        if (rc == ENMON_OK && (!next || next->dev != e->dev ||
                               caltime_day_start(next->start_s, st->day_offset_min) != day)) {
            rc = store_upsert_sum(st, SQL_DAILY, dev_id, day, day_wh, day_samples);
            day_wh[0] = day_wh[1] = 0;
            day_samples = 0;
        }
    }
    if (rc == ENMON_OK)
        rc = store_prog_write(st);
    store_agg_clear(a);
    return rc;
}

/* Spreads wh accrued over [t0, t1) evenly over the 15-minute intervals it
 * touches, however long the gap (up to STORE_SPLIT_MAX intervals). */
static int store_add_energy(struct store *st, uint32_t idx, int which, int64_t t0_ms, int64_t t1_ms,
                            double wh)
{
    int64_t start_buf[STORE_SPLIT_STACK];
    double part_buf[STORE_SPLIT_STACK];
    int64_t *start = start_buf;
    double *part = part_buf;
    int n = counter_split_intervals(t0_ms, t1_ms, wh, start, part, STORE_SPLIT_STACK);
    if (n > STORE_SPLIT_MAX) {
        log_limited(&st->lim, STORE_LOG_EVERY_S, LOG_WARNING,
                    "store: %s: %.0f Wh over a gap of %d intervals put in the last one",
                    st->devs[idx].key, wh, n);
        t0_ms = t1_ms;
        n = counter_split_intervals(t0_ms, t1_ms, wh, start, part, STORE_SPLIT_STACK);
    } else if (n > STORE_SPLIT_STACK) {
        start = malloc((size_t)n * sizeof(*start));
        part = malloc((size_t)n * sizeof(*part));
        if (!start || !part) {
            free(start);
            free(part);
            return ENMON_ERR_NOMEM;
        }
        counter_split_intervals(t0_ms, t1_ms, wh, start, part, n);
    }
    int rc = ENMON_OK;
    for (int i = 0; i < n && rc == ENMON_OK; i++)
        rc = store_agg_add(&st->agg, idx, start[i], which, part[i], 0);
    if (start != start_buf) {
        free(start);
        free(part);
    }
    return rc;
}

static const char *store_event_name(enum counter_event ev)
{
    switch (ev) {
    case COUNTER_WRAP:
        return "wrapped";
    case COUNTER_RESET:
        return "went backwards (meter reset or replaced)";
    case COUNTER_JUMP:
        return "jumped implausibly (not counted)";
    default:
        return "normal";
    }
}

/* Accounts one valid counter value (which: 0 import, 1 export) of reading r. */
static int store_counter_update(struct store *st, uint32_t idx, int which, const struct reading *r,
                                double v)
{
    struct store_dev *d = &st->devs[idx];
    struct store_counter *c = &d->c[which];
    int rc = ENMON_OK;
    if (c->have) {
        double wrap = r->wrap_wh[which];
        double max = store_max_delta(d->capacity_w, r->wall_ms - c->ts_ms, wrap);
        enum counter_event ev = COUNTER_NORMAL;
        double wh = counter_delta(c->wh, v, wrap, max, &ev);
        if (ev != COUNTER_NORMAL)
            log_limited(&d->lim, STORE_LOG_EVERY_S, LOG_WARNING,
                        "store: %s: %s counter %s: %.0f -> %.0f Wh, counted %.0f Wh", d->key,
                        which ? "export" : "import", store_event_name(ev), c->wh, v, wh);
        /* Zero is energy too: a counter that stood still over a gap longer than an
         * interval (a meter read every few hours, a vacant home) makes rows of 0 Wh for
         * the intervals in between, or their days would look incomplete. Shorter gaps
         * touch only intervals that have a sample row already. */
        if (wh > 0 || (ev == COUNTER_NORMAL && r->wall_ms - c->ts_ms > COUNTER_INTERVAL_S * 1000))
            rc = store_add_energy(st, idx, which, c->ts_ms, r->wall_ms, wh);
    }
    c->have = 1;
    c->wh = v;
    c->ts_ms = r->wall_ms;
    return rc;
}

static int store_counters(struct store *st, uint32_t idx, const struct reading *r)
{
    static const enum meas counter_meas[2] = {MEAS_ENERGY_IMPORT_WH, MEAS_ENERGY_EXPORT_WH};
    int rc = ENMON_OK;
    for (int k = 0; k < 2 && rc == ENMON_OK; k++) {
        double v = r->value[counter_meas[k]];
        if (reading_has(r, counter_meas[k]) && isfinite(v) && v >= 0)
            rc = store_counter_update(st, idx, k, r, v);
    }
    if (rc == ENMON_OK)
        rc = store_agg_add(&st->agg, idx,
                           (r->wall_ms / 1000) / COUNTER_INTERVAL_S * COUNTER_INTERVAL_S, 0, 0, 1);
    return rc;
}

/* ---- one reading, one batch -------------------------------------------- */

/* A reading's values in the order of store_value_col; returns the mask of those present. */
static uint32_t store_reading_values(const struct reading *r, double v[STORE_VALUE_COLS])
{
    uint32_t mask = 0;
    int j = 0;
    for (int m = 0; m < MEAS__COUNT; m++, j++) {
        v[j] = r->value[m];
        if (reading_has(r, (enum meas)m) && isfinite(v[j]))
            mask |= 1u << j;
    }
    for (int i = 0; i < READING_MODULES_MAX; i++)
        for (int k = 0; k < MODULE__COUNT; k++, j++) {
            v[j] = r->module[i].value[k];
            if (i < r->nmodules && ((r->module[i].valid >> k) & 1u) && isfinite(v[j]))
                mask |= 1u << j;
        }
    for (int m = MEAS__COUNT; m < MEAS__ALL; m++, j++) {
        v[j] = r->value[m];
        if (reading_has(r, (enum meas)m) && isfinite(v[j]))
            mask |= 1u << j;
    }
    return mask;
}

/* The INSERT of readings with the value columns of mask (prepared on first use; with
 * more than STORE_INSERT_CACHE sets in use, the oldest is replaced). OR FAIL: the only
 * constraints are NOT NULL on device_id, ts_ms and quality, always bound, so it changes
 * nothing but spares SQLite a statement journal per row (a failed batch is rolled back
 * whole anyway). NULL when it cannot be prepared. */
static sqlite3_stmt *store_insert_stmt(struct store *st, uint32_t mask, int rows)
{
    for (size_t i = 0; i < st->nins; i++)
        if (st->ins[i].mask == mask && st->ins[i].rows == rows)
            return st->ins[i].s;
    char sql[8192];
    int n = snprintf(sql, sizeof(sql), "INSERT OR FAIL INTO readings(device_id, ts_ms, quality");
    for (int j = 0; j < STORE_VALUE_COLS; j++)
        if (mask & (1u << j))
            n += snprintf(sql + n, sizeof(sql) - (size_t)n, ", %s", store_value_col[j]);
    n += snprintf(sql + n, sizeof(sql) - (size_t)n, ") VALUES");
    for (int r = 0, p = 1; r < rows; r++) {
        n += snprintf(sql + n, sizeof(sql) - (size_t)n, "%s(?%d, ?%d, ?%d", r ? ", " : "", p, p + 1,
                      p + 2);
        p += 3;
        for (int j = 0; j < STORE_VALUE_COLS; j++)
            if (mask & (1u << j))
                n += snprintf(sql + n, sizeof(sql) - (size_t)n, ", ?%d", p++);
        n += snprintf(sql + n, sizeof(sql) - (size_t)n, ")");
    }
    sqlite3_stmt *s = NULL;
    if (n >= (int)sizeof(sql) ||
        sqlite3_prepare_v3(st->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &s, NULL) != SQLITE_OK)
        return NULL;
    size_t slot = st->nins < STORE_INSERT_CACHE ? st->nins++ : st->ins_next++ % STORE_INSERT_CACHE;
    sqlite3_finalize(st->ins[slot].s);
    st->ins[slot] = (struct store_insert){mask, rows, s};
    return s;
}

static void store_insert_finalize(struct store *st)
{
    for (size_t i = 0; i < st->nins; i++)
        sqlite3_finalize(st->ins[i].s);
    st->nins = st->ins_next = 0;
}

/* Binds one readings row from parameter p on: the present values (state and events as
 * integers); the absent ones are left NULL by the statement. Returns the next parameter. */
static int store_bind_row(sqlite3_stmt *s, int p, int64_t dev_id, const struct reading *r,
                          uint32_t mask, const double v[STORE_VALUE_COLS])
{
    sqlite3_bind_int64(s, p++, dev_id);
    sqlite3_bind_int64(s, p++, r->wall_ms);
    sqlite3_bind_int(s, p++, r->quality);
    for (int j = 0; j < STORE_VALUE_COLS; j++) {
        if (!(mask & (1u << j)))
            continue;
        if (j == MEAS_STATE || j == MEAS_EVENTS)
            sqlite3_bind_int64(s, p++, (sqlite3_int64)v[j]);
        else
            sqlite3_bind_double(s, p++, v[j]);
    }
    return p;
}

/* rows readings rows (1 or STORE_INSERT_ROWS), all with the value columns of mask, in
 * one statement. */
static int store_insert_rows(struct store *st, const struct reading *const *rs, int rows,
                             uint32_t mask, double (*v)[STORE_VALUE_COLS])
{
    sqlite3_stmt *s = store_insert_stmt(st, mask, rows);
    if (!s)
        return ENMON_ERR_DB;
    for (int i = 0, p = 1; i < rows; i++)
        p = store_bind_row(s, p, st->devs[rs[i]->device].id, rs[i], mask, v[i]);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    return rc == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
}

static void store_mark_dirty(struct store *st, uint32_t idx)
{
    if (!st->devs[idx].dirty) {
        st->devs[idx].dirty = 1;
        st->dirty[st->ndirty++] = idx;
    }
}

/* A reading that makes a readings row (a known device, a poll that worked). */
static int store_has_row(const struct store *st, const struct reading *r)
{
    return r->device < st->ndevs && r->quality != READING_FAILED;
}

/* One reading's device state and counters; its readings row is already inserted. */
static int store_one(struct store *st, const struct reading *r)
{
    if (r->device >= st->ndevs) {
        log_limited(&st->lim, STORE_LOG_EVERY_S, LOG_ERR, "store: reading for unknown device %u",
                    (unsigned)r->device);
        return ENMON_OK;
    }
    struct store_dev *d = &st->devs[r->device];
    store_mark_dirty(st, r->device);
    d->online = r->online;
    d->err = r->quality == READING_FAILED ? r->err : ENMON_OK;
    if (r->quality == READING_FAILED)
        return ENMON_OK; /* no reading row with made-up values */
    d->ok_ts_ms = r->wall_ms;
    return store_counters(st, r->device, r);
}

static void store_bind_counter(sqlite3_stmt *s, int col, const struct store_counter *c)
{
    store_bind_opt(s, col, c->have, c->wh);
    if (c->have)
        sqlite3_bind_int64(s, col + 2, c->ts_ms);
    else
        sqlite3_bind_null(s, col + 2);
}

static int store_write_dev_state(struct store *st, struct store_dev *d)
{
    int rc = ENMON_OK;
    if (d->c[0].have || d->c[1].have) {
        sqlite3_stmt *s = st->stmt[SQL_COUNTER];
        int64_t ts = d->c[0].ts_ms > d->c[1].ts_ms ? d->c[0].ts_ms : d->c[1].ts_ms;
        sqlite3_bind_int64(s, 1, d->id);
        sqlite3_bind_int64(s, 2, ts);
        store_bind_counter(s, 3, &d->c[0]);
        store_bind_counter(s, 4, &d->c[1]);
        rc = store_step(st, SQL_COUNTER);
    }
    if (rc != ENMON_OK)
        return rc;
    sqlite3_stmt *s = st->stmt[SQL_STATUS];
    sqlite3_bind_int64(s, 1, d->id);
    if (d->ok_ts_ms)
        sqlite3_bind_int64(s, 2, d->ok_ts_ms);
    else
        sqlite3_bind_null(s, 2);
    sqlite3_bind_int(s, 3, d->online ? 1 : 0);
    if (d->err != ENMON_OK)
        sqlite3_bind_text(s, 4, enmon_strerror(d->err), -1, SQLITE_STATIC);
    else
        sqlite3_bind_null(s, 4);
    return store_step(st, SQL_STATUS);
}

/* Writes (when write is set and nothing failed yet) and clears the dirty devices. */
static int store_flush_dirty(struct store *st, int write)
{
    int rc = write ? ENMON_OK : ENMON_ERR_DB;
    for (size_t i = 0; i < st->ndirty; i++) {
        struct store_dev *d = &st->devs[st->dirty[i]];
        if (rc == ENMON_OK)
            rc = store_write_dev_state(st, d);
        d->dirty = 0;
        d->ok_ts_ms = 0;
    }
    st->ndirty = 0;
    return rc;
}

/* Loads the last committed counter values of every configured device. */
static int store_load_counters(struct store *st)
{
    sqlite3_stmt *s = st->stmt[SQL_LOAD_COUNTER];
    for (size_t i = 0; i < st->ndevs; i++) {
        struct store_dev *d = &st->devs[i];
        memset(d->c, 0, sizeof(d->c));
        sqlite3_bind_int64(s, 1, d->id);
        int rc = sqlite3_step(s);
        if (rc == SQLITE_ROW) {
            for (int k = 0; k < 2; k++) {
                d->c[k].have = sqlite3_column_type(s, 2 * k) != SQLITE_NULL;
                d->c[k].wh = sqlite3_column_double(s, 2 * k);
                d->c[k].ts_ms = sqlite3_column_int64(s, 2 * k + 1);
            }
        }
        sqlite3_reset(s);
        if (rc != SQLITE_ROW && rc != SQLITE_DONE)
            return ENMON_ERR_DB;
    }
    return ENMON_OK;
}

/* The batch's readings by device (a stable counting sort: each device's readings keep
 * their order), into st->order. Rows of one device go in together, so the inserts into
 * readings_device_ts land on one leaf after another instead of one leaf per reading of a
 * time-ordered backlog; the rowids (the MQTT outbox's order) stay in time order per device. */
static void store_order(struct store *st, const struct reading *rs, size_t n)
{
    size_t nk = st->ndevs + 1; /* keys: the device, or ndevs for an unknown one */
    uint32_t *start = st->order_count;
    memset(start, 0, (nk + 1) * sizeof(*start));
    for (size_t i = 0; i < n; i++)
        start[(rs[i].device < st->ndevs ? rs[i].device : st->ndevs) + 1]++;
    for (size_t k = 0; k < nk; k++)
        start[k + 1] += start[k];
    for (size_t i = 0; i < n; i++)
        st->order[start[rs[i].device < st->ndevs ? rs[i].device : st->ndevs]++] = &rs[i];
}

static int store_write_rows(struct store *st, const struct reading *rs, size_t n)
{
    int rc = ENMON_OK;
    double v[STORE_INSERT_ROWS][STORE_VALUE_COLS];
    store_order(st, rs, n);
    const struct reading *const *o = st->order;
    for (size_t i = 0; i < n && rc == ENMON_OK;) {
        /* the readings rows first: a run of STORE_INSERT_ROWS with the same columns in
         * one statement, else this one alone */
        size_t k = 0;
        if (store_has_row(st, o[i])) {
            uint32_t mask = store_reading_values(o[i], v[0]);
            for (k = 1; k < STORE_INSERT_ROWS && i + k < n && store_has_row(st, o[i + k]) &&
                        store_reading_values(o[i + k], v[k]) == mask;
                 k++)
                ;
            if (k < STORE_INSERT_ROWS)
                k = 1;
            rc = store_insert_rows(st, &o[i], (int)k, mask, v);
        }
        for (size_t j = 0; j < (k ? k : 1) && rc == ENMON_OK; j++)
            rc = store_one(st, o[i + j]);
        i += k ? k : 1;
    }
    if (rc == ENMON_OK)
        rc = store_agg_write(st);
    store_agg_clear(&st->agg);
    int rc2 = store_flush_dirty(st, rc == ENMON_OK);
    return rc != ENMON_OK ? rc : rc2;
}

/* BEGIN IMMEDIATE; another writer's lock (an `enmon import` holds it for its
 * whole file, by design all-or-nothing) is waited out for the busy timeout, then
 * the batch goes to the retry buffer (store_retry_add) instead of being lost. */
static int store_begin(struct store *st)
{
    int rc = sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        return ENMON_OK;
    if ((rc & 0xff) == SQLITE_BUSY)
        log_limited(&st->lim, STORE_LOG_EVERY_S, LOG_WARNING,
                    "store: the database is locked by another writer; readings wait in memory");
    return ENMON_ERR_DB;
}

/* Writes a batch in one transaction. On failure the batch is rolled back and
 * the in-memory counters are reloaded, so the next batch's deltas start from
 * what is committed and no energy is lost or counted twice; the caller keeps
 * the readings for a retry. ENMON_OK or ENMON_ERR_DB. */
static int store_write_batch(struct store *st, const struct reading *rs, size_t n)
{
    int rc = ENMON_ERR_DB;
    if (store_begin(st) == ENMON_OK) {
        rc = store_write_rows(st, rs, n);
        if (rc == ENMON_OK && sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = ENMON_ERR_DB;
    }
    if (rc == ENMON_OK) {
        __atomic_add_fetch(&st->written, n, __ATOMIC_RELAXED);
        __atomic_add_fetch(&st->batches, 1, __ATOMIC_RELAXED);
        return ENMON_OK;
    }
    log_limited(&st->retry_lim, STORE_LOG_EVERY_S, LOG_ERR,
                "store: commit of %zu readings failed: %s; they wait in memory (%zu held)", n,
                sqlite3_errmsg(st->db), st->retry_len);
    __atomic_add_fetch(&st->errors, 1, __ATOMIC_RELAXED);
    st->failed_locked = (sqlite3_errcode(st->db) & 0xff) == SQLITE_BUSY;
    if (!sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    if (store_load_counters(st) != ENMON_OK)
        log_err("store: cannot reload counter state: %s", sqlite3_errmsg(st->db));
    return ENMON_ERR_DB;
}

/* ---- the retry buffer ---------------------------------------------------- */

static void store_retry_publish(struct store *st)
{
    __atomic_store_n(&st->retry_depth, (uint64_t)st->retry_len, __ATOMIC_RELAXED);
}

/* Keeps rs[0..n) after the readings already held, up to retry_max; the rest is
 * refused, counted and logged. */
static void store_retry_add(struct store *st, const struct reading *rs, size_t n)
{
    size_t take = st->retry_max - st->retry_len;
    if (take > n)
        take = n;
    if (st->retry_len + take > st->retry_cap) {
        size_t cap = st->retry_cap ? 2 * st->retry_cap : STORE_RETRY_GROW;
        if (cap < st->retry_len + take)
            cap = st->retry_len + take;
        if (cap > st->retry_max)
            cap = st->retry_max;
        struct reading *p = realloc(st->retry, cap * sizeof(*p));
        if (p) {
            st->retry = p;
            st->retry_cap = cap;
        } else {
            take = st->retry_cap - st->retry_len;
        }
    }
    memcpy(st->retry + st->retry_len, rs, take * sizeof(*rs));
    st->retry_len += take;
    if (take < n) {
        uint64_t all = __atomic_add_fetch(&st->retry_dropped, n - take, __ATOMIC_RELAXED);
        log_limited(&st->drop_lim, STORE_LOG_EVERY_S, LOG_ERR,
                    "store: retry buffer full (%zu readings, storage.retry_buffer_readings): "
                    "%zu readings dropped (%llu since start)",
                    st->retry_len, n - take, (unsigned long long)all);
    }
    if (st->retry_at_ms == 0) {
        st->retry_delay_ms = STORE_RETRY_MIN_MS;
        st->retry_at_ms = clock_mono_ms() + st->retry_delay_ms;
    }
    store_retry_publish(st);
}

/* Commits the held readings in order, a batch at a time; stops at the first
 * failure and backs off (STORE_RETRY_MIN_MS doubling to STORE_RETRY_MAX_MS). */
static void store_retry_flush(struct store *st)
{
    size_t done = 0;
    while (done < st->retry_len) {
        size_t n = st->retry_len - done;
        if (n > STORE_BATCH_MAX)
            n = STORE_BATCH_MAX;
        if (store_write_batch(st, st->retry + done, n) != ENMON_OK)
            break;
        done += n;
    }
    if (done > 0) {
        memmove(st->retry, st->retry + done, (st->retry_len - done) * sizeof(*st->retry));
        st->retry_len -= done;
        __atomic_add_fetch(&st->retry_committed, done, __ATOMIC_RELAXED);
    }
    if (st->retry_len == 0) {
        log_info("store: commits work again; %zu held readings committed in order", done);
        st->retry_at_ms = 0;
        free(st->retry);
        st->retry = NULL;
        st->retry_cap = 0;
    } else {
        if (st->retry_delay_ms < STORE_RETRY_MAX_MS)
            st->retry_delay_ms *= 2;
        if (st->retry_delay_ms > STORE_RETRY_MAX_MS)
            st->retry_delay_ms = STORE_RETRY_MAX_MS;
        st->retry_at_ms = clock_mono_ms() + st->retry_delay_ms;
    }
    store_retry_publish(st);
}

/* Stopping with readings held: another writer's lock is waited out as at start
 * (up to STORE_LOCKED_MAX_S; a reload or SIGTERM during an `enmon import` loses
 * nothing), any other failure is retried for STORE_STOP_RETRY_MS. */
static void store_retry_drain(struct store *st)
{
    int64_t now = clock_mono_ms();
    int64_t locked_until = now + (int64_t)STORE_LOCKED_MAX_S * 1000;
    int64_t other_until = now + STORE_STOP_RETRY_MS;
    log_info("store: stopping with %zu readings held; retrying their commit", st->retry_len);
    for (;;) {
        store_retry_flush(st);
        now = clock_mono_ms();
        if (st->retry_len == 0 || now >= (st->failed_locked ? locked_until : other_until))
            return;
        int64_t wait = st->retry_at_ms - now;
        if (wait > 0) {
            struct timespec ts = {wait / 1000, (long)(wait % 1000) * 1000000L};
            nanosleep(&ts, NULL);
        }
    }
}

/* A batch from the queue: after what is held (order), else written at once. */
static void store_take_batch(struct store *st, const struct reading *rs, size_t n)
{
    if (st->retry_len > 0 || store_write_batch(st, rs, n) != ENMON_OK)
        store_retry_add(st, rs, n);
}

/* ---- the writer thread --------------------------------------------------- */

/* Collects up to STORE_BATCH_MAX readings, waiting at most STORE_BATCH_MS
 * after the first one. Returns 0 when the queue stayed empty (or is closed). */
static size_t store_collect(struct store *st)
{
    /* while retention or the archive has work, an idle queue is not waited on for long */
    int busy = st->arc_running || st->prune_running;
    size_t n = queue_pop_batch(st->q, st->batch, STORE_BATCH_MAX, busy ? 1 : STORE_BATCH_MS);
    if (n == 0)
        return 0;
    int64_t deadline = clock_mono_ms() + STORE_BATCH_MS;
    while (n < STORE_BATCH_MAX) {
        int64_t left = deadline - clock_mono_ms();
        if (left <= 0)
            break;
        size_t m = queue_pop_batch(st->q, st->batch + n, STORE_BATCH_MAX - n, (int)left);
        if (m == 0)
            break;
        n += m;
    }
    return n;
}

/* True once store_close closed the queue and everything in it was taken. */
static int store_queue_finished(struct store *st)
{
    return queue_drained(st->q);
}

/* Records the queued alert raises and clears in one transaction. */
static void store_write_alerts(struct store *st)
{
    struct alert_event ev;
    if (queue_depth(st->alerts) == 0 ||
        sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return;
    while (queue_peek(st->alerts, &ev)) {
        if (ev.device < st->ndevs && alert_store_write(st->db, st->devs[ev.device].id, &ev) != 0)
            log_limited(&st->lim, STORE_LOG_EVERY_S, LOG_ERR, "store: alert %s not recorded: %s",
                        ev.id, sqlite3_errmsg(st->db));
        queue_drop_head(st->alerts);
    }
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        log_err("store: alerts not committed: %s", sqlite3_errmsg(st->db));
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

/* Saves the queued learned rule figures in one transaction. */
static void store_write_learned(struct store *st)
{
    struct alert_learned l;
    if (!st->learned || queue_depth(st->learned) == 0 ||
        sqlite3_exec(st->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return;
    while (queue_peek(st->learned, &l)) {
        if (l.device < st->ndevs &&
            alert_store_write_learned(st->db, st->devs[l.device].id, &l) != ENMON_OK)
            log_limited(&st->lim, STORE_LOG_EVERY_S, LOG_ERR, "store: learned state not saved: %s",
                        sqlite3_errmsg(st->db));
        queue_drop_head(st->learned);
    }
    if (sqlite3_exec(st->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        log_err("store: learned state not committed: %s", sqlite3_errmsg(st->db));
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

/* ---- retention ------------------------------------------------------------ */

static int64_t store_mono_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

/* Between two batches, while the queue is not backed up and nothing waits for a
 * retry: retention steps (each one short transaction) for at most
 * STORE_PRUNE_GAP_MS. That whole time is the writer's stall, measured. */
static void store_prune_rollups(struct store *st, int64_t now_ms);

static void store_prune(struct store *st)
{
    if (!st->ret || st->retry_len > 0 || queue_depth(st->q) > STORE_PRUNE_MAX_DEPTH)
        return;
    if (!st->prune_running) {
        int64_t wall = clock_wall_ms();
        if (clock_mono_ms() < st->prune_next_ms || wall - st->prune_wall_ms < STORE_PRUNE_WALL_MS)
            return;
        retention_begin(st->ret, wall);
        store_prune_rollups(st, wall);
        st->prune_running = 1;
        st->prune_wall_ms = wall;
        st->prune_next_ms = clock_mono_ms() + STORE_PRUNE_EVERY_MS;
    }
    int64_t t0 = store_mono_us();
    int more = 1, rc = ENMON_OK;
    do
        rc = retention_step(st->ret, &more);
    while (rc == ENMON_OK && more && queue_depth(st->q) < STORE_STEP_MAX_WAITING &&
           store_mono_us() - t0 < STORE_PRUNE_GAP_MS * 1000);
    uint64_t us = (uint64_t)(store_mono_us() - t0);
    if (us > __atomic_load_n(&st->prune_max_us, __ATOMIC_RELAXED))
        __atomic_store_n(&st->prune_max_us, us, __ATOMIC_RELAXED);
    struct retention_stats rs;
    retention_get_stats(st->ret, &rs);
    __atomic_store_n(&st->pruned, rs.readings, __ATOMIC_RELAXED);
    if (rc != ENMON_OK)
        log_limited(&st->lim, STORE_LOG_EVERY_S, LOG_WARNING,
                    "store: retention step failed (tried again next round): %s",
                    sqlite3_errmsg(st->db));
    if (!more || rc != ENMON_OK) {
        st->prune_running = 0;
        if (rc == ENMON_OK && rs.readings + rs.intervals + rs.daily + rs.alerts + rs.pages > 0)
            log_limited(&st->prune_lim, STORE_LOG_EVERY_S, LOG_INFO,
                        "store: retention deleted %llu readings, %llu intervals, %llu daily, "
                        "%llu alerts and gave back %llu pages since start; longest stall %.1f ms",
                        (unsigned long long)rs.readings, (unsigned long long)rs.intervals,
                        (unsigned long long)rs.daily, (unsigned long long)rs.alerts,
                        (unsigned long long)rs.pages,
                        (double)__atomic_load_n(&st->prune_max_us, __ATOMIC_RELAXED) / 1000.0);
    }
}

/* The program rollups lose what retention takes from intervals and daily (the same cutoffs as
 * retention_begin's) at once, in one short transaction (a program has 96 rows a day); meta
 * records from when on they are complete, which report.c checks before using them. */
static void store_prune_rollups(struct store *st, int64_t now_ms)
{
    static const int64_t day_ms = 86400000;
    char sql[512];
    int len = snprintf(sql, sizeof(sql), "BEGIN IMMEDIATE;");
    if (st->intervals_days > 0) {
        long long cut = (long long)((now_ms - st->intervals_days * day_ms) / 1000);
        len += snprintf(sql + len, sizeof(sql) - (size_t)len,
                        "DELETE FROM program_intervals WHERE start_s < %lld;"
                        "INSERT OR REPLACE INTO meta(key, value) "
                        "VALUES('rollup_intervals_from_s', %lld);",
                        cut, cut);
    }
    if (st->daily_days > 0) {
        long long cut = (long long)((now_ms - st->daily_days * day_ms) / 1000);
        len += snprintf(sql + len, sizeof(sql) - (size_t)len,
                        "DELETE FROM program_daily WHERE day_s < %lld;"
                        "INSERT OR REPLACE INTO meta(key, value) "
                        "VALUES('rollup_daily_from_s', %lld);",
                        cut, cut);
    }
    if (st->intervals_days <= 0 && st->daily_days <= 0)
        return;
    snprintf(sql + len, sizeof(sql) - (size_t)len, "COMMIT;");
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK) {
        log_limited(&st->lim, STORE_LOG_EVERY_S, LOG_WARNING,
                    "store: pruning the program rollups failed (tried again next round): %s",
                    sqlite3_errmsg(st->db));
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    }
}

static void store_stall(struct store *st, int64_t t0_us)
{
    uint64_t us = (uint64_t)(store_mono_us() - t0_us);
    if (us > __atomic_load_n(&st->prune_max_us, __ATOMIC_RELAXED))
        __atomic_store_n(&st->prune_max_us, us, __ATOMIC_RELAXED);
}

/* Between two batches while no retention round runs (and, like retention, the
 * queue is not backed up and nothing waits for a retry): archive steps, moving
 * old readings into reading_blocks, for at most STORE_ARCHIVE_GAP_MS, timed as
 * retention's are. A round starts at most once a second, when archive_due(). */
static void store_compact(struct store *st)
{
    if (!st->arc || st->prune_running || st->retry_len > 0 ||
        queue_depth(st->q) > STORE_PRUNE_MAX_DEPTH)
        return;
    if (!st->arc_running) {
        if (clock_mono_ms() < st->arc_next_ms)
            return;
        st->arc_next_ms = clock_mono_ms() + STORE_PRUNE_EVERY_MS;
        if (!archive_due(st->arc, clock_wall_ms()))
            return;
        archive_begin(st->arc, clock_wall_ms());
        st->arc_running = 1;
    }
    int64_t t0 = store_mono_us();
    int more = 1, rc = ENMON_OK;
    do
        rc = archive_step(st->arc, &more);
    while (rc == ENMON_OK && more && queue_depth(st->q) < STORE_STEP_MAX_WAITING &&
           store_mono_us() - t0 < STORE_ARCHIVE_GAP_MS * 1000);
    store_stall(st, t0);
    struct archive_stats as;
    archive_get_stats(st->arc, &as);
    __atomic_store_n(&st->archived, as.moved, __ATOMIC_RELAXED);
    if (rc != ENMON_OK)
        log_limited(&st->lim, STORE_LOG_EVERY_S, LOG_WARNING,
                    "store: archive step failed (tried again next round): %s",
                    sqlite3_errmsg(st->db));
    st->arc_running = rc == ENMON_OK && more;
}

static void *store_writer(void *arg)
{
    struct store *st = arg;
    for (;;) {
        size_t n = store_collect(st);
        if (n > 0)
            store_take_batch(st, st->batch, n);
        if (st->retry_len > 0 && clock_mono_ms() >= st->retry_at_ms)
            store_retry_flush(st);
        store_write_alerts(st);
        store_write_learned(st);
        store_prune(st);
        store_compact(st);
        if (n == 0 && store_queue_finished(st))
            break;
    }
    if (st->retry_len > 0) {
        store_retry_drain(st);
        if (st->retry_len > 0) {
            log_err("store: %zu held readings could not be committed before stop", st->retry_len);
            __atomic_add_fetch(&st->retry_dropped, st->retry_len, __ATOMIC_RELAXED);
            st->retry_len = 0;
            store_retry_publish(st);
        }
    }
    return NULL;
}

/* ---- open, submit, close ------------------------------------------------- */

static int store_prepare(struct store *st, char *msg, size_t msglen)
{
    for (int i = 0; i < SQL__COUNT; i++) {
        if (sqlite3_prepare_v3(st->db, store_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                               NULL) != SQLITE_OK) {
            snprintf(msg, msglen, "prepare: %s", sqlite3_errmsg(st->db));
            return ENMON_ERR_DB;
        }
    }
    return ENMON_OK;
}

static int store_init_devs(struct store *st, const struct enmon_config *cfg)
{
    st->ndevs = cfg->ndevices;
    st->devs = calloc(st->ndevs + 1, sizeof(*st->devs));
    st->dirty = calloc(st->ndevs + 1, sizeof(*st->dirty));
    st->agg_count = calloc(st->ndevs + 1, sizeof(*st->agg_count));
    st->order_count = calloc(st->ndevs + 2, sizeof(*st->order_count));
    st->order = calloc(STORE_BATCH_MAX, sizeof(*st->order));
    st->batch = calloc(STORE_BATCH_MAX, sizeof(*st->batch));
    if (!st->devs || !st->dirty || !st->agg_count || !st->order_count || !st->order || !st->batch)
        return ENMON_ERR_NOMEM;
    for (size_t i = 0; i < st->ndevs; i++) {
        st->devs[i].capacity_w = cfg->devices[i].capacity_w;
        snprintf(st->devs[i].key, sizeof(st->devs[i].key), "%s", cfg->devices[i].id);
    }
    return ENMON_OK;
}

static int store_setup_db(struct store *st, const struct enmon_config *cfg, int64_t *ids, char *msg,
                          size_t msglen);

static int store_setup_retention(struct store *st, const struct enmon_config *cfg, char *msg,
                                 size_t msglen)
{
    st->intervals_days = cfg->storage.intervals_days;
    st->daily_days = cfg->storage.daily_days;
    struct retention_policy p = {.readings_days = cfg->storage.readings_days,
                                 .intervals_days = cfg->storage.intervals_days,
                                 .daily_days = cfg->storage.daily_days,
                                 .alerts_days = cfg->storage.alerts_days};
    int rc = retention_open(st->db, &p, &st->ret);
    if (rc != ENMON_OK) {
        snprintf(msg, msglen, "retention: %s",
                 rc == ENMON_ERR_DB ? sqlite3_errmsg(st->db) : enmon_strerror(rc));
        return ENMON_ERR_DB;
    }
    if (!retention_enabled(st->ret)) {
        retention_close(st->ret);
        st->ret = NULL;
    }
    rc = archive_open(st->db, &st->arc);
    if (rc != ENMON_OK) {
        snprintf(msg, msglen, "archive: %s",
                 rc == ENMON_ERR_DB ? sqlite3_errmsg(st->db) : enmon_strerror(rc));
        return ENMON_ERR_DB;
    }
    return ENMON_OK;
}

static int store_setup(struct store *st, const struct enmon_config *cfg, char *msg, size_t msglen)
{
    int rc = store_init_devs(st, cfg);
    if (rc == ENMON_OK)
        rc = queue_new(sizeof(struct reading), STORE_QUEUE_CAP, &st->q);
    if (rc != ENMON_OK) {
        snprintf(msg, msglen, "%s", enmon_strerror(rc));
        return ENMON_ERR_DB;
    }
    st->retry_max = cfg->storage.retry_buffer_readings > 0
                        ? (size_t)cfg->storage.retry_buffer_readings
                        : CFG_RETRY_BUFFER_DEFAULT;
    int64_t *ids = calloc(st->ndevs + 1, sizeof(*ids));
    if (!ids) {
        snprintf(msg, msglen, "%s", enmon_strerror(ENMON_ERR_NOMEM));
        return ENMON_ERR_DB;
    }
    rc = store_setup_db(st, cfg, ids, msg, msglen);
    free(ids);
    if (rc == ENMON_OK)
        rc = store_setup_retention(st, cfg, msg, msglen);
    return rc;
}

/* True when the last failure was another writer's lock (SQLITE_BUSY after the busy timeout). */
static int store_was_locked(const struct store *st, const char *msg)
{
    if (st->db && (sqlite3_errcode(st->db) & 0xff) == SQLITE_BUSY)
        return 1;
    return strstr(msg, sqlite3_errstr(SQLITE_BUSY)) != NULL;
}

static void store_close_db(struct store *st)
{
    store_insert_finalize(st);
    for (int i = 0; i < SQL__COUNT; i++) {
        sqlite3_finalize(st->stmt[i]);
        st->stmt[i] = NULL;
    }
    sqlite3_close(st->db);
    st->db = NULL;
}

static int store_setup_once(struct store *st, const struct enmon_config *cfg, int64_t *ids,
                            char *msg, size_t msglen);

/* Opens, migrates and syncs the database. Another writer's lock is waited out as
 * the running store does (each try waits the busy timeout), for up to
 * STORE_LOCKED_MAX_S, with a log line, instead of failing after one timeout. */
static int store_setup_db(struct store *st, const struct enmon_config *cfg, int64_t *ids, char *msg,
                          size_t msglen)
{
    int64_t give_up = clock_mono_ms() + (int64_t)STORE_LOCKED_MAX_S * 1000;
    for (;;) {
        int rc = store_setup_once(st, cfg, ids, msg, msglen);
        if (rc == ENMON_OK || !store_was_locked(st, msg) || clock_mono_ms() >= give_up)
            return rc;
        log_limited(&st->lim, 60, LOG_WARNING,
                    "store: %s is locked by another writer; start-up waits (up to %d s)",
                    cfg->database, STORE_LOCKED_MAX_S);
        store_close_db(st);
    }
}

static int64_t store_query_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Incremental auto-vacuum lets retention give free pages back (retention.c). A
 * file created before it (or by another tool) is converted once with a VACUUM,
 * logged. VACUUM may renumber the rowids of readings, which the MQTT outbox
 * counts on: while readings wait above the published mark it is put off to a
 * later start. A failed conversion only costs the vacuum (pages are still reused). */
static void store_setup_autovacuum(struct store *st, const char *path)
{
    if (store_query_int(st->db, "PRAGMA auto_vacuum") == 2)
        return;
    int64_t mark = store_query_int(
        st->db, "SELECT coalesce((SELECT value FROM meta WHERE key = 'mqtt_published_rowid'), 0)");
    int64_t last = store_query_int(st->db, "SELECT coalesce(max(rowid), 0) FROM readings");
    if (mark < last) {
        log_warn("store: %s: incremental auto-vacuum needs a one-time VACUUM, put off while "
                 "%lld readings wait for the MQTT broker",
                 path, (long long)(last - mark));
        return;
    }
    int64_t pages = store_query_int(st->db, "PRAGMA page_count");
    int64_t size = store_query_int(st->db, "PRAGMA page_size");
    log_info("store: %s: switching to incremental auto-vacuum (one-time VACUUM of %.1f MiB)", path,
             (double)(pages * size) / 1048576.0);
    /* everything was published: the mark follows the rowids, whatever VACUUM made of them */
    if (sqlite3_exec(st->db,
                     "PRAGMA auto_vacuum=INCREMENTAL; VACUUM; UPDATE meta SET value = "
                     "(SELECT coalesce(max(rowid), 0) FROM readings) "
                     "WHERE key = 'mqtt_published_rowid'",
                     NULL, NULL, NULL) != SQLITE_OK)
        log_warn("store: %s: VACUUM failed (%s); free pages are reused but not given back", path,
                 sqlite3_errmsg(st->db));
}

/* Each device's program (devices.program_id), for the program rollups. */
static int store_load_programs(struct store *st, char *msg, size_t msglen)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "SELECT coalesce(program_id, 0) FROM devices WHERE id = ?1", -1,
                           &s, NULL) != SQLITE_OK) {
        snprintf(msg, msglen, "devices: %s", sqlite3_errmsg(st->db));
        return ENMON_ERR_DB;
    }
    int rc = ENMON_OK;
    for (size_t i = 0; i < st->ndevs && rc == ENMON_OK; i++) {
        sqlite3_bind_int64(s, 1, st->devs[i].id);
        int step = sqlite3_step(s);
        st->devs[i].prog_id = step == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
        if (step != SQLITE_ROW && step != SQLITE_DONE) {
            snprintf(msg, msglen, "devices: %s", sqlite3_errmsg(st->db));
            rc = ENMON_ERR_DB;
        }
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    return rc;
}

static int store_setup_once(struct store *st, const struct enmon_config *cfg, int64_t *ids,
                            char *msg, size_t msglen)
{
    int rc = store_schema_open(cfg->database, &st->db, msg, msglen);
    if (rc == ENMON_OK)
        rc = store_schema_migrate(st->db, msg, msglen);
    if (rc == ENMON_OK)
        store_setup_autovacuum(st, cfg->database);
    if (rc == ENMON_OK)
        rc = store_schema_sync_config(st->db, cfg, ids, msg, msglen);
    int tz_min = config_utc_offset_min(cfg);
    st->day_offset_min = tz_min;
    if (rc == ENMON_OK)
        rc = store_schema_sync_daily(st->db, tz_min, msg, msglen);
    if (rc == ENMON_OK)
        rc = store_schema_sync_rollups(st->db, msg, msglen);
    for (size_t i = 0; rc == ENMON_OK && i < st->ndevs; i++)
        st->devs[i].id = ids[i];
    if (rc == ENMON_OK)
        rc = store_load_programs(st, msg, msglen);
    if (rc == ENMON_OK)
        rc = store_prepare(st, msg, msglen);
    if (rc == ENMON_OK && store_load_counters(st) != ENMON_OK) {
        snprintf(msg, msglen, "counter_state: %s", sqlite3_errmsg(st->db));
        rc = ENMON_ERR_DB;
    }
    return rc;
}

static void store_free(struct store *st)
{
    retention_close(st->ret);
    archive_close(st->arc);
    store_insert_finalize(st);
    for (int i = 0; i < SQL__COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    if (st->db && sqlite3_close(st->db) != SQLITE_OK)
        log_err("store: close: %s", sqlite3_errmsg(st->db));
    queue_free(st->q);
    queue_free(st->alerts);
    queue_free(st->learned);
    free(st->devs);
    free(st->dirty);
    free(st->agg_count);
    free(st->order_count);
    free(st->order);
    free(st->batch);
    free(st->retry);
    store_agg_free(&st->agg);
    free(st->prog);
    free(st);
}

int store_open(const struct enmon_config *cfg, struct store **out, char *msg, size_t msglen)
{
    *out = NULL;
    struct store *st = calloc(1, sizeof(*st));
    if (!st) {
        snprintf(msg, msglen, "%s", enmon_strerror(ENMON_ERR_NOMEM));
        return ENMON_ERR_DB;
    }
    int rc = store_setup(st, cfg, msg, msglen);
    if (rc == ENMON_OK && queue_new(sizeof(struct alert_event), STORE_ALERTS_CAP, &st->alerts) != 0)
        rc = ENMON_ERR_NOMEM;
    if (rc == ENMON_OK &&
        queue_new(sizeof(struct alert_learned), 2 * cfg->ndevices + 16, &st->learned) != 0)
        rc = ENMON_ERR_NOMEM;
    if (rc == ENMON_OK && pthread_create(&st->thread, NULL, store_writer, st) != 0) {
        snprintf(msg, msglen, "cannot start the store writer thread");
        rc = ENMON_ERR_DB;
    }
    if (rc != ENMON_OK) {
        store_free(st);
        return ENMON_ERR_DB;
    }
    st->thread_started = 1;
    *out = st;
    return ENMON_OK;
}

int store_submit_alert(struct store *st, const struct alert_event *ev)
{
    return queue_push(st->alerts, ev);
}

int store_submit_learned(struct store *st, const struct alert_learned *l)
{
    return queue_push(st->learned, l);
}

int store_submit(struct store *st, const struct reading *r)
{
    return queue_push(st->q, r);
}

void store_get_stats(struct store *st, struct store_stats *out)
{
    out->written = __atomic_load_n(&st->written, __ATOMIC_RELAXED);
    out->dropped = queue_dropped(st->q);
    out->batches = __atomic_load_n(&st->batches, __ATOMIC_RELAXED);
    out->errors = __atomic_load_n(&st->errors, __ATOMIC_RELAXED);
    out->depth = queue_depth(st->q);
    out->retry_depth = (size_t)__atomic_load_n(&st->retry_depth, __ATOMIC_RELAXED);
    out->retry_dropped = __atomic_load_n(&st->retry_dropped, __ATOMIC_RELAXED);
    out->pruned = __atomic_load_n(&st->pruned, __ATOMIC_RELAXED);
    out->archived = __atomic_load_n(&st->archived, __ATOMIC_RELAXED);
    out->prune_max_ms = (double)__atomic_load_n(&st->prune_max_us, __ATOMIC_RELAXED) / 1000.0;
}

void store_close(struct store *st)
{
    if (!st)
        return;
    queue_close(st->q);
    if (st->thread_started)
        pthread_join(st->thread, NULL);
    store_free(st);
}
