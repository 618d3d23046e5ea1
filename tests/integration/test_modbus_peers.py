"""test_modbus_peers.py -- enmond against a third-party Modbus peer (pymodbus 3.0.0): register
maps, float SunSpec, a device that rejects merged reads, a busy device."""
import os
import socket
import struct

import pytest

import daemon
import harness
import peer_server
from mqttwatch import Watch

SDM630_MAP = os.path.join(harness.source_dir(), "config", "maps", "eastron-sdm630.yaml")
POLL_S = 1.0


@pytest.fixture
def peer_factory(tmp_path):
    """peer_factory(scenario) -> a running peer_server.Peer; each must exit 0 on SIGTERM."""
    peers = []

    def make(scenario):
        peer = peer_server.Peer(tmp_path, scenario)
        peers.append(peer)
        return peer.start()

    yield make
    codes = [(p.scenario, p.stop()) for p in peers]
    assert all(rc in (None, 0) for _, rc in codes), codes


def raw_read(port, function, addr, count, unit=1):
    """One Modbus TCP read by hand (no library): the registers, or ("exception", code)."""
    req = struct.pack(">HHHBBHH", 0x1234, 0, 6, unit, function, addr, count)
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(req)
        head = b""
        while len(head) < 7:
            head += s.recv(7 - len(head))
        tid, proto, length, uid = struct.unpack(">HHHB", head)
        body = b""
        while len(body) < length - 1:
            body += s.recv(length - 1 - len(body))
    assert (tid, proto, uid) == (0x1234, 0, unit)
    if body[0] & 0x80:
        return ("exception", body[1])
    assert body[0] == function and body[1] == 2 * count
    return list(struct.unpack(">%dH" % count, body[2:]))


def programs(port, device_yaml):
    return ("programs:\n"
            "  - id: ess\n    kind: efficiency\n    sites:\n"
            "      - id: plant\n        devices:\n"
            "          - {id: dev, link: 'tcp://127.0.0.1:%d', unit: 1, %s}\n" % (port, device_yaml))


def sdm630_device(port):
    return programs(port, "kind: meter, map: '%s', max_regs: 80" % SDM630_MAP)


def run_enmond(tmp_path, mosquitto, programs_yaml, nstates=1, timeout=10.0):
    """Starts enmond, waits for nstates state messages of 'dev'; returns (enmond, watch, states)."""
    watch = Watch(mosquitto.port)
    d = daemon.Enmond(tmp_path, mosquitto.port, programs_yaml, interval="1s").start()
    states = daemon.wait_for(lambda: len(watch.all_states("dev")) >= nstates
                             and watch.all_states("dev"), timeout)
    return d, watch, states


def stop_enmond(d, watch):
    rc = d.stop()
    watch.close()
    assert rc == 0, d.log_text()


def assert_exact(state, expected):
    for key, value in expected.items():
        assert key in state, (key, state)
        assert state[key] == value, (key, state[key], value)


def test_peer_addresses_are_wire_addresses(peer_factory):
    """The peer's register numbers are the wire's (no pymodbus off-by-one), checked by hand."""
    sdm = peer_factory("sdm630")
    power = raw_read(sdm.port, 4, 0x34, 2)
    assert struct.unpack(">f", struct.pack(">HH", *power))[0] == 1234.5
    assert raw_read(sdm.port, 4, 0x33, 1) == [0]  # the register before it is a gap
    assert raw_read(sdm.port, 3, 40000, 2) == ("exception", 2)  # no holding registers
    inv = peer_factory("sunspec-float")
    assert raw_read(inv.port, 3, 40000, 4) == [0x5375, 0x6E53, 1, 66]
    assert raw_read(inv.port, 3, 39999, 2) == ("exception", 2)


def test_sdm630_map_values_published_exactly(tmp_path, mosquitto, peer_factory):
    peer = peer_factory("sdm630")
    d, watch, states = run_enmond(tmp_path, mosquitto, sdm630_device(peer.port), nstates=2)
    try:
        assert states, d.log_text()
        for st in states:
            assert st["kind"] == "meter" and st["quality"] == "ok", st
            assert_exact(st, peer_server.SDM630_PUBLISHED)
        # input registers only (function 4), in planned merged reads of at most 80 registers
        reads = [l.split() for l in peer.log_lines() if l.startswith("read ")]
        assert reads and all(r[1] == "ir" and int(r[3]) <= 80 for r in reads), reads
        assert all(r[4] == "ok" for r in reads), reads
    finally:
        stop_enmond(d, watch)


def test_float_sunspec_inverter_published_exactly(tmp_path, mosquitto, peer_factory):
    peer = peer_factory("sunspec-float")
    d, watch, states = run_enmond(tmp_path, mosquitto,
                                  programs(peer.port, "kind: inverter, capacity: 5000"), nstates=2)
    try:
        assert states, d.log_text()
        for st in states:
            assert st["kind"] == "inverter" and st["quality"] == "ok", st
            assert_exact(st, peer_server.INVERTER_PUBLISHED)
            # TmpCab is NaN (float not implemented): absent, never a number
            assert "temperature_c" not in st, st
    finally:
        stop_enmond(d, watch)


def test_rejected_merged_read_falls_back_and_is_remembered(tmp_path, mosquitto, peer_factory):
    peer = peer_factory("sdm630-holes")
    d, watch, states = run_enmond(tmp_path, mosquitto, sdm630_device(peer.port), nstates=1)
    try:
        assert states, d.log_text()
        assert_exact(states[0], peer_server.SDM630_PUBLISHED)
        rejected = [l for l in peer.log_lines() if l.endswith(" exc2")]
        assert rejected, "the merged read was never rejected: %s" % peer.log_lines()
        # later polls keep publishing, with the split plan: no new rejected reads
        assert daemon.wait_for(lambda: len(watch.all_states("dev")) >= 4, 6 * POLL_S), \
            d.log_text()
        for st in watch.all_states("dev"):
            assert_exact(st, peer_server.SDM630_PUBLISHED)
        again = [l for l in peer.log_lines() if l.endswith(" exc2")]
        assert again == rejected, (rejected, again)
        assert "rejected" in d.log_text()
    finally:
        stop_enmond(d, watch)


def test_busy_device_is_retried(tmp_path, mosquitto, peer_factory):
    peer = peer_factory("sdm630-busy")
    d, watch, states = run_enmond(tmp_path, mosquitto, sdm630_device(peer.port), nstates=3,
                                  timeout=12.0)
    try:
        assert states and len(states) >= 3, d.log_text()
        for st in states:
            assert st["quality"] == "ok", st
            assert_exact(st, peer_server.SDM630_PUBLISHED)
        busy = [l for l in peer.log_lines() if l == "busy"]
        assert len(busy) >= 3, peer.log_lines()  # every poll met a busy answer first
        avail = "enmon/device/ess/plant/dev/availability"
        assert watch.last(avail) == b"online"
        assert not any(t == avail and p == b"offline" for t, p, _ in watch.messages)
    finally:
        stop_enmond(d, watch)
