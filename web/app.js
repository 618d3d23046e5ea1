// app.js -- the enmon live dashboard: server-sent events from /api/live, a small SVG chart,
// devices, alerts and savings. Loads nothing from outside the serving enmond.
"use strict";

const HISTORY = 180; // points kept per program (6 minutes at one frame per 2 s)
const COLORS = ["#e63946", "#2a9d8f", "#f4a261", "#457b9d", "#8e44ad", "#6a994e", "#d62828",
                "#264653"];
const history = new Map(); // program id -> [{t, w}]
let frames = 0;

function token() {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  return m ? decodeURIComponent(m[1]) : "";
}

// The token travels in a header; only EventSource, which cannot send one, puts it in the
// address of /api/live (the one path where enmond accepts ?access_token=).
function url(path, params) {
  const q = new URLSearchParams(params || {});
  if (token() && path === "api/live") q.set("access_token", token());
  const s = q.toString();
  return path + (s ? "?" + s : "");
}

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function kw(w) { return (w / 1000).toFixed(1) + " kW"; }
function kwh(wh) { return (wh / 1000).toFixed(1) + " kWh"; }
function ago(ms) {
  if (!ms) return "never";
  const s = Math.max(0, Math.round((Date.now() - ms) / 1000));
  return s < 120 ? s + " s ago" : Math.round(s / 60) + " min ago";
}

function drawChart() {
  const svg = document.getElementById("chart");
  const W = 800, H = 260, PAD = 30;
  let max = 1, tmin = Infinity, tmax = -Infinity;
  for (const pts of history.values())
    for (const p of pts) {
      max = Math.max(max, Math.abs(p.w));
      tmin = Math.min(tmin, p.t);
      tmax = Math.max(tmax, p.t);
    }
  if (!(tmax > tmin)) tmax = tmin + 1;
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const ns = svg.namespaceURI; // the SVG namespace, from the page's own <svg>
  const axis = document.createElementNS(ns, "text");
  axis.setAttribute("x", 4);
  axis.setAttribute("y", 14);
  axis.setAttribute("font-size", 12);
  axis.textContent = kw(max);
  svg.appendChild(axis);
  const legend = document.getElementById("legend");
  legend.textContent = "";
  let i = 0, points = 0;
  for (const [id, pts] of history) {
    const color = COLORS[i++ % COLORS.length];
    const line = document.createElementNS(ns, "polyline");
    const xy = pts.map(p => {
      const x = PAD + (p.t - tmin) / (tmax - tmin) * (W - 2 * PAD);
      const y = H - PAD - Math.max(0, p.w) / max * (H - 2 * PAD);
      return x.toFixed(1) + "," + y.toFixed(1);
    });
    points += pts.length;
    line.setAttribute("points", xy.join(" "));
    line.setAttribute("fill", "none");
    line.setAttribute("stroke", color);
    line.setAttribute("stroke-width", 2);
    line.setAttribute("data-program", id);
    svg.appendChild(line);
    const item = el("span");
    const swatch = el("i");
    swatch.style.background = color; // CSSOM, allowed by the page's Content-Security-Policy
    item.appendChild(swatch);
    item.appendChild(document.createTextNode(id));
    legend.appendChild(item);
  }
  svg.setAttribute("data-points", String(points));
  svg.setAttribute("data-frames", String(frames));
}

function showPrograms(programs) {
  const tbody = document.querySelector("#programs tbody");
  tbody.textContent = "";
  for (const p of programs) {
    const tr = el("tr", {"data-program": p.id});
    tr.appendChild(el("td", {}, p.name));
    tr.appendChild(el("td", {}, p.kind));
    tr.appendChild(el("td", {class: "num"}, (p.power_w / 1000).toFixed(2)));
    tr.appendChild(el("td", {class: "num"}, (p.energy_today_wh / 1000).toFixed(1)));
    tr.appendChild(el("td", {class: "num"}, p.online + "/" + p.devices));
    tr.appendChild(el("td", {class: "num"}, String(p.alerts_active)));
    tbody.appendChild(tr);
  }
}

function showDevices(frame) {
  const tbody = document.querySelector("#devices tbody");
  tbody.textContent = "";
  document.getElementById("devices-note").textContent =
    frame.devices_complete ? "" : "(offline devices only: the city is large)";
  for (const d of frame.devices) {
    const tr = el("tr", {"data-device": d.id, "data-availability": d.availability});
    tr.appendChild(el("td", {}, d.id));
    tr.appendChild(el("td", {}, d.program));
    tr.appendChild(el("td", {}, d.kind));
    tr.appendChild(el("td", {}, d.availability));
    tr.appendChild(el("td", {class: "num"}, d.leakage_ma !== undefined ? d.leakage_ma.toFixed(1) + " mA leakage"
                                            : d.power_w === undefined ? "–" : String(Math.round(d.power_w))));
    tr.appendChild(el("td", {}, ago(d.last_seen_ms)));
    tbody.appendChild(tr);
  }
}

function showAlerts(alerts) {
  const ul = document.getElementById("alerts");
  ul.textContent = "";
  ul.setAttribute("data-count", String(alerts.length));
  if (!alerts.length) ul.appendChild(el("li", {class: "none"}, "none"));
  for (const a of alerts) {
    const li = el("li", {class: a.severity, "data-alert-id": a.id, "data-rule": a.rule});
    li.appendChild(el("strong", {}, a.device + " · " + a.rule));
    li.appendChild(document.createTextNode(" — " + a.cause + " (" + ago(a.first_seen_ms) + ")"));
    ul.appendChild(li);
  }
}

function onFrame(frame) {
  frames++;
  const c = frame.city;
  document.getElementById("city-produced").textContent = kw(c.produced_w);
  document.getElementById("city-consumed").textContent = kw(c.consumed_w);
  document.getElementById("city-today").textContent = kwh(c.energy_today_wh);
  document.getElementById("city-online").textContent = c.online + " / " + c.devices;
  document.getElementById("city-alerts").textContent = String(c.alerts_active);
  for (const p of frame.programs) {
    if (!history.has(p.id)) history.set(p.id, []);
    const pts = history.get(p.id);
    pts.push({t: frame.ts_ms, w: p.power_w});
    if (pts.length > HISTORY) pts.shift();
  }
  drawChart();
  showPrograms(frame.programs);
  showDevices(frame);
  showAlerts(frame.alerts);
}

function isoDay(d) {
  return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" +
         String(d.getDate()).padStart(2, "0");
}

async function savings(id, from, to) {
  try {
    const auth = token() ? {Authorization: "Bearer " + token()} : {};
    const r = await fetch(url("api/savings", {from: from, to: to}), {headers: auth});
    if (!r.ok) throw new Error(r.status);
    const doc = await r.json();
    // the 90 % interval of the weather-normalized savings (GET /api/savings), when every
    // program with figures has one
    const t = doc.total;
    const pm = t.has_interval ? " ±" + ((t.saved_high_kwh - t.saved_low_kwh) / 2).toFixed(1) : "";
    const el = document.getElementById(id);
    el.textContent = t.saved_kwh.toFixed(1) + pm + " kWh · " + Math.round(t.krw).toLocaleString() + " KRW";
    el.title = t.has_interval ? "90 % interval " + t.saved_low_kwh.toFixed(1) + " .. " +
                                t.saved_high_kwh.toFixed(1) + " kWh" : "";
  } catch (e) {
    document.getElementById(id).textContent = "n/a";
  }
}

function loadSavings() {
  const now = new Date();
  savings("savings-today", isoDay(now), isoDay(now));
  savings("savings-ytd", now.getFullYear() + "-01-01", isoDay(now));
}

function connect() {
  const conn = document.getElementById("conn");
  const es = new EventSource(url("api/live"));
  es.addEventListener("summary", ev => {
    conn.textContent = "live";
    conn.setAttribute("data-state", "live");
    onFrame(JSON.parse(ev.data));
  });
  es.onerror = () => {
    conn.textContent = "connection lost, retrying…";
    conn.setAttribute("data-state", "lost");
  };
}

connect();
loadSavings();
setInterval(loadSavings, 60000);
