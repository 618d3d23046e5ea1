/* queue.c -- bounded FIFO of fixed-size items between threads: never blocks a producer. */
/* The ring is allocated for QUEUE_FIRST_ALLOC items and doubles while a backlog needs it, up
 * to the capacity; it halves again once the backlog has drained below a quarter. A city-sized
 * queue (tens of thousands of readings) thus costs memory only while it is deep. */
#include "queue.h"

#include "err.h"

#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define QUEUE_FIRST_ALLOC 256 /* items allocated at first (fewer when the capacity is smaller) */

struct queue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty; /* on CLOCK_MONOTONIC */
    unsigned char *items;    /* ring of alloc items (alloc <= cap) */
    size_t item_size, cap, alloc, head, len;
    uint64_t dropped;
    int closed;
    int waiters; /* consumers inside pthread_cond_(timed)wait */
};

int queue_new(size_t item_size, size_t capacity, struct queue **out)
{
    struct queue *q = calloc(1, sizeof(*q));
    *out = NULL;
    if (!q)
        return ENMON_ERR_NOMEM;
    q->item_size = item_size ? item_size : 1;
    q->cap = capacity ? capacity : 1;
    q->alloc = q->cap < QUEUE_FIRST_ALLOC ? q->cap : QUEUE_FIRST_ALLOC;
    q->items = calloc(q->alloc, q->item_size);
    if (!q->items) {
        free(q);
        return ENMON_ERR_NOMEM;
    }
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->nonempty, &attr);
    pthread_condattr_destroy(&attr);
    *out = q;
    return ENMON_OK;
}

void queue_free(struct queue *q)
{
    if (!q)
        return;
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->nonempty);
    free(q->items);
    free(q);
}

static unsigned char *slot(struct queue *q, size_t i)
{
    return q->items + ((q->head + i) % q->alloc) * q->item_size;
}

/* Moves the ring into n slots (n >= len), oldest first at 0. 0, or -1 when out of memory (the
 * ring is then unchanged). */
static int resize(struct queue *q, size_t n)
{
    unsigned char *items = malloc(n * q->item_size);
    if (!items)
        return -1;
    size_t first = q->alloc - q->head; /* items from head to the end of the old ring */
    if (first > q->len)
        first = q->len;
    memcpy(items, q->items + q->head * q->item_size, first * q->item_size);
    memcpy(items + first * q->item_size, q->items, (q->len - first) * q->item_size);
    free(q->items);
    q->items = items;
    q->alloc = n;
    q->head = 0;
    return 0;
}

/* After a pop: gives memory back once the backlog is below a quarter of the ring. */
static void maybe_shrink(struct queue *q)
{
    if (q->alloc > QUEUE_FIRST_ALLOC && q->len < q->alloc / 4)
        (void)resize(q, q->alloc / 2 > QUEUE_FIRST_ALLOC ? q->alloc / 2 : QUEUE_FIRST_ALLOC);
}

int queue_push(struct queue *q, const void *item)
{
    int rc = ENMON_OK;
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        rc = ENMON_ERR_CLOSED;
    } else if (q->len == q->cap ||
               (q->len == q->alloc && resize(q, q->alloc * 2 < q->cap ? q->alloc * 2 : q->cap))) {
        q->dropped++; /* full, or the ring could not grow: refused, never waited for */
        rc = ENMON_ERR_FULL;
    } else {
        memcpy(slot(q, q->len), item, q->item_size);
        q->len++;
        /* A consumer waits only for an empty queue, so the push that ends the emptiness
         * wakes it; later pushes before it runs would only cost futex calls. With
         * several consumers waiting, every push wakes one. */
        if (q->len == 1 || q->waiters > 1)
            pthread_cond_signal(&q->nonempty);
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

static struct timespec deadline_after(int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    return until;
}

size_t queue_pop_batch(struct queue *q, void *out, size_t max, int timeout_ms)
{
    struct timespec until = {0};
    int have_until = 0; /* the clock is read only when the queue makes us wait */
    unsigned char *dst = out;
    pthread_mutex_lock(&q->lock);
    while (q->len == 0 && !q->closed) {
        if (!have_until) {
            until = deadline_after(timeout_ms > 0 ? timeout_ms : 0);
            have_until = 1;
        }
        q->waiters++;
        int rc = timeout_ms < 0 ? pthread_cond_wait(&q->nonempty, &q->lock)
                                : pthread_cond_timedwait(&q->nonempty, &q->lock, &until);
        q->waiters--;
        if (rc == ETIMEDOUT)
            break;
    }
    size_t n = 0;
    for (; n < max && q->len > 0; n++) {
        memcpy(dst + n * q->item_size, slot(q, 0), q->item_size);
        q->head = (q->head + 1) % q->alloc;
        q->len--;
    }
    maybe_shrink(q);
    pthread_mutex_unlock(&q->lock);
    return n;
}

int queue_peek(struct queue *q, void *out)
{
    pthread_mutex_lock(&q->lock);
    int have = q->len > 0;
    if (have)
        memcpy(out, slot(q, 0), q->item_size);
    pthread_mutex_unlock(&q->lock);
    return have;
}

void queue_drop_head(struct queue *q)
{
    pthread_mutex_lock(&q->lock);
    if (q->len > 0) {
        q->head = (q->head + 1) % q->alloc;
        q->len--;
        maybe_shrink(q);
    }
    pthread_mutex_unlock(&q->lock);
}

void queue_close(struct queue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

int queue_drained(struct queue *q)
{
    pthread_mutex_lock(&q->lock);
    int done = q->closed && q->len == 0;
    pthread_mutex_unlock(&q->lock);
    return done;
}

size_t queue_capacity(const struct queue *q)
{
    return q->cap;
}

size_t queue_allocated(struct queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->alloc;
    pthread_mutex_unlock(&q->lock);
    return n;
}

size_t queue_depth(struct queue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->len;
    pthread_mutex_unlock(&q->lock);
    return n;
}

uint64_t queue_dropped(struct queue *q)
{
    pthread_mutex_lock(&q->lock);
    uint64_t n = q->dropped;
    pthread_mutex_unlock(&q->lock);
    return n;
}
