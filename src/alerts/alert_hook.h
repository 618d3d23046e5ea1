/* alert_hook.h -- runs the configured alert hook program (no shell) with the alert JSON on stdin.
 */
#ifndef ENMON_ALERT_HOOK_H
#define ENMON_ALERT_HOOK_H

#include "alert_config.h"

#include <stddef.h>
#include <stdint.h>

/* Sliding-window rate limit: at most count runs in any period_ms. */
struct alert_rate {
    int64_t *times; /* ring of the last `count` run times */
    int count, head, n;
    int64_t period_ms;
};

/* count 0: unlimited. Returns ENMON_OK or ENMON_ERR_NOMEM. */
int alert_rate_init(struct alert_rate *r, int count, int64_t period_ms);
void alert_rate_free(struct alert_rate *r);
/* 1 and the run is counted when one more run is allowed at now_ms, else 0. */
int alert_rate_allow(struct alert_rate *r, int64_t now_ms);

/* Runs h->argv once (execv: no shell, no PATH search) in its own process group
 * with json on stdin and /dev/null as stdout, waits up to h->timeout_ms and
 * kills the group (SIGKILL) after that. Returns ENMON_OK when it exited 0,
 * ENMON_ERR_TIMEOUT when killed, ENMON_ERR_IO otherwise; *status gets the exit
 * status (127 when the program could not be executed, -1 when killed). */
int alert_hook_run(const struct alert_hook_cfg *h, const char *json, int *status);

struct alert_hook;

struct alert_hook_stats {
    uint64_t delivered; /* runs that exited 0 */
    uint64_t failed;    /* failed runs (each retry counts) */
    uint64_t given_up;  /* alerts not delivered after all retries */
    uint64_t limited;   /* alerts dropped by the rate limit */
    uint64_t dropped;   /* alerts dropped by a full queue or at stop */
};

/* Starts the delivery thread (runs one hook at a time, in order). h must
 * outlive the runner. With h->argc == 0 every submission is accepted and
 * dropped. Returns ENMON_OK or ENMON_ERR_NOMEM. */
int alert_hook_start(const struct alert_hook_cfg *h, struct alert_hook **out);

/* Queues a copy of json; never blocks. ENMON_OK or ENMON_ERR_FULL. */
int alert_hook_submit(struct alert_hook *k, const char *json);

void alert_hook_get_stats(struct alert_hook *k, struct alert_hook_stats *out);

/* Runs what is still queued (one attempt each: no retries once stopping),
 * stops the thread and frees (k may be NULL). */
void alert_hook_stop(struct alert_hook *k);

#endif
