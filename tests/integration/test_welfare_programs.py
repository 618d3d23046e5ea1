"""test_welfare_programs.py -- the welfare programs of the demo city (config/enmond.yaml,
config/sim-demo.yaml, config/savings.yaml) reported per program by `enmon savings`: senior
centres' PV and LED, mini-PV homes and the rental complexes, each with its method, from a
simulated history (`enmon-sim history`) of two devices of each (the demo's own entries with
count 2, so the run stays small). The demo's pole sensors are a program of kind grid-safety,
which has no savings figures."""
import json
import os
import sqlite3

import yaml

import daemon
import harness

WELFARE = ("welfare-senior-pv", "welfare-senior-led", "welfare-rental-led", "welfare-mini-pv")


def demo():
    src = os.path.join(harness.source_dir(), "config")
    with open(os.path.join(src, "enmond.yaml"), encoding="utf-8") as fh:
        programs = yaml.safe_load(fh)["programs"]
    with open(os.path.join(src, "sim-demo.yaml"), encoding="utf-8") as fh:
        sim = yaml.safe_load(fh)
    return src, programs, sim


def test_welfare_programs_reported_per_program(tmp_path, mosquitto):
    src, programs, sim = demo()
    by_id = {p["id"]: p for p in programs}
    assert set(WELFARE) <= set(by_id)
    assert by_id["pole-sensors"]["kind"] == "grid-safety"
    # the report's figures (PROGRAMS.md): 10 senior centres, 130 mini-PV homes, 2 complexes
    assert by_id["welfare-senior-pv"]["sites"][0]["count"] == 10
    assert by_id["welfare-senior-led"]["sites"][0]["count"] == 10
    assert by_id["welfare-mini-pv"]["sites"][0]["count"] == 130
    assert by_id["welfare-rental-led"]["sites"][0]["count"] == 2
    port = harness.free_port()
    chosen = []
    for pid in WELFARE:
        p = by_id[pid]
        for s in p["sites"]:
            s["count"] = 2
            for d in s["devices"]:
                d["link"] = d["link"].replace("127.0.0.1:15027", "127.0.0.1:%d" % port)
        chosen.append(p)
    devices = [dict(d, port=port, count=2) for d in sim["devices"] if d["port"] == 15027]
    assert [d["unit"] for d in devices] == [1, 11, 21, 31]
    (tmp_path / "sim.yaml").write_text(yaml.safe_dump({"seed": 1, "devices": devices}))
    d = daemon.Enmond(tmp_path, mosquitto.port, yaml.safe_dump({"programs": chosen}),
                      interval="1h").start()

    def devices_written():
        try:
            with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
                return db.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == 8
        except sqlite3.Error:
            return False
    ok = daemon.wait_for(devices_written, 30)
    assert d.stop() == 0
    assert ok, d.log_text()
    # a year before the LED retrofits (2017-03-01, 2017-04-01) up to two months after the
    # mini-PV homes' commissioning (2017-07-01: no subsidy before)
    hist = str(tmp_path / "h.csv")
    res = daemon.subprocess.run(
        [daemon.bin_path("enmon-sim"), "history", "--config", str(tmp_path / "sim.yaml"),
         "--enmond", d.config, "--from", "2016-03-01", "--to", "2017-08-31", "--out", hist],
        capture_output=True, text=True, timeout=300)
    assert res.returncode == 0, res.stderr
    daemon.enmon("--config", d.config, "import", "intervals", hist)
    r = daemon.enmon("--config", d.config, "--tz", "+09:00", "savings", "--savings",
                     os.path.join(src, "savings.yaml"), "--from", "2017-07-01", "--to",
                     "2017-08-31", "--format", "json")
    rows = {row["program"] if "program" in row else row["id"]: row
            for row in json.loads(r.stdout)["rows"]}
    assert set(rows) == set(WELFARE), rows.keys()
    for pid in ("welfare-senior-pv", "welfare-mini-pv"):
        row = rows[pid]
        assert row["data"] == "ok", row
        assert row["kwh_saved"] > 0 and row["krw"] > 0, row  # production, subsidy payable
    # 2 x 3 kW vs 2 x 260 W: about 11.5 times the production
    ratio = rows["welfare-senior-pv"]["kwh_saved"] / rows["welfare-mini-pv"]["kwh_saved"]
    assert 6.0 < ratio < 20.0, ratio
    for pid in ("welfare-senior-led", "welfare-rental-led"):
        row = rows[pid]
        assert row["data"] == "ok", row
        assert row["kwh_saved"] > 0 and row["krw"] > 0 and row["deemed_kwh"] > 0, row
    # deemed, senior centres: 2 x 30 x (32 - 16) W x 8 h x 62 days / 1000 = 476.16 kWh
    assert abs(rows["welfare-senior-led"]["deemed_kwh"] - 476.16) < 0.01, rows
    # rental complexes: 2 x 120 x (32 - 15) W x 12 h x 62 days / 1000 = 3,035.52 kWh
    assert abs(rows["welfare-rental-led"]["deemed_kwh"] - 3035.52) < 0.01, rows
    methods = {pid: rows[pid]["method"] for pid in WELFARE}
    assert methods == {"welfare-senior-pv": "production", "welfare-mini-pv": "production",
                       "welfare-senior-led": "day-type-month",
                       "welfare-rental-led": "day-type-month"}, methods
