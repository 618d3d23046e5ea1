"""test_storage_faults.py -- the live feed never waits on SQLite: a full filesystem and another
process's lock keep MQTT flowing, the readings wait in the store's memory and are all committed,
in order, once the database is writable again; start-up waits out a lock instead of exit 70."""
import datetime
import errno
import json
import os
import re
import sqlite3
import subprocess
import threading
import time

import paho.mqtt.client as mqtt
import pytest

import daemon
import dashlib
import harness

INTERVAL_MS = 200
FAULT_S = 20.0  # how long the filesystem stays full
LOCK_S = 10.0   # how long another process holds the write lock
START = datetime.datetime(2026, 6, 21, 12, 0, tzinfo=harness.KST)


class StateWatch:
    """Records every state message (device, ts_ms) with the monotonic time it arrived."""

    def __init__(self, port, client_id):
        self.lock = threading.Lock()
        self.got = []  # (arrival monotonic s, device, ts_ms)
        self.client = mqtt.Client(client_id=client_id, clean_session=True)
        self.client.on_message = self._on_message
        self.client.connect("127.0.0.1", port)
        self.client.subscribe("enmon/device/+/+/+/state", qos=1)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg):
        doc = json.loads(msg.payload)
        with self.lock:
            self.got.append((time.monotonic(), doc["device"], doc["ts_ms"]))

    def between(self, t0, t1):
        with self.lock:
            return [g for g in self.got if t0 <= g[0] <= t1]

    def keys(self):
        with self.lock:
            return {(d, ts) for _, d, ts in self.got}

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def rows(db_path):
    """{(device key, ts_ms)} of every committed reading."""
    db = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True, timeout=10)
    try:
        return {(k, ts) for k, ts in db.execute(
            "SELECT d.key, r.ts_ms FROM readings r JOIN devices d ON d.id = r.device_id")}
    finally:
        db.close()


def metrics(d):
    _, _, body = dashlib.get(d.url("/metrics"))
    return dashlib.parse_prometheus(body.decode())


def metric(m, name):
    return list(m[name]["samples"].values())[0]


def max_gap(times):
    times = sorted(times)
    return max(b - a for a, b in zip(times, times[1:]))


def check_flow(watch, t0, t1, what):
    """State messages kept arriving during [t0, t1]: count, and no silence over 1 s."""
    during = watch.between(t0, t1)
    expected = 2 * (t1 - t0) * 1000 / INTERVAL_MS  # two devices
    gap = max_gap([t0] + [g[0] for g in during] + [t1])
    print("%s: %d state messages in %.1f s (%d polled), longest silence %.2f s"
          % (what, len(during), t1 - t0, expected, gap))
    # a loaded 2-core machine may delay polls; a feed stalled on the database would show
    # the whole fault as one silence
    assert len(during) >= 0.7 * expected, (len(during), expected)
    assert gap < 1.0, gap


def check_nothing_lost(d, watch, t_from_ms):
    """Every reading MQTT saw is in SQLite, each device's polls are one per interval (none
    lost in the store), and no sink dropped anything."""
    have = rows(d.db)
    last = {dev: max(t for k, t in have if k == dev) for dev in ("inv", "meter")}
    # the live feed runs ahead of the commits: compare up to each device's last row
    seen = {(k, t) for k, t in watch.keys() if t <= last[k]}
    assert seen <= have, sorted(seen - have)[:10]
    # and MQTT got every row committed since the fault began (live, or from the outbox)
    unseen = {(k, t) for k, t in have if t >= t_from_ms} - watch.keys()
    assert not unseen, sorted(unseen)[:10]
    for dev in ("inv", "meter"):
        ts = sorted(t for k, t in have if k == dev and t >= t_from_ms)
        gaps = [b - a for a, b in zip(ts, ts[1:])]
        print("%s: %d rows since the fault began, longest gap %d ms" % (dev, len(ts), max(gaps)))
        assert max(gaps) <= INTERVAL_MS + 700, (dev, max(gaps))
    m = metrics(d)
    dropped = {dict(labels)["sink"]: v for labels, v in
               m["enmon_readings_dropped_total"]["samples"].items()}
    assert not any(dropped.values()), dropped
    assert metric(m, "enmon_store_retry_dropped_total") == 0
    assert metric(m, "enmon_store_retry_depth") == 0
    return m


def start_pair(tmp_path, mosquitto, sim_factory, db_path=None):
    port = harness.free_port()
    timeline = harness.Timeline(START)
    args = timeline.args()
    sim_factory(dashlib.sim_config(port), args=[args[0], args[1], "--speed", "0"])
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, dashlib.programs(port),
                           interval="%dms" % INTERVAL_MS, args=args)
    if db_path:
        with open(d.config, encoding="utf-8") as fh:
            text = fh.read()
        with open(d.config, "w", encoding="utf-8") as fh:
            fh.write(text.replace("database: %s\n" % d.db, "database: %s\n" % db_path, 1))
        d.db = db_path
    return d, timeline


@pytest.fixture
def small_fs(tmp_path):
    """A 6 MiB tmpfs, unmounted afterwards whatever happens."""
    if os.geteuid() != 0:
        pytest.skip("mounting a tmpfs needs root")
    mnt = tmp_path / "small-fs"
    mnt.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=6m", "tmpfs", str(mnt)], check=True)
    try:
        yield str(mnt)
    finally:
        subprocess.run(["umount", "-l", str(mnt)], check=False)


def fill(path):
    """Writes a filler file until the filesystem is full; returns its size."""
    n = 0
    chunk = b"\0" * 65536
    with open(path, "wb", buffering=0) as fh:
        try:
            while True:
                n += fh.write(chunk)
        except OSError as e:
            assert e.errno == errno.ENOSPC, e
        try:  # the last few bytes
            while True:
                n += fh.write(b"\0" * 512)
        except OSError:
            pass
    return n


def test_full_disk_20s_mqtt_flows_nothing_lost(tmp_path, mosquitto, sim_factory, small_fs):
    d, timeline = start_pair(tmp_path, mosquitto, sim_factory,
                             db_path=os.path.join(small_fs, "enmon.db"))
    watch = StateWatch(mosquitto.port, "storage-faults-fill")
    d.start()
    try:
        assert daemon.wait_for(lambda: os.path.exists(d.db) and len(rows(d.db)) >= 10 and
                               len(watch.keys()) >= 10, 15), d.log_text()
        t_fault_ms = timeline.now_ms()
        filler = os.path.join(small_fs, "filler")
        size = fill(filler)
        t0 = time.monotonic()
        # the store's commits fail while the file system is full
        assert daemon.wait_for(lambda: metric(metrics(d), "enmon_store_retry_depth") > 0, 10), \
            d.log_text()
        time.sleep(max(0.0, FAULT_S - (time.monotonic() - t0)))
        t1 = time.monotonic()
        held = metric(metrics(d), "enmon_store_retry_depth")
        errors = metric(metrics(d), "enmon_store_errors_total")
        os.unlink(filler)
        print("filler %d bytes; %d readings held in memory at the end, %d failed commits"
              % (size, held, errors))
        check_flow(watch, t0, t1, "disk full")
        assert held > 0 and errors > 0
        # once there is room the held readings are committed, in order
        assert daemon.wait_for(lambda: metric(metrics(d), "enmon_store_retry_depth") == 0, 20), \
            d.log_text()
        time.sleep(1.0)
        check_nothing_lost(d, watch, t_fault_ms)
        assert "commits work again" in d.log_text()
    finally:
        rc = d.stop()
        watch.close()
    assert rc == 0, d.log_text()
    seen, have = watch.keys(), rows(d.db)
    assert seen <= have, sorted(seen - have)[:10]


def lock_for(db_path, seconds):
    """Another process holds BEGIN EXCLUSIVE for seconds (returns once it holds it)."""
    script = ("import sqlite3, sys, time\n"
              "db = sqlite3.connect(sys.argv[1], timeout=30, isolation_level=None)\n"
              "db.execute('BEGIN EXCLUSIVE')\n"
              "print('locked', flush=True)\n"
              "time.sleep(float(sys.argv[2]))\n"
              "db.execute('ROLLBACK')\n")
    p = subprocess.Popen(["/usr/bin/python3", "-c", script, db_path, str(seconds)],
                         stdout=subprocess.PIPE, text=True)
    assert p.stdout.readline().strip() == "locked"
    return p


def test_locked_database_mqtt_flows_and_start_waits(tmp_path, mosquitto, sim_factory):
    d, timeline = start_pair(tmp_path, mosquitto, sim_factory)
    watch = StateWatch(mosquitto.port, "storage-faults-lock")
    d.start()
    try:
        assert daemon.wait_for(lambda: os.path.exists(d.db) and len(rows(d.db)) >= 10 and
                               len(watch.keys()) >= 10, 15), d.log_text()
        t_fault_ms = timeline.now_ms()
        locker = lock_for(d.db, LOCK_S)
        t0 = time.monotonic()
        locker.wait(LOCK_S + 10)
        t1 = time.monotonic()
        check_flow(watch, t0, t1, "database locked")
        assert daemon.wait_for(lambda: metric(metrics(d), "enmon_store_retry_depth") == 0, 20)
        time.sleep(1.0)
        m = check_nothing_lost(d, watch, t_fault_ms)
        assert metric(m, "enmon_store_errors_total") > 0  # the lock outlasted the busy timeout
    finally:
        rc = d.stop()
    assert rc == 0, d.log_text()

    # start-up while another process holds the lock: enmond waits (a log line), no exit 70
    locker = lock_for(d.db, 8)
    d.args = timeline.args()
    log_from = len(d.log_text())
    d.start()
    try:
        assert daemon.wait_for(lambda: "start-up waits" in d.log_text()[log_from:], 10), \
            d.log_text()[log_from:]
        time.sleep(3.0)  # past the 5 s busy timeout that used to end in exit 70
        assert d.proc.poll() is None, d.log_text()[log_from:]
        locker.wait(20)
        before = len(watch.keys())
        assert daemon.wait_for(lambda: len(watch.keys()) >= before + 10, 15), \
            d.log_text()[log_from:]
        assert re.search(r"locked by another writer; start-up waits \(up to 600 s\)",
                         d.log_text()[log_from:])
    finally:
        rc = d.stop()
        watch.close()
    assert rc == 0, d.log_text()
