/* archive.h -- old raw readings packed into compact blocks, read back with the new ones. */
#ifndef ENMON_ARCHIVE_H
#define ENMON_ARCHIVE_H

#include "block_codec.h"

#include <sqlite3.h>
#include <stdint.h>

/* Readings at least an hour old move to blocks; readings too few to fill a block
 * wait until the first of them is ARCHIVE_AGE_MS + ARCHIVE_FLUSH_MS (7 h) old. */
#define ARCHIVE_AGE_MS 3600000LL
#define ARCHIVE_FLUSH_MS (6 * 3600000LL)
/* A block's blob stays below the ~1,000-byte local payload of a WITHOUT ROWID row
 * at 4 KiB pages, so it never takes an overflow page. */
#define ARCHIVE_BLOCK_BYTES 900
#define ARCHIVE_BLOCK_ROWS 64            /* readings per block at most */
#define ARCHIVE_CHUNK ARCHIVE_BLOCK_ROWS /* readings moved at most per step: one full block */
#define ARCHIVE_STEP_MS 5                /* a step stops visiting devices after this */
#define ARCHIVE_EVERY_MS 60000LL         /* a round is due once the clock moved a minute ... */
#define ARCHIVE_MARK_STEP 10000          /* ... or the published mark moved this many rowids */

struct archive_stats {
    uint64_t moved;  /* readings moved from readings into reading_blocks */
    uint64_t blocks; /* blocks written */
    uint64_t rounds; /* rounds finished */
};

struct archive;

/* Prepares the statements on db (the store's connection, schema 10 or later).
 * ENMON_OK, ENMON_ERR_NOMEM or ENMON_ERR_DB. */
int archive_open(sqlite3 *db, struct archive **out);

/* 1 when a round should start at now_ms (the store's clock, real or simulated):
 * none ran yet, the last one started ARCHIVE_EVERY_MS before, or the MQTT
 * published mark moved ARCHIVE_MARK_STEP rowids since (a backlog acknowledged).
 * A round visits every device, so it is not started more often than that. */
int archive_due(struct archive *a, int64_t now_ms);

/* Starts a round at now_ms (the store's clock, real or simulated). */
void archive_begin(struct archive *a, int64_t now_ms);

/* One step of the running round in one short transaction of its own: device by
 * device, up to ARCHIVE_CHUNK readings older than now - ARCHIVE_AGE_MS become
 * blocks of reading_blocks and leave readings. Never moved: a row above the MQTT
 * published mark (the outbox, outbox.h), the newest row of the table (rowids never
 * restart) and each device's newest reading (report.c reads it). Readings that
 * do not fill a block wait until the first of them is ARCHIVE_AGE_MS +
 * ARCHIVE_FLUSH_MS old. *more is 1 while the round has work left.
 * ENMON_OK, or ENMON_ERR_DB (rolled back, the round ends). */
int archive_step(struct archive *a, int *more);

void archive_get_stats(const struct archive *a, struct archive_stats *out);

void archive_close(struct archive *a);

/* Called by archive_read for each reading in time order; non-zero stops. */
typedef int (*archive_row_fn)(void *ctx, const struct block_row *row);

/* The one way to read a device's raw readings (devices.id) with from_ms <= ts_ms
 * < to_ms: from the blocks and from readings, in time order (equal times: the
 * archived first). ENMON_OK, ENMON_ERR_NOMEM, ENMON_ERR_PARSE (a damaged block)
 * or ENMON_ERR_DB. */
int archive_read(sqlite3 *db, int64_t device_id, int64_t from_ms, int64_t to_ms, archive_row_fn fn,
                 void *ctx);

#endif
