/* sim_history_cli.c -- `enmon-sim history` options: the simulator's fleet joined to enmond's
 * device ids (by port and unit), demand-response events from savings.yaml, CSV out. */
#include "caltime.h"
#include "config.h"
#include "err.h"
#include "savings_config.h"
#include "sim_config.h"
#include "sim_history.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HIST_TZ_MIN CALTIME_KST_MIN

struct hist_opts {
    const char *config, *enmond, *from, *to, *savings, *out, *truth, *bills, *offset_from;
    uint64_t seed;
    int has_seed;
    double dr_drop;
    int weather; /* loads follow sim_weather's temperatures */
    double summer_offset_c, winter_offset_c;
};

static int hist_usage(const char *why)
{
    fprintf(stderr,
            "enmon-sim history: %s\n"
            "usage: enmon-sim history --config SIM.yaml --enmond ENMOND.yaml --from YYYY-MM-DD\n"
            "       --to YYYY-MM-DD [--seed N] [--savings SAVINGS.yaml] [--dr-drop 0.3]\n"
            "       [--weather] [--weather-offset-summer C] [--weather-offset-winter C]\n"
            "       [--weather-offset-from YYYY-MM-DD] [--truth TRUTH.csv]\n"
            "       [--truth-bills BILLS.csv] --out FILE.csv\n",
            why);
    return 64;
}

static int hist_parse(struct hist_opts *o, int argc, char **argv)
{
    static const struct option opts[] = {
        {"config", required_argument, NULL, 'c'},
        {"enmond", required_argument, NULL, 'e'},
        {"from", required_argument, NULL, 'f'},
        {"to", required_argument, NULL, 't'},
        {"seed", required_argument, NULL, 's'},
        {"savings", required_argument, NULL, 'v'},
        {"out", required_argument, NULL, 'o'},
        {"dr-drop", required_argument, NULL, 'd'},
        {"weather", no_argument, NULL, 'w'},
        {"weather-offset-summer", required_argument, NULL, 'S'},
        {"weather-offset-winter", required_argument, NULL, 'W'},
        {"weather-offset-from", required_argument, NULL, 'F'},
        {"truth", required_argument, NULL, 'T'},
        {"truth-bills", required_argument, NULL, 'B'},
        {NULL, 0, NULL, 0},
    };
    int opt;
    char *end;
    memset(o, 0, sizeof(*o));
    o->dr_drop = SIM_HISTORY_DR_DROP;
    optind = 1;
    opterr = 0;
    while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            o->config = optarg;
            break;
        case 'e':
            o->enmond = optarg;
            break;
        case 'f':
            o->from = optarg;
            break;
        case 't':
            o->to = optarg;
            break;
        case 'v':
            o->savings = optarg;
            break;
        case 'o':
            o->out = optarg;
            break;
        case 's':
            o->seed = strtoull(optarg, &end, 10);
            o->has_seed = 1;
            if (*end)
                return hist_usage("--seed must be a number");
            break;
        case 'd':
            o->dr_drop = strtod(optarg, &end);
            if (*end || o->dr_drop < 0 || o->dr_drop > 1)
                return hist_usage("--dr-drop must be a share 0..1");
            break;
        case 'w':
            o->weather = 1;
            break;
        case 'S':
        case 'W': {
            double c = strtod(optarg, &end);
            if (!*optarg || *end || c < -20 || c > 20)
                return hist_usage("--weather-offset-* must be degrees C in -20..20");
            *(opt == 'S' ? &o->summer_offset_c : &o->winter_offset_c) = c;
            o->weather = 1;
            break;
        }
        case 'F':
            o->offset_from = optarg;
            o->weather = 1;
            break;
        case 'T':
            o->truth = optarg;
            break;
        case 'B':
            o->bills = optarg;
            break;
        default:
            return hist_usage("bad option");
        }
    }
    if (!o->config || !o->enmond || !o->from || !o->to || !o->out)
        return hist_usage("--config, --enmond, --from, --to and --out are required");
    if (o->bills && !o->savings)
        return hist_usage("--truth-bills needs --savings (the ESS program's tariff)");
    return 0;
}

static const struct sim_device_cfg *hist_find(const struct sim_config *sim, int port, int unit)
{
    for (size_t i = 0; i < sim->ndevs; i++)
        if (sim->devs[i].rtu < 0 && sim->devs[i].port == port && sim->devs[i].unit == unit)
            return &sim->devs[i];
    return NULL;
}

/* The time-of-use tariff of a device's program in savings.yaml (NULL: none). */
static const struct tariff *hist_tariff(const struct enmon_config *cfg, const struct cfg_device *d,
                                        const struct savings_config *sc)
{
    const char *program = cfg->programs[d->program].id;
    for (size_t i = 0; i < sc->nprograms; i++)
        if (strcmp(sc->programs[i].id, program) == 0) {
            const struct tariff *t = savings_config_tariff(sc, sc->programs[i].tariff);
            return t->tou.set ? t : NULL;
        }
    return NULL;
}

/* Joins enmond devices to simulated ones; devices without a match are skipped. */
static size_t hist_devices(const struct enmon_config *cfg, const struct sim_config *sim,
                           const struct savings_config *sc, struct sim_history_device *out)
{
    size_t n = 0;
    for (size_t i = 0; i < cfg->ndevices; i++) {
        const struct cfg_device *d = &cfg->devices[i];
        const struct cfg_link *l = &cfg->links[d->link];
        const struct sim_device_cfg *s =
            l->kind == LINK_TCP ? hist_find(sim, l->port, d->unit) : NULL;
        if (!s) {
            fprintf(stderr,
                    "enmon-sim history: %s: no simulated device at port %d unit %d, "
                    "skipped\n",
                    d->id, l->port, d->unit);
            continue;
        }
        if (s->kind == SIM_SENSOR)
            continue; /* a pole sensor has no energy intervals */
        struct sim_history_device *h = &out[n++];
        memset(h, 0, sizeof(*h));
        snprintf(h->key, sizeof(h->key), "%s", d->id);
        snprintf(h->site, sizeof(h->site), "%s", cfg->sites[d->site].id);
        h->inverter = s->kind == SIM_INVERTER;
        h->capacity_w = s->capacity_w;
        h->tilt_deg = s->tilt_deg;
        h->azimuth_deg = s->azimuth_deg;
        h->kwh_month = s->kwh_month;
        h->pv_capacity_w = s->pv_capacity_w;
        h->building = s->phases == 3;
        h->retrofit_s = d->retrofit;
        h->ess = s->ess;
        h->feedback_saving = s->feedback_saving;
        h->feedback_s = s->feedback_from_s;
        h->tariff = hist_tariff(cfg, d, sc);
    }
    return n;
}

static int hist_events(const char *path, struct savings_config *sc, struct sim_history_event **ev,
                       size_t *n)
{
    struct cfg_error err;
    *ev = NULL;
    *n = 0;
    if (!path)
        return 0;
    if (savings_config_load(path, HIST_TZ_MIN, sc, &err) != ENMON_OK) {
        char buf[1024];
        config_format_error(&err, buf, sizeof(buf));
        fprintf(stderr, "enmon-sim history: %s\n", buf);
        return -1;
    }
    *ev = calloc(sc->nevents ? sc->nevents : 1, sizeof(**ev));
    if (!*ev)
        return -1;
    for (size_t i = 0; i < sc->nevents; i++) {
        snprintf((*ev)[i].site, sizeof((*ev)[i].site), "%s", sc->events[i].site);
        (*ev)[i].start_s = sc->events[i].start_s;
        (*ev)[i].end_s = sc->events[i].end_s;
    }
    *n = sc->nevents;
    return 0;
}

typedef int (*hist_writer)(FILE *, const struct sim_history_device *, size_t,
                           const struct sim_history_spec *);

static int hist_write_file(const char *path, hist_writer write,
                           const struct sim_history_device *devs, size_t n,
                           const struct sim_history_spec *spec)
{
    FILE *out = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    int rc = 1;
    if (!out)
        perror(path);
    else if (write(out, devs, n, spec) != 0)
        perror(path);
    else
        rc = 0;
    if (out && out != stdout && fclose(out) != 0 && rc == 0) {
        perror(path);
        rc = 1;
    }
    return rc;
}

static int hist_run(const struct hist_opts *o, const struct enmon_config *cfg,
                    const struct sim_config *sim, const struct savings_config *sc,
                    const struct sim_history_spec *spec)
{
    struct sim_history_device *devs = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof(*devs));
    if (!devs)
        return 1;
    size_t n = hist_devices(cfg, sim, sc, devs);
    int rc = hist_write_file(o->out, sim_history_write, devs, n, spec);
    if (rc == 0 && o->truth)
        rc = hist_write_file(o->truth, sim_history_write_truth, devs, n, spec);
    if (rc == 0 && o->bills)
        rc = hist_write_file(o->bills, sim_history_write_bills, devs, n, spec);
    if (rc == 0)
        fprintf(stderr, "enmon-sim history: %zu devices, %s .. %s written to %s\n", n, o->from,
                o->to, o->out);
    free(devs);
    return rc;
}

int sim_history_main(int argc, char **argv)
{
    struct hist_opts o;
    int rc = hist_parse(&o, argc, argv);
    if (rc)
        return rc;
    struct sim_history_spec spec = {.dr_drop = o.dr_drop};
    if (caltime_parse_date(o.from, HIST_TZ_MIN, &spec.from_s) != ENMON_OK ||
        caltime_parse_date(o.to, HIST_TZ_MIN, &spec.to_s) != ENMON_OK)
        return hist_usage("--from and --to are dates YYYY-MM-DD");
    struct sim_weather wx = {.summer_offset_c = o.summer_offset_c,
                             .winter_offset_c = o.winter_offset_c};
    if (o.offset_from &&
        caltime_parse_date(o.offset_from, HIST_TZ_MIN, &wx.offset_from_s) != ENMON_OK)
        return hist_usage("--weather-offset-from is a date YYYY-MM-DD");
    spec.to_s += CALTIME_DAY_S; /* --to inclusive */
    if (spec.to_s <= spec.from_s)
        return hist_usage("--from is after --to");
    struct sim_config sim;
    struct enmon_config *cfg = NULL;
    struct savings_config sc;
    struct cfg_error err;
    struct sim_history_event *ev = NULL;
    char buf[1024];
    savings_config_defaults(&sc);
    memset(&sim, 0, sizeof(sim));
    if (sim_config_load(o.config, &sim, &err) != ENMON_OK ||
        config_load(o.enmond, &cfg, &err) != ENMON_OK) {
        config_format_error(&err, buf, sizeof(buf));
        fprintf(stderr, "enmon-sim history: %s\n", buf);
        rc = 78;
    } else if (hist_events(o.savings, &sc, &ev, &spec.nevents) != 0) {
        rc = 78;
    } else {
        spec.seed = o.has_seed ? o.seed : sim.seed;
        spec.events = ev;
        spec.holidays = sc.holidays;
        spec.nholidays = sc.nholidays;
        wx.seed = spec.seed; /* the series `enmon-sim weather --seed` gives for the same seed */
        if (o.weather && sim_weather_tabulate(&wx, spec.from_s, spec.to_s) != 0) {
            rc = 1;
        } else {
            spec.weather = o.weather ? &wx : NULL;
            rc = hist_run(&o, cfg, &sim, &sc, &spec);
        }
    }
    free(ev);
    sim_weather_free(&wx);
    savings_config_free(&sc);
    config_free(cfg);
    sim_config_free(&sim);
    return rc;
}
