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


def pytest_configure(config):
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
