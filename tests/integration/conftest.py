"""conftest.py -- pytest fixtures shared by the integration tests (built on harness.py)."""
import pytest

import harness


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
