/* schedule.c -- the poll schedule: a deadline heap and drift-free next deadlines (pure). */
#include "schedule.h"
#include "err.h"

#include <stdlib.h>

int schedule_init(struct schedule *s, size_t cap)
{
    *s = (struct schedule){.v = calloc(cap ? cap : 1, sizeof(*s->v)), .cap = cap};
    return s->v ? ENMON_OK : ENMON_ERR_NOMEM;
}

void schedule_free(struct schedule *s)
{
    free(s->v);
    *s = (struct schedule){0};
}

static void swap_entries(struct schedule_entry *h, size_t a, size_t b)
{
    struct schedule_entry t = h[a];
    h[a] = h[b];
    h[b] = t;
}

int schedule_push(struct schedule *s, int64_t due_ms, void *item)
{
    if (s->len >= s->cap)
        return ENMON_ERR_FULL;
    size_t i = s->len++;
    s->v[i] = (struct schedule_entry){due_ms, item};
    while (i > 0 && s->v[(i - 1) / 2].due_ms > s->v[i].due_ms) {
        swap_entries(s->v, i, (i - 1) / 2);
        i = (i - 1) / 2;
    }
    return ENMON_OK;
}

int64_t schedule_peek_due(const struct schedule *s)
{
    return s->len ? s->v[0].due_ms : INT64_MAX;
}

void *schedule_pop(struct schedule *s)
{
    if (s->len == 0)
        return NULL;
    void *top = s->v[0].item;
    s->v[0] = s->v[--s->len];
    for (size_t i = 0;;) {
        size_t l = 2 * i + 1, r = l + 1, m = i;
        if (l < s->len && s->v[l].due_ms < s->v[m].due_ms)
            m = l;
        if (r < s->len && s->v[r].due_ms < s->v[m].due_ms)
            m = r;
        if (m == i)
            break;
        swap_entries(s->v, i, m);
        i = m;
    }
    return top;
}

int64_t schedule_first_due(int64_t start_ms, int interval_ms, size_t k, size_t n)
{
    return n ? start_ms + (int64_t)interval_ms * (int64_t)k / (int64_t)n : start_ms;
}

int64_t schedule_next_due(int64_t due_ms, int interval_ms, int64_t now_ms)
{
    int64_t interval = interval_ms;
    int64_t due = due_ms + interval;
    if (due <= now_ms)
        due = now_ms + interval - (now_ms - due) % interval;
    return due;
}

int64_t schedule_retry_due(int interval_ms, int fails, int64_t now_ms)
{
    int64_t interval = interval_ms;
    int shift = fails - 1 < 6 ? (fails < 1 ? 0 : fails - 1) : 6;
    int64_t backoff = interval << shift;
    int64_t cap = interval > SCHEDULE_BACKOFF_MAX_MS ? interval : SCHEDULE_BACKOFF_MAX_MS;
    return now_ms + (backoff > cap ? cap : backoff);
}
