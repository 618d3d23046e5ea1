/* test_live.c -- the live state: latest reading per device, today's energy from the daily
 * table, and the newest frame handed to waiting dashboard streams. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "err.h"
#include "live.h"

#include <pthread.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define DAY_S 1717171200LL /* 2024-05-31 16:00 UTC: a local midnight at +08:00, any value does */

static struct cfg_device devices[3];
static struct enmon_config cfg;

static int setup(void **state)
{
    memset(devices, 0, sizeof(devices));
    /* ids not in sorted order: the database's keys are looked up by id */
    strcpy(devices[0].id, "pv-b");
    strcpy(devices[1].id, "meter-c");
    strcpy(devices[2].id, "pv-a");
    cfg.devices = devices;
    cfg.ndevices = 3;
    struct live *l;
    if (live_open(&cfg, &l) != ENMON_OK)
        return -1;
    *state = l;
    return 0;
}

static int teardown(void **state)
{
    live_free(*state);
    return 0;
}

static struct reading poll_of(uint32_t dev, int64_t wall_ms, int ok, double power)
{
    struct reading r = {.device = dev, .wall_ms = wall_ms, .online = ok};
    r.quality = ok ? READING_OK : READING_FAILED;
    if (ok)
        reading_set(&r, MEAS_POWER_W, power);
    return r;
}

static void test_latest_reading_per_device(void **state)
{
    struct live *l = *state;
    struct live_dev d[3];
    live_snapshot(l, d);
    for (int i = 0; i < 3; i++) { /* nothing polled yet */
        assert_int_equal(d[i].polled, 0);
        assert_int_equal(d[i].has_last, 0);
        assert_int_equal(d[i].last_seen_ms, 0);
    }
    struct reading a = poll_of(0, 1000, 1, 1500), b = poll_of(0, 2000, 1, 1600),
                   c = poll_of(2, 1500, 1, 42);
    live_reading(l, &a);
    live_reading(l, &c);
    live_reading(l, &b);
    live_snapshot(l, d);
    assert_int_equal(d[0].polled, 1);
    assert_int_equal(d[0].online, 1);
    assert_int_equal(d[0].has_last, 1);
    assert_true(d[0].last.value[MEAS_POWER_W] == 1600); /* the latest replaces the earlier */
    assert_int_equal(d[0].last_poll_ms, 2000);
    assert_int_equal(d[0].last_seen_ms, 2000);
    assert_int_equal(d[1].polled, 0); /* untouched */
    assert_true(d[2].last.value[MEAS_POWER_W] == 42);
    assert_int_equal(d[2].last.device, 2);
}

static void test_failed_poll_keeps_last_good(void **state)
{
    struct live *l = *state;
    struct live_dev d[3];
    struct reading good = poll_of(1, 1000, 1, 700), bad = poll_of(1, 5000, 0, 0);
    live_reading(l, &good);
    live_reading(l, &bad);
    live_snapshot(l, d);
    assert_int_equal(d[1].polled, 1);
    assert_int_equal(d[1].online, 0);          /* availability follows the latest poll */
    assert_int_equal(d[1].last_poll_ms, 5000); /* ... and so does the poll time */
    assert_int_equal(d[1].has_last, 1);        /* the values stay the last good ones */
    assert_true(d[1].last.value[MEAS_POWER_W] == 700);
    assert_int_equal(d[1].last_seen_ms, 1000);

    struct reading stray = poll_of(3, 9000, 1, 1); /* no such device: ignored */
    live_reading(l, &stray);
    live_reading(NULL, &good); /* no table: ignored */
    struct live_dev again[3];
    live_snapshot(l, again);
    assert_memory_equal(d, again, sizeof(d));
}

static sqlite3 *daily_db(void)
{
    sqlite3 *db;
    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(db,
                     "CREATE TABLE devices(id INTEGER PRIMARY KEY, key TEXT);"
                     "CREATE TABLE daily(device_id INTEGER, day_s INTEGER, wh_import REAL,"
                     " wh_export REAL);"
                     "INSERT INTO devices VALUES (1, 'pv-a'), (2, 'meter-c'), (3, 'gone');"
                     "INSERT INTO daily VALUES (1, 1717171200, 0, 5250.5);"
                     "INSERT INTO daily VALUES (2, 1717171200, 812.25, 3);"
                     "INSERT INTO daily VALUES (3, 1717171200, 99, 99);"  /* not configured */
                     "INSERT INTO daily VALUES (1, 1717084800, 11, 22);", /* the day before */
                     NULL, NULL, NULL),
        SQLITE_OK);
    return db;
}

static void test_today_from_daily_table(void **state)
{
    struct live *l = *state;
    struct live_dev d[3];
    sqlite3 *db = daily_db();
    assert_int_equal(live_load_today(l, db, DAY_S), 2); /* pv-a and meter-c */
    live_snapshot(l, d);
    assert_true(d[2].today_export_wh == 5250.5); /* pv-a is config index 2 */
    assert_true(d[2].today_import_wh == 0);
    assert_true(d[1].today_import_wh == 812.25); /* meter-c is index 1 */
    assert_true(d[1].today_export_wh == 3);
    assert_true(d[0].today_import_wh == 0); /* pv-b has no row */

    /* the day before: pv-a's figures replace today's, the others go back to 0 */
    assert_int_equal(live_load_today(l, db, DAY_S - 86400), 1);
    live_snapshot(l, d);
    assert_true(d[2].today_import_wh == 11);
    assert_true(d[2].today_export_wh == 22);
    assert_true(d[1].today_import_wh == 0);
    sqlite3_close(db);

    assert_int_equal(sqlite3_open(":memory:", &db), SQLITE_OK);
    assert_int_equal(live_load_today(l, db, DAY_S), -1); /* no tables: an error */
    sqlite3_close(db);
    live_snapshot(l, d); /* an error leaves the figures as they were: all or none */
    assert_true(d[2].today_import_wh == 11);
    assert_true(d[2].today_export_wh == 22);
}

/* ---- polls never wait for a reader ------------------------------------------------------ */

#define STRESS_POLLS 20000 /* per device */

struct reader_arg {
    struct live *l;
    atomic_int stop;
    atomic_long snapshots;
};

static void *snapshot_loop(void *arg)
{
    struct reader_arg *a = arg;
    struct live_dev d[3];
    while (!a->stop) {
        live_snapshot(a->l, d);
        atomic_fetch_add(&a->snapshots, 1);
    }
    return NULL;
}

/* A reader snapshots the table in a loop while polls arrive: polls that find the table held
 * are parked (deferred) or, when their slot is being merged that instant, dropped; both are
 * counted, every one is accounted for, and the table ends at the latest poll with the latest
 * good values (a parked good reading is never undone by an older one, nor lost to a later
 * failed poll). */
static void test_polls_park_while_a_reader_holds_the_table(void **state)
{
    struct live *l = *state;
    struct reader_arg ra = {.l = l};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, snapshot_loop, &ra), 0);
    while (atomic_load(&ra.snapshots) == 0) /* the reader is at work */
        sched_yield();
    int64_t good_ms[3] = {0, 0, 0};
    for (int64_t k = 1; k <= STRESS_POLLS; k++) {
        for (uint32_t dev = 0; dev < 3; dev++) {
            int ok = k % 3 != 0; /* every third poll fails */
            struct reading r = poll_of(dev, k * 10, ok, (double)k);
            live_reading(l, &r);
            if (ok)
                good_ms[dev] = k * 10;
        }
    }
    atomic_store(&ra.stop, 1);
    pthread_join(t, NULL);
    struct live_stats st;
    live_get_stats(l, &st);
    assert_true(st.deferred + st.dropped <= 3 * STRESS_POLLS);
    print_message("%ld snapshots; %llu polls deferred, %llu dropped of %d\n",
                  atomic_load(&ra.snapshots), (unsigned long long)st.deferred,
                  (unsigned long long)st.dropped, 3 * STRESS_POLLS);

    /* a last poll with no reader about: applied at once, after what its device had parked */
    struct live_dev d[3];
    for (uint32_t dev = 0; dev < 3; dev++) {
        struct reading r = poll_of(dev, (STRESS_POLLS + 1) * 10, 0, 0); /* a failed poll */
        live_reading(l, &r);
    }
    live_snapshot(l, d);
    for (int i = 0; i < 3; i++) {
        assert_int_equal(d[i].last_poll_ms, (STRESS_POLLS + 1) * 10);
        assert_int_equal(d[i].online, 0);
        assert_int_equal(d[i].has_last, 1);
        /* the last good poll is k = 20000 (20000 % 3 == 2): wall 200000 ms, 20000 W */
        if (st.dropped == 0) {
            assert_int_equal(good_ms[i], STRESS_POLLS * 10);
            assert_int_equal(d[i].last_seen_ms, good_ms[i]);
            assert_true(d[i].last.value[MEAS_POWER_W] == (double)STRESS_POLLS);
        }
        assert_int_equal(d[i].last_seen_ms, d[i].last.wall_ms);
        assert_true(d[i].last.value[MEAS_POWER_W] * 10 == (double)d[i].last_seen_ms);
    }
    struct live_stats after;
    live_get_stats(l, &after); /* uncontended polls are applied directly: not counted */
    assert_true(after.deferred == st.deferred && after.dropped == st.dropped);
}

static void *set_frame_later(void *arg)
{
    struct timespec d = {0, 100 * 1000000L};
    nanosleep(&d, NULL);
    live_set_frame(arg, "{\"n\":2}");
    return NULL;
}

static void *close_later(void *arg)
{
    struct timespec d = {0, 100 * 1000000L};
    nanosleep(&d, NULL);
    live_close_frames(arg);
    return NULL;
}

static void test_frames(void **state)
{
    struct live *l = *state;
    uint64_t gen = 0;
    assert_null(live_wait_frame(l, &gen, 50)); /* none yet: times out */
    live_set_frame(l, "{\"n\":1}");
    char *f = live_wait_frame(l, &gen, 50);
    assert_non_null(f);
    assert_string_equal(f, "{\"n\":1}");
    free(f);
    assert_true(gen > 0);
    assert_null(live_wait_frame(l, &gen, 50)); /* nothing newer than what we have */

    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, set_frame_later, l), 0);
    f = live_wait_frame(l, &gen, 5000); /* woken by the new frame */
    pthread_join(t, NULL);
    assert_non_null(f);
    assert_string_equal(f, "{\"n\":2}");
    free(f);

    assert_int_equal(live_closed(l), 0);
    assert_int_equal(pthread_create(&t, NULL, close_later, l), 0);
    int64_t t0 = clock_mono_ms();
    assert_null(live_wait_frame(l, &gen, 5000)); /* closing ends the wait early */
    assert_true(clock_mono_ms() - t0 < 4000);
    pthread_join(t, NULL);
    assert_int_equal(live_closed(l), 1);
    live_set_frame(l, "{\"n\":3}");
    assert_null(live_wait_frame(l, &gen, 50)); /* closed for good */
}

/* Frames are wanted only while a listener polls (timeout 0, as /api/live streams do); the
 * dashboard thread's waits with a timeout are not listeners. A dropped frame is not served
 * to a listener that comes later; the next one is. */
static void test_frames_only_for_listeners(void **state)
{
    struct live *l = *state;
    uint64_t gen = 0;
    int64_t now = clock_mono_ms();
    assert_int_equal(live_frames_wanted(l, now), 0); /* nobody ever asked */
    assert_null(live_wait_frame(l, &gen, 20));       /* a wait with a timeout: no listener */
    assert_int_equal(live_frames_wanted(l, clock_mono_ms()), 0);
    live_set_frame(l, "{\"n\":1}");
    live_drop_frame(l); /* nobody listened: the frame goes */
    int64_t asked = clock_mono_ms();
    assert_null(live_wait_frame(l, &gen, 0)); /* a listener's poll: nothing stale */
    int64_t after = clock_mono_ms();
    assert_int_equal(live_frames_wanted(l, after), 1);
    /* wanted until LIVE_LISTEN_MS after the poll (asked <= poll time <= after) */
    assert_int_equal(live_frames_wanted(l, asked + LIVE_LISTEN_MS - 1), 1);
    assert_int_equal(live_frames_wanted(l, after + LIVE_LISTEN_MS), 0);
    live_set_frame(l, "{\"n\":2}");
    char *f = live_wait_frame(l, &gen, 0);
    assert_non_null(f);
    assert_string_equal(f, "{\"n\":2}");
    free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_latest_reading_per_device, setup, teardown),
        cmocka_unit_test_setup_teardown(test_failed_poll_keeps_last_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_today_from_daily_table, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames, setup, teardown),
        cmocka_unit_test_setup_teardown(test_frames_only_for_listeners, setup, teardown),
        cmocka_unit_test_setup_teardown(test_polls_park_while_a_reader_holds_the_table, setup,
                                        teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
