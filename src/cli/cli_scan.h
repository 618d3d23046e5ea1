/* cli_scan.h -- the `enmon scan` command: options, the probe of one link, the device table or
 * YAML device entries. */
#ifndef ENMON_CLI_SCAN_H
#define ENMON_CLI_SCAN_H

#include "cli.h"

/* argv[0] is "scan": LINK [--units LIST] [--timeout DURATION] [--config-entry]. Exit status 0
 * when a device answered, 1 when none did or the link failed, 64 usage; CLI_HELP. */
int cli_scan_main(struct cli_ctx *ctx, int argc, char **argv);

/* Usage lines of the command, for enmon --help. */
extern const char cli_scan_usage[];

#endif
