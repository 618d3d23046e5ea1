/* ess_bill.c -- a month's time-of-use electricity bill of a 15-minute load series (energy by
 * season and load period, basic charge on the billing demand) and ESS savings: pure functions. */
#include "ess_bill.h"

#include <string.h>

double ess_energy_krw(const struct tariff *t, const struct ess_interval *iv)
{
    return iv->kwh * tariff_tou_rate(t, iv->month, iv->hour, iv->day);
}

void ess_bill_month(const struct tariff *t, const struct ess_interval *iv, size_t n,
                    double prior_kw, double share, struct ess_bill *b)
{
    memset(b, 0, sizeof(*b));
    if (share <= 0.0 || share > 1.0)
        share = 1.0;
    for (size_t i = 0; i < n; i++) {
        b->kwh += iv[i].kwh;
        b->energy_krw += ess_energy_krw(t, &iv[i]);
        enum tariff_load load = tariff_load_of(iv[i].month, iv[i].hour, iv[i].day);
        double kw = iv[i].kwh * 4.0;
        if (load != TARIFF_LIGHT && kw > b->demand_kw)
            b->demand_kw = kw;
    }
    b->billing_kw = b->demand_kw;
    if (t->tou.ratchet && prior_kw > b->billing_kw)
        b->billing_kw = prior_kw;
    b->basic_krw = b->billing_kw * t->tou.basic_krw_kw * share;
    b->total_krw = b->energy_krw + b->basic_krw;
}

double ess_ratchet_kw(const int *months, const double *demand_kw, size_t i)
{
    double kw = 0.0;
    for (size_t k = i >= 11 ? i - 11 : 0; k < i; k++) {
        int m = months[k];
        int counts = m == 12 || m == 1 || m == 2 || m == 7 || m == 8 || m == 9;
        if (counts && demand_kw[k] > kw)
            kw = demand_kw[k];
    }
    return kw;
}

double ess_savings_krw(const struct ess_bill *building, const struct ess_bill *grid)
{
    return building->total_krw - grid->total_krw;
}
