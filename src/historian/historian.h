/* historian.h -- the forwarder thread: PostgreSQL session, backoff, statistics, registry entry. */
#ifndef ENMON_HISTORIAN_H
#define ENMON_HISTORIAN_H

#include "config.h"
#include "sink.h"

#include <stddef.h>
#include <stdint.h>

/* Meta keys of the SQLite file (its key/value meta table) holding the marks of the last
 * committed pass: the newest readings rowid and its time (backlog and lag), the alert id
 * above which alerts are sent again, and a blob of (device id, interval start) pairs, each
 * device's frontier (hist_pass.h). */
#define HISTORIAN_MARK_READINGS "historian_readings_rowid"
#define HISTORIAN_MARK_TIME "historian_forwarded_ms"
#define HISTORIAN_MARK_ALERTS "historian_alerts_id"
#define HISTORIAN_MARK_FRONTIER "historian_frontier"

struct historian_stats {
    int connected;      /* a PostgreSQL session is open */
    int64_t backlog;    /* readings committed since the last forwarded snapshot */
    double lag_s;       /* (simulated) now minus the newest forwarded reading's time,
                           while there is a backlog; else 0 */
    uint64_t forwarded; /* rows upserted into PostgreSQL (all tables) since start */
    uint64_t passes;    /* committed forwarding transactions */
    uint64_t failures;  /* connects or passes that failed */
};

struct historian;

/* Starts the forwarder thread for cfg->historian.url (cfg must outlive it). With no URL,
 * ENMON_OK and *out NULL. ENMON_ERR_NOMEM or ENMON_ERR_IO (thread) with msg otherwise.
 * PostgreSQL being down is not an error: the thread retries with backoff. */
int historian_start(const struct enmon_config *cfg, struct historian **out, char *msg,
                    size_t msglen);

/* Stops the thread (an open transaction is rolled back; marks stay where they were) and
 * frees h (NULL is fine). */
void historian_stop(struct historian *h);

void historian_get_stats(struct historian *h, struct historian_stats *out);

/* h as a registry entry: it takes no readings (submit does nothing; the forwarder reads
 * SQLite), reports backlog and lag for /metrics and the stats line, and stops first. */
void historian_sink(struct historian *h, struct sink *out);

/* The registry's view of s (pure): families and stats line parts. */
void historian_sink_stats(const struct historian_stats *s, struct sink_stats *out);

#endif
