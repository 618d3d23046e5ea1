/* http_gzip.c -- gzip Content-Encoding for enmond's HTTP replies (zlib, one shot). */
#include "http_gzip.h"

#include "err.h"

#include <ctype.h>
#include <limits.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zlib.h>

#define GZIP_WINDOW_BITS 31 /* 15 (32 KiB window) + 16: a gzip header and trailer */
#define GZIP_MEM_LEVEL 8
#define GZIP_LEVEL 1 /* fastest: the city's /metrics still shrinks 11 times (PERFORMANCE.md) */

/* q of one coding's parameters ("; q=0.5"): 0 only for q=0, q=0.0, q=0.00, q=0.000. */
static int q_is_zero(const char *p, const char *end)
{
    while (p < end) {
        while (p < end && (*p == ';' || isspace((unsigned char)*p)))
            p++;
        if (end - p >= 2 && (p[0] == 'q' || p[0] == 'Q') && p[1] == '=') {
            p += 2;
            if (p >= end || *p != '0')
                return 0;
            for (p++; p < end && (*p == '.' || *p == '0'); p++)
                ;
            return p >= end || *p == ';' || isspace((unsigned char)*p);
        }
        while (p < end && *p != ';')
            p++;
    }
    return 0;
}

int http_gzip_accepted(const char *h)
{
    while (h && *h) {
        const char *end = strchr(h, ',');
        if (!end)
            end = h + strlen(h);
        while (h < end && isspace((unsigned char)*h))
            h++;
        size_t n = 0;
        while (h + n < end && h[n] != ';' && !isspace((unsigned char)h[n]))
            n++;
        int gz = (n == 4 && strncasecmp(h, "gzip", 4) == 0) ||
                 (n == 6 && strncasecmp(h, "x-gzip", 6) == 0) || (n == 1 && h[0] == '*');
        if (gz && !q_is_zero(h + n, end))
            return 1;
        h = *end ? end + 1 : end;
    }
    return 0;
}

int http_gzip(const char *in, size_t len, char **out, size_t *outlen)
{
    z_stream z;
    memset(&z, 0, sizeof(z));
    *out = NULL;
    *outlen = 0;
    if (len > UINT_MAX / 2)
        return ENMON_ERR_IO;
    if (deflateInit2(&z, GZIP_LEVEL, Z_DEFLATED, GZIP_WINDOW_BITS, GZIP_MEM_LEVEL,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return ENMON_ERR_NOMEM;
    size_t cap = deflateBound(&z, (uLong)len);
    char *buf = malloc(cap);
    if (!buf) {
        deflateEnd(&z);
        return ENMON_ERR_NOMEM;
    }
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)len;
    z.next_out = (Bytef *)buf;
    z.avail_out = (uInt)cap;
    int rc = deflate(&z, Z_FINISH); /* deflateBound: one call finishes the stream */
    size_t n = cap - z.avail_out;
    deflateEnd(&z);
    if (rc != Z_STREAM_END) {
        free(buf);
        return ENMON_ERR_IO;
    }
    char *small = realloc(buf, n ? n : 1);
    *out = small ? small : buf;
    *outlen = n;
    return ENMON_OK;
}
