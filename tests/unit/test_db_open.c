/* test_db_open.c -- the one database open: a missing file, a file that is not an enmon database
 * or has a newer schema are refused with the file named; read-only stays read-only. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "db_open.h"
#include "err.h"
#include "store_schema.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct fixture {
    char dir[64], path[96];
};

static int setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));
    snprintf(f->dir, sizeof(f->dir), "/tmp/enmon-dbopen-XXXXXX");
    if (!f || !mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof(f->path), "%s/enmon.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fixture *f = *state;
    unlink(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

/* A plain SQLite file at f->path with one table and the given user_version. */
static void make_file(const struct fixture *f, int version)
{
    sqlite3 *db = NULL;
    char sql[96];
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS t(x); PRAGMA user_version=%d", version);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

static void test_missing_file_is_named(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = (sqlite3 *)1;
    char msg[256] = "";
    for (int mode = DB_READONLY; mode <= DB_STORE; mode++) {
        assert_int_equal(db_open(f->path, (enum db_mode)mode, 0, &db, msg, sizeof(msg)),
                         ENMON_ERR_DB);
        assert_null(db);
        assert_non_null(strstr(msg, f->path));
        assert_non_null(strstr(msg, "no such file"));
    }
    assert_int_equal(access(f->path, F_OK), -1); /* never created */
}

static void test_not_an_enmon_database(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = NULL;
    char msg[256] = "";
    make_file(f, 0);
    assert_int_equal(db_open_readonly(f->path, &db, msg, sizeof(msg)), ENMON_ERR_DB);
    assert_null(db);
    assert_non_null(strstr(msg, "not an enmon database"));
    assert_int_equal(db_open(f->path, DB_READWRITE, 0, &db, msg, sizeof(msg)), ENMON_ERR_DB);
    /* the store's own open takes a fresh file: it creates the schema itself */
    assert_int_equal(db_open(f->path, DB_STORE, 0, &db, msg, sizeof(msg)), ENMON_OK);
    sqlite3_close(db);
}

static void test_garbage_file(void **state)
{
    struct fixture *f = *state;
    FILE *out = fopen(f->path, "w");
    assert_non_null(out);
    fputs("this is not SQLite, not even close, but long enough to have a header\n", out);
    fclose(out);
    sqlite3 *db = NULL;
    char msg[256] = "";
    assert_int_equal(db_open_readonly(f->path, &db, msg, sizeof(msg)), ENMON_ERR_DB);
    assert_null(db);
    assert_non_null(strstr(msg, f->path));
}

static void test_newer_schema_refused(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = NULL;
    char msg[256] = "";
    make_file(f, STORE_SCHEMA_VERSION + 1);
    assert_int_equal(db_open_readonly(f->path, &db, msg, sizeof(msg)), ENMON_ERR_DB);
    assert_non_null(strstr(msg, "newer than this build"));
}

static void test_readonly_and_readwrite(void **state)
{
    struct fixture *f = *state;
    sqlite3 *db = NULL;
    char msg[256] = "";
    make_file(f, 1);
    assert_int_equal(db_open_readonly(f->path, &db, msg, sizeof(msg)), ENMON_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO t VALUES(1)", NULL, NULL, NULL),
                     SQLITE_READONLY);
    sqlite3_close(db);
    assert_int_equal(db_open(f->path, DB_READWRITE, 100, &db, msg, sizeof(msg)), ENMON_OK);
    assert_int_equal(sqlite3_exec(db, "INSERT INTO t VALUES(1)", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_file_is_named, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_an_enmon_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_garbage_file, setup, teardown),
        cmocka_unit_test_setup_teardown(test_newer_schema_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_readonly_and_readwrite, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
