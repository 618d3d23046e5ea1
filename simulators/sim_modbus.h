/* sim_modbus.h -- Modbus PDU answers and Modbus TCP framing (pure: bytes in, bytes out). */
#ifndef ENMON_SIM_MODBUS_H
#define ENMON_SIM_MODBUS_H

#include "sim_sunspec.h"

#include <stddef.h>
#include <stdint.h>

#define SIM_MB_ADU_MAX 260 /* 7-byte MBAP header + 253-byte PDU */
#define SIM_MB_PDU_MAX 253
#define SIM_MB_HEADER 7

enum sim_mb_exception {
    SIM_MB_ILLEGAL_FUNCTION = 0x01,
    SIM_MB_ILLEGAL_ADDRESS = 0x02,
    SIM_MB_ILLEGAL_VALUE = 0x03,
    SIM_MB_GATEWAY_TARGET = 0x0B, /* gateway target device failed to respond */
};

/* What the device behind a unit id serves, and how it answers. */
struct sim_unit_view {
    const struct sim_image *holding; /* function 3 (and the target of writes 6, 16) */
    const struct sim_image *input;   /* function 4 */
    int silent;                      /* swallows every request: no reply */
    unsigned delay_ms;               /* replies this late */
    uint8_t exception;               /* non-zero: every request gets this exception code */
    int garbage;                     /* replies are malformed (sim_modbus_garbage) */
};

/* Fills view for the device behind unit id: 0, or -1 when there is none. */
typedef int (*sim_mb_lookup)(void *ctx, uint8_t unit, struct sim_unit_view *view);

/* Answers one request PDU (function code + data, len bytes) of a device into out
 * (SIM_MB_PDU_MAX bytes). A view with an exception code answers every request
 * with it. Reads 3 and 4 serve the holding and input images;
 * writes 6 and 16 get exception 1 (read-only) or 2 (outside the holding image);
 * other functions exception 1. Returns the reply PDU length, or -1 when the PDU
 * is malformed (its length does not match its function). */
int sim_modbus_pdu(const struct sim_unit_view *view, const uint8_t *pdu, size_t len, uint8_t *out);

/* Fills n pseudo-random bytes from seed (the same bytes for the same seed). */
void sim_modbus_noise(uint8_t *out, size_t n, uint32_t seed);

/* Looks at len buffered bytes: returns the length of the complete ADU at buf,
 * 0 when more bytes are needed, -1 when the header is malformed (protocol id
 * not 0, length field outside 2..254): the connection must be closed. */
int sim_modbus_frame_len(const uint8_t *buf, size_t len);

/* Answers one complete Modbus TCP ADU (as delimited by sim_modbus_frame_len)
 * into out, which holds SIM_MB_ADU_MAX bytes; a unit with no device gets
 * exception 0x0B. A garbage unit answers a malformed frame: an MBAP length of
 * 5 (unit, function, a byte count of 250 and two random bytes), so the length
 * disagrees with what the PDU announces. Returns the reply length, 0 when no reply is due (a silent
 * device), or -1 when the PDU is malformed. *delay_ms: how late to send it. */
int sim_modbus_reply(const uint8_t *req, size_t len, sim_mb_lookup lookup, void *ctx, uint8_t *out,
                     unsigned *delay_ms);

#endif
