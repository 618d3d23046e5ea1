/* link_uri.c -- parses link URIs ("tcp://HOST:PORT", "rtu:/dev/PORT?baud=...") into struct cfg_link. */
#include "link_uri.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* One "name=value" option of an RTU link; -1 with a reason on error. */
static int parse_rtu_option(const char *opt, size_t len, struct cfg_link *l, const char **why)
{
    char buf[32];
    if (len >= sizeof(buf) || !memchr(opt, '=', len)) {
        *why = "RTU options are name=value: baud, parity (N/E/O), data (7/8), stop (1/2)";
        return -1;
    }
    memcpy(buf, opt, len);
    buf[len] = '\0';
    char *val = strchr(buf, '=');
    *val++ = '\0';
    char *end;
    long v = strtol(val, &end, 10);
    int numeric = *val && *end == '\0';
    if (strcmp(buf, "baud") == 0 && numeric && v >= 300 && v <= 4000000)
        l->baud = (int)v;
    else if (strcmp(buf, "data") == 0 && numeric && (v == 7 || v == 8))
        l->data_bits = (int)v;
    else if (strcmp(buf, "stop") == 0 && numeric && (v == 1 || v == 2))
        l->stop_bits = (int)v;
    else if (strcmp(buf, "parity") == 0 && strlen(val) == 1 && strchr("NEO", val[0]))
        l->parity = val[0];
    else {
        *why = "RTU options: baud=300..4000000, parity=N|E|O, data=7|8, stop=1|2";
        return -1;
    }
    return 0;
}

/* Splits "rtu:/dev/ttyUSB0?baud=9600&parity=N&data=8&stop=1"; -1 with a reason on error. */
static int parse_rtu_link(const char *uri, struct cfg_link *l, const char **why)
{
    const char *dev = uri + 4, *q = strchr(dev, '?');
    size_t dlen = q ? (size_t)(q - dev) : strlen(dev);
    *why = "expected rtu:/dev/SERIALPORT[?baud=9600&parity=N&data=8&stop=1]";
    if (dlen == 0 || dev[0] != '/' || dlen >= sizeof(l->host))
        return -1;
    memset(l, 0, sizeof(*l));
    snprintf(l->uri, sizeof(l->uri), "%s", uri);
    memcpy(l->host, dev, dlen);
    l->host[dlen] = '\0';
    l->kind = LINK_RTU;
    l->baud = 9600;
    l->parity = 'N';
    l->data_bits = 8;
    l->stop_bits = 1;
    for (const char *p = q ? q + 1 : NULL; p && *p;) {
        const char *amp = strchr(p, '&');
        size_t len = amp ? (size_t)(amp - p) : strlen(p);
        if (parse_rtu_option(p, len, l, why) != 0)
            return -1;
        p = amp ? amp + 1 : NULL;
    }
    return 0;
}

/* Splits "tcp://HOST:PORT" (HOST may be "[v6addr]") or an RTU link; -1 with a reason on error. */
static int parse_link(const char *uri, struct cfg_link *l, const char **why)
{
    const char *p = uri, *colon;
    size_t hlen;

    if (strncmp(p, "rtu:", 4) == 0)
        return parse_rtu_link(uri, l, why);
    *why = "expected tcp://HOST:PORT or rtu:/dev/PORT?baud=...";
    if (strncmp(p, "tcp://", 6) != 0)
        return -1;
    p += 6;
    if (*p == '[') {
        const char *close = strchr(p, ']');
        if (!close || close[1] != ':')
            return -1;
        p++;
        hlen = (size_t)(close - p);
        colon = close + 1;
    } else {
        colon = strrchr(p, ':');
        if (!colon)
            return -1;
        hlen = (size_t)(colon - p);
        if (memchr(p, ':', hlen) || memchr(p, '/', hlen))
            return -1;
    }
    if (hlen == 0 || hlen >= sizeof(l->host))
        return -1;
    char *end;
    long port = strtol(colon + 1, &end, 10);
    if (colon[1] < '0' || colon[1] > '9' || *end != '\0' || port < 1 || port > 65535) {
        *why = "port must be 1..65535";
        return -1;
    }
    memset(l, 0, sizeof(*l));
    snprintf(l->uri, sizeof(l->uri), "%s", uri);
    memcpy(l->host, p, hlen);
    l->host[hlen] = '\0';
    l->kind = LINK_TCP;
    l->port = (int)port;
    return 0;
}

int link_uri_parse(const char *uri, struct cfg_link *out, const char **why)
{
    if (strlen(uri) >= sizeof(out->uri)) {
        *why = "link too long";
        return -1;
    }
    return parse_link(uri, out, why);
}
