"""test_tls.py -- enmond publishes over TLS with a CA, a client certificate and a username
whose password is read from a file (mosquitto with generated certificates); a wrong CA is
rejected without a crash, and the password never reaches the log. Every connection uses the
same TLS and credentials: the Home Assistant status watcher and `enmon top` too."""
import json
import os
import re
import shutil
import ssl
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest

import daemon
import harness

PASSWORD = "tls-Pa55word-7c1e"
pytestmark = pytest.mark.skipif(not shutil.which("openssl") or
                                not os.path.exists("/usr/bin/mosquitto_passwd"),
                                reason="openssl or mosquitto_passwd missing")


def run(*args, cwd):
    subprocess.run(list(args), cwd=cwd, check=True, capture_output=True, timeout=60)


def make_ca(d, name):
    run("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
        "-keyout", name + ".key", "-out", name + ".crt", "-subj", "/CN=%s" % name, cwd=d)


def make_cert(d, ca, name, ext):
    run("openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", name + ".key",
        "-out", name + ".csr", "-subj", "/CN=%s" % name, cwd=d)
    with open(os.path.join(d, name + ".ext"), "w", encoding="utf-8") as fh:
        fh.write(ext)
    run("openssl", "x509", "-req", "-in", name + ".csr", "-CA", ca + ".crt", "-CAkey",
        ca + ".key", "-CAcreateserial", "-days", "2", "-out", name + ".crt",
        "-extfile", name + ".ext", cwd=d)


@pytest.fixture
def pki(tmp_path):
    d = str(tmp_path / "pki")
    os.makedirs(d)
    make_ca(d, "ca")
    make_ca(d, "other-ca")
    make_cert(d, "ca", "server", "subjectAltName=IP:127.0.0.1,DNS:localhost\n"
              "extendedKeyUsage=serverAuth\n")
    make_cert(d, "ca", "client", "extendedKeyUsage=clientAuth\n")
    make_cert(d, "ca", "watch", "extendedKeyUsage=clientAuth\n")
    return d


@pytest.fixture
def tls_broker(tmp_path, pki):
    broker = harness.Mosquitto(tmp_path)
    passwd = os.path.join(pki, "passwd")
    run("/usr/bin/mosquitto_passwd", "-b", "-c", passwd, "enmond", PASSWORD, cwd=pki)
    run("/usr/bin/mosquitto_passwd", "-b", passwd, "watch", "watch-pw", cwd=pki)
    with open(broker.conf, "w", encoding="utf-8") as fh:
        fh.write("listener %d 127.0.0.1\nallow_anonymous false\npassword_file %s\n"
                 "cafile %s\ncertfile %s\nkeyfile %s\nrequire_certificate true\n"
                 "persistence false\n%s"
                 % (broker.port, passwd, os.path.join(pki, "ca.crt"),
                    os.path.join(pki, "server.crt"), os.path.join(pki, "server.key"),
                    # as root mosquitto drops to user mosquitto, who cannot read the tmp dir
                    "user root\n" if os.geteuid() == 0 else ""))
    broker.start()
    yield broker
    broker.stop()


class TlsWatch:
    def __init__(self, port, pki):
        self.states = []
        self.lock = threading.Lock()
        self.client = mqtt.Client(client_id="tls-watch", clean_session=True)
        self.client.tls_set(ca_certs=os.path.join(pki, "ca.crt"),
                            certfile=os.path.join(pki, "watch.crt"),
                            keyfile=os.path.join(pki, "watch.key"),
                            tls_version=ssl.PROTOCOL_TLS_CLIENT)
        self.client.username_pw_set("watch", "watch-pw")
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("enmon/#", qos=1)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg):
        with self.lock:
            if msg.topic.endswith("/state"):
                self.states.append(json.loads(msg.payload))

    def count(self):
        with self.lock:
            return len(self.states)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def enmond_tls(tmp_path, broker, pki, sim_port, cafile, mqtt_extra=""):
    pwfile = os.path.join(pki, "enmond.pass")
    with open(pwfile, "w", encoding="utf-8") as fh:
        fh.write(PASSWORD + "\n")
    os.chmod(pwfile, 0o600)
    programs = ("programs:\n  - id: p\n    kind: solar\n    sites:\n      - id: s\n"
                "        devices:\n          - {id: inv, kind: inverter, "
                "link: 'tcp://127.0.0.1:%d', unit: 1}\n" % sim_port)
    d = daemon.Enmond(tmp_path, broker.port, programs, interval="1s")
    with open(d.config, encoding="utf-8") as fh:
        text = fh.read()
    text = text.replace("  topic_root: enmon\n",
                        "  topic_root: enmon\n  username: enmond\n  password_file: %s\n"
                        "  cafile: %s\n  certfile: %s\n  keyfile: %s\n%s"
                        % (pwfile, cafile, os.path.join(pki, "client.crt"),
                           os.path.join(pki, "client.key"), mqtt_extra))
    with open(d.config, "w", encoding="utf-8") as fh:
        fh.write(text)
    return d


def fleet(sim_factory):
    port = harness.free_port()
    sim_factory("devices:\n  - {port: %d, unit: 1, kind: inverter, capacity: 3000, "
                "fixed: {power_w: 1500}}\n" % port)
    return port


def test_tls_client_cert_and_password_file(tmp_path, pki, tls_broker, sim_factory):
    port = fleet(sim_factory)
    watch = TlsWatch(tls_broker.port, pki)
    d = enmond_tls(tmp_path, tls_broker, pki, port, os.path.join(pki, "ca.crt"))
    try:
        d.start()
        assert daemon.wait_for(lambda: watch.count() >= 2, 10), d.log_text()
        assert watch.states[-1]["power_w"] == 1500
    finally:
        watch.close()
        assert d.stop() == 0
    log = d.log_text()
    assert "connected to 127.0.0.1" in log
    assert PASSWORD not in log


def test_tls_wrong_ca_is_rejected(tmp_path, pki, tls_broker, sim_factory):
    port = fleet(sim_factory)
    watch = TlsWatch(tls_broker.port, pki)
    d = enmond_tls(tmp_path, tls_broker, pki, port, os.path.join(pki, "other-ca.crt"))
    try:
        d.start()
        assert daemon.wait_for(lambda: "certificate verify failed" in d.log_text(), 10), \
            d.log_text()
        time.sleep(3)
        assert d.proc.poll() is None  # keeps running (and retrying), no crash
        assert watch.count() == 0  # nothing reached the broker
        # the readings wait in the outbox
        assert daemon.wait_for(lambda: os.path.exists(d.db), 5)
    finally:
        watch.close()
        rc = d.stop()
    assert rc == 0
    log = d.log_text()
    assert "connected to" not in log
    assert "stay in the outbox for the next start" in log
    assert PASSWORD not in log


def tls_client(port, pki, client_id):
    """A paho client with the watch certificate and password, its loop running."""
    client = mqtt.Client(client_id=client_id, clean_session=True)
    client.tls_set(ca_certs=os.path.join(pki, "ca.crt"), certfile=os.path.join(pki, "watch.crt"),
                   keyfile=os.path.join(pki, "watch.key"), tls_version=ssl.PROTOCOL_TLS_CLIENT)
    client.username_pw_set("watch", "watch-pw")
    client.connect("127.0.0.1", port)
    client.loop_start()
    return client


def broker_log(broker):
    with open(broker.log_path, encoding="utf-8", errors="replace") as fh:
        return fh.read()


def test_tls_home_assistant_watcher_and_top(tmp_path, pki, tls_broker, sim_factory):
    """The broker listens only on its TLS port and wants a certificate and a password: the
    Home Assistant status watcher (enmond-ha) and `enmon top` must connect like the sink."""
    port = fleet(sim_factory)
    configs = []
    lock = threading.Lock()

    def on_message(client, userdata, msg):
        with lock:
            if msg.topic.startswith("homeassistant/sensor/"):
                configs.append(msg.topic)

    ha = tls_client(tls_broker.port, pki, "tls-ha-watch")
    ha.on_message = on_message
    ha.subscribe("homeassistant/sensor/#", qos=1)
    d = enmond_tls(tmp_path, tls_broker, pki, port, os.path.join(pki, "ca.crt"),
                   "  ha_discovery: true\n  summary_interval: 1s\n")
    try:
        d.start()
        # both of enmond's clients connected over TLS with enmond's credentials
        assert daemon.wait_for(
            lambda: re.search(r"as enmond \(.*u'enmond'\)", broker_log(tls_broker)) and
            re.search(r"as enmond-ha \(.*u'enmond'\)", broker_log(tls_broker)), 10), \
            broker_log(tls_broker) + d.log_text()
        topics = {"homeassistant/sensor/enmon_inv/power/config",
                  "homeassistant/sensor/enmon_inv/energy_export/config"}
        assert daemon.wait_for(lambda: topics <= set(configs), 10), d.log_text()

        # Home Assistant comes online: the watcher (over TLS) has the configs sent again
        with lock:
            before = len(configs)
        ha.publish("homeassistant/status", "online", qos=1).wait_for_publish()
        assert daemon.wait_for(lambda: len(configs) >= before + 2, 10), d.log_text()

        # enmon top reads the broker, TLS and credentials from the config
        res = daemon.enmon("top", "--once", "-c", d.config, check=False)
        assert res.returncode == 0, res.stderr
        assert any(re.match(r"^p\s+solar\s+1\.5\b", ln) for ln in res.stdout.splitlines()), \
            res.stdout
        assert len(re.findall(r"New client connected .*u'enmond'", broker_log(tls_broker))) >= 3
    finally:
        ha.loop_stop()
        ha.disconnect()
        assert d.stop() == 0
    log = d.log_text()
    assert PASSWORD not in log and PASSWORD not in broker_log(tls_broker)
