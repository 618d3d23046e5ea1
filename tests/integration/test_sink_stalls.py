"""test_sink_stalls.py -- sinks never block the poll path: each sink is stalled in turn (SQLite
locked by another process, a frozen broker, slow HTTP clients, a hung alert hook) while enmond
polls a frozen-clock enmon-sim every 200 ms, and the poll timestamps keep their interval."""
import datetime
import os
import signal
import socket
import sqlite3
import threading
import time

import pytest

import daemon
import dashlib
import harness

INTERVAL_MS = 200
# A poll that waited for a stalled sink would show a gap of seconds. The margin allows for a
# loaded 2-core machine (other suites run at the same time): scheduling jitter, not stalls.
MARGIN_MS = 300
STALL_S = 8.0
START = datetime.datetime(2026, 6, 21, 12, 0, tzinfo=harness.KST)


def poll_times(db_path, device, t0, t1):
    """ts_ms of device's readings in [t0, t1] (poll timestamps, committed whenever)."""
    db = sqlite3.connect(db_path)
    try:
        return [r[0] for r in db.execute(
            "SELECT r.ts_ms FROM readings r JOIN devices d ON d.id = r.device_id "
            "WHERE d.key = ? AND r.ts_ms BETWEEN ? AND ? ORDER BY r.ts_ms", (device, t0, t1))]
    finally:
        db.close()


def p99(values):
    s = sorted(values)
    return s[min(len(s) - 1, int(0.99 * len(s)))]


def run_stall(name, tmp_path, mosquitto, sim_factory, stall, extra="", stop_timeout=15):
    """Runs enmond, calls stall(d, sim) (which lasts STALL_S), then asserts the inverter's
    polls during the stall: p99 gap within interval + margin, none lost, no sink dropped."""
    port = harness.free_port()
    timeline = harness.Timeline(START)
    args = timeline.args()
    sim = sim_factory(dashlib.sim_config(port), args=[args[0], args[1], "--speed", "0"])
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, dashlib.programs(port), extra=extra,
                           interval="%dms" % INTERVAL_MS, args=args)
    d.start()
    try:
        assert daemon.wait_for(lambda: os.path.exists(d.db) and
                               len(poll_times(d.db, "inv", 0, 1 << 62)) >= 10, 15), d.log_text()
        t0 = timeline.now_ms()
        stall(d, sim)
        t1 = timeline.now_ms()
        # the store commits what it held during the stall: wait for the last of the window
        assert daemon.wait_for(lambda: poll_times(d.db, "inv", t1, 1 << 62), 15), d.log_text()
        _, _, body = dashlib.get(d.url("/metrics"))
        metrics = dashlib.parse_prometheus(body.decode())
    finally:
        rc = d.stop(timeout=stop_timeout)
    times = poll_times(d.db, "inv", t0, t1)
    gaps = [b - a for a, b in zip(times, times[1:])]
    expected = (t1 - t0) // INTERVAL_MS
    print("%s: %d polls in %d ms (%d expected), gaps ms: p50 %d p99 %d max %d; %s"
          % (name, len(times), t1 - t0, expected, sorted(gaps)[len(gaps) // 2], p99(gaps),
             max(gaps), sorted(gaps)[-10:]))
    assert rc == 0, d.log_text()
    assert p99(gaps) <= INTERVAL_MS + MARGIN_MS, gaps
    # none lost: one poll per interval over the window (its two ends may fall either side)
    assert len(times) >= expected - 2, (len(times), expected)
    dropped = {dict(labels)["sink"]: v for labels, v in
               metrics["enmon_readings_dropped_total"]["samples"].items()}
    # every sink reports its drops (docs/HTTP.md); none dropped a reading
    assert set(dropped) == {"store", "mqtt", "alerts", "live"}, dropped
    assert not any(dropped.values()), dropped
    print("%s: live polls deferred %d" % (name, metrics["enmon_live_deferred_total"]["samples"][()]))
    return metrics


def test_sqlite_locked_by_another_process(tmp_path, mosquitto, sim_factory):
    def stall(d, sim):
        db = sqlite3.connect(d.db, timeout=10, isolation_level=None)
        db.execute("BEGIN EXCLUSIVE")
        time.sleep(STALL_S)
        db.execute("ROLLBACK")
        db.close()
    run_stall("sqlite", tmp_path, mosquitto, sim_factory, stall)


def test_frozen_broker(tmp_path, mosquitto, sim_factory):
    def stall(d, sim):
        os.kill(mosquitto.proc.pid, signal.SIGSTOP)
        try:
            time.sleep(STALL_S)
        finally:
            os.kill(mosquitto.proc.pid, signal.SIGCONT)
    run_stall("broker", tmp_path, mosquitto, sim_factory, stall)


def test_slow_http_clients(tmp_path, mosquitto, sim_factory):
    def stall(d, sim):
        socks, stop = [], threading.Event()
        for i in range(24):  # /api/live streams that never read, half-sent requests
            s = socket.create_connection(("127.0.0.1", d.http_port))
            s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
            s.sendall(b"GET /api/live HTTP/1.1\r\nHost: x\r\n\r\n" if i % 2 == 0
                      else b"GET /api/devices HTTP/1.1\r\nHost: x\r\n")
            socks.append(s)

        def hammer():
            paths = ("/api/devices", "/api/programs", "/api/status", "/metrics", "/api/alerts")
            i = 0
            while not stop.is_set():
                try:  # beyond the per-address cap enmond may close a connection at once
                    dashlib.get(d.url(paths[i % len(paths)]), timeout=2)
                except OSError:
                    pass
                i += 1
        threads = [threading.Thread(target=hammer) for _ in range(4)]
        for t in threads:
            t.start()
        time.sleep(STALL_S)
        stop.set()
        for t in threads:
            t.join()
        for s in socks:
            s.close()
    run_stall("http", tmp_path, mosquitto, sim_factory, stall)


def test_hung_alert_hook(tmp_path, mosquitto, sim_factory):
    # The first raise starts a hook that hangs until its 10 s timeout, longer than the stall.
    # Shutdown waits for a running hook up to its timeout and runs the queued ones: no retries
    # and a rate limit of one run keep enmond's exit within stop_timeout.
    hook = ("alerts:\n  hook: {command: [/bin/sleep, '1000'], timeout: 10s, retries: 0,"
            " rate_limit: 1/h}\n")

    def stall(d, sim):
        dev = "%d/1" % sim.ports[0]
        end = time.monotonic() + STALL_S
        while time.monotonic() < end:  # a raise and a clear every second
            sim.ctl("events", dev, 1)
            time.sleep(0.5)
            sim.ctl("clear", "events", dev)
            time.sleep(0.5)
    metrics = run_stall("hook", tmp_path, mosquitto, sim_factory, stall, extra=hook,
                       stop_timeout=30)
    raised = list(metrics["enmon_alerts_raised_total"]["samples"].values())
    assert raised and raised[0] >= 4, raised  # the engine kept raising while the hook hung
