/* cli.c -- what enmon's commands share: the global options resolved (config, database, zone),
 * usage errors and the final check of stdout. */
#include "cli.h"
#include "caltime.h"
#include "clock.h"
#include "config.h"
#include "err.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>

int cli_vusage_error(const char *fmt, va_list ap)
{
    fputs("enmon: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputs("\n(enmon --help for usage)\n", stderr);
    return EX_USAGE;
}

int cli_usage_error(const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    int rc = cli_vusage_error(fmt, ap);
    va_end(ap);
    return rc;
}

int cli_finish_stdout(int rc)
{
    if (fflush(stdout) != 0 && rc == EX_OK) {
        perror("enmon: stdout");
        return EX_FAIL;
    }
    return rc;
}

/* ---- config, timezone, database ---------------------------------------------- */

/* The current UTC offset of a zone name from the system's zoneinfo. */
static int cli_system_offset(const char *zone, int *offset_min)
{
    char path[256];
    snprintf(path, sizeof(path), "/usr/share/zoneinfo/%s", zone);
    FILE *f = fopen(path, "rb");
    if (!f)
        return -1;
    fclose(f);
    char tzval[272];
    snprintf(tzval, sizeof(tzval), ":%s", zone);
    setenv("TZ", tzval, 1);
    tzset();
    time_t now = (time_t)(clock_wall_ms() / 1000);
    struct tm tm;
    if (!localtime_r(&now, &tm))
        return -1;
    *offset_min = (int)(tm.tm_gmtoff / 60);
    return 0;
}

/* Sets the offset and its label ("Asia/Seoul (UTC+09:00)", "UTC-05:30"). */
static void cli_set_zone(struct cli_ctx *c, const char *zone, int offset_min)
{
    char off[16];
    c->offset_min = offset_min;
    caltime_format_offset(offset_min, off, sizeof(off));
    if (zone[0] == '+' || zone[0] == '-')
        snprintf(c->tz_buf, sizeof(c->tz_buf), "UTC%s", off);
    else
        snprintf(c->tz_buf, sizeof(c->tz_buf), "%s (UTC%s)", zone, off);
    c->tz_label = c->tz_buf;
}

/* --tz: an offset, a zone of caltime's table, or one of the system's zoneinfo. */
static int cli_timezone(struct cli_ctx *c, const char *zone)
{
    int off = 0;
    int rc = caltime_zone_offset(zone, &off);
    if (rc == ENMON_ERR_NOT_FOUND && cli_system_offset(zone, &off) == 0)
        rc = ENMON_OK;
    if (rc != ENMON_OK)
        return cli_usage_error("--tz: '%s' is not an offset like +09:00 or a known zone", zone);
    cli_set_zone(c, zone, off);
    return EX_OK;
}

int cli_setup(struct cli_ctx *c)
{
    if (!c->db_opt || c->config_opt) {
        const char *path = c->config_opt ? c->config_opt : CLI_DEFAULT_CONFIG;
        struct cfg_error err = {0};
        if (config_load(path, &c->cfg, &err) != ENMON_OK) {
            char buf[1024];
            config_format_error(&err, buf, sizeof(buf));
            fprintf(stderr, "enmon: %s\n", buf);
            return EX_CONFIG;
        }
        c->config_path = c->cfg->path;
    }
    c->db_path = c->db_opt ? c->db_opt : c->cfg->database;
    if (c->tz_opt)
        return cli_timezone(c, c->tz_opt);
    if (c->cfg) /* config_load resolved its timezone */
        cli_set_zone(c, c->cfg->timezone, config_utc_offset_min(c->cfg));
    else
        cli_set_zone(c, CLI_DEFAULT_TZ, CALTIME_KST_MIN);
    return EX_OK;
}

void cli_cleanup(struct cli_ctx *c)
{
    config_free(c->cfg);
    c->cfg = NULL;
}
