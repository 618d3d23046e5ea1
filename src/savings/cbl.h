/* cbl.h -- demand-response customer baseline load (KPX Mid(6/10) and Max(4/5)) and event
 * reductions: pure functions. */
#ifndef ENMON_CBL_H
#define ENMON_CBL_H

#include <stddef.h>
#include <stdint.h>

#define CBL_HOURS 24
#define CBL_DAYS_MAX 10         /* reference days of the largest method (Mid(6/10)) */
#define CBL_CANDIDATES_MAX 20   /* the maximum reference period: twice the reference days */
#define CBL_LOOKBACK_DAYS 45    /* prior days searched for eligible weekdays */
#define CBL_ABNORMAL_SHARE 0.75 /* a day below this share of the reference average is abnormal */

enum cbl_method {
    CBL_MID_6_10, /* 10 reference days: drop the 2 highest and the 2 lowest, average 6 */
    CBL_MAX_4_5,  /* 5 reference days: drop the lowest, average 4 */
};

/* How the highest and lowest reference days are chosen. */
enum cbl_selection {
    CBL_SEL_HOURLY,    /* per trading hour: each hour's values sorted and trimmed separately */
    CBL_SEL_WHOLE_DAY, /* whole days ranked by their kWh over the event hours (X-of-Y) */
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
    int64_t days[CBL_DAYS_MAX]; /* the reference days used, latest first */
    int ndays;
    int64_t abnormal[CBL_CANDIDATES_MAX]; /* eligible days left out as abnormal, latest first */
    int nabnormal;
    int candidates; /* eligible days found (at most CBL_CANDIDATES_MAX) */
    double avg_kwh; /* average daily kWh of the first reference days (the abnormal test) */
};

/* "mid-6-10" / "max-4-5". */
const char *cbl_method_name(enum cbl_method m);
/* 0, or -1 for an unknown name. */
int cbl_parse_method(const char *s, enum cbl_method *out);
/* Reference days of a method: 10 or 5. */
int cbl_method_days(enum cbl_method m);
/* "hourly" / "whole_day". */
const char *cbl_selection_name(enum cbl_selection s);
/* 0, or -1 for an unknown name. */
int cbl_parse_selection(const char *s, enum cbl_selection *out);

/* The baseline for an event on event_day_s over local hours [from_hour, to_hour), from days
 * (any order). Eligible days: before the event day, at most CBL_LOOKBACK_DAYS back, weekday,
 * no event, complete. The N reference days (N = 10 or 5) are the latest eligible days; their
 * average daily kWh A is taken, and a day under CBL_ABNORMAL_SHARE x A is left out and
 * replaced by the next earlier eligible day (itself tested against A), looking at most at the
 * 2N latest eligible days. The highest and lowest days are then dropped per hour (hourly) or
 * as whole days ranked by their kWh over the event hours (whole_day; on equal kWh the later
 * day ranks lower). 0, or -1 when fewer than N reference days were found (out->ndays tells
 * how many, out->nabnormal how many were abnormal). */
int cbl_compute(enum cbl_method m, enum cbl_selection sel, const struct cbl_day *days, size_t n,
                int64_t event_day_s, int from_hour, int to_hour, struct cbl_result *out);

/* Sums CBL and metered kWh over local hours [from_hour, to_hour) and returns
 * the reduction CBL - metered. */
double cbl_reduction(const struct cbl_result *cbl, const double metered[CBL_HOURS], int from_hour,
                     int to_hour, double *cbl_kwh, double *metered_kwh);

#endif
