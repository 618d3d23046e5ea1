"""truthcity.py -- a simulated city for the savings truth test and bench/savings_truth: its
enmon-sim and enmond configurations, savings.yaml, `enmon-sim history --truth` and `enmon-sim
weather` with a reporting year hotter in summer and colder in winter than its baseline year,
and the comparison of `enmon savings` JSON rows with the truth file (docs/SIMULATOR.md "The
truth file")."""
import csv
import json
import math
import os
import subprocess

import yaml

BASE_FROM = "2015-06-01"          # history from here: the baseline year 2015-06-01 .. 2016-05-31
RETROFIT = "2016-06-01"           # LED / building retrofits, AMI feedback start
REPORT_TO = "2017-01-31"          # reporting period RETROFIT .. REPORT_TO: a summer and a winter
SUMMER_C, WINTER_C = 2.5, -2.0    # the reporting year against the baseline year
STATION = 133
HOME_SIZES = (200, 260, 320, 380, 440, 500)       # kWh a month, cycled
BUILDING_SIZES = (20000, 26000, 32000, 38000)
AMI_SAVING = 0.04


def city(port, n_led, n_still, n_bld, n_ami, n_cmp):
    """The sim devices (ports port, port + 1, ... of 247 units each), the enmond programs YAML
    and savings.yaml. Programs: led
    (n_led retrofitted homes and n_still homes of the program that changed nothing), bld
    (n_bld office buildings with a lighting retrofit, kind efficiency), ami (n_ami households
    saving AMI_SAVING of their load from RETROFIT) and ami-control (n_cmp comparison homes)."""
    devs, programs = [], {}
    unit = 0

    def add(program, kind, site, size, phases, retrofit=False, feedback=False):
        nonlocal unit
        unit += 1
        # 247 unit ids a port; nothing listens on these ports: history joins by port and unit
        p, u = port + (unit - 1) // 247, (unit - 1) % 247 + 1
        dev = {"port": p, "unit": u, "kind": "meter", "phases": phases, "kwh_month": size}
        if feedback:
            dev.update(feedback_saving=AMI_SAVING, feedback_from=RETROFIT)
        devs.append(dev)
        entry = {"id": "%s-meter" % site, "kind": "meter", "link": "tcp://127.0.0.1:%d" % p,
                 "unit": u}
        if retrofit:
            entry["retrofit"] = RETROFIT
        programs.setdefault((program, kind), []).append({"id": site, "devices": [entry]})

    for i in range(n_led + n_still):
        add("led", "led-retrofit", "led%03d" % i, HOME_SIZES[i % len(HOME_SIZES)], 1,
            retrofit=i < n_led)
    for i in range(n_bld):
        add("bld", "efficiency", "bld%02d" % i, BUILDING_SIZES[i % len(BUILDING_SIZES)], 3,
            retrofit=True)
    for i in range(n_ami):
        add("ami", "ami", "ami%03d" % i, HOME_SIZES[i % len(HOME_SIZES)], 1, feedback=True)
    for i in range(n_cmp):
        add("ami-control", "ami", "cmp%03d" % i, HOME_SIZES[i % len(HOME_SIZES)] + 10 * (i % 3 - 1),
            1)
    plist = [{"id": p, "kind": k, "sites": sites} for (p, k), sites in programs.items()]
    savings = ("co2:\n  - {from: 2010-01-01, factor: 0.4173}\n"
               "programs:\n"
               "  - {id: led, start: %s, weather_station: %d}\n"
               "  - {id: bld, start: %s, weather_station: %d}\n"
               "  - {id: ami, program_start: %s, comparison_program: ami-control, match_k: 3}\n"
               % (RETROFIT, STATION, RETROFIT, STATION, RETROFIT))
    return devs, yaml.safe_dump({"programs": plist}, sort_keys=False), savings


def generate(sim_bin, sim_yaml, enmond_yaml, outdir, seed):
    """`enmon-sim history` (weather-driven, offsets from RETROFIT, truth file) and the same
    temperatures as a KMA CSV. Returns (history.csv, truth.csv, weather.csv)."""
    hist, truth, wx = (os.path.join(outdir, n) for n in ("history.csv", "truth.csv", "wx.csv"))
    offsets = ["--weather-offset-summer", str(SUMMER_C), "--weather-offset-winter",
               str(WINTER_C), "--weather-offset-from", RETROFIT]
    subprocess.run([sim_bin, "history", "--config", sim_yaml, "--enmond", enmond_yaml,
                    "--from", BASE_FROM, "--to", REPORT_TO, "--seed", str(seed)] + offsets +
                   ["--truth", truth, "--out", hist], check=True, capture_output=True,
                   timeout=900)
    subprocess.run([sim_bin, "weather", "--from", BASE_FROM, "--to", REPORT_TO,
                    "--seed", str(seed), "--station", str(STATION),
                    "--offset-summer", str(SUMMER_C), "--offset-winter", str(WINTER_C),
                    "--offset-from", RETROFIT, "--out", wx], check=True, capture_output=True,
                   timeout=300)
    return hist, truth, wx


def truth_avoided(truth_path, first=RETROFIT, last=REPORT_TO):
    """Per device: the truth file's avoided kWh summed over the reporting days."""
    out = {}
    with open(truth_path, encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            if first <= row["date"] <= last:
                out[row["device"]] = out.get(row["device"], 0.0) + float(row["avoided_kwh"])
    return out


def saved(row):
    """A report row's savings (kwh_saved; saved_kwh in the weather contract)."""
    v = row.get("kwh_saved", row.get("saved_kwh"))
    return None if v is None else float(v)


def savings_json(enmon_bin, config, savings_yaml, *args):
    r = subprocess.run([enmon_bin, "--config", config, "--tz", "+09:00", "savings", "--savings",
                        savings_yaml, "--from", RETROFIT, "--to", REPORT_TO, "--format", "json"]
                       + list(args), capture_output=True, text=True, timeout=600)
    if r.returncode != 0:
        raise RuntimeError("enmon savings %s: exit %d: %s" % (" ".join(args), r.returncode,
                                                              r.stderr))
    return json.loads(r.stdout)


def program_of(device):
    """The program of a device id of city()."""
    return {"led": "led", "bld": "bld", "ami": "ami", "cmp": "ami-control"}[device[:3]]


def compare(truth, device_rows):
    """Per program of the weather-method device rows: truth kWh, reported kWh, error %, and the
    devices whose truth lies inside [saved_low_kwh, saved_high_kwh] (of those with a row)."""
    progs = {}
    for row in device_rows:
        key = row.get("key")
        if key not in truth:
            continue
        p = progs.setdefault(program_of(key), {"truth": 0.0, "reported": 0.0, "devices": 0,
                                               "inside": 0, "no_interval": 0})
        p["truth"] += truth[key]
        p["reported"] += saved(row) if saved(row) is not None else math.nan
        p["devices"] += 1
        lo, hi = row.get("saved_low_kwh"), row.get("saved_high_kwh")
        if lo is None or hi is None:
            p["no_interval"] += 1
        elif lo <= truth[key] <= hi:
            p["inside"] += 1
    for p in progs.values():
        p["error_pct"] = (100.0 * (p["reported"] - p["truth"]) / p["truth"]
                          if p["truth"] else math.nan)
    return progs


def led_homes(homes, port, retrofit, seed):
    """A few homes on one enmon-sim port, for tests that import their history rather than
    poll them: `homes` rows (key, program, kWh a month, retrofitted); returns the enmon-sim
    YAML (meters at units 1..n) and enmond's programs YAML (led-retrofit programs, a site per
    home, `retrofit: retrofit` on the retrofitted, from which `enmon-sim history` retrofits
    the lighting)."""
    devs, sites = [], {}
    for unit, (key, program, size, retrofitted) in enumerate(homes, 1):
        devs.append({"port": port, "unit": unit, "kind": "meter", "phases": 1,
                     "kwh_month": size})
        entry = {"id": key, "kind": "meter", "link": "tcp://127.0.0.1:%d" % port, "unit": unit}
        if retrofitted:
            entry["retrofit"] = retrofit
        sites.setdefault(program, []).append({"id": key, "devices": [entry]})
    programs = yaml.safe_dump({"programs": [{"id": p, "kind": "led-retrofit", "sites": s}
                                            for p, s in sites.items()]}, sort_keys=False)
    return yaml.safe_dump({"seed": seed, "devices": devs}), programs
