/* link.c -- one Modbus connection (a TCP endpoint or an RTU bus) shared by the devices behind it. */
#include "link.h"
#include "clock.h"
#include "err.h"
#include "link_rtu.h"
#include "link_tcp.h"

#include <errno.h>
#include <string.h>

#define LINK_BACKOFF_MIN_MS 500
#define LINK_BACKOFF_MAX_MS 30000
#define LINK_CONNECT_TIMEOUT_MS 2000
#define LINK_COMPLAIN_S 30 /* at most one connect complaint per link per 30 s */

static const struct link_backend *const link_backends[] = {
    [LINK_TCP] = &link_tcp_backend,
    [LINK_RTU] = &link_rtu_backend,
};

const struct link_backend *link_backend_of(enum link_kind kind)
{
    return link_backends[kind];
}

void link_init(struct link *l, const struct cfg_link *cfg)
{
    *l = (struct link){.cfg = cfg, .be = link_backend_of(cfg->kind),
                       .backoff_ms = LINK_BACKOFF_MIN_MS};
}

void link_close(struct link *l)
{
    if (l->conn)
        l->be->close(l->conn);
    l->conn = NULL;
}

static void link_back_off(struct link *l)
{
    l->retry_at_ms = clock_mono_ms() + l->backoff_ms;
    l->backoff_ms = l->backoff_ms * 2 > LINK_BACKOFF_MAX_MS ? LINK_BACKOFF_MAX_MS : l->backoff_ms * 2;
}

/* A failed connect: complain (rate limited per link, like collectd's c_complain) and back off. */
static void link_connect_failed(struct link *l, int rc)
{
    log_limited(&l->complain, LINK_COMPLAIN_S, LOG_WARNING, "link %s: connect failed: %s",
                l->cfg->uri, rc == ENMON_ERR_CONNECT ? strerror(errno) : enmon_strerror(rc));
    l->complained = 1;
    link_back_off(l);
}

static int link_connect(struct link *l)
{
    if (clock_mono_ms() < l->retry_at_ms)
        return ENMON_ERR_CONNECT;
    int rc = l->be->open(l->cfg, LINK_CONNECT_TIMEOUT_MS, &l->conn);
    if (rc != ENMON_OK) {
        l->conn = NULL;
        link_connect_failed(l, rc);
        return rc;
    }
    if (l->complained) { /* the complaint's release, as c_release does */
        char what[200];
        l->be->describe(l->cfg, what, sizeof(what));
        log_info("link %s: connected again (%s)", l->cfg->uri, what);
        l->complained = 0;
    }
    l->connects++;
    l->backoff_ms = LINK_BACKOFF_MIN_MS;
    if (l->cfg->connect_pause_ms > 0) /* some gateways drop requests sent right after connect */
        clock_sleep_until_ms(clock_mono_ms() + l->cfg->connect_pause_ms);
    return ENMON_OK;
}

int link_read(struct link *l, int unit, enum link_regs kind, uint16_t addr, uint16_t count,
              uint16_t *dest, int timeout_ms)
{
    if (!l->conn) {
        int rc = link_connect(l);
        if (rc != ENMON_OK)
            return rc;
    }
    l->requests++;
    int rc = l->be->read(l->conn, unit, kind, addr, count, dest, timeout_ms);
    if (rc == ENMON_OK)
        return rc;
    l->errors++;
    if (rc == ENMON_ERR_CONNECT) {
        link_close(l);
        link_back_off(l);
    } else if ((rc == ENMON_ERR_TIMEOUT || rc == ENMON_ERR_BAD_REPLY) &&
               l->be->flush(l->conn, rc) != ENMON_OK) {
        link_close(l); /* the stream may be out of step: start clean */
    }
    return rc;
}
