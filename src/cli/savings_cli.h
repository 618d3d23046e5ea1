/* savings_cli.h -- the `enmon savings`, `enmon import` and `enmon dr` commands: options, output
 * (table, CSV, JSON) and the day-by-day explanation. */
#ifndef ENMON_SAVINGS_CLI_H
#define ENMON_SAVINGS_CLI_H

#include "cli.h"

/* Runs argv[0] ("savings", "import" or "dr") with its options. Returns an exit
 * status (exitcode.h): 0 ok, 1 error, 64 usage, 65 bad input data, 66 database, 78 savings
 * config. ctx has been through cli_setup. */
int savings_cli_main(const struct cli_ctx *ctx, int argc, char **argv);

/* Usage lines of the commands, for enmon --help. */
extern const char savings_cli_usage[];

#endif
