/* test_alert_learned.c -- learned welfare base loads and load means out of a rule and back in. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "alert_learned.h"
#include "alert_rules.h"
#include "config.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define MIN (60 * 1000LL)
#define HOUR (60 * MIN)
#define T0_WALL 1782000000000LL /* UTC epoch ms on an hour: 1782000000000 / 3600000 = 495000 */

/* One rule of one device: its state and its input; wall = wall0 + mono. */
struct rig {
    enum alert_rule_id rule;
    struct alert_rule_cfg cfg;
    struct alert_rule_state st;
    struct alert_series series;
    struct reading r;
    struct alert_input in;
    int64_t wall0;
    int raises;
    struct alert_transition last;
};

static void rig_init(struct rig *g, enum alert_rule_id rule, int64_t wall0)
{
    memset(g, 0, sizeof(*g));
    g->rule = rule;
    g->cfg = alert_rule_infos[rule].defaults;
    g->cfg.night_start = g->cfg.night_end = 0; /* every hour counts */
    g->st.series = &g->series;
    alert_rule_state_init(&g->st, 0);
    g->in.kind = DEVICE_METER;
    g->wall0 = wall0;
}

/* Feeds power w every minute over mono [from, to); returns the mono ms of the first raise or -1. */
static int64_t feed(struct rig *g, double w, int64_t from, int64_t to)
{
    int64_t first = -1;
    for (int64_t t = from; t < to; t += MIN) {
        struct alert_transition out[4];
        g->r.mono_ms = t;
        g->r.wall_ms = g->wall0 + t;
        g->r.online = 1;
        reading_set(&g->r, MEAS_POWER_W, w);
        g->in.r = &g->r;
        g->in.now_ms = t;
        g->in.local_hour = 12.0;
        int n = alert_rule_step(g->rule, &g->cfg, &g->st, &g->in, out, 4);
        for (int i = 0; i < n; i++) {
            if (out[i].action == ALERT_RAISE) {
                g->raises++;
                g->last = out[i];
                if (first < 0)
                    first = t;
            }
        }
    }
    return first;
}

/* Three hours of a lived-in home: 200 W, 300 W, 300 W hourly means; base load 200 W
 * (from the second hour on 300 W > 200 W + 50 W margin: in use, nothing raised). */
static void learn_welfare(struct rig *g)
{
    rig_init(g, ALERT_RULE_WELFARE_INACTIVITY, T0_WALL);
    g->cfg.after_ms = 30 * MIN;
    g->cfg.margin = 50;
    assert_int_equal(feed(g, 200, 0, HOUR), -1);
    assert_int_equal(feed(g, 300, HOUR, 2 * HOUR), -1);
    assert_int_equal(feed(g, 300, 2 * HOUR, 3 * HOUR), -1);
}

static void test_welfare_out_and_back(void **state)
{
    (void)state;
    struct rig g;
    learn_welfare(&g);
    struct alert_learned l;
    assert_int_equal(alert_learned_get(ALERT_RULE_WELFARE_INACTIVITY, &g.cfg, &g.st, &l), 1);
    /* slots 495000..495002 (hours since the epoch), 60 readings each: sums 60 x 200 = 12000
     * and 60 x 300 = 18000 W; learn is the default 24 h, so 3 slots of 1 h are 3 h learned */
    assert_int_equal(l.nslots, 3);
    assert_int_equal(l.learned_ms, 3 * HOUR);
    assert_int_equal(l.learn_ms, 24 * HOUR);
    char text[512];
    int len = alert_learned_format_slots(&l, text, sizeof(text));
    assert_string_equal(text, "495000:12000:60 495001:18000:60 495002:18000:60");
    assert_int_equal(len, (int)strlen(text));

    struct alert_learned back;
    memset(&back, 0, sizeof(back));
    back.rule = l.rule;
    back.learn_ms = l.learn_ms;
    back.learned_ms = l.learned_ms;
    assert_int_equal(alert_learned_parse_slots(text, &back), 0);
    assert_int_equal(back.nslots, 3);
    assert_true(back.slots[1].slot == 495001 && back.slots[1].sum == 18000.0 &&
                back.slots[1].n == 60);

    /* a restart at 3 h: mono starts again at 0, wall goes on; the household is idle (60 W).
     * Restored: the base 200 W is known, the first reading has no previous one (no time),
     * the next 30 each add a minute: raised at mono 30 min. */
    struct rig after;
    rig_init(&after, ALERT_RULE_WELFARE_INACTIVITY, T0_WALL + 3 * HOUR);
    after.cfg = g.cfg;
    assert_int_equal(alert_learned_put(ALERT_RULE_WELFARE_INACTIVITY, &after.cfg, &back, &after.st),
                     1);
    assert_int_equal(feed(&after, 60, 0, 2 * HOUR), 30 * MIN);
    assert_non_null(strstr(after.last.cause, "base load 200 W"));
    assert_int_equal(after.last.since_ms, 0);

    /* Forgotten: no completed slot until wall 4 h (mono 60 min); that slot's mean is 60 W,
     * 60 <= 60 + 50, so inactivity counts from then, the reading at 60 min adding the minute
     * since the one before: 30 min reached at mono 89 min, nearly an hour late. */
    struct rig fresh;
    rig_init(&fresh, ALERT_RULE_WELFARE_INACTIVITY, T0_WALL + 3 * HOUR);
    fresh.cfg = g.cfg;
    assert_int_equal(feed(&fresh, 60, 0, 2 * HOUR), 89 * MIN);
}

static void test_welfare_other_learn_is_dropped(void **state)
{
    (void)state;
    struct rig g;
    learn_welfare(&g);
    struct alert_learned l;
    assert_int_equal(alert_learned_get(ALERT_RULE_WELFARE_INACTIVITY, &g.cfg, &g.st, &l), 1);
    struct alert_rule_cfg other = g.cfg;
    other.learn_ms = 48 * HOUR; /* slots of 2 h: the saved slot numbers mean other hours */
    struct alert_rule_state st = {0};
    struct alert_series series;
    st.series = &series;
    alert_rule_state_init(&st, 0);
    assert_int_equal(alert_learned_put(ALERT_RULE_WELFARE_INACTIVITY, &other, &l, &st), 0);
    assert_int_equal(st.series->n[0], 0);
    /* nor is it put into another rule */
    assert_int_equal(alert_learned_put(ALERT_RULE_ABNORMAL_LOAD, &g.cfg, &l, &st), 0);
    /* a fresh state has learned nothing to save */
    assert_int_equal(alert_learned_get(ALERT_RULE_WELFARE_INACTIVITY, &g.cfg, &st, &l), 0);
    assert_int_equal(alert_learned_get(ALERT_RULE_VOLTAGE_BAND, &g.cfg, &g.st, &l), 0);
    assert_false(alert_learned_applies(ALERT_RULE_COMM_LOSS));
}

static void test_abnormal_load_out_and_back(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_ABNORMAL_LOAD, T0_WALL);
    g.cfg.learn_ms = HOUR;
    g.cfg.ratio = 3.0;
    g.cfg.min_w = 1000;
    g.cfg.polls = 1;
    g.cfg.after_ms = 0;
    /* 120 readings of 500 W a minute apart: the mean is 500 W, 119 minutes seen */
    assert_int_equal(feed(&g, 500, 0, 2 * HOUR), -1);
    struct alert_learned l;
    assert_int_equal(alert_learned_get(ALERT_RULE_ABNORMAL_LOAD, &g.cfg, &g.st, &l), 1);
    assert_true(fabs(l.mean_w - 500.0) < 1e-9);
    assert_int_equal(l.learned_ms, 119 * MIN);
    assert_int_equal(l.nslots, 0);

    /* restored: the first reading after the restart, 2000 W > 3 x 500 W and > 1000 W,
     * is judged at once and keeps the mean (no time has passed for it) */
    struct rig after;
    rig_init(&after, ALERT_RULE_ABNORMAL_LOAD, T0_WALL + 2 * HOUR);
    after.cfg = g.cfg;
    assert_int_equal(alert_learned_put(ALERT_RULE_ABNORMAL_LOAD, &after.cfg, &l, &after.st), 1);
    assert_int_equal(feed(&after, 2000, 0, MIN), 0);
    assert_string_equal(after.last.cause, "draw 2000 W is 4.0x the usual 500 W");
    assert_true(fabs(after.st.u.load.mean_w - 500.0) < 1e-9);

    /* forgotten: the same reading only starts a new hour of learning */
    struct rig fresh;
    rig_init(&fresh, ALERT_RULE_ABNORMAL_LOAD, T0_WALL + 2 * HOUR);
    fresh.cfg = g.cfg;
    assert_int_equal(feed(&fresh, 2000, 0, MIN), -1);
}

static void test_slots_text(void **state)
{
    (void)state;
    struct alert_learned l;
    memset(&l, 0, sizeof(l));
    assert_int_equal(alert_learned_parse_slots("", &l), 0);
    assert_int_equal(l.nslots, 0);
    assert_int_equal(alert_learned_format_slots(&l, (char[4]){0}, 4), 0);
    /* sums come back bit for bit */
    assert_int_equal(alert_learned_parse_slots("-3:0.10000000000000001:7", &l), 0);
    assert_true(l.nslots == 1 && l.slots[0].slot == -3 && l.slots[0].sum == 0.1 &&
                l.slots[0].n == 7);
    char small[8];
    assert_int_equal(alert_learned_format_slots(&l, small, sizeof(small)), -1);
    static const char *const bad[] = {"1:2",    "1:2:0",   "x",     "1:2:3 4",
                                      "1:2:-3", "1:nan:3", "1:2:3x"};
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        assert_int_equal(alert_learned_parse_slots(bad[i], &l), -1);
    char many[25 * 8 + 1] = "";
    for (int i = 0; i < 25; i++)
        snprintf(many + strlen(many), sizeof(many) - strlen(many), "%d:1:1 ", i);
    assert_int_equal(alert_learned_parse_slots(many, &l), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_welfare_out_and_back),
        cmocka_unit_test(test_welfare_other_learn_is_dropped),
        cmocka_unit_test(test_abnormal_load_out_and_back),
        cmocka_unit_test(test_slots_text),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
