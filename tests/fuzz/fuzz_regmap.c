/* fuzz_regmap.c -- libFuzzer target: register-map files, then decoding fuzzed words with them. */
#include "regmap.h"

#include "fuzz_file.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/enmon-fuzz-map-XXXXXX";
    if (fuzz_write_file(path, data, size) != 0)
        return 0;
    struct regmap *m = NULL;
    struct cfg_error err;
    if (regmap_load(path, &m, &err) == 0) {
        /* decode the map over the input bytes themselves as register words */
        static uint16_t words[65536];
        memset(words, 0xA5, sizeof(words));
        memcpy(words, data, size < sizeof(words) ? size : sizeof(words));
        struct regmap_block blocks[2] = {{REGMAP_HOLDING, 0, 65535, words},
                                         {REGMAP_INPUT, 0, 65535, words}};
        struct reading r = {0};
        regmap_decode(m, blocks, 2, &r);
        regmap_free(m);
    }
    unlink(path);
    return 0;
}
