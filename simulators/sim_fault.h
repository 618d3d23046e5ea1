/* sim_fault.h -- injected faults of a simulated device and how they change its values (pure). */
#ifndef ENMON_SIM_FAULT_H
#define ENMON_SIM_FAULT_H

#include "sim_sunspec.h"

#include <stddef.h>
#include <stdint.h>

#define SIM_FAULT_IDLE_W 60.0       /* household idle: only this base load (fridge, standby) */
#define SIM_FAULT_OVERLOAD_W 6000.0 /* household overload: this much on top of the normal load */

/* Bits of sim_fault.active: one per fault a device can have. */
enum sim_fault_bit {
    SIM_FAULT_STATE = 1u << 0,     /* inverter St forced */
    SIM_FAULT_EVENTS = 1u << 1,    /* inverter Evt1 / meter Evt bits added */
    SIM_FAULT_DCEVENTS = 1u << 2,  /* model 160 module DCEvt bits added */
    SIM_FAULT_DROP = 1u << 3,      /* no replies */
    SIM_FAULT_DELAY = 1u << 4,     /* replies late */
    SIM_FAULT_EXCEPTION = 1u << 5, /* every request answered with an exception */
    SIM_FAULT_GARBAGE = 1u << 6,   /* malformed replies */
    SIM_FAULT_FREEZE = 1u << 7,    /* counters stand still */
    SIM_FAULT_COUNTER = 1u << 8,   /* a one-shot counter change happened (reset, jump, backwards) */
    SIM_FAULT_VOLTAGE = 1u << 9,   /* phase voltage forced */
    SIM_FAULT_FREQUENCY = 1u << 10,
    SIM_FAULT_ZERO = 1u << 11,      /* inverter output 0, still MPPT in daylight */
    SIM_FAULT_OUTPUT = 1u << 12,    /* inverter output scaled */
    SIM_FAULT_HOUSEHOLD = 1u << 13, /* meter household idle or overloaded */
    SIM_FAULT_EXPORT = 1u << 14,    /* meter exports this much */
    SIM_FAULT_LEAKAGE = 1u << 15,   /* pole sensor: leakage step, ramp or intermittent arcing */
};

/* Leakage faults of a pole sensor (sim_pole_fault_ma). */
enum sim_leak_mode { SIM_LEAK_STEP, SIM_LEAK_RAMP, SIM_LEAK_ARC };

enum sim_household_mode { SIM_HOUSEHOLD_NORMAL, SIM_HOUSEHOLD_IDLE, SIM_HOUSEHOLD_OVERLOAD };

/* Counter operations (one-shot changes of a device's counters). */
enum sim_counter_op { SIM_COUNTER_RESET, SIM_COUNTER_JUMP, SIM_COUNTER_BACKWARDS };

/* The faults of one device; a field means something only while its bit is set. */
struct sim_fault {
    unsigned active;
    int state;
    uint32_t events;
    uint32_t dcevents[SIM_MPPT_MAX];
    unsigned delay_ms;
    uint8_t exception;
    enum sim_counter_op counter_op; /* the last one-shot change, for listing */
    double counter_wh;
    double voltage_v;
    double frequency_hz;
    double output_factor;
    enum sim_household_mode household;
    double household_w; /* idle: the base load; overload: the extra load */
    double export_w;
    enum sim_leak_mode leak_mode;
    double leak_ma;        /* step: added mA; ramp: mA at its start; arc: burst size */
    double leak_rate_ma_h; /* ramp: mA added per simulated hour */
    double leak_from_s;    /* simulated instant the leakage fault began */
};

/* Counters of a device (Wh), changed by sim_fault_counter. */
struct sim_counters {
    double wh_imp;
    double wh_exp;
    double dc_wh[SIM_MPPT_MAX];
    int n_mppt;
};

/* Share of the PV production that reaches the output: the output factor times
 * the global cloud factor, 0 under zero. */
double sim_fault_pv_factor(const struct sim_fault *f, double clouds);

/* A household's demand under the household fault (idle: the base load only;
 * overload: load + the extra). */
double sim_fault_load_w(const struct sim_fault *f, double load_w);

/* A meter's power (positive = import) under the export fault: -export_w. */
double sim_fault_meter_w(const struct sim_fault *f, double w);

/* Voltage and frequency overrides of v. */
void sim_fault_grid(const struct sim_fault *f, struct sim_values *v);

/* State and event overrides of v: a forced St; Evt and module DCEvt bits ORed
 * in; under zero (inverters) St is MPPT when daylight, else SLEEPING. */
void sim_fault_status(const struct sim_fault *f, int daylight, struct sim_values *v);

/* Applies a one-shot counter change: reset every counter to 0, or move the
 * main counter (inverter WH and module DCWH; meter TotWhImp) by +wh (jump) or
 * -wh (backwards, never below 0). Records it in f. */
void sim_fault_counter(struct sim_fault *f, enum sim_counter_op op, double wh,
                       struct sim_counters *c);

/* 1 while counters advance (not frozen). */
int sim_fault_counting(const struct sim_fault *f);

/* 1 when the faults make a fixed-mode device depend on time (zero: daylight;
 * export: a rising export counter). */
int sim_fault_timed(const struct sim_fault *f);

/* Clears the faults of mask (~0u: every fault). */
void sim_fault_clear(struct sim_fault *f, unsigned mask);

/* The bit of a fault name ("state", "drop", "counter" ...: the ctl command
 * names; "counter" covers freeze and the one-shot changes), or 0. */
unsigned sim_fault_bit_of(const char *name);

/* Describes the active faults ("state 7, drop, voltage 195") into buf; "" when
 * none. Returns the length snprintf would have written. */
int sim_fault_describe(const struct sim_fault *f, char *buf, size_t n);

#endif
