/* enmon.c -- the enmon CLI: energy reports and device status from the database, bus scans. */
#include "clock.h"
#include "config.h"
#include "err.h"
#include "report.h"
#include "alert_cli.h"
#include "savings_cli.h"
#include "scan.h"
#include "top_cli.h"

#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define EX_OK_ 0
#define EX_FAIL 1
#define EX_USAGE_ 64
#define EX_NOINPUT_ 66
#define EX_CONFIG_ 78
#define DEFAULT_CONFIG "/etc/enmon/enmond.yaml"
#define DEFAULT_TZ "Asia/Seoul"

struct cli {
    const char *config; /* -c, NULL = default (only read when --db is absent) */
    const char *db;
    const char *tz;
    const char *from, *to, *by, *format;
    const char *command;
    int csv;
    int offset_min;
    char tz_label[80];
};

static void usage(FILE *out)
{
    fprintf(out,
            "usage: enmon [-c CONFIG | --db PATH] [--tz OFFSET] COMMAND [OPTIONS]\n"
            "\n"
            "commands:\n"
            "  report [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--by program|site|device]\n"
            "         [--format table|csv]\n"
            "      kWh imported (kWh_in: consumed) and exported (kWh_out: produced by\n"
            "      inverters, exported by meters) per group, summed from 15-minute intervals.\n"
            "      Dates are local dates; both are inclusive: --to counts that whole day.\n"
            "      Defaults: --from the first day of this month, --to today, --by program.\n"
            "  devices [--format table|csv]\n"
            "      every device with its status, last reading time, age and power.\n"
            "  scan LINK [--units 1-247|1,2,5-9] [--timeout 300ms] [--config-entry]\n"
            "      probes the unit ids of a Modbus link (tcp://HOST:PORT or\n"
            "      rtu:/dev/ttyX?baud=9600&parity=N&data=8&stop=1) one at a time and lists\n"
            "      each unit that answers: SunSpec base, manufacturer, model, serial,\n"
            "      version, the models of its chain and its kind. --config-entry prints\n"
            "      YAML device entries for enmond.yaml instead. Exit 0 when a device\n"
            "      answered, 1 when none did or the link failed.\n"
            "%s%s"
            "\n"
            "options:\n"
            "  -c, --config PATH  enmond config: database path and timezone (default %s)\n"
            "      --db PATH      database file (wins over the config's; the config is then\n"
            "                     read only when -c is given)\n"
            "      --tz OFFSET    local time offset such as +09:00 (default: the config's\n"
            "                     timezone, or %s)\n"
            "  -h, --help         this help\n"
            "\n"
            "exit status: 0 ok, 1 error, 64 usage, 66 database cannot be opened, 78 config error\n",
            savings_cli_usage, alert_cli_usage, DEFAULT_CONFIG, DEFAULT_TZ);
}

static int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int usage_error(const char *fmt, ...)
{
    va_list ap;
    fputs("enmon: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs("\n(enmon --help for usage)\n", stderr);
    return EX_USAGE_;
}

/* ---- arguments ---------------------------------------------------------------- */

enum { OPT_DB = 256, OPT_TZ, OPT_FROM, OPT_TO, OPT_BY, OPT_FORMAT };

static int cli_option(struct cli *c, int opt, const char *arg)
{
    switch (opt) {
    case 'c':
        c->config = arg;
        return 0;
    case OPT_DB:
        c->db = arg;
        return 0;
    case OPT_TZ:
        c->tz = arg;
        return 0;
    case OPT_FROM:
        c->from = arg;
        return 0;
    case OPT_TO:
        c->to = arg;
        return 0;
    case OPT_BY:
        c->by = arg;
        return 0;
    case OPT_FORMAT:
        c->format = arg;
        return 0;
    default:
        return -1;
    }
}

static int cli_check(struct cli *c)
{
    if (!c->command)
        return usage_error("no command given (report, devices, alerts, savings or scan)");
    if (savings_cli_is_command(c->command) || strcmp(c->command, "alerts") == 0)
        return EX_OK_;
    int report = strcmp(c->command, "report") == 0;
    if (!report && strcmp(c->command, "devices") != 0)
        return usage_error("unknown command '%s'", c->command);
    if (!report && (c->from || c->to || c->by))
        return usage_error("--from, --to and --by apply to 'report' only");
    if (c->format && strcmp(c->format, "csv") != 0 && strcmp(c->format, "table") != 0)
        return usage_error("--format must be table or csv, not '%s'", c->format);
    c->csv = c->format && strcmp(c->format, "csv") == 0;
    return EX_OK_;
}

/* Returns EX_OK_, EX_USAGE_, or -1 after --help. */
static int cli_parse(struct cli *c, int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"db", required_argument, NULL, OPT_DB},
        {"tz", required_argument, NULL, OPT_TZ},
        {"from", required_argument, NULL, OPT_FROM},
        {"to", required_argument, NULL, OPT_TO},
        {"by", required_argument, NULL, OPT_BY},
        {"format", required_argument, NULL, OPT_FORMAT},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (opt == 'h') {
            usage(stdout);
            return -1;
        }
        if (opt == '?' || opt == ':' || cli_option(c, opt, optarg) != 0)
            return usage_error("bad option '%s'", argv[optind - 1]);
    }
    if (optind < argc)
        c->command = argv[optind++];
    if (optind < argc)
        return usage_error("unexpected argument '%s'", argv[optind]);
    return cli_check(c);
}

/* ---- config, timezone, database ---------------------------------------------- */

/* The current UTC offset of a zone name from the system's zoneinfo. */
static int cli_system_offset(const char *zone, int *offset_min)
{
    char path[256];
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fclose(f);
    char tzval[272];
    snprintf(tzval, sizeof(tzval), ":%s", zone);
    setenv("TZ", tzval, 1);
    tzset();
    time_t now = (time_t)(clock_wall_ms() / 1000);
    struct tm tm;
    if (!localtime_r(&now, &tm))
        return -1;
    *offset_min = (int)(tm.tm_gmtoff / 60);
    return 0;
}

static int cli_timezone(struct cli *c, const char *zone, int from_config)
{
    int rc = report_parse_tz(zone, &c->offset_min);
    if (rc == ENMON_ERR_NOT_FOUND && cli_system_offset(zone, &c->offset_min) == 0)
        rc = ENMON_OK;
    if (rc != ENMON_OK) {
        if (!from_config)
            return usage_error("--tz: '%s' is not an offset like +09:00 or a known zone", zone);
        fprintf(stderr, "enmon: config timezone '%s' is unknown; use --tz +HH:MM\n", zone);
        return EX_CONFIG_;
    }
    char off[16];
    report_format_offset(c->offset_min, off, sizeof(off));
    if (zone[0] == '+' || zone[0] == '-')
        snprintf(c->tz_label, sizeof(c->tz_label), "UTC%s", off);
    else
        snprintf(c->tz_label, sizeof(c->tz_label), "%s (UTC%s)", zone, off);
    return EX_OK_;
}

/* Reads the config when needed; sets the database path and the time offset. */
static int cli_setup(struct cli *c, struct enmon_config **cfg, const char **db_path)
{
    *cfg = NULL;
    if (!c->db || c->config) {
        const char *path = c->config ? c->config : DEFAULT_CONFIG;
        struct cfg_error err = {0};
        if (config_load(path, cfg, &err) != ENMON_OK) {
            char buf[1024];
            config_format_error(&err, buf, sizeof(buf));
            fprintf(stderr, "enmon: %s\n", buf);
            return EX_CONFIG_;
        }
    }
    *db_path = c->db ? c->db : (*cfg)->database;
    if (c->tz)
        return cli_timezone(c, c->tz, 0);
    if (*cfg && (*cfg)->timezone[0])
        return cli_timezone(c, (*cfg)->timezone, 1);
    return cli_timezone(c, DEFAULT_TZ, 1);
}

/* ---- tables -------------------------------------------------------------------- */

struct table {
    size_t ncols;
    const char *const *head;
    const int *right;    /* right-align column */
    const int *csv_only; /* column printed in CSV only (NULL: none) */
    char **cells;        /* nrows * ncols, owned */
    size_t nrows, cap;
};

static int table_add(struct table *t, const char *const *row)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 32;
        char **cells = realloc(t->cells, cap * t->ncols * sizeof(*cells));
        if (!cells)
            return -1;
        t->cells = cells;
        t->cap = cap;
    }
    for (size_t i = 0; i < t->ncols; i++) {
        t->cells[t->nrows * t->ncols + i] = strdup(row[i] ? row[i] : "");
        if (!t->cells[t->nrows * t->ncols + i])
            return -1;
    }
    t->nrows++;
    return 0;
}

static void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
}

static void csv_field(const char *s, FILE *out)
{
    if (!strpbrk(s, ",\"\n\r")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void csv_line(const struct table *t, const char *const *cells, FILE *out)
{
    for (size_t i = 0; i < t->ncols; i++) {
        if (i)
            fputc(',', out);
        csv_field(cells[i], out);
    }
    fputc('\n', out);
}

static void table_print_csv(const struct table *t, size_t nrows, FILE *out)
{
    csv_line(t, t->head, out);
    for (size_t r = 0; r < nrows; r++)
        csv_line(t, (const char *const *)&t->cells[r * t->ncols], out);
}

static void table_line(const struct table *t, const char *const *cells, const int *width, FILE *out)
{
    size_t last = t->ncols;
    while (last > 0 && t->csv_only && t->csv_only[last - 1])
        last--;
    while (last > 1 && !t->right[last - 1] && cells[last - 1][0] == '\0')
        last--; /* no trailing blanks */
    for (size_t i = 0; i < last; i++) {
        if (t->csv_only && t->csv_only[i])
            continue;
        int w = i + 1 == last && !t->right[i] ? 0 : width[i];
        fprintf(out, "%s%*s", i ? "  " : "", t->right[i] ? w : -w, cells[i]);
    }
    fputc('\n', out);
}

static void table_print_text(const struct table *t, FILE *out)
{
    int width[16] = {0};
    for (size_t i = 0; i < t->ncols && i < 16; i++) {
        width[i] = (int)strlen(t->head[i]);
        for (size_t r = 0; r < t->nrows; r++) {
            int n = (int)strlen(t->cells[r * t->ncols + i]);
            width[i] = n > width[i] ? n : width[i];
        }
    }
    table_line(t, t->head, width, out);
    for (size_t r = 0; r < t->nrows; r++)
        table_line(t, (const char *const *)&t->cells[r * t->ncols], width, out);
}

/* ---- report -------------------------------------------------------------------- */

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
    if (table_add(&a->t, use) != 0) {
        a->failed = 1;
        return 1;
    }
    return 0;
}

static const char *const head_program[] = {"PROGRAM", "KIND", "DEVICES", "kWh_in", "kWh_out"};
static const int right_program[] = {0, 0, 1, 1, 1};
static const char *const head_site[] = {"SITE", "PROGRAM", "KIND", "DEVICES", "kWh_in", "kWh_out"};
static const int right_site[] = {0, 0, 0, 1, 1, 1};
static const char *const head_device[] = {"DEVICE",  "PROGRAM", "SITE",   "KIND",
                                          "DEVICES", "kWh_in",  "kWh_out"};
static const int right_device[] = {0, 0, 0, 0, 1, 1, 1};

static void energy_table_init(struct energy_acc *a, enum report_group by)
{
    memset(a, 0, sizeof(*a));
    a->by = by;
    if (by == REPORT_BY_PROGRAM) {
        a->t = (struct table){.ncols = 5, .head = head_program, .right = right_program};
    } else if (by == REPORT_BY_SITE) {
        a->t = (struct table){.ncols = 6, .head = head_site, .right = right_site};
    } else {
        a->t = (struct table){.ncols = 7, .head = head_device, .right = right_device};
    }
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

/* Resolves --from/--to into [from_s, to_s): to is the start of the day after --to. */
static int report_period(struct cli *c, int64_t *from_s, int64_t *to_s, char *from, char *to)
{
    int64_t now_s = clock_wall_ms() / 1000;
    char today[16];
    report_format_date(now_s, c->offset_min, today, sizeof(today));
    snprintf(from, 16, "%s", c->from ? c->from : today);
    if (!c->from)
        memcpy(from + 8, "01", 2);
    snprintf(to, 16, "%s", c->to ? c->to : today);
    if (report_parse_date(from, c->offset_min, from_s) != ENMON_OK)
        return usage_error("--from: '%s' is not a date YYYY-MM-DD", from);
    if (report_parse_date(to, c->offset_min, to_s) != ENMON_OK)
        return usage_error("--to: '%s' is not a date YYYY-MM-DD", to);
    *to_s += 86400;
    if (*from_s >= *to_s)
        return usage_error("--from %s is after --to %s", from, to);
    return EX_OK_;
}

static int cmd_report(struct cli *c, sqlite3 *db)
{
    enum report_group by = REPORT_BY_PROGRAM;
    if (c->by && report_parse_group(c->by, &by) != ENMON_OK)
        return usage_error("--by must be program, site or device, not '%s'", c->by);
    int64_t from_s, to_s;
    char from[16], to[16], msg[512];
    int rc = report_period(c, &from_s, &to_s, from, to);
    if (rc != EX_OK_)
        return rc;
    struct energy_acc a;
    energy_table_init(&a, by);
    if (report_energy(db, from_s, to_s, by, energy_row, &a, msg, sizeof(msg)) != ENMON_OK ||
        a.failed) {
        fprintf(stderr, "enmon: report: %s\n", a.failed ? "out of memory" : msg);
        table_free(&a.t);
        return EX_FAIL;
    }
    if (c->csv) {
        table_print_csv(&a.t, a.t.nrows, stdout);
    } else {
        printf("Energy %s to %s inclusive, %s, by %s\n\n", from, to, c->tz_label,
               by == REPORT_BY_PROGRAM ? "program"
               : by == REPORT_BY_SITE  ? "site"
                                       : "device");
        rc = energy_add_total(&a) == 0 ? EX_OK_ : EX_FAIL;
        table_print_text(&a.t, stdout);
    }
    table_free(&a.t);
    return rc;
}

/* ---- devices ------------------------------------------------------------------- */

static const char *const head_devices[] = {"ID",     "PROGRAM",   "SITE",     "KIND",
                                           "STATUS", "LAST_SEEN", "AGE_S",    "POWER_W",
                                           "ERROR",  "IMPORT_WH", "EXPORT_WH"};
static const int right_devices[] = {0, 0, 0, 0, 0, 0, 1, 1, 0, 1, 1};
static const int csv_only_devices[] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1};

struct devices_acc {
    struct table t;
    struct cli *c;
    int64_t now_ms;
    int failed;
};

/* A value with one decimal (power) or none (counters); '-' (table) or empty (CSV) if unknown. */
static void fmt_opt(char *buf, size_t len, int has, int decimals, double v, int csv)
{
    if (has)
        snprintf(buf, len, "%.*f", decimals, v);
    else
        snprintf(buf, len, "%s", csv ? "" : "-");
}

static int device_row(const struct report_device_row *row, void *arg)
{
    struct devices_acc *a = arg;
    int csv = a->c->csv;
    char seen[48], age[24], power[32], imp[32], exp_wh[32];
    snprintf(seen, sizeof(seen), "%s", csv ? "" : "-");
    snprintf(age, sizeof(age), "%s", csv ? "" : "-");
    if (row->last_ts_ms > 0) {
        report_format_time(row->last_ts_ms / 1000, a->c->offset_min, seen, sizeof(seen));
        if (csv) /* machine readable: with the offset */
            report_format_offset(a->c->offset_min, seen + strlen(seen),
                                 sizeof(seen) - strlen(seen));
        snprintf(age, sizeof(age), "%lld", (long long)((a->now_ms - row->last_ts_ms) / 1000));
    }
    fmt_opt(power, sizeof(power), row->has_power, 1, row->power_w, csv);
    fmt_opt(imp, sizeof(imp), row->has_import, 0, row->energy_import_wh, csv);
    fmt_opt(exp_wh, sizeof(exp_wh), row->has_export, 0, row->energy_export_wh, csv);
    const char *status = row->online < 0 ? "unknown" : row->online ? "online" : "offline";
    const char *cells[11] = {row->key, row->program, row->site,       row->kind, status, seen,
                             age,      power,        row->last_error, imp,       exp_wh};
    if (table_add(&a->t, cells) != 0) {
        a->failed = 1;
        return 1;
    }
    return 0;
}

static int cmd_devices(struct cli *c, sqlite3 *db)
{
    struct devices_acc a = {
        .t = {.ncols = 11,
              .head = head_devices,
              .right = right_devices,
              .csv_only = csv_only_devices},
        .c = c,
        .now_ms = clock_wall_ms(),
    };
    char msg[512];
    int rc = EX_OK_;
    if (report_devices(db, device_row, &a, msg, sizeof(msg)) != ENMON_OK || a.failed) {
        fprintf(stderr, "enmon: devices: %s\n", a.failed ? "out of memory" : msg);
        rc = EX_FAIL;
    } else if (c->csv) {
        table_print_csv(&a.t, a.t.nrows, stdout);
    } else {
        table_print_text(&a.t, stdout);
    }
    table_free(&a.t);
    return rc;
}

/* ---- scan ---------------------------------------------------------------------- */

struct scan_cli {
    struct cfg_link link;
    struct scan_options opt;
    int entries; /* --config-entry */
};

enum { OPT_UNITS = 300, OPT_TIMEOUT, OPT_ENTRY };

static int scan_cli_option(struct scan_cli *s, int opt, const char *arg)
{
    if (opt == OPT_UNITS && scan_parse_units(arg, &s->opt) != ENMON_OK)
        return usage_error("--units: '%s' is not a list of unit ids 1..247 like 1-8 or 1,2,5-9",
                           arg);
    if (opt == OPT_TIMEOUT && scan_parse_timeout(arg, &s->opt.timeout_ms) != ENMON_OK)
        return usage_error("--timeout: '%s' is not a duration 10ms..10s such as 300ms or 1s", arg);
    if (opt == OPT_ENTRY)
        s->entries = 1;
    return EX_OK_;
}

/* argv[0] is "scan". Returns EX_OK_, EX_USAGE_, or -1 after --help. */
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
        if (opt == 'h') {
            usage(stdout);
            return -1;
        }
        if (opt == '?' || opt == ':')
            return usage_error("scan: bad option '%s'", argv[optind - 1]);
        if ((rc = scan_cli_option(s, opt, optarg)) != EX_OK_)
            return rc;
    }
    if (optind >= argc)
        return usage_error("scan: no link given (tcp://HOST:PORT or rtu:/dev/PORT?baud=...)");
    if (optind + 1 < argc)
        return usage_error("scan: unexpected argument '%s'", argv[optind + 1]);
    char why[160];
    if (scan_parse_link(argv[optind], &s->link, why, sizeof(why)) != ENMON_OK)
        return usage_error("scan: invalid link '%s': %s", argv[optind], why);
    return EX_OK_;
}

static int scan_print(const struct scan_cli *s, const struct scan_result *res)
{
    size_t n = s->entries ? scan_format_entries(res, s->link.uri, NULL, 0)
                          : scan_format_table(res, NULL, 0);
    char *text = malloc(n + 1);
    if (!text) {
        fputs("enmon: scan: out of memory\n", stderr);
        return -1;
    }
    if (s->entries)
        scan_format_entries(res, s->link.uri, text, n + 1);
    else
        scan_format_table(res, text, n + 1);
    fputs(text, stdout);
    free(text);
    return 0;
}

static int cmd_scan(int argc, char **argv)
{
    struct scan_cli s;
    memset(&s, 0, sizeof(s));
    int rc = scan_cli_parse(&s, argc, argv);
    if (rc != EX_OK_)
        return rc < 0 ? EX_OK_ : rc;
    struct scan_result res;
    int err = scan_link(&s.link, &s.opt, &res);
    int printed = res.probed > 0 && scan_print(&s, &res) == 0;
    rc = printed && err == ENMON_OK && res.ndevices > 0 ? EX_OK_ : EX_FAIL;
    if (err == ENMON_ERR_CONNECT && res.probed == 0)
        fprintf(stderr, "enmon: scan: cannot connect to %s\n", s.link.uri);
    else if (err == ENMON_ERR_CONNECT)
        fprintf(stderr, "enmon: scan: connection to %s lost after %d units; scan incomplete\n",
                s.link.uri, res.probed);
    else if (err != ENMON_OK)
        fprintf(stderr, "enmon: scan: %s\n", enmon_strerror(err));
    else if (res.ndevices == 0)
        fprintf(stderr, "enmon: scan: no device answered on %s\n", s.link.uri);
    if (fflush(stdout) != 0 && rc == EX_OK_) {
        perror("enmon: stdout");
        rc = EX_FAIL;
    }
    scan_result_free(&res);
    return rc;
}

/* ---- main ---------------------------------------------------------------------- */

static int run(struct cli *c)
{
    struct enmon_config *cfg = NULL;
    const char *db_path = NULL;
    int rc = cli_setup(c, &cfg, &db_path);
    sqlite3 *db = NULL;
    if (rc == EX_OK_) {
        char msg[768];
        if (report_open(db_path, &db, msg, sizeof(msg)) != ENMON_OK) {
            fprintf(stderr, "enmon: cannot open database %s\n", msg);
            rc = EX_NOINPUT_;
        }
    }
    if (rc == EX_OK_)
        rc = strcmp(c->command, "report") == 0 ? cmd_report(c, db) : cmd_devices(c, db);
    if (fflush(stdout) != 0 && rc == EX_OK_) {
        perror("enmon: stdout");
        rc = EX_FAIL;
    }
    sqlite3_close(db);
    config_free(cfg);
    return rc;
}

/* ---- savings, import, dr (savings_cli.c) ------------------------------------------ */

/* Index in argv of a savings_cli command after the global options, or 0. */
static int savings_command_at(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "-c") == 0 || strcmp(a, "--config") == 0 || strcmp(a, "--db") == 0 ||
            strcmp(a, "--tz") == 0)
            i++;
        else if (a[0] != '-')
            return savings_cli_is_command(a) || strcmp(a, "alerts") == 0 ? i : 0;
    }
    return 0;
}

static int run_savings(int k, int argc, char **argv)
{
    struct cli c = {0};
    int rc = cli_parse(&c, k + 1, argv); /* the global options and the command name */
    if (rc != EX_OK_)
        return rc < 0 ? EX_OK_ : rc;
    struct enmon_config *cfg = NULL;
    const char *db_path = NULL;
    rc = cli_setup(&c, &cfg, &db_path);
    if (rc == EX_OK_) {
        struct savings_cli_ctx ctx = {.db_path = db_path,
                                      .config_path = cfg ? cfg->path : NULL,
                                      .offset_min = c.offset_min,
                                      .tz_label = c.tz_label};
        rc = strcmp(argv[k], "alerts") == 0 ? alert_cli_main(&ctx, argc - k, argv + k)
                                            : savings_cli_main(&ctx, argc - k, argv + k);
    }
    if (fflush(stdout) != 0 && rc == EX_OK_) {
        perror("enmon: stdout");
        rc = EX_FAIL;
    }
    config_free(cfg);
    return rc;
}

int main(int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "scan") == 0)
        return cmd_scan(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "top") == 0)
        return top_cli_main(argc - 1, argv + 1);
    int k = savings_command_at(argc, argv);
    if (k > 0)
        return run_savings(k, argc, argv);
    struct cli c = {0};
    int rc = cli_parse(&c, argc, argv);
    if (rc < 0)
        return EX_OK_;
    if (rc != EX_OK_)
        return rc;
    return run(&c);
}
