/* link_tcp.c -- Modbus TCP transport of a link: socket I/O around the pure framing of mbtcp.c. */
#include "link_tcp.h"
#include "clock.h"
#include "err.h"
#include "mbtcp.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <unistd.h>

/* An open Modbus TCP connection. */
struct tcp_conn {
    int fd;            /* blocking; every call but the first recv of a read passes MSG_DONTWAIT */
    int rcvtimeo_ms;   /* SO_RCVTIMEO now set on fd (0: none) */
    uint16_t tid;      /* transaction id of the last request */
    size_t rxlen;      /* bytes waiting in rx */
    uint8_t rx[520];   /* received bytes not yet consumed (two frames) */
};

/* Waits for events on fd until the CLOCK_MONOTONIC deadline: 1 ready, 0 timed out, -1 error. */
static int wait_fd(int fd, short events, int64_t deadline_ms)
{
    for (;;) {
        int64_t left = deadline_ms - clock_mono_ms();
        if (left <= 0)
            return 0;
        struct pollfd p = {.fd = fd, .events = events};
        int n = poll(&p, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return n;
        return (p.revents & (POLLERR | POLLNVAL)) && !(p.revents & events) ? -1 : 1;
    }
}

static int connect_addr(const struct addrinfo *ai, int64_t deadline_ms)
{
    int fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK | SOCK_CLOEXEC, ai->ai_protocol);
    if (fd < 0)
        return -1;
    int err = 0;
    socklen_t len = sizeof(err);
    if (connect(fd, ai->ai_addr, ai->ai_addrlen) != 0 &&
        (errno != EINPROGRESS || wait_fd(fd, POLLOUT, deadline_ms) != 1 ||
         getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0 || err != 0)) {
        close(fd);
        return -1;
    }
    int one = 1;
    setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
    /* blocking from now on: a read's first recv waits itself (SO_RCVTIMEO), without a
     * poll() before it; the other calls pass MSG_DONTWAIT */
    int fl = fcntl(fd, F_GETFL);
    if (fl < 0 || fcntl(fd, F_SETFL, fl & ~O_NONBLOCK) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static int tcp_open(const struct cfg_link *cfg, int timeout_ms, void **out)
{
    char port[8];
    snprintf(port, sizeof(port), "%d", cfg->port);
    struct addrinfo hints = {.ai_family = AF_UNSPEC, .ai_socktype = SOCK_STREAM}, *res;
    if (getaddrinfo(cfg->host, port, &hints, &res) != 0)
        return ENMON_ERR_CONNECT;
    int64_t deadline = clock_mono_ms() + timeout_ms;
    int fd = -1;
    for (struct addrinfo *ai = res; ai && fd < 0; ai = ai->ai_next)
        fd = connect_addr(ai, deadline);
    freeaddrinfo(res);
    if (fd < 0)
        return ENMON_ERR_CONNECT;
    struct tcp_conn *c = calloc(1, sizeof(*c));
    if (!c) {
        close(fd);
        return ENMON_ERR_NOMEM;
    }
    c->fd = fd;
    *out = c;
    return ENMON_OK;
}

static void tcp_close(void *conn)
{
    struct tcp_conn *c = conn;
    close(c->fd);
    free(c);
}

static int send_all(int fd, const uint8_t *buf, size_t len, int64_t deadline_ms)
{
    while (len > 0) {
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL | MSG_DONTWAIT);
        if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
            if (wait_fd(fd, POLLOUT, deadline_ms) != 1)
                return ENMON_ERR_CONNECT;
            continue;
        }
        if (n <= 0)
            return ENMON_ERR_CONNECT;
        buf += n;
        len -= (size_t)n;
    }
    return ENMON_OK;
}

/* Takes the next whole frame out of c->rx into frame: its length, 0 if none yet, -1 out of step. */
static int next_frame(struct tcp_conn *c, uint8_t *frame)
{
    int flen = mbtcp_frame_length(c->rx, c->rxlen);
    if (flen <= 0 || (size_t)flen > c->rxlen)
        return flen < 0 ? -1 : 0;
    memcpy(frame, c->rx, (size_t)flen);
    memmove(c->rx, c->rx + flen, c->rxlen - (size_t)flen);
    c->rxlen -= (size_t)flen;
    return flen;
}

/* The first wait of a read: a blocking recv bounded by SO_RCVTIMEO = timeout_ms (set only
 * when it changes), so a reply costs one system call instead of poll() and recv().
 * Returns what recv returns; 0 timeout_ms or a failed setsockopt: -1 with EAGAIN (the
 * caller then waits with poll()). */
static ssize_t recv_first(struct tcp_conn *c, int timeout_ms)
{
    if (timeout_ms <= 0) {
        errno = EAGAIN;
        return -1;
    }
    if (c->rcvtimeo_ms != timeout_ms) {
        struct timeval tv = {.tv_sec = timeout_ms / 1000, .tv_usec = (timeout_ms % 1000) * 1000};
        if (setsockopt(c->fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) != 0) {
            errno = EAGAIN;
            return -1;
        }
        c->rcvtimeo_ms = timeout_ms;
    }
    return recv(c->fd, c->rx + c->rxlen, sizeof(c->rx) - c->rxlen, 0);
}

static int tcp_read(void *conn, int unit, enum link_regs kind, uint16_t addr, uint16_t count,
                    uint16_t *dest, int timeout_ms)
{
    struct tcp_conn *c = conn;
    int function = kind == LINK_INPUT ? 4 : 3;
    int64_t deadline = clock_mono_ms() + timeout_ms;
    int first = 1; /* no recv yet in this read */
    uint8_t req[MBTCP_REQUEST_LEN], frame[MBTCP_MAX_FRAME];
    c->tid++;
    mbtcp_build_read(req, c->tid, (uint8_t)unit, (uint8_t)function, addr, count);
    int rc = send_all(c->fd, req, sizeof(req), deadline);
    if (rc != ENMON_OK)
        return rc;
    for (;;) {
        int flen = next_frame(c, frame);
        if (flen < 0)
            return ENMON_ERR_BAD_REPLY; /* garbage: tcp_flush drops the connection */
        if (flen > 0) {
            rc = mbtcp_check_read(frame, (size_t)flen, c->tid, (uint8_t)unit, (uint8_t)function,
                                  count, dest);
            if (rc != MBTCP_STALE)
                return rc;
            continue;
        }
        ssize_t n;
        if (first && c->rxlen < sizeof(c->rx)) {
            /* the usual case: wait for the reply in recv itself */
            first = 0;
            n = recv_first(c, timeout_ms);
            if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
                continue; /* timed out, interrupted, or not tried: poll() up to the deadline */
        } else {
            int ready = wait_fd(c->fd, POLLIN, deadline);
            if (ready == 0)
                return ENMON_ERR_TIMEOUT;
            if (ready < 0)
                return ENMON_ERR_CONNECT;
            n = recv(c->fd, c->rx + c->rxlen, sizeof(c->rx) - c->rxlen, MSG_DONTWAIT);
            if (n < 0 && (errno == EAGAIN || errno == EINTR))
                continue;
        }
        if (n <= 0)
            return ENMON_ERR_CONNECT; /* closed by the device, or reset */
        c->rxlen += (size_t)n;
    }
}

/* A timeout leaves the connection: a late reply is skipped by its transaction id.
 * A reply out of step with the framing closes it. */
static int tcp_flush(void *conn, int rc)
{
    (void)conn;
    return rc == ENMON_ERR_BAD_REPLY ? ENMON_ERR_CONNECT : ENMON_OK;
}

static void tcp_describe(const struct cfg_link *cfg, char *buf, size_t len)
{
    snprintf(buf, len, strchr(cfg->host, ':') ? "TCP [%s]:%d" : "TCP %s:%d", cfg->host, cfg->port);
}

const struct link_backend link_tcp_backend = {
    .name = "tcp",
    .open = tcp_open,
    .close = tcp_close,
    .read = tcp_read,
    .flush = tcp_flush,
    .describe = tcp_describe,
};
