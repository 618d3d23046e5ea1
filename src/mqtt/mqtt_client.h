/* mqtt_client.h -- the one way enmon connects to the MQTT broker: TLS, credentials, keepalive
 * and last will from the config's mqtt: section, for every client of enmond and the CLI. */
#ifndef ENMON_MQTT_CLIENT_H
#define ENMON_MQTT_CLIENT_H

#include "config.h"

#include <stddef.h>

struct mosquitto;

#define MQTT_CLIENT_KEEPALIVE_S 30     /* when mqtt.keepalive is unset */
#define MQTT_CLIENT_RECONNECT_MAX_S 10 /* reconnect backoff: 1 s doubling up to this */
#define MQTT_CLIENT_ID_MAX 64          /* longest client id built by mqtt_client_id */

/* What differs between the clients of one configuration. */
struct mqtt_client_opts {
    const char *client_id;    /* NULL or "": libmosquitto picks a random id */
    void *userdata;           /* handed to the callbacks */
    const char *will_topic;   /* NULL: no last will */
    const char *will_payload; /* the will's payload (text) */
    int will_qos;
    int will_retain;
};

/* Checks what a connection needs: a host, a port in 1..65535, certfile and keyfile together
 * and only with cafile (TLS). Pure. ENMON_OK, or ENMON_ERR_CONFIG with the reason in msg. */
int mqtt_client_check(const struct cfg_mqtt *c, char *msg, size_t msglen);

/* mqtt.keepalive in seconds, or MQTT_CLIENT_KEEPALIVE_S when unset. Pure. */
int mqtt_client_keepalive(const struct cfg_mqtt *c);

/* "<base>-<suffix>" (base cut to fit MQTT_CLIENT_ID_MAX - 4 characters) into buf: the id of a
 * second client of the same program ("enmond-ha"). Pure. Returns the length or -1. */
int mqtt_client_id(const char *base, const char *suffix, char *buf, size_t len);

/* A libmosquitto client configured from c (mqtt_client_check first): TLS when c->cafile is set
 * (the broker's certificate must chain to it and name the host unless tls_insecure; certfile
 * and keyfile add a client certificate), username and the password read from password_file
 * (wiped after use), the last will and reconnect backoff of o. Not connected. ENMON_OK, or
 * ENMON_ERR_MQTT with the reason in msg (never the password). Free with mqtt_client_destroy. */
int mqtt_client_new(const struct cfg_mqtt *c, const struct mqtt_client_opts *o,
                    struct mosquitto **out, char *msg, size_t msglen);

/* Connects to c->host:c->port with c's keepalive: blocking (then drive it with
 * mosquitto_loop_start) or asynchronously (the TCP connect only; libmosquitto's loop does
 * the rest). Return a libmosquitto code: MOSQ_ERR_SUCCESS, MOSQ_ERR_INVAL for a bad host,
 * others that a later retry may cure; mqtt_client_strerror names them. */
int mqtt_client_connect(struct mosquitto *mosq, const struct cfg_mqtt *c);
int mqtt_client_connect_async(struct mosquitto *mosq, const struct cfg_mqtt *c);

/* mqtt_client_connect_async, then libmosquitto's network thread, which reconnects on its own
 * from then on. A libmosquitto code. */
int mqtt_client_start(struct mosquitto *mosq, const struct cfg_mqtt *c);

/* Disconnects, stops the network thread when loop_started (without waiting for it: a
 * client still retrying its connect is not waited for), and frees (mosq may be NULL). */
void mqtt_client_destroy(struct mosquitto *mosq, int loop_started);

/* A static text for a libmosquitto code (errno's text for MOSQ_ERR_ERRNO). */
const char *mqtt_client_strerror(int rc);

#endif
