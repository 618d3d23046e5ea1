/* savings_cli.c -- the `enmon savings`, `enmon import` and `enmon dr` commands: options, output
 * (table, CSV, JSON) and the day-by-day explanation. */
#include "savings_cli.h"
#include "caltime.h"
#include "clock.h"
#include "err.h"
#include "import.h"
#include "report.h"
#include "report_source.h"
#include "savings_config.h"
#include "savings_report.h"
#include "store_schema.h"
#include "table.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define SC_DEFAULT_SAVINGS SAVINGS_CONFIG_DEFAULT_PATH
#define SC_FORMATS (TABLE_ALLOW(TABLE_TEXT) | TABLE_ALLOW(TABLE_CSV) | TABLE_ALLOW(TABLE_JSON))

const char savings_cli_usage[] =
    "  savings [--program P] [--site S] [--device D] [--from YYYY-MM-DD] [--to YYYY-MM-DD]\n"
    "          [--by program|site|device] [--group day|month|year] [--format table|csv|json]\n"
    "          [--savings FILE] [--explain DEVICE] [--method weather|day-type-month]\n"
    "      savings per program kind (led-retrofit, efficiency: avoided kWh against a metered\n"
    "      baseline; solar: production, clear-sky reference, subsidy), KRW and avoided CO2,\n"
    "      each with its method, baseline period and data sufficiency; demand-response events\n"
    "      with their CBL reduction. Defaults: the last 365 days to today, --by program.\n"
    "      --method: the led-retrofit/efficiency baseline (default savings.yaml baseline.method,\n"
    "      else weather where a weather_station has data, else day-type-month).\n"
    "      --savings: parameters (default savings.yaml next to the config, else\n"
    "      " SC_DEFAULT_SAVINGS ", else built-in defaults). See docs/SAVINGS.md.\n"
    "  import intervals FILE.csv [--step auto|15m|1h]\n"
    "      loads interval data (header device,start,wh_import,wh_export) in one transaction:\n"
    "      any bad line (reported with its line number) imports nothing (exit 65).\n"
    "  import weather FILE.csv\n"
    "      loads KMA ASOS hourly temperatures (columns 지점, 일시, 기온(°C); CP949 or UTF-8)\n"
    "      per station and hour in one transaction; missing hours stored empty and counted;\n"
    "      any bad line imports nothing (exit 65). See docs/SAVINGS.md, \"Weather data\".\n"
    "  dr add --site SITE --start TIME --end TIME   records a demand-response event\n"
    "  dr list [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--format table|csv|json]\n";

static int sc_usage(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static int sc_usage(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cli_vusage_error(fmt, ap);
    va_end(ap);
    return rc;
}

/* ---- options ------------------------------------------------------------------------- */

struct sc_opts {
    const char *program, *site, *device, *from, *to, *by, *group, *format, *savings, *explain;
    const char *step, *start, *end, *method;
    const char *args[4];
    int nargs;
};

enum {
    O_PROGRAM = 400,
    O_SITE,
    O_DEVICE,
    O_FROM,
    O_TO,
    O_BY,
    O_GROUP,
    O_FORMAT,
    O_SAVINGS,
    O_EXPLAIN,
    O_STEP,
    O_START,
    O_END,
    O_METHOD
};

static const char **sc_slot(struct sc_opts *o, int opt)
{
    const char **slots[] = {&o->program, &o->site,  &o->device, &o->from,    &o->to,
                            &o->by,      &o->group, &o->format, &o->savings, &o->explain,
                            &o->step,    &o->start, &o->end,    &o->method};
    return opt >= O_PROGRAM && opt <= O_METHOD ? slots[opt - O_PROGRAM] : NULL;
}

static int sc_parse(struct sc_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"program", required_argument, NULL, O_PROGRAM},
        {"site", required_argument, NULL, O_SITE},
        {"device", required_argument, NULL, O_DEVICE},
        {"from", required_argument, NULL, O_FROM},
        {"to", required_argument, NULL, O_TO},
        {"by", required_argument, NULL, O_BY},
        {"group", required_argument, NULL, O_GROUP},
        {"format", required_argument, NULL, O_FORMAT},
        {"savings", required_argument, NULL, O_SAVINGS},
        {"explain", required_argument, NULL, O_EXPLAIN},
        {"step", required_argument, NULL, O_STEP},
        {"start", required_argument, NULL, O_START},
        {"end", required_argument, NULL, O_END},
        {"method", required_argument, NULL, O_METHOD},
        {NULL, 0, NULL, 0},
    };
    int opt;
    memset(o, 0, sizeof(*o));
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        const char **slot = sc_slot(o, opt);
        if (!slot)
            return sc_usage("%s: bad option '%s'", argv[0], argv[optind - 1]);
        *slot = optarg;
    }
    while (optind < argc) {
        if (o->nargs == 4)
            return sc_usage("%s: unexpected argument '%s'", argv[0], argv[optind]);
        o->args[o->nargs++] = argv[optind++];
    }
    enum table_format fmt;
    if (o->format && table_parse_format(o->format, SC_FORMATS, &fmt) != ENMON_OK)
        return sc_usage("--format must be table, csv or json, not '%s'", o->format);
    return EX_OK;
}

#define SC_PERIOD_MAX_DAYS 3660 /* daily values: memory per device grows with the days */

/* [from_s, to_s) from --from/--to (local dates, --to inclusive); default the last 365 days;
 * at most SC_PERIOD_MAX_DAYS. */
static int sc_period(const struct cli_ctx *ctx, const struct sc_opts *o, int64_t *from_s,
                     int64_t *to_s, char *from, char *to)
{
    int64_t now = clock_wall_ms() / 1000;
    caltime_format_date(now, ctx->offset_min, to, 16);
    if (o->to)
        snprintf(to, 16, "%s", o->to);
    if (caltime_parse_date(to, ctx->offset_min, to_s) != ENMON_OK)
        return sc_usage("--to: '%s' is not a date YYYY-MM-DD", to);
    *to_s += CALTIME_DAY_S;
    caltime_format_date(*to_s - 365 * CALTIME_DAY_S, ctx->offset_min, from, 16);
    if (o->from)
        snprintf(from, 16, "%s", o->from);
    if (caltime_parse_date(from, ctx->offset_min, from_s) != ENMON_OK)
        return sc_usage("--from: '%s' is not a date YYYY-MM-DD", from);
    if (*from_s >= *to_s)
        return sc_usage("--from %s is after --to %s", from, to);
    if ((*to_s - *from_s) / CALTIME_DAY_S > SC_PERIOD_MAX_DAYS)
        return sc_usage("--from %s --to %s spans more than %d days (10 years)", from, to,
                        SC_PERIOD_MAX_DAYS);
    return EX_OK;
}

static int sc_load_savings(const struct cli_ctx *ctx, const char *path,
                           struct savings_config *sc)
{
    char found[1024];
    if (!path) {
        savings_config_find(ctx->config_path, found, sizeof(found));
        path = found[0] ? found : NULL;
    }
    if (!path) {
        savings_config_defaults(sc);
        return EX_OK;
    }
    struct cfg_error err;
    if (savings_config_load(path, ctx->offset_min, sc, &err) != ENMON_OK) {
        char buf[1024];
        config_format_error(&err, buf, sizeof(buf));
        fprintf(stderr, "enmon: %s\n", buf);
        return EX_CONFIG;
    }
    return EX_OK;
}

/* ---- savings: rows --------------------------------------------------------------------- */

static void sc_date(int64_t ts, int offset_min, char *buf, size_t len)
{
    if (ts)
        caltime_format_date(ts, offset_min, buf, len);
    else
        snprintf(buf, len, "-");
}

static void sc_baseline(const struct sr_row *row, int offset_min, char *buf, size_t len)
{
    char a[16], b[16];
    if (!row->base_from) {
        snprintf(buf, len, "-");
        return;
    }
    sc_date(row->base_from, offset_min, a, sizeof(a));
    sc_date(row->base_to - CALTIME_DAY_S, offset_min, b, sizeof(b));
    snprintf(buf, len, "%s..%s", a, b);
}

/* AMI (difference-in-differences): the 90 % interval, the rate and the groups, or why none. */
static void sc_ami_detail(const struct sr_row *row, char *buf, size_t len)
{
    if (!row->has_interval)
        snprintf(buf, len, "%s", row->note);
    else
        snprintf(buf, len,
                 "90%% interval %.1f..%.1f kWh; %.3f kWh per participant-day; %d participants vs "
                 "%d matched of %d comparison households",
                 row->saved_low_kwh, row->saved_high_kwh, row->kwh_per_day,
                 row->devices - row->insufficient, row->comparison, row->comparison_usable);
}

static void sc_detail(const struct sr_row *row, char *buf, size_t len)
{
    buf[0] = '\0';
    if (row->kind == PROGRAM_AMI) {
        sc_ami_detail(row, buf, len);
        return;
    }
    if (!sr_row_has_figures(row)) {
        return; /* no counted device: no deemed savings, peak or shares */
    } else if (row->kind == PROGRAM_LED_RETROFIT && row->deemed_kwh > 0.0) {
        snprintf(buf, len, "deemed %.1f kWh", row->deemed_kwh);
    } else if (row->kind == PROGRAM_EFFICIENCY) {
        double s = row->operator_share;
        snprintf(buf, len,
                 "peak %.1f->%.1f kW; operator %.0f%%: %.1f kWh %.0f KRW; city %.0f%%: %.1f kWh "
                 "%.0f KRW",
                 row->peak_base_kw, row->peak_actual_kw, s * 100, row->saved_kwh * s, row->krw * s,
                 (1 - s) * 100, row->saved_kwh * (1 - s), row->krw * (1 - s));
    } else if (row->kind == PROGRAM_SOLAR) {
        snprintf(buf, len, "yield %.1f kWh/kWp; %.0f%% of clear sky; subsidy on %.1f kWh",
                 row->capacity_kw > 0 ? row->saved_kwh / row->capacity_kw : 0.0,
                 row->clear_kwh > 0 ? 100.0 * row->saved_kwh / row->clear_kwh : 0.0,
                 row->eligible_kwh);
    }
}

#define SC_NUM(n) {.name = n, .align = TABLE_RIGHT, .flags = TABLE_NUMBER}
static const struct table_col savings_cols[] = {
    {.name = "PERIOD"},   {.name = "KEY"},      {.name = "PROGRAM"}, {.name = "KIND"},
    SC_NUM("DEVICES"),    {.name = "DATA"},     {.name = "METHOD"},  {.name = "BASELINE"},
    SC_NUM("kWh_REF"),    SC_NUM("kWh_ACTUAL"), SC_NUM("kWh_SAVED"), SC_NUM("kWh_LOW90"),
    SC_NUM("kWh_HIGH90"), SC_NUM("KRW"),        SC_NUM("CO2_kg"),    {.name = "FIT"},
    {.name = "DETAIL"}};
#define SAVINGS_NCOLS (sizeof(savings_cols) / sizeof(savings_cols[0]))

/* A figure, or no figure: "-" in the table, an empty CSV field. */
static void sc_figure(char *buf, size_t len, int has, enum table_format fmt, int decimals,
                      double v)
{
    if (has)
        snprintf(buf, len, "%.*f", decimals, v);
    else
        snprintf(buf, len, "%s", fmt == TABLE_CSV ? "" : "-");
}

/* Weather fits: one device's model and G14 statistics, or how many devices fail G14. */
static void sc_fit(const struct sr_row *row, char *buf, size_t len)
{
    buf[0] = '\0';
    if (row->has_fit) {
        char bp[32] = "";
        if (!isnan(row->heat_bp) && !isnan(row->cool_bp))
            snprintf(bp, sizeof(bp), "(%.0f,%.0f)", row->heat_bp, row->cool_bp);
        else if (!isnan(row->heat_bp) || !isnan(row->cool_bp))
            snprintf(bp, sizeof(bp), "(%.0f)", isnan(row->heat_bp) ? row->cool_bp : row->heat_bp);
        snprintf(buf, len, "%s%s CV %.1f%% NMBE %.1f%% R2 %.2f G14 %s", bm_kind_name(row->model),
                 bp, row->cvrmse * 100.0, row->nmbe * 100.0, row->r2, row->g14_ok ? "ok" : "FAIL");
    } else if (row->weather_devices) {
        snprintf(buf, len, "G14 fail %d of %d", row->g14_fail, row->weather_devices);
    }
}

static int sc_row_cells(struct table *t, const struct sr_row *row, int offset_min,
                        enum table_format fmt)
{
    char dev[16], data[48], base[40], ref[32], act[32], sav[32], krw[32], co2[32], detail[200];
    char low[32], high[32], fit[96];
    int has = sr_row_has_figures(row);
    snprintf(dev, sizeof(dev), "%d", row->devices);
    sr_row_data(row, data, sizeof(data));
    sc_baseline(row, offset_min, base, sizeof(base));
    sc_figure(ref, sizeof(ref), has, fmt, 3, row->ref_kwh);
    sc_figure(act, sizeof(act), has, fmt, 3, row->actual_kwh);
    sc_figure(sav, sizeof(sav), has, fmt, 3, row->saved_kwh);
    sc_figure(low, sizeof(low), row->has_interval, fmt, 3, row->saved_low_kwh);
    sc_figure(high, sizeof(high), row->has_interval, fmt, 3, row->saved_high_kwh);
    sc_figure(krw, sizeof(krw), has, fmt, 0, row->krw);
    sc_figure(co2, sizeof(co2), has, fmt, 1, row->co2_kg);
    sc_fit(row, fit, sizeof(fit));
    sc_detail(row, detail, sizeof(detail));
    const char *kind = config_program_kind_name(row->kind);
    const char *cells[17] = {
        row->period, row->key, row->program, kind, dev, data, sr_row_method_name(row),
        base,        ref,      act,          sav,  low, high, krw,
        co2,         fit,      detail};
    return table_add(t, cells);
}

struct sc_totals {
    double avoided_kwh, bill_krw, produced_kwh, subsidy_krw, co2_kg;
    double ess_kwh; /* ESS losses: kWh the batteries added (negative), kept out of avoided */
};

static void sc_sum(const struct sr_row *rows, size_t n, struct sc_totals *tot)
{
    memset(tot, 0, sizeof(*tot));
    for (size_t i = 0; i < n; i++) {
        int solar = rows[i].kind == PROGRAM_SOLAR;
        *(solar ? &tot->produced_kwh : &tot->avoided_kwh) += rows[i].saved_kwh - rows[i].ess_kwh;
        tot->ess_kwh += rows[i].ess_kwh;
        *(solar ? &tot->subsidy_krw : &tot->bill_krw) += rows[i].krw;
        tot->co2_kg += rows[i].co2_kg;
    }
}

/* The metered baselines of the program of r[a..): devices per method, the first reason for
 * day-type-month under auto. */
static void sc_print_program_methods(const struct sr_result *r, size_t n, size_t a)
{
    int w = 0, d = 0, fail = 0;
    const char *why = "";
    for (size_t i = a; i < n && strcmp(r[i].dev.program, r[a].dev.program) == 0; i++) {
        w += r[i].method_used == SVC_METHOD_WEATHER;
        d += r[i].method_used == SVC_METHOD_DAYTYPE;
        fail +=
            r[i].method_used == SVC_METHOD_WEATHER && r[i].model.sufficient && !r[i].model.g14_ok;
        if (!why[0] && r[i].method_reason[0])
            why = r[i].method_reason;
    }
    if (w + d == 0)
        return;
    printf("    baseline: weather %d device(s) (%d failing G14), day-type-month %d%s%s%s\n", w,
           fail, d, why[0] ? " (" : "", why, why[0] ? ")" : "");
}

static void sc_print_methods(const struct sr_result *r, size_t n, int offset_min)
{
    printf("\nMethods\n");
    for (size_t i = 0; i < n; i++)
        if (i == 0 || strcmp(r[i].dev.program, r[i - 1].dev.program) != 0) {
            printf("  %s (%s): %s\n", r[i].dev.program,
                   config_program_kind_name(r[i].dev.program_kind), r[i].method);
            sc_print_program_methods(r, n, i);
        }
    int header = 0;
    for (size_t i = 0; i < n; i++) {
        if (!r[i].reason[0])
            continue;
        if (!header++)
            printf("\nData notes (a device with insufficient data counts no savings, not zero)\n");
        printf("  %s: %s: %s\n", r[i].dev.key,
               r[i].status == SR_INSUFFICIENT ? "insufficient"
               : r[i].status == SR_NONE       ? "none"
                                              : "note",
               r[i].reason);
    }
    (void)offset_min;
}

/* ---- demand response output ---------------------------------------------------------------- */

static const struct table_col dr_cols[] = {
    {.name = "SITE", .key = "site"},
    {.name = "PROGRAM", .key = "program"},
    {.name = "START", .key = "start"},
    {.name = "HOURS", .key = "hours", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "DATA", .key = "data"},
    {.name = "kWh_CBL_MID", .key = "kwh_cbl_mid", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "kWh_METERED", .key = "kwh_metered", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "kWh_RED_MID", .key = "kwh_red_mid", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "kWh_CBL_MAX", .key = "kwh_cbl_max", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "kWh_RED_MAX", .key = "kwh_red_max", .align = TABLE_RIGHT, .flags = TABLE_NUMBER},
    {.name = "AVG_kW_RED_MID",
     .key = "avg_kw_red_mid",
     .align = TABLE_RIGHT,
     .flags = TABLE_NUMBER},
};

static void sc_num_or_dash(char *buf, size_t len, int ok, double v)
{
    if (ok)
        snprintf(buf, len, "%.3f", v);
    else
        snprintf(buf, len, "-");
}

static int sc_dr_row(struct table *t, const char *site, const char *program, const char *start,
                     int hours, const char *data, const double *v, const int *ok)
{
    char h[16], c[6][32];
    snprintf(h, sizeof(h), "%d", hours);
    for (int i = 0; i < 6; i++)
        sc_num_or_dash(c[i], sizeof(c[i]), ok[i], v[i]);
    const char *cells[11] = {site, program, start, h, data, c[0], c[1], c[2], c[3], c[4], c[5]};
    return table_add(t, cells);
}

/* The events that have the baseline of method m ([0] Mid(6/10), [1] Max(4/5)), summed. */
struct sc_dr_total {
    int events, hours;
    double cbl_kwh, metered_kwh, reduced_kwh;
};

static void sc_dr_sum(const struct sr_event *ev, size_t n, int m, struct sc_dr_total *t)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < n; i++) {
        if (!ev[i].ok[m])
            continue;
        t->events++;
        t->hours += ev[i].hours;
        t->cbl_kwh += ev[i].cbl_kwh[m];
        t->metered_kwh += ev[i].metered_kwh;
        t->reduced_kwh += ev[i].reduced_kwh[m];
    }
}

/* "TOTAL mid-6-10" / "TOTAL max-4-5": only the events with that baseline, counted in DATA. */
static int sc_dr_total_row(struct table *t, const struct sr_event *ev, size_t n, int m)
{
    struct sc_dr_total s;
    sc_dr_sum(ev, n, m, &s);
    char site[32], data[64];
    snprintf(site, sizeof(site), "TOTAL %s", cbl_method_name(m ? CBL_MAX_4_5 : CBL_MID_6_10));
    snprintf(data, sizeof(data), "%d of %zu events", s.events, n);
    double v[6] = {0};
    int ok[6] = {0};
    v[m ? 3 : 0] = s.cbl_kwh;
    v[1] = s.metered_kwh;
    v[m ? 4 : 2] = s.reduced_kwh;
    ok[m ? 3 : 0] = ok[1] = ok[m ? 4 : 2] = 1;
    if (!m && s.hours) {
        v[5] = s.reduced_kwh / s.hours;
        ok[5] = 1;
    }
    return sc_dr_row(t, site, "", "", s.hours, data, v, ok);
}

static int sc_dr_table(const struct sr_event *ev, size_t n, int offset_min, enum table_format fmt)
{
    struct table t;
    table_init(&t, dr_cols, sizeof(dr_cols) / sizeof(dr_cols[0]), NULL);
    int rc = 0;
    for (size_t i = 0; i < n && rc == 0; i++) {
        const struct sr_event *e = &ev[i];
        char start[40], data[160];
        caltime_format_time(e->ev.start_s, offset_min, start, sizeof(start));
        start[16] = '\0';
        if (e->ok[0] && e->ok[1])
            snprintf(data, sizeof(data), "ok");
        else if (e->ok[0] || e->ok[1]) /* name the method that has no baseline */
            snprintf(data, sizeof(data), "%s: %s", e->ok[0] ? "max-4-5" : "mid-6-10",
                     e->reason[e->ok[0] ? 1 : 0]);
        else
            snprintf(data, sizeof(data), "%s", e->reason[0]);
        double v[6] = {e->cbl_kwh[0],     e->metered_kwh,
                       e->reduced_kwh[0], e->cbl_kwh[1],
                       e->reduced_kwh[1], e->hours ? e->reduced_kwh[0] / e->hours : 0};
        int ok[6] = {e->ok[0], 1, e->ok[0], e->ok[1], e->ok[1], e->ok[0]};
        rc = sc_dr_row(&t, e->ev.site, e->program, start, e->hours, data, v, ok);
    }
    for (int m = 0; m < 2 && rc == 0 && fmt == TABLE_TEXT && n > 0; m++)
        rc = sc_dr_total_row(&t, ev, n, m);
    if (rc == 0)
        rc = table_print(&t, fmt, stdout);
    table_free(&t);
    return rc;
}

/* ---- savings: JSON ------------------------------------------------------------------------ */

static void js_date(cJSON *o, const char *key, int64_t ts, int offset_min)
{
    char buf[16];
    if (!ts) {
        cJSON_AddNullToObject(o, key);
        return;
    }
    caltime_format_date(ts, offset_min, buf, sizeof(buf));
    cJSON_AddStringToObject(o, key, buf);
}

/* A figure, or null when the row has none (never 0). */
static void js_figure(cJSON *o, const char *key, int has, double v)
{
    if (has)
        cJSON_AddNumberToObject(o, key, v);
    else
        cJSON_AddNullToObject(o, key);
}

/* Metered baselines: the fit of a one-device weather row (else null), G14 failures. */
static void js_fit(cJSON *o, const struct sr_row *row)
{
    int f = row->has_fit;
    js_figure(o, "cvrmse", f, row->cvrmse);
    js_figure(o, "nmbe", f, row->nmbe);
    js_figure(o, "r2", f, row->r2);
    if (f) {
        cJSON_AddBoolToObject(o, "g14_ok", row->g14_ok);
        cJSON_AddStringToObject(o, "model", bm_kind_name(row->model));
    } else {
        cJSON_AddNullToObject(o, "g14_ok");
        cJSON_AddNullToObject(o, "model");
    }
    js_figure(o, "heat_balance_c", f && !isnan(row->heat_bp), row->heat_bp);
    js_figure(o, "cool_balance_c", f && !isnan(row->cool_bp), row->cool_bp);
    cJSON_AddNumberToObject(o, "weather_devices", row->weather_devices);
    cJSON_AddNumberToObject(o, "g14_fail_devices", row->g14_fail);
}

static cJSON *js_row(const struct sr_row *row, int offset_min)
{
    cJSON *o = cJSON_CreateObject();
    char data[48];
    sr_row_data(row, data, sizeof(data));
    cJSON_AddStringToObject(o, "period", row->period);
    cJSON_AddStringToObject(o, "key", row->key);
    cJSON_AddStringToObject(o, "program", row->program);
    cJSON_AddStringToObject(o, "kind", config_program_kind_name(row->kind));
    cJSON_AddNumberToObject(o, "devices", row->devices);
    cJSON_AddStringToObject(o, "data", data);
    cJSON_AddNumberToObject(o, "insufficient_devices", row->insufficient);
    cJSON_AddStringToObject(o, "method", sr_row_method_name(row));
    cJSON_AddStringToObject(o, "method_text", row->method);
    js_date(o, "baseline_from", row->base_from, offset_min);
    js_date(o, "baseline_to", row->base_to ? row->base_to - CALTIME_DAY_S : 0, offset_min);
    int has = sr_row_has_figures(row);
    js_figure(o, "kwh_ref", has, row->ref_kwh);
    js_figure(o, "kwh_actual", has, row->actual_kwh);
    js_figure(o, "kwh_saved", has, row->saved_kwh);
    js_figure(o, "krw", has, row->krw);
    js_figure(o, "co2_kg", has, row->co2_kg);
    js_figure(o, "saved_kwh", has, row->saved_kwh); /* = kwh_saved: the interval's centre */
    cJSON_AddBoolToObject(o, "has_interval", row->has_interval);
    if (row->kind != PROGRAM_AMI) { /* ami rows: below */
        js_figure(o, "saved_low_kwh", row->has_interval, row->saved_low_kwh);
        js_figure(o, "saved_high_kwh", row->has_interval, row->saved_high_kwh);
    }
    if (row->method_name[0]) {
        js_fit(o, row);
        cJSON_AddStringToObject(o, "method_reason", row->method_reason);
    }
    if (row->kind == PROGRAM_LED_RETROFIT)
        js_figure(o, "deemed_kwh", has, row->deemed_kwh);
    if (row->kind == PROGRAM_EFFICIENCY) {
        js_figure(o, "peak_baseline_kw", has, row->peak_base_kw);
        js_figure(o, "peak_actual_kw", has, row->peak_actual_kw);
        cJSON_AddNumberToObject(o, "operator_share", row->operator_share);
        js_figure(o, "operator_kwh", has, row->saved_kwh * row->operator_share);
        js_figure(o, "operator_krw", has, row->krw * row->operator_share);
        js_figure(o, "city_kwh", has, row->saved_kwh * (1 - row->operator_share));
        js_figure(o, "city_krw", has, row->krw * (1 - row->operator_share));
    }
    if (row->kind == PROGRAM_AMI) {
        js_figure(o, "saved_low_kwh", row->has_interval, row->saved_low_kwh);
        js_figure(o, "saved_high_kwh", row->has_interval, row->saved_high_kwh);
        js_figure(o, "kwh_saved_per_participant_day", row->has_interval, row->kwh_per_day);
        cJSON_AddNumberToObject(o, "participants", row->devices - row->insufficient);
        cJSON_AddNumberToObject(o, "comparison_matched", row->comparison);
        cJSON_AddNumberToObject(o, "comparison_usable", row->comparison_usable);
        cJSON_AddStringToObject(o, "reason", row->note);
    }
    if (row->kind == PROGRAM_SOLAR) {
        cJSON_AddNumberToObject(o, "capacity_kw", row->capacity_kw);
        cJSON_AddNumberToObject(o, "yield_kwh_per_kwp",
                                row->capacity_kw > 0 ? row->saved_kwh / row->capacity_kw : 0);
        cJSON_AddNumberToObject(o, "clear_sky_kwh", row->clear_kwh);
        cJSON_AddNumberToObject(o, "subsidy_kwh", row->eligible_kwh);
    }
    return o;
}

static cJSON *js_event(const struct sr_event *e, int offset_min)
{
    cJSON *o = cJSON_CreateObject();
    char t[40];
    cJSON_AddStringToObject(o, "site", e->ev.site);
    cJSON_AddStringToObject(o, "program", e->program);
    caltime_format_time(e->ev.start_s, offset_min, t, sizeof(t));
    cJSON_AddStringToObject(o, "start", t);
    caltime_format_time(e->ev.end_s, offset_min, t, sizeof(t));
    cJSON_AddStringToObject(o, "end", t);
    cJSON_AddNumberToObject(o, "hours", e->hours);
    cJSON_AddNumberToObject(o, "kwh_metered", e->metered_kwh);
    cJSON_AddStringToObject(o, "cbl_selection", cbl_selection_name(e->selection));
    for (int m = 0; m < 2; m++) {
        cJSON *c = cJSON_AddObjectToObject(o, m ? "max_4_5" : "mid_6_10");
        cJSON_AddBoolToObject(c, "sufficient", e->ok[m]);
        cJSON_AddStringToObject(c, "reason", e->reason[m]);
        cJSON_AddNumberToObject(c, "days", e->cbl[m].ndays);
        cJSON_AddNumberToObject(c, "abnormal_days", e->cbl[m].nabnormal);
        cJSON_AddNumberToObject(c, "kwh_cbl", e->ok[m] ? e->cbl_kwh[m] : 0);
        cJSON_AddNumberToObject(c, "kwh_reduced", e->ok[m] ? e->reduced_kwh[m] : 0);
    }
    return o;
}

/* dr_totals: per method, only the events that have its baseline. */
static void js_dr_totals(cJSON *root, const struct sr_event *ev, size_t nev)
{
    cJSON *o = cJSON_AddObjectToObject(root, "dr_totals");
    cJSON_AddNumberToObject(o, "events", (double)nev);
    for (int m = 0; m < 2; m++) {
        struct sc_dr_total s;
        sc_dr_sum(ev, nev, m, &s);
        cJSON *c = cJSON_AddObjectToObject(o, m ? "max_4_5" : "mid_6_10");
        cJSON_AddNumberToObject(c, "events", s.events);
        cJSON_AddNumberToObject(c, "hours", s.hours);
        cJSON_AddNumberToObject(c, "kwh_cbl", s.cbl_kwh);
        cJSON_AddNumberToObject(c, "kwh_metered", s.metered_kwh);
        cJSON_AddNumberToObject(c, "kwh_reduced", s.reduced_kwh);
    }
}

static int sc_json(const struct sr_row *rows, size_t nrows, const struct sr_result *r, size_t n,
                   const struct sr_event *ev, size_t nev, const char *from, const char *to,
                   const struct cli_ctx *ctx)
{
    cJSON *root = cJSON_CreateObject();
    struct sc_totals tot;
    cJSON_AddStringToObject(root, "from", from);
    cJSON_AddStringToObject(root, "to", to);
    cJSON_AddStringToObject(root, "timezone", ctx->tz_label);
    cJSON *arr = cJSON_AddArrayToObject(root, "rows");
    for (size_t i = 0; i < nrows; i++)
        cJSON_AddItemToArray(arr, js_row(&rows[i], ctx->offset_min));
    arr = cJSON_AddArrayToObject(root, "notes");
    for (size_t i = 0; i < n; i++) {
        if (!r[i].reason[0])
            continue;
        cJSON *o = cJSON_CreateObject();
        cJSON_AddStringToObject(o, "device", r[i].dev.key);
        cJSON_AddStringToObject(o, "data",
                                r[i].status == SR_INSUFFICIENT ? "insufficient"
                                : r[i].status == SR_NONE       ? "none"
                                                               : "ok");
        cJSON_AddStringToObject(o, "reason", r[i].reason);
        cJSON_AddItemToArray(arr, o);
    }
    sc_sum(rows, nrows, &tot);
    cJSON *t = cJSON_AddObjectToObject(root, "totals");
    cJSON_AddNumberToObject(t, "avoided_kwh", tot.avoided_kwh);
    cJSON_AddNumberToObject(t, "bill_krw", tot.bill_krw);
    cJSON_AddNumberToObject(t, "produced_kwh", tot.produced_kwh);
    cJSON_AddNumberToObject(t, "subsidy_krw", tot.subsidy_krw);
    cJSON_AddNumberToObject(t, "co2_kg", tot.co2_kg);
    cJSON_AddNumberToObject(t, "ess_kwh", tot.ess_kwh);
    arr = cJSON_AddArrayToObject(root, "dr_events");
    for (size_t i = 0; i < nev; i++)
        cJSON_AddItemToArray(arr, js_event(&ev[i], ctx->offset_min));
    js_dr_totals(root, ev, nev);
    char *s = cJSON_Print(root);
    cJSON_Delete(root);
    if (!s)
        return -1;
    puts(s);
    free(s);
    return 0;
}

/* ---- savings: table, explain ---------------------------------------------------------------- */

static int sc_table(const struct sr_row *rows, size_t nrows, const struct sr_result *r, size_t n,
                    const struct sr_event *ev, size_t nev, const char *title,
                    const struct cli_ctx *ctx)
{
    struct table t;
    struct sc_totals tot;
    table_init(&t, savings_cols, SAVINGS_NCOLS, NULL);
    for (size_t i = 0; i < nrows; i++)
        if (sc_row_cells(&t, &rows[i], ctx->offset_min, TABLE_TEXT) != 0) {
            table_free(&t);
            return -1;
        }
    printf("%s\n\n", title);
    int rc = table_print(&t, TABLE_TEXT, stdout);
    table_free(&t);
    if (rc != ENMON_OK)
        return -1;
    sc_sum(rows, nrows, &tot);
    printf("\nCity totals\n"
           "  avoided energy (led-retrofit, efficiency)  %14.3f kWh  %12.0f KRW on bills\n"
           "  solar production                           %14.3f kWh  %12.0f KRW subsidy payable\n"
           "  avoided CO2                                %14.1f kg\n",
           tot.avoided_kwh, tot.bill_krw, tot.produced_kwh, tot.subsidy_krw, tot.co2_kg);
    if (tot.ess_kwh != 0.0)
        printf("  ESS storage losses (efficiency, in KRW above) %11.3f kWh\n", tot.ess_kwh);
    sc_print_methods(r, n, ctx->offset_min);
    for (size_t i = 0; i < nrows; i++) /* AMI rows have no per-device results */
        if (rows[i].kind == PROGRAM_AMI)
            printf("  %s (ami): %s%s%s\n", rows[i].program, rows[i].method,
                   rows[i].note[0] ? "; note: " : "", rows[i].note);
    if (nev > 0) {
        printf("\nDemand response: reduction = CBL - metered per event hour (headline: %s, "
               "CBL days %s)\n\n",
               "mid-6-10", cbl_selection_name(ev[0].selection));
        return sc_dr_table(ev, nev, ctx->offset_min, TABLE_TEXT);
    }
    return 0;
}

static void sc_explain_baseline(const struct sr_result *r, int offset_min)
{
    const struct savings_baseline *b = &r->base;
    char a[16], z[16], s[16];
    sc_date(r->start_s, offset_min, s, sizeof(s));
    sc_date(b->from_s, offset_min, a, sizeof(a));
    sc_date(b->to_s - CALTIME_DAY_S, offset_min, z, sizeof(z));
    printf("Baseline end (retrofit / contract start): %s\n", s);
    printf("Baseline period %s .. %s: %d days, %d with complete data: %s%s\n", a, z, b->days,
           b->days_with_data, b->sufficient ? "sufficient" : "insufficient: ", b->reason);
    printf("\nBaseline mean daily kWh (days)\nMONTH  WEEKDAY          WEEKEND\n");
    for (int m = 1; m <= 13; m++) {
        int k = m == 13 ? 0 : m;
        char w[2][32], label[8];
        for (int e = 0; e < 2; e++) {
            if (b->n[e][k])
                snprintf(w[e], sizeof(w[e]), "%.3f (%d)", b->sum[e][k] / b->n[e][k], b->n[e][k]);
            else
                snprintf(w[e], sizeof(w[e]), "-");
        }
        if (m == 13)
            snprintf(label, sizeof(label), "all");
        else
            snprintf(label, sizeof(label), "%02d", k);
        printf("%-5s  %-15s  %s\n", label, w[0], w[1]);
    }
}

static void sc_coef(const char *name, double v, const char *unit, double p)
{
    if (isnan(p))
        printf("  %-3s = %10.4f %s\n", name, v, unit);
    else
        printf("  %-3s = %10.4f %s  (p = %.4g, needs < %.1f)\n", name, v, unit, p, BM_P_MAX);
}

/* The weather model of a device: equation, coefficients, fit against G14, the interval. */
static void sc_explain_weather(const struct sr_result *r, int offset_min)
{
    const struct bm_model *m = &r->model;
    const struct bm_savings *s = &r->bms;
    char a[16], z[16];
    sc_date(r->base_from, offset_min, a, sizeof(a));
    sc_date(r->base_to ? r->base_to - CALTIME_DAY_S : 0, offset_min, z, sizeof(z));
    printf("Baseline method: weather, KMA station %d; baseline period %s .. %s\n", r->station, a,
           z);
    if (!m->sufficient)
        return;
    printf("Model %s: kWh/day = a%s%s%s", bm_kind_name(m->kind), m->has_weekend ? " + w W" : "",
           isnan(m->heat_bp) ? "" : " + bh HDD(Th)", isnan(m->cool_bp) ? "" : " + bc CDD(Tc)");
    if (!isnan(m->heat_bp))
        printf(", Th = %.0f C", m->heat_bp);
    if (!isnan(m->cool_bp))
        printf(", Tc = %.0f C", m->cool_bp);
    printf("\n  (W = 1 on weekends and holidays; HDD = max(0, Th - Tmean), CDD = max(0, Tmean - "
           "Tc), Tmean the day's mean temperature)\n");
    sc_coef("a", m->intercept, "kWh/day", NAN);
    if (m->has_weekend)
        sc_coef("w", m->weekend, "kWh/day on weekends", NAN);
    if (!isnan(m->heat_bp))
        sc_coef("bh", m->beta_hdd, "kWh per HDD", m->p_hdd);
    if (!isnan(m->cool_bp))
        sc_coef("bc", m->beta_cdd, "kWh per CDD", m->p_cdd);
    printf("Fit on %d of %d baseline days, %d parameters: R2 %.3f (adjusted %.3f); "
           "CV(RMSE) %.1f%% (G14: <= %.0f%%); NMBE %.2f%% (G14: within +-%.0f%%): G14 %s\n",
           m->n, m->period_days, m->p, m->r2, m->adj_r2, m->cvrmse * 100.0, BM_G14_CVRMSE * 100,
           m->nmbe * 100.0, BM_G14_NMBE * 100, m->g14_ok ? "ok" : "FAIL");
    if (!s->days)
        return;
    printf("Savings over %d reporting days (%d missing): counterfactual %.3f kWh - actual %.3f "
           "kWh = %.3f kWh\n",
           s->days, s->missing, s->counterfactual_kwh, s->actual_kwh, s->savings_kwh);
    if (r->has_interval)
        printf("90%% interval %.3f .. %.3f kWh (+-%.3f; FSU %.1f%%): t(0.95, n' - p = %.1f) "
               "%.3f x RMSE %.4f x sqrt((n/n')(m + s'(X'X)^-1 s)), s'(X'X)^-1 s = %.3f, lag-1 "
               "autocorrelation rho %.3f, n' = %.1f\n",
               s->savings_kwh - s->half_kwh, s->savings_kwh + s->half_kwh, s->half_kwh,
               s->fsu * 100.0, s->n_eff - m->p, s->t90, m->rmse, s->lev, m->rho, s->n_eff);
    else
        printf("No 90%% interval: n' - p = %.1f < 1 (rho %.3f)\n", s->n_eff - m->p, m->rho);
}

static void sc_explain_days(const struct sr_result *r, int offset_min)
{
    int solar = r->dev.program_kind == PROGRAM_SOLAR;
    int weather = r->method_used == SVC_METHOD_WEATHER;
    double cum = 0.0;
    printf("\n%s\n", solar     ? "DATE        INTERVALS  CLEAR_SKY_kWh  PRODUCED_kWh  SUBSIDY_kWh  "
                                 "SUBSIDY_KRW  CO2_kg"
                     : weather ? "DATE        TYPE     TEMP_C  PREDICTED  NOTE      ACTUAL     "
                                 "AVOIDED  CUMULATIVE       KRW  CO2_kg"
                               : "DATE        TYPE     PREDICTED  NOTE      ACTUAL     AVOIDED  "
                                 "CUMULATIVE       KRW  CO2_kg");
    for (size_t i = 0; i < r->nvals; i++) {
        const struct sr_dayval *v = &r->vals[i];
        char d[16];
        caltime_format_date(v->day_s, offset_min, d, sizeof(d));
        int wd = caltime_weekday(v->day_s, offset_min);
        if (solar) {
            printf("%s  %9d  %13.3f  %12.3f  %11.3f  %11.0f  %6.2f\n", d, v->intervals, v->ref_kwh,
                   v->actual_kwh, v->eligible_kwh, v->krw, v->co2_kg);
            continue;
        }
        cum += v->saved_kwh;
        const char *note = !v->counted ? "not used" : v->fallback ? "all-month" : "";
        if (weather) {
            char tc[16] = "-";
            if (!isnan(v->temp_c))
                snprintf(tc, sizeof(tc), "%.1f", v->temp_c);
            printf("%s  %-7s  %6s  %9.3f  %-9s %7.3f  %9.3f  %10.3f  %8.0f  %6.2f\n", d,
                   wd == 0 || wd == 6 ? "weekend" : "weekday", tc, v->ref_kwh, note, v->actual_kwh,
                   v->saved_kwh, cum, v->krw, v->co2_kg);
            continue;
        }
        printf("%s  %-7s  %9.3f  %-9s %7.3f  %9.3f  %10.3f  %8.0f  %6.2f\n", d,
               wd == 0 || wd == 6 ? "weekend" : "weekday", v->ref_kwh, note, v->actual_kwh,
               v->saved_kwh, cum, v->krw, v->co2_kg);
    }
}

static int sc_explain(const struct sr_result *r, size_t n, const struct cli_ctx *ctx)
{
    if (n == 0) {
        fprintf(stderr, "enmon: savings --explain: no led-retrofit, efficiency or solar device "
                        "with that id\n");
        return EX_FAIL;
    }
    printf("Device %s (%s), site %s, program %s (%s)\n", r->dev.key, r->dev.name, r->dev.site,
           r->dev.program, config_program_kind_name(r->dev.program_kind));
    printf("Method: %s\n", r->method);
    if (r->reason[0])
        printf("Data: %s\n", r->reason);
    if (r->method_used == SVC_METHOD_WEATHER)
        sc_explain_weather(r, ctx->offset_min);
    else if (r->dev.program_kind != PROGRAM_SOLAR) {
        if (r->method_reason[0])
            printf("Baseline method: day-type-month (%s)\n", r->method_reason);
        sc_explain_baseline(r, ctx->offset_min);
    } else {
        char c[16], e[16];
        sc_date(r->dev.commissioned, ctx->offset_min, c, sizeof(c));
        sc_date(r->subsidy_end, ctx->offset_min, e, sizeof(e));
        printf("Capacity %.3f kWp; commissioned %s; subsidy %.1f KRW/kWh from %s until %s "
               "(exclusive)\n",
               r->dev.capacity_w / 1000.0, c, r->subsidy_rate, c, e);
    }
    sc_explain_days(r, ctx->offset_min);
    return EX_OK;
}

/* ---- commands -------------------------------------------------------------------------------- */

static int sc_parse_by(const char *s, enum sr_by *by)
{
    if (!s || strcmp(s, "program") == 0)
        *by = SR_BY_PROGRAM;
    else if (strcmp(s, "site") == 0)
        *by = SR_BY_SITE;
    else if (strcmp(s, "device") == 0)
        *by = SR_BY_DEVICE;
    else
        return -1;
    return 0;
}

static int sc_parse_group(const char *s, enum sr_group *g)
{
    static const char *const names[] = {"none", "day", "month", "year"};
    for (int i = 0; i < 4; i++)
        if (!s || strcmp(s, names[i]) == 0) {
            *g = s ? (enum sr_group)i : SR_GROUP_NONE;
            return 0;
        }
    return -1;
}

/* The database savings reads: the file, or a historian's rows (docs/SCALING.md) covering the
 * reporting period, the baselines before the savings.yaml dates and the devices' own dates
 * (the baseline's days and one more for the local day's start), and the CBL look-back. */
static int sc_open(const struct cli_ctx *ctx, const struct savings_config *sc,
                   const struct sr_query *q, sqlite3 **db)
{
    char msg[768];
    if (report_source_is_pg(ctx->db_path)) {
        int64_t lookback = ((int64_t)sc->baseline.max_days + 1) * CALTIME_DAY_S;
        int64_t lo = q->from_s - (int64_t)(CBL_LOOKBACK_DAYS + 1) * CALTIME_DAY_S;
        for (size_t i = 0; i < sc->nprograms; i++) {
            const struct svc_program *p = &sc->programs[i];
            if (p->start_s && p->start_s - lookback < lo)
                lo = p->start_s - lookback;
            if (p->program_start_s && p->program_start_s - lookback < lo)
                lo = p->program_start_s - lookback;
        }
        if (report_source_open_savings(ctx->db_path, lo, q->to_s, lookback, db, msg, sizeof(msg)) !=
            ENMON_OK) {
            fprintf(stderr, "enmon: cannot open database %s\n", msg);
            return EX_NOINPUT;
        }
        return EX_OK;
    }
    if (report_open(ctx->db_path, db, msg, sizeof(msg)) != ENMON_OK) {
        fprintf(stderr, "enmon: cannot open database %s\n", msg);
        return EX_NOINPUT;
    }
    return EX_OK;
}

struct sc_run {
    struct sr_result *res;
    size_t n;
    struct sr_row *rows;
    size_t nrows;
    struct sr_event *ev;
    size_t nev;
};

static int sc_output(const struct sc_opts *o, struct sc_run *run, enum sr_by by, const char *from,
                     const char *to, const struct cli_ctx *ctx)
{
    const char *fmt = o->format ? o->format : "table";
    if (o->explain)
        return sc_explain(run->res, run->n, ctx);
    if (strcmp(fmt, "json") == 0)
        return sc_json(run->rows, run->nrows, run->res, run->n, run->ev, run->nev, from, to, ctx)
                   ? EX_FAIL
                   : EX_OK;
    if (strcmp(fmt, "csv") == 0) {
        struct table t;
        int rc = 0;
        table_init(&t, savings_cols, SAVINGS_NCOLS, NULL);
        for (size_t i = 0; i < run->nrows && rc == 0; i++)
            rc = sc_row_cells(&t, &run->rows[i], ctx->offset_min, TABLE_CSV);
        if (rc == 0)
            rc = table_print(&t, TABLE_CSV, stdout);
        table_free(&t);
        return rc ? EX_FAIL : EX_OK;
    }
    char title[256];
    snprintf(title, sizeof(title), "Savings %s to %s inclusive, %s, by %s", from, to, ctx->tz_label,
             by == SR_BY_PROGRAM ? "program"
             : by == SR_BY_SITE  ? "site"
                                 : "device");
    return sc_table(run->rows, run->nrows, run->res, run->n, run->ev, run->nev, title, ctx)
               ? EX_FAIL
               : EX_OK;
}

static int cmd_savings(const struct cli_ctx *ctx, const struct sc_opts *o)
{
    enum sr_by by;
    enum sr_group g;
    if (o->nargs)
        return sc_usage("savings: unexpected argument '%s'", o->args[0]);
    if (sc_parse_by(o->by, &by) != 0)
        return sc_usage("--by must be program, site or device, not '%s'", o->by);
    if (sc_parse_group(o->group, &g) != 0)
        return sc_usage("--group must be day, month or year, not '%s'", o->group);
    enum svc_method method = SVC_METHOD_AUTO;
    if (o->method && savings_config_method_parse(o->method, &method) != 0)
        return sc_usage("--method must be weather or day-type-month, not '%s'", o->method);
    char from[16], to[16], msg[512];
    struct sr_query q = {.program = o->program,
                         .site = o->site,
                         .device = o->explain ? o->explain : o->device,
                         .offset_min = ctx->offset_min};
    int rc = sc_period(ctx, o, &q.from_s, &q.to_s, from, to);
    struct savings_config sc;
    if (rc != EX_OK || (rc = sc_load_savings(ctx, o->savings, &sc)) != EX_OK)
        return rc;
    if (o->method)
        sc.method = method; /* overrides baseline.method */
    sqlite3 *db = NULL;
    struct sc_run run = {0};
    if ((rc = sc_open(ctx, &sc, &q, &db)) == EX_OK) {
        if (sr_compute(db, &sc, &q, &run.res, &run.n, msg, sizeof(msg)) != ENMON_OK ||
            sr_rows(run.res, run.n, by, g, ctx->offset_min, &run.rows, &run.nrows) != ENMON_OK ||
            (!o->explain && sr_ami_rows(db, &sc, &q, &run.rows, &run.nrows, msg, sizeof(msg)) !=
                                ENMON_OK) ||
            (!o->explain &&
             sr_events(db, &sc, &q, &run.ev, &run.nev, msg, sizeof(msg)) != ENMON_OK)) {
            fprintf(stderr, "enmon: savings: %s\n", msg);
            rc = EX_FAIL;
        } else {
            rc = sc_output(o, &run, by, from, to, ctx);
        }
    }
    free(run.rows);
    free(run.ev);
    sr_free(run.res, run.n);
    sqlite3_close(db);
    savings_config_free(&sc);
    return rc;
}

static int cmd_import_weather(const struct cli_ctx *ctx, const char *path)
{
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
    if (!in) {
        perror(path);
        return EX_NOINPUT;
    }
    sqlite3 *db = NULL;
    char msg[768], a[32], b[32];
    struct import_weather_result res;
    int rc = import_open(ctx->db_path, &db, msg, sizeof(msg));
    if (rc == ENMON_OK)
        rc = import_weather(db, in, path, stderr, &res, msg, sizeof(msg));
    if (in != stdin)
        fclose(in);
    sqlite3_close(db);
    if (rc != ENMON_OK) {
        fprintf(stderr, "enmon: import: %s\n", msg);
        return rc == ENMON_ERR_PARSE ? EX_DATAERR : rc == ENMON_ERR_DB ? EX_NOINPUT : EX_FAIL;
    }
    printf("imported %zu lines (%s): %zu hours of %zu station(s), %zu hours missing\n", res.lines,
           res.encoding, res.hours, res.nstations, res.missing);
    for (size_t i = 0; i < res.nstations; i++) {
        const struct import_station *s = &res.stations[i];
        caltime_format_minute(s->first_s, CALTIME_KST_MIN, a, sizeof(a));
        caltime_format_minute(s->last_s, CALTIME_KST_MIN, b, sizeof(b));
        printf("station %d: %s .. %s KST, %zu hours, %zu missing (%zu empty, %zu in gaps)\n",
               s->station, a, b, s->hours, s->empty + s->gaps, s->empty, s->gaps);
    }
    import_weather_free(&res);
    return EX_OK;
}

static int cmd_import(const struct cli_ctx *ctx, const struct sc_opts *o)
{
    enum import_step step = IMPORT_STEP_AUTO;
    if (o->nargs == 2 && strcmp(o->args[0], "weather") == 0 && !o->step)
        return cmd_import_weather(ctx, o->args[1]);
    if (o->nargs != 2 || strcmp(o->args[0], "intervals") != 0)
        return sc_usage("usage: enmon import intervals FILE.csv [--step auto|15m|1h] | "
                        "enmon import weather FILE.csv");
    if (o->step && strcmp(o->step, "auto") != 0) {
        if (strcmp(o->step, "15m") == 0)
            step = IMPORT_STEP_15M;
        else if (strcmp(o->step, "1h") == 0)
            step = IMPORT_STEP_1H;
        else
            return sc_usage("--step must be auto, 15m or 1h, not '%s'", o->step);
    }
    const char *path = o->args[1];
    FILE *in = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!in) {
        perror(path);
        return EX_NOINPUT;
    }
    sqlite3 *db = NULL;
    char msg[768];
    struct import_result res;
    int rc = import_open(ctx->db_path, &db, msg, sizeof(msg));
    if (rc == ENMON_OK)
        rc = import_intervals(db, in, path, ctx->offset_min, step, stderr, &res, msg, sizeof(msg));
    if (in != stdin)
        fclose(in);
    sqlite3_close(db);
    if (rc != ENMON_OK) {
        fprintf(stderr, "enmon: import: %s\n", msg);
        return rc == ENMON_ERR_PARSE ? EX_DATAERR : rc == ENMON_ERR_DB ? EX_NOINPUT : EX_FAIL;
    }
    char a[32] = "-", b[32] = "-";
    if (res.intervals) {
        caltime_format_time(res.first_s, ctx->offset_min, a, sizeof(a));
        caltime_format_time(res.last_s, ctx->offset_min, b, sizeof(b));
    }
    printf("imported %zu rows: %zu 15-minute intervals of %zu devices (%zu hourly), %s .. %s\n",
           res.rows, res.intervals, res.devices, res.hourly_devices, a, b);
    return EX_OK;
}

static int dr_add(const struct cli_ctx *ctx, const struct sc_opts *o)
{
    int64_t start, end;
    const char *why;
    if (!o->site || !o->start || !o->end)
        return sc_usage("usage: enmon dr add --site SITE --start TIME --end TIME");
    if (caltime_parse_datetime(o->start, ctx->offset_min, &start) != ENMON_OK)
        return sc_usage("--start: '%s' is not a time like 2024-07-10T14:00[+09:00]", o->start);
    if (caltime_parse_datetime(o->end, ctx->offset_min, &end) != ENMON_OK)
        return sc_usage("--end: '%s' is not a time like 2024-07-10T16:00[+09:00]", o->end);
    if (savings_config_check_event(start, end, ctx->offset_min, &why) != 0)
        return sc_usage("dr add: %s", why);
    sqlite3 *db = NULL;
    sqlite3_stmt *st = NULL;
    char msg[768];
    if (import_open(ctx->db_path, &db, msg, sizeof(msg)) != ENMON_OK) {
        fprintf(stderr, "enmon: %s\n", msg);
        return EX_NOINPUT;
    }
    int rc = EX_FAIL, found = 0;
    if (sqlite3_prepare_v2(db, "SELECT 1 FROM sites WHERE key = ?1", -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, o->site, -1, SQLITE_STATIC);
        found = sqlite3_step(st) == SQLITE_ROW;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (!found) {
        fprintf(stderr, "enmon: dr add: unknown site '%s'\n", o->site);
    } else if (store_schema_migrate(db, msg, sizeof(msg)) != ENMON_OK) {
        /* dr_events is a store migration (schema 6): an older file is brought up to date */
        fprintf(stderr, "enmon: dr add: %s\n", msg);
        found = 0;
    } else if (sqlite3_prepare_v2(db,
                                  "INSERT INTO dr_events(site, start_s, end_s) VALUES(?1, ?2, ?3) "
                                  "ON CONFLICT(site, start_s) DO UPDATE SET end_s = excluded.end_s",
                                  -1, &st, NULL) == SQLITE_OK) {
        sqlite3_bind_text(st, 1, o->site, -1, SQLITE_STATIC);
        sqlite3_bind_int64(st, 2, start);
        sqlite3_bind_int64(st, 3, end);
        rc = sqlite3_step(st) == SQLITE_DONE ? EX_OK : EX_FAIL;
    }
    if (found && rc != EX_OK)
        fprintf(stderr, "enmon: dr add: %s\n", sqlite3_errmsg(db));
    else if (rc == EX_OK)
        printf("event recorded: %s %s .. %s (%lld h)\n", o->site, o->start, o->end,
               (long long)((end - start) / 3600));
    sqlite3_finalize(st);
    sqlite3_close(db);
    return rc;
}

static int dr_list(const struct cli_ctx *ctx, const struct sc_opts *o)
{
    char from[16], to[16], msg[512];
    struct sr_query q = {.site = o->site, .program = o->program, .offset_min = ctx->offset_min};
    int rc = sc_period(ctx, o, &q.from_s, &q.to_s, from, to);
    struct savings_config sc;
    if (rc != EX_OK || (rc = sc_load_savings(ctx, o->savings, &sc)) != EX_OK)
        return rc;
    sqlite3 *db = NULL;
    struct sr_event *ev = NULL;
    size_t n = 0;
    if ((rc = sc_open(ctx, &sc, &q, &db)) == EX_OK) {
        if (sr_events(db, &sc, &q, &ev, &n, msg, sizeof(msg)) != ENMON_OK) {
            fprintf(stderr, "enmon: dr list: %s\n", msg);
            rc = EX_FAIL;
        } else {
            enum table_format fmt = TABLE_TEXT;
            if (o->format)
                table_parse_format(o->format, SC_FORMATS, &fmt);
            if (fmt == TABLE_TEXT)
                printf("Demand-response events %s to %s inclusive, %s, CBL days %s\n\n", from, to,
                       ctx->tz_label, cbl_selection_name(sc.dr_selection));
            rc = sc_dr_table(ev, n, ctx->offset_min, fmt) ? EX_FAIL : EX_OK;
        }
    }
    free(ev);
    sqlite3_close(db);
    savings_config_free(&sc);
    return rc;
}

int savings_cli_main(const struct cli_ctx *ctx, int argc, char **argv)
{
    struct sc_opts o;
    int rc = sc_parse(&o, argc, argv);
    if (rc != EX_OK)
        return rc;
    if (strcmp(argv[0], "savings") == 0)
        return cmd_savings(ctx, &o);
    if (strcmp(argv[0], "import") == 0)
        return cmd_import(ctx, &o);
    if (o.nargs == 1 && strcmp(o.args[0], "add") == 0)
        return dr_add(ctx, &o);
    if (o.nargs == 1 && strcmp(o.args[0], "list") == 0)
        return dr_list(ctx, &o);
    return sc_usage("usage: enmon dr add|list [OPTIONS]");
}
