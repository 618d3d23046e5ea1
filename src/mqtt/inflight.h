/* inflight.h -- the ring of MQTT messages in flight and the acknowledged outbox mark. */
#ifndef ENMON_INFLIGHT_H
#define ENMON_INFLIGHT_H

#include <stddef.h>
#include <stdint.h>

/* libmosquitto message ids are 16 bits: at most INFLIGHT_MIDS - 1 messages in flight. */
#define INFLIGHT_MIDS 65536

/* Messages handed to the MQTT client and not yet acknowledged, in publish
 * order, each with the outbox rowid it carries (0 for other messages). The
 * mark moves past a row only once it and every message before it were
 * acknowledged, whatever the order the acknowledgements came in. Not thread
 * safe: the caller locks. */
struct inflight;

/* A ring whose mark starts at seq_acked. NULL when out of memory. */
struct inflight *inflight_new(int64_t seq_acked);
void inflight_free(struct inflight *f);

/* 1 when no message can be pushed (INFLIGHT_MIDS - 1 in flight). */
int inflight_full(const struct inflight *f);

/* Records a message handed over, then advances. QoS 0 messages are never
 * acknowledged: they count as acknowledged at once. The caller checks
 * inflight_full first. */
void inflight_push(struct inflight *f, int mid, int qos, int64_t seq);

/* Records the acknowledgement (PUBACK) of message id mid; the mark moves at the
 * next inflight_advance or inflight_push. */
void inflight_ack(struct inflight *f, int mid);

/* Consumes the acknowledged messages at the head of the ring, moving the mark. */
void inflight_advance(struct inflight *f);

/* Messages in flight (not yet consumed). */
size_t inflight_len(const struct inflight *f);

/* Every outbox row up to the mark is acknowledged. */
int64_t inflight_mark(const struct inflight *f);

/* Messages pushed since inflight_new: the next push is message number
 * inflight_pushed() (counting from 0). */
uint64_t inflight_pushed(const struct inflight *f);

/* Messages consumed (acknowledged, and every one before them): message number k
 * is acknowledged once k < inflight_consumed(). */
uint64_t inflight_consumed(const struct inflight *f);

/* Moves the mark to seq when nothing is in flight (rows skipped without being
 * published count as published); ignored otherwise. */
void inflight_set_mark_idle(struct inflight *f, int64_t seq);

#endif
