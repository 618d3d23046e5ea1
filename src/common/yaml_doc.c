/* yaml_doc.c -- YAML documents (libfyaml) with typed getters that report file, line and field. */
#include "yaml_doc.h"

#include "clock.h"
#include "err.h"

#include <errno.h>
#include <libfyaml.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>

/* Longest scalar parsed as a number, boolean, duration or date. */
#define YDOC_NUM_MAX 64

static void copy_str(char *dst, size_t len, const char *src)
{
    if (len == 0)
        return;
    snprintf(dst, len, "%s", src ? src : "");
}

/* ---- loading ---------------------------------------------------------------------------- */

/* libfyaml's diagnostics are collected (fy_diag_errors_iterate), never printed. */
static void diag_discard(struct fy_diag *diag, void *user, const char *buf, size_t len)
{
    (void)diag;
    (void)user;
    (void)buf;
    (void)len;
}

static struct fy_diag *diag_create_quiet(void)
{
    struct fy_diag_cfg dc;

    fy_diag_cfg_default(&dc);
    dc.fp = NULL;
    dc.output_fn = diag_discard;
    dc.user = NULL;
    dc.colorize = false;
    dc.level = FYET_ERROR;
    struct fy_diag *diag = fy_diag_create(&dc);
    if (diag)
        fy_diag_set_collect_errors(diag, true);
    return diag;
}

/* Fills err with the first collected syntax error; returns 0 when there was none. */
static int diag_first_error(struct fy_diag *diag, struct cfg_error *err)
{
    void *it = NULL;
    struct fy_diag_error *e;

    while ((e = fy_diag_errors_iterate(diag, &it)) != NULL) {
        if (e->type < FYET_ERROR)
            continue;
        err->line = e->line > 0 ? e->line : 1;
        snprintf(err->msg, sizeof(err->msg), "YAML syntax error: %s (column %d)",
                 e->msg ? e->msg : "invalid YAML", e->column);
        return 1;
    }
    return 0;
}

static FILE *open_regular(const char *path, struct cfg_error *err)
{
    FILE *fp = fopen(path, "r");
    struct stat st;

    if (!fp) {
        snprintf(err->msg, sizeof(err->msg), "cannot open: %s", strerror(errno));
        return NULL;
    }
    if (fstat(fileno(fp), &st) != 0 || !S_ISREG(st.st_mode)) {
        snprintf(err->msg, sizeof(err->msg), "cannot read: not a regular file");
        fclose(fp);
        return NULL;
    }
    return fp;
}

#define YDOC_MAX_BYTES (16u << 20)

/* Reads the whole file into a malloc'd, NUL-terminated buffer of at most
 * YDOC_MAX_BYTES; NULL with err filled on failure. */
static char *read_all(FILE *fp, size_t *len, struct cfg_error *err)
{
    size_t cap = 8192, n = 0;
    char *buf = malloc(cap);
    while (buf) {
        n += fread(buf + n, 1, cap - n - 1, fp);
        if (ferror(fp) || n >= YDOC_MAX_BYTES) {
            snprintf(err->msg, sizeof(err->msg), ferror(fp) ? "cannot read: %s" : "%s",
                     ferror(fp) ? strerror(errno) : "larger than 16 MiB");
            free(buf);
            return NULL;
        }
        if (feof(fp)) {
            buf[n] = '\0';
            *len = n;
            return buf;
        }
        char *bigger = realloc(buf, cap * 2);
        if (!bigger)
            free(buf);
        buf = bigger;
        cap *= 2;
    }
    snprintf(err->msg, sizeof(err->msg), "out of memory");
    return NULL;
}

/* Offset of the first byte that is not part of well-formed UTF-8 text (or is a
 * NUL or another C0 control but tab, CR and LF), or len when all is well. Config
 * files are text; refusing anything else keeps the YAML parser on input it is
 * made for (libfyaml 0.7.12 loops forever on some malformed bytes). */
static size_t bad_text_offset(const unsigned char *s, size_t len)
{
    for (size_t i = 0; i < len;) {
        unsigned c = s[i];
        size_t extra = c < 0x80 ? 0 : (c & 0xE0) == 0xC0 ? 1 : (c & 0xF0) == 0xE0 ? 2
                                                         : (c & 0xF8) == 0xF0 ? 3 : 4;
        if (extra == 4 || (c < 0x20 && c != '\t' && c != '\n' && c != '\r') || c == 0x7F ||
            c == 0xC0 || c == 0xC1 || c > 0xF4 || i + extra >= len + (extra == 0))
            return i;
        for (size_t k = 1; k <= extra; k++)
            if ((s[i + k] & 0xC0) != 0x80)
                return i;
        i += extra + 1;
    }
    return len;
}

static int line_of_offset(const char *s, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off; i++)
        line += s[i] == '\n';
    return line;
}

/* Nodes an alias may bring in, counted with the nodes of aliases inside it: a
 * "billion laughs" document is refused before libfyaml expands it. */
#define YDOC_ALIAS_NODES_MAX 100000L
/* Nesting of collections (and of aliases inside aliases) at most. */
#define YDOC_DEPTH_MAX 128
/* The field named by errors about the document as a whole. */
#define YDOC_DOC_FIELD "(document)"

/* Counts in *budget the nodes reached through aliases under n (every node once per
 * path); fills err and returns -1 when the budget is spent, an alias is undefined or
 * the document nests deeper than YDOC_DEPTH_MAX. */
static int alias_walk(struct fy_node *n, int depth, int in_alias, long *budget,
                      struct cfg_error *err)
{
    if (!n)
        return 0;
    if (depth > YDOC_DEPTH_MAX) {
        err->line = ydoc_line(n);
        snprintf(err->msg, sizeof(err->msg), "nested deeper than %d levels", YDOC_DEPTH_MAX);
        return -1;
    }
    if (in_alias && --*budget < 0) {
        snprintf(err->msg, sizeof(err->msg), "aliases expand to more than %ld nodes (alias bomb?)",
                 YDOC_ALIAS_NODES_MAX);
        return -1;
    }
    void *it = NULL;
    switch (fy_node_get_type(n)) {
    case FYNT_SCALAR:
        if (!fy_node_is_alias(n))
            return 0;
        struct fy_node *target = fy_node_resolve_alias(n);
        if (!target) {
            err->line = ydoc_line(n);
            snprintf(err->msg, sizeof(err->msg), "alias to an undefined or recursive anchor");
            return -1;
        }
        if (alias_walk(target, depth + 1, 1, budget, err) == 0)
            return 0;
        if (!in_alias) /* the error is where the outermost alias is used */
            err->line = ydoc_line(n);
        return -1;
    case FYNT_SEQUENCE:
        for (struct fy_node *c; (c = fy_node_sequence_iterate(n, &it)) != NULL;)
            if (alias_walk(c, depth + 1, in_alias, budget, err) != 0)
                return -1;
        return 0;
    case FYNT_MAPPING:
        for (struct fy_node_pair *p; (p = fy_node_mapping_iterate(n, &it)) != NULL;)
            if (alias_walk(fy_node_pair_key(p), depth + 1, in_alias, budget, err) != 0 ||
                alias_walk(fy_node_pair_value(p), depth + 1, in_alias, budget, err) != 0)
                return -1;
        return 0;
    }
    return 0;
}

/* 1 when text holds anything but blank lines and comments. */
static int has_content(const char *s)
{
    while (*s) {
        s += strspn(s, " \t\r\n");
        if (*s == '#')
            s += strcspn(s, "\n");
        else if (*s)
            return 1;
    }
    return 0;
}

/* 1 when the document has no root or only a plain empty scalar ("---" alone). */
static int doc_empty(struct fy_document *fyd)
{
    struct fy_node *root = fyd ? fy_document_root(fyd) : NULL;
    size_t len = 0;
    if (!root)
        return 1;
    if (fy_node_get_type(root) != FYNT_SCALAR || fy_node_is_alias(root))
        return 0;
    return fy_node_get_scalar(root, &len) == NULL || len == 0;
}

static int doc_start_line(struct fy_document *fyd)
{
    struct fy_document_state *st = fyd ? fy_document_get_document_state(fyd) : NULL;
    const struct fy_mark *m = st ? fy_document_state_start_mark(st) : NULL;
    return m ? m->line + 1 : 0;
}

/* Parses text (taken over) into d->fyd: exactly one document with content, its
 * aliases within bounds, then resolved (anchors, merge keys). */
static int parse_one_document(struct ydoc *d, char *text, size_t len, struct fy_diag *diag)
{
    struct cfg_error *err = d->err;
    struct fy_parse_cfg pc = {.flags = FYPCF_QUIET, .diag = diag};
    int content = has_content(text);
    struct fy_parser *fyp = fy_parser_create(&pc);
    if (!fyp || fy_parser_set_malloc_string(fyp, text, len) != 0) {
        if (fyp)
            fy_parser_destroy(fyp);
        free(text); /* not taken over */
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return ENMON_ERR_NOMEM;
    }
    /* from here the parser owns text */
    d->fyd = fy_parse_load_document(fyp);
    struct fy_document *second = d->fyd ? fy_parse_load_document(fyp) : NULL;
    int rc = ENMON_ERR_CONFIG;
    long budget = YDOC_ALIAS_NODES_MAX;
    int syntax = diag_first_error(diag, err); /* located, no field */
    if (!syntax && second) {
        err->line = doc_start_line(second);
        snprintf(err->msg, sizeof(err->msg),
                 "a second YAML document starts here: one document per file");
    } else if (!syntax && doc_empty(d->fyd)) {
        err->line = d->fyd ? doc_start_line(d->fyd) : 1;
        snprintf(err->msg, sizeof(err->msg), "%s",
                 content && !d->fyd ? "the YAML parser failed" : "empty: no YAML content");
    } else if (!syntax && alias_walk(fy_document_root(d->fyd), 0, 0, &budget, err) == 0) {
        if (fy_document_resolve(d->fyd) == 0)
            rc = ENMON_OK;
        else if (!diag_first_error(diag, err))
            snprintf(err->msg, sizeof(err->msg), "cannot resolve the anchors and merge keys");
    }
    if (rc != ENMON_OK && !syntax) {
        copy_str(err->field, sizeof(err->field), YDOC_DOC_FIELD);
        if (err->line <= 0)
            err->line = 1;
    }
    if (second)
        fy_parse_document_destroy(fyp, second);
    if (rc != ENMON_OK && d->fyd) {
        fy_parse_document_destroy(fyp, d->fyd);
        d->fyd = NULL;
    }
    fy_parser_destroy(fyp);
    return rc;
}

int ydoc_load(struct ydoc *d, const char *path, struct cfg_error *err)
{
    memset(d, 0, sizeof(*d));
    memset(err, 0, sizeof(*err));
    d->err = err;
    copy_str(d->path, sizeof(d->path), path);
    copy_str(err->file, sizeof(err->file), path);

    FILE *fp = open_regular(path, err);
    if (!fp)
        return ENMON_ERR_IO;
    size_t len = 0;
    char *text = read_all(fp, &len, err);
    fclose(fp);
    if (!text)
        return ENMON_ERR_IO;
    size_t bad = bad_text_offset((const unsigned char *)text, len);
    if (bad < len) {
        err->line = line_of_offset(text, bad);
        snprintf(err->msg, sizeof(err->msg), "not UTF-8 text (byte 0x%02X at offset %zu)",
                 (unsigned char)text[bad], bad);
        free(text);
        return ENMON_ERR_CONFIG;
    }
    struct fy_diag *diag = diag_create_quiet();
    if (!diag) {
        free(text);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return ENMON_ERR_NOMEM;
    }
    int rc = parse_one_document(d, text, len, diag); /* takes text over */
    fy_diag_destroy(diag);
    return rc;
}

void ydoc_free(struct ydoc *d)
{
    if (!d)
        return;
    if (d->fyd)
        fy_document_destroy(d->fyd);
    d->fyd = NULL;
}

struct fy_node *ydoc_root(struct ydoc *d)
{
    return d && d->fyd ? fy_document_root(d->fyd) : NULL;
}

/* ---- locations -------------------------------------------------------------------------- */

static int token_line(struct fy_token *t)
{
    const struct fy_mark *m = t ? fy_token_start_mark(t) : NULL;
    return m ? m->line + 1 : 0;
}

/* A collection starts on the line of its first item (block style); 0 when empty. */
static int node_own_line(struct fy_node *n)
{
    void *it = NULL;

    for (int depth = 0; n && depth < 256; depth++) {
        switch (fy_node_get_type(n)) {
        case FYNT_SCALAR:
            return token_line(fy_node_get_scalar_token(n));
        case FYNT_MAPPING: {
            struct fy_node_pair *p = fy_node_mapping_iterate(n, &it);
            n = p ? fy_node_pair_key(p) : NULL;
            break;
        }
        case FYNT_SEQUENCE:
            n = fy_node_sequence_iterate(n, &it);
            break;
        default:
            return 0;
        }
        it = NULL;
    }
    return 0;
}

/* Line of the key under which child sits in mapping parent, or 0. */
static int key_line_in(struct fy_node *parent, struct fy_node *child)
{
    void *it = NULL;
    struct fy_node_pair *p;

    if (fy_node_get_type(parent) != FYNT_MAPPING)
        return 0;
    while ((p = fy_node_mapping_iterate(parent, &it)) != NULL)
        if (fy_node_pair_value(p) == child)
            return node_own_line(fy_node_pair_key(p));
    return 0;
}

int ydoc_line(struct fy_node *node)
{
    for (struct fy_node *n = node; n; n = fy_node_get_parent(n)) {
        int line = node_own_line(n);
        struct fy_node *parent = fy_node_get_parent(n);
        if (line == 0 && parent)
            line = key_line_in(parent, n);
        if (line > 0)
            return line;
    }
    return 0;
}

int ydoc_error(struct ydoc *d, struct fy_node *at, const char *field, const char *fmt, ...)
{
    struct cfg_error *err = d->err;
    va_list ap;

    if (!err)
        return -1;
    copy_str(err->file, sizeof(err->file), d->path);
    err->line = ydoc_line(at);
    copy_str(err->field, sizeof(err->field), field);
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return -1;
}

/* ---- structure -------------------------------------------------------------------------- */

struct fy_node *ydoc_child(struct fy_node *map, const char *key)
{
    if (!map || fy_node_get_type(map) != FYNT_MAPPING)
        return NULL;
    return fy_node_mapping_lookup_value_by_simple_key(map, key, strlen(key));
}

static int name_in(const char *s, size_t len, const char *const *names)
{
    for (int i = 0; names[i]; i++)
        if (strlen(names[i]) == len && memcmp(names[i], s, len) == 0)
            return i;
    return -1;
}

int ydoc_check_keys(struct ydoc *d, struct fy_node *map, const char *field,
                    const char *const *allowed)
{
    void *it = NULL;
    struct fy_node_pair *p;

    if (!map || fy_node_get_type(map) != FYNT_MAPPING)
        return 0;
    while ((p = fy_node_mapping_iterate(map, &it)) != NULL) {
        struct fy_node *key = fy_node_pair_key(p);
        size_t len = 0;
        const char *s = NULL;
        if (key && fy_node_get_type(key) == FYNT_SCALAR)
            s = fy_node_get_scalar(key, &len);
        if (!s)
            return ydoc_error(d, key ? key : map, field, "keys must be plain strings");
        if (name_in(s, len, allowed) >= 0)
            continue;
        char path[sizeof(d->err->field)];
        snprintf(path, sizeof(path), "%s%s%.*s", field, field[0] ? "." : "", (int)len, s);
        return ydoc_error(d, key, path, "unknown key '%.*s'", (int)len, s);
    }
    return 0;
}

static const char *type_name(struct fy_node *node)
{
    if (!node)
        return "nothing";
    switch (fy_node_get_type(node)) {
    case FYNT_SCALAR:
        return "a scalar";
    case FYNT_SEQUENCE:
        return "a sequence";
    case FYNT_MAPPING:
        return "a mapping";
    default:
        return "an unknown node";
    }
}

int ydoc_expect_map(struct ydoc *d, struct fy_node *node, const char *field)
{
    if (node && fy_node_get_type(node) == FYNT_MAPPING)
        return 0;
    return ydoc_error(d, node, field, "expected a mapping, got %s", type_name(node));
}

int ydoc_expect_seq(struct ydoc *d, struct fy_node *node, const char *field)
{
    if (node && fy_node_get_type(node) == FYNT_SEQUENCE)
        return 0;
    return ydoc_error(d, node, field, "expected a sequence, got %s", type_name(node));
}

int ydoc_seq_len(struct fy_node *seq)
{
    if (!seq || fy_node_get_type(seq) != FYNT_SEQUENCE)
        return 0;
    return fy_node_sequence_item_count(seq);
}

struct fy_node *ydoc_seq_at(struct fy_node *seq, int i)
{
    if (!seq || fy_node_get_type(seq) != FYNT_SEQUENCE || i < 0)
        return NULL;
    return fy_node_sequence_get_by_index(seq, i);
}

/* ---- scalars ---------------------------------------------------------------------------- */

/* Value node of map[key] as scalar text: 1 found (*s, *len set), 0 absent, -1 not a scalar. */
static int scalar_of(struct ydoc *d, struct fy_node *map, const char *key, const char *field,
                     struct fy_node **node, const char **s, size_t *len)
{
    *node = ydoc_child(map, key);
    if (!*node)
        return 0;
    if (fy_node_get_type(*node) != FYNT_SCALAR)
        return ydoc_error(d, *node, field, "expected a scalar, got %s", type_name(*node));
    *s = fy_node_get_scalar(*node, len);
    if (!*s) {
        *s = "";
        *len = 0;
    }
    return 1;
}

/* Like scalar_of, into a NUL-terminated buffer for number-like values. */
static int short_scalar(struct ydoc *d, struct fy_node *map, const char *key, const char *field,
                        struct fy_node **node, char buf[YDOC_NUM_MAX])
{
    const char *s;
    size_t len;
    int rc = scalar_of(d, map, key, field, node, &s, &len);

    if (rc <= 0)
        return rc;
    if (len >= YDOC_NUM_MAX || memchr(s, '\0', len))
        return ydoc_error(d, *node, field, "value '%.20s...' is not valid here", s);
    memcpy(buf, s, len);
    buf[len] = '\0';
    return 1;
}

int ydoc_str(struct ydoc *d, struct fy_node *map, const char *key, const char *field, char *out,
             size_t len)
{
    struct fy_node *node;
    const char *s;
    size_t n;
    int rc = scalar_of(d, map, key, field, &node, &s, &n);

    if (rc <= 0)
        return rc;
    if (len == 0 || n > len - 1)
        return ydoc_error(d, node, field, "too long (%zu characters, at most %zu)", n,
                          len ? len - 1 : 0);
    if (memchr(s, '\0', n))
        return ydoc_error(d, node, field, "contains a NUL character");
    memcpy(out, s, n);
    out[n] = '\0';
    return 1;
}

/* Decimal integer with optional sign and nothing else. */
static int parse_long(const char *s, long *out)
{
    const char *p = s + (*s == '+' || *s == '-');
    char *end;

    if (*p < '0' || *p > '9')
        return -1;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno != 0 || *end != '\0')
        return -1;
    *out = v;
    return 0;
}

int ydoc_int(struct ydoc *d, struct fy_node *map, const char *key, const char *field, long min,
             long max, long *out)
{
    struct fy_node *node;
    char buf[YDOC_NUM_MAX];
    long v;
    int rc = short_scalar(d, map, key, field, &node, buf);

    if (rc <= 0)
        return rc;
    if (parse_long(buf, &v) != 0)
        return ydoc_error(d, node, field, "expected an integer, got '%s'", buf);
    if (v < min || v > max)
        return ydoc_error(d, node, field, "%ld is out of range (%ld..%ld)", v, min, max);
    *out = v;
    return 1;
}

/* Finite decimal number, fully consumed; *end_out (if given) may leave a suffix. */
static int parse_double(const char *s, double *out, const char **end_out)
{
    char *end;

    if (!((*s >= '0' && *s <= '9') || *s == '+' || *s == '-' || *s == '.'))
        return -1;
    errno = 0;
    double v = strtod(s, &end);
    if (end == s || errno == ERANGE || !isfinite(v))
        return -1;
    if (end_out)
        *end_out = end;
    else if (*end != '\0')
        return -1;
    *out = v;
    return 0;
}

int ydoc_double(struct ydoc *d, struct fy_node *map, const char *key, const char *field, double min,
                double max, double *out)
{
    struct fy_node *node;
    char buf[YDOC_NUM_MAX];
    double v;
    int rc = short_scalar(d, map, key, field, &node, buf);

    if (rc <= 0)
        return rc;
    if (parse_double(buf, &v, NULL) != 0)
        return ydoc_error(d, node, field, "expected a number, got '%s'", buf);
    if (v < min || v > max)
        return ydoc_error(d, node, field, "%g is out of range (%g..%g)", v, min, max);
    *out = v;
    return 1;
}

int ydoc_bool(struct ydoc *d, struct fy_node *map, const char *key, const char *field, int *out)
{
    static const char *const yes[] = {"true", "yes", "on", NULL};
    static const char *const no[] = {"false", "no", "off", NULL};
    struct fy_node *node;
    char buf[YDOC_NUM_MAX];
    int rc = short_scalar(d, map, key, field, &node, buf);

    if (rc <= 0)
        return rc;
    for (int i = 0; yes[i]; i++) {
        if (strcasecmp(buf, yes[i]) == 0) {
            *out = 1;
            return 1;
        }
        if (strcasecmp(buf, no[i]) == 0) {
            *out = 0;
            return 1;
        }
    }
    return ydoc_error(d, node, field, "expected true/false (or yes/no, on/off), got '%s'", buf);
}

/* Milliseconds per unit of a duration suffix, or 0 when unknown. */
static double duration_unit_ms(const char *suffix)
{
    static const struct {
        const char *name;
        double ms;
    } units[] = {{"", 1000.0},   {"ms", 1.0},      {"s", 1000.0},
                 {"m", 60000.0}, {"h", 3600000.0}, {"d", 86400000.0}};

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++)
        if (strcmp(suffix, units[i].name) == 0)
            return units[i].ms;
    return 0.0;
}

/* Writes ms in the largest unit that represents it exactly ("1d", "250ms"). */
static void format_duration(long ms, char *buf, size_t len)
{
    static const struct {
        const char *name;
        long ms;
    } units[] = {{"d", 86400000L}, {"h", 3600000L}, {"m", 60000L}, {"s", 1000L}};

    for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
        if (ms != 0 && ms % units[i].ms == 0) {
            snprintf(buf, len, "%ld%s", ms / units[i].ms, units[i].name);
            return;
        }
    }
    snprintf(buf, len, "%ldms", ms);
}

int ydoc_duration_ms(struct ydoc *d, struct fy_node *map, const char *key, const char *field,
                     long min_ms, long max_ms, long *out)
{
    struct fy_node *node;
    char buf[YDOC_NUM_MAX];
    const char *suffix = NULL;
    double v;
    int rc = short_scalar(d, map, key, field, &node, buf);

    if (rc <= 0)
        return rc;
    double unit = 0.0;
    if (parse_double(buf, &v, &suffix) == 0)
        unit = duration_unit_ms(suffix);
    if (unit == 0.0)
        return ydoc_error(d, node, field,
                          "expected a duration such as 250ms, 5s, 2m, 1h or a number of "
                          "seconds, got '%s'",
                          buf);
    double ms = round(v * unit);
    if (ms < (double)min_ms || ms > (double)max_ms) {
        char lo[32], hi[32];
        format_duration(min_ms, lo, sizeof(lo));
        format_duration(max_ms, hi, sizeof(hi));
        return ydoc_error(d, node, field, "duration '%s' is out of range (%s..%s)", buf, lo, hi);
    }
    *out = (long)ms;
    return 1;
}

static void join_names(const char *const *names, char *buf, size_t len)
{
    size_t used = 0;

    buf[0] = '\0';
    for (int i = 0; names[i] && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s", i ? ", " : "", names[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

int ydoc_enum(struct ydoc *d, struct fy_node *map, const char *key, const char *field,
              const char *const *names, int *out)
{
    struct fy_node *node;
    const char *s;
    size_t len;
    int rc = scalar_of(d, map, key, field, &node, &s, &len);

    if (rc <= 0)
        return rc;
    int i = name_in(s, len, names);
    if (i >= 0) {
        *out = i;
        return 1;
    }
    char allowed[200];
    join_names(names, allowed, sizeof(allowed));
    return ydoc_error(d, node, field, "unknown value '%.*s' (expected one of: %s)",
                      (int)(len > 40 ? 40 : len), s, allowed);
}

/* ---- dates ------------------------------------------------------------------------------ */

int ydoc_date(struct ydoc *d, struct fy_node *map, const char *key, const char *field,
              long tz_offset_s, long long *out)
{
    struct fy_node *node;
    char buf[YDOC_NUM_MAX];
    int rc = short_scalar(d, map, key, field, &node, buf);

    if (rc <= 0)
        return rc;
    if (clock_parse_date(buf, tz_offset_s, out) != 0)
        return ydoc_error(d, node, field,
                          "expected a date YYYY-MM-DD or YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM], got '%s'",
                          buf);
    return 1;
}
