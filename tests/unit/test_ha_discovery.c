/* test_ha_discovery.c -- Home Assistant discovery configs checked against HA's MQTT sensor
 * schema: abbreviations expanded, required fields, device classes, units, stable ids. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "ha_discovery.h"
#include "regmap.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <string.h>

static struct cfg_program programs[1];
static struct cfg_site sites[1];
static struct cfg_device devices[3];
static struct enmon_config cfg;

static int setup(void **state)
{
    memset(devices, 0, sizeof(devices));
    strcpy(cfg.mqtt.topic_root, "city/enmon");
    strcpy(programs[0].id, "solar");
    strcpy(sites[0].id, "roof");
    strcpy(sites[0].name, "City hall roof");
    strcpy(devices[0].id, "inv-1");
    strcpy(devices[0].name, "Inverter \"A\"");
    devices[0].kind = DEVICE_INVERTER;
    strcpy(devices[1].id, "meter_1");
    devices[1].kind = DEVICE_METER;
    memset(devices[2].id, 'x', CFG_ID_MAX - 1); /* longest id */
    devices[2].kind = DEVICE_METER;
    memset(devices[2].name, 'n', CFG_NAME_MAX - 1);
    cfg.programs = programs;
    cfg.nprograms = 1;
    cfg.sites = sites;
    cfg.nsites = 1;
    cfg.devices = devices;
    cfg.ndevices = 3;
    return 0;
}

/* HA's abbreviations used by the configs, and the keys a sensor must or may carry. */
static const char *const abbrev[][2] = {
    {"stat_t", "state_topic"},
    {"val_tpl", "value_template"},
    {"dev_cla", "device_class"},
    {"stat_cla", "state_class"},
    {"unit_of_meas", "unit_of_measurement"},
    {"uniq_id", "unique_id"},
    {"default_entity_id", "default_entity_id"},
    {"o", "origin"},
    {"avty", "availability"},
    {"avty_mode", "availability_mode"},
    {"dev", "device"},
    {"t", "topic"},
    {"ids", "identifiers"},
    {"mdl", "model"},
    {"mf", "manufacturer"},
    {"sa", "suggested_area"},
    {"~", "~"},
    {"name", "name"},
};

static const char *expand(const char *k)
{
    for (size_t i = 0; i < sizeof(abbrev) / sizeof(abbrev[0]); i++)
        if (strcmp(abbrev[i][0], k) == 0)
            return abbrev[i][1];
    return NULL;
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    assert_true(cJSON_IsString(v));
    return v->valuestring;
}

/* A topic with "~" at its start expanded from the base topic. */
static void topic(const cJSON *doc, const char *t, char *out, size_t len)
{
    if (t[0] == '~')
        snprintf(out, len, "%s%s", str(doc, "~"), t + 1);
    else
        snprintf(out, len, "%s", t);
}

static cJSON *config(uint32_t dev, const struct ha_sensor *s)
{
    char buf[HA_PAYLOAD_MAX];
    int n = ha_config_json(&cfg, dev, s, NULL, buf, sizeof(buf));
    assert_true(n > 0 && n < HA_PAYLOAD_MAX);
    cJSON *doc = cJSON_Parse(buf);
    assert_non_null(doc);
    for (const cJSON *k = doc->child; k; k = k->next) /* only keys HA knows */
        assert_non_null(expand(k->string));
    return doc;
}

static void check_availability(const cJSON *doc, const char *device_base)
{
    char t[512], want[512];
    const cJSON *avty = cJSON_GetObjectItemCaseSensitive(doc, "avty");
    assert_true(cJSON_IsArray(avty));
    assert_string_equal(str(doc, "avty_mode"), "all");
    int n = 0, status = 0, dev = 0;
    for (const cJSON *a = avty->child; a; a = a->next, n++) {
        topic(doc, str(a, "t"), t, sizeof(t));
        snprintf(want, sizeof(want), "%s/availability", device_base);
        dev |= strcmp(t, want) == 0;
        status |= strcmp(t, "city/enmon/status") == 0;
    }
    assert_true(n == 3 && dev && status);
}

static void test_inverter(void **state)
{
    struct ha_sensor s[HA_SENSORS_MAX];
    char t[256];
    assert_int_equal(ha_sensors(&cfg, 0, s), 7);
    assert_int_equal(ha_config_topic(&cfg, 0, &s[1], t, sizeof(t)),
                     (int)strlen("homeassistant/sensor/enmon_inv-1/energy_export/config"));
    assert_string_equal(t, "homeassistant/sensor/enmon_inv-1/energy_export/config");

    cJSON *power = config(0, &s[0]);
    assert_string_equal(str(power, "dev_cla"), "power");
    assert_string_equal(str(power, "stat_cla"), "measurement");
    assert_string_equal(str(power, "unit_of_meas"), "W");
    assert_string_equal(str(power, "uniq_id"), "enmon_inv-1_power");
    /* HA ignores obj_id since 2026.4: default_entity_id, a valid entity id ("-" -> "_") */
    assert_null(cJSON_GetObjectItemCaseSensitive(power, "obj_id"));
    assert_string_equal(str(power, "default_entity_id"), "sensor.enmon_inv_1_power");
    const cJSON *origin = cJSON_GetObjectItemCaseSensitive(power, "o");
    assert_string_equal(str(origin, "name"), "enmon");
    assert_string_equal(str(origin, "sw"), ENMON_VERSION);
    assert_string_equal(str(origin, "url"), ENMON_SUPPORT_URL);
    topic(power, str(power, "stat_t"), t, sizeof(t));
    assert_string_equal(t, "city/enmon/device/solar/roof/inv-1/state");
    assert_non_null(strstr(str(power, "val_tpl"), "value_json.power_w is defined"));
    assert_non_null(strstr(str(power, "val_tpl"), "else None"));
    check_availability(power, "city/enmon/device/solar/roof/inv-1");
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(power, "dev");
    assert_string_equal(cJSON_GetArrayItem(cJSON_GetObjectItem(dev, "ids"), 0)->valuestring,
                        "enmon_inv-1");
    assert_string_equal(str(dev, "name"), "Inverter \"A\"");
    assert_string_equal(str(dev, "mdl"), "SunSpec inverter");
    assert_string_equal(str(dev, "sa"), "City hall roof");

    cJSON *energy = config(0, &s[1]);
    assert_string_equal(str(energy, "dev_cla"), "energy");
    assert_string_equal(str(energy, "stat_cla"), "total_increasing");
    assert_string_equal(str(energy, "unit_of_meas"), "kWh");
    assert_non_null(strstr(str(energy, "val_tpl"), "value_json.energy_export_wh * 0.001"));
    assert_string_not_equal(str(energy, "uniq_id"), str(power, "uniq_id"));
    cJSON_Delete(power);
    cJSON_Delete(energy);
}

static void test_meter_and_longest_ids(void **state)
{
    struct ha_sensor s[HA_SENSORS_MAX];
    assert_int_equal(ha_sensors(&cfg, 1, s), 8);
    const char *want[] = {"power",     "energy_import", "energy_export", "voltage",
                          "current",   "frequency",     "power_factor",  "temperature"};
    for (int i = 0; i < 8; i++) {
        assert_string_equal(s[i].object, want[i]);
        cJSON *doc = config(1, &s[i]);
        char id[96];
        snprintf(id, sizeof(id), "enmon_meter_1_%s", want[i]);
        assert_string_equal(str(doc, "uniq_id"), id);
        cJSON_Delete(doc);
    }
    for (int i = 0; i < 8; i++) { /* 63-character ids and names still fit in one message */
        cJSON *doc = config(2, &s[i]);
        cJSON_Delete(doc);
    }
    char small[100];
    assert_int_equal(ha_config_json(&cfg, 1, &s[0], NULL, small, sizeof(small)), -1);
    assert_int_equal(ha_sensors(&cfg, 9, s), 0);
}

/* With the SunSpec common model read at discovery, the device block names the real
 * manufacturer, model, serial and firmware version instead of the config's kind. */
static void test_device_info_from_sunspec(void **state)
{
    (void)state;
    struct ha_sensor s[HA_SENSORS_MAX];
    assert_true(ha_sensors(&cfg, 0, s) > 0);
    const struct sunspec_common id = {"Hanwha \"Q\"", "Q.HOME-3K", "1.2.3", "SN-0042"};
    char buf[HA_PAYLOAD_MAX];
    int n = ha_config_json(&cfg, 0, &s[0], &id, buf, sizeof(buf));
    assert_true(n > 0);
    cJSON *doc = cJSON_Parse(buf);
    assert_non_null(doc);
    const cJSON *dev = cJSON_GetObjectItemCaseSensitive(doc, "dev");
    assert_string_equal(str(dev, "mf"), "Hanwha \"Q\"");
    assert_string_equal(str(dev, "mdl"), "Q.HOME-3K");
    assert_string_equal(str(dev, "sn"), "SN-0042");
    assert_string_equal(str(dev, "sw"), "1.2.3");
    cJSON_Delete(doc);
    /* unknown identity: no serial is invented */
    n = ha_config_json(&cfg, 0, &s[0], NULL, buf, sizeof(buf));
    doc = cJSON_Parse(buf);
    dev = cJSON_GetObjectItemCaseSensitive(doc, "dev");
    assert_null(cJSON_GetObjectItemCaseSensitive(dev, "sn"));
    cJSON_Delete(doc);
}

/* HA's sensor rules: device class, unit and state class of each measurement sensor. */
static void test_measurement_sensors(void **state)
{
    (void)state;
    struct ha_sensor s[HA_SENSORS_MAX];
    int n = ha_sensors(&cfg, 0, s);
    static const char *const want[][4] = {
        {"voltage", "voltage", "V", "voltage_v"},
        {"current", "current", "A", "current_a"},
        {"frequency", "frequency", "Hz", "frequency_hz"},
        {"power_factor", "power_factor", NULL, "power_factor"},
        {"temperature", "temperature", "\u00b0C", "temperature_c"},
    };
    for (size_t w = 0; w < sizeof(want) / sizeof(want[0]); w++) {
        int found = 0;
        for (int i = 0; i < n; i++) {
            if (strcmp(s[i].object, want[w][0]) != 0)
                continue;
            found = 1;
            cJSON *doc = config(0, &s[i]);
            assert_string_equal(str(doc, "dev_cla"), want[w][1]);
            assert_string_equal(str(doc, "stat_cla"), "measurement");
            if (want[w][2])
                assert_string_equal(str(doc, "unit_of_meas"), want[w][2]);
            else /* power factor -1..1: HA wants no unit (or %) */
                assert_null(cJSON_GetObjectItemCaseSensitive(doc, "unit_of_meas"));
            char key[64];
            snprintf(key, sizeof(key), "value_json.%s is defined", want[w][3]);
            assert_non_null(strstr(str(doc, "val_tpl"), key));
            cJSON_Delete(doc);
        }
        assert_true(found);
    }
}

/* Only what the device implements: a SunSpec device power until its readings show more; a
 * device with a register map what the map's points feed. */
static void test_only_implemented_sensors(void **state)
{
    (void)state;
    struct ha_sensor s[HA_SENSORS_MAX];
    assert_int_equal(ha_sensors_implemented(&cfg, 1, 0, s), 1);
    assert_string_equal(s[0].object, "power");
    /* a consumption meter: power, import, voltage, frequency; no export, current, PF */
    uint32_t seen = 1u << MEAS_POWER_W | 1u << MEAS_ENERGY_IMPORT_WH | 1u << MEAS_VOLTAGE_V |
                    1u << MEAS_FREQUENCY_HZ;
    assert_int_equal(ha_sensors_implemented(&cfg, 1, seen, s), 4);
    const char *want[] = {"power", "energy_import", "voltage", "frequency"};
    for (int i = 0; i < 4; i++)
        assert_string_equal(s[i].object, want[i]);
    /* a map meter with import, power and PF points only (no export register) */
    struct regmap_point pts[3] = {
        {.meas = MEAS_ENERGY_IMPORT_WH}, {.meas = MEAS_POWER_W}, {.meas = MEAS_POWER_FACTOR}};
    struct regmap map = {.points = pts, .npoints = 3};
    devices[1].map = &map;
    assert_int_equal(ha_sensors_implemented(&cfg, 1, 0xffffffffu, s), 3);
    assert_string_equal(s[0].object, "power");
    assert_string_equal(s[1].object, "energy_import");
    assert_string_equal(s[2].object, "power_factor");
    devices[1].map = NULL;
    assert_int_equal(ha_sensors_implemented(&cfg, 9, 0, s), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_device_info_from_sunspec, setup),
        cmocka_unit_test_setup(test_inverter, setup),
        cmocka_unit_test_setup(test_meter_and_longest_ids, setup),
        cmocka_unit_test_setup(test_measurement_sensors, setup),
        cmocka_unit_test_setup(test_only_implemented_sensors, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
