/* schedule.h -- the poll schedule: a deadline heap and drift-free next deadlines (pure). */
#ifndef ENMON_SCHEDULE_H
#define ENMON_SCHEDULE_H

#include <stddef.h>
#include <stdint.h>

/* Longest wait between two tries of a failing device (unless its interval is longer). */
#define SCHEDULE_BACKOFF_MAX_MS 60000

/* A min-heap of (deadline, item): the links waiting for their next poll. Items
 * belong to the caller; the heap only orders them. Not thread safe. */
struct schedule {
    struct schedule_entry {
        int64_t due_ms;
        void *item;
    } *v;
    size_t len, cap;
};

/* Room for cap items. ENMON_OK or ENMON_ERR_NOMEM. */
int schedule_init(struct schedule *s, size_t cap);
void schedule_free(struct schedule *s);

/* Adds item due at due_ms. ENMON_OK, or ENMON_ERR_FULL with cap items in. */
int schedule_push(struct schedule *s, int64_t due_ms, void *item);

/* The earliest deadline, INT64_MAX when empty. */
int64_t schedule_peek_due(const struct schedule *s);

/* Removes and returns the item with the earliest deadline (NULL when empty). */
void *schedule_pop(struct schedule *s);

/* The first deadline of the k-th of n devices sharing a link, spread over
 * the interval from start_ms, so they stay apart (each keeps its phase)
 * instead of all falling due, and being discovered, at the same instant. */
int64_t schedule_first_due(int64_t start_ms, int interval_ms, size_t k, size_t n);

/* After a successful poll due at due_ms, done at now_ms: due_ms + interval
 * (next += interval, so the schedule never drifts), or, when that slot has
 * passed, the next slot after now_ms in the same phase (missed slots are skipped). */
int64_t schedule_next_due(int64_t due_ms, int interval_ms, int64_t now_ms);

/* After the fails-th failed poll in a row (fails >= 1), done at now_ms: the
 * interval x 1, 2, 4 ... up to SCHEDULE_BACKOFF_MAX_MS (or the interval, if
 * longer) from now_ms. */
int64_t schedule_retry_due(int interval_ms, int fails, int64_t now_ms);

#endif
