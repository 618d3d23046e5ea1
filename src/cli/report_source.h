/* report_source.h -- where the CLI's reports read from: the SQLite file, or a PostgreSQL
 * historian's rows loaded into an in-memory database of the same schema. */
#ifndef ENMON_REPORT_SOURCE_H
#define ENMON_REPORT_SOURCE_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

/* What a command reads: the loader takes from PostgreSQL only that. */
enum report_need {
    REPORT_NEED_ENERGY,  /* programs, sites, devices; per device the sums of [from_s, to_s) */
    REPORT_NEED_DEVICES, /* programs, sites, devices, their status and last reading */
    REPORT_NEED_ALERTS,  /* programs, sites, devices, the alert history */
    REPORT_NEED_SAVINGS, /* programs, sites, devices with their dates, intervals, weather, DR
                          * events: report_source_open_savings() */
};

/* 1 when path is a PostgreSQL URL (postgresql:// or postgres://), else 0. */
int report_source_is_pg(const char *path);

/* A read-only SQLite handle holding what need reads. A file path opens the file itself
 * (db_open_readonly: the CLI's output stays what it was). A postgresql:// URL connects to the
 * historian (libpq: password from PGPASSWORD or ~/.pgpass, TLS settings in the URL), creates
 * the store's schema in memory (store_schema_migrate) and fills it with the historian's rows
 * for need; for REPORT_NEED_ENERGY one row per device holding its sums over [from_s, to_s),
 * summed by PostgreSQL from enmon_daily when the period is whole local days of the zone the
 * daily rows were built for (enmon_meta daily_offset_min), else from enmon_intervals, with the
 * period's bounds as constants on the partitioning column (partition pruning). The same
 * queries and printers then run on either (report.c, alert_store.c): the output is the same
 * by construction. ENMON_OK, or ENMON_ERR_DB with msg. */
int report_source_open(const char *path, enum report_need need, int64_t from_s, int64_t to_s,
                       sqlite3 **out, char *msg, size_t msglen);

/* For `enmon savings` and `enmon dr list` on a postgresql:// URL (a file: report_open): the
 * in-memory database holds the programs, sites and devices (with welfare, commissioned and
 * retrofit), the demand-response events, and the intervals and hourly weather of
 * [lo, to_s + 2 days), lo the earlier of from_s and (the earliest commissioning or retrofit
 * date of any device) - lookback_s; the intervals read from the pruned partitions of
 * enmon_intervals. The caller gives in from_s what its savings.yaml dates need (each less
 * the baseline), in lookback_s the baseline's length and a day. ENMON_OK, or ENMON_ERR_DB
 * with msg. */
int report_source_open_savings(const char *url, int64_t from_s, int64_t to_s, int64_t lookback_s,
                               sqlite3 **out, char *msg, size_t msglen);

#endif
