/* collectors.h -- which links each enmond instance of a deployment polls, and the rest dropped. */
#ifndef ENMON_COLLECTORS_H
#define ENMON_COLLECTORS_H

#include "config.h"

#include <stdio.h>

/* Keeps in cfg only what collector `name` polls (NULL: the file's top-level collector:): its
 * links and their devices, with alert overrides renumbered (those naming a dropped device
 * go). Programs and sites stay (their indices are unchanged). Without collectors: in the
 * file, nothing is dropped and a name given here is an error. With them, a name is required
 * and must be one of them; mqtt.client_id gets "-NAME" appended so collectors sharing a
 * broker do not take each other's session. ENMON_OK, else ENMON_ERR_CONFIG (or
 * ENMON_ERR_NOMEM) with err filled as FILE:LINE: field: reason. */
int collectors_select(struct enmon_config *cfg, const char *name, struct cfg_error *err);

/* One line per declared collector: "collector NAME: L links, D devices: URI, URI, ...". */
void collectors_describe(const struct enmon_config *cfg, FILE *out);

#endif
