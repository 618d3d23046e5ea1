/* store.h -- the SQLite store: one writer thread, batched transactions, WAL. */
#ifndef ENMON_STORE_H
#define ENMON_STORE_H

#include "config.h"
#include "reading.h"

#include <stdint.h>

struct store;

struct store_stats {
    uint64_t written;   /* readings committed */
    uint64_t dropped;   /* readings refused by a full queue */
    uint64_t batches;   /* transactions committed */
    uint64_t errors;    /* failed statements or commits */
    size_t depth;       /* readings waiting */
    size_t retry_depth; /* readings held in memory after a failed commit, to retry */
    uint64_t retry_dropped; /* readings refused beyond storage.retry_buffer_readings */
    uint64_t pruned;        /* readings deleted by retention (storage.readings_days) */
    double prune_max_ms; /* longest time retention or the archive held the writer between batches */
    uint64_t archived;      /* readings moved into the archive (archive.h) */
};

/* Opens (creating or migrating) the database at cfg->database, syncs the
 * programs, sites and devices tables with cfg, and starts the writer thread.
 * A database locked by another writer is waited for (up to 600 s, logged).
 * A commit that fails (disk full, lock held beyond the busy timeout, I/O error)
 * keeps its readings in memory, up to cfg->storage.retry_buffer_readings, and
 * retries them with backoff, in order, before anything newer.
 * Between batches the writer prunes what cfg->storage's retention lets go
 * (retention.h), in short steps, and gives free pages back.
 * Returns ENMON_OK or ENMON_ERR_DB; msg gets a human readable reason. */
int store_open(const struct enmon_config *cfg, struct store **out, char *msg, size_t msglen);

/* Queues a reading for writing; never blocks. ENMON_OK or ENMON_ERR_FULL.
 * Within one write batch (up to 250 ms of readings, more when a backlog is written) the
 * readings rows are inserted grouped by device, each device's in the order submitted: the
 * rowids (the MQTT outbox's order, outbox.h) keep time order per device, not across
 * devices within a batch. */
int store_submit(struct store *st, const struct reading *r);

struct alert_event;

/* Queues an alert raise or clear for the alerts table (alert_store.h); never
 * blocks. ENMON_OK or ENMON_ERR_FULL. */
int store_submit_alert(struct store *st, const struct alert_event *ev);

struct alert_learned;

/* Queues learned rule figures (alert_learned.h) for the alert_learned table,
 * written by the writer thread like alerts; never blocks. ENMON_OK or
 * ENMON_ERR_FULL. */
int store_submit_learned(struct store *st, const struct alert_learned *l);

void store_get_stats(struct store *st, struct store_stats *out);

/* Flushes everything queued, stops the writer thread and closes the database. */
void store_close(struct store *st);

#endif
