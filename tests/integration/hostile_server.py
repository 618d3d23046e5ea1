"""hostile_server.py -- a Modbus TCP device that misbehaves on purpose, for robustness tests.

    /usr/bin/python3 hostile_server.py PORT MODE

It serves a SunSpec inverter (model 1 + 103 + end at 40000, built from the
official JSON by peer_server.sunspec_model) to unit 1, and misbehaves by MODE:

  good        answers correctly (the control case)
  garbage     answers every request with random bytes
  wrong-tid   correct answers carrying another transaction id
  wrong-unit  correct answers carrying another unit id
  short       the MBAP header promises more bytes than it sends
  exception   exception 4 (server device failure) to every request
  flaky       correct answers, but every 3rd answer to a model read carries
              wrong register values with a wrong byte count
  chain-long  the SunSpec chain claims a model length that runs past 65535
  chain-endless  models of length 0 that never reach the end marker
  silent      accepts connections and reads requests, never answers
  slow        correct answers, each sent 1.5 s late (after any sane timeout)
  half        correct answers to every other request; ignores the rest

Prints "ready" when listening; stops on SIGTERM.
"""
import asyncio
import os
import random
import signal
import struct
import sys

import peer_server

VALUES_103 = {"W": 1500, "W_SF": 0, "PhVphA": 2300, "V_SF": -1 & 0xFFFF, "Hz": 6000,
              "Hz_SF": -2 & 0xFFFF, "A": 652, "A_SF": -2 & 0xFFFF, "WH": 1000000, "WH_SF": 0,
              "St": 4, "Evt1": 0, "Evt2": 0, "TmpCab": 350, "Tmp_SF": -1 & 0xFFFF}
COMMON = {"Mn": "hostile", "Md": "H1", "SN": "H-1", "Vr": "1.0", "DA": 1}


def image(mode):
    regs = {}
    words = [0x5375, 0x6E53] + peer_server.sunspec_model(1, COMMON)
    if mode == "chain-long":
        words += [103, 65000]
    elif mode == "chain-endless":
        words += [64000, 0] * 200
    else:
        words += peer_server.sunspec_model(103, VALUES_103) + [0xFFFF, 0]
    for i, w in enumerate(words):
        regs[40000 + i] = w
    return regs


class Device(asyncio.Protocol):
    def __init__(self, mode, regs):
        self.mode, self.regs, self.buf, self.count = mode, regs, b"", 0

    def connection_made(self, transport):
        self.transport = transport

    def data_received(self, data):
        self.buf += data
        while len(self.buf) >= 12:
            tid, _, length, unit = struct.unpack(">HHHB", self.buf[:7])
            frame, self.buf = self.buf[:6 + length], self.buf[6 + length:]
            self.answer(tid, unit, frame[7:])

    def reply(self, tid, unit, pdu):
        frame = struct.pack(">HHHB", tid, 0, len(pdu) + 1, unit) + pdu
        if self.mode == "slow":
            asyncio.get_running_loop().call_later(1.5, self.write_late, frame)
        else:
            self.transport.write(frame)

    def write_late(self, frame):
        if not self.transport.is_closing():
            self.transport.write(frame)

    def answer(self, tid, unit, pdu):
        fc, addr, count = struct.unpack(">BHH", pdu[:5])
        self.count += 1
        if self.mode == "silent" or (self.mode == "half" and self.count % 2 == 0):
            return None
        words = [self.regs.get(addr + i) for i in range(count)]
        if fc not in (3, 4) or None in words:
            return self.reply(tid, unit, bytes([fc | 0x80, 2]))
        body = bytes([fc, 2 * count]) + struct.pack(">%dH" % count, *words)
        m = self.mode
        if m == "garbage":
            self.transport.write(os.urandom(random.randint(3, 40)))
        elif m == "wrong-tid":
            self.reply((tid + 1) & 0xFFFF, unit, body)
        elif m == "wrong-unit":
            self.reply(tid, (unit + 1) & 0xFF, body)
        elif m == "short":
            full = struct.pack(">HHHB", tid, 0, len(body) + 1, unit) + body
            self.transport.write(full[:len(full) // 2])
        elif m == "exception":
            self.reply(tid, unit, bytes([fc | 0x80, 4]))
        elif m == "flaky" and count > 2 and self.count % 3 == 0:
            bad = struct.pack(">%dH" % count, *([0x7777] * count))
            self.reply(tid, unit, bytes([fc, 2 * count - 2]) + bad[:-2])
        else:
            self.reply(tid, unit, body)


async def main(port, mode):
    loop = asyncio.get_running_loop()
    regs = image(mode)
    server = await loop.create_server(lambda: Device(mode, regs), "127.0.0.1", port)
    stop = asyncio.Event()
    loop.add_signal_handler(signal.SIGTERM, stop.set)
    print("ready", flush=True)
    await stop.wait()
    server.close()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), sys.argv[2]))
