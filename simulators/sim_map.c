/* sim_map.c -- register images of a non-SunSpec device served through a register map. */
#include "sim_map.h"

#include "decode.h"
#include "reading.h"

#include <math.h>
#include <string.h>

#define S16_LIMIT 32767.0
#define WIDE_LIMIT 2147483647.0

uint32_t sim_map_extent(const struct regmap *m, int kind)
{
    uint32_t end = 0;
    for (size_t i = 0; i < m->npoints; i++) {
        const struct regmap_point *p = &m->points[i];
        if (p->kind != kind)
            continue;
        if ((uint32_t)p->address + p->length > end)
            end = (uint32_t)p->address + p->length;
        if (p->has_sf && (uint32_t)p->sf_address + 1 > end)
            end = (uint32_t)p->sf_address + 1;
    }
    return end;
}

double sim_map_meas_value(const struct sim_values *val, int meas)
{
    double dc = 0.0;
    switch (meas) {
    case MEAS_POWER_W:
        return val->w;
    case MEAS_ENERGY_IMPORT_WH:
        return val->wh_imp;
    case MEAS_ENERGY_EXPORT_WH:
        return val->wh_exp;
    case MEAS_VOLTAGE_V:
        return val->v;
    case MEAS_CURRENT_A:
        return val->a;
    case MEAS_FREQUENCY_HZ:
        return val->hz;
    case MEAS_POWER_FACTOR:
        return val->pf;
    case MEAS_DC_POWER_W:
        for (int i = 0; i < val->n_mppt && i < SIM_MPPT_MAX; i++)
            dc += val->dc_w[i];
        return dc;
    case MEAS_TEMPERATURE_C:
        return val->tmp_c;
    case MEAS_STATE:
        return val->st;
    case MEAS_EVENTS:
        return val->evt;
    case MEAS_LEAKAGE_MA:
        return val->leak_ma;
    case MEAS_CURRENT_L1_A:
    case MEAS_CURRENT_L2_A:
    case MEAS_CURRENT_L3_A:
        return val->phase_a[meas - MEAS_CURRENT_L1_A];
    case MEAS_TILT_DEG:
        return val->tilt_deg;
    default:
        return 0.0;
    }
}

/* x x 10^-sf, exact for the usual powers of ten (multiply by 10^k, k >= 0). */
static double pow10_unscale(double x, int sf)
{
    double p = 1.0;
    for (int i = 0; i < (sf < 0 ? -sf : sf); i++)
        p *= 10.0;
    return sf < 0 ? x * p : x / p;
}

/* The raw number whose decoding (x scale + offset, or x 10^sf + offset) is value. */
static double unscale(const struct regmap_point *p, double value, int sf)
{
    double x = value - p->offset;
    if (p->has_sf)
        return pow10_unscale(x, sf);
    double inv = 1.0 / p->scale;
    double k = nearbyint(inv);
    if (fabs(p->scale) < 1.0 && k != 0.0 && fabs(inv - k) <= 1e-9 * fabs(k))
        return x * k; /* scale 0.1 -> x 10, as the decoder divides */
    return x / p->scale;
}

static double clamp(double v, double lo, double hi)
{
    return v < lo ? lo : (v > hi ? hi : v);
}

/* The value's bits in ABCD order for the point's type. */
static uint64_t raw_bits(enum regmap_type type, double raw)
{
    double r = nearbyint(raw);
    switch (type) {
    case REGMAP_U16:
        return (uint16_t)clamp(r, 0.0, 65535.0);
    case REGMAP_S16:
        return (uint16_t)(int16_t)clamp(r, -32768.0, 32767.0);
    case REGMAP_U32:
        return (uint32_t)clamp(r, 0.0, 4294967295.0);
    case REGMAP_S32:
        return (uint32_t)(int32_t)clamp(r, -2147483648.0, 2147483647.0);
    case REGMAP_U64:
        return r >= 18446744073709551615.0 ? UINT64_MAX : (r <= 0.0 ? 0 : (uint64_t)r);
    case REGMAP_S64:
        return (uint64_t)(int64_t)clamp(r, -9223372036854775808.0, 9223372036854774784.0);
    case REGMAP_F32: {
        float f = (float)raw;
        uint32_t b;
        memcpy(&b, &f, sizeof b);
        return b;
    }
    case REGMAP_F64: {
        uint64_t b;
        memcpy(&b, &raw, sizeof b);
        return b;
    }
    default:
        return 0;
    }
}

static uint16_t swap_bytes(uint16_t w)
{
    return (uint16_t)(w << 8 | w >> 8);
}

/* Inverse of decode_bits: the ABCD bits laid out in the wire order. */
static void put_bits(uint16_t *words, int n, enum decode_order order, uint64_t bits)
{
    int reverse = order == DECODE_CDAB || order == DECODE_DCBA;
    int swap = order == DECODE_BADC || order == DECODE_DCBA;
    for (int i = 0; i < n; i++) {
        uint16_t w = (uint16_t)(bits >> (16 * (n - 1 - i)));
        words[reverse ? n - 1 - i : i] = swap ? swap_bytes(w) : w;
    }
}

void sim_map_encode(uint16_t *words, const struct regmap_point *p, double value, int sf)
{
    if (p->type == REGMAP_STRING)
        return;
    int n = decode_type_words((enum decode_type)p->type);
    put_bits(words, n, (enum decode_order)p->order, raw_bits(p->type, unscale(p, value, sf)));
}

static void encode_string(uint16_t *words, uint16_t nwords, const char *s)
{
    size_t n = strlen(s);
    for (size_t i = 0; i < nwords; i++) {
        uint8_t hi = 2 * i < n ? (uint8_t)s[2 * i] : 0;
        uint8_t lo = 2 * i + 1 < n ? (uint8_t)s[2 * i + 1] : 0;
        words[i] = (uint16_t)(hi << 8 | lo);
    }
}

static double point_value(const struct regmap_point *p, const struct sim_values *val)
{
    return p->meas >= 0 ? sim_map_meas_value(val, p->meas) : 0.0;
}

/* Power of ten for the scale register of point i: exact for every point sharing it. */
static int shared_sf(const struct regmap *m, size_t i, const struct sim_values *val)
{
    const struct regmap_point *p = &m->points[i];
    double v[REGMAP_POINTS_MAX];
    int n = 0;
    double limit = WIDE_LIMIT;
    for (size_t j = 0; j < m->npoints && n < REGMAP_POINTS_MAX; j++) {
        const struct regmap_point *q = &m->points[j];
        if (!q->has_sf || q->kind != p->kind || q->sf_address != p->sf_address)
            continue;
        v[n++] = point_value(q, val) - q->offset;
        if (q->type == REGMAP_U16 || q->type == REGMAP_S16)
            limit = S16_LIMIT;
    }
    return sim_sunspec_exact_sf(v, n, limit);
}

void sim_map_build(struct sim_image *holding, struct sim_image *input, const struct regmap *m,
                   const struct sim_values *val, const char *serial)
{
    struct sim_image *img[2] = {holding, input};
    for (int k = 0; k < 2; k++) {
        img[k]->base = 0;
        img[k]->len = sim_map_extent(m, k);
        if (img[k]->len > img[k]->cap)
            img[k]->len = img[k]->cap;
        memset(img[k]->regs, 0, img[k]->len * sizeof *img[k]->regs);
    }
    for (size_t i = 0; i < m->npoints; i++) {
        const struct regmap_point *p = &m->points[i];
        struct sim_image *im = img[p->kind == REGMAP_INPUT];
        if ((uint32_t)p->address + p->length > im->len)
            continue;
        if (p->type == REGMAP_STRING) {
            encode_string(im->regs + p->address, p->length, serial);
            continue;
        }
        int sf = p->has_sf ? shared_sf(m, i, val) : 0;
        if (p->has_sf && p->sf_address < im->len)
            im->regs[p->sf_address] = (uint16_t)(int16_t)sf;
        sim_map_encode(im->regs + p->address, p, point_value(p, val), sf);
    }
}
