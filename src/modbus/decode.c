/* decode.c -- pure conversion of Modbus register words into values (types, word orders, scale). */
#include "decode.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

int decode_type_words(enum decode_type type)
{
    switch (type) {
    case DECODE_U16:
    case DECODE_S16:
        return 1;
    case DECODE_U32:
    case DECODE_S32:
    case DECODE_F32:
        return 2;
    case DECODE_U64:
    case DECODE_S64:
    case DECODE_F64:
        return 4;
    }
    return 1;
}

static uint16_t swap_bytes(uint16_t w)
{
    return (uint16_t)((w >> 8) | (w << 8));
}

uint64_t decode_bits(const uint16_t *words, int nwords, enum decode_order order)
{
    uint64_t v = 0;
    int reverse_words = order == DECODE_CDAB || order == DECODE_DCBA;
    int swap = order == DECODE_BADC || order == DECODE_DCBA;
    for (int i = 0; i < nwords; i++) {
        uint16_t w = words[reverse_words ? nwords - 1 - i : i];
        v = (v << 16) | (swap ? swap_bytes(w) : w);
    }
    return v;
}

int decode_value(const uint16_t *words, enum decode_type type, enum decode_order order, double *out)
{
    uint64_t bits = decode_bits(words, decode_type_words(type), order);
    switch (type) {
    case DECODE_U16:
    case DECODE_U32:
    case DECODE_U64:
        *out = (double)bits;
        return 0;
    case DECODE_S16:
        *out = (double)(int16_t)(uint16_t)bits;
        return 0;
    case DECODE_S32:
        *out = (double)(int32_t)(uint32_t)bits;
        return 0;
    case DECODE_S64:
        *out = (double)(int64_t)bits;
        return 0;
    case DECODE_F32: {
        uint32_t b32 = (uint32_t)bits;
        float f;
        memcpy(&f, &b32, sizeof(f));
        if (!isfinite(f))
            return -1;
        *out = (double)f;
        return 0;
    }
    case DECODE_F64: {
        double d;
        memcpy(&d, &bits, sizeof(d));
        if (!isfinite(d))
            return -1;
        *out = d;
        return 0;
    }
    }
    return -1;
}

double decode_scale(double raw, int sf)
{
    static const double pow10[] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10};
    if (sf == 0)
        return raw;
    if (sf < 0 && -sf <= 10)
        return raw / pow10[-sf];
    if (sf > 0 && sf <= 10)
        return raw * pow10[sf];
    return raw * pow(10.0, sf);
}

void decode_string(const uint16_t *words, int nwords, char *out, size_t len)
{
    size_t n = 0;
    if (len == 0)
        return;
    for (int i = 0; i < nwords && n + 1 < len; i++) {
        char hi = (char)(words[i] >> 8), lo = (char)(words[i] & 0xff);
        if (hi == '\0')
            break;
        out[n++] = hi;
        if (lo == '\0' || n + 1 >= len)
            break;
        out[n++] = lo;
    }
    while (n > 0 && out[n - 1] == ' ')
        n--;
    out[n] = '\0';
}

double decode_f32_shortest(double v)
{
    float f = (float)v;
    if (!isfinite(v) || (double)f != v)
        return v;
    char buf[32];
    for (int prec = 1; prec <= 9; prec++) {
        snprintf(buf, sizeof(buf), "%.*g", prec, v);
        if (strtof(buf, NULL) == f)
            return strtod(buf, NULL);
    }
    return v; /* 9 digits always round-trip a float32 */
}
