/* sink.h -- the registry of reading sinks: submit to all, statistics and shutdown in one place. */
#ifndef ENMON_SINK_H
#define ENMON_SINK_H

#include "reading.h"

#include <stddef.h>
#include <stdint.h>

#define SINK_MAX 8         /* sinks in one registry */
#define SINK_METRICS_MAX 6 /* families of its own per sink */
#define SINK_TEXT_MAX 192

/* One Prometheus family only this sink reports (one sample, no labels). */
struct sink_metric {
    const char *name, *type, *help; /* static strings */
    double value;
};

/* What a sink reports: the common queue figures, its own families for /metrics, and
 * its part of the periodic stats line and of <root>/daemon/stats. */
struct sink_stats {
    const char *name; /* filled by sink_get_stats */
    int has_depth;    /* depth is reported as enmon_queue_depth{sink=name} */
    size_t depth;     /* readings waiting */
    int has_dropped;  /* dropped is reported as enmon_readings_dropped_total{sink=name} */
    uint64_t dropped; /* readings refused by a full queue */
    struct sink_metric metric[SINK_METRICS_MAX];
    size_t nmetrics;
    char line[SINK_TEXT_MAX]; /* "db written=1 dropped=0" for the stats line; "" none */
    char json[SINK_TEXT_MAX]; /* "\"db_written\":1,\"db_dropped\":0" members; "" none */
};

/* One registered sink: callbacks get self. */
struct sink {
    const char *name; /* static: "store", "mqtt", "alerts", "live" */
    void *self;
    /* Hands a reading over; must never block (a bounded queue push). ENMON_OK, or
     * ENMON_ERR_FULL / ENMON_ERR_CLOSED, which the sink counts itself. */
    int (*submit)(void *self, const struct reading *r);
    void (*stats)(void *self, struct sink_stats *out); /* NULL: reports nothing */
    void (*stop)(void *self);                          /* NULL: nothing to stop */
    int stop_rank; /* sink_stop_all stops lower ranks first, equal ranks in registration order */
};

struct sink_registry;

/* An empty registry. ENMON_OK or ENMON_ERR_NOMEM. */
int sink_registry_new(struct sink_registry **out);

/* Adds a copy of s (after the sinks registered before it). ENMON_OK, ENMON_ERR_INVALID
 * without a submit callback, or ENMON_ERR_FULL beyond SINK_MAX sinks. Register every sink before
 * the first sink_submit_all. */
int sink_register(struct sink_registry *reg, const struct sink *s);

/* Hands r to every sink in registration order; never blocks. The signature of
 * poller_emit_fn: ctx is the registry. */
void sink_submit_all(void *ctx, const struct reading *r);

size_t sink_count(const struct sink_registry *reg);

/* The statistics of the i-th sink (registration order): out is cleared, out->name set. */
void sink_get_stats(struct sink_registry *reg, size_t i, struct sink_stats *out);

/* Stops every sink once (by stop_rank) and empties the registry. */
void sink_stop_all(struct sink_registry *reg);

/* Frees the registry (reg may be NULL); sinks still registered are not stopped. */
void sink_registry_free(struct sink_registry *reg);

#endif
