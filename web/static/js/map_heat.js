// The map's heat-map layer: the IDW surface of one hour or one day (GET /api/v1/map/heatmap),
// a time picker (hour / day), step buttons and a play-through of the last 24 hours.  Every
// frame is one request (cached by the server); a late answer of an older frame is dropped.
// Fewer than three stations with values: no paint, the server's reason instead.
import { geo } from "./basemap.js";
import { api, el, fmtTime, addDays, toast } from "./common.js";

/* global L */
const HOUR_MS = 3600e3;
const FRAMES = 24;
const PLAY_MS = 1200;
const $ = (id) => document.getElementById(id);

function heatColor(value, min, max) {
  const t = max > min ? Math.min(1, Math.max(0, (value - min) / (max - min))) : 0.5;
  const hue = 120 - 120 * t; // green → red
  return `hsl(${hue}, 85%, 50%)`;
}

// The starts (ms) of the last FRAMES complete hours, oldest first.
export function lastHours(now = Date.now()) {
  const last = Math.floor(now / HOUR_MS) * HOUR_MS - HOUR_MS;
  return Array.from({ length: FRAMES }, (_, i) => last - (FRAMES - 1 - i) * HOUR_MS);
}

const hourLabel = (ms) => `${fmtTime(ms / 1000).slice(5, 13)}时`;

export function heatLayerControl(map) {
  let layer = null;
  let hours = lastHours();
  let frame = hours.length - 1;
  let seq = 0;
  let timer = null;
  let playing = false;
  let paused = false; // paused mid-way by the play button: play goes on from there
  const box = $("heat-state");
  const on = () => $("l-heat").checked;
  const mode = () => $("h-mode").value;

  function fillHours() {
    hours = lastHours();
    $("h-hour").replaceChildren(...hours.map((ms, i) => el("option", { value: String(i), text: hourLabel(ms) })));
    $("h-hour").value = String(frame);
  }

  function query() {
    const q = { what: $("h-what").value };
    if (mode() === "day") q.day = $("h-day").value;
    else q.hour = new Date(hours[frame]).toISOString();
    return q;
  }

  function clear() {
    if (layer) map.removeLayer(layer);
    layer = null;
  }

  async function load() {
    const mine = ++seq;
    const q = query();
    box.textContent = "计算中…";
    document.body.dataset.heatBusy = "1";
    try {
      const data = await api("/api/v1/map/heatmap", { query: q });
      if (mine !== seq || !on()) return;
      clear();
      const p = data.properties || {};
      if (data.features.length) {
        const values = data.features.map((f) => f.properties.value);
        const min = Math.min(...values), max = Math.max(...values);
        layer = L.geoJSON(geo(data), {
          pane: "heat",
          renderer: L.canvas({ pane: "heat" }),
          interactive: false,
          style: (f) => ({ stroke: false, fillOpacity: 0.45, fillColor: f.properties.color || heatColor(f.properties.value, min, max) }),
        }).addTo(map);
      }
      const when = p.at ? (p.hourly ? hourLabel(Date.parse(p.at)) : p.at) : "";
      box.textContent = data.features.length
        ? `${p.stations} 站插值 · ${when}${p.standard ? ` · AQI（${p.standard}）` : ""}`
        : p.empty || "该时间没有可插值的数据：请换一个时间或指标";
      box.classList.toggle("empty-state", !data.features.length);
      document.body.dataset.heat = String(data.features.length);
      document.body.dataset.heatAt = p.at || "";
      document.body.dataset.heatEmpty = data.features.length ? "" : box.textContent;
    } catch (e) {
      if (mine !== seq) return;
      box.textContent = "";
      toast(e.message, true);
      document.body.dataset.heat = "error";
    } finally {
      if (mine === seq) delete document.body.dataset.heatBusy;
    }
  }

  function stop() {
    if (timer) clearTimeout(timer);
    timer = null;
    playing = false;
    paused = false;
    $("h-play").textContent = "▶ 播放近 24 小时";
    $("h-play").setAttribute("aria-pressed", "false");
    document.body.dataset.playing = "0";
  }

  async function tick() {
    await load();
    if (!playing) return;
    if (frame >= hours.length - 1) { stop(); return; }
    timer = setTimeout(() => { frame += 1; $("h-hour").value = String(frame); tick(); }, PLAY_MS);
  }

  function play() {
    if (playing) { stop(); paused = frame < hours.length - 1; return; }
    $("h-mode").value = "hour";
    syncMode();
    if (!paused) frame = 0; // from the oldest hour, or on from a pause
    paused = false;
    fillHours();
    $("h-play").textContent = "❚❚ 暂停";
    $("h-play").setAttribute("aria-pressed", "true");
    document.body.dataset.playing = "1";
    playing = true;
    tick();
  }

  // One frame back (-1) or on (+1): an hour or a day; nothing to do at the ends.
  async function step(delta) {
    if (mode() === "day") {
      const day = addDays($("h-day").value, delta);
      if (day > $("h-day").max) return;
      $("h-day").value = day;
    } else {
      const next = frame + delta;
      if (next < 0 || next >= hours.length) return;
      frame = next;
      $("h-hour").value = String(frame);
    }
    await load();
  }

  function syncMode() {
    const day = mode() === "day";
    $("h-hour").hidden = day;
    $("h-day").hidden = !day;
    $("h-play").disabled = day;
  }

  function toggle() {
    const shown = on();
    $("heat-time").hidden = !shown;
    $("h-what").disabled = !shown;
    if (shown) { fillHours(); load(); return; }
    stop();
    seq++;
    clear();
    box.textContent = "";
  }

  const today = fmtTime(Date.now() / 1000).slice(0, 10); // in the platform's time zone
  $("h-day").max = today;
  $("h-day").value = addDays(today, -1);
  $("l-heat").addEventListener("change", toggle);
  $("h-what").addEventListener("change", () => { if (on() && !playing) load(); });
  $("h-mode").addEventListener("change", () => { stop(); syncMode(); load(); });
  $("h-hour").addEventListener("change", () => { stop(); frame = Number($("h-hour").value); load(); });
  $("h-day").addEventListener("change", () => load());
  $("h-prev").addEventListener("click", () => { stop(); step(-1); });
  $("h-next").addEventListener("click", () => { stop(); step(1); });
  $("h-play").addEventListener("click", play);
  syncMode();
}
