"""daemon.py -- start and stop enmond (and run the enmon CLI) for integration tests."""
import os
import signal
import subprocess
import time

import harness


def bin_path(name):
    sub = "simulators" if name == "enmon-sim" else "src"
    return os.path.join(harness.build_dir(), sub, name)


class Enmond:
    """enmond on a generated config in tmpdir; stop() asserts a clean exit. args are
    extra command-line arguments: a test that runs the simulator at a fixed instant
    passes enmond the same ["--time", T, "--speed", X]."""

    def __init__(self, tmpdir, mqtt_port, programs_yaml, interval="1s", extra="", args=()):
        self.tmpdir = str(tmpdir)
        self.db = os.path.join(self.tmpdir, "enmon.db")
        self.config = os.path.join(self.tmpdir, "enmond.yaml")
        self.log_path = os.path.join(self.tmpdir, "enmond.log")
        if "http:" not in extra:
            extra += "http:\n  port: 0\n"  # tests bind free ports only; HTTP tests set theirs
        with open(self.config, "w", encoding="utf-8") as fh:
            fh.write(
                "mqtt:\n  host: 127.0.0.1\n  port: %d\n  topic_root: enmon\n"
                "database: %s\npolling:\n  workers: 4\n  interval: %s\n  timeout: 500ms\n"
                "  retries: 0\n  offline_after: 2\n%s%s"
                % (mqtt_port, self.db, interval, extra, programs_yaml))
        self.args = list(args)
        self.proc = None

    def start(self, env=None):
        """env: the process environment (default: the test's), e.g. with NOTIFY_SOCKET."""
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen([bin_path("enmond"), "-c", self.config] + self.args,
                                     stdout=self.log, stderr=subprocess.STDOUT, env=env)
        return self

    def stop(self, timeout=15):
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


def enmon(*args, check=True):
    """Runs the enmon CLI and returns the CompletedProcess."""
    return subprocess.run([bin_path("enmon")] + list(args), capture_output=True, text=True,
                          timeout=60, check=check)


def wait_for(predicate, timeout, step=0.1):
    """Polls predicate until it returns a true value or timeout seconds pass."""
    end = time.monotonic() + timeout
    while True:
        value = predicate()
        if value or time.monotonic() > end:
            return value
        time.sleep(step)
