/* live.h -- the live state of enmond for its consumers: latest reading per device, today's
 * energy, and the frames streamed to dashboards. Thread-safe; fed like a sink. */
#ifndef ENMON_LIVE_H
#define ENMON_LIVE_H

#include "config.h"
#include "reading.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* What is known now about one device. */
struct live_dev {
    struct reading last;    /* last successful reading (valid when has_last) */
    int has_last;           /* a reading with values arrived since start */
    int polled;             /* at least one poll (good or failed) since start */
    int online;             /* availability after the latest poll */
    int64_t last_poll_ms;   /* wall ms of the latest poll */
    int64_t last_seen_ms;   /* wall ms of the last successful poll, 0 never */
    double today_import_wh; /* energy of the local day from the database */
    double today_export_wh;
    uint64_t polls;    /* polls since start, good or failed (every one: none is dropped) */
    uint64_t failures; /* failed polls among them */
};

struct live;

/* A table for the ndevices of cfg (cfg must outlive it). ENMON_OK or ENMON_ERR_NOMEM. */
int live_open(const struct enmon_config *cfg, struct live **out);
void live_free(struct live *l);

/* Records a poll (any quality); l may be NULL. Never waits: when a reader holds the table,
 * the poll is parked in its device's slot (deferred) and applied by the next lock holder;
 * when that slot is being merged at this very moment, the poll is dropped (counted). */
void live_reading(struct live *l, const struct reading *r);

/* Copies the state of every device into out (cfg->ndevices entries), parked polls
 * included. */
void live_snapshot(struct live *l, struct live_dev *out);

/* Polls parked because the table was busy, and polls dropped because their slot was too. */
struct live_stats {
    uint64_t deferred, dropped;
};
void live_get_stats(struct live *l, struct live_stats *out);

/* Loads today's energy per device from the daily table of a read-only connection (day_s:
 * local midnight, UTC epoch s); the query runs without the table's lock, the figures are
 * copied in afterwards (all or, on an error, none). Returns the number of devices found,
 * or -1 on an error. */
int live_load_today(struct live *l, sqlite3 *db, int64_t day_s);

/* Frames for server-sent events: the newest replaces the previous one. */
void live_set_frame(struct live *l, const char *json);

/* Waits up to timeout_ms for a frame newer than *gen; on one, returns a malloc'd copy and
 * updates *gen. NULL on timeout, when closed (see live_closed) or out of memory. A call with
 * timeout_ms 0 is a listener's poll (an /api/live stream asks so at least every second while
 * it is open): frames are wanted for LIVE_LISTEN_MS after it. */
char *live_wait_frame(struct live *l, uint64_t *gen, int timeout_ms);

/* Does a listener want frames: did one poll within LIVE_LISTEN_MS of now (clock_mono_ms)?
 * Frames nobody reads are not built (at 400 devices they were a quarter of enmond's CPU). */
#define LIVE_LISTEN_MS 10000
int live_frames_wanted(struct live *l, int64_t now_mono_ms);

/* Forgets the current frame (its generation stays): while nobody listens none is built, and
 * a stream that comes later waits for a fresh frame instead of getting a stale one. */
void live_drop_frame(struct live *l);

/* Wakes every waiter for good: streams end (called before the HTTP server stops). */
void live_close_frames(struct live *l);
int live_closed(struct live *l);

#endif
