/* dash.h -- enmond's watching side started and stopped as one: the live table, the HTTP server
 * (REST, /metrics, dashboard), MQTT program summaries and Home Assistant discovery. */
#ifndef ENMON_DASH_H
#define ENMON_DASH_H

#include "alerts.h"
#include "config.h"
#include "mqtt_sink.h"
#include "poller.h"
#include "reading.h"
#include "sink.h"
#include "store.h"

struct dash;

/* Creates the live table (before polling starts, so no reading is missed). cfg must
 * outlive it. ENMON_OK or ENMON_ERR_NOMEM. */
int dash_open(const struct enmon_config *cfg, struct dash **out);

struct savings_config;

/* The savings parameters /api/savings computes with: sc, loaded from path ("" = the built-in
 * defaults) by the one lookup rule (savings_config_find) when enmond read its configuration.
 * Borrowed: sc must outlive d. Before dash_start; without it /api/savings answers 503. */
void dash_set_savings(struct dash *d, const struct savings_config *sc, const char *path);

/* Starts the HTTP server (unless http.port is 0) and the thread that computes summaries,
 * publishes them and the discovery configs; /metrics reports the sinks of the registry.
 * The handles must stay valid until dash_stop.
 * A server that cannot listen is logged and left out: polling matters more. */
void dash_start(struct dash *d, struct store *store, struct mqtt_sink *mqtt, struct alerts *alerts,
                struct poller *poller, struct sink_registry *sinks);

/* Feeds a poll (any quality) and an alert raise or clear; d may be NULL. Never block. */
void dash_reading(struct dash *d, const struct reading *r);

struct sunspec_common;

/* A device's SunSpec identity (poller_ident_fn): Home Assistant's device info
 * then carries its manufacturer, model, serial and version. Never blocks long. */
void dash_ident(struct dash *d, uint32_t dev, const struct sunspec_common *c);
void dash_alert(struct dash *d, const struct alert_event *ev);

/* The live table's counters (the registry's "live" sink reports them). */
struct live_stats;
void dash_live_stats(struct dash *d, struct live_stats *out);

/* Stops the server and the thread: the handles are no longer used afterwards. */
void dash_stop(struct dash *d);

/* Frees the live table (after the poller and the alert engine have stopped); d may be NULL. */
void dash_free(struct dash *d);

#endif
