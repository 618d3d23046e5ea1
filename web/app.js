// app.js -- the enmon dashboard: live frames from /api/live, SVG charts with a time axis, history from
// the store, program/site/device pages, alerts with acknowledgement, savings. Loads nothing from outside.
"use strict";

const HISTORY = 180;      // live points kept per program (6 minutes at one frame per 2 s)
const FRAME_MS = 2000;    // enmond publishes a frame every 2 s
const STALE_FRAMES = 3;   // no frame for 3 intervals (or a lost stream): the data are stale
const PAGE = 50;          // rows per page of the device, site and alert lists
const COLORS = ["#e63946", "#2a9d8f", "#f4a261", "#457b9d", "#8e44ad", "#6a994e", "#d62828",
                "#264653"];
const live = new Map();   // program id -> [{t, w}] (live power, this tab's frames)
const state = {frames: 0, frame: null, frameAt: 0, conn: "connecting", savings: null, ytd: null,
               today: null, programs: null, route: null};
let NS = "";              // the SVG namespace, read from the page's own <svg> (no URL in this file)

// ---- small helpers ------------------------------------------------------------------------

function $(id) { return document.getElementById(id); }

function el(tag, attrs, text) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) if (v !== undefined && v !== null) e.setAttribute(k, v);
  if (text !== undefined && text !== null) e.textContent = text;
  return e;
}

function svgEl(tag, attrs, text) {
  const e = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, v);
  if (text !== undefined) e.textContent = text;
  return e;
}

function link(href, text) { return el("a", {href: href}, text); }
function num(v, digits) { return v === null || v === undefined ? "–" : Number(v).toFixed(digits); }
function kw(w) { return (w / 1000).toFixed(1) + " kW"; }
function kwh(wh) { return (wh / 1000).toFixed(1) + " kWh"; }
function power(w) {
  const a = Math.abs(w);
  return a >= 1e6 ? (w / 1e6).toFixed(2) + " MW" : a >= 1000 ? (w / 1000).toFixed(1) + " kW"
                                                             : Math.round(w) + " W";
}
function energy(k) {
  const a = Math.abs(k);
  return a >= 10000 ? (k / 1000).toFixed(1) + " MWh" : a >= 100 ? k.toFixed(0) + " kWh"
                                                                : k.toFixed(a >= 10 ? 1 : 2) + " kWh";
}
function ago(ms) {
  if (!ms) return "never";
  const ref = state.frame ? state.frame.ts_ms : Date.now(); // enmond's clock, not the browser's
  const s = Math.max(0, Math.round((ref - ms) / 1000));
  return s < 120 ? s + " s ago" : s < 7200 ? Math.round(s / 60) + " min ago" : localTime(ms, true);
}
function localTime(ms, withDate) {
  const d = new Date(ms);
  const hm = d.toLocaleTimeString([], {hour: "2-digit", minute: "2-digit", second: "2-digit"});
  return withDate ? isoDay(d) + " " + hm : hm;
}
function isoDay(d) {
  return d.getFullYear() + "-" + String(d.getMonth() + 1).padStart(2, "0") + "-" +
         String(d.getDate()).padStart(2, "0");
}
// YYYY-MM-DD plus n days / months / years (calendar arithmetic, no time zone involved)
function shiftDay(day, unit, n) {
  const [y, m, d] = day.split("-").map(Number);
  const t = new Date(Date.UTC(y, m - 1, d));
  if (unit === "day") t.setUTCDate(t.getUTCDate() + n);
  else if (unit === "month") t.setUTCMonth(t.getUTCMonth() + n);
  else t.setUTCFullYear(t.getUTCFullYear() + n);
  return t.toISOString().slice(0, 10);
}

// ---- access: the bearer token lives in sessionStorage, never in an address ----------------

function token() { return sessionStorage.getItem("enmon-token") || ""; }
function ackName() { return sessionStorage.getItem("enmon-ack-name") || ""; }

function adoptHashToken() {
  // older links put the token in the fragment (#token=...): keep it for the tab, drop it from the URL
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (!m) return;
  sessionStorage.setItem("enmon-token", decodeURIComponent(m[1]));
  history.replaceState(null, "", location.pathname + location.search + "#/");
}

function setupAccess() {
  $("token").value = token();
  $("ack-name").value = ackName();
  showAccessState();
  $("access-form").addEventListener("submit", ev => {
    ev.preventDefault();
    sessionStorage.setItem("enmon-token", $("token").value.trim());
    sessionStorage.setItem("enmon-ack-name", $("ack-name").value.trim());
    showAccessState();
    $("access").open = false;
    reconnect();
    loadSavings();
    render();
  });
}

function showAccessState() {
  $("access-state").textContent = token() ? "token kept for this tab" : "no token";
}

function url(path, params) {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params || {})) if (v !== undefined && v !== null && v !== "") q.set(k, v);
  if (token() && path === "api/live") q.set("access_token", token()); // EventSource sends no headers
  const s = q.toString();
  return path + (s ? "?" + s : "");
}

class HttpError extends Error {
  constructor(status, body) {
    super((body && body.error) || ("HTTP " + status));
    this.status = status;
    this.body = body;
  }
}

async function api(path, params, method) {
  const headers = token() ? {Authorization: "Bearer " + token()} : {};
  const r = await fetch(url(path, params), {method: method || "GET", headers: headers});
  let body = null;
  try { body = await r.json(); } catch (e) { body = null; }
  if (!r.ok) throw new HttpError(r.status, body);
  return body;
}

function errorText(e) {
  if (e.status === 401) return "this enmond needs a token: enter it under “Token”";
  if (e.status === 404) return "not found (" + e.message + ")";
  return e.message || String(e);
}

// ---- charts ----------------------------------------------------------------------------------

const STEPS = [1e3, 5e3, 1e4, 3e4, 6e4, 12e4, 3e5, 6e5, 9e5, 18e5, 36e5, 72e5, 108e5, 216e5, 432e5,
               864e5, 1728e5, 6048e5];

// Tick instants in local time between t0 and t1 (about `want` of them), aligned to local midnight
// and calendar months, labelled in the browser's local time.
function timeTicks(t0, t1, want) {
  const span = Math.max(1, t1 - t0), out = [];
  if (span / 2592e6 > want / 2) { // months
    const months = Math.max(1, Math.ceil(span / 2592e6 / want));
    const d = new Date(t0);
    d.setDate(1); d.setHours(0, 0, 0, 0);
    while (d.getTime() < t0) d.setMonth(d.getMonth() + 1);
    for (; d.getTime() <= t1; d.setMonth(d.getMonth() + months))
      out.push({t: d.getTime(), label: d.toLocaleDateString([], {month: "short", year: "2-digit"})});
    return out;
  }
  const step = STEPS.find(s => span / s <= want) || 6048e5;
  const off = new Date(t0).getTimezoneOffset() * 60000; // local wall-clock alignment
  for (let t = Math.ceil((t0 - off) / step) * step + off; t <= t1; t += step) {
    const d = new Date(t);
    let label;
    if (step >= 864e5) label = d.toLocaleDateString([], {month: "short", day: "numeric"});
    else if (d.getHours() === 0 && d.getMinutes() === 0 && d.getSeconds() === 0 && step >= 36e5)
      label = d.toLocaleDateString([], {month: "short", day: "numeric"});
    else label = d.toLocaleTimeString([], step < 6e4 ? {hour: "2-digit", minute: "2-digit", second: "2-digit"}
                                                     : {hour: "2-digit", minute: "2-digit"});
    out.push({t: t, label: label});
  }
  return out;
}

function chartWidth(svg) {
  const w = svg.getBoundingClientRect().width || (svg.parentNode && svg.parentNode.clientWidth) || 800;
  return Math.max(240, Math.round(w));
}

function timeAxis(svg, x, t0, t1, top, bottom, width) {
  const want = Math.max(2, Math.floor(width / 90));
  for (const tick of timeTicks(t0, t1, want)) {
    const px = x(tick.t);
    svg.appendChild(svgEl("line", {x1: px, x2: px, y1: top, y2: bottom, class: "grid"}));
    const anchor = px > width - 24 ? "end" : px < 24 ? "start" : "middle"; // labels stay inside
    svg.appendChild(svgEl("text", {x: px, y: bottom + 13, "text-anchor": anchor, class: "tick"}, tick.label));
  }
}

// Live power: one band per program, each on its own scale (a 130 kW building does not flatten a
// 3 kW roof); zero line drawn, values below it are net export.
function drawLive(svg, series) {
  NS = NS || svg.namespaceURI;
  const n = Math.max(1, series.length);
  const W = chartWidth(svg), L = 8, R = 8, BAND = n === 1 ? 120 : 46, AX = 20, H = n * BAND + AX + 4;
  svg.setAttribute("viewBox", "0 0 " + W + " " + H);
  svg.setAttribute("height", H);
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  let t0 = Infinity, t1 = -Infinity, points = 0;
  for (const s of series) for (const p of s.pts) { t0 = Math.min(t0, p.t); t1 = Math.max(t1, p.t); }
  if (!(t1 > t0)) { t1 = (isFinite(t0) ? t0 : 0) + 60000; t0 = t1 - 60000; }
  const x = t => L + (t - t0) / (t1 - t0) * (W - L - R);
  timeAxis(svg, x, t0, t1, 0, n * BAND, W);
  series.forEach((s, i) => {
    const top = i * BAND + 14, h = BAND - 18, color = COLORS[i % COLORS.length];
    let lo = 0, hi = 0;
    for (const p of s.pts) { lo = Math.min(lo, p.v); hi = Math.max(hi, p.v); }
    if (hi === lo) hi = lo + 1;
    const y = v => top + (hi - v) / (hi - lo) * h;
    svg.appendChild(svgEl("line", {x1: L, x2: W - R, y1: y(0), y2: y(0), class: "zero"}));
    const line = svgEl("polyline", {points: s.pts.map(p => x(p.t).toFixed(1) + "," + y(p.v).toFixed(1)).join(" "),
                                    fill: "none", stroke: color, "stroke-width": 2, "data-program": s.id});
    svg.appendChild(line);
    points += s.pts.length;
    const last = s.pts.length ? s.pts[s.pts.length - 1].v : null;
    const scale = (W < 600 ? "" : "scale ") + power(lo) + " … " + power(hi);
    const value = last === null ? "" : ": " + power(last);
    // the name is shortened so that name, value and scale fit the width (12 px text: ~7 px a char)
    const room = Math.floor((W - L - R) / 7) - scale.length - value.length - 2;
    const name = s.label.length > room ? s.label.slice(0, Math.max(3, room - 1)) + "…" : s.label;
    svg.appendChild(svgEl("text", {x: L, y: top - 3, class: "label", fill: color}, name + value));
    svg.appendChild(svgEl("text", {x: W - R, y: top - 3, "text-anchor": "end", class: "scale"}, scale));
  });
  svg.setAttribute("data-points", String(points));
  svg.setAttribute("data-frames", String(state.frames));
}

const BUCKET_MS = {interval: 9e5, hour: 36e5, day: 864e5};

// Energy bars from /api/history: import (consumption) above zero, export (production) below,
// the net as a black tick; every bucket has a tooltip with its figures.
function drawBars(svg, doc) {
  NS = NS || svg.namespaceURI;
  const W = chartWidth(svg), L = 66, R = 8, T = 8, H = 220, AX = 20;
  svg.setAttribute("viewBox", "0 0 " + W + " " + (H + AX));
  svg.setAttribute("height", H + AX);
  while (svg.firstChild) svg.removeChild(svg.firstChild);
  const pts = doc.points || [];
  const width = p => doc.bucket === "month" ? (() => { const d = new Date(p.t_ms); d.setMonth(d.getMonth() + 1);
                                                        return d.getTime() - p.t_ms; })()
                                             : BUCKET_MS[doc.bucket] || 864e5;
  let t0 = new Date(doc.from + "T00:00:00").getTime();
  let t1 = new Date(shiftDay(doc.to, "day", 1) + "T00:00:00").getTime();
  let hi = 0, lo = 0;
  for (const p of pts) {
    t0 = Math.min(t0, p.t_ms); t1 = Math.max(t1, p.t_ms + width(p));
    hi = Math.max(hi, p.import_kwh, p.net_kwh); lo = Math.min(lo, -p.export_kwh, p.net_kwh);
  }
  if (hi === lo) hi = 1;
  const x = t => L + (t - t0) / (t1 - t0) * (W - L - R);
  const y = v => T + (hi - v) / (hi - lo) * (H - T);
  timeAxis(svg, x, t0, t1, T, H, W);
  for (const v of [hi, 0, lo]) {
    if (v === 0 || Math.abs(v) > 1e-9) {
      svg.appendChild(svgEl("text", {x: L - 4, y: y(v) + 4, "text-anchor": "end", class: "tick"}, energy(v)));
    }
  }
  for (const p of pts) {
    const x0 = x(p.t_ms), bw = Math.max(1, x(p.t_ms + width(p)) - x0 - (pts.length > 200 ? 0 : 1));
    const g = svgEl("g", {"data-t": p.t_ms});
    g.appendChild(svgEl("title", {}, localTime(p.t_ms, true) + ": import " + p.import_kwh.toFixed(3) +
                        " kWh, export " + p.export_kwh.toFixed(3) + " kWh, net " + p.net_kwh.toFixed(3) + " kWh"));
    if (p.import_kwh > 0)
      g.appendChild(svgEl("rect", {x: x0, width: bw, y: y(p.import_kwh), height: y(0) - y(p.import_kwh), class: "imp"}));
    if (p.export_kwh > 0)
      g.appendChild(svgEl("rect", {x: x0, width: bw, y: y(0), height: y(-p.export_kwh) - y(0), class: "exp"}));
    g.appendChild(svgEl("rect", {x: x0, width: bw, y: y(p.net_kwh) - 1, height: 2, class: "net"}));
    svg.appendChild(g);
  }
  svg.appendChild(svgEl("line", {x1: L, x2: W - R, y1: y(0), y2: y(0), class: "zero"}));
  svg.setAttribute("data-bars", String(pts.length));
  svg.enmonDoc = doc; // redrawn at the new width on resize
  svg.setAttribute("data-bucket", doc.bucket || "");
}

// A history widget: day/week/month/year, previous/next, the bars and the period's totals.
function historyWidget(box, level, id, extra) {
  box.textContent = "";
  box.dataset.level = level;
  box.dataset.id = id;
  const bar = el("div", {class: "hist-controls"});
  const views = ["day", "week", "month", "year"];
  const st = {view: box.dataset.view || "day", end: null, doc: null};
  const btn = {};
  for (const v of views) {
    btn[v] = el("button", {type: "button", "data-view": v}, v);
    btn[v].addEventListener("click", () => { st.view = v; load(); });
    bar.appendChild(btn[v]);
  }
  const prev = el("button", {type: "button", class: "prev", "aria-label": "earlier"}, "◀");
  const next = el("button", {type: "button", class: "next", "aria-label": "later"}, "▶");
  const label = el("span", {class: "hist-range"});
  bar.append(prev, label, next);
  const svg = svgEl("svg", {class: "chart bars", role: "img", "aria-label": "energy per bucket"});
  const sum = el("div", {class: "hist-sum"});
  box.append(bar, svg, sum);
  if (extra) box.appendChild(extra);
  const step = {day: ["day", 1], week: ["day", 7], month: ["month", 1], year: ["year", 1]};
  prev.addEventListener("click", () => { if (st.doc) { st.end = shiftDay(st.doc.to, step[st.view][0], -step[st.view][1]); load(); } });
  next.addEventListener("click", () => { if (st.doc) { st.end = shiftDay(st.doc.to, step[st.view][0], step[st.view][1]); load(); } });
  async function load() {
    for (const v of views) btn[v].classList.toggle("on", v === st.view);
    box.dataset.view = st.view;
    box.dataset.ready = "0";
    try {
      const doc = await api("api/history", {level: level, id: id, view: st.view, end: st.end});
      st.doc = doc;
      label.textContent = doc.from === doc.to ? doc.from : doc.from + " … " + doc.to;
      drawBars(svg, doc);
      let imp = 0, exp = 0;
      for (const p of doc.points) { imp += p.import_kwh; exp += p.export_kwh; }
      sum.textContent = "import " + energy(imp) + " · export " + energy(exp) + " · net " + energy(imp - exp) +
                        " · " + doc.points.length + " " + doc.bucket + (doc.points.length === 1 ? "" : "s");
      box.dataset.ready = "1";
    } catch (e) {
      label.textContent = "";
      while (svg.firstChild) svg.removeChild(svg.firstChild);
      sum.textContent = e.status === 404 || e.status === 400 && !e.body
        ? "no history: this enmond does not serve /api/history" : "history: " + errorText(e);
      box.dataset.ready = "error";
    }
  }
  return load();
}

// ---- live frames: overview -----------------------------------------------------------------

function showPrograms(programs) {
  const tbody = document.querySelector("#programs tbody");
  tbody.textContent = "";
  for (const p of programs) {
    const tr = el("tr", {"data-program": p.id});
    const name = el("td");
    name.appendChild(link("#/program/" + encodeURIComponent(p.id), p.name));
    tr.appendChild(name);
    tr.appendChild(el("td", {}, p.kind));
    tr.appendChild(el("td", {class: "num"}, (p.power_w / 1000).toFixed(2)));
    tr.appendChild(el("td", {class: "num"}, (p.energy_today_wh / 1000).toFixed(1)));
    tr.appendChild(el("td", {class: "num"}, p.online + "/" + p.devices));
    tr.appendChild(el("td", {class: "num"}, String(p.alerts_active)));
    tbody.appendChild(tr);
  }
}

// withProgram: a program column (the overview); withSite: a site column linking to its page
function deviceRow(d, withProgram, withSite) {
  const tr = el("tr", {"data-device": d.id, "data-availability": d.availability});
  const name = el("td");
  name.appendChild(link("#/device/" + encodeURIComponent(d.id), d.id));
  tr.appendChild(name);
  if (withProgram) tr.appendChild(el("td", {}, d.program));
  if (withSite) {
    const site = el("td");
    if (d.site) site.appendChild(link("#/site/" + encodeURIComponent(d.site), d.site));
    tr.appendChild(site);
  }
  tr.appendChild(el("td", {}, d.kind));
  tr.appendChild(el("td", {}, d.availability));
  const r = d.last_reading || d;
  tr.appendChild(el("td", {class: "num"}, r.leakage_ma !== undefined ? r.leakage_ma.toFixed(1) + " mA leakage"
                                         : r.power_w === undefined ? "–" : String(Math.round(r.power_w))));
  tr.appendChild(el("td", {}, ago(d.last_seen_ms)));
  return tr;
}

function showDevices(frame) {
  const tbody = document.querySelector("#devices tbody");
  tbody.textContent = "";
  $("devices-note").textContent =
    frame.devices_complete ? "" : "(offline devices only: the city is large; open a program to search all)";
  for (const d of frame.devices) tbody.appendChild(deviceRow(d, true));
}

function ackText(a) {
  return a.acked_by ? "acknowledged by " + a.acked_by + (a.acked_ms ? " " + ago(a.acked_ms) : "") : "";
}

function alertItem(a) {
  const li = el("li", {class: a.severity, "data-alert-id": a.id, "data-rule": a.rule,
                       "data-row": a.row === null ? undefined : a.row, "data-acked": a.acked_by ? "1" : "0",
                       "data-state": a.state});
  const head = el("strong");
  head.appendChild(link("#/device/" + encodeURIComponent(a.device), a.device));
  head.appendChild(document.createTextNode(" · " + a.rule));
  li.appendChild(head);
  li.appendChild(document.createTextNode(" — " + a.cause + " (" + ago(a.raised_ms || a.first_seen_ms) + ")"));
  if (a.acked_by) li.appendChild(el("span", {class: "acked"}, " ✓ " + ackText(a)));
  return li;
}

function showAlerts(alerts) {
  const ul = $("alerts");
  ul.textContent = "";
  ul.setAttribute("data-count", String(alerts.length));
  if (!alerts.length) ul.appendChild(el("li", {class: "none"}, "none"));
  for (const a of alerts) ul.appendChild(alertItem(a));
  $("nav-alerts").textContent = alerts.length ? String(alerts.length) : "";
}

function cityName(frame) {
  const c = frame.city;
  const name = c.name && c.name !== "city" ? c.name
             : frame.programs.length + " programs · " + c.devices.toLocaleString() + " devices";
  if ($("city-name").textContent !== name) {
    $("city-name").textContent = name;
    document.title = "enmon — " + name;
  }
}

function drawOverviewChart() {
  if (!state.frame) return;
  drawLive($("chart"), state.frame.programs.map(p => ({id: p.id, label: p.name,
                                                       pts: (live.get(p.id) || []).map(q => ({t: q.t, v: q.w}))})));
}

function onFrame(frame) {
  state.frames++;
  state.frame = frame;
  state.frameAt = Date.now();
  const c = frame.city;
  cityName(frame);
  $("city-produced").textContent = kw(c.produced_w);
  $("city-consumed").textContent = kw(c.consumed_w);
  $("city-today").textContent = kwh(c.energy_today_wh);
  $("city-online").textContent = c.online + " / " + c.devices;
  $("city-alerts").textContent = String(c.alerts_active);
  for (const p of frame.programs) {
    if (!live.has(p.id)) live.set(p.id, []);
    const pts = live.get(p.id);
    pts.push({t: frame.ts_ms, w: p.power_w});
    if (pts.length > HISTORY) pts.shift();
  }
  state.programNames = new Map(frame.programs.map(p => [p.id, p.name]));
  if (!state.route || state.route.page === "overview") drawOverviewChart();
  showPrograms(frame.programs);
  showDevices(frame);
  showAlerts(frame.alerts);
  if (state.route && state.route.page === "program") programLive(state.route.id);
  if (!state.savings && !state.savingsLoading) loadSavings(state.route.page === "overview");
  checkStale();
}

// ---- stale data ------------------------------------------------------------------------------

function checkStale() {
  const age = state.frameAt ? Date.now() - state.frameAt : Infinity;
  const stale = state.conn !== "live" || age > STALE_FRAMES * FRAME_MS;
  document.body.classList.toggle("stale", stale && state.frames > 0);
  const banner = $("stale");
  if (stale && state.frames > 0) {
    banner.hidden = false;
    banner.textContent = "Stale data: last update " + localTime(state.frame.ts_ms, true) + " (" +
                         Math.round(age / 1000) + " s ago)" +
                         (state.conn === "live" ? "; no new frame" : "; connection lost, retrying…");
  } else banner.hidden = true;
  const conn = $("conn");
  if (stale && state.frames > 0 && state.conn === "live") {
    conn.textContent = "stale";
    conn.setAttribute("data-state", "stale");
  }
}

let source = null, retryTimer = null;
function connect() {
  const conn = $("conn");
  const es = new EventSource(url("api/live"));
  source = es;
  es.addEventListener("summary", ev => {
    state.conn = "live";
    conn.textContent = "live";
    conn.setAttribute("data-state", "live");
    onFrame(JSON.parse(ev.data));
  });
  es.onerror = () => {
    state.conn = "lost";
    conn.textContent = "connection lost, retrying…";
    conn.setAttribute("data-state", "lost");
    checkStale();
    if (es.readyState === EventSource.CLOSED && !retryTimer) // 401, 503: the browser gives up; we do not
      retryTimer = setTimeout(() => { retryTimer = null; if (source === es) connect(); }, 5000);
  };
}
function reconnect() {
  if (source) source.close();
  connect();
}

// ---- savings ---------------------------------------------------------------------------------

function intervalText(r) {
  return r && r.has_interval && r.saved_low_kwh !== null && r.saved_high_kwh !== null
    ? num(r.saved_low_kwh, 1) + " … " + num(r.saved_high_kwh, 1) : "";
}

function savingsTile(id, doc) {
  const t = doc.total;
  $(id).textContent = (t.saved_kwh === null || t.saved_kwh === undefined ? "–" : t.saved_kwh.toFixed(1)) +
                      " kWh · " + (t.krw === null || t.krw === undefined ? "–" : Math.round(t.krw).toLocaleString()) + " KRW";
  const notes = [];
  const iv = intervalText(t);
  if (iv) notes.push("90 %: " + iv + " kWh");
  const progs = doc.programs || [];
  const insufficient = progs.filter(p => p.saved_kwh === null || /insufficient|none/.test(p.data || "")).length;
  if (insufficient) notes.push("data insufficient for " + insufficient + " of " + progs.length + " programs");
  if (doc.defaults_in_use) notes.push("built-in defaults");
  const note = $(id + "-note");
  note.textContent = notes.join(" · ");
  note.className = "sub" + (insufficient || doc.defaults_in_use ? " warn" : "");
  $(id).title = iv ? "90 % interval " + iv + " kWh" : "";
}

function savingsRow(p) {
  const tr = el("tr", {"data-program": p.program, "data-data": p.data});
  const name = el("td");
  name.appendChild(link("#/program/" + encodeURIComponent(p.program), p.program));
  tr.appendChild(name);
  tr.appendChild(el("td", {}, p.method || "–"));
  tr.appendChild(el("td", {class: /insufficient|none/.test(p.data || "") ? "warn" : ""}, p.data || "–"));
  tr.appendChild(el("td", {class: "num"}, num(p.saved_kwh, 1)));
  tr.appendChild(el("td", {class: "num interval"}, intervalText(p) || "–"));
  tr.appendChild(el("td", {class: "num"}, p.krw === null || p.krw === undefined ? "–" : Math.round(p.krw).toLocaleString()));
  return tr;
}

function defaultsNote(doc) {
  return doc.defaults_in_use
    ? "Savings use enmon's built-in defaults: no savings.yaml was found" +
      (doc.config_source ? " (" + doc.config_source + ")" : "") + ". Figures are indicative only."
    : "";
}

function showSavings(doc) {
  state.savings = doc;
  savingsTile("savings-today", doc);
  $("savings-range").textContent = "(" + (doc.from === doc.to ? doc.from : doc.from + " … " + doc.to) +
                                   (doc.config_source ? "; parameters: " + doc.config_source : "") + ")";
  const note = $("savings-defaults");
  note.textContent = defaultsNote(doc);
  note.hidden = !doc.defaults_in_use;
  const tbody = document.querySelector("#savings tbody");
  tbody.textContent = "";
  for (const p of doc.programs || []) tbody.appendChild(savingsRow(p));
  if (state.route && state.route.page === "program") programSavings(state.route.id);
}

async function loadSavings(withYear) {
  state.savingsLoading = true;
  try {
    const doc = await api("api/savings");  // no dates: enmond's today (its clock and time zone)
    state.today = doc.to;
    showSavings(doc);
    if (withYear === false) return;
    const ytd = await api("api/savings", {from: doc.to.slice(0, 4) + "-01-01", to: doc.to});
    state.ytd = ytd;
    savingsTile("savings-ytd", ytd);
  } catch (e) {
    for (const id of ["savings-today", "savings-ytd"]) {
      const had = (id === "savings-today" ? state.savings : state.ytd);
      if (!had) $(id).textContent = "n/a"; // else the last figures stay (greyed when stale)
      $(id + "-note").textContent = (had ? "refresh failed: " : "") + errorText(e);
    }
  } finally {
    state.savingsLoading = false;
  }
}

// ---- paged, searchable lists -------------------------------------------------------------------

// A list with a search box, an optional filter and pages of PAGE rows; fetch(q, filter, offset)
// returns {total, rows}.
function pagedList(box, opts) {
  box.textContent = "";
  const bar = el("div", {class: "list-controls"});
  const search = el("input", {type: "search", placeholder: opts.placeholder || "search", "aria-label": "search"});
  bar.appendChild(search);
  let filter = null;
  if (opts.filter) {
    filter = el("select", {"aria-label": "filter"});
    for (const [v, t] of opts.filter) filter.appendChild(el("option", {value: v}, t));
    bar.appendChild(filter);
  }
  const info = el("span", {class: "note count"});
  const prev = el("button", {type: "button"}, "◀");
  const next = el("button", {type: "button"}, "▶");
  bar.append(prev, info, next);
  const wrap = el("div", {class: "scroll"});
  const table = el("table", {class: opts.cls || ""});
  const head = el("tr");
  for (const h of opts.head) head.appendChild(el("th", {class: h.endsWith(" ") ? "num" : ""}, h.trim()));
  const thead = el("thead");
  thead.appendChild(head);
  const tbody = el("tbody");
  table.append(thead, tbody);
  wrap.appendChild(table);
  box.append(bar, wrap);
  let offset = 0, total = 0, timer = null, seq = 0;
  async function load() {
    const my = ++seq;
    box.dataset.ready = "0";
    try {
      const res = await opts.fetch(search.value.trim(), filter ? filter.value : "", offset);
      if (my !== seq) return;
      total = res.total;
      tbody.textContent = "";
      for (const r of res.rows) tbody.appendChild(opts.row(r));
      if (!res.rows.length) tbody.appendChild(el("tr", {class: "none"}, "")).appendChild(
        el("td", {colspan: opts.head.length}, "none"));
      info.textContent = total ? (offset + 1) + "–" + (offset + res.rows.length) + " of " + total.toLocaleString() : "0";
      box.dataset.total = String(total);
      prev.disabled = offset === 0;
      next.disabled = offset + PAGE >= total;
      box.dataset.ready = "1";
    } catch (e) {
      tbody.textContent = "";
      info.textContent = errorText(e);
      box.dataset.ready = "error";
    }
  }
  search.addEventListener("input", () => { clearTimeout(timer); timer = setTimeout(() => { offset = 0; load(); }, 250); });
  if (filter) filter.addEventListener("change", () => { offset = 0; load(); });
  prev.addEventListener("click", () => { offset = Math.max(0, offset - PAGE); load(); });
  next.addEventListener("click", () => { if (offset + PAGE < total) { offset += PAGE; load(); } });
  return load();
}

function matches(q, ...fields) {
  if (!q) return true;
  q = q.toLowerCase();
  return fields.some(f => f && String(f).toLowerCase().includes(q));
}

// GET /api/devices with search and paging; an enmond without them returns the whole array, which
// is then filtered and paged here.
async function fetchDevices(params, q, availability, offset) {
  const doc = await api("api/devices", Object.assign({}, params, {q: q, availability: availability,
                                                                  offset: offset, limit: PAGE}));
  if (!Array.isArray(doc)) return {total: doc.total, rows: doc.devices};
  const all = doc.filter(d => (!params.program || d.program === params.program) &&
                              (!params.site || d.site === params.site) &&
                              (!availability || d.availability === availability) &&
                              matches(q, d.id, d.name, d.site));
  return {total: all.length, rows: all.slice(offset, offset + PAGE)};
}

async function fetchSites(program) {
  const doc = await api("api/sites", {program: program});
  const all = Array.isArray(doc) ? doc : doc.sites || [];
  return all.filter(s => !program || s.program === program);
}

const AVAIL = [["", "all"], ["online", "online"], ["offline", "offline"], ["unknown", "unknown"]];

function deviceList(box, params) {
  const withSite = !params.site;
  return pagedList(box, {placeholder: "search devices", filter: AVAIL, cls: "devices",
                         head: ["Device"].concat(withSite ? ["Site"] : [], ["Kind", "Availability", "Power W ",
                                                                            "Last seen"]),
                         fetch: (q, f, off) => fetchDevices(params, q, f, off),
                         row: d => deviceRow(d, false, withSite)});
}

// ---- pages -----------------------------------------------------------------------------------

function page(name) {
  for (const p of document.querySelectorAll(".page")) p.hidden = p.dataset.page !== name;
  const box = $("page-" + name);
  return box;
}

function heading(box, title, crumbs) {
  const nav = el("div", {class: "crumbs"});
  nav.appendChild(link("#/", "overview"));
  for (const [href, text] of crumbs || []) {
    nav.appendChild(document.createTextNode(" › "));
    nav.appendChild(href ? link(href, text) : el("span", {}, text));
  }
  box.appendChild(nav);
  box.appendChild(el("h2", {class: "page-title"}, title));
}

function section(box, title, cls) {
  const s = el("section", {class: cls || ""});
  if (title) s.appendChild(el("h3", {}, title));
  box.appendChild(s);
  return s;
}

function tiles(box, items) {
  const t = el("div", {class: "tiles"});
  for (const [label, value, id] of items) {
    const tile = el("div", {class: "tile"});
    tile.appendChild(el("div", {class: "label"}, label));
    tile.appendChild(el("div", {class: "value", id: id}, value));
    t.appendChild(tile);
  }
  box.appendChild(t);
}

function ready(box, t0) {
  const ms = performance.now() - t0;
  box.dataset.ready = "1";
  box.dataset.readyMs = ms.toFixed(0);          // from the route's start (a click, a new hash)
  box.dataset.readyAt = performance.now().toFixed(0); // from the navigation's start (a fresh load)
}

async function programPage(id, t0) {
  const box = page("program");
  box.textContent = "";
  box.dataset.ready = "0";
  box.dataset.id = id;
  const name = (state.programNames && state.programNames.get(id)) || id;
  heading(box, name, [[null, "program " + id]]);
  tiles(box, [["Power now", "–", "prog-power"], ["Online", "–", "prog-online"],
              ["Active alerts", "–", "prog-alerts"], ["Today import", "–", "prog-import"],
              ["Today export", "–", "prog-export"]]);
  const chartBox = section(box, "Live power (this tab)");
  chartBox.appendChild(svgEl("svg", {id: "prog-chart", class: "chart", role: "img",
                                     "aria-label": "live power of the program"}));
  const sav = section(box, "Savings", "prog-savings");
  sav.id = "prog-savings";
  const hist = section(box, "Energy from the store");
  const histBox = el("div", {class: "history", id: "prog-history"});
  hist.appendChild(histBox);
  const devs = section(box, "Devices");
  const devBox = el("div", {id: "prog-devices"});
  devs.appendChild(devBox);
  // every site of the program: /api/sites has no paging (10,000 rows for AMI), so a large
  // program lists them when asked (each device row links to its site)
  const sites = section(box, "");
  const details = el("details", {id: "prog-sites-details"});
  details.appendChild(el("summary", {}, "Sites"));
  const sitesBox = el("div", {id: "prog-sites"});
  details.appendChild(sitesBox);
  sites.appendChild(details);
  programLive(id);
  programSavings(id);
  let siteCache = null;
  const jobs = [
    api("api/programs").then(progs => {
      const list = Array.isArray(progs) ? progs : progs.programs || [];
      const p = list.find(x => x.id === id);
      if (!p) throw new HttpError(404, {error: "no program " + id});
      box.querySelector(".page-title").textContent = p.name;
      $("prog-import").textContent = energy(p.energy_today_import_kwh || 0);
      $("prog-export").textContent = energy(p.energy_today_export_kwh || 0);
      if (!state.frame) {
        $("prog-power").textContent = power(p.power_w);
        $("prog-online").textContent = p.online + " / " + p.devices;
        $("prog-alerts").textContent = String(p.alerts_active);
      }
      if (p.devices <= 500) { // a small program lists its sites at once
        details.open = true;
        return siteList();
      }
    }).catch(e => { box.querySelector(".page-title").textContent = name + " — " + errorText(e); }),
    deviceList(devBox, {program: id}),
    historyWidget(histBox, "program", id),
  ];
  function siteList() {
    return pagedList(sitesBox, {placeholder: "search sites", cls: "sites",
                         head: ["Site", "Kind", "Today import kWh ", "Today export kWh "],
                         fetch: async (q, f, off) => {
                           siteCache = siteCache || await fetchSites(id);
                           const all = siteCache.filter(s => matches(q, s.id, s.name));
                           return {total: all.length, rows: all.slice(off, off + PAGE)};
                         },
                         row: s => {
                           const tr = el("tr", {"data-site": s.id});
                           const td = el("td");
                           td.appendChild(link("#/site/" + encodeURIComponent(s.id), s.name || s.id));
                           tr.appendChild(td);
                           tr.appendChild(el("td", {}, s.kind || ""));
                           tr.appendChild(el("td", {class: "num"}, num(s.energy_today_import_kwh, 2)));
                           tr.appendChild(el("td", {class: "num"}, num(s.energy_today_export_kwh, 2)));
                           return tr;
                         }});
  }
  details.addEventListener("toggle", () => { if (details.open && !sitesBox.dataset.ready) siteList(); });
  await Promise.all(jobs);
  if (state.route && state.route.page === "program" && state.route.id === id) ready(box, t0);
  // savings are computed on request and take a while for a large city: asked for once the page
  // is ready, so they do not hold up its lists (this year's only on the overview)
  if (!state.savings && !state.savingsLoading) loadSavings(false);
}

function programLive(id) {
  if (!state.frame || !$("prog-power")) return;
  const p = state.frame.programs.find(x => x.id === id);
  if (!p) return;
  $("prog-power").textContent = power(p.power_w);
  $("prog-online").textContent = p.online + " / " + p.devices;
  $("prog-alerts").textContent = String(p.alerts_active);
  const pts = (live.get(id) || []).map(q => ({t: q.t, v: q.w}));
  drawLive($("prog-chart"), [{id: id, label: p.name, pts: pts}]);
}

function programSavings(id) {
  const box = $("prog-savings");
  if (!box) return;
  while (box.childNodes.length > 1) box.removeChild(box.lastChild);
  const doc = state.savings;
  if (!doc) { box.appendChild(el("p", {class: "note"}, "loading…")); return; }
  const p = (doc.programs || []).find(x => x.program === id);
  if (!p) { box.appendChild(el("p", {class: "note"}, "no savings figures for this program")); return; }
  if (doc.defaults_in_use) box.appendChild(el("p", {class: "warn defaults"}, defaultsNote(doc)));
  const dl = el("dl", {class: "facts"});
  const y = state.ytd && (state.ytd.programs || []).find(x => x.program === id);
  const facts = [["Period", doc.from === doc.to ? doc.from : doc.from + " … " + doc.to],
                 ["Method", p.method || "–"], ["Data", p.data || "–"], ["Devices", String(p.devices)],
                 ["Actual kWh", num(p.actual_kwh, 1)], ["Saved kWh", num(p.saved_kwh, 1)],
                 ["90 % interval kWh", intervalText(p) || "none"],
                 ["KRW", p.krw === null || p.krw === undefined ? "–" : Math.round(p.krw).toLocaleString()],
                 ["CO₂ kg", num(p.co2_kg, 1)]];
  if (y) facts.push(["This year saved kWh", num(y.saved_kwh, 1) + (intervalText(y) ? " (90 %: " + intervalText(y) + ")" : "")]);
  for (const [k, v] of facts) {
    dl.appendChild(el("dt", {}, k));
    dl.appendChild(el("dd", {"data-fact": k}, v));
  }
  box.appendChild(dl);
}

async function sitePage(id, t0) {
  const box = page("site");
  box.textContent = "";
  box.dataset.ready = "0";
  box.dataset.id = id;
  heading(box, id, [[null, "site " + id]]);
  const info = el("p", {class: "note site-info"});
  box.appendChild(info);
  const hist = section(box, "Energy from the store");
  const histBox = el("div", {class: "history", id: "site-history"});
  hist.appendChild(histBox);
  const devs = section(box, "Devices");
  const devBox = el("div", {id: "site-devices"});
  devs.appendChild(devBox);
  const first = fetchDevices({site: id}, "", "", 0).then(async res => {
    if (!res.rows.length) return;
    const prog = res.rows[0].program;
    const crumbs = box.querySelector(".crumbs");
    crumbs.insertBefore(document.createTextNode(" › "), crumbs.lastChild);
    crumbs.insertBefore(link("#/program/" + encodeURIComponent(prog), prog), crumbs.lastChild.previousSibling);
    const s = (await fetchSites(prog)).find(x => x.id === id);
    if (s) {
      box.querySelector(".page-title").textContent = s.name || s.id;
      info.textContent = "program " + prog + " · " + (s.kind || "") + " · today import " + num(s.energy_today_import_kwh, 2) +
                         " kWh, export " + num(s.energy_today_export_kwh, 2) + " kWh";
    }
  }).catch(e => { info.textContent = errorText(e); });
  await Promise.all([first, deviceList(devBox, {site: id}), historyWidget(histBox, "site", id)]);
  if (state.route && state.route.page === "site" && state.route.id === id) ready(box, t0);
}

const READING_LABELS = [["power_w", "Power", "W"], ["voltage_v", "Voltage", "V"], ["current_a", "Current", "A"],
                        ["frequency_hz", "Frequency", "Hz"], ["pf", "Power factor", ""],
                        ["power_factor", "Power factor", ""], ["temperature_c", "Temperature", "°C"],
                        ["leakage_ma", "Leakage", "mA"], ["state", "State", ""], ["events", "Events", ""]];

function valueText(v) {
  if (v === null || v === undefined) return "–";
  if (Array.isArray(v)) return v.length ? v.map(x => typeof x === "object" ? JSON.stringify(x) : x).join(", ") : "none";
  if (typeof v === "object") return JSON.stringify(v);
  return String(v);
}

function objectTable(rows, cls) {
  const wrap = el("div", {class: "scroll"});
  const table = el("table", {class: cls});
  wrap.appendChild(table);
  if (!rows || !rows.length) {
    table.appendChild(el("tr")).appendChild(el("td", {}, "none"));
    return wrap;
  }
  const keys = [];
  for (const r of rows) for (const k of Object.keys(r)) if (!keys.includes(k) && !(k.endsWith("_ms") && keys.includes(k.slice(0, -3)))) keys.push(k);
  const head = el("tr");
  for (const k of keys) head.appendChild(el("th", {}, k.replace(/_ms$/, "")));
  table.appendChild(el("thead")).appendChild(head);
  const tbody = el("tbody");
  for (const r of rows) {
    const tr = el("tr");
    for (const k of keys) tr.appendChild(el("td", {}, k.endsWith("_ms") && typeof r[k] === "number" ? localTime(r[k], true)
                                                                                                      : valueText(r[k])));
    tbody.appendChild(tr);
  }
  table.appendChild(tbody);
  return wrap;
}

async function devicePage(id, t0) {
  const box = page("device");
  box.textContent = "";
  box.dataset.ready = "0";
  box.dataset.id = id;
  heading(box, id, [[null, "device " + id]]);
  let d;
  try {
    d = await api("api/devices/" + encodeURIComponent(id));
  } catch (e) {
    box.appendChild(el("p", {class: "warn"}, errorText(e)));
    box.dataset.ready = "error";
    return;
  }
  box.enmonDevice = d; // the reply this page shows (tests compare the page with it)
  const crumbs = box.querySelector(".crumbs");
  crumbs.textContent = "";
  crumbs.append(link("#/", "overview"), " › ", link("#/program/" + encodeURIComponent(d.program), d.program),
                " › ", link("#/site/" + encodeURIComponent(d.site), d.site), " › ", el("span", {}, id));
  box.querySelector(".page-title").textContent = d.name && d.name !== d.id ? d.name + " (" + d.id + ")" : d.id;
  tiles(box, [["Availability", d.availability, "dev-availability"], ["Kind", d.kind, "dev-kind"],
              ["Last seen", d.last_seen_ms ? localTime(d.last_seen_ms, true) : "never", "dev-last-seen"],
              ["Last error", d.last_error || "none", "dev-error"]]);
  $("dev-availability").dataset.availability = d.availability;
  const latest = d.latest || d.last_reading || {};
  const rs = section(box, "Latest reading" + (latest.ts_ms ? " (" + localTime(latest.ts_ms, true) + ")" : ""));
  const dl = el("dl", {class: "facts", id: "dev-latest"});
  const shown = new Set();
  for (const [k, label, unit] of READING_LABELS) {
    if (!(k in latest)) continue;
    shown.add(k);
    dl.appendChild(el("dt", {}, label));
    dl.appendChild(el("dd", {"data-key": k}, valueText(latest[k]) + (unit ? " " + unit : "")));
  }
  for (const [k, v] of Object.entries(latest)) {
    if (shown.has(k) || ["ts_ms", "ts", "device", "program", "site", "kind"].includes(k)) continue;
    dl.appendChild(el("dt", {}, k));
    dl.appendChild(el("dd", {"data-key": k}, valueText(v)));
  }
  if (!dl.childNodes.length) dl.appendChild(el("dd", {}, "no reading yet"));
  rs.appendChild(dl);
  const hs = section(box, "Energy from the store");
  const histBox = el("div", {class: "history", id: "dev-history"});
  hs.appendChild(histBox);
  const dlinks = el("p", {class: "downloads"});
  const end = state.today || isoDay(new Date());
  const from = shiftDay(end, "day", -30);
  dlinks.append("15-minute intervals " + from + " … " + end + ": ");
  for (const fmt of ["csv", "json"]) {
    const a = link(url("api/intervals", {device: id, from: from, to: end, format: fmt}), fmt.toUpperCase());
    a.setAttribute("download", id + "-intervals." + fmt);
    a.dataset.format = fmt;
    a.addEventListener("click", ev => { if (token()) { ev.preventDefault(); download(a); } });
    dlinks.append(a, " ");
  }
  const as = section(box, "Alerts");
  const ul = el("ul", {class: "alerts", id: "dev-alerts"});
  let alerts = d.alerts;
  if (!alerts) { // an enmond whose device object has no alerts: the device's part of the history
    try {
      const all = await api("api/alerts", {all: 1});
      alerts = (Array.isArray(all) ? all : all.alerts || []).filter(a => a.device === id);
    } catch (e) { alerts = []; }
  }
  for (const a of alerts) ul.appendChild(alertItem(a));
  if (!ul.childNodes.length) ul.appendChild(el("li", {class: "none"}, "none"));
  as.appendChild(ul);
  const av = section(box, "Availability history");
  av.appendChild(objectTable(d.availability_history, "availability"));
  await historyWidget(histBox, "device", id, dlinks);
  if (state.route && state.route.page === "device" && state.route.id === id) ready(box, t0);
}

// A download that needs the Authorization header: fetched here, handed to the browser as a blob.
async function download(a) {
  try {
    const r = await fetch(a.getAttribute("href"), {headers: {Authorization: "Bearer " + token()}});
    if (!r.ok) throw new Error("HTTP " + r.status);
    const blobUrl = URL.createObjectURL(await r.blob());
    const tmp = el("a", {href: blobUrl, download: a.getAttribute("download")});
    document.body.appendChild(tmp);
    tmp.click();
    tmp.remove();
    setTimeout(() => URL.revokeObjectURL(blobUrl), 10000);
  } catch (e) {
    a.textContent = a.dataset.format.toUpperCase() + " (" + e.message + ")";
  }
}

async function acknowledge(a, msg) {
  if (!token() || !ackName()) {
    msg.textContent = "enter the token and your name under “Token” first";
    $("access").open = true;
    return false;
  }
  try {
    const done = await api("api/alerts/" + encodeURIComponent(a.row) + "/ack", {by: ackName()}, "POST");
    msg.textContent = ackText(done);
    return true;
  } catch (e) {
    if (e.status === 409) { msg.textContent = "already " + ackText(e.body.alert || {}); return true; }
    msg.textContent = e.status === 403 ? e.message : errorText(e);
    return false;
  }
}

function alertRow(a, reload) {
  const tr = el("tr", {class: a.severity, "data-alert-id": a.id, "data-row": a.row, "data-state": a.state,
                       "data-acked": a.acked_by ? "1" : "0"});
  tr.appendChild(el("td", {}, a.severity));
  const dev = el("td");
  dev.appendChild(link("#/device/" + encodeURIComponent(a.device), a.device));
  tr.appendChild(dev);
  tr.appendChild(el("td", {}, a.rule));
  tr.appendChild(el("td", {}, a.cause));
  tr.appendChild(el("td", {}, a.raised_ms ? localTime(a.raised_ms, true) : "–"));
  tr.appendChild(el("td", {}, a.state + (a.cleared_ms ? " " + localTime(a.cleared_ms, true) : "")));
  const ack = el("td", {class: "ack"});
  if (a.acked_by) ack.appendChild(el("span", {class: "acked"}, "✓ " + ackText(a)));
  else if (a.row !== null && a.row !== undefined) {
    const b = el("button", {type: "button", class: "ack-button"}, "Acknowledge");
    const msg = el("span", {class: "note"});
    b.addEventListener("click", async () => {
      b.disabled = true;
      if (await acknowledge(a, msg)) reload(); else b.disabled = false;
    });
    ack.append(b, msg);
  }
  tr.appendChild(ack);
  return tr;
}

async function alertsPage(t0) {
  const box = page("alerts");
  box.textContent = "";
  box.dataset.ready = "0";
  heading(box, "Alerts", [[null, "alerts"]]);
  const head = ["Severity", "Device", "Rule", "Cause", "Raised", "State", "Acknowledged"];
  const active = section(box, "Active");
  const activeBox = el("div", {id: "alerts-active"});
  active.appendChild(activeBox);
  const hist = section(box, "History (newest first)");
  const histBox = el("div", {id: "alerts-history"});
  hist.appendChild(histBox);
  let reloadAll = () => {};
  const list = (target, params) => pagedList(target, {
    placeholder: "search device, rule, cause", cls: "alert-table", head: head,
    filter: [["", "all"], ["unacked", "not acknowledged"], ["acked", "acknowledged"]],
    fetch: async (q, f, off) => {
      const doc = await api("api/alerts", params);
      const all = (Array.isArray(doc) ? doc : doc.alerts || []).filter(a =>
        matches(q, a.device, a.rule, a.cause, a.program, a.site) &&
        (!f || (f === "acked") === !!a.acked_by));
      return {total: all.length, rows: all.slice(off, off + PAGE)};
    },
    row: a => alertRow(a, () => reloadAll())});
  reloadAll = () => Promise.all([list(activeBox, {}), list(histBox, {all: 1})]);
  await reloadAll();
  if (state.route && state.route.page === "alerts") ready(box, t0);
}

// ---- routing ---------------------------------------------------------------------------------

function parseRoute() {
  const h = location.hash.replace(/^#\/?/, "");
  const [kind, ...rest] = h.split("/");
  const id = decodeURIComponent(rest.join("/"));
  if (kind === "program" && id) return {page: "program", id: id};
  if (kind === "site" && id) return {page: "site", id: id};
  if (kind === "device" && id) return {page: "device", id: id};
  if (kind === "alerts") return {page: "alerts"};
  return {page: "overview"};
}

let cityHistoryLoaded = false;
function render() {
  const t0 = performance.now();
  const r = parseRoute();
  state.route = r;
  document.body.dataset.page = r.page;
  for (const a of document.querySelectorAll("header nav a"))
    a.classList.toggle("on", a.getAttribute("href") === "#/" + (r.page === "overview" ? "" : r.page));
  if (r.page === "program") return programPage(r.id, t0);
  if (r.page === "site") return sitePage(r.id, t0);
  if (r.page === "device") return devicePage(r.id, t0);
  if (r.page === "alerts") return alertsPage(t0);
  const box = page("overview");
  box.dataset.ready = "1";
  if (state.savings && !state.ytd && !state.savingsLoading) loadSavings(true);
  if (!cityHistoryLoaded) { cityHistoryLoaded = true; historyWidget($("city-history"), "city", "city"); }
  drawOverviewChart(); // at this width
}

function favicon() {
  const svg = "<svg xmlns='" + NS + "' viewBox='0 0 16 16'><rect width='16' height='16' rx='3' fill='#1d3557'/>" +
              "<path d='M9 1 3 9h4l-1 6 6-8H8z' fill='#ffd166'/></svg>";
  $("favicon").setAttribute("href", "data:image/svg+xml," + encodeURIComponent(svg));
  $("favicon").setAttribute("type", "image/svg+xml");
}

NS = $("chart").namespaceURI;
adoptHashToken();
setupAccess();
favicon();
window.addEventListener("hashchange", render);
let resizeTimer = null;
window.addEventListener("resize", () => {
  clearTimeout(resizeTimer);
  resizeTimer = setTimeout(() => {
    if (state.route.page === "overview") drawOverviewChart();
    else if (state.route.page === "program") programLive(state.route.id);
    for (const svg of document.querySelectorAll(".page:not([hidden]) svg.bars"))
      if (svg.enmonDoc) drawBars(svg, svg.enmonDoc);
  }, 200);
});
connect();
render();
setInterval(checkStale, 1000);
setInterval(() => loadSavings(state.route.page === "overview"), 60000);
