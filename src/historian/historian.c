/* historian.c -- the forwarder thread: PostgreSQL session, backoff, statistics, registry entry. */
#include "historian.h"
#include "clock.h"
#include "copy_text.h"
#include "db_open.h"
#include "err.h"
#include "hist_pass.h"
#include "log.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HIST_BACKOFF_MIN_MS 1000
#define HIST_BACKOFF_MAX_MS 30000
#define HIST_CONNECT_TIMEOUT_S "10"
#define HIST_DEVICES_EVERY_MS 30000 /* device status sent at least this often */

struct historian {
    const struct enmon_config *cfg;
    char url_safe[600]; /* the URL as logged */
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t cond; /* CLOCK_MONOTONIC */
    int stop;
    struct historian_stats st; /* under lock */
    struct hist_session s;     /* the thread's */
};

/* Waits ms or until stopped; 1 when stopped. */
static int hist_wait(struct historian *h, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_MONOTONIC, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    pthread_mutex_lock(&h->lock);
    while (!h->stop && pthread_cond_timedwait(&h->cond, &h->lock, &until) == 0)
        ;
    int stop = h->stop;
    pthread_mutex_unlock(&h->lock);
    return stop;
}

/* The password file's first line, or "" (no file configured). -1 when unreadable. */
static int read_password(const char *path, char *out, size_t len)
{
    out[0] = '\0';
    if (!path[0])
        return 0;
    FILE *f = fopen(path, "re");
    if (!f)
        return -1;
    if (!fgets(out, (int)len, f))
        out[0] = '\0';
    fclose(f);
    out[strcspn(out, "\r\n")] = '\0';
    return 0;
}

/* Server notices ("relation ... already exists, skipping") are not for the log. */
static void hist_notice(void *arg, const char *message)
{
}

static int hist_connect(struct historian *h, char *msg, size_t msglen)
{
    const struct cfg_historian *c = &h->cfg->historian;
    char password[256];
    if (read_password(c->password_file, password, sizeof(password)) != 0) {
        snprintf(msg, msglen, "cannot read historian.password_file %.200s", c->password_file);
        return ENMON_ERR_IO;
    }
    /* the URL first: the keywords after it override what it says; NULL values are skipped */
    /* keepalives and tcp_user_timeout: a server gone silent (a partition, not a refusal)
     * fails the pass within about 30 s instead of hanging it, and enmond's stop with it */
    const char *keys[] = {"dbname",
                          "sslmode",
                          "sslrootcert",
                          "connect_timeout",
                          "application_name",
                          "keepalives_idle",
                          "keepalives_interval",
                          "keepalives_count",
                          "tcp_user_timeout",
                          "password",
                          NULL};
    const char *vals[] = {c->url,
                          c->sslmode,
                          c->cafile[0] ? c->cafile : NULL,
                          HIST_CONNECT_TIMEOUT_S,
                          "enmond",
                          "15",
                          "5",
                          "3",
                          "30000",
                          password[0] ? password : NULL,
                          NULL};
    h->s.pg = PQconnectdbParams(keys, vals, 1);
    memset(password, 0, sizeof(password));
    if (PQstatus(h->s.pg) != CONNECTION_OK) {
        char *e = PQerrorMessage(h->s.pg);
        snprintf(msg, msglen, "%.*s", (int)strcspn(e, "\n"), e);
        PQfinish(h->s.pg);
        h->s.pg = NULL;
        return ENMON_ERR_CONNECT;
    }
    PQsetNoticeProcessor(h->s.pg, hist_notice, h);
    h->s.nmonths[0] = h->s.nmonths[1] = 0;
    h->s.staged = 0;
    h->s.sums_known = 0; /* a new session sends weather and DR events once */
    return hist_pass_schema(&h->s, msg, msglen);
}

static void hist_disconnect(struct historian *h)
{
    PQfinish(h->s.pg);
    h->s.pg = NULL;
    pthread_mutex_lock(&h->lock);
    h->st.connected = 0;
    pthread_mutex_unlock(&h->lock);
}

static void hist_measure(struct historian *h)
{
    int64_t backlog;
    double lag;
    if (hist_pass_backlog(h->s.db, clock_wall_ms(), &backlog, &lag) != ENMON_OK)
        return;
    pthread_mutex_lock(&h->lock);
    h->st.backlog = backlog;
    h->st.lag_s = lag;
    pthread_mutex_unlock(&h->lock);
}

/* Waits ms (or until stopped: 1), measuring backlog and lag at least every interval. */
static int hist_pause(struct historian *h, int64_t ms)
{
    int64_t step = h->cfg->historian.interval_ms;
    do {
        int64_t now = ms < step ? ms : step;
        if (hist_wait(h, now))
            return 1;
        ms -= now;
        hist_measure(h);
    } while (ms > 0);
    return 0;
}

static void hist_count(struct historian *h, int ok, uint64_t rows)
{
    pthread_mutex_lock(&h->lock);
    if (ok) {
        h->st.passes++;
        h->st.forwarded += rows;
    } else {
        h->st.failures++;
    }
    pthread_mutex_unlock(&h->lock);
}

/* Connect, then passes; on any PostgreSQL error the session is dropped and retried after
 * a doubling pause (1 s .. 30 s). SQLite is only read (and its meta marks written). */
static void *hist_main(void *arg)
{
    struct historian *h = arg;
    int64_t backoff = HIST_BACKOFF_MIN_MS, pause = 0, devices_ms = 0;
    int down_logged = 0;
    char msg[512];
    hist_measure(h);
    while (!hist_pause(h, pause)) {
        if (clock_mono_ms() >= devices_ms) {
            h->s.send_devices = 1;
            devices_ms = clock_mono_ms() + HIST_DEVICES_EVERY_MS;
        }
        if (!h->s.pg) {
            int rc = hist_connect(h, msg, sizeof(msg));
            if (rc != ENMON_OK) {
                if (!down_logged)
                    log_warn("historian %s: %s; retrying with backoff (SQLite keeps everything)",
                             h->url_safe, msg);
                down_logged = 1;
                hist_count(h, 0, 0);
                if (h->s.pg)
                    hist_disconnect(h);
                pause = backoff;
                backoff = backoff * 2 > HIST_BACKOFF_MAX_MS ? HIST_BACKOFF_MAX_MS : backoff * 2;
                continue;
            }
            log_info("historian %s: connected", h->url_safe);
            down_logged = 0;
            pthread_mutex_lock(&h->lock);
            h->st.connected = 1;
            pthread_mutex_unlock(&h->lock);
        }
        struct hist_result res;
        if (hist_pass_run(&h->s, &res, msg, sizeof(msg)) != ENMON_OK) {
            log_warn("historian %s: forwarding pass failed: %s", h->url_safe, msg);
            hist_count(h, 0, 0);
            hist_disconnect(h);
            pause = backoff;
            backoff = backoff * 2 > HIST_BACKOFF_MAX_MS ? HIST_BACKOFF_MAX_MS : backoff * 2;
            continue;
        }
        backoff = HIST_BACKOFF_MIN_MS;
        if (!res.idle)
            hist_count(h, 1, res.rows);
        pause = h->cfg->historian.interval_ms;
    }
    if (h->s.pg)
        hist_disconnect(h);
    return NULL;
}

int historian_start(const struct enmon_config *cfg, struct historian **out, char *msg,
                    size_t msglen)
{
    *out = NULL;
    if (!cfg->historian.url[0])
        return ENMON_OK;
    struct historian *h = calloc(1, sizeof(*h));
    if (!h) {
        snprintf(msg, msglen, "out of memory");
        return ENMON_ERR_NOMEM;
    }
    h->cfg = cfg;
    if (copy_redact_url(cfg->historian.url, h->url_safe, sizeof(h->url_safe)) != 0)
        snprintf(h->url_safe, sizeof(h->url_safe), "(URL)");
    int rc = db_open(cfg->database, DB_STORE, DB_BUSY_MS, &h->s.db, msg, msglen);
    if (rc != ENMON_OK) {
        free(h);
        return rc;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_mutex_init(&h->lock, NULL);
    pthread_cond_init(&h->cond, &ca);
    pthread_condattr_destroy(&ca);
    if (pthread_create(&h->thread, NULL, hist_main, h) != 0) {
        snprintf(msg, msglen, "cannot start the forwarder thread");
        sqlite3_close(h->s.db);
        pthread_cond_destroy(&h->cond);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return ENMON_ERR_IO;
    }
    *out = h;
    return ENMON_OK;
}

void historian_stop(struct historian *h)
{
    if (!h)
        return;
    pthread_mutex_lock(&h->lock);
    h->stop = 1;
    pthread_cond_signal(&h->cond);
    pthread_mutex_unlock(&h->lock);
    pthread_join(h->thread, NULL);
    sqlite3_close(h->s.db);
    pthread_cond_destroy(&h->cond);
    pthread_mutex_destroy(&h->lock);
    free(h);
}

void historian_get_stats(struct historian *h, struct historian_stats *out)
{
    pthread_mutex_lock(&h->lock);
    *out = h->st;
    pthread_mutex_unlock(&h->lock);
}

/* ---- registry entry ---------------------------------------------------------------------- */

void historian_sink_stats(const struct historian_stats *s, struct sink_stats *out)
{
    out->metric[0] = (struct sink_metric){"enmon_historian_backlog_readings", "gauge",
                                          "readings in SQLite not yet forwarded to the historian",
                                          (double)s->backlog};
    out->metric[1] = (struct sink_metric){"enmon_historian_lag_seconds", "gauge",
                                          "age of the oldest reading not yet forwarded", s->lag_s};
    out->metric[2] = (struct sink_metric){"enmon_historian_rows_total", "counter",
                                          "rows upserted into the historian", (double)s->forwarded};
    out->metric[3] =
        (struct sink_metric){"enmon_historian_failures_total", "counter",
                             "historian connects or passes that failed", (double)s->failures};
    out->metric[4] =
        (struct sink_metric){"enmon_historian_connected", "gauge",
                             "1 while a historian session is open", (double)s->connected};
    out->nmetrics = 5;
    snprintf(out->line, sizeof(out->line), "historian backlog=%lld lag=%.0fs rows=%llu%s",
             (long long)s->backlog, s->lag_s, (unsigned long long)s->forwarded,
             s->connected ? "" : " down");
    snprintf(out->json, sizeof(out->json),
             "\"historian_backlog\":%lld,\"historian_lag_s\":%.1f,\"historian_rows\":%llu",
             (long long)s->backlog, s->lag_s, (unsigned long long)s->forwarded);
}

static int hist_submit_cb(void *self, const struct reading *r)
{
    return ENMON_OK; /* the forwarder reads what the store committed */
}

static void hist_stats_cb(void *self, struct sink_stats *out)
{
    struct historian_stats s;
    historian_get_stats(self, &s);
    historian_sink_stats(&s, out);
}

static void hist_stop_cb(void *self)
{
    historian_stop(self);
}

void historian_sink(struct historian *h, struct sink *out)
{
    *out = (struct sink){"historian", h, hist_submit_cb, hist_stats_cb, hist_stop_cb, 0};
}
