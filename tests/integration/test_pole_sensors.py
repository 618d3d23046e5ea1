"""test_pole_sensors.py -- a feeder of pole leakage sensors end to end: enmon-sim serves six
sensors through config/maps/pole-leakage-sensor.yaml, enmond polls them, paho-mqtt sees their
readings (leakage, phase currents, enclosure temperature, tilt, status) and their Home
Assistant discovery; a leakage step injected with `enmon-sim ctl` raises leakage_current
only once it lasted the configured sustain time on the simulated clock, clears once the
leakage is back, and the door switch raises sensor_event DOOR_OPEN."""
import json
import os
import socket
import sqlite3
import struct
import time

import pytest

import daemon
import dashlib
import harness
from mqttwatch import Watch

# 09:00 in Daejeon, the simulated clock at speed 1: readings' ts and the alert's first_seen /
# last_seen are simulated wall time, so the sustain time is measured on that clock.
T0 = ["--time", "2026-06-21T09:00:00+09:00", "--speed", "1"]
N = 6
AFTER_S = 4  # leakage_current's `after` (default 60 s: shortened so the test is quick)
ALERTS = "alerts:\n  leakage_current: {after: %ds, clear_after: 2s}\n" % AFTER_S


def map_path():
    return os.path.join(harness.source_dir(), "config", "maps", "pole-leakage-sensor.yaml")


def configs(port):
    sim = ("devices:\n  - {port: %d, unit: 1, count: %d, kind: sensor, map: %s}\n"
           % (port, N, map_path()))
    programs = ("programs:\n"
                "  - id: grid\n    kind: grid-safety\n    sites:\n"
                "      - id: 'pole-{n}'\n        count: %d\n        devices:\n"
                "          - {id: 'leak-{n}', kind: sensor, map: %s,"
                " link: 'tcp://127.0.0.1:%d', unit: 1}\n" % (N, map_path(), port))
    return sim, programs


def alert_topic(n, rule, event=None):
    return "enmon/alert/grid/pole-%d/leak-%d/%s%s" % (n, n, rule, "/" + event if event else "")


def test_feeder_readings_discovery_and_leakage_alert(tmp_path, mosquitto, sim_factory):
    port = harness.free_port()
    sim_text, programs = configs(port)
    sim = sim_factory(sim_text, args=T0, seed=5)
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, programs, extra=ALERTS, args=T0,
                           mqtt_extra="  ha_discovery: true\n")
    watch = Watch(mosquitto.port, topics=("enmon/#", "homeassistant/#"))
    try:
        d.start()
        assert daemon.wait_for(lambda: len(watch.states()) == N, 15), d.log_text()
        time.sleep(2)
        for i in range(1, N + 1):
            doc = watch.states()["leak-%d" % i]
            # a dry June morning: a few mA (1..4 mA x at most 1.05 noise; no dew after 06:00,
            # rain raises it at most 4 x: below 30 mA either way)
            assert 0.5 <= doc["leakage_ma"] < 20.0, doc
            for ph in ("current_l1_a", "current_l2_a", "current_l3_a"):
                assert 5.0 < doc[ph] < 120.0, doc
            assert -10.0 < doc["temperature_c"] < 50.0, doc
            assert 0.2 <= doc["tilt_deg"] <= 1.5, doc
            assert doc["events"] == 0, doc
            assert "power_w" not in doc and "energy_import_wh" not in doc, doc
        # Home Assistant discovery: leakage (mA) and enclosure temperature per sensor
        cfg_topic = "homeassistant/sensor/enmon_leak-1/leakage/config"
        assert daemon.wait_for(lambda: watch.last(cfg_topic), 10)
        ha = json.loads(watch.last(cfg_topic))
        assert ha["unit_of_meas"] == "mA" and ha["dev_cla"] == "current", ha
        assert ha["stat_t"] == "~/state" and "leakage_ma" in ha["val_tpl"], ha
        assert ha["dev"]["mdl"] == "pole leakage sensor", ha
        temp = json.loads(watch.last("homeassistant/sensor/enmon_leak-1/temperature/config"))
        assert temp["unit_of_meas"] == "\u00b0C" and temp["dev_cla"] == "temperature", temp
        assert watch.last("homeassistant/sensor/enmon_leak-1/power/config") is None
        # the live dashboard's device rows and /metrics
        frame = json.loads(dashlib.sse_events(d.url("/api/live"), 1)[0][1])
        row = next(x for x in frame["devices"] if x["id"] == "leak-1")
        assert row["kind"] == "sensor" and "power_w" not in row, row
        assert 0.5 <= row["leakage_ma"] < 20.0, row
        status, _, body = dashlib.get(d.url("/metrics"))
        assert status == 200
        series = [ln for ln in body.decode().splitlines()
                  if ln.startswith("enmon_device_leakage_milliamperes{")]
        assert len(series) == N and 'device="leak-1"' in series[0], series
        assert 'kind="sensor"' in series[0], series
        early = [t for t, p, _ in watch.messages if t.startswith("enmon/alert/") and p]
        assert early == [], early

        # a 45 mA insulation fault on pole 3: raised only after AFTER_S of readings above 30
        topic = alert_topic(3, "leakage_current")
        res = sim.ctl("leakage", "%d/3" % port, "step", 45)
        assert "leakage step 45" in res.stdout, res.stdout
        assert daemon.wait_for(lambda: watch.last(topic), AFTER_S + 10), d.log_text()
        alert = json.loads(watch.last(topic))
        assert alert["rule"] == "leakage_current" and alert["state"] == "active", alert
        assert alert["severity"] == "critical", alert
        assert alert["value"] > 30.0 and "above 30.0 mA" in alert["cause"], alert
        sustained = alert["last_seen_ms"] - alert["first_seen_ms"]
        assert sustained >= AFTER_S * 1000, alert
        # the first reading above 30 mA is the one the condition began with (first_seen is
        # carried as monotonic time and turned back into wall time at the raise: both clocks
        # are read in whole ms, so it may differ from the reading's own ts by 1 ms)
        high = [s for s in watch.all_states("leak-3") if s["leakage_ma"] > 30.0]
        assert high and abs(high[0]["ts_ms"] - alert["first_seen_ms"]) <= 1, (high[:1], alert)
        assert all(s["ts_ms"] < alert["last_seen_ms"] + 1 for s in high[:AFTER_S])
        others = [t for t, p, _ in watch.messages
                  if t.startswith("enmon/alert/") and p and t != topic]
        assert others == [], others

        # the fault removed: the alert clears (an empty retained message) and is stored
        sim.ctl("leakage", "%d/3" % port, "off")
        assert daemon.wait_for(lambda: watch.last(topic) == b"", 10), d.log_text()
        want = [("leak-3/leakage_current", "leakage_current", 1)]
        assert daemon.wait_for(lambda: _alert_rows(d.db) == want, 5), _alert_rows(d.db)

        # the door of pole 5 opened (status bit 0): sensor_event DOOR_OPEN
        sim.ctl("events", "%d/5" % port, "0x1")
        door = alert_topic(5, "sensor_event", "DOOR_OPEN")
        assert daemon.wait_for(lambda: watch.last(door), 10), d.log_text()
        sim.ctl("clear", "events", "%d/5" % port)
        assert daemon.wait_for(lambda: watch.last(door) == b"", 10), d.log_text()

        # every measurement is stored (schema 11): leak-3's published states, the 45 mA
        # step among them, are its readings rows, column for column
        cols = ("leakage_ma", "current_l1_a", "current_l2_a", "current_l3_a", "tilt_deg")

        def stored():
            db = sqlite3.connect(d.db)
            try:
                return {r[0]: r[1:] for r in db.execute(
                    "SELECT r.ts_ms, %s FROM readings r JOIN devices v ON v.id = r.device_id"
                    " WHERE v.key = 'leak-3'" % ", ".join("r." + c for c in cols))}
            finally:
                db.close()
        states = watch.all_states("leak-3")
        assert daemon.wait_for(lambda: all(x["ts_ms"] in stored() for x in states), 5)
        rows = stored()
        for x in states:
            assert rows[x["ts_ms"]] == pytest.approx(tuple(x[c] for c in cols), rel=1e-9), x
        assert max(r[0] for r in rows.values()) > 30.0
    finally:
        assert d.stop() == 0, d.log_text()
        watch.close()


def test_ramp_and_arc_faults_on_the_wire(sim_factory):
    """`enmon-sim ctl leakage` ramp and arc as a Modbus client reads them, the simulated clock
    at 60x: a ramp of 60 mA/h from 10 mA adds 10 + 1 mA per real second; arcing bursts of
    30..90 mA come and go in 5 s (simulated) slots, 83 ms of real time each."""
    port = harness.free_port()
    sim_text, _ = configs(port)
    sim = sim_factory(sim_text, args=["--time", "2026-06-21T09:00:00+09:00", "--speed", "60"],
                      seed=5)
    bad = sim.ctl("leakage", "%d/1" % port, "drip", 5, check=False)
    assert bad.returncode != 0 and "expected step" in (bad.stdout + bad.stderr), bad
    before = _leakage(port, 2)
    assert before < 10.0, before
    t = time.monotonic()
    sim.ctl("leakage", "%d/2" % port, "ramp", 60, 10)
    time.sleep(3)
    ramped = _leakage(port, 2)
    real_s = time.monotonic() - t
    # 10 mA + 1 mA per real second, over the pole's own few mA (+-0.5 for noise and rounding)
    assert 10.0 + 3.0 - 0.5 <= ramped - before <= 10.0 + real_s + 0.5, (before, ramped, real_s)
    sim.ctl("leakage", "%d/2" % port, "arc", 60)
    seen = []
    for _ in range(40):
        seen.append(_leakage(port, 2))
        time.sleep(0.2)
    assert max(seen) > 30.0 and min(seen) < 10.0, seen
    sim.ctl("leakage", "%d/2" % port, "off")
    assert _leakage(port, 2) < 10.0


def _alert_rows(path):
    """(key, rule, cleared) of every alert stored (the store thread writes them shortly after)."""
    db = sqlite3.connect(path)
    try:
        return db.execute("SELECT key, rule, cleared_ms IS NOT NULL FROM alerts").fetchall()
    finally:
        db.close()


def _leakage(port, unit):
    """Leakage (mA) of one sensor over raw Modbus TCP: holding register 0 x 0.1."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as s:
        s.sendall(struct.pack(">HHHBBHH", 1, 0, 6, unit, 3, 0, 1))
        reply = b""
        while len(reply) < 11:
            chunk = s.recv(64)
            assert chunk, "connection closed"
            reply += chunk
    return struct.unpack(">H", reply[9:11])[0] * 0.1


def test_config_doc_example_is_the_demo_feeder():
    """docs/CONFIG.md's pole-sensor example is config/enmond.yaml's feeder, word for word, and
    its map and the demo simulator's entry agree (port 15028, 12 poles, the same map)."""
    src = harness.source_dir()
    with open(os.path.join(src, "docs", "CONFIG.md"), encoding="utf-8") as fh:
        doc = fh.read()
    section = doc[doc.index("## Pole sensors"):]
    example = section[section.index("```yaml\n") + 8:section.index("```\n", 8)]
    with open(os.path.join(src, "config", "enmond.yaml"), encoding="utf-8") as fh:
        assert example in fh.read()
    import yaml
    with open(os.path.join(src, "config", "sim-demo.yaml"), encoding="utf-8") as fh:
        sim = [d for d in yaml.safe_load(fh)["devices"] if d["kind"] == "sensor"]
    assert sim == [{"port": 15028, "unit": 1, "count": 12, "kind": "sensor",
                    "map": "maps/pole-leakage-sensor.yaml", "serial": "POLE-{n}"}]
