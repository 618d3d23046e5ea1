/* table.h -- the CLI's one table printer: columns and rows of text cells out as an aligned text
 * table, CSV (RFC 4180) or JSON (an array of objects). */
#ifndef ENMON_TABLE_H
#define ENMON_TABLE_H

#include <stddef.h>
#include <stdio.h>

enum table_align { TABLE_LEFT = 0, TABLE_RIGHT };

enum table_format { TABLE_TEXT = 0, TABLE_CSV, TABLE_JSON };

#define TABLE_NUMBER 1u   /* JSON: the cell as a number (null when it is not one) */
#define TABLE_CSV_ONLY 2u /* left out of the text table; in CSV and JSON */

struct table_col {
    const char *name; /* the header (text, CSV) */
    const char *key;  /* the JSON key; NULL: name */
    enum table_align align;
    int width;      /* text: a fixed width (a longer cell overflows); 0: the widest cell */
    unsigned flags; /* TABLE_NUMBER, TABLE_CSV_ONLY */
};

/* Rows of ncols cells, owned by the table. */
struct table {
    const struct table_col *cols;
    size_t ncols;
    const char *sep; /* text: between two columns; NULL: two spaces */
    char **cells;    /* nrows * ncols */
    size_t nrows, cap;
};

/* An empty table over cols (kept by reference: static tables). sep as above. */
void table_init(struct table *t, const struct table_col *cols, size_t ncols, const char *sep);

/* Appends a row of t->ncols cells (copied; NULL is an empty cell).
 * ENMON_OK or ENMON_ERR_NOMEM. */
int table_add(struct table *t, const char *const *cells);

/* Prints the table:
 * - TABLE_TEXT: the header and the rows, each column padded to its width and aligned, columns
 *   joined by sep. The last column of a line is not padded when left-aligned, and empty
 *   left-aligned cells at the end of a line are left out (no trailing blanks).
 * - TABLE_CSV: the header and the rows, fields quoted when they hold a comma, a quote, CR or LF
 *   (quotes doubled), lines ending in LF.
 * - TABLE_JSON: an array of objects, one per row (one per line), keyed by the columns' keys;
 *   TABLE_NUMBER cells that are JSON numbers as numbers, empty cells and other TABLE_NUMBER cells
 *   as null, the rest as escaped strings.
 * ENMON_OK, ENMON_ERR_NOMEM, or ENMON_ERR_IO when out reports an error. */
int table_print(const struct table *t, enum table_format fmt, FILE *out);

/* Frees the rows; the table is empty again. */
void table_free(struct table *t);

/* "table", "csv" or "json" -> format, when allowed (a bit mask of 1 << format).
 * ENMON_OK or ENMON_ERR_PARSE. */
int table_parse_format(const char *s, unsigned allowed, enum table_format *out);

#define TABLE_ALLOW(f) (1u << (f))

#endif
