/* webhook_config.c -- the `alerts.webhooks:` list: HTTPS endpoints, their TLS, secret and route. */
#include "webhook_config.h"

#include "config.h"
#include "err.h"
#include "yaml_doc.h"

#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define FIELD_MAX sizeof(((struct cfg_error *)0)->field)
#define HOUR_MS 3600000L

_Static_assert(ALERT_RULE__COUNT <= 64, "alert_webhook_cfg.rules has a bit per rule");

struct wparse {
    struct ydoc *d;
    alert_find_id_fn find;
    const void *find_arg;
    const char *base; /* "alerts.webhooks[2]" */
    char f[FIELD_MAX];
};

static const char *wfield(struct wparse *P, const char *key)
{
    if (snprintf(P->f, sizeof(P->f), "%s.%s", P->base, key) < 0)
        P->f[0] = '\0';
    return P->f;
}

void webhook_config_defaults(struct alert_webhook_cfg *w)
{
    memset(w, 0, sizeof(*w));
    w->connect_timeout_ms = 5000;
    w->timeout_ms = 15000;
    w->retry_min_ms = 5000;
    w->retry_max_ms = 300000;
    w->tmpl = ALERT_TEMPLATE_NONE;
    w->min_severity = ALERT_INFO;
}

/* The scalar of node into out (len bytes with its NUL); -1 with a located error. */
static int scalar(struct wparse *P, struct fy_node *node, const char *field, char *out, size_t len)
{
    size_t n = 0;
    const char *s = fy_node_is_scalar(node) ? fy_node_get_scalar(node, &n) : NULL;
    if (!s || n >= len || memchr(s, '\0', n))
        return ydoc_error(P->d, node, field, "expected a string of at most %zu characters",
                          len - 1);
    memcpy(out, s, n);
    out[n] = '\0';
    return 0;
}

/* ---- endpoint ------------------------------------------------------------------------------ */

static int parse_url(struct wparse *P, struct fy_node *map, struct alert_webhook_cfg *w)
{
    int rc = ydoc_str(P->d, map, "url", wfield(P, "url"), w->url, sizeof(w->url));
    if (rc < 0)
        return -1;
    if (rc == 0)
        return ydoc_error(P->d, map, P->base, "missing required key 'url'");
    const char *host = w->url + strlen("https://");
    if (strncmp(w->url, "https://", 8) != 0 || !*host || *host == '/' || strpbrk(w->url, " \t"))
        return ydoc_error(P->d, ydoc_child(map, "url"), wfield(P, "url"),
                          "expected an https:// URL with a host, got '%s'", w->url);
    return 0;
}

/* secret: inline, or secret_file: its first line (kept out of the config file). */
static int parse_secret(struct wparse *P, struct fy_node *map, struct alert_webhook_cfg *w)
{
    char path[CFG_PATH_MAX];
    int has = ydoc_str(P->d, map, "secret", wfield(P, "secret"), w->secret, sizeof(w->secret));
    int has_file = ydoc_str(P->d, map, "secret_file", wfield(P, "secret_file"), path, sizeof(path));
    if (has < 0 || has_file < 0)
        return -1;
    if (has + has_file != 1)
        return ydoc_error(P->d, map, P->base,
                          "exactly one of 'secret' and 'secret_file' is required");
    if (has_file) {
        FILE *fp = fopen(path, "r");
        int ok = fp && fgets(w->secret, sizeof(w->secret), fp);
        if (fp)
            fclose(fp);
        if (!ok)
            return ydoc_error(P->d, ydoc_child(map, "secret_file"), wfield(P, "secret_file"),
                              "cannot read '%s'", path);
        w->secret[strcspn(w->secret, "\r\n")] = '\0';
    }
    if (!w->secret[0])
        return ydoc_error(P->d, map, wfield(P, has ? "secret" : "secret_file"),
                          "the secret must not be empty");
    return 0;
}

/* cafile, certfile, keyfile, tls_insecure: the names and meaning of the mqtt: section. */
static int parse_tls(struct wparse *P, struct fy_node *map, struct alert_webhook_cfg *w)
{
    static const char *const names[] = {"cafile", "certfile", "keyfile"};
    char *dst[] = {w->cafile, w->certfile, w->keyfile};
    for (int i = 0; i < 3; i++) {
        int rc = ydoc_str(P->d, map, names[i], wfield(P, names[i]), dst[i], CFG_PATH_MAX);
        if (rc < 0)
            return -1;
        if (rc > 0 && access(dst[i], R_OK) != 0)
            return ydoc_error(P->d, ydoc_child(map, names[i]), wfield(P, names[i]),
                              "cannot read '%s'", dst[i]);
    }
    if (!w->certfile[0] != !w->keyfile[0])
        return ydoc_error(P->d, map, wfield(P, w->certfile[0] ? "keyfile" : "certfile"),
                          "certfile and keyfile go together");
    return ydoc_bool(P->d, map, "tls_insecure", wfield(P, "tls_insecure"), &w->tls_insecure) < 0
               ? -1
               : 0;
}

static int parse_times(struct wparse *P, struct fy_node *map, struct alert_webhook_cfg *w)
{
    static const char *const keys[] = {"connect_timeout", "timeout", "retry_min", "retry_max"};
    static const long min[] = {100, 100, 100, 100};
    static const long max[] = {HOUR_MS, HOUR_MS, 24 * HOUR_MS, 24 * HOUR_MS};
    int64_t *dst[] = {&w->connect_timeout_ms, &w->timeout_ms, &w->retry_min_ms, &w->retry_max_ms};
    for (int i = 0; i < 4; i++) {
        long v;
        int rc = ydoc_duration_ms(P->d, map, keys[i], wfield(P, keys[i]), min[i], max[i], &v);
        if (rc < 0)
            return -1;
        if (rc > 0)
            *dst[i] = v;
    }
    if (w->retry_max_ms < w->retry_min_ms)
        return ydoc_error(P->d, ydoc_child(map, "retry_max"), wfield(P, "retry_max"),
                          "must not be below retry_min (%lld ms)", (long long)w->retry_min_ms);
    return 0;
}

static int name_index(const char *const *names, const char *s);

/* The members the body has without fields (alert_json.h, event shape; webhook_body.h). */
static const char *const reserved[] = {
    "id",    "device",      "program",         "site",          "rule",      "severity",
    "cause", "value",       "first_seen",      "first_seen_ms", "last_seen", "last_seen_ms",
    "state", "clear_value", "idempotency_key", "message",       NULL};

/* template: none | ko, and fields: {key: "constant"} added to every body. */
static int parse_body(struct wparse *P, struct fy_node *map, struct alert_webhook_cfg *w)
{
    static const char *const templates[] = {"none", "ko", NULL};
    int t = 0;
    if (ydoc_enum(P->d, map, "template", wfield(P, "template"), templates, &t) < 0)
        return -1;
    w->tmpl = (enum alert_template)t;
    struct fy_node *fields = ydoc_child(map, "fields");
    if (!fields)
        return 0;
    if (ydoc_expect_map(P->d, fields, wfield(P, "fields")))
        return -1;
    void *iter = NULL;
    struct fy_node_pair *pair;
    while ((pair = fy_node_mapping_iterate(fields, &iter)) != NULL) {
        struct fy_node *k = fy_node_pair_key(pair), *v = fy_node_pair_value(pair);
        if (w->nfields == ALERT_WEBHOOK_FIELDS_MAX)
            return ydoc_error(P->d, k, wfield(P, "fields"), "at most %d fields",
                              ALERT_WEBHOOK_FIELDS_MAX);
        char *key = w->field_key[w->nfields];
        if (scalar(P, k, wfield(P, "fields"), key, CFG_ID_MAX) ||
            scalar(P, v, wfield(P, "fields"), w->field_value[w->nfields], ALERT_WEBHOOK_FIELD_MAX))
            return -1;
        if (!key[0] || strspn(key, "abcdefghijklmnopqrstuvwxyz0123456789_") != strlen(key))
            return ydoc_error(P->d, k, wfield(P, "fields"),
                              "a field name is lower case letters, digits and _, got '%s'", key);
        if (name_index(reserved, key) >= 0)
            return ydoc_error(P->d, k, wfield(P, "fields"),
                              "'%s' is a member of the alert JSON already", key);
        w->nfields++;
    }
    return 0;
}

/* ---- route --------------------------------------------------------------------------------- */

/* Index of s in names (NULL-terminated), or -1. */
static int name_index(const char *const *names, const char *s)
{
    for (int i = 0; names[i]; i++)
        if (strcmp(names[i], s) == 0)
            return i;
    return -1;
}

static int rule_index(const char *s)
{
    for (int i = 0; i < ALERT_RULE__COUNT; i++)
        if (strcmp(alert_rule_infos[i].name, s) == 0)
            return i;
    return -1;
}

/* match.<key>: a list of names, each turned into an index by `lookup`, stored by `put`. */
static int parse_list(struct wparse *P, struct fy_node *match, const char *key,
                      struct alert_webhook_cfg *w)
{
    char field[FIELD_MAX], name[CFG_ID_MAX];
    struct fy_node *seq = ydoc_child(match, key);
    if (!seq)
        return 0;
    snprintf(field, sizeof(field), "%s.match.%s", P->base, key);
    if (ydoc_expect_seq(P->d, seq, field))
        return -1;
    for (int i = 0; i < ydoc_seq_len(seq); i++) {
        struct fy_node *at = ydoc_seq_at(seq, i);
        if (scalar(P, at, field, name, sizeof(name)))
            return -1;
        int idx;
        if (strcmp(key, "programs") == 0) {
            if ((idx = P->find(P->find_arg, ALERT_MATCH_PROGRAM, name)) < 0)
                return ydoc_error(P->d, at, field, "no program with id '%s'", name);
            if (w->nprograms == ALERT_ROUTE_PROGRAMS_MAX)
                return ydoc_error(P->d, at, field, "at most %d programs", ALERT_ROUTE_PROGRAMS_MAX);
            w->programs[w->nprograms++] = idx;
        } else if (strcmp(key, "rules") == 0) {
            if ((idx = rule_index(name)) < 0)
                return ydoc_error(P->d, at, field, "no alert rule named '%s'", name);
            w->rules |= UINT64_C(1) << idx;
        } else {
            if ((idx = name_index(config_device_kind_names, name)) < 0)
                return ydoc_error(P->d, at, field, "no device kind named '%s'", name);
            w->kinds |= 1u << idx;
        }
    }
    return 0;
}

static int parse_match(struct wparse *P, struct fy_node *match, struct alert_webhook_cfg *w)
{
    static const char *const keys[] = {"programs", "rules", "kinds", "severity", NULL};
    static const char *const sev[] = {"info", "warning", "critical", NULL};
    char field[FIELD_MAX];
    int s = 0;
    if (!match)
        return 0;
    snprintf(field, sizeof(field), "%s.match", P->base);
    if (ydoc_expect_map(P->d, match, field) || ydoc_check_keys(P->d, match, field, keys) ||
        parse_list(P, match, "programs", w) || parse_list(P, match, "rules", w) ||
        parse_list(P, match, "kinds", w))
        return -1;
    snprintf(field, sizeof(field), "%s.match.severity", P->base);
    if (ydoc_enum(P->d, match, "severity", field, sev, &s) < 0)
        return -1;
    w->min_severity = (enum alert_severity)s;
    return 0;
}

/* ---- the list ------------------------------------------------------------------------------ */

static int parse_webhook(struct wparse *P, struct fy_node *map, const struct alert_config *ac,
                         struct alert_webhook_cfg *w)
{
    static const char *const keys[] = {
        "id",       "url",          "secret",          "secret_file", "cafile",    "certfile",
        "keyfile",  "tls_insecure", "connect_timeout", "timeout",     "retry_min", "retry_max",
        "template", "fields",       "match",           NULL};
    webhook_config_defaults(w);
    w->line = ydoc_line(map);
    if (ydoc_expect_map(P->d, map, P->base) || ydoc_check_keys(P->d, map, P->base, keys))
        return -1;
    int rc = ydoc_str(P->d, map, "id", wfield(P, "id"), w->id, sizeof(w->id));
    if (rc < 0)
        return -1;
    if (rc == 0 || !w->id[0])
        return ydoc_error(P->d, map, wfield(P, "id"), "missing required key 'id'");
    for (size_t i = 0; i < ac->nwebhooks; i++)
        if (strcmp(ac->webhooks[i].id, w->id) == 0)
            return ydoc_error(P->d, ydoc_child(map, "id"), wfield(P, "id"),
                              "duplicate webhook id '%s' (also on line %d)", w->id,
                              ac->webhooks[i].line);
    if (parse_url(P, map, w) || parse_secret(P, map, w) || parse_tls(P, map, w) ||
        parse_times(P, map, w) || parse_body(P, map, w))
        return -1;
    return parse_match(P, ydoc_child(map, "match"), w);
}

int webhook_config_parse(struct ydoc *d, struct fy_node *seq, alert_find_id_fn find,
                         const void *find_arg, struct alert_config *ac, int *nomem)
{
    char base[FIELD_MAX];
    struct wparse P = {.d = d, .find = find, .find_arg = find_arg, .base = base};
    *nomem = 0;
    if (!seq)
        return 0;
    if (ydoc_expect_seq(d, seq, "alerts.webhooks"))
        return -1;
    int n = ydoc_seq_len(seq);
    if (n > ALERT_WEBHOOKS_MAX)
        return ydoc_error(d, seq, "alerts.webhooks", "at most %d webhooks, got %d",
                          ALERT_WEBHOOKS_MAX, n);
    ac->webhooks = calloc(n > 0 ? (size_t)n : 1, sizeof(*ac->webhooks));
    if (!ac->webhooks) {
        *nomem = 1;
        return ydoc_error(d, seq, "alerts.webhooks", "out of memory");
    }
    for (int i = 0; i < n; i++) {
        snprintf(base, sizeof(base), "alerts.webhooks[%d]", i);
        if (parse_webhook(&P, ydoc_seq_at(seq, i), ac, &ac->webhooks[i]))
            return -1;
        ac->nwebhooks++;
    }
    return 0;
}
