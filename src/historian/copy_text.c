/* copy_text.c -- rows in PostgreSQL's COPY text format, and connection URLs for logs: pure. */
#include "copy_text.h"
#include "caltime.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

void copy_row_begin(struct copy_row *r, char *buf, size_t cap)
{
    *r = (struct copy_row){.buf = buf, .cap = cap};
}

static void put(struct copy_row *r, const char *s, size_t n)
{
    if (r->overflow || r->len + n >= r->cap) {
        r->overflow = 1;
        return;
    }
    memcpy(r->buf + r->len, s, n);
    r->len += n;
}

static void sep(struct copy_row *r)
{
    if (r->nfields++ > 0)
        put(r, "\t", 1);
}

void copy_row_null(struct copy_row *r)
{
    sep(r);
    put(r, "\\N", 2);
}

void copy_row_text(struct copy_row *r, const char *s)
{
    if (!s) {
        copy_row_null(r);
        return;
    }
    sep(r);
    for (; *s; s++) {
        switch (*s) {
        case '\\':
            put(r, "\\\\", 2);
            break;
        case '\t':
            put(r, "\\t", 2);
            break;
        case '\n':
            put(r, "\\n", 2);
            break;
        case '\r':
            put(r, "\\r", 2);
            break;
        default:
            put(r, s, 1);
        }
    }
}

void copy_row_int(struct copy_row *r, int64_t v)
{
    char tmp[24];
    int n = snprintf(tmp, sizeof(tmp), "%lld", (long long)v);
    sep(r);
    put(r, tmp, (size_t)n);
}

void copy_row_double(struct copy_row *r, double v)
{
    if (!isfinite(v)) {
        copy_row_null(r);
        return;
    }
    char tmp[32];
    int n = snprintf(tmp, sizeof(tmp), "%.17g", v);
    sep(r);
    put(r, tmp, (size_t)n);
}

void copy_row_time_ms(struct copy_row *r, int64_t epoch_ms)
{
    int64_t s = epoch_ms >= 0 ? epoch_ms / 1000 : -((-epoch_ms + 999) / 1000);
    int ms = (int)(epoch_ms - s * 1000);
    int64_t days = s >= 0 ? s / 86400 : -((-s + 86399) / 86400);
    int sod = (int)(s - days * 86400);
    int y, mo, d;
    caltime_civil_from_days(days, &y, &mo, &d);
    char tmp[48];
    int n = snprintf(tmp, sizeof(tmp), "%04d-%02d-%02d %02d:%02d:%02d.%03d+00", y, mo, d,
                     sod / 3600, sod / 60 % 60, sod % 60, ms);
    sep(r);
    put(r, tmp, (size_t)n);
}

int copy_row_end(struct copy_row *r)
{
    put(r, "\n", 1);
    if (r->overflow)
        return -1;
    r->buf[r->len] = '\0';
    return (int)r->len;
}

/* [user:password@] of a URL "scheme://userinfo@host...": where the password starts and
 * ends in url, or 0 when there is none. */
static int userinfo_password(const char *url, size_t *from, size_t *to)
{
    const char *p = strstr(url, "://");
    if (!p)
        return 0;
    p += 3;
    size_t auth = strcspn(p, "/?#");
    const char *at = NULL;
    for (size_t i = 0; i < auth; i++)
        if (p[i] == '@')
            at = p + i; /* the last @ before the path ends the userinfo */
    if (!at)
        return 0;
    const char *colon = memchr(p, ':', (size_t)(at - p));
    if (!colon)
        return 0;
    *from = (size_t)(colon + 1 - url);
    *to = (size_t)(at - url);
    return 1;
}

/* The next "password=" query parameter value at or after url + start: its bounds. */
static int param_password(const char *url, size_t start, size_t *from, size_t *to)
{
    const char *q = strchr(url, '?');
    if (!q)
        return 0;
    for (const char *p = q + 1; *p;) {
        size_t n = strcspn(p, "&");
        if ((size_t)(p - url) >= start && n >= 9 && strncmp(p, "password=", 9) == 0) {
            *from = (size_t)(p + 9 - url);
            *to = (size_t)(p + n - url);
            return 1;
        }
        p += n;
        if (*p == '&')
            p++;
    }
    return 0;
}

int copy_url_param(const char *url, const char *name, char *out, size_t len)
{
    const char *q = strchr(url, '?');
    size_t nl = strlen(name);
    for (const char *p = q ? q + 1 : NULL; p && *p;) {
        size_t n = strcspn(p, "&#");
        if (n > nl && strncmp(p, name, nl) == 0 && p[nl] == '=') {
            if (n - nl - 1 >= len)
                return -1;
            memcpy(out, p + nl + 1, n - nl - 1);
            out[n - nl - 1] = '\0';
            return 1;
        }
        p += n;
        if (*p != '&')
            break;
        p++;
    }
    return 0;
}

int copy_url_has_password(const char *url)
{
    size_t a, b;
    return userinfo_password(url, &a, &b) || param_password(url, 0, &a, &b);
}

int copy_redact_url(const char *url, char *out, size_t len)
{
    size_t o = 0, i = 0, a, b, n = strlen(url);
    int ok = 1;
#define EMIT(s, k)                                                                                 \
    do {                                                                                           \
        if (o + (k) >= len)                                                                        \
            ok = 0;                                                                                \
        else {                                                                                     \
            memcpy(out + o, (s), (k));                                                             \
            o += (k);                                                                              \
        }                                                                                          \
    } while (0)
    if (userinfo_password(url, &a, &b)) {
        EMIT(url, a);
        EMIT("***", 3);
        i = b;
    }
    while (ok && param_password(url, i, &a, &b)) {
        EMIT(url + i, a - i);
        EMIT("***", 3);
        i = b;
    }
    if (ok)
        EMIT(url + i, n - i);
#undef EMIT
    if (len)
        out[ok ? o : 0] = '\0';
    return ok ? 0 : -1;
}
