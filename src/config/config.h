/* config.h -- enmond configuration: the YAML file as C structs, with located errors. */
#ifndef ENMON_CONFIG_H
#define ENMON_CONFIG_H

#include "cfg_error.h"

#include <stddef.h>
#include <stdint.h>

#define CFG_NAME_MAX 128
/* storage.retry_buffer_readings default: over 10 minutes of config/city (10,217 devices at
 * 60 s and 1,216 at 5 s: 10,217 x 10 + 1,216 x 120 = 248,090 readings per 10 minutes). */
#define CFG_RETRY_BUFFER_DEFAULT 250000
#define CFG_READINGS_DAYS_DEFAULT 35
#define CFG_ALERTS_DAYS_DEFAULT 365
#define CFG_RETENTION_DAYS_MAX 36600 /* 100 years */

enum program_kind {
    PROGRAM_SOLAR,
    PROGRAM_AMI,
    PROGRAM_LED_RETROFIT,
    PROGRAM_EFFICIENCY,
    PROGRAM_DEMAND_RESPONSE,
    PROGRAM_GRID_SAFETY, /* pole leakage sensors: alerts only, no savings figures */
};

enum device_kind {
    DEVICE_INVERTER, /* SunSpec inverter (models 101-103, 111-113) */
    DEVICE_METER,    /* SunSpec meter (models 201-204, 211-214) */
    DEVICE_SENSOR,   /* pole sensor: leakage current, temperature, tilt, door (a map only) */
};

enum link_kind {
    LINK_TCP, /* tcp://HOST:PORT */
    LINK_RTU, /* rtu:/dev/ttyUSB0?baud=9600&parity=N&data=8&stop=1 */
};

struct regmap;       /* regmap.h: a register map loaded from a YAML file */
struct alert_config; /* alert_config.h: the alerts: section */

struct cfg_mqtt {
    char host[256];
    int port;                   /* default 1883 */
    char topic_root[64];        /* default "enmon" */
    char client_id[64];         /* default "enmond" */
    char username[64];          /* optional */
    char password_file[CFG_PATH_MAX]; /* optional: password read from this file */
    int keepalive_s;            /* default 30 */
    int qos;                    /* default 1 */
    int summary_interval_ms;    /* program summaries every ..., default 10000; 0 = off */
    int ha_discovery;           /* Home Assistant discovery configs, default 0 */
    char cafile[CFG_PATH_MAX];   /* TLS when set: CA certificate(s) the broker must chain to */
    char certfile[CFG_PATH_MAX]; /* optional TLS client certificate (PEM) */
    char keyfile[CFG_PATH_MAX];  /* its private key (PEM) */
    int tls_insecure;            /* skip the broker host name check, default 0 */
    long outbox_max;             /* readings kept unpublished at most, default 1000000 */
};

/* The storage: section: how the store rides out a database it cannot write. */
struct cfg_storage {
    long retry_buffer_readings; /* readings held in memory while commits fail, default 250000 */
    /* Retention, in days before the store's (simulated) now; 0 keeps everything. */
    int readings_days;  /* raw readings, default 35 */
    int intervals_days; /* 15-minute intervals, default 0 (kept) */
    int daily_days;     /* daily rollups, default 0 (kept) */
    int alerts_days;    /* cleared alerts, by their clear time, default 365 */
};

/* The historian: section: the collector's SQLite file forwarded to PostgreSQL (docs/SCALING.md). */
struct cfg_historian {
    char url[512];                    /* postgresql://user@host:port/db; "" = no historian */
    char sslmode[16];                 /* default "verify-full"; disable, require, verify-ca */
    char cafile[CFG_PATH_MAX];        /* CA the server's certificate must chain to (verify-*) */
    char password_file[CFG_PATH_MAX]; /* optional: password read from this file */
    int interval_ms;                  /* pause between two forwarding passes, default 5000 */
};

/* The http: section: enmond's REST API, /metrics and the live dashboard. */
struct cfg_http {
    char listen[64];               /* address, default "127.0.0.1" */
    int port;                      /* default 8080; 0 = no HTTP server */
    char token_file[CFG_PATH_MAX]; /* optional: bearer token read from this file */
    char web_root[CFG_PATH_MAX];   /* dashboard files; "" = installed or source web/ */
    int max_connections;           /* all connections at once, default 1000 */
    int connections_per_address;   /* per client address, default 32; 0 = no limit */
    int max_streams;               /* /api/live streams at once, default 500 */
    int allow_anonymous;           /* a non-loopback listen without token_file is allowed */
    int metrics_per_device;        /* /metrics: series per device (default 1), else per program */
    char cors_origin[256];         /* Access-Control-Allow-Origin of /api and /metrics; "" none */
};

struct cfg_program {
    char id[CFG_ID_MAX];
    char name[CFG_NAME_MAX];
    enum program_kind kind;
};

struct cfg_site {
    char id[CFG_ID_MAX];
    char name[CFG_NAME_MAX];
    uint32_t program; /* index into programs */
};

struct cfg_link {
    char uri[160]; /* as written: "tcp://host:port" or "rtu:/dev/ttyS0?baud=9600..." */
    enum link_kind kind;
    char host[128]; /* TCP host, or the RTU serial device path */
    int port;       /* TCP port */
    int baud;       /* RTU: default 9600 */
    char parity;    /* RTU: 'N', 'E' or 'O' (default 'N') */
    int data_bits;  /* RTU: 7 or 8 (default 8) */
    int stop_bits;  /* RTU: 1 or 2 (default 1) */
    int connect_pause_ms; /* wait after connecting before the first request (max of its devices) */
    uint32_t collector;   /* 1 + index into collectors of the one that polls it; 0 = none */
};

struct cfg_device {
    char id[CFG_ID_MAX];
    char name[CFG_NAME_MAX];
    uint32_t site;    /* index into sites */
    uint32_t program; /* index into programs (the site's) */
    uint32_t link;    /* index into links; devices with the same URI share one */
    enum device_kind kind;
    int unit;            /* Modbus unit id 1..247 (0 allowed for TCP) */
    double capacity_w;   /* rated AC power (inverters) or main fuse power (meters); 0 unknown */
    int interval_ms;     /* poll interval */
    int timeout_ms;      /* response timeout */
    int retries;         /* extra tries per request before the poll fails */
    int sunspec_base;    /* SunSpec base address, -1 = discover (40000, 0, 50000) */
    int sunspec_device;  /* which device of a chain holding several (1-based, default 1) */
    int pf_percent;      /* SunSpec: the device sends PF in percent where its model says -1..1 */
    const struct regmap *map; /* non-SunSpec register map, NULL for SunSpec devices */
    int max_regs;        /* largest read (1..125, default 125) */
    int max_gap;         /* unused registers a merged read may span (default 8) */
    int pause_ms;        /* pause between two requests to this device (default 0) */
    int welfare;         /* household flagged for welfare inactivity alerts */
    int storage;         /* meter of a battery (ESS): it exports while discharging */
    int64_t commissioned; /* UTC epoch seconds, 0 = unknown */
    int64_t retrofit;     /* UTC epoch seconds of an LED retrofit, 0 = none */
    int line;            /* line of the device entry in the config file */
};

struct enmon_config {
    char path[CFG_PATH_MAX];
    struct cfg_mqtt mqtt;
    struct cfg_http http;
    struct cfg_storage storage;
    struct cfg_historian historian;
    char database[CFG_PATH_MAX]; /* default "/var/lib/enmond/enmon.db" */
    char timezone[64];           /* default "Asia/Seoul" */
    int utc_offset_min;          /* the timezone resolved at load: minutes east of UTC */
    int workers;                 /* poll worker threads, default 4 */
    int offline_after;           /* failed polls before a device is offline, default 3 */
    int default_interval_ms;     /* default 5000 */
    int default_timeout_ms;      /* default 1000 */
    int default_retries;         /* default 1 */
    struct cfg_program *programs;
    size_t nprograms;
    struct cfg_site *sites;
    size_t nsites;
    struct cfg_device *devices;
    size_t ndevices;
    struct cfg_link *links;
    size_t nlinks;
    struct regmap **maps; /* every map file loaded, once each */
    size_t nmaps;
    struct alert_config *alerts; /* the alerts: section with defaults; NULL when built by hand */
    /* Collectors (docs/SCALING.md): names declared by collectors:, this instance's name
     * (top-level collector:, or enmond --collector), and the lines of both keys. */
    char (*collectors)[CFG_ID_MAX];
    size_t ncollectors;
    char collector[CFG_ID_MAX]; /* "" = none */
    int collectors_line, collector_line;
};

/* Loads and validates path. On success returns ENMON_OK and *out (free with
 * config_free). On failure returns ENMON_ERR_CONFIG (or ENMON_ERR_IO) and fills err. */
int config_load(const char *path, struct enmon_config **out, struct cfg_error *err);

void config_free(struct enmon_config *cfg);

/* cfg->utc_offset_min; Korea time (+09:00) for a config built by hand without a timezone. */
int config_utc_offset_min(const struct enmon_config *cfg);

/* Formats err as "FILE:LINE: FIELD: MSG" into buf. */
void config_format_error(const struct cfg_error *err, char *buf, size_t len);

/* Kind names in enum order, NULL-terminated (kinds.c). */
extern const char *const config_program_kind_names[];
extern const char *const config_device_kind_names[];

/* The one spelling of each kind, as written in the config, stored and printed
 * ("led-retrofit", "inverter"); "unknown" for a value out of range. */
const char *config_program_kind_name(enum program_kind kind);
const char *config_device_kind_name(enum device_kind kind);

/* The kind spelt s (as config_program_kind_name prints it). ENMON_OK or ENMON_ERR_PARSE. */
int config_program_kind_parse(const char *s, enum program_kind *out);

#endif
