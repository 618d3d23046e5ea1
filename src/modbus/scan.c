/* scan.c -- enmon scan: probe the unit ids of one Modbus link for SunSpec devices. */
#include "scan.h"
#include "clock.h"
#include "err.h"
#include "link.h"
#include "link_uri.h"

#include <ctype.h>
#include <errno.h>
#include <modbus.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define SUNS_HI 0x5375 /* "Su" */
#define SUNS_LO 0x6E53 /* "nS" */
#define SCAN_BUSY_RETRIES 2
#define SCAN_BUSY_PAUSE_MS 100
#define SCAN_COMMON_LEN 66 /* registers of model 1 after its header (Mn..DA) */

/* ---- argument parsing (pure) ------------------------------------------------------------ */

static int parse_unit(const char *s, const char **end, int *unit)
{
    if (!isdigit((unsigned char)*s))
        return -1;
    char *e;
    long v = strtol(s, &e, 10);
    if (v < 1 || v > SCAN_UNIT_MAX)
        return -1;
    *unit = (int)v;
    *end = e;
    return 0;
}

int scan_parse_units(const char *spec, struct scan_options *opt)
{
    memset(opt->units, 0, sizeof(opt->units));
    const char *p = spec;
    do {
        int lo, hi;
        if (parse_unit(p, &p, &lo) != 0)
            return ENMON_ERR_PARSE;
        hi = lo;
        if (*p == '-' && (parse_unit(p + 1, &p, &hi) != 0 || hi < lo))
            return ENMON_ERR_PARSE;
        for (int u = lo; u <= hi; u++)
            opt->units[u] = 1;
        if (*p != ',' && *p != '\0')
            return ENMON_ERR_PARSE;
    } while (*p++ == ',');
    return ENMON_OK;
}

int scan_parse_timeout(const char *text, int *ms)
{
    char *end;
    errno = 0;
    double v = strtod(text, &end);
    if (end == text || errno != 0 || !(v >= 0))
        return ENMON_ERR_PARSE;
    if (strcmp(end, "s") == 0)
        v *= 1000.0;
    else if (strcmp(end, "ms") != 0)
        return ENMON_ERR_PARSE;
    if (v < 10.0 || v > 10000.0)
        return ENMON_ERR_PARSE;
    *ms = (int)(v + 0.5);
    return ENMON_OK;
}

int scan_parse_link(const char *uri, struct cfg_link *out, char *why, size_t why_len)
{
    const char *reason;
    if (link_uri_parse(uri, out, &reason) != 0) {
        snprintf(why, why_len, "%s", reason);
        return ENMON_ERR_PARSE;
    }
    return ENMON_OK;
}

/* ---- probing ---------------------------------------------------------------------------- */

/* One unit being probed: the read callback of sunspec_discover and what it saw. */
struct probe {
    struct link *link;
    int unit;
    int timeout_ms;
    int answered; /* some request got a reply (data or an exception other than 0x0A/0x0B) */
    int absent;   /* a gateway answered 0x0A/0x0B: no such unit behind it */
    int marker;   /* a read returned 'SunS' */
};

static int probe_read_once(struct probe *p, uint16_t addr, uint16_t count, uint16_t *dest)
{
    int rc = link_read(p->link, p->unit, LINK_HOLDING, addr, count, dest, p->timeout_ms);
    if (rc == ENMON_ERR_GATEWAY) {
        p->absent = 1;
        return ENMON_ERR_TIMEOUT; /* ends discovery at once, like silence */
    }
    if (rc == ENMON_OK || rc == ENMON_ERR_REJECTED || rc == ENMON_ERR_MODBUS ||
        rc == ENMON_ERR_BUSY)
        p->answered = 1;
    if (rc == ENMON_OK && count == 2 && dest[0] == SUNS_HI && dest[1] == SUNS_LO)
        p->marker = 1;
    return rc;
}

/* sunspec_read_fn: a holding register read of the probed unit; busy is retried. */
static int probe_read(void *ctx, uint16_t addr, uint16_t count, uint16_t *dest)
{
    struct probe *p = ctx;
    for (int attempt = 0;; attempt++) {
        int rc = probe_read_once(p, addr, count, dest);
        if (rc != ENMON_ERR_BUSY || attempt == SCAN_BUSY_RETRIES)
            return rc;
        clock_sleep_until_ms(clock_mono_ms() + SCAN_BUSY_PAUSE_MS);
    }
}

/* Manufacturer, model, version and serial from the chain's first model 1. */
static void probe_common(struct probe *p, const struct sunspec_chain *chain,
                         struct sunspec_common *out)
{
    memset(out, 0, sizeof(*out));
    for (int i = 0; i < chain->nmodels; i++) {
        if (chain->models[i].id != 1)
            continue;
        struct sunspec_model_ref ref = chain->models[i];
        if (ref.len > SCAN_COMMON_LEN)
            ref.len = SCAN_COMMON_LEN;
        uint16_t block[SCAN_COMMON_LEN + 2];
        if (sunspec_read_model(probe_read, p, &ref, block) == ENMON_OK)
            sunspec_common_decode(block, (size_t)ref.len + 2, out);
        return;
    }
}

static void describe_chain(struct probe *p, const struct sunspec_chain *chain,
                           struct scan_device *dev)
{
    dev->base = chain->base;
    dev->nmodels = chain->nmodels;
    for (int i = 0; i < chain->nmodels; i++)
        dev->models[i] = chain->models[i].id;
    probe_common(p, chain, &dev->common);
    struct sunspec_plan plan;
    if (sunspec_plan_build(chain, &plan) != ENMON_OK)
        dev->kind = SCAN_SUNSPEC;
    else
        dev->kind = plan.is_meter ? SCAN_METER : SCAN_INVERTER;
}

/* Probes one unit. Returns 1 with *dev filled when something answered, 0 when
 * the unit is silent, or ENMON_ERR_CONNECT (negated) when the link failed. */
static int probe_unit(struct link *l, int unit, int timeout_ms, struct scan_device *dev)
{
    struct probe p = {.link = l, .unit = unit, .timeout_ms = timeout_ms};
    struct sunspec_chain chain;
    int rc = sunspec_discover(probe_read, &p, -1, &chain);
    memset(dev, 0, sizeof(*dev));
    dev->unit = unit;
    if (rc == ENMON_ERR_CONNECT)
        return -ENMON_ERR_CONNECT;
    if (rc == ENMON_OK) {
        describe_chain(&p, &chain, dev);
        return 1;
    }
    if (p.absent || !p.answered)
        return 0;
    dev->kind = p.marker ? SCAN_BAD_CHAIN : SCAN_NOT_SUNSPEC;
    dev->error = p.marker ? rc : ENMON_OK;
    return 1;
}

static int result_add(struct scan_result *res, const struct scan_device *dev)
{
    if (res->ndevices == res->cap) {
        size_t cap = res->cap ? 2 * res->cap : 16;
        struct scan_device *arr = realloc(res->devices, cap * sizeof(*arr));
        if (!arr)
            return ENMON_ERR_NOMEM;
        res->devices = arr;
        res->cap = cap;
    }
    res->devices[res->ndevices++] = *dev;
    return ENMON_OK;
}

/* Probes unit; a lost connection is reopened once (after the link's backoff). */
static int scan_unit(struct link *l, int unit, int timeout_ms, struct scan_result *res)
{
    struct scan_device dev;
    int rc = probe_unit(l, unit, timeout_ms, &dev);
    if (rc == -ENMON_ERR_CONNECT && l->connects > 0) {
        clock_sleep_until_ms(l->retry_at_ms);
        rc = probe_unit(l, unit, timeout_ms, &dev);
    }
    if (rc == -ENMON_ERR_CONNECT)
        return ENMON_ERR_CONNECT;
    res->probed++;
    if (rc == 0) {
        res->silent++;
        return ENMON_OK;
    }
    return result_add(res, &dev);
}

int scan_link(const struct cfg_link *cfg, const struct scan_options *opt, struct scan_result *res)
{
    memset(res, 0, sizeof(*res));
    int64_t start = clock_mono_ms();
    struct link l;
    link_init(&l, cfg);
    int rc = ENMON_OK;
    for (int unit = 1; unit <= SCAN_UNIT_MAX && rc == ENMON_OK; unit++)
        if (opt->units[unit])
            rc = scan_unit(&l, unit, opt->timeout_ms, res);
    link_close(&l);
    res->elapsed_ms = clock_mono_ms() - start;
    return rc;
}

void scan_result_free(struct scan_result *res)
{
    free(res->devices);
    memset(res, 0, sizeof(*res));
}

/* ---- formatting (pure) ------------------------------------------------------------------ */

const char *scan_kind_name(enum scan_kind kind)
{
    switch (kind) {
    case SCAN_INVERTER:
        return "inverter";
    case SCAN_METER:
        return "meter";
    case SCAN_SUNSPEC:
        return "sunspec";
    case SCAN_BAD_CHAIN:
        return "SunSpec chain unreadable";
    case SCAN_NOT_SUNSPEC:
        return "modbus device, not SunSpec";
    }
    return "unknown";
}

/* An output buffer with snprintf semantics: counts what did not fit. */
struct out {
    char *buf;
    size_t len, pos;
};

static void out_printf(struct out *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void out_printf(struct out *o, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    size_t room = o->pos < o->len ? o->len - o->pos : 0;
    int n = vsnprintf(room ? o->buf + o->pos : NULL, room, fmt, ap);
    va_end(ap);
    if (n > 0)
        o->pos += (size_t)n;
}

/* Copies s with every byte outside printable ASCII replaced by '?'; '-' when empty. */
static void printable(const char *s, char *dst, size_t len)
{
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++)
        dst[i] = s[i] >= 0x20 && s[i] < 0x7F ? s[i] : '?';
    dst[i] = '\0';
    if (i == 0 && len > 1)
        snprintf(dst, len, "-");
}

void scan_device_cells(const struct scan_device *d, char cells[SCAN_COL__COUNT][SCAN_CELL_MAX])
{
    int sunspec = d->kind != SCAN_NOT_SUNSPEC;
    snprintf(cells[SCAN_COL_UNIT], SCAN_CELL_MAX, "%d", d->unit);
    snprintf(cells[SCAN_COL_BASE], SCAN_CELL_MAX, sunspec ? "%u" : "-", (unsigned)d->base);
    printable(d->common.manufacturer, cells[SCAN_COL_MANUFACTURER], SCAN_CELL_MAX);
    printable(d->common.model, cells[SCAN_COL_MODEL], SCAN_CELL_MAX);
    printable(d->common.serial, cells[SCAN_COL_SERIAL], SCAN_CELL_MAX);
    printable(d->common.version, cells[SCAN_COL_VERSION], SCAN_CELL_MAX);
    struct out m = {cells[SCAN_COL_MODELS], SCAN_CELL_MAX, 0};
    for (int i = 0; i < d->nmodels; i++)
        out_printf(&m, "%s%u", i ? " " : "", (unsigned)d->models[i]);
    if (d->nmodels == 0)
        out_printf(&m, "-");
    if (d->kind == SCAN_BAD_CHAIN)
        snprintf(cells[SCAN_COL_KIND], SCAN_CELL_MAX, "%s: %s", scan_kind_name(d->kind),
                 enmon_strerror(d->error));
    else
        snprintf(cells[SCAN_COL_KIND], SCAN_CELL_MAX, "%s", scan_kind_name(d->kind));
}

static void format_summary(struct out *o, const struct scan_result *res, const char *prefix)
{
    out_printf(o, "%sprobed %d unit%s in %.2f s: %zu answered, %d silent\n", prefix, res->probed,
               res->probed == 1 ? "" : "s", (double)res->elapsed_ms / 1000.0, res->ndevices,
               res->silent);
}

size_t scan_format_summary(const struct scan_result *res, const char *prefix, char *buf,
                           size_t len)
{
    struct out o = {buf, len, 0};
    format_summary(&o, res, prefix);
    if (len > 0 && o.pos >= len)
        buf[len - 1] = '\0';
    return o.pos;
}

/* Config id "<kind>-<serial>" (lowercase, other characters as '-'), or
 * "<kind>-unit<N>" without a serial; "-u<N>" appended when an earlier device of
 * res has the same serial. */
static void entry_id(const struct scan_result *res, size_t idx, char *id, size_t len)
{
    const struct scan_device *d = &res->devices[idx];
    int dup = 0;
    for (size_t i = 0; i < idx; i++)
        dup |= res->devices[i].kind == d->kind &&
               strcmp(res->devices[i].common.serial, d->common.serial) == 0;
    struct out o = {id, len, 0};
    out_printf(&o, "%s-", scan_kind_name(d->kind));
    if (!d->common.serial[0])
        out_printf(&o, "unit%d", d->unit);
    for (const char *s = d->common.serial; *s; s++) {
        int ch = tolower((unsigned char)*s);
        out_printf(&o, "%c", isalnum(ch) && ch < 0x80 ? ch : ch == '_' ? '_' : '-');
    }
    if (dup && d->common.serial[0])
        out_printf(&o, "-u%d", d->unit);
}

/* A double-quoted YAML scalar of printable ASCII. */
static void yaml_quoted(struct out *o, const char *s)
{
    out_printf(o, "\"");
    for (; *s; s++) {
        if (*s == '"' || *s == '\\')
            out_printf(o, "\\%c", *s);
        else
            out_printf(o, "%c", *s >= 0x20 && *s < 0x7F ? *s : '?');
    }
    out_printf(o, "\"");
}

static void format_entry(struct out *o, const struct scan_result *res, size_t idx,
                         const char *link_uri)
{
    const struct scan_device *d = &res->devices[idx];
    char id[CFG_ID_MAX];
    entry_id(res, idx, id, sizeof(id));
    out_printf(o, "- id: %s\n  name: ", id);
    char name[sizeof(d->common.manufacturer) + sizeof(d->common.model) + sizeof(d->common.serial)];
    snprintf(name, sizeof(name), "%s%s%s%s%s", d->common.manufacturer,
             d->common.manufacturer[0] ? " " : "", d->common.model, d->common.model[0] ? " " : "",
             d->common.serial);
    yaml_quoted(o, name[0] ? name : id);
    out_printf(o, "\n  kind: %s\n  link: ", scan_kind_name(d->kind));
    yaml_quoted(o, link_uri);
    out_printf(o, "\n  unit: %d\n", d->unit);
    if (d->base != 40000)
        out_printf(o, "  sunspec_base: %u\n", (unsigned)d->base);
}

size_t scan_format_entries(const struct scan_result *res, const char *link_uri, char *buf,
                           size_t len)
{
    struct out o = {buf, len, 0};
    for (size_t i = 0; i < res->ndevices; i++) {
        const struct scan_device *d = &res->devices[i];
        if (d->kind == SCAN_INVERTER || d->kind == SCAN_METER)
            format_entry(&o, res, i, link_uri);
        else if (d->kind == SCAN_NOT_SUNSPEC)
            out_printf(&o, "# unit %d: %s: describe it with a register map (map:)\n", d->unit,
                       scan_kind_name(d->kind));
        else
            out_printf(&o, "# unit %d: %s: not configurable as an inverter or meter\n", d->unit,
                       scan_kind_name(d->kind));
    }
    format_summary(&o, res, "# ");
    if (len > 0 && o.pos >= len)
        buf[len - 1] = '\0';
    return o.pos;
}
