/* cfg_error.h -- where a configuration error is: file, line, field and message; shared sizes. */
#ifndef ENMON_CFG_ERROR_H
#define ENMON_CFG_ERROR_H

/* Included by every parser of a YAML file (config, register maps, alerts:,
 * savings parameters) without them depending on config.h. */

#define CFG_ID_MAX 64    /* an id (program, site, device) with its NUL */
#define CFG_PATH_MAX 512 /* a file path with its NUL */

/* Where a configuration error is: file, line (1-based, 0 unknown), field path
 * ("programs[0].sites[2].devices[1].unit") and what is wrong. */
struct cfg_error {
    char file[CFG_PATH_MAX];
    int line;
    char field[160];
    char msg[256];
};

#endif
