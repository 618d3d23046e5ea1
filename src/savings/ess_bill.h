/* ess_bill.h -- a month's time-of-use electricity bill of a 15-minute load series (energy by
 * season and load period, basic charge on the billing demand) and ESS savings: pure functions. */
#ifndef ENMON_ESS_BILL_H
#define ENMON_ESS_BILL_H

#include "tariff.h"

#include <stddef.h>

/* One 15-minute interval in local time. */
struct ess_interval {
    int month;           /* 1..12 */
    int hour;            /* 0..23 */
    enum tariff_day day; /* weekday, Saturday, Sunday/holiday */
    double kwh;          /* energy drawn from the grid in the interval */
};

struct ess_bill {
    double kwh;        /* energy of the intervals */
    double energy_krw; /* sum of kWh x rate(season, load period) */
    double demand_kw;  /* the month's own demand: max kWh x 4 in mid- and peak-load intervals */
    double billing_kw; /* demand billed: demand_kw, or the ratchet when higher */
    double basic_krw;  /* billing_kw x basic charge x share */
    double total_krw;
};

/* KRW of one interval's energy. */
double ess_energy_krw(const struct tariff *t, const struct ess_interval *iv);

/* Bills the intervals of one month. prior_kw: the ratchet demand (ess_ratchet_kw), used when
 * t->tou.ratchet and higher than the month's own; share (0 < share <= 1): the share of the
 * month the intervals cover, which pro-rates the basic charge. */
void ess_bill_month(const struct tariff *t, const struct ess_interval *iv, size_t n,
                    double prior_kw, double share, struct ess_bill *b);

/* KEPCO's 12-month rule: the highest demand_kw of the previous 11 months that are December,
 * January, February, July, August or September. months[i] (1..12) and demand_kw[i] describe
 * consecutive calendar months, i the month billed; months before index 0 are unknown (0). */
double ess_ratchet_kw(const int *months, const double *demand_kw, size_t i);

/* ESS savings of a month: bill(building load) - bill(grid import). */
double ess_savings_krw(const struct ess_bill *building, const struct ess_bill *grid);

#endif
