/* test_mqtt_client.c -- the one MQTT client setup: option checks, keepalive and derived client
 * ids (pure), and the failures mqtt_client_new reports before any connection is tried. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "mqtt_client.h"

#include <mosquitto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static struct cfg_mqtt base(void)
{
    struct cfg_mqtt c;
    memset(&c, 0, sizeof(c));
    snprintf(c.host, sizeof(c.host), "127.0.0.1");
    c.port = 1883;
    snprintf(c.client_id, sizeof(c.client_id), "enmond");
    return c;
}

static void test_check(void **state)
{
    (void)state;
    char msg[256];
    struct cfg_mqtt c = base();
    assert_int_equal(mqtt_client_check(&c, msg, sizeof(msg)), ENMON_OK);
    c.host[0] = '\0';
    assert_int_equal(mqtt_client_check(&c, msg, sizeof(msg)), ENMON_ERR_CONFIG);
    assert_string_equal(msg, "mqtt host is empty");
    c = base();
    c.port = 0;
    assert_int_equal(mqtt_client_check(&c, msg, sizeof(msg)), ENMON_ERR_CONFIG);
    c.port = 65536;
    assert_int_equal(mqtt_client_check(&c, msg, sizeof(msg)), ENMON_ERR_CONFIG);
    assert_string_equal(msg, "mqtt port 65536 is not in 1..65535");
    c.port = 65535;
    assert_int_equal(mqtt_client_check(&c, msg, sizeof(msg)), ENMON_OK);
    /* a client certificate needs TLS, and its key */
    snprintf(c.certfile, sizeof(c.certfile), "/etc/enmon/enmond.crt");
    snprintf(c.keyfile, sizeof(c.keyfile), "/etc/enmon/enmond.key");
    assert_int_equal(mqtt_client_check(&c, msg, sizeof(msg)), ENMON_ERR_CONFIG);
    assert_non_null(strstr(msg, "need cafile"));
    snprintf(c.cafile, sizeof(c.cafile), "/etc/enmon/ca.crt");
    assert_int_equal(mqtt_client_check(&c, msg, sizeof(msg)), ENMON_OK);
    c.keyfile[0] = '\0';
    assert_int_equal(mqtt_client_check(&c, msg, sizeof(msg)), ENMON_ERR_CONFIG);
    assert_non_null(strstr(msg, "go together"));
}

static void test_keepalive(void **state)
{
    (void)state;
    struct cfg_mqtt c = base();
    assert_int_equal(mqtt_client_keepalive(&c), MQTT_CLIENT_KEEPALIVE_S); /* unset */
    c.keepalive_s = 5;
    assert_int_equal(mqtt_client_keepalive(&c), 5);
    c.keepalive_s = -1;
    assert_int_equal(mqtt_client_keepalive(&c), 30);
}

static void test_client_id(void **state)
{
    (void)state;
    char id[MQTT_CLIENT_ID_MAX], longest[64];
    assert_int_equal(mqtt_client_id("enmond", "ha", id, sizeof(id)), 9);
    assert_string_equal(id, "enmond-ha");
    /* the longest configured id (63) is cut to 60 so that "-ha" fits: 63 characters */
    memset(longest, 'x', sizeof(longest) - 1);
    longest[sizeof(longest) - 1] = '\0';
    assert_int_equal(mqtt_client_id(longest, "ha", id, sizeof(id)), 63);
    assert_memory_equal(id, longest, 60);
    assert_string_equal(id + 60, "-ha");
    assert_int_equal(mqtt_client_id("enmond", "ha", id, 9), -1); /* no room for the NUL */
    assert_int_equal(mqtt_client_id("enmond",
                                    "a-suffix-far-too-long-for-any-mqtt-client-id-"
                                    "that-anyone-would-choose",
                                    id, sizeof(id)),
                     -1);
}

static void test_new_plain(void **state)
{
    (void)state;
    char msg[256] = "";
    struct cfg_mqtt c = base();
    struct mosquitto *mosq = NULL;
    const struct mqtt_client_opts o = {.client_id = "test-client",
                                       .will_topic = "enmon/status",
                                       .will_payload = "offline",
                                       .will_qos = 1,
                                       .will_retain = 1};
    assert_int_equal(mqtt_client_new(&c, &o, &mosq, msg, sizeof(msg)), ENMON_OK);
    assert_non_null(mosq);
    mqtt_client_destroy(mosq, 0);
    mqtt_client_destroy(NULL, 0);
}

static void test_new_failures(void **state)
{
    (void)state;
    char msg[256];
    struct mosquitto *mosq = (struct mosquitto *)&msg; /* must be reset */
    const struct mqtt_client_opts o = {0};
    struct cfg_mqtt c = base();
    c.port = 0;
    assert_int_equal(mqtt_client_new(&c, &o, &mosq, msg, sizeof(msg)), ENMON_ERR_MQTT);
    assert_null(mosq);
    assert_non_null(strstr(msg, "port"));

    c = base();
    snprintf(c.cafile, sizeof(c.cafile), "/nonexistent/ca.crt");
    assert_int_equal(mqtt_client_new(&c, &o, &mosq, msg, sizeof(msg)), ENMON_ERR_MQTT);
    assert_null(mosq);
    assert_non_null(strstr(msg, "mqtt tls (cafile /nonexistent/ca.crt"));

    c = base();
    snprintf(c.username, sizeof(c.username), "enmond");
    snprintf(c.password_file, sizeof(c.password_file), "/nonexistent/mqtt.pass");
    assert_int_equal(mqtt_client_new(&c, &o, &mosq, msg, sizeof(msg)), ENMON_ERR_MQTT);
    assert_null(mosq);
    assert_non_null(strstr(msg, "mqtt password_file /nonexistent/mqtt.pass"));

    const struct mqtt_client_opts bad_will = {.will_topic = "enmon/#", .will_payload = "x"};
    c = base();
    assert_int_equal(mqtt_client_new(&c, &bad_will, &mosq, msg, sizeof(msg)), ENMON_ERR_MQTT);
    assert_null(mosq);
    assert_non_null(strstr(msg, "mqtt last will on enmon/#"));
}

/* The password is read from the first line of its file; it never appears in a message. */
static void test_password_file(void **state)
{
    (void)state;
    char path[] = "/tmp/test_mqtt_client_XXXXXX", msg[256] = "";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "s3cret-pw\r\nsecond line\n", 23), 23);
    close(fd);
    struct cfg_mqtt c = base();
    snprintf(c.username, sizeof(c.username), "enmond");
    snprintf(c.password_file, sizeof(c.password_file), "%s", path);
    struct mosquitto *mosq = NULL;
    const struct mqtt_client_opts o = {0};
    assert_int_equal(mqtt_client_new(&c, &o, &mosq, msg, sizeof(msg)), ENMON_OK);
    assert_null(strstr(msg, "s3cret"));
    mqtt_client_destroy(mosq, 0);
    unlink(path);
}

static void test_strerror(void **state)
{
    (void)state;
    assert_non_null(mqtt_client_strerror(MOSQ_ERR_SUCCESS));
    assert_string_equal(mqtt_client_strerror(MOSQ_ERR_INVAL), mosquitto_strerror(MOSQ_ERR_INVAL));
    assert_non_null(mqtt_client_strerror(12345));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),        cmocka_unit_test(test_keepalive),
        cmocka_unit_test(test_client_id),    cmocka_unit_test(test_new_plain),
        cmocka_unit_test(test_new_failures), cmocka_unit_test(test_password_file),
        cmocka_unit_test(test_strerror),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
