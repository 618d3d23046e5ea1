/* test_mqtt_sink.c -- the MQTT sink against a real broker, fed from a temporary SQLite store. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "clock.h"
#include "err.h"
#include "mqtt_sink.h"
#include "store.h"

#include <arpa/inet.h>
#include <cjson/cJSON.h>
#include <fcntl.h>
#include <mosquitto.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sqlite3.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#define BROKER "/usr/sbin/mosquitto"
#define MAX_MSGS 512
#define WAIT_MS 15000
#define T0 1717200000000LL /* 2024-06-01 00:00:00 UTC: reading timestamps, not the clock */

struct msg {
    char topic[256];
    char payload[1024];
    int retain;
};

/* What a test subscriber has received. */
struct inbox {
    pthread_mutex_t lock;
    struct msg msgs[MAX_MSGS];
    int n;
    int subscribed;
    char filter[128];
};

struct broker {
    char dir[64];
    char conf[128];
    int port;
    pid_t pid;
};

static struct broker broker;
static struct inbox inbox1, inbox2; /* static: the subscriber threads may outlive a failed test */
static struct cfg_program programs[1];
static struct cfg_site sites[1];
static struct cfg_device devices[2];
static struct enmon_config cfg;
static char dbdir[64];       /* one database per test: <dbdir>/<tag>.db */
static struct store *store;  /* commits the readings the sink reads back from the outbox */
static int64_t next_wall_ms; /* distinct reading timestamps */

static int free_port(void)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    if (fd < 0 || bind(fd, (struct sockaddr *)&a, sizeof(a)) != 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) != 0) {
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return ntohs(a.sin_port);
}

static int port_answers(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port),
                            .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    int ok = fd >= 0 && connect(fd, (struct sockaddr *)&a, sizeof(a)) == 0;
    if (fd >= 0)
        close(fd);
    return ok;
}

static void broker_start(void)
{
    broker.pid = fork();
    assert_true(broker.pid >= 0);
    if (broker.pid == 0) {
        char log[128];
        snprintf(log, sizeof(log), "%s/broker.log", broker.dir);
        int fd = open(log, O_WRONLY | O_CREAT | O_APPEND, 0600);
        if (fd >= 0) {
            dup2(fd, 1);
            dup2(fd, 2);
        }
        execl(BROKER, BROKER, "-c", broker.conf, (char *)NULL);
        _exit(127);
    }
    int64_t until = clock_mono_ms() + 5000;
    while (!port_answers(broker.port) && clock_mono_ms() < until)
        usleep(20000);
    assert_true(port_answers(broker.port));
}

static void broker_kill(void)
{
    if (broker.pid <= 0)
        return;
    kill(broker.pid, SIGTERM);
    waitpid(broker.pid, NULL, 0);
    broker.pid = 0;
}

static int group_setup(void **state)
{
    strcpy(dbdir, "/tmp/enmon-mqtt-db-XXXXXX");
    if (!mkdtemp(dbdir))
        return -1;
    if (access(BROKER, X_OK) != 0)
        return 0;
    strcpy(broker.dir, "/tmp/enmon-mqtt-test-XXXXXX");
    if (!mkdtemp(broker.dir))
        return -1;
    broker.port = free_port();
    snprintf(broker.conf, sizeof(broker.conf), "%s/mosquitto.conf", broker.dir);
    FILE *f = fopen(broker.conf, "w");
    if (!f || broker.port < 0)
        return -1;
    fprintf(f, "listener %d 127.0.0.1\nallow_anonymous true\n", broker.port);
    /* persistence keeps the test subscriber's session across a broker restart */
    fprintf(f, "persistence true\npersistence_location %s/\n", broker.dir);
    if (geteuid() == 0)
        fprintf(f, "user root\n"); /* else it drops to "mosquitto", which cannot write dir */
    fclose(f);
    mosquitto_lib_init();
    return 0;
}

static int group_teardown(void **state)
{
    broker_kill();
    if (broker.dir[0]) {
        static const char *const files[] = {"broker.log", "mosquitto.db", "mosquitto.db.new",
                                            "mosquitto.conf"};
        char path[160];
        for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
            snprintf(path, sizeof(path), "%s/%s", broker.dir, files[i]);
            unlink(path);
        }
        rmdir(broker.dir);
    }
    static const char *const tags[] = {"a", "b", "c", "d"};
    static const char *const ends[] = {"", "-wal", "-shm"};
    char path[160];
    for (size_t t = 0; t < sizeof(tags) / sizeof(tags[0]); t++) {
        for (size_t e = 0; e < sizeof(ends) / sizeof(ends[0]); e++) {
            snprintf(path, sizeof(path), "%s/%s.db%s", dbdir, tags[t], ends[e]);
            unlink(path);
        }
    }
    rmdir(dbdir);
    mosquitto_lib_cleanup();
    return 0;
}

static void config_init(int port, const char *tag)
{
    memset(&cfg, 0, sizeof(cfg));
    memset(devices, 0, sizeof(devices));
    strcpy(cfg.mqtt.host, "127.0.0.1");
    cfg.mqtt.port = port;
    snprintf(cfg.mqtt.topic_root, sizeof(cfg.mqtt.topic_root), "t%d-%s", (int)getpid(), tag);
    snprintf(cfg.mqtt.client_id, sizeof(cfg.mqtt.client_id), "enmond-test-%d", (int)getpid());
    snprintf(cfg.database, sizeof(cfg.database), "%s/%s.db", dbdir, tag);
    cfg.mqtt.keepalive_s = 10;
    cfg.mqtt.qos = 1;
    programs[0] =
        (struct cfg_program){.id = "solar-homes", .name = "Solar", .kind = PROGRAM_SOLAR};
    sites[0] = (struct cfg_site){.id = "home-01", .name = "Home 1", .program = 0};
    devices[0] = (struct cfg_device){
        .id = "home-01-pv", .name = "PV", .kind = DEVICE_INVERTER, .unit = 1, .capacity_w = 3000};
    devices[1] = (struct cfg_device){.id = "home-01-meter",
                                     .name = "Meter",
                                     .kind = DEVICE_METER,
                                     .unit = 2,
                                     .capacity_w = 9000};
    cfg.programs = programs;
    cfg.nprograms = 1;
    cfg.sites = sites;
    cfg.nsites = 1;
    cfg.devices = devices;
    cfg.ndevices = 2;
}

static void on_message(struct mosquitto *mosq, void *obj, const struct mosquitto_message *m)
{
    struct inbox *in = obj;
    pthread_mutex_lock(&in->lock);
    if (in->n < MAX_MSGS) {
        struct msg *d = &in->msgs[in->n++];
        snprintf(d->topic, sizeof(d->topic), "%s", m->topic);
        int len = m->payloadlen < (int)sizeof(d->payload) - 1 ? m->payloadlen
                                                              : (int)sizeof(d->payload) - 1;
        memcpy(d->payload, m->payload, (size_t)len);
        d->payload[len] = '\0';
        d->retain = m->retain;
    }
    pthread_mutex_unlock(&in->lock);
}

static void on_subscribe(struct mosquitto *mosq, void *obj, int mid, int n, const int *granted)
{
    struct inbox *in = obj;
    pthread_mutex_lock(&in->lock);
    in->subscribed = 1;
    pthread_mutex_unlock(&in->lock);
}

static void on_sub_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct inbox *in = obj;
    if (rc == 0)
        mosquitto_subscribe(mosq, NULL, in->filter, 1);
}

/* Connects a subscriber to <root>/# (QoS 1) and waits for the SUBACK. */
static struct mosquitto *subscribe(struct inbox *in, const char *id, int clean)
{
    memset(in, 0, sizeof(*in));
    pthread_mutex_init(&in->lock, NULL);
    snprintf(in->filter, sizeof(in->filter), "%s/#", cfg.mqtt.topic_root);
    struct mosquitto *s = mosquitto_new(id, clean != 0, in);
    assert_non_null(s);
    mosquitto_connect_callback_set(s, on_sub_connect);
    mosquitto_message_callback_set(s, on_message);
    mosquitto_subscribe_callback_set(s, on_subscribe);
    mosquitto_reconnect_delay_set(s, 1, 1, false);
    assert_int_equal(mosquitto_connect(s, "127.0.0.1", broker.port, 10), MOSQ_ERR_SUCCESS);
    assert_int_equal(mosquitto_loop_start(s), MOSQ_ERR_SUCCESS);
    int64_t until = clock_mono_ms() + WAIT_MS;
    int ok = 0;
    while (!ok && clock_mono_ms() < until) {
        pthread_mutex_lock(&in->lock);
        ok = in->subscribed;
        pthread_mutex_unlock(&in->lock);
        usleep(10000);
    }
    assert_true(ok);
    return s;
}

static void unsubscribe(struct mosquitto *s, struct inbox *in)
{
    mosquitto_disconnect(s);
    mosquitto_loop_stop(s, false);
    mosquitto_destroy(s);
    pthread_mutex_destroy(&in->lock);
}

/* Index of the first message at or after from with this topic suffix (and
 * payload, when not NULL), waiting up to WAIT_MS; -1 if none came. */
static int wait_for(struct inbox *in, int from, const char *suffix, const char *payload)
{
    char topic[256];
    snprintf(topic, sizeof(topic), "%s/%s", cfg.mqtt.topic_root, suffix);
    int64_t until = clock_mono_ms() + WAIT_MS;
    do {
        pthread_mutex_lock(&in->lock);
        for (int i = from; i < in->n; i++) {
            if (strcmp(in->msgs[i].topic, topic) == 0 &&
                (!payload || strcmp(in->msgs[i].payload, payload) == 0)) {
                pthread_mutex_unlock(&in->lock);
                return i;
            }
        }
        pthread_mutex_unlock(&in->lock);
        usleep(20000);
    } while (clock_mono_ms() < until);
    return -1;
}

static int count_topic(struct inbox *in, const char *suffix)
{
    char topic[256];
    snprintf(topic, sizeof(topic), "%s/%s", cfg.mqtt.topic_root, suffix);
    int n = 0;
    pthread_mutex_lock(&in->lock);
    for (int i = 0; i < in->n; i++)
        n += strcmp(in->msgs[i].topic, topic) == 0;
    pthread_mutex_unlock(&in->lock);
    return n;
}

static struct reading pv_reading(double power_w)
{
    struct reading r;
    memset(&r, 0, sizeof(r));
    r.device = 0;
    r.wall_ms = T0 + next_wall_ms;
    r.mono_ms = next_wall_ms;
    next_wall_ms += 1000;
    r.quality = READING_OK;
    r.online = 1;
    reading_set(&r, MEAS_POWER_W, power_w);
    reading_set(&r, MEAS_ENERGY_EXPORT_WH, 567890);
    reading_set(&r, MEAS_VOLTAGE_V, 229.5);
    return r;
}

static struct reading failed_reading(uint32_t device)
{
    struct reading r;
    memset(&r, 0, sizeof(r));
    r.device = device;
    r.wall_ms = T0 + next_wall_ms;
    next_wall_ms += 1000;
    r.quality = READING_FAILED;
    r.err = ENMON_ERR_TIMEOUT;
    r.online = 0;
    return r;
}

static double json_number(const char *text, const char *key)
{
    cJSON *j = cJSON_Parse(text);
    assert_non_null(j);
    const cJSON *item = cJSON_GetObjectItemCaseSensitive(j, key);
    assert_true(cJSON_IsNumber(item));
    double v = item->valuedouble;
    cJSON_Delete(j);
    return v;
}

#define STATE_PV "device/solar-homes/home-01/home-01-pv/state"
#define AVAIL_PV "device/solar-homes/home-01/home-01-pv/availability"
#define STATE_METER "device/solar-homes/home-01/home-01-meter/state"
#define AVAIL_METER "device/solar-homes/home-01/home-01-meter/availability"

/* Opens the store on cfg.database, then the sink on its outbox (as enmond does). */
static struct mqtt_sink *sink_start(void)
{
    struct mqtt_sink *m = NULL;
    char msg[256] = "";
    assert_int_equal(store_open(&cfg, &store, msg, sizeof(msg)), ENMON_OK);
    assert_int_equal(mqtt_sink_start_durable(&cfg, &m, msg, sizeof(msg)), ENMON_OK);
    assert_non_null(m);
    return m;
}

static void sink_stop(struct mqtt_sink *m)
{
    mqtt_sink_stop(m);
    store_close(store);
    store = NULL;
}

/* Hands a reading to the store (which commits it into the outbox: the state
 * message) and to the sink (availability), as enmond's sinks do. */
static int submit(struct mqtt_sink *m, const struct reading *r)
{
    assert_int_equal(store_submit(store, r), ENMON_OK);
    return mqtt_sink_submit(m, r);
}

/* Waits up to WAIT_MS until the store has committed want readings; returns how many it has. */
static uint64_t wait_written(uint64_t want)
{
    struct store_stats ss;
    int64_t until = clock_mono_ms() + WAIT_MS;
    do {
        store_get_stats(store, &ss);
        if (ss.written >= want)
            break;
        usleep(20000);
    } while (clock_mono_ms() < until);
    return ss.written;
}

/* Waits up to WAIT_MS for the outbox depth to reach want; returns the last seen. */
static int64_t wait_outbox_depth(struct mqtt_sink *m, int64_t want)
{
    struct mqtt_sink_stats st;
    int64_t until = clock_mono_ms() + WAIT_MS;
    do {
        mqtt_sink_get_stats(m, &st);
        if (st.outbox_depth == want)
            break;
        usleep(20000);
    } while (clock_mono_ms() < until);
    return st.outbox_depth;
}

/* State, availability and status arrive; failed polls publish no state. */
static void test_publishes_state_availability_status(void **state)
{
    if (!broker.dir[0])
        skip();
    broker_start();
    config_init(broker.port, "a");
    struct inbox *in = &inbox1;
    struct mosquitto *sub = subscribe(in, "sub-1", 1);
    struct mqtt_sink *m = sink_start();

    struct reading r = pv_reading(1234);
    assert_int_equal(submit(m, &r), ENMON_OK);
    r = failed_reading(1);
    assert_int_equal(submit(m, &r), ENMON_OK);

    assert_true(wait_for(in, 0, "status", "online") >= 0);
    assert_true(wait_for(in, 0, AVAIL_PV, "online") >= 0);
    assert_true(wait_for(in, 0, AVAIL_METER, "offline") >= 0);
    int i = wait_for(in, 0, STATE_PV, NULL);
    assert_true(i >= 0);
    assert_false(in->msgs[i].retain);
    assert_true(json_number(in->msgs[i].payload, "power_w") == 1234.0);
    assert_true(json_number(in->msgs[i].payload, "energy_export_wh") == 567890.0);
    assert_true(json_number(in->msgs[i].payload, "voltage_v") == 229.5);
    assert_int_equal(count_topic(in, STATE_METER), 0);

    /* unchanged availability is not published again; readings stay in order */
    int from = in->n;
    for (int k = 0; k < 50; k++) {
        r = pv_reading(k);
        assert_int_equal(submit(m, &r), ENMON_OK);
    }
    int last = wait_for(in, from, STATE_PV, NULL);
    for (int k = 0; k < 50; k++) {
        assert_true(last >= 0);
        assert_true(json_number(in->msgs[last].payload, "power_w") == (double)k);
        last = k < 49 ? wait_for(in, last + 1, STATE_PV, NULL) : last;
    }
    assert_int_equal(count_topic(in, AVAIL_PV), 1);

    /* a late subscriber gets the retained availability and status */
    struct inbox *late = &inbox2;
    struct mosquitto *sub2 = subscribe(late, "sub-2", 1);
    i = wait_for(late, 0, AVAIL_PV, "online");
    assert_true(i >= 0);
    assert_true(late->msgs[i].retain);
    i = wait_for(late, 0, AVAIL_METER, "offline");
    assert_true(i >= 0 && late->msgs[i].retain);
    i = wait_for(late, 0, "status", "online");
    assert_true(i >= 0 && late->msgs[i].retain);
    unsubscribe(sub2, late);

    struct mqtt_sink_stats st;
    mqtt_sink_get_stats(m, &st);
    assert_true(st.connected);
    assert_true(st.published >= 54);
    assert_int_equal(st.dropped, 0);

    sink_stop(m);
    i = wait_for(in, 0, "status", "offline");
    assert_true(i >= 0);
    unsubscribe(sub, in);
    broker_kill();
}

/* With the broker gone, submit never blocks; queued readings follow in order
 * once it is back, and status and availability are published again. */
static void test_broker_outage(void **state)
{
    if (!broker.dir[0])
        skip();
    broker_start();
    config_init(broker.port, "b");
    struct inbox *in = &inbox1;
    struct mosquitto *sub = subscribe(in, "sub-3", 0);
    struct mqtt_sink *m = sink_start();
    struct reading r = pv_reading(1);
    submit(m, &r);
    assert_true(wait_for(in, 0, STATE_PV, NULL) >= 0);
    assert_int_equal(wait_written(1), 1);
    usleep(600000); /* the depth is refreshed by the sink's next fetches (every <= 200 ms) */
    assert_int_equal(wait_outbox_depth(m, 0), 0); /* published, committed, acknowledged */

    broker_kill();
    struct mqtt_sink_stats st;
    int64_t until = clock_mono_ms() + 5000;
    do {
        usleep(20000);
        mqtt_sink_get_stats(m, &st);
    } while (st.connected && clock_mono_ms() < until);
    assert_false(st.connected);

    int64_t t0 = clock_mono_ms();
    for (int k = 0; k < 20; k++) {
        r = pv_reading(100 + k);
        assert_int_equal(submit(m, &r), ENMON_OK);
    }
    assert_true(clock_mono_ms() - t0 < 500);
    /* committed, not acknowledged: the 20 wait in the outbox (the first one was acknowledged) */
    assert_int_equal(wait_outbox_depth(m, 20), 20);

    int from = in->n;
    broker_start(); /* the subscriber's session survives; retained messages too */
    /* announced again after the reconnect: a live (not retained) status message */
    int i = from;
    do {
        i = wait_for(in, i, "status", "online");
        assert_true(i >= 0);
    } while (in->msgs[i++].retain);
    assert_true(wait_for(in, from, AVAIL_PV, "online") >= 0);
    /* the 20 queued readings follow in order (QoS 1 may repeat one, never skip) */
    int next = 100;
    for (i = from; next < 120; i++) {
        i = wait_for(in, i, STATE_PV, NULL);
        assert_true(i >= 0);
        double v = json_number(in->msgs[i].payload, "power_w");
        assert_true(v <= next);
        next += v == next;
    }
    sink_stop(m);
    unsubscribe(sub, in);
    broker_kill();
}

/* The live feed never waits on the database: with another writer holding the
 * lock, readings are published from memory at once; once the store commits
 * them the outbox cursor matches each row to its acknowledged live message and
 * moves the mark without publishing anything twice. */
static void test_live_feed_while_database_locked(void **state)
{
    if (!broker.dir[0])
        skip();
    broker_start();
    config_init(broker.port, "e");
    struct inbox *in = &inbox1;
    struct mosquitto *sub = subscribe(in, "sub-5", 1);
    struct mqtt_sink *m = sink_start();
    struct reading r = pv_reading(1);
    submit(m, &r);
    assert_true(wait_for(in, 0, STATE_PV, NULL) >= 0);
    assert_int_equal(wait_written(1), 1);
    usleep(600000); /* the depth is refreshed by the sink's next fetches (every <= 200 ms) */
    assert_int_equal(wait_outbox_depth(m, 0), 0); /* caught up: the next readings go live */

    sqlite3 *lock = NULL;
    assert_int_equal(sqlite3_open_v2(cfg.database, &lock, SQLITE_OPEN_READWRITE, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_exec(lock, "BEGIN EXCLUSIVE", NULL, NULL, NULL), SQLITE_OK);
    int from = in->n;
    int64_t t0 = clock_mono_ms();
    for (int k = 0; k < 10; k++) {
        r = pv_reading(200 + k);
        assert_int_equal(submit(m, &r), ENMON_OK);
    }
    /* all 10 arrive in order while nothing can be committed (the store waits 5 s) */
    int i = from;
    for (int k = 0; k < 10; k++) {
        i = wait_for(in, i, STATE_PV, NULL);
        assert_true(i >= 0);
        assert_true(json_number(in->msgs[i].payload, "power_w") == 200.0 + k);
        i++;
    }
    assert_true(clock_mono_ms() - t0 < 3000);
    struct store_stats ss;
    store_get_stats(store, &ss);
    assert_int_equal(ss.written, 1); /* only the first reading, before the lock */

    assert_int_equal(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(lock);
    assert_int_equal(wait_written(11), 11);
    assert_int_equal(wait_outbox_depth(m, 0), 0);
    usleep(500000);
    assert_int_equal(count_topic(in, STATE_PV), 11); /* none published again from the outbox */
    sink_stop(m);
    unsubscribe(sub, in);
    broker_kill();
}

/* No broker at all: start succeeds, submit does not block, stop is bounded. */
static void test_no_broker(void **state)
{
    config_init(free_port(), "c");
    struct mqtt_sink *m = sink_start();
    int64_t t0 = clock_mono_ms();
    for (int k = 0; k < 1000; k++) {
        struct reading r = pv_reading(5);
        assert_int_equal(submit(m, &r), ENMON_OK);
    }
    assert_true(clock_mono_ms() - t0 < 500);
    struct mqtt_sink_stats st;
    mqtt_sink_get_stats(m, &st);
    assert_false(st.connected);
    assert_int_equal(st.dropped, 0);
    assert_int_equal(wait_outbox_depth(m, 1000), 1000); /* all committed, none published */
    t0 = clock_mono_ms();
    sink_stop(m);
    assert_true(clock_mono_ms() - t0 < 5000);
}

static void test_bad_password_file(void **state)
{
    config_init(1883, "d");
    strcpy(cfg.mqtt.username, "enmon");
    strcpy(cfg.mqtt.password_file, "/nonexistent/enmon-password");
    struct mqtt_sink *m = NULL;
    char msg[256] = "";
    assert_int_equal(store_open(&cfg, &store, msg, sizeof(msg)), ENMON_OK);
    assert_int_equal(mqtt_sink_start_durable(&cfg, &m, msg, sizeof(msg)), ENMON_ERR_MQTT);
    assert_null(m);
    assert_non_null(strstr(msg, "/nonexistent/enmon-password"));
    store_close(store);
    store = NULL;
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_publishes_state_availability_status),
        cmocka_unit_test(test_broker_outage),
        cmocka_unit_test(test_live_feed_while_database_locked),
        cmocka_unit_test(test_no_broker),
        cmocka_unit_test(test_bad_password_file),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
