/* test_inflight.c -- MQTT messages in flight: acks out of order, the prefix mark, full, wrap. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "inflight.h"

/* Acknowledgements in any order: the mark moves only over the acknowledged
 * prefix of the publish order. */
static void test_out_of_order_acks(void **state)
{
    struct inflight *f = inflight_new(5);
    assert_non_null(f);
    assert_int_equal(inflight_mark(f), 5);
    inflight_push(f, 1, 1, 10);
    inflight_push(f, 2, 1, 11);
    inflight_push(f, 3, 1, 12);
    assert_int_equal(inflight_len(f), 3);

    inflight_ack(f, 3); /* the last one first: rows 10 and 11 are still out */
    inflight_advance(f);
    assert_int_equal(inflight_mark(f), 5);
    assert_int_equal(inflight_len(f), 3);

    inflight_ack(f, 1); /* row 10 done; 11 holds 12 back */
    inflight_advance(f);
    assert_int_equal(inflight_mark(f), 10);
    assert_int_equal(inflight_len(f), 2);

    inflight_ack(f, 2); /* the gap closes: 11 and the already acknowledged 12 */
    inflight_advance(f);
    assert_int_equal(inflight_mark(f), 12);
    assert_int_equal(inflight_len(f), 0);
    inflight_free(f);
}

/* QoS 0 messages count as acknowledged at once; messages without a row
 * (seq 0: status, availability, alerts) never move the mark back. */
static void test_qos0_and_other_messages(void **state)
{
    struct inflight *f = inflight_new(0);
    assert_non_null(f);
    inflight_push(f, 0, 0, 20); /* QoS 0, nothing before it: consumed at once */
    assert_int_equal(inflight_mark(f), 20);
    assert_int_equal(inflight_len(f), 0);

    inflight_push(f, 7, 1, 0);  /* availability, QoS 1 */
    inflight_push(f, 0, 0, 21); /* QoS 0 state behind it waits for it */
    assert_int_equal(inflight_len(f), 2);
    assert_int_equal(inflight_mark(f), 20);
    inflight_ack(f, 7);
    inflight_advance(f);
    assert_int_equal(inflight_mark(f), 21);
    assert_int_equal(inflight_len(f), 0);

    inflight_push(f, 8, 1, 0);
    inflight_ack(f, 8);
    inflight_advance(f);
    assert_int_equal(inflight_mark(f), 21); /* seq 0 leaves the mark alone */
    inflight_free(f);
}

/* The mark jumps over skipped rows only while nothing is in flight. */
static void test_set_mark_idle(void **state)
{
    struct inflight *f = inflight_new(3);
    assert_non_null(f);
    inflight_set_mark_idle(f, 9);
    assert_int_equal(inflight_mark(f), 9);
    inflight_push(f, 1, 1, 10);
    inflight_set_mark_idle(f, 50); /* row 10 not acknowledged: ignored */
    assert_int_equal(inflight_mark(f), 9);
    inflight_ack(f, 1);
    inflight_advance(f);
    assert_int_equal(inflight_mark(f), 10);
    inflight_free(f);
}

/* INFLIGHT_MIDS - 1 = 65535 unacknowledged messages fill the ring; one
 * acknowledgement at the head frees one place. */
static void test_ring_full(void **state)
{
    struct inflight *f = inflight_new(0);
    assert_non_null(f);
    for (int i = 1; i < INFLIGHT_MIDS; i++) {
        assert_false(inflight_full(f));
        inflight_push(f, i, 1, i);
    }
    assert_true(inflight_full(f));
    assert_int_equal(inflight_len(f), INFLIGHT_MIDS - 1);
    assert_int_equal(inflight_mark(f), 0);

    inflight_ack(f, 2); /* not the head: still full */
    inflight_advance(f);
    assert_true(inflight_full(f));
    inflight_ack(f, 1); /* the head: rows 1 and 2 leave */
    inflight_advance(f);
    assert_false(inflight_full(f));
    assert_int_equal(inflight_len(f), INFLIGHT_MIDS - 3);
    assert_int_equal(inflight_mark(f), 2);
    inflight_free(f);
}

/* Around the end of the ring (positions 65530..65535, then 0..3) and with
 * message ids reduced modulo 65536 (65536 + 4 is id 4): the prefix rule holds. */
static void test_wrap(void **state)
{
    struct inflight *f = inflight_new(0);
    assert_non_null(f);
    /* 65530 messages acknowledged at once move the head to position 65530 */
    for (int i = 0; i < INFLIGHT_MIDS - 6; i++) {
        inflight_push(f, 0, 0, 1000 + i);
    }
    assert_int_equal(inflight_len(f), 0);
    int64_t base = 1000 + INFLIGHT_MIDS - 7; /* last seq pushed: 66529 */
    assert_int_equal(inflight_mark(f), base);

    /* ten messages: positions 65530..65535 and 0..3, ids 65530..65535, 65536+0..3 */
    for (int k = 0; k < 10; k++)
        inflight_push(f, INFLIGHT_MIDS - 6 + k, 1, base + 1 + k);
    assert_int_equal(inflight_len(f), 10);

    /* acknowledged from the last to the second: nothing moves */
    for (int k = 9; k >= 1; k--) {
        inflight_ack(f, INFLIGHT_MIDS - 6 + k);
        inflight_advance(f);
        assert_int_equal(inflight_mark(f), base);
        assert_int_equal(inflight_len(f), 10);
    }
    inflight_ack(f, INFLIGHT_MIDS - 6); /* the head: all ten go, across the wrap */
    inflight_advance(f);
    assert_int_equal(inflight_mark(f), base + 10);
    assert_int_equal(inflight_len(f), 0);

    /* an id acknowledged as 65536 + 4 is the id 4 pushed as 4 */
    inflight_push(f, 4, 1, base + 11);
    inflight_ack(f, INFLIGHT_MIDS + 4);
    inflight_advance(f);
    assert_int_equal(inflight_mark(f), base + 11);
    inflight_free(f);
}

/* Message numbers for the live feed: a live message (seq 0) numbered k is
 * acknowledged once k < consumed; a row matched to it is then pushed as a QoS 0
 * entry and moves the mark in order behind what is still in flight. */
static void test_live_numbers(void **state)
{
    (void)state;
    struct inflight *f = inflight_new(0);
    assert_non_null(f);
    assert_int_equal(inflight_pushed(f), 0);
    inflight_push(f, 7, 1, 0);  /* live message number 0 */
    inflight_push(f, 8, 1, 41); /* an outbox row, number 1 */
    inflight_push(f, 9, 1, 0);  /* live message number 2 */
    assert_int_equal(inflight_pushed(f), 3);
    assert_int_equal(inflight_consumed(f), 0);
    inflight_ack(f, 9); /* number 2 first: nothing consumed, 0 and 1 are out */
    inflight_advance(f);
    assert_int_equal(inflight_consumed(f), 0);
    inflight_ack(f, 7); /* number 0 acknowledged: 0 < consumed (1) */
    inflight_advance(f);
    assert_int_equal(inflight_consumed(f), 1);
    /* the row of live message 0 (rowid 40) is matched: pushed as QoS 0 behind row 41 */
    inflight_push(f, 0, 0, 40);
    assert_int_equal(inflight_pushed(f), 4);
    assert_int_equal(inflight_mark(f), 0); /* 41 is still out */
    inflight_ack(f, 8);
    inflight_advance(f); /* 1, 2 and the QoS 0 entry: consumed 4, mark 41 */
    assert_int_equal(inflight_consumed(f), 4);
    assert_int_equal(inflight_mark(f), 41);
    assert_int_equal(inflight_len(f), 0);
    inflight_free(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_out_of_order_acks), cmocka_unit_test(test_qos0_and_other_messages),
        cmocka_unit_test(test_set_mark_idle),     cmocka_unit_test(test_ring_full),
        cmocka_unit_test(test_wrap),
        cmocka_unit_test(test_live_numbers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
