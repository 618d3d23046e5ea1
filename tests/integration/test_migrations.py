"""test_migrations.py -- enmond upgrades a database of every earlier schema version, forward only,
one transaction per migration, and refuses one from a newer version.

The fixtures tests/fixtures/schema/vN.sql are what enmond of version N created (made from git
history by tests/fixtures/schema/make_fixtures.py) with a few rows; the loop runs up to the
STORE_SCHEMA_VERSION of src/store/store_schema.h, so a new migration is covered as soon as it
is added (and its version's fixture is required once a newer one exists)."""
import os
import re
import sqlite3
import sys

import pytest

import daemon
import harness

SCHEMA_DIR = os.path.join(harness.source_dir(), "tests", "fixtures", "schema")
sys.path.insert(0, SCHEMA_DIR)
import make_fixtures  # noqa: E402  (c_strings: the migrations array read from the C source)


def current_version():
    with open(os.path.join(harness.source_dir(), "src", "store", "store_schema.h")) as fh:
        return int(re.search(r"#define STORE_SCHEMA_VERSION (\d+)", fh.read()).group(1))


CURRENT = current_version()
# every version before the current one needs its fixture; the current one's is used when present
VERSIONS = [v for v in range(1, CURRENT + 1)
            if v < CURRENT or os.path.exists(os.path.join(SCHEMA_DIR, "v%d.sql" % v))]
# enmond's clock one hour after the fixtures' readings (2026-06-21 12:00-12:15 KST)
CLOCK = ["--time", "2026-06-21T13:00:00+09:00", "--speed", "1"]
DAY_S = make_fixtures.DAY_S


def fixture_sql(version):
    path = os.path.join(SCHEMA_DIR, "v%d.sql" % version)
    assert os.path.exists(path), (
        "%s missing: run /usr/bin/python3 tests/fixtures/schema/make_fixtures.py" % path)
    with open(path, encoding="utf-8") as fh:
        return fh.read()


def load(path, version, extra_sql=""):
    db = sqlite3.connect(path)
    db.executescript(fixture_sql(version) + extra_sql)
    db.close()


def user_version(path):
    db = sqlite3.connect(path)
    try:
        return db.execute("PRAGMA user_version").fetchone()[0]
    finally:
        db.close()


def dump(path):
    db = sqlite3.connect(path)
    try:
        return list(db.iterdump())
    finally:
        db.close()


def schema(db):
    """sqlite_master without whitespace (a table an older CLI created has other spacing)."""
    return sorted((t, n, re.sub(r"\s+", "", s or "").replace("IFNOTEXISTS", ""))
                  for t, n, s in db.execute("SELECT type, name, sql FROM sqlite_master "
                                            "WHERE name NOT LIKE 'sqlite_%'"))


def current_schema():
    """The schema today's migrations build from an empty file."""
    with open(os.path.join(harness.source_dir(), "src", "store", "store_schema.c")) as fh:
        src = fh.read()
    body = re.search(r"migrations\[STORE_SCHEMA_VERSION\] = \{(.*?)\n\};", src, re.S).group(1)
    migrations = make_fixtures.c_strings(body)
    assert len(migrations) == CURRENT
    db = sqlite3.connect(":memory:")
    for sql in migrations:
        db.executescript(sql)
    return schema(db)


def enmond(tmp_path):
    """enmond with the fixtures' two devices on a port nothing listens on (polls fail, no
    reading is added), a 60 s interval (one poll in the test's time) and no MQTT broker
    (its outbox mark stays as the migration left it)."""
    port = harness.free_port()
    programs = (
        "programs:\n"
        "  - id: solar-homes\n    kind: solar\n    sites:\n      - id: home-1\n        devices:\n"
        "          - {id: inv-a, kind: inverter, link: 'tcp://127.0.0.1:%d', unit: 1,"
        " capacity: 3000}\n"
        "  - id: ami\n    kind: ami\n    sites:\n      - id: house-7\n        devices:\n"
        "          - {id: meter-7, kind: meter, link: 'tcp://127.0.0.1:%d', unit: 7}\n"
        % (port, port))
    return daemon.Enmond(tmp_path, harness.free_port(), programs, interval="60s", args=CLOCK)


def run_until_exit(d, timeout=30):
    d.start()
    try:
        return d.proc.wait(timeout)
    finally:
        d.stop()


@pytest.mark.parametrize("version", VERSIONS)
def test_every_earlier_version_migrates(tmp_path, version):
    d = enmond(tmp_path)
    load(d.db, version)
    d.start()
    try:
        assert daemon.wait_for(lambda: "enmond running" in d.log_text(), 20), d.log_text()
    finally:
        assert d.stop() == 0, d.log_text()
    db = sqlite3.connect(d.db)
    assert db.execute("PRAGMA user_version").fetchone()[0] == CURRENT
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert schema(db) == current_schema()
    # the config's devices keep their ids (upsert by key): the history stays theirs
    assert db.execute("SELECT id, key FROM devices ORDER BY id").fetchall() == [
        (1, "inv-a"), (2, "meter-7")]
    # rows preserved: 8 readings with their counters, 4 intervals (400 Wh out, 160 Wh in)
    assert db.execute("SELECT energy_export_wh FROM readings WHERE device_id = 1 "
                      "ORDER BY ts_ms").fetchall() == [(1000.0,), (1100.0,), (1250.0,), (1400.0,)]
    assert db.execute("SELECT count(*) FROM readings").fetchone()[0] == 8
    m1 = db.execute("SELECT m1_dc_power_w FROM readings WHERE device_id = 1 ORDER BY ts_ms")
    assert [r[0] for r in m1] == ([640.0, 641.0, 642.0, 643.0] if version >= 5 else [None] * 4)
    assert db.execute("SELECT device_id, start_s - 1782010800, wh_import, wh_export, samples "
                      "FROM intervals ORDER BY device_id, start_s").fetchall() == [
        (1, 0, 0.0, 250.0, 3), (1, 900, 0.0, 150.0, 1), (2, 0, 100.0, 0.0, 3),
        (2, 900, 60.0, 0.0, 1)]
    # daily: kept, or (version 1) built from intervals: 250 + 150 and 100 + 60 Wh on 21 June
    assert db.execute("SELECT device_id, day_s, wh_import, wh_export, samples FROM daily "
                      "ORDER BY device_id").fetchall() == [
        (1, DAY_S, 0.0, 400.0, 4), (2, DAY_S, 160.0, 0.0, 4)]
    assert db.execute("SELECT export_wh FROM counter_state WHERE device_id = 1").fetchone() == (
        1400.0,)
    # migration 4 marks an older file's 8 readings published; a newer file keeps its mark
    mark = db.execute("SELECT value FROM meta WHERE key = 'mqtt_published_rowid'").fetchone()[0]
    assert mark == (8 if version < 4 else 0)
    # (enmond closes meter-7's active alert at start: no welfare rule is configured here)
    alerts = db.execute("SELECT id, key, value, raised_ms - 1782011700000, clear_value, acked_by "
                        "FROM alerts ORDER BY id").fetchall()
    if version < 3:
        assert alerts == []
    else:  # a clear before schema 7 keeps value as it was; clear_value only from 7 on
        assert alerts == [(1, "inv-a/low_output", 12.5, -60000, 880.0 if version >= 7 else None,
                           "kim"),
                          (2, "meter-7/welfare_inactivity", 3.0, 0, None, None)]
    events = db.execute("SELECT site, end_s - start_s FROM dr_events").fetchall()
    assert events == ([("house-7", 3600)] if version >= 5 else [])
    # learned state: enmond restores it at start and saves it at shutdown (the fixture's row,
    # from version 6 on, is replaced); no device answers here, so a file without one has
    # nothing learned to save (a rule that has seen no reading has learned nothing)
    learned = db.execute("SELECT device_id, rule FROM alert_learned").fetchall()
    assert learned == ([(2, "abnormal_load")] if version >= 6 else [])
    db.close()
    # and the reports read it: 0.160 kWh in (meter-7), 0.400 kWh out (inv-a) on 21 June
    out = daemon.enmon("--db", d.db, "--tz", "+09:00", "report", "--from", "2026-06-21",
                       "--to", "2026-06-21", "--by", "device", "--format", "csv").stdout
    rows = {line.split(",")[0]: line.split(",") for line in out.splitlines()[1:]}
    assert rows["meter-7"][-2:] == ["0.160", "0.000"], out
    assert rows["inv-a"][-2:] == ["0.000", "0.400"], out


def kept(path):
    return [s for s in dump(path) if s.startswith(("CREATE", 'INSERT INTO "readings"',
                                                  'INSERT INTO "intervals"'))]


def test_migrating_again_changes_nothing(tmp_path):
    """Forward only: a migrated file is at the current version and a second start applies
    nothing (the schema and the history, readings and intervals, are the same afterwards;
    device_status and the learned state are rewritten by every run)."""
    d = enmond(tmp_path)
    load(d.db, VERSIONS[0])
    for run in (1, 2):
        d.start()
        assert daemon.wait_for(lambda: d.log_text().count("enmond running") == run, 20), (
            d.log_text())
        assert d.stop() == 0, d.log_text()
        if run == 1:
            first = kept(d.db)
    assert user_version(d.db) == CURRENT
    assert kept(d.db) == first


# A migration that fails midway: the file stays at its old version, unchanged. (2 -> 3 creates
# alerts and its index alerts_active, then alerts_time, which the file already has; 6 -> 7 adds
# clear_value, then clear_cause, which the file already has.)
FAILING = [
    (2, "CREATE INDEX alerts_time ON readings(ts_ms);", "index alerts_time already exists"),
    (6, "ALTER TABLE alerts ADD COLUMN clear_cause TEXT;", "duplicate column name: clear_cause"),
]


@pytest.mark.parametrize("version,conflict,reason", FAILING)
def test_a_failing_migration_leaves_the_file_unchanged(tmp_path, version, conflict, reason):
    d = enmond(tmp_path)
    load(d.db, version, conflict)
    before = dump(d.db)
    rc = run_until_exit(d)
    log = d.log_text()
    assert rc == 70, log  # EX_SOFTWARE: the store did not open
    assert "schema migration to version %d: %s" % (version + 1, reason) in log, log
    assert user_version(d.db) == version
    assert dump(d.db) == before  # nothing of the failed migration's first statements stayed


def test_a_newer_database_is_refused(tmp_path):
    d = enmond(tmp_path)
    load(d.db, VERSIONS[-1], "PRAGMA user_version=%d;" % (CURRENT + 1))
    before = dump(d.db)
    rc = run_until_exit(d)
    log = d.log_text()
    assert rc == 70, log  # EX_SOFTWARE: the store did not open
    assert ("database %s: database schema version %d is newer than this build's (%d)"
            % (d.db, CURRENT + 1, CURRENT)) in log, log
    assert user_version(d.db) == CURRENT + 1 and dump(d.db) == before
    # the CLI refuses it too, naming the file and both versions
    r = daemon.enmon("--db", d.db, "report", check=False)
    assert r.returncode == 66, r
    assert "%s: schema version %d is newer than this build's (%d)" % (
        d.db, CURRENT + 1, CURRENT) in r.stderr
