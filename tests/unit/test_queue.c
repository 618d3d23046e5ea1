/* test_queue.c -- the bounded queue: FIFO order, counted drops when full, pop timeouts,
 * close waking a waiting consumer, and many producers against one consumer. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "err.h"
#include "queue.h"

#include <pthread.h>
#include <sched.h>
#include <time.h>

struct item {
    int producer;
    int seq;
};

static void test_fifo_order(void **state)
{
    struct queue *q;
    assert_int_equal(queue_new(sizeof(int), 4, &q), ENMON_OK);
    for (int i = 1; i <= 3; i++)
        assert_int_equal(queue_push(q, &i), ENMON_OK);
    assert_int_equal(queue_depth(q), 3);
    int out[8] = {0};
    assert_int_equal(queue_pop_batch(q, out, 2, 0), 2); /* at most max */
    assert_int_equal(out[0], 1);
    assert_int_equal(out[1], 2);
    int four = 4, five = 5, six = 6;
    queue_push(q, &four); /* wraps around the ring */
    queue_push(q, &five);
    queue_push(q, &six);
    assert_int_equal(queue_pop_batch(q, out, 8, 0), 4);
    assert_int_equal(out[0], 3);
    assert_int_equal(out[1], 4);
    assert_int_equal(out[2], 5);
    assert_int_equal(out[3], 6);
    assert_int_equal(queue_depth(q), 0);
    queue_free(q);
}

/* The ring grows while a backlog needs it, keeps FIFO order across a wrapped ring while it
 * grows, never beyond the capacity, and gives the memory back once drained. */
static void test_grows_and_shrinks(void **state)
{
    struct queue *q;
    assert_int_equal(queue_new(sizeof(int), 5000, &q), ENMON_OK);
    assert_int_equal(queue_allocated(q), 256); /* QUEUE_FIRST_ALLOC */
    int v, out[64];
    /* wrap the ring first: head at 200 of 256 */
    for (v = 0; v < 200; v++)
        assert_int_equal(queue_push(q, &v), ENMON_OK);
    for (int i = 0; i < 200; i += 50)
        assert_int_equal(queue_pop_batch(q, out, 50, 0), 50);
    assert_int_equal(out[49], 199);
    /* 5000 items: 256 -> 512 -> ... -> 4096 -> 5000 (the capacity) */
    for (v = 0; v < 5000; v++)
        assert_int_equal(queue_push(q, &v), ENMON_OK);
    assert_int_equal(queue_allocated(q), 5000);
    v = 5000;
    assert_int_equal(queue_push(q, &v), ENMON_ERR_FULL);
    assert_int_equal(queue_dropped(q), 1);
    int next = 0, ok = 1;
    while (queue_depth(q) > 0) {
        size_t n = queue_pop_batch(q, out, 64, 0);
        for (size_t i = 0; i < n; i++)
            ok &= out[i] == next++;
    }
    assert_true(ok);
    assert_int_equal(next, 5000);
    /* drained: halved step by step back to the first allocation */
    assert_int_equal(queue_allocated(q), 256);
    queue_free(q);
}

static void test_full_counts_drops(void **state)
{
    struct queue *q;
    assert_int_equal(queue_new(sizeof(int), 2, &q), ENMON_OK);
    assert_int_equal(queue_capacity(q), 2);
    int v = 7;
    assert_int_equal(queue_push(q, &v), ENMON_OK);
    assert_int_equal(queue_push(q, &v), ENMON_OK);
    int64_t t0 = clock_mono_ms();
    assert_int_equal(queue_push(q, &v), ENMON_ERR_FULL);
    assert_int_equal(queue_push(q, &v), ENMON_ERR_FULL);
    assert_true(clock_mono_ms() - t0 < 100); /* never waits for room */
    assert_int_equal(queue_dropped(q), 2);
    assert_int_equal(queue_depth(q), 2);
    queue_close(q);
    assert_int_equal(queue_push(q, &v), ENMON_ERR_CLOSED);
    assert_int_equal(queue_dropped(q), 2); /* refusals after close are not drops */
    queue_free(q);
}

static void test_peek_and_drop_head(void **state)
{
    struct queue *q;
    struct item a = {1, 10}, b = {2, 20}, out = {0, 0};
    assert_int_equal(queue_new(sizeof(struct item), 4, &q), ENMON_OK);
    assert_int_equal(queue_peek(q, &out), 0);
    queue_drop_head(q); /* empty: nothing happens */
    queue_push(q, &a);
    queue_push(q, &b);
    assert_int_equal(queue_peek(q, &out), 1);
    assert_int_equal(out.seq, 10);
    assert_int_equal(queue_depth(q), 2); /* peek leaves it there */
    queue_drop_head(q);
    assert_int_equal(queue_peek(q, &out), 1);
    assert_int_equal(out.producer, 2);
    assert_int_equal(out.seq, 20);
    queue_drop_head(q);
    assert_int_equal(queue_depth(q), 0);
    queue_free(q);
}

static void test_pop_timeout(void **state)
{
    struct queue *q;
    int out;
    assert_int_equal(queue_new(sizeof(int), 4, &q), ENMON_OK);
    int64_t t0 = clock_mono_ms();
    assert_int_equal(queue_pop_batch(q, &out, 1, 150), 0);
    int64_t waited = clock_mono_ms() - t0;
    assert_true(waited >= 140);
    assert_true(waited < 1000);
    t0 = clock_mono_ms();
    assert_int_equal(queue_pop_batch(q, &out, 1, 0), 0); /* 0: does not wait */
    assert_true(clock_mono_ms() - t0 < 50);
    assert_int_equal(queue_drained(q), 0);
    queue_free(q);
}

static void *close_later(void *arg)
{
    struct timespec d = {0, 100 * 1000000L};
    nanosleep(&d, NULL);
    queue_close(arg);
    return NULL;
}

static void test_close_wakes_consumer(void **state)
{
    struct queue *q;
    pthread_t t;
    int out, v = 5;
    assert_int_equal(queue_new(sizeof(int), 4, &q), ENMON_OK);
    assert_int_equal(pthread_create(&t, NULL, close_later, q), 0);
    int64_t t0 = clock_mono_ms();
    assert_int_equal(queue_pop_batch(q, &out, 1, -1), 0); /* no limit: only close ends it */
    assert_true(clock_mono_ms() - t0 < 5000);
    pthread_join(t, NULL);
    assert_int_equal(queue_drained(q), 1);
    queue_free(q);

    /* what was queued before the close is still handed out, then 0 */
    assert_int_equal(queue_new(sizeof(int), 4, &q), ENMON_OK);
    queue_push(q, &v);
    queue_close(q);
    assert_int_equal(queue_drained(q), 0);
    assert_int_equal(queue_pop_batch(q, &out, 1, 1000), 1);
    assert_int_equal(out, 5);
    t0 = clock_mono_ms();
    assert_int_equal(queue_pop_batch(q, &out, 1, 1000), 0);
    assert_true(clock_mono_ms() - t0 < 500); /* closed and empty: returns at once */
    assert_int_equal(queue_drained(q), 1);
    queue_free(q);
}

#define PRODUCERS 4
#define PER_PRODUCER 20000

static void *produce(void *arg)
{
    void **a = arg;
    struct queue *q = a[0];
    int id = (int)(intptr_t)a[1];
    for (int i = 0; i < PER_PRODUCER; i++) {
        struct item it = {id, i};
        while (queue_push(q, &it) == ENMON_ERR_FULL)
            sched_yield();
    }
    return NULL;
}

static void test_producers_consumer(void **state)
{
    struct queue *q;
    pthread_t t[PRODUCERS];
    void *args[PRODUCERS][2];
    int next[PRODUCERS] = {0};
    assert_int_equal(queue_new(sizeof(struct item), 64, &q), ENMON_OK);
    for (int i = 0; i < PRODUCERS; i++) {
        args[i][0] = q;
        args[i][1] = (void *)(intptr_t)i;
        assert_int_equal(pthread_create(&t[i], NULL, produce, args[i]), 0);
    }
    size_t total = 0;
    struct item batch[16];
    while (total < PRODUCERS * PER_PRODUCER) {
        size_t n = queue_pop_batch(q, batch, 16, 2000);
        assert_true(n > 0);
        for (size_t k = 0; k < n; k++) {
            /* each producer's items arrive complete and in its order */
            assert_int_equal(batch[k].seq, next[batch[k].producer]);
            next[batch[k].producer]++;
        }
        total += n;
    }
    for (int i = 0; i < PRODUCERS; i++) {
        pthread_join(t[i], NULL);
        assert_int_equal(next[i], PER_PRODUCER);
    }
    assert_int_equal(queue_depth(q), 0);
    queue_free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fifo_order),           cmocka_unit_test(test_full_counts_drops),
        cmocka_unit_test(test_grows_and_shrinks),
        cmocka_unit_test(test_peek_and_drop_head),   cmocka_unit_test(test_pop_timeout),
        cmocka_unit_test(test_close_wakes_consumer), cmocka_unit_test(test_producers_consumer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
