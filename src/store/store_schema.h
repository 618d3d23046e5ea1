/* store_schema.h -- the store's SQLite file: creation, pragmas, schema migrations, config sync. */
#ifndef ENMON_STORE_SCHEMA_H
#define ENMON_STORE_SCHEMA_H

#include "config.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* The schema version this build writes (PRAGMA user_version). */
#define STORE_SCHEMA_VERSION 12

/* Opens path read-write, creating it with mode 0640 when missing, and sets WAL
 * mode, synchronous=NORMAL and a busy timeout. ENMON_OK or ENMON_ERR_DB (msg). */
int store_schema_open(const char *path, sqlite3 **out, char *msg, size_t msglen);

/* Applies the migrations from the file's user_version up to STORE_SCHEMA_VERSION,
 * each in its own transaction. Refuses a file newer than this build. */
int store_schema_migrate(sqlite3 *db, char *msg, size_t msglen);

/* Upserts cfg's programs, sites and devices by key (devices no longer in cfg
 * stay for history) and writes each config device's row id into
 * device_ids[cfg->ndevices]. ENMON_OK or ENMON_ERR_DB. */
int store_schema_sync_config(sqlite3 *db, const struct enmon_config *cfg, int64_t *device_ids,
                             char *msg, size_t msglen);

/* Makes the daily table a rollup of intervals over local days at offset_min
 * (minutes east of UTC): when the file's rollup was made for another offset
 * (or never), it is rebuilt from intervals in one transaction, and the offset
 * is recorded in meta ('daily_offset_min'). ENMON_OK or ENMON_ERR_DB (msg). */
int store_schema_sync_daily(sqlite3 *db, int offset_min, char *msg, size_t msglen);

/* Makes program_intervals and program_daily the sums of intervals and daily per program:
 * when a device was moved to another program since they were built (program_rollup_map
 * differs from devices), both are rebuilt in one transaction; devices new since are added
 * to the map. ENMON_OK or
 * ENMON_ERR_DB (msg). Call after store_schema_sync_config and store_schema_sync_daily. */
int store_schema_sync_rollups(sqlite3 *db, char *msg, size_t msglen);

#endif
