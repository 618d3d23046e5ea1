/* link_tcp.h -- Modbus TCP transport of a link: socket I/O around the pure framing of mbtcp.c. */
#ifndef ENMON_LINK_TCP_H
#define ENMON_LINK_TCP_H

#include "link.h"

/* The TCP backend. Replies to earlier requests (another transaction id) are
 * skipped, so a late answer is never taken for this one; a reply out of step
 * with the framing is ENMON_ERR_BAD_REPLY and its flush closes the connection. */
extern const struct link_backend link_tcp_backend;

#endif
