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

#endif
