/* fuzz_sunspec.c -- libFuzzer target: SunSpec discovery, planning and decoding over fuzzed registers. */
#include "err.h"
#include "sunspec.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct space {
    const uint8_t *data;
    size_t size;
};

/* Register a reads word (a % size) of the input, so any chain shape can be reached;
 * registers 0, 40000 and 50000 start with the 'SunS' marker when the input asks for it. */
static int read_space(void *ctx, uint16_t addr, uint16_t count, uint16_t *dest)
{
    const struct space *s = ctx;
    if (count == 0 || count > SUNSPEC_MAX_READ)
        return ENMON_ERR_REJECTED;
    for (uint16_t i = 0; i < count; i++) {
        uint32_t a = (uint32_t)addr + i;
        size_t k = (2 * (size_t)a) % (s->size - 1);
        dest[i] = (uint16_t)(s->data[k] << 8 | s->data[k + 1]);
        if ((a == 40000 || a == 0 || a == 50000) && (s->data[0] & 1))
            dest[i] = 0x5375;
        if ((a == 40001 || a == 1 || a == 50001) && (s->data[0] & 1))
            dest[i] = 0x6E53;
    }
    return (s->data[0] & 2) && addr > 60000 ? ENMON_ERR_REJECTED : ENMON_OK;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 4)
        return 0;
    struct space s = {data, size};
    struct sunspec_chain chain;
    if (sunspec_discover(read_space, &s, -1, &chain) != ENMON_OK)
        return 0;
    static uint16_t block[65538];
    for (int nth = 1; nth <= 2; nth++) {
        struct sunspec_plan plan;
        if (sunspec_plan_build_nth(&chain, nth, &plan) != ENMON_OK)
            continue;
        if (sunspec_read_model(read_space, &s, &plan.main, block) != ENMON_OK)
            continue;
        struct reading r = {0};
        sunspec_plan_decode(&plan, block, (size_t)plan.main.len + 2, &r);
        if (plan.mppt.id == 160 && sunspec_read_model(read_space, &s, &plan.mppt, block) == ENMON_OK)
            sunspec_mppt_decode(block, (size_t)plan.mppt.len + 2, &r);
    }
    if (chain.nmodels > 0 && chain.models[0].id == 1 &&
        sunspec_read_model(read_space, &s, &chain.models[0], block) == ENMON_OK) {
        struct sunspec_common c;
        sunspec_common_decode(block, (size_t)chain.models[0].len + 2, &c);
    }
    return 0;
}
