/* http_api.h -- enmond's REST API and /metrics: JSON from the database (read-only, one
 * connection per request) and from the live state. */
#ifndef ENMON_HTTP_API_H
#define ENMON_HTTP_API_H

#include "alerts.h"
#include "config.h"
#include "live.h"
#include "mqtt_sink.h"
#include "poller.h"
#include "savings_config.h"
#include "sink.h"
#include "store.h"

#include <stddef.h>

/* What the handlers read. Any pointer but cfg and live may be NULL. */
struct api_env {
    const struct enmon_config *cfg;
    struct live *live;
    struct poller *poller;
    struct store *store;
    struct mqtt_sink *mqtt;
    struct alerts *alerts;
    struct sink_registry *sinks; /* /metrics: every registered sink */
    const struct savings_config *savings;
    const char *savings_source; /* the savings.yaml loaded, NULL: the built-in defaults */
    int offset_min;             /* the config's timezone */
};

struct api_reply {
    int status;       /* HTTP status */
    const char *type; /* Content-Type */
    char *body;       /* malloc'd */
    size_t len;
    char disposition[160]; /* Content-Disposition when not empty (file downloads) */
};

/* A query parameter of the request, or NULL. */
typedef const char *(*api_arg_fn)(void *ctx, const char *name);

/* out becomes doc as JSON with status (doc is freed; 500 when it cannot be printed); an error
 * reply is {"error": msg}. Both return 1 (the request is answered), for every endpoint. */
struct cJSON;
int api_reply_json(struct api_reply *out, int status, struct cJSON *doc);
int api_reply_error(struct api_reply *out, int status, const char *msg);

/* Serves GET path (/api/... or /metrics) into out. Returns 1 when path is an API path
 * (out filled, also for errors such as 404), 0 when it is not. */
int api_handle(const struct api_env *e, const char *path, api_arg_fn arg, void *ctx,
               struct api_reply *out);

/* POST /api/alerts/<which>/ack?by=NAME: records that NAME acknowledged alert `which` (its row
 * number, or the key of an active alert) and republishes an active alert's retained MQTT
 * message with the acknowledgement. 200 and the alert JSON; 400 without by; 404 no such
 * alert; 409 already acknowledged (the first acknowledgement stands: {"error","alert"}). */
int api_alert_ack(const struct api_env *e, const char *which, const char *by,
                  struct api_reply *out);

/* Active alerts per device (cfg->ndevices ints, malloc'd), or NULL. */
int *api_alert_counts(const struct api_env *e);

/* The row numbers of the active alerts whose acknowledgement api_live_frame has published on
 * MQTT (rows malloc'd; start from {0}, free rows at the end). */
struct api_acked {
    int64_t *rows;
    size_t n;
};

/* The program summaries and the city as a JSON frame for /api/live: {"ts_ms":...,
 * "programs":[...],"city":{...},"devices":[...],"alerts":[...]}, each alert with its row number
 * and acknowledgement once stored. With acked (may be NULL), active alerts acknowledged since
 * the last frame (REST or `enmon alerts ack`) get their retained MQTT message republished.
 * malloc'd, or NULL. */
char *api_live_frame(const struct api_env *e, int64_t now_ms, struct api_acked *acked);

#endif
