"""test_dashboard_browser.py -- the dashboard's pages in headless Chromium (selenium) against the
full city (tools/citygen.py: 11,000+ devices, enmon-sim and enmond on one simulated clock, a bearer
token): overview, program, site, device and alerts pages at 1400x1000 and 390x844 (screenshots),
their content against the REST API, a ground fault acknowledged through the page, the savings
interval, no horizontal overflow on a phone, stale data after enmond stops, nothing loaded from
outside, no 404; and the time until a program page of the full city is ready (printed, < 1 s)."""
import datetime
import json
import os
import shutil
import socket
import subprocess
import sys
import time

import pytest
import yaml

import daemon
import dashlib
import harness

webdriver = pytest.importorskip("selenium.webdriver")
from selenium.webdriver.chrome.service import Service  # noqa: E402
from selenium.webdriver.common.by import By  # noqa: E402

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
CHROMEDRIVER = shutil.which("chromedriver") or "/usr/bin/chromedriver"
TOKEN = "browser-test-token-4711"
GATEWAYS = 67  # citygen's simulated gateways, one port each
SIZES = {"wide": (1400, 1000), "phone": (390, 844), "narrow": (360, 740)}


def free_port_range(n):
    """The first of n consecutive free 127.0.0.1 ports (citygen numbers its gateways so)."""
    for base in range(21000, 60000 - n, 97):
        socks = []
        try:
            for i in range(n):
                s = socket.socket()
                socks.append(s)
                s.bind(("127.0.0.1", base + i))
            return base
        except OSError:
            continue
        finally:
            for s in socks:
                s.close()
    raise RuntimeError("no %d consecutive free ports" % n)


class City:
    """citygen's city with an http: section (token, the source tree's web/), enmon-sim and enmond."""

    def __init__(self, tmp_path, mqtt_port):
        self.dir = str(tmp_path)
        base = free_port_range(GATEWAYS)
        subprocess.run([sys.executable, os.path.join(harness.source_dir(), "tools", "citygen.py"),
                        "--outdir", self.dir, "--port-base", str(base), "--mqtt-port", str(mqtt_port),
                        "--db", os.path.join(self.dir, "enmon.db")], check=True)
        self.http_port = harness.free_port()
        with open(os.path.join(self.dir, "token"), "w", encoding="utf-8") as fh:
            fh.write(TOKEN + "\n")
        self.config = os.path.join(self.dir, "enmond.yaml")
        with open(self.config, "a", encoding="utf-8") as fh:
            fh.write("\nhttp:\n  port: %d\n  web_root: %s\n  token_file: %s\n"
                     % (self.http_port, os.path.join(harness.source_dir(), "web"),
                        os.path.join(self.dir, "token")))
        with open(self.config, encoding="utf-8") as fh:
            self.doc = yaml.safe_load(fh)
        self.clock = harness.Timeline(datetime.datetime(2026, 6, 21, 11, 0, tzinfo=harness.KST))
        with open(os.path.join(self.dir, "sim.yaml"), encoding="utf-8") as fh:
            self.sim = harness.Sim(self.dir, fh.read(), args=self.clock.args())
        self.proc = None

    def start(self):
        self.sim.start(timeout=60)
        self.log = open(os.path.join(self.dir, "enmond.log"), "ab")
        self.proc = subprocess.Popen([os.path.join(harness.build_dir(), "src", "enmond"), "-c", self.config]
                                     + self.clock.args(), stdout=self.log, stderr=subprocess.STDOUT)
        harness.wait_port(self.http_port, 60, self.proc)

    def stop_enmond(self):
        if self.proc is None:
            return None
        self.proc.terminate()
        try:
            rc = self.proc.wait(120)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            rc = self.proc.wait()
        self.proc = None
        self.log.close()
        return rc

    def log_text(self):
        with open(os.path.join(self.dir, "enmond.log"), encoding="utf-8", errors="replace") as fh:
            return fh.read()

    def url(self, path):
        return "http://127.0.0.1:%d%s" % (self.http_port, path)

    def api(self, path):
        status, _, body = dashlib.get(self.url(path), TOKEN, timeout=60)
        return status, (json.loads(body) if body else None)

    def inverter(self, program):
        """The sim address PORT/UNIT of the program's first inverter."""
        prog = next(p for p in self.doc["programs"] if p["id"] == program)
        dev = prog["sites"][0]["devices"][0]
        return "%s/%d" % (dev["link"].rsplit(":", 1)[1], dev["unit"])


def browser(tmp_path):
    opts = webdriver.ChromeOptions()
    opts.binary_location = CHROMIUM
    for arg in ["--headless", "--no-sandbox", "--remote-debugging-pipe", "--disable-gpu", "--no-first-run",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--disable-dev-shm-usage", "--window-size=1400,1000",
                "--user-data-dir=" + os.path.join(str(tmp_path), "chromium-profile")]:
        opts.add_argument(arg)
    opts.set_capability("goog:loggingPrefs", {"performance": "ALL"})
    service = Service(executable_path=CHROMEDRIVER,
                      log_path=os.path.join(str(tmp_path), "chromedriver.log"))
    drv = webdriver.Chrome(options=opts, service=service)
    drv.set_script_timeout(30)
    return drv


def size(drv, name):
    """Sets the viewport (not the window) to SIZES[name]: a 390x844 phone is 390 CSS px wide."""
    w, h = SIZES[name]
    drv.execute_cdp_cmd("Emulation.setDeviceMetricsOverride",
                        {"width": w, "height": h, "deviceScaleFactor": 1, "mobile": name != "wide"})


def shoot(drv, tmp_path, name):
    paths = [os.path.join(str(tmp_path), name + ".png")]
    if os.environ.get("ENMON_ARTIFACTS"):
        os.makedirs(os.environ["ENMON_ARTIFACTS"], exist_ok=True)
        paths.append(os.path.join(os.environ["ENMON_ARTIFACTS"], "dashboard-" + name + ".png"))
    png = drv.get_screenshot_as_png()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    for p in paths:
        with open(p, "wb") as fh:
            fh.write(png)
    print("screenshot %s (%d bytes)" % (paths[-1], len(png)))


def both_sizes(drv, tmp_path, name, check=None):
    """Screenshots of the current page at both sizes; on the phone the page must not scroll
    sideways (tables scroll inside their own box), nor on the narrowest phone the layout is for
    (360 px, checked without a screenshot)."""
    drv.execute_script("if (document.activeElement) document.activeElement.blur(); window.scrollTo(0, 0);")
    for key in ("wide", "phone", "narrow"):
        size(drv, key)
        time.sleep(0.5)  # resize handlers redraw the charts after 200 ms
        widths = drv.execute_script("return [document.documentElement.scrollWidth, window.innerWidth,"
                                    " document.body.scrollWidth];")
        assert widths[0] <= widths[1] and widths[2] <= widths[1], (name, key, widths)
        if key == "narrow":
            continue
        if check:
            check(key)
        shoot(drv, tmp_path, "%s-%s" % (name, key))
    size(drv, "wide")


def text(drv, css):
    return drv.find_element(By.CSS_SELECTOR, css).text


def wait(pred, timeout, what):
    value = daemon.wait_for(pred, timeout, step=0.2)
    assert value, what() if callable(what) else what
    return value


def ready(drv, page, timeout=30):
    return wait(lambda: drv.execute_script(
        "const b = document.getElementById('page-' + arguments[0]);"
        "return b && !b.hidden && b.dataset.ready === '1' ? b.dataset : null;", page),
        timeout, lambda: "%s page not ready: %s" % (page, drv.execute_script(
            "const b = document.getElementById('page-' + arguments[0]);"
            "return [b.hidden, b.dataset.ready, location.hash,"
            " Array.from(b.querySelectorAll('[data-ready]')).map(x => x.id + '=' + x.dataset.ready),"
            " performance.getEntriesByType('resource').map(r => r.name + ' ' + Math.round(r.duration)),"
            " b.innerText.slice(0, 300)];", page)))


def settle(drv):
    """Waits until the page's savings request (asked for once a page is ready) has been answered,
    so that the next load's timing does not include enmond still computing it."""
    wait(lambda: drv.execute_script("return !state.savingsLoading && !!state.savings;"), 60, "savings")


def go(drv, hash_):
    drv.execute_script("location.hash = arguments[0];", hash_)


def network_problems(log, origin, before_token=False):
    """Requests to anywhere but enmond, and error replies, in a Chromium performance log. Allowed:
    401 from /api/ before the token was entered; 404 from /api/history on an enmond without it."""
    bad = []
    for entry in log:
        msg = json.loads(entry["message"])["message"]
        if msg["method"] == "Network.requestWillBeSent":
            u = msg["params"]["request"]["url"]
            # the browser's own pages (chrome://, about:blank between loads) are not the page's
            if u.startswith(("http", "ws", "ftp")) and not u.startswith(origin + "/"):
                bad.append(("outside", u))
        elif msg["method"] == "Network.responseReceived":
            r = msg["params"]["response"]
            if r["status"] < 400:
                continue
            if before_token and r["status"] == 401 and r["url"].startswith(origin + "/api/"):
                continue
            if r["status"] == 404 and r["url"].startswith(origin + "/api/history"):
                continue
            bad.append((r["status"], r["url"]))
    return bad


@pytest.mark.long
def test_dashboard_pages_full_city(tmp_path, mosquitto):
    if not (os.access(CHROMIUM, os.X_OK) and os.access(CHROMEDRIVER, os.X_OK)):
        pytest.skip("chromium and chromium-driver are not installed (scripts/deps installs them)")
    city = City(tmp_path, mosquitto.port)
    city.start()
    drv = None
    try:
        drv = browser(tmp_path)
        base = city.url("/")
        drv.get(base + "#/")
        # the token, as a user enters it: kept in sessionStorage, never in an address
        drv.find_element(By.CSS_SELECTOR, "#access summary").click()
        drv.find_element(By.ID, "token").send_keys(TOKEN)
        drv.find_element(By.ID, "ack-name").send_keys("tester")
        drv.find_element(By.CSS_SELECTOR, "#access-form button").click()
        assert TOKEN not in drv.current_url
        early = drv.get_log("performance")  # the first load, before the page had the token
        wait(lambda: drv.execute_script("return document.getElementById('conn').dataset.state") == "live",
             60, lambda: city.log_text()[-2000:])

        # ---- overview: counts from the API ------------------------------------------------
        status, progs = city.api("/api/programs")
        assert status == 200
        total = sum(p["devices"] for p in progs)
        assert total > 11000, total  # the full city (11,251 devices when issue 18 was filed)
        wait(lambda: text(drv, "#city-online").endswith("/ %d" % total), 30, lambda: text(drv, "#city-online"))
        assert text(drv, "#city-name") == "%d programs · {:,} devices".format(total) % len(progs)
        rows = drv.execute_script("return Array.from(document.querySelectorAll('#programs tbody tr'))"
                                  ".map(tr => [tr.dataset.program, tr.cells[4].textContent]);")
        assert {r[0]: int(r[1].split("/")[1]) for r in rows} == {p["id"]: p["devices"] for p in progs}
        # the live chart: one band and one polyline per program, its own scale each
        wait(lambda: drv.execute_script("return +document.getElementById('chart').dataset.frames") >= 2, 15,
             "frames")
        assert drv.execute_script("return document.querySelectorAll('#chart polyline').length") == len(progs)
        ticks = drv.execute_script("return Array.from(document.querySelectorAll('#chart text.tick'))"
                                   ".map(t => t.textContent);")
        assert ticks and all(":" in t for t in ticks), ticks  # local clock times on the axis

        # savings tiles and panel: the figures and 90 % intervals of /api/savings
        # (the figures move as polls arrive: the panel is checked against the reply it rendered,
        # state.savings, and that reply's programs and methods against our own request)
        status, mine = city.api("/api/savings")
        assert status == 200
        wait(lambda: drv.execute_script("return document.querySelectorAll('#savings tbody tr').length")
             == len(mine["programs"]), 60, "savings panel")
        sav = drv.execute_script("return state.savings;")
        assert [(p["program"], p["method"]) for p in sav["programs"]] == \
            [(p["program"], p["method"]) for p in mine["programs"]]
        assert text(drv, "#savings-today").endswith("KRW")
        panel = drv.execute_script("return Object.fromEntries(Array.from(document.querySelectorAll("
                                   "'#savings tbody tr')).map(tr => [tr.dataset.program,"
                                   " [tr.cells[1].textContent, tr.cells[2].textContent,"
                                   " tr.cells[4].textContent]]));")
        with_interval = 0
        for p in sav["programs"]:
            method, data, interval = panel[p["program"]]
            assert method == (p["method"] or "–") and data == p["data"], (p, panel[p["program"]])
            if p.get("has_interval"):
                with_interval += 1
                assert interval == "%.1f … %.1f" % (p["saved_low_kwh"], p["saved_high_kwh"]), (p, interval)
            else:
                assert interval == "–"
        note = drv.execute_script("const n = document.getElementById('savings-defaults');"
                                  "return [n.hidden, n.textContent];")
        assert note[0] == (not sav.get("defaults_in_use")), (note, sav.get("defaults_in_use"))
        if sav["total"].get("has_interval"):
            assert text(drv, "#savings-today-note").startswith(
                "90 %%: %.1f … %.1f kWh" % (sav["total"]["saved_low_kwh"], sav["total"]["saved_high_kwh"]))
        print("savings panel: %d programs, %d with an interval, defaults_in_use %s"
              % (len(sav["programs"]), with_interval, sav.get("defaults_in_use")))
        # the city has no interval yet on its first simulated day (every program reports
        # has_interval false), so the rendering of one is checked with a reply written here:
        # 12.345 kWh saved, 90 % interval 10.04 .. 14.66, rounded to one decimal as shown
        made = {"from": "2026-06-21", "to": "2026-06-21", "defaults_in_use": True,
                "config_source": "built-in defaults",
                "programs": [{"program": "x", "kind": "solar", "devices": 1, "data": "ok",
                              "method": "weather", "actual_kwh": 50, "saved_kwh": 12.345, "krw": 1234.4,
                              "co2_kg": 5.7, "has_interval": True, "saved_low_kwh": 10.04,
                              "saved_high_kwh": 14.66}],
                "total": {"saved_kwh": 12.345, "krw": 1234.4, "has_interval": True,
                          "saved_low_kwh": 10.04, "saved_high_kwh": 14.66}}
        shown = drv.execute_script(
            "const real = state.savings; showSavings(arguments[0]);"
            "const out = [document.getElementById('savings-today').textContent,"
            " document.getElementById('savings-today-note').textContent,"
            " document.querySelector('#savings tr[data-program=\"x\"] td.interval').textContent,"
            " document.getElementById('savings-defaults').hidden];"
            "showSavings(real); return out;", made)
        assert shown[0] in ("12.3 kWh · 1,234 KRW", "12.3 kWh · 1234 KRW"), shown
        assert shown[1] == "90 %: 10.0 … 14.7 kWh · built-in defaults", shown
        assert shown[2] == "10.0 … 14.7" and shown[3] is False, shown
        both_sizes(drv, tmp_path, "overview")

        # ---- a ground fault on the first home inverter ---------------------------------------
        addr = city.inverter("solar-homes")
        city.sim.ctl("events", addr, "0x1")

        def raised():
            status, alerts = city.api("/api/alerts")
            return next((a for a in alerts if a["program"] == "solar-homes"
                         and a["id"].endswith("/inverter_event/GROUND_FAULT")), None)
        alert = wait(raised, 60, lambda: city.api("/api/alerts"))
        dev, alert_id = alert["device"], alert["id"]
        wait(lambda: drv.execute_script("return !!document.querySelector('#alerts li[data-alert-id=\"'"
                                        " + arguments[0] + '\"]')", alert_id), 60,
             lambda: text(drv, "#alerts"))

        # ---- program page: ready under 1 s on a fresh load, lists against the API -------------
        figures = []
        for _ in range(3):
            drv.get("about:blank")  # a fresh load each time (sessionStorage keeps the tab's token)
            drv.get(base + "#/program/solar-homes")
            info = ready(drv, "program")
            figures.append(int(info["readyAt"]))
            settle(drv)
        print("program page (solar-homes, full city) ready %s ms after navigation start; best %d ms"
              % (figures, min(figures)))
        # the program's savings panel: method, data sufficiency, interval, the defaults warning
        wait(lambda: drv.find_elements(By.CSS_SELECTOR, '#prog-savings dd[data-fact="Method"]'), 60,
             lambda: text(drv, "#prog-savings"))
        doc = drv.execute_script("return state.savings;")
        mine = next(p for p in doc["programs"] if p["program"] == "solar-homes")
        facts = drv.execute_script("return Object.fromEntries(Array.from(document.querySelectorAll("
                                   "'#prog-savings dd')).map(d => [d.dataset.fact, d.textContent]));")
        assert facts["Method"] == mine["method"] and facts["Data"] == mine["data"], (facts, mine)
        assert facts["90 % interval kWh"] == ("%.1f … %.1f" % (mine["saved_low_kwh"], mine["saved_high_kwh"])
                                              if mine.get("has_interval") else "none"), (facts, mine)
        warned = drv.find_elements(By.CSS_SELECTOR, "#prog-savings p.defaults")
        assert bool(warned) == bool(doc.get("defaults_in_use")), (warned, doc.get("defaults_in_use"))
        if warned:
            assert warned[0].text.startswith("Savings use enmon's built-in defaults"), warned[0].text
        print("solar-homes savings on its page: %s" % facts)
        ami_figures = []
        for _ in range(3):
            drv.get("about:blank")
            drv.get(base + "#/program/ami")
            ami_figures.append(int(ready(drv, "program")["readyAt"]))
            settle(drv)
        print("program page (ami, 10,000 devices) ready %s ms after navigation start; best %d ms"
              % (ami_figures, min(ami_figures)))
        print("  its requests (start, duration ms): %s" % drv.execute_script(
            "return performance.getEntriesByType('resource').map(r => r.name.replace(location.origin, '')"
            " + ' ' + Math.round(r.startTime) + ' ' + Math.round(r.duration));"))
        # best of three: the machine is shared, a single load may wait behind other work
        assert min(figures) < 1000 and min(ami_figures) < 1000, (figures, ami_figures)
        ami = next(p for p in progs if p["id"] == "ami")
        box = drv.execute_script("return document.getElementById('prog-devices').dataset.total")
        assert int(box) == ami["devices"], (box, ami)
        assert drv.execute_script("return document.querySelectorAll('#prog-devices tbody tr').length") == 50
        search = drv.find_element(By.CSS_SELECTOR, "#prog-devices input[type=search]")
        search.send_keys("ami-c01-w")
        wait(lambda: drv.execute_script("const b = document.getElementById('prog-devices');"
                                        "return b.dataset.ready === '1' && +b.dataset.total === 8;"), 15,
             lambda: drv.execute_script("return document.getElementById('prog-devices').dataset.total"))
        ids = drv.execute_script("return Array.from(document.querySelectorAll('#prog-devices tbody tr'))"
                                 ".map(tr => tr.dataset.device);")
        assert len(ids) == 8 and all(i.startswith("ami-c01-w") for i in ids), ids
        hist = drv.execute_script("return Object.assign({}, document.getElementById('prog-history').dataset)")
        status, hdoc = city.api("/api/history?level=program&id=ami&view=day")
        if status == 200:
            # intervals are written as the test runs: the bars are checked against the reply the
            # page drew, which covers the same period as ours and no more points than ours
            drawn = drv.execute_script("const s = document.querySelector('#prog-history svg');"
                                       "return [+s.dataset.bars, s.enmonDoc];")
            assert hist["ready"] == "1" and drawn[0] == len(drawn[1]["points"]), (hist, drawn[0])
            assert [drawn[1][k] for k in ("level", "id", "view", "from", "to", "bucket")] == \
                [hdoc[k] for k in ("level", "id", "view", "from", "to", "bucket")], (drawn[1], hdoc)
            assert len(drawn[1]["points"]) <= len(hdoc["points"]), (drawn[1], hdoc)
            for view in ("week", "month", "year"):  # the other views, and back one period
                drv.find_element(By.CSS_SELECTOR, '#prog-history button[data-view="%s"]' % view).click()
                wait(lambda: drv.execute_script("const h = document.getElementById('prog-history');"
                                                "return h.dataset.view === arguments[0] && h.dataset.ready === '1';",
                                                view), 15, view)
                status, vdoc = city.api("/api/history?level=program&id=ami&view=" + view)
                assert drv.execute_script("return document.querySelector('#prog-history svg').dataset.bucket") \
                    == vdoc["bucket"], (view, vdoc["bucket"])
            drv.find_element(By.CSS_SELECTOR, "#prog-history button.prev").click()
            wait(lambda: drv.execute_script("return document.querySelector('#prog-history svg').enmonDoc.to")
                 == "%d%s" % (int(vdoc["to"][:4]) - 1, vdoc["to"][4:]), 15,
                 lambda: ("previous year", vdoc["to"], drv.execute_script(
                     "return document.querySelector('#prog-history svg').enmonDoc.to")))
        else:  # an enmond without /api/history: the page says so
            assert "does not serve /api/history" in text(drv, "#prog-history"), text(drv, "#prog-history")
        print("program history: /api/history %d, page %s" % (status, hist))
        # 10,000 sites: listed when asked (/api/sites has no paging), then searched and paged here
        t0 = time.monotonic()
        drv.find_element(By.CSS_SELECTOR, "#prog-sites-details summary").click()
        wait(lambda: drv.execute_script("return document.getElementById('prog-sites').dataset.ready") == "1",
             30, "sites list")
        sites = int(drv.execute_script("return document.getElementById('prog-sites').dataset.total"))
        print("ami: %d sites listed in %.2f s, %s devices" % (sites, time.monotonic() - t0, box))
        status, api_sites = city.api("/api/sites?program=ami")
        api_sites = api_sites if isinstance(api_sites, list) else api_sites["sites"]
        assert sites == len([x for x in api_sites if x["program"] == "ami"]) == 10000, sites
        # a small program lists its sites at once; its site page lists the site's devices
        drv.get("about:blank")
        drv.get(base + "#/program/solar-homes")
        ready(drv, "program")
        site = drv.execute_script("return document.querySelector('#prog-sites tbody tr').dataset.site")
        drv.find_element(By.CSS_SELECTOR, '#prog-sites tr[data-site="%s"] a' % site).click()
        ready(drv, "site")
        status, sdevs = city.api("/api/devices?site=" + site)
        sdevs = sdevs if isinstance(sdevs, list) else sdevs["devices"]
        rows = drv.execute_script("return Array.from(document.querySelectorAll('#site-devices tbody tr'))"
                                  ".map(tr => tr.dataset.device);")
        assert rows == [x["id"] for x in sdevs if x["site"] == site] and rows, (rows, site)
        drv.get("about:blank")
        drv.get(base + "#/program/ami")
        ready(drv, "program")
        drv.execute_script("const i = document.getElementById('prog-devices').querySelector('input');"
                           " i.value = ''; i.dispatchEvent(new Event('input'));")
        wait(lambda: drv.execute_script("const b = document.getElementById('prog-devices');"
                                        "return b.dataset.ready === '1' && +b.dataset.total > 8;"), 15, "search cleared")
        both_sizes(drv, tmp_path, "program")

        # ---- device page: the latest reading and the alert ----------------------------------
        go(drv, "#/device/" + dev)
        ready(drv, "device")
        status, ddoc = city.api("/api/devices/" + dev)
        assert status == 200
        latest = drv.execute_script("return Object.fromEntries(Array.from(document.querySelectorAll("
                                    "'#dev-latest dd')).map(d => [d.dataset.key, d.textContent]));")
        # the reading moves every 5 s: the page is checked against the reply it rendered, and
        # that reply delivers the same values as ours
        shown_doc = drv.execute_script("return document.getElementById('page-device').enmonDevice;")
        reading = shown_doc.get("latest") or shown_doc.get("last_reading") or {}
        ours = ddoc.get("latest") or ddoc.get("last_reading") or {}
        assert sorted(reading) == sorted(ours), (reading, ours)
        assert "power_w" in reading and latest["power_w"] == "%s W" % reading["power_w"], (latest, reading)
        for key, unit in (("voltage_v", "V"), ("current_a", "A"), ("frequency_hz", "Hz"),
                          ("temperature_c", "°C")):
            if key in reading:
                assert latest[key] == "%s %s" % (reading[key], unit), (key, latest, reading)
        print("device page latest reading: %s" % latest)
        assert text(drv, "#dev-availability") == ddoc["availability"]
        if "alerts" in ddoc:
            assert any(a["id"] == alert_id for a in ddoc["alerts"])
        assert drv.find_elements(By.CSS_SELECTOR, '#dev-alerts li[data-alert-id="%s"]' % alert_id)
        both_sizes(drv, tmp_path, "device")

        # ---- alerts page: acknowledge through the page ----------------------------------------
        go(drv, "#/alerts")
        ready(drv, "alerts")
        row = '#alerts-active tr[data-alert-id="%s"]' % alert_id
        wait(lambda: drv.find_elements(By.CSS_SELECTOR, row), 15, "alert row")
        assert drv.find_element(By.CSS_SELECTOR, row).get_attribute("data-acked") == "0"
        drv.find_element(By.CSS_SELECTOR, row + " button.ack-button").click()
        wait(lambda: drv.execute_script("const r = document.querySelector(arguments[0]);"
                                        "return r && r.dataset.acked === '1';", row), 15,
             lambda: text(drv, "#alerts-active"))
        assert "acknowledged by tester" in text(drv, row + " td.ack")
        status, alerts = city.api("/api/alerts")
        mine = next(a for a in alerts if a["id"] == alert_id)
        assert mine["acked_by"] == "tester", mine
        hist_row = '#alerts-history tr[data-alert-id="%s"][data-acked="1"]' % alert_id
        assert drv.find_elements(By.CSS_SELECTOR, hist_row)
        def ack_in_view(key):  # on the phone too, without scrolling sideways
            r = drv.execute_script("const r = document.querySelector(arguments[0]).getBoundingClientRect();"
                                   "return [r.left, r.right, window.innerWidth];", row + " td.ack")
            assert 0 <= r[0] and r[1] <= r[2], (key, r)
        both_sizes(drv, tmp_path, "alerts", ack_in_view)
        # shown everywhere: the overview's list (from the next live frame) and the device page
        go(drv, "#/")
        wait(lambda: drv.execute_script("const li = document.querySelector('#alerts li[data-alert-id=\"'"
                                        " + arguments[0] + '\"]'); return li && li.dataset.acked === '1'"
                                        " && li.textContent.includes('acknowledged by tester');", alert_id),
             15, lambda: text(drv, "#alerts"))
        go(drv, "#/device/" + dev)
        ready(drv, "device")
        assert "acknowledged by tester" in text(drv, '#dev-alerts li[data-alert-id="%s"]' % alert_id)

        # ---- nothing from outside, no 404 (the favicon is an inline SVG) --------------------
        go(drv, "#/")
        assert drv.execute_script("return document.getElementById('favicon').href").startswith(
            "data:image/svg+xml,")
        bad = network_problems(early, city.url(""), before_token=True) + \
            network_problems(drv.get_log("performance"), city.url(""))
        assert not bad, bad

        # ---- stale: enmond stops, the page greys its values and says since when -------------
        assert city.stop_enmond() == 0, city.log_text()[-3000:]
        wait(lambda: drv.execute_script("return document.body.classList.contains('stale')"
                                        " && !document.getElementById('stale').hidden"), 20, "stale")
        banner = text(drv, "#stale")
        assert banner.startswith("Stale data: last update 2026-06-2"), banner
        color = drv.execute_script("return getComputedStyle(document.getElementById('city-online')).opacity")
        assert float(color) < 1, color
        shoot(drv, tmp_path, "overview-stale-wide")
    finally:
        if drv is not None:
            drv.quit()
        rc = city.stop_enmond()
        city.sim.stop(check=False)
        assert rc in (None, 0), city.log_text()[-3000:]
