/* db_open.h -- the one way enmon opens its SQLite database: mode, busy timeout, schema check. */
#ifndef ENMON_DB_OPEN_H
#define ENMON_DB_OPEN_H

#include <sqlite3.h>
#include <stddef.h>

#define DB_BUSY_MS 5000      /* writers wait this long for the lock before SQLITE_BUSY */
#define DB_READ_BUSY_MS 2000 /* readers (under WAL they wait only for a checkpoint) */

enum db_mode {
    DB_READONLY,  /* read-only (never blocks the writer under WAL): an existing enmon database */
    DB_READWRITE, /* read-write: an existing enmon database (enmon import, dr add, alerts ack) */
    DB_STORE,     /* read-write, one thread per connection, no schema check: enmond's store and
                     outbox (the store creates the file and migrates its schema itself) */
};

/* Opens the database file at path. The file must exist (it is never created here); in
 * DB_READONLY and DB_READWRITE it must hold an enmon schema no newer than this build's
 * (fail closed: not an enmon database, schema too new). busy_ms <= 0 means DB_BUSY_MS.
 * ENMON_OK with *out open, or ENMON_ERR_DB with *out NULL and a reason naming the file in msg. */
int db_open(const char *path, enum db_mode mode, int busy_ms, sqlite3 **out, char *msg,
            size_t msglen);

/* db_open(path, DB_READONLY, DB_READ_BUSY_MS, ...): the CLI's queries and the REST API. */
int db_open_readonly(const char *path, sqlite3 **out, char *msg, size_t msglen);

#endif
