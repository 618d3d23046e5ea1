/* test_outbox.c -- the MQTT outbox on a temporary SQLite file: committed readings come out
 * in rowid order until acknowledged, the mark survives a reopen, shedding beyond the bound,
 * rows of devices no longer configured are skipped. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "config.h"
#include "err.h"
#include "outbox.h"
#include "reading.h"
#include "store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define T0 1717200000000LL /* 2024-06-01 00:00:00 UTC */
#define NREAD 5

struct fixture {
    char dir[64];
    struct enmon_config cfg;
    struct cfg_program programs[1];
    struct cfg_site sites[1];
    struct cfg_device devices[2];
};

/* Readings committed by the store, in this order: inv-1, meter-1, inv-1, meter-1, inv-1;
 * power 100, 101, ... so each row can be recognised. One store run (one write batch) each:
 * within a batch the store groups rows by device (store.h), and these tests are about the
 * outbox's rowid order, not the batch's. */
static void commit_readings(struct fixture *f)
{
    for (int i = 0; i < NREAD; i++) {
        struct store *st;
        char msg[256];
        assert_int_equal(store_open(&f->cfg, &st, msg, sizeof(msg)), ENMON_OK);
        struct reading r = {.device = (uint32_t)(i % 2),
                            .wall_ms = T0 + i * 60000LL,
                            .mono_ms = i * 60000LL,
                            .online = 1};
        reading_set(&r, MEAS_POWER_W, 100 + i);
        assert_int_equal(store_submit(st, &r), ENMON_OK);
        store_close(st); /* commits it */
    }
}

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    if (!f)
        return -1;
    snprintf(f->dir, sizeof(f->dir), "/tmp/enmon-test-outbox-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    struct enmon_config *c = &f->cfg;
    snprintf(c->database, sizeof(c->database), "%s/enmon.db", f->dir);
    f->programs[0] = (struct cfg_program){.id = "solar", .name = "Solar", .kind = PROGRAM_SOLAR};
    f->sites[0] = (struct cfg_site){.id = "home-1", .name = "Home 1", .program = 0};
    f->devices[0] = (struct cfg_device){.id = "inv-1",
                                        .name = "Inverter 1",
                                        .kind = DEVICE_INVERTER,
                                        .unit = 1,
                                        .capacity_w = 3000};
    f->devices[1] = (struct cfg_device){
        .id = "meter-1", .name = "Meter 1", .kind = DEVICE_METER, .unit = 2, .capacity_w = 9000};
    c->programs = f->programs;
    c->nprograms = 1;
    c->sites = f->sites;
    c->nsites = 1;
    c->devices = f->devices;
    c->ndevices = 2;
    commit_readings(f);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[CFG_PATH_MAX + 8];
        snprintf(p, sizeof(p), "%s%s", f->cfg.database, suffix[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct outbox *open_outbox(struct fixture *f, int64_t max_rows)
{
    struct outbox *o;
    char msg[256] = "";
    assert_int_equal(outbox_open(&f->cfg, max_rows, &o, msg, sizeof(msg)), ENMON_OK);
    return o;
}

static void test_fetch_in_order(void **state)
{
    struct fixture *f = *state;
    struct outbox *o = open_outbox(f, 1000);
    struct outbox_stats s;
    struct outbox_item it[8];
    outbox_refresh(o);
    outbox_get_stats(o, &s);
    assert_int_equal(s.depth, NREAD); /* nothing acknowledged yet */
    assert_int_equal(outbox_fetch(o, it, 3), 3);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(it[i].r.device, i % 2); /* the config index, from devices.key */
        assert_int_equal(it[i].r.wall_ms, T0 + i * 60000LL);
        assert_true(reading_has(&it[i].r, MEAS_POWER_W));
        assert_true(it[i].r.value[MEAS_POWER_W] == 100 + i);
        assert_false(reading_has(&it[i].r, MEAS_VOLTAGE_V)); /* NULL columns stay unset */
        if (i > 0)
            assert_true(it[i].seq > it[i - 1].seq);
    }
    assert_int_equal(outbox_fetched(o), it[2].seq);
    assert_int_equal(outbox_fetch(o, it, 8), 2); /* the rest, after the last fetched */
    assert_true(it[1].r.value[MEAS_POWER_W] == 104);
    assert_int_equal(outbox_fetch(o, it, 8), 0);
    outbox_get_stats(o, &s);
    assert_int_equal(s.depth, NREAD); /* fetched is not acknowledged */
    outbox_close(o);
}

/* Keys only (rows already published live are matched, not read back), then a
 * rewind to read the backlog from its first row whole. */
static void test_fetch_keys_and_rewind(void **state)
{
    struct fixture *f = *state;
    struct outbox *o = open_outbox(f, 1000);
    struct outbox_item it[8];
    assert_int_equal(outbox_fetch_keys(o, it, 8), NREAD);
    for (int i = 0; i < NREAD; i++) {
        assert_true(it[i].keys_only);
        assert_int_equal(it[i].r.device, i % 2);
        assert_int_equal(it[i].r.wall_ms, T0 + i * 60000LL);
        assert_false(reading_has(&it[i].r, MEAS_POWER_W)); /* not read back */
    }
    assert_true(outbox_at_end(o));
    outbox_rewind(o, it[2].seq - 1); /* the third row is the backlog's first */
    assert_false(outbox_at_end(o));
    assert_int_equal(outbox_fetch(o, it, 8), 3);
    assert_false(it[0].keys_only);
    assert_true(it[0].r.value[MEAS_POWER_W] == 102);
    assert_true(it[2].r.value[MEAS_POWER_W] == 104);
    assert_true(outbox_at_end(o));
    outbox_close(o);
}

static void test_unacknowledged_come_back(void **state)
{
    struct fixture *f = *state;
    struct outbox *o = open_outbox(f, 1000);
    struct outbox_item it[8];
    assert_int_equal(outbox_fetch(o, it, 8), NREAD);
    outbox_close(o); /* nothing marked: a restart sends everything again */
    o = open_outbox(f, 1000);
    assert_int_equal(outbox_fetch(o, it, 8), NREAD);
    assert_true(it[0].r.value[MEAS_POWER_W] == 100);
    outbox_close(o);
}

static void test_mark_survives_reopen(void **state)
{
    struct fixture *f = *state;
    struct outbox *o = open_outbox(f, 1000);
    struct outbox_item it[8];
    struct outbox_stats s;
    assert_int_equal(outbox_fetch(o, it, 3), 3);
    assert_int_equal(outbox_mark(o, it[2].seq, 1), ENMON_OK);
    outbox_get_stats(o, &s);
    assert_int_equal(s.depth, NREAD - 3);
    assert_int_equal(outbox_mark(o, it[0].seq, 1), ENMON_OK); /* never moves backwards */
    outbox_get_stats(o, &s);
    assert_int_equal(s.depth, NREAD - 3);
    outbox_close(o);

    o = open_outbox(f, 1000);
    outbox_refresh(o);
    outbox_get_stats(o, &s);
    assert_int_equal(s.depth, 2);
    assert_int_equal(outbox_fetch(o, it, 8), 2); /* only what was not acknowledged */
    assert_true(it[0].r.value[MEAS_POWER_W] == 103);
    /* a mark not forced is kept in memory (at most one write a second) and written at close */
    assert_int_equal(outbox_mark(o, it[1].seq, 0), ENMON_OK);
    outbox_close(o);
    o = open_outbox(f, 1000);
    assert_int_equal(outbox_fetch(o, it, 8), 0);
    outbox_get_stats(o, &s);
    assert_int_equal(s.depth, 0);
    outbox_close(o);
}

static void test_shed_beyond_bound(void **state)
{
    struct fixture *f = *state;
    struct outbox *o = open_outbox(f, 2);
    struct outbox_item it[8];
    struct outbox_stats s;
    assert_int_equal(outbox_fetch(o, it, 8), 2); /* only the newest two */
    assert_true(it[0].r.value[MEAS_POWER_W] == 103);
    assert_true(it[1].r.value[MEAS_POWER_W] == 104);
    outbox_get_stats(o, &s);
    assert_int_equal(s.shed, 3);
    outbox_close(o);
}

static void test_removed_device_skipped(void **state)
{
    struct fixture *f = *state;
    f->cfg.ndevices = 1; /* meter-1 left the configuration */
    struct outbox *o = open_outbox(f, 1000);
    struct outbox_item it[8];
    struct outbox_stats s;
    assert_int_equal(outbox_fetch(o, it, 8), 3); /* inv-1's rows only */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(it[i].r.device, 0);
        assert_true(it[i].r.value[MEAS_POWER_W] == 100 + 2 * i);
    }
    outbox_get_stats(o, &s);
    assert_int_equal(s.skipped, 2);
    outbox_close(o);
    f->cfg.ndevices = 2;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_fetch_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch_keys_and_rewind, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unacknowledged_come_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_mark_survives_reopen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shed_beyond_bound, setup, teardown),
        cmocka_unit_test_setup_teardown(test_removed_device_skipped, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
