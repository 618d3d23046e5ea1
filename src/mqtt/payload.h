/* payload.h -- MQTT topics and JSON payloads for readings: pure formatting, no I/O. */
#ifndef ENMON_PAYLOAD_H
#define ENMON_PAYLOAD_H

#include "config.h"
#include "reading.h"

#include <stddef.h>
#include <stdint.h>

/* Room for any topic built from a cfg_mqtt.topic_root and three CFG_ID_MAX ids. */
#define PAYLOAD_TOPIC_MAX (sizeof(((struct cfg_mqtt *)0)->topic_root) + 3 * CFG_ID_MAX + 32)

/* Room for any state message of a configured device (ids escaped at worst x6). */
#define PAYLOAD_STATE_MAX \
    (6 * 4 * CFG_ID_MAX + 64 * MEAS__ALL + 256 * READING_MODULES_MAX + 256)

/* Retained payloads of the availability and status topics. */
#define PAYLOAD_ONLINE "online"
#define PAYLOAD_OFFLINE "offline"

/* All functions below write a NUL-terminated string into buf (at most len bytes
 * including the NUL) and return its length, or -1 when buf is too small or the
 * input cannot be published (see each function). They never allocate. */

/* "<root>/status": the daemon's status ("online" retained, last will "offline").
 * -1 if root is empty or holds '+' or '#'. */
int payload_status_topic(const char *root, char *buf, size_t len);

/* "<root>/alert/<program>/<site>/<device>/<rule>" or, for a rule with one alert
 * per event bit, ".../<rule>/<event>". -1 when a segment is invalid or buf too small. */
int payload_alert_topic(const struct enmon_config *cfg, uint32_t device, const char *rule,
                        const char *event, char *buf, size_t len);

/* "<root>/device/<program>/<site>/<device>/state" for cfg->devices[device].
 * -1 if device is out of range or an id is empty or holds '+', '#' or '/'. */
int payload_state_topic(const struct enmon_config *cfg, uint32_t device, char *buf, size_t len);

/* "<root>/device/<program>/<site>/<device>/availability" (retained "online" or
 * "offline"); same failures as payload_state_topic. */
int payload_availability_topic(const struct enmon_config *cfg, uint32_t device, char *buf,
                               size_t len);

/* "online" or "offline". */
const char *payload_availability(int online);

/* The JSON state message of r: ids, kind, ts (UTC ISO 8601 with milliseconds),
 * ts_ms, quality ("ok" or "partial") and only the valid, finite measurements by
 * reading_meas_name(). -1 also when r->quality is READING_FAILED (a failed poll
 * has no state to publish) or r->device is out of range. */
int payload_state_json(const struct enmon_config *cfg, const struct reading *r, char *buf,
                       size_t len);

/* A finite number as JSON: integral values without exponent or fraction,
 * others with up to 15 significant digits ("229.5", "60.01"). -1 for NaN/inf. */
int payload_number(double v, char *buf, size_t len);

/* wall_ms (UTC epoch milliseconds) as "2026-11-27T01:23:45.123Z". */
int payload_utc_time(int64_t wall_ms, char *buf, size_t len);

/* s as a JSON string literal with quotes, escaping '"', '\\' and control characters. */
int payload_json_string(const char *s, char *buf, size_t len);

#endif
