/* mbtcp.h -- Modbus TCP client framing: read requests out, replies checked in (pure, no I/O). */
#ifndef ENMON_MBTCP_H
#define ENMON_MBTCP_H

#include <stddef.h>
#include <stdint.h>

#define MBTCP_HEADER 7        /* MBAP: transaction id, protocol id, length, unit id */
#define MBTCP_REQUEST_LEN 12  /* a read request: MBAP + function, address, count */
#define MBTCP_MAX_FRAME 260   /* MBAP + the largest PDU (253 bytes) */
#define MBTCP_STALE (-1)      /* mbtcp_check_read: a reply to an earlier request */

/* Writes the read request (function 3 or 4) into out[MBTCP_REQUEST_LEN]. */
void mbtcp_build_read(uint8_t *out, uint16_t tid, uint8_t unit, uint8_t function, uint16_t addr,
                      uint16_t count);

/* Length of the frame at the start of buf once its header has arrived: 0 when
 * fewer than MBTCP_HEADER bytes are there, -1 when the header cannot start a
 * Modbus TCP frame (protocol id not 0, length outside 2..254): the stream is
 * out of step and the connection must be dropped. */
int mbtcp_frame_length(const uint8_t *buf, size_t len);

/* Checks a whole reply frame against the request (tid, unit, function, count)
 * and copies the registers into dest. Returns ENMON_OK; MBTCP_STALE for a reply
 * that carries another transaction id (a late answer to an earlier request:
 * skip it and keep reading); ENMON_ERR_BUSY, ENMON_ERR_REJECTED, ENMON_ERR_GATEWAY
 * or ENMON_ERR_MODBUS for Modbus exceptions; ENMON_ERR_BAD_REPLY for a reply
 * from another unit, for another function, or with a wrong byte count. */
int mbtcp_check_read(const uint8_t *frame, size_t len, uint16_t tid, uint8_t unit, uint8_t function,
                     uint16_t count, uint16_t *dest);

#endif
