"""test_rtu_gateway.py -- enmond polls enmon-sim over Modbus RTU (a pty pair) and through a TCP
gateway with dead units; register-map, multi-device and float SunSpec devices; checked by paho."""
import json
import os
import time

import pytest

import daemon
import harness
from mqttwatch import Watch
from test_sim_variants import BusSim

AMI_MAP = os.path.join(harness.source_dir(), "config", "maps", "enmon-ami.yaml")

INV = {"power_w": 1234, "energy_export_wh": 567890, "voltage_v": 229.5, "frequency_hz": 60.01,
       "current_a": 5.37, "temperature_c": 41.5, "state": 4}
METER = {"power_w": 512, "energy_import_wh": 2345678, "energy_export_wh": 4321,
         "voltage_v": 218.7, "frequency_hz": 60.0, "current_a": 2.33, "power_factor": 0.96}
AMI = {"power_w": -830, "energy_import_wh": 7654321, "energy_export_wh": 123456,
       "voltage_v": 221.4, "frequency_hz": 59.98, "current_a": 3.77, "power_factor": 0.92,
       "events": 5}
# float32-exact, so that the float model carries them exactly
FLOAT_METER = {"power_w": -812.5, "energy_import_wh": 2345678, "energy_export_wh": 98765,
               "voltage_v": 218.5, "frequency_hz": 59.5, "current_a": 3.75,
               "power_factor": 0.75, "events": 5}


@pytest.fixture
def bus_sims(tmp_path):
    sims = []

    def make(config):
        sim = BusSim(tmp_path, config)
        sims.append(sim)
        return sim.start()

    yield make
    codes = [s.stop(check=False) for s in sims]
    assert all(rc in (None, 0) for rc in codes), codes


def sim_yaml(entries, rtu=None):
    text = ""
    if rtu:
        text += "rtu:\n" + "".join("  - %s\n" % json.dumps(r) for r in rtu)
    return text + "devices:\n" + "".join("  - %s\n" % json.dumps(e) for e in entries)


def programs(devices):
    """One site holding devices: [(id, yaml flow mapping text)]."""
    return ("programs:\n  - id: ami\n    kind: ami\n    sites:\n"
            "      - id: site\n        devices:\n"
            + "".join("          - {id: %s, %s}\n" % (dev_id, body) for dev_id, body in devices))


def assert_exact(state, expected):
    for key, value in expected.items():
        assert state.get(key) == value, (state.get("device"), key, state.get(key), value, state)


def run(tmp_path, mosquitto, devices, wait_ids, nstates=2, timeout=15.0):
    watch = Watch(mosquitto.port)
    d = daemon.Enmond(tmp_path, mosquitto.port, programs(devices), interval="1s").start()
    ok = daemon.wait_for(lambda: all(len(watch.all_states(i)) >= nstates for i in wait_ids),
                         timeout)
    return d, watch, ok


def stop(d, watch):
    rc = d.stop()
    watch.close()
    assert rc == 0, d.log_text()


def test_enmond_polls_three_units_over_rtu(tmp_path, mosquitto, bus_sims):
    link = str(tmp_path / "ttySIM0")
    bus_sims(sim_yaml([{"rtu": link, "unit": 1, "kind": "inverter", "fixed": INV},
                       {"rtu": link, "unit": 2, "kind": "meter", "fixed": METER},
                       {"rtu": link, "unit": 3, "kind": "meter", "map": AMI_MAP,
                        "serial": "AMI-0003", "fixed": AMI}],
                      rtu=[{"path": link, "baud": 9600}]))
    uri = "rtu:%s?baud=9600" % link
    devices = [("inv", "kind: inverter, link: '%s', unit: 1" % uri),
               ("meter", "kind: meter, link: '%s', unit: 2" % uri),
               ("ami", "kind: meter, link: '%s', unit: 3, map: '%s'" % (uri, AMI_MAP))]
    d, watch, ok = run(tmp_path, mosquitto, devices, ["inv", "meter", "ami"])
    try:
        assert ok, (watch.states(), d.log_text())
        for dev_id, expected in (("inv", INV), ("meter", METER), ("ami", AMI)):
            for st in watch.all_states(dev_id):
                assert st["quality"] == "ok", st
                assert_exact(st, expected)
    finally:
        stop(d, watch)


def test_gateway_with_dead_units_keeps_the_healthy_ones_on_time(tmp_path, mosquitto, sim_factory):
    port = harness.free_port()
    silent = set(range(5, 51, 5))  # 10 of 50 unit ids never answer
    entries = []
    for unit in range(1, 51):
        entry = {"port": port, "unit": unit, "kind": "meter",
                 "fixed": dict(METER, power_w=100 + unit)}
        if unit in silent:
            entry["silent"] = True
        entries.append(entry)
    sim_factory(sim_yaml(entries))
    uri = "tcp://127.0.0.1:%d" % port
    devices = [("m%d" % u, "kind: meter, link: '%s', unit: %d, timeout: 300ms, retries: 0"
                % (uri, u)) for u in range(1, 51)]
    healthy = ["m%d" % u for u in range(1, 51) if u not in silent]
    dead = ["m%d" % u for u in sorted(silent)]
    d, watch, ok = run(tmp_path, mosquitto, devices, healthy, nstates=1, timeout=20)
    try:
        assert ok, ({k: len(watch.all_states(k)) for k in healthy}, d.log_text()[-3000:])
        before = {k: len(watch.all_states(k)) for k in healthy}
        time.sleep(12.0)
        counts = {k: len(watch.all_states(k)) - before[k] for k in healthy}
        print("state messages per healthy device in 12 s: min %d max %d: %s"
              % (min(counts.values()), max(counts.values()), counts))
        slow = {k: n for k, n in counts.items() if n < 10}
        assert not slow, ("healthy devices fell behind their 1 s interval", slow)
        for k in healthy:
            assert watch.states()[k]["power_w"] == 100 + int(k[1:])
        offline = {k: watch.last("enmon/device/ami/site/%s/availability" % k) for k in dead}
        print("dead units: %s" % offline)
        assert all(v == b"offline" for v in offline.values()), offline
        assert not any(watch.all_states(k) for k in dead)
        for k in healthy:
            assert watch.last("enmon/device/ami/site/%s/availability" % k) == b"online", k
    finally:
        stop(d, watch)


def test_map_device_over_tcp(tmp_path, mosquitto, sim_factory):
    port = harness.free_port()
    sim_factory(sim_yaml([{"port": port, "unit": 7, "kind": "meter", "map": AMI_MAP,
                           "fixed": AMI}]))
    devices = [("ami", "kind: meter, link: 'tcp://127.0.0.1:%d', unit: 7, map: '%s'"
                % (port, AMI_MAP))]
    d, watch, ok = run(tmp_path, mosquitto, devices, ["ami"])
    try:
        assert ok, d.log_text()
        for st in watch.all_states("ami"):
            assert st["quality"] == "ok", st
            assert_exact(st, AMI)
    finally:
        stop(d, watch)


def test_second_device_behind_one_unit(tmp_path, mosquitto, sim_factory):
    port = harness.free_port()
    sim_factory(sim_yaml([{"port": port, "unit": 3, "kind": "meter", "devices_behind": 2,
                           "fixed": METER}]))
    uri = "tcp://127.0.0.1:%d" % port
    devices = [("second", "kind: meter, link: '%s', unit: 3, sunspec_device: 2" % uri)]
    d, watch, ok = run(tmp_path, mosquitto, devices, ["second"])
    # device 2's values (docs/SIMULATOR.md): power, energies, current x 2, voltage + 1 V
    second = dict(METER, power_w=2 * METER["power_w"],
                  energy_import_wh=2 * METER["energy_import_wh"],
                  energy_export_wh=2 * METER["energy_export_wh"],
                  current_a=2 * METER["current_a"], voltage_v=METER["voltage_v"] + 1)
    try:
        assert ok, d.log_text()
        for st in watch.all_states("second"):
            assert st["quality"] == "ok", st
            assert_exact(st, second)
    finally:
        stop(d, watch)


def test_two_inverters_behind_one_unit(tmp_path, mosquitto, sim_factory):
    """A data logger presenting two inverters (1, 103, 160, 1, 103, 160) behind unit 3:
    both are configured on the same link and unit, each picks its own device of the chain."""
    port = harness.free_port()
    sim_factory(sim_yaml([{"port": port, "unit": 3, "kind": "inverter", "devices_behind": 2,
                           "serial": "LOGGER-7", "capacity": 3000, "fixed": INV}]))
    uri = "tcp://127.0.0.1:%d" % port
    devices = [("pv-a", "kind: inverter, link: '%s', unit: 3, sunspec_device: 1" % uri),
               ("pv-b", "kind: inverter, link: '%s', unit: 3, sunspec_device: 2" % uri)]
    d, watch, ok = run(tmp_path, mosquitto, devices, ["pv-a", "pv-b"])
    # device 2 (docs/SIMULATOR.md): power, energy and current x 2, voltage + 1 V
    second = dict(INV, power_w=2 * INV["power_w"], energy_export_wh=2 * INV["energy_export_wh"],
                  current_a=2 * INV["current_a"], voltage_v=INV["voltage_v"] + 1)
    try:
        assert ok, (watch.states(), d.log_text())
        for dev_id, expected in (("pv-a", INV), ("pv-b", second)):
            for st in watch.all_states(dev_id):
                assert st["quality"] == "ok", st
                assert_exact(st, expected)
                assert st["power_factor"] == 1  # default 1.0, sent as 100 % (model 103: "Pct")
                # model 160: DC = AC / 0.965 (1234 W -> 1278.8 W; 2468 W -> 2557.5 W),
                # 52 % / 48 % on two modules at 380 V; dc_power_w is the modules' sum
                mods = st["modules"]
                assert len(mods) == 2, st
                assert abs(st["dc_power_w"] - expected["power_w"] / 0.965) <= 1.0, st
                assert abs(sum(m["dc_power_w"] for m in mods) - st["dc_power_w"]) < 1e-6, st
                assert abs(mods[0]["dc_power_w"] - 0.52 * expected["power_w"] / 0.965) <= 0.5
                assert all(m["dc_voltage_v"] == 380 for m in mods), mods
                for m in mods:  # I = P / V to the 0.01 A of DCA_SF
                    assert abs(m["dc_current_a"] - m["dc_power_w"] / 380) <= 0.01, m
        # each read its own common model: the serials of device 1 and 2 of the chain
        log = d.log_text()
        assert "device pv-a: SunSpec at 40000" in log and "serial LOGGER-7\n" in log, log
        assert "serial LOGGER-7-2" in log, log
    finally:
        stop(d, watch)


def test_float_meter_211_read_in_parts(tmp_path, mosquitto, sim_factory):
    port = harness.free_port()
    sim_factory(sim_yaml([{"port": port, "unit": 1, "kind": "meter", "model": 211,
                           "fixed": FLOAT_METER}]))
    devices = [("fm", "kind: meter, link: 'tcp://127.0.0.1:%d', unit: 1" % port)]
    d, watch, ok = run(tmp_path, mosquitto, devices, ["fm"])
    try:
        assert ok, d.log_text()
        for st in watch.all_states("fm"):
            assert st["quality"] == "ok", st
            assert_exact(st, FLOAT_METER)
    finally:
        stop(d, watch)
