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

/* Counters since start; lateness p99 and window max cover the window since the
 * previous call (each call starts a new window). */
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
