/* sim_ctl.c -- fault injection at run time: the control socket, its commands and the ctl client. */
#include "sim_ctl.h"

#include "log.h"

#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#define ARGS_MAX 8
#define REPLY_MAX 65536
#define CLIENTS_MAX 64
#define LABEL_MAX 320

/* ---- commands ------------------------------------------------------------------------- */

/* The device a command addresses: the logical device and the unit's first one
 * (which answers on the wire: communication faults live there). */
struct target {
    struct sim_device *dev;
    struct sim_device *head;
    char label[LABEL_MAX];
};

struct cmd {
    struct sim_fleet *fleet;
    const char *name; /* of the command, for messages */
    double now;
    int argc; /* arguments after the device address */
    char **argv;
    struct target t;
    char *reply;
    size_t n;
};

static int fail(struct cmd *c, const char *fmt, ...)
{
    va_list ap;
    int k = snprintf(c->reply, c->n, "error: ");
    va_start(ap, fmt);
    vsnprintf(c->reply + k, c->n > (size_t)k ? c->n - (size_t)k : 0, fmt, ap);
    va_end(ap);
    return -1;
}

/* The success reply of a device command: its label and every active fault. */
static int done(struct cmd *c)
{
    int k = snprintf(c->reply, c->n, "ok %s: ", c->t.label);
    if (k >= 0 && (size_t)k < c->n &&
        sim_fault_describe(&c->t.dev->fault, c->reply + k, c->n - (size_t)k) == 0)
        snprintf(c->reply + k, c->n - (size_t)k, "no faults");
    return 0;
}

static int parse_double(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || !isfinite(v) || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

static int parse_u32(const char *s, unsigned long lo, unsigned long hi, uint32_t *out)
{
    char *end;
    errno = 0;
    if (*s == '-' || *s == '+')
        return -1;
    unsigned long long v = strtoull(s, &end, 0);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = (uint32_t)v;
    return 0;
}

static int number_arg(struct cmd *c, int i, double lo, double hi, double *out)
{
    if (i >= c->argc || parse_double(c->argv[i], lo, hi, out) < 0)
        return fail(c, "%s: expected a number %.15g..%.15g", c->name, lo, hi);
    return 0;
}

static int uint_arg(struct cmd *c, int i, unsigned long lo, unsigned long hi, uint32_t *out)
{
    if (i >= c->argc || parse_u32(c->argv[i], lo, hi, out) < 0)
        return fail(c, "%s: expected an integer %lu..%lu (0x... allowed)", c->name, lo, hi);
    return 0;
}

static int kind_is(struct cmd *c, enum sim_kind kind)
{
    if (c->t.dev->cfg.kind == kind)
        return 0;
    return fail(c, "%s: %s is %s", c->name, c->t.label,
                kind == SIM_INVERTER ? "not an inverter"
                : kind == SIM_SENSOR ? "not a sensor"
                                     : "not a meter");
}

static int cmd_state(struct cmd *c)
{
    uint32_t st;
    if (kind_is(c, SIM_INVERTER) < 0 || uint_arg(c, 0, 0, 65534, &st) < 0)
        return -1;
    c->t.dev->fault.state = (int)st;
    c->t.dev->fault.active |= SIM_FAULT_STATE;
    return done(c);
}

static int cmd_events(struct cmd *c)
{
    uint32_t bits;
    if (uint_arg(c, 0, 0, 0xFFFFFFFFul, &bits) < 0)
        return -1;
    c->t.dev->fault.events = bits;
    c->t.dev->fault.active |= SIM_FAULT_EVENTS;
    return done(c);
}

static int cmd_dcevents(struct cmd *c)
{
    uint32_t module, bits;
    if (kind_is(c, SIM_INVERTER) < 0 || uint_arg(c, 0, 1, SIM_N_MPPT, &module) < 0 ||
        uint_arg(c, 1, 0, 0xFFFFFFFFul, &bits) < 0)
        return -1;
    c->t.dev->fault.dcevents[module - 1] = bits;
    c->t.dev->fault.active |= SIM_FAULT_DCEVENTS;
    return done(c);
}

/* Communication faults act on the unit id: the unit's first device. */
#define COMM_FAULTS (SIM_FAULT_DROP | SIM_FAULT_DELAY | SIM_FAULT_EXCEPTION | SIM_FAULT_GARBAGE)

static int comm_fault(struct cmd *c, unsigned bit)
{
    c->t.head->fault.active |= bit;
    c->t.dev = c->t.head;
    return done(c);
}

static int cmd_drop(struct cmd *c)
{
    return comm_fault(c, SIM_FAULT_DROP);
}

static int cmd_delay(struct cmd *c)
{
    uint32_t ms;
    if (uint_arg(c, 0, 1, SIM_DELAY_MAX_MS, &ms) < 0)
        return -1;
    c->t.head->fault.delay_ms = ms;
    return comm_fault(c, SIM_FAULT_DELAY);
}

static int cmd_exception(struct cmd *c)
{
    uint32_t code;
    if (uint_arg(c, 0, 1, 255, &code) < 0)
        return -1;
    c->t.head->fault.exception = (uint8_t)code;
    return comm_fault(c, SIM_FAULT_EXCEPTION);
}

static int cmd_garbage(struct cmd *c)
{
    return comm_fault(c, SIM_FAULT_GARBAGE);
}

static int cmd_counter(struct cmd *c)
{
    const char *op = c->argc > 0 ? c->argv[0] : "";
    double wh = 0.0;
    if (strcmp(op, "freeze") == 0) {
        c->t.dev->fault.active |= SIM_FAULT_FREEZE;
    } else if (strcmp(op, "reset") == 0) {
        sim_device_counter(c->t.dev, SIM_COUNTER_RESET, 0.0);
    } else if (strcmp(op, "jump") == 0) {
        if (number_arg(c, 1, 0.0, 1e12, &wh) < 0)
            return -1;
        sim_device_counter(c->t.dev, SIM_COUNTER_JUMP, wh);
    } else {
        return fail(c, "counter: expected freeze, reset or jump WH");
    }
    return done(c);
}

static int cmd_backwards(struct cmd *c)
{
    double wh;
    if (number_arg(c, 0, 0.0, 1e12, &wh) < 0)
        return -1;
    sim_device_counter(c->t.dev, SIM_COUNTER_BACKWARDS, wh);
    return done(c);
}

static int cmd_voltage(struct cmd *c)
{
    if (number_arg(c, 0, 0.0, 1000.0, &c->t.dev->fault.voltage_v) < 0)
        return -1;
    c->t.dev->fault.active |= SIM_FAULT_VOLTAGE;
    return done(c);
}

static int cmd_frequency(struct cmd *c)
{
    if (number_arg(c, 0, 0.0, 100.0, &c->t.dev->fault.frequency_hz) < 0)
        return -1;
    c->t.dev->fault.active |= SIM_FAULT_FREQUENCY;
    return done(c);
}

static int cmd_zero(struct cmd *c)
{
    if (kind_is(c, SIM_INVERTER) < 0)
        return -1;
    c->t.dev->fault.active |= SIM_FAULT_ZERO;
    return done(c);
}

static int cmd_output(struct cmd *c)
{
    if (kind_is(c, SIM_INVERTER) < 0 ||
        number_arg(c, 0, 0.0, 10.0, &c->t.dev->fault.output_factor) < 0)
        return -1;
    c->t.dev->fault.active |= SIM_FAULT_OUTPUT;
    return done(c);
}

static int cmd_household(struct cmd *c)
{
    struct sim_fault *f = &c->t.dev->fault;
    const char *mode = c->argc > 0 ? c->argv[0] : "";
    double w;
    if (kind_is(c, SIM_METER) < 0)
        return -1;
    if (strcmp(mode, "normal") == 0) {
        sim_fault_clear(f, SIM_FAULT_HOUSEHOLD);
        return done(c);
    }
    if (strcmp(mode, "idle") != 0 && strcmp(mode, "overload") != 0)
        return fail(c, "household: expected idle, overload or normal");
    int idle = mode[0] == 'i';
    w = idle ? SIM_FAULT_IDLE_W : SIM_FAULT_OVERLOAD_W;
    if (c->argc > 1 && number_arg(c, 1, 0.0, 1e7, &w) < 0)
        return -1;
    f->household = idle ? SIM_HOUSEHOLD_IDLE : SIM_HOUSEHOLD_OVERLOAD;
    f->household_w = w;
    f->active |= SIM_FAULT_HOUSEHOLD;
    return done(c);
}

static int cmd_export(struct cmd *c)
{
    if (kind_is(c, SIM_METER) < 0 || number_arg(c, 0, 0.0, 1e7, &c->t.dev->fault.export_w) < 0)
        return -1;
    c->t.dev->fault.active |= SIM_FAULT_EXPORT;
    return done(c);
}

/* leakage ADDR step MA | ramp MA_PER_H [FROM_MA] | arc MA | off: a pole sensor's leakage. */
static int cmd_leakage(struct cmd *c)
{
    struct sim_fault *f = &c->t.dev->fault;
    const char *mode = c->argv[0];
    double ma = 0.0, rate = 0.0;
    if (kind_is(c, SIM_SENSOR) < 0)
        return -1;
    if (strcmp(mode, "off") == 0) {
        sim_fault_clear(f, SIM_FAULT_LEAKAGE);
        return done(c);
    }
    if (strcmp(mode, "ramp") == 0) {
        if (number_arg(c, 1, 0.0, 1e6, &rate) < 0 ||
            (c->argc > 2 && number_arg(c, 2, 0.0, 1e6, &ma) < 0))
            return -1;
        f->leak_mode = SIM_LEAK_RAMP;
    } else if (strcmp(mode, "step") == 0 || strcmp(mode, "arc") == 0) {
        if (c->argc > 2)
            return fail(c, "leakage %s: expected one number (mA)", mode);
        if (number_arg(c, 1, 0.0, 1e6, &ma) < 0)
            return -1;
        f->leak_mode = mode[0] == 's' ? SIM_LEAK_STEP : SIM_LEAK_ARC;
    } else {
        return fail(c, "leakage: expected step MA, ramp MA_PER_H [FROM_MA], arc MA or off");
    }
    f->leak_ma = ma;
    f->leak_rate_ma_h = rate;
    f->leak_from_s = c->now;
    f->active |= SIM_FAULT_LEAKAGE;
    return done(c);
}

/* Device commands: NAME ADDR ARGS (min..max arguments after the address). */
static const struct device_cmd {
    const char *name;
    int min_args;
    int max_args;
    int (*run)(struct cmd *c);
} device_cmds[] = {
    {"state", 1, 1, cmd_state},         {"events", 1, 1, cmd_events},
    {"dcevents", 2, 2, cmd_dcevents},   {"drop", 0, 0, cmd_drop},
    {"delay", 1, 1, cmd_delay},         {"exception", 1, 1, cmd_exception},
    {"garbage", 0, 0, cmd_garbage},     {"counter", 1, 2, cmd_counter},
    {"backwards", 1, 1, cmd_backwards}, {"voltage", 1, 1, cmd_voltage},
    {"frequency", 1, 1, cmd_frequency}, {"zero", 0, 0, cmd_zero},
    {"output", 1, 1, cmd_output},       {"household", 1, 2, cmd_household},
    {"export", 1, 1, cmd_export},       {"leakage", 1, 3, cmd_leakage},
};

static void label_unit(const struct sim_port *p, int unit, const struct sim_device *d, char *buf,
                       size_t n)
{
    if (p->path)
        snprintf(buf, n, "%s/%d serial=%s", p->path, unit, d->np.sn);
    else
        snprintf(buf, n, "%d/%d serial=%s", p->port, unit, d->np.sn);
}

/* Finds dev by serial among every logical device (those behind a unit too). */
static int find_serial(struct sim_fleet *f, const char *sn, struct target *t)
{
    for (size_t i = 0; i < f->nports; i++) {
        const struct sim_port *p = &f->ports[i];
        for (int u = 1; u <= SIM_UNIT_MAX; u++) {
            for (struct sim_device *d = p->units[u]; d; d = d->next_behind) {
                if (strcmp(d->np.sn, sn) == 0) {
                    t->dev = d;
                    t->head = p->units[u];
                    label_unit(p, u, d, t->label, sizeof t->label);
                    return 0;
                }
            }
        }
    }
    return -1;
}

static const struct sim_port *find_bus(const struct sim_fleet *f, const char *bus, size_t len)
{
    int digits = len > 0;
    for (size_t i = 0; i < len; i++)
        digits = digits && isdigit((unsigned char)bus[i]);
    for (size_t i = 0; i < f->nports; i++) {
        const struct sim_port *p = &f->ports[i];
        if (digits && !p->path && p->port == atoi(bus))
            return p;
        if (p->path && strlen(p->path) == len && strncmp(p->path, bus, len) == 0)
            return p;
    }
    return NULL;
}

/* PORT/UNIT, PATH/UNIT or serial=SN. */
static int find_target(struct cmd *c, const char *addr)
{
    if (strncmp(addr, "serial=", 7) == 0) {
        if (find_serial(c->fleet, addr + 7, &c->t) < 0)
            return fail(c, "no device with serial %s", addr + 7);
        return 0;
    }
    const char *slash = strrchr(addr, '/');
    uint32_t unit;
    if (!slash || slash == addr || parse_u32(slash + 1, 1, SIM_UNIT_MAX, &unit) < 0)
        return fail(c, "bad device address '%s' (PORT/UNIT, PATH/UNIT or serial=SN)", addr);
    const struct sim_port *p = find_bus(c->fleet, addr, (size_t)(slash - addr));
    if (!p || !p->units[unit])
        return fail(c, "no device at %s", addr);
    c->t.dev = c->t.head = p->units[unit];
    label_unit(p, (int)unit, c->t.dev, c->t.label, sizeof c->t.label);
    return 0;
}

/* Images are rebuilt at the next request (fixed ones are otherwise built once). */
static void invalidate(struct sim_fleet *f)
{
    for (size_t i = 0; i < f->ndevs; i++)
        f->devs[i].built = 0;
}

/* Counters integrate up to now under the old faults before a change. */
static void advance_all(struct sim_fleet *f, double now)
{
    for (size_t i = 0; i < f->ndevs; i++)
        sim_device_advance(&f->devs[i], now);
}

static int run_device_cmd(struct cmd *c, const struct device_cmd *d, int argc, char **argv)
{
    if (argc < 2)
        return fail(c, "%s: expected a device (PORT/UNIT, PATH/UNIT or serial=SN)", d->name);
    if (find_target(c, argv[1]) < 0)
        return -1;
    c->name = d->name;
    c->argc = argc - 2;
    c->argv = argv + 2;
    if (c->argc < d->min_args || c->argc > d->max_args)
        return fail(c, "%s: expected %d to %d arguments after the device", d->name, d->min_args,
                    d->max_args);
    sim_device_advance(c->t.dev, c->now);
    int rc = d->run(c);
    invalidate(c->fleet);
    return rc;
}

static int cmd_clouds(struct cmd *c, int argc, char **argv)
{
    double k;
    if (argc != 2 || parse_double(argv[1], 0.0, 10.0, &k) < 0)
        return fail(c, "clouds: expected a factor 0..10");
    advance_all(c->fleet, c->now);
    c->fleet->clouds = k;
    invalidate(c->fleet);
    snprintf(c->reply, c->n, "ok clouds %.15g", k);
    return 0;
}

static void clear_everything(struct sim_fleet *f)
{
    for (size_t i = 0; i < f->ndevs; i++)
        sim_fault_clear(&f->devs[i].fault, ~0u);
    f->clouds = 1.0;
}

/* clear all | clear clouds | clear ADDR | clear NAME ADDR */
static int cmd_clear(struct cmd *c, int argc, char **argv)
{
    unsigned mask = ~0u;
    const char *addr = argc > 1 ? argv[1] : "";
    if (argc == 2 && (strcmp(addr, "all") == 0 || strcmp(addr, "clouds") == 0)) {
        advance_all(c->fleet, c->now);
        if (addr[0] == 'a')
            clear_everything(c->fleet);
        c->fleet->clouds = 1.0;
        invalidate(c->fleet);
        snprintf(c->reply, c->n, "ok cleared %s", addr);
        return 0;
    }
    if (argc == 3) {
        mask = sim_fault_bit_of(argv[1]);
        if (!mask)
            return fail(c, "clear: unknown fault '%s'", argv[1]);
        addr = argv[2];
    } else if (argc != 2) {
        return fail(c, "clear: expected all, clouds, a device, or a fault and a device");
    }
    if (find_target(c, addr) < 0)
        return -1;
    sim_device_advance(c->t.dev, c->now);
    sim_fault_clear(&c->t.dev->fault, mask);
    sim_fault_clear(&c->t.head->fault, mask & COMM_FAULTS); /* they live on the unit */
    invalidate(c->fleet);
    return done(c);
}

/* Appends to the reply; keeps it NUL-terminated when it is full. */
static void append(struct cmd *c, size_t *at, const char *fmt, ...)
{
    va_list ap;
    if (*at >= c->n)
        return;
    va_start(ap, fmt);
    int k = vsnprintf(c->reply + *at, c->n - *at, fmt, ap);
    va_end(ap);
    *at = k < 0 ? c->n : *at + (size_t)k;
}

static int cmd_list(struct cmd *c)
{
    size_t at = 0;
    int count = 0;
    char desc[512], label[LABEL_MAX];
    append(c, &at, "ok");
    for (size_t i = 0; i < c->fleet->nports; i++) {
        const struct sim_port *p = &c->fleet->ports[i];
        for (int u = 1; u <= SIM_UNIT_MAX; u++) {
            for (const struct sim_device *d = p->units[u]; d; d = d->next_behind) {
                if (!d->fault.active)
                    continue;
                sim_fault_describe(&d->fault, desc, sizeof desc);
                label_unit(p, u, d, label, sizeof label);
                append(c, &at, "%s %s: %s", count++ ? ";" : "", label, desc);
            }
        }
    }
    if (c->fleet->clouds != 1.0)
        append(c, &at, "%s clouds %.15g", count++ ? ";" : "", c->fleet->clouds);
    if (!count)
        append(c, &at, " no faults");
    return 0;
}

static int cmd_status(struct cmd *c, int argc, char **argv)
{
    struct sim_values v;
    char desc[512];
    if (argc != 2)
        return fail(c, "status: expected a device");
    if (find_target(c, argv[1]) < 0)
        return -1;
    sim_device_advance(c->t.dev, c->now);
    sim_device_values(c->t.dev, c->now, &v);
    if (sim_fault_describe(&c->t.dev->fault, desc, sizeof desc) == 0)
        snprintf(desc, sizeof desc, "none");
    if (v.kind == SIM_INVERTER)
        snprintf(c->reply, c->n,
                 "ok %s inverter W=%.1f V=%.1f Hz=%.2f A=%.2f St=%d Evt1=0x%x WH=%.0f; faults: %s",
                 c->t.label, v.w, v.v, v.hz, v.a, v.st, (unsigned)v.evt, v.wh_exp, desc);
    else
        snprintf(c->reply, c->n,
                 "ok %s meter W=%.1f V=%.1f Hz=%.2f A=%.2f Evt=0x%x TotWhImp=%.0f TotWhExp=%.0f; "
                 "faults: %s",
                 c->t.label, v.w, v.v, v.hz, v.a, (unsigned)v.evt, v.wh_imp, v.wh_exp, desc);
    return 0;
}

static int split(char *line, char **argv)
{
    int argc = 0;
    for (char *tok = strtok(line, " \t\r\n"); tok; tok = strtok(NULL, " \t\r\n")) {
        if (argc == ARGS_MAX)
            return -1;
        argv[argc++] = tok;
    }
    return argc;
}

static int dispatch(struct cmd *c, int argc, char **argv)
{
    if (strcmp(argv[0], "list") == 0)
        return argc == 1 ? cmd_list(c) : fail(c, "list: takes no arguments");
    if (strcmp(argv[0], "status") == 0)
        return cmd_status(c, argc, argv);
    if (strcmp(argv[0], "clear") == 0)
        return cmd_clear(c, argc, argv);
    if (strcmp(argv[0], "clouds") == 0)
        return cmd_clouds(c, argc, argv);
    for (size_t i = 0; i < sizeof device_cmds / sizeof device_cmds[0]; i++) {
        if (strcmp(argv[0], device_cmds[i].name) == 0)
            return run_device_cmd(c, &device_cmds[i], argc, argv);
    }
    return fail(c, "unknown command '%s'", argv[0]);
}

int sim_ctl_exec(struct sim_fleet *fleet, const char *line, char *reply, size_t n)
{
    char buf[SIM_CTL_LINE_MAX];
    char *argv[ARGS_MAX];
    struct cmd c = {.fleet = fleet, .now = sim_fleet_now(), .reply = reply, .n = n};
    if (n == 0)
        return -1;
    if (strlen(line) >= sizeof buf)
        return fail(&c, "command too long");
    snprintf(buf, sizeof buf, "%s", line);
    int argc = split(buf, argv);
    if (argc < 0)
        return fail(&c, "too many arguments");
    if (argc == 0)
        return fail(&c, "empty command");
    return dispatch(&c, argc, argv);
}

/* ---- the socket ----------------------------------------------------------------------- */

struct ctl_client {
    struct sim_ctl *ctl;
    int fd;
    struct sim_watch *w;
    size_t len;
    struct ctl_client *prev;
    struct ctl_client *next;
    char buf[SIM_CTL_LINE_MAX];
};

struct sim_ctl {
    int fd;
    char path[sizeof(((struct sockaddr_un *)0)->sun_path)];
    struct sim_fleet *fleet;
    struct sim_server *srv;
    struct sim_watch *w;
    struct ctl_client *clients;
    int nclients;
    char reply[REPLY_MAX];
};

/* Removes a socket nobody accepts on; -1 (errno) for a live one or another file. */
static int remove_stale(const char *path, const struct sockaddr_un *sa)
{
    struct stat st;
    if (lstat(path, &st) < 0)
        return errno == ENOENT ? 0 : -1;
    if (!S_ISSOCK(st.st_mode)) {
        errno = EEXIST;
        return -1;
    }
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    int live = connect(fd, (const struct sockaddr *)sa, sizeof *sa) == 0;
    close(fd);
    if (live) {
        errno = EADDRINUSE;
        return -1;
    }
    return unlink(path);
}

static int listen_unix(const char *path)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    if (strlen(path) >= sizeof sa.sun_path) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    if (remove_stale(path, &sa) < 0)
        return -1;
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return -1;
    mode_t old = umask(0177); /* the socket is created 0600: only its owner may inject faults */
    int rc = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (rc < 0 || chmod(path, 0600) < 0 || listen(fd, CLIENTS_MAX) < 0) {
        int e = errno;
        if (rc == 0)
            unlink(path);
        close(fd);
        errno = e;
        return -1;
    }
    return fd;
}

struct sim_ctl *sim_ctl_open(const char *path, struct sim_fleet *fleet)
{
    struct sim_ctl *c = calloc(1, sizeof *c);
    if (!c) {
        errno = ENOMEM;
        return NULL;
    }
    c->fd = listen_unix(path);
    if (c->fd < 0) {
        int e = errno;
        free(c);
        errno = e;
        return NULL;
    }
    snprintf(c->path, sizeof c->path, "%s", path);
    c->fleet = fleet;
    return c;
}

static void client_close(struct ctl_client *cl)
{
    struct sim_ctl *c = cl->ctl;
    sim_server_unwatch(c->srv, cl->w);
    close(cl->fd);
    if (cl->prev)
        cl->prev->next = cl->next;
    else
        c->clients = cl->next;
    if (cl->next)
        cl->next->prev = cl->prev;
    c->nclients--;
    free(cl);
}

static void answer(struct ctl_client *cl, const char *line)
{
    struct sim_ctl *c = cl->ctl;
    int rc = sim_ctl_exec(c->fleet, line, c->reply, sizeof c->reply - 1);
    int quiet = rc < 0 || strncmp(line, "list", 4) == 0 || strncmp(line, "status", 6) == 0;
    log_msg(quiet ? LOG_DEBUG : LOG_INFO, "ctl: %s -> %s", line, c->reply);
    size_t len = strlen(c->reply);
    c->reply[len++] = '\n';
    if (send(cl->fd, c->reply, len, MSG_NOSIGNAL | MSG_DONTWAIT) != (ssize_t)len)
        log_warn("ctl: reply not sent whole: %s", strerror(errno));
}

static void client_ready(void *ctx, uint32_t events)
{
    struct ctl_client *cl = ctx;
    (void)events;
    for (;;) {
        ssize_t r = recv(cl->fd, cl->buf + cl->len, sizeof cl->buf - 1 - cl->len, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
            return;
        if (r > 0)
            cl->len += (size_t)r;
        cl->buf[cl->len] = '\0';
        char *nl = strchr(cl->buf, '\n');
        if (nl || (r == 0 && cl->len > 0)) {
            if (nl)
                *nl = '\0';
            answer(cl, cl->buf);
        } else if (r > 0 && cl->len == sizeof cl->buf - 1) {
            answer(cl, "(a line too long)");
        } else if (r > 0) {
            continue;
        }
        client_close(cl);
        return;
    }
}

static void accept_ready(void *ctx, uint32_t events)
{
    struct sim_ctl *c = ctx;
    (void)events;
    for (;;) {
        int fd = accept4(c->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
        if (fd < 0)
            return;
        struct ctl_client *cl = c->nclients < CLIENTS_MAX ? calloc(1, sizeof *cl) : NULL;
        if (cl)
            *cl = (struct ctl_client){.ctl = c, .fd = fd, .next = c->clients};
        if (!cl || !(cl->w = sim_server_watch(c->srv, fd, client_ready, cl))) {
            log_warn("ctl: cannot serve a client: %s", cl ? strerror(errno) : "too many");
            free(cl);
            close(fd);
            continue;
        }
        if (c->clients)
            c->clients->prev = cl;
        c->clients = cl;
        c->nclients++;
    }
}

int sim_ctl_attach(struct sim_ctl *c, struct sim_server *srv)
{
    c->srv = srv;
    c->w = sim_server_watch(srv, c->fd, accept_ready, c);
    return c->w ? 0 : -1;
}

void sim_ctl_close(struct sim_ctl *c)
{
    if (!c)
        return;
    while (c->clients)
        client_close(c->clients);
    if (c->srv)
        sim_server_unwatch(c->srv, c->w);
    close(c->fd);
    unlink(c->path);
    free(c);
}
