/* enmon.c -- the enmon CLI: the global options parsed once, then a command from the table. */
#include "alert_cli.h"
#include "backup_cli.h"
#include "cli.h"
#include "cli_report.h"
#include "cli_scan.h"
#include "savings_cli.h"
#include "top_cli.h"

#include <getopt.h>
#include <stddef.h>
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
    return top_cli_main(ctx->config_opt, argc, argv);
}

static const struct cli_command commands[] = {
    {"report", "kWh imported and exported per program, site or device over local dates",
     cli_report_usage, cli_report_main, 0},
    {"devices", "every device with its status, last reading time, age and power",
     cli_report_usage, cli_devices_main, 0},
    {"alerts", "active alerts and their history; acknowledge one", alert_cli_usage, run_alerts,
     0},
    {"savings", "savings per program: avoided kWh, solar production, KRW, CO2, demand response",
     savings_cli_usage, run_savings, 0},
    {"import", "load 15-minute or hourly interval data from CSV (all or nothing)",
     savings_cli_usage, run_savings, 0},
    {"dr", "record and list demand-response events", savings_cli_usage, run_savings, 0},
    {"scan", "probe the unit ids of a Modbus link for SunSpec devices", cli_scan_usage,
     cli_scan_main, 0}, /* the link is on its command line: -c is not read */
    {"backup", "a consistent copy of the database while enmond writes (online backup)",
     backup_cli_usage, backup_cli_main, 0},
    {"top", "enmond's status, its data's age and the program summaries (MQTT)",
     top_cli_usage, run_top, 0},
};

#define NCOMMANDS (sizeof(commands) / sizeof(commands[0]))

static const struct cli_command *find_command(const char *name)
{
    for (size_t i = 0; i < NCOMMANDS; i++)
        if (strcmp(commands[i].name, name) == 0)
            return &commands[i];
    return NULL;
}

static const char global_options[] =
    "global options (before or after the command):\n"
    "  -c, --config PATH  enmond config: database path, timezone, broker\n"
    "                     (default " CLI_DEFAULT_CONFIG ")\n"
    "      --db PATH      database file (wins over the config's; the config is then\n"
    "                     read only when -c is given)\n"
    "      --tz OFFSET    local time offset such as +09:00 (default: the config's\n"
    "                     timezone, or " CLI_DEFAULT_TZ ")\n"
    "  -h, --help         this help; after a command: that command's usage\n"
    "      --version      enmon's version\n"
    "  (a command that does not use one, such as scan, ignores it)\n";

static const char exit_status[] =
    "exit status (sysexits.h): 0 ok, 1 the command failed (nothing found, a query\n"
    "failed), 64 usage, 65 bad input data, 66 database cannot be opened, 69 service\n"
    "unavailable (top: broker or summaries), 70 internal error, 73 cannot create the\n"
    "output file, 74 I/O error, 75 data stale (top --once), 78 config error\n";

/* Whether a usage line starting at line (two spaces of indent) is about the command name:
 * "  name ..." or "  enmon [GLOBAL] name ...". */
static int usage_line_is(const char *line, const char *name)
{
    static const char prefix[] = "enmon [GLOBAL] ";
    line += 2;
    if (strncmp(line, prefix, sizeof(prefix) - 1) == 0)
        line += sizeof(prefix) - 1;
    size_t n = strlen(name);
    return strncmp(line, name, n) == 0 && (line[n] == ' ' || line[n] == '\n');
}

/* The lines of cmd's usage text about cmd (a text may describe several commands): each
 * entry starts with two spaces of indent, its continuation lines have more. */
static void command_usage(const struct cli_command *cmd, FILE *out)
{
    fprintf(out, "usage: enmon [GLOBAL] %s [OPTIONS]\n%s.\n\n", cmd->name, cmd->help);
    int mine = 0;
    for (const char *p = cmd->usage; p && *p;) {
        const char *end = strchr(p, '\n');
        size_t len = end ? (size_t)(end - p + 1) : strlen(p);
        if (strncmp(p, "   ", 3) != 0)
            mine = usage_line_is(p, cmd->name);
        if (mine)
            fwrite(p, 1, len, out);
        p += len;
    }
    fprintf(out, "\n%s\n%s", global_options, exit_status);
}

static void usage(FILE *out)
{
    fprintf(out, "usage: enmon [GLOBAL] COMMAND [OPTIONS] [GLOBAL]\n"
                 "\ncommands:\n");
    for (size_t i = 0; i < NCOMMANDS; i++)
        fprintf(out, "  %-8s  %s\n", commands[i].name, commands[i].help);
    fprintf(out, "\n");
    for (size_t i = 0; i < NCOMMANDS; i++) {
        size_t j = 0;
        while (j < i && commands[j].usage != commands[i].usage)
            j++;
        if (commands[i].usage && j == i) /* a text shared by several commands once */
            fputs(commands[i].usage, out);
    }
    fprintf(out, "\n%s\n%s", global_options, exit_status);
}

/* ---- the global options ------------------------------------------------------------ */

enum { OPT_DB = 256, OPT_TZ, OPT_VERSION };

#define CLI_VERSION (-2) /* parse_globals: --version before the command */

/* Parses the options before the command into ctx; *cmd is the command's index in argv.
 * EX_OK, EX_USAGE, CLI_HELP or CLI_VERSION. */
static int parse_globals(struct cli_ctx *ctx, int argc, char **argv, int *cmd)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, OPT_DB},
        {"tz", required_argument, NULL, OPT_TZ},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, OPT_VERSION},
        {NULL, 0, NULL, 0},
    };
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "+c:h", opts, NULL)) != -1) {
        if (opt == 'h')
            return CLI_HELP;
        if (opt == OPT_VERSION)
            return CLI_VERSION;
        if (opt == 'c')
            ctx->config_opt = optarg;
        else if (opt == OPT_DB)
            ctx->db_opt = optarg;
        else if (opt == OPT_TZ)
            ctx->tz_opt = optarg;
        else if (opt == ':' || (opt == '?' && optopt))
            return cli_usage_error("option '%s' needs a value", argv[optind - 1]);
        else
            return cli_usage_error("bad option '%s' (the command's options go after it)",
                                   argv[optind - 1]);
    }
    *cmd = optind;
    return EX_OK;
}

/* The global option at argv[i] after the command ("-c X", "-cX", "--config X", "--config=X",
 * "--db", "--tz"): sets it in ctx and returns the words it takes (1 or 2), 0 when argv[i] is
 * none, or -1 (usage error printed) when its value is missing. */
static int take_global(struct cli_ctx *ctx, int argc, char **argv, int i)
{
    static const struct {
        const char *lng, *shrt;
        size_t field;
    } globals[] = {
        {"--config", "-c", offsetof(struct cli_ctx, config_opt)},
        {"--db", NULL, offsetof(struct cli_ctx, db_opt)},
        {"--tz", NULL, offsetof(struct cli_ctx, tz_opt)},
    };
    const char *a = argv[i];
    for (size_t g = 0; g < sizeof(globals) / sizeof(globals[0]); g++) {
        const char **slot = (const char **)((char *)ctx + globals[g].field);
        size_t n = strlen(globals[g].lng);
        const char *sh = globals[g].shrt;
        if (strncmp(a, globals[g].lng, n) == 0 && a[n] == '=') {
            *slot = a + n + 1;
            return 1;
        }
        if (sh && strncmp(a, sh, 2) == 0 && a[2]) {
            *slot = a + 2;
            return 1;
        }
        if (strcmp(a, globals[g].lng) == 0 || (sh && strcmp(a, sh) == 0)) {
            if (i + 1 >= argc)
                return cli_usage_error("option '%s' needs a value", a), -1;
            *slot = argv[i + 1];
            return 2;
        }
    }
    return 0;
}

/* Moves the global options given after the command into ctx and out of argv (up to a "--"),
 * so each command sees only its own; *help is set when -h or --help is among its words.
 * Returns the command's new argc, or -1 on a usage error. */
static int take_globals(struct cli_ctx *ctx, int argc, char **argv, int *help)
{
    int out = 1, i = 1;
    for (; i < argc && strcmp(argv[i], "--") != 0;) {
        int n = take_global(ctx, argc, argv, i);
        if (n < 0)
            return -1;
        if (n == 0) {
            *help |= strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0;
            argv[out++] = argv[i++];
        }
        i += n;
    }
    while (i < argc)
        argv[out++] = argv[i++];
    argv[out] = NULL;
    return out;
}

/* The commands parse their options with getopt from their argv[0]: a full restart (optind 0)
 * that also forgets the '+' (stop at the command) of the global options. */
static void getopt_restart(void)
{
    static char *none[] = {"enmon", NULL};
    optind = 0;
    getopt_long(1, none, "", (const struct option[]){{NULL, 0, NULL, 0}}, NULL);
    opterr = 0; /* each command says what is wrong itself, as "enmon: ..." */
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
    int k = 0, help = 0;
    int rc = parse_globals(&ctx, argc, argv, &k);
    if (rc == EX_OK && k >= argc)
        rc = no_command();
    const struct cli_command *cmd = rc == EX_OK ? find_command(argv[k]) : NULL;
    if (rc == EX_OK && !cmd)
        rc = cli_usage_error("unknown command '%s'", argv[k]);
    int cargc = rc == EX_OK ? take_globals(&ctx, argc - k, argv + k, &help) : 0;
    if (cargc < 0)
        rc = EX_USAGE;
    if (rc == EX_OK && help) {
        command_usage(cmd, stdout);
        rc = EX_OK;
    } else if (rc == EX_OK) {
        getopt_restart();
        rc = cmd->run(&ctx, cargc, argv + k);
    }
    if (rc == CLI_HELP) {
        usage(stdout);
        rc = EX_OK;
    }
    if (rc == CLI_VERSION) {
        printf("enmon " ENMON_VERSION "\n");
        rc = EX_OK;
    }
    rc = cli_finish_stdout(rc);
    cli_cleanup(&ctx);
    return rc;
}
