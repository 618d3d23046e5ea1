/* test_mqtt_examples.c -- docs/MQTT.md's state and alert messages, produced from registers. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "support/doc_json.h"

#include "alert_json.h"
#include "alerts.h"
#include "err.h"
#include "payload.h"
#include "sunspec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static struct cfg_program programs[3];
static struct cfg_site sites[3];
static struct cfg_device devices[3];
static struct enmon_config cfg;

static int setup(void **state)
{
    (void)state;
    memset(&cfg, 0, sizeof(cfg));
    strcpy(cfg.mqtt.topic_root, "enmon");
    const char *ids[3][3] = {{"solar-homes", "home-01", "home-01-pv"},
                             {"ami-households", "apt-0101", "apt-0101-meter"},
                             {"solar", "roof", "inv"}};
    for (int i = 0; i < 3; i++) {
        strcpy(programs[i].id, ids[i][0]);
        strcpy(sites[i].id, ids[i][1]);
        sites[i].program = (uint32_t)i;
        strcpy(devices[i].id, ids[i][2]);
        devices[i].site = devices[i].program = (uint32_t)i;
        devices[i].kind = i == 1 ? DEVICE_METER : DEVICE_INVERTER;
    }
    cfg.programs = programs;
    cfg.nprograms = 3;
    cfg.sites = sites;
    cfg.nsites = 3;
    cfg.devices = devices;
    cfg.ndevices = 3;
    return 0;
}

/* Sets point name of def in block (words from the ID register on). */
static void put(uint16_t *block, uint16_t model, const char *name, uint32_t raw)
{
    const struct sunspec_model_def *def = sunspec_model_find(model);
    int i = sunspec_point_index(def, name);
    assert_true(i >= 0);
    const struct sunspec_point_def *p = &def->points[i];
    if (p->size == 2)
        block[p->offset] = (uint16_t)(raw >> 16);
    block[p->offset + p->size - 1] = (uint16_t)raw;
}

/* Every point of the model's fixed block at its not-implemented value. */
static void not_implemented(uint16_t *block, uint16_t model)
{
    const struct sunspec_model_def *def = sunspec_model_find(model);
    for (int i = 2; i < def->npoints; i++) {
        const struct sunspec_point_def *p = &def->points[i];
        int u = p->type == SS_UINT16 || p->type == SS_ENUM16 || p->type == SS_BITFIELD32 ||
                p->type == SS_UINT32;
        for (int k = 0; k < p->size; k++)
            block[p->offset + k] = p->type == SS_ACC32 ? 0 : u ? 0xFFFF : k ? 0 : 0x8000;
    }
}

static void produce(const struct reading *r, char *buf, size_t len)
{
    assert_true(payload_state_json(&cfg, r, buf, len) > 0);
    if (doc_has_json("MQTT.md", buf) != 1)
        fail_msg("docs/MQTT.md does not show the produced message:\n%s", buf);
}

/* An inverter with models 1, 103, 160: the first example. */
static void test_inverter_example(void **state)
{
    (void)state;
    struct sunspec_chain chain = {.base = 40000,
                                  .nmodels = 3,
                                  .models = {{1, 66, 40002}, {103, 50, 40070}, {160, 48, 40122}}};
    struct sunspec_plan plan;
    assert_int_equal(sunspec_plan_build(&chain, &plan), ENMON_OK);
    uint16_t inv[52] = {103, 50};
    not_implemented(inv, 103);
    put(inv, 103, "W", 1234);
    put(inv, 103, "W_SF", 0);
    put(inv, 103, "WH", 567890);
    put(inv, 103, "WH_SF", 0);
    put(inv, 103, "PhVphA", 2295); /* 229.5 V */
    put(inv, 103, "V_SF", (uint16_t)-1);
    put(inv, 103, "A", 537); /* 5.37 A */
    put(inv, 103, "A_SF", (uint16_t)-2);
    put(inv, 103, "Hz", 6001);
    put(inv, 103, "Hz_SF", (uint16_t)-2);
    put(inv, 103, "PF", 99); /* units "Pct": 99 % -> 0.99 */
    put(inv, 103, "PF_SF", 0);
    put(inv, 103, "TmpCab", 415);
    put(inv, 103, "Tmp_SF", (uint16_t)-1);
    put(inv, 103, "St", 4);
    put(inv, 103, "Evt1", 0);
    struct reading r = {.device = 0, .wall_ms = 1795742625123LL, .online = 1};
    sunspec_plan_decode(&plan, inv, 52, &r);
    /* model 160: 2 modules; ID, L, DCA_SF, DCV_SF, DCW_SF, DCWH_SF, Evt (2), N, TmsPer,
     * then 20 registers per module: ID, IDStr (8), DCA, DCV, DCW, DCWH (2), ... */
    uint16_t dc[50] = {160, 48, (uint16_t)-2, (uint16_t)-1, 0, 0, 0, 0, 2, 0};
    uint16_t m1[] = {1, 0, 0, 0, 0, 0, 0, 0, 0, 176, 3805, 670};  /* 1.76 A, 380.5 V, 670 W */
    uint16_t m2[] = {2, 0, 0, 0, 0, 0, 0, 0, 0, 163, 3802, 620};  /* 1.63 A, 380.2 V, 620 W */
    memcpy(dc + 10, m1, sizeof(m1));
    memcpy(dc + 30, m2, sizeof(m2));
    sunspec_mppt_decode(dc, 50, &r);
    /* dc_power_w = 670 + 620 = 1290 W; AC 1234 W / DC 1290 W: 95.7 % efficiency */
    assert_true(r.value[MEAS_DC_POWER_W] == 1290.0);
    assert_int_equal(r.quality, READING_OK);
    char buf[PAYLOAD_STATE_MAX];
    produce(&r, buf, sizeof(buf));
}

/* A model 201 meter that does not implement PF: quality stays ok. */
static void test_meter_without_pf_example(void **state)
{
    (void)state;
    struct sunspec_chain chain = {
        .base = 40000, .nmodels = 2, .models = {{1, 66, 40002}, {201, 105, 40070}}};
    struct sunspec_plan plan;
    assert_int_equal(sunspec_plan_build(&chain, &plan), ENMON_OK);
    uint16_t met[107] = {201, 105};
    not_implemented(met, 201);
    put(met, 201, "W", (uint16_t)-850); /* exporting 850 W */
    put(met, 201, "W_SF", 0);
    put(met, 201, "TotWhImp", 24512); /* x 10^2 = 2451200 Wh */
    put(met, 201, "TotWhExp", 3107);
    put(met, 201, "TotWh_SF", 2);
    put(met, 201, "PhV", 2213);
    put(met, 201, "V_SF", (uint16_t)-1);
    put(met, 201, "A", 39);
    put(met, 201, "A_SF", (uint16_t)-1);
    put(met, 201, "Hz", 60);
    put(met, 201, "Hz_SF", 0);
    put(met, 201, "Evt", 0);
    struct reading r = {.device = 1, .wall_ms = 1795742625400LL, .online = 1};
    sunspec_plan_decode(&plan, met, 107, &r);
    assert_false(reading_has(&r, MEAS_POWER_FACTOR));
    assert_int_equal(r.quality, READING_OK); /* not implemented is not invalid */
    char buf[PAYLOAD_STATE_MAX];
    produce(&r, buf, sizeof(buf));
    /* the same meter with PF implemented but its scale factor invalid: partial */
    put(met, 201, "PF", 96);
    put(met, 201, "PF_SF", 0x8000);
    sunspec_plan_decode(&plan, met, 107, &r);
    assert_false(reading_has(&r, MEAS_POWER_FACTOR));
    assert_int_equal(r.quality, READING_PARTIAL);
}

/* The alert example: an inverter whose SunSpec St reads FAULT (7). */
static void test_alert_example(void **state)
{
    (void)state;
    struct alert_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.device = 2;
    snprintf(ev.id, sizeof(ev.id), "inv/inverter_fault");
    snprintf(ev.rule, sizeof(ev.rule), "inverter_fault");
    snprintf(ev.cause, sizeof(ev.cause), "operating state FAULT (7)"); /* alert_rules.c */
    ev.severity = ALERT_CRITICAL;
    ev.raised = 1;
    ev.first_seen_ms = ev.last_seen_ms = 1795748462120LL;
    ev.value = 7;
    char buf[2048];
    assert_true(alert_event_json(&ev, &cfg, buf, sizeof(buf)) > 0);
    if (doc_has_json("MQTT.md", buf) != 1)
        fail_msg("docs/MQTT.md does not show the produced alert:\n%s", buf);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup(test_inverter_example, setup),
        cmocka_unit_test_setup(test_meter_without_pf_example, setup),
        cmocka_unit_test_setup(test_alert_example, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
