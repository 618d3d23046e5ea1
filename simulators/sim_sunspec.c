/* sim_sunspec.c -- build the SunSpec register image of a device from its current values. */
#include "sim_sunspec.h"

#include "log.h"
#include "sunspec_defs.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define INT16_LIMIT SIM_INT16_LIMIT
#define UINT16_LIMIT 65534.0
#define ACC32_LIMIT SIM_ACC32_LIMIT

#define LEGACY_COMMON_LEN 65 /* model 1 before the Pad register was added */

/* Writes points of one model block (or one repetition of its group) by name. */
struct model_writer {
    uint16_t *regs; /* first register of the block */
    const struct sunspec_point_def *pts;
    uint16_t npts;
    uint16_t model; /* model id, for messages */
    uint16_t limit; /* registers of the block: points past it are left out */
    int is_float;   /* 111-113, 211-213: float32 values, no scale factors */
    int err;
};

int sim_image_alloc(struct sim_image *img, uint32_t cap)
{
    img->base = 0;
    img->len = 0;
    img->cap = 0;
    img->regs = calloc(cap ? cap : 1, sizeof *img->regs);
    if (!img->regs)
        return -1;
    img->cap = cap;
    return 0;
}

void sim_image_free(struct sim_image *img)
{
    free(img->regs);
    img->regs = NULL;
    img->cap = img->len = 0;
}

static int is_float_model(int model)
{
    return (model >= 111 && model <= 113) || (model >= 211 && model <= 213);
}

int sim_sunspec_model_ok(enum sim_kind kind, int model)
{
    if (kind == SIM_INVERTER)
        return (model >= 101 && model <= 103) || (model >= 111 && model <= 113);
    return (model >= 201 && model <= 204) || (model >= 211 && model <= 213);
}

int sim_sunspec_default_model(enum sim_kind kind, int phases)
{
    if (kind == SIM_INVERTER)
        return 103;
    return phases == 3 ? 203 : 201;
}

int sim_sunspec_model_phases(int model)
{
    switch (model % 10) {
    case 1:
        return 1;
    case 2:
        return 2;
    default: /* 3 (wye) and 4 (delta) */
        return 3;
    }
}

static double scaled(double v, int sf)
{
    static const double pow10[] = {1.0, 10.0, 100.0, 1000.0, 10000.0, 100000.0, 1000000.0};
    int k = sf < 0 ? -sf : sf;
    if (k > 6)
        k = 6;
    return sf < 0 ? v * pow10[k] : v / pow10[k];
}

static int is_exact(double raw)
{
    return fabs(raw - nearbyint(raw)) < 1e-6 * (fabs(raw) > 1.0 ? fabs(raw) : 1.0);
}

/* 1 when every v[i] * 10^-sf fits within limit (and, if exact, is an integer). */
static int all_fit(const double *v, int n, int sf, double limit, int exact)
{
    for (int i = 0; i < n; i++) {
        double raw = scaled(v[i], sf);
        if (fabs(raw) > limit || (exact && !is_exact(raw)))
            return 0;
    }
    return 1;
}

int sim_sunspec_exact_sf(const double *v, int n, double limit)
{
    static const int order[] = {0, -1, -2, -3, 1, 2, 3, 4};
    for (size_t i = 0; i < sizeof order / sizeof order[0]; i++) {
        if (all_fit(v, n, order[i], limit, 1))
            return order[i];
    }
    for (int sf = -3; sf < 4; sf++) {
        if (all_fit(v, n, sf, limit, 0))
            return sf;
    }
    return 4;
}

int sim_sunspec_fit_sf(double max_abs, int min_sf, double limit)
{
    for (int sf = min_sf; sf < 6; sf++) {
        if (fabs(scaled(max_abs, sf)) <= limit)
            return sf;
    }
    return 6;
}

static uint64_t not_implemented(uint8_t type)
{
    switch (type) {
    case SS_INT16:
    case SS_SUNSSF:
    case SS_PAD:
        return 0x8000u;
    case SS_UINT16:
    case SS_COUNT:
    case SS_ENUM16:
    case SS_BITFIELD16:
        return 0xFFFFu;
    case SS_INT32:
        return 0x80000000u;
    case SS_UINT32:
    case SS_ENUM32:
    case SS_BITFIELD32:
        return 0xFFFFFFFFu;
    case SS_INT64:
        return 0x8000000000000000ull;
    case SS_UINT64:
        return 0xFFFFFFFFFFFFFFFFull;
    case SS_FLOAT32:
        return 0x7FC00000u;
    case SS_FLOAT64:
        return 0x7FF8000000000000ull;
    default: /* accumulators and strings: 0 */
        return 0;
    }
}

static void write_raw(uint16_t *regs, uint8_t size, uint64_t raw)
{
    for (int i = 0; i < size; i++)
        regs[i] = (uint16_t)(raw >> (16 * (size - 1 - i)));
}

static void fill_not_implemented(struct model_writer *mw)
{
    for (uint16_t i = 0; i < mw->npts; i++) {
        const struct sunspec_point_def *p = &mw->pts[i];
        if (p->offset + p->size > mw->limit)
            continue;
        if (p->type == SS_STRING || p->size > 4)
            memset(mw->regs + p->offset, 0, p->size * sizeof(uint16_t));
        else
            write_raw(mw->regs + p->offset, p->size, not_implemented(p->type));
    }
}

static const struct sunspec_point_def *find_point(const struct model_writer *mw, const char *name)
{
    for (uint16_t i = 0; i < mw->npts; i++) {
        if (strcmp(mw->pts[i].name, name) == 0)
            return mw->pts[i].offset + mw->pts[i].size <= mw->limit ? &mw->pts[i] : NULL;
    }
    return NULL;
}

static const struct sunspec_point_def *point(struct model_writer *mw, const char *name)
{
    const struct sunspec_point_def *p = find_point(mw, name);
    if (p)
        return p;
    log_err("sunspec model %u has no point %s", mw->model, name);
    mw->err = -1;
    return NULL;
}

static void put_raw(struct model_writer *mw, const char *name, uint64_t raw)
{
    const struct sunspec_point_def *p = point(mw, name);
    if (p && p->size <= 4)
        write_raw(mw->regs + p->offset, p->size, raw);
}

static void put_str(struct model_writer *mw, const char *name, const char *s)
{
    const struct sunspec_point_def *p = point(mw, name);
    if (!p)
        return;
    size_t n = strlen(s);
    for (size_t i = 0; i < p->size; i++) {
        uint8_t hi = 2 * i < n ? (uint8_t)s[2 * i] : 0;
        uint8_t lo = 2 * i + 1 < n ? (uint8_t)s[2 * i + 1] : 0;
        mw->regs[p->offset + i] = (uint16_t)(hi << 8 | lo);
    }
}

/* Scale factors exist only in the integer models. */
static void put_sf(struct model_writer *mw, const char *name, int sf)
{
    if (!mw->is_float)
        put_raw(mw, name, (uint16_t)(int16_t)sf);
}

static uint32_t float_bits(double v)
{
    float f = (float)v;
    uint32_t bits;
    memcpy(&bits, &f, sizeof bits);
    return bits;
}

/* Encodes v * 10^-sf into the point, saturating at the type's valid range
 * (never producing a not-implemented value); accumulators wrap. */
static void put_scaled(struct model_writer *mw, const char *name, double v, int sf)
{
    const struct sunspec_point_def *p = point(mw, name);
    if (!p)
        return;
    if (p->type == SS_FLOAT32) {
        write_raw(mw->regs + p->offset, p->size, float_bits(v));
        return;
    }
    double raw = nearbyint(scaled(v, sf));
    uint64_t out;
    switch (p->type) {
    case SS_INT16:
        raw = fmax(-INT16_LIMIT, fmin(INT16_LIMIT, raw));
        out = (uint16_t)(int16_t)raw;
        break;
    case SS_ACC32:
        out = (uint32_t)fmod(fmax(raw, 0.0), ACC32_LIMIT + 1.0);
        break;
    case SS_UINT32:
        out = (uint32_t)fmax(0.0, fmin(ACC32_LIMIT - 1.0, raw));
        break;
    default:
        out = (uint16_t)fmax(0.0, fmin(UINT16_LIMIT, raw));
        break;
    }
    write_raw(mw->regs + p->offset, p->size, out);
}

/* Starts a model at regs[*at]: header, every point not implemented; advances *at.
 * fixed_len 0: the model's own length of the fixed block. */
static int begin_model(struct sim_image *img, size_t *at, uint16_t id, int groups,
                       uint16_t fixed_len, struct model_writer *mw)
{
    const struct sunspec_model_def *def = sunspec_model_find(id);
    if (!def) {
        log_err("sunspec model %u is not in sunspec_models[]", id);
        return -1;
    }
    size_t fixed = fixed_len ? fixed_len : def->fixed_len;
    size_t len = 2u + fixed + (size_t)groups * def->group_len;
    if (*at + len + 2 > img->cap || img->base + *at + len + 2 > 0x10000u)
        return -1;
    *mw = (struct model_writer){.regs = img->regs + *at,
                                .pts = def->points,
                                .npts = def->npoints,
                                .model = id,
                                .limit = (uint16_t)(2u + fixed),
                                .is_float = is_float_model(id)};
    fill_not_implemented(mw);
    put_raw(mw, "ID", id);
    put_raw(mw, "L", len - 2);
    *at += len;
    return 0;
}

/* Writer for repetition i of the model's repeating group (after begin_model). */
static struct model_writer group_writer(const struct model_writer *model, int i)
{
    const struct sunspec_model_def *def = sunspec_model_find(model->model);
    struct model_writer g = {.regs = model->regs + 2 + def->fixed_len + (size_t)i * def->group_len,
                             .pts = def->group_points,
                             .npts = def->ngroup_points,
                             .model = model->model,
                             .limit = def->group_len};
    fill_not_implemented(&g);
    return g;
}

static int build_common(struct sim_image *img, size_t *at, const struct sim_nameplate *np,
                        int legacy)
{
    struct model_writer mw;
    if (begin_model(img, at, 1, 0, legacy ? LEGACY_COMMON_LEN : 0, &mw) < 0)
        return -1;
    put_str(&mw, "Mn", np->mn);
    put_str(&mw, "Md", np->md);
    put_str(&mw, "Vr", np->vr);
    put_str(&mw, "SN", np->sn);
    put_raw(&mw, "DA", np->da);
    return mw.err;
}

static double sum(const double *v, int n)
{
    double s = 0.0;
    for (int i = 0; i < n; i++)
        s += v[i];
    return s;
}

/* PF as the model's units say: 100 for "Pct" (101-103, 111-113, 201-204),
 * 1 for "PF" (-1..1, 211-213). */
static double pf_units(const struct model_writer *mw, const char *name)
{
    const struct sunspec_point_def *p = find_point(mw, name);
    return p && p->units && strcmp(p->units, "Pct") == 0 ? 100.0 : 1.0;
}

static void put_ac_inverter(struct model_writer *mw, const struct sim_values *val,
                            const struct sim_scales *sf, int phases)
{
    static const char *const amps[] = {"AphA", "AphB", "AphC"};
    static const char *const volts[] = {"PhVphA", "PhVphB", "PhVphC"};
    static const char *const ll[] = {"PPVphAB", "PPVphBC", "PPVphCA"};
    put_scaled(mw, "A", val->a, sf->a);
    for (int i = 0; i < phases; i++) {
        put_scaled(mw, amps[i], val->a / phases, sf->a);
        put_scaled(mw, volts[i], val->v, sf->v);
        if (phases == 3)
            put_scaled(mw, ll[i], val->v * sqrt(3.0), sf->v);
    }
    put_sf(mw, "A_SF", sf->a);
    put_sf(mw, "V_SF", sf->v);
    put_scaled(mw, "W", val->w, sf->w);
    put_sf(mw, "W_SF", sf->w);
    put_scaled(mw, "Hz", val->hz, sf->hz);
    put_sf(mw, "Hz_SF", sf->hz);
    put_scaled(mw, "VA", val->va, sf->va);
    put_sf(mw, "VA_SF", sf->va);
    put_scaled(mw, "VAr", val->var, sf->var);
    put_sf(mw, "VAr_SF", sf->var);
    put_scaled(mw, "PF", val->pf * pf_units(mw, "PF"), sf->pf);
    put_sf(mw, "PF_SF", sf->pf);
}

static int build_inverter(struct sim_image *img, size_t *at, const struct sim_sunspec_part *part)
{
    const struct sim_values *val = part->val;
    const struct sim_scales *sf = part->sf;
    struct model_writer mw;
    int n = val->n_mppt;
    if (begin_model(img, at, part->model, 0, 0, &mw) < 0)
        return -1;
    put_ac_inverter(&mw, val, sf, sim_sunspec_model_phases(part->model));
    put_scaled(&mw, "WH", val->wh_exp, sf->wh);
    put_sf(&mw, "WH_SF", sf->wh);
    put_scaled(&mw, "DCA", sum(val->dc_a, n), sf->dca);
    put_sf(&mw, "DCA_SF", sf->dca);
    put_scaled(&mw, "DCV", n > 0 ? sum(val->dc_v, n) / n : 0.0, sf->dcv);
    put_sf(&mw, "DCV_SF", sf->dcv);
    put_scaled(&mw, "DCW", sum(val->dc_w, n), sf->dcw);
    put_sf(&mw, "DCW_SF", sf->dcw);
    put_scaled(&mw, "TmpCab", val->tmp_c, sf->tmp);
    put_sf(&mw, "Tmp_SF", sf->tmp);
    put_raw(&mw, "St", (uint16_t)val->st);
    put_raw(&mw, "Evt1", val->evt);
    put_raw(&mw, "Evt2", 0);
    return mw.err;
}

static int build_mppt(struct sim_image *img, size_t *at, const struct sim_values *val,
                      const struct sim_scales *sf)
{
    struct model_writer mw;
    uint32_t evt = 0;
    if (begin_model(img, at, 160, val->n_mppt, 0, &mw) < 0)
        return -1;
    for (int i = 0; i < val->n_mppt; i++)
        evt |= val->dc_evt[i];
    put_sf(&mw, "DCA_SF", sf->dca);
    put_sf(&mw, "DCV_SF", sf->dcv);
    put_sf(&mw, "DCW_SF", sf->dcw);
    put_sf(&mw, "DCWH_SF", sf->dcwh);
    put_raw(&mw, "Evt", evt);
    put_raw(&mw, "N", (uint16_t)val->n_mppt);
    for (int i = 0; i < val->n_mppt; i++) {
        struct model_writer g = group_writer(&mw, i);
        char name[16];
        snprintf(name, sizeof name, "MPPT%d", i + 1);
        put_raw(&g, "ID", (uint16_t)(i + 1));
        put_str(&g, "IDStr", name);
        put_scaled(&g, "DCA", val->dc_a[i], sf->dca);
        put_scaled(&g, "DCV", val->dc_v[i], sf->dcv);
        put_scaled(&g, "DCW", val->dc_w[i], sf->dcw);
        put_scaled(&g, "DCWH", val->dc_wh[i], sf->dcwh);
        put_raw(&g, "DCSt", (uint16_t)val->st);
        put_raw(&g, "DCEvt", val->dc_evt[i]);
        if (g.err)
            return -1;
    }
    return mw.err;
}

/* Total and per-phase values of one quantity (phases share the total equally). */
static void put_phased(struct model_writer *mw, const char *total, const char *const *phase,
                       int phases, double v, int sf, int per_phase_is_total)
{
    put_scaled(mw, total, v, sf);
    for (int i = 0; i < phases; i++)
        put_scaled(mw, phase[i], per_phase_is_total ? v : v / phases, sf);
}

static void put_meter_ac(struct model_writer *mw, const struct sim_values *val,
                         const struct sim_scales *sf, int n)
{
    static const char *const a[] = {"AphA", "AphB", "AphC"};
    static const char *const v[] = {"PhVphA", "PhVphB", "PhVphC"};
    static const char *const w[] = {"WphA", "WphB", "WphC"};
    static const char *const va[] = {"VAphA", "VAphB", "VAphC"};
    static const char *const var[] = {"VARphA", "VARphB", "VARphC"};
    static const char *const pf[] = {"PFphA", "PFphB", "PFphC"};
    put_phased(mw, "A", a, n, val->a, sf->a, 0);
    put_sf(mw, "A_SF", sf->a);
    put_phased(mw, "PhV", v, n, val->v, sf->v, 1);
    put_sf(mw, "V_SF", sf->v);
    put_scaled(mw, "Hz", val->hz, sf->hz);
    put_sf(mw, "Hz_SF", sf->hz);
    put_phased(mw, "W", w, n, val->w, sf->w, 0);
    put_sf(mw, "W_SF", sf->w);
    put_phased(mw, "VA", va, n, val->va, sf->va, 0);
    put_sf(mw, "VA_SF", sf->va);
    put_phased(mw, "VAR", var, n, val->var, sf->var, 0);
    put_sf(mw, "VAR_SF", sf->var);
    put_phased(mw, "PF", pf, n, val->pf * pf_units(mw, "PF"), sf->pf, 1);
    put_sf(mw, "PF_SF", sf->pf);
}

static int build_meter(struct sim_image *img, size_t *at, const struct sim_sunspec_part *part)
{
    /* models 202-204 name the line-to-line voltages PhVphAB..., 201 and 211-213 PPVphAB... */
    static const char *const ll_phv[] = {"PhVphAB", "PhVphBC", "PhVphCA"};
    static const char *const ll_ppv[] = {"PPVphAB", "PPVphBC", "PPVphCA"};
    const struct sim_values *val = part->val;
    const struct sim_scales *sf = part->sf;
    struct model_writer mw;
    int n = sim_sunspec_model_phases(part->model);
    if (begin_model(img, at, part->model, 0, 0, &mw) < 0)
        return -1;
    put_meter_ac(&mw, val, sf, n);
    if (n == 3) {
        const char *const *ll = find_point(&mw, "PhVphAB") ? ll_phv : ll_ppv;
        put_phased(&mw, "PPV", ll, 3, val->v * sqrt(3.0), sf->v, 1);
    } else if (n == 1) {
        put_scaled(&mw, "TotWhExpPhA", val->wh_exp, sf->wh);
        put_scaled(&mw, "TotWhImpPhA", val->wh_imp, sf->wh);
    }
    put_scaled(&mw, "TotWhExp", val->wh_exp, sf->wh);
    put_scaled(&mw, "TotWhImp", val->wh_imp, sf->wh);
    put_sf(&mw, "TotWh_SF", sf->wh);
    put_raw(&mw, "Evt", val->evt);
    return mw.err;
}

static int build_part(struct sim_image *img, size_t *at, const struct sim_sunspec_part *part)
{
    const struct sim_values *val = part->val;
    if (val->n_mppt < 0 || val->n_mppt > SIM_MPPT_MAX ||
        !sim_sunspec_model_ok(val->kind, part->model))
        return -1;
    if (build_common(img, at, part->np, part->legacy_common) < 0)
        return -1;
    if (val->kind == SIM_INVERTER)
        return build_inverter(img, at, part) < 0 || build_mppt(img, at, val, part->sf) < 0 ? -1 : 0;
    return build_meter(img, at, part);
}

int sim_sunspec_build(struct sim_image *img, uint16_t base, const struct sim_sunspec_part *parts,
                      int n)
{
    size_t at = 2;
    img->base = base;
    img->len = 0;
    if (img->cap < 4 || (uint32_t)base + 4 > 0x10000u)
        return -1;
    img->regs[0] = 0x5375;
    img->regs[1] = 0x6E53;
    for (int i = 0; i < n; i++) {
        if (build_part(img, &at, &parts[i]) < 0)
            return -1;
    }
    img->regs[at] = 0xFFFF;
    img->regs[at + 1] = 0;
    img->len = (uint32_t)(at + 2);
    return 0;
}
