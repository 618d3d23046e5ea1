/* alerts.c -- the alert engine: a reading sink that steps the rules per device and emits alerts. */
#include "alerts.h"

#include "alert_config.h"
#include "alert_json.h"
#include "alert_learned.h"
#include "caltime.h"
#include "clock.h"
#include "err.h"
#include "log.h"
#include "queue.h"
#include "solar.h"

#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define QUEUE_CAP 8192
#define BATCH 256
#define TICK_MS 1000
#define PEER_FRESH_MS (10 * 60 * 1000) /* a peer's reading older than this is left out */
#define TRANSITIONS_MAX ALERT_EVENT_BITS

struct peer {
    double ratio; /* W per W of capacity */
    int64_t ms;   /* monotonic ms of the reading */
    uint32_t device;
};

/* The latest specific power of each inverter of one program, sorted by ratio:
 * updated on every reading, so a median always sees the peers' current readings. */
struct peer_set {
    struct peer *sorted; /* one entry per inverter that has a reading */
    size_t n, cap;       /* cap: inverters of the program with a capacity */
    double *scratch;     /* the fresh peers' ratios of one evaluation */
};

/* The resolved rule settings of a device: shared by every device that resolves to the same
 * ones (a city has a handful of distinct sets for thousands of devices). */
struct rule_set {
    struct alert_rule_cfg r[ALERT_RULE__COUNT];
    uint64_t hash;
};

struct dev_state {
    const struct alert_rule_cfg *rules;             /* rule_set.r, ALERT_RULE__COUNT of them */
    struct alert_rule_state *st[ALERT_RULE__COUNT]; /* NULL: rule off for this device */
    struct alert_debounce *bits;                    /* of its event rule (NULL: none) */
    struct alert_series *series;                    /* of its rules that keep one */
    struct alert_event *active;
    size_t nactive, cap;
    int64_t rx_clock_ms;          /* clock_mono_ms() when its last reading was stepped */
    int64_t last_mono, last_wall; /* that reading's own times */
    int export_expected;
};

struct alerts {
    const struct enmon_config *cfg;
    const struct alert_config *ac;
    struct alert_config defaults; /* when cfg->alerts is NULL */
    alerts_emit_fn emit;
    void *ctx;
    struct queue *q; /* struct reading */
    pthread_t thread;
    pthread_mutex_t lock;    /* device states, active alerts, stats */
    struct alert_event *out; /* raises and clears to emit once the lock is released */
    size_t nout, outcap;
    struct dev_state *devs;
    struct rule_set **sets; /* distinct resolved settings (devs[].rules point into them) */
    size_t nsets, capsets;
    struct peer_set *peers; /* per program */
    struct alerts_stats stats;
};

/* ---- ids and the active table -------------------------------------------------------------- */

static void alert_id(const struct alerts *a, uint32_t device, enum alert_rule_id rule, int key,
                     char *buf, size_t len)
{
    const char *dev = a->cfg->devices[device].id;
    const char *const *names = alert_rule_infos[rule].bit_names;
    if (key >= 0 && names && names[key])
        snprintf(buf, len, "%s/%s/%s", dev, alert_rule_name(rule), names[key]);
    else if (key >= 0)
        snprintf(buf, len, "%s/%s/bit%d", dev, alert_rule_name(rule), key);
    else
        snprintf(buf, len, "%s/%s", dev, alert_rule_name(rule));
}

static struct alert_event *find_active(struct dev_state *d, const char *id)
{
    for (size_t i = 0; i < d->nactive; i++)
        if (strcmp(d->active[i].id, id) == 0)
            return &d->active[i];
    return NULL;
}

static struct alert_event *add_active(struct dev_state *d)
{
    if (d->nactive == d->cap) {
        size_t ncap = d->cap ? d->cap * 2 : 4;
        struct alert_event *p = realloc(d->active, ncap * sizeof(*p));
        if (!p)
            return NULL;
        d->active = p;
        d->cap = ncap;
    }
    struct alert_event *ev = &d->active[d->nactive++];
    memset(ev, 0, sizeof(*ev));
    return ev;
}

static void remove_active(struct dev_state *d, struct alert_event *ev)
{
    size_t i = (size_t)(ev - d->active);
    d->active[i] = d->active[--d->nactive];
}

/* ---- emitting outside the lock ------------------------------------------------------------- */

/* Under a->lock: keeps ev for unlock_emit (the emit callback never runs under the lock). */
static void emit_later(struct alerts *a, const struct alert_event *ev)
{
    if (a->nout == a->outcap) {
        size_t ncap = a->outcap ? a->outcap * 2 : 8;
        struct alert_event *p = realloc(a->out, ncap * sizeof(*p));
        if (!p) {
            log_err("alerts: out of memory: %s %s not emitted", ev->id,
                    ev->raised ? "raise" : "clear");
            return;
        }
        a->out = p;
        a->outcap = ncap;
    }
    a->out[a->nout++] = *ev;
}

/* Releases a->lock, then emits the events kept while it was held, in order. */
static void unlock_emit(struct alerts *a)
{
    struct alert_event *out = a->out;
    size_t n = a->nout;
    a->out = NULL;
    a->nout = a->outcap = 0;
    pthread_mutex_unlock(&a->lock);
    for (size_t i = 0; i < n; i++)
        a->emit(a->ctx, &out[i]);
    free(out);
}

/* ---- transitions --------------------------------------------------------------------------- */

static void on_raise(struct alerts *a, uint32_t device, enum alert_rule_id rule,
                     const struct alert_transition *t, int64_t now_mono, int64_t now_wall)
{
    struct dev_state *d = &a->devs[device];
    char id[ALERT_ID_MAX];
    alert_id(a, device, rule, t->key, id, sizeof(id));
    if (find_active(d, id))
        return; /* restored: already known downstream */
    struct alert_event *ev = add_active(d);
    if (!ev) {
        log_err("alerts: out of memory raising %s", id);
        return;
    }
    ev->device = device;
    snprintf(ev->rule, sizeof(ev->rule), "%s", alert_rule_name(rule));
    snprintf(ev->cause, sizeof(ev->cause), "%s", t->cause);
    snprintf(ev->id, sizeof(ev->id), "%s", id);
    ev->severity = d->rules[rule].severity;
    ev->raised = 1;
    ev->first_seen_ms = now_wall - (now_mono - t->since_ms);
    ev->last_seen_ms = now_wall;
    ev->raised_ms = now_wall;
    ev->value = t->value;
    ev->clear_value = NAN;
    a->stats.raised++;
    emit_later(a, ev);
}

static void on_clear(struct alerts *a, uint32_t device, enum alert_rule_id rule,
                     const struct alert_transition *t, int64_t now_wall)
{
    struct dev_state *d = &a->devs[device];
    char id[ALERT_ID_MAX];
    alert_id(a, device, rule, t->key, id, sizeof(id));
    struct alert_event *act = find_active(d, id);
    if (!act)
        return;
    struct alert_event ev = *act;
    remove_active(d, act);
    ev.raised = 0;
    ev.last_seen_ms = now_wall;
    ev.clear_value = t->value; /* ev.value stays what raised it */
    a->stats.cleared++;
    emit_later(a, &ev);
}

static void step_rule(struct alerts *a, uint32_t device, enum alert_rule_id rule,
                      const struct alert_input *in, int64_t now_wall)
{
    struct dev_state *d = &a->devs[device];
    struct alert_transition t[TRANSITIONS_MAX];
    int n = alert_rule_step(rule, &d->rules[rule], d->st[rule], in, t, TRANSITIONS_MAX);
    for (int i = 0; i < n; i++) {
        if (t[i].action == ALERT_RAISE)
            on_raise(a, device, rule, &t[i], in->now_ms, now_wall);
        else
            on_clear(a, device, rule, &t[i], now_wall);
    }
}

/* ---- peers --------------------------------------------------------------------------------- */

/* Puts the device's latest ratio into its program's sorted set (replacing its previous one). */
static void peer_update(struct peer_set *ps, uint32_t device, double ratio, int64_t ms)
{
    size_t i = 0;
    while (i < ps->n && ps->sorted[i].device != device)
        i++;
    if (i < ps->n) {
        memmove(&ps->sorted[i], &ps->sorted[i + 1], (ps->n - i - 1) * sizeof(*ps->sorted));
        ps->n--;
    } else if (ps->n == ps->cap) {
        return; /* not a member (setup_peers counted every inverter with a capacity) */
    }
    size_t lo = 0, hi = ps->n; /* first entry with a larger ratio */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ps->sorted[mid].ratio <= ratio)
            lo = mid + 1;
        else
            hi = mid;
    }
    memmove(&ps->sorted[lo + 1], &ps->sorted[lo], (ps->n - lo) * sizeof(*ps->sorted));
    ps->sorted[lo] = (struct peer){ratio, ms, device};
    ps->n++;
}

/* Median specific power of the device's peers' latest readings of the last
 * PEER_FRESH_MS (itself left out), and how many peers that is. */
static double peer_ratio(struct alerts *a, uint32_t device, int64_t now, int *npeers)
{
    struct peer_set *ps = &a->peers[a->cfg->devices[device].program];
    size_t k = 0;
    for (size_t i = 0; i < ps->n; i++) {
        const struct peer *p = &ps->sorted[i];
        if (p->device != device && now - p->ms <= PEER_FRESH_MS && p->ms - now <= PEER_FRESH_MS)
            ps->scratch[k++] = p->ratio; /* still sorted */
    }
    *npeers = (int)k;
    return alert_median_without(ps->scratch, k, k);
}

/* ---- readings and ticks -------------------------------------------------------------------- */

static double local_hour(const struct alerts *a, int64_t wall_ms)
{
    double h = fmod((double)wall_ms / 1000.0 + (double)a->ac->tz_offset_s, (double)CALTIME_DAY_S) /
               CALTIME_HOUR_S;
    return h < 0 ? h + 24.0 : h;
}

static void fill_input(struct alerts *a, uint32_t device, const struct reading *r,
                       struct alert_input *in)
{
    const struct cfg_device *dev = &a->cfg->devices[device];
    struct dev_state *d = &a->devs[device];
    memset(in, 0, sizeof(*in));
    in->r = r;
    in->now_ms = r->mono_ms;
    in->kind = dev->kind;
    in->local_hour = local_hour(a, r->wall_ms);
    in->capacity_w = dev->capacity_w;
    in->export_expected = d->export_expected;
    in->peer_ratio = NAN;
    if (dev->kind != DEVICE_INVERTER)
        return;
    struct solar_pos sun =
        solar_position(a->ac->latitude_deg, a->ac->longitude_deg, (double)r->wall_ms / 1000.0);
    in->sun_elevation_deg = sun.elevation_deg;
    in->clear_sky_w = solar_clear_sky_ac_w(dev->capacity_w, sun.zenith_deg);
    if (d->st[ALERT_RULE_UNDER_PRODUCTION])
        in->peer_ratio = peer_ratio(a, device, r->mono_ms, &in->npeers);
}

static void process_reading(struct alerts *a, const struct reading *r)
{
    if (r->device >= a->cfg->ndevices)
        return;
    struct dev_state *d = &a->devs[r->device];
    const struct cfg_device *dev = &a->cfg->devices[r->device];
    d->rx_clock_ms = clock_mono_ms();
    d->last_mono = r->mono_ms;
    d->last_wall = r->wall_ms;
    if (dev->kind == DEVICE_INVERTER && dev->capacity_w > 0 && r->quality != READING_FAILED &&
        r->online && reading_has(r, MEAS_POWER_W) && isfinite(r->value[MEAS_POWER_W]) &&
        dev->program < (a->cfg->nprograms ? a->cfg->nprograms : 1))
        peer_update(&a->peers[dev->program], r->device, r->value[MEAS_POWER_W] / dev->capacity_w,
                    r->mono_ms);
    struct alert_input in;
    fill_input(a, r->device, r, &in);
    for (int rule = 0; rule < ALERT_RULE__COUNT; rule++)
        if (d->st[rule])
            step_rule(a, r->device, (enum alert_rule_id)rule, &in, r->wall_ms);
    a->stats.processed++;
}

/* Time passes for silent devices too: comm_loss is stepped without a reading,
 * at the device's own clock advanced by the time since its last reading. */
static void tick(struct alerts *a)
{
    int64_t now = clock_mono_ms();
    for (uint32_t i = 0; i < a->cfg->ndevices; i++) {
        struct dev_state *d = &a->devs[i];
        if (!d->st[ALERT_RULE_COMM_LOSS])
            continue;
        int64_t elapsed = now - d->rx_clock_ms;
        struct alert_input in = {
            .r = NULL, .now_ms = d->last_mono + elapsed, .kind = a->cfg->devices[i].kind};
        step_rule(a, i, ALERT_RULE_COMM_LOSS, &in, d->last_wall + elapsed);
    }
}

static void *engine_main(void *arg)
{
    struct alerts *a = arg;
    struct reading *batch = malloc(BATCH * sizeof(*batch));
    int64_t next_tick = clock_mono_ms() + TICK_MS;
    if (!batch) {
        log_err("alerts: out of memory: engine stopped");
        return NULL;
    }
    for (;;) {
        size_t n = queue_pop_batch(a->q, batch, BATCH, TICK_MS);
        pthread_mutex_lock(&a->lock);
        for (size_t i = 0; i < n; i++)
            process_reading(a, &batch[i]);
        int64_t now = clock_mono_ms();
        if (now >= next_tick) {
            tick(a);
            next_tick = now + TICK_MS;
        }
        unlock_emit(a);
        if (n == 0 && queue_drained(a->q))
            break;
    }
    free(batch);
    return NULL;
}

/* ---- setup --------------------------------------------------------------------------------- */

static int rule_applies(const struct cfg_device *dev, enum alert_rule_id rule,
                        const struct alert_rule_cfg *c)
{
    if (!c->enabled || !(alert_rule_infos[rule].kinds & (1u << dev->kind)))
        return 0;
    if (rule == ALERT_RULE_WELFARE_INACTIVITY && !dev->welfare)
        return 0;
    if (rule == ALERT_RULE_UNDER_PRODUCTION && dev->capacity_w <= 0)
        return 0;
    return 1;
}

/* A meter may export when it measures a battery (storage: true), its site has an inverter or
 * its program is solar. */
static int export_expected(const struct enmon_config *cfg, const struct cfg_device *dev)
{
    if (dev->storage)
        return 1;
    if (cfg->programs && dev->program < cfg->nprograms &&
        cfg->programs[dev->program].kind == PROGRAM_SOLAR)
        return 1;
    for (size_t i = 0; i < cfg->ndevices; i++)
        if (cfg->devices[i].site == dev->site && cfg->devices[i].kind == DEVICE_INVERTER)
            return 1;
    return 0;
}

/* FNV-1a over the resolved settings (only ever compared with sets built the same way). */
static uint64_t rule_set_hash(const struct alert_rule_cfg *r)
{
    const unsigned char *p = (const unsigned char *)r;
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < sizeof(struct alert_rule_cfg) * ALERT_RULE__COUNT; i++)
        h = (h ^ p[i]) * 1099511628211ull;
    return h;
}

/* The shared copy of settings equal to tmp (added when new); NULL when out of memory. */
static const struct alert_rule_cfg *rule_set_intern(struct alerts *a, const struct rule_set *tmp)
{
    for (size_t k = 0; k < a->nsets; k++)
        if (a->sets[k]->hash == tmp->hash && memcmp(a->sets[k]->r, tmp->r, sizeof(tmp->r)) == 0)
            return a->sets[k]->r;
    if (a->nsets == a->capsets) {
        size_t cap = a->capsets ? 2 * a->capsets : 8;
        struct rule_set **v = realloc(a->sets, cap * sizeof(*v));
        if (!v)
            return NULL;
        a->sets = v;
        a->capsets = cap;
    }
    struct rule_set *set = malloc(sizeof(*set));
    if (!set)
        return NULL;
    *set = *tmp;
    a->sets[a->nsets++] = set;
    return set->r;
}

static int setup_device(struct alerts *a, uint32_t i, int64_t now)
{
    const struct cfg_device *dev = &a->cfg->devices[i];
    struct dev_state *d = &a->devs[i];
    struct rule_set tmp;
    memset(&tmp, 0, sizeof(tmp)); /* padding too: sets are compared byte for byte */
    alert_config_resolve(a->ac, dev->program, dev->site, i, tmp.r);
    tmp.hash = rule_set_hash(tmp.r);
    if (!(d->rules = rule_set_intern(a, &tmp)))
        return ENMON_ERR_NOMEM;
    d->rx_clock_ms = now;
    d->last_mono = now;
    d->last_wall = clock_wall_ms();
    d->export_expected = dev->kind == DEVICE_METER && export_expected(a->cfg, dev);
    for (int r = 0; r < ALERT_RULE__COUNT; r++) {
        if (!rule_applies(dev, (enum alert_rule_id)r, &d->rules[r]))
            continue;
        if (!(d->st[r] = calloc(1, sizeof(*d->st[r]))))
            return ENMON_ERR_NOMEM;
        if (alert_rule_infos[r].bit_names) {
            if (!d->bits && !(d->bits = calloc(ALERT_EVENT_BITS, sizeof(*d->bits))))
                return ENMON_ERR_NOMEM;
            d->st[r]->bits = d->bits;
        }
        if (alert_rule_needs_series((enum alert_rule_id)r) &&
            !(d->st[r]->series = calloc(1, sizeof(*d->st[r]->series))))
            return ENMON_ERR_NOMEM;
        alert_rule_state_init(d->st[r], now);
    }
    return ENMON_OK;
}

static int setup_peers(struct alerts *a)
{
    const struct enmon_config *cfg = a->cfg;
    size_t np = cfg->nprograms ? cfg->nprograms : 1;
    if (!(a->peers = calloc(np, sizeof(*a->peers))))
        return ENMON_ERR_NOMEM;
    for (uint32_t i = 0; i < cfg->ndevices; i++) {
        const struct cfg_device *dev = &cfg->devices[i];
        if (dev->kind == DEVICE_INVERTER && dev->capacity_w > 0 && dev->program < np)
            a->peers[dev->program].cap++;
    }
    for (size_t p = 0; p < np; p++) {
        struct peer_set *ps = &a->peers[p];
        if (!ps->cap)
            continue;
        ps->sorted = calloc(ps->cap, sizeof(*ps->sorted));
        ps->scratch = calloc(ps->cap, sizeof(*ps->scratch));
        if (!ps->sorted || !ps->scratch)
            return ENMON_ERR_NOMEM;
    }
    return ENMON_OK;
}

static void free_engine(struct alerts *a)
{
    if (!a)
        return;
    for (size_t i = 0; a->devs && i < a->cfg->ndevices; i++) {
        for (int r = 0; r < ALERT_RULE__COUNT; r++) {
            if (a->devs[i].st[r])
                free(a->devs[i].st[r]->series);
            free(a->devs[i].st[r]);
        }
        free(a->devs[i].bits);
        free(a->devs[i].active);
    }
    free(a->devs);
    for (size_t k = 0; k < a->nsets; k++)
        free(a->sets[k]);
    free(a->sets);
    for (size_t p = 0; a->peers && p < (a->cfg->nprograms ? a->cfg->nprograms : 1); p++) {
        free(a->peers[p].sorted);
        free(a->peers[p].scratch);
    }
    free(a->peers);
    free(a);
}

int alerts_start(const struct enmon_config *cfg, alerts_emit_fn emit, void *ctx,
                 struct alerts **out)
{
    struct alerts *a = calloc(1, sizeof(*a));
    *out = NULL;
    if (!a)
        return ENMON_ERR_NOMEM;
    a->cfg = cfg;
    a->emit = emit;
    a->ctx = ctx;
    alert_config_defaults(&a->defaults);
    a->ac = cfg->alerts ? cfg->alerts : &a->defaults;
    a->devs = calloc(cfg->ndevices ? cfg->ndevices : 1, sizeof(*a->devs));
    int rc = a->devs ? setup_peers(a) : ENMON_ERR_NOMEM;
    int64_t now = clock_mono_ms();
    for (uint32_t i = 0; rc == ENMON_OK && i < cfg->ndevices; i++)
        rc = setup_device(a, i, now);
    if (rc != ENMON_OK) {
        free_engine(a);
        return rc;
    }
    if (queue_new(sizeof(struct reading), QUEUE_CAP, &a->q) != ENMON_OK) {
        free_engine(a);
        return ENMON_ERR_NOMEM;
    }
    pthread_mutex_init(&a->lock, NULL);
    if (pthread_create(&a->thread, NULL, engine_main, a) != 0) {
        pthread_mutex_destroy(&a->lock);
        queue_free(a->q);
        free_engine(a);
        return ENMON_ERR_NOMEM;
    }
    *out = a;
    return ENMON_OK;
}

int alerts_submit(struct alerts *a, const struct reading *r)
{
    return queue_push(a->q, r);
}

void alerts_stop(struct alerts *a)
{
    if (!a)
        return;
    queue_close(a->q);
    pthread_join(a->thread, NULL);
    pthread_mutex_destroy(&a->lock);
    queue_free(a->q);
    free_engine(a);
}

void alerts_get_stats(struct alerts *a, struct alerts_stats *out)
{
    uint64_t dropped = queue_dropped(a->q);
    pthread_mutex_lock(&a->lock);
    *out = a->stats;
    out->dropped = dropped;
    out->active = 0;
    for (size_t i = 0; i < a->cfg->ndevices; i++)
        out->active += a->devs[i].nactive;
    pthread_mutex_unlock(&a->lock);
}

size_t alerts_active(struct alerts *a, struct alert_event *out, size_t max)
{
    size_t total = 0;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->cfg->ndevices; i++)
        for (size_t j = 0; j < a->devs[i].nactive; j++, total++)
            if (total < max)
                out[total] = a->devs[i].active[j];
    pthread_mutex_unlock(&a->lock);
    return total;
}

int alerts_is_active(struct alerts *a, const char *id)
{
    int found = 0;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->cfg->ndevices && !found; i++)
        found = find_active(&a->devs[i], id) != NULL;
    pthread_mutex_unlock(&a->lock);
    return found;
}

/* ---- restore ------------------------------------------------------------------------------- */

/* Splits "<device>/<rule>[/<event>]" into the device index, rule and key. */
static int parse_id(const struct alerts *a, const char *id, uint32_t *device, int *rule, int *key)
{
    char buf[ALERT_ID_MAX];
    snprintf(buf, sizeof(buf), "%s", id);
    char *rname = strchr(buf, '/');
    if (!rname)
        return -1;
    *rname++ = '\0';
    char *kname = strchr(rname, '/');
    if (kname)
        *kname++ = '\0';
    if ((*rule = alert_rule_by_name(rname)) < 0)
        return -1;
    *key = -1;
    if (kname && (*key = alert_event_bit((enum alert_rule_id) * rule, kname)) < 0 &&
        sscanf(kname, "bit%d", key) != 1)
        return -1;
    if (*key >= ALERT_EVENT_BITS || (!kname) != (alert_rule_infos[*rule].bit_names == NULL))
        return -1;
    for (uint32_t i = 0; i < a->cfg->ndevices; i++) {
        if (strcmp(a->cfg->devices[i].id, buf) == 0) {
            *device = i;
            return 0;
        }
    }
    return -1;
}

static int restore_one(struct alerts *a, const struct alert_event *in)
{
    uint32_t device;
    int rule, key;
    if (parse_id(a, in->id, &device, &rule, &key) != 0) {
        log_info("alerts: not restoring %s: no such device or rule", in->id);
        return 0;
    }
    struct dev_state *d = &a->devs[device];
    if (find_active(d, in->id))
        return 0;
    struct alert_event *ev = add_active(d);
    if (!ev)
        return 0;
    *ev = *in;
    ev->device = device;
    ev->raised = 1;
    if (!ev->raised_ms) /* alert_store_load_active: the raise is its last_seen_ms */
        ev->raised_ms = ev->last_seen_ms;
    struct alert_rule_state *st = d->st[rule];
    if (!st) { /* the rule is off for this device now */
        ev->last_seen_ms = clock_wall_ms();
        struct alert_event cleared = *ev;
        cleared.raised = 0;
        cleared.clear_value = NAN;
        remove_active(d, ev);
        a->stats.cleared++;
        emit_later(a, &cleared);
        return 0;
    }
    struct alert_debounce *db = key >= 0 ? &st->bits[key] : &st->db;
    db->active = 1;
    db->hits = 0;
    return 1;
}

size_t alerts_restore(struct alerts *a, const struct alert_event *active, size_t n)
{
    size_t restored = 0;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < n; i++)
        restored += (size_t)restore_one(a, &active[i]);
    unlock_emit(a);
    return restored;
}

/* ---- learned state (saved across restarts) ----------------------------------------------- */

size_t alerts_learned(struct alerts *a, uint32_t *next, struct alert_learned *out, size_t max)
{
    size_t total = 0;
    int64_t now = clock_wall_ms();
    pthread_mutex_lock(&a->lock);
    uint32_t i = *next;
    for (; i < a->cfg->ndevices && max - total >= ALERT_RULE__COUNT; i++) {
        struct dev_state *d = &a->devs[i];
        for (int r = 0; r < ALERT_RULE__COUNT; r++) {
            struct alert_learned l;
            if (!d->st[r] || !alert_learned_applies((enum alert_rule_id)r) ||
                !alert_learned_get((enum alert_rule_id)r, &d->rules[r], d->st[r], &l))
                continue;
            l.device = i;
            l.saved_ms = now;
            out[total++] = l;
        }
    }
    *next = i;
    pthread_mutex_unlock(&a->lock);
    return total;
}

size_t alerts_restore_learned(struct alerts *a, const struct alert_learned *in, size_t n)
{
    size_t restored = 0;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < n; i++) {
        const struct alert_learned *l = &in[i];
        if (l->device >= a->cfg->ndevices || (unsigned)l->rule >= ALERT_RULE__COUNT)
            continue;
        struct dev_state *d = &a->devs[l->device];
        if (d->st[l->rule] && alert_learned_put(l->rule, &d->rules[l->rule], l, d->st[l->rule]))
            restored++;
    }
    pthread_mutex_unlock(&a->lock);
    return restored;
}

/* ---- payload ------------------------------------------------------------------------------- */

int alert_event_json(const struct alert_event *ev, const struct enmon_config *cfg, char *buf,
                     size_t len)
{
    struct alert_json a;
    if (alert_json_from_event(ev, cfg, &a) < 0)
        return -1;
    return alert_json_write(&a, buf, len);
}
