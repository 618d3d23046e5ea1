/* collectors.c -- which links each enmond instance of a deployment polls, and the rest dropped. */
#include "collectors.h"
#include "alert_config.h"

#include "err.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

__attribute__((format(printf, 4, 5))) static int
fail(const struct enmon_config *cfg, struct cfg_error *err, int line, const char *fmt, ...)
{
    va_list ap;
    snprintf(err->file, sizeof(err->file), "%s", cfg->path);
    err->line = line;
    snprintf(err->field, sizeof(err->field), "collector");
    va_start(ap, fmt);
    vsnprintf(err->msg, sizeof(err->msg), fmt, ap);
    va_end(ap);
    return ENMON_ERR_CONFIG;
}

/* Alert overrides for the kept devices, device indices renumbered through map (-1 dropped). */
static void keep_overrides(struct alert_config *ac, const long *map)
{
    size_t n = 0;
    for (size_t i = 0; i < ac->noverrides; i++) {
        struct alert_override o = ac->overrides[i];
        if (o.device >= 0 && map[o.device] < 0)
            continue;
        if (o.device >= 0)
            o.device = (int)map[o.device];
        ac->overrides[n++] = o;
    }
    ac->noverrides = n;
}

/* Drops every link not owned by collector number own (1-based) and the devices on them. */
static int keep_owned(struct enmon_config *cfg, uint32_t own)
{
    long *link_map = malloc((cfg->nlinks + 1) * sizeof(*link_map));
    long *dev_map = malloc((cfg->ndevices + 1) * sizeof(*dev_map));
    if (!link_map || !dev_map) {
        free(link_map);
        free(dev_map);
        return ENMON_ERR_NOMEM;
    }
    size_t nl = 0, nd = 0;
    for (size_t i = 0; i < cfg->nlinks; i++) {
        link_map[i] = cfg->links[i].collector == own ? (long)nl : -1;
        if (link_map[i] >= 0)
            cfg->links[nl++] = cfg->links[i];
    }
    for (size_t i = 0; i < cfg->ndevices; i++) {
        struct cfg_device d = cfg->devices[i];
        dev_map[i] = link_map[d.link] >= 0 ? (long)nd : -1;
        if (dev_map[i] < 0)
            continue;
        d.link = (uint32_t)link_map[d.link];
        cfg->devices[nd++] = d;
    }
    if (cfg->alerts)
        keep_overrides(cfg->alerts, dev_map);
    cfg->nlinks = nl;
    cfg->ndevices = nd;
    free(link_map);
    free(dev_map);
    return ENMON_OK;
}

int collectors_select(struct enmon_config *cfg, const char *name, struct cfg_error *err)
{
    if (cfg->ncollectors == 0) {
        if (name)
            return fail(cfg, err, 1, "--collector %s: the configuration has no collectors: list",
                        name);
        return ENMON_OK;
    }
    int line = name ? cfg->collectors_line : cfg->collector_line;
    if (!name)
        name = cfg->collector;
    if (!name[0])
        return fail(cfg, err, cfg->collectors_line,
                    "collectors: are declared: start enmond with --collector NAME or set "
                    "collector: NAME");
    uint32_t own = 0;
    for (size_t i = 0; i < cfg->ncollectors && !own; i++)
        if (strcmp(cfg->collectors[i], name) == 0)
            own = (uint32_t)i + 1;
    if (!own)
        return fail(cfg, err, line, "'%s' is not in collectors:", name);
    snprintf(cfg->collector, sizeof(cfg->collector), "%s", cfg->collectors[own - 1]);
    char id[sizeof(cfg->mqtt.client_id)];
    if (snprintf(id, sizeof(id), "%s-%s", cfg->mqtt.client_id, cfg->collector) >= (int)sizeof(id))
        return fail(cfg, err, line, "mqtt.client_id with \"-%s\" appended is too long",
                    cfg->collector);
    memcpy(cfg->mqtt.client_id, id, sizeof(id));
    int rc = keep_owned(cfg, own);
    if (rc != ENMON_OK)
        return fail(cfg, err, line, "out of memory selecting collector '%s'", name);
    if (cfg->ndevices == 0)
        return fail(cfg, err, line, "collector '%s' owns no link: nothing to poll", name);
    return ENMON_OK;
}

void collectors_describe(const struct enmon_config *cfg, FILE *out)
{
    for (size_t c = 0; c < cfg->ncollectors; c++) {
        size_t nl = 0, nd = 0;
        for (size_t i = 0; i < cfg->nlinks; i++)
            nl += cfg->links[i].collector == c + 1;
        for (size_t i = 0; i < cfg->ndevices; i++)
            nd += cfg->links[cfg->devices[i].link].collector == c + 1;
        fprintf(out, "collector %s: %zu links, %zu devices", cfg->collectors[c], nl, nd);
        const char *sep = ": ";
        for (size_t i = 0; i < cfg->nlinks; i++)
            if (cfg->links[i].collector == c + 1) {
                fprintf(out, "%s%s", sep, cfg->links[i].uri);
                sep = ", ";
            }
        fputc('\n', out);
    }
}
