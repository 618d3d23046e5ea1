"""harness.py -- integration test helpers: free ports, build paths, enmon-sim and mosquitto.

Services bind 127.0.0.1 on free ports only, write their configs and logs into the
test's tmp dir, and are stopped with SIGTERM (enmon-sim must then exit 0).
"""
import datetime
import json
import os
import signal
import socket
import subprocess
import tempfile
import time

import yaml


KST = datetime.timezone(datetime.timedelta(hours=9))


class Timeline:
    """One simulated clock (--time/--speed, speed 1 unless given) for enmon-sim and every
    enmond run of a test or bench, read without the machine's wall clock: args() gives a
    process started now the instant the timeline has reached (rounded up to a whole second,
    the resolution of --time, so a restarted enmond never stamps a reading earlier than its
    predecessor did), and now_ms() is that instant advanced by speed x time.monotonic() since.
    enmond's own clock lags now_ms() by its start-up time (times the speed): windows over
    readings' ts_ms allow for it."""

    def __init__(self, start, speed=1):
        self.base_ms, self.base_mono = int(start.timestamp()) * 1000, None
        self.speed = speed

    def now_ms(self):
        if self.base_mono is None:
            return self.base_ms
        return self.base_ms + int((time.monotonic() - self.base_mono) * 1000 * self.speed)

    def args(self):
        s = -(-self.now_ms() // 1000)
        self.base_ms, self.base_mono = s * 1000, time.monotonic()
        return ["--time", datetime.datetime.fromtimestamp(s, KST).isoformat(), "--speed",
                "%g" % self.speed]


def source_dir():
    """The repository root: $ENMON_SOURCE, else two levels above this file."""
    env = os.environ.get("ENMON_SOURCE")
    if env:
        return env
    return os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))


def build_dir():
    """The CMake build directory: $ENMON_BUILD, else <repo>/build."""
    return os.environ.get("ENMON_BUILD") or os.path.join(source_dir(), "build")


def free_port():
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def port_open(port, host="127.0.0.1"):
    try:
        with socket.create_connection((host, port), timeout=0.5):
            return True
    except OSError:
        return False


def wait_port(port, timeout=10.0, proc=None):
    """Waits until port accepts connections; raises TimeoutError (or RuntimeError
    when proc, a Popen, exits first)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if port_open(port):
            return
        if proc is not None and proc.poll() is not None:
            raise RuntimeError("process exited with %d before port %d opened"
                               % (proc.returncode, port))
        time.sleep(0.05)
    raise TimeoutError("port %d did not open within %.1f s" % (port, timeout))


def _stop_process(proc, timeout):
    """SIGTERM, wait; SIGKILL after timeout. Returns the exit code."""
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
    try:
        return proc.wait(timeout)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
        raise


class Sim:
    """enmon-sim on a config written to tmpdir.

    config is YAML text or a dict (written as JSON, which YAML reads). args are
    extra command-line arguments (["--time", "...", "--speed", "0"] ...). Every
    instance has a control socket (ctl_path; ctl() sends commands to it).
    start() waits for every port of the config; stop() sends SIGTERM and
    asserts exit 0; start() again restarts on the same ports.
    """

    _count = 0

    def __init__(self, tmpdir, config, args=(), seed=None, fixed=False):
        Sim._count += 1
        self.tmpdir = str(tmpdir)
        self.name = "sim%d" % Sim._count
        self.config = os.path.join(self.tmpdir, self.name + ".yaml")
        text = config if isinstance(config, str) else json.dumps(config, indent=2)
        with open(self.config, "w", encoding="utf-8") as fh:
            fh.write(text)
        doc = yaml.safe_load(text) or {}
        self.ports = sorted({d["port"] for d in doc.get("devices", [])})
        self.args = list(args)
        if seed is not None:
            self.args += ["--seed", str(seed)]
        if fixed:
            self.args.append("--fixed")
        self.ctl_path = os.path.join(self.tmpdir, self.name + ".sock")
        if len(self.ctl_path) > 100:  # a Unix socket path holds 107 bytes
            self.ctl_path = os.path.join(tempfile.mkdtemp(prefix="enmon-ctl-"), "sim.sock")
        self.proc = None
        self.out_path = os.path.join(self.tmpdir, self.name + ".out")
        self.err_path = os.path.join(self.tmpdir, self.name + ".err")

    @staticmethod
    def binary():
        return os.path.join(build_dir(), "simulators", "enmon-sim")

    def command(self):
        return [self.binary(), "--config", self.config, "--ctl", self.ctl_path] + self.args

    def ctl(self, *args, check=True, timeout=10.0):
        """Runs `enmon-sim ctl SOCKET ARGS...` (fault injection, docs/SIMULATOR.md) and
        returns the CompletedProcess (text); with check, asserts exit 0."""
        res = subprocess.run([self.binary(), "ctl", self.ctl_path] + [str(a) for a in args],
                             capture_output=True, text=True, timeout=timeout)
        if check:
            assert res.returncode == 0, "ctl %s: %s%s" % (args, res.stdout, res.stderr)
        return res

    def start(self, timeout=10.0):
        assert self.proc is None, "already running"
        self.out = open(self.out_path, "ab")
        self.err = open(self.err_path, "ab")
        self.proc = subprocess.Popen(self.command(), stdout=self.out, stderr=self.err)
        try:
            for port in self.ports:
                wait_port(port, timeout, self.proc)
        except (RuntimeError, TimeoutError):
            self.stop(check=False)
            raise RuntimeError("enmon-sim did not start: " + self.stderr_text())
        return self

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def stop(self, timeout=10.0, check=True):
        """Stops the simulator; asserts a clean exit (0) when check. Returns the code."""
        if self.proc is None:
            return None
        rc = _stop_process(self.proc, timeout)
        self.proc = None
        self.out.close()
        self.err.close()
        if check:
            assert rc == 0, "enmon-sim exited with %d: %s" % (rc, self.stderr_text())
        return rc

    def restart(self):
        self.stop()
        return self.start()

    def stdout_text(self):
        with open(self.out_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()

    def stderr_text(self):
        with open(self.err_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()


class Mosquitto:
    """A private mosquitto broker on a free 127.0.0.1 port (anonymous, no persistence)."""

    BINARY = "/usr/sbin/mosquitto"

    def __init__(self, tmpdir, port=None):
        self.tmpdir = str(tmpdir)
        self.port = port or free_port()
        self.conf = os.path.join(self.tmpdir, "mosquitto-%d.conf" % self.port)
        self.log_path = os.path.join(self.tmpdir, "mosquitto-%d.log" % self.port)
        with open(self.conf, "w", encoding="utf-8") as fh:
            fh.write("listener %d 127.0.0.1\nallow_anonymous true\npersistence false\n"
                     % self.port)
        self.proc = None

    def start(self, timeout=10.0):
        assert self.proc is None, "already running"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([self.BINARY, "-c", self.conf], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        try:
            wait_port(self.port, timeout, self.proc)
        except (RuntimeError, TimeoutError):
            self.stop()
            raise
        return self

    def stop(self, timeout=10.0):
        if self.proc is None:
            return None
        rc = _stop_process(self.proc, timeout)
        self.proc = None
        self.log.close()
        return rc

    def restart(self):
        self.stop()
        return self.start()
