/* top_cli.h -- `enmon top`: enmond's status, the age of its data and the program summaries it
 * publishes on MQTT (<root>/status, <root>/summary/#), live or once. */
#ifndef ENMON_TOP_CLI_H
#define ENMON_TOP_CLI_H

/* Its entry in enmon --help and enmon top --help. */
extern const char top_cli_usage[];

/* argv[0] is "top"; config: the global -c (NULL: the default). Returns the exit code
 * (exitcode.h: 0, 64 usage, 69 broker or summaries unavailable, 70, 75 --once and the data
 * stale, 78 config). */
int top_cli_main(const char *config, int argc, char **argv);

#endif
