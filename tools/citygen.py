#!/usr/bin/env python3
"""citygen.py -- write the full city (../shared/PROGRAMS.md) as enmond and enmon-sim configs.

Usage: citygen.py [--outdir DIR] [--port-base N] [--mqtt-port N] [--db PATH]
                  [--meter-interval D] [--inverter-interval D] [--workers N]

Writes DIR/enmond.yaml and DIR/sim.yaml (default DIR: config/city). Every
gateway or data concentrator is one simulator port, numbered from --port-base
in the order of the table below, so a bench can place the whole city on free
ports. The committed config/city/ files are this script's output with the
defaults; regenerate them after changing the table.

The city: 10,000 AMI households on 41 data concentrators (40 x 244 + 1 x 240,
8 welfare households on each), 100 solar homes (3 kW), 860 balcony mini-PV
(256 W, 4 gateways of 215), the public facilities (Songchon 4 x 90 kW + one
more facility 90 kW = 450 kW), 50 bus stops (1 kW), the 5 MW citizen plant
(50 x 100 kW), the 100 kW cooperative plant, the 1 MW bike-road plant
(10 x 100 kW), LED-retrofit households in 5 apartment complexes, 22
demand-response sites of 9 institutions (3-phase meters) and the city hall
ESS building meter, the welfare programs (10 senior centres with 3 kW PV and an LED-retrofit
meter each, 130 mini-PV homes of 256 W, the common-area meters of 2 rental complexes) and a
feeder of 30 pole leakage sensors (config/maps/pole-leakage-sensor.yaml). Meters and sensors
are polled every 60 s, inverters every 5 s.
"""
import argparse
import os
import sys

UNITS_MAX = 247
WELFARE_SENIOR_CENTRES = 10
WELFARE_MINI_PV_HOMES = 130
WELFARE_RENTAL_COMPLEXES = 2
POLES = 30
MAP_DIR = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "config", "maps")

AMI_CONCENTRATORS = [244] * 40 + [240]
AMI_WELFARE_PER_CONCENTRATOR = 8
BALCONY_GATEWAYS = [215] * 4
LED_COMPLEXES = [  # (households, retrofit date)
    (24, "2016-06-15"),
    (38, "2016-09-01"),
    (38, "2016-11-20"),
    (30, "2017-03-10"),
    (22, "2017-05-25"),
]
DR_INSTITUTIONS = [  # (id, name, sites, kwh_month of one site's 3-phase meter)
    ("city", "Daejeon city hall and offices", 4, 42000),
    ("univ-1", "University 1", 3, 95000),
    ("univ-2", "University 2", 3, 80000),
    ("univ-3", "University 3", 2, 60000),
    ("corp-1", "Company 1", 2, 120000),
    ("corp-2", "Company 2", 2, 70000),
    ("corp-3", "Company 3", 2, 55000),
    ("corp-4", "Company 4", 2, 40000),
    ("corp-5", "Company 5", 2, 30000),
]


class Port:
    """One simulated gateway: a TCP port and the device entries behind it."""

    def __init__(self, index, comment):
        self.index = index
        self.comment = comment
        self.sim = []  # enmon-sim device entries (dicts), in unit order
        self.next_unit = 1

    def take(self, count):
        """Reserves count consecutive unit ids; returns the first."""
        first = self.next_unit
        if first + count - 1 > UNITS_MAX:
            raise ValueError("port %d: more than %d units" % (self.index, UNITS_MAX))
        self.next_unit += count
        return first


class City:
    """Programs, sites and devices for enmond, and the simulator entries they poll."""

    def __init__(self):
        self.ports = []
        self.programs = []  # (id, name, kind, [site entries])

    def port(self, comment):
        p = Port(len(self.ports), comment)
        self.ports.append(p)
        return p

    def program(self, pid, name, kind):
        sites = []
        self.programs.append((pid, name, kind, sites))
        return sites


def site(sid, name, count, devices):
    return {"id": sid, "name": name, "count": count, "devices": devices}


def device(did, kind, port, unit, capacity, interval, **extra):
    d = {"id": did, "kind": kind, "port": port, "unit": unit, "capacity": capacity,
         "interval": interval}
    d.update(extra)
    return d


def sim_entry(port, unit, count, kind, serial, **extra):
    e = {"port": port, "unit": unit, "count": count, "kind": kind, "serial": serial}
    e.update(extra)
    port.sim.append(e)


def add_ami(city, iv):
    sites = city.program("ami", "AMI roll-out (smart meters in homes)", "ami")
    for c, n in enumerate(AMI_CONCENTRATORS, start=1):
        port = city.port("AMI data concentrator %02d: %d households" % (c, n))
        plain = n - AMI_WELFARE_PER_CONCENTRATOR
        unit = port.take(plain)
        sites.append(site("ami-c%02d-{n}" % c, "Household C%02d-{n}" % c, plain,
                          [device("ami-c%02d-{n}-meter" % c, "meter", port, unit, 11000, iv)]))
        sim_entry(port, unit, plain, "meter", "AMI-C%02d-{n}" % c, phases=1,
                  kwh_month=290 + (c % 5) * 10)
        wunit = port.take(AMI_WELFARE_PER_CONCENTRATOR)
        sites.append(site("ami-c%02d-w{n}" % c, "Welfare household C%02d-W{n}" % c,
                          AMI_WELFARE_PER_CONCENTRATOR,
                          [device("ami-c%02d-w{n}-meter" % c, "meter", port, wunit, 11000, iv,
                                  welfare=True)]))
        sim_entry(port, wunit, AMI_WELFARE_PER_CONCENTRATOR, "meter", "AMI-C%02d-W{n}" % c,
                  phases=1, kwh_month=180)


def add_solar(city, iv):
    sites = city.program("solar-homes", "Solar, single-family homes (3 kW rooftop PV)", "solar")
    port = city.port("solar homes gateway: 100 x 3 kW")
    unit = port.take(100)
    sites.append(site("solar-home-{n}", "Solar home {n}", 100,
                      [device("solar-home-{n}-pv", "inverter", port, unit, 3000, iv,
                              commissioned="2017-06-01")]))
    sim_entry(port, unit, 100, "inverter", "SH-{n}", capacity=3000, tilt=30, azimuth=180)

    sites = city.program("balcony-pv", "Solar, apartment balconies (mini-PV)", "solar")
    for g, n in enumerate(BALCONY_GATEWAYS, start=1):
        port = city.port("balcony mini-PV gateway %d: %d x 256 W" % (g, n))
        unit = port.take(n)
        sites.append(site("balcony-g%d-{n}" % g, "Balcony mini-PV G%d-{n}" % g, n,
                          [device("balcony-g%d-{n}-pv" % g, "inverter", port, unit, 256, iv,
                                  commissioned="2017-07-01")]))
        sim_entry(port, unit, n, "inverter", "BAL%d-{n}" % g, capacity=256, tilt=70,
                  azimuth=180)

    sites = city.program("public-solar", "Solar, public facilities (450 kW)", "solar")
    port = city.port("Songchon water-purification plant: 4 x 90 kW")
    unit = port.take(4)
    sites.append(site("songchon-water", "Songchon water-purification plant (360 kW)", 1,
                      [device("songchon-inv-%d" % (k + 1), "inverter", port, unit + k, 90000, iv)
                       for k in range(4)]))
    sim_entry(port, unit, 4, "inverter", "SONGCHON-{n}", capacity=90000, tilt=25, azimuth=180)
    port = city.port("second public facility: 1 x 90 kW")
    unit = port.take(1)
    sites.append(site("public-facility-2", "Second public facility (90 kW)", 1,
                      [device("public-facility-2-inv", "inverter", port, unit, 90000, iv)]))
    sim_entry(port, unit, 1, "inverter", "PUB2-{n}", capacity=90000, tilt=20, azimuth=170)

    sites = city.program("bus-stops", "Solar, bus stops", "solar")
    port = city.port("bus stop shelters: 50 x 1 kW")
    unit = port.take(50)
    sites.append(site("bus-stop-{n}", "Bus stop {n}", 50,
                      [device("bus-stop-{n}-pv", "inverter", port, unit, 1000, iv)]))
    sim_entry(port, unit, 50, "inverter", "BUS-{n}", capacity=1000, tilt=10, azimuth=180)

    plants = [
        ("citizen-plant", "Citizen-fund solar plant (5 MW)", "citizen", 50, 100000),
        ("coop-plant", "Cooperative solar plant (100 kW)", "coop", 1, 100000),
        ("bike-road", "Bike-road solar (1 MW)", "bike", 10, 100000),
    ]
    for pid, name, short, n, cap in plants:
        sites = city.program(pid, name, "solar")
        port = city.port("%s: %d x %d kW" % (name, n, cap // 1000))
        unit = port.take(n)
        sites.append(site(pid, name, 1,
                          [device("%s-inv-%02d" % (short, k + 1), "inverter", port, unit + k, cap,
                                  iv) for k in range(n)]))
        sim_entry(port, unit, n, "inverter", short.upper() + "-{n}", capacity=cap, tilt=25,
                  azimuth=180)


def add_meters(city, iv):
    sites = city.program("happy-led", "Happy LED Dream (LED retrofit, apartment households)",
                         "led-retrofit")
    for k, (n, date) in enumerate(LED_COMPLEXES, start=1):
        port = city.port("LED complex %d: %d households, retrofit %s" % (k, n, date))
        unit = port.take(n)
        sites.append(site("led-k%d-{n}" % k, "LED complex %d household {n}" % k, n,
                          [device("led-k%d-{n}-meter" % k, "meter", port, unit, 11000, iv,
                                  retrofit=date)]))
        sim_entry(port, unit, n, "meter", "LED%d-{n}" % k, phases=1, kwh_month=300,
                  led_retrofit=True)

    sites = city.program("demand-response", "Demand-response market (9 institutions, 22 sites)",
                         "demand-response")
    for iid, name, n, kwh in DR_INSTITUTIONS:
        port = city.port("demand response, %s: %d sites" % (name, n))
        unit = port.take(n)
        sites.append(site("dr-%s-{n}" % iid, "%s site {n}" % name, n,
                          [device("dr-%s-{n}-meter" % iid, "meter", port, unit, 400000, iv)]))
        sim_entry(port, unit, n, "meter", "DR-%s-{n}" % iid.upper(), phases=3, kwh_month=kwh)

    sites = city.program("ess-city-hall", "Energy efficiency (ESS shared savings), city hall",
                         "efficiency")
    port = city.port("city hall ESS building meter")
    unit = port.take(1)
    sites.append(site("city-hall", "Daejeon city hall", 1,
                      [device("city-hall-meter", "meter", port, unit, 1000000, iv)]))
    sim_entry(port, unit, 1, "meter", "CITYHALL-{n}", phases=3, kwh_month=250000)


def add_welfare(city, meter_iv, inverter_iv):
    """Welfare solar and LED (PROGRAMS.md): the same devices as the solar and LED rows."""
    port = city.port("welfare senior centres: %d x 3 kW PV, %d LED-retrofit meters"
                     % (WELFARE_SENIOR_CENTRES, WELFARE_SENIOR_CENTRES))
    n = WELFARE_SENIOR_CENTRES
    unit = port.take(n)
    city.program("welfare-senior-pv", "Welfare solar, senior centres (rooftop PV)", "solar").append(
        site("senior-pv-{n}", "Senior centre {n} PV", n,
             [device("senior-{n}-pv", "inverter", port, unit, 3000, inverter_iv,
                     commissioned="2017-04-01")]))
    sim_entry(port, unit, n, "inverter", "SENIOR-PV-{n}", capacity=3000, tilt=30, azimuth=180)
    unit = port.take(n)
    city.program("welfare-senior-led", "Welfare LED, senior centres", "led-retrofit").append(
        site("senior-led-{n}", "Senior centre {n} LED", n,
             [device("senior-{n}-meter", "meter", port, unit, 11000, meter_iv,
                     retrofit="2017-04-01")]))
    sim_entry(port, unit, n, "meter", "SENIOR-LED-{n}", phases=1, kwh_month=450,
              led_retrofit=True)
    n = WELFARE_RENTAL_COMPLEXES
    unit = port.take(n)
    city.program("welfare-rental-led", "Welfare LED, rental-housing complexes (common areas)",
                 "led-retrofit").append(
        site("rental-complex-{n}", "Rental-housing complex {n}", n,
             [device("rental-complex-{n}-meter", "meter", port, unit, 100000, meter_iv,
                     retrofit="2017-03-01")]))
    sim_entry(port, unit, n, "meter", "RENTAL-{n}", phases=3, kwh_month=6000, led_retrofit=True)
    port = city.port("welfare mini-PV homes: %d x 256 W" % WELFARE_MINI_PV_HOMES)
    n = WELFARE_MINI_PV_HOMES
    unit = port.take(n)
    city.program("welfare-mini-pv", "Welfare solar, mini-PV homes (near-poverty households)",
                 "solar").append(
        site("welfare-home-{n}", "Welfare mini-PV home {n}", n,
             [device("welfare-home-{n}-pv", "inverter", port, unit, 256, inverter_iv,
                     commissioned="2017-07-01")]))
    sim_entry(port, unit, n, "inverter", "WMP-{n}", capacity=256, tilt=70, azimuth=180)


def add_poles(city, iv, outdir):
    """A feeder of pole leakage sensors (device kind sensor, read through a register map)."""
    port = city.port("pole leakage sensors, feeder D-1: %d poles" % POLES)
    unit = port.take(POLES)
    path = os.path.relpath(os.path.join(MAP_DIR, "pole-leakage-sensor.yaml"), outdir)
    city.program("pole-sensors", "Pole leakage sensors (feeder D-1)", "grid-safety").append(
        site("pole-{n}", "Pole {n}", POLES,
             [device("leak-{n}", "sensor", port, unit, None, iv, map=path)]))
    sim_entry(port, unit, POLES, "sensor", "POLE-{n}", map=path)


def build_city(meter_iv, inverter_iv, outdir):
    city = City()
    add_ami(city, meter_iv)
    add_solar(city, inverter_iv)
    add_meters(city, meter_iv)
    add_welfare(city, meter_iv, inverter_iv)
    add_poles(city, meter_iv, outdir)
    return city


def fmt_value(v):
    if v is True:
        return "true"
    if v is False:
        return "false"
    return str(v)


def enmond_yaml(city, args):
    out = [
        "# enmond.yaml -- the full city of ../shared/PROGRAMS.md (generated by tools/citygen.py;",
        "# do not edit, regenerate). Served by enmon-sim with sim.yaml from the same run.",
        "mqtt:",
        "  host: 127.0.0.1",
        "  port: %d" % args.mqtt_port,
        "  topic_root: enmon",
        "  client_id: enmond",
        "database: %s" % args.db,
        "timezone: Asia/Seoul",
        "polling:",
        "  workers: %d" % args.workers,
        "  interval: %s" % args.meter_interval,
        "  timeout: 1s",
        "  retries: 1",
        "  offline_after: 3",
        "",
        "programs:",
    ]
    for pid, name, kind, sites in city.programs:
        out += ["  - id: %s" % pid, "    name: %s" % name, "    kind: %s" % kind, "    sites:"]
        for s in sites:
            out += ["      - id: %s" % s["id"], "        name: %s" % s["name"]]
            if s["count"] > 1:
                out.append("        count: %d" % s["count"])
            out.append("        devices:")
            for d in s["devices"]:
                out += ["          - id: %s" % d["id"],
                        "            kind: %s" % d["kind"],
                        "            link: tcp://127.0.0.1:%d" % (args.port_base + d["port"].index),
                        "            unit: %d" % d["unit"]]
                if d["capacity"] is not None:  # a sensor has none
                    out.append("            capacity: %d" % d["capacity"])
                out.append("            interval: %s" % d["interval"])
                for key in ("welfare", "commissioned", "retrofit", "map"):
                    if key in d:
                        out.append("            %s: %s" % (key, fmt_value(d[key])))
        out.append("")
    return "\n".join(out)


def sim_yaml(city, args):
    out = [
        "# sim.yaml -- enmon-sim fleet for the full city (generated by tools/citygen.py; do not",
        "# edit, regenerate). Every port is one gateway or data concentrator.",
        "seed: 1",
        "listen: 127.0.0.1",
        "devices:",
    ]
    for p in city.ports:
        out.append("  # port %d: %s" % (args.port_base + p.index, p.comment))
        for e in p.sim:
            out.append("  - port: %d" % (args.port_base + p.index))
            for key, v in e.items():
                if key != "port":
                    out.append("    %s: %s" % (key, fmt_value(v)))
    out.append("")
    return "\n".join(out)


def parse_args(argv):
    here = os.path.dirname(os.path.abspath(__file__))
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--outdir", default=os.path.join(here, "..", "config", "city"))
    ap.add_argument("--port-base", type=int, default=16100)
    ap.add_argument("--mqtt-port", type=int, default=1883)
    ap.add_argument("--db", default="/var/lib/enmond/enmon.db")
    ap.add_argument("--meter-interval", default="60s")
    ap.add_argument("--inverter-interval", default="5s")
    ap.add_argument("--workers", type=int, default=8)
    args = ap.parse_args(argv)
    if not 1 <= args.port_base <= 65535 - 100:
        ap.error("--port-base out of range")
    return args


def main(argv):
    args = parse_args(argv)
    city = build_city(args.meter_interval, args.inverter_interval, args.outdir)
    os.makedirs(args.outdir, exist_ok=True)
    with open(os.path.join(args.outdir, "enmond.yaml"), "w", encoding="utf-8") as fh:
        fh.write(enmond_yaml(city, args))
    with open(os.path.join(args.outdir, "sim.yaml"), "w", encoding="utf-8") as fh:
        fh.write(sim_yaml(city, args))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
