/* alert_config.c -- the `alerts:` section: rule defaults, overrides by program/site/device, hook.
 */
#include "alert_config.h"

#include "caltime.h"
#include "cfg_error.h"
#include "err.h"
#include "webhook_config.h"
#include "yaml_doc.h"

#include <libfyaml.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define FIELD_MAX sizeof(((struct cfg_error *)0)->field)
#define DURATION_MAX_MS (30 * CALTIME_DAY_MS)
#define DAEJEON_LAT 36.35
#define DAEJEON_LON 127.38

struct aparse {
    struct ydoc *d;
    alert_find_id_fn find;
    const void *find_arg;
    int rc;
};

static const char *field_of(char *buf, const char *base, const char *key)
{
    if (snprintf(buf, FIELD_MAX, "%s.%s", base, key) < 0)
        buf[0] = '\0';
    return buf;
}

void alert_config_defaults(struct alert_config *ac)
{
    memset(ac, 0, sizeof(*ac));
    for (int i = 0; i < ALERT_RULE__COUNT; i++)
        ac->defaults[i] = alert_rule_infos[i].defaults;
    ac->hook.timeout_ms = 10000;
    ac->hook.retries = 2;
    ac->hook.retry_delay_ms = 5000;
    ac->latitude_deg = DAEJEON_LAT;
    ac->longitude_deg = DAEJEON_LON;
    ac->tz_offset_s = 9 * 3600L;
}

void alert_config_release(struct alert_config *ac)
{
    free(ac->overrides);
    ac->overrides = NULL;
    free(ac->webhooks); /* webhooks */
    ac->webhooks = NULL;
    ac->nwebhooks = 0;
    ac->noverrides = 0;
}

/* ---- rule parameters ----------------------------------------------------------------------- */

static int parse_events(struct aparse *P, struct fy_node *map, int rule, const char *field,
                        uint32_t *out)
{
    struct fy_node *seq = ydoc_child(map, "events");
    uint32_t mask = 0;
    if (!seq)
        return 0;
    if (ydoc_expect_seq(P->d, seq, field))
        return -1;
    for (int i = 0; i < ydoc_seq_len(seq); i++) {
        struct fy_node *n = ydoc_seq_at(seq, i);
        size_t len = 0;
        const char *s = fy_node_is_scalar(n) ? fy_node_get_scalar(n, &len) : NULL;
        char name[64];
        if (!s || len >= sizeof(name))
            return ydoc_error(P->d, n, field, "expected an event name");
        memcpy(name, s, len);
        name[len] = '\0';
        int bit = alert_event_bit((enum alert_rule_id)rule, name);
        if (bit < 0)
            return ydoc_error(P->d, n, field, "unknown event '%s' for %s", name,
                              alert_rule_name((enum alert_rule_id)rule));
        mask |= 1u << bit;
    }
    *out = mask;
    return 1;
}

static int parse_int_param(struct aparse *P, struct fy_node *map, enum alert_param p,
                           const char *field, struct alert_rule_cfg *c)
{
    long v;
    int rc;
    switch (p) {
    case ALERT_P_POLLS:
    case ALERT_P_CLEAR_POLLS:
    case ALERT_P_MIN_PEERS:
        rc = ydoc_int(P->d, map, alert_param_name(p), field, 1, 100000, &v);
        break;
    default: /* night hours */
        rc = ydoc_int(P->d, map, alert_param_name(p), field, 0, 24, &v);
        break;
    }
    if (rc <= 0)
        return rc;
    int *dst = p == ALERT_P_POLLS         ? &c->polls
               : p == ALERT_P_CLEAR_POLLS ? &c->clear_polls
               : p == ALERT_P_MIN_PEERS   ? &c->min_peers
               : p == ALERT_P_NIGHT_START ? &c->night_start
                                          : &c->night_end;
    *dst = (int)v;
    return 1;
}

static int parse_double_param(struct aparse *P, struct fy_node *map, enum alert_param p,
                              const char *field, struct alert_rule_cfg *c)
{
    static const struct {
        enum alert_param p;
        size_t off;
        double min, max;
    } t[] = {
        {ALERT_P_LOW, offsetof(struct alert_rule_cfg, low), -1e9, 1e9},
        {ALERT_P_HIGH, offsetof(struct alert_rule_cfg, high), -1e9, 1e9},
        {ALERT_P_MARGIN, offsetof(struct alert_rule_cfg, margin), 0, 1e9},
        {ALERT_P_RATIO, offsetof(struct alert_rule_cfg, ratio), 0, 1000},
        {ALERT_P_CLEAR_RATIO, offsetof(struct alert_rule_cfg, clear_ratio), 0, 1000},
        {ALERT_P_CLEAR_SKY_RATIO, offsetof(struct alert_rule_cfg, clear_sky_ratio), 0, 1},
        {ALERT_P_MIN_W, offsetof(struct alert_rule_cfg, min_w), 0, 1e9},
        {ALERT_P_ELEVATION, offsetof(struct alert_rule_cfg, elevation_deg), -90, 90},
        {ALERT_P_JUMP_FACTOR, offsetof(struct alert_rule_cfg, jump_factor), 1, 1000},
    };
    for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
        if (t[i].p == p)
            return ydoc_double(P->d, map, alert_param_name(p), field, t[i].min, t[i].max,
                               (double *)((char *)c + t[i].off));
    return 0;
}

/* One parameter of a rule mapping; 1 when given, 0 absent, -1 error. */
static int parse_param(struct aparse *P, struct fy_node *map, int rule, enum alert_param p,
                       const char *base, struct alert_rule_cfg *c)
{
    char f[FIELD_MAX];
    const char *field = field_of(f, base, alert_param_name(p));
    long ms;
    int rc, sev;

    switch (p) {
    case ALERT_P_ENABLED:
        return ydoc_bool(P->d, map, "enabled", field, &c->enabled);
    case ALERT_P_SEVERITY: {
        static const char *const names[] = {"info", "warning", "critical", NULL};
        rc = ydoc_enum(P->d, map, "severity", field, names, &sev);
        if (rc > 0)
            c->severity = (enum alert_severity)sev;
        return rc;
    }
    case ALERT_P_AFTER:
    case ALERT_P_CLEAR_AFTER:
    case ALERT_P_LEARN:
        rc = ydoc_duration_ms(P->d, map, alert_param_name(p), field,
                              p == ALERT_P_LEARN ? 1000 : 0, DURATION_MAX_MS, &ms);
        if (rc > 0)
            *(p == ALERT_P_AFTER         ? &c->after_ms
              : p == ALERT_P_CLEAR_AFTER ? &c->clear_after_ms
                                         : &c->learn_ms) = ms;
        return rc;
    case ALERT_P_EVENTS:
        return parse_events(P, map, rule, field, &c->events);
    case ALERT_P_POLLS:
    case ALERT_P_CLEAR_POLLS:
    case ALERT_P_MIN_PEERS:
    case ALERT_P_NIGHT_START:
    case ALERT_P_NIGHT_END:
        return parse_int_param(P, map, p, field, c);
    default:
        return parse_double_param(P, map, p, field, c);
    }
}

/* Checks the combination of a rule's parameters (as they will apply). */
static int check_rule(struct aparse *P, struct fy_node *at, int rule, const char *base,
                      const struct alert_rule_cfg *c)
{
    uint32_t params = alert_rule_infos[rule].params;
    if ((params & (1u << ALERT_P_LOW)) && c->low + c->margin > c->high - c->margin)
        return ydoc_error(P->d, at, base, "low + margin (%g) must not exceed high - margin (%g)",
                          c->low + c->margin, c->high - c->margin);
    if (rule == ALERT_RULE_LEAKAGE_TREND &&
        (c->learn_ms % 86400000 || c->learn_ms < 3 * 86400000LL ||
         c->learn_ms > (ALERT_TREND_DAYS - 1) * 86400000LL))
        return ydoc_error(P->d, at, base, "learn must be whole days, 3d..%dd (leakage_trend)",
                          ALERT_TREND_DAYS - 1);
    if ((params & (1u << ALERT_P_CLEAR_RATIO)) && c->clear_ratio < c->ratio)
        return ydoc_error(P->d, at, base, "clear_ratio (%g) must not be below ratio (%g)",
                          c->clear_ratio, c->ratio);
    return 0;
}

/* rule: {param: value ...} into c, marking given parameters in *set. */
static int parse_rule(struct aparse *P, struct fy_node *map, int rule, const char *base,
                      struct alert_rule_cfg *c, uint32_t *set)
{
    const char *keys[ALERT_P__COUNT + 1];
    uint32_t params = alert_rule_infos[rule].params;
    int nk = 0;

    for (int p = 0; p < ALERT_P__COUNT; p++)
        if (params & (1u << p))
            keys[nk++] = alert_param_name((enum alert_param)p);
    keys[nk] = NULL;
    if (ydoc_expect_map(P->d, map, base) || ydoc_check_keys(P->d, map, base, keys))
        return -1;
    for (int p = 0; p < ALERT_P__COUNT; p++) {
        if (!(params & (1u << p)))
            continue;
        int rc = parse_param(P, map, rule, (enum alert_param)p, base, c);
        if (rc < 0)
            return -1;
        if (rc > 0)
            *set |= 1u << p;
    }
    return 0;
}

/* ---- overrides ----------------------------------------------------------------------------- */

static void apply_set(struct alert_rule_cfg *dst, const struct alert_rule_cfg *src, uint32_t set)
{
    if (set & (1u << ALERT_P_ENABLED))
        dst->enabled = src->enabled;
    if (set & (1u << ALERT_P_SEVERITY))
        dst->severity = src->severity;
    if (set & (1u << ALERT_P_POLLS))
        dst->polls = src->polls;
    if (set & (1u << ALERT_P_AFTER))
        dst->after_ms = src->after_ms;
    if (set & (1u << ALERT_P_CLEAR_POLLS))
        dst->clear_polls = src->clear_polls;
    if (set & (1u << ALERT_P_CLEAR_AFTER))
        dst->clear_after_ms = src->clear_after_ms;
    if (set & (1u << ALERT_P_LEARN))
        dst->learn_ms = src->learn_ms;
    if (set & (1u << ALERT_P_LOW))
        dst->low = src->low;
    if (set & (1u << ALERT_P_HIGH))
        dst->high = src->high;
    if (set & (1u << ALERT_P_MARGIN))
        dst->margin = src->margin;
    if (set & (1u << ALERT_P_RATIO))
        dst->ratio = src->ratio;
    if (set & (1u << ALERT_P_CLEAR_RATIO))
        dst->clear_ratio = src->clear_ratio;
    if (set & (1u << ALERT_P_CLEAR_SKY_RATIO))
        dst->clear_sky_ratio = src->clear_sky_ratio;
    if (set & (1u << ALERT_P_MIN_W))
        dst->min_w = src->min_w;
    if (set & (1u << ALERT_P_ELEVATION))
        dst->elevation_deg = src->elevation_deg;
    if (set & (1u << ALERT_P_MIN_PEERS))
        dst->min_peers = src->min_peers;
    if (set & (1u << ALERT_P_NIGHT_START))
        dst->night_start = src->night_start;
    if (set & (1u << ALERT_P_NIGHT_END))
        dst->night_end = src->night_end;
    if (set & (1u << ALERT_P_JUMP_FACTOR))
        dst->jump_factor = src->jump_factor;
    if (set & (1u << ALERT_P_EVENTS))
        dst->events = src->events;
}

static int parse_match(struct aparse *P, struct fy_node *map, const char *base,
                       struct alert_override *o)
{
    static const char *const keys[] = {"program", "site", "device", NULL};
    char f[FIELD_MAX], id[CFG_ID_MAX];
    int *dst[3] = {&o->program, &o->site, &o->device};
    int given = 0;

    if (!map)
        return ydoc_error(P->d, NULL, base, "missing required key 'match'");
    if (ydoc_expect_map(P->d, map, base) || ydoc_check_keys(P->d, map, base, keys))
        return -1;
    for (int w = 0; w < 3; w++) {
        int rc = ydoc_str(P->d, map, keys[w], field_of(f, base, keys[w]), id, sizeof(id));
        if (rc < 0)
            return -1;
        if (rc == 0)
            continue;
        if ((*dst[w] = P->find(P->find_arg, (enum alert_match)w, id)) < 0)
            return ydoc_error(P->d, ydoc_child(map, keys[w]), f, "no %s with id '%s'", keys[w], id);
        given++;
    }
    if (!given)
        return ydoc_error(P->d, map, base, "match needs a program, site or device");
    return 0;
}

static int parse_override(struct aparse *P, struct fy_node *map, const char *base,
                          const struct alert_config *ac, struct alert_override *o)
{
    const char *keys[ALERT_RULE__COUNT + 2];
    char f[FIELD_MAX];

    memset(o, 0, sizeof(*o));
    o->program = o->site = o->device = -1;
    o->line = ydoc_line(map);
    keys[0] = "match";
    for (int i = 0; i < ALERT_RULE__COUNT; i++)
        keys[i + 1] = alert_rule_infos[i].name;
    keys[ALERT_RULE__COUNT + 1] = NULL;
    if (ydoc_expect_map(P->d, map, base) || ydoc_check_keys(P->d, map, base, keys) ||
        parse_match(P, ydoc_child(map, "match"), field_of(f, base, "match"), o))
        return -1;
    for (int i = 0; i < ALERT_RULE__COUNT; i++) {
        struct fy_node *r = ydoc_child(map, alert_rule_infos[i].name);
        if (!r)
            continue;
        o->values[i] = ac->defaults[i];
        field_of(f, base, alert_rule_infos[i].name);
        if (parse_rule(P, r, i, f, &o->values[i], &o->set[i]) ||
            check_rule(P, r, i, f, &o->values[i]))
            return -1;
    }
    return 0;
}

static int parse_overrides(struct aparse *P, struct fy_node *seq, struct alert_config *ac)
{
    char f[FIELD_MAX];
    int n = ydoc_seq_len(seq);

    if (!seq)
        return 0;
    if (ydoc_expect_seq(P->d, seq, "alerts.overrides"))
        return -1;
    ac->overrides = calloc(n > 0 ? (size_t)n : 1, sizeof(*ac->overrides));
    if (!ac->overrides) {
        P->rc = ENMON_ERR_NOMEM;
        return ydoc_error(P->d, seq, "alerts.overrides", "out of memory");
    }
    for (int i = 0; i < n; i++) {
        snprintf(f, sizeof(f), "alerts.overrides[%d]", i);
        if (parse_override(P, ydoc_seq_at(seq, i), f, ac, &ac->overrides[i]))
            return -1;
        ac->noverrides++;
    }
    return 0;
}

/* ---- hook and location --------------------------------------------------------------------- */

/* "30/h", "5/m", "100/d", "1/s" */
static int parse_rate(struct aparse *P, struct fy_node *map, struct alert_hook_cfg *h)
{
    char s[32], unit = 0, extra = 0;
    int count = 0;
    int rc = ydoc_str(P->d, map, "rate_limit", "alerts.hook.rate_limit", s, sizeof(s));

    if (rc <= 0)
        return rc;
    if (sscanf(s, "%d/%c%c", &count, &unit, &extra) != 2 || count < 1 || !strchr("smhd", unit))
        return ydoc_error(P->d, ydoc_child(map, "rate_limit"), "alerts.hook.rate_limit",
                          "expected COUNT/UNIT such as 30/h (units s, m, h, d), got '%s'", s);
    h->rate_count = count;
    h->rate_period_ms = unit == 's'   ? 1000
                        : unit == 'm' ? 60000
                        : unit == 'h' ? 3600000
                                      : CALTIME_DAY_MS;
    return 1;
}

static int parse_command(struct aparse *P, struct fy_node *seq, struct alert_hook_cfg *h)
{
    const char *field = "alerts.hook.command";
    if (!seq)
        return ydoc_error(P->d, NULL, field, "missing required key 'command'");
    if (ydoc_expect_seq(P->d, seq, field))
        return -1;
    int n = ydoc_seq_len(seq);
    if (n < 1 || n > ALERT_HOOK_ARGS_MAX)
        return ydoc_error(P->d, seq, field, "expected 1 to %d arguments, got %d",
                          ALERT_HOOK_ARGS_MAX, n);
    for (int i = 0; i < n; i++) {
        struct fy_node *a = ydoc_seq_at(seq, i);
        size_t len = 0;
        const char *s = fy_node_is_scalar(a) ? fy_node_get_scalar(a, &len) : NULL;
        if (!s || len >= ALERT_HOOK_ARG_MAX || memchr(s, '\0', len))
            return ydoc_error(P->d, a, field,
                              "argument %d: expected a string of at most %d "
                              "characters",
                              i, ALERT_HOOK_ARG_MAX - 1);
        memcpy(h->argv[i], s, len);
        h->argv[i][len] = '\0';
    }
    if (h->argv[0][0] != '/')
        return ydoc_error(P->d, ydoc_seq_at(seq, 0), field,
                          "the program must be an absolute path (no shell, no PATH search)");
    h->argc = n;
    return 0;
}

static int parse_hook(struct aparse *P, struct fy_node *map, struct alert_hook_cfg *h)
{
    static const char *const keys[] = {"command",     "timeout",    "retries",
                                       "retry_delay", "rate_limit", NULL};
    const char *base = "alerts.hook";
    long v;
    int rc;

    if (!map)
        return 0;
    if (ydoc_expect_map(P->d, map, base) || ydoc_check_keys(P->d, map, base, keys) ||
        parse_command(P, ydoc_child(map, "command"), h) || parse_rate(P, map, h) < 0)
        return -1;
    if ((rc = ydoc_duration_ms(P->d, map, "timeout", "alerts.hook.timeout", 100, 3600000, &v)) < 0)
        return -1;
    if (rc > 0)
        h->timeout_ms = v;
    if ((rc = ydoc_int(P->d, map, "retries", "alerts.hook.retries", 0, 10, &v)) < 0)
        return -1;
    if (rc > 0)
        h->retries = (int)v;
    rc = ydoc_duration_ms(P->d, map, "retry_delay", "alerts.hook.retry_delay", 0, 3600000, &v);
    if (rc < 0)
        return -1;
    if (rc > 0)
        h->retry_delay_ms = v;
    return 0;
}

static int parse_location(struct aparse *P, struct fy_node *map, struct alert_config *ac)
{
    static const char *const keys[] = {"latitude", "longitude", NULL};
    if (!map)
        return 0;
    if (ydoc_expect_map(P->d, map, "alerts.location") ||
        ydoc_check_keys(P->d, map, "alerts.location", keys) ||
        ydoc_double(P->d, map, "latitude", "alerts.location.latitude", -90, 90, &ac->latitude_deg) <
            0 ||
        ydoc_double(P->d, map, "longitude", "alerts.location.longitude", -180, 180,
                    &ac->longitude_deg) < 0)
        return -1;
    return 0;
}

static int parse_alerts(struct aparse *P, struct fy_node *map, struct alert_config *ac)
{
    const char *keys[ALERT_RULE__COUNT + 5];
    char f[FIELD_MAX];
    int nomem = 0;

    for (int i = 0; i < ALERT_RULE__COUNT; i++)
        keys[i] = alert_rule_infos[i].name;
    keys[ALERT_RULE__COUNT] = "overrides";
    keys[ALERT_RULE__COUNT + 1] = "hook";
    keys[ALERT_RULE__COUNT + 2] = "location";
    keys[ALERT_RULE__COUNT + 3] = "webhooks";
    keys[ALERT_RULE__COUNT + 4] = NULL;
    if (ydoc_expect_map(P->d, map, "alerts") || ydoc_check_keys(P->d, map, "alerts", keys))
        return -1;
    for (int i = 0; i < ALERT_RULE__COUNT; i++) {
        struct fy_node *r = ydoc_child(map, alert_rule_infos[i].name);
        uint32_t set = 0;
        field_of(f, "alerts", alert_rule_infos[i].name);
        if (r && (parse_rule(P, r, i, f, &ac->defaults[i], &set) ||
                  check_rule(P, r, i, f, &ac->defaults[i])))
            return -1;
    }
    if (parse_location(P, ydoc_child(map, "location"), ac) ||
        parse_hook(P, ydoc_child(map, "hook"), &ac->hook))
        return -1;
    if (webhook_config_parse(P->d, ydoc_child(map, "webhooks"), P->find, P->find_arg, ac,
                             &nomem)) {
        P->rc = nomem ? ENMON_ERR_NOMEM : P->rc;
        return -1;
    }
    return parse_overrides(P, ydoc_child(map, "overrides"), ac);
}

int alert_config_load(struct ydoc *d, struct fy_node *map, alert_find_id_fn find,
                      const void *find_arg, long tz_offset_s, struct alert_config *ac)
{
    struct aparse P = {.d = d, .find = find, .find_arg = find_arg, .rc = ENMON_ERR_CONFIG};

    alert_config_defaults(ac);
    ac->tz_offset_s = tz_offset_s;
    if (!map)
        return ENMON_OK;
    if (parse_alerts(&P, map, ac) != 0) {
        alert_config_release(ac);
        return P.rc;
    }
    return ENMON_OK;
}

static int override_level(const struct alert_override *o)
{
    return o->device >= 0 ? 2 : o->site >= 0 ? 1 : 0;
}

static int override_matches(const struct alert_override *o, uint32_t program, uint32_t site,
                            uint32_t device)
{
    return (o->program < 0 || (uint32_t)o->program == program) &&
           (o->site < 0 || (uint32_t)o->site == site) &&
           (o->device < 0 || (uint32_t)o->device == device);
}

void alert_config_resolve(const struct alert_config *ac, uint32_t program, uint32_t site,
                          uint32_t device, struct alert_rule_cfg out[ALERT_RULE__COUNT])
{
    memcpy(out, ac->defaults, sizeof(ac->defaults));
    for (int level = 0; level < 3; level++) {
        for (size_t i = 0; i < ac->noverrides; i++) {
            const struct alert_override *o = &ac->overrides[i];
            if (override_level(o) != level || !override_matches(o, program, site, device))
                continue;
            for (int r = 0; r < ALERT_RULE__COUNT; r++)
                apply_set(&out[r], &o->values[r], o->set[r]);
        }
    }
}
