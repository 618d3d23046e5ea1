/* ha_discovery.h -- Home Assistant MQTT discovery: sensor configs per device (pure) and their
 * publishing, again whenever Home Assistant announces itself online. */
#ifndef ENMON_HA_DISCOVERY_H
#define ENMON_HA_DISCOVERY_H

#include "config.h"
#include "mqtt_sink.h"
#include "sunspec.h"

#include <stddef.h>
#include <stdint.h>

#define HA_PREFIX "homeassistant"
#define HA_STATUS_TOPIC HA_PREFIX "/status"
#define HA_PAYLOAD_MAX 1536 /* what mqtt_sink_publish carries (SINK_MSG_MAX) */
#define HA_SENSORS_MAX 8

/* The sensors of a device: inverters power and energy produced; meters power (net
 * import), energy imported and energy exported; pole sensors leakage current (mA) and
 * enclosure temperature. */
struct ha_sensor {
    const char *object;       /* object id: "power", "energy_import", "energy_export" */
    const char *name;         /* entity name: "Power", "Energy imported" ... */
    const char *key;          /* state JSON key: "power_w", "energy_import_wh" ... */
    const char *device_class; /* "power" or "energy" */
    const char *state_class;  /* "measurement" or "total_increasing" */
    const char *unit;         /* "W", "kWh", "V" ...; NULL: none (power factor) */
    double scale;             /* state value x scale = sensor value (Wh -> kWh: 0.001) */
};

/* Inverters and meters also have voltage, current, frequency, power factor and temperature
 * sensors when they implement the point (ha_sensors_implemented). */

/* Fills out (HA_SENSORS_MAX entries) with the sensors of cfg->devices[dev]'s kind; returns how
 * many. */
int ha_sensors(const struct enmon_config *cfg, uint32_t dev, struct ha_sensor *out);

/* The sensors of ha_sensors that the device implements: with a register map, those whose
 * measurement a point of the map feeds; a SunSpec device power (every SunSpec inverter and
 * meter model has W) and the measurements its readings have carried (seen: bits 1u << meas,
 * see dash_reading). Returns how many. */
int ha_sensors_implemented(const struct enmon_config *cfg, uint32_t dev, uint32_t seen,
                           struct ha_sensor *out);

/* "homeassistant/sensor/enmon_<device>/<object>/config". Returns the length or -1. */
int ha_config_topic(const struct enmon_config *cfg, uint32_t dev, const struct ha_sensor *s,
                    char *buf, size_t len);

/* The retained discovery config (JSON, HA's abbreviated keys): default_entity_id
 * "sensor.enmon_<device>_<object>" (lower case, other characters "_"), the origin block
 * (enmon, its version, ENMON_SUPPORT_URL), state topic and a
 * value_template that renders "None" (unknown) when the key is missing, availability from
 * enmond's status, the device's availability topic and the presence of the key in the
 * state (availability_mode all), stable unique_id, device info: manufacturer, model,
 * serial and version from ident (the device's SunSpec common model, NULL when not yet
 * read). Returns the length, or -1 when buf is too small or an id cannot be published. */
int ha_config_json(const struct enmon_config *cfg, uint32_t dev, const struct ha_sensor *s,
                   const struct sunspec_common *ident, char *buf, size_t len);

/* Publishes the configs of every device through the sink, a few per call so alerts keep
 * their room in the sink's message queue. */
struct ha_publisher {
    uint32_t device; /* next device */
    int sensor;      /* next sensor of it */
    int done;
};

void ha_publisher_restart(struct ha_publisher *p);

/* Queues up to max configs; stops early when the queue is full. Returns how many. seen: the
 * measurements each device's readings have carried (ha_sensors_implemented), or NULL. */
int ha_publish_some(const struct enmon_config *cfg, struct mqtt_sink *m, struct ha_publisher *p,
                    const struct sunspec_common *idents, const _Atomic uint32_t *seen, int max);

/* Queues every config of device dev (its SunSpec identity or a new measurement of its
 * readings now known) and, once what it implements is known (a register map, or seen != 0),
 * an empty retained config for each sensor of its kind it does not implement, which removes
 * one an older enmond announced: 1 done, 0 queue full. */
int ha_publish_device(const struct enmon_config *cfg, struct mqtt_sink *m, uint32_t dev,
                      const struct sunspec_common *ident, uint32_t seen);

/* A small MQTT client of its own ("<client_id>-ha", built by mqtt_client_new: the same TLS
 * and credentials as the sink), subscribed to homeassistant/status. */
struct ha_watch;

/* Connects to cfg->mqtt (asynchronously, reconnecting). ENMON_OK or ENMON_ERR_MQTT. */
int ha_watch_start(const struct enmon_config *cfg, struct ha_watch **out);

/* 1 once after Home Assistant published "online" on its status topic, else 0. */
int ha_watch_take(struct ha_watch *w);

void ha_watch_stop(struct ha_watch *w);

#endif
