/* mbtcp.c -- Modbus TCP client framing: read requests out, replies checked in (pure, no I/O). */
#include "mbtcp.h"
#include "err.h"

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

void mbtcp_build_read(uint8_t *out, uint16_t tid, uint8_t unit, uint8_t function, uint16_t addr,
                      uint16_t count)
{
    put16(out, tid);
    put16(out + 2, 0); /* protocol id: Modbus */
    put16(out + 4, 6); /* unit id + 5 PDU bytes */
    out[6] = unit;
    out[7] = function;
    put16(out + 8, addr);
    put16(out + 10, count);
}

int mbtcp_frame_length(const uint8_t *buf, size_t len)
{
    if (len < MBTCP_HEADER)
        return 0;
    uint16_t length = be16(buf + 4);
    if (be16(buf + 2) != 0 || length < 2 || length > 254)
        return -1;
    return 6 + length;
}

static int exception_error(uint8_t code)
{
    switch (code) {
    case 1:
    case 2:
    case 3:
        return ENMON_ERR_REJECTED;
    case 6:
        return ENMON_ERR_BUSY;
    case 10:
    case 11:
        return ENMON_ERR_GATEWAY;
    default:
        return ENMON_ERR_MODBUS;
    }
}

int mbtcp_check_read(const uint8_t *frame, size_t len, uint16_t tid, uint8_t unit, uint8_t function,
                     uint16_t count, uint16_t *dest)
{
    if (len < MBTCP_HEADER + 2 || (int)len != mbtcp_frame_length(frame, len))
        return ENMON_ERR_BAD_REPLY;
    if (be16(frame) != tid)
        return MBTCP_STALE;
    const uint8_t *pdu = frame + MBTCP_HEADER;
    if (frame[6] != unit)
        return ENMON_ERR_BAD_REPLY;
    if (pdu[0] == (function | 0x80))
        return exception_error(pdu[1]);
    if (pdu[0] != function || pdu[1] != 2 * count || len != (size_t)MBTCP_HEADER + 2 + 2 * count)
        return ENMON_ERR_BAD_REPLY;
    for (uint16_t i = 0; i < count; i++)
        dest[i] = be16(pdu + 2 + 2 * i);
    return ENMON_OK;
}
