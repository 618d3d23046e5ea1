/* savings_config.h -- the savings parameters file (savings.yaml): tariffs, CO2 factors, baseline
 * rules, solar subsidy bands, ESS split, LED fixtures and demand-response events. */
#ifndef ENMON_SAVINGS_CONFIG_H
#define ENMON_SAVINGS_CONFIG_H

#include "cbl.h"
#include "cfg_error.h"
#include "savings.h"
#include "tariff.h"

#include <stddef.h>
#include <stdint.h>

#define SVC_TARIFFS_MAX 16
#define SVC_ESS_METERS_MAX 16

/* LED fixtures replaced per household, for the deemed-savings cross-check. */
struct svc_fixtures {
    int set;
    double count, old_w, new_w, hours_per_day;
};

struct svc_site_fixtures {
    char site[CFG_ID_MAX];
    struct svc_fixtures fx;
    int weather_station; /* the site's KMA station; 0: the program's */
};

struct svc_tariff {
    char name[CFG_ID_MAX];
    struct tariff t;
};

struct svc_program {
    char id[CFG_ID_MAX];
    char tariff[CFG_ID_MAX]; /* a tariffs[] name; "" = "residential" */
    struct svc_fixtures fixtures;
    struct svc_site_fixtures *sites; /* per-site fixture overrides */
    size_t nsites;
    int64_t start_s;       /* baseline end (ESS contract start, retrofit); 0: the device's date */
    double operator_share; /* efficiency: the operator's share of the savings (default 0.7) */
    int has_subsidy;
    struct savings_subsidy subsidy;
    /* efficiency: the devices that meter an ESS (import = charge, export = discharge); each
     * values the grid meter(s) of its own site */
    char ess_meters[SVC_ESS_METERS_MAX][CFG_ID_MAX];
    size_t ness_meters;
    int weather_station; /* KMA ASOS station of its sites (the weather table); 0: none */
    /* ami (difference-in-differences): when feedback started, the comparison households (site
     * or device ids, or every device of comparison_program) and the neighbours per participant */
    int64_t program_start_s; /* 0: not an evaluated AMI program */
    char (*comparison)[CFG_ID_MAX];
    size_t ncomparison;
    char comparison_program[CFG_ID_MAX];
    int match_k; /* 1..3 (default 3) */
};

/* A demand-response event of a site: [start_s, end_s), whole local hours of one day. */
struct svc_event {
    char site[CFG_ID_MAX];
    int64_t start_s, end_s;
};

/* baseline.method: how led-retrofit and efficiency (metered) baselines are computed. */
enum svc_method {
    SVC_METHOD_AUTO,    /* weather when the site/program names a station with data, else
                           day-type-month (why: sr_result.method_reason) */
    SVC_METHOD_WEATHER, /* CalTRACK daily model on the station's temperatures (baseline_model.h) */
    SVC_METHOD_DAYTYPE, /* mean kWh per day type and month (savings.h) */
};

/* "auto", "weather", "day-type-month". */
const char *savings_config_method_name(enum svc_method m);
/* 0 and *m set, or -1 for another name ("auto" included). */
int savings_config_method_parse(const char *s, enum svc_method *m);

struct savings_config {
    char path[CFG_PATH_MAX]; /* "" when built from defaults */
    struct savings_opts baseline;
    enum svc_method method;                     /* baseline.method (default auto) */
    struct svc_tariff tariffs[SVC_TARIFFS_MAX]; /* [0] is always "residential" */
    size_t ntariffs;
    struct co2_table co2;
    struct savings_subsidy subsidy; /* default for solar programs */
    struct svc_program *programs;
    size_t nprograms;
    enum cbl_method dr_method; /* the method of the report's headline figure */
    /* CBL highest/lowest days: per hour or whole days (demand_response.cbl_selection) */
    enum cbl_selection dr_selection;
    int64_t *holidays; /* local midnights excluded from CBL days */
    size_t nholidays;
    struct svc_event *events;
    size_t nevents;
};

/* Defaults only: KEPCO residential tariff, 0.4173 tCO2/MWh, 50 KRW/kWh for 5
 * years, baseline 365/90/10%/4, Mid(6/10), no programs, no events. */
void savings_config_defaults(struct savings_config *c);

/* Loads path on top of the defaults; dates are local at offset_min. ENMON_OK,
 * or ENMON_ERR_IO / ENMON_ERR_CONFIG / ENMON_ERR_NOMEM with err located. */
int savings_config_load(const char *path, int offset_min, struct savings_config *c,
                        struct cfg_error *err);

void savings_config_free(struct savings_config *c);

#define SAVINGS_CONFIG_DEFAULT_PATH "/etc/enmon/savings.yaml"

/* The savings parameters that go with the enmond configuration at config_path (may be
 * NULL): savings.yaml next to it, else SAVINGS_CONFIG_DEFAULT_PATH, written to out;
 * out is "" when neither is readable (the defaults apply). enmond, its dashboard and
 * `enmon savings` all find the file this way. */
void savings_config_find(const char *config_path, char *out, size_t len);

/* The program's entry, or NULL. */
const struct svc_program *savings_config_program(const struct savings_config *c, const char *id);

/* The tariff named (or the residential one for NULL/""/unknown names). */
const struct tariff *savings_config_tariff(const struct savings_config *c, const char *name);

/* The fixtures of a site of a program: the site override, else the program's. */
const struct svc_fixtures *savings_config_fixtures(const struct svc_program *p, const char *site);

/* The KMA weather station of a site of a program: the site override, else the program's;
 * 0 when neither names one. */
int savings_config_weather_station(const struct svc_program *p, const char *site);

/* Checks one event: whole hours, end after start, within one local day.
 * 0, or -1 with a static reason in *why. */
int savings_config_check_event(int64_t start_s, int64_t end_s, int offset_min, const char **why);

#endif
