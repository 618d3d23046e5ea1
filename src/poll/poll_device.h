/* poll_device.h -- polls one device over its link into a reading: SunSpec or a register map. */
#ifndef ENMON_POLL_DEVICE_H
#define ENMON_POLL_DEVICE_H

#include "config.h"
#include "link.h"
#include "reading.h"
#include "regmap.h"
#include "reqplan.h"
#include "sunspec.h"

#include <stddef.h>
#include <stdint.h>

/* Words of the scratch block a poll reads into (the caller's, one per thread). */
#define POLL_DEVICE_BLOCK_WORDS 65538

/* Called when a device's SunSpec common model has been read at discovery; must not block. */
typedef void (*poll_device_ident_fn)(void *ctx, uint32_t device, const struct sunspec_common *c);

/* What polling one device remembers between polls. */
struct poll_device {
    const struct cfg_device *cfg;
    uint32_t index; /* in the configuration's devices */
    int discovered; /* SunSpec: the model chain has been walked */
    struct sunspec_plan plan;
    /* register-map devices: the planned reads, remembered across polls (a
     * rejected merged read is replaced by its split for good) */
    struct reqplan_point *points;
    size_t npoints;
    struct reqplan_req *reqs;
    struct regmap_block *blocks;
    size_t nreqs, cap_reqs;
    /* requests of the last poll that failed for want of an answer (timeout, garbled or
     * malformed reply, connection lost), counting those a retry made good; exceptions
     * (busy, rejected) are answers and do not count */
    int failed_requests;
};

/* Prepares device index of the configuration (plans a register map's reads).
 * ENMON_OK, ENMON_ERR_NOMEM or ENMON_ERR_CONFIG; poll_device_free either way. */
int poll_device_init(struct poll_device *d, const struct cfg_device *cfg, uint32_t index);
void poll_device_free(struct poll_device *d);

/* Polls d over link into r (values and quality; the caller sets the rest),
 * reading into block (POLL_DEVICE_BLOCK_WORDS words). Every request gets the
 * device's retries, a busy device (exception 6) up to 3 more after a pause of
 * at least 200 ms, and the device's pause between two requests. A SunSpec
 * device is discovered on its first poll and again when its model moved;
 * ident (may be NULL) is called with ctx when its common model was read.
 * A register-map read the device rejects is split for good. Returns ENMON_OK
 * or the error of the failed request (see link_read). */
int poll_device_read(struct poll_device *d, struct link *link, uint16_t *block,
                     struct reading *r, poll_device_ident_fn ident, void *ctx);

#endif
