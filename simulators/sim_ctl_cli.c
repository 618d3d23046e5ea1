/* sim_ctl_cli.c -- `enmon-sim ctl SOCKET COMMAND ...`: one command line to a running simulator. */
#include "sim_ctl.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <unistd.h>

#define REPLY_TIMEOUT_S 10
#define CLI_REPLY_MAX 65536

static int ctl_usage(const char *why)
{
    fprintf(
        stderr,
        "enmon-sim ctl: %s\n"
        "usage: enmon-sim ctl SOCKET COMMAND [ARGS...]   (docs/SIMULATOR.md, Fault injection)\n",
        why);
    return 64;
}

/* The command line: the arguments joined by spaces, ended by a newline. */
static int join(int argc, char **argv, char *line, size_t n)
{
    size_t at = 0;
    for (int i = 0; i < argc; i++) {
        int k = snprintf(line + at, n - at, "%s%s", i ? " " : "", argv[i]);
        if (k < 0 || (size_t)k >= n - at)
            return -1;
        at += (size_t)k;
    }
    if (at + 2 > n)
        return -1;
    line[at++] = '\n';
    line[at] = '\0';
    return 0;
}

static int connect_to(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct timeval tv = {.tv_sec = REPLY_TIMEOUT_S};
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    if (setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv) < 0 ||
        connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        int e = errno;
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

/* Sends line and reads the reply until the simulator closes. Returns its length or -1. */
static ssize_t exchange(int fd, const char *line, char *reply, size_t n)
{
    size_t len = strlen(line), got = 0;
    if (send(fd, line, len, MSG_NOSIGNAL) != (ssize_t)len)
        return -1;
    while (got + 1 < n) {
        ssize_t r = recv(fd, reply + got, n - 1 - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return -1;
        if (r == 0)
            break;
        got += (size_t)r;
    }
    reply[got] = '\0';
    return (ssize_t)got;
}

int sim_ctl_main(int argc, char **argv)
{
    static char reply[CLI_REPLY_MAX];
    char line[SIM_CTL_LINE_MAX];
    if (argc < 3)
        return ctl_usage("expected a socket and a command");
    if (join(argc - 2, argv + 2, line, sizeof line) < 0)
        return ctl_usage("command too long");
    int fd = connect_to(argv[1]);
    if (fd < 0) {
        fprintf(stderr, "error: cannot connect to %s: %s\n", argv[1], strerror(errno));
        return 1;
    }
    ssize_t n = exchange(fd, line, reply, sizeof reply);
    close(fd);
    if (n <= 0) {
        fprintf(stderr, "error: no reply from %s: %s\n", argv[1],
                n < 0 ? strerror(errno) : "closed");
        return 1;
    }
    reply[strcspn(reply, "\n")] = '\0';
    int ok = strncmp(reply, "ok", 2) == 0;
    fprintf(ok ? stdout : stderr, "%s\n", reply);
    return ok ? 0 : 1;
}
