/* alert_json.h -- one alert as JSON, the same keys and formatting everywhere: the event
 * (MQTT payload, hook stdin, live frame) and the history record (enmon alerts, /api/alerts). */
#ifndef ENMON_ALERT_JSON_H
#define ENMON_ALERT_JSON_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

struct alert_event; /* alerts.h */
struct alert_row;   /* alert_store.h */
struct cJSON;

/* The two shapes differ where they must: an event's "id" is the alert's key (the
 * documented MQTT payload), a record's "id" is its row number in the history. */
enum alert_json_form {
    ALERT_JSON_EVENT,  /* id (key), device, program, site, rule, severity, cause, value (null
                        * when unknown), first_seen, first_seen_ms, last_seen, last_seen_ms,
                        * state, clear_value (a clear with a clearing value) */
    ALERT_JSON_RECORD, /* id (row), key, device, program, site, rule, severity, cause, value
                        * (when known), first_seen_ms, raised, raised_ms, state, cleared_ms
                        * (once cleared), clear_value and clear_cause (when known),
                        * acked_by and acked_ms (once acknowledged) */
};

/* What either shape shows; strings are never NULL except acked_by. */
struct alert_json {
    const char *key; /* "<device>/<rule>[/<event>]" */
    int64_t row_id;  /* record: the row number in the history */
    const char *device, *program, *site, *rule, *severity, *cause;
    int has_value;
    double value; /* the value that raised it */
    int has_clear_value;
    double clear_value;      /* the value that cleared it */
    const char *clear_cause; /* record: why it was cleared when not by its rule, else NULL */
    int active;              /* state "active", else "cleared" */
    int64_t first_seen_ms;
    int64_t last_seen_ms;          /* event: the raise or the clear */
    int64_t raised_ms, cleared_ms; /* record: cleared_ms 0 while active */
    const char *acked_by;          /* record: NULL or "" when not acknowledged */
    int64_t acked_ms;
};

/* The fields of an engine event; its device and program and site ids from cfg. Returns 0,
 * or -1 when ev->device is out of range. Pure. */
int alert_json_from_event(const struct alert_event *ev, const struct enmon_config *cfg,
                          struct alert_json *out);

/* The fields of a history row (which must outlive out). Pure. */
void alert_json_from_row(const struct alert_row *row, struct alert_json *out);

/* Writes a in the given shape, without spaces (strings escaped, numbers as in the state
 * payload: payload_number). Returns the length, or -1 when buf is too small. Pure. */
int alert_json_write(const struct alert_json *a, enum alert_json_form form, char *buf, size_t len);

/* alert_json_write as a cJSON object for documents built with cJSON (free it, or hand it to
 * an array); NULL when out of memory. */
struct cJSON *alert_json_object(const struct alert_json *a, enum alert_json_form form);

#endif
