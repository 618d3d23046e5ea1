/* sim_modbus.h -- Modbus TCP request framing and replies (pure: bytes in, bytes out). */
#ifndef ENMON_SIM_MODBUS_H
#define ENMON_SIM_MODBUS_H

#include "sim_sunspec.h"

#include <stddef.h>
#include <stdint.h>

#define SIM_MB_ADU_MAX 260 /* 7-byte MBAP header + 253-byte PDU */
#define SIM_MB_HEADER 7

enum sim_mb_exception {
    SIM_MB_ILLEGAL_FUNCTION = 0x01,
    SIM_MB_ILLEGAL_ADDRESS = 0x02,
    SIM_MB_ILLEGAL_VALUE = 0x03,
    SIM_MB_GATEWAY_TARGET = 0x0B, /* gateway target device failed to respond */
};

/* The image of the device behind unit id, or NULL when there is none. */
typedef const struct sim_image *(*sim_mb_lookup)(void *ctx, uint8_t unit);

/* Looks at len buffered bytes: returns the length of the complete ADU at buf,
 * 0 when more bytes are needed, -1 when the header is malformed (protocol id
 * not 0, length field outside 2..254): the connection must be closed. */
int sim_modbus_frame_len(const uint8_t *buf, size_t len);

/* Answers one complete ADU (as delimited by sim_modbus_frame_len) into out,
 * which holds SIM_MB_ADU_MAX bytes. Reads 3 and 4 serve the image; writes 6
 * and 16 get exception 1 (read-only) or 2 (outside the image); other functions
 * exception 1; a unit with no device exception 0x0B. Returns the reply length,
 * or -1 when the PDU is malformed (its length does not match its function). */
int sim_modbus_reply(const uint8_t *req, size_t len, sim_mb_lookup lookup, void *ctx, uint8_t *out);

#endif
