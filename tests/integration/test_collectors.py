"""test_collectors.py -- collectors (issue 20, item 2; docs/SCALING.md): one shared
configuration lists every link of the deployment, assigned to collectors north and south; two
enmond instances started with --collector north and --collector south beside one enmon-sim
each poll only their own links: only their devices reach MQTT (paho) and their own SQLite
file. --check-config shows which links each collector owns; a link assigned to two
collectors is refused with its FILE:LINE and exit 78."""
import datetime
import os
import re
import signal
import sqlite3
import subprocess
import time

import daemon
import harness
from mqttwatch import Watch

START = datetime.datetime(2026, 6, 21, 12, 0, tzinfo=harness.KST)
NORTH = ["n1-m-1", "n1-m-2", "n2-m-1", "n2-m-2"]
SOUTH = ["s1-m-1", "s1-m-2", "s2-m-1", "s2-m-2"]


def shared_config(mqtt_port, ports):
    """Sites n1, n2 (north by their site's collector:), s1 (south by its site's) and s2,
    whose devices each name south; two meters (units 1 and 2) behind each link."""
    sites = ""
    for site, port, where in (("n1", ports[0], "site"), ("n2", ports[1], "site"),
                              ("s1", ports[2], "site"), ("s2", ports[3], "device")):
        name = "north" if site.startswith("n") else "south"
        sites += "      - id: %s\n" % site
        if where == "site":
            sites += "        collector: %s\n" % name
        sites += "        devices:\n"
        for unit in (1, 2):
            sites += ("          - {id: %s-m-%d, kind: meter, link: 'tcp://127.0.0.1:%d', "
                      "unit: %d%s}\n" % (site, unit, port, unit,
                                         ", collector: %s" % name if where == "device" else ""))
    return ("collectors: [north, south]\n"
            "mqtt:\n  host: 127.0.0.1\n  port: %d\n  topic_root: enmon\n"
            "database: enmon.db\n"  # relative: each instance runs in its own directory
            "http:\n  port: 0\n"
            "polling:\n  interval: 1s\n  timeout: 500ms\n  retries: 0\n  offline_after: 2\n"
            "programs:\n  - id: ami\n    kind: ami\n    sites:\n%s" % (mqtt_port, sites))


def start_collector(tmp_path, config, name, timeline):
    workdir = tmp_path / name
    workdir.mkdir()
    log = open(workdir / "enmond.log", "ab")
    proc = subprocess.Popen([daemon.bin_path("enmond"), "-c", config, "--collector", name]
                            + timeline.args(), cwd=str(workdir), stdout=log,
                            stderr=subprocess.STDOUT)
    return proc, log, str(workdir / "enmon.db")


def stop(proc, log):
    proc.terminate()
    rc = proc.wait(30)
    log.close()
    return rc


def keys(db_path, sql):
    db = sqlite3.connect(db_path)
    try:
        return sorted(r[0] for r in db.execute(sql))
    finally:
        db.close()


def test_each_collector_polls_only_its_links(tmp_path, mosquitto, sim_factory):
    ports = []
    while len(ports) < 4:
        p = harness.free_port()
        if p not in ports:
            ports.append(p)
    timeline = harness.Timeline(START)
    sim_factory("devices:\n" + "".join(
        "  - {port: %d, unit: 1, count: 2, kind: meter, phases: 1, kwh_month: 300}\n" % p
        for p in ports), args=timeline.args(), seed=7)
    config = str(tmp_path / "shared.yaml")
    with open(config, "w", encoding="utf-8") as fh:
        fh.write(shared_config(mosquitto.port, ports))

    check = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", config],
                           capture_output=True, text=True, timeout=30)
    assert check.returncode == 78, check.stdout + check.stderr  # which one is this instance?
    assert re.search(r"shared\.yaml:1: collector: collectors: are declared: start enmond with "
                     r"--collector NAME", check.stderr), check.stderr
    check = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", config,
                            "--collector", "north"], capture_output=True, text=True, timeout=30)
    assert check.returncode == 0, check.stderr
    assert check.stdout.splitlines() == [
        "collector north: 2 links, 4 devices: tcp://127.0.0.1:%d, tcp://127.0.0.1:%d"
        % (ports[0], ports[1]),
        "collector south: 2 links, 4 devices: tcp://127.0.0.1:%d, tcp://127.0.0.1:%d"
        % (ports[2], ports[3]),
        "%s: OK: 1 programs, 4 sites, 4 devices on 2 links; savings defaults" % config]

    watch = Watch(mosquitto.port)
    north, nlog, north_db = start_collector(tmp_path, config, "north", timeline)
    south = None
    try:
        assert daemon.wait_for(lambda: set(NORTH) <= set(watch.states()), 30), watch.states()
        # three more poll rounds of north alone: nothing of south's links is polled
        seen = len(watch.all_states("n1-m-1"))
        assert daemon.wait_for(lambda: len(watch.all_states("n1-m-1")) >= seen + 3, 30)
        assert set(watch.states()) == set(NORTH)

        south, slog, south_db = start_collector(tmp_path, config, "south", timeline)
        assert daemon.wait_for(lambda: set(SOUTH) <= set(watch.states()), 30), watch.states()
        # both stay connected (client ids enmond-north, enmond-south): north keeps publishing
        seen = len(watch.all_states("n2-m-2"))
        assert daemon.wait_for(lambda: len(watch.all_states("n2-m-2")) >= seen + 3, 30)
        seen = len(watch.all_states("s2-m-1"))
        assert daemon.wait_for(lambda: len(watch.all_states("s2-m-1")) >= seen + 3, 30)
        assert set(watch.states()) == set(NORTH + SOUTH)
        # a reload (SIGHUP) keeps the instance's collector (--collector), not the whole file
        north.send_signal(signal.SIGHUP)
        assert daemon.wait_for(lambda: "configuration reloaded: 4 devices" in open(
            tmp_path / "north" / "enmond.log", encoding="utf-8").read(), 30)
        seen = len(watch.all_states("n1-m-2"))
        assert daemon.wait_for(lambda: len(watch.all_states("n1-m-2")) >= seen + 2, 30)
    finally:
        watch.close()
        rc_south = stop(south, slog) if south else None
        rc_north = stop(north, nlog)
    assert rc_north == 0 and rc_south == 0

    with open(tmp_path / "north" / "enmond.log", encoding="utf-8") as fh:
        assert "enmond running: 4 devices on 2 links" in fh.read()
    for db_path, own in ((north_db, NORTH), (south_db, SOUTH)):
        assert keys(db_path, "SELECT key FROM devices") == own
        assert keys(db_path, "SELECT DISTINCT d.key FROM readings r "
                             "JOIN devices d ON d.id = r.device_id") == own


def test_link_assigned_twice_is_refused(tmp_path):
    ports = [harness.free_port(), harness.free_port()]
    ports = [ports[0], ports[1], ports[0], ports[1] + 1]  # s1 (south) on n1's link (north)
    text = shared_config(1883, ports)
    path = str(tmp_path / "twice.yaml")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write(text)
    lines = text.splitlines()
    # the first south assignment of the link: s1's collector: south (its site's line)
    line = lines.index("      - id: s1") + 2
    assert lines[line - 1] == "        collector: south"
    for args in (["--check-config"], ["--collector", "north", "--time",
                                      "2026-06-21T12:00:00+09:00", "--speed", "0"]):
        res = subprocess.run([daemon.bin_path("enmond"), "-c", path] + args,
                             capture_output=True, text=True, timeout=30)
        assert res.returncode == 78, res.stdout + res.stderr
        assert ("%s:%d: programs[0].sites[2].devices[0].collector: link tcp://127.0.0.1:%d "
                "assigned to collectors 'north' and 'south' (device 'n1-m-1', line %d): a link "
                "belongs to one collector" % (path, line, ports[0],
                                              lines.index("        devices:") + 2)
                ) in res.stderr, res.stderr


def test_scaling_md_example_is_what_check_config_prints(tmp_path):
    """docs/SCALING.md's shared deployment.yaml and the --check-config output shown under it."""
    with open(os.path.join(harness.source_dir(), "docs", "SCALING.md"), encoding="utf-8") as fh:
        doc = fh.read()
    example = doc.split("```yaml\n# deployment.yaml", 1)[1].split("```", 1)[0]
    shown = doc.split("$ enmond --check-config -c deployment.yaml --collector north\n", 1)[1]
    shown = shown.split("```", 1)[0].splitlines()
    path = str(tmp_path / "deployment.yaml")
    with open(path, "w", encoding="utf-8") as fh:
        fh.write("# deployment.yaml" + example)
    res = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", path,
                          "--collector", "north"], capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stderr
    assert res.stdout.replace(path, "deployment.yaml").splitlines() == shown
