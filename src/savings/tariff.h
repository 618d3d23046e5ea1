/* tariff.h -- KRW value of energy (progressive residential tiers or a flat rate) and avoided CO2
 * with dated grid emission factors: pure functions. */
#ifndef ENMON_TARIFF_H
#define ENMON_TARIFF_H

#include <stddef.h>
#include <stdint.h>

#define TARIFF_TIERS_MAX 8
#define TARIFF_CO2_MAX 32

/* One tier: the kWh of a month up to upto_kwh (after the previous tier) cost rate_krw each.
 * upto_kwh <= 0 marks the last, unbounded tier. */
struct tariff_tier {
    double upto_kwh;
    double rate_krw;
};

struct tariff {
    double flat_krw; /* > 0: a flat rate per kWh; the tiers are then unused */
    struct tariff_tier tiers[TARIFF_TIERS_MAX]; /* non-summer months */
    size_t ntiers;
    struct tariff_tier summer[TARIFF_TIERS_MAX]; /* summer months (0 tiers: same as tiers) */
    size_t nsummer;
    unsigned summer_months; /* bit m set: month m (1..12) bills with the summer tiers */
};

/* KEPCO residential low-voltage energy charge (2023): non-summer 0-200 kWh 120.0,
 * 201-400 214.6, above 400 307.3 KRW/kWh; July and August 0-300, 301-450, above 450. */
void tariff_default_residential(struct tariff *t);

/* The energy charge in KRW of kwh consumed in one billing month (1..12). */
double tariff_energy_charge(const struct tariff *t, int month, double kwh);

/* KRW saved in a month by saved_kwh when actual_kwh was consumed: the charge of
 * (actual + saved) minus the charge of actual. A period covering only a share
 * (0 < share <= 1) of the month is pro-rated: both amounts are scaled up to the
 * whole month, billed, and the difference scaled back by share. Flat: saved x rate. */
double tariff_saved_krw(const struct tariff *t, int month, double actual_kwh, double saved_kwh,
                        double share);

/* A grid emission factor in force from from_s (UTC epoch s) on. */
struct co2_step {
    int64_t from_s;
    double t_per_mwh; /* tCO2/MWh == kg/kWh */
};

struct co2_table {
    struct co2_step steps[TARIFF_CO2_MAX]; /* ascending from_s */
    size_t n;
};

/* One step: 0.4173 tCO2/MWh (Korea, 2023) for all dates. */
void tariff_co2_default(struct co2_table *c);

/* Adds a step keeping the table sorted; -1 when full. */
int tariff_co2_add(struct co2_table *c, int64_t from_s, double t_per_mwh);

/* The factor in force at ts_s: the step with the latest from_s <= ts_s; before
 * the first step, the first step's factor. 0 for an empty table. */
double tariff_co2_factor(const struct co2_table *c, int64_t ts_s);

/* kg CO2 of kwh at ts_s. */
double tariff_co2_kg(const struct co2_table *c, int64_t ts_s, double kwh);

#endif
