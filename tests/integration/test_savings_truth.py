"""test_savings_truth.py -- issue 15 items 4 and 6: `enmon savings` on a simulated city whose
reporting year is 2.5 C hotter in summer and 2 C colder in winter than its baseline year,
checked against enmon-sim's truth file (docs/SIMULATOR.md "The truth file"): program totals
within 3 % of the truth and at least 90 % of the devices' true savings inside their reported
90 % interval with the weather method; how far the day-type x month method is off is printed.
The AMI program's difference-in-differences interval holds its true feedback saving."""
import math
import sqlite3
import subprocess

import pytest

import daemon
import harness
import truthcity

SEED = 7
# 16 retrofitted homes + 8 of the program that changed nothing, 3 office buildings, 12 AMI
# participants + 12 comparison homes: 51 devices, 611 days (3.0 million intervals).
SIZES = dict(n_led=16, n_still=8, n_bld=3, n_ami=12, n_cmp=12)


def has_method_option():
    """helper-W's `enmon savings --method weather|day-type-month` is in this build."""
    for args in (["--help"], ["savings", "--help"]):
        r = subprocess.run([daemon.bin_path("enmon")] + args, capture_output=True, text=True,
                           timeout=30)
        if "--method" in r.stdout + r.stderr:
            return True
    return False


@pytest.fixture(scope="module")
def city(tmp_path_factory):
    """The city's database (devices written by enmond, which polls nothing: its links point at
    a port nobody listens on and its broker is absent), history, weather and truth imported."""
    tmp = tmp_path_factory.mktemp("city")
    devs, programs, savings = truthcity.city(harness.free_port(), **SIZES)
    import yaml
    (tmp / "sim.yaml").write_text(yaml.safe_dump({"seed": SEED, "devices": devs}))
    (tmp / "savings.yaml").write_text(savings)
    d = daemon.Enmond(tmp, harness.free_port(), programs, interval="1h").start()

    def devices_written():
        try:
            with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
                return db.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == len(devs)
        except sqlite3.Error:
            return False
    ok = daemon.wait_for(devices_written, 30)
    assert d.stop() == 0
    assert ok, d.log_text()
    hist, truth, wx = truthcity.generate(daemon.bin_path("enmon-sim"), str(tmp / "sim.yaml"),
                                         d.config, str(tmp), SEED)
    daemon.enmon("--config", d.config, "import", "intervals", hist)
    daemon.enmon("--config", d.config, "import", "weather", wx)
    return d, str(tmp / "savings.yaml"), truthcity.truth_avoided(truth)


def test_ami_feedback_truth_inside_interval(city):
    """The truth of item 6 in the city: the participants' true feedback saving (the truth
    file's avoided kWh, 0 for every comparison home) lies inside the DiD 90 % interval."""
    d, savings, truth = city
    assert all(v == 0.0 for k, v in truth.items() if k.startswith("cmp")), "comparison saved"
    assert all(v == 0.0 for k, v in truth.items() if k.startswith("led") and
               int(k[3:6]) >= SIZES["n_led"]), "a home that changed nothing saved"
    true_kwh = sum(v for k, v in truth.items() if k.startswith("ami"))
    # 12 homes of 350 kWh a month on average x 4 % x 8 months, about 1,340 kWh (heating and
    # cooling above that average in the hotter summer and colder winter)
    assert 900 < true_kwh < 2500, true_kwh
    report = truthcity.savings_json(daemon.bin_path("enmon"), d.config, savings)
    row = [r for r in report["rows"] if r.get("kind") == "ami" and r["program"] == "ami"][0]
    assert row["data"] == "ok", row
    err = 100.0 * (row["kwh_saved"] - true_kwh) / true_kwh
    line = ("AMI feedback: truth %.1f kWh, DiD %.1f kWh (%+.1f %%), 90%% interval %.1f..%.1f"
            % (true_kwh, row["kwh_saved"], err, row["saved_low_kwh"], row["saved_high_kwh"]))
    print("\n" + line)
    assert row["saved_low_kwh"] <= true_kwh <= row["saved_high_kwh"], row
    assert doc_lines()[2] == line                   # docs/SIMULATOR.md (seed 7)


def doc_lines():
    """The ```text block of docs/SIMULATOR.md "Savings against the truth"."""
    import os
    with open(os.path.join(harness.source_dir(), "docs", "SIMULATOR.md"), encoding="utf-8") as fh:
        text = fh.read()
    section = text.split("### Savings against the truth", 1)[1]
    return section.split("```text\n", 1)[1].split("```", 1)[0].splitlines()


@pytest.fixture(scope="module")
def methods(city):
    """Per program (led, bld): the weather and day-type-month methods' device rows against the
    truth (truthcity.compare), and the table lines printed and shown in docs/SIMULATOR.md."""
    d, savings, truth = city
    if not has_method_option():
        pytest.skip("enmon savings has no --method option yet (issue 15 items 2-3, "
                    "helper-W's wiring of src/savings/baseline_model.c)")
    enmon = daemon.bin_path("enmon")
    rows = {}
    for method in ("weather", "day-type-month"):
        rows[method] = [r for r in truthcity.savings_json(
            enmon, d.config, savings, "--by", "device", "--method", method)["rows"]
            if r.get("key") in truth and truthcity.program_of(r["key"]) in ("led", "bld")]
    weather = truthcity.compare(truth, rows["weather"])
    dtm = truthcity.compare(truth, rows["day-type-month"])
    lines = []
    for prog in sorted(weather, reverse=True):
        w, t = weather[prog], dtm.get(prog, {})
        lines.append("%s  truth %.1f kWh | weather %.1f kWh (%+.2f %%), %d of %d inside the 90 %% "
                     "interval | day-type-month %.1f kWh (%+.1f %%)"
                     % (prog, w["truth"], w["reported"], w["error_pct"], w["inside"],
                        w["devices"], t.get("reported", math.nan), t.get("error_pct", math.nan)))
    print("\n" + "\n".join(lines))
    return rows, weather, dtm, lines


def test_weather_method_rows_and_table(city, methods):
    """The weather method's rows: one per device of led and bld, method weather, an interval;
    --by program sums them; the printed table is docs/SIMULATOR.md's (seed 7)."""
    d, savings, truth = city
    rows, weather, dtm, lines = methods
    for row in rows["weather"]:
        assert row.get("method", "").startswith("weather"), row
        assert row["has_interval"] and row["saved_low_kwh"] < row["saved_high_kwh"], row
    assert set(weather) == {"led", "bld"} and set(dtm) == {"led", "bld"}
    assert weather["led"]["devices"] == SIZES["n_led"] + SIZES["n_still"]
    assert weather["bld"]["devices"] == SIZES["n_bld"]
    by_prog = truthcity.savings_json(daemon.bin_path("enmon"), d.config, savings, "--by",
                                     "program", "--method", "weather")["rows"]
    progs = {r["program"]: r for r in by_prog if r.get("program") in weather}
    assert set(progs) == {"led", "bld"}
    prog_lines = []
    for prog in ("led", "bld"):
        r = progs[prog]
        assert truthcity.saved(r) == pytest.approx(weather[prog]["reported"], abs=1e-6)
        # the program's own 90 % interval: how precisely the data allow the total to be known
        prog_lines.append("%s program: %.1f kWh, 90 %% interval %.1f..%.1f (+-%.1f %% of the "
                          "truth %.1f)" % (prog, truthcity.saved(r), r["saved_low_kwh"],
                                           r["saved_high_kwh"], 50.0 * (r["saved_high_kwh"] -
                                           r["saved_low_kwh"]) / weather[prog]["truth"],
                                           weather[prog]["truth"]))
    print("\n".join(prog_lines))
    assert doc_lines()[3:5] == prog_lines
    # the offices' retrofit saves 12 % of the working-hours load: about 6 % of their use
    # (docs/SIMULATOR.md; working hours are about half of an office's energy)
    use = sum(r["kwh_actual"] for r in rows["weather"] if r["key"].startswith("bld"))
    assert 0.04 * use < weather["bld"]["truth"] < 0.08 * use
    assert doc_lines()[:2] == lines
    # the balance points docs/SIMULATOR.md names: the homes' are the simulator's (15 C, 22 C:
    # every hour), the offices' lower (14 C, 20 C on weekdays 08-19 only)
    homes = [r for r in rows["weather"] if r["key"].startswith("led")]
    offices = [r for r in rows["weather"] if r["key"].startswith("bld")]
    assert {r["cool_balance_c"] for r in homes} == {22}, homes
    assert {r["heat_balance_c"] for r in homes} <= {14, 15, 16}, homes
    assert {(r["heat_balance_c"], r["cool_balance_c"]) for r in offices} == {(11, 18)}, offices


# The bounds of issue 15 item 4. The offices' fit (11 C / 18 C for heating and cooling that
# really happen on weekdays 08-19 at 14 C / 20 C) leaves a model-form error of about 0.3 % of
# their use: +1.6 % of their lighting retrofit's savings (docs/SIMULATOR.md "Savings against the
# truth"; it was +8 % when the simulator's office retrofit saved under 2 % of their use).
def test_weather_method_within_issue_bounds(methods):
    """Issue 15 item 4, the bounds from the issue and the truth from the truth file: per program
    (led, bld) |weather-method total - truth| <= 3 % of the truth; over all their devices at
    least 90 % with the truth inside [saved_low_kwh, saved_high_kwh]. The day-type x month
    method's error is printed (the fixture), not bounded: it is the method that fails."""
    rows, weather, dtm, lines = methods
    failed = []
    for prog, w in sorted(weather.items()):
        assert w["truth"] > 0
        if abs(w["reported"] - w["truth"]) > 0.03 * w["truth"]:
            failed.append("%s: %.1f kWh against a truth of %.1f (%+.2f %%, bound 3 %%)"
                          % (prog, w["reported"], w["truth"], w["error_pct"]))
    devices = sum(w["devices"] for w in weather.values())
    inside = sum(w["inside"] for w in weather.values())
    if inside < 0.9 * devices:
        failed.append("%d of %d devices' truth inside their 90 %% interval (bound 90 %%)"
                      % (inside, devices))
    assert not failed, "; ".join(failed)


def test_ess_bill_truth(tmp_path):
    """Item 4's ESS truth: `enmon-sim history --truth-bills` bills the demo city hall's grid
    import with its battery and without it (the same load, the battery taken out) on the
    program's time-of-use tariff (config/savings.yaml); `enmon savings` values the ESS as
    bill(building) - bill(grid import) from the grid and ESS meters. Over the same months (the
    same ratchet history: the report's and the truth's first month is 2016-09) the report's KRW
    per month is the truth's no_ess_bill_krw - bill_krw and its kWh the truth's no_ess_kwh - kwh
    (the battery's losses, negative), within the rounding of the CSV's 0.1 Wh values: the grid
    bills are the same numbers; enmon's building load grid - charge + discharge carries up to
    3 roundings of 0.05 Wh an interval against the truth's one, 0.15 Wh at most: the billing
    demand (kWh x 4) by 0.6 W x 8,320 KRW/kW = 5.0 KRW, the energy by 0.15 Wh x 191.1 KRW/kWh
    (the highest rate) x 2,976 intervals (31 days) = 85.3 KRW and 0.45 kWh: bounds 91 KRW and
    0.45 kWh (measured: 6.8 KRW in September)."""
    import csv
    import os
    import yaml
    src = harness.source_dir()
    port = harness.free_port()
    with open(os.path.join(src, "config", "sim-demo.yaml"), encoding="utf-8") as fh:
        sim = yaml.safe_load(fh)
    sim["devices"] = [dict(dv, port=port) for dv in sim["devices"] if dv["port"] == 15026]
    (tmp_path / "sim.yaml").write_text(yaml.safe_dump(sim))
    with open(os.path.join(src, "config", "enmond.yaml"), encoding="utf-8") as fh:
        hall = [p for p in yaml.safe_load(fh)["programs"] if p["id"] == "ess-city-hall"]
    text = yaml.safe_dump({"programs": hall}).replace("127.0.0.1:15026", "127.0.0.1:%d" % port)
    d = daemon.Enmond(tmp_path, harness.free_port(), text, interval="1h").start()

    def devices_written():
        try:
            with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
                return db.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == 2
        except sqlite3.Error:
            return False
    ok = daemon.wait_for(devices_written, 30)
    assert d.stop() == 0
    assert ok, d.log_text()
    savings = os.path.join(src, "config", "savings.yaml")
    hist, bills = str(tmp_path / "hall.csv"), str(tmp_path / "bills.csv")
    subprocess.run([daemon.bin_path("enmon-sim"), "history", "--config", str(tmp_path / "sim.yaml"),
                    "--enmond", d.config, "--savings", savings, "--from", "2016-09-01",
                    "--to", "2016-10-31", "--truth-bills", bills, "--out", hist],
                   check=True, capture_output=True, timeout=120)
    with open(bills, encoding="utf-8") as fh:
        truth = {r["month"]: r for r in csv.DictReader(fh)}
    assert set(truth) == {"2016-09", "2016-10"}               # the grid meter only, not the ESS's
    daemon.enmon("--config", d.config, "import", "intervals", hist)
    r = daemon.enmon("--config", d.config, "--tz", "+09:00", "savings", "--savings", savings,
                     "--from", "2016-09-01", "--to", "2016-10-31", "--group", "month",
                     "--format", "json")
    import json
    months = {row["period"]: row for row in json.loads(r.stdout)["rows"]}
    for month, t in truth.items():
        true_krw = float(t["no_ess_bill_krw"]) - float(t["bill_krw"])
        print("\nESS %s: truth %.2f KRW (bill %s without the battery, %s with it), report %.2f"
              % (month, true_krw, t["no_ess_bill_krw"], t["bill_krw"], months[month]["krw"]))
        assert float(t["no_ess_demand_kw"]) > float(t["demand_kw"])  # the peak falls
        assert true_krw > 0
        assert months[month]["krw"] == pytest.approx(true_krw, abs=91.0)
        assert months[month]["kwh_saved"] == pytest.approx(
            float(t["no_ess_kwh"]) - float(t["kwh"]), abs=0.45)
    # docs/SIMULATOR.md "The truth file": the bills line and the two September figures
    import os
    with open(os.path.join(harness.source_dir(), "docs", "SIMULATOR.md"), encoding="utf-8") as fh:
        doc = fh.read().split("The true bill without the battery", 1)[1].split("\n### ", 1)[0]
    with open(bills, encoding="utf-8") as fh:
        assert doc.split("```\n", 1)[1].split("```", 1)[0] in fh.read()
    sept = truth["2016-09"]
    assert "{:,.2f} KRW in September".format(
        float(sept["no_ess_bill_krw"]) - float(sept["bill_krw"])) in doc
    assert "reports\n{:,.2f}".format(months["2016-09"]["krw"]) in doc
