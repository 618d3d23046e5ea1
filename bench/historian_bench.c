/* historian_bench.c -- one collector's rows written into its SQLite file as the store would and
 * forwarded to PostgreSQL by the historian's own pass (COPY), timed. */
#include "caltime.h"
#include "err.h"
#include "hist_pass.h"
#include "store_schema.h"

#include <getopt.h>
#include <libpq-fe.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KST_MIN 540

struct opts {
    const char *db, *url, *start, *prefix;
    long devices, first, days, chunk_days;
    int intervals, replay;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static uint64_t rng_state = 0x9e3779b97f4a7c15ULL;
static double rnd(void) /* [0, 1) */
{
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return (double)(rng_state >> 11) / 9007199254740992.0;
}

static int exec(sqlite3 *db, const char *sql)
{
    char *err = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &err) != SQLITE_OK) {
        fprintf(stderr, "historian_bench: %s: %s\n", sql, err ? err : "?");
        sqlite3_free(err);
        return -1;
    }
    return 0;
}

/* programs, sites (100 households each), devices: what store_schema_sync_config writes */
static int make_devices(sqlite3 *db, const struct opts *o)
{
    char sql[256];
    snprintf(sql, sizeof(sql),
             "INSERT INTO programs(id, key, name, kind) VALUES (1, 'ami', 'AMI', 'ami');"
             "INSERT OR REPLACE INTO meta(key, value) VALUES ('daily_offset_min', %d);",
             KST_MIN);
    if (exec(db, sql) != 0)
        return -1;
    sqlite3_stmt *site = NULL, *dev = NULL;
    sqlite3_prepare_v2(
        db, "INSERT OR IGNORE INTO sites(id, key, name, program_id) VALUES (?1, ?2, ?2, 1)", -1,
        &site, NULL);
    sqlite3_prepare_v2(db,
                       "INSERT INTO devices(id, key, name, site_id, program_id, kind) VALUES (?1,"
                       " ?2, ?2, ?3, 1, 'meter')",
                       -1, &dev, NULL);
    for (long i = 0; i < o->devices; i++) {
        long n = o->first + i;
        char key[48], skey[48];
        snprintf(key, sizeof(key), "%s-%07ld", o->prefix, n);
        snprintf(skey, sizeof(skey), "%s-s%05ld", o->prefix, n / 100);
        sqlite3_bind_int64(site, 1, n / 100 + 1);
        sqlite3_bind_text(site, 2, skey, -1, SQLITE_TRANSIENT);
        sqlite3_step(site);
        sqlite3_reset(site);
        sqlite3_bind_int64(dev, 1, i + 1);
        sqlite3_bind_text(dev, 2, key, -1, SQLITE_TRANSIENT);
        sqlite3_bind_int64(dev, 3, n / 100 + 1);
        if (sqlite3_step(dev) != SQLITE_DONE) {
            fprintf(stderr, "historian_bench: devices: %s\n", sqlite3_errmsg(db));
            return -1;
        }
        sqlite3_reset(dev);
    }
    sqlite3_finalize(site);
    sqlite3_finalize(dev);
    return 0;
}

/* Days [d0, d1) of every device: the daily rows (and, with intervals, 96 rows a day whose sum
 * the daily row is), and device_status at the end of the chunk (the forwarder's frontier). */
static int make_chunk(sqlite3 *db, const struct opts *o, int64_t day0_s, long d0, long d1,
                      uint64_t *rows)
{
    sqlite3_stmt *iv = NULL, *dy = NULL, *st = NULL, *rd = NULL;
    /* the chunk's last reading of each device: what the forwarder sees as new work */
    sqlite3_prepare_v2(db,
                       "INSERT INTO readings(device_id, ts_ms, quality, power_w, energy_import_wh)"
                       " VALUES (?1, ?2, 0, 500, ?3)",
                       -1, &rd, NULL);
    sqlite3_prepare_v2(db, "INSERT INTO intervals VALUES (?1, ?2, ?3, 0, 1)", -1, &iv, NULL);
    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO daily VALUES (?1, ?2, ?3, 0, ?4)", -1, &dy,
                       NULL);
    sqlite3_prepare_v2(db, "INSERT OR REPLACE INTO device_status VALUES (?1, ?2, 1, NULL)", -1, &st,
                       NULL);
    if (exec(db, "BEGIN") != 0)
        return -1;
    for (long i = 0; i < o->devices; i++) {
        for (long d = d0; d < d1; d++) {
            int64_t day_s = day0_s + d * CALTIME_DAY_S;
            double sum = 0;
            int n = o->intervals ? 96 : 0;
            for (int k = 0; k < n; k++) {
                double wh = (double)(int)(rnd() * 300.0 * 10.0) / 10.0; /* 0.1 Wh steps */
                sum += wh;
                sqlite3_bind_int64(iv, 1, i + 1);
                sqlite3_bind_int64(iv, 2, day_s + k * 900);
                sqlite3_bind_double(iv, 3, wh);
                sqlite3_step(iv);
                sqlite3_reset(iv);
            }
            if (!o->intervals)
                sum = (double)(int)(rnd() * 26000.0) / 10.0 + 8000.0;
            sqlite3_bind_int64(dy, 1, i + 1);
            sqlite3_bind_int64(dy, 2, day_s);
            sqlite3_bind_double(dy, 3, sum);
            sqlite3_bind_int(dy, 4, n ? n : 96);
            sqlite3_step(dy);
            sqlite3_reset(dy);
            *rows += (uint64_t)n;
        }
        sqlite3_bind_int64(st, 1, i + 1);
        sqlite3_bind_int64(st, 2, (day0_s + d1 * CALTIME_DAY_S) * 1000 - 1);
        sqlite3_step(st);
        sqlite3_reset(st);
        sqlite3_bind_int64(rd, 1, i + 1);
        sqlite3_bind_int64(rd, 2, (day0_s + d1 * CALTIME_DAY_S) * 1000 - 1);
        sqlite3_bind_double(rd, 3, (double)d1 * 10000.0);
        sqlite3_step(rd);
        sqlite3_reset(rd);
    }
    sqlite3_finalize(rd);
    sqlite3_finalize(iv);
    sqlite3_finalize(dy);
    sqlite3_finalize(st);
    return exec(db, "COMMIT");
}

static int parse(struct opts *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"db", required_argument, NULL, 'b'},
        {"url", required_argument, NULL, 'u'},
        {"devices", required_argument, NULL, 'n'},
        {"first", required_argument, NULL, 'f'},
        {"days", required_argument, NULL, 'd'},
        {"chunk-days", required_argument, NULL, 'c'},
        {"start", required_argument, NULL, 's'},
        {"prefix", required_argument, NULL, 'p'},
        {"intervals", no_argument, NULL, 'i'},
        {"replay", no_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    *o = (struct opts){
        .start = "2026-01-01", .prefix = "h", .devices = 1000, .days = 7, .chunk_days = 1};
    int c;
    while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (c) {
        case 'b':
            o->db = optarg;
            break;
        case 'u':
            o->url = optarg;
            break;
        case 'n':
            o->devices = atol(optarg);
            break;
        case 'f':
            o->first = atol(optarg);
            break;
        case 'd':
            o->days = atol(optarg);
            break;
        case 'c':
            o->chunk_days = atol(optarg);
            break;
        case 's':
            o->start = optarg;
            break;
        case 'p':
            o->prefix = optarg;
            break;
        case 'i':
            o->intervals = 1;
            break;
        case 'r':
            o->replay = 1;
            break;
        default:
            return -1;
        }
    }
    return o->db && o->url && o->devices > 0 && o->days > 0 && o->chunk_days > 0 ? 0 : -1;
}

static void quiet(void *arg, const char *message) /* "relation ... already exists, skipping" */
{
    (void)arg;
    (void)message;
}

int main(int argc, char **argv)
{
    struct opts o;
    if (parse(&o, argc, argv) != 0) {
        fprintf(stderr, "usage: historian_bench --db FILE --url postgresql://... [--devices N]"
                        " [--first N] [--days D] [--chunk-days C] [--start YYYY-MM-DD]"
                        " [--prefix P] [--intervals] [--replay]\n"
                        "  --replay: no rows written, one pass over what the file holds\n");
        return 64;
    }
    char msg[512];
    int64_t day0_s;
    sqlite3 *db = NULL;
    if (caltime_parse_date(o.start, KST_MIN, &day0_s) != ENMON_OK ||
        store_schema_open(o.db, &db, msg, sizeof(msg)) != ENMON_OK ||
        store_schema_migrate(db, msg, sizeof(msg)) != ENMON_OK ||
        (!o.replay && make_devices(db, &o) != 0)) {
        fprintf(stderr, "historian_bench: %s\n", msg);
        return 1;
    }
    struct hist_session s = {.db = db};
    s.pg = PQconnectdb(o.url);
    PQsetNoticeProcessor(s.pg, quiet, NULL);
    if (PQstatus(s.pg) != CONNECTION_OK || hist_pass_schema(&s, msg, sizeof(msg)) != ENMON_OK) {
        fprintf(stderr, "historian_bench: %s %s\n", PQerrorMessage(s.pg), msg);
        return 1;
    }
    rng_state ^= (uint64_t)o.first * 0x2545F4914F6CDD1DULL;
    double gen_s = 0, pass_s = 0;
    uint64_t iv_rows = 0, pg_rows = 0;
    long passes = 0;
    for (long d = 0; d < o.days; d += o.chunk_days) {
        long d1 = d + o.chunk_days < o.days ? d + o.chunk_days : o.days;
        double t0 = now_s();
        if (o.replay)
            d1 = o.days;
        else if (make_chunk(db, &o, day0_s, d, d1, &iv_rows) != 0)
            return 1;
        double t1 = now_s();
        struct hist_result res;
        if (hist_pass_run(&s, &res, msg, sizeof(msg)) != ENMON_OK) {
            fprintf(stderr, "historian_bench: pass: %s\n", msg);
            return 1;
        }
        double t2 = now_s();
        gen_s += t1 - t0;
        pass_s += t2 - t1;
        pg_rows += res.rows;
        passes++;
    }
    /* one line for the driver: key=value */
    printf("devices=%ld days=%ld passes=%ld interval_rows=%llu daily_rows=%llu rows_changed=%llu "
           "gen_s=%.3f pass_s=%.3f\n",
           o.devices, o.days, passes, (unsigned long long)iv_rows,
           (unsigned long long)(o.devices * o.days), (unsigned long long)pg_rows, gen_s, pass_s);
    PQfinish(s.pg);
    sqlite3_close(db);
    return 0;
}
