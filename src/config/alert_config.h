/* alert_config.h -- the `alerts:` section: rule defaults, overrides by program/site/device, hook.
 */
#ifndef ENMON_ALERT_CONFIG_H
#define ENMON_ALERT_CONFIG_H

#include "alert_rules.h"
#include "cfg_error.h"

#include <stddef.h>
#include <stdint.h>

struct ydoc;
struct fy_node;

#define ALERT_HOOK_ARGS_MAX 16
#define ALERT_HOOK_ARG_MAX 256

/* A program run for every raise and clear with the alert JSON on stdin. */
struct alert_hook_cfg {
    int argc; /* 0: no hook */
    char argv[ALERT_HOOK_ARGS_MAX][ALERT_HOOK_ARG_MAX];
    int64_t timeout_ms;     /* killed (SIGKILL) after this; default 10 s */
    int retries;            /* extra runs after a failure; default 2 */
    int64_t retry_delay_ms; /* pause before a retry; default 5 s */
    int rate_count;         /* at most rate_count runs per rate_period_ms; 0 unlimited */
    int64_t rate_period_ms;
};

#define ALERT_WEBHOOKS_MAX 16
#define ALERT_WEBHOOK_URL_MAX 512
#define ALERT_WEBHOOK_SECRET_MAX 256
#define ALERT_WEBHOOK_FIELDS_MAX 8
#define ALERT_WEBHOOK_FIELD_MAX 256
#define ALERT_ROUTE_PROGRAMS_MAX 16

/* The message a webhook body carries besides the alert JSON. */
enum alert_template {
    ALERT_TEMPLATE_NONE, /* the alert JSON only */
    ALERT_TEMPLATE_KO,   /* plus "message": "[경보] <site> <device> <rule>: <cause>" in Korean */
};

/* One HTTPS endpoint that alerts are POSTed to (webhook.h), with the route that picks them.
 * TLS uses the option names and meaning of the mqtt: section (cafile, certfile, keyfile,
 * tls_insecure): one hardened client setup. */
struct alert_webhook_cfg {
    char id[CFG_ID_MAX];                   /* names the endpoint in the outbox, logs, metrics */
    char url[ALERT_WEBHOOK_URL_MAX];       /* https://host[:port]/path */
    char secret[ALERT_WEBHOOK_SECRET_MAX]; /* HMAC-SHA256 key (secret, or read from secret_file) */
    char cafile[CFG_PATH_MAX];   /* CA certificate(s) the endpoint must chain to ("" system) */
    char certfile[CFG_PATH_MAX]; /* optional TLS client certificate (PEM) */
    char keyfile[CFG_PATH_MAX];  /* its private key (PEM) */
    int tls_insecure;            /* skip the host name check (never the chain), default 0 */
    int64_t connect_timeout_ms;  /* default 5 s */
    int64_t timeout_ms;          /* whole request, default 15 s */
    int64_t retry_min_ms, retry_max_ms; /* backoff while it is down: doubles from min to max,
                                           defaults 5 s and 5 min */
    enum alert_template tmpl;
    int nfields; /* fields: constant members added to every body */
    char field_key[ALERT_WEBHOOK_FIELDS_MAX][CFG_ID_MAX];
    char field_value[ALERT_WEBHOOK_FIELDS_MAX][ALERT_WEBHOOK_FIELD_MAX];
    /* route: an alert goes here when every given list names it (an empty list matches all) */
    int nprograms;
    int programs[ALERT_ROUTE_PROGRAMS_MAX]; /* program indices */
    uint64_t rules;                         /* bit per enum alert_rule_id; 0 = any */
    uint32_t kinds;                         /* bit per enum device_kind; 0 = any */
    enum alert_severity min_severity;       /* default info */
    int line;
};

/* Parameters set for devices matching program, site and device (indices into
 * the configuration's lists, -1 = any). */
struct alert_override {
    int program, site, device;
    int line;
    uint32_t set[ALERT_RULE__COUNT]; /* bit (1u << enum alert_param) for each given parameter */
    struct alert_rule_cfg values[ALERT_RULE__COUNT];
};

struct alert_config {
    struct alert_rule_cfg defaults[ALERT_RULE__COUNT];
    struct alert_override *overrides;
    size_t noverrides;
    struct alert_hook_cfg hook;
    struct alert_webhook_cfg *webhooks; /* webhooks: endpoints and their routes */
    size_t nwebhooks;
    double latitude_deg, longitude_deg; /* where the sun is computed (default Daejeon) */
    long tz_offset_s;                   /* from the top-level timezone: local hours */
};

/* Built-in defaults (alert_rule_infos[].defaults, Daejeon, UTC+9, no hook). */
void alert_config_defaults(struct alert_config *ac);

/* What an override's match: names. */
enum alert_match { ALERT_MATCH_PROGRAM, ALERT_MATCH_SITE, ALERT_MATCH_DEVICE };

/* Index of the program / site / device with this id among those already
 * loaded, or -1 when there is none. */
typedef int (*alert_find_id_fn)(const void *arg, enum alert_match what, const char *id);

/* Parses the `alerts:` mapping `map` (NULL: defaults only) into ac; overrides
 * name programs, sites and devices that find(find_arg, ...) turns into indices.
 * tz_offset_s: the configuration's timezone, seconds east of UTC.
 * Returns ENMON_OK, or ENMON_ERR_CONFIG / ENMON_ERR_NOMEM with d->err located. */
int alert_config_load(struct ydoc *d, struct fy_node *map, alert_find_id_fn find,
                      const void *find_arg, long tz_offset_s, struct alert_config *ac);

/* Frees what alert_config_load allocated inside ac (not ac itself). */
void alert_config_release(struct alert_config *ac);

/* The rule parameters of the device with index `device` in program `program`
 * and site `site`: the defaults, then overrides matching its program, then its
 * site, then the device (file order within each). */
void alert_config_resolve(const struct alert_config *ac, uint32_t program, uint32_t site,
                          uint32_t device, struct alert_rule_cfg out[ALERT_RULE__COUNT]);

#endif
