"""test_sim.py -- enmon-sim over Modbus TCP: SunSpec chains, fixed values, errors, physics."""
import json
import os
import socket
import struct
import subprocess
import time
from decimal import Decimal

import pytest
import yaml
from pymodbus.client import ModbusTcpClient

import harness

NOON = "2026-06-21T12:00:00+09:00"
NIGHT = "2026-06-21T00:30:00+09:00"
BASE = 40000
END = 0xFFFF


# ---- SunSpec decoding, independent of the C code: offsets from the official JSON ----------

def model_points(model_id, _cache={}):
    """{point name: (offset from the model ID register, size, type, sf name)} of the
    fixed block, and the repeating group's points (offsets from the group start)."""
    if model_id not in _cache:
        path = os.path.join(harness.source_dir(), "data", "sunspec", "model_%d.json" % model_id)
        with open(path, encoding="utf-8") as fh:
            group = json.load(fh)["group"]

        def layout(points):
            out, off = {}, 0
            for p in points:
                size = int(p.get("size", 1))
                out[p["name"]] = (off, size, p["type"], p.get("sf"))
                off += size
            return out, off

        fixed, flen = layout(group["points"])
        rep, rlen = layout(group["groups"][0]["points"]) if group.get("groups") else ({}, 0)
        _cache[model_id] = (fixed, flen, rep, rlen)
    return _cache[model_id]


def raw_value(regs, off, size, typ):
    words = regs[off:off + size]
    if typ == "string":
        data = b"".join(struct.pack(">H", w) for w in words)
        return data.split(b"\0", 1)[0].decode()
    value = 0
    for w in words:
        value = (value << 16) | w
    if typ in ("int16", "sunssf") and value >= 0x8000:
        value -= 0x10000
    if typ == "int32" and value >= 0x80000000:
        value -= 1 << 32
    return value


NOT_IMPLEMENTED = {"int16": -0x8000, "uint16": 0xFFFF, "enum16": 0xFFFF, "bitfield16": 0xFFFF,
                   "acc32": 0, "bitfield32": 0xFFFFFFFF, "uint32": 0xFFFFFFFF}


class Model:
    """One model of a device's chain: its registers (ID and L included) and decoding."""

    def __init__(self, addr, regs):
        self.addr = addr
        self.id = regs[0]
        self.length = regs[1]
        self.regs = regs
        self.points, self.fixed_len, self.group, self.group_len = model_points(self.id)

    def raw(self, name, group=None):
        off, size, typ, _ = self.points[name] if group is None else self.group[name]
        if group is not None:
            off += self.fixed_len + group * self.group_len
        return raw_value(self.regs, off, size, typ)

    def value(self, name, group=None):
        """Exact decoded value (Decimal) with its scale factor; None if not implemented."""
        off, size, typ, sf_name = self.points[name] if group is None else self.group[name]
        raw = self.raw(name, group)
        if typ in NOT_IMPLEMENTED and raw == NOT_IMPLEMENTED[typ]:
            return None
        if sf_name is None:
            return raw
        sf = self.raw(sf_name)
        assert sf != -0x8000, "%s: scale factor %s not implemented" % (name, sf_name)
        return Decimal(raw).scaleb(sf)


def read(client, addr, count, unit):
    out = []
    while count > 0:
        n = min(count, 125)
        rr = client.read_holding_registers(addr, n, slave=unit)
        assert not rr.isError(), "read %d+%d unit %d: %s" % (addr, n, unit, rr)
        out += rr.registers
        addr += n
        count -= n
    return out


def read_chain(port, unit):
    """Reads 'SunS' and walks the chain: [Model ...] ending with the end model."""
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=3)
    assert client.connect()
    try:
        assert read(client, BASE, 2, unit) == [0x5375, 0x6E53]
        models, addr = [], BASE + 2
        while True:
            mid, length = read(client, addr, 2, unit)
            if mid == END:
                assert length == 0
                models.append((addr, END, 0))
                return models
            regs = [mid, length] + read(client, addr + 2, length, unit)
            models.append(Model(addr, regs))
            addr += 2 + length
            assert len(models) < 10
    finally:
        client.close()


def chain_layout(models):
    return [(m.addr, m.id, m.length) if isinstance(m, Model) else m for m in models]


def exception_code(port, unit, addr, count, write=False):
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=3)
    assert client.connect()
    try:
        if write:
            rr = client.write_register(addr, 1, slave=unit)
        else:
            rr = client.read_holding_registers(addr, count, slave=unit)
        return rr.exception_code if rr.isError() else None
    finally:
        client.close()


def devices_yaml(*entries):
    return "devices:\n" + "".join("  - %s\n" % json.dumps(e) for e in entries)


# ---- the SunSpec chain -----------------------------------------------------------------

def test_inverter_chain_layout(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "inverter", "capacity": 3000}),
                args=["--time", NOON])
    models = read_chain(port, 1)
    assert chain_layout(models) == [(40002, 1, 66), (40070, 103, 50), (40122, 160, 48),
                                    (40172, END, 0)]
    common, inv, mppt = models[:3]
    assert common.raw("Mn") == "enmon-sim"
    assert common.raw("Md") == "SIM-INV-3K"
    assert common.raw("DA") == 1
    assert mppt.raw("N") == 2
    assert [mppt.raw("ID", g) for g in range(2)] == [1, 2]
    # unimplemented optional points carry the not-implemented values
    assert inv.raw("TmpSnk") == -0x8000
    assert inv.raw("StVnd") == 0xFFFF
    assert inv.raw("EvtVnd1") == 0xFFFFFFFF
    assert inv.raw("Evt1") == 0


@pytest.mark.parametrize("phases,model,length", [(1, 201, 105), (3, 203, 105)])
def test_meter_chain_layout(sim_factory, phases, model, length):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 3, "kind": "meter", "phases": phases}),
                args=["--time", NOON])
    models = read_chain(port, 3)
    assert chain_layout(models) == [(40002, 1, 66), (40070, model, length),
                                    (40072 + length, END, 0)]
    meter = models[1]
    assert models[0].raw("Md") == "SIM-MTR-%dP" % phases
    assert meter.raw("TotVAhImp") == 0  # acc32 not implemented
    assert meter.raw("Evt") == 0
    if phases == 1:
        assert meter.raw("AphB") == -0x8000
    else:
        assert meter.value("AphB") is not None


# ---- fixed mode: exact values ------------------------------------------------------------

INVERTER_FIXED = {"power_w": 1234, "energy_export_wh": 567890, "voltage_v": 229.5,
                  "frequency_hz": 60.01, "current_a": 5.37, "temperature_c": 41.5, "state": 4}
METER_FIXED = {"power_w": -812, "energy_import_wh": 2345678, "energy_export_wh": 98765,
               "voltage_v": 218.7, "frequency_hz": 59.98, "current_a": 3.86,
               "power_factor": 0.97, "events": 5}
HALL_FIXED = {"power_w": 48210, "energy_import_wh": 98765430, "energy_export_wh": 12,
              "voltage_v": 224.1, "frequency_hz": 60.02, "current_a": 71.5}


def D(x):
    return Decimal(str(x))


def test_fixed_values_decode_exactly(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml(
        {"port": port, "unit": 1, "kind": "inverter", "capacity": 3000,
         "serial": "PV-FIX-{n}", "fixed": INVERTER_FIXED},
        {"port": port, "unit": 2, "kind": "meter", "phases": 1, "fixed": METER_FIXED},
        {"port": port, "unit": 3, "kind": "meter", "phases": 3, "kwh_month": 60000,
         "fixed": HALL_FIXED}))
    common, inv, mppt, _ = read_chain(port, 1)
    assert common.raw("SN") == "PV-FIX-1"
    assert inv.value("W") == D(1234)
    assert inv.value("WH") == D(567890)
    assert inv.value("PhVphA") == D(229.5)
    assert inv.value("Hz") == D(60.01)
    assert inv.value("A") == D(5.37)
    assert inv.value("TmpCab") == D(41.5)
    assert inv.raw("St") == 4
    assert inv.raw("Evt1") == 0
    assert inv.value("PF") == D(100)  # default power factor 1.0, in percent
    assert mppt.value("DCW", 0) > 0

    common, meter, _ = read_chain(port, 2)
    assert common.raw("DA") == 2
    assert meter.value("W") == D(-812)
    assert meter.value("TotWhImp") == D(2345678)
    assert meter.value("TotWhExp") == D(98765)
    assert meter.value("PhV") == D(218.7)
    assert meter.value("PhVphA") == D(218.7)
    assert meter.value("Hz") == D(59.98)
    assert meter.value("A") == D(3.86)
    assert meter.value("PF") == D(97)
    assert meter.raw("Evt") == 5

    _, hall, _ = read_chain(port, 3)
    assert hall.id == 203
    assert hall.value("W") == D(48210)
    assert hall.value("TotWhImp") == D(98765430)
    assert hall.value("TotWhExp") == D(12)
    assert hall.value("PhVphC") == D(224.1)
    assert hall.value("A") == D(71.5)
    assert hall.value("Hz") == D(60.02)


def test_global_fixed_flag_uses_defaults(sim_factory):
    port = harness.free_port()
    sim = sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "inverter"}), fixed=True)
    first = read_chain(port, 1)[1]
    assert first.value("W") == D(1500)
    assert first.value("WH") == D(1000000)
    time.sleep(1.2)
    again = read_chain(port, 1)[1]
    assert again.regs == first.regs  # fixed counters do not advance
    assert sim.running()


# ---- addressing and exceptions -----------------------------------------------------------

def test_units_on_one_port_are_different_devices(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 1, "count": 2, "kind": "inverter",
                              "capacity": 3000}), args=["--time", NOON])
    a, b = read_chain(port, 1), read_chain(port, 2)
    assert a[0].raw("SN") == "INV%d-001" % port
    assert b[0].raw("SN") == "INV%d-002" % port
    assert (a[0].raw("DA"), b[0].raw("DA")) == (1, 2)
    assert a[1].regs != b[1].regs


def test_unknown_unit_is_a_gateway_exception(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 5, "kind": "meter"}))
    assert exception_code(port, 4, BASE, 2) == 0x0B
    assert exception_code(port, 247, BASE, 2) == 0x0B


def test_addresses_outside_the_image(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "inverter"}))
    assert exception_code(port, 1, 39990, 10) == 2
    assert exception_code(port, 1, 0, 1) == 2
    assert exception_code(port, 1, 40172, 3) == 2  # runs past the end model (40172, 40173)
    assert exception_code(port, 1, 40000, 126) == 3  # quantity above 125
    assert exception_code(port, 1, 40172, 2) is None  # the end model itself is readable
    assert exception_code(port, 1, 40002, 1, write=True) == 1  # read-only image
    assert exception_code(port, 1, 30000, 1, write=True) == 2


def mbap(tid, unit, pdu):
    return struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu


def recv_exact(sock, n):
    data = b""
    while len(data) < n:
        chunk = sock.recv(n - len(data))
        if not chunk:
            break
        data += chunk
    return data


def test_framing_partial_pipelined_and_malformed(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "meter"}))
    req = mbap(7, 1, struct.pack(">BHH", 3, BASE, 2))
    expect = struct.pack(">HHHBBBHH", 7, 0, 7, 1, 3, 4, 0x5375, 0x6E53)
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        for byte in req:  # one byte at a time
            s.sendall(bytes([byte]))
            time.sleep(0.01)
        assert recv_exact(s, len(expect)) == expect
        s.sendall(req + mbap(8, 1, struct.pack(">BHH", 4, BASE, 1)))  # pipelined
        assert recv_exact(s, len(expect)) == expect
        assert recv_exact(s, 11) == struct.pack(">HHHBBBH", 8, 0, 5, 1, 4, 2, 0x5375)
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(struct.pack(">HHHB", 1, 9, 6, 1) + struct.pack(">BHH", 3, BASE, 2))
        assert s.recv(100) == b""  # protocol id 9: closed
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(mbap(2, 1, struct.pack(">BHHB", 3, BASE, 2, 0)))  # read with a stray byte
        assert s.recv(100) == b""


def test_many_concurrent_clients(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 1, "count": 50, "kind": "meter"}))
    socks = [socket.create_connection(("127.0.0.1", port), timeout=5) for _ in range(200)]
    try:
        for i, s in enumerate(socks):
            s.sendall(mbap(i, i % 50 + 1, struct.pack(">BHH", 3, 40002 + 66, 1)))
        for i, s in enumerate(socks):
            unit = i % 50 + 1  # model 1's DA (40068) holds the unit id
            assert recv_exact(s, 11) == struct.pack(">HHHBBBH", i, 0, 5, unit, 3, 2, unit)
    finally:
        for s in socks:
            s.close()


def test_mbpoll_reads_the_sunspec_marker(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "inverter"}))
    res = subprocess.run(["mbpoll", "-m", "tcp", "-p", str(port), "-a", "1", "-r", "40001",
                          "-c", "4", "-1", "-t", "4", "127.0.0.1"],
                         capture_output=True, text=True, timeout=20)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "[40001]: \t21365" in res.stdout, res.stdout
    assert "[40002]: \t28243" in res.stdout, res.stdout
    assert "[40004]: \t66" in res.stdout, res.stdout


# ---- physics ---------------------------------------------------------------------------

def test_noon_production_and_counters_advance(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml(
        {"port": port, "unit": 1, "kind": "inverter", "capacity": 90000},
        {"port": port, "unit": 2, "kind": "meter", "phases": 3, "kwh_month": 60000}),
        args=["--time", NOON])
    inv1, meter1 = read_chain(port, 1)[1], read_chain(port, 2)[1]
    assert inv1.value("W") > 0
    assert inv1.raw("St") == 4
    assert Decimal(218) <= inv1.value("PhVphA") <= Decimal(232)
    assert abs(inv1.value("Hz") - 60) <= Decimal("0.02")
    assert meter1.value("W") > 0
    time.sleep(3.0)
    inv2, meter2 = read_chain(port, 1)[1], read_chain(port, 2)[1]
    assert inv2.value("WH") > inv1.value("WH")
    assert meter2.value("TotWhImp") > meter1.value("TotWhImp")


def test_live_feedback_saving(sim_factory):
    """feedback_saving/feedback_from scale a live meter's household load from that day on
    (the history's AMI feedback, docs/SIMULATOR.md): the same device (seed, ordinal) read at
    one frozen instant with and without the keys."""
    def fleet(port, frm):
        extra = {"feedback_saving": 0.25, "feedback_from": frm} if frm else {}
        return devices_yaml(dict({"port": port, "unit": 1, "kind": "meter", "phases": 1,
                                  "kwh_month": 3000}, **extra))
    frozen = ["--time", "2026-09-02T19:30:00+09:00", "--speed", "0"]
    ports = [harness.free_port() for _ in range(3)]
    sim_factory(fleet(ports[0], None), args=frozen, seed=7)
    sim_factory(fleet(ports[1], "2026-09-01"), args=frozen, seed=7)  # started: x 0.75
    sim_factory(fleet(ports[2], "2026-09-03"), args=frozen, seed=7)  # not yet: x 1
    w = [read_chain(p, 1)[1].value("W") for p in ports]
    # 3000 kWh a month is 4,110 W on average (3,000,000 x 12 / 8,760 h): W has a resolution
    # of 1 W or finer, so 0.75 x W holds to 1 W plus rounding
    assert w[0] > 1000
    assert abs(w[1] - Decimal("0.75") * w[0]) <= 1
    assert w[2] == w[0]


def test_night_inverter_sleeps(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "inverter"}),
                args=["--time", NIGHT])
    inv = read_chain(port, 1)[1]
    assert inv.value("W") == 0
    assert inv.raw("St") == 2
    assert inv.value("WH") > 0  # an old inverter's lifetime counter


def dump(port, units):
    return {u: [m.regs for m in read_chain(port, u) if isinstance(m, Model)] for u in units}


def test_same_seed_same_values(sim_factory):
    def fleet(port):
        return devices_yaml(
            {"port": port, "unit": 1, "count": 3, "kind": "inverter", "capacity": 3000,
             "serial": "PV-{n}"},
            {"port": port, "unit": 10, "count": 3, "kind": "meter", "pv_capacity": 3000,
             "serial": "M-{n}"})
    ports = [harness.free_port() for _ in range(3)]
    frozen = ["--time", "2026-06-21T13:10:00+09:00", "--speed", "0"]
    sim_factory(fleet(ports[0]), args=frozen, seed=7)
    time.sleep(0.5)  # started at another moment: simulated time is pinned all the same
    sim_factory(fleet(ports[1]), args=frozen, seed=7)
    sim_factory(fleet(ports[2]), args=frozen, seed=8)
    units = [1, 2, 3, 10, 11, 12]
    a, b, c = dump(ports[0], units), dump(ports[1], units), dump(ports[2], units)
    assert a == b  # every register of every device
    assert a != c
    assert a[1][1] != a[2][1]  # devices of one seed differ from each other


def test_same_seed_same_values_across_restarts(sim_factory):
    port = harness.free_port()
    config = devices_yaml(
        {"port": port, "unit": 1, "count": 2, "kind": "inverter", "capacity": 3000},
        {"port": port, "unit": 5, "count": 2, "kind": "meter", "pv_capacity": 3000})
    frozen = ["--time", "2026-06-21T13:10:00+09:00", "--speed", "0"]
    sim = sim_factory(config, args=frozen, seed=7)
    first = dump(port, [1, 2, 5, 6])
    sim.restart()  # same ports, same seed and time: same registers
    assert dump(port, [1, 2, 5, 6]) == first
    sim.stop()
    other = sim_factory(config, args=frozen, seed=8)
    second = dump(port, [1, 2, 5, 6])
    assert second != first
    assert second[1][1] != first[1][1]  # model 103 of unit 1 differs
    other.stop()


# ---- command line and configuration -----------------------------------------------------

def run_sim(*args):
    return subprocess.run([harness.Sim.binary()] + list(args), capture_output=True, text=True,
                          timeout=10)


def test_config_error_names_file_line_field(tmp_path):
    bad = tmp_path / "bad.yaml"
    bad.write_text("seed: 3\ndevices:\n  - port: 15020\n    unit: 300\n    kind: inverter\n")
    res = run_sim("--config", str(bad))
    assert res.returncode == 78
    assert "%s:4:" % bad in res.stderr and "devices[0].unit" in res.stderr, res.stderr
    typo = tmp_path / "typo.yaml"
    typo.write_text("devices:\n  - {port: 15020, unit: 1, kind: meter}\n  - port: 15020\n"
                    "    unit: 2\n    kind: meter\n    kwh_mnth: 300\n")
    res = run_sim("--config", str(typo))
    assert res.returncode == 78
    assert ":6:" in res.stderr and "kwh_mnth" in res.stderr, res.stderr
    dup = tmp_path / "dup.yaml"
    dup.write_text("devices:\n  - {port: 15020, unit: 1, count: 3, kind: meter}\n"
                   "  - {port: 15020, unit: 3, kind: inverter}\n")
    res = run_sim("--config", str(dup))
    assert res.returncode == 78 and "already used" in res.stderr, res.stderr
    addr = tmp_path / "addr.yaml"
    addr.write_text("listen: localhost\ndevices:\n  - {port: 15020, unit: 1, kind: meter}\n")
    res = run_sim("--config", str(addr))
    assert res.returncode == 78 and ":1: listen:" in res.stderr, res.stderr


def test_usage_errors(tmp_path):
    assert run_sim("--bogus").returncode == 64
    assert run_sim().returncode == 64
    assert run_sim("--config", "x.yaml", "--time", "noon").returncode == 64
    assert run_sim("--help").returncode == 0


def test_listening_lines_and_sigterm(sim_factory):
    p1, p2 = harness.free_port(), harness.free_port()
    sim = sim_factory(devices_yaml({"port": p1, "unit": 1, "count": 10, "kind": "inverter"},
                                   {"port": p2, "unit": 1, "kind": "meter"}))
    assert sim.stdout_text().splitlines() == ["listening 127.0.0.1:%d units=10" % p1,
                                              "listening 127.0.0.1:%d units=1" % p2]
    assert sim.stop() == 0


def test_demo_config_serves_the_city_slice(sim_factory):
    with open(os.path.join(harness.source_dir(), "config", "sim-demo.yaml"),
              encoding="utf-8") as fh:
        demo = yaml.safe_load(fh)
    remap = {}
    for dev in demo["devices"]:  # the demo's fixed ports become free ports here
        dev["port"] = remap.setdefault(dev["port"], harness.free_port())
        if "map" in dev:  # relative to config/, the file is written elsewhere
            dev["map"] = os.path.join(harness.source_dir(), "config", dev["map"])
    sim = sim_factory(demo, args=["--time", NOON])
    units = {}
    for line in sim.stdout_text().splitlines():
        addr, count = line.split()[1:]
        units[int(addr.rsplit(":", 1)[1])] = int(count.split("=")[1])
    expected = {15020: 10, 15021: 20, 15022: 5, 15023: 30, 15024: 30, 15025: 20,
                15026: 2,  # city hall: the building meter and its ESS's meter
                15027: 152,  # welfare: 10 + 10 senior centres, 2 rental complexes, 130 homes
                15028: 12}  # pole leakage sensors
    assert units == {remap[p]: n for p, n in expected.items()}
    water = read_chain(remap[15022], 5)
    assert water[0].raw("Md") == "SIM-INV-90K"
    assert water[1].value("W") > 0
    assert read_chain(remap[15026], 1)[1].id == 203
    assert read_chain(remap[15025], 20)[1].id == 201


# ---- weather series and the history's truth file (docs/SIMULATOR.md) --------------------

def test_weather_csv_is_kma_hourly_and_history_truth_matches(tmp_path):
    import csv
    import io
    res = run_sim("weather", "--from", "2024-02-28", "--to", "2024-03-01", "--seed", "4")
    assert res.returncode == 0, res.stderr
    rows = list(csv.reader(io.StringIO(res.stdout)))
    assert rows[0] == ["지점", "지점명", "일시", "기온(°C)"]  # KMA ASOS hourly columns
    body = rows[1:]
    days = {}
    for station, name, when, temp in body:
        assert (station, name) == ("133", "대전")
        day, hour = when.split(" ")
        days.setdefault(day, []).append(hour)
        assert -25.0 < float(temp) < 20.0, when  # late winter in Daejeon
    # 3 days (the leap day included), 24 rows each, 00:00 .. 23:00 local time
    assert sorted(days) == ["2024-02-28", "2024-02-29", "2024-03-01"]
    for hours in days.values():
        assert hours == ["%02d:00" % h for h in range(24)]
    # the example in docs/SIMULATOR.md
    assert res.stdout.startswith("지점,지점명,일시,기온(°C)\n133,대전,2024-02-28 00:00,5.6\n"
                                 "133,대전,2024-02-28 01:00,4.7\n133,대전,2024-02-28 02:00,3.9\n")
    again = run_sim("weather", "--from", "2024-02-28", "--to", "2024-03-01", "--seed", "4")
    assert again.stdout == res.stdout  # seeded: the same series
    other = run_sim("weather", "--from", "2024-02-28", "--to", "2024-03-01", "--seed", "5")
    assert other.stdout != res.stdout
    bad = run_sim("weather", "--from", "2024-02-30", "--to", "2024-03-01")
    assert bad.returncode == 64 and "dates" in bad.stderr

    # the history with weather-driven loads and its truth file: the actual kWh per device and
    # day is the interval CSV's sum, avoided = counterfactual - actual, LED homes save
    src = harness.source_dir()
    hist, truth = tmp_path / "h.csv", tmp_path / "truth.csv"
    res = run_sim("history", "--config", os.path.join(src, "config", "sim-demo.yaml"),
                  "--enmond", os.path.join(src, "config", "enmond.yaml"),
                  "--from", "2016-10-03", "--to", "2016-10-04", "--weather",
                  "--weather-offset-winter", "-2", "--truth", str(truth), "--out", str(hist))
    assert res.returncode == 0, res.stderr
    sums = {}
    with open(hist, encoding="utf-8") as fh:
        for r in csv.DictReader(fh):
            key = (r["device"], r["start"][:10])
            sums[key] = sums.get(key, Decimal(0)) + Decimal(r["wh_import"]) + \
                (Decimal(r["wh_export"]) if "-pv" in r["device"] else 0)
    with open(truth, encoding="utf-8") as fh:
        trows = list(csv.DictReader(fh))
    assert len(trows) == len(sums) and len(trows) > 0
    saving = 0
    for r in trows:
        actual, cf = Decimal(r["actual_kwh"]), Decimal(r["counterfactual_kwh"])
        assert Decimal(r["avoided_kwh"]) == cf - actual
        if r["kind"] == "inverter":
            assert Decimal(r["solar_kwh"]) == actual and actual == cf
        else:
            assert actual * 1000 == sums[(r["device"], r["date"])], r
        saving += Decimal(r["avoided_kwh"]) > 0
    assert saving > 0  # the demo's retrofitted homes
    assert "led-01-meter,2016-10-03,meter,9.7197,10.0681,0.3484,0.0000,9.7197\n" in \
        truth.read_text(encoding="utf-8")  # the example in docs/SIMULATOR.md
