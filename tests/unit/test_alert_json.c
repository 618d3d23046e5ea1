/* test_alert_json.c -- the one alert JSON: exactly as docs/ALERTS.md shows it, the same
 * document from an engine event (MQTT, hook, live frame) and a history row (REST, CLI). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "support/doc_json.h"

#include "alert_json.h"
#include "alert_store.h"
#include "alerts.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cfg_program programs[1];
static struct cfg_site sites[1];
static struct cfg_device devices[1];
static struct enmon_config cfg;

static int setup(void **state)
{
    (void)state;
    strcpy(programs[0].id, "ami");
    strcpy(programs[0].name, "AMI pilot");
    strcpy(sites[0].id, "flat-1");
    strcpy(sites[0].name, "Flat 1");
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

/* The documented payload (docs/ALERTS.md), byte for byte: a raise not stored
 * yet (row null), not cleared, not acknowledged; the device has no name (null). */
static void test_event_exact(void **state)
{
    (void)state;
    struct alert_event ev = event();
    struct alert_json a;
    char buf[2048];
    assert_int_equal(alert_json_from_event(&ev, &cfg, &a), 0);
    int n = alert_json_write(&a, buf, sizeof(buf));
    const char *want =
        "{\"id\":\"hall/voltage_band\",\"row\":null,\"device\":\"hall\",\"device_name\":null,"
        "\"program\":\"ami\",\"program_name\":\"AMI pilot\",\"site\":\"flat-1\","
        "\"site_name\":\"Flat 1\",\"rule\":\"voltage_band\",\"severity\":\"warning\","
        "\"cause\":\"voltage 196.40 V below 207.00 V\",\"value\":196.4,\"state\":\"active\","
        "\"first_seen\":\"2026-06-21T03:00:00.123Z\",\"first_seen_ms\":1782010800123,"
        "\"raised\":\"2026-06-21T03:01:00.000Z\",\"raised_ms\":1782010860000,"
        "\"last_seen\":\"2026-06-21T03:01:00.000Z\",\"last_seen_ms\":1782010860000,"
        "\"cleared\":null,\"cleared_ms\":null,\"clear_value\":null,\"clear_cause\":null,"
        "\"acked_by\":null,\"acked\":null,\"acked_ms\":null}";
    assert_string_equal(buf, want);
    assert_int_equal(n, (int)strlen(want));
    if (doc_has_json("ALERTS.md", buf) != 1)
        fail_msg("docs/ALERTS.md does not show the produced alert:\n%s", buf);
    /* alert_event_json is the same function */
    char again[2048];
    assert_int_equal(alert_event_json(&ev, &cfg, again, sizeof(again)), n);
    assert_string_equal(again, buf);
    /* a clear (at 03:02:00) keeps the raise's value and time and adds the one that cleared it */
    ev.raised = 0;
    ev.raised_ms = 1782010860000LL;
    ev.last_seen_ms = 1782010920000LL;
    ev.clear_value = 209.1;
    assert_true(alert_event_json(&ev, &cfg, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"value\":196.4,\"state\":\"cleared\","));
    assert_non_null(strstr(buf, "\"raised_ms\":1782010860000,\"last_seen\":\"2026-06-21T03:02:00"
                                ".000Z\",\"last_seen_ms\":1782010920000,\"cleared\":\"2026-06-21T"
                                "03:02:00.000Z\",\"cleared_ms\":1782010920000,\"clear_value\":"
                                "209.1,\"clear_cause\":null,"));
    /* a clear no reading decided; a value that is not a number; a raise time not known */
    ev.clear_value = NAN;
    ev.value = NAN;
    ev.raised_ms = 0;
    assert_true(alert_event_json(&ev, &cfg, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"value\":null,"));
    assert_non_null(strstr(buf, "\"raised\":null,\"raised_ms\":null,"));
    assert_non_null(strstr(buf, "\"clear_value\":null,"));
    /* too small, unknown device */
    assert_int_equal(alert_json_write(&a, buf, 40), -1);
    assert_int_equal(alert_json_write(&a, buf, 0), -1);
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
    snprintf(r.cause, sizeof(r.cause), "voltage 196.40 V below 207.00 V");
    snprintf(r.severity, sizeof(r.severity), "warning");
    r.has_value = 1;
    r.value = 196.4;
    r.first_seen_ms = 1782010800123LL;
    r.raised_ms = 1782010860000LL;
    return r;
}

/* The history row of the same alert is the same document, but for its row number; with the
 * acknowledgement and the clear it shows them under the same keys. */
static void test_row_same_shape(void **state)
{
    (void)state;
    struct alert_event ev = event();
    struct alert_row r = row();
    struct alert_json a;
    char from_event[2048], from_row[2048];
    assert_int_equal(alert_json_from_event(&ev, &cfg, &a), 0);
    a.row_id = 7;
    assert_true(alert_json_write(&a, from_event, sizeof(from_event)) > 0);
    alert_json_from_row(&r, &cfg, &a);
    assert_true(alert_json_write(&a, from_row, sizeof(from_row)) > 0);
    assert_string_equal(from_row, from_event);
    assert_non_null(strstr(from_row, "{\"id\":\"hall/voltage_band\",\"row\":7,"));
    /* acknowledged at 03:01:40 by kim */
    snprintf(r.acked_by, sizeof(r.acked_by), "kim");
    r.acked_ms = 1782010900000LL;
    alert_json_from_row(&r, &cfg, &a);
    assert_true(alert_json_write(&a, from_row, sizeof(from_row)) > 0);
    assert_non_null(strstr(from_row, ",\"acked_by\":\"kim\",\"acked\":\"2026-06-21T03:01:40.000Z\","
                                     "\"acked_ms\":1782010900000}"));
    if (doc_has_json("ALERTS.md", from_row) != 1)
        fail_msg("docs/ALERTS.md does not show the acknowledged alert:\n%s", from_row);
    /* an event carrying the acknowledgement (the republished MQTT message) is the same */
    assert_int_equal(alert_json_from_event(&ev, &cfg, &a), 0);
    a.row_id = 7;
    a.acked_by = "kim";
    a.acked_ms = 1782010900000LL;
    assert_true(alert_json_write(&a, from_event, sizeof(from_event)) > 0);
    assert_string_equal(from_event, from_row);
    /* without a configuration (enmon --db alone) the names are null */
    alert_json_from_row(&r, NULL, &a);
    cJSON *o = alert_json_object(&a);
    assert_non_null(o);
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "program_name")));
    assert_true(cJSON_IsNull(cJSON_GetObjectItem(o, "site_name")));
    assert_true(cJSON_GetObjectItem(o, "row")->valuedouble == 7.0);
    assert_string_equal(cJSON_GetObjectItem(o, "acked_by")->valuestring, "kim");
    cJSON_Delete(o);
}

static void test_row_cleared(void **state)
{
    (void)state;
    struct alert_row r = row();
    struct alert_json a;
    char buf[2048];
    snprintf(r.cause, sizeof(r.cause), "voltage \"low\"");
    r.cleared_ms = 1782010920000LL;
    r.has_clear_value = 1;
    r.clear_value = 209.1;
    snprintf(r.clear_cause, sizeof(r.clear_cause), "device removed from configuration");
    alert_json_from_row(&r, &cfg, &a);
    assert_true(alert_json_write(&a, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"cause\":\"voltage \\\"low\\\"\",\"value\":196.4,"
                                "\"state\":\"cleared\","));
    assert_non_null(strstr(buf, "\"cleared_ms\":1782010920000,\"clear_value\":209.1,"
                                "\"clear_cause\":\"device removed from configuration\","
                                "\"acked_by\":null,\"acked\":null,\"acked_ms\":null}"));
    /* every key in every document: 8 naming it, 5 what, 8 times, 2 clear, 3 ack = 26 */
    cJSON *o = alert_json_object(&a);
    assert_non_null(o);
    assert_int_equal(cJSON_GetArraySize(o), 26);
    cJSON_Delete(o);
    /* a value the row does not have */
    r.has_value = 0;
    alert_json_from_row(&r, &cfg, &a);
    assert_true(alert_json_write(&a, buf, sizeof(buf)) > 0);
    assert_non_null(strstr(buf, "\"value\":null,"));
}

/* The longest active alert (every id, name and text at its longest, acknowledged) fits the
 * MQTT sink's message (SINK_MSG_MAX 2048 in mqtt_sink.c) and enmond's buffer (4096). */
static void test_longest_fits(void **state)
{
    (void)state;
    static struct cfg_program p[1];
    static struct cfg_site s[1];
    static struct cfg_device d[1];
    struct enmon_config c = {.programs = p, .nprograms = 1, .sites = s, .nsites = 1,
                             .devices = d, .ndevices = 1};
    memset(p[0].id, 'p', CFG_ID_MAX - 1);
    memset(p[0].name, 'P', CFG_NAME_MAX - 1);
    memset(s[0].id, 's', CFG_ID_MAX - 1);
    memset(s[0].name, 'S', CFG_NAME_MAX - 1);
    memset(d[0].id, 'd', CFG_ID_MAX - 1);
    memset(d[0].name, 'D', CFG_NAME_MAX - 1);
    struct alert_event ev = event();
    memset(ev.id, 'k', sizeof(ev.id) - 1);
    memset(ev.rule, 'r', sizeof(ev.rule) - 1);
    memset(ev.cause, 'c', sizeof(ev.cause) - 1);
    ev.value = -1.23456789012345e-300;
    struct alert_json a;
    char acked_by[64], buf[4096];
    memset(acked_by, 'a', sizeof(acked_by) - 1);
    acked_by[63] = '\0';
    assert_int_equal(alert_json_from_event(&ev, &c, &a), 0);
    a.row_id = INT64_MAX;
    a.acked_by = acked_by;
    a.acked_ms = 1782010900000LL;
    int n = alert_json_write(&a, buf, sizeof(buf));
    assert_true(n > 1300);
    assert_true(n < 2048);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_event_exact),
        cmocka_unit_test(test_row_same_shape),
        cmocka_unit_test(test_row_cleared),
        cmocka_unit_test(test_longest_fits),
    };
    return cmocka_run_group_tests(tests, setup, NULL);
}
