"""benchlib.py -- shared helpers of the bench/ scripts: build, free ports, services, /proc figures.

Every service binds 127.0.0.1 on free ports and is stopped by the caller (use
Services as a context manager). The integration harness (tests/integration/
harness.py) provides enmon-sim and mosquitto.
"""
import datetime
import os
import random
import re
import signal
import socket
import sqlite3
import subprocess
import sys
import time

SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
sys.path.insert(0, os.path.join(SOURCE, "tests", "integration"))
import harness  # noqa: E402  (enmon-sim, mosquitto, free ports)

CLK_TCK = os.sysconf("SC_CLK_TCK")


def build_dir():
    return os.environ.get("ENMON_BUILD") or os.path.join(SOURCE, "build")


def source_commit():
    """The commit the bench runs on: "<short sha>", with "+uncommitted changes" when the
    tree differs from it (then the figures belong to no commit)."""
    git = ["git", "-C", SOURCE]
    sha = subprocess.run(git + ["rev-parse", "--short", "HEAD"], capture_output=True,
                         text=True).stdout.strip() or "unknown"
    dirty = subprocess.run(git + ["status", "--porcelain", "--untracked-files=no"],
                           capture_output=True, text=True).stdout.strip()
    return sha + (" +uncommitted changes" if dirty else "")


def ensure_built():
    """Builds enmon (scripts/build, incremental) into build_dir(), so the bench runs the tree
    it is in, and prints the commit it runs on."""
    b = build_dir()
    env = dict(os.environ, ENMON_BUILD_DIR=b)
    subprocess.run([os.path.join(SOURCE, "scripts", "build")], env=env, check=True,
                   stdout=subprocess.DEVNULL)
    os.environ["ENMON_BUILD"] = b
    print("bench on commit %s (build %s)" % (source_commit(), b), flush=True)
    return b


def binary(rel):
    return os.path.join(build_dir(), rel)


def _free(port):
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
            return True
        except OSError:
            return False


def free_port_range(n):
    """The first of n consecutive free 127.0.0.1 ports."""
    for _ in range(2000):
        base = random.randrange(20000, 60000 - n)
        if all(_free(base + i) for i in range(n)):
            return base
    raise RuntimeError("no %d consecutive free ports" % n)


def citygen(outdir, port_base, mqtt_port, db, *extra):
    subprocess.run([sys.executable, os.path.join(SOURCE, "tools", "citygen.py"), "--outdir",
                    outdir, "--port-base", str(port_base), "--mqtt-port", str(mqtt_port),
                    "--db", db] + list(extra), check=True)


def config_devices(config):
    """How many devices enmond configures from config (its --check-config line), so a bench's
    title says what it ran rather than a count written down once."""
    out = subprocess.run([binary("src/enmond"), "--check-config", "-c", config], check=True,
                         capture_output=True, text=True).stdout
    m = re.search(r"(\d+) devices on (\d+) links", out)
    if not m:
        raise RuntimeError("enmond --check-config said: %r" % out)
    return int(m.group(1))


# ---- /proc figures --------------------------------------------------------------------------

def cpu_seconds(pid):
    """utime + stime of a process (all its threads), seconds."""
    with open("/proc/%d/stat" % pid) as fh:
        fields = fh.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def status_kb(pid, key):
    """A VmHWM / VmRSS style field of /proc/PID/status in kB."""
    with open("/proc/%d/status" % pid) as fh:
        for line in fh:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def machine():
    model = "?"
    with open("/proc/cpuinfo") as fh:
        for line in fh:
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    with open("/proc/meminfo") as fh:
        mem_kb = int(fh.readline().split()[1])
    return "%d CPUs (%s), %.1f GB RAM" % (os.cpu_count(), model, mem_kb / 1048576)


# ---- enmond -------------------------------------------------------------------------------------

STATS_RE = re.compile(r"polls=(\d+) failed=(\d+) online=(\d+)/(\d+) lateness p99=(-?\d+)ms "
                      r"max=(-?\d+)ms db written=(\d+) dropped=(\d+) mqtt published=(\d+) "
                      r"dropped=(\d+)")


STATS_KEYS = ["polls", "failed", "online", "devices", "p99_ms", "max_ms", "db_written",
              "db_dropped", "mqtt_published", "mqtt_dropped"]


def all_stats(log_text):
    """Every stats line of an enmond log as dicts, oldest first. Counters are totals since
    start; p99_ms and max_ms cover the window since the previous line (one a minute)."""
    return [dict(zip(STATS_KEYS, map(int, f))) for f in STATS_RE.findall(log_text)]


def last_stats(log_text):
    """The last stats line of an enmond log as a dict (plus worst_p99_ms and worst_max_ms:
    the worst window of the run, and steady_p99_ms: the worst window after the first), or None."""
    found = all_stats(log_text)
    if not found:
        return None
    out = dict(found[-1])
    out["worst_p99_ms"] = max(f["p99_ms"] for f in found)
    out["worst_max_ms"] = max(f["max_ms"] for f in found)
    later = found[1:-1] or found[-1:]
    out["steady_p99_ms"] = max(f["p99_ms"] for f in later)
    return out


class Enmond:
    """enmond -c CONFIG with its log in a file; stop() sends SIGTERM and waits (queues drain).
    args: extra command-line arguments (the simulator's --time/--speed when it has them)."""

    def __init__(self, config, log_path, args=()):
        self.config = config
        self.log_path = log_path
        self.args = list(args)
        self.proc = None

    def start(self):
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([binary("src/enmond"), "-c", self.config] + self.args,
                                     stdout=self.log, stderr=subprocess.STDOUT)
        return self

    def stop(self, timeout=120):
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.log.close()
        self.proc = None
        return rc

    def log_text(self):
        with open(self.log_path, encoding="utf-8", errors="replace") as fh:
            return fh.read()


def db_count(path, sql):
    con = sqlite3.connect("file:%s?mode=ro" % path, uri=True)
    try:
        return con.execute(sql).fetchone()[0]
    finally:
        con.close()


class Services:
    """Collects started services and stops them (last first) on exit, errors or not."""

    def __init__(self):
        self.items = []

    def add(self, svc):
        self.items.append(svc)
        return svc

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        for svc in reversed(self.items):
            try:
                svc.stop()
            except Exception as e:  # keep stopping the others
                print("bench: stopping %s: %s" % (type(svc).__name__, e), file=sys.stderr)
        return False


# ---- one simulated clock ------------------------------------------------------------------------

KST = datetime.timezone(datetime.timedelta(hours=9))
BENCH_START = datetime.datetime(2026, 6, 21, 11, 0, tzinfo=KST)  # a June morning: the sun is up


def Timeline(start=BENCH_START, speed=1):
    """The shared simulated clock (harness.Timeline) starting at BENCH_START."""
    return harness.Timeline(start, speed)


def sim(tmpdir, config_path, args=()):
    """An enmon-sim on an existing config file (harness.Sim copies the text)."""
    with open(config_path, encoding="utf-8") as fh:
        return harness.Sim(tmpdir, fh.read(), args=args)


def table(title, rows):
    """Prints rows of (label, value) as a two-column table."""
    width = max(len(r[0]) for r in rows + [(title, "")])
    print("%-*s  %s" % (width, title, "value"))
    print("-" * (width + 16))
    for label, value in rows:
        print("%-*s  %s" % (width, label, value))


def machine_cpu():
    """(busy, total) CPU seconds of the whole machine so far, from /proc/stat."""
    with open("/proc/stat") as fh:
        f = [int(x) for x in fh.readline().split()[1:]]
    idle = f[3] + f[4]
    return (sum(f) - idle) / CLK_TCK, sum(f) / CLK_TCK


class OtherLoad:
    """CPU used by processes other than ours during a window, in cores: (machine busy - ours)."""

    def __init__(self):
        self.b0, self.t0 = machine_cpu()
        self.w0 = time.monotonic()

    def cores(self, ours_cpu_s):
        b1, _ = machine_cpu()
        wall = time.monotonic() - self.w0
        return max(0.0, (b1 - self.b0 - ours_cpu_s) / wall)
