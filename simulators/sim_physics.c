/* sim_physics.c -- pure physics of the simulator: sun, sky, clouds, PV output, household load,
 * battery storage. */
#include "sim_physics.h"
#include "solar.h"

#include "caltime.h"

#include <math.h>

#define DEG (M_PI / 180.0)

uint64_t sim_hash2(uint64_t a, uint64_t b)
{
    /* splitmix64 finaliser over a combination of both words */
    uint64_t z = a * 0x9E3779B97F4A7C15ull + b + 0x632BE59BD9B4E019ull;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return z ^ (z >> 31);
}

double sim_hash_unit(uint64_t h)
{
    return (double)(h >> 11) * (1.0 / 9007199254740992.0);
}

double sim_smooth_noise(uint64_t key, double t, double period_s)
{
    double x = t / period_s;
    double slot = floor(x);
    double f = x - slot;
    int64_t s = (int64_t)slot;
    double a = sim_hash_unit(sim_hash2(key, (uint64_t)s));
    double b = sim_hash_unit(sim_hash2(key, (uint64_t)(s + 1)));
    double e = f * f * (3.0 - 2.0 * f);
    return a + (b - a) * e;
}

int sim_local_doy(double utc_s)
{
    struct caltime_tm tm;
    caltime_split((int64_t)floor(utc_s + SIM_TZ_S), 0, &tm);
    return tm.yday + 1;
}

double sim_declination_rad(double doy)
{
    return solar_declination_rad(doy);
}

double sim_equation_of_time_min(double doy)
{
    return solar_equation_of_time_min(doy);
}

struct sim_sun sim_sun_position(double lat_deg, double lon_deg, double utc_s)
{
    struct solar_pos p = solar_position(lat_deg, lon_deg, utc_s);
    struct sim_sun sun = {p.elevation_deg, p.zenith_deg, p.azimuth_deg};
    return sun;
}

#define CLEAR_DIFFUSE_SHARE 0.15 /* as in solar_clear_sky(): the diffuse share under clouds */

struct sim_irradiance sim_clear_sky(double zenith_deg)
{
    struct solar_irradiance c = solar_clear_sky(zenith_deg);
    struct sim_irradiance irr = {c.ghi, c.dni, c.dhi};
    return irr;
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* Chance of a clear and of an overcast day per month in Daejeon: dry clear
 * autumns and winters, the changma monsoon in July; the rest broken clouds. */
static const double P_CLEAR[12] = {0.35, 0.35, 0.30, 0.30, 0.30, 0.20,
                                   0.15, 0.20, 0.30, 0.45, 0.35, 0.30};
static const double P_OVERCAST[12] = {0.25, 0.25, 0.30, 0.30, 0.30, 0.40,
                                      0.50, 0.45, 0.30, 0.20, 0.25, 0.30};

/* Clear-sky index of the day around which the hours vary, and how much they
 * vary: clear days are steady, broken-cloud days swing between sun and shade. */
static void day_weather(uint64_t weather_key, double utc_s, double *base, double *swing)
{
    int64_t day = (int64_t)floor((utc_s + SIM_TZ_S) / CALTIME_DAY_S);
    struct caltime_tm tm;
    caltime_split(day * CALTIME_DAY_S, 0, &tm);
    double r = sim_hash_unit(sim_hash2(weather_key ^ 0xC10D, (uint64_t)day));
    double s = sim_hash_unit(sim_hash2(weather_key ^ 0xC10E, (uint64_t)day));
    if (r < P_CLEAR[tm.month - 1]) {
        *base = 0.90 + 0.10 * s;
        *swing = 0.10;
    } else if (r < 1.0 - P_OVERCAST[tm.month - 1]) {
        *base = 0.45 + 0.35 * s;
        *swing = 0.70;
    } else {
        *base = 0.15 + 0.20 * s;
        *swing = 0.20;
    }
}

double sim_cloud_factor(uint64_t weather_key, uint64_t site_key, double utc_s)
{
    double base, swing;
    day_weather(weather_key, utc_s, &base, &swing);
    double drift = sim_smooth_noise(weather_key ^ 0xD81F7, utc_s, 1800.0) - 0.5;
    double local = sim_smooth_noise(site_key ^ 0x10CA1, utc_s, 300.0) - 0.5;
    return clamp(base + swing * (0.6 * drift + 0.4 * local), 0.1, 1.0);
}

struct sim_irradiance sim_cloudy(struct sim_irradiance clear, double cloud_factor)
{
    struct sim_irradiance irr = clear;
    if (clear.ghi <= 0.0)
        return irr;
    double share = clamp(CLEAR_DIFFUSE_SHARE + (1.0 - cloud_factor) * 0.95, 0.0, 0.95);
    double beam_h = clear.ghi - clear.dhi; /* direct on the horizontal */
    irr.ghi = clear.ghi * cloud_factor;
    irr.dhi = irr.ghi * share;
    irr.dni = beam_h > 0.0 ? clear.dni * (irr.ghi - irr.dhi) / beam_h : 0.0;
    return irr;
}

#define ALBEDO 0.2

double sim_poa(struct sim_irradiance irr, struct sim_sun sun, double tilt_deg, double azimuth_deg)
{
    if (irr.ghi <= 0.0)
        return 0.0;
    double z = sun.zenith_deg * DEG;
    double tilt = tilt_deg * DEG;
    double cos_aoi =
        cos(z) * cos(tilt) + sin(z) * sin(tilt) * cos((sun.azimuth_deg - azimuth_deg) * DEG);
    double beam = cos_aoi > 0.0 ? irr.dni * cos_aoi : 0.0;
    double sky = irr.dhi * (1.0 + cos(tilt)) / 2.0;
    double ground = irr.ghi * ALBEDO * (1.0 - cos(tilt)) / 2.0;
    return beam + sky + ground;
}

double sim_ambient_c(uint64_t weather_key, double utc_s)
{
    double local = utc_s + SIM_TZ_S;
    double doy = sim_local_doy(utc_s) + fmod(local, CALTIME_DAY_S) / CALTIME_DAY_S;
    double hour = fmod(local, CALTIME_DAY_S) / 3600.0;
    double season = 12.8 - 13.5 * cos(2.0 * M_PI * (doy - 18.0) / 365.0);
    double daily = 4.5 * cos(2.0 * M_PI * (hour - 15.0) / 24.0);
    double noise = 4.0 * (sim_smooth_noise(weather_key ^ 0x7E3F, utc_s, CALTIME_DAY_S) - 0.5);
    return season + daily + noise;
}

#define TEMP_COEFF 0.0037 /* per kelvin above 25 C (crystalline silicon) */
#define NOCT_RISE 25.0    /* cell above ambient at 800 W/m2 */

double sim_inverter_ac_w(double capacity_w, double poa, double t_cell_c)
{
    if (poa <= 0.0 || capacity_w <= 0.0)
        return 0.0;
    double derate = clamp(1.0 - TEMP_COEFF * (t_cell_c - 25.0), 0.7, 1.05);
    double p = capacity_w * poa / 1000.0 * (1.0 - SIM_PV_LOSSES) * derate;
    if (p < 0.005 * capacity_w)
        return 0.0; /* below the start-up threshold the inverter sleeps */
    return p > capacity_w ? capacity_w : p;
}

#define INVERTER_EFFICIENCY 0.965

struct sim_pv_out sim_pv_output(const struct sim_pv *pv, double utc_s)
{
    struct sim_pv_out out;
    struct sim_sun sun = sim_sun_position(SIM_LAT_DEG, SIM_LON_DEG, utc_s);
    struct sim_irradiance clear = sim_clear_sky(sun.zenith_deg);
    double cf = sim_cloud_factor(pv->weather_key, pv->site_key, utc_s);
    out.poa = sim_poa(sim_cloudy(clear, cf), sun, pv->tilt_deg, pv->azimuth_deg) * pv->soiling;
    out.t_amb_c = sim_ambient_c(pv->weather_key, utc_s);
    out.t_cell_c = out.t_amb_c + out.poa * NOCT_RISE / 800.0;
    out.ac_w = sim_inverter_ac_w(pv->capacity_w, out.poa, out.t_cell_c);
    out.dc_w = out.ac_w > 0.0 ? out.ac_w / INVERTER_EFFICIENCY : 0.0;
    out.elevation_deg = sun.elevation_deg;
    return out;
}

/* Hourly shape of a Korean apartment household: low night base, a morning
 * peak, a quiet working day and a long evening peak (cooking, TV, lighting). */
static const double HOME_WEEKDAY[24] = {0.42, 0.36, 0.33, 0.32, 0.32, 0.36, 0.62, 1.10,
                                        1.05, 0.78, 0.66, 0.68, 0.82, 0.72, 0.66, 0.68,
                                        0.82, 1.15, 1.62, 1.95, 2.02, 1.88, 1.42, 0.85};
static const double HOME_WEEKEND[24] = {0.48, 0.40, 0.35, 0.33, 0.32, 0.34, 0.45, 0.72,
                                        1.05, 1.22, 1.20, 1.18, 1.28, 1.12, 1.02, 0.98,
                                        1.02, 1.20, 1.60, 1.90, 1.98, 1.85, 1.45, 0.90};
/* An office building (city hall): base load at night, full load in working hours. */
static const double OFFICE_WEEKDAY[24] = {0.55, 0.55, 0.55, 0.55, 0.55, 0.58, 0.70, 1.00,
                                          1.50, 1.80, 1.85, 1.85, 1.60, 1.80, 1.85, 1.85,
                                          1.80, 1.60, 1.20, 0.90, 0.75, 0.65, 0.60, 0.58};
static const double OFFICE_WEEKEND[24] = {0.55, 0.55, 0.55, 0.55, 0.55, 0.55, 0.56, 0.58,
                                          0.62, 0.66, 0.68, 0.68, 0.68, 0.68, 0.66, 0.64,
                                          0.62, 0.60, 0.58, 0.57, 0.56, 0.55, 0.55, 0.55};

struct load_profile {
    const double *weekday;
    const double *weekend;
    double weekday_mean; /* 5 * weekday_mean + 2 * weekend_mean = 7 */
    double weekend_mean;
    double noise; /* relative amplitude of the seeded noise */
};

static const struct load_profile HOME = {HOME_WEEKDAY, HOME_WEEKEND, 0.96, 1.10, 0.3};
static const struct load_profile OFFICE = {OFFICE_WEEKDAY, OFFICE_WEEKEND, 1.16, 0.60, 0.08};

static double table_mean(const double *t)
{
    double s = 0.0;
    for (int i = 0; i < 24; i++)
        s += t[i];
    return s / 24.0;
}

double sim_load_shape(double local_hour, int weekend, int building)
{
    const struct load_profile *p = building ? &OFFICE : &HOME;
    const double *t = weekend ? p->weekend : p->weekday;
    double h = fmod(local_hour, 24.0);
    if (h < 0)
        h += 24.0;
    int i = (int)h;
    double f = h - i;
    double v = t[i] + (t[(i + 1) % 24] - t[i]) * f;
    return v / table_mean(t) * (weekend ? p->weekend_mean : p->weekday_mean);
}

double sim_household_w(const struct sim_household *h, double utc_s)
{
    double local = utc_s + SIM_TZ_S - h->shift_s;
    int64_t day = (int64_t)floor(local / CALTIME_DAY_S);
    int dow = (int)(((day + 4) % 7 + 7) % 7); /* 1970-01-01 was a Thursday; 0 = Sunday */
    double hour = (local - (double)day * CALTIME_DAY_S) / 3600.0;
    double mean_w = h->kwh_month * 1000.0 * 12.0 / (365.0 * 24.0);
    double w = mean_w * sim_load_shape(hour, dow == 0 || dow == 6, h->building);
    /* mean-preserving noise: slow habits and short appliance cycles */
    double slow = sim_smooth_noise(h->key ^ 0x51, utc_s, 1800.0) - 0.5;
    double fast = sim_smooth_noise(h->key ^ 0xFA, utc_s, 120.0) - 0.5;
    double amp = h->building ? OFFICE.noise : HOME.noise;
    w *= 1.0 + amp * (slow + fast);
    int weekend = dow == 0 || dow == 6;
    if (h->led_retrofit && !h->building && hour >= 18.0 && hour < 23.0)
        w *= SIM_LED_EVENING_FACTOR;
    if (h->led_retrofit && h->building && !weekend && hour >= 8.0 && hour < 19.0)
        w *= SIM_LED_OFFICE_FACTOR;
    return w;
}

double sim_household_mean_w(double kwh_month)
{
    return kwh_month * 1000.0 * 12.0 / (365.0 * 24.0);
}

double sim_hvac_w(double mean_w, int building, double temp_c, double local_hour, int weekend)
{
    double heat_b = building ? SIM_OFFICE_HEAT_BALANCE_C : SIM_HOME_HEAT_BALANCE_C;
    double cool_b = building ? SIM_OFFICE_COOL_BALANCE_C : SIM_HOME_COOL_BALANCE_C;
    double heat_k = building ? SIM_OFFICE_HEAT_PER_K : SIM_HOME_HEAT_PER_K;
    double cool_k = building ? SIM_OFFICE_COOL_PER_K : SIM_HOME_COOL_PER_K;
    if (building && (weekend || local_hour < 8.0 || local_hour >= 19.0))
        return 0.0;
    double hdd = temp_c < heat_b ? heat_b - temp_c : 0.0;
    double cdd = temp_c > cool_b ? temp_c - cool_b : 0.0;
    return mean_w * (heat_k * hdd + cool_k * cdd);
}

double sim_grid_voltage(uint64_t feeder_key, uint64_t device_key, double utc_s)
{
    double feeder = sim_smooth_noise(feeder_key ^ 0xF0, utc_s, 1800.0) - 0.5;
    double local = sim_smooth_noise(device_key ^ 0xF1, utc_s, 60.0) - 0.5;
    return 225.0 + 7.0 * feeder + 2.0 * local;
}

double sim_grid_frequency(uint64_t weather_key, double utc_s)
{
    return 60.0 + 0.04 * (sim_smooth_noise(weather_key ^ 0xF2E9, utc_s, 20.0) - 0.5);
}

#define ESS_CHARGE_H 8.0     /* 23:00-07:00 */
#define ESS_IDLE_H 2.0       /* 07:00-09:00 full */
#define ESS_DISCHARGE_H 10.0 /* 09:00-19:00: the working day's mid- and peak-load hours */

double sim_ess_cycle_kwh(const struct sim_ess *e)
{
    double way = sqrt(e->efficiency > 0.0 ? e->efficiency : 1.0);
    double kwh = e->usable_kwh;
    if (e->power_kw * ESS_CHARGE_H * way < kwh)
        kwh = e->power_kw * ESS_CHARGE_H * way;
    if (e->power_kw * ESS_DISCHARGE_H / way < kwh)
        kwh = e->power_kw * ESS_DISCHARGE_H / way;
    return kwh > 0.0 ? kwh : 0.0;
}

/* Hours since the 23:00 that opens this cycle (0..24), or -1 when the cycle is idle: its day
 * is a weekend day or begins (local midnight) before from_s. */
static double ess_cycle_hour(const struct sim_ess *e, double utc_s)
{
    double u = utc_s + SIM_TZ_S + 3600.0; /* local time shifted so 23:00 is a day start */
    double day = floor(u / CALTIME_DAY_S);
    int dow = (int)((((int64_t)day + 4) % 7 + 7) % 7); /* 0 = Sunday */
    double midnight_utc = day * CALTIME_DAY_S - SIM_TZ_S;
    if (dow == 0 || dow == 6 || midnight_utc < e->from_s || e->usable_kwh <= 0.0)
        return -1.0;
    return (u - day * CALTIME_DAY_S) / 3600.0;
}

double sim_ess_w(const struct sim_ess *e, double utc_s)
{
    double h = ess_cycle_hour(e, utc_s);
    double way = sqrt(e->efficiency > 0.0 ? e->efficiency : 1.0);
    double kwh = sim_ess_cycle_kwh(e);
    if (h < 0.0)
        return 0.0;
    if (h < ESS_CHARGE_H)
        return kwh / way / ESS_CHARGE_H * 1000.0;
    h -= ESS_CHARGE_H + ESS_IDLE_H;
    if (h >= 0.0 && h < ESS_DISCHARGE_H)
        return -kwh * way / ESS_DISCHARGE_H * 1000.0;
    return 0.0;
}

double sim_ess_soc(const struct sim_ess *e, double utc_s)
{
    double h = ess_cycle_hour(e, utc_s);
    double span =
        e->usable_kwh > 0.0 ? SIM_ESS_SOC_SPAN * sim_ess_cycle_kwh(e) / e->usable_kwh : 0.0;
    if (h < 0.0)
        return SIM_ESS_SOC_LOW;
    if (h < ESS_CHARGE_H)
        return SIM_ESS_SOC_LOW + span * h / ESS_CHARGE_H;
    h -= ESS_CHARGE_H + ESS_IDLE_H;
    if (h < 0.0)
        return SIM_ESS_SOC_LOW + span;
    if (h < ESS_DISCHARGE_H)
        return SIM_ESS_SOC_LOW + span * (1.0 - h / ESS_DISCHARGE_H);
    return SIM_ESS_SOC_LOW;
}
