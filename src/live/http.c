/* http.c -- enmond's HTTP server (libmicrohttpd): routing, bearer-token auth, the dashboard's
 * static files and the server-sent events of /api/live. */
#include "http.h"

#include "clock.h"
#include "err.h"
#include "http_gzip.h"
#include "log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#ifndef ENMON_WEB_DIR
#define ENMON_WEB_DIR "/usr/local/share/enmon/web"
#endif
#ifndef ENMON_SOURCE_WEB_DIR
#define ENMON_SOURCE_WEB_DIR "web"
#endif

#define HTTP_THREADS 4               /* epoll event loops; handlers run on them */
#define HTTP_HEADER_TIMEOUT_MS 9500  /* from accept (or the previous reply) to complete headers */
#define HTTP_IDLE_TIMEOUT_S 10       /* no byte moved on a connection within a request */
#define HTTP_CONN_MEMORY (32 * 1024) /* libmicrohttpd's pool per connection: headers, buffers */
#define HTTP_SSE_BLOCK 4096          /* the reader's block, inside the connection's pool */
#define HTTP_FD_RESERVE 64           /* descriptors kept for the database, MQTT, links, logs */
#define HTTP_RETRY_AFTER "10"        /* seconds, with 503 when max_streams streams are open */
#define HTTP_TOKEN_MAX 256
#define HTTP_GZIP_MIN 1024 /* API replies this long or longer are gzipped when accepted */
#define HOUSEKEEP_MS 500   /* header deadlines: closed 9.5..10 s after the connection opened */
#define SSE_RESUME_MS 1000 /* suspended streams are resumed on a new frame and this often */
#define SSE_PING_MS 15000

struct sse;

/* One accepted connection (MHD socket context): the header deadline is checked on it. */
struct conn_track {
    struct conn_track *prev, *next;
    int fd;
    int in_request; /* headers complete, the reply is not done yet */
    int shut;       /* the deadline passed: shut down, libmicrohttpd closes it */
    int64_t since_ms;
};

struct http_server {
    struct MHD_Daemon *mhd;
    const struct api_env *env;
    char token[HTTP_TOKEN_MAX];
    char web_root[CFG_PATH_MAX];
    char cors[sizeof(((struct cfg_http *)0)->cors_origin)]; /* http.cors_origin, "" none */
    int port;
    int max_streams;
    pthread_mutex_t lock; /* streams, nstreams, conns, stopping */
    struct sse *streams;
    int nstreams;
    struct conn_track *conns;
    int stopping;
    pthread_t housekeeper;
    int housekeeping;
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

/* Access-Control-Allow-Origin with http.cors_origin (none without it). */
static void add_cors(const struct http_server *h, struct MHD_Response *r)
{
    if (!h->cors[0])
        return;
    MHD_add_response_header(r, "Access-Control-Allow-Origin", h->cors);
    if (strcmp(h->cors, "*") != 0)
        MHD_add_response_header(r, "Vary", "Origin");
}

static enum MHD_Result queue_text(const struct http_server *h, struct MHD_Connection *c,
                                  unsigned status, const char *type, const char *text)
{
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    add_cors(h, r);
    MHD_add_response_header(r, "Content-Type", type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    if (status == MHD_HTTP_UNAUTHORIZED)
        MHD_add_response_header(r, "WWW-Authenticate", "Bearer realm=\"enmond\"");
    enum MHD_Result ret = MHD_queue_response(c, status, r);
    MHD_destroy_response(r);
    return ret;
}

/* 405 with the methods the path takes: allow "POST" (acknowledging) or "GET, HEAD". */
static enum MHD_Result queue_not_allowed(const struct http_server *h, struct MHD_Connection *c,
                                         const char *allow)
{
    static const char post[] = "{\"error\":\"method not allowed: POST only\"}";
    static const char get[] = "{\"error\":\"method not allowed: GET or HEAD only\"}";
    const char *text = strcmp(allow, "POST") == 0 ? post : get;
    struct MHD_Response *r =
        MHD_create_response_from_buffer(strlen(text), (void *)text, MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    add_cors(h, r);
    MHD_add_response_header(r, "Content-Type", "application/json");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    MHD_add_response_header(r, "Allow", allow);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_METHOD_NOT_ALLOWED, r);
    MHD_destroy_response(r);
    return ret;
}

/* A CORS preflight (OPTIONS, only with http.cors_origin): 204 with what a request may send. */
static enum MHD_Result queue_preflight(const struct http_server *h, struct MHD_Connection *c,
                                       const char *allow)
{
    struct MHD_Response *r = MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
    if (!r)
        return MHD_NO;
    add_cors(h, r);
    MHD_add_response_header(r, "Access-Control-Allow-Methods", allow);
    MHD_add_response_header(r, "Access-Control-Allow-Headers", "Authorization");
    MHD_add_response_header(r, "Access-Control-Max-Age", "600");
    MHD_add_response_header(r, "Allow", allow);
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_NO_CONTENT, r);
    MHD_destroy_response(r);
    return ret;
}

/* Authorization: Bearer <token>; ?access_token= only where allowed (the EventSource of
 * /api/live cannot send headers). The query is never logged. */
static int authorized(const struct http_server *h, struct MHD_Connection *c, int query_ok)
{
    if (!h->token[0])
        return 1;
    const char *auth = MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Authorization");
    if (auth && strncasecmp(auth, "Bearer ", 7) == 0)
        return http_token_equal(auth + 7, h->token);
    const char *q =
        query_ok ? MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "access_token") : NULL;
    return q && http_token_equal(q, h->token);
}

/* Does If-None-Match (a list of tags, weak or strong, or "*") name etag? */
int http_etag_matches(const char *header, const char *etag)
{
    size_t n = strlen(etag);
    if (!header)
        return 0;
    for (const char *p = header; *p;) {
        p += strspn(p, " \t,");
        if (*p == '*')
            return 1;
        if (strncmp(p, "W/", 2) == 0)
            p += 2;
        if (strncmp(p, etag, n) == 0 &&
            (p[n] == '\0' || p[n] == ',' || p[n] == ' ' || p[n] == '\t'))
            return 1;
        p += strcspn(p, ",");
    }
    return 0;
}

static enum MHD_Result serve_static(struct http_server *h, struct MHD_Connection *c,
                                    const char *url)
{
    for (size_t i = 0; i < sizeof(statics) / sizeof(statics[0]); i++) {
        if (strcmp(url, statics[i].path) != 0)
            continue;
        char path[CFG_PATH_MAX + 32], etag[80];
        struct stat st;
        snprintf(path, sizeof(path), "%s/%s", h->web_root, statics[i].file);
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd < 0 || fstat(fd, &st) != 0) {
            if (fd >= 0)
                close(fd);
            return queue_text(h, c, MHD_HTTP_NOT_FOUND, "text/plain", "dashboard file missing\n");
        }
        /* the file's size and modification time: a changed file gets a new tag */
        snprintf(etag, sizeof(etag), "\"%llx-%llx-%lx\"", (unsigned long long)st.st_size,
                 (unsigned long long)st.st_mtim.tv_sec, (unsigned long)st.st_mtim.tv_nsec);
        if (http_etag_matches(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "If-None-Match"),
                              etag)) {
            close(fd);
            struct MHD_Response *nm =
                MHD_create_response_from_buffer(0, (void *)"", MHD_RESPMEM_PERSISTENT);
            if (!nm)
                return MHD_NO;
            MHD_add_response_header(nm, "ETag", etag);
            MHD_add_response_header(nm, "Cache-Control", "no-cache");
            enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_NOT_MODIFIED, nm);
            MHD_destroy_response(nm);
            return ret;
        }
        struct MHD_Response *r = MHD_create_response_from_fd((size_t)st.st_size, fd);
        if (!r) {
            close(fd);
            return MHD_NO;
        }
        MHD_add_response_header(r, "Content-Type", statics[i].type);
        MHD_add_response_header(r, "Cache-Control", "no-cache");
        MHD_add_response_header(r, "ETag", etag);
        MHD_add_response_header(r, "Content-Security-Policy",
                                "default-src 'self'; connect-src 'self'; img-src 'self' data:");
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
        MHD_destroy_response(r);
        return ret;
    }
    return queue_text(h, c, MHD_HTTP_NOT_FOUND, "application/json", "{\"error\":\"not found\"}");
}

/* ---- server-sent events ------------------------------------------------------------- */

/* A stream never holds a thread: with nothing to send its connection is suspended, and the
 * housekeeper resumes every suspended stream when a frame is due (at most HOUSEKEEP_MS). */
struct sse {
    struct sse *prev, *next;
    struct http_server *h;
    struct MHD_Connection *conn;
    int suspended;
    uint64_t gen;
    char *buf; /* pending bytes of the current event */
    size_t len, off;
    int64_t last_ms;
};

/* Fills buf with the next event without waiting; -1 once the frames are closed. */
static int sse_next(struct sse *s)
{
    struct live *live = s->h->env->live;
    char *json = live_wait_frame(live, &s->gen, 0);
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
    return live_closed(live) ? -1 : 0;
}

static ssize_t sse_read(void *cls, uint64_t pos, char *out, size_t max)
{
    struct sse *s = cls;
    (void)pos;
    if (s->off >= s->len && sse_next(s) < 0)
        return MHD_CONTENT_READER_END_OF_STREAM;
    if (s->off >= s->len) { /* nothing yet: park the connection until the housekeeper */
        int stop;
        pthread_mutex_lock(&s->h->lock);
        stop = s->h->stopping;
        if (!stop) {
            s->suspended = 1;
            MHD_suspend_connection(s->conn);
        }
        pthread_mutex_unlock(&s->h->lock);
        return stop ? MHD_CONTENT_READER_END_OF_STREAM : 0;
    }
    size_t n = s->len - s->off < max ? s->len - s->off : max;
    memcpy(out, s->buf + s->off, n);
    s->off += n;
    return (ssize_t)n;
}

static void sse_free(void *cls)
{
    struct sse *s = cls;
    struct http_server *h = s->h;
    pthread_mutex_lock(&h->lock);
    if (s->prev)
        s->prev->next = s->next;
    else
        h->streams = s->next;
    if (s->next)
        s->next->prev = s->prev;
    h->nstreams--;
    pthread_mutex_unlock(&h->lock);
    free(s->buf);
    free(s);
}

/* Resumes every suspended stream; the caller holds h->lock. */
static void sse_resume_all(struct http_server *h)
{
    for (struct sse *s = h->streams; s; s = s->next)
        if (s->suspended) {
            s->suspended = 0;
            MHD_resume_connection(s->conn);
        }
}

static enum MHD_Result serve_live(struct http_server *h, struct MHD_Connection *c)
{
    struct sse *s = calloc(1, sizeof(*s));
    if (!s)
        return MHD_NO;
    s->h = h;
    s->conn = c;
    s->last_ms = clock_mono_ms();
    pthread_mutex_lock(&h->lock);
    int full = h->nstreams >= h->max_streams;
    if (!full) {
        s->next = h->streams;
        if (h->streams)
            h->streams->prev = s;
        h->streams = s;
        h->nstreams++;
    }
    pthread_mutex_unlock(&h->lock);
    if (full) {
        free(s);
        struct MHD_Response *r = MHD_create_response_from_buffer(
            strlen("{\"error\":\"too many live streams\"}"),
            (void *)"{\"error\":\"too many live streams\"}", MHD_RESPMEM_PERSISTENT);
        if (!r)
            return MHD_NO;
        MHD_add_response_header(r, "Content-Type", "application/json");
        MHD_add_response_header(r, "Retry-After", HTTP_RETRY_AFTER);
        enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_SERVICE_UNAVAILABLE, r);
        MHD_destroy_response(r);
        return ret;
    }
    /* From here the response owns s: sse_free unlinks it, also when queueing fails. */
    struct MHD_Response *r =
        MHD_create_response_from_callback(MHD_SIZE_UNKNOWN, HTTP_SSE_BLOCK, sse_read, s, sse_free);
    if (!r) {
        sse_free(s);
        return MHD_NO;
    }
    MHD_add_response_header(r, "Content-Type", "text/event-stream");
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, MHD_HTTP_OK, r);
    MHD_destroy_response(r);
    return ret;
}

/* ---- connections: the header deadline ------------------------------------------------ */

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_ctx,
                          enum MHD_ConnectionNotificationCode code)
{
    struct http_server *h = cls;
    struct conn_track *t = *socket_ctx;
    if (code == MHD_CONNECTION_NOTIFY_STARTED) {
        const union MHD_ConnectionInfo *fd =
            MHD_get_connection_info(c, MHD_CONNECTION_INFO_CONNECTION_FD);
        t = calloc(1, sizeof(*t));
        if (!t || !fd) {
            free(t);
            return;
        }
        t->fd = fd->connect_fd;
        t->since_ms = clock_mono_ms();
        pthread_mutex_lock(&h->lock);
        t->next = h->conns;
        if (h->conns)
            h->conns->prev = t;
        h->conns = t;
        pthread_mutex_unlock(&h->lock);
        *socket_ctx = t;
    } else if (t) { /* closed: before libmicrohttpd closes the descriptor */
        pthread_mutex_lock(&h->lock);
        if (t->prev)
            t->prev->next = t->next;
        else
            h->conns = t->next;
        if (t->next)
            t->next->prev = t->prev;
        pthread_mutex_unlock(&h->lock);
        free(t);
        *socket_ctx = NULL;
    }
}

static void conn_mark(struct http_server *h, struct MHD_Connection *c, int in_request)
{
    const union MHD_ConnectionInfo *i =
        MHD_get_connection_info(c, MHD_CONNECTION_INFO_SOCKET_CONTEXT);
    struct conn_track *t = i ? i->socket_context : NULL;
    if (!t)
        return;
    pthread_mutex_lock(&h->lock);
    t->in_request = in_request;
    t->since_ms = clock_mono_ms();
    pthread_mutex_unlock(&h->lock);
}

static void on_completed(void *cls, struct MHD_Connection *c, void **state,
                         enum MHD_RequestTerminationCode code)
{
    (void)state;
    (void)code;
    conn_mark(cls, c, 0);
}

/* Shuts down the connections whose headers did not arrive in time (slow or idle clients);
 * libmicrohttpd then reads end-of-file and closes them. The caller holds h->lock. */
static void conn_expire(struct http_server *h, int64_t now_ms)
{
    for (struct conn_track *t = h->conns; t; t = t->next)
        if (!t->in_request && !t->shut && now_ms - t->since_ms >= HTTP_HEADER_TIMEOUT_MS) {
            t->shut = 1;
            shutdown(t->fd, SHUT_RDWR);
        }
}

static void *housekeeper(void *arg)
{
    struct http_server *h = arg;
    struct live *live = h->env->live;
    uint64_t gen = 0;
    int64_t resumed_ms = 0;
    for (;;) {
        char *frame = NULL;
        if (live_closed(live)) {
            struct timespec ts = {0, 100 * 1000000L};
            nanosleep(&ts, NULL);
        } else {
            frame = live_wait_frame(live, &gen, HOUSEKEEP_MS);
        }
        int64_t now = clock_mono_ms();
        pthread_mutex_lock(&h->lock);
        int stop = h->stopping;
        if (frame || stop || live_closed(live) || now - resumed_ms >= SSE_RESUME_MS) {
            sse_resume_all(h);
            resumed_ms = now;
        }
        conn_expire(h, now);
        pthread_mutex_unlock(&h->lock);
        free(frame);
        if (stop)
            return NULL;
    }
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
        return queue_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "error\n");
    int gz = rep.len >= HTTP_GZIP_MIN &&
             http_gzip_accepted(MHD_lookup_connection_value(c, MHD_HEADER_KIND, "Accept-Encoding"));
    if (gz) { /* the plain body is freed at once: only the compressed one waits for the client */
        char *z = NULL;
        size_t zlen = 0;
        gz = http_gzip(rep.body, rep.len, &z, &zlen) == ENMON_OK;
        if (gz) {
            free(rep.body);
            rep.body = z;
            rep.len = zlen;
        }
    }
    struct MHD_Response *r =
        MHD_create_response_from_buffer(rep.len, rep.body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(rep.body);
        return MHD_NO;
    }
    if (gz)
        MHD_add_response_header(r, "Content-Encoding", "gzip");
    if (rep.disposition[0])
        MHD_add_response_header(r, "Content-Disposition", rep.disposition);
    add_cors(h, r);
    MHD_add_response_header(r, "Vary", "Accept-Encoding");
    MHD_add_response_header(r, "Content-Type", rep.type);
    MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = MHD_queue_response(c, (unsigned)rep.status, r);
    MHD_destroy_response(r);
    return ret;
}

/* POST /api/alerts/<which>/ack?by=NAME */
static int ack_url(const char *url)
{
    size_t n = strlen(url);
    return strncmp(url, "/api/alerts/", 12) == 0 && n > 12 + 4 && strcmp(url + n - 4, "/ack") == 0;
}

/* Acknowledging changes the record: only on a server with a token (checked before). */
static enum MHD_Result serve_ack(struct http_server *h, struct MHD_Connection *c, const char *url)
{
    char which[ALERT_ID_MAX];
    size_t n = strlen(url) - 12 - 4;
    if (!h->token[0])
        return queue_text(h, c, MHD_HTTP_FORBIDDEN, "application/json",
                          "{\"error\":\"acknowledging needs http.token_file\"}");
    if (n >= sizeof(which))
        return queue_text(h, c, MHD_HTTP_NOT_FOUND, "application/json",
                          "{\"error\":\"no such alert\"}");
    memcpy(which, url + 12, n);
    which[n] = '\0';
    struct api_reply rep;
    api_alert_ack(h->env, which, query_arg(c, "by"), &rep);
    if (!rep.body)
        return queue_text(h, c, MHD_HTTP_INTERNAL_SERVER_ERROR, "text/plain", "error\n");
    struct MHD_Response *r =
        MHD_create_response_from_buffer(rep.len, rep.body, MHD_RESPMEM_MUST_FREE);
    if (!r) {
        free(rep.body);
        return MHD_NO;
    }
    add_cors(h, r);
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
    (void)version;
    (void)data;
    if (*state == NULL) { /* headers complete: the header deadline no longer applies */
        *state = &first_call;
        conn_mark(h, c, 1);
        return MHD_YES;
    }
    const char *allow = ack_url(url) ? "POST" : "GET, HEAD";
    int ack = strcmp(method, "POST") == 0 && ack_url(url);
    if (ack && *data_len) { /* a request body is not read: NAME is in the query */
        *data_len = 0;
        return MHD_YES;
    }
    if (strcmp(method, "OPTIONS") == 0 && h->cors[0])
        return queue_preflight(h, c, allow);
    if (ack_url(url) ? !ack : strcmp(method, "GET") != 0 && strcmp(method, "HEAD") != 0)
        return queue_not_allowed(h, c, allow);
    int api = strncmp(url, "/api/", 5) == 0 || strcmp(url, "/metrics") == 0;
    int live = strcmp(url, "/api/live") == 0;
    if (api && !authorized(h, c, live))
        return queue_text(h, c, MHD_HTTP_UNAUTHORIZED, "application/json",
                          "{\"error\":\"a bearer token is required\"}");
    if (live)
        return serve_live(h, c);
    if (ack)
        return serve_ack(h, c, url);
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

/* libmicrohttpd's own messages; the token is masked should one ever quote a request. */
static void mhd_log(void *cls, const char *fmt, va_list ap)
{
    const struct http_server *h = cls;
    char buf[512];
    vsnprintf(buf, sizeof(buf), fmt, ap);
    buf[strcspn(buf, "\n")] = '\0';
    size_t lt = strlen(h->token);
    for (char *t = buf; lt && (t = strstr(t, h->token)) != NULL; t += lt)
        memset(t, '*', lt);
    log_msg(LOG_WARNING, "http: %s", buf);
}

/* Raises the descriptor limit for max_connections; returns the connections it allows. */
static unsigned fd_budget(unsigned want)
{
    struct rlimit rl;
    if (getrlimit(RLIMIT_NOFILE, &rl) != 0)
        return want;
    rlim_t need = (rlim_t)want + HTTP_FD_RESERVE;
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need) {
        rl.rlim_cur = rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= need ? need : rl.rlim_max;
        setrlimit(RLIMIT_NOFILE, &rl);
        getrlimit(RLIMIT_NOFILE, &rl);
    }
    if (rl.rlim_cur != RLIM_INFINITY && rl.rlim_cur < need)
        return rl.rlim_cur > 2 * HTTP_FD_RESERVE ? (unsigned)(rl.rlim_cur - HTTP_FD_RESERVE) : 64;
    return want;
}

static struct MHD_Daemon *mhd_start(struct http_server *h, const struct cfg_http *c,
                                    struct sockaddr_in *sa, unsigned conns)
{
    return MHD_start_daemon(
        MHD_USE_EPOLL_INTERNAL_THREAD | MHD_ALLOW_SUSPEND_RESUME | MHD_USE_ERROR_LOG, 0, NULL, NULL,
        on_request, h, MHD_OPTION_EXTERNAL_LOGGER, mhd_log, h, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)sa, MHD_OPTION_THREAD_POOL_SIZE, (unsigned)HTTP_THREADS,
        MHD_OPTION_CONNECTION_LIMIT, conns, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
        (unsigned)c->connections_per_address, MHD_OPTION_CONNECTION_TIMEOUT,
        (unsigned)HTTP_IDLE_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)HTTP_CONN_MEMORY,
        MHD_OPTION_NOTIFY_CONNECTION, on_connection, h, MHD_OPTION_NOTIFY_COMPLETED, on_completed,
        h, MHD_OPTION_LISTENING_ADDRESS_REUSE, 1u, MHD_OPTION_END);
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
    h->max_streams = c->max_streams;
    snprintf(h->web_root, sizeof(h->web_root), "%s", http_web_root(env->cfg));
    snprintf(h->cors, sizeof(h->cors), "%s", c->cors_origin);
    if ((c->token_file[0] &&
         read_token(c->token_file, h->token, sizeof(h->token), msg, msglen) != 0) ||
        bind_addr(c, &sa, msg, msglen) != 0) {
        free(h);
        return ENMON_ERR_CONFIG;
    }
    unsigned conns = fd_budget((unsigned)c->max_connections);
    if (conns < (unsigned)c->max_connections)
        log_msg(LOG_WARNING, "http: the descriptor limit allows %u connections, not %d", conns,
                c->max_connections);
    if ((int)conns - 8 < h->max_streams)
        h->max_streams = (int)conns > 16 ? (int)conns - 8 : 8;
    pthread_mutex_init(&h->lock, NULL);
    h->mhd = mhd_start(h, c, &sa, conns);
    if (!h->mhd) {
        snprintf(msg, msglen, "cannot listen on %s:%d", c->listen, c->port);
        pthread_mutex_destroy(&h->lock);
        free(h);
        return ENMON_ERR_IO;
    }
    h->housekeeping = pthread_create(&h->housekeeper, NULL, housekeeper, h) == 0;
    if (!h->housekeeping) {
        MHD_stop_daemon(h->mhd);
        pthread_mutex_destroy(&h->lock);
        free(h);
        snprintf(msg, msglen, "cannot start the HTTP housekeeping thread");
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
    pthread_mutex_lock(&h->lock);
    h->stopping = 1; /* streams end instead of suspending again */
    sse_resume_all(h);
    pthread_mutex_unlock(&h->lock);
    live_close_frames(h->env->live);
    pthread_join(h->housekeeper, NULL);
    MHD_stop_daemon(h->mhd);
    pthread_mutex_destroy(&h->lock);
    free(h);
}
