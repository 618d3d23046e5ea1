/* test_sensor_rules.c -- the pole-sensor alert rules: leakage over 30 mA sustained, leakage
 * rising over days, enclosure over-temperature, door and tilt bits. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "alert_rules.h"
#include "config.h"

#include <math.h>
#include <string.h>

#define S 1000LL
#define MIN (60 * S)
#define HOUR (60 * MIN)
#define DAY (24 * HOUR)
#define T0_WALL 1782000000000LL /* 2026-06-21 00:00:00 UTC: a whole UTC day, wall = T0 + mono */

struct rig {
    enum alert_rule_id rule;
    struct alert_rule_cfg cfg;
    struct alert_rule_state st;
    struct alert_debounce bits[ALERT_EVENT_BITS];
    struct alert_series series;
    struct alert_input in;
    struct reading r;
    int raises, clears;
    struct alert_transition last;
};

static void rig_init(struct rig *g, enum alert_rule_id rule)
{
    memset(g, 0, sizeof(*g));
    g->rule = rule;
    g->cfg = alert_rule_infos[rule].defaults;
    g->st.bits = g->bits;
    g->st.series = &g->series;
    alert_rule_state_init(&g->st, 0);
    g->in.kind = DEVICE_SENSOR;
    g->in.peer_ratio = NAN;
    g->r.online = 1;
}

/* One reading of measurement m = v at t ms; returns the transitions it caused. */
static int feed(struct rig *g, enum meas m, double v, int64_t t)
{
    struct alert_transition out[ALERT_EVENT_BITS];
    reading_set(&g->r, m, v);
    g->r.mono_ms = t;
    g->r.wall_ms = T0_WALL + t;
    g->in.r = &g->r;
    g->in.now_ms = t;
    int n = alert_rule_step(g->rule, &g->cfg, &g->st, &g->in, out, ALERT_EVENT_BITS);
    for (int i = 0; i < n; i++) {
        g->raises += out[i].action == ALERT_RAISE;
        g->clears += out[i].action == ALERT_CLEAR;
        g->last = out[i];
    }
    return n;
}

/* v every step ms over [from, to): the time of the first transition, or -1. */
static int64_t series(struct rig *g, enum meas m, double v, int64_t from, int64_t to, int64_t step)
{
    int64_t first = -1;
    for (int64_t t = from; t < to; t += step)
        if (feed(g, m, v, t) && first < 0)
            first = t;
    return first;
}

static void test_defaults_and_kinds(void **state)
{
    (void)state;
    const struct alert_rule_cfg *c = &alert_rule_infos[ALERT_RULE_LEAKAGE_CURRENT].defaults;
    assert_true(c->high == 30.0); /* IEC 60364-4-41 415.1.1: RCDs of at most 30 mA */
    assert_true(c->margin == 5.0);
    assert_int_equal(c->polls, 3);
    assert_int_equal(c->after_ms, MIN);
    assert_int_equal(c->severity, ALERT_CRITICAL);
    assert_true(alert_rule_infos[ALERT_RULE_SENSOR_TEMPERATURE].defaults.high == 70.0);
    assert_int_equal(alert_rule_infos[ALERT_RULE_LEAKAGE_TREND].defaults.learn_ms, 7 * DAY);
    for (int r = ALERT_RULE_LEAKAGE_CURRENT; r <= ALERT_RULE_SENSOR_EVENT; r++)
        assert_int_equal(alert_rule_infos[r].kinds, 1u << DEVICE_SENSOR);
    /* of the meter and inverter rules only comm_loss applies to a sensor */
    for (int r = 0; r < ALERT_RULE_LEAKAGE_CURRENT; r++)
        assert_int_equal((alert_rule_infos[r].kinds >> DEVICE_SENSOR) & 1u,
                         r == ALERT_RULE_COMM_LOSS);
    assert_int_equal(alert_rule_by_name("leakage_current"), ALERT_RULE_LEAKAGE_CURRENT);
    assert_int_equal(alert_event_bit(ALERT_RULE_SENSOR_EVENT, "DOOR_OPEN"), 0);
    assert_int_equal(alert_event_bit(ALERT_RULE_SENSOR_EVENT, "TILT"), 1);
    assert_string_equal(reading_meas_name(MEAS_LEAKAGE_MA), "leakage_ma");
    assert_string_equal(reading_meas_name(MEAS_TILT_DEG), "tilt_deg");
    assert_string_equal(config_device_kind_name(DEVICE_SENSOR), "sensor");
}

/* Polls every 10 s. A 50 s excursion to 42 mA is too short (after 60 s); a sustained one
 * raises at the reading 60 s after its first: 3 polls and 60 s both met. */
static void test_leakage_sustained_raise_and_clear(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_LEAKAGE_CURRENT);
    series(&g, MEAS_LEAKAGE_MA, 3.2, 0, 100 * S, 10 * S);
    series(&g, MEAS_LEAKAGE_MA, 42.0, 100 * S, 150 * S, 10 * S); /* 100..140: 5 readings, 40 s */
    series(&g, MEAS_LEAKAGE_MA, 3.2, 150 * S, 200 * S, 10 * S);
    assert_int_equal(g.raises, 0);
    int64_t raised = series(&g, MEAS_LEAKAGE_MA, 42.0, 200 * S, 400 * S, 10 * S);
    assert_int_equal(raised, 260 * S); /* 200 + 60 s */
    assert_int_equal(g.raises, 1);
    assert_true(g.last.value == 42.0);
    assert_int_equal(g.last.since_ms, 200 * S);
    assert_string_equal(g.last.cause, "leakage 42.0 mA above 30.0 mA");
    /* 28 mA is inside the hysteresis (clears at or below 30 - 5 = 25 mA): stays raised */
    series(&g, MEAS_LEAKAGE_MA, 28.0, 400 * S, 1000 * S, 10 * S);
    assert_int_equal(g.clears, 0);
    /* at 4 mA it clears 5 minutes after the first low reading */
    int64_t cleared = series(&g, MEAS_LEAKAGE_MA, 4.0, 1000 * S, 1600 * S, 10 * S);
    assert_int_equal(cleared, 1300 * S);
    assert_int_equal(g.clears, 1);
}

/* Exactly 30.0 mA is the limit, not above it; a missing value neither raises nor resets. */
static void test_leakage_at_limit_and_missing(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_LEAKAGE_CURRENT);
    series(&g, MEAS_LEAKAGE_MA, 30.0, 0, 10 * MIN, 10 * S);
    assert_int_equal(g.raises, 0);
    series(&g, MEAS_LEAKAGE_MA, 30.1, 10 * MIN, 10 * MIN + 30 * S, 10 * S); /* 3 polls, 20 s */
    g.r.valid = 0;
    struct alert_transition out[2];
    g.r.mono_ms = 10 * MIN + 40 * S;
    g.in.now_ms = g.r.mono_ms;
    assert_int_equal(alert_rule_step(g.rule, &g.cfg, &g.st, &g.in, out, 2), 0);
    /* the run continues: 60 s after 10:00 it raises */
    assert_int_equal(series(&g, MEAS_LEAKAGE_MA, 30.1, 10 * MIN + 50 * S, 12 * MIN, 10 * S),
                     11 * MIN);
}

/* Daily means 2, 3, 4, 5 mA (slope 1 mA/day, rise 3 mA < margin 5): no alert. Days of
 * 2, 4, 6, 8 mA: slope 2 mA/day, rise 2 x 3 = 6 mA: raises on the first reading of the
 * 5th day, when the 4th is complete. */
static void test_leakage_trend_over_days(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_LEAKAGE_TREND);
    for (int d = 0; d < 5; d++)
        series(&g, MEAS_LEAKAGE_MA, 2.0 + d, d * DAY, (d + 1) * DAY, HOUR);
    assert_int_equal(g.raises, 0);

    rig_init(&g, ALERT_RULE_LEAKAGE_TREND);
    for (int d = 0; d < 4; d++)
        series(&g, MEAS_LEAKAGE_MA, 2.0 + 2.0 * d, d * DAY, (d + 1) * DAY, HOUR);
    assert_int_equal(g.raises, 0);
    assert_int_equal(series(&g, MEAS_LEAKAGE_MA, 9.0, 4 * DAY, 5 * DAY, HOUR), 4 * DAY);
    assert_true(fabs(g.last.value - 2.0) < 1e-9);
    assert_string_equal(g.last.cause, "daily mean leakage rising 2.00 mA/day (2.0 -> 8.0 mA)");
    /* flat at 9 mA from then on; the fit over the last 7 days flattens: on day 7 it covers
     * 2,4,6,8,9,9,9 (slope 1.21 mA/day, still raised), on day 8 it covers 4,6,8,9,9,9,9
     * (0.79 mA/day): cleared on day 8's first reading */
    for (int d = 5; d < 8; d++)
        series(&g, MEAS_LEAKAGE_MA, 9.0, d * DAY, (d + 1) * DAY, HOUR);
    assert_int_equal(g.clears, 0);
    assert_int_equal(series(&g, MEAS_LEAKAGE_MA, 9.0, 8 * DAY, 9 * DAY, HOUR), 8 * DAY);
    assert_int_equal(g.clears, 1);
}

/* 75 C for 5 minutes (polls 30 s) raises; 67 C holds (clears at or below 65); 40 C clears
 * after 10 minutes. */
static void test_enclosure_temperature(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_SENSOR_TEMPERATURE);
    series(&g, MEAS_TEMPERATURE_C, 35.0, 0, 10 * MIN, 30 * S);
    assert_int_equal(series(&g, MEAS_TEMPERATURE_C, 75.0, 10 * MIN, 20 * MIN, 30 * S), 15 * MIN);
    assert_string_equal(g.last.cause, "enclosure temperature 75.0 C above 70.0 C");
    series(&g, MEAS_TEMPERATURE_C, 67.0, 20 * MIN, 60 * MIN, 30 * S);
    assert_int_equal(g.clears, 0);
    assert_int_equal(series(&g, MEAS_TEMPERATURE_C, 40.0, 60 * MIN, 80 * MIN, 30 * S), 70 * MIN);
}

/* Door open (bit 0) and tilt (bit 1): one alert each, by name; cleared after 2 polls. */
static void test_sensor_event_bits(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_SENSOR_EVENT);
    assert_int_equal(feed(&g, MEAS_EVENTS, 0, 0), 0);
    assert_int_equal(feed(&g, MEAS_EVENTS, 3, 10 * S), 2);
    assert_int_equal(g.raises, 2);
    assert_string_equal(g.last.cause, "TILT");
    assert_int_equal(g.last.key, 1);
    assert_int_equal(feed(&g, MEAS_EVENTS, 2, 20 * S), 0);
    assert_int_equal(feed(&g, MEAS_EVENTS, 2, 30 * S), 1); /* the door closed: 2 polls */
    assert_string_equal(g.last.cause, "DOOR_OPEN");
    assert_int_equal(g.last.action, ALERT_CLEAR);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_kinds),
        cmocka_unit_test(test_leakage_sustained_raise_and_clear),
        cmocka_unit_test(test_leakage_at_limit_and_missing),
        cmocka_unit_test(test_leakage_trend_over_days),
        cmocka_unit_test(test_enclosure_temperature),
        cmocka_unit_test(test_sensor_event_bits),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
