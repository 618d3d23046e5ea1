/* solar.c -- sun position and clear-sky irradiance: pure functions shared by enmond and enmon-sim.
 */
#include "solar.h"

#include "caltime.h"

#include <math.h>

#define DEG (M_PI / 180.0)
#define CLEAR_DIFFUSE_SHARE 0.15

static double day_angle(double doy)
{
    return 2.0 * M_PI * (doy - 1.0) / 365.0;
}

double solar_declination_rad(double doy)
{
    double g = day_angle(doy);
    return 0.006918 - 0.399912 * cos(g) + 0.070257 * sin(g) - 0.006758 * cos(2 * g) +
           0.000907 * sin(2 * g) - 0.002697 * cos(3 * g) + 0.00148 * sin(3 * g);
}

double solar_equation_of_time_min(double doy)
{
    double g = day_angle(doy);
    return 229.18 * (0.000075 + 0.001868 * cos(g) - 0.032077 * sin(g) - 0.014615 * cos(2 * g) -
                     0.040849 * sin(2 * g));
}

struct solar_pos solar_position(double lat_deg, double lon_deg, double utc_s)
{
    struct caltime_tm tm;
    caltime_split((int64_t)floor(utc_s), 0, &tm);
    double sod = fmod(utc_s, CALTIME_DAY_S);
    if (sod < 0)
        sod += CALTIME_DAY_S;
    double doy = tm.yday + 1 + sod / CALTIME_DAY_S;
    double decl = solar_declination_rad(doy);
    double solar_min = sod / 60.0 + 4.0 * lon_deg + solar_equation_of_time_min(doy);
    double hour_angle = (solar_min / 4.0 - 180.0) * DEG;
    double lat = lat_deg * DEG;
    double sin_el = sin(lat) * sin(decl) + cos(lat) * cos(decl) * cos(hour_angle);
    if (sin_el > 1.0)
        sin_el = 1.0;
    if (sin_el < -1.0)
        sin_el = -1.0;
    struct solar_pos sun;
    sun.elevation_deg = asin(sin_el) / DEG;
    sun.zenith_deg = 90.0 - sun.elevation_deg;
    double az_south =
        atan2(sin(hour_angle), cos(hour_angle) * sin(lat) - tan(decl) * cos(lat)) / DEG;
    sun.azimuth_deg = fmod(az_south + 180.0 + 360.0, 360.0);
    return sun;
}

struct solar_irradiance solar_clear_sky(double zenith_deg)
{
    struct solar_irradiance irr = {0, 0, 0};
    double cz = cos(zenith_deg * DEG);
    if (cz <= 0.01)
        return irr;
    irr.ghi = 1098.0 * cz * exp(-0.057 / cz);
    irr.dhi = irr.ghi * CLEAR_DIFFUSE_SHARE;
    irr.dni = (irr.ghi - irr.dhi) / cz;
    return irr;
}

double solar_clear_sky_ac_w(double capacity_w, double zenith_deg)
{
    if (capacity_w <= 0.0)
        return 0.0;
    double p = capacity_w * solar_clear_sky(zenith_deg).ghi / 1000.0 * (1.0 - SOLAR_PV_LOSSES);
    return p > capacity_w ? capacity_w : p;
}
