/* sim_ctl.h -- fault injection at run time: the control socket, its commands and the ctl client. */
#ifndef ENMON_SIM_CTL_H
#define ENMON_SIM_CTL_H

#include "sim_fleet.h"
#include "sim_server.h"

#include <stddef.h>

#define SIM_CTL_LINE_MAX 1024

struct sim_ctl;

/* Listens on the Unix stream socket path (mode 0600) for commands to fleet. A
 * socket left there by a dead simulator (nobody accepting) is replaced; a
 * live one or any other file is an error (EADDRINUSE, EEXIST). Connections
 * wait in the backlog until sim_ctl_attach. Returns NULL with errno set. */
struct sim_ctl *sim_ctl_open(const char *path, struct sim_fleet *fleet);

/* Serves the socket in srv's loop: one command line per connection, one reply
 * line, then the connection is closed. Returns 0, or -1 with errno set. */
int sim_ctl_attach(struct sim_ctl *c, struct sim_server *srv);

/* Closes the socket and its clients, removes path, frees (NULL is fine). */
void sim_ctl_close(struct sim_ctl *c);

/* Executes one command line on fleet (docs/SIMULATOR.md, "Fault injection")
 * at its simulated now. reply gets "ok ..." or "error: ..." (one line, no
 * newline). Returns 0, or -1 for an error reply. */
int sim_ctl_exec(struct sim_fleet *fleet, const char *line, char *reply, size_t n);

/* enmon-sim ctl SOCKET COMMAND [ARGS...]: sends the command, prints the reply
 * (errors on stderr). Returns the exit code: 0 ok, 1 error, 64 usage. */
int sim_ctl_main(int argc, char **argv);

#endif
