/* kma_csv.h -- the KMA ASOS hourly CSV (data.kma.go.kr): encoding, columns by name, hourly
 * temperatures per station with the missing hours filled in (pure). */
#ifndef ENMON_KMA_CSV_H
#define ENMON_KMA_CSV_H

/* Pure: bytes in, rows out. The caller converts CP949 to UTF-8 (iconv) before
 * kma_csv_parse; this module never does I/O. Format (docs/SAVINGS.md, "Weather data"):
 * a header line naming the columns (지점 station number, 일시 local KST time
 * "YYYY-MM-DD HH:MM", 기온(°C) air temperature; 지점명 and every other column
 * ignored), then one line per station and hour. An empty 기온 is a missing hour. */

#include <stddef.h>
#include <stdint.h>

#define KMA_KST_OFFSET_S (9 * 3600) /* 일시 is Korea Standard Time, UTC+09:00, no DST */
#define KMA_STATION_MAX 99999L
#define KMA_TEMP_MIN_C (-90.0) /* outside the world's records: a unit or column mistake */
#define KMA_TEMP_MAX_C 60.0
#define KMA_ERRORS_MAX 50             /* bad lines kept with their message; more are only counted */
#define KMA_GAP_MAX_H (366 * 24 * 20) /* a gap longer than 20 years is a bad date, not data */

enum kma_encoding {
    KMA_ENC_UTF8,     /* valid UTF-8 without a byte-order mark (or plain ASCII) */
    KMA_ENC_UTF8_BOM, /* starts with EF BB BF */
    KMA_ENC_CP949,    /* not valid UTF-8: the portal's default, CP949 (EUC-KR) */
};

/* The encoding of a file from its bytes: a UTF-8 byte-order mark, else valid UTF-8
 * throughout, else CP949. */
enum kma_encoding kma_csv_detect(const char *buf, size_t len);
const char *kma_encoding_name(enum kma_encoding e);

/* One station-hour. ts_s is the UTC instant of the hour's 일시 (a whole hour). */
struct kma_row {
    int32_t station;
    uint32_t line; /* file line; 0 for a gap hour the file does not have */
    int64_t ts_s;
    double temp_c; /* NAN when missing */
};

struct kma_error {
    uint32_t line;
    char why[160]; /* "FIELD: reason" */
};

struct kma_data {
    struct kma_row *rows; /* sorted by station, then hour; one row per hour from each
                             station's first hour to its last, gaps filled (line 0, NAN) */
    size_t nrows, cap;
    size_t lines;    /* data lines read */
    size_t stations; /* distinct stations */
    size_t empty;    /* hours whose 기온 was empty */
    size_t gaps;     /* hours missing between a station's first and last line */
    size_t nbad;     /* bad lines (nothing should be stored when > 0) */
    struct kma_error errors[KMA_ERRORS_MAX]; /* the first min(nbad, KMA_ERRORS_MAX) */
    size_t nerrors;
};

/* Parses a whole file given as UTF-8 (an optional byte-order mark is skipped, lines end
 * in LF or CRLF, fields may be double-quoted). Every bad line is counted in out->nbad
 * with a "FIELD: reason" message: a header without 지점, 일시 or 기온(°C), a bad date
 * or a time not on the hour, a bad station or temperature, a short line, an hour given
 * twice. Returns 0, or -1 when out of memory. kma_data_free releases out. */
int kma_csv_parse(const char *text, size_t len, struct kma_data *out);
void kma_data_free(struct kma_data *d);

/* One 일시 "YYYY-MM-DD HH:MM" (also "YYYY-MM-DD H:MM" and ":00" seconds) in KST -> UTC
 * epoch seconds. 0, or -1 with a reason in why. */
int kma_csv_time(const char *s, int64_t *out_s, const char **why);

#endif
