/* cli.h -- what enmon's commands share: the global options (config, database, zone) resolved
 * once, the command table's entry, usage errors and the final check of stdout. */
#ifndef ENMON_CLI_H
#define ENMON_CLI_H

#include "exitcode.h"

#include <stdarg.h>

#define CLI_DEFAULT_CONFIG "/etc/enmon/enmond.yaml"
#define CLI_DEFAULT_TZ "Asia/Seoul"

struct enmon_config;

/* The global options as given (enmon.c takes them from before and after the command), and
 * what cli_setup resolves from them. */
struct cli_ctx {
    const char *config_opt; /* -c: NULL = default (only read when --db is absent) */
    const char *db_opt;     /* --db */
    const char *tz_opt;     /* --tz */
    /* set by cli_setup: */
    const char *db_path;     /* --db, else the config's database */
    const char *config_path; /* the enmond config read (NULL: none): savings.yaml is looked for
                                next to it */
    int offset_min;          /* local time: --tz, else the config's timezone, else Asia/Seoul */
    const char *tz_label;    /* "Asia/Seoul (UTC+09:00)", "UTC-05:30" */
    struct enmon_config *cfg;
    char tz_buf[80];
};

/* Reads the config when needed (no --db, or -c given) and resolves the database path and the
 * time offset. EX_OK, EX_CONFIG (the config's error printed) or EX_USAGE (a bad --tz). */
int cli_setup(struct cli_ctx *ctx);

/* Frees what cli_setup loaded. */
void cli_cleanup(struct cli_ctx *ctx);

#define CLI_HELP (-1) /* what run returns for --help: enmon prints its usage and exits 0 */

/* One enmon command. run gets argv[0] == name, calls cli_setup when it needs the database or
 * the zone, and returns an exit status (exitcode.h) or CLI_HELP. */
struct cli_command {
    const char *name;
    const char *help;  /* one line for enmon --help */
    const char *usage; /* its options for enmon --help: entries "  name ..." (a text may
                          hold several commands' entries; enmon CMD --help prints CMD's) */
    int (*run)(struct cli_ctx *ctx, int argc, char **argv);
    unsigned flags; /* none yet: 0 */
};

/* Prints "enmon: <message>" and the pointer to --help on stderr; returns EX_USAGE. */
int cli_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
int cli_vusage_error(const char *fmt, va_list ap) __attribute__((format(printf, 1, 0)));

/* Flushes stdout: rc, or EX_FAIL when rc was EX_OK and the output could not be written. */
int cli_finish_stdout(int rc);

#endif
