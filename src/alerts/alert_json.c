/* alert_json.c -- one alert as JSON, the same keys and formatting everywhere: the event
 * (MQTT payload, hook stdin, live frame) and the history record (enmon alerts, /api/alerts). */
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

/* "key":"<UTC ISO 8601>" ("" when it cannot be shown) */
static void jtime(struct jbuf *j, const char *key, int64_t ms)
{
    char t[48];
    if (payload_utc_time(ms, t, sizeof(t)) < 0)
        t[0] = '\0';
    jstr(j, key, t, 0);
}

/* "value":number, or null when unknown or not finite */
static void jvalue(struct jbuf *j, const struct alert_json *a)
{
    char num[64];
    int ok = a->has_value && payload_number(a->value, num, sizeof(num)) >= 0;
    jraw(j, "value", ok ? num : "null", 0);
}

/* "clear_value":number, when known and finite */
static void jclear_value(struct jbuf *j, const struct alert_json *a)
{
    char num[64];
    if (a->has_clear_value && payload_number(a->clear_value, num, sizeof(num)) >= 0)
        jraw(j, "clear_value", num, 0);
}

/* ---- the two shapes ------------------------------------------------------------------------ */

/* device, program, site, rule, severity, cause: the same in both shapes */
static void jwhat(struct jbuf *j, const struct alert_json *a)
{
    jstr(j, "device", a->device, 0);
    jstr(j, "program", a->program, 0);
    jstr(j, "site", a->site, 0);
    jstr(j, "rule", a->rule, 0);
    jstr(j, "severity", a->severity, 0);
    jstr(j, "cause", a->cause, 0);
}

static const char *state_name(const struct alert_json *a)
{
    return a->active ? "active" : "cleared";
}

static void write_event(struct jbuf *j, const struct alert_json *a)
{
    jstr(j, "id", a->key, 1);
    jwhat(j, a);
    jvalue(j, a);
    jtime(j, "first_seen", a->first_seen_ms);
    jint(j, "first_seen_ms", a->first_seen_ms, 0);
    jtime(j, "last_seen", a->last_seen_ms);
    jint(j, "last_seen_ms", a->last_seen_ms, 0);
    jstr(j, "state", state_name(a), 0);
    if (!a->active)
        jclear_value(j, a);
}

static void write_record(struct jbuf *j, const struct alert_json *a)
{
    char t[48];
    jint(j, "id", a->row_id, 1);
    jstr(j, "key", a->key, 0);
    jwhat(j, a);
    if (a->has_value)
        jvalue(j, a);
    jint(j, "first_seen_ms", a->first_seen_ms, 0);
    if (payload_utc_time(a->raised_ms, t, sizeof(t)) > 0)
        jstr(j, "raised", t, 0);
    jint(j, "raised_ms", a->raised_ms, 0);
    jstr(j, "state", state_name(a), 0);
    if (a->cleared_ms)
        jint(j, "cleared_ms", a->cleared_ms, 0);
    jclear_value(j, a);
    if (a->clear_cause && a->clear_cause[0])
        jstr(j, "clear_cause", a->clear_cause, 0);
    if (a->acked_by && a->acked_by[0]) {
        jstr(j, "acked_by", a->acked_by, 0);
        jint(j, "acked_ms", a->acked_ms, 0);
    }
}

int alert_json_write(const struct alert_json *a, enum alert_json_form form, char *buf, size_t len)
{
    struct jbuf j = {buf, len, 0, len == 0};
    if (form == ALERT_JSON_EVENT)
        write_event(&j, a);
    else
        write_record(&j, a);
    jadd(&j, "}");
    return j.bad ? -1 : (int)j.used;
}

struct cJSON *alert_json_object(const struct alert_json *a, enum alert_json_form form)
{
    char buf[OBJECT_MAX];
    if (alert_json_write(a, form, buf, sizeof(buf)) < 0)
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
        .program = dev->program < cfg->nprograms ? cfg->programs[dev->program].id : "",
        .site = dev->site < cfg->nsites ? cfg->sites[dev->site].id : "",
        .rule = ev->rule,
        .severity = alert_severity_name(ev->severity),
        .cause = ev->cause,
        .has_value = 1,
        .value = ev->value,
        .has_clear_value = !ev->raised && isfinite(ev->clear_value),
        .clear_value = ev->clear_value,
        .active = ev->raised,
        .first_seen_ms = ev->first_seen_ms,
        .last_seen_ms = ev->last_seen_ms,
    };
    return 0;
}

void alert_json_from_row(const struct alert_row *row, struct alert_json *out)
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
}
