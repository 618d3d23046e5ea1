/* link_uri.h -- parses link URIs ("tcp://HOST:PORT", "rtu:/dev/PORT?baud=...") into struct cfg_link. */
#ifndef ENMON_LINK_URI_H
#define ENMON_LINK_URI_H

#include "config.h"

/* Parses a link URI ("tcp://HOST:PORT" where HOST may be "[v6addr]", or
 * "rtu:/dev/ttyS0?baud=9600&parity=N&data=8&stop=1" with every option
 * optional) into out. Pure. Returns 0, or -1 with a static reason in *why. */
int link_uri_parse(const char *uri, struct cfg_link *out, const char **why);

#endif
