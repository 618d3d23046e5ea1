/* test_config.c -- config_load: a full valid file, defaults, and located errors (line + field). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "alert_config.h"
#include "collectors.h"
#include "config.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* Writes yaml to a new temporary file; its path goes into path. */
static void write_temp(const char *yaml, char path[64])
{
    snprintf(path, 64, "/tmp/enmon-test-config-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(yaml);
    assert_int_equal(write(fd, yaml, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

/* Loads yaml from a temporary file and expects an error at line in field,
 * with msg_part somewhere in the message. */
static void expect_error(const char *yaml, int line, const char *field, const char *msg_part)
{
    char path[64];
    struct enmon_config *cfg = (struct enmon_config *)1;
    struct cfg_error err;

    write_temp(yaml, path);
    int rc = config_load(path, &cfg, &err);
    unlink(path);
    if (rc != ENMON_ERR_CONFIG || err.line != line || strcmp(err.field, field) != 0 ||
        !strstr(err.msg, msg_part))
        print_error("got rc=%d %d: '%s': %s\n", rc, err.line, err.field, err.msg);
    assert_int_equal(rc, ENMON_ERR_CONFIG);
    assert_null(cfg);
    assert_string_equal(err.file, path);
    assert_int_equal(err.line, line);
    assert_string_equal(err.field, field);
    assert_non_null(strstr(err.msg, msg_part));
}

static struct enmon_config *load_ok(const char *yaml)
{
    char path[64];
    struct enmon_config *cfg = NULL;
    struct cfg_error err;

    write_temp(yaml, path);
    int rc = config_load(path, &cfg, &err);
    unlink(path);
    if (rc != ENMON_OK)
        print_error("unexpected error %s:%d: %s: %s\n", err.file, err.line, err.field, err.msg);
    assert_int_equal(rc, ENMON_OK);
    assert_non_null(cfg);
    return cfg;
}

static const struct cfg_device *find_device(const struct enmon_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->ndevices; i++)
        if (strcmp(cfg->devices[i].id, id) == 0)
            return &cfg->devices[i];
    fail_msg("no device %s", id);
    return NULL;
}

/* ---- valid files ------------------------------------------------------------------------ */

static void test_valid_top_level(void **state)
{
    (void)state;
    const char *data = getenv("ENMON_TEST_DATA");
    char path[512];
    struct enmon_config *cfg = NULL;
    struct cfg_error err;

    assert_non_null(data);
    snprintf(path, sizeof(path), "%s/config/valid.yaml", data);
    assert_int_equal(config_load(path, &cfg, &err), ENMON_OK);
    assert_string_equal(cfg->path, path);
    assert_string_equal(cfg->mqtt.host, "broker.example.org");
    assert_int_equal(cfg->mqtt.port, 8883);
    assert_string_equal(cfg->mqtt.topic_root, "city/enmon");
    assert_string_equal(cfg->mqtt.client_id, "enmond-test");
    assert_string_equal(cfg->mqtt.username, "ops");
    assert_string_equal(cfg->mqtt.password_file, "/etc/enmon/mqtt.pass");
    assert_int_equal(cfg->mqtt.keepalive_s, 60);
    assert_int_equal(cfg->mqtt.qos, 2);
    assert_string_equal(cfg->database, "/tmp/enmon-test.db");
    assert_string_equal(cfg->timezone, "Asia/Seoul");
    assert_int_equal(cfg->workers, 8);
    assert_int_equal(cfg->default_interval_ms, 10000);
    assert_int_equal(cfg->default_timeout_ms, 500);
    assert_int_equal(cfg->default_retries, 2);
    assert_int_equal(cfg->offline_after, 5);

    assert_int_equal(cfg->nprograms, 3);
    assert_string_equal(cfg->programs[0].id, "solar-homes");
    assert_string_equal(cfg->programs[0].name, "Solar, single-family homes");
    assert_int_equal(cfg->programs[0].kind, PROGRAM_SOLAR);
    assert_string_equal(cfg->programs[1].id, "city-hall-led");
    assert_string_equal(cfg->programs[1].name, "city-hall-led");
    assert_int_equal(cfg->programs[1].kind, PROGRAM_LED_RETROFIT);
    assert_int_equal(cfg->programs[2].kind, PROGRAM_AMI);
    assert_string_equal(cfg->programs[2].name, "AMI rollout");
    config_free(cfg);
}

static void test_valid_expansion(void **state)
{
    (void)state;
    const char *data = getenv("ENMON_TEST_DATA");
    char path[512], id[CFG_ID_MAX], name[CFG_NAME_MAX];
    struct enmon_config *cfg = NULL;
    struct cfg_error err;

    assert_non_null(data);
    snprintf(path, sizeof(path), "%s/config/valid.yaml", data);
    assert_int_equal(config_load(path, &cfg, &err), ENMON_OK);
    assert_int_equal(cfg->nsites, 11);
    assert_int_equal(cfg->ndevices, 21);
    for (int n = 1; n <= 10; n++) {
        const struct cfg_site *s = &cfg->sites[n - 1];
        snprintf(id, sizeof(id), "home-%02d", n);
        snprintf(name, sizeof(name), "Solar home %02d", n);
        assert_string_equal(s->id, id);
        assert_string_equal(s->name, name);
        assert_int_equal(s->program, 0);

        const struct cfg_device *pv = &cfg->devices[2 * (n - 1)];
        const struct cfg_device *meter = &cfg->devices[2 * (n - 1) + 1];
        snprintf(id, sizeof(id), "home-%02d-pv", n);
        assert_string_equal(pv->id, id);
        assert_int_equal(pv->unit, n);
        assert_int_equal(pv->site, n - 1);
        assert_int_equal(pv->program, 0);
        assert_int_equal(pv->link, 0);
        assert_int_equal(pv->line, 28);
        snprintf(id, sizeof(id), "home-%02d-meter", n);
        assert_string_equal(meter->id, id);
        assert_string_equal(meter->name, id);
        assert_int_equal(meter->unit, 100 + n);
        assert_int_equal(meter->link, 1);
    }
    assert_string_equal(cfg->sites[10].id, "city-hall");
    assert_string_equal(cfg->sites[10].name, "city-hall");
    assert_int_equal(cfg->sites[10].program, 1);
    config_free(cfg);
}

static void test_valid_device_fields(void **state)
{
    (void)state;
    const char *data = getenv("ENMON_TEST_DATA");
    char path[512];
    struct enmon_config *cfg = NULL;
    struct cfg_error err;

    assert_non_null(data);
    snprintf(path, sizeof(path), "%s/config/valid.yaml", data);
    assert_int_equal(config_load(path, &cfg, &err), ENMON_OK);

    const struct cfg_device *pv = find_device(cfg, "home-03-pv");
    assert_string_equal(pv->name, "PV inverter 03");
    assert_int_equal(pv->kind, DEVICE_INVERTER);
    assert_true(pv->capacity_w == 3000.0);
    assert_int_equal(pv->interval_ms, 2000);
    assert_int_equal(pv->timeout_ms, 250);
    assert_int_equal(pv->retries, 0);
    assert_int_equal(pv->sunspec_base, 40000);
    assert_int_equal(pv->welfare, 1);
    assert_int_equal(pv->commissioned, 1493564400); /* 2017-05-01T00:00+09:00 */
    assert_int_equal(pv->retrofit, 0);

    const struct cfg_device *m = find_device(cfg, "home-10-meter");
    assert_int_equal(m->kind, DEVICE_METER);
    assert_true(m->capacity_w == 0.0);
    assert_int_equal(m->interval_ms, 10000); /* polling defaults */
    assert_int_equal(m->timeout_ms, 500);
    assert_int_equal(m->retries, 2);
    assert_int_equal(m->sunspec_base, -1);
    assert_int_equal(m->welfare, 0);
    assert_int_equal(m->commissioned, 0);
    assert_int_equal(m->line, 40);

    const struct cfg_device *hall = find_device(cfg, "city-hall-main");
    assert_int_equal(hall->site, 10);
    assert_int_equal(hall->program, 1);
    assert_int_equal(hall->link, 0); /* shares tcp://127.0.0.1:15020 with the inverters */
    assert_int_equal(hall->unit, 50);
    assert_int_equal(hall->retrofit, 1472655600); /* 2016-09-01T00:00+09:00 */

    assert_int_equal(cfg->nlinks, 2);
    assert_string_equal(cfg->links[0].uri, "tcp://127.0.0.1:15020");
    assert_int_equal(cfg->links[0].kind, LINK_TCP);
    assert_string_equal(cfg->links[0].host, "127.0.0.1");
    assert_int_equal(cfg->links[0].port, 15020);
    assert_string_equal(cfg->links[1].uri, "tcp://127.0.0.1:15021");
    assert_int_equal(cfg->links[1].port, 15021);
    config_free(cfg);
}

/* The smallest configuration enmond accepts: one device (lines 1-9). */
#define ONE_DEVICE_YAML                                                                            \
    "programs:\n"                                                                                  \
    "  - id: p\n"                                                                                  \
    "    kind: solar\n"                                                                            \
    "    sites:\n"                                                                                 \
    "      - id: s\n"                                                                              \
    "        devices:\n"                                                                           \
    "          - id: d\n"                                                                          \
    "            kind: inverter\n"                                                                 \
    "            link: tcp://127.0.0.1:1502\n"                                                     \
    "            unit: 1\n"

static void test_defaults(void **state)
{
    (void)state;
    struct enmon_config *cfg = load_ok("# nothing but defaults and one device\n" ONE_DEVICE_YAML);

    assert_string_equal(cfg->mqtt.host, "127.0.0.1");
    assert_int_equal(cfg->mqtt.port, 1883);
    assert_string_equal(cfg->mqtt.topic_root, "enmon");
    assert_string_equal(cfg->mqtt.client_id, "enmond");
    assert_string_equal(cfg->mqtt.username, "");
    assert_string_equal(cfg->mqtt.password_file, "");
    assert_int_equal(cfg->mqtt.keepalive_s, 30);
    assert_int_equal(cfg->mqtt.qos, 1);
    assert_string_equal(cfg->database, "/var/lib/enmond/enmon.db");
    assert_string_equal(cfg->timezone, "Asia/Seoul");
    assert_int_equal(cfg->workers, 4);
    assert_int_equal(cfg->offline_after, 3);
    assert_int_equal(cfg->default_interval_ms, 5000);
    assert_int_equal(cfg->default_timeout_ms, 1000);
    assert_int_equal(cfg->default_retries, 1);
    assert_int_equal(cfg->nprograms, 1);
    assert_int_equal(cfg->ndevices, 1);
    config_free(cfg);
}

/* storage.retry_buffer_readings (docs/CONFIG.md "storage"): default 250000, over
 * 10 minutes of config/city (meters and pole sensors every 60 s, inverters every 5 s:
 * 10,217 x 10 + 1,216 x 120 = 248,090 readings);
 * 1..100000000, else FILE:LINE: field: reason. */
static void test_storage_retry_buffer(void **state)
{
    (void)state;
    struct enmon_config *cfg = load_ok(ONE_DEVICE_YAML);
    assert_int_equal(cfg->storage.retry_buffer_readings, 250000);
    assert_true(CFG_RETRY_BUFFER_DEFAULT >= 10217 * 10 + 1216 * 120);
    config_free(cfg);
    cfg = load_ok("storage: {retry_buffer_readings: 500000}\n" ONE_DEVICE_YAML); /* the doc's */
    assert_int_equal(cfg->storage.retry_buffer_readings, 500000);
    config_free(cfg);
    expect_error("storage:\n  retry_buffer_readings: 0\n" ONE_DEVICE_YAML, 2,
                 "storage.retry_buffer_readings", "");
    expect_error("storage:\n  retry_buffer: 10\n" ONE_DEVICE_YAML, 2, "storage.retry_buffer",
                 "unknown");
}

/* storage retention (docs/CONFIG.md "storage"): readings 35 days, intervals and daily
 * rollups kept (0), cleared alerts 365 days; 0..36600 each; daily rollups never
 * shorter than the intervals they sum; errors name FILE:LINE: field. */
static void test_storage_retention(void **state)
{
    (void)state;
    struct enmon_config *cfg = load_ok(ONE_DEVICE_YAML);
    assert_int_equal(cfg->storage.readings_days, 35);
    assert_int_equal(cfg->storage.intervals_days, 0);
    assert_int_equal(cfg->storage.daily_days, 0);
    assert_int_equal(cfg->storage.alerts_days, 365);
    config_free(cfg);
    /* the doc's example */
    cfg = load_ok("storage: {readings_days: 14, intervals_days: 400, daily_days: 3650, "
                  "alerts_days: 90}\n" ONE_DEVICE_YAML);
    assert_int_equal(cfg->storage.readings_days, 14);
    assert_int_equal(cfg->storage.intervals_days, 400);
    assert_int_equal(cfg->storage.daily_days, 3650);
    assert_int_equal(cfg->storage.alerts_days, 90);
    config_free(cfg);
    cfg = load_ok("storage: {readings_days: 0, alerts_days: 0}\n" ONE_DEVICE_YAML); /* keep all */
    assert_int_equal(cfg->storage.readings_days, 0);
    assert_int_equal(cfg->storage.alerts_days, 0);
    config_free(cfg);
    expect_error("storage:\n  readings_days: -1\n" ONE_DEVICE_YAML, 2, "storage.readings_days",
                 "");
    expect_error("storage:\n  retry_buffer_readings: 10\n  intervals_days: 36601\n"
                 ONE_DEVICE_YAML, 3, "storage.intervals_days", "");
    expect_error("storage:\n  alerts_days: soon\n" ONE_DEVICE_YAML, 2, "storage.alerts_days", "");
    expect_error("storage:\n  intervals_days: 60\n  daily_days: 30\n" ONE_DEVICE_YAML, 3,
                 "storage.daily_days", "shorter than storage.intervals_days");
}

static void test_wide_count_and_offsets(void **state)
{
    (void)state;
    struct enmon_config *cfg = load_ok("timezone: \"+00:00\"\n"
                                       "programs:\n"
                                       "  - id: p\n"
                                       "    kind: ami\n"
                                       "    sites:\n"
                                       "      - id: s{n}\n"
                                       "        count: 120\n"
                                       "        devices:\n"
                                       "          - id: d{n}\n"
                                       "            kind: meter\n"
                                       "            link: tcp://[::1]:502\n"
                                       "            unit: 128\n"
                                       "            commissioned: 2020-01-01T12:30+01:00\n"
                                       "            interval: 1.5\n");

    assert_int_equal(cfg->nsites, 120);
    assert_string_equal(cfg->sites[0].id, "s001");
    assert_string_equal(cfg->sites[119].id, "s120");
    assert_string_equal(cfg->devices[119].id, "d120");
    assert_int_equal(cfg->devices[119].unit, 247);
    assert_int_equal(cfg->devices[0].interval_ms, 1500);
    assert_int_equal(cfg->devices[0].commissioned, 1577878200); /* 2020-01-01T11:30Z */
    assert_int_equal(cfg->nlinks, 1);
    assert_string_equal(cfg->links[0].host, "::1");
    assert_int_equal(cfg->links[0].port, 502);
    config_free(cfg);
}

/* ---- errors ----------------------------------------------------------------------------- */

static void test_error_yaml_syntax(void **state)
{
    (void)state;
    expect_error("polling:\n"
                 "  workers: 4\n"
                 " interval: 5s\n",
                 3, "", "YAML syntax error");
}

/* Bytes that are not UTF-8 text are refused before the YAML parser sees them
 * (libfyaml 0.7.12 loops forever on "%" followed by 0xFF bytes: found by fuzzing). */
static void test_error_not_text(void **state)
{
    (void)state;
    expect_error("database: /tmp/x.db\n%\xff\xff\xff\n", 2, "", "not UTF-8");
    expect_error("mqtt:\n  host: a\x01b\n", 2, "", "not UTF-8");
    expect_error("database: /tmp/\xc3\x28.db\n", 1, "", "not UTF-8");
    /* well-formed UTF-8 (Korean names) is fine */
    struct enmon_config *cfg = load_ok("database: /tmp/태양광.db\n" ONE_DEVICE_YAML);
    assert_string_equal(cfg->database, "/tmp/태양광.db");
    config_free(cfg);
}

static void test_error_unknown_key(void **state)
{
    (void)state;
    expect_error("programs:\n"
                 "  - id: p\n"
                 "    kind: solar\n"
                 "    sites:\n"
                 "      - id: s\n"
                 "        devices:\n"
                 "          - id: d\n"
                 "            kind: inverter\n"
                 "            link: tcp://127.0.0.1:502\n"
                 "            untit: 3\n",
                 10, "programs[0].sites[0].devices[0].untit", "unknown key 'untit'");
    expect_error("mqtt:\n  host: a\nmqttt:\n  port: 1\n", 3, "mqttt", "unknown key");
}

static void test_error_wrong_type(void **state)
{
    (void)state;
    expect_error("polling:\n  workers: four\n", 2, "polling.workers", "expected an integer");
    expect_error("polling:\n  workers: 12abc\n", 2, "polling.workers", "'12abc'");
    expect_error("mqtt:\n  host:\n    - a\n", 3, "mqtt.host", "expected a scalar");
    expect_error("\nmqtt: 5\n", 2, "mqtt", "expected a mapping");
    expect_error("programs:\n  id: x\n", 2, "programs", "expected a sequence");
}

/* A device whose site count and unit are filled in. */
#define UNIT_YAML                                                                                  \
    "programs:\n"                                                                                  \
    "  - id: p\n"                                                                                  \
    "    kind: solar\n"                                                                            \
    "    sites:\n"                                                                                 \
    "      - id: s{n}\n"                                                                           \
    "        count: %d\n"                                                                          \
    "        devices:\n"                                                                           \
    "          - id: d{n}\n"                                                                       \
    "            kind: inverter\n"                                                                 \
    "            link: tcp://127.0.0.1:502\n"                                                      \
    "            unit: %d\n"

static void test_error_unit_range(void **state)
{
    (void)state;
    char yaml[1024];

    snprintf(yaml, sizeof(yaml), UNIT_YAML, 1, 248);
    expect_error(yaml, 11, "programs[0].sites[0].devices[0].unit", "out of range (0..247)");
    snprintf(yaml, sizeof(yaml), UNIT_YAML, 10, 240);
    expect_error(yaml, 11, "programs[0].sites[0].devices[0].unit", "exceeds 247");
}

/* A device whose link is filled in. */
#define LINK_YAML                                                                                  \
    "programs:\n"                                                                                  \
    "  - id: p\n"                                                                                  \
    "    kind: solar\n"                                                                            \
    "    sites:\n"                                                                                 \
    "      - id: s\n"                                                                              \
    "        devices:\n"                                                                           \
    "          - id: d\n"                                                                          \
    "            kind: inverter\n"                                                                 \
    "            unit: 1\n"                                                                        \
    "            link: %s\n"

static void test_error_bad_link(void **state)
{
    (void)state;
    char yaml[1024];

    snprintf(yaml, sizeof(yaml), LINK_YAML, "http://127.0.0.1:502");
    expect_error(yaml, 10, "programs[0].sites[0].devices[0].link", "invalid link");
    snprintf(yaml, sizeof(yaml), LINK_YAML, "tcp://127.0.0.1:70000");
    expect_error(yaml, 10, "programs[0].sites[0].devices[0].link", "port must be 1..65535");
    snprintf(yaml, sizeof(yaml), LINK_YAML, "tcp://127.0.0.1");
    expect_error(yaml, 10, "programs[0].sites[0].devices[0].link", "tcp://HOST:PORT");
    snprintf(yaml, sizeof(yaml), LINK_YAML, "tcp://:502");
    expect_error(yaml, 10, "programs[0].sites[0].devices[0].link", "invalid link");
}

static void test_error_bad_duration(void **state)
{
    (void)state;
    expect_error("polling:\n  workers: 2\n  interval: 5x\n", 3, "polling.interval",
                 "expected a duration");
    expect_error("polling:\n  timeout: 2m\n", 2, "polling.timeout", "out of range (10ms..1m)");
    expect_error("mqtt:\n  keepalive: -5s\n", 2, "mqtt.keepalive", "out of range");
}

static void test_error_duplicate_ids(void **state)
{
    (void)state;
    expect_error("programs:\n"
                 "  - id: p\n"
                 "    kind: solar\n"
                 "    sites:\n"
                 "      - id: s\n"
                 "        devices:\n"
                 "          - id: d\n"
                 "            kind: inverter\n"
                 "            link: tcp://127.0.0.1:502\n"
                 "            unit: 1\n"
                 "          - id: d\n"
                 "            kind: inverter\n"
                 "            link: tcp://127.0.0.1:502\n"
                 "            unit: 2\n",
                 11, "programs[0].sites[0].devices[1].id", "duplicate device id 'd'");
    expect_error("programs:\n"
                 "  - id: p\n"
                 "    kind: solar\n"
                 "  - id: p\n"
                 "    kind: ami\n",
                 4, "programs[1].id", "duplicate program id 'p'");
    /* count > 1 without {n} makes the same site id twice. */
    expect_error("programs:\n"
                 "  - id: p\n"
                 "    kind: solar\n"
                 "    sites:\n"
                 "      - id: s\n"
                 "        count: 2\n",
                 5, "programs[0].sites[0].id", "duplicate site id 's'");
}

static void test_error_missing_required(void **state)
{
    (void)state;
    expect_error("programs:\n"
                 "  - id: p\n"
                 "    kind: solar\n"
                 "    sites:\n"
                 "      - id: s\n"
                 "        devices:\n"
                 "          - id: d\n"
                 "            kind: inverter\n"
                 "            link: tcp://127.0.0.1:502\n",
                 7, "programs[0].sites[0].devices[0].unit", "missing required key 'unit'");
    expect_error("programs:\n"
                 "  - name: no id\n"
                 "    kind: solar\n",
                 2, "programs[0].id", "missing required key 'id'");
    expect_error("programs:\n"
                 "  - id: p\n"
                 "    kind: solar\n"
                 "    sites:\n"
                 "      - name: S\n",
                 5, "programs[0].sites[0].id", "missing required key 'id'");
}

static void test_error_unknown_kind(void **state)
{
    (void)state;
    expect_error("programs:\n"
                 "  - id: p\n"
                 "    kind: battery\n",
                 3, "programs[0].kind",
                 "unknown value 'battery' (expected one of: solar, ami, led-retrofit, "
                 "efficiency, demand-response, grid-safety)");
}

/* A pole sensor has no SunSpec model: without a map it is an error at its entry. */
static void test_error_sensor_without_map(void **state)
{
    (void)state;
    expect_error("programs:\n"
                 "  - id: grid\n"
                 "    kind: grid-safety\n"
                 "    sites:\n"
                 "      - id: pole-1\n"
                 "        devices:\n"
                 "          - {id: leak-1, kind: sensor, link: 'tcp://127.0.0.1:502', unit: 1}\n",
                 7, "programs[0].sites[0].devices[0].map",
                 "missing (a sensor is read through a register map)");
}

static void test_error_duplicate_link_unit(void **state)
{
    (void)state;
    expect_error("programs:\n"
                 "  - id: p\n"
                 "    kind: solar\n"
                 "    sites:\n"
                 "      - id: a\n"
                 "        devices:\n"
                 "          - id: d1\n"
                 "            kind: inverter\n"
                 "            link: tcp://127.0.0.1:502\n"
                 "            unit: 3\n"
                 "      - id: b\n"
                 "        devices:\n"
                 "          - id: d2\n"
                 "            kind: meter\n"
                 "            link: tcp://127.0.0.1:502\n"
                 "            unit: 3\n",
                 16, "programs[0].sites[1].devices[0].unit", "already used by device 'd1'");
}

/* Several SunSpec devices behind one unit id: allowed when each picks another
 * device of the chain (sunspec_device); the same one twice, or a map device, is not. */
static void test_sunspec_devices_share_a_unit(void **state)
{
    (void)state;
    static const char head[] = "programs:\n"
                               "  - id: p\n"
                               "    kind: solar\n"
                               "    sites:\n"
                               "      - id: a\n"
                               "        devices:\n"
                               "          - {id: d1, kind: inverter, link: 'tcp://127.0.0.1:502', "
                               "unit: 3, pf_percent: true}\n";
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "%s%s", head,
             "          - {id: d2, kind: inverter, link: 'tcp://127.0.0.1:502', unit: 3, "
             "sunspec_device: 2}\n");
    struct enmon_config *cfg = load_ok(yaml);
    const struct cfg_device *d1 = find_device(cfg, "d1"), *d2 = find_device(cfg, "d2");
    assert_int_equal(d1->unit, d2->unit);
    assert_int_equal(d1->link, d2->link);
    assert_int_equal(d1->sunspec_device, 1);
    assert_int_equal(d2->sunspec_device, 2);
    assert_true(d1->pf_percent);
    assert_false(d2->pf_percent);
    config_free(cfg);
    snprintf(yaml, sizeof(yaml), "%s%s", head,
             "          - {id: d2, kind: inverter, link: 'tcp://127.0.0.1:502', unit: 3, "
             "sunspec_device: 1}\n");
    expect_error(yaml, 8, "programs[0].sites[0].devices[1].unit",
                 "unit 3 on link tcp://127.0.0.1:502, sunspec_device 1 is already used by "
                 "device 'd1' (line 7)");
    /* the example of docs/CONFIG.md: its two device lines under a site */
    const char *src = getenv("ENMON_TEST_DATA");
    assert_non_null(src);
    char doc[1024], line[512];
    snprintf(doc, sizeof(doc), "%s/../../docs/CONFIG.md", src);
    FILE *f = fopen(doc, "r");
    assert_non_null(f);
    int sites_end = (int)(strstr(head, "          - {id: d1") - head);
    size_t n = (size_t)snprintf(yaml, sizeof(yaml), "%.*s", sites_end, head);
    while (fgets(line, sizeof(line), f))
        if (strstr(line, "- {id: logger-pv") && n + strlen(line) < sizeof(yaml))
            n += (size_t)snprintf(yaml + n, sizeof(yaml) - n, "%s", line);
    fclose(f);
    cfg = load_ok(yaml);
    assert_int_equal(cfg->ndevices, 2);
    assert_int_equal(find_device(cfg, "logger-pv2")->sunspec_device, 2);
    assert_int_equal(find_device(cfg, "logger-pv1")->unit, 3);
    config_free(cfg);
    /* a register-map device owns its unit: no sunspec_device makes room beside it */
    const char *data = getenv("ENMON_TEST_DATA");
    assert_non_null(data);
    snprintf(yaml, sizeof(yaml), "%s          - {id: d2, kind: meter, link: 'tcp://127.0.0.1:502', "
             "unit: 3, sunspec_device: 2, map: '%s/../../config/maps/enmon-ami.yaml'}\n",
             head, data);
    expect_error(yaml, 8, "programs[0].sites[0].devices[1].unit",
                 "unit 3 on link tcp://127.0.0.1:502 is already used by device 'd1' (line 7)");
}

static void test_error_other_values(void **state)
{
    (void)state;
    expect_error("mqtt:\n  topic_root: /enmon\n", 2, "mqtt.topic_root", "invalid topic root");
    expect_error("mqtt:\n  topic_root: a/#\n", 2, "mqtt.topic_root", "invalid topic root");
    expect_error("timezone: Mars/Olympus\n", 1, "timezone", "unsupported timezone");
    expect_error("programs:\n  - id: bad id\n    kind: ami\n", 2, "programs[0].id", "invalid id");
    expect_error("mqtt:\n  client_id: "
                 "a123456789012345678901234567890123456789012345678901234567890123\n",
                 2, "mqtt.client_id", "too long");
}

/* One YAML document with content per file; anything else is refused at its line
 * under the field "(document)". */
static void test_error_documents(void **state)
{
    (void)state;
    /* a stray "---" used to end the file there: OK, 0 devices */
    expect_error("database: /tmp/x.db\n---\n" ONE_DEVICE_YAML, 2, "(document)",
                 "a second YAML document starts here");
    expect_error(ONE_DEVICE_YAML "...\n---\nprograms: []\n", 12, "(document)",
                 "a second YAML document");
    expect_error("", 1, "(document)", "empty: no YAML content");
    expect_error("# only comments\n\n   # and blanks\n", 1, "(document)", "empty");
    expect_error("---\n", 1, "(document)", "empty");
    expect_error("database: *nowhere\n", 1, "(document)", "alias to an undefined");
}

/* A "billion laughs" document: a1..a9 each hold ten aliases of the previous one.
 * Nodes brought in through aliases, counted per use (an alias inside an alias counts
 * itself and its target): line 2, ten *a0 of 11 nodes (the list and 10 scalars) =
 * 110; line 3, ten *a1 of 1 + 10 x (1 + 11) = 121 -> 1210; line 4, ten *a2 of
 * 1 + 10 x (1 + 121) = 1221 -> 12210 (13530 so far); line 5, ten *a3 of 12221 ->
 * 122210, past the limit of 100000: refused at line 5 before libfyaml expands anything. */
static void test_error_alias_bomb(void **state)
{
    (void)state;
    char yaml[2048];
    int n = snprintf(yaml, sizeof(yaml), "a0: &a0 [x, x, x, x, x, x, x, x, x, x]\n");
    for (int i = 1; i < 10; i++) {
        n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "a%d: &a%d [", i, i);
        for (int k = 0; k < 10; k++)
            n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "%s*a%d", k ? ", " : "", i - 1);
        n += snprintf(yaml + n, sizeof(yaml) - (size_t)n, "]\n");
    }
    assert_true(n < (int)sizeof(yaml));
    expect_error(yaml, 5, "(document)", "aliases expand to more than 100000 nodes");

    /* anchors and merge keys within the limit still work */
    struct enmon_config *cfg = load_ok("programs:\n"
                                       "  - id: p\n"
                                       "    kind: solar\n"
                                       "    sites:\n"
                                       "      - id: s\n"
                                       "        devices:\n"
                                       "          - &inv\n"
                                       "            id: d1\n"
                                       "            kind: inverter\n"
                                       "            link: tcp://127.0.0.1:1502\n"
                                       "            unit: 1\n"
                                       "          - <<: *inv\n"
                                       "            id: d2\n"
                                       "            unit: 2\n");
    assert_int_equal(cfg->ndevices, 2);
    assert_string_equal(cfg->devices[1].id, "d2");
    assert_int_equal(cfg->devices[1].kind, DEVICE_INVERTER);
    assert_int_equal(cfg->devices[1].unit, 2);
    config_free(cfg);
}

/* 200 nested flow lists: libfyaml itself stops at 64 levels, a located error. */
static void test_error_too_deep(void **state)
{
    (void)state;
    char yaml[512];
    memset(yaml, '[', 200);
    memset(yaml + 200, ']', 200);
    snprintf(yaml + 400, sizeof(yaml) - 400, "\n");
    expect_error(yaml, 1, "", "Max depth (64) exceeded");
}

/* What enmond cannot start with is refused by config_load itself, so --check-config,
 * a start and a reload agree. */
static void test_error_not_startable(void **state)
{
    (void)state;
    expect_error("database: /tmp/x.db\nprograms: []\n", 2, "programs", "no devices");
    expect_error("database: /tmp/x.db\n", 1, "programs", "no devices");
    expect_error("database: ''\n" ONE_DEVICE_YAML, 1, "database", "empty path");
    char yaml[1024];
    snprintf(yaml, sizeof(yaml), "%s", ONE_DEVICE_YAML);
    char *link = strstr(yaml, "tcp://127.0.0.1:1502"), *unit = strstr(yaml, "unit: 1");
    memcpy(unit, "unit: 0", 7);
    struct enmon_config *cfg = load_ok(yaml); /* unit 0 on TCP: the gateway itself */
    assert_int_equal(cfg->devices[0].unit, 0);
    config_free(cfg);
    char rtu[1024];
    snprintf(rtu, sizeof(rtu), "%.*srtu:/dev/ttyS0?baud=9600%s", (int)(link - yaml), yaml,
             link + strlen("tcp://127.0.0.1:1502"));
    expect_error(rtu, 10, "programs[0].sites[0].devices[0].unit", "RTU broadcast address");
    expect_error(ONE_DEVICE_YAML "http:\n  listen: localhost\n", 12, "http.listen",
                 "not an IPv4 address");
}

/* ---- collectors (docs/SCALING.md) -------------------------------------------------------- */

/* One shared file: north owns 1502 (site n-{n}: units 1 and 2) and 1504 (s-m2's own
 * collector: beats its site's); south owns 1503. */
#define COLLECTORS_YAML                                                                      \
    "database: /tmp/x.db\n"                                   /* 1 */                        \
    "collectors: [north, south]\n"                            /* 2 */                        \
    "alerts:\n"                                               /* 3 */                        \
    "  overrides:\n"                                          /* 4 */                        \
    "    - match: {device: s-m1}\n"                           /* 5 */                        \
    "      voltage_band: {low: 200}\n"                        /* 6 */                        \
    "    - match: {device: s-m2}\n"                           /* 7 */                        \
    "      voltage_band: {low: 190}\n"                        /* 8 */                        \
    "programs:\n"                                             /* 9 */                        \
    "  - id: ami\n"                                           /* 10 */                       \
    "    kind: ami\n"                                         /* 11 */                       \
    "    sites:\n"                                            /* 12 */                       \
    "      - id: n-{n}\n"                                     /* 13 */                       \
    "        count: 2\n"                                      /* 14 */                       \
    "        collector: north\n"                              /* 15 */                       \
    "        devices:\n"                                      /* 16 */                       \
    "          - {id: 'n-m-{n}', kind: meter, link: 'tcp://127.0.0.1:1502', unit: 1}\n"   \
    "      - id: s\n"                                         /* 18 */                       \
    "        collector: south\n"                              /* 19 */                       \
    "        devices:\n"                                      /* 20 */                       \
    "          - {id: s-m1, kind: meter, link: 'tcp://127.0.0.1:1503', unit: 1}\n"        \
    "          - {id: s-m2, kind: meter, link: 'tcp://127.0.0.1:1504', unit: 1, "          \
    "collector: north}\n"

static void expect_select_error(const char *yaml, const char *name, int line, const char *part)
{
    struct enmon_config *cfg = load_ok(yaml);
    struct cfg_error err;
    assert_int_equal(collectors_select(cfg, name, &err), ENMON_ERR_CONFIG);
    if (err.line != line || !strstr(err.msg, part))
        print_error("got %d: %s: %s\n", err.line, err.field, err.msg);
    assert_string_equal(err.file, cfg->path);
    assert_int_equal(err.line, line);
    assert_string_equal(err.field, "collector");
    assert_non_null(strstr(err.msg, part));
    config_free(cfg);
}

static void test_collectors_own_links(void **state)
{
    (void)state;
    struct enmon_config *cfg = load_ok(COLLECTORS_YAML);
    assert_int_equal(cfg->ncollectors, 2);
    assert_int_equal(cfg->ndevices, 4); /* the whole deployment, validated */
    assert_int_equal(cfg->nlinks, 3);
    assert_int_equal(cfg->links[0].collector, 1); /* 1502: north */
    assert_int_equal(cfg->links[1].collector, 2); /* 1503: south */
    assert_int_equal(cfg->links[2].collector, 1); /* 1504: north (the device's key) */
    char *text = NULL;
    size_t len = 0;
    FILE *out = open_memstream(&text, &len);
    collectors_describe(cfg, out);
    fclose(out);
    assert_string_equal(text, "collector north: 2 links, 3 devices: tcp://127.0.0.1:1502, "
                              "tcp://127.0.0.1:1504\n"
                              "collector south: 1 links, 1 devices: tcp://127.0.0.1:1503\n");
    free(text);

    struct cfg_error err;
    assert_int_equal(collectors_select(cfg, "north", &err), ENMON_OK);
    assert_string_equal(cfg->collector, "north");
    assert_string_equal(cfg->mqtt.client_id, "enmond-north");
    assert_int_equal(cfg->ndevices, 3);
    assert_int_equal(cfg->nlinks, 2);
    assert_string_equal(cfg->links[1].uri, "tcp://127.0.0.1:1504");
    assert_int_equal(find_device(cfg, "n-m-2")->unit, 2);
    assert_int_equal(find_device(cfg, "n-m-2")->link, 0);
    assert_int_equal(find_device(cfg, "s-m2")->link, 1);
    assert_int_equal(cfg->nsites, 3); /* sites and programs keep their indices */
    /* s-m1's override went with it; s-m2's now names its new index 2 */
    assert_int_equal(cfg->alerts->noverrides, 1);
    assert_int_equal(cfg->alerts->overrides[0].device, 2);
    assert_string_equal(cfg->devices[2].id, "s-m2");
    config_free(cfg);

    cfg = load_ok("collector: south\n" COLLECTORS_YAML); /* the file names the instance */
    assert_int_equal(collectors_select(cfg, NULL, &err), ENMON_OK);
    assert_int_equal(cfg->ndevices, 1);
    assert_string_equal(cfg->devices[0].id, "s-m1");
    assert_int_equal(cfg->devices[0].link, 0);
    assert_int_equal(cfg->alerts->noverrides, 1);
    assert_int_equal(cfg->alerts->overrides[0].device, 0);
    config_free(cfg);

    cfg = load_ok(ONE_DEVICE_YAML); /* no collectors: nothing to select, nothing dropped */
    assert_int_equal(collectors_select(cfg, NULL, &err), ENMON_OK);
    assert_int_equal(cfg->ndevices, 1);
    assert_string_equal(cfg->mqtt.client_id, "enmond");
    config_free(cfg);
}

static void test_error_collectors(void **state)
{
    (void)state;
    char yaml[4096];
    /* a link assigned twice: s-m1 (south, line 21) and a north device on 1503 (line 23) */
    snprintf(yaml, sizeof(yaml), "%s%s", COLLECTORS_YAML,
             "          - {id: x, kind: meter, link: 'tcp://127.0.0.1:1503', unit: 2, "
             "collector: north}\n");
    expect_error(yaml, 23, "programs[0].sites[1].devices[2].collector",
                 "link tcp://127.0.0.1:1503 assigned to collectors 'south' and 'north' "
                 "(device 's-m1', line 21)");
    /* the same through the site: a site of north's on south's link names the site's line */
    snprintf(yaml, sizeof(yaml), "%s%s", COLLECTORS_YAML,
             "      - id: t\n        collector: north\n        devices:\n"
             "          - {id: t-m, kind: meter, link: 'tcp://127.0.0.1:1503', unit: 3}\n");
    expect_error(yaml, 24, "programs[0].sites[2].devices[0].collector",
                 "assigned to collectors 'south' and 'north'");
    /* a link without a collector */
    snprintf(yaml, sizeof(yaml), "%s%s", COLLECTORS_YAML,
             "      - id: u\n        devices:\n"
             "          - {id: u-m, kind: meter, link: 'tcp://127.0.0.1:1505', unit: 1}\n");
    expect_error(yaml, 25, "programs[0].sites[2].devices[0].collector",
                 "device 'u-m' (link tcp://127.0.0.1:1505) has no collector");
    /* names not declared, declared twice, or without a list */
    expect_error("collector: east\n" COLLECTORS_YAML, 1, "collector",
                 "'east' is not in collectors: (line 3)");
    expect_error("database: /tmp/x.db\ncollectors: [a, a]\n", 2, "collectors[1]",
                 "duplicate collector 'a'");
    expect_error("database: /tmp/x.db\ncollectors: []\n", 2, "collectors", "empty");
    expect_error("collectors: [north]\n" ONE_DEVICE_YAML "            collector: west\n", 12,
                 "programs[0].sites[0].devices[0].collector", "'west' is not in collectors:");
    char one[1024];
    snprintf(one, sizeof(one), "%s            collector: west\n", ONE_DEVICE_YAML);
    expect_error(one, 11, "programs[0].sites[0].devices[0].collector",
                 "no collectors: list at the top level");
    /* selection: a name is needed, and must be declared; --collector needs the list */
    expect_select_error(COLLECTORS_YAML, NULL, 2, "start enmond with --collector NAME");
    expect_select_error(COLLECTORS_YAML, "east", 2, "'east' is not in collectors:");
    expect_select_error(ONE_DEVICE_YAML, "north", 1, "has no collectors: list");
}

static void test_error_missing_file(void **state)
{
    (void)state;
    struct enmon_config *cfg = NULL;
    struct cfg_error err;

    assert_int_equal(config_load("/nonexistent/enmon.yaml", &cfg, &err), ENMON_ERR_IO);
    assert_null(cfg);
    assert_string_equal(err.file, "/nonexistent/enmon.yaml");
    assert_int_equal(err.line, 0);
    assert_non_null(strstr(err.msg, "No such file"));
}

static void test_format_error_and_names(void **state)
{
    (void)state;
    struct cfg_error err = {
        .file = "/etc/enmon.yaml", .line = 12, .field = "polling.workers", .msg = "bad"};
    char buf[600];

    config_format_error(&err, buf, sizeof(buf));
    assert_string_equal(buf, "/etc/enmon.yaml:12: polling.workers: bad");
    err.field[0] = '\0';
    config_format_error(&err, buf, sizeof(buf));
    assert_string_equal(buf, "/etc/enmon.yaml:12: bad");
    assert_string_equal(config_program_kind_name(PROGRAM_DEMAND_RESPONSE), "demand-response");
    assert_string_equal(config_program_kind_name(PROGRAM_LED_RETROFIT), "led-retrofit");
    assert_string_equal(config_device_kind_name(DEVICE_METER), "meter");
    assert_string_equal(config_device_kind_name((enum device_kind)7), "unknown");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid_top_level),
        cmocka_unit_test(test_valid_expansion),
        cmocka_unit_test(test_valid_device_fields),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_wide_count_and_offsets),
        cmocka_unit_test(test_error_yaml_syntax),
        cmocka_unit_test(test_error_not_text),
        cmocka_unit_test(test_error_unknown_key),
        cmocka_unit_test(test_error_wrong_type),
        cmocka_unit_test(test_error_unit_range),
        cmocka_unit_test(test_error_bad_link),
        cmocka_unit_test(test_error_bad_duration),
        cmocka_unit_test(test_error_duplicate_ids),
        cmocka_unit_test(test_error_missing_required),
        cmocka_unit_test(test_error_unknown_kind),
        cmocka_unit_test(test_error_sensor_without_map),
        cmocka_unit_test(test_error_duplicate_link_unit),
        cmocka_unit_test(test_sunspec_devices_share_a_unit),
        cmocka_unit_test(test_error_other_values),
        cmocka_unit_test(test_error_documents),
        cmocka_unit_test(test_error_alias_bomb),
        cmocka_unit_test(test_error_too_deep),
        cmocka_unit_test(test_error_not_startable),
        cmocka_unit_test(test_error_missing_file),
        cmocka_unit_test(test_format_error_and_names),
        cmocka_unit_test(test_storage_retry_buffer),
        cmocka_unit_test(test_storage_retention),
        cmocka_unit_test(test_collectors_own_links),
        cmocka_unit_test(test_error_collectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
