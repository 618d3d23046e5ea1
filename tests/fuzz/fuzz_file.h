/* fuzz_file.h -- fuzz targets whose parser reads a file: the input written to a temporary one. */
#ifndef ENMON_FUZZ_FILE_H
#define ENMON_FUZZ_FILE_H

#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

/* Writes data to a new file named from tmpl (mkstemp, "XXXXXX" at its end). 0, or -1. */
static inline int fuzz_write_file(char *tmpl, const uint8_t *data, size_t size)
{
    int fd = mkstemp(tmpl);
    if (fd < 0)
        return -1;
    int ok = write(fd, data, size) == (ssize_t)size;
    close(fd);
    if (!ok)
        unlink(tmpl);
    return ok ? 0 : -1;
}

#endif
