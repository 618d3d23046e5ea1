"""conftest.py -- pytest fixtures shared by the integration tests (built on harness.py).

Before anything else it checks that every Python module and program the suite uses is
there, and when one is missing stops with the Debian package that provides it
(scripts/deps installs them all)."""
import importlib
import os
import shutil

import pytest

# Python module -> Debian package. Every module a test, helper or peer imports that is not
# in the standard library.
PY_MODULES = {
    "pytest": "python3-pytest",
    "yaml": "python3-yaml",
    "paho.mqtt.client": "python3-paho-mqtt",
    "pymodbus": "python3-pymodbus",
    "pymodbus.client": "python3-pymodbus",
    "pymodbus.server": "python3-pymodbus",
    "serial": "python3-serial",
    "serial_asyncio": "python3-serial-asyncio",
}

# Program -> Debian package: everything the suite executes besides our own binaries.
PROGRAMS = {
    "/usr/sbin/mosquitto": "mosquitto",
    "/usr/bin/mosquitto_passwd": "mosquitto",
    "mbpoll": "mbpoll",
    "socat": "socat",
    "ss": "iproute2",
    "openssl": "openssl",
    "systemd-analyze": "systemd",
    "faketime": "faketime",
    "chromium": "chromium",
    "chromedriver": "chromium-driver",
}


def missing_dependencies():
    """[(what, debian package)] for every module or program the suite needs and lacks."""
    missing = []
    for mod, pkg in PY_MODULES.items():
        try:
            importlib.import_module(mod)
        except ImportError as err:
            missing.append(("python module %s (%s)" % (mod, err), pkg))
    for prog, pkg in PROGRAMS.items():
        found = os.access(prog, os.X_OK) if prog.startswith("/") else shutil.which(prog)
        if not found:
            missing.append(("program %s" % prog, pkg))
    return missing


# Tests that mostly wait on real time (20 s or more each in the normal pass): marked `long`.
# scripts/test's sanitizer pass leaves them out (-m "not long"); the normal pass runs them all,
# and scripts/soak checks the same long paths under valgrind. The new network clients'
# outage tests (historian, webhook) stay in the sanitizer pass.
LONG = {
    "test_file_size_levels_off_over_100_days", "test_broker_outage_60s_and_kill_loses_nothing",
    "test_welfare_alert_fires_on_time_after_restart", "test_stalled_poll_loop_stops_watchdog_pings",
    "test_archive_keeps_every_reading_exact",
    "test_twenty_hostile_links_do_not_starve_healthy_devices",
    "test_suites_under_shifted_clock_and_tz", "test_full_disk_20s_mqtt_flows_nothing_lost",
    "test_cloudy_day_and_flapping", "test_cloud_over_four_peers_with_short_after",
    "test_locked_database_mqtt_flows_and_start_waits", "test_kill_9_twenty_times_under_load",
    "test_dashboard_live_chart_and_alert", "test_three_collectors_outage_and_sigkill_lose_nothing",
}


def pytest_collection_modifyitems(config, items):
    for item in items:
        if item.originalname in LONG or item.name in LONG:
            item.add_marker(pytest.mark.long)


def pytest_configure(config):
    config.addinivalue_line("markers", "long: waits on real time for 20 s or more (conftest.LONG)")
    missing = missing_dependencies()
    if missing:
        lines = ["  %-60s apt-get install %s" % (what, pkg) for what, pkg in missing]
        pkgs = sorted({pkg for _, pkg in missing})
        raise pytest.UsageError(
            "the integration suite needs what this machine lacks:\n%s\n"
            "run scripts/deps, or: apt-get install --no-install-recommends %s"
            % ("\n".join(lines), " ".join(pkgs)))


import harness  # noqa: E402  (after the check, which names what harness would fail on)


@pytest.fixture
def sim_factory(tmp_path):
    """Starts enmon-sim instances: sim_factory(config, args=(), seed=None, fixed=False,
    start=True) -> harness.Sim. Every instance is stopped in teardown, and one that
    was still running must exit 0 on SIGTERM."""
    sims = []

    def make(config, args=(), seed=None, fixed=False, start=True):
        sim = harness.Sim(tmp_path, config, args=args, seed=seed, fixed=fixed)
        sims.append(sim)
        if start:
            sim.start()
        return sim

    yield make
    codes = [(s.name, s.stop(check=False)) for s in sims]
    bad = [(name, rc) for name, rc in codes if rc not in (None, 0)]
    assert not bad, "enmon-sim did not exit cleanly: %s" % bad


@pytest.fixture
def mosquitto(tmp_path):
    """A running private mosquitto broker (see harness.Mosquitto); .port is its port."""
    broker = harness.Mosquitto(tmp_path).start()
    yield broker
    broker.stop()
