/* test_regmap.c -- register maps: shipped and bad map files, every type and word order decoded. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "regmap.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/* ---- helpers ---------------------------------------------------------------------------- */

static void data_path(char *buf, size_t len, const char *rel)
{
    const char *dir = getenv("ENMON_TEST_DATA");
    snprintf(buf, len, "%s/%s", dir ? dir : "tests/data", rel);
}

static struct regmap *load_ok(const char *path)
{
    struct regmap *m = NULL;
    struct cfg_error err;

    int rc = regmap_load(path, &m, &err);
    if (rc != ENMON_OK)
        print_error("unexpected error %s:%d: %s: %s\n", err.file, err.line, err.field, err.msg);
    assert_int_equal(rc, ENMON_OK);
    assert_non_null(m);
    return m;
}

static struct regmap *load_shipped(const char *name)
{
    char path[512];
    char rel[128];
    snprintf(rel, sizeof(rel), "../../config/maps/%s", name);
    data_path(path, sizeof(path), rel);
    return load_ok(path);
}

static void write_temp(const char *yaml, char path[64])
{
    snprintf(path, 64, "/tmp/enmon-test-regmap-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    size_t len = strlen(yaml);
    assert_int_equal(write(fd, yaml, len), (ssize_t)len);
    assert_int_equal(close(fd), 0);
}

static struct regmap *load_inline(const char *yaml)
{
    char path[64];
    write_temp(yaml, path);
    struct regmap *m = load_ok(path);
    unlink(path);
    return m;
}

static int point_index(const struct regmap *m, const char *name)
{
    for (size_t i = 0; i < m->npoints; i++)
        if (strcmp(m->points[i].name, name) == 0)
            return (int)i;
    fail_msg("no point %s", name);
    return -1;
}

/* A one-point map built in memory: type in order at address 0 of holding registers. */
static struct regmap one_point(struct regmap_point *p, enum regmap_type type,
                               enum decode_order order)
{
    memset(p, 0, sizeof(*p));
    snprintf(p->name, sizeof(p->name), "x");
    p->type = (uint8_t)type;
    p->order = (uint8_t)order;
    p->length = type == REGMAP_STRING ? 4 : (uint16_t)decode_type_words((enum decode_type)type);
    p->scale = 1.0;
    p->meas = MEAS_POWER_W;
    struct regmap m = {.points = p, .npoints = 1};
    return m;
}

/* Value of a one-point map over words at holding address 0. */
static int decode_one(enum regmap_type type, enum decode_order order, const uint16_t *words,
                      int nwords, double *out)
{
    struct regmap_point p;
    struct regmap m = one_point(&p, type, order);
    struct regmap_block b = {
        .kind = REGMAP_HOLDING, .start = 0, .count = (uint16_t)nwords, .words = words};
    return regmap_point_value(&m, 0, &b, 1, out);
}

static void check_value(enum regmap_type type, enum decode_order order, const uint16_t *words,
                        int nwords, double want)
{
    double v = -12345.0;
    assert_int_equal(decode_one(type, order, words, nwords, &v), ENMON_OK);
    assert_true(v == want);
}

/* ---- shipped maps ----------------------------------------------------------------------- */

static void test_sdm630_loads(void **state)
{
    (void)state;
    struct regmap *m = load_shipped("eastron-sdm630.yaml");
    assert_string_equal(m->name, "eastron-sdm630");
    assert_string_equal(m->manufacturer, "Eastron");
    const struct regmap_point *p = &m->points[point_index(m, "power_total")];
    assert_int_equal(p->address, 0x34);
    assert_int_equal(p->kind, REGMAP_INPUT);
    assert_int_equal(p->type, REGMAP_F32);
    assert_int_equal(p->order, DECODE_ABCD);
    assert_int_equal(p->meas, MEAS_POWER_W);
    p = &m->points[point_index(m, "energy_import")];
    assert_int_equal(p->address, 0x48);
    assert_true(p->scale == 1000.0);
    assert_int_equal(p->meas, MEAS_ENERGY_IMPORT_WH);
    p = &m->points[point_index(m, "voltage_l1")];
    assert_int_equal(p->meas, -1);
    assert_string_equal(p->unit, "V");
    regmap_free(m);
}

static void test_em24_loads(void **state)
{
    (void)state;
    struct regmap *m = load_shipped("carlo-gavazzi-em24.yaml");
    const struct regmap_point *p = &m->points[point_index(m, "energy_export")];
    assert_int_equal(p->address, 0x4E);
    assert_int_equal(p->kind, REGMAP_HOLDING);
    assert_int_equal(p->order, DECODE_CDAB);
    assert_int_equal(p->counter_wrap, 1);
    regmap_free(m);
}

static void test_ami_loads(void **state)
{
    (void)state;
    struct regmap *m = load_shipped("enmon-ami.yaml");
    assert_int_equal(m->npoints, 9);
    const struct regmap_point *p = &m->points[point_index(m, "current")];
    assert_int_equal(p->has_not_impl, 1);
    assert_true(p->not_impl == 0x8000);
    p = &m->points[point_index(m, "serial")];
    assert_int_equal(p->type, REGMAP_STRING);
    assert_int_equal(p->length, 4);
    assert_int_equal(p->address + p->length, 15); /* the whole map is 15 registers */
    regmap_free(m);
}

/* ---- located errors --------------------------------------------------------------------- */

struct bad_case {
    const char *file;
    int line;
    const char *field;
    const char *msg_part;
};

static const struct bad_case bad_cases[] = {
    {"bad-unknown-key.yaml", 10, "points[1].untit", "unknown key 'untit'"},
    {"bad-type.yaml", 6, "points[0].type", "unknown value 'f16'"},
    {"bad-order.yaml", 7, "points[0].order", "unknown value 'ACBD'"},
    {"bad-address-range.yaml", 5, "points[0].address", "beyond 65535"},
    {"bad-address-negative.yaml", 5, "points[0].address", "out of range"},
    {"bad-duplicate-measurement.yaml", 11, "points[1].measurement",
     "'power_w' is already fed by point 'power_a' (line 4)"},
    {"bad-scale-and-register.yaml", 8, "points[0].scale_register", "exclude each other"},
    {"bad-string-no-length.yaml", 4, "points[0].length", "required for type string"},
    {"bad-length-not-string.yaml", 7, "points[0].length", "only for type string"},
    {"bad-measurement.yaml", 7, "points[0].measurement", "unknown value 'watts'"},
    {"bad-counter-wrap.yaml", 8, "points[0].counter_wrap", "only for integer points"},
    {"bad-sentinel.yaml", 7, "points[0].not_implemented", "does not fit in 16 bits"},
    {"bad-duplicate-name.yaml", 7, "points[1].name", "duplicate point name 'power'"},
    {"bad-no-type.yaml", 4, "points[0].type", "is required"},
    {"bad-no-points.yaml", 2, "points", "is required"},
    /* the YAML document itself (yaml_doc.c): one per file, with content, aliases bounded */
    {"bad-two-documents.yaml", 8, "(document)", "a second YAML document starts here"},
    {"bad-comments-only.yaml", 1, "(document)", "empty: no YAML content"},
    {"bad-alias-bomb.yaml", 6, "(document)", "aliases expand to more than 100000 nodes"},
};

static void test_bad_maps(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
        const struct bad_case *c = &bad_cases[i];
        char path[512], rel[128];
        struct regmap *m = (struct regmap *)1;
        struct cfg_error err;
        snprintf(rel, sizeof(rel), "maps/%s", c->file);
        data_path(path, sizeof(path), rel);
        int rc = regmap_load(path, &m, &err);
        if (rc != ENMON_ERR_CONFIG || err.line != c->line || strcmp(err.field, c->field) != 0 ||
            !strstr(err.msg, c->msg_part))
            print_error("%s: got rc=%d %d: '%s': %s\n", c->file, rc, err.line, err.field, err.msg);
        assert_int_equal(rc, ENMON_ERR_CONFIG);
        assert_null(m);
        assert_string_equal(err.file, path);
        assert_int_equal(err.line, c->line);
        assert_string_equal(err.field, c->field);
        assert_non_null(strstr(err.msg, c->msg_part));
    }
}

static void test_missing_file(void **state)
{
    (void)state;
    struct regmap *m = (struct regmap *)1;
    struct cfg_error err;
    assert_int_equal(regmap_load("/nonexistent/map.yaml", &m, &err), ENMON_ERR_IO);
    assert_null(m);
    assert_string_equal(err.file, "/nonexistent/map.yaml");
}

static void test_hex_and_negative_sentinel(void **state)
{
    (void)state;
    struct regmap *m = load_inline("name: t\n"
                                   "points:\n"
                                   "  - {name: a, address: 0x10, type: s16, not_implemented: -1}\n"
                                   "  - {name: b, address: 0x20, type: s32, not_implemented: "
                                   "0x80000000, scale_register: 0x22}\n");
    assert_int_equal(m->points[0].address, 16);
    assert_true(m->points[0].not_impl == 0xFFFF);
    assert_int_equal(m->points[1].address, 32);
    assert_true(m->points[1].not_impl == 0x80000000u);
    assert_int_equal(m->points[1].has_sf, 1);
    assert_int_equal(m->points[1].sf_address, 0x22);
    assert_int_equal(m->points[1].kind, REGMAP_HOLDING);
    assert_int_equal(regmap_plan_size(m), 3);
    regmap_free(m);
}

/* ---- decoding: types and orders --------------------------------------------------------- */

static void test_decode_16bit(void **state)
{
    (void)state;
    const uint16_t u = 0x1234, s = 0xFFFE;
    check_value(REGMAP_U16, DECODE_ABCD, &u, 1, 4660.0);
    check_value(REGMAP_S16, DECODE_ABCD, &s, 1, -2.0);
    check_value(REGMAP_U16, DECODE_ABCD, &s, 1, 65534.0);
    const uint16_t swapped = 0x3412; /* BADC swaps the bytes of a single register */
    check_value(REGMAP_U16, DECODE_BADC, &swapped, 1, 4660.0);
}

static void test_decode_32bit_orders(void **state)
{
    (void)state;
    /* 0x12345678 in each order */
    const uint16_t abcd[] = {0x1234, 0x5678}, cdab[] = {0x5678, 0x1234};
    const uint16_t badc[] = {0x3412, 0x7856}, dcba[] = {0x7856, 0x3412};
    check_value(REGMAP_U32, DECODE_ABCD, abcd, 2, 305419896.0);
    check_value(REGMAP_U32, DECODE_CDAB, cdab, 2, 305419896.0);
    check_value(REGMAP_U32, DECODE_BADC, badc, 2, 305419896.0);
    check_value(REGMAP_U32, DECODE_DCBA, dcba, 2, 305419896.0);
    /* the same words in the wrong order give a different number */
    double v;
    assert_int_equal(decode_one(REGMAP_U32, DECODE_ABCD, cdab, 2, &v), ENMON_OK);
    assert_true(v == (double)0x56781234u);
    /* -2 = 0xFFFFFFFE */
    const uint16_t s_abcd[] = {0xFFFF, 0xFFFE}, s_cdab[] = {0xFFFE, 0xFFFF};
    const uint16_t s_badc[] = {0xFFFF, 0xFEFF}, s_dcba[] = {0xFEFF, 0xFFFF};
    check_value(REGMAP_S32, DECODE_ABCD, s_abcd, 2, -2.0);
    check_value(REGMAP_S32, DECODE_CDAB, s_cdab, 2, -2.0);
    check_value(REGMAP_S32, DECODE_BADC, s_badc, 2, -2.0);
    check_value(REGMAP_S32, DECODE_DCBA, s_dcba, 2, -2.0);
}

static void test_decode_float32_orders(void **state)
{
    (void)state;
    /* 229.5f = 0x43658000 */
    const uint16_t abcd[] = {0x4365, 0x8000}, cdab[] = {0x8000, 0x4365};
    const uint16_t badc[] = {0x6543, 0x0080}, dcba[] = {0x0080, 0x6543};
    check_value(REGMAP_F32, DECODE_ABCD, abcd, 2, 229.5);
    check_value(REGMAP_F32, DECODE_CDAB, cdab, 2, 229.5);
    check_value(REGMAP_F32, DECODE_BADC, badc, 2, 229.5);
    check_value(REGMAP_F32, DECODE_DCBA, dcba, 2, 229.5);
    /* 59.98f = 0x426FEB85 = 59.979999542236328: the shortest decimal that reads back */
    const uint16_t hz[] = {0x426F, 0xEB85};
    check_value(REGMAP_F32, DECODE_ABCD, hz, 2, 59.98);
}

static void test_decode_64bit_orders(void **state)
{
    (void)state;
    const double want = (double)UINT64_C(0x0102030405060708);
    const uint16_t abcd[] = {0x0102, 0x0304, 0x0506, 0x0708};
    const uint16_t cdab[] = {0x0708, 0x0506, 0x0304, 0x0102};
    const uint16_t badc[] = {0x0201, 0x0403, 0x0605, 0x0807};
    const uint16_t dcba[] = {0x0807, 0x0605, 0x0403, 0x0201};
    check_value(REGMAP_U64, DECODE_ABCD, abcd, 4, want);
    check_value(REGMAP_U64, DECODE_CDAB, cdab, 4, want);
    check_value(REGMAP_U64, DECODE_BADC, badc, 4, want);
    check_value(REGMAP_U64, DECODE_DCBA, dcba, 4, want);
    const uint16_t s64[] = {0xFFFF, 0xFFFF, 0xFFFF, 0xFFFB};
    check_value(REGMAP_S64, DECODE_ABCD, s64, 4, -5.0);
    /* -1.5 = 0xBFF8000000000000 */
    const uint16_t f_abcd[] = {0xBFF8, 0, 0, 0}, f_dcba[] = {0, 0, 0, 0xF8BF};
    const uint16_t f_cdab[] = {0, 0, 0, 0xBFF8}, f_badc[] = {0xF8BF, 0, 0, 0};
    check_value(REGMAP_F64, DECODE_ABCD, f_abcd, 4, -1.5);
    check_value(REGMAP_F64, DECODE_DCBA, f_dcba, 4, -1.5);
    check_value(REGMAP_F64, DECODE_CDAB, f_cdab, 4, -1.5);
    check_value(REGMAP_F64, DECODE_BADC, f_badc, 4, -1.5);
}

static void test_decode_nan_inf_invalid(void **state)
{
    (void)state;
    const uint16_t nan32[] = {0x7FC0, 0x0000}, inf32[] = {0xFF80, 0x0000};
    const uint16_t nan64[] = {0x7FF8, 0, 0, 0};
    double v = 1.0;
    assert_int_equal(decode_one(REGMAP_F32, DECODE_ABCD, nan32, 2, &v), ENMON_ERR_INVALID);
    assert_int_equal(decode_one(REGMAP_F32, DECODE_ABCD, inf32, 2, &v), ENMON_ERR_INVALID);
    assert_int_equal(decode_one(REGMAP_F64, DECODE_ABCD, nan64, 4, &v), ENMON_ERR_INVALID);
    assert_true(v == 1.0);

    struct regmap_point p;
    struct regmap m = one_point(&p, REGMAP_F32, DECODE_ABCD);
    struct regmap_block b = {.kind = REGMAP_HOLDING, .start = 0, .count = 2, .words = nan32};
    struct reading r;
    memset(&r, 0, sizeof(r));
    reading_set(&r, MEAS_POWER_W, 5.0); /* a stale value must not survive */
    assert_int_equal(regmap_decode(&m, &b, 1, &r), 1);
    assert_false(reading_has(&r, MEAS_POWER_W));
}

static void test_decode_scale_offset(void **state)
{
    (void)state;
    struct regmap_point p;
    struct regmap m = one_point(&p, REGMAP_U16, DECODE_ABCD);
    const uint16_t w = 2295;
    struct regmap_block b = {.kind = REGMAP_HOLDING, .start = 0, .count = 1, .words = &w};
    double v;
    p.scale = 0.1;
    assert_int_equal(regmap_point_value(&m, 0, &b, 1, &v), ENMON_OK);
    assert_true(v == 229.5); /* exact, not 229.50000000000003 */
    p.offset = -20.0;
    assert_int_equal(regmap_point_value(&m, 0, &b, 1, &v), ENMON_OK);
    assert_true(v == 209.5);
    p.scale = -2.0;
    p.offset = 1.0;
    assert_int_equal(regmap_point_value(&m, 0, &b, 1, &v), ENMON_OK);
    assert_true(v == -4589.0);
}

static void test_decode_scale_register(void **state)
{
    (void)state;
    struct regmap_point p;
    struct regmap m = one_point(&p, REGMAP_U16, DECODE_ABCD);
    p.has_sf = 1;
    p.sf_address = 1;
    uint16_t w[2] = {12345, 0xFFFE}; /* value, SF -2 */
    struct regmap_block b = {.kind = REGMAP_HOLDING, .start = 0, .count = 2, .words = w};
    double v;
    assert_int_equal(regmap_point_value(&m, 0, &b, 1, &v), ENMON_OK);
    assert_true(v == 123.45); /* 12345 / 100, correctly rounded */
    w[1] = 3;
    assert_int_equal(regmap_point_value(&m, 0, &b, 1, &v), ENMON_OK);
    assert_true(v == 12345000.0);
    w[1] = 0x8000; /* scale factor not implemented */
    assert_int_equal(regmap_point_value(&m, 0, &b, 1, &v), ENMON_ERR_INVALID);
    w[1] = 11; /* out of -10..10 */
    assert_int_equal(regmap_point_value(&m, 0, &b, 1, &v), ENMON_ERR_INVALID);
    b.count = 1; /* scale register not read */
    assert_int_equal(regmap_point_value(&m, 0, &b, 1, &v), ENMON_ERR_NOT_FOUND);
}

static void test_decode_not_implemented(void **state)
{
    (void)state;
    struct regmap_point p;
    struct regmap m = one_point(&p, REGMAP_U32, DECODE_CDAB);
    p.has_not_impl = 1;
    p.not_impl = 0xFFFFFFFFu;
    const uint16_t ni[] = {0xFFFF, 0xFFFF}, ok[] = {0xFFFE, 0xFFFF};
    struct regmap_block b = {.kind = REGMAP_HOLDING, .start = 0, .count = 2, .words = ni};
    double v;
    assert_int_equal(regmap_point_value(&m, 0, &b, 1, &v), ENMON_ERR_INVALID);
    b.words = ok; /* 0xFFFFFFFE in CDAB: one below the sentinel is a value */
    assert_int_equal(regmap_point_value(&m, 0, &b, 1, &v), ENMON_OK);
    assert_true(v == 4294967294.0);
    /* the sentinel is the value's bits whatever the word order: 0x0000FFFF in CDAB */
    p.not_impl = 0x0000FFFFu;
    const uint16_t lo[] = {0xFFFF, 0x0000};
    b.words = lo;
    assert_int_equal(regmap_point_value(&m, 0, &b, 1, &v), ENMON_ERR_INVALID);
}

static void test_decode_strings(void **state)
{
    (void)state;
    struct regmap_point p;
    struct regmap m = one_point(&p, REGMAP_STRING, DECODE_ABCD);
    const uint16_t w[] = {0x5344, 0x4D36, 0x3330, 0x2020}; /* "SDM630  " */
    struct regmap_block b = {.kind = REGMAP_HOLDING, .start = 0, .count = 4, .words = w};
    char s[16];
    double v;
    assert_int_equal(regmap_point_string(&m, 0, &b, 1, s, sizeof(s)), ENMON_OK);
    assert_string_equal(s, "SDM630");
    assert_int_equal(regmap_point_string(&m, 0, &b, 1, s, 4), ENMON_OK);
    assert_string_equal(s, "SDM");
    assert_int_equal(regmap_point_value(&m, 0, &b, 1, &v), ENMON_ERR_INVALID);
    b.count = 3;
    assert_int_equal(regmap_point_string(&m, 0, &b, 1, s, sizeof(s)), ENMON_ERR_NOT_FOUND);
}

static void test_decode_blocks(void **state)
{
    (void)state;
    struct regmap_point p;
    struct regmap m = one_point(&p, REGMAP_U32, DECODE_ABCD);
    p.address = 101;
    const uint16_t w1[] = {1, 2, 3}, w2[] = {9, 0x0001, 0x0002, 9};
    struct regmap_block b[] = {
        {.kind = REGMAP_INPUT, .start = 100, .count = 4, .words = w2},   /* wrong kind */
        {.kind = REGMAP_HOLDING, .start = 98, .count = 3, .words = w1},  /* ends at 100 */
        {.kind = REGMAP_HOLDING, .start = 100, .count = 4, .words = w2}, /* holds 101-102 */
    };
    double v;
    assert_int_equal(regmap_point_value(&m, 0, b, 3, &v), ENMON_OK);
    assert_true(v == 65538.0);
    assert_int_equal(regmap_point_value(&m, 0, b, 2, &v), ENMON_ERR_NOT_FOUND);
    /* straddling two blocks is not found: a value is read by one request */
    p.address = 100;
    struct regmap_block split[] = {
        {.kind = REGMAP_HOLDING, .start = 99, .count = 2, .words = w1},
        {.kind = REGMAP_HOLDING, .start = 101, .count = 2, .words = w1},
    };
    assert_int_equal(regmap_point_value(&m, 0, split, 2, &v), ENMON_ERR_NOT_FOUND);
}

/* The AMI map end to end: 15 registers as the simulator serves them. */
static void test_decode_ami_reading(void **state)
{
    (void)state;
    struct regmap *m = load_shipped("enmon-ami.yaml");
    uint16_t w[15] = {
        0x0001, 0x86A0,                 /* import 100000 Wh */
        0x0000, 0x3039,                 /* export 12345 Wh */
        0xFFFF, 0xFC18,                 /* power -1000 W */
        2301,                           /* 230.1 V */
        5002,                           /* 50.02 Hz */
        0xFF38,                         /* -2.00 A */
        0xFFFF,                         /* power factor not available */
        0x0005,                         /* events */
        0x414D, 0x4931, 0x3233, 0x3400, /* "AMI1234" */
    };
    struct regmap_block b = {.kind = REGMAP_HOLDING, .start = 0, .count = 15, .words = w};
    struct reading r;
    memset(&r, 0, sizeof(r));
    reading_set(&r, MEAS_POWER_FACTOR, 0.9);   /* stale: must be cleared */
    reading_set(&r, MEAS_TEMPERATURE_C, 21.0); /* not in the map: untouched */
    assert_int_equal(regmap_decode(m, &b, 1, &r), 1);
    assert_true(r.value[MEAS_ENERGY_IMPORT_WH] == 100000.0);
    assert_true(r.value[MEAS_ENERGY_EXPORT_WH] == 12345.0);
    assert_true(r.value[MEAS_POWER_W] == -1000.0);
    assert_true(r.value[MEAS_VOLTAGE_V] == 230.1);
    assert_true(r.value[MEAS_FREQUENCY_HZ] == 50.02);
    assert_true(r.value[MEAS_CURRENT_A] == -2.0);
    assert_true(r.value[MEAS_EVENTS] == 5.0);
    assert_false(reading_has(&r, MEAS_POWER_FACTOR));
    assert_true(reading_has(&r, MEAS_TEMPERATURE_C));
    uint32_t want = (1u << MEAS_ENERGY_IMPORT_WH) | (1u << MEAS_ENERGY_EXPORT_WH) |
                    (1u << MEAS_POWER_W) | (1u << MEAS_VOLTAGE_V) | (1u << MEAS_FREQUENCY_HZ) |
                    (1u << MEAS_CURRENT_A) | (1u << MEAS_EVENTS) | (1u << MEAS_TEMPERATURE_C);
    assert_int_equal(r.valid, want);
    assert_true(r.wrap_wh[0] == 4294967296.0);
    assert_true(r.wrap_wh[1] == 4294967296.0);
    char serial[16];
    assert_int_equal(
        regmap_point_string(m, (size_t)point_index(m, "serial"), &b, 1, serial, sizeof(serial)),
        ENMON_OK);
    assert_string_equal(serial, "AMI1234");

    w[8] = 0x8000; /* current not available */
    w[9] = 950;
    assert_int_equal(regmap_decode(m, &b, 1, &r), 1);
    assert_false(reading_has(&r, MEAS_CURRENT_A));
    assert_true(r.value[MEAS_POWER_FACTOR] == 0.95);
    regmap_free(m);
}

static void test_decode_wrap_per_map(void **state)
{
    (void)state;
    uint16_t zeros[0x200];
    memset(zeros, 0, sizeof(zeros));
    struct regmap_block in = {.kind = REGMAP_INPUT, .start = 0, .count = 0x200, .words = zeros};
    struct regmap_block hold = {.kind = REGMAP_HOLDING, .start = 0, .count = 0x200, .words = zeros};
    struct reading r;

    struct regmap *em24 = load_shipped("carlo-gavazzi-em24.yaml");
    memset(&r, 0, sizeof(r));
    assert_int_equal(regmap_decode(em24, &hold, 1, &r), 0);
    assert_true(r.wrap_wh[0] == 4294967296.0 * 100.0);
    assert_true(r.wrap_wh[1] == 4294967296.0 * 100.0);
    regmap_free(em24);

    struct regmap *sdm = load_shipped("eastron-sdm630.yaml");
    memset(&r, 0, sizeof(r));
    r.wrap_wh[0] = 7.0;
    assert_int_equal(regmap_decode(sdm, &in, 1, &r), 0);
    assert_true(r.wrap_wh[0] == 0.0); /* floats do not wrap */
    assert_true(reading_has(&r, MEAS_ENERGY_IMPORT_WH));
    /* read from the wrong register kind: every measurement is missing */
    assert_int_equal(regmap_decode(sdm, &hold, 1, &r), 7);
    assert_int_equal(r.valid, 0);
    regmap_free(sdm);
}

/* EM24 registers (CDAB, fixed weights) decode to the values the meter means. */
static void test_decode_em24_cdab(void **state)
{
    (void)state;
    struct regmap *m = load_shipped("carlo-gavazzi-em24.yaml");
    uint16_t w[0x50];
    memset(w, 0, sizeof(w));
    w[0x28] = 0x3039; /* power 12345 x 0.1 = 1234.5 W, low word first */
    w[0x29] = 0x0000;
    w[0x34] = 0x0002; /* import 0x00010002 x 100 Wh */
    w[0x35] = 0x0001;
    w[0x31] = 0xFC7C; /* PF -0.900 */
    w[0x33] = 500;    /* 50.0 Hz */
    struct regmap_block b = {.kind = REGMAP_HOLDING, .start = 0, .count = 0x50, .words = w};
    struct reading r;
    memset(&r, 0, sizeof(r));
    assert_int_equal(regmap_decode(m, &b, 1, &r), 0);
    assert_true(r.value[MEAS_POWER_W] == 1234.5);
    assert_true(r.value[MEAS_ENERGY_IMPORT_WH] == 65538.0 * 100.0);
    assert_true(r.value[MEAS_POWER_FACTOR] == -0.9);
    assert_true(r.value[MEAS_FREQUENCY_HZ] == 50.0);
    regmap_free(m);
}

static void test_plan_points(void **state)
{
    (void)state;
    struct regmap *m = load_inline("name: t\n"
                                   "points:\n"
                                   "  - {name: a, address: 10, type: u32, register: input}\n"
                                   "  - {name: b, address: 20, type: s16, scale_register: 30}\n"
                                   "  - {name: c, address: 40, type: string, length: 8}\n");
    struct reqplan_point pts[4];
    assert_int_equal(regmap_plan_size(m), 4);
    assert_int_equal(regmap_plan_points(m, pts, 3), -1);
    assert_int_equal(regmap_plan_points(m, pts, 4), 4);
    assert_int_equal(pts[0].kind, REGMAP_INPUT);
    assert_int_equal(pts[0].address, 10);
    assert_int_equal(pts[0].count, 2);
    assert_int_equal(pts[1].kind, REGMAP_HOLDING);
    assert_int_equal(pts[2].address, 30);
    assert_int_equal(pts[2].count, 1);
    assert_int_equal(pts[3].count, 8);
    regmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sdm630_loads),
        cmocka_unit_test(test_em24_loads),
        cmocka_unit_test(test_ami_loads),
        cmocka_unit_test(test_bad_maps),
        cmocka_unit_test(test_missing_file),
        cmocka_unit_test(test_hex_and_negative_sentinel),
        cmocka_unit_test(test_decode_16bit),
        cmocka_unit_test(test_decode_32bit_orders),
        cmocka_unit_test(test_decode_float32_orders),
        cmocka_unit_test(test_decode_64bit_orders),
        cmocka_unit_test(test_decode_nan_inf_invalid),
        cmocka_unit_test(test_decode_scale_offset),
        cmocka_unit_test(test_decode_scale_register),
        cmocka_unit_test(test_decode_not_implemented),
        cmocka_unit_test(test_decode_strings),
        cmocka_unit_test(test_decode_blocks),
        cmocka_unit_test(test_decode_ami_reading),
        cmocka_unit_test(test_decode_wrap_per_map),
        cmocka_unit_test(test_decode_em24_cdab),
        cmocka_unit_test(test_plan_points),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
