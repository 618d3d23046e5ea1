/* alert_store.h -- alerts in SQLite: the raise/clear history the store writes, and its queries. */
#ifndef ENMON_ALERT_STORE_H
#define ENMON_ALERT_STORE_H

#include "alerts.h"
#include "config.h"

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* Records a raise (a new active row, ignored when the key is active already)
 * or a clear (closes the active row of the key, keeping the raise's value and
 * recording ev->clear_value in clear_value, schema 7). device_id is devices.id.
 * Returns ENMON_OK or ENMON_ERR_DB. */
int alert_store_write(sqlite3 *db, int64_t device_id, const struct alert_event *ev);

/* The active alerts of the database at path, for alerts_restore(): *out is
 * malloc'd (free it), *n its length. Devices are matched by their config id.
 * Returns ENMON_OK (no file or no table: zero alerts) or ENMON_ERR_DB. */
int alert_store_load_active(const char *path, const struct enmon_config *cfg,
                            struct alert_event **out, size_t *n);

struct alert_learned;

/* Upserts the learned figures of one rule of one device (alert_learned table,
 * schema 6). device_id is devices.id. ENMON_OK or ENMON_ERR_DB. */
int alert_store_write_learned(sqlite3 *db, int64_t device_id, const struct alert_learned *l);

/* The learned figures of the database at path, for alerts_restore_learned():
 * *out is malloc'd (free it), *n its length; rows of devices no longer in cfg,
 * of unknown rules or with malformed slots are left out. Returns ENMON_OK (no
 * file or no table: nothing learned) or ENMON_ERR_DB. */
int alert_store_load_learned(const char *path, const struct enmon_config *cfg,
                             struct alert_learned **out, size_t *n);

/* One row of the alert history, for `enmon alerts`. */
struct alert_row {
    int64_t id;
    char key[ALERT_ID_MAX];
    char device[CFG_ID_MAX], program[CFG_ID_MAX], site[CFG_ID_MAX];
    char rule[32], cause[96], severity[16];
    double value; /* what raised it */
    int has_value;
    double clear_value; /* what cleared it */
    int has_clear_value;
    char clear_cause[64];                         /* "" when its rule cleared it */
    int64_t first_seen_ms, raised_ms, cleared_ms; /* cleared_ms 0: still active */
    char acked_by[64];
    int64_t acked_ms;
};

struct alert_filter {
    const char *program, *site, *device, *rule; /* NULL: any */
    int64_t from_ms, to_ms;                     /* raised in [from, to); 0: open */
    int active_only;
};

typedef void (*alert_row_fn)(void *ctx, const struct alert_row *row);

/* Calls fn for every alert matching f, newest first. ENMON_OK or ENMON_ERR_DB. */
int alert_store_list(sqlite3 *db, const struct alert_filter *f, alert_row_fn fn, void *ctx);

/* The row of alert `which` (its numeric id, or the key of an active alert) into *out.
 * ENMON_OK, ENMON_ERR_NOT_FOUND or ENMON_ERR_DB. */
int alert_store_find(sqlite3 *db, const char *which, struct alert_row *out);

/* Records who acknowledged alert `which` (its numeric id, or the key of an
 * active alert). The first acknowledgement stands: a second one is refused
 * with ENMON_ERR_INVALID and the first is copied into *first (when not NULL).
 * ENMON_OK, ENMON_ERR_NOT_FOUND, ENMON_ERR_INVALID or ENMON_ERR_DB. */
int alert_store_ack(sqlite3 *db, const char *which, const char *who, int64_t now_ms,
                    struct alert_row *first);

#define ALERT_CAUSE_REMOVED "device removed from configuration"

/* Closes the active alerts of devices no longer in cfg (at now_ms, with
 * clear_cause ALERT_CAUSE_REMOVED) in the database at path, in one transaction,
 * calling fn (may be NULL) with each row closed, e.g. to clear its retained
 * MQTT topic. *n (may be NULL) is how many. ENMON_OK (also when the file or
 * the table does not exist yet) or ENMON_ERR_DB. */
int alert_store_clear_removed(const char *path, const struct enmon_config *cfg, int64_t now_ms,
                              alert_row_fn fn, void *ctx, size_t *n);

#endif
