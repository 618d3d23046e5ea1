/* regmap.c -- register maps as data: YAML map files loaded, validated, decoded into readings. */
#include "regmap.h"

#include "err.h"
#include "yaml_doc.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *const type_names[] = {"u16", "s16", "u32", "s32",    "u64",
                                         "s64", "f32", "f64", "string", NULL};
static const char *const kind_names[] = {"holding", "input", NULL};
static const char *const order_names[] = {"ABCD", "CDAB", "BADC", "DCBA", NULL};

const char *regmap_type_name(enum regmap_type type)
{
    if ((unsigned)type > REGMAP_STRING)
        return "unknown";
    return type_names[type];
}

const char *regmap_kind_name(enum regmap_kind kind)
{
    if ((unsigned)kind > REGMAP_INPUT)
        return "unknown";
    return kind_names[kind];
}

/* ---- loading ---------------------------------------------------------------------------- */

/* Parser state: the document, the map being filled, and the measurement names. */
struct map_loader {
    struct ydoc doc;
    struct regmap *map;
    const char *meas_names[MEAS__ALL + 1];
};

static const char *join_field(char *buf, size_t len, const char *base, const char *key)
{
    snprintf(buf, len, "%s.%s", base, key);
    return buf;
}

/* Integer scalar, decimal (optionally negative) or hexadecimal "0x..."; into *neg and
 * *mag (magnitude). Returns 0, or -1 when s is not such a number or overflows. */
static int parse_integer(const char *s, int *neg, uint64_t *mag)
{
    char *end;
    int base = 10;

    *neg = *s == '-';
    if (*s == '-' || *s == '+')
        s++;
    if (s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
        base = 16;
        s += 2;
    }
    if (!((*s >= '0' && *s <= '9') || (base == 16 && strchr("abcdefABCDEF", *s) && *s)))
        return -1;
    errno = 0;
    unsigned long long v = strtoull(s, &end, base);
    if (errno != 0 || *end != '\0')
        return -1;
    *mag = v;
    return 0;
}

/* map[key] as an integer (decimal or 0x hex) in min..max: 1 set, 0 absent, -1 error. */
static int map_int(struct map_loader *L, struct fy_node *map, const char *key, const char *field,
                   long long min, long long max, long long *out)
{
    char buf[32];
    int neg;
    uint64_t mag;
    int rc = ydoc_str(&L->doc, map, key, field, buf, sizeof(buf));

    if (rc <= 0)
        return rc;
    struct fy_node *node = ydoc_child(map, key);
    if (parse_integer(buf, &neg, &mag) != 0 || mag > (uint64_t)INT64_MAX)
        return ydoc_error(&L->doc, node, field, "expected an integer (decimal or 0x hex), got '%s'",
                          buf);
    long long v = neg ? -(long long)mag : (long long)mag;
    if (v < min || v > max)
        return ydoc_error(&L->doc, node, field, "%s is out of range (%lld..%lld)", buf, min, max);
    *out = v;
    return 1;
}

static int load_sentinel(struct map_loader *L, struct fy_node *map, const char *field,
                         struct regmap_point *p)
{
    char buf[32];
    int neg;
    uint64_t mag;
    int rc = ydoc_str(&L->doc, map, "not_implemented", field, buf, sizeof(buf));

    if (rc <= 0)
        return rc;
    struct fy_node *node = ydoc_child(map, "not_implemented");
    if (p->type == REGMAP_STRING)
        return ydoc_error(&L->doc, node, field, "not allowed for type string");
    if (parse_integer(buf, &neg, &mag) != 0)
        return ydoc_error(&L->doc, node, field, "expected an integer (decimal or 0x hex), got '%s'",
                          buf);
    int bits = 16 * p->length;
    uint64_t mask = bits == 64 ? UINT64_MAX : (UINT64_C(1) << bits) - 1;
    uint64_t neg_limit = UINT64_C(1) << (bits - 1);
    if ((!neg && mag > mask) || (neg && mag > neg_limit))
        return ydoc_error(&L->doc, node, field, "%s does not fit in %d bits", buf, bits);
    p->not_impl = (neg ? (uint64_t)0 - mag : mag) & mask;
    p->has_not_impl = 1;
    return 1;
}

static int load_type(struct map_loader *L, struct fy_node *map, const char *base,
                     struct regmap_point *p)
{
    char f[192];
    int v = 0;
    long long len = 0;

    int rc =
        ydoc_enum(&L->doc, map, "type", join_field(f, sizeof(f), base, "type"), type_names, &v);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return ydoc_error(&L->doc, map, f, "is required");
    p->type = (uint8_t)v;
    rc = map_int(L, map, "length", join_field(f, sizeof(f), base, "length"), 1,
                 REGMAP_STRING_REGS_MAX, &len);
    if (rc < 0)
        return -1;
    if (p->type == REGMAP_STRING && rc == 0)
        return ydoc_error(&L->doc, map, f, "is required for type string (registers)");
    if (p->type != REGMAP_STRING && rc == 1)
        return ydoc_error(&L->doc, ydoc_child(map, "length"), f,
                          "only for type string (%s has a fixed size)", type_names[p->type]);
    p->length = p->type == REGMAP_STRING ? (uint16_t)len
                                         : (uint16_t)decode_type_words((enum decode_type)p->type);
    v = DECODE_ABCD;
    if (ydoc_enum(&L->doc, map, "order", join_field(f, sizeof(f), base, "order"), order_names, &v) <
        0)
        return -1;
    p->order = (uint8_t)v;
    return 0;
}

static int load_location(struct map_loader *L, struct fy_node *map, const char *base,
                         struct regmap_point *p)
{
    char f[192];
    long long addr = 0;
    int kind = REGMAP_HOLDING;

    int rc = map_int(L, map, "address", join_field(f, sizeof(f), base, "address"), 0, 65535, &addr);
    if (rc < 0)
        return -1;
    if (rc == 0)
        return ydoc_error(&L->doc, map, f, "is required");
    if (addr + p->length > 65536)
        return ydoc_error(&L->doc, ydoc_child(map, "address"), f,
                          "registers %lld..%lld go beyond 65535", addr, addr + p->length - 1);
    p->address = (uint16_t)addr;
    if (ydoc_enum(&L->doc, map, "register", join_field(f, sizeof(f), base, "register"), kind_names,
                  &kind) < 0)
        return -1;
    p->kind = (uint8_t)kind;
    return 0;
}

static int load_scaling(struct map_loader *L, struct fy_node *map, const char *base,
                        struct regmap_point *p)
{
    char f[192];
    long long sf_addr = 0;

    p->scale = 1.0;
    int has_scale = ydoc_double(&L->doc, map, "scale", join_field(f, sizeof(f), base, "scale"),
                                -1e15, 1e15, &p->scale);
    if (has_scale < 0)
        return -1;
    if (has_scale == 1 && p->scale == 0.0)
        return ydoc_error(&L->doc, ydoc_child(map, "scale"), f, "must not be 0");
    if (ydoc_double(&L->doc, map, "offset", join_field(f, sizeof(f), base, "offset"), -1e15, 1e15,
                    &p->offset) < 0)
        return -1;
    int rc = map_int(L, map, "scale_register", join_field(f, sizeof(f), base, "scale_register"), 0,
                     65535, &sf_addr);
    if (rc < 0)
        return -1;
    if (rc == 1 && has_scale == 1)
        return ydoc_error(&L->doc, ydoc_child(map, "scale_register"), f,
                          "scale_register and scale exclude each other");
    p->has_sf = rc == 1;
    p->sf_address = (uint16_t)sf_addr;
    if (p->type == REGMAP_STRING && (has_scale == 1 || p->has_sf || ydoc_child(map, "offset")))
        return ydoc_error(&L->doc, map, base, "a string point takes no scale or offset");
    return 0;
}

/* Index of the earlier point feeding meas, or -1. */
static int meas_owner(const struct regmap *m, size_t upto, int meas)
{
    for (size_t i = 0; i < upto; i++)
        if (m->points[i].meas == meas)
            return (int)i;
    return -1;
}

static int load_measurement(struct map_loader *L, struct fy_node *map, const char *base, size_t idx)
{
    char f[192];
    struct regmap_point *p = &L->map->points[idx];
    int meas = -1;

    join_field(f, sizeof(f), base, "measurement");
    if (ydoc_enum(&L->doc, map, "measurement", f, L->meas_names, &meas) < 0)
        return -1;
    p->meas = meas;
    struct fy_node *node = ydoc_child(map, "measurement");
    if (meas >= 0 && p->type == REGMAP_STRING)
        return ydoc_error(&L->doc, node, f, "a string point cannot feed a measurement");
    int owner = meas >= 0 ? meas_owner(L->map, idx, meas) : -1;
    if (owner >= 0)
        return ydoc_error(&L->doc, node, f, "'%s' is already fed by point '%s' (line %d)",
                          L->meas_names[meas], L->map->points[owner].name,
                          L->map->points[owner].line);
    int wrap = 0;
    if (ydoc_bool(&L->doc, map, "counter_wrap", join_field(f, sizeof(f), base, "counter_wrap"),
                  &wrap) < 0)
        return -1;
    int energy = meas == MEAS_ENERGY_IMPORT_WH || meas == MEAS_ENERGY_EXPORT_WH;
    if (wrap && (!energy || p->type >= REGMAP_F32))
        return ydoc_error(&L->doc, ydoc_child(map, "counter_wrap"), f,
                          "only for integer points feeding energy_import_wh or energy_export_wh");
    p->counter_wrap = (uint8_t)wrap;
    return 0;
}

static int name_taken(const struct regmap *m, size_t upto, const char *name)
{
    for (size_t i = 0; i < upto; i++)
        if (strcmp(m->points[i].name, name) == 0)
            return (int)i;
    return -1;
}

static int load_name(struct map_loader *L, struct fy_node *map, const char *base, size_t idx)
{
    char f[192];
    struct regmap_point *p = &L->map->points[idx];

    join_field(f, sizeof(f), base, "name");
    int rc = ydoc_str(&L->doc, map, "name", f, p->name, sizeof(p->name));
    if (rc < 0)
        return -1;
    if (rc == 0 || p->name[0] == '\0')
        return ydoc_error(&L->doc, rc ? ydoc_child(map, "name") : map, f, "is required");
    int other = name_taken(L->map, idx, p->name);
    if (other >= 0)
        return ydoc_error(&L->doc, ydoc_child(map, "name"), f,
                          "duplicate point name '%s' (first on line %d)", p->name,
                          L->map->points[other].line);
    join_field(f, sizeof(f), base, "unit");
    return ydoc_str(&L->doc, map, "unit", f, p->unit, sizeof(p->unit)) < 0 ? -1 : 0;
}

static int load_point(struct map_loader *L, struct fy_node *map, size_t idx)
{
    static const char *const keys[] = {
        "name",        "address",         "register",     "type",           "order",
        "length",      "scale",           "offset",       "scale_register", "unit",
        "measurement", "not_implemented", "counter_wrap", "description",    NULL};
    char base[64], f[192];
    struct regmap_point *p = &L->map->points[idx];

    snprintf(base, sizeof(base), "points[%zu]", idx);
    if (ydoc_expect_map(&L->doc, map, base) || ydoc_check_keys(&L->doc, map, base, keys))
        return -1;
    p->line = ydoc_line(map);
    p->meas = -1;
    if (load_name(L, map, base, idx) || load_type(L, map, base, p) ||
        load_location(L, map, base, p) || load_scaling(L, map, base, p) ||
        load_measurement(L, map, base, idx))
        return -1;
    if (load_sentinel(L, map, join_field(f, sizeof(f), base, "not_implemented"), p) < 0)
        return -1;
    return 0;
}

static int load_points(struct map_loader *L, struct fy_node *root)
{
    struct fy_node *seq = ydoc_child(root, "points");

    if (!seq)
        return ydoc_error(&L->doc, root, "points", "is required");
    if (ydoc_expect_seq(&L->doc, seq, "points"))
        return -1;
    int n = ydoc_seq_len(seq);
    if (n < 1 || n > REGMAP_POINTS_MAX)
        return ydoc_error(&L->doc, seq, "points", "needs 1..%d points, has %d", REGMAP_POINTS_MAX,
                          n);
    L->map->points = calloc((size_t)n, sizeof(*L->map->points));
    if (!L->map->points)
        return ydoc_error(&L->doc, seq, "points", "out of memory");
    for (int i = 0; i < n; i++) {
        L->map->npoints = (size_t)i + 1;
        if (load_point(L, ydoc_seq_at(seq, i), (size_t)i))
            return -1;
    }
    return 0;
}

static int load_header(struct map_loader *L, struct fy_node *root)
{
    static const char *const keys[] = {"name",        "manufacturer", "model",
                                       "description", "points",       NULL};
    struct regmap *m = L->map;

    if (!root)
        return ydoc_error(&L->doc, NULL, "", "the map file is empty");
    if (ydoc_expect_map(&L->doc, root, "") || ydoc_check_keys(&L->doc, root, "", keys))
        return -1;
    int rc = ydoc_str(&L->doc, root, "name", "name", m->name, sizeof(m->name));
    if (rc < 0)
        return -1;
    if (rc == 0 || m->name[0] == '\0')
        return ydoc_error(&L->doc, rc ? ydoc_child(root, "name") : root, "name", "is required");
    if (ydoc_str(&L->doc, root, "manufacturer", "manufacturer", m->manufacturer,
                 sizeof(m->manufacturer)) < 0 ||
        ydoc_str(&L->doc, root, "model", "model", m->model, sizeof(m->model)) < 0)
        return -1;
    return 0;
}

int regmap_load(const char *path, struct regmap **out, struct cfg_error *err)
{
    struct map_loader L;

    *out = NULL;
    memset(&L, 0, sizeof(L));
    for (int i = 0; i < MEAS__ALL; i++)
        L.meas_names[i] = reading_meas_name((enum meas)i);
    int rc = ydoc_load(&L.doc, path, err);
    if (rc != ENMON_OK)
        return rc;
    L.map = calloc(1, sizeof(*L.map));
    if (!L.map) {
        ydoc_free(&L.doc);
        snprintf(err->msg, sizeof(err->msg), "out of memory");
        return ENMON_ERR_NOMEM;
    }
    snprintf(L.map->path, sizeof(L.map->path), "%s", path);
    struct fy_node *root = ydoc_root(&L.doc);
    if (load_header(&L, root) || load_points(&L, root)) {
        ydoc_free(&L.doc);
        regmap_free(L.map);
        return ENMON_ERR_CONFIG;
    }
    ydoc_free(&L.doc);
    *out = L.map;
    return ENMON_OK;
}

void regmap_free(struct regmap *m)
{
    if (!m)
        return;
    free(m->points);
    free(m);
}

/* ---- planning --------------------------------------------------------------------------- */

size_t regmap_plan_size(const struct regmap *m)
{
    size_t n = m->npoints;
    for (size_t i = 0; i < m->npoints; i++)
        n += m->points[i].has_sf;
    return n;
}

int regmap_plan_points(const struct regmap *m, struct reqplan_point *out, size_t max_out)
{
    size_t n = 0;

    if (regmap_plan_size(m) > max_out) {
        errno = ENOSPC;
        return -1;
    }
    for (size_t i = 0; i < m->npoints; i++) {
        const struct regmap_point *p = &m->points[i];
        out[n++] =
            (struct reqplan_point){.kind = p->kind, .address = p->address, .count = p->length};
        if (p->has_sf)
            out[n++] =
                (struct reqplan_point){.kind = p->kind, .address = p->sf_address, .count = 1};
    }
    return (int)n;
}

/* ---- decoding --------------------------------------------------------------------------- */

/* The words of registers address..address+count-1 of kind, from the first block
 * that holds them all; NULL when none does. */
static const uint16_t *block_words(const struct regmap_block *blocks, size_t nblocks, int kind,
                                   uint16_t address, uint16_t count)
{
    for (size_t i = 0; i < nblocks; i++) {
        const struct regmap_block *b = &blocks[i];
        if (b->kind != kind || !b->words || address < b->start ||
            (uint32_t)address + count > (uint32_t)b->start + b->count)
            continue;
        return b->words + (address - b->start);
    }
    return NULL;
}

/* raw x scale, dividing by 1/scale when that is an integer so that 2295 x 0.1 gives
 * exactly 229.5 (as decode_scale does for powers of ten). */
static double apply_scale(double raw, double scale)
{
    if (scale == 1.0)
        return raw;
    double inv = 1.0 / scale;
    double k = round(inv);
    if (fabs(scale) < 1.0 && k != 0.0 && fabs(inv - k) <= 1e-9 * fabs(k))
        return raw / k;
    return raw * scale;
}

/* The point's scale factor exponent from its scale register. */
static int read_sf(const struct regmap_point *p, const struct regmap_block *blocks, size_t nblocks,
                   int *sf)
{
    const uint16_t *w = block_words(blocks, nblocks, p->kind, p->sf_address, 1);

    if (!w)
        return ENMON_ERR_NOT_FOUND;
    int v = (int16_t)w[0];
    if (w[0] == 0x8000 || v < -10 || v > 10)
        return ENMON_ERR_INVALID;
    *sf = v;
    return ENMON_OK;
}

int regmap_point_value(const struct regmap *m, size_t i, const struct regmap_block *blocks,
                       size_t nblocks, double *out)
{
    if (i >= m->npoints || m->points[i].type == REGMAP_STRING)
        return ENMON_ERR_INVALID;
    const struct regmap_point *p = &m->points[i];
    const uint16_t *w = block_words(blocks, nblocks, p->kind, p->address, p->length);
    double raw;
    int sf = 0;

    if (!w)
        return ENMON_ERR_NOT_FOUND;
    if (p->has_not_impl && decode_bits(w, p->length, (enum decode_order)p->order) == p->not_impl)
        return ENMON_ERR_INVALID;
    if (decode_value(w, (enum decode_type)p->type, (enum decode_order)p->order, &raw) != 0)
        return ENMON_ERR_INVALID;
    if (p->type == REGMAP_F32)
        raw = decode_f32_shortest(raw); /* 59.98, not 59.979999542236328 */
    if (p->has_sf) {
        int rc = read_sf(p, blocks, nblocks, &sf);
        if (rc != ENMON_OK)
            return rc;
        *out = decode_scale(raw, sf) + p->offset;
        return ENMON_OK;
    }
    *out = apply_scale(raw, p->scale) + p->offset;
    return ENMON_OK;
}

int regmap_point_string(const struct regmap *m, size_t i, const struct regmap_block *blocks,
                        size_t nblocks, char *out, size_t len)
{
    if (i >= m->npoints || m->points[i].type != REGMAP_STRING)
        return ENMON_ERR_INVALID;
    const struct regmap_point *p = &m->points[i];
    const uint16_t *w = block_words(blocks, nblocks, p->kind, p->address, p->length);
    if (!w)
        return ENMON_ERR_NOT_FOUND;
    decode_string(w, p->length, out, len);
    return ENMON_OK;
}

/* Modulus of an energy counter point in Wh; 0 when it does not wrap (or its scale
 * factor is unreadable). */
static double counter_modulus(const struct regmap_point *p, const struct regmap_block *blocks,
                              size_t nblocks)
{
    int sf = 0;

    if (!p->counter_wrap)
        return 0.0;
    double scale = fabs(p->scale);
    if (p->has_sf) {
        if (read_sf(p, blocks, nblocks, &sf) != ENMON_OK)
            return 0.0;
        scale = decode_scale(1.0, sf);
    }
    return ldexp(1.0, 16 * p->length) * scale;
}

int regmap_decode(const struct regmap *m, const struct regmap_block *blocks, size_t nblocks,
                  struct reading *r)
{
    int missing = 0;

    for (size_t i = 0; i < m->npoints; i++) {
        const struct regmap_point *p = &m->points[i];
        double v;
        if (p->meas < 0 || p->meas >= MEAS__ALL)
            continue;
        r->valid &= ~(1u << p->meas);
        if (p->meas == MEAS_ENERGY_IMPORT_WH || p->meas == MEAS_ENERGY_EXPORT_WH)
            r->wrap_wh[p->meas - MEAS_ENERGY_IMPORT_WH] = counter_modulus(p, blocks, nblocks);
        if (regmap_point_value(m, i, blocks, nblocks, &v) == ENMON_OK)
            reading_set(r, (enum meas)p->meas, v);
        else
            missing++;
    }
    return missing;
}
