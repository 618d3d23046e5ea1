/* sunspec_defs.h -- SunSpec model layouts, generated at build time from data/sunspec. */
#ifndef ENMON_SUNSPEC_DEFS_H
#define ENMON_SUNSPEC_DEFS_H

#include <stddef.h>
#include <stdint.h>

enum sunspec_type {
    SS_INT16,
    SS_UINT16,
    SS_COUNT,
    SS_ACC16,
    SS_ENUM16,
    SS_BITFIELD16,
    SS_PAD,
    SS_SUNSSF,
    SS_INT32,
    SS_UINT32,
    SS_ACC32,
    SS_ENUM32,
    SS_BITFIELD32,
    SS_INT64,
    SS_UINT64,
    SS_ACC64,
    SS_FLOAT32,
    SS_FLOAT64,
    SS_STRING,
};

/* sf_index: -1 none; 0..0x3fff index in the same point array; 0x4000|i index
 * in the model's fixed points (a repeating group scaled by the fixed block). */
#define SUNSPEC_SF_PARENT 0x4000

struct sunspec_point_def {
    const char *name;
    uint16_t offset; /* registers from the model's ID register (group: from group start) */
    uint8_t size;    /* registers */
    uint8_t type;    /* enum sunspec_type */
    int16_t sf_index;
    const char *units;
};

struct sunspec_model_def {
    uint16_t id;
    const char *name;
    uint16_t fixed_len; /* L of the model without repeating groups */
    const struct sunspec_point_def *points; /* fixed block, ID and L first */
    uint16_t npoints;
    const struct sunspec_point_def *group_points; /* repeating group or NULL */
    uint16_t ngroup_points;
    uint16_t group_len; /* registers per repetition */
};

extern const struct sunspec_model_def sunspec_models[];
extern const size_t sunspec_model_count;

/* Returns the definition of model id, or NULL if enmon does not know it. */
const struct sunspec_model_def *sunspec_model_find(uint16_t id);

/* Returns the index of the named point in model->points, or -1. */
int sunspec_point_index(const struct sunspec_model_def *model, const char *name);

#endif
