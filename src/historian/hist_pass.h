/* hist_pass.h -- one forwarding pass: what is new in SQLite, COPY'd and upserted to PostgreSQL. */
#ifndef ENMON_HIST_PASS_H
#define ENMON_HIST_PASS_H

#include <libpq-fe.h>
#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#define HIST_MONTHS_KNOWN 64 /* partitions known to exist, per table, remembered per session */
#define HIST_TABLE_SUMS 4    /* sums that tell when a small table (weather, dr_events) changed */

/* One PostgreSQL session and the collector's SQLite connection. */
struct hist_session {
    PGconn *pg;
    sqlite3 *db;
    int64_t months[2][HIST_MONTHS_KNOWN]; /* partitions created: intervals, daily */
    size_t nmonths[2];
    int staged;       /* the session's staging tables exist */
    int send_devices; /* set: the next pass sends the devices and their status even if idle */
    /* weather, dr_events: their sums when last sent in this session (none yet: sent whole
     * on the session's first pass, then again whenever the sums change) */
    double sums[2][HIST_TABLE_SUMS];
    int sums_known;
};

struct hist_result {
    uint64_t rows; /* rows upserted: intervals, daily, alerts, devices */
    int idle;      /* nothing new: no PostgreSQL transaction was run */
};

/* Creates the historian's tables in PostgreSQL when missing (under an advisory lock, so
 * collectors starting together do not race). ENMON_OK or ENMON_ERR_DB with msg. */
int hist_pass_schema(struct hist_session *s, char *msg, size_t msglen);

/* Forwards, from one SQLite snapshot, each device's intervals and daily rollups from its
 * frontier of the previous pass on (the earliest time the store could still add to then:
 * its last counter values and good reading), new or still-active alerts, the devices
 * with their status, and the weather and dr_events tables whole when their sums differ from
 * those the session last sent (s->sums), in one PostgreSQL transaction (COPY into temporary tables, then INSERT
 * ... ON CONFLICT DO UPDATE). The marks in SQLite's meta table (frontiers, alert id,
 * readings rowid and time for backlog and lag) move only after COMMIT. ENMON_OK, or
 * ENMON_ERR_DB with msg (nothing moved; the pass is replayed whole, idempotently). */
int hist_pass_run(struct hist_session *s, struct hist_result *res, char *msg, size_t msglen);

/* Readings committed since the last forwarded snapshot, and how far (at now_ms) the newest
 * forwarded reading lags while there are any (0 when none). */
int hist_pass_backlog(sqlite3 *db, int64_t now_ms, int64_t *backlog, double *lag_s);

#endif
