/* test_reqplan.c -- request planning: merging, gaps, the 125 limit, kinds, split fallback. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "regmap.h"
#include "reqplan.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>

#define H 0 /* holding */
#define I 1 /* input */

static void expect_req(const struct reqplan_req *r, int kind, int start, int count)
{
    if (r->kind != kind || r->start != start || r->count != count)
        print_error("got kind %d start %d count %d, want %d %d %d\n", r->kind, r->start, r->count,
                    kind, start, count);
    assert_int_equal(r->kind, kind);
    assert_int_equal(r->start, start);
    assert_int_equal(r->count, count);
}

static void test_adjacent_merge(void **state)
{
    (void)state;
    const struct reqplan_point pts[] = {{H, 4, 2}, {H, 0, 2}, {H, 2, 2}, {H, 6, 1}};
    struct reqplan_req out[4];
    assert_int_equal(reqplan_build(pts, 4, 125, 0, out, 4), 1);
    expect_req(&out[0], H, 0, 7);
}

static void test_gap(void **state)
{
    (void)state;
    /* registers 0-1, then 10-11: a gap of 8 unused registers (2..9) */
    const struct reqplan_point pts[] = {{H, 0, 2}, {H, 10, 2}};
    struct reqplan_req out[2];
    assert_int_equal(reqplan_build(pts, 2, 125, 8, out, 2), 1);
    expect_req(&out[0], H, 0, 12);
    assert_int_equal(reqplan_build(pts, 2, 125, 7, out, 2), 2);
    expect_req(&out[0], H, 0, 2);
    expect_req(&out[1], H, 10, 2);
    assert_int_equal(reqplan_build(pts, 2, 125, 0, out, 2), 2);
    assert_int_equal(reqplan_build(pts, 2, 125, REQPLAN_DEFAULT_GAP, out, 2), 1);
}

static void test_125_limit(void **state)
{
    (void)state;
    struct reqplan_point pts[200];
    struct reqplan_req out[4];
    for (int i = 0; i < 200; i++)
        pts[i] = (struct reqplan_point){H, (uint16_t)(1000 + i), 1};
    assert_int_equal(reqplan_build(pts, 200, 125, 8, out, 4), 2);
    expect_req(&out[0], H, 1000, 125);
    expect_req(&out[1], H, 1125, 75);
    /* a device limited to 64 registers per read */
    assert_int_equal(reqplan_build(pts, 200, 64, 8, out, 4), 4);
    expect_req(&out[0], H, 1000, 64);
    expect_req(&out[3], H, 1192, 8);
}

static void test_straddling_point(void **state)
{
    (void)state;
    /* 62 u32 (0..123) and an f32 at 124..125 that would make 126 registers */
    struct reqplan_point pts[63];
    struct reqplan_req out[4];
    for (int i = 0; i < 63; i++)
        pts[i] = (struct reqplan_point){I, (uint16_t)(2 * i), 2};
    assert_int_equal(reqplan_build(pts, 63, 125, 8, out, 4), 2);
    expect_req(&out[0], I, 0, 124);
    expect_req(&out[1], I, 124, 2);
}

static void test_kinds_never_merged(void **state)
{
    (void)state;
    const struct reqplan_point pts[] = {{I, 0, 2}, {H, 0, 2}, {H, 2, 2}, {I, 2, 2}};
    struct reqplan_req out[4];
    assert_int_equal(reqplan_build(pts, 4, 125, 8, out, 4), 2);
    expect_req(&out[0], H, 0, 4);
    expect_req(&out[1], I, 0, 4);
}

static void test_duplicates_and_overlaps(void **state)
{
    (void)state;
    /* duplicate points, a u16 inside a u64, a string overlapping the next point */
    const struct reqplan_point pts[] = {{H, 10, 4}, {H, 10, 4}, {H, 12, 1},
                                        {H, 20, 8}, {H, 26, 2}, {H, 10, 1}};
    struct reqplan_req out[6];
    assert_int_equal(reqplan_build(pts, 6, 125, 0, out, 6), 2);
    expect_req(&out[0], H, 10, 4);
    expect_req(&out[1], H, 20, 8);
    assert_int_equal(reqplan_build(pts, 6, 125, 8, out, 6), 1);
    expect_req(&out[0], H, 10, 18);
}

static void test_top_of_address_space(void **state)
{
    (void)state;
    const struct reqplan_point pts[] = {{H, 65532, 4}, {H, 65530, 1}};
    struct reqplan_req out[2];
    assert_int_equal(reqplan_build(pts, 2, 125, 8, out, 2), 1);
    expect_req(&out[0], H, 65530, 6);
}

static void test_bad_arguments(void **state)
{
    (void)state;
    struct reqplan_point pts[] = {{H, 0, 2}, {H, 300, 2}};
    struct reqplan_req out[2];
    errno = 0;
    assert_int_equal(reqplan_build(pts, 2, 125, 8, out, 1), -1);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(reqplan_build(pts, 2, 126, 8, out, 2), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(reqplan_build(pts, 2, 0, 8, out, 2), -1);
    assert_int_equal(reqplan_build(pts, 2, 125, -1, out, 2), -1);
    pts[1].count = 0;
    assert_int_equal(reqplan_build(pts, 2, 125, 8, out, 2), -1);
    pts[1] = (struct reqplan_point){H, 65535, 2}; /* past the last register */
    assert_int_equal(reqplan_build(pts, 2, 125, 8, out, 2), -1);
    pts[1] = (struct reqplan_point){H, 100, 8}; /* larger than max_regs */
    assert_int_equal(reqplan_build(pts, 2, 4, 8, out, 2), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(reqplan_build(NULL, 0, 125, 8, out, 0), 0);
}

static void test_split_gaps_then_halves(void **state)
{
    (void)state;
    /* merged read 0..19 across gaps: split at the gaps first */
    const struct reqplan_point pts[] = {{H, 0, 2},  {H, 4, 2}, {H, 6, 2},
                                        {H, 18, 2}, {I, 0, 2}, {H, 40, 2}};
    struct reqplan_req failed = {H, 0, 20};
    struct reqplan_req out[8];
    assert_int_equal(reqplan_split(pts, 6, &failed, out, 8), 3);
    expect_req(&out[0], H, 0, 2);
    expect_req(&out[1], H, 4, 4);
    expect_req(&out[2], H, 18, 2);
    /* the contiguous part 4..7 still fails: halved into its points */
    assert_int_equal(reqplan_split(pts, 6, &out[1], out + 3, 5), 2);
    expect_req(&out[3], H, 4, 2);
    expect_req(&out[4], H, 6, 2);
    /* one point cannot be split */
    assert_int_equal(reqplan_split(pts, 6, &out[3], out + 5, 3), 0);
}

static void test_split_contiguous_halves(void **state)
{
    (void)state;
    struct reqplan_point pts[100];
    struct reqplan_req out[8];
    for (int i = 0; i < 100; i++)
        pts[i] = (struct reqplan_point){I, (uint16_t)i, 1};
    struct reqplan_req failed = {I, 0, 100};
    assert_int_equal(reqplan_split(pts, 100, &failed, out, 8), 2);
    expect_req(&out[0], I, 0, 50);
    expect_req(&out[1], I, 50, 50);
    /* overlapping points spanning the whole request cannot be split */
    const struct reqplan_point big[] = {{H, 0, 8}, {H, 2, 2}};
    struct reqplan_req whole = {H, 0, 8};
    assert_int_equal(reqplan_split(big, 2, &whole, out, 8), 0);
}

static void test_split_repeated_reaches_points(void **state)
{
    (void)state;
    struct reqplan_point pts[16];
    for (int i = 0; i < 16; i++)
        pts[i] = (struct reqplan_point){H, (uint16_t)(2 * i), 2};
    struct reqplan_req plan[32] = {{H, 0, 32}};
    int n = 1, splits = 0;
    /* the device rejects every read longer than one point: split until none is */
    for (int round = 0; round < 100; round++) {
        int i = 0;
        while (i < n && plan[i].count <= 2)
            i++;
        if (i == n)
            break;
        struct reqplan_req parts[32];
        int k = reqplan_split(pts, 16, &plan[i], parts, 32);
        assert_int_equal(k, 2); /* halves: the points are contiguous */
        n = reqplan_replace(plan, (size_t)n, 32, (size_t)i, parts, (size_t)k);
        splits++;
    }
    assert_int_equal(splits, 15); /* a binary tree with 16 leaves */
    assert_int_equal(n, 16);
    for (int i = 0; i < 16; i++)
        expect_req(&plan[i], H, 2 * i, 2);
}

static void test_replace(void **state)
{
    (void)state;
    struct reqplan_req plan[4] = {{H, 0, 10}, {H, 20, 10}, {I, 0, 4}};
    const struct reqplan_req with[] = {{H, 20, 4}, {H, 26, 4}};
    assert_int_equal(reqplan_replace(plan, 3, 3, 1, with, 2), -1);
    assert_int_equal(errno, ENOSPC);
    assert_int_equal(reqplan_replace(plan, 3, 4, 3, with, 2), -1);
    assert_int_equal(errno, EINVAL);
    assert_int_equal(reqplan_replace(plan, 3, 4, 1, with, 2), 4);
    expect_req(&plan[0], H, 0, 10);
    expect_req(&plan[1], H, 20, 4);
    expect_req(&plan[2], H, 26, 4);
    expect_req(&plan[3], I, 0, 4);
}

static struct regmap *load_map(const char *name)
{
    char path[512];
    const char *dir = getenv("ENMON_TEST_DATA");
    struct regmap *m = NULL;
    struct cfg_error err;
    snprintf(path, sizeof(path), "%s/../../config/maps/%s", dir ? dir : "tests/data", name);
    assert_int_equal(regmap_load(path, &m, &err), ENMON_OK);
    return m;
}

static void test_sdm630_plan(void **state)
{
    (void)state;
    struct regmap *m = load_map("eastron-sdm630.yaml");
    struct reqplan_point pts[64];
    struct reqplan_req out[16];
    int n = regmap_plan_points(m, pts, 64);
    assert_int_equal(n, (int)m->npoints);
    /* 0x0000-0x004B in one read (76 registers, under Eastron's 80), then the
     * line-to-line voltages, the neutral current and the total energy */
    assert_int_equal(reqplan_build(pts, (size_t)n, 125, REQPLAN_DEFAULT_GAP, out, 16), 4);
    expect_req(&out[0], I, 0x0000, 0x4C);
    expect_req(&out[1], I, 0x00C8, 6);
    expect_req(&out[2], I, 0x00E0, 2);
    expect_req(&out[3], I, 0x0156, 2);
    /* without reading across gaps it takes many more reads */
    assert_int_equal(reqplan_build(pts, (size_t)n, 125, 0, out, 16), 11);
    regmap_free(m);
}

static void test_em24_and_ami_plans(void **state)
{
    (void)state;
    struct reqplan_point pts[64];
    struct reqplan_req out[16];
    struct regmap *m = load_map("carlo-gavazzi-em24.yaml");
    int n = regmap_plan_points(m, pts, 64);
    assert_int_equal(reqplan_build(pts, (size_t)n, 125, REQPLAN_DEFAULT_GAP, out, 16), 3);
    expect_req(&out[0], H, 0x00, 0x18);
    expect_req(&out[1], H, 0x24, 0x36 - 0x24);
    expect_req(&out[2], H, 0x4E, 2);
    regmap_free(m);
    m = load_map("enmon-ami.yaml");
    n = regmap_plan_points(m, pts, 64);
    assert_int_equal(reqplan_build(pts, (size_t)n, 125, REQPLAN_DEFAULT_GAP, out, 16), 1);
    expect_req(&out[0], H, 0, 15);
    regmap_free(m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_adjacent_merge),
        cmocka_unit_test(test_gap),
        cmocka_unit_test(test_125_limit),
        cmocka_unit_test(test_straddling_point),
        cmocka_unit_test(test_kinds_never_merged),
        cmocka_unit_test(test_duplicates_and_overlaps),
        cmocka_unit_test(test_top_of_address_space),
        cmocka_unit_test(test_bad_arguments),
        cmocka_unit_test(test_split_gaps_then_halves),
        cmocka_unit_test(test_split_contiguous_halves),
        cmocka_unit_test(test_split_repeated_reaches_points),
        cmocka_unit_test(test_replace),
        cmocka_unit_test(test_sdm630_plan),
        cmocka_unit_test(test_em24_and_ami_plans),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
