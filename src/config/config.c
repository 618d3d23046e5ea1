/* config.c -- enmond configuration: parses and validates the YAML file into struct enmon_config. */
#include "config.h"
#include "regmap.h"
#include "alert_config.h"

#include "caltime.h"
#include "copy_text.h"
#include "err.h"
#include "link_uri.h"
#include "yaml_doc.h"

#include <arpa/inet.h>
#include <libfyaml.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_MAX sizeof(((struct cfg_error *)0)->field)
#define SITE_COUNT_MAX 100000L
#define UNIT_MAX 247

struct loader {
    struct ydoc doc;
    struct enmon_config *cfg;
    long tz_offset_s;
    int rc; /* ENMON_ERR_CONFIG, or ENMON_ERR_NOMEM after a failed allocation */
    size_t cap_programs, cap_sites, cap_devices, cap_links, cap_maps;
};

/* One copy of a site: the n-th of count ({n} is n zero-padded to width). */
struct site_copy {
    uint32_t site;
    uint32_t program;
    long n;
    int width;
    uint32_t collector;           /* the site's collector: (1 + index), 0 = none */
    struct fy_node *collector_at; /* where the site names it, for errors */
};

int config_utc_offset_min(const struct enmon_config *cfg)
{
    return cfg->timezone[0] ? cfg->utc_offset_min : CALTIME_KST_MIN;
}

void config_format_error(const struct cfg_error *err, char *buf, size_t len)
{
    if (len == 0)
        return;
    if (err->field[0])
        snprintf(buf, len, "%s:%d: %s: %s", err->file, err->line, err->field, err->msg);
    else
        snprintf(buf, len, "%s:%d: %s", err->file, err->line, err->msg);
}

/* ---- helpers ---------------------------------------------------------------------------- */

/* "base.key" (or "key" at the top level) into buf; an overlong path keeps its prefix. */
static const char *join_field(char *buf, const char *base, const char *key)
{
    if (snprintf(buf, FIELD_MAX, "%s%s%s", base, base[0] ? "." : "", key) < 0)
        buf[0] = '\0';
    return buf;
}

/* "base.key[i]" into buf. */
static const char *index_field(char *buf, const char *base, const char *key, int i)
{
    if (snprintf(buf, FIELD_MAX, "%s%s%s[%d]", base, base[0] ? "." : "", key, i) < 0)
        buf[0] = '\0';
    return buf;
}

static void *grow_array(void *arr, size_t *cap, size_t need, size_t elem)
{
    if (need <= *cap)
        return arr;
    size_t ncap = *cap ? *cap * 2 : 8;
    while (ncap < need)
        ncap *= 2;
    if (ncap > SIZE_MAX / elem)
        return NULL;
    void *p = realloc(arr, ncap * elem);
    if (p)
        *cap = ncap;
    return p;
}

static int out_of_memory(struct loader *L, const char *field)
{
    L->rc = ENMON_ERR_NOMEM;
    return ydoc_error(&L->doc, NULL, field, "out of memory");
}

/* A required key: an error at the line of the mapping that lacks it. */
static int missing(struct loader *L, struct fy_node *map, const char *base, const char *key)
{
    char f[FIELD_MAX];
    return ydoc_error(&L->doc, map, join_field(f, base, key), "missing required key '%s'", key);
}

static int valid_id(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++) {
        int ok = (*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9') ||
                 *s == '_' || *s == '-';
        if (!ok)
            return 0;
    }
    return 1;
}

/* Replaces every "{n}" in tmpl by n zero-padded to width; -1 when out is too small. */
static int expand_n(const char *tmpl, long n, int width, char *out, size_t len)
{
    size_t used = 0;

    for (const char *p = tmpl; *p;) {
        char piece[32];
        const char *src = p;
        size_t plen = 1;
        if (strncmp(p, "{n}", 3) == 0) {
            snprintf(piece, sizeof(piece), "%0*ld", width, n);
            src = piece;
            plen = strlen(piece);
            p += 3;
        } else {
            p++;
        }
        if (used + plen >= len)
            return -1;
        memcpy(out + used, src, plen);
        used += plen;
    }
    out[used] = '\0';
    return 0;
}

static int digits_of(long v)
{
    int w = 1;
    while (v >= 10) {
        v /= 10;
        w++;
    }
    return w;
}

/* Reads map[key] as a string template and expands {n}; 0 when absent. */
static int get_expanded(struct loader *L, struct fy_node *map, const char *key, const char *field,
                        const struct site_copy *c, char *out, size_t len)
{
    char tmpl[CFG_NAME_MAX];
    int rc = ydoc_str(&L->doc, map, key, field, tmpl, sizeof(tmpl));

    if (rc <= 0)
        return rc;
    if (expand_n(tmpl, c->n, c->width, out, len) != 0)
        return ydoc_error(&L->doc, ydoc_child(map, key), field,
                          "too long after {n} expansion (at most %zu characters)", len - 1);
    return 1;
}

/* Reads a required id into out (expanding {n} when c is given) and checks its characters. */
static int get_id(struct loader *L, struct fy_node *map, const char *base,
                  const struct site_copy *c, char out[CFG_ID_MAX])
{
    char f[FIELD_MAX];
    const char *field = join_field(f, base, "id");
    int rc = c ? get_expanded(L, map, "id", field, c, out, CFG_ID_MAX)
               : ydoc_str(&L->doc, map, "id", field, out, CFG_ID_MAX);

    if (rc < 0)
        return -1;
    if (rc == 0)
        return missing(L, map, base, "id");
    if (!valid_id(out))
        return ydoc_error(&L->doc, ydoc_child(map, "id"), field,
                          "invalid id '%s': use letters, digits, '_' and '-'", out);
    return 0;
}

/* ---- mqtt, database, timezone, polling -------------------------------------------------- */

static int check_topic_root(struct loader *L, struct fy_node *map, const char *field)
{
    const char *t = L->cfg->mqtt.topic_root;
    size_t n = strlen(t);

    if (n == 0 || strpbrk(t, "+#") || t[0] == '/' || t[n - 1] == '/')
        return ydoc_error(&L->doc, ydoc_child(map, "topic_root"), field,
                          "invalid topic root '%s': must be non-empty, without '+', '#' or a "
                          "leading or trailing '/'",
                          t);
    return 0;
}

/* mqtt.summary_interval and mqtt.ha_discovery (docs/HTTP.md, docs/MQTT.md). */
static int load_mqtt_dash(struct loader *L, struct fy_node *map)
{
    struct cfg_mqtt *m = &L->cfg->mqtt;
    long v;
    int rc = ydoc_duration_ms(&L->doc, map, "summary_interval", "mqtt.summary_interval", 0,
                              3600000L, &v);
    if (rc < 0)
        return -1;
    if (rc > 0)
        m->summary_interval_ms = (int)v;
    return ydoc_bool(&L->doc, map, "ha_discovery", "mqtt.ha_discovery", &m->ha_discovery) < 0
               ? -1
               : 0;
}

/* The http: section. */
static int load_http_limits(struct loader *L, struct fy_node *map)
{
    struct cfg_http *h = &L->cfg->http;
    struct ydoc *d = &L->doc;
    long v;
    int rc = ydoc_int(d, map, "max_connections", "http.max_connections", 16, 100000, &v);
    if (rc > 0)
        h->max_connections = (int)v;
    if (rc >= 0 && (rc = ydoc_int(d, map, "connections_per_address",
                                  "http.connections_per_address", 0, 100000, &v)) > 0)
        h->connections_per_address = (int)v;
    if (rc >= 0 && (rc = ydoc_int(d, map, "max_streams", "http.max_streams", 0, 100000, &v)) > 0)
        h->max_streams = (int)v;
    if (rc < 0)
        return -1;
    if (rc == 0 && h->max_streams > h->max_connections - 8) /* the default follows */
        h->max_streams = h->max_connections - 8;
    if (h->max_streams > h->max_connections - 8)
        return ydoc_error(d, ydoc_child(map, "max_streams"), "http.max_streams",
                          "%d leaves fewer than 8 of max_connections %d for other requests",
                          h->max_streams, h->max_connections);
    return 0;
}

/* A non-loopback address needs token_file or allow_anonymous: true (docs/HTTP.md). */
static int check_http_exposure(struct loader *L, struct fy_node *map)
{
    const struct cfg_http *h = &L->cfg->http;
    struct in_addr a;
    if (inet_pton(AF_INET, h->listen, &a) != 1)
        return ydoc_error(&L->doc, ydoc_child(map, "listen"), "http.listen",
                          "'%s' is not an IPv4 address", h->listen);
    if ((ntohl(a.s_addr) >> 24) == 127 || h->port == 0 || h->token_file[0] || h->allow_anonymous)
        return 0;
    return ydoc_error(&L->doc, ydoc_child(map, "listen"), "http.listen",
                      "%s is reachable from other machines: set http.token_file, or "
                      "http.allow_anonymous: true to serve without a token",
                      h->listen);
}

static int load_http(struct loader *L, struct fy_node *map)
{
    static const char *const keys[] = {"listen",          "port",
                                       "token_file",      "web_root",
                                       "max_connections", "connections_per_address",
                                       "max_streams",     "allow_anonymous",
                                       "metrics_per_device", "cors_origin", NULL};
    struct cfg_http *h = &L->cfg->http;
    struct ydoc *d = &L->doc;
    long v;

    if (!map)
        return 0;
    if (ydoc_expect_map(d, map, "http") || ydoc_check_keys(d, map, "http", keys) ||
        ydoc_str(d, map, "listen", "http.listen", h->listen, sizeof(h->listen)) < 0 ||
        ydoc_str(d, map, "token_file", "http.token_file", h->token_file,
                 sizeof(h->token_file)) < 0 ||
        ydoc_str(d, map, "web_root", "http.web_root", h->web_root, sizeof(h->web_root)) < 0 ||
        ydoc_str(d, map, "cors_origin", "http.cors_origin", h->cors_origin,
                 sizeof(h->cors_origin)) < 0 ||
        ydoc_bool(d, map, "allow_anonymous", "http.allow_anonymous", &h->allow_anonymous) < 0 ||
        ydoc_bool(d, map, "metrics_per_device", "http.metrics_per_device",
                  &h->metrics_per_device) < 0 ||
        load_http_limits(L, map) != 0)
        return -1;
    int rc = ydoc_int(d, map, "port", "http.port", 0, 65535, &v);
    if (rc < 0)
        return -1;
    if (rc > 0)
        h->port = (int)v;
    return check_http_exposure(L, map);
}

/* mqtt TLS files and the outbox bound (docs/MQTT.md, docs/RELIABILITY.md). */
static int load_mqtt_tls(struct loader *L, struct fy_node *map)
{
    struct cfg_mqtt *m = &L->cfg->mqtt;
    struct ydoc *d = &L->doc;
    long v;
    if (ydoc_str(d, map, "cafile", "mqtt.cafile", m->cafile, sizeof(m->cafile)) < 0 ||
        ydoc_str(d, map, "certfile", "mqtt.certfile", m->certfile, sizeof(m->certfile)) < 0 ||
        ydoc_str(d, map, "keyfile", "mqtt.keyfile", m->keyfile, sizeof(m->keyfile)) < 0 ||
        ydoc_bool(d, map, "tls_insecure", "mqtt.tls_insecure", &m->tls_insecure) < 0)
        return -1;
    if (!m->cafile[0] && (m->certfile[0] || m->keyfile[0]))
        return ydoc_error(d, map, "mqtt.cafile", "certfile and keyfile need cafile (TLS)");
    if (!m->certfile[0] != !m->keyfile[0])
        return ydoc_error(d, map, "mqtt.certfile", "certfile and keyfile go together");
    int rc = ydoc_int(d, map, "outbox_max", "mqtt.outbox_max", 1, 1000000000L, &v);
    if (rc > 0)
        m->outbox_max = v;
    return rc < 0 ? -1 : 0;
}

static int load_mqtt(struct loader *L, struct fy_node *map)
{
    static const char *const keys[] = {"host",      "port",     "topic_root",
                                       "client_id", "username", "password_file",
                                       "keepalive", "qos",      "summary_interval",
                                       "ha_discovery", "cafile",   "certfile",
                                       "keyfile",   "tls_insecure", "outbox_max", NULL};
    struct cfg_mqtt *m = &L->cfg->mqtt;
    struct ydoc *d = &L->doc;
    char f[FIELD_MAX];
    long v;

    if (!map)
        return 0;
    if (ydoc_expect_map(d, map, "mqtt") || ydoc_check_keys(d, map, "mqtt", keys))
        return -1;
    if (ydoc_str(d, map, "host", "mqtt.host", m->host, sizeof(m->host)) < 0 ||
        ydoc_str(d, map, "client_id", "mqtt.client_id", m->client_id, sizeof(m->client_id)) < 0 ||
        ydoc_str(d, map, "username", "mqtt.username", m->username, sizeof(m->username)) < 0 ||
        ydoc_str(d, map, "password_file", "mqtt.password_file", m->password_file,
                 sizeof(m->password_file)) < 0)
        return -1;
    int rc = ydoc_str(d, map, "topic_root", join_field(f, "mqtt", "topic_root"), m->topic_root,
                      sizeof(m->topic_root));
    if (rc < 0 || (rc > 0 && check_topic_root(L, map, f) != 0))
        return -1;
    if ((rc = ydoc_int(d, map, "port", "mqtt.port", 1, 65535, &v)) < 0)
        return -1;
    if (rc > 0)
        m->port = (int)v;
    if ((rc = ydoc_duration_ms(d, map, "keepalive", "mqtt.keepalive", 5000, 65535000L, &v)) < 0)
        return -1;
    if (rc > 0)
        m->keepalive_s = (int)(v / 1000);
    if ((rc = ydoc_int(d, map, "qos", "mqtt.qos", 0, 2, &v)) < 0)
        return -1;
    if (rc > 0)
        m->qos = (int)v;
    if (load_mqtt_tls(L, map) != 0)
        return -1;
    return load_mqtt_dash(L, map);
}

static int load_timezone(struct loader *L, struct fy_node *root)
{
    struct enmon_config *cfg = L->cfg;

    if (ydoc_str(&L->doc, root, "timezone", "timezone", cfg->timezone, sizeof(cfg->timezone)) < 0)
        return -1;
    if (caltime_zone_offset(cfg->timezone, &cfg->utc_offset_min) != ENMON_OK)
        return ydoc_error(&L->doc, ydoc_child(root, "timezone"), "timezone",
                          "unsupported timezone '%s' (use Asia/Seoul, Asia/Tokyo, "
                          "Asia/Shanghai, UTC or a fixed offset such as +09:00)",
                          cfg->timezone);
    L->tz_offset_s = cfg->utc_offset_min * (long)CALTIME_MINUTE_S;
    return 0;
}

/* Poll timing shared by polling: and per-device overrides (same ranges). */
static int load_timing(struct loader *L, struct fy_node *map, const char *base, int *interval_ms,
                       int *timeout_ms, int *retries)
{
    char f[FIELD_MAX];
    long v;
    int rc;

    rc = ydoc_duration_ms(&L->doc, map, "interval", join_field(f, base, "interval"), 100,
                          CALTIME_DAY_MS, &v);
    if (rc < 0)
        return -1;
    if (rc > 0)
        *interval_ms = (int)v;
    rc = ydoc_duration_ms(&L->doc, map, "timeout", join_field(f, base, "timeout"), 10, 60000, &v);
    if (rc < 0)
        return -1;
    if (rc > 0)
        *timeout_ms = (int)v;
    rc = ydoc_int(&L->doc, map, "retries", join_field(f, base, "retries"), 0, 10, &v);
    if (rc < 0)
        return -1;
    if (rc > 0)
        *retries = (int)v;
    return 0;
}

static int load_polling(struct loader *L, struct fy_node *map)
{
    static const char *const keys[] = {"workers", "interval",      "timeout",
                                       "retries", "offline_after", NULL};
    struct enmon_config *cfg = L->cfg;
    long v;
    int rc;

    if (!map)
        return 0;
    if (ydoc_expect_map(&L->doc, map, "polling") || ydoc_check_keys(&L->doc, map, "polling", keys))
        return -1;
    if ((rc = ydoc_int(&L->doc, map, "workers", "polling.workers", 1, 64, &v)) < 0)
        return -1;
    if (rc > 0)
        cfg->workers = (int)v;
    rc = ydoc_int(&L->doc, map, "offline_after", "polling.offline_after", 1, 100, &v);
    if (rc < 0)
        return -1;
    if (rc > 0)
        cfg->offline_after = (int)v;
    return load_timing(L, map, "polling", &cfg->default_interval_ms, &cfg->default_timeout_ms,
                       &cfg->default_retries);
}

/* ---- links ------------------------------------------------------------------------------ */

/* Index of the link with this URI, adding it when new; -1 on error. */
static long find_or_add_link(struct loader *L, struct fy_node *map, const char *field,
                             const char *uri)
{
    struct enmon_config *cfg = L->cfg;
    struct cfg_link l;
    const char *why;

    for (size_t i = 0; i < cfg->nlinks; i++)
        if (strcmp(cfg->links[i].uri, uri) == 0)
            return (long)i;
    if (link_uri_parse(uri, &l, &why) != 0)
        return ydoc_error(&L->doc, ydoc_child(map, "link"), field, "invalid link '%s': %s", uri,
                          why);
    struct cfg_link *arr =
        grow_array(cfg->links, &L->cap_links, cfg->nlinks + 1, sizeof(*cfg->links));
    if (!arr)
        return out_of_memory(L, field);
    cfg->links = arr;
    cfg->links[cfg->nlinks] = l;
    return (long)cfg->nlinks++;
}

/* ---- devices ---------------------------------------------------------------------------- */

static int load_device_ids(struct loader *L, struct fy_node *map, const char *base,
                           const struct site_copy *c, struct cfg_device *dev)
{
    char f[FIELD_MAX];
    struct enmon_config *cfg = L->cfg;

    if (get_id(L, map, base, c, dev->id) != 0)
        return -1;
    for (size_t i = 0; i < cfg->ndevices; i++)
        if (strcmp(cfg->devices[i].id, dev->id) == 0)
            return ydoc_error(&L->doc, ydoc_child(map, "id"), join_field(f, base, "id"),
                              "duplicate device id '%s' (first at line %d)", dev->id,
                              cfg->devices[i].line);
    int rc =
        get_expanded(L, map, "name", join_field(f, base, "name"), c, dev->name, sizeof(dev->name));
    if (rc < 0)
        return -1;
    if (rc == 0)
        snprintf(dev->name, sizeof(dev->name), "%s", dev->id);
    int kind;
    rc = ydoc_enum(&L->doc, map, "kind", join_field(f, base, "kind"), config_device_kind_names, &kind);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return missing(L, map, base, "kind");
    dev->kind = (enum device_kind)kind;
    return 0;
}

/* Unit id of the n-th copy: unit + (n - 1), at most 247 (unique: check_device_unit). */
static int load_device_unit(struct loader *L, struct fy_node *map, const char *base,
                            const struct site_copy *c, struct cfg_device *dev)
{
    char f[FIELD_MAX];
    const char *field = join_field(f, base, "unit");
    long unit;
    int rc = ydoc_int(&L->doc, map, "unit", field, 0, UNIT_MAX, &unit);

    if (rc < 0)
        return -1;
    if (rc == 0)
        return missing(L, map, base, "unit");
    struct fy_node *node = ydoc_child(map, "unit");
    if (unit + (c->n - 1) > UNIT_MAX)
        return ydoc_error(&L->doc, node, field, "unit %ld + %ld for site copy %ld exceeds %d", unit,
                          c->n - 1, c->n, UNIT_MAX);
    dev->unit = (int)(unit + (c->n - 1));
    if (dev->unit == 0 && L->cfg->links[dev->link].kind == LINK_RTU)
        return ydoc_error(&L->doc, node, field,
                          "unit 0 is the RTU broadcast address, no device answers it (use 1..%d)",
                          UNIT_MAX);
    return 0;
}

/* A unit id is one device's on its link, except for SunSpec devices that pick
 * different devices of the chain behind it (sunspec_device). */
static int check_device_unit(struct loader *L, struct fy_node *map, const char *base,
                             const struct cfg_device *dev)
{
    char f[FIELD_MAX];
    const char *field = join_field(f, base, "unit");
    struct enmon_config *cfg = L->cfg;
    for (size_t i = 0; i < cfg->ndevices; i++) {
        const struct cfg_device *o = &cfg->devices[i];
        if (o->link != dev->link || o->unit != dev->unit)
            continue;
        if (!o->map && !dev->map && o->sunspec_device != dev->sunspec_device)
            continue;
        if (!o->map && !dev->map)
            return ydoc_error(&L->doc, ydoc_child(map, "unit"), field,
                              "unit %d on link %s, sunspec_device %d is already used by device "
                              "'%s' (line %d)",
                              dev->unit, cfg->links[dev->link].uri, dev->sunspec_device, o->id,
                              o->line);
        return ydoc_error(&L->doc, ydoc_child(map, "unit"), field,
                          "unit %d on link %s is already used by device '%s' (line %d)", dev->unit,
                          cfg->links[dev->link].uri, o->id, o->line);
    }
    return 0;
}

static int load_device_link(struct loader *L, struct fy_node *map, const char *base,
                            struct cfg_device *dev)
{
    char f[FIELD_MAX];
    char uri[sizeof(((struct cfg_link *)0)->uri)];
    const char *field = join_field(f, base, "link");
    int rc = ydoc_str(&L->doc, map, "link", field, uri, sizeof(uri));

    if (rc < 0)
        return -1;
    if (rc == 0)
        return missing(L, map, base, "link");
    long idx = find_or_add_link(L, map, field, uri);
    if (idx < 0)
        return -1;
    dev->link = (uint32_t)idx;
    return 0;
}

/* The map file named by a device, resolved against the config file's folder and
 * loaded once however many devices use it; NULL with the map's own located error. */
static const struct regmap *find_or_load_map(struct loader *L, struct fy_node *map,
                                             const char *field, const char *name)
{
    struct enmon_config *cfg = L->cfg;
    char path[CFG_PATH_MAX];
    const char *slash = strrchr(cfg->path, '/');
    size_t dir = name[0] == '/' || !slash ? 0 : (size_t)(slash - cfg->path) + 1;
    if (dir + strlen(name) >= sizeof(path)) {
        ydoc_error(&L->doc, ydoc_child(map, "map"), field, "map path too long");
        return NULL;
    }
    memcpy(path, cfg->path, dir);
    memcpy(path + dir, name, strlen(name) + 1);
    for (size_t i = 0; i < cfg->nmaps; i++)
        if (strcmp(cfg->maps[i]->path, path) == 0)
            return cfg->maps[i];
    struct regmap **arr = grow_array(cfg->maps, &L->cap_maps, cfg->nmaps + 1, sizeof(*cfg->maps));
    if (!arr) {
        out_of_memory(L, field);
        return NULL;
    }
    cfg->maps = arr;
    struct cfg_error merr;
    int rc = regmap_load(path, &cfg->maps[cfg->nmaps], &merr);
    if (rc == ENMON_ERR_IO) {
        ydoc_error(&L->doc, ydoc_child(map, "map"), field, "cannot read map file %s: %s", path,
                   merr.msg);
        return NULL;
    }
    if (rc != ENMON_OK) {
        *L->doc.err = merr; /* the map file's own file, line and field */
        L->rc = rc;
        return NULL;
    }
    return cfg->maps[cfg->nmaps++];
}

/* Register map and request shaping: map, max_regs, max_gap, pause, connect_pause. */
static int load_device_modbus(struct loader *L, struct fy_node *map, const char *base,
                              struct cfg_device *dev)
{
    struct ydoc *d = &L->doc;
    char f[FIELD_MAX], name[CFG_PATH_MAX];
    long v, ms;
    int rc = ydoc_str(d, map, "map", join_field(f, base, "map"), name, sizeof(name));
    if (rc < 0)
        return -1;
    if (rc > 0 && !(dev->map = find_or_load_map(L, map, f, name)))
        return -1;
    if (rc == 0 && dev->kind == DEVICE_SENSOR) /* no SunSpec model describes a pole sensor */
        return ydoc_error(d, map, f, "missing (a sensor is read through a register map)");
    rc = ydoc_int(d, map, "sunspec_device", join_field(f, base, "sunspec_device"), 1, 32, &v);
    if (rc < 0)
        return -1;
    if (rc > 0)
        dev->sunspec_device = (int)v;
    if (ydoc_bool(d, map, "pf_percent", join_field(f, base, "pf_percent"), &dev->pf_percent) < 0)
        return -1;
    rc = ydoc_int(d, map, "max_regs", join_field(f, base, "max_regs"), 1, 125, &v);
    if (rc < 0)
        return -1;
    if (rc > 0)
        dev->max_regs = (int)v;
    rc = ydoc_int(d, map, "max_gap", join_field(f, base, "max_gap"), 0, 124, &v);
    if (rc < 0)
        return -1;
    if (rc > 0)
        dev->max_gap = (int)v;
    rc = ydoc_duration_ms(d, map, "pause", join_field(f, base, "pause"), 0, 10000, &ms);
    if (rc < 0)
        return -1;
    if (rc > 0)
        dev->pause_ms = (int)ms;
    rc = ydoc_duration_ms(d, map, "connect_pause", join_field(f, base, "connect_pause"), 0, 10000,
                          &ms);
    if (rc < 0)
        return -1;
    if (rc > 0 && ms > L->cfg->links[dev->link].connect_pause_ms)
        L->cfg->links[dev->link].connect_pause_ms = (int)ms;
    return 0;
}

static int load_device_options(struct loader *L, struct fy_node *map, const char *base,
                               struct cfg_device *dev)
{
    struct ydoc *d = &L->doc;
    char f[FIELD_MAX];
    long long t;
    long v;
    int rc;

    if (ydoc_double(d, map, "capacity", join_field(f, base, "capacity"), 0, 1e9, &dev->capacity_w) <
            0 ||
        ydoc_bool(d, map, "welfare", join_field(f, base, "welfare"), &dev->welfare) < 0 ||
        ydoc_bool(d, map, "storage", join_field(f, base, "storage"), &dev->storage) < 0 ||
        load_timing(L, map, base, &dev->interval_ms, &dev->timeout_ms, &dev->retries) != 0)
        return -1;
    rc = ydoc_int(d, map, "sunspec_base", join_field(f, base, "sunspec_base"), 0, 50000, &v);
    if (rc < 0)
        return -1;
    if (rc > 0 && v != 0 && v != 40000 && v != 50000)
        return ydoc_error(d, ydoc_child(map, "sunspec_base"), f,
                          "sunspec_base must be 0, 40000 or 50000, got %ld", v);
    if (rc > 0)
        dev->sunspec_base = (int)v;
    if (load_device_modbus(L, map, base, dev) != 0)
        return -1;
    rc = ydoc_date(d, map, "commissioned", join_field(f, base, "commissioned"), L->tz_offset_s, &t);
    if (rc < 0)
        return -1;
    if (rc > 0)
        dev->commissioned = t;
    rc = ydoc_date(d, map, "retrofit", join_field(f, base, "retrofit"), L->tz_offset_s, &t);
    if (rc < 0)
        return -1;
    if (rc > 0)
        dev->retrofit = t;
    return 0;
}

/* A collector: key of a site or device: *out = 1 + its index in collectors:, 0 when absent. */
static int load_collector_ref(struct loader *L, struct fy_node *map, const char *base,
                              uint32_t *out)
{
    const struct enmon_config *cfg = L->cfg;
    char f[FIELD_MAX], name[CFG_ID_MAX];
    const char *field = join_field(f, base, "collector");
    int rc = ydoc_str(&L->doc, map, "collector", field, name, sizeof(name));
    *out = 0;
    if (rc <= 0)
        return rc;
    if (cfg->ncollectors == 0)
        return ydoc_error(&L->doc, ydoc_child(map, "collector"), field,
                          "'%s': no collectors: list at the top level declares it", name);
    for (size_t i = 0; i < cfg->ncollectors; i++)
        if (strcmp(cfg->collectors[i], name) == 0) {
            *out = (uint32_t)i + 1;
            return 0;
        }
    return ydoc_error(&L->doc, ydoc_child(map, "collector"), field,
                      "'%s' is not in collectors: (line %d)", name, cfg->collectors_line);
}

/* With collectors: declared, every link belongs to exactly one: the device's collector:, else
 * its site's; a second device on the link naming another collector is an error. */
static int check_device_collector(struct loader *L, struct fy_node *map, const char *base,
                                  const struct site_copy *c, const struct cfg_device *dev)
{
    struct enmon_config *cfg = L->cfg;
    struct cfg_link *link = &cfg->links[dev->link];
    char f[FIELD_MAX];
    uint32_t own;
    if (load_collector_ref(L, map, base, &own) != 0)
        return -1;
    struct fy_node *at = own ? ydoc_child(map, "collector") : c->collector_at;
    if (!own)
        own = c->collector;
    if (cfg->ncollectors == 0)
        return 0;
    if (!own)
        return ydoc_error(&L->doc, map, join_field(f, base, "collector"),
                          "device '%s' (link %s) has no collector: set collector: on the device "
                          "or its site (every link belongs to one of collectors:)",
                          dev->id, link->uri);
    if (!link->collector || link->collector == own) {
        link->collector = own;
        return 0;
    }
    const struct cfg_device *first = NULL;
    for (size_t i = 0; i < cfg->ndevices && !first; i++)
        if (cfg->devices[i].link == dev->link)
            first = &cfg->devices[i];
    return ydoc_error(&L->doc, at ? at : map, join_field(f, base, "collector"),
                      "link %s assigned to collectors '%s' and '%s' (device '%s', line %d): a "
                      "link belongs to one collector",
                      link->uri, cfg->collectors[link->collector - 1], cfg->collectors[own - 1],
                      first ? first->id : "?", first ? first->line : 0);
}

static int load_device(struct loader *L, struct fy_node *map, const char *base,
                       const struct site_copy *c)
{
    static const char *const keys[] = {
        "id",      "name",    "kind",         "link",    "unit",         "capacity", "interval",
        "timeout", "retries", "sunspec_base", "welfare", "commissioned", "retrofit", "map",
        "max_regs", "max_gap", "pause", "connect_pause", "sunspec_device", "pf_percent",
        "storage",  "collector", NULL};
    struct enmon_config *cfg = L->cfg;
    struct cfg_device dev = {
        .site = c->site,
        .program = c->program,
        .interval_ms = cfg->default_interval_ms,
        .timeout_ms = cfg->default_timeout_ms,
        .retries = cfg->default_retries,
        .sunspec_base = -1,
        .sunspec_device = 1,
        .max_regs = 125,
        .max_gap = 8,
        .line = ydoc_line(map),
    };

    if (ydoc_expect_map(&L->doc, map, base) || ydoc_check_keys(&L->doc, map, base, keys) ||
        load_device_ids(L, map, base, c, &dev) || load_device_link(L, map, base, &dev) ||
        load_device_unit(L, map, base, c, &dev) || load_device_options(L, map, base, &dev) ||
        check_device_collector(L, map, base, c, &dev) || check_device_unit(L, map, base, &dev))
        return -1;
    struct cfg_device *arr =
        grow_array(cfg->devices, &L->cap_devices, cfg->ndevices + 1, sizeof(*cfg->devices));
    if (!arr)
        return out_of_memory(L, base);
    cfg->devices = arr;
    cfg->devices[cfg->ndevices++] = dev;
    return 0;
}

/* ---- sites and programs ----------------------------------------------------------------- */

static int load_site_copy(struct loader *L, struct fy_node *map, const char *base,
                          struct site_copy *c)
{
    struct enmon_config *cfg = L->cfg;
    struct cfg_site site = {.program = c->program};
    char f[FIELD_MAX];

    if (get_id(L, map, base, c, site.id) != 0)
        return -1;
    for (size_t i = 0; i < cfg->nsites; i++)
        if (strcmp(cfg->sites[i].id, site.id) == 0)
            return ydoc_error(&L->doc, ydoc_child(map, "id"), join_field(f, base, "id"),
                              "duplicate site id '%s'", site.id);
    int rc =
        get_expanded(L, map, "name", join_field(f, base, "name"), c, site.name, sizeof(site.name));
    if (rc < 0)
        return -1;
    if (rc == 0)
        snprintf(site.name, sizeof(site.name), "%s", site.id);
    struct cfg_site *arr =
        grow_array(cfg->sites, &L->cap_sites, cfg->nsites + 1, sizeof(*cfg->sites));
    if (!arr)
        return out_of_memory(L, base);
    cfg->sites = arr;
    c->site = (uint32_t)cfg->nsites;
    cfg->sites[cfg->nsites++] = site;

    struct fy_node *devs = ydoc_child(map, "devices");
    if (devs && ydoc_expect_seq(&L->doc, devs, join_field(f, base, "devices")))
        return -1;
    for (int j = 0; j < ydoc_seq_len(devs); j++)
        if (load_device(L, ydoc_seq_at(devs, j), index_field(f, base, "devices", j), c))
            return -1;
    return 0;
}

static int load_site(struct loader *L, struct fy_node *map, const char *base, uint32_t program)
{
    static const char *const keys[] = {"id", "name", "count", "devices", "collector", NULL};
    char f[FIELD_MAX];
    long count = 1;
    uint32_t collector;

    if (ydoc_expect_map(&L->doc, map, base) || ydoc_check_keys(&L->doc, map, base, keys) ||
        load_collector_ref(L, map, base, &collector) != 0)
        return -1;
    if (ydoc_int(&L->doc, map, "count", join_field(f, base, "count"), 1, SITE_COUNT_MAX, &count) <
        0)
        return -1;
    struct site_copy c = {.program = program, .width = digits_of(count), .collector = collector,
                          .collector_at = ydoc_child(map, "collector")};
    for (c.n = 1; c.n <= count; c.n++)
        if (load_site_copy(L, map, base, &c) != 0)
            return -1;
    return 0;
}

static int load_program_fields(struct loader *L, struct fy_node *map, const char *base,
                               struct cfg_program *p)
{
    struct enmon_config *cfg = L->cfg;
    char f[FIELD_MAX];
    int kind, rc;

    if (get_id(L, map, base, NULL, p->id) != 0)
        return -1;
    for (size_t i = 0; i < cfg->nprograms; i++)
        if (strcmp(cfg->programs[i].id, p->id) == 0)
            return ydoc_error(&L->doc, ydoc_child(map, "id"), join_field(f, base, "id"),
                              "duplicate program id '%s'", p->id);
    rc = ydoc_str(&L->doc, map, "name", join_field(f, base, "name"), p->name, sizeof(p->name));
    if (rc < 0)
        return -1;
    if (rc == 0)
        snprintf(p->name, sizeof(p->name), "%s", p->id);
    rc = ydoc_enum(&L->doc, map, "kind", join_field(f, base, "kind"), config_program_kind_names, &kind);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return missing(L, map, base, "kind");
    p->kind = (enum program_kind)kind;
    return 0;
}

static int load_program(struct loader *L, struct fy_node *map, const char *base)
{
    static const char *const keys[] = {"id", "name", "kind", "sites", NULL};
    struct enmon_config *cfg = L->cfg;
    struct cfg_program p;
    char f[FIELD_MAX];

    memset(&p, 0, sizeof(p));
    if (ydoc_expect_map(&L->doc, map, base) || ydoc_check_keys(&L->doc, map, base, keys) ||
        load_program_fields(L, map, base, &p) != 0)
        return -1;
    struct cfg_program *arr =
        grow_array(cfg->programs, &L->cap_programs, cfg->nprograms + 1, sizeof(*cfg->programs));
    if (!arr)
        return out_of_memory(L, base);
    cfg->programs = arr;
    uint32_t index = (uint32_t)cfg->nprograms;
    cfg->programs[cfg->nprograms++] = p;

    struct fy_node *sites = ydoc_child(map, "sites");
    if (sites && ydoc_expect_seq(&L->doc, sites, join_field(f, base, "sites")))
        return -1;
    for (int i = 0; i < ydoc_seq_len(sites); i++)
        if (load_site(L, ydoc_seq_at(sites, i), index_field(f, base, "sites", i), index) != 0)
            return -1;
    return 0;
}

static int load_programs(struct loader *L, struct fy_node *seq)
{
    char f[FIELD_MAX];

    if (!seq)
        return 0;
    if (ydoc_expect_seq(&L->doc, seq, "programs"))
        return -1;
    for (int i = 0; i < ydoc_seq_len(seq); i++)
        if (load_program(L, ydoc_seq_at(seq, i), index_field(f, "", "programs", i)) != 0)
            return -1;
    return 0;
}

/* ---- top level -------------------------------------------------------------------------- */

static void set_defaults(struct enmon_config *cfg, const char *path)
{
    snprintf(cfg->path, sizeof(cfg->path), "%s", path);
    snprintf(cfg->mqtt.host, sizeof(cfg->mqtt.host), "127.0.0.1");
    cfg->mqtt.port = 1883;
    snprintf(cfg->mqtt.topic_root, sizeof(cfg->mqtt.topic_root), "enmon");
    snprintf(cfg->mqtt.client_id, sizeof(cfg->mqtt.client_id), "enmond");
    cfg->mqtt.keepalive_s = 30;
    cfg->mqtt.qos = 1;
    cfg->mqtt.summary_interval_ms = 10000;
    snprintf(cfg->http.listen, sizeof(cfg->http.listen), "127.0.0.1");
    cfg->http.port = 8080;
    cfg->http.max_connections = 1000;
    cfg->http.connections_per_address = 32;
    cfg->http.max_streams = 500;
    cfg->http.metrics_per_device = 1;
    snprintf(cfg->database, sizeof(cfg->database), "/var/lib/enmond/enmon.db");
    cfg->storage.retry_buffer_readings = CFG_RETRY_BUFFER_DEFAULT;
    cfg->storage.readings_days = CFG_READINGS_DAYS_DEFAULT;
    cfg->storage.alerts_days = CFG_ALERTS_DAYS_DEFAULT;
    snprintf(cfg->historian.sslmode, sizeof(cfg->historian.sslmode), "verify-full");
    cfg->historian.interval_ms = 5000;
    snprintf(cfg->timezone, sizeof(cfg->timezone), "Asia/Seoul");
    cfg->utc_offset_min = CALTIME_KST_MIN;
    cfg->workers = 4;
    cfg->offline_after = 3;
    cfg->default_interval_ms = 5000;
    cfg->default_timeout_ms = 1000;
    cfg->default_retries = 1;
}

/* The alerts: section (after programs: overrides name programs, sites and devices). */
/* alert_find_id_fn over the programs, sites and devices loaded so far. */
static int find_loaded_id(const void *arg, enum alert_match what, const char *id)
{
    const struct enmon_config *cfg = arg;
    size_t n = what == ALERT_MATCH_PROGRAM ? cfg->nprograms
               : what == ALERT_MATCH_SITE  ? cfg->nsites
                                           : cfg->ndevices;
    for (size_t i = 0; i < n; i++) {
        const char *x = what == ALERT_MATCH_PROGRAM ? cfg->programs[i].id
                        : what == ALERT_MATCH_SITE  ? cfg->sites[i].id
                                                    : cfg->devices[i].id;
        if (strcmp(x, id) == 0)
            return (int)i;
    }
    return -1;
}

static int load_alerts(struct loader *L, struct fy_node *map)
{
    struct alert_config *ac = calloc(1, sizeof(*ac));
    if (!ac)
        return out_of_memory(L, "alerts");
    int rc = alert_config_load(&L->doc, map, find_loaded_id, L->cfg, L->tz_offset_s, ac);
    if (rc != ENMON_OK) {
        free(ac);
        L->rc = rc;
        return -1;
    }
    L->cfg->alerts = ac;
    return 0;
}

/* What enmond needs to start, checked here so that --check-config, a start and a
 * reload refuse the same files: devices to poll and a database path (http.listen,
 * an IPv4 literal, is checked with the http: section; RTU unit 0 with the unit). */
static int check_startable(struct loader *L, struct fy_node *root)
{
    struct enmon_config *cfg = L->cfg;
    struct fy_node *programs = ydoc_child(root, "programs");
    if (cfg->ndevices == 0)
        return ydoc_error(&L->doc, programs ? programs : root, "programs",
                          "no devices: a configuration must poll at least one device");
    if (!cfg->database[0])
        return ydoc_error(&L->doc, ydoc_child(root, "database"), "database",
                          "empty path: enmond needs a database file");
    return 0;
}

/* One storage.*_days key: 0 (keep everything) .. CFG_RETENTION_DAYS_MAX. */
static int load_storage_days(struct loader *L, struct fy_node *map, const char *key, int *out)
{
    char field[64];
    long v;
    snprintf(field, sizeof(field), "storage.%s", key);
    int rc = ydoc_int(&L->doc, map, key, field, 0, CFG_RETENTION_DAYS_MAX, &v);
    if (rc > 0)
        *out = (int)v;
    return rc < 0 ? -1 : 0;
}

/* The storage: section. */
static int load_storage(struct loader *L, struct fy_node *map)
{
    static const char *const keys[] = {"retry_buffer_readings", "readings_days", "intervals_days",
                                       "daily_days", "alerts_days", NULL};
    struct cfg_storage *s = &L->cfg->storage;
    long v;
    if (!map)
        return 0;
    if (ydoc_expect_map(&L->doc, map, "storage") || ydoc_check_keys(&L->doc, map, "storage", keys))
        return -1;
    int rc = ydoc_int(&L->doc, map, "retry_buffer_readings", "storage.retry_buffer_readings", 1,
                      100000000L, &v);
    if (rc > 0)
        s->retry_buffer_readings = v;
    if (rc < 0 || load_storage_days(L, map, "readings_days", &s->readings_days) != 0 ||
        load_storage_days(L, map, "intervals_days", &s->intervals_days) != 0 ||
        load_storage_days(L, map, "daily_days", &s->daily_days) != 0 ||
        load_storage_days(L, map, "alerts_days", &s->alerts_days) != 0)
        return -1;
    /* intervals are summed from readings as they are written, never from old rows, and
     * daily rollups are rebuilt from intervals (timezone change): a shorter window for
     * the coarser table would only lose what the finer one still holds */
    if (s->intervals_days > 0 && s->daily_days > 0 && s->daily_days < s->intervals_days)
        return ydoc_error(&L->doc, ydoc_child(map, "daily_days"), "storage.daily_days",
                          "shorter than storage.intervals_days: daily rollups would be pruned "
                          "before the intervals they sum");
    return 0;
}

/* historian.url: a postgresql:// URL without a password (password_file holds it, so it is
 * never in the configuration, the logs or the process list). */
static int check_historian_url(struct loader *L, struct fy_node *at)
{
    const char *u = L->cfg->historian.url;
    if (strncmp(u, "postgresql://", 13) != 0 && strncmp(u, "postgres://", 11) != 0)
        return ydoc_error(&L->doc, at, "historian.url", "not a postgresql:// URL");
    if (copy_url_has_password(u))
        return ydoc_error(&L->doc, at, "historian.url",
                          "has a password: put it in historian.password_file");
    return 0;
}

/* historian: a postgresql:// URL, or a mapping with url, sslmode, cafile, password_file,
 * and interval (docs/SCALING.md). */
static int load_historian(struct loader *L, struct fy_node *node)
{
    static const char *const keys[] = {"url",           "sslmode",  "cafile",
                                       "password_file", "interval", NULL};
    static const char *const modes[] = {"disable", "require", "verify-ca", "verify-full", NULL};
    struct cfg_historian *h = &L->cfg->historian;
    struct ydoc *d = &L->doc;
    long v;
    int mode = 3;
    if (!node)
        return 0;
    if (fy_node_is_scalar(node)) {
        size_t n;
        const char *s = fy_node_get_scalar(node, &n);
        if (n >= sizeof(h->url))
            return ydoc_error(d, node, "historian", "URL too long");
        memcpy(h->url, s, n);
        h->url[n] = '\0';
        /* the short form carries its TLS settings in the URL, checked as the mapping's */
        if (check_historian_url(L, node) != 0)
            return -1;
        if (copy_url_param(h->url, "sslmode", h->sslmode, sizeof(h->sslmode)) < 0 ||
            copy_url_param(h->url, "sslrootcert", h->cafile, sizeof(h->cafile)) < 0)
            return ydoc_error(d, node, "historian", "sslmode or sslrootcert too long");
        for (mode = 0; modes[mode] && strcmp(modes[mode], h->sslmode) != 0; mode++)
            ;
        if (!modes[mode])
            return ydoc_error(d, node, "historian", "sslmode=%s: expected one of disable, "
                              "require, verify-ca, verify-full", h->sslmode);
        if (mode >= 2 && !h->cafile[0])
            return ydoc_error(d, node, "historian", "sslmode=%s needs sslrootcert=FILE in the "
                              "URL (or the mapping form with cafile)", h->sslmode);
        return 0;
    }
    if (ydoc_expect_map(d, node, "historian") || ydoc_check_keys(d, node, "historian", keys))
        return -1;
    int rc = ydoc_str(d, node, "url", "historian.url", h->url, sizeof(h->url));
    if (rc < 0)
        return -1;
    if (rc == 0)
        return missing(L, node, "historian", "url");
    if (check_historian_url(L, ydoc_child(node, "url")) != 0 ||
        ydoc_enum(d, node, "sslmode", "historian.sslmode", modes, &mode) < 0 ||
        ydoc_str(d, node, "cafile", "historian.cafile", h->cafile, sizeof(h->cafile)) < 0 ||
        ydoc_str(d, node, "password_file", "historian.password_file", h->password_file,
                 sizeof(h->password_file)) < 0)
        return -1;
    snprintf(h->sslmode, sizeof(h->sslmode), "%s", modes[mode]);
    if (mode >= 2 && !h->cafile[0])
        return ydoc_error(d, ydoc_child(node, "sslmode") ? ydoc_child(node, "sslmode") : node,
                          "historian.cafile", "sslmode %s needs cafile", h->sslmode);
    if ((rc = ydoc_duration_ms(d, node, "interval", "historian.interval", 100, 3600000L, &v)) < 0)
        return -1;
    if (rc > 0)
        h->interval_ms = (int)v;
    return 0;
}

/* collectors: the names of the deployment's collectors (ids, each once), and collector: this
 * instance's name, one of them when they are declared (docs/SCALING.md). */
static int load_collectors(struct loader *L, struct fy_node *root)
{
    struct enmon_config *cfg = L->cfg;
    struct fy_node *seq = ydoc_child(root, "collectors");
    char f[FIELD_MAX];
    if (ydoc_str(&L->doc, root, "collector", "collector", cfg->collector,
                 sizeof(cfg->collector)) < 0)
        return -1;
    cfg->collector_line = ydoc_line(ydoc_child(root, "collector"));
    if (cfg->collector[0] && !valid_id(cfg->collector))
        return ydoc_error(&L->doc, ydoc_child(root, "collector"), "collector",
                          "invalid name '%s': use letters, digits, '_' and '-'", cfg->collector);
    if (!seq)
        return 0;
    cfg->collectors_line = ydoc_line(seq);
    if (ydoc_expect_seq(&L->doc, seq, "collectors"))
        return -1;
    int n = ydoc_seq_len(seq);
    if (n == 0)
        return ydoc_error(&L->doc, seq, "collectors", "empty: name at least one collector");
    if (!(cfg->collectors = calloc((size_t)n, sizeof(*cfg->collectors))))
        return out_of_memory(L, "collectors");
    for (int i = 0; i < n; i++) {
        struct fy_node *item = ydoc_seq_at(seq, i);
        size_t len = 0;
        const char *s = fy_node_is_scalar(item) ? fy_node_get_scalar(item, &len) : NULL;
        index_field(f, "", "collectors", i);
        if (!s || len >= CFG_ID_MAX)
            return ydoc_error(&L->doc, item, f, "expected a name of at most %d characters",
                              CFG_ID_MAX - 1);
        memcpy(cfg->collectors[i], s, len);
        cfg->collectors[i][len] = '\0';
        if (!valid_id(cfg->collectors[i]))
            return ydoc_error(&L->doc, item, f, "invalid name '%s': use letters, digits, '_' "
                              "and '-'", cfg->collectors[i]);
        for (int j = 0; j < i; j++)
            if (strcmp(cfg->collectors[j], cfg->collectors[i]) == 0)
                return ydoc_error(&L->doc, item, f, "duplicate collector '%s'",
                                  cfg->collectors[i]);
        cfg->ncollectors = (size_t)i + 1;
    }
    for (size_t i = 0; cfg->collector[0]; i++) {
        if (i == cfg->ncollectors)
            return ydoc_error(&L->doc, ydoc_child(root, "collector"), "collector",
                              "'%s' is not in collectors: (line %d)", cfg->collector,
                              cfg->collectors_line);
        if (strcmp(cfg->collectors[i], cfg->collector) == 0)
            break;
    }
    return 0;
}

static int load_root(struct loader *L, struct fy_node *root)
{
    static const char *const keys[] = {"mqtt",     "database", "timezone", "polling",
                                       "programs", "alerts",   "http",     "storage",
                                       "historian", "collectors", "collector", NULL};
    struct enmon_config *cfg = L->cfg;

    L->tz_offset_s = CALTIME_KST_MIN * (long)CALTIME_MINUTE_S;
    if (!root)
        return check_startable(L, root);
    if (ydoc_expect_map(&L->doc, root, "") || ydoc_check_keys(&L->doc, root, "", keys))
        return -1;
    if (load_mqtt(L, ydoc_child(root, "mqtt")) != 0 ||
        ydoc_str(&L->doc, root, "database", "database", cfg->database, sizeof(cfg->database)) < 0 ||
        load_timezone(L, root) != 0 || load_polling(L, ydoc_child(root, "polling")) != 0 ||
        load_http(L, ydoc_child(root, "http")) != 0 ||
        load_storage(L, ydoc_child(root, "storage")) != 0 ||
        load_historian(L, ydoc_child(root, "historian")) != 0 || load_collectors(L, root) != 0)
        return -1;
    if (load_programs(L, ydoc_child(root, "programs")) != 0)
        return -1;
    if (load_alerts(L, ydoc_child(root, "alerts")) != 0)
        return -1;
    return check_startable(L, root);
}

int config_load(const char *path, struct enmon_config **out, struct cfg_error *err)
{
    struct loader L = {.rc = ENMON_ERR_CONFIG};

    *out = NULL;
    int rc = ydoc_load(&L.doc, path, err);
    if (rc != ENMON_OK)
        return rc;
    L.cfg = calloc(1, sizeof(*L.cfg));
    if (!L.cfg) {
        ydoc_free(&L.doc);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return ENMON_ERR_NOMEM;
    }
    set_defaults(L.cfg, path);
    rc = load_root(&L, ydoc_root(&L.doc)) == 0 ? ENMON_OK : L.rc;
    ydoc_free(&L.doc);
    if (rc != ENMON_OK) {
        config_free(L.cfg);
        return rc;
    }
    *out = L.cfg;
    return ENMON_OK;
}

void config_free(struct enmon_config *cfg)
{
    if (!cfg)
        return;
    free(cfg->programs);
    free(cfg->sites);
    free(cfg->devices);
    free(cfg->links);
    free(cfg->collectors);
    for (size_t i = 0; i < cfg->nmaps; i++)
        regmap_free(cfg->maps[i]);
    free(cfg->maps);
    if (cfg->alerts)
        alert_config_release(cfg->alerts);
    free(cfg->alerts);
    free(cfg);
}
