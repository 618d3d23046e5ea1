/* outbox.c -- the MQTT outbox: committed readings not yet acknowledged by the broker. */
#include "outbox.h"
#include "clock.h"
#include "db_open.h"
#include "err.h"
#include "log.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Reads never wait under WAL; the mark's write must not stall the live feed (it is
 * retried a second later). */
#define OUTBOX_BUSY_MS 50
#define OUTBOX_MARK_EVERY_MS 1000
#define OUTBOX_LOG_EVERY_S 60
#define OUTBOX_MARK_KEY "mqtt_published_rowid"

_Static_assert(MEAS__COUNT == 11 && MEAS__ALL == 16, "readings columns follow enum meas");
/* the column of a sensor measurement in the fetch, after the 12 module columns */
#define OUTBOX_SENSOR_COL(m) (4 + MEAS__COUNT + READING_MODULES_MAX * MODULE__COUNT + (m)-MEAS__COUNT)
_Static_assert(READING_MODULES_MAX == 4 && MODULE__COUNT == 3, "m1..m4 dc columns follow modules");

/* devices.id -> config index, sorted by id for bsearch */
struct outbox_dev {
    int64_t id;
    uint32_t index;
};

struct outbox {
    sqlite3 *db;
    sqlite3_stmt *fetch, *fetch_keys, *max, *mark;
    struct outbox_dev *devs;
    size_t ndevs;
    int64_t max_rows;
    int64_t fetched; /* last rowid fetched or skipped */
    int64_t marked;  /* published mark last written */
    int64_t pending; /* mark to write */
    int64_t marked_at_ms;
    uint64_t shed, skipped;
    int64_t last; /* largest rowid seen */
    struct log_limit lim;
};

static int outbox_fail(sqlite3 *db, const char *what, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "outbox %s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return ENMON_ERR_DB;
}

static int outbox_dev_cmp(const void *a, const void *b)
{
    const struct outbox_dev *x = a, *y = b;
    return (x->id > y->id) - (x->id < y->id);
}

/* Maps each configured device's row id to its config index. */
static int outbox_load_devs(struct outbox *o, const struct enmon_config *cfg)
{
    sqlite3_stmt *s = NULL;
    o->devs = calloc(cfg->ndevices + 1, sizeof(*o->devs));
    if (!o->devs)
        return ENMON_ERR_NOMEM;
    if (sqlite3_prepare_v2(o->db, "SELECT id FROM devices WHERE key = ?1", -1, &s, NULL) !=
        SQLITE_OK)
        return ENMON_ERR_DB;
    for (size_t i = 0; i < cfg->ndevices; i++) {
        sqlite3_bind_text(s, 1, cfg->devices[i].id, -1, SQLITE_STATIC);
        if (sqlite3_step(s) == SQLITE_ROW)
            o->devs[o->ndevs++] = (struct outbox_dev){sqlite3_column_int64(s, 0), (uint32_t)i};
        sqlite3_reset(s);
    }
    sqlite3_finalize(s);
    qsort(o->devs, o->ndevs, sizeof(*o->devs), outbox_dev_cmp);
    return ENMON_OK;
}

static int64_t outbox_query_int(sqlite3_stmt *s, int64_t dflt)
{
    int64_t v = dflt;
    if (sqlite3_step(s) == SQLITE_ROW && sqlite3_column_type(s, 0) != SQLITE_NULL)
        v = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    return v;
}

/* The published mark; clamped to the last rowid (rowids restart if every
 * reading was deleted by hand). */
static int outbox_load_mark(struct outbox *o)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(o->db, "SELECT value FROM meta WHERE key = '" OUTBOX_MARK_KEY "'", -1,
                           &s, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    int64_t mark = outbox_query_int(s, 0);
    sqlite3_finalize(s);
    int64_t last = outbox_query_int(o->max, 0);
    if (mark > last)
        mark = last;
    o->fetched = o->marked = o->pending = mark;
    o->last = last;
    return ENMON_OK;
}

static int outbox_prepare(struct outbox *o)
{
    static const char fetch[] =
        "SELECT rowid, device_id, ts_ms, quality, power_w, energy_import_wh, energy_export_wh, "
        "voltage_v, current_a, frequency_hz, power_factor, dc_power_w, temperature_c, state, "
        "events, "
        "m1_dc_current_a, m1_dc_voltage_v, m1_dc_power_w, "
        "m2_dc_current_a, m2_dc_voltage_v, m2_dc_power_w, "
        "m3_dc_current_a, m3_dc_voltage_v, m3_dc_power_w, "
        "m4_dc_current_a, m4_dc_voltage_v, m4_dc_power_w, "
        "leakage_ma, current_l1_a, current_l2_a, current_l3_a, tilt_deg "
        "FROM readings WHERE rowid > ?1 ORDER BY rowid LIMIT ?2";
    static const char keys[] =
        "SELECT rowid, device_id, ts_ms FROM readings WHERE rowid > ?1 ORDER BY rowid LIMIT ?2";
    static const char max[] = "SELECT max(rowid) FROM readings";
    static const char mark[] =
        "INSERT OR REPLACE INTO meta(key, value) VALUES('" OUTBOX_MARK_KEY "', ?1)";
    if (sqlite3_prepare_v2(o->db, fetch, -1, &o->fetch, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(o->db, keys, -1, &o->fetch_keys, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(o->db, max, -1, &o->max, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(o->db, mark, -1, &o->mark, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    return ENMON_OK;
}

static void outbox_free(struct outbox *o)
{
    sqlite3_finalize(o->fetch);
    sqlite3_finalize(o->fetch_keys);
    sqlite3_finalize(o->max);
    sqlite3_finalize(o->mark);
    sqlite3_close(o->db);
    free(o->devs);
    free(o);
}

int outbox_open(const struct enmon_config *cfg, int64_t max_rows, struct outbox **out, char *msg,
                size_t msglen)
{
    *out = NULL;
    struct outbox *o = calloc(1, sizeof(*o));
    if (!o)
        return outbox_fail(NULL, "open", msg, msglen);
    o->max_rows = max_rows > 0 ? max_rows : 1;
    int rc = db_open(cfg->database, DB_STORE, OUTBOX_BUSY_MS, &o->db, msg, msglen);
    if (rc != ENMON_OK) {
        outbox_free(o);
        return rc;
    }
    rc = outbox_prepare(o);
    if (rc == ENMON_OK)
        rc = outbox_load_devs(o, cfg);
    if (rc == ENMON_OK)
        rc = outbox_load_mark(o);
    if (rc != ENMON_OK) {
        outbox_fail(o->db, cfg->database, msg, msglen);
        outbox_free(o);
        return ENMON_ERR_DB;
    }
    o->marked_at_ms = clock_mono_ms();
    *out = o;
    return ENMON_OK;
}

static int outbox_dev_index(const struct outbox *o, int64_t id, uint32_t *index)
{
    struct outbox_dev key = {.id = id};
    const struct outbox_dev *d = bsearch(&key, o->devs, o->ndevs, sizeof(*o->devs), outbox_dev_cmp);
    if (!d)
        return 0;
    *index = d->index;
    return 1;
}

/* The reading of the current row of o->fetch (NULL columns are not valid). */
static void outbox_row(sqlite3_stmt *s, struct reading *r)
{
    *r = (struct reading){0};
    r->wall_ms = sqlite3_column_int64(s, 2);
    r->quality = (uint8_t)sqlite3_column_int(s, 3);
    r->online = 1;
    for (int m = 0; m < MEAS__COUNT; m++)
        if (sqlite3_column_type(s, 4 + m) != SQLITE_NULL)
            reading_set(r, (enum meas)m, sqlite3_column_double(s, 4 + m));
    /* DC modules (model 160): nmodules is the last module with a value */
    for (int i = 0; i < READING_MODULES_MAX; i++)
        for (int k = 0; k < MODULE__COUNT; k++) {
            int col = 4 + MEAS__COUNT + i * MODULE__COUNT + k;
            if (sqlite3_column_type(s, col) == SQLITE_NULL)
                continue;
            r->module[i].value[k] = sqlite3_column_double(s, col);
            r->module[i].valid |= (uint8_t)(1u << k);
            r->nmodules = (uint8_t)(i + 1);
        }
    for (int m = MEAS__COUNT; m < MEAS__ALL; m++)
        if (sqlite3_column_type(s, OUTBOX_SENSOR_COL(m)) != SQLITE_NULL)
            reading_set(r, (enum meas)m, sqlite3_column_double(s, OUTBOX_SENSOR_COL(m)));
}

/* Beyond max_rows, the oldest rows are skipped for good: counted and logged. */
static void outbox_shed(struct outbox *o)
{
    int64_t last = outbox_query_int(o->max, o->fetched);
    o->last = last;
    if (last - o->fetched <= o->max_rows)
        return;
    int64_t n = last - o->fetched - o->max_rows;
    o->shed += (uint64_t)n;
    o->fetched += n;
    log_limited(&o->lim, OUTBOX_LOG_EVERY_S, LOG_WARNING,
                "mqtt outbox: over %lld readings; the oldest %lld will not be published "
                "(%llu shed since start)",
                (long long)o->max_rows, (long long)n, (unsigned long long)o->shed);
}

void outbox_refresh(struct outbox *o)
{
    outbox_shed(o);
}

/* Rows after the last fetched: whole readings, or (keys) device and time only. */
static size_t outbox_fetch_rows(struct outbox *o, int keys, struct outbox_item *out, size_t max)
{
    outbox_shed(o);
    sqlite3_stmt *s = keys ? o->fetch_keys : o->fetch;
    sqlite3_bind_int64(s, 1, o->fetched);
    sqlite3_bind_int64(s, 2, (sqlite3_int64)max);
    size_t n = 0;
    int rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int64_t seq = sqlite3_column_int64(s, 0);
        o->fetched = seq;
        uint32_t index;
        if (!outbox_dev_index(o, sqlite3_column_int64(s, 1), &index)) {
            o->skipped++;
            continue;
        }
        if (keys) {
            out[n].r = (struct reading){.wall_ms = sqlite3_column_int64(s, 2), .online = 1};
        } else {
            outbox_row(s, &out[n].r);
        }
        out[n].r.device = index;
        out[n].seq = seq;
        out[n].keys_only = keys;
        n++;
    }
    if (rc != SQLITE_DONE)
        log_limited(&o->lim, OUTBOX_LOG_EVERY_S, LOG_ERR, "mqtt outbox: read: %s",
                    sqlite3_errmsg(o->db));
    sqlite3_reset(s);
    return n;
}

size_t outbox_fetch(struct outbox *o, struct outbox_item *out, size_t max)
{
    return outbox_fetch_rows(o, 0, out, max);
}

size_t outbox_fetch_keys(struct outbox *o, struct outbox_item *out, size_t max)
{
    return outbox_fetch_rows(o, 1, out, max);
}

void outbox_rewind(struct outbox *o, int64_t seq)
{
    if (seq < o->fetched)
        o->fetched = seq;
}

int outbox_at_end(const struct outbox *o)
{
    return o->fetched >= o->last;
}

int64_t outbox_fetched(const struct outbox *o)
{
    return o->fetched;
}

int outbox_mark(struct outbox *o, int64_t seq, int force)
{
    if (seq > o->pending)
        o->pending = seq;
    int64_t now = clock_mono_ms();
    if (o->pending == o->marked || (!force && now - o->marked_at_ms < OUTBOX_MARK_EVERY_MS))
        return ENMON_OK;
    sqlite3_bind_int64(o->mark, 1, o->pending);
    int rc = sqlite3_step(o->mark);
    sqlite3_reset(o->mark);
    o->marked_at_ms = now;
    if (rc != SQLITE_DONE) {
        log_limited(&o->lim, OUTBOX_LOG_EVERY_S, LOG_ERR, "mqtt outbox: cannot record mark: %s",
                    sqlite3_errmsg(o->db));
        return ENMON_ERR_DB;
    }
    o->marked = o->pending;
    return ENMON_OK;
}

void outbox_get_stats(struct outbox *o, struct outbox_stats *out)
{
    out->depth = o->last > o->pending ? o->last - o->pending : 0;
    out->shed = o->shed;
    out->skipped = o->skipped;
}

void outbox_close(struct outbox *o)
{
    if (!o)
        return;
    outbox_mark(o, o->pending, 1);
    outbox_free(o);
}
