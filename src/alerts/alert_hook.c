/* alert_hook.c -- runs the configured alert hook program (no shell) with the alert JSON on stdin.
 */
#include "alert_hook.h"

#include "clock.h"
#include "err.h"
#include "log.h"
#include "queue.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define HOOK_QUEUE_CAP 256
#define WAIT_STEP_MS 5
#define CHILD_FD_MAX 4096

/* ---- rate limit ---------------------------------------------------------------------------- */

int alert_rate_init(struct alert_rate *r, int count, int64_t period_ms)
{
    memset(r, 0, sizeof(*r));
    r->count = count > 0 ? count : 0;
    r->period_ms = period_ms;
    if (r->count && !(r->times = calloc((size_t)r->count, sizeof(*r->times))))
        return ENMON_ERR_NOMEM;
    return ENMON_OK;
}

void alert_rate_free(struct alert_rate *r)
{
    free(r->times);
    r->times = NULL;
}

int alert_rate_allow(struct alert_rate *r, int64_t now_ms)
{
    if (r->count == 0)
        return 1;
    if (r->n == r->count) {
        int64_t oldest = r->times[r->head]; /* the ring is full: head is the oldest */
        if (now_ms - oldest < r->period_ms)
            return 0;
        r->n--;
    }
    r->times[r->head] = now_ms;
    r->head = (r->head + 1) % r->count;
    r->n++;
    return 1;
}

/* ---- one run ------------------------------------------------------------------------------- */

static void child_exec(const struct alert_hook_cfg *h, int in_fd)
{
    char *argv[ALERT_HOOK_ARGS_MAX + 1];
    int null_fd = open("/dev/null", O_WRONLY);
    setpgid(0, 0);
    if (dup2(in_fd, 0) < 0 || (null_fd >= 0 && dup2(null_fd, 1) < 0))
        _exit(127);
    for (int fd = 3; fd < CHILD_FD_MAX; fd++)
        close(fd);
    for (int i = 0; i < h->argc; i++)
        argv[i] = (char *)h->argv[i];
    argv[h->argc] = NULL;
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execv(argv[0], argv);
    _exit(127);
}

/* Writes all of json, ignoring a reader that went away (EPIPE: SIGPIPE is blocked). */
static void feed(int fd, const char *json)
{
    size_t len = strlen(json), off = 0;
    while (off < len) {
        ssize_t n = write(fd, json + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            break;
        off += (size_t)n;
    }
}

/* Drops a SIGPIPE our write raised while it was blocked. */
static void eat_sigpipe(void)
{
    sigset_t pipe_set, pending;
    struct timespec zero = {0, 0};
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    sigpending(&pending);
    if (sigismember(&pending, SIGPIPE))
        sigtimedwait(&pipe_set, NULL, &zero);
}

/* Waits for pid until deadline; kills its group after. Returns the wait status or -1. */
static int reap(pid_t pid, int64_t deadline, int *killed)
{
    int ws = 0;
    *killed = 0;
    for (;;) {
        pid_t r = waitpid(pid, &ws, WNOHANG);
        if (r == pid)
            return ws;
        if (r < 0 && errno != EINTR)
            return -1;
        if (clock_mono_ms() >= deadline)
            break;
        struct timespec step = {0, WAIT_STEP_MS * 1000000L};
        nanosleep(&step, NULL);
    }
    *killed = 1;
    kill(-pid, SIGKILL);
    kill(pid, SIGKILL);
    while (waitpid(pid, &ws, 0) < 0 && errno == EINTR)
        ;
    return ws;
}

int alert_hook_run(const struct alert_hook_cfg *h, const char *json, int *status)
{
    int fds[2], killed = 0;
    sigset_t pipe_set, old;

    *status = -1;
    if (h->argc < 1 || pipe2(fds, O_CLOEXEC) != 0)
        return ENMON_ERR_IO;
    sigemptyset(&pipe_set);
    sigaddset(&pipe_set, SIGPIPE);
    pthread_sigmask(SIG_BLOCK, &pipe_set, &old);
    int64_t deadline = clock_mono_ms() + h->timeout_ms;
    pid_t pid = fork();
    if (pid == 0)
        child_exec(h, fds[0]);
    close(fds[0]);
    if (pid < 0) {
        close(fds[1]);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
        return ENMON_ERR_IO;
    }
    setpgid(pid, pid); /* also in the child: whichever runs first */
    feed(fds[1], json);
    close(fds[1]);
    eat_sigpipe();
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    int ws = reap(pid, deadline, &killed);
    if (killed)
        return ENMON_ERR_TIMEOUT;
    if (ws < 0 || !WIFEXITED(ws))
        return ENMON_ERR_IO;
    *status = WEXITSTATUS(ws);
    return *status == 0 ? ENMON_OK : ENMON_ERR_IO;
}

/* ---- delivery thread ----------------------------------------------------------------------- */

struct alert_hook {
    const struct alert_hook_cfg *h;
    pthread_t thread;
    struct queue *queue; /* char *: malloc'd JSON of the alerts to deliver */
    pthread_mutex_t lock; /* guards the fields below */
    pthread_cond_t wake;  /* stopping was set: a retry pause ends early */
    int stopping;
    struct alert_rate rate;
    struct alert_hook_stats stats;
    struct log_limit limit_log;
};

/* Sleeps up to ms unless stopping; returns 1 when stopping. Called with lock held. */
static int pause_unless_stopping(struct alert_hook *k, int64_t ms)
{
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += (time_t)(ms / 1000);
    until.tv_nsec += (long)(ms % 1000) * 1000000L;
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    while (!k->stopping)
        if (pthread_cond_timedwait(&k->wake, &k->lock, &until) == ETIMEDOUT)
            break;
    return k->stopping;
}

/* Runs one alert with retries; called with lock held, releases it around runs. */
static void deliver(struct alert_hook *k, const char *json)
{
    for (int attempt = 0;; attempt++) {
        int status;
        pthread_mutex_unlock(&k->lock);
        int rc = alert_hook_run(k->h, json, &status);
        pthread_mutex_lock(&k->lock);
        if (rc == ENMON_OK) {
            k->stats.delivered++;
            return;
        }
        k->stats.failed++;
        log_warn("alert hook %s: %s (exit status %d), attempt %d of %d", k->h->argv[0],
                 rc == ENMON_ERR_TIMEOUT ? "timed out" : "failed", status, attempt + 1,
                 k->h->retries + 1);
        if (attempt >= k->h->retries || pause_unless_stopping(k, k->h->retry_delay_ms)) {
            k->stats.given_up++;
            return;
        }
    }
}

static void *hook_main(void *arg)
{
    struct alert_hook *k = arg;
    char *json;
    while (queue_pop_batch(k->queue, &json, 1, -1) == 1) {
        pthread_mutex_lock(&k->lock);
        if (alert_rate_allow(&k->rate, clock_mono_ms())) {
            deliver(k, json);
        } else {
            k->stats.limited++;
            log_limited(&k->limit_log, 60, LOG_WARNING,
                        "alert hook: rate limit of %d per %lld s reached, alert not delivered",
                        k->h->rate_count, (long long)(k->h->rate_period_ms / 1000));
        }
        pthread_mutex_unlock(&k->lock);
        free(json);
    }
    return NULL;
}

int alert_hook_start(const struct alert_hook_cfg *h, struct alert_hook **out)
{
    struct alert_hook *k = calloc(1, sizeof(*k));
    *out = NULL;
    if (!k)
        return ENMON_ERR_NOMEM;
    k->h = h;
    if (queue_new(sizeof(char *), HOOK_QUEUE_CAP, &k->queue) != ENMON_OK ||
        alert_rate_init(&k->rate, h->rate_count, h->rate_period_ms) != ENMON_OK) {
        queue_free(k->queue);
        free(k);
        return ENMON_ERR_NOMEM;
    }
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->wake, NULL);
    if (h->argc > 0 && pthread_create(&k->thread, NULL, hook_main, k) != 0) {
        pthread_cond_destroy(&k->wake);
        pthread_mutex_destroy(&k->lock);
        alert_rate_free(&k->rate);
        queue_free(k->queue);
        free(k);
        return ENMON_ERR_NOMEM;
    }
    *out = k;
    return ENMON_OK;
}

int alert_hook_submit(struct alert_hook *k, const char *json)
{
    if (k->h->argc == 0)
        return ENMON_OK;
    char *copy = strdup(json);
    if (!copy)
        return ENMON_ERR_NOMEM;
    int rc = queue_push(k->queue, &copy);
    if (rc == ENMON_OK)
        return ENMON_OK;
    free(copy);
    if (rc == ENMON_ERR_CLOSED) { /* stopping: counted here, a full queue counts itself */
        pthread_mutex_lock(&k->lock);
        k->stats.dropped++;
        pthread_mutex_unlock(&k->lock);
    }
    return ENMON_ERR_FULL;
}

void alert_hook_get_stats(struct alert_hook *k, struct alert_hook_stats *out)
{
    pthread_mutex_lock(&k->lock);
    *out = k->stats;
    pthread_mutex_unlock(&k->lock);
    out->dropped += queue_dropped(k->queue);
}

void alert_hook_stop(struct alert_hook *k)
{
    if (!k)
        return;
    pthread_mutex_lock(&k->lock);
    k->stopping = 1;
    pthread_cond_broadcast(&k->wake);
    pthread_mutex_unlock(&k->lock);
    queue_close(k->queue);
    if (k->h->argc > 0)
        pthread_join(k->thread, NULL);
    char *json;
    while (queue_pop_batch(k->queue, &json, 1, 0) == 1)
        free(json);
    queue_free(k->queue);
    pthread_cond_destroy(&k->wake);
    pthread_mutex_destroy(&k->lock);
    alert_rate_free(&k->rate);
    free(k);
}
