/* report.h -- read-only queries over the store's database: energy sums and device status. */
#ifndef ENMON_REPORT_H
#define ENMON_REPORT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

enum report_group {
    REPORT_BY_PROGRAM,
    REPORT_BY_SITE,
    REPORT_BY_DEVICE,
};

/* One group's energy over a period. Strings are valid during the callback only. */
struct report_energy_row {
    const char *key; /* program, site or device key */
    const char *name;
    const char *program; /* program key */
    const char *site;    /* site key: NULL when grouped by program */
    const char *kind;    /* program kind, or device kind when grouped by device */
    int devices;         /* devices with interval rows in the period */
    double wh_import;    /* sum of intervals' wh_import (consumed) */
    double wh_export;    /* sum of intervals' wh_export (produced / exported) */
};

/* One device's status and last reading. Strings are valid during the callback only. */
struct report_device_row {
    const char *key, *name, *program, *site, *kind;
    int online;             /* 1 online, 0 offline, -1 never polled */
    int64_t last_ts_ms;     /* last successful reading (UTC ms), 0 never */
    const char *last_error; /* NULL when the last poll succeeded */
    int has_power, has_import, has_export;
    double power_w, energy_import_wh, energy_export_wh; /* from the last reading */
};

/* A callback returns 0 to go on, anything else to stop early. */
typedef int (*report_energy_fn)(const struct report_energy_row *row, void *arg);
typedef int (*report_device_fn)(const struct report_device_row *row, void *arg);

/* Opens an enmon database read-only: db_open_readonly (db_open.h), for the REST API and the
 * dashboard. ENMON_OK, or ENMON_ERR_DB with a reason in msg (missing file, not an enmon
 * database, schema newer than this build). */
int report_open(const char *path, sqlite3 **out, char *msg, size_t msglen);

/* 1 when the per-program rollups hold [from_s, ...) exactly (daily: program_daily, else
 * program_intervals): every device is summed into its current program and retention took
 * nothing from them at or after from_s; ENMON_REPORT_ROLLUP=0 in the environment says 0. */
int report_use_rollup(sqlite3 *db, int daily, int64_t from_s);

/* Sums the intervals with start_s in [from_s, to_s) per group; every program,
 * site or device known to the database gets a row (0 Wh when it has no data).
 * Rows are ordered by program, site, device key. ENMON_OK or ENMON_ERR_DB. */
int report_energy(sqlite3 *db, int64_t from_s, int64_t to_s, enum report_group by,
                  report_energy_fn fn, void *arg, char *msg, size_t msglen);

/* Lists every device with its status and last reading, ordered by program,
 * site, device key. ENMON_OK or ENMON_ERR_DB. */
int report_devices(sqlite3 *db, report_device_fn fn, void *arg, char *msg, size_t msglen);

/* "program", "site", "device" -> group. ENMON_OK or ENMON_ERR_PARSE. */
int report_parse_group(const char *s, enum report_group *out);

#endif
