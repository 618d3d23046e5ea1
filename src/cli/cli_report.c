/* cli_report.c -- the `enmon report` and `enmon devices` commands: energy per group over local
 * dates, device status; output as a table, CSV or JSON. */
#include "cli_report.h"
#include "caltime.h"
#include "clock.h"
#include "db_open.h"
#include "err.h"
#include "report.h"
#include "report_source.h"
#include "table.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

const char cli_report_usage[] =
    "  report [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--by program|site|device]\n"
    "         [--format table|csv|json]\n"
    "      kWh imported (kWh_in: consumed) and exported (kWh_out: produced by\n"
    "      inverters, exported by meters) per group, summed from 15-minute intervals.\n"
    "      Dates are local dates; both are inclusive: --to counts that whole day.\n"
    "      Defaults: --from the first day of this month, --to today, --by program.\n"
    "  devices [--format table|csv|json]\n"
    "      every device with its status, last reading time, age and power.\n";

#define FORMATS (TABLE_ALLOW(TABLE_TEXT) | TABLE_ALLOW(TABLE_CSV) | TABLE_ALLOW(TABLE_JSON))

struct report_opts {
    const char *from, *to, *by;
    enum table_format fmt;
};

enum { OPT_FROM = 256, OPT_TO, OPT_BY, OPT_FORMAT };

/* argv[0] is the command. EX_OK, EX_USAGE or CLI_HELP. */
static int report_parse(struct report_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"by", required_argument, NULL, OPT_BY},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    memset(o, 0, sizeof(*o));
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        if (opt == 'h')
            return CLI_HELP;
        if (opt == OPT_FROM)
            o->from = optarg;
        else if (opt == OPT_TO)
            o->to = optarg;
        else if (opt == OPT_BY)
            o->by = optarg;
        else if (opt == OPT_FORMAT && table_parse_format(optarg, FORMATS, &o->fmt) != ENMON_OK)
            return cli_usage_error("--format must be table, csv or json, not '%s'", optarg);
        else if (opt != OPT_FORMAT)
            return cli_usage_error("bad option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        return cli_usage_error("unexpected argument '%s'", argv[optind]);
    return EX_OK;
}

/* The file, or the historian's rows of the period (report_source.h). */
static int report_open_db(const struct cli_ctx *ctx, enum report_need need, int64_t from_s,
                          int64_t to_s, sqlite3 **db)
{
    char msg[768];
    if (report_source_open(ctx->db_path, need, from_s, to_s, db, msg, sizeof(msg)) != ENMON_OK) {
        fprintf(stderr, "enmon: cannot open database %s\n", msg);
        return EX_NOINPUT;
    }
    return EX_OK;
}

/* ---- report -------------------------------------------------------------------- */

static const struct table_col cols_program[] = {
    {.name = "PROGRAM", .key = "program"},
    {.name = "KIND", .key = "kind"},
    {.name = "DEVICES", .key = "devices", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "kWh_in", .key = "kwh_in", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "kWh_out", .key = "kwh_out", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
};
static const struct table_col cols_site[] = {
    {.name = "SITE", .key = "site"},
    {.name = "PROGRAM", .key = "program"},
    {.name = "KIND", .key = "kind"},
    {.name = "DEVICES", .key = "devices", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "kWh_in", .key = "kwh_in", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "kWh_out", .key = "kwh_out", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
};
static const struct table_col cols_device[] = {
    {.name = "DEVICE", .key = "device"},
    {.name = "PROGRAM", .key = "program"},
    {.name = "SITE", .key = "site"},
    {.name = "KIND", .key = "kind"},
    {.name = "DEVICES", .key = "devices", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "kWh_in", .key = "kwh_in", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "kWh_out", .key = "kwh_out", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
};

struct energy_acc {
    struct table t;
    enum report_group by;
    int devices;
    double wh_import, wh_export;
    int failed;
};

static int energy_row(const struct report_energy_row *row, void *arg)
{
    struct energy_acc *a = arg;
    char devices[16], kin[32], kout[32];
    snprintf(devices, sizeof(devices), "%d", row->devices);
    snprintf(kin, sizeof(kin), "%.3f", row->wh_import / 1000.0);
    snprintf(kout, sizeof(kout), "%.3f", row->wh_export / 1000.0);
    const char *by_device[7] = {row->key, row->program, row->site, row->kind, devices, kin, kout};
    const char *by_program[5] = {row->key, row->kind, devices, kin, kout};
    const char *by_site[6] = {row->key, row->program, row->kind, devices, kin, kout};
    const char *const *use = a->by == REPORT_BY_PROGRAM ? by_program
                             : a->by == REPORT_BY_SITE  ? by_site
                                                        : by_device;
    a->devices += row->devices;
    a->wh_import += row->wh_import;
    a->wh_export += row->wh_export;
    if (table_add(&a->t, use) != ENMON_OK) {
        a->failed = 1;
        return 1;
    }
    return 0;
}

static void energy_table_init(struct energy_acc *a, enum report_group by)
{
    memset(a, 0, sizeof(*a));
    a->by = by;
    if (by == REPORT_BY_PROGRAM)
        table_init(&a->t, cols_program, 5, NULL);
    else if (by == REPORT_BY_SITE)
        table_init(&a->t, cols_site, 6, NULL);
    else
        table_init(&a->t, cols_device, 7, NULL);
}

static int energy_add_total(struct energy_acc *a)
{
    char devices[16], kin[32], kout[32];
    snprintf(devices, sizeof(devices), "%d", a->devices);
    snprintf(kin, sizeof(kin), "%.3f", a->wh_import / 1000.0);
    snprintf(kout, sizeof(kout), "%.3f", a->wh_export / 1000.0);
    const char *row[7] = {"TOTAL", "", "", "", "", "", ""};
    size_t n = a->t.ncols;
    row[n - 3] = devices;
    row[n - 2] = kin;
    row[n - 1] = kout;
    return table_add(&a->t, row);
}

#define REPORT_PERIOD_MAX_DAYS 400 /* 15-minute intervals: bounded work per report */

/* Resolves --from/--to into [from_s, to_s): to is the start of the day after --to. */
static int report_period(const struct cli_ctx *c, const struct report_opts *o, int64_t *from_s,
                         int64_t *to_s, char *from, char *to)
{
    int64_t now_s = clock_wall_ms() / 1000;
    char today[16];
    caltime_format_date(now_s, c->offset_min, today, sizeof(today));
    snprintf(from, 16, "%s", o->from ? o->from : today);
    if (!o->from)
        memcpy(from + 8, "01", 2);
    snprintf(to, 16, "%s", o->to ? o->to : today);
    if (caltime_parse_date(from, c->offset_min, from_s) != ENMON_OK)
        return cli_usage_error("--from: '%s' is not a date YYYY-MM-DD", from);
    if (caltime_parse_date(to, c->offset_min, to_s) != ENMON_OK)
        return cli_usage_error("--to: '%s' is not a date YYYY-MM-DD", to);
    *to_s += CALTIME_DAY_S;
    if (*from_s >= *to_s)
        return cli_usage_error("--from %s is after --to %s", from, to);
    if ((*to_s - *from_s) / CALTIME_DAY_S > REPORT_PERIOD_MAX_DAYS)
        return cli_usage_error("--from %s --to %s spans more than %d days of interval data", from,
                               to, REPORT_PERIOD_MAX_DAYS);
    return EX_OK;
}

static int report_print(struct energy_acc *a, const struct cli_ctx *c, enum table_format fmt,
                        const char *from, const char *to)
{
    if (fmt == TABLE_TEXT) {
        printf("Energy %s to %s inclusive, %s, by %s\n\n", from, to, c->tz_label,
               a->by == REPORT_BY_PROGRAM ? "program"
               : a->by == REPORT_BY_SITE  ? "site"
                                          : "device");
        if (energy_add_total(a) != ENMON_OK)
            return EX_FAIL;
    }
    return table_print(&a->t, fmt, stdout) == ENMON_OK ? EX_OK : EX_FAIL;
}

int cli_report_main(struct cli_ctx *ctx, int argc, char **argv)
{
    struct report_opts o;
    int rc = report_parse(&o, argc, argv);
    sqlite3 *db = NULL;
    int64_t from_s = 0, to_s = 0;
    if (rc != EX_OK || (rc = cli_setup(ctx)) != EX_OK)
        return rc;
    /* a file is opened first, as ever; the historian once the period is known */
    int pg = report_source_is_pg(ctx->db_path);
    if (!pg && (rc = report_open_db(ctx, REPORT_NEED_ENERGY, 0, 0, &db)) != EX_OK)
        return rc;
    enum report_group by = REPORT_BY_PROGRAM;
    char from[16], to[16], msg[512];
    if (o.by && report_parse_group(o.by, &by) != ENMON_OK)
        rc = cli_usage_error("--by must be program, site or device, not '%s'", o.by);
    else
        rc = report_period(ctx, &o, &from_s, &to_s, from, to);
    if (rc == EX_OK && pg)
        rc = report_open_db(ctx, REPORT_NEED_ENERGY, from_s, to_s, &db);
    if (rc != EX_OK) {
        sqlite3_close(db);
        return rc;
    }
    struct energy_acc a;
    energy_table_init(&a, by);
    if (report_energy(db, from_s, to_s, by, energy_row, &a, msg, sizeof(msg)) != ENMON_OK ||
        a.failed) {
        fprintf(stderr, "enmon: report: %s\n", a.failed ? "out of memory" : msg);
        rc = EX_FAIL;
    } else {
        rc = report_print(&a, ctx, o.fmt, from, to);
    }
    table_free(&a.t);
    sqlite3_close(db);
    return rc;
}

/* ---- devices ------------------------------------------------------------------- */

static const struct table_col cols_devices[] = {
    {.name = "ID", .key = "id"},
    {.name = "PROGRAM", .key = "program"},
    {.name = "SITE", .key = "site"},
    {.name = "KIND", .key = "kind"},
    {.name = "STATUS", .key = "status"},
    {.name = "LAST_SEEN", .key = "last_seen"},
    {.name = "AGE_S", .key = "age_s", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "POWER_W", .key = "power_w", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "ERROR", .key = "error"},
    {.name = "IMPORT_WH",
     .key = "import_wh",
     .align = TABLE_RIGHT,
     .flags = TABLE_NUMBER | TABLE_CSV_ONLY},
    {.name = "EXPORT_WH",
     .key = "export_wh",
     .align = TABLE_RIGHT,
     .flags = TABLE_NUMBER | TABLE_CSV_ONLY},
};

struct devices_acc {
    struct table t;
    const struct cli_ctx *c;
    int machine; /* CSV or JSON: unknown values empty, times with their offset */
    int64_t now_ms;
    int failed;
};

/* A value with one decimal (power) or none (counters); '-' (table) or empty (CSV) if unknown. */
static void fmt_opt(char *buf, size_t len, int has, int decimals, double v, int machine)
{
    if (has)
        snprintf(buf, len, "%.*f", decimals, v);
    else
        snprintf(buf, len, "%s", machine ? "" : "-");
}

static int device_row(const struct report_device_row *row, void *arg)
{
    struct devices_acc *a = arg;
    int machine = a->machine;
    char seen[48], age[24], power[32], imp[32], exp_wh[32];
    snprintf(seen, sizeof(seen), "%s", machine ? "" : "-");
    snprintf(age, sizeof(age), "%s", machine ? "" : "-");
    if (row->last_ts_ms > 0) {
        caltime_format_time(row->last_ts_ms / 1000, a->c->offset_min, seen, sizeof(seen));
        if (machine) /* machine readable: with the offset */
            caltime_format_offset(a->c->offset_min, seen + strlen(seen),
                                  sizeof(seen) - strlen(seen));
        snprintf(age, sizeof(age), "%lld", (long long)((a->now_ms - row->last_ts_ms) / 1000));
    }
    fmt_opt(power, sizeof(power), row->has_power, 1, row->power_w, machine);
    fmt_opt(imp, sizeof(imp), row->has_import, 0, row->energy_import_wh, machine);
    fmt_opt(exp_wh, sizeof(exp_wh), row->has_export, 0, row->energy_export_wh, machine);
    const char *status = row->online < 0 ? "unknown" : row->online ? "online" : "offline";
    const char *cells[11] = {row->key, row->program, row->site,       row->kind, status, seen,
                             age,      power,        row->last_error, imp,       exp_wh};
    if (table_add(&a->t, cells) != ENMON_OK) {
        a->failed = 1;
        return 1;
    }
    return 0;
}

int cli_devices_main(struct cli_ctx *ctx, int argc, char **argv)
{
    struct report_opts o;
    int rc = report_parse(&o, argc, argv);
    if (rc != EX_OK)
        return rc;
    if (o.from || o.to || o.by)
        return cli_usage_error("--from, --to and --by apply to 'report' only");
    sqlite3 *db = NULL;
    if ((rc = cli_setup(ctx)) != EX_OK ||
        (rc = report_open_db(ctx, REPORT_NEED_DEVICES, 0, 0, &db)) != EX_OK)
        return rc;
    struct devices_acc a = {.c = ctx, .machine = o.fmt != TABLE_TEXT, .now_ms = clock_wall_ms()};
    table_init(&a.t, cols_devices, sizeof(cols_devices) / sizeof(cols_devices[0]), NULL);
    char msg[512];
    if (report_devices(db, device_row, &a, msg, sizeof(msg)) != ENMON_OK || a.failed) {
        fprintf(stderr, "enmon: devices: %s\n", a.failed ? "out of memory" : msg);
        rc = EX_FAIL;
    } else {
        rc = table_print(&a.t, o.fmt, stdout) == ENMON_OK ? EX_OK : EX_FAIL;
    }
    table_free(&a.t);
    sqlite3_close(db);
    return rc;
}
