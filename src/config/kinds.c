/* kinds.c -- the one spelling of each program and device kind: names and parsing (pure). */
#include "config.h"
#include "err.h"

#include <string.h>

const char *const config_program_kind_names[] = {
    "solar", "ami", "led-retrofit", "efficiency", "demand-response", "grid-safety", NULL};
const char *const config_device_kind_names[] = {"inverter", "meter", "sensor", NULL};

const char *config_program_kind_name(enum program_kind kind)
{
    if ((unsigned)kind >= sizeof(config_program_kind_names) / sizeof(config_program_kind_names[0]) - 1)
        return "unknown";
    return config_program_kind_names[kind];
}

const char *config_device_kind_name(enum device_kind kind)
{
    if ((unsigned)kind >= sizeof(config_device_kind_names) / sizeof(config_device_kind_names[0]) - 1)
        return "unknown";
    return config_device_kind_names[kind];
}

int config_program_kind_parse(const char *s, enum program_kind *out)
{
    for (int i = 0; config_program_kind_names[i]; i++) {
        if (strcmp(s, config_program_kind_names[i]) == 0) {
            *out = (enum program_kind)i;
            return ENMON_OK;
        }
    }
    return ENMON_ERR_PARSE;
}
