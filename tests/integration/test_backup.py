"""test_backup.py -- `enmon backup FILE` while enmond writes (a consistent copy, progress, integrity
checked), after it stopped (the same reports as the source), and the restore of docs/STORAGE.md."""
import datetime
import os
import re
import shutil
import sqlite3

import pytest

import daemon
import harness

# enmon-sim and every enmond run share one simulated clock: from noon in Korea, 10 times real speed
NOON = datetime.datetime(2026, 6, 21, 12, 0, tzinfo=harness.KST)
METERS = 20
JUNE_21_S = 1782010800 - 12 * 3600  # 2026-06-21 00:00 KST (15:00 UTC the day before)
MAY_1_S = JUNE_21_S - 51 * 86400    # 2026-05-01 00:00 KST
PROGRESS = re.compile(r"^enmon backup: (\d+)/(\d+) pages \((\d+)%\)$")


@pytest.fixture
def city(tmp_path, sim_factory):
    """20 household meters (simulated physics) on one port, polled every second by enmond;
    no MQTT broker (its outbox just waits)."""
    tl = harness.Timeline(NOON, speed=10)
    port = harness.free_port()
    sim_factory("devices:\n  - {port: %d, unit: 1, count: %d, kind: meter, phases: 1}\n"
                % (port, METERS), args=tl.args(), seed=5)
    programs = "programs:\n  - id: ami\n    kind: ami\n    sites:\n" + "".join(
        "      - id: house-%d\n        devices:\n          - {id: meter-%d, kind: meter,"
        " link: 'tcp://127.0.0.1:%d', unit: %d}\n" % (n, n, port, n)
        for n in range(1, METERS + 1))
    d = daemon.Enmond(tmp_path, harness.free_port(), programs, interval="1s", args=tl.args())
    yield d, tl
    d.stop()


def add_history(path):
    """May 2026 as imported interval history: 31 days x 96 intervals x 20 meters (59,520
    rows, a few MB: the backup then takes many steps), 25 + device_id Wh each, with their
    daily rollups (the store's formula for UTC+9)."""
    db = sqlite3.connect(path, timeout=10)
    with db:
        db.execute("WITH RECURSIVE t(s) AS (SELECT ?1 UNION ALL SELECT s + 900 FROM t "
                   "WHERE s + 900 < ?1 + 31 * 86400) "
                   "INSERT INTO intervals(device_id, start_s, wh_import, wh_export, samples) "
                   "SELECT d.id, t.s, 25 + d.id, 0, 0 FROM t, devices d", (MAY_1_S,))
        db.execute("INSERT INTO daily(device_id, day_s, wh_import, wh_export, samples) "
                   "SELECT device_id, ((start_s + 32400) / 86400) * 86400 - 32400 AS day, "
                   "sum(wh_import), sum(wh_export), sum(samples) FROM intervals "
                   "WHERE start_s < ? GROUP BY device_id, day", (JUNE_21_S,))
    db.close()


def max_rowid(path):
    db = sqlite3.connect(path, timeout=10)
    try:
        return db.execute("SELECT coalesce(max(rowid), 0) FROM readings").fetchone()[0]
    except sqlite3.OperationalError:  # enmond has not created the schema yet
        return 0
    finally:
        db.close()


def backup(db, target, *args):
    return daemon.enmon("--db", db, "backup", target, *args, check=False)


def progress(stderr):
    lines = [PROGRESS.match(line) for line in stderr.splitlines()]
    assert all(lines), stderr
    return [(int(m.group(1)), int(m.group(2)), int(m.group(3))) for m in lines]


def report(db, *args):
    r = daemon.enmon("--db", db, "--tz", "+09:00", "report", "--by", "device", "--format",
                     "csv", *args)
    return r.stdout


def consistent(path):
    """What holds in every committed state: per meter, June's intervals count each reading
    once (samples) and the day's rollup is the sum of its intervals."""
    db = sqlite3.connect(path)
    try:
        readings = dict(db.execute("SELECT device_id, count(*) FROM readings GROUP BY device_id"))
        samples = dict(db.execute("SELECT device_id, sum(samples) FROM intervals "
                                  "WHERE start_s >= ? GROUP BY device_id", (JUNE_21_S,)))
        per_day = db.execute("SELECT device_id, sum(wh_import), sum(samples) FROM intervals "
                             "WHERE start_s >= ? GROUP BY device_id ORDER BY device_id",
                             (JUNE_21_S,)).fetchall()
        daily = db.execute("SELECT device_id, wh_import, samples FROM daily WHERE day_s = ? "
                           "ORDER BY device_id", (JUNE_21_S,)).fetchall()
        return readings, samples, per_day, daily
    finally:
        db.close()


def test_backup_while_enmond_writes(city, tmp_path):
    d, tl = city
    d.start()
    assert daemon.wait_for(lambda: os.path.exists(d.db) and max_rowid(d.db) >= METERS, 20), (
        d.log_text())
    add_history(d.db)
    assert daemon.wait_for(lambda: max_rowid(d.db) >= 3 * METERS, 20), d.log_text()
    target = str(tmp_path / "copy.db")
    before = max_rowid(d.db)
    r = backup(d.db, target, "--pages", "2")  # 2 pages per step, 10 ms apart: over 1 s
    after = max_rowid(d.db)
    assert r.returncode == 0, r.stderr + d.log_text()
    assert d.proc.poll() is None, d.log_text()
    steps = progress(r.stderr)
    total = steps[-1][1]
    assert total > 200 and steps[-1] == (total, total, 100), steps
    assert [s[0] for s in steps] == sorted(s[0] for s in steps) and len(steps) >= 10, steps
    assert re.fullmatch(r"%s: \d+ pages of 4096 bytes, schema version \d+, integrity_check ok\n"
                        % re.escape(target), r.stdout), r.stdout
    assert not os.path.exists(target + ".tmp")
    assert oct(os.stat(target).st_mode & 0o777) == "0o640"
    # enmond went on writing while the copy was taken (its readings after the copy's last)
    copied = max_rowid(target)
    print("readings: %d before the backup, %d in the copy, %d after; %d steps"
          % (before, copied, after, len(steps)))
    assert before <= copied < after, (before, copied, after)
    # the copy is one committed state: each reading counted once, the rollup its intervals
    readings, samples, per_day, daily = consistent(target)
    assert len(readings) == METERS and readings == samples, (readings, samples)
    assert per_day == daily
    db = sqlite3.connect(target)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "delete"  # one self-contained file
    assert db.execute("SELECT count(*) FROM intervals WHERE start_s < ?",
                      (JUNE_21_S,)).fetchone()[0] == 31 * 96 * METERS
    db.close()
    assert report(target, "--from", "2026-05-01", "--to", "2026-05-31") == report(
        d.db, "--from", "2026-05-01", "--to", "2026-05-31")
    # an existing FILE is refused (exit 1, nothing written) unless --force
    r = backup(d.db, target)
    assert r.returncode == 73 and "copy.db exists (--force replaces it)" in r.stderr, r
    assert max_rowid(target) == copied
    assert d.stop() == 0, d.log_text()


def test_backup_after_stop_and_restore(city, tmp_path):
    d, tl = city
    d.start()
    assert daemon.wait_for(lambda: os.path.exists(d.db) and max_rowid(d.db) >= 3 * METERS, 20), (
        d.log_text())
    assert d.stop() == 0, d.log_text()
    add_history(d.db)
    target = str(tmp_path / "enmon-backup.db")
    r = backup(d.db, target)
    assert r.returncode == 0, r.stderr
    assert progress(r.stderr)[-1][2] == 100
    # the same database: every row, and so every report
    src, dst = sqlite3.connect(d.db), sqlite3.connect(target)
    assert list(dst.iterdump()) == list(src.iterdump())
    src.close()
    dst.close()
    for period in (("--from", "2026-05-01", "--to", "2026-05-31"),
                   ("--from", "2026-06-21", "--to", "2026-06-21")):
        assert report(target, *period) == report(d.db, *period)
    june = report(target, "--from", "2026-06-21", "--to", "2026-06-21")
    alerts = daemon.enmon("--db", target, "alerts", "--all", "--format", "json").stdout
    assert alerts == daemon.enmon("--db", d.db, "alerts", "--all", "--format", "json").stdout
    copied = max_rowid(target)
    # enmond runs on and writes more; then the file is lost and restored from the backup
    d.args = tl.args()
    d.start()
    assert daemon.wait_for(lambda: max_rowid(d.db) >= copied + 2 * METERS, 20), d.log_text()
    assert d.stop() == 0, d.log_text()
    assert max_rowid(d.db) > copied
    # restore (docs/STORAGE.md): enmond stopped, the old file and its -wal/-shm moved away,
    # the backup copied into place, enmond started
    for suffix in ("", "-wal", "-shm"):
        if os.path.exists(d.db + suffix):
            os.rename(d.db + suffix, d.db + ".broken" + suffix)
    shutil.copyfile(target, d.db)
    assert max_rowid(d.db) == copied
    assert report(d.db, "--from", "2026-06-21", "--to", "2026-06-21") == june
    d.args = tl.args()
    d.start()
    assert daemon.wait_for(lambda: max_rowid(d.db) >= copied + METERS, 20), d.log_text()
    assert d.stop() == 0, d.log_text()
    db = sqlite3.connect(d.db)
    assert db.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert db.execute("PRAGMA journal_mode").fetchone()[0] == "wal"  # enmond's own mode again
    db.close()
    readings, samples, per_day, daily = consistent(d.db)
    assert readings == samples and per_day == daily
    assert report(d.db, "--from", "2026-05-01", "--to", "2026-05-31") == report(
        target, "--from", "2026-05-01", "--to", "2026-05-31")


def test_backup_refuses_what_it_cannot_do(tmp_path):
    missing = str(tmp_path / "none.db")
    r = backup(missing, str(tmp_path / "x.db"))
    assert r.returncode == 66 and "none.db: no such file" in r.stderr, r
    plain = str(tmp_path / "plain.db")
    sqlite3.connect(plain).execute("CREATE TABLE t(x)").connection.close()
    r = backup(plain, str(tmp_path / "x.db"))
    assert r.returncode == 66 and "not an enmon database" in r.stderr, r
    assert not os.path.exists(str(tmp_path / "x.db"))
    for args in ((), ("a", "b"), ("x.db", "--pages", "0"), ("x.db", "--pages", "many")):
        r = daemon.enmon("--db", plain, "backup", *args, check=False)
        assert r.returncode == 64, (args, r)
    # options are checked before any config is read (none exists here)
    r = daemon.enmon("backup", check=False)
    assert r.returncode == 64 and "expected one FILE" in r.stderr, r
