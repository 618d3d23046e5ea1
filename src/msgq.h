/* msgq.h -- small bounded FIFO of fixed-size items (alert events, MQTT messages) between threads. */
#ifndef ENMON_MSGQ_H
#define ENMON_MSGQ_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

struct msgq {
    pthread_mutex_t lock;
    unsigned char *items;
    size_t item_size, cap, head, len;
    uint64_t dropped; /* pushes refused because the queue was full */
};

/* ENMON_OK or ENMON_ERR_NOMEM. */
int msgq_init(struct msgq *q, size_t item_size, size_t capacity);
void msgq_destroy(struct msgq *q);

/* Copies item in; never blocks. ENMON_OK or ENMON_ERR_FULL (counted). */
int msgq_push(struct msgq *q, const void *item);

/* Copies the oldest item into out without removing it: 1, or 0 when empty. */
int msgq_peek(struct msgq *q, void *out);

/* Removes the oldest item (after a successful peek). */
void msgq_drop_head(struct msgq *q);

size_t msgq_len(struct msgq *q);

#endif
