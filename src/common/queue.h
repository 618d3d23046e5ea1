/* queue.h -- bounded FIFO of fixed-size items between threads: never blocks a producer. */
#ifndef ENMON_QUEUE_H
#define ENMON_QUEUE_H

#include <stddef.h>
#include <stdint.h>

struct queue;

/* A queue of capacity items of item_size bytes each (capacity 0 is taken as 1). Memory for
 * 256 items is allocated at first; the ring doubles while a backlog needs it (a push that
 * cannot grow it is refused as full) and halves once the backlog is below a quarter.
 * ENMON_OK or ENMON_ERR_NOMEM (*out is then NULL). */
int queue_new(size_t item_size, size_t capacity, struct queue **out);

/* Frees the queue and what is still in it (q may be NULL); no thread may use it any more. */
void queue_free(struct queue *q);

/* Copies item in; never blocks. ENMON_OK, ENMON_ERR_FULL (counted in queue_dropped) or
 * ENMON_ERR_CLOSED (after queue_close; not counted). */
int queue_push(struct queue *q, const void *item);

/* Waits up to timeout_ms (< 0: without limit) for at least one item, then moves up to max
 * items into out (an array of max items). Returns how many: 0 on timeout, or when the queue
 * is closed and empty. */
size_t queue_pop_batch(struct queue *q, void *out, size_t max, int timeout_ms);

/* Copies the oldest item into out without removing it: 1, or 0 when empty. Never blocks. */
int queue_peek(struct queue *q, void *out);

/* Removes the oldest item (after a successful queue_peek); nothing when empty. */
void queue_drop_head(struct queue *q);

/* Wakes every waiting consumer; later pushes fail, pops drain what is left. */
void queue_close(struct queue *q);

/* 1 once the queue is closed and empty: its consumer may stop. */
int queue_drained(struct queue *q);

size_t queue_capacity(const struct queue *q);
size_t queue_depth(struct queue *q);     /* items waiting */
size_t queue_allocated(struct queue *q); /* items the ring has memory for (<= capacity) */
uint64_t queue_dropped(struct queue *q); /* pushes refused because the queue was full */

#endif
