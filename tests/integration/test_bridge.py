"""test_bridge.py -- MQTT across sites (issue 20, item 4; docs/SCALING.md): the shipped
config/mosquitto-bridge.conf and config/mosquitto-central.conf, filled in with free ports and
certificates made here with the openssl CLI, run two real mosquitto brokers: an edge broker
that enmond publishes to, bridged over TLS (client certificate, host name checked) to a
central broker where paho-mqtt receives enmond's readings. While the central broker is down
the edge queues what enmond publishes, and delivers it when the central broker is back."""
import json
import os
import shutil
import ssl
import subprocess
import threading

import paho.mqtt.client as mqtt
import pytest

import daemon
import harness
from mqttwatch import Watch
from test_tls import make_ca, make_cert

pytestmark = pytest.mark.skipif(not shutil.which("openssl"), reason="openssl missing")
START = "2026-06-21T12:00:00+09:00"


def read_template(name):
    with open(os.path.join(harness.source_dir(), "config", name), encoding="utf-8") as fh:
        return fh.read()


def fill(text, replacements):
    """text with each example value replaced; each must be in the shipped file."""
    for old, new in replacements:
        assert old in text, "%r is no longer in the template" % old
        text = text.replace(old, new)
    return text


class Broker(harness.Mosquitto):
    """A mosquitto broker on a free port running text (listener line included) plus a
    persistence directory of its own, so a restart keeps its sessions and queues."""

    def __init__(self, tmpdir, name, text_for_port):
        super().__init__(tmpdir)
        store = os.path.join(self.tmpdir, name + "-store") + "/"
        os.makedirs(store)
        with open(self.conf, "w", encoding="utf-8") as fh:
            fh.write(text_for_port(self.port) + "\npersistence true\npersistence_location %s\n%s"
                     % (store, "user root\n" if os.geteuid() == 0 else ""))


class Central:
    """paho-mqtt on the central broker with its own certificate, a persistent session
    (clean_session false) that outlives a restart of the broker, recording each state."""

    def __init__(self, port, pki):
        self.states = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(client_id="central-watch", clean_session=False)
        self.client.tls_set(ca_certs=os.path.join(pki, "ca.pem"),
                            certfile=os.path.join(pki, "watch.pem"),
                            keyfile=os.path.join(pki, "watch.key"),
                            tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.reconnect_delay_set(1, 2)
        self.client.on_connect = lambda c, u, f, rc: c.subscribe("enmon/#", qos=1)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg):
        if msg.topic.endswith("/state") and msg.payload:
            with self.lock:
                self.states.append(json.loads(msg.payload))

    def ts(self):
        with self.lock:
            return sorted(s["ts_ms"] for s in self.states)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


@pytest.fixture
def pki(tmp_path):
    """ca.pem; central.pem for 127.0.0.1 (the bridge checks the name), north.pem for the
    bridge (CN north), watch.pem for the subscriber; names as in the shipped files."""
    d = str(tmp_path / "pki")
    os.makedirs(d)
    make_ca(d, "ca")
    make_cert(d, "ca", "central", "subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n")
    make_cert(d, "ca", "north", "extendedKeyUsage=clientAuth\n")
    make_cert(d, "ca", "watch", "extendedKeyUsage=clientAuth\n")
    for name in ("ca", "central", "north", "watch"):
        os.rename(os.path.join(d, name + ".crt"), os.path.join(d, name + ".pem"))
    return d


def test_edge_bridged_to_central_over_tls(tmp_path, pki, sim_factory):
    central_text = read_template("mosquitto-central.conf")
    central = Broker(tmp_path, "central", lambda port: fill(central_text, [
        ("listener 8883\n", "listener %d 127.0.0.1\n" % port),
        ("/etc/mosquitto/bridge/", pki + "/")]))
    central.start()
    bridge_text = read_template("mosquitto-bridge.conf")
    edge = Broker(tmp_path, "edge", lambda port: "listener %d 127.0.0.1\nallow_anonymous true\n"
                  % port + fill(bridge_text, [("central.example:8883",
                                               "127.0.0.1:%d" % central.port),
                                              ("/etc/mosquitto/bridge/", pki + "/")]))
    edge.start()
    watch = Central(central.port, pki)
    sim_port = harness.free_port()
    sim_factory("devices:\n  - {port: %d, unit: 1, kind: meter, phases: 1, kwh_month: 300}\n"
                % sim_port, args=["--time", START, "--speed", "1"], seed=2)
    programs = ("programs:\n  - id: ami\n    kind: ami\n    sites:\n      - id: h\n"
                "        devices:\n          - {id: m1, kind: meter, link: "
                "'tcp://127.0.0.1:%d', unit: 1}\n" % sim_port)
    d = daemon.Enmond(tmp_path, edge.port, programs, interval="1s",
                      args=["--time", START, "--speed", "1"]).start()
    try:
        # enmond -> edge -> TLS bridge -> central -> paho
        assert daemon.wait_for(lambda: len(watch.ts()) >= 3, 40), d.log_text()
        with open(central.log_path, encoding="utf-8", errors="replace") as fh:
            # a bridge with a persistent session (c0), named by its certificate's CN
            assert "New bridge connected from 127.0.0.1" in fh.read()
        with open(central.log_path, encoding="utf-8", errors="replace") as fh:
            assert "as enmon-bridge-north (p2, c0, k60, u'north')" in fh.read()

        # the central broker away for a while: the edge queues for the bridge
        central.stop()
        got = watch.ts()
        edge_watch = Watch(edge.port, client_id="edge-watch")
        try:
            assert daemon.wait_for(lambda: len(edge_watch.all_states("m1")) >= 5, 30)
            during = sorted(s["ts_ms"] for s in edge_watch.all_states("m1"))
        finally:
            edge_watch.close()
        central.start()
        # everything enmond published meanwhile arrives at the central subscriber
        assert daemon.wait_for(lambda: set(during) <= set(watch.ts()), 60), (during, watch.ts())
        assert max(watch.ts()) > max(got)
    finally:
        watch.close()
        rc = d.stop()
        edge.stop()
        central.stop()
    assert rc == 0

