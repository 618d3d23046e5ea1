"""test_config_fail_closed.py -- configurations fail closed (issue 12, items 5 and 6).

Every bad file of tests/data/config/bad-*.yaml is refused with FILE:LINE: field: reason and
exit 78, by `enmond --check-config` and by a starting enmond alike (one validation, in
config_load); the register map, savings and enmon-sim files share the YAML rules
(src/common/yaml_doc.c); a SIGHUP with a bad file keeps the running configuration polling;
the savings.yaml beside the config is validated at check, start and SIGHUP alike; `enmon
import` refuses rows with another UTC offset and devices with hourly and 15-minute rows;
100 "online" announcements of Home Assistant cause one discovery round, not a hundred.
"""
import json
import os
import re
import signal
import sqlite3
import subprocess
import time

import paho.mqtt.client as mqtt
import pytest

import daemon
import harness
import mqttwatch
from test_reliability import Timeline, db_rows, programs_yaml, sim_yaml

DATA = os.path.join(harness.source_dir(), "tests", "data", "config")

# file, line, field, reason (a part of it)
BAD = [
    ("bad-two-documents.yaml", 3, "(document)", "a second YAML document starts here"),
    ("bad-empty.yaml", 1, "(document)", "empty: no YAML content"),
    ("bad-comments-only.yaml", 1, "(document)", "empty: no YAML content"),
    ("bad-alias-bomb.yaml", 6, "(document)", "aliases expand to more than 100000 nodes"),
    ("bad-syntax.yaml", 4, None, "YAML syntax error"),
    ("bad-no-devices.yaml", 4, "programs", "no devices"),
    ("bad-empty-database.yaml", 2, "database", "empty path"),
    ("bad-http-listen-name.yaml", 4, "http.listen", "'localhost' is not an IPv4 address"),
    ("bad-rtu-unit-0.yaml", 12, "programs[0].sites[0].devices[0].unit",
     "unit 0 is the RTU broadcast address"),
]


def located(path, line, field, reason):
    """The regular expression of enmond's message: FILE:LINE: field: reason."""
    head = re.escape("%s:%d: " % (path, line))
    return head + (re.escape(field + ": ") if field else "") + ".*" + re.escape(reason)


@pytest.mark.parametrize("name,line,field,reason", BAD, ids=[b[0] for b in BAD])
def test_bad_config_exit_78_check_and_start_agree(name, line, field, reason):
    path = os.path.join(DATA, name)
    check = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", path],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 78, check.stdout + check.stderr
    assert "OK" not in check.stdout
    assert re.search(located(path, line, field, reason), check.stderr), check.stderr
    # the daemon itself refuses the file the same way, before it opens anything
    start = subprocess.run([daemon.bin_path("enmond"), "-c", path, "--time",
                            "2026-06-21T12:00:00+09:00", "--speed", "0"],
                           capture_output=True, text=True, timeout=30)
    assert start.returncode == 78, start.stdout + start.stderr
    assert re.search(located(path, line, field, reason), start.stderr), start.stderr
    assert not os.path.exists("/tmp/enmon-fail-closed.db")


def test_config_md_fail_closed_examples_are_exact():
    """Each example line of docs/CONFIG.md's "Fail closed" block is what --check-config
    prints for that file of tests/data/config (after the directory)."""
    with open(os.path.join(harness.source_dir(), "docs", "CONFIG.md"), encoding="utf-8") as fh:
        doc = fh.read()
    block = doc.split("### Fail closed", 1)[1].split("```", 2)[1]
    lines = [ln for ln in block.splitlines() if ln.strip()]
    assert len(lines) == len(BAD)
    for ln in lines:
        name = ln.split(":", 1)[0]
        res = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c",
                              os.path.join(DATA, name)], capture_output=True, text=True,
                             timeout=30)
        assert res.returncode == 78
        assert res.stderr.strip() == "<3>" + os.path.join(DATA, ln), (ln, res.stderr)


def test_map_savings_and_simulator_files_fail_closed(tmp_path):
    """The register map, savings and enmon-sim parsers share yaml_doc.c: a second document,
    an alias bomb and an empty file are errors (exit 78, FILE:LINE: field: reason)."""
    bomb = os.path.join(DATA, "bad-alias-bomb.yaml")
    two_docs = "devices:\n  - {port: %d, unit: 1, kind: meter}\n---\nseed: 2\n" % \
        harness.free_port()
    sim_cases = [(two_docs, 3, "a second YAML document"), ("", 1, "empty: no YAML content")]
    for text, line, reason in sim_cases:
        sim_path = tmp_path / "sim.yaml"
        sim_path.write_text(text)
        res = subprocess.run([daemon.bin_path("enmon-sim"), "--config", str(sim_path)],
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 78, res.stderr
        assert re.search(located(str(sim_path), line, "(document)", reason), res.stderr), \
            res.stderr
    res = subprocess.run([daemon.bin_path("enmon-sim"), "--config", bomb],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 78, res.stderr
    assert re.search(located(bomb, 6, "(document)", "aliases expand"), res.stderr), res.stderr

    # a device's map file with a second document: the config is refused at the map's line
    (tmp_path / "map.yaml").write_text(
        "name: m\npoints:\n  - {name: p, address: 0, type: s16, measurement: power_w}\n"
        "---\nname: n\n")
    cfg = tmp_path / "enmond.yaml"
    cfg.write_text("database: %s\nprograms:\n  - id: p\n    kind: ami\n    sites:\n"
                   "      - id: s\n        devices:\n"
                   "          - {id: d, kind: meter, link: 'tcp://127.0.0.1:1502', unit: 1,"
                   " map: map.yaml}\n" % (tmp_path / "enmon.db"))
    res = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", str(cfg)],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 78, res.stderr
    assert re.search(located(str(tmp_path / "map.yaml"), 4, "(document)", "a second YAML"),
                     res.stderr), res.stderr

    # enmon savings (the map fixed) with a savings file that is two documents
    (tmp_path / "map.yaml").write_text(
        "name: m\npoints:\n  - {name: p, address: 0, type: s16, measurement: power_w}\n")
    (tmp_path / "savings.yaml").write_text("tariff: {}\n---\n")
    res = daemon.enmon("-c", str(cfg), "savings", "--savings", str(tmp_path / "savings.yaml"),
                       "--from", "2026-06-01", "--to", "2026-06-02", check=False)
    assert res.returncode == 78, res.stdout + res.stderr
    assert re.search(located(str(tmp_path / "savings.yaml"), 2, "(document)", "a second YAML"),
                     res.stderr), res.stderr


def test_sighup_with_bad_file_keeps_polling(tmp_path, mosquitto, sim_factory):
    """The issue's case: a stray "---" before programs: used to reload as 0 devices and stop
    all polling. Now each bad file is rejected with its FILE:LINE message, the running
    configuration keeps polling every device (rows keep arriving in the database), and
    enmond still exits 0 on SIGTERM."""
    port = harness.free_port()
    devs = [("inv", "inverter", port, 1, ", capacity: 3000"), ("meter", "meter", port, 2, "")]
    clock = Timeline()
    sim_factory(sim_yaml(devs), args=clock.args())
    d = daemon.Enmond(tmp_path, mosquitto.port, programs_yaml(devs), interval="500ms",
                      args=clock.args())
    with open(d.config, encoding="utf-8") as fh:
        good = fh.read()
    stray = good.replace("programs:", "---\nprograms:", 1)
    stray_line = good[:good.index("programs:")].count("\n") + 1
    with open(os.path.join(DATA, "bad-alias-bomb.yaml"), encoding="utf-8") as fh:
        bomb = fh.read()
    cases = [(stray, stray_line, "(document)", "a second YAML document"),
             (bomb, 6, "(document)", "aliases expand"),
             ("", 1, "(document)", "empty: no YAML content"),
             (good.split("programs:")[0], 1, "programs", "no devices")]
    try:
        d.start()
        assert daemon.wait_for(
            lambda: os.path.exists(d.db) and len(db_rows(d.db)) == 2, 15), d.log_text()
        for n, (text, line, field, reason) in enumerate(cases, start=1):
            with open(d.config, "w", encoding="utf-8") as fh:
                fh.write(text)
            before = {k: len(v) for k, v in db_rows(d.db).items()}
            d.proc.send_signal(signal.SIGHUP)
            assert daemon.wait_for(
                lambda: d.log_text().count("reload rejected") == n, 10), d.log_text()
            assert re.search(located(d.config, line, field, reason), d.log_text()), d.log_text()
            # 2 s at 500 ms per device: about 4 more rows each; at least 2 with margin
            time.sleep(2)
            after = {k: len(v) for k, v in db_rows(d.db).items()}
            for dev in ("inv", "meter"):
                assert after[dev] >= before[dev] + 2, (reason, dev, before, after)
            assert d.proc.poll() is None
        assert "configuration reloaded" not in d.log_text()
    finally:
        rc = d.stop()
    assert rc == 0


# min_days 0 is out of baseline.min_days's range 1..3660 (src/config/savings_config.c)
BAD_SAVINGS = "# savings parameters\nbaseline:\n  max_days: 365\n  min_days: 0\n"
BAD_SAVINGS_AT = (4, "baseline.min_days", "0 is out of range (1..3660)")


def doc_block(doc, after):
    """The lines of the first ``` block of docs/DOC after the text `after`."""
    with open(os.path.join(harness.source_dir(), "docs", doc), encoding="utf-8") as fh:
        text = fh.read()
    block = text.split(after, 1)[1].split("```", 2)[1]
    return [ln.strip() for ln in block.splitlines() if ln.strip()]


def one_device_config(tmp_path, port):
    cfg = tmp_path / "enmond.yaml"
    cfg.write_text("database: %s\nhttp:\n  port: 0\nprograms:\n  - id: p\n    kind: ami\n"
                   "    sites:\n      - id: s\n        devices:\n"
                   "          - {id: d, kind: meter, link: 'tcp://127.0.0.1:%d', unit: 1}\n"
                   % (tmp_path / "enmon.db", port))
    return str(cfg)


def test_bad_savings_refused_by_check_and_start(tmp_path):
    """savings.yaml next to the config (where the dashboard and `enmon savings` find it) is
    validated like the config: --check-config and a start refuse a bad one with exit 78 and
    FILE:LINE: field: reason, before the database is opened; a good one passes the check,
    which names the file it checked."""
    cfg = one_device_config(tmp_path, harness.free_port())
    savings = tmp_path / "savings.yaml"
    savings.write_text(BAD_SAVINGS)
    pattern = located(str(savings), *BAD_SAVINGS_AT)
    check = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", cfg],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 78, check.stdout + check.stderr
    assert "OK" not in check.stdout
    # the example of docs/CONFIG.md "Fail closed", exactly
    example = doc_block("CONFIG.md", "baseline: {min_days: 0}")
    assert example == ["savings.yaml:4: baseline.min_days: 0 is out of range (1..3660)"]
    assert check.stderr.strip() == "<3>%s/%s" % (tmp_path, example[0]), check.stderr
    start = subprocess.run([daemon.bin_path("enmond"), "-c", cfg, "--time",
                            "2026-06-21T12:00:00+09:00", "--speed", "0"],
                           capture_output=True, text=True, timeout=30)
    assert start.returncode == 78, start.stdout + start.stderr
    assert re.search(pattern, start.stderr), start.stderr
    assert not (tmp_path / "enmon.db").exists()
    # `enmon savings` refuses the same file with the same message
    res = daemon.enmon("-c", cfg, "savings", "--from", "2026-06-01", "--to", "2026-06-02",
                       check=False)
    assert res.returncode == 78 and re.search(pattern, res.stderr), res.stderr
    # the demo city's parameters pass; without a file the defaults are used
    with open(os.path.join(harness.source_dir(), "config", "savings.yaml"), encoding="utf-8") as fh:
        savings.write_text(fh.read())
    ok = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", cfg],
                        capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0, ok.stderr
    assert ok.stdout == "%s: OK: 1 programs, 1 sites, 1 devices on 1 links; savings %s\n" % (
        cfg, savings), ok.stdout
    savings.unlink()
    ok = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", cfg],
                        capture_output=True, text=True, timeout=30)
    assert ok.returncode == 0 and ok.stdout.endswith("; savings defaults\n"), ok.stdout


def test_sighup_with_bad_savings_keeps_polling(tmp_path, mosquitto, sim_factory):
    """A bad savings.yaml beside the config rejects the reload with its FILE:LINE message:
    the running configuration (and the dashboard's savings parameters) stay, polling goes on;
    once the file is fixed, the next SIGHUP reloads."""
    port = harness.free_port()
    devs = [("meter", "meter", port, 1, "")]
    clock = Timeline()
    sim_factory(sim_yaml(devs), args=clock.args())
    d = daemon.Enmond(tmp_path, mosquitto.port, programs_yaml(devs), interval="500ms",
                      args=clock.args())
    savings = tmp_path / "savings.yaml"
    try:
        d.start()
        assert daemon.wait_for(
            lambda: os.path.exists(d.db) and len(db_rows(d.db)) == 1, 15), d.log_text()
        savings.write_text(BAD_SAVINGS)
        before = len(db_rows(d.db)["meter"])
        d.proc.send_signal(signal.SIGHUP)
        assert daemon.wait_for(lambda: "reload rejected" in d.log_text(), 10), d.log_text()
        assert re.search(located(str(savings), *BAD_SAVINGS_AT), d.log_text()), d.log_text()
        # 2 s at 500 ms: about 4 more rows; at least 2 with margin
        time.sleep(2)
        assert len(db_rows(d.db)["meter"]) >= before + 2, d.log_text()
        assert d.proc.poll() is None
        assert "configuration reloaded" not in d.log_text()
        savings.write_text("baseline:\n  max_days: 365\n  min_days: 90\n")
        d.proc.send_signal(signal.SIGHUP)
        assert daemon.wait_for(lambda: "configuration reloaded" in d.log_text(), 10), \
            d.log_text()
        assert d.log_text().count("reload rejected") == 1
    finally:
        rc = d.stop()
    assert rc == 0


def test_import_refuses_other_offsets_and_mixed_steps(tmp_path, mosquitto):
    """`enmon import intervals`: a row with a UTC offset other than the zone's (+09:30 in a
    +09:00 city) used to land silently on the previous day, and a device with hourly and
    15-minute rows put an hour's energy into one interval; both are now errors naming
    FILE:LINE (exit 65) and nothing is written. With the file's zone given (--tz +09:30) the
    row is converted exactly."""
    d = daemon.Enmond(tmp_path, mosquitto.port,
                      programs_yaml([("m1", "meter", harness.free_port(), 1, "")]))
    try:
        d.start()

        def devices_written():
            try:
                with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
                    return db.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == 1
            except sqlite3.Error:
                return False
        assert daemon.wait_for(devices_written, 20), d.log_text()
    finally:
        assert d.stop() == 0

    def intervals():
        with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as db:
            return db.execute("SELECT start_s, wh_import FROM intervals ORDER BY start_s"
                              ).fetchall()
    head = "device,start,wh_import,wh_export\n"
    other = tmp_path / "other.csv"
    other.write_text(head + "m1,2024-06-01T00:00:00+09:00,100,0\n"
                     "m1,2024-06-01T00:15:00+09:30,100,0\n")
    r = daemon.enmon("--db", d.db, "--tz", "+09:00", "import", "intervals", str(other),
                     check=False)
    assert r.returncode == 65, r.stdout + r.stderr
    # the example of docs/SAVINGS.md, exactly (h.csv there)
    example = doc_block("SAVINGS.md", "The message, checked by")
    assert example[0].startswith("h.csv:3: start: '2024-06-01T00:15:00+09:30' has UTC offset "
                                 "+09:30, not the zone's +09:00 (it would count as "
                                 "2024-05-31T23:45+09:00)"), example
    assert example[0].replace("h.csv", str(other), 1) + "\n" in r.stderr, r.stderr
    assert intervals() == []
    mixed = tmp_path / "mixed.csv"
    mixed.write_text(head + "".join("m1,2024-06-01T%s:00+09:00,%s,0\n" % row for row in (
        ("15:00", 400), ("16:00", 400), ("17:00", 400), ("17:15", 100))))
    r = daemon.enmon("--db", d.db, "--tz", "+09:00", "import", "intervals", str(mixed),
                     check=False)
    assert r.returncode == 65, r.stdout + r.stderr
    example = doc_block("SAVINGS.md", "one hour gap, stays 15-minute")
    assert example[0].startswith("h.csv:5: start: device m1 mixes hourly rows (lines 2, 3, 4 "
                                 "are an hour apart) and 15-minute rows (line 5 is 15 minutes "
                                 "after line 4)"), example
    assert example[0].replace("h.csv", str(mixed), 1) + "\n" in r.stderr, r.stderr
    assert intervals() == []
    # the file's own zone given: 00:15+09:30 = 2024-05-31T14:45Z = 1717166700
    only = tmp_path / "only.csv"
    only.write_text(head + "m1,2024-06-01T00:15:00+09:30,100,0\n")
    daemon.enmon("--db", d.db, "--tz", "+09:30", "import", "intervals", str(only))
    assert intervals() == [(1717166700, 100.0)]


def ha_configs(watch):
    """Discovery config messages as (topic, retained, json) in arrival order."""
    with watch.lock:
        return [(t, r, json.loads(p)) for t, p, r in watch.messages
                if t.endswith("/config") and p]  # an empty one removes a sensor


def test_home_assistant_online_flood_one_round(tmp_path, mosquitto, sim_factory):
    """100 "online" messages on homeassistant/status in a burst: one more discovery round
    (docs/MQTT.md: a round starts once the last one is done and 5 s old; announcements
    before that are coalesced), where each announcement used to restart a round.

    Devices: 2 inverters (7 sensors each: power, energy_export, voltage, current, frequency,
    power_factor, temperature) and 1 household meter (6: power, energy_import, voltage,
    current, frequency, power_factor; it implements no export) = 2 x 7 + 6 = 20 configs per
    round. Before the burst a subscriber sees the start-up configs: the initial round, again
    once each device's SunSpec identity is read and once its readings show which sensors it
    implements (how many of those depends on which comes first); after it, one round: 20
    more, each topic once."""
    port = harness.free_port()
    devs = [("inv1", "inverter", port, 1, ", capacity: 3000"),
            ("inv2", "inverter", port, 2, ", capacity: 3000"),
            ("meter", "meter", port, 3, "")]
    per_round = 2 * 7 + 6
    clock = Timeline()
    sim_factory(sim_yaml(devs), args=clock.args())
    w = mqttwatch.Watch(mosquitto.port, topics=("homeassistant/sensor/#",),
                        client_id="fail-closed-watch")
    d = daemon.Enmond(tmp_path, mosquitto.port, programs_yaml(devs),
                      extra="", args=clock.args())
    with open(d.config, encoding="utf-8") as fh:
        text = fh.read()
    with open(d.config, "w", encoding="utf-8") as fh:
        fh.write(text.replace("  topic_root: enmon\n", "  topic_root: enmon\n  ha_discovery: true\n"))
    ha = mqtt.Client(client_id="fake-home-assistant")
    try:
        d.start()
        # the start-up configs: every sensor announced, each with the identity
        def identified():
            latest = {t: c for t, _, c in ha_configs(w)}
            return len(latest) == per_round and all(
                c["dev"].get("mf") == "enmon-sim" for c in latest.values())
        assert daemon.wait_for(identified, 15), (ha_configs(w), d.log_text())
        time.sleep(1)  # the last start-up configs of the same tick
        startup = len(ha_configs(w))
        ha.connect("127.0.0.1", mosquitto.port)
        ha.loop_start()
        infos = [ha.publish("homeassistant/status", "online", qos=1) for _ in range(100)]
        for info in infos:
            info.wait_for_publish()
        # one round follows within 5 s of the initial one (plus 250 ms ticks)
        assert daemon.wait_for(lambda: len(ha_configs(w)) >= startup + per_round, 10), \
            (len(ha_configs(w)), d.log_text())
        time.sleep(8)  # past a second 5 s window: nothing more may come
        cfgs = ha_configs(w)[startup:]
        assert len(cfgs) == per_round, [t for t, _, _ in cfgs]
        counts = {}
        for t, _, _ in cfgs:
            counts[t] = counts.get(t, 0) + 1
        assert len(counts) == per_round and set(counts.values()) == {1}, counts
        print("\nhome assistant: 100 online messages -> %d discovery configs after the %d of "
              "start-up (%d devices, %d sensors)" % (len(cfgs), startup, len(devs), per_round))
    finally:
        ha.loop_stop()
        w.close()
        rc = d.stop()
    assert rc == 0
