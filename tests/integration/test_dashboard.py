"""test_dashboard.py -- the live dashboard in headless Chromium (Debian's chromium, driven
through chromedriver's W3C WebDriver HTTP API with urllib): the production chart updates in
place, a fault injected into the simulated city shows up in the alert list, and a screenshot
is saved as a test artifact."""
import base64
import json
import os
import shutil
import subprocess
import time
import urllib.request

import pytest

import daemon
import dashlib
import harness

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"

ALERTS = "alerts:\n  comm_loss: {polls: 2, after: 5s}\n"


class WebDriver:
    """A chromedriver process and one headless Chromium session."""

    def __init__(self, tmpdir):
        self.port = harness.free_port()
        self.log = open(os.path.join(str(tmpdir), "chromedriver.log"), "ab")
        self.proc = subprocess.Popen([CHROMEDRIVER, "--port=%d" % self.port], stdout=self.log,
                                     stderr=subprocess.STDOUT)
        harness.wait_port(self.port, 15, self.proc)
        profile = os.path.join(str(tmpdir), "chromium-profile")
        # --remote-debugging-pipe: chromedriver talks to Chromium over a pipe, not over
        # ws://localhost:PORT. A minimal Debian root has no /etc/hosts, "localhost" does not
        # resolve there, and the DevTools socket session then fails with "unable to connect
        # to renderer" (HTTP 500 at POST /session).
        caps = {"capabilities": {"alwaysMatch": {
            "browserName": "chrome",
            "goog:chromeOptions": {"binary": CHROMIUM, "args": [
                "--headless", "--remote-debugging-pipe", "--no-sandbox", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update",
                "--disable-sync", "--disable-dev-shm-usage", "--window-size=1280,1000",
                "--user-data-dir=" + profile]}}}}
        self.session = self.call("POST", "/session", caps)["sessionId"]

    def call(self, method, path, body=None):
        data = json.dumps(body).encode() if body is not None else None
        req = urllib.request.Request("http://127.0.0.1:%d%s" % (self.port, path), data=data,
                                     method=method,
                                     headers={"Content-Type": "application/json"})
        with urllib.request.urlopen(req, timeout=60) as resp:
            return json.loads(resp.read())["value"]

    def cmd(self, method, path, body=None):
        return self.call(method, "/session/%s%s" % (self.session, path), body)

    def js(self, script, *args):
        return self.cmd("POST", "/execute/sync", {"script": script, "args": list(args)})

    def close(self):
        try:
            self.call("DELETE", "/session/" + self.session)
        finally:
            self.proc.terminate()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.log.close()


@pytest.fixture
def browser(tmp_path):
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip("chromium and chromium-driver are not installed (scripts/deps installs them)")
    wd = WebDriver(tmp_path)
    yield wd
    wd.close()


CHART = ("const c = document.getElementById('chart');"
         "return {points: +c.getAttribute('data-points'), frames: +(c.getAttribute('data-frames')"
         " || 0), lines: c.querySelectorAll('polyline').length,"
         " conn: document.getElementById('conn').getAttribute('data-state'),"
         " produced: document.getElementById('city-produced').textContent};")
ALERT_LIST = ("return Array.from(document.querySelectorAll('#alerts li[data-alert-id]'))"
              ".map(li => li.getAttribute('data-alert-id') + ' | ' + li.textContent);")
DEVICES = ("return Array.from(document.querySelectorAll('#devices tbody tr'))"
           ".map(tr => tr.getAttribute('data-device') + ':' + tr.getAttribute('data-availability'));")


def test_dashboard_live_chart_and_alert(tmp_path, mosquitto, sim_factory, browser):
    port = harness.free_port()
    sim = sim_factory(dashlib.sim_config(port), args=dashlib.clock(60))
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, dashlib.programs(port), extra=ALERTS,
                           args=dashlib.clock(60))
    d.start()
    try:
        browser.cmd("POST", "/url", {"url": d.url("/")})
        assert daemon.wait_for(lambda: browser.js(CHART)["frames"] >= 2, 15), browser.js(CHART)
        first = browser.js(CHART)
        assert daemon.wait_for(lambda: browser.js(CHART)["points"] >= first["points"] + 4, 15)
        later = browser.js(CHART)
        print("dashboard chart: %s -> %s" % (first, later))
        assert later["lines"] == 2 and later["conn"] == "live"
        assert later["produced"] == "1.5 kW", later
        assert daemon.wait_for(lambda: sorted(browser.js(DEVICES)) ==
                               ["inv:online", "meter:online"], 10), browser.js(DEVICES)
        assert browser.js(ALERT_LIST) == []

        sim.stop()  # the fault: the whole simulated city stops answering
        t0 = time.monotonic()
        assert daemon.wait_for(lambda: len(browser.js(ALERT_LIST)) == 2, 30), \
            (browser.js(ALERT_LIST), d.log_text())
        alerts = browser.js(ALERT_LIST)
        print("alert list after %.1f s: %s" % (time.monotonic() - t0, alerts))
        assert all("comm_loss" in a for a in alerts)
        assert daemon.wait_for(lambda: sorted(browser.js(DEVICES)) ==
                               ["inv:offline", "meter:offline"], 10), browser.js(DEVICES)
        savings = browser.js("return [document.getElementById('savings-today').textContent,"
                             " document.getElementById('savings-ytd').textContent];")
        assert all(s.endswith("KRW") for s in savings), savings
        png = base64.b64decode(browser.cmd("GET", "/screenshot"))
        assert png[:8] == b"\x89PNG\r\n\x1a\n"
        shot = tmp_path / "dashboard.png"
        shot.write_bytes(png)
        print("dashboard screenshot: %s (%d bytes)" % (shot, len(png)))
    finally:
        assert d.stop() == 0, d.log_text()
