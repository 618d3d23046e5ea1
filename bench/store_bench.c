/* store_bench.c -- readings per second through store_submit/store_close, and bytes per meter-day.
 */
#include "clock.h"
#include "config.h"
#include "err.h"
#include "reading.h"
#include "store.h"

#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define BENCH_T0_MS 1717200000000LL /* 2024-06-01 00:00 UTC */
#define BENCH_STEP_MS 60000LL       /* a meter every 60 s */
#define BENCH_WRAP32 4294967296.0

struct bench_city {
    struct enmon_config cfg;
    struct cfg_program program;
    struct cfg_link link;
};

/* One AMI program, one site and one meter per household, all on one link. */
static int bench_city_init(struct bench_city *b, const char *db, size_t meters)
{
    memset(b, 0, sizeof(*b));
    struct enmon_config *c = &b->cfg;
    snprintf(c->database, sizeof(c->database), "%s", db);
    snprintf(c->timezone, sizeof(c->timezone), "Asia/Seoul");
    b->program = (struct cfg_program){.id = "ami", .name = "AMI households", .kind = PROGRAM_AMI};
    b->link = (struct cfg_link){.uri = "tcp://127.0.0.1:1502", .host = "127.0.0.1", .port = 1502};
    c->sites = calloc(meters, sizeof(*c->sites));
    c->devices = calloc(meters, sizeof(*c->devices));
    if (!c->sites || !c->devices)
        return ENMON_ERR_NOMEM;
    for (size_t i = 0; i < meters; i++) {
        snprintf(c->sites[i].id, sizeof(c->sites[i].id), "home-%05zu", i + 1);
        snprintf(c->sites[i].name, sizeof(c->sites[i].name), "Home %zu", i + 1);
        struct cfg_device *d = &c->devices[i];
        snprintf(d->id, sizeof(d->id), "home-%05zu-meter", i + 1);
        snprintf(d->name, sizeof(d->name), "Home %zu meter", i + 1);
        d->site = (uint32_t)i;
        d->kind = DEVICE_METER;
        d->unit = (int)(i % 247) + 1;
        d->capacity_w = 11000;
        d->interval_ms = (int)BENCH_STEP_MS;
    }
    c->programs = &b->program;
    c->nprograms = 1;
    c->nsites = meters;
    c->ndevices = meters;
    c->links = &b->link;
    c->nlinks = 1;
    return ENMON_OK;
}

static void bench_city_free(struct bench_city *b)
{
    free(b->cfg.sites);
    free(b->cfg.devices);
}

/* A single-phase household meter's reading k: every value a SunSpec 201 meter gives,
 * as decode.c makes them from registers (the current in 0.01 A: raw / 100), polled
 * every minute with a few milliseconds of jitter. */
static void bench_reading(struct reading *r, uint32_t dev, long k)
{
    double load = 300.0 + (double)((dev * 37u + (unsigned)k * 11u) % 900u);
    int64_t jitter = (int64_t)((dev + (unsigned)k) % 5u) * 3;
    *r = (struct reading){
        .device = dev, .wall_ms = BENCH_T0_MS + k * BENCH_STEP_MS + jitter, .online = 1};
    r->mono_ms = r->wall_ms;
    r->wrap_wh[0] = r->wrap_wh[1] = BENCH_WRAP32;
    reading_set(r, MEAS_POWER_W, load);
    reading_set(r, MEAS_ENERGY_IMPORT_WH, 2500000.0 + dev * 1000.0 + (double)k * 8.0);
    reading_set(r, MEAS_ENERGY_EXPORT_WH, 1000.0 + dev);
    reading_set(r, MEAS_VOLTAGE_V, 220.0 + (double)(k % 50) / 10.0);
    reading_set(r, MEAS_CURRENT_A, round(load / 220.0 * 100.0) / 100.0);
    reading_set(r, MEAS_FREQUENCY_HZ, 60.0 + (double)(k % 5) / 100.0);
    reading_set(r, MEAS_POWER_FACTOR, 0.96);
    reading_set(r, MEAS_EVENTS, 0);
}

static void unlink_db(const char *db)
{
    const char *suffix[] = {"", "-wal", "-shm"};
    for (int i = 0; i < 3; i++) {
        char p[CFG_PATH_MAX + 8];
        snprintf(p, sizeof(p), "%s%s", db, suffix[i]);
        unlink(p);
    }
}

static long long file_bytes(const char *db)
{
    const char *suffix[] = {"", "-wal"};
    long long total = 0;
    for (int i = 0; i < 2; i++) {
        char p[CFG_PATH_MAX + 8];
        struct stat sb;
        snprintf(p, sizeof(p), "%s%s", db, suffix[i]);
        if (stat(p, &sb) == 0)
            total += sb.st_size;
    }
    return total;
}

struct bench_result {
    double seconds;
    long long bytes_used;                  /* pages in use (not free) x page size, after the run */
    long long block_bytes, interval_bytes; /* dbstat: reading_blocks and intervals, on disk */
    long long blocks, intervals;
    unsigned long long readings;
    unsigned long long full_waits; /* submits retried because the queue was full */
    long long bytes;
    struct store_stats stats;
};

/* Plays the MQTT sink acknowledging every committed reading: the published mark
 * goes to the last rowid, so the store's archive may move them. */
static int bench_publish_all(const char *db)
{
    sqlite3 *h = NULL;
    int rc = sqlite3_open(db, &h);
    if (rc == SQLITE_OK)
        sqlite3_busy_timeout(h, 5000);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h,
                          "INSERT OR REPLACE INTO meta(key, value) SELECT "
                          "'mqtt_published_rowid', coalesce(max(rowid), 0) FROM readings",
                          NULL, NULL, NULL);
    if (rc != SQLITE_OK)
        fprintf(stderr, "store_bench: %s: %s\n", db, sqlite3_errmsg(h));
    sqlite3_close(h);
    return rc == SQLITE_OK ? 0 : -1;
}

static long long bench_query(sqlite3 *h, const char *sql)
{
    sqlite3_stmt *s = NULL;
    long long v = -1;
    if (sqlite3_prepare_v2(h, sql, -1, &s, NULL) == SQLITE_OK && sqlite3_step(s) == SQLITE_ROW)
        v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

/* Pages in use, and what reading_blocks and intervals take on disk (dbstat). */
static void bench_measure(const char *db, struct bench_result *res)
{
    sqlite3 *h = NULL;
    if (sqlite3_open_v2(db, &h, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        res->bytes_used =
            (bench_query(h, "PRAGMA page_count") - bench_query(h, "PRAGMA freelist_count")) *
            bench_query(h, "PRAGMA page_size");
        res->block_bytes =
            bench_query(h, "SELECT sum(pgsize) FROM dbstat WHERE name = 'reading_blocks'");
        res->interval_bytes =
            bench_query(h, "SELECT sum(pgsize) FROM dbstat WHERE name = 'intervals'");
        res->blocks = bench_query(h, "SELECT count(*) FROM reading_blocks");
        res->intervals = bench_query(h, "SELECT count(*) FROM intervals");
    }
    sqlite3_close(h);
}

/* Waits until the writer committed everything submitted (*stats final). */
static void bench_wait_written(struct store *st, const struct bench_result *res,
                               struct store_stats *stats)
{
    struct timespec pause = {0, 200000};
    do {
        nanosleep(&pause, NULL);
        store_get_stats(st, stats);
    } while (stats->written < res->readings && stats->errors == 0);
}

/* After each simulated hour (publish_hourly): everything published, then wait (up to
 * 60 s) until the store's archive moved all but each meter's newest reading. */
static int bench_hour_done(struct store *st, const char *db, size_t meters,
                           struct bench_result *res)
{
    bench_wait_written(st, res, &res->stats);
    if (bench_publish_all(db) != 0)
        return -1;
    struct timespec pause = {0, 20000000};
    for (int i = 0; i < 3000; i++) {
        store_get_stats(st, &res->stats);
        if (res->stats.archived + meters >= res->readings)
            return 0;
        nanosleep(&pause, NULL);
    }
    fprintf(stderr, "store_bench: the archive did not catch up (%llu of %llu moved)\n",
            (unsigned long long)res->stats.archived, res->readings);
    return -1;
}

/* Writes `rounds` readings of each of `meters` meters (round robin, 60 s apart)
 * through store_submit, then store_close; times the whole. With publish_hourly,
 * every simulated hour is published and archived before the next (bench_hour_done),
 * as a running enmond with an MQTT broker does. */
static int bench_run(const char *db, size_t meters, long rounds, int publish_hourly,
                     struct bench_result *res)
{
    struct bench_city b;
    memset(res, 0, sizeof(*res));
    unlink_db(db);
    if (bench_city_init(&b, db, meters) != ENMON_OK)
        return -1;
    struct store *st = NULL;
    char msg[256] = "";
    if (store_open(&b.cfg, &st, msg, sizeof(msg)) != ENMON_OK) {
        fprintf(stderr, "store_bench: %s: %s\n", db, msg);
        bench_city_free(&b);
        return -1;
    }
    struct timespec pause = {0, 200000};
    int64_t t0 = clock_mono_ms();
    for (long k = 0; k < rounds; k++) {
        for (size_t i = 0; i < meters; i++) {
            struct reading r;
            bench_reading(&r, (uint32_t)i, k);
            while (store_submit(st, &r) == ENMON_ERR_FULL) {
                res->full_waits++;
                nanosleep(&pause, NULL);
            }
            res->readings++;
        }
        if (publish_hourly && (k + 1) % 60 == 0 && bench_hour_done(st, db, meters, res) != 0) {
            store_close(st);
            bench_city_free(&b);
            return -1;
        }
    }
    /* let the writer commit everything, so the stats are final before close */
    bench_wait_written(st, res, &res->stats);
    store_close(st);
    res->seconds = (double)(clock_mono_ms() - t0) / 1000.0;
    res->bytes = file_bytes(db);
    bench_measure(db, res);
    bench_city_free(&b);
    return 0;
}

/* The baseline of the same run, so that the writer's rate can be judged on a loaded
 * machine: SQLite alone inserting the same rows, time-ordered, into a table shaped like
 * readings (its 31 columns, no index, rowid order = time order), with one prepared
 * statement, in transactions of the writer's batch size (32,768), under the store's
 * pragmas (WAL, synchronous=NORMAL). Nothing else: no intervals, counters, rollups. */
static int bench_raw(const char *db, size_t meters, long rounds, double *seconds)
{
    unlink_db(db);
    sqlite3 *h = NULL;
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_open(db, &h);
    if (rc == SQLITE_OK)
        rc = sqlite3_exec(h,
                          "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL;"
                          "PRAGMA cache_size=-65536; PRAGMA wal_autocheckpoint=8192;"
                          "CREATE TABLE raw(device_id INTEGER NOT NULL, ts_ms INTEGER NOT NULL,"
                          " quality INTEGER NOT NULL, c4 REAL, c5 REAL, c6 REAL, c7 REAL, c8 REAL,"
                          " c9 REAL, c10 REAL, c11 REAL, c12 REAL, c13 INTEGER, c14 INTEGER,"
                          " c15 REAL, c16 REAL, c17 REAL, c18 REAL, c19 REAL, c20 REAL, c21 REAL,"
                          " c22 REAL, c23 REAL, c24 REAL, c25 REAL, c26 REAL, c27 REAL, c28 REAL,"
                          " c29 REAL, c30 REAL, c31 REAL)",
                          NULL, NULL, NULL);
    if (rc == SQLITE_OK)
        rc = sqlite3_prepare_v2(h,
                                "INSERT INTO raw VALUES(?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, "
                                "?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22, ?23, "
                                "?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31)",
                                -1, &s, NULL);
    int64_t t0 = clock_mono_ms();
    long n = 0;
    for (long k = 0; k < rounds && rc == SQLITE_OK; k++) {
        for (size_t i = 0; i < meters && rc == SQLITE_OK; i++) {
            struct reading r;
            bench_reading(&r, (uint32_t)i, k);
            if (n % 32768 == 0)
                rc = sqlite3_exec(h, "BEGIN", NULL, NULL, NULL);
            sqlite3_bind_int64(s, 1, (sqlite3_int64)i + 1);
            sqlite3_bind_int64(s, 2, r.wall_ms);
            sqlite3_bind_int(s, 3, r.quality);
            for (int m = 0; m < 28; m++) {
                if (m < MEAS__COUNT && reading_has(&r, (enum meas)m))
                    sqlite3_bind_double(s, 4 + m, r.value[m]);
                else
                    sqlite3_bind_null(s, 4 + m);
            }
            if (rc == SQLITE_OK && sqlite3_step(s) != SQLITE_DONE)
                rc = SQLITE_ERROR;
            sqlite3_reset(s);
            if (rc == SQLITE_OK && ++n % 32768 == 0)
                rc = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
        }
    }
    if (rc == SQLITE_OK && n % 32768 != 0)
        rc = sqlite3_exec(h, "COMMIT", NULL, NULL, NULL);
    *seconds = (double)(clock_mono_ms() - t0) / 1000.0;
    if (rc != SQLITE_OK)
        fprintf(stderr, "store_bench: raw baseline: %s\n", sqlite3_errmsg(h));
    sqlite3_finalize(s);
    sqlite3_close(h);
    unlink_db(db);
    return rc == SQLITE_OK ? 0 : -1;
}

/* Creates (or migrates) the database of a configuration and syncs its devices. */
static int bench_init_db(const char *config)
{
    struct enmon_config *cfg = NULL;
    struct cfg_error err;
    if (config_load(config, &cfg, &err) != ENMON_OK) {
        char buf[1024];
        config_format_error(&err, buf, sizeof(buf));
        fprintf(stderr, "store_bench: %s\n", buf);
        return 78;
    }
    struct store *st = NULL;
    char msg[256] = "";
    int rc = store_open(cfg, &st, msg, sizeof(msg));
    if (rc != ENMON_OK)
        fprintf(stderr, "store_bench: %s: %s\n", cfg->database, msg);
    store_close(st);
    config_free(cfg);
    return rc == ENMON_OK ? 0 : 1;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: store_bench [--dir DIR] [--meters N] [--rounds R] [--day-meters N]\n"
                 "                   [--throughput-only]\n"
                 "       store_bench --init-db CONFIG   (create the database of CONFIG, exit)\n"
                 "  throughput: N meters (default 10000) x R readings (default 144), 60 s apart,\n"
                 "    then the same rows through SQLite alone (the baseline of the same run)\n"
                 "  size: --day-meters meters (default 500) x 1440 readings (one day);\n"
                 "    --throughput-only leaves it out (profiling the writer)\n");
}

static int parse_args(int argc, char **argv, const char **dir, const char **init, long *meters,
                      long *rounds, long *day_meters, int *tput_only)
{
    static const struct option opts[] = {
        {"dir", required_argument, NULL, 'd'},     {"meters", required_argument, NULL, 'm'},
        {"rounds", required_argument, NULL, 'r'},  {"day-meters", required_argument, NULL, 'D'},
        {"init-db", required_argument, NULL, 'i'}, {"throughput-only", no_argument, NULL, 't'},
        {"help", no_argument, NULL, 'h'},          {NULL, 0, NULL, 0},
    };
    int c;
    while ((c = getopt_long(argc, argv, "h", opts, NULL)) != -1) {
        char *end = NULL;
        long v = 0;
        if (c == 't') {
            *tput_only = 1;
            continue;
        }
        if (c != 'd' && c != 'h' && c != 'i') {
            errno = 0;
            v = strtol(optarg, &end, 10);
            if (errno || *end || v < 1 || v > 1000000) {
                usage(stderr);
                return -1;
            }
        }
        if (c == 'd')
            *dir = optarg;
        else if (c == 'i')
            *init = optarg;
        else if (c == 'm')
            *meters = v;
        else if (c == 'r')
            *rounds = v;
        else if (c == 'D')
            *day_meters = v;
        else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 1 : -1;
        }
    }
    return optind == argc ? 0 : -1;
}

int main(int argc, char **argv)
{
    const char *dir = "/tmp", *init = NULL;
    long meters = 10000, rounds = 144, day_meters = 500;
    int tput_only = 0;
    int prc = parse_args(argc, argv, &dir, &init, &meters, &rounds, &day_meters, &tput_only);
    if (prc != 0)
        return prc > 0 ? 0 : 64;
    if (init)
        return bench_init_db(init);
    char db[CFG_PATH_MAX];
    snprintf(db, sizeof(db), "%s/store-bench.db", dir);

    struct bench_result tput, day;
    memset(&day, 0, sizeof(day));
    double raw_s = 0;
    if (bench_run(db, (size_t)meters, rounds, 0, &tput) != 0)
        return 1;
    if (bench_raw(db, (size_t)meters, rounds, &raw_s) != 0)
        return 1;
    if (!tput_only && bench_run(db, (size_t)day_meters, 1440, 1, &day) != 0)
        return 1;
    unlink_db(db);

    printf("%-44s %14s\n", "store (SQLite, enmon's writer thread)", "value");
    printf("%-44s %14llu\n", "readings written (throughput run)",
           (unsigned long long)tput.stats.written);
    printf("%-44s %7ld x %5ld\n", "  meters x readings each", meters, rounds);
    printf("%-44s %14.2f\n", "  seconds (first submit .. store_close)", tput.seconds);
    printf("%-44s %14.0f\n", "readings per second", (double)tput.readings / tput.seconds);
    printf("%-44s %14.2f\n", "  ratio to the 400,000/s target (issue 16)",
           (double)tput.readings / tput.seconds / 400000.0);
    double raw_rate = raw_s > 0 ? (double)tput.readings / raw_s : 0;
    printf("%-44s %14.0f\n", "  SQLite alone, same rows (baseline)", raw_rate);
    printf("%-44s %14.3f\n", "  ratio to SQLite alone (same run)",
           raw_rate > 0 ? (double)tput.readings / tput.seconds / raw_rate : 0.0);
    printf("%-44s %14llu\n", "  transactions", (unsigned long long)tput.stats.batches);
    printf("%-44s %14llu\n", "  submits retried (queue full)", tput.full_waits);
    printf("%-44s %14llu\n", "  batch errors", (unsigned long long)tput.stats.errors);
    if (tput_only)
        return tput.stats.written == tput.readings ? 0 : 1;
    long long dm = day_meters > 0 ? day_meters : 1;
    printf("%-44s %14lld\n", "database bytes per meter per day (file)", day.bytes / dm);
    printf("%-44s %14lld\n", "  in use (pages not free)", day.bytes_used / dm);
    printf("%-44s %14lld\n", "  archive (reading_blocks)", day.block_bytes / dm);
    printf("%-44s %14.1f\n", "    bytes per archived reading",
           day.stats.archived ? (double)day.block_bytes / (double)day.stats.archived : 0.0);
    printf("%-44s %14.1f\n", "  longest archive step stall, ms", day.stats.prune_max_ms);
    printf("%-44s %14lld\n", "  intervals", day.interval_bytes / dm);
    printf("%-44s %14.1f\n", "    bytes per interval",
           day.intervals > 0 ? (double)day.interval_bytes / (double)day.intervals : 0.0);
    printf("%-44s %14.1f\n", "  10,000 meters, MB per day",
           (double)day.bytes / (double)day_meters * 10000.0 / 1e6);
    return tput.stats.written == tput.readings && day.stats.written == day.readings ? 0 : 1;
}
