/* inflight.c -- the ring of MQTT messages in flight and the acknowledged outbox mark. */
#include "inflight.h"

#include <stdlib.h>

struct inflight_entry {
    int mid;     /* message id modulo INFLIGHT_MIDS, -1 for QoS 0 */
    int64_t seq; /* outbox rowid of a state message, 0 for other messages */
};

struct inflight {
    uint8_t *acked;               /* [INFLIGHT_MIDS]: acknowledged, not yet consumed */
    struct inflight_entry *ring;  /* [INFLIGHT_MIDS] */
    size_t head, len;
    int64_t seq_acked;
    uint64_t pushed, consumed; /* messages pushed / consumed since inflight_new */
};

struct inflight *inflight_new(int64_t seq_acked)
{
    struct inflight *f = calloc(1, sizeof(*f));
    if (!f)
        return NULL;
    f->acked = calloc(INFLIGHT_MIDS, sizeof(*f->acked));
    f->ring = calloc(INFLIGHT_MIDS, sizeof(*f->ring));
    if (!f->acked || !f->ring) {
        inflight_free(f);
        return NULL;
    }
    f->seq_acked = seq_acked;
    return f;
}

void inflight_free(struct inflight *f)
{
    if (!f)
        return;
    free(f->acked);
    free(f->ring);
    free(f);
}

int inflight_full(const struct inflight *f)
{
    return f->len >= INFLIGHT_MIDS - 1;
}

void inflight_advance(struct inflight *f)
{
    while (f->len > 0) {
        struct inflight_entry *e = &f->ring[f->head];
        if (e->mid >= 0 && !f->acked[e->mid])
            break;
        if (e->mid >= 0)
            f->acked[e->mid] = 0;
        if (e->seq > f->seq_acked)
            f->seq_acked = e->seq;
        f->head = (f->head + 1) % INFLIGHT_MIDS;
        f->len--;
        f->consumed++;
    }
}

void inflight_push(struct inflight *f, int mid, int qos, int64_t seq)
{
    struct inflight_entry *e = &f->ring[(f->head + f->len) % INFLIGHT_MIDS];
    e->mid = qos > 0 ? (int)((unsigned)mid % INFLIGHT_MIDS) : -1;
    e->seq = seq;
    f->len++;
    f->pushed++;
    inflight_advance(f);
}

void inflight_ack(struct inflight *f, int mid)
{
    f->acked[(unsigned)mid % INFLIGHT_MIDS] = 1;
}

size_t inflight_len(const struct inflight *f)
{
    return f->len;
}

int64_t inflight_mark(const struct inflight *f)
{
    return f->seq_acked;
}

void inflight_set_mark_idle(struct inflight *f, int64_t seq)
{
    if (f->len == 0)
        f->seq_acked = seq;
}

uint64_t inflight_pushed(const struct inflight *f)
{
    return f->pushed;
}

uint64_t inflight_consumed(const struct inflight *f)
{
    return f->consumed;
}
