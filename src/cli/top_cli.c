/* top_cli.c -- `enmon top`: enmond's status, the age of its data and the program summaries it
 * publishes on MQTT (<root>/status, <root>/summary/#), live or once. */
#include "top_cli.h"

#include "clock.h"
#include "config.h"
#include "err.h"
#include "exitcode.h"
#include "mqtt_client.h"
#include "table.h"

#include <cjson/cJSON.h>
#include <getopt.h>
#include <mosquitto.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define TOP_ROWS_MAX 256
#define TOP_REFRESH_MS 2000
#define TOP_WAIT_MS 5000              /* --once: how long to wait for the city summary */
#define TOP_SETTLE_MS 300             /* --once: retained summaries arrive together */
#define TOP_STALE_INTERVALS 3         /* data older than 3 summary intervals are stale */
#define TOP_DEFAULT_INTERVAL_MS 10000 /* mqtt.summary_interval's default */
#define DEFAULT_CONFIG "/etc/enmon/enmond.yaml"

struct top_row {
    char id[CFG_ID_MAX], kind[24];
    double power_w, produced_w, consumed_w, today_wh;
    int devices, online, offline, alerts;
    long long ts_ms;
};

struct top {
    pthread_mutex_t lock;
    struct top_row rows[TOP_ROWS_MAX];
    size_t nrows;
    int has_city;
    int64_t first_ms;
    char prefix[96];
    char status_topic[96];
    char status[16]; /* enmond's <root>/status: "online", "offline", "" (none retained) */
};

static volatile sig_atomic_t top_stop;

static void on_signal(int sig)
{
    top_stop = 1;
}

static double num(const cJSON *doc, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(doc, key);
    return cJSON_IsNumber(v) ? v->valuedouble : 0;
}

static void parse_row(const char *id, const cJSON *doc, struct top_row *r)
{
    const cJSON *kind = cJSON_GetObjectItemCaseSensitive(doc, "kind");
    snprintf(r->id, sizeof(r->id), "%s", id);
    snprintf(r->kind, sizeof(r->kind), "%s", cJSON_IsString(kind) ? kind->valuestring : "");
    r->power_w = num(doc, "power_w");
    r->produced_w = num(doc, "produced_w");
    r->consumed_w = num(doc, "consumed_w");
    r->today_wh = num(doc, "energy_today_wh");
    r->devices = (int)num(doc, "devices");
    r->online = (int)num(doc, "online");
    r->offline = (int)num(doc, "offline");
    r->alerts = (int)num(doc, "alerts_active");
    r->ts_ms = (long long)num(doc, "ts_ms");
}

static void on_message(struct mosquitto *mosq, void *ctx, const struct mosquitto_message *msg)
{
    struct top *t = ctx;
    size_t plen = strlen(t->prefix);
    if (strcmp(msg->topic, t->status_topic) == 0) {
        pthread_mutex_lock(&t->lock);
        snprintf(t->status, sizeof(t->status), "%.*s", msg->payloadlen < 15 ? msg->payloadlen : 15,
                 (const char *)msg->payload);
        pthread_mutex_unlock(&t->lock);
        return;
    }
    if (strncmp(msg->topic, t->prefix, plen) != 0 || msg->payloadlen <= 0)
        return;
    const char *id = msg->topic + plen;
    cJSON *doc = cJSON_ParseWithLength(msg->payload, (size_t)msg->payloadlen);
    if (!doc)
        return;
    pthread_mutex_lock(&t->lock);
    size_t i = 0;
    while (i < t->nrows && strcmp(t->rows[i].id, id) != 0)
        i++;
    if (i < TOP_ROWS_MAX) {
        parse_row(id, doc, &t->rows[i]);
        if (i == t->nrows)
            t->nrows++;
        t->has_city |= strcmp(id, "city") == 0;
        if (!t->first_ms)
            t->first_ms = clock_mono_ms();
    }
    pthread_mutex_unlock(&t->lock);
    cJSON_Delete(doc);
}

static int cmp_row(const void *a, const void *b)
{
    const struct top_row *x = a, *y = b;
    int cx = strcmp(x->id, "city") == 0, cy = strcmp(y->id, "city") == 0;
    return cx != cy ? cx - cy : strcmp(x->id, y->id);
}

/* The frame's table: fixed widths, one space between columns, 80 columns in all (15 + 12 +
 * 3 x 7 + 9 + 3 x 5 = 72, and 8 spaces); a longer program or kind is cut, ending in '~'. */
#define TOP_NUM(n, w) {.name = n, .align = TABLE_RIGHT, .width = w, .flags = TABLE_NUMBER}
#define TOP_ID_W 15
#define TOP_KIND_W 12
static const struct table_col top_cols[] = {
    {.name = "PROGRAM", .width = TOP_ID_W}, {.name = "KIND", .width = TOP_KIND_W},
    TOP_NUM("NET_kW", 7),                  TOP_NUM("PROD_kW", 7),
    TOP_NUM("CONS_kW", 7),                 TOP_NUM("TODAY_kWh", 9),
    TOP_NUM("ON", 5),                      TOP_NUM("OFF", 5),
    TOP_NUM("ALRT", 5),
};

/* s cut to width characters, its last one '~' when cut. */
static void top_cut(const char *s, int width, char *out, size_t len)
{
    size_t n = strlen(s), w = width > 0 && (size_t)width < len ? (size_t)width : len - 1;
    memcpy(out, s, n < w ? n : w);
    out[n < w ? n : w] = '\0';
    if (n > w && w > 0)
        out[w - 1] = '~';
}

/* "42 s", "12 min", "5 h", "3 d". */
static void top_age(int64_t ms, char *out, size_t len)
{
    long long s = (long long)(ms < 0 ? 0 : ms / 1000);
    if (s < 120)
        snprintf(out, len, "%lld s", s);
    else if (s < 7200)
        snprintf(out, len, "%lld min", s / 60);
    else if (s < 172800)
        snprintf(out, len, "%lld h", s / 3600);
    else
        snprintf(out, len, "%lld d", s / 86400);
}

/* The status line: "enmond online, data 4 s old (stale after 30 s)"; 1 when stale: enmond's
 * status is not "online", or the city summary is older than stale_ms. */
static int print_status(struct top *t, int64_t stale_ms, FILE *out)
{
    char status[16], age[24], limit[24];
    pthread_mutex_lock(&t->lock);
    snprintf(status, sizeof(status), "%s", t->status[0] ? t->status : "status unknown");
    int64_t ts = 0;
    for (size_t i = 0; i < t->nrows; i++)
        if (strcmp(t->rows[i].id, "city") == 0)
            ts = t->rows[i].ts_ms;
    pthread_mutex_unlock(&t->lock);
    int64_t age_ms = clock_wall_ms() - ts;
    top_age(age_ms, age, sizeof(age));
    top_age(stale_ms, limit, sizeof(limit));
    int stale = strcmp(status, "online") != 0 || ts <= 0 || age_ms > stale_ms;
    fprintf(out, "enmond %s, data %s old (stale after %s)%s\n", status, ts > 0 ? age : "?", limit,
            stale ? ": STALE" : "");
    return stale;
}

static void print_frame(struct top *t, FILE *out)
{
    struct top_row rows[TOP_ROWS_MAX];
    pthread_mutex_lock(&t->lock);
    size_t n = t->nrows;
    memcpy(rows, t->rows, n * sizeof(rows[0]));
    pthread_mutex_unlock(&t->lock);
    qsort(rows, n, sizeof(rows[0]), cmp_row);
    struct table tab;
    table_init(&tab, top_cols, sizeof(top_cols) / sizeof(top_cols[0]), " ");
    for (size_t i = 0; i < n; i++) {
        char v[7][24], id[TOP_ID_W + 2], kind[TOP_KIND_W + 2];
        const double kw[4] = {rows[i].power_w, rows[i].produced_w, rows[i].consumed_w,
                              rows[i].today_wh};
        for (int k = 0; k < 4; k++)
            snprintf(v[k], sizeof(v[k]), "%.1f", kw[k] / 1000);
        snprintf(v[4], sizeof(v[4]), "%d", rows[i].online);
        snprintf(v[5], sizeof(v[5]), "%d", rows[i].offline);
        snprintf(v[6], sizeof(v[6]), "%d", rows[i].alerts);
        top_cut(rows[i].id, TOP_ID_W, id, sizeof(id));
        top_cut(rows[i].kind, TOP_KIND_W, kind, sizeof(kind));
        const char *cells[9] = {id, kind, v[0], v[1], v[2], v[3], v[4], v[5], v[6]};
        table_add(&tab, cells);
    }
    table_print(&tab, TABLE_TEXT, out);
    table_free(&tab);
    fflush(out);
}

struct top_opts {
    const char *config, *host, *root;
    int port, once;
    int64_t stale_ms; /* TOP_STALE_INTERVALS x the config's summary interval */
    double speed;     /* --speed: the summaries' clock runs speed x the interval's */
};

const char top_cli_usage[] =
    "  top [--host HOST] [--port PORT] [--root ROOT] [--once] [--time T --speed X]\n"
    "      enmond's status (<root>/status), the age of its data and the program\n"
    "      summaries (<root>/summary/#) from MQTT: broker, root, TLS and credentials\n"
    "      from the config (-c, default " DEFAULT_CONFIG "). The data are\n"
    "      stale when enmond is not online or the city summary is older than 3\n"
    "      summary intervals (3 x mqtt.summary_interval, 30 s by default). --once\n"
    "      prints one frame: exit 0, 75 when stale, 69 when the broker or the\n"
    "      summaries are unavailable. --time, --speed: a simulated clock as enmond's\n"
    "      (the stale limit then in simulated time: x speed).\n";

static int top_usage(FILE *out, int rc)
{
    fprintf(out, "usage: enmon [GLOBAL] top [OPTIONS]\n%s", top_cli_usage);
    return rc;
}

static int top_bad(const char *arg)
{
    fprintf(stderr, "enmon: top: bad option or value '%s'\n(enmon top --help for usage)\n", arg);
    return EX_USAGE;
}

static int top_parse(int argc, char **argv, struct top_opts *o)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"host", required_argument, NULL, 'H'},
        {"port", required_argument, NULL, 'p'},
        {"root", required_argument, NULL, 'r'},
        {"once", no_argument, NULL, '1'},
        {"time", required_argument, NULL, 't'},
        {"speed", required_argument, NULL, 'x'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int c, has_time = 0;
    long long start_s = 0;
    double speed = 1.0;
    optind = 1;
    opterr = 0;
    while ((c = getopt_long(argc, argv, "c:h", opts, NULL)) != -1) {
        if (c == 'c')
            o->config = optarg;
        else if (c == 't' && clock_parse_time_arg(optarg, &start_s) == 0)
            has_time = 1;
        else if (c == 'x' && clock_parse_speed_arg(optarg, &speed) == 0)
            continue;
        else if (c == 'H')
            o->host = optarg;
        else if (c == 'p')
            o->port = atoi(optarg);
        else if (c == 'r')
            o->root = optarg;
        else if (c == '1')
            o->once = 1;
        else if (c == 'h')
            return top_usage(stdout, -1);
        else
            return top_bad(argv[optind - 1]);
    }
    if (optind != argc)
        return top_bad(argv[optind]);
    if (o->port && (o->port < 1 || o->port > 65535))
        return top_bad("--port");
    if (has_time)
        clock_sim_start((double)start_s, speed);
    o->speed = has_time ? speed : 1.0;
    return 0;
}

/* Broker and root from the options, else from the configuration (with its TLS and
 * credentials, which only the configuration gives). */
static int top_setup(struct top_opts *o, struct cfg_mqtt *m)
{
    struct enmon_config *cfg = NULL;
    struct cfg_error err = {0};
    memset(m, 0, sizeof(*m)); /* no TLS, no credentials, default keepalive */
    snprintf(m->host, sizeof(m->host), "127.0.0.1");
    m->port = 1883;
    snprintf(m->topic_root, sizeof(m->topic_root), "enmon");
    if (o->config || !o->host || !o->root) {
        const char *path = o->config ? o->config : DEFAULT_CONFIG;
        if (config_load(path, &cfg, &err) != ENMON_OK) {
            char buf[1024];
            config_format_error(&err, buf, sizeof(buf));
            fprintf(stderr, "enmon: %s\n", buf);
            return EX_CONFIG;
        }
        *m = cfg->mqtt;
        if (cfg->mqtt.summary_interval_ms > 0)
            o->stale_ms = (int64_t)TOP_STALE_INTERVALS * cfg->mqtt.summary_interval_ms;
        config_free(cfg);
    }
    if (o->host)
        snprintf(m->host, sizeof(m->host), "%s", o->host);
    if (o->port)
        m->port = o->port;
    if (o->root)
        snprintf(m->topic_root, sizeof(m->topic_root), "%s", o->root);
    return 0;
}

static int top_loop(struct top *t, const struct top_opts *o)
{
    int64_t start = clock_mono_ms();
    while (!top_stop) {
        usleep(50 * 1000);
        int64_t now = clock_mono_ms();
        pthread_mutex_lock(&t->lock);
        int ready = t->has_city && now - t->first_ms >= TOP_SETTLE_MS;
        pthread_mutex_unlock(&t->lock);
        if (o->once) {
            if (ready) {
                int stale = print_status(t, o->stale_ms, stdout);
                print_frame(t, stdout);
                return stale ? EX_TEMPFAIL : EX_OK;
            }
            if (now - start >= TOP_WAIT_MS) {
                pthread_mutex_lock(&t->lock);
                int offline = strcmp(t->status, "offline") == 0;
                pthread_mutex_unlock(&t->lock);
                fprintf(stderr,
                        "enmon: top: %sno summaries on %s# (is enmond running with "
                        "mqtt.summary_interval?)\n",
                        offline ? "enmond offline, " : "", t->prefix);
                return EX_UNAVAILABLE;
            }
            continue;
        }
        if (now - start >= TOP_REFRESH_MS) {
            fputs("\x1b[H\x1b[2J", stdout);
            print_status(t, o->stale_ms, stdout);
            print_frame(t, stdout);
            start = now;
        }
    }
    return 0;
}

/* Connects with the config's TLS and credentials (a random client id: never enmond's),
 * subscribes to sub and shows the summaries. Returns the exit code. */
static int top_watch(struct top *t, const struct top_opts *o, const struct cfg_mqtt *m,
                     const char *sub)
{
    char msg[512];
    struct mosquitto *mosq = NULL;
    const struct mqtt_client_opts opts = {.client_id = NULL, .userdata = t};
    if (mqtt_client_new(m, &opts, &mosq, msg, sizeof(msg)) != ENMON_OK) {
        fprintf(stderr, "enmon: top: %s\n", msg);
        return EX_CONFIG; /* the config's TLS files or password file */
    }
    mosquitto_message_callback_set(mosq, on_message);
    int rc = mqtt_client_connect(mosq, m);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_subscribe(mosq, NULL, t->status_topic, 1);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_subscribe(mosq, NULL, sub, 1);
    if (rc == MOSQ_ERR_SUCCESS)
        rc = mosquitto_loop_start(mosq);
    if (rc != MOSQ_ERR_SUCCESS) {
        fprintf(stderr, "enmon: top: cannot connect to %s:%d: %s\n", m->host, m->port,
                mqtt_client_strerror(rc));
        mqtt_client_destroy(mosq, 0);
        return EX_UNAVAILABLE;
    }
    int code = top_loop(t, o);
    mqtt_client_destroy(mosq, 1);
    return code;
}

int top_cli_main(const char *config, int argc, char **argv)
{
    struct top_opts o = {.config = config,
                         .stale_ms = (int64_t)TOP_STALE_INTERVALS * TOP_DEFAULT_INTERVAL_MS};
    struct cfg_mqtt m;
    int rc = top_parse(argc, argv, &o);
    if (rc != 0)
        return rc < 0 ? 0 : rc;
    if ((rc = top_setup(&o, &m)) != 0)
        return rc;
    o.stale_ms = (int64_t)((double)o.stale_ms * o.speed); /* in the summaries' clock */
    struct top *t = calloc(1, sizeof(*t));
    if (!t)
        return EX_SOFTWARE;
    pthread_mutex_init(&t->lock, NULL);
    snprintf(t->prefix, sizeof(t->prefix), "%s/summary/", m.topic_root);
    snprintf(t->status_topic, sizeof(t->status_topic), "%s/status", m.topic_root);
    char sub[128];
    snprintf(sub, sizeof(sub), "%s#", t->prefix);
    signal(SIGINT, on_signal);
    signal(SIGTERM, on_signal);
    rc = top_watch(t, &o, &m, sub);
    pthread_mutex_destroy(&t->lock);
    free(t);
    return rc;
}
