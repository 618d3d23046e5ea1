/* sink.c -- the registry of reading sinks: submit to all, statistics and shutdown in one place. */
#include "sink.h"

#include "err.h"

#include <stdlib.h>

struct sink_registry {
    struct sink sinks[SINK_MAX];
    size_t n;
};

int sink_registry_new(struct sink_registry **out)
{
    *out = calloc(1, sizeof(**out));
    return *out ? ENMON_OK : ENMON_ERR_NOMEM;
}

int sink_register(struct sink_registry *reg, const struct sink *s)
{
    if (!s->submit)
        return ENMON_ERR_INVALID;
    if (reg->n == SINK_MAX)
        return ENMON_ERR_FULL;
    reg->sinks[reg->n++] = *s;
    return ENMON_OK;
}

void sink_submit_all(void *ctx, const struct reading *r)
{
    struct sink_registry *reg = ctx;
    for (size_t i = 0; i < reg->n; i++)
        reg->sinks[i].submit(reg->sinks[i].self, r);
}

size_t sink_count(const struct sink_registry *reg)
{
    return reg ? reg->n : 0;
}

void sink_get_stats(struct sink_registry *reg, size_t i, struct sink_stats *out)
{
    *out = (struct sink_stats){.name = reg->sinks[i].name};
    if (reg->sinks[i].stats)
        reg->sinks[i].stats(reg->sinks[i].self, out);
}

/* The sink to stop next: the lowest rank not yet stopped, the first registered among equals. */
static size_t next_to_stop(const struct sink_registry *reg, const unsigned char *stopped)
{
    size_t best = reg->n;
    for (size_t i = 0; i < reg->n; i++)
        if (!stopped[i] && (best == reg->n || reg->sinks[i].stop_rank < reg->sinks[best].stop_rank))
            best = i;
    return best;
}

void sink_stop_all(struct sink_registry *reg)
{
    unsigned char stopped[SINK_MAX] = {0};
    if (!reg)
        return;
    for (size_t k = 0; k < reg->n; k++) {
        size_t i = next_to_stop(reg, stopped);
        stopped[i] = 1;
        if (reg->sinks[i].stop)
            reg->sinks[i].stop(reg->sinks[i].self);
    }
    reg->n = 0;
}

void sink_registry_free(struct sink_registry *reg)
{
    free(reg);
}
