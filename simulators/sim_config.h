/* sim_config.h -- enmon-sim configuration: the YAML file as a flat list of simulated devices. */
#ifndef ENMON_SIM_CONFIG_H
#define ENMON_SIM_CONFIG_H

#include "config.h"
#include "regmap.h"
#include "sim_physics.h"
#include "sim_sunspec.h"

#include <stddef.h>
#include <stdint.h>

#define SIM_UNIT_MAX 247
#define SIM_DEVICES_MAX 100000
#define SIM_RTU_MAX 64
#define SIM_DELAY_MAX_MS 60000

/* Bits of sim_fixed.set: which keys the configuration gave. */
enum sim_fixed_key {
    SIM_FX_POWER,
    SIM_FX_IMPORT,
    SIM_FX_EXPORT,
    SIM_FX_VOLTAGE,
    SIM_FX_CURRENT,
    SIM_FX_FREQUENCY,
    SIM_FX_PF,
    SIM_FX_TEMPERATURE,
    SIM_FX_STATE,
    SIM_FX_EVENTS,
    SIM_FX__COUNT
};

/* Constant values of a device in fixed mode (defaults: sim_fixed_defaults). */
struct sim_fixed {
    unsigned set;
    double power_w;
    double energy_import_wh;
    double energy_export_wh;
    double voltage_v;
    double current_a;
    double frequency_hz;
    double power_factor; /* fraction -1..1 (registers carry percent) */
    double temperature_c;
    int state;
    uint32_t events;
};

/* One simulated device: an entry with count N becomes N of these. */
struct sim_device_cfg {
    int port;
    int unit;
    int copy; /* 1-based index within its entry */
    enum sim_kind kind;
    double capacity_w;    /* inverter AC rating */
    double tilt_deg;      /* inverter array */
    double azimuth_deg;   /* from north, 180 = south */
    int phases;           /* meter: 1 (model 201) or 3 (model 203) */
    double kwh_month;     /* meter: household/building consumption per average month */
    int led_retrofit;     /* meter: LED retrofit household */
    double pv_capacity_w; /* meter: rooftop PV behind the meter */
    double feedback_saving;  /* meter: AMI feedback participant's saving share (0: none) */
    long long feedback_from_s; /* from this instant (history and live) */
    struct sim_ess ess;   /* meter: a battery behind it (usable_kwh 0: none); with kwh_month 0
                           * the meter is the ESS's own (import = charge, export = discharge) */
    char serial[33];      /* empty: generated */
    int fixed;
    struct sim_fixed fx;
    int model;                /* SunSpec main model (default: sim_sunspec_default_model) */
    uint16_t sunspec_base;    /* 40000, 0 or 50000 */
    int legacy_common;        /* model 1 with L = 65 */
    int devices_behind;       /* logical devices (model-1 blocks) behind the unit id */
    int behind;               /* 1-based index of this logical device (set by the fleet) */
    const struct regmap *map; /* non-SunSpec device served through this map, else NULL */
    int silent;               /* never answers */
    long delay_ms;            /* answers this late */
    int rtu;                  /* index in sim_config.rtus, or -1: TCP port */
    int line;                 /* of the entry in the file */
};

/* A Modbus RTU bus on a pseudo-terminal whose slave side is linked at path. */
struct sim_rtu_cfg {
    char path[CFG_PATH_MAX];
    long baud;
    int line;
};

struct sim_config {
    uint64_t seed;
    int has_seed;
    char listen[64];   /* IPv4 address, default 127.0.0.1 */
    long long start_s; /* simulated start instant (UTC epoch s) */
    int has_start;
    struct sim_device_cfg *devs;
    size_t ndevs;
    struct sim_rtu_cfg *rtus;
    size_t nrtus;
    struct regmap **maps; /* loaded once per file, shared by the devices using them */
    size_t nmaps;
};

/* Loads path. Returns ENMON_OK, or ENMON_ERR_CONFIG / ENMON_ERR_IO / ENMON_ERR_NOMEM
 * with err filled (file, line, field). Free with sim_config_free. */
int sim_config_load(const char *path, struct sim_config *cfg, struct cfg_error *err);
void sim_config_free(struct sim_config *cfg);

/* Default fixed values of a kind (documented in docs/SIMULATOR.md). */
void sim_fixed_defaults(struct sim_fixed *fx, enum sim_kind kind);

/* --fixed: every device not already fixed becomes fixed with the defaults. */
void sim_config_force_fixed(struct sim_config *cfg);

#endif
