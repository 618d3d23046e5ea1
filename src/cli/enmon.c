/* enmon.c -- the enmon CLI: the global options parsed once, then a command from the table. */
#include "alert_cli.h"
#include "backup_cli.h"
#include "cli.h"
#include "cli_report.h"
#include "cli_scan.h"
#include "savings_cli.h"
#include "top_cli.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

/* ---- the commands ---------------------------------------------------------------- */

static int run_with_setup(struct cli_ctx *ctx, int argc, char **argv,
                          int (*main_fn)(const struct cli_ctx *, int, char **))
{
    int rc = cli_setup(ctx);
    return rc == EX_OK ? main_fn(ctx, argc, argv) : rc;
}

static int run_alerts(struct cli_ctx *ctx, int argc, char **argv)
{
    return run_with_setup(ctx, argc, argv, alert_cli_main);
}

static int run_savings(struct cli_ctx *ctx, int argc, char **argv)
{
    return run_with_setup(ctx, argc, argv, savings_cli_main); /* savings, import and dr */
}

static int run_top(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    return top_cli_main(argc, argv);
}

static const char top_usage[] =
    "  top [-c CONFIG] [--host HOST] [--port PORT] [--root ROOT] [--once]\n"
    "      live program summaries from MQTT (broker and root from the config); --once prints\n"
    "      one frame. Its -c comes after the command.\n";

static const struct cli_command commands[] = {
    {"report", "kWh imported and exported per program, site or device over local dates",
     cli_report_usage, cli_report_main, 0},
    {"devices", "every device with its status, last reading time, age and power", NULL,
     cli_devices_main, 0},
    {"alerts", "active alerts and their history; acknowledge one", alert_cli_usage, run_alerts,
     0},
    {"savings", "savings per program: avoided kWh, solar production, KRW, CO2, demand response",
     savings_cli_usage, run_savings, 0},
    {"import", "load 15-minute or hourly interval data from CSV (all or nothing)", NULL,
     run_savings, 0},
    {"dr", "record and list demand-response events", NULL, run_savings, 0},
    {"scan", "probe the unit ids of a Modbus link for SunSpec devices", cli_scan_usage,
     cli_scan_main, CLI_OWN_OPTIONS},
    {"backup", "a consistent copy of the database while enmond writes (online backup)",
     backup_cli_usage, backup_cli_main, 0},
    {"top", "a terminal live view of the program summaries on MQTT", top_usage, run_top,
     CLI_OWN_OPTIONS},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: enmon [-c CONFIG | --db PATH] [--tz OFFSET] COMMAND [OPTIONS]\n"
                 "\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-8s  %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (commands[i].usage)
            fputs(commands[i].usage, out);
    fprintf(out,
            "\n"
            "options (before the command):\n"
            "  -c, --config PATH  enmond config: database path and timezone (default %s)\n"
            "      --db PATH      database file (wins over the config's; the config is then\n"
            "                     read only when -c is given)\n"
            "      --tz OFFSET    local time offset such as +09:00 (default: the config's\n"
            "                     timezone, or %s)\n"
            "  -h, --help         this help\n"
            "\n"
            "exit status: 0 ok, 1 error, 64 usage, 65 bad input data, 66 database cannot be\n"
            "opened, 78 config error\n",
            CLI_DEFAULT_CONFIG, CLI_DEFAULT_TZ);
}

/* ---- the global options ------------------------------------------------------------ */

enum { OPT_DB = 256, OPT_TZ };

/* Parses the options before the command into ctx; *cmd is the command's index in argv.
 * EX_OK, EX_USAGE or CLI_HELP. */
static int parse_globals(struct cli_ctx *ctx, int argc, char **argv, int *cmd)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, OPT_DB},
        {"tz", required_argument, NULL, OPT_TZ},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
        if (opt == 'h')
            return CLI_HELP;
        if (opt == 'c')
            ctx->config_opt = optarg;
        else if (opt == OPT_DB)
            ctx->db_opt = optarg;
        else if (opt == OPT_TZ)
            ctx->tz_opt = optarg;
        else
            return cli_usage_error("bad option '%s' (the command's options go after it)",
                                   argv[optind - 1]);
    }
    *cmd = optind;
    return EX_OK;
}

/* The commands parse their options with getopt from their argv[0]: a full restart (optind 0)
 * that also forgets the '+' (stop at the command) of the global options. */
static void getopt_restart(void)
{
    static char *none[] = {"enmon", NULL};
    optind = 0;
    getopt_long(1, none, "", (const struct option[]){{NULL, 0, NULL, 0}}, NULL);
    opterr = 1; /* as a fresh process: a command's parser sets what it wants */
}

static int no_command(void)
{
    char names[256] = "";
    for (size_t i = 0; i < NCOMMANDS; i++)
        snprintf(names + strlen(names), sizeof(names) - strlen(names), "%s%s",
                 i == 0 ? "" : i + 1 == NCOMMANDS ? " or " : ", ", commands[i].name);
    return cli_usage_error("no command given (%s)", names);
}

int main(int argc, char **argv)
{
    struct cli_ctx ctx = {0};
    int k = 0;
    int rc = parse_globals(&ctx, argc, argv, &k);
    if (rc == EX_OK && k >= argc)
        rc = no_command();
    const struct cli_command *cmd = rc == EX_OK ? find_command(argv[k]) : NULL;
    if (rc == EX_OK && !cmd)
        rc = cli_usage_error("unknown command '%s'", argv[k]);
    int globals = ctx.config_opt || ctx.db_opt || ctx.tz_opt;
    if (rc == EX_OK && (cmd->flags & CLI_OWN_OPTIONS) && globals)
        rc = cli_usage_error("'%s' takes no global options (enmon %s --help)", cmd->name,
                             cmd->name);
    if (rc == EX_OK) {
        getopt_restart();
        rc = cmd->run(&ctx, argc - k, argv + k);
    }
    if (rc == CLI_HELP) {
        usage(stdout);
        rc = EX_OK;
    }
    rc = cli_finish_stdout(rc);
    cli_cleanup(&ctx);
    return rc;
}
