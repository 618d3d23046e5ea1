/* import.h -- `enmon import intervals` and `enmon import weather`: CSV interval data (15-minute or
 * hourly) and KMA hourly temperatures, each loaded in one all-or-nothing transaction, idempotent
 * on re-import. */
#ifndef ENMON_IMPORT_H
#define ENMON_IMPORT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define IMPORT_ERRORS_SHOWN 50 /* bad lines printed before "... and N more" */

enum import_step {
    IMPORT_STEP_AUTO, /* per device: hourly when every start is 1 h or more after the last;
                         rows less than 1 h apart and 3 in a row 1 h apart: an error */
    IMPORT_STEP_15M,
    IMPORT_STEP_1H,
};

struct import_result {
    size_t rows;      /* data lines read */
    size_t intervals; /* 15-minute intervals written */
    size_t devices;
    size_t hourly_devices; /* devices whose rows were hourly (split into 4) */
    size_t bad_lines;
    int64_t first_s, last_s; /* first and last interval start written */
};

/* One CSV data line "device,start,wh_import,wh_export" (empty energy = 0). */
struct import_line {
    char device[64];
    int64_t start_s;
    double wh_import, wh_export;
};

/* Parses one data line; a start whose own UTC offset is not offset_min is an error.
 * ENMON_OK, or ENMON_ERR_PARSE with "FIELD: reason" in why. */
int import_parse_line(const char *line, int offset_min, struct import_line *out, char *why,
                      size_t whylen);

/* Opens an existing enmon database read-write (never creates one). ENMON_OK or ENMON_ERR_DB. */
int import_open(const char *path, sqlite3 **out, char *msg, size_t msglen);

/* Reads the CSV from in (named `name` in messages), validates every line, and
 * writes the intervals in one transaction: any bad line (each reported to errs
 * as "NAME:LINE: FIELD: reason") means nothing is written. Hourly rows are
 * split evenly into four 15-minute intervals. Existing intervals of the same
 * device and start are replaced, so importing a file twice changes nothing.
 * The daily rollups of the days touched are recomputed. ENMON_OK,
 * ENMON_ERR_PARSE (bad lines), ENMON_ERR_NOMEM or ENMON_ERR_DB (msg). */
int import_intervals(sqlite3 *db, FILE *in, const char *name, int offset_min, enum import_step step,
                     FILE *errs, struct import_result *res, char *msg, size_t msglen);

/* What `enmon import weather` stored for one station. */
struct import_station {
    int station;
    size_t hours;            /* rows written: the file's hours and the gaps between them */
    size_t empty, gaps;      /* missing hours: an empty 기온, a gap between lines */
    int64_t first_s, last_s; /* first and last hour (UTC) */
};

struct import_weather_result {
    const char *encoding; /* "UTF-8", "UTF-8 with BOM" or "CP949" */
    size_t lines;         /* data lines read */
    size_t hours;         /* station-hours written (missing ones as NULL) */
    size_t missing;       /* of those, missing: empty + gaps */
    size_t bad_lines;
    struct import_station *stations; /* by station number; import_weather_free releases */
    size_t nstations;
};

/* Reads a KMA ASOS hourly CSV (kma_csv.h; CP949 converted to UTF-8 with iconv) from in,
 * named `name` in messages, brings the database to the current schema and writes every
 * station-hour into the weather table in one transaction: any bad line (each reported to
 * errs as "NAME:LINE: FIELD: reason") means nothing is written. The file's hours replace
 * stored ones (an empty 기온 stores NULL); a gap between two lines of a station stores NULL
 * only where no value was stored. ENMON_OK, ENMON_ERR_PARSE (bad lines or encoding),
 * ENMON_ERR_NOMEM or ENMON_ERR_DB (msg). */
int import_weather(sqlite3 *db, FILE *in, const char *name, FILE *errs,
                   struct import_weather_result *res, char *msg, size_t msglen);
void import_weather_free(struct import_weather_result *res);

#endif
