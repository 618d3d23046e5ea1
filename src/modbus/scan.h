/* scan.h -- enmon scan: probe the unit ids of one Modbus link for SunSpec devices. */
#ifndef ENMON_SCAN_H
#define ENMON_SCAN_H

#include "config.h"
#include "sunspec.h"

#include <stddef.h>
#include <stdint.h>

#define SCAN_UNIT_MAX 247
#define SCAN_DEFAULT_TIMEOUT_MS 300

/* What answered at a unit id. */
enum scan_kind {
    SCAN_INVERTER,   /* SunSpec chain with an inverter model (101-103, 111-113) */
    SCAN_METER,      /* SunSpec chain with a meter model (201-204, 211-214) */
    SCAN_SUNSPEC,    /* SunSpec chain without a model enmon decodes */
    SCAN_BAD_CHAIN,  /* 'SunS' found but the chain cannot be walked (see error) */
    SCAN_NOT_SUNSPEC /* answers Modbus requests, no SunSpec marker */
};

struct scan_device {
    int unit;
    enum scan_kind kind;
    int error;                    /* SCAN_BAD_CHAIN: the enmon_err of the walk, else ENMON_OK */
    uint16_t base;                /* address of 'SunS' (SunSpec kinds) */
    struct sunspec_common common; /* empty strings when model 1 is absent or unreadable */
    int nmodels;
    uint16_t models[SUNSPEC_MAX_MODELS]; /* model ids in chain order */
};

struct scan_options {
    uint8_t units[SCAN_UNIT_MAX + 1]; /* units[u] != 0: probe unit u */
    int timeout_ms;                   /* response timeout per request */
};

struct scan_result {
    struct scan_device *devices; /* in unit order; free with scan_result_free */
    size_t ndevices, cap;
    int probed;         /* unit ids probed */
    int silent;         /* of which timed out or were reported absent by a gateway (0x0B/0x0A) */
    int64_t elapsed_ms; /* wall time of the whole scan (CLOCK_MONOTONIC) */
};

/* Parses "1-247" or "1,2,5-9" into opt->units (cleared first; 0..247, ranges
 * ascending). Returns ENMON_OK or ENMON_ERR_PARSE. Pure. */
int scan_parse_units(const char *spec, struct scan_options *opt);

/* Parses a duration "300ms", "1s" or "1.5s" (a unit is required) within
 * 10 ms..10 s. Returns ENMON_OK or ENMON_ERR_PARSE. Pure. */
int scan_parse_timeout(const char *text, int *ms);

/* Parses "tcp://HOST:PORT" or "rtu:/dev/PORT?baud=9600&parity=N&data=8&stop=1"
 * (the syntax of the config's link:) into out. Returns ENMON_OK or
 * ENMON_ERR_PARSE with the reason in why. Pure. */
int scan_parse_link(const char *uri, struct cfg_link *out, char *why, size_t why_len);

/* Probes every unit of opt on the link, strictly one request at a time, and
 * records each unit that answers. Silent units (timeout, or gateway exceptions
 * 0x0A/0x0B) are skipped after one request. Returns ENMON_OK (res filled,
 * possibly with no devices), ENMON_ERR_CONNECT when the link cannot be opened
 * or is lost and cannot be reopened (res holds what was found until then), or
 * ENMON_ERR_NOMEM. */
int scan_link(const struct cfg_link *link, const struct scan_options *opt, struct scan_result *res);

void scan_result_free(struct scan_result *res);

/* "inverter", "meter", "sunspec", "SunSpec chain unreadable", "modbus device, not SunSpec". */
const char *scan_kind_name(enum scan_kind kind);

/* The columns of a scan's device table (enmon scan prints it). */
enum scan_col {
    SCAN_COL_UNIT,
    SCAN_COL_BASE,
    SCAN_COL_MANUFACTURER,
    SCAN_COL_MODEL,
    SCAN_COL_SERIAL,
    SCAN_COL_VERSION,
    SCAN_COL_MODELS,
    SCAN_COL_KIND,
    SCAN_COL__COUNT
};
#define SCAN_CELL_MAX 200

/* One device's cells: unit, SunSpec base, manufacturer, model, serial, version (printable
 * ASCII, '-' for unknown), the model ids of its chain and its kind. Pure. */
void scan_device_cells(const struct scan_device *d, char cells[SCAN_COL__COUNT][SCAN_CELL_MAX]);

/* The summary line "<prefix>probed N units in S s: A answered, B silent\n". Like snprintf.
 * Pure. */
size_t scan_format_summary(const struct scan_result *res, const char *prefix, char *buf,
                           size_t len);

/* Formats the inverters and meters found as YAML device entries for
 * enmond.yaml (a sequence: id from kind and serial, kind, link, unit, and
 * sunspec_base when not 40000); other devices and the summary as comments.
 * Like snprintf. Pure. */
size_t scan_format_entries(const struct scan_result *res, const char *link_uri, char *buf,
                           size_t len);

#endif
