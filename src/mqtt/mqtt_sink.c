/* mqtt_sink.c -- publishes readings, availability and daemon status over MQTT (libmosquitto). */
#include "mqtt_sink.h"
#include "clock.h"
#include "outbox.h"
#include "err.h"
#include "inflight.h"
#include "log.h"
#include "mqtt_client.h"
#include "payload.h"
#include "queue.h"

#include <mosquitto.h>

#include <errno.h>
#include <stdarg.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SINK_QUEUE_CAP 100000   /* readings waiting while the broker is away */
#define SINK_BATCH 256          /* readings popped at once */
#define SINK_INFLIGHT 1000      /* QoS 1/2 messages in flight (send maximum) */
#define SINK_OUTSTANDING 5000   /* messages handed to libmosquitto, not yet sent/acknowledged */
#define SINK_WAIT_MS 200        /* idle wait of the sink thread */
#define SINK_RETRY_MS 100       /* pause after a publish found no connection */
#define SINK_DRAIN_MS 3000      /* mqtt_sink_stop: time to publish what is queued */
#define SINK_FINAL_MS 1000      /* mqtt_sink_stop: time for "offline" to be acknowledged */
#define SINK_STATUS_QOS 1       /* status and availability messages */
#define SINK_LOG_EVERY_S 60     /* rate limit of repeated complaints */
#define SINK_MSGS_CAP 1024      /* alert messages waiting */
#define SINK_MSG_MAX 2048       /* longest payload: an alert (test_alert_json), HA discovery */
#define SINK_OUTBOX_BATCH 1000  /* outbox rows fetched at once */
#define SINK_RECONNECT_MAX_S MQTT_CLIENT_RECONNECT_MAX_S /* first-connect retries: 1 s doubling */
#define SINK_LIVE_SLACK 200000  /* live publishes awaiting their row, beyond the store's bound */
#define SINK_HOLD_MAX 4096      /* readings left to the outbox per pass while disconnected */
#define SINK_FETCH_EVERY_MS 250 /* caught up: the committed rows' keys read back at most this often */

enum avail_state { AVAIL_UNKNOWN = 0, AVAIL_OFFLINE, AVAIL_ONLINE };

/* What a publish attempt did with a message. */
enum handover { HANDED_OVER, RETRY_LATER };

/* A reading published live (from memory, before its commit): its poll time and
 * its message number in the ring (inflight_pushed), until the outbox cursor
 * meets its committed row. */
struct live_ent {
    int64_t ts_ms;
    uint64_t msg;
};

/* Per device, used by the sink thread only: the live publishes whose rows the
 * cursor has not met yet (a ring, oldest first; per device, commit order is poll
 * order), and the poll time of the last committed row the cursor consumed. */
struct live_dev {
    struct live_ent *e;
    uint32_t head, len, cap;
    int64_t scanned_ms;
};

/* A message other than a reading's (an alert), queued by mqtt_sink_publish. */
struct sink_msg {
    char topic[PAYLOAD_TOPIC_MAX];
    char payload[SINK_MSG_MAX];
    int len;
    int retain;
};

struct mqtt_sink {
    const struct enmon_config *cfg;
    struct mosquitto *mosq;
    struct queue *q;    /* struct reading */
    struct queue *msgs; /* struct sink_msg, published QoS 1 before the next readings */
    pthread_t thread;
    int thread_started;
    int loop_started;

    /* lock guards the fields up to the next comment; it is never held around a
     * mosquitto_* call. The callbacks (libmosquitto's thread) take it briefly. */
    pthread_mutex_t lock;
    pthread_cond_t wake;
    int connected;
    int announce; /* (re)connected: publish status and every availability */
    int stopping;
    int64_t deadline_ms; /* end of the drain once stopping */
    int64_t outstanding; /* handed over, not yet reported by on_publish (approximate) */
    uint64_t published;
    uint64_t failed;
    size_t pending;          /* popped readings not yet handed over */
    struct inflight *flight; /* QoS 1/2 messages in flight and the outbox mark */
    struct outbox_stats ostats;

    /* state messages come from the outbox, readings submitted only carry
     * availability */
    struct outbox *outbox;
    struct outbox_item *obatch;
    size_t obatch_len, obatch_pos;
    int64_t refreshed_ms;
    int64_t fetched_ms; /* last read of the outbox (sink thread) */
    /* Live publishing: a reading goes out from memory when its device has nothing
     * older waiting in the outbox (hold_ms[d] <= live[d].scanned_ms) and the cursor
     * has once reached the end of the committed rows (caught_up); otherwise it is
     * held: left to the outbox, which publishes it once committed. */
    struct live_dev *live;
    int64_t *hold_ms; /* per device: poll time of the latest reading held (__atomic) */
    size_t live_total, live_max;
    int caught_up;
    int backlog; /* rows to publish from the outbox: fetch whole rows, not just keys */
    /* libmosquitto's network thread never retries a first connect that failed
     * (it waits for a connection that was never started): the sink thread does */
    int first_connect_failed;
    int64_t retry_connect_ms;
    int retry_delay_s;

    /* used by the sink thread only */
    struct reading *batch;
    size_t batch_len, batch_pos;
    uint8_t *avail; /* per device: enum avail_state last handed over */
    char json[PAYLOAD_STATE_MAX];
    char topic[PAYLOAD_TOPIC_MAX];
    char status_topic[PAYLOAD_TOPIC_MAX];
    struct sink_msg msg; /* the message being handed over */

    struct log_limit drop_limit, fail_limit, conn_limit;
};

/* ---- callbacks: run in libmosquitto's network thread, only set state ---- */

static void on_log(struct mosquitto *mosq, void *obj, int level, const char *str);

/* libmosquitto formats a debug line for every packet sent or received (a malloc, a
 * vsnprintf, a free: about 3,000 instructions per QoS 1 reading) whenever a log callback
 * is set, before the callback could skip it by level. So the callback (warnings and
 * errors: TLS, refused connects) is set only while disconnected; an error while connected
 * ends the connection, and the callback is back for the reconnect. */
static void on_connect(struct mosquitto *mosq, void *obj, int rc)
{
    struct mqtt_sink *m = obj;
    if (rc != 0) {
        log_limited(&m->conn_limit, SINK_LOG_EVERY_S, LOG_WARNING,
                    "mqtt: %s:%d refused the connection: %s", m->cfg->mqtt.host, m->cfg->mqtt.port,
                    mosquitto_connack_string(rc));
        return;
    }
    log_info("mqtt: connected to %s:%d", m->cfg->mqtt.host, m->cfg->mqtt.port);
    mosquitto_log_callback_set(mosq, NULL);
    pthread_mutex_lock(&m->lock);
    m->connected = 1;
    m->announce = 1;
    /* QoS 0 packets queued before a drop were discarded without on_publish */
    m->outstanding = 0;
    pthread_cond_broadcast(&m->wake);
    pthread_mutex_unlock(&m->lock);
}

static void on_disconnect(struct mosquitto *mosq, void *obj, int rc)
{
    struct mqtt_sink *m = obj;
    mosquitto_log_callback_set(mosq, on_log);
    pthread_mutex_lock(&m->lock);
    int was = m->connected;
    m->connected = 0;
    int stopping = m->stopping;
    pthread_mutex_unlock(&m->lock);
    if (was && !stopping)
        log_limited(&m->conn_limit, SINK_LOG_EVERY_S, LOG_WARNING,
                    "mqtt: lost connection to %s:%d (%s); readings wait in the queue",
                    m->cfg->mqtt.host, m->cfg->mqtt.port, mosquitto_strerror(rc));
}

static void on_publish(struct mosquitto *mosq, void *obj, int mid)
{
    struct mqtt_sink *m = obj;
    pthread_mutex_lock(&m->lock);
    if (m->outstanding > 0)
        m->outstanding--;
    inflight_ack(m->flight, mid);
    pthread_cond_broadcast(&m->wake);
    pthread_mutex_unlock(&m->lock);
}

/* ---- publishing (sink thread and mqtt_sink_stop) ---- */

/* Waits on m->wake (m->lock held) for at most ms milliseconds. */
static void wait_locked(struct mqtt_sink *m, int ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += ms / 1000;
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_cond_timedwait(&m->wake, &m->lock, &until);
}

static void pause_ms(struct mqtt_sink *m, int ms)
{
    pthread_mutex_lock(&m->lock);
    wait_locked(m, ms);
    pthread_mutex_unlock(&m->lock);
}

/* libmosquitto queues a QoS 1/2 message before it tries to send it: when sending
 * fails for want of a connection, the message stays queued and goes out after the
 * reconnect. Retrying it would publish it twice. */
static int queued_anyway(int rc, int qos)
{
    return qos > 0 && (rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO);
}

/* Errors after which the same message can succeed later. */
static int retryable(int rc)
{
    return rc == MOSQ_ERR_NO_CONN || rc == MOSQ_ERR_CONN_LOST || rc == MOSQ_ERR_ERRNO ||
           rc == MOSQ_ERR_NOMEM;
}

static enum handover publish_seq(struct mqtt_sink *m, const char *topic, const char *payload,
                                 int len, int qos, int retain, int64_t seq)
{
    pthread_mutex_lock(&m->lock);
    int full = inflight_full(m->flight);
    if (!full)
        m->outstanding++;
    pthread_mutex_unlock(&m->lock);
    if (full)
        return RETRY_LATER;
    int mid = 0;
    int rc = mosquitto_publish(m->mosq, &mid, topic, len, payload, qos, retain != 0);
    int queued = rc == MOSQ_ERR_SUCCESS || queued_anyway(rc, qos);
    pthread_mutex_lock(&m->lock);
    if (queued) {
        m->published++;
        inflight_push(m->flight, mid, qos, seq);
    } else {
        m->failed++;
        if (m->outstanding > 0)
            m->outstanding--;
    }
    pthread_mutex_unlock(&m->lock);
    if (queued)
        return HANDED_OVER;
    if (retryable(rc))
        return RETRY_LATER;
    log_limited(&m->fail_limit, SINK_LOG_EVERY_S, LOG_ERR, "mqtt: cannot publish %s: %s", topic,
                mosquitto_strerror(rc));
    return HANDED_OVER; /* would fail forever: skip it */
}

static enum handover publish(struct mqtt_sink *m, const char *topic, const char *payload, int len,
                             int qos, int retain)
{
    return publish_seq(m, topic, payload, len, qos, retain, 0);
}

static enum handover publish_availability(struct mqtt_sink *m, uint32_t device, int online)
{
    if (payload_availability_topic(m->cfg, device, m->topic, sizeof(m->topic)) < 0) {
        log_limited(&m->fail_limit, SINK_LOG_EVERY_S, LOG_ERR,
                    "mqtt: device %u has no valid availability topic", (unsigned)device);
        return HANDED_OVER;
    }
    const char *text = payload_availability(online);
    return publish(m, m->topic, text, (int)strlen(text), SINK_STATUS_QOS, 1);
}

static enum handover publish_status(struct mqtt_sink *m, int online)
{
    const char *text = payload_availability(online);
    return publish(m, m->status_topic, text, (int)strlen(text), SINK_STATUS_QOS, 1);
}

/* After every (re)connect: status online and every known availability, retained. */
static enum handover publish_announce(struct mqtt_sink *m)
{
    if (publish_status(m, 1) != HANDED_OVER)
        return RETRY_LATER;
    for (uint32_t d = 0; d < m->cfg->ndevices; d++) {
        if (m->avail[d] == AVAIL_UNKNOWN)
            continue;
        if (publish_availability(m, d, m->avail[d] == AVAIL_ONLINE) != HANDED_OVER)
            return RETRY_LATER;
    }
    return HANDED_OVER;
}

static enum handover publish_state(struct mqtt_sink *m, const struct reading *r, int64_t seq)
{
    int len = payload_state_json(m->cfg, r, m->json, sizeof(m->json));
    if (len < 0 || payload_state_topic(m->cfg, r->device, m->topic, sizeof(m->topic)) < 0) {
        log_limited(&m->fail_limit, SINK_LOG_EVERY_S, LOG_ERR,
                    "mqtt: cannot format the state of device %u", (unsigned)r->device);
        return HANDED_OVER;
    }
    return publish_seq(m, m->topic, m->json, len, m->cfg->mqtt.qos, 0, seq);
}

/* ---- live publishing and its match with the outbox ---- */

/* Leaves reading r of device d to the outbox: live publishing of d waits until the
 * cursor has consumed r's committed row (or a later one). Any thread. */
static void hold_reading(struct mqtt_sink *m, uint32_t d, int64_t ts_ms)
{
    int64_t cur = __atomic_load_n(&m->hold_ms[d], __ATOMIC_RELAXED);
    while (ts_ms > cur && !__atomic_compare_exchange_n(&m->hold_ms[d], &cur, ts_ms, 0,
                                                       __ATOMIC_RELAXED, __ATOMIC_RELAXED))
        ;
}

static int live_allowed(struct mqtt_sink *m, uint32_t d)
{
    return m->caught_up && m->live_total < m->live_max &&
           __atomic_load_n(&m->hold_ms[d], __ATOMIC_RELAXED) <= m->live[d].scanned_ms;
}

/* Room for one more entry in d's ring. ENMON_OK or ENMON_ERR_NOMEM. */
static int live_reserve(struct live_dev *ld)
{
    if (ld->len < ld->cap)
        return ENMON_OK;
    uint32_t cap = ld->cap ? 2 * ld->cap : 4;
    struct live_ent *e = malloc(cap * sizeof(*e));
    if (!e)
        return ENMON_ERR_NOMEM;
    for (uint32_t i = 0; i < ld->len; i++)
        e[i] = ld->e[(ld->head + i) % ld->cap];
    free(ld->e);
    ld->e = e;
    ld->cap = cap;
    ld->head = 0;
    return ENMON_OK;
}

static void live_pop(struct mqtt_sink *m, struct live_dev *ld)
{
    ld->head = (ld->head + 1) % ld->cap;
    ld->len--;
    m->live_total--;
}

/* Publishes the state of r from memory, recording it for the outbox cursor. */
static enum handover publish_live(struct mqtt_sink *m, const struct reading *r)
{
    struct live_dev *ld = &m->live[r->device];
    if (!live_allowed(m, r->device) || live_reserve(ld) != ENMON_OK) {
        hold_reading(m, r->device, r->wall_ms);
        return HANDED_OVER;
    }
    pthread_mutex_lock(&m->lock);
    uint64_t msg = inflight_pushed(m->flight);
    pthread_mutex_unlock(&m->lock);
    enum handover h = publish_state(m, r, 0);
    pthread_mutex_lock(&m->lock);
    int pushed = inflight_pushed(m->flight) != msg;
    pthread_mutex_unlock(&m->lock);
    if (h != HANDED_OVER)
        return h;
    if (!pushed) { /* skipped (cannot be formatted): the outbox has its row */
        hold_reading(m, r->device, r->wall_ms);
        return HANDED_OVER;
    }
    ld->e[(ld->head + ld->len) % ld->cap] = (struct live_ent){r->wall_ms, msg};
    ld->len++;
    m->live_total++;
    return HANDED_OVER;
}

/* Availability when it changed (or was never published), then the state (live,
 * or held for the outbox) unless the poll failed. Retrying a reading does not
 * repeat its availability message. */
static enum handover publish_reading(struct mqtt_sink *m, const struct reading *r)
{
    if (r->device >= m->cfg->ndevices)
        return HANDED_OVER;
    uint8_t now = r->online ? AVAIL_ONLINE : AVAIL_OFFLINE;
    if (m->avail[r->device] != now) {
        if (publish_availability(m, r->device, r->online) != HANDED_OVER)
            return RETRY_LATER;
        m->avail[r->device] = now;
    }
    if (r->quality == READING_FAILED)
        return HANDED_OVER; /* no state, no row */
    return publish_live(m, r);
}

/* Outcome of the cursor on a committed row: published live and acknowledged (the
 * mark may pass it), published live and still in flight (wait), or not published
 * live (publish it from the outbox). */
enum live_match { LIVE_ACKED, LIVE_IN_FLIGHT, LIVE_NONE };

static enum live_match live_match(struct mqtt_sink *m, const struct outbox_item *it)
{
    struct live_dev *ld = &m->live[it->r.device];
    /* live publishes older than this row never got a row (the store dropped them) */
    while (ld->len > 0 && ld->e[ld->head].ts_ms < it->r.wall_ms)
        live_pop(m, ld);
    if (ld->len == 0 || ld->e[ld->head].ts_ms != it->r.wall_ms)
        return LIVE_NONE;
    enum live_match res = LIVE_IN_FLIGHT;
    pthread_mutex_lock(&m->lock);
    if (ld->e[ld->head].msg < inflight_consumed(m->flight) && !inflight_full(m->flight)) {
        /* a QoS 0 entry counts as acknowledged: the mark passes the row in order */
        inflight_push(m->flight, 0, 0, it->seq);
        res = LIVE_ACKED;
    }
    pthread_mutex_unlock(&m->lock);
    if (res == LIVE_ACKED)
        live_pop(m, ld);
    return res;
}

static int stopping(struct mqtt_sink *m);

/* The outbox cursor: walks the committed readings in rowid order, fetching more
 * when the last ones are consumed. A row published live is consumed once its
 * message was acknowledged; any other row is published from the outbox (the
 * backlog: broker away, queue full, a restart). Returns RETRY_LATER when one
 * must wait; *more is set when rows were fetched. With acked_only (while
 * disconnected) it only consumes the rows already published live. */
static enum handover publish_outbox(struct mqtt_sink *m, int *more, int acked_only)
{
    *more = 0;
    if (m->obatch_pos == m->obatch_len) {
        /* Caught up, the keys only confirm the live publishes: the store commits about
         * every 250 ms, so reading them back on every wake-up of this thread (once per
         * reading at low rates) mostly runs an empty SQLite query. A backlog, a drain
         * (stopping) and the first read are not held back. */
        int64_t now = clock_mono_ms();
        if (m->caught_up && !m->backlog && now - m->fetched_ms < SINK_FETCH_EVERY_MS &&
            !stopping(m))
            return HANDED_OVER;
        m->fetched_ms = now;
        m->obatch_pos = 0;
        m->obatch_len = m->caught_up && !m->backlog
                            ? outbox_fetch_keys(m->outbox, m->obatch, SINK_OUTBOX_BATCH)
                            : outbox_fetch(m->outbox, m->obatch, SINK_OUTBOX_BATCH);
        *more = m->obatch_len > 0;
        pthread_mutex_lock(&m->lock);
        outbox_get_stats(m->outbox, &m->ostats);
        if (m->obatch_len == 0) /* skipped rows count as published */
            inflight_set_mark_idle(m->flight, outbox_fetched(m->outbox));
        pthread_mutex_unlock(&m->lock);
        if (m->obatch_len == 0 && outbox_at_end(m->outbox)) {
            m->caught_up = 1;
            m->backlog = 0;
        }
    }
    while (m->obatch_pos < m->obatch_len) {
        const struct outbox_item *it = &m->obatch[m->obatch_pos];
        enum live_match lm = live_match(m, it);
        if (lm == LIVE_IN_FLIGHT)
            return RETRY_LATER;
        if (lm == LIVE_NONE && !acked_only && it->keys_only) {
            /* a backlog row: read the rows back whole from here on */
            outbox_rewind(m->outbox, it->seq - 1);
            m->obatch_pos = m->obatch_len = 0;
            m->backlog = 1;
            *more = 1;
            return HANDED_OVER;
        }
        if (lm == LIVE_NONE && (acked_only || publish_state(m, &it->r, it->seq) != HANDED_OVER))
            return RETRY_LATER;
        m->live[it->r.device].scanned_ms = it->r.wall_ms;
        m->obatch_pos++;
    }
    return HANDED_OVER;
}

/* Records the acknowledged mark (at most once a second). */
static void save_mark(struct mqtt_sink *m, int force)
{
    pthread_mutex_lock(&m->lock);
    inflight_advance(m->flight);
    int64_t seq = inflight_mark(m->flight);
    pthread_mutex_unlock(&m->lock);
    outbox_mark(m->outbox, seq, force);
}

static void set_pending(struct mqtt_sink *m)
{
    pthread_mutex_lock(&m->lock);
    m->pending = m->batch_len - m->batch_pos;
    pthread_mutex_unlock(&m->lock);
}

/* Hands over the popped readings in order; stops at the first that must wait. */
static enum handover publish_batch(struct mqtt_sink *m)
{
    enum handover h = HANDED_OVER;
    while (m->batch_pos < m->batch_len) {
        h = publish_reading(m, &m->batch[m->batch_pos]);
        if (h != HANDED_OVER)
            break;
        m->batch_pos++;
    }
    set_pending(m);
    return h;
}

/* Hands over the queued alert messages in order; stops at the first that must wait. */
static enum handover publish_msgs(struct mqtt_sink *m)
{
    struct sink_msg *msg = &m->msg;
    while (queue_peek(m->msgs, msg)) {
        if (publish(m, msg->topic, msg->payload, msg->len, SINK_STATUS_QOS, msg->retain) !=
            HANDED_OVER)
            return RETRY_LATER;
        queue_drop_head(m->msgs);
    }
    return HANDED_OVER;
}

/* ---- the sink thread ---- */

/* Retries a first connect that failed, backing off from 1 s to SINK_RECONNECT_MAX_S.
 * libmosquitto's network thread is started only once a connect went through, so
 * that no two threads ever drive the client at once (two did, and ASan caught the
 * TLS state freed under the network thread); from then on that thread alone
 * reconnects. */
static void retry_first_connect(struct mqtt_sink *m)
{
    int64_t now = clock_mono_ms();
    if (!m->first_connect_failed || now < m->retry_connect_ms)
        return;
    const struct cfg_mqtt *c = &m->cfg->mqtt;
    int rc = mqtt_client_start(m->mosq, c);
    if (rc == MOSQ_ERR_SUCCESS) {
        m->loop_started = 1;
        m->first_connect_failed = 0;
        return;
    }
    log_limited(&m->conn_limit, SINK_LOG_EVERY_S, LOG_WARNING, "mqtt: %s:%d: %s; retrying",
                c->host, c->port, mosquitto_strerror(rc));
    if (m->retry_delay_s < SINK_RECONNECT_MAX_S)
        m->retry_delay_s *= 2;
    if (m->retry_delay_s > SINK_RECONNECT_MAX_S)
        m->retry_delay_s = SINK_RECONNECT_MAX_S;
    m->retry_connect_ms = now + m->retry_delay_s * 1000;
}

/* While nothing is published: the outbox depth (a metric) and its bound, once a second. */
static void refresh_outbox(struct mqtt_sink *m)
{
    int64_t now = clock_mono_ms();
    if (now - m->refreshed_ms < 1000)
        return;
    m->refreshed_ms = now;
    outbox_refresh(m->outbox);
    pthread_mutex_lock(&m->lock);
    outbox_get_stats(m->outbox, &m->ostats);
    pthread_mutex_unlock(&m->lock);
}

enum step { STEP_PUBLISH, STEP_AGAIN, STEP_EXIT };

/* Decides what the sink thread does next; waits while disconnected or while
 * libmosquitto holds too many unsent messages. Sets *announce after a connect. */
static enum step next_step(struct mqtt_sink *m, int *announce)
{
    enum step s = STEP_PUBLISH;
    int empty = m->batch_pos == m->batch_len && queue_depth(m->q) == 0 && queue_depth(m->msgs) == 0;
    pthread_mutex_lock(&m->lock);
    *announce = 0;
    if (m->stopping && (clock_mono_ms() >= m->deadline_ms || (!m->connected && empty))) {
        s = STEP_EXIT;
    } else if (!m->connected || m->outstanding >= SINK_OUTSTANDING) {
        inflight_advance(m->flight);
        wait_locked(m, SINK_WAIT_MS);
        s = STEP_AGAIN;
    } else {
        *announce = m->announce;
        m->announce = 0;
    }
    pthread_mutex_unlock(&m->lock);
    return s;
}

/* Once stopping: done when everything popped is handed over and acknowledged. */
static int drained(struct mqtt_sink *m, int outbox_more)
{
    if (m->batch_pos < m->batch_len || queue_depth(m->q) > 0 || queue_depth(m->msgs) > 0 ||
        outbox_more || m->obatch_pos < m->obatch_len)
        return 0;
    pthread_mutex_lock(&m->lock);
    int done = m->stopping && m->outstanding == 0;
    if (m->stopping && !done)
        wait_locked(m, SINK_RETRY_MS / 2);
    pthread_mutex_unlock(&m->lock);
    return done;
}

static int stopping(struct mqtt_sink *m)
{
    pthread_mutex_lock(&m->lock);
    int s = m->stopping;
    pthread_mutex_unlock(&m->lock);
    return s;
}

static void refill(struct mqtt_sink *m, int wait_ms)
{
    m->batch_pos = 0;
    m->batch_len = queue_pop_batch(m->q, m->batch, SINK_BATCH, wait_ms);
    set_pending(m);
}

/* While disconnected: the readings popped are held for the outbox (published in
 * order once committed and the broker is back); their availability is kept for
 * the announce after the reconnect. */
static void hold_while_away(struct mqtt_sink *m)
{
    pthread_mutex_lock(&m->lock);
    int away = !m->connected;
    pthread_mutex_unlock(&m->lock);
    size_t n = 0;
    while (away) {
        while (m->batch_pos < m->batch_len) {
            const struct reading *r = &m->batch[m->batch_pos++];
            if (r->device >= m->cfg->ndevices)
                continue;
            m->avail[r->device] = r->online ? AVAIL_ONLINE : AVAIL_OFFLINE;
            if (r->quality != READING_FAILED)
                hold_reading(m, r->device, r->wall_ms);
        }
        if (n >= SINK_HOLD_MAX)
            break;
        refill(m, 0);
        if (m->batch_len == 0)
            break;
        n += m->batch_len;
    }
    set_pending(m);
}

static void *sink_main(void *arg)
{
    struct mqtt_sink *m = arg;
    for (;;) {
        int announce;
        enum step s = next_step(m, &announce);
        if (s == STEP_EXIT)
            break;
        if (s == STEP_AGAIN) {
            hold_while_away(m);
            int ignored;
            publish_outbox(m, &ignored, 1); /* rows published live before the disconnect */
            save_mark(m, 0); /* acknowledgements that arrived before a disconnect */
            refresh_outbox(m);
            retry_first_connect(m);
            continue;
        }
        if (announce && publish_announce(m) != HANDED_OVER) {
            pthread_mutex_lock(&m->lock);
            m->announce = 1;
            pthread_mutex_unlock(&m->lock);
            pause_ms(m, SINK_RETRY_MS);
            continue;
        }
        if (publish_msgs(m) == RETRY_LATER) {
            pause_ms(m, SINK_RETRY_MS);
            continue;
        }
        /* the outbox never holds up the live readings: when it must wait (an
         * acknowledgement, a full ring) the live batch still goes out */
        int more = 0;
        enum handover ob = publish_outbox(m, &more, 0);
        save_mark(m, 0);
        if (m->batch_pos == m->batch_len) {
            if (ob == HANDED_OVER && stopping(m) && drained(m, more))
                break;
            refill(m, more ? 0 : ob == HANDED_OVER ? SINK_WAIT_MS : SINK_RETRY_MS / 4);
        }
        if (publish_batch(m) == RETRY_LATER)
            pause_ms(m, SINK_RETRY_MS);
    }
    return NULL;
}

/* ---- start and stop ---- */

static int fail(char *msg, size_t msglen, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* Writes the reason into msg and returns ENMON_ERR_MQTT. */
static int fail(char *msg, size_t msglen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, msglen, fmt, ap);
    va_end(ap);
    return ENMON_ERR_MQTT;
}

/* libmosquitto's own complaints (TLS handshake, certificate errors), rate limited. */
static void on_log(struct mosquitto *mosq, void *obj, int level, const char *str)
{
    struct mqtt_sink *m = obj;
    (void)mosq;
    if (level == MOSQ_LOG_ERR || level == MOSQ_LOG_WARNING)
        log_limited(&m->fail_limit, SINK_LOG_EVERY_S, LOG_WARNING, "mqtt: %s", str);
}

static int client_setup(struct mqtt_sink *m, char *msg, size_t msglen)
{
    const struct cfg_mqtt *c = &m->cfg->mqtt;
    const struct mqtt_client_opts o = {
        .client_id = c->client_id,
        .userdata = m,
        .will_topic = m->status_topic,
        .will_payload = PAYLOAD_OFFLINE,
        .will_qos = SINK_STATUS_QOS,
        .will_retain = 1,
    };
    if (mqtt_client_new(c, &o, &m->mosq, msg, msglen) != ENMON_OK)
        return ENMON_ERR_MQTT;
    mosquitto_connect_callback_set(m->mosq, on_connect);
    mosquitto_disconnect_callback_set(m->mosq, on_disconnect);
    mosquitto_publish_callback_set(m->mosq, on_publish);
    mosquitto_log_callback_set(m->mosq, on_log);
    mosquitto_int_option(m->mosq, MOSQ_OPT_SEND_MAXIMUM, SINK_INFLIGHT);
    return ENMON_OK;
}

/* Starts libmosquitto's network thread; it keeps reconnecting on its own. */
static int client_connect(struct mqtt_sink *m, char *msg, size_t msglen)
{
    const struct cfg_mqtt *c = &m->cfg->mqtt;
    int rc = mqtt_client_connect_async(m->mosq, c);
    if (rc == MOSQ_ERR_INVAL)
        return fail(msg, msglen, "mqtt broker %s: %s", c->host, mqtt_client_strerror(rc));
    if (rc != MOSQ_ERR_SUCCESS) {
        log_warn("mqtt: %s:%d: %s; retrying in the background", c->host, c->port,
                 mqtt_client_strerror(rc));
        m->first_connect_failed = 1; /* the sink thread retries, then starts the loop */
        m->retry_delay_s = 1;
        m->retry_connect_ms = clock_mono_ms() + 1000;
        return ENMON_OK;
    }
    rc = mosquitto_loop_start(m->mosq);
    if (rc != MOSQ_ERR_SUCCESS)
        return fail(msg, msglen, "mqtt network thread: %s", mqtt_client_strerror(rc));
    m->loop_started = 1;
    return ENMON_OK;
}

static void sink_free(struct mqtt_sink *m)
{
    if (m->mosq) {
        if (m->loop_started) {
            mosquitto_disconnect(m->mosq);
            mosquitto_loop_stop(m->mosq, false);
        }
        mosquitto_destroy(m->mosq);
    }
    outbox_close(m->outbox);
    queue_free(m->q);
    queue_free(m->msgs);
    inflight_free(m->flight);
    free(m->obatch);
    pthread_cond_destroy(&m->wake);
    pthread_mutex_destroy(&m->lock);
    free(m->batch);
    free(m->avail);
    for (size_t i = 0; m->live && i < m->cfg->ndevices; i++)
        free(m->live[i].e);
    free(m->live);
    free(m->hold_ms);
    free(m);
}

static int sink_alloc(const struct enmon_config *cfg, struct mqtt_sink **out)
{
    struct mqtt_sink *m = calloc(1, sizeof(*m));
    if (!m)
        return ENMON_ERR_NOMEM;
    m->cfg = cfg;
    pthread_mutex_init(&m->lock, NULL);
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    pthread_cond_init(&m->wake, &attr);
    pthread_condattr_destroy(&attr);
    *out = m;
    m->batch = calloc(SINK_BATCH, sizeof(*m->batch));
    m->avail = calloc(cfg->ndevices ? cfg->ndevices : 1, 1);
    m->live = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof(*m->live));
    m->hold_ms = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof(*m->hold_ms));
    long held = cfg->storage.retry_buffer_readings > 0 ? cfg->storage.retry_buffer_readings
                                                       : CFG_RETRY_BUFFER_DEFAULT;
    m->live_max = (size_t)held + SINK_LIVE_SLACK;
    if (!m->batch || !m->avail || !m->live || !m->hold_ms ||
        queue_new(sizeof(struct reading), SINK_QUEUE_CAP, &m->q) != ENMON_OK ||
        queue_new(sizeof(struct sink_msg), SINK_MSGS_CAP, &m->msgs) != ENMON_OK)
        return ENMON_ERR_NOMEM;
    return ENMON_OK;
}

int mqtt_sink_publish(struct mqtt_sink *m, const char *topic, const char *payload, int retain)
{
    struct sink_msg msg = {.retain = retain};
    size_t len = strlen(payload);
    if (strlen(topic) >= sizeof(msg.topic) || len >= sizeof(msg.payload))
        return ENMON_ERR_RANGE;
    memcpy(msg.topic, topic, strlen(topic) + 1);
    memcpy(msg.payload, payload, len + 1);
    msg.len = (int)len;
    int rc = queue_push(m->msgs, &msg);
    if (rc == ENMON_OK) {
        pthread_mutex_lock(&m->lock);
        pthread_cond_signal(&m->wake);
        pthread_mutex_unlock(&m->lock);
    }
    return rc;
}

/* The outbox on cfg->database, its buffer, and the ring in flight starting at its mark. */
static int sink_open_outbox(struct mqtt_sink *m, char *msg, size_t msglen)
{
    int64_t max = m->cfg->mqtt.outbox_max > 0 ? m->cfg->mqtt.outbox_max : MQTT_SINK_OUTBOX_MAX;
    if (outbox_open(m->cfg, max, &m->outbox, msg, msglen) != ENMON_OK)
        return ENMON_ERR_MQTT;
    outbox_get_stats(m->outbox, &m->ostats);
    m->flight = inflight_new(outbox_fetched(m->outbox));
    m->obatch = calloc(SINK_OUTBOX_BATCH, sizeof(*m->obatch));
    if (!m->flight || !m->obatch)
        return fail(msg, msglen, "mqtt outbox: %s", enmon_strerror(ENMON_ERR_NOMEM));
    return ENMON_OK;
}

int mqtt_sink_start_durable(const struct enmon_config *cfg, struct mqtt_sink **out, char *msg,
                            size_t msglen)
{
    struct mqtt_sink *m = NULL;
    *out = NULL;
    int rc = sink_alloc(cfg, &m);
    if (rc == ENMON_OK)
        rc = sink_open_outbox(m, msg, msglen);
    if (rc == ENMON_OK &&
        payload_status_topic(cfg->mqtt.topic_root, m->status_topic, sizeof(m->status_topic)) < 0)
        rc = fail(msg, msglen, "mqtt topic_root '%s' is not a valid topic prefix",
                  cfg->mqtt.topic_root);
    else if (rc != ENMON_OK)
        rc = fail(msg, msglen, "mqtt sink: %s", enmon_strerror(rc));
    if (rc == ENMON_OK)
        rc = client_setup(m, msg, msglen);
    if (rc == ENMON_OK)
        rc = client_connect(m, msg, msglen);
    if (rc == ENMON_OK && pthread_create(&m->thread, NULL, sink_main, m) != 0)
        rc = fail(msg, msglen, "mqtt sink thread: %s", strerror(errno));
    if (rc != ENMON_OK) {
        if (m)
            sink_free(m);
        return ENMON_ERR_MQTT;
    }
    m->thread_started = 1;
    *out = m;
    return ENMON_OK;
}

int mqtt_sink_submit(struct mqtt_sink *m, const struct reading *r)
{
    int rc = queue_push(m->q, r);
    if (rc == ENMON_ERR_FULL && r->device < m->cfg->ndevices && r->quality != READING_FAILED)
        hold_reading(m, r->device, r->wall_ms); /* the outbox publishes it once committed */
    if (rc == ENMON_ERR_FULL)
        log_limited(&m->drop_limit, SINK_LOG_EVERY_S, LOG_WARNING,
                    "mqtt: queue full (%zu readings), dropping readings", queue_capacity(m->q));
    return rc;
}

void mqtt_sink_get_stats(struct mqtt_sink *m, struct mqtt_sink_stats *out)
{
    *out = (struct mqtt_sink_stats){0};
    out->dropped = queue_dropped(m->q);
    out->depth = queue_depth(m->q);
    pthread_mutex_lock(&m->lock);
    out->published = m->published;
    out->failed = m->failed;
    out->connected = m->connected;
    out->depth += m->pending;
    out->outbox_depth = m->ostats.depth;
    out->outbox_shed = m->ostats.shed;
    out->inflight = inflight_len(m->flight);
    pthread_mutex_unlock(&m->lock);
}

/* Publishes status "offline" and waits (bounded) until it is acknowledged, so
 * the clean disconnect that follows (which suppresses the will) loses nothing. */
static void publish_final_status(struct mqtt_sink *m)
{
    pthread_mutex_lock(&m->lock);
    int connected = m->connected;
    pthread_mutex_unlock(&m->lock);
    if (!connected || publish_status(m, 0) != HANDED_OVER)
        return;
    int64_t until = clock_mono_ms() + SINK_FINAL_MS;
    pthread_mutex_lock(&m->lock);
    while (m->outstanding > 0 && m->connected && clock_mono_ms() < until)
        wait_locked(m, SINK_RETRY_MS / 2);
    pthread_mutex_unlock(&m->lock);
}

void mqtt_sink_stop(struct mqtt_sink *m)
{
    if (!m)
        return;
    pthread_mutex_lock(&m->lock);
    m->stopping = 1;
    m->deadline_ms = clock_mono_ms() + SINK_DRAIN_MS;
    pthread_cond_broadcast(&m->wake);
    pthread_mutex_unlock(&m->lock);
    queue_close(m->q);
    if (m->thread_started)
        pthread_join(m->thread, NULL);
    publish_final_status(m);
    save_mark(m, 1);
    outbox_get_stats(m->outbox, &m->ostats);
    if (m->ostats.depth > 0)
        log_info("mqtt: %lld readings stay in the outbox for the next start",
                 (long long)m->ostats.depth);
    sink_free(m);
}
