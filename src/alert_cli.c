/* alert_cli.c -- the `enmon alerts` command: list active alerts and history, acknowledge. */
#include "alert_cli.h"
#include "alert_store.h"
#include "clock.h"
#include "err.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#define EX_FAIL 1
#define EX_USAGE_ 64
#define EX_NOINPUT_ 66

const char alert_cli_usage[] =
    "  enmon [GLOBAL] alerts [--all] [--program P] [--site S] [--device D] [--rule R]\n"
    "                        [--from YYYY-MM-DD] [--to YYYY-MM-DD] [--format table|json]\n"
    "  enmon [GLOBAL] alerts ack ID --by NAME   (ID: the number, or the key of an active alert)\n";

struct list_out {
    int json, offset_min, rows;
    cJSON *array;
};

/* "YYYY-MM-DD HH:MM" in local time, or "-" for 0. */
static const char *local_time(int64_t ms, int offset_min, char *buf, size_t len)
{
    if (ms == 0)
        return "-";
    time_t t = (time_t)(ms / 1000) + (time_t)offset_min * 60;
    struct tm tm;
    gmtime_r(&t, &tm);
    strftime(buf, len, "%Y-%m-%d %H:%M", &tm);
    return buf;
}

static void print_row(void *ctx, const struct alert_row *r)
{
    struct list_out *o = ctx;
    o->rows++;
    if (o->json) {
        cJSON *a = cJSON_CreateObject();
        cJSON_AddNumberToObject(a, "id", (double)r->id);
        cJSON_AddStringToObject(a, "key", r->key);
        cJSON_AddStringToObject(a, "state", r->cleared_ms ? "cleared" : "active");
        cJSON_AddStringToObject(a, "severity", r->severity);
        cJSON_AddStringToObject(a, "device", r->device);
        cJSON_AddStringToObject(a, "program", r->program);
        cJSON_AddStringToObject(a, "site", r->site);
        cJSON_AddStringToObject(a, "rule", r->rule);
        cJSON_AddStringToObject(a, "cause", r->cause);
        if (r->has_value)
            cJSON_AddNumberToObject(a, "value", r->value);
        cJSON_AddNumberToObject(a, "first_seen_ms", (double)r->first_seen_ms);
        cJSON_AddNumberToObject(a, "raised_ms", (double)r->raised_ms);
        if (r->cleared_ms)
            cJSON_AddNumberToObject(a, "cleared_ms", (double)r->cleared_ms);
        if (r->acked_by[0]) {
            cJSON_AddStringToObject(a, "acked_by", r->acked_by);
            cJSON_AddNumberToObject(a, "acked_ms", (double)r->acked_ms);
        }
        cJSON_AddItemToArray(o->array, a);
        return;
    }
    char t1[32], t2[32];
    printf("%-5lld %-8s %-8s %-20s %-22s %-44s %-16s %-16s %s\n", (long long)r->id,
           r->cleared_ms ? "cleared" : "ACTIVE", r->severity, r->device, r->rule, r->cause,
           local_time(r->raised_ms, o->offset_min, t1, sizeof(t1)),
           local_time(r->cleared_ms, o->offset_min, t2, sizeof(t2)),
           r->acked_by[0] ? r->acked_by : "-");
}

/* Local midnight of "YYYY-MM-DD" as UTC epoch ms (days_after added); -1 on error. */
static int64_t local_day_ms(const char *s, int offset_min, int days_after)
{
    int y, m, d;
    char tail;
    if (sscanf(s, "%4d-%2d-%2d%c", &y, &m, &d, &tail) != 3 || m < 1 || m > 12 || d < 1 || d > 31)
        return -1;
    struct tm tm = {.tm_year = y - 1900, .tm_mon = m - 1, .tm_mday = d + days_after};
    return ((int64_t)timegm(&tm) - (int64_t)offset_min * 60) * 1000;
}

static int open_db(const char *path, int writable, sqlite3 **db)
{
    int flags = writable ? SQLITE_OPEN_READWRITE : SQLITE_OPEN_READONLY;
    if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK) {
        fprintf(stderr, "enmon: cannot open %s: %s\n", path, sqlite3_errmsg(*db));
        sqlite3_close(*db);
        return EX_NOINPUT_;
    }
    sqlite3_busy_timeout(*db, 5000);
    return 0;
}

static int cmd_ack(const struct savings_cli_ctx *ctx, int argc, char **argv)
{
    const char *who = NULL;
    for (int i = 2; i + 1 < argc; i++)
        if (strcmp(argv[i], "--by") == 0)
            who = argv[i + 1];
    if (argc < 3 || !who || argv[2][0] == '-') {
        fprintf(stderr, "usage:\n%s", alert_cli_usage);
        return EX_USAGE_;
    }
    sqlite3 *db;
    int rc = open_db(ctx->db_path, 1, &db);
    if (rc)
        return rc;
    rc = alert_store_ack(db, argv[2], who, clock_wall_ms());
    sqlite3_close(db);
    if (rc == ENMON_ERR_NOT_FOUND) {
        fprintf(stderr, "enmon: no alert %s\n", argv[2]);
        return EX_FAIL;
    }
    if (rc != ENMON_OK) {
        fprintf(stderr, "enmon: acknowledging %s failed\n", argv[2]);
        return EX_FAIL;
    }
    printf("alert %s acknowledged by %s\n", argv[2], who);
    return 0;
}

static int parse_list(const struct savings_cli_ctx *ctx, int argc, char **argv,
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

int alert_cli_main(const struct savings_cli_ctx *ctx, int argc, char **argv)
{
    if (argc >= 2 && strcmp(argv[1], "ack") == 0)
        return cmd_ack(ctx, argc, argv);
    struct alert_filter f = {0};
    struct list_out o = {.offset_min = ctx->offset_min};
    if (parse_list(ctx, argc, argv, &f, &o.json) != 0) {
        fprintf(stderr, "usage:\n%s", alert_cli_usage);
        return EX_USAGE_;
    }
    sqlite3 *db;
    int rc = open_db(ctx->db_path, 0, &db);
    if (rc)
        return rc;
    if (o.json)
        o.array = cJSON_CreateArray();
    else
        printf("%-5s %-8s %-8s %-20s %-22s %-44s %-16s %-16s %s\n", "ID", "STATE", "SEVERITY",
               "DEVICE", "RULE", "CAUSE", "RAISED", "CLEARED", "ACK");
    rc = alert_store_list(db, &f, print_row, &o);
    sqlite3_close(db);
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
