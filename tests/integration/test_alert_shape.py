"""test_alert_shape.py -- one alert JSON everywhere: a ground fault injected into enmon-sim
(simulated clock) is acknowledged over REST with the token; MQTT (the retained message,
republished with the acknowledgement), GET /api/alerts, the /api/live SSE frame and
`enmon alerts --format json` then give the same document. An acknowledgement by
`enmon alerts ack` (another process) reaches MQTT too."""
import json
import time
import urllib.error
import urllib.request

import daemon
import dashlib
import harness
from mqttwatch import Watch

TOKEN = "shape-token"
GF = "inv/inverter_event/GROUND_FAULT"
OT = "inv/inverter_event/OVER_TEMP"
TOPIC = "enmon/alert/solar/roof/"


def post(url, token=None):
    """(status, JSON body) of a POST without a body."""
    req = urllib.request.Request(url, data=b"", method="POST")
    if token:
        req.add_header("Authorization", "Bearer " + token)
    try:
        with urllib.request.urlopen(req, timeout=10) as resp:
            return resp.status, json.loads(resp.read())
    except urllib.error.HTTPError as err:
        return err.code, json.loads(err.read())


def mqtt_doc(watch, key):
    p = watch.last(TOPIC + key)
    return json.loads(p) if p else None


def live_alerts(d, want, timeout=10):
    """The alerts of the first SSE frame in which want(alerts) holds."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for _, data in dashlib.sse_events(d.url("/api/live?access_token=" + TOKEN), 2):
            alerts = {a["id"]: a for a in json.loads(data)["alerts"]}
            if want(alerts):
                return alerts
    raise AssertionError("no SSE frame with the alerts wanted")


def test_one_alert_shape_everywhere(tmp_path, mosquitto, sim_factory):
    port = harness.free_port()
    sim = sim_factory(dashlib.sim_config(port), args=dashlib.clock())
    token_file = tmp_path / "token"
    token_file.write_text(TOKEN + "\n")
    d = dashlib.DashEnmond(tmp_path, mosquitto.port, dashlib.programs(port),
                           http_extra="  token_file: %s\n" % token_file, args=dashlib.clock())
    watch = Watch(mosquitto.port, topics=("enmon/alert/#",))
    try:
        d.start()
        time.sleep(2)
        sim.ctl("events", "%d/1" % port, hex(1 | 1 << 7))  # GROUND_FAULT and OVER_TEMP
        assert daemon.wait_for(lambda: mqtt_doc(watch, GF) and mqtt_doc(watch, OT), 15), \
            d.log_text()
        raised = mqtt_doc(watch, GF)
        # the raise: published before its row exists, not acknowledged
        assert raised["row"] is None and raised["acked_by"] is None and raised["acked"] is None
        assert raised["state"] == "active" and raised["cleared"] is None
        assert raised["program_name"] == "Solar roofs" and raised["device_name"] == "inv"

        def stored():
            status, _, body = dashlib.get(d.url("/api/alerts"), TOKEN)
            return status == 200 and {a["id"] for a in json.loads(body)} >= {GF, OT}
        assert daemon.wait_for(stored, 5), d.log_text()

        # acknowledging: the token is needed, NAME too; the first acknowledgement stands
        ack = d.url("/api/alerts/%s/ack?by=operator-kim" % GF)
        assert post(ack)[0] == 401
        assert post(d.url("/api/alerts/%s/ack" % GF), TOKEN)[0] == 400
        assert post(d.url("/api/alerts/nope/x/ack?by=kim"), TOKEN)[0] == 404
        status, acked = post(ack, TOKEN)
        assert status == 200, acked
        assert acked["id"] == GF and acked["acked_by"] == "operator-kim"
        assert isinstance(acked["row"], int) and acked["acked_ms"] > 0
        status, again = post(d.url("/api/alerts/%s/ack?by=someone-else" % GF), TOKEN)
        assert status == 409 and again["alert"]["acked_by"] == "operator-kim", again

        # MQTT: the retained message republished with the acknowledgement
        assert daemon.wait_for(lambda: (mqtt_doc(watch, GF) or {}).get("acked_by"), 5)
        late = Watch(mosquitto.port, topics=("enmon/alert/#",), client_id="late")
        assert daemon.wait_for(lambda: mqtt_doc(late, GF), 5)
        on_mqtt = mqtt_doc(late, GF)
        late.close()
        on_rest = {a["id"]: a for a in dashlib.get_json(d.url("/api/alerts"), TOKEN)}[GF]
        on_sse = live_alerts(d, lambda a: GF in a and a[GF]["acked_by"])[GF]
        cli = daemon.enmon("-c", d.config, "alerts", "--format", "json").stdout
        on_cli = {a["id"]: a for a in json.loads(cli)}[GF]

        docs = {"mqtt": on_mqtt, "rest": on_rest, "sse": on_sse, "cli": on_cli}
        keys = {name: list(doc) for name, doc in docs.items()}
        assert all(k == keys["rest"] for k in keys.values()), keys  # same keys, same order
        assert len(keys["rest"]) == 26
        for name, doc in docs.items():
            assert doc == on_rest, (name, doc, on_rest)
        # the acknowledgement, shown everywhere; the rest as raised
        assert on_rest["acked_by"] == "operator-kim" and on_rest["acked_ms"] == acked["acked_ms"]
        assert on_rest["acked"].endswith("Z") and on_rest["row"] == acked["row"]
        for k in ("first_seen_ms", "raised_ms", "device", "program", "site", "rule", "cause",
                  "severity", "value", "program_name", "site_name", "device_name"):
            assert on_rest[k] == raised[k], k

        # `enmon alerts ack` (another process): enmond republishes within a frame (2 s)
        assert daemon.enmon("-c", d.config, "alerts", "ack", OT, "--by", "operator-lee") \
            .returncode == 0
        assert daemon.wait_for(lambda: (mqtt_doc(watch, OT) or {}).get("acked_by"), 6), \
            d.log_text()
        ot = mqtt_doc(watch, OT)
        assert ot["acked_by"] == "operator-lee" and isinstance(ot["row"], int)
        ot_rest = {a["id"]: a for a in dashlib.get_json(d.url("/api/alerts"), TOKEN)}[OT]
        assert ot == ot_rest

        # a clear removes the retained message; it is not brought back
        sim.ctl("clear", "events", "%d/1" % port)
        assert daemon.wait_for(lambda: watch.last(TOPIC + GF) == b"", 15), d.log_text()
        time.sleep(2.5)  # a frame later: still cleared
        assert watch.last(TOPIC + GF) == b""
        history = {a["id"]: a for a in dashlib.get_json(d.url("/api/alerts?all=1"), TOKEN)}
        assert history[GF]["state"] == "cleared" and history[GF]["cleared_ms"] > 0
        assert history[GF]["acked_by"] == "operator-kim"
    finally:
        d.stop()
        watch.close()
