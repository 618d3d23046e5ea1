/* rqueue.h -- bounded queue of readings between pollers and one sink thread. */
#ifndef ENMON_RQUEUE_H
#define ENMON_RQUEUE_H

#include "reading.h"

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct rqueue {
    pthread_mutex_t lock;
    pthread_cond_t nonempty;
    struct reading *ring;
    size_t cap, head, len;
    uint64_t pushed;  /* readings accepted */
    uint64_t dropped; /* readings refused because the queue was full */
    size_t high_water;
    int closed;
};

/* Returns ENMON_OK or ENMON_ERR_NOMEM. */
int rqueue_init(struct rqueue *q, size_t capacity);
void rqueue_destroy(struct rqueue *q);

/* Never blocks. Returns ENMON_OK, ENMON_ERR_FULL (counted in dropped) or
 * ENMON_ERR_CLOSED. */
int rqueue_push(struct rqueue *q, const struct reading *r);

/* Waits up to timeout_ms for at least one reading, then moves up to max
 * readings into out. Returns how many; 0 on timeout or when closed and empty. */
size_t rqueue_pop_batch(struct rqueue *q, struct reading *out, size_t max, int timeout_ms);

/* Wakes the consumer; later pushes fail, pops drain what is left. */
void rqueue_close(struct rqueue *q);

size_t rqueue_depth(struct rqueue *q);

#endif
