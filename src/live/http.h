/* http.h -- enmond's HTTP server (libmicrohttpd): routing, bearer-token auth, the dashboard's
 * static files and the server-sent events of /api/live. */
#ifndef ENMON_HTTP_H
#define ENMON_HTTP_H

#include "http_api.h"

#include <stddef.h>

struct http_server;

/* Starts listening on cfg->http.listen:port: HTTP_THREADS epoll loops serve up to
 * http.max_connections connections (http.connections_per_address each), headers must be
 * complete within 10 s, /api/live streams (at most http.max_streams, then 503) hold no
 * thread (docs/HTTP.md, "Limits"). env must outlive the server; its pointers are read by
 * the loops. The token of http.token_file (whitespace trimmed) is then required. ENMON_OK, ENMON_ERR_CONFIG
 * (bad address, unreadable or empty token file) or ENMON_ERR_IO (cannot listen), with a
 * reason in msg. */
int http_start(const struct api_env *env, struct http_server **out, char *msg, size_t msglen);

/* The port listened on (useful with port 0 in tests). */
int http_port(const struct http_server *h);

/* Ends the event streams (live_close_frames), stops and frees; h may be NULL. */
void http_stop(struct http_server *h);

/* Constant-time comparison of a presented token with the expected one: 1 equal. */
int http_token_equal(const char *given, const char *expected);

/* Does an If-None-Match header (a list of tags, weak W/ or strong, or "*") name etag (with
 * its quotes)? 1 yes, 0 no or no header. */
int http_etag_matches(const char *header, const char *etag);

/* The directory the dashboard is served from: http.web_root, else the installed
 * ENMON_WEB_DIR when it exists, else the source tree's web/ (ENMON_SOURCE_WEB_DIR). */
const char *http_web_root(const struct enmon_config *cfg);

#endif
