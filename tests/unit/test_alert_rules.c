/* test_alert_rules.c -- each alert rule on synthetic series: debounce, hysteresis, flapping. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "alert_rules.h"
#include "config.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S 1000LL
#define MIN (60 * S)
#define HOUR (60 * MIN)
#define TZ_S (9 * 3600)
#define T0_WALL 1782000000000LL /* a UTC epoch ms; readings' wall = T0_WALL + mono */

/* A rule under test with its state, input template and what it emitted. */
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

static void rig_init(struct rig *g, enum alert_rule_id rule, int kind)
{
    memset(g, 0, sizeof(*g));
    g->rule = rule;
    g->cfg = alert_rule_infos[rule].defaults;
    g->st.bits = g->bits;
    g->st.series = &g->series;
    alert_rule_state_init(&g->st, 0);
    g->in.kind = kind;
    g->in.capacity_w = 3000;
    g->in.sun_elevation_deg = 40;
    g->in.peer_ratio = NAN;
}

/* Steps with the current reading (values set by the caller) at time t ms; returns transitions. */
static int at(struct rig *g, int64_t t)
{
    struct alert_transition out[ALERT_EVENT_BITS];
    g->r.mono_ms = t;
    g->r.wall_ms = T0_WALL + t;
    g->r.online = g->r.quality != READING_FAILED;
    g->in.r = &g->r;
    g->in.now_ms = t;
    double h = fmod((double)(g->r.wall_ms / 1000 + TZ_S), 86400.0) / 3600.0;
    g->in.local_hour = h;
    int n = alert_rule_step(g->rule, &g->cfg, &g->st, &g->in, out, ALERT_EVENT_BITS);
    for (int i = 0; i < n; i++) {
        g->raises += out[i].action == ALERT_RAISE;
        g->clears += out[i].action == ALERT_CLEAR;
        g->last = out[i];
    }
    return n;
}

static void set(struct rig *g, enum meas m, double v)
{
    reading_set(&g->r, m, v);
}

/* Feeds value v of measurement m every step ms over [from, to); returns time of first raise or -1.
 */
static int64_t series(struct rig *g, enum meas m, double v, int64_t from, int64_t to, int64_t step)
{
    int64_t first = -1;
    for (int64_t t = from; t < to; t += step) {
        int before = g->raises;
        set(g, m, v);
        at(g, t);
        if (g->raises > before && first < 0)
            first = t;
    }
    return first;
}

static void test_voltage_debounce_and_hysteresis(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_VOLTAGE_BAND, DEVICE_METER);
    /* a 55 s sag is a blip: nothing */
    series(&g, MEAS_VOLTAGE_V, 196.4, 0, 55 * S, 5 * S);
    series(&g, MEAS_VOLTAGE_V, 221.0, 55 * S, 120 * S, 5 * S);
    assert_int_equal(g.raises, 0);
    /* a sustained sag raises once it lasted 60 s */
    int64_t raised = series(&g, MEAS_VOLTAGE_V, 196.4, 120 * S, 300 * S, 5 * S);
    assert_int_equal(raised, 180 * S);
    assert_int_equal(g.raises, 1);
    assert_string_equal(g.last.cause, "voltage 196.40 V below 207.00 V");
    assert_int_equal(g.last.since_ms, 120 * S);
    /* 208 V is inside the band but not by the 2 V margin: stays raised */
    series(&g, MEAS_VOLTAGE_V, 208.0, 300 * S, 600 * S, 5 * S);
    assert_int_equal(g.clears, 0);
    /* back well inside: clears after 60 s */
    series(&g, MEAS_VOLTAGE_V, 221.0, 600 * S, 655 * S, 5 * S);
    assert_int_equal(g.clears, 0);
    series(&g, MEAS_VOLTAGE_V, 221.0, 655 * S, 700 * S, 5 * S);
    assert_int_equal(g.clears, 1);
    assert_int_equal(g.raises, 1);
    /* a swell is named as such */
    series(&g, MEAS_VOLTAGE_V, 240.5, 700 * S, 800 * S, 5 * S);
    assert_string_equal(g.last.cause, "voltage 240.50 V above 233.00 V");
}

static void test_voltage_flapping_raises_once(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_VOLTAGE_BAND, DEVICE_METER);
    series(&g, MEAS_VOLTAGE_V, 200.0, 0, 70 * S, 5 * S);
    assert_int_equal(g.raises, 1);
    /* 20 minutes of 20 s sag / 20 s normal: never 60 s clean, never a second raise */
    for (int64_t t = 70 * S; t < 70 * S + 20 * MIN; t += 40 * S) {
        series(&g, MEAS_VOLTAGE_V, 221.0, t, t + 20 * S, 5 * S);
        series(&g, MEAS_VOLTAGE_V, 200.0, t + 20 * S, t + 40 * S, 5 * S);
    }
    assert_int_equal(g.raises, 1);
    assert_int_equal(g.clears, 0);
    series(&g, MEAS_VOLTAGE_V, 221.0, 30 * MIN, 35 * MIN, 5 * S);
    assert_int_equal(g.clears, 1);
    assert_int_equal(g.raises, 1);
}

static void test_flapping_below_debounce_never_raises(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_FREQUENCY_BAND, DEVICE_METER);
    for (int64_t t = 0; t < 10 * MIN; t += 10 * S) {
        series(&g, MEAS_FREQUENCY_HZ, 60.35, t, t + 5 * S, 5 * S);
        series(&g, MEAS_FREQUENCY_HZ, 60.0, t + 5 * S, t + 10 * S, 5 * S);
    }
    assert_int_equal(g.raises, 0);
    assert_true(series(&g, MEAS_FREQUENCY_HZ, 59.7, 10 * MIN, 11 * MIN, S) >= 0);
    assert_string_equal(g.last.cause, "frequency 59.70 Hz below 59.80 Hz");
}

static void test_inverter_asleep_is_not_a_voltage_fault(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_VOLTAGE_BAND, DEVICE_INVERTER);
    series(&g, MEAS_VOLTAGE_V, 0.0, 0, 10 * MIN, 5 * S);
    assert_int_equal(g.raises, 0);
    rig_init(&g, ALERT_RULE_VOLTAGE_BAND, DEVICE_METER);
    series(&g, MEAS_VOLTAGE_V, 0.0, 0, 10 * MIN, 5 * S);
    assert_int_equal(g.raises, 1);
}

static void test_comm_loss_polls_and_ticks(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_COMM_LOSS, DEVICE_METER);
    g.r.quality = READING_FAILED;
    at(&g, 5 * S);
    at(&g, 10 * S);
    assert_int_equal(g.raises, 0);
    at(&g, 15 * S);
    assert_int_equal(g.raises, 1);
    assert_int_equal(g.last.since_ms, 0);
    /* 3 failed polls (5, 10, 15 s) since the start at 0: 15 s without a valid reading */
    assert_string_equal(g.last.cause, "no valid reading for 15 s (3 failed polls)");
    assert_true(g.last.value == 15.0);
    g.r.quality = READING_OK;
    at(&g, 20 * S);
    assert_int_equal(g.clears, 1);

    /* no reading at all: ticks raise after 2 minutes of silence */
    struct alert_transition out[2];
    struct alert_input tick = {.r = NULL, .now_ms = 20 * S + 119 * S};
    assert_int_equal(alert_rule_step(ALERT_RULE_COMM_LOSS, &g.cfg, &g.st, &tick, out, 2), 0);
    tick.now_ms = 20 * S + 121 * S;
    assert_int_equal(alert_rule_step(ALERT_RULE_COMM_LOSS, &g.cfg, &g.st, &tick, out, 2), 1);
    assert_int_equal(out[0].action, ALERT_RAISE);
    assert_int_equal(out[0].since_ms, 20 * S);
    /* raised by the timer: no poll came back at all since the valid one at 20 s, so no
     * count of failed polls; silent 141 s - 20 s = 121 s */
    assert_string_equal(out[0].cause, "no reading for 121 s");
    assert_true(out[0].value == 121.0);
    /* one failed poll, then the timer: the real count */
    g.r.quality = READING_OK;
    at(&g, 200 * S);
    g.r.quality = READING_FAILED;
    at(&g, 205 * S);
    tick.now_ms = 200 * S + 120 * S;
    assert_int_equal(alert_rule_step(ALERT_RULE_COMM_LOSS, &g.cfg, &g.st, &tick, out, 2), 1);
    assert_string_equal(out[0].cause, "no valid reading for 120 s (1 failed poll)");
    /* other rules ignore ticks */
    assert_int_equal(alert_rule_step(ALERT_RULE_VOLTAGE_BAND, &g.cfg, &g.st, &tick, out, 2), 0);
}

static void test_inverter_fault_clears_after_two_polls(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_INVERTER_FAULT, DEVICE_INVERTER);
    set(&g, MEAS_STATE, 4);
    at(&g, 0);
    set(&g, MEAS_STATE, 7);
    at(&g, 5 * S);
    assert_int_equal(g.raises, 1);
    assert_string_equal(g.last.cause, "operating state FAULT (7)"); /* as docs/MQTT.md shows */
    set(&g, MEAS_STATE, 4);
    at(&g, 10 * S);
    set(&g, MEAS_STATE, 7);
    at(&g, 15 * S);
    set(&g, MEAS_STATE, 4);
    at(&g, 20 * S);
    assert_int_equal(g.clears, 0);
    at(&g, 25 * S);
    assert_int_equal(g.clears, 1);
    assert_int_equal(g.raises, 1);
    g.cfg.enabled = 0;
    set(&g, MEAS_STATE, 7);
    assert_int_equal(at(&g, 30 * S), 0);
}

static void test_inverter_event_bits_each_alert(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_INVERTER_EVENT, DEVICE_INVERTER);
    set(&g, MEAS_EVENTS, (1u << 0) | (1u << 7));
    assert_int_equal(at(&g, 0), 2);
    assert_int_equal(g.raises, 2);
    assert_string_equal(g.last.cause, "OVER_TEMP");
    assert_int_equal(g.last.key, 7);
    set(&g, MEAS_EVENTS, 1u << 7);
    at(&g, 5 * S);
    assert_int_equal(at(&g, 10 * S), 1);
    assert_int_equal(g.last.action, ALERT_CLEAR);
    assert_string_equal(g.last.cause, "GROUND_FAULT");
    /* a bit left out of `events` raises nothing */
    g.cfg.events = 1u << 0;
    set(&g, MEAS_EVENTS, 1u << 4);
    at(&g, 15 * S);
    assert_int_equal(g.raises, 2);
}

static void test_meter_event_names(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_METER_EVENT, DEVICE_METER);
    set(&g, MEAS_EVENTS, 1u << 2);
    assert_int_equal(at(&g, 0), 1);
    assert_string_equal(g.last.cause, "Power_Failure");
    /* OEM bits are off by default */
    set(&g, MEAS_EVENTS, (1u << 2) | (1u << 16));
    assert_int_equal(at(&g, 5 * S), 0);
    assert_int_equal(alert_event_bit(ALERT_RULE_METER_EVENT, "Over_Voltage"), 6);
    assert_int_equal(alert_event_bit(ALERT_RULE_METER_EVENT, "GROUND_FAULT"), -1);
}

/* Cross-checks the typed tables with the SunSpec JSON definitions. */
static void check_symbols(const char *model, const char *point, enum alert_rule_id rule)
{
    char path[1024];
    const char *data = getenv("ENMON_TEST_DATA"); /* tests/data; else next to this file */
    if (data)
        snprintf(path, sizeof(path), "%s/../../data/sunspec/%s.json", data, model);
    else
        snprintf(path, sizeof(path), "%.*s/../../data/sunspec/%s.json",
                 (int)(strrchr(__FILE__, '/') - __FILE__), __FILE__, model);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static char buf[1 << 20];
    size_t n = fread(buf, 1, sizeof(buf) - 1, f);
    fclose(f);
    buf[n] = '\0';
    cJSON *root = cJSON_Parse(buf);
    assert_non_null(root);
    cJSON *points = cJSON_GetObjectItem(cJSON_GetObjectItem(root, "group"), "points");
    int checked = 0;
    cJSON *p;
    cJSON_ArrayForEach(p, points)
    {
        if (strcmp(cJSON_GetObjectItem(p, "name")->valuestring, point) != 0)
            continue;
        cJSON *s;
        cJSON_ArrayForEach(s, cJSON_GetObjectItem(p, "symbols"))
        {
            const char *name = cJSON_GetObjectItem(s, "name")->valuestring;
            int bit = cJSON_GetObjectItem(s, "value")->valueint;
            assert_int_equal(alert_event_bit(rule, name), bit);
            checked++;
        }
    }
    cJSON_Delete(root);
    assert_true(checked >= 6);
}

static void test_event_names_match_sunspec_json(void **state)
{
    (void)state;
    check_symbols("model_103", "Evt1", ALERT_RULE_INVERTER_EVENT);
    check_symbols("model_201", "Evt", ALERT_RULE_METER_EVENT);
}

static void test_under_production_against_peers(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_UNDER_PRODUCTION, DEVICE_INVERTER);
    g.in.npeers = 5;
    /* cloudy day: peers at 20 %, this one at 17 %: nothing in 3 hours */
    g.in.peer_ratio = 0.20;
    assert_int_equal(series(&g, MEAS_POWER_W, 510, 0, 3 * HOUR, MIN), -1);
    /* peers fine at 80 %, this one at 12 %: raises after 30 minutes */
    g.in.peer_ratio = 0.80;
    int64_t t0 = 3 * HOUR;
    assert_int_equal(series(&g, MEAS_POWER_W, 300, t0, t0 + 2 * HOUR, MIN), t0 + 30 * MIN);
    assert_true(fabs(g.last.value - 0.125) < 1e-9);
    assert_non_null(strstr(g.last.cause, "output 300 W is 12% of the peers' median 2400 W"));
    /* at 60 % of peers (between ratio 0.5 and clear_ratio 0.7): stays raised */
    series(&g, MEAS_POWER_W, 1440, t0 + 2 * HOUR, t0 + 3 * HOUR, MIN);
    assert_int_equal(g.clears, 0);
    /* at night nothing is judged */
    g.in.sun_elevation_deg = 5;
    series(&g, MEAS_POWER_W, 2300, t0 + 3 * HOUR, t0 + 4 * HOUR, MIN);
    assert_int_equal(g.clears, 0);
    g.in.sun_elevation_deg = 40;
    series(&g, MEAS_POWER_W, 2300, t0 + 4 * HOUR, t0 + 5 * HOUR, MIN);
    assert_int_equal(g.clears, 1);
    assert_int_equal(g.raises, 1);
}

static void test_under_production_without_peers_uses_clear_sky(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_UNDER_PRODUCTION, DEVICE_INVERTER);
    g.in.npeers = 2; /* below min_peers */
    g.in.peer_ratio = 0.9;
    g.in.clear_sky_w = 2000;
    /* overcast (20 % of clear sky) is not a fault */
    assert_int_equal(series(&g, MEAS_POWER_W, 400, 0, 2 * HOUR, MIN), -1);
    /* 2 % of clear sky for 30 minutes is */
    assert_int_equal(series(&g, MEAS_POWER_W, 40, 2 * HOUR, 4 * HOUR, MIN), 2 * HOUR + 30 * MIN);
    assert_non_null(strstr(g.last.cause, "of clear sky 2000 W"));
}

static void test_zero_production_in_daylight(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_ZERO_PRODUCTION, DEVICE_INVERTER);
    set(&g, MEAS_STATE, 2); /* sleeping with 0 W is fine */
    assert_int_equal(series(&g, MEAS_POWER_W, 0, 0, HOUR, MIN), -1);
    set(&g, MEAS_STATE, 4);
    g.in.sun_elevation_deg = 10; /* dawn */
    assert_int_equal(series(&g, MEAS_POWER_W, 0, HOUR, 2 * HOUR, MIN), -1);
    g.in.sun_elevation_deg = 35;
    assert_int_equal(series(&g, MEAS_POWER_W, 0, 2 * HOUR, 3 * HOUR, MIN), 2 * HOUR + 10 * MIN);
    series(&g, MEAS_POWER_W, 1500, 3 * HOUR, 3 * HOUR + 2 * MIN, MIN);
    assert_int_equal(g.clears, 1);
}

static void test_unexpected_export(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_UNEXPECTED_EXPORT, DEVICE_METER);
    g.in.export_expected = 1;
    assert_int_equal(series(&g, MEAS_POWER_W, -800, 0, 10 * MIN, 5 * S), -1);
    rig_init(&g, ALERT_RULE_UNEXPECTED_EXPORT, DEVICE_METER);
    assert_int_equal(series(&g, MEAS_POWER_W, -30, 0, 10 * MIN, 5 * S), -1); /* noise */
    assert_int_equal(series(&g, MEAS_POWER_W, -800, 10 * MIN, 20 * MIN, 5 * S), 11 * MIN);
    assert_string_equal(g.last.cause, "exporting 800 W");
    series(&g, MEAS_POWER_W, 300, 20 * MIN, 30 * MIN, 5 * S);
    assert_int_equal(g.clears, 1);
    /* an export counter that grows also counts */
    rig_init(&g, ALERT_RULE_UNEXPECTED_EXPORT, DEVICE_METER);
    for (int i = 0; i < 30; i++) {
        set(&g, MEAS_ENERGY_EXPORT_WH, 1000.0 + 5 * i);
        at(&g, i * 5 * S);
    }
    assert_int_equal(g.raises, 1);
    assert_string_equal(g.last.cause, "export counter grew by 5 Wh");
}

static void test_counter_backwards_and_jump(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_COUNTER_ANOMALY, DEVICE_METER);
    set(&g, MEAS_ENERGY_IMPORT_WH, 1000000);
    at(&g, 0);
    set(&g, MEAS_ENERGY_IMPORT_WH, 1000010);
    at(&g, 5 * S);
    assert_int_equal(g.raises, 0);
    set(&g, MEAS_ENERGY_IMPORT_WH, 50);
    at(&g, 10 * S);
    assert_int_equal(g.raises, 1);
    assert_string_equal(g.last.cause, "energy_import_wh went backwards 1000010 -> 50 Wh");
    /* normal again: clears after an hour */
    for (int i = 0; i <= 12 * 61; i++) {
        set(&g, MEAS_ENERGY_IMPORT_WH, 60.0 + i);
        at(&g, 15 * S + i * 5 * S);
    }
    assert_int_equal(g.clears, 1);
    /* 3 kW for 15 minutes allows 1.5 kWh: +50 kWh in 5 s is a jump */
    set(&g, MEAS_ENERGY_IMPORT_WH, 60.0 + 12 * 61 + 50000);
    at(&g, 2 * HOUR);
    assert_int_equal(g.raises, 2);
    assert_non_null(strstr(g.last.cause, "energy_import_wh jumped by 50000 Wh"));
}

/* One day of household readings every 5 minutes from day d (local days since T0). */
static int64_t local_ms(int day, double hour)
{
    /* T0_WALL is not a local midnight: express times relative to the first local midnight */
    int64_t first_midnight = ((T0_WALL / 1000 + TZ_S) / 86400 + 1) * 86400 - TZ_S;
    return (first_midnight * 1000 - T0_WALL) + (int64_t)day * 24 * HOUR + (int64_t)(hour * HOUR);
}

static double normal_home_w(double hour)
{
    return hour < 6 ? 110 : hour < 8 ? 350 : hour < 18 ? 260 : 520;
}

static void test_welfare_inactivity_across_days(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_WELFARE_INACTIVITY, DEVICE_METER);
    int64_t first_raise = -1;
    /* day 0: an ordinary day; day 1 idle (fridge only) from 08:00 */
    for (int64_t t = local_ms(0, 0); t < local_ms(1, 23.99); t += 5 * MIN) {
        double hour = (double)((t - local_ms(0, 0)) % (24 * HOUR)) / HOUR;
        int idle = t >= local_ms(1, 8);
        set(&g, MEAS_POWER_W, idle ? 105 : normal_home_w(hour));
        int before = g.raises;
        at(&g, t);
        if (g.raises > before && first_raise < 0)
            first_raise = t;
    }
    assert_int_equal(g.raises, 1);
    /* 12 daytime hours after 08:00 */
    assert_true(llabs(first_raise - local_ms(1, 20)) <= 5 * MIN);
    assert_non_null(strstr(g.last.cause, "no use above base load 105 W + 50 W"));
    /* use again: clears after two readings */
    set(&g, MEAS_POWER_W, 600);
    at(&g, local_ms(2, 0));
    at(&g, local_ms(2, 0) + 5 * MIN);
    assert_int_equal(g.clears, 1);

    /* idle from 20:00: the night 00-06 does not count, raise at 14:00 next day */
    first_raise = -1;
    for (int64_t t = local_ms(2, 0.25); t < local_ms(3, 23); t += 5 * MIN) {
        double hour = (double)((t - local_ms(0, 0)) % (24 * HOUR)) / HOUR;
        set(&g, MEAS_POWER_W, t >= local_ms(2, 20) ? 100 : normal_home_w(hour));
        int before = g.raises;
        at(&g, t);
        if (g.raises > before && first_raise < 0)
            first_raise = t;
    }
    assert_int_equal(g.raises, 2);
    assert_true(llabs(first_raise - local_ms(3, 14)) <= 5 * MIN);
}

static void test_abnormal_load(void **state)
{
    (void)state;
    struct rig g;
    rig_init(&g, ALERT_RULE_ABNORMAL_LOAD, DEVICE_METER);
    /* too little history: a big draw is not judged */
    assert_int_equal(series(&g, MEAS_POWER_W, 8000, 0, 30 * MIN, MIN), -1);
    rig_init(&g, ALERT_RULE_ABNORMAL_LOAD, DEVICE_METER);
    assert_int_equal(series(&g, MEAS_POWER_W, 600, 0, 24 * HOUR, MIN), -1);
    int64_t t = 24 * HOUR;
    /* a 14-minute kettle-and-oven peak is no fire */
    assert_int_equal(series(&g, MEAS_POWER_W, 7000, t, t + 14 * MIN, MIN), -1);
    series(&g, MEAS_POWER_W, 600, t + 14 * MIN, t + HOUR, MIN);
    /* 2.5 kW is above 3x the mean but below the 3 kW floor */
    assert_int_equal(series(&g, MEAS_POWER_W, 2500, t + HOUR, t + 2 * HOUR, MIN), -1);
    t += 2 * HOUR;
    assert_int_equal(series(&g, MEAS_POWER_W, 7000, t, t + HOUR, MIN), t + 15 * MIN);
    series(&g, MEAS_POWER_W, 600, t + HOUR, t + HOUR + 6 * MIN, MIN);
    assert_int_equal(g.clears, 1);
}

static void test_median_without(void **state)
{
    (void)state;
    const double v[] = {0.1, 0.5, 0.6, 0.7, 0.9};
    assert_true(fabs(alert_median_without(v, 5, 5) - 0.6) < 1e-12);
    assert_true(fabs(alert_median_without(v, 5, 0) - 0.65) < 1e-12);
    assert_true(fabs(alert_median_without(v, 5, 4) - 0.55) < 1e-12);
    assert_true(fabs(alert_median_without(v, 2, 0) - 0.5) < 1e-12);
    assert_true(isnan(alert_median_without(v, 1, 0)));
}

static void test_names(void **state)
{
    (void)state;
    for (int i = 0; i < ALERT_RULE__COUNT; i++)
        assert_int_equal(alert_rule_by_name(alert_rule_name((enum alert_rule_id)i)), i);
    assert_int_equal(alert_rule_by_name("nope"), -1);
    assert_int_equal(alert_severity_by_name("critical"), ALERT_CRITICAL);
    assert_string_equal(alert_severity_name(ALERT_INFO), "info");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_voltage_debounce_and_hysteresis),
        cmocka_unit_test(test_voltage_flapping_raises_once),
        cmocka_unit_test(test_flapping_below_debounce_never_raises),
        cmocka_unit_test(test_inverter_asleep_is_not_a_voltage_fault),
        cmocka_unit_test(test_comm_loss_polls_and_ticks),
        cmocka_unit_test(test_inverter_fault_clears_after_two_polls),
        cmocka_unit_test(test_inverter_event_bits_each_alert),
        cmocka_unit_test(test_meter_event_names),
        cmocka_unit_test(test_event_names_match_sunspec_json),
        cmocka_unit_test(test_under_production_against_peers),
        cmocka_unit_test(test_under_production_without_peers_uses_clear_sky),
        cmocka_unit_test(test_zero_production_in_daylight),
        cmocka_unit_test(test_unexpected_export),
        cmocka_unit_test(test_counter_backwards_and_jump),
        cmocka_unit_test(test_welfare_inactivity_across_days),
        cmocka_unit_test(test_abnormal_load),
        cmocka_unit_test(test_median_without),
        cmocka_unit_test(test_names),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
