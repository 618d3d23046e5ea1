"""test_sunspec_layout.py -- every enmon-sim SunSpec layout checked against the official model JSON.

Nothing here uses enmond's decoder or the generated C tables: the chain is walked
with pymodbus and every point is decoded from data/sunspec/model_*.json (offset,
type, size, scale factor point, units). The simulator runs in fixed mode at a
frozen time, so each value must equal the number it was configured with, in
enmon's units: a power factor in -1..1 whether the model says "Pct" (101-103,
111-113, 201-204: percent) or "PF" (211-213: the ratio itself).
"""
import json
import math
import os
import struct
from decimal import Decimal

from pymodbus.client import ModbusTcpClient

import harness
from test_sim import read  # pymodbus block reads of at most 125 registers

NOON = "2026-06-21T12:00:00+09:00"
BASE = 40000

INVERTER = {"power_w": 2345, "energy_export_wh": 1234567, "voltage_v": 229.5,
            "frequency_hz": 59.98, "current_a": 10.5, "power_factor": 0.95,
            "temperature_c": 41.5, "state": 4, "events": 0}
METER = {"power_w": -812, "energy_import_wh": 2345678, "energy_export_wh": 98765,
         "voltage_v": 218.7, "frequency_hz": 59.98, "current_a": 3.86,
         "power_factor": 0.97, "events": 5}

INVERTER_MODELS = [101, 102, 103, 111, 112, 113]
METER_MODELS = [201, 202, 203, 204, 211, 212, 213]


# ---- the official models ------------------------------------------------------------------

def load_model(mid, _cache={}):
    """(fixed points, fixed length, group points, group length); points map a name to
    {off, size, type, sf, units} with offsets from the ID register (group: its start)."""
    if mid not in _cache:
        path = os.path.join(harness.source_dir(), "data", "sunspec", "model_%d.json" % mid)
        with open(path, encoding="utf-8") as fh:
            group = json.load(fh)["group"]

        def layout(points):
            out, off = {}, 0
            for p in points:
                size = int(p.get("size", 1))
                out[p["name"]] = {"off": off, "size": size, "type": p["type"],
                                  "sf": p.get("sf"), "units": p.get("units")}
                off += size
            return out, off

        fixed, flen = layout(group["points"])
        rep, rlen = layout(group["groups"][0]["points"]) if group.get("groups") else ({}, 0)
        _cache[mid] = (fixed, flen, rep, rlen)
    return _cache[mid]


def words_int(words):
    v = 0
    for w in words:
        v = (v << 16) | w
    return v


def raw_point(words, typ):
    """The point's raw number, or None when it holds the not-implemented value."""
    v = words_int(words)
    if typ in ("int16", "sunssf"):
        return None if v == 0x8000 else v - 0x10000 if v >= 0x8000 else v
    if typ in ("uint16", "enum16", "bitfield16", "count"):
        return None if v == 0xFFFF else v
    if typ in ("uint32", "enum32", "bitfield32"):
        return None if v == 0xFFFFFFFF else v
    if typ == "int32":
        return None if v == 0x80000000 else v - (1 << 32) if v >= 0x80000000 else v
    if typ in ("acc16", "acc32", "acc64"):
        return None if v == 0 else v
    if typ == "float32":
        f = struct.unpack(">f", struct.pack(">I", v))[0]
        return None if math.isnan(f) else f
    if typ == "pad":
        return None
    raise AssertionError("type %s not handled" % typ)


def to_enmon_units(value, units):
    """enmon's unit for a SunSpec unit: percent becomes a ratio, the rest stays."""
    if units == "Pct":
        return value / 100
    assert units in (None, "PF", "W", "Wh", "V", "A", "Hz", "C", "VA", "var", "VAh",
                     "varh", "Secs", "Ah"), "unexpected units %s" % units
    return value


class Model:
    def __init__(self, mid, regs):
        self.id = mid
        self.regs = regs
        self.fixed, self.fixed_len, self.group, self.group_len = load_model(mid)

    def _words(self, p, group):
        off = p["off"] + (0 if group is None else self.fixed_len + group * self.group_len)
        return self.regs[off:off + p["size"]]

    def raw(self, name, group=None):
        p = (self.fixed if group is None else self.group)[name]
        return raw_point(self._words(p, group), p["type"])

    def value(self, name, group=None):
        """The point in enmon's units (Decimal for integer models: exact), None when
        not implemented or its scale factor is."""
        p = (self.fixed if group is None else self.group)[name]
        raw = self.raw(name, group)
        if raw is None:
            return None
        if p["type"] == "float32":
            assert p["sf"] is None, "%s of model %d: a float with a scale factor" % (name, self.id)
            return to_enmon_units(raw, p["units"])
        v = Decimal(raw)
        if p["sf"] is not None:
            sf = self.raw(p["sf"]) if p["sf"] in self.fixed else self.raw(p["sf"], group)
            if sf is None:
                return None
            v = v.scaleb(sf)
        return to_enmon_units(v, p["units"])

    def implemented(self):
        names = {n for n, p in self.fixed.items() if p["type"] != "string" and
                 n not in ("ID", "L") and self.raw(n) is not None}
        return names


def walk_chain(port, unit):
    """[Model ...] of the chain at 40000, read whole, to the end model."""
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=3)
    assert client.connect()
    try:
        assert read(client, BASE, 2, unit) == [0x5375, 0x6E53]
        models, addr = [], BASE + 2
        while True:
            mid, length = read(client, addr, 2, unit)
            if mid == 0xFFFF:
                assert length == 0
                return models
            fixed_len = load_model(mid)[1] - 2
            group_len = load_model(mid)[3]
            assert length >= fixed_len and (group_len == 0 or (length - fixed_len) % group_len == 0), \
                "model %d: L = %d does not fit the official layout" % (mid, length)
            models.append(Model(mid, read(client, addr, length + 2, unit)))
            addr += 2 + length
    finally:
        client.close()


def close(got, want, is_float):
    """Integer models carry fixed values exactly; float models as the nearest float32."""
    assert got is not None, "not implemented, wanted %s" % want
    if not is_float:
        return Decimal(got) == Decimal(str(want))
    return abs(float(got) - want) <= 1e-6 * max(1.0, abs(want))


def phases(mid):
    return {1: 1, 2: 2}.get(mid % 10, 3)


def sim_config(port):
    devs = []
    for i, mid in enumerate(INVERTER_MODELS):
        devs.append({"port": port, "unit": i + 1, "kind": "inverter", "capacity": 3000,
                     "model": mid, "fixed": INVERTER})
    for i, mid in enumerate(METER_MODELS):
        devs.append({"port": port, "unit": 20 + i, "kind": "meter", "phases": 3,
                     "model": mid, "fixed": METER})
    return "devices:\n" + "".join("  - %s\n" % json.dumps(d) for d in devs)


# Points every layout implements (beyond ID and L), as docs/SIMULATOR.md lists them.
INVERTER_POINTS = {"A", "AphA", "PhVphA", "W", "Hz", "VA", "VAr", "PF", "WH", "DCA", "DCV",
                   "DCW", "TmpCab", "St", "Evt1", "Evt2"}
INVERTER_SF = {"A_SF", "V_SF", "W_SF", "Hz_SF", "VA_SF", "VAr_SF", "PF_SF", "WH_SF", "DCA_SF",
               "DCV_SF", "DCW_SF", "Tmp_SF"}
METER_POINTS = {"A", "AphA", "PhV", "PhVphA", "Hz", "W", "WphA", "VA", "VAphA", "VAR", "VARphA",
                "PF", "PFphA", "TotWhExp", "TotWhImp", "Evt"}
METER_SF = {"A_SF", "V_SF", "Hz_SF", "W_SF", "VA_SF", "VAR_SF", "PF_SF", "TotWh_SF"}
PHASE_B = {"AphB", "PhVphB", "WphB", "VAphB", "VARphB", "PFphB"}
PHASE_C = {"AphC", "PhVphC", "WphC", "VAphC", "VARphC", "PFphC"}
LINE_TO_LINE = {"PPV", "PPVphAB", "PPVphBC", "PPVphCA", "PhVphAB", "PhVphBC", "PhVphCA"}


def expected_points(mid, meter):
    n = phases(mid)
    want = set(METER_POINTS if meter else INVERTER_POINTS)
    if mid < 110 or 200 < mid < 210:
        want |= METER_SF if meter else INVERTER_SF
    if n >= 2:
        want |= PHASE_B
    if n == 3:
        want |= PHASE_C
    if n == 1 and meter:
        want |= {"TotWhExpPhA", "TotWhImpPhA"}
    fixed = load_model(mid)[0]
    if n == 3:
        want |= {p for p in LINE_TO_LINE if p in fixed and (meter or p != "PPV")}
    return {p for p in want if p in fixed}


def test_every_layout_matches_the_official_models(sim_factory):
    port = harness.free_port()
    sim_factory(sim_config(port), args=["--time", NOON, "--speed", "0"])
    for i, mid in enumerate(INVERTER_MODELS):
        models = walk_chain(port, i + 1)
        assert [m.id for m in models] == [1, mid, 160]
        inv, mppt = models[1], models[2]
        is_float = mid >= 111
        for point, key in [("W", "power_w"), ("WH", "energy_export_wh"),
                           ("PhVphA", "voltage_v"), ("Hz", "frequency_hz"),
                           ("A", "current_a"), ("TmpCab", "temperature_c"),
                           ("PF", "power_factor")]:
            assert close(inv.value(point), INVERTER[key], is_float), \
                "model %d %s = %s, configured %s" % (mid, point, inv.value(point), INVERTER[key])
        assert -1 <= inv.value("PF") <= 1
        assert inv.raw("St") == 4 and inv.raw("Evt1") == 0
        assert inv.implemented() == expected_points(mid, False), \
            "model %d implements %s" % (mid, sorted(inv.implemented() ^ expected_points(mid, False)))
        # model 160: two modules; DC power = AC power / 0.965, 52 % / 48 %, at 380 V
        assert mppt.raw("N") == 2
        dcw = [mppt.value("DCW", k) for k in range(2)]
        dcv = [mppt.value("DCV", k) for k in range(2)]
        dca = [mppt.value("DCA", k) for k in range(2)]
        # 2345 / 0.965 = 2430.05 W; each module rounded to DCW_SF
        assert abs(float(sum(dcw)) - 2345 / 0.965) <= 1.0, dcw
        assert abs(float(dcw[0]) - 0.52 * 2345 / 0.965) <= 0.5
        assert dcv == [Decimal(380), Decimal(380)]
        for k in range(2):  # I = P / V, to the resolution of DCA_SF (0.01 A)
            assert abs(float(dca[k]) - float(dcw[k]) / 380) <= 0.01
        assert mppt.raw("ID", 0) == 1 and mppt.raw("ID", 1) == 2
        assert mppt.implemented() == {"DCA_SF", "DCV_SF", "DCW_SF", "DCWH_SF", "Evt", "N"}
        for k in range(2):
            module = {n for n, p in mppt.group.items()
                      if p["type"] != "string" and mppt.raw(n, k) is not None}
            assert module == {"ID", "DCA", "DCV", "DCW", "DCWH", "DCSt", "DCEvt"}, module
            assert mppt.raw("DCSt", k) == 4
        # the inverter's own DC points agree with the modules
        assert abs(float(inv.value("DCW")) - float(sum(dcw))) <= 1.0

    for i, mid in enumerate(METER_MODELS):
        models = walk_chain(port, 20 + i)
        assert [m.id for m in models] == [1, mid]
        meter = models[1]
        is_float = mid >= 211
        for point, key in [("W", "power_w"), ("TotWhImp", "energy_import_wh"),
                           ("TotWhExp", "energy_export_wh"), ("PhV", "voltage_v"),
                           ("PhVphA", "voltage_v"), ("Hz", "frequency_hz"),
                           ("A", "current_a"), ("PF", "power_factor"),
                           ("PFphA", "power_factor")]:
            assert close(meter.value(point), METER[key], is_float), \
                "model %d %s = %s, configured %s" % (mid, point, meter.value(point), METER[key])
        assert 0.9 < meter.value("PF") <= 1, "model %d PF %s" % (mid, meter.value("PF"))
        assert meter.raw("Evt") == 5
        assert meter.implemented() == expected_points(mid, True), \
            "model %d: %s" % (mid, sorted(meter.implemented() ^ expected_points(mid, True)))


def test_units_of_the_points_enmond_reads():
    """The units the decoder relies on, read from the official JSON: PF is percent
    everywhere except the float meters, whose PF is the ratio itself."""
    for mid in INVERTER_MODELS + METER_MODELS:
        fixed = load_model(mid)[0]
        want = "PF" if mid in (211, 212, 213) else "Pct"
        assert fixed["PF"]["units"] == want, (mid, fixed["PF"]["units"])
        assert fixed["W"]["units"] == "W" and fixed["Hz"]["units"] == "Hz"
    group = load_model(160)[2]
    assert [group[p]["units"] for p in ("DCA", "DCV", "DCW")] == ["A", "V", "W"]
