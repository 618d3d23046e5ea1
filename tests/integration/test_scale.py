"""test_scale.py -- 1,000 devices in one enmon-sim polled by one enmond: every device reports on
MQTT and in SQLite, none is lost, ids and topics are unique. Correctness only, no timing."""
import collections
import json
import re
import sqlite3

import daemon
import harness
from mqttwatch import Watch

CONCENTRATORS = 4
METERS_EACH = 230  # 920 meters behind 4 data concentrators
INVERTERS = 80     # on one plant gateway
DEVICES = CONCENTRATORS * METERS_EACH + INVERTERS


def scale_configs(ports):
    """enmon-sim devices and enmond programs for the 1,000-device fleet on ports."""
    sim = ["devices:"]
    programs = ["programs:", "  - id: ami", "    kind: ami", "    sites:"]
    for c in range(CONCENTRATORS):
        sim.append("  - {port: %d, unit: 1, count: %d, kind: meter, phases: 1}"
                   % (ports[c], METERS_EACH))
        programs += ["      - id: c%d-home-{n}" % c, "        count: %d" % METERS_EACH,
                     "        devices:",
                     "          - id: c%d-home-{n}-meter" % c, "            kind: meter",
                     "            link: tcp://127.0.0.1:%d" % ports[c], "            unit: 1"]
    sim.append("  - {port: %d, unit: 1, count: %d, kind: inverter, capacity: 100000}"
               % (ports[CONCENTRATORS], INVERTERS))
    programs += ["  - id: plant", "    kind: solar", "    sites:",
                 "      - id: plant-inv-{n}", "        count: %d" % INVERTERS,
                 "        devices:",
                 "          - id: plant-inv-{n}-pv", "            kind: inverter",
                 "            link: tcp://127.0.0.1:%d" % ports[CONCENTRATORS],
                 "            unit: 1", "            capacity: 100000"]
    return "\n".join(sim) + "\n", "\n".join(programs) + "\n"


def rows_per_device(db_path):
    con = sqlite3.connect("file:%s?mode=ro" % db_path, uri=True)
    try:
        return dict(con.execute("SELECT d.key, count(r.device_id) FROM devices d "
                                "LEFT JOIN readings r ON r.device_id = d.id GROUP BY d.id"))
    finally:
        con.close()


def state_counts(watch):
    """Per device id: the state topics it was published on and how many messages."""
    topics = collections.defaultdict(set)
    counts = collections.Counter()
    with watch.lock:
        for topic, payload, _ in watch.messages:
            if topic.endswith("/state") and payload:
                dev = json.loads(payload)["device"]
                topics[dev].add(topic)
                counts[dev] += 1
    return topics, counts


def test_thousand_devices(tmp_path, mosquitto, sim_factory):
    ports = [harness.free_port() for _ in range(CONCENTRATORS + 1)]
    sim_yaml, programs = scale_configs(ports)
    sim_factory(sim_yaml, fixed=True)
    watch = Watch(mosquitto.port, topics=("enmon/device/#",), client_id="scale-watch")
    d = daemon.Enmond(tmp_path, mosquitto.port, programs, interval="2s")
    d.start()
    try:
        seen = daemon.wait_for(lambda: len(state_counts(watch)[1]) >= DEVICES, 40, step=0.5)
        assert seen, "only %d of %d devices reported on MQTT" % (len(state_counts(watch)[1]),
                                                                  DEVICES)
        # a few more poll rounds: every device polled several times
        daemon.wait_for(lambda: min(state_counts(watch)[1].values()) >= 3, 20, step=0.5)
    finally:
        assert d.stop() == 0
    rows = rows_per_device(d.db)
    # both sinks got every poll: MQTT (QoS 1) catches up after the drain at SIGTERM
    daemon.wait_for(lambda: sum(state_counts(watch)[1].values()) >= sum(rows.values()), 20)
    topics, counts = state_counts(watch)
    watch.close()

    assert len(rows) == DEVICES
    assert all(n >= 3 for n in rows.values()), "a device has fewer than 3 readings rows"
    assert set(counts) == set(rows), "MQTT and SQLite name different devices"
    assert counts == collections.Counter(rows), "MQTT messages != readings rows per device"
    assert all(len(t) == 1 for t in topics.values()), "a device published on several topics"
    all_topics = [next(iter(t)) for t in topics.values()]
    assert len(set(all_topics)) == DEVICES, "two devices share a state topic"
    for dev, t in topics.items():
        assert next(iter(t)).endswith("/%s/state" % dev)

    log = d.log_text()
    stats = re.findall(r"polls=(\d+) failed=(\d+) .* db written=(\d+) dropped=(\d+) "
                       r"mqtt published=(\d+) dropped=(\d+)", log)
    assert stats, log[-2000:]
    polls, failed, _, db_dropped, _, mqtt_dropped = map(int, stats[-1])
    assert failed == 0 and db_dropped == 0 and mqtt_dropped == 0, stats[-1]
    # the last stats line is logged before polling stops: rows may hold a few polls more
    assert polls <= sum(rows.values()) <= polls + DEVICES
