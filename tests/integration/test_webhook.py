"""test_webhook.py -- alert webhooks end to end: a local HTTPS receiver (Python http.server
with a self-signed certificate made by the openssl CLI, the only CA enmond trusts) is down for
60 s while alerts are raised and cleared (enmon-sim fault injection) and enmond restarts: once
it is back every notice arrives exactly once, in order per endpoint, signed (HMAC-SHA256 of
the body), each at the endpoint its route names; /metrics shows the backlog drained."""
import datetime
import hashlib
import hmac
import http.server
import json
import os
import sqlite3
import ssl
import subprocess
import threading
import time

import daemon
import harness
import dashlib

SECRET_WELFARE = "welfare-secret-1"
SECRET_FIRE = "fire-secret-2"
DOWN_S = 60


class Receiver:
    """An HTTPS endpoint on a free 127.0.0.1 port recording every POST: (path, headers, body).
    stop() closes the listening socket (connections are refused) until start() again."""

    def __init__(self, tmp_path):
        self.port = harness.free_port()
        self.cert = os.path.join(str(tmp_path), "receiver.pem")
        self.key = os.path.join(str(tmp_path), "receiver.key")
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "2",
                        "-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1",
                        "-keyout", self.key, "-out", self.cert],
                       check=True, capture_output=True, timeout=60)
        self.got = []
        self.lock = threading.Lock()
        self.server = None

    def start(self):
        rec = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_POST(self):
                body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
                with rec.lock:
                    rec.got.append((self.path, dict(self.headers.items()), body))
                self.send_response(200)
                self.send_header("Content-Length", "2")
                self.end_headers()
                self.wfile.write(b"ok")

            def log_message(self, *args):
                pass

        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(self.cert, self.key)
        http.server.ThreadingHTTPServer.allow_reuse_address = True
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", self.port), Handler)
        self.server.socket = ctx.wrap_socket(self.server.socket, server_side=True)
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def stop(self):
        if self.server:
            self.server.shutdown()
            self.server.server_close()
            self.server = None

    def posts(self, path):
        with self.lock:
            return [(h, b) for p, h, b in self.got if p == path]


def fleet(port, rx, http_port):
    sim = "devices:\n  - {port: %d, unit: 1, count: 3, kind: inverter, capacity: 3000}\n" % port
    programs = (
        "programs:\n"
        "  - id: welfare-solar\n    kind: solar\n    sites:\n"
        "      - id: centre-1\n        name: 대전 햇살 복지관\n        devices:\n"
        "          - {id: centre-inv, name: 인버터, kind: inverter,"
        " link: 'tcp://127.0.0.1:%d', unit: 1, capacity: 3000}\n"
        "  - id: solar\n    kind: solar\n    sites:\n"
        "      - id: farm-2\n        devices:\n"
        "          - {id: farm-inv, kind: inverter, link: 'tcp://127.0.0.1:%d', unit: 2,"
        " capacity: 3000}\n" % (port, port))
    url = "https://127.0.0.1:%d" % rx.port
    extra = (
        "http:\n  port: %d\n"
        "alerts:\n"
        "  webhooks:\n"
        "    - id: welfare-office\n"
        "      url: %s/welfare\n"
        "      secret: %s\n"
        "      cafile: %s\n"
        "      template: ko\n"
        "      fields: {office: 유성구 복지정책과}\n"
        "      connect_timeout: 1s\n      timeout: 3s\n      retry_min: 500ms\n"
        "      retry_max: 2s\n"
        "      match: {programs: [welfare-solar]}\n"
        "    - id: fire-service\n"
        "      url: %s/fire\n"
        "      secret: %s\n"
        "      cafile: %s\n"
        "      connect_timeout: 1s\n      timeout: 3s\n      retry_min: 500ms\n"
        "      retry_max: 2s\n"
        "      match: {rules: [inverter_event]}\n"
        % (http_port, url, SECRET_WELFARE, rx.cert, url, SECRET_FIRE, rx.cert))
    return sim, programs, extra


def alert_rows(db_path):
    if not os.path.exists(db_path):
        return []
    db = sqlite3.connect(db_path)
    try:
        return db.execute("SELECT key, cleared_ms IS NOT NULL FROM alerts ORDER BY id").fetchall()
    except sqlite3.OperationalError:
        return []
    finally:
        db.close()


def outbox(db_path):
    db = sqlite3.connect(db_path)
    try:
        return db.execute("SELECT endpoint, idem_key, attempts, delivered_ms IS NOT NULL"
                          " FROM webhook_outbox ORDER BY id").fetchall()
    finally:
        db.close()


def wait_alert(d, key, cleared):
    ok = daemon.wait_for(lambda: (key, int(cleared)) in alert_rows(d.db), 20)
    assert ok, "alert %s %s not recorded: %s" % (key, "clear" if cleared else "raise",
                                                 alert_rows(d.db))


def metric(http_port, name):
    _, _, body = dashlib.get("http://127.0.0.1:%d/metrics" % http_port)
    for line in body.decode().splitlines():
        if line.startswith(name + " "):
            return float(line.split()[1])
    return None


def test_down_60s_and_restart_nothing_lost_nothing_twice(tmp_path, mosquitto, sim_factory):
    port, http_port = harness.free_port(), harness.free_port()
    rx = Receiver(tmp_path)
    sim_text, programs, extra = fleet(port, rx, http_port)
    tl = harness.Timeline(datetime.datetime(2026, 6, 21, 12, 0, tzinfo=harness.KST))
    sim = sim_factory(sim_text, args=tl.args(), seed=5)
    d = daemon.Enmond(tmp_path, mosquitto.port, programs, extra=extra, args=tl.args())
    centre, farm = "%d/1" % port, "%d/2" % port
    rx.start()
    try:
        d.start()
        harness.wait_port(http_port, proc=d.proc)
        # up: a ground fault at the welfare centre goes to both offices at once
        sim.ctl("events", centre, "0x1")
        wait_alert(d, "centre-inv/inverter_event/GROUND_FAULT", False)
        assert daemon.wait_for(lambda: rx.posts("/welfare") and rx.posts("/fire"), 15), rx.got

        # down for 60 s: the clear, a ground fault at the farm (fire service only), a fault
        # at the centre (welfare office only), enmond restarts, the farm's fault clears
        rx.stop()
        down_at = time.monotonic()
        sim.ctl("clear", "events", centre)
        wait_alert(d, "centre-inv/inverter_event/GROUND_FAULT", True)
        sim.ctl("events", farm, "0x1")
        wait_alert(d, "farm-inv/inverter_event/GROUND_FAULT", False)
        sim.ctl("state", centre, 7)
        wait_alert(d, "centre-inv/inverter_fault", False)
        time.sleep(3)  # a few failed attempts with backoff
        assert d.stop() == 0
        waiting = [r for r in outbox(d.db) if not r[3]]
        assert len(waiting) == 4, outbox(d.db)  # the notices wait in SQLite across the restart
        # only each endpoint's oldest notice is tried (again and again): none overtakes it
        for endpoint in ("welfare-office", "fire-service"):
            tries = [r[2] for r in waiting if r[0] == endpoint]
            assert tries[0] >= 1 and tries[1:] == [0] * (len(tries) - 1), waiting
        d.args = tl.args()
        d.start()
        harness.wait_port(http_port, proc=d.proc)
        sim.ctl("clear", "events", farm)
        wait_alert(d, "farm-inv/inverter_event/GROUND_FAULT", True)
        assert metric(http_port, "enmon_webhook_backlog") == 5
        time.sleep(max(0.0, DOWN_S - (time.monotonic() - down_at)))
        assert len(rx.got) == 2  # nothing got through while it was down

        rx.start()
        assert daemon.wait_for(lambda: all(r[3] for r in outbox(d.db)), 20), outbox(d.db)
        assert metric(http_port, "enmon_webhook_backlog") == 0
        assert metric(http_port, "enmon_webhook_delivered_total") == 5  # since the restart
        assert metric(http_port, "enmon_webhook_failed_total") >= 1
    finally:
        d.stop()
        rx.stop()

    def seen(path, secret):
        out = []
        for headers, body in rx.posts(path):
            sig = "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
            assert headers["X-Enmon-Signature"] == sig
            assert int(headers["X-Enmon-Timestamp"]) > 0
            doc = json.loads(body)
            assert headers["Idempotency-Key"] == doc["idempotency_key"]
            out.append(doc)
        return out

    welfare, fire = seen("/welfare", SECRET_WELFARE), seen("/fire", SECRET_FIRE)
    gf = "centre-inv/inverter_event/GROUND_FAULT"
    # each exactly once, in the order raised and cleared
    assert [(n["id"], n["state"]) for n in welfare] == [
        (gf, "active"), (gf, "cleared"), ("centre-inv/inverter_fault", "active")]
    assert [(n["id"], n["state"]) for n in fire] == [
        (gf, "active"), (gf, "cleared"), ("farm-inv/inverter_event/GROUND_FAULT", "active"),
        ("farm-inv/inverter_event/GROUND_FAULT", "cleared")]
    keys = [n["idempotency_key"] for n in welfare + fire]
    assert len(set(n["idempotency_key"] for n in welfare)) == 3
    assert len(set(n["idempotency_key"] for n in fire)) == 4
    assert keys[0] == "%s/raise/%d" % (gf, welfare[0]["first_seen_ms"])
    # the Korean template and the constant field: the welfare office only
    assert welfare[0]["message"] == "[경보] 대전 햇살 복지관 인버터 인버터 이벤트: 지락"
    assert welfare[1]["message"] == "[해제] 대전 햇살 복지관 인버터 인버터 이벤트: 지락"
    assert welfare[2]["message"].startswith("[경보] 대전 햇살 복지관 인버터 인버터 고장")
    assert all(n["office"] == "유성구 복지정책과" for n in welfare)
    assert all("message" not in n and "office" not in n for n in fire)


def test_docs_example_and_errors(tmp_path):
    """The webhooks example of docs/ALERTS.md is a valid configuration (its /etc/enmon files
    made in tmp_path), and the errors docs/CONFIG.md names are what --check-config prints."""
    with open(os.path.join(harness.source_dir(), "docs", "ALERTS.md"), encoding="utf-8") as fh:
        block = fh.read().split("## Webhooks", 1)[1].split("```yaml", 1)[1].split("```", 1)[0]
    etc = tmp_path / "etc"
    etc.mkdir()
    for name in ("welfare-office.secret", "fire-service.secret", "welfare-ca.crt"):
        (etc / name).write_text("x\n")
    programs = "".join(
        "  - id: %s\n    kind: %s\n    sites:\n      - id: s-%s\n        devices:\n"
        "          - {id: d-%s, kind: meter, link: 'tcp://127.0.0.1:1502', unit: %d}\n"
        % (p, k, p, p, u) for u, (p, k) in enumerate(
            (("welfare-solar", "solar"), ("welfare-led", "led-retrofit"), ("care", "ami")), 1))

    def check(alerts):
        cfg = tmp_path / "enmond.yaml"
        cfg.write_text("database: %s\nhttp:\n  port: 0\n%sprograms:\n%s"
                       % (tmp_path / "enmon.db", alerts.replace("/etc/enmon/", str(etc) + "/"),
                          programs), encoding="utf-8")
        return subprocess.run([daemon.bin_path("enmond"), "--check-config", "-c", str(cfg)],
                              capture_output=True, text=True, timeout=30)

    res = check(block)
    assert res.returncode == 0, res.stderr
    res = check(block.replace("programs: [welfare-solar, welfare-led, care]", "programs: [welfare]"))
    assert res.returncode == 78
    assert "alerts.webhooks[0].match.programs: no program with id 'welfare'" in res.stderr
    res = check(block.replace("https://119.daejeon.example/hooks/enmon", "http://119.example/hook"))
    assert res.returncode == 78
    assert ("alerts.webhooks[1].url: expected an https:// URL with a host, got "
            "'http://119.example/hook'") in res.stderr
    (etc / "welfare-ca.crt").unlink()
    res = check(block)
    assert res.returncode == 78
    assert "alerts.webhooks[0].cafile: cannot read '%s/welfare-ca.crt'" % etc in res.stderr
