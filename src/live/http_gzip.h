/* http_gzip.h -- gzip Content-Encoding for enmond's HTTP replies: Accept-Encoding parsing and
 * one-shot compression (zlib) into a buffer bounded by the body's size. */
#ifndef ENMON_HTTP_GZIP_H
#define ENMON_HTTP_GZIP_H

#include <stddef.h>

/* 1 when an Accept-Encoding header value (may be NULL) accepts gzip: a "gzip", "x-gzip" or
 * "*" coding whose q is not 0 ("gzip;q=0" refuses it). */
int http_gzip_accepted(const char *accept_encoding);

/* The gzip member (RFC 1952, zlib windowBits 31) of in[0..len) into a malloc'd *out of
 * *outlen bytes. The output buffer is sized once by deflateBound and trimmed, the zlib
 * state is freed before returning: memory per call is bounded by about twice len plus
 * zlib's 256 KiB. ENMON_OK, ENMON_ERR_NOMEM or ENMON_ERR_IO (zlib failed). */
int http_gzip(const char *in, size_t len, char **out, size_t *outlen);

#endif
