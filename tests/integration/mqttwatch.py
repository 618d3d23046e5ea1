"""mqttwatch.py -- a paho-mqtt subscriber that records what enmond publishes, for assertions."""
import json
import threading

import paho.mqtt.client as mqtt


class Watch:
    """Subscribes to topic filters and keeps every message (topic, payload, retain) in order."""

    def __init__(self, port, topics=("enmon/#",), client_id="enmon-test-watch"):
        self.messages = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(client_id=client_id, clean_session=True)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        for t in topics:
            self.client.subscribe(t, qos=1)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg):
        with self.lock:
            self.messages.append((msg.topic, msg.payload, bool(msg.retain)))

    def states(self):
        """Latest state JSON per device id."""
        out = {}
        with self.lock:
            for topic, payload, _ in self.messages:
                if topic.endswith("/state") and payload:
                    doc = json.loads(payload)
                    out[doc["device"]] = doc
        return out

    def all_states(self, device):
        with self.lock:
            return [json.loads(p) for t, p, _ in self.messages
                    if t.endswith("/state") and p and json.loads(p)["device"] == device]

    def last(self, topic):
        """Payload of the last message on topic (bytes) or None."""
        with self.lock:
            for t, p, _ in reversed(self.messages):
                if t == topic:
                    return p
        return None

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()
