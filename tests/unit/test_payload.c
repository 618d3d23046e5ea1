/* test_payload.c -- MQTT topics and JSON state messages, parsed back with cJSON. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "payload.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

static struct cfg_program programs[2];
static struct cfg_site sites[2];
static struct cfg_device devices[3];
static struct enmon_config cfg;

/* Two programs, two sites, three devices; device 2 has an id needing escaping
 * in JSON (the config parser would refuse it, payload must still be safe). */
static int setup(void **state)
{
    memset(&cfg, 0, sizeof(cfg));
    memset(programs, 0, sizeof(programs));
    memset(sites, 0, sizeof(sites));
    memset(devices, 0, sizeof(devices));
    strcpy(cfg.mqtt.topic_root, "enmon");
    strcpy(programs[0].id, "solar-homes");
    strcpy(programs[1].id, "ami");
    strcpy(sites[0].id, "home-01");
    strcpy(sites[1].id, "apt_7");
    sites[1].program = 1;
    strcpy(devices[0].id, "home-01-pv");
    devices[0].kind = DEVICE_INVERTER;
    strcpy(devices[1].id, "apt_7-meter");
    devices[1].kind = DEVICE_METER;
    devices[1].site = 1;
    devices[1].program = 1;
    strcpy(devices[2].id, "q\"b\\s\x01n");
    devices[2].kind = DEVICE_METER;
    cfg.programs = programs;
    cfg.nprograms = 2;
    cfg.sites = sites;
    cfg.nsites = 2;
    cfg.devices = devices;
    cfg.ndevices = 3;
    return 0;
}

static struct reading make_reading(uint32_t device, uint8_t quality)
{
    struct reading r;
    memset(&r, 0, sizeof(r));
    r.device = device;
    r.wall_ms = 1795742625123LL; /* 2026-11-27T01:23:45.123Z */
    r.quality = quality;
    r.online = 1;
    return r;
}

static cJSON *format_and_parse(const struct reading *r)
{
    char buf[PAYLOAD_STATE_MAX];
    int n = payload_state_json(&cfg, r, buf, sizeof(buf));
    assert_true(n > 0);
    assert_int_equal((size_t)n, strlen(buf));
    cJSON *j = cJSON_Parse(buf);
    assert_non_null(j);
    return j;
}

static double number(const cJSON *j, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(j, key);
    assert_non_null(item);
    assert_true(cJSON_IsNumber(item));
    return item->valuedouble;
}

static const char *string(const cJSON *j, const char *key)
{
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(j, key);
    assert_non_null(item);
    assert_true(cJSON_IsString(item));
    return item->valuestring;
}

static void test_topics(void **state)
{
    char buf[PAYLOAD_TOPIC_MAX];
    assert_int_equal(payload_status_topic("enmon", buf, sizeof(buf)), 12);
    assert_string_equal(buf, "enmon/status");
    assert_true(payload_state_topic(&cfg, 0, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "enmon/device/solar-homes/home-01/home-01-pv/state");
    assert_true(payload_availability_topic(&cfg, 1, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "enmon/device/ami/apt_7/apt_7-meter/availability");
    strcpy(cfg.mqtt.topic_root, "city/enmon");
    assert_true(payload_state_topic(&cfg, 0, buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "city/enmon/device/solar-homes/home-01/home-01-pv/state");
    assert_string_equal(payload_availability(1), "online");
    assert_string_equal(payload_availability(0), "offline");
}

static void test_topic_refuses_wildcards(void **state)
{
    char buf[PAYLOAD_TOPIC_MAX];
    strcpy(devices[0].id, "pv+1");
    assert_int_equal(payload_state_topic(&cfg, 0, buf, sizeof(buf)), -1);
    strcpy(devices[0].id, "pv#");
    assert_int_equal(payload_availability_topic(&cfg, 0, buf, sizeof(buf)), -1);
    strcpy(devices[0].id, "home-01-pv");
    strcpy(sites[0].id, "a/b");
    assert_int_equal(payload_state_topic(&cfg, 0, buf, sizeof(buf)), -1);
    strcpy(sites[0].id, "home-01");
    strcpy(programs[0].id, "");
    assert_int_equal(payload_state_topic(&cfg, 0, buf, sizeof(buf)), -1);
    strcpy(programs[0].id, "solar-homes");
    assert_true(payload_state_topic(&cfg, 0, buf, sizeof(buf)) > 0);
    assert_int_equal(payload_state_topic(&cfg, 3, buf, sizeof(buf)), -1);
    assert_int_equal(payload_status_topic("en/#", buf, sizeof(buf)), -1);
    assert_int_equal(payload_status_topic("en+", buf, sizeof(buf)), -1);
    assert_int_equal(payload_status_topic("", buf, sizeof(buf)), -1);
}

static void test_topic_buffer_too_small(void **state)
{
    char buf[12];
    assert_int_equal(payload_status_topic("enmon", buf, sizeof(buf)), -1);
    assert_string_equal(buf, "");
    char big[13];
    assert_int_equal(payload_status_topic("enmon", big, sizeof(big)), 12);
    assert_int_equal(payload_state_topic(&cfg, 0, big, sizeof(big)), -1);
}

static void test_state_json_values_exact(void **state)
{
    struct reading r = make_reading(0, READING_OK);
    reading_set(&r, MEAS_POWER_W, 1234);
    reading_set(&r, MEAS_ENERGY_EXPORT_WH, 567890);
    reading_set(&r, MEAS_VOLTAGE_V, 229.5);
    reading_set(&r, MEAS_FREQUENCY_HZ, 60.01);
    reading_set(&r, MEAS_POWER_FACTOR, -0.98);
    reading_set(&r, MEAS_STATE, 4);
    reading_set(&r, MEAS_EVENTS, 4294967295.0);
    cJSON *j = format_and_parse(&r);
    assert_string_equal(string(j, "device"), "home-01-pv");
    assert_string_equal(string(j, "program"), "solar-homes");
    assert_string_equal(string(j, "site"), "home-01");
    assert_string_equal(string(j, "kind"), "inverter");
    assert_string_equal(string(j, "ts"), "2026-11-27T01:23:45.123Z");
    assert_true(number(j, "ts_ms") == 1795742625123.0);
    assert_string_equal(string(j, "quality"), "ok");
    assert_true(number(j, "power_w") == 1234.0);
    assert_true(number(j, "energy_export_wh") == 567890.0);
    assert_true(number(j, "voltage_v") == 229.5);
    assert_true(number(j, "frequency_hz") == 60.01);
    assert_true(number(j, "power_factor") == -0.98);
    assert_true(number(j, "state") == 4.0);
    assert_true(number(j, "events") == 4294967295.0);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "energy_import_wh"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "current_a"));
    assert_int_equal(cJSON_GetArraySize(j), 7 + 7);
    cJSON_Delete(j);
}

static void test_number_text(void **state)
{
    char buf[64];
    assert_int_equal(payload_number(567890, buf, sizeof(buf)), 6);
    assert_string_equal(buf, "567890");
    payload_number(229.5, buf, sizeof(buf));
    assert_string_equal(buf, "229.5");
    payload_number(60.01, buf, sizeof(buf));
    assert_string_equal(buf, "60.01");
    payload_number(123456789012.0, buf, sizeof(buf));
    assert_string_equal(buf, "123456789012");
    payload_number(-0.0, buf, sizeof(buf));
    assert_string_equal(buf, "0");
    payload_number(-1500, buf, sizeof(buf));
    assert_string_equal(buf, "-1500");
    payload_number(2295 * 0.1, buf, sizeof(buf));
    assert_string_equal(buf, "229.5");
    assert_int_equal(payload_number(NAN, buf, sizeof(buf)), -1);
    assert_int_equal(payload_number(INFINITY, buf, sizeof(buf)), -1);
    assert_int_equal(payload_number(567890, buf, 6), -1);
}

/* A PARTIAL reading: invalid measurements are absent, never 0; NaN/inf are skipped. */
static void test_partial_omits_invalid(void **state)
{
    struct reading r = make_reading(1, READING_PARTIAL);
    reading_set(&r, MEAS_POWER_W, -850);
    reading_set(&r, MEAS_ENERGY_IMPORT_WH, 1000.5);
    reading_set(&r, MEAS_VOLTAGE_V, NAN);
    reading_set(&r, MEAS_CURRENT_A, INFINITY);
    r.value[MEAS_ENERGY_EXPORT_WH] = 42; /* value present but valid bit clear */
    cJSON *j = format_and_parse(&r);
    assert_string_equal(string(j, "quality"), "partial");
    assert_string_equal(string(j, "kind"), "meter");
    assert_string_equal(string(j, "program"), "ami");
    assert_true(number(j, "power_w") == -850.0);
    assert_true(number(j, "energy_import_wh") == 1000.5);
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "energy_export_wh"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "voltage_v"));
    assert_null(cJSON_GetObjectItemCaseSensitive(j, "current_a"));
    cJSON_Delete(j);
}

static void test_failed_reading_is_not_formatted(void **state)
{
    char buf[PAYLOAD_STATE_MAX];
    struct reading r = make_reading(0, READING_FAILED);
    reading_set(&r, MEAS_POWER_W, 0);
    assert_int_equal(payload_state_json(&cfg, &r, buf, sizeof(buf)), -1);
    r = make_reading(7, READING_OK);
    assert_int_equal(payload_state_json(&cfg, &r, buf, sizeof(buf)), -1);
}

static void test_id_escaping(void **state)
{
    char buf[64];
    assert_true(payload_json_string("a\"b\\c\n\x01", buf, sizeof(buf)) > 0);
    assert_string_equal(buf, "\"a\\\"b\\\\c\\n\\u0001\"");
    struct reading r = make_reading(2, READING_OK);
    reading_set(&r, MEAS_POWER_W, 5);
    cJSON *j = format_and_parse(&r);
    assert_string_equal(string(j, "device"), "q\"b\\s\x01n");
    cJSON_Delete(j);
}

static void test_state_buffer_too_small(void **state)
{
    struct reading r = make_reading(0, READING_OK);
    reading_set(&r, MEAS_POWER_W, 1234);
    reading_set(&r, MEAS_VOLTAGE_V, 229.5);
    char buf[PAYLOAD_STATE_MAX];
    int n = payload_state_json(&cfg, &r, buf, sizeof(buf));
    assert_true(n > 0);
    char exact[PAYLOAD_STATE_MAX];
    assert_int_equal(payload_state_json(&cfg, &r, exact, (size_t)n + 1), n);
    assert_string_equal(exact, buf);
    for (size_t len = 0; len <= (size_t)n; len += 7)
        assert_int_equal(payload_state_json(&cfg, &r, exact, len), -1);
    assert_int_equal(payload_state_json(&cfg, &r, exact, (size_t)n), -1);
}

/* payload_number formats without printf on its fast path: it must give exactly what
 * "%.15g" ("%.0f" for integral values) gives, for values as decoded (raw register x
 * 10^sf, 0.1 and 0.01 inexact in binary), values needing all 15 digits (the printf
 * path), and the edges of the fixed notation (1e-4, just under 1e15). */
static void expect_like_printf(double v)
{
    char got[64], want[64];
    payload_number(v, got, sizeof(got));
    if (v == 0.0)
        snprintf(want, sizeof(want), "0");
    else if (v == trunc(v) && fabs(v) < 1e15)
        snprintf(want, sizeof(want), "%.0f", v);
    else
        snprintf(want, sizeof(want), "%.15g", v);
    if (strcmp(got, want) != 0)
        fail_msg("%.17g: got %s, printf gives %s", v, got, want);
}

static void test_number_like_printf(void **state)
{
    static const double pow10[] = {1e-6, 1e-5, 1e-4, 1e-3, 1e-2, 1e-1, 1, 1e1, 1e2};
    for (int32_t raw = -70000; raw <= 70000; raw += 7) /* int16/uint16 registers and beyond */
        for (size_t k = 0; k < sizeof(pow10) / sizeof(pow10[0]); k++)
            expect_like_printf(raw * pow10[k]);
    for (int32_t raw = -2000; raw <= 2000; raw++) /* the same values divided, as some maps do */
        for (int div = 10; div <= 100000; div *= 10)
            expect_like_printf((double)raw / div);
    uint64_t x = 88172645463325252ull; /* xorshift64: arbitrary bit patterns, all magnitudes */
    for (int i = 0; i < 200000; i++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        double u = (double)(x >> 11) / 9007199254740992.0; /* [0, 1) */
        double v = ldexp(u, (int)(x % 120) - 60) * (x & 1 ? -1 : 1);
        expect_like_printf(v);
        expect_like_printf(round(v * 1000.0) / 1000.0);
    }
    const double edge[] = {1e-4, 0.0001000000000000001, 9.9999e-5, 0.09999999999999999,
                           3.0000000000000004, 2.9999999999999996, 999999999999999.9,
                           99999999999999.98, 123456789012345.6, 0.1 + 0.2, 1.0 / 3,
                           -2.5e-4, 4294967295.5, 1e15 - 0.5, 5e-324, 1.7976931348623157e308};
    for (size_t i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
        expect_like_printf(edge[i]);
}

/* payload_utc_time computes the civil date itself: it must match gmtime_r for days
 * across leap years, centuries, 1970, before it (negative times) and 9999. */
static void test_utc_time_like_gmtime(void **state)
{
    for (int64_t s = -62135596800LL; s < 253402300800LL; s += 86400LL * 7 + 3601) {
        for (int64_t ms = 0; ms < 1000; ms += 499) {
            int64_t wall_ms = s * 1000 + ms;
            char got[48], want[48];
            time_t t = (time_t)s;
            struct tm tm;
            assert_non_null(gmtime_r(&t, &tm));
            snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
                     tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min,
                     tm.tm_sec, (int)ms);
            assert_int_equal(payload_utc_time(wall_ms, got, sizeof(got)), 24);
            assert_string_equal(got, want);
        }
    }
    char buf[48];
    payload_utc_time(-1, buf, sizeof(buf)); /* 1 ms before the epoch */
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    assert_int_equal(payload_utc_time(0, buf, 24), -1); /* no room for the NUL */
    assert_string_equal(buf, "");
}

static void test_utc_time(void **state)
{
    char buf[32];
    assert_int_equal(payload_utc_time(0, buf, sizeof(buf)), 24);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    payload_utc_time(-1, buf, sizeof(buf));
    assert_string_equal(buf, "1969-12-31T23:59:59.999Z");
    payload_utc_time(1795742625123LL, buf, sizeof(buf));
    assert_string_equal(buf, "2026-11-27T01:23:45.123Z");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_topics, setup),
        cmocka_unit_test_setup(test_topic_refuses_wildcards, setup),
        cmocka_unit_test_setup(test_topic_buffer_too_small, setup),
        cmocka_unit_test_setup(test_state_json_values_exact, setup),
        cmocka_unit_test_setup(test_number_text, setup),
        cmocka_unit_test_setup(test_partial_omits_invalid, setup),
        cmocka_unit_test_setup(test_failed_reading_is_not_formatted, setup),
        cmocka_unit_test_setup(test_id_escaping, setup),
        cmocka_unit_test_setup(test_state_buffer_too_small, setup),
        cmocka_unit_test_setup(test_utc_time, setup),
        cmocka_unit_test_setup(test_number_like_printf, setup),
        cmocka_unit_test_setup(test_utc_time_like_gmtime, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
