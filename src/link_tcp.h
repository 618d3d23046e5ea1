/* link_tcp.h -- Modbus TCP transport of a link: socket I/O around the pure framing of mbtcp.c. */
#ifndef ENMON_LINK_TCP_H
#define ENMON_LINK_TCP_H

#include "link.h"

/* Connects l->fd to l->cfg's host and port within timeout_ms. ENMON_OK or ENMON_ERR_CONNECT. */
int link_tcp_connect(struct link *l, int timeout_ms);

void link_tcp_close(struct link *l);

/* One read request and its reply (see link_read). Replies to earlier requests
 * (another transaction id) are skipped, so a late answer is never taken for
 * this one; a stream that is out of step closes the connection. */
int link_tcp_read(struct link *l, int unit, int function, uint16_t addr, uint16_t count,
                  uint16_t *dest, int timeout_ms);

#endif
