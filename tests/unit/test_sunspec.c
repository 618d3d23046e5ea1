/* test_sunspec.c -- unit tests of SunSpec discovery and decoding over a fake register space. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "sunspec.h"

#include <stdlib.h>
#include <string.h>

struct fake_dev {
    uint16_t regs[65536];
    uint32_t readable_end; /* reads at or past this address fail with an exception */
    int fail_with;         /* if nonzero every read fails with this error */
    int reads;
};

static int fake_read(void *ctx, uint16_t addr, uint16_t count, uint16_t *dest)
{
    struct fake_dev *d = ctx;
    d->reads++;
    if (d->fail_with)
        return d->fail_with;
    if ((uint32_t)addr + count > d->readable_end || count > SUNSPEC_MAX_READ)
        return ENMON_ERR_MODBUS;
    memcpy(dest, &d->regs[addr], count * sizeof(uint16_t));
    return ENMON_OK;
}

/* Writes point `name` of model def whose ID register is at base. */
static void put(struct fake_dev *d, uint16_t base, uint16_t model, const char *name, uint32_t raw)
{
    const struct sunspec_model_def *def = sunspec_model_find(model);
    assert_non_null(def);
    int i = sunspec_point_index(def, name);
    assert_true(i >= 0);
    const struct sunspec_point_def *p = &def->points[i];
    if (p->size == 2) {
        d->regs[base + p->offset] = (uint16_t)(raw >> 16);
        d->regs[base + p->offset + 1] = (uint16_t)raw;
    } else {
        d->regs[base + p->offset] = (uint16_t)raw;
    }
}

static uint16_t put_header(struct fake_dev *d, uint16_t addr, uint16_t id, uint16_t len)
{
    d->regs[addr] = id;
    d->regs[addr + 1] = len;
    return (uint16_t)(addr + 2 + len);
}

/* 'SunS' at base, model 1, model 103 (values below), model 160 with 2 modules, end. */
static struct fake_dev *make_inverter(uint16_t base)
{
    struct fake_dev *d = calloc(1, sizeof(*d));
    d->readable_end = 65536;
    d->regs[base] = 0x5375;
    d->regs[base + 1] = 0x6E53;
    uint16_t a = put_header(d, base + 2, 1, 66);
    uint16_t inv = a;
    a = put_header(d, a, 103, 50);
    a = put_header(d, a, 160, 8 + 2 * 20);
    put_header(d, a, 0xFFFF, 0);
    /* every optional point not implemented, then the values */
    const struct sunspec_model_def *def = sunspec_model_find(103);
    for (int i = 2; i < def->npoints; i++) {
        const struct sunspec_point_def *p = &def->points[i];
        uint16_t ni = p->type == SS_UINT16 || p->type == SS_ENUM16 ? 0xFFFF : 0x8000;
        if (p->type == SS_BITFIELD32) {
            put(d, inv, 103, p->name, 0xFFFFFFFFu);
        } else if (p->type == SS_ACC32) {
            put(d, inv, 103, p->name, 0);
        } else {
            d->regs[inv + p->offset] = ni;
        }
    }
    put(d, inv, 103, "W", 1234);
    put(d, inv, 103, "W_SF", 0);
    put(d, inv, 103, "PhVphA", 2295);
    put(d, inv, 103, "V_SF", (uint16_t)-1);
    put(d, inv, 103, "Hz", 6001);
    put(d, inv, 103, "Hz_SF", (uint16_t)-2);
    put(d, inv, 103, "A", 537);
    put(d, inv, 103, "A_SF", (uint16_t)-2);
    put(d, inv, 103, "WH", 567890);
    put(d, inv, 103, "WH_SF", 0);
    put(d, inv, 103, "St", 4);
    put(d, inv, 103, "Evt1", 0);
    put(d, inv, 103, "TmpCab", 415);
    put(d, inv, 103, "Tmp_SF", (uint16_t)-1);
    return d;
}

static void test_discover_and_decode_inverter(void **state)
{
    (void)state;
    struct fake_dev *d = make_inverter(40000);
    struct sunspec_chain chain;
    assert_int_equal(sunspec_discover(fake_read, d, -1, &chain), ENMON_OK);
    assert_int_equal(chain.base, 40000);
    assert_int_equal(chain.nmodels, 3);
    assert_int_equal(chain.models[0].id, 1);
    assert_int_equal(chain.models[0].addr, 40002);
    assert_int_equal(chain.models[1].id, 103);
    assert_int_equal(chain.models[1].addr, 40070);
    assert_int_equal(chain.models[2].id, 160);
    assert_int_equal(chain.models[2].addr, 40122);

    struct sunspec_plan plan;
    assert_int_equal(sunspec_plan_build(&chain, &plan), ENMON_OK);
    assert_int_equal(plan.main.id, 103);
    uint16_t block[52];
    assert_int_equal(sunspec_read_model(fake_read, d, &plan.main, block), ENMON_OK);
    struct reading r = {0};
    sunspec_plan_decode(&plan, block, 52, &r);
    assert_int_equal(r.quality, READING_OK);
    assert_true(r.value[MEAS_POWER_W] == 1234.0);
    assert_true(r.value[MEAS_VOLTAGE_V] == 229.5);
    assert_true(r.value[MEAS_FREQUENCY_HZ] == 60.01);
    assert_true(r.value[MEAS_CURRENT_A] == 5.37);
    assert_true(r.value[MEAS_ENERGY_EXPORT_WH] == 567890.0);
    assert_true(r.value[MEAS_TEMPERATURE_C] == 41.5);
    assert_true(r.value[MEAS_STATE] == 4.0);
    assert_true(reading_has(&r, MEAS_EVENTS));
    assert_true(r.wrap_wh[1] == 4294967296.0);
    /* not implemented: PF (0x8000), DCW (0x8000) */
    assert_false(reading_has(&r, MEAS_POWER_FACTOR));
    assert_false(reading_has(&r, MEAS_DC_POWER_W));
    assert_false(reading_has(&r, MEAS_ENERGY_IMPORT_WH));
    free(d);
}

static void test_invalid_scale_factor_and_sentinels(void **state)
{
    (void)state;
    struct fake_dev *d = make_inverter(40000);
    put(d, 40070, 103, "W_SF", 0x8000);  /* makes W invalid */
    put(d, 40070, 103, "WH", 0);         /* acc32 0 = not implemented */
    put(d, 40070, 103, "Hz_SF", 11);     /* out of the -10..10 range */
    struct sunspec_chain chain;
    struct sunspec_plan plan;
    assert_int_equal(sunspec_discover(fake_read, d, 40000, &chain), ENMON_OK);
    assert_int_equal(sunspec_plan_build(&chain, &plan), ENMON_OK);
    uint16_t block[52];
    assert_int_equal(sunspec_read_model(fake_read, d, &plan.main, block), ENMON_OK);
    struct reading r = {0};
    sunspec_plan_decode(&plan, block, 52, &r);
    assert_int_equal(r.quality, READING_PARTIAL);
    assert_false(reading_has(&r, MEAS_POWER_W));
    assert_false(reading_has(&r, MEAS_ENERGY_EXPORT_WH));
    assert_false(reading_has(&r, MEAS_FREQUENCY_HZ));
    assert_true(reading_has(&r, MEAS_VOLTAGE_V));
    /* int16 0x8000 is not implemented; a negative int16 is a value */
    put(d, 40070, 103, "W_SF", 0);
    put(d, 40070, 103, "W", 0x8000);
    assert_int_equal(sunspec_read_model(fake_read, d, &plan.main, block), ENMON_OK);
    sunspec_plan_decode(&plan, block, 52, &r);
    assert_false(reading_has(&r, MEAS_POWER_W));
    put(d, 40070, 103, "W", (uint16_t)-25);
    put(d, 40070, 103, "W_SF", 1);
    assert_int_equal(sunspec_read_model(fake_read, d, &plan.main, block), ENMON_OK);
    sunspec_plan_decode(&plan, block, 52, &r);
    assert_true(r.value[MEAS_POWER_W] == -250.0);
    free(d);
}

static void test_meter_acc32_scale_and_fallback(void **state)
{
    (void)state;
    struct fake_dev *d = calloc(1, sizeof(*d));
    d->readable_end = 65536;
    d->regs[0] = 0x5375;
    d->regs[1] = 0x6E53;
    uint16_t a = put_header(d, 2, 1, 65); /* legacy common model length */
    uint16_t met = a;
    a = put_header(d, a, 201, 105);
    put_header(d, a, 0xFFFF, 0);
    put(d, met, 201, "PhV", 0x8000); /* not implemented: falls back to PhVphA */
    put(d, met, 201, "PhVphA", 2211);
    put(d, met, 201, "V_SF", (uint16_t)-1);
    put(d, met, 201, "W", (uint16_t)-700); /* exporting */
    put(d, met, 201, "W_SF", 0);
    put(d, met, 201, "TotWhImp", 123456);
    put(d, met, 201, "TotWhExp", 7);
    put(d, met, 201, "TotWh_SF", 1);
    put(d, met, 201, "Hz", 600);
    put(d, met, 201, "Hz_SF", (uint16_t)-1);
    put(d, met, 201, "Evt", 0x4);
    struct sunspec_chain chain;
    struct sunspec_plan plan;
    assert_int_equal(sunspec_discover(fake_read, d, -1, &chain), ENMON_OK);
    assert_int_equal(chain.base, 0);
    assert_int_equal(sunspec_plan_build(&chain, &plan), ENMON_OK);
    assert_true(plan.is_meter);
    uint16_t block[107];
    assert_int_equal(sunspec_read_model(fake_read, d, &plan.main, block), ENMON_OK);
    struct reading r = {0};
    sunspec_plan_decode(&plan, block, 107, &r);
    assert_int_equal(r.quality, READING_OK);
    assert_true(r.value[MEAS_VOLTAGE_V] == 221.1);
    assert_true(r.value[MEAS_POWER_W] == -700.0);
    assert_true(r.value[MEAS_ENERGY_IMPORT_WH] == 1234560.0);
    assert_true(r.value[MEAS_ENERGY_EXPORT_WH] == 70.0);
    assert_true(r.wrap_wh[0] == 42949672960.0);
    assert_true(r.value[MEAS_EVENTS] == 4.0);
    free(d);
}

static void test_malicious_chains(void **state)
{
    (void)state;
    struct sunspec_chain chain;
    struct fake_dev *d = calloc(1, sizeof(*d));
    d->readable_end = 65536;
    /* no marker anywhere */
    assert_int_equal(sunspec_discover(fake_read, d, -1, &chain), ENMON_ERR_NOT_SUNSPEC);
    /* a length that runs past register 65535 */
    d->regs[50000] = 0x5375;
    d->regs[50001] = 0x6E53;
    put_header(d, 50002, 1, 65000);
    assert_int_equal(sunspec_discover(fake_read, d, -1, &chain), ENMON_ERR_BAD_CHAIN);
    /* endless zero-length models never reach the end marker */
    uint16_t a = 50002;
    for (int i = 0; i < 100; i++)
        a = put_header(d, a, 64000, 0);
    assert_int_equal(sunspec_discover(fake_read, d, 50000, &chain), ENMON_ERR_BAD_CHAIN);
    /* a chain whose end is unreadable ends at the last readable model */
    memset(d->regs, 0, sizeof(d->regs));
    d->regs[40000] = 0x5375;
    d->regs[40001] = 0x6E53;
    a = put_header(d, 40002, 1, 66);
    d->readable_end = a;
    assert_int_equal(sunspec_discover(fake_read, d, -1, &chain), ENMON_OK);
    assert_int_equal(chain.nmodels, 1);
    struct sunspec_plan plan;
    assert_int_equal(sunspec_plan_build(&chain, &plan), ENMON_ERR_NOT_FOUND);
    free(d);
}

static void test_second_device_behind_one_address(void **state)
{
    (void)state;
    struct fake_dev *d = calloc(1, sizeof(*d));
    d->readable_end = 65536;
    d->regs[40000] = 0x5375;
    d->regs[40001] = 0x6E53;
    uint16_t a = put_header(d, 40002, 1, 66);
    uint16_t first = a;
    a = put_header(d, a, 103, 50);
    a = put_header(d, a, 1, 66);
    uint16_t second = a;
    a = put_header(d, a, 203, 105);
    put_header(d, a, 0xFFFF, 0);
    struct sunspec_chain chain;
    struct sunspec_plan plan;
    assert_int_equal(sunspec_discover(fake_read, d, -1, &chain), ENMON_OK);
    assert_int_equal(chain.nmodels, 4);
    assert_int_equal(sunspec_plan_build_nth(&chain, 1, &plan), ENMON_OK);
    assert_int_equal(plan.main.addr, first);
    assert_false(plan.is_meter);
    assert_int_equal(plan.common.addr, 40002);
    assert_int_equal(sunspec_plan_build_nth(&chain, 2, &plan), ENMON_OK);
    assert_int_equal(plan.main.addr, second);
    assert_int_equal(plan.common.addr, second - 68); /* its own common model */
    assert_int_equal(plan.mppt.id, 0);
    assert_true(plan.is_meter);
    assert_int_equal(sunspec_plan_build_nth(&chain, 3, &plan), ENMON_ERR_NOT_FOUND);
    free(d);
}

static uint32_t f32_bits(float f)
{
    uint32_t b;
    memcpy(&b, &f, sizeof(b));
    return b;
}

/* Decodes the main model of a chain 'SunS', 1, model (every point as filled by
 * the caller through d), end, built at 40000. */
static struct fake_dev *make_single(uint16_t model, uint16_t *main_addr)
{
    struct fake_dev *d = calloc(1, sizeof(*d));
    d->readable_end = 65536;
    d->regs[40000] = 0x5375;
    d->regs[40001] = 0x6E53;
    uint16_t a = put_header(d, 40002, 1, 66);
    *main_addr = a;
    a = put_header(d, a, model, sunspec_model_find(model)->fixed_len);
    put_header(d, a, 0xFFFF, 0);
    return d;
}

static void decode_main(struct fake_dev *d, int pf_percent, struct reading *r)
{
    struct sunspec_chain chain;
    struct sunspec_plan plan;
    static uint16_t block[300];
    assert_int_equal(sunspec_discover(fake_read, d, -1, &chain), ENMON_OK);
    assert_int_equal(sunspec_plan_build(&chain, &plan), ENMON_OK);
    if (pf_percent)
        sunspec_plan_pf_percent(&plan);
    assert_int_equal(sunspec_read_model(fake_read, d, &plan.main, block), ENMON_OK);
    *r = (struct reading){0};
    sunspec_plan_decode(&plan, block, (size_t)plan.main.len + 2, r);
}

/* PF follows the units of the official model: "PF" (-1..1) on 211-213, "Pct" on
 * 101-103, 111-113 and 201-204; pf_percent divides by 100 whatever the model. */
static void test_pf_follows_model_units(void **state)
{
    (void)state;
    uint16_t at;
    struct reading r;
    struct fake_dev *d = make_single(213, &at);
    put(d, at, 213, "W", f32_bits(1500.0f));
    put(d, at, 213, "TotWhImp", f32_bits(12345.0f));
    put(d, at, 213, "PF", f32_bits(0.95f));
    put(d, at, 213, "Hz", f32_bits(59.98f));
    decode_main(d, 0, &r);
    assert_int_equal(r.quality, READING_OK);
    assert_true(r.value[MEAS_POWER_FACTOR] == 0.95); /* not 0.0095 */
    /* float32 59.98 is 59.979999542236328...: the shortest decimal that reads back */
    assert_true(r.value[MEAS_FREQUENCY_HZ] == 59.98);
    assert_true(r.value[MEAS_POWER_W] == 1500.0);
    /* a vendor that sends percent on 213: pf_percent, 95.0 -> 0.95 */
    put(d, at, 213, "PF", f32_bits(95.0f));
    decode_main(d, 1, &r);
    assert_true(r.value[MEAS_POWER_FACTOR] == 0.95);
    free(d);

    d = make_single(203, &at);
    put(d, at, 203, "W", 1500);
    put(d, at, 203, "W_SF", 0);
    put(d, at, 203, "TotWhImp", 100);
    put(d, at, 203, "TotWh_SF", 0);
    put(d, at, 203, "PF", 995); /* 995 x 10^-1 = 99.5 % -> 0.995 */
    put(d, at, 203, "PF_SF", (uint16_t)-1);
    decode_main(d, 0, &r);
    assert_true(r.value[MEAS_POWER_FACTOR] == 0.995);
    decode_main(d, 1, &r); /* already percent: pf_percent changes nothing */
    assert_true(r.value[MEAS_POWER_FACTOR] == 0.995);
    free(d);

    d = make_single(113, &at);
    put(d, at, 113, "W", f32_bits(2000.0f));
    put(d, at, 113, "WH", f32_bits(1e6f));
    put(d, at, 113, "PF", f32_bits(-98.0f)); /* "Pct" on the float inverter */
    decode_main(d, 0, &r);
    assert_true(r.value[MEAS_POWER_FACTOR] == -0.98);
    free(d);
}

/* Writes point name of repetition grp (first register of it) of model 160. */
static void put_module(struct fake_dev *d, uint16_t grp, const char *name, uint16_t raw)
{
    const struct sunspec_model_def *def = sunspec_model_find(160);
    for (int i = 0; i < def->ngroup_points; i++)
        if (strcmp(def->group_points[i].name, name) == 0) {
            d->regs[grp + def->group_points[i].offset] = raw;
            return;
        }
    fail();
}

static void test_mppt_modules(void **state)
{
    (void)state;
    struct fake_dev *d = make_inverter(40000);
    struct sunspec_chain chain;
    struct sunspec_plan plan;
    assert_int_equal(sunspec_discover(fake_read, d, -1, &chain), ENMON_OK);
    assert_int_equal(sunspec_plan_build(&chain, &plan), ENMON_OK);
    assert_int_equal(plan.common.addr, 40002);
    assert_int_equal(plan.mppt.id, 160);
    assert_int_equal(plan.mppt.addr, 40122);
    /* fixed block: ID, L, DCA_SF, DCV_SF, DCW_SF, DCWH_SF, Evt (2), N, TmsPer */
    put(d, 40122, 160, "DCA_SF", (uint16_t)-2);
    put(d, 40122, 160, "DCV_SF", (uint16_t)-1);
    put(d, 40122, 160, "DCW_SF", 0);
    put(d, 40122, 160, "N", 2);
    uint16_t m1 = 40122 + 10, m2 = 40122 + 10 + 20;
    put_module(d, m1, "DCA", 312);  /* 3.12 A */
    put_module(d, m1, "DCV", 3805); /* 380.5 V */
    put_module(d, m1, "DCW", 1187);
    put_module(d, m2, "DCA", 289);
    put_module(d, m2, "DCV", 3801);
    put_module(d, m2, "DCW", 1099);
    uint16_t block[50];
    assert_int_equal(sunspec_read_model(fake_read, d, &plan.mppt, block), ENMON_OK);
    struct reading r = {0};
    sunspec_mppt_decode(block, 50, &r);
    assert_int_equal(r.nmodules, 2);
    assert_true(r.module[0].value[MODULE_DC_CURRENT_A] == 3.12);
    assert_true(r.module[0].value[MODULE_DC_VOLTAGE_V] == 380.5);
    assert_true(r.module[1].value[MODULE_DC_POWER_W] == 1099.0);
    assert_int_equal(r.module[1].valid, 7);
    assert_true(r.value[MEAS_DC_POWER_W] == 2286.0); /* 1187 + 1099 */
    /* module 2 does not implement DCW (uint16 0xFFFF): no sum, module 2 without it */
    put_module(d, m2, "DCW", 0xFFFF);
    assert_int_equal(sunspec_read_model(fake_read, d, &plan.mppt, block), ENMON_OK);
    r = (struct reading){0};
    sunspec_mppt_decode(block, 50, &r);
    assert_false(reading_has(&r, MEAS_DC_POWER_W));
    assert_int_equal(r.module[1].valid, 3);
    /* a block cut short holds only the modules that fit, and makes no sum */
    r = (struct reading){0};
    put_module(d, m2, "DCW", 1099);
    assert_int_equal(sunspec_read_model(fake_read, d, &plan.mppt, block), ENMON_OK);
    sunspec_mppt_decode(block, 30, &r);
    assert_int_equal(r.nmodules, 1);
    assert_false(reading_has(&r, MEAS_DC_POWER_W)); /* N = 2, one module read */
    free(d);
}

static void test_dead_device_is_not_probed_further(void **state)
{
    (void)state;
    struct fake_dev *d = calloc(1, sizeof(*d));
    d->fail_with = ENMON_ERR_TIMEOUT;
    struct sunspec_chain chain;
    assert_int_equal(sunspec_discover(fake_read, d, -1, &chain), ENMON_ERR_TIMEOUT);
    assert_int_equal(d->reads, 1);
    free(d);
}

static void test_long_model_read_in_parts(void **state)
{
    (void)state;
    struct fake_dev *d = calloc(1, sizeof(*d));
    d->readable_end = 65536;
    for (int i = 0; i < 300; i++)
        d->regs[1000 + i] = (uint16_t)(i * 7);
    struct sunspec_model_ref ref = {.id = 211, .len = 250, .addr = 1000};
    uint16_t block[252];
    assert_int_equal(sunspec_read_model(fake_read, d, &ref, block), ENMON_OK);
    assert_int_equal(d->reads, 3);
    for (int i = 0; i < 252; i++)
        assert_int_equal(block[i], (uint16_t)(i * 7));
    free(d);
}

static void test_common_model(void **state)
{
    (void)state;
    uint16_t block[68] = {1, 66};
    const char mn[] = "enmon-sim";
    for (size_t i = 0; i < sizeof(mn) - 1; i++) {
        uint16_t *w = &block[2 + i / 2];
        *w |= (uint16_t)((unsigned char)mn[i] << (i % 2 ? 0 : 8));
    }
    block[2 + 16 + 16 + 8 + 8] = ('S' << 8) | 'N';
    block[2 + 16 + 16 + 8 + 8 + 1] = ('1' << 8);
    struct sunspec_common c;
    sunspec_common_decode(block, 68, &c);
    assert_string_equal(c.manufacturer, "enmon-sim");
    assert_string_equal(c.serial, "SN1");
    assert_string_equal(c.model, "");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_discover_and_decode_inverter),
        cmocka_unit_test(test_invalid_scale_factor_and_sentinels),
        cmocka_unit_test(test_meter_acc32_scale_and_fallback),
        cmocka_unit_test(test_malicious_chains),
        cmocka_unit_test(test_second_device_behind_one_address),
        cmocka_unit_test(test_pf_follows_model_units),
        cmocka_unit_test(test_mppt_modules),
        cmocka_unit_test(test_dead_device_is_not_probed_further),
        cmocka_unit_test(test_long_model_read_in_parts),
        cmocka_unit_test(test_common_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
