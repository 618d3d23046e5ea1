/* test_poll_lateness.c -- the poller's sliding window of poll lateness (p99 and worst). */
#include "poller.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#define S POLL_LATE_SLOT_MS

static struct poll_lateness *window(void)
{
    struct poll_lateness *w = malloc(sizeof(*w));
    assert_non_null(w);
    poll_lateness_init(w);
    return w;
}

/* Reading the window changes nothing: a second reader (another scraper, /api/status, the
 * stats line) sees what the first saw. The old poller reset its histogram on every read. */
static void test_readers_do_not_disturb_each_other(void **state)
{
    (void)state;
    struct poll_lateness *w = window();
    int64_t p99, max;
    poll_lateness_get(w, 0, &p99, &max);
    assert_true(p99 == 0 && max == 0); /* nothing counted */
    /* 200 polls at t = 1 s: 197 on time, 2 late 55 ms, 1 late 734 ms. The p99 is the first
     * 10 ms bucket where the running count reaches 99 % of 200 = 198 polls: 197 in bucket 0,
     * 199 in bucket 5 (50..59 ms): 50 ms. */
    for (int i = 0; i < 197; i++)
        poll_lateness_add(w, 1000, 0);
    poll_lateness_add(w, 1000, 55);
    poll_lateness_add(w, 1000, 55);
    poll_lateness_add(w, 1000, 734);
    for (int reader = 0; reader < 3; reader++) {
        poll_lateness_get(w, 2000, &p99, &max);
        assert_int_equal(p99, 50);
        assert_int_equal(max, 734);
    }
    free(w);
}

/* The window is the current 10 s slot and the five before it: a poll counted at t = 5 s
 * (slot 0) is in until t = 59.999 s (slot 5) and out from t = 60 s (slot 6). */
static void test_window_slides(void **state)
{
    (void)state;
    struct poll_lateness *w = window();
    int64_t p99, max;
    poll_lateness_add(w, 5000, 900); /* slot 0 */
    for (int i = 0; i < 99; i++)
        poll_lateness_add(w, 25000, 20); /* slot 2 */
    /* 100 polls: 99 in bucket 2 (20 ms) = 99 % of 100: p99 20 ms; worst 900 */
    poll_lateness_get(w, 59999, &p99, &max);
    assert_int_equal(p99, 20);
    assert_int_equal(max, 900);
    poll_lateness_get(w, 60000, &p99, &max); /* slot 0 has left the window */
    assert_int_equal(p99, 20);
    assert_int_equal(max, 20);
    poll_lateness_get(w, 80000, &p99, &max); /* slot 8: slot 2 left too */
    assert_true(p99 == 0 && max == 0);
    /* A slot reused a window later starts afresh: slot 6 takes slot 0's place (its 900 ms
     * goes). Read at 61 s the window is slots 1..6: slot 2's 99 polls at 20 ms and this one
     * at 30 ms, 100 polls, 99 % reached at 20 ms; the worst is 30 ms. */
    poll_lateness_add(w, 61000, 30);
    poll_lateness_get(w, 61000, &p99, &max);
    assert_int_equal(p99, 20);
    assert_int_equal(max, 30);
    free(w);
}

/* Lateness of 10 s and more shares the last bucket; early starts count as on time. */
static void test_edges(void **state)
{
    (void)state;
    struct poll_lateness *w = window();
    int64_t p99, max;
    poll_lateness_add(w, S, -40);
    poll_lateness_get(w, S, &p99, &max);
    assert_true(p99 == 0 && max == 0);
    poll_lateness_add(w, S, 25000);
    poll_lateness_add(w, S, 25000);
    poll_lateness_get(w, S, &p99, &max); /* 3 polls, 2 of them in the last bucket (10 s) */
    assert_int_equal(p99, 10000);
    assert_int_equal(max, 25000);
    free(w);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_readers_do_not_disturb_each_other),
        cmocka_unit_test(test_window_slides),
        cmocka_unit_test(test_edges),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
