/* sim_weather_cli.c -- `enmon-sim weather` options: dates, station, seed and seasonal offsets;
 * the KMA ASOS hourly CSV out. */
#include "caltime.h"
#include "err.h"
#include "sim_weather.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WX_CLI_TZ_MIN CALTIME_KST_MIN

static int wx_usage(const char *why)
{
    fprintf(stderr,
            "enmon-sim weather: %s\n"
            "usage: enmon-sim weather --from YYYY-MM-DD --to YYYY-MM-DD [--station 133]\n"
            "       [--seed N] [--offset-summer C] [--offset-winter C] [--offset-from YYYY-MM-DD]\n"
            "       [--out FILE.csv]\n",
            why);
    return 64;
}

static int wx_number(const char *s, double lo, double hi, double *out)
{
    char *end;
    *out = strtod(s, &end);
    return *s && !*end && *out >= lo && *out <= hi ? 0 : -1;
}

int sim_weather_main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"station", required_argument, NULL, 'n'},
        {"seed", required_argument, NULL, 's'},
        {"offset-summer", required_argument, NULL, 'S'},
        {"offset-winter", required_argument, NULL, 'W'},
        {"offset-from", required_argument, NULL, 'F'},
        {"out", required_argument, NULL, 'o'},
        {NULL, 0, NULL, 0},
    };
    const char *from = NULL, *to = NULL, *offset_from = NULL, *out_path = "-";
    struct sim_weather w = {.seed = 1};
    double station = SIM_WEATHER_STATION;
    char *end;
    int opt;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'f':
            from = optarg;
            break;
        case 't':
            to = optarg;
            break;
        case 'F':
            offset_from = optarg;
            break;
        case 'o':
            out_path = optarg;
            break;
        case 'n':
            if (wx_number(optarg, 1, 99999, &station) != 0 || station != (int)station)
                return wx_usage("--station must be a KMA station number");
            break;
        case 's':
            w.seed = strtoull(optarg, &end, 10);
            if (!*optarg || *end)
                return wx_usage("--seed must be a number");
            break;
        case 'S':
            if (wx_number(optarg, -20, 20, &w.summer_offset_c) != 0)
                return wx_usage("--offset-summer must be degrees C in -20..20");
            break;
        case 'W':
            if (wx_number(optarg, -20, 20, &w.winter_offset_c) != 0)
                return wx_usage("--offset-winter must be degrees C in -20..20");
            break;
        default:
            return wx_usage("bad option");
        }
    }
    if (!from || !to || optind != argc)
        return wx_usage("--from and --to are required");
    int64_t from_s, to_s;
    if (caltime_parse_date(from, WX_CLI_TZ_MIN, &from_s) != ENMON_OK ||
        caltime_parse_date(to, WX_CLI_TZ_MIN, &to_s) != ENMON_OK ||
        (offset_from &&
         caltime_parse_date(offset_from, WX_CLI_TZ_MIN, &w.offset_from_s) != ENMON_OK))
        return wx_usage("--from, --to and --offset-from are dates YYYY-MM-DD");
    to_s += CALTIME_DAY_S; /* --to inclusive */
    if (to_s <= from_s)
        return wx_usage("--from is after --to");
    if (sim_weather_tabulate(&w, from_s, to_s) != 0) {
        fprintf(stderr, "enmon-sim weather: out of memory\n");
        return 1;
    }
    FILE *out = strcmp(out_path, "-") == 0 ? stdout : fopen(out_path, "w");
    int rc = 1;
    if (!out)
        perror(out_path);
    else if (sim_weather_write_kma(out, &w, (int)station, from_s, to_s) != 0)
        perror(out_path);
    else
        rc = 0;
    if (out && out != stdout && fclose(out) != 0 && rc == 0) {
        perror(out_path);
        rc = 1;
    }
    sim_weather_free(&w);
    return rc;
}
