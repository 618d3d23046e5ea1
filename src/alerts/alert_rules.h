/* alert_rules.h -- alert rules as pure state machines stepped by readings: debounce, hysteresis. */
#ifndef ENMON_ALERT_RULES_H
#define ENMON_ALERT_RULES_H

#include "reading.h"

#include <stddef.h>
#include <stdint.h>

enum alert_rule_id {
    ALERT_RULE_COMM_LOSS,
    ALERT_RULE_INVERTER_FAULT,
    ALERT_RULE_INVERTER_EVENT,
    ALERT_RULE_METER_EVENT,
    ALERT_RULE_VOLTAGE_BAND,
    ALERT_RULE_FREQUENCY_BAND,
    ALERT_RULE_UNDER_PRODUCTION,
    ALERT_RULE_ZERO_PRODUCTION,
    ALERT_RULE_UNEXPECTED_EXPORT,
    ALERT_RULE_COUNTER_ANOMALY,
    ALERT_RULE_WELFARE_INACTIVITY,
    ALERT_RULE_ABNORMAL_LOAD,
    ALERT_RULE_LEAKAGE_CURRENT,    /* pole sensors: leakage above the limit, sustained */
    ALERT_RULE_LEAKAGE_TREND,      /* pole sensors: daily mean leakage rising over days */
    ALERT_RULE_SENSOR_TEMPERATURE, /* pole sensors: enclosure over-temperature */
    ALERT_RULE_SENSOR_EVENT,       /* pole sensors: door, tilt and the sensor's own alarms */
    ALERT_RULE__COUNT
};

enum alert_severity {
    ALERT_INFO,
    ALERT_WARNING,
    ALERT_CRITICAL,
};

/* Parameters of one rule (all configurable, see docs/ALERTS.md). Which fields a
 * rule reads is listed in alert_rule_infos[].params. */
struct alert_rule_cfg {
    int enabled;
    enum alert_severity severity;
    int polls;                  /* readings in a row with the condition before raising */
    int64_t after_ms;           /* ... and for at least this long */
    int clear_polls;            /* readings in a row without it before clearing */
    int64_t clear_after_ms;     /* ... and for at least this long */
    double low, high;           /* band rules: raise outside [low, high];
                                   leakage_trend: high is the least-squares rise in mA/day */
    double margin;              /* band rules: clear inside [low+margin, high-margin];
                                   leakage_trend: least rise in mA over the days fitted;
                                   welfare_inactivity: W above the base load that count as use */
    double ratio;               /* under_production: of the peers' median (or clear sky);
                                   abnormal_load: times the rolling mean */
    double clear_ratio;         /* under_production: clears at or above this share */
    double clear_sky_ratio;     /* under_production without enough peers: share of clear sky */
    double min_w;               /* abnormal_load: absolute floor; unexpected_export: export W;
                                   zero_production: at most this counts as zero */
    double elevation_deg;       /* under/zero_production: only judged above this sun elevation */
    int min_peers;              /* under_production: peers needed for the peer comparison */
    int night_start, night_end; /* welfare_inactivity: local hours [start, end) not counted */
    double jump_factor; /* counter_anomaly: plausible increase = factor x capacity x hours */
    uint32_t events;    /* event rules: the bits that raise */
    int64_t learn_ms;   /* welfare_inactivity: history the base load is learned from (24
                           slots of learn/24); abnormal_load: history needed before judging;
                           leakage_trend: the days fitted (whole days, 3..ALERT_TREND_DAYS) */
};

/* Parameters a rule may have (bits of alert_rule_info.params). */
enum alert_param {
    ALERT_P_ENABLED,
    ALERT_P_SEVERITY,
    ALERT_P_POLLS,
    ALERT_P_AFTER,
    ALERT_P_CLEAR_POLLS,
    ALERT_P_CLEAR_AFTER,
    ALERT_P_LOW,
    ALERT_P_HIGH,
    ALERT_P_MARGIN,
    ALERT_P_RATIO,
    ALERT_P_CLEAR_RATIO,
    ALERT_P_CLEAR_SKY_RATIO,
    ALERT_P_MIN_W,
    ALERT_P_ELEVATION,
    ALERT_P_MIN_PEERS,
    ALERT_P_NIGHT_START,
    ALERT_P_NIGHT_END,
    ALERT_P_JUMP_FACTOR,
    ALERT_P_EVENTS,
    ALERT_P_LEARN,
    ALERT_P__COUNT
};

#define ALERT_EVENT_BITS 32

struct alert_rule_info {
    const char *name;             /* "comm_loss" ... */
    unsigned kinds;               /* devices it applies to: bit (1u << enum device_kind) */
    uint32_t params;              /* bit (1u << enum alert_param) for each parameter it reads */
    const char *const *bit_names; /* event rules: name of each bit (NULL where unnamed) */
    struct alert_rule_cfg defaults;
};

extern const struct alert_rule_info alert_rule_infos[ALERT_RULE__COUNT];

/* Configuration key of a parameter ("after", "clear_after" ...). */
const char *alert_param_name(enum alert_param p);

/* Rule by name; -1 when unknown. */
int alert_rule_by_name(const char *name);
const char *alert_rule_name(enum alert_rule_id rule);

const char *alert_severity_name(enum alert_severity s); /* "critical", "warning", "info" */
int alert_severity_by_name(const char *name);           /* -1 when unknown */

/* Bit index of an event name of an event rule (e.g. "GROUND_FAULT"); -1 when unknown. */
int alert_event_bit(enum alert_rule_id rule, const char *name);

/* Debounce of one condition: counts hits (or, once raised, misses) and since when. */
struct alert_debounce {
    int64_t since_ms; /* monotonic ms when the current run of hits (or misses) began */
    uint32_t hits;    /* readings in the current run */
    uint8_t active;   /* raised */
};

#define ALERT_WELFARE_SLOTS 24
#define ALERT_TREND_DAYS 16 /* leakage_trend: daily means kept (learn: at most this many days) */

/* Sums per slot of a rule that keeps a short history: welfare_inactivity's last 24 local hours
 * (key: epoch hour), leakage_trend's last days (key: epoch day). Kept apart from
 * alert_rule_state so that the other rules' state (most of a city's) stays small. */
#define ALERT_SERIES_SLOTS 24
_Static_assert(ALERT_WELFARE_SLOTS <= ALERT_SERIES_SLOTS && ALERT_TREND_DAYS <= ALERT_SERIES_SLOTS,
               "one series fits both rules");
struct alert_series {
    double sum[ALERT_SERIES_SLOTS];
    uint32_t n[ALERT_SERIES_SLOTS];
    int64_t key[ALERT_SERIES_SLOTS]; /* which hour or day a slot holds */
};

/* What a rule remembers between readings. Event rules need `bits`: an array of
 * ALERT_EVENT_BITS debouncers owned by the caller (one alert per bit); rules for which
 * alert_rule_needs_series() is 1 need `series`, also owned by the caller. */
struct alert_rule_state {
    struct alert_debounce db;
    struct alert_debounce *bits;
    struct alert_series *series;
    int64_t last_valid_ms; /* comm_loss: monotonic ms of the last valid reading (or start); set
                              by init for every rule, hence outside the union */
    union {
        struct {
            uint32_t fails; /* failed polls in a row */
        } comm;
        struct {
            double prev[2]; /* energy_import_wh, energy_export_wh */
            int64_t prev_ms;
            uint8_t have[2];
        } ctr;
        struct {
            double prev_export_wh;
            uint8_t have;
        } exp;
        struct {
            int64_t prev_ms;     /* monotonic ms of the previous reading */
            int64_t inactive_ms; /* daytime without use so far */
            uint8_t have_prev;
        } welfare;
        struct {
            double mean_w;   /* exponentially weighted mean power (24 h time constant) */
            int64_t seen_ms; /* how much history the mean holds */
            int64_t prev_ms;
            uint8_t have_prev;
        } load;
    } u;
};

/* Everything a rule may look at besides the reading. */
struct alert_input {
    const struct reading *r; /* NULL on a timer tick (only comm_loss looks at ticks) */
    int64_t now_ms;          /* monotonic ms (the reading's mono_ms, or the tick's time) */
    int kind;                /* enum device_kind */
    double local_hour;       /* 0..24 local time of day (welfare night hours) */
    double capacity_w;       /* the device's rated power (0 unknown) */
    double sun_elevation_deg;
    double clear_sky_w;  /* clear-sky AC estimate for the device (solar_clear_sky_ac_w) */
    double peer_ratio;   /* median W per W capacity of the device's peers now */
    int npeers;          /* how many peers peer_ratio comes from */
    int export_expected; /* meter: the site may export (it has PV) */
};

enum alert_action {
    ALERT_RAISE = 1,
    ALERT_CLEAR = 2,
};

/* One raise or clear decided by a step. */
struct alert_transition {
    enum alert_action action;
    int key;          /* event bit for event rules, else -1 */
    int64_t since_ms; /* monotonic ms the condition (or its absence) began */
    double value;     /* the measured value that decided (V, Hz, W, share, bit ...) */
    char cause[96];   /* "GROUND_FAULT", "voltage 196.4 V below 207 V" */
};

/* Sets the state for a rule whose first input comes at now_ms (before any step). */
void alert_rule_state_init(struct alert_rule_state *st, int64_t now_ms);
/* 1 when the rule keeps an alert_series (st->series must then point to one before init). */
int alert_rule_needs_series(enum alert_rule_id rule);

/* Steps `rule` with one input. Writes up to max transitions into out (event
 * rules may raise and clear several bits at once) and returns how many. A
 * disabled rule returns 0 (and clears nothing: the caller clears on disable). */
int alert_rule_step(enum alert_rule_id rule, const struct alert_rule_cfg *cfg,
                    struct alert_rule_state *st, const struct alert_input *in,
                    struct alert_transition *out, int max);

/* Median of sorted[0..n) leaving out the value at index skip (skip >= n: none
 * left out); NAN when nothing is left. */
double alert_median_without(const double *sorted, size_t n, size_t skip);

#endif
