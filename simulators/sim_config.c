/* sim_config.c -- enmon-sim configuration: the YAML file as a flat list of simulated devices. */
#include "sim_config.h"

#include "err.h"
#include "sim_physics.h"
#include "yaml_doc.h"

#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One devices[] entry before it is expanded into `count` devices. */
struct entry {
    struct sim_device_cfg dev;
    long count;
    char serial_tpl[33];
};

static const char *const TOP_KEYS[] = {"seed", "listen", "time", "rtu", "devices", NULL};
static const char *const RTU_KEYS[] = {"path", "baud", NULL};
static const char *const DEVICE_KEYS[] = {"port",
                                          "unit",
                                          "count",
                                          "kind",
                                          "capacity",
                                          "tilt",
                                          "azimuth",
                                          "serial",
                                          "phases",
                                          "kwh_month",
                                          "led_retrofit",
                                          "pv_capacity",
                                          "ess_kwh",
                                          "ess_kw",
                                          "ess_efficiency",
                                          "ess_from",
                                          "feedback_saving",
                                          "feedback_from",
                                          "fixed",
                                          "model",
                                          "sunspec_base",
                                          "legacy_common",
                                          "devices_behind",
                                          "map",
                                          "silent",
                                          "delay",
                                          "rtu",
                                          NULL};
static const char *const FIXED_KEYS[] = {"power_w",
                                         "energy_import_wh",
                                         "energy_export_wh",
                                         "voltage_v",
                                         "current_a",
                                         "frequency_hz",
                                         "power_factor",
                                         "temperature_c",
                                         "state",
                                         "events",
                                         NULL};
static const char *const KIND_NAMES[] = {"inverter", "meter", "sensor", NULL};

/* "path.key" into out (cut to fit: fields are only for messages). */
static const char *join_field(char *out, size_t len, const char *path, const char *key)
{
    size_t a = strnlen(path, len - 1);
    size_t b = strnlen(key, len - 1 - a);
    memcpy(out, path, a);
    if (a + 1 + b < len) {
        out[a++] = '.';
        memcpy(out + a, key, b);
        a += b;
    }
    out[a] = '\0';
    return out;
}

void sim_fixed_defaults(struct sim_fixed *fx, enum sim_kind kind)
{
    int inv = kind == SIM_INVERTER;
    *fx = (struct sim_fixed){
        .set = 0,
        .power_w = inv ? 1500.0 : 500.0,
        .energy_import_wh = inv ? 0.0 : 2500000.0,
        .energy_export_wh = inv ? 1000000.0 : 1000.0,
        .voltage_v = inv ? 230.0 : 220.0,
        .current_a = inv ? 6.52 : 2.37,
        .frequency_hz = 60.0,
        .power_factor = inv ? 1.0 : 0.96,
        .temperature_c = 35.0,
        .state = 4,
        .events = 0,
    };
}

void sim_config_force_fixed(struct sim_config *cfg)
{
    for (size_t i = 0; i < cfg->ndevs; i++) {
        if (!cfg->devs[i].fixed) {
            cfg->devs[i].fixed = 1;
            sim_fixed_defaults(&cfg->devs[i].fx, cfg->devs[i].kind);
        }
    }
}

/* Reads map[key] as a double into *out, marking bit in *set when present. */
static int fixed_double(struct ydoc *d, struct fy_node *map, const char *key, const char *path,
                        double lo, double hi, double *out, unsigned *set, int bit)
{
    char field[160];
    join_field(field, sizeof field, path, key);
    int rc = ydoc_double(d, map, key, field, lo, hi, out);
    if (rc == 1)
        *set |= 1u << bit;
    return rc;
}

static int parse_fixed(struct ydoc *d, struct fy_node *node, const char *path,
                       struct sim_device_cfg *dev)
{
    struct sim_fixed *fx = &dev->fx;
    char field[160];
    long v;
    sim_fixed_defaults(fx, dev->kind);
    if (ydoc_expect_map(d, node, path) < 0 || ydoc_check_keys(d, node, path, FIXED_KEYS) < 0)
        return -1;
    if (fixed_double(d, node, "power_w", path, -1e7, 1e7, &fx->power_w, &fx->set, SIM_FX_POWER) <
            0 ||
        fixed_double(d, node, "energy_import_wh", path, 0, 4e12, &fx->energy_import_wh, &fx->set,
                     SIM_FX_IMPORT) < 0 ||
        fixed_double(d, node, "energy_export_wh", path, 0, 4e12, &fx->energy_export_wh, &fx->set,
                     SIM_FX_EXPORT) < 0 ||
        fixed_double(d, node, "voltage_v", path, 0, 1000, &fx->voltage_v, &fx->set,
                     SIM_FX_VOLTAGE) < 0 ||
        fixed_double(d, node, "current_a", path, -3000, 3000, &fx->current_a, &fx->set,
                     SIM_FX_CURRENT) < 0 ||
        fixed_double(d, node, "frequency_hz", path, 40, 70, &fx->frequency_hz, &fx->set,
                     SIM_FX_FREQUENCY) < 0 ||
        fixed_double(d, node, "power_factor", path, -1, 1, &fx->power_factor, &fx->set, SIM_FX_PF) <
            0 ||
        fixed_double(d, node, "temperature_c", path, -50, 200, &fx->temperature_c, &fx->set,
                     SIM_FX_TEMPERATURE) < 0)
        return -1;
    join_field(field, sizeof field, path, "state");
    int rc = ydoc_int(d, node, "state", field, 1, 65534, &v);
    if (rc < 0)
        return -1;
    if (rc == 1)
        fx->state = (int)v;
    join_field(field, sizeof field, path, "events");
    rc = ydoc_int(d, node, "events", field, 0, 0xFFFFFFFEL, &v);
    if (rc < 0)
        return -1;
    if (rc == 1)
        fx->events = (uint32_t)v;
    return 0;
}

/* Optional double map[key] in [lo, hi]: -1 on error, else 0 (out keeps its default). */
static int opt_double(struct ydoc *d, struct fy_node *map, const char *path, const char *key,
                      double lo, double hi, double *out)
{
    char field[160];
    join_field(field, sizeof field, path, key);
    return ydoc_double(d, map, key, field, lo, hi, out) < 0 ? -1 : 0;
}

static int opt_long(struct ydoc *d, struct fy_node *map, const char *path, const char *key, long lo,
                    long hi, long *out)
{
    char field[160];
    join_field(field, sizeof field, path, key);
    return ydoc_int(d, map, key, field, lo, hi, out) < 0 ? -1 : 0;
}

static int required_long(struct ydoc *d, struct fy_node *map, const char *path, const char *key,
                         long lo, long hi, long *out)
{
    char field[160];
    join_field(field, sizeof field, path, key);
    int rc = ydoc_int(d, map, key, field, lo, hi, out);
    if (rc == 0)
        return ydoc_error(d, map, field, "missing (required)");
    return rc < 0 ? -1 : 0;
}

/* ess_kwh (usable), ess_kw, ess_efficiency (round trip, default 0.9), ess_from (date, KST). */
static int parse_ess(struct ydoc *d, struct fy_node *node, const char *path,
                     struct sim_device_cfg *dev)
{
    char field[160];
    long long from = 0;
    dev->ess.efficiency = 0.9;
    if (opt_double(d, node, path, "ess_kwh", 0, 1e6, &dev->ess.usable_kwh) < 0 ||
        opt_double(d, node, path, "ess_kw", 0, 1e6, &dev->ess.power_kw) < 0 ||
        opt_double(d, node, path, "ess_efficiency", 0.5, 1, &dev->ess.efficiency) < 0 ||
        ydoc_date(d, node, "ess_from", join_field(field, sizeof field, path, "ess_from"), 9 * 3600L,
                  &from) < 0)
        return -1;
    dev->ess.from_s = (double)from;
    if (dev->ess.usable_kwh > 0.0 && dev->ess.power_kw <= 0.0)
        return ydoc_error(d, node, join_field(field, sizeof field, path, "ess_kw"),
                          "required with ess_kwh (the power rating, kW)");
    return 0;
}

/* feedback_saving (share of the load an AMI participant saves, 0..0.5) from feedback_from (date,
 * KST; required with a saving): `enmon-sim history` and the live meters (sim_device.c). */
static int parse_feedback(struct ydoc *d, struct fy_node *node, const char *path,
                          struct sim_device_cfg *dev)
{
    char field[160];
    long long from = 0;
    if (opt_double(d, node, path, "feedback_saving", 0, 0.5, &dev->feedback_saving) < 0 ||
        ydoc_date(d, node, "feedback_from",
                  join_field(field, sizeof field, path, "feedback_from"), 9 * 3600L, &from) < 0)
        return -1;
    dev->feedback_from_s = from;
    if (dev->feedback_saving > 0.0 && !ydoc_child(node, "feedback_from"))
        return ydoc_error(d, node, join_field(field, sizeof field, path, "feedback_from"),
                          "required with feedback_saving (the date feedback starts)");
    return 0;
}

static int parse_kind_specific(struct ydoc *d, struct fy_node *node, const char *path,
                               struct sim_device_cfg *dev)
{
    long phases = 1;
    if (opt_double(d, node, path, "capacity", 1, 1e7, &dev->capacity_w) < 0 ||
        opt_double(d, node, path, "tilt", 0, 90, &dev->tilt_deg) < 0 ||
        opt_double(d, node, path, "azimuth", 0, 360, &dev->azimuth_deg) < 0 ||
        opt_long(d, node, path, "phases", 1, 3, &phases) < 0 ||
        opt_double(d, node, path, "kwh_month", 0, 1e7, &dev->kwh_month) < 0 ||
        opt_double(d, node, path, "pv_capacity", 0, 1e7, &dev->pv_capacity_w) < 0)
        return -1;
    if (phases == 2) {
        char field[160];
        join_field(field, sizeof field, path, "phases");
        return ydoc_error(d, ydoc_child(node, "phases"), field, "must be 1 or 3");
    }
    dev->phases = (int)phases;
    char field[160];
    join_field(field, sizeof field, path, "led_retrofit");
    if (ydoc_bool(d, node, "led_retrofit", field, &dev->led_retrofit) < 0)
        return -1;
    return parse_ess(d, node, path, dev) || parse_feedback(d, node, path, dev) ? -1 : 0;
}

/* The device's bus: port (TCP) or rtu (one of the top-level rtu: paths), exactly one. */
static int parse_bus(struct ydoc *d, struct fy_node *node, const char *path,
                     const struct sim_config *cfg, long *port, int *rtu)
{
    char field[160], name[CFG_PATH_MAX];
    *rtu = -1;
    *port = 0;
    join_field(field, sizeof field, path, "rtu");
    int rc = ydoc_str(d, node, "rtu", field, name, sizeof name);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return required_long(d, node, path, "port", 1, 65535, port);
    if (ydoc_child(node, "port"))
        return ydoc_error(d, ydoc_child(node, "port"), field, "port and rtu exclude each other");
    for (size_t i = 0; i < cfg->nrtus; i++) {
        if (strcmp(cfg->rtus[i].path, name) == 0) {
            *rtu = (int)i;
            return 0;
        }
    }
    return ydoc_error(d, ydoc_child(node, "rtu"), field, "'%s' is not in the top-level rtu: list",
                      name);
}

/* The map file, resolved against the configuration file's folder, loaded once. */
static const struct regmap *find_or_load_map(struct ydoc *d, struct fy_node *node,
                                             const char *field, const char *name,
                                             struct sim_config *cfg)
{
    char file[CFG_PATH_MAX];
    const char *slash = strrchr(d->path, '/');
    size_t dir = name[0] == '/' || !slash ? 0 : (size_t)(slash - d->path) + 1;
    if (dir + strlen(name) >= sizeof file) {
        ydoc_error(d, node, field, "map path too long");
        return NULL;
    }
    memcpy(file, d->path, dir);
    memcpy(file + dir, name, strlen(name) + 1);
    for (size_t i = 0; i < cfg->nmaps; i++) {
        if (strcmp(cfg->maps[i]->path, file) == 0)
            return cfg->maps[i];
    }
    struct regmap **grown = realloc(cfg->maps, (cfg->nmaps + 1) * sizeof *cfg->maps);
    if (!grown) {
        ydoc_error(d, node, field, "out of memory");
        return NULL;
    }
    cfg->maps = grown;
    struct cfg_error merr;
    memset(&merr, 0, sizeof merr);
    int rc = regmap_load(file, &cfg->maps[cfg->nmaps], &merr);
    if (rc == ENMON_ERR_CONFIG) {
        *d->err = merr; /* the map file's own file, line and field */
        return NULL;
    }
    if (rc != ENMON_OK) {
        ydoc_error(d, node, field, "cannot load map file %s: %s", file, merr.msg);
        return NULL;
    }
    return cfg->maps[cfg->nmaps++];
}

/* map, or the SunSpec layout keys: model, sunspec_base, legacy_common, devices_behind. */
static int parse_layout(struct ydoc *d, struct fy_node *node, const char *path,
                        struct sim_config *cfg, struct sim_device_cfg *dev)
{
    static const char *const sunspec_keys[] = {"model", "sunspec_base", "legacy_common",
                                               "devices_behind"};
    char field[160], name[CFG_PATH_MAX];
    long model = 0, base = SIM_SUNSPEC_BASE, behind = 1;
    join_field(field, sizeof field, path, "map");
    int rc = ydoc_str(d, node, "map", field, name, sizeof name);
    if (rc < 0)
        return -1;
    if (rc == 1) {
        for (size_t i = 0; i < sizeof sunspec_keys / sizeof sunspec_keys[0]; i++) {
            if (ydoc_child(node, sunspec_keys[i]))
                return ydoc_error(d, ydoc_child(node, sunspec_keys[i]), field,
                                  "a map device has no SunSpec %s", sunspec_keys[i]);
        }
        dev->map = find_or_load_map(d, ydoc_child(node, "map"), field, name, cfg);
        return dev->map ? 0 : -1;
    }
    if (opt_long(d, node, path, "model", 1, 65535, &model) < 0 ||
        opt_long(d, node, path, "sunspec_base", 0, 50000, &base) < 0 ||
        opt_long(d, node, path, "devices_behind", 1, SIM_BEHIND_MAX, &behind) < 0)
        return -1;
    join_field(field, sizeof field, path, "model");
    if (model && !sim_sunspec_model_ok(dev->kind, (int)model))
        return ydoc_error(d, ydoc_child(node, "model"), field,
                          dev->kind == SIM_INVERTER ? "inverters: 101-103 or 111-113"
                                                    : "meters: 201-204 or 211-213");
    join_field(field, sizeof field, path, "sunspec_base");
    if (base != 0 && base != 40000 && base != 50000)
        return ydoc_error(d, ydoc_child(node, "sunspec_base"), field, "must be 40000, 0 or 50000");
    dev->model = model ? (int)model : sim_sunspec_default_model(dev->kind, dev->phases);
    dev->sunspec_base = (uint16_t)base;
    dev->devices_behind = (int)behind;
    join_field(field, sizeof field, path, "legacy_common");
    return ydoc_bool(d, node, "legacy_common", field, &dev->legacy_common) < 0 ? -1 : 0;
}

/* silent and delay: how (and whether) the device answers. */
static int parse_answer(struct ydoc *d, struct fy_node *node, const char *path,
                        struct sim_device_cfg *dev)
{
    char field[160];
    join_field(field, sizeof field, path, "silent");
    if (ydoc_bool(d, node, "silent", field, &dev->silent) < 0)
        return -1;
    join_field(field, sizeof field, path, "delay");
    return ydoc_duration_ms(d, node, "delay", field, 0, SIM_DELAY_MAX_MS, &dev->delay_ms) < 0 ? -1
                                                                                              : 0;
}

static int parse_entry(struct ydoc *d, struct fy_node *node, const char *path,
                       struct sim_config *cfg, struct entry *e)
{
    char field[160];
    long port, unit, count = 1;
    int kind = SIM_INVERTER, rtu;
    memset(e, 0, sizeof *e);
    if (ydoc_expect_map(d, node, path) < 0 || ydoc_check_keys(d, node, path, DEVICE_KEYS) < 0)
        return -1;
    join_field(field, sizeof field, path, "kind");
    int rc = ydoc_enum(d, node, "kind", field, KIND_NAMES, &kind);
    if (rc == 0)
        return ydoc_error(d, node, field, "missing (required: inverter, meter or sensor)");
    if (rc < 0 || parse_bus(d, node, path, cfg, &port, &rtu) < 0 ||
        required_long(d, node, path, "unit", 1, SIM_UNIT_MAX, &unit) < 0 ||
        opt_long(d, node, path, "count", 1, SIM_UNIT_MAX, &count) < 0)
        return -1;
    if (unit + count - 1 > SIM_UNIT_MAX) {
        join_field(field, sizeof field, path, "count");
        return ydoc_error(d, ydoc_child(node, "count"), field,
                          "units %ld..%ld exceed the last unit id %d", unit, unit + count - 1,
                          SIM_UNIT_MAX);
    }
    struct sim_device_cfg *dev = &e->dev;
    *dev = (struct sim_device_cfg){.port = (int)port,
                                   .unit = (int)unit,
                                   .kind = kind,
                                   .capacity_w = 3000,
                                   .tilt_deg = 30,
                                   .azimuth_deg = 180,
                                   .phases = 1,
                                   .kwh_month = 310,
                                   .devices_behind = 1,
                                   .sunspec_base = SIM_SUNSPEC_BASE,
                                   .rtu = rtu,
                                   .line = ydoc_line(node)};
    e->count = count;
    join_field(field, sizeof field, path, "serial");
    if (parse_kind_specific(d, node, path, dev) < 0 ||
        ydoc_str(d, node, "serial", field, e->serial_tpl, sizeof e->serial_tpl) < 0 ||
        parse_layout(d, node, path, cfg, dev) < 0 || parse_answer(d, node, path, dev) < 0)
        return -1;
    if (kind == SIM_SENSOR && !dev->map) { /* no SunSpec model describes a pole sensor */
        join_field(field, sizeof field, path, "map");
        return ydoc_error(d, node, field, "missing (a sensor is served through a register map)");
    }
    if (kind == SIM_SENSOR && ydoc_child(node, "fixed")) {
        join_field(field, sizeof field, path, "fixed");
        return ydoc_error(d, ydoc_child(node, "fixed"), field, "a sensor has no fixed mode");
    }
    struct fy_node *fixed = ydoc_child(node, "fixed");
    if (fixed) {
        join_field(field, sizeof field, path, "fixed");
        if (parse_fixed(d, fixed, field, dev) < 0)
            return -1;
        dev->fixed = 1;
    }
    return 0;
}

/* Replaces each "{n}" in tpl by n; result truncated to len. */
static void expand_serial(char *out, size_t len, const char *tpl, int n)
{
    size_t used = 0;
    out[0] = '\0';
    for (const char *p = tpl; *p && used + 1 < len; p++) {
        if (strncmp(p, "{n}", 3) == 0) {
            int w = snprintf(out + used, len - used, "%d", n);
            used = w < 0 ? used : (used + (size_t)w >= len ? len - 1 : used + (size_t)w);
            p += 2;
        } else {
            out[used++] = *p;
            out[used] = '\0';
        }
    }
}

/* Bitmap of the (bus, unit) pairs taken so far: buses are the ports, then the rtu paths. */
#define USED_BITS ((65536u + SIM_RTU_MAX) * 256u)

/* Error when port/unit is already taken by an earlier device; marks it taken. */
static int check_duplicate(struct ydoc *d, uint8_t *used, const struct sim_device_cfg *dev,
                           struct fy_node *node, const char *path)
{
    uint32_t bus = dev->rtu >= 0 ? 65536u + (uint32_t)dev->rtu : (uint32_t)dev->port;
    uint32_t bit = bus * 256u + (uint32_t)dev->unit;
    if (used[bit / 8] & (1u << (bit % 8)))
        return ydoc_error(d, node, path, "%s %d unit %d is already used",
                          dev->rtu >= 0 ? "rtu bus" : "port", dev->rtu >= 0 ? dev->rtu : dev->port,
                          dev->unit);
    used[bit / 8] |= (uint8_t)(1u << (bit % 8));
    return 0;
}

static int add_entry(struct ydoc *d, struct sim_config *cfg, uint8_t *used, const struct entry *e,
                     struct fy_node *node, const char *path)
{
    if (cfg->ndevs + (size_t)e->count > SIM_DEVICES_MAX)
        return ydoc_error(d, node, path, "too many devices (at most %d)", SIM_DEVICES_MAX);
    struct sim_device_cfg *grown =
        realloc(cfg->devs, (cfg->ndevs + (size_t)e->count) * sizeof *cfg->devs);
    if (!grown)
        return ydoc_error(d, node, path, "out of memory");
    cfg->devs = grown;
    for (long i = 0; i < e->count; i++) {
        struct sim_device_cfg dev = e->dev;
        dev.unit = e->dev.unit + (int)i;
        dev.copy = (int)i + 1;
        expand_serial(dev.serial, sizeof dev.serial, e->serial_tpl, dev.copy);
        if (check_duplicate(d, used, &dev, node, path) < 0)
            return -1;
        cfg->devs[cfg->ndevs++] = dev;
    }
    return 0;
}

static int parse_devices(struct ydoc *d, struct fy_node *seq, struct sim_config *cfg, uint8_t *used)
{
    if (!seq)
        return ydoc_error(d, NULL, "devices", "missing (required)");
    if (ydoc_expect_seq(d, seq, "devices") < 0)
        return -1;
    int n = ydoc_seq_len(seq);
    if (n == 0)
        return ydoc_error(d, seq, "devices", "no devices");
    for (int i = 0; i < n; i++) {
        char path[64];
        struct entry e;
        struct fy_node *node = ydoc_seq_at(seq, i);
        snprintf(path, sizeof path, "devices[%d]", i);
        if (parse_entry(d, node, path, cfg, &e) < 0 || add_entry(d, cfg, used, &e, node, path) < 0)
            return -1;
    }
    return 0;
}

static int parse_rtu(struct ydoc *d, struct fy_node *node, const char *path, struct sim_config *cfg)
{
    char field[160];
    struct sim_rtu_cfg *r = &cfg->rtus[cfg->nrtus];
    *r = (struct sim_rtu_cfg){.baud = 9600, .line = ydoc_line(node)};
    if (ydoc_expect_map(d, node, path) < 0 || ydoc_check_keys(d, node, path, RTU_KEYS) < 0 ||
        opt_long(d, node, path, "baud", 300, 4000000, &r->baud) < 0)
        return -1;
    join_field(field, sizeof field, path, "path");
    int rc = ydoc_str(d, node, "path", field, r->path, sizeof r->path);
    if (rc == 0)
        return ydoc_error(d, node, field, "missing (required)");
    if (rc < 0)
        return -1;
    if (r->path[0] != '/')
        return ydoc_error(d, ydoc_child(node, "path"), field, "must be an absolute path");
    for (size_t i = 0; i < cfg->nrtus; i++) {
        if (strcmp(cfg->rtus[i].path, r->path) == 0)
            return ydoc_error(d, ydoc_child(node, "path"), field, "'%s' is listed twice", r->path);
    }
    cfg->nrtus++;
    return 0;
}

/* The top-level rtu: list (optional). */
static int parse_rtus(struct ydoc *d, struct fy_node *seq, struct sim_config *cfg)
{
    if (!seq)
        return 0;
    if (ydoc_expect_seq(d, seq, "rtu") < 0)
        return -1;
    int n = ydoc_seq_len(seq);
    if (n > SIM_RTU_MAX)
        return ydoc_error(d, seq, "rtu", "at most %d buses", SIM_RTU_MAX);
    cfg->rtus = calloc(n ? (size_t)n : 1, sizeof *cfg->rtus);
    if (!cfg->rtus)
        return ydoc_error(d, seq, "rtu", "out of memory");
    for (int i = 0; i < n; i++) {
        char path[64];
        snprintf(path, sizeof path, "rtu[%d]", i);
        if (parse_rtu(d, ydoc_seq_at(seq, i), path, cfg) < 0)
            return -1;
    }
    return 0;
}

static int parse_top(struct ydoc *d, struct fy_node *root, struct sim_config *cfg)
{
    long seed;
    if (ydoc_expect_map(d, root, "(top level)") < 0 ||
        ydoc_check_keys(d, root, "(top level)", TOP_KEYS) < 0)
        return -1;
    int rc = ydoc_int(d, root, "seed", "seed", 0, 0x7FFFFFFFL, &seed);
    if (rc < 0)
        return -1;
    cfg->has_seed = rc;
    if (rc)
        cfg->seed = (uint64_t)seed;
    struct in_addr addr;
    if (ydoc_str(d, root, "listen", "listen", cfg->listen, sizeof cfg->listen) < 0)
        return -1;
    if (inet_pton(AF_INET, cfg->listen, &addr) != 1)
        return ydoc_error(d, ydoc_child(root, "listen"), "listen", "'%s' is not an IPv4 address",
                          cfg->listen);
    rc = ydoc_date(d, root, "time", "time", SIM_TZ_S, &cfg->start_s);
    if (rc < 0)
        return -1;
    cfg->has_start = rc;
    if (parse_rtus(d, ydoc_child(root, "rtu"), cfg) < 0)
        return -1;
    uint8_t *used = calloc(USED_BITS / 8, 1);
    if (!used)
        return ydoc_error(d, root, "devices", "out of memory");
    rc = parse_devices(d, ydoc_child(root, "devices"), cfg, used);
    free(used);
    return rc;
}

int sim_config_load(const char *path, struct sim_config *cfg, struct cfg_error *err)
{
    struct ydoc d;
    memset(cfg, 0, sizeof *cfg);
    snprintf(cfg->listen, sizeof cfg->listen, "127.0.0.1");
    cfg->seed = 1;
    int rc = ydoc_load(&d, path, err);
    if (rc != ENMON_OK)
        return rc;
    struct fy_node *root = ydoc_root(&d);
    if (!root)
        rc = ydoc_error(&d, NULL, "(top level)", "empty configuration");
    else
        rc = parse_top(&d, root, cfg);
    ydoc_free(&d);
    if (rc < 0) {
        sim_config_free(cfg);
        return ENMON_ERR_CONFIG;
    }
    return ENMON_OK;
}

void sim_config_free(struct sim_config *cfg)
{
    free(cfg->devs);
    cfg->devs = NULL;
    cfg->ndevs = 0;
    free(cfg->rtus);
    cfg->rtus = NULL;
    cfg->nrtus = 0;
    for (size_t i = 0; i < cfg->nmaps; i++)
        regmap_free(cfg->maps[i]);
    free(cfg->maps);
    cfg->maps = NULL;
    cfg->nmaps = 0;
}
