"""test_reliability.py -- store and forward across a broker outage, kill -9 crash safety,
SIGHUP reload (valid and invalid) keeping unchanged links, and the watchdog on a stalled poll loop.

Figures (outage length, readings lost, kills survived, restart times) are printed with -s and
recorded in docs/RELIABILITY.md.
"""
import datetime
import json
import os
import re
import signal
import socket
import sqlite3
import subprocess
import threading
import time

import paho.mqtt.client as mqtt

import daemon
import harness

KST = datetime.timezone(datetime.timedelta(hours=9))
NOON = datetime.datetime(2026, 6, 1, 12, 0, tzinfo=KST)  # the inverters produce: counters move


def Timeline(start=NOON):
    """The shared simulated clock (harness.Timeline) starting at NOON."""
    return harness.Timeline(start)


class PersistentMosquitto(harness.Mosquitto):
    """mosquitto with persistence on disk and no limit on queued messages, so a
    persistent subscriber session keeps what arrives while it is away."""

    def __init__(self, tmpdir):
        super().__init__(tmpdir)
        store = os.path.join(self.tmpdir, "mosq-store") + "/"
        os.makedirs(store, exist_ok=True)
        with open(self.conf, "w", encoding="utf-8") as fh:
            fh.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence true\n"
                     "persistence_location %s\nautosave_interval 1\nmax_queued_messages 0\n"
                     "max_inflight_messages 0\n%s"
                     % (self.port, store,
                        # as root mosquitto drops to user mosquitto, who cannot write the tmp dir
                        "user root\n" if os.geteuid() == 0 else ""))


class Subscriber:
    """A paho client with a persistent session (clean_session False, QoS 1) that
    reconnects on its own: it keeps every state message across broker restarts."""

    def __init__(self, port, client_id):
        self.states = []  # (device, ts_ms) in arrival order
        self.lock = threading.Lock()
        self.subscribed = threading.Event()
        self.client = mqtt.Client(client_id=client_id, clean_session=False)
        self.client.reconnect_delay_set(min_delay=1, max_delay=1)
        self.client.on_message = self._on_message
        self.client.on_subscribe = lambda *a: self.subscribed.set()
        self.client.connect("127.0.0.1", port, keepalive=10)
        self.client.subscribe("enmon/device/+/+/+/state", qos=1)
        self.client.loop_start()
        assert self.subscribed.wait(5)

    def _on_message(self, client, userdata, msg):
        doc = json.loads(msg.payload)
        with self.lock:
            self.states.append((doc["device"], doc["ts_ms"]))

    def count(self):
        with self.lock:
            return len(self.states)

    def per_device(self):
        out = {}
        with self.lock:
            for dev, ts in self.states:
                out.setdefault(dev, []).append(ts)
        return out

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def db_rows(path, where="1"):
    """{device key: [ts_ms ...] in rowid order} from a read-only connection."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        out = {}
        for key, ts in con.execute("SELECT d.key, r.ts_ms FROM readings r JOIN devices d "
                                   "ON d.id = r.device_id WHERE %s ORDER BY r.rowid" % where):
            out.setdefault(key, []).append(ts)
        return out
    finally:
        con.close()


def fresh_rows(path, since_ms):
    """Readings stamped after since_ms; 0 while the first run has not created the file or its
    schema yet (enmond creates both at start)."""
    if not os.path.exists(path):
        return 0
    try:
        return db_scalar(path, "SELECT count(*) FROM readings WHERE ts_ms > %d" % since_ms)
    except sqlite3.OperationalError:  # "no such table: readings" in that first instant
        return 0


def db_scalar(path, sql):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True, timeout=10)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


def programs_yaml(devices):
    """devices: [(id, kind, port, unit, extra)] in one program and site."""
    lines = ["programs:", "  - id: city", "    kind: solar", "    sites:", "      - id: town",
             "        devices:"]
    for dev_id, kind, port, unit, extra in devices:
        lines.append("          - {id: %s, kind: %s, link: 'tcp://127.0.0.1:%d', unit: %d%s}"
                     % (dev_id, kind, port, unit, extra))
    return "\n".join(lines) + "\n"


def sim_yaml(devices, fixed=None):
    fixed = fixed or {}
    lines = ["devices:"]
    for dev_id, kind, port, unit, _ in devices:
        extra = ", capacity: 3000" if kind == "inverter" else ", phases: 1"
        if dev_id in fixed:
            extra += ", fixed: {%s}" % ", ".join("%s: %s" % kv for kv in fixed[dev_id].items())
        lines.append("  - {port: %d, unit: %d, kind: %s%s}" % (port, unit, kind, extra))
    return "\n".join(lines) + "\n"


def in_order(seq):
    """seq without repeats of values already seen (QoS 1 may deliver twice) is increasing."""
    seen, out = set(), []
    for v in seq:
        if v not in seen:
            seen.add(v)
            out.append(v)
    return all(a < b for a, b in zip(out, out[1:])), len(seq) - len(out)


# ---- store and forward ------------------------------------------------------------------------

OUTAGE_S = 60


def test_broker_outage_60s_and_kill_loses_nothing(tmp_path, sim_factory):
    """Broker stopped for 60 s under polling (10 devices at 1 s), enmond killed with
    SIGKILL in the middle of the outage and restarted: after the broker returns, every
    committed reading reaches a persistent subscriber, in order per device, and the
    number of distinct state messages per device equals the readings rows in SQLite."""
    ports = [harness.free_port(), harness.free_port()]
    devs = [("inv-%d" % i, "inverter", ports[i % 2], 1 + i // 2, ", capacity: 3000")
            for i in range(10)]
    clock = Timeline()
    sim_factory(sim_yaml(devs), args=clock.args())
    broker = PersistentMosquitto(tmp_path).start()
    sub = Subscriber(broker.port, "reliability-outage")
    d = daemon.Enmond(tmp_path, broker.port, programs_yaml(devs), interval="1s")
    try:
        d.args = clock.args()
        d.start()
        assert daemon.wait_for(lambda: sub.count() >= 30, 10), d.log_text()
        broker.stop()
        t_down = clock.now_ms()  # the outage window in enmond's clock
        time.sleep(OUTAGE_S / 2)
        d.proc.kill()  # SIGKILL in the middle of the outage
        d.proc.wait()
        d.log.close()
        d.args = clock.args()  # the restarted enmond goes on from where the clock is
        d.start()
        time.sleep(OUTAGE_S / 2)
        t_up = clock.now_ms()
        broker.start()
        during = db_rows(d.db, "r.ts_ms BETWEEN %d AND %d" % (t_down, t_up))
        n_during = sum(len(v) for v in during.values())
        assert n_during >= 10 * (OUTAGE_S - 8), during  # polling went on during the outage
        # the backlog arrives once enmond reconnected (backoff at most 10 s)
        got = daemon.wait_for(lambda: all(set(ts) <= set(sub.per_device().get(dev, []))
                                          for dev, ts in during.items()), 40, step=0.5)
        assert got, (n_during, sub.count(), d.log_text())
        time.sleep(2)
        assert d.stop() == 0  # SIGTERM publishes what is committed, then exits
        rows = db_rows(d.db)
        assert daemon.wait_for(lambda: sub.count() >= sum(len(v) for v in rows.values()), 10)
        time.sleep(1)
        received = sub.per_device()
        dups = 0
        for dev, ts in rows.items():
            ok, dup = in_order(received.get(dev, []))
            dups += dup
            assert ok, (dev, received.get(dev))
            assert sorted(set(received.get(dev, []))) == sorted(ts), dev
            assert len(set(received[dev])) == len(ts)
        print("\noutage %d s with a kill -9 inside: %d readings polled during it, %d rows in "
              "SQLite, %d distinct state messages, %d lost, %d QoS 1 duplicates"
              % (OUTAGE_S, n_during, sum(len(v) for v in rows.values()),
                 sum(len(set(v)) for v in received.values()), 0, dups))
        assert dups <= 10
        assert "outbox" in d.log_text()
    finally:
        sub.close()
        d.stop()
        broker.stop()


# ---- crash safety -----------------------------------------------------------------------------

KILLS = 20


def integrity(path):
    return db_scalar(path, "PRAGMA integrity_check")


def test_kill_9_twenty_times_under_load(tmp_path, mosquitto, sim_factory):
    """50 devices at 200 ms; enmond killed with SIGKILL 20 times and restarted:
    integrity_check ok every time, no committed reading lost, polling again in under 2 s,
    the active alert never recorded twice and intervals never double counted."""
    ports = [harness.free_port() for _ in range(5)]
    devs = []
    for i in range(50):
        kind = "meter" if i % 2 else "inverter"
        extra = ", capacity: 3000" if kind == "inverter" else ""
        devs.append(("dev-%02d" % i, kind, ports[i % 5], 1 + i // 5, extra))
    devs[0] = ("flt", "inverter", ports[0], 1, ", capacity: 3000")
    clock = Timeline()
    sim_factory(sim_yaml(devs, fixed={"flt": {"power_w": 0, "energy_export_wh": 1000,
                                              "state": 7}}), args=clock.args())
    d = daemon.Enmond(tmp_path, mosquitto.port, programs_yaml(devs), interval="200ms")
    restarts = []
    try:
        for k in range(KILLS + 1):
            d.args = clock.args()  # each run goes on from where the clock is
            t0 = time.monotonic()
            start_ms = clock.now_ms()  # readings after it come from this run
            d.start()
            fresh = daemon.wait_for(lambda: fresh_rows(d.db, start_ms), 10, step=0.02)
            assert fresh, d.log_text()
            restarts.append(time.monotonic() - t0)
            if k == KILLS:
                break
            time.sleep(0.5 + (k % 5) * 0.2)  # kill at different points of the batch cycle
            before = db_scalar(d.db, "SELECT count(*) FROM readings")
            d.proc.kill()
            d.proc.wait()
            d.log.close()
            d.proc = None
            assert integrity(d.db) == "ok"
            after = db_scalar(d.db, "SELECT count(*) FROM readings")
            assert after >= before, (k, before, after)
        time.sleep(1)
        assert d.stop() == 0
        assert integrity(d.db) == "ok"
        print("\nkill -9 x %d under load (50 devices at 200 ms): restart to first new reading "
              "max %.2f s, mean %.2f s; %d readings"
              % (KILLS, max(restarts), sum(restarts) / len(restarts),
                 db_scalar(d.db, "SELECT count(*) FROM readings")))
        assert max(restarts) < 2.0, restarts
        assert db_scalar(d.db, "SELECT count(*) FROM alerts WHERE key = 'flt/inverter_fault'") == 1
        check_intervals(d.db)
    finally:
        d.stop()


def check_intervals(path):
    """Per device and counter: the energy in intervals equals the counter's increase over
    all readings (the first reading only sets the base)."""
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    moved = 0
    try:
        for dev_id, key in con.execute("SELECT id, key FROM devices").fetchall():
            for col, ivcol in (("energy_import_wh", "wh_import"), ("energy_export_wh", "wh_export")):
                first, last = con.execute(
                    "SELECT (SELECT %s FROM readings WHERE device_id = ?1 AND %s IS NOT NULL "
                    "ORDER BY rowid LIMIT 1), (SELECT %s FROM readings WHERE device_id = ?1 AND "
                    "%s IS NOT NULL ORDER BY rowid DESC LIMIT 1)" % (col, col, col, col),
                    (dev_id,)).fetchone()
                if first is None:
                    continue
                total = con.execute("SELECT coalesce(sum(%s), 0) FROM intervals WHERE "
                                    "device_id = ?" % ivcol, (dev_id,)).fetchone()[0]
                assert abs(total - (last - first)) <= 1e-6 * max(1.0, last - first), \
                    (key, col, first, last, total)
                moved += last > first
    finally:
        con.close()
    assert moved >= 10  # the check compared real increases, not zeros


# ---- reload -----------------------------------------------------------------------------------


def connections(pid, port):
    """Local ports of pid's established TCP connections to 127.0.0.1:port."""
    res = subprocess.run(["ss", "-tnpH", "state", "established", "dport", "= :%d" % port],
                         capture_output=True, text=True, timeout=10)
    return sorted(re.findall(r"127\.0\.0\.1:(\d+)\s+127\.0\.0\.1:%d\s.*pid=%d," % (port, pid),
                             res.stdout))


def write_config(d, programs):
    with open(d.config, encoding="utf-8") as fh:
        head = fh.read().split("programs:")[0]
    with open(d.config, "w", encoding="utf-8") as fh:
        fh.write(head + programs)


def max_gap_ms(ts):
    return max((b - a for a, b in zip(ts, ts[1:])), default=0)


def test_sighup_reload_valid_and_invalid(tmp_path, mosquitto, sim_factory):
    """A valid new config (one device added, one removed, one changed) takes effect without
    reconnecting the unchanged links or losing readings; an invalid one is rejected with
    file:line and the old configuration keeps running."""
    pa, pb, pc = harness.free_port(), harness.free_port(), harness.free_port()
    all_devs = [("keep-1", "inverter", pa, 1, ", capacity: 3000"),
                ("keep-2", "meter", pa, 2, ""),
                ("gone", "inverter", pb, 1, ", capacity: 3000"),
                ("moved", "meter", pb, 2, ""),
                ("new", "inverter", pc, 1, ", capacity: 3000")]
    clock = Timeline()
    sim_factory(sim_yaml(all_devs), args=clock.args())
    first = all_devs[:4]
    second = [all_devs[0], all_devs[1], ("moved", "meter", pb, 2, ", interval: 500ms"),
              all_devs[4]]
    d = daemon.Enmond(tmp_path, mosquitto.port, programs_yaml(first), interval="1s",
                      args=clock.args())
    try:
        d.start()
        assert daemon.wait_for(lambda: len(db_rows(d.db)) == 4 if os.path.exists(d.db) else 0,
                               10), d.log_text()
        time.sleep(3)
        links_before = connections(d.proc.pid, pa)
        assert len(links_before) == 1, links_before
        write_config(d, programs_yaml(second))
        t_hup = clock.now_ms()  # in enmond's clock
        d.proc.send_signal(signal.SIGHUP)
        assert daemon.wait_for(lambda: "configuration reloaded" in d.log_text(), 10), d.log_text()
        time.sleep(4)
        t_end = clock.now_ms()
        rows = db_rows(d.db)
        assert connections(d.proc.pid, pa) == links_before  # same socket: not reconnected
        assert any(t > t_hup for t in rows["new"])  # the added device polls
        gone_after = [t for t in rows["gone"] if t > t_hup + 1000]
        assert not gone_after, gone_after  # the removed one stopped
        moved = [t for t in rows["moved"] if t > t_hup + 1500]
        assert moved and max_gap_ms(moved) < 900, moved  # the changed one runs at 500 ms
        for dev in ("keep-1", "keep-2"):
            win = [t for t in rows[dev] if t_hup - 5000 <= t <= t_end]
            assert max_gap_ms(win) <= 2 * 1000 + 300, (dev, win)
        print("\nreload: unchanged link kept (local port %s), gaps of unchanged devices %s ms"
              % (links_before[0], [max_gap_ms([t for t in rows[k] if t_hup - 5000 <= t <= t_end])
                                   for k in ("keep-1", "keep-2")]))

        # an invalid file: rejected with file:line, the running configuration stays
        with open(d.config, "a", encoding="utf-8") as fh:
            fh.write("bogus_key: 1\n")
        n_before = len(db_rows(d.db)["new"])
        d.proc.send_signal(signal.SIGHUP)
        assert daemon.wait_for(lambda: "reload rejected" in d.log_text(), 10), d.log_text()
        log = d.log_text()
        assert re.search(re.escape(d.config) + r":\d+:", log), log
        time.sleep(2.5)
        assert d.proc.poll() is None
        assert len(db_rows(d.db)["new"]) > n_before  # still polling the good config
        assert connections(d.proc.pid, pa) == links_before
    finally:
        rc = d.stop()
    assert rc == 0


# ---- watchdog ---------------------------------------------------------------------------------


def test_stalled_poll_loop_stops_watchdog_pings(tmp_path, mosquitto, sim_factory):
    """With every poll worker hung in a Modbus read after 2 s (stall_preload.c holds recv()
    from the device's port, as a hung driver would), WATCHDOG=1 stops (the stuck limit is
    30 s) while it kept coming before, so systemd would restart enmond."""
    port = harness.free_port()
    devs = [("inv", "inverter", port, 1, ", capacity: 3000")]
    clock = Timeline()
    sim_factory(sim_yaml(devs), args=clock.args())
    path = str(tmp_path / "notify.sock")
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(path)
    sock.settimeout(0.2)
    d = daemon.Enmond(tmp_path, mosquitto.port, programs_yaml(devs), interval="1s")
    stall = tmp_path / "stall"
    preload = os.path.join(harness.build_dir(), "tests", "libstall_preload.so")
    env = dict(os.environ, NOTIFY_SOCKET=path, WATCHDOG_USEC="2000000",
               LD_PRELOAD=preload, ENMON_STALL_FILE=str(stall), ENMON_STALL_PORT=str(port),
               ASAN_OPTIONS=os.environ.get("ASAN_OPTIONS", "") + ":verify_asan_link_order=0")
    d.log = open(d.log_path, "ab")
    d.proc = subprocess.Popen([daemon.bin_path("enmond"), "-c", d.config] + clock.args(),
                              env=env, stdout=d.log, stderr=subprocess.STDOUT)
    pings = []  # monotonic times of WATCHDOG=1
    t0 = time.monotonic()
    try:
        while time.monotonic() - t0 < 45:
            if not stall.exists() and time.monotonic() - t0 >= 2:
                stall.touch()  # from now on the worker hangs in its next read
            try:
                msg = sock.recv(4096).decode()
            except socket.timeout:
                continue
            if "WATCHDOG=1" in msg:
                pings.append(time.monotonic() - t0)
        early = [t for t in pings if t < 10]
        late = [t for t in pings if t > 36]
        last = max(pings) if pings else 0
        print("\nwatchdog: %d pings in the first 10 s, last ping at %.1f s, none after"
              % (len(early), last))
        assert len(early) >= 5, pings  # every second while polling progresses
        assert not late, pings  # stalled: no more pings, systemd restarts the service
        assert "stall_preload: recv from port" in d.log_text()
    finally:
        if stall.exists():
            stall.unlink()  # the worker goes on, so enmond stops cleanly
        d.stop()
        sock.close()
