/* backup_cli.c -- the `enmon backup` command: a consistent copy of the database as enmond runs. */
#include "backup_cli.h"
#include "db_open.h"
#include "err.h"

#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define BACKUP_PAGES_DEFAULT 1024 /* pages per step: 4 MB at SQLite's default page size */
#define BACKUP_PAGES_MAX 1000000
#define BACKUP_SLEEP_MS 10 /* between steps: the CPU and the disk for enmond's writer */

const char backup_cli_usage[] =
    "  enmon [GLOBAL] backup FILE [--pages N] [--force]\n"
    "      a consistent copy of the database while enmond writes (SQLite's online backup,\n"
    "      N pages per step, default 1024, progress on stderr), checked with integrity_check;\n"
    "      written to FILE.tmp, then renamed; an existing FILE only with --force\n";

struct backup_opts {
    const char *file;
    int pages;
    int force;
};

static int backup_parse(int argc, char **argv, struct backup_opts *o)
{
    static const struct option opts[] = {
        {"pages", required_argument, NULL, 'p'},
        {"force", no_argument, NULL, 'f'},
        {NULL, 0, NULL, 0},
    };
    o->pages = BACKUP_PAGES_DEFAULT;
    optind = 1;
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        if (c == 'f') {
            o->force = 1;
        } else if (c == 'p') {
            char *end = NULL;
            errno = 0;
            long n = strtol(optarg, &end, 10);
            if (errno || end == optarg || *end || n < 1 || n > BACKUP_PAGES_MAX)
                return cli_usage_error("backup: --pages: expected a number 1..%d",
                                       BACKUP_PAGES_MAX);
            o->pages = (int)n;
        } else {
            return cli_usage_error("backup: bad option '%s' (usage: enmon backup FILE "
                                   "[--pages N] [--force])",
                                   argv[optind - 1]);
        }
    }
    if (optind + 1 != argc)
        return cli_usage_error("backup: expected one FILE to write the copy to");
    o->file = argv[optind];
    return EX_OK;
}

/* Refuses FILE when it is the database itself, or exists without --force. */
static int backup_check_target(const char *db_path, const struct backup_opts *o)
{
    struct stat sdb, sfile;
    if (stat(o->file, &sfile) != 0)
        return EX_OK;
    if (stat(db_path, &sdb) == 0 && sdb.st_dev == sfile.st_dev && sdb.st_ino == sfile.st_ino) {
        fprintf(stderr, "enmon: backup: %s is the database itself\n", o->file);
        return EX_USAGE;
    }
    if (!o->force) {
        fprintf(stderr, "enmon: backup: %s exists (--force replaces it)\n", o->file);
        return EX_CANTCREAT;
    }
    return EX_OK;
}

/* Creates tmp afresh with mode 0640 (a copy is as private as the database), removing what an
 * interrupted backup left there. */
static int backup_create_tmp(const char *tmp)
{
    static const char *const sidecars[] = {"", "-journal", "-wal", "-shm"};
    for (size_t i = 0; i < sizeof(sidecars) / sizeof(sidecars[0]); i++) {
        char path[PATH_MAX + 16];
        snprintf(path, sizeof(path), "%s%s", tmp, sidecars[i]);
        if (unlink(path) != 0 && errno != ENOENT) {
            fprintf(stderr, "enmon: backup: cannot remove %s: %s\n", path, strerror(errno));
            return EX_CANTCREAT;
        }
    }
    int fd = open(tmp, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
    if (fd < 0 || fchmod(fd, 0640) != 0) {
        fprintf(stderr, "enmon: backup: cannot create %s: %s\n", tmp, strerror(errno));
        if (fd >= 0)
            close(fd);
        return EX_CANTCREAT;
    }
    close(fd);
    return EX_OK;
}

static void backup_progress(int total, int remaining, int *last_pct)
{
    int done = total - remaining;
    int pct = total > 0 ? (int)((long long)done * 100 / total) : 100;
    if (pct == *last_pct && remaining > 0)
        return;
    *last_pct = pct;
    fprintf(stderr, "enmon backup: %d/%d pages (%d%%)\n", done, total, pct);
}

/* Copies src into dst, pages per step. src holds one read transaction throughout: under WAL
 * that pins the snapshot of one commit (enmond's writer goes on, its WAL grows until the end),
 * so the copy is consistent and never restarts. */
static int backup_copy(sqlite3 *src, sqlite3 *dst, int pages)
{
    if (sqlite3_exec(src, "BEGIN; SELECT count(*) FROM sqlite_master", NULL, NULL, NULL) !=
        SQLITE_OK) {
        fprintf(stderr, "enmon: backup: cannot read the database: %s\n", sqlite3_errmsg(src));
        return EX_FAIL;
    }
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        fprintf(stderr, "enmon: backup: %s\n", sqlite3_errmsg(dst));
        sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
        return EX_FAIL;
    }
    int rc, last_pct = -1;
    do {
        rc = sqlite3_backup_step(b, pages);
        if (rc == SQLITE_OK || rc == SQLITE_DONE)
            backup_progress(sqlite3_backup_pagecount(b), sqlite3_backup_remaining(b), &last_pct);
        if (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED)
            sqlite3_sleep(BACKUP_SLEEP_MS);
    } while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED);
    sqlite3_backup_finish(b);
    sqlite3_exec(src, "COMMIT", NULL, NULL, NULL);
    if (rc != SQLITE_DONE) {
        fprintf(stderr, "enmon: backup: %s\n", sqlite3_errstr(rc));
        return EX_IOERR;
    }
    return EX_OK;
}

/* Makes the copy one self-contained file (rollback journal, not WAL), runs integrity_check
 * and prints its verdict with the copy's size and schema version. */
static int backup_verify(sqlite3 *dst, const char *file)
{
    char *err = NULL;
    if (sqlite3_exec(dst, "PRAGMA journal_mode=DELETE", NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "enmon: backup: journal_mode: %s\n", err ? err : "failed");
        sqlite3_free(err);
        return EX_FAIL;
    }
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(dst, "PRAGMA integrity_check", -1, &st, NULL) != SQLITE_OK) {
        fprintf(stderr, "enmon: backup: integrity_check: %s\n", sqlite3_errmsg(dst));
        return EX_FAIL;
    }
    int ok = 1, rows = 0;
    while (sqlite3_step(st) == SQLITE_ROW) {
        const char *line = (const char *)sqlite3_column_text(st, 0);
        rows++;
        if (!line || strcmp(line, "ok") != 0) {
            ok = 0;
            fprintf(stderr, "enmon: backup: integrity_check: %s\n", line ? line : "?");
        }
    }
    sqlite3_finalize(st);
    if (!ok || rows == 0)
        return EX_FAIL;
    int version = 0, npages = 0, page_size = 0;
    if (sqlite3_prepare_v2(dst,
                           "SELECT (SELECT user_version FROM pragma_user_version), "
                           "(SELECT page_count FROM pragma_page_count), "
                           "(SELECT page_size FROM pragma_page_size)",
                           -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW) {
        version = sqlite3_column_int(st, 0);
        npages = sqlite3_column_int(st, 1);
        page_size = sqlite3_column_int(st, 2);
    }
    sqlite3_finalize(st);
    printf("%s: %d pages of %d bytes, schema version %d, integrity_check ok\n", file, npages,
           page_size, version);
    return EX_OK;
}

static int backup_fsync_path(const char *path, int flags)
{
    int fd = open(path, flags | O_CLOEXEC);
    if (fd < 0)
        return -1;
    int rc = fsync(fd);
    close(fd);
    return rc;
}

/* fsyncs tmp, moves it to file (link + unlink refuses a file that appeared meanwhile; rename
 * replaces one with --force) and fsyncs the directory. */
static int backup_commit(const char *tmp, const char *file, int force)
{
    if (backup_fsync_path(tmp, O_RDONLY) != 0) {
        fprintf(stderr, "enmon: backup: fsync %s: %s\n", tmp, strerror(errno));
        return EX_IOERR;
    }
    int rc = force ? rename(tmp, file) : link(tmp, file);
    if (rc != 0) {
        fprintf(stderr, "enmon: backup: cannot write %s: %s\n", file, strerror(errno));
        return EX_CANTCREAT;
    }
    if (!force)
        unlink(tmp);
    char dir[PATH_MAX];
    snprintf(dir, sizeof(dir), "%s", file);
    if (backup_fsync_path(dirname(dir), O_RDONLY | O_DIRECTORY) != 0) {
        fprintf(stderr, "enmon: backup: fsync of %s's directory: %s\n", file, strerror(errno));
        return EX_IOERR;
    }
    return EX_OK;
}

static int backup_run(sqlite3 *src, const struct backup_opts *o, const char *tmp)
{
    int rc = backup_create_tmp(tmp);
    if (rc != EX_OK)
        return rc;
    sqlite3 *dst = NULL;
    if (sqlite3_open_v2(tmp, &dst, SQLITE_OPEN_READWRITE, NULL) != SQLITE_OK) {
        fprintf(stderr, "enmon: backup: %s: %s\n", tmp, dst ? sqlite3_errmsg(dst) : "no memory");
        rc = EX_FAIL;
    }
    if (rc == EX_OK)
        rc = backup_copy(src, dst, o->pages);
    if (rc == EX_OK)
        rc = backup_verify(dst, o->file);
    if (dst && sqlite3_close(dst) != SQLITE_OK && rc == EX_OK) {
        fprintf(stderr, "enmon: backup: close %s: %s\n", tmp, sqlite3_errmsg(dst));
        rc = EX_FAIL;
    }
    if (rc == EX_OK)
        rc = backup_commit(tmp, o->file, o->force);
    if (rc != EX_OK)
        unlink(tmp);
    return rc;
}

int backup_cli_main(struct cli_ctx *ctx, int argc, char **argv)
{
    struct backup_opts o = {0};
    int rc = backup_parse(argc, argv, &o);
    if (rc == EX_OK)
        rc = cli_setup(ctx);
    if (rc != EX_OK)
        return rc;
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof(tmp), "%s.tmp", o.file) >= (int)sizeof(tmp))
        return cli_usage_error("backup: FILE name too long");
    rc = backup_check_target(ctx->db_path, &o);
    if (rc != EX_OK)
        return rc;
    sqlite3 *src = NULL;
    char msg[512];
    if (db_open_readonly(ctx->db_path, &src, msg, sizeof(msg)) != ENMON_OK) {
        fprintf(stderr, "enmon: %s\n", msg);
        return EX_NOINPUT;
    }
    rc = backup_run(src, &o, tmp);
    sqlite3_close(src);
    return rc;
}
