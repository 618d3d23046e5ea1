/* cli_scan.c -- the `enmon scan` command: options, the probe of one link, the device table or
 * YAML device entries. */
#include "cli_scan.h"
#include "config.h"
#include "err.h"
#include "scan.h"
#include "table.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

const char cli_scan_usage[] =
    "  scan LINK [--units 1-247|1,2,5-9] [--timeout 300ms] [--config-entry]\n"
    "      probes the unit ids of a Modbus link (tcp://HOST:PORT or\n"
    "      rtu:/dev/ttyX?baud=9600&parity=N&data=8&stop=1) one at a time and lists\n"
    "      each unit that answers: SunSpec base, manufacturer, model, serial,\n"
    "      version, the models of its chain and its kind. --config-entry prints\n"
    "      YAML device entries for enmond.yaml instead. Exit 0 when a device\n"
    "      answered, 1 when none did or the link failed.\n";

struct scan_cli {
    struct cfg_link link;
    struct scan_options opt;
    int entries; /* --config-entry */
};

enum { OPT_UNITS = 300, OPT_TIMEOUT, OPT_ENTRY };

static int scan_cli_option(struct scan_cli *s, int opt, const char *arg)
{
    if (opt == OPT_UNITS && scan_parse_units(arg, &s->opt) != ENMON_OK)
        return cli_usage_error(
            "--units: '%s' is not a list of unit ids 1..247 like 1-8 or 1,2,5-9", arg);
    if (opt == OPT_TIMEOUT && scan_parse_timeout(arg, &s->opt.timeout_ms) != ENMON_OK)
        return cli_usage_error("--timeout: '%s' is not a duration 10ms..10s such as 300ms or 1s",
                               arg);
    if (opt == OPT_ENTRY)
        s->entries = 1;
    return EX_OK;
}

/* argv[0] is "scan". EX_OK, EX_USAGE or CLI_HELP. */
static int scan_cli_parse(struct scan_cli *s, int argc, char **argv)
{
    static const struct option opts[] = {
        {"units", required_argument, NULL, OPT_UNITS},
        {"timeout", required_argument, NULL, OPT_TIMEOUT},
        {"config-entry", no_argument, NULL, OPT_ENTRY},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    scan_parse_units("1-247", &s->opt);
    s->opt.timeout_ms = SCAN_DEFAULT_TIMEOUT_MS;
    int opt, rc;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h')
            return CLI_HELP;
        if (opt == '?' || opt == ':')
            return cli_usage_error("scan: bad option '%s'", argv[optind - 1]);
        if ((rc = scan_cli_option(s, opt, optarg)) != EX_OK)
            return rc;
    }
    if (optind >= argc)
        return cli_usage_error("scan: no link given (tcp://HOST:PORT or rtu:/dev/PORT?baud=...)");
    if (optind + 1 < argc)
        return cli_usage_error("scan: unexpected argument '%s'", argv[optind + 1]);
    char why[160];
    if (scan_parse_link(argv[optind], &s->link, why, sizeof(why)) != ENMON_OK)
        return cli_usage_error("scan: invalid link '%s': %s", argv[optind], why);
    return EX_OK;
}

static const struct table_col scan_cols[SCAN_COL__COUNT] = {
    [SCAN_COL_UNIT] = {.name = "UNIT"},       [SCAN_COL_BASE] = {.name = "BASE"},
    [SCAN_COL_MANUFACTURER] = {.name = "MANUFACTURER"},
    [SCAN_COL_MODEL] = {.name = "MODEL"},     [SCAN_COL_SERIAL] = {.name = "SERIAL"},
    [SCAN_COL_VERSION] = {.name = "VERSION"}, [SCAN_COL_MODELS] = {.name = "MODELS"},
    [SCAN_COL_KIND] = {.name = "KIND"},
};

/* The devices as a table (none: no header) and the summary line. */
static int scan_print_table(const struct scan_result *res)
{
    struct table t;
    table_init(&t, scan_cols, SCAN_COL__COUNT, NULL);
    int rc = ENMON_OK;
    for (size_t i = 0; i < res->ndevices && rc == ENMON_OK; i++) {
        char cells[SCAN_COL__COUNT][SCAN_CELL_MAX];
        const char *row[SCAN_COL__COUNT];
        scan_device_cells(&res->devices[i], cells);
        for (int c = 0; c < SCAN_COL__COUNT; c++)
            row[c] = cells[c];
        rc = table_add(&t, row);
    }
    if (rc == ENMON_OK && res->ndevices > 0)
        rc = table_print(&t, TABLE_TEXT, stdout);
    table_free(&t);
    char summary[256];
    scan_format_summary(res, "", summary, sizeof(summary));
    fputs(summary, stdout);
    return rc == ENMON_OK ? 0 : -1;
}

static int scan_print(const struct scan_cli *s, const struct scan_result *res)
{
    if (!s->entries)
        return scan_print_table(res);
    size_t n = scan_format_entries(res, s->link.uri, NULL, 0);
    char *text = malloc(n + 1);
    if (!text) {
        fputs("enmon: scan: out of memory\n", stderr);
        return -1;
    }
    scan_format_entries(res, s->link.uri, text, n + 1);
    fputs(text, stdout);
    free(text);
    return 0;
}

int cli_scan_main(struct cli_ctx *ctx, int argc, char **argv)
{
    (void)ctx;
    struct scan_cli s;
    memset(&s, 0, sizeof(s));
    int rc = scan_cli_parse(&s, argc, argv);
    if (rc != EX_OK)
        return rc;
    struct scan_result res;
    int err = scan_link(&s.link, &s.opt, &res);
    int printed = res.probed > 0 && scan_print(&s, &res) == 0;
    rc = printed && err == ENMON_OK && res.ndevices > 0 ? EX_OK : EX_FAIL;
    if (err == ENMON_ERR_CONNECT && res.probed == 0)
        fprintf(stderr, "enmon: scan: cannot connect to %s\n", s.link.uri);
    else if (err == ENMON_ERR_CONNECT)
        fprintf(stderr, "enmon: scan: connection to %s lost after %d units; scan incomplete\n",
                s.link.uri, res.probed);
    else if (err != ENMON_OK)
        fprintf(stderr, "enmon: scan: %s\n", enmon_strerror(err));
    else if (res.ndevices == 0)
        fprintf(stderr, "enmon: scan: no device answered on %s\n", s.link.uri);
    scan_result_free(&res);
    return rc;
}
