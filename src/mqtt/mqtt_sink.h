/* mqtt_sink.h -- publishes readings, availability and daemon status over MQTT. */
#ifndef ENMON_MQTT_SINK_H
#define ENMON_MQTT_SINK_H

#include "config.h"
#include "reading.h"

#include <stdint.h>

struct mqtt_sink;

struct mqtt_sink_stats {
    uint64_t published; /* messages handed to libmosquitto */
    uint64_t dropped;   /* readings refused by a full queue */
    uint64_t failed;    /* publish calls that failed */
    int connected;
    size_t depth;         /* readings waiting in memory */
    int64_t outbox_depth; /* committed readings not yet acknowledged */
    uint64_t outbox_shed; /* oldest readings skipped beyond mqtt.outbox_max */
    size_t inflight;      /* messages handed over, not yet acknowledged */
};

/* Default bound of the outbox (mqtt.outbox_max). */
#define MQTT_SINK_OUTBOX_MAX 1000000

/* Starts the sink thread: connects (and keeps reconnecting) to cfg->mqtt,
 * sets the last will "<root>/status" = offline. Readings given to
 * mqtt_sink_submit are published at once from memory (QoS mqtt.qos), whether
 * or not the store has committed them yet. Store and forward: the outbox of
 * cfg->database (outbox.h) is walked in rowid order; a row published live moves
 * the published mark once the broker acknowledged it (inflight.h), any other
 * row (polled while the broker was away, before a restart, or past a full
 * queue) is published from the outbox, and a device goes live again only once
 * its outbox rows are out, so each device's readings stay in poll order. The
 * database must exist (store_open first). cfg must outlive the sink.
 * Returns ENMON_OK or ENMON_ERR_MQTT with a reason in msg. */
int mqtt_sink_start_durable(const struct enmon_config *cfg, struct mqtt_sink **out, char *msg,
                            size_t msglen);

/* Queues a reading for publishing; never blocks. ENMON_OK or ENMON_ERR_FULL. */
int mqtt_sink_submit(struct mqtt_sink *m, const struct reading *r);

/* Queues one message (QoS 1; retained when retain; an empty payload with retain
 * deletes the retained message), published before the readings queued after it.
 * Never blocks. ENMON_OK, ENMON_ERR_FULL or ENMON_ERR_RANGE (too long). */
int mqtt_sink_publish(struct mqtt_sink *m, const char *topic, const char *payload, int retain);

void mqtt_sink_get_stats(struct mqtt_sink *m, struct mqtt_sink_stats *out);

/* Publishes what is queued, status "offline", disconnects and frees. */
void mqtt_sink_stop(struct mqtt_sink *m);

#endif
