"""test_systemd.py -- enmond speaks sd_notify (READY only once polling runs, WATCHDOG, STOPPING)
and its unit file passes systemd's own security analysis."""
import os
import re
import shutil
import socket
import subprocess
import time

import pytest

import daemon
import harness


def notify_messages(sock, seconds):
    out, end = [], time.monotonic() + seconds
    while time.monotonic() < end:
        try:
            out.append(sock.recv(4096).decode())
        except socket.timeout:
            pass
    return out


def test_notify_ready_watchdog_stopping(tmp_path, mosquitto, sim_factory):
    port = harness.free_port()
    sim_factory("devices:\n  - {port: %d, unit: 1, kind: inverter, capacity: 3000, fixed: {}}\n"
                % port)
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    programs = ("programs:\n  - id: p\n    kind: solar\n    sites:\n      - id: s\n        devices:\n"
                "          - {id: inv, kind: inverter, link: 'tcp://127.0.0.1:%d', unit: 1}\n" % port)
    d = daemon.Enmond(tmp_path, mosquitto.port, programs, interval="1s")
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="1000000")
    d.log = open(d.log_path, "ab")
    d.proc = subprocess.Popen([daemon.bin_path("enmond"), "-c", d.config], env=env,
                              stdout=d.log, stderr=subprocess.STDOUT)
    try:
        msgs = notify_messages(sock, 3)
        text = "\n".join(msgs)
        assert "READY=1" in text, msgs
        assert text.count("WATCHDOG=1") >= 3, msgs  # every 0.5 s while polling is healthy
        assert re.search(r"STATUS=.*devices", text), msgs
    finally:
        rc = d.stop()
    tail = "\n".join(notify_messages(sock, 0.5))
    assert "STOPPING=1" in tail, tail
    assert rc == 0
    sock.close()


@pytest.mark.skipif(not shutil.which("systemd-analyze"), reason="systemd-analyze not installed")
def test_unit_security_exposure_at_most_2():
    unit = os.path.join(harness.source_dir(), "systemd", "enmond.service")
    res = subprocess.run(["systemd-analyze", "security", "--offline=yes", unit],
                         capture_output=True, text=True, timeout=60)
    m = re.search(r"Overall exposure level for enmond.service: ([0-9.]+)", res.stdout)
    assert m, res.stdout + res.stderr
    print("systemd-analyze security exposure: %s" % m.group(1))
    assert float(m.group(1)) <= 2.0
