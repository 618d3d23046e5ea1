/* cbl.h -- demand-response customer baseline load (KPX Mid(6/10) and Max(4/5)) and event
 * reductions: pure functions. */
#ifndef ENMON_CBL_H
#define ENMON_CBL_H

#include <stddef.h>
#include <stdint.h>

#define CBL_HOURS 24
#define CBL_DAYS_MAX 10
#define CBL_LOOKBACK_DAYS 45 /* prior days searched for eligible weekdays */

enum cbl_method {
    CBL_MID_6_10, /* last 10 eligible weekdays; per hour drop 2 highest, 2 lowest, average 6 */
    CBL_MAX_4_5,  /* last 5 eligible weekdays; per hour drop the lowest, average 4 */
};

/* One local day of a site: hourly kWh. */
struct cbl_day {
    int64_t day_s; /* UTC epoch s of local midnight */
    int weekday;   /* Monday..Friday and not a holiday */
    int event;     /* the site had a demand-response event that day */
    int complete;  /* every hour has data */
    double kwh[CBL_HOURS];
};

struct cbl_result {
    double kwh[CBL_HOURS];      /* baseline per local hour */
    int64_t days[CBL_DAYS_MAX]; /* the days used, latest first */
    int ndays;
};

/* "mid-6-10" / "max-4-5". */
const char *cbl_method_name(enum cbl_method m);
/* 0, or -1 for an unknown name. */
int cbl_parse_method(const char *s, enum cbl_method *out);

/* The baseline for an event on event_day_s from days (any order): the latest
 * eligible days before the event day (weekday, no event, complete, at most
 * CBL_LOOKBACK_DAYS back). 0, or -1 when fewer than the method needs were found
 * (out->ndays tells how many). */
int cbl_compute(enum cbl_method m, const struct cbl_day *days, size_t n, int64_t event_day_s,
                struct cbl_result *out);

/* Sums CBL and metered kWh over local hours [from_hour, to_hour) and returns
 * the reduction CBL - metered. */
double cbl_reduction(const struct cbl_result *cbl, const double metered[CBL_HOURS], int from_hour,
                     int to_hour, double *cbl_kwh, double *metered_kwh);

#endif
