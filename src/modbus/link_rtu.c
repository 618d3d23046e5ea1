/* link_rtu.c -- Modbus RTU transport of a link: a serial bus through libmodbus. */
#include "link_rtu.h"
#include "err.h"

#include <errno.h>
#include <modbus.h>
#include <stdio.h>

/* The connect timeout does not apply: opening a serial port does not wait for the bus. */
static int rtu_open(const struct cfg_link *cfg, int timeout_ms, void **out)
{
    (void)timeout_ms;
    modbus_t *mb = modbus_new_rtu(cfg->host, cfg->baud, cfg->parity, cfg->data_bits,
                                  cfg->stop_bits);
    if (!mb)
        return ENMON_ERR_NOMEM;
    if (modbus_connect(mb) != 0) {
        int err = errno;
        modbus_free(mb);
        errno = err;
        return ENMON_ERR_CONNECT;
    }
    *out = mb;
    return ENMON_OK;
}

static void rtu_close(void *conn)
{
    modbus_close(conn);
    modbus_free(conn);
}

/* The enmon error of a libmodbus errno. */
static int rtu_error_kind(int err)
{
    switch (err) {
    case ETIMEDOUT:
        return ENMON_ERR_TIMEOUT;
    case EMBXSBUSY:
        return ENMON_ERR_BUSY;
    case EMBXILFUN:
    case EMBXILADD:
    case EMBXILVAL:
        return ENMON_ERR_REJECTED;
    case EMBXGTAR:
    case EMBXGPATH:
        return ENMON_ERR_GATEWAY;
    case EMBBADCRC:
    case EMBBADDATA:
    case EMBBADSLAVE:
    case EMBMDATA:
        return ENMON_ERR_BAD_REPLY;
    case EIO:
    case EBADF:
    case ENXIO:
        return ENMON_ERR_CONNECT;
    default:
        return err >= MODBUS_ENOBASE ? ENMON_ERR_MODBUS : ENMON_ERR_CONNECT;
    }
}

static int rtu_read(void *conn, int unit, enum link_regs kind, uint16_t addr, uint16_t count,
                    uint16_t *dest, int timeout_ms)
{
    modbus_t *mb = conn;
    modbus_set_slave(mb, unit);
    modbus_set_response_timeout(mb, (uint32_t)(timeout_ms / 1000),
                                (uint32_t)(timeout_ms % 1000) * 1000);
    int n = kind == LINK_INPUT ? modbus_read_input_registers(mb, addr, count, dest)
                               : modbus_read_registers(mb, addr, count, dest);
    if (n == count)
        return ENMON_OK;
    return n < 0 ? rtu_error_kind(errno) : ENMON_ERR_BAD_REPLY;
}

/* A late or garbled frame must not answer the next request: drop what the port holds. */
static int rtu_flush(void *conn, int rc)
{
    (void)rc;
    modbus_flush(conn);
    return ENMON_OK;
}

static void rtu_describe(const struct cfg_link *cfg, char *buf, size_t len)
{
    snprintf(buf, len, "RTU %s %d %d%c%d", cfg->host, cfg->baud, cfg->data_bits, cfg->parity,
             cfg->stop_bits);
}

const struct link_backend link_rtu_backend = {
    .name = "rtu",
    .open = rtu_open,
    .close = rtu_close,
    .read = rtu_read,
    .flush = rtu_flush,
    .describe = rtu_describe,
};
