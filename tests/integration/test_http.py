"""test_http.py -- enmond's HTTP server end to end: the REST API returns what the database
holds, /metrics parses as Prometheus text, bearer tokens, /api/live events, MQTT program
summaries and Home Assistant discovery, `enmon top`, and no external URL in the dashboard."""
import gzip
import json
import os
import re
import sqlite3
import subprocess
import time
import urllib.error
import urllib.request

import paho.mqtt.client as mqtt
import pytest

import daemon
import dashlib
import harness
from mqttwatch import Watch


@pytest.fixture
def city(tmp_path, mosquitto, sim_factory):
    """enmon-sim (fixed inverter, physics meter) and enmond with http, both on one June
    morning's clock at 60x speed."""
    port = harness.free_port()
    sim_factory(dashlib.sim_config(port), args=dashlib.clock(60))
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, dashlib.programs(port),
                           mqtt_extra="  summary_interval: 1s\n  ha_discovery: true\n",
                           args=dashlib.clock(60))
    d.mqtt_port = mosquitto.port
    d.start()
    try:
        assert daemon.wait_for(lambda: _polled(d), 15), d.log_text()
        yield d
    finally:
        assert d.stop() == 0, d.log_text()


def _polled(d):
    status, _, body = dashlib.get(d.url("/api/devices"))
    if status != 200:
        return False
    devs = json.loads(body)["devices"]
    return len(devs) == 2 and all(x["availability"] == "online" and
                                  "power_w" in x["last_reading"] for x in devs)


def _db(d):
    db = sqlite3.connect("file:%s?mode=ro" % d.db, uri=True)
    db.row_factory = sqlite3.Row
    return db


def _db_devices(d):
    with _db(d) as db:
        rows = db.execute(
            "SELECT d.key, s.online, s.last_ts_ms, r.power_w, r.energy_import_wh, "
            "r.energy_export_wh FROM devices d JOIN device_status s ON s.device_id = d.id "
            "JOIN readings r ON r.device_id = d.id AND r.ts_ms = s.last_ts_ms "
            "ORDER BY d.key").fetchall()
    out = {}
    for r in rows:
        last = {k: r[k] for k in ("power_w", "energy_import_wh", "energy_export_wh")
                if r[k] is not None}
        out[r["key"]] = {"availability": "online" if r["online"] else "offline",
                         "last_seen_ms": r["last_ts_ms"], "last_reading": last}
    return out


def _api_devices(d):
    return {x["id"]: {"availability": x["availability"], "last_seen_ms": x["last_seen_ms"],
                      "last_reading": x["last_reading"]}
            for x in dashlib.get_json(d.url("/api/devices"))["devices"]}


def _consistent(fetch_a, fetch_b, tries=20):
    """Both sides equal in one of several back-to-back reads (the writer keeps writing)."""
    a = b = None
    for _ in range(tries):
        a, b = fetch_a(), fetch_b()
        if a == b:
            return a
        time.sleep(0.1)
    assert a == b
    return a


def _db_program_energy(d):
    """Today's Wh per program (import, export) from the daily table, as enmon report does."""
    day = daemon.enmon("--db", d.db, "report", "--by", "program", "--format", "json",
                       check=False)
    with _db(d) as db:
        rows = db.execute(
            "SELECT p.key, COALESCE(SUM(y.wh_import), 0), COALESCE(SUM(y.wh_export), 0) "
            "FROM programs p LEFT JOIN devices d ON d.program_id = p.id "
            "LEFT JOIN daily y ON y.device_id = d.id AND y.day_s = "
            "(SELECT MAX(day_s) FROM daily) GROUP BY p.key ORDER BY p.key").fetchall()
    del day
    return {k: (round(i / 1000, 6), round(e / 1000, 6)) for k, i, e in rows}


def test_rest_api_returns_what_the_database_holds(city):
    d = city
    devs = _consistent(lambda: _api_devices(d), lambda: _db_devices(d))
    assert set(devs) == {"inv", "meter"}
    assert devs["inv"]["last_reading"]["power_w"] == 1500
    assert "energy_import_wh" not in devs["inv"]["last_reading"]  # absent, never 0

    one = dashlib.get_json(d.url("/api/devices/inv"))
    assert one["id"] == "inv" and one["program"] == "solar" and one["site"] == "roof"
    assert dashlib.get(d.url("/api/devices/nope"))[0] == 404
    assert dashlib.get(d.url("/api/nothing"))[0] == 404

    time.sleep(3)  # some meter energy in today's intervals
    def api_energy():
        return {p["id"]: (round(p["energy_today_import_kwh"], 6),
                          round(p["energy_today_export_kwh"], 6))
                for p in dashlib.get_json(d.url("/api/programs"))}
    energy = _consistent(api_energy, lambda: _db_program_energy(d))
    assert energy["ami"][0] > 0, energy
    programs = {p["id"]: p for p in dashlib.get_json(d.url("/api/programs"))}
    assert programs["solar"]["name"] == "Solar roofs" and programs["solar"]["kind"] == "solar"
    assert programs["solar"]["devices"] == 1 and programs["solar"]["online"] == 1
    assert programs["solar"]["power_w"] == 1500

    sites = {s["id"]: s for s in dashlib.get_json(d.url("/api/sites"))}
    assert set(sites) == {"roof", "house"} and sites["house"]["program"] == "ami"

    with _db(d) as db:
        db_active = [r[0] for r in db.execute(
            "SELECT key FROM alerts WHERE cleared_ms IS NULL ORDER BY key")]
    api_active = sorted(a["id"] for a in dashlib.get_json(d.url("/api/alerts")))
    assert api_active == db_active
    assert isinstance(dashlib.get_json(d.url("/api/alerts?all=1")), list)
    # acknowledging changes the record: refused on a server without a token (docs/HTTP.md)
    req = urllib.request.Request(d.url("/api/alerts/inv/inverter_fault/ack?by=kim"), data=b"",
                                 method="POST")
    try:
        urllib.request.urlopen(req, timeout=10)
        raise AssertionError("POST .../ack without a token was accepted")
    except urllib.error.HTTPError as err:
        assert err.code == 403, err.code
        assert json.loads(err.read()) == {"error": "acknowledging needs http.token_file"}

    status = dashlib.get_json(d.url("/api/status"))
    assert status["devices"] == 2 and status["poller"]["polls"] >= 2
    assert status["mqtt"]["connected"] is True and "queue_depth" in status["store"]

    sav = dashlib.get_json(d.url("/api/savings?from=2026-01-01&to=2026-01-31"))
    assert sav["from"] == "2026-01-01" and sav["to"] == "2026-01-31"
    assert "total" in sav and isinstance(sav["programs"], list)
    assert dashlib.get(d.url("/api/savings?from=junk"))[0] == 400
    assert "127.0.0.1:%d" % d.http_port in d.log_text()


def test_metrics_parse_as_prometheus_text(city):
    status, headers, body = dashlib.get(city.url("/metrics"))
    assert status == 200 and headers["Content-Type"].startswith("text/plain; version=0.0.4")
    fams = dashlib.parse_prometheus(body.decode("utf-8"))
    for name, typ in [("enmon_device_power_watts", "gauge"), ("enmon_device_up", "gauge"),
                      ("enmon_device_energy_import_joules_total", "counter"),
                      ("enmon_device_energy_export_joules_total", "counter"),
                      ("enmon_device_last_seen_timestamp_seconds", "gauge"),
                      ("enmon_build_info", "gauge"),
                      ("enmon_polls_total", "counter"), ("enmon_poll_failures_total", "counter"),
                      ("enmon_poll_lateness_p99_seconds", "gauge"),
                      ("enmon_queue_depth", "gauge"), ("enmon_readings_dropped_total", "counter"),
                      ("enmon_alerts_active", "gauge")]:
        assert fams[name]["type"] == typ and fams[name]["help"], name
    inv = (("device", "inv"), ("kind", "inverter"), ("program", "solar"), ("site", "roof"))
    assert fams["enmon_device_power_watts"]["samples"][inv] == 1500
    assert fams["enmon_device_up"]["samples"][inv] == 1
    # 120000 Wh x 3600 J/Wh = 432,000,000 J
    assert fams["enmon_device_energy_export_joules_total"]["samples"][inv] == 432000000
    # the inverter has no import counter: no series rather than a 0
    assert inv not in fams["enmon_device_energy_import_joules_total"]["samples"]
    # last seen: within the last minute of the simulated clock (60x: polls every few s)
    seen = fams["enmon_device_last_seen_timestamp_seconds"]["samples"][inv]
    assert abs(dashlib.get_json(city.url("/api/devices/inv"))["last_seen_ms"] / 1000 - seen) < 60
    (build,) = fams["enmon_build_info"]["samples"].items()
    assert build[1] == 1 and dict(build[0])["version"] and dict(build[0])["commit"]
    sinks = {dict(k)["sink"] for k in fams["enmon_queue_depth"]["samples"]}
    assert sinks == {"store", "mqtt"}
    assert fams["enmon_polls_total"]["samples"][()] >= 2
    # the example Grafana dashboard only queries metrics enmond exports
    with open(os.path.join(harness.source_dir(), "config", "grafana-dashboard.json")) as fh:
        grafana = json.load(fh)
    exprs = [t["expr"] for p in grafana["panels"] for t in p["targets"]]
    used = set(re.findall(r"enmon_[a-z0-9_]+", " ".join(exprs)))
    assert used and used <= set(fams), used - set(fams)


def test_prometheus_parser_is_strict():
    good = "# HELP a x\n# TYPE a gauge\na{l=\"q\\\"\\\\\\n\"} 1.5\n"
    assert dashlib.parse_prometheus(good)["a"]["samples"][(("l", "q\"\\\n"),)] == 1.5
    for bad in ["a 1\n",  # no TYPE
                "# TYPE a gauge\na 1\na 2\n",  # duplicate series
                "# TYPE a gauge\na{l=\"x\n",  # broken labels
                "# TYPE a gauge\na one\n",  # not a number
                "# TYPE a gauge\n# TYPE b gauge\nb 1\na 1\n",  # family split
                "# TYPE a counter\na -1\n"]:  # negative counter
        with pytest.raises(AssertionError):
            dashlib.parse_prometheus(bad)


def test_live_events_carry_summaries(city):
    events = dashlib.sse_events(city.url("/api/live"), 2)
    assert [e for e, _ in events] == ["summary", "summary"]
    first, second = (json.loads(x) for _, x in events)
    assert second["ts_ms"] > first["ts_ms"]
    # the first frame may predate the fixture's check; the second is newer
    assert second["city"]["devices"] == 2 and second["city"]["online"] == 2
    progs = {p["id"]: p for p in second["programs"]}
    assert progs["solar"]["produced_w"] == 1500 and progs["solar"]["consumed_w"] == 0
    assert {x["id"]: x["availability"] for x in second["devices"]} == {"inv": "online",
                                                                      "meter": "online"}


def test_dashboard_files_load_nothing_from_outside(city):
    for path in ("/", "/index.html", "/app.js", "/style.css"):
        status, headers, body = dashlib.get(city.url(path))
        assert status == 200, path
        text = body.decode("utf-8")
        assert not re.search(r"https?://", text), (path, re.search(r"https?://", text))
    assert dashlib.get(city.url("/../README.md"))[0] == 404
    assert dashlib.get(city.url("/enmon.db"))[0] == 404


def _summary_watch(port, topics):
    return Watch(port, topics=topics, client_id="dash-watch-%d" % time.monotonic_ns())


# Home Assistant's sensor rules for enmon's sensors: object -> (state key, device_class,
# unit or None, state_class)
HA_SENSORS = {
    "power": ("power_w", "power", "W", "measurement"),
    "energy_import": ("energy_import_wh", "energy", "kWh", "total_increasing"),
    "energy_export": ("energy_export_wh", "energy", "kWh", "total_increasing"),
    "voltage": ("voltage_v", "voltage", "V", "measurement"),
    "current": ("current_a", "current", "A", "measurement"),
    "frequency": ("frequency_hz", "frequency", "Hz", "measurement"),
    "power_factor": ("power_factor", "power_factor", None, "measurement"),
    "temperature": ("temperature_c", "temperature", "\u00b0C", "measurement"),
}


def _ha_configs(w, device):
    """The latest non-empty discovery config per sensor object of device."""
    prefix = "homeassistant/sensor/enmon_%s/" % device
    with w.lock:
        latest = {t: p for t, p, _ in w.messages if t.startswith(prefix)}
    return {t[len(prefix):-len("/config")]: json.loads(p) for t, p in latest.items() if p}


def _check_ha_device(w, device, state_topic, want):
    """The sensors announced for device are exactly want (object names), each valid by HA's
    rules, with default_entity_id and origin, and each has its key in the device's state:
    no sensor that would stay unavailable."""
    state = json.loads(w.last(state_topic))
    cfgs = _ha_configs(w, device)
    assert set(cfgs) == set(want), (device, sorted(cfgs), state)
    for obj, c in cfgs.items():
        key, dev_cla, unit, stat_cla = HA_SENSORS[obj]
        assert key in state, (device, obj, state)
        assert c["dev_cla"] == dev_cla and c["stat_cla"] == stat_cla, (obj, c)
        assert c.get("unit_of_meas") == unit, (obj, c)
        assert "obj_id" not in c and c["default_entity_id"] == "sensor.enmon_%s_%s" % (
            device, obj), c
        assert c["o"]["name"] == "enmon" and re.match(r"^\d+\.\d+\.\d+$", c["o"]["sw"]), c
        assert c["o"]["url"].startswith("https://"), c
        assert c["uniq_id"] == "enmon_%s_%s" % (device, obj)
    # every sensor enmon knows whose key the state carries is announced
    assert {o for o, v in HA_SENSORS.items() if v[0] in state} == set(cfgs), (device, state)
    return cfgs


def test_mqtt_summaries_and_home_assistant_discovery(city):
    d = city
    w = _summary_watch(d.mqtt_port, ("enmon/summary/#", "homeassistant/#", "enmon/device/#"))
    try:
        assert daemon.wait_for(lambda: w.last("enmon/summary/city"), 5)
        city_doc = json.loads(w.last("enmon/summary/city"))
        for key in ("power_w", "energy_today_wh", "devices", "online", "offline",
                    "alerts_active", "ts"):
            assert key in city_doc, key
        assert city_doc["devices"] == 2 and city_doc["offline"] == 0
        solar = json.loads(w.last("enmon/summary/solar"))
        assert solar["power_w"] == 1500 and solar["devices"] == 1
        assert json.loads(w.last("enmon/summary/ami"))["devices"] == 1
        late = _summary_watch(d.mqtt_port, ("enmon/summary/city",))
        try:  # a late subscriber gets the summary at once: it is retained
            assert daemon.wait_for(lambda: [m for m in late.messages if m[2]], 2)
        finally:
            late.close()

        # the inverter (SunSpec 103 + 160, fixed values): power, energy produced, voltage,
        # current, frequency, PF, temperature = 7; the household meter (SunSpec 201, no
        # export: its acc32 export counter reads 0, "not implemented"; no temperature point
        # in model 201): power, energy imported, voltage, current, frequency, PF = 6
        inv_want = ["power", "energy_export", "voltage", "current", "frequency",
                    "power_factor", "temperature"]
        meter_want = ["power", "energy_import", "voltage", "current", "frequency",
                      "power_factor"]
        cfg_topics = {"homeassistant/sensor/enmon_%s/%s/config" % (dev, o)
                      for dev, objs in (("inv", inv_want), ("meter", meter_want)) for o in objs}
        assert daemon.wait_for(lambda: all(w.last(t) for t in cfg_topics), 10), \
            sorted(t for t, _, _ in w.messages if t.startswith("homeassistant/"))
        assert daemon.wait_for(lambda: w.last("enmon/device/ami/house/meter/state") and
                               w.last("enmon/device/solar/roof/inv/state"), 5)
        inv = _check_ha_device(w, "inv", "enmon/device/solar/roof/inv/state", inv_want)
        meter = _check_ha_device(w, "meter", "enmon/device/ami/house/meter/state", meter_want)
        assert (len(inv), len(meter)) == (7, 6)
        assert "energy_export_wh" not in json.loads(w.last("enmon/device/ami/house/meter/state"))
        assert not w.last("homeassistant/sensor/enmon_meter/energy_export/config")
        assert meter["power_factor"].get("unit_of_meas") is None
        assert inv["temperature"]["unit_of_meas"] == "\u00b0C"
        # docs/MQTT.md's example is this config (its device block before the identity)
        with open(os.path.join(harness.source_dir(), "docs", "MQTT.md"), encoding="utf-8") as fh:
            doc = json.loads(fh.read().split("compares this example with the one enmond "
                                             "publishes):\n\n```json\n", 1)[1].split("```")[0])
        real = dict(inv["energy_export"])
        assert {k: v for k, v in doc["dev"].items() if k != "mdl"} == {
            k: real["dev"][k] for k in ("ids", "name", "sa")}
        doc.pop("dev"), real.pop("dev")
        assert doc == real, (doc, real)
        energy = json.loads(w.last("homeassistant/sensor/enmon_inv/energy_export/config"))
        assert energy["dev_cla"] == "energy" and energy["stat_cla"] == "total_increasing"
        assert energy["unit_of_meas"] == "kWh" and energy["uniq_id"] == "enmon_inv_energy_export"
        assert energy["~"] == "enmon/device/solar/roof/inv"
        assert {"t": "~/availability"} in energy["avty"]
        # the device block carries the SunSpec identity read at discovery (model 1)
        assert daemon.wait_for(lambda: json.loads(w.last(
            "homeassistant/sensor/enmon_inv/power/config"))["dev"].get("mf") == "enmon-sim", 5)
        dev = json.loads(w.last("homeassistant/sensor/enmon_inv/power/config"))["dev"]
        assert dev["mdl"].startswith("SIM-INV") and dev["sn"], dev

        # Home Assistant comes online: the configs are sent again, at most 5 s after the
        # last round started (docs/MQTT.md: rate limit)
        before = sum(1 for t, _, _ in w.messages if t in cfg_topics)
        pub = mqtt.Client(client_id="fake-home-assistant")
        pub.connect("127.0.0.1", d.mqtt_port)
        pub.loop_start()
        pub.publish("homeassistant/status", "online", qos=1).wait_for_publish()
        pub.loop_stop()
        pub.disconnect()
        assert daemon.wait_for(
            lambda: sum(1 for t, _, _ in w.messages if t in cfg_topics) >= before + 13, 15)
    finally:
        w.close()


def test_home_assistant_removes_sensors_the_device_lacks(tmp_path, mosquitto, sim_factory):
    """An older enmond announced "Energy exported" and "Temperature" for the household meter
    (retained on the broker): once the meter's readings show it implements neither, enmond
    publishes an empty retained config on each topic, which removes the entity; a late
    subscriber (Home Assistant restarting) finds only the 6 sensors the meter has."""
    stale = ["homeassistant/sensor/enmon_meter/%s/config" % o
             for o in ("energy_export", "temperature")]
    old = mqtt.Client(client_id="older-enmond")
    old.connect("127.0.0.1", mosquitto.port)
    old.loop_start()
    for t in stale:
        old.publish(t, json.dumps({"name": "stale", "stat_t": "x"}), qos=1,
                    retain=True).wait_for_publish()
    old.loop_stop()
    old.disconnect()
    port = harness.free_port()
    sim_factory(dashlib.sim_config(port), args=dashlib.clock(60))
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, dashlib.programs(port),
                           mqtt_extra="  ha_discovery: true\n", args=dashlib.clock(60))
    w = _summary_watch(mosquitto.port, ("homeassistant/sensor/enmon_meter/#",))
    try:
        # the stale configs are retained before enmond starts
        assert daemon.wait_for(lambda: all(w.last(t) for t in stale), 5)
        d.start()
        assert daemon.wait_for(lambda: all(w.last(t) == b"" for t in stale), 15), \
            [(t, p) for t, p, _ in w.messages]
    finally:
        w.close()
        assert d.stop() in (0, None)  # None: not started
    late = _summary_watch(mosquitto.port, ("homeassistant/sensor/enmon_meter/#",))
    try:
        time.sleep(1)
        retained = {t.split("/")[3] for t, p, r in late.messages if r and p}
        assert retained == {"power", "energy_import", "voltage", "current", "frequency",
                            "power_factor"}, retained
    finally:
        late.close()


def test_enmon_top_once_prints_the_summaries(city):
    d = city
    # on the fixture's clock (enmond's: started earlier, so the data are 0 s old for top)
    res = daemon.enmon("top", "--once", "-c", d.config, *dashlib.clock(60))
    lines = res.stdout.splitlines()
    # 3 x summary_interval 1s at 60 simulated seconds per second
    assert lines[0] == "enmond online, data 0 s old (stale after 3 min)", res.stdout
    assert any(re.match(r"^solar\s+.*\b1\.5\b", ln) for ln in lines), res.stdout
    assert any(ln.startswith("city") for ln in lines), res.stdout
    assert "\x1b[" not in res.stdout  # --once: plain text, no screen control


def sse_status(url, timeout=10):
    """(status, headers) of a GET on an event stream: the head only, then the socket closes."""
    req = urllib.request.Request(url)
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, dict(resp.headers)
    except urllib.error.HTTPError as err:
        return err.code, dict(err.headers)


def test_bearer_token(tmp_path, mosquitto, sim_factory):
    port = harness.free_port()
    sim_factory(dashlib.sim_config(port), args=dashlib.clock())
    token_file = tmp_path / "token"
    token_file.write_text("s3cret-token\n")
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, dashlib.programs(port),
                           http_extra="  token_file: %s\n" % token_file, args=dashlib.clock())
    d.start()
    try:
        for path in ("/api/programs", "/metrics", "/api/live"):
            assert dashlib.get(d.url(path))[0] == 401, path
            assert dashlib.get(d.url(path), token="s3cret-tokeN")[0] == 401, path
            assert dashlib.get(d.url(path), token="s3cret-toke")[0] == 401, path
        assert dashlib.get(d.url("/api/programs"), token="s3cret-token")[0] == 200
        # ?access_token= only on /api/live (EventSource cannot send headers), never logged
        for path in ("/api/programs", "/metrics", "/api/savings"):
            assert dashlib.get(d.url(path + "?access_token=s3cret-token"))[0] == 401, path
        status, _ = sse_status(d.url("/api/live?access_token=s3cret-token"))
        assert status == 200
        assert sse_status(d.url("/api/live?access_token=wrong"))[0] == 401
        status, headers, _ = dashlib.get(d.url("/api/status"))
        assert status == 401 and headers["WWW-Authenticate"].startswith("Bearer")
        assert dashlib.get(d.url("/"))[0] == 200  # the page itself holds no data
    finally:
        assert d.stop() == 0, d.log_text()
    assert "s3cret" not in d.log_text()


def test_http_off_and_bad_listen(tmp_path, mosquitto, sim_factory):
    port = harness.free_port()
    sim_factory(dashlib.sim_config(port), args=dashlib.clock())
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, dashlib.programs(port), args=dashlib.clock())
    with open(d.config, encoding="utf-8") as fh:
        text = fh.read()
    with open(d.config, "w", encoding="utf-8") as fh:
        fh.write(text.replace("  port: %d\n  web_root" % d.http_port, "  port: 0\n  web_root"))
    daemon.Enmond.start(d)
    try:
        time.sleep(2)
        assert d.proc.poll() is None
        assert not harness.port_open(d.http_port)
    finally:
        assert d.stop() == 0, d.log_text()
    res = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", d.config],
                         capture_output=True, text=True)
    assert res.returncode == 0, res.stderr
    with open(d.config, "w", encoding="utf-8") as fh:
        fh.write(text.replace("  port: %d\n" % d.http_port, "  port: 70000\n"))
    res = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", d.config],
                         capture_output=True, text=True)
    assert res.returncode == 78 and "http.port" in res.stderr, res.stderr


def _gzip_get(url, encoding="gzip"):
    """(status, headers, raw body) of a GET sending Accept-Encoding (urllib sends none)."""
    return dashlib.get(url, headers={"Accept-Encoding": encoding})


def _stable(fams):
    """The series of /metrics that cannot move between two scrapes of the fixed inverter:
    its power and export counter and every device's up flag; plus every family's name."""
    inv = (("device", "inv"), ("kind", "inverter"), ("program", "solar"), ("site", "roof"))
    return (sorted(fams), fams["enmon_device_power_watts"]["samples"][inv],
            fams["enmon_device_energy_export_joules_total"]["samples"][inv],
            sorted(fams["enmon_device_up"]["samples"].items()))


def test_metrics_gzip(city):
    """Accept-Encoding: gzip gives the same exposition, compressed; q=0 or none: plain."""
    status, headers, raw = _gzip_get(city.url("/metrics"), "deflate, gzip")
    assert status == 200 and headers.get("Content-Encoding") == "gzip", headers
    assert headers["Vary"] == "Accept-Encoding"
    assert int(headers["Content-Length"]) == len(raw) and raw[:2] == b"\x1f\x8b"
    zipped = gzip.decompress(raw).decode("utf-8")
    status, headers, plain = dashlib.get(city.url("/metrics"))
    assert status == 200 and "Content-Encoding" not in headers
    plain = plain.decode("utf-8")
    assert len(raw) < len(plain)
    fz, fp = dashlib.parse_prometheus(zipped), dashlib.parse_prometheus(plain)
    assert _stable(fz) == _stable(fp)
    # the lines that do not depend on time (HELP, TYPE, the fixed inverter's) are identical
    fixed = [l for l in plain.splitlines() if l.startswith("#") or 'device="inv"' in l]
    assert [l for l in zipped.splitlines() if l in fixed] == fixed
    status, headers, body = _gzip_get(city.url("/metrics"), "gzip;q=0, identity")
    assert "Content-Encoding" not in headers and body.startswith(b"# HELP")
    # the JSON API too, once a reply is worth compressing (>= 1 KiB)
    status, headers, raw = _gzip_get(city.url("/api/programs"))
    body = gzip.decompress(raw) if headers.get("Content-Encoding") == "gzip" else raw
    assert len(body) >= 1024 or "Content-Encoding" not in headers
    assert {p["id"] for p in json.loads(body)} == {"solar", "ami"}


def test_metrics_per_program(tmp_path, mosquitto, sim_factory):
    """http.metrics_per_device: false: enmon_program_* series per program and kind, none per
    device; a value that is not a boolean is a config error naming the line."""
    port = harness.free_port()
    sim_factory(dashlib.sim_config(port), args=dashlib.clock())
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, dashlib.programs(port),
                           http_extra="  metrics_per_device: false\n", args=dashlib.clock())
    d.start()
    try:
        assert daemon.wait_for(lambda: _polled(d), 15), d.log_text()
        status, _, body = dashlib.get(d.url("/metrics"))
        assert status == 200
        fams = dashlib.parse_prometheus(body.decode("utf-8"))
        assert not [f for f in fams if f.startswith("enmon_device_")], sorted(fams)
        assert "device=" not in body.decode("utf-8")
        solar = (("kind", "inverter"), ("program", "solar"))
        ami = (("kind", "meter"), ("program", "ami"))
        samples = {f: fams[f]["samples"] for f in fams if f.startswith("enmon_program_")}
        # one device per program: its sums are its own values (the fixed inverter: 1500 W,
        # 120000 Wh exported); the meter has no inverter group and vice versa
        assert samples["enmon_program_devices"] == {solar: 1, ami: 1}
        assert samples["enmon_program_devices_up"] == {solar: 1, ami: 1}
        assert samples["enmon_program_devices_failing"] == {solar: 0, ami: 0}
        assert samples["enmon_program_devices_reporting"] == {solar: 1, ami: 1}
        assert samples["enmon_program_power_watts"][solar] == 1500
        assert samples["enmon_program_energy_export_joules_total"][solar] == 432000000  # 120 kWh
        assert solar not in samples["enmon_program_energy_import_joules_total"]  # absent, not 0
        assert fams["enmon_program_power_watts"]["type"] == "gauge"
        assert fams["enmon_program_energy_export_joules_total"]["type"] == "counter"
        assert fams["enmon_polls_total"]["samples"][()] >= 2
    finally:
        assert d.stop() == 0, d.log_text()
    with open(d.config, encoding="utf-8") as fh:
        text = fh.read()
    with open(d.config, "w", encoding="utf-8") as fh:
        fh.write(text.replace("metrics_per_device: false", "metrics_per_device: maybe"))
    res = subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", d.config],
                         capture_output=True, text=True)
    assert res.returncode == 78 and "http.metrics_per_device" in res.stderr, res.stderr
    line = text.splitlines().index("  metrics_per_device: false") + 1
    assert "%s:%d:" % (d.config, line) in res.stderr, res.stderr


def test_metrics_per_program_poll_counters(tmp_path, mosquitto, sim_factory):
    """enmon_program_polls_total and enmon_program_poll_failures_total per program and kind
    (http.metrics_per_device: false) follow the simulator's faults: the meter's unit id is
    dropped (it answers nothing) for a while, the inverter on the same port is not. The ami
    program's failures are then enmond's failed polls, every one (enmon_poll_failures_total
    once the meter answers again), the solar program's 0; the programs' polls add up to
    enmon_polls_total."""
    port = harness.free_port()
    sim = sim_factory(dashlib.sim_config(port), args=dashlib.clock())
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, dashlib.programs(port),
                           http_extra="  metrics_per_device: false\n", args=dashlib.clock())
    d.start()
    solar = (("kind", "inverter"), ("program", "solar"))
    ami = (("kind", "meter"), ("program", "ami"))

    def scrape():
        status, _, body = dashlib.get(d.url("/metrics"))
        assert status == 200
        return dashlib.parse_prometheus(body.decode("utf-8"))

    def series(fams, name):
        return fams[name]["samples"]

    try:
        assert daemon.wait_for(lambda: _polled(d), 15), d.log_text()
        fams = scrape()
        assert fams["enmon_program_polls_total"]["type"] == "counter"
        assert fams["enmon_program_poll_failures_total"]["type"] == "counter"
        assert series(fams, "enmon_program_poll_failures_total") == {solar: 0, ami: 0}
        sim.ctl("drop", "%d/2" % port)
        assert daemon.wait_for(
            lambda: series(scrape(), "enmon_program_poll_failures_total")[ami] >= 3, 30), \
            d.log_text()
        sim.ctl("clear", "drop", "%d/2" % port)
        assert daemon.wait_for(
            lambda: series(scrape(), "enmon_program_devices_up") == {solar: 1, ami: 1}, 60), \
            d.log_text()
        fams = scrape()
        polls = series(fams, "enmon_program_polls_total")
        fails = series(fams, "enmon_program_poll_failures_total")
        assert fails[solar] == 0
        assert fails[ami] >= 3
        # the meter answers again: no failure is added any more, so the count is exact
        assert fails[ami] == fams["enmon_poll_failures_total"]["samples"][()]
        assert polls[ami] > fails[ami] and polls[solar] > 0
        # the poller's total and the per-program sums are read a few microseconds apart,
        # with a poll a second per device: at most one poll of each in between
        assert abs(polls[solar] + polls[ami] - fams["enmon_polls_total"]["samples"][()]) <= 2
    finally:
        assert d.stop() == 0, d.log_text()
