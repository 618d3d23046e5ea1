/* webhook_post.h -- one signed HTTPS POST of a notice: HMAC-SHA256 header, TLS, timeouts. */
#ifndef ENMON_WEBHOOK_POST_H
#define ENMON_WEBHOOK_POST_H

#include "alert_config.h"

#include <stddef.h>
#include <stdint.h>

#define WEBHOOK_SIG_MAX 80 /* "sha256=" and 64 hex digits, with the NUL */

/* "sha256=<hex of HMAC-SHA256(secret, body)>" into out. Returns 0, or -1 when libcrypto
 * fails. */
int webhook_sign(const char *secret, const char *body, size_t len, char out[WEBHOOK_SIG_MAX]);

/* Once per process, before the first webhook_post (curl_global_init). ENMON_OK or ENMON_ERR_IO. */
int webhook_post_init(void);

/* POSTs body to w->url: Content-Type application/json, X-Enmon-Signature (webhook_sign),
 * X-Enmon-Timestamp (now_s, seconds since the epoch, the time of this attempt) and
 * Idempotency-Key: key. https only, no redirects, no proxy from the environment; the peer's
 * chain is always verified (against w->cafile when set), its host name unless tls_insecure;
 * a client certificate when w->certfile is set. Gives up after w->connect_timeout_ms to connect
 * and w->timeout_ms in all. Returns ENMON_OK on a 2xx reply; otherwise ENMON_ERR_IO with
 * *status the HTTP status (0 when there was no reply) and the reason in err. */
int webhook_post(const struct alert_webhook_cfg *w, const char *body, const char *key,
                 int64_t now_s, long *status, char *err, size_t errlen);

#endif
