/* savings.c -- measurement-and-verification methods on daily energy series: metered baselines,
 * avoided energy, deemed savings, peak reduction, solar subsidy bands: pure functions. */
#include "savings.h"

#include "caltime.h"

#include <stdio.h>
#include <string.h>

void savings_opts_default(struct savings_opts *o)
{
    o->max_days = 365;
    o->min_days = 90;
    o->max_missing = 0.10;
    o->min_month_days = 4;
}

static void baseline_add(struct savings_baseline *b, const struct savings_day *d)
{
    int w = d->weekend ? 1 : 0;
    int m = d->month >= 1 && d->month <= 12 ? d->month : 0;
    b->sum[w][m] += d->kwh;
    b->n[w][m]++;
    if (m) {
        b->sum[w][0] += d->kwh;
        b->n[w][0]++;
    }
    if (d->peak_kw > b->peak_kw[m])
        b->peak_kw[m] = d->peak_kw;
    if (d->peak_kw > b->peak_kw[0])
        b->peak_kw[0] = d->peak_kw;
    b->days_with_data++;
}

static void baseline_judge(struct savings_baseline *b, const struct savings_opts *o)
{
    int missing = b->days - b->days_with_data;
    if (b->days_with_data == 0) {
        snprintf(b->reason, sizeof(b->reason), "no complete day of data in the %d days before",
                 o->max_days);
    } else if (b->days_with_data < o->min_days) {
        snprintf(b->reason, sizeof(b->reason), "%d days with data in the baseline, need %d",
                 b->days_with_data, o->min_days);
    } else if ((double)missing > o->max_missing * b->days + 1e-9) {
        snprintf(b->reason, sizeof(b->reason),
                 "%d of %d baseline days missing (%.1f%%, max %.1f%%)", missing, b->days,
                 100.0 * missing / b->days, 100.0 * o->max_missing);
    } else {
        b->sufficient = 1;
    }
}

void savings_baseline_fit(const struct savings_day *days, size_t n, int64_t end_s,
                          const struct savings_opts *o, struct savings_baseline *b)
{
    memset(b, 0, sizeof(*b));
    b->min_month_days = o->min_month_days;
    /* the whole window, whatever the data: a late first day of data is missing days */
    b->from_s = end_s - (int64_t)o->max_days * CALTIME_DAY_S;
    b->to_s = end_s;
    b->days = o->max_days;
    for (size_t i = 0; i < n; i++) {
        const struct savings_day *d = &days[i];
        if (d->valid && d->day_s >= b->from_s && d->day_s < end_s)
            baseline_add(b, d);
    }
    baseline_judge(b, o);
}

int savings_predict(const struct savings_baseline *b, int month, int weekend,
                    struct savings_prediction *p)
{
    int w = weekend ? 1 : 0;
    int m = month >= 1 && month <= 12 ? month : 0;
    memset(p, 0, sizeof(*p));
    if (m && b->n[w][m] >= b->min_month_days && b->n[w][m] > 0) {
        p->n = b->n[w][m];
        p->kwh = b->sum[w][m] / p->n;
        return 0;
    }
    if (b->n[w][0] == 0)
        return -1;
    p->n = b->n[w][0];
    p->kwh = b->sum[w][0] / p->n;
    p->fallback = 1;
    return 0;
}

static void avoided_day(const struct savings_baseline *b, const struct savings_day *d,
                        struct savings_day_result *r, struct savings_total *t)
{
    struct savings_prediction p;
    memset(r, 0, sizeof(*r));
    r->day_s = d->day_s;
    r->actual_kwh = d->kwh;
    t->days++;
    if (!d->valid) {
        t->days_missing++;
        return;
    }
    if (savings_predict(b, d->month, d->weekend, &p) != 0) {
        t->days_unpredicted++;
        return;
    }
    r->counted = 1;
    r->fallback = p.fallback;
    r->baseline_kwh = p.kwh;
    r->avoided_kwh = p.kwh - d->kwh;
    t->days_counted++;
    t->days_fallback += p.fallback;
    t->baseline_kwh += r->baseline_kwh;
    t->actual_kwh += r->actual_kwh;
    t->avoided_kwh += r->avoided_kwh;
}

void savings_avoided(const struct savings_baseline *b, const struct savings_day *days, size_t n,
                     struct savings_day_result *out, struct savings_total *t)
{
    memset(t, 0, sizeof(*t));
    for (size_t i = 0; i < n; i++) {
        struct savings_day_result r;
        avoided_day(b, &days[i], &r, t);
        if (out)
            out[i] = r;
    }
}

double savings_deemed_kwh(double fixtures, double old_w, double new_w, double hours_per_day,
                          int days)
{
    return fixtures * (old_w - new_w) * hours_per_day * days / 1000.0;
}

void savings_peak(const struct savings_baseline *b, const struct savings_day *days, size_t n,
                  double *base_kw, double *actual_kw)
{
    int months[13] = {0};
    *actual_kw = 0.0;
    for (size_t i = 0; i < n; i++) {
        if (!days[i].valid)
            continue;
        if (days[i].month >= 1 && days[i].month <= 12)
            months[days[i].month] = 1;
        if (days[i].peak_kw > *actual_kw)
            *actual_kw = days[i].peak_kw;
    }
    *base_kw = 0.0;
    int found = 0;
    for (int m = 1; m <= 12; m++) {
        if (!months[m] || b->peak_kw[m] <= 0.0)
            continue;
        found = 1;
        if (b->peak_kw[m] > *base_kw)
            *base_kw = b->peak_kw[m];
    }
    if (!found)
        *base_kw = b->peak_kw[0];
}

void savings_subsidy_default(struct savings_subsidy *s)
{
    memset(s, 0, sizeof(*s));
    s->bands[0] = (struct savings_band){.max_kw = 0, .rate_krw = 50.0};
    s->nbands = 1;
    s->years = 5;
}

double savings_subsidy_rate(const struct savings_subsidy *s, double capacity_kw)
{
    for (size_t i = 0; i < s->nbands; i++)
        if (capacity_kw >= s->bands[i].min_kw - 1e-9 &&
            (s->bands[i].max_kw <= 0.0 || capacity_kw <= s->bands[i].max_kw + 1e-9))
            return s->bands[i].rate_krw;
    return -1.0;
}

int64_t savings_subsidy_end(int64_t commissioned_s, int years, int offset_min)
{
    return caltime_add_years(commissioned_s, years, offset_min);
}
