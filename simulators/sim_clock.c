/* sim_clock.c -- simulated time: a start instant advancing with CLOCK_MONOTONIC. */
#include "sim_clock.h"

#include "clock.h"
#include "sim_physics.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

void sim_clock_init(struct sim_clock *c, double start_s, double speed)
{
    c->start_s = start_s;
    c->start_mono_ms = clock_mono_ms();
    c->speed = speed;
}

double sim_clock_now(const struct sim_clock *c)
{
    return c->start_s + (double)(clock_mono_ms() - c->start_mono_ms) / 1000.0 * c->speed;
}

/* "Z", "+HH:MM", "-HH:MM" or "" (Korea time) into seconds east of UTC. */
static int parse_zone(const char *z, long *off)
{
    int hh, mm, n = 0;
    if (*z == '\0') {
        *off = SIM_TZ_S;
        return 0;
    }
    if (strcmp(z, "Z") == 0 || strcmp(z, "z") == 0) {
        *off = 0;
        return 0;
    }
    if ((*z != '+' && *z != '-') || sscanf(z + 1, "%2d:%2d%n", &hh, &mm, &n) != 2 ||
        z[1 + n] != '\0' || hh > 23 || mm > 59)
        return -1;
    *off = (*z == '-' ? -1 : 1) * (hh * 3600L + mm * 60L);
    return 0;
}

int sim_clock_parse(const char *s, long long *out)
{
    struct tm tm;
    int n = 0;
    long off;
    memset(&tm, 0, sizeof tm);
    if (sscanf(s, "%4d-%2d-%2dT%2d:%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour,
               &tm.tm_min, &n) != 5)
        return -1;
    const char *p = s + n;
    if (*p == ':') {
        int k = 0;
        if (sscanf(p, ":%2d%n", &tm.tm_sec, &k) != 1)
            return -1;
        p += k;
    }
    if (tm.tm_mon < 1 || tm.tm_mon > 12 || tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 ||
        tm.tm_min > 59 || tm.tm_sec > 59 || parse_zone(p, &off) < 0)
        return -1;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *out = (long long)timegm(&tm) - off;
    return 0;
}
