/* test_mbtcp.c -- unit tests of the Modbus TCP client framing in src/modbus/mbtcp.c. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "mbtcp.h"

#include <string.h>

/* A reply to tid 7, unit 3, function 3, two registers 0x1234 0xABCD. */
static const uint8_t good[] = {0, 7, 0, 0, 0, 7, 3, 3, 4, 0x12, 0x34, 0xAB, 0xCD};

static void test_request(void **state)
{
    (void)state;
    uint8_t req[MBTCP_REQUEST_LEN];
    mbtcp_build_read(req, 0x0102, 17, 4, 40000, 125);
    const uint8_t want[] = {1, 2, 0, 0, 0, 6, 17, 4, 0x9C, 0x40, 0, 125};
    assert_memory_equal(req, want, sizeof(want));
}

static void test_frame_length(void **state)
{
    (void)state;
    assert_int_equal(mbtcp_frame_length(good, 6), 0);
    assert_int_equal(mbtcp_frame_length(good, sizeof(good)), 13);
    const uint8_t bad_proto[] = {0, 7, 0, 1, 0, 7, 3};
    assert_int_equal(mbtcp_frame_length(bad_proto, 7), -1);
    const uint8_t bad_len[] = {0, 7, 0, 0, 1, 0, 3};
    assert_int_equal(mbtcp_frame_length(bad_len, 7), -1);
}

static void test_good_reply(void **state)
{
    (void)state;
    uint16_t regs[2] = {0};
    assert_int_equal(mbtcp_check_read(good, sizeof(good), 7, 3, 3, 2, regs), ENMON_OK);
    assert_int_equal(regs[0], 0x1234);
    assert_int_equal(regs[1], 0xABCD);
}

static void test_mismatches(void **state)
{
    (void)state;
    uint16_t regs[2];
    uint8_t f[sizeof(good)];
    /* another transaction: a late answer, skipped */
    assert_int_equal(mbtcp_check_read(good, sizeof(good), 8, 3, 3, 2, regs), MBTCP_STALE);
    /* another unit, function or register count */
    assert_int_equal(mbtcp_check_read(good, sizeof(good), 7, 4, 3, 2, regs), ENMON_ERR_BAD_REPLY);
    assert_int_equal(mbtcp_check_read(good, sizeof(good), 7, 3, 4, 2, regs), ENMON_ERR_BAD_REPLY);
    assert_int_equal(mbtcp_check_read(good, sizeof(good), 7, 3, 3, 3, regs), ENMON_ERR_BAD_REPLY);
    /* a byte count that disagrees with the frame */
    memcpy(f, good, sizeof(f));
    f[8] = 2;
    assert_int_equal(mbtcp_check_read(f, sizeof(f), 7, 3, 3, 2, regs), ENMON_ERR_BAD_REPLY);
    /* truncated */
    assert_int_equal(mbtcp_check_read(good, sizeof(good) - 1, 7, 3, 3, 2, regs),
                     ENMON_ERR_BAD_REPLY);
}

static void test_exceptions(void **state)
{
    (void)state;
    uint16_t regs[1];
    uint8_t f[] = {0, 1, 0, 0, 0, 3, 9, 0x83, 0};
    const struct {
        uint8_t code;
        int err;
    } cases[] = {{1, ENMON_ERR_REJECTED}, {2, ENMON_ERR_REJECTED}, {3, ENMON_ERR_REJECTED},
                 {4, ENMON_ERR_MODBUS},   {6, ENMON_ERR_BUSY},     {10, ENMON_ERR_GATEWAY},
                 {11, ENMON_ERR_GATEWAY}};
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        f[8] = cases[i].code;
        assert_int_equal(mbtcp_check_read(f, sizeof(f), 1, 9, 3, 1, regs), cases[i].err);
    }
    /* an exception for another function is a mismatch */
    f[7] = 0x84;
    assert_int_equal(mbtcp_check_read(f, sizeof(f), 1, 9, 3, 1, regs), ENMON_ERR_BAD_REPLY);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_request),    cmocka_unit_test(test_frame_length),
        cmocka_unit_test(test_good_reply), cmocka_unit_test(test_mismatches),
        cmocka_unit_test(test_exceptions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
