/* reqplan.h -- pure Modbus read planning: few merged requests per device, split on failure. */
#ifndef ENMON_REQPLAN_H
#define ENMON_REQPLAN_H

#include <stddef.h>
#include <stdint.h>

/* Most registers one Modbus read (function 3 or 4) may return. */
#define REQPLAN_MAX_REGS 125
/* Unused registers read across by default to join two points into one request. */
#define REQPLAN_DEFAULT_GAP 8

/* Registers a device must read: kind is opaque here (holding / input); points
 * of different kinds are never merged. Points may overlap or repeat. */
struct reqplan_point {
    uint8_t kind;
    uint16_t address; /* 0-based register address */
    uint16_t count;   /* registers, >= 1; address + count <= 65536 */
};

/* One read request: count registers of kind from start. */
struct reqplan_req {
    uint8_t kind;
    uint16_t start;
    uint16_t count;
};

/* Plans the fewest requests covering every point: per kind, by address, a point
 * joins the current request when the unused gap before it is <= max_gap registers
 * (0 = only adjacent or overlapping points) and the request stays within max_regs
 * (1..125). A point is never split over two requests. Requests come out sorted by
 * kind, then start. Returns the number of requests written to out, or -1 with
 * errno EINVAL (max_regs out of range, max_gap < 0, a point of count 0, larger than
 * max_regs or beyond register 65535) or ENOSPC (more than max_out requests needed). */
int reqplan_build(const struct reqplan_point *pts, size_t n, int max_regs, int max_gap,
                  struct reqplan_req *out, size_t max_out);

/* Fallback for a device that rejected `failed` (Modbus exception 2 or 3): the points
 * lying inside failed are re-planned without reading across gaps (max_gap 0) and
 * with at most half of failed's registers per request (but never less than its
 * largest point). Applying it again to a part that still fails halves again, so a
 * few rounds reach one request per point. Returns the number of requests written
 * (>= 1, never failed itself), 0 when failed cannot be split (it holds one point, or points that
 * all overlap: that register range itself is unreadable), or -1 with errno as for reqplan_build. */
int reqplan_split(const struct reqplan_point *pts, size_t n, const struct reqplan_req *failed,
                  struct reqplan_req *out, size_t max_out);

/* Replaces plan[idx] by the nwith requests in with, keeping order; plan holds n
 * requests and room for max. Returns the new count, or -1 (errno EINVAL for a bad
 * idx, ENOSPC when the result would not fit). */
int reqplan_replace(struct reqplan_req *plan, size_t n, size_t max, size_t idx,
                    const struct reqplan_req *with, size_t nwith);

#endif
