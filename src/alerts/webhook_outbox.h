/* webhook_outbox.h -- the webhook notices in SQLite (schema 9): waiting, tried, delivered. */
#ifndef ENMON_WEBHOOK_OUTBOX_H
#define ENMON_WEBHOOK_OUTBOX_H

#include <stddef.h>
#include <stdint.h>

/* One row of webhook_outbox: a notice for one endpoint (body malloc'd, free it). */
struct webhook_notice {
    int64_t id; /* rowid: the order of delivery per endpoint */
    char key[256];
    char *body;
    int attempts;
};

struct webhook_outbox;

/* Opens the database at path (created and migrated by store_open) with a connection of its
 * own, for one thread. ENMON_OK, or ENMON_ERR_DB with a reason in msg. */
int webhook_outbox_open(const char *path, struct webhook_outbox **out, char *msg, size_t msglen);

/* Adds a notice unless the endpoint has one with this key already (a notice is enqueued once).
 * ENMON_OK or ENMON_ERR_DB. */
int webhook_outbox_add(struct webhook_outbox *o, const char *endpoint, const char *key,
                       const char *body, int64_t now_ms);

/* The oldest undelivered notice of endpoint: 1 (out filled), 0 none, -1 database error. */
int webhook_outbox_next(struct webhook_outbox *o, const char *endpoint, struct webhook_notice *out);

/* Records a notice delivered (2xx), or one more failed attempt and when the next is due. */
int webhook_outbox_delivered(struct webhook_outbox *o, int64_t id, int64_t now_ms);
int webhook_outbox_failed(struct webhook_outbox *o, int64_t id, int64_t next_try_ms,
                          const char *error);

/* Undelivered notices of endpoint (-1 on a database error). */
int64_t webhook_outbox_backlog(struct webhook_outbox *o, const char *endpoint);

void webhook_outbox_close(struct webhook_outbox *o);

#endif
