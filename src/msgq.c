/* msgq.c -- small bounded FIFO of fixed-size items (alert events, MQTT messages) between threads.
 */
#include "msgq.h"
#include "err.h"

#include <stdlib.h>
#include <string.h>

int msgq_init(struct msgq *q, size_t item_size, size_t capacity)
{
    *q = (struct msgq){.item_size = item_size, .cap = capacity};
    q->items = calloc(capacity, item_size);
    if (!q->items)
        return ENMON_ERR_NOMEM;
    pthread_mutex_init(&q->lock, NULL);
    return ENMON_OK;
}

void msgq_destroy(struct msgq *q)
{
    if (!q->items)
        return;
    pthread_mutex_destroy(&q->lock);
    free(q->items);
    q->items = NULL;
}

int msgq_push(struct msgq *q, const void *item)
{
    int rc = ENMON_OK;
    pthread_mutex_lock(&q->lock);
    if (q->len == q->cap) {
        q->dropped++;
        rc = ENMON_ERR_FULL;
    } else {
        memcpy(q->items + ((q->head + q->len) % q->cap) * q->item_size, item, q->item_size);
        q->len++;
    }
    pthread_mutex_unlock(&q->lock);
    return rc;
}

int msgq_peek(struct msgq *q, void *out)
{
    pthread_mutex_lock(&q->lock);
    int have = q->len > 0;
    if (have)
        memcpy(out, q->items + q->head * q->item_size, q->item_size);
    pthread_mutex_unlock(&q->lock);
    return have;
}

void msgq_drop_head(struct msgq *q)
{
    pthread_mutex_lock(&q->lock);
    if (q->len > 0) {
        q->head = (q->head + 1) % q->cap;
        q->len--;
    }
    pthread_mutex_unlock(&q->lock);
}

size_t msgq_len(struct msgq *q)
{
    pthread_mutex_lock(&q->lock);
    size_t n = q->len;
    pthread_mutex_unlock(&q->lock);
    return n;
}
