/* test_link.c -- link backends through their table (TCP to an in-test server, RTU over a pty) and link URIs. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include "err.h"
#include "link.h"
#include "link_uri.h"

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <termios.h>
#include <unistd.h>

/* ---- link URIs ---- */

static void test_uri_tcp(void **state)
{
    (void)state;
    struct cfg_link l;
    const char *why = NULL;
    assert_int_equal(link_uri_parse("tcp://10.0.0.5:502", &l, &why), 0);
    assert_int_equal(l.kind, LINK_TCP);
    assert_string_equal(l.host, "10.0.0.5");
    assert_int_equal(l.port, 502);
    assert_string_equal(l.uri, "tcp://10.0.0.5:502");
    assert_int_equal(link_uri_parse("tcp://[fe80::1]:1502", &l, &why), 0);
    assert_string_equal(l.host, "fe80::1");
    assert_int_equal(l.port, 1502);
    assert_int_equal(link_uri_parse("tcp://gw.example:65535", &l, &why), 0);
    assert_string_equal(l.host, "gw.example");
    assert_int_equal(l.port, 65535);
}

static void test_uri_rtu(void **state)
{
    (void)state;
    struct cfg_link l;
    const char *why = NULL;
    assert_int_equal(link_uri_parse("rtu:/dev/ttyUSB0", &l, &why), 0);
    assert_int_equal(l.kind, LINK_RTU);
    assert_string_equal(l.host, "/dev/ttyUSB0");
    assert_int_equal(l.baud, 9600); /* the defaults: 9600 8N1 */
    assert_int_equal(l.parity, 'N');
    assert_int_equal(l.data_bits, 8);
    assert_int_equal(l.stop_bits, 1);
    assert_int_equal(link_uri_parse("rtu:/dev/ttyS1?baud=19200&parity=E&data=7&stop=2", &l, &why),
                     0);
    assert_string_equal(l.host, "/dev/ttyS1");
    assert_int_equal(l.baud, 19200);
    assert_int_equal(l.parity, 'E');
    assert_int_equal(l.data_bits, 7);
    assert_int_equal(l.stop_bits, 2);
    assert_int_equal(link_uri_parse("rtu:/dev/serial/by-id/usb-FTDI-port0?parity=O", &l, &why), 0);
    assert_string_equal(l.host, "/dev/serial/by-id/usb-FTDI-port0");
    assert_int_equal(l.parity, 'O');
    assert_int_equal(l.baud, 9600);
}

static void test_uri_errors(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "",
        "http://host:80",
        "tcp://host",
        "tcp://:502",
        "tcp://host:0",
        "tcp://host:65536",
        "tcp://host:50x",
        "tcp://host:-1",
        "tcp://a:b:502",
        "tcp://[fe80::1]502",
        "tcp://[fe80::1:502",
        "tcp://host/x:502",
        "rtu:",
        "rtu:ttyUSB0",
        "rtu:/dev/ttyUSB0?baud=100",
        "rtu:/dev/ttyUSB0?baud=fast",
        "rtu:/dev/ttyUSB0?parity=X",
        "rtu:/dev/ttyUSB0?data=9",
        "rtu:/dev/ttyUSB0?stop=3",
        "rtu:/dev/ttyUSB0?speed=9600",
        "rtu:/dev/ttyUSB0?baud",
    };
    struct cfg_link l;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *why = NULL;
        if (link_uri_parse(bad[i], &l, &why) != -1)
            fail_msg("accepted %s", bad[i]);
        assert_non_null(why);
    }
    const char *why = NULL;
    assert_int_equal(link_uri_parse("tcp://host:0", &l, &why), -1);
    assert_string_equal(why, "port must be 1..65535");
    char longer[200];
    memset(longer, 'a', sizeof(longer));
    memcpy(longer, "tcp://", 6);
    strcpy(longer + sizeof(longer) - 5, ":502");
    assert_int_equal(link_uri_parse(longer, &l, &why), -1);
    assert_string_equal(why, "link too long");
}

/* ---- the backend table ---- */

static void test_backend_table(void **state)
{
    (void)state;
    const struct link_backend *tcp = link_backend_of(LINK_TCP), *rtu = link_backend_of(LINK_RTU);
    assert_string_equal(tcp->name, "tcp");
    assert_string_equal(rtu->name, "rtu");
    assert_true(tcp->open && tcp->close && tcp->read && tcp->flush && tcp->describe);
    assert_true(rtu->open && rtu->close && rtu->read && rtu->flush && rtu->describe);
    struct cfg_link l;
    const char *why;
    char buf[200];
    assert_int_equal(link_uri_parse("tcp://10.0.0.5:502", &l, &why), 0);
    tcp->describe(&l, buf, sizeof(buf));
    assert_string_equal(buf, "TCP 10.0.0.5:502");
    assert_int_equal(link_uri_parse("tcp://[::1]:1502", &l, &why), 0);
    tcp->describe(&l, buf, sizeof(buf));
    assert_string_equal(buf, "TCP [::1]:1502");
    assert_int_equal(link_uri_parse("rtu:/dev/ttyUSB0?baud=19200&parity=E", &l, &why), 0);
    rtu->describe(&l, buf, sizeof(buf));
    assert_string_equal(buf, "RTU /dev/ttyUSB0 19200 8E1");
}

/* ---- TCP: a scripted Modbus TCP server on 127.0.0.1, port 0 ---- */

enum act {
    ACT_REGS,    /* registers: value = address + i */
    ACT_BUSY,    /* exception 6 */
    ACT_STALE,   /* a reply with an older transaction id, then the right one */
    ACT_SILENT,  /* no reply */
    ACT_GARBAGE, /* a header that cannot start a frame */
};

struct server {
    int lfd, port;
    const enum act *script;
    size_t nscript;
    int accepts;
    pthread_t thread;
};

static void put16(uint8_t *p, unsigned v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

/* The reply to a 12-byte request req, per act, into out: its length. */
static size_t tcp_reply(const uint8_t *req, enum act act, uint16_t tid, uint8_t *out)
{
    unsigned addr = (unsigned)req[8] << 8 | req[9], count = (unsigned)req[10] << 8 | req[11];
    put16(out, tid);
    put16(out + 2, 0);
    out[6] = req[6];
    if (act == ACT_BUSY) {
        put16(out + 4, 3);
        out[7] = (uint8_t)(req[7] | 0x80);
        out[8] = 6;
        return 9;
    }
    if (act == ACT_GARBAGE) {
        put16(out + 2, 0x1234);
        return 9;
    }
    put16(out + 4, 3 + 2 * count);
    out[7] = req[7];
    out[8] = (uint8_t)(2 * count);
    for (unsigned i = 0; i < count; i++)
        put16(out + 9 + 2 * i, addr + i);
    return 9 + 2 * count;
}

/* Reads one request from *fd, accepting a new connection when the client closed. */
static int next_request(struct server *s, int *fd, uint8_t *req)
{
    for (;;) {
        if (*fd < 0) {
            *fd = accept(s->lfd, NULL, NULL);
            if (*fd < 0)
                return -1;
            s->accepts++;
        }
        if (recv(*fd, req, 12, MSG_WAITALL) == 12)
            return 0;
        close(*fd);
        *fd = -1;
    }
}

static void *server_main(void *arg)
{
    struct server *s = arg;
    int fd = -1;
    uint8_t req[12], out[600];
    for (size_t i = 0; i < s->nscript; i++) {
        if (next_request(s, &fd, req) != 0)
            break;
        uint16_t tid = (uint16_t)(req[0] << 8 | req[1]);
        size_t n = 0;
        if (s->script[i] == ACT_STALE)
            n = tcp_reply(req, ACT_REGS, (uint16_t)(tid - 1), out);
        if (s->script[i] != ACT_SILENT)
            n += tcp_reply(req, s->script[i] == ACT_STALE ? ACT_REGS : s->script[i], tid, out + n);
        if (n && send(fd, out, n, MSG_NOSIGNAL) != (ssize_t)n)
            break;
    }
    if (fd >= 0) {
        while (recv(fd, req, sizeof(req), 0) > 0) /* until the client closes */
            ;
        close(fd);
    }
    return NULL;
}

static void server_start(struct server *s, const enum act *script, size_t n)
{
    *s = (struct server){.script = script, .nscript = n};
    s->lfd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    assert_true(s->lfd >= 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(s->lfd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(listen(s->lfd, 4), 0);
    assert_int_equal(getsockname(s->lfd, (struct sockaddr *)&a, &len), 0);
    s->port = ntohs(a.sin_port);
    assert_int_equal(pthread_create(&s->thread, NULL, server_main, s), 0);
}

static void server_join(struct server *s)
{
    pthread_join(s->thread, NULL);
    close(s->lfd);
}

static void tcp_cfg(struct cfg_link *c, int port)
{
    char uri[64];
    const char *why;
    snprintf(uri, sizeof(uri), "tcp://127.0.0.1:%d", port);
    assert_int_equal(link_uri_parse(uri, c, &why), 0);
}

static void test_tcp_backend_reads(void **state)
{
    (void)state;
    static const enum act script[] = {ACT_REGS, ACT_STALE, ACT_REGS};
    struct server s;
    server_start(&s, script, 3);
    struct cfg_link cfg;
    tcp_cfg(&cfg, s.port);
    const struct link_backend *be = link_backend_of(LINK_TCP);
    void *conn = NULL;
    assert_int_equal(be->open(&cfg, 2000, &conn), ENMON_OK);
    assert_non_null(conn);
    uint16_t regs[125];
    assert_int_equal(be->read(conn, 1, LINK_HOLDING, 40000, 4, regs, 2000), ENMON_OK);
    for (int i = 0; i < 4; i++)
        assert_int_equal(regs[i], 40000 + i);
    /* a late reply to an earlier request is skipped, the right one taken */
    memset(regs, 0, sizeof(regs));
    assert_int_equal(be->read(conn, 1, LINK_INPUT, 30001, 2, regs, 2000), ENMON_OK);
    assert_int_equal(regs[0], 30001);
    assert_int_equal(regs[1], 30002);
    assert_int_equal(be->read(conn, 7, LINK_HOLDING, 0, 125, regs, 2000), ENMON_OK);
    assert_int_equal(regs[124], 124);
    be->close(conn);
    server_join(&s);
    assert_int_equal(s.accepts, 1);
}

static void test_tcp_link_errors(void **state)
{
    (void)state;
    static const enum act script[] = {ACT_BUSY, ACT_SILENT, ACT_REGS, ACT_GARBAGE, ACT_REGS};
    struct server s;
    server_start(&s, script, 5);
    struct cfg_link cfg;
    tcp_cfg(&cfg, s.port);
    struct link l;
    link_init(&l, &cfg);
    uint16_t regs[8];
    assert_int_equal(link_read(&l, 1, LINK_HOLDING, 100, 2, regs, 2000), ENMON_ERR_BUSY);
    assert_int_equal(l.connects, 1);
    /* no reply: a timeout, the connection stays */
    assert_int_equal(link_read(&l, 1, LINK_HOLDING, 100, 2, regs, 200), ENMON_ERR_TIMEOUT);
    assert_non_null(l.conn);
    assert_int_equal(link_read(&l, 1, LINK_HOLDING, 100, 2, regs, 2000), ENMON_OK);
    assert_int_equal(regs[1], 101);
    /* garbage: the flush closes the connection; the next read connects again at once */
    assert_int_equal(link_read(&l, 1, LINK_HOLDING, 100, 2, regs, 2000), ENMON_ERR_BAD_REPLY);
    assert_null(l.conn);
    assert_int_equal(link_read(&l, 1, LINK_HOLDING, 200, 2, regs, 2000), ENMON_OK);
    assert_int_equal(regs[0], 200);
    assert_int_equal(l.connects, 2);
    assert_int_equal(l.requests, 5);
    assert_int_equal(l.errors, 3);
    link_close(&l);
    assert_null(l.conn);
    server_join(&s);
    assert_int_equal(s.accepts, 2);
}

static void test_tcp_link_refused_backs_off(void **state)
{
    (void)state;
    /* a port nobody listens on: bound, then closed */
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t len = sizeof(a);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
    close(fd);
    struct cfg_link cfg;
    tcp_cfg(&cfg, ntohs(a.sin_port));
    struct link l;
    link_init(&l, &cfg);
    uint16_t regs[2];
    assert_int_equal(link_read(&l, 1, LINK_HOLDING, 0, 2, regs, 500), ENMON_ERR_CONNECT);
    assert_true(l.retry_at_ms > 0);
    int backoff = l.backoff_ms;
    /* within the backoff: no attempt at all, the backoff does not grow */
    assert_int_equal(link_read(&l, 1, LINK_HOLDING, 0, 2, regs, 500), ENMON_ERR_CONNECT);
    assert_int_equal(l.backoff_ms, backoff);
    assert_int_equal(l.connects, 0);
    assert_int_equal(l.requests, 0);
    assert_null(l.conn);
}

/* ---- RTU over a pty pair ---- */

static uint16_t crc16(const uint8_t *p, size_t n)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < n; i++) {
        crc ^= p[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
    }
    return crc;
}

struct rtu_server {
    int master;
    const enum act *script;
    size_t nscript;
    pthread_t thread;
};

static int read_full(int fd, uint8_t *buf, size_t n)
{
    for (size_t got = 0; got < n;) {
        ssize_t r = read(fd, buf + got, n - got);
        if (r <= 0)
            return -1;
        got += (size_t)r;
    }
    return 0;
}

static void *rtu_server_main(void *arg)
{
    struct rtu_server *s = arg;
    uint8_t req[8], out[300];
    for (size_t i = 0; i < s->nscript; i++) {
        if (read_full(s->master, req, sizeof(req)) != 0)
            break;
        unsigned addr = (unsigned)req[2] << 8 | req[3], count = (unsigned)req[4] << 8 | req[5];
        size_t n = 0;
        out[n++] = req[0];
        if (s->script[i] == ACT_SILENT)
            continue;
        if (s->script[i] == ACT_BUSY) {
            out[n++] = (uint8_t)(req[1] | 0x80);
            out[n++] = 6;
        } else {
            out[n++] = req[1];
            out[n++] = (uint8_t)(2 * count);
            for (unsigned k = 0; k < count; k++, n += 2)
                put16(out + n, addr + k);
        }
        uint16_t crc = crc16(out, n);
        out[n++] = (uint8_t)crc;
        out[n++] = (uint8_t)(crc >> 8);
        if (s->script[i] == ACT_GARBAGE)
            out[n - 1] ^= 0x55; /* a bad CRC */
        if (write(s->master, out, n) != (ssize_t)n)
            break;
    }
    return NULL;
}

static void test_rtu_backend_over_pty(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    if (master < 0 || grantpt(master) != 0 || unlockpt(master) != 0) {
        if (master >= 0)
            close(master);
        skip();
    }
    struct termios t;
    assert_int_equal(tcgetattr(master, &t), 0);
    cfmakeraw(&t);
    assert_int_equal(tcsetattr(master, TCSANOW, &t), 0);
    char uri[160];
    snprintf(uri, sizeof(uri), "rtu:%s?baud=19200", ptsname(master));
    struct cfg_link cfg;
    const char *why;
    assert_int_equal(link_uri_parse(uri, &cfg, &why), 0);

    static const enum act script[] = {ACT_REGS, ACT_BUSY, ACT_SILENT, ACT_GARBAGE, ACT_REGS};
    struct rtu_server s = {.master = master, .script = script, .nscript = 5};
    assert_int_equal(pthread_create(&s.thread, NULL, rtu_server_main, &s), 0);
    struct link l;
    link_init(&l, &cfg);
    assert_ptr_equal(l.be, link_backend_of(LINK_RTU));
    uint16_t regs[16];
    assert_int_equal(link_read(&l, 3, LINK_HOLDING, 40070, 10, regs, 1000), ENMON_OK);
    assert_int_equal(regs[0], 40070);
    assert_int_equal(regs[9], 40079);
    assert_int_equal(link_read(&l, 3, LINK_INPUT, 10, 2, regs, 1000), ENMON_ERR_BUSY);
    /* no reply, and a bad CRC: the port is flushed, the link stays open */
    assert_int_equal(link_read(&l, 3, LINK_HOLDING, 10, 2, regs, 300), ENMON_ERR_TIMEOUT);
    assert_non_null(l.conn);
    assert_int_equal(link_read(&l, 3, LINK_HOLDING, 10, 2, regs, 1000), ENMON_ERR_BAD_REPLY);
    assert_non_null(l.conn);
    assert_int_equal(link_read(&l, 3, LINK_INPUT, 500, 3, regs, 1000), ENMON_OK);
    assert_int_equal(regs[2], 502);
    assert_int_equal(l.connects, 1);
    assert_int_equal(l.errors, 3);
    pthread_join(s.thread, NULL);
    link_close(&l);
    assert_null(l.conn);
    close(master);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_uri_tcp),
        cmocka_unit_test(test_uri_rtu),
        cmocka_unit_test(test_uri_errors),
        cmocka_unit_test(test_backend_table),
        cmocka_unit_test(test_tcp_backend_reads),
        cmocka_unit_test(test_tcp_link_errors),
        cmocka_unit_test(test_tcp_link_refused_backs_off),
        cmocka_unit_test(test_rtu_backend_over_pty),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
