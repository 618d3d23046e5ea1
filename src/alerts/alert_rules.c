/* alert_rules.c -- alert rules as pure state machines stepped by readings: debounce, hysteresis. */
#include "alert_rules.h"

#include "config.h"
#include "counter.h"

#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#define MIN_MS (60 * 1000LL)
#define HOUR_MS (60 * MIN_MS)
#define SUNSPEC_ST_MPPT 4
#define SUNSPEC_ST_FAULT 7
#define GAP_MAX_MS (15 * MIN_MS)            /* welfare: longer gaps count as this much */
#define COUNTER_WINDOW_MIN_MS (15 * MIN_MS) /* counter jumps: judged over at least this */
#define LOAD_TAU_MS (24 * HOUR_MS)          /* abnormal_load: rolling mean time constant */
#define PEERS_DARK_SHARE 0.02 /* under_production: peers below this share: too dark to judge */
#define DAY_MS (24 * HOUR_MS)
#define TREND_DAYS_MIN 3 /* leakage_trend: completed days with readings needed for a fit */

/* SunSpec model 103 (data/sunspec/model_103.json) point Evt1, symbols by bit. */
static const char *const inverter_evt1_names[ALERT_EVENT_BITS] = {
    "GROUND_FAULT",      "DC_OVER_VOLT",    "AC_DISCONNECT",   "DC_DISCONNECT",
    "GRID_DISCONNECT",   "CABINET_OPEN",    "MANUAL_SHUTDOWN", "OVER_TEMP",
    "OVER_FREQUENCY",    "UNDER_FREQUENCY", "AC_OVER_VOLT",    "AC_UNDER_VOLT",
    "BLOWN_STRING_FUSE", "UNDER_TEMP",      "MEMORY_LOSS",     "HW_TEST_FAILURE",
};

/* SunSpec model 201 (data/sunspec/model_201.json) point Evt, symbols by bit. */
static const char *const meter_evt_names[ALERT_EVENT_BITS] = {
    [2] = "Power_Failure", [3] = "Under_Voltage",  [4] = "Low_PF", [5] = "Over_Current",
    [6] = "Over_Voltage",  [7] = "Missing_Sensor", [16] = "OEM01", [17] = "OEM02",
    [18] = "OEM03",        [19] = "OEM04",         [20] = "OEM05", [21] = "OEM06",
    [22] = "OEM07",        [23] = "OEM08",         [24] = "OEM09", [25] = "OEM10",
    [26] = "OEM11",        [27] = "OEM12",         [28] = "OEM13", [29] = "OEM14",
    [30] = "OEM15",
};

/* config/maps/pole-leakage-sensor.yaml register 6, status bits. */
static const char *const sensor_status_names[ALERT_EVENT_BITS] = {"DOOR_OPEN", "TILT",
                                                                  "LEAKAGE_ALARM", "SENSOR_FAULT"};

#define P(x) (1u << ALERT_P_##x)
#define COMMON (P(ENABLED) | P(SEVERITY))
#define DEBOUNCED (COMMON | P(POLLS) | P(AFTER) | P(CLEAR_POLLS) | P(CLEAR_AFTER))
#define BOTH ((1u << DEVICE_INVERTER) | (1u << DEVICE_METER))
#define INV (1u << DEVICE_INVERTER)
#define MET (1u << DEVICE_METER)
#define SEN (1u << DEVICE_SENSOR)

const struct alert_rule_info alert_rule_infos[ALERT_RULE__COUNT] = {
    [ALERT_RULE_COMM_LOSS] = {"comm_loss",
                              BOTH | SEN,
                              DEBOUNCED,
                              NULL,
                              {.enabled = 1,
                               .severity = ALERT_WARNING,
                               .polls = 3,
                               .after_ms = 2 * MIN_MS,
                               .clear_polls = 1}},
    [ALERT_RULE_INVERTER_FAULT] =
        {"inverter_fault",
         INV,
         DEBOUNCED,
         NULL,
         {.enabled = 1, .severity = ALERT_CRITICAL, .polls = 1, .clear_polls = 2}},
    [ALERT_RULE_INVERTER_EVENT] = {"inverter_event",
                                   INV,
                                   DEBOUNCED | P(EVENTS),
                                   inverter_evt1_names,
                                   {.enabled = 1,
                                    .severity = ALERT_WARNING,
                                    .polls = 1,
                                    .clear_polls = 2,
                                    .events = 0xFFFFu}},
    [ALERT_RULE_METER_EVENT] =
        {"meter_event",
         MET,
         DEBOUNCED | P(EVENTS),
         meter_evt_names,
         {.enabled = 1, .severity = ALERT_WARNING, .polls = 1, .clear_polls = 2, .events = 0xFCu}},
    [ALERT_RULE_VOLTAGE_BAND] = {"voltage_band",
                                 BOTH,
                                 DEBOUNCED | P(LOW) | P(HIGH) | P(MARGIN),
                                 NULL,
                                 {.enabled = 1,
                                  .severity = ALERT_WARNING,
                                  .polls = 1,
                                  .after_ms = MIN_MS,
                                  .clear_polls = 1,
                                  .clear_after_ms = MIN_MS,
                                  .low = 207.0,
                                  .high = 233.0,
                                  .margin = 2.0}},
    [ALERT_RULE_FREQUENCY_BAND] = {"frequency_band",
                                   BOTH,
                                   DEBOUNCED | P(LOW) | P(HIGH) | P(MARGIN),
                                   NULL,
                                   {.enabled = 1,
                                    .severity = ALERT_WARNING,
                                    .polls = 1,
                                    .after_ms = 10000,
                                    .clear_polls = 1,
                                    .clear_after_ms = 30000,
                                    .low = 59.8,
                                    .high = 60.2,
                                    .margin = 0.05}},
    [ALERT_RULE_UNDER_PRODUCTION] = {"under_production",
                                     INV,
                                     DEBOUNCED | P(RATIO) | P(CLEAR_RATIO) | P(CLEAR_SKY_RATIO) |
                                         P(ELEVATION) | P(MIN_PEERS),
                                     NULL,
                                     {.enabled = 1,
                                      .severity = ALERT_INFO,
                                      .polls = 1,
                                      .after_ms = 30 * MIN_MS,
                                      .clear_polls = 1,
                                      .clear_after_ms = 10 * MIN_MS,
                                      .ratio = 0.5,
                                      .clear_ratio = 0.7,
                                      .clear_sky_ratio = 0.05,
                                      .elevation_deg = 15.0,
                                      .min_peers = 3}},
    [ALERT_RULE_ZERO_PRODUCTION] = {"zero_production",
                                    INV,
                                    DEBOUNCED | P(ELEVATION) | P(MIN_W),
                                    NULL,
                                    {.enabled = 1,
                                     .severity = ALERT_WARNING,
                                     .polls = 1,
                                     .after_ms = 10 * MIN_MS,
                                     .clear_polls = 2,
                                     .elevation_deg = 15.0,
                                     .min_w = 0.0}},
    [ALERT_RULE_UNEXPECTED_EXPORT] = {"unexpected_export",
                                      MET,
                                      DEBOUNCED | P(MIN_W),
                                      NULL,
                                      {.enabled = 1,
                                       .severity = ALERT_INFO,
                                       .polls = 3,
                                       .after_ms = MIN_MS,
                                       .clear_polls = 1,
                                       .clear_after_ms = 5 * MIN_MS,
                                       .min_w = 50.0}},
    [ALERT_RULE_COUNTER_ANOMALY] = {"counter_anomaly",
                                    BOTH,
                                    DEBOUNCED | P(JUMP_FACTOR),
                                    NULL,
                                    {.enabled = 1,
                                     .severity = ALERT_INFO,
                                     .polls = 1,
                                     .clear_polls = 1,
                                     .clear_after_ms = HOUR_MS,
                                     .jump_factor = 2.0}},
    [ALERT_RULE_WELFARE_INACTIVITY] = {"welfare_inactivity",
                                       MET,
                                       COMMON | P(AFTER) | P(CLEAR_POLLS) | P(CLEAR_AFTER) |
                                           P(MARGIN) | P(NIGHT_START) | P(NIGHT_END) | P(LEARN),
                                       NULL,
                                       {.enabled = 1,
                                        .severity = ALERT_CRITICAL,
                                        .polls = 1,
                                        .after_ms = 12 * HOUR_MS,
                                        .clear_polls = 2,
                                        .margin = 50.0,
                                        .night_start = 0,
                                        .night_end = 6,
                                        .learn_ms = 24 * HOUR_MS}},
    [ALERT_RULE_ABNORMAL_LOAD] = {"abnormal_load",
                                  MET,
                                  DEBOUNCED | P(RATIO) | P(MIN_W) | P(LEARN),
                                  NULL,
                                  {.enabled = 1,
                                   .severity = ALERT_CRITICAL,
                                   .polls = 1,
                                   .after_ms = 15 * MIN_MS,
                                   .clear_polls = 1,
                                   .clear_after_ms = 5 * MIN_MS,
                                   .ratio = 3.0,
                                   .min_w = 3000.0,
                                   .learn_ms = 6 * HOUR_MS}},
    /* 30 mA: the rated residual operating current of RCDs for the additional protection of
     * persons (IEC 60364-4-41 411.3.3, 415.1.1; KEC 211), docs/ALERTS.md. */
    [ALERT_RULE_LEAKAGE_CURRENT] = {"leakage_current",
                                    SEN,
                                    DEBOUNCED | P(HIGH) | P(MARGIN),
                                    NULL,
                                    {.enabled = 1,
                                     .severity = ALERT_CRITICAL,
                                     .polls = 3,
                                     .after_ms = MIN_MS,
                                     .clear_polls = 3,
                                     .clear_after_ms = 5 * MIN_MS,
                                     .high = 30.0,
                                     .margin = 5.0}},
    [ALERT_RULE_LEAKAGE_TREND] = {"leakage_trend",
                                  SEN,
                                  DEBOUNCED | P(HIGH) | P(MARGIN) | P(LEARN),
                                  NULL,
                                  {.enabled = 1,
                                   .severity = ALERT_WARNING,
                                   .polls = 1,
                                   .clear_polls = 1,
                                   .high = 1.0,
                                   .margin = 5.0,
                                   .learn_ms = 7 * DAY_MS}},
    [ALERT_RULE_SENSOR_TEMPERATURE] = {"sensor_temperature",
                                       SEN,
                                       DEBOUNCED | P(HIGH) | P(MARGIN),
                                       NULL,
                                       {.enabled = 1,
                                        .severity = ALERT_WARNING,
                                        .polls = 3,
                                        .after_ms = 5 * MIN_MS,
                                        .clear_polls = 3,
                                        .clear_after_ms = 10 * MIN_MS,
                                        .high = 70.0,
                                        .margin = 5.0}},
    [ALERT_RULE_SENSOR_EVENT] =
        {"sensor_event",
         SEN,
         DEBOUNCED | P(EVENTS),
         sensor_status_names,
         {.enabled = 1, .severity = ALERT_WARNING, .polls = 1, .clear_polls = 2, .events = 0x0Fu}},
};

static const char *const param_names[ALERT_P__COUNT] = {
    "enabled", "severity",  "polls",     "after",       "clear_polls", "clear_after",
    "low",     "high",      "margin",    "ratio",       "clear_ratio", "clear_sky_ratio",
    "min_w",   "elevation", "min_peers", "night_start", "night_end",   "jump_factor",
    "events",  "learn",
};

static const char *const severity_names[] = {"info", "warning", "critical"};

const char *alert_param_name(enum alert_param p)
{
    return (unsigned)p < ALERT_P__COUNT ? param_names[p] : "unknown";
}

const char *alert_rule_name(enum alert_rule_id rule)
{
    return (unsigned)rule < ALERT_RULE__COUNT ? alert_rule_infos[rule].name : "unknown";
}

int alert_rule_by_name(const char *name)
{
    for (int i = 0; i < ALERT_RULE__COUNT; i++)
        if (strcmp(alert_rule_infos[i].name, name) == 0)
            return i;
    return -1;
}

const char *alert_severity_name(enum alert_severity s)
{
    return (unsigned)s <= ALERT_CRITICAL ? severity_names[s] : "unknown";
}

int alert_severity_by_name(const char *name)
{
    for (int i = 0; i <= ALERT_CRITICAL; i++)
        if (strcmp(severity_names[i], name) == 0)
            return i;
    return -1;
}

int alert_event_bit(enum alert_rule_id rule, const char *name)
{
    if ((unsigned)rule >= ALERT_RULE__COUNT || !alert_rule_infos[rule].bit_names)
        return -1;
    for (int b = 0; b < ALERT_EVENT_BITS; b++) {
        const char *n = alert_rule_infos[rule].bit_names[b];
        if (n && strcmp(n, name) == 0)
            return b;
    }
    return -1;
}

void alert_rule_state_init(struct alert_rule_state *st, int64_t now_ms)
{
    struct alert_debounce *bits = st->bits;
    struct alert_series *series = st->series;
    memset(st, 0, sizeof(*st));
    st->bits = bits;
    st->series = series;
    if (series)
        memset(series, 0, sizeof(*series));
    st->last_valid_ms = now_ms;
}

int alert_rule_needs_series(enum alert_rule_id rule)
{
    return rule == ALERT_RULE_WELFARE_INACTIVITY || rule == ALERT_RULE_LEAKAGE_TREND;
}

double alert_median_without(const double *sorted, size_t n, size_t skip)
{
    size_t m = skip < n ? n - 1 : n;
    if (m == 0)
        return NAN;
    size_t lo = (m - 1) / 2, hi = m / 2;
    if (skip < n) {
        lo += lo >= skip;
        hi += hi >= skip;
    }
    return (sorted[lo] + sorted[hi]) / 2.0;
}

/* ---- debounce ------------------------------------------------------------------------------ */

enum cond {
    COND_SKIP,  /* nothing to judge (value missing): state unchanged */
    COND_CLEAR, /* the condition is absent (clear side of the hysteresis) */
    COND_HOLD,  /* inside the hysteresis gap: neither raises nor clears */
    COND_RAISE, /* the condition holds */
};

/* The cause of a raise is formatted only when raising now flips the debounce (fires): most
 * readings of a holding condition change nothing, and printf was most of the engine's work. */
struct verdict {
    enum cond c;
    double value;
    int fires; /* a raise now would be emitted: format its cause */
    char cause[96];
};

struct timing {
    int polls, clear_polls;
    int64_t after_ms, clear_after_ms;
};

static struct timing cfg_timing(const struct alert_rule_cfg *cfg)
{
    struct timing t = {cfg->polls, cfg->clear_polls, cfg->after_ms, cfg->clear_after_ms};
    return t;
}

/* Would condition c at now flip db (debounce below), without changing it? */
static int debounce_fires(const struct alert_debounce *db, enum cond c, int64_t now,
                          const struct timing *t)
{
    int want = db->active ? COND_CLEAR : COND_RAISE;
    int need = db->active ? t->clear_polls : t->polls;
    int64_t need_ms = db->active ? t->clear_after_ms : t->after_ms;
    if (c == COND_SKIP || (int)c != want)
        return 0;
    int64_t hits = db->hits == 0 ? 1 : (int64_t)db->hits + (db->hits < UINT32_MAX);
    int64_t since = db->hits == 0 ? now : db->since_ms;
    return hits >= (need < 1 ? 1 : need) && now - since >= need_ms;
}

/* Counts a run of hits (or, once active, of misses) and flips when the run is
 * long enough in readings and in time; returns the action, with *since the run's start. */
static int debounce(struct alert_debounce *db, enum cond c, int64_t now, const struct timing *t,
                    int64_t *since)
{
    int want = db->active ? COND_CLEAR : COND_RAISE;
    int need = db->active ? t->clear_polls : t->polls;
    int64_t need_ms = db->active ? t->clear_after_ms : t->after_ms;

    if (c == COND_SKIP)
        return 0;
    if ((int)c != want) {
        db->hits = 0;
        return 0;
    }
    if (db->hits == 0)
        db->since_ms = now;
    if (db->hits < UINT32_MAX)
        db->hits++;
    if ((int64_t)db->hits < (need < 1 ? 1 : need) || now - db->since_ms < need_ms)
        return 0;
    *since = db->since_ms;
    db->active = !db->active;
    db->hits = 0;
    return db->active ? ALERT_RAISE : ALERT_CLEAR;
}

/* Debounces c and fills out on a flip, with cause (NULL: "bit <key>"). */
static int emit_verdict(struct alert_debounce *db, enum cond c, double value, const char *cause,
                        int key, int64_t now, const struct timing *t, struct alert_transition *out,
                        int max)
{
    int64_t since = now;
    int action = debounce(db, c, now, t, &since);
    if (!action || max < 1)
        return 0;
    out->action = (enum alert_action)action;
    out->key = key;
    out->since_ms = since;
    out->value = value;
    if (cause)
        snprintf(out->cause, sizeof(out->cause), "%s", cause);
    else
        snprintf(out->cause, sizeof(out->cause), "bit %d", key);
    return 1;
}

/* ---- conditions ---------------------------------------------------------------------------- */

static int reading_ok(const struct reading *r)
{
    return r && r->quality != READING_FAILED && r->online;
}

/* Sets v to a raise, with its cause formatted when the raise will be emitted (v->fires). */
__attribute__((format(printf, 3, 4))) static void raise_because(struct verdict *v, double value,
                                                                const char *fmt, ...)
{
    va_list ap;
    v->c = COND_RAISE;
    v->value = value;
    if (!v->fires)
        return;
    va_start(ap, fmt);
    vsnprintf(v->cause, sizeof(v->cause), fmt, ap);
    va_end(ap);
}

static void comm_loss(const struct alert_rule_cfg *cfg, struct alert_rule_state *st,
                      const struct alert_input *in, struct verdict *v)
{
    if (in->r && reading_ok(in->r)) {
        st->u.comm.fails = 0;
        st->last_valid_ms = in->now_ms;
        v->c = COND_CLEAR;
        return;
    }
    if (in->r && st->u.comm.fails < UINT32_MAX)
        st->u.comm.fails++;
    double silent_s = (double)(in->now_ms - st->last_valid_ms) / 1000.0;
    v->c = COND_HOLD;
    if ((int64_t)st->u.comm.fails < (cfg->polls < 1 ? 1 : cfg->polls) &&
        in->now_ms - st->last_valid_ms < cfg->after_ms)
        return;
    if (st->u.comm.fails == 0) /* raised by the timer: no poll answered or failed at all */
        raise_because(v, silent_s, "no reading for %.0f s", silent_s);
    else
        raise_because(v, silent_s, "no valid reading for %.0f s (%u failed poll%s)", silent_s,
                      (unsigned)st->u.comm.fails, st->u.comm.fails == 1 ? "" : "s");
}

static void inverter_fault(const struct alert_input *in, struct verdict *v)
{
    if (!reading_ok(in->r) || !reading_has(in->r, MEAS_STATE))
        return;
    double s = in->r->value[MEAS_STATE];
    if ((int)s == SUNSPEC_ST_FAULT)
        raise_because(v, s, "operating state FAULT (7)");
    else
        v->c = COND_CLEAR;
}

static void band(const char *what, const char *unit, const struct alert_rule_cfg *cfg,
                 const struct alert_input *in, enum meas m, struct verdict *v)
{
    if (!reading_ok(in->r) || !reading_has(in->r, m))
        return;
    double x = in->r->value[m];
    if (!isfinite(x) || (x <= 0.0 && in->kind == DEVICE_INVERTER))
        return; /* an inverter asleep measures nothing: not a grid fault */
    if (x < cfg->low)
        raise_because(v, x, "%s %.2f %s below %.2f %s", what, x, unit, cfg->low, unit);
    else if (x > cfg->high)
        raise_because(v, x, "%s %.2f %s above %.2f %s", what, x, unit, cfg->high, unit);
    else if (x >= cfg->low + cfg->margin && x <= cfg->high - cfg->margin)
        v->c = COND_CLEAR;
    else
        v->c = COND_HOLD;
    v->value = x;
}

static void under_production(const struct alert_rule_cfg *cfg, const struct alert_input *in,
                             struct verdict *v)
{
    if (!reading_ok(in->r) || !reading_has(in->r, MEAS_POWER_W) || in->capacity_w <= 0.0)
        return;
    v->c = COND_HOLD;
    if (in->sun_elevation_deg < cfg->elevation_deg)
        return;
    double p = in->r->value[MEAS_POWER_W];
    int peers = in->npeers >= cfg->min_peers && isfinite(in->peer_ratio);
    double expected = peers ? in->peer_ratio * in->capacity_w : in->clear_sky_w;
    double raise_at = peers ? cfg->ratio : cfg->clear_sky_ratio;
    double clear_at = peers ? cfg->clear_ratio : 2.0 * cfg->clear_sky_ratio;
    if (expected <= PEERS_DARK_SHARE * in->capacity_w)
        return;
    double share = p / expected;
    v->value = share;
    if (share < raise_at)
        raise_because(v, share, "output %.0f W is %.0f%% of %s %.0f W", p, 100.0 * share,
                      peers ? "the peers' median" : "clear sky", expected);
    else if (share >= clear_at)
        v->c = COND_CLEAR;
}

static void zero_production(const struct alert_rule_cfg *cfg, const struct alert_input *in,
                            struct verdict *v)
{
    const struct reading *r = in->r;
    if (!reading_ok(r) || !reading_has(r, MEAS_POWER_W) || !reading_has(r, MEAS_STATE))
        return;
    v->c = COND_HOLD;
    if (in->sun_elevation_deg < cfg->elevation_deg)
        return;
    double p = r->value[MEAS_POWER_W];
    if ((int)r->value[MEAS_STATE] == SUNSPEC_ST_MPPT && p <= cfg->min_w)
        raise_because(v, p, "state MPPT but output %.0f W in daylight (sun %.0f deg)", p,
                      in->sun_elevation_deg);
    else
        v->c = COND_CLEAR;
}

static void unexpected_export(const struct alert_rule_cfg *cfg, struct alert_rule_state *st,
                              const struct alert_input *in, struct verdict *v)
{
    const struct reading *r = in->r;
    if (!reading_ok(r) || in->export_expected)
        return;
    double grew = 0.0;
    if (reading_has(r, MEAS_ENERGY_EXPORT_WH)) {
        double e = r->value[MEAS_ENERGY_EXPORT_WH];
        if (st->u.exp.have && e > st->u.exp.prev_export_wh)
            grew = e - st->u.exp.prev_export_wh;
        st->u.exp.prev_export_wh = e;
        st->u.exp.have = 1;
    }
    int has_p = reading_has(r, MEAS_POWER_W);
    double p = has_p ? r->value[MEAS_POWER_W] : 0.0;
    if (!has_p && !reading_has(r, MEAS_ENERGY_EXPORT_WH))
        return;
    if (has_p && p < -cfg->min_w)
        raise_because(v, -p, "exporting %.0f W", -p);
    else if (grew >= 1.0)
        raise_because(v, grew, "export counter grew by %.0f Wh", grew);
    else
        v->c = p >= 0.0 ? COND_CLEAR : COND_HOLD;
}

static void counter_anomaly(const struct alert_rule_cfg *cfg, struct alert_rule_state *st,
                            const struct alert_input *in, struct verdict *v)
{
    static const enum meas ms[2] = {MEAS_ENERGY_IMPORT_WH, MEAS_ENERGY_EXPORT_WH};
    const struct reading *r = in->r;
    if (!reading_ok(r))
        return;
    int64_t dt = in->now_ms - st->u.ctr.prev_ms;
    double hours = (double)(dt > COUNTER_WINDOW_MIN_MS ? dt : COUNTER_WINDOW_MIN_MS) / HOUR_MS;
    double max_delta = in->capacity_w > 0 ? cfg->jump_factor * in->capacity_w * hours : 0.0;
    for (int i = 0; i < 2; i++) {
        if (!reading_has(r, ms[i]))
            continue;
        double cur = r->value[ms[i]], prev = st->u.ctr.prev[i];
        enum counter_event ev = COUNTER_NORMAL;
        if (st->u.ctr.have[i])
            counter_delta(prev, cur, r->wrap_wh[i], max_delta, &ev);
        st->u.ctr.prev[i] = cur;
        st->u.ctr.have[i] = 1;
        if (ev == COUNTER_RESET && v->c != COND_RAISE)
            raise_because(v, cur - prev, "%s went backwards %.0f -> %.0f Wh",
                          reading_meas_name(ms[i]), prev, cur);
        else if (ev == COUNTER_JUMP && v->c != COND_RAISE)
            raise_because(v, cur - prev, "%s jumped by %.0f Wh in %.0f s", reading_meas_name(ms[i]),
                          cur - prev, (double)dt / 1000.0);
        else if (v->c == COND_SKIP)
            v->c = COND_CLEAR;
    }
    st->u.ctr.prev_ms = in->now_ms;
}

/* Length of one welfare base-load slot: learn / 24 (one hour by default). */
static int64_t welfare_slot_ms(const struct alert_rule_cfg *cfg)
{
    int64_t slot = cfg->learn_ms / ALERT_WELFARE_SLOTS;
    return slot > 0 ? slot : HOUR_MS;
}

/* Lowest mean power of the completed slots (hours by default) of the learning
 * span (the last day by default); NAN before the first. */
static double welfare_base(const struct alert_rule_state *st, int64_t hour)
{
    double base = NAN;
    for (int i = 0; i < ALERT_WELFARE_SLOTS; i++) {
        int64_t h = st->series->key[i];
        if (st->series->n[i] == 0 || h >= hour || hour - h >= ALERT_WELFARE_SLOTS)
            continue;
        double mean = st->series->sum[i] / st->series->n[i];
        if (isnan(base) || mean < base)
            base = mean;
    }
    return base;
}

static void welfare_add(struct alert_rule_state *st, int64_t hour, double p)
{
    int slot = (int)(((hour % ALERT_WELFARE_SLOTS) + ALERT_WELFARE_SLOTS) % ALERT_WELFARE_SLOTS);
    if (st->series->key[slot] != hour || st->series->n[slot] == 0) {
        st->series->key[slot] = hour;
        st->series->sum[slot] = 0.0;
        st->series->n[slot] = 0;
    }
    st->series->sum[slot] += p;
    st->series->n[slot]++;
}

static int night_hour(const struct alert_rule_cfg *cfg, double hour)
{
    if (cfg->night_start == cfg->night_end)
        return 0;
    if (cfg->night_start < cfg->night_end)
        return hour >= cfg->night_start && hour < cfg->night_end;
    return hour >= cfg->night_start || hour < cfg->night_end; /* e.g. 22..6 */
}

static void welfare_inactivity(const struct alert_rule_cfg *cfg, struct alert_rule_state *st,
                               const struct alert_input *in, struct verdict *v)
{
    const struct reading *r = in->r;
    if (!reading_ok(r) || !reading_has(r, MEAS_POWER_W))
        return;
    double p = r->value[MEAS_POWER_W];
    int64_t hour = r->wall_ms / welfare_slot_ms(cfg);
    double base = welfare_base(st, hour);
    int64_t dt = st->u.welfare.have_prev ? in->now_ms - st->u.welfare.prev_ms : 0;
    welfare_add(st, hour, p);
    st->u.welfare.prev_ms = in->now_ms;
    st->u.welfare.have_prev = 1;
    v->value = p;
    v->c = COND_HOLD;
    if (isnan(base))
        return; /* no completed hour yet (or after a restart): neither raise nor clear */
    if (p > base + cfg->margin) {
        st->u.welfare.inactive_ms = 0;
        v->c = COND_CLEAR;
        return;
    }
    if (dt > 0 && !night_hour(cfg, in->local_hour))
        st->u.welfare.inactive_ms += dt < GAP_MAX_MS ? dt : GAP_MAX_MS;
    if (st->u.welfare.inactive_ms >= cfg->after_ms)
        raise_because(v, p, "no use above base load %.0f W + %.0f W for %.1f daytime hours", base,
                      cfg->margin, (double)st->u.welfare.inactive_ms / HOUR_MS);
}

static void abnormal_load(const struct alert_rule_cfg *cfg, struct alert_rule_state *st,
                          const struct alert_input *in, struct verdict *v)
{
    const struct reading *r = in->r;
    if (!reading_ok(r) || !reading_has(r, MEAS_POWER_W))
        return;
    double p = r->value[MEAS_POWER_W];
    double mean = st->u.load.mean_w;
    if (st->u.load.seen_ms >= cfg->learn_ms) {
        if (p > cfg->ratio * mean && p > cfg->min_w)
            raise_because(v, p, "draw %.0f W is %.1fx the usual %.0f W", p,
                          mean > 0 ? p / mean : 0.0, mean);
        else
            v->c = COND_CLEAR;
    } else {
        v->c = COND_HOLD;
    }
    if (!st->u.load.have_prev) {
        if (st->u.load.seen_ms == 0) /* else a mean restored from before a restart */
            st->u.load.mean_w = p;
    } else {
        int64_t dt = in->now_ms - st->u.load.prev_ms;
        if (dt > 0) {
            double a = 1.0 - exp(-(double)dt / LOAD_TAU_MS);
            st->u.load.mean_w += a * (p - st->u.load.mean_w);
            st->u.load.seen_ms += dt < GAP_MAX_MS ? dt : GAP_MAX_MS;
        }
    }
    st->u.load.prev_ms = in->now_ms;
    st->u.load.have_prev = 1;
}

/* Raise above cfg->high, clear at or below high - margin (pole sensors' leakage, temperature). */
static void over_limit(const char *what, const char *unit, const struct alert_rule_cfg *cfg,
                       const struct alert_input *in, enum meas m, struct verdict *v)
{
    if (!reading_ok(in->r) || !reading_has(in->r, m) || !isfinite(in->r->value[m]))
        return;
    double x = in->r->value[m];
    if (x > cfg->high)
        raise_because(v, x, "%s %.1f %s above %.1f %s", what, x, unit, cfg->high, unit);
    else
        v->c = x <= cfg->high - cfg->margin ? COND_CLEAR : COND_HOLD;
    v->value = x;
}

static void trend_add(struct alert_rule_state *st, int64_t day, double x)
{
    int slot = (int)(((day % ALERT_TREND_DAYS) + ALERT_TREND_DAYS) % ALERT_TREND_DAYS);
    if (st->series->key[slot] != day || st->series->n[slot] == 0) {
        st->series->key[slot] = day;
        st->series->sum[slot] = 0.0;
        st->series->n[slot] = 0;
    }
    st->series->sum[slot] += x;
    st->series->n[slot]++;
}

/* Least-squares line through the daily means of the `days` completed days before `today`
 * (days without readings left out): its slope in mA/day, and the rise it gives from the
 * first to the last day fitted. 0 when fewer than TREND_DAYS_MIN days have readings. */
static int trend_fit(const struct alert_rule_state *st, int64_t today, int days, double *slope,
                     double *rise, double *first_mean, double *last_mean)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int n = 0;
    int64_t lo = 0, hi = 0;
    for (int i = 0; i < ALERT_TREND_DAYS; i++) {
        int64_t d = st->series->key[i];
        if (st->series->n[i] == 0 || d >= today || today - d > days)
            continue;
        double x = (double)(d - today), y = st->series->sum[i] / st->series->n[i];
        sx += x, sy += y, sxx += x * x, sxy += x * y;
        if (n == 0 || d < lo)
            lo = d, *first_mean = y;
        if (n == 0 || d > hi)
            hi = d, *last_mean = y;
        n++;
    }
    double den = n * sxx - sx * sx;
    if (n < TREND_DAYS_MIN || den <= 0.0)
        return 0;
    *slope = (n * sxy - sx * sy) / den;
    *rise = *slope * (double)(hi - lo);
    return 1;
}

static void leakage_trend(const struct alert_rule_cfg *cfg, struct alert_rule_state *st,
                          const struct alert_input *in, struct verdict *v)
{
    const struct reading *r = in->r;
    if (!reading_ok(r) || !reading_has(r, MEAS_LEAKAGE_MA) || !isfinite(r->value[MEAS_LEAKAGE_MA]))
        return;
    int64_t today = r->wall_ms / DAY_MS;
    int days = (int)(cfg->learn_ms / DAY_MS);
    double slope, rise, first = 0, last = 0;
    trend_add(st, today, r->value[MEAS_LEAKAGE_MA]);
    if (days > ALERT_TREND_DAYS - 1)
        days = ALERT_TREND_DAYS - 1;
    if (!trend_fit(st, today, days, &slope, &rise, &first, &last)) {
        v->c = COND_HOLD; /* too few days yet (or after a restart) */
        return;
    }
    v->value = slope;
    if (slope >= cfg->high && rise >= cfg->margin)
        raise_because(v, slope, "daily mean leakage rising %.2f mA/day (%.1f -> %.1f mA)", slope,
                      first, last);
    else
        v->c = COND_CLEAR;
}

/* ---- stepping ------------------------------------------------------------------------------ */

static int step_events(enum alert_rule_id rule, const struct alert_rule_cfg *cfg,
                       struct alert_rule_state *st, const struct alert_input *in,
                       struct alert_transition *out, int max)
{
    const struct reading *r = in->r;
    if (!st->bits || !reading_ok(r) || !reading_has(r, MEAS_EVENTS))
        return 0;
    double x = r->value[MEAS_EVENTS];
    uint32_t bits = x >= 0 && x <= 4294967295.0 ? (uint32_t)x : 0;
    const char *const *names = alert_rule_infos[rule].bit_names;
    struct timing t = cfg_timing(cfg);
    int n = 0;
    for (int b = 0; b < ALERT_EVENT_BITS && n < max; b++) {
        uint32_t m = 1u << b;
        if (!(cfg->events & m) && !st->bits[b].active)
            continue;
        enum cond c = (bits & cfg->events & m) ? COND_RAISE : COND_CLEAR;
        n += emit_verdict(&st->bits[b], c, b, names[b], b, in->now_ms, &t, out + n, max - n);
    }
    return n;
}

int alert_rule_step(enum alert_rule_id rule, const struct alert_rule_cfg *cfg,
                    struct alert_rule_state *st, const struct alert_input *in,
                    struct alert_transition *out, int max)
{
    struct verdict v = {.c = COND_SKIP};
    struct timing t = cfg_timing(cfg);
    int64_t at = in->now_ms;

    if (!cfg->enabled || (unsigned)rule >= ALERT_RULE__COUNT)
        return 0;
    if (!in->r && rule != ALERT_RULE_COMM_LOSS)
        return 0;
    /* comm loss: polls and after are the condition itself, either suffices; welfare: after
     * is the inactive daytime itself */
    if (rule == ALERT_RULE_COMM_LOSS || rule == ALERT_RULE_WELFARE_INACTIVITY) {
        t.polls = 1;
        t.after_ms = 0;
    }
    v.fires = debounce_fires(&st->db, COND_RAISE, at, &t);
    switch (rule) {
    case ALERT_RULE_INVERTER_EVENT:
    case ALERT_RULE_METER_EVENT:
    case ALERT_RULE_SENSOR_EVENT:
        return step_events(rule, cfg, st, in, out, max);
    case ALERT_RULE_COMM_LOSS:
        comm_loss(cfg, st, in, &v);
        break;
    case ALERT_RULE_INVERTER_FAULT:
        inverter_fault(in, &v);
        break;
    case ALERT_RULE_VOLTAGE_BAND:
        band("voltage", "V", cfg, in, MEAS_VOLTAGE_V, &v);
        break;
    case ALERT_RULE_FREQUENCY_BAND:
        band("frequency", "Hz", cfg, in, MEAS_FREQUENCY_HZ, &v);
        break;
    case ALERT_RULE_UNDER_PRODUCTION:
        under_production(cfg, in, &v);
        break;
    case ALERT_RULE_ZERO_PRODUCTION:
        zero_production(cfg, in, &v);
        break;
    case ALERT_RULE_UNEXPECTED_EXPORT:
        unexpected_export(cfg, st, in, &v);
        break;
    case ALERT_RULE_COUNTER_ANOMALY:
        counter_anomaly(cfg, st, in, &v);
        break;
    case ALERT_RULE_WELFARE_INACTIVITY:
        welfare_inactivity(cfg, st, in, &v);
        break;
    case ALERT_RULE_ABNORMAL_LOAD:
        abnormal_load(cfg, st, in, &v);
        break;
    case ALERT_RULE_LEAKAGE_CURRENT:
        over_limit("leakage", "mA", cfg, in, MEAS_LEAKAGE_MA, &v);
        break;
    case ALERT_RULE_LEAKAGE_TREND:
        leakage_trend(cfg, st, in, &v);
        break;
    case ALERT_RULE_SENSOR_TEMPERATURE:
        over_limit("enclosure temperature", "C", cfg, in, MEAS_TEMPERATURE_C, &v);
        break;
    default:
        return 0;
    }
    int n = emit_verdict(&st->db, v.c, v.value, v.cause, -1, at, &t, out, max);
    if (n && out->action == ALERT_RAISE && rule == ALERT_RULE_COMM_LOSS)
        out->since_ms = st->last_valid_ms;
    if (n && out->action == ALERT_RAISE && rule == ALERT_RULE_WELFARE_INACTIVITY)
        out->since_ms = at - st->u.welfare.inactive_ms;
    return n;
}
