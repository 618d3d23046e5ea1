/* history.h -- /api/history and /api/intervals: energy per time bucket and the 15-minute
 * interval export, read from the store's intervals, daily and per-program rollups. */
#ifndef ENMON_HISTORY_H
#define ENMON_HISTORY_H

#include "http_api.h"

#include <sqlite3.h>
#include <stdint.h>

#define HISTORY_EXPORT_MAX_DAYS 92 /* /api/intervals: local days per request */

/* GET /api/history?level=city|program|site|device&id=ID&view=day|week|month|year&end=DATE
 * into out (docs/HTTP.md "History"): 400 for a bad parameter, 404 for an unknown id. */
int history_get(const struct api_env *e, api_arg_fn arg, void *ctx, struct api_reply *out);

/* GET /api/intervals?device=ID&from=DATE&to=DATE&format=csv|json: one device's 15-minute
 * intervals (at most HISTORY_EXPORT_MAX_DAYS days), CSV with a file name or JSON. */
int history_intervals(const struct api_env *e, api_arg_fn arg, void *ctx, struct api_reply *out);

/* Bucket start of t for a view's bucket: the interval itself, its local hour, local day or
 * local month (from: the view's first local midnight). Pure; exposed for the unit test. */
enum history_bucket { HB_INTERVAL, HB_HOUR, HB_DAY, HB_MONTH };
int64_t history_bucket_start(enum history_bucket b, int64_t t_s, int64_t from_s, int offset_min);

#endif
