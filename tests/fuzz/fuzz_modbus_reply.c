/* fuzz_modbus_reply.c -- libFuzzer target: Modbus TCP reply framing and register decoding. */
#include "decode.h"
#include "mbtcp.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    /* the first bytes choose the request the reply is checked against */
    uint16_t tid = (uint16_t)(data[0] << 8 | data[1]);
    uint8_t unit = data[2];
    uint16_t count = (uint16_t)(data[3] % 126);
    const uint8_t *buf = data + 4;
    size_t len = size - 4;
    uint16_t regs[125];
    while (len > 0) {
        int flen = mbtcp_frame_length(buf, len);
        if (flen <= 0 || (size_t)flen > len)
            break;
        if (mbtcp_check_read(buf, (size_t)flen, tid, unit, 3, count ? count : 1, regs) == 0) {
            for (int t = DECODE_U16; t <= DECODE_F64; t++)
                for (int o = DECODE_ABCD; o <= DECODE_DCBA; o++) {
                    double v;
                    if (decode_type_words((enum decode_type)t) <= (count ? count : 1))
                        decode_value(regs, (enum decode_type)t, (enum decode_order)o, &v);
                }
            char s[64];
            decode_string(regs, count ? count : 1, s, sizeof(s));
        }
        buf += flen;
        len -= (size_t)flen;
    }
    return 0;
}
