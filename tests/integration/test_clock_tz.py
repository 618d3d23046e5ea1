"""test_clock_tz.py -- the alert-rule and savings suites again with the machine's clock and zone
moved: TZ=America/New_York and libfaketime (Debian `faketime`) putting the wall clock at 00:30,
06:00 and 17:30 Korea time. Daylight, quiet hours, intervals and report days must come from the
simulated clock (--time, shared by enmon-sim and enmond) and the configured zone (Asia/Seoul),
never from the machine's clock or TZ. Each instant runs the inner tests in a child pytest whose
every process (mosquitto, enmon-sim, enmond, enmon) sees the faked clock.

Takes about 3 x 21 s (the alert-rule test dominates)."""
import datetime
import glob
import os
import subprocess
import sys
import time
import zoneinfo

import pytest

import harness

INNER = ["test_alert_rules.py::test_every_rule_raises_and_clears", "test_savings.py"]
KST = datetime.timezone(datetime.timedelta(hours=9))
ZONE = "America/New_York"


def libfaketime():
    found = sorted(glob.glob("/usr/lib/*/faketime/libfaketimeMT.so.1"))
    if not found:
        pytest.fail("libfaketime is not installed (Debian package faketime: run scripts/deps)")
    return found[0]


def faketime_spec(hour, minute):
    """FAKETIME's "@start" (each process's clock starts there) for 2026-06-21 hour:minute KST, written in ZONE's local time
    (libfaketime reads it in the process's TZ). Calendar arithmetic only: no clock read."""
    kst = datetime.datetime(2026, 6, 21, hour, minute, tzinfo=KST)
    return "@" + kst.astimezone(zoneinfo.ZoneInfo(ZONE)).strftime("%Y-%m-%d %H:%M:%S")


@pytest.mark.parametrize("hour,minute", [(0, 30), (6, 0), (17, 30)],
                         ids=["0030kst", "0600kst", "1730kst"])
def test_suites_under_shifted_clock_and_tz(hour, minute):
    here = os.path.dirname(os.path.abspath(__file__))
    env = dict(os.environ,
               ENMON_BUILD=harness.build_dir(), ENMON_SOURCE=harness.source_dir(),
               TZ=ZONE, LD_PRELOAD=libfaketime(), FAKETIME=faketime_spec(hour, minute),
               FAKETIME_NO_CACHE="1",
               # the sanitizer pass: libfaketime comes first in the preload list, ahead of the
               # ASan runtime; ASan's check of that order is the only thing that objects
               ASAN_OPTIONS=":".join(filter(None, [os.environ.get("ASAN_OPTIONS", ""),
                                                   "verify_asan_link_order=0"])))
    # (CLOCK_MONOTONIC is faked too, only shifted: with FAKETIME_DONT_FAKE_MONOTONIC
    # libfaketime 0.9.10 fails absolute monotonic sleeps with EINVAL)
    t0 = time.monotonic()
    res = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                          "-x"] + INNER, cwd=here, env=env, capture_output=True, text=True,
                         timeout=600)
    summary = res.stdout.strip().splitlines()[-1] if res.stdout.strip() else ""
    print("%02d:%02d KST under TZ=%s: %s (%.0f s)"
          % (hour, minute, ZONE, summary, time.monotonic() - t0))
    assert res.returncode == 0, res.stdout[-6000:] + res.stderr[-3000:]
    assert "skipped" not in summary and "deselected" not in summary, summary
