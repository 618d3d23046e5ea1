/* regmap.h -- register maps as data: YAML map files loaded, validated, decoded into readings. */
#ifndef ENMON_REGMAP_H
#define ENMON_REGMAP_H

#include "cfg_error.h"
#include "decode.h"
#include "reading.h"
#include "reqplan.h"

#include <stddef.h>
#include <stdint.h>

#define REGMAP_NAME_MAX 64
#define REGMAP_UNIT_MAX 16
#define REGMAP_POINTS_MAX 1024
/* Longest string point, in registers (two characters each). */
#define REGMAP_STRING_REGS_MAX 64

/* Modbus register kinds (function 3 and 4). */
enum regmap_kind {
    REGMAP_HOLDING,
    REGMAP_INPUT,
};

/* Point types: the numeric ones equal enum decode_type; REGMAP_STRING is text. */
enum regmap_type {
    REGMAP_U16 = DECODE_U16,
    REGMAP_S16 = DECODE_S16,
    REGMAP_U32 = DECODE_U32,
    REGMAP_S32 = DECODE_S32,
    REGMAP_U64 = DECODE_U64,
    REGMAP_S64 = DECODE_S64,
    REGMAP_F32 = DECODE_F32,
    REGMAP_F64 = DECODE_F64,
    REGMAP_STRING,
};

struct regmap_point {
    char name[REGMAP_NAME_MAX];
    char unit[REGMAP_UNIT_MAX];
    uint16_t address; /* 0-based register address */
    uint16_t length;  /* registers the value occupies */
    uint8_t kind;     /* enum regmap_kind */
    uint8_t type;     /* enum regmap_type */
    uint8_t order;    /* enum decode_order */
    uint8_t has_sf;   /* scale is 10^(s16 register sf_address), SunSpec style */
    uint8_t has_not_impl;
    uint8_t counter_wrap; /* energy counter that wraps at 2^(16 x length) x scale */
    uint16_t sf_address;
    double scale;      /* multiply (1 when has_sf) */
    double offset;     /* add after scaling */
    int meas;          /* enum meas this point feeds, or -1 (kept for information) */
    uint64_t not_impl; /* the value's raw bits (as in ABCD order) meaning "no value" */
    int line;          /* line of the point in the map file */
};

struct regmap {
    char path[CFG_PATH_MAX];
    char name[REGMAP_NAME_MAX];
    char manufacturer[REGMAP_NAME_MAX];
    char model[REGMAP_NAME_MAX];
    struct regmap_point *points;
    size_t npoints;
};

/* Register words read by one request: count words of kind from start. */
struct regmap_block {
    uint8_t kind; /* enum regmap_kind */
    uint16_t start;
    uint16_t count;
    const uint16_t *words;
};

/* Loads and validates the map file path. On success returns ENMON_OK and *out (free
 * with regmap_free); otherwise *out is NULL, the result is ENMON_ERR_CONFIG (err has
 * file, line and field), ENMON_ERR_IO or ENMON_ERR_NOMEM. */
int regmap_load(const char *path, struct regmap **out, struct cfg_error *err);
void regmap_free(struct regmap *m);

const char *regmap_type_name(enum regmap_type type);
const char *regmap_kind_name(enum regmap_kind kind);

/* Entries regmap_plan_points writes: one per point plus one per scale register. */
size_t regmap_plan_size(const struct regmap *m);

/* The registers the map needs, for reqplan_build: every point and every scale
 * register. Returns the number written, or -1 (errno ENOSPC) when max_out is
 * smaller than regmap_plan_size(m). */
int regmap_plan_points(const struct regmap *m, struct reqplan_point *out, size_t max_out);

/* Value of numeric point i from the blocks read: scaled, offset. Returns ENMON_OK,
 * ENMON_ERR_NOT_FOUND (its registers or its scale register are in no block), or
 * ENMON_ERR_INVALID (a string point, the not_implemented value, NaN or infinity,
 * a scale factor that is not implemented (0x8000) or outside -10..10). */
int regmap_point_value(const struct regmap *m, size_t i, const struct regmap_block *blocks,
                       size_t nblocks, double *out);

/* Text of string point i (decode_string rules). Returns ENMON_OK,
 * ENMON_ERR_NOT_FOUND, or ENMON_ERR_INVALID when the point is not a string. */
int regmap_point_string(const struct regmap *m, size_t i, const struct regmap_block *blocks,
                        size_t nblocks, char *out, size_t len);

/* Fills r from the blocks read: for each point that feeds a measurement, the
 * measurement's valid bit is cleared, then set with the value when the point
 * decodes (regmap_point_value). Energy points also set r->wrap_wh: 2^bits x |scale|
 * with counter_wrap, else 0. Other fields of r are untouched. Returns the number of
 * measurement points without a valid value (0: all valid). Pure. */
int regmap_decode(const struct regmap *m, const struct regmap_block *blocks, size_t nblocks,
                  struct reading *r);

#endif
