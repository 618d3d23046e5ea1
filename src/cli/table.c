/* table.c -- the CLI's one table printer: aligned text, CSV (RFC 4180) or JSON objects. */
#include "table.h"
#include "err.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#define TABLE_FIRST_ROWS 32

void table_init(struct table *t, const struct table_col *cols, size_t ncols, const char *sep)
{
    memset(t, 0, sizeof(*t));
    t->cols = cols;
    t->ncols = ncols;
    t->sep = sep;
}

int table_add(struct table *t, const char *const *cells)
{
    if (t->nrows == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : TABLE_FIRST_ROWS;
        char **grown = realloc(t->cells, cap * t->ncols * sizeof(*grown));
        if (!grown)
            return ENMON_ERR_NOMEM;
        t->cells = grown;
        t->cap = cap;
    }
    char **row = &t->cells[t->nrows * t->ncols];
    for (size_t i = 0; i < t->ncols; i++) {
        row[i] = strdup(cells[i] ? cells[i] : "");
        if (!row[i]) {
            while (i-- > 0)
                free(row[i]);
            return ENMON_ERR_NOMEM;
        }
    }
    t->nrows++;
    return ENMON_OK;
}

void table_free(struct table *t)
{
    for (size_t i = 0; i < t->nrows * t->ncols; i++)
        free(t->cells[i]);
    free(t->cells);
    t->cells = NULL;
    t->nrows = t->cap = 0;
}

int table_parse_format(const char *s, unsigned allowed, enum table_format *out)
{
    static const char *const names[] = {[TABLE_TEXT] = "table", [TABLE_CSV] = "csv",
                                        [TABLE_JSON] = "json"};
    for (size_t f = 0; f < sizeof(names) / sizeof(names[0]); f++)
        if ((allowed & TABLE_ALLOW(f)) && strcmp(s, names[f]) == 0) {
            *out = (enum table_format)f;
            return ENMON_OK;
        }
    return ENMON_ERR_PARSE;
}

static const char *const *table_row(const struct table *t, size_t r)
{
    return (const char *const *)&t->cells[r * t->ncols];
}

/* ---- text ------------------------------------------------------------------------------ */

static int table_visible(const struct table *t, size_t c)
{
    return !(t->cols[c].flags & TABLE_CSV_ONLY);
}

static void table_widths(const struct table *t, int *width)
{
    for (size_t c = 0; c < t->ncols; c++) {
        width[c] = t->cols[c].width;
        if (width[c] > 0)
            continue;
        width[c] = (int)strlen(t->cols[c].name);
        for (size_t r = 0; r < t->nrows; r++) {
            int n = (int)strlen(table_row(t, r)[c]);
            width[c] = n > width[c] ? n : width[c];
        }
    }
}

/* One past the last column printed on a line: no hidden or empty left-aligned cells at its end. */
static size_t table_line_end(const struct table *t, const char *const *cells)
{
    size_t end = t->ncols, first = 0;
    while (first < t->ncols && !table_visible(t, first))
        first++;
    while (end > first + 1 && (!table_visible(t, end - 1) ||
                               (t->cols[end - 1].align == TABLE_LEFT && !cells[end - 1][0])))
        end--;
    return end;
}

static void table_text_line(const struct table *t, const char *const *cells, const int *width,
                            FILE *out)
{
    size_t end = table_line_end(t, cells);
    const char *sep = t->sep ? t->sep : "  ";
    int printed = 0;
    for (size_t c = 0; c < end; c++) {
        if (!table_visible(t, c))
            continue;
        int right = t->cols[c].align == TABLE_RIGHT;
        int w = c + 1 == end && !right ? 0 : width[c];
        fprintf(out, "%s%*s", printed++ ? sep : "", right ? w : -w, cells[c]);
    }
    fputc('\n', out);
}

static int table_print_text(const struct table *t, FILE *out)
{
    int *width = calloc(t->ncols ? t->ncols : 1, sizeof(*width));
    const char **head = calloc(t->ncols ? t->ncols : 1, sizeof(*head));
    if (!width || !head) {
        free(width);
        free(head);
        return ENMON_ERR_NOMEM;
    }
    table_widths(t, width);
    for (size_t c = 0; c < t->ncols; c++)
        head[c] = t->cols[c].name;
    table_text_line(t, head, width, out);
    for (size_t r = 0; r < t->nrows; r++)
        table_text_line(t, table_row(t, r), width, out);
    free(head);
    free(width);
    return ENMON_OK;
}

/* ---- CSV ------------------------------------------------------------------------------- */

static void table_csv_field(const char *s, FILE *out)
{
    if (!strpbrk(s, ",\"\r\n")) {
        fputs(s, out);
        return;
    }
    fputc('"', out);
    for (; *s; s++) {
        if (*s == '"')
            fputc('"', out);
        fputc(*s, out);
    }
    fputc('"', out);
}

static void table_print_csv(const struct table *t, FILE *out)
{
    for (size_t c = 0; c < t->ncols; c++) {
        if (c)
            fputc(',', out);
        table_csv_field(t->cols[c].name, out);
    }
    fputc('\n', out);
    for (size_t r = 0; r < t->nrows; r++) {
        const char *const *cells = table_row(t, r);
        for (size_t c = 0; c < t->ncols; c++) {
            if (c)
                fputc(',', out);
            table_csv_field(cells[c], out);
        }
        fputc('\n', out);
    }
}

/* ---- JSON ------------------------------------------------------------------------------ */

static const char *table_digits(const char *s)
{
    if (!isdigit((unsigned char)*s))
        return NULL;
    while (isdigit((unsigned char)*s))
        s++;
    return s;
}

/* 1 when s is a number by JSON's grammar: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)? */
static int table_is_number(const char *s)
{
    if (*s == '-')
        s++;
    if (s[0] == '0' && isdigit((unsigned char)s[1]))
        return 0;
    if (!(s = table_digits(s)))
        return 0;
    if (*s == '.' && !(s = table_digits(s + 1)))
        return 0;
    if (*s == 'e' || *s == 'E') {
        s++;
        if (*s == '+' || *s == '-')
            s++;
        if (!(s = table_digits(s)))
            return 0;
    }
    return *s == '\0';
}

static void table_json_string(const char *s, FILE *out)
{
    fputc('"', out);
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            fprintf(out, "\\%c", ch);
        else if (ch == '\n')
            fputs("\\n", out);
        else if (ch == '\r')
            fputs("\\r", out);
        else if (ch == '\t')
            fputs("\\t", out);
        else if (ch < 0x20 || ch == 0x7F)
            fprintf(out, "\\u%04x", ch);
        else
            fputc(ch, out);
    }
    fputc('"', out);
}

static void table_json_value(const struct table_col *col, const char *cell, FILE *out)
{
    if (!cell[0] || ((col->flags & TABLE_NUMBER) && !table_is_number(cell)))
        fputs("null", out);
    else if (col->flags & TABLE_NUMBER)
        fputs(cell, out);
    else
        table_json_string(cell, out);
}

static void table_print_json(const struct table *t, FILE *out)
{
    fputs(t->nrows ? "[\n" : "[", out);
    for (size_t r = 0; r < t->nrows; r++) {
        const char *const *cells = table_row(t, r);
        fputs("  {", out);
        for (size_t c = 0; c < t->ncols; c++) {
            const struct table_col *col = &t->cols[c];
            if (c)
                fputs(", ", out);
            table_json_string(col->key ? col->key : col->name, out);
            fputs(": ", out);
            table_json_value(col, cells[c], out);
        }
        fputs(r + 1 < t->nrows ? "},\n" : "}\n", out);
    }
    fputs("]\n", out);
}

int table_print(const struct table *t, enum table_format fmt, FILE *out)
{
    int rc = ENMON_OK;
    if (fmt == TABLE_CSV)
        table_print_csv(t, out);
    else if (fmt == TABLE_JSON)
        table_print_json(t, out);
    else
        rc = table_print_text(t, out);
    return rc == ENMON_OK && ferror(out) ? ENMON_ERR_IO : rc;
}
