/* metrics.h -- Prometheus text format (0.0.4) from enmond's statistics and the live table: pure. */
#ifndef ENMON_METRICS_H
#define ENMON_METRICS_H

#include "config.h"
#include "live.h"
#include "poller.h"
#include "sink.h"

#include <stdio.h>

/* Everything /metrics reports; a NULL pointer leaves its metrics out. */
struct metrics_input {
    const struct enmon_config *cfg;
    const struct live_dev *devs; /* cfg->ndevices entries */
    const struct poller_stats *poller;
    const struct sink_stats *sinks; /* the registry's sinks, in registration order */
    size_t nsinks;
    int per_program; /* 1: aggregates per program and device kind instead of device series */
};

/* The exposition as it is built: one growing buffer, no allocation per device. */
struct metrics_buf {
    char *data; /* malloc'd, not NUL-terminated; the caller frees it */
    size_t len, cap;
    int failed; /* out of memory: the text is incomplete */
};

/* Appends the exposition (as metrics_write) to b, grown as needed; set b->cap and data
 * beforehand to start from a buffer of a known size. Returns 0, or -1 when memory ran out. */
int metrics_render(struct metrics_buf *b, const struct metrics_input *in);

/* Writes the exposition: HELP and TYPE before each family, one sample per series. Device
 * series carry device, program, site and kind labels; power and energy only when the last
 * reading had the value (never a 0 for a failed read). With per_program, the device series
 * give way to enmon_program_* series labelled program and kind (docs/HTTP.md). Returns 0,
 * or -1 on a write error. */
int metrics_write(FILE *out, const struct metrics_input *in);

/* A label value escaped for the text format (backslash, double quote, line feed) into buf.
 * Returns the length, or -1 when buf is too small. */
int metrics_escape(const char *s, char *buf, size_t len);

#endif
