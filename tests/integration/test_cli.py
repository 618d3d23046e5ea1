"""test_cli.py -- the enmon command line as a whole, for every command `enmon --help` lists:
global options before or after the command, --help on each command, --version on enmond,
enmon and enmon-sim, sysexits.h exit codes, and `enmon top`: enmond's status, the age of its
data, --once exiting 75 on stale data, 80 columns."""
import datetime
import os
import re
import subprocess

import pytest

import daemon
import dashlib
import harness

# sysexits.h
EX_OK, EX_USAGE, EX_UNAVAILABLE, EX_TEMPFAIL, EX_CONFIG = 0, 64, 69, 75, 78


def commands():
    """The command names of `enmon --help` ("commands:" up to the blank line)."""
    out = daemon.enmon("--help").stdout
    block = out.split("\ncommands:\n", 1)[1].split("\n\n", 1)[0]
    names = [ln.split()[0] for ln in block.splitlines()]
    assert len(names) >= 9 and "top" in names and "scan" in names, out
    return names


def project_version():
    with open(os.path.join(harness.source_dir(), "CMakeLists.txt"), encoding="utf-8") as fh:
        return re.search(r"project\(enmon VERSION ([0-9.]+)", fh.read()).group(1)


@pytest.fixture
def live(tmp_path, mosquitto, sim_factory):
    """enmon-sim and enmond (summaries every 2 s: stale after 6 s) on one simulated clock
    (speed 1)."""
    tl = harness.Timeline(datetime.datetime(2026, 6, 21, 11, 0, tzinfo=harness.KST))
    port = harness.free_port()
    sim_factory(dashlib.sim_config(port), args=tl.args())
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, dashlib.programs(port),
                           mqtt_extra="  summary_interval: 2s\n", args=tl.args())
    d.sim_port, d.timeline = port, tl
    d.start()
    try:
        assert daemon.wait_for(lambda: daemon.enmon("devices", "-c", d.config, check=False)
                               .stdout.count("online") == 2, 15), d.log_text()
        # and the first program summaries are out (retained)
        assert daemon.wait_for(lambda: daemon.enmon("top", "--once", "-c", d.config,
                                                    *now_args(d), check=False).returncode == 0,
                               15), d.log_text()
        yield d
    finally:
        assert d.stop() in (0, None), d.log_text()  # None: the test stopped it


def now_args(d, ahead_s=0):
    """--time/--speed for a CLI run: the timeline's instant now (plus ahead_s), rounded
    down to the second (Timeline.args() rounds up and moves the timeline on)."""
    s = d.timeline.now_ms() // 1000 + ahead_s
    return ["--time", datetime.datetime.fromtimestamp(s, harness.KST).isoformat(),
            "--speed", "%g" % d.timeline.speed]


def command_args(d, name, tmp_path, where):
    """A run of command name that reads the config (or, for scan, the sim's link)."""
    clock = now_args(d) if name == "top" else []
    return {
        "report": ["report"],
        "devices": ["devices"],
        "alerts": ["alerts", "--all"],
        "savings": ["savings", "--from", "2026-06-01", "--to", "2026-06-21"],
        "import": ["import", "intervals", os.path.join(str(tmp_path), "none.csv")],
        "dr": ["dr", "list"],
        "scan": ["scan", "tcp://127.0.0.1:%d" % d.sim_port, "--units", "1-2"],
        "backup": ["backup", os.path.join(str(tmp_path), "copy-%s.db" % where)],
        "top": ["top", "--once"] + clock,
    }[name]


def test_every_command_has_help(tmp_path):
    """enmon CMD --help (and -h, also with global options around it): its usage on stdout,
    exit 0, nothing run."""
    for name in commands():
        for argv in (["--help"], ["-h"], ["-c", "/nonexistent.yaml", "--help"],
                     ["--help", "--db", "/nonexistent.db"]):
            res = daemon.enmon(name, *argv, check=False)
            assert res.returncode == EX_OK, (name, argv, res)
            assert res.stdout.startswith("usage: enmon [GLOBAL] %s " % name), (name, res.stdout)
            # the command's own usage entry is there, and no other command's
            entries = re.findall(r"^  (?:enmon \[GLOBAL\] )?([a-z]+)[ \n]", res.stdout, re.M)
            assert entries and set(entries) == {name}, (name, entries, res.stdout)
            assert res.stderr == "", (name, res.stderr)


def test_global_options_before_or_after_every_command(live, tmp_path):
    d = live
    names = commands()
    for name in names:
        before = ["-c", d.config] + command_args(d, name, tmp_path, "before")
        args = command_args(d, name, tmp_path, "after")
        after = args[:1] + ["-c", d.config] + args[1:]
        end = command_args(d, name, tmp_path, "end") + ["--config=%s" % d.config]
        runs = [daemon.enmon(*argv, check=False) for argv in (before, after, end)]
        codes = {r.returncode for r in runs}
        assert len(codes) == 1, (name, [(r.returncode, r.stderr) for r in runs])
        if name == "import":  # the missing CSV (66), wherever -c goes: the config was read
            assert codes == {66} and "none.csv" in runs[1].stderr, (name, runs[1])
        else:
            assert codes == {EX_OK}, (name, [(r.returncode, r.stderr) for r in runs])
            assert all(r.stdout for r in runs), name
        if name in ("scan", "dr"):  # outputs that do not move with the clock
            assert runs[0].stdout == runs[1].stdout == runs[2].stdout, name
        # a config that does not exist: 78 naming it, before or after (scan reads none)
        bad = "/nonexistent/enmond.yaml"
        for argv in (["-c", bad] + args, args[:1] + ["-c", bad] + args[1:]):
            res = daemon.enmon(*argv, check=False)
            if name == "scan":
                assert res.returncode == EX_OK, res
            else:
                assert res.returncode == EX_CONFIG and bad in res.stderr, (name, argv, res)


def test_version_of_every_program():
    want = project_version()
    for prog in ("enmond", "enmon", "enmon-sim"):
        res = subprocess.run([daemon.bin_path(prog), "--version"], capture_output=True,
                             text=True, timeout=10)
        assert res.returncode == 0 and res.stdout == "%s %s\n" % (prog, want), (prog, res)


def test_usage_errors_exit_64():
    for name in commands():
        # --db: no config read (the commands that read one fail at 78 before parsing)
        res = daemon.enmon(name, "--db", "/nonexistent.db", "--no-such-option", check=False)
        assert res.returncode == EX_USAGE, (name, res)
        assert res.stderr.startswith("enmon: ") and res.stdout == "", (name, res)
        res = daemon.enmon(name, "-c", check=False)  # its value is missing
        assert res.returncode == EX_USAGE and "needs a value" in res.stderr, (name, res)
    for argv in ([], ["frobnicate"], ["--no-such-option", "report"]):
        assert daemon.enmon(*argv, check=False).returncode == EX_USAGE, argv


def test_top_broker_unavailable_exits_69():
    res = daemon.enmon("top", "--once", "--host", "127.0.0.1", "--port",
                       str(harness.free_port()), "--root", "enmon", check=False)
    assert res.returncode == EX_UNAVAILABLE and "cannot connect" in res.stderr, res


def top_lines(res):
    lines = res.stdout.splitlines()
    assert lines and all(len(ln) <= 80 for ln in lines), [len(ln) for ln in lines]
    return lines


def cli_doc():
    with open(os.path.join(harness.source_dir(), "docs", "CLI.md"), encoding="utf-8") as fh:
        return fh.read()


def test_exit_status_table_matches_help_and_header():
    doc = cli_doc()
    table = doc.split("## Exit status (sysexits.h)", 1)[1].split("\n## ", 1)[0]
    codes = {int(c) for c in re.findall(r"^\| (\d+) \|", table, re.M)}
    with open(os.path.join(harness.source_dir(), "src", "cli", "exitcode.h"),
              encoding="utf-8") as fh:
        header = {int(c) for c in re.findall(r"EX_[A-Z]+ = (\d+)", fh.read())}
    help_text = daemon.enmon("--help").stdout.split("exit status", 1)[1]
    in_help = {int(c) for c in re.findall(r"\b(\d+) [a-zA-Z]", help_text)}
    assert codes == header == in_help, (codes, header, in_help)


def test_top_status_age_and_stale(live):
    d = live
    # fresh: enmond online, the city summary at most one interval (2 s) old, and the limit
    # 3 x summary_interval = 6 s
    res = daemon.enmon("-c", d.config, "top", "--once", *now_args(d), check=False)
    assert res.returncode == EX_OK, res
    lines = top_lines(res)
    m = re.match(r"^enmond online, data (\d+) s old \(stale after 6 s\)$", lines[0])
    assert m and int(m.group(1)) <= 6, lines[0]
    assert lines[1].split() == ["PROGRAM", "KIND", "NET_kW", "PROD_kW", "CONS_kW", "TODAY_kWh",
                                "ON", "OFF", "ALRT"], lines[1]
    assert any(re.match(r"^solar\s+solar\s+1\.5\s", ln) for ln in lines), res.stdout
    assert any(ln.startswith("city ") for ln in lines), res.stdout
    # docs/CLI.md's example: the same status line form, header and solar row (the columns
    # up to CONS_kW: the fixed inverter's 1.5 kW)
    example = cli_doc().split("## `enmon top`", 1)[1].split("```\n")[3].splitlines()
    assert re.match(r"^enmond online, data \d+ s old \(stale after 6 s\)$", example[0])
    assert example[1] == lines[1], (example[1], lines[1])
    solar = [ln for ln in lines if ln.startswith("solar ")][0]
    assert [ln for ln in example if ln.startswith("solar ")][0][:46] == solar[:46], solar

    # a minute later on the same clock (as if enmond had stopped publishing): stale, 75
    res = daemon.enmon("top", "--once", "-c", d.config, *now_args(d, 60), check=False)
    assert res.returncode == EX_TEMPFAIL, res
    first = top_lines(res)[0]
    assert re.match(r"^enmond online, data (6\d|7\d) s old \(stale after 6 s\): STALE$",
                    first), first


def test_top_after_enmond_dies(live):
    d = live
    # killed: the broker sends enmond's will, "offline" (retained); its last summaries stay
    d.proc.kill()
    assert d.stop() == -9
    res = daemon.enmon("top", "--once", "-c", d.config, *now_args(d), check=False)
    assert res.returncode == EX_TEMPFAIL, res
    assert re.match(r"^enmond offline, data \d+ s old \(stale after 6 s\): STALE$",
                    top_lines(res)[0]), res.stdout


def test_top_after_enmond_stopped(live):
    d = live
    assert d.stop() == 0, d.log_text()
    # a clean stop says "offline" itself; the summaries stay retained, with their age
    res = daemon.enmon("top", "--once", "-c", d.config, *now_args(d), check=False)
    assert res.returncode == EX_TEMPFAIL, res
    assert re.match(r"^enmond offline, data \d+ s old \(stale after 6 s\): STALE$",
                    top_lines(res)[0]), res.stdout
    assert any(ln.startswith("city ") for ln in top_lines(res)), res.stdout


def test_top_without_summaries_exits_69(mosquitto):
    """A broker without enmond's summaries (none retained, none coming): 69 after 5 s."""
    res = daemon.enmon("top", "--once", "--host", "127.0.0.1", "--port", str(mosquitto.port),
                       "--root", "nobody", check=False)
    assert res.returncode == EX_UNAVAILABLE, res
    assert res.stderr.startswith("enmon: top: no summaries on nobody/summary/#"), res.stderr
