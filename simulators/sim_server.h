/* sim_server.h -- single-threaded epoll Modbus server: TCP ports, many clients, RTU ptys. */
#ifndef ENMON_SIM_SERVER_H
#define ENMON_SIM_SERVER_H

#include "sim_modbus.h"
#include "sim_pty.h"

#include <signal.h>
#include <stddef.h>
#include <stdint.h>

/* One listening port and how it finds the device behind a unit id. */
struct sim_listener {
    int port;
    sim_mb_lookup lookup;
    void *ctx;
};

struct sim_server;

/* Binds every listener on addr (IPv4, SO_REUSEADDR, non-blocking). Returns the
 * server, or NULL with errno set and *failed_port naming the port that failed. */
struct sim_server *sim_server_open(const char *addr, const struct sim_listener *ls, size_t n,
                                   int *failed_port);

/* Serves the RTU bus pty in the same loop; the server owns it from now on (it
 * is closed by sim_server_close, or here on failure: -1 with errno set). */
int sim_server_add_pty(struct sim_server *s, struct sim_pty *pty);

/* Another descriptor served in the loop (the control socket and its clients). */
struct sim_watch;
typedef void (*sim_watch_fn)(void *ctx, uint32_t events);

/* Calls ready(ctx, events) whenever fd is readable (or hung up). Returns the
 * watch, or NULL with errno set. The caller keeps owning fd. */
struct sim_watch *sim_server_watch(struct sim_server *s, int fd, sim_watch_fn ready, void *ctx);

/* Stops watching (before the caller closes the fd) and frees w; NULL is fine.
 * A watch may remove itself from its own ready callback, no other one. */
void sim_server_unwatch(struct sim_server *s, struct sim_watch *w);

/* Serves until *stop becomes non-zero. Signals are only delivered while the
 * server waits, with the signal mask wait_mask (epoll_pwait). Returns 0, or -1
 * with errno set when epoll fails. */
int sim_server_run(struct sim_server *s, volatile sig_atomic_t *stop, const sigset_t *wait_mask);

/* Closes every socket and frees the server (NULL is fine); watches still
 * registered are freed, their descriptors left to their owners. */
void sim_server_close(struct sim_server *s);

#endif
