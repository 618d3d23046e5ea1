/* top_cli.h -- `enmon top`: a terminal live view of the program summaries enmond publishes on
 * MQTT (<root>/summary/#). */
#ifndef ENMON_TOP_CLI_H
#define ENMON_TOP_CLI_H

/* argv[0] is "top". Returns the exit code (exitcode.h: 0, 1 no summaries, 64 usage,
 * 78 config). */
int top_cli_main(int argc, char **argv);

#endif
