"""test_hostile_modbus.py -- malformed Modbus replies and malicious SunSpec chains never crash
enmond, never stall a healthy device and are never published as valid numbers."""
import os
import subprocess
import sys
import time

import pytest

import daemon
import harness
from mqttwatch import Watch

HERE = os.path.dirname(os.path.abspath(__file__))
GOOD = {"power_w": 1500, "voltage_v": 230.0, "frequency_hz": 60.0, "energy_export_wh": 1000000}
HEALTHY = {"power_w": 1234, "energy_export_wh": 567890, "voltage_v": 229.5, "frequency_hz": 60.01}


@pytest.fixture
def hostile(tmp_path):
    procs = []

    def start(mode):
        port = harness.free_port()
        log = open(os.path.join(str(tmp_path), "hostile-%s.log" % mode), "w")
        proc = subprocess.Popen([sys.executable if sys.executable.startswith("/usr/bin")
                                 else "/usr/bin/python3", os.path.join(HERE, "hostile_server.py"),
                                 str(port), mode], stdout=log, stderr=subprocess.STDOUT)
        procs.append((proc, log))
        harness.wait_port(port, 10, proc)
        return port

    yield start
    for proc, log in procs:
        proc.terminate()
        proc.wait(10)
        log.close()


MODES = ["good", "garbage", "wrong-tid", "wrong-unit", "short", "exception", "flaky",
         "chain-long", "chain-endless"]


def test_hostile_devices(tmp_path, mosquitto, sim_factory, hostile):
    healthy_port = harness.free_port()
    sim_factory("devices:\n  - {port: %d, unit: 1, kind: inverter, capacity: 3000, fixed: "
                "{power_w: 1234, energy_export_wh: 567890, voltage_v: 229.5, frequency_hz: 60.01}}\n"
                % healthy_port)
    ports = {m: hostile(m) for m in MODES}
    devices = "".join(
        "          - {id: %s, kind: inverter, link: 'tcp://127.0.0.1:%d', unit: 1}\n" % (m, p)
        for m, p in ports.items())
    programs = ("programs:\n  - id: p\n    kind: solar\n    sites:\n      - id: s\n"
                "        devices:\n"
                "          - {id: healthy, kind: inverter, link: 'tcp://127.0.0.1:%d', unit: 1}\n"
                % healthy_port + devices)
    d = daemon.Enmond(tmp_path, mosquitto.port, programs, interval="1s")
    watch = Watch(mosquitto.port)
    try:
        d.start()
        time.sleep(12)
        assert d.proc.poll() is None, d.log_text()
        # the healthy device kept its 1 s interval whatever the others did
        healthy = watch.all_states("healthy")
        assert len(healthy) >= 10, (len(healthy), d.log_text())
        assert all(all(s[k] == v for k, v in HEALTHY.items()) for s in healthy)
        # the good hostile-server device works (the control case)
        good = watch.all_states("good")
        assert len(good) >= 8 and all(s[k] == v for s in good for k, v in GOOD.items()), good
        # flaky: the corrupted answers are rejected, never published as numbers
        flaky = watch.all_states("flaky")
        assert flaky and all(s[k] == v for s in flaky for k, v in GOOD.items()), flaky
        # every other mode: no state at all, and the device is offline
        for mode in MODES[1:]:
            if mode == "flaky":
                continue
            assert watch.all_states(mode) == [], (mode, watch.all_states(mode))
            topic = "enmon/device/p/s/%s/availability" % mode
            assert watch.last(topic) == b"offline", (mode, watch.last(topic))
        log = d.log_text()
        for mode in ("garbage", "exception", "chain-long", "chain-endless"):
            assert "device %s" % mode in log, (mode, log)
    finally:
        rc = d.stop()
        watch.close()
    assert rc == 0, d.log_text()
