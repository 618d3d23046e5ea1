/* test_metrics.c -- Prometheus text format: families with HELP and TYPE, escaped labels,
 * no series for values a device did not deliver. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "metrics.h"
#include "sink_adapters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cfg_program programs[1];
static struct cfg_site sites[1];
static struct cfg_device devices[2];
static struct enmon_config cfg;
static struct live_dev devs[2];

static int setup(void **state)
{
    memset(devices, 0, sizeof(devices));
    memset(devs, 0, sizeof(devs));
    strcpy(programs[0].id, "solar");
    strcpy(sites[0].id, "ro\"of");
    strcpy(devices[0].id, "pv\\1");
    devices[0].kind = DEVICE_INVERTER;
    strcpy(devices[1].id, "m\n2");
    devices[1].kind = DEVICE_METER;
    cfg.programs = programs;
    cfg.nprograms = 1;
    cfg.sites = sites;
    cfg.nsites = 1;
    cfg.devices = devices;
    cfg.ndevices = 2;
    devs[0].online = devs[0].has_last = 1;
    reading_set(&devs[0].last, MEAS_POWER_W, 1500.5);
    reading_set(&devs[0].last, MEAS_ENERGY_EXPORT_WH, 123456789);
    return 0;
}

static char *render(const struct metrics_input *in)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(metrics_write(f, in), 0);
    fclose(f);
    return buf;
}

static void test_escape(void **state)
{
    char buf[32];
    assert_int_equal(metrics_escape("a\"b\\c\nd", buf, sizeof(buf)), 10);
    assert_string_equal(buf, "a\\\"b\\\\c\\nd");
    assert_int_equal(metrics_escape("abcdef", buf, 6), -1);
    assert_int_equal(metrics_escape("abcde", buf, 6), 5);
}

static void test_devices(void **state)
{
    struct metrics_input in = {.cfg = &cfg, .devs = devs};
    char *text = render(&in);
    assert_non_null(strstr(text, "# HELP enmon_device_power_watts "));
    assert_non_null(strstr(text, "# TYPE enmon_device_power_watts gauge\n"));
    assert_non_null(strstr(text, "# TYPE enmon_device_energy_export_wh_total counter\n"));
    assert_non_null(strstr(text, "enmon_device_power_watts{device=\"pv\\\\1\",program=\"solar\","
                                 "site=\"ro\\\"of\",kind=\"inverter\"} 1500.5\n"));
    assert_non_null(strstr(text, "enmon_device_energy_export_wh_total{device=\"pv\\\\1\","
                                 "program=\"solar\",site=\"ro\\\"of\",kind=\"inverter\"} "
                                 "123456789\n"));
    assert_non_null(strstr(text, "enmon_device_up{device=\"m\\n2\",program=\"solar\",site="
                                 "\"ro\\\"of\",kind=\"meter\"} 0\n"));
    /* the meter delivered nothing: no power series for it, never a 0 */
    assert_null(strstr(text, "enmon_device_power_watts{device=\"m\\n2\""));
    assert_null(strstr(text, "enmon_polls_total")); /* no poller stats given */
    /* TYPE comes before the first sample of its family */
    assert_true(strstr(text, "# TYPE enmon_device_up") < strstr(text, "enmon_device_up{"));
    free(text);
}

static void test_stats(void **state)
{
    struct poller_stats ps = {.polls = 10, .failures = 2, .online = 1, .lateness_p99_ms = 20};
    struct store_stats ss = {.written = 8, .dropped = 1, .depth = 3};
    struct mqtt_sink_stats ms = {.published = 9, .dropped = 4, .connected = 1, .depth = 5};
    struct alerts_stats as = {.active = 2, .dropped = 0};
    struct sink_stats sinks[4] = {{.name = "store"}, {.name = "mqtt"}, {.name = "alerts"},
                                  {.name = "live"}}; /* live: a sink without statistics */
    sink_adapter_store_stats(&ss, &sinks[0]);
    sink_adapter_mqtt_stats(&ms, &sinks[1]);
    sink_adapter_alerts_stats(&as, &sinks[2]);
    struct metrics_input in = {&cfg, devs, &ps, sinks, 4};
    char *text = render(&in);
    assert_non_null(strstr(text, "# TYPE enmon_polls_total counter\nenmon_polls_total 10\n"));
    assert_non_null(strstr(text, "enmon_poll_failures_total 2\n"));
    assert_non_null(strstr(text, "enmon_poll_lateness_p99_seconds 0.02"));
    assert_non_null(strstr(text, "enmon_queue_depth{sink=\"store\"} 3\n"));
    assert_non_null(strstr(text, "enmon_queue_depth{sink=\"mqtt\"} 5\n"));
    assert_non_null(strstr(text, "enmon_readings_dropped_total{sink=\"mqtt\"} 4\n"));
    assert_non_null(strstr(text, "enmon_readings_dropped_total{sink=\"alerts\"} 0\n"));
    assert_non_null(strstr(text, "# TYPE enmon_alerts_active gauge\nenmon_alerts_active 2\n"));
    assert_non_null(strstr(text, "enmon_readings_written_total 8\n"));
    assert_non_null(strstr(text, "# TYPE enmon_mqtt_connected gauge\nenmon_mqtt_connected 1\n"));
    /* one family header each; samples in registry order; sinks without figures left out */
    assert_non_null(strstr(text, "enmon_readings_dropped_total{sink=\"store\"} 1\n"
                                 "enmon_readings_dropped_total{sink=\"mqtt\"} 4\n"
                                 "enmon_readings_dropped_total{sink=\"alerts\"} 0\n# HELP"));
    assert_null(strstr(text, "enmon_queue_depth{sink=\"alerts\"}"));
    assert_null(strstr(text, "sink=\"live\""));
    assert_true(strstr(text, "enmon_store_errors_total") < strstr(text, "enmon_mqtt_published"));
    assert_true(strstr(text, "enmon_mqtt_connected") < strstr(text, "enmon_alerts_active"));
    /* every line is a comment or "name[{labels}] value" and the text ends with a newline */
    assert_int_equal(text[strlen(text) - 1], '\n');
    for (char *line = strtok(text, "\n"); line; line = strtok(NULL, "\n"))
        assert_true(line[0] == '#' || strchr(line, ' ') != NULL);
    free(text);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test_setup(test_devices, setup),
        cmocka_unit_test_setup(test_stats, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
