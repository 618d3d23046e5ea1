"""test_sim_variants.py -- enmon-sim's Modbus varieties against pymodbus and mbpoll: float SunSpec
models, base addresses, legacy common model, several devices behind one unit, register maps,
silent and late units, Modbus RTU on a pty."""
import json
import math
import os
import socket
import struct
import subprocess
import termios
import time

import pytest
import yaml
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.framer.rtu_framer import ModbusRtuFramer

import harness

END = 0xFFFF
NAN32 = 0x7FC00000
MAPS = os.path.join(harness.source_dir(), "config", "maps")


# ---- a simulator whose devices may sit on RTU buses (no port) ------------------------------

class BusSim(harness.Sim):
    """harness.Sim for configs with rtu: buses; start() also waits for every bus's line
    ("rtu PATH -> /dev/pts/N ...", printed once the link is in place)."""

    def __init__(self, tmpdir, config, args=()):
        super().__init__(tmpdir, {"devices": []}, args=args)
        text = config if isinstance(config, str) else json.dumps(config, indent=2)
        with open(self.config, "w", encoding="utf-8") as fh:
            fh.write(text)
        doc = yaml.safe_load(text)
        self.ports = sorted({d["port"] for d in doc["devices"] if "port" in d})
        self.links = [r["path"] for r in doc.get("rtu", [])]

    def start(self, timeout=10.0):
        super().start(timeout)
        deadline = time.monotonic() + timeout
        while not all(("rtu %s -> " % p) in self.stdout_text() for p in self.links):
            assert time.monotonic() < deadline and self.running(), self.stderr_text()
            time.sleep(0.02)
        return self


@pytest.fixture
def bus_sim(tmp_path):
    sims = []

    def make(config, args=()):
        sim = BusSim(tmp_path, config, args=args)
        sims.append(sim)
        return sim.start()

    yield make
    codes = [s.stop(check=False) for s in sims]
    assert all(rc in (None, 0) for rc in codes), codes


def rtu_dir(tmp_path):
    path = tmp_path / "x"
    path.mkdir(exist_ok=True)
    return str(path)


# ---- SunSpec decoding from the official JSON (independent of the C tables) ---------------

def model_points(model_id, _cache={}):
    """{name: (offset from the ID register, size, type, sf name)}, fixed block length."""
    if model_id not in _cache:
        path = os.path.join(harness.source_dir(), "data", "sunspec", "model_%d.json" % model_id)
        with open(path, encoding="utf-8") as fh:
            group = json.load(fh)["group"]
        out, off = {}, 0
        for p in group["points"]:
            size = int(p.get("size", 1))
            out[p["name"]] = (off, size, p["type"], p.get("sf"))
            off += size
        _cache[model_id] = (out, off)
    return _cache[model_id]


def words_int(words):
    value = 0
    for w in words:
        value = (value << 16) | w
    return value


def f32(value):
    """value as the nearest float32 (what a float32 register can carry)."""
    return struct.unpack(">f", struct.pack(">f", value))[0]


class Model:
    def __init__(self, addr, regs):
        self.addr, self.id, self.length, self.regs = addr, regs[0], regs[1], regs
        self.points, self.full_len = model_points(self.id)

    def raw(self, name):
        off, size, typ, _ = self.points[name]
        assert off + size <= len(self.regs), (self.id, name)
        words = self.regs[off:off + size]
        if typ == "string":
            return b"".join(struct.pack(">H", w) for w in words).split(b"\0", 1)[0].decode()
        if typ == "float32":
            return struct.unpack(">f", struct.pack(">HH", *words))[0]
        value = words_int(words)
        if typ in ("int16", "sunssf") and value >= 0x8000:
            value -= 0x10000
        return value

    def value(self, name):
        """Integer models: raw x 10^sf (exact, via repr of the decimal); floats: the float."""
        _, _, typ, sf_name = self.points[name]
        raw = self.raw(name)
        if sf_name is None:
            return raw
        sf = self.raw(sf_name)
        return float("%de%d" % (raw, sf))


def read(client, addr, count, unit, fc=3):
    out = []
    while count > 0:
        n = min(count, 125)
        if fc == 3:
            rr = client.read_holding_registers(addr, n, slave=unit)
        else:
            rr = client.read_input_registers(addr, n, slave=unit)
        assert not rr.isError(), "read %d+%d unit %d: %s" % (addr, n, unit, rr)
        out += rr.registers
        addr += n
        count -= n
    return out


def tcp(port, timeout=3):
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=timeout)
    assert client.connect()
    return client


def walk(client, unit, base=40000):
    """'SunS' at base, then the chain: [Model ...] (the end model checked, not returned)."""
    assert read(client, base, 2, unit) == [0x5375, 0x6E53]
    models, addr = [], base + 2
    while True:
        mid, length = read(client, addr, 2, unit)
        if mid == END:
            assert length == 0
            return models
        models.append(Model(addr, [mid, length] + read(client, addr + 2, length, unit)))
        addr += 2 + length
        assert len(models) < 12


def exception_code(client, addr, count, unit, fc=3):
    if fc == 3:
        rr = client.read_holding_registers(addr, count, slave=unit)
    else:
        rr = client.read_input_registers(addr, count, slave=unit)
    return rr.exception_code if rr.isError() and hasattr(rr, "exception_code") else None


def devices_yaml(*entries, rtu=None):
    text = ""
    if rtu:
        text += "rtu:\n" + "".join("  - %s\n" % json.dumps(r) for r in rtu)
    return text + "devices:\n" + "".join("  - %s\n" % json.dumps(e) for e in entries)


# ---- float SunSpec models ------------------------------------------------------------------

# float32-exact values, so that decoding gives them back exactly
INV = {"power_w": 1234.5, "energy_export_wh": 567890, "voltage_v": 229.5, "current_a": 5.25,
       "frequency_hz": 60.0, "temperature_c": 41.5, "power_factor": 0.5, "state": 4}
MTR = {"power_w": -812.5, "energy_import_wh": 2345678, "energy_export_wh": 98765,
       "voltage_v": 218.5, "current_a": 3.75, "frequency_hz": 59.5, "power_factor": 0.75,
       "events": 5}


@pytest.mark.parametrize("model,phases", [(111, 1), (112, 2), (113, 3)])
def test_float_inverter_values_decode_exactly(sim_factory, model, phases):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "inverter", "model": model,
                              "fixed": INV}))
    client = tcp(port)
    try:
        models = walk(client, 1)
    finally:
        client.close()
    assert [(m.id, m.length) for m in models] == [(1, 66), (model, 60), (160, 48)]
    inv = models[1]
    assert inv.addr == 40070 and models[2].addr == 40132
    assert inv.raw("W") == INV["power_w"]
    assert inv.raw("WH") == INV["energy_export_wh"]
    assert inv.raw("PhVphA") == INV["voltage_v"]
    assert inv.raw("A") == INV["current_a"]
    assert inv.raw("AphA") == f32(INV["current_a"] / phases)
    assert inv.raw("Hz") == INV["frequency_hz"]
    assert inv.raw("TmpCab") == INV["temperature_c"]
    assert inv.raw("PF") == INV["power_factor"] * 100  # percent, as in the integer models
    assert inv.raw("St") == 4 and inv.raw("Evt1") == 0
    # not implemented: NaN (the canonical quiet NaN on the wire)
    assert math.isnan(inv.raw("TmpSnk"))
    off = inv.points["TmpSnk"][0]
    assert words_int(inv.regs[off:off + 2]) == NAN32
    if phases < 3:
        assert math.isnan(inv.raw("PhVphC")) and math.isnan(inv.raw("AphC"))
    else:
        assert inv.raw("PhVphC") == INV["voltage_v"]
    # the float models have no scale factors
    assert "W_SF" not in inv.points


def test_float_meter_211_is_read_in_parts(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 2, "kind": "meter", "model": 211,
                              "fixed": MTR}))
    client = tcp(port)
    try:
        # the whole model (ID .. Evt) is 126 registers: one read cannot take it
        assert exception_code(client, 40070, 126, 2) == 3
        models = walk(client, 2)  # reads the model in parts of at most 125
    finally:
        client.close()
    assert [(m.id, m.length) for m in models] == [(1, 66), (211, 124)]
    m = models[1]
    assert len(m.regs) == 126
    assert m.raw("W") == MTR["power_w"]
    assert m.raw("TotWhImp") == MTR["energy_import_wh"]
    assert m.raw("TotWhExp") == MTR["energy_export_wh"]
    assert m.raw("PhV") == m.raw("PhVphA") == MTR["voltage_v"]
    assert m.raw("A") == MTR["current_a"]
    assert m.raw("Hz") == MTR["frequency_hz"]
    assert m.raw("PF") == MTR["power_factor"]  # units "PF" in 211-213: the ratio itself
    assert m.raw("Evt") == 5  # the last register of the model
    assert math.isnan(m.raw("AphB")) and math.isnan(m.raw("TotVAhImp"))


@pytest.mark.parametrize("kind,model", [("inverter", 101), ("inverter", 102), ("meter", 202),
                                        ("meter", 204), ("meter", 212), ("meter", 213)])
def test_every_main_model_is_served(sim_factory, kind, model):
    port = harness.free_port()
    values = INV if kind == "inverter" else MTR
    sim_factory(devices_yaml({"port": port, "unit": 1, "kind": kind, "model": model,
                              "fixed": values}))
    client = tcp(port)
    try:
        models = walk(client, 1)
    finally:
        client.close()
    main = models[1]
    assert main.id == model and main.length == model_points(model)[1] - 2
    assert [m.id for m in models] == ([1, model, 160] if kind == "inverter" else [1, model])
    assert main.value("W") == values["power_w"]
    assert main.value("Hz") == values["frequency_hz"]


# ---- base addresses, legacy common model, several devices behind one unit --------------

@pytest.mark.parametrize("base", [0, 50000])
def test_other_base_addresses(sim_factory, base):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "meter", "sunspec_base": base,
                              "fixed": MTR}))
    client = tcp(port)
    try:
        models = walk(client, 1, base)
        assert [(m.addr, m.id) for m in models] == [(base + 2, 1), (base + 70, 201)]
        assert models[1].value("W") == MTR["power_w"]
        assert exception_code(client, 40000, 2, 1) == 2  # nothing at the usual base
    finally:
        client.close()


def test_legacy_common_model_has_length_65(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "inverter",
                              "legacy_common": True, "serial": "OLD-1", "fixed": INV}))
    client = tcp(port)
    try:
        models = walk(client, 1)
    finally:
        client.close()
    assert [(m.addr, m.id, m.length) for m in models] == [(40002, 1, 65), (40069, 103, 50),
                                                          (40121, 160, 48)]
    assert models[0].raw("SN") == "OLD-1" and models[0].raw("DA") == 1
    assert models[1].value("W") == INV["power_w"]


def test_two_devices_behind_one_unit(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 9, "kind": "meter", "devices_behind": 2,
                              "serial": "GW-A", "fixed": MTR}))
    client = tcp(port)
    try:
        models = walk(client, 9)
    finally:
        client.close()
    assert [(m.addr, m.id) for m in models] == [(40002, 1), (40070, 201), (40177, 1),
                                                (40245, 201)]
    first, second = models[1], models[3]
    assert models[0].raw("SN") == "GW-A" and models[2].raw("SN") == "GW-A-2"
    # device 2: power, energies and current x 2, voltage + 1 V, the rest as configured
    assert first.value("W") == MTR["power_w"] and second.value("W") == 2 * MTR["power_w"]
    assert second.value("TotWhImp") == 2 * MTR["energy_import_wh"]
    assert second.value("TotWhExp") == 2 * MTR["energy_export_wh"]
    assert second.value("A") == 2 * MTR["current_a"]
    assert second.value("PhV") == MTR["voltage_v"] + 1
    assert second.value("Hz") == first.value("Hz") == MTR["frequency_hz"]


# ---- register maps -----------------------------------------------------------------------

def map_points(name):
    with open(os.path.join(MAPS, name), encoding="utf-8") as fh:
        return yaml.safe_load(fh)["points"]


def decode_point(p, words):
    """A map point's value from its registers (MAPS.md rules), computed here in Python."""
    order = p.get("order", "ABCD")
    typ = p["type"]
    if typ == "string":
        return b"".join(struct.pack(">H", w) for w in words).split(b"\0", 1)[0].decode().rstrip()
    if order in ("CDAB", "DCBA"):
        words = list(reversed(words))
    if order in ("BADC", "DCBA"):
        words = [((w & 0xFF) << 8) | (w >> 8) for w in words]
    data = b"".join(struct.pack(">H", w) for w in words)
    fmt = {"u16": ">H", "s16": ">h", "u32": ">I", "s32": ">i", "u64": ">Q", "s64": ">q",
           "f32": ">f", "f64": ">d"}[typ]
    raw = struct.unpack(fmt, data)[0]
    scale = p.get("scale", 1)
    inv = 1 / scale
    if abs(scale) < 1 and abs(inv - round(inv)) < 1e-9:
        value = raw / round(inv)
    else:
        value = raw * scale
    return value + p.get("offset", 0)


SIZES = {"u16": 1, "s16": 1, "u32": 2, "s32": 2, "f32": 2, "u64": 4, "s64": 4, "f64": 4}
# values exact in each map's encoding (float32 included)
MAP_METER = {"power_w": 1234, "energy_import_wh": 2500000, "energy_export_wh": 12500,
             "voltage_v": 229.5, "current_a": 12.25, "frequency_hz": 60.0, "power_factor": 0.75,
             "events": 6}


def read_map(client, unit, points):
    """Registers of every point: {name: words}."""
    out = {}
    for p in points:
        n = p.get("length") or SIZES[p["type"]]
        fc = 4 if p.get("register") == "input" else 3
        out[p["name"]] = read(client, p["address"], n, unit, fc)
    return out


@pytest.mark.parametrize("map_name", ["enmon-ami.yaml", "eastron-sdm630.yaml",
                                      "carlo-gavazzi-em24.yaml"])
def test_map_devices_serve_the_fixed_values(sim_factory, tmp_path, map_name):
    port = harness.free_port()
    # a relative map path is resolved against the simulator config's folder
    os.symlink(MAPS, tmp_path / "maps")
    sim_factory(devices_yaml({"port": port, "unit": 4, "kind": "meter", "map": "maps/" + map_name,
                              "serial": "AMI12345", "fixed": MAP_METER}))
    points = map_points(map_name)
    client = tcp(port)
    try:
        regs = read_map(client, 4, points)
        fed = 0
        for p in points:
            value = decode_point(p, regs[p["name"]])
            if p["type"] == "string":
                assert value == "AMI12345"[:2 * p["length"]], (p, value)
            elif "measurement" in p:
                assert value == MAP_METER[p["measurement"]], (p, value)
                fed += 1
            else:
                assert value == 0, (p, value)  # points without a measurement read 0
        assert fed >= 6
        kinds = {p.get("register", "holding") for p in points}
        top = {k: max(p["address"] + (p.get("length") or SIZES[p["type"]])
                      for p in points if p.get("register", "holding") == k) for k in kinds}
        for kind, end in top.items():
            fc = 4 if kind == "input" else 3
            assert exception_code(client, end, 1, 4, fc) == 2  # beyond the highest register
            assert exception_code(client, end - 1, 2, 4, fc) == 2
            assert read(client, end - 1, 1, 4, fc)  # the highest register itself
        for kind in {"holding", "input"} - kinds:  # a kind the map does not use
            assert exception_code(client, 0, 1, 4, 4 if kind == "input" else 3) == 2
    finally:
        client.close()


def test_map_gaps_read_zero(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "meter",
                              "map": os.path.join(MAPS, "eastron-sdm630.yaml"),
                              "fixed": MAP_METER}))
    client = tcp(port)
    try:
        assert read(client, 0x18, 6, 1, fc=4) == [0] * 6  # between the points
        power = read(client, 0x34, 2, 1, fc=4)
        assert struct.unpack(">f", struct.pack(">HH", *power))[0] == 1234
    finally:
        client.close()


# ---- silent and late units ---------------------------------------------------------------

def test_silent_unit_times_out_while_its_neighbour_answers(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "meter", "fixed": MTR},
                             {"port": port, "unit": 2, "kind": "meter", "silent": True}))
    with socket.create_connection(("127.0.0.1", port), timeout=3) as s:
        s.sendall(struct.pack(">HHHBBHH", 7, 0, 6, 2, 3, 40000, 2))
        s.settimeout(0.6)
        with pytest.raises(socket.timeout):
            s.recv(64)  # swallowed: no reply, no exception, connection kept
        s.settimeout(3)
        s.sendall(struct.pack(">HHHBBHH", 8, 0, 6, 1, 3, 40000, 2))
        reply = s.recv(64)
    assert reply == struct.pack(">HHHBBBHH", 8, 0, 7, 1, 3, 4, 0x5375, 0x6E53)
    client = tcp(port, timeout=1)
    try:
        t0 = time.monotonic()
        try:
            rr = client.read_holding_registers(40000, 2, slave=2)
            failed = rr.isError()
        except Exception:  # pymodbus may raise on a timeout instead
            failed = True
        assert failed and time.monotonic() - t0 >= 0.4
        assert read(client, 40000, 2, 1) == [0x5375, 0x6E53]
    finally:
        client.close()


def test_delay_answers_late(sim_factory):
    port = harness.free_port()
    sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "meter", "delay": "250ms"},
                             {"port": port, "unit": 2, "kind": "meter"}))
    client = tcp(port)
    try:
        t0 = time.monotonic()
        assert read(client, 40000, 2, 1) == [0x5375, 0x6E53]
        late = time.monotonic() - t0
        t0 = time.monotonic()
        assert read(client, 40000, 2, 2) == [0x5375, 0x6E53]
        prompt = time.monotonic() - t0
    finally:
        client.close()
    print("delayed reply after %.3f s, prompt reply after %.3f s" % (late, prompt))
    assert 0.25 <= late < 1.0 and prompt < 0.1


# ---- Modbus RTU on a pty -----------------------------------------------------------------

def rtu_config(tmp_path, baud=9600):
    link = os.path.join(rtu_dir(tmp_path), "ttySIM0")
    cfg = devices_yaml({"rtu": link, "unit": 1, "kind": "inverter", "fixed": INV},
                       {"rtu": link, "unit": 2, "kind": "meter", "model": 211, "fixed": MTR},
                       {"rtu": link, "unit": 3, "kind": "meter", "silent": True},
                       rtu=[{"path": link, "baud": baud}])
    return link, cfg


def test_rtu_pymodbus_reads_marker_and_values(tmp_path, bus_sim):
    link, cfg = rtu_config(tmp_path)
    sim = bus_sim(cfg)
    assert os.readlink(link).startswith("/dev/pts/")
    assert ("rtu %s -> %s baud=9600 units=3" % (link, os.readlink(link))) in sim.stdout_text()
    client = ModbusSerialClient(link, framer=ModbusRtuFramer, baudrate=9600, timeout=1)
    assert client.connect()
    try:
        inv = walk(client, 1)
        assert [m.id for m in inv] == [1, 103, 160]
        assert inv[1].value("W") == INV["power_w"] and inv[1].value("PhVphA") == INV["voltage_v"]
        meter = walk(client, 2)
        assert [(m.id, m.length) for m in meter] == [(1, 66), (211, 124)]
        assert meter[1].raw("W") == MTR["power_w"]
        assert meter[1].raw("TotWhImp") == MTR["energy_import_wh"]
    finally:
        client.close()


def rtu_frame(unit, pdu):
    crc = 0xFFFF
    frame = bytes([unit]) + pdu
    for b in frame:
        crc ^= b
        for _ in range(8):
            crc = (crc >> 1) ^ 0xA001 if crc & 1 else crc >> 1
    return frame + struct.pack("<H", crc)


def raw_serial(link):
    fd = os.open(link, os.O_RDWR | os.O_NOCTTY)
    attrs = termios.tcgetattr(fd)
    attrs[0] = attrs[1] = attrs[3] = 0  # raw: no input, output or line processing
    attrs[2] = termios.CS8 | termios.CREAD | termios.CLOCAL
    attrs[6][termios.VMIN] = 0
    attrs[6][termios.VTIME] = 3  # reads return after 0.3 s of silence
    termios.tcsetattr(fd, termios.TCSANOW, attrs)
    termios.tcflush(fd, termios.TCIOFLUSH)
    return fd


def read_reply(fd, want):
    data = b""
    while len(data) < want:
        chunk = os.read(fd, want - len(data))
        if not chunk:
            break
        data += chunk
    return data


def test_rtu_crc_errors_unknown_and_silent_units_get_no_reply(tmp_path, bus_sim):
    link, cfg = rtu_config(tmp_path)
    bus_sim(cfg)
    fd = raw_serial(link)
    try:
        good = rtu_frame(1, struct.pack(">BHH", 3, 40000, 2))
        expect = rtu_frame(1, struct.pack(">BBHH", 3, 4, 0x5375, 0x6E53))
        os.write(fd, good)
        assert read_reply(fd, len(expect)) == expect
        bad = good[:-1] + bytes([good[-1] ^ 0x55])
        for frame in (bad, rtu_frame(7, good[1:6]), rtu_frame(3, good[1:6]),
                      rtu_frame(0, good[1:6])):
            os.write(fd, frame)
            assert read_reply(fd, 1) == b"", frame.hex()  # nothing within 0.3 s
        os.write(fd, good)  # the bus still answers afterwards
        assert read_reply(fd, len(expect)) == expect
        # an exception travels in an RTU frame too (address outside the image)
        os.write(fd, rtu_frame(1, struct.pack(">BHH", 3, 39999, 2)))
        assert read_reply(fd, 5) == rtu_frame(1, bytes([0x83, 2]))
    finally:
        os.close(fd)


def test_mbpoll_over_rtu(tmp_path, bus_sim):
    link, cfg = rtu_config(tmp_path)
    bus_sim(cfg)
    res = subprocess.run(["mbpoll", "-m", "rtu", "-b", "9600", "-P", "none", "-a", "1", "-r",
                          "40001", "-c", "2", "-1", "-t", "4:hex", link],
                         capture_output=True, text=True, timeout=20)
    assert res.returncode == 0, res.stdout + res.stderr
    assert "[40001]: \t0x5375" in res.stdout and "[40002]: \t0x6E53" in res.stdout, res.stdout


def test_stale_link_replaced_and_removed_at_exit(tmp_path, bus_sim):
    link, cfg = rtu_config(tmp_path)
    os.symlink("/dev/null-gone", link)  # left over from a killed simulator
    sim = bus_sim(cfg)
    assert os.readlink(link).startswith("/dev/pts/")
    sim.stop()
    assert not os.path.lexists(link)


# ---- configuration errors ------------------------------------------------------------------

@pytest.mark.parametrize("entry,field", [
    ({"port": 1502, "unit": 1, "kind": "inverter", "model": 201}, "devices[0].model"),
    ({"port": 1502, "unit": 1, "kind": "meter", "sunspec_base": 30000}, "devices[0].sunspec_base"),
    ({"port": 1502, "unit": 1, "kind": "meter", "map": "nope.yaml"}, "devices[0].map"),
    ({"port": 1502, "unit": 1, "kind": "meter", "map": "m.yaml", "model": 203}, "devices[0].map"),
    ({"rtu": "/tmp/none/tty", "unit": 1, "kind": "meter"}, "devices[0].rtu"),
    ({"port": 1502, "unit": 1, "kind": "meter", "delay": "soon"}, "devices[0].delay"),
    ({"port": 1502, "unit": 1, "kind": "meter", "devices_behind": 9},
     "devices[0].devices_behind"),
])
def test_config_errors_name_line_and_field(tmp_path, entry, field):
    (tmp_path / "m.yaml").write_text("name: m\npoints:\n  - {name: p, address: 0, type: u16}\n")
    path = tmp_path / "bad.yaml"
    path.write_text("seed: 1\n" + devices_yaml(entry))
    res = subprocess.run([harness.Sim.binary(), "--config", str(path)], capture_output=True,
                         text=True, timeout=10)
    assert res.returncode == 78, res.stderr
    assert "%s:3: %s:" % (path, field) in res.stderr, res.stderr


def test_map_file_error_names_the_map(tmp_path):
    (tmp_path / "m.yaml").write_text("name: m\npoints:\n  - {name: p, address: 0, type: u17}\n")
    path = tmp_path / "sim.yaml"
    path.write_text(devices_yaml({"port": 1502, "unit": 1, "kind": "meter", "map": "m.yaml"}))
    res = subprocess.run([harness.Sim.binary(), "--config", str(path)], capture_output=True,
                         text=True, timeout=10)
    assert res.returncode == 78
    assert "%s:3: points[0].type" % (tmp_path / "m.yaml") in res.stderr, res.stderr
