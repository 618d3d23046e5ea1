/* webhook_config.h -- the `alerts.webhooks:` list: HTTPS endpoints, their TLS, secret and route. */
#ifndef ENMON_WEBHOOK_CONFIG_H
#define ENMON_WEBHOOK_CONFIG_H

#include "alert_config.h"

struct ydoc;
struct fy_node;

/* Built-in values of one endpoint (timeouts, backoff, no template, any route). */
void webhook_config_defaults(struct alert_webhook_cfg *w);

/* Parses the sequence `seq` (NULL: no webhooks) into ac->webhooks / ac->nwebhooks (freed by
 * alert_config_release). Programs named by a route are looked up with find(find_arg, ...).
 * Returns 0, or -1 with d->err located (FILE:LINE: field: reason); *nomem set when the
 * failure was out of memory. */
int webhook_config_parse(struct ydoc *d, struct fy_node *seq, alert_find_id_fn find,
                         const void *find_arg, struct alert_config *ac, int *nomem);

#endif
