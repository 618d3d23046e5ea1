"""test_historian_savings.py -- `enmon savings` and `enmon dr list --db postgresql://...` print
the same bytes as on the collector's SQLite file (issue 20, item 3; docs/SCALING.md "Reports
on the historian"). A private PostgreSQL 15 cluster (test_historian.Postgres) and enmond with
the historian; two LED programs of simulated households whose history (`enmon-sim history`,
14 months) and KMA weather (`enmon-sim weather`) are imported into the collector's file, and a
demand-response event added with `enmon dr add`: the forwarder carries the intervals, the
weather, the event and the devices' retrofit dates to PostgreSQL. Program led names a weather
station and a start date in savings.yaml (weather method); program led-nows has neither (the
devices' retrofit dates from the historian, day-type-month). Every --by, --format and
--group month, --method weather, --explain and dr list are compared byte for byte and the
figures checked to be real; then, without the weather on both sides, the same reason."""
import json
import os
import sqlite3
import subprocess


import daemon
import harness
import truthcity
from test_historian import PASSWORD, needs_postgres, postgres  # noqa: F401 (fixture)

BASE_FROM = "2015-06-01"    # history from here: the 365 baseline days before RETROFIT
RETROFIT = "2016-06-01"
REPORT_TO = "2016-07-31"    # reporting period RETROFIT .. REPORT_TO
SEED = 5
STATION = 133
# (device, program, kWh/month, retrofitted): w3 changed nothing
HOMES = (("w1", "led", 300, True), ("w2", "led", 420, True), ("w3", "led", 350, False),
         ("n1", "led-nows", 330, True), ("n2", "led-nows", 280, True))
SAVINGS_YAML = ("co2:\n  - {from: 2010-01-01, factor: 0.4173}\n"
                "programs:\n  - {id: led, start: %s, weather_station: %d}\n" % (RETROFIT, STATION))
EVENT = ("w1", "2016-07-13T14:00", "2016-07-13T16:00")  # a Wednesday, 14:00..16:00 KST

PERIOD = ["--from", RETROFIT, "--to", REPORT_TO]
COMMANDS = [(["savings"] + PERIOD + ["--by", by], ["table", "csv", "json"])
            for by in ("program", "site", "device")]
COMMANDS += [(["savings"] + PERIOD + ["--by", "program", "--group", "month"],
              ["table", "csv", "json"]),
             (["savings"] + PERIOD + ["--by", "device", "--method", "weather"], ["json"]),
             (["savings"] + PERIOD + ["--explain", "w1"], ["table"]),
             (["savings"] + PERIOD + ["--explain", "n1"], ["table"]),
             (["dr", "list"] + PERIOD, ["table", "csv"])]


def enmon(db, savings, args, check=False):
    env = dict(os.environ, PGPASSWORD=PASSWORD, TZ="UTC")
    cmd = [daemon.bin_path("enmon"), "--db", db, "--tz", "+09:00"] + args
    if args[0] in ("savings", "dr") and args[1] != "add":
        cmd += ["--savings", savings]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120, env=env)
    assert not check or res.returncode == 0, (cmd, res.stderr)
    return res


def outputs(sqlite_db, pg_url, savings):
    """{(command..., format): (sqlite stdout, pg stdout)}; a failed run is a test failure."""
    out = {}
    for args, fmts in COMMANDS:
        for fmt in fmts:
            cmd = args + (["--format", fmt] if "--explain" not in args else [])
            pair = []
            for db in (sqlite_db, pg_url):
                res = enmon(db, savings, cmd)
                assert res.returncode == 0, (db, cmd, res.stderr)
                pair.append(res.stdout)
            out[tuple(cmd)] = tuple(pair)
    return out


def pg_count(pg, table):
    try:
        return int(pg.query("SELECT count(*) FROM %s" % table)[0][0])
    except AssertionError:
        return -1  # not created yet


@needs_postgres
def test_savings_on_postgres_equal_sqlite(tmp_path, mosquitto, postgres):
    port = harness.free_port()  # nothing listens: enmond never reads a value
    sim_yaml, programs = truthcity.led_homes(HOMES, port, RETROFIT, SEED)
    (tmp_path / "sim.yaml").write_text(sim_yaml)
    savings = str(tmp_path / "savings.yaml")
    (tmp_path / "savings.yaml").write_text(SAVINGS_YAML)
    pwfile = tmp_path / "pg.pass"
    pwfile.write_text(PASSWORD + "\n")
    extra = ("historian:\n  url: postgresql://enmon@127.0.0.1:%d/postgres\n"
             "  sslmode: disable\n  password_file: %s\n  interval: 1s\n"
             % (postgres.port, pwfile))
    d = daemon.Enmond(tmp_path, mosquitto.port, programs, interval="1h", extra=extra)
    pg_url = "postgresql://enmon@127.0.0.1:%d/postgres?sslmode=disable" % postgres.port

    def devices_written():
        try:
            with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
                return db.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == len(HOMES)
        except sqlite3.Error:
            return False
    try:
        d.start()
        assert daemon.wait_for(devices_written, 30), d.log_text()
        hist, wx = str(tmp_path / "history.csv"), str(tmp_path / "wx.csv")
        sim = daemon.bin_path("enmon-sim")
        subprocess.run([sim, "history", "--config", str(tmp_path / "sim.yaml"), "--enmond",
                        d.config, "--from", BASE_FROM, "--to", REPORT_TO, "--seed", str(SEED),
                        "--out", hist], check=True, capture_output=True, timeout=600)
        subprocess.run([sim, "weather", "--from", BASE_FROM, "--to", REPORT_TO, "--seed",
                        str(SEED), "--station", str(STATION), "--out", wx], check=True,
                       capture_output=True, timeout=300)
        enmon(d.db, savings, ["import", "intervals", hist], check=True)
        enmon(d.db, savings, ["import", "weather", wx], check=True)
        enmon(d.db, savings, ["dr", "add", "--site", EVENT[0], "--start", EVENT[1],
                              "--end", EVENT[2]], check=True)
        with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
            want = {t: db.execute("SELECT count(*) FROM %s" % t).fetchone()[0]
                    for t in ("intervals", "weather", "dr_events")}

        # the forwarder carries the imported rows (devices never polled: their intervals go
        # whole with the devices, at least every 30 s; weather and events when they change)
        def forwarded():
            return (pg_count(postgres, "enmon_intervals"), pg_count(postgres, "enmon_weather"),
                    pg_count(postgres, "enmon_dr_events")) == \
                (want["intervals"], want["weather"], want["dr_events"])
        assert daemon.wait_for(forwarded, 120, 1), (want, d.log_text()[-3000:])
        dates = postgres.query("SELECT device, retrofit AT TIME ZONE 'Asia/Seoul' FROM"
                               " enmon_devices ORDER BY device")
        assert dates == [["n1", "2016-06-01 00:00:00"], ["n2", "2016-06-01 00:00:00"],
                         ["w1", "2016-06-01 00:00:00"], ["w2", "2016-06-01 00:00:00"],
                         ["w3", ""]], dates
        out = outputs(d.db, pg_url, savings)
    finally:
        rc = d.stop()
    assert rc == 0, d.log_text()[-3000:]
    diff = {k: v for k, v in out.items() if v[0] != v[1]}
    assert not diff, diff

    # the figures are real: every device has two months of kWh (a 280..420 kWh/month home:
    # more than 300 kWh over 61 days) and a baseline, led by the weather model (station 133
    # forwarded), led-nows by day-type-month from the devices' forwarded retrofit dates
    # (its two retrofitted homes use less than their baseline)
    rows = {r["key"]: r for r in json.loads(
        out[tuple(COMMANDS[2][0] + ["--format", "json"])][0])["rows"]}
    assert set(rows) == {"w1", "w2", "w3", "n1", "n2"}, rows
    for key, r in rows.items():
        assert r["data"] == "ok" and r["kwh_actual"] > 300 and r["kwh_ref"] > 300, r
        assert abs(r["kwh_ref"] - r["kwh_actual"] - r["kwh_saved"]) < 1e-6, r
        assert r["method"] == ("weather" if key[0] == "w" else "day-type-month"), r
        assert r["baseline_from"] == "2015-06-02" and r["baseline_to"] == "2016-05-31", r
    assert rows["w1"]["model"] and rows["w1"]["r2"] > 0.5, rows["w1"]
    assert rows["n1"]["kwh_saved"] > 1.0 and rows["n2"]["kwh_saved"] > 1.0, rows
    weather = {r["key"]: r for r in json.loads(out[tuple(
        COMMANDS[4][0] + ["--format", "json"])][0])["rows"]}
    assert weather["w1"]["kwh_saved"] == rows["w1"]["kwh_saved"], weather["w1"]
    assert weather["n1"]["kwh_saved"] is None, weather["n1"]  # led-nows names no station
    assert "weather" in out[tuple(COMMANDS[5][0])][0]  # w1: the weather model explained
    assert "day-type-month" in out[tuple(COMMANDS[6][0])][0]  # n1: the device's retrofit date
    month = out[tuple(COMMANDS[3][0] + ["--format", "csv"])][0].splitlines()
    assert any(line.startswith("2016-06,led,led,") for line in month), month
    assert any(line.startswith("2016-07,led,led,") for line in month), month
    dr = out[tuple(COMMANDS[7][0] + ["--format", "csv"])][0].splitlines()
    assert len(dr) == 2 and dr[1].startswith("w1,led,2016-07-13 14:00,2,"), dr

    # a historian without the weather: the weather method gives the same reason on both
    bare = str(tmp_path / "bare.db")
    src, dst = sqlite3.connect(d.db), sqlite3.connect(bare)
    src.backup(dst)  # the file with its WAL
    src.close()
    with dst:
        dst.execute("DELETE FROM weather")
    dst.close()
    postgres.query("DELETE FROM enmon_weather")
    cmd = ["savings"] + PERIOD + ["--by", "device", "--method", "weather", "--format", "json"]
    a, b = enmon(bare, savings, cmd, check=True), enmon(pg_url, savings, cmd, check=True)
    assert a.stdout == b.stdout, (a.stdout, b.stdout)
    notes = {n["device"]: n["reason"] for n in json.loads(a.stdout)["notes"]}
    assert notes["w1"] == ("weather model (station 133): 0 of 365 baseline days have kWh and"
                           " temperature (0.0 %), 90 % needed (CalTRACK 2.2.1.2)"), notes
