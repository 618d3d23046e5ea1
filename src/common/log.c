/* log.c -- logging to stderr with sd-daemon <N> priority prefixes. */
#include "log.h"
#include "clock.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int log_level = LOG_INFO;

void log_set_level(int priority)
{
    log_level = priority;
}

static void log_vmsg(int priority, const char *suffix, const char *fmt, va_list ap)
{
    char buf[1024];
    int n = snprintf(buf, sizeof(buf), "<%d>", priority);
    int m = vsnprintf(buf + n, sizeof(buf) - (size_t)n, fmt, ap);
    size_t len = (size_t)n + (m < 0 ? 0 : (size_t)m);
    if (len > sizeof(buf) - 2)
        len = sizeof(buf) - 2;
    if (suffix) {
        int k = snprintf(buf + len, sizeof(buf) - len, "%s", suffix);
        len += k < 0 ? 0 : (size_t)k;
        if (len > sizeof(buf) - 2)
            len = sizeof(buf) - 2;
    }
    buf[len++] = '\n';
    /* one write() per line so lines of concurrent threads do not interleave */
    ssize_t w = write(STDERR_FILENO, buf, len);
    (void)w;
}

void log_msg(int priority, const char *fmt, ...)
{
    if (priority > log_level)
        return;
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(priority, NULL, fmt, ap);
    va_end(ap);
}

void log_limited(struct log_limit *lim, int interval_s, int priority, const char *fmt, ...)
{
    if (priority > log_level)
        return;
    long long now = clock_mono_ms();
    if (lim->last_ms && now - lim->last_ms < (long long)interval_s * 1000) {
        __atomic_add_fetch(&lim->suppressed, 1, __ATOMIC_RELAXED);
        return;
    }
    lim->last_ms = now;
    char suffix[64] = "";
    unsigned n = __atomic_exchange_n(&lim->suppressed, 0, __ATOMIC_RELAXED);
    if (n)
        snprintf(suffix, sizeof(suffix), " (%u similar suppressed)", n);
    va_list ap;
    va_start(ap, fmt);
    log_vmsg(priority, n ? suffix : NULL, fmt, ap);
    va_end(ap);
}
