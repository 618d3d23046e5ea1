"""test_savings_weather.py -- the weather-normalized baseline in `enmon savings` (issue 15 items
2, 3 and 5): a small simulated LED program whose reporting summer is 2.5 C hotter than its
baseline year (`enmon-sim history --weather-offset-summer`, the same temperatures imported with
`enmon import weather`), checked against the simulator's truth file; the JSON fit fields and the
90 % interval, the table and CSV columns, --explain, baseline.method and --method, the fallback
to day-type-month, and /api/savings (docs/SAVINGS.md "Weather-normalized baseline")."""
import csv
import json
import math
import os
import re
import sqlite3
import subprocess

import pytest

import daemon
import dashlib
import harness
import truthcity

BASE_FROM = "2015-06-01"       # history from here; baseline: the 365 days before RETROFIT
RETROFIT = "2016-06-01"
REPORT_TO = "2016-09-30"       # reporting period RETROFIT .. REPORT_TO: the hot summer
SUMMER_C, WINTER_C = 2.5, -2.0
SEED = 7
STATION = 133
# program led (weather_station 133): three retrofitted homes and one that changed nothing
# (its truth is 0); program led-nows names no station: auto falls back to day-type-month
HOMES = (("w1", "led", 260, True), ("w2", "led", 380, True), ("w3", "led", 500, True),
         ("w4", "led", 320, False), ("n1", "led-nows", 320, True))
SAVINGS_YAML = ("co2:\n  - {from: 2010-01-01, factor: 0.4173}\n"
                "programs:\n"
                "  - {id: led, start: %s, weather_station: %d}\n"
                "  - {id: led-nows, start: %s}\n" % (RETROFIT, STATION, RETROFIT))


def enmon(d, *args, check=True):
    return daemon.enmon("--db", d.db, "--tz", "+09:00", *args, check=check)


def savings(d, *args, check=True):
    return enmon(d, "savings", "--savings", str(d.savings), "--from", RETROFIT, "--to", REPORT_TO,
                 *args, check=check)


def rows_of(r):
    return {row["key"]: row for row in json.loads(r.stdout)["rows"]}


@pytest.fixture(scope="module")
def mosquitto_module(tmp_path_factory):
    """One broker for the module's enmond (conftest's mosquitto is per test)."""
    broker = harness.Mosquitto(tmp_path_factory.mktemp("mqtt")).start()
    yield broker
    broker.stop()


@pytest.fixture(scope="module")
def city(tmp_path_factory, mosquitto_module):
    """enmond (http on, never polls: nothing listens on the sim port) writes the devices; the
    history and its weather are imported; yields (enmond, truth per device)."""
    tmp = tmp_path_factory.mktemp("weather")
    port = harness.free_port()
    sim_yaml, programs = truthcity.led_homes(HOMES, port, RETROFIT, SEED)
    (tmp / "sim.yaml").write_text(sim_yaml)
    (tmp / "savings.yaml").write_text(SAVINGS_YAML)   # next to enmond.yaml: /api/savings
    d = dashlib.DashEnmond(tmp, mosquitto_module.port, programs, interval="1h").start()
    d.savings = tmp / "savings.yaml"

    def devices_written():
        try:
            with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
                return db.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == len(HOMES)
        except sqlite3.Error:
            return False
    try:
        assert daemon.wait_for(devices_written, 30), d.log_text()
        hist, truth, wx = (str(tmp / n) for n in ("history.csv", "truth.csv", "wx.csv"))
        offsets = ["--weather-offset-summer", str(SUMMER_C), "--weather-offset-winter",
                   str(WINTER_C), "--weather-offset-from", RETROFIT]
        sim = daemon.bin_path("enmon-sim")
        subprocess.run([sim, "history", "--config", str(tmp / "sim.yaml"), "--enmond", d.config,
                        "--from", BASE_FROM, "--to", REPORT_TO, "--seed", str(SEED)] + offsets +
                       ["--truth", truth, "--out", hist], check=True, capture_output=True,
                       timeout=600)
        subprocess.run([sim, "weather", "--from", BASE_FROM, "--to", REPORT_TO, "--seed",
                        str(SEED), "--station", str(STATION), "--offset-summer", str(SUMMER_C),
                        "--offset-winter", str(WINTER_C), "--offset-from", RETROFIT,
                        "--out", wx], check=True, capture_output=True, timeout=300)
        enmon(d, "import", "intervals", hist)
        enmon(d, "import", "weather", wx)
        avoided = {}
        with open(truth, encoding="utf-8") as fh:
            for row in csv.DictReader(fh):
                if RETROFIT <= row["date"] <= REPORT_TO:
                    avoided[row["device"]] = avoided.get(row["device"], 0.0) + \
                        float(row["avoided_kwh"])
        yield d, avoided
    finally:
        assert d.stop() == 0, d.log_text()


def test_weather_rows_json_and_truth(city):
    d, truth = city
    weather = rows_of(savings(d, "--by", "device", "--format", "json", "--method", "weather"))
    daytype = rows_of(savings(d, "--by", "device", "--format", "json",
                              "--method", "day-type-month"))
    auto = rows_of(savings(d, "--by", "device", "--format", "json"))
    for key in ("w1", "w2", "w3", "w4"):
        w = weather[key]
        assert w["method"] == "weather" and w["data"] == "ok", w
        assert w["method_text"].startswith("weather: avoided = counterfactual - actual"), w
        assert "KMA station 133" in w["method_text"]
        assert w["model"] in ("intercept", "hdd", "cdd", "hdd+cdd"), w
        # homes cool above 22 C (38 W per K at 310 kWh/month): a summer model has a CDD term
        assert "cdd" in w["model"] and 18 <= w["cool_balance_c"] <= 28, w
        assert 0 < w["cvrmse"] <= 0.30 and abs(w["nmbe"]) <= 0.10 and w["g14_ok"] is True, w
        assert 0.5 < w["r2"] <= 1.0, w
        assert w["weather_devices"] == 1 and w["g14_fail_devices"] == 0
        # the interval is centred on the savings; REF - ACTUAL = SAVED as for every row
        assert w["has_interval"] is True and w["saved_kwh"] == w["kwh_saved"]
        assert w["saved_low_kwh"] < w["kwh_saved"] < w["saved_high_kwh"]
        assert (w["saved_low_kwh"] + w["saved_high_kwh"]) / 2 == pytest.approx(w["kwh_saved"])
        assert w["kwh_ref"] - w["kwh_actual"] == pytest.approx(w["kwh_saved"], abs=1e-6)
        # auto = weather where the program names a station with data
        assert auto[key]["method"] == "weather"
        assert auto[key]["kwh_saved"] == pytest.approx(w["kwh_saved"], abs=1e-9)
        # day-type-month rows: no interval, no fit
        t = daytype[key]
        assert t["method"] == "day-type-month" and t["has_interval"] is False, t
        assert t["saved_low_kwh"] is None and t["cvrmse"] is None and t["g14_ok"] is None
        assert t["method_reason"] == ""          # asked for: no reason to give
    # the home that changed nothing (truth 0): the weather model is off by far less than
    # day-type-month, which books the hotter summer's air conditioning as lost savings
    assert truth["w4"] == 0.0
    assert abs(daytype["w4"]["kwh_saved"]) > 3 * abs(weather["w4"]["kwh_saved"])
    # led-nows names no station: auto falls back, with the reason; --method weather refuses
    n = auto["n1"]
    assert n["method"] == "day-type-month" and n["data"] == "ok", n
    assert n["method_reason"] == "no weather_station for site n1 or program led-nows " \
                                 "(savings.yaml)"
    assert weather["n1"]["data"] == "insufficient (1 of 1)" and weather["n1"]["kwh_saved"] is None
    assert weather["n1"]["has_interval"] is False

    # The program: the sum of its devices; its interval half-width is the root of the sum of
    # the squared half-widths (independent devices), checked from the device rows by hand.
    prog = {r["key"]: r for r in json.loads(savings(d, "--format", "json", "--method",
                                                    "weather").stdout)["rows"]}["led"]
    keys = ("w1", "w2", "w3", "w4")
    assert prog["kwh_saved"] == pytest.approx(sum(weather[k]["kwh_saved"] for k in keys))
    halves = [(weather[k]["saved_high_kwh"] - weather[k]["saved_low_kwh"]) / 2 for k in keys]
    half = (prog["saved_high_kwh"] - prog["saved_low_kwh"]) / 2
    assert half == pytest.approx(math.sqrt(sum(h * h for h in halves)), rel=1e-9)
    assert prog["weather_devices"] == 4 and prog["g14_fail_devices"] == 0
    assert prog["cvrmse"] is None and prog["model"] is None     # a fit is per device

    # Against the truth: the 2.5 C hotter summer raises every home's air conditioning, which
    # the weather model puts into the counterfactual and day-type-month does not (its baseline
    # is last year's cooler months): day-type-month books the extra cooling as lost savings.
    true_kwh = sum(truth[k] for k in keys)
    w_kwh, t_kwh = prog["kwh_saved"], sum(daytype[k]["kwh_saved"] for k in keys)
    print("LED program (4 homes) %s..%s: truth %.1f kWh, weather %.1f kWh (90%% %.1f..%.1f), "
          "day-type-month %.1f kWh" % (RETROFIT, REPORT_TO, true_kwh, w_kwh,
                                       prog["saved_low_kwh"], prog["saved_high_kwh"], t_kwh))
    assert true_kwh > 0
    assert abs(t_kwh - true_kwh) > 3 * abs(w_kwh - true_kwh)
    assert t_kwh < 0 < w_kwh
    assert abs(w_kwh - true_kwh) <= 0.03 * true_kwh   # issue 15's bound for a program
    for k in ("w1", "w2", "w3"):   # each retrofitted home: a loss by day-type-month
        assert daytype[k]["kwh_saved"] < 0 < weather[k]["kwh_saved"], k
    for k in keys:                 # each home: under a third of day-type-month's error
        assert abs(daytype[k]["kwh_saved"] - truth[k]) > \
            3 * abs(weather[k]["kwh_saved"] - truth[k]), k
    # the line of docs/SAVINGS.md "A hotter summer" is this run's
    with open(os.path.join(harness.source_dir(), "docs", "SAVINGS.md"), encoding="utf-8") as fh:
        section = fh.read().split("### A hotter summer", 1)[1].split("\n#", 1)[0]
    block = section.split("```")[1].splitlines()
    assert block[1] == ("truth %.1f kWh, weather %.1f kWh (90%% %.1f..%.1f), day-type-month "
                        "%.1f kWh" % (true_kwh, w_kwh, prog["saved_low_kwh"],
                                      prog["saved_high_kwh"], t_kwh)), block


def test_weather_truth_inside_interval(city):
    """Issue 15 item 3's goal on this small program: the truth inside the 90 % interval of the
    program and of each device (degree days from the hours; with daily-mean degree days the
    hotter summer's cooling was under-predicted by more than the interval)."""
    d, truth = city
    weather = rows_of(savings(d, "--by", "device", "--format", "json", "--method", "weather"))
    prog = rows_of(savings(d, "--format", "json", "--method", "weather"))["led"]
    keys = ("w1", "w2", "w3", "w4")
    assert prog["saved_low_kwh"] <= sum(truth[k] for k in keys) <= prog["saved_high_kwh"]
    for k in keys:
        assert weather[k]["saved_low_kwh"] <= truth[k] <= weather[k]["saved_high_kwh"], k


def test_table_csv_explain(city):
    d, truth = city
    weather = rows_of(savings(d, "--by", "device", "--format", "json", "--method", "weather"))
    w1 = weather["w1"]
    # CSV: the interval and the fit have their columns
    lines = savings(d, "--by", "device", "--format", "csv").stdout.strip().splitlines()
    assert lines[0] == ("PERIOD,KEY,PROGRAM,KIND,DEVICES,DATA,METHOD,BASELINE,kWh_REF,kWh_ACTUAL,"
                        "kWh_SAVED,kWh_LOW90,kWh_HIGH90,KRW,CO2_kg,FIT,DETAIL")
    cells = {row[1]: row for row in csv.reader(lines[1:])}
    c = cells["w1"]
    assert c[6] == "weather" and c[10] == "%.3f" % w1["kwh_saved"]
    assert (c[11], c[12]) == ("%.3f" % w1["saved_low_kwh"], "%.3f" % w1["saved_high_kwh"])
    assert c[15].startswith(w1["model"]) and c[15].endswith("G14 ok"), c
    assert "CV %.1f%%" % (w1["cvrmse"] * 100) in c[15] and "R2 %.2f" % w1["r2"] in c[15]
    assert cells["n1"][6] == "day-type-month" and cells["n1"][11:13] == ["", ""]
    # the table: the same cells; the Methods section says which devices use which method
    out = savings(d, "--by", "device").stdout
    line = [x for x in out.splitlines() if x.split()[:1] == ["w1"]][0]
    assert re.search(r"\bweather\b.*%.3f +%.3f +%.3f" % (w1["kwh_saved"], w1["saved_low_kwh"],
                                                         w1["saved_high_kwh"]), line), line
    assert "led (led-retrofit): weather: avoided = counterfactual - actual" in out
    assert "baseline: weather 4 device(s) (0 failing G14), day-type-month 0" in out
    assert ("baseline: weather 0 device(s) (0 failing G14), day-type-month 1 (no "
            "weather_station for site n1 or program led-nows (savings.yaml))") in out
    # --explain: the equation, coefficients with p-values, the fit against G14, the interval
    ex = savings(d, "--explain", "w1").stdout
    assert "Baseline method: weather, KMA station 133; baseline period 2015-06-02 .. " \
           "2016-05-31" in ex, ex
    assert re.search(r"^Model %s: kWh/day = a \+ w W" % re.escape(w1["model"]), ex, re.M), ex
    assert re.search(r"^  bc  = +[0-9.]+ kWh per CDD  \(p = [0-9.e-]+, needs < 0\.1\)$", ex,
                     re.M), ex
    assert "CV(RMSE) %.1f%% (G14: <= 30%%)" % (w1["cvrmse"] * 100) in ex
    assert "R2 %.3f" % w1["r2"] in ex and ": G14 ok" in ex
    assert "90%% interval %.3f .. %.3f kWh" % (w1["saved_low_kwh"], w1["saved_high_kwh"]) in ex
    days = [x for x in ex.splitlines() if re.match(r"20\d\d-\d\d-\d\d ", x)]
    assert len(days) == 122                                   # 2016-06-01 .. 09-30
    first = days[0].split()  # DATE TYPE TEMP_C PREDICTED ACTUAL AVOIDED CUMULATIVE KRW CO2
    assert first[0] == "2016-06-01" and first[1] == "weekday"
    assert float(first[3]) - float(first[4]) == pytest.approx(float(first[5]), abs=2e-3)
    ex = savings(d, "--explain", "n1").stdout
    assert "Baseline method: day-type-month (no weather_station for site n1" in ex


def test_method_option_and_config_errors(city, tmp_path):
    d, _ = city
    r = savings(d, "--method", "regression", check=False)
    assert r.returncode == 64 and "--method must be weather or day-type-month, not " \
                                  "'regression'" in r.stderr, r
    # baseline.method in savings.yaml; --method overrides it
    y = tmp_path / "s.yaml"
    y.write_text(SAVINGS_YAML + "baseline:\n  method: day-type-month\n")
    base = ("savings", "--savings", str(y), "--from", RETROFIT, "--to", REPORT_TO, "--by",
            "device", "--format", "json")
    assert rows_of(enmon(d, *base))["w1"]["method"] == "day-type-month"
    assert rows_of(enmon(d, *base, "--method", "weather"))["w1"]["method"] == "weather"
    y.write_text(SAVINGS_YAML + "baseline:\n  method: linear\n")
    r = enmon(d, *base, check=False)
    assert r.returncode == 78, r
    assert "%s:7: baseline.method: unknown value 'linear'" % y in r.stderr, r.stderr


def test_api_savings_interval(city):
    """/api/savings (the dashboard's tiles) uses the same sr_compute: the weather program's
    figure and interval equal `enmon savings --format json` by program."""
    d, _ = city
    cli = {r["key"]: r for r in json.loads(savings(d, "--format", "json").stdout)["rows"]}
    api = dashlib.get_json(d.url("/api/savings?from=%s&to=%s" % (RETROFIT, REPORT_TO)))
    progs = {p["program"]: p for p in api["programs"]}
    led = progs["led"]
    assert led["method"] == "weather" and led["has_interval"] is True, led
    assert led["saved_kwh"] == pytest.approx(cli["led"]["kwh_saved"], abs=1e-6)
    assert led["saved_low_kwh"] == pytest.approx(cli["led"]["saved_low_kwh"], abs=1e-6)
    assert led["saved_high_kwh"] == pytest.approx(cli["led"]["saved_high_kwh"], abs=1e-6)
    assert led["g14_fail_devices"] == 0
    nows = progs["led-nows"]
    assert nows["method"] == "day-type-month" and nows["saved_low_kwh"] is None
    # the total has no interval: led-nows has none (an interval of a part is not one of all)
    assert api["total"]["has_interval"] is False and api["total"]["saved_low_kwh"] is None
    assert api["total"]["saved_kwh"] == pytest.approx(led["saved_kwh"] + nows["saved_kwh"])
