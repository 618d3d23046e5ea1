/* link.h -- one Modbus connection (a TCP endpoint or an RTU bus) shared by the devices behind it. */
#ifndef ENMON_LINK_H
#define ENMON_LINK_H

#include "config.h"
#include "log.h"

#include <stddef.h>
#include <stdint.h>

/* Register kinds: Modbus function 3 (holding) and 4 (input). */
enum link_regs {
    LINK_HOLDING = 0,
    LINK_INPUT = 1,
};

/* A transport, in the manner of libmodbus's backends: a const table of
 * functions on an opaque open connection. link.c holds what every transport
 * shares (reconnect with backoff, the pause after connecting, counters,
 * complaints); link_tcp.c and link_rtu.c each fill one table. */
struct link_backend {
    const char *name; /* "tcp", "rtu" */
    /* Opens a connection to cfg within timeout_ms into *conn. ENMON_OK,
     * ENMON_ERR_CONNECT (errno says why) or ENMON_ERR_NOMEM. */
    int (*open)(const struct cfg_link *cfg, int timeout_ms, void **conn);
    /* Closes and frees an open connection. */
    void (*close)(void *conn);
    /* One read request and its reply: the contract of link_read, without the reconnecting. */
    int (*read)(void *conn, int unit, enum link_regs kind, uint16_t addr, uint16_t count,
                uint16_t *dest, int timeout_ms);
    /* After a read failed with ENMON_ERR_TIMEOUT or ENMON_ERR_BAD_REPLY: brings the
     * stream back in step so a late or garbled frame cannot answer the next request.
     * ENMON_OK keeps the connection; ENMON_ERR_CONNECT asks to close it (no backoff). */
    int (*flush)(void *conn, int rc);
    /* The endpoint in words for logs, e.g. "TCP 10.0.0.5:502" or "RTU /dev/ttyUSB0 9600 8N1". */
    void (*describe)(const struct cfg_link *cfg, char *buf, size_t len);
};

/* The backend of a link kind. */
const struct link_backend *link_backend_of(enum link_kind kind);

struct link {
    const struct cfg_link *cfg;
    const struct link_backend *be;
    void *conn;           /* the backend's open connection, NULL while closed */
    int64_t retry_at_ms;  /* CLOCK_MONOTONIC: no connect attempt before this */
    int backoff_ms;       /* current reconnect backoff */
    struct log_limit complain; /* this link's connect failures, rate limited */
    int complained;       /* a connect failure was logged since the last connect */
    uint64_t connects;    /* successful connects */
    uint64_t requests;    /* read requests sent */
    uint64_t errors;      /* failed requests */
};

void link_init(struct link *l, const struct cfg_link *cfg);

/* Closes the connection (if any). */
void link_close(struct link *l);

/* Reads count (1..125) registers of kind at addr of unit into dest, connecting
 * first when needed (not before retry_at_ms: then ENMON_ERR_CONNECT at once).
 * timeout_ms bounds the wait for the reply. Returns ENMON_OK,
 * ENMON_ERR_CONNECT (connection failed or lost: the link is closed and backs
 * off), ENMON_ERR_TIMEOUT (no reply: the stream is flushed, the link stays),
 * ENMON_ERR_BUSY (exception 6), ENMON_ERR_REJECTED (exception 1, 2 or 3),
 * ENMON_ERR_GATEWAY (exception 10 or 11: no such unit behind a gateway) or
 * ENMON_ERR_MODBUS (another exception, or a malformed reply). A link is used
 * by one thread at a time. */
int link_read(struct link *l, int unit, enum link_regs kind, uint16_t addr, uint16_t count,
              uint16_t *dest, int timeout_ms);

#endif
