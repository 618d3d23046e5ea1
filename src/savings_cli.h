/* savings_cli.h -- the `enmon savings`, `enmon import` and `enmon dr` commands: options, output
 * (table, CSV, JSON) and the day-by-day explanation. */
#ifndef ENMON_SAVINGS_CLI_H
#define ENMON_SAVINGS_CLI_H

struct savings_cli_ctx {
    const char *db_path;
    const char
        *config_path; /* enmond config used (NULL: none): savings.yaml is looked for next to it */
    int offset_min;
    const char *tz_label;
};

/* 1 when name is one of the commands handled here. */
int savings_cli_is_command(const char *name);

/* Runs argv[0] ("savings", "import" or "dr") with its options. Returns an exit
 * status: 0 ok, 1 error, 64 usage, 65 bad input data, 66 database, 78 savings config. */
int savings_cli_main(const struct savings_cli_ctx *ctx, int argc, char **argv);

/* Usage lines of the commands, for enmon --help. */
extern const char savings_cli_usage[];

#endif
