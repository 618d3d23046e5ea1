/* test_archive.c -- old readings moved into reading_blocks and read back identical, in steps. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "archive.h"
#include "err.h"
#include "retention.h"
#include "store_schema.h"

#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1717200000000LL /* 2024-06-01 00:00:00 UTC */
#define MIN_MS 60000LL
#define HOUR_MS 3600000LL
#define NDEV 2
#define NREAD 600 /* readings per device: 10 hours, one a minute */

struct fx {
    char path[64];
    sqlite3 *db;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof(*f));
    snprintf(f->path, sizeof(f->path), "/tmp/enmon-test-archive-XXXXXX");
    int fd = mkstemp(f->path);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(f->path);
    char msg[256];
    if (store_schema_open(f->path, &f->db, msg, sizeof(msg)) != ENMON_OK ||
        store_schema_migrate(f->db, msg, sizeof(msg)) != ENMON_OK)
        return -1;
    sqlite3_exec(f->db,
                 "INSERT INTO programs VALUES(1, 'ami', 'AMI', 'ami');"
                 "INSERT INTO devices(id, key, name, kind) VALUES(1, 'm1', 'M1', 'meter'),"
                 " (2, 'm2', 'M2', 'meter'), (3, 'idle', 'Idle', 'meter')",
                 NULL, NULL, NULL);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    sqlite3_close(f->db);
    char p[80];
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        snprintf(p, sizeof(p), "%s%s", f->path, suffix[i]);
        unlink(p);
    }
    free(f);
    return 0;
}

static int64_t q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    int64_t v = -1;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Device d's reading k (interleaved with the other device's, as the store writes):
 * integer power, a counter that resets at k = 300, a voltage in tenths, a current
 * no scale can hold, a frequency missing on every seventh reading, and on device 2
 * a DC module power of -0.0 (kept bit for bit). */
static void insert_readings(sqlite3 *db, int from, int to)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db,
                                        "INSERT INTO readings(device_id, ts_ms, quality, power_w,"
                                        " energy_import_wh, voltage_v, current_a, frequency_hz,"
                                        " state, m1_dc_power_w) VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                                        " ?8, ?9, ?10)",
                                        -1, &s, NULL),
                     SQLITE_OK);
    sqlite3_exec(db, "BEGIN", NULL, NULL, NULL);
    for (int k = from; k < to; k++)
        for (int d = 1; d <= NDEV; d++) {
            sqlite3_bind_int(s, 1, d);
            sqlite3_bind_int64(s, 2, T0 + k * MIN_MS + (k % 4) * 13);
            sqlite3_bind_int(s, 3, k % 11 == 0);
            sqlite3_bind_double(s, 4, 300 + (k * 37 + d) % 900);
            sqlite3_bind_double(s, 5, k < 300 ? 1e6 + k * 8.5 : (k - 300) * 8.5);
            sqlite3_bind_double(s, 6, 220 + (k % 50) / 10.0);
            sqlite3_bind_double(s, 7, (300.0 + k) / 221.0);
            if (k % 7)
                sqlite3_bind_double(s, 8, 60 + (k % 5) / 100.0);
            else
                sqlite3_bind_null(s, 8);
            sqlite3_bind_int(s, 9, 4);
            if (d == 2)
                sqlite3_bind_double(s, 10, -0.0);
            else
                sqlite3_bind_null(s, 10);
            assert_int_equal(sqlite3_step(s), SQLITE_DONE);
            sqlite3_reset(s);
        }
    sqlite3_exec(db, "COMMIT", NULL, NULL, NULL);
    sqlite3_finalize(s);
}

struct collected {
    struct block_row *rows;
    size_t n, cap;
};

static int collect(void *ctx, const struct block_row *row)
{
    struct collected *c = ctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 256;
        c->rows = realloc(c->rows, c->cap * sizeof(*c->rows));
    }
    c->rows[c->n++] = *row;
    return 0;
}

static void read_all(sqlite3 *db, int64_t dev, struct collected *c)
{
    memset(c, 0, sizeof(*c));
    assert_int_equal(archive_read(db, dev, INT64_MIN, INT64_MAX, collect, c), ENMON_OK);
}

static void assert_same(const struct collected *a, const struct collected *b)
{
    assert_int_equal(a->n, b->n);
    for (size_t i = 0; i < a->n; i++) {
        const struct block_row *x = &a->rows[i], *y = &b->rows[i];
        assert_true(x->ts_ms == y->ts_ms && x->quality == y->quality);
        assert_int_equal(x->present, y->present);
        for (int c = 0; c < BLOCK_COLS; c++)
            if ((x->present >> c) & 1u)
                assert_memory_equal(&x->v[c], &y->v[c], sizeof(double));
    }
}

/* The MQTT sink acknowledged every reading so far. */
static void publish_all(sqlite3 *db)
{
    sqlite3_exec(db,
                 "INSERT OR REPLACE INTO meta(key, value) SELECT 'mqtt_published_rowid',"
                 " max(rowid) FROM readings",
                 NULL, NULL, NULL);
}

static void run_round(struct archive *a, int64_t now_ms)
{
    archive_begin(a, now_ms);
    int more = 1, steps = 0;
    while (more) {
        assert_int_equal(archive_step(a, &more), ENMON_OK);
        assert_true(++steps < 100);
    }
}

static void test_archive_round_trip(void **state)
{
    struct fx *f = *state;
    insert_readings(f->db, 0, NREAD);
    struct archive *a = NULL;
    assert_int_equal(archive_open(f->db, &a), ENMON_OK);
    run_round(a, T0 + 100 * HOUR_MS); /* nothing published: nothing moves */
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM reading_blocks"), 0);
    publish_all(f->db);
    struct collected before[NDEV + 1], after[NDEV + 1];
    for (int d = 1; d <= NDEV; d++)
        read_all(f->db, d, &before[d]);
    assert_int_equal(before[1].n, NREAD);
    /* now = 10 h after the first reading: readings before 9 h (cut) may move; those of
     * the last part block wait until their first is 7 h old, so some stay */
    run_round(a, T0 + 10 * HOUR_MS);
    struct archive_stats as;
    archive_get_stats(a, &as);
    int64_t hot = q_int(f->db, "SELECT count(*) FROM readings");
    assert_true(as.moved > 0);
    assert_int_equal((int64_t)as.moved + hot, 2 * NREAD);
    assert_true(hot >= 2 * 60); /* at least the last hour of both */
    /* every block fits the local payload and holds what it says */
    assert_int_equal(q_int(f->db, "SELECT max(length(data)) <= 900 FROM reading_blocks"), 1);
    assert_int_equal(q_int(f->db, "SELECT sum(n) FROM reading_blocks"), (int64_t)as.moved);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM reading_blocks WHERE device_id = 3"), 0);
    for (int d = 1; d <= NDEV; d++) {
        read_all(f->db, d, &after[d]);
        assert_same(&before[d], &after[d]);
    }
    /* a range across a block boundary and the hot rows: exactly its readings */
    struct collected part = {0};
    assert_int_equal(archive_read(f->db, 1, T0 + 90 * MIN_MS, T0 + 550 * MIN_MS, collect, &part),
                     ENMON_OK);
    assert_int_equal(part.n, 460);
    assert_true(part.rows[0].ts_ms == T0 + 90 * MIN_MS + 2 * 13);
    /* the next round is due a minute later, or once the published mark moved 10,000 */
    assert_int_equal(archive_due(a, T0 + 10 * HOUR_MS + 59999), 0);
    assert_int_equal(archive_due(a, T0 + 10 * HOUR_MS + 60000), 1);
    sqlite3_exec(f->db, "UPDATE meta SET value = value + 10000 WHERE key = 'mqtt_published_rowid'",
                 NULL, NULL, NULL);
    assert_int_equal(archive_due(a, T0 + 10 * HOUR_MS + 1000), 1);
    /* much later everything but each device's newest reading moves */
    run_round(a, T0 + 100 * HOUR_MS);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM readings"), NDEV);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM readings WHERE ts_ms ="
                                  " (SELECT max(ts_ms) FROM readings r WHERE r.device_id ="
                                  " readings.device_id)"),
                     NDEV);
    for (int d = 1; d <= NDEV; d++) {
        free(after[d].rows);
        read_all(f->db, d, &after[d]);
        assert_same(&before[d], &after[d]);
        free(before[d].rows);
        free(after[d].rows);
    }
    free(part.rows);
    archive_close(a);
}

static void test_archive_outbox_and_merge(void **state)
{
    struct fx *f = *state;
    insert_readings(f->db, 0, 300);
    /* published up to rowid 200 (readings k < 100 of both devices) */
    sqlite3_exec(f->db, "INSERT OR REPLACE INTO meta VALUES('mqtt_published_rowid', 200)", NULL,
                 NULL, NULL);
    struct archive *a = NULL;
    assert_int_equal(archive_open(f->db, &a), ENMON_OK);
    run_round(a, T0 + 100 * HOUR_MS);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM readings WHERE rowid <= 200"), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM readings WHERE rowid > 200"), 400);
    /* a late reading at a block's first instant: merged into that block */
    int64_t t0 = q_int(f->db, "SELECT min(t0_ms) FROM reading_blocks WHERE device_id = 1");
    int64_t blocks = q_int(f->db, "SELECT count(*) FROM reading_blocks");
    char sql[200];
    snprintf(sql, sizeof(sql),
             "INSERT INTO readings(device_id, ts_ms, quality, power_w) VALUES(1, %lld, 0, 5)",
             (long long)t0);
    sqlite3_exec(f->db, sql, NULL, NULL, NULL);
    sqlite3_exec(f->db, "UPDATE meta SET value = 10000 WHERE key = 'mqtt_published_rowid'", NULL,
                 NULL, NULL);
    run_round(a, T0 + 100 * HOUR_MS);
    struct collected c;
    read_all(f->db, 1, &c);
    assert_int_equal(c.n, 301);
    assert_true(c.rows[0].ts_ms == t0 && c.rows[1].ts_ms == t0);
    assert_true(c.rows[0].v[0] == 300 + 1 && c.rows[1].v[0] == 5); /* archived first */
    assert_true(q_int(f->db, "SELECT count(*) FROM reading_blocks") > blocks);
    free(c.rows);
    archive_close(a);
}

static void test_retention_prunes_blocks(void **state)
{
    struct fx *f = *state;
    insert_readings(f->db, 0, NREAD);
    publish_all(f->db);
    struct archive *a = NULL;
    assert_int_equal(archive_open(f->db, &a), ENMON_OK);
    run_round(a, T0 + 100 * HOUR_MS);
    archive_close(a);
    int64_t blocks = q_int(f->db, "SELECT count(*) FROM reading_blocks");
    /* readings_days 1 at now = T0 + 1 day + 5 h: the readings before T0 + 5 h go */
    struct retention_policy p = {.readings_days = 1, .vacuum_slack = -1};
    struct retention *r = NULL;
    assert_int_equal(retention_open(f->db, &p, &r), ENMON_OK);
    retention_begin(r, T0 + 29 * HOUR_MS);
    int more = 1;
    while (more)
        assert_int_equal(retention_step(r, &more), ENMON_OK);
    struct retention_stats rs;
    retention_get_stats(r, &rs);
    assert_true(rs.blocks > 0);
    assert_true(q_int(f->db, "SELECT count(*) FROM reading_blocks") < blocks);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM reading_blocks WHERE t1_ms < "
                                  "1717218000000"),
                     0); /* T0 + 5 h */
    /* the block across the cutoff kept only its newer readings: every reading from
     * k = 300 (T0 + 300 min, exactly the cutoff) on is there, nothing before */
    assert_int_equal(q_int(f->db, "SELECT min(t0_ms) FROM reading_blocks"), 1717218000000);
    assert_int_equal(rs.readings, NDEV * 300);
    for (int d = 1; d <= NDEV; d++) {
        struct collected c;
        read_all(f->db, d, &c);
        assert_int_equal(c.n, NREAD - 300);
        assert_true(c.rows[0].ts_ms == T0 + 300 * MIN_MS);
        free(c.rows);
    }
    retention_close(r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_archive_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_archive_outbox_and_merge, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retention_prunes_blocks, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
