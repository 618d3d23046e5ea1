/* tariff.h -- KRW value of energy (progressive residential tiers, a flat rate, or a general-service
 * time-of-use rate with a basic charge per kW) and avoided CO2 with dated grid emission factors:
 * pure functions. */
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

/* KEPCO time-of-use seasons and load periods (general service (B), industrial (B)). */
enum tariff_season { TARIFF_SUMMER, TARIFF_SPRING_AUTUMN, TARIFF_WINTER, TARIFF_SEASONS };
enum tariff_load { TARIFF_LIGHT, TARIFF_MID, TARIFF_PEAK, TARIFF_LOADS };
/* Kinds of day: weekdays use the period table; Saturdays bill peak hours as mid-load;
 * Sundays and public holidays are light-load all day. */
enum tariff_day { TARIFF_WEEKDAY, TARIFF_SATURDAY, TARIFF_HOLIDAY };

struct tariff_tou {
    int set;                                   /* 1: a time-of-use tariff */
    double rate[TARIFF_SEASONS][TARIFF_LOADS]; /* energy charge, KRW/kWh */
    double basic_krw_kw;                       /* per kW of billing demand and month */
    int ratchet;        /* 1: billing demand also from the past 11 months' Dec-Feb and Jul-Sep */
    char effective[11]; /* YYYY-MM-DD the rates are in force from ("" unknown) */
};

struct tariff {
    struct tariff_tou tou; /* set: a time-of-use tariff; flat and tiers are then unused */
    double flat_krw;       /* > 0: a flat rate per kWh; the tiers are then unused */
    struct tariff_tier tiers[TARIFF_TIERS_MAX]; /* non-summer months */
    size_t ntiers;
    struct tariff_tier summer[TARIFF_TIERS_MAX]; /* summer months (0 tiers: same as tiers) */
    size_t nsummer;
    unsigned summer_months; /* bit m set: month m (1..12) bills with the summer tiers */
};

/* KEPCO residential low-voltage energy charge (2023): non-summer 0-200 kWh 120.0,
 * 201-400 214.6, above 400 307.3 KRW/kWh; July and August 0-300, 301-450, above 450. */
void tariff_default_residential(struct tariff *t);

/* KEPCO general service (B), high voltage A, option II, rates in force from 2013-11-21
 * (docs/SAVINGS.md): basic 8,320 KRW/kW; KRW/kWh light/mid/peak: summer 56.1/109.0/191.1,
 * spring-autumn 56.1/78.6/109.3, winter 63.1/109.2/166.7. No ratchet. */
void tariff_default_general_tou(struct tariff *t);

/* Season of a month 1..12: June-August summer, November-February winter, else spring-autumn. */
enum tariff_season tariff_season_of(int month);

/* Load period of the local hour 0..23 of a day of month 1..12. Light 23-09 all year;
 * peak 10-12 and 13-17 (summer, spring-autumn) or 10-12, 17-20 and 22-23 (winter); mid
 * the rest. Saturdays: peak becomes mid; holidays: light. */
enum tariff_load tariff_load_of(int month, int hour, enum tariff_day day);

/* KRW/kWh of a time-of-use tariff at that month, hour and kind of day. */
double tariff_tou_rate(const struct tariff *t, int month, int hour, enum tariff_day day);

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
