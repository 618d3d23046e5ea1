"""test_report_rollup.py -- `enmon report --by program` from the per-program rollups
(program_intervals, program_daily; schema 12) prints the same bytes as from the devices' rows
(ENMON_REPORT_ROLLUP=0), on data enmond's writer made: counters spread over a gap by a restart,
and a meter moved to another program at the restart (the rollups are rebuilt)."""
import datetime
import os
import shutil
import sqlite3
import subprocess
import time

import pytest

import daemon
import harness

# enmon-sim and both enmond runs share one simulated clock: from noon in Korea, 300x
NOON = datetime.datetime(2026, 6, 21, 12, 0, tzinfo=harness.KST)
METERS = 8
JUNE_21_KST_S = 1782010800 - 12 * 3600  # 2026-06-21 00:00 KST


def programs_yaml(port, eff_from):
    """Meters 1..eff_from-1 in program ami, eff_from..8 in program eff."""
    def site(n):
        return ("      - id: house-%d\n        devices:\n          - {id: meter-%d, kind: meter,"
                " link: 'tcp://127.0.0.1:%d', unit: %d}\n" % (n, n, port, n))
    return ("programs:\n  - id: ami\n    kind: ami\n    sites:\n"
            + "".join(site(n) for n in range(1, eff_from))
            + "  - id: eff\n    kind: efficiency\n    sites:\n"
            + "".join(site(n) for n in range(eff_from, METERS + 1)))


def report(db, tz, fmt, rollup, frm="2026-06-21", to="2026-06-21"):
    env = dict(os.environ, ENMON_REPORT_ROLLUP="1" if rollup else "0")
    r = subprocess.run([daemon.bin_path("enmon"), "--db", db, "--tz", tz, "report", "--from", frm,
                        "--to", to, "--by", "program", "--format", fmt],
                       capture_output=True, text=True, timeout=60, env=env, check=True)
    return r.stdout


def both_paths_equal(db):
    """Every zone and format: the rollup path's output equals the devices' rows' output.
    +09:00 is the zone of the daily rollups (program_daily); the others read 15-minute rows
    (-03:00's 2026-06-21 starts at 12:00 KST, when the data starts)."""
    outs = {}
    for tz in ("+09:00", "+08:00", "+09:30", "+12:00", "-03:00"):
        for fmt in ("csv", "json", "table"):
            a, b = report(db, tz, fmt, True), report(db, tz, fmt, False)
            assert a == b, (tz, fmt, a, b)
            outs[tz, fmt] = a
    return outs


def rollups_are_sums(db):
    """program_intervals and program_daily are the devices' rows summed per current program."""
    con = sqlite3.connect(db)
    try:
        for roll, col, table in (("program_intervals", "start_s", "intervals"),
                                 ("program_daily", "day_s", "daily")):
            want = con.execute(
                "SELECT d.program_id, i.%s, sum(i.wh_import), sum(i.wh_export) FROM %s i "
                "JOIN devices d ON d.id = i.device_id GROUP BY 1, 2 "
                "HAVING sum(i.wh_import) != 0 OR sum(i.wh_export) != 0 ORDER BY 1, 2"
                % (col, table)).fetchall()
            got = con.execute("SELECT program_id, %s, wh_import, wh_export FROM %s "
                              "ORDER BY 1, 2" % (col, roll)).fetchall()
            assert [r[:2] for r in got] == [w[:2] for w in want], (roll, got, want)
            for g, w in zip(got, want):
                assert abs(g[2] - w[2]) < 1e-6 and abs(g[3] - w[3]) < 1e-6, (roll, g, w)
        return con.execute("SELECT count(*) FROM program_intervals").fetchone()[0]
    finally:
        con.close()


def spread_rows(db):
    """Intervals with energy but no reading (samples 0): a delta spread over a gap."""
    con = sqlite3.connect(db)
    try:
        return con.execute("SELECT count(*) FROM intervals WHERE samples = 0 "
                           "AND wh_import > 0").fetchone()[0]
    finally:
        con.close()


def test_rollup_report_equals_interval_report(tmp_path, sim_factory):
    tl = harness.Timeline(NOON, speed=300)
    port = harness.free_port()
    sim_factory("devices:\n  - {port: %d, unit: 1, count: %d, kind: meter, phases: 1}\n"
                % (port, METERS), args=tl.args(), seed=7)
    mqtt = harness.free_port()  # no broker: the outbox just waits
    d = daemon.Enmond(tmp_path, mqtt, programs_yaml(port, 6), interval="1s", args=tl.args())
    d.start()
    # a reading every 300 simulated seconds per meter; 20 s real: 100 simulated minutes
    time.sleep(20)
    assert d.stop() == 0, d.log_text()
    time.sleep(6)  # 30 simulated minutes without enmond: the next delta spreads over them
    # restarted with meter-5 moved from ami to eff: its history moves with it
    d = daemon.Enmond(tmp_path, mqtt, programs_yaml(port, 5), interval="1s", args=tl.args())
    d.start()
    time.sleep(15)
    assert d.stop() == 0, d.log_text()
    db = d.db

    assert spread_rows(db) >= METERS, "no gap was spread"  # one or more per meter
    # (20 + 6 + 15) s x 300 = 205 simulated minutes, 13 or 14 intervals less enmond's start-ups
    assert rollups_are_sums(db) >= 2 * 10
    outs = both_paths_equal(db)
    assert outs["+09:00", "csv"].count("\n") == 3  # header, ami, eff
    assert ",0.000," not in outs["+09:00", "csv"]  # both programs have energy

    # the rollups are really what the default path reads: made wrong in a copy, they show
    bad = str(tmp_path / "bad.db")
    shutil.copy(db, bad)
    con = sqlite3.connect(bad)
    with con:
        con.execute("UPDATE program_intervals SET wh_import = wh_import + 1000")
        con.execute("UPDATE program_daily SET wh_import = wh_import + 1000")
    con.close()
    for tz in ("+09:00", "+08:00"):
        assert report(bad, tz, "csv", True) != report(bad, tz, "csv", False)
        assert report(bad, tz, "csv", False) == outs[tz, "csv"]
    # ... unless a device's program differs from the one its rows were summed into (enmond
    # rebuilds them at its next start), or retention took the period from them
    con = sqlite3.connect(bad)
    with con:
        con.execute("UPDATE program_rollup_map SET program_id = NULL "
                    "WHERE device_id = (SELECT id FROM devices WHERE key = 'meter-2')")
    con.close()
    for tz in ("+09:00", "+08:00"):
        assert report(bad, tz, "csv", True) == outs[tz, "csv"]
    con = sqlite3.connect(bad)
    with con:
        con.execute("UPDATE program_rollup_map SET program_id = (SELECT program_id FROM devices "
                    "WHERE key = 'meter-2') WHERE device_id = (SELECT id FROM devices "
                    "WHERE key = 'meter-2')")
        con.execute("INSERT INTO meta(key, value) VALUES('rollup_daily_from_s', ?), "
                    "('rollup_intervals_from_s', ?)", (JUNE_21_KST_S + 2 * 3600,) * 2)
    con.close()
    for tz in ("+09:00", "+08:00"):  # the 21st from 00:00 KST and 01:00 KST: before the cut
        assert report(bad, tz, "csv", True) == outs[tz, "csv"]
    # a period from after the cut (the 21st at -03:00: from 12:00 KST) reads them again
    assert report(bad, "-03:00", "csv", True) != outs["-03:00", "csv"]
    assert report(bad, "-03:00", "csv", False) == outs["-03:00", "csv"]


@pytest.mark.parametrize("moved", [False, True])
def test_start_rebuilds_rollups_of_a_moved_device(tmp_path, moved):
    """enmond's start: a device whose program changed gets its rows summed into the new one;
    a new device is only added to the map (nothing to move)."""
    mqtt = harness.free_port()
    port = harness.free_port()  # nothing listens: every poll fails, the history is made by SQL
    d = daemon.Enmond(tmp_path, mqtt, programs_yaml(port, 6), interval="1s",
                      args=harness.Timeline(NOON).args())
    d.start()
    assert daemon.wait_for(lambda: os.path.exists(d.db) and rollup_ready(d.db), 20), d.log_text()
    assert d.stop() == 0, d.log_text()
    con = sqlite3.connect(d.db)
    with con:
        # 4 intervals of 100 Wh for every meter, in the writer's tables and their rollups
        con.execute("INSERT INTO intervals(device_id, start_s, wh_import, wh_export, samples) "
                    "SELECT id, ?1 + n * 900, 100, 0, 1 FROM devices, (SELECT 0 AS n UNION ALL "
                    "SELECT 1 UNION ALL SELECT 2 UNION ALL SELECT 3)", (JUNE_21_KST_S + 3 * 3600,))
        con.execute("INSERT INTO daily(device_id, day_s, wh_import, wh_export, samples) "
                    "SELECT id, ?1, 400, 0, 4 FROM devices", (JUNE_21_KST_S,))
        con.execute("INSERT INTO program_intervals SELECT d.program_id, i.start_s, "
                    "sum(i.wh_import), sum(i.wh_export) FROM intervals i JOIN devices d "
                    "ON d.id = i.device_id GROUP BY 1, 2")
        con.execute("INSERT INTO program_daily SELECT d.program_id, i.day_s, sum(i.wh_import), "
                    "sum(i.wh_export) FROM daily i JOIN devices d ON d.id = i.device_id "
                    "GROUP BY 1, 2")
    con.close()
    # ami 5 meters x 400 Wh = 2.000 kWh, eff 3 x 400 = 1.200; after moving meter-5: 1.600, 1.600
    yaml = programs_yaml(port, 5 if moved else 6)
    yaml += ("  - id: new\n    kind: ami\n    sites:\n      - id: house-9\n        devices:\n"
             "          - {id: meter-9, kind: meter, link: 'tcp://127.0.0.1:%d', unit: 9}\n"
             % port)
    d = daemon.Enmond(tmp_path, mqtt, yaml, interval="1s", args=harness.Timeline(NOON).args())
    d.start()
    assert daemon.wait_for(lambda: map_has(d.db, "meter-9"), 20), d.log_text()
    assert d.stop() == 0, d.log_text()
    # the rollups are the sums per current program, and the map says so (report.c reads them)
    rollups_are_sums(d.db)
    con = sqlite3.connect(d.db)
    try:
        assert con.execute("SELECT count(*) FROM devices d JOIN program_rollup_map m "
                           "ON m.device_id = d.id AND m.program_id IS d.program_id"
                           ).fetchone()[0] == METERS + 1
    finally:
        con.close()
    want = ("PROGRAM,KIND,DEVICES,kWh_in,kWh_out\n"
            + ("ami,ami,4,1.600,0.000\neff,efficiency,4,1.600,0.000\n" if moved
               else "ami,ami,5,2.000,0.000\neff,efficiency,3,1.200,0.000\n")
            + "new,ami,0,0.000,0.000\n")
    for tz in ("+09:00", "+08:00"):
        assert report(d.db, tz, "csv", True) == want
        assert report(d.db, tz, "csv", False) == want


def rollup_ready(db):
    try:
        con = sqlite3.connect(db, timeout=5)
        try:
            return con.execute("SELECT count(*) FROM program_rollup_map").fetchone()[0] == METERS
        finally:
            con.close()
    except sqlite3.OperationalError:
        return False


def map_has(db, key):
    con = sqlite3.connect(db, timeout=5)
    try:
        return con.execute("SELECT count(*) FROM program_rollup_map m JOIN devices d "
                           "ON d.id = m.device_id WHERE d.key = ?", (key,)).fetchone()[0] == 1
    except sqlite3.OperationalError:
        return False
    finally:
        con.close()


def test_retention_prunes_rollups_with_their_rows(tmp_path):
    """storage.intervals_days / daily_days: a retention round cuts the program rollups at the
    same instants as intervals and daily and records the cuts; reports stay equal both ways."""
    mqtt, port = harness.free_port(), harness.free_port()  # no meter answers: SQL history
    storage = "storage:\n  intervals_days: 1\n  daily_days: 2\n"
    d = daemon.Enmond(tmp_path, mqtt, programs_yaml(port, 6), interval="1s", extra=storage,
                      args=harness.Timeline(NOON).args())
    d.start()
    assert daemon.wait_for(lambda: os.path.exists(d.db) and rollup_ready(d.db), 20), d.log_text()
    assert d.stop() == 0, d.log_text()
    june18 = JUNE_21_KST_S - 3 * 86400
    con = sqlite3.connect(d.db)
    with con:
        # 100 Wh at 03:00 KST on 18 and 21 June per meter, with the daily rows and rollups
        for day in (june18, JUNE_21_KST_S):
            con.execute("INSERT INTO intervals(device_id, start_s, wh_import, wh_export, "
                        "samples) SELECT id, ?, 100, 0, 1 FROM devices", (day + 3 * 3600,))
            con.execute("INSERT INTO daily(device_id, day_s, wh_import, wh_export, samples) "
                        "SELECT id, ?, 100, 0, 1 FROM devices", (day,))
        con.execute("INSERT INTO program_intervals SELECT d.program_id, i.start_s, "
                    "sum(i.wh_import), sum(i.wh_export) FROM intervals i JOIN devices d "
                    "ON d.id = i.device_id GROUP BY 1, 2")
        con.execute("INSERT INTO program_daily SELECT d.program_id, i.day_s, sum(i.wh_import), "
                    "sum(i.wh_export) FROM daily i JOIN devices d ON d.id = i.device_id "
                    "GROUP BY 1, 2")
    con.close()
    # 60x: enmond's clock moves a minute a second, and a round starts once it moved one
    d = daemon.Enmond(tmp_path, mqtt, programs_yaml(port, 6), interval="1s", extra=storage,
                      args=harness.Timeline(NOON, speed=60).args())
    d.start()

    def pruned():
        con = sqlite3.connect(d.db, timeout=5)
        try:
            return con.execute("SELECT (SELECT count(*) FROM intervals WHERE start_s < ?1) + "
                               "(SELECT count(*) FROM daily WHERE day_s < ?1) = 0 AND "
                               "(SELECT count(*) FROM meta WHERE key LIKE 'rollup_%_from_s') = 2",
                               (JUNE_21_KST_S,)).fetchone()[0] == 1
        finally:
            con.close()
    assert daemon.wait_for(pruned, 30), d.log_text()
    assert d.stop() == 0, d.log_text()
    con = sqlite3.connect(d.db)
    try:
        cuts = dict(con.execute("SELECT key, value FROM meta WHERE key LIKE 'rollup_%'"))
        # noon KST 21 June less 1 and 2 days, plus the few simulated minutes to the round
        assert 0 <= cuts["rollup_intervals_from_s"] - (JUNE_21_KST_S - 12 * 3600) < 600, cuts
        assert 0 <= cuts["rollup_daily_from_s"] - (JUNE_21_KST_S - 36 * 3600) < 600, cuts
        assert con.execute("SELECT min(start_s) FROM program_intervals").fetchone()[0] == (
            JUNE_21_KST_S + 3 * 3600)
        assert con.execute("SELECT min(day_s) FROM program_daily").fetchone()[0] == JUNE_21_KST_S
    finally:
        con.close()
    rollups_are_sums(d.db)
    for tz in ("+09:00", "+08:00"):
        for frm in ("2026-06-18", "2026-06-21"):
            out = report(d.db, tz, "csv", True, frm=frm)
            assert out == report(d.db, tz, "csv", False, frm=frm)
            # 5 x 100 Wh in ami, 3 x 100 in eff: 21 June's only
            assert "ami,ami,5,0.500,0.000\neff,efficiency,3,0.300,0.000\n" in out, out
