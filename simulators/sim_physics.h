/* sim_physics.h -- pure physics of the simulator: sun, sky, clouds, PV output, household load,
 * heating and cooling. */
#ifndef ENMON_SIM_PHYSICS_H
#define ENMON_SIM_PHYSICS_H

#include <stdint.h>

/* Daejeon, Korea: the city the simulator stands in for (no daylight saving). */
#define SIM_LAT_DEG 36.35
#define SIM_LON_DEG 127.38
#define SIM_TZ_S (9 * 3600)

/* Every function here is pure: same arguments, same result; no I/O, no clock.
 * Times are UTC epoch seconds as doubles (fractions allowed). */

/* Deterministic hashing and smooth noise (value noise with smoothstep). */
uint64_t sim_hash2(uint64_t a, uint64_t b);
double sim_hash_unit(uint64_t h); /* [0, 1) */
/* Smooth noise in [0, 1): random node values every period_s seconds, eased between. */
double sim_smooth_noise(uint64_t key, double t, double period_s);

struct sim_sun {
    double elevation_deg; /* above the horizon; negative at night */
    double zenith_deg;
    double azimuth_deg; /* from north, clockwise (180 = south) */
};

/* Day of the year (1..366) of a UTC instant in local time (UTC+9). */
int sim_local_doy(double utc_s);
/* Solar declination (radians) and equation of time (minutes), Spencer (1971). */
double sim_declination_rad(double doy);
double sim_equation_of_time_min(double doy);
struct sim_sun sim_sun_position(double lat_deg, double lon_deg, double utc_s);

struct sim_irradiance {
    double ghi; /* global horizontal, W/m2 */
    double dni; /* direct normal */
    double dhi; /* diffuse horizontal */
};

/* Clear-sky irradiance for a solar zenith angle: GHI by Haurwitz, a fixed
 * diffuse share split off. All zero when the sun is below the horizon. */
struct sim_irradiance sim_clear_sky(double zenith_deg);

/* Fraction of clear-sky GHI reaching the ground (0.1..1) from seeded clouds:
 * a city-wide day type (clear, broken, overcast, with monthly odds) and drift
 * (weather_key) with a local component (site_key). Deterministic for given
 * keys and time. */
double sim_cloud_factor(uint64_t weather_key, uint64_t site_key, double utc_s);

/* Applies a cloud factor: scales GHI and raises the diffuse share. */
struct sim_irradiance sim_cloudy(struct sim_irradiance clear, double cloud_factor);

/* Plane-of-array irradiance (isotropic sky, ground albedo 0.2). */
double sim_poa(struct sim_irradiance irr, struct sim_sun sun, double tilt_deg, double azimuth_deg);

/* Ambient air temperature in Daejeon (seasonal and daily cycle, seeded day noise). */
double sim_ambient_c(uint64_t weather_key, double utc_s);

#define SIM_PV_LOSSES 0.14

/* AC output: min(capacity, capacity * poa/1000 * (1 - losses) * derate(t_cell)). */
double sim_inverter_ac_w(double capacity_w, double poa, double t_cell_c);

struct sim_pv {
    double capacity_w;
    double tilt_deg;
    double azimuth_deg;
    uint64_t weather_key; /* shared by the whole city: derived from the seed */
    uint64_t site_key;    /* local clouds */
    double soiling;       /* share of the plane-of-array light the modules use (1 = clean) */
};

struct sim_pv_out {
    double ac_w;
    double dc_w;
    double poa;
    double t_amb_c;
    double t_cell_c;
    double elevation_deg;
};

struct sim_pv_out sim_pv_output(const struct sim_pv *pv, double utc_s);

struct sim_household {
    double kwh_month; /* energy of an average month (365/12 days) without retrofit */
    int led_retrofit; /* LED lighting: homes 9% less in the evening lighting hours (18-23 h),
                         offices 12% less in working hours (weekdays 08-19 h) */
    int building;     /* an office building (working-hours shape) instead of a home */
    double shift_s;   /* this household's habits shifted by this many seconds */
    uint64_t key;     /* seeded noise */
};

#define SIM_LED_EVENING_FACTOR 0.91
/* An office's lighting is about 30 % of its working-hours use and LED tubes draw about 40 %
 * less than the fluorescent ones they replace: 0.30 x 0.40 = 12 % of that load. */
#define SIM_LED_OFFICE_FACTOR 0.88

/* Relative daily shape (mean 1 over a week) of a home, or of an office
 * building, at a local hour (0..24). */
double sim_load_shape(double local_hour, int weekend, int building);
/* Household demand in W at a UTC instant. */
double sim_household_w(const struct sim_household *h, double utc_s);

/* Heating and cooling with the weather: kW proportional to the degrees below a heating balance
 * point and above a cooling one, per device kind. Coefficients are shares of the device's mean
 * load (kwh_month) per kelvin: a 310 kWh/month home (424.7 W mean) adds 0.015 * 424.7 = 6.4 W
 * per K below 15 C (electric share of mostly gas floor heating: mats, heaters, pumps) and
 * 0.09 * 424.7 = 38.2 W per K above 22 C (air conditioning). An office building heats and
 * cools electrically (heat pumps) on weekdays 08:00-19:00 only, balance points 14 C and 20 C
 * (internal gains), 0.04 and 0.06 of its mean load per K. */
#define SIM_HOME_HEAT_BALANCE_C 15.0
#define SIM_HOME_COOL_BALANCE_C 22.0
#define SIM_HOME_HEAT_PER_K 0.015
#define SIM_HOME_COOL_PER_K 0.09
#define SIM_OFFICE_HEAT_BALANCE_C 14.0
#define SIM_OFFICE_COOL_BALANCE_C 20.0
#define SIM_OFFICE_HEAT_PER_K 0.04
#define SIM_OFFICE_COOL_PER_K 0.06

/* Mean load in W of a device using kwh_month in an average month (365/12 days). */
double sim_household_mean_w(double kwh_month);
/* Heating + cooling demand in W at an air temperature, a local hour (0..24) and day type:
 * mean_w * (heat_per_k * (balance_heat - T)+ + cool_per_k * (T - balance_cool)+). */
double sim_hvac_w(double mean_w, int building, double temp_c, double local_hour, int weekend);

/* A battery energy storage system (ESS) shifting a building's load: on the night before
 * each weekday it charges 23:00-07:00 (light-load hours) and on the weekday it discharges
 * 09:00-19:00 (the working day's mid- and peak-load hours), at constant powers. Weekends idle. */
struct sim_ess {
    double usable_kwh; /* energy stored between SIM_ESS_SOC_LOW and the top of the charge */
    double power_kw;   /* power conversion system rating */
    double efficiency; /* round trip, AC to AC (each way: its square root) */
    double from_s;     /* serves the weekdays from this instant on, charging from 23:00 the
                        * night before (0: always) */
};

#define SIM_ESS_SOC_LOW 0.10 /* state of charge after a discharge */
#define SIM_ESS_SOC_SPAN 0.80 /* share of the battery a full cycle uses */

/* Energy (kWh) stored per cycle: usable_kwh, or less when power_kw cannot move it in time. */
double sim_ess_cycle_kwh(const struct sim_ess *e);
/* Power at the ESS's own meter in W: > 0 charging (import), < 0 discharging (export). */
double sim_ess_w(const struct sim_ess *e, double utc_s);
/* State of charge 0..1: linear while charging and discharging. */
double sim_ess_soc(const struct sim_ess *e, double utc_s);

/* Grid voltage (220..230 V) seen on a feeder and frequency (60 Hz +- 0.02). */
double sim_grid_voltage(uint64_t feeder_key, uint64_t device_key, double utc_s);
double sim_grid_frequency(uint64_t weather_key, double utc_s);

#endif
