#!/usr/bin/env python3
"""demo_config.py -- copy the demo city configs to a run directory with free ports.

Usage: demo_config.py OUTDIR SIM_PORT_BASE MQTT_PORT
Rewrites config/enmond.yaml and config/sim-demo.yaml: the simulator ports
15020..15029 become SIM_PORT_BASE..SIM_PORT_BASE+9, the MQTT port and the
database path point at OUTDIR, register maps (maps/...) become absolute paths, and the dashboard listens on SIM_PORT_BASE+9. Prints nothing; exits non-zero on error.
"""
import os
import re
import sys


def main():
    outdir, base, mqtt_port = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "config")
    shift = lambda m: str(base + int(m.group(1)) - 20)
    with open(os.path.join(src, "sim-demo.yaml"), encoding="utf-8") as fh:
        sim = re.sub(r"\b150([2-9]\d)\b", shift, fh.read())
    with open(os.path.join(src, "enmond.yaml"), encoding="utf-8") as fh:
        daemon = re.sub(r"\b150([2-9]\d)\b", shift, fh.read())
    daemon = re.sub(r"(?m)^(  port: )1883$", r"\g<1>%d" % mqtt_port, daemon)
    # register maps (pole sensors) stay where they are: absolute paths in the copies
    maps = "map: %s/" % os.path.abspath(os.path.join(src, "maps"))
    sim, daemon = sim.replace("map: maps/", maps), daemon.replace("map: maps/", maps)
    daemon = re.sub(r"(?m)^database: .*$", "database: %s" % os.path.join(outdir, "enmon.db"), daemon)
    # the dashboard on the last port of the range, serving the source tree's web/
    daemon += "\nhttp:\n  port: %d\n  web_root: %s\n" % (
        base + 9, os.path.abspath(os.path.join(src, "..", "web")))
    with open(os.path.join(outdir, "sim.yaml"), "w", encoding="utf-8") as fh:
        fh.write(sim)
    with open(os.path.join(outdir, "enmond.yaml"), "w", encoding="utf-8") as fh:
        fh.write(daemon)


if __name__ == "__main__":
    main()
