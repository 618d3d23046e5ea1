/* sink_adapters.h -- enmond's sinks as registry entries: store, MQTT, alert engine, live table. */
#ifndef ENMON_SINK_ADAPTERS_H
#define ENMON_SINK_ADAPTERS_H

#include "alert_hook.h"
#include "alerts.h"
#include "dash.h"
#include "mqtt_sink.h"
#include "sink.h"
#include "store.h"
#include "webhook.h"

/* Shutdown order (sink.stop_rank): the alert engine first (its last events still reach
 * the store and MQTT), then the store, which commits everything queued, then the MQTT
 * sink, which publishes the outbox up to the last committed reading. */
enum sink_adapter_rank {
    SINK_RANK_ALERTS = 1,
    SINK_RANK_STORE,
    SINK_RANK_MQTT,
    SINK_RANK_LIVE,
};

/* The alert engine and the hook that runs for its events: stopped together, the hook
 * after the engine. Owned by the caller; both pointers are NULL once stopped. */
struct sink_adapter_alerts {
    struct alerts *alerts;
    struct alert_hook *hook;
    struct webhook *webhook; /* alert webhooks (webhook.h), stopped after the hook */
};

void sink_adapter_store(struct store *st, struct sink *out);
void sink_adapter_mqtt(struct mqtt_sink *m, struct sink *out);
void sink_adapter_alerts(struct sink_adapter_alerts *a, struct sink *out);
/* The live table inside the dash: polls parked and dropped (live_stats); dash_stop /
 * dash_free stay the caller's. */
void sink_adapter_live(struct dash *d, struct sink *out);

/* Each sink's statistics in the registry's terms (pure): the families and the parts
 * of the stats line and <root>/daemon/stats they have always had. */
void sink_adapter_store_stats(const struct store_stats *s, struct sink_stats *out);
void sink_adapter_mqtt_stats(const struct mqtt_sink_stats *s, struct sink_stats *out);
void sink_adapter_alerts_stats(const struct alerts_stats *s, struct sink_stats *out);
/* Appends the webhook families (backlog, delivered, failed, dropped) to the alerts sink's. */
void sink_adapter_webhook_stats(const struct webhook_stats *s, struct sink_stats *out);
struct live_stats;
void sink_adapter_live_stats(const struct live_stats *s, struct sink_stats *out);

#endif
