/* retention.h -- storage retention: old rows pruned in short steps, free pages given back. */
#ifndef ENMON_RETENTION_H
#define ENMON_RETENTION_H

#include <sqlite3.h>
#include <stdint.h>

#define RETENTION_CHUNK 1000        /* rows deleted at most per step */
#define RETENTION_STEP_MS 10        /* a step stops visiting devices after this */
#define RETENTION_VACUUM_PAGES 256  /* pages given back per incremental_vacuum step */
#define RETENTION_VACUUM_SLACK 1024 /* free pages kept for reuse (4 MiB at 4 KiB pages) */

/* What to keep, in days before now; 0 keeps everything. */
struct retention_policy {
    int readings_days;
    int intervals_days;
    int daily_days;
    int alerts_days;  /* cleared alerts, by their clear time; active ones are always kept */
    int chunk;        /* rows per step, RETENTION_CHUNK when 0 */
    int vacuum_slack; /* free pages kept, RETENTION_VACUUM_SLACK when 0; < 0 none */
};

struct retention_stats {
    uint64_t readings, intervals, daily, alerts; /* rows deleted */
    uint64_t blocks;                             /* reading_blocks rows (archive.h) deleted */
    uint64_t pages;                              /* pages given back by incremental_vacuum */
    uint64_t rounds;                             /* rounds finished */
};

struct retention;

/* Prepares the statements on db (the store's connection, schema migrated).
 * ENMON_OK, ENMON_ERR_NOMEM or ENMON_ERR_DB. */
int retention_open(sqlite3 *db, const struct retention_policy *p, struct retention **out);

/* 1 when the policy prunes anything (a round would do work). */
int retention_enabled(const struct retention *r);

/* Starts a round at now_ms (the store's wall clock, real or simulated): the
 * cutoffs are fixed for the whole round. A round already running restarts. */
void retention_begin(struct retention *r, int64_t now_ms);

/* One step of the running round, in one short transaction of its own: up to
 * chunk rows of one table (readings device by device, never a row above the
 * MQTT published mark nor the newest row, so rowids never restart), or one
 * incremental_vacuum of RETENTION_VACUUM_PAGES while more than the slack is
 * free. *more is 1 while the round has work left, 0 once it is finished (or no
 * round runs). ENMON_OK, or ENMON_ERR_DB (the step is rolled back and the round
 * ends; the next one tries again). */
int retention_step(struct retention *r, int *more);
/* (After the readings, the archive's blocks (archive.h) whose readings are all
 * older than readings_days go the same way, device by device, counted as the
 * readings they held; a block across the cutoff loses its older readings.) */

void retention_get_stats(const struct retention *r, struct retention_stats *out);

void retention_close(struct retention *r);

#endif
