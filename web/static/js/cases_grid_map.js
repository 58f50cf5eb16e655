// 网格地图: grid boundaries, stations, patrol points and open cases of the caller's scope.
import { api, config, el, toast, textTip } from "./common.js";
import { createMap, geo, ll } from "./basemap.js";
import { ready } from "./cases_common.js";

/* global L */
const map = createMap("grid-map").setView(ll(...(config.center || [30.27, 120.15])), config.zoom || 10);
map.createPane("marks").style.zIndex = 450;
const layers = {
  areas: L.geoJSON(null, {
    style: (f) => ({
      color: f.properties.level >= 5 ? "#546e7a" : "#1565c0", weight: f.properties.level >= 5 ? 1 : 2,
      fillOpacity: f.properties.level >= 5 ? 0.05 : 0.01, dashArray: f.properties.level >= 5 ? "4 3" : null,
    }),
    onEachFeature: (f, layer) => {
      layer.bindTooltip(textTip(f.properties.name), { sticky: true });
      layer.bindPopup(() => el("div", { class: "popup" }, el("h3", { text: f.properties.name }),
        el("div", { class: "muted", text: f.properties.code }),
        el("a", { href: `/grid/${f.properties.id}`, text: "网格详情 →" })));
    },
  }).addTo(map),
  stations: L.layerGroup().addTo(map),
  points: L.layerGroup().addTo(map),
  cases: L.layerGroup().addTo(map),
};
let fitted = false;

function rows(block) {
  const idx = Object.fromEntries(block.columns.map((c, i) => [c, i]));
  return block.rows.map((r) => Object.fromEntries(Object.entries(idx).map(([k, i]) => [k, r[i]])));
}

async function load() {
  const area = document.getElementById("g-area").value;
  const data = await api("/api/v1/grid/map", { query: { area } });
  for (const l of Object.values(layers)) l.clearLayers();
  layers.areas.addData(geo(data.areas));
  const stations = rows(data.stations), points = rows(data.points), cases = rows(data.cases);
  for (const s of stations) {
    L.circleMarker(ll(s.lat, s.lon), { pane: "marks", radius: 6, color: "#0d47a1", fillColor: "#1565c0", fillOpacity: s.enabled ? 0.85 : 0.3, weight: 1, className: `grid-station sid-${s.id}` })
      .bindTooltip(textTip(s.name)).bindPopup(el("div", { class: "popup" }, el("h3", { text: s.name }), el("a", { href: `/stations/${s.id}`, text: "站点详情 →" })))
      .addTo(layers.stations);
  }
  for (const p of points) {
    const d = 0.0006;
    L.rectangle([[p.lat - d, p.lon - d], [p.lat + d, p.lon + d]], { pane: "marks", color: "#6a1b9a", fillColor: "#8e24aa", fillOpacity: 0.8, weight: 1 })
      .bindTooltip(textTip(`${p.name}（${p.kind || "巡查点"}）`)).addTo(layers.points);
  }
  for (const c of cases) {
    L.circleMarker(ll(c.lat, c.lon), { pane: "marks", radius: c.urgent ? 9 : 7, color: c.overdue ? "#000" : "#b71c1c", fillColor: "#e53935", fillOpacity: 0.9, weight: c.overdue ? 2 : 1, className: `grid-case cid-${c.id}` })
      .bindTooltip(textTip(`${c.code} ${c.title}`))
      .bindPopup(el("div", { class: "popup" }, el("h3", { text: c.title }), el("div", { class: "muted", text: c.code }),
        el("a", { href: `/cases/${c.id}`, text: "案件详情 →" })))
      .addTo(layers.cases);
  }
  document.getElementById("g-counts").textContent =
    `网格 ${data.areas.features.filter((f) => f.properties.level === 5).length} · 站点 ${stations.length} · 巡查点 ${points.length} · 未结案件 ${cases.length}`;
  if (!data.areas.features.length) {
    document.getElementById("g-counts").textContent += area
      ? "。所选区域下没有网格，请选择“全部区域”或其他区域" : "。还没有划分网格，请在“网格编辑”中导入或绘制网格边界";
  }
  const bounds = layers.areas.getBounds();
  if (bounds.isValid() && (!fitted || area)) { map.fitBounds(bounds, { padding: [10, 10] }); fitted = true; }
  document.body.dataset.cases = String(cases.length);
  document.body.dataset.stations = String(stations.length);
}

async function loadAreas() {
  const sel = document.getElementById("g-area");
  for (const a of await api("/api/v1/grid/areas", { query: { } })) {
    if (a.level < 5) sel.append(el("option", { value: a.id, text: `${"　".repeat(a.level - 1)}${a.name}` }));
  }
}
document.getElementById("g-area").addEventListener("change", () => load().catch((e) => toast(e.message, true)));
for (const name of ["areas", "stations", "points", "cases"]) {
  document.getElementById(`l-${name}`).addEventListener("change", (e) => {
    if (e.target.checked) layers[name].addTo(map); else map.removeLayer(layers[name]);
  });
}
Promise.all([loadAreas(), load()]).then(ready).catch((e) => { toast(e.message, true); ready(); });
