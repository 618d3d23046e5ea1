/* stall_preload.c -- LD_PRELOAD shim for tests: holds recv() from one TCP port while a file exists, as a hung driver would. */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <dlfcn.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <unistd.h>

/* The peer's TCP port of fd, or -1. */
static int peer_port(int fd)
{
    struct sockaddr_storage ss;
    socklen_t len = sizeof(ss);
    if (getpeername(fd, (struct sockaddr *)&ss, &len) != 0)
        return -1;
    if (ss.ss_family == AF_INET)
        return ntohs(((struct sockaddr_in *)&ss)->sin_port);
    if (ss.ss_family == AF_INET6)
        return ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
    return -1;
}

/* With ENMON_STALL_FILE and ENMON_STALL_PORT set: a recv() on a socket connected
 * to that port waits while that file exists, then goes on as usual. */
ssize_t recv(int fd, void *buf, size_t len, int flags)
{
    static ssize_t (*real_recv)(int, void *, size_t, int);
    if (!real_recv)
        real_recv = (ssize_t (*)(int, void *, size_t, int))dlsym(RTLD_NEXT, "recv");
    const char *file = getenv("ENMON_STALL_FILE"), *port = getenv("ENMON_STALL_PORT");
    if (file && port && peer_port(fd) == atoi(port)) {
        for (int said = 0; access(file, F_OK) == 0; said = 1) {
            if (!said)
                fprintf(stderr, "stall_preload: recv from port %s held while %s exists\n", port,
                        file);
            usleep(100000);
        }
    }
    return real_recv(fd, buf, len, flags);
}
