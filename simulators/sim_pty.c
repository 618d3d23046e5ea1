/* sim_pty.c -- a Modbus RTU bus on a pseudo-terminal: the slave side linked at a path. */
#include "sim_pty.h"

#include "log.h"
#include "sim_rtu.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <termios.h>
#include <unistd.h>

#define IN_MAX 1024
#define SILENCE_MIN_MS 5 /* a pty delivers a frame at once: bytes never trickle in */

struct sim_pty {
    int master;
    int slave; /* kept open: without an open slave, the master reads EIO and hangs up */
    char slave_name[PATH_MAX];
    char link[PATH_MAX];
    int64_t silence_ms; /* 3.5 characters at the bus speed, at least SILENCE_MIN_MS */
    sim_mb_lookup lookup;
    void *ctx;
    uint8_t in[IN_MAX];
    size_t in_len;
    int64_t last_rx_ms;
    uint8_t held[SIM_RTU_ADU_MAX]; /* a delayed reply */
    size_t held_len;
    int64_t held_due_ms;
    struct log_limit limit;
};

static int64_t silence_ms(long baud)
{
    /* 3.5 characters of 11 bits; the Modbus spec fixes 1.75 ms above 19200 baud */
    int64_t ms = baud > 19200 ? 2 : (int64_t)(3.5 * 11.0 * 1000.0 / (double)baud + 0.999);
    return ms < SILENCE_MIN_MS ? SILENCE_MIN_MS : ms;
}

static int open_pair(struct sim_pty *p)
{
    struct termios tio;
    p->master = posix_openpt(O_RDWR | O_NOCTTY);
    if (p->master < 0 || grantpt(p->master) < 0 || unlockpt(p->master) < 0 ||
        ptsname_r(p->master, p->slave_name, sizeof p->slave_name) != 0)
        return -1;
    if (fcntl(p->master, F_SETFL, O_NONBLOCK) < 0 || fcntl(p->master, F_SETFD, FD_CLOEXEC) < 0)
        return -1;
    p->slave = open(p->slave_name, O_RDWR | O_NOCTTY | O_CLOEXEC);
    if (p->slave < 0 || tcgetattr(p->slave, &tio) < 0)
        return -1;
    cfmakeraw(&tio);
    return tcsetattr(p->slave, TCSANOW, &tio);
}

/* link -> slave name; an old symbolic link is replaced, any other file is an error. */
static int make_link(const struct sim_pty *p)
{
    struct stat st;
    if (lstat(p->link, &st) == 0) {
        if (!S_ISLNK(st.st_mode)) {
            errno = EEXIST;
            return -1;
        }
        if (unlink(p->link) < 0)
            return -1;
    }
    return symlink(p->slave_name, p->link);
}

struct sim_pty *sim_pty_open(const char *link, long baud, sim_mb_lookup lookup, void *ctx)
{
    struct sim_pty *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->master = p->slave = -1;
    p->lookup = lookup;
    p->ctx = ctx;
    p->silence_ms = silence_ms(baud);
    if (strlen(link) >= sizeof p->link) {
        free(p);
        errno = ENAMETOOLONG;
        return NULL;
    }
    memcpy(p->link, link, strlen(link) + 1);
    if (open_pair(p) < 0 || make_link(p) < 0) {
        int e = errno;
        p->link[0] = '\0'; /* not ours: never unlink it */
        sim_pty_close(p);
        errno = e;
        return NULL;
    }
    return p;
}

int sim_pty_fd(const struct sim_pty *p)
{
    return p->master;
}

const char *sim_pty_slave(const struct sim_pty *p)
{
    return p->slave_name;
}

const char *sim_pty_link(const struct sim_pty *p)
{
    return p->link;
}

static void send_reply(struct sim_pty *p, const uint8_t *buf, size_t len)
{
    ssize_t w;
    do {
        w = write(p->master, buf, len);
    } while (w < 0 && errno == EINTR);
    if (w != (ssize_t)len)
        log_limited(&p->limit, 10, LOG_WARNING, "rtu %s: reply not sent whole (%zd of %zu bytes)",
                    p->link, w, len);
}

static void consume(struct sim_pty *p, size_t n)
{
    memmove(p->in, p->in + n, p->in_len - n);
    p->in_len -= n;
}

/* Answers the frame of n bytes at the head of the input, then drops it. */
static void answer(struct sim_pty *p, size_t n, int64_t now_ms)
{
    uint8_t out[SIM_RTU_ADU_MAX];
    unsigned delay = 0;
    int r = sim_rtu_reply(p->in, n, p->lookup, p->ctx, out, &delay);
    consume(p, n);
    if (r <= 0)
        return;
    if (delay == 0) {
        send_reply(p, out, (size_t)r);
        return;
    }
    memcpy(p->held, out, (size_t)r);
    p->held_len = (size_t)r;
    p->held_due_ms = now_ms + delay;
}

/* Answers complete frames while no delayed reply holds the bus. */
static void process(struct sim_pty *p, int64_t now_ms)
{
    while (!p->held_len && p->in_len > 0) {
        int n = sim_rtu_frame_len(p->in, p->in_len);
        if (n > SIM_RTU_ADU_MAX) {
            p->in_len = 0; /* no request is that long: garbage */
            return;
        }
        if (n <= 0 || p->in_len < (size_t)n)
            return; /* more bytes, or the silence, end this frame */
        answer(p, (size_t)n, now_ms);
    }
}

void sim_pty_readable(struct sim_pty *p, int64_t now_ms)
{
    for (;;) {
        if (p->in_len == IN_MAX)
            p->in_len = 0; /* a flood without frames: drop it */
        ssize_t r = read(p->master, p->in + p->in_len, IN_MAX - p->in_len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break;
        p->in_len += (size_t)r;
        p->last_rx_ms = now_ms;
    }
    process(p, now_ms);
}

int64_t sim_pty_deadline(const struct sim_pty *p)
{
    if (p->held_len)
        return p->held_due_ms;
    return p->in_len ? p->last_rx_ms + p->silence_ms : -1;
}

void sim_pty_tick(struct sim_pty *p, int64_t now_ms)
{
    if (p->held_len) {
        if (now_ms < p->held_due_ms)
            return;
        send_reply(p, p->held, p->held_len);
        p->held_len = 0;
        process(p, now_ms);
        return;
    }
    if (p->in_len && now_ms >= p->last_rx_ms + p->silence_ms) {
        /* silence ends the frame: one of unknown length is answered, a short one dropped */
        if (sim_rtu_frame_len(p->in, p->in_len) < 0)
            answer(p, p->in_len, now_ms);
        p->in_len = 0;
    }
}

void sim_pty_close(struct sim_pty *p)
{
    if (!p)
        return;
    char target[PATH_MAX];
    ssize_t n = p->link[0] ? readlink(p->link, target, sizeof target - 1) : -1;
    if (n >= 0) {
        target[n] = '\0';
        if (strcmp(target, p->slave_name) == 0)
            unlink(p->link);
    }
    if (p->slave >= 0)
        close(p->slave);
    if (p->master >= 0)
        close(p->master);
    free(p);
}
