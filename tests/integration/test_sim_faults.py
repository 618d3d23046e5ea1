"""test_sim_faults.py -- enmon-sim fault injection through `enmon-sim ctl`: every command read
back over Modbus (pymodbus) before, during and after the fault, and the control socket."""
import json
import os
import stat
import subprocess
import time
from decimal import Decimal

import pytest
from pymodbus.client import ModbusSerialClient, ModbusTcpClient
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.pdu import ExceptionResponse

import harness
from test_sim import BASE, NIGHT, NOON, D, devices_yaml, model_points, read_chain
from test_sim_variants import BusSim

INV = {"power_w": 1234, "energy_export_wh": 567890, "voltage_v": 229.5, "frequency_hz": 60.01,
       "current_a": 5.37, "temperature_c": 41.5, "state": 4}
MTR = {"power_w": 500, "energy_import_wh": 2345678, "energy_export_wh": 1000,
       "voltage_v": 218.7, "frequency_hz": 59.98, "current_a": 2.37}
FROZEN = ["--time", NOON, "--speed", "0"]


def symbol_bit(model, point, symbol):
    """The bit of a bitfield symbol, from the official SunSpec JSON (data/sunspec)."""
    path = os.path.join(harness.source_dir(), "data", "sunspec", "model_%d.json" % model)
    with open(path, encoding="utf-8") as fh:
        group = json.load(fh)["group"]
    points = group["points"] + sum((g["points"] for g in group.get("groups", [])), [])
    for p in points:
        if p["name"] == point:
            return 1 << next(s["value"] for s in p["symbols"] if s["name"] == symbol)
    raise KeyError(point)


def main_model(port, unit):
    return read_chain(port, unit)[1]


def try_read(port, unit, timeout=1.0, addr=BASE, count=2):
    """One read with a fresh client: the response, or the exception pymodbus raised."""
    client = ModbusTcpClient("127.0.0.1", port=port, timeout=timeout, retries=0)
    assert client.connect()
    try:
        return client.read_holding_registers(addr, count, slave=unit)
    except Exception as exc:  # pylint: disable=broad-except
        return exc
    finally:
        client.close()


def answers(port, unit):
    rr = try_read(port, unit)
    return not isinstance(rr, Exception) and not rr.isError() and rr.registers == [0x5375, 0x6E53]


@pytest.fixture
def fixed(sim_factory):
    """A fixed-mode port at a frozen noon: inverters 1 and 2, meter 3, a 3-phase meter 4."""
    port = harness.free_port()
    sim = sim_factory(devices_yaml(
        {"port": port, "unit": 1, "count": 2, "kind": "inverter", "serial": "PV-{n}",
         "fixed": INV},
        {"port": port, "unit": 3, "kind": "meter", "serial": "HOME-3", "fixed": MTR},
        {"port": port, "unit": 4, "kind": "meter", "phases": 3, "fixed": MTR}), args=FROZEN)
    return sim, port


# ---- the control socket --------------------------------------------------------------------

def test_socket_is_private_and_removed_at_exit(fixed):
    sim, _ = fixed
    mode = os.stat(sim.ctl_path).st_mode
    assert stat.S_ISSOCK(mode)
    assert stat.S_IMODE(mode) == 0o600
    sim.stop()
    assert not os.path.exists(sim.ctl_path)


def test_ctl_errors(fixed):
    sim, port = fixed
    cases = [(("state", "%d/9" % port, "7"), "no device at"),
             (("state", "1/1", "7"), "no device at"),
             (("state", "serial=NOPE", "7"), "no device with serial NOPE"),
             (("state", "%d" % port, "7"), "bad device address"),
             (("explode", "%d/1" % port), "unknown command 'explode'"),
             (("state", "%d/1" % port, "seven"), "expected an integer"),
             (("state", "%d/1" % port), "arguments"),
             (("state", "%d/3" % port, "7"), "not an inverter"),
             (("household", "%d/1" % port, "idle"), "not a meter"),
             (("counter", "%d/1" % port, "rewind"), "freeze, reset or jump"),
             (("delay", "%d/1" % port, "0"), "expected an integer 1..60000"),
             (("clear", "sparks", "%d/1" % port), "unknown fault 'sparks'")]
    for args, message in cases:
        res = sim.ctl(*args, check=False)
        assert res.returncode == 1, (args, res.stdout, res.stderr)
        assert res.stderr.startswith("error: ") and message in res.stderr, (args, res.stderr)
        assert res.stdout == ""
    assert sim.ctl("list").stdout.strip() == "ok no faults"  # nothing half-applied
    res = subprocess.run([harness.Sim.binary(), "ctl", sim.ctl_path + ".missing", "list"],
                         capture_output=True, text=True, timeout=10)
    assert res.returncode == 1 and "cannot connect" in res.stderr, res.stderr
    res = subprocess.run([harness.Sim.binary(), "ctl", sim.ctl_path], capture_output=True,
                         text=True, timeout=10)
    assert res.returncode == 64


def test_a_live_socket_is_not_taken_over(fixed, tmp_path):
    sim, _ = fixed
    cfg = tmp_path / "other.yaml"
    cfg.write_text(devices_yaml({"port": harness.free_port(), "unit": 1, "kind": "meter"}))
    res = subprocess.run([harness.Sim.binary(), "--config", str(cfg), "--ctl", sim.ctl_path],
                         capture_output=True, text=True, timeout=10)
    assert res.returncode == 71 and "--ctl" in res.stderr, res.stderr
    assert sim.ctl("list").returncode == 0


def test_list_status_and_clear_all(fixed):
    sim, port = fixed
    sim.ctl("state", "%d/1" % port, 7)
    sim.ctl("drop", "serial=PV-2")
    sim.ctl("clouds", "0.4")
    listed = sim.ctl("list").stdout.strip()
    assert listed == ("ok %d/1 serial=PV-1: state 7; %d/2 serial=PV-2: drop; clouds 0.4"
                      % (port, port)), listed
    status = sim.ctl("status", "%d/1" % port).stdout
    assert "W=493.6" in status and "St=7" in status and "faults: state 7" in status, status
    status = sim.ctl("status", "serial=HOME-3").stdout
    assert "W=500.0" in status and "TotWhImp=2345678" in status, status
    assert sim.ctl("clear", "all").stdout.strip() == "ok cleared all"
    assert sim.ctl("list").stdout.strip() == "ok no faults"
    assert main_model(port, 1).value("W") == D(1234)


# ---- status: state and event bits --------------------------------------------------------

def test_inverter_state_and_events(fixed):
    sim, port = fixed
    dev = "%d/1" % port
    before = main_model(port, 1)
    assert (before.raw("St"), before.raw("Evt1")) == (4, 0)
    sim.ctl("state", dev, 7)  # FAULT
    bits = symbol_bit(103, "Evt1", "GROUND_FAULT") | symbol_bit(103, "Evt1", "AC_OVER_VOLT")
    out = sim.ctl("events", dev, hex(bits)).stdout
    assert out.strip() == "ok %s serial=PV-1: state 7, events %s" % (dev, hex(bits)), out
    during = main_model(port, 1)
    assert during.raw("St") == 7
    assert during.raw("Evt1") == bits == 0x401
    assert during.value("W") == D(1234)  # the values stay
    assert main_model(port, 2).raw("St") == 4  # the other inverter is fine
    sim.ctl("clear", "state", dev)
    assert (main_model(port, 1).raw("St"), main_model(port, 1).raw("Evt1")) == (4, bits)
    sim.ctl("clear", dev)
    assert main_model(port, 1).regs == before.regs


def test_meter_event_bits(fixed):
    sim, port = fixed
    bits = symbol_bit(201, "Evt", "Power_Failure") | symbol_bit(201, "Evt", "Under_Voltage")
    assert main_model(port, 3).raw("Evt") == 0
    sim.ctl("events", "serial=HOME-3", bits)
    assert main_model(port, 3).raw("Evt") == bits == 0x0C
    sim.ctl("clear", "events", "serial=HOME-3")
    assert main_model(port, 3).raw("Evt") == 0


def test_module_dc_events_arc_detection(fixed):
    sim, port = fixed
    arc = symbol_bit(160, "DCEvt", "ARC_DETECTION")
    mppt = read_chain(port, 1)[2]
    assert (mppt.raw("Evt"), mppt.raw("DCEvt", 0), mppt.raw("DCEvt", 1)) == (0, 0, 0)
    sim.ctl("dcevents", "%d/1" % port, 2, hex(arc))
    mppt = read_chain(port, 1)[2]
    assert mppt.id == 160
    assert (mppt.raw("DCEvt", 0), mppt.raw("DCEvt", 1)) == (0, arc)
    assert mppt.raw("Evt") == arc == 0x8000  # the model's events: every module's
    assert sim.ctl("dcevents", "%d/1" % port, 3, "1", check=False).returncode == 1
    sim.ctl("clear", "dcevents", "%d/1" % port)
    assert read_chain(port, 1)[2].raw("DCEvt", 1) == 0


# ---- communication faults ----------------------------------------------------------------

def test_drop_means_no_reply(fixed):
    sim, port = fixed
    assert answers(port, 3)
    sim.ctl("drop", "%d/3" % port)
    start = time.monotonic()
    rr = try_read(port, 3, timeout=1.0)
    assert isinstance(rr, Exception) or rr.isError(), rr
    assert not isinstance(rr, ExceptionResponse)  # no Modbus exception either: silence
    assert time.monotonic() - start >= 0.9  # a timeout
    assert answers(port, 1)  # the other units on the port answer
    sim.ctl("clear", "drop", "%d/3" % port)
    assert answers(port, 3)


def test_delay_slows_replies(fixed):
    sim, port = fixed
    sim.ctl("delay", "%d/1" % port, 1200)
    start = time.monotonic()
    rr = try_read(port, 1, timeout=5.0)
    assert not rr.isError() and rr.registers == [0x5375, 0x6E53]
    assert time.monotonic() - start >= 1.1
    sim.ctl("clear", "%d/1" % port)
    start = time.monotonic()
    assert answers(port, 1)
    assert time.monotonic() - start < 0.5


def test_exception_answers_every_request(fixed):
    sim, port = fixed
    sim.ctl("exception", "%d/1" % port, 4)
    for addr in (BASE, BASE + 70, 0):
        rr = try_read(port, 1, addr=addr)
        assert isinstance(rr, ExceptionResponse) and rr.exception_code == 4, rr
    assert answers(port, 2)
    sim.ctl("clear", "exception", "%d/1" % port)
    assert answers(port, 1)


def test_garbage_is_a_malformed_frame(fixed):
    sim, port = fixed
    sim.ctl("garbage", "%d/3" % port)
    start = time.monotonic()
    rr = try_read(port, 3, timeout=3.0)
    assert isinstance(rr, Exception) or rr.isError(), rr
    assert not isinstance(rr, ExceptionResponse)
    assert "decode" in str(rr), rr  # pymodbus could not make sense of it...
    assert time.monotonic() - start < 2.0  # ...at once, not by a timeout
    sim.ctl("clear", "%d/3" % port)
    assert answers(port, 3)


def test_comm_faults_on_an_rtu_bus(tmp_path):
    folder = tmp_path / "x"
    folder.mkdir()
    link = str(folder / "ttySIM0")
    cfg = {"rtu": [{"path": link, "baud": 9600}],
           "devices": [{"rtu": link, "unit": 1, "kind": "inverter", "fixed": INV},
                       {"rtu": link, "unit": 2, "kind": "meter", "fixed": MTR}]}
    sim = BusSim(tmp_path, cfg, args=FROZEN).start()
    client = ModbusSerialClient(link, framer=ModbusRtuFramer, baudrate=9600, timeout=1)
    try:
        assert client.connect()

        st_addr = 40070 + model_points(103)[0]["St"][0]  # model 103 at 40070

        def st():
            return client.read_holding_registers(st_addr, 1, slave=1)

        assert st().registers == [4]
        sim.ctl("state", link + "/1", 7)
        assert st().registers == [7]
        sim.ctl("drop", link + "/1")
        assert st().isError()
        sim.ctl("garbage", link + "/1")
        assert st().isError()  # a bad CRC
        sim.ctl("clear", link + "/1")
        assert st().registers == [4]
        assert not client.read_holding_registers(BASE, 2, slave=2).isError()
    finally:
        client.close()
        assert sim.stop() == 0


# ---- counters ----------------------------------------------------------------------------

def test_counter_reset_jump_backwards_fixed(fixed):
    sim, port = fixed
    dev = "%d/3" % port
    assert main_model(port, 3).value("TotWhImp") == D(2345678)
    sim.ctl("counter", dev, "reset")  # a replaced meter
    meter = main_model(port, 3)
    assert meter.raw("TotWhImp") == 0 and meter.raw("TotWhExp") == 0
    sim.ctl("clear", "counter", dev)
    assert main_model(port, 3).raw("TotWhImp") == 0  # never jumps back
    sim.ctl("counter", dev, "jump", 5000)
    assert main_model(port, 3).value("TotWhImp") == D(5000)
    sim.ctl("backwards", dev, 1200)
    assert main_model(port, 3).value("TotWhImp") == D(3800)
    assert "backwards 1200" in sim.ctl("list").stdout
    inv = main_model(port, 1)
    sim.ctl("counter", "%d/1" % port, "jump", 100000)
    assert main_model(port, 1).value("WH") == inv.value("WH") + 100000
    sim.ctl("counter", "%d/1" % port, "reset")
    chain = read_chain(port, 1)
    assert chain[1].raw("WH") == 0 and chain[2].raw("DCWH", 0) == 0


def test_counter_freeze_and_continue_physics(sim_factory):
    port = harness.free_port()
    sim = sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "meter", "kwh_month": 3000}),
                      args=["--time", NOON, "--speed", "600"])
    dev = "%d/1" % port
    a = main_model(port, 1).value("TotWhImp")
    time.sleep(1.1)
    b = main_model(port, 1).value("TotWhImp")
    assert b > a  # running: ~4 kW x 10 simulated minutes a second
    sim.ctl("counter", dev, "freeze")
    frozen = main_model(port, 1).value("TotWhImp")
    time.sleep(1.1)
    assert main_model(port, 1).value("TotWhImp") == frozen
    sim.ctl("clear", "counter", dev)
    after = main_model(port, 1).value("TotWhImp")
    assert frozen <= after < frozen + 500  # continues from where it stood, no catch-up
    time.sleep(1.1)
    pre = main_model(port, 1).value("TotWhImp")
    assert pre > after
    sim.ctl("backwards", dev, 10000)
    back = main_model(port, 1).value("TotWhImp")
    assert pre - 10000 <= back < pre - 9500


# ---- grid: voltage and frequency ---------------------------------------------------------

def test_voltage_sag_swell_and_frequency(fixed):
    sim, port = fixed
    sim.ctl("voltage", "%d/3" % port, 195)
    sim.ctl("frequency", "%d/3" % port, 59.5)
    meter = main_model(port, 3)
    assert meter.value("PhV") == D(195) and meter.value("PhVphA") == D(195)
    assert meter.value("Hz") == D("59.5")
    sim.ctl("voltage", "%d/4" % port, 240)
    three = main_model(port, 4)
    assert three.value("PhVphC") == D(240)
    assert abs(three.value("PhVphAB") - Decimal("415.7")) < Decimal("0.1")
    sim.ctl("voltage", "%d/1" % port, 251.5)
    assert main_model(port, 1).value("PhVphA") == D(251.5)
    sim.ctl("clear", "voltage", "%d/3" % port)
    meter = main_model(port, 3)
    assert meter.value("PhV") == D(218.7) and meter.value("Hz") == D("59.5")
    sim.ctl("clear", "frequency", "%d/3" % port)
    assert main_model(port, 3).value("Hz") == D(59.98)


def test_voltage_on_a_physics_device(sim_factory):
    port = harness.free_port()
    sim = sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "meter"}), args=FROZEN)
    normal = main_model(port, 1).value("PhV")
    assert Decimal(218) <= normal <= Decimal(232)
    sim.ctl("voltage", "%d/1" % port, 195)
    assert main_model(port, 1).value("PhV") == D(195)
    sim.ctl("clear", "%d/1" % port)
    assert main_model(port, 1).value("PhV") == normal


# ---- production --------------------------------------------------------------------------

def test_zero_output_still_claims_mppt_in_daylight(fixed):
    sim, port = fixed
    sim.ctl("zero", "%d/1" % port)
    inv, mppt = read_chain(port, 1)[1:3]
    assert inv.value("W") == 0 and inv.raw("St") == 4
    assert mppt.value("DCW", 0) == 0
    sim.ctl("clear", "zero", "%d/1" % port)
    assert main_model(port, 1).value("W") == D(1234)


def test_zero_at_night_sleeps(sim_factory):
    """Daylight comes from simulated time (--time), not from the wall clock."""
    port = harness.free_port()
    sim = sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "inverter", "fixed": INV}),
                      args=["--time", NIGHT, "--speed", "0"])
    sim.ctl("zero", "%d/1" % port)
    inv = main_model(port, 1)
    assert inv.value("W") == 0 and inv.raw("St") == 2


def test_zero_physics_stops_the_counter(sim_factory):
    port = harness.free_port()
    sim = sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "inverter",
                                    "capacity": 90000}), args=["--time", NOON, "--speed", "600"])
    assert main_model(port, 1).value("W") > 0
    sim.ctl("zero", "%d/1" % port)
    first = main_model(port, 1)
    assert first.value("W") == 0 and first.raw("St") == 4
    time.sleep(1.1)
    assert main_model(port, 1).value("WH") == first.value("WH")
    sim.ctl("clear", "%d/1" % port)
    time.sleep(1.1)
    assert main_model(port, 1).value("WH") > first.value("WH")


def test_output_factor_and_global_clouds(fixed):
    sim, port = fixed
    sim.ctl("output", "%d/1" % port, 0.5)
    assert main_model(port, 1).value("W") == D(617)
    assert main_model(port, 2).value("W") == D(1234)
    sim.ctl("clouds", 0.25)
    assert abs(main_model(port, 1).value("W") - D("154.25")) <= 1  # W_SF 0: whole watts
    assert abs(main_model(port, 2).value("W") - D("308.5")) <= 1
    sim.ctl("clear", "clouds")
    assert main_model(port, 1).value("W") == D(617)
    assert main_model(port, 2).value("W") == D(1234)
    sim.ctl("clear", "output", "%d/1" % port)
    assert main_model(port, 1).value("W") == D(1234)


def test_clouds_scale_physics_production(sim_factory):
    port = harness.free_port()
    sim = sim_factory(devices_yaml({"port": port, "unit": 1, "count": 2, "kind": "inverter",
                                    "capacity": 90000}), args=FROZEN)
    before = [main_model(port, u).value("W") for u in (1, 2)]
    assert all(w > 1000 for w in before)
    sim.ctl("clouds", 0.3)
    during = [main_model(port, u).value("W") for u in (1, 2)]
    for b, d in zip(before, during):
        assert abs(d - b * Decimal("0.3")) <= b * Decimal("0.01"), (b, d)
    sim.ctl("clear", "clouds")
    assert [main_model(port, u).value("W") for u in (1, 2)] == before


# ---- households ---------------------------------------------------------------------------

def test_household_idle_overload_normal(fixed):
    sim, port = fixed
    dev = "%d/3" % port
    assert main_model(port, 3).value("W") == D(500)
    sim.ctl("household", dev, "idle")
    assert main_model(port, 3).value("W") == D(60)
    sim.ctl("household", dev, "overload")
    assert main_model(port, 3).value("W") == D(6500)
    sim.ctl("household", dev, "overload", 3000)
    assert main_model(port, 3).value("W") == D(3500)
    sim.ctl("household", dev, "normal")
    assert main_model(port, 3).value("W") == D(500)
    assert sim.ctl("list").stdout.strip() == "ok no faults"


def test_household_idle_physics(sim_factory):
    port = harness.free_port()
    sim = sim_factory(devices_yaml({"port": port, "unit": 1, "kind": "meter"}),
                      args=["--time", "2026-06-21T19:30:00+09:00", "--speed", "0"])
    normal = main_model(port, 1).value("W")
    assert normal > 100  # an evening at home
    sim.ctl("household", "%d/1" % port, "idle")
    assert main_model(port, 1).value("W") == D(60)
    sim.ctl("clear", "household", "%d/1" % port)
    assert main_model(port, 1).value("W") == normal


def test_export_on_a_meter_without_pv(sim_factory):
    port = harness.free_port()
    sim = sim_factory(devices_yaml(
        {"port": port, "unit": 1, "kind": "meter", "fixed": MTR},
        {"port": port, "unit": 2, "kind": "meter"}), args=["--time", NOON, "--speed", "3600"])
    sim.ctl("export", "%d/1" % port, 2000)
    sim.ctl("export", "%d/2" % port, 2000)
    first = [main_model(port, u) for u in (1, 2)]
    assert [m.value("W") for m in first] == [D(-2000), D(-2000)]
    time.sleep(1.1)  # an hour of simulated time a second: +2 kWh
    again = [main_model(port, u) for u in (1, 2)]
    for a, b in zip(first, again):
        assert b.value("TotWhExp") - a.value("TotWhExp") >= 1500
        assert b.value("TotWhImp") == a.value("TotWhImp")
    sim.ctl("clear", "export", "%d/1" % port)
    cleared = main_model(port, 1)
    assert cleared.value("W") == D(500)
    assert cleared.value("TotWhExp") >= again[0].value("TotWhExp")  # kept, not rolled back
    time.sleep(1.1)
    assert main_model(port, 1).value("TotWhExp") == cleared.value("TotWhExp")  # fixed again


def test_faults_behind_one_unit_id(sim_factory):
    port = harness.free_port()
    sim = sim_factory(devices_yaml({"port": port, "unit": 5, "kind": "inverter", "fixed": INV,
                                    "devices_behind": 2, "serial": "LOGGER-7"}), args=FROZEN)
    sim.ctl("state", "serial=LOGGER-7-2", 7)
    chain = read_chain(port, 5)
    inverters = [m for m in chain[:-1] if m.id == 103]
    assert [m.raw("St") for m in inverters] == [4, 7]
    sim.ctl("drop", "serial=LOGGER-7-2")  # a unit-wide fault: the whole unit goes silent
    assert not answers(port, 5)
    assert "%d/5 serial=LOGGER-7: drop" % port in sim.ctl("list").stdout
    sim.ctl("clear", "serial=LOGGER-7-2")
    assert answers(port, 5)
    assert [m.raw("St") for m in read_chain(port, 5)[:-1] if m.id == 103] == [4, 4]
