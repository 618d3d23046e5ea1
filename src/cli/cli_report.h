/* cli_report.h -- the `enmon report` and `enmon devices` commands: energy per group over local
 * dates, device status; output as a table, CSV or JSON. */
#ifndef ENMON_CLI_REPORT_H
#define ENMON_CLI_REPORT_H

#include "cli.h"

/* argv[0] is "report": [--from D] [--to D] [--by program|site|device] [--format F]. */
int cli_report_main(struct cli_ctx *ctx, int argc, char **argv);

/* argv[0] is "devices": [--format table|csv|json]. */
int cli_devices_main(struct cli_ctx *ctx, int argc, char **argv);

/* Usage lines of both commands, for enmon --help. */
extern const char cli_report_usage[];

#endif
