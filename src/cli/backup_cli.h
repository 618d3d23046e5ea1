/* backup_cli.h -- the `enmon backup` command: a consistent copy of the database as enmond runs. */
#ifndef ENMON_BACKUP_CLI_H
#define ENMON_BACKUP_CLI_H

#include "cli.h"

/* Runs argv[0] == "backup": parses its options, then cli_setup (ctx), and copies ctx->db_path to
 * argv's FILE with SQLite's online backup API, --pages N pages per step (progress on stderr), from
 * one read snapshot of the source, into FILE.tmp, checked with PRAGMA integrity_check, fsynced and
 * renamed to FILE (an existing FILE only with --force). Returns an exit status (exitcode.h): 0 ok,
 * 1 the copy failed or FILE exists, 64 usage, 66 the database cannot be opened. */
int backup_cli_main(struct cli_ctx *ctx, int argc, char **argv);

extern const char backup_cli_usage[];

#endif
