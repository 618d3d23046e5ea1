/* test_sink.c -- the sink registry: every reading reaches every sink, a full sink counts
 * its drops without blocking the others, statistics per sink, and the stop order. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "err.h"
#include "queue.h"
#include "sink.h"
#include "sink_adapters.h"

#include <stdio.h>
#include <string.h>

/* A sink with a bounded queue nobody drains, like a stalled writer thread. */
struct fake {
    struct queue *q;
    int stopped_at; /* position in the stop sequence, 0 before */
};

static int stop_seq;

static int fake_submit(void *self, const struct reading *r)
{
    struct fake *f = self;
    return queue_push(f->q, r);
}

static void fake_stats(void *self, struct sink_stats *out)
{
    struct fake *f = self;
    out->has_depth = out->has_dropped = 1;
    out->depth = queue_depth(f->q);
    out->dropped = queue_dropped(f->q);
    snprintf(out->line, sizeof(out->line), "depth=%zu", out->depth);
}

static void fake_stop(void *self)
{
    struct fake *f = self;
    f->stopped_at = ++stop_seq;
    queue_close(f->q);
}

static struct sink fake_sink(const char *name, struct fake *f, size_t cap, int rank)
{
    assert_int_equal(queue_new(sizeof(struct reading), cap, &f->q), ENMON_OK);
    f->stopped_at = 0;
    return (struct sink){name, f, fake_submit, fake_stats, fake_stop, rank};
}

static struct reading reading_of(uint32_t device, int seq)
{
    struct reading r = {.device = device, .wall_ms = 1000 + seq};
    reading_set(&r, MEAS_POWER_W, (double)seq);
    return r;
}

static void test_submit_reaches_every_sink(void **state)
{
    struct sink_registry *reg;
    struct fake a, b, c;
    assert_int_equal(sink_registry_new(&reg), ENMON_OK);
    struct sink sa = fake_sink("a", &a, 16, 1), sb = fake_sink("b", &b, 16, 1),
                sc = fake_sink("c", &c, 16, 1);
    assert_int_equal(sink_register(reg, &sa), ENMON_OK);
    assert_int_equal(sink_register(reg, &sb), ENMON_OK);
    assert_int_equal(sink_register(reg, &sc), ENMON_OK);
    assert_int_equal(sink_count(reg), 3);
    for (int i = 0; i < 5; i++) {
        struct reading r = reading_of((uint32_t)i, i);
        sink_submit_all(reg, &r);
    }
    struct fake *all[] = {&a, &b, &c};
    for (int k = 0; k < 3; k++) {
        struct reading got[8];
        assert_int_equal(queue_pop_batch(all[k]->q, got, 8, 0), 5);
        for (int i = 0; i < 5; i++) { /* each sink gets each reading, in order, intact */
            assert_int_equal(got[i].device, i);
            assert_int_equal(got[i].wall_ms, 1000 + i);
            assert_true(reading_has(&got[i], MEAS_POWER_W));
            assert_true(got[i].value[MEAS_POWER_W] == (double)i);
        }
    }
    sink_stop_all(reg);
    assert_int_equal(sink_count(reg), 0);
    sink_registry_free(reg);
    queue_free(a.q);
    queue_free(b.q);
    queue_free(c.q);
}

static void test_full_sink_counts_and_never_blocks(void **state)
{
    struct sink_registry *reg;
    struct fake small, big;
    assert_int_equal(sink_registry_new(&reg), ENMON_OK);
    struct sink s1 = fake_sink("small", &small, 2, 1), s2 = fake_sink("big", &big, 100, 1);
    sink_register(reg, &s1);
    sink_register(reg, &s2);
    int64_t t0 = clock_mono_ms();
    for (int i = 0; i < 50; i++) {
        struct reading r = reading_of(0, i);
        sink_submit_all(reg, &r);
    }
    assert_true(clock_mono_ms() - t0 < 500);
    struct sink_stats st;
    sink_get_stats(reg, 0, &st);
    assert_string_equal(st.name, "small");
    assert_int_equal(st.depth, 2);
    assert_int_equal(st.dropped, 48); /* 50 offered, 2 kept */
    assert_string_equal(st.line, "depth=2");
    sink_get_stats(reg, 1, &st); /* the full one did not starve the next */
    assert_string_equal(st.name, "big");
    assert_int_equal(st.depth, 50);
    assert_int_equal(st.dropped, 0);
    sink_stop_all(reg);
    sink_registry_free(reg);
    queue_free(small.q);
    queue_free(big.q);
}

static void test_stop_order(void **state)
{
    struct sink_registry *reg;
    struct fake store, mqtt, alerts, live;
    stop_seq = 0;
    assert_int_equal(sink_registry_new(&reg), ENMON_OK);
    /* registered in submit order, stopped by rank: alerts, store, mqtt, live */
    struct sink s[] = {fake_sink("store", &store, 4, SINK_RANK_STORE),
                       fake_sink("mqtt", &mqtt, 4, SINK_RANK_MQTT),
                       fake_sink("alerts", &alerts, 4, SINK_RANK_ALERTS),
                       fake_sink("live", &live, 4, SINK_RANK_LIVE)};
    for (int i = 0; i < 4; i++)
        sink_register(reg, &s[i]);
    sink_stop_all(reg);
    assert_int_equal(alerts.stopped_at, 1);
    assert_int_equal(store.stopped_at, 2);
    assert_int_equal(mqtt.stopped_at, 3);
    assert_int_equal(live.stopped_at, 4);
    sink_stop_all(reg); /* once only */
    assert_int_equal(stop_seq, 4);
    sink_registry_free(reg);
    queue_free(store.q);
    queue_free(mqtt.q);
    queue_free(alerts.q);
    queue_free(live.q);
}

static void test_equal_ranks_in_registration_order(void **state)
{
    struct sink_registry *reg;
    struct fake f[3];
    stop_seq = 0;
    assert_int_equal(sink_registry_new(&reg), ENMON_OK);
    struct sink s0 = fake_sink("x", &f[0], 1, 5), s1 = fake_sink("y", &f[1], 1, 2),
                s2 = fake_sink("z", &f[2], 1, 5);
    sink_register(reg, &s0);
    sink_register(reg, &s1);
    sink_register(reg, &s2);
    sink_stop_all(reg);
    assert_int_equal(f[1].stopped_at, 1);
    assert_int_equal(f[0].stopped_at, 2);
    assert_int_equal(f[2].stopped_at, 3);
    sink_registry_free(reg);
    for (int i = 0; i < 3; i++)
        queue_free(f[i].q);
}

static int quiet_submit(void *self, const struct reading *r)
{
    return ENMON_OK;
}

static void test_registry_limits(void **state)
{
    struct sink_registry *reg;
    assert_int_equal(sink_registry_new(&reg), ENMON_OK);
    struct sink quiet = {"quiet", NULL, quiet_submit, NULL, NULL, 0};
    struct sink mute = {"mute", NULL, NULL, NULL, NULL, 0};
    assert_int_equal(sink_register(reg, &mute), ENMON_ERR_INVALID);
    for (int i = 0; i < SINK_MAX; i++)
        assert_int_equal(sink_register(reg, &quiet), ENMON_OK);
    assert_int_equal(sink_register(reg, &quiet), ENMON_ERR_FULL);
    struct sink_stats st;
    memset(&st, 0x55, sizeof(st));
    sink_get_stats(reg, 0, &st); /* no stats callback: cleared, named */
    assert_string_equal(st.name, "quiet");
    assert_int_equal(st.has_depth, 0);
    assert_int_equal(st.has_dropped, 0);
    assert_int_equal(st.nmetrics, 0);
    assert_string_equal(st.line, "");
    sink_stop_all(reg); /* no stop callbacks: nothing to call */
    sink_registry_free(reg);
    assert_int_equal(sink_count(NULL), 0);
    sink_registry_free(NULL);
}

/* The statistics enmond's sinks report: the exact parts of the stats line and JSON. */
static void test_adapter_stats_text(void **state)
{
    struct sink_stats s = {0};
    struct store_stats ss = {.written = 36000, .dropped = 2, .depth = 7, .errors = 1,
                             .retry_depth = 11, .retry_dropped = 13, .pruned = 17,
                             .prune_max_ms = 4.5};
    sink_adapter_store_stats(&ss, &s);
    assert_string_equal(s.line, "db written=36000 dropped=2");
    assert_string_equal(s.json, "\"db_written\":36000,\"db_dropped\":2");
    assert_int_equal(s.depth, 7);
    assert_int_equal(s.nmetrics, 6);
    assert_string_equal(s.metric[1].name, "enmon_store_errors_total");
    assert_true(s.metric[1].value == 1.0);
    assert_string_equal(s.metric[2].name, "enmon_store_retry_depth");
    assert_true(s.metric[2].value == 11.0);
    assert_string_equal(s.metric[3].name, "enmon_store_retry_dropped_total");
    assert_true(s.metric[3].value == 13.0);
    assert_string_equal(s.metric[4].name, "enmon_store_pruned_total");
    assert_true(s.metric[4].value == 17.0);
    assert_string_equal(s.metric[5].name, "enmon_store_prune_max_ms");
    assert_true(s.metric[5].value == 4.5);

    memset(&s, 0, sizeof(s));
    struct mqtt_sink_stats ms = {
        .published = 36012, .dropped = 3, .connected = 1, .outbox_depth = 4, .outbox_shed = 5};
    sink_adapter_mqtt_stats(&ms, &s);
    assert_string_equal(s.line, "mqtt published=36012 dropped=3 connected=1 outbox=4 shed=5");
    assert_string_equal(s.json, "\"mqtt_published\":36012,\"mqtt_connected\":1,"
                                "\"outbox_depth\":4,\"outbox_shed\":5");

    memset(&s, 0, sizeof(s));
    struct alerts_stats as = {.dropped = 9, .active = 2, .raised = 3};
    sink_adapter_alerts_stats(&as, &s);
    assert_string_equal(s.line, ""); /* not in the stats line */
    assert_int_equal(s.has_depth, 0);
    assert_int_equal(s.dropped, 9);
    assert_string_equal(s.metric[0].name, "enmon_alerts_active");
    assert_true(s.metric[0].value == 2.0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_reaches_every_sink),
        cmocka_unit_test(test_full_sink_counts_and_never_blocks),
        cmocka_unit_test(test_stop_order),
        cmocka_unit_test(test_equal_ranks_in_registration_order),
        cmocka_unit_test(test_registry_limits),
        cmocka_unit_test(test_adapter_stats_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
