"""test_historian.py -- the PostgreSQL historian: a private PostgreSQL 15 cluster (initdb as an
unprivileged user on a free loopback port, removed afterwards), enmon-sim and enmond on a
simulated clock at 900x. The intervals and daily rollups in PostgreSQL equal SQLite's, row for
row, after a 60 s historian outage and a SIGKILL of enmond: nothing lost, nothing twice (the
primary key (device, start) would refuse a duplicate; equality of every value shows no row was
summed twice or missed). Skipped only when the postgresql-15 binaries are absent."""
import os
import pwd
import shutil
import signal
import sqlite3
import subprocess
import tempfile
import time
import urllib.request

import re

import pytest

import daemon
import harness

PGBIN = "/usr/lib/postgresql/15/bin"
SPEED = 900  # 15 simulated minutes per second: one interval per second
# 23:00 KST on 30 June (14:00 UTC): within the run (at least 70 s, 17.5 simulated hours) the
# KST day ends after 1 h and the UTC month after 10 h: two daily rows per device, and
# intervals in two monthly partitions (daily rows start at KST midnight, 15:00 UTC the day
# before: both of them in June)
START = "2026-06-30T23:00:00+09:00"
N = 12
PASSWORD = "s3cret-for-test"

needs_postgres = pytest.mark.skipif(
    not os.access(os.path.join(PGBIN, "initdb"), os.X_OK),
    reason="postgresql-15 is not installed (%s/initdb); scripts/deps installs it" % PGBIN)


class Postgres:
    """A throwaway cluster: its data directory and unix socket in one temporary directory,
    owned by an unprivileged user when the test runs as root (PostgreSQL refuses root)."""

    def __init__(self):
        self.dir = tempfile.mkdtemp(prefix="enmon-pg-")
        self.data = os.path.join(self.dir, "data")
        self.port = harness.free_port()
        self.prefix = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            self.prefix = ["runuser", "-u", "nobody", "--"]
        pwfile = os.path.join(self.dir, "pw")
        with open(pwfile, "w", encoding="utf-8") as fh:
            fh.write(PASSWORD + "\n")
        if self.prefix:
            os.chown(pwfile, pwd.getpwnam("nobody").pw_uid, -1)
        self.run("initdb", "-D", self.data, "-U", "enmon", "--pwfile", pwfile, "--no-sync",
                 "--auth-local=trust", "--auth-host=scram-sha-256", "-E", "UTF8", "--locale=C")
        os.unlink(pwfile)

    def run(self, prog, *args):
        subprocess.run(self.prefix + [os.path.join(PGBIN, prog)] + list(args), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=120)

    def start(self):
        opts = ("-p %d -k %s -c listen_addresses=127.0.0.1 -c fsync=off" % (self.port, self.dir))
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t",
                 "60", "-o", opts, "start")

    def stop(self, mode="fast"):
        self.run("pg_ctl", "-D", self.data, "-m", mode, "-w", "-t", "60", "stop")

    def query(self, sql):
        """Rows of sql as lists of strings, through the unix socket (trust)."""
        out = subprocess.run([os.path.join(PGBIN, "psql"), "-h", self.dir, "-p", str(self.port),
                              "-U", "enmon", "-d", "postgres", "-X", "-At", "-F", "\t", "-v",
                              "ON_ERROR_STOP=1", "-c", sql],
                             capture_output=True, text=True, timeout=60)
        assert out.returncode == 0, out.stderr
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def remove(self):
        try:
            self.stop("immediate")
        except subprocess.CalledProcessError:
            pass  # not running
        shutil.rmtree(self.dir, ignore_errors=True)


@pytest.fixture
def postgres():
    pg = Postgres()
    pg.start()
    yield pg
    pg.remove()
    assert not os.path.exists(pg.dir)


def sqlite_rows(db_path, table, col):
    db = sqlite3.connect(db_path)
    try:
        return {(k, s): (wi, we, n) for k, s, wi, we, n in db.execute(
            "SELECT d.key, t.%s, t.wh_import, t.wh_export, t.samples FROM %s t "
            "JOIN devices d ON d.id = t.device_id" % (col, table))}
    finally:
        db.close()


def pg_rows(pg, table):
    try:
        rows = pg.query("SELECT device, extract(epoch FROM start)::bigint, wh_import, wh_export,"
                        " samples FROM enmon_%s" % table)
    except AssertionError:
        return None  # not reachable (yet)
    return {(k, int(s)): (float(wi), float(we), int(n)) for k, s, wi, we, n in rows}


def metrics(port):
    with urllib.request.urlopen("http://127.0.0.1:%d/metrics" % port, timeout=10) as r:
        text = r.read().decode()
    return {line.split()[0]: float(line.split()[1]) for line in text.splitlines()
            if line.startswith("enmon_historian_")}


@needs_postgres
def test_outage_and_sigkill_lose_nothing(tmp_path, mosquitto, sim_factory, postgres):
    port, http = harness.free_port(), harness.free_port()
    sim = sim_factory("devices:\n  - {port: %d, unit: 1, count: %d, kind: meter, phases: 1,"
                      " kwh_month: 400}\n" % (port, N), args=["--time", START, "--speed",
                                                          str(SPEED)], seed=5)
    pwfile = tmp_path / "pg.pass"
    pwfile.write_text(PASSWORD + "\n")
    extra = ("http:\n  port: %d\nhistorian:\n  url: postgresql://enmon@127.0.0.1:%d/postgres\n"
             "  sslmode: disable\n  password_file: %s\n  interval: 1s\n"
             % (http, postgres.port, pwfile))
    programs = ("programs:\n  - id: ami\n    kind: ami\n    sites:\n"
                "      - id: home-{n}\n        count: %d\n        devices:\n"
                "          - {id: 'm-{n}', kind: meter, link: 'tcp://127.0.0.1:%d', unit: 1}\n"
                % (N, port))
    d = daemon.Enmond(tmp_path, mosquitto.port, programs, interval="1s", extra=extra,
                      args=["--time", START, "--speed", str(SPEED)])
    try:
        d.start()
        # forwarding runs: rows arrive in PostgreSQL within a few passes
        assert daemon.wait_for(lambda: len(pg_rows(postgres, "intervals") or {}) >= N, 30), \
            d.log_text()
        # a 60 s outage: SQLite goes on (readings keep being written), the backlog and the lag
        # grow on /metrics; the stats line (every 60 s) says so too
        postgres.stop()
        t_down = time.monotonic()
        time.sleep(30)
        m = metrics(http)
        assert m["enmon_historian_connected"] == 0, m
        assert m["enmon_historian_backlog_readings"] > 0, m
        # lag: 30 s at 900x is 27,000 simulated seconds; at least 20 s of it (18,000 s) is an
        # honest floor on a loaded machine
        assert m["enmon_historian_lag_seconds"] > 20 * SPEED, m
        time.sleep(max(0.0, 60 - (time.monotonic() - t_down)))
        before = sqlite_rows(d.db, "intervals", "start_s")
        postgres.start()
        # the catch-up starts; enmond is killed in the middle of it (whatever the pass was
        # doing: its PostgreSQL transaction rolls back, the marks stay where they were)
        n_before = len(pg_rows(postgres, "intervals") or {})
        daemon.wait_for(lambda: len(pg_rows(postgres, "intervals") or {}) > n_before, 20, 0.05)
        d.proc.send_signal(signal.SIGKILL)
        d.proc.wait(10)
        d.log.close()
        d.proc = None
        db = sqlite3.connect(d.db)
        last_ms = db.execute("SELECT max(ts_ms) FROM readings").fetchone()[0]
        db.close()
        # the simulated clock goes on from where it was, never back
        d.args = ["--time", time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(last_ms / 1000 + 60)),
                  "--speed", str(SPEED)]
        d.start()
        time.sleep(4)
        sim.stop()  # no more readings: the tables settle and the forwarder catches up
        assert len(sqlite_rows(d.db, "intervals", "start_s")) > len(before)

        def settled():
            a = sqlite_rows(d.db, "intervals", "start_s")
            b = sqlite_rows(d.db, "daily", "day_s")
            settled.last = (a, pg_rows(postgres, "intervals"), b, pg_rows(postgres, "daily"))
            return a == settled.last[1] and b == settled.last[3] \
                and (a, b)

        got = daemon.wait_for(settled, 60, 0.5)
        if not got:
            a, pa, b, pb = settled.last
            diff = sorted(set(a.items()) ^ set((pa or {}).items()))[:10]
            diffd = sorted(set(b.items()) ^ set((pb or {}).items()))[:10]
            pytest.fail("PostgreSQL never matched SQLite: intervals %d vs %s, daily %d vs %s; "
                        "differing: %s %s\n%s" % (len(a), len(pa or {}), len(b), len(pb or {}),
                                                  diff, diffd, d.log_text()[-3000:]))
        intervals, daily = got
        assert len({k for k, _ in intervals}) == N
        assert len(daily) == 2 * N  # two KST days: 30 June and 1 July
        # monthly partitions (UTC): intervals in June and July, daily rows in June
        parts = postgres.query("SELECT c.relname FROM pg_inherits i JOIN pg_class c"
                               " ON c.oid = i.inhrelid WHERE c.relkind = 'r' ORDER BY 1")
        assert [p[0] for p in parts] == ["enmon_daily_2026_06", "enmon_intervals_2026_06",
                                         "enmon_intervals_2026_07"]
        # per device sums as a report would take them (same figures, by another road)
        sums = {k: float(v) for k, v in postgres.query(
            "SELECT device, sum(wh_import) FROM enmon_intervals GROUP BY device")}
        for key in sums:
            want = sum(v[0] for (k, _), v in intervals.items() if k == key)
            assert sums[key] == pytest.approx(want, rel=1e-12)
        devs = postgres.query("SELECT device, program, site FROM enmon_devices ORDER BY 1")
        assert len(devs) == N and devs[0][1:] == ["ami", "home-01"], devs
        log = d.log_text()
        assert "historian backlog=" in log and " down" in log, log[-3000:]
        assert PASSWORD not in log
        marks = dict(sqlite3.connect(d.db).execute(
            "SELECT key, value FROM meta WHERE key LIKE 'historian_%'").fetchall())
        assert set(marks) == {"historian_readings_rowid", "historian_alerts_id",
                              "historian_frontier", "historian_forwarded_ms"}
    finally:
        rc = d.stop()
    assert rc == 0


# historian: sections refused with FILE:LINE: field: reason and exit 78 (the line of the
# offending key), and one accepted in each form
CONFIGS = [
    ("historian: postgresql://enmon:pw@db/enmon\n", 1, "historian.url",
     "has a password: put it in historian.password_file"),
    ("historian: mysql://db/enmon\n", 1, "historian.url", "not a postgresql:// URL"),
    ("historian: postgresql://enmon@db/enmon\n", 1, "historian",
     "sslmode=verify-full needs sslrootcert=FILE in the URL"),
    ("historian:\n  url: postgresql://enmon@db/enmon\n  sslmode: verify-ca\n", 3,
     "historian.cafile", "sslmode verify-ca needs cafile"),
    ("historian:\n  url: postgresql://enmon@db/enmon\n  sslmode: prefer\n", 3,
     "historian.sslmode", "prefer"),
    ("historian:\n  url: postgresql://enmon@db/enmon?password=x\n", 2, "historian.url",
     "has a password"),
    ("historian:\n  sslmode: disable\n", 2, "historian.url", "missing required key 'url'"),
    ("historian:\n  url: postgresql://enmon@db/enmon\n  sslmode: disable\n  intreval: 5s\n", 4,
     "historian.intreval", "unknown key 'intreval'"),
]


def scaling_examples():
    """The historian: examples of docs/SCALING.md (its ```yaml blocks)."""
    with open(os.path.join(harness.source_dir(), "docs", "SCALING.md"), encoding="utf-8") as fh:
        text = fh.read()
    blocks = [b for b in re.findall(r"```yaml\n(.*?)```", text, re.S)
              if b.startswith("historian:")]   # (the collectors' example is checked elsewhere)
    assert len(blocks) == 2, blocks
    return blocks


BASE = ("database: /tmp/enmon-historian-cfg.db\nprograms:\n  - id: ami\n    kind: ami\n"
        "    sites:\n      - id: home\n        devices:\n"
        "          - {id: m-1, kind: meter, link: 'tcp://127.0.0.1:1502', unit: 1}\n")


@pytest.mark.parametrize("text,line,field,reason", CONFIGS, ids=range(len(CONFIGS)))
def test_config_errors_name_file_line_field(tmp_path, text, line, field, reason):
    path = tmp_path / "enmond.yaml"
    path.write_text(text + BASE)
    res = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", str(path)],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 78, res.stdout + res.stderr
    want = re.escape("%s:%d: %s: " % (path, line, field)) + ".*" + re.escape(reason)
    assert re.search(want, res.stderr), res.stderr


@pytest.mark.parametrize("text", scaling_examples(), ids=["url", "mapping"])
def test_scaling_examples_are_accepted(tmp_path, text):
    path = tmp_path / "enmond.yaml"
    path.write_text(text + BASE)
    res = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", str(path)],
                         capture_output=True, text=True, timeout=30)
    assert res.returncode == 0, res.stdout + res.stderr
