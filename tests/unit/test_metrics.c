/* test_metrics.c -- Prometheus text format: families with HELP and TYPE, escaped labels,
 * no series for values a device did not deliver; per-program aggregates; gzip replies. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "http_gzip.h"
#include "metrics.h"
#include "sink_adapters.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zlib.h>

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
    assert_non_null(strstr(text, "# TYPE enmon_device_energy_export_joules_total counter\n"));
    assert_non_null(strstr(text, "enmon_device_power_watts{device=\"pv\\\\1\",program=\"solar\","
                                 "site=\"ro\\\"of\",kind=\"inverter\"} 1500.5\n"));
    /* 123456789 Wh x 3600 J/Wh = 444444440400 J */
    assert_non_null(strstr(text, "enmon_device_energy_export_joules_total{device=\"pv\\\\1\","
                                 "program=\"solar\",site=\"ro\\\"of\",kind=\"inverter\"} "
                                 "444444440400\n"));
    assert_non_null(strstr(text, "enmon_device_up{device=\"m\\n2\",program=\"solar\",site="
                                 "\"ro\\\"of\",kind=\"meter\"} 0\n"));
    /* the meter delivered nothing: no power series for it, never a 0 */
    assert_null(strstr(text, "enmon_device_power_watts{device=\"m\\n2\""));
    assert_null(strstr(text, "enmon_polls_total")); /* no poller stats given */
    assert_non_null(strstr(text, "# TYPE enmon_build_info gauge\nenmon_build_info{version=\""));
    /* never seen: no last-seen series */
    assert_null(strstr(text, "enmon_device_last_seen_timestamp_seconds{"));
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
    struct metrics_input in = {&cfg, devs, &ps, sinks, 4, 0};
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

/* Two programs, four devices: per (program, kind) counts and sums, no device series. */
static void test_per_program(void **state)
{
    struct cfg_program progs[2];
    struct cfg_device dv[4];
    struct live_dev ld[4];
    struct enmon_config c = cfg;
    memset(progs, 0, sizeof(progs));
    memset(dv, 0, sizeof(dv));
    memset(ld, 0, sizeof(ld));
    strcpy(progs[0].id, "so\"lar");
    strcpy(progs[1].id, "ess");
    const char *ids[4] = {"a", "b", "c", "d"};
    for (int i = 0; i < 4; i++)
        strcpy(dv[i].id, ids[i]);
    dv[2].kind = DEVICE_METER;
    dv[3].program = 1;
    /* a: inverter online, 1500.5 W, export 1000 Wh */
    ld[0].polled = ld[0].online = ld[0].has_last = 1;
    reading_set(&ld[0].last, MEAS_POWER_W, 1500.5);
    reading_set(&ld[0].last, MEAS_ENERGY_EXPORT_WH, 1000);
    /* b: inverter offline now, its last good reading 499.5 W, export 2000 Wh */
    ld[1].polled = ld[1].has_last = 1;
    reading_set(&ld[1].last, MEAS_POWER_W, 499.5);
    reading_set(&ld[1].last, MEAS_ENERGY_EXPORT_WH, 2000);
    /* c: meter online, 300 W, import 5000 Wh */
    ld[2].polled = ld[2].online = ld[2].has_last = 1;
    reading_set(&ld[2].last, MEAS_POWER_W, 300);
    reading_set(&ld[2].last, MEAS_ENERGY_IMPORT_WH, 5000);
    /* polls since start: a 120 (3 failed), b 100 (40 failed), c 7 (none failed) */
    ld[0].polls = 120;
    ld[0].failures = 3;
    ld[1].polls = 100;
    ld[1].failures = 40;
    ld[2].polls = 7;
    /* d (ess): never polled */
    c.programs = progs;
    c.nprograms = 2;
    c.devices = dv;
    c.ndevices = 4;
    struct metrics_input in = {.cfg = &c, .devs = ld, .per_program = 1};
    char *text = render(&in);
    assert_null(strstr(text, "\nenmon_device_")); /* no device series (HELP names them) */
    assert_null(strstr(text, "device=\""));
    assert_non_null(strstr(text, "# TYPE enmon_program_power_watts gauge\n"));
    assert_non_null(strstr(text, "# TYPE enmon_program_energy_export_joules_total counter\n"));
#define SOLAR_INV "{program=\"so\\\"lar\",kind=\"inverter\"} "
#define SOLAR_MET "{program=\"so\\\"lar\",kind=\"meter\"} "
#define ESS_INV "{program=\"ess\",kind=\"inverter\"} "
    /* solar inverters: a and b; a up; b failing; only a (online) reports power */
    assert_non_null(strstr(text, "enmon_program_devices" SOLAR_INV "2\n"));
    assert_non_null(strstr(text, "enmon_program_devices_up" SOLAR_INV "1\n"));
    assert_non_null(strstr(text, "enmon_program_devices_failing" SOLAR_INV "1\n"));
    assert_non_null(strstr(text, "enmon_program_devices_reporting" SOLAR_INV "1\n"));
    /* 1500.5 W (b's stale 499.5 W left out); (1000 + 2000) Wh x 3600 = 10800000 J exported;
     * no import counter at all */
    assert_non_null(strstr(text, "enmon_program_power_watts" SOLAR_INV "1500.5\n"));
    assert_non_null(
        strstr(text, "enmon_program_energy_export_joules_total" SOLAR_INV "10800000\n"));
    assert_null(strstr(text, "enmon_program_energy_import_joules_total" SOLAR_INV));
    /* solar meter c: 300 W, 5000 Wh x 3600 = 18000000 J imported */
    assert_non_null(strstr(text, "enmon_program_devices" SOLAR_MET "1\n"));
    assert_non_null(strstr(text, "enmon_program_power_watts" SOLAR_MET "300\n"));
    assert_non_null(
        strstr(text, "enmon_program_energy_import_joules_total" SOLAR_MET "18000000\n"));
    /* ess: one inverter never polled: counted, neither up nor failing, no power sum (not 0) */
    assert_non_null(strstr(text, "enmon_program_devices" ESS_INV "1\n"));
    assert_non_null(strstr(text, "enmon_program_devices_up" ESS_INV "0\n"));
    assert_non_null(strstr(text, "enmon_program_devices_failing" ESS_INV "0\n"));
    assert_non_null(strstr(text, "enmon_program_devices_reporting" ESS_INV "0\n"));
    assert_null(strstr(text, "enmon_program_power_watts" ESS_INV));
    /* polls: solar inverters 120 + 100 = 220, 3 + 40 = 43 failed; the meter 7, 0 failed;
     * ess's inverter was never polled: 0 and 0 (a counter from the start) */
    assert_non_null(strstr(text, "# TYPE enmon_program_polls_total counter\n"));
    assert_non_null(strstr(text, "# TYPE enmon_program_poll_failures_total counter\n"));
    assert_non_null(strstr(text, "enmon_program_polls_total" SOLAR_INV "220\n"));
    assert_non_null(strstr(text, "enmon_program_poll_failures_total" SOLAR_INV "43\n"));
    assert_non_null(strstr(text, "enmon_program_polls_total" SOLAR_MET "7\n"));
    assert_non_null(strstr(text, "enmon_program_poll_failures_total" SOLAR_MET "0\n"));
    assert_non_null(strstr(text, "enmon_program_polls_total" ESS_INV "0\n"));
    assert_non_null(strstr(text, "enmon_program_poll_failures_total" ESS_INV "0\n"));
    assert_null(strstr(text, "{program=\"ess\",kind=\"meter\"}")); /* no ess meters */
    free(text);
}

/* An offline device keeps its counters and up 0, but its gauges are gone (not left stale);
 * its last-seen time stays. */
static void test_offline_gauges(void **state)
{
    devs[0].online = 0;
    devs[0].polled = 1;
    devs[0].last_seen_ms = 1781974800123; /* 2026-06-20T17:00:00.123Z */
    reading_set(&devs[0].last, MEAS_LEAKAGE_MA, 12);
    struct metrics_input in = {.cfg = &cfg, .devs = devs};
    char *text = render(&in);
    assert_null(strstr(text, "enmon_device_power_watts{"));
    assert_null(strstr(text, "enmon_device_leakage_milliamperes{"));
    assert_non_null(strstr(text, "enmon_device_up{device=\"pv\\\\1\",program=\"solar\",site="
                                 "\"ro\\\"of\",kind=\"inverter\"} 0\n"));
    assert_non_null(strstr(text, "enmon_device_energy_export_joules_total{device=\"pv\\\\1\""));
    assert_non_null(strstr(text, "enmon_device_last_seen_timestamp_seconds{device=\"pv\\\\1\","
                                 "program=\"solar\",site=\"ro\\\"of\",kind=\"inverter\"} "
                                 "1781974800.123\n"));
    devs[0].online = 1; /* back online: both gauges again */
    free(text);
    text = render(&in);
    assert_non_null(strstr(text, "enmon_device_power_watts{device=\"pv\\\\1\""));
    assert_non_null(strstr(text, "enmon_device_leakage_milliamperes{device=\"pv\\\\1\""));
    free(text);
}

/* Large texts render in one buffer: 3,000 devices, every series present and the buffer
 * started from a size hint is only grown, never shrunk. */
static void test_render_buffer(void **state)
{
    enum { N = 3000 };
    struct cfg_device *dv = calloc(N, sizeof(*dv));
    struct live_dev *ld = calloc(N, sizeof(*ld));
    assert_non_null(dv);
    assert_non_null(ld);
    struct enmon_config c = cfg;
    for (int i = 0; i < N; i++) {
        snprintf(dv[i].id, sizeof(dv[i].id), "dev-%05d", i);
        ld[i].online = ld[i].has_last = 1;
        reading_set(&ld[i].last, MEAS_POWER_W, i - 1000); /* negative ones too */
    }
    c.devices = dv;
    c.ndevices = N;
    struct metrics_input in = {.cfg = &c, .devs = ld};
    struct metrics_buf b = {.cap = 16, .data = malloc(16)};
    assert_int_equal(metrics_render(&b, &in), 0);
    assert_true(b.cap >= b.len);
    char *text = calloc(1, b.len + 1);
    memcpy(text, b.data, b.len);
    assert_non_null(strstr(text, "enmon_device_power_watts{device=\"dev-00000\",program=\"solar\","
                                 "site=\"ro\\\"of\",kind=\"inverter\"} -1000\n"));
    assert_non_null(strstr(text, "{device=\"dev-02999\",program=\"solar\",site=\"ro\\\"of\","
                                 "kind=\"inverter\"} 1999\n"));
    size_t ups = 0;
    for (char *p = text; (p = strstr(p, "enmon_device_up{")) != NULL; p++)
        ups++;
    assert_int_equal(ups, N);
    free(text);
    free(b.data);
    free(dv);
    free(ld);
}

/* The body inflated back (gzip header: windowBits 31) equals the text sent. */
static void test_gzip(void **state)
{
    struct metrics_input in = {.cfg = &cfg, .devs = devs};
    char *text = render(&in);
    size_t len = strlen(text);
    char *z = NULL;
    size_t zlen = 0;
    assert_int_equal(http_gzip(text, len, &z, &zlen), ENMON_OK);
    assert_true(zlen > 18 && zlen < len); /* 10-byte header + 8-byte trailer; it shrinks */
    assert_int_equal((unsigned char)z[0], 0x1f);
    assert_int_equal((unsigned char)z[1], 0x8b);
    char *back = malloc(len + 16);
    z_stream s;
    memset(&s, 0, sizeof(s));
    assert_int_equal(inflateInit2(&s, 31), Z_OK);
    s.next_in = (Bytef *)z;
    s.avail_in = (uInt)zlen;
    s.next_out = (Bytef *)back;
    s.avail_out = (uInt)(len + 16);
    assert_int_equal(inflate(&s, Z_FINISH), Z_STREAM_END);
    assert_int_equal(s.total_out, len);
    assert_memory_equal(back, text, len);
    inflateEnd(&s);
    /* an empty body is a valid gzip member too */
    free(z);
    assert_int_equal(http_gzip("", 0, &z, &zlen), ENMON_OK);
    assert_true(zlen >= 18);
    free(z);
    free(back);
    free(text);
}

static void test_gzip_accepted(void **state)
{
    assert_true(http_gzip_accepted("gzip"));
    assert_true(http_gzip_accepted("gzip, deflate, br"));
    assert_true(http_gzip_accepted("br;q=1.0, GZIP;q=0.5"));
    assert_true(http_gzip_accepted("x-gzip"));
    assert_true(http_gzip_accepted("*"));
    assert_true(http_gzip_accepted("identity, gzip ; q=0.001"));
    assert_false(http_gzip_accepted(NULL));
    assert_false(http_gzip_accepted(""));
    assert_false(http_gzip_accepted("identity"));
    assert_false(http_gzip_accepted("deflate, br"));
    assert_false(http_gzip_accepted("gzipx, xgzip"));
    assert_false(http_gzip_accepted("gzip;q=0"));
    assert_false(http_gzip_accepted("gzip; q=0.000, deflate"));
    assert_false(http_gzip_accepted("*;q=0"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_escape),
        cmocka_unit_test_setup(test_devices, setup),
        cmocka_unit_test_setup(test_stats, setup),
        cmocka_unit_test_setup(test_per_program, setup),
        cmocka_unit_test_setup(test_offline_gauges, setup),
        cmocka_unit_test_setup(test_render_buffer, setup),
        cmocka_unit_test_setup(test_gzip, setup),
        cmocka_unit_test(test_gzip_accepted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
