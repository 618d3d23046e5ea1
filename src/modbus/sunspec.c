/* sunspec.c -- SunSpec discovery (model chain walk) and decoding of models into readings. */
#include "sunspec.h"
#include "decode.h"
#include "err.h"

#include <math.h>
#include <string.h>

#define SUNS_HI 0x5375 /* "Su" */
#define SUNS_LO 0x6E53 /* "nS" */
#define SUNSPEC_END 0xFFFF

const struct sunspec_model_def *sunspec_model_find(uint16_t id)
{
    for (size_t i = 0; i < sunspec_model_count; i++)
        if (sunspec_models[i].id == id)
            return &sunspec_models[i];
    return NULL;
}

int sunspec_point_index(const struct sunspec_model_def *model, const char *name)
{
    for (int i = 0; i < model->npoints; i++)
        if (strcmp(model->points[i].name, name) == 0)
            return i;
    return -1;
}

static int walk_chain(sunspec_read_fn read, void *ctx, uint16_t base, struct sunspec_chain *chain)
{
    uint32_t addr = (uint32_t)base + 2;
    chain->base = base;
    chain->nmodels = 0;
    for (;;) {
        uint16_t hdr[2];
        if (addr + 2 > 0x10000)
            return ENMON_ERR_BAD_CHAIN;
        int rc = read(ctx, (uint16_t)addr, 2, hdr);
        if (rc != ENMON_OK)
            return chain->nmodels > 0 && (rc == ENMON_ERR_MODBUS || rc == ENMON_ERR_REJECTED) ? ENMON_OK
                                                                                        : rc;
        if (hdr[0] == SUNSPEC_END)
            return ENMON_OK;
        if (addr + 2 + hdr[1] > 0x10000 || chain->nmodels == SUNSPEC_MAX_MODELS)
            return ENMON_ERR_BAD_CHAIN;
        chain->models[chain->nmodels++] =
            (struct sunspec_model_ref){.id = hdr[0], .len = hdr[1], .addr = (uint16_t)addr};
        addr += 2u + hdr[1];
    }
}

int sunspec_discover(sunspec_read_fn read, void *ctx, int base, struct sunspec_chain *chain)
{
    static const uint16_t bases[] = {40000, 0, 50000};
    int rc = ENMON_ERR_NOT_SUNSPEC;
    for (size_t i = 0; i < sizeof(bases) / sizeof(bases[0]); i++) {
        uint16_t b = base >= 0 ? (uint16_t)base : bases[i];
        uint16_t marker[2];
        rc = read(ctx, b, 2, marker);
        if (rc == ENMON_OK && marker[0] == SUNS_HI && marker[1] == SUNS_LO)
            return walk_chain(read, ctx, b, chain);
        if (rc == ENMON_ERR_TIMEOUT || rc == ENMON_ERR_CONNECT || rc == ENMON_ERR_GATEWAY)
            return rc; /* the device is not answering: probing further only costs time */
        rc = ENMON_ERR_NOT_SUNSPEC;
        if (base >= 0)
            break;
    }
    return rc;
}

int sunspec_read_model(sunspec_read_fn read, void *ctx, const struct sunspec_model_ref *ref,
                       uint16_t *block)
{
    uint32_t total = (uint32_t)ref->len + 2;
    for (uint32_t done = 0; done < total;) {
        uint16_t n = (uint16_t)(total - done > SUNSPEC_MAX_READ ? SUNSPEC_MAX_READ : total - done);
        int rc = read(ctx, (uint16_t)(ref->addr + done), n, block + done);
        if (rc != ENMON_OK)
            return rc;
        done += n;
    }
    return ENMON_OK;
}

static int not_implemented(const uint16_t *w, enum sunspec_type type)
{
    switch (type) {
    case SS_INT16:
    case SS_SUNSSF:
        return w[0] == 0x8000;
    case SS_UINT16:
    case SS_COUNT:
    case SS_ENUM16:
    case SS_BITFIELD16:
        return w[0] == 0xFFFF;
    case SS_ACC16:
        return w[0] == 0;
    case SS_ACC32:
        return w[0] == 0 && w[1] == 0;
    case SS_INT32:
        return w[0] == 0x8000 && w[1] == 0;
    case SS_UINT32:
    case SS_ENUM32:
    case SS_BITFIELD32:
        return w[0] == 0xFFFF && w[1] == 0xFFFF;
    case SS_INT64:
        return w[0] == 0x8000 && !w[1] && !w[2] && !w[3];
    case SS_UINT64:
        return w[0] == 0xFFFF && w[1] == 0xFFFF && w[2] == 0xFFFF && w[3] == 0xFFFF;
    case SS_ACC64:
        return !w[0] && !w[1] && !w[2] && !w[3];
    case SS_STRING:
        return (w[0] >> 8) == 0;
    case SS_PAD:
        return 1;
    default:
        return 0; /* floats: NaN is caught by decode_value */
    }
}

static enum decode_type decode_type_of(enum sunspec_type type)
{
    switch (type) {
    case SS_INT16:
    case SS_SUNSSF:
        return DECODE_S16;
    case SS_INT32:
        return DECODE_S32;
    case SS_UINT32:
    case SS_ACC32:
    case SS_ENUM32:
    case SS_BITFIELD32:
        return DECODE_U32;
    case SS_INT64:
        return DECODE_S64;
    case SS_UINT64:
    case SS_ACC64:
        return DECODE_U64;
    case SS_FLOAT32:
        return DECODE_F32;
    case SS_FLOAT64:
        return DECODE_F64;
    default:
        return DECODE_U16;
    }
}

/* Scale factor of point p: 0 when it has none; -1 when it is invalid. */
static int point_sf(const struct sunspec_model_def *def, const uint16_t *block, size_t nwords,
                    const struct sunspec_point_def *p, int *sf)
{
    *sf = 0;
    if (p->sf_index < 0)
        return 0;
    int idx = p->sf_index & ~SUNSPEC_SF_PARENT;
    if (idx >= def->npoints)
        return -1;
    const struct sunspec_point_def *sfp = &def->points[idx];
    if (sfp->offset >= nwords || block[sfp->offset] == 0x8000)
        return -1;
    int v = (int16_t)block[sfp->offset];
    if (v < -10 || v > 10)
        return -1;
    *sf = v;
    return 0;
}

int sunspec_point_decode(const struct sunspec_model_def *def, const uint16_t *block, size_t nwords,
                         int point, double *out, double *wrap)
{
    if (wrap)
        *wrap = 0;
    if (point < 0 || point >= def->npoints)
        return -1;
    const struct sunspec_point_def *p = &def->points[point];
    if (p->type == SS_STRING || (size_t)p->offset + p->size > nwords)
        return -1;
    const uint16_t *w = block + p->offset;
    if (not_implemented(w, (enum sunspec_type)p->type))
        return -1;
    double raw;
    if (decode_value(w, decode_type_of((enum sunspec_type)p->type), DECODE_ABCD, &raw) != 0)
        return -1;
    int sf;
    if (point_sf(def, block, nwords, p, &sf) != 0)
        return -1;
    *out = decode_scale(raw, sf);
    if (wrap && p->type == SS_ACC32)
        *wrap = decode_scale(4294967296.0, sf);
    return 0;
}

struct meas_point {
    enum meas meas;
    const char *point;
    const char *fallback; /* used when the device does not implement point */
};

static const struct meas_point inverter_points[] = {
    {MEAS_POWER_W, "W", NULL},        {MEAS_ENERGY_EXPORT_WH, "WH", NULL},
    {MEAS_VOLTAGE_V, "PhVphA", NULL}, {MEAS_CURRENT_A, "A", NULL},
    {MEAS_FREQUENCY_HZ, "Hz", NULL},  {MEAS_POWER_FACTOR, "PF", NULL},
    {MEAS_DC_POWER_W, "DCW", NULL},   {MEAS_TEMPERATURE_C, "TmpCab", NULL},
    {MEAS_STATE, "St", NULL},         {MEAS_EVENTS, "Evt1", NULL},
};

static const struct meas_point meter_points[] = {
    {MEAS_POWER_W, "W", NULL},
    {MEAS_ENERGY_IMPORT_WH, "TotWhImp", NULL},
    {MEAS_ENERGY_EXPORT_WH, "TotWhExp", NULL},
    {MEAS_VOLTAGE_V, "PhV", "PhVphA"},
    {MEAS_CURRENT_A, "A", NULL},
    {MEAS_FREQUENCY_HZ, "Hz", NULL},
    {MEAS_POWER_FACTOR, "PF", NULL},
    {MEAS_EVENTS, "Evt", NULL},
};

static int is_inverter_model(uint16_t id)
{
    return (id >= 101 && id <= 103) || (id >= 111 && id <= 113);
}

static int is_meter_model(uint16_t id)
{
    return (id >= 201 && id <= 204) || (id >= 211 && id <= 214);
}

/* Divisor that brings a point to enmon's units: PF in "Pct" to a ratio. Division
 * (not x 0.01) keeps 99.5 % exactly the double nearest 0.995. */
static double units_divisor(enum meas m, const struct sunspec_point_def *p)
{
    if (m == MEAS_POWER_FACTOR && p->units && strcmp(p->units, "Pct") == 0)
        return 100;
    return 1;
}

static void plan_resolve(struct sunspec_plan *plan, const struct sunspec_model_ref *ref,
                         const struct sunspec_model_def *def, int met)
{
    plan->main = *ref;
    plan->def = def;
    plan->is_meter = met;
    const struct meas_point *mp = met ? meter_points : inverter_points;
    size_t n = met ? sizeof(meter_points) / sizeof(meter_points[0])
                   : sizeof(inverter_points) / sizeof(inverter_points[0]);
    for (int m = 0; m < MEAS__COUNT; m++)
        plan->point[m] = -1;
    for (size_t k = 0; k < n; k++) {
        int idx = sunspec_point_index(def, mp[k].point);
        plan->point[mp[k].meas] = (int16_t)idx;
        plan->divisor[mp[k].meas] = idx >= 0 ? units_divisor(mp[k].meas, &def->points[idx]) : 1;
    }
}

int sunspec_plan_build_nth(const struct sunspec_chain *chain, int nth, struct sunspec_plan *plan)
{
    memset(plan, 0, sizeof(*plan));
    int device = chain->nmodels > 0 && chain->models[0].id == 1 ? 0 : 1;
    for (int i = 0; i < chain->nmodels; i++) {
        const struct sunspec_model_ref *ref = &chain->models[i];
        if (ref->id == 1)
            device++; /* each common model starts the next device behind this address */
        if (device != nth)
            continue;
        if (ref->id == 1) {
            plan->common = *ref;
            continue;
        }
        if (ref->id == 160 && !plan->mppt.id) {
            plan->mppt = *ref;
            continue;
        }
        int inv = is_inverter_model(ref->id), met = is_meter_model(ref->id);
        const struct sunspec_model_def *def = sunspec_model_find(ref->id);
        if (plan->def || !(inv || met) || !def || ref->len < def->fixed_len)
            continue;
        plan_resolve(plan, ref, def, met);
    }
    if (!plan->def)
        return ENMON_ERR_NOT_FOUND;
    if (plan->is_meter)
        plan->mppt = (struct sunspec_model_ref){0}; /* DC inputs belong to inverters */
    return ENMON_OK;
}

void sunspec_plan_pf_percent(struct sunspec_plan *plan)
{
    plan->divisor[MEAS_POWER_FACTOR] = 100;
}

int sunspec_plan_build(const struct sunspec_chain *chain, struct sunspec_plan *plan)
{
    return sunspec_plan_build_nth(chain, 1, plan);
}

static int fallback_index(const struct sunspec_plan *plan, enum meas m)
{
    const struct meas_point *mp = plan->is_meter ? meter_points : inverter_points;
    size_t n = plan->is_meter ? sizeof(meter_points) / sizeof(meter_points[0])
                              : sizeof(inverter_points) / sizeof(inverter_points[0]);
    for (size_t k = 0; k < n; k++)
        if (mp[k].meas == m && mp[k].fallback)
            return sunspec_point_index(plan->def, mp[k].fallback);
    return -1;
}

/* 1 when measurement m comes from a float32 point (model 111-113, 211-213). */
static int point_is_f32(const struct sunspec_plan *plan, int m)
{
    return plan->point[m] >= 0 && plan->def->points[plan->point[m]].type == SS_FLOAT32;
}

/* 1 when point idx holds a value other than its not-implemented sentinel (it
 * may still be undecodable: its scale factor invalid, a float infinite). */
static int point_implemented(const struct sunspec_model_def *def, const uint16_t *block,
                             size_t nwords, int idx)
{
    if (idx < 0)
        return 0;
    const struct sunspec_point_def *p = &def->points[idx];
    if ((size_t)p->offset + p->size > nwords)
        return 0;
    const uint16_t *w = block + p->offset;
    if (p->type == SS_FLOAT32)
        return !(((w[0] & 0x7F80u) == 0x7F80u) && ((w[0] & 0x7Fu) || w[1])); /* NaN */
    return !not_implemented(w, (enum sunspec_type)p->type);
}

void sunspec_plan_decode(const struct sunspec_plan *plan, const uint16_t *block, size_t nwords,
                         struct reading *r)
{
    int invalid = 0;
    r->valid = 0;
    for (int m = 0; m < MEAS__COUNT; m++) {
        if (plan->point[m] < 0)
            continue;
        double v, wrap;
        int ok = sunspec_point_decode(plan->def, block, nwords, plan->point[m], &v, &wrap) == 0;
        int fb = -1; /* looked up by name only when needed: not on every reading */
        if (!ok) {
            fb = fallback_index(plan, (enum meas)m);
            ok = fb >= 0 && sunspec_point_decode(plan->def, block, nwords, fb, &v, &wrap) == 0;
        }
        if (!ok) {
            /* not implemented is no error; implemented but undecodable is */
            invalid += point_implemented(plan->def, block, nwords, plan->point[m]) ||
                       point_implemented(plan->def, block, nwords, fb);
            continue;
        }
        if (point_is_f32(plan, m))
            v = decode_f32_shortest(v);
        reading_set(r, (enum meas)m, v / plan->divisor[m]);
        if (m == MEAS_ENERGY_IMPORT_WH)
            r->wrap_wh[0] = wrap;
        else if (m == MEAS_ENERGY_EXPORT_WH)
            r->wrap_wh[1] = wrap;
    }
    enum meas energy = plan->is_meter ? MEAS_ENERGY_IMPORT_WH : MEAS_ENERGY_EXPORT_WH;
    int complete = reading_has(r, MEAS_POWER_W) && reading_has(r, energy);
    r->quality = complete && !invalid ? READING_OK : READING_PARTIAL;
}

/* Point `name` of one repetition grp of def's repeating group (block: the whole
 * model, which holds grp); its scale factor is in the group or the fixed block. */
static int group_point_decode(const struct sunspec_model_def *def, const uint16_t *block,
                              const uint16_t *grp, const char *name, double *out)
{
    const struct sunspec_point_def *p = NULL;
    for (int i = 0; i < def->ngroup_points && !p; i++)
        if (strcmp(def->group_points[i].name, name) == 0)
            p = &def->group_points[i];
    if (!p || p->type == SS_STRING || (size_t)p->offset + p->size > def->group_len)
        return -1;
    const uint16_t *w = grp + p->offset;
    double raw;
    if (not_implemented(w, (enum sunspec_type)p->type) ||
        decode_value(w, decode_type_of((enum sunspec_type)p->type), DECODE_ABCD, &raw) != 0)
        return -1;
    int sf = 0;
    if (p->sf_index >= 0) {
        int parent = p->sf_index & SUNSPEC_SF_PARENT, idx = p->sf_index & ~SUNSPEC_SF_PARENT;
        const struct sunspec_point_def *sfp = parent ? def->points : def->group_points;
        const uint16_t *words = parent ? block : grp;
        if (idx >= (parent ? def->npoints : def->ngroup_points))
            return -1;
        uint16_t v = words[sfp[idx].offset];
        if (v == 0x8000 || (int16_t)v < -10 || (int16_t)v > 10)
            return -1;
        sf = (int16_t)v;
    }
    *out = decode_scale(raw, sf);
    return 0;
}

void sunspec_mppt_decode(const uint16_t *block, size_t nwords, struct reading *r)
{
    static const char *const names[MODULE__COUNT] = {
        [MODULE_DC_CURRENT_A] = "DCA", [MODULE_DC_VOLTAGE_V] = "DCV", [MODULE_DC_POWER_W] = "DCW"};
    const struct sunspec_model_def *def = sunspec_model_find(160);
    int n_idx = def ? sunspec_point_index(def, "N") : -1;
    r->nmodules = 0;
    if (n_idx < 0 || def->group_len == 0 || def->points[n_idx].offset >= nwords ||
        block[def->points[n_idx].offset] == 0xFFFF)
        return;
    size_t all = block[def->points[n_idx].offset], n = all;
    size_t fixed = def->fixed_len + 2u;
    size_t fits = nwords > fixed ? (nwords - fixed) / def->group_len : 0;
    if (n > fits)
        n = fits;
    if (n > READING_MODULES_MAX)
        n = READING_MODULES_MAX; /* more modules: the first ones only, and no dc_power_w sum */
    int sum_ok = n > 0 && n == all;
    double sum = 0;
    for (size_t i = 0; i < n; i++) {
        const uint16_t *grp = block + fixed + i * def->group_len;
        struct reading_module *mod = &r->module[i];
        *mod = (struct reading_module){0};
        for (int k = 0; k < MODULE__COUNT; k++) {
            double v;
            if (group_point_decode(def, block, grp, names[k], &v) != 0)
                continue;
            mod->value[k] = v;
            mod->valid |= (uint8_t)(1u << k);
        }
        if (mod->valid & (1u << MODULE_DC_POWER_W))
            sum += mod->value[MODULE_DC_POWER_W];
        else
            sum_ok = 0;
    }
    r->nmodules = (uint8_t)n;
    if (sum_ok)
        reading_set(r, MEAS_DC_POWER_W, sum);
}

void sunspec_common_decode(const uint16_t *block, size_t nwords, struct sunspec_common *out)
{
    memset(out, 0, sizeof(*out));
    const struct sunspec_model_def *def = sunspec_model_find(1);
    if (!def)
        return;
    static const struct {
        const char *name;
        size_t field;
        size_t len;
    } fields[] = {
        {"Mn", offsetof(struct sunspec_common, manufacturer), sizeof(out->manufacturer)},
        {"Md", offsetof(struct sunspec_common, model), sizeof(out->model)},
        {"Vr", offsetof(struct sunspec_common, version), sizeof(out->version)},
        {"SN", offsetof(struct sunspec_common, serial), sizeof(out->serial)},
    };
    for (size_t i = 0; i < sizeof(fields) / sizeof(fields[0]); i++) {
        int idx = sunspec_point_index(def, fields[i].name);
        if (idx < 0)
            continue;
        const struct sunspec_point_def *p = &def->points[idx];
        if ((size_t)p->offset + p->size > nwords)
            continue;
        decode_string(block + p->offset, p->size, (char *)out + fields[i].field, fields[i].len);
    }
}
