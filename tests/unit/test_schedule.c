/* test_schedule.c -- the poll schedule: deadline heap order, drift-free next deadlines, spread, backoff. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "schedule.h"

#define T0 1000000LL /* an arbitrary CLOCK_MONOTONIC start, in ms */

static void test_next_due_never_drifts(void **state)
{
    (void)state;
    /* due at T0, interval 1000: each poll finishing 37 ms late still gives
     * T0 + 1000, + 2000 ... (next += interval), never T0 + 1037, + 2074 ... */
    int64_t due = T0;
    for (int i = 1; i <= 1000; i++) {
        due = schedule_next_due(due, 1000, due + 37);
        assert_true(due == T0 + 1000LL * i);
    }
    /* finishing exactly on the next slot: that slot has passed, the one after it */
    assert_true(schedule_next_due(T0, 1000, T0 + 1000) == T0 + 2000);
}

static void test_next_due_skips_missed_slots(void **state)
{
    (void)state;
    /* due T0, interval 1000, done at T0 + 3250 (slots T0+1000..T0+3000 missed):
     * next in phase after now is T0 + 4000 = now + 1000 - (3250 - 1000) % 1000 */
    assert_true(schedule_next_due(T0, 1000, T0 + 3250) == T0 + 4000);
    /* interval 15000, done at T0 + 15001: next slot T0 + 30000 */
    assert_true(schedule_next_due(T0, 15000, T0 + 15001) == T0 + 30000);
    /* done before the next slot: plain due + interval */
    assert_true(schedule_next_due(T0, 15000, T0 + 14999) == T0 + 15000);
}

static void test_first_polls_spread(void **state)
{
    (void)state;
    /* 4 devices at 1000 ms on one link: 0, 250, 500, 750 ms after start */
    for (size_t k = 0; k < 4; k++)
        assert_true(schedule_first_due(T0, 1000, k, 4) == T0 + 250LL * (int64_t)k);
    /* 3 devices at 1000 ms: 1000 * k / 3 rounds down: 0, 333, 666 */
    assert_true(schedule_first_due(T0, 1000, 1, 3) == T0 + 333);
    assert_true(schedule_first_due(T0, 1000, 2, 3) == T0 + 666);
    /* one device: at once */
    assert_true(schedule_first_due(T0, 60000, 0, 1) == T0);
    /* a spread of 300 devices every 3 600 000 ms stays below the interval and strictly rising */
    int64_t prev = T0 - 1;
    for (size_t k = 0; k < 300; k++) {
        int64_t due = schedule_first_due(T0, 3600000, k, 300);
        assert_true(due > prev && due < T0 + 3600000);
        prev = due;
    }
}

static void test_retry_backs_off(void **state)
{
    (void)state;
    /* interval 1000: after fail 1, 2, 3 ... wait 1000, 2000, 4000, 8000, 16000, 32000, then
     * 64000 is capped at 60000 (and stays there: the shift stops at 6) */
    const int64_t want[] = {1000, 2000, 4000, 8000, 16000, 32000, 60000, 60000, 60000};
    for (int f = 1; f <= 9; f++)
        assert_true(schedule_retry_due(1000, f, T0) == T0 + want[f - 1]);
    /* an interval longer than the cap: never waits less than the interval nor more */
    assert_true(schedule_retry_due(300000, 1, T0) == T0 + 300000);
    assert_true(schedule_retry_due(300000, 5, T0) == T0 + 300000);
    /* 20000 x 4 = 80000 > 60000 on the third failure */
    assert_true(schedule_retry_due(20000, 2, T0) == T0 + 40000);
    assert_true(schedule_retry_due(20000, 3, T0) == T0 + 60000);
}

static void test_heap_orders_many_links(void **state)
{
    (void)state;
    enum { N = 500 };
    static int items[N];
    struct schedule s;
    assert_int_equal(schedule_init(&s, N), ENMON_OK);
    assert_true(schedule_peek_due(&s) == INT64_MAX);
    assert_null(schedule_pop(&s));
    /* deadlines in a scrambled order: (i * 7919) % N is a permutation of 0..N-1 */
    for (int i = 0; i < N; i++) {
        int k = (i * 7919) % N;
        items[k] = k;
        assert_int_equal(schedule_push(&s, T0 + 10LL * k, &items[k]), ENMON_OK);
    }
    assert_int_equal(schedule_push(&s, T0, &items[0]), ENMON_ERR_FULL);
    for (int i = 0; i < N; i++) {
        assert_true(schedule_peek_due(&s) == T0 + 10LL * i);
        int *it = schedule_pop(&s);
        assert_non_null(it);
        assert_int_equal(*it, i);
    }
    assert_int_equal(s.len, 0);
    schedule_free(&s);
}

static void test_heap_pop_push_cycle(void **state)
{
    (void)state;
    /* three links at 1000, 1500 and 4000 ms polled as a worker does: pop the
     * earliest, push it back at its next deadline; the order of polls follows. */
    int a = 'a', b = 'b', c = 'c';
    int period[128] = {['a'] = 1000, ['b'] = 1500, ['c'] = 4000};
    int64_t due[128] = {['a'] = T0, ['b'] = T0 + 1, ['c'] = T0 + 2};
    struct schedule s;
    assert_int_equal(schedule_init(&s, 3), ENMON_OK);
    schedule_push(&s, due['a'], &a);
    schedule_push(&s, due['b'], &b);
    schedule_push(&s, due['c'], &c);
    char order[16] = "";
    for (int i = 0; i < 12; i++) {
        int64_t now = schedule_peek_due(&s);
        int *it = schedule_pop(&s);
        order[i] = (char)*it;
        due[*it] = schedule_next_due(due[*it], period[*it], now);
        schedule_push(&s, due[*it], it);
    }
    /* T0 a, +1 b, +2 c, +1000 a, +1501 b, +2000 a, +3000 a, +3001 b, +4000 a, +4002 c,
     * +4501 b, +5000 a */
    assert_string_equal(order, "abcabaabacba");
    schedule_free(&s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_next_due_never_drifts),
        cmocka_unit_test(test_next_due_skips_missed_slots),
        cmocka_unit_test(test_first_polls_spread),
        cmocka_unit_test(test_retry_backs_off),
        cmocka_unit_test(test_heap_orders_many_links),
        cmocka_unit_test(test_heap_pop_push_cycle),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
