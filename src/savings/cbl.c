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

int cbl_method_days(enum cbl_method m)
{
    return m == CBL_MAX_4_5 ? 5 : 10;
}

const char *cbl_selection_name(enum cbl_selection s)
{
    return s == CBL_SEL_WHOLE_DAY ? "whole_day" : "hourly";
}

int cbl_parse_selection(const char *s, enum cbl_selection *out)
{
    if (strcmp(s, "hourly") == 0)
        *out = CBL_SEL_HOURLY;
    else if (strcmp(s, "whole_day") == 0)
        *out = CBL_SEL_WHOLE_DAY;
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

static double cbl_sum_hours(const struct cbl_day *d, int from_hour, int to_hour)
{
    double s = 0.0;
    for (int h = from_hour < 0 ? 0 : from_hour; h < to_hour && h < CBL_HOURS; h++)
        s += d->kwh[h];
    return s;
}

/* Stable ascending insertion sort of values v with their day indexes idx (may be NULL). */
static void cbl_sort(double *v, size_t *idx, int n)
{
    for (int i = 1; i < n; i++) {
        double x = v[i];
        size_t xi = idx ? idx[i] : 0;
        int j = i - 1;
        while (j >= 0 && v[j] > x) {
            v[j + 1] = v[j];
            if (idx)
                idx[j + 1] = idx[j];
            j--;
        }
        v[j + 1] = x;
        if (idx)
            idx[j + 1] = xi;
    }
}

/* The reference days: the first `want` candidates that are not abnormal against the average
 * daily kWh of the first `want` candidates. Fills out->days/ndays/abnormal; returns ndays. */
static int cbl_reference(const struct cbl_day *days, const size_t *cand, int ncand, int want,
                         size_t *ref, struct cbl_result *out)
{
    double avg = 0.0;
    for (int i = 0; i < want && i < ncand; i++)
        avg += cbl_sum_hours(&days[cand[i]], 0, CBL_HOURS);
    avg /= want;
    out->avg_kwh = avg;
    for (int i = 0; i < ncand && out->ndays < want; i++) {
        const struct cbl_day *d = &days[cand[i]];
        if (cbl_sum_hours(d, 0, CBL_HOURS) < CBL_ABNORMAL_SHARE * avg) {
            out->abnormal[out->nabnormal++] = d->day_s;
            continue;
        }
        ref[out->ndays] = cand[i];
        out->days[out->ndays++] = d->day_s;
    }
    return out->ndays;
}

static void cbl_hourly(const struct cbl_day *days, const size_t *ref, int want, int drop_low,
                       int keep, struct cbl_result *out)
{
    for (int h = 0; h < CBL_HOURS; h++) {
        double v[CBL_DAYS_MAX];
        for (int i = 0; i < want; i++)
            v[i] = days[ref[i]].kwh[h];
        cbl_sort(v, NULL, want);
        double sum = 0.0;
        for (int i = drop_low; i < drop_low + keep; i++)
            sum += v[i];
        out->kwh[h] = sum / keep;
    }
}

static void cbl_whole_day(const struct cbl_day *days, const size_t *ref, int want, int drop_low,
                          int keep, int from_hour, int to_hour, struct cbl_result *out)
{
    double v[CBL_DAYS_MAX];
    size_t idx[CBL_DAYS_MAX];
    for (int i = 0; i < want; i++) { /* ref is latest first: ties keep the later day lower */
        v[i] = cbl_sum_hours(&days[ref[i]], from_hour, to_hour);
        idx[i] = ref[i];
    }
    cbl_sort(v, idx, want);
    for (int h = 0; h < CBL_HOURS; h++) {
        double sum = 0.0;
        for (int i = drop_low; i < drop_low + keep; i++)
            sum += days[idx[i]].kwh[h];
        out->kwh[h] = sum / keep;
    }
}

int cbl_compute(enum cbl_method m, enum cbl_selection sel, const struct cbl_day *days, size_t n,
                int64_t event_day_s, int from_hour, int to_hour, struct cbl_result *out)
{
    int want = cbl_method_days(m);
    int drop_low = m == CBL_MAX_4_5 ? 1 : 2;
    int drop_high = m == CBL_MAX_4_5 ? 0 : 2;
    size_t cand[CBL_CANDIDATES_MAX], ref[CBL_DAYS_MAX];
    memset(out, 0, sizeof(*out));
    out->candidates = cbl_select(days, n, event_day_s, 2 * want, cand);
    if (out->candidates < want) { /* not even N eligible days: no average to test against */
        for (int i = 0; i < out->candidates; i++)
            out->days[i] = days[cand[i]].day_s;
        out->ndays = out->candidates;
        return -1;
    }
    if (cbl_reference(days, cand, out->candidates, want, ref, out) < want)
        return -1;
    int keep = want - drop_low - drop_high;
    if (sel == CBL_SEL_WHOLE_DAY)
        cbl_whole_day(days, ref, want, drop_low, keep, from_hour, to_hour, out);
    else
        cbl_hourly(days, ref, want, drop_low, keep, out);
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
