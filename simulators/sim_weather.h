/* sim_weather.h -- a seeded hourly air temperature series for Daejeon (KMA station 133): climate
 * normals, daily cycle, multi-day swings, optional seasonal offsets; the KMA ASOS CSV writer. */
#ifndef ENMON_SIM_WEATHER_H
#define ENMON_SIM_WEATHER_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define SIM_WEATHER_STATION 133    /* KMA ASOS Daejeon */
#define SIM_WEATHER_TAU_DAYS 3.0   /* time constant of the multi-day swings (AR(1)) */
#define SIM_WEATHER_MEMORY_DAYS 40 /* days of the AR(1) sum kept (phi^40 = 1.6e-6) */

/* Monthly mean air temperature of Daejeon, 1991-2020 normals (C, January first; sources in
 * docs/SIMULATOR.md). */
extern const double SIM_WEATHER_NORMAL_C[12];

/* A temperature series: the seed draws every random part; offsets make a year hotter or
 * colder (a reporting year against its baseline). */
struct sim_weather {
    uint64_t seed;
    double summer_offset_c; /* added in June, July and August (local months) */
    double winter_offset_c; /* added in December, January and February */
    int64_t offset_from_s;  /* the offsets apply from this instant on (0: always) */
    /* optional table of the daily anomalies (sim_weather_tabulate): the same values faster */
    double *table;
    int64_t table_day0;
    size_t table_days;
};

/* Every function here but tabulate/free/write is pure. Times are UTC epoch seconds. */

/* The seasonal curve: piecewise linear in the month through nodes at mid-month, the nodes
 * chosen so each calendar month's mean is exactly its normal. */
double sim_weather_normal_at(double utc_s);
/* Daily cycle shape: -1 at 06:00, +1 at 15:00 local, half-cosines between. */
double sim_weather_daily_shape(double local_hour);
/* Multi-day anomaly (C) at the start of a local day (days since 1970-01-01 KST):
 * a(d) = sum_{k<MEMORY} phi^k * sigma(d-k) * sqrt(1 - phi^2) * z(d-k), phi = exp(-1/TAU). */
double sim_weather_anomaly_c(const struct sim_weather *w, int64_t local_day);
/* The seasonal offset in force at an instant (0, summer or winter offset). */
double sim_weather_offset_c(const struct sim_weather *w, double utc_s);
/* Air temperature (C) at an instant: normal + amplitude * shape + anomaly + offset. */
double sim_weather_temp_c(const struct sim_weather *w, double utc_s);

/* Fills w->table for the local days covering [from_s, to_s): 0, or -1 when out of memory. */
int sim_weather_tabulate(struct sim_weather *w, int64_t from_s, int64_t to_s);
void sim_weather_free(struct sim_weather *w);

/* Writes the KMA ASOS hourly CSV (UTF-8): "지점,지점명,일시,기온(°C)" and one row per hour
 * [from_s, to_s) (일시 local KST "YYYY-MM-DD HH:MM", temperature to 0.1 C).
 * 0, or -1 on a write error. */
int sim_weather_write_kma(FILE *out, const struct sim_weather *w, int station, int64_t from_s,
                          int64_t to_s);

/* `enmon-sim weather --from DATE --to DATE [--station 133] [--seed N] [--offset-summer C]
 * [--offset-winter C] [--offset-from DATE] [--out FILE]` (argv[0] is "weather"; implemented
 * in sim_weather_cli.c). Returns an exit status. */
int sim_weather_main(int argc, char **argv);

#endif
