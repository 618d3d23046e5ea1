/* cbl.c -- demand-response customer baseline load (KPX Mid(6/10) and Max(4/5)) and event
 * reductions: pure functions. */
#include "cbl.h"

#include "caltime.h"

#include <string.h>

const char *cbl_method_name(enum cbl_method m)
{
    return m == CBL_MAX_4_5 ? "max-4-5" : "mid-6-10";
}

int cbl_parse_method(const char *s, enum cbl_method *out)
{
    if (strcmp(s, "mid-6-10") == 0 || strcmp(s, "mid") == 0)
        *out = CBL_MID_6_10;
    else if (strcmp(s, "max-4-5") == 0 || strcmp(s, "max") == 0)
        *out = CBL_MAX_4_5;
    else
        return -1;
    return 0;
}

static int cbl_eligible(const struct cbl_day *d, int64_t event_day_s)
{
    int64_t earliest = event_day_s - (int64_t)CBL_LOOKBACK_DAYS * CALTIME_DAY_S;
    return d->weekday && !d->event && d->complete && d->day_s < event_day_s && d->day_s >= earliest;
}

/* Picks the `want` latest eligible days (indexes into days), latest first. */
static int cbl_select(const struct cbl_day *days, size_t n, int64_t event_day_s, int want,
                      size_t *pick)
{
    int got = 0;
    int64_t bound = event_day_s;
    while (got < want) {
        size_t best = n;
        for (size_t i = 0; i < n; i++) {
            if (!cbl_eligible(&days[i], event_day_s) || days[i].day_s >= bound)
                continue;
            if (best == n || days[i].day_s > days[best].day_s)
                best = i;
        }
        if (best == n)
            break;
        pick[got++] = best;
        bound = days[best].day_s;
    }
    return got;
}

static void sort_small(double *v, int n)
{
    for (int i = 1; i < n; i++) {
        double x = v[i];
        int j = i - 1;
        while (j >= 0 && v[j] > x) {
            v[j + 1] = v[j];
            j--;
        }
        v[j + 1] = x;
    }
}

int cbl_compute(enum cbl_method m, const struct cbl_day *days, size_t n, int64_t event_day_s,
                struct cbl_result *out)
{
    int want = m == CBL_MAX_4_5 ? 5 : 10;
    int drop_low = m == CBL_MAX_4_5 ? 1 : 2;
    int drop_high = m == CBL_MAX_4_5 ? 0 : 2;
    size_t pick[CBL_DAYS_MAX];
    memset(out, 0, sizeof(*out));
    out->ndays = cbl_select(days, n, event_day_s, want, pick);
    for (int i = 0; i < out->ndays; i++)
        out->days[i] = days[pick[i]].day_s;
    if (out->ndays < want)
        return -1;
    int keep = want - drop_low - drop_high;
    for (int h = 0; h < CBL_HOURS; h++) {
        double v[CBL_DAYS_MAX];
        for (int i = 0; i < want; i++)
            v[i] = days[pick[i]].kwh[h];
        sort_small(v, want);
        double sum = 0.0;
        for (int i = drop_low; i < drop_low + keep; i++)
            sum += v[i];
        out->kwh[h] = sum / keep;
    }
    return 0;
}

double cbl_reduction(const struct cbl_result *cbl, const double metered[CBL_HOURS], int from_hour,
                     int to_hour, double *cbl_kwh, double *metered_kwh)
{
    double c = 0.0, a = 0.0;
    for (int h = from_hour < 0 ? 0 : from_hour; h < to_hour && h < CBL_HOURS; h++) {
        c += cbl->kwh[h];
        a += metered[h];
    }
    if (cbl_kwh)
        *cbl_kwh = c;
    if (metered_kwh)
        *metered_kwh = a;
    return c - a;
}
