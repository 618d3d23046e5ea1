/* block_codec.c -- packs a device's raw readings into a compact blob and back (pure). */
#include "block_codec.h"
#include "err.h"

#include <math.h>
#include <string.h>

#define BLOCK_VARINT_MAX 10
#define BLOCK_MODE_NONE 0   /* no row has the column */
#define BLOCK_MODE_SCALED 1 /* zigzag varint deltas of value x 10^k */
#define BLOCK_MODE_RAW 2    /* 8 bytes of the double, little endian */
#define BLOCK_ALL_PRESENT 0x04
#define BLOCK_INT_LIMIT 9.0e15 /* |value x 10^k| below 2^53: the integer is exact */

static const double block_pow10[BLOCK_SCALE_MAX + 1] = {1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6};

struct block_out {
    uint8_t *p;
    size_t len, cap;
    int full;
};

static void out_byte(struct block_out *o, uint8_t b)
{
    if (o->len < o->cap)
        o->p[o->len++] = b;
    else
        o->full = 1;
}

static void out_varint(struct block_out *o, uint64_t v)
{
    while (v >= 0x80) {
        out_byte(o, (uint8_t)(v | 0x80));
        v >>= 7;
    }
    out_byte(o, (uint8_t)v);
}

static uint64_t zigzag(int64_t v)
{
    return ((uint64_t)v << 1) ^ (uint64_t)(v < 0 ? -1 : 0);
}

static int64_t unzigzag(uint64_t u)
{
    return (int64_t)(u >> 1) ^ -(int64_t)(u & 1);
}

/* Wrapping subtraction: deltas of any int64 values round-trip. */
static int64_t sub_wrap(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a - (uint64_t)b);
}

static int64_t add_wrap(int64_t a, int64_t b)
{
    return (int64_t)((uint64_t)a + (uint64_t)b);
}

static uint64_t double_bits(double v)
{
    uint64_t u;
    memcpy(&u, &v, sizeof(u));
    return u;
}

static double bits_double(uint64_t u)
{
    double v;
    memcpy(&v, &u, sizeof(v));
    return v;
}

/* The double an integer stands for at scale k, as decode.c computes raw x 10^-k. */
static double scaled_value(int64_t i, int k)
{
    return k == 0 ? (double)i : (double)i / block_pow10[k];
}

/* 1 when v is exactly i x 10^-k for an integer i (bit for bit), which goes to *i. */
static int scale_fits(double v, int k, int64_t *i)
{
    double x = v * block_pow10[k];
    if (!isfinite(x) || fabs(x) >= BLOCK_INT_LIMIT)
        return 0;
    *i = (int64_t)llround(x);
    return double_bits(scaled_value(*i, k)) == double_bits(v);
}

/* The smallest scale at which every present value of column c is lossless, or -1. */
static int column_scale(const struct block_row *rows, size_t n, int c)
{
    for (int k = 0; k <= BLOCK_SCALE_MAX; k++) {
        size_t r = 0;
        int64_t i;
        while (r < n && (!((rows[r].present >> c) & 1u) || scale_fits(rows[r].v[c], k, &i)))
            r++;
        if (r == n)
            return k;
    }
    return -1;
}

size_t block_encode_bound(size_t n)
{
    return BLOCK_VARINT_MAX + n * 2 * BLOCK_VARINT_MAX +
           BLOCK_COLS * (1 + (n + 7) / 8 + n * BLOCK_VARINT_MAX);
}

static void encode_times(struct block_out *o, const struct block_row *rows, size_t n)
{
    int64_t prev = 0, prev_delta = 0;
    for (size_t r = 0; r < n; r++) {
        int64_t delta = sub_wrap(rows[r].ts_ms, prev);
        out_varint(o, zigzag(r == 0 ? rows[r].ts_ms : sub_wrap(delta, prev_delta)));
        prev_delta = r == 0 ? 0 : delta;
        prev = rows[r].ts_ms;
    }
    for (size_t r = 0; r < n; r++)
        out_varint(o, zigzag(rows[r].quality));
}

static void encode_column(struct block_out *o, const struct block_row *rows, size_t n, int c)
{
    size_t have = 0;
    for (size_t r = 0; r < n; r++)
        have += (rows[r].present >> c) & 1u;
    if (have == 0) {
        out_byte(o, BLOCK_MODE_NONE);
        return;
    }
    int k = column_scale(rows, n, c);
    uint8_t head = (uint8_t)(k >= 0 ? BLOCK_MODE_SCALED | (k << 4) : BLOCK_MODE_RAW);
    out_byte(o, (uint8_t)(head | (have == n ? BLOCK_ALL_PRESENT : 0)));
    if (have < n)
        for (size_t r = 0; r < n; r += 8) {
            uint8_t b = 0;
            for (size_t j = r; j < n && j < r + 8; j++)
                b |= (uint8_t)(((rows[j].present >> c) & 1u) << (j - r));
            out_byte(o, b);
        }
    int64_t prev = 0;
    for (size_t r = 0; r < n; r++) {
        if (!((rows[r].present >> c) & 1u))
            continue;
        if (k >= 0) {
            int64_t i = 0;
            scale_fits(rows[r].v[c], k, &i);
            out_varint(o, zigzag(sub_wrap(i, prev)));
            prev = i;
        } else {
            uint64_t u = double_bits(rows[r].v[c]);
            for (int b = 0; b < 8; b++)
                out_byte(o, (uint8_t)(u >> (8 * b)));
        }
    }
}

size_t block_encode(const struct block_row *rows, size_t n, uint8_t *out, size_t cap)
{
    struct block_out o = {.p = out, .cap = cap};
    out_varint(&o, n);
    encode_times(&o, rows, n);
    for (int c = 0; c < BLOCK_COLS; c++)
        encode_column(&o, rows, n, c);
    return o.full ? 0 : o.len;
}

/* ---- decoding --------------------------------------------------------------- */

struct block_in {
    const uint8_t *p;
    size_t len, pos;
    int bad;
};

static uint8_t in_byte(struct block_in *in)
{
    if (in->pos < in->len)
        return in->p[in->pos++];
    in->bad = 1;
    return 0;
}

static uint64_t in_varint(struct block_in *in)
{
    uint64_t v = 0;
    for (int shift = 0; shift < 64; shift += 7) {
        uint8_t b = in_byte(in);
        v |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80))
            return v;
    }
    in->bad = 1;
    return 0;
}

int block_count(const uint8_t *in, size_t len, size_t *n)
{
    struct block_in b = {.p = in, .len = len};
    uint64_t v = in_varint(&b);
    /* every row takes at least two bytes (time and quality) */
    if (b.bad || v > len)
        return ENMON_ERR_PARSE;
    *n = (size_t)v;
    return ENMON_OK;
}

static void decode_times(struct block_in *in, struct block_row *rows, size_t n)
{
    int64_t prev = 0, prev_delta = 0;
    for (size_t r = 0; r < n; r++) {
        int64_t z = unzigzag(in_varint(in));
        int64_t delta = r == 0 ? 0 : add_wrap(prev_delta, z);
        rows[r].ts_ms = r == 0 ? z : add_wrap(prev, delta);
        prev_delta = delta;
        prev = rows[r].ts_ms;
        rows[r].present = 0;
    }
    for (size_t r = 0; r < n; r++)
        rows[r].quality = unzigzag(in_varint(in));
}

static int decode_column(struct block_in *in, struct block_row *rows, size_t n, int c)
{
    uint8_t head = in_byte(in);
    int mode = head & 0x03, k = head >> 4;
    if (mode == BLOCK_MODE_NONE)
        return head == 0 ? ENMON_OK : ENMON_ERR_PARSE;
    if ((mode != BLOCK_MODE_SCALED && mode != BLOCK_MODE_RAW) || k > BLOCK_SCALE_MAX ||
        (head & 0x08))
        return ENMON_ERR_PARSE;
    for (size_t r = 0; r < n; r += 8) {
        uint8_t b = (head & BLOCK_ALL_PRESENT) ? 0xff : in_byte(in);
        for (size_t j = r; j < n && j < r + 8; j++)
            rows[j].present |= (uint32_t)((b >> (j - r)) & 1u) << c;
    }
    int64_t prev = 0;
    for (size_t r = 0; r < n && !in->bad; r++) {
        if (!((rows[r].present >> c) & 1u))
            continue;
        if (mode == BLOCK_MODE_SCALED) {
            prev = add_wrap(prev, unzigzag(in_varint(in)));
            rows[r].v[c] = scaled_value(prev, k);
        } else {
            uint64_t u = 0;
            for (int b = 0; b < 8; b++)
                u |= (uint64_t)in_byte(in) << (8 * b);
            rows[r].v[c] = bits_double(u);
        }
    }
    return in->bad ? ENMON_ERR_PARSE : ENMON_OK;
}

int block_decode(const uint8_t *in, size_t len, struct block_row *rows, size_t max, size_t *n)
{
    *n = 0;
    size_t count = 0;
    if (block_count(in, len, &count) != ENMON_OK)
        return ENMON_ERR_PARSE;
    if (count > max)
        return ENMON_ERR_RANGE;
    struct block_in b = {.p = in, .len = len};
    in_varint(&b);
    decode_times(&b, rows, count);
    for (int c = 0; c < BLOCK_COLS && !b.bad; c++)
        if (decode_column(&b, rows, count, c) != ENMON_OK)
            return ENMON_ERR_PARSE;
    if (b.bad || b.pos != len)
        return ENMON_ERR_PARSE;
    *n = count;
    return ENMON_OK;
}
