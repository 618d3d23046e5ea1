/* webhook.h -- alert notices to HTTPS endpoints: routed, stored first, delivered in order once. */
#ifndef ENMON_WEBHOOK_H
#define ENMON_WEBHOOK_H

#include "alerts.h"
#include "config.h"

#include <stddef.h>
#include <stdint.h>

/* Store and forward: webhook_submit queues the notices of an event (one per endpoint whose
 * route matches) without blocking; the delivery thread writes them to the webhook_outbox table
 * and POSTs each endpoint's notices in order, the next only after the one before got a 2xx.
 * While an endpoint fails its notices wait (retried with a backoff from retry_min doubling to
 * retry_max); they survive a restart of enmond. A crash between a POST and its mark sends that
 * notice again with the same Idempotency-Key: the receiver drops the repeat. */
struct webhook;

struct webhook_stats {
    int64_t backlog;    /* notices waiting in the outbox (all endpoints) */
    uint64_t delivered; /* notices delivered since start */
    uint64_t failed;    /* failed attempts since start (each retry counts) */
    uint64_t dropped;   /* notices lost before the outbox: full queue, no memory, database */
};

/* Starts the delivery thread for cfg->alerts->webhooks (cfg outlives it; cfg->database is
 * created and migrated already). Without webhooks nothing starts and every submission is
 * ignored. ENMON_OK, or ENMON_ERR_DB / ENMON_ERR_NOMEM / ENMON_ERR_IO with a reason in msg. */
int webhook_start(const struct enmon_config *cfg, struct webhook **out, char *msg, size_t msglen);

/* Queues ev's notices; never blocks (call it from the alert engine's emit). Returns how many
 * endpoints it was routed to. */
int webhook_submit(struct webhook *k, const struct alert_event *ev);

void webhook_get_stats(struct webhook *k, struct webhook_stats *out);

/* Writes what is still queued to the outbox (delivered after the next start), stops the thread
 * and frees (k may be NULL). */
void webhook_stop(struct webhook *k);

#endif
