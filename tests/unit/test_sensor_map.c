/* test_sensor_map.c -- pole sensors: the shipped register map decoded into a reading, and the
 * simulator's pole model (leakage with rain and injected faults) and its map encoding. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* The simulator's sources are not in enmon_core; these are pure (libc, libm, regmap). */
#include "../../simulators/sim_fault.c"
#define clamp sim_map_clamp /* both sim_map.c and sim_physics.c have a static clamp() */
#include "../../simulators/sim_map.c"
#undef clamp
#include "../../simulators/sim_sunspec.c" /* sim_sunspec_exact_sf: the map's scale registers */
#include "../../simulators/sim_physics.c"
#include "../../simulators/sim_pole.c"

#include "err.h"
#include "regmap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define T0 1782000000.0 /* 2026-06-21 00:00 UTC, 09:00 in Daejeon */

static struct regmap *load_pole_map(void)
{
    const char *dir = getenv("ENMON_TEST_DATA");
    char path[512];
    struct regmap *m = NULL;
    struct cfg_error err;
    snprintf(path, sizeof(path), "%s/../../config/maps/pole-leakage-sensor.yaml",
             dir ? dir : "tests/data");
    int rc = regmap_load(path, &m, &err);
    if (rc != ENMON_OK)
        print_error("%s:%d: %s: %s\n", err.file, err.line, err.field, err.msg);
    assert_int_equal(rc, ENMON_OK);
    return m;
}

/* 11 registers as a sensor serves them, decoded by hand. */
static void test_decode_pole_reading(void **state)
{
    (void)state;
    struct regmap *m = load_pole_map();
    uint16_t w[11] = {
        423,                            /* leakage 42.3 mA */
        1234, 1187, 1302,               /* L1-L3 123.4, 118.7, 130.2 A */
        0xFF9C,                         /* -10.0 C (s16 -100) */
        15,                             /* tilt 1.5 deg */
        0x0001,                         /* door open */
        0x504F, 0x4C45, 0x3031, 0x3200, /* "POLE012" */
    };
    struct regmap_block b = {.kind = REGMAP_HOLDING, .start = 0, .count = 11, .words = w};
    struct reading r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(regmap_decode(m, &b, 1, &r), 0);
    assert_true(fabs(r.value[MEAS_LEAKAGE_MA] - 42.3) < 1e-9);
    assert_true(fabs(r.value[MEAS_CURRENT_L1_A] - 123.4) < 1e-9);
    assert_true(fabs(r.value[MEAS_CURRENT_L2_A] - 118.7) < 1e-9);
    assert_true(fabs(r.value[MEAS_CURRENT_L3_A] - 130.2) < 1e-9);
    assert_true(fabs(r.value[MEAS_TEMPERATURE_C] + 10.0) < 1e-9);
    assert_true(fabs(r.value[MEAS_TILT_DEG] - 1.5) < 1e-9);
    assert_true(r.value[MEAS_EVENTS] == 1.0);
    uint32_t want = (1u << MEAS_LEAKAGE_MA) | (1u << MEAS_CURRENT_L1_A) |
                    (1u << MEAS_CURRENT_L2_A) | (1u << MEAS_CURRENT_L3_A) |
                    (1u << MEAS_TEMPERATURE_C) | (1u << MEAS_TILT_DEG) | (1u << MEAS_EVENTS);
    assert_int_equal(r.valid, want);
    /* 0xFFFF leakage and 0x8000 temperature: not available */
    w[0] = 0xFFFF;
    w[4] = 0x8000;
    assert_int_equal(regmap_decode(m, &b, 1, &r), 2);
    assert_false(reading_has(&r, MEAS_LEAKAGE_MA));
    assert_false(reading_has(&r, MEAS_TEMPERATURE_C));
    regmap_free(m);
}

/* A dry pole leaks 1..4 mA (x 1.3 with night dew, x 1.1 noise at most); rain raises it. */
static void test_pole_leakage_dry_and_wet(void **state)
{
    (void)state;
    struct sim_fault f = {0};
    struct sim_pole p;
    int dry = 0, wet = 0;
    double dry_max = 0, wet_max = 0;
    for (int k = 0; k < 50; k++)
        for (double t = T0; t < T0 + 30 * 86400.0; t += 3600.0) {
            sim_pole_values((uint64_t)k * 7919u, 42, 7, t, &f, &p);
            assert_true(p.leak_ma > 0.0);
            if (p.wet == 0.0) {
                dry++;
                dry_max = fmax(dry_max, p.leak_ma);
            } else if (p.wet == 1.0) {
                wet++;
                wet_max = fmax(wet_max, p.leak_ma);
            }
            assert_true(p.tilt_deg >= 0.2 && p.tilt_deg <= 1.5);
            assert_true(p.tmp_c > -30.0 && p.tmp_c < 60.0);
        }
    /* dry: at most 4 mA x 1.3 (dew) x 1.05 (noise) = 5.46 mA */
    assert_true(dry_max <= 4.0 * 1.3 * 1.05 + 1e-9);
    /* some hours of a June month are dry, some in full rain; rain lifts leakage */
    assert_true(dry > 0 && wet > 0);
    assert_true(wet_max > dry_max);
    /* full rain: (1 + 3) times the dry value: at most 4 x (4 + 0.3) x 1.05 = 18.06 mA */
    assert_true(wet_max <= 4.0 * 4.3 * 1.05 + 1e-9);
}

static void test_pole_faults(void **state)
{
    (void)state;
    struct sim_fault f = {.active = SIM_FAULT_LEAKAGE, .leak_mode = SIM_LEAK_STEP, .leak_ma = 40.0};
    assert_true(sim_pole_fault_ma(&f, 1, T0) == 40.0);
    /* ramp 2 mA/h from 5 mA, begun at T0: 5 + 2 x 3 = 11 mA three hours later */
    f = (struct sim_fault){.active = SIM_FAULT_LEAKAGE,
                           .leak_mode = SIM_LEAK_RAMP,
                           .leak_ma = 5.0,
                           .leak_rate_ma_h = 2.0,
                           .leak_from_s = T0};
    assert_true(fabs(sim_pole_fault_ma(&f, 1, T0 + 3 * 3600.0) - 11.0) < 1e-9);
    assert_true(sim_pole_fault_ma(&f, 1, T0 - 60.0) == 5.0);
    /* arcing: bursts of 0.5..1.5 x 60 mA in about 30% of the 5 s slots, constant in a slot */
    f = (struct sim_fault){.active = SIM_FAULT_LEAKAGE, .leak_mode = SIM_LEAK_ARC, .leak_ma = 60.0};
    int bursts = 0, n = 2000;
    for (int i = 0; i < n; i++) {
        double t = T0 + i * SIM_POLE_ARC_SLOT_S;
        double x = sim_pole_fault_ma(&f, 9, t);
        assert_true(x == sim_pole_fault_ma(&f, 9, t + 4.9));
        if (x > 0.0) {
            bursts++;
            assert_true(x >= 30.0 && x <= 90.0);
        }
    }
    assert_true(bursts > n * 0.25 && bursts < n * 0.35);
    f.active = 0;
    assert_true(sim_pole_fault_ma(&f, 9, T0) == 0.0);
    /* described for ctl replies */
    char buf[96];
    f = (struct sim_fault){.active = SIM_FAULT_LEAKAGE, .leak_mode = SIM_LEAK_STEP, .leak_ma = 45};
    sim_fault_describe(&f, buf, sizeof(buf));
    assert_string_equal(buf, "leakage step 45");
    assert_int_equal(sim_fault_bit_of("leakage"), SIM_FAULT_LEAKAGE);
}

/* The simulator's registers through the map decode back to its values (0.1 resolution). */
static void test_sim_encodes_through_map(void **state)
{
    (void)state;
    struct regmap *m = load_pole_map();
    struct sim_values v = {.kind = SIM_SENSOR,
                           .leak_ma = 3.14,
                           .phase_a = {41.26, 39.9, 44.04},
                           .tmp_c = -4.26,
                           .tilt_deg = 0.87,
                           .evt = 2};
    uint16_t regs[11], none[1];
    struct sim_image hold = {.cap = 11, .regs = regs}, in = {.cap = 1, .regs = none};
    assert_int_equal(sim_map_extent(m, REGMAP_HOLDING), 11);
    assert_int_equal(sim_map_extent(m, REGMAP_INPUT), 0);
    sim_map_build(&hold, &in, m, &v, "POLE9-001");
    assert_int_equal(hold.regs[0], 31);     /* 3.14 mA -> 31 x 0.1 */
    assert_int_equal(hold.regs[4], 0xFFD5); /* -4.26 C -> -42.6 -> -43 */
    struct regmap_block b = {.kind = REGMAP_HOLDING, .start = 0, .count = 11, .words = hold.regs};
    struct reading r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(regmap_decode(m, &b, 1, &r), 0);
    assert_true(fabs(r.value[MEAS_LEAKAGE_MA] - 3.1) < 1e-9);
    assert_true(fabs(r.value[MEAS_CURRENT_L3_A] - 44.0) < 1e-9);
    assert_true(fabs(r.value[MEAS_TILT_DEG] - 0.9) < 1e-9);
    assert_true(r.value[MEAS_EVENTS] == 2.0);
    regmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_decode_pole_reading),
        cmocka_unit_test(test_pole_leakage_dry_and_wet),
        cmocka_unit_test(test_pole_faults),
        cmocka_unit_test(test_sim_encodes_through_map),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
