/* reading.h -- one poll of one device: the unit that flows from pollers to sinks. */
#ifndef ENMON_READING_H
#define ENMON_READING_H

#include <stdint.h>

/* Measurements a reading may carry. Sign conventions: an inverter's power_w is
 * the AC power it produces; a meter's power_w is positive when the site imports
 * (consumes) and negative when it exports. An inverter's lifetime energy (SunSpec
 * WH) is reported as energy_export_wh (energy the inverter delivered). */
enum meas {
    MEAS_POWER_W,
    MEAS_ENERGY_IMPORT_WH,
    MEAS_ENERGY_EXPORT_WH,
    MEAS_VOLTAGE_V,
    MEAS_CURRENT_A,
    MEAS_FREQUENCY_HZ,
    MEAS_POWER_FACTOR,
    MEAS_DC_POWER_W,
    MEAS_TEMPERATURE_C,
    MEAS_STATE,  /* SunSpec operating state (enum, 1..8 for inverters) */
    MEAS_EVENTS, /* event bitfield (inverter Evt1, meter Evt, sensor door/tilt bits) */
    MEAS__COUNT, /* the measurements above: readings columns power_w .. events, in this order */
    /* Pole sensors (device kind sensor): readings columns leakage_ma .. tilt_deg, in this order,
     * after the m1..m4 DC module columns (schema 11). */
    MEAS_LEAKAGE_MA = MEAS__COUNT, /* residual (leakage) current, mA */
    MEAS_CURRENT_L1_A,             /* phase currents, A */
    MEAS_CURRENT_L2_A,
    MEAS_CURRENT_L3_A,
    MEAS_TILT_DEG, /* pole tilt from vertical, degrees */
    MEAS__ALL      /* every measurement: the size of struct reading.value */
};

enum reading_quality {
    READING_OK = 0,      /* every point the device implements was read */
    READING_PARTIAL = 1, /* some points invalid (not implemented, bad scale factor) */
    READING_FAILED = 2,  /* the poll failed: no values at all */
};

/* DC inputs (MPPT modules, SunSpec model 160) a reading carries at most. */
#define READING_MODULES_MAX 4

enum module_meas { MODULE_DC_CURRENT_A, MODULE_DC_VOLTAGE_V, MODULE_DC_POWER_W, MODULE__COUNT };

struct reading_module {
    uint8_t valid; /* bit (1u << enum module_meas) set when value[] holds a valid number */
    double value[MODULE__COUNT];
};

struct reading {
    uint32_t device;  /* index into enmon_config.devices */
    int64_t wall_ms;  /* UTC epoch milliseconds when the poll completed */
    int64_t mono_ms;  /* CLOCK_MONOTONIC milliseconds, same instant */
    uint8_t quality;  /* enum reading_quality */
    uint8_t online;   /* device availability after this poll (1 online, 0 offline) */
    int16_t err;      /* enum enmon_err when quality == READING_FAILED */
    uint32_t valid;   /* bit (1u << meas) set when value[meas] holds a valid number */
    double value[MEAS__ALL];
    /* Counter modulus in Wh for energy_import_wh [0] and energy_export_wh [1]:
     * 2^32 * 10^sf for SunSpec acc32, 0 when the counter does not wrap. */
    double wrap_wh[2];
    uint8_t nmodules; /* modules in module[] (0: the device has no model 160) */
    struct reading_module module[READING_MODULES_MAX];
};

/* The JSON / SQL name of a measurement ("power_w", "energy_import_wh" ...). */
const char *reading_meas_name(enum meas m);

/* The JSON name of a module measurement ("dc_current_a" ...). */
const char *reading_module_meas_name(enum module_meas m);

static inline int reading_has(const struct reading *r, enum meas m)
{
    return (r->valid >> m) & 1u;
}

static inline void reading_set(struct reading *r, enum meas m, double v)
{
    r->value[m] = v;
    r->valid |= 1u << m;
}

#endif
