/* sim_rtu.c -- Modbus RTU framing: CRC16, request lengths, replies (pure: bytes in, bytes out). */
#include "sim_rtu.h"

#define RTU_MIN 4 /* slave id, function, CRC */

uint16_t sim_rtu_crc16(const uint8_t *buf, size_t len)
{
    uint16_t crc = 0xFFFF;
    for (size_t i = 0; i < len; i++) {
        crc ^= buf[i];
        for (int b = 0; b < 8; b++)
            crc = (crc & 1) ? (uint16_t)((crc >> 1) ^ 0xA001) : (uint16_t)(crc >> 1);
    }
    return crc;
}

int sim_rtu_frame_len(const uint8_t *buf, size_t len)
{
    if (len < 2)
        return 0;
    switch (buf[1]) {
    case 0x01: /* read coils, discrete inputs, holding, input registers */
    case 0x02:
    case 0x03:
    case 0x04:
    case 0x05: /* write single coil, register */
    case 0x06:
    case 0x08: /* diagnostics with one data word */
        return 8;
    case 0x07: /* exception status, event counter/log, report server id */
    case 0x0B:
    case 0x0C:
    case 0x11:
        return 4;
    case 0x0F: /* write multiple coils, registers: byte count at 6 */
    case 0x10:
        return len < 7 ? 0 : 9 + buf[6];
    default:
        return -1;
    }
}

/* Slave id, function, a byte count fitting the request, random data and a bad CRC. */
static int garbage(const uint8_t *req, size_t len, uint8_t *out)
{
    size_t qty = len >= 8 ? (size_t)(req[4] << 8 | req[5]) : 1;
    if (qty < 1 || qty > 125)
        qty = 1;
    out[0] = req[0];
    out[1] = req[1];
    out[2] = (uint8_t)(2 * qty);
    sim_modbus_noise(out + 3, 2 * qty, sim_rtu_crc16(req, len));
    uint16_t crc = (uint16_t)~sim_rtu_crc16(out, 3 + 2 * qty);
    out[3 + 2 * qty] = (uint8_t)crc;
    out[4 + 2 * qty] = (uint8_t)(crc >> 8);
    return (int)(5 + 2 * qty);
}

int sim_rtu_reply(const uint8_t *req, size_t len, sim_mb_lookup lookup, void *ctx, uint8_t *out,
                  unsigned *delay_ms)
{
    struct sim_unit_view view;
    *delay_ms = 0;
    if (len < RTU_MIN || len > SIM_RTU_ADU_MAX)
        return 0;
    uint16_t crc = sim_rtu_crc16(req, len - 2);
    if (req[len - 2] != (uint8_t)crc || req[len - 1] != (uint8_t)(crc >> 8))
        return 0;
    if (req[0] == 0 || lookup(ctx, req[0], &view) < 0 || view.silent)
        return 0;
    int n = sim_modbus_pdu(&view, req + 1, len - 3, out + 1);
    if (n < 0)
        return 0;
    *delay_ms = view.delay_ms;
    if (view.garbage)
        return garbage(req, len, out);
    out[0] = req[0];
    crc = sim_rtu_crc16(out, (size_t)n + 1);
    out[n + 1] = (uint8_t)crc;
    out[n + 2] = (uint8_t)(crc >> 8);
    *delay_ms = view.delay_ms;
    return n + 3;
}
