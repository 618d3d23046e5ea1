/* test_block_codec.c -- raw readings packed into blocks: exact bytes, bit-exact round trips. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "block_codec.h"
#include "err.h"

#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#define T0 1717200000000LL /* 2024-06-01 00:00:00 UTC */
#define COL_POWER 0
#define COL_IMPORT 1
#define COL_VOLTAGE 3
#define COL_CURRENT 4
#define COL_STATE 9
#define COL_EVENTS 10
#define COL_M4_POWER 22

static void set(struct block_row *r, int c, double v)
{
    r->present |= 1u << c;
    r->v[c] = v;
}

static uint64_t bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

/* Encodes, decodes and checks every time, quality, presence bit and value bit. */
static size_t round_trip(const struct block_row *rows, size_t n)
{
    size_t cap = block_encode_bound(n);
    uint8_t *buf = malloc(cap);
    struct block_row *back = calloc(n + 1, sizeof(*back));
    assert_non_null(buf);
    assert_non_null(back);
    size_t len = block_encode(rows, n, buf, cap);
    assert_true(len > 0);
    size_t got = 0;
    assert_int_equal(block_decode(buf, len, back, n, &got), ENMON_OK);
    assert_int_equal(got, n);
    for (size_t r = 0; r < n; r++) {
        assert_true(back[r].ts_ms == rows[r].ts_ms);
        assert_true(back[r].quality == rows[r].quality);
        assert_int_equal(back[r].present, rows[r].present);
        for (int c = 0; c < BLOCK_COLS; c++)
            if ((rows[r].present >> c) & 1u)
                assert_true(bits(back[r].v[c]) == bits(rows[r].v[c]));
    }
    free(buf);
    free(back);
    return len;
}

static void test_exact_bytes(void **state)
{
    (void)state;
    struct block_row rows[2] = {{.ts_ms = 1000}, {.ts_ms = 61000}};
    set(&rows[0], COL_POWER, 300.0);
    set(&rows[1], COL_POWER, 301.5);
    uint8_t buf[256];
    size_t len = block_encode(rows, 2, buf, sizeof(buf));
    /* n = 2: 02. Times: zigzag(1000) = 2000 = 15 x 128 + 80: D0 0F; then the delta of
     * the delta 60000 - 0, zigzag 120000 = 7 x 16384 + 41 x 128 + 64: C0 A9 07. Quality
     * 0, 0: 00 00. power_w: 301.5 is no integer, x 10 both are: scale 1, all present:
     * header 1 | 1 << 4 | 4 = 15; 3000 -> zigzag 6000 = 46 x 128 + 112: F0 2E; then
     * 3015 - 3000 = 15 -> zigzag 30: 1E. The other 27 columns (BLOCK_COLS - 1): 00 each. */
    static const uint8_t want[12] = {0x02, 0xD0, 0x0F, 0xC0, 0xA9, 0x07,
                                     0x00, 0x00, 0x15, 0xF0, 0x2E, 0x1E};
    assert_int_equal(len, 12 + 27);
    assert_memory_equal(buf, want, sizeof(want));
    for (size_t i = 12; i < len; i++)
        assert_int_equal(buf[i], 0);
    assert_int_equal(block_encode(rows, 2, buf, len - 1), 0); /* one byte short */
    round_trip(rows, 2);
}

static void test_absent_values_bitmap(void **state)
{
    (void)state;
    struct block_row rows[10];
    memset(rows, 0, sizeof(rows));
    for (int r = 0; r < 10; r++) {
        rows[r].ts_ms = T0 + r * 60000LL;
        if (r % 3 == 0) /* rows 0, 3, 6, 9 */
            set(&rows[r], COL_VOLTAGE, 230.1 + r);
    }
    uint8_t buf[512];
    size_t len = block_encode(rows, 10, buf, sizeof(buf));
    /* the voltage column: header scale 1 without the all-present bit (0x11), then the
     * bitmap of 10 rows in 2 bytes: rows 0, 3, 6 -> 0b01001001 = 0x49, row 9 -> 0x02 */
    const uint8_t head[3] = {0x11, 0x49, 0x02};
    size_t at = 0;
    while (at + 3 <= len && memcmp(buf + at, head, 3) != 0)
        at++;
    assert_true(at + 3 <= len);
    round_trip(rows, 10);
}

static void test_raw_and_scaled_values(void **state)
{
    (void)state;
    struct block_row rows[8];
    memset(rows, 0, sizeof(rows));
    const double odd[8] = {1.0 / 3.0, -0.0, 1e300, DBL_MIN / 4, -DBL_MAX, 2.5e-7, 7.0, -1e-300};
    for (int r = 0; r < 8; r++) {
        rows[r].ts_ms = T0 + r;
        set(&rows[r], COL_CURRENT, odd[r]);                 /* no scale fits: 8 raw bytes */
        set(&rows[r], COL_IMPORT, 4294967295.0 - r * 0.25); /* counter near 2^32, scale 2 */
        set(&rows[r], COL_M4_POWER, (r - 4) * 0.000001);    /* scale 6 */
        set(&rows[r], COL_STATE, r + 1);
        set(&rows[r], COL_EVENTS, 4294967295.0 - r); /* an event bitfield, all bits */
    }
    round_trip(rows, 8);
    /* a NaN (the store writes NULL instead, but the codec keeps every bit) and infinities */
    rows[2].v[COL_CURRENT] = nan("0x12345");
    rows[3].v[COL_CURRENT] = INFINITY;
    rows[4].v[COL_IMPORT] = -INFINITY;
    round_trip(rows, 8);
}

static void test_counter_resets(void **state)
{
    (void)state;
    /* an energy counter that resets, wraps at 2^32 and jumps: deltas of both signs */
    const double wh[6] = {4294967000.0, 4294967295.0, 100.0, 0.0, 9007199254740.0, 12.5};
    struct block_row rows[6];
    memset(rows, 0, sizeof(rows));
    for (int r = 0; r < 6; r++) {
        rows[r].ts_ms = T0 + r * 1000LL;
        set(&rows[r], COL_IMPORT, wh[r]);
    }
    round_trip(rows, 6);
}

static void test_irregular_times(void **state)
{
    (void)state;
    /* out of order, repeated, negative, huge gaps, the int64 extremes; quality of any value */
    const int64_t ts[9] = {T0, T0 + 59873, T0 + 59873, T0 - 86400000LL, 0,
                           -1, INT64_MAX,  INT64_MIN,  T0 + 3};
    struct block_row rows[9];
    memset(rows, 0, sizeof(rows));
    for (int r = 0; r < 9; r++) {
        rows[r].ts_ms = ts[r];
        rows[r].quality = r == 4 ? -7 : r % 2;
        set(&rows[r], COL_POWER, r * 10.0);
    }
    round_trip(rows, 9);
    round_trip(rows, 1);
    assert_int_equal(round_trip(rows, 0), 1 + BLOCK_COLS); /* n and BLOCK_COLS empty columns */
}

static void test_meter_hour_size(void **state)
{
    (void)state;
    /* an hour of a household meter read every minute, as bench/store_bench writes it
     * but with the current at the register's 0.01 A: about 12 bytes a reading */
    struct block_row rows[60];
    memset(rows, 0, sizeof(rows));
    for (int k = 0; k < 60; k++) {
        double load = 300.0 + (double)((37u + (unsigned)k * 11u) % 900u);
        rows[k].ts_ms = T0 + k * 60000LL + (k % 3) * 7; /* a few ms of jitter */
        set(&rows[k], COL_POWER, load);
        set(&rows[k], COL_IMPORT, 2500000.0 + k * 8.0);
        set(&rows[k], 2, 1000.0);
        set(&rows[k], COL_VOLTAGE, 220.0 + (double)(k % 50) / 10.0);
        set(&rows[k], COL_CURRENT, round(load / 220.0 * 100.0) / 100.0);
        set(&rows[k], 5, 60.0 + (double)(k % 5) / 100.0);
        set(&rows[k], 6, 0.96);
        set(&rows[k], COL_EVENTS, 0);
    }
    size_t len = round_trip(rows, 60);
    assert_true(len < 60 * 14);
}

static void test_malformed(void **state)
{
    (void)state;
    struct block_row rows[4];
    memset(rows, 0, sizeof(rows));
    for (int r = 0; r < 4; r++) {
        rows[r].ts_ms = T0 + r * 60000LL;
        set(&rows[r], COL_POWER, r * 1.5);
        set(&rows[r], COL_CURRENT, 1.0 / (r + 3));
    }
    uint8_t buf[512];
    size_t len = block_encode(rows, 4, buf, sizeof(buf));
    struct block_row back[4];
    size_t n = 99;
    for (size_t cut = 0; cut < len; cut++) /* every truncation is refused */
        assert_int_equal(block_decode(buf, cut, back, 4, &n), ENMON_ERR_PARSE);
    buf[len] = 0;
    assert_int_equal(block_decode(buf, len + 1, back, 4, &n), ENMON_ERR_PARSE); /* trailing */
    assert_int_equal(block_decode(buf, len, back, 3, &n), ENMON_ERR_RANGE);
    assert_int_equal(n, 0);
    assert_int_equal(block_count(buf, len, &n), ENMON_OK);
    assert_int_equal(n, 4);
    uint8_t bad[2] = {0x01, 0xff}; /* an unterminated varint */
    assert_int_equal(block_decode(bad, 2, back, 4, &n), ENMON_ERR_PARSE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_bytes),
        cmocka_unit_test(test_absent_values_bitmap),
        cmocka_unit_test(test_raw_and_scaled_values),
        cmocka_unit_test(test_counter_resets),
        cmocka_unit_test(test_irregular_times),
        cmocka_unit_test(test_meter_hour_size),
        cmocka_unit_test(test_malformed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
