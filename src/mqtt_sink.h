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
    size_t depth;
};

/* Starts the sink thread: connects (and keeps reconnecting) to cfg->mqtt,
 * sets the last will "<root>/status" = offline. cfg must outlive the sink.
 * Returns ENMON_OK or ENMON_ERR_MQTT with a reason in msg. */
int mqtt_sink_start(const struct enmon_config *cfg, struct mqtt_sink **out, char *msg, size_t msglen);

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
