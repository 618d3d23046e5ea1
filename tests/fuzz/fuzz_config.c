/* fuzz_config.c -- libFuzzer target: the enmond config parser on arbitrary YAML. */
#include "config.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char path[] = "/tmp/enmon-fuzz-config-XXXXXX";
    int fd = mkstemp(path);
    if (fd < 0)
        return 0;
    if (write(fd, data, size) != (ssize_t)size) {
        close(fd);
        unlink(path);
        return 0;
    }
    close(fd);
    struct enmon_config *cfg = NULL;
    struct cfg_error err;
    if (config_load(path, &cfg, &err) == 0)
        config_free(cfg);
    else
        config_format_error(&err, (char[512]){0}, 512);
    unlink(path);
    return 0;
}
