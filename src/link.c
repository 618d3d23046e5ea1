/* link.c -- one Modbus connection (a TCP endpoint or an RTU bus) shared by the devices behind it. */
#include "link.h"
#include "clock.h"
#include "err.h"
#include "log.h"

#include <errno.h>
#include <stdio.h>
#include <modbus.h>

#define LINK_BACKOFF_MIN_MS 500
#define LINK_BACKOFF_MAX_MS 30000
#define LINK_CONNECT_TIMEOUT_MS 2000

void link_init(struct link *l, const struct cfg_link *cfg)
{
    *l = (struct link){.cfg = cfg, .backoff_ms = LINK_BACKOFF_MIN_MS};
}

void link_close(struct link *l)
{
    if (!l->mb)
        return;
    modbus_close(l->mb);
    modbus_free(l->mb);
    l->mb = NULL;
}

static void link_back_off(struct link *l)
{
    l->retry_at_ms = clock_mono_ms() + l->backoff_ms;
    l->backoff_ms = l->backoff_ms * 2 > LINK_BACKOFF_MAX_MS ? LINK_BACKOFF_MAX_MS : l->backoff_ms * 2;
}

static modbus_t *link_new_context(const struct cfg_link *cfg)
{
    if (cfg->kind == LINK_RTU)
        return modbus_new_rtu(cfg->host, cfg->baud, cfg->parity, cfg->data_bits, cfg->stop_bits);
    char port[8];
    snprintf(port, sizeof(port), "%d", cfg->port);
    return modbus_new_tcp_pi(cfg->host, port);
}

static int link_connect(struct link *l)
{
    if (clock_mono_ms() < l->retry_at_ms)
        return ENMON_ERR_CONNECT;
    modbus_t *mb = link_new_context(l->cfg);
    if (!mb)
        return ENMON_ERR_NOMEM;
    /* libmodbus uses the response timeout for connect() too */
    modbus_set_response_timeout(mb, LINK_CONNECT_TIMEOUT_MS / 1000,
                                (LINK_CONNECT_TIMEOUT_MS % 1000) * 1000);
    if (modbus_connect(mb) != 0) {
        static struct log_limit lim;
        log_limited(&lim, 30, LOG_WARNING, "link %s: connect failed: %s", l->cfg->uri,
                    modbus_strerror(errno));
        modbus_free(mb);
        link_back_off(l);
        return ENMON_ERR_CONNECT;
    }
    l->mb = mb;
    l->connects++;
    l->backoff_ms = LINK_BACKOFF_MIN_MS;
    if (l->cfg->connect_pause_ms > 0) /* some gateways drop requests sent right after connect */
        clock_sleep_until_ms(clock_mono_ms() + l->cfg->connect_pause_ms);
    return ENMON_OK;
}

static int link_error_kind(int err)
{
    if (err == ETIMEDOUT)
        return ENMON_ERR_TIMEOUT;
    if (err == EMBXSBUSY)
        return ENMON_ERR_BUSY;
    if (err == EMBXILFUN || err == EMBXILADD || err == EMBXILVAL)
        return ENMON_ERR_REJECTED;
    if (err == EMBXGTAR || err == EMBXGPATH)
        return ENMON_ERR_GATEWAY;
    if (err == ECONNRESET || err == EPIPE || err == ECONNREFUSED || err == ENOTCONN ||
        err == EBADF || err == ECONNABORTED)
        return ENMON_ERR_CONNECT;
    return ENMON_ERR_MODBUS;
}

int link_read(struct link *l, int unit, enum link_regs kind, uint16_t addr, uint16_t count,
              uint16_t *dest, int timeout_ms)
{
    if (!l->mb) {
        int rc = link_connect(l);
        if (rc != ENMON_OK)
            return rc;
    }
    modbus_set_slave(l->mb, unit);
    modbus_set_response_timeout(l->mb, (uint32_t)(timeout_ms / 1000),
                                (uint32_t)(timeout_ms % 1000) * 1000);
    l->requests++;
    int n = kind == LINK_INPUT ? modbus_read_input_registers(l->mb, addr, count, dest)
                               : modbus_read_registers(l->mb, addr, count, dest);
    if (n == count)
        return ENMON_OK;
    l->errors++;
    int err = n < 0 ? link_error_kind(errno) : ENMON_ERR_MODBUS;
    if (err == ENMON_ERR_CONNECT) {
        link_close(l);
        link_back_off(l);
    } else if (err == ENMON_ERR_TIMEOUT || (n < 0 && (errno == EMBBADDATA || errno == EMBBADCRC))) {
        /* a late or garbled reply must not be taken for the next request's answer */
        modbus_flush(l->mb);
    }
    return err;
}
