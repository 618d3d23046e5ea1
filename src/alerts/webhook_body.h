/* webhook_body.h -- what one webhook notice is: its route, idempotency key, JSON body and message.
 */
#ifndef ENMON_WEBHOOK_BODY_H
#define ENMON_WEBHOOK_BODY_H

#include "alert_config.h"
#include "alerts.h"
#include "config.h"

#include <stddef.h>

#define WEBHOOK_KEY_MAX (ALERT_ID_MAX + 40)
#define WEBHOOK_BODY_MAX 8192

/* 1 when ev goes to w: its program among w's programs, its rule among w's rules, its device's
 * kind among w's kinds (each when given) and its severity at least w's. */
int webhook_route_matches(const struct alert_webhook_cfg *w, const struct alert_event *ev,
                          const struct enmon_config *cfg);

/* The idempotency key of ev: "<alert id>/raise/<first_seen_ms>" or "<alert id>/clear/<...>":
 * the same for every delivery of one raise or one clear, new for the next raise. Returns the
 * length, or -1 when buf is too small. */
int webhook_idem_key(const struct alert_event *ev, char *buf, size_t len);

/* The Korean message of ev: "[경보] <site name> <device name> <rule>: <cause>" for a raise,
 * "[해제] ..." for a clear; rule and known event causes in Korean (GROUND_FAULT: 지락),
 * other causes as they are. Returns the length, or -1 when buf is too small. */
int webhook_message_ko(const struct alert_event *ev, const struct enmon_config *cfg, char *buf,
                       size_t len);

/* The body POSTed for ev: the alert JSON (alert_json.h, event shape), then
 * "idempotency_key", "message" (template ko) and w's constant fields. Returns the length, or -1
 * when buf is too small or ev->device is out of range. */
int webhook_body(const struct alert_webhook_cfg *w, const struct alert_event *ev,
                 const struct enmon_config *cfg, char *buf, size_t len);

#endif
