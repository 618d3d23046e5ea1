/* copy_text.h -- rows in PostgreSQL's COPY text format, and connection URLs for logs: pure. */
#ifndef ENMON_COPY_TEXT_H
#define ENMON_COPY_TEXT_H

#include <stddef.h>
#include <stdint.h>

/* One COPY row being built in a caller's buffer: fields are appended with a tab between
 * them and the row ends with a line feed. A row that does not fit sets overflow and the
 * buffer's contents are then unusable. */
struct copy_row {
    char *buf;
    size_t cap, len;
    int nfields;
    int overflow;
};

void copy_row_begin(struct copy_row *r, char *buf, size_t cap);
/* A text field: backslash, tab, line feed and carriage return escaped (\\, \t, \n, \r);
 * NULL is written as \N (SQL NULL). */
void copy_row_text(struct copy_row *r, const char *s);
void copy_row_null(struct copy_row *r);
void copy_row_int(struct copy_row *r, int64_t v);
/* A double with 17 significant digits (exact round trip); NaN and infinities as \N. */
void copy_row_double(struct copy_row *r, double v);
/* A timestamptz from UTC epoch milliseconds: "2026-12-03 20:15:00.000+00". */
void copy_row_time_ms(struct copy_row *r, int64_t epoch_ms);
/* Ends the row with a line feed. Returns the row's length, or -1 on overflow. */
int copy_row_end(struct copy_row *r);

/* A connection URL fit for logs: the password of user:password@ and any password=
 * query parameter replaced by "***". Returns 0, or -1 when out is too small. */
int copy_redact_url(const char *url, char *out, size_t len);

/* The value of query parameter name in url ("...?sslmode=verify-full&...") into out.
 * Returns 1 when present (0 absent, -1 when out is too small). */
int copy_url_param(const char *url, const char *name, char *out, size_t len);

/* 1 when url carries a password (user:password@ or a password= parameter), else 0. */
int copy_url_has_password(const char *url);

#endif
