/* test_decode.c -- unit tests of the pure register decoding in src/modbus/decode.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "decode.h"

#include <math.h>
#include <string.h>

/* 0x12345678 laid out in each word order */
static const uint16_t abcd[] = {0x1234, 0x5678};
static const uint16_t cdab[] = {0x5678, 0x1234};
static const uint16_t badc[] = {0x3412, 0x7856};
static const uint16_t dcba[] = {0x7856, 0x3412};

static void test_word_orders_32(void **state)
{
    (void)state;
    assert_int_equal(decode_bits(abcd, 2, DECODE_ABCD), 0x12345678u);
    assert_int_equal(decode_bits(cdab, 2, DECODE_CDAB), 0x12345678u);
    assert_int_equal(decode_bits(badc, 2, DECODE_BADC), 0x12345678u);
    assert_int_equal(decode_bits(dcba, 2, DECODE_DCBA), 0x12345678u);
    /* the wrong order gives a different number */
    assert_int_not_equal(decode_bits(cdab, 2, DECODE_ABCD), 0x12345678u);
}

static void test_word_orders_64(void **state)
{
    (void)state;
    const uint16_t be[] = {0x0102, 0x0304, 0x0506, 0x0708};
    const uint16_t le_words[] = {0x0708, 0x0506, 0x0304, 0x0102};
    const uint16_t swapped[] = {0x0201, 0x0403, 0x0605, 0x0807};
    const uint16_t le[] = {0x0807, 0x0605, 0x0403, 0x0201};
    assert_true(decode_bits(be, 4, DECODE_ABCD) == 0x0102030405060708ull);
    assert_true(decode_bits(le_words, 4, DECODE_CDAB) == 0x0102030405060708ull);
    assert_true(decode_bits(swapped, 4, DECODE_BADC) == 0x0102030405060708ull);
    assert_true(decode_bits(le, 4, DECODE_DCBA) == 0x0102030405060708ull);
}

static void test_integer_types(void **state)
{
    (void)state;
    double v;
    uint16_t w16 = 0xFFFE;
    assert_int_equal(decode_value(&w16, DECODE_U16, DECODE_ABCD, &v), 0);
    assert_true(v == 65534.0);
    assert_int_equal(decode_value(&w16, DECODE_S16, DECODE_ABCD, &v), 0);
    assert_true(v == -2.0);
    const uint16_t w32[] = {0xFFFF, 0xFFF6};
    assert_int_equal(decode_value(w32, DECODE_S32, DECODE_ABCD, &v), 0);
    assert_true(v == -10.0);
    assert_int_equal(decode_value(w32, DECODE_U32, DECODE_ABCD, &v), 0);
    assert_true(v == 4294967286.0);
    const uint16_t w64[] = {0xFFFF, 0xFFFF, 0xFFFF, 0xFF9C};
    assert_int_equal(decode_value(w64, DECODE_S64, DECODE_ABCD, &v), 0);
    assert_true(v == -100.0);
    const uint16_t u64[] = {0x0000, 0x0001, 0x0000, 0x0000};
    assert_int_equal(decode_value(u64, DECODE_U64, DECODE_ABCD, &v), 0);
    assert_true(v == 4294967296.0);
}

static void test_floats(void **state)
{
    (void)state;
    double v;
    const uint16_t f_abcd[] = {0x4365, 0x8000}; /* 229.5f */
    const uint16_t f_cdab[] = {0x8000, 0x4365};
    assert_int_equal(decode_value(f_abcd, DECODE_F32, DECODE_ABCD, &v), 0);
    assert_true(v == 229.5);
    assert_int_equal(decode_value(f_cdab, DECODE_F32, DECODE_CDAB, &v), 0);
    assert_true(v == 229.5);
    const uint16_t nan32[] = {0x7FC0, 0x0000};
    assert_int_equal(decode_value(nan32, DECODE_F32, DECODE_ABCD, &v), -1);
    const uint16_t inf32[] = {0x7F80, 0x0000};
    assert_int_equal(decode_value(inf32, DECODE_F32, DECODE_ABCD, &v), -1);
    const uint16_t f64[] = {0x400E, 0x0000, 0x0000, 0x0000}; /* 3.75 */
    assert_int_equal(decode_value(f64, DECODE_F64, DECODE_ABCD, &v), 0);
    assert_true(v == 3.75);
}

static void test_scale(void **state)
{
    (void)state;
    assert_true(decode_scale(2295, -1) == 229.5);
    assert_true(decode_scale(6001, -2) == 60.01);
    assert_true(decode_scale(537, -2) == 5.37);
    assert_true(decode_scale(12, 3) == 12000.0);
    assert_true(decode_scale(-5, 0) == -5.0);
}

/* float32 values as the shortest decimal that reads back as the same float */
static void test_f32_shortest(void **state)
{
    (void)state;
    /* 59.98f is 59.979999542236328125; "59.98" reads back (strtof) as the same float */
    assert_true((double)59.98f != 59.98);
    assert_true(decode_f32_shortest((double)59.98f) == 59.98);
    assert_true(decode_f32_shortest((double)0.95f) == 0.95);
    assert_true(decode_f32_shortest((double)-0.1f) == -0.1);
    assert_true(decode_f32_shortest((double)229.7f) == 229.7);
    assert_true(decode_f32_shortest((double)1234567.0f) == 1234567.0);
    /* the float after 1 (1 + 2^-23 = 1.00000011920928955...) needs 8 digits: 1.0000001 */
    assert_true(decode_f32_shortest(1.0 + ldexp(1.0, -23)) == 1.0000001);
    /* 16777217 is not a float32 (2^24 + 1): a double passes unchanged, so does 0.1 */
    assert_true(decode_f32_shortest(16777217.0) == 16777217.0);
    assert_true(decode_f32_shortest(0.1) == 0.1);
    assert_true(isinf(decode_f32_shortest(INFINITY)));
}

static void test_string(void **state)
{
    (void)state;
    const uint16_t w[] = {0x656E, 0x6D6F, 0x6E2D, 0x7369, 0x6D00, 0x4141}; /* "enmon-sim\0AA" */
    char out[32];
    decode_string(w, 6, out, sizeof(out));
    assert_string_equal(out, "enmon-sim");
    const uint16_t padded[] = {0x4142, 0x2020};
    decode_string(padded, 2, out, sizeof(out));
    assert_string_equal(out, "AB");
    char tiny[3];
    decode_string(w, 6, tiny, sizeof(tiny));
    assert_string_equal(tiny, "en");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_word_orders_32), cmocka_unit_test(test_word_orders_64),
        cmocka_unit_test(test_integer_types),  cmocka_unit_test(test_floats),
        cmocka_unit_test(test_scale),          cmocka_unit_test(test_string),
        cmocka_unit_test(test_f32_shortest),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
