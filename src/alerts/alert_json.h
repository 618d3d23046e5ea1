/* alert_json.h -- one alert as JSON, the same keys and formatting everywhere: the MQTT payload,
 * hook stdin and webhook body, the live frame, `enmon alerts` and /api/alerts. */
#ifndef ENMON_ALERT_JSON_H
#define ENMON_ALERT_JSON_H

#include "config.h"

#include <stddef.h>
#include <stdint.h>

struct alert_event; /* alerts.h */
struct alert_row;   /* alert_store.h */
struct cJSON;

/* One shape (docs/ALERTS.md "The alert JSON"), every key always present, in this order:
 * id (the key), row (history row number, null before the alert is stored), device,
 * device_name, program, program_name, site, site_name (names null when not in the
 * configuration), rule, severity, cause, value (null when unknown), state, first_seen,
 * first_seen_ms, raised, raised_ms, last_seen, last_seen_ms (the raise, or the clear),
 * cleared, cleared_ms, clear_value, clear_cause (null while active or unknown), acked_by,
 * acked, acked_ms (null until acknowledged). Times: UTC ISO 8601 text and epoch ms. */

/* What the shape shows; strings are never NULL except those that may be null. */
struct alert_json {
    const char *key; /* "<device>/<rule>[/<event>]" */
    int64_t row_id;  /* 0: not known (not stored yet) */
    const char *device, *program, *site, *rule, *severity, *cause;
    const char *device_name, *program_name, *site_name; /* NULL: not in the configuration */
    int has_value;
    double value; /* the value that raised it */
    int has_clear_value;
    double clear_value;      /* the value that cleared it */
    const char *clear_cause; /* why it was cleared when not by its rule, else NULL or "" */
    int active;              /* state "active", else "cleared" */
    int64_t first_seen_ms;
    int64_t raised_ms;    /* 0: unknown */
    int64_t cleared_ms;   /* 0 while active */
    const char *acked_by; /* NULL or "" when not acknowledged */
    int64_t acked_ms;
};

/* The fields of an engine event; its device and program and site ids and names from cfg.
 * Returns 0, or -1 when ev->device is out of range. Pure. */
int alert_json_from_event(const struct alert_event *ev, const struct enmon_config *cfg,
                          struct alert_json *out);

/* The fields of a history row (which must outlive out); names from cfg (may be NULL: names
 * null). Pure. */
void alert_json_from_row(const struct alert_row *row, const struct enmon_config *cfg,
                         struct alert_json *out);

/* Writes a without spaces (strings escaped, numbers as in the state payload: payload_number).
 * Returns the length, or -1 when buf is too small. Pure. */
int alert_json_write(const struct alert_json *a, char *buf, size_t len);

/* alert_json_write as a cJSON object for documents built with cJSON (free it, or hand it to
 * an array); NULL when out of memory. */
struct cJSON *alert_json_object(const struct alert_json *a);

#endif
