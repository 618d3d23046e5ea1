/* sim_server.c -- single-threaded epoll Modbus server: TCP ports, many clients, RTU ptys. */
#include "sim_server.h"

#include "clock.h"
#include "log.h"

#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <unistd.h>

#define IN_MAX 4096
#define OUT_MAX 8192
#define EVENTS_MAX 128
#define BACKLOG 1024

enum sock_type { SOCK_LISTEN, SOCK_CONN, SOCK_PTY, SOCK_WATCH };

struct lsock {
    enum sock_type type; /* SOCK_LISTEN: first member, read through epoll data */
    int fd;
    struct sim_listener l;
};

struct conn {
    enum sock_type type; /* SOCK_CONN */
    int fd;
    const struct sim_listener *l;
    uint32_t events; /* epoll interest currently registered */
    size_t in_len;
    size_t out_off;
    size_t out_len;
    int64_t hold_until; /* a delayed reply starts at out[hold_from]: sent at this instant */
    size_t hold_from;
    struct conn *prev;
    struct conn *next;
    uint8_t in[IN_MAX];
    uint8_t out[OUT_MAX];
};

struct ptysock {
    enum sock_type type; /* SOCK_PTY */
    struct sim_pty *pty;
};

struct sim_watch {
    enum sock_type type; /* SOCK_WATCH */
    int fd;
    sim_watch_fn ready;
    void *ctx;
    struct sim_watch *prev;
    struct sim_watch *next;
};

struct sim_server {
    int epfd;
    struct sim_watch *watches;
    struct lsock *ls;
    size_t nls;
    struct conn *conns; /* every open connection, for shutdown */
    size_t nconns;
    size_t nheld; /* connections holding a delayed reply */
    struct ptysock *ptys;
    size_t nptys;
    struct log_limit accept_limit;
};

static int open_listener(const char *addr, int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1;
    if (inet_pton(AF_INET, addr, &sa.sin_addr) != 1) {
        errno = EINVAL;
        return -1;
    }
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
        bind(fd, (struct sockaddr *)&sa, sizeof sa) < 0 || listen(fd, BACKLOG) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

struct sim_server *sim_server_open(const char *addr, const struct sim_listener *ls, size_t n,
                                   int *failed_port)
{
    struct sim_server *s = calloc(1, sizeof *s);
    if (!s || !(s->ls = calloc(n ? n : 1, sizeof *s->ls))) {
        free(s);
        errno = ENOMEM;
        return NULL;
    }
    s->epfd = epoll_create1(EPOLL_CLOEXEC);
    for (size_t i = 0; s->epfd >= 0 && i < n; i++) {
        struct lsock *l = &s->ls[i];
        *l = (struct lsock){SOCK_LISTEN, open_listener(addr, ls[i].port), ls[i]};
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = l};
        if (l->fd < 0 || epoll_ctl(s->epfd, EPOLL_CTL_ADD, l->fd, &ev) < 0) {
            int e = errno;
            *failed_port = ls[i].port;
            s->nls = l->fd < 0 ? i : i + 1;
            sim_server_close(s);
            errno = e;
            return NULL;
        }
        s->nls = i + 1;
    }
    if (s->epfd < 0) {
        *failed_port = 0;
        sim_server_close(s);
        return NULL;
    }
    return s;
}

static void conn_close(struct sim_server *s, struct conn *c)
{
    if (c->hold_until)
        s->nheld--;
    log_debug("port %d: connection closed (fd %d)", c->l->port, c->fd);
    close(c->fd); /* also removes it from the epoll set */
    if (c->prev)
        c->prev->next = c->next;
    else
        s->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    s->nconns--;
    free(c);
}

static void accept_all(struct sim_server *s, struct lsock *l)
{
    for (;;) {
        int fd = accept4(l->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0) {
            if (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR && errno != ECONNABORTED)
                log_limited(&s->accept_limit, 10, LOG_WARNING, "port %d: accept: %s", l->l.port,
                            strerror(errno));
            return;
        }
        struct conn *c = malloc(sizeof *c);
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = c};
        if (!c || epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            log_limited(&s->accept_limit, 10, LOG_WARNING, "port %d: cannot serve a client: %s",
                        l->l.port, c ? strerror(errno) : "out of memory");
            free(c);
            close(fd);
            continue;
        }
        *c = (struct conn){
            .type = SOCK_CONN, .fd = fd, .l = &l->l, .events = EPOLLIN, .next = s->conns};
        if (s->conns)
            s->conns->prev = c;
        s->conns = c;
        s->nconns++;
        log_debug("port %d: client connected (fd %d, %zu open)", l->l.port, fd, s->nconns);
    }
}

/* Answers every complete request in c->in while the output has room and no
 * delayed reply holds the connection (replies keep the order of requests).
 * Returns -1 when a malformed frame requires closing the connection. */
static int process_input(struct sim_server *s, struct conn *c)
{
    size_t off = 0;
    while (!c->hold_until && OUT_MAX - c->out_len >= SIM_MB_ADU_MAX) {
        int n = sim_modbus_frame_len(c->in + off, c->in_len - off);
        if (n <= 0) {
            if (n < 0)
                return -1;
            break;
        }
        unsigned delay = 0;
        int r = sim_modbus_reply(c->in + off, (size_t)n, c->l->lookup, c->l->ctx,
                                 c->out + c->out_len, &delay);
        if (r < 0)
            return -1;
        if (r > 0 && delay) {
            c->hold_from = c->out_len;
            c->hold_until = clock_mono_ms() + delay;
            s->nheld++;
        }
        c->out_len += (size_t)r;
        off += (size_t)n;
    }
    memmove(c->in, c->in + off, c->in_len - off);
    c->in_len -= off;
    return 0;
}

/* Writes pending output (up to a held reply). Returns -1 on a fatal socket error. */
static int flush_output(struct conn *c)
{
    size_t end = c->hold_until ? c->hold_from : c->out_len;
    while (c->out_off < end) {
        ssize_t w = send(c->fd, c->out + c->out_off, end - c->out_off, MSG_NOSIGNAL);
        if (w < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        c->out_off += (size_t)w;
    }
    if (!c->hold_until)
        c->out_off = c->out_len = 0;
    return 0;
}

/* Reads what the socket has (while the buffers have room). Returns -1 on EOF or error. */
static int read_input(struct sim_server *s, struct conn *c)
{
    while (!c->hold_until && c->in_len < IN_MAX && OUT_MAX - c->out_len >= SIM_MB_ADU_MAX) {
        ssize_t r = recv(c->fd, c->in + c->in_len, IN_MAX - c->in_len, 0);
        if (r == 0)
            return -1;
        if (r < 0) {
            if (errno == EINTR)
                continue;
            return errno == EAGAIN || errno == EWOULDBLOCK ? 0 : -1;
        }
        c->in_len += (size_t)r;
        if (process_input(s, c) < 0) {
            log_debug("port %d: malformed frame, closing (fd %d)", c->l->port, c->fd);
            return -1;
        }
    }
    return 0;
}

/* Interest: read while replies fit, write while output is pending. */
static int update_interest(struct sim_server *s, struct conn *c)
{
    uint32_t want = 0;
    size_t end = c->hold_until ? c->hold_from : c->out_len;
    if (!c->hold_until && OUT_MAX - c->out_len >= SIM_MB_ADU_MAX)
        want |= EPOLLIN;
    if (end > c->out_off)
        want |= EPOLLOUT;
    if (want == c->events)
        return 0;
    struct epoll_event ev = {.events = want, .data.ptr = c};
    c->events = want;
    return epoll_ctl(s->epfd, EPOLL_CTL_MOD, c->fd, &ev);
}

static void serve_conn(struct sim_server *s, struct conn *c, uint32_t events)
{
    /* a client gone while a delayed reply waits: nothing more to deliver */
    int fail = (events & EPOLLERR) != 0 || (c->hold_until && (events & EPOLLHUP));
    if (!fail && (events & EPOLLOUT))
        fail = flush_output(c) < 0 || process_input(s, c) < 0;
    if (!fail && (events & (EPOLLIN | EPOLLHUP)))
        fail = read_input(s, c) < 0;
    if (!fail)
        fail = flush_output(c) < 0 || update_interest(s, c) < 0;
    if (fail)
        conn_close(s, c);
}

int sim_server_add_pty(struct sim_server *s, struct sim_pty *pty)
{
    struct ptysock *grown = realloc(s->ptys, (s->nptys + 1) * sizeof *s->ptys);
    if (!grown) {
        sim_pty_close(pty);
        errno = ENOMEM;
        return -1;
    }
    s->ptys = grown;
    for (size_t i = 0; i < s->nptys; i++) { /* the array moved: point epoll at the new places */
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->ptys[i]};
        epoll_ctl(s->epfd, EPOLL_CTL_MOD, sim_pty_fd(s->ptys[i].pty), &ev);
    }
    s->ptys[s->nptys] = (struct ptysock){SOCK_PTY, pty};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &s->ptys[s->nptys]};
    s->nptys++;
    return epoll_ctl(s->epfd, EPOLL_CTL_ADD, sim_pty_fd(pty), &ev);
}

struct sim_watch *sim_server_watch(struct sim_server *s, int fd, sim_watch_fn ready, void *ctx)
{
    struct sim_watch *w = malloc(sizeof *w);
    if (!w) {
        errno = ENOMEM;
        return NULL;
    }
    *w = (struct sim_watch){SOCK_WATCH, fd, ready, ctx, NULL, s->watches};
    struct epoll_event ev = {.events = EPOLLIN, .data.ptr = w};
    if (epoll_ctl(s->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
        int e = errno;
        free(w);
        errno = e;
        return NULL;
    }
    if (s->watches)
        s->watches->prev = w;
    s->watches = w;
    return w;
}

void sim_server_unwatch(struct sim_server *s, struct sim_watch *w)
{
    if (!w)
        return;
    epoll_ctl(s->epfd, EPOLL_CTL_DEL, w->fd, NULL);
    if (w->prev)
        w->prev->next = w->next;
    else
        s->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    free(w);
}

static int64_t earlier(int64_t a, int64_t b)
{
    return a < 0 || (b >= 0 && b < a) ? b : a;
}

/* epoll timeout (ms, -1 none) until the next delayed reply or RTU silence. */
static int next_timeout(const struct sim_server *s, int64_t now)
{
    int64_t due = -1;
    for (size_t i = 0; i < s->nptys; i++)
        due = earlier(due, sim_pty_deadline(s->ptys[i].pty));
    for (const struct conn *c = s->nheld ? s->conns : NULL; c; c = c->next) {
        if (c->hold_until)
            due = earlier(due, c->hold_until);
    }
    if (due < 0)
        return -1;
    return due <= now ? 0 : (int)(due - now > 60000 ? 60000 : due - now);
}

/* Sends the delayed replies that are due and runs the RTU timers. */
static void run_timers(struct sim_server *s, int64_t now)
{
    for (size_t i = 0; i < s->nptys; i++)
        sim_pty_tick(s->ptys[i].pty, now);
    struct conn *next;
    for (struct conn *c = s->nheld ? s->conns : NULL; c; c = next) {
        next = c->next;
        if (!c->hold_until || c->hold_until > now)
            continue;
        c->hold_until = 0;
        s->nheld--;
        int fail = flush_output(c) < 0 || process_input(s, c) < 0 || flush_output(c) < 0 ||
                   update_interest(s, c) < 0;
        if (fail)
            conn_close(s, c);
    }
}

int sim_server_run(struct sim_server *s, volatile sig_atomic_t *stop, const sigset_t *wait_mask)
{
    struct epoll_event evs[EVENTS_MAX];
    while (!*stop) {
        int n = epoll_pwait(s->epfd, evs, EVENTS_MAX, next_timeout(s, clock_mono_ms()), wait_mask);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -1;
        }
        for (int i = 0; i < n; i++) {
            enum sock_type *type = evs[i].data.ptr;
            if (*type == SOCK_LISTEN)
                accept_all(s, (struct lsock *)type);
            else if (*type == SOCK_PTY)
                sim_pty_readable(((struct ptysock *)type)->pty, clock_mono_ms());
            else if (*type == SOCK_WATCH)
                ((struct sim_watch *)type)->ready(((struct sim_watch *)type)->ctx, evs[i].events);
            else
                serve_conn(s, (struct conn *)type, evs[i].events);
        }
        run_timers(s, clock_mono_ms());
    }
    return 0;
}

void sim_server_close(struct sim_server *s)
{
    if (!s)
        return;
    while (s->conns)
        conn_close(s, s->conns);
    while (s->watches)
        sim_server_unwatch(s, s->watches);
    for (size_t i = 0; i < s->nls; i++)
        close(s->ls[i].fd);
    for (size_t i = 0; i < s->nptys; i++)
        sim_pty_close(s->ptys[i].pty);
    free(s->ptys);
    if (s->epfd >= 0)
        close(s->epfd);
    free(s->ls);
    free(s);
}
