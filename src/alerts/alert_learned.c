/* alert_learned.c -- what the welfare and abnormal-load rules learned, taken out and put back. */
#include "alert_learned.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define HOUR_MS (3600 * 1000LL)

int alert_learned_applies(enum alert_rule_id rule)
{
    return rule == ALERT_RULE_WELFARE_INACTIVITY || rule == ALERT_RULE_ABNORMAL_LOAD;
}

/* The welfare slot length, as alert_rules.c computes it: learn / 24, or an hour. */
static int64_t learned_slot_ms(const struct alert_rule_cfg *cfg)
{
    int64_t slot = cfg->learn_ms / ALERT_WELFARE_SLOTS;
    return slot > 0 ? slot : HOUR_MS;
}

int alert_learned_get(enum alert_rule_id rule, const struct alert_rule_cfg *cfg,
                      const struct alert_rule_state *st, struct alert_learned *out)
{
    memset(out, 0, sizeof(*out));
    out->rule = rule;
    out->learn_ms = cfg->learn_ms;
    if (rule == ALERT_RULE_ABNORMAL_LOAD) {
        if (!st->u.load.have_prev && st->u.load.seen_ms == 0)
            return 0;
        out->mean_w = st->u.load.mean_w;
        out->learned_ms = st->u.load.seen_ms;
        return 1;
    }
    if (rule != ALERT_RULE_WELFARE_INACTIVITY)
        return 0;
    for (int i = 0; i < ALERT_WELFARE_SLOTS; i++) {
        if (st->series->n[i] == 0)
            continue;
        struct alert_learned_slot *s = &out->slots[out->nslots++];
        s->slot = st->series->key[i];
        s->sum = st->series->sum[i];
        s->n = st->series->n[i];
    }
    out->learned_ms = out->nslots * learned_slot_ms(cfg);
    return out->nslots > 0;
}

int alert_learned_put(enum alert_rule_id rule, const struct alert_rule_cfg *cfg,
                      const struct alert_learned *in, struct alert_rule_state *st)
{
    if (in->rule != rule || in->learn_ms != cfg->learn_ms || in->learned_ms < 0)
        return 0;
    if (rule == ALERT_RULE_ABNORMAL_LOAD) {
        if (!isfinite(in->mean_w))
            return 0;
        st->u.load.mean_w = in->mean_w;
        st->u.load.seen_ms = in->learned_ms;
        st->u.load.have_prev = 0; /* the next reading starts the clock again */
        return 1;
    }
    if (rule != ALERT_RULE_WELFARE_INACTIVITY || in->nslots < 0 || in->nslots > ALERT_WELFARE_SLOTS)
        return 0;
    for (int i = 0; i < in->nslots; i++)
        if (in->slots[i].n == 0 || !isfinite(in->slots[i].sum))
            return 0;
    for (int i = 0; i < in->nslots; i++) {
        const struct alert_learned_slot *s = &in->slots[i];
        int at =
            (int)(((s->slot % ALERT_WELFARE_SLOTS) + ALERT_WELFARE_SLOTS) % ALERT_WELFARE_SLOTS);
        st->series->key[at] = s->slot;
        st->series->sum[at] = s->sum;
        st->series->n[at] = s->n;
    }
    st->u.welfare.have_prev = 0;
    st->u.welfare.inactive_ms = 0;
    return 1;
}

int alert_learned_format_slots(const struct alert_learned *l, char *buf, size_t len)
{
    size_t off = 0;
    if (len == 0)
        return -1;
    buf[0] = '\0';
    for (int i = 0; i < l->nslots; i++) {
        int w =
            snprintf(buf + off, len - off, "%s%lld:%.17g:%lu", i ? " " : "",
                     (long long)l->slots[i].slot, l->slots[i].sum, (unsigned long)l->slots[i].n);
        if (w < 0 || (size_t)w >= len - off)
            return -1;
        off += (size_t)w;
    }
    return (int)off;
}

int alert_learned_parse_slots(const char *text, struct alert_learned *l)
{
    const char *p = text;
    int n = 0;
    for (;;) {
        while (*p == ' ')
            p++;
        if (*p == '\0')
            break;
        if (n == ALERT_WELFARE_SLOTS)
            return -1;
        char *end;
        errno = 0;
        long long slot = strtoll(p, &end, 10);
        if (end == p || *end != ':' || errno)
            return -1;
        p = end + 1;
        double sum = strtod(p, &end);
        if (end == p || *end != ':' || !isfinite(sum))
            return -1;
        p = end + 1;
        if (*p < '0' || *p > '9')
            return -1;
        unsigned long cnt = strtoul(p, &end, 10);
        if (end == p || (*end != ' ' && *end != '\0') || errno || cnt == 0 || cnt > UINT32_MAX)
            return -1;
        p = end;
        l->slots[n++] = (struct alert_learned_slot){(int64_t)slot, sum, (uint32_t)cnt};
    }
    l->nslots = n;
    return 0;
}
