#!/usr/bin/env python3
"""live_view.py -- the demo's live view: production, consumption and alerts per program from MQTT.

Usage: live_view.py HOST PORT [TOPIC_ROOT]
Subscribes to <root>/device/+/+/+/state and /availability (paho-mqtt) and
prints a table every 2 seconds until Ctrl-C. The time shown is that of the newest
reading (enmond's clock, simulated in the demo), in Korea time.
"""
import collections
import json
import sys
import threading
import time

import paho.mqtt.client as mqtt


def main():
    host, port = sys.argv[1], int(sys.argv[2])
    root = sys.argv[3] if len(sys.argv) > 3 else "enmon"
    state, avail, lock = {}, {}, threading.Lock()

    alerts = []

    def on_message(client, userdata, msg):
        if msg.topic.startswith(root + "/alert/"):
            with lock:
                if msg.payload:
                    a = json.loads(msg.payload)
                    alerts.append("ALERT %-8s %s: %s" % (a.get("severity", ""), a.get("id"),
                                                          a.get("cause")))
                else:
                    alerts.append("cleared  %s" % msg.topic[len(root) + 7:])
            return
        parts = msg.topic.split("/")
        if len(parts) != 6:
            return
        key = tuple(parts[2:5])
        with lock:
            if parts[5] == "state" and msg.payload:
                state[key] = json.loads(msg.payload)
            elif parts[5] == "availability":
                avail[key] = msg.payload.decode()

    client = mqtt.Client(client_id="enmon-demo-view")
    client.on_message = on_message
    client.connect(host, port)
    client.subscribe(root + "/device/+/+/+/state", qos=0)
    client.subscribe(root + "/device/+/+/+/availability", qos=1)
    client.subscribe(root + "/alert/#", qos=1)
    client.loop_start()
    start = time.monotonic()
    try:
        while True:
            time.sleep(2)
            with lock:
                rows = collections.OrderedDict()
                for key in sorted(set(state) | set(avail)):
                    prog = key[0]
                    r = rows.setdefault(prog, {"dev": 0, "on": 0, "prod": 0.0, "cons": 0.0})
                    r["dev"] += 1
                    r["on"] += avail.get(key) == "online"
                    s = state.get(key, {})
                    p = s.get("power_w")
                    if p is None:
                        continue
                    if s.get("kind") == "inverter":
                        r["prod"] += p
                    else:
                        r["cons"] += p
                newest = max((st.get("ts_ms", 0) for st in state.values()), default=0)
            when = (time.strftime("readings at %Y-%m-%d %H:%M:%S KST",
                                  time.gmtime(newest / 1000 + 9 * 3600)) if newest
                    else "no readings yet")
            print("\n[%3.0fs] %s  (live from MQTT %s:%d)" % (time.monotonic() - start, when,
                                                           host, port))
            print("%-16s %9s %14s %15s" % ("program", "online", "producing kW", "consuming kW"))
            for prog, r in rows.items():
                print("%-16s %4d/%-4d %14.2f %15.2f" % (prog, r["on"], r["dev"], r["prod"] / 1000,
                                                      r["cons"] / 1000))
            with lock:
                for line in alerts:
                    print(line)
                alerts.clear()
            sys.stdout.flush()
    except KeyboardInterrupt:
        pass
    client.loop_stop()


if __name__ == "__main__":
    main()
