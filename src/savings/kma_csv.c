/* kma_csv.c -- the KMA ASOS hourly CSV (data.kma.go.kr): encoding, columns by name, hourly
 * temperatures per station with the missing hours filled in (pure). */
#include "kma_csv.h"
#include "caltime.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define KMA_FIELDS_MAX 64 /* the portal's full hourly table has about 40 columns */
#define KMA_FIELD_LEN 96

static const char kma_bom[] = "\xEF\xBB\xBF";

/* ---- encoding ------------------------------------------------------------------------- */

/* Length of the valid UTF-8 sequence at p (at most n bytes), 0 when invalid. */
static size_t utf8_seq(const unsigned char *p, size_t n)
{
    size_t len = p[0] < 0x80             ? 1
                 : (p[0] & 0xE0) == 0xC0 ? 2
                 : (p[0] & 0xF0) == 0xE0 ? 3
                 : (p[0] & 0xF8) == 0xF0 ? 4
                                         : 0;
    if (len == 0 || len > n || (len == 2 && p[0] < 0xC2) || (len == 4 && p[0] > 0xF4))
        return 0;
    for (size_t i = 1; i < len; i++)
        if ((p[i] & 0xC0) != 0x80)
            return 0;
    if ((len == 3 && p[0] == 0xE0 && p[1] < 0xA0) || (len == 4 && p[0] == 0xF0 && p[1] < 0x90))
        return 0; /* overlong */
    return len;
}

enum kma_encoding kma_csv_detect(const char *buf, size_t len)
{
    if (len >= 3 && memcmp(buf, kma_bom, 3) == 0)
        return KMA_ENC_UTF8_BOM;
    const unsigned char *p = (const unsigned char *)buf;
    for (size_t i = 0; i < len;) {
        size_t k = utf8_seq(p + i, len - i);
        if (k == 0)
            return KMA_ENC_CP949;
        i += k;
    }
    return KMA_ENC_UTF8;
}

const char *kma_encoding_name(enum kma_encoding e)
{
    return e == KMA_ENC_UTF8_BOM ? "UTF-8 with BOM" : e == KMA_ENC_CP949 ? "CP949" : "UTF-8";
}

/* ---- fields ---------------------------------------------------------------------------- */

struct kma_line {
    char f[KMA_FIELDS_MAX][KMA_FIELD_LEN];
    int n;
};

static void trim_copy(char *dst, const char *s, size_t n)
{
    while (n > 0 && (*s == ' ' || *s == '\t'))
        s++, n--;
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        n--;
    if (n >= KMA_FIELD_LEN)
        n = KMA_FIELD_LEN - 1;
    memcpy(dst, s, n);
    dst[n] = '\0';
}

/* Splits [s, e) at commas; a field in double quotes may hold commas ("" is a quote). */
static void split_line(const char *s, const char *e, struct kma_line *l)
{
    l->n = 0;
    while (l->n < KMA_FIELDS_MAX) {
        char *out = l->f[l->n++];
        const char *p = s;
        while (p < e && (*p == ' ' || *p == '\t'))
            p++;
        if (p < e && *p == '"') {
            size_t j = 0;
            for (p++; p < e; p++) {
                if (*p == '"' && p + 1 < e && p[1] == '"')
                    p++;
                else if (*p == '"')
                    break;
                if (j + 1 < KMA_FIELD_LEN)
                    out[j++] = *p;
            }
            out[j] = '\0';
            while (p < e && *p != ',')
                p++;
        } else {
            while (p < e && *p != ',')
                p++;
            trim_copy(out, s, (size_t)(p - s));
        }
        if (p >= e)
            return;
        s = p + 1;
    }
}

/* ---- values ---------------------------------------------------------------------------- */

static int read_uint(const char **s, int min_digits, int max_digits, int *out)
{
    int v = 0, n = 0;
    while (**s >= '0' && **s <= '9' && n < max_digits) {
        v = v * 10 + (**s - '0');
        (*s)++;
        n++;
    }
    *out = v;
    return n >= min_digits ? 0 : -1;
}

int kma_csv_time(const char *s, int64_t *out_s, const char **why)
{
    int y, mo, d, h, mi, sec = 0;
    const char *p = s;
    *why = "일시: expected a KST time like 2024-01-31 13:00";
    if (read_uint(&p, 4, 4, &y) || *p++ != '-' || read_uint(&p, 2, 2, &mo) || *p++ != '-' ||
        read_uint(&p, 2, 2, &d) || *p++ != ' ' || read_uint(&p, 1, 2, &h) || *p++ != ':' ||
        read_uint(&p, 2, 2, &mi))
        return -1;
    if (*p == ':' && (p++, read_uint(&p, 2, 2, &sec)))
        return -1;
    if (*p != '\0')
        return -1;
    if (y < 1900 || mo < 1 || mo > 12 || d < 1 || d > caltime_days_in_month(y, mo) || h > 23 ||
        mi > 59 || sec > 59) {
        *why = "일시: not a real date and time";
        return -1;
    }
    if (mi != 0 || sec != 0) {
        *why = "일시: not on the hour (hourly data has minutes 00)";
        return -1;
    }
    *out_s =
        caltime_days_from_civil(y, mo, d) * CALTIME_DAY_S + h * CALTIME_HOUR_S - KMA_KST_OFFSET_S;
    return 0;
}

static int read_station(const char *s, int32_t *out)
{
    char *end;
    if (*s < '0' || *s > '9')
        return -1;
    long v = strtol(s, &end, 10);
    if (*end || v < 1 || v > KMA_STATION_MAX)
        return -1;
    *out = (int32_t)v;
    return 0;
}

static int read_temp(const char *s, double *out)
{
    if (!*s) {
        *out = NAN;
        return 0;
    }
    char *end;
    double v = strtod(s, &end);
    if (*end || !isfinite(v) || v < KMA_TEMP_MIN_C || v > KMA_TEMP_MAX_C)
        return -1;
    *out = v;
    return 0;
}

/* ---- the file -------------------------------------------------------------------------- */

struct kma_cols {
    int station, when, temp, need; /* need: fields a data line must have */
};

static void add_error(struct kma_data *d, size_t line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void add_error(struct kma_data *d, size_t line, const char *fmt, ...)
{
    if (d->nerrors < KMA_ERRORS_MAX) {
        struct kma_error *e = &d->errors[d->nerrors++];
        e->line = (uint32_t)line;
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(e->why, sizeof(e->why), fmt, ap);
        va_end(ap);
    }
    d->nbad++;
}

static int is_temp_header(const char *s)
{
    /* 기온(°C) with the degree sign and C, or the one-character ℃ */
    return strcmp(s, "기온(°C)") == 0 || strcmp(s, "기온(℃)") == 0 || strcmp(s, "기온(°c)") == 0;
}

static int find_cols(const struct kma_line *l, struct kma_cols *c)
{
    c->station = c->when = c->temp = -1;
    for (int i = 0; i < l->n; i++) {
        if (c->station < 0 && strcmp(l->f[i], "지점") == 0)
            c->station = i;
        else if (c->when < 0 && strcmp(l->f[i], "일시") == 0)
            c->when = i;
        else if (c->temp < 0 && is_temp_header(l->f[i]))
            c->temp = i;
    }
    c->need = 1 + (c->station > c->when ? c->station : c->when);
    c->need = c->temp + 1 > c->need ? c->temp + 1 : c->need;
    return c->station >= 0 && c->when >= 0 && c->temp >= 0 ? 0 : -1;
}

static int push_row(struct kma_data *d, const struct kma_row *r)
{
    if (d->nrows == d->cap) {
        size_t cap = d->cap ? d->cap * 2 : 1024;
        struct kma_row *p = realloc(d->rows, cap * sizeof(*p));
        if (!p)
            return -1;
        d->rows = p;
        d->cap = cap;
    }
    d->rows[d->nrows++] = *r;
    return 0;
}

static void parse_data_line(struct kma_data *d, const struct kma_line *l, const struct kma_cols *c,
                            size_t no, int *nomem)
{
    struct kma_row r = {.line = (uint32_t)no};
    const char *why;
    if (l->n < c->need) {
        add_error(d, no, "line: %d fields, the header has %d or more", l->n, c->need);
        return;
    }
    if (read_station(l->f[c->station], &r.station) != 0) {
        add_error(d, no, "지점: '%s' is not a station number (1..%ld)", l->f[c->station],
                  KMA_STATION_MAX);
        return;
    }
    if (kma_csv_time(l->f[c->when], &r.ts_s, &why) != 0) {
        add_error(d, no, "%s, not '%s'", why, l->f[c->when]);
        return;
    }
    if (read_temp(l->f[c->temp], &r.temp_c) != 0) {
        add_error(d, no, "기온(°C): '%s' is not a temperature in %.0f..%.0f C", l->f[c->temp],
                  KMA_TEMP_MIN_C, KMA_TEMP_MAX_C);
        return;
    }
    d->lines++;
    if (isnan(r.temp_c))
        d->empty++;
    if (push_row(d, &r) != 0)
        *nomem = 1;
}

static int row_cmp(const void *a, const void *b)
{
    const struct kma_row *x = a, *y = b;
    if (x->station != y->station)
        return x->station < y->station ? -1 : 1;
    if (x->ts_s != y->ts_s)
        return x->ts_s < y->ts_s ? -1 : 1;
    return x->line < y->line ? -1 : x->line > y->line;
}

/* Checks duplicates and counts the gaps of the sorted rows; fills the gaps when fill. */
static int fill_gaps(struct kma_data *d)
{
    size_t n = d->nrows, extra = 0;
    for (size_t i = 0; i < n; i++) {
        const struct kma_row *r = &d->rows[i], *p = i ? &d->rows[i - 1] : NULL;
        if (!p || p->station != r->station) {
            d->stations++;
            continue;
        }
        if (r->ts_s == p->ts_s)
            add_error(d, r->line, "일시: station %d hour given twice (line %u)", (int)r->station,
                      p->line);
        else if ((r->ts_s - p->ts_s) / CALTIME_HOUR_S - 1 > KMA_GAP_MAX_H)
            add_error(d, r->line, "일시: %lld hours after line %u of station %d",
                      (long long)((r->ts_s - p->ts_s) / CALTIME_HOUR_S), p->line, (int)r->station);
        else
            extra += (size_t)((r->ts_s - p->ts_s) / CALTIME_HOUR_S - 1);
    }
    d->gaps = extra;
    if (d->nbad > 0 || extra == 0)
        return 0;
    struct kma_row *rows = malloc((n + extra) * sizeof(*rows));
    if (!rows)
        return -1;
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct kma_row *r = &d->rows[i];
        if (i > 0 && d->rows[i - 1].station == r->station)
            for (int64_t t = d->rows[i - 1].ts_s + CALTIME_HOUR_S; t < r->ts_s; t += CALTIME_HOUR_S)
                rows[k++] = (struct kma_row){.station = r->station, .ts_s = t, .temp_c = NAN};
        rows[k++] = *r;
    }
    free(d->rows);
    d->rows = rows;
    d->nrows = d->cap = k;
    return 0;
}

int kma_csv_parse(const char *text, size_t len, struct kma_data *out)
{
    memset(out, 0, sizeof(*out));
    struct kma_line *l = malloc(sizeof(*l));
    if (!l)
        return -1;
    if (len >= 3 && memcmp(text, kma_bom, 3) == 0)
        text += 3, len -= 3;
    const char *s = text, *end = text + len;
    struct kma_cols cols = {-1, -1, -1, 0};
    int header = 0, nomem = 0;
    for (size_t no = 1; s < end && !nomem; no++) {
        const char *e = memchr(s, '\n', (size_t)(end - s));
        e = e ? e : end;
        const char *t = s;
        while (t < e && (*t == ' ' || *t == '\t' || *t == '\r'))
            t++;
        if (t < e) {
            split_line(s, e, l);
            if (!header) {
                header = 1;
                if (find_cols(l, &cols) != 0) {
                    add_error(out, no,
                              "header: needs the columns 지점, 일시 and 기온(°C) "
                              "(the KMA ASOS hourly CSV)");
                    break;
                }
            } else {
                parse_data_line(out, l, &cols, no, &nomem);
            }
        }
        s = e + 1;
    }
    free(l);
    if (!header && !nomem)
        add_error(out, 1, "header: empty file, expected the KMA ASOS hourly CSV header");
    if (nomem)
        return -1;
    if (out->nrows > 1)
        qsort(out->rows, out->nrows, sizeof(*out->rows), row_cmp);
    return fill_gaps(out);
}

void kma_data_free(struct kma_data *d)
{
    free(d->rows);
    d->rows = NULL;
    d->nrows = d->cap = 0;
}
