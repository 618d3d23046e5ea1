/* sim_pole.c -- a feeder of distribution poles: leakage current with rain and faults, phase
 * currents, enclosure temperature and tilt of each pole sensor (pure). */
#include "sim_pole.h"

#include "sim_physics.h"

#include <math.h>

#define DAY_S 86400.0

static double clamp01(double x)
{
    return x < 0.0 ? 0.0 : x > 1.0 ? 1.0 : x;
}

double sim_pole_rain(uint64_t weather_key, double t)
{
    int doy = sim_local_doy(t);
    double threshold = doy >= 152 && doy <= 243 ? 0.60 : 0.72; /* monsoon: rain more often */
    double r = sim_smooth_noise(weather_key ^ 0x4A1A, t, 6.0 * 3600.0);
    return clamp01((r - threshold) / 0.2);
}

double sim_pole_fault_ma(const struct sim_fault *f, uint64_t key, double t)
{
    if (!(f->active & SIM_FAULT_LEAKAGE))
        return 0.0;
    double since_h = t > f->leak_from_s ? (t - f->leak_from_s) / 3600.0 : 0.0;
    switch (f->leak_mode) {
    case SIM_LEAK_STEP:
        return f->leak_ma;
    case SIM_LEAK_RAMP:
        return f->leak_ma + f->leak_rate_ma_h * since_h;
    case SIM_LEAK_ARC: {
        uint64_t slot = (uint64_t)(int64_t)floor(t / SIM_POLE_ARC_SLOT_S);
        uint64_t h = sim_hash2(key ^ 0xA4C, slot);
        if (sim_hash_unit(h) >= SIM_POLE_ARC_SHARE)
            return 0.0;
        return f->leak_ma * (0.5 + sim_hash_unit(sim_hash2(h, 1)));
    }
    }
    return 0.0;
}

void sim_pole_values(uint64_t key, uint64_t weather_key, uint64_t feeder_key, double t,
                     const struct sim_fault *f, struct sim_pole *out)
{
    double local = t + SIM_TZ_S;
    double day = floor(local / DAY_S);
    double hour = (local - day * DAY_S) / 3600.0;
    int dow = (int)fmod(fmod(day + 4.0, 7.0) + 7.0, 7.0); /* 1970-01-01 was a Thursday */
    double dew = hour < 6.0 ? 1.0 : 0.0;
    out->wet = sim_pole_rain(weather_key, t);
    double dry =
        SIM_POLE_BASE_MIN_MA + SIM_POLE_BASE_SPAN_MA * sim_hash_unit(sim_hash2(key, 0x1EA));
    double noise = 1.0 + 0.1 * (sim_smooth_noise(key ^ 0x1EAF, t, 60.0) - 0.5);
    out->leak_ma = dry * (1.0 + SIM_POLE_RAIN_GAIN * out->wet + SIM_POLE_DEW_GAIN * dew) * noise +
                   sim_pole_fault_ma(f, key, t);
    /* the feeder's load follows the homes it serves; phases unbalanced by a few percent */
    double load = SIM_POLE_FEEDER_A * sim_load_shape(hour, dow == 0 || dow == 6, 0);
    for (int p = 0; p < 3; p++)
        out->phase_a[p] = load * (0.94 + 0.12 * sim_hash_unit(sim_hash2(feeder_key, 0xF0 + p)));
    /* a small grey box in the sun: ambient + up to 12 K of solar gain */
    struct sim_sun sun = sim_sun_position(SIM_LAT_DEG, SIM_LON_DEG, t);
    double gain = sun.elevation_deg > 0.0 ? 12.0 * sin(sun.elevation_deg * M_PI / 180.0) : 0.0;
    out->tmp_c = sim_ambient_c(weather_key, t) + gain * (1.0 - 0.7 * out->wet);
    out->tilt_deg = 0.2 + 1.3 * sim_hash_unit(sim_hash2(key, 0x7117));
}
