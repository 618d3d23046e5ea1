"""test_historian_collectors.py -- three collectors, one historian (issue 20, item 5;
docs/SCALING.md): one shared configuration assigns three links to collectors north, south and
east; three enmond instances (each in its own directory with its own SQLite file) poll their
own enmon-sim on one simulated clock at 900x and forward to one private PostgreSQL 15 cluster
(test_historian.Postgres). The cluster is stopped for 60 s; during the outage south is
SIGKILLed and restarted. Afterwards each collector's intervals and daily rows are in
PostgreSQL, each once, with the same values: per device the row counts and sums equal, and
row for row. No device reaches PostgreSQL from another collector."""
import datetime
import signal
import subprocess
import time

import pytest

import daemon
import harness
from test_historian import PASSWORD, needs_postgres, pg_rows, postgres, sqlite_rows  # noqa: F401

SPEED = 900
START = datetime.datetime(2026, 6, 30, 22, 0, tzinfo=harness.KST)
NAMES = ("north", "south", "east")
PER = 4  # meters behind each collector's link


def shared_config(mqtt_port, ports, pg_port, pwfile):
    sites = ""
    for name, port in zip(NAMES, ports):
        sites += ("      - id: %s\n        collector: %s\n        devices:\n" % (name, name))
        for unit in range(1, PER + 1):
            sites += ("          - {id: %s-m-%d, kind: meter, link: 'tcp://127.0.0.1:%d', "
                      "unit: %d}\n" % (name, unit, port, unit))
    return ("collectors: [%s]\n"
            "mqtt:\n  host: 127.0.0.1\n  port: %d\n  topic_root: enmon\n"
            "database: enmon.db\n"  # relative: each collector in its own directory
            "http:\n  port: 0\n"
            "polling:\n  interval: 1s\n  timeout: 500ms\n  retries: 0\n  offline_after: 2\n"
            "historian:\n  url: postgresql://enmon@127.0.0.1:%d/postgres\n  sslmode: disable\n"
            "  password_file: %s\n  interval: 1s\n"
            "programs:\n  - id: ami\n    kind: ami\n    sites:\n%s"
            % (", ".join(NAMES), mqtt_port, pg_port, pwfile, sites))


class Collector:
    def __init__(self, tmp_path, config, name):
        self.name, self.config = name, config
        self.dir = tmp_path / name
        self.dir.mkdir()
        self.db = str(self.dir / "enmon.db")
        self.proc = self.log = None

    def start(self, timeline):
        self.log = open(self.dir / "enmond.log", "ab")
        self.proc = subprocess.Popen(
            [daemon.bin_path("enmond"), "-c", self.config, "--collector", self.name]
            + timeline.args(), cwd=str(self.dir), stdout=self.log, stderr=subprocess.STDOUT)

    def kill(self):
        self.proc.send_signal(signal.SIGKILL)
        self.proc.wait(10)
        self.log.close()
        self.proc = None

    def stop(self):
        if self.proc is None:
            return None
        self.proc.terminate()
        rc = self.proc.wait(30)
        self.log.close()
        self.proc = None
        return rc

    def log_text(self):
        with open(self.dir / "enmond.log", encoding="utf-8", errors="replace") as fh:
            return fh.read()


def per_device(rows):
    """{device: (rows, sum wh_import, sum wh_export, sum samples)}"""
    out = {}
    for (key, _), (wi, we, n) in sorted(rows.items()):
        c, a, b, s = out.get(key, (0, 0.0, 0.0, 0))
        out[key] = (c + 1, a + wi, b + we, s + n)
    return out


@needs_postgres
def test_three_collectors_outage_and_sigkill_lose_nothing(tmp_path, mosquitto, sim_factory,
                                                          postgres):
    ports = []
    while len(ports) < 3:
        p = harness.free_port()
        if p not in ports:
            ports.append(p)
    timeline = harness.Timeline(START, SPEED)
    sims = [sim_factory("devices:\n  - {port: %d, unit: 1, count: %d, kind: meter, phases: 1,"
                        " kwh_month: 400}\n" % (p, PER), args=timeline.args(), seed=21 + i)
            for i, p in enumerate(ports)]
    pwfile = tmp_path / "pg.pass"
    pwfile.write_text(PASSWORD + "\n")
    config = str(tmp_path / "deployment.yaml")
    with open(config, "w", encoding="utf-8") as fh:
        fh.write(shared_config(mosquitto.port, ports, postgres.port, pwfile))
    cols = [Collector(tmp_path, config, n) for n in NAMES]
    try:
        for c in cols:
            c.start(timeline)
        # every collector forwards: all twelve devices have rows in PostgreSQL
        assert daemon.wait_for(lambda: len({k for k, _ in (pg_rows(postgres, "intervals")
                                                            or {})}) == 3 * PER, 60), \
            [c.log_text()[-1500:] for c in cols]
        # a 60 s historian outage; south is SIGKILLed in the middle of it and restarted
        postgres.stop()
        t_down = time.monotonic()
        time.sleep(20)
        cols[1].kill()
        cols[1].start(timeline)  # the simulated clock goes on from where it was
        time.sleep(max(0.0, 60 - (time.monotonic() - t_down)))
        postgres.start()
        time.sleep(10)  # the catch-up, while the sims go on
        for s in sims:
            s.stop()  # no more readings: the files settle and the forwarders catch up

        def settled():
            pi, pd = pg_rows(postgres, "intervals") or {}, pg_rows(postgres, "daily") or {}
            settled.last = []
            ok = True
            for c in cols:
                own = {"%s-m-%d" % (c.name, u) for u in range(1, PER + 1)}
                si, sd = sqlite_rows(c.db, "intervals", "start_s"), sqlite_rows(c.db, "daily",
                                                                                "day_s")
                ci = {k: v for k, v in pi.items() if k[0] in own}
                cd = {k: v for k, v in pd.items() if k[0] in own}
                settled.last.append((c.name, si, ci, sd, cd))
                ok = ok and si == ci and sd == cd
            return ok

        if not daemon.wait_for(settled, 90, 1):
            msg = []
            for name, si, ci, sd, cd in settled.last:
                msg.append("%s: intervals %d vs %d, daily %d vs %d, differing %s" % (
                    name, len(si), len(ci), len(sd), len(cd),
                    sorted(set(si.items()) ^ set(ci.items()))[:5]))
            pytest.fail("\n".join(msg) + "\n" + cols[1].log_text()[-3000:])
        # per device: row counts and sums equal (the row-for-row equality above implies it;
        # this is the figure an operator would compare), and each collector's devices only
        for name, si, ci, sd, cd in settled.last:
            assert per_device(si) == per_device(ci), name
            assert per_device(sd) == per_device(cd), name
            assert len(per_device(si)) == PER, name
            assert all(n >= 40 for n, _, _, _ in per_device(si).values()), per_device(si)
        assert len(pg_rows(postgres, "intervals")) == sum(len(x[1]) for x in settled.last)
        # all three went through the outage (a failed pass or connect, then a reconnect)
        for c in cols:
            log = c.log_text()
            assert "retrying with backoff" in log or "forwarding pass failed" in log, c.name
            assert log.count(": connected") >= 2, c.name
        devs = postgres.query("SELECT device FROM enmon_devices ORDER BY 1")
        assert [d[0] for d in devs] == sorted("%s-m-%d" % (n, u) for n in NAMES
                                              for u in range(1, PER + 1))
    finally:
        rcs = [c.stop() for c in cols]
    assert rcs == [0, 0, 0], [c.log_text()[-1500:] for c in cols]
