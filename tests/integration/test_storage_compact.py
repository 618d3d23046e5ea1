"""test_storage_compact.py -- the raw readings archive (docs/STORAGE.md "Raw readings archive"):
enmond on a simulated clock (--speed 3600: one real second is one simulated hour) polls
enmon-sim meters; readings older than an hour move into reading_blocks, packed, and read back
bit for bit as they were in `readings`; while the MQTT broker is away nothing unpublished is
archived, and afterwards the outbox publishes every reading (hot or archived by then)."""
import datetime
import json
import sqlite3
import struct
import threading
import time

import paho.mqtt.client as mqtt

import archivelib
import dashlib
import harness

HOUR_MS = 3600 * 1000
SPEED = 3600              # one real second is one simulated hour
METERS = 4
INTERVAL = "250ms"        # real time: a reading a meter every 15 simulated minutes
START = datetime.datetime(2026, 3, 2, 0, 0, tzinfo=harness.KST)
OUTAGE_AT_S, OUTAGE_S, RUN_S = 14.0, 12.0, 40.0  # real seconds after start


def programs(port):
    return ("programs:\n  - id: ami\n    kind: ami\n    sites:\n"
            "      - id: home-{n}\n        count: %d\n        devices:\n"
            "          - {id: 'm-{n}', kind: meter, link: 'tcp://127.0.0.1:%d', unit: 1}\n"
            % (METERS, port))


class StateWatch:
    """Every state message's (device, ts_ms); subscribes again after the broker restarts."""

    def __init__(self, port):
        self.lock = threading.Lock()
        self.got = set()
        self.client = mqtt.Client(client_id="compact-watch", clean_session=True)
        self.client.on_connect = lambda c, u, f, rc: c.subscribe("enmon/device/+/+/+/state", 1)
        self.client.on_message = self._on_message
        self.client.reconnect_delay_set(0.2, 1)
        self.client.connect("127.0.0.1", port)
        self.client.loop_start()

    def _on_message(self, client, userdata, msg):
        if msg.payload:
            doc = json.loads(msg.payload)
            with self.lock:
                self.got.add((doc["device"], doc["ts_ms"]))

    def snapshot(self):
        with self.lock:
            return set(self.got)

    def close(self):
        self.client.loop_stop()
        self.client.disconnect()


def hot_rows(db_path):
    """{(device key, ts_ms): (quality, values as 8-byte patterns or None)} of `readings` now."""
    db = sqlite3.connect(db_path)
    try:
        cur = db.execute("SELECT d.key, r.ts_ms, r.quality, %s FROM readings r JOIN devices d"
                         " ON d.id = r.device_id" % ", ".join("r." + c for c in archivelib.COLS))
        return {(row[0], row[1]): exact(row[2], dict(zip(archivelib.COLS, row[3:])))
                for row in cur}
    finally:
        db.close()


def exact(quality, values):
    """A reading's quality and values, each as its exact bit pattern (-0.0 is not 0.0)."""
    return (quality, tuple(None if values[c] is None else struct.pack("<d", float(values[c]))
                           for c in archivelib.COLS))


def test_archive_keeps_every_reading_exact(tmp_path, mosquitto, sim_factory):
    port = harness.free_port()
    timeline = harness.Timeline(START, speed=SPEED)
    args = timeline.args()
    sim_factory("devices:\n  - {port: %d, unit: 1, count: %d, kind: meter, phases: 3,"
                " kwh_month: 400}\n" % (port, METERS), args=args, seed=11)
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, programs(port), interval=INTERVAL,
                           args=args)
    watch = StateWatch(mosquitto.port)
    seen = {}  # every row of `readings` seen while it was there, exactly
    during_outage = None
    try:
        d.start()
        t0 = time.monotonic()
        outage = False
        while time.monotonic() - t0 < RUN_S:
            seen.update(hot_rows(d.db))
            now = time.monotonic() - t0
            if not outage and now >= OUTAGE_AT_S:
                mosquitto.stop()
                outage, outage_mark = True, max(ts for _, ts in watch.snapshot())
            if outage and during_outage is None and now >= OUTAGE_AT_S + OUTAGE_S:
                db = sqlite3.connect(d.db)
                try:  # 12 simulated hours unpublished: none of it archived
                    during_outage = (
                        db.execute("SELECT max(t1_ms) FROM reading_blocks").fetchone()[0],
                        db.execute("SELECT count(*) FROM readings WHERE ts_ms > ?",
                                   (outage_mark,)).fetchone()[0])
                finally:
                    db.close()
                mosquitto.start()
            time.sleep(0.3)
        time.sleep(3)  # the outbox drains
    finally:
        rc = d.stop()
        watch.close()
    assert rc == 0, d.log_text()
    published = watch.snapshot()

    newest_block, waiting = during_outage
    assert newest_block is not None and newest_block <= outage_mark, (newest_block, outage_mark)
    # about 4 readings a simulated hour per meter: 10 hours at least were waiting
    assert waiting >= METERS * 4 * 10, waiting

    db = sqlite3.connect(d.db)
    try:
        stored = {}
        for key in ["m-%d" % n for n in range(1, METERS + 1)]:
            for ts, quality, values in archivelib.readings(db, key):
                stored[(key, ts)] = exact(quality, values)
        last = max(ts for _, ts in stored)
        hot = db.execute("SELECT count(*) FROM readings").fetchone()[0]
        blocks, in_blocks, biggest = db.execute(
            "SELECT count(*), sum(n), max(length(data)) FROM reading_blocks").fetchone()
    finally:
        db.close()
    print("%d readings: %d hot, %d in %d blocks (largest %d bytes); %d published"
          % (len(stored), hot, in_blocks, blocks, biggest, len(published)))
    assert hot + in_blocks == len(stored)
    assert in_blocks > len(stored) // 2 and biggest <= 900
    # nothing lost: every reading published is stored, and every stored one older than
    # the stop's last moments was published (the outage's backlog from the outbox)
    assert published <= set(stored), sorted(published - set(stored))[:5]
    unpublished = {k for k in stored if k not in published and k[1] < last - 2 * HOUR_MS}
    assert not unpublished, sorted(unpublished)[:5]
    # bit for bit: every row seen in `readings` reads back the same from wherever it is
    # now, including those archived hours ago
    archived_seen = [k for k in seen if k[1] < last - 10 * HOUR_MS]
    assert len(archived_seen) >= METERS * 4 * 5, len(archived_seen)
    for k, v in seen.items():
        assert stored.get(k) == v, (k, v, stored.get(k))
