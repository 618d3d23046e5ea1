/* sim_history.h -- `enmon-sim history`: months of realistic 15-minute interval data (CSV) for the
 * devices of a simulated city, from the simulator's physics. */
#ifndef ENMON_SIM_HISTORY_H
#define ENMON_SIM_HISTORY_H

#include "sim_physics.h"
#include "sim_weather.h"
#include "tariff.h"

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_HISTORY_DR_DROP 0.3 /* share of a site's load shed during a demand-response event */

/* One device of the history: an enmond device id with the simulator's physical parameters. */
struct sim_history_device {
    char key[64];
    char site[64];
    int inverter;      /* 1: PV inverter (export), 0: meter (import, export of rooftop PV) */
    double capacity_w; /* inverter AC rating */
    double tilt_deg, azimuth_deg;
    double kwh_month;       /* meter: consumption of an average month */
    double pv_capacity_w;   /* meter: rooftop PV behind it */
    int building;           /* meter: office building load shape */
    int64_t retrofit_s;     /* LED retrofit from this instant (0: none) */
    struct sim_ess ess;     /* meter: a battery behind it (usable_kwh 0: none) */
    double feedback_saving; /* AMI feedback: load x (1 - this) from feedback_s (0: none) */
    int64_t feedback_s;
    const struct tariff *tariff; /* the ESS bills' time-of-use tariff (NULL: no bill) */
};

struct sim_history_event {
    char site[64];
    int64_t start_s, end_s;
};

struct sim_history_spec {
    uint64_t seed;
    int64_t from_s, to_s; /* [from_s, to_s), multiples of 900 */
    double dr_drop;
    const struct sim_history_event *events;
    size_t nevents;
    /* NULL: loads follow the fixed seasonal factor sim_history_season() (the default); else
     * they follow this temperature series: sim_hvac_w() added, no seasonal factor. */
    const struct sim_weather *weather;
    const int64_t *holidays; /* local midnights billed as Sundays (the ESS bills) */
    size_t nholidays;
};

/* sim_history_interval_ex() flags: the programs on (LED retrofit, AMI feedback, DR drop);
 * the battery taken out (the meter without its ESS). */
#define SIM_HISTORY_PROGRAMS 1
#define SIM_HISTORY_NO_ESS 2

/* One device's energy in one interval: what its meter records, and the behind-the-meter PV. */
struct sim_history_wh {
    double wh_import, wh_export;
    double wh_pv; /* PV production: an inverter's output, a meter's rooftop PV (0: none) */
};

/* Seasonal factor of household demand (winter heating, summer cooling), mean about 1. */
double sim_history_season(double utc_s);

/* Energy of a device in the 15-minute interval starting at start_s: Wh imported
 * and exported. Pure: the same arguments give the same result. */
void sim_history_interval(const struct sim_history_device *d, const struct sim_history_spec *s,
                          int64_t start_s, double *wh_import, double *wh_export);

/* The interval with the flags: SIM_HISTORY_PROGRAMS what the meter records; 0 the programs
 * switched off (no LED retrofit, no AMI feedback saving, no demand-response drop), same weather,
 * same occupants and random draws: the true counterfactual (the ESS stays); with
 * SIM_HISTORY_NO_ESS the battery is taken out. */
void sim_history_interval_ex(const struct sim_history_device *d, const struct sim_history_spec *s,
                             int64_t start_s, int flags, struct sim_history_wh *out);

/* Writes the truth file
 * "device,date,kind,actual_kwh,counterfactual_kwh,avoided_kwh,solar_kwh,no_ess_kwh":
 * one line per device and local day of the spec (sums of the intervals' rounded Wh).
 * 0, or -1 on a write error. */
int sim_history_write_truth(FILE *out, const struct sim_history_device *devs, size_t n,
                            const struct sim_history_spec *s);

/* Writes the ESS bill truth "device,month,days,kwh,no_ess_kwh,demand_kw,no_ess_demand_kw,
 * bill_krw,no_ess_bill_krw": per meter with a battery behind it (ess.usable_kwh > 0, kwh_month
 * > 0) and a time-of-use tariff, and per calendar month of the spec: the month's time-of-use
 * bill (ess_bill_month(), KEPCO's ratchet over the spec's months, the basic charge pro-rated
 * by the days of the month in the spec) of its import with the battery and without it.
 * 0, or -1 on a write error or no memory. */
int sim_history_write_bills(FILE *out, const struct sim_history_device *devs, size_t n,
                            const struct sim_history_spec *s);

/* Writes "device,start,wh_import,wh_export" and one line per device and
 * interval (start in UTC+9 with its offset). 0, or -1 on a write error. */
int sim_history_write(FILE *out, const struct sim_history_device *devs, size_t n,
                      const struct sim_history_spec *s);

/* `enmon-sim history --config SIM.yaml --enmond ENMOND.yaml --from DATE --to DATE
 * [--seed N] [--savings SAVINGS.yaml] [--dr-drop SHARE] [--weather] [--weather-offset-summer C]
 * [--weather-offset-winter C] [--weather-offset-from DATE] [--truth FILE.csv]
 * [--truth-bills FILE.csv] --out FILE.csv`
 * (argv[0] is "history"; implemented in sim_history_cli.c). Returns an exit status. */
int sim_history_main(int argc, char **argv);

#endif
