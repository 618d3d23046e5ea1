/* test_summary.c -- program summaries: power of online devices only, production and
 * consumption apart, today's energy, alerts, and the JSON parsed back with cJSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "summary.h"

#include <cjson/cJSON.h>
#include <string.h>

static struct cfg_program programs[2];
static struct cfg_device devices[4];
static struct enmon_config cfg;
static struct live_dev devs[4];

static void dev(int i, const char *id, enum device_kind kind, uint32_t program)
{
    strcpy(devices[i].id, id);
    devices[i].kind = kind;
    devices[i].program = program;
}

static void seen(int i, int online, double power_w)
{
    devs[i].polled = 1;
    devs[i].online = online;
    devs[i].has_last = 1;
    reading_set(&devs[i].last, MEAS_POWER_W, power_w);
}

static int setup(void **state)
{
    memset(&cfg, 0, sizeof(cfg));
    memset(devices, 0, sizeof(devices));
    memset(devs, 0, sizeof(devs));
    strcpy(programs[0].id, "solar");
    strcpy(programs[0].name, "Solar roofs");
    programs[0].kind = PROGRAM_SOLAR;
    strcpy(programs[1].id, "ami");
    programs[1].kind = PROGRAM_AMI;
    dev(0, "pv1", DEVICE_INVERTER, 0);
    dev(1, "pv2", DEVICE_INVERTER, 0);
    dev(2, "m1", DEVICE_METER, 1);
    dev(3, "m2", DEVICE_METER, 1);
    cfg.programs = programs;
    cfg.nprograms = 2;
    cfg.devices = devices;
    cfg.ndevices = 4;
    return 0;
}

static void test_power_counts_online_devices_only(void **state)
{
    struct summary s[3];
    int alerts[4] = {0, 2, 1, 0};
    seen(0, 1, 1500);
    seen(1, 0, 900); /* offline: its last power is stale and must not count */
    seen(2, 1, 400);
    seen(3, 1, -250); /* exporting household */
    devs[0].today_export_wh = 5000;
    devs[0].today_import_wh = 77; /* an inverter's import is not production */
    devs[2].today_import_wh = 1200;
    devs[3].today_import_wh = 300;
    devs[3].today_export_wh = 999; /* a meter's export is not consumption */
    summary_compute(&cfg, devs, alerts, s);
    assert_string_equal(s[0].id, "solar");
    assert_string_equal(s[0].name, "Solar roofs");
    assert_string_equal(s[1].name, "ami"); /* no name: the id */
    assert_float_equal(s[0].power_w, 1500, 1e-9);
    assert_float_equal(s[0].produced_w, 1500, 1e-9);
    assert_int_equal(s[0].online, 1);
    assert_int_equal(s[0].offline, 1);
    assert_int_equal(s[0].alerts_active, 2);
    assert_float_equal(s[1].consumed_w, 150, 1e-9);
    assert_float_equal(s[1].energy_today_wh, 1500, 1e-9);
    assert_string_equal(s[2].id, "city");
    assert_int_equal(s[2].devices, 4);
    assert_int_equal(s[2].online, 3);
    assert_int_equal(s[2].alerts_active, 3);
    assert_float_equal(s[2].produced_w, 1500, 1e-9);
    assert_float_equal(s[2].consumed_w, 150, 1e-9);
    assert_float_equal(s[2].produced_today_wh, 5000, 1e-9);
    assert_float_equal(s[2].consumed_today_wh, 1500, 1e-9);
    assert_float_equal(s[2].energy_today_wh, 6500, 1e-9);
}

static void test_never_polled_and_missing_power(void **state)
{
    struct summary s[3];
    devs[0].polled = 1;
    devs[0].online = 1;
    devs[0].has_last = 1; /* online, but the reading has no valid power */
    summary_compute(&cfg, devs, NULL, s);
    assert_float_equal(s[0].power_w, 0, 0);
    assert_int_equal(s[0].online, 1);
    assert_int_equal(s[2].offline, 3); /* never polled counts as offline */
    assert_int_equal(s[2].alerts_active, 0);
}

static void test_json(void **state)
{
    struct summary s[3];
    char buf[1024];
    seen(0, 1, 1234.56);
    summary_compute(&cfg, devs, NULL, s);
    int n = summary_json(&s[0], 1795742625123LL, buf, sizeof(buf));
    assert_true(n > 0 && (size_t)n == strlen(buf));
    cJSON *doc = cJSON_Parse(buf);
    assert_non_null(doc);
    assert_string_equal(cJSON_GetObjectItem(doc, "program")->valuestring, "solar");
    assert_float_equal(cJSON_GetObjectItem(doc, "power_w")->valuedouble, 1234.6, 1e-9);
    assert_int_equal(cJSON_GetObjectItem(doc, "devices")->valueint, 2);
    assert_int_equal(cJSON_GetObjectItem(doc, "offline")->valueint, 1);
    assert_string_equal(cJSON_GetObjectItem(doc, "ts")->valuestring, "2026-11-27T01:23:45.123Z");
    const char *keys[] = {"power_w", "energy_today_wh", "devices", "online",
                          "offline", "alerts_active",   "ts",      "ts_ms"};
    for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_non_null(cJSON_GetObjectItem(doc, keys[i]));
    cJSON_Delete(doc);
    assert_int_equal(summary_json(&s[0], 0, buf, 40), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_power_counts_online_devices_only, setup),
        cmocka_unit_test_setup(test_never_polled_and_missing_power, setup),
        cmocka_unit_test_setup(test_json, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
