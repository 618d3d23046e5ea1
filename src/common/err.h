/* err.h -- enmon error codes: errors are values, with one strerror. */
#ifndef ENMON_ERR_H
#define ENMON_ERR_H

enum enmon_err {
    ENMON_OK = 0,
    ENMON_ERR_NOMEM,      /* out of memory */
    ENMON_ERR_IO,         /* I/O error, see errno */
    ENMON_ERR_CONFIG,     /* invalid configuration */
    ENMON_ERR_PARSE,      /* malformed input */
    ENMON_ERR_RANGE,      /* value out of range */
    ENMON_ERR_NOT_FOUND,  /* no such item */
    ENMON_ERR_TIMEOUT,    /* device did not answer in time */
    ENMON_ERR_MODBUS,     /* Modbus exception or protocol error */
    ENMON_ERR_CONNECT,    /* could not connect */
    ENMON_ERR_NOT_SUNSPEC,/* no SunSpec marker found */
    ENMON_ERR_BAD_CHAIN,  /* SunSpec model chain is malformed */
    ENMON_ERR_INVALID,    /* value not implemented or invalid */
    ENMON_ERR_FULL,       /* queue full */
    ENMON_ERR_DB,         /* database error */
    ENMON_ERR_MQTT,       /* MQTT error */
    ENMON_ERR_CLOSED,     /* queue or link closed */
    ENMON_ERR_BUSY,       /* Modbus exception 6: device busy, try again later */
    ENMON_ERR_REJECTED,   /* Modbus exception 1, 2 or 3: the device refuses this request */
    ENMON_ERR_GATEWAY,    /* Modbus exception 10 or 11: no such unit behind the gateway */
    ENMON_ERR_BAD_REPLY,  /* malformed reply, or one from another unit or for another request */
    ENMON_ERR__COUNT
};

/* Returns a static, human readable text for err (never NULL). */
const char *enmon_strerror(int err);

#endif
