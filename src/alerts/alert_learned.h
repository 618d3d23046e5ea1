/* alert_learned.h -- what the welfare and abnormal-load rules learned, taken out and put back. */
#ifndef ENMON_ALERT_LEARNED_H
#define ENMON_ALERT_LEARNED_H

#include "alert_rules.h"

#include <stddef.h>
#include <stdint.h>

/* One slot of a welfare base load: the power sum and count of one slot
 * (learn/24 long, an hour by default) numbered from the epoch. */
struct alert_learned_slot {
    int64_t slot;
    double sum;
    uint32_t n;
};

/* The learned figures of one rule of one device (welfare_inactivity or
 * abnormal_load), as saved in the alert_learned table (docs/STORAGE.md). */
struct alert_learned {
    uint32_t device; /* index into enmon_config.devices */
    enum alert_rule_id rule;
    int64_t learn_ms;   /* the rule's `learn` when saved: figures of another learn are dropped */
    int64_t learned_ms; /* how much history the figures hold */
    double mean_w;      /* abnormal_load: the rolling mean */
    int nslots;         /* welfare_inactivity: slots with readings */
    struct alert_learned_slot slots[ALERT_WELFARE_SLOTS];
    int64_t saved_ms; /* wall ms of the snapshot */
};

/* 1 when rule learns something worth keeping across a restart. */
int alert_learned_applies(enum alert_rule_id rule);

/* Copies what st learned into out (device and saved_ms left 0 for the caller).
 * Returns 1, or 0 when the rule learns nothing or nothing has been learned yet. */
int alert_learned_get(enum alert_rule_id rule, const struct alert_rule_cfg *cfg,
                      const struct alert_rule_state *st, struct alert_learned *out);

/* Puts the figures of in back into st (a state fresh from alert_rule_state_init).
 * Returns 1, or 0 (st untouched) when in is for another rule, another `learn`,
 * or holds impossible figures. */
int alert_learned_put(enum alert_rule_id rule, const struct alert_rule_cfg *cfg,
                      const struct alert_learned *in, struct alert_rule_state *st);

/* The welfare slots as text, "slot:sum:n" separated by spaces (sums to 17
 * digits, so they read back exactly). Returns the length, or -1 when buf is
 * too small. */
int alert_learned_format_slots(const struct alert_learned *l, char *buf, size_t len);

/* Reads text of alert_learned_format_slots into l->slots and l->nslots.
 * Returns 0, or -1 on malformed text or more than ALERT_WELFARE_SLOTS slots. */
int alert_learned_parse_slots(const char *text, struct alert_learned *l);

#endif
