/* ha_discovery.c -- Home Assistant MQTT discovery: sensor configs per device (pure) and their
 * publishing, again whenever Home Assistant announces itself online. */
#include "ha_discovery.h"

#include "err.h"
#include "log.h"
#include "mqtt_client.h"
#include "payload.h"
#include "regmap.h"

#include <mosquitto.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const struct ha_sensor power = {"power",       "Power", "power_w", "power",
                                       "measurement", "W",     1.0};
static const struct ha_sensor produced = {"energy_export",
                                          "Energy produced",
                                          "energy_export_wh",
                                          "energy",
                                          "total_increasing",
                                          "kWh",
                                          0.001};
static const struct ha_sensor imported = {"energy_import",
                                          "Energy imported",
                                          "energy_import_wh",
                                          "energy",
                                          "total_increasing",
                                          "kWh",
                                          0.001};
static const struct ha_sensor exported = {"energy_export",
                                          "Energy exported",
                                          "energy_export_wh",
                                          "energy",
                                          "total_increasing",
                                          "kWh",
                                          0.001};
/* HA's sensor rules: voltage V, current A, frequency Hz, power_factor without a unit (the
 * value is -1..1), temperature degrees Celsius; all state class measurement. */
static const struct ha_sensor voltage = {"voltage",     "Voltage", "voltage_v", "voltage",
                                         "measurement", "V",       1.0};
static const struct ha_sensor current = {"current",     "Current", "current_a", "current",
                                         "measurement", "A",       1.0};
static const struct ha_sensor frequency = {
    "frequency", "Frequency", "frequency_hz", "frequency", "measurement", "Hz", 1.0};
static const struct ha_sensor power_factor = {
    "power_factor", "Power factor", "power_factor", "power_factor", "measurement", NULL, 1.0};
static const struct ha_sensor temperature = {
    "temperature", "Temperature", "temperature_c", "temperature", "measurement", "\u00b0C", 1.0};

static const struct ha_sensor leakage = {
    "leakage", "Leakage current", "leakage_ma", "current", "measurement", "mA", 1.0};
static const struct ha_sensor enclosure = {"temperature",
                                           "Enclosure temperature",
                                           "temperature_c",
                                           "temperature",
                                           "measurement",
                                           "\u00b0C",
                                           1.0};

int ha_sensors(const struct enmon_config *cfg, uint32_t dev, struct ha_sensor *out)
{
    if (dev >= cfg->ndevices)
        return 0;
    if (cfg->devices[dev].kind == DEVICE_SENSOR) {
        out[0] = leakage;
        out[1] = enclosure;
        return 2;
    }
    int n = 0;
    out[n++] = power;
    if (cfg->devices[dev].kind == DEVICE_INVERTER) {
        out[n++] = produced;
    } else {
        out[n++] = imported;
        out[n++] = exported;
    }
    out[n++] = voltage;
    out[n++] = current;
    out[n++] = frequency;
    out[n++] = power_factor;
    out[n++] = temperature;
    return n;
}

/* The measurement whose state JSON key is key, or -1. */
static int meas_of_key(const char *key)
{
    for (int m = 0; m < MEAS__ALL; m++)
        if (strcmp(reading_meas_name((enum meas)m), key) == 0)
            return m;
    return -1;
}

/* Whether the device implements the sensor's measurement (ha_sensors_implemented). */
static int implemented(const struct cfg_device *d, uint32_t seen, const struct ha_sensor *s)
{
    int m = meas_of_key(s->key);
    if (m < 0)
        return 0;
    if (d->map) {
        for (size_t i = 0; i < d->map->npoints; i++)
            if (d->map->points[i].meas == m)
                return 1;
        return 0;
    }
    return m == MEAS_POWER_W || (m < 32 && (seen >> m) & 1u);
}

int ha_sensors_implemented(const struct enmon_config *cfg, uint32_t dev, uint32_t seen,
                           struct ha_sensor *out)
{
    struct ha_sensor all[HA_SENSORS_MAX];
    int n = ha_sensors(cfg, dev, all), k = 0;
    if (n > 0 && cfg->devices[dev].kind != DEVICE_INVERTER &&
        cfg->devices[dev].kind != DEVICE_METER) {
        memcpy(out, all, (size_t)n * sizeof(all[0])); /* other kinds: their fixed set */
        return n;
    }
    for (int i = 0; i < n; i++)
        if (implemented(&cfg->devices[dev], seen, &all[i]))
            out[k++] = all[i];
    return k;
}

int ha_config_topic(const struct enmon_config *cfg, uint32_t dev, const struct ha_sensor *s,
                    char *buf, size_t len)
{
    if (dev >= cfg->ndevices)
        return -1;
    int n =
        snprintf(buf, len, HA_PREFIX "/sensor/enmon_%s/%s/config", cfg->devices[dev].id, s->object);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

/* The value template: the key scaled, or None (HA: unknown) when the reading lacks it. */
static void value_template(const struct ha_sensor *s, char *buf, size_t len)
{
    if (s->scale == 1.0)
        snprintf(buf, len, "{{ value_json.%s if value_json.%s is defined else None }}", s->key,
                 s->key);
    else
        snprintf(buf, len,
                 "{{ (value_json.%s * %g) | round(3) if value_json.%s is defined else None }}",
                 s->key, s->scale, s->key);
}

/* ,"sn":"...","sw":"..." from the SunSpec common model, or "" when unknown. */
static int ident_fields(const struct sunspec_common *ident, char *buf, size_t len)
{
    char sn[4 * sizeof(ident->serial) + 3], sw[4 * sizeof(ident->version) + 3];
    buf[0] = '\0';
    if (!ident || !ident->manufacturer[0])
        return 0;
    if (payload_json_string(ident->serial, sn, sizeof(sn)) < 0 ||
        payload_json_string(ident->version, sw, sizeof(sw)) < 0)
        return -1;
    int n = snprintf(buf, len, ",\"sn\":%s,\"sw\":%s", sn, sw);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

/* HA's device block: manufacturer, model, serial and version from the device's SunSpec
 * common model when it has been read (ident), else from its register map or its kind. */
static int device_info(const struct enmon_config *cfg, uint32_t dev,
                       const struct sunspec_common *ident, char *buf, size_t len)
{
    const struct cfg_device *d = &cfg->devices[dev];
    char name[8 * CFG_NAME_MAX], model[8 * CFG_NAME_MAX], mf[8 * CFG_NAME_MAX] = "\"\"";
    char area[8 * CFG_NAME_MAX] = "\"\"", extra[256];
    const char *kind = d->kind == DEVICE_INVERTER ? "SunSpec inverter"
                       : d->kind == DEVICE_SENSOR ? "pole sensor"
                                                  : "SunSpec meter";
    int known = ident && ident->manufacturer[0];
    const char *mdl = known ? ident->model : d->map ? d->map->model : kind;
    const char *maker = known ? ident->manufacturer : d->map ? d->map->manufacturer : NULL;
    const struct cfg_site *site = d->site < cfg->nsites ? &cfg->sites[d->site] : NULL;
    if (payload_json_string(d->name[0] ? d->name : d->id, name, sizeof(name)) < 0 ||
        payload_json_string(mdl, model, sizeof(model)) < 0 ||
        (maker && payload_json_string(maker, mf, sizeof(mf)) < 0) ||
        ident_fields(ident, extra, sizeof(extra)) < 0 ||
        (site &&
         payload_json_string(site->name[0] ? site->name : site->id, area, sizeof(area)) < 0))
        return -1;
    int n = snprintf(buf, len, "{\"ids\":[\"enmon_%s\"],\"name\":%s,\"mdl\":%s%s%s%s,\"sa\":%s}",
                     d->id, name, model, maker ? ",\"mf\":" : "", maker ? mf : "", extra, area);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

/* HA's entity id part: lower case letters, digits and "_" (every other character). */
static void entity_slug(const char *s, char *out, size_t len)
{
    size_t k = 0;
    for (; *s && k + 1 < len; s++) {
        char c = *s >= 'A' && *s <= 'Z' ? (char)(*s - 'A' + 'a') : *s;
        out[k++] = (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ? c : '_';
    }
    out[k] = '\0';
}

int ha_config_json(const struct enmon_config *cfg, uint32_t dev, const struct ha_sensor *s,
                   const struct sunspec_common *ident, char *buf, size_t len)
{
    char base[PAYLOAD_TOPIC_MAX], status[PAYLOAD_TOPIC_MAX], tpl[256], info[2048];
    char slug[2 * CFG_ID_MAX], unit[48] = "";
    if (dev >= cfg->ndevices || payload_state_topic(cfg, dev, base, sizeof(base)) < 0 ||
        payload_status_topic(cfg->mqtt.topic_root, status, sizeof(status)) < 0 ||
        device_info(cfg, dev, ident, info, sizeof(info)) < 0)
        return -1;
    base[strlen(base) - strlen("/state")] = '\0';
    value_template(s, tpl, sizeof(tpl));
    const char *id = cfg->devices[dev].id;
    entity_slug(id, slug, sizeof(slug));
    if (s->unit)
        snprintf(unit, sizeof(unit), ",\"unit_of_meas\":\"%s\"", s->unit);
    int n = snprintf(
        buf, len,
        "{\"~\":\"%s\",\"name\":\"%s\",\"uniq_id\":\"enmon_%s_%s\","
        "\"default_entity_id\":\"sensor.enmon_%s_%s\",\"stat_t\":\"~/state\",\"val_tpl\":\"%s\","
        "\"dev_cla\":\"%s\",\"stat_cla\":\"%s\"%s,\"avty\":[{\"t\":\"%s\"},"
        "{\"t\":\"~/availability\"},{\"t\":\"~/state\",\"val_tpl\":\"{{ 'online' if "
        "value_json.%s is defined else 'offline' }}\"}],\"avty_mode\":\"all\",\"dev\":%s,"
        "\"o\":{\"name\":\"enmon\",\"sw\":\"" ENMON_VERSION "\",\"url\":\"" ENMON_SUPPORT_URL
        "\"}}",
        base, s->name, id, s->object, slug, s->object, tpl, s->device_class, s->state_class, unit,
        status, s->key, info);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

void ha_publisher_restart(struct ha_publisher *p)
{
    memset(p, 0, sizeof(*p));
}

/* Queues the config of one sensor: 1 queued (or skipped as unpublishable), 0 queue full. */
static int publish_one(const struct enmon_config *cfg, struct mqtt_sink *m, uint32_t dev,
                       const struct ha_sensor *s, const struct sunspec_common *ident)
{
    char topic[PAYLOAD_TOPIC_MAX], json[HA_PAYLOAD_MAX];
    if (ha_config_topic(cfg, dev, s, topic, sizeof(topic)) < 0 ||
        ha_config_json(cfg, dev, s, ident, json, sizeof(json)) < 0) {
        static struct log_limit lim; /* the dash thread only */
        log_limited(&lim, 60, LOG_WARNING, "ha discovery: config of %s/%s does not fit; skipped",
                    cfg->devices[dev].id, s->object);
        return 1;
    }
    return mqtt_sink_publish(m, topic, json, 1) == ENMON_ERR_FULL ? 0 : 1;
}

/* Empty retained configs for the sensors of the device's kind not among its n implemented
 * ones (have): 1 queued, 0 queue full. */
static int publish_removals(const struct enmon_config *cfg, struct mqtt_sink *m, uint32_t dev,
                            const struct ha_sensor *have, int n)
{
    struct ha_sensor all[HA_SENSORS_MAX];
    char topic[PAYLOAD_TOPIC_MAX];
    int nall = ha_sensors(cfg, dev, all);
    for (int i = 0; i < nall; i++) {
        int k = 0;
        while (k < n && strcmp(have[k].object, all[i].object) != 0)
            k++;
        if (k == n && ha_config_topic(cfg, dev, &all[i], topic, sizeof(topic)) >= 0 &&
            mqtt_sink_publish(m, topic, "", 1) == ENMON_ERR_FULL)
            return 0;
    }
    return 1;
}

int ha_publish_device(const struct enmon_config *cfg, struct mqtt_sink *m, uint32_t dev,
                      const struct sunspec_common *ident, uint32_t seen)
{
    struct ha_sensor s[HA_SENSORS_MAX];
    int n = dev < cfg->ndevices ? ha_sensors_implemented(cfg, dev, seen, s) : 0;
    for (int i = 0; i < n; i++)
        if (!publish_one(cfg, m, dev, &s[i], ident))
            return 0;
    return n > 0 && (cfg->devices[dev].map || seen) ? publish_removals(cfg, m, dev, s, n) : 1;
}

int ha_publish_some(const struct enmon_config *cfg, struct mqtt_sink *m, struct ha_publisher *p,
                    const struct sunspec_common *idents, const _Atomic uint32_t *seen, int max)
{
    int sent = 0;
    struct ha_sensor s[HA_SENSORS_MAX];
    while (!p->done && sent < max) {
        if (p->device >= cfg->ndevices) {
            p->done = 1;
            break;
        }
        int n = ha_sensors_implemented(cfg, p->device, seen ? atomic_load(&seen[p->device]) : 0, s);
        if (p->sensor >= n) {
            p->device++;
            p->sensor = 0;
            continue;
        }
        if (!publish_one(cfg, m, p->device, &s[p->sensor], idents ? &idents[p->device] : NULL))
            break;
        p->sensor++;
        sent++;
    }
    return sent;
}

/* ---- homeassistant/status ------------------------------------------------------------ */

struct ha_watch {
    struct mosquitto *mosq;
    int loop_started;
    atomic_int online;
};

static void on_connect(struct mosquitto *mosq, void *ctx, int rc)
{
    if (rc == 0)
        mosquitto_subscribe(mosq, NULL, HA_STATUS_TOPIC, 1);
}

static void on_message(struct mosquitto *mosq, void *ctx, const struct mosquitto_message *msg)
{
    struct ha_watch *w = ctx;
    if (msg->payloadlen == 6 && memcmp(msg->payload, "online", 6) == 0)
        atomic_store(&w->online, 1);
}

int ha_watch_start(const struct enmon_config *cfg, struct ha_watch **out)
{
    char id[MQTT_CLIENT_ID_MAX], msg[256] = "client id too long";
    struct ha_watch *w = calloc(1, sizeof(*w));
    *out = NULL;
    if (!w)
        return ENMON_ERR_NOMEM;
    const struct mqtt_client_opts o = {.client_id = id, .userdata = w};
    if (mqtt_client_id(cfg->mqtt.client_id, "ha", id, sizeof(id)) < 0 ||
        mqtt_client_new(&cfg->mqtt, &o, &w->mosq, msg, sizeof(msg)) != ENMON_OK) {
        log_warn("ha discovery: %s", msg);
        ha_watch_stop(w);
        return ENMON_ERR_MQTT;
    }
    mosquitto_connect_callback_set(w->mosq, on_connect);
    mosquitto_message_callback_set(w->mosq, on_message);
    /* a failed first connect is left to the network thread's reconnects */
    mqtt_client_connect_async(w->mosq, &cfg->mqtt);
    if (mosquitto_loop_start(w->mosq) != MOSQ_ERR_SUCCESS) {
        ha_watch_stop(w);
        return ENMON_ERR_MQTT;
    }
    w->loop_started = 1;
    *out = w;
    return ENMON_OK;
}

int ha_watch_take(struct ha_watch *w)
{
    return w ? atomic_exchange(&w->online, 0) : 0;
}

void ha_watch_stop(struct ha_watch *w)
{
    if (!w)
        return;
    mqtt_client_destroy(w->mosq, w->loop_started);
    free(w);
}
