// The GIS map: stations coloured by current AQI (HJ 633 colours; grey = no data; dashed
// dark ring = offline), region/grid boundaries as vector layers, optional base tiles.
import { api, config, el, fmtTime, fmtNumber, aqiChip, liveStream, STATUS_LABEL, ST_LABEL, toast } from "./common.js";

/* global L */
const map = L.map("map", { zoomControl: true, attributionControl: !!config.tileUrl })
  .setView(config.center || [30.27, 120.15], config.zoom || 10);
if (config.tileUrl) {
  L.tileLayer(config.tileUrl, { maxZoom: 18, attribution: config.tileAttribution || "" }).addTo(map);
}
map.createPane("stations").style.zIndex = 450; // above the area polygons (overlayPane 400)
const areaLayer = L.geoJSON(null, {
  style: (f) => ({
    color: f.properties.level >= 5 ? "#546e7a" : "#1565c0",
    weight: f.properties.level >= 5 ? 1 : 2,
    fillOpacity: f.properties.level >= 5 ? 0.04 : 0.02,
    dashArray: f.properties.level >= 5 ? "4 3" : null,
  }),
  onEachFeature: (f, layer) => layer.bindTooltip(f.properties.name, { sticky: true }),
}).addTo(map);
const stationLayer = L.layerGroup().addTo(map);
const markers = new Map();
let renderer = null;
let fitted = false;
const filters = { st: "", region: "", area: "", status: "" };

function markerStyle(row, c) {
  const offline = row[c.status] === "offline";
  const disabled = row[c.status] === "disabled";
  return {
    renderer,
    pane: "stations",
    radius: offline || disabled ? 6 : 7,
    color: offline ? "#212121" : "#37474f",
    weight: offline ? 2 : 1,
    dashArray: offline ? "2 2" : null,
    fillColor: row[c.color],
    fillOpacity: disabled ? 0.35 : 0.9,
    className: `station-marker status-${row[c.status]} level-${row[c.level] ?? "none"} sid-${row[c.id]}`,
  };
}

function legend(data) {
  const box = document.getElementById("legend");
  box.replaceChildren(
    el("div", { class: "muted", text: "AQI（实时报）" }),
    ...data.legend.map((lv) => {
      const dot = el("i");
      dot.style.background = lv.color;
      return el("div", {}, dot, `${lv.aqi_max === null ? ">" + (lv.aqi_min - 1) : lv.aqi_min + "–" + lv.aqi_max} ${lv.category}`);
    }),
    (() => { const dot = el("i"); dot.style.background = data.no_data.color; return el("div", {}, dot, data.no_data.label); })(),
    el("div", {}, el("i", { class: "offline" }), "离线"),
  );
}

async function popupContent(id) {
  const s = await api(`/api/v1/stations/${id}`);
  const rows = s.latest.filter((f) => f.value !== null && f.value !== undefined).map((f) =>
    el("tr", {},
      el("td", { text: f.name }),
      el("td", { class: f.over_limit ? "over" : "", text: `${fmtNumber(f.value)} ${f.unit || ""}` }),
      el("td", {}, f.flag && f.flag !== "N" ? el("span", { class: "flag-bad", title: f.flag_label, text: f.flag }) : "N")));
  const aqi = s.aqi;
  return el("div", { class: "popup" },
    el("h3", {}, s.name, " ", el("span", { class: `status ${s.status}`, text: STATUS_LABEL[s.status] })),
    el("div", { class: "muted", text: `${s.mn} · ${ST_LABEL[s.st] || s.st || ""} · ${s.region || ""}` }),
    aqi ? el("div", {}, "AQI ", aqiChip(aqi.aqi, aqi.color, aqi.category), " ", aqi.category || "",
      aqi.primary.length ? ` · 首要污染物 ${aqi.primary.join("、")}` : "") : el("div", { class: "muted", text: "AQI：无数据" }),
    el("table", {}, rows),
    el("div", { class: "muted", text: `数据时间 ${fmtTime(s.last_data_time)}` }),
    el("a", { href: `/stations/${s.id}`, text: "查看站点 →" }));
}

async function loadStations() {
  const data = await api("/api/v1/map/stations", { query: filters });
  // rows: station facts (built by the database); aqi: the AQI cells of each row
  data.rows = data.rows.map((row, i) => row.concat(data.aqi[i]));
  const c = Object.fromEntries(data.columns.map((name, i) => [name, i]));
  if (!renderer) {
    renderer = data.rows.length > 3000 ? L.canvas({ padding: 0.3, pane: "stations" }) : L.svg({ pane: "stations" });
  }
  // Update markers in place (an open popup survives a live refresh).
  const seen = new Set();
  for (const row of data.rows) {
    const id = row[c.id];
    seen.add(id);
    const tip = `${row[c.name]}${row[c.aqi] !== null ? " · AQI " + row[c.aqi] : ""}`;
    const existing = markers.get(id);
    if (existing) {
      existing.setLatLng([row[c.lat], row[c.lon]]);
      existing.setStyle(markerStyle(row, c));
      const path = existing.getElement && existing.getElement();
      if (path) path.setAttribute("class", markerStyle(row, c).className + " leaflet-interactive");
      existing.setTooltipContent(tip);
      continue;
    }
    const m = L.circleMarker([row[c.lat], row[c.lon]], markerStyle(row, c));
    m.bindTooltip(tip);
    m.on("click", async () => {
      m.bindPopup("加载中…", { maxWidth: 300 }).openPopup();
      try { m.setPopupContent(await popupContent(id)); } catch (e) { m.setPopupContent(e.message); }
    });
    stationLayer.addLayer(m);
    markers.set(id, m);
  }
  for (const [id, m] of markers) {
    if (!seen.has(id)) { stationLayer.removeLayer(m); markers.delete(id); }
  }
  const n = data.counts;
  document.getElementById("map-counts").textContent =
    `显示 ${data.rows.length} 站 · 在线 ${n.online} · 离线 ${n.offline} · 停用 ${n.disabled}`;
  legend(data);
  if (!fitted && data.rows.length) {
    fitted = true;
    map.fitBounds(L.latLngBounds(data.rows.map((r) => [r[c.lat], r[c.lon]])), { padding: [20, 20], maxZoom: 14 });
  }
  const st = document.getElementById("f-st");
  if (st.options.length === 1) {
    for (const code of [...new Set(data.rows.map((r) => r[c.st]).filter(Boolean))].sort()) {
      st.append(el("option", { value: code, text: `${ST_LABEL[code] || "类型"} (${code})` }));
    }
  }
  document.body.dataset.stations = String(data.rows.length);
}

async function loadAreas() {
  const [areas, regions] = await Promise.all([
    api("/api/v1/areas", { query: { boundary: "true" } }), api("/api/v1/regions")]);
  areaLayer.clearLayers();
  const areaSel = document.getElementById("f-area");
  for (const a of areas) {
    if (a.boundary) areaLayer.addData({ type: "Feature", geometry: a.boundary, properties: { name: a.name, level: a.level } });
    areaSel.append(el("option", { value: a.id, text: `${"　".repeat(Math.max(0, a.level - 1))}${a.name}` }));
  }
  const regionSel = document.getElementById("f-region");
  for (const r of regions) regionSel.append(el("option", { value: r, text: r }));
}

for (const [id, key] of [["f-st", "st"], ["f-region", "region"], ["f-area", "area"], ["f-status", "status"]]) {
  document.getElementById(id).addEventListener("change", (ev) => { filters[key] = ev.target.value; loadStations(); });
}
document.getElementById("l-areas").addEventListener("change", (ev) => {
  if (ev.target.checked) areaLayer.addTo(map); else map.removeLayer(areaLayer);
});

let pending = null;
function scheduleRefresh() {
  if (pending) return;
  pending = setTimeout(() => { pending = null; loadStations().catch(() => {}); }, 5000);
}

Promise.all([loadAreas(), loadStations()])
  .then(() => { document.body.dataset.ready = "1"; })
  .catch((e) => toast(e.message, true));
liveStream({}, { readings: scheduleRefresh, resync: () => loadStations(), alert: scheduleRefresh },
  document.getElementById("live-state"));
