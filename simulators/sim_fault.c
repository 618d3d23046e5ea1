/* sim_fault.c -- injected faults of a simulated device and how they change its values (pure). */
#include "sim_fault.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define ST_SLEEPING 2
#define ST_MPPT 4

double sim_fault_pv_factor(const struct sim_fault *f, double clouds)
{
    if (f->active & SIM_FAULT_ZERO)
        return 0.0;
    double k = clouds;
    if (f->active & SIM_FAULT_OUTPUT)
        k *= f->output_factor;
    return k;
}

double sim_fault_load_w(const struct sim_fault *f, double load_w)
{
    if (!(f->active & SIM_FAULT_HOUSEHOLD))
        return load_w;
    switch (f->household) {
    case SIM_HOUSEHOLD_IDLE:
        return f->household_w;
    case SIM_HOUSEHOLD_OVERLOAD:
        return load_w + f->household_w;
    default:
        return load_w;
    }
}

double sim_fault_meter_w(const struct sim_fault *f, double w)
{
    return f->active & SIM_FAULT_EXPORT ? -f->export_w : w;
}

void sim_fault_grid(const struct sim_fault *f, struct sim_values *v)
{
    if (f->active & SIM_FAULT_VOLTAGE)
        v->v = f->voltage_v;
    if (f->active & SIM_FAULT_FREQUENCY)
        v->hz = f->frequency_hz;
}

void sim_fault_status(const struct sim_fault *f, int daylight, struct sim_values *v)
{
    if (v->kind == SIM_INVERTER && (f->active & SIM_FAULT_ZERO))
        v->st = daylight ? ST_MPPT : ST_SLEEPING;
    if (f->active & SIM_FAULT_STATE)
        v->st = f->state;
    if (f->active & SIM_FAULT_EVENTS)
        v->evt |= f->events;
    for (int i = 0; (f->active & SIM_FAULT_DCEVENTS) && i < v->n_mppt && i < SIM_MPPT_MAX; i++)
        v->dc_evt[i] |= f->dcevents[i];
}

void sim_fault_counter(struct sim_fault *f, enum sim_counter_op op, double wh,
                       struct sim_counters *c)
{
    double sign = op == SIM_COUNTER_BACKWARDS ? -1.0 : 1.0;
    f->active |= SIM_FAULT_COUNTER;
    f->counter_op = op;
    f->counter_wh = op == SIM_COUNTER_RESET ? 0.0 : wh;
    if (op == SIM_COUNTER_RESET) {
        c->wh_imp = c->wh_exp = 0.0;
        for (int i = 0; i < c->n_mppt && i < SIM_MPPT_MAX; i++)
            c->dc_wh[i] = 0.0;
        return;
    }
    if (c->n_mppt == 0) { /* a meter: the import counter */
        c->wh_imp = fmax(0.0, c->wh_imp + sign * wh);
        return;
    }
    double before = c->wh_exp;
    c->wh_exp = fmax(0.0, c->wh_exp + sign * wh);
    double moved = c->wh_exp - before; /* DC counters follow at the same share */
    for (int i = 0; i < c->n_mppt && i < SIM_MPPT_MAX; i++)
        c->dc_wh[i] = fmax(0.0, c->dc_wh[i] + moved / c->n_mppt);
}

int sim_fault_counting(const struct sim_fault *f)
{
    return !(f->active & SIM_FAULT_FREEZE);
}

int sim_fault_timed(const struct sim_fault *f)
{
    return (f->active & (SIM_FAULT_ZERO | SIM_FAULT_EXPORT)) != 0;
}

void sim_fault_clear(struct sim_fault *f, unsigned mask)
{
    f->active &= ~mask;
    if (mask & SIM_FAULT_DCEVENTS)
        memset(f->dcevents, 0, sizeof f->dcevents);
}

static const struct {
    const char *name;
    unsigned bits;
} fault_names[] = {
    {"state", SIM_FAULT_STATE},         {"events", SIM_FAULT_EVENTS},
    {"dcevents", SIM_FAULT_DCEVENTS},   {"drop", SIM_FAULT_DROP},
    {"delay", SIM_FAULT_DELAY},         {"exception", SIM_FAULT_EXCEPTION},
    {"garbage", SIM_FAULT_GARBAGE},     {"counter", SIM_FAULT_FREEZE | SIM_FAULT_COUNTER},
    {"backwards", SIM_FAULT_COUNTER},   {"voltage", SIM_FAULT_VOLTAGE},
    {"frequency", SIM_FAULT_FREQUENCY}, {"zero", SIM_FAULT_ZERO},
    {"output", SIM_FAULT_OUTPUT},       {"household", SIM_FAULT_HOUSEHOLD},
    {"export", SIM_FAULT_EXPORT},       {"leakage", SIM_FAULT_LEAKAGE},
};

unsigned sim_fault_bit_of(const char *name)
{
    for (size_t i = 0; i < sizeof fault_names / sizeof fault_names[0]; i++) {
        if (strcmp(fault_names[i].name, name) == 0)
            return fault_names[i].bits;
    }
    return 0;
}

/* Appends ", " (after the first item) and a formatted item; keeps counting past n. */
static void add(char *buf, size_t n, int *len, const char *fmt, ...)
{
    va_list ap;
    size_t at = (size_t)*len;
    if (at > 0)
        *len += snprintf(at < n ? buf + at : NULL, at < n ? n - at : 0, ", ");
    at = (size_t)*len;
    va_start(ap, fmt);
    *len += vsnprintf(at < n ? buf + at : NULL, at < n ? n - at : 0, fmt, ap);
    va_end(ap);
}

static void describe_counter(const struct sim_fault *f, char *buf, size_t n, int *len)
{
    if (f->active & SIM_FAULT_FREEZE)
        add(buf, n, len, "counter freeze");
    if (!(f->active & SIM_FAULT_COUNTER))
        return;
    if (f->counter_op == SIM_COUNTER_RESET)
        add(buf, n, len, "counter reset");
    else if (f->counter_op == SIM_COUNTER_JUMP)
        add(buf, n, len, "counter jump %.15g", f->counter_wh);
    else
        add(buf, n, len, "backwards %.15g", f->counter_wh);
}

static void describe_values(const struct sim_fault *f, char *buf, size_t n, int *len)
{
    static const char *const modes[] = {"normal", "idle", "overload"};
    if (f->active & SIM_FAULT_VOLTAGE)
        add(buf, n, len, "voltage %.15g", f->voltage_v);
    if (f->active & SIM_FAULT_FREQUENCY)
        add(buf, n, len, "frequency %.15g", f->frequency_hz);
    if (f->active & SIM_FAULT_ZERO)
        add(buf, n, len, "zero");
    if (f->active & SIM_FAULT_OUTPUT)
        add(buf, n, len, "output %.15g", f->output_factor);
    if (f->active & SIM_FAULT_HOUSEHOLD)
        add(buf, n, len, "household %s %.15g", modes[f->household], f->household_w);
    if (f->active & SIM_FAULT_EXPORT)
        add(buf, n, len, "export %.15g", f->export_w);
    if ((f->active & SIM_FAULT_LEAKAGE) && f->leak_mode == SIM_LEAK_RAMP)
        add(buf, n, len, "leakage ramp %.15g %.15g", f->leak_rate_ma_h, f->leak_ma);
    else if (f->active & SIM_FAULT_LEAKAGE)
        add(buf, n, len, "leakage %s %.15g", f->leak_mode == SIM_LEAK_ARC ? "arc" : "step",
            f->leak_ma);
}

int sim_fault_describe(const struct sim_fault *f, char *buf, size_t n)
{
    int len = 0;
    if (n > 0)
        buf[0] = '\0';
    if (f->active & SIM_FAULT_STATE)
        add(buf, n, &len, "state %d", f->state);
    if (f->active & SIM_FAULT_EVENTS)
        add(buf, n, &len, "events 0x%x", (unsigned)f->events);
    for (int i = 0; (f->active & SIM_FAULT_DCEVENTS) && i < SIM_MPPT_MAX; i++) {
        if (f->dcevents[i])
            add(buf, n, &len, "dcevents %d 0x%x", i + 1, (unsigned)f->dcevents[i]);
    }
    if (f->active & SIM_FAULT_DROP)
        add(buf, n, &len, "drop");
    if (f->active & SIM_FAULT_DELAY)
        add(buf, n, &len, "delay %u", f->delay_ms);
    if (f->active & SIM_FAULT_EXCEPTION)
        add(buf, n, &len, "exception %u", (unsigned)f->exception);
    if (f->active & SIM_FAULT_GARBAGE)
        add(buf, n, &len, "garbage");
    describe_counter(f, buf, n, &len);
    describe_values(f, buf, n, &len);
    return len;
}
