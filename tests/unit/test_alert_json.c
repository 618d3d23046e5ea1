/* test_alert_json.c -- the one alert JSON: the event exactly as docs/ALERTS.md shows it, and
 * the history record of `enmon alerts --format json` and /api/alerts. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "alert_json.h"
#include "alert_store.h"
#include "alerts.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

static struct cfg_program programs[1];
static struct cfg_site sites[1];
static struct cfg_device devices[1];
static struct enmon_config cfg;

static int setup(void **state)
{
    (void)state;
    strcpy(programs[0].id, "ami");
    strcpy(sites[0].id, "flat-1");
    strcpy(devices[0].id, "hall");
    cfg.programs = programs;
    cfg.nprograms = 1;
    cfg.sites = sites;
    cfg.nsites = 1;
    cfg.devices = devices;
    cfg.ndevices = 1;
    return 0;
}

static struct alert_event event(void)
{
    struct alert_event ev;
    memset(&ev, 0, sizeof(ev));
    snprintf(ev.id, sizeof(ev.id), "hall/voltage_band");
    snprintf(ev.rule, sizeof(ev.rule), "voltage_band");
    snprintf(ev.cause, sizeof(ev.cause), "voltage 196.40 V below 207.00 V");
    ev.severity = ALERT_WARNING;
    ev.raised = 1;
    ev.first_seen_ms = 1782010800123LL;
    ev.last_seen_ms = 1782010860000LL;
    ev.value = 196.4;
    return ev;
}

/* The documented payload (docs/ALERTS.md, docs/MQTT.md), byte for byte. */
static void test_event_exact(void **state)
{
    (void)state;
    struct alert_event ev = event();
    struct alert_json a;
    char buf[1024];
    assert_int_equal(alert_json_from_event(&ev, &cfg, &a), 0);
    int n = alert_json_write(&a, ALERT_JSON_EVENT, buf, sizeof(buf));
    const char *want =
        "{\"id\":\"hall/voltage_band\",\"device\":\"hall\",\"program\":\"ami\",\"site\":\"flat-1\","
        "\"rule\":\"voltage_band\",\"severity\":\"warning\",\"cause\":\"voltage 196.40 V below "
        "207.00 V\",\"value\":196.4,\"first_seen\":\"2026-06-21T03:00:00.123Z\","
        "\"first_seen_ms\":1782010800123,\"last_seen\":\"2026-06-21T03:01:00.000Z\","
        "\"last_seen_ms\":1782010860000,\"state\":\"active\"}";
    assert_string_equal(buf, want);
    assert_int_equal(n, (int)strlen(want));
    /* alert_event_json is the same function */
    char again[1024];
    assert_int_equal(alert_event_json(&ev, &cfg, again, sizeof(again)), n);
    assert_string_equal(again, buf);
    /* a clear keeps the raise's value and adds the one that cleared it */
    ev.raised = 0;
    ev.clear_value = 209.1;
    assert_true(alert_event_json(&ev, &cfg, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"value\":196.4,"));
    assert_non_null(strstr(buf, "\"state\":\"cleared\",\"clear_value\":209.1}"));
    /* a clear no reading decided; a value that is not a number */
    ev.clear_value = NAN;
    ev.value = NAN;
    assert_true(alert_event_json(&ev, &cfg, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"value\":null,"));
    assert_non_null(strstr(buf, "\"state\":\"cleared\"}"));
    /* too small, unknown device */
    assert_int_equal(alert_json_write(&a, ALERT_JSON_EVENT, buf, 40), -1);
    assert_int_equal(alert_json_write(&a, ALERT_JSON_EVENT, buf, 0), -1);
    ev.device = 1;
    assert_int_equal(alert_json_from_event(&ev, &cfg, &a), -1);
    assert_int_equal(alert_event_json(&ev, &cfg, buf, sizeof(buf)), -1);
}

static struct alert_row row(void)
{
    struct alert_row r;
    memset(&r, 0, sizeof(r));
    r.id = 7;
    snprintf(r.key, sizeof(r.key), "hall/voltage_band");
    snprintf(r.device, sizeof(r.device), "hall");
    snprintf(r.program, sizeof(r.program), "ami");
    snprintf(r.site, sizeof(r.site), "flat-1");
    snprintf(r.rule, sizeof(r.rule), "voltage_band");
    snprintf(r.cause, sizeof(r.cause), "voltage \"low\"");
    snprintf(r.severity, sizeof(r.severity), "warning");
    r.first_seen_ms = 1782010800123LL;
    r.raised_ms = 1782010860000LL;
    return r;
}

static void test_record(void **state)
{
    (void)state;
    struct alert_row r = row();
    struct alert_json a;
    char buf[1024];
    alert_json_from_row(&r, &a);
    assert_true(alert_json_write(&a, ALERT_JSON_RECORD, buf, sizeof(buf)) > 0);
    assert_string_equal(
        buf, "{\"id\":7,\"key\":\"hall/voltage_band\",\"device\":\"hall\",\"program\":\"ami\","
             "\"site\":\"flat-1\",\"rule\":\"voltage_band\",\"severity\":\"warning\","
             "\"cause\":\"voltage \\\"low\\\"\",\"first_seen_ms\":1782010800123,"
             "\"raised\":\"2026-06-21T03:01:00.000Z\",\"raised_ms\":1782010860000,"
             "\"state\":\"active\"}");
    /* value, clear and acknowledgement when the row has them */
    r.has_value = 1;
    r.value = 196.4;
    r.cleared_ms = 1782010920000LL;
    snprintf(r.acked_by, sizeof(r.acked_by), "kim");
    r.acked_ms = 1782010900000LL;
    alert_json_from_row(&r, &a);
    cJSON *o = alert_json_object(&a, ALERT_JSON_RECORD);
    assert_non_null(o);
    assert_true(cJSON_GetObjectItem(o, "id")->valuedouble == 7.0);
    assert_string_equal(cJSON_GetObjectItem(o, "key")->valuestring, "hall/voltage_band");
    assert_string_equal(cJSON_GetObjectItem(o, "cause")->valuestring, "voltage \"low\"");
    assert_true(fabs(cJSON_GetObjectItem(o, "value")->valuedouble - 196.4) < 1e-9);
    assert_string_equal(cJSON_GetObjectItem(o, "state")->valuestring, "cleared");
    assert_true(cJSON_GetObjectItem(o, "cleared_ms")->valuedouble == 1782010920000.0);
    assert_string_equal(cJSON_GetObjectItem(o, "acked_by")->valuestring, "kim");
    assert_true(cJSON_GetObjectItem(o, "acked_ms")->valuedouble == 1782010900000.0);
    assert_null(cJSON_GetObjectItem(o, "clear_value"));
    assert_null(cJSON_GetObjectItem(o, "clear_cause"));
    cJSON_Delete(o);
    /* the value that cleared it, and why when no rule did */
    r.has_clear_value = 1;
    r.clear_value = 209.1;
    snprintf(r.clear_cause, sizeof(r.clear_cause), "device removed from configuration");
    alert_json_from_row(&r, &a);
    assert_true(alert_json_write(&a, ALERT_JSON_RECORD, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"value\":196.4,"));
    assert_non_null(strstr(buf, "\"cleared_ms\":1782010920000,\"clear_value\":209.1,"
                                "\"clear_cause\":\"device removed from configuration\","
                                "\"acked_by\":\"kim\""));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_exact),
        cmocka_unit_test(test_record),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
