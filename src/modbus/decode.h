/* decode.h -- pure conversion of Modbus register words into values (types, word orders, scale). */
#ifndef ENMON_DECODE_H
#define ENMON_DECODE_H

#include <stddef.h>
#include <stdint.h>

enum decode_type {
    DECODE_U16,
    DECODE_S16,
    DECODE_U32,
    DECODE_S32,
    DECODE_U64,
    DECODE_S64,
    DECODE_F32,
    DECODE_F64,
};

/* Byte order of a multi-register value, named as libmodbus does: A is the most
 * significant byte. ABCD is big-endian (Modbus/SunSpec), CDAB swaps words,
 * BADC swaps bytes within words, DCBA is little-endian. For 64-bit values the
 * same rule extends to four words. */
enum decode_order {
    DECODE_ABCD,
    DECODE_CDAB,
    DECODE_BADC,
    DECODE_DCBA,
};

/* Registers a type occupies (1, 2 or 4). */
int decode_type_words(enum decode_type type);

/* The value's bits assembled into big-endian order (ABCD) as an integer. */
uint64_t decode_bits(const uint16_t *words, int nwords, enum decode_order order);

/* Decodes words as type in order. Returns 0 and sets *out, or -1 when the
 * value is not a finite number (NaN or infinity for floats). */
int decode_value(const uint16_t *words, enum decode_type type, enum decode_order order, double *out);

/* raw x 10^sf, computed so that e.g. 2295 with sf -1 gives exactly 229.5
 * (division by a power of ten, not multiplication by 0.1). */
double decode_scale(double raw, int sf);

/* The double nearest to the shortest decimal (1 to 9 significant digits) that
 * reads back (strtof) as the same float32: 59.98f, exactly 59.979999542236328,
 * gives 59.98, so stores and payloads show what the device meant. v that is not
 * a finite float32 value is returned as it is. */
double decode_f32_shortest(double v);

/* Copies a register string (two bytes per word, high byte first) into out,
 * stopping at the first NUL, trimming trailing spaces; always terminates. */
void decode_string(const uint16_t *words, int nwords, char *out, size_t len);

#endif
