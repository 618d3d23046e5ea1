"""peer_server.py -- a third-party Modbus TCP peer (pymodbus 3.0.0) for the integration tests.

    /usr/bin/python3 peer_server.py PORT SCENARIO         Modbus TCP on 127.0.0.1:PORT
    /usr/bin/python3 peer_server.py /dev/TTY SCENARIO     Modbus RTU, 19200 8N1 (a pty for tests)

Scenarios (unit 1 only; requests to other unit ids get no answer, like a real
device behind a TCP port):

  sdm630         Eastron SDM630 layout: float32 ABCD input registers (SDM630 below)
  sdm630-holes   the same, but any read touching HOLES answers exception 2
                 (illegal data address), while the points themselves are served
  sdm630-busy    the same as sdm630, but the first request of every burst (a
                 request more than BUSY_GAP_S after the previous one) answers
                 exception 6 (server device busy)
  sunspec-float  a float SunSpec inverter at 40000: 'SunS', model 1, model 111
                 (float32), end model; laid out from the official JSON in data/sunspec

Addresses are the register numbers on the wire: the slave context runs with
zero_mode=True, so pymodbus does not add 1 (tests check this with a raw read).
Prints "ready" once serving; then every read request is logged to stdout, one
line: "read hr|ir ADDR COUNT ok|exc2", and "busy" for each exception 6.
Stops cleanly (exit 0) on SIGTERM.
"""
import asyncio
import json
import os
import signal
import struct
import subprocess
import sys
import time

from pymodbus.datastore import ModbusSequentialDataBlock, ModbusServerContext, ModbusSlaveContext
from pymodbus.framer.rtu_framer import ModbusRtuFramer
from pymodbus.pdu import ExceptionResponse
from pymodbus.server import StartAsyncTcpServer
from pymodbus.server.async_io import ModbusSerialServer

import harness

UNIT = 1
BUSY_GAP_S = 0.5
RTU_BAUD = 19200

# name -> (address, value) of the SDM630 map (config/maps/eastron-sdm630.yaml);
# values are exact in float32, energies in kWh.
SDM630 = {
    "voltage_l1": (0x00, 230.5), "voltage_l2": (0x02, 231.0), "voltage_l3": (0x04, 229.5),
    "current_l1": (0x06, 4.0), "current_l2": (0x08, 4.25), "current_l3": (0x0A, 4.0),
    "power_l1": (0x0C, 400.0), "power_l2": (0x0E, 434.5), "power_l3": (0x10, 400.0),
    "voltage_ln_average": (0x2A, 230.5),
    "current_sum": (0x30, 12.25),
    "power_total": (0x34, 1234.5),
    "power_factor_total": (0x3E, 0.75),
    "frequency": (0x46, 50.0),
    "energy_import": (0x48, 1234.5),
    "energy_export": (0x4A, 10.25),
    "energy_total": (0x156, 1244.75),
}
# What enmond must publish for SDM630 (energies x 1000: kWh -> Wh).
SDM630_PUBLISHED = {"voltage_v": 230.5, "current_a": 12.25, "power_w": 1234.5,
                    "power_factor": 0.75, "frequency_hz": 50.0,
                    "energy_import_wh": 1234500, "energy_export_wh": 10250}
# Unmapped registers inside the gaps the default plan reads across (max_gap 8).
HOLES = [(0x18, 0x1E), (0x40, 0x46)]

SUNSPEC_BASE = 40000
NAN32 = 0x7FC00000
INVERTER_COMMON = {"Mn": "PeerCo", "Md": "FLOAT-INV-5K", "Vr": "2.1.0", "SN": "FP-0001", "DA": 1}
# model 111 points; every other float point is NaN (not implemented)
INVERTER_111 = {"A": 5.25, "PhVphA": 230.5, "PhVphB": 231.0, "PhVphC": 229.5, "W": 1234.5,
                "Hz": 50.0, "VA": 1250.0, "PF": 98.5, "WH": 567890.0, "DCW": 1300.0, "St": 4,
                "Evt1": 0}
INVERTER_PUBLISHED = {"power_w": 1234.5, "energy_export_wh": 567890, "voltage_v": 230.5,
                      "current_a": 5.25, "frequency_hz": 50.0, "power_factor": 0.985,
                      "dc_power_w": 1300, "state": 4, "events": 0}


def f32_words(value):
    hi, lo = struct.unpack(">HH", struct.pack(">f", value))
    return [hi, lo]


def sdm630_input_registers():
    regs = [0] * (max(a for a, _ in SDM630.values()) + 2)
    for addr, value in SDM630.values():
        regs[addr:addr + 2] = f32_words(value)
    return regs


def sunspec_dir():
    here = os.path.dirname(os.path.abspath(__file__))
    return os.environ.get("ENMON_SUNSPEC_DIR") or os.path.join(here, "..", "..", "data",
                                                               "sunspec")


def not_implemented(ptype, size):
    """SunSpec's not-implemented encoding of a point type."""
    if ptype in ("float32",):
        return [NAN32 >> 16, NAN32 & 0xFFFF]
    if ptype in ("int16", "sunssf", "pad"):
        return [0x8000]
    if ptype in ("uint16", "enum16", "bitfield16", "count"):
        return [0xFFFF]
    if ptype in ("uint32", "enum32", "bitfield32"):
        return [0xFFFF, 0xFFFF]
    return [0] * size  # strings, accumulators


def encode_point(ptype, size, value):
    if ptype == "string":
        raw = value.encode("ascii")[:2 * size].ljust(2 * size, b"\0")
        return list(struct.unpack(">%dH" % size, raw))
    if ptype == "float32":
        return f32_words(value)
    if size == 2:
        return [(value >> 16) & 0xFFFF, value & 0xFFFF]
    return [value & 0xFFFF]


def sunspec_model(model_id, values):
    """A model's registers (ID and L included) from the official JSON: each point's
    offset is the sum of the sizes before it; points absent from values are not
    implemented."""
    with open(os.path.join(sunspec_dir(), "model_%d.json" % model_id), encoding="utf-8") as fh:
        group = json.load(fh)["group"]
    assert not group.get("groups"), "repeating groups are not laid out here"
    words = []
    for p in group["points"]:
        size = int(p["size"])
        if p["name"] == "ID":
            chunk = [model_id]
        elif p["name"] == "L":
            chunk = [0]  # set below
        elif p["name"] in values:
            chunk = encode_point(p["type"], size, values[p["name"]])
        else:
            chunk = not_implemented(p["type"], size)
        assert len(chunk) == size, p
        words += chunk
    words[1] = len(words) - 2
    return words


def sunspec_float_inverter():
    return ([0x5375, 0x6E53] + sunspec_model(1, INVERTER_COMMON)
            + sunspec_model(111, INVERTER_111) + [0xFFFF, 0])


class PeerBlock(ModbusSequentialDataBlock):
    """A sequential block that logs every request and rejects reads touching a hole."""

    def __init__(self, name, address, values, holes=()):
        super().__init__(address, values or [0])
        self.name = name
        self.empty = not values  # no register of this kind exists
        self.holes = list(holes)

    def validate(self, address, count=1):
        ok = not self.empty and super().validate(address, count)
        hole = any(address < end and start < address + count for start, end in self.holes)
        log("read %s %d %d %s" % (self.name, address, count, "ok" if ok and not hole else "exc2"))
        return ok and not hole


def log(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def busy_manipulator():
    """response_manipulator: exception 6 for the first request of every burst."""
    state = {"last": 0.0}

    def manipulate(response):
        now = time.monotonic()
        first = now - state["last"] > BUSY_GAP_S
        state["last"] = now
        if first and not isinstance(response, ExceptionResponse):
            log("busy")
            busy = ExceptionResponse(response.function_code, 6,
                                     transaction=response.transaction_id,
                                     unit=response.unit_id)
            return busy, False
        return response, False

    return manipulate


def build(scenario):
    """(slave context, server kwargs) of a scenario."""
    kwargs = {}
    if scenario.startswith("sdm630"):
        holes = HOLES if scenario == "sdm630-holes" else ()
        ir = PeerBlock("ir", 0, sdm630_input_registers(), holes)
        hr = PeerBlock("hr", 0, [])
        if scenario == "sdm630-busy":
            kwargs["response_manipulator"] = busy_manipulator()
    elif scenario == "sunspec-float":
        hr = PeerBlock("hr", SUNSPEC_BASE, sunspec_float_inverter())
        ir = PeerBlock("ir", 0, [])
    else:
        raise SystemExit("unknown scenario %r" % scenario)
    slave = ModbusSlaveContext(hr=hr, ir=ir, zero_mode=True)
    return slave, kwargs


async def serve(where, scenario):
    slave, kwargs = build(scenario)
    context = ModbusServerContext(slaves={UNIT: slave}, single=False)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    loop.add_signal_handler(signal.SIGINT, stop.set)
    if where.startswith("/"):
        server = ModbusSerialServer(context, ModbusRtuFramer, port=where, baudrate=RTU_BAUD,
                                    **kwargs)
        await server.start()
        task = None
    else:
        server = await StartAsyncTcpServer(context=context, address=("127.0.0.1", int(where)),
                                           allow_reuse_address=True, defer_start=True, **kwargs)
        task = asyncio.create_task(server.serve_forever())
        await server.serving
    log("ready")
    await stop.wait()
    await server.shutdown()
    if task:
        task.cancel()
        try:
            await task
        except asyncio.CancelledError:
            pass


class Peer:
    """This script as a subprocess, for the tests: Peer(tmpdir, scenario).start() serves
    Modbus TCP on a free 127.0.0.1 port; with rtu=True it serves Modbus RTU on one end of
    a socat pty pair. .link is the enmon link URI, .log_lines() the request log, .stop()
    returns the exit code."""

    def __init__(self, tmpdir, scenario, rtu=False):
        self.tmpdir = str(tmpdir)
        self.scenario = scenario
        self.port = harness.free_port()
        self.out_path = os.path.join(self.tmpdir, "peer-%s-%d.out" % (scenario, self.port))
        self.socat = None
        self.proc = None
        self.where = str(self.port)
        self.link = "tcp://127.0.0.1:%d" % self.port
        if rtu:
            ours, theirs = (os.path.join(self.tmpdir, "pty-%d-%s" % (self.port, end))
                            for end in ("enmon", "peer"))
            self.socat = subprocess.Popen(
                ["socat", "pty,raw,echo=0,link=" + ours, "pty,raw,echo=0,link=" + theirs],
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            self.where = theirs
            self.link = "rtu:%s?baud=%d" % (ours, RTU_BAUD)
            self.pty = ours

    def start(self, timeout=15.0):
        if self.socat:
            deadline = time.monotonic() + timeout
            while not (os.path.exists(self.pty) and os.path.exists(self.where)):
                assert time.monotonic() < deadline and self.socat.poll() is None, "socat failed"
                time.sleep(0.05)
        self.out = open(self.out_path, "wb")
        self.proc = subprocess.Popen([sys.executable, os.path.abspath(__file__), self.where,
                                      self.scenario], stdout=self.out,
                                     stderr=subprocess.STDOUT)
        deadline = time.monotonic() + timeout
        while "ready" not in self.log_lines():
            if self.proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("peer_server did not start: %s" % self.log_lines())
            time.sleep(0.05)
        return self

    def log_lines(self):
        with open(self.out_path, encoding="utf-8", errors="replace") as fh:
            return fh.read().splitlines()

    def stop(self, timeout=10.0):
        rc = None
        if self.proc is not None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
            self.proc = None
            self.out.close()
        if self.socat is not None:
            self.socat.terminate()
            self.socat.wait(timeout)
            self.socat = None
        return rc


def main(argv):
    if len(argv) != 3:
        sys.stderr.write(__doc__)
        return 64
    asyncio.run(serve(argv[1], argv[2]))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
