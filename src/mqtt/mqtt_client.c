/* mqtt_client.c -- the one way enmon connects to the MQTT broker: TLS, credentials, keepalive
 * and last will from the config's mqtt: section, for every client of enmond and the CLI. */
#include "mqtt_client.h"

#include "err.h"

#include <mosquitto.h>

#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#define PASSWORD_MAX 512

static pthread_once_t lib_once = PTHREAD_ONCE_INIT;

static void lib_init(void)
{
    mosquitto_lib_init();
}

static int fail(int err, char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Writes the reason into msg and returns err. */
static int fail(int err, char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return err;
}

/* ---- pure -------------------------------------------------------------------------- */

int mqtt_client_check(const struct cfg_mqtt *c, char *msg, size_t msglen)
{
    if (!c->host[0])
        return fail(ENMON_ERR_CONFIG, msg, msglen, "mqtt host is empty");
    if (c->port < 1 || c->port > 65535)
        return fail(ENMON_ERR_CONFIG, msg, msglen, "mqtt port %d is not in 1..65535", c->port);
    if (!c->cafile[0] && (c->certfile[0] || c->keyfile[0]))
        return fail(ENMON_ERR_CONFIG, msg, msglen, "mqtt certfile and keyfile need cafile (TLS)");
    if (!c->certfile[0] != !c->keyfile[0])
        return fail(ENMON_ERR_CONFIG, msg, msglen, "mqtt certfile and keyfile go together");
    return ENMON_OK;
}

int mqtt_client_keepalive(const struct cfg_mqtt *c)
{
    return c->keepalive_s > 0 ? c->keepalive_s : MQTT_CLIENT_KEEPALIVE_S;
}

int mqtt_client_id(const char *base, const char *suffix, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%.*s-%s", MQTT_CLIENT_ID_MAX - 4, base, suffix);
    return n < 0 || (size_t)n >= len || n >= MQTT_CLIENT_ID_MAX ? -1 : n;
}

/* ---- the client -------------------------------------------------------------------- */

/* Reads the first line of path (trailing CR/LF stripped) into buf. */
static int read_password(const char *path, char *buf, size_t len, char *msg, size_t msglen)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return fail(ENMON_ERR_MQTT, msg, msglen, "mqtt password_file %s: %s", path,
                    strerror(errno));
    if (!fgets(buf, (int)len, f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\r\n")] = '\0';
    return ENMON_OK;
}

static int set_credentials(struct mosquitto *mosq, const struct cfg_mqtt *c, char *msg,
                           size_t msglen)
{
    if (!c->username[0] && !c->password_file[0])
        return ENMON_OK;
    char password[PASSWORD_MAX] = "";
    if (c->password_file[0]) {
        int rc = read_password(c->password_file, password, sizeof(password), msg, msglen);
        if (rc != ENMON_OK)
            return rc;
    }
    int rc = mosquitto_username_pw_set(mosq, c->username[0] ? c->username : NULL,
                                       c->password_file[0] ? password : NULL);
    explicit_bzero(password, sizeof(password));
    if (rc != MOSQ_ERR_SUCCESS)
        return fail(ENMON_ERR_MQTT, msg, msglen, "mqtt credentials: %s", mqtt_client_strerror(rc));
    return ENMON_OK;
}

/* TLS when mqtt.cafile is set: the broker's certificate must chain to it (and match the
 * host name unless tls_insecure); certfile/keyfile add a client certificate. */
static int set_tls(struct mosquitto *mosq, const struct cfg_mqtt *c, char *msg, size_t msglen)
{
    if (!c->cafile[0])
        return ENMON_OK;
    int rc = mosquitto_tls_set(mosq, c->cafile, NULL, c->certfile[0] ? c->certfile : NULL,
                               c->keyfile[0] ? c->keyfile : NULL, NULL);
    if (rc == MOSQ_ERR_SUCCESS && c->tls_insecure)
        rc = mosquitto_tls_insecure_set(mosq, true);
    if (rc != MOSQ_ERR_SUCCESS)
        return fail(ENMON_ERR_MQTT, msg, msglen,
                    "mqtt tls (cafile %s, certfile %s, keyfile %s): %s", c->cafile,
                    c->certfile[0] ? c->certfile : "-", c->keyfile[0] ? c->keyfile : "-",
                    mqtt_client_strerror(rc));
    return ENMON_OK;
}

static int set_will(struct mosquitto *mosq, const struct mqtt_client_opts *o, char *msg,
                    size_t msglen)
{
    if (!o->will_topic)
        return ENMON_OK;
    const char *payload = o->will_payload ? o->will_payload : "";
    int rc = mosquitto_will_set(mosq, o->will_topic, (int)strlen(payload), payload, o->will_qos,
                                o->will_retain != 0);
    if (rc != MOSQ_ERR_SUCCESS)
        return fail(ENMON_ERR_MQTT, msg, msglen, "mqtt last will on %s: %s", o->will_topic,
                    mqtt_client_strerror(rc));
    return ENMON_OK;
}

int mqtt_client_new(const struct cfg_mqtt *c, const struct mqtt_client_opts *o,
                    struct mosquitto **out, char *msg, size_t msglen)
{
    *out = NULL;
    int err = mqtt_client_check(c, msg, msglen);
    if (err != ENMON_OK)
        return ENMON_ERR_MQTT;
    pthread_once(&lib_once, lib_init);
    const char *id = o->client_id && o->client_id[0] ? o->client_id : NULL;
    struct mosquitto *mosq = mosquitto_new(id, true, o->userdata);
    if (!mosq)
        return fail(ENMON_ERR_MQTT, msg, msglen, "mqtt client: %s", strerror(errno));
    mosquitto_reconnect_delay_set(mosq, 1, MQTT_CLIENT_RECONNECT_MAX_S, true);
    err = set_will(mosq, o, msg, msglen);
    if (err == ENMON_OK)
        err = set_tls(mosq, c, msg, msglen);
    if (err == ENMON_OK)
        err = set_credentials(mosq, c, msg, msglen);
    if (err != ENMON_OK) {
        mosquitto_destroy(mosq);
        return ENMON_ERR_MQTT;
    }
    *out = mosq;
    return ENMON_OK;
}

int mqtt_client_connect(struct mosquitto *mosq, const struct cfg_mqtt *c)
{
    return mosquitto_connect(mosq, c->host, c->port, mqtt_client_keepalive(c));
}

int mqtt_client_connect_async(struct mosquitto *mosq, const struct cfg_mqtt *c)
{
    return mosquitto_connect_async(mosq, c->host, c->port, mqtt_client_keepalive(c));
}

int mqtt_client_start(struct mosquitto *mosq, const struct cfg_mqtt *c)
{
    int rc = mqtt_client_connect_async(mosq, c);
    return rc == MOSQ_ERR_SUCCESS ? mosquitto_loop_start(mosq) : rc;
}

void mqtt_client_destroy(struct mosquitto *mosq, int loop_started)
{
    if (!mosq)
        return;
    if (loop_started) {
        mosquitto_disconnect(mosq);
        mosquitto_loop_stop(mosq, true);
    }
    mosquitto_destroy(mosq);
}

const char *mqtt_client_strerror(int rc)
{
    return mosquitto_strerror(rc);
}
