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
    double factor;
};

static const struct meas_point inverter_points[] = {
    {MEAS_POWER_W, "W", NULL, 1},          {MEAS_ENERGY_EXPORT_WH, "WH", NULL, 1},
    {MEAS_VOLTAGE_V, "PhVphA", NULL, 1},    {MEAS_CURRENT_A, "A", NULL, 1},
    {MEAS_FREQUENCY_HZ, "Hz", NULL, 1},     {MEAS_POWER_FACTOR, "PF", NULL, 0.01},
    {MEAS_DC_POWER_W, "DCW", NULL, 1},      {MEAS_TEMPERATURE_C, "TmpCab", NULL, 1},
    {MEAS_STATE, "St", NULL, 1},            {MEAS_EVENTS, "Evt1", NULL, 1},
};

static const struct meas_point meter_points[] = {
    {MEAS_POWER_W, "W", NULL, 1},           {MEAS_ENERGY_IMPORT_WH, "TotWhImp", NULL, 1},
    {MEAS_ENERGY_EXPORT_WH, "TotWhExp", NULL, 1}, {MEAS_VOLTAGE_V, "PhV", "PhVphA", 1},
    {MEAS_CURRENT_A, "A", NULL, 1},         {MEAS_FREQUENCY_HZ, "Hz", NULL, 1},
    {MEAS_POWER_FACTOR, "PF", NULL, 0.01},  {MEAS_EVENTS, "Evt", NULL, 1},
};

static int is_inverter_model(uint16_t id)
{
    return (id >= 101 && id <= 103) || (id >= 111 && id <= 113);
}

static int is_meter_model(uint16_t id)
{
    return (id >= 201 && id <= 204) || (id >= 211 && id <= 214);
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
        int inv = is_inverter_model(ref->id), met = is_meter_model(ref->id);
        const struct sunspec_model_def *def = sunspec_model_find(ref->id);
        if (!(inv || met) || !def || ref->len < def->fixed_len)
            continue;
        plan->main = *ref;
        plan->def = def;
        plan->is_meter = met;
        const struct meas_point *mp = met ? meter_points : inverter_points;
        size_t n = met ? sizeof(meter_points) / sizeof(meter_points[0])
                       : sizeof(inverter_points) / sizeof(inverter_points[0]);
        for (int m = 0; m < MEAS__COUNT; m++)
            plan->point[m] = -1;
        for (size_t k = 0; k < n; k++) {
            plan->point[mp[k].meas] = (int16_t)sunspec_point_index(def, mp[k].point);
            plan->factor[mp[k].meas] = mp[k].factor;
        }
        return ENMON_OK;
    }
    return ENMON_ERR_NOT_FOUND;
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

void sunspec_plan_decode(const struct sunspec_plan *plan, const uint16_t *block, size_t nwords,
                         struct reading *r)
{
    r->valid = 0;
    for (int m = 0; m < MEAS__COUNT; m++) {
        if (plan->point[m] < 0)
            continue;
        double v, wrap;
        int ok = sunspec_point_decode(plan->def, block, nwords, plan->point[m], &v, &wrap) == 0;
        if (!ok) {
            int fb = fallback_index(plan, (enum meas)m);
            ok = fb >= 0 && sunspec_point_decode(plan->def, block, nwords, fb, &v, &wrap) == 0;
        }
        if (!ok)
            continue;
        reading_set(r, (enum meas)m, v * plan->factor[m]);
        if (m == MEAS_ENERGY_IMPORT_WH)
            r->wrap_wh[0] = wrap;
        else if (m == MEAS_ENERGY_EXPORT_WH)
            r->wrap_wh[1] = wrap;
    }
    enum meas energy = plan->is_meter ? MEAS_ENERGY_IMPORT_WH : MEAS_ENERGY_EXPORT_WH;
    int complete = reading_has(r, MEAS_POWER_W) && reading_has(r, energy);
    r->quality = complete ? READING_OK : READING_PARTIAL;
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
