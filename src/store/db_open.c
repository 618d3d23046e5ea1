/* db_open.c -- the one way enmon opens its SQLite database: mode, busy timeout, schema check. */
#include "db_open.h"
#include "err.h"
#include "store_schema.h"

#include <stdio.h>
#include <sys/stat.h>

static int db_fail(sqlite3 *db, const char *path, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "%s: %s", path, db ? sqlite3_errmsg(db) : "out of memory");
    return ENMON_ERR_DB;
}

/* The schema version of an enmon database: 1..STORE_SCHEMA_VERSION, else an error. */
static int db_check_schema(sqlite3 *db, const char *path, char *msg, size_t msglen)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) != SQLITE_OK)
        return db_fail(db, path, msg, msglen); /* "file is not a database" */
    int version = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
    sqlite3_finalize(st);
    if (version < 0)
        return db_fail(db, path, msg, msglen);
    if (version == 0) {
        snprintf(msg, msglen, "%s: not an enmon database (no schema: run enmond once to create it)",
                 path);
        return ENMON_ERR_DB;
    }
    if (version > STORE_SCHEMA_VERSION) {
        snprintf(msg, msglen, "%s: schema version %d is newer than this build's (%d)", path,
                 version, STORE_SCHEMA_VERSION);
        return ENMON_ERR_DB;
    }
    return ENMON_OK;
}

int db_open(const char *path, enum db_mode mode, int busy_ms, sqlite3 **out, char *msg,
            size_t msglen)
{
    *out = NULL;
    struct stat sb;
    if (stat(path, &sb) != 0) {
        snprintf(msg, msglen, "%s: no such file (enmond creates the database when it starts)",
                 path);
        return ENMON_ERR_DB;
    }
    int flags = mode == DB_READONLY ? SQLITE_OPEN_READONLY : SQLITE_OPEN_READWRITE;
    if (mode == DB_STORE)
        flags |= SQLITE_OPEN_NOMUTEX;
    sqlite3 *db = NULL;
    if (sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        int rc = db_fail(db, path, msg, msglen);
        sqlite3_close(db);
        return rc;
    }
    sqlite3_busy_timeout(db, busy_ms > 0 ? busy_ms : DB_BUSY_MS);
    if (mode != DB_STORE) {
        int rc = db_check_schema(db, path, msg, msglen);
        if (rc != ENMON_OK) {
            sqlite3_close(db);
            return rc;
        }
    }
    *out = db;
    return ENMON_OK;
}

int db_open_readonly(const char *path, sqlite3 **out, char *msg, size_t msglen)
{
    return db_open(path, DB_READONLY, DB_READ_BUSY_MS, out, msg, msglen);
}
