/* outbox.h -- the MQTT outbox: committed readings not yet acknowledged by the broker. */
#ifndef ENMON_OUTBOX_H
#define ENMON_OUTBOX_H

#include "config.h"
#include "reading.h"

#include <stddef.h>
#include <stdint.h>

/* The outbox is the tail of the readings table: every row whose rowid is
 * above the published mark (meta 'mqtt_published_rowid', schema version 4).
 * Rows are committed by the store before they can be published, and the mark
 * only moves past a row once the broker acknowledged it, so a reading survives
 * a broker outage and a crash of enmond in between. */
struct outbox;

/* One row to publish: the reading (device is the config index) and its rowid. */
struct outbox_item {
    struct reading r;
    int64_t seq;
    int keys_only; /* from outbox_fetch_keys: r holds only device and wall_ms */
};

struct outbox_stats {
    int64_t depth;    /* committed rows above the published mark */
    uint64_t shed;    /* rows skipped because the outbox exceeded max_rows */
    uint64_t skipped; /* rows of devices no longer in the configuration */
};

/* Opens cfg->database (already created and migrated by store_open) with a
 * connection of its own and loads the published mark. max_rows bounds the
 * outbox: beyond it the oldest rows are shed (counted, logged).
 * ENMON_OK or ENMON_ERR_DB with a reason in msg. */
int outbox_open(const struct enmon_config *cfg, int64_t max_rows, struct outbox **out, char *msg,
                size_t msglen);

/* Moves up to max rows after the last one fetched into out, in rowid order.
 * Returns how many (0: nothing new, or a database error, logged). */
size_t outbox_fetch(struct outbox *o, struct outbox_item *out, size_t max);

/* As outbox_fetch, but reads only each row's device and poll time (keys_only):
 * enough to match rows already published live, without reading them back. */
size_t outbox_fetch_keys(struct outbox *o, struct outbox_item *out, size_t max);

/* The next fetch starts after rowid seq again (when it is before the last fetched). */
void outbox_rewind(struct outbox *o, int64_t seq);

/* Updates the depth and sheds beyond max_rows without fetching (while the
 * broker is away). */
void outbox_refresh(struct outbox *o);

/* 1 when the last fetch reached the last committed row (nothing left unread). */
int outbox_at_end(const struct outbox *o);

/* The rowid of the last row fetched (or skipped): the published mark once
 * every row fetched has been acknowledged. */
int64_t outbox_fetched(const struct outbox *o);

/* Records that every row up to seq was acknowledged (written at most once a
 * second unless force). ENMON_OK or ENMON_ERR_DB. */
int outbox_mark(struct outbox *o, int64_t seq, int force);

void outbox_get_stats(struct outbox *o, struct outbox_stats *out);

/* Writes the last mark and closes the connection. */
void outbox_close(struct outbox *o);

#endif
