/* err.c -- the one strerror for enum enmon_err. */
#include "err.h"

static const char *const err_text[ENMON_ERR__COUNT] = {
    [ENMON_OK] = "success",
    [ENMON_ERR_NOMEM] = "out of memory",
    [ENMON_ERR_IO] = "I/O error",
    [ENMON_ERR_CONFIG] = "invalid configuration",
    [ENMON_ERR_PARSE] = "malformed input",
    [ENMON_ERR_RANGE] = "value out of range",
    [ENMON_ERR_NOT_FOUND] = "not found",
    [ENMON_ERR_TIMEOUT] = "timed out",
    [ENMON_ERR_MODBUS] = "Modbus error",
    [ENMON_ERR_CONNECT] = "connection failed",
    [ENMON_ERR_NOT_SUNSPEC] = "no SunSpec marker",
    [ENMON_ERR_BAD_CHAIN] = "malformed SunSpec model chain",
    [ENMON_ERR_INVALID] = "value not implemented or invalid",
    [ENMON_ERR_FULL] = "queue full",
    [ENMON_ERR_DB] = "database error",
    [ENMON_ERR_MQTT] = "MQTT error",
    [ENMON_ERR_CLOSED] = "closed",
    [ENMON_ERR_BUSY] = "device busy (Modbus exception 6)",
    [ENMON_ERR_REJECTED] = "request rejected (Modbus exception 1, 2 or 3)",
    [ENMON_ERR_BAD_REPLY] = "malformed or mismatched Modbus reply",
    [ENMON_ERR_GATEWAY] = "gateway: target device did not respond (Modbus exception 10 or 11)",
};

const char *enmon_strerror(int err)
{
    if (err < 0 || err >= ENMON_ERR__COUNT || !err_text[err])
        return "unknown error";
    return err_text[err];
}
