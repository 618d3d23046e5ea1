"""test_scan.py -- `enmon scan` against enmon-sim, a pymodbus peer, a silent peer and a closed port."""
import re
import socket
import threading
import time

import pytest
import yaml

import daemon
import harness
import peer_server

INV = {"power_w": 1234, "energy_export_wh": 567890}
METER = {"power_w": 512, "energy_import_wh": 2345678}


def fixed_yaml(values):
    return "{" + ", ".join("%s: %s" % kv for kv in values.items()) + "}"


@pytest.fixture
def sim_port(sim_factory):
    """enmon-sim with inverters at units 1 and 2 and a 1-phase meter at unit 5, on one port."""
    port = harness.free_port()
    sim_factory("devices:\n"
                "  - {port: %d, unit: 1, kind: inverter, capacity: 3000, serial: PV-A, fixed: %s}\n"
                "  - {port: %d, unit: 2, kind: inverter, capacity: 5000, fixed: %s}\n"
                "  - {port: %d, unit: 5, kind: meter, phases: 1, fixed: %s}\n"
                % (port, fixed_yaml(INV), port, fixed_yaml(INV), port, fixed_yaml(METER)))
    return port


def table_rows(stdout):
    """{unit: {column: value}} from the scan table (columns separated by 2+ spaces)."""
    lines = stdout.splitlines()
    head = re.split(r"\s{2,}", lines[0].strip())
    assert head == ["UNIT", "BASE", "MANUFACTURER", "MODEL", "SERIAL", "VERSION", "MODELS",
                    "KIND"], lines[0]
    rows = {}
    for line in lines[1:]:
        if line.startswith("probed "):
            break
        cells = re.split(r"\s{2,}", line.strip())
        assert len(cells) == len(head), line
        rows[int(cells[0])] = dict(zip(head, cells))
    return rows


def summary(stdout):
    m = re.search(r"probed (\d+) units? in ([\d.]+) s: (\d+) answered, (\d+) silent", stdout)
    assert m, stdout
    return tuple(int(m.group(i)) if i != 2 else float(m.group(i)) for i in range(1, 5))


def test_scan_finds_the_simulator_devices(sim_port):
    uri = "tcp://127.0.0.1:%d" % sim_port
    res = daemon.enmon("scan", uri, "--units", "1-8", check=False)
    assert res.returncode == 0, res.stderr
    rows = table_rows(res.stdout)
    assert sorted(rows) == [1, 2, 5], res.stdout
    for unit in (1, 2):
        assert rows[unit]["KIND"] == "inverter"
        assert rows[unit]["MODELS"] == "1 103 160"
    assert rows[5]["KIND"] == "meter"
    assert rows[5]["MODELS"].split()[:2] == ["1", "201"]
    for unit, row in rows.items():
        assert row["MANUFACTURER"] == "enmon-sim" and row["BASE"] == "40000"
        assert row["VERSION"] == "0.1.0"
    assert rows[1]["SERIAL"] == "PV-A" and rows[1]["MODEL"] == "SIM-INV-3K"
    assert rows[2]["SERIAL"] == "INV%d-002" % sim_port and rows[2]["MODEL"] == "SIM-INV-5K"
    assert rows[5]["MODEL"] == "SIM-MTR-1P"
    probed, seconds, answered, silent = summary(res.stdout)
    assert (probed, answered, silent) == (8, 3, 5)
    assert seconds < 2.0  # absent units answer 0x0B at once: no timeouts


def test_scan_unit_list(sim_port):
    res = daemon.enmon("scan", "tcp://127.0.0.1:%d" % sim_port, "--units", "2,4-5,7",
                       check=False)
    assert res.returncode == 0, res.stderr
    assert sorted(table_rows(res.stdout)) == [2, 5]
    assert summary(res.stdout)[0] == 4
    res = daemon.enmon("scan", "tcp://127.0.0.1:%d" % sim_port, "--units", "3-4,6", check=False)
    assert res.returncode == 1 and "no device answered" in res.stderr
    assert summary(res.stdout)[:3:2] == (3, 0)


def test_scan_config_entries_parse_as_yaml(sim_port):
    uri = "tcp://127.0.0.1:%d" % sim_port
    res = daemon.enmon("scan", uri, "--units", "1-8", "--config-entry", check=False)
    assert res.returncode == 0, res.stderr
    entries = yaml.safe_load(res.stdout)
    assert isinstance(entries, list) and len(entries) == 3, res.stdout
    by_unit = {e["unit"]: e for e in entries}
    assert sorted(by_unit) == [1, 2, 5]
    for e in entries:
        assert e["link"] == uri
        assert set(e) == {"id", "name", "kind", "link", "unit"}, e
        assert re.fullmatch(r"[A-Za-z0-9_-]{1,63}", e["id"]), e
    assert by_unit[1]["kind"] == "inverter" and by_unit[1]["id"] == "inverter-pv-a"
    assert by_unit[2]["id"] == "inverter-inv%d-002" % sim_port
    assert by_unit[5]["kind"] == "meter" and by_unit[5]["id"] == "meter-mtr%d-005" % sim_port
    assert by_unit[1]["name"] == "enmon-sim SIM-INV-3K PV-A"
    assert "# probed 8 units" in res.stdout


def test_scan_entries_are_a_valid_enmond_config(tmp_path, sim_port):
    """The printed entries pasted under a site make a config enmond accepts."""
    res = daemon.enmon("scan", "tcp://127.0.0.1:%d" % sim_port, "--units", "1-8",
                       "--config-entry", check=False)
    assert res.returncode == 0, res.stderr
    devices = "\n".join("          " + l for l in res.stdout.splitlines())
    cfg = tmp_path / "pasted.yaml"
    cfg.write_text("database: %s\nprograms:\n  - id: p\n    kind: solar\n    sites:\n"
                   "      - id: s\n        devices:\n%s\n" % (tmp_path / "x.db", devices))
    check = daemon.subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", str(cfg)],
                                  capture_output=True, text=True, timeout=10)
    assert check.returncode == 0, (check.stderr, cfg.read_text())


def test_scan_third_party_peers(tmp_path):
    """pymodbus peers: a float SunSpec inverter, and a meter without SunSpec; the unit ids
    nobody answers for time out after --timeout each."""
    inv = peer_server.Peer(tmp_path, "sunspec-float").start()
    sdm = peer_server.Peer(tmp_path, "sdm630").start()
    try:
        t0 = time.monotonic()
        res = daemon.enmon("scan", "tcp://127.0.0.1:%d" % inv.port, "--units", "1-3",
                           "--timeout", "200ms", check=False)
        elapsed = time.monotonic() - t0
        assert res.returncode == 0, res.stderr
        rows = table_rows(res.stdout)
        assert list(rows) == [1], res.stdout
        row = rows[1]
        assert (row["MANUFACTURER"], row["MODEL"], row["SERIAL"], row["VERSION"]) == \
            ("PeerCo", "FLOAT-INV-5K", "FP-0001", "2.1.0")
        assert row["MODELS"] == "1 111" and row["KIND"] == "inverter"
        probed, _, answered, silent = summary(res.stdout)
        assert (probed, answered, silent) == (3, 1, 2)
        assert 0.35 < elapsed < 3.0, elapsed  # two silent units at 200 ms each, no more

        res = daemon.enmon("scan", "tcp://127.0.0.1:%d" % sdm.port, "--units", "1",
                           "--config-entry", check=False)
        assert res.returncode == 0, res.stderr
        assert "# unit 1: modbus device, not SunSpec" in res.stdout
        assert yaml.safe_load(res.stdout) is None  # comments only: nothing to paste as SunSpec
        res = daemon.enmon("scan", "tcp://127.0.0.1:%d" % sdm.port, "--units", "1", check=False)
        assert table_rows(res.stdout)[1]["KIND"] == "modbus device, not SunSpec"
    finally:
        assert inv.stop() == 0 and sdm.stop() == 0


def test_scan_rtu_through_a_pty(tmp_path):
    """Modbus RTU: a pymodbus serial peer on one end of a socat pty pair."""
    peer = peer_server.Peer(tmp_path, "sunspec-float", rtu=True).start()
    try:
        t0 = time.monotonic()
        res = daemon.enmon("scan", peer.link, "--units", "1-2", "--timeout", "200ms",
                           check=False)
        elapsed = time.monotonic() - t0
        assert res.returncode == 0, res.stderr
        rows = table_rows(res.stdout)
        assert list(rows) == [1], res.stdout
        assert (rows[1]["MANUFACTURER"], rows[1]["MODELS"], rows[1]["KIND"]) == \
            ("PeerCo", "1 111", "inverter")
        assert summary(res.stdout)[::2] == (2, 1)
        assert elapsed < 3.0, elapsed
        entries = yaml.safe_load(daemon.enmon("scan", peer.link, "--units", "1",
                                              "--config-entry").stdout)
        assert entries == [{"id": "inverter-fp-0001", "name": "PeerCo FLOAT-INV-5K FP-0001",
                            "kind": "inverter", "link": peer.link, "unit": 1}]
    finally:
        assert peer.stop() == 0


def test_scan_silent_server_times_out_quickly():
    """A TCP server that accepts and never answers: every unit costs one --timeout."""
    srv = socket.socket()
    srv.bind(("127.0.0.1", 0))
    srv.listen(4)
    conns = []

    def accept():
        try:
            while True:
                conns.append(srv.accept()[0])
        except OSError:
            pass

    threading.Thread(target=accept, daemon=True).start()
    try:
        t0 = time.monotonic()
        res = daemon.enmon("scan", "tcp://127.0.0.1:%d" % srv.getsockname()[1], "--units", "1-5",
                           "--timeout", "100ms", check=False)
        elapsed = time.monotonic() - t0
        assert res.returncode == 1, res
        assert summary(res.stdout)[::2] == (5, 0) and summary(res.stdout)[3] == 5
        assert 0.45 < elapsed < 2.0, elapsed
    finally:
        srv.close()
        for c in conns:
            c.close()


def test_scan_closed_port_fails_cleanly():
    port = harness.free_port()
    t0 = time.monotonic()
    res = daemon.enmon("scan", "tcp://127.0.0.1:%d" % port, check=False)
    assert res.returncode == 1
    assert "cannot connect to tcp://127.0.0.1:%d" % port in res.stderr
    assert res.stdout == ""
    assert time.monotonic() - t0 < 3.0


@pytest.mark.parametrize("args", [
    [],
    ["http://127.0.0.1:1"],
    ["tcp://127.0.0.1:0"],
    ["tcp://127.0.0.1:502", "--units", "0-3"],
    ["tcp://127.0.0.1:502", "--units", "5-2"],
    ["tcp://127.0.0.1:502", "--units", "1,,2"],
    ["tcp://127.0.0.1:502", "--units", "248"],
    ["tcp://127.0.0.1:502", "--timeout", "300"],
    ["tcp://127.0.0.1:502", "--timeout", "1h"],
    ["rtu:/dev/ttyS0?baud=12"],
    ["rtu:ttyS0"],
    ["tcp://127.0.0.1:502", "tcp://127.0.0.1:503"],
])
def test_scan_usage_errors(args):
    res = daemon.enmon("scan", *args, check=False)
    assert res.returncode == 64, (args, res)
    assert res.stderr.startswith("enmon: ") and res.stdout == ""
