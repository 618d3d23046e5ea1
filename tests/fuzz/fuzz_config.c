/* fuzz_config.c -- libFuzzer target: the enmond config parser on arbitrary YAML. */
#include "config.h"
#include "fuzz_file.h"

#include <stdint.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/enmon-fuzz-config-XXXXXX";
    if (fuzz_write_file(path, data, size) != 0)
        return 0;
    struct enmon_config *cfg = NULL;
    struct cfg_error err;
    if (config_load(path, &cfg, &err) == 0)
        config_free(cfg);
    else
        config_format_error(&err, (char[512]){0}, 512);
    unlink(path);
    return 0;
}
