/* block_codec.h -- packs a device's raw readings into a compact blob and back (pure). */
#ifndef ENMON_BLOCK_CODEC_H
#define ENMON_BLOCK_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* The value columns of a readings row, in table order: power_w .. events (11),
 * then m1_dc_current_a .. m4_dc_power_w (12), then leakage_ma .. tilt_deg (5). */
#define BLOCK_COLS 28
#define BLOCK_SCALE_MAX 6 /* values are tried as integers x 10^-k, k = 0..6 */

/* One raw reading: time, quality and the values present (bit c of present set:
 * v[c] holds column c; a clear bit is SQL NULL and v[c] is ignored). */
struct block_row {
    int64_t ts_ms;
    int64_t quality;
    uint32_t present;
    double v[BLOCK_COLS];
};

/* Bytes block_encode may need for n rows at most. */
size_t block_encode_bound(size_t n);

/* Encodes rows[0..n) (any time order) into out: the row count, times as
 * zigzag varints of delta-of-delta, quality as varints, then column by column
 * a header, a presence bitmap unless every row (or none) has the column, and
 * the values present: as zigzag varint deltas of value x 10^k when that gives
 * back every value bit for bit (decode.c's raw / 10^k), else 8 raw bytes.
 * Returns the bytes written, 0 when cap is too small. */
size_t block_encode(const struct block_row *rows, size_t n, uint8_t *out, size_t cap);

/* The row count of a blob; ENMON_OK or ENMON_ERR_PARSE. */
int block_count(const uint8_t *in, size_t len, size_t *n);

/* Decodes a blob of block_encode into rows (room for max); *n gets the count.
 * ENMON_OK, ENMON_ERR_PARSE (a malformed blob) or ENMON_ERR_RANGE (max too small). */
int block_decode(const uint8_t *in, size_t len, struct block_row *rows, size_t max, size_t *n);

#endif
