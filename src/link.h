/* link.h -- one Modbus connection (a TCP endpoint or an RTU bus) shared by the devices behind it. */
#ifndef ENMON_LINK_H
#define ENMON_LINK_H

#include "config.h"

#include <stdint.h>

struct link {
    const struct cfg_link *cfg;
    void *mb;             /* RTU: the libmodbus context, NULL while closed */
    int fd;               /* TCP: the socket, -1 while disconnected */
    uint16_t tid;         /* TCP: transaction id of the last request */
    size_t rxlen;         /* TCP: bytes waiting in rx */
    uint8_t rx[520];      /* TCP: received bytes not yet consumed (two frames) */
    int64_t retry_at_ms;  /* CLOCK_MONOTONIC: no connect attempt before this */
    int backoff_ms;       /* current reconnect backoff */
    uint64_t connects;    /* successful connects */
    uint64_t requests;    /* read requests sent */
    uint64_t errors;      /* failed requests */
};

void link_init(struct link *l, const struct cfg_link *cfg);

/* Closes the connection (if any). */
void link_close(struct link *l);

/* Register kinds: Modbus function 3 (holding) and 4 (input). */
enum link_regs {
    LINK_HOLDING = 0,
    LINK_INPUT = 1,
};

/* Reads count (1..125) registers of kind at addr of unit into dest, connecting
 * first when needed (not before retry_at_ms: then ENMON_ERR_CONNECT at once).
 * timeout_ms bounds the wait for the reply. Returns ENMON_OK,
 * ENMON_ERR_CONNECT (connection failed or lost: the link is closed and backs
 * off), ENMON_ERR_TIMEOUT (no reply: the stream is flushed, the link stays),
 * ENMON_ERR_BUSY (exception 6), ENMON_ERR_REJECTED (exception 1, 2 or 3),
 * ENMON_ERR_GATEWAY (exception 10 or 11: no such unit behind a gateway) or
 * ENMON_ERR_MODBUS (another exception, or a malformed reply). */
int link_read(struct link *l, int unit, enum link_regs kind, uint16_t addr, uint16_t count,
              uint16_t *dest, int timeout_ms);

#endif
