/* yaml_doc.h -- YAML documents (libfyaml) with typed getters that report file, line and field. */
#ifndef ENMON_YAML_DOC_H
#define ENMON_YAML_DOC_H

#include "cfg_error.h"

#include <stddef.h>

struct fy_document;
struct fy_node;

struct ydoc {
    struct fy_document *fyd;
    char path[CFG_PATH_MAX];
    struct cfg_error *err; /* where errors go (set by ydoc_load) */
};

/* Parses path, failing closed. Returns ENMON_OK (exactly one document, with content,
 * anchors and merge keys resolved), ENMON_ERR_IO (cannot read: err names the file) or
 * ENMON_ERR_CONFIG with the line: a YAML syntax error (no field), or, under the field
 * "(document)", a second document, an empty or comment-only file, aliases bringing in
 * more than 100000 nodes (counted before anything is expanded) or an undefined alias. */
int ydoc_load(struct ydoc *d, const char *path, struct cfg_error *err);
void ydoc_free(struct ydoc *d);

/* The root node (never NULL after a successful ydoc_load). */
struct fy_node *ydoc_root(struct ydoc *d);

/* Line (1-based) where node starts; 0 if node is NULL. */
int ydoc_line(struct fy_node *node);

/* Fills d->err with file, the line of `at` (or 0), field and the formatted
 * message. Always returns -1 so parsers can `return ydoc_error(...)`. */
int ydoc_error(struct ydoc *d, struct fy_node *at, const char *field, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Child of mapping `map` under key, or NULL when absent (or map is NULL). */
struct fy_node *ydoc_child(struct fy_node *map, const char *key);

/* Errors (-1) on any key of map not in the NULL-terminated list allowed:
 * catches typos such as "untit:" with the line of the offending key. */
int ydoc_check_keys(struct ydoc *d, struct fy_node *map, const char *field,
                    const char *const *allowed);

/* Requires node to be a mapping / a sequence; -1 with a located error otherwise. */
int ydoc_expect_map(struct ydoc *d, struct fy_node *node, const char *field);
int ydoc_expect_seq(struct ydoc *d, struct fy_node *node, const char *field);
int ydoc_seq_len(struct fy_node *seq);
struct fy_node *ydoc_seq_at(struct fy_node *seq, int i);

/* Typed getters for map[key]. `field` is the full field path used in messages
 * ("programs[0].sites[1].devices[2].unit"). Each returns 1 when the key is
 * present and valid (out set), 0 when absent (out untouched), -1 on a located
 * error (wrong type, out of range, unknown name, too long). */
int ydoc_str(struct ydoc *d, struct fy_node *map, const char *key, const char *field, char *out,
             size_t len);
int ydoc_int(struct ydoc *d, struct fy_node *map, const char *key, const char *field, long min,
             long max, long *out);
int ydoc_double(struct ydoc *d, struct fy_node *map, const char *key, const char *field, double min,
                double max, double *out);
int ydoc_bool(struct ydoc *d, struct fy_node *map, const char *key, const char *field, int *out);
/* "250ms", "5s", "2m", "1h", or a bare number of seconds (may be fractional). */
int ydoc_duration_ms(struct ydoc *d, struct fy_node *map, const char *key, const char *field,
                     long min_ms, long max_ms, long *out);
/* Index of the value in the NULL-terminated list names. */
int ydoc_enum(struct ydoc *d, struct fy_node *map, const char *key, const char *field,
              const char *const *names, int *out);
/* "YYYY-MM-DD" or "YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]"; a date alone is local
 * midnight in tz_offset_s seconds east of UTC. Result in UTC epoch seconds. */
int ydoc_date(struct ydoc *d, struct fy_node *map, const char *key, const char *field,
              long tz_offset_s, long long *out);

#endif
