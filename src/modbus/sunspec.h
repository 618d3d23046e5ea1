/* sunspec.h -- SunSpec discovery (model chain walk) and decoding of models into readings. */
#ifndef ENMON_SUNSPEC_H
#define ENMON_SUNSPEC_H

#include "reading.h"
#include "sunspec_defs.h"

#include <stddef.h>
#include <stdint.h>

#define SUNSPEC_MAX_MODELS 32
#define SUNSPEC_MAX_READ 125 /* registers per Modbus read */

/* Reads count holding registers at addr into dest. Returns ENMON_OK or an enmon_err. */
typedef int (*sunspec_read_fn)(void *ctx, uint16_t addr, uint16_t count, uint16_t *dest);

struct sunspec_model_ref {
    uint16_t id;
    uint16_t len;  /* L: registers after the 2-register header */
    uint16_t addr; /* address of the ID register */
};

struct sunspec_chain {
    uint16_t base; /* address of 'SunS' */
    int nmodels;
    struct sunspec_model_ref models[SUNSPEC_MAX_MODELS];
};

/* Finds 'SunS' at base (or, when base < 0, at 40000, 0 and 50000 in turn) and
 * walks the model chain to the end model 0xFFFF. Rejects chains whose models
 * run past register 65535 or exceed SUNSPEC_MAX_MODELS (ENMON_ERR_BAD_CHAIN).
 * A failed header read after at least one model ends the chain (devices that
 * omit the end model). Returns ENMON_OK, ENMON_ERR_NOT_SUNSPEC or the read's error. */
int sunspec_discover(sunspec_read_fn read, void *ctx, int base, struct sunspec_chain *chain);

/* Reads a whole model (header included) into block (at least len + 2 words),
 * in reads of at most SUNSPEC_MAX_READ registers. */
int sunspec_read_model(sunspec_read_fn read, void *ctx, const struct sunspec_model_ref *ref,
                       uint16_t *block);

/* Decodes point `point` of def from block (words from the ID register on;
 * nwords available). Applies the point's scale factor and not-implemented
 * sentinels. Returns 0 with *out set, or -1 when the value is not implemented,
 * its scale factor is 0x8000 or out of range, or it lies beyond nwords.
 * When wrap is not NULL and the point is an accumulator, *wrap gets its
 * modulus in the point's units (2^32 x 10^sf for acc32), else 0. */
int sunspec_point_decode(const struct sunspec_model_def *def, const uint16_t *block, size_t nwords,
                         int point, double *out, double *wrap);

/* Which measurements a device's poll decodes: its main model (inverter 101-103,
 * 111-113 or meter 201-204, 211-214) with point indices resolved once. */
struct sunspec_plan {
    struct sunspec_model_ref main;
    const struct sunspec_model_def *def;
    int16_t point[MEAS__COUNT];  /* index in def->points, -1 none */
    double divisor[MEAS__COUNT]; /* after scaling: 100 for PF in units "Pct", else 1 */
    int is_meter;
    struct sunspec_model_ref common; /* the device's model 1 (id 0: none) */
    struct sunspec_model_ref mppt;   /* the device's model 160 (id 0: none) */
};

/* Chooses the main model of chain and resolves its points. Values follow the
 * units of the official model: PF in "Pct" (101-103, 111-113, 201-204) is
 * divided by 100, PF in "PF" (211-213) is taken as it is (-1..1). Returns ENMON_OK or
 * ENMON_ERR_NOT_FOUND when the chain has no inverter or meter model enmon decodes. */
int sunspec_plan_build(const struct sunspec_chain *chain, struct sunspec_plan *plan);

/* The same for the nth device (1-based) of a chain that holds several: each
 * common model (1) starts a device, as a gateway or a multi-inverter logger
 * presents them behind one unit id. */
int sunspec_plan_build_nth(const struct sunspec_chain *chain, int nth, struct sunspec_plan *plan);

/* For a device that sends PF in percent where its model says -1..1 (config
 * pf_percent: true): PF is divided by 100 whatever the model's units. */
void sunspec_plan_pf_percent(struct sunspec_plan *plan);

/* Decodes the main model block into r (values, valid bits, wrap_wh, quality).
 * Quality is PARTIAL when power or the device's main energy counter (inverter
 * WH, meter TotWhImp) is missing, or when a point the device implements could
 * not be decoded (invalid scale factor, infinite float); a point the device
 * does not implement is left out and keeps the quality OK. */
void sunspec_plan_decode(const struct sunspec_plan *plan, const uint16_t *block, size_t nwords,
                         struct reading *r);

/* Decodes the device's MPPT model (160) block: dc_power_w becomes the sum of
 * the modules' DCW when every module (at most READING_MODULES_MAX) implements
 * it; each module's DC current, voltage and power go to r->module[]. */
void sunspec_mppt_decode(const uint16_t *block, size_t nwords, struct reading *r);

/* Manufacturer, model and serial from a common model (1) block. */
struct sunspec_common {
    char manufacturer[33];
    char model[33];
    char version[17];
    char serial[33];
};
void sunspec_common_decode(const uint16_t *block, size_t nwords, struct sunspec_common *out);

#endif
