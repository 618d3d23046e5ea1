/* sim_tick.c -- register images refresh continuously or on simulated-time ticks (pure). */
#include "sim_tick.h"

#include <errno.h>
#include <math.h>
#include <stdlib.h>

double sim_tick_floor(const struct sim_tick *k, double t)
{
    if (!(k->every_s > 0.0))
        return t;
    return k->offset_s + floor((t - k->offset_s) / k->every_s) * k->every_s;
}

double sim_tick_next(const struct sim_tick *k, double t)
{
    return sim_tick_floor(k, t) + k->every_s;
}

int sim_tick_parse(const char *s, double *out_s)
{
    if (*s < '0' || *s > '9') /* no sign, no blank */
        return -1;
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno)
        return -1;
    double unit = 1.0;
    if (*end == 's')
        end++;
    else if (*end == 'm')
        unit = 60.0, end++;
    else if (*end == 'h')
        unit = 3600.0, end++;
    else if (*end == 'd')
        unit = 86400.0, end++;
    if (*end || (double)v * unit > 366.0 * 86400.0)
        return -1;
    *out_s = (double)v * unit;
    return 0;
}
