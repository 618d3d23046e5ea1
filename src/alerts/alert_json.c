/* alert_json.c -- one alert as JSON, the same keys and formatting everywhere: the MQTT payload,
 * hook stdin and webhook body, the live frame, `enmon alerts` and /api/alerts. */
#include "alert_json.h"

#include "alert_store.h"
#include "alerts.h"
#include "payload.h"

#include <cjson/cJSON.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#define OBJECT_MAX 8192 /* alert_json_object: every string escaped at its worst */

/* ---- a bounded text buffer ----------------------------------------------------------------- */

struct jbuf {
    char *p;
    size_t len, used;
    int bad;
};

static void jadd(struct jbuf *j, const char *s)
{
    size_t n = strlen(s);
    if (j->bad || j->used + n >= j->len) {
        j->bad = 1;
        return;
    }
    memcpy(j->p + j->used, s, n + 1);
    j->used += n;
}

/* "key": (with the comma or brace before it) */
static void jkey(struct jbuf *j, const char *key, int first)
{
    jadd(j, first ? "{\"" : ",\"");
    jadd(j, key);
    jadd(j, "\":");
}

static void jstr(struct jbuf *j, const char *key, const char *val, int first)
{
    char tmp[6 * 128 + 8];
    jkey(j, key, first);
    if (payload_json_string(val ? val : "", tmp, sizeof(tmp)) < 0)
        j->bad = 1;
    else
        jadd(j, tmp);
}

static void jraw(struct jbuf *j, const char *key, const char *val, int first)
{
    jkey(j, key, first);
    jadd(j, val);
}

static void jint(struct jbuf *j, const char *key, int64_t v, int first)
{
    char n[32];
    snprintf(n, sizeof(n), "%lld", (long long)v);
    jraw(j, key, n, first);
}

/* "key":null */
static void jnull(struct jbuf *j, const char *key)
{
    jraw(j, key, "null", 0);
}

/* "key":"text", or null when val is NULL or "" */
static void jstr_or_null(struct jbuf *j, const char *key, const char *val)
{
    if (val && val[0])
        jstr(j, key, val, 0);
    else
        jnull(j, key);
}

/* "key":"<UTC ISO 8601>","key_ms":ms, or both null when ms is 0 (unknown or not yet) */
static void jtime(struct jbuf *j, const char *key, int64_t ms)
{
    char t[48], key_ms[40];
    snprintf(key_ms, sizeof(key_ms), "%s_ms", key);
    if (ms == 0 || payload_utc_time(ms, t, sizeof(t)) < 0) {
        jnull(j, key);
        jnull(j, key_ms);
        return;
    }
    jstr(j, key, t, 0);
    jint(j, key_ms, ms, 0);
}

/* "key":number, or null when unknown or not finite */
static void jnumber(struct jbuf *j, const char *key, int known, double v)
{
    char num[64];
    int ok = known && payload_number(v, num, sizeof(num)) >= 0;
    jraw(j, key, ok ? num : "null", 0);
}

/* ---- the one shape ------------------------------------------------------------------------- */

int alert_json_write(const struct alert_json *a, char *buf, size_t len)
{
    struct jbuf j = {buf, len, 0, len == 0};
    jstr(&j, "id", a->key, 1);
    if (a->row_id > 0)
        jint(&j, "row", a->row_id, 0);
    else
        jnull(&j, "row");
    jstr(&j, "device", a->device, 0);
    jstr_or_null(&j, "device_name", a->device_name);
    jstr(&j, "program", a->program, 0);
    jstr_or_null(&j, "program_name", a->program_name);
    jstr(&j, "site", a->site, 0);
    jstr_or_null(&j, "site_name", a->site_name);
    jstr(&j, "rule", a->rule, 0);
    jstr(&j, "severity", a->severity, 0);
    jstr(&j, "cause", a->cause, 0);
    jnumber(&j, "value", a->has_value, a->value);
    jstr(&j, "state", a->active ? "active" : "cleared", 0);
    jtime(&j, "first_seen", a->first_seen_ms);
    jtime(&j, "raised", a->raised_ms);
    jtime(&j, "last_seen", a->active ? a->raised_ms : a->cleared_ms);
    jtime(&j, "cleared", a->active ? 0 : a->cleared_ms);
    jnumber(&j, "clear_value", !a->active && a->has_clear_value, a->clear_value);
    jstr_or_null(&j, "clear_cause", a->active ? NULL : a->clear_cause);
    int acked = a->acked_by && a->acked_by[0];
    jstr_or_null(&j, "acked_by", acked ? a->acked_by : NULL);
    jtime(&j, "acked", acked ? a->acked_ms : 0);
    jadd(&j, "}");
    return j.bad ? -1 : (int)j.used;
}

struct cJSON *alert_json_object(const struct alert_json *a)
{
    char buf[OBJECT_MAX];
    if (alert_json_write(a, buf, sizeof(buf)) < 0)
        return NULL;
    return cJSON_Parse(buf);
}

/* ---- the fields from an engine event or a history row -------------------------------------- */

int alert_json_from_event(const struct alert_event *ev, const struct enmon_config *cfg,
                          struct alert_json *out)
{
    if (ev->device >= cfg->ndevices)
        return -1;
    const struct cfg_device *dev = &cfg->devices[ev->device];
    *out = (struct alert_json){
        .key = ev->id,
        .device = dev->id,
        .device_name = dev->name,
        .program = dev->program < cfg->nprograms ? cfg->programs[dev->program].id : "",
        .program_name = dev->program < cfg->nprograms ? cfg->programs[dev->program].name : NULL,
        .site = dev->site < cfg->nsites ? cfg->sites[dev->site].id : "",
        .site_name = dev->site < cfg->nsites ? cfg->sites[dev->site].name : NULL,
        .rule = ev->rule,
        .severity = alert_severity_name(ev->severity),
        .cause = ev->cause,
        .has_value = 1,
        .value = ev->value,
        .has_clear_value = !ev->raised && isfinite(ev->clear_value),
        .clear_value = ev->clear_value,
        .active = ev->raised,
        .first_seen_ms = ev->first_seen_ms,
        .raised_ms = ev->raised ? ev->last_seen_ms : ev->raised_ms,
        .cleared_ms = ev->raised ? 0 : ev->last_seen_ms,
    };
    return 0;
}

/* The names of the configured device, program and site with these ids (NULL: not there). */
static void names_of(const struct enmon_config *cfg, const struct alert_row *row,
                     struct alert_json *out)
{
    if (!cfg)
        return;
    for (size_t i = 0; i < cfg->ndevices && !out->device_name; i++)
        if (strcmp(cfg->devices[i].id, row->device) == 0)
            out->device_name = cfg->devices[i].name;
    for (size_t i = 0; i < cfg->nprograms && !out->program_name; i++)
        if (strcmp(cfg->programs[i].id, row->program) == 0)
            out->program_name = cfg->programs[i].name;
    for (size_t i = 0; i < cfg->nsites && !out->site_name; i++)
        if (strcmp(cfg->sites[i].id, row->site) == 0)
            out->site_name = cfg->sites[i].name;
}

void alert_json_from_row(const struct alert_row *row, const struct enmon_config *cfg,
                         struct alert_json *out)
{
    *out = (struct alert_json){
        .key = row->key,
        .row_id = row->id,
        .device = row->device,
        .program = row->program,
        .site = row->site,
        .rule = row->rule,
        .severity = row->severity,
        .cause = row->cause,
        .has_value = row->has_value,
        .value = row->value,
        .has_clear_value = row->has_clear_value,
        .clear_value = row->clear_value,
        .clear_cause = row->clear_cause,
        .active = row->cleared_ms == 0,
        .first_seen_ms = row->first_seen_ms,
        .raised_ms = row->raised_ms,
        .cleared_ms = row->cleared_ms,
        .acked_by = row->acked_by,
        .acked_ms = row->acked_ms,
    };
    names_of(cfg, row, out);
}
