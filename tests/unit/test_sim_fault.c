/* test_sim_fault.c -- enmon-sim injected faults: how they change values and counters. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

/* The simulator's sources are not in enmon_core; sim_fault.c is pure (libc and libm only). */
#include "../../simulators/sim_fault.c"

static void test_pv_factor(void **state)
{
    (void)state;
    struct sim_fault f = {0};
    assert_true(sim_fault_pv_factor(&f, 1.0) == 1.0);
    assert_true(sim_fault_pv_factor(&f, 0.3) == 0.3);
    f.active = SIM_FAULT_OUTPUT;
    f.output_factor = 0.5;
    assert_true(sim_fault_pv_factor(&f, 0.5) == 0.25);
    f.active |= SIM_FAULT_ZERO;
    assert_true(sim_fault_pv_factor(&f, 1.0) == 0.0);
}

static void test_household_and_export(void **state)
{
    (void)state;
    struct sim_fault f = {.household = SIM_HOUSEHOLD_IDLE, .household_w = 60.0};
    assert_true(sim_fault_load_w(&f, 812.0) == 812.0); /* not active yet */
    f.active = SIM_FAULT_HOUSEHOLD;
    assert_true(sim_fault_load_w(&f, 812.0) == 60.0);
    f.household = SIM_HOUSEHOLD_OVERLOAD;
    f.household_w = 6000.0;
    assert_true(sim_fault_load_w(&f, 812.0) == 6812.0);
    assert_true(sim_fault_meter_w(&f, 300.0) == 300.0);
    f.active |= SIM_FAULT_EXPORT;
    f.export_w = 2000.0;
    assert_true(sim_fault_meter_w(&f, 300.0) == -2000.0);
}

static void test_grid_and_status(void **state)
{
    (void)state;
    struct sim_values v = {
        .kind = SIM_INVERTER, .v = 229.5, .hz = 60.0, .st = 4, .evt = 0x1, .n_mppt = 2};
    struct sim_fault f = {.active = SIM_FAULT_VOLTAGE, .voltage_v = 195.0};
    sim_fault_grid(&f, &v);
    assert_true(v.v == 195.0 && v.hz == 60.0);
    f = (struct sim_fault){.active = SIM_FAULT_EVENTS | SIM_FAULT_DCEVENTS, .events = 0x400};
    f.dcevents[1] = 0x8000;
    sim_fault_status(&f, 1, &v);
    assert_int_equal(v.evt, 0x401);
    assert_int_equal(v.dc_evt[0], 0);
    assert_int_equal(v.dc_evt[1], 0x8000);
    f = (struct sim_fault){.active = SIM_FAULT_ZERO};
    v.st = 2;
    sim_fault_status(&f, 1, &v); /* daylight: claims MPPT */
    assert_int_equal(v.st, 4);
    sim_fault_status(&f, 0, &v); /* night: sleeps */
    assert_int_equal(v.st, 2);
    f.active |= SIM_FAULT_STATE;
    f.state = 7;
    sim_fault_status(&f, 1, &v); /* a forced state wins */
    assert_int_equal(v.st, 7);
    struct sim_values m = {.kind = SIM_METER, .st = 0};
    f = (struct sim_fault){.active = SIM_FAULT_ZERO};
    sim_fault_status(&f, 1, &m);
    assert_int_equal(m.st, 0);
}

static void test_counters(void **state)
{
    (void)state;
    struct sim_fault f = {0};
    struct sim_counters inv = {.wh_exp = 1000.0, .dc_wh = {500.0, 520.0}, .n_mppt = 2};
    sim_fault_counter(&f, SIM_COUNTER_JUMP, 300.0, &inv);
    assert_true(inv.wh_exp == 1300.0);
    assert_true(inv.dc_wh[0] == 650.0 && inv.dc_wh[1] == 670.0);
    assert_true(f.active & SIM_FAULT_COUNTER);
    sim_fault_counter(&f, SIM_COUNTER_BACKWARDS, 5000.0, &inv); /* never below 0 */
    assert_true(inv.wh_exp == 0.0);
    assert_true(inv.dc_wh[0] == 0.0 && inv.dc_wh[1] == 20.0); /* moved by what WH moved */
    struct sim_counters meter = {.wh_imp = 2345678.0, .wh_exp = 1000.0};
    sim_fault_counter(&f, SIM_COUNTER_BACKWARDS, 678.0, &meter);
    assert_true(meter.wh_imp == 2345000.0 && meter.wh_exp == 1000.0);
    sim_fault_counter(&f, SIM_COUNTER_RESET, 0.0, &meter);
    assert_true(meter.wh_imp == 0.0 && meter.wh_exp == 0.0);
    assert_int_equal(f.counter_op, SIM_COUNTER_RESET);
}

static void test_freeze_timed_clear(void **state)
{
    (void)state;
    struct sim_fault f = {0};
    assert_true(sim_fault_counting(&f));
    assert_false(sim_fault_timed(&f));
    f.active = SIM_FAULT_FREEZE | SIM_FAULT_EXPORT | SIM_FAULT_DCEVENTS;
    f.dcevents[0] = 0x8000;
    assert_false(sim_fault_counting(&f));
    assert_true(sim_fault_timed(&f));
    sim_fault_clear(&f, sim_fault_bit_of("counter"));
    assert_true(sim_fault_counting(&f));
    sim_fault_clear(&f, ~0u);
    assert_int_equal(f.active, 0);
    assert_int_equal(f.dcevents[0], 0);
    assert_int_equal(sim_fault_bit_of("drop"), SIM_FAULT_DROP);
    assert_int_equal(sim_fault_bit_of("sparks"), 0);
}

static void test_describe(void **state)
{
    (void)state;
    char buf[128];
    struct sim_fault f = {0};
    assert_int_equal(sim_fault_describe(&f, buf, sizeof buf), 0);
    assert_string_equal(buf, "");
    f = (struct sim_fault){.active = SIM_FAULT_STATE | SIM_FAULT_DROP | SIM_FAULT_VOLTAGE |
                                     SIM_FAULT_HOUSEHOLD | SIM_FAULT_FREEZE,
                           .state = 7,
                           .voltage_v = 195.5,
                           .household = SIM_HOUSEHOLD_IDLE,
                           .household_w = 60.0};
    int n = sim_fault_describe(&f, buf, sizeof buf);
    assert_string_equal(buf, "state 7, drop, counter freeze, voltage 195.5, household idle 60");
    assert_int_equal(n, (int)strlen(buf));
    char small[10];
    assert_int_equal(sim_fault_describe(&f, small, sizeof small), n); /* truncated, counted */
    assert_string_equal(small, "state 7, ");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pv_factor),          cmocka_unit_test(test_household_and_export),
        cmocka_unit_test(test_grid_and_status),    cmocka_unit_test(test_counters),
        cmocka_unit_test(test_freeze_timed_clear), cmocka_unit_test(test_describe),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
