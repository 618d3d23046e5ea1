"""historian_pg.py -- a private PostgreSQL 15 cluster for the historian benchmarks: initdb (as
user nobody when run as root: PostgreSQL refuses root) in a temporary directory, a free
127.0.0.1 port, trust authentication on loopback only, removed at the end. Settings are
Debian's defaults except shared_buffers 1GB and max_wal_size 8GB (bulk loads would otherwise
checkpoint every few seconds); fsync stays on."""
import os
import pwd
import shutil
import subprocess
import tempfile

import benchlib

PGBIN = "/usr/lib/postgresql/15/bin"
SETTINGS = "-c shared_buffers=1GB -c max_wal_size=8GB -c work_mem=64MB"


class Postgres:
    def __init__(self):
        if not os.access(os.path.join(PGBIN, "initdb"), os.X_OK):
            raise SystemExit("postgresql-15 is not installed (%s/initdb); scripts/deps installs "
                             "it" % PGBIN)
        self.dir = tempfile.mkdtemp(prefix="enmon-pgbench-")
        self.data = os.path.join(self.dir, "data")
        self.port = benchlib.harness.free_port()
        self.prefix = []
        if os.geteuid() == 0:
            nobody = pwd.getpwnam("nobody")
            os.chown(self.dir, nobody.pw_uid, nobody.pw_gid)
            self.prefix = ["runuser", "-u", "nobody", "--"]
        self.run("initdb", "-D", self.data, "-U", "enmon", "--auth=trust", "-E", "UTF8",
                 "--locale=C", "--no-sync")
        self.url = "postgresql://enmon@127.0.0.1:%d/postgres?sslmode=disable" % self.port

    def run(self, prog, *args):
        subprocess.run(self.prefix + [os.path.join(PGBIN, prog)] + list(args), check=True,
                       stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, timeout=300)

    def start(self):
        opts = "-p %d -k %s -c listen_addresses=127.0.0.1 %s" % (self.port, self.dir, SETTINGS)
        self.run("pg_ctl", "-D", self.data, "-l", os.path.join(self.dir, "log"), "-w", "-t",
                 "120", "-o", opts, "start")
        return self

    def query(self, sql):
        out = subprocess.run([os.path.join(PGBIN, "psql"), "-h", self.dir, "-p", str(self.port),
                              "-U", "enmon", "-d", "postgres", "-X", "-At", "-F", "\t", "-v",
                              "ON_ERROR_STOP=1", "-c", sql],
                             capture_output=True, text=True, timeout=600, check=True)
        return [line.split("\t") for line in out.stdout.splitlines() if line]

    def remove(self):
        try:
            self.run("pg_ctl", "-D", self.data, "-m", "immediate", "-w", "stop")
        except subprocess.CalledProcessError:
            pass
        shutil.rmtree(self.dir, ignore_errors=True)


def forward(db, url, *args):
    """Runs <build>/bench/historian_bench; its key=value line as a dict."""
    out = subprocess.run([benchlib.binary("bench/historian_bench"), "--db", db, "--url", url]
                         + [str(a) for a in args], capture_output=True, text=True, check=True)
    return {k: float(v) for k, v in (f.split("=") for f in out.stdout.split())}


def start_forward(db, url, *args):
    return subprocess.Popen([benchlib.binary("bench/historian_bench"), "--db", db, "--url", url]
                            + [str(a) for a in args], stdout=subprocess.PIPE, text=True)
