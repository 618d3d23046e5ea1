"""test_alerts.py -- alerts end to end: enmon-sim (fixed values) -> enmond's alert engine ->
retained MQTT alert topics, SQLite history, `enmon alerts`; restart without re-firing."""
import json
import signal
import sqlite3
import time

import pytest

import daemon
import harness
from mqttwatch import Watch

ALERTS = ("alerts:\n"
          "  voltage_band: {after: 2s, clear_after: 2s}\n"
          "  comm_loss: {polls: 2, after: 30s}\n")


def sim_config(port, inverter_state=4, voltage=230.0, events=0):
    return ("devices:\n"
            "  - {port: %d, unit: 1, kind: inverter, capacity: 3000,"
            " fixed: {power_w: 1500, state: %d, events: %d}}\n"
            "  - {port: %d, unit: 2, kind: meter, phases: 1, fixed: {power_w: 400, voltage_v: %s}}\n"
            % (port, inverter_state, events, port, voltage))


def programs(port):
    return ("programs:\n  - id: solar\n    kind: solar\n    sites:\n      - id: roof\n"
            "        devices:\n"
            "          - {id: inv, kind: inverter, link: 'tcp://127.0.0.1:%d', unit: 1, capacity: 3000}\n"
            "  - id: ami\n    kind: ami\n    sites:\n      - id: house\n        devices:\n"
            "          - {id: meter, kind: meter, link: 'tcp://127.0.0.1:%d', unit: 2}\n"
            % (port, port))


def active_rows(db_path):
    db = sqlite3.connect(db_path)
    try:
        return db.execute("SELECT key, cause, severity FROM alerts WHERE cleared_ms IS NULL "
                          "ORDER BY key").fetchall()
    finally:
        db.close()


def test_alerts_raise_persist_restore_and_clear(tmp_path, mosquitto, sim_factory):
    port = harness.free_port()
    faulty = sim_factory(sim_config(port, inverter_state=7, voltage=196.5, events=1 | 1 << 7))
    hook_out = tmp_path / "hook.jsonl"
    hook = ("  hook: {command: [/bin/sh, -c, 'cat >> %s; echo >> %s'], timeout: 5s}\n"
            % (hook_out, hook_out))
    d = daemon.Enmond(tmp_path, mosquitto.port, programs(port), interval="1s",
                      extra=ALERTS + hook)
    watch = Watch(mosquitto.port, topics=("enmon/alert/#", "enmon/device/#"))
    fault_topic = "enmon/alert/solar/roof/inv/inverter_fault"
    volt_topic = "enmon/alert/ami/house/meter/voltage_band"
    gf_topic = "enmon/alert/solar/roof/inv/inverter_event/GROUND_FAULT"
    try:
        t0 = time.monotonic()
        d.start()
        assert daemon.wait_for(lambda: watch.last(fault_topic), 5), d.log_text()
        t_fault = time.monotonic() - t0
        assert daemon.wait_for(lambda: watch.last(volt_topic), 8), d.log_text()
        t_volt = time.monotonic() - t0
        assert daemon.wait_for(lambda: watch.last(gf_topic), 5), d.log_text()
        print("inverter_fault after %.1f s, voltage_band after %.1f s" % (t_fault, t_volt))
        fault = json.loads(watch.last(fault_topic))
        assert fault["device"] == "inv" and fault["rule"] == "inverter_fault"
        assert fault["severity"] == "critical" and fault["state"] == "active"
        volt = json.loads(watch.last(volt_topic))
        assert volt["value"] == 196.5 and "207" in volt["cause"], volt
        assert watch.last("enmon/alert/solar/roof/inv/inverter_event/OVER_TEMP")
        # the retained alert reaches a subscriber that comes later
        late = Watch(mosquitto.port, topics=("enmon/alert/#",), client_id="late")
        assert daemon.wait_for(lambda: late.last(fault_topic), 3)
        late.close()
        # the hook program got each alert as JSON on its stdin (exec'd, no shell of ours)
        def hooked():
            if not hook_out.exists():
                return set()
            return {json.loads(l)["id"] for l in hook_out.read_text().splitlines() if l}
        assert daemon.wait_for(lambda: {"inv/inverter_fault", "meter/voltage_band"} <= hooked(),
                               10), (hooked(), d.log_text())
        time.sleep(1.5)
        assert d.stop() == 0, d.log_text()
        rows = active_rows(d.db)
        keys = [k for k, _, _ in rows]
        assert keys == sorted(["inv/inverter_fault", "meter/voltage_band",
                               "inv/inverter_event/GROUND_FAULT", "inv/inverter_event/OVER_TEMP"]), rows

        # enmon alerts lists them; ack records who
        out = daemon.enmon("--db", d.db, "alerts", "--format", "json").stdout
        listed = json.loads(out)
        assert {a["id"] for a in listed} == set(keys)
        assert daemon.enmon("--db", d.db, "alerts", "ack", "inv/inverter_fault", "--by",
                            "operator-kim").returncode == 0
        acked = [a for a in json.loads(daemon.enmon("--db", d.db, "alerts", "--format",
                                                    "json").stdout) if a.get("acked_by")]
        assert [a["id"] for a in acked] == ["inv/inverter_fault"]
        assert daemon.enmon("--db", d.db, "alerts", "ack", "nope", "--by", "x",
                            check=False).returncode == 1

        # restart with the fault still there: restored, not raised twice
        watch.messages.clear()
        d.start()
        time.sleep(4)
        assert active_rows(d.db) == rows
        db = sqlite3.connect(d.db)
        assert db.execute("SELECT count(*) FROM alerts").fetchone()[0] == len(rows)
        db.close()
        assert "alerts: 4 active alerts restored" in d.log_text()

        # the fault goes away: every alert clears, the retained messages are deleted
        faulty.stop()
        healthy = sim_factory(sim_config(port), start=False)
        healthy.ports = [port]
        healthy.start()
        assert daemon.wait_for(lambda: active_rows(d.db) == [], 15), (active_rows(d.db),
                                                                     d.log_text())
        assert watch.last(fault_topic) == b"" and watch.last(volt_topic) == b""
        hist = sqlite3.connect(d.db).execute(
            "SELECT count(*) FROM alerts WHERE cleared_ms IS NOT NULL").fetchone()[0]
        assert hist == 4
        # the history keeps the 196.5 V that raised it and the healthy 230 V that cleared it
        assert sqlite3.connect(d.db).execute(
            "SELECT value, clear_value FROM alerts WHERE key = 'meter/voltage_band'"
        ).fetchall() == [(196.5, 230.0)]
    finally:
        d.stop()
        watch.close()


def test_comm_loss_alert(tmp_path, mosquitto, sim_factory):
    port = harness.free_port()
    sim = sim_factory(sim_config(port))
    d = daemon.Enmond(tmp_path, mosquitto.port, programs(port), interval="1s", extra=ALERTS)
    watch = Watch(mosquitto.port, topics=("enmon/alert/#",))
    topic = "enmon/alert/ami/house/meter/comm_loss"
    try:
        d.start()
        time.sleep(2.5)
        assert watch.last(topic) is None
        sim.stop()
        t0 = time.monotonic()
        assert daemon.wait_for(lambda: watch.last(topic), 10), d.log_text()
        print("comm_loss after %.1f s" % (time.monotonic() - t0))
        sim.start()
        assert daemon.wait_for(lambda: watch.last(topic) == b"", 30), d.log_text()
    finally:
        d.stop()
        watch.close()


def test_second_ack_refused_and_removed_device_cleared(tmp_path, mosquitto, sim_factory):
    """The first acknowledgement stands; a device removed from the config by a SIGHUP
    reload gets its active alert closed in SQLite and its retained MQTT alert cleared."""
    port = harness.free_port()
    noon = ["--time", "2026-06-21T12:00:00+09:00", "--speed", "1"]
    sim_factory(sim_config(port, inverter_state=7), args=noon)
    d = daemon.Enmond(tmp_path, mosquitto.port, programs(port), interval="1s", extra=ALERTS,
                      args=noon)
    watch = Watch(mosquitto.port, topics=("enmon/alert/#",))
    fault_topic = "enmon/alert/solar/roof/inv/inverter_fault"
    try:
        d.start()
        assert daemon.wait_for(lambda: watch.last(fault_topic), 5), d.log_text()
        assert daemon.wait_for(lambda: active_rows(d.db), 5), d.log_text()
        first = daemon.enmon("--db", d.db, "--tz", "+09:00", "alerts", "ack",
                             "inv/inverter_fault", "--by", "kim")
        assert first.stdout == "alert inv/inverter_fault acknowledged by kim\n", first
        second = daemon.enmon("--db", d.db, "--tz", "+09:00", "alerts", "ack",
                              "inv/inverter_fault", "--by", "lee", check=False)
        assert second.returncode == 1, second
        assert second.stderr.startswith(
            "enmon: alert inv/inverter_fault was already acknowledged by kim at "), second
        assert second.stderr.endswith("; not changed\n"), second
        db = sqlite3.connect(d.db)
        assert db.execute("SELECT acked_by FROM alerts").fetchall() == [("kim",)]
        db.close()

        # the inverter leaves the configuration (the meter stays): reload
        meter_only = ("programs:\n  - id: ami\n    kind: ami\n    sites:\n"
                      "      - id: house\n        devices:\n"
                      "          - {id: meter, kind: meter, link: 'tcp://127.0.0.1:%d',"
                      " unit: 2}\n" % port)
        daemon.Enmond(tmp_path, mosquitto.port, meter_only, interval="1s", extra=ALERTS)
        d.proc.send_signal(signal.SIGHUP)
        assert daemon.wait_for(lambda: watch.last(fault_topic) == b"", 10), d.log_text()
        assert active_rows(d.db) == []
        db = sqlite3.connect(d.db)
        assert db.execute("SELECT key, clear_cause, acked_by FROM alerts").fetchall() == \
            [("inv/inverter_fault", "device removed from configuration", "kim")]
        db.close()
        assert ("alert cleared: inv/inverter_fault (device removed from configuration)"
                in d.log_text())
        listed = json.loads(daemon.enmon("--db", d.db, "alerts", "--all", "--format",
                                         "json").stdout)
        assert [(a["id"], a["state"], a["clear_cause"]) for a in listed] == \
            [("inv/inverter_fault", "cleared", "device removed from configuration")]
        assert d.proc.poll() is None
    finally:
        assert d.stop() == 0, d.log_text()
        watch.close()
