/* test_alerts.c -- the alert engine end to end, the JSON payload, the alerts: config, the hook. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "alert_config.h"
#include "alert_hook.h"
#include "alerts.h"
#include "clock.h"
#include "config.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define S 1000LL
#define MIN (60 * S)
/* 2026-06-21 12:00 in Daejeon (UTC+9): the sun is high */
#define NOON_WALL (1782010800000LL)
#define MONO0 1000000LL

static const char *const BASE_YAML =
    "timezone: Asia/Seoul\n"
    "programs:\n"
    "  - id: homes\n"
    "    kind: solar\n"
    "    sites:\n"
    "      - id: home-{n}\n"
    "        count: 5\n"
    "        devices:\n"
    "          - id: pv-{n}\n"
    "            kind: inverter\n"
    "            link: tcp://127.0.0.1:1502\n"
    "            unit: 1\n"
    "            capacity: 3000\n"
    "  - id: balcony-pv\n"
    "    kind: solar\n"
    "    sites:\n"
    "      - id: balcony-1\n"
    "        devices:\n"
    "          - {id: bal-1, kind: inverter, link: 'tcp://127.0.0.1:1503', unit: 1, capacity: "
    "260}\n"
    "  - id: ami\n"
    "    kind: ami\n"
    "    sites:\n"
    "      - id: flat-1\n"
    "        devices:\n"
    "          - {id: hall, kind: meter, link: 'tcp://127.0.0.1:1504', unit: 1, welfare: true}\n";

static void write_config(const char *alerts_yaml, char path[64])
{
    snprintf(path, 64, "/tmp/enmon-test-alerts-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(BASE_YAML, f);
    fputs(alerts_yaml, f);
    fclose(f);
}

static struct enmon_config *load(const char *alerts_yaml)
{
    char path[64];
    struct cfg_error err;
    struct enmon_config *cfg = NULL;
    write_config(alerts_yaml, path);
    int rc = config_load(path, &cfg, &err);
    unlink(path);
    if (rc != ENMON_OK) {
        char msg[512];
        config_format_error(&err, msg, sizeof(msg));
        fail_msg("config: %s", msg);
    }
    return cfg;
}

static void expect_error(const char *alerts_yaml, int line, const char *field, const char *msg)
{
    char path[64];
    struct cfg_error err;
    struct enmon_config *cfg = NULL;
    write_config(alerts_yaml, path);
    int rc = config_load(path, &cfg, &err);
    unlink(path);
    assert_int_equal(rc, ENMON_ERR_CONFIG);
    assert_null(cfg);
    assert_int_equal(err.line, line);
    assert_string_equal(err.field, field);
    if (!strstr(err.msg, msg))
        fail_msg("message '%s' lacks '%s'", err.msg, msg);
}

static int device_index(const struct enmon_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->ndevices; i++)
        if (strcmp(cfg->devices[i].id, id) == 0)
            return (int)i;
    fail_msg("no device %s", id);
    return -1;
}

/* The rule parameters of the device with this id. */
static void resolve(const struct alert_config *ac, const struct enmon_config *cfg, const char *id,
                    struct alert_rule_cfg *out)
{
    uint32_t i = (uint32_t)device_index(cfg, id);
    alert_config_resolve(ac, cfg->devices[i].program, cfg->devices[i].site, i, out);
}

/* ---- collecting what the engine emits ------------------------------------------------------ */

struct sink {
    pthread_mutex_t lock;
    struct alert_event ev[64];
    int n;
};

static void collect(void *ctx, const struct alert_event *ev)
{
    struct sink *s = ctx;
    pthread_mutex_lock(&s->lock);
    if (s->n < 64)
        s->ev[s->n++] = *ev;
    pthread_mutex_unlock(&s->lock);
}

static struct reading reading_at(uint32_t device, int64_t t_ms)
{
    struct reading r;
    memset(&r, 0, sizeof(r));
    r.device = device;
    r.wall_ms = NOON_WALL + t_ms;
    r.mono_ms = MONO0 + t_ms;
    r.quality = READING_OK;
    r.online = 1;
    return r;
}

static void submit_voltage(struct alerts *a, uint32_t dev, double v, int64_t from, int64_t to)
{
    for (int64_t t = from; t < to; t += 5 * S) {
        struct reading r = reading_at(dev, t);
        reading_set(&r, MEAS_VOLTAGE_V, v);
        reading_set(&r, MEAS_POWER_W, 400);
        assert_int_equal(alerts_submit(a, &r), ENMON_OK);
    }
}

static const char *const ENGINE_ALERTS = "alerts:\n"
                                         "  voltage_band: {after: 20s, clear_after: 20s}\n"
                                         "  overrides:\n"
                                         "    - match: {device: hall}\n"
                                         "      voltage_band: {low: 200}\n";

static void test_engine_raises_and_clears(void **state)
{
    (void)state;
    struct enmon_config *cfg = load(ENGINE_ALERTS);
    struct sink s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct alerts *a;
    assert_int_equal(alerts_start(cfg, collect, &s, &a), ENMON_OK);
    uint32_t hall = (uint32_t)device_index(cfg, "hall");
    submit_voltage(a, hall, 221, 0, 60 * S);
    submit_voltage(a, hall, 190, 60 * S, 120 * S);
    submit_voltage(a, hall, 221, 120 * S, 180 * S);
    struct reading r = reading_at((uint32_t)device_index(cfg, "pv-2"), 0);
    reading_set(&r, MEAS_EVENTS, 1u << 0);
    alerts_submit(a, &r);
    struct alerts_stats st = {0};
    for (int i = 0; i < 5000 && st.processed < 37; i++) {
        usleep(1000);
        alerts_get_stats(a, &st);
    }
    assert_int_equal(st.processed, 37);
    struct alert_event active[4];
    assert_int_equal(alerts_active(a, active, 4), 1);
    assert_string_equal(active[0].id, "pv-2/inverter_event/GROUND_FAULT");
    alerts_stop(a);

    assert_int_equal(s.n, 3);
    assert_string_equal(s.ev[0].id, "hall/voltage_band");
    assert_int_equal(s.ev[0].raised, 1);
    assert_string_equal(s.ev[0].cause, "voltage 190.00 V below 200.00 V");
    assert_int_equal(s.ev[0].severity, ALERT_WARNING);
    assert_int_equal(s.ev[0].first_seen_ms, NOON_WALL + 60 * S);
    assert_int_equal(s.ev[0].last_seen_ms, NOON_WALL + 80 * S);
    assert_int_equal(s.ev[1].raised, 0);
    assert_string_equal(s.ev[1].id, "hall/voltage_band");
    assert_int_equal(s.ev[1].first_seen_ms, NOON_WALL + 60 * S);
    assert_int_equal(s.ev[1].last_seen_ms, NOON_WALL + 140 * S);
    assert_string_equal(s.ev[2].id, "pv-2/inverter_event/GROUND_FAULT");
    assert_string_equal(s.ev[2].cause, "GROUND_FAULT");
    config_free(cfg);
}

static void test_engine_restore_does_not_refire(void **state)
{
    (void)state;
    struct enmon_config *cfg = load(ENGINE_ALERTS);
    struct sink s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct alerts *a;
    uint32_t hall = (uint32_t)device_index(cfg, "hall");
    struct alert_event old[3];
    memset(old, 0, sizeof(old));
    snprintf(old[0].id, sizeof(old[0].id), "hall/voltage_band");
    snprintf(old[0].rule, sizeof(old[0].rule), "voltage_band");
    snprintf(old[0].cause, sizeof(old[0].cause), "voltage 190.00 V below 200.00 V");
    old[0].first_seen_ms = NOON_WALL - 3600 * S;
    old[0].raised = 1;
    snprintf(old[1].id, sizeof(old[1].id), "gone-device/comm_loss");
    snprintf(old[2].id, sizeof(old[2].id), "pv-1/welfare_inactivity"); /* not for inverters */

    assert_int_equal(alerts_start(cfg, collect, &s, &a), ENMON_OK);
    assert_int_equal(alerts_restore(a, old, 3), 1);
    submit_voltage(a, hall, 190, 0, 60 * S);
    submit_voltage(a, hall, 221, 60 * S, 120 * S);
    alerts_stop(a);

    /* the alert of a rule that no longer applies is cleared; the restored one
     * is not raised again and clears once with its original first_seen */
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ev[0].id, "pv-1/welfare_inactivity");
    assert_int_equal(s.ev[0].raised, 0);
    assert_string_equal(s.ev[1].id, "hall/voltage_band");
    assert_int_equal(s.ev[1].raised, 0);
    assert_int_equal(s.ev[1].device, hall);
    assert_int_equal(s.ev[1].first_seen_ms, NOON_WALL - 3600 * S);
    config_free(cfg);
}

/* Five 3 kW inverters of one program at noon, one reading a minute each. */
static void submit_fleet(struct alerts *a, const struct enmon_config *cfg, double others,
                         double pv1, int64_t from, int64_t to)
{
    for (int64_t t = from; t < to; t += MIN) {
        for (int i = 1; i <= 5; i++) {
            char id[16];
            snprintf(id, sizeof(id), "pv-%d", i);
            struct reading r = reading_at((uint32_t)device_index(cfg, id), t);
            reading_set(&r, MEAS_POWER_W, 3000 * (i == 1 ? pv1 : others) * (1 + 0.01 * i));
            reading_set(&r, MEAS_STATE, 4);
            assert_int_equal(alerts_submit(a, &r), ENMON_OK);
        }
    }
}

static void test_engine_peers(void **state)
{
    (void)state;
    struct enmon_config *cfg = load("");
    struct sink s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct alerts *a;
    assert_int_equal(alerts_start(cfg, collect, &s, &a), ENMON_OK);
    /* a cloudy hour: everybody at ~15 % of capacity, pv-1 at 12 %: nothing */
    submit_fleet(a, cfg, 0.15, 0.12, 0, 60 * MIN);
    /* the sun is back for all but pv-1 */
    submit_fleet(a, cfg, 0.80, 0.12, 60 * MIN, 100 * MIN);
    alerts_stop(a);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.ev[0].id, "pv-1/under_production");
    assert_int_equal(s.ev[0].severity, ALERT_INFO);
    assert_int_equal(s.ev[0].last_seen_ms - s.ev[0].first_seen_ms, 30 * MIN);
    assert_true(s.ev[0].value < 0.2);
    config_free(cfg);
}

/* One reading of pv-1..pv-4 each (in that order) at t, power w[i] W; pv-5 never reads. */
static void submit_round(struct alerts *a, const struct enmon_config *cfg, const double w[4],
                         int64_t t)
{
    for (int i = 0; i < 4; i++) {
        char id[16];
        snprintf(id, sizeof(id), "pv-%d", i + 1);
        struct reading r = reading_at((uint32_t)device_index(cfg, id), t);
        reading_set(&r, MEAS_POWER_W, w[i]);
        reading_set(&r, MEAS_STATE, 4);
        assert_int_equal(alerts_submit(a, &r), ENMON_OK);
    }
}

static void submit_rounds(struct alerts *a, const struct enmon_config *cfg, const double w[4],
                          int64_t from, int64_t to)
{
    for (int64_t t = from; t < to; t += S)
        submit_round(a, cfg, w, t);
}

/* The peers' median comes from their current readings: a cloud over the whole program, with
 * `after` far below the 10 s a cached median lived, raises nothing; one inverter alone low does. */
static void test_engine_peers_current_readings(void **state)
{
    (void)state;
    struct enmon_config *cfg = load("alerts:\n  under_production: {after: 5s, clear_after: 5s}\n");
    struct sink s = {.lock = PTHREAD_MUTEX_INITIALIZER};
    struct alerts *a;
    assert_int_equal(alerts_start(cfg, collect, &s, &a), ENMON_OK);
    static const double sunny[4] = {2400, 2400, 2400, 2400};
    static const double cloud[4] = {375, 375, 375, 375};
    static const double pv1_low[4] = {375, 2400, 2400, 2400};
    /* 10 min of sun, then 2 min of cloud over all four, one reading a second each: in the
     * first cloudy round pv-1 compares 375 W with its peers' sunny 2400 W (a hit at 600 s),
     * but by 601 s they read 375 W too: share 1.0, the run of hits ends after 1 s < 5 s */
    submit_rounds(a, cfg, sunny, 0, 600 * S);
    submit_rounds(a, cfg, cloud, 600 * S, 720 * S);
    /* pv-1 stays at 375 W, the others are back at 2400 W. At 720 s pv-1 still sees its
     * peers' 375 W of 719 s (share 1.0); from 721 s the median of pv-2..pv-4 is 2400 /
     * 3000 = 0.8, expected 0.8 x 3000 = 2400 W, share 375 / 2400 = 0.15625 < 0.5: hits
     * from 721 s, raised at 726 s (after 5 s). */
    submit_rounds(a, cfg, pv1_low, 720 * S, 780 * S);
    /* pv-1 recovers at 780 s: share 2400 / 2400 = 1.0 >= 0.7, cleared at 785 s */
    submit_rounds(a, cfg, sunny, 780 * S, 800 * S);
    alerts_stop(a);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ev[0].id, "pv-1/under_production");
    assert_int_equal(s.ev[0].raised, 1);
    assert_int_equal(s.ev[0].first_seen_ms, NOON_WALL + 721 * S);
    assert_int_equal(s.ev[0].last_seen_ms, NOON_WALL + 726 * S);
    assert_true(s.ev[0].value == 0.15625);
    assert_string_equal(s.ev[0].cause, "output 375 W is 16% of the peers' median 2400 W");
    /* the clear keeps the value that raised it and carries the one that cleared it */
    assert_string_equal(s.ev[1].id, "pv-1/under_production");
    assert_int_equal(s.ev[1].raised, 0);
    assert_int_equal(s.ev[1].last_seen_ms, NOON_WALL + 785 * S);
    assert_true(s.ev[1].value == 0.15625);
    assert_true(s.ev[1].clear_value == 1.0);
    config_free(cfg);
}

static void test_event_json(void **state)
{
    (void)state;
    struct enmon_config *cfg = load("");
    struct alert_event ev;
    char buf[1024];
    memset(&ev, 0, sizeof(ev));
    ev.device = (uint32_t)device_index(cfg, "hall");
    snprintf(ev.rule, sizeof(ev.rule), "voltage_band");
    snprintf(ev.cause, sizeof(ev.cause), "voltage \"196.4\" V");
    snprintf(ev.id, sizeof(ev.id), "hall/voltage_band");
    ev.severity = ALERT_CRITICAL;
    ev.raised = 1;
    ev.first_seen_ms = 1782010800123LL;
    ev.last_seen_ms = 1782010860000LL;
    ev.value = 196.4;
    int n = alert_event_json(&ev, cfg, buf, sizeof(buf));
    assert_true(n > 0 && (size_t)n == strlen(buf));
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring, "hall/voltage_band");
    assert_string_equal(cJSON_GetObjectItem(j, "device")->valuestring, "hall");
    assert_string_equal(cJSON_GetObjectItem(j, "program")->valuestring, "ami");
    assert_string_equal(cJSON_GetObjectItem(j, "site")->valuestring, "flat-1");
    assert_string_equal(cJSON_GetObjectItem(j, "rule")->valuestring, "voltage_band");
    assert_string_equal(cJSON_GetObjectItem(j, "severity")->valuestring, "critical");
    assert_string_equal(cJSON_GetObjectItem(j, "cause")->valuestring, "voltage \"196.4\" V");
    assert_true(fabs(cJSON_GetObjectItem(j, "value")->valuedouble - 196.4) < 1e-9);
    assert_string_equal(cJSON_GetObjectItem(j, "first_seen")->valuestring,
                        "2026-06-21T03:00:00.123Z");
    assert_true(cJSON_GetObjectItem(j, "last_seen_ms")->valuedouble == 1782010860000.0);
    assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "active");
    cJSON_Delete(j);
    ev.raised = 0;
    assert_true(alert_event_json(&ev, cfg, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"state\":\"cleared\""));
    assert_int_equal(alert_event_json(&ev, cfg, buf, 40), -1);
    ev.device = 999;
    assert_int_equal(alert_event_json(&ev, cfg, buf, sizeof(buf)), -1);
    config_free(cfg);
}

/* ---- configuration ------------------------------------------------------------------------- */

static void test_config_defaults_overrides_hook(void **state)
{
    (void)state;
    struct enmon_config *cfg =
        load("alerts:\n"
             "  comm_loss: {polls: 5, after: 2m, severity: critical}\n"
             "  voltage_band: {low: 207, high: 233, after: 60s, clear_after: 90s}\n"
             "  welfare_inactivity: {after: 10h, margin: 80}\n"
             "  inverter_event: {events: [GROUND_FAULT, OVER_TEMP]}\n"
             "  overrides:\n"
             "    - match: {program: balcony-pv}\n"
             "      under_production: {enabled: false}\n"
             "    - match: {device: hall}\n"
             "      voltage_band: {low: 370, high: 390}\n"
             "    - match: {program: ami}\n"
             "      voltage_band: {low: 1, high: 1000, after: 5s}\n"
             "  hook: {command: [/usr/local/bin/notify, --json], timeout: 3s, rate_limit: 30/h}\n");
    const struct alert_config *ac = cfg->alerts;
    assert_non_null(ac);
    assert_int_equal(ac->defaults[ALERT_RULE_COMM_LOSS].polls, 5);
    assert_int_equal(ac->defaults[ALERT_RULE_COMM_LOSS].severity, ALERT_CRITICAL);
    assert_int_equal(ac->defaults[ALERT_RULE_VOLTAGE_BAND].clear_after_ms, 90 * S);
    assert_int_equal(ac->defaults[ALERT_RULE_WELFARE_INACTIVITY].after_ms, 10 * 3600 * S);
    assert_int_equal(ac->defaults[ALERT_RULE_INVERTER_EVENT].events, (1u << 0) | (1u << 7));
    assert_int_equal(ac->defaults[ALERT_RULE_FREQUENCY_BAND].low, 59.8); /* untouched default */
    assert_int_equal(ac->tz_offset_s, 9 * 3600);

    struct alert_rule_cfg r[ALERT_RULE__COUNT];
    resolve(ac, cfg, "bal-1", r);
    assert_int_equal(r[ALERT_RULE_UNDER_PRODUCTION].enabled, 0);
    resolve(ac, cfg, "pv-1", r);
    assert_int_equal(r[ALERT_RULE_UNDER_PRODUCTION].enabled, 1);
    assert_true(r[ALERT_RULE_VOLTAGE_BAND].low == 207);
    /* the device override wins over the program's, which still sets `after` */
    resolve(ac, cfg, "hall", r);
    assert_true(r[ALERT_RULE_VOLTAGE_BAND].low == 370 && r[ALERT_RULE_VOLTAGE_BAND].high == 390);
    assert_int_equal(r[ALERT_RULE_VOLTAGE_BAND].after_ms, 5 * S);
    assert_int_equal(r[ALERT_RULE_VOLTAGE_BAND].clear_after_ms, 90 * S);

    assert_int_equal(ac->hook.argc, 2);
    assert_string_equal(ac->hook.argv[0], "/usr/local/bin/notify");
    assert_string_equal(ac->hook.argv[1], "--json");
    assert_int_equal(ac->hook.timeout_ms, 3 * S);
    assert_int_equal(ac->hook.rate_count, 30);
    assert_int_equal(ac->hook.rate_period_ms, 3600 * S);
    assert_int_equal(ac->hook.retries, 2);
    config_free(cfg);

    cfg = load("");
    assert_non_null(cfg->alerts);
    assert_int_equal(cfg->alerts->defaults[ALERT_RULE_VOLTAGE_BAND].after_ms, 60 * S);
    assert_int_equal(cfg->alerts->hook.argc, 0);
    config_free(cfg);
}

static void test_config_errors_are_located(void **state)
{
    (void)state;
    /* BASE_YAML has 25 lines: the alerts: key is on line 26 */
    expect_error("alerts:\n  voltage_band: {low: 207, hihg: 233}\n", 27, "alerts.voltage_band.hihg",
                 "hihg");
    expect_error("alerts:\n  volt_band: {low: 207}\n", 27, "alerts.volt_band", "volt_band");
    expect_error("alerts:\n  comm_loss:\n    low: 3\n", 28, "alerts.comm_loss.low", "low");
    expect_error("alerts:\n  comm_loss: {after: soon}\n", 27, "alerts.comm_loss.after", "");
    expect_error("alerts:\n  comm_loss: {severity: fatal}\n", 27, "alerts.comm_loss.severity",
                 "fatal");
    expect_error("alerts:\n  voltage_band: {low: 240, high: 230}\n", 27, "alerts.voltage_band",
                 "must not exceed");
    expect_error("alerts:\n  inverter_event:\n    events: [GROUND_FAULT, ARC_FAULT]\n", 28,
                 "alerts.inverter_event.events", "unknown event 'ARC_FAULT'");
    expect_error("alerts:\n  overrides:\n    - match: {device: nowhere}\n", 28,
                 "alerts.overrides[0].match.device", "no device with id 'nowhere'");
    expect_error("alerts:\n  overrides:\n    - match: {device: hall}\n      welfare: {}\n", 29,
                 "alerts.overrides[0].welfare", "welfare");
    expect_error("alerts:\n  hook: {command: [notify]}\n", 27, "alerts.hook.command",
                 "absolute path");
    expect_error("alerts:\n  hook:\n    command: [/bin/true]\n    rate_limit: lots\n", 29,
                 "alerts.hook.rate_limit", "30/h");
}

/* The pole-sensor rules are configured like the others; leakage_trend fits whole days. */
static void test_config_sensor_rules(void **state)
{
    (void)state;
    expect_error("alerts:\n  leakage_trend: {learn: 36h}\n", 27, "alerts.leakage_trend",
                 "learn must be whole days, 3d..15d");
    expect_error("alerts:\n  leakage_trend: {learn: 2d}\n", 27, "alerts.leakage_trend", "3d..15d");
    expect_error("alerts:\n  leakage_current: {low: 1}\n", 27, "alerts.leakage_current.low", "low");
    expect_error("alerts:\n  sensor_event:\n    events: [DOOR_OPEN, FLOOD]\n", 28,
                 "alerts.sensor_event.events", "unknown event 'FLOOD'");
}

/* ---- the hook ------------------------------------------------------------------------------ */

static void sh_hook(struct alert_hook_cfg *h, const char *script)
{
    memset(h, 0, sizeof(*h));
    h->argc = 3;
    snprintf(h->argv[0], sizeof(h->argv[0]), "/bin/sh");
    snprintf(h->argv[1], sizeof(h->argv[1]), "-c");
    snprintf(h->argv[2], sizeof(h->argv[2]), "%s", script);
    h->timeout_ms = 5000;
    h->retry_delay_ms = 10;
}

static void temp_path(char path[64], const char *tag)
{
    snprintf(path, 64, "/tmp/enmon-test-hook-%s-%d-%ld", tag, (int)getpid(), (long)clock_mono_ms());
    unlink(path);
}

static size_t read_file(const char *path, char *buf, size_t len)
{
    FILE *f = fopen(path, "rb");
    if (!f)
        return 0;
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    return n;
}

static void test_hook_run_stdin_exit_timeout(void **state)
{
    (void)state;
    struct alert_hook_cfg h;
    char out[64], script[200], got[256];
    int status;
    temp_path(out, "stdin");
    snprintf(script, sizeof(script), "cat > %s", out);
    sh_hook(&h, script);
    assert_int_equal(alert_hook_run(&h, "{\"id\":\"hall/comm_loss\"}", &status), ENMON_OK);
    assert_int_equal(status, 0);
    read_file(out, got, sizeof(got));
    assert_string_equal(got, "{\"id\":\"hall/comm_loss\"}");
    unlink(out);

    sh_hook(&h, "exit 3");
    assert_int_equal(alert_hook_run(&h, "{}", &status), ENMON_ERR_IO);
    assert_int_equal(status, 3);

    sh_hook(&h, "exec 0<&-; sleep 0.05; exit 0"); /* does not read stdin */
    assert_int_equal(alert_hook_run(&h, "{}", &status), ENMON_OK);

    memset(&h, 0, sizeof(h));
    h.argc = 1;
    snprintf(h.argv[0], sizeof(h.argv[0]), "/nonexistent/notify");
    h.timeout_ms = 1000;
    assert_int_equal(alert_hook_run(&h, "{}", &status), ENMON_ERR_IO);
    assert_int_equal(status, 127);

    sh_hook(&h, "sleep 10; sleep 10");
    h.timeout_ms = 200;
    int64_t t0 = clock_mono_ms();
    assert_int_equal(alert_hook_run(&h, "{}", &status), ENMON_ERR_TIMEOUT);
    int64_t took = clock_mono_ms() - t0;
    assert_true(took >= 200 && took < 2000);
}

static void test_rate_window(void **state)
{
    (void)state;
    struct alert_rate r;
    assert_int_equal(alert_rate_init(&r, 2, 1000), ENMON_OK);
    assert_true(alert_rate_allow(&r, 0));
    assert_true(alert_rate_allow(&r, 10));
    assert_false(alert_rate_allow(&r, 20));
    assert_false(alert_rate_allow(&r, 999));
    assert_true(alert_rate_allow(&r, 1000));
    assert_false(alert_rate_allow(&r, 1005));
    assert_true(alert_rate_allow(&r, 1010));
    alert_rate_free(&r);
    assert_int_equal(alert_rate_init(&r, 0, 0), ENMON_OK);
    for (int i = 0; i < 100; i++)
        assert_true(alert_rate_allow(&r, i));
    alert_rate_free(&r);
}

static void test_hook_thread_rate_limit_and_retry(void **state)
{
    (void)state;
    struct alert_hook_cfg h;
    struct alert_hook *k;
    struct alert_hook_stats st;
    char out[64], mark[64], script[300], got[512];

    temp_path(out, "rate");
    snprintf(script, sizeof(script), "cat >> %s; echo >> %s", out, out);
    sh_hook(&h, script);
    h.rate_count = 2;
    h.rate_period_ms = 3600 * S;
    assert_int_equal(alert_hook_start(&h, &k), ENMON_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(alert_hook_submit(k, "{\"n\":1}"), ENMON_OK);
    alert_hook_stop(k);
    read_file(out, got, sizeof(got));
    assert_string_equal(got, "{\"n\":1}\n{\"n\":1}\n");
    unlink(out);

    /* fails the first time, succeeds on the retry */
    temp_path(out, "retry-out");
    temp_path(mark, "retry-mark");
    snprintf(script, sizeof(script), "if [ -e %s ]; then cat > %s; else : > %s; exit 1; fi", mark,
             out, mark);
    sh_hook(&h, script);
    h.retries = 2;
    assert_int_equal(alert_hook_start(&h, &k), ENMON_OK);
    assert_int_equal(alert_hook_submit(k, "{\"retry\":true}"), ENMON_OK);
    for (int i = 0; i < 500; i++) {
        alert_hook_get_stats(k, &st);
        if (st.delivered)
            break;
        usleep(10000);
    }
    alert_hook_get_stats(k, &st);
    alert_hook_stop(k);
    assert_int_equal(st.failed, 1);
    assert_int_equal(st.delivered, 1);
    read_file(out, got, sizeof(got));
    assert_string_equal(got, "{\"retry\":true}");
    unlink(out);
    unlink(mark);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_engine_raises_and_clears),
        cmocka_unit_test(test_engine_restore_does_not_refire),
        cmocka_unit_test(test_engine_peers),
        cmocka_unit_test(test_engine_peers_current_readings),
        cmocka_unit_test(test_event_json),
        cmocka_unit_test(test_config_defaults_overrides_hook),
        cmocka_unit_test(test_config_errors_are_located),
        cmocka_unit_test(test_config_sensor_rules),
        cmocka_unit_test(test_hook_run_stdin_exit_timeout),
        cmocka_unit_test(test_rate_window),
        cmocka_unit_test(test_hook_thread_rate_limit_and_retry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
