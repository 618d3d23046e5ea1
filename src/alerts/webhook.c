/* webhook.c -- alert notices to HTTPS endpoints: routed, stored first, delivered in order once. */
#include "webhook.h"

#include "alert_config.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "queue.h"
#include "webhook_body.h"
#include "webhook_outbox.h"
#include "webhook_post.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define WEBHOOK_QUEUE_CAP 1024
#define WEBHOOK_BATCH 32
#define WEBHOOK_IDLE_MS 1000 /* the thread looks at the outbox at least this often */

/* A notice on its way from the engine to the outbox. */
struct webhook_item {
    int endpoint; /* index into webhooks */
    char key[WEBHOOK_KEY_MAX];
    char *body; /* malloc'd */
};

/* An endpoint's delivery state (delivery thread only). */
struct endpoint {
    int pending;         /* the outbox may hold notices for it */
    int64_t due_mono_ms; /* no attempt before this */
    int64_t delay_ms;    /* the next backoff */
    struct log_limit limit_log;
};

struct webhook {
    const struct enmon_config *cfg;
    const struct alert_webhook_cfg *w;
    size_t n;
    struct endpoint *ep;
    struct webhook_outbox *outbox;
    struct queue *queue; /* struct webhook_item * */
    pthread_t thread;
    atomic_int stopping;
    pthread_mutex_t lock; /* guards stats */
    struct webhook_stats stats;
};

static void count_dropped(struct webhook *k)
{
    pthread_mutex_lock(&k->lock);
    k->stats.dropped++;
    pthread_mutex_unlock(&k->lock);
}

/* ---- the engine's side --------------------------------------------------------------------- */

int webhook_submit(struct webhook *k, const struct alert_event *ev)
{
    int routed = 0;
    if (!k || !k->n)
        return 0;
    for (size_t i = 0; i < k->n; i++) {
        if (!webhook_route_matches(&k->w[i], ev, k->cfg))
            continue;
        routed++;
        struct webhook_item *it = malloc(sizeof(*it));
        char *body = malloc(WEBHOOK_BODY_MAX);
        if (!it || !body || webhook_idem_key(ev, it->key, sizeof(it->key)) < 0 ||
            webhook_body(&k->w[i], ev, k->cfg, body, WEBHOOK_BODY_MAX) < 0) {
            log_err("webhook %s: notice of %s not queued (too long or out of memory)", k->w[i].id,
                    ev->id);
            free(it);
            free(body);
            count_dropped(k);
            continue;
        }
        it->endpoint = (int)i;
        it->body = body;
        int rc = queue_push(k->queue, &it);
        if (rc != ENMON_OK) {
            log_err("webhook %s: notice of %s lost: %s", k->w[i].id, ev->id, enmon_strerror(rc));
            free(body);
            free(it);
            if (rc == ENMON_ERR_CLOSED) /* a full queue counts itself */
                count_dropped(k);
        }
    }
    return routed;
}

/* ---- the delivery thread ------------------------------------------------------------------- */

static void refresh_backlog(struct webhook *k)
{
    int64_t total = 0;
    for (size_t i = 0; i < k->n; i++) {
        int64_t b = webhook_outbox_backlog(k->outbox, k->w[i].id);
        total += b > 0 ? b : 0;
    }
    pthread_mutex_lock(&k->lock);
    k->stats.backlog = total;
    pthread_mutex_unlock(&k->lock);
}

/* Moves what the engine queued into the outbox: it is stored before anything is sent. */
static size_t store_queued(struct webhook *k, int timeout_ms)
{
    struct webhook_item *items[WEBHOOK_BATCH];
    size_t n = queue_pop_batch(k->queue, items, WEBHOOK_BATCH, timeout_ms);
    for (size_t i = 0; i < n; i++) {
        struct webhook_item *it = items[i];
        if (webhook_outbox_add(k->outbox, k->w[it->endpoint].id, it->key, it->body,
                               clock_wall_ms()) == ENMON_OK)
            k->ep[it->endpoint].pending = 1;
        else
            count_dropped(k);
        free(it->body);
        free(it);
    }
    if (n)
        refresh_backlog(k);
    return n;
}

/* One attempt at endpoint e's oldest notice: 1 delivered, 0 nothing to send or it failed. */
static int deliver_one(struct webhook *k, size_t e)
{
    const struct alert_webhook_cfg *w = &k->w[e];
    struct endpoint *ep = &k->ep[e];
    struct webhook_notice nt;
    char err[320];
    long status = 0;
    int found = webhook_outbox_next(k->outbox, w->id, &nt);
    if (found <= 0) {
        ep->pending = found < 0; /* a database error: try again later */
        if (found < 0)
            ep->due_mono_ms = clock_mono_ms() + WEBHOOK_IDLE_MS;
        return 0;
    }
    int64_t now_wall = clock_wall_ms();
    int rc = webhook_post(w, nt.body, nt.key, now_wall / 1000, &status, err, sizeof(err));
    int ok = rc == ENMON_OK;
    pthread_mutex_lock(&k->lock);
    *(ok ? &k->stats.delivered : &k->stats.failed) += 1;
    pthread_mutex_unlock(&k->lock);
    if (ok) {
        webhook_outbox_delivered(k->outbox, nt.id, clock_wall_ms());
        if (nt.attempts > 0)
            log_info("webhook %s: delivered again after %d failed attempts", w->id, nt.attempts);
        ep->delay_ms = w->retry_min_ms;
    } else {
        ep->due_mono_ms = clock_mono_ms() + ep->delay_ms;
        webhook_outbox_failed(k->outbox, nt.id, now_wall + ep->delay_ms, err);
        log_limited(&ep->limit_log, 60, LOG_WARNING,
                    "webhook %s: %s (notice %s, attempt %d); retrying in %lld ms", w->id, err,
                    nt.key, nt.attempts + 1, (long long)ep->delay_ms);
        ep->delay_ms = ep->delay_ms * 2 > w->retry_max_ms ? w->retry_max_ms : ep->delay_ms * 2;
    }
    free(nt.body);
    refresh_backlog(k);
    return ok;
}

/* Sends what is due, oldest first per endpoint, storing new notices between two POSTs. */
static void deliver_due(struct webhook *k)
{
    for (size_t e = 0; e < k->n && !atomic_load(&k->stopping); e++)
        while (k->ep[e].pending && clock_mono_ms() >= k->ep[e].due_mono_ms &&
               !atomic_load(&k->stopping)) {
            store_queued(k, 0);
            if (!deliver_one(k, e))
                break;
        }
}

/* How long the thread may wait for new notices before something is due. */
static int wait_ms(const struct webhook *k)
{
    int64_t now = clock_mono_ms(), wait = WEBHOOK_IDLE_MS;
    for (size_t e = 0; e < k->n; e++)
        if (k->ep[e].pending) {
            int64_t d = k->ep[e].due_mono_ms - now;
            wait = d < wait ? (d > 0 ? d : 0) : wait;
        }
    return (int)wait;
}

static void *webhook_main(void *arg)
{
    struct webhook *k = arg;
    while (!queue_drained(k->queue)) {
        store_queued(k, wait_ms(k));
        deliver_due(k);
    }
    return NULL;
}

/* ---- start and stop ------------------------------------------------------------------------ */

static void webhook_free(struct webhook *k)
{
    webhook_outbox_close(k->outbox);
    queue_free(k->queue);
    pthread_mutex_destroy(&k->lock);
    free(k->ep);
    free(k);
}

int webhook_start(const struct enmon_config *cfg, struct webhook **out, char *msg, size_t msglen)
{
    struct webhook *k = calloc(1, sizeof(*k));
    *out = NULL;
    if (!k) {
        snprintf(msg, msglen, "%s", enmon_strerror(ENMON_ERR_NOMEM));
        return ENMON_ERR_NOMEM;
    }
    pthread_mutex_init(&k->lock, NULL);
    k->cfg = cfg;
    if (cfg->alerts) {
        k->w = cfg->alerts->webhooks;
        k->n = cfg->alerts->nwebhooks;
    }
    if (!k->n) {
        *out = k;
        return ENMON_OK;
    }
    int rc = webhook_post_init();
    if (rc != ENMON_OK)
        snprintf(msg, msglen, "libcurl: cannot initialise");
    if (rc == ENMON_OK &&
        (!(k->ep = calloc(k->n, sizeof(*k->ep))) ||
         queue_new(sizeof(struct webhook_item *), WEBHOOK_QUEUE_CAP, &k->queue) != ENMON_OK)) {
        rc = ENMON_ERR_NOMEM;
        snprintf(msg, msglen, "%s", enmon_strerror(rc));
    }
    if (rc == ENMON_OK)
        rc = webhook_outbox_open(cfg->database, &k->outbox, msg, msglen);
    if (rc == ENMON_OK) {
        for (size_t i = 0; i < k->n; i++)
            k->ep[i] = (struct endpoint){.pending = 1, .delay_ms = k->w[i].retry_min_ms};
        refresh_backlog(k);
        if (pthread_create(&k->thread, NULL, webhook_main, k) != 0) {
            rc = ENMON_ERR_NOMEM;
            snprintf(msg, msglen, "cannot start the webhook thread");
        }
    }
    if (rc != ENMON_OK) {
        webhook_free(k);
        return rc;
    }
    *out = k;
    return ENMON_OK;
}

void webhook_get_stats(struct webhook *k, struct webhook_stats *out)
{
    memset(out, 0, sizeof(*out));
    if (!k)
        return;
    pthread_mutex_lock(&k->lock);
    *out = k->stats;
    pthread_mutex_unlock(&k->lock);
    if (k->queue)
        out->dropped += queue_dropped(k->queue);
}

void webhook_stop(struct webhook *k)
{
    if (!k)
        return;
    if (k->n) {
        atomic_store(&k->stopping, 1);
        queue_close(k->queue);
        pthread_join(k->thread, NULL);
        while (store_queued(k, 0) > 0) /* the thread stored all; this only makes sure */
            ;
    }
    webhook_free(k);
}
