"""test_historian_reports.py -- `enmon report|devices|alerts --db postgresql://...` print the same
bytes as on the collector's SQLite file (issue 20, item 3; docs/SCALING.md). A private
PostgreSQL 15 cluster (test_historian.Postgres), enmon-sim and enmond with the historian on a
simulated clock at 1800x over about 20 simulated hours (a KST midnight and a UTC month end on
the way: daily rows and two monthly partitions), a meter on a dead link (offline, a comm_loss
alert) and a program without devices; then the sim stops, the forwarder catches up (backlog
0), and every command in every --format runs against the file and against PostgreSQL.
report runs by program, site and device in the daily rows' zone (KST: PostgreSQL sums
enmon_daily) and in UTC (not whole KST days: enmon_intervals). EXPLAIN shows the partition
pruning of those sums. savings by device gives the same output on both
(test_historian_savings.py compares it in full)."""
import os
import subprocess
import time

import pytest

import daemon
import harness
from test_clock_tz import libfaketime
from test_historian import PASSWORD, needs_postgres, metrics, postgres  # noqa: F401 (fixture)

SPEED = 1800  # 30 simulated minutes per second
# 18:00 KST on 30 June (09:00 UTC): the KST day ends after 6 h (12 s), the UTC month after 15 h
START = "2026-06-30T18:00:00+09:00"
N = 6
RUN_S = 40  # about 20 simulated hours
# the CLI's now (devices' AGE_S): the wall clock frozen by libfaketime at 12:00 KST on 2 July
FAKETIME = "2026-07-02 03:00:00"

# (command line, formats): every --format each command has
COMMANDS = [(["report", "--from", "2026-06-30", "--to", "2026-07-01", "--by", by] + tz, fmts)
            for by in ("program", "site", "device")
            for tz in ([], ["--tz", "+00:00"])
            for fmts in (["table", "csv", "json"],)]
# whole KST months: June and July from enmon_monthly; 15..30 June from enmon_daily, July monthly
COMMANDS += [(["report", "--from", "2026-07-01", "--to", "2026-07-01", "--by", "device"],
              ["table", "csv", "json"]),
             (["report", "--from", "2026-06-01", "--to", "2026-07-31", "--by", "device"],
              ["table", "csv", "json"]),
             (["report", "--from", "2026-06-15", "--to", "2026-07-31", "--by", "site"],
              ["table", "csv", "json"]),
             (["devices"], ["table", "csv", "json"]),
             (["alerts"], ["table", "json"]),
             (["alerts", "--all"], ["table", "json"]),
             (["alerts", "--all", "--device", "dead-1"], ["table", "json"])]


def enmon(db, args):
    env = dict(os.environ, PGPASSWORD=PASSWORD, TZ="UTC", LD_PRELOAD=libfaketime(),
               FAKETIME=FAKETIME, FAKETIME_NO_CACHE="1",
               ASAN_OPTIONS=":".join(filter(None, [os.environ.get("ASAN_OPTIONS", ""),
                                                  "verify_asan_link_order=0"])))
    return subprocess.run([daemon.bin_path("enmon"), "--db", db] + args,
                          capture_output=True, text=True, timeout=60, env=env)


def outputs(sqlite_db, pg_url):
    """{(command..., format): (sqlite stdout, pg stdout)}; a failed run is a test failure."""
    out = {}
    for args, fmts in COMMANDS:
        for fmt in fmts:
            cmd = args + ["--format", fmt]
            pair = []
            for db in (sqlite_db, pg_url):
                res = enmon(db, cmd)
                assert res.returncode == 0, (db, cmd, res.stderr)
                pair.append(res.stdout)
            out[tuple(cmd)] = tuple(pair)
    return out


@needs_postgres
def test_reports_on_postgres_equal_sqlite(tmp_path, mosquitto, sim_factory, postgres):
    port, http, dead = harness.free_port(), harness.free_port(), harness.free_port()
    sim = sim_factory("devices:\n  - {port: %d, unit: 1, count: %d, kind: meter, phases: 1,"
                      " kwh_month: 400}\n  - {port: %d, unit: 9, kind: inverter, capacity: 3000}\n"
                      % (port, N, port), args=["--time", START, "--speed", str(SPEED)], seed=11)
    pwfile = tmp_path / "pg.pass"
    pwfile.write_text(PASSWORD + "\n")
    extra = ("http:\n  port: %d\nhistorian:\n  url: postgresql://enmon@127.0.0.1:%d/postgres\n"
             "  sslmode: disable\n  password_file: %s\n  interval: 1s\n"
             "alerts:\n  comm_loss: {polls: 2, after: 60s}\n" % (http, postgres.port, pwfile))
    programs = ("programs:\n  - id: ami\n    kind: ami\n    sites:\n"
                "      - id: home-{n}\n        count: %d\n        devices:\n"
                "          - {id: 'm-{n}', kind: meter, link: 'tcp://127.0.0.1:%d', unit: 1}\n"
                "      - id: hill\n        devices:\n"
                "          - {id: dead-1, kind: meter, link: 'tcp://127.0.0.1:%d', unit: 1}\n"
                "  - id: pv\n    kind: solar\n    sites:\n"
                "      - id: roof\n        devices:\n"
                "          - {id: inv-1, kind: inverter, link: 'tcp://127.0.0.1:%d', unit: 9,"
                " capacity: 3000}\n"
                "  - id: idle\n    kind: efficiency\n    sites: []\n" % (N, port, dead, port))
    d = daemon.Enmond(tmp_path, mosquitto.port, programs, interval="1s", extra=extra,
                      args=["--time", START, "--speed", str(SPEED)])
    pg_url = "postgresql://enmon@127.0.0.1:%d/postgres?sslmode=disable" % postgres.port
    try:
        d.start()
        time.sleep(RUN_S)
        sim.stop()  # no more readings: the file settles (devices offline, alerts raised)
        # the forwarder catches up: backlog 0, and every command prints the same on both
        state = {}

        def same():
            if metrics(http)["enmon_historian_backlog_readings"] != 0:
                return False
            state["out"] = outputs(d.db, pg_url)
            return all(a == b for a, b in state["out"].values())

        if not daemon.wait_for(same, 90, 2):
            diff = {k: v for k, v in state.get("out", {}).items() if v[0] != v[1]}
            pytest.fail("outputs differ: %s\n%s" % (diff, d.log_text()[-3000:]))
        out = state["out"]
        # the data is what the test meant: both programs with energy, both report roads taken
        text = out[("report", "--from", "2026-06-30", "--to", "2026-07-01", "--by", "device",
                    "--format", "table")][0]
        assert "Asia/Seoul" in text and "inv-1" in text and "dead-1" in text, text
        utc = out[("report", "--from", "2026-06-30", "--to", "2026-07-01", "--by", "program",
                   "--tz", "+00:00", "--format", "csv")][0]
        rows = {line.split(",")[0]: line.split(",") for line in utc.splitlines()[1:]}
        assert set(rows) == {"ami", "idle", "pv"}, utc
        assert float(rows["ami"][3]) > 0 and float(rows["pv"][4]) > 0, utc
        assert rows["idle"][2:] == ["0", "0.000", "0.000"], utc
        devs = out[("devices", "--format", "csv")][0]
        assert "dead-1,ami,hill,meter,offline" in devs, devs
        alerts = out[("alerts", "--all", "--format", "table")][0]
        assert "comm_loss" in alerts and "dead-1" in alerts, alerts
    finally:
        rc = d.stop()
    assert rc == 0

    # the stored sums: KST days from enmon_daily, other periods from enmon_intervals, each
    # query pruned to the partitions of its period (constants on the partitioning column)
    plan = "\n".join(r[0] for r in postgres.query(
        "EXPLAIN SELECT device, sum(wh_import), sum(wh_export) FROM enmon_intervals WHERE start"
        " >= '2026-07-01 00:00:00+00'::timestamptz AND start < '2026-07-02 00:00:00+00'"
        "::timestamptz GROUP BY device"))
    assert "enmon_intervals_2026_07" in plan and "enmon_intervals_2026_06" not in plan, plan
    plan = "\n".join(r[0] for r in postgres.query(
        "EXPLAIN SELECT device, sum(wh_import), sum(wh_export) FROM enmon_daily WHERE start"
        " >= '2026-06-29 15:00:00+00'::timestamptz AND start < '2026-07-01 15:00:00+00'"
        "::timestamptz GROUP BY device"))
    assert "enmon_daily_2026_06" in plan and "enmon_daily_2026_07" not in plan, plan

    # the monthly rollups (KST months) hold the sums of the daily rows, each month once
    bad = postgres.query(
        "SELECT m.device, m.start, m.wh_import, d.i FROM enmon_monthly m JOIN (SELECT device,"
        " date_trunc('month', (start AT TIME ZONE 'UTC') + interval '9 hours') AS mon,"
        " sum(wh_import) AS i, sum(samples) AS n FROM enmon_daily GROUP BY 1, 2) d"
        " ON d.device = m.device AND (m.start AT TIME ZONE 'UTC') + interval '9 hours' = d.mon"
        " WHERE abs(m.wh_import - d.i) > 1e-9 * abs(d.i) OR m.samples <> d.n")
    assert bad == [], bad
    months = postgres.query("SELECT DISTINCT (start AT TIME ZONE 'UTC') + interval '9 hours'"
                            " FROM enmon_monthly ORDER BY 1")
    assert [m[0] for m in months] == ["2026-06-01 00:00:00", "2026-07-01 00:00:00"], months
    # savings runs on the historian too (the solar program's production; the full comparison
    # with baselines, weather and DR events: test_historian_savings.py)
    cmd = ["savings", "--from", "2026-06-30", "--to", "2026-07-01", "--by", "device"]
    res, ref = enmon(pg_url, cmd), enmon(d.db, cmd)
    assert res.returncode == 0 and ref.returncode == 0, res.stderr + ref.stderr
    assert res.stdout == ref.stdout and "inv-1" in res.stdout, (res.stdout, ref.stdout)
    # alerts ack is for the collector's file
    res = enmon(pg_url, ["alerts", "ack", "1", "--by", "ops"])
    assert res.returncode == 64 and "read-only" in res.stderr, res.stderr
