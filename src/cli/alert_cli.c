/* alert_cli.c -- the `enmon alerts` command: list active alerts and history, acknowledge. */
#include "alert_cli.h"
#include "alert_json.h"
#include "alert_store.h"
#include "caltime.h"
#include "clock.h"
#include "db_open.h"
#include "err.h"
#include "report_source.h"
#include "table.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

const char alert_cli_usage[] =
    "  enmon [GLOBAL] alerts [--all] [--program P] [--site S] [--device D] [--rule R]\n"
    "                        [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--format table|json]\n"
    "  enmon [GLOBAL] alerts ack ID --by NAME   (ID: the number, or the key of an active alert)\n";

struct list_out {
    int json, offset_min, rows, failed;
    const struct enmon_config *cfg; /* names in the JSON; NULL with --db alone */
    cJSON *array;
    struct table t;
};

/* The text table: fixed widths (a longer cell overflows), one space between columns. */
static const struct table_col alert_cols[] = {
    {.name = "ID", .width = 5},       {.name = "STATE", .width = 8},
    {.name = "SEVERITY", .width = 8}, {.name = "DEVICE", .width = 20},
    {.name = "RULE", .width = 22},    {.name = "CAUSE", .width = 44},
    {.name = "RAISED", .width = 16},  {.name = "CLEARED", .width = 16},
    {.name = "ACK"},
};

/* "YYYY-MM-DD HH:MM" in local time, or "-" for 0. */
static const char *local_time(int64_t ms, int offset_min, char *buf, size_t len)
{
    if (ms == 0)
        return "-";
    caltime_format_minute(ms / 1000, offset_min, buf, len);
    return buf;
}

static void print_row(void *ctx, const struct alert_row *r)
{
    struct list_out *o = ctx;
    o->rows++;
    if (o->json) {
        struct alert_json a;
        alert_json_from_row(r, o->cfg, &a);
        cJSON *obj = alert_json_object(&a);
        if (obj)
            cJSON_AddItemToArray(o->array, obj);
        return;
    }
    char id[24], t1[32], t2[32];
    snprintf(id, sizeof(id), "%lld", (long long)r->id);
    const char *cells[9] = {id,
                            r->cleared_ms ? "cleared" : "ACTIVE",
                            r->severity,
                            r->device,
                            r->rule,
                            r->cause,
                            local_time(r->raised_ms, o->offset_min, t1, sizeof(t1)),
                            local_time(r->cleared_ms, o->offset_min, t2, sizeof(t2)),
                            r->acked_by[0] ? r->acked_by : "-"};
    if (table_add(&o->t, cells) != ENMON_OK)
        o->failed = 1;
}

/* Local midnight of "YYYY-MM-DD" as UTC epoch ms (days_after added); -1 on error. */
static int64_t local_day_ms(const char *s, int offset_min, int days_after)
{
    int64_t day_s;
    if (caltime_parse_date(s, offset_min, &day_s) != ENMON_OK)
        return -1;
    return (day_s + (int64_t)days_after * CALTIME_DAY_S) * 1000;
}

static int open_db(const char *path, int writable, sqlite3 **db)
{
    char msg[768];
    if (writable && report_source_is_pg(path)) { /* the historian is a copy: ack on a collector */
        fprintf(stderr, "enmon: alerts ack: a postgresql:// historian is read-only here; "
                        "acknowledge on the collector's database\n");
        return EX_USAGE;
    }
    if (report_source_is_pg(path)
            ? report_source_open(path, REPORT_NEED_ALERTS, 0, 0, db, msg, sizeof(msg)) != ENMON_OK
            : db_open(path, writable ? DB_READWRITE : DB_READONLY, DB_BUSY_MS, db, msg,
                      sizeof(msg)) != ENMON_OK) {
        fprintf(stderr, "enmon: cannot open %s\n", msg);
        return EX_NOINPUT;
    }
    return 0;
}

static int cmd_ack(const struct cli_ctx *ctx, int argc, char **argv)
{
    const char *who = NULL;
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], "--by") == 0)
            who = argv[i + 1];
    if (argc < 3 || !who || argv[2][0] == '-') {
        fprintf(stderr, "enmon: alerts ack: an alert ID and --by NAME are needed\nusage:\n%s",
                alert_cli_usage);
        return EX_USAGE;
    }
    sqlite3 *db;
    int rc = open_db(ctx->db_path, 1, &db);
    if (rc)
        return rc;
    struct alert_row first = {0};
    rc = alert_store_ack(db, argv[2], who, clock_wall_ms(), &first);
    sqlite3_close(db);
    if (rc == ENMON_ERR_NOT_FOUND) {
        fprintf(stderr, "enmon: no alert %s\n", argv[2]);
        return EX_FAIL;
    }
    if (rc == ENMON_ERR_INVALID) { /* the first acknowledgement stands */
        char t[32];
        fprintf(stderr, "enmon: alert %s was already acknowledged by %s at %s; not changed\n",
                argv[2], first.acked_by, local_time(first.acked_ms, ctx->offset_min, t, sizeof(t)));
        return EX_FAIL;
    }
    if (rc != ENMON_OK) {
        fprintf(stderr, "enmon: acknowledging %s failed\n", argv[2]);
        return EX_FAIL;
    }
    printf("alert %s acknowledged by %s\n", argv[2], who);
    return 0;
}

static int parse_list(const struct cli_ctx *ctx, int argc, char **argv,
                      struct alert_filter *f, int *json)
{
    static const struct option opts[] = {
        {"all", no_argument, NULL, 'a'},
        {"program", required_argument, NULL, 'p'},
        {"site", required_argument, NULL, 's'},
        {"device", required_argument, NULL, 'd'},
        {"rule", required_argument, NULL, 'r'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"format", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    int c;
    f->active_only = 1;
    optind = 1;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'a':
            f->active_only = 0;
            break;
        case 'p':
            f->program = optarg;
            break;
        case 's':
            f->site = optarg;
            break;
        case 'd':
            f->device = optarg;
            break;
        case 'r':
            f->rule = optarg;
            break;
        case 'f':
            f->from_ms = local_day_ms(optarg, ctx->offset_min, 0);
            break;
        case 't':
            f->to_ms = local_day_ms(optarg, ctx->offset_min, 1);
            break;
        case 'o':
            if (strcmp(optarg, "json") != 0 && strcmp(optarg, "table") != 0)
                return -1;
            *json = strcmp(optarg, "json") == 0;
            break;
        default:
            return -1;
        }
    }
    if (f->from_ms < 0 || f->to_ms < 0 || optind != argc)
        return -1;
    if (f->from_ms || f->to_ms)
        f->active_only = 0;
    return 0;
}

int alert_cli_main(const struct cli_ctx *ctx, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "ack") == 0)
        return cmd_ack(ctx, argc, argv);
    struct alert_filter f = {0};
    struct list_out o = {.offset_min = ctx->offset_min, .cfg = ctx->cfg};
    if (parse_list(ctx, argc, argv, &f, &o.json) != 0) {
        fprintf(stderr, "enmon: alerts: bad option or value\nusage:\n%s", alert_cli_usage);
        return EX_USAGE;
    }
    sqlite3 *db;
    int rc = open_db(ctx->db_path, 0, &db);
    if (rc)
        return rc;
    if (o.json)
        o.array = cJSON_CreateArray();
    table_init(&o.t, alert_cols, sizeof(alert_cols) / sizeof(alert_cols[0]), " ");
    rc = alert_store_list(db, &f, print_row, &o);
    sqlite3_close(db);
    if (!o.json && (o.failed || table_print(&o.t, TABLE_TEXT, stdout) != ENMON_OK))
        rc = ENMON_ERR_NOMEM;
    table_free(&o.t);
    if (o.json) {
        char *text = cJSON_Print(o.array);
        if (text)
            printf("%s\n", text);
        cJSON_free(text);
        cJSON_Delete(o.array);
    } else if (o.rows == 0) {
        printf("(no %salerts)\n", f.active_only ? "active " : "");
    }
    if (rc != ENMON_OK) {
        fprintf(stderr, "enmon: cannot read alerts from %s (a database from before alerts?)\n",
                ctx->db_path);
        return EX_FAIL;
    }
    return 0;
}
