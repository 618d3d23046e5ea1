/* solar.h -- sun position and clear-sky irradiance: pure functions shared by enmond and enmon-sim.
 */
#ifndef ENMON_SOLAR_H
#define ENMON_SOLAR_H

/* Every function here is pure: same arguments, same result; no I/O, no clock.
 * Times are UTC epoch seconds as doubles (fractions allowed). */

struct solar_pos {
    double elevation_deg; /* above the horizon; negative at night */
    double zenith_deg;
    double azimuth_deg; /* from north, clockwise (180 = south) */
};

struct solar_irradiance {
    double ghi; /* global horizontal, W/m2 */
    double dni; /* direct normal */
    double dhi; /* diffuse horizontal */
};

/* Solar declination (radians) and equation of time (minutes) for a fractional
 * day of the year (1 = 1 January 00:00), Spencer (1971). */
double solar_declination_rad(double doy);
double solar_equation_of_time_min(double doy);

/* Where the sun stands seen from lat_deg (north positive), lon_deg (east positive). */
struct solar_pos solar_position(double lat_deg, double lon_deg, double utc_s);

/* Clear-sky irradiance for a solar zenith angle: GHI by Haurwitz, a fixed
 * diffuse share split off. All zero when the sun is below the horizon. */
struct solar_irradiance solar_clear_sky(double zenith_deg);

/* Share of the rated power a PV system loses to wiring, soiling, mismatch. */
#define SOLAR_PV_LOSSES 0.14

/* A conservative clear-sky estimate of the AC output of capacity_w of PV of
 * unknown orientation: capacity * GHI / 1000 W/m2 * (1 - SOLAR_PV_LOSSES), at
 * most capacity_w; 0 at night or for capacity_w <= 0. */
double solar_clear_sky_ac_w(double capacity_w, double zenith_deg);

#endif
