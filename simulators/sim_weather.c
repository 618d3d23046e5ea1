/* sim_weather.c -- a seeded hourly air temperature series for Daejeon (KMA station 133): climate
 * normals, daily cycle, multi-day swings, optional seasonal offsets; the KMA ASOS CSV writer. */
#include "sim_weather.h"
#include "sim_physics.h"

#include "caltime.h"

#include <math.h>
#include <stdlib.h>

#define WX_TZ_MIN (SIM_TZ_S / 60)

/* Daejeon (133), KMA climate normals 1991-2020, monthly mean temperature. */
const double SIM_WEATHER_NORMAL_C[12] = {-1.0, 1.4,  6.5,  12.6, 18.0, 22.5,
                                         25.6, 26.1, 21.2, 14.6, 7.8,  1.2};
/* Half the mean daily range (max - min) / 2: widest in the dry spring and autumn, narrowest
 * in the July monsoon. */
static const double HALF_RANGE_C[12] = {4.8, 5.3, 5.8, 6.3, 6.0, 5.0, 3.9, 4.3, 4.8, 5.8, 5.3, 4.8};
/* Standard deviation of the daily mean around the normal: larger in winter (cold waves). */
static const double SIGMA_C[12] = {3.4, 3.4, 3.2, 2.8, 2.3, 1.8, 1.7, 1.7, 2.0, 2.6, 3.2, 3.4};

/* Month coordinate x in [0, 12): month index plus the elapsed share of that month. */
static double wx_month_x(double utc_s, int *month)
{
    double local = utc_s + SIM_TZ_S;
    int64_t day = (int64_t)floor(local / CALTIME_DAY_S);
    int y, m, d;
    caltime_civil_from_days(day, &y, &m, &d);
    double frac = (local - (double)day * CALTIME_DAY_S) / CALTIME_DAY_S;
    if (month)
        *month = m;
    return (m - 1) + (d - 1 + frac) / caltime_days_in_month(y, m);
}

/* Linear interpolation in x between mid-month nodes (x = m + 0.5), cyclic. */
static double wx_interp(const double *nodes, double x)
{
    double u = x - 0.5;
    double f = u - floor(u);
    int i = ((int)floor(u) % 12 + 12) % 12;
    return nodes[i] + (nodes[(i + 1) % 12] - nodes[i]) * f;
}

/* Nodes whose piecewise linear curve has the normals as monthly means: a month's mean is
 * (n[m-1] + 6 n[m] + n[m+1]) / 8; solved by Jacobi iteration (contraction 1/3). */
static const double *wx_nodes(void)
{
    static double nodes[12];
    static int done;
    if (!done) {
        double next[12];
        for (int m = 0; m < 12; m++)
            nodes[m] = SIM_WEATHER_NORMAL_C[m];
        for (int it = 0; it < 60; it++) {
            for (int m = 0; m < 12; m++)
                next[m] =
                    (8.0 * SIM_WEATHER_NORMAL_C[m] - nodes[(m + 11) % 12] - nodes[(m + 1) % 12]) /
                    6.0;
            for (int m = 0; m < 12; m++)
                nodes[m] = next[m];
        }
        done = 1;
    }
    return nodes;
}

double sim_weather_normal_at(double utc_s)
{
    return wx_interp(wx_nodes(), wx_month_x(utc_s, NULL));
}

static double wx_half_cos(double a, double b, double f)
{
    return a + (b - a) * (1.0 - cos(M_PI * f)) / 2.0;
}

double sim_weather_daily_shape(double local_hour)
{
    double h = fmod(local_hour, 24.0);
    if (h < 0)
        h += 24.0;
    if (h >= 6.0 && h < 15.0)
        return wx_half_cos(-1.0, 1.0, (h - 6.0) / 9.0);
    double f = h >= 15.0 ? (h - 15.0) / 15.0 : (h + 9.0) / 15.0;
    return wx_half_cos(1.0, -1.0, f);
}

static double wx_gauss(uint64_t h)
{
    double u1 = 1.0 - sim_hash_unit(sim_hash2(h, 1)); /* (0, 1] */
    double u2 = sim_hash_unit(sim_hash2(h, 2));
    return sqrt(-2.0 * log(u1)) * cos(2.0 * M_PI * u2);
}

static double wx_day_mid_s(int64_t local_day)
{
    return (double)local_day * CALTIME_DAY_S - SIM_TZ_S + CALTIME_DAY_S / 2.0;
}

static double wx_anomaly_direct(uint64_t seed, int64_t local_day)
{
    double phi = exp(-1.0 / SIM_WEATHER_TAU_DAYS);
    double scale = sqrt(1.0 - phi * phi);
    double a = 0.0, pk = 1.0;
    uint64_t key = sim_hash2(seed, 0x7EA7E5);
    for (int k = 0; k < SIM_WEATHER_MEMORY_DAYS; k++, pk *= phi) {
        int64_t d = local_day - k;
        double sigma = wx_interp(SIGMA_C, wx_month_x(wx_day_mid_s(d), NULL));
        a += pk * sigma * scale * wx_gauss(sim_hash2(key, (uint64_t)d));
    }
    return a;
}

double sim_weather_anomaly_c(const struct sim_weather *w, int64_t local_day)
{
    if (w->table && local_day >= w->table_day0 &&
        local_day < w->table_day0 + (int64_t)w->table_days)
        return w->table[local_day - w->table_day0];
    return wx_anomaly_direct(w->seed, local_day);
}

double sim_weather_offset_c(const struct sim_weather *w, double utc_s)
{
    int month;
    if (utc_s < (double)w->offset_from_s)
        return 0.0;
    wx_month_x(utc_s, &month);
    if (month >= 6 && month <= 8)
        return w->summer_offset_c;
    if (month == 12 || month <= 2)
        return w->winter_offset_c;
    return 0.0;
}

/* Half the daily range of a local day: the season's, varied +-25% per day. */
static double wx_half_range(const struct sim_weather *w, int64_t local_day)
{
    double u = sim_hash_unit(sim_hash2(sim_hash2(w->seed, 0xDA11), (uint64_t)local_day));
    return wx_interp(HALF_RANGE_C, wx_month_x(wx_day_mid_s(local_day), NULL)) * (0.75 + 0.5 * u);
}

double sim_weather_temp_c(const struct sim_weather *w, double utc_s)
{
    double local = utc_s + SIM_TZ_S;
    int64_t day = (int64_t)floor(local / CALTIME_DAY_S);
    double hour = (local - (double)day * CALTIME_DAY_S) / 3600.0;
    /* the rise 06-15 uses the day's range; the fall from 15:00 ends at the next day's minimum */
    double daily;
    if (hour < 6.0)
        daily = wx_half_cos(wx_half_range(w, day - 1), -wx_half_range(w, day), (hour + 9.0) / 15.0);
    else if (hour < 15.0)
        daily = wx_half_range(w, day) * sim_weather_daily_shape(hour);
    else
        daily =
            wx_half_cos(wx_half_range(w, day), -wx_half_range(w, day + 1), (hour - 15.0) / 15.0);
    double f = hour / 24.0;
    double anom = sim_weather_anomaly_c(w, day) * (1.0 - f) + sim_weather_anomaly_c(w, day + 1) * f;
    return sim_weather_normal_at(utc_s) + daily + anom + sim_weather_offset_c(w, utc_s);
}

int sim_weather_tabulate(struct sim_weather *w, int64_t from_s, int64_t to_s)
{
    int64_t d0 = (int64_t)floor(((double)from_s + SIM_TZ_S) / CALTIME_DAY_S) - 1;
    int64_t d1 = (int64_t)floor(((double)to_s + SIM_TZ_S) / CALTIME_DAY_S) + 2;
    sim_weather_free(w);
    if (d1 <= d0)
        return 0;
    w->table = malloc((size_t)(d1 - d0) * sizeof(*w->table));
    if (!w->table)
        return -1;
    for (int64_t d = d0; d < d1; d++)
        w->table[d - d0] = wx_anomaly_direct(w->seed, d);
    w->table_day0 = d0;
    w->table_days = (size_t)(d1 - d0);
    return 0;
}

void sim_weather_free(struct sim_weather *w)
{
    free(w->table);
    w->table = NULL;
    w->table_days = 0;
}

static const char *wx_station_name(int station)
{
    switch (station) {
    case 108:
        return "서울";
    case 133:
        return "대전";
    case 143:
        return "대구";
    case 156:
        return "광주";
    case 159:
        return "부산";
    default:
        return "";
    }
}

int sim_weather_write_kma(FILE *out, const struct sim_weather *w, int station, int64_t from_s,
                          int64_t to_s)
{
    char when[32];
    const char *name = wx_station_name(station);
    if (fputs("지점,지점명,일시,기온(°C)\n", out) == EOF)
        return -1;
    for (int64_t t = from_s; t < to_s; t += CALTIME_HOUR_S) {
        caltime_format_minute(t, WX_TZ_MIN, when, sizeof(when));
        double c = round(sim_weather_temp_c(w, (double)t) * 10.0) / 10.0;
        if (fprintf(out, "%d,%s,%s,%.1f\n", station, name, when, c == 0.0 ? 0.0 : c) < 0)
            return -1;
    }
    return fflush(out) == 0 ? 0 : -1;
}
