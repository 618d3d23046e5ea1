"""test_retention.py -- storage retention over 100 simulated days: enmond on a simulated clock
(--speed 86400: one real second is one simulated day) polls enmon-sim meters with
storage.readings_days 5 and intervals_days 10. The database's size levels off, no reading
inside the window is missing (every one published on MQTT is still in SQLite), intervals
outlive the readings they came from, and the longest writer stall caused by pruning is
printed (docs/STORAGE.md "Retention"; a measure, not asserted as a timing)."""
import datetime
import json
import os
import sqlite3
import time

import archivelib
import daemon
import dashlib
import harness
from mqttwatch import Watch

DAY_MS = 86400 * 1000
SPEED = 86400             # simulated seconds per real second: one day a second
DAYS = 100
METERS = 10
INTERVAL = "100ms"        # real time: 10 readings a device per simulated day
START = datetime.datetime(2026, 1, 1, tzinfo=harness.KST)
STORAGE = "storage:\n  readings_days: 5\n  intervals_days: 10\n"


def programs(port):
    return ("programs:\n  - id: ami\n    kind: ami\n    sites:\n"
            "      - id: home-{n}\n        count: %d\n        devices:\n"
            "          - {id: 'm-{n}', kind: meter, link: 'tcp://127.0.0.1:%d', unit: 1}\n"
            % (METERS, port))


def sample(db_path):
    """(logical size, file size) in bytes after a passive checkpoint, as enmond's own
    checkpoint (every 32 MB of WAL) would leave the file: the test's 100 days write less."""
    db = sqlite3.connect(db_path)
    try:
        db.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        page = db.execute("PRAGMA page_size").fetchone()[0]
        used = db.execute("PRAGMA page_count").fetchone()[0] - \
            db.execute("PRAGMA freelist_count").fetchone()[0]
        return used * page, os.path.getsize(db_path)
    finally:
        db.close()


def metrics(d):
    _, _, body = dashlib.get(d.url("/metrics"))
    m = dashlib.parse_prometheus(body.decode())
    return {k: list(v["samples"].values())[0] for k, v in m.items()
            if k.startswith("enmon_store_") or k == "enmon_readings_written_total"}


def test_file_size_levels_off_over_100_days(tmp_path, mosquitto, sim_factory):
    port = harness.free_port()
    timeline = harness.Timeline(START, speed=SPEED)
    args = timeline.args()
    sim_factory("devices:\n  - {port: %d, unit: 1, count: %d, kind: meter, phases: 1,"
                " kwh_month: 320}\n" % (port, METERS), args=args, seed=5)
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, programs(port), interval=INTERVAL,
                           extra=STORAGE, args=args)
    watch = Watch(mosquitto.port, topics=("enmon/device/+/+/+/state",))
    sizes = []  # (simulated day, logical bytes, file bytes)
    try:
        d.start()
        t0 = time.monotonic()
        for day in [0, 5] + list(range(10, DAYS + 1, 10)):
            time.sleep(max(0.0, t0 + day * DAY_MS / 1000 / SPEED - time.monotonic()))
            sizes.append((day,) + sample(d.db))
        m = metrics(d)
    finally:
        rc = d.stop()
        watch.close()
    assert rc == 0, d.log_text()
    for day, used, size in sizes:
        print("day %3d: %8d bytes used, file %8d bytes" % (day, used, size))
    print("readings written %d, pruned %d; longest writer stall from retention %.1f ms"
          % (m["enmon_readings_written_total"], m["enmon_store_pruned_total"],
             m["enmon_store_prune_max_ms"]))

    # the file levels off: over the last 30 days it grows less than 10 %, and over the
    # last 70 less than a tenth of what the first 10 days' rate (windows filling, as
    # with no retention at all) would add in 70 days
    used = {day: u for day, u, _ in sizes}
    files = {day: f for day, _, f in sizes}
    assert used[100] < used[70] * 1.10 and files[100] < files[70] * 1.10, sizes
    early_rate = (used[10] - used[0]) / 10.0
    assert early_rate > 0, sizes
    assert used[100] - used[30] < 0.1 * early_rate * 70, sizes
    assert m["enmon_store_pruned_total"] > 0.8 * m["enmon_readings_written_total"], m

    db = sqlite3.connect(d.db)
    try:
        assert db.execute("PRAGMA auto_vacuum").fetchone()[0] == 2  # incremental
        last = db.execute("SELECT max(ts_ms) FROM readings").fetchone()[0]
        # raw readings older than an hour are in the archive (reading_blocks, archivelib)
        first = db.execute("SELECT min(t) FROM (SELECT min(ts_ms) AS t FROM readings"
                           " UNION ALL SELECT min(t0_ms) FROM reading_blocks)").fetchone()[0]
        # pruned to 5 days; a round starts at most once a real second (one day here)
        assert last - first <= 7 * DAY_MS, (first, last)
        # no reading of the window is missing: every state published from 4 days
        # before the last one to half a day before it (the stop's tail left out) is
        # in SQLite, and nothing else
        lo, hi = last - 4 * DAY_MS, last - DAY_MS // 2
        published = {}
        for _, payload, _ in watch.messages:
            doc = json.loads(payload)
            if lo <= doc["ts_ms"] < hi:
                published[doc["device"]] = published.get(doc["device"], 0) + 1
        stored = archivelib.counts(db, lo, hi)
        assert len(published) == METERS and stored == published, (stored, published)
        # intervals outlive the readings (intervals_days 10): days 6..9 before the
        # last reading are all there, 96 a device a day, and nothing older than 11
        lo_s = (last - 9 * DAY_MS) // 1000 // 900 * 900
        hi_s = lo_s + 3 * 86400
        counts = db.execute("SELECT device_id, count(*) FROM intervals WHERE start_s >= ?"
                            " AND start_s < ? GROUP BY device_id", (lo_s, hi_s)).fetchall()
        assert len(counts) == METERS and all(n == 3 * 96 for _, n in counts), counts
        oldest = db.execute("SELECT min(start_s) FROM intervals").fetchone()[0]
        assert oldest * 1000 >= last - 12 * DAY_MS, (oldest, last)
        assert db.execute("SELECT count(*) FROM readings WHERE ts_ms < ?",
                          (last - 6 * DAY_MS,)).fetchone()[0] == 0
        assert archivelib.counts(db, -(1 << 63), last - 6 * DAY_MS) == {}
        assert db.execute("SELECT count(*) FROM reading_blocks").fetchone()[0] > 0
    finally:
        db.close()
