/* reading.c -- names of the measurements a reading carries. */
#include "reading.h"

static const char *const meas_names[MEAS__ALL] = {
    [MEAS_POWER_W] = "power_w",
    [MEAS_ENERGY_IMPORT_WH] = "energy_import_wh",
    [MEAS_ENERGY_EXPORT_WH] = "energy_export_wh",
    [MEAS_VOLTAGE_V] = "voltage_v",
    [MEAS_CURRENT_A] = "current_a",
    [MEAS_FREQUENCY_HZ] = "frequency_hz",
    [MEAS_POWER_FACTOR] = "power_factor",
    [MEAS_DC_POWER_W] = "dc_power_w",
    [MEAS_TEMPERATURE_C] = "temperature_c",
    [MEAS_STATE] = "state",
    [MEAS_EVENTS] = "events",
    [MEAS_LEAKAGE_MA] = "leakage_ma",
    [MEAS_CURRENT_L1_A] = "current_l1_a",
    [MEAS_CURRENT_L2_A] = "current_l2_a",
    [MEAS_CURRENT_L3_A] = "current_l3_a",
    [MEAS_TILT_DEG] = "tilt_deg",
};

const char *reading_meas_name(enum meas m)
{
    if ((unsigned)m >= MEAS__ALL)
        return "unknown";
    return meas_names[m];
}

static const char *const module_meas_names[MODULE__COUNT] = {
    [MODULE_DC_CURRENT_A] = "dc_current_a",
    [MODULE_DC_VOLTAGE_V] = "dc_voltage_v",
    [MODULE_DC_POWER_W] = "dc_power_w",
};

const char *reading_module_meas_name(enum module_meas m)
{
    if ((unsigned)m >= MODULE__COUNT)
        return "unknown";
    return module_meas_names[m];
}
