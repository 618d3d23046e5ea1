/* test_webhook.c -- webhook notices: HMAC signature, idempotency key, body, Korean message,
 * routing, and the alerts.webhooks config with its located errors. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "support/doc_json.h"

#include "config.h"
#include "err.h"
#include "webhook_body.h"
#include "webhook_post.h"

#include <cjson/cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static const char *const BASE_YAML =
    "timezone: Asia/Seoul\n"             /* 1 */
    "programs:\n"                        /* 2 */
    "  - id: welfare-solar\n"            /* 3 */
    "    kind: solar\n"                  /* 4 */
    "    sites:\n"                       /* 5 */
    "      - id: centre-1\n"             /* 6 */
    "        name: '대전 햇살 복지관'\n" /* 7 */
    "        devices:\n"                 /* 8 */
    "          - {id: inv-1, name: '인버터', kind: inverter, link: 'tcp://127.0.0.1:1503',"
    " unit: 1}\n"                                                                   /* 9 */
    "  - id: ami\n"                                                                 /* 10 */
    "    kind: ami\n"                                                               /* 11 */
    "    sites:\n"                                                                  /* 12 */
    "      - id: flat-1\n"                                                          /* 13 */
    "        devices:\n"                                                            /* 14 */
    "          - {id: hall, kind: meter, link: 'tcp://127.0.0.1:1504', unit: 1}\n"; /* 15 */

static void write_config(const char *alerts_yaml, char path[64])
{
    snprintf(path, 64, "/tmp/enmon-test-webhook-XXXXXX");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    fputs(BASE_YAML, f);
    fputs(alerts_yaml, f);
    fclose(f);
}

static struct enmon_config *load(const char *alerts_yaml)
{
    char path[64], msg[512];
    struct cfg_error err;
    struct enmon_config *cfg = NULL;
    write_config(alerts_yaml, path);
    int rc = config_load(path, &cfg, &err);
    unlink(path);
    if (rc != ENMON_OK) {
        config_format_error(&err, msg, sizeof(msg));
        fail_msg("config: %s", msg);
    }
    return cfg;
}

static void expect_error(const char *alerts_yaml, int line, const char *field, const char *msg)
{
    char path[64];
    struct cfg_error err;
    struct enmon_config *cfg = NULL;
    write_config(alerts_yaml, path);
    int rc = config_load(path, &cfg, &err);
    unlink(path);
    assert_int_equal(rc, ENMON_ERR_CONFIG);
    assert_null(cfg);
    if (err.line != line || strcmp(err.field, field) != 0 || !strstr(err.msg, msg))
        fail_msg("got %d: %s: %s", err.line, err.field, err.msg);
}

static int device_index(const struct enmon_config *cfg, const char *id)
{
    for (size_t i = 0; i < cfg->ndevices; i++)
        if (strcmp(cfg->devices[i].id, id) == 0)
            return (int)i;
    fail_msg("no device %s", id);
    return -1;
}

/* The base file has 15 lines; alerts: starts on line 16. */
static const char *const ROUTES =
    "alerts:\n"                                                                     /* 16 */
    "  webhooks:\n"                                                                 /* 17 */
    "    - id: welfare-office\n"                                                    /* 18 */
    "      url: https://welfare.example/enmon\n"                                    /* 19 */
    "      secret: s3cret\n"                                                        /* 20 */
    "      template: ko\n"                                                          /* 21 */
    "      fields: {office: '유성구 복지정책과'}\n"                                 /* 22 */
    "      match: {programs: [welfare-solar]}\n"                                    /* 23 */
    "    - id: fire-service\n"                                                      /* 24 */
    "      url: https://119.example/hook\n"                                         /* 25 */
    "      secret: other\n"                                                         /* 26 */
    "      timeout: 3s\n"                                                           /* 27 */
    "      retry_min: 1s\n"                                                         /* 28 */
    "      retry_max: 20s\n"                                                        /* 29 */
    "      match: {rules: [inverter_event, leakage_current], severity: warning}\n"; /* 30 */

static struct alert_event event(const struct enmon_config *cfg, const char *dev, const char *rule,
                                const char *cause, int raised)
{
    struct alert_event ev;
    memset(&ev, 0, sizeof(ev));
    ev.device = (uint32_t)device_index(cfg, dev);
    snprintf(ev.rule, sizeof(ev.rule), "%s", rule);
    snprintf(ev.cause, sizeof(ev.cause), "%s", cause);
    snprintf(ev.id, sizeof(ev.id), "%s/%s%s%s", dev, rule, strcmp(cause, "GROUND_FAULT") ? "" : "/",
             strcmp(cause, "GROUND_FAULT") ? "" : cause);
    ev.severity = ALERT_CRITICAL;
    ev.raised = raised;
    ev.first_seen_ms = 1782010800123LL; /* 2026-06-21 12:00:00.123 KST */
    ev.last_seen_ms = 1782010860000LL;
    ev.value = 1;
    return ev;
}

/* RFC 4231 test case 2: HMAC-SHA256 with key "Jefe". */
static void test_sign_rfc4231(void **state)
{
    (void)state;
    char sig[WEBHOOK_SIG_MAX];
    const char *data = "what do ya want for nothing?";
    assert_int_equal(webhook_sign("Jefe", data, strlen(data), sig), 0);
    assert_string_equal(sig,
                        "sha256=5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843");
}

static void test_config_values(void **state)
{
    (void)state;
    struct enmon_config *cfg = load(ROUTES);
    const struct alert_config *ac = cfg->alerts;
    assert_int_equal(ac->nwebhooks, 2);
    const struct alert_webhook_cfg *w = &ac->webhooks[0], *f = &ac->webhooks[1];
    assert_string_equal(w->id, "welfare-office");
    assert_string_equal(w->secret, "s3cret");
    assert_int_equal(w->tmpl, ALERT_TEMPLATE_KO);
    assert_int_equal(w->nfields, 1);
    assert_string_equal(w->field_key[0], "office");
    assert_int_equal(w->nprograms, 1);
    assert_int_equal(w->programs[0], 0);
    assert_int_equal(w->timeout_ms, 15000); /* defaults */
    assert_int_equal(w->connect_timeout_ms, 5000);
    assert_int_equal(w->retry_min_ms, 5000);
    assert_int_equal(w->retry_max_ms, 300000);
    assert_int_equal(f->timeout_ms, 3000);
    assert_int_equal(f->retry_min_ms, 1000);
    assert_int_equal(f->retry_max_ms, 20000);
    assert_int_equal(f->min_severity, ALERT_WARNING);
    assert_true(f->rules == ((UINT64_C(1) << ALERT_RULE_INVERTER_EVENT) |
                             (UINT64_C(1) << ALERT_RULE_LEAKAGE_CURRENT)));
    config_free(cfg);
}

/* welfare alerts to the welfare office, electrical faults to the fire service, both for a
 * welfare site's ground fault, neither for an AMI voltage warning */
static void test_routing(void **state)
{
    (void)state;
    struct enmon_config *cfg = load(ROUTES);
    const struct alert_webhook_cfg *w = &cfg->alerts->webhooks[0], *f = &cfg->alerts->webhooks[1];
    struct alert_event gf = event(cfg, "inv-1", "inverter_event", "GROUND_FAULT", 1);
    struct alert_event comm = event(cfg, "inv-1", "comm_loss", "", 1);
    struct alert_event volt = event(cfg, "hall", "voltage_band", "voltage 196.40 V", 1);
    struct alert_event hall_gf = event(cfg, "hall", "inverter_event", "GROUND_FAULT", 1);
    assert_true(webhook_route_matches(w, &gf, cfg));
    assert_true(webhook_route_matches(f, &gf, cfg));
    assert_true(webhook_route_matches(w, &comm, cfg));
    assert_false(webhook_route_matches(f, &comm, cfg));
    assert_false(webhook_route_matches(w, &volt, cfg));
    assert_false(webhook_route_matches(f, &volt, cfg));
    assert_false(webhook_route_matches(w, &hall_gf, cfg));
    assert_true(webhook_route_matches(f, &hall_gf, cfg));
    hall_gf.severity = ALERT_INFO; /* below the fire service's warning */
    assert_false(webhook_route_matches(f, &hall_gf, cfg));
    config_free(cfg);
}

static void test_key_message_body(void **state)
{
    (void)state;
    struct enmon_config *cfg = load(ROUTES);
    const struct alert_webhook_cfg *w = &cfg->alerts->webhooks[0], *f = &cfg->alerts->webhooks[1];
    struct alert_event ev = event(cfg, "inv-1", "inverter_event", "GROUND_FAULT", 1);
    char key[WEBHOOK_KEY_MAX], msg[512], body[WEBHOOK_BODY_MAX];

    assert_int_equal(webhook_idem_key(&ev, key, sizeof(key)),
                     (int)strlen("inv-1/inverter_event/GROUND_FAULT/raise/1782010800123"));
    assert_string_equal(key, "inv-1/inverter_event/GROUND_FAULT/raise/1782010800123");
    assert_true(webhook_message_ko(&ev, cfg, msg, sizeof(msg)) > 0);
    assert_string_equal(msg, "[경보] 대전 햇살 복지관 인버터 인버터 이벤트: 지락");
    char small[10];
    assert_int_equal(webhook_idem_key(&ev, small, sizeof(small)), -1);

    int n = webhook_body(w, &ev, cfg, body, sizeof(body));
    /* docs/ALERTS.md "Webhooks", the body, byte for byte */
    assert_string_equal(
        body, "{\"id\":\"inv-1/inverter_event/GROUND_FAULT\",\"row\":null,\"device\":\"inv-1\","
              "\"device_name\":\"인버터\",\"program\":\"welfare-solar\","
              "\"program_name\":\"welfare-solar\",\"site\":\"centre-1\","
              "\"site_name\":\"대전 햇살 복지관\",\"rule\":\"inverter_event\","
              "\"severity\":\"critical\",\"cause\":\"GROUND_FAULT\",\"value\":1,"
              "\"state\":\"active\",\"first_seen\":\"2026-06-21T03:00:00.123Z\","
              "\"first_seen_ms\":1782010800123,\"raised\":\"2026-06-21T03:01:00.000Z\","
              "\"raised_ms\":1782010860000,\"last_seen\":\"2026-06-21T03:01:00.000Z\","
              "\"last_seen_ms\":1782010860000,\"cleared\":null,\"cleared_ms\":null,"
              "\"clear_value\":null,\"clear_cause\":null,\"acked_by\":null,\"acked\":null,"
              "\"acked_ms\":null,"
              "\"idempotency_key\":\"inv-1/inverter_event/GROUND_FAULT/raise/1782010800123\","
              "\"message\":\"[경보] 대전 햇살 복지관 인버터 인버터 이벤트: 지락\","
              "\"office\":\"유성구 복지정책과\"}");
    assert_int_equal(n, (int)strlen(body));
    if (doc_has_json("ALERTS.md", body) != 1)
        fail_msg("docs/ALERTS.md does not show the produced webhook body:\n%s", body);
    cJSON *j = cJSON_Parse(body);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "id")->valuestring,
                        "inv-1/inverter_event/GROUND_FAULT");
    assert_string_equal(cJSON_GetObjectItem(j, "program")->valuestring, "welfare-solar");
    assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "active");
    assert_string_equal(cJSON_GetObjectItem(j, "idempotency_key")->valuestring, key);
    assert_string_equal(cJSON_GetObjectItem(j, "message")->valuestring, msg);
    assert_string_equal(cJSON_GetObjectItem(j, "office")->valuestring, "유성구 복지정책과");
    cJSON_Delete(j);

    /* the clear: its own key and message; no template: no message */
    ev.raised = 0;
    assert_true(webhook_idem_key(&ev, key, sizeof(key)) > 0);
    assert_string_equal(key, "inv-1/inverter_event/GROUND_FAULT/clear/1782010800123");
    assert_true(webhook_message_ko(&ev, cfg, msg, sizeof(msg)) > 0);
    assert_string_equal(msg, "[해제] 대전 햇살 복지관 인버터 인버터 이벤트: 지락");
    assert_true(webhook_body(f, &ev, cfg, body, sizeof(body)) > 0);
    j = cJSON_Parse(body);
    assert_non_null(j);
    assert_string_equal(cJSON_GetObjectItem(j, "state")->valuestring, "cleared");
    assert_null(cJSON_GetObjectItem(j, "message"));
    cJSON_Delete(j);
    assert_int_equal(webhook_body(f, &ev, cfg, body, 40), -1);

    /* a rule or cause without a Korean name is shown as it is */
    struct alert_event v = event(cfg, "hall", "voltage_band", "voltage 196.40 V below 207.00 V", 1);
    assert_true(webhook_message_ko(&v, cfg, msg, sizeof(msg)) > 0);
    assert_string_equal(msg, "[경보] flat-1 hall 전압 이상: voltage 196.40 V below 207.00 V");
    config_free(cfg);
}

static void test_config_errors(void **state)
{
    (void)state;
    expect_error("alerts:\n  webhooks:\n    - {id: a, url: 'http://x/y', secret: s}\n", 18,
                 "alerts.webhooks[0].url", "https://");
    expect_error("alerts:\n  webhooks:\n    - {id: a, url: 'https://x/y'}\n", 18,
                 "alerts.webhooks[0]", "exactly one of 'secret' and 'secret_file'");
    expect_error("alerts:\n  webhooks:\n    - {id: a, url: 'https://x/y', secret: s}\n"
                 "    - {id: a, url: 'https://x/z', secret: s}\n",
                 19, "alerts.webhooks[1].id", "duplicate webhook id 'a'");
    expect_error("alerts:\n  webhooks:\n    - id: a\n      url: https://x/y\n      secret: s\n"
                 "      match: {programs: [nope]}\n",
                 21, "alerts.webhooks[0].match.programs", "no program with id 'nope'");
    expect_error("alerts:\n  webhooks:\n    - id: a\n      url: https://x/y\n      secret: s\n"
                 "      match: {rules: [voltage_bnad]}\n",
                 21, "alerts.webhooks[0].match.rules", "no alert rule named 'voltage_bnad'");
    expect_error("alerts:\n  webhooks:\n    - id: a\n      url: https://x/y\n      secret: s\n"
                 "      cafile: /nonexistent/ca.pem\n",
                 21, "alerts.webhooks[0].cafile", "cannot read");
    expect_error("alerts:\n  webhooks:\n    - id: a\n      url: https://x/y\n      secret: s\n"
                 "      retry_min: 10s\n      retry_max: 5s\n",
                 22, "alerts.webhooks[0].retry_max", "must not be below retry_min");
    expect_error("alerts:\n  webhooks:\n    - id: a\n      url: https://x/y\n      secret: s\n"
                 "      template: en\n",
                 21, "alerts.webhooks[0].template", "");
    expect_error("alerts:\n  webhooks:\n    - id: a\n      url: https://x/y\n      secret: s\n"
                 "      fields: {state: x}\n",
                 21, "alerts.webhooks[0].fields", "member of the alert JSON");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sign_rfc4231),  cmocka_unit_test(test_config_values),
        cmocka_unit_test(test_routing),       cmocka_unit_test(test_key_message_body),
        cmocka_unit_test(test_config_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
