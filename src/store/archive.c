/* archive.c -- old raw readings packed into compact blocks, read back with the new ones. */
#include "archive.h"
#include "clock.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

/* the value columns of readings, in block_codec's column order */
#define ARCHIVE_VALUE_COLS                                                                         \
    "power_w, energy_import_wh, energy_export_wh, voltage_v, current_a, frequency_hz, "            \
    "power_factor, dc_power_w, temperature_c, state, events, "                                     \
    "m1_dc_current_a, m1_dc_voltage_v, m1_dc_power_w, m2_dc_current_a, m2_dc_voltage_v, "          \
    "m2_dc_power_w, m3_dc_current_a, m3_dc_voltage_v, m3_dc_power_w, m4_dc_current_a, "            \
    "m4_dc_voltage_v, m4_dc_power_w, leakage_ma, current_l1_a, current_l2_a, current_l3_a, "      \
    "tilt_deg"

enum archive_stmt {
    AS_NEXT_DEV,
    AS_LIMIT,
    AS_NEWEST,
    AS_ROWS,
    AS_INSERT,
    AS_DELETE,
    AS_GET_BLOCK,
    AS_SET_BLOCK,
    AS__COUNT
};

static const char *const archive_sql[AS__COUNT] = {
    [AS_NEXT_DEV] = "SELECT id FROM devices WHERE id > ?1 ORDER BY id LIMIT 1",
    [AS_LIMIT] = "SELECT coalesce((SELECT value FROM meta WHERE key = 'mqtt_published_rowid'), 0),"
                 " coalesce((SELECT max(rowid) FROM readings), 0),"
                 " coalesce((SELECT min(rowid) FROM readings), 0)",
    [AS_NEWEST] = "SELECT max(ts_ms) FROM readings WHERE device_id = ?1",
    [AS_ROWS] = "SELECT rowid, ts_ms, quality, " ARCHIVE_VALUE_COLS " FROM readings"
                " WHERE device_id = ?1 AND ts_ms < ?2 AND rowid <= ?3 ORDER BY ts_ms LIMIT ?4",
    [AS_INSERT] = "INSERT INTO reading_blocks(device_id, t0_ms, t1_ms, n, data)"
                  " VALUES(?1, ?2, ?3, ?4, ?5) ON CONFLICT(device_id, t0_ms) DO NOTHING",
    [AS_DELETE] = "DELETE FROM readings WHERE rowid = ?1",
    [AS_GET_BLOCK] = "SELECT data FROM reading_blocks WHERE device_id = ?1 AND t0_ms = ?2",
    [AS_SET_BLOCK] = "UPDATE reading_blocks SET t1_ms = ?3, n = ?4, data = ?5"
                     " WHERE device_id = ?1 AND t0_ms = ?2",
};

struct archive {
    sqlite3 *db;
    sqlite3_stmt *stmt[AS__COUNT];
    int running, begun;
    int64_t cut_ms, flush_ms;
    int64_t begun_ms, begun_mark; /* the last round's start and the mark then */
    int64_t dev;
    int have_dev;
    struct block_row *rows; /* ARCHIVE_CHUNK fetched readings ... */
    int64_t *rowids;        /* ... and their rowids */
    uint8_t *buf;
    size_t bufcap;
    struct archive_stats stats;
};

int archive_open(sqlite3 *db, struct archive **out)
{
    *out = NULL;
    struct archive *a = calloc(1, sizeof(*a));
    if (!a)
        return ENMON_ERR_NOMEM;
    a->db = db;
    a->bufcap = block_encode_bound(2 * ARCHIVE_CHUNK);
    a->rows = calloc(2 * ARCHIVE_CHUNK, sizeof(*a->rows));
    a->rowids = calloc(ARCHIVE_CHUNK, sizeof(*a->rowids));
    a->buf = malloc(a->bufcap);
    if (!a->rows || !a->rowids || !a->buf) {
        archive_close(a);
        return ENMON_ERR_NOMEM;
    }
    for (int i = 0; i < AS__COUNT; i++)
        if (sqlite3_prepare_v3(db, archive_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &a->stmt[i],
                               NULL) != SQLITE_OK) {
            archive_close(a);
            return ENMON_ERR_DB;
        }
    *out = a;
    return ENMON_OK;
}

/* The published mark, the newest rowid and (first, when not NULL) the oldest. */
static int archive_marks(struct archive *a, int64_t *mark, int64_t *last, int64_t *first)
{
    sqlite3_stmt *s = a->stmt[AS_LIMIT];
    int rc = sqlite3_step(s);
    *mark = sqlite3_column_int64(s, 0);
    *last = sqlite3_column_int64(s, 1);
    if (first)
        *first = sqlite3_column_int64(s, 2);
    sqlite3_reset(s);
    return rc == SQLITE_ROW ? ENMON_OK : ENMON_ERR_DB;
}

int archive_due(struct archive *a, int64_t now_ms)
{
    int64_t mark = 0, last = 0;
    if (!a->begun || now_ms - a->begun_ms >= ARCHIVE_EVERY_MS || now_ms < a->begun_ms)
        return 1;
    return archive_marks(a, &mark, &last, NULL) == ENMON_OK &&
           mark - a->begun_mark >= ARCHIVE_MARK_STEP;
}

void archive_begin(struct archive *a, int64_t now_ms)
{
    int64_t last = 0;
    if (archive_marks(a, &a->begun_mark, &last, NULL) != ENMON_OK)
        a->begun_mark = 0;
    a->begun = 1;
    a->begun_ms = now_ms;
    a->cut_ms = now_ms - ARCHIVE_AGE_MS;
    a->flush_ms = a->cut_ms - ARCHIVE_FLUSH_MS;
    a->dev = INT64_MIN;
    a->have_dev = 0;
    a->running = 1;
}

/* The highest rowid that may move: at most the published mark, and below the
 * newest row (as retention.c). */
static int archive_limit(struct archive *a, int64_t *limit)
{
    int64_t mark = 0, last = 0, first = 0;
    int rc = archive_marks(a, &mark, &last, &first);
    *limit = mark < last ? mark : last - 1;
    if (first == 0 || first > *limit)
        *limit = 0; /* no row may move: the round need not visit the devices */
    return rc;
}

static int archive_next_dev(struct archive *a)
{
    sqlite3_stmt *s = a->stmt[AS_NEXT_DEV];
    sqlite3_bind_int64(s, 1, a->dev);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        a->dev = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    a->have_dev = rc == SQLITE_ROW;
    return rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
}

/* A readings row (ts_ms at column col, then quality and the values) into row. */
static void archive_column_row(sqlite3_stmt *s, int col, struct block_row *row)
{
    row->ts_ms = sqlite3_column_int64(s, col);
    row->quality = sqlite3_column_int64(s, col + 1);
    row->present = 0;
    for (int c = 0; c < BLOCK_COLS; c++) {
        if (sqlite3_column_type(s, col + 2 + c) == SQLITE_NULL)
            continue;
        row->present |= 1u << c;
        row->v[c] = sqlite3_column_double(s, col + 2 + c);
    }
}

/* Up to max readings of the current device older than cut, time order. */
static int archive_fetch(struct archive *a, int64_t cut, int64_t limit, int max, int *got)
{
    sqlite3_stmt *s = a->stmt[AS_ROWS];
    sqlite3_bind_int64(s, 1, a->dev);
    sqlite3_bind_int64(s, 2, cut);
    sqlite3_bind_int64(s, 3, limit);
    sqlite3_bind_int(s, 4, max);
    int n = 0, rc;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW && n < max) {
        a->rowids[n] = sqlite3_column_int64(s, 0);
        archive_column_row(s, 1, &a->rows[n]);
        n++;
    }
    sqlite3_reset(s);
    *got = n;
    return rc == SQLITE_DONE || rc == SQLITE_ROW ? ENMON_OK : ENMON_ERR_DB;
}

/* How many of rows[0..n) fit one block of ARCHIVE_BLOCK_BYTES; *len gets its size
 * (encoded into a->buf). */
static size_t archive_pack(struct archive *a, const struct block_row *rows, size_t n, size_t *len)
{
    size_t m = n < ARCHIVE_BLOCK_ROWS ? n : ARCHIVE_BLOCK_ROWS;
    for (;;) {
        *len = block_encode(rows, m, a->buf, a->bufcap);
        if (*len <= ARCHIVE_BLOCK_BYTES || m == 1)
            return m;
        size_t next = m * ARCHIVE_BLOCK_BYTES / *len;
        m = next >= m ? m - 1 : next < 1 ? 1 : next;
    }
}

static int archive_row_cmp(const void *pa, const void *pb)
{
    const struct block_row *x = pa, *y = pb;
    return (x->ts_ms > y->ts_ms) - (x->ts_ms < y->ts_ms);
}

/* A block starting at the same instant exists (readings of one time moved in two
 * rounds): its readings and rows[0..m) are written as one block. */
static int archive_merge(struct archive *a, const struct block_row *rows, size_t m)
{
    sqlite3_stmt *g = a->stmt[AS_GET_BLOCK];
    sqlite3_bind_int64(g, 1, a->dev);
    sqlite3_bind_int64(g, 2, rows[0].ts_ms);
    int rc = ENMON_ERR_DB;
    size_t have = 0;
    struct block_row *all = NULL;
    if (sqlite3_step(g) == SQLITE_ROW) {
        const uint8_t *blob = sqlite3_column_blob(g, 0);
        size_t len = (size_t)sqlite3_column_bytes(g, 0);
        rc = block_count(blob, len, &have);
        all = rc == ENMON_OK ? calloc(have + m, sizeof(*all)) : NULL;
        if (rc == ENMON_OK)
            rc = all ? block_decode(blob, len, all, have, &have) : ENMON_ERR_NOMEM;
    }
    sqlite3_reset(g);
    uint8_t *buf = all ? malloc(block_encode_bound(have + m)) : NULL;
    if (rc == ENMON_OK && buf) {
        memcpy(all + have, rows, m * sizeof(*rows));
        qsort(all, have + m, sizeof(*all), archive_row_cmp);
        size_t len = block_encode(all, have + m, buf, block_encode_bound(have + m));
        sqlite3_stmt *s = a->stmt[AS_SET_BLOCK];
        sqlite3_bind_int64(s, 1, a->dev);
        sqlite3_bind_int64(s, 2, all[0].ts_ms);
        sqlite3_bind_int64(s, 3, all[have + m - 1].ts_ms);
        sqlite3_bind_int64(s, 4, (int64_t)(have + m));
        sqlite3_bind_blob(s, 5, buf, (int)len, SQLITE_STATIC);
        rc = sqlite3_step(s) == SQLITE_DONE ? ENMON_OK : ENMON_ERR_DB;
        sqlite3_reset(s);
    } else if (rc == ENMON_OK) {
        rc = ENMON_ERR_NOMEM;
    }
    free(buf);
    free(all);
    return rc;
}

/* Writes rows[0..m) (time order) as one block and deletes them from readings. */
static int archive_write_block(struct archive *a, const struct block_row *rows,
                               const int64_t *rowids, size_t m, size_t len)
{
    sqlite3_stmt *s = a->stmt[AS_INSERT];
    sqlite3_bind_int64(s, 1, a->dev);
    sqlite3_bind_int64(s, 2, rows[0].ts_ms);
    sqlite3_bind_int64(s, 3, rows[m - 1].ts_ms);
    sqlite3_bind_int64(s, 4, (int64_t)m);
    sqlite3_bind_blob(s, 5, a->buf, (int)len, SQLITE_STATIC);
    int rc = sqlite3_step(s);
    sqlite3_reset(s);
    if (rc != SQLITE_DONE)
        return ENMON_ERR_DB;
    if (sqlite3_changes(a->db) == 0 && archive_merge(a, rows, m) != ENMON_OK)
        return ENMON_ERR_DB;
    sqlite3_stmt *d = a->stmt[AS_DELETE];
    for (size_t i = 0; i < m; i++) {
        sqlite3_bind_int64(d, 1, rowids[i]);
        rc = sqlite3_step(d);
        sqlite3_reset(d);
        if (rc != SQLITE_DONE)
            return ENMON_ERR_DB;
    }
    a->stats.blocks++;
    a->stats.moved += m;
    return ENMON_OK;
}

/* Moves the current device's old readings (at most max fetched); *fetched gets
 * how many were looked at, *done 1 when the device has nothing more to move. */
static int archive_device(struct archive *a, int64_t limit, int max, int *fetched, int *done)
{
    sqlite3_stmt *s = a->stmt[AS_NEWEST];
    sqlite3_bind_int64(s, 1, a->dev);
    int rc = sqlite3_step(s);
    int none = rc != SQLITE_ROW || sqlite3_column_type(s, 0) == SQLITE_NULL;
    int64_t newest = sqlite3_column_int64(s, 0);
    sqlite3_reset(s);
    *fetched = 0;
    *done = 1;
    if (rc != SQLITE_ROW)
        return ENMON_ERR_DB;
    if (none)
        return ENMON_OK;
    int64_t cut = newest < a->cut_ms ? newest : a->cut_ms; /* the newest reading stays */
    int got = 0;
    if (archive_fetch(a, cut, limit, max, &got) != ENMON_OK)
        return ENMON_ERR_DB;
    *fetched = got;
    int truncated = got == max;
    size_t pos = 0;
    while (pos < (size_t)got) {
        size_t len = 0, m = archive_pack(a, a->rows + pos, (size_t)got - pos, &len);
        int whole = pos + m < (size_t)got || m == ARCHIVE_BLOCK_ROWS;
        if (!whole && (truncated || a->rows[pos].ts_ms >= a->flush_ms))
            break; /* a part block waits for more readings (or its flush age) */
        if (archive_write_block(a, a->rows + pos, a->rowids + pos, m, len) != ENMON_OK)
            return ENMON_ERR_DB;
        pos += m;
    }
    *done = !truncated;
    return ENMON_OK;
}

static int archive_devices(struct archive *a)
{
    int64_t limit = 0;
    if (archive_limit(a, &limit) != ENMON_OK)
        return ENMON_ERR_DB;
    if (limit <= 0) {
        a->running = 0;
        return ENMON_OK;
    }
    int64_t t0 = clock_mono_ms();
    int left = ARCHIVE_CHUNK;
    for (;;) {
        if (!a->have_dev) {
            int got = archive_next_dev(a);
            if (got < 0)
                return ENMON_ERR_DB;
            if (got == 0) {
                a->running = 0;
                return ENMON_OK;
            }
        }
        int fetched = 0, done = 1;
        uint64_t moved = a->stats.moved;
        if (archive_device(a, limit, left, &fetched, &done) != ENMON_OK)
            return ENMON_ERR_DB;
        if (!done && a->stats.moved == moved && left < ARCHIVE_CHUNK)
            return ENMON_OK; /* this device gets a whole step next */
        if (!done && a->stats.moved == moved)
            done = 1; /* nothing whole to move among a full chunk: cannot happen, be safe */
        left -= fetched;
        a->have_dev = !done;
        if (left <= 0 || clock_mono_ms() - t0 >= ARCHIVE_STEP_MS)
            return ENMON_OK;
    }
}

int archive_step(struct archive *a, int *more)
{
    *more = 0;
    if (!a->running)
        return ENMON_OK;
    struct archive_stats before = a->stats;
    if (sqlite3_exec(a->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        a->running = 0;
        return ENMON_ERR_DB;
    }
    int rc = archive_devices(a);
    if (rc == ENMON_OK && sqlite3_exec(a->db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK)
        rc = ENMON_ERR_DB;
    if (rc != ENMON_OK) {
        if (!sqlite3_get_autocommit(a->db))
            sqlite3_exec(a->db, "ROLLBACK", NULL, NULL, NULL);
        a->stats = before;
        a->running = 0;
        return rc;
    }
    if (!a->running)
        a->stats.rounds++;
    *more = a->running;
    return ENMON_OK;
}

void archive_get_stats(const struct archive *a, struct archive_stats *out)
{
    *out = a->stats;
}

void archive_close(struct archive *a)
{
    if (!a)
        return;
    for (int i = 0; i < AS__COUNT; i++)
        sqlite3_finalize(a->stmt[i]);
    free(a->rows);
    free(a->rowids);
    free(a->buf);
    free(a);
}

/* ---- reading back ------------------------------------------------------------ */

struct archive_list {
    struct block_row *rows;
    size_t n, cap;
};

static int archive_list_room(struct archive_list *l, size_t more)
{
    if (l->n + more <= l->cap)
        return ENMON_OK;
    size_t cap = l->cap ? 2 * l->cap : 256;
    while (cap < l->n + more)
        cap *= 2;
    struct block_row *r = realloc(l->rows, cap * sizeof(*r));
    if (!r)
        return ENMON_ERR_NOMEM;
    l->rows = r;
    l->cap = cap;
    return ENMON_OK;
}

/* Appends the readings of the blocks overlapping [from, to). */
static int archive_read_blocks(sqlite3 *db, int64_t dev, int64_t from, int64_t to,
                               struct archive_list *l)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT data FROM reading_blocks WHERE device_id = ?1 AND t0_ms < ?3"
                           " AND t1_ms >= ?2 ORDER BY t0_ms",
                           -1, &s, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    sqlite3_bind_int64(s, 1, dev);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    int rc = ENMON_OK, step;
    while (rc == ENMON_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        const uint8_t *blob = sqlite3_column_blob(s, 0);
        size_t len = (size_t)sqlite3_column_bytes(s, 0), n = 0, base = l->n;
        rc = block_count(blob, len, &n);
        if (rc == ENMON_OK)
            rc = archive_list_room(l, n);
        if (rc == ENMON_OK)
            rc = block_decode(blob, len, l->rows + base, n, &n);
        for (size_t i = 0; rc == ENMON_OK && i < n; i++)
            if (l->rows[base + i].ts_ms >= from && l->rows[base + i].ts_ms < to)
                l->rows[l->n++] = l->rows[base + i];
    }
    if (rc == ENMON_OK && step != SQLITE_DONE)
        rc = ENMON_ERR_DB;
    sqlite3_finalize(s);
    return rc;
}

static int archive_read_hot(sqlite3 *db, int64_t dev, int64_t from, int64_t to,
                            struct archive_list *l)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db,
                           "SELECT ts_ms, quality, " ARCHIVE_VALUE_COLS " FROM readings"
                           " WHERE device_id = ?1 AND ts_ms >= ?2 AND ts_ms < ?3 ORDER BY ts_ms",
                           -1, &s, NULL) != SQLITE_OK)
        return ENMON_ERR_DB;
    sqlite3_bind_int64(s, 1, dev);
    sqlite3_bind_int64(s, 2, from);
    sqlite3_bind_int64(s, 3, to);
    int rc = ENMON_OK, step;
    while (rc == ENMON_OK && (step = sqlite3_step(s)) == SQLITE_ROW) {
        rc = archive_list_room(l, 1);
        if (rc == ENMON_OK)
            archive_column_row(s, 0, &l->rows[l->n++]);
    }
    if (rc == ENMON_OK && step != SQLITE_DONE)
        rc = ENMON_ERR_DB;
    sqlite3_finalize(s);
    return rc;
}

/* Insertion into time order that keeps equal times in their order (archived first). */
static void archive_sort(struct block_row *rows, size_t n)
{
    for (size_t i = 1; i < n; i++) {
        if (rows[i].ts_ms >= rows[i - 1].ts_ms)
            continue;
        struct block_row r = rows[i];
        size_t j = i;
        while (j > 0 && rows[j - 1].ts_ms > r.ts_ms) {
            rows[j] = rows[j - 1];
            j--;
        }
        rows[j] = r;
    }
}

int archive_read(sqlite3 *db, int64_t device_id, int64_t from_ms, int64_t to_ms, archive_row_fn fn,
                 void *ctx)
{
    struct archive_list l = {0};
    int rc = archive_read_blocks(db, device_id, from_ms, to_ms, &l);
    if (rc == ENMON_OK)
        rc = archive_read_hot(db, device_id, from_ms, to_ms, &l);
    if (rc == ENMON_OK) {
        archive_sort(l.rows, l.n);
        for (size_t i = 0; i < l.n && fn(ctx, &l.rows[i]) == 0; i++)
            ;
    }
    free(l.rows);
    return rc;
}
