/* poller.h -- the poll loop: a deadline queue of links served by a bounded worker pool. */
#ifndef ENMON_POLLER_H
#define ENMON_POLLER_H

#include "config.h"
#include "reading.h"

#include <stdint.h>

struct poller;

/* Called from worker threads for every poll; must not block. */
typedef void (*poller_emit_fn)(void *ctx, const struct reading *r);

struct sunspec_common;

/* Called from a worker thread when a device's SunSpec common model (manufacturer,
 * model, version, serial) has been read at discovery; must not block. */
typedef void (*poller_ident_fn)(void *ctx, uint32_t device, const struct sunspec_common *c);

struct poller_stats {
    uint64_t polls;         /* device polls done */
    uint64_t failures;      /* polls that failed */
    uint64_t discoveries;   /* successful SunSpec discoveries */
    size_t online;          /* devices online now */
    int64_t lateness_max_ms; /* worst start delay behind schedule since start */
    int64_t lateness_p99_ms; /* 99th percentile start delay in the window (10 ms resolution) */
    int64_t lateness_window_max_ms; /* worst start delay in the window */
};

/* Poll lateness over a sliding window of POLL_LATE_SLOTS slots of POLL_LATE_SLOT_MS: the
 * current slot and the five before it, so the last 50 to 60 s. Reading it changes nothing:
 * every reader (/metrics, /api/status, the stats line) sees the same figures. */
#define POLL_LATE_SLOTS 6
#define POLL_LATE_SLOT_MS 10000
#define POLL_LATE_BUCKETS 1001 /* 10 ms each; the last holds everything >= 10 s */
struct poll_lateness {
    int64_t slot[POLL_LATE_SLOTS]; /* mono ms / POLL_LATE_SLOT_MS of each, -1: none */
    int64_t max_ms[POLL_LATE_SLOTS];
    uint32_t hist[POLL_LATE_SLOTS][POLL_LATE_BUCKETS];
};
/* An empty window. */
void poll_lateness_init(struct poll_lateness *w);
/* Counts a poll started late_ms behind schedule at now_ms (CLOCK_MONOTONIC ms, not
 * decreasing from call to call). */
void poll_lateness_add(struct poll_lateness *w, int64_t now_ms, int64_t late_ms);
/* The 99th percentile (10 ms resolution: the upper bound's bucket start) and the worst of the
 * polls counted in the window ending at now_ms; 0 and 0 when none. */
void poll_lateness_get(const struct poll_lateness *w, int64_t now_ms, int64_t *p99_ms,
                       int64_t *max_ms);

/* Starts cfg->workers worker threads that poll every device of cfg on its
 * interval. Links are served from two deadline heaps: trusted links by any
 * worker, suspect links (new ones until a clean pass, and any whose last pass
 * had a failed request until 3 clean passes in a row) by at most half of the workers
 * (at least one), so the other half always serves the trusted ones. A pass
 * over a link starts no poll after its time budget (the longest
 * timeout x tries of its devices). cfg must outlive the poller (or the next
 * poller_reload).
 * Returns ENMON_OK or ENMON_ERR_NOMEM. */
int poller_start(const struct enmon_config *cfg, poller_emit_fn emit, void *ctx,
                 struct poller **out);

/* Switches a running poller to cfg without stopping its workers: links with
 * the same URI keep their connection and trust, devices whose polling settings
 * did not change keep their schedule, state and SunSpec discovery; the rest
 * start afresh, links of removed devices are closed; the number of workers
 * stays (polling.workers changes at the next start). Readings of cfg go to
 * emit/ident with ctx. Returns once no worker is still polling a link of the
 * previous configuration (at most one pass), so the previous configuration
 * and ctx may then be freed. ENMON_OK, or ENMON_ERR_NOMEM / ENMON_ERR_CONFIG
 * with the previous configuration still running. */
int poller_reload(struct poller *p, const struct enmon_config *cfg, poller_emit_fn emit,
                  poller_ident_fn ident, void *ctx);

/* Counters since start; lateness p99 and window max cover the sliding window of struct
 * poll_lateness (the last minute), the same for every caller. */
void poller_get_stats(struct poller *p, struct poller_stats *out);

/* True while the poll loop makes progress: no worker has been stuck in one
 * link for longer than stuck_ms, and nothing due waits longer than stuck_ms. */
int poller_healthy(struct poller *p, int64_t stuck_ms);

/* Stops the workers (each finishes its current device), fills *final (if not
 * NULL) with the last statistics, and frees everything. */
void poller_stop(struct poller *p, struct poller_stats *final);

/* Open Modbus connections handed from one poller to the next across a reload. */
struct poller_links;

/* Like poller_stop, but the open connections are not closed: they go into
 * *kept (NULL when none) for poller_start_keep. */
void poller_stop_keep(struct poller *p, struct poller_stats *final, struct poller_links **kept);

/* Like poller_start, with ident (may be NULL) called when a device's SunSpec
 * identity is read; each link of cfg with the same URI as a kept one takes
 * over its open connection (no reconnect). kept (may be NULL) is consumed:
 * connections nobody took are closed. */
int poller_start_keep(const struct enmon_config *cfg, poller_emit_fn emit, poller_ident_fn ident,
                      void *ctx, struct poller_links *kept, struct poller **out);

/* Closes and frees kept connections (NULL is fine). */
void poller_links_free(struct poller_links *kept);

#endif
