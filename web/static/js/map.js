// The GIS map: stations coloured by current AQI (HJ 633 colours; grey = no data; dashed
// dark ring = offline), region/grid boundaries as vector layers, the IDW heat-map layer,
// the base map (basemap.js).
import { createMap, geo, ll } from "./basemap.js";
import { api, config, el, fmtTime, liveStream, stName, textTip, toast, FILTERED_EMPTY } from "./common.js";
import { heatLayerControl } from "./map_heat.js";
import { popupContent } from "./map_popup.js";

/* global L */
const map = createMap("map", { zoomControl: true })
  .setView(ll(...(config.center || [30.27, 120.15])), config.zoom || 10);
map.createPane("stations").style.zIndex = 450; // above the area polygons (overlayPane 400)
const areaLayer = L.geoJSON(null, {
  style: (f) => ({
    color: f.properties.level >= 5 ? "#546e7a" : "#1565c0",
    weight: f.properties.level >= 5 ? 1 : 2,
    fillOpacity: f.properties.level >= 5 ? 0.04 : 0.02,
    dashArray: f.properties.level >= 5 ? "4 3" : null,
  }),
  onEachFeature: (f, layer) => layer.bindTooltip(textTip(f.properties.name), { sticky: true }),
}).addTo(map);
const stationLayer = L.layerGroup().addTo(map);
map.createPane("heat").style.zIndex = 350; // under the boundaries and the stations
const markers = new Map();
let renderer = null;
let fitted = false;
const filters = { st: "", region: "", area: "", status: "" };

function markerStyle(s) {
  const offline = s.status === "offline";
  const disabled = s.status === "disabled";
  return {
    renderer,
    pane: "stations",
    radius: offline || disabled ? 6 : 7,
    color: offline ? "#212121" : "#37474f",
    weight: offline ? 2 : 1,
    dashArray: offline ? "2 2" : null,
    fillColor: s.color,
    fillOpacity: disabled ? 0.35 : 0.9,
    className: `station-marker status-${s.status} level-${s.level ?? "none"} basis-${s.basis || "none"} sid-${s.id}`,
  };
}

// The columnar document → one object per station (facts + its status/AQI cell).
export function stationsOf(data) {
  const c = Object.fromEntries(data.columns.map((name, i) => [name, i]));
  const k = Object.fromEntries(data.cell_columns.map((name, i) => [name, i]));
  return data.rows.map((row, i) => {
    const cell = data.cells[data.cell[i]];
    return {
      id: row[c.id], mn: row[c.mn], name: row[c.name], st: row[c.st], lat: row[c.lat], lon: row[c.lon],
      region: row[c.region], grid_id: row[c.grid_id], last_data_at: data.last_data_at[i] || null,
      status: cell[k.status], aqi: cell[k.aqi], level: cell[k.level], color: cell[k.color],
      primary: cell[k.primary], basis: cell[k.basis],
    };
  });
}

function legend(data) {
  const box = document.getElementById("legend");
  const star = data.unverified && data.unverified.length ? "*" : "";
  const hour = data.hour ? `${fmtTime(data.hour).slice(5, 13)}时` : "";
  box.replaceChildren(
    el("div", { class: "muted", text: `AQI（${data.standard}${star} 实时报${hour ? " · " + hour : ""}）` }),
    ...data.legend.map((lv) => {
      const dot = el("i");
      dot.style.background = lv.color;
      return el("div", {}, dot, `${lv.aqi_max === null ? ">" + (lv.aqi_min - 1) : lv.aqi_min + "–" + lv.aqi_max} ${lv.category}`);
    }),
    (() => { const dot = el("i"); dot.style.background = data.no_data.color; return el("div", {}, dot, data.no_data.label); })(),
    el("div", {}, el("i", { class: "offline" }), "离线"),
    ...(star ? [el("div", { class: "unverified", title: data.unverified.map((u) => u.message).join("\n"),
      text: "* 含未核实的 2026 标准数值" })] : []),
  );
}

async function loadStations() {
  const data = await api("/api/v1/map/stations", { query: filters });
  const stations = stationsOf(data);
  if (!renderer) {
    renderer = stations.length > 3000 ? L.canvas({ padding: 0.3, pane: "stations" }) : L.svg({ pane: "stations" });
  }
  // Update markers in place (an open popup survives a live refresh).
  const seen = new Set();
  for (const s of stations) {
    seen.add(s.id);
    const tip = `${s.name}${s.aqi !== null ? " · AQI " + s.aqi : ""}`;
    const existing = markers.get(s.id);
    if (existing) {
      existing.setLatLng(ll(s.lat, s.lon));
      existing.setStyle(markerStyle(s));
      const path = existing.getElement && existing.getElement();
      if (path) path.setAttribute("class", markerStyle(s).className + " leaflet-interactive");
      existing.setTooltipContent(textTip(tip));
      continue;
    }
    const m = L.circleMarker(ll(s.lat, s.lon), markerStyle(s));
    m.bindTooltip(textTip(tip));
    m.on("click", async () => {
      m.bindPopup("加载中…", { maxWidth: 300 }).openPopup();
      try { m.setPopupContent(await popupContent(s.id)); } catch (e) { m.setPopupContent(textTip(e.message)); }
    });
    stationLayer.addLayer(m);
    markers.set(s.id, m);
  }
  for (const [id, m] of markers) {
    if (!seen.has(id)) { stationLayer.removeLayer(m); markers.delete(id); }
  }
  const n = data.counts;
  const filtered = Object.values(filters).some(Boolean);
  const counts = document.getElementById("map-counts");
  counts.textContent = stations.length
    ? `显示 ${stations.length} 站 · 在线 ${n.online} · 离线 ${n.offline} · 停用 ${n.disabled}`
    : filtered ? `${FILTERED_EMPTY}：请放宽类型、区县、网格或状态筛选`
      : "还没有带坐标的站点：在“站点管理”中填写经纬度后显示在地图上";
  counts.classList.toggle("empty-state", !stations.length);
  legend(data);
  if (!fitted && stations.length) {
    fitted = true;
    map.fitBounds(L.latLngBounds(stations.map((s) => ll(s.lat, s.lon))), { padding: [20, 20], maxZoom: 14 });
  }
  const st = document.getElementById("f-st");
  if (st.options.length === 1) {
    for (const code of [...new Set(stations.map((s) => s.st).filter(Boolean))].sort()) {
      st.append(el("option", { value: code, title: `ST ${code}`, text: stName(code) }));
    }
  }
  document.body.dataset.stations = String(stations.length);
}

heatLayerControl(map);

async function loadAreas() {
  const [areas, regions] = await Promise.all([
    api("/api/v1/areas", { query: { boundary: "true" } }), api("/api/v1/regions")]);
  areaLayer.clearLayers();
  const areaSel = document.getElementById("f-area");
  for (const a of areas) {
    if (a.boundary) areaLayer.addData(geo({ type: "Feature", geometry: a.boundary, properties: { name: a.name, level: a.level } }));
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
