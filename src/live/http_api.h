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
    int offset_min; /* the config's timezone */
};

struct api_reply {
    int status;       /* HTTP status */
    const char *type; /* Content-Type */
    char *body;       /* malloc'd */
    size_t len;
};

/* A query parameter of the request, or NULL. */
typedef const char *(*api_arg_fn)(void *ctx, const char *name);

/* Serves GET path (/api/... or /metrics) into out. Returns 1 when path is an API path
 * (out filled, also for errors such as 404), 0 when it is not. */
int api_handle(const struct api_env *e, const char *path, api_arg_fn arg, void *ctx,
               struct api_reply *out);

/* Active alerts per device (cfg->ndevices ints, malloc'd), or NULL. */
int *api_alert_counts(const struct api_env *e);

/* The program summaries and the city as a JSON frame for /api/live: {"ts_ms":...,
 * "programs":[...],"city":{...},"devices":[...],"alerts":[...]}. malloc'd, or NULL. */
char *api_live_frame(const struct api_env *e, int64_t now_ms);

#endif
