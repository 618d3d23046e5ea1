/* webhook_post.c -- one signed HTTPS POST of a notice: HMAC-SHA256 header, TLS, timeouts. */
#include "webhook_post.h"

#include "err.h"

#include <curl/curl.h>
#include <inttypes.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <pthread.h>
#include <stdio.h>
#include <string.h>

int webhook_sign(const char *secret, const char *body, size_t len, char out[WEBHOOK_SIG_MAX])
{
    unsigned char mac[EVP_MAX_MD_SIZE];
    unsigned int maclen = 0;
    static const char hex[] = "0123456789abcdef";
    if (!HMAC(EVP_sha256(), secret, (int)strlen(secret), (const unsigned char *)body, len, mac,
              &maclen) ||
        maclen != 32)
        return -1;
    memcpy(out, "sha256=", 7);
    for (unsigned int i = 0; i < maclen; i++) {
        out[7 + 2 * i] = hex[mac[i] >> 4];
        out[8 + 2 * i] = hex[mac[i] & 15];
    }
    out[7 + 2 * maclen] = '\0';
    return 0;
}

static pthread_once_t init_once = PTHREAD_ONCE_INIT;
static int init_rc = ENMON_ERR_IO;

static void init_curl(void)
{
    init_rc = curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? ENMON_OK : ENMON_ERR_IO;
}

int webhook_post_init(void)
{
    pthread_once(&init_once, init_curl);
    return init_rc;
}

/* The reply's body is not needed: counted and dropped. */
static size_t discard(char *ptr, size_t size, size_t n, void *arg)
{
    (void)ptr;
    (void)arg;
    return size * n;
}

/* The headers of one attempt; NULL when out of memory. */
static struct curl_slist *headers(const char *sig, const char *key, int64_t now_s)
{
    char line[WEBHOOK_SIG_MAX + 600];
    struct curl_slist *h = NULL, *next;
    const char *fixed[] = {"Content-Type: application/json; charset=utf-8",
                           "Expect:", "User-Agent: enmond"};
    for (size_t i = 0; i < sizeof(fixed) / sizeof(fixed[0]); i++) {
        if (!(next = curl_slist_append(h, fixed[i])))
            goto fail;
        h = next;
    }
    snprintf(line, sizeof(line), "X-Enmon-Signature: %s", sig);
    if (!(next = curl_slist_append(h, line)))
        goto fail;
    h = next;
    snprintf(line, sizeof(line), "X-Enmon-Timestamp: %" PRId64, now_s);
    if (!(next = curl_slist_append(h, line)))
        goto fail;
    h = next;
    snprintf(line, sizeof(line), "Idempotency-Key: %s", key);
    if (!(next = curl_slist_append(h, line)))
        goto fail;
    return next;
fail:
    curl_slist_free_all(h);
    return NULL;
}

/* The one hardened client setup (the TLS options of the mqtt: section, same meaning). */
static void set_options(CURL *c, const struct alert_webhook_cfg *w, char *errbuf)
{
    curl_easy_setopt(c, CURLOPT_URL, w->url);
    curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_REDIR_PROTOCOLS_STR, "https");
    curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(c, CURLOPT_PROXY, ""); /* no proxy from the environment */
    curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)w->connect_timeout_ms);
    curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)w->timeout_ms);
    curl_easy_setopt(c, CURLOPT_SSLVERSION, (long)CURL_SSLVERSION_TLSv1_2);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
    curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, w->tls_insecure ? 0L : 2L);
    if (w->cafile[0])
        curl_easy_setopt(c, CURLOPT_CAINFO, w->cafile);
    if (w->certfile[0]) {
        curl_easy_setopt(c, CURLOPT_SSLCERT, w->certfile);
        curl_easy_setopt(c, CURLOPT_SSLKEY, w->keyfile);
    }
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
}

int webhook_post(const struct alert_webhook_cfg *w, const char *body, const char *key,
                 int64_t now_s, long *status, char *err, size_t errlen)
{
    char sig[WEBHOOK_SIG_MAX], errbuf[CURL_ERROR_SIZE] = "";
    size_t len = strlen(body);
    *status = 0;
    if (webhook_sign(w->secret, body, len, sig) != 0) {
        snprintf(err, errlen, "HMAC-SHA256 failed");
        return ENMON_ERR_IO;
    }
    CURL *c = curl_easy_init();
    struct curl_slist *h = c ? headers(sig, key, now_s) : NULL;
    if (!h) {
        snprintf(err, errlen, "%s", enmon_strerror(ENMON_ERR_NOMEM));
        curl_easy_cleanup(c);
        return ENMON_ERR_IO;
    }
    set_options(c, w, errbuf);
    curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)len);
    CURLcode rc = curl_easy_perform(c);
    if (rc == CURLE_OK)
        curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status);
    curl_slist_free_all(h);
    curl_easy_cleanup(c);
    if (rc != CURLE_OK) {
        snprintf(err, errlen, "%s", errbuf[0] ? errbuf : curl_easy_strerror(rc));
        return ENMON_ERR_IO;
    }
    if (*status < 200 || *status > 299) {
        snprintf(err, errlen, "HTTP status %ld", *status);
        return ENMON_ERR_IO;
    }
    return ENMON_OK;
}
