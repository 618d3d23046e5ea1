"""test_report_determinism.py -- a report does not depend on when enmond polled nor on a
restart (issue 16 item 7, the short form of bench/year_run): two runs of the same simulated
city, one with an enmond restart midway, give byte-identical `enmon report` output.

Why it holds by construction (docs/STORAGE.md, "A year run"): enmon-sim runs with
`--tick 24h --tick-offset 3h`, so its register images refresh once a simulated day at
12:00 KST and show the counters integrated up to that instant, whenever they are read.
The report's edges are KST midnights, 12 h from a refresh. enmond polls every 4.8
simulated hours (200 ms real at a day a second), so the last reading before an edge and
the first after it lie in the same tick and carry the same counters: no energy crosses an
edge, whatever instants (real-time jitter) the polls fell on. Inside the span the energy of
consecutive readings telescopes, so a gap (the restart) moves energy between days but not
out of the span. The report is then the counter difference between two refreshes, read
identically by both runs. The test checks that premise too: each device's readings either
side of each edge carry equal counters (else a poll missed its tick, reported by name)."""
import datetime
import sqlite3
import subprocess
import time

import archivelib
import daemon
import harness

START = datetime.datetime(2025, 12, 31, 0, 0, tzinfo=harness.KST)
SPEED = 86400  # a simulated day per real second
EDGES = [START + datetime.timedelta(days=d) for d in (1, 4)]  # 2026-01-01 and 01-04 00:00 KST
END_DAY = 4.5  # stop both runs at 2026-01-04 12:00 KST
RESTART_DAY = 2.5  # run A stops enmond at 2026-01-02 12:00 KST and starts it again
SIM = "devices:\n  - {port: %d, unit: 1, count: 3, kind: meter, phases: 1, kwh_month: 320}\n" \
      "  - {port: %d, unit: 1, count: 3, kind: meter, phases: 1, kwh_month: 320, " \
      "pv_capacity: 3000}\n"
PROGRAMS = ("programs:\n  - id: ami-t\n    kind: ami\n    sites:\n"
            "      - id: h{n}\n        count: 3\n        devices:\n"
            "          - {id: 'm{n}', kind: meter, link: 'tcp://127.0.0.1:%d', unit: 1}\n"
            "      - id: pv{n}\n        count: 3\n        devices:\n"
            "          - {id: 'pv{n}', kind: meter, link: 'tcp://127.0.0.1:%d', unit: 1}\n")


def run(tmp_path, name, restart, sims):
    """One run: its own broker, simulator and enmond; returns the database path."""
    root = tmp_path / name
    root.mkdir()
    broker = harness.Mosquitto(str(root)).start()
    clock = harness.Timeline(START, SPEED)
    p0, p1 = harness.free_port(), harness.free_port()
    sim = harness.Sim(str(root), SIM % (p0, p1), seed=7,
                      args=clock.args() + ["--tick", "24h", "--tick-offset", "3h"])
    sims.append(sim)
    sim.start()
    t0 = time.monotonic()
    d = daemon.Enmond(root, broker.port, PROGRAMS % (p0, p1), interval="200ms",
                      args=clock.args())
    try:
        d.start()
        if restart:
            time.sleep(max(0.0, t0 + RESTART_DAY - time.monotonic()))
            assert d.stop() == 0, d.log_text()
            d.args = clock.args()  # the clock goes on where it was
            d.start()
        time.sleep(max(0.0, t0 + END_DAY - time.monotonic()))
        assert d.stop() == 0, d.log_text()
    finally:
        d.stop()
        broker.stop()
    return d.db


def edge_counters(db_path):
    """{(device, edge): (counters of the last reading before the edge, of the first at or
    after it)}: (energy_import_wh, energy_export_wh) pairs."""
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    try:
        out = {}
        for (key,) in db.execute("SELECT key FROM devices ORDER BY key"):
            rows = [(ts, (v["energy_import_wh"], v["energy_export_wh"]))
                    for ts, _, v in archivelib.readings(db, key)
                    if v["energy_import_wh"] is not None]
            for edge in EDGES:
                e_ms = int(edge.timestamp()) * 1000
                before = [c for ts, c in rows if ts < e_ms]
                after = [c for ts, c in rows if ts >= e_ms]
                out[(key, edge.date().isoformat())] = (before[-1] if before else None,
                                                      after[0] if after else None)
        return out
    finally:
        db.close()


def reports(db_path):
    return {by: daemon.enmon("--db", db_path, "report", "--from", "2026-01-01", "--to",
                             "2026-01-03", "--by", by, "--format", "csv").stdout
            for by in ("program", "device")}


def test_restart_does_not_change_the_report(tmp_path):
    sims = []
    try:
        a = run(tmp_path, "a", True, sims)
        b = run(tmp_path, "b", False, sims)
    finally:
        for s in sims:
            s.stop(check=False)
    # the premise: no poll missed its tick around an edge (equal counters either side)
    for name, db in (("A", a), ("B", b)):
        edges = edge_counters(db)
        assert len(edges) == 12, edges
        missed = {k: v for k, v in edges.items() if v[0] is None or v[0] != v[1]}
        assert not missed, "run %s: readings either side of an edge differ (a poll missed " \
                           "its tick): %s" % (name, missed)
    ea, eb = edge_counters(a), edge_counters(b)
    assert ea == eb, "the runs read different register images at the edges"
    ra, rb = reports(a), reports(b)
    rows = ra["program"].strip().splitlines()
    assert rows[0].lower().startswith("program,") and rows[1].startswith("ami-t,"), ra
    kwh_in = float(rows[1].split(",")[3])
    # 6 meters x 3 days at 320 kWh a month (about 10.5 kWh a day, 189 kWh), less what the
    # rooftop PV of three of them covers in January: well above zero, below 6 x 3 x 40
    assert 50 < kwh_in < 720, ra
    assert ra == rb, "reports differ:\nA:\n%s\nB:\n%s" % (ra, rb)


def test_tick_usage_errors(tmp_path):
    """A malformed --tick or --tick-offset is a usage error (64), named, before the
    configuration is read."""
    for opt, value in (("--tick", "1.5h"), ("--tick", "-15m"), ("--tick-offset", "367d"),
                       ("--tick", "15min")):
        res = subprocess.run([harness.Sim.binary(), "--config", str(tmp_path / "none.yaml"),
                              opt, value], capture_output=True, text=True, timeout=10)
        assert res.returncode == 64, (opt, value, res.returncode, res.stderr)
        assert "enmon-sim: %s: expected a duration 0..366d" % opt in res.stderr, res.stderr
