/* alerts.h -- the alert engine: a reading sink that steps the rules per device and emits alerts. */
#ifndef ENMON_ALERTS_H
#define ENMON_ALERTS_H

#include "alert_rules.h"
#include "config.h"
#include "reading.h"

#include <stddef.h>
#include <stdint.h>

#define ALERT_ID_MAX (CFG_ID_MAX + 64)

/* One raise or clear. An alert is active from its raise to its clear; there is
 * at most one active alert per device, rule and (for event rules) event bit. */
struct alert_event {
    uint32_t device; /* index into enmon_config.devices */
    char rule[32];   /* "voltage_band" */
    char cause[96];  /* "GROUND_FAULT", "voltage 196.40 V below 207.00 V" */
    enum alert_severity severity;
    int raised;            /* 1 raise, 0 clear */
    int64_t first_seen_ms; /* wall ms: when the condition began */
    int64_t last_seen_ms;  /* wall ms: this event (the raise, or the clear) */
    int64_t raised_ms;     /* wall ms: the raise (a clear keeps it; 0 when not known) */
    double value;          /* what raised it: V, Hz, W, share of peers, event bit ...
                              (a clear keeps the raise's value) */
    double clear_value;    /* a clear: the value that cleared it (NAN when none did) */
    char id[ALERT_ID_MAX]; /* stable: "<device id>/<rule>" or "<device id>/<rule>/<event>" */
};

/* Called on the engine thread for every raise and clear, with the engine
 * locked: it must not call alerts_* and should only queue the event onward. */
typedef void (*alerts_emit_fn)(void *ctx, const struct alert_event *ev);

struct alerts;

struct alerts_stats {
    uint64_t processed; /* readings stepped */
    uint64_t dropped;   /* readings refused by a full queue */
    uint64_t raised, cleared;
    size_t active;
};

/* Starts the engine thread with the rules of cfg->alerts (defaults when NULL).
 * cfg must outlive the engine. Returns ENMON_OK or ENMON_ERR_NOMEM. */
int alerts_start(const struct enmon_config *cfg, alerts_emit_fn emit, void *ctx,
                 struct alerts **out);

/* Queues a reading; never blocks. ENMON_OK, ENMON_ERR_FULL or ENMON_ERR_CLOSED. */
int alerts_submit(struct alerts *a, const struct reading *r);

/* Marks alerts that were active before a restart as active again, without
 * emitting them (matched by id; the device index is looked up from the id).
 * An alert whose device is gone is dropped (enmond closes its row and clears
 * its retained topic: alert_store_clear_removed); one whose rule no longer
 * applies to its device is emitted as cleared. Returns how many were restored. */
size_t alerts_restore(struct alerts *a, const struct alert_event *active, size_t n);

struct alert_learned;

/* Copies the learned rule figures (welfare_inactivity base loads, abnormal_load means;
 * alert_learned.h) of the devices from *next on into out, stamped with the wall time, whole
 * devices only, while out has room for one more device (max >= ALERT_RULE__COUNT); returns how
 * many were copied and sets *next to the first device not copied (the device count when done).
 * For saving them across a restart a chunk at a time: memory and the engine's lock are held
 * for one chunk, not the city. */
size_t alerts_learned(struct alerts *a, uint32_t *next, struct alert_learned *out, size_t max);

/* Puts figures saved by an earlier run back into the rules, before readings
 * arrive. Figures of devices or rules now off, or saved under another `learn`,
 * are dropped. Returns how many were restored. */
size_t alerts_restore_learned(struct alerts *a, const struct alert_learned *in, size_t n);

/* Copies up to max active alerts into out; returns how many are active. */
size_t alerts_active(struct alerts *a, struct alert_event *out, size_t max);

/* Whether the alert with this id ("<device>/<rule>[/<event>]") is active. */
int alerts_is_active(struct alerts *a, const char *id);

void alerts_get_stats(struct alerts *a, struct alerts_stats *out);

/* Steps what is queued, stops the thread and frees (a may be NULL). */
void alerts_stop(struct alerts *a);

/* The JSON payload of ev: id, device, program, site, rule, severity, cause,
 * value, first_seen / last_seen (UTC ISO 8601) and their _ms, state ("active"
 * or "cleared"). Returns the length, or -1 when buf is too small or ev->device
 * is out of range. Pure. */
int alert_event_json(const struct alert_event *ev, const struct enmon_config *cfg, char *buf,
                     size_t len);

#endif
