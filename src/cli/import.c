/* import.c -- `enmon import intervals` and `enmon import weather`: CSV interval data (15-minute or
 * hourly) and KMA hourly temperatures, each loaded in one all-or-nothing transaction, idempotent
 * on re-import. */
#include "import.h"
#include "caltime.h"
#include "db_open.h"
#include "err.h"
#include "kma_csv.h"
#include "store_schema.h"

#include <ctype.h>
#include <errno.h>
#include <iconv.h>
#include <math.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#define IMPORT_HEADER "device,start,wh_import,wh_export"
#define IMPORT_WH_MAX 1e9 /* Wh in one row: more is a unit mistake */
#define IMPORT_BUSY_MS 5000

/* ---- lines ---------------------------------------------------------------------------- */

static char *trim(char *s)
{
    while (isspace((unsigned char)*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && isspace((unsigned char)s[n - 1]))
        s[--n] = '\0';
    return s;
}

static int parse_wh(const char *s, double *out)
{
    if (!*s) {
        *out = 0.0;
        return 0;
    }
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v))
        return -1;
    *out = v;
    return 0;
}

static int line_fail(char *why, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static int line_fail(char *why, size_t len, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(why, len, fmt, ap);
    va_end(ap);
    return ENMON_ERR_PARSE;
}

static int check_wh(const char *field, const char *text, double *v, char *why, size_t len)
{
    if (parse_wh(text, v) != 0)
        return line_fail(why, len, "%s: '%s' is not a number", field, text);
    if (*v < 0.0)
        return line_fail(why, len, "%s: %g is negative", field, *v);
    if (*v > IMPORT_WH_MAX)
        return line_fail(why, len, "%s: %g Wh is implausible for one interval", field, *v);
    return ENMON_OK;
}

/* A start time with an offset of its own must carry the zone's: one with another offset
 * (+09:30 in a +09:00 city, Z) is an exact instant, but its rows would land on other local
 * days and quarter hours than the file says, so it is an error rather than a silent shift.
 * 0, or -1 with the reason in why. */
static int check_offset(const char *text, int64_t start_s, int offset_min, char *why, size_t whylen)
{
    char local[64], own[16], zone[16];
    size_t k = strlen(text);
    while (k > 10 && !strchr("+-Zz", text[k - 1])) /* after YYYY-MM-DD: the offset's sign */
        k--;
    if (k <= 10 || k - 1 >= sizeof(local))
        return 0; /* no offset: the zone's */
    int64_t wall_s;
    snprintf(local, sizeof(local), "%.*s", (int)(k - 1), text);
    if (caltime_parse_datetime(local, 0, &wall_s) != ENMON_OK)
        return 0;
    int off = (int)((wall_s - start_s) / CALTIME_MINUTE_S);
    if (off == offset_min)
        return 0;
    struct caltime_tm tm;
    caltime_split(start_s, offset_min, &tm);
    caltime_format_offset(off, own, sizeof(own));
    caltime_format_offset(offset_min, zone, sizeof(zone));
    line_fail(why, whylen,
              "start: '%s' has UTC offset %s, not the zone's %s (it would count as "
              "%04d-%02d-%02dT%02d:%02d%s): write the zone's times, or give the file's zone "
              "with --tz",
              text, own, zone, tm.year, tm.month, tm.mday, tm.hour, tm.min, zone);
    return -1;
}

int import_parse_line(const char *line, int offset_min, struct import_line *out, char *why,
                      size_t whylen)
{
    char buf[512];
    char *f[4];
    int n = 0;
    if (strlen(line) >= sizeof(buf))
        return line_fail(why, whylen, "line: longer than %zu characters", sizeof(buf) - 1);
    snprintf(buf, sizeof(buf), "%s", line);
    if (strchr(buf, '"'))
        return line_fail(why, whylen, "line: quoted fields are not supported");
    for (char *p = buf, *comma; n < 4; p = comma + 1) {
        comma = strchr(p, ',');
        f[n++] = p;
        if (!comma)
            break;
        *comma = '\0';
        if (n == 4)
            return line_fail(why, whylen, "line: more than 4 fields");
    }
    if (n != 4)
        return line_fail(why, whylen, "line: %d fields, expected 4 (%s)", n, IMPORT_HEADER);
    for (int i = 0; i < 4; i++)
        f[i] = trim(f[i]);
    if (!f[0][0])
        return line_fail(why, whylen, "device: empty");
    if (strlen(f[0]) >= sizeof(out->device))
        return line_fail(why, whylen, "device: longer than %zu characters",
                         sizeof(out->device) - 1);
    snprintf(out->device, sizeof(out->device), "%s", f[0]);
    if (caltime_parse_datetime(f[1], offset_min, &out->start_s) != ENMON_OK)
        return line_fail(why, whylen, "start: '%s' is not a time like 2024-06-01T10:15:00+09:00",
                         f[1]);
    if (check_offset(f[1], out->start_s, offset_min, why, whylen) != 0)
        return ENMON_ERR_PARSE;
    if (check_wh("wh_import", f[2], &out->wh_import, why, whylen) != ENMON_OK ||
        check_wh("wh_export", f[3], &out->wh_export, why, whylen) != ENMON_OK)
        return ENMON_ERR_PARSE;
    return ENMON_OK;
}

/* ---- the file in memory ------------------------------------------------------------------ */

struct imp_row {
    uint32_t dev; /* index into names */
    uint32_t line;
    int64_t start_s;
    double wh_import, wh_export;
};

struct imp_file {
    const char *name;
    FILE *errs;
    struct imp_row *rows;
    size_t nrows, cap;
    char **names; /* device keys, in order of appearance */
    size_t nnames, names_cap;
    uint32_t *slots; /* open-addressing hash of names: index + 1, 0 empty */
    size_t nslots;
    size_t bad;
};

static void imp_bad(struct imp_file *f, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void imp_bad(struct imp_file *f, size_t line, const char *fmt, ...)
{
    if (f->bad++ >= IMPORT_ERRORS_SHOWN || !f->errs)
        return;
    va_list ap;
    fprintf(f->errs, "%s:%zu: ", f->name, line);
    va_start(ap, fmt);
    vfprintf(f->errs, fmt, ap);
    va_end(ap);
    fputc('\n', f->errs);
}

static uint64_t hash_str(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ull;
    return h;
}

static int imp_rehash(struct imp_file *f)
{
    size_t n = f->nslots ? f->nslots * 2 : 256;
    uint32_t *slots = calloc(n, sizeof(*slots));
    if (!slots)
        return -1;
    for (size_t i = 0; i < f->nnames; i++) {
        size_t k = hash_str(f->names[i]) & (n - 1);
        while (slots[k])
            k = (k + 1) & (n - 1);
        slots[k] = (uint32_t)i + 1;
    }
    free(f->slots);
    f->slots = slots;
    f->nslots = n;
    return 0;
}

/* Index of device key s, added when new; -1 when out of memory. */
static long imp_device(struct imp_file *f, const char *s)
{
    if (2 * (f->nnames + 1) > f->nslots && imp_rehash(f) != 0)
        return -1;
    size_t k = hash_str(s) & (f->nslots - 1);
    for (; f->slots[k]; k = (k + 1) & (f->nslots - 1))
        if (strcmp(f->names[f->slots[k] - 1], s) == 0)
            return (long)f->slots[k] - 1;
    if (f->nnames == f->names_cap) {
        size_t cap = f->names_cap ? 2 * f->names_cap : 64;
        char **names = realloc(f->names, cap * sizeof(*names));
        if (!names)
            return -1;
        f->names = names;
        f->names_cap = cap;
    }
    if (!(f->names[f->nnames] = strdup(s)))
        return -1;
    f->slots[k] = (uint32_t)++f->nnames;
    return (long)f->nnames - 1;
}

static int imp_add(struct imp_file *f, const struct import_line *l, size_t line)
{
    long dev = imp_device(f, l->device);
    if (dev < 0)
        return -1;
    if (f->nrows == f->cap) {
        size_t cap = f->cap ? 2 * f->cap : 4096;
        struct imp_row *rows = realloc(f->rows, cap * sizeof(*rows));
        if (!rows)
            return -1;
        f->rows = rows;
        f->cap = cap;
    }
    f->rows[f->nrows++] = (struct imp_row){.dev = (uint32_t)dev,
                                           .line = (uint32_t)line,
                                           .start_s = l->start_s,
                                           .wh_import = l->wh_import,
                                           .wh_export = l->wh_export};
    return 0;
}

static void imp_free(struct imp_file *f)
{
    for (size_t i = 0; i < f->nnames; i++)
        free(f->names[i]);
    free(f->names);
    free(f->slots);
    free(f->rows);
}

static int imp_is_header(const char *line)
{
    char buf[128];
    size_t j = 0;
    if ((unsigned char)line[0] == 0xEF && (unsigned char)line[1] == 0xBB &&
        (unsigned char)line[2] == 0xBF)
        line += 3;
    for (; *line && j + 1 < sizeof(buf); line++)
        if (!isspace((unsigned char)*line))
            buf[j++] = *line;
    buf[j] = '\0';
    return strcmp(buf, IMPORT_HEADER) == 0;
}

/* Reads every line; returns ENMON_OK or ENMON_ERR_NOMEM (bad lines are counted in f->bad). */
static int imp_read(struct imp_file *f, FILE *in, int offset_min)
{
    char *line = NULL, why[256];
    size_t cap = 0, no = 0;
    int header = 0, rc = ENMON_OK;
    while (rc == ENMON_OK && getline(&line, &cap, in) >= 0) {
        no++;
        char *t = trim(line);
        if (!header) {
            header = 1;
            if (!imp_is_header(t))
                imp_bad(f, no, "header: expected '%s'", IMPORT_HEADER);
            continue;
        }
        if (!*t || *t == '#')
            continue;
        struct import_line l;
        if (import_parse_line(t, offset_min, &l, why, sizeof(why)) != ENMON_OK)
            imp_bad(f, no, "%s", why);
        else if (imp_add(f, &l, no) != 0)
            rc = ENMON_ERR_NOMEM;
    }
    free(line);
    if (!header)
        imp_bad(f, 1, "header: empty file, expected '%s'", IMPORT_HEADER);
    return rc;
}

static int row_cmp(const void *a, const void *b)
{
    const struct imp_row *x = a, *y = b;
    if (x->dev != y->dev)
        return x->dev < y->dev ? -1 : 1;
    if (x->start_s != y->start_s)
        return x->start_s < y->start_s ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Rows [a, b) of one device (sorted): 1 when hourly, 0 when 15-minute. */
static int imp_hourly(const struct imp_row *r, size_t a, size_t b, enum import_step step)
{
    if (step != IMPORT_STEP_AUTO)
        return step == IMPORT_STEP_1H;
    if (b - a < 2)
        return 0;
    for (size_t i = a; i < b; i++)
        if (r[i].start_s % CALTIME_INTERVAL_S != 0 ||
            (i > a && r[i].start_s - r[i - 1].start_s < CALTIME_HOUR_S))
            return 0;
    return 1;
}

/* Rows [a, b) of one device (sorted) taken as 15-minute by the auto step: when they are
 * less than an hour apart somewhere (15-minute rows) and three in a row are exactly an hour
 * apart elsewhere (hourly rows), the hourly rows would each put an hour's energy into one
 * interval. The row (in time) that brings the second kind is reported. */
static void imp_check_mixed(struct imp_file *f, size_t a, size_t b)
{
    const struct imp_row *r = f->rows;
    size_t quarter = 0, hour = 0; /* the row that first showed each kind; 0: not yet */
    for (size_t i = a + 1; i < b && !(quarter && hour); i++) {
        int64_t gap = r[i].start_s - r[i - 1].start_s;
        if (!quarter && gap > 0 && gap < CALTIME_HOUR_S && r[i].start_s % CALTIME_INTERVAL_S == 0 &&
            r[i - 1].start_s % CALTIME_INTERVAL_S == 0)
            quarter = i;
        else if (!hour && gap == CALTIME_HOUR_S && i >= a + 2 &&
                 r[i - 1].start_s - r[i - 2].start_s == CALTIME_HOUR_S)
            hour = i;
    }
    if (!quarter || !hour)
        return;
    imp_bad(f, r[quarter > hour ? quarter : hour].line,
            "start: device %s mixes hourly rows (lines %u, %u, %u are an hour apart) and "
            "15-minute rows (line %u is %lld minutes after line %u): import them as separate "
            "files, or force one with --step",
            f->names[r[a].dev], r[hour - 2].line, r[hour - 1].line, r[hour].line, r[quarter].line,
            (long long)(r[quarter].start_s - r[quarter - 1].start_s) / 60, r[quarter - 1].line);
}

/* Checks alignment and duplicates of one device's rows (and, for the auto step, that
 * they are of one kind); returns 1 when hourly. */
static int imp_check_device(struct imp_file *f, size_t a, size_t b, enum import_step step)
{
    int hourly = imp_hourly(f->rows, a, b, step);
    if (step == IMPORT_STEP_AUTO && !hourly)
        imp_check_mixed(f, a, b);
    for (size_t i = a; i < b; i++) {
        const struct imp_row *r = &f->rows[i];
        if (r->start_s % CALTIME_INTERVAL_S != 0)
            imp_bad(f, r->line, "start: not on a 15-minute boundary (device %s)", f->names[r->dev]);
        else if (hourly && i > a && r->start_s - f->rows[i - 1].start_s < 3600)
            imp_bad(f, r->line, "start: hourly rows of device %s overlap (line %u)",
                    f->names[r->dev], f->rows[i - 1].line);
        else if (i > a && r->start_s == f->rows[i - 1].start_s)
            imp_bad(f, r->line, "start: duplicates line %u (device %s)", f->rows[i - 1].line,
                    f->names[r->dev]);
    }
    return hourly;
}

/* ---- the database ------------------------------------------------------------------------ */

static int imp_fail(sqlite3 *db, const char *what, char *msg, size_t msglen)
{
    snprintf(msg, msglen, "%s: %s", what, db ? sqlite3_errmsg(db) : "out of memory");
    return ENMON_ERR_DB;
}

int import_open(const char *path, sqlite3 **out, char *msg, size_t msglen)
{
    return db_open(path, DB_READWRITE, IMPORT_BUSY_MS, out, msg, msglen);
}

struct imp_db {
    sqlite3 *db;
    sqlite3_stmt *dev, *put, *day;
    int day_off_min; /* offset of the daily rollups, when the file has them */
    int has_daily;
};

static void imp_db_close(struct imp_db *w)
{
    sqlite3_finalize(w->dev);
    sqlite3_finalize(w->put);
    sqlite3_finalize(w->day);
}

static int imp_db_prepare(struct imp_db *w, char *msg, size_t msglen)
{
    static const char put[] =
        "INSERT INTO intervals(device_id, start_s, wh_import, wh_export, samples) "
        "VALUES(?1, ?2, ?3, ?4, 0) ON CONFLICT(device_id, start_s) DO UPDATE SET "
        "wh_import = excluded.wh_import, wh_export = excluded.wh_export";
    static const char day[] =
        "INSERT INTO daily(device_id, day_s, wh_import, wh_export, samples) "
        "SELECT ?1, ?2, COALESCE(SUM(wh_import), 0), COALESCE(SUM(wh_export), 0), "
        "COALESCE(SUM(samples), 0) FROM intervals WHERE device_id = ?1 AND start_s >= ?2 "
        "AND start_s < ?2 + 86400 ON CONFLICT(device_id, day_s) DO UPDATE SET "
        "wh_import = excluded.wh_import, wh_export = excluded.wh_export, "
        "samples = excluded.samples";
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(w->db, "SELECT id FROM devices WHERE key = ?1", -1, &w->dev, NULL) ||
        sqlite3_prepare_v2(w->db, put, -1, &w->put, NULL))
        return imp_fail(w->db, "prepare", msg, msglen);
    if (sqlite3_prepare_v2(w->db, "SELECT value FROM meta WHERE key = 'daily_offset_min'", -1, &st,
                           NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW && sqlite3_column_type(st, 0) == SQLITE_INTEGER) {
        w->day_off_min = sqlite3_column_int(st, 0);
        w->has_daily = 1;
    }
    sqlite3_finalize(st);
    if (w->has_daily && sqlite3_prepare_v2(w->db, day, -1, &w->day, NULL) != SQLITE_OK)
        return imp_fail(w->db, "prepare daily", msg, msglen);
    return ENMON_OK;
}

/* The database id of a device key: >0, 0 unknown, -1 error. */
static int64_t imp_device_id(struct imp_db *w, const char *key)
{
    sqlite3_bind_text(w->dev, 1, key, -1, SQLITE_STATIC);
    int rc = sqlite3_step(w->dev);
    int64_t id = rc == SQLITE_ROW ? sqlite3_column_int64(w->dev, 0) : rc == SQLITE_DONE ? 0 : -1;
    sqlite3_reset(w->dev);
    return id;
}

static int imp_put(struct imp_db *w, int64_t id, int64_t start, double imp, double exp_wh)
{
    sqlite3_bind_int64(w->put, 1, id);
    sqlite3_bind_int64(w->put, 2, start);
    sqlite3_bind_double(w->put, 3, imp);
    sqlite3_bind_double(w->put, 4, exp_wh);
    int rc = sqlite3_step(w->put);
    sqlite3_reset(w->put);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int64_t imp_day(const struct imp_db *w, int64_t ts)
{
    return caltime_day_start(ts, w->day_off_min);
}

static int imp_rollup(struct imp_db *w, int64_t id, int64_t day_s)
{
    if (!w->has_daily)
        return 0;
    sqlite3_bind_int64(w->day, 1, id);
    sqlite3_bind_int64(w->day, 2, day_s);
    int rc = sqlite3_step(w->day);
    sqlite3_reset(w->day);
    return rc == SQLITE_DONE ? 0 : -1;
}

/* Writes one device's rows [a, b); returns 0 or -1 (database error). */
static int imp_write_device(struct imp_db *w, const struct imp_file *f, size_t a, size_t b,
                            int64_t id, int hourly, struct import_result *res)
{
    int64_t last_day = INT64_MIN;
    int parts = hourly ? 4 : 1;
    for (size_t i = a; i < b; i++) {
        const struct imp_row *r = &f->rows[i];
        for (int k = 0; k < parts; k++) {
            int64_t t = r->start_s + CALTIME_INTERVAL_S * k;
            if (imp_put(w, id, t, r->wh_import / parts, r->wh_export / parts) != 0)
                return -1;
            res->intervals++;
            res->first_s = res->intervals == 1 || t < res->first_s ? t : res->first_s;
            res->last_s = t > res->last_s ? t : res->last_s;
            int64_t day = imp_day(w, t);
            if (day != last_day && last_day != INT64_MIN && imp_rollup(w, id, last_day) != 0)
                return -1;
            last_day = day;
        }
    }
    return last_day == INT64_MIN ? 0 : imp_rollup(w, id, last_day);
}

/* Validates devices and writes everything; bad lines are counted in f->bad. */
static int imp_write(struct imp_db *w, struct imp_file *f, enum import_step step,
                     struct import_result *res, char *msg, size_t msglen)
{
    for (size_t a = 0, b; a < f->nrows; a = b) {
        for (b = a + 1; b < f->nrows && f->rows[b].dev == f->rows[a].dev;)
            b++;
        const char *key = f->names[f->rows[a].dev];
        int hourly = imp_check_device(f, a, b, step);
        int64_t id = imp_device_id(w, key);
        if (id < 0)
            return imp_fail(w->db, "device lookup", msg, msglen);
        if (id == 0) {
            imp_bad(f, f->rows[a].line,
                    "device: unknown device '%s' (%zu lines; not in the "
                    "database: add it to the config and run enmond once)",
                    key, b - a);
            continue;
        }
        res->devices++;
        res->hourly_devices += hourly;
        if (f->bad == 0 && imp_write_device(w, f, a, b, id, hourly, res) != 0)
            return imp_fail(w->db, "write", msg, msglen);
    }
    return ENMON_OK;
}

static int imp_transaction(struct imp_db *w, struct imp_file *f, enum import_step step,
                           struct import_result *res, char *msg, size_t msglen)
{
    if (sqlite3_exec(w->db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK)
        return imp_fail(w->db, "begin", msg, msglen);
    int rc = imp_write(w, f, step, res, msg, msglen);
    if (rc == ENMON_OK && f->bad == 0 &&
        sqlite3_exec(w->db, "COMMIT", NULL, NULL, NULL) == SQLITE_OK)
        return ENMON_OK;
    if (rc == ENMON_OK && f->bad == 0)
        rc = imp_fail(w->db, "commit", msg, msglen);
    sqlite3_exec(w->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

int import_intervals(sqlite3 *db, FILE *in, const char *name, int offset_min, enum import_step step,
                     FILE *errs, struct import_result *res, char *msg, size_t msglen)
{
    struct imp_file f = {.name = name, .errs = errs};
    struct imp_db w = {.db = db};
    memset(res, 0, sizeof(*res));
    msg[0] = '\0';
    int rc = imp_read(&f, in, offset_min);
    if (rc == ENMON_OK && f.nrows > 0)
        qsort(f.rows, f.nrows, sizeof(*f.rows), row_cmp);
    if (rc == ENMON_OK)
        rc = imp_db_prepare(&w, msg, msglen);
    if (rc == ENMON_OK)
        rc = imp_transaction(&w, &f, step, res, msg, msglen);
    res->rows = f.nrows;
    res->bad_lines = f.bad;
    if (rc == ENMON_OK && f.bad > 0) {
        if (f.bad > IMPORT_ERRORS_SHOWN && errs)
            fprintf(errs, "%s: ... and %zu more bad lines\n", name, f.bad - IMPORT_ERRORS_SHOWN);
        snprintf(msg, msglen, "%s: %zu bad lines; nothing imported", name, f.bad);
        rc = ENMON_ERR_PARSE;
    }
    if (rc != ENMON_OK) {
        res->intervals = 0;
        res->devices = res->hourly_devices = 0;
    }
    if (rc == ENMON_ERR_NOMEM)
        snprintf(msg, msglen, "%s: out of memory", name);
    imp_db_close(&w);
    imp_free(&f);
    return rc;
}

/* ---- weather: the KMA ASOS hourly CSV ------------------------------------------------------ */

#define WEATHER_FILE_MAX (1024L * 1024 * 1024) /* 1 GiB: decades of every ASOS station */

/* Reads all of in into a NUL-terminated buffer. ENMON_OK, ENMON_ERR_PARSE (too big), ENMON_ERR_IO
 * or ENMON_ERR_NOMEM (msg). */
static int wx_slurp(FILE *in, char **out, size_t *len, char *msg, size_t msglen, const char *name)
{
    size_t cap = 1 << 16, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, in);
        if (n < cap - 1)
            break;
        if (cap > (size_t)WEATHER_FILE_MAX) {
            snprintf(msg, msglen, "%s: larger than %ld MiB", name, WEATHER_FILE_MAX >> 20);
            free(buf);
            return ENMON_ERR_PARSE;
        }
        char *p = realloc(buf, cap * 2);
        if (!p)
            free(buf);
        buf = p;
        cap *= 2;
    }
    if (!buf) {
        snprintf(msg, msglen, "%s: out of memory", name);
        return ENMON_ERR_NOMEM;
    }
    if (ferror(in)) {
        snprintf(msg, msglen, "%s: read error", name);
        free(buf);
        return ENMON_ERR_IO;
    }
    buf[n] = '\0';
    *out = buf;
    *len = n;
    return ENMON_OK;
}

/* CP949 -> UTF-8 with glibc's iconv. ENMON_OK, or ENMON_ERR_PARSE with "NAME:LINE: ..." in
 * msg for a byte sequence CP949 does not have. */
static int wx_from_cp949(const char *in, size_t len, char **out, size_t *outlen, const char *name,
                         char *msg, size_t msglen)
{
    iconv_t cd = iconv_open("UTF-8", "CP949");
    if (cd == (iconv_t)-1) {
        snprintf(msg, msglen, "%s: iconv cannot convert CP949: %s", name, strerror(errno));
        return ENMON_ERR_PARSE;
    }
    size_t cap = len / 2 * 3 + len % 2 + 16; /* 2 CP949 bytes -> at most 3 UTF-8 bytes */
    char *buf = malloc(cap), *src = (char *)in, *dst = buf;
    size_t left = len, room = cap - 1;
    int rc = buf ? ENMON_OK : ENMON_ERR_NOMEM;
    if (buf && iconv(cd, &src, &left, &dst, &room) == (size_t)-1) {
        size_t line = 1;
        for (const char *p = in; p < src; p++)
            line += *p == '\n';
        snprintf(msg, msglen, "%s:%zu: encoding: neither UTF-8 nor CP949 (byte 0x%02X)", name,
                 line, (unsigned char)*src);
        rc = ENMON_ERR_PARSE;
    }
    iconv_close(cd);
    if (rc != ENMON_OK) {
        free(buf);
        return rc;
    }
    *dst = '\0';
    *out = buf;
    *outlen = (size_t)(dst - buf);
    return ENMON_OK;
}

static int wx_stations(const struct kma_data *d, struct import_weather_result *res)
{
    res->stations = calloc(d->stations ? d->stations : 1, sizeof(*res->stations));
    if (!res->stations)
        return ENMON_ERR_NOMEM;
    for (size_t i = 0; i < d->nrows; i++) {
        const struct kma_row *r = &d->rows[i];
        if (i == 0 || d->rows[i - 1].station != r->station)
            res->stations[res->nstations++] =
                (struct import_station){.station = r->station, .first_s = r->ts_s};
        struct import_station *s = &res->stations[res->nstations - 1];
        s->hours++;
        s->last_s = r->ts_s;
        if (r->line == 0)
            s->gaps++;
        else if (isnan(r->temp_c))
            s->empty++;
    }
    return ENMON_OK;
}

static int wx_write(sqlite3 *db, const struct kma_data *d, char *msg, size_t msglen)
{
    /* the file's hours replace stored ones; a gap never erases a stored value */
    static const char put[] = "INSERT INTO weather(station, ts_s, temp_c) VALUES(?1, ?2, ?3) "
                              "ON CONFLICT(station, ts_s) DO UPDATE SET temp_c = excluded.temp_c";
    static const char gap[] = "INSERT INTO weather(station, ts_s, temp_c) VALUES(?1, ?2, NULL) "
                              "ON CONFLICT(station, ts_s) DO NOTHING";
    sqlite3_stmt *st[2] = {NULL, NULL};
    if (sqlite3_prepare_v2(db, put, -1, &st[0], NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(db, gap, -1, &st[1], NULL) != SQLITE_OK ||
        sqlite3_exec(db, "BEGIN IMMEDIATE", NULL, NULL, NULL) != SQLITE_OK) {
        int rc = imp_fail(db, "weather", msg, msglen);
        sqlite3_finalize(st[0]);
        sqlite3_finalize(st[1]);
        return rc;
    }
    int ok = 1;
    for (size_t i = 0; ok && i < d->nrows; i++) {
        const struct kma_row *r = &d->rows[i];
        sqlite3_stmt *s = st[r->line == 0];
        sqlite3_bind_int(s, 1, r->station);
        sqlite3_bind_int64(s, 2, r->ts_s);
        if (r->line != 0 && !isnan(r->temp_c))
            sqlite3_bind_double(s, 3, r->temp_c);
        else if (r->line != 0)
            sqlite3_bind_null(s, 3);
        ok = sqlite3_step(s) == SQLITE_DONE;
        sqlite3_reset(s);
    }
    int rc = ENMON_OK;
    if (!ok || sqlite3_exec(db, "COMMIT", NULL, NULL, NULL) != SQLITE_OK) {
        rc = imp_fail(db, "write weather", msg, msglen);
        sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    }
    sqlite3_finalize(st[0]);
    sqlite3_finalize(st[1]);
    return rc;
}

static int wx_parse(const char *text, size_t len, const char *name, FILE *errs,
                    struct kma_data *d, char *msg, size_t msglen)
{
    if (kma_csv_parse(text, len, d) != 0) {
        snprintf(msg, msglen, "%s: out of memory", name);
        return ENMON_ERR_NOMEM;
    }
    for (size_t i = 0; errs && i < d->nerrors; i++)
        fprintf(errs, "%s:%u: %s\n", name, (unsigned)d->errors[i].line, d->errors[i].why);
    if (d->nbad == 0)
        return ENMON_OK;
    if (errs && d->nbad > d->nerrors)
        fprintf(errs, "%s: ... and %zu more bad lines\n", name, d->nbad - d->nerrors);
    snprintf(msg, msglen, "%s: %zu bad lines; nothing imported", name, d->nbad);
    return ENMON_ERR_PARSE;
}

int import_weather(sqlite3 *db, FILE *in, const char *name, FILE *errs,
                   struct import_weather_result *res, char *msg, size_t msglen)
{
    memset(res, 0, sizeof(*res));
    msg[0] = '\0';
    char *raw = NULL, *utf8 = NULL;
    size_t len = 0, ulen = 0;
    int rc = wx_slurp(in, &raw, &len, msg, msglen, name);
    if (rc != ENMON_OK)
        return rc;
    enum kma_encoding enc = kma_csv_detect(raw, len);
    res->encoding = kma_encoding_name(enc);
    if (enc == KMA_ENC_CP949)
        rc = wx_from_cp949(raw, len, &utf8, &ulen, name, msg, msglen);
    struct kma_data d;
    memset(&d, 0, sizeof(d));
    if (rc == ENMON_OK)
        rc = utf8 ? wx_parse(utf8, ulen, name, errs, &d, msg, msglen)
                  : wx_parse(raw, len, name, errs, &d, msg, msglen);
    res->lines = d.lines;
    res->bad_lines = d.nbad;
    if (rc == ENMON_OK)
        rc = wx_stations(&d, res);
    if (rc == ENMON_OK)
        rc = store_schema_migrate(db, msg, msglen); /* the weather table is schema 8 */
    if (rc == ENMON_OK)
        rc = wx_write(db, &d, msg, msglen);
    if (rc == ENMON_OK) {
        res->hours = d.nrows;
        res->missing = d.empty + d.gaps;
    } else if (rc == ENMON_ERR_NOMEM && !msg[0]) {
        snprintf(msg, msglen, "%s: out of memory", name);
    }
    kma_data_free(&d);
    free(utf8);
    free(raw);
    return rc;
}

void import_weather_free(struct import_weather_result *res)
{
    free(res->stations);
    res->stations = NULL;
    res->nstations = 0;
}
