"""test_welfare_restart.py -- the welfare safety net survives a restart: what the
welfare_inactivity rule learned (the household's base load) is saved in SQLite
(alert_learned, schema 6) and restored at start, so an idle household is alerted
`after` its idle start even when enmond was restarted midway; with a fresh database
in the same scenario the alert is late by up to a learning slot (learn/24), because
nothing has been learned yet.

Timeline (wall time is enmond's --time clock, real speed): learn is 360 s, so slots
are 15 s. Slot 0 (T0..T0+15 s) the household is idle: its 60 W is the base load;
then it is in use (several hundred W, above base + margin 50 W: nothing raised).
SIGTERM at ~T0+33 s saves what was learned. enmond starts again at T0+46 s (slot 3)
on the same database with the household idle: the base load is known at once, so
the alert comes `after` (4 s) of idle readings later. A fresh database at the same
instant has no completed slot until T0+60 s: no alert within after + margin."""
import sqlite3
import time

import daemon
import harness
from mqttwatch import Watch

T0 = "2026-06-21T12:00:00+09:00"  # 03:00:00 UTC: a multiple of the 15 s slot
T0_RESTART = "2026-06-21T12:00:46+09:00"
AFTER_S = 4
MARGIN_S = 5  # startup, the first reading (it adds no time), 1 s polls, a loaded machine
ALERTS = """alerts:
  welfare_inactivity: {after: %ds, learn: 360s, night_start: 0, night_end: 0}
""" % AFTER_S
PROGRAMS = ("programs:\n  - id: care\n    kind: ami\n    sites:\n      - id: senior\n"
            "        devices:\n"
            "          - {id: elder, kind: meter, link: 'tcp://127.0.0.1:%d', unit: 30,"
            " welfare: true}\n")
TOPIC = "enmon/alert/care/senior/elder/welfare_inactivity"


def raised_since(watch, start):
    return [p for t, p, _ in watch.messages[start:] if t == TOPIC and p]


def first_raise(watch, start, timeout):
    """Seconds until a raise on TOPIC among messages after index start, or None."""
    t0 = time.monotonic()
    got = daemon.wait_for(lambda: raised_since(watch, start), timeout)
    return time.monotonic() - t0 if got else None


def learned_rows(db_path):
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    try:
        return db.execute("SELECT d.key, l.rule, l.learn_ms, l.learned_ms, l.slots FROM "
                          "alert_learned l JOIN devices d ON d.id = l.device_id "
                          "WHERE l.rule = 'welfare_inactivity'").fetchall()
    finally:
        db.close()


def test_welfare_alert_fires_on_time_after_restart(tmp_path, mosquitto, sim_factory):
    port = harness.free_port()
    sim = sim_factory("devices:\n  - {port: %d, unit: 30, count: 1, kind: meter, phases: 1,"
                      " kwh_month: 320}\n" % port, args=["--time", T0, "--speed", "1"], seed=5)
    elder = "%d/30" % port
    d = daemon.Enmond(tmp_path, mosquitto.port, PROGRAMS % port, interval="1s", extra=ALERTS,
                      args=["--time", T0, "--speed", "1"])
    watch = Watch(mosquitto.port, topics=("enmon/alert/#",))
    fresh = None
    try:
        # learn: a quiet first slot (the base load), then a lived-in home
        sim.ctl("household", elder, "idle")
        d.start()
        time.sleep(15.5)
        sim.ctl("household", elder, "normal")
        time.sleep(17.5)
        assert d.stop() == 0
        assert raised_since(watch, 0) == [], d.log_text()
        rows = learned_rows(d.db)
        # slots 0, 1 and the partial slot 2 of 15 s: 45 s learned
        assert len(rows) == 1 and rows[0][:4] == ("elder", "welfare_inactivity", 360000, 45000), \
            rows

        # restart midway through learning, the household idle from now on
        sim.ctl("household", elder, "idle")
        d.args = ["--time", T0_RESTART, "--speed", "1"]
        mark = len(watch.messages)
        d.start()
        secs = first_raise(watch, mark, AFTER_S + MARGIN_S)
        assert secs is not None, d.log_text()
        print("restored: alerted %.1f s after the idle start (after %d s)" % (secs, AFTER_S))
        # welfare_inactivity and the meter's abnormal_load (its mean so far) came back
        assert "alerts: learned state of 2 rules restored (2 saved)" in d.log_text()
        assert d.stop() == 0

        # the same instant on a fresh database: nothing learned, no alert on time; it
        # comes once the first slot completes (T0+60 s, 14 s in) and after has passed
        fresh_dir = tmp_path / "fresh"
        fresh_dir.mkdir()
        fresh = daemon.Enmond(fresh_dir, mosquitto.port, PROGRAMS % port, interval="1s",
                              extra=ALERTS, args=["--time", T0_RESTART, "--speed", "1"])
        mark = len(watch.messages)
        fresh.start()
        assert first_raise(watch, mark, AFTER_S + MARGIN_S) is None, fresh.log_text()
        late = first_raise(watch, mark, 15 + AFTER_S + MARGIN_S)
        assert late is not None, fresh.log_text()
        print("fresh: not alerted within %d s; %.1f s more until the first slot was learned"
              % (AFTER_S + MARGIN_S, late))
        assert fresh.stop() == 0

        # dr_events is a store migration: on a file left at version 5 without it (as
        # enmond 5 left it), `enmon dr add` applies the missing migration and records
        db = sqlite3.connect(fresh.db)
        current = db.execute("PRAGMA user_version").fetchone()[0]
        db.executescript("DROP TABLE alert_learned; DROP TABLE dr_events;"
                         " DROP TABLE weather; DROP TABLE webhook_outbox;"
                         " DROP TABLE reading_blocks; DROP TABLE program_intervals;"
                         " DROP TABLE program_daily; DROP TABLE program_rollup_map;"
                         + "".join(" ALTER TABLE readings DROP COLUMN %s;" % c for c in (
                             "leakage_ma", "current_l1_a", "current_l2_a", "current_l3_a",
                             "tilt_deg")) +
                         " ALTER TABLE alerts DROP COLUMN clear_value;"
                         " ALTER TABLE alerts DROP COLUMN clear_cause;"
                         " PRAGMA user_version=5;")
        db.close()
        r = daemon.enmon("--db", fresh.db, "--tz", "+09:00", "dr", "add", "--site", "senior",
                         "--start", "2026-06-22T14:00", "--end", "2026-06-22T16:00")
        assert r.stdout.startswith("event recorded: senior"), r
        db = sqlite3.connect(fresh.db)
        try:
            assert db.execute("PRAGMA user_version").fetchone()[0] == current >= 10
            assert db.execute("SELECT site, end_s - start_s FROM dr_events").fetchall() == \
                [("senior", 7200)]
        finally:
            db.close()
    finally:
        watch.close()
        d.stop()
        if fresh:
            fresh.stop()
