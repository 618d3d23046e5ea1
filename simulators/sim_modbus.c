/* sim_modbus.c -- Modbus TCP request framing and replies (pure: bytes in, bytes out). */
#include "sim_modbus.h"

#include <string.h>

#define FC_READ_HOLDING 0x03
#define FC_READ_INPUT 0x04
#define FC_WRITE_SINGLE 0x06
#define FC_WRITE_MULTIPLE 0x10
#define READ_MAX 125
#define WRITE_MAX 123

static uint16_t be16(const uint8_t *p)
{
    return (uint16_t)(p[0] << 8 | p[1]);
}

static void put16(uint8_t *p, uint16_t v)
{
    p[0] = (uint8_t)(v >> 8);
    p[1] = (uint8_t)v;
}

int sim_modbus_frame_len(const uint8_t *buf, size_t len)
{
    if (len < SIM_MB_HEADER - 1)
        return 0;
    uint16_t proto = be16(buf + 2);
    uint16_t follow = be16(buf + 4); /* unit id + PDU */
    if (proto != 0 || follow < 2 || follow > SIM_MB_ADU_MAX - 6)
        return -1;
    size_t total = 6u + follow;
    return len < total ? 0 : (int)total;
}

/* Copies the request's MBAP header and sets the length for a PDU of pdu_len. */
static int finish(const uint8_t *req, uint8_t *out, size_t pdu_len)
{
    memcpy(out, req, 4);
    put16(out + 4, (uint16_t)(pdu_len + 1));
    out[6] = req[6];
    return (int)(SIM_MB_HEADER + pdu_len);
}

static int exception(const uint8_t *req, uint8_t *out, uint8_t code)
{
    out[7] = (uint8_t)(req[7] | 0x80);
    out[8] = code;
    return finish(req, out, 2);
}

static int in_image(const struct sim_image *img, uint32_t addr, uint32_t qty)
{
    return addr >= img->base && addr + qty <= (uint32_t)img->base + img->len;
}

static int read_regs(const uint8_t *req, size_t pdu_len, const struct sim_image *img, uint8_t *out)
{
    if (pdu_len != 5)
        return -1;
    uint16_t addr = be16(req + 8);
    uint16_t qty = be16(req + 10);
    if (qty < 1 || qty > READ_MAX)
        return exception(req, out, SIM_MB_ILLEGAL_VALUE);
    if (!in_image(img, addr, qty))
        return exception(req, out, SIM_MB_ILLEGAL_ADDRESS);
    out[7] = req[7];
    out[8] = (uint8_t)(2 * qty);
    for (uint16_t i = 0; i < qty; i++)
        put16(out + 9 + 2 * i, img->regs[addr - img->base + i]);
    return finish(req, out, 2u + 2u * qty);
}

/* The image is read-only: writes inside it are an illegal function, outside it
 * an illegal address. */
static int write_regs(const uint8_t *req, size_t pdu_len, const struct sim_image *img, uint8_t *out)
{
    uint16_t addr = be16(req + 8);
    uint16_t qty = 1;
    if (req[7] == FC_WRITE_SINGLE) {
        if (pdu_len != 5)
            return -1;
    } else {
        if (pdu_len < 6 || pdu_len != 6u + req[12])
            return -1;
        qty = be16(req + 10);
        if (qty < 1 || qty > WRITE_MAX || req[12] != 2 * qty)
            return exception(req, out, SIM_MB_ILLEGAL_VALUE);
    }
    if (!in_image(img, addr, qty))
        return exception(req, out, SIM_MB_ILLEGAL_ADDRESS);
    return exception(req, out, SIM_MB_ILLEGAL_FUNCTION);
}

int sim_modbus_reply(const uint8_t *req, size_t len, sim_mb_lookup lookup, void *ctx, uint8_t *out)
{
    if (len < SIM_MB_HEADER + 1)
        return -1;
    size_t pdu_len = len - SIM_MB_HEADER;
    const struct sim_image *img = lookup(ctx, req[6]);
    if (!img)
        return exception(req, out, SIM_MB_GATEWAY_TARGET);
    switch (req[7]) {
    case FC_READ_HOLDING:
    case FC_READ_INPUT:
        return read_regs(req, pdu_len, img, out);
    case FC_WRITE_SINGLE:
    case FC_WRITE_MULTIPLE:
        return write_regs(req, pdu_len, img, out);
    default:
        if (req[7] & 0x80)
            return -1; /* an exception code is never a request */
        return exception(req, out, SIM_MB_ILLEGAL_FUNCTION);
    }
}
