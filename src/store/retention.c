/* retention.c -- storage retention: old rows pruned in short steps, free pages given back. */
#include "retention.h"
#include "block_codec.h"
#include "clock.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>

#define RETENTION_DAY_MS 86400000LL

enum retention_phase {
    PH_READINGS,
    PH_BLOCKS,
    PH_INTERVALS,
    PH_DAILY,
    PH_ALERTS,
    PH_VACUUM,
    PH_DONE,
};

enum retention_stmt {
    RS_NEXT_DEV,
    RS_LIMIT,
    RS_READINGS,
    RS_BLOCKS,
    RS_BLOCK_EDGE,
    RS_BLOCK_ADD,
    RS_BLOCK_DEL,
    RS_INTERVALS,
    RS_DAILY,
    RS_ALERTS,
    RS_FREELIST,
    RS__COUNT
};

static const char *const retention_sql[RS__COUNT] = {
    [RS_NEXT_DEV] = "SELECT id FROM devices WHERE id > ?1 ORDER BY id LIMIT 1",
    /* the outbox is the readings above the published mark (outbox.h); the newest row
     * stays so that the next rowid never restarts below the mark */
    [RS_LIMIT] = "SELECT coalesce((SELECT value FROM meta WHERE key = 'mqtt_published_rowid'), 0),"
                 " coalesce((SELECT max(rowid) FROM readings), 0)",
    [RS_READINGS] = "DELETE FROM readings WHERE rowid IN (SELECT rowid FROM readings"
                    " WHERE device_id = ?1 AND ts_ms < ?2 AND rowid <= ?3 LIMIT ?4)",
    /* archive blocks (archive.h) whose every reading is older than the cutoff */
    [RS_BLOCKS] = "DELETE FROM reading_blocks WHERE (device_id, t0_ms) IN (SELECT device_id, t0_ms"
                  " FROM reading_blocks WHERE device_id = ?1 AND t0_ms < ?2 AND t1_ms < ?2"
                  " ORDER BY t0_ms LIMIT ?4) RETURNING n",
    /* a block holding readings on both sides of the cutoff: its old ones are cut out */
    [RS_BLOCK_EDGE] = "SELECT t0_ms, data FROM reading_blocks WHERE device_id = ?1 AND t0_ms < ?2"
                      " ORDER BY t0_ms LIMIT 1",
    [RS_BLOCK_ADD] = "INSERT OR IGNORE INTO reading_blocks(device_id, t0_ms, t1_ms, n, data)"
                     " VALUES(?1, ?2, ?3, ?4, ?5)",
    [RS_BLOCK_DEL] = "DELETE FROM reading_blocks WHERE device_id = ?1 AND t0_ms = ?2",
    [RS_INTERVALS] = "DELETE FROM intervals WHERE (device_id, start_s) IN (SELECT device_id,"
                     " start_s FROM intervals WHERE device_id = ?1 AND start_s < ?2"
                     " ORDER BY start_s LIMIT ?4)",
    [RS_DAILY] = "DELETE FROM daily WHERE (device_id, day_s) IN (SELECT device_id, day_s"
                 " FROM daily WHERE device_id = ?1 AND day_s < ?2 ORDER BY day_s LIMIT ?4)",
    /* cleared_ms >= raised_ms: the raised_ms index finds the candidates */
    [RS_ALERTS] = "DELETE FROM alerts WHERE id IN (SELECT id FROM alerts"
                  " WHERE raised_ms < ?1 AND cleared_ms < ?1 LIMIT ?2)",
    [RS_FREELIST] = "PRAGMA freelist_count",
};

struct retention {
    sqlite3 *db;
    sqlite3_stmt *stmt[RS__COUNT];
    struct retention_policy p;
    int incremental; /* auto_vacuum = INCREMENTAL */
    enum retention_phase phase;
    int64_t cut_readings_ms, cut_intervals_s, cut_daily_s, cut_alerts_ms;
    int64_t dev;  /* devices.id of the device being pruned, or the last one done */
    int have_dev; /* dev still has rows to prune */
    struct retention_stats stats;
};

int retention_open(sqlite3 *db, const struct retention_policy *p, struct retention **out)
{
    *out = NULL;
    struct retention *r = calloc(1, sizeof(*r));
    if (!r)
        return ENMON_ERR_NOMEM;
    r->db = db;
    r->p = *p;
    if (r->p.chunk <= 0)
        r->p.chunk = RETENTION_CHUNK;
    if (r->p.vacuum_slack == 0)
        r->p.vacuum_slack = RETENTION_VACUUM_SLACK;
    if (r->p.vacuum_slack < 0)
        r->p.vacuum_slack = 0;
    r->phase = PH_DONE;
    for (int i = 0; i < RS__COUNT; i++) {
        if (sqlite3_prepare_v3(db, retention_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &r->stmt[i],
                               NULL) != SQLITE_OK) {
            retention_close(r);
            return ENMON_ERR_DB;
        }
    }
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA auto_vacuum", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        r->incremental = sqlite3_column_int(s, 0) == 2;
    sqlite3_finalize(s);
    *out = r;
    return ENMON_OK;
}

int retention_enabled(const struct retention *r)
{
    return r->p.readings_days > 0 || r->p.intervals_days > 0 || r->p.daily_days > 0 ||
           r->p.alerts_days > 0;
}

void retention_begin(struct retention *r, int64_t now_ms)
{
    r->cut_readings_ms = now_ms - r->p.readings_days * RETENTION_DAY_MS;
    r->cut_intervals_s = (now_ms - r->p.intervals_days * RETENTION_DAY_MS) / 1000;
    r->cut_daily_s = (now_ms - r->p.daily_days * RETENTION_DAY_MS) / 1000;
    r->cut_alerts_ms = now_ms - r->p.alerts_days * RETENTION_DAY_MS;
    r->phase = PH_READINGS;
    r->dev = INT64_MIN;
    r->have_dev = 0;
}

/* Moves to the next phase whose policy prunes anything. */
static void retention_next_phase(struct retention *r)
{
    r->dev = INT64_MIN;
    r->have_dev = 0;
    for (;;) {
        r->phase++;
        if (r->phase == PH_BLOCKS && r->p.readings_days <= 0)
            continue;
        if (r->phase == PH_INTERVALS && r->p.intervals_days <= 0)
            continue;
        if (r->phase == PH_DAILY && r->p.daily_days <= 0)
            continue;
        if (r->phase == PH_ALERTS && r->p.alerts_days <= 0)
            continue;
        if (r->phase == PH_VACUUM && !r->incremental)
            continue;
        return;
    }
}

static int64_t retention_query_int(sqlite3_stmt *s, int col, int *ok)
{
    int64_t v = 0;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        v = sqlite3_column_int64(s, col);
    else if (rc != SQLITE_DONE)
        *ok = 0;
    return v;
}

/* The highest rowid of readings that may go: at most the published mark, and
 * below the newest row. */
static int retention_readings_limit(struct retention *r, int64_t *limit)
{
    sqlite3_stmt *s = r->stmt[RS_LIMIT];
    int ok = 1;
    int64_t mark = 0, last = 0;
    if (sqlite3_step(s) == SQLITE_ROW) {
        mark = sqlite3_column_int64(s, 0);
        last = sqlite3_column_int64(s, 1);
    } else {
        ok = 0;
    }
    sqlite3_reset(s);
    *limit = mark < last ? mark : last - 1;
    return ok ? ENMON_OK : ENMON_ERR_DB;
}

/* The next device after r->dev: 1, 0 when none is left, ENMON_ERR_DB as -1. */
static int retention_next_dev(struct retention *r)
{
    sqlite3_stmt *s = r->stmt[RS_NEXT_DEV];
    sqlite3_bind_int64(s, 1, r->dev);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        r->dev = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    if (rc == SQLITE_ROW) {
        r->have_dev = 1;
        return 1;
    }
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Deletes up to left rows of one device older than cut (and, for readings, at
 * most rowid limit); *n gets how many. */
static int retention_delete_dev(struct retention *r, enum retention_stmt which, int64_t cut,
                                int64_t limit, int left, int *n)
{
    sqlite3_stmt *s = r->stmt[which];
    sqlite3_bind_int64(s, 1, r->dev);
    sqlite3_bind_int64(s, 2, cut);
    if (which == RS_READINGS)
        sqlite3_bind_int64(s, 3, limit);
    sqlite3_bind_int(s, 4, left);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    *n = rc == SQLITE_DONE ? sqlite3_changes(r->db) : 0;
    return rc == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
}

/* Re-writes the device's block holding readings older than cut and newer ones with
 * only the newer (under a new key: their first time). *trimmed gets how many
 * readings went; 0 when there is no such block, or (kept whole, the safe side)
 * another block starts at that time already. */
static int retention_trim_block(struct retention *r, int64_t cut, uint64_t *trimmed)
{
    *trimmed = 0;
    sqlite3_stmt *e = r->stmt[RS_BLOCK_EDGE];
    sqlite3_bind_int64(e, 1, r->dev);
    sqlite3_bind_int64(e, 2, cut);
    int rc = sqlite3_step(e);
    if (rc != SQLITE_ROW) {
        sqlite3_reset(e);
        return rc == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
    }
    int64_t old_t0 = sqlite3_column_int64(e, 0);
    const uint8_t *blob = sqlite3_column_blob(e, 1);
    size_t len = (size_t)sqlite3_column_bytes(e, 1), n = 0, keep = 0;
    struct block_row *rows = NULL;
    uint8_t *buf = NULL;
    int err = block_count(blob, len, &n);
    if (err == ENMON_OK) {
        rows = calloc(n + 1, sizeof(*rows));
        buf = malloc(block_encode_bound(n));
        err = rows && buf ? block_decode(blob, len, rows, n, &n) : ENMON_ERR_NOMEM;
    }
    sqlite3_reset(e);
    for (size_t i = 0; err == ENMON_OK && i < n; i++)
        if (rows[i].ts_ms >= cut)
            rows[keep++] = rows[i];
    if (err == ENMON_OK && keep > 0 && keep < n) {
        size_t blen = block_encode(rows, keep, buf, block_encode_bound(n));
        sqlite3_stmt *a = r->stmt[RS_BLOCK_ADD];
        int64_t t1 = rows[0].ts_ms;
        for (size_t i = 1; i < keep; i++)
            t1 = rows[i].ts_ms > t1 ? rows[i].ts_ms : t1;
        sqlite3_bind_int64(a, 1, r->dev);
        sqlite3_bind_int64(a, 2, rows[0].ts_ms);
        sqlite3_bind_int64(a, 3, t1);
        sqlite3_bind_int64(a, 4, (int64_t)keep);
        sqlite3_bind_blob(a, 5, buf, (int)blen, SQLITE_STATIC);
        err = sqlite3_step(a) == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
        sqlite3_reset(a);
        if (err == ENMON_OK && sqlite3_changes(r->db) == 1) {
            sqlite3_stmt *d = r->stmt[RS_BLOCK_DEL];
            sqlite3_bind_int64(d, 1, r->dev);
            sqlite3_bind_int64(d, 2, old_t0);
            err = sqlite3_step(d) == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
            sqlite3_reset(d);
            *trimmed = n - keep;
        }
    }
    free(rows);
    free(buf);
    /* a damaged block is left alone: retention never stops over it */
    return err == ENMON_ERR_DB || err == ENMON_ERR_NOMEM ? err : ENMON_OK;
}

/* Archive blocks of the device wholly older than cut, up to left, then the one
 * across cut trimmed: *n gets the blocks deleted; the readings they held count as
 * readings deleted. */
static int retention_blocks_dev(struct retention *r, int64_t cut, int left, int *n)
{
    sqlite3_stmt *s = r->stmt[RS_BLOCKS];
    sqlite3_bind_int64(s, 1, r->dev);
    sqlite3_bind_int64(s, 2, cut);
    sqlite3_bind_int(s, 4, left);
    int rc;
    *n = 0;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        r->stats.readings += (uint64_t)sqlite3_column_int64(s, 0);
        (*n)++;
    }
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return ENMON_ERR_DB;
    r->stats.blocks += (uint64_t)*n;
    uint64_t trimmed = 0;
    if (*n < left && retention_trim_block(r, cut, &trimmed) != ENMON_OK)
        return ENMON_ERR_DB;
    r->stats.readings += trimmed;
    return ENMON_OK;
}

/* Readings, intervals or daily rows, device by device: up to chunk rows, and no
 * more devices once RETENTION_STEP_MS passed. Inside the caller's transaction. */
static int retention_devices(struct retention *r, uint64_t *count)
{
    enum retention_stmt which = r->phase == PH_READINGS    ? RS_READINGS
                                : r->phase == PH_BLOCKS    ? RS_BLOCKS
                                : r->phase == PH_INTERVALS ? RS_INTERVALS
                                                           : RS_DAILY;
    int64_t cut = r->phase == PH_READINGS || r->phase == PH_BLOCKS ? r->cut_readings_ms
                  : r->phase == PH_INTERVALS                       ? r->cut_intervals_s
                                                                   : r->cut_daily_s;
    int64_t limit = 0;
    if (which == RS_READINGS && retention_readings_limit(r, &limit) != ENMON_OK)
        return ENMON_ERR_DB;
    int64_t t0 = clock_mono_ms();
    int left = r->p.chunk;
    for (;;) {
        if (!r->have_dev) {
            int got = retention_next_dev(r);
            if (got < 0)
                return ENMON_ERR_DB;
            if (got == 0) {
                retention_next_phase(r);
                return ENMON_OK;
            }
        }
        int n = 0;
        if (which == RS_BLOCKS) {
            if (retention_blocks_dev(r, cut, left, &n) != ENMON_OK)
                return ENMON_ERR_DB;
        } else if (retention_delete_dev(r, which, cut, limit, left, &n) != ENMON_OK) {
            return ENMON_ERR_DB;
        } else {
            *count += (uint64_t)n;
        }
        left -= n;
        if (left <= 0)
            return ENMON_OK; /* this device may hold more: it goes on next step */
        r->have_dev = 0;
        if (clock_mono_ms() - t0 >= RETENTION_STEP_MS)
            return ENMON_OK;
    }
}

static int retention_alerts(struct retention *r)
{
    sqlite3_stmt *s = r->stmt[RS_ALERTS];
    sqlite3_bind_int64(s, 1, r->cut_alerts_ms);
    sqlite3_bind_int(s, 2, r->p.chunk);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return ENMON_ERR_DB;
    int n = sqlite3_changes(r->db);
    r->stats.alerts += (uint64_t)n;
    if (n < r->p.chunk)
        retention_next_phase(r);
    return ENMON_OK;
}

/* Gives back free pages beyond the slack, RETENTION_VACUUM_PAGES at a time. */
static int retention_vacuum(struct retention *r)
{
    int ok = 1;
    int64_t free_pages = retention_query_int(r->stmt[RS_FREELIST], 0, &ok);
    sqlite3_reset(r->stmt[RS_FREELIST]);
    if (!ok)
        return ENMON_ERR_DB;
    int64_t excess = free_pages - r->p.vacuum_slack;
    if (excess <= 0) {
        retention_next_phase(r);
        return ENMON_OK;
    }
    if (excess > RETENTION_VACUUM_PAGES)
        excess = RETENTION_VACUUM_PAGES;
    char sql[64];
    snprintf(sql, sizeof(sql), "PRAGMA incremental_vacuum(%lld)", (long long)excess);
    if (sqlite3_exec(r->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    r->stats.pages += (uint64_t)excess;
    return ENMON_OK;
}

static int retention_rows(struct retention *r)
{
    switch (r->phase) {
    case PH_READINGS:
        return retention_devices(r, &r->stats.readings);
    case PH_BLOCKS: /* counts itself: blocks, and their readings as readings */
        return retention_devices(r, &r->stats.blocks);
    case PH_INTERVALS:
        return retention_devices(r, &r->stats.intervals);
    case PH_DAILY:
        return retention_devices(r, &r->stats.daily);
    default:
        return retention_alerts(r);
    }
}

int retention_step(struct retention *r, int *more)
{
    *more = 0;
    if (r->phase == PH_READINGS && r->p.readings_days <= 0)
        retention_next_phase(r);
    if (r->phase == PH_DONE)
        return ENMON_OK;
    struct retention_stats before = r->stats; /* a rolled back step deleted nothing */
    int rc;
    if (r->phase == PH_VACUUM) {
        rc = retention_vacuum(r); /* a transaction of its own */
    } else {
        if (sqlite3_exec(r->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
            return ENMON_ERR_DB;
        rc = retention_rows(r);
        if (rc == ENMON_OK && sqlite3_exec(r->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
            rc = ENMON_ERR_DB;
        if (rc != ENMON_OK && !sqlite3_get_autocommit(r->db))
            sqlite3_exec(r->db, "ROLLBACK", NULL, NULL, NULL);
    }
    if (rc != ENMON_OK) {
        r->stats = before;
        r->phase = PH_DONE;
        return rc;
    }
    if (r->phase == PH_DONE)
        r->stats.rounds++;
    *more = r->phase != PH_DONE;
    return ENMON_OK;
}

void retention_get_stats(const struct retention *r, struct retention_stats *out)
{
    *out = r->stats;
}

void retention_close(struct retention *r)
{
    if (!r)
        return;
    for (int i = 0; i < RS__COUNT; i++)
        sqlite3_finalize(r->stmt[i]);
    free(r);
}
