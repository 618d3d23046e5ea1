/* webhook_body.c -- what one webhook notice is: its route, idempotency key, JSON body and message.
 */
#include "webhook_body.h"

#include "alert_json.h"
#include "payload.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- route --------------------------------------------------------------------------------- */

static int rule_bit(const char *rule)
{
    for (int i = 0; i < ALERT_RULE__COUNT; i++)
        if (strcmp(alert_rule_infos[i].name, rule) == 0)
            return i;
    return -1;
}

int webhook_route_matches(const struct alert_webhook_cfg *w, const struct alert_event *ev,
                          const struct enmon_config *cfg)
{
    if (ev->device >= cfg->ndevices || ev->severity < w->min_severity)
        return 0;
    const struct cfg_device *dev = &cfg->devices[ev->device];
    if (w->nprograms) {
        int found = 0;
        for (int i = 0; i < w->nprograms && !found; i++)
            found = (uint32_t)w->programs[i] == dev->program;
        if (!found)
            return 0;
    }
    if (w->rules) {
        int bit = rule_bit(ev->rule);
        if (bit < 0 || !(w->rules & (UINT64_C(1) << bit)))
            return 0;
    }
    return !w->kinds || (w->kinds & (1u << dev->kind));
}

int webhook_idem_key(const struct alert_event *ev, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%s/%s/%" PRId64, ev->id, ev->raised ? "raise" : "clear",
                     ev->first_seen_ms);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

/* ---- the Korean message -------------------------------------------------------------------- */

struct ko_name {
    const char *en, *ko;
};

static const struct ko_name rule_ko[] = {
    {"comm_loss", "통신 두절"},
    {"inverter_fault", "인버터 고장"},
    {"inverter_event", "인버터 이벤트"},
    {"meter_event", "계량기 이벤트"},
    {"voltage_band", "전압 이상"},
    {"frequency_band", "주파수 이상"},
    {"under_production", "발전량 저하"},
    {"zero_production", "발전 중단"},
    {"unexpected_export", "예상 밖 역송전"},
    {"counter_anomaly", "계량값 이상"},
    {"welfare_inactivity", "생활 전력 없음(안부 확인 필요)"},
    {"abnormal_load", "이상 부하"},
    {"leakage_current", "누설전류 초과"},
    {"leakage_trend", "누설전류 증가 추세"},
    {"sensor_temperature", "함체 과열"},
    {"sensor_event", "센서 경보"},
};

/* Event causes (SunSpec model 103 Evt1, model 201 Evt, the pole sensor's status bits). */
static const struct ko_name cause_ko[] = {
    {"GROUND_FAULT", "지락"},
    {"DC_OVER_VOLT", "직류 과전압"},
    {"AC_DISCONNECT", "교류 차단"},
    {"DC_DISCONNECT", "직류 차단"},
    {"GRID_DISCONNECT", "계통 분리"},
    {"CABINET_OPEN", "함체 열림"},
    {"MANUAL_SHUTDOWN", "수동 정지"},
    {"OVER_TEMP", "과열"},
    {"OVER_FREQUENCY", "과주파수"},
    {"UNDER_FREQUENCY", "저주파수"},
    {"AC_OVER_VOLT", "교류 과전압"},
    {"AC_UNDER_VOLT", "교류 저전압"},
    {"BLOWN_STRING_FUSE", "스트링 퓨즈 단선"},
    {"UNDER_TEMP", "저온"},
    {"Power_Failure", "정전"},
    {"Under_Voltage", "저전압"},
    {"Over_Current", "과전류"},
    {"Over_Voltage", "과전압"},
    {"Low_PF", "저역률"},
    {"DOOR_OPEN", "문 열림"},
    {"TILT", "기울어짐"},
    {"LEAKAGE_ALARM", "누설 경보"},
    {"SENSOR_FAULT", "센서 고장"},
};

static const char *ko_of(const struct ko_name *t, size_t n, const char *en)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(t[i].en, en) == 0)
            return t[i].ko;
    return en;
}

int webhook_message_ko(const struct alert_event *ev, const struct enmon_config *cfg, char *buf,
                       size_t len)
{
    if (ev->device >= cfg->ndevices)
        return -1;
    const struct cfg_device *dev = &cfg->devices[ev->device];
    const char *site = dev->site < cfg->nsites ? cfg->sites[dev->site].name : "";
    const char *rule = ko_of(rule_ko, sizeof(rule_ko) / sizeof(rule_ko[0]), ev->rule);
    const char *cause = ko_of(cause_ko, sizeof(cause_ko) / sizeof(cause_ko[0]), ev->cause);
    int n = snprintf(buf, len, "[%s] %s%s%s %s%s%s", ev->raised ? "경보" : "해제", site,
                     site[0] ? " " : "", dev->name[0] ? dev->name : dev->id, rule,
                     cause[0] ? ": " : "", cause);
    return n < 0 || (size_t)n >= len ? -1 : n;
}

/* ---- the body ------------------------------------------------------------------------------ */

/* Appends ,"key":<string s> at *used; -1 when it does not fit. */
static int add_member(char *buf, size_t len, size_t *used, const char *key, const char *s)
{
    char k[CFG_ID_MAX * 6 + 8], v[WEBHOOK_BODY_MAX];
    if (payload_json_string(key, k, sizeof(k)) < 0 || payload_json_string(s, v, sizeof(v)) < 0)
        return -1;
    int n = snprintf(buf + *used, len - *used, ",%s:%s", k, v);
    if (n < 0 || (size_t)n >= len - *used)
        return -1;
    *used += (size_t)n;
    return 0;
}

int webhook_body(const struct alert_webhook_cfg *w, const struct alert_event *ev,
                 const struct enmon_config *cfg, char *buf, size_t len)
{
    struct alert_json a;
    char key[WEBHOOK_KEY_MAX], msg[1024];
    if (alert_json_from_event(ev, cfg, &a) != 0 || webhook_idem_key(ev, key, sizeof(key)) < 0)
        return -1;
    int n = alert_json_write(&a, buf, len);
    if (n < 2)
        return -1;
    size_t used = (size_t)n - 1; /* over the closing brace */
    if (add_member(buf, len, &used, "idempotency_key", key))
        return -1;
    if (w->tmpl == ALERT_TEMPLATE_KO && (webhook_message_ko(ev, cfg, msg, sizeof(msg)) < 0 ||
                                         add_member(buf, len, &used, "message", msg)))
        return -1;
    for (int i = 0; i < w->nfields; i++)
        if (add_member(buf, len, &used, w->field_key[i], w->field_value[i]))
            return -1;
    if (used + 2 > len)
        return -1;
    buf[used++] = '}';
    buf[used] = '\0';
    return (int)used;
}
