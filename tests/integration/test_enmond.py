"""test_enmond.py -- enmon-sim (fixed mode) -> enmond -> mosquitto + SQLite, checked by paho-mqtt."""
import os
import sqlite3
import subprocess
import time

import pytest

import daemon
import harness
from mqttwatch import Watch

# the simulator and enmond share one simulated clock: noon in Korea, 120 times real speed
NOON_120X = ["--time", "2026-06-21T12:00:00+09:00", "--speed", "120"]

INV_A = {"power_w": 1234, "energy_export_wh": 567890, "voltage_v": 229.5, "frequency_hz": 60.01,
         "current_a": 5.37, "temperature_c": 41.5, "state": 4}
INV_B = {"power_w": 2871, "energy_export_wh": 1234567, "voltage_v": 221.3, "frequency_hz": 59.98,
         "current_a": 12.97, "temperature_c": 38.0, "state": 4}
METER_1P = {"power_w": 512, "energy_import_wh": 2345678, "energy_export_wh": 4321,
            "voltage_v": 218.7, "frequency_hz": 60.0, "current_a": 2.33}
METER_3P = {"power_w": 48210, "energy_import_wh": 98765430, "energy_export_wh": 120,
            "voltage_v": 224.1, "frequency_hz": 60.02, "current_a": 71.5}


def fixed_yaml(values):
    return "{" + ", ".join("%s: %s" % kv for kv in values.items()) + "}"


@pytest.fixture
def city(tmp_path, mosquitto, sim_factory):
    """A fixed-mode fleet on three simulator ports and a matching enmond config."""
    p1, p2, p3 = harness.free_port(), harness.free_port(), harness.free_port()
    sim = sim_factory(
        "devices:\n"
        "  - {port: %d, unit: 1, kind: inverter, capacity: 3000, fixed: %s}\n"
        "  - {port: %d, unit: 2, kind: inverter, capacity: 3000, fixed: %s}\n"
        "  - {port: %d, unit: 1, kind: inverter, capacity: 3000, fixed: %s}\n"
        "  - {port: %d, unit: 7, kind: meter, phases: 1, fixed: %s}\n"
        "  - {port: %d, unit: 1, kind: meter, phases: 3, fixed: %s}\n"
        % (p1, fixed_yaml(INV_A), p1, fixed_yaml(INV_B), p2, fixed_yaml(INV_A),
           p2, fixed_yaml(METER_1P), p3, fixed_yaml(METER_3P)))
    programs = (
        "programs:\n"
        "  - id: solar-homes\n    kind: solar\n    sites:\n"
        "      - id: home-1\n        devices:\n"
        "          - {id: inv-a, kind: inverter, link: 'tcp://127.0.0.1:%d', unit: 1, capacity: 3000}\n"
        "          - {id: inv-b, kind: inverter, link: 'tcp://127.0.0.1:%d', unit: 2, capacity: 3000}\n"
        "      - id: home-2\n        devices:\n"
        "          - {id: inv-c, kind: inverter, link: 'tcp://127.0.0.1:%d', unit: 1, capacity: 3000}\n"
        "  - id: ami\n    kind: ami\n    sites:\n"
        "      - id: house-7\n        devices:\n"
        "          - {id: meter-7, kind: meter, link: 'tcp://127.0.0.1:%d', unit: 7}\n"
        "  - id: ess\n    kind: efficiency\n    sites:\n"
        "      - id: city-hall\n        devices:\n"
        "          - {id: hall, kind: meter, link: 'tcp://127.0.0.1:%d', unit: 1}\n"
        % (p1, p1, p2, p2, p3))
    d = daemon.Enmond(tmp_path, mosquitto.port, programs, interval="1s")
    yield sim, d
    d.stop()


EXPECTED = {"inv-a": INV_A, "inv-b": INV_B, "inv-c": INV_A, "meter-7": METER_1P, "hall": METER_3P}
WHERE = {"inv-a": ("solar-homes", "home-1"), "inv-b": ("solar-homes", "home-1"),
         "inv-c": ("solar-homes", "home-2"), "meter-7": ("ami", "house-7"),
         "hall": ("ess", "city-hall")}


def test_every_device_publishes_exact_values(city, mosquitto):
    sim, d = city
    watch = Watch(mosquitto.port)
    try:
        started = time.monotonic()
        d.start()
        states = daemon.wait_for(lambda: len(watch.states()) == len(EXPECTED) and watch.states(),
                                 timeout=2 * 1.0 + 3.0)
        elapsed = time.monotonic() - started
        assert states and set(states) == set(EXPECTED), (watch.states().keys(), d.log_text())
        for dev, values in EXPECTED.items():
            st = states[dev]
            program, site = WHERE[dev]
            assert st["program"] == program and st["site"] == site
            assert st["quality"] == "ok"
            for key, value in values.items():
                assert st[key] == value, (dev, key, st)
            avail = "enmon/device/%s/%s/%s/availability" % (program, site, dev)
            assert daemon.wait_for(lambda: watch.last(avail) == b"online", 3), avail
        print("all %d devices published within %.2f s of start" % (len(EXPECTED), elapsed))
        assert watch.last("enmon/status") == b"online"
        # a second reading per device arrives one interval later (polling goes on)
        assert daemon.wait_for(lambda: all(len(watch.all_states(x)) >= 2 for x in EXPECTED), 4)
    finally:
        rc = d.stop()
        time.sleep(0.3)
        watch.close()
    assert rc == 0, d.log_text()
    assert watch.last("enmon/status") == b"offline"


def test_sqlite_holds_the_readings(city, mosquitto):
    sim, d = city
    d.start()
    time.sleep(3.5)
    assert d.stop() == 0, d.log_text()
    db = sqlite3.connect(d.db)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    rows = db.execute(
        "SELECT d.key, r.power_w, r.energy_import_wh, r.energy_export_wh, r.voltage_v, "
        "r.frequency_hz, r.current_a FROM readings r JOIN devices d ON d.id = r.device_id").fetchall()
    by_dev = {}
    for key, *vals in rows:
        by_dev.setdefault(key, []).append(vals)
    assert set(by_dev) == set(EXPECTED)
    names = ["power_w", "energy_import_wh", "energy_export_wh", "voltage_v", "frequency_hz",
             "current_a"]
    for dev, readings in by_dev.items():
        assert len(readings) >= 2, dev
        for vals in readings:
            got = dict(zip(names, vals))
            for key, value in EXPECTED[dev].items():
                if key in got:
                    assert got[key] == value, (dev, key, got)
        if dev.startswith("inv"):
            # an inverter has no import counter: stored as NULL, never as 0
            assert all(v[1] is None for v in readings)


def test_availability_follows_the_simulator(city, mosquitto):
    sim, d = city
    watch = Watch(mosquitto.port)
    topic = "enmon/device/solar-homes/home-1/inv-a/availability"
    try:
        d.start()
        assert daemon.wait_for(lambda: watch.last(topic) == b"online", 6), d.log_text()
        sim.stop()
        t0 = time.monotonic()
        assert daemon.wait_for(lambda: watch.last(topic) == b"offline", 10), d.log_text()
        print("offline after %.1f s" % (time.monotonic() - t0))
        hall = "enmon/device/ess/city-hall/hall/availability"
        assert watch.last(hall) == b"offline"
        sim.start()
        t0 = time.monotonic()
        assert daemon.wait_for(lambda: watch.last(topic) == b"online", 20), d.log_text()
        assert daemon.wait_for(lambda: watch.last(hall) == b"online", 20), d.log_text()
        print("online again %.1f s after the simulator restarted" % (time.monotonic() - t0))
        assert d.proc.poll() is None  # enmond was never restarted
    finally:
        watch.close()


def test_report_and_devices_cli(city, mosquitto):
    sim, d = city
    d.start()
    time.sleep(3)
    assert d.stop() == 0
    out = daemon.enmon("--db", d.db, "devices", "--format", "csv").stdout
    lines = [l for l in out.splitlines() if l.strip()]
    assert len(lines) == 1 + len(EXPECTED), out
    for dev in EXPECTED:
        assert any(l.startswith(dev + ",") for l in lines), (dev, out)
    rep = daemon.enmon("--db", d.db, "report", "--by", "program", "--format", "csv").stdout
    assert "solar-homes" in rep and "ami" in rep, rep


def test_check_config_names_file_line_and_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("database: /tmp/x.db\npolling:\n  interval: fast\n")
    res = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", str(bad)],
                         capture_output=True, text=True, timeout=10)
    assert res.returncode == 78
    assert "%s:3:" % bad in res.stderr and "interval" in res.stderr, res.stderr


def test_report_totals_equal_counter_deltas(tmp_path, mosquitto, sim_factory):
    """Physics mode at 120x speed around noon: the report's kWh per program equal the
    energy counters' own increase (last - first reading) summed independently here."""
    port = harness.free_port()
    sim_factory(
        "devices:\n"
        "  - {port: %d, unit: 1, count: 3, kind: inverter, capacity: 3000}\n"
        "  - {port: %d, unit: 11, count: 4, kind: meter, phases: 1, kwh_month: 320}\n" % (port, port),
        args=NOON_120X, seed=7)
    programs = (
        "programs:\n"
        "  - id: solar\n    kind: solar\n    sites:\n"
        "      - id: home-{n}\n        count: 3\n        devices:\n"
        "          - {id: 'pv-{n}', kind: inverter, link: 'tcp://127.0.0.1:%d', unit: 1, capacity: 3000}\n"
        "  - id: ami\n    kind: ami\n    sites:\n"
        "      - id: house-{n}\n        count: 4\n        devices:\n"
        "          - {id: 'm-{n}', kind: meter, link: 'tcp://127.0.0.1:%d', unit: 11}\n"
        % (port, port))
    d = daemon.Enmond(tmp_path, mosquitto.port, programs, interval="1s", args=NOON_120X)
    d.start()
    time.sleep(8)
    assert d.stop() == 0, d.log_text()
    db = sqlite3.connect(d.db)
    expected = {}
    for prog, col in (("solar", "energy_export_wh"), ("ami", "energy_import_wh")):
        total = 0.0
        for (dev_id,) in db.execute(
                "SELECT d.id FROM devices d JOIN programs p ON p.id = d.program_id "
                "WHERE p.key = ?", (prog,)):
            vals = [v for (v,) in db.execute(
                "SELECT %s FROM readings WHERE device_id = ? AND %s IS NOT NULL ORDER BY ts_ms"
                % (col, col), (dev_id,))]
            assert len(vals) >= 5, (prog, dev_id, vals)
            assert vals == sorted(vals)  # counters only grow here
            total += vals[-1] - vals[0]
        expected[prog] = total / 1000.0
    assert expected["solar"] > 0.05 and expected["ami"] > 0.01, expected  # energy did flow
    span = ["2026-06-20", "2026-06-22"]  # around the simulated noon of both processes
    out = daemon.enmon("--db", d.db, "report", "--from", span[0], "--to", span[1], "--by",
                       "program", "--format", "csv").stdout
    rows = [l.split(",") for l in out.strip().splitlines()]
    header = rows[0]
    got = {r[0]: r for r in rows[1:]}
    kwh_out = header.index("kwh_out") if "kwh_out" in header else header.index("kWh_out")
    kwh_in = header.index("kwh_in") if "kwh_in" in header else header.index("kWh_in")
    assert float(got["solar"][kwh_out]) == pytest.approx(expected["solar"], abs=0.0015), out
    assert float(got["ami"][kwh_in]) == pytest.approx(expected["ami"], abs=0.0015), out


def test_another_writer_holding_the_lock_loses_nothing(city, mosquitto):
    """`enmon import` holds SQLite's write lock for its whole file (all or nothing). A batch
    that meets the lock waits for it instead of being dropped: hold the lock for 8 s (longer
    than the 5 s busy timeout) and every poll of that time still lands in the database."""
    sim, d = city
    d.start()
    time.sleep(2.5)
    other = sqlite3.connect(d.db, isolation_level=None)
    other.execute("BEGIN IMMEDIATE")
    time.sleep(8)
    other.execute("COMMIT")
    other.close()
    time.sleep(2.5)
    assert d.stop() == 0, d.log_text()
    assert "lost" not in d.log_text(), d.log_text()
    db = sqlite3.connect(d.db)
    for dev in EXPECTED:
        ts = [t for (t,) in db.execute(
            "SELECT r.ts_ms FROM readings r JOIN devices v ON v.id = r.device_id "
            "WHERE v.key = ? ORDER BY r.ts_ms", (dev,))]
        # enmond's own timestamps (no wall clock here): polls landed all through the
        # 13 s run, the 8 s lock included, without a hole
        assert len(ts) >= 11 and ts[-1] - ts[0] >= 10000, (dev, len(ts), ts[-1] - ts[0])
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        assert max(gaps) < 2500, (dev, max(gaps))
