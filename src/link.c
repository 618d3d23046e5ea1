/* link.c -- one Modbus connection (a TCP endpoint or an RTU bus) shared by the devices behind it. */
#include "link.h"
#include "clock.h"
#include "err.h"
#include "link_tcp.h"
#include "log.h"

#include <errno.h>
#include <modbus.h>
#include <stdio.h>
#include <string.h>

#define LINK_BACKOFF_MIN_MS 500
#define LINK_BACKOFF_MAX_MS 30000
#define LINK_CONNECT_TIMEOUT_MS 2000

void link_init(struct link *l, const struct cfg_link *cfg)
{
    *l = (struct link){.cfg = cfg, .fd = -1, .backoff_ms = LINK_BACKOFF_MIN_MS};
}

static int link_is_open(const struct link *l)
{
    return l->cfg->kind == LINK_RTU ? l->mb != NULL : l->fd >= 0;
}

void link_close(struct link *l)
{
    link_tcp_close(l);
    if (l->mb) {
        modbus_close(l->mb);
        modbus_free(l->mb);
        l->mb = NULL;
    }
}

static void link_back_off(struct link *l)
{
    l->retry_at_ms = clock_mono_ms() + l->backoff_ms;
    l->backoff_ms = l->backoff_ms * 2 > LINK_BACKOFF_MAX_MS ? LINK_BACKOFF_MAX_MS : l->backoff_ms * 2;
}

/* RTU buses go through libmodbus, which opens the port with O_NOCTTY and checks CRC and slave id. */
static int link_rtu_connect(struct link *l)
{
    const struct cfg_link *c = l->cfg;
    modbus_t *mb = modbus_new_rtu(c->host, c->baud, c->parity, c->data_bits, c->stop_bits);
    if (!mb)
        return ENMON_ERR_NOMEM;
    if (modbus_connect(mb) != 0) {
        modbus_free(mb);
        return ENMON_ERR_CONNECT;
    }
    l->mb = mb;
    return ENMON_OK;
}

static int link_connect(struct link *l)
{
    if (clock_mono_ms() < l->retry_at_ms)
        return ENMON_ERR_CONNECT;
    int rc = l->cfg->kind == LINK_RTU ? link_rtu_connect(l)
                                      : link_tcp_connect(l, LINK_CONNECT_TIMEOUT_MS);
    if (rc != ENMON_OK) {
        static struct log_limit lim;
        log_limited(&lim, 30, LOG_WARNING, "link %s: connect failed: %s", l->cfg->uri,
                    rc == ENMON_ERR_CONNECT ? strerror(errno) : enmon_strerror(rc));
        link_back_off(l);
        return rc;
    }
    l->connects++;
    l->backoff_ms = LINK_BACKOFF_MIN_MS;
    if (l->cfg->connect_pause_ms > 0) /* some gateways drop requests sent right after connect */
        clock_sleep_until_ms(clock_mono_ms() + l->cfg->connect_pause_ms);
    return ENMON_OK;
}

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

static int link_rtu_read(struct link *l, int unit, enum link_regs kind, uint16_t addr,
                         uint16_t count, uint16_t *dest, int timeout_ms)
{
    modbus_set_slave(l->mb, unit);
    modbus_set_response_timeout(l->mb, (uint32_t)(timeout_ms / 1000),
                                (uint32_t)(timeout_ms % 1000) * 1000);
    int n = kind == LINK_INPUT ? modbus_read_input_registers(l->mb, addr, count, dest)
                               : modbus_read_registers(l->mb, addr, count, dest);
    if (n == count)
        return ENMON_OK;
    int err = n < 0 ? rtu_error_kind(errno) : ENMON_ERR_BAD_REPLY;
    if (err == ENMON_ERR_TIMEOUT || err == ENMON_ERR_BAD_REPLY)
        modbus_flush(l->mb); /* a late or garbled frame must not answer the next request */
    return err;
}

int link_read(struct link *l, int unit, enum link_regs kind, uint16_t addr, uint16_t count,
              uint16_t *dest, int timeout_ms)
{
    if (!link_is_open(l)) {
        int rc = link_connect(l);
        if (rc != ENMON_OK)
            return rc;
    }
    l->requests++;
    int rc = l->cfg->kind == LINK_RTU
                 ? link_rtu_read(l, unit, kind, addr, count, dest, timeout_ms)
                 : link_tcp_read(l, unit, kind == LINK_INPUT ? 4 : 3, addr, count, dest, timeout_ms);
    if (rc == ENMON_OK)
        return rc;
    l->errors++;
    if (rc == ENMON_ERR_CONNECT) {
        link_close(l);
        link_back_off(l);
    } else if (rc == ENMON_ERR_BAD_REPLY && l->cfg->kind == LINK_TCP) {
        link_close(l); /* the byte stream may be out of step: start clean */
    }
    return rc;
}
