/* raw_poll.c -- the raw Modbus limit: a minimal libmodbus read loop, one connection per port. */
#include <errno.h>
#include <getopt.h>
#include <modbus.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define RAW_MAX_TARGETS 256
#define RAW_MAX_THREADS 64
#define RAW_MAX_REGS 125

/* One port (one TCP connection) and the unit ids read on it. */
struct raw_target {
    int port;
    int first, last; /* unit ids */
    int addr, regs;  /* the block each poll reads */
};

struct raw_thread {
    pthread_t thread;
    const struct raw_target *targets[RAW_MAX_TARGETS];
    int ntargets;
    double until;
    unsigned long long reads, errors;
};

static double raw_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static modbus_t *raw_connect(int port)
{
    modbus_t *ctx = modbus_new_tcp("127.0.0.1", port);
    if (!ctx)
        return NULL;
    modbus_set_response_timeout(ctx, 1, 0);
    if (modbus_connect(ctx) != 0) {
        modbus_free(ctx);
        return NULL;
    }
    return ctx;
}

/* Like enmond's workers: each thread owns its links and reads every unit on
 * them in turn, one request per device poll, until the deadline. */
static void *raw_worker(void *arg)
{
    struct raw_thread *t = arg;
    modbus_t *ctx[RAW_MAX_TARGETS] = {0};
    uint16_t regs[RAW_MAX_REGS];
    for (int i = 0; i < t->ntargets; i++)
        ctx[i] = raw_connect(t->targets[i]->port);
    while (raw_now() < t->until) {
        for (int i = 0; i < t->ntargets; i++) {
            const struct raw_target *tg = t->targets[i];
            if (!ctx[i])
                continue;
            for (int u = tg->first; u <= tg->last; u++) {
                modbus_set_slave(ctx[i], u);
                if (modbus_read_registers(ctx[i], tg->addr, tg->regs, regs) == tg->regs)
                    t->reads++;
                else
                    t->errors++;
            }
        }
    }
    for (int i = 0; i < t->ntargets; i++) {
        if (ctx[i]) {
            modbus_close(ctx[i]);
            modbus_free(ctx[i]);
        }
    }
    return NULL;
}

/* PORT:FIRST-LAST:ADDR:REGS */
static int raw_parse_target(const char *s, struct raw_target *t)
{
    if (sscanf(s, "%d:%d-%d:%d:%d", &t->port, &t->first, &t->last, &t->addr, &t->regs) != 5)
        return -1;
    if (t->port < 1 || t->port > 65535 || t->first < 0 || t->last > 247 || t->first > t->last ||
        t->addr < 0 || t->addr > 65535 || t->regs < 1 || t->regs > RAW_MAX_REGS)
        return -1;
    return 0;
}

static void usage(FILE *out)
{
    fprintf(out, "usage: raw_poll [--threads N] [--duration SECONDS] PORT:FIRST-LAST:ADDR:REGS...\n"
                 "  reads REGS holding registers at ADDR from every unit FIRST..LAST of each\n"
                 "  port, one connection per port, ports spread over N threads (default 4);\n"
                 "  prints reads, errors and reads per second\n");
}

int main(int argc, char **argv)
{
    static const struct option opts[] = {
        {"threads", required_argument, NULL, 't'},
        {"duration", required_argument, NULL, 'd'},
        {"help", no_argument, NULL, 'h'},
        {NULL, 0, NULL, 0},
    };
    int nthreads = 4, c;
    double duration = 10;
    while ((c = getopt_long(argc, argv, "t:d:h", opts, NULL)) != -1) {
        if (c == 't')
            nthreads = atoi(optarg);
        else if (c == 'd')
            duration = atof(optarg);
        else {
            usage(c == 'h' ? stdout : stderr);
            return c == 'h' ? 0 : 64;
        }
    }
    static struct raw_target targets[RAW_MAX_TARGETS];
    int ntargets = argc - optind;
    if (ntargets < 1 || ntargets > RAW_MAX_TARGETS || nthreads < 1 || nthreads > RAW_MAX_THREADS ||
        duration <= 0) {
        usage(stderr);
        return 64;
    }
    for (int i = 0; i < ntargets; i++) {
        if (raw_parse_target(argv[optind + i], &targets[i]) != 0) {
            fprintf(stderr, "raw_poll: bad target '%s'\n", argv[optind + i]);
            return 64;
        }
    }
    if (nthreads > ntargets)
        nthreads = ntargets;
    static struct raw_thread threads[RAW_MAX_THREADS];
    double t0 = raw_now();
    for (int i = 0; i < ntargets; i++) {
        struct raw_thread *t = &threads[i % nthreads];
        t->targets[t->ntargets++] = &targets[i];
    }
    for (int i = 0; i < nthreads; i++) {
        threads[i].until = t0 + duration;
        if (pthread_create(&threads[i].thread, NULL, raw_worker, &threads[i]) != 0) {
            fprintf(stderr, "raw_poll: pthread_create: %s\n", strerror(errno));
            return 1;
        }
    }
    unsigned long long reads = 0, errors = 0;
    for (int i = 0; i < nthreads; i++) {
        pthread_join(threads[i].thread, NULL);
        reads += threads[i].reads;
        errors += threads[i].errors;
    }
    double secs = raw_now() - t0;
    printf("reads=%llu errors=%llu seconds=%.3f reads_per_s=%.1f\n", reads, errors, secs,
           (double)reads / secs);
    return 0;
}
