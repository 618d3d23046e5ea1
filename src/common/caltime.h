/* caltime.h -- calendar arithmetic at a fixed UTC offset: zones, strict dates, days, intervals. */
#ifndef ENMON_CALTIME_H
#define ENMON_CALTIME_H

/* Pure: libc arithmetic only. No I/O, no TZ variable, no localtime(): a zone is
 * resolved once (caltime_zone_offset) into minutes east of UTC and every other
 * function takes that offset. Days are proleptic Gregorian. */

#include <stddef.h>
#include <stdint.h>

#define CALTIME_MINUTE_S 60
#define CALTIME_HOUR_S 3600
#define CALTIME_DAY_S 86400
#define CALTIME_DAY_MS (CALTIME_DAY_S * 1000LL)
#define CALTIME_INTERVAL_S 900  /* one 15-minute interval */
#define CALTIME_KST_MIN 540     /* Korea time, UTC+09:00: the default zone */
#define CALTIME_OFFSET_MAX_H 14 /* no zone is further than 14 hours from UTC */

/* A local calendar instant, split. */
struct caltime_tm {
    int year, month, mday; /* month 1..12, mday 1..31 */
    int wday;              /* 0 Sunday .. 6 Saturday */
    int yday;              /* 0 = 1 January */
    int hour, min, sec;
};

int caltime_is_leap(int year);
/* Days of month (1..12) in year. */
int caltime_days_in_month(int year, int month);
/* Days since 1970-01-01 of a civil date, and back (H. Hinnant's algorithms). */
int64_t caltime_days_from_civil(int year, int month, int mday);
void caltime_civil_from_days(int64_t days, int *year, int *month, int *mday);

/* A zone as minutes east of UTC: a name of the zone table ("Asia/Seoul", "ROK",
 * "Asia/Tokyo", "Asia/Shanghai", "UTC", "Etc/UTC", "GMT", "Z") or a fixed offset
 * "+09:00", "-0530", "+09", "+9" (sign required, at most 14 hours). ENMON_OK,
 * ENMON_ERR_PARSE (a malformed offset) or ENMON_ERR_NOT_FOUND (an unknown name). */
int caltime_zone_offset(const char *s, int *offset_min);

/* "YYYY-MM-DD" (a local date at offset_min, 1970 or later, a real day: no
 * 2026-02-31) -> UTC epoch seconds of its local midnight. ENMON_OK or ENMON_ERR_PARSE. */
int caltime_parse_date(const char *s, int offset_min, int64_t *out_s);

/* "YYYY-MM-DD[(T|t| )HH:MM[:SS]][Z|z|+HH:MM|+HHMM|+HH|-...]" -> UTC epoch seconds;
 * without a zone the time is local at offset_min. ENMON_OK or ENMON_ERR_PARSE. */
int caltime_parse_datetime(const char *s, int offset_min, int64_t *out_s);

/* UTC epoch seconds -> the local calendar at offset_min. */
void caltime_split(int64_t ts_s, int offset_min, struct caltime_tm *out);

/* UTC epoch seconds -> local "YYYY-MM-DD", "YYYY-MM-DD HH:MM", "YYYY-MM-DD HH:MM:SS". */
void caltime_format_date(int64_t ts_s, int offset_min, char *buf, size_t len);
void caltime_format_minute(int64_t ts_s, int offset_min, char *buf, size_t len);
void caltime_format_time(int64_t ts_s, int offset_min, char *buf, size_t len);
/* "+09:00" for 540, "-05:30" for -330. */
void caltime_format_offset(int offset_min, char *buf, size_t len);

/* Local midnight at or before ts_s; the next local midnight after it (the end
 * of its day, exclusive); ts_s itself when it is a local midnight, else the next one. */
int64_t caltime_day_start(int64_t ts_s, int offset_min);
int64_t caltime_day_end(int64_t ts_s, int offset_min);
int64_t caltime_day_ceil(int64_t ts_s, int offset_min);

/* Start of the local 15-minute interval holding ts_s. */
int64_t caltime_interval_start(int64_t ts_s, int offset_min);

/* Local day of the week of ts_s: 0 Sunday .. 6 Saturday. */
int caltime_weekday(int64_t ts_s, int offset_min);

/* Local midnight of the first day of ts_s's month; of the next month. */
int64_t caltime_month_start(int64_t ts_s, int offset_min);
int64_t caltime_month_end(int64_t ts_s, int offset_min);

/* The same local date and time `years` later; 29 February becomes 1 March in a
 * year without one. */
int64_t caltime_add_years(int64_t ts_s, int years, int offset_min);

#endif
