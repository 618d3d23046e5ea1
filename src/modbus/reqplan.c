/* reqplan.c -- pure Modbus read planning: few merged requests per device, split on failure. */
#include "reqplan.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

static int point_cmp(const void *a, const void *b)
{
    const struct reqplan_point *p = a, *q = b;

    if (p->kind != q->kind)
        return p->kind < q->kind ? -1 : 1;
    if (p->address != q->address)
        return p->address < q->address ? -1 : 1;
    /* Longer first: a shorter point at the same address is then always inside. */
    if (p->count != q->count)
        return p->count > q->count ? -1 : 1;
    return 0;
}

static int points_valid(const struct reqplan_point *pts, size_t n, int max_regs)
{
    for (size_t i = 0; i < n; i++) {
        if (pts[i].count == 0 || pts[i].count > max_regs ||
            (uint32_t)pts[i].address + pts[i].count > 65536u)
            return 0;
    }
    return 1;
}

/* Whether p (sorted after the points of cur) may join request cur. */
static int can_join(const struct reqplan_req *cur, const struct reqplan_point *p, int max_regs,
                    int max_gap)
{
    uint32_t end = (uint32_t)cur->start + cur->count;
    uint32_t p_end = (uint32_t)p->address + p->count;
    uint32_t new_end = p_end > end ? p_end : end;

    if (p->kind != cur->kind)
        return 0;
    if (p->address > end && p->address - end > (uint32_t)max_gap)
        return 0;
    return new_end - cur->start <= (uint32_t)max_regs;
}

/* Greedy merge of sorted points; -1 (ENOSPC) when more than max_out requests. */
static int merge_sorted(const struct reqplan_point *sorted, size_t n, int max_regs, int max_gap,
                        struct reqplan_req *out, size_t max_out)
{
    size_t nout = 0;

    for (size_t i = 0; i < n; i++) {
        const struct reqplan_point *p = &sorted[i];
        if (nout > 0 && can_join(&out[nout - 1], p, max_regs, max_gap)) {
            struct reqplan_req *cur = &out[nout - 1];
            uint32_t end = (uint32_t)p->address + p->count;
            if (end > (uint32_t)cur->start + cur->count)
                cur->count = (uint16_t)(end - cur->start);
            continue;
        }
        if (nout == max_out) {
            errno = ENOSPC;
            return -1;
        }
        out[nout++] = (struct reqplan_req){.kind = p->kind, .start = p->address, .count = p->count};
    }
    return (int)nout;
}

int reqplan_build(const struct reqplan_point *pts, size_t n, int max_regs, int max_gap,
                  struct reqplan_req *out, size_t max_out)
{
    if (max_regs < 1 || max_regs > REQPLAN_MAX_REGS || max_gap < 0 || (n > 0 && !pts) ||
        !points_valid(pts, n, max_regs)) {
        errno = EINVAL;
        return -1;
    }
    if (n == 0)
        return 0;
    struct reqplan_point *sorted = malloc(n * sizeof(*sorted));
    if (!sorted) {
        errno = ENOMEM;
        return -1;
    }
    memcpy(sorted, pts, n * sizeof(*sorted));
    qsort(sorted, n, sizeof(*sorted), point_cmp);
    int rc = merge_sorted(sorted, n, max_regs, max_gap, out, max_out);
    free(sorted);
    return rc;
}

static int point_inside(const struct reqplan_point *p, const struct reqplan_req *r)
{
    return p->kind == r->kind && p->address >= r->start &&
           (uint32_t)p->address + p->count <= (uint32_t)r->start + r->count;
}

int reqplan_split(const struct reqplan_point *pts, size_t n, const struct reqplan_req *failed,
                  struct reqplan_req *out, size_t max_out)
{
    if (!failed || (n > 0 && !pts)) {
        errno = EINVAL;
        return -1;
    }
    struct reqplan_point *inside = malloc((n ? n : 1) * sizeof(*inside));
    if (!inside) {
        errno = ENOMEM;
        return -1;
    }
    size_t m = 0;
    int largest = 0;
    for (size_t i = 0; i < n; i++) {
        if (!point_inside(&pts[i], failed))
            continue;
        inside[m++] = pts[i];
        if (pts[i].count > largest)
            largest = pts[i].count;
    }
    int half = (failed->count + 1) / 2;
    int max_regs = half > largest ? half : largest;
    if (max_regs > REQPLAN_MAX_REGS)
        max_regs = REQPLAN_MAX_REGS;
    int rc = m < 2 ? 0 : reqplan_build(inside, m, max_regs, 0, out, max_out);
    free(inside);
    if (rc == 1 && out[0].start == failed->start && out[0].count == failed->count)
        return 0;
    return rc;
}

int reqplan_replace(struct reqplan_req *plan, size_t n, size_t max, size_t idx,
                    const struct reqplan_req *with, size_t nwith)
{
    if (!plan || idx >= n || (nwith > 0 && !with)) {
        errno = EINVAL;
        return -1;
    }
    size_t total = n - 1 + nwith;
    if (total > max) {
        errno = ENOSPC;
        return -1;
    }
    memmove(&plan[idx + nwith], &plan[idx + 1], (n - idx - 1) * sizeof(*plan));
    if (nwith > 0)
        memcpy(&plan[idx], with, nwith * sizeof(*plan));
    return (int)total;
}
