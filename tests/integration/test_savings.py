"""test_savings.py -- imported history + live polling -> enmon savings, checked against
independent sums of the same CSV computed here in Python (docs/SAVINGS.md)."""
import calendar
import datetime
import json
import math
import os
import sqlite3
import time

import pytest

import daemon
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
    assert out["rows"][0]["kwh_saved"] == 0
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
