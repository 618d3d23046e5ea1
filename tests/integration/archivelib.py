"""archivelib.py -- reads enmond's raw readings as src/store/archive.c's archive_read does:
the rows of `readings` plus those packed in `reading_blocks` (src/store/block_codec.c's
format, decoded here independently so the tests check the C encoder against it)."""
import struct

COLS = ("power_w", "energy_import_wh", "energy_export_wh", "voltage_v", "current_a",
        "frequency_hz", "power_factor", "dc_power_w", "temperature_c", "state", "events",
        "m1_dc_current_a", "m1_dc_voltage_v", "m1_dc_power_w", "m2_dc_current_a",
        "m2_dc_voltage_v", "m2_dc_power_w", "m3_dc_current_a", "m3_dc_voltage_v",
        "m3_dc_power_w", "m4_dc_current_a", "m4_dc_voltage_v", "m4_dc_power_w",
        "leakage_ma", "current_l1_a", "current_l2_a", "current_l3_a", "tilt_deg")
MASK = (1 << 64) - 1


def _s64(u):
    u &= MASK
    return u - (1 << 64) if u >> 63 else u


class _In:
    def __init__(self, data):
        self.data, self.pos = data, 0

    def byte(self):
        b = self.data[self.pos]
        self.pos += 1
        return b

    def varint(self):
        v, shift = 0, 0
        while True:
            b = self.byte()
            v |= (b & 0x7F) << shift
            if not b & 0x80:
                return v
            shift += 7

    def zigzag(self):
        u = self.varint()
        return _s64((u >> 1) ^ -(u & 1))


def decode(blob):
    """The readings of one block: a list of (ts_ms, quality, {column: value or None})."""
    b = _In(bytes(blob))
    n = b.varint()
    ts, prev, prev_delta = [], 0, 0
    for r in range(n):
        z = b.zigzag()
        delta = 0 if r == 0 else _s64(prev_delta + z)
        t = z if r == 0 else _s64(prev + delta)
        ts.append(t)
        prev, prev_delta = t, delta
    quality = [b.zigzag() for _ in range(n)]
    values = [dict.fromkeys(COLS) for _ in range(n)]
    for col in COLS:
        head = b.byte()
        mode, k = head & 3, head >> 4
        if mode == 0:
            continue
        present = [True] * n
        if not head & 4:
            bits = [b.byte() for _ in range((n + 7) // 8)]
            present = [bool(bits[r // 8] >> (r % 8) & 1) for r in range(n)]
        acc = 0
        for r in range(n):
            if not present[r]:
                continue
            if mode == 1:
                acc = _s64(acc + b.zigzag())
                values[r][col] = float(acc) if k == 0 else acc / 10.0 ** k
            else:
                values[r][col] = struct.unpack("<d", bytes(b.byte() for _ in range(8)))[0]
    assert b.pos == len(b.data), "trailing bytes in a block"
    return [(ts[r], quality[r], values[r]) for r in range(n)]


def readings(db, device_key, lo=-(1 << 63), hi=(1 << 63) - 1):
    """Every raw reading of a device with lo <= ts_ms < hi, hot and archived, in time
    order: a list of (ts_ms, quality, {column: value})."""
    dev = db.execute("SELECT id FROM devices WHERE key = ?", (device_key,)).fetchone()[0]
    out = []
    for (blob,) in db.execute("SELECT data FROM reading_blocks WHERE device_id = ? AND"
                              " t0_ms < ? AND t1_ms >= ? ORDER BY t0_ms", (dev, hi, lo)):
        out += [r for r in decode(blob) if lo <= r[0] < hi]
    cur = db.execute("SELECT ts_ms, quality, %s FROM readings WHERE device_id = ? AND"
                     " ts_ms >= ? AND ts_ms < ? ORDER BY ts_ms" % ", ".join(COLS),
                     (dev, lo, hi))
    for row in cur:
        out.append((row[0], row[1], {c: (None if v is None else float(v))
                                     for c, v in zip(COLS, row[2:])}))
    out.sort(key=lambda r: r[0])
    return out


def counts(db, lo, hi):
    """{device key: raw readings with lo <= ts_ms < hi}, hot and archived."""
    keys = [k for (k,) in db.execute("SELECT key FROM devices ORDER BY id")]
    return {k: n for k in keys for n in [len(readings(db, k, lo, hi))] if n}
