/* sim_main.c -- enmon-sim: command line, signals, and wiring of the config, fleet and server. */
#include "clock.h"
#include "err.h"
#include "log.h"
#include "sim_config.h"
#include "sim_ctl.h"
#include "sim_fleet.h"
#include "sim_history.h"
#include "sim_weather.h"
#include "sim_server.h"

#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define EXIT_USAGE 64  /* EX_USAGE */
#define EXIT_CONFIG 78 /* EX_CONFIG */
#define EXIT_OSERR 71  /* EX_OSERR: cannot listen, out of memory */

struct options {
    const char *config;
    uint64_t seed;
    int has_seed;
    int fixed;
    int verbose;
    long long start_s;
    int has_start;
    double speed;
    struct sim_tick tick; /* --tick, --tick-offset */
    const char *ctl;      /* control socket path, or NULL */
};

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
    (void)sig;
    stop_requested = 1;
}

static void usage(FILE *out)
{
    fprintf(out,
            "usage: enmon-sim --config FILE [--seed N] [--fixed] [--time ISO8601] [--speed X]\n"
            "                 [--tick D [--tick-offset D]] [--ctl SOCKET] [--verbose] [--version]\n"
            "       enmon-sim ctl SOCKET COMMAND [ARGS...]\n"
            "       enmon-sim history ...\n"
            "       enmon-sim weather --from DATE --to DATE ... (KMA ASOS hourly CSV)\n"
            "  --config FILE   simulator configuration (YAML, see docs/SIMULATOR.md)\n"
            "  --seed N        seed of every random process (default: config seed, else 1)\n"
            "  --fixed         every device reports constant default values\n"
            "  --time T        simulated start instant, e.g. 2026-06-21T12:00:00+09:00\n"
            "                  (default: now)\n"
            "  --speed X       simulated seconds per real second (default 1, 0 freezes time)\n"
            "  --tick D        register images refresh every D of simulated time (\"15m\",\n"
            "                  \"24h\"; default 0: continuously)\n"
            "  --tick-offset D refreshes at D past the multiples of the tick since the UNIX\n"
            "                  epoch (UTC; default 0)\n"
            "  --ctl SOCKET    accept fault injection commands on this Unix socket (mode 0600)\n"
            "  --verbose       log connections and requests\n"
            "  --version       print the version and exit\n");
}

static int parse_number(const char *s, double lo, double hi, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (errno || end == s || *end || v < lo || v > hi)
        return -1;
    *out = v;
    return 0;
}

/* Returns 0 to run, -1 when --help was answered, or an exit code (usage error). */
static int parse_args(int argc, char **argv, struct options *o)
{
    static const struct option longopts[] = {
        {"config", required_argument, NULL, 'c'},
        {"seed", required_argument, NULL, 's'},
        {"fixed", no_argument, NULL, 'f'},
        {"verbose", no_argument, NULL, 'v'},
        {"time", required_argument, NULL, 't'},
        {"speed", required_argument, NULL, 'x'},
        {"ctl", required_argument, NULL, 'C'},
        {"tick", required_argument, NULL, 'T'},
        {"tick-offset", required_argument, NULL, 'O'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {NULL, 0, NULL, 0},
    };
    double num;
    int opt;
    *o = (struct options){.speed = 1.0};
    while ((opt = getopt_long(argc, argv, "c:s:fvt:x:h", longopts, NULL)) != -1) {
        switch (opt) {
        case 'c':
            o->config = optarg;
            break;
        case 's':
            if (parse_number(optarg, 0, 2147483647.0, &num) < 0 || num != (uint64_t)num) {
                fprintf(stderr, "enmon-sim: --seed: expected an integer 0..2147483647\n");
                return EXIT_USAGE;
            }
            o->seed = (uint64_t)num;
            o->has_seed = 1;
            break;
        case 'f':
            o->fixed = 1;
            break;
        case 'v':
            o->verbose = 1;
            break;
        case 't':
            if (clock_parse_time_arg(optarg, &o->start_s) < 0) {
                fprintf(stderr, "enmon-sim: --time: expected YYYY-MM-DDTHH:MM[:SS][Z|+HH:MM]\n");
                return EXIT_USAGE;
            }
            o->has_start = 1;
            break;
        case 'x':
            if (clock_parse_speed_arg(optarg, &o->speed) < 0) {
                fprintf(stderr, "enmon-sim: --speed: expected a number 0..1000000\n");
                return EXIT_USAGE;
            }
            break;
        case 'C':
            o->ctl = optarg;
            break;
        case 'T':
        case 'O':
            if (sim_tick_parse(optarg, opt == 'T' ? &o->tick.every_s : &o->tick.offset_s) < 0) {
                fprintf(stderr,
                        "enmon-sim: --%s: expected a duration 0..366d (\"900\", \"15m\", "
                        "\"24h\")\n",
                        opt == 'T' ? "tick" : "tick-offset");
                return EXIT_USAGE;
            }
            break;
        case 'h':
            usage(stdout);
            return -1;
        case 'V':
            printf("enmon-sim " ENMON_VERSION "\n");
            return -1;
        default:
            usage(stderr);
            return EXIT_USAGE;
        }
    }
    if (optind < argc || !o->config) {
        usage(stderr);
        return EXIT_USAGE;
    }
    return 0;
}

/* Blocks SIGTERM and SIGINT (delivered only inside epoll_pwait with *wait_mask). */
static void setup_signals(sigset_t *wait_mask)
{
    struct sigaction sa;
    sigset_t block;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    sigemptyset(&block);
    sigaddset(&block, SIGTERM);
    sigaddset(&block, SIGINT);
    sigprocmask(SIG_BLOCK, &block, wait_mask);
    sigdelset(wait_mask, SIGTERM);
    sigdelset(wait_mask, SIGINT);
}

static int load_config(const struct options *o, struct sim_config *cfg)
{
    struct cfg_error err;
    memset(&err, 0, sizeof err);
    int rc = sim_config_load(o->config, cfg, &err);
    if (rc != ENMON_OK) {
        fprintf(stderr, "enmon-sim: %s:%d: %s: %s\n", err.file[0] ? err.file : o->config, err.line,
                err.field[0] ? err.field : "(file)", err.msg);
        return EXIT_CONFIG;
    }
    if (o->fixed)
        sim_config_force_fixed(cfg);
    if (o->has_seed)
        cfg->seed = o->seed;
    if (o->has_start) {
        cfg->start_s = o->start_s;
        cfg->has_start = 1;
    }
    return 0;
}

/* Opens a pty for each RTU bus of the configuration, served by srv. Returns 0
 * or -1 (logged). A bus without devices answers nothing, like an empty wire. */
static int open_ptys(const struct sim_config *cfg, struct sim_fleet *fleet, struct sim_server *srv)
{
    for (size_t r = 0; r < cfg->nrtus; r++) {
        struct sim_port *bus = NULL;
        for (size_t i = 0; i < fleet->nports; i++) {
            if (fleet->ports[i].rtu == (int)r)
                bus = &fleet->ports[i];
        }
        const struct sim_rtu_cfg *rc = &cfg->rtus[r];
        struct sim_pty *pty = bus ? sim_pty_open(rc->path, rc->baud, sim_fleet_lookup, bus) : NULL;
        if (!pty || sim_server_add_pty(srv, pty) < 0) {
            log_err("rtu %s: cannot open a pty: %s", rc->path, strerror(errno));
            return -1;
        }
        printf("rtu %s -> %s baud=%ld units=%d\n", rc->path, sim_pty_slave(pty), rc->baud,
               bus->nunits);
    }
    return 0;
}

/* Opens the fleet's ports and RTU buses and prints one "listening" (or "rtu")
 * line per port (bus). */
static struct sim_server *open_server(const struct sim_config *cfg, struct sim_fleet *fleet)
{
    struct sim_listener *ls = calloc(fleet->nports ? fleet->nports : 1, sizeof *ls);
    size_t n = 0;
    int failed = 0;
    if (!ls)
        return NULL;
    for (size_t i = 0; i < fleet->nports; i++) {
        if (fleet->ports[i].rtu < 0)
            ls[n++] =
                (struct sim_listener){fleet->ports[i].port, sim_fleet_lookup, &fleet->ports[i]};
    }
    struct sim_server *srv = sim_server_open(cfg->listen, ls, n, &failed);
    free(ls);
    if (!srv) {
        log_err("cannot listen on %s:%d: %s", cfg->listen, failed, strerror(errno));
        return NULL;
    }
    for (size_t i = 0; i < fleet->nports; i++) {
        if (fleet->ports[i].rtu < 0)
            printf("listening %s:%d units=%d\n", cfg->listen, fleet->ports[i].port,
                   fleet->ports[i].nunits);
    }
    if (open_ptys(cfg, fleet, srv) < 0) {
        sim_server_close(srv);
        return NULL;
    }
    fflush(stdout);
    return srv;
}

/* The control socket (before the ports open: a client that sees a port can
 * send commands at once). Returns 0, or -1 (logged). */
static int open_ctl(const struct options *o, struct sim_fleet *fleet, struct sim_ctl **ctl)
{
    *ctl = NULL;
    if (!o->ctl)
        return 0;
    *ctl = sim_ctl_open(o->ctl, fleet);
    if (!*ctl) {
        log_err("--ctl %s: %s", o->ctl, strerror(errno));
        return -1;
    }
    return 0;
}

static int attach_ctl(const struct options *o, struct sim_ctl *ctl, struct sim_server *srv)
{
    if (!ctl)
        return 0;
    if (sim_ctl_attach(ctl, srv) < 0) {
        log_err("--ctl %s: %s", o->ctl, strerror(errno));
        return -1;
    }
    return 0;
}

static int run(const struct options *o, struct sim_config *cfg)
{
    struct sim_fleet fleet;
    struct sim_ctl *ctl;
    sigset_t wait_mask;
    /* simulated time for the whole process, before any thread */
    if (cfg->has_start || o->speed != 1.0)
        clock_sim_start(cfg->has_start ? (double)cfg->start_s : (double)clock_wall_ms() / 1000.0,
                        o->speed);
    /* with a tick the counters start at a refresh instant, so two simulators started
       within one tick integrate exactly the same spans */
    if (sim_fleet_init(&fleet, cfg, cfg->seed, sim_tick_floor(&o->tick, sim_fleet_now())) !=
        ENMON_OK) {
        log_err("out of memory for %zu devices", cfg->ndevs);
        return EXIT_OSERR;
    }
    sim_fleet_set_tick(&fleet, &o->tick);
    setup_signals(&wait_mask);
    struct sim_server *srv = open_ctl(o, &fleet, &ctl) == 0 ? open_server(cfg, &fleet) : NULL;
    int rc = srv && attach_ctl(o, ctl, srv) == 0 ? 0 : EXIT_OSERR;
    if (rc == 0) {
        log_info("enmon-sim: %zu devices on %zu ports and buses, seed %llu%s", fleet.nunits,
                 fleet.nports, (unsigned long long)cfg->seed, o->fixed ? ", fixed" : "");
        if (sim_server_run(srv, &stop_requested, &wait_mask) < 0) {
            log_err("epoll: %s", strerror(errno));
            rc = EXIT_OSERR;
        }
    }
    sim_ctl_close(ctl); /* before the server: its watches go first */
    sim_server_close(srv);
    sim_fleet_free(&fleet);
    return rc;
}

int main(int argc, char **argv)
{
    struct options o;
    struct sim_config cfg;
    if (argc >= 2 && strcmp(argv[1], "history") == 0)
        return sim_history_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "weather") == 0)
        return sim_weather_main(argc - 1, argv + 1);
    if (argc >= 2 && strcmp(argv[1], "ctl") == 0)
        return sim_ctl_main(argc - 1, argv + 1);
    int rc = parse_args(argc, argv, &o);
    if (rc)
        return rc < 0 ? 0 : rc;
    log_set_level(o.verbose ? LOG_DEBUG : LOG_INFO);
    rc = load_config(&o, &cfg);
    if (rc)
        return rc;
    rc = run(&o, &cfg);
    sim_config_free(&cfg);
    if (rc == 0)
        log_info("enmon-sim: stopped");
    return rc;
}
