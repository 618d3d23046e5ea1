"""dashlib.py -- helpers for the HTTP tests: enmond with an http: section, GET with a token,
the server-sent events of /api/live, and a strict Prometheus text-format (0.0.4) parser."""
import json
import os
import re
import urllib.error
import urllib.request

import daemon
import harness


def clock(speed=1):
    """--time/--speed for enmon-sim and enmond alike: a June morning in Korea, so the
    inverters produce and enmond's day-time rules see daylight at whatever hour the suite
    runs (speed 60 makes the household meter's energy move within seconds)."""
    return ["--time", "2026-06-21T11:00:00+09:00", "--speed", str(speed)]


def sim_config(port, speed_meter=True):
    """A fixed inverter (1500 W) and a physics household meter on one port."""
    return ("devices:\n"
            "  - {port: %d, unit: 1, kind: inverter, capacity: 3000,"
            " fixed: {power_w: 1500, state: 4, events: 0, energy_export_wh: 120000}}\n"
            "  - {port: %d, unit: 2, kind: meter, phases: 1}\n" % (port, port))


def programs(port):
    return ("programs:\n  - id: solar\n    name: Solar roofs\n    kind: solar\n    sites:\n"
            "      - id: roof\n        devices:\n"
            "          - {id: inv, kind: inverter, link: 'tcp://127.0.0.1:%d', unit: 1,"
            " capacity: 3000}\n"
            "  - id: ami\n    kind: ami\n    sites:\n      - id: house\n        devices:\n"
            "          - {id: meter, kind: meter, link: 'tcp://127.0.0.1:%d', unit: 2}\n"
            % (port, port))


class DashEnmond(daemon.Enmond):
    """enmond with http on a free port (the source tree's web/) and extra mqtt keys; args:
    extra command-line arguments (the simulator's clock(): --time and --speed)."""

    def __init__(self, tmpdir, mqtt_port, programs_yaml, http_extra="", mqtt_extra="",
                 extra="", interval="1s", args=()):
        self.http_port = harness.free_port()
        web = os.path.join(harness.source_dir(), "web")
        http = "http:\n  port: %d\n  web_root: %s\n%s" % (self.http_port, web, http_extra)
        super().__init__(tmpdir, mqtt_port, programs_yaml, interval=interval,
                         extra=http + extra, args=args)
        with open(self.config, encoding="utf-8") as fh:
            text = fh.read()
        text = text.replace("  topic_root: enmon\n", "  topic_root: enmon\n" + mqtt_extra, 1)
        with open(self.config, "w", encoding="utf-8") as fh:
            fh.write(text)

    def start(self):
        super().start()
        harness.wait_port(self.http_port, 10, self.proc)
        return self

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.http_port, path)


def get(url, token=None, headers=None, timeout=10):
    """(status, headers, body bytes) of a GET; HTTP errors are returned, not raised."""
    req = urllib.request.Request(url, headers=dict(headers or {}))
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers), resp.read()
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers), err.read()


def get_json(url, token=None):
    status, _, body = get(url, token)
    assert status == 200, (url, status, body)
    return json.loads(body)


def sse_events(url, count, timeout=15):
    """The first count (event, data) pairs of a text/event-stream."""
    out, event, data = [], None, []
    with urllib.request.urlopen(url, timeout=timeout) as resp:
        assert resp.headers["Content-Type"].startswith("text/event-stream")
        for raw in resp:
            line = raw.decode("utf-8").rstrip("\n")
            if line.startswith(":"):
                continue
            if line.startswith("event:"):
                event = line[6:].strip()
            elif line.startswith("data:"):
                data.append(line[5:].lstrip())
            elif line == "" and data:
                out.append((event, "\n".join(data)))
                event, data = None, []
                if len(out) >= count:
                    break
    return out


# ---- Prometheus text format 0.0.4 ---------------------------------------------------------

_NAME = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
_LABEL = r'[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\\\|\\"|\\n)*"'
_VALUE = r"(?:[+-]?(?:\d+\.?\d*(?:[eE][+-]?\d+)?|\.\d+(?:[eE][+-]?\d+)?)|[+-]Inf|NaN)"
_SAMPLE = re.compile(r"^(%s)(\{(?:%s(?:,%s)*)?,?\})? (%s)(?: -?\d+)?$"
                     % (_NAME, _LABEL, _LABEL, _VALUE))
_HELP = re.compile(r"^# HELP (%s) (.*)$" % _NAME)
_TYPE = re.compile(r"^# TYPE (%s) (counter|gauge|histogram|summary|untyped)$" % _NAME)
_PAIR = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\\\|\\"|\\n)*)"')


def _unescape(v):
    return re.sub(r"\\(.)", lambda m: {"n": "\n"}.get(m.group(1), m.group(1)), v)


def parse_prometheus(text):
    """Strictly parses an exposition: every line is HELP, TYPE, a comment or a sample; TYPE
    comes before the family's samples and only once; no series twice; families contiguous.
    Returns {name: {"type": t, "help": h, "samples": {labels-tuple: value}}}."""
    assert text.endswith("\n"), "exposition must end with a newline"
    fams, current, done = {}, None, set()
    for n, line in enumerate(text.split("\n")[:-1], 1):
        where = "line %d: %r" % (n, line)
        m = _HELP.match(line)
        if m:
            fam = fams.setdefault(m.group(1), {"type": None, "help": None, "samples": {}})
            assert fam["help"] is None, "second HELP, " + where
            fam["help"] = m.group(2)
            continue
        m = _TYPE.match(line)
        if m:
            fam = fams.setdefault(m.group(1), {"type": None, "help": None, "samples": {}})
            assert fam["type"] is None and not fam["samples"], "TYPE late or twice, " + where
            fam["type"] = m.group(2)
            if current and current != m.group(1):
                done.add(current)
            current = m.group(1)
            continue
        assert not line.startswith("#") or line.startswith("# "), where
        if line.startswith("# "):
            continue
        m = _SAMPLE.match(line)
        assert m, "not a sample, " + where
        name = m.group(1)
        assert name in fams and fams[name]["type"], "sample before its TYPE, " + where
        assert name == current and name not in done, "family not contiguous, " + where
        labels = tuple(sorted((k, _unescape(v)) for k, v in _PAIR.findall(m.group(2) or "")))
        keys = [k for k, _ in labels]
        assert len(keys) == len(set(keys)), "label twice, " + where
        assert labels not in fams[name]["samples"], "duplicate series, " + where
        value = float(m.group(3).replace("Inf", "inf"))
        if fams[name]["type"] == "counter":
            assert value >= 0, "negative counter, " + where
        fams[name]["samples"][labels] = value
    return fams
