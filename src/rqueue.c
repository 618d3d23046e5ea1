/* rqueue.c -- bounded queue of readings between pollers and one sink thread. */
#include "rqueue.h"
#include "err.h"

#include <errno.h>
#include <stdlib.h>
#include <time.h>

int rqueue_init(struct rqueue *q, size_t capacity)
{
    *q = (struct rqueue){0};
    q->ring = calloc(capacity ? capacity : 1, sizeof(*q->ring));
    if (!q->ring)
        return ENMON_ERR_NOMEM;
    q->cap = capacity ? capacity : 1;
    pthread_mutex_init(&q->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&q->nonempty, &attr);
    pthread_condattr_destroy(&attr);
    return ENMON_OK;
}

void rqueue_destroy(struct rqueue *q)
{
    if (!q->ring)
        return;
    pthread_mutex_destroy(&q->lock);
    pthread_cond_destroy(&q->nonempty);
    free(q->ring);
    q->ring = NULL;
}

int rqueue_push(struct rqueue *q, const struct reading *r)
{
    int rc = ENMON_OK;
    pthread_mutex_lock(&q->lock);
    if (q->closed) {
        rc = ENMON_ERR_CLOSED;
    } else if (q->len == q->cap) {
        q->dropped++;
        rc = ENMON_ERR_FULL;
    } else {
        q->ring[(q->head + q->len) % q->cap] = *r;
        q->len++;
        q->pushed++;
        if (q->len > q->high_water)
            q->high_water = q->len;
        pthread_cond_signal(&q->nonempty);
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

size_t rqueue_pop_batch(struct rqueue *q, struct reading *out, size_t max, int timeout_ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += timeout_ms / 1000;
    until.tv_nsec += (long)(timeout_ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&q->lock);
    while (q->len == 0 && !q->closed) {
        if (pthread_cond_timedwait(&q->nonempty, &q->lock, &until) == ETIMEDOUT)
            break;
    }
    size_t n = 0;
    while (n < max && q->len > 0) {
        out[n++] = q->ring[q->head];
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
    pthread_mutex_unlock(&q->lock);
    return n;
}

void rqueue_close(struct rqueue *q)
{
    pthread_mutex_lock(&q->lock);
    q->closed = 1;
    pthread_cond_broadcast(&q->nonempty);
    pthread_mutex_unlock(&q->lock);
}

size_t rqueue_depth(struct rqueue *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->len;
    pthread_mutex_unlock(&q->lock);
    return n;
}
