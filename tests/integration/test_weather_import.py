"""test_weather_import.py -- `enmon import weather` of KMA ASOS hourly CSV files (CP949 and
UTF-8) into the weather table: stored rows, missing hours, re-import, FILE:LINE errors that write
nothing, exit statuses, and the examples of docs/SAVINGS.md "Weather data"."""
import datetime
import os
import sqlite3
import subprocess

import pytest

import daemon
import harness

KST = datetime.timezone(datetime.timedelta(hours=9))
HEADER = "지점,지점명,일시,기온(°C),기온 QC플래그,강수량(mm)"


def utc_s(day, hour):
    """UTC epoch seconds of a KST date and hour (the file's 일시)."""
    return int(datetime.datetime(day.year, day.month, day.day, hour, tzinfo=KST).timestamp())


def doc_blocks(heading):
    """The ``` blocks of a docs/SAVINGS.md section, each a list of lines."""
    with open(os.path.join(harness.source_dir(), "docs", "SAVINGS.md"), encoding="utf-8") as fh:
        text = fh.read()
    section = text.split(heading, 1)[1].split("\n## ", 1)[0]
    return [block.strip("\n").splitlines() for block in section.split("```")[1::2]]


@pytest.fixture
def db(tmp_path, mosquitto):
    """An enmon database made by enmond (one meter, never polled: the port is closed)."""
    port = harness.free_port()
    programs = ("programs:\n  - id: led\n    kind: led-retrofit\n    sites:\n"
                "      - id: s1\n        devices:\n"
                "          - {id: m1, kind: meter, link: 'tcp://127.0.0.1:%d', unit: 1}\n" % port)
    d = daemon.Enmond(tmp_path, mosquitto.port, programs, interval="1s").start()

    def devices_written():
        try:
            with sqlite3.connect("file:%s?mode=ro" % d.db, uri=True) as conn:
                return conn.execute("SELECT COUNT(*) FROM devices").fetchone()[0] == 1
        except sqlite3.Error:
            return False
    ok = daemon.wait_for(devices_written, 20)
    assert d.stop() == 0
    assert ok, d.log_text()
    return d.db


def enmon(db_path, *args, check=True):
    return daemon.enmon("--db", db_path, *args, check=check)


def rows(db_path, station):
    with sqlite3.connect("file:%s?mode=ro" % db_path, uri=True) as conn:
        return conn.execute("SELECT ts_s, temp_c FROM weather WHERE station = ? ORDER BY ts_s",
                            (station,)).fetchall()


def test_import_cp949_and_utf8(tmp_path, db):
    # UTF-8 (as enmon-sim writes it): Daejeon, 2024-01-01 00:00 .. 05:00 KST; 02:00 empty,
    # 04:00 absent (a gap): 6 hours stored, 2 missing
    utf8 = tmp_path / "daejeon.csv"
    lines = [HEADER,
             "133,대전,2024-01-01 00:00,-3.2,,",
             "133,대전,2024-01-01 01:00,-3.6,,",
             "133,대전,2024-01-01 02:00,,9,",
             "133,대전,2024-01-01 03:00,-4.1,,",
             "133,대전,2024-01-01 05:00,-4.4,,0.1"]
    utf8.write_text("\n".join(lines) + "\n", encoding="utf-8")
    r = enmon(db, "import", "weather", str(utf8))
    assert r.stdout.splitlines() == [
        "imported 5 lines (UTF-8): 6 hours of 1 station(s), 2 hours missing",
        "station 133: 2024-01-01 00:00 .. 2024-01-01 05:00 KST, 6 hours, 2 missing "
        "(1 empty, 1 in gaps)"], r
    day = datetime.date(2024, 1, 1)
    assert utc_s(day, 0) == 1704034800  # 2023-12-31 15:00 UTC
    assert rows(db, 133) == [(utc_s(day, 0), -3.2), (utc_s(day, 1), -3.6), (utc_s(day, 2), None),
                             (utc_s(day, 3), -4.1), (utc_s(day, 4), None), (utc_s(day, 5), -4.4)]

    # CP949 (the portal's download) with CRLF: Seoul, two hours
    cp = tmp_path / "seoul.csv"
    cp.write_bytes(("\r\n".join([HEADER, "108,서울,2024-07-31 23:00,27.5,,",
                                 "108,서울,2024-08-01 00:00,27.1,,"]) + "\r\n").encode("cp949"))
    assert b"\xc1\xf6\xc1\xa1" in cp.read_bytes()  # 지점 in CP949
    r = enmon(db, "import", "weather", str(cp))
    assert r.stdout.splitlines()[0] == \
        "imported 2 lines (CP949): 2 hours of 1 station(s), 0 hours missing", r
    assert rows(db, 108) == [(utc_s(datetime.date(2024, 7, 31), 23), 27.5),
                             (utc_s(datetime.date(2024, 8, 1), 0), 27.1)]

    # re-import: the same hours are replaced, nothing is added; a BOM is accepted
    lines[2] = "133,대전,2024-01-01 01:00,-3.0,,"
    utf8.write_bytes(b"\xef\xbb\xbf" + ("\n".join(lines) + "\n").encode("utf-8"))
    r = enmon(db, "import", "weather", str(utf8))
    assert r.stdout.startswith("imported 5 lines (UTF-8 with BOM): 6 hours"), r
    got = rows(db, 133)
    assert len(got) == 6 and got[1] == (utc_s(day, 1), -3.0)


def test_errors_name_file_and_line(tmp_path, db):
    good = tmp_path / "good.csv"
    good.write_text(HEADER + "\n133,대전,2024-01-01 00:00,1.0,,\n", encoding="utf-8")
    enmon(db, "import", "weather", str(good))

    # one bad date and one bad number: both reported, nothing written
    bad = tmp_path / "bad.csv"
    bad.write_text("\n".join([HEADER,
                              "133,대전,2024-01-02 00:00,5.0,,",
                              "133,대전,2024-02-30 01:00,5.0,,",
                              "133,대전,2024-01-02 02:00,warm,,"]) + "\n", encoding="utf-8")
    r = enmon(db, "import", "weather", str(bad), check=False)
    assert r.returncode == 65, r
    assert r.stderr.splitlines() == [
        "%s:3: 일시: not a real date and time, not '2024-02-30 01:00'" % bad,
        "%s:4: 기온(°C): 'warm' is not a temperature in -90..60 C" % bad,
        "enmon: import: %s: 2 bad lines; nothing imported" % bad], r
    assert rows(db, 133) == [(utc_s(datetime.date(2024, 1, 1), 0), 1.0)]

    # a file without the required columns: line 1
    other = tmp_path / "other.csv"
    other.write_text("station,time,temp\n133,2024-01-01 00:00,1\n", encoding="utf-8")
    r = enmon(db, "import", "weather", str(other), check=False)
    assert r.returncode == 65, r
    assert r.stderr.startswith("%s:1: header: needs the columns 지점, 일시 and 기온(°C)" % other)

    # bytes that are neither UTF-8 nor CP949
    junk = tmp_path / "junk.csv"
    junk.write_bytes(HEADER.encode("cp949") + b"\n133,\xff\xff,2024-01-01 00:00,1\n")
    r = enmon(db, "import", "weather", str(junk), check=False)
    assert r.returncode == 65, r
    assert "%s:2: encoding: neither UTF-8 nor CP949" % junk in r.stderr
    assert rows(db, 133) == [(utc_s(datetime.date(2024, 1, 1), 0), 1.0)]

    # exit statuses: no such file 66, no database 66, usage 64
    r = enmon(db, "import", "weather", str(tmp_path / "none.csv"), check=False)
    assert r.returncode == 66, r
    r = enmon(str(tmp_path / "none.db"), "import", "weather", str(good), check=False)
    assert r.returncode == 66, r
    assert "no such file" in r.stderr
    r = enmon(db, "import", "weather", check=False)
    assert r.returncode == 64, r


def test_doc_example(tmp_path, db):
    """The file and the output of docs/SAVINGS.md "Weather data" are what enmon does."""
    blocks = doc_blocks("## Weather data")
    example, output = blocks[0], blocks[1]
    path = tmp_path / "OBS_ASOS_TIM.csv"
    path.write_bytes(("\r\n".join(example) + "\r\n").encode("cp949"))
    assert output[0] == "$ enmon import weather OBS_ASOS_TIM.csv"
    r = enmon(db, "import", "weather", str(path))
    assert r.stdout.splitlines() == output[1:], r

    # the savings.yaml example is accepted; a station 0 is refused with file, line and field
    yaml_lines = blocks[2][1:] if blocks[2][0] == "yaml" else blocks[2]
    sav = tmp_path / "savings.yaml"
    sav.write_text("\n".join(yaml_lines) + "\n", encoding="utf-8")
    period = ("--from", "2024-01-01", "--to", "2024-01-02")
    r = enmon(db, "--tz", "+09:00", "savings", "--savings", str(sav), *period)
    assert r.returncode == 0, r
    sav.write_text("\n".join(yaml_lines).replace("weather_station: 133", "weather_station: 0")
                   + "\n", encoding="utf-8")
    r = enmon(db, "--tz", "+09:00", "savings", "--savings", str(sav), *period, check=False)
    assert r.returncode == 78, r
    assert r.stderr.strip() == \
        "enmon: %s:3: programs[0].weather_station: 0 is out of range (1..99999)" % sav, r


def test_simulator_weather_imports(tmp_path, db):
    """`enmon-sim weather` writes the format `enmon import weather` reads: 2 days, 48 hours."""
    out = tmp_path / "sim.csv"
    with open(out, "w", encoding="utf-8") as fh:
        subprocess.run([daemon.bin_path("enmon-sim"), "weather", "--from", "2024-01-01",
                        "--to", "2024-01-02"], stdout=fh, check=True, timeout=60)
    r = enmon(db, "import", "weather", str(out))
    assert r.stdout.splitlines()[0] == \
        "imported 48 lines (UTF-8): 48 hours of 1 station(s), 0 hours missing", r
    assert len(rows(db, 133)) == 48
