/* link.h -- one Modbus connection (a TCP endpoint) shared by the devices behind it. */
#ifndef ENMON_LINK_H
#define ENMON_LINK_H

#include "config.h"

#include <stdint.h>

struct link {
    const struct cfg_link *cfg;
    void *mb;             /* modbus_t, NULL while disconnected */
    int64_t retry_at_ms;  /* CLOCK_MONOTONIC: no connect attempt before this */
    int backoff_ms;       /* current reconnect backoff */
    uint64_t connects;    /* successful connects */
    uint64_t requests;    /* read requests sent */
    uint64_t errors;      /* failed requests */
};

void link_init(struct link *l, const struct cfg_link *cfg);

/* Closes the connection (if any). */
void link_close(struct link *l);

/* Reads count (1..125) holding registers at addr of unit into dest, connecting
 * first when needed (not before retry_at_ms: then ENMON_ERR_CONNECT at once).
 * timeout_ms bounds the wait for the reply. Returns ENMON_OK,
 * ENMON_ERR_CONNECT (connection failed or lost: the link is closed and backs
 * off), ENMON_ERR_TIMEOUT (no reply: the stream is flushed, the link stays) or
 * ENMON_ERR_MODBUS (exception or malformed reply). */
int link_read(struct link *l, int unit, uint16_t addr, uint16_t count, uint16_t *dest,
              int timeout_ms);

#endif
