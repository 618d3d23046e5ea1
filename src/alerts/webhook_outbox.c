/* webhook_outbox.c -- the webhook notices in SQLite (schema 9): waiting, tried, delivered. */
#include "webhook_outbox.h"

#include "db_open.h"
#include "err.h"
#include "log.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

enum { ST_ADD, ST_NEXT, ST_DELIVERED, ST_FAILED, ST_BACKLOG, ST__COUNT };

static const char *const sql[ST__COUNT] = {
    [ST_ADD] = "INSERT OR IGNORE INTO webhook_outbox(endpoint, idem_key, body, created_ms)"
               " VALUES(?1, ?2, ?3, ?4)",
    [ST_NEXT] = "SELECT id, idem_key, body, attempts FROM webhook_outbox"
                " WHERE endpoint = ?1 AND delivered_ms IS NULL ORDER BY id LIMIT 1",
    [ST_DELIVERED] = "UPDATE webhook_outbox SET delivered_ms = ?2, attempts = attempts + 1,"
                     " last_error = NULL WHERE id = ?1",
    [ST_FAILED] = "UPDATE webhook_outbox SET attempts = attempts + 1, next_try_ms = ?2,"
                  " last_error = ?3 WHERE id = ?1",
    [ST_BACKLOG] = "SELECT count(*) FROM webhook_outbox WHERE endpoint = ?1"
                   " AND delivered_ms IS NULL",
};

struct webhook_outbox {
    sqlite3 *db;
    sqlite3_stmt *st[ST__COUNT];
};

int webhook_outbox_open(const char *path, struct webhook_outbox **out, char *msg, size_t msglen)
{
    struct webhook_outbox *o = calloc(1, sizeof(*o));
    *out = NULL;
    if (!o) {
        snprintf(msg, msglen, "%s", enmon_strerror(ENMON_ERR_NOMEM));
        return ENMON_ERR_DB;
    }
    if (db_open(path, DB_STORE, 0, &o->db, msg, msglen) != ENMON_OK) {
        free(o);
        return ENMON_ERR_DB;
    }
    for (int i = 0; i < ST__COUNT; i++)
        if (sqlite3_prepare_v2(o->db, sql[i], -1, &o->st[i], NULL) != SQLITE_OK) {
            snprintf(msg, msglen, "%s: webhook outbox: %s", path, sqlite3_errmsg(o->db));
            webhook_outbox_close(o);
            return ENMON_ERR_DB;
        }
    *out = o;
    return ENMON_OK;
}

/* Steps a statement that returns no rows and resets it. */
static int run(struct webhook_outbox *o, sqlite3_stmt *st)
{
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    if (rc != SQLITE_DONE) {
        log_err("webhook outbox: %s", sqlite3_errmsg(o->db));
        return ENMON_ERR_DB;
    }
    return ENMON_OK;
}

int webhook_outbox_add(struct webhook_outbox *o, const char *endpoint, const char *key,
                       const char *body, int64_t now_ms)
{
    sqlite3_stmt *st = o->st[ST_ADD];
    sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sqlite3_bind_text(st, 3, body, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 4, now_ms);
    return run(o, st);
}

int webhook_outbox_next(struct webhook_outbox *o, const char *endpoint, struct webhook_notice *out)
{
    sqlite3_stmt *st = o->st[ST_NEXT];
    int found = 0;
    sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW) {
        const char *key = (const char *)sqlite3_column_text(st, 1);
        const char *body = (const char *)sqlite3_column_text(st, 2);
        out->id = sqlite3_column_int64(st, 0);
        snprintf(out->key, sizeof(out->key), "%s", key ? key : "");
        out->body = strdup(body ? body : "");
        out->attempts = sqlite3_column_int(st, 3);
        found = out->body ? 1 : -1;
    } else if (rc != SQLITE_DONE) {
        log_err("webhook outbox: %s", sqlite3_errmsg(o->db));
        found = -1;
    }
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return found;
}

int webhook_outbox_delivered(struct webhook_outbox *o, int64_t id, int64_t now_ms)
{
    sqlite3_stmt *st = o->st[ST_DELIVERED];
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, now_ms);
    return run(o, st);
}

int webhook_outbox_failed(struct webhook_outbox *o, int64_t id, int64_t next_try_ms,
                          const char *error)
{
    sqlite3_stmt *st = o->st[ST_FAILED];
    sqlite3_bind_int64(st, 1, id);
    sqlite3_bind_int64(st, 2, next_try_ms);
    sqlite3_bind_text(st, 3, error, -1, SQLITE_STATIC);
    return run(o, st);
}

int64_t webhook_outbox_backlog(struct webhook_outbox *o, const char *endpoint)
{
    sqlite3_stmt *st = o->st[ST_BACKLOG];
    int64_t n = -1;
    sqlite3_bind_text(st, 1, endpoint, -1, SQLITE_STATIC);
    if (sqlite3_step(st) == SQLITE_ROW)
        n = sqlite3_column_int64(st, 0);
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return n;
}

void webhook_outbox_close(struct webhook_outbox *o)
{
    if (!o)
        return;
    for (int i = 0; i < ST__COUNT; i++)
        sqlite3_finalize(o->st[i]);
    sqlite3_close(o->db);
    free(o);
}
