/* alert_cli.h -- the `enmon alerts` command: list active alerts and history, acknowledge. */
#ifndef ENMON_ALERT_CLI_H
#define ENMON_ALERT_CLI_H

#include "cli.h"

/* Runs argv[0] == "alerts" with its options, on ctx->db_path. Returns an exit
 * status (exitcode.h): 0 ok, 1 not found / error, 64 usage, 66 database. */
int alert_cli_main(const struct cli_ctx *ctx, int argc, char **argv);

extern const char alert_cli_usage[];

#endif
