/* sim_modbus.c -- Modbus PDU answers and Modbus TCP framing (pure: bytes in, bytes out). */
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

static int exception(const uint8_t *pdu, uint8_t *out, uint8_t code)
{
    out[0] = (uint8_t)(pdu[0] | 0x80);
    out[1] = code;
    return 2;
}

static int in_image(const struct sim_image *img, uint32_t addr, uint32_t qty)
{
    return img && addr >= img->base && addr + qty <= img->base + img->len;
}

static int read_regs(const uint8_t *pdu, size_t len, const struct sim_image *img, uint8_t *out)
{
    if (len != 5)
        return -1;
    uint16_t addr = be16(pdu + 1);
    uint16_t qty = be16(pdu + 3);
    if (qty < 1 || qty > READ_MAX)
        return exception(pdu, out, SIM_MB_ILLEGAL_VALUE);
    if (!in_image(img, addr, qty))
        return exception(pdu, out, SIM_MB_ILLEGAL_ADDRESS);
    out[0] = pdu[0];
    out[1] = (uint8_t)(2 * qty);
    for (uint16_t i = 0; i < qty; i++)
        put16(out + 2 + 2 * i, img->regs[addr - img->base + i]);
    return 2 + 2 * qty;
}

/* The images are read-only: writes inside the holding image are an illegal
 * function, outside it an illegal address. */
static int write_regs(const uint8_t *pdu, size_t len, const struct sim_image *img, uint8_t *out)
{
    uint16_t qty = 1;
    if (len < 5)
        return -1;
    uint16_t addr = be16(pdu + 1);
    if (pdu[0] == FC_WRITE_SINGLE) {
        if (len != 5)
            return -1;
    } else {
        if (len < 6 || len != 6u + pdu[5])
            return -1;
        qty = be16(pdu + 3);
        if (qty < 1 || qty > WRITE_MAX || pdu[5] != 2 * qty)
            return exception(pdu, out, SIM_MB_ILLEGAL_VALUE);
    }
    if (!in_image(img, addr, qty))
        return exception(pdu, out, SIM_MB_ILLEGAL_ADDRESS);
    return exception(pdu, out, SIM_MB_ILLEGAL_FUNCTION);
}

int sim_modbus_pdu(const struct sim_unit_view *view, const uint8_t *pdu, size_t len, uint8_t *out)
{
    if (len < 1)
        return -1;
    if (view->exception && !(pdu[0] & 0x80))
        return exception(pdu, out, view->exception);
    switch (pdu[0]) {
    case FC_READ_HOLDING:
        return read_regs(pdu, len, view->holding, out);
    case FC_READ_INPUT:
        return read_regs(pdu, len, view->input, out);
    case FC_WRITE_SINGLE:
    case FC_WRITE_MULTIPLE:
        return write_regs(pdu, len, view->holding, out);
    default:
        if (pdu[0] & 0x80)
            return -1; /* an exception code is never a request */
        return exception(pdu, out, SIM_MB_ILLEGAL_FUNCTION);
    }
}

void sim_modbus_noise(uint8_t *out, size_t n, uint32_t seed)
{
    uint32_t x = seed * 2654435761u + 0x9E3779B9u;
    for (size_t i = 0; i < n; i++) {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        out[i] = (uint8_t)(x >> 11);
    }
}

/* A frame whose MBAP length (5) disagrees with the byte count it carries (250). */
static int garbage(const uint8_t *req, uint8_t *out)
{
    memcpy(out, req, 4);
    put16(out + 4, 5);
    out[6] = req[6];
    out[7] = req[SIM_MB_HEADER];
    out[8] = 0xFA;
    sim_modbus_noise(out + 9, 2, be16(req));
    return 11;
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

int sim_modbus_reply(const uint8_t *req, size_t len, sim_mb_lookup lookup, void *ctx, uint8_t *out,
                     unsigned *delay_ms)
{
    struct sim_unit_view view;
    *delay_ms = 0;
    if (len < SIM_MB_HEADER + 1)
        return -1;
    const uint8_t *pdu = req + SIM_MB_HEADER;
    int n;
    if (lookup(ctx, req[6], &view) < 0) {
        n = exception(pdu, out + SIM_MB_HEADER, SIM_MB_GATEWAY_TARGET);
    } else {
        n = sim_modbus_pdu(&view, pdu, len - SIM_MB_HEADER, out + SIM_MB_HEADER);
        if (n < 0)
            return -1;
        if (view.silent)
            return 0;
        *delay_ms = view.delay_ms;
        if (view.garbage)
            return garbage(req, out);
    }
    memcpy(out, req, 4);
    put16(out + 4, (uint16_t)(n + 1));
    out[6] = req[6];
    return SIM_MB_HEADER + n;
}
