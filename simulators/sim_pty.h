/* sim_pty.h -- a Modbus RTU bus on a pseudo-terminal: the slave side linked at a path. */
#ifndef ENMON_SIM_PTY_H
#define ENMON_SIM_PTY_H

#include "sim_modbus.h"

#include <stdint.h>

struct sim_pty;

/* Opens a pty pair in raw mode, links link to the slave's name (replacing an
 * old symbolic link there, never another file) and keeps the slave open so
 * the master never sees a hang-up between clients. The bus answers for the
 * devices of lookup. Returns NULL with errno set on failure. */
struct sim_pty *sim_pty_open(const char *link, long baud, sim_mb_lookup lookup, void *ctx);

/* The master side (non-blocking) to watch for input, the slave's name, the link. */
int sim_pty_fd(const struct sim_pty *p);
const char *sim_pty_slave(const struct sim_pty *p);
const char *sim_pty_link(const struct sim_pty *p);

/* Reads what the master has and answers every complete frame (now: CLOCK_MONOTONIC ms). */
void sim_pty_readable(struct sim_pty *p, int64_t now_ms);

/* The instant (ms) sim_pty_tick is due, or -1 when nothing waits: a delayed
 * reply, or bytes waiting for the 3.5-character silence that ends a frame. */
int64_t sim_pty_deadline(const struct sim_pty *p);
void sim_pty_tick(struct sim_pty *p, int64_t now_ms);

/* Removes the link (when it still points to this pty), closes both sides, frees. */
void sim_pty_close(struct sim_pty *p);

#endif
