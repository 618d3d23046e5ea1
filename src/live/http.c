/* http.c -- enmond's HTTP server (libmicrohttpd): routing, bearer-token auth, the dashboard's
 * static files and the server-sent events of /api/live. */
#include "http.h"

#include "clock.h"
#include "err.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#ifndef ENMON_WEB_DIR
#define ENMON_WEB_DIR "/usr/local/share/enmon/web"
#endif
#ifndef ENMON_SOURCE_WEB_DIR
#define ENMON_SOURCE_WEB_DIR "web"
#endif

#define HTTP_CONNECTIONS_MAX 64
#define HTTP_TOKEN_MAX 256
#define SSE_WAIT_MS 1000
#define SSE_PING_MS 15000

struct http_server {
    struct MHD_Daemon *mhd;
    const struct api_env *env;
    char token[HTTP_TOKEN_MAX];
    char web_root[CFG_PATH_MAX];
    int port;
};

/* The dashboard's files: name, content type. Nothing else under web/ is served. */
static const struct {
    const char *path, *file, *type;
} statics[] = {
    {"/", "index.html", "text/html; charset=utf-8"},
    {"/index.html", "index.html", "text/html; charset=utf-8"},
    {"/app.js", "app.js", "text/javascript; charset=utf-8"},
    {"/style.css", "style.css", "text/css; charset=utf-8"},
};

int http_token_equal(const char *given, const char *expected)
{
    size_t lg = strlen(given), le = strlen(expected);
    unsigned char diff = (unsigned char)(lg != le);
    for (size_t i = 0; i < le; i++)
        diff |= (unsigned char)(expected[i] ^ (i < lg ? given[i] : 0));
    return diff == 0;
}

const char *http_web_root(const struct enmon_config *cfg)
{
    struct stat st;
    if (cfg->http.web_root[0])
        return cfg->http.web_root;
    if (stat(ENMON_WEB_DIR "/index.html", &st) == 0)
        return ENMON_WEB_DIR;
    return ENMON_SOURCE_WEB_DIR;
}

static enum MHD_Result queue_text(struct MHD_Connection *c, unsigned status, const char *type,
                                  const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"enmond\"");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* Authorization: Bearer <token>, or ?access_token= (EventSource cannot send headers). */
static int authorized(const struct http_server *h, struct MHD_Connection *c)
{
    if (!h->token[0])
        return 1;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
        return http_token_equal(auth + 7, h->token);
    const char *q = MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "access_token");
    return q && http_token_equal(q, h->token);
}

static enum MHD_Result serve_static(struct http_server *h, struct MHD_Connection *c,
                                    const char *url)
{
    for (size_t i = 0; i < sizeof(statics) / sizeof(statics[0]); i++) {
        if (strcmp(url, statics[i].path) != 0)
            continue;
        char path[CFG_PATH_MAX + 32];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", h->web_root, statics[i].file);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) != 0) {
            if (fd >= 0)
                close(fd);
            return queue_text(c, MHD_HTTP_NOT_FOUND, "text/plain", "dashboard file missing\n");
        }
        struct MHD_Response *r = MHD_create_response_from_fd((size_t)st.st_size, fd);
        if (!r) {
            close(fd);
            return MHD_NO;
        }
        MHD_add_response_header(r, "Content-Type", statics[i].type);
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; connect-src 'self'; img-src 'self' data:");
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
    }
    return queue_text(c, MHD_HTTP_NOT_FOUND, "application/json", "{\"error\":\"not found\"}");
}

/* ---- server-sent events ------------------------------------------------------------- */

struct sse {
    struct live *live;
    uint64_t gen;
    char *buf; /* pending bytes of the current event */
    size_t len, off;
    int64_t last_ms;
};

static int sse_next(struct sse *s)
{
    char *json = live_wait_frame(s->live, &s->gen, SSE_WAIT_MS);
    free(s->buf);
    s->buf = NULL;
    s->len = s->off = 0;
    if (json) {
        size_t n = strlen(json) + 32;
        s->buf = malloc(n);
        if (s->buf)
            s->len = (size_t)snprintf(s->buf, n, "event: summary\ndata: %s\n\n", json);
        free(json);
        s->last_ms = clock_mono_ms();
    } else if (clock_mono_ms() - s->last_ms >= SSE_PING_MS) {
        s->buf = strdup(": ping\n\n");
        s->len = s->buf ? strlen(s->buf) : 0;
        s->last_ms = clock_mono_ms();
    }
    return live_closed(s->live) ? -1 : 0;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct sse *s = cls;
    while (s->off >= s->len) {
        if (sse_next(s) < 0)
            return MHD_CONTENT_READER_END_OF_STREAM;
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(out, s->buf + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    struct sse *s = cls;
    free(s->buf);
    free(s);
}

static enum MHD_Result serve_live(struct http_server *h, struct MHD_Connection *c)
{
    struct sse *s = calloc(1, sizeof(*s));
    if (!s)
        return MHD_NO;
    s->live = h->env->live;
    s->last_ms = clock_mono_ms();
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, 4096, sse_read, s, sse_free);
    if (!r) {
        free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- requests ----------------------------------------------------------------------- */

static const char *query_arg(void *ctx, const char *name)
{
    return MHD_lookup_connection_value(ctx, MHD_GET_ARGUMENT_KIND, name);
}

static enum MHD_Result serve_api(struct http_server *h, struct MHD_Connection *c, const char *url)
{
    struct api_reply rep;
    if (!api_handle(h->env, url, query_arg, c, &rep))
        return serve_static(h, c, url);
    if (!rep.body)
        return queue_text(c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "error\n");
    struct MHD_Response *r =
        MHD_create_response_from_buffer(rep.len, rep.body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(rep.body);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", rep.type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)rep.status, r);
    MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *data,
                                  size_t *data_len, void **state)
{
    static int first_call;
    struct http_server *h = cls;
    if (*state == NULL) { /* headers only so far: answer once they are complete */
        *state = &first_call;
        return MHD_YES;
    }
    if (strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return queue_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "application/json",
                          "{\"error\":\"only GET\"}");
    int api = strncmp(url, "/api/", 5) == 0 || strcmp(url, "/metrics") == 0;
    if (api && !authorized(h, c))
        return queue_text(c, MHD_HTTP_UNAUTHORIZED, "application/json",
                          "{\"error\":\"a bearer token is required\"}");
    if (strcmp(url, "/api/live") == 0)
        return serve_live(h, c);
    return api ? serve_api(h, c, url) : serve_static(h, c, url);
}

/* ---- start and stop ----------------------------------------------------------------- */

static int read_token(const char *path, char *buf, size_t len, char *msg, size_t msglen)
{
    FILE *f = fopen(path, "r");
    if (!f) {
        snprintf(msg, msglen, "http.token_file %s: %s", path, strerror(errno));
        return -1;
    }
    size_t n = fread(buf, 1, len - 1, f);
    fclose(f);
    buf[n] = '\0';
    while (n > 0 && isspace((unsigned char)buf[n - 1]))
        buf[--n] = '\0';
    size_t skip = strspn(buf, " \t\r\n");
    memmove(buf, buf + skip, n - skip + 1);
    if (!buf[0]) {
        snprintf(msg, msglen, "http.token_file %s is empty", path);
        return -1;
    }
    return 0;
}

static int bind_addr(const struct cfg_http *c, struct sockaddr_in *sa, char *msg, size_t msglen)
{
    memset(sa, 0, sizeof(*sa));
    sa->sin_family = AF_INET;
    sa->sin_port = htons((uint16_t)c->port);
    if (inet_pton(AF_INET, c->listen, &sa->sin_addr) != 1) {
        snprintf(msg, msglen, "http.listen '%s' is not an IPv4 address", c->listen);
        return -1;
    }
    return 0;
}

static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    log_msg(LOG_WARNING, "http: %s", buf);
}

int http_start(const struct api_env *env, struct http_server **out, char *msg, size_t msglen)
{
    const struct cfg_http *c = &env->cfg->http;
    struct sockaddr_in sa;
    *out = NULL;
    struct http_server *h = calloc(1, sizeof(*h));
    if (!h)
        return ENMON_ERR_NOMEM;
    h->env = env;
    snprintf(h->web_root, sizeof(h->web_root), "%s", http_web_root(env->cfg));
    if ((c->token_file[0] &&
         read_token(c->token_file, h->token, sizeof(h->token), msg, msglen) != 0) ||
        bind_addr(c, &sa, msg, msglen) != 0) {
        free(h);
        return ENMON_ERR_CONFIG;
    }
    h->mhd =
        MHD_start_daemon(MHD_USE_THREAD_PER_CONNECTION | MHD_USE_INTERNAL_POLLING_THREAD |
                             MHD_USE_POLL | MHD_USE_ERROR_LOG,
                         0, NULL, NULL, on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, NULL,
                         MHD_OPTION_SOCK_ADDR, (struct sockaddr *)&sa, MHD_OPTION_CONNECTION_LIMIT,
                         (unsigned)HTTP_CONNECTIONS_MAX, MHD_OPTION_CONNECTION_TIMEOUT, 60u,
                         MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
    if (!h->mhd) {
        snprintf(msg, msglen, "cannot listen on %s:%d", c->listen, c->port);
        free(h);
        return ENMON_ERR_IO;
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(h->mhd, MHD_DAEMON_INFO_BIND_PORT);
    h->port = info ? info->port : c->port;
    *out = h;
    return ENMON_OK;
}

int http_port(const struct http_server *h)
{
    return h ? h->port : 0;
}

void http_stop(struct http_server *h)
{
    if (!h)
        return;
    live_close_frames(h->env->live);
    MHD_stop_daemon(h->mhd);
    free(h);
}
