/* sim_sunspec.h -- build the SunSpec register image of a device from its current values. */
#ifndef ENMON_SIM_SUNSPEC_H
#define ENMON_SIM_SUNSPEC_H

#include <stddef.h>
#include <stdint.h>

#define SIM_SUNSPEC_BASE 40000
#define SIM_IMAGE_MAX 1024 /* registers of a SunSpec image (devices_behind x longest device) */
#define SIM_BEHIND_MAX 4   /* logical devices behind one unit id */
#define SIM_MPPT_MAX 4

/* Register limits for choosing scale factors. */
#define SIM_INT16_LIMIT 32767.0
#define SIM_ACC32_LIMIT 4294967295.0

enum sim_kind {
    SIM_INVERTER, /* models 1, 101-103 or 111-113, 160, end */
    SIM_METER,    /* models 1, 201-204 or 211-213, end */
    SIM_SENSOR,   /* pole sensor (sim_pole), served through a register map only */
};

/* The registers a device serves: base .. base + len - 1 (regs holds cap words). */
struct sim_image {
    uint32_t base;
    uint32_t len;
    uint32_t cap;
    uint16_t *regs;
};

/* Allocates cap zeroed registers (len 0). Returns 0, or -1 when out of memory. */
int sim_image_alloc(struct sim_image *img, uint32_t cap);
void sim_image_free(struct sim_image *img);

struct sim_nameplate {
    char mn[33]; /* manufacturer */
    char md[33]; /* model */
    char vr[17]; /* version */
    char sn[33]; /* serial number */
    uint16_t da; /* device address (the unit id) */
};

/* Engineering values. Signs follow enmon's readings: an inverter's w is the AC
 * power it produces, a meter's w is positive when importing. Phase values are
 * derived from the totals (three equal phases). */
struct sim_values {
    enum sim_kind kind;
    int phases;    /* meters: 1 or 3 */
    double w;      /* active power W */
    double va;     /* apparent power VA */
    double var;    /* reactive power var */
    double pf;     /* power factor as a fraction (-1..1); registers carry percent */
    double a;      /* total AC current A */
    double v;      /* line-to-neutral voltage V */
    double hz;     /* frequency */
    double wh_imp; /* meter: imported energy Wh */
    double wh_exp; /* meter: exported Wh; inverter: lifetime energy produced (WH) */
    double tmp_c;  /* inverter cabinet temperature */
    int st;        /* inverter operating state (SunSpec St enum) */
    uint32_t evt;  /* inverter Evt1 / meter Evt bits */
    int n_mppt;    /* inverter: MPPT modules in model 160 */
    double dc_a[SIM_MPPT_MAX];
    double dc_v[SIM_MPPT_MAX];
    double dc_w[SIM_MPPT_MAX];
    double dc_wh[SIM_MPPT_MAX];
    uint32_t dc_evt[SIM_MPPT_MAX]; /* model 160 module DCEvt bits (model Evt: their OR) */
    double leak_ma;                /* pole sensor: leakage current mA */
    double phase_a[3];             /* pole sensor: phase currents A */
    double tilt_deg;               /* pole sensor: tilt from vertical */
};

/* Scale factors (powers of ten) used to encode each quantity. */
struct sim_scales {
    int a, v, w, hz, va, var, pf, wh, tmp, dca, dcv, dcw, dcwh;
};

/* Scale factor shared by the n values v[]: the first of 0, -1, -2, -3, 1..4 that
 * represents all of them exactly with |raw| <= limit; when none is exact, the
 * most precise one that fits. */
int sim_sunspec_exact_sf(const double *v, int n, double limit);

/* Most precise scale factor >= min_sf such that |max_abs| * 10^-sf <= limit. */
int sim_sunspec_fit_sf(double max_abs, int min_sf, double limit);

/* 1 when model is a main model the simulator serves for kind (inverters 101-103,
 * 111-113; meters 201-204, 211-213). */
int sim_sunspec_model_ok(enum sim_kind kind, int model);
/* The default main model: 103 for inverters, 201 (one phase) or 203 for meters. */
int sim_sunspec_default_model(enum sim_kind kind, int phases);
/* Phases a main model carries values for (1, 2 or 3). */
int sim_sunspec_model_phases(int model);

/* One logical device of a chain: model 1, the main model (+ 160 for inverters). */
struct sim_sunspec_part {
    const struct sim_nameplate *np;
    const struct sim_values *val;
    const struct sim_scales *sf; /* ignored by the float models 111-113, 211-213 */
    uint16_t model;
    int legacy_common; /* model 1 with L = 65 (no Pad register), as old devices */
};

/* Fills img with 'SunS' at base, the chains of the n parts one after the other
 * and the end model. Returns 0, or -1 when a model or point is missing from
 * sunspec_models[] or the chain would not fit in img->cap or below 65536. */
int sim_sunspec_build(struct sim_image *img, uint16_t base, const struct sim_sunspec_part *parts,
                      int n);

#endif
