"""test_savings.py -- imported history + live polling -> enmon savings, checked against
independent sums of the same CSV computed here in Python (docs/SAVINGS.md)."""
import calendar
import csv
import datetime
import json
import math
import os
import re
import sqlite3
import subprocess
import time

import pytest
import yaml

import daemon
import dashlib
import harness

KST = datetime.timezone(datetime.timedelta(hours=9))
FIRST = datetime.date(2015, 9, 1)
LAST = datetime.date(2017, 3, 31)        # history: FIRST .. LAST inclusive
RETROFIT = datetime.date(2016, 9, 1)     # LED retrofit and ESS contract start
REPORT_FROM, REPORT_TO = datetime.date(2016, 9, 1), datetime.date(2017, 3, 31)
EVENT_DAY = datetime.date(2017, 2, 15)   # a Wednesday
FACTOR = 0.4173
SAVINGS_YAML = """
co2:
  - {from: 2010-01-01, factor: 0.4173}
tariffs:
  - {name: general, flat: 140.0}
programs:
  - id: happy-led
    fixtures: {count: 10, old_w: 32, new_w: 16, hours_per_day: 5}
  - id: ess
    tariff: general
    start: 2016-09-01
    operator_share: 0.7
"""


def kst_ts(day, minute=0):
    return int(datetime.datetime.combine(day, datetime.time(), KST).timestamp()) + minute * 60


def days(first, last):
    d = first
    while d <= last:
        yield d
        d += datetime.timedelta(days=1)


def home_wh(day, slot, retrofit, scale):
    """Deterministic 15-minute Wh: daily shape, weekday/weekend, season, LED evening effect."""
    hour = slot / 4.0
    shape = 0.5 + 0.8 * math.exp(-((hour - 20.0) ** 2) / 6.0) + 0.3 * math.exp(-((hour - 8) ** 2) / 4)
    season = 1.0 + 0.15 * math.cos(4 * math.pi * (day.timetuple().tm_yday - 20) / 365.0)
    weekend = 1.15 if day.weekday() >= 5 else 1.0
    wiggle = 1.0 + 0.05 * math.sin(day.toordinal() * 1.7 + slot * 0.3)
    wh = 100.0 * scale * shape * season * weekend * wiggle
    if retrofit and day >= RETROFIT and 72 <= slot < 92:
        wh *= 0.9
    if day == EVENT_DAY and scale > 10 and 56 <= slot < 64:   # ESS site sheds load 14:00-16:00
        wh *= 0.6
    return round(wh, 1)


def pv_hour_wh(day, hour):
    doy = day.timetuple().tm_yday
    length = 12.0 + 2.5 * math.sin(2 * math.pi * (doy - 80) / 365.0)
    x = (hour + 0.5 - (12.5 - length / 2)) / length
    return round(2400.0 * math.sin(math.pi * x), 1) if 0 < x < 1 else 0.0


def write_history(path):
    """LED meter and city-hall meter in 15-minute rows, the inverter in hourly rows."""
    data = {"led-1-meter": {}, "hall-meter": {}, "pv-1": {}}
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("device,start,wh_import,wh_export\n")
        for day in days(FIRST, LAST):
            for slot in range(96):
                ts = kst_ts(day, slot * 15)
                stamp = datetime.datetime.fromtimestamp(ts, KST).isoformat()
                for dev, retro, scale in (("led-1-meter", True, 1.0), ("hall-meter", False, 40.0)):
                    wh = home_wh(day, slot, retro, scale)
                    data[dev][ts] = (wh, 0.0)
                    fh.write("%s,%s,%.1f,0\n" % (dev, stamp, wh))
            for hour in range(24):
                ts = kst_ts(day, hour * 60)
                wh = pv_hour_wh(day, hour)
                for k in range(4):
                    data["pv-1"][ts + 900 * k] = (0.0, wh / 4)
                fh.write("pv-1,%s,0,%.1f\n" % (datetime.datetime.fromtimestamp(ts, KST).isoformat(), wh))
    return data


def daily_kwh(series, col=0):
    out = {}
    for ts, vals in series.items():
        day = datetime.datetime.fromtimestamp(ts, KST).date()
        out[day] = out.get(day, 0.0) + vals[col] / 1000.0
    return out


def expected_avoided(series):
    """The day-type x month baseline over the 365 days before RETROFIT, summed over the report."""
    kwh = daily_kwh(series)
    base_days = [d for d in kwh if RETROFIT - datetime.timedelta(days=365) <= d < RETROFIT]
    groups = {}
    for d in base_days:
        groups.setdefault((d.weekday() >= 5, d.month), []).append(kwh[d])
    avoided = actual = 0.0
    for d in days(REPORT_FROM, REPORT_TO):
        vals = groups[(d.weekday() >= 5, d.month)]
        avoided += sum(vals) / len(vals) - kwh[d]
        actual += kwh[d]
    return avoided, actual


def expected_led_krw(series):
    """Progressive tiers (KEPCO 2023 defaults) on each whole month: bill(actual + saved) - bill(actual)."""
    kwh = daily_kwh(series)
    base_days = [d for d in kwh if RETROFIT - datetime.timedelta(days=365) <= d < RETROFIT]
    groups = {}
    for d in base_days:
        groups.setdefault((d.weekday() >= 5, d.month), []).append(kwh[d])

    def bill(month, e):
        tiers = [(300, 120.0), (450, 214.6)] if month in (7, 8) else [(200, 120.0), (400, 214.6)]
        charge, lower = 0.0, 0.0
        for upper, rate in tiers:
            charge += max(0.0, min(e, upper) - lower) * rate
            lower = upper
        return charge + max(0.0, e - lower) * 307.3

    total = 0.0
    months = sorted({(d.year, d.month) for d in days(REPORT_FROM, REPORT_TO)})
    for y, m in months:
        ds = [d for d in days(REPORT_FROM, REPORT_TO) if (d.year, d.month) == (y, m)]
        act = sum(kwh[d] for d in ds)
        saved = sum(sum(groups[(d.weekday() >= 5, d.month)]) / len(groups[(d.weekday() >= 5, d.month)]) - kwh[d] for d in ds)
        assert len(ds) == calendar.monthrange(y, m)[1]
        total += bill(m, act + saved) - bill(m, act)
    return total


def expected_cbl_mid(series, hours):
    """KPX Mid(6/10): 10 latest weekdays before EVENT_DAY, per hour drop 2 high + 2 low."""
    chosen, d = [], EVENT_DAY
    while len(chosen) < 10:
        d -= datetime.timedelta(days=1)
        if d.weekday() < 5:
            chosen.append(d)
    total = 0.0
    for h in hours:
        vals = sorted(sum(series[kst_ts(day, h * 60 + 15 * k)][0] for k in range(4)) / 1000.0
                      for day in chosen)
        total += sum(vals[2:8]) / 6.0
    return total


@pytest.fixture
def live(tmp_path, mosquitto, sim_factory):
    """enmond polling a small simulated fleet whose database gets the imported history."""
    port = harness.free_port()
    sim = sim_factory(
        "devices:\n"
        "  - {port: %d, unit: 1, kind: meter, phases: 1, kwh_month: 300}\n"
        "  - {port: %d, unit: 2, kind: meter, phases: 3, kwh_month: 30000}\n"
        "  - {port: %d, unit: 3, kind: inverter, capacity: 3000}\n" % (port, port, port))
    programs = (
        "programs:\n"
        "  - id: happy-led\n    kind: led-retrofit\n    sites:\n"
        "      - id: led-1\n        devices:\n"
        "          - {id: led-1-meter, kind: meter, link: 'tcp://127.0.0.1:%d', unit: 1,"
        " retrofit: 2016-09-01}\n"
        "  - id: ess\n    kind: efficiency\n    sites:\n"
        "      - id: hall\n        devices:\n"
        "          - {id: hall-meter, kind: meter, link: 'tcp://127.0.0.1:%d', unit: 2}\n"
        "  - id: solar\n    kind: solar\n    sites:\n"
        "      - id: pv-site\n        devices:\n"
        "          - {id: pv-1, kind: inverter, link: 'tcp://127.0.0.1:%d', unit: 3,"
        " capacity: 3000, commissioned: 2016-01-01}\n" % (port, port, port))
    d = daemon.Enmond(tmp_path, mosquitto.port, programs, interval="1s").start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
                if db.execute("SELECT COUNT(*) FROM intervals").fetchone()[0] >= 3:
                    break
        except sqlite3.Error:
            pass
        time.sleep(0.3)
    else:
        pytest.fail("enmond wrote no intervals: %s" % d.log_text())
    yield d
    assert d.stop() == 0


def enmon(d, *args, check=True):
    return daemon.enmon("--db", d.db, "--tz", "+09:00", *args, check=check)


def test_import_and_savings(tmp_path, live):
    csv_path = str(tmp_path / "history.csv")
    data = write_history(csv_path)
    savings_path = tmp_path / "savings.yaml"
    savings_path.write_text(SAVINGS_YAML)
    r = enmon(live, "import", "intervals", csv_path)
    assert "of 3 devices (1 hourly)" in r.stdout

    def hist_sum():
        with sqlite3.connect("file:%s?mode=ro" % live.db, uri=True) as db:
            return db.execute("SELECT COUNT(*), SUM(wh_import), SUM(wh_export) FROM intervals "
                              "WHERE start_s < ?", (kst_ts(LAST) + 86400,)).fetchone()
    first = hist_sum()
    assert first[0] == sum(len(v) for v in data.values())
    enmon(live, "import", "intervals", csv_path)       # idempotent
    assert hist_sum() == first

    bad = tmp_path / "bad.csv"
    bad.write_text("device,start,wh_import,wh_export\n"
                   "led-1-meter,2015-09-01T00:00:00+09:00,999999,0\n"
                   "led-1-meter,2015-09-01T00:15:00+09:00,x,0\n"
                   "nobody,2015-09-01T00:15:00+09:00,1,0\n")
    r = enmon(live, "import", "intervals", str(bad), check=False)
    assert r.returncode == 65
    assert "bad.csv:3: wh_import: 'x' is not a number" in r.stderr
    assert "bad.csv:4: device: unknown device 'nobody'" in r.stderr
    assert hist_sum() == first                          # line 2 was not kept either

    r = enmon(live, "savings", "--savings", str(savings_path), "--from", str(REPORT_FROM),
              "--to", str(REPORT_TO), "--by", "device", "--format", "json")
    report = json.loads(r.stdout)
    rows = {row["key"]: row for row in report["rows"]}

    led_avoided, led_actual = expected_avoided(data["led-1-meter"])
    led = rows["led-1-meter"]
    assert led["data"] == "ok"
    assert led["baseline_from"] == "2015-09-02" and led["baseline_to"] == "2016-08-31"
    assert led["kwh_actual"] == pytest.approx(led_actual, abs=1e-6)
    assert led["kwh_saved"] == pytest.approx(led_avoided, abs=1e-6)
    assert led_avoided > 0
    assert led["krw"] == pytest.approx(expected_led_krw(data["led-1-meter"]), abs=1e-3)
    assert led["co2_kg"] == pytest.approx(led_avoided * FACTOR, abs=1e-6)
    assert led["deemed_kwh"] == pytest.approx(10 * 16 * 5 * 212 / 1000.0, abs=1e-6)

    hall_avoided, hall_actual = expected_avoided(data["hall-meter"])
    hall = rows["hall-meter"]
    assert hall["kwh_saved"] == pytest.approx(hall_avoided, abs=1e-6)
    assert hall["krw"] == pytest.approx(hall_avoided * 140.0, abs=1e-4)
    assert hall["operator_krw"] == pytest.approx(hall_avoided * 140.0 * 0.7, abs=1e-4)

    produced = sum(v[1] for ts, v in data["pv-1"].items()
                   if kst_ts(REPORT_FROM) <= ts < kst_ts(REPORT_TO) + 86400) / 1000.0
    pv = rows["pv-1"]
    assert pv["kwh_saved"] == pytest.approx(produced, abs=1e-6)
    assert pv["krw"] == pytest.approx(produced * 50.0, abs=1e-4)   # within 5 years of 2016-01-01
    assert pv["yield_kwh_per_kwp"] == pytest.approx(produced / 3.0, abs=1e-6)
    assert pv["clear_sky_kwh"] > 0  # (this synthetic PV is no physics: no ratio checked)
    totals = report["totals"]
    assert totals["avoided_kwh"] == pytest.approx(led_avoided + hall_avoided, abs=1e-6)
    assert totals["produced_kwh"] == pytest.approx(produced, abs=1e-6)

    # monthly grouping adds up to the same total
    r = enmon(live, "savings", "--savings", str(savings_path), "--from", str(REPORT_FROM),
              "--to", str(REPORT_TO), "--program", "happy-led", "--group", "month",
              "--format", "json")
    months = json.loads(r.stdout)["rows"]
    assert len(months) == 7
    assert sum(m["kwh_saved"] for m in months) == pytest.approx(led_avoided, abs=1e-6)

    # a period before the contract start (2016-09-01): nothing to report
    r = enmon(live, "savings", "--savings", str(savings_path), "--from", "2015-10-01",
              "--to", "2015-10-31", "--device", "hall-meter", "--format", "json")
    assert json.loads(r.stdout)["rows"][0]["data"] == "none"

    # too short a baseline (30 days) is flagged with its reason, never counted as zero
    short = tmp_path / "short.yaml"
    short.write_text("programs:\n  - {id: happy-led, start: 2015-10-01}\n")
    r = enmon(live, "savings", "--savings", str(short), "--from", str(REPORT_FROM),
              "--to", str(REPORT_TO), "--program", "happy-led", "--format", "json")
    out = json.loads(r.stdout)
    assert out["rows"][0]["data"] == "insufficient (1 of 1)"
    assert out["rows"][0]["kwh_saved"] is None and out["rows"][0]["krw"] is None
    assert out["notes"][0]["reason"] == "30 days with data in the baseline, need 90"
    assert out["totals"]["avoided_kwh"] == 0

    # a demand-response event added with the CLI, CBL Mid(6/10) against the CSV
    enmon(live, "dr", "add", "--site", "hall", "--start", "2017-02-15T14:00",
          "--end", "2017-02-15T16:00")
    r = enmon(live, "dr", "list", "--from", "2017-02-01", "--to", "2017-02-28",
              "--format", "csv", "--savings", str(savings_path))
    lines = r.stdout.strip().splitlines()
    assert lines[0].startswith("SITE,PROGRAM,START,HOURS,DATA,kWh_CBL_MID")
    fields = lines[1].split(",")
    metered = sum(data["hall-meter"][kst_ts(EVENT_DAY, 14 * 60 + 15 * k)][0]
                  for k in range(8)) / 1000.0
    cbl = expected_cbl_mid(data["hall-meter"], (14, 15))
    assert fields[0] == "hall" and fields[3] == "2" and fields[4] == "ok"
    assert float(fields[5]) == pytest.approx(cbl, abs=2e-3)
    assert float(fields[6]) == pytest.approx(metered, abs=2e-3)
    assert float(fields[7]) == pytest.approx(cbl - metered, abs=2e-3)
    assert cbl - metered > 0

    r = enmon(live, "savings", "--savings", str(savings_path), "--explain", "led-1-meter",
              "--from", "2017-01-02", "--to", "2017-01-03")
    assert "Baseline period 2015-09-02 .. 2016-08-31: 365 days, 365 with complete data" in r.stdout
    assert "2017-01-03  weekday" in r.stdout


# ---- issue 14 items 5-7: ACTUAL over counted days, no figure for insufficient devices,
# ---- the baseline is the whole 365 days before the retrofit --------------------------

COUNT_FROM, COUNT_TO = datetime.date(2016, 9, 1), datetime.date(2016, 9, 7)
SHORT_DAYS = (datetime.date(2016, 9, 3), datetime.date(2016, 9, 5))  # 90 of 96 intervals


def write_counted_history(path):
    """led-a: 100 Wh per interval before the retrofit (9.6 kWh a day), 90 Wh after (8.64
    kWh a day), 2016-09-03 and -05 without slots 0..5 (90 intervals, 8.1 kWh). led-b: 100 Wh,
    but the first 92 baseline days (2015-09-02 .. 2015-12-02) miss slot 0. led-c: no data."""
    base_first = RETROFIT - datetime.timedelta(days=365)          # 2015-09-02
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("device,start,wh_import,wh_export\n")
        for day in days(base_first, COUNT_TO):
            stamp = datetime.datetime.combine(day, datetime.time(), KST).isoformat()[:10]
            for slot in range(96):
                t = "%sT%02d:%02d:00+09:00" % (stamp, slot // 4, slot % 4 * 15)
                after = day >= RETROFIT
                if not (day in SHORT_DAYS and slot < 6):
                    fh.write("led-a,%s,%.1f,0\n" % (t, 90.0 if after else 100.0))
                if not (slot == 0 and day < base_first + datetime.timedelta(days=92)):
                    fh.write("led-b,%s,%.1f,0\n" % (t, 95.0 if after else 100.0))


def doc_blocks(heading):
    """The ``` blocks of a docs/SAVINGS.md section, each a list of lines."""
    with open(os.path.join(harness.source_dir(), "docs", "SAVINGS.md"), encoding="utf-8") as fh:
        text = fh.read()
    section = text.split(heading, 1)[1].split("\n#", 1)[0]
    return [block.strip("\n").splitlines() for block in section.split("```")[1::2]]


def test_counted_days_and_insufficient_devices(tmp_path, mosquitto):
    """Worked by hand (docs/SAVINGS.md, "Counted days and insufficient devices"):
    led-a: baseline 2015-09-02 .. 2016-08-31, 365 of 365 days complete, every day 9.6 kWh:
      prediction 9.6 for every day. Reporting 2016-09-01 .. 07: 5 counted days (09-03 and
      09-05 have 90 of 96 intervals: missing, not counted). REF = 5 x 9.6 = 48.0,
      ACTUAL = 5 x 8.64 = 43.2 (not 43.2 + 2 x 8.1 = 59.4), SAVED = 4.8 = REF - ACTUAL,
      KRW = 4.8 x 100 (flat) = 480, CO2 = 4.8 x 0.4173 = 2.00304 kg.
    led-b: 92 of the 365 baseline days miss one interval: 92 / 365 = 25.2% > 10%:
      insufficient (before: the baseline started at its first complete day, 2015-12-03,
      and passed as ok); no SAVED, KRW, CO2: "-", "", null.
    led-c (program led-late): no data at all: insufficient, BASELINE still
      2015-09-02..2016-08-31 (before: the inverted 2016-09-01..2016-08-31)."""
    down = harness.free_port()                                     # nothing listens: no polls
    link = "link: 'tcp://127.0.0.1:%d'" % down
    programs = (
        "programs:\n"
        "  - id: happy-led\n    kind: led-retrofit\n    sites:\n"
        "      - id: a\n        devices:\n"
        "          - {id: led-a, kind: meter, %s, unit: 1, retrofit: 2016-09-01}\n"
        "      - id: b\n        devices:\n"
        "          - {id: led-b, kind: meter, %s, unit: 2, retrofit: 2016-09-01}\n"
        "  - id: led-late\n    kind: led-retrofit\n    sites:\n"
        "      - id: c\n        devices:\n"
        "          - {id: led-c, kind: meter, %s, unit: 3, retrofit: 2016-09-01}\n"
        % (link, link, link))
    (tmp_path / "savings.yaml").write_text(
        "co2:\n  - {from: 2010-01-01, factor: 0.4173}\n"
        "tariffs:\n  - {name: flat, flat: 100.0}\n"
        "programs:\n  - {id: happy-led, tariff: flat}\n  - {id: led-late, tariff: flat}\n")
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, programs, args=dashlib.clock(1)).start()
    try:
        def devices_written():
            try:
                with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
                    return db.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == 3
            except sqlite3.Error:
                return False
        assert daemon.wait_for(devices_written, 20), d.log_text()
        csv_path = str(tmp_path / "counted.csv")
        write_counted_history(csv_path)
        enmon(d, "import", "intervals", csv_path)
        period = ("--from", str(COUNT_FROM), "--to", str(COUNT_TO))
        sav = str(tmp_path / "savings.yaml")

        r = enmon(d, "savings", "--savings", sav, *period, "--by", "device", "--format", "json")
        report = json.loads(r.stdout)
        rows = {row["key"]: row for row in report["rows"]}
        a, b, c = rows["led-a"], rows["led-b"], rows["led-c"]
        assert a["data"] == "ok"
        assert (a["baseline_from"], a["baseline_to"]) == ("2015-09-02", "2016-08-31")
        assert a["kwh_ref"] == pytest.approx(48.0, abs=1e-6)
        assert a["kwh_actual"] == pytest.approx(43.2, abs=1e-6)
        assert a["kwh_saved"] == pytest.approx(4.8, abs=1e-6)
        assert a["krw"] == pytest.approx(480.0, abs=1e-6)
        assert a["co2_kg"] == pytest.approx(2.00304, abs=1e-6)
        assert b["data"] == "insufficient (1 of 1)"
        assert (b["baseline_from"], b["baseline_to"]) == ("2015-09-02", "2016-08-31")
        for key in ("kwh_ref", "kwh_actual", "kwh_saved", "krw", "co2_kg", "deemed_kwh"):
            assert b[key] is None and c[key] is None, key
        assert (c["baseline_from"], c["baseline_to"]) == ("2015-09-02", "2016-08-31")
        notes = {n["device"]: n["reason"] for n in report["notes"]}
        assert notes["led-b"] == "92 of 365 baseline days missing (25.2%, max 10.0%)"
        assert notes["led-c"] == "no complete day of data in the 365 days before"
        assert report["totals"]["avoided_kwh"] == pytest.approx(4.8, abs=1e-6)
        assert report["totals"]["bill_krw"] == pytest.approx(480.0, abs=1e-6)

        # by program: REF - ACTUAL = SAVED over led-a's counted days; led-b adds nothing
        r = enmon(d, "savings", "--savings", sav, *period, "--format", "csv")
        lines = r.stdout.strip().splitlines()
        table_doc, csv_doc = doc_blocks("### Counted days and insufficient devices")
        assert lines == csv_doc
        assert lines[0] == ("PERIOD,KEY,PROGRAM,KIND,DEVICES,DATA,METHOD,BASELINE,kWh_REF,"
                            "kWh_ACTUAL,kWh_SAVED,kWh_LOW90,kWh_HIGH90,KRW,CO2_kg,FIT,DETAIL")
        # no weather_station: day-type-month, no 90 % interval, no fit
        assert lines[1] == (",happy-led,happy-led,led-retrofit,2,insufficient (1 of 2),"
                            "day-type-month,2015-09-02..2016-08-31,48.000,43.200,4.800,,,480,"
                            "2.0,,")
        assert lines[2] == (",led-late,led-late,led-retrofit,1,insufficient (1 of 1),"
                            "day-type-month,2015-09-02..2016-08-31,,,,,,,,,")

        r = enmon(d, "savings", "--savings", sav, *period, "--by", "device")
        out_lines = [line.rstrip() for line in r.stdout.splitlines()]
        assert all(line.rstrip() in out_lines for line in table_doc), r.stdout
        table = {line.split()[0]: line.split() for line in r.stdout.splitlines()
                 if line.split() and line.split()[0].startswith("led-")}
        # KEY PROGRAM KIND DEVICES DATA METHOD BASELINE REF ACTUAL SAVED LOW90 HIGH90 KRW CO2
        # (PERIOD, FIT and DETAIL are empty)
        assert table["led-a"][4:14] == ["ok", "day-type-month", "2015-09-02..2016-08-31",
                                        "48.000", "43.200", "4.800", "-", "-", "480", "2.0"]
        assert table["led-b"][4:8] == ["insufficient", "(1", "of", "1)"]
        assert table["led-b"][8:] == ["day-type-month", "2015-09-02..2016-08-31"] + ["-"] * 7
        assert table["led-c"][8:] == ["day-type-month", "2015-09-02..2016-08-31"] + ["-"] * 7
        assert re.search(r"avoided energy \(led-retrofit, efficiency\) +4\.800 kWh +480 KRW",
                         r.stdout), r.stdout

        # /api/savings (by program): led-late has no figure, null; the total excludes it
        api = dashlib.get_json(d.url("/api/savings?from=2016-09-01&to=2016-09-07"))
        progs = {p["program"]: p for p in api["programs"]}
        assert progs["happy-led"]["actual_kwh"] == pytest.approx(43.2, abs=1e-6)
        assert progs["happy-led"]["saved_kwh"] == pytest.approx(4.8, abs=1e-6)
        for key in ("actual_kwh", "saved_kwh", "krw", "co2_kg"):
            assert progs["led-late"][key] is None, key
        assert api["total"]["saved_kwh"] == pytest.approx(4.8, abs=1e-6)
        assert api["total"]["krw"] == pytest.approx(480.0, abs=1e-6)
    finally:
        assert d.stop() == 0, d.log_text()


# ---- demand response: CBL reference days, abnormal days, totals, order (docs/SAVINGS.md) ----

DR_HOLIDAYS = (datetime.date(2017, 1, 30), datetime.date(2017, 1, 31))   # at 50 kWh/h


def dr_hall_kwh(day, hour):
    """The hall's kWh in one hour: weekdays 10, weekends 30, holidays 50, and the days the
    hand-worked expectations below rely on."""
    special = {
        datetime.date(2017, 2, 14): {None: 14},
        datetime.date(2017, 2, 13): {None: 2},               # abnormal: 48 kWh
        datetime.date(2017, 2, 10): {None: 3},               # abnormal: 72 kWh
        datetime.date(2017, 2, 9): {14: 4, 15: 17},
        datetime.date(2017, 2, 8): {15: 9},
        datetime.date(2017, 2, 15): {14: 6, 15: 6},          # the event: 12 kWh metered
    }
    if day in DR_HOLIDAYS:
        return 50.0
    if day.weekday() >= 5:
        return 30.0
    s = special.get(day, {})
    return float(s.get(hour, s.get(None, 10)))


def dr_shop_kwh(day, hour):
    """The shop: data from 2017-02-06 only; weekdays 5 kWh/h, weekends 8, the event 3."""
    if day == datetime.date(2017, 2, 14) and hour in (14, 15):
        return 3.0
    return 8.0 if day.weekday() >= 5 else 5.0


def dr_write_csv(path):
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("device,start,wh_import,wh_export\n")
        for dev, first, last, fn in (
                ("hall-meter", datetime.date(2017, 1, 2), datetime.date(2017, 2, 15), dr_hall_kwh),
                ("shop-meter", datetime.date(2017, 2, 6), datetime.date(2017, 2, 14), dr_shop_kwh)):
            for day in days(first, last):
                for h in range(24):
                    fh.write("%s,%sT%02d:00:00+09:00,%.1f,0\n" % (dev, day, h, fn(day, h) * 1000))


@pytest.fixture
def dr_db(tmp_path, mosquitto):
    """A database with two sites (hall, shop; one meter each, never polled: the port is closed)
    and the CSV above imported."""
    port = harness.free_port()
    programs = (
        "programs:\n  - id: dr-demo\n    kind: efficiency\n    sites:\n"
        "      - id: hall\n        devices:\n"
        "          - {id: hall-meter, kind: meter, link: 'tcp://127.0.0.1:%d', unit: 1}\n"
        "      - id: shop\n        devices:\n"
        "          - {id: shop-meter, kind: meter, link: 'tcp://127.0.0.1:%d', unit: 2}\n"
        % (port, port))
    d = daemon.Enmond(tmp_path, mosquitto.port, programs, interval="1s").start()

    def devices_written():
        try:
            with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
                return db.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == 2
        except sqlite3.Error:
            return False
    ok = daemon.wait_for(devices_written, 20)
    assert d.stop() == 0
    assert ok, d.log_text()
    csv_path = str(tmp_path / "dr.csv")
    dr_write_csv(csv_path)
    enmon(d, "import", "intervals", csv_path)
    return d


def dr_savings(tmp_path, name, selection=None):
    path = tmp_path / name
    path.write_text("demand_response:\n"
                    + ("  cbl_selection: %s\n" % selection if selection else "")
                    + "  holidays: [2017-01-30, 2017-01-31]\n"
                    "  events:\n"
                    "    - {site: hall, start: \"2017-02-15T14:00\", end: \"2017-02-15T16:00\"}\n")
    return str(path)


def dr_text_rows(out):
    """The table rows of `dr list` as whitespace-split tokens, keyed by their first token(s)."""
    return [line.split() for line in out.splitlines()
            if line.startswith(("hall", "shop", "TOTAL"))]


def test_dr_cbl_abnormal_days_totals_and_order(tmp_path, dr_db):
    savings = dr_savings(tmp_path, "hourly.yaml")
    # the shop's event is recorded in the table, the hall's is in the config: listed by time
    enmon(dr_db, "dr", "add", "--site", "shop", "--start", "2017-02-14T14:00",
          "--end", "2017-02-14T16:00")
    r = enmon(dr_db, "dr", "list", "--from", "2017-02-01", "--to", "2017-02-28",
              "--savings", savings)
    assert "CBL days hourly" in r.stdout
    rows = dr_text_rows(r.stdout)
    # shop, 2017-02-14: data from 02-06, so 6 eligible weekdays before (02-06..02-10, 02-13):
    #   Mid(6/10) insufficient; Max(4/5): 02-13 02-10 02-09 02-08 02-07 at 5 kWh/h (120 kWh a
    #   day, none abnormal) -> CBL 5 + 5 = 10, metered 3 + 3 = 6, reduction 4.
    assert rows[0][:2] == ["shop", "dr-demo"]
    assert " ".join(rows[0]).endswith(
        "mid-6-10: 6 eligible weekdays in the 45 days before, need 10 - 6.000 - 10.000 4.000 -")
    # hall, 2017-02-15 14:00-16:00, metered 6 + 6 = 12.
    # Mid(6/10): the 10 latest eligible weekdays 02-14 .. 02-01 have daily kWh 336 (02-14),
    #   48 (02-13), 72 (02-10), 241 (02-09: 22 x 10 + 4 + 17), 239 (02-08), 5 x 240: sum 2136,
    #   average 213.6, 75 % = 160.2: 02-13 and 02-10 are abnormal and replaced by 01-27 and
    #   01-26 (01-31 and 01-30 are holidays). Hour 14: 4 10 | 10 x 6 | 10 14 -> 10;
    #   hour 15: 9 10 | 10 x 6 | 14 17 -> 10. CBL 20, reduction 8, 4 kW over 2 h.
    #   (Were the holidays counted, hour 14 would be 4 10 | 10 x 5 14 | 50 50 -> 64 / 6.)
    # Max(4/5): 02-14 02-13 02-10 02-09 02-08: 936 / 5 = 187.2, 75 % = 140.4: 02-13 and 02-10
    #   abnormal, replaced by 02-07 and 02-06. Hour 14: 14 4 10 10 10, drop 4 -> 44 / 4 = 11;
    #   hour 15: 14 17 9 10 10, drop 9 -> 51 / 4 = 12.75. CBL 23.75, reduction 11.75.
    #   (Without the abnormal-day rule: hour 14 14 2 3 4 10 -> 31 / 4, hour 15 14 2 3 17 9 ->
    #   43 / 4: CBL 18.5.)
    assert rows[1] == ["hall", "dr-demo", "2017-02-15", "14:00", "2", "ok", "20.000", "12.000",
                       "8.000", "23.750", "11.750", "4.000"]
    # totals only over the events that have the baseline: Mid 1 of 2 (the hall), Max 2 of 2:
    #   CBL 23.75 + 10 = 33.75, metered 12 + 6 = 18, reduction 11.75 + 4 = 15.75 over 4 h.
    assert rows[2] == ["TOTAL", "mid-6-10", "2", "1", "of", "2", "events", "20.000", "12.000",
                       "8.000", "-", "-", "4.000"]
    assert rows[3] == ["TOTAL", "max-4-5", "4", "2", "of", "2", "events", "-", "18.000", "-",
                       "33.750", "15.750", "-"]
    assert len(rows) == 4
    with open(os.path.join(harness.source_dir(), "docs", "SAVINGS.md"), encoding="utf-8") as fh:
        doc = fh.read()
    at = doc.index("```\n", doc.index("### `enmon dr list`")) + 4
    assert doc[at:doc.index("```", at)] == r.stdout      # the docs' example is this output

    r = enmon(dr_db, "savings", "--savings", savings, "--from", "2017-02-01", "--to",
              "2017-02-28", "--format", "json")
    out = json.loads(r.stdout)
    assert [e["site"] for e in out["dr_events"]] == ["shop", "hall"]
    hall = out["dr_events"][1]
    assert hall["cbl_selection"] == "hourly"
    assert hall["mid_6_10"]["abnormal_days"] == 2 and hall["max_4_5"]["abnormal_days"] == 2
    tot = out["dr_totals"]
    assert tot["events"] == 2
    assert tot["mid_6_10"] == {"events": 1, "hours": 2, "kwh_cbl": pytest.approx(20.0),
                               "kwh_metered": pytest.approx(12.0),
                               "kwh_reduced": pytest.approx(8.0)}
    assert tot["max_4_5"] == {"events": 2, "hours": 4, "kwh_cbl": pytest.approx(33.75),
                              "kwh_metered": pytest.approx(18.0),
                              "kwh_reduced": pytest.approx(15.75)}

    # cbl_selection: whole_day ranks the reference days by their kWh in hours 14-15:
    # Max(4/5): 02-14 28, 02-09 21, 02-08 19, 02-07 20, 02-06 20: drop 02-08; hour 14:
    #   (14 + 4 + 10 + 10) / 4 = 9.5, hour 15: (14 + 17 + 10 + 10) / 4 = 12.75: CBL 22.25,
    #   reduction 10.25. Mid(6/10): drop 02-08 (19) and 02-07 (20, the later of the equal
    #   days), 02-14 (28) and 02-09 (21): six flat days, CBL 20 as before.
    r = enmon(dr_db, "dr", "list", "--from", "2017-02-01", "--to", "2017-02-28",
              "--savings", dr_savings(tmp_path, "whole.yaml", "whole_day"))
    assert "CBL days whole_day" in r.stdout
    rows = dr_text_rows(r.stdout)
    assert rows[1][6:11] == ["20.000", "12.000", "8.000", "22.250", "10.250"]
    assert rows[3][7:12] == ["-", "18.000", "-", "32.250", "14.250"]

    # an unknown selection is a located configuration error
    bad = dr_savings(tmp_path, "bad.yaml", "daily")
    r = enmon(dr_db, "dr", "list", "--from", "2017-02-01", "--to", "2017-02-28",
              "--savings", bad, check=False)
    assert r.returncode == 78, r.stdout + r.stderr
    assert ("%s:2: demand_response.cbl_selection: unknown value 'daily' (expected one of: "
            "hourly, whole_day)" % bad) in r.stderr


# ---- issue 14 items 10-11: ESS savings by the time-of-use bill, subsidy by plant size ------

ESS_FROM, ESS_TO = datetime.date(2016, 8, 31), datetime.date(2016, 9, 30)
ESS_SAVINGS_YAML = """
co2:
  - {from: 2010-01-01, factor: 0.4173}
programs:
  - id: ess
    tariff: general
    start: 2016-09-01
    operator_share: 0.7
    ess_meters: [hall-ess]
  - id: solar
    subsidy:
      years: 5
      bands: [{min_kw: 3, max_kw: 50, rate: 50}, {min_kw: 50, max_kw: 1000, rate: 40}]
"""


def ess_rows(day, slot):
    """(building load, ESS charge, ESS discharge) Wh of a 15-minute interval: the building
    draws 10 kWh (40 kW) per interval, 40 kWh (160 kW) 09:00-18:00 on weekdays; the ESS
    charges 5 kWh per interval 23:00-07:00 before each weekday and gives back 4 kWh per
    interval 09:00-18:00 on it (144 of 160 kWh: 90% round trip)."""
    hour = slot // 4
    weekday = day.weekday() < 5
    tomorrow = (day + datetime.timedelta(days=1)).weekday() < 5
    load = 40000 if weekday and 9 <= hour < 18 else 10000
    charge = 5000 if (hour < 7 and weekday) or (hour == 23 and tomorrow) else 0
    discharge = 4000 if weekday and 9 <= hour < 18 else 0
    return load, charge, discharge


def write_ess_history(path):
    lines = ["device,start,wh_import,wh_export"]
    for day in days(ESS_FROM, ESS_TO):
        for slot in range(96):
            when = datetime.datetime.combine(day, datetime.time(), KST) + \
                datetime.timedelta(minutes=15 * slot)
            load, charge, discharge = ess_rows(day, slot)
            stamp = when.isoformat()
            lines.append("hall-meter,%s,%d,0" % (stamp, load + charge - discharge))
            lines.append("hall-ess,%s,%d,%d" % (stamp, charge, discharge))
            pv = 1000 if 40 <= slot < 56 else 0     # 10:00-14:00, 4 kWh an hour
            for dev in ("pv-a", "pv-b", "pv-h"):
                lines.append("%s,%s,0,%d" % (dev, stamp, pv))
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("\n".join(lines) + "\n")


@pytest.fixture
def ess_db(tmp_path, mosquitto, sim_factory):
    """enmond wrote the devices (an ESS site, a 60 kW plant of two inverters, a 3 kW home);
    stopped, its database gets the imported month."""
    port = harness.free_port()
    sim = sim_factory(
        "devices:\n"
        "  - {port: %d, unit: 1, kind: meter, phases: 3, kwh_month: 30000}\n"
        "  - {port: %d, unit: 2, kind: meter, phases: 3, kwh_month: 0}\n"
        "  - {port: %d, unit: 3, count: 2, kind: inverter, capacity: 30000}\n"
        "  - {port: %d, unit: 5, kind: inverter, capacity: 3000}\n" % ((port,) * 4))
    link = "link: 'tcp://127.0.0.1:%d'" % port
    programs = (
        "programs:\n"
        "  - id: ess\n    kind: efficiency\n    sites:\n"
        "      - id: hall\n        devices:\n"
        "          - {id: hall-meter, kind: meter, %s, unit: 1}\n"
        "          - {id: hall-ess, kind: meter, %s, unit: 2}\n"
        "  - id: solar\n    kind: solar\n    sites:\n"
        "      - id: plant\n        devices:\n"
        "          - {id: pv-a, kind: inverter, %s, unit: 3, capacity: 30000,"
        " commissioned: 2016-01-01}\n"
        "          - {id: pv-b, kind: inverter, %s, unit: 4, capacity: 30000,"
        " commissioned: 2016-01-01}\n"
        "      - id: home\n        devices:\n"
        "          - {id: pv-h, kind: inverter, %s, unit: 5, capacity: 3000,"
        " commissioned: 2016-01-01}\n" % ((link,) * 5))
    d = daemon.Enmond(tmp_path, mosquitto.port, programs, interval="1s").start()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
                if db.execute("SELECT COUNT(*) FROM devices").fetchone()[0] >= 5:
                    break
        except sqlite3.Error:
            pass
        time.sleep(0.3)
    else:
        pytest.fail("enmond wrote no devices: %s" % d.log_text())
    assert d.stop() == 0
    csv_path = str(tmp_path / "ess.csv")
    write_ess_history(csv_path)
    enmon(d, "import", "intervals", csv_path)
    yield d


def test_ess_tou_bill_savings_and_plant_subsidy(tmp_path, ess_db):
    """September 2016 (spring-autumn rates, docs/SAVINGS.md), 22 weekdays, no holiday listed.
    Per weekday the ESS takes 4 kWh off each of the 36 intervals 09:00-18:00: 12 mid-load
    intervals (09, 12, 17 h) x 4 x 78.6 = 3,772.8 and 24 peak (10-11, 13-16 h) x 4 x 109.3 =
    10,492.8: 14,265.6 KRW a weekday. Charging costs 5 kWh x 56.1 per light-load interval: 22
    nights x 32 intervals, less the 4 of 31 August 23:00 (before the period): 700 x 5 = 3,500
    kWh, 196,350 KRW. Energy: 22 x 14,265.6 - 196,350 = 117,493.2 KRW.
    Billing demand (mid/peak hours): building 160 kW, grid 160 - 16 = 144 kW: 16 x 8,320 =
    133,120 KRW (the whole month counted). Saved 250,613.2 KRW; operator 70% 175,429.24,
    city 75,183.96. kWh: discharge 22 x 144 = 3,168 minus charge 3,500 = -332 (losses)."""
    savings = tmp_path / "ess.yaml"
    savings.write_text(ESS_SAVINGS_YAML)
    r = enmon(ess_db, "savings", "--savings", str(savings), "--from", "2016-09-01",
              "--to", "2016-09-30", "--by", "device", "--format", "json")
    report = json.loads(r.stdout)
    rows = {row["key"]: row for row in report["rows"]}
    assert "hall-ess" not in rows           # the ESS meter is part of the hall's figures
    hall = rows["hall-meter"]
    assert hall["data"] == "ok"
    assert hall["krw"] == pytest.approx(250613.2, abs=1e-3)
    assert hall["operator_krw"] == pytest.approx(175429.24, abs=1e-3)
    assert hall["city_krw"] == pytest.approx(75183.96, abs=1e-3)
    assert hall["kwh_saved"] == pytest.approx(-332.0, abs=1e-6)
    assert hall["peak_baseline_kw"] == pytest.approx(160.0)
    assert hall["peak_actual_kw"] == pytest.approx(144.0)
    assert hall["method"] == "ess-bill"
    assert "bill(building) - bill(grid import)" in hall["method_text"]
    # the -332 kWh are the battery's losses: totalled apart, never netted off avoided use
    assert report["totals"]["ess_kwh"] == pytest.approx(-332.0, abs=1e-6)
    assert report["totals"]["avoided_kwh"] == pytest.approx(0.0, abs=1e-6)

    # the subsidy band is the plant's: 30 + 30 kW = 60 kW -> 40 KRW/kWh; the 3 kW home 50.
    # 30 days x 4 h x 4 kWh = 480 kWh each.
    assert rows["pv-a"]["kwh_saved"] == pytest.approx(480.0)
    assert rows["pv-a"]["krw"] == pytest.approx(480.0 * 40)
    assert rows["pv-b"]["krw"] == pytest.approx(480.0 * 40)
    assert rows["pv-h"]["krw"] == pytest.approx(480.0 * 50)

    # docs/SAVINGS.md's time-of-use block (the defaults) gives the same figure
    block = [b for b in doc_blocks("* **Time of use**") if b and b[0] == "yaml"][0]
    doc = tmp_path / "doc.yaml"
    doc.write_text("\n".join(line[2:] for line in block[1:]) + "\n" + ESS_SAVINGS_YAML)
    r = enmon(ess_db, "savings", "--savings", str(doc), "--from", "2016-09-01",
              "--to", "2016-09-30", "--device", "hall-meter", "--format", "json")
    assert json.loads(r.stdout)["rows"][0]["krw"] == pytest.approx(250613.2, abs=1e-3)

    # bands are validated: a lower bound not below the upper one is a located error
    bad = tmp_path / "bad.yaml"
    bad.write_text("subsidy:\n  bands:\n    - {min_kw: 50, max_kw: 3, rate: 50}\n")
    r = enmon(ess_db, "savings", "--savings", str(bad), check=False)
    assert r.returncode == 78, r.stdout + r.stderr
    assert "%s:3: subsidy.bands[0]: min_kw 50 is not below max_kw 3" % bad in r.stderr
    bad.write_text("subsidy:\n  bands:\n    - {max_kw: 50, rate: 50}\n"
                   "    - {min_kw: 40, max_kw: 100, rate: 40}\n")
    r = enmon(ess_db, "savings", "--savings", str(bad), check=False)
    assert r.returncode == 78
    assert "%s:4: subsidy.bands[1]: min_kw 40 overlaps the band before (up to 50 kW)" % bad \
        in r.stderr
    bad.write_text("programs:\n  - {id: ess, tariff: residential, ess_meters: [hall-ess]}\n")
    r = enmon(ess_db, "savings", "--savings", str(bad), check=False)
    assert r.returncode == 78
    assert "%s:2: programs[0]: ess_meters need a tou tariff" % bad in r.stderr


def test_demo_city_hall_ess_history_peak_falls(tmp_path, mosquitto):
    """The demo's city hall (config/sim-demo.yaml, config/enmond.yaml, config/savings.yaml)
    through `enmon-sim history`: 500 kWh usable, 100 kW, 90% round trip, serving weekdays from
    2016-09-01 (docs/SIMULATOR.md). It charges at 500 / sqrt(0.9) / 8 h = 65.881 kW, 16.4702
    kWh per interval in the CSV's 0.1 Wh (x 32 = 527.0464 kWh a night), and discharges at
    500 x sqrt(0.9) / 10 h = 47.434 kW, 11.8585 kWh per interval (x 40 = 474.340 kWh), so a
    weekday cycle nets -52.7064 kWh. September 2016: 22 weekdays, the first night's 23:00 hour
    (31 August, 4 x 16.4702 = 65.8808 kWh) outside: 22 x -52.7064 + 65.8808 = -1093.66.
    October: 21 weekdays, and the 23:00 hour of 31 October (for 1 November) inside:
    21 x -52.7064 - 65.8808 = -1172.72. The billing peak falls by at most the discharge power
    (47.434 kW), and the bills fall."""
    import yaml
    src = harness.source_dir()
    port = harness.free_port()
    with open(os.path.join(src, "config", "sim-demo.yaml"), encoding="utf-8") as fh:
        sim = yaml.safe_load(fh)
    sim["devices"] = [dict(d, port=port) for d in sim["devices"] if d["port"] == 15026]
    (tmp_path / "sim.yaml").write_text(yaml.safe_dump(sim))
    with open(os.path.join(src, "config", "enmond.yaml"), encoding="utf-8") as fh:
        hall = [p for p in yaml.safe_load(fh)["programs"] if p["id"] == "ess-city-hall"]
    text = yaml.safe_dump({"programs": hall}).replace("127.0.0.1:15026", "127.0.0.1:%d" % port)
    d = daemon.Enmond(tmp_path, mosquitto.port, text).start()

    def devices_written():
        try:
            with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
                return db.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == 2
        except sqlite3.Error:
            return False
    assert daemon.wait_for(devices_written, 20), d.log_text()
    assert d.stop() == 0
    csv_path = str(tmp_path / "hall.csv")
    subprocess.run([daemon.bin_path("enmon-sim"), "history", "--config",
                    str(tmp_path / "sim.yaml"), "--enmond", d.config, "--from", "2016-08-31",
                    "--to", "2016-10-31", "--out", csv_path],
                   check=True, capture_output=True, timeout=120)
    enmon(d, "import", "intervals", csv_path)
    r = enmon(d, "savings", "--savings", os.path.join(src, "config", "savings.yaml"),
              "--from", "2016-09-01", "--to", "2016-10-31", "--group", "month",
              "--format", "json")
    months = {row["period"]: row for row in json.loads(r.stdout)["rows"]}
    assert set(months) == {"2016-09", "2016-10"}
    assert months["2016-09"]["kwh_saved"] == pytest.approx(-1093.66, abs=0.005)
    assert months["2016-10"]["kwh_saved"] == pytest.approx(-1172.72, abs=0.005)
    for m in months.values():
        assert m["data"] == "ok" and m["krw"] > 0
        drop = m["peak_baseline_kw"] - m["peak_actual_kw"]
        assert 30.0 < drop <= 47.434 + 1e-3, m
        assert m["operator_krw"] == pytest.approx(m["krw"] * 0.7)


AMI_SIZES = (200, 300, 400, 500)           # kWh a month, 10 participant households each
AMI_CMP_SIZES = (190, 210, 290, 310, 390, 410, 490, 510)  # 5 comparison households each


def ami_db(tmp_path, mosquitto, saving, seed=15):
    """80 simulated households (never polled: only their device rows are written): 40 in the AMI
    program with a feedback saving from 2016-06-01, 40 non-participating comparison households in
    the program ami-control; `enmon-sim history` 2016-03-01..2016-08-31 imported, with its truth."""
    port = harness.free_port()
    entries = []
    for group, sizes, fb in ((0, AMI_SIZES, saving), (40, AMI_CMP_SIZES, 0.0)):
        each = 40 // len(sizes)
        for k, size in enumerate(sizes):
            e = {"port": port, "unit": group + each * k + 1, "count": each, "kind": "meter",
                 "phases": 1, "kwh_month": size}
            if fb:
                e.update(feedback_saving=fb, feedback_from="2016-06-01")
            entries.append(e)
    (tmp_path / "sim.yaml").write_text(yaml.safe_dump({"seed": seed, "devices": entries}))
    programs = "programs:\n"
    for pid, site, unit in (("ami", "p", 1), ("ami-control", "c", 41)):
        programs += ("  - id: %s\n    kind: ami\n    sites:\n      - id: %s-{n}\n        count: 40\n"
                     "        devices:\n          - id: %s-{n}-meter\n            kind: meter\n"
                     "            link: tcp://127.0.0.1:%d\n            unit: %d\n"
                     % (pid, site, site, port, unit))
    d = daemon.Enmond(tmp_path, mosquitto.port, programs, interval="1h").start()

    def devices_written():
        try:
            with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
                return db.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == 80
        except sqlite3.Error:
            return False
    ok = daemon.wait_for(devices_written, 30)
    assert d.stop() == 0
    assert ok, d.log_text()
    csv_path, truth = str(tmp_path / "ami.csv"), str(tmp_path / "truth.csv")
    subprocess.run([daemon.bin_path("enmon-sim"), "history", "--config", str(tmp_path / "sim.yaml"),
                    "--enmond", d.config, "--from", "2016-03-01", "--to", "2016-08-31",
                    "--truth", truth, "--out", csv_path],
                   check=True, capture_output=True, timeout=300)
    enmon(d, "import", "intervals", csv_path)
    yml = [b for b in doc_blocks("## AMI autonomous saving") if b and b[0] == "yaml"][0]
    (tmp_path / "savings.yaml").write_text("\n".join(yml[1:]) + "\n")
    return d, truth


def test_ami_feedback_difference_in_differences_truth(tmp_path, mosquitto):
    """Issue 15 item 6: participants save 4 % of their load from 2016-06-01 (enmon-sim's
    feedback_saving); the truth file's avoided kWh of the participants (0 for the comparison
    households) lies inside the program's reported 90 % difference-in-differences interval.
    The bound on the point estimate is the sample's: 40 + 40 households give a standard error
    of about 5 % of a 4 % saving (a household's change from spring to summer scatters by about
    0.03 kWh/day around the comparison group's line against a 0.5 kWh/day saving, and matching
    reuses about 23 of the 40 comparison households), so 3 % is not guaranteed on this sample:
    seeds 15 and 1..7 gave -4.5, +0.7, -1.9, +2.8, -2.7, +0.5, +0.2 and -1.0 %, every truth
    inside its interval (docs/SAVINGS.md "AMI autonomous saving"). Asserted: error <= the
    interval's half-width, the half-width under 12 % of the estimate, and the doc's figures
    are this run's (seed 15)."""
    d, truth_path = ami_db(tmp_path, mosquitto, 0.04)
    true_kwh = cmp_kwh = 0.0
    with open(truth_path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if row["date"] < "2016-06-01":
                assert float(row["avoided_kwh"]) == 0.0, row
            elif row["device"].startswith("p-"):
                true_kwh += float(row["avoided_kwh"])
            else:
                cmp_kwh += float(row["avoided_kwh"])
    assert cmp_kwh == 0.0
    # 40 households of 350 kWh a month on average x 4 % x 3 months, about 1,700 kWh
    assert 1200 < true_kwh < 2400, true_kwh
    r = enmon(d, "savings", "--savings", str(tmp_path / "savings.yaml"), "--from", "2016-06-01",
              "--to", "2016-08-31", "--format", "json")
    rows = [x for x in json.loads(r.stdout)["rows"] if x["kind"] == "ami"]
    assert len(rows) == 1, r.stdout
    row = rows[0]
    assert row["program"] == "ami" and row["data"] == "ok", row
    assert row["method"] == "difference-in-differences"
    assert row["method_text"].startswith("difference-in-differences vs %d matched comparison "
                                         "households" % row["comparison_matched"]), row
    assert row["has_interval"] is True
    assert row["participants"] == 40 and row["comparison_usable"] == 40
    assert row["baseline_to"] == "2016-05-31"
    assert row["saved_low_kwh"] <= true_kwh <= row["saved_high_kwh"], row
    assert row["saved_low_kwh"] < row["kwh_saved"] < row["saved_high_kwh"]
    half = (row["saved_high_kwh"] - row["saved_low_kwh"]) / 2
    assert abs(row["kwh_saved"] - true_kwh) <= half
    assert half < 0.12 * row["kwh_saved"], row
    block = [b for b in doc_blocks("### A simulated program") if b and b[0] == "text"][0]
    assert block[1] == ("truth %.1f kWh, reported %.1f kWh, 90%% interval %.1f..%.1f kWh"
                        % (true_kwh, row["kwh_saved"], row["saved_low_kwh"],
                           row["saved_high_kwh"]))
    assert row["kwh_ref"] == pytest.approx(row["kwh_actual"] + row["kwh_saved"])
    assert row["krw"] > 0
    assert row["co2_kg"] == pytest.approx(row["kwh_saved"] * FACTOR, rel=1e-9)
    # the table shows the interval in DETAIL; CSV the same cells
    t = enmon(d, "savings", "--savings", str(tmp_path / "savings.yaml"), "--from", "2016-06-01",
              "--to", "2016-08-31").stdout
    assert "90%% interval %.1f..%.1f kWh" % (row["saved_low_kwh"], row["saved_high_kwh"]) in t
    assert "ami (ami): difference-in-differences vs" in t
    # the same households listed by site (c-01..c-20) and device (c-21-meter..c-40-meter)
    ids = ["c-%02d" % n for n in range(1, 21)] + ["c-%02d-meter" % n for n in range(21, 41)]
    listed = tmp_path / "listed.yaml"
    listed.write_text("programs:\n  - id: ami\n    program_start: 2016-06-01\n"
                      "    comparison: [%s]\n" % ", ".join(ids))
    r = enmon(d, "savings", "--savings", str(listed), "--from", "2016-06-01", "--to", "2016-08-31",
              "--format", "json")
    same = [x for x in json.loads(r.stdout)["rows"] if x["kind"] == "ami"][0]
    assert same["comparison_usable"] == 40
    assert same["kwh_saved"] == pytest.approx(row["kwh_saved"], abs=1e-9)
    assert same["saved_high_kwh"] == pytest.approx(row["saved_high_kwh"], abs=1e-9)
    # configuration errors name the file, line and field (exit 78)
    bad = tmp_path / "savings.yaml"
    bad.write_text("programs:\n  - id: ami\n    program_start: 2016-06-01\n"
                   "    comparison: [c-1]\n    comparison_program: ami-control\n")
    r = enmon(d, "savings", "--savings", str(bad), check=False)
    assert r.returncode == 78
    assert ("%s:5: programs[0].comparison_program: comparison and comparison_program exclude "
            "each other" % bad) in r.stderr, r.stderr
    bad.write_text("programs:\n  - id: ami\n    program_start: 2016-06-01\n")
    r = enmon(d, "savings", "--savings", str(bad), check=False)
    assert r.returncode == 78
    assert "%s:3: programs[0].program_start: needs comparison" % bad in r.stderr, r.stderr

