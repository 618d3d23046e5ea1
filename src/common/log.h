/* log.h -- logging to stderr with sd-daemon <N> priority prefixes. */
#ifndef ENMON_LOG_H
#define ENMON_LOG_H

#include <syslog.h>

/* Messages above this priority (LOG_DEBUG etc.) are dropped. Default LOG_INFO. */
void log_set_level(int priority);

/* Writes "<N>message\n" to stderr, one write per line (thread safe). */
void log_msg(int priority, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Rate limited: logs at most once per interval_s per key; counts the rest and
 * reports "(N similar suppressed)" with the next message that gets through. */
struct log_limit {
    long long last_ms;
    unsigned suppressed;
};
void log_limited(struct log_limit *lim, int interval_s, int priority, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

#define log_err(...) log_msg(LOG_ERR, __VA_ARGS__)
#define log_warn(...) log_msg(LOG_WARNING, __VA_ARGS__)
#define log_info(...) log_msg(LOG_INFO, __VA_ARGS__)
#define log_debug(...) log_msg(LOG_DEBUG, __VA_ARGS__)

#endif
